import { heldStopLabel, holdPolicyOf, holdTimeoutIssue, isExpired, newHold, settleVerdict, timeoutDue, timeoutSettlement, type DeploymentHold } from '../../handlers/hold-domain';
import { labelOutcome } from '../../handlers/record-outcome-domain';

const SINCE = Date.parse('2026-12-01T09:00:00Z');
const held: DeploymentHold = newHold({ deploymentId: 'd-123456789', application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', reason: 'risky' }, { timeoutMinutes: 30, onTimeout: 'reject' }, SINCE);
const by = { by: 'arn:aws:sts::123456789012:assumed-role/op/alice', reason: 'why', at: SINCE + 60_000, cause: 'operator' as const };

describe('hold for a human: the pure rules', () => {
  it('a group holds only in gate mode with onRisk hold; 30 minutes and reject unless it says', () => {
    expect(holdPolicyOf({ mode: 'gate', onRisk: 'hold' })).toEqual({ timeoutMinutes: 30, onTimeout: 'reject' });
    expect(holdPolicyOf({ mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 10, onHoldTimeout: 'approve' })).toEqual({ timeoutMinutes: 10, onTimeout: 'approve' });
    expect(holdPolicyOf({ mode: 'gate' })).toBeUndefined();
    expect(holdPolicyOf({ mode: 'stop', onRisk: 'hold' })).toBeUndefined();
  });

  it.each([
    ['Server', 60, 60, 'reject', undefined],
    ['Server', 61, 60, 'reject', 'expected at most 60 minutes'],
    ['Server', 59, 60, 'approve', 'expected at most 58 minutes'],
    ['Server', 58, 60, 'approve', undefined],
    ['ECS', 60, 5, 'reject', undefined],
    ['Lambda', 59, 5, 'approve', 'expected at most 58 minutes'],
  ] as const)('%s, %i minutes in a %i-minute wait, timeout %s: %s', (platform, minutes, wait, onTimeout, issue) => {
    const found = holdTimeoutIssue(platform, { timeoutMinutes: minutes, onTimeout }, wait);
    if (issue === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(issue);
  });

  it('expires at `until`, not before, and never once settled', () => {
    expect(held.until).toBe(SINCE + 30 * 60_000);
    expect(isExpired(held, held.until - 1)).toBe(false);
    expect(isExpired(held, held.until)).toBe(true);
    expect(isExpired({ ...held, settled: { action: 'approve', ...by } }, held.until)).toBe(false);
  });

  it('settles once: act when unsettled, retry a call without an answer, otherwise already (same action) or conflict', () => {
    expect(settleVerdict(held, 'approve')).toEqual({ kind: 'act' });
    const settled = { action: 'approve' as const, ...by };
    expect(settleVerdict({ ...held, settled }, 'approve').kind).toBe('retry');
    const answered = { ...settled, answer: { ok: true as const } };
    expect(settleVerdict({ ...held, settled: answered }, 'approve').kind).toBe('already');
    expect(settleVerdict({ ...held, settled: answered }, 'reject').kind).toBe('conflict');
  });

  it('the timeout settles with the group\'s action, saying so', () => {
    expect(timeoutSettlement(held, held.until)).toMatchObject({ action: 'reject', cause: 'timeout', by: 'deploy-guard (hold timeout)' });
  });

  it('labels: a rejected hold (or one stopped while its timeout rejects) is counterfactual; an approved one is observed', () => {
    expect(labelOutcome('STOP', undefined, { hold: { ...held, settled: { action: 'reject', ...by } } }).label).toBe('counterfactual');
    expect(labelOutcome('FAILURE', undefined, { hold: { ...held, platform: 'ECS', settled: { action: 'reject', ...by } } }).label).toBe('counterfactual');
    expect(labelOutcome('STOP', undefined, { hold: held }).label).toBe('counterfactual');
    expect(labelOutcome('FAILURE', undefined, { hold: { ...held, settled: { action: 'approve', ...by } } }).label).toBe('failed');
    expect(labelOutcome('SUCCESS', undefined, { hold: { ...held, settled: { action: 'approve', ...by } } }).label).toBe('succeeded');
    expect(labelOutcome('STOP', undefined, { hold: { ...held, onTimeout: 'approve' } }).label).toBe('failed');
    expect(heldStopLabel(undefined)).toBeUndefined();
  });
});

describe('when the hold timeouts next have work with a listed hold (timeoutDue)', () => {
  it('an open hold: at its timeout, when it expires and not a millisecond before', () => {
    expect(timeoutDue(held)).toBe(held.until);
    expect(isExpired(held, timeoutDue(held) - 1)).toBe(false);
    expect(isExpired(held, timeoutDue(held))).toBe(true);
  });

  it('a settled hold, or one gone: at once (its listing is closed)', () => {
    expect(timeoutDue({ ...held, settled: timeoutSettlement(held, held.until) })).toBe(Number.NEGATIVE_INFINITY);
    expect(timeoutDue(undefined)).toBe(Number.NEGATIVE_INFINITY);
  });
});
