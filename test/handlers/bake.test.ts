import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../events/clock';
import { InMemoryBakeStore, InMemoryDeploymentStore } from '../../handlers/adapters/in-memory-stores';
import { handleBakeEvent, type BakeDependencies } from '../../handlers/bake';
import type { GroupPolicy } from '../../handlers/config';
import type { AssessmentRecord } from '../../handlers/ports';
import { riskAssessedEntry } from '../../handlers/predict-domain';
import { LocalCodeDeploy } from '../../local/codedeploy';

/**
 * The bake handler when alarm events do not arrive once, in order: an ALARM that came before the
 * bake opened, the same event delivered twice at once, two alarms of the group at once. Given a
 * baking EC2 deployment on the local CodeDeploy, the deployment is rolled back exactly once.
 */
const START = Date.parse('2026-12-01T09:00:00Z');
const ALARM = 'deploy-guard-dev-checkout-checkout-prod-alarm-0';
const OTHER_ALARM = 'checkout-p99-latency';
const policy: GroupPolicy = {
  application: 'checkout',
  deploymentGroup: 'checkout-prod',
  platform: 'Server',
  mode: 'stop',
  threshold: 0.9,
  failurePolicy: 'fail-open',
  alarmNames: [ALARM, OTHER_ALARM],
  bake: { threshold: 0.2, minutes: 30 },
} as GroupPolicy;
const SAMPLE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', 'samples', 'cloudwatch-alarm-state-change.single-metric.json'), 'utf8'));

function setup() {
  const clock = new ManualClock(START);
  const codeDeploy = new LocalCodeDeploy({ clock, account: '123456789012', region: 'us-east-1', emit: () => undefined });
  const { deploymentId } = codeDeploy.createDeployment({ application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', revision: { commitId: 'a'.repeat(40) } });
  const deployments = new InMemoryDeploymentStore();
  const bakes = new InMemoryBakeStore();
  const deps: BakeDependencies = { codeDeploy, deployments, bakes, metrics: { put: () => undefined }, clock, config: { source: 'deploy-guard', groups: [policy], metricsNamespace: 'DeployGuard' } };
  const assessment = {
    deploymentId, application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', trigger: 'START', probability: 0.4, cut: 0.9, blockBudget: null, cutSource: 'threshold',
    decision: 'proceed', explored: false, propensity: 1, enforced: true, modelVersion: 'initial', featureRow: '', startedAt: START, assessedAt: START, tier: 'bake', bake: { cut: 0.2, minutes: 30, alarms: [ALARM, OTHER_ALARM] },
  } as AssessmentRecord;
  /** Deployment Risk Assessed as predict publishes it for the stored assessment, in its EventBridge envelope. */
  const assessedEvent = () => {
    const entry = riskAssessedEntry(assessment, [], { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' });
    return { version: '0', id: 'assessed-1', 'detail-type': entry.DetailType, source: entry.Source, account: '123456789012', time: '2026-12-01T09:00:00Z', region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) };
  };
  const alarmEvent = (id: string, alarmName: string, value: 'ALARM' | 'OK', at: number) => ({
    ...SAMPLE,
    id,
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: { ...SAMPLE.detail, alarmName, state: { ...SAMPLE.detail.state, value, timestamp: new Date(at).toISOString().replace('Z', '+0000') } },
  });
  const sweepEvent = (at: number) => ({ version: '0', id: `sweep-${at}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'), region: 'us-east-1', resources: ['arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-bake-sweep'], detail: {} });
  return { clock, codeDeploy, deploymentId, deployments, bakes, deps, assessment, assessedEvent, alarmEvent, sweepEvent };
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
  });
});
