import {
  afterCodeDeployError,
  alarmChanged,
  announcementClaimDecision,
  bakeAction,
  bakeAnnouncement,
  bakeCutOf,
  bakeOf,
  BAKE_CLAIM_LEASE_MS,
  BAKE_TIMEOUT_SECONDS,
  closedBake,
  EMPTY_BOOK,
  endedBake,
  hookInvoked,
  openBake,
  removeClosed,
  startsBake,
  sweep,
  sweepDue,
  watchTier,
} from '../../handlers/bake-domain';
import { THROTTLED_ATTEMPTS } from '../../handlers/codedeploy-errors';
import type { AssessmentRecord, BakeBook } from '../../handlers/ports';
import { AccessDeniedException, InternalFailure, ThrottlingException } from '../../local/faults';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-20T09:00:00Z');

function assessment(overrides: Partial<AssessmentRecord> = {}): AssessmentRecord {
  return {
    deploymentId: 'd-BAKE00001',
    application: 'checkout',
    deploymentGroup: 'prod',
    platform: 'Server',
    mode: 'gate',
    trigger: 'READY',
    probability: 0.4,
    cut: 0.6,
    blockBudget: 0.1,
    cutSource: 'pooled',
    decision: 'proceed',
    explored: false,
    propensity: 1,
    enforced: true,
    modelVersion: 'm1',
    featureRow: '1,2',
    startedAt: T0 - 5 * MINUTE,
    assessedAt: T0,
    tier: 'bake',
    bake: { cut: 0.3, minutes: 30 },
    ...overrides,
  };
}

const policy = { alarmNames: ['checkout-5xx', 'checkout-latency'] };

describe('the bake tier', () => {
  it('a fixed bake threshold is the bake cut', () => {
    expect(bakeCutOf({ threshold: 0.25, minutes: 30 }, { cut: 0.6, blockBudget: 0.1 }, [], 0.1)).toBe(0.25);
  });

  it('a tier budget takes the next riskiest share of the same scores the stop cut is taken from', () => {
    const scores = Array.from({ length: 100 }, (_, index) => index / 100);
    // stop budget 10 % + tier 20 %: the 30 % riskiest are at or above 0.70.
    expect(bakeCutOf({ tierBudget: 0.2, minutes: 30 }, { cut: 0.9, blockBudget: 0.1 }, scores, 0.1)).toBe(0.7);
  });

  it('no stop cut yet (no score): no bake cut either', () => {
    expect(bakeCutOf({ tierBudget: 0.2, minutes: 30 }, { cut: null, blockBudget: 0.1 }, [0.5], 0.1)).toBeNull();
  });

  it('stop above the stop cut, bake between the cuts, nothing below; no probability is never baked', () => {
    expect(watchTier('rollback', 0.9, 0.3)).toBe('stop');
    expect(watchTier('proceed', 0.45, 0.3)).toBe('bake');
    expect(watchTier('proceed', 0.3, 0.3)).toBe('bake');
    expect(watchTier('proceed', 0.29, 0.3)).toBe('none');
    expect(watchTier('proceed', null, 0.3)).toBe('none');
    expect(watchTier('proceed', 0.9, null)).toBe('none');
  });

  it('only an enforced proceed of the bake tier starts a bake', () => {
    expect(startsBake(assessment())).toBe(true);
    expect(startsBake(assessment({ enforced: false }))).toBe(false);
    expect(startsBake(assessment({ tier: 'none' }))).toBe(false);
    expect(startsBake(assessment({ decision: 'rollback', tier: 'stop' }))).toBe(false);
  });
});

