import { ManualClock } from '../../events/clock';
import { InMemoryBakeStore, InMemoryDeploymentStore } from '../../handlers/adapters/in-memory-stores';
import { handleBakeEvent, type BakeDependencies } from '../../handlers/bake';
import type { PutEventsEntry } from '../../events/emitted';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { alarmEvent, assessedEvent, BAKING_ALARM, bakeTierAssessment, bakingPolicy, sweepEvent } from './bake-fixture';

/**
 * The bake handler when alarm events do not arrive once, in order: an ALARM that came before the
 * bake opened, the same event delivered twice at once, two alarms of the group at once. Given a
 * baking EC2 deployment on the local CodeDeploy, the deployment is rolled back exactly once.
 */
const START = Date.parse('2026-12-01T09:00:00Z');
const ALARM = BAKING_ALARM;
const OTHER_ALARM = 'checkout-p99-latency';
const policy = bakingPolicy([ALARM, OTHER_ALARM]);

function setup() {
  const clock = new ManualClock(START);
  const codeDeploy = new LocalCodeDeploy({ clock, account: '123456789012', region: 'us-east-1', emit: () => undefined });
  const { deploymentId } = codeDeploy.createDeployment({ application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', revision: { commitId: 'a'.repeat(40) } });
  const deployments = new InMemoryDeploymentStore();
  const bakes = new InMemoryBakeStore();
  const published: PutEventsEntry[] = [];
  const publisher = { publish: async (entries: readonly PutEventsEntry[]) => void published.push(...entries) };
  const deps: BakeDependencies = { codeDeploy, deployments, bakes, publisher, metrics: { put: () => undefined }, clock, config: { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', groups: [policy], metricsNamespace: 'DeployGuard' } };
  const assessment = bakeTierAssessment(deploymentId, START, [ALARM, OTHER_ALARM]);
  const assessed = () => assessedEvent(assessment);
  /** The Deployment Bake Rolled Back details published so far. */
  const announcements = () => published.filter((entry) => entry.DetailType === 'Deployment Bake Rolled Back').map((entry) => JSON.parse(entry.Detail));
  return { clock, codeDeploy, deploymentId, deployments, bakes, deps, assessment, assessedEvent: assessed, alarmEvent, sweepEvent, announcements, published };
}

describe('bake: alarm events lost, early or twice', () => {
  it('an ALARM that came before the bake opened is held in the book: the next sweep rolls the deployment back, once', async () => {
    const w = setup();
    await expect(handleBakeEvent(w.alarmEvent('alarm-1', ALARM, 'ALARM', START - 60_000), w.deps)).resolves.toMatchObject({ status: 'watched', closed: [] });
    await w.deployments.putAssessment(w.assessment);
    await expect(handleBakeEvent(w.assessedEvent(), w.deps)).resolves.toMatchObject({ status: 'opened', deploymentId: w.deploymentId });

    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps)).resolves.toEqual({ status: 'swept', closed: [{ deploymentId: w.deploymentId, state: 'rolled-back', alarmName: ALARM }] });
    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps)).resolves.toEqual({ status: 'swept', closed: [] });
    expect(w.codeDeploy.callLog).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(w.announcements()).toEqual([
      {
        schemaVersion: '1',
        deploymentId: w.deploymentId,
        application: 'checkout',
        deploymentGroup: 'checkout-prod',
        platform: 'Server',
        alarmName: ALARM,
        action: 'StopDeployment',
        bakeMinutes: 30,
        bakeOpenedAt: '2026-12-01T09:00:00.000Z',
        rolledBackAt: '2026-12-01T09:01:00.000Z',
      },
    ]);
    expect(w.published.map((entry) => [entry.Source, entry.EventBusName])).toEqual([['deploy-guard', 'deploy-guard-dev']]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back', announcedAt: START + 60_000 });
  });

  it('a retry after the rollback was recorded but before it was announced announces it, once; a later retry announces nothing', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(60_000);
    // The first attempt's publish fails (after CodeDeploy stopped the deployment and the closed bake was kept): the invocation fails.
    const failing = { ...w.deps, publisher: { publish: async () => Promise.reject(new Error('PutEvents: InternalFailure')) } };
    const alarm = w.alarmEvent('alarm-9', ALARM, 'ALARM', START + 60_000);
    await expect(handleBakeEvent(alarm, failing)).rejects.toThrow('PutEvents: InternalFailure');
    expect(w.announcements()).toEqual([]);
    // Lambda retries the event: CodeDeploy refuses the second stop, the earlier rollback is announced.
    await expect(handleBakeEvent(alarm, w.deps)).resolves.toMatchObject({ status: 'watched', closed: [] });
    expect(w.announcements()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, alarmName: ALARM })]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    await handleBakeEvent(alarm, w.deps);
    expect(w.announcements()).toHaveLength(1);
    expect(w.codeDeploy.callLog.filter((call) => call.accepted)).toHaveLength(1);
  });

  it('a bake that passes is not announced', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(31 * 60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps)).resolves.toEqual({ status: 'swept', closed: [{ deploymentId: w.deploymentId, state: 'passed' }] });
    expect(w.published).toEqual([]);
  });

  it.each([
    ['the same event delivered twice at once', (w: ReturnType<typeof setup>) => [w.alarmEvent('alarm-2', ALARM, 'ALARM', START + 60_000), w.alarmEvent('alarm-2', ALARM, 'ALARM', START + 60_000)]],
    ['two alarms of the group going off at once', (w: ReturnType<typeof setup>) => [w.alarmEvent('alarm-3', ALARM, 'ALARM', START + 60_000), w.alarmEvent('alarm-4', OTHER_ALARM, 'ALARM', START + 60_000)]],
  ])('%s: one StopDeployment, and the closed bake says rolled back', async (_case, events) => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(2 * 60_000);
    await Promise.all(events(w).map((event) => handleBakeEvent(event, w.deps)));
    expect(w.codeDeploy.callLog.filter((call) => call.accepted)).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back' });
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.announcements()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, action: 'StopDeployment' })]);
  });
});
