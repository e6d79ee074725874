import { upperQuantile } from '../model/block-budget';
import type { BakeSettings, GroupPolicy } from './config';
import { ROLLBACK_FAILURE_REASONS, type EmittedDetail, type RollbackFailureReason } from '../events/emitted';
import { errorText, retryWaitAfter } from './codedeploy-errors';
import type { AssessmentRecord, BakeAnnouncementClaim, BakeBook, BakeRecord, CodeDeployOutcome, CodeDeployRefusal, WatchedAlarm, WatchTier } from './ports';

/**
 * The bake tier, as pure functions: which deployments are watched after their traffic moves, the
 * book of open bakes (opened, their window started by the AfterAllowTraffic hook on ECS / Lambda, an
 * alarm's state change, the sweep that closes finished bakes) and what CodeDeploy is asked at the end.
 * Every change is a claim: the invocation that moves a bake to `rolling-back` or `passing` holds its
 * token and is the only one to act, so a deployment is rolled back at most once. No I/O, no clock.
 */

/** The bake function's timeout (its declaration's): an invocation still running is at most this old. */
export const BAKE_TIMEOUT_SECONDS = 30;

/**
 * How long a claim without an outcome holds: the function's timeout and 15 s, so that an invocation
 * still running keeps its claim, and less than Lambda's first retry (a minute). The sweep takes over a
 * rollback's claim past it; an announcement's claim past it is taken over by the next invocation.
 */
export const BAKE_CLAIM_LEASE_MS = (BAKE_TIMEOUT_SECONDS + 15) * 1000;

/**
 * The bake tier's cut: the group's fixed bake threshold, or the (1 − (blockBudget + tierBudget))
 * quantile of the recent scores the stop cut was taken from, so that about tierBudget of the group's
 * deployments fall between the two cuts. No stop cut (no score yet): no bake cut either.
 */
export function bakeCutOf(bake: BakeSettings, stop: { readonly cut: number | null; readonly blockBudget: number | null }, scores: readonly number[], groupBudget: number): number | null {
  if (bake.threshold !== undefined) return bake.threshold;
  if (stop.cut === null || bake.tierBudget === undefined) return null;
  // Rounded: 0.1 + 0.2 is 0.30000000000000004 in binary, which would take one score too many.
  const share = Math.min(1, Number(((stop.blockBudget ?? groupBudget) + bake.tierBudget).toFixed(9)));
  const cut = upperQuantile(scores, share);
  return cut === undefined ? null : Math.min(cut, stop.cut);
}

/**
 * How hard a deployment is watched: `stop` when it is rolled back; `bake` when it proceeds with a
 * probability at or above the bake cut (an explored would-be stop included: it is among the riskiest);
 * otherwise `none`. A deployment without a probability (the failure policy decided) is not baked.
 */
export function watchTier(decision: 'proceed' | 'rollback', probability: number | null, bakeCut: number | null): WatchTier {
  if (decision === 'rollback') return 'stop';
  if (probability === null || bakeCut === null) return 'none';
  return Math.fround(probability) >= Math.fround(bakeCut) ? 'bake' : 'none';
}

/** Whether an assessment starts a bake: it is in the bake tier, enforced (not shadow, not finished) and the group has alarms to watch. */
export function startsBake(assessment: Pick<AssessmentRecord, 'tier' | 'enforced' | 'bake' | 'decision'>): boolean {
  return assessment.tier === 'bake' && assessment.enforced && assessment.decision === 'proceed' && assessment.bake !== undefined;
}

/**
 * The bake an assessment opens. EC2/on-premises: the window starts as the deployment is assessed (at
 * READY in gate mode, just before ContinueDeployment moves the traffic); the group keeps its original
 * fleet at least as long (terminateBlueAfterMinutes ≥ minutes), so StopDeployment can roll back to it.
 * ECS / Lambda: the window starts with the AfterAllowTraffic hook (hookInvoked).
 */
export function bakeOf(assessment: AssessmentRecord, policy: Pick<GroupPolicy, 'alarmNames'>, at: number): BakeRecord {
  const minutes = assessment.bake?.minutes ?? 0;
  return {
    deploymentId: assessment.deploymentId,
    application: assessment.application,
    deploymentGroup: assessment.deploymentGroup,
    platform: assessment.platform,
    mode: assessment.mode,
    alarmNames: [...(policy.alarmNames ?? [])],
    minutes,
    openedAt: at,
    endsAt: assessment.platform === 'Server' ? assessment.assessedAt + minutes * 60_000 : null,
    state: 'baking',
  };
}