describe('a bake', () => {
  it('on EC2 starts its window when the deployment is assessed; on ECS / Lambda it waits for the AfterAllowTraffic hook', () => {
    expect(bakeOf(assessment(), policy, T0).endsAt).toBe(T0 + 30 * MINUTE);
    expect(bakeOf(assessment({ platform: 'ECS', trigger: 'START' }), policy, T0).endsAt).toBeNull();
  });

  it('is opened once', () => {
    const bake = bakeOf(assessment(), policy, T0);
    const book = openBake(openBake(EMPTY_BOOK, bake), bake);
    expect(book.open).toHaveLength(1);
  });

  it('on ECS the first hook is BeforeAllowTraffic, the next one AfterAllowTraffic starts the window, a repeat is the same hook', () => {
    let book = openBake(EMPTY_BOOK, bakeOf(assessment({ platform: 'ECS', trigger: 'START' }), policy, T0));
    const before = hookInvoked(book, 'd-BAKE00001', 'hook-before', T0 + MINUTE);
    expect(before.role).toEqual({ role: 'before' });
    book = before.book;
    expect(hookInvoked(book, 'd-BAKE00001', 'hook-before', T0 + 2 * MINUTE).role).toEqual({ role: 'before' });
    const after = hookInvoked(book, 'd-BAKE00001', 'hook-after', T0 + 3 * MINUTE);
    expect(after.role).toEqual({ role: 'after', endsAt: T0 + 33 * MINUTE });
    expect(hookInvoked(after.book, 'd-BAKE00001', 'hook-after', T0 + 4 * MINUTE).role).toEqual({ role: 'after', endsAt: T0 + 33 * MINUTE });
    expect(bakeAction({ ...after.book.open[0], state: 'rolling-back' })).toEqual({ kind: 'fail-hook', hookExecutionId: 'hook-after' });
    expect(bakeAction({ ...after.book.open[0], state: 'passing' })).toEqual({ kind: 'succeed-hook', hookExecutionId: 'hook-after' });
  });

  it('a deployment without an open bake is not baking for the hook', () => {
    expect(hookInvoked(EMPTY_BOOK, 'd-OTHER', 'hook-1', T0).role).toEqual({ role: 'not-baking' });
  });
});

describe('an alarm during the window', () => {
  const opened = (): BakeBook => openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0));
  const alarm = (value: 'OK' | 'ALARM', at: number) => ({ alarmName: 'checkout-5xx', state: { value, at } });

  it('claims the bake for a rollback once: a second ALARM event claims nothing', () => {
    const first = alarmChanged(opened(), alarm('ALARM', T0 + 10 * MINUTE), 'event-1', T0 + 10 * MINUTE);
    expect(first.claimed.map((bake) => [bake.deploymentId, bake.state, bake.alarmName, bake.claim?.token])).toEqual([['d-BAKE00001', 'rolling-back', 'checkout-5xx', 'event-1']]);
    expect(bakeAction(first.claimed[0])).toEqual({ kind: 'stop' });
    const second = alarmChanged(first.book, alarm('ALARM', T0 + 11 * MINUTE), 'event-2', T0 + 11 * MINUTE);
    expect(second.claimed).toEqual([]);
  });

  it('an OK, an alarm the bake does not watch, or an ALARM after the window claims nothing', () => {
    expect(alarmChanged(opened(), alarm('OK', T0 + MINUTE), 't', T0 + MINUTE).claimed).toEqual([]);
    expect(alarmChanged(opened(), { alarmName: 'payments-5xx', state: { value: 'ALARM', at: T0 + MINUTE } }, 't', T0 + MINUTE).claimed).toEqual([]);
    expect(alarmChanged(opened(), alarm('ALARM', T0 + 31 * MINUTE), 't', T0 + 31 * MINUTE).claimed).toEqual([]);
  });

  it('a late event does not overwrite a newer state', () => {
    const ok = alarmChanged(opened(), alarm('OK', T0 + 5 * MINUTE), 't1', T0 + 5 * MINUTE).book;
    const late = alarmChanged(ok, alarm('ALARM', T0 + 2 * MINUTE), 't2', T0 + 6 * MINUTE);
    expect(late.claimed).toEqual([]);
    expect(late.book.alarms['checkout-5xx']).toEqual({ value: 'OK', at: T0 + 5 * MINUTE });
  });
});

