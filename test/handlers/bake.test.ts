import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { derivedDeploymentEvent } from '../../events/samples';
import { InMemoryBakeStore, InMemoryDeploymentStore } from '../../handlers/adapters/in-memory-stores';
import { BakeAnnouncementHeldError, handleBakeEvent, type BakeDependencies } from '../../handlers/bake';
import { updateBook } from '../../handlers/bake-book';
import { hookInvoked } from '../../handlers/bake-domain';
import type { PutEventsEntry } from '../../events/emitted';
import type { BakeStore, MetricsPort } from '../../handlers/ports';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { FaultInjector, type FaultOptions } from '../../local/faults';
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

function setup(platform: 'Server' | 'ECS' = 'Server') {
  const clock = new ManualClock(START);
  const codeDeploy = new LocalCodeDeploy({ clock, account: '123456789012', region: 'us-east-1', emit: () => undefined });
  const { deploymentId } = codeDeploy.createDeployment({ application: 'checkout', deploymentGroup: 'checkout-prod', platform, revision: { commitId: 'a'.repeat(40) } });
  const deployments = new InMemoryDeploymentStore();
  const bakes = new InMemoryBakeStore();
  const published: PutEventsEntry[] = [];
  const publisher = { publish: async (entries: readonly PutEventsEntry[]) => void published.push(...entries) };
  const metrics: Parameters<MetricsPort['put']>[0][] = [];
  const deps: BakeDependencies = { codeDeploy, deployments, bakes, publisher, metrics: { put: (datum) => void metrics.push(datum) }, clock, config: { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', groups: [policy], metricsNamespace: 'DeployGuard' } };
  const assessment = { ...bakeTierAssessment(deploymentId, START, [ALARM, OTHER_ALARM]), platform };
  const assessed = () => assessedEvent(assessment);
  /** The Deployment Bake Rolled Back details published so far. */
  const announcements = () => published.filter((entry) => entry.DetailType === 'Deployment Bake Rolled Back').map((entry) => JSON.parse(entry.Detail));
  /** The Deployment Rollback Failed details published so far. */
  const failures = () => published.filter((entry) => entry.DetailType === 'Deployment Rollback Failed').map((entry) => JSON.parse(entry.Detail));
  /** The bake metrics put so far, by name. */
  const counted = () => metrics.flatMap((datum) => datum.values.map((value) => value.name));
  return { clock, codeDeploy, deploymentId, deployments, bakes, deps, assessment, assessedEvent: assessed, alarmEvent, sweepEvent, announcements, failures, counted, published };
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

  it('a bake that passes is announced once (Deployment Bake Passed: nothing asked of CodeDeploy on EC2); the next sweep announces nothing more', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(31 * 60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps)).resolves.toEqual({ status: 'swept', closed: [{ deploymentId: w.deploymentId, state: 'passed' }] });
    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps)).resolves.toEqual({ status: 'swept', closed: [] });
    expect(w.published.map((entry) => [entry.DetailType, JSON.parse(entry.Detail), entry.Time])).toEqual([
      [
        'Deployment Bake Passed',
        {
          schemaVersion: '1',
          deploymentId: w.deploymentId,
          application: 'checkout',
          deploymentGroup: 'checkout-prod',
          platform: 'Server',
          alarmNames: [ALARM, OTHER_ALARM],
          action: 'None',
          bakeMinutes: 30,
          bakeOpenedAt: '2026-12-01T09:00:00.000Z',
          passedAt: '2026-12-01T09:31:00.000Z',
        },
        new Date(START + 31 * 60_000),
      ],
    ]);
    expect(w.codeDeploy.callLog).toEqual([]);
    expect(w.counted()).toEqual(['BakesPassed']);
  });

  it('a pass whose announcement PutEvents refuses: the sweep fails, Lambda\'s retry of its event announces it once, later sweeps nothing more', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(31 * 60_000);
    const sweep = w.sweepEvent(w.clock.now());
    const failing = { ...w.deps, publisher: { publish: async () => Promise.reject(new Error('PutEvents: InternalFailure')) } };
    await expect(handleBakeEvent(sweep, failing)).rejects.toThrow('PutEvents: InternalFailure');
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'passed' });
    expect(w.published).toEqual([]);
    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(sweep, w.deps)).resolves.toEqual({ status: 'swept', closed: [{ deploymentId: w.deploymentId, state: 'passed' }] });
    for (let minute = 1; minute <= 3; minute += 1) {
      w.clock.advanceBy(60_000);
      await handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps);
    }
    expect(w.published.map((entry) => entry.DetailType)).toEqual(['Deployment Bake Passed']);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakesPassed']);
  });

  it.each([
    ['the same event delivered twice at once', (w: ReturnType<typeof setup>) => [w.alarmEvent('alarm-2', ALARM, 'ALARM', START + 60_000), w.alarmEvent('alarm-2', ALARM, 'ALARM', START + 60_000)]],
    ['two alarms of the group going off at once', (w: ReturnType<typeof setup>) => [w.alarmEvent('alarm-3', ALARM, 'ALARM', START + 60_000), w.alarmEvent('alarm-4', OTHER_ALARM, 'ALARM', START + 60_000)]],
  ])('%s: one StopDeployment, and the closed bake says rolled back, announced once', async (_case, events) => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(2 * 60_000);
    const raced = events(w);
    const settled = await Promise.allSettled(raced.map((event) => handleBakeEvent(event, w.deps)));
    // An invocation that finds the other announcing publishes nothing and fails; Lambda retries it a minute later.
    const heldOff = raced.filter((_event, index) => settled[index]!.status === 'rejected');
    for (const outcome of settled) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(BakeAnnouncementHeldError);
    w.clock.advanceBy(60_000);
    for (const event of heldOff) await expect(handleBakeEvent(event, w.deps)).resolves.toMatchObject({ status: 'watched', closed: [] });
    expect(w.codeDeploy.callLog.filter((call) => call.accepted)).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back' });
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.announcements()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, action: 'StopDeployment' })]);
  });
});