export const EMPTY_BOOK: BakeBook = { open: [], alarms: {} };

/** The book with the bake opened (unchanged when it is open already). */
export function openBake(book: BakeBook, bake: BakeRecord): BakeBook {
  if (book.open.some((open) => open.deploymentId === bake.deploymentId)) return book;
  return { ...book, open: [...book.open, bake] };
}

/** What a traffic-hook invocation is, for a deployment with an open bake. */
export type HookRole = { readonly role: 'before' } | { readonly role: 'after'; readonly endsAt: number } | { readonly role: 'not-baking' };

/**
 * A hook invocation of a baking ECS / Lambda deployment. The invocation names no lifecycle event, so
 * the order tells: the first execution seen is BeforeAllowTraffic, another one is AfterAllowTraffic,
 * which starts the window (its status is reported when the bake ends). A repeated execution id is
 * the same hook again.
 */
export function hookInvoked(book: BakeBook, deploymentId: string, hookExecutionId: string, at: number): { readonly book: BakeBook; readonly role: HookRole } {
  const bake = book.open.find((open) => open.deploymentId === deploymentId);
  if (!bake || bake.platform === 'Server') return { book, role: { role: 'not-baking' } };
  if (bake.hookExecutionId === hookExecutionId && bake.endsAt !== null) return { book, role: { role: 'after', endsAt: bake.endsAt } };
  if (bake.firstHookExecutionId === undefined) return { book: replace(book, { ...bake, firstHookExecutionId: hookExecutionId }), role: { role: 'before' } };
  if (bake.firstHookExecutionId === hookExecutionId) return { book, role: { role: 'before' } };
  if (bake.hookExecutionId !== undefined) return { book, role: { role: 'not-baking' } };
  const endsAt = at + bake.minutes * 60_000;
  return { book: replace(book, { ...bake, hookExecutionId, endsAt }), role: { role: 'after', endsAt } };
}

/**
 * The traffic hook's step for a deployment predict put in the bake tier (ECS / Lambda): the bake is
 * opened here as well, since the hook may run before the bake handler gets the assessment's event,
 * then the invocation's role is told (hookInvoked). `opening` is undefined when the bake is closed
 * already: a closed bake is never opened again.
 */
export function hookStep(book: BakeBook, opening: BakeRecord | undefined, deploymentId: string, hookExecutionId: string, at: number): { readonly book: BakeBook; readonly role: HookRole } {
  return hookInvoked(opening ? openBake(book, opening) : book, deploymentId, hookExecutionId, at);
}

/**
 * An alarm's state change: its state is kept (a late event does not overwrite a newer state), and an
 * ALARM claims every open, unclaimed bake that watches it and whose window has not ended.
 */
export function alarmChanged(book: BakeBook, change: { readonly alarmName: string; readonly state: WatchedAlarm }, token: string, now: number): { readonly book: BakeBook; readonly claimed: readonly BakeRecord[] } {
  const known = book.alarms[change.alarmName];
  if (known && known.at > change.state.at) return { book, claimed: [] };
  let next: BakeBook = { ...book, alarms: { ...book.alarms, [change.alarmName]: change.state } };
  if (change.state.value !== 'ALARM') return { book: next, claimed: [] };
  const claimed: BakeRecord[] = [];
  for (const bake of next.open) {
    if (bake.state !== 'baking' || !bake.alarmNames.includes(change.alarmName)) continue;
    if (bake.endsAt !== null && change.state.at > bake.endsAt) continue;
    const rolling: BakeRecord = { ...bake, state: 'rolling-back', claim: { token, at: now }, alarmName: change.alarmName };
    next = replace(next, rolling);
    claimed.push(rolling);
  }
  return { book: next, claimed };
}

/**
 * The sweep (the one-minute schedule): a baking deployment one of whose alarms is in ALARM is rolled
 * back (its state-change event may have been lost, or came before the bake opened); one whose window
 * has ended passes; a claim left without an outcome past its lease is taken over.
 */
export function sweep(book: BakeBook, now: number, token: string): { readonly book: BakeBook; readonly claimed: readonly BakeRecord[] } {
  let next = book;
  const claimed: BakeRecord[] = [];
  for (const bake of book.open) {
    let moved: BakeRecord | undefined;
    if (bake.state === 'baking') {
      const alarming = bake.alarmNames.find((name) => book.alarms[name]?.value === 'ALARM');
      if (alarming) moved = { ...bake, state: 'rolling-back', claim: { token, at: now }, alarmName: alarming };
      else if (bake.endsAt !== null && now >= bake.endsAt) moved = { ...bake, state: 'passing', claim: { token, at: now } };
    } else if ((bake.state === 'rolling-back' || bake.state === 'passing') && bake.claim && now >= bake.claim.at + BAKE_CLAIM_LEASE_MS) {
      moved = { ...bake, claim: { token, at: now } };
    }
    if (!moved) continue;
    next = replace(next, moved);
    claimed.push(moved);
  }
  return { book: next, claimed };
}