describe('the sweep', () => {
  it('leaves a bake whose window has not ended, and passes it once it has', () => {
    const book = openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0));
    expect(sweep(book, T0 + 29 * MINUTE, 's1').claimed).toEqual([]);
    const ended = sweep(book, T0 + 30 * MINUTE, 's2');
    expect(ended.claimed.map((bake) => bake.state)).toEqual(['passing']);
    expect(bakeAction(ended.claimed[0])).toEqual({ kind: 'nothing' });
  });

  it('rolls back a bake whose alarm is already in ALARM (an event lost, or the alarm fired before the bake opened)', () => {
    const alarming = alarmChanged(EMPTY_BOOK, { alarmName: 'checkout-latency', state: { value: 'ALARM', at: T0 - MINUTE } }, 'a', T0 - MINUTE).book;
    const book = openBake(alarming, bakeOf(assessment(), policy, T0));
    const swept = sweep(book, T0 + MINUTE, 's');
    expect(swept.claimed.map((bake) => [bake.state, bake.alarmName])).toEqual([['rolling-back', 'checkout-latency']]);
  });

  it('takes over a claim left without an outcome past its lease, not before', () => {
    const claimed = alarmChanged(openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0)), { alarmName: 'checkout-5xx', state: { value: 'ALARM', at: T0 + MINUTE } }, 'crashed', T0 + MINUTE).book;
    expect(sweep(claimed, T0 + MINUTE + BAKE_CLAIM_LEASE_MS - 1, 's1').claimed).toEqual([]);
    const taken = sweep(claimed, T0 + MINUTE + BAKE_CLAIM_LEASE_MS, 's2');
    expect(taken.claimed.map((bake) => bake.claim?.token)).toEqual(['s2']);
    // The crashed invocation can no longer close it.
    expect(removeClosed(taken.book, 'd-BAKE00001', 'crashed').open).toHaveLength(1);
    expect(removeClosed(taken.book, 'd-BAKE00001', 's2').open).toHaveLength(0);
  });

  it('a closed bake says how CodeDeploy answered', () => {
    const rolling = { ...bakeOf(assessment(), policy, T0), state: 'rolling-back' as const };
    expect(closedBake(rolling, { ok: true }, T0 + MINUTE).state).toBe('rolled-back');
    expect(closedBake(rolling, { ok: false, refusal: 'DeploymentAlreadyCompleted', message: 'done' }, T0 + MINUTE)).toMatchObject({ state: 'not-done', refusal: 'DeploymentAlreadyCompleted', message: 'done' });
    expect(closedBake({ ...rolling, state: 'passing' }, { ok: true }, T0 + MINUTE).state).toBe('passed');
  });

  it('a rollback CodeDeploy finds done already (the deployment stopped, the hook answered) is rolled back, not lost; a pass it refuses is not done', () => {
    const rolling = { ...bakeOf(assessment(), policy, T0), state: 'rolling-back' as const };
    expect(closedBake(rolling, { ok: false, refusal: 'DeploymentAlreadyStopped', message: 'stopped' }, T0 + MINUTE)).toMatchObject({ state: 'rolled-back', refusal: 'DeploymentAlreadyStopped', message: 'stopped' });
    expect(closedBake(rolling, { ok: false, refusal: 'HookExpired', message: 'completed' }, T0 + MINUTE).state).toBe('rolled-back');
    expect(closedBake(rolling, { ok: false, refusal: 'DeploymentNotFound', message: 'gone' }, T0 + MINUTE).state).toBe('not-done');
    expect(closedBake({ ...rolling, state: 'passing' }, { ok: false, refusal: 'HookExpired', message: 'completed' }, T0 + MINUTE).state).toBe('not-done');
  });
});

describe('a rollback whose CodeDeploy call fails with an error (not a refusal), as the rollback handler does', () => {
  const rolling = { ...bakeOf(assessment(), policy, T0), state: 'rolling-back' as const, alarmName: 'checkout-5xx' };
  const passing = { ...bakeOf(assessment(), policy, T0), state: 'passing' as const };
  const denied = new AccessDeniedException('User: arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-bake/fn is not authorized to perform: codedeploy:StopDeployment');
  const throttled = new ThrottlingException('Rate exceeded');

  it(`throttling is waited out, 1 s then 2 s, for ${THROTTLED_ATTEMPTS} attempts in all; then the rollback gives up with the error`, () => {
    expect(THROTTLED_ATTEMPTS).toBe(3);
    expect(afterCodeDeployError(rolling, throttled, 1)).toEqual({ kind: 'wait', ms: 1_000 });
    expect(afterCodeDeployError(rolling, throttled, 2)).toEqual({ kind: 'wait', ms: 2_000 });
    expect(afterCodeDeployError(rolling, throttled, 3)).toEqual({ kind: 'give-up', error: 'ThrottlingException: Rate exceeded' });
  });

  it('an error that is not throttling (access denied, a 5xx after the SDK\'s retries) gives up at the first attempt, with the error in words', () => {
    expect(afterCodeDeployError(rolling, denied, 1)).toEqual({ kind: 'give-up', error: `AccessDeniedException: ${denied.message}` });
    expect(afterCodeDeployError(rolling, new InternalFailure('We encountered an internal error'), 1)).toEqual({ kind: 'give-up', error: 'InternalFailure: We encountered an internal error' });
  });

  it('a pass is never given up on: its error is thrown for Lambda and the sweep to retry (given up, its hook would time out and fail a deployment that passed)', () => {
    expect(afterCodeDeployError(passing, throttled, 1)).toEqual({ kind: 'wait', ms: 1_000 });
    expect(afterCodeDeployError(passing, throttled, 3)).toEqual({ kind: 'rethrow' });
    expect(afterCodeDeployError(passing, denied, 1)).toEqual({ kind: 'rethrow' });
  });

  it('the rollback given up is closed not done, with the error (no refusal)', () => {
    const closed = closedBake(rolling, { ok: false, error: 'AccessDeniedException: not authorized' }, T0 + MINUTE);
    expect(closed).toMatchObject({ state: 'not-done', closedAt: T0 + MINUTE, error: 'AccessDeniedException: not authorized', alarmName: 'checkout-5xx' });
    expect(closed.refusal).toBeUndefined();
  });
});