describe('bake: a rollback CodeDeploy refuses is announced, once', () => {
  /** A baking EC2 deployment that CodeDeploy completed before its alarm went off: StopDeployment is refused. */
  async function completedWhileBaking() {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(5 * 60_000);
    w.codeDeploy.finish(w.deploymentId, false);
    w.clock.advanceBy(60_000);
    return w;
  }
  const refusal = (deploymentId: string) => ({
    schemaVersion: '1',
    deploymentId,
    application: 'checkout',
    deploymentGroup: 'checkout-prod',
    reason: 'DeploymentAlreadyCompleted',
    message: `The deployment ${deploymentId} is already completed.`,
    failedAt: '2026-12-01T09:06:00.000Z',
    bake: { platform: 'Server', alarmName: ALARM, action: 'StopDeployment', minutes: 30, openedAt: '2026-12-01T09:00:00.000Z' },
  });

  it('as Deployment Rollback Failed with the bake (the alarm, what CodeDeploy was asked and answered), counted as a bake not closed; the alarm again and the sweeps add nothing', async () => {
    const w = await completedWhileBaking();
    const alarm = w.alarmEvent('alarm-5', ALARM, 'ALARM', w.clock.now());
    await expect(handleBakeEvent(alarm, w.deps)).resolves.toEqual({ status: 'watched', alarmName: ALARM, closed: [{ deploymentId: w.deploymentId, state: 'not-done', alarmName: ALARM }] });
    expect(w.codeDeploy.callLog).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: false }]);
    expect(w.failures()).toEqual([refusal(w.deploymentId)]);
    expect(w.published.map((entry) => [entry.DetailType, entry.Source, entry.EventBusName, entry.Time?.toISOString()])).toEqual([['Deployment Rollback Failed', 'deploy-guard', 'deploy-guard-dev', '2026-12-01T09:06:00.000Z']]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', refusal: 'DeploymentAlreadyCompleted', announcedAt: START + 6 * 60_000 });
    expect(w.counted()).toEqual(['BakesNotClosed']);

    await handleBakeEvent(alarm, w.deps);
    for (let minute = 1; minute <= 40; minute += 1) {
      w.clock.advanceBy(60_000);
      await handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps);
    }
    expect(w.failures()).toHaveLength(1);
    expect(w.announcements()).toEqual([]);
    expect(w.codeDeploy.callLog).toHaveLength(1);
    expect(w.counted()).toEqual(['BakesNotClosed']);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
  });

  it('a retry after the refusal was kept but its announcement failed announces it, once; a later retry announces nothing', async () => {
    const w = await completedWhileBaking();
    const failing = { ...w.deps, publisher: { publish: async () => Promise.reject(new Error('PutEvents: InternalFailure')) } };
    const alarm = w.alarmEvent('alarm-6', ALARM, 'ALARM', w.clock.now());
    await expect(handleBakeEvent(alarm, failing)).rejects.toThrow('PutEvents: InternalFailure');
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done' });
    expect(w.failures()).toEqual([]);

    // The retry announces what the first attempt kept: the same detail, failed at the first refusal.
    w.clock.advanceBy(60_000);
    await handleBakeEvent(alarm, w.deps);
    expect(w.failures()).toEqual([refusal(w.deploymentId)]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    await handleBakeEvent(alarm, w.deps);
    expect(w.failures()).toHaveLength(1);
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });

  it('a retry after the refusal was announced but before the book let the bake go announces nothing more', async () => {
    const w = await completedWhileBaking();
    // The book's write without the closed bake fails, right after the announcement was marked: the invocation fails.
    let failNextWrite = false;
    const bakes: BakeStore = {
      readBook: () => w.bakes.readBook(),
      readClosed: (deploymentId) => w.bakes.readClosed(deploymentId),
      keepClosed: (record) => w.bakes.keepClosed(record),
      claimAnnouncement: (deploymentId, claim, expected) => w.bakes.claimAnnouncement(deploymentId, claim, expected),
      releaseAnnouncement: (deploymentId, claim) => w.bakes.releaseAnnouncement(deploymentId, claim),
      markCounted: (deploymentId, invocation) => w.bakes.markCounted(deploymentId, invocation),
      markAnnounced: async (deploymentId, at) => {
        await w.bakes.markAnnounced(deploymentId, at);
        failNextWrite = true;
      },
      writeBook: async (book, expectedRevision) => {
        if (!failNextWrite) return w.bakes.writeBook(book, expectedRevision);
        failNextWrite = false;
        throw new Error('DynamoDB PutItem: InternalServerError');
      },
    };
    const alarm = w.alarmEvent('alarm-7', ALARM, 'ALARM', w.clock.now());
    await expect(handleBakeEvent(alarm, { ...w.deps, bakes })).rejects.toThrow('InternalServerError');
    expect(w.failures()).toHaveLength(1);
    expect((await w.bakes.readBook())?.book.open).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, state: 'rolling-back' })]);

    await handleBakeEvent(alarm, w.deps);
    expect(w.failures()).toHaveLength(1);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', announcedAt: expect.any(Number) });
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });
});