/**
 * When the sweep next has something to do with the book: at once for a baking deployment one of
 * whose alarms is in ALARM, at a window's end, at a claim's lease end; undefined while every open
 * bake waits for something else (an ECS / Lambda deployment whose traffic has not moved). Before that
 * time `sweep` claims nothing.
 */
export function sweepDue(book: BakeBook): number | undefined {
  const times = book.open.flatMap((bake): number[] => {
    if (bake.state === 'baking') {
      if (bake.alarmNames.some((name) => book.alarms[name]?.value === 'ALARM')) return [Number.NEGATIVE_INFINITY];
      return bake.endsAt === null ? [] : [bake.endsAt];
    }
    return (bake.state === 'rolling-back' || bake.state === 'passing') && bake.claim ? [bake.claim.at + BAKE_CLAIM_LEASE_MS] : [];
  });
  return times.length === 0 ? undefined : Math.min(...times);
}

/** What CodeDeploy is asked for a claimed bake. */
export type BakeAction =
  | { readonly kind: 'stop' }
  | { readonly kind: 'fail-hook'; readonly hookExecutionId: string }
  | { readonly kind: 'succeed-hook'; readonly hookExecutionId: string }
  | { readonly kind: 'nothing' };

/**
 * Rolling back: the AfterAllowTraffic hook reported Failed when the deployment waits on it (ECS,
 * Lambda), else StopDeployment with auto-rollback (EC2 while the original fleet is kept, or an ECS /
 * Lambda deployment whose traffic has not moved yet). Passing: the hook reported Succeeded; an EC2
 * deployment goes on by itself.
 */
export function bakeAction(bake: BakeRecord): BakeAction {
  if (bake.state === 'rolling-back') return bake.hookExecutionId ? { kind: 'fail-hook', hookExecutionId: bake.hookExecutionId } : { kind: 'stop' };
  if (bake.state === 'passing' && bake.hookExecutionId) return { kind: 'succeed-hook', hookExecutionId: bake.hookExecutionId };
  return { kind: 'nothing' };
}

/**
 * Refusals of a rollback that say it is done already: the deployment is stopped (the claim's own
 * StopDeployment, applied before the function died, or CodeDeploy's own alarm rollback) or its
 * AfterAllowTraffic hook answered (bake alone answers it; or its timeout failed the deployment).
 */
const ROLLED_BACK_ALREADY: readonly CodeDeployRefusal[] = ['DeploymentAlreadyStopped', 'HookExpired'];

/**
 * What a claimed bake got from CodeDeploy: its outcome (done, or a refusal), or, for a rollback, the
 * error its call failed with once the bake gave up on it (afterCodeDeployError).
 */
export type BakeAnswer = CodeDeployOutcome | { readonly ok: false; readonly error: string };

/**
 * What the bake does when CodeDeploy's call for a claimed bake threw an error that is not a refusal,
 * on attempt `attempt` (from 1). As the rollback handler does (codedeploy-errors.ts): wait and try
 * again while CodeDeploy throttles, up to THROTTLED_ATTEMPTS. Then a rollback gives up: the bake is
 * closed `not-done` with the error and announced (Deployment Rollback Failed, reason Error), since the
 * alarmed deployment runs on and a person must act; thrown, Lambda's retries and the sweep would take
 * the claim over again and again and nobody would be told. A pass rethrows for Lambda and the sweep to
 * retry: given up, its AfterAllowTraffic hook would go unanswered and CodeDeploy would fail a
 * deployment that passed; CodeDeploy bounds it (after its hour the hook answers HookExpired: not-done).
 */
export type AfterCodeDeployError = { readonly kind: 'wait'; readonly ms: number } | { readonly kind: 'give-up'; readonly error: string } | { readonly kind: 'rethrow' };

export function afterCodeDeployError(bake: Pick<BakeRecord, 'state'>, error: unknown, attempt: number): AfterCodeDeployError {
  const wait = retryWaitAfter(error, attempt);
  if (wait !== undefined) return { kind: 'wait', ms: wait };
  return bake.state === 'rolling-back' ? { kind: 'give-up', error: errorText(error) } : { kind: 'rethrow' };
}