describe('what a closed bake announces, once', () => {
  const claimed = (platform: AssessmentRecord['platform'] = 'Server') => {
    const opened = openBake(EMPTY_BOOK, bakeOf(assessment({ platform }), policy, T0));
    const withHook = platform === 'Server' ? opened : hookInvoked(hookInvoked(opened, 'd-BAKE00001', 'before-1', T0).book, 'd-BAKE00001', 'after-1', T0 + MINUTE).book;
    return alarmChanged(withHook, { alarmName: 'checkout-5xx', state: { value: 'ALARM', at: T0 + 10 * MINUTE } }, 'event-1', T0 + 10 * MINUTE).claimed[0]!;
  };
  const refused = (platform: AssessmentRecord['platform'] = 'Server') =>
    closedBake(claimed(platform), { ok: false, refusal: 'DeploymentAlreadyCompleted', message: 'The deployment d-BAKE00001 is already completed.' }, T0 + 10 * MINUTE);

  it('a rollback on an alarm: Deployment Bake Rolled Back, with the alarm, the action and the window', () => {
    expect(bakeAnnouncement(closedBake(claimed(), { ok: true }, T0 + 10 * MINUTE))).toEqual({
      kind: 'Deployment Bake Rolled Back',
      detail: {
        schemaVersion: '1',
        deploymentId: 'd-BAKE00001',
        application: 'checkout',
        deploymentGroup: 'prod',
        platform: 'Server',
        alarmName: 'checkout-5xx',
        action: 'StopDeployment',
        bakeMinutes: 30,
        bakeOpenedAt: '2026-11-20T09:00:00.000Z',
        rolledBackAt: '2026-11-20T09:10:00.000Z',
      },
    });
  });

  it('a rollback CodeDeploy refused: Deployment Rollback Failed with its refusal as the reason, its message, and the bake (the alarm, what was asked, the window)', () => {
    expect(bakeAnnouncement(refused())).toEqual({
      kind: 'Deployment Rollback Failed',
      detail: {
        schemaVersion: '1',
        deploymentId: 'd-BAKE00001',
        application: 'checkout',
        deploymentGroup: 'prod',
        reason: 'DeploymentAlreadyCompleted',
        message: 'The deployment d-BAKE00001 is already completed.',
        failedAt: '2026-11-20T09:10:00.000Z',
        bake: { platform: 'Server', alarmName: 'checkout-5xx', action: 'StopDeployment', minutes: 30, openedAt: '2026-11-20T09:00:00.000Z' },
      },
    });
  });

  it('of an ECS deployment whose traffic moved, says the AfterAllowTraffic hook was to fail', () => {
    expect(bakeAnnouncement(refused('ECS'))?.detail).toMatchObject({ bake: { platform: 'ECS', action: 'LifecycleHookFailed' } });
  });

  it('a refusal the event names no reason for is an Error; a refused rollback closed by an earlier release (no refusal kept) too', () => {
    const notReady = closedBake(claimed(), { ok: false, refusal: 'DeploymentNotReady', message: 'not ready' }, T0 + 10 * MINUTE);
    expect(bakeAnnouncement(notReady)?.detail).toMatchObject({ reason: 'Error', message: 'not ready' });
    const earlierRelease = { ...refused(), refusal: undefined, message: 'DeploymentAlreadyCompleted: The deployment d-BAKE00001 is already completed.' };
    expect(bakeAnnouncement(earlierRelease)?.detail).toMatchObject({ reason: 'Error', message: 'DeploymentAlreadyCompleted: The deployment d-BAKE00001 is already completed.' });
  });

  it('a rollback whose call failed with an error: Deployment Rollback Failed with reason Error, the error as the message, and the bake; once', () => {
    const failed = (platform: AssessmentRecord['platform'] = 'Server') => closedBake(claimed(platform), { ok: false, error: 'AccessDeniedException: User is not authorized to perform: codedeploy:StopDeployment' }, T0 + 10 * MINUTE);
    expect(bakeAnnouncement(failed())).toEqual({
      kind: 'Deployment Rollback Failed',
      detail: {
        schemaVersion: '1',
        deploymentId: 'd-BAKE00001',
        application: 'checkout',
        deploymentGroup: 'prod',
        reason: 'Error',
        message: 'AccessDeniedException: User is not authorized to perform: codedeploy:StopDeployment',
        failedAt: '2026-11-20T09:10:00.000Z',
        bake: { platform: 'Server', alarmName: 'checkout-5xx', action: 'StopDeployment', minutes: 30, openedAt: '2026-11-20T09:00:00.000Z' },
      },
    });
    expect(bakeAnnouncement(failed('Lambda'))?.detail).toMatchObject({ reason: 'Error', bake: { platform: 'Lambda', action: 'LifecycleHookFailed' } });
    expect(bakeAnnouncement({ ...failed(), announcedAt: T0 + 10 * MINUTE })).toBeUndefined();
  });

  it('a pass: Deployment Bake Passed, with the alarms watched and how it went on (the hook answered Succeeded on ECS / Lambda, nothing asked on EC2)', () => {
    const passing = sweep(openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0)), T0 + 30 * MINUTE, 's').claimed[0]!;
    expect(bakeAnnouncement(closedBake(passing, { ok: true }, T0 + 30 * MINUTE))).toEqual({
      kind: 'Deployment Bake Passed',
      detail: {
        schemaVersion: '1',
        deploymentId: passing.deploymentId,
        application: passing.application,
        deploymentGroup: passing.deploymentGroup,
        platform: 'Server',
        alarmNames: [...passing.alarmNames],
        action: 'None',
        bakeMinutes: 30,
        bakeOpenedAt: new Date(passing.openedAt).toISOString(),
        passedAt: new Date(T0 + 30 * MINUTE).toISOString(),
      },
    });
    expect(bakeAnnouncement(closedBake({ ...passing, platform: 'ECS', hookExecutionId: 'hook-1' }, { ok: true }, T0 + 30 * MINUTE))?.detail).toMatchObject({ platform: 'ECS', action: 'LifecycleHookSucceeded' });
  });

  it('nothing once announced, nor for a pass CodeDeploy refused, nor for a bake whose deployment ended by other means', () => {
    expect(bakeAnnouncement({ ...refused(), announcedAt: T0 + 10 * MINUTE })).toBeUndefined();
    expect(bakeAnnouncement({ ...closedBake(claimed(), { ok: true }, T0 + 10 * MINUTE), announcedAt: T0 + 10 * MINUTE })).toBeUndefined();
    const passing = sweep(openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0)), T0 + 30 * MINUTE, 's').claimed[0]!;
    expect(bakeAnnouncement({ ...closedBake(passing, { ok: true }, T0 + 30 * MINUTE), announcedAt: T0 + 31 * MINUTE })).toBeUndefined();
    expect(bakeAnnouncement(closedBake(passing, { ok: false, refusal: 'DeploymentAlreadyCompleted', message: 'done' }, T0 + 30 * MINUTE))).toBeUndefined();
    expect(bakeAnnouncement(endedBake(bakeOf(assessment(), policy, T0), T0 + 5 * MINUTE))).toBeUndefined();
  });
});