describe('bake: a rollback whose CodeDeploy call fails with an error (not a refusal) is announced, once', () => {
  /**
   * A baking deployment whose rollback calls (StopDeployment; the AfterAllowTraffic hook Failed on
   * ECS) throw `error` after the SDK's retries, `times` times (default: every time), as
   * local/faults.ts injects it; the waits between attempts recorded instead of slept.
   */
  async function failingRollbacks(rollbackErrors: NonNullable<FaultOptions['rollbackErrors']>, platform: 'Server' | 'ECS' = 'Server') {
    const w = setup(platform);
    const faults = new FaultInjector({ seed: 1, rollbackErrors });
    const sleeps: number[] = [];
    const deps: BakeDependencies = { ...w.deps, codeDeploy: faults.codeDeploy(w.codeDeploy), sleep: async (milliseconds) => void sleeps.push(milliseconds) };
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), deps);
    if (platform !== 'Server') {
      // CodeDeploy moves the traffic: the traffic hook sees BeforeAllowTraffic, then AfterAllowTraffic starts the window.
      const before = w.codeDeploy.invokeHook(w.deploymentId, 'BeforeAllowTraffic')!;
      await w.codeDeploy.putLifecycleEventHookExecutionStatus(w.deploymentId, before.LifecycleEventHookExecutionId, 'Succeeded');
      const after = w.codeDeploy.invokeHook(w.deploymentId, 'AfterAllowTraffic')!;
      for (const hook of [before, after]) await updateBook(w.bakes, (book) => ({ book: hookInvoked(book, w.deploymentId, hook.LifecycleEventHookExecutionId, w.clock.now()).book, claimed: [] }));
    }
    w.clock.advanceBy(5 * 60_000);
    return { ...w, deps, faults, sleeps, alarm: w.alarmEvent('alarm-10', ALARM, 'ALARM', w.clock.now()) };
  }
  const DENIED = 'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/deploy-guard/function is not authorized to perform: codedeploy:StopDeployment on resource: the deployment group of';

  it('access denied every time: closed not done with the error, announced once as Deployment Rollback Failed (reason Error, the bake) and counted; the alarm again and the sweeps try nothing more', async () => {
    const w = await failingRollbacks({ error: 'AccessDeniedException' });
    const result = await handleBakeEvent(w.alarm, w.deps);
    expect(result).toEqual({ status: 'watched', alarmName: ALARM, closed: [{ deploymentId: w.deploymentId, state: 'not-done', alarmName: ALARM, error: expect.stringContaining(DENIED) }] });
    // Not throttling: given up at the first attempt, without waiting.
    expect(w.faults.stats.codeDeployErrors).toBe(1);
    expect(w.sleeps).toEqual([]);
    expect(w.failures()).toEqual([
      {
        schemaVersion: '1',
        deploymentId: w.deploymentId,
        application: 'checkout',
        deploymentGroup: 'checkout-prod',
        reason: 'Error',
        message: `${DENIED} ${w.deploymentId} (injected fault)`,
        failedAt: '2026-12-01T09:05:00.000Z',
        bake: { platform: 'Server', alarmName: ALARM, action: 'StopDeployment', minutes: 30, openedAt: '2026-12-01T09:00:00.000Z' },
      },
    ]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', error: `${DENIED} ${w.deploymentId} (injected fault)`, announcedAt: START + 5 * 60_000 });
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakesNotClosed']);

    await handleBakeEvent(w.alarm, w.deps);
    for (let minute = 1; minute <= 40; minute += 1) {
      w.clock.advanceBy(60_000);
      await handleBakeEvent(w.sweepEvent(w.clock.now()), w.deps);
    }
    expect(w.faults.stats.codeDeployErrors).toBe(1);
    expect(w.failures()).toHaveLength(1);
    expect(w.announcements()).toEqual([]);
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });

  it('throttled twice after the SDK\'s retries, then accepted: waited out (1 s, 2 s) and rolled back as usual; no failure announced', async () => {
    const w = await failingRollbacks({ error: 'ThrottlingException', times: 2 });
    await expect(handleBakeEvent(w.alarm, w.deps)).resolves.toMatchObject({ closed: [{ deploymentId: w.deploymentId, state: 'rolled-back', alarmName: ALARM }] });
    expect(w.sleeps).toEqual([1_000, 2_000]);
    expect(w.codeDeploy.callLog).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(w.announcements()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, action: 'StopDeployment' })]);
    expect(w.failures()).toEqual([]);
    expect(w.counted()).toEqual(['BakeRollbacks']);
  });

  it('throttled on all three attempts: given up, announced with the throttling error', async () => {
    const w = await failingRollbacks({ error: 'ThrottlingException' });
    await handleBakeEvent(w.alarm, w.deps);
    expect(w.faults.stats.codeDeployErrors).toBe(3);
    expect(w.sleeps).toEqual([1_000, 2_000]);
    expect(w.codeDeploy.callLog).toEqual([]);
    expect(w.failures()).toEqual([expect.objectContaining({ reason: 'Error', message: expect.stringMatching(/^ThrottlingException: CodeDeploy StopDeployment: Rate exceeded/) })]);
  });

  it('a 5xx after the SDK\'s retries: given up at once, announced', async () => {
    const w = await failingRollbacks({ error: 'InternalFailure' });
    await handleBakeEvent(w.alarm, w.deps);
    expect(w.sleeps).toEqual([]);
    expect(w.failures()).toEqual([expect.objectContaining({ reason: 'Error', message: expect.stringMatching(/^InternalFailure: /) })]);
  });

  it('ECS: the AfterAllowTraffic hook\'s Failed status denied: announced once with the hook as what was asked; the hook is left unanswered', async () => {
    const w = await failingRollbacks({ error: 'AccessDeniedException' }, 'ECS');
    await handleBakeEvent(w.alarm, w.deps);
    expect(w.failures()).toEqual([
      expect.objectContaining({ reason: 'Error', message: expect.stringContaining('codedeploy:PutLifecycleEventHookExecutionStatus'), bake: expect.objectContaining({ platform: 'ECS', action: 'LifecycleHookFailed' }) }),
    ]);
    expect(w.codeDeploy.deployment(w.deploymentId)).toMatchObject({ status: 'InProgress', hooks: { AfterAllowTraffic: { executionId: expect.any(String) } } });
    expect(w.codeDeploy.deployment(w.deploymentId)?.hooks.AfterAllowTraffic?.status).toBeUndefined();
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });

  it('ECS: a pass whose Succeeded status fails with an error is thrown, not given up (the sweep tries again), and passes once CodeDeploy takes it', async () => {
    const w = await failingRollbacks({ error: 'AccessDeniedException' }, 'ECS');
    // Only the rollbacks fail by the injected fault; this pass fails by its own.
    let denied = true;
    const codeDeploy = {
      ...w.deps.codeDeploy,
      getDeployment: (id: string) => w.deps.codeDeploy.getDeployment(id),
      putLifecycleEventHookExecutionStatus: async (id: string, hook: string, status: 'Succeeded' | 'Failed') => {
        if (denied) throw Object.assign(new Error('not authorized to perform: codedeploy:PutLifecycleEventHookExecutionStatus'), { name: 'AccessDeniedException' });
        return w.codeDeploy.putLifecycleEventHookExecutionStatus(id, hook, status);
      },
    };
    const deps = { ...w.deps, codeDeploy };
    w.clock.advanceBy(30 * 60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), deps)).rejects.toThrow('not authorized');
    expect((await w.bakes.readBook())?.book.open).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, state: 'passing' })]);
    denied = false;
    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now()), deps)).resolves.toEqual({ status: 'swept', closed: [{ deploymentId: w.deploymentId, state: 'passed' }] });
    expect(w.published.map((entry) => [entry.DetailType, JSON.parse(entry.Detail).action])).toEqual([['Deployment Bake Passed', 'LifecycleHookSucceeded']]);
  });

  it('a retry after the failure was kept but its announcement failed announces it once, with the first attempt\'s time; a later retry announces nothing', async () => {
    const w = await failingRollbacks({ error: 'AccessDeniedException' });
    const failing = { ...w.deps, publisher: { publish: async () => Promise.reject(new Error('PutEvents: InternalFailure')) } };
    await expect(handleBakeEvent(w.alarm, failing)).rejects.toThrow('PutEvents: InternalFailure');
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', error: expect.stringContaining(DENIED) });
    expect(w.failures()).toEqual([]);

    w.clock.advanceBy(60_000);
    await handleBakeEvent(w.alarm, w.deps);
    expect(w.failures()).toEqual([expect.objectContaining({ reason: 'Error', failedAt: '2026-12-01T09:05:00.000Z' })]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    await handleBakeEvent(w.alarm, w.deps);
    expect(w.failures()).toHaveLength(1);
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });
});

