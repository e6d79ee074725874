import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import type { PutEventsEntry } from '../../events/emitted';
import { InMemoryBakeStore, InMemoryDeploymentStore } from '../../handlers/adapters/in-memory-stores';
import { BakeAnnouncementHeldError, handleBakeEvent, type BakeDependencies, type BakeResult } from '../../handlers/bake';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { FaultInjector, SimulatedCrash, type FaultOptions } from '../../local/faults';
import { derivedDeploymentEvent } from '../../events/samples';
import { alarmEvent, assessedEvent, BAKING_ALARM, bakeTierAssessment, bakingPolicy, sweepEvent } from '../handlers/bake-fixture';

/**
 * The bakes under the fault injector (local/faults.ts): the bake store of the bake handler decorated
 * like every other store. Whether a write of the book of open bakes is applied with its answer lost
 * (the store says another writer moved it) or the function dies right after a write of the book or
 * of a closed bake (Lambda retries the event), a baking EC2 deployment whose alarm goes off is rolled
 * back exactly once, its rollback is kept and announced exactly once, and the book ends empty; one
 * CodeDeploy completed first (the rollback refused) is kept as not done and its refusal announced
 * exactly once; one whose rollback keeps failing with an error (access denied) is kept as not done and
 * announced exactly once, and nothing retries it. Two deliveries of the alarm's event running at the
 * same moment announce it exactly once too.
 */
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const ALARM = BAKING_ALARM;
/** Lambda's asynchronous invocation: the first attempt and two retries. */
const ATTEMPTS = 3;