describe("who announces a closed bake (announcementClaimDecision): one invocation at a time, the others fail for Lambda to retry", () => {
  const token = 'alarm-1/invocation-a';
  const other = 'alarm-1/invocation-b';
  const claimedAt = T0 + MINUTE;

  it('the lease is the bake function\'s timeout and 15 s: an invocation still running keeps its claim; Lambda\'s first retry (a minute) comes after it', () => {
    expect(BAKE_CLAIM_LEASE_MS).toBe((BAKE_TIMEOUT_SECONDS + 15) * 1000);
    expect(BAKE_CLAIM_LEASE_MS).toBeLessThan(MINUTE);
  });

  it('a closed bake nobody claimed: the invocation claims it over no claim (open)', () => {
    expect(announcementClaimDecision({}, token, claimedAt)).toEqual({ kind: 'claim', way: 'open', expected: null });
  });

  it('announced already (by this invocation, another, or an earlier release): nothing more, whatever the claim', () => {
    expect(announcementClaimDecision({ announcedAt: claimedAt }, token, claimedAt)).toEqual({ kind: 'announced' });
    expect(announcementClaimDecision({ announcedAt: claimedAt, announcing: { token: other, at: claimedAt } }, token, claimedAt + 1)).toEqual({ kind: 'announced' });
  });

  it('another invocation\'s claim younger than the lease (two deliveries of one alarm event, or an alarm and the sweep, at the same moment): held, publish nothing', () => {
    const claim = { token: other, at: claimedAt };
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt)).toEqual({ kind: 'held', claim });
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt + BAKE_CLAIM_LEASE_MS - 1)).toEqual({ kind: 'held', claim });
  });

  it('another invocation\'s claim at its lease end (it died between claiming and marking): taken over, over that claim', () => {
    const claim = { token: other, at: claimedAt };
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt + BAKE_CLAIM_LEASE_MS)).toEqual({ kind: 'claim', way: 'takeover', expected: claim });
  });

  it('its own claim (the answer of its claim lost): claimed again, whatever the lease', () => {
    const claim = { token, at: claimedAt };
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt + 1)).toEqual({ kind: 'claim', way: 'own', expected: claim });
  });

  it('a lease given: the same rules at that lease', () => {
    const claim = { token: other, at: claimedAt };
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt + 10, 10)).toEqual({ kind: 'claim', way: 'takeover', expected: claim });
    expect(announcementClaimDecision({ announcing: claim }, token, claimedAt + 9, 10)).toEqual({ kind: 'held', claim });
  });
});