describe('bake: a deployment that fails or is stopped by other means ends its bake', () => {
  /** CodeDeploy's state change of the deployment (the real sample, for the group), as EventBridge delivers it. */
  const ended = (deploymentId: string, state: 'FAILURE' | 'STOP' | 'SUCCESS', id = `ended-${state}`) => {
    const { event } = derivedDeploymentEvent(state, deploymentId);
    const delivered = event as BusEvent;
    return { ...delivered, id, detail: { ...(delivered.detail as object), application: 'checkout', deploymentGroup: 'checkout-prod' } };
  };

  it('ECS: an open bake whose AfterAllowTraffic hook never comes (the deployment failed first) is closed `ended`, counted once, and no later alarm claims it', async () => {
    const w = setup('ECS');
    await w.deployments.putAssessment(w.assessment);
    await expect(handleBakeEvent(w.assessedEvent(), w.deps)).resolves.toMatchObject({ status: 'opened', endsAt: null });
    w.clock.advanceBy(10 * 60_000);

    await expect(handleBakeEvent(ended(w.deploymentId, 'FAILURE'), w.deps)).resolves.toEqual({ status: 'ended', deploymentId: w.deploymentId, state: 'ended' });
    await expect(handleBakeEvent(ended(w.deploymentId, 'FAILURE'), w.deps)).resolves.toEqual({ status: 'ended', deploymentId: w.deploymentId, state: 'ended' });
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'ended', closedAt: START + 10 * 60_000, platform: 'ECS' });

    await expect(handleBakeEvent(w.alarmEvent('alarm-1', ALARM, 'ALARM', w.clock.now()), w.deps)).resolves.toEqual({ status: 'watched', alarmName: ALARM, closed: [] });
    await expect(handleBakeEvent(w.sweepEvent(w.clock.now() + 60_000), w.deps)).resolves.toEqual({ status: 'swept', closed: [] });
    await expect(handleBakeEvent(w.assessedEvent(), w.deps)).resolves.toMatchObject({ status: 'ignored', reason: expect.stringContaining('closed already') });
    expect(w.codeDeploy.callLog).toEqual([]);
    expect(w.published).toEqual([]);
    expect(w.counted()).toEqual(['BakesEnded']);
  });

  it('EC2: a deployment stopped before its assessment opened the bake (events out of order) is closed `ended`: the late Deployment Risk Assessed opens nothing', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await expect(handleBakeEvent(ended(w.deploymentId, 'STOP'), w.deps)).resolves.toEqual({ status: 'ended', deploymentId: w.deploymentId, state: 'ended' });
    await expect(handleBakeEvent(w.assessedEvent(), w.deps)).resolves.toMatchObject({ status: 'ignored' });
    expect((await w.bakes.readBook())?.book.open ?? []).toEqual([]);
    expect(w.counted()).toEqual(['BakesEnded']);
  });

  it('EC2: the STOP of the bake\'s own rollback keeps the rollback: closed `rolled-back`, counted and announced once', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    w.clock.advanceBy(60_000);
    await expect(handleBakeEvent(w.alarmEvent('alarm-1', ALARM, 'ALARM', w.clock.now()), w.deps)).resolves.toMatchObject({ closed: [{ deploymentId: w.deploymentId, state: 'rolled-back' }] });
    await expect(handleBakeEvent(ended(w.deploymentId, 'STOP'), w.deps)).resolves.toEqual({ status: 'ended', deploymentId: w.deploymentId, state: 'rolled-back' });
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back' });
    expect(w.announcements()).toHaveLength(1);
    expect(w.counted()).toEqual(['BakeRollbacks']);
  });

  it('a bake an alarm has claimed is left to its claimer; a deployment that succeeded, or one not in the bake tier, is ignored', async () => {
    const w = setup();
    await w.deployments.putAssessment(w.assessment);
    await handleBakeEvent(w.assessedEvent(), w.deps);
    await expect(handleBakeEvent(ended(w.deploymentId, 'SUCCESS'), w.deps)).resolves.toMatchObject({ status: 'ignored', reason: expect.stringContaining('SUCCESS') });
    await updateBook(w.bakes, (book) => ({ book: { ...book, open: book.open.map((bake) => ({ ...bake, state: 'rolling-back' as const, claim: { token: 'alarm-1', at: START } })) }, claimed: [] }));
    await expect(handleBakeEvent(ended(w.deploymentId, 'FAILURE'), w.deps)).resolves.toMatchObject({ status: 'ignored', reason: expect.stringContaining('rolling-back') });
    expect(await w.bakes.readClosed(w.deploymentId)).toBeUndefined();
    await expect(handleBakeEvent(ended('d-NOTBAKED1', 'FAILURE'), w.deps)).resolves.toMatchObject({ status: 'ignored', reason: 'd-NOTBAKED1 is not in the bake tier' });
    expect(w.counted()).toEqual([]);
  });
});