/**
 * The closed bake, as CodeDeploy answered (refused: `not-done`, with its answer, unless the refusal
 * says the rollback is done; a rollback given up on an error: `not-done`, with the error).
 */
export function closedBake(bake: BakeRecord, answer: BakeAnswer, at: number): BakeRecord {
  const rollingBack = bake.state === 'rolling-back';
  if (answer.ok) return { ...bake, state: rollingBack ? 'rolled-back' : 'passed', closedAt: at };
  if ('error' in answer) return { ...bake, state: 'not-done', closedAt: at, error: answer.error };
  const refused = { closedAt: at, refusal: answer.refusal, message: answer.message };
  if (rollingBack && ROLLED_BACK_ALREADY.includes(answer.refusal)) return { ...bake, state: 'rolled-back', ...refused };
  return { ...bake, state: 'not-done', ...refused };
}

/**
 * What a closed bake announces on Deploy Guard's bus: a pass (Deployment Bake Passed), a rollback on
 * an alarm (Deployment Bake Rolled Back), or a rollback on an alarm that CodeDeploy refused or that
 * failed with an error (Deployment Rollback Failed, with the bake: the deployment was not rolled
 * back, and on-call must know). A pass CodeDeploy refused (its hook expired first) and a bake whose
 * deployment ended by other means announce nothing; nor does a bake announced already.
 */
export type BakeAnnouncement =
  | { readonly kind: 'Deployment Bake Passed'; readonly detail: EmittedDetail<'Deployment Bake Passed'> }
  | { readonly kind: 'Deployment Bake Rolled Back'; readonly detail: EmittedDetail<'Deployment Bake Rolled Back'> }
  | { readonly kind: 'Deployment Rollback Failed'; readonly detail: EmittedDetail<'Deployment Rollback Failed'> };

/** The announcement of a closed bake not yet announced (undefined when there is nothing, or nothing more, to tell). */
export function bakeAnnouncement(record: BakeRecord): BakeAnnouncement | undefined {
  if (record.announcedAt !== undefined || record.closedAt === undefined) return undefined;
  if (record.state === 'passed') return passAnnouncement(record, record.closedAt);
  // Only a rollback has an alarm: a bake moves to rolling-back with the alarm that asked for it.
  if (!record.alarmName) return undefined;
  const ref = { deploymentId: record.deploymentId, application: record.application, deploymentGroup: record.deploymentGroup };
  const action = rollbackActionOf(record);
  if (record.state === 'rolled-back') {
    return {
      kind: 'Deployment Bake Rolled Back',
      detail: {
        schemaVersion: '1',
        ...ref,
        platform: record.platform,
        alarmName: record.alarmName,
        action,
        bakeMinutes: record.minutes,
        bakeOpenedAt: new Date(record.openedAt).toISOString(),
        rolledBackAt: new Date(record.closedAt).toISOString(),
      },
    };
  }
  if (record.state !== 'not-done') return undefined;
  return {
    kind: 'Deployment Rollback Failed',
    detail: {
      schemaVersion: '1',
      ...ref,
      reason: record.error ? 'Error' : rollbackFailureReason(record.refusal),
      message: record.error || record.message || `CodeDeploy refused ${action} for ${record.deploymentId}`,
      failedAt: new Date(record.closedAt).toISOString(),
      bake: { platform: record.platform, alarmName: record.alarmName, action, minutes: record.minutes, openedAt: new Date(record.openedAt).toISOString() },
    },
  };
}

function passAnnouncement(record: BakeRecord, passedAt: number): BakeAnnouncement {
  return {
    kind: 'Deployment Bake Passed',
    detail: {
      schemaVersion: '1',
      deploymentId: record.deploymentId,
      application: record.application,
      deploymentGroup: record.deploymentGroup,
      platform: record.platform,
      alarmNames: [...record.alarmNames],
      action: bakeAction({ ...record, state: 'passing' }).kind === 'succeed-hook' ? 'LifecycleHookSucceeded' : 'None',
      bakeMinutes: record.minutes,
      bakeOpenedAt: new Date(record.openedAt).toISOString(),
      passedAt: new Date(passedAt).toISOString(),
    },
  };
}