describe('when the sweep next has work (sweepDue): before it, the sweep claims nothing; at it, it does', () => {
  const claimsAt = (book: BakeBook, at: number) => sweep(book, at, 's').claimed.length > 0;

  it('a window that has not ended: at its end', () => {
    const book = openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0));
    const due = sweepDue(book)!;
    expect(due).toBe(T0 + 30 * MINUTE);
    expect(claimsAt(book, due - 1)).toBe(false);
    expect(claimsAt(book, due)).toBe(true);
  });

  it('an alarm in ALARM: at once', () => {
    const alarming = alarmChanged(EMPTY_BOOK, { alarmName: 'checkout-latency', state: { value: 'ALARM', at: T0 - MINUTE } }, 'a', T0 - MINUTE).book;
    const book = openBake(alarming, bakeOf(assessment(), policy, T0));
    expect(sweepDue(book)).toBeLessThanOrEqual(T0);
    expect(claimsAt(book, T0)).toBe(true);
  });

  it('a claim without an outcome: at its lease end', () => {
    const claimed = alarmChanged(openBake(EMPTY_BOOK, bakeOf(assessment(), policy, T0)), { alarmName: 'checkout-5xx', state: { value: 'ALARM', at: T0 + MINUTE } }, 'crashed', T0 + MINUTE).book;
    const due = sweepDue(claimed)!;
    expect(due).toBe(T0 + MINUTE + BAKE_CLAIM_LEASE_MS);
    expect(claimsAt(claimed, due - 1)).toBe(false);
    expect(claimsAt(claimed, due)).toBe(true);
  });

  it('nothing open, or an ECS bake whose traffic has not moved: never, until something else happens', () => {
    expect(sweepDue(EMPTY_BOOK)).toBeUndefined();
    const waiting = openBake(EMPTY_BOOK, bakeOf(assessment({ platform: 'ECS', trigger: 'START' }), policy, T0));
    expect(sweepDue(waiting)).toBeUndefined();
    expect(claimsAt(waiting, T0 + 365 * 24 * 60 * MINUTE)).toBe(false);
  });
});