async function bakingDeployment(options: Omit<FaultOptions, 'seed'> & { readonly seed?: number }) {
  const clock = new ManualClock(START);
  const codeDeploy = new LocalCodeDeploy({ clock, account: '123456789012', region: 'us-east-1', emit: () => undefined });
  const { deploymentId } = codeDeploy.createDeployment({ application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', revision: { commitId: 'a'.repeat(40) } });
  const faults = new FaultInjector({ seed: 7, ...options });
  const bakes = new InMemoryBakeStore();
  const deployments = new InMemoryDeploymentStore();
  const published: PutEventsEntry[] = [];
  const metrics: string[] = [];
  const deps: BakeDependencies = {
    codeDeploy: faults.codeDeploy(codeDeploy),
    deployments,
    bakes: faults.bakeStore(bakes),
    publisher: { publish: async (entries) => void published.push(...entries) },
    metrics: { put: (values) => metrics.push(...values.values.filter((value) => value.value > 0).map((value) => value.name)) },
    clock,
    config: { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', groups: [bakingPolicy()], metricsNamespace: 'DeployGuard' },
  };
  const assessment = bakeTierAssessment(deploymentId, START);
  await deployments.putAssessment(assessment);
  const invoke = faults.invocation('bake', (event: BusEvent) => handleBakeEvent(event, deps));
  /** One event as Lambda delivers it: retried after a failed attempt, up to ATTEMPTS in all; the last answer, or the last error. */
  const deliver = async (event: BusEvent): Promise<BakeResult> => {
    let failure: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      try {
        return await invoke(event);
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  };
  const assessed = assessedEvent(assessment);
  const alarm = (id: string, at: number) => alarmEvent(id, ALARM, 'ALARM', at);
  const sweep = sweepEvent;
  const announcements = () => published.filter((published) => published.DetailType === 'Deployment Bake Rolled Back').map((published) => JSON.parse(published.Detail) as { deploymentId: string });
  const failures = () => published.filter((published) => published.DetailType === 'Deployment Rollback Failed').map((published) => JSON.parse(published.Detail) as { deploymentId: string; reason: string; bake?: { alarmName: string } });
  const rollbacks = () => codeDeploy.callLog.filter((call) => call.accepted && call.api === 'StopDeployment');
  /** The bake metrics put, one name per count. */
  const counted = () => [...metrics];
  return { clock, codeDeploy, deploymentId, faults, bakes, invoke, deliver, assessed, alarm, sweep, announcements, failures, rollbacks, counted };
}

/** The bake opens, its alarm goes off (the event delivered twice), and the sweeps run past the window; `completed`: CodeDeploy completed the deployment before the alarm. */
async function alarmDuringTheBake(w: Awaited<ReturnType<typeof bakingDeployment>>, completed = false): Promise<void> {
  await expect(w.deliver(w.assessed)).resolves.toMatchObject({ status: 'opened' });
  w.clock.advanceBy(5 * MINUTE);
  if (completed) w.codeDeploy.finish(w.deploymentId, false);
  const alarm = w.alarm('alarm-1', w.clock.now());
  await w.deliver(alarm);
  await w.deliver(alarm);
  for (let minute = 1; minute <= 40; minute += 1) {
    w.clock.advanceBy(MINUTE);
    await w.deliver(w.sweep(w.clock.now()));
  }
}

/**
 * The bake opens; its alarm's event is delivered once and run as two invocations at the same moment
 * (the fault injector's race: each step of one may let the other run, as the seed draws); an
 * invocation held off by the other's claim of the announcement fails, and Lambda retries it a minute
 * later; then the sweeps run past the window.
 */
async function racedAlarm(seed: number, completed: boolean) {
  const w = await bakingDeployment({ seed, raceRate: 1 });
  await expect(w.deliver(w.assessed)).resolves.toMatchObject({ status: 'opened' });
  w.clock.advanceBy(5 * MINUTE);
  if (completed) w.codeDeploy.finish(w.deploymentId, false);
  const heldOff: BusEvent[] = [];
  const queue = w.faults.delivery(async (event) => {
    try {
      await w.invoke(event);
    } catch (error) {
      if (!(error instanceof BakeAnnouncementHeldError)) throw error;
      heldOff.push(event);
    }
  });
  await queue(w.alarm('alarm-1', w.clock.now()));
  while (await w.faults.runQueued());
  expect(w.faults.stats.races).toBe(1);
  w.clock.advanceBy(MINUTE);
  for (const event of heldOff) await expect(w.deliver(event)).resolves.toMatchObject({ status: 'watched' });
  for (let minute = 1; minute <= 40; minute += 1) {
    w.clock.advanceBy(MINUTE);
    await w.deliver(w.sweep(w.clock.now()));
  }
  return { ...w, heldOff };
}

describe('two deliveries of one alarm event at the same moment, over 12 seeds of the race', () => {
  const SEEDS = Array.from({ length: 12 }, (_, index) => 101 + index);

  it('a rollback: CodeDeploy stops the deployment once, and it is announced as rolled back exactly once in every seed', async () => {
    let heldOff = 0;
    for (const seed of SEEDS) {
      const w = await racedAlarm(seed, false);
      heldOff += w.heldOff.length;
      expect({ seed, rollbacks: w.rollbacks().length, announced: w.announcements().map((announcement) => announcement.deploymentId), failures: w.failures(), counted: w.counted() }).toEqual({ seed, rollbacks: 1, announced: [w.deploymentId], failures: [], counted: ['BakeRollbacks'] });
      expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back', announcedAt: expect.any(Number) });
      expect((await w.bakes.readBook())?.book.open).toEqual([]);
    }
    // The race does bite: in some seeds one invocation found the other announcing, published nothing and was retried.
    expect(heldOff).toBeGreaterThanOrEqual(1);
  });

  it('a rollback CodeDeploy refuses (the deployment completed first): its refusal announced exactly once in every seed', async () => {
    let heldOff = 0;
    for (const seed of SEEDS) {
      const w = await racedAlarm(seed, true);
      heldOff += w.heldOff.length;
      expect({ seed, rollbacks: w.rollbacks().length, failures: w.failures().map((failure) => [failure.deploymentId, failure.reason]), announced: w.announcements(), counted: w.counted() }).toEqual({ seed, rollbacks: 0, failures: [[w.deploymentId, 'DeploymentAlreadyCompleted']], announced: [], counted: ['BakesNotClosed'] });
      expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', refusal: 'DeploymentAlreadyCompleted', announcedAt: expect.any(Number) });
      expect((await w.bakes.readBook())?.book.open).toEqual([]);
    }
    expect(heldOff).toBeGreaterThanOrEqual(1);
  });

  it('the function dying right after it claimed the announcement: Lambda\'s retry a minute later, past the lease, takes the claim over and announces it once', async () => {
    const w = await bakingDeployment({ crashRate: 1, crashSteps: /^claiming the announcement/ });
    await w.deliver(w.assessed);
    w.clock.advanceBy(5 * MINUTE);
    const alarm = w.alarm('alarm-1', w.clock.now());
    await expect(w.invoke(alarm)).rejects.toThrow(SimulatedCrash);
    // At once, the dead invocation's claim still holds: nothing is published.
    await expect(w.invoke(alarm)).rejects.toThrow(BakeAnnouncementHeldError);
    expect(w.announcements()).toEqual([]);
    w.clock.advanceBy(MINUTE);
    await expect(w.invoke(alarm)).resolves.toMatchObject({ status: 'watched' });
    expect(w.rollbacks()).toHaveLength(1);
    expect(w.announcements().map((announcement) => announcement.deploymentId)).toEqual([w.deploymentId]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakeRollbacks']);
  });
});

describe('the bake store under the fault injector', () => {
  it('a lost answer on every first write of the book: one rollback, kept and announced once, the book empty', async () => {
    const w = await bakingDeployment({ lostBakeBookAnswerRate: 1 });
    await alarmDuringTheBake(w);
    expect(w.faults.stats.lostAnswers).toBeGreaterThanOrEqual(3);
    expect(w.rollbacks()).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(w.codeDeploy.deployment(w.deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'StopDeployment' });
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back', alarmName: ALARM, announcedAt: expect.any(Number) });
    expect(w.announcements().map((announcement) => announcement.deploymentId)).toEqual([w.deploymentId]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakeRollbacks']);
  });

  it.each([
    ['each write of the book (the first two of an event)', undefined, 3],
    ['CodeDeploy stopped the deployment, before the closed bake is kept', /^CodeDeploy StopDeployment/, 1],
    ['the closed bake is kept, before its rollback is announced', /^keeping the closed bake .*\(rolled-back\)$/, 1],
    ['the rollback is announced, before the closed bake says so', /^keeping the closed bake .*announced\)$/, 1],
    ['the book is written without the closed bake', /over revision [2-9]/, 1],
  ])("the function dying right after %s: Lambda's retries roll it back once and lose nothing", async (_step, crashSteps, crashes) => {
    const w = await bakingDeployment({ crashRate: 1, ...(crashSteps ? { crashSteps } : {}) });
    const attempts: unknown[] = [];
    const deliver = w.deliver;
    w.deliver = async (event) => {
      try {
        return await deliver(event);
      } catch (error) {
        attempts.push(error);
        throw error;
      }
    };
    await alarmDuringTheBake(w);
    expect(w.faults.stats.crashes).toBeGreaterThanOrEqual(crashes);
    expect(attempts).toEqual([]);
    expect(w.rollbacks()).toHaveLength(1);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back', announcedAt: expect.any(Number) });
    expect(w.announcements().map((announcement) => announcement.deploymentId)).toEqual([w.deploymentId]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakeRollbacks']);
  });

  it.each([
    ['a lost answer on every first write of the book', { lostBakeBookAnswerRate: 1 }],
    ['the function dying right after each write of the book', { crashRate: 1, crashSteps: /^writing the book/ }],
    ['the function dying right after CodeDeploy refused the stop (its answer lost)', { crashRate: 1, crashSteps: /^CodeDeploy StopDeployment/ }],
    ['the function dying right after the refusal is kept, before it is announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*\(not-done\)$/ }],
    ['the function dying right after the refusal is marked announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*announced\)$/ }],
  ])('a rollback CodeDeploy refuses (the deployment completed first), with %s: kept as not done and announced once as Deployment Rollback Failed, the book empty', async (_fault, options) => {
    const w = await bakingDeployment(options);
    await alarmDuringTheBake(w, true);
    expect(w.faults.stats.crashes + w.faults.stats.lostAnswers).toBeGreaterThanOrEqual(1);
    expect(w.rollbacks()).toEqual([]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', refusal: 'DeploymentAlreadyCompleted', announcedAt: expect.any(Number) });
    expect(w.failures()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, reason: 'DeploymentAlreadyCompleted', bake: expect.objectContaining({ alarmName: ALARM }) })]);
    expect(w.announcements()).toEqual([]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    expect(w.counted()).toEqual(['BakesNotClosed']);
  });

  it.each([
    ['nothing else', {}, 0],
    ['a lost answer on every first write of the book', { lostBakeBookAnswerRate: 1 }, 3],
    ['the function dying right after each write of the book', { crashRate: 1, crashSteps: /^writing the book/ }, 3],
    ['the function dying right after the failure is kept, before it is announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*\(not-done\)$/ }, 1],
    ['the function dying right after the failure is marked announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*announced\)$/ }, 1],
  ])('a rollback whose StopDeployment is denied every time (AccessDeniedException), with %s: kept as not done with the error, announced once as Deployment Rollback Failed (Error), not retried by the sweeps', async (_fault, options, injected) => {
    const w = await bakingDeployment({ rollbackErrors: { error: 'AccessDeniedException' }, ...options });
    await alarmDuringTheBake(w);
    expect(w.faults.stats.crashes + w.faults.stats.lostAnswers).toBeGreaterThanOrEqual(injected);
    expect(w.rollbacks()).toEqual([]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'not-done', error: expect.stringMatching(/^AccessDeniedException: .*codedeploy:StopDeployment/), announcedAt: expect.any(Number) });
    expect(w.failures()).toEqual([expect.objectContaining({ deploymentId: w.deploymentId, reason: 'Error', message: expect.stringMatching(/^AccessDeniedException: /), bake: expect.objectContaining({ alarmName: ALARM, action: 'StopDeployment' }) })]);
    expect(w.announcements()).toEqual([]);
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    // At most once per attempt of the alarm's event (a crash makes Lambda retry it); the 40 sweeps not at all.
    expect(w.faults.stats.codeDeployErrors).toBeGreaterThanOrEqual(1);
    expect(w.faults.stats.codeDeployErrors).toBeLessThanOrEqual(1 + w.faults.stats.crashes);
  });

  it('a rollback throttled twice after the SDK\'s retries, then accepted: rolled back once and announced as such; no failure announced', async () => {
    const w = await bakingDeployment({ rollbackErrors: { error: 'ThrottlingException', times: 2 } });
    await alarmDuringTheBake(w);
    expect(w.faults.stats.codeDeployErrors).toBe(2);
    expect(w.rollbacks()).toEqual([{ api: 'StopDeployment', deploymentId: w.deploymentId, accepted: true }]);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'rolled-back', announcedAt: expect.any(Number) });
    expect(w.announcements().map((announcement) => announcement.deploymentId)).toEqual([w.deploymentId]);
    expect(w.failures()).toEqual([]);
  });

  it.each([
    ['nothing else', {}, 0],
    ['a lost answer on every first write of the book', { lostBakeBookAnswerRate: 1 }, 1],
    ['the function dying right after the ended bake is kept, before the book lets it go', { crashRate: 1, crashSteps: /^keeping the closed bake .*\(ended\)$/ }, 1],
    ['the function dying right after each write of the book', { crashRate: 1, crashSteps: /^writing the book/ }, 1],
  ])("a deployment that fails during its bake, with %s: Lambda's retries end the bake once (kept ended, counted once, the book empty), and its alarm then rolls nothing back", async (_fault, options, injected) => {
    const w = await bakingDeployment(options);
    await expect(w.deliver(w.assessed)).resolves.toMatchObject({ status: 'opened' });
    w.clock.advanceBy(5 * MINUTE);
    w.codeDeploy.finish(w.deploymentId, true);
    const failed = { ...(derivedDeploymentEvent('FAILURE', w.deploymentId).event as BusEvent), id: 'failure-1' };
    (failed.detail as Record<string, unknown>).application = 'checkout';
    (failed.detail as Record<string, unknown>).deploymentGroup = 'checkout-prod';
    await expect(w.deliver(failed)).resolves.toMatchObject({ status: 'ended', state: 'ended' });
    expect(w.faults.stats.crashes + w.faults.stats.lostAnswers).toBeGreaterThanOrEqual(injected);
    expect(await w.bakes.readClosed(w.deploymentId)).toMatchObject({ state: 'ended' });
    expect((await w.bakes.readBook())?.book.open).toEqual([]);
    await w.deliver(w.alarm('alarm-1', w.clock.now()));
    for (let minute = 1; minute <= 40; minute += 1) {
      w.clock.advanceBy(MINUTE);
      await w.deliver(w.sweep(w.clock.now()));
    }
    expect(w.codeDeploy.callLog).toEqual([]);
    expect([...w.announcements(), ...w.failures()]).toEqual([]);
    expect(w.counted()).toEqual(['BakesEnded']);
  });

  it('a crash is the process dying: the attempt fails with it, whatever the handler does', async () => {
    const w = await bakingDeployment({ crashRate: 1 });
    const invoke = w.faults.invocation('bake', () => w.faults.bakeStore(new InMemoryBakeStore()).writeBook({ open: [], alarms: {} }, null));
    await expect(invoke(w.assessed)).rejects.toThrow(SimulatedCrash);
  });
});