/** How the bake's rollback was asked of CodeDeploy: its AfterAllowTraffic hook Failed (ECS / Lambda, traffic moved), else StopDeployment. */
function rollbackActionOf(record: BakeRecord): 'StopDeployment' | 'LifecycleHookFailed' {
  return bakeAction({ ...record, state: 'rolling-back' }).kind === 'fail-hook' ? 'LifecycleHookFailed' : 'StopDeployment';
}

/** CodeDeploy's refusal as a Deployment Rollback Failed reason (one the event does not name, or none kept by an earlier release: Error). */
function rollbackFailureReason(refusal: CodeDeployRefusal | undefined): RollbackFailureReason {
  return refusal !== undefined && (ROLLBACK_FAILURE_REASONS as readonly string[]).includes(refusal) ? (refusal as RollbackFailureReason) : 'Error';
}

/**
 * What an invocation does with the announcement of a kept closed bake (BakeStore.claimAnnouncement),
 * given the bake as read, the invocation's token (its event id and the invocation: two deliveries of
 * one event running at once have different tokens), the time and the lease:
 * - `claim`: it claims and publishes: `open` (no claim yet), `own` (its own claim: it lost the answer
 *   of its claim), `takeover` (another invocation's claim, older than the lease: that invocation
 *   died between its claim and the mark, so it may have published already: at least once, rather
 *   than never told);
 * - `announced`: the bake was announced; nothing more is published;
 * - `held`: another invocation's claim, younger than the lease, is being announced (two deliveries
 *   of one event, or an alarm and the sweep, at the same moment); this one publishes nothing and
 *   fails, so that Lambda retries it later, when it finds the bake announced or the claim past its lease.
 */
export type AnnouncementClaimDecision =
  | { readonly kind: 'claim'; readonly way: 'open' | 'own' | 'takeover'; readonly expected: BakeAnnouncementClaim | null }
  | { readonly kind: 'announced' }
  | { readonly kind: 'held'; readonly claim: BakeAnnouncementClaim };

export function announcementClaimDecision(kept: Pick<BakeRecord, 'announcedAt' | 'announcing'>, token: string, now: number, leaseMs: number = BAKE_CLAIM_LEASE_MS): AnnouncementClaimDecision {
  if (kept.announcedAt !== undefined) return { kind: 'announced' };
  const claim = kept.announcing;
  if (!claim) return { kind: 'claim', way: 'open', expected: null };
  const expected = { token: claim.token, at: claim.at };
  if (claim.token === token) return { kind: 'claim', way: 'own', expected };
  if (claim.at <= now - leaseMs) return { kind: 'claim', way: 'takeover', expected };
  return { kind: 'held', claim: expected };
}

/**
 * A baking deployment that failed or was stopped before its bake closed (CodeDeploy's final state,
 * not Deploy Guard's doing): its bake ends with nothing to roll back or pass, and nothing to announce.
 */
export function endedBake(bake: BakeRecord, at: number): BakeRecord {
  return { ...bake, state: 'ended', closedAt: at };
}

/** The book without the bake if it is still baking (not claimed: the claimer closes a claimed one itself). */
export function removeEnded(book: BakeBook, deploymentId: string): BakeBook {
  const bake = book.open.find((open) => open.deploymentId === deploymentId);
  if (!bake || bake.state !== 'baking') return book;
  return { ...book, open: book.open.filter((open) => open.deploymentId !== deploymentId) };
}

/** The book without the bake, if the claim is still the one given (another invocation may have taken it over). */
export function removeClosed(book: BakeBook, deploymentId: string, token: string): BakeBook {
  const bake = book.open.find((open) => open.deploymentId === deploymentId);
  if (!bake || bake.claim?.token !== token) return book;
  return { ...book, open: book.open.filter((open) => open.deploymentId !== deploymentId) };
}

/** Whether the claim on a bake is still this token's (a retry of the same event finishes its own claim). */
export function holdsClaim(book: BakeBook, deploymentId: string, token: string): BakeRecord | undefined {
  const bake = book.open.find((open) => open.deploymentId === deploymentId);
  return bake?.claim?.token === token && (bake.state === 'rolling-back' || bake.state === 'passing') ? bake : undefined;
}

/** The alarms the guarded groups' bakes watch (what the bake rule matches). */
export function watchedAlarmNames(groups: readonly Pick<GroupPolicy, 'alarmNames' | 'bake'>[]): string[] {
  return [...new Set(groups.filter((group) => group.bake).flatMap((group) => group.alarmNames ?? []))].sort();
}

function replace(book: BakeBook, bake: BakeRecord): BakeBook {
  return { ...book, open: book.open.map((open) => (open.deploymentId === bake.deploymentId ? bake : open)) };
}
