import { shadowDigestRule } from '../events/patterns';
import { ratePeriodMs } from '../events/schedule';
import { GRADUATION_CRITERIA, type GraduationVerdict } from '../model/graduation';
import { productionGroupReport, REPORT_WINDOW_DAYS, wouldBeStop, type ReportedGroup } from '../model/production-report';
import { budgetWords, riskAgainstCut } from './decision-words';
import { SHADOW_DIGEST_KIND, type MessageContext, type MessageSection, type Notification } from './notify-domain';
import type { DeploymentItem, OutcomeLabel, ShadowDigestClaim } from './ports';

/**
 * The daily digest of shadow decisions: in shadow mode Deploy Guard stops nothing and tells no
 * decision one by one; once a day one message says, per shadow group, what it would have done in the
 * last day (would-be stops with their risk against the cut and top factor, how many of them failed
 * since), and whether the group meets the criteria for stop mode. One message per installation, not
 * per group: the people who read it are the installation's subscribers, and one daily e-mail is read
 * where five are filtered. Pure: handlers/shadow-digest.ts reads the assessments and publishes.
 */

/** The day a digest covers, in milliseconds: the period of its schedule. */
export const DIGEST_WINDOW_MS = ratePeriodMs(shadowDigestRule().scheduleExpression);
/** Graduation is judged on this many days, as `deploy-guard report` judges it by default. */
export const GRADUATION_WINDOW_MS = REPORT_WINDOW_DAYS * DIGEST_WINDOW_MS;
/** At most this many assessments of a group are read for its digest and graduation (the newest). */
export const DIGEST_READ_LIMIT = 10_000;
/** At most this many would-be stops of a group are listed; `deploy-guard decisions` lists them all. */
export const MAX_LISTED_STOPS = 20;
/**
 * How long a day's claim is kept (DynamoDB TTL after the day's end): the month graduation is judged
 * on, far past any redelivery (EventBridge retries a delivery for an hour, Lambda keeps an
 * asynchronous event six hours at most).
 */
export const DIGEST_CLAIM_RETENTION_MS = GRADUATION_WINDOW_MS;

export interface DigestWindow {
  /** Epoch milliseconds, inclusive. */
  readonly from: number;
  /** Epoch milliseconds, exclusive: when the schedule fired. */
  readonly to: number;
}

/** A deployment the group would have stopped (or held) had it been enforcing. */
export interface WouldBeStop {
  readonly deploymentId: string;
  /** `0.620 ≥ 0.310`, as the other messages say it. */
  readonly risk: string;
  readonly topFactor?: string;
  /** The outcome as recorded, or pending. */
  readonly outcome: OutcomeLabel | 'pending';
}

/** One shadow group's day. */
export interface GroupDigest {
  readonly group: string;
  readonly blockBudget: number | null;
  /** Shadow-mode assessments in the window. */
  readonly assessed: number;
  /** Newest first. */
  readonly wouldStop: readonly WouldBeStop[];
  /** Of the would-be stops, those the group would have held for a person (onRisk hold) rather than stopped. */
  readonly wouldHold: number;
  /** Deployments it would have watched through a bake window after their traffic moved. */
  readonly wouldBake: number;
  readonly failedSinceStop: number;
  /** Judged on the last GRADUATION_WINDOW_MS; undefined when the group was not in shadow mode throughout. */
  readonly graduation?: GraduationVerdict;
  /** Whether the read stopped at DIGEST_READ_LIMIT (the newest were read). */
  readonly truncated: boolean;
}

/** The group's day from its assessments since the graduation window began (newest first, as recentAssessments returns them). */
export function groupDigest(group: ReportedGroup, items: readonly DeploymentItem[], window: DigestWindow): GroupDigest {
  const day = items.filter(({ assessment }) => assessment && assessment.mode === 'shadow' && assessment.assessedAt >= window.from && assessment.assessedAt < window.to);
  const stops = day.filter(({ assessment }) => wouldBeStop(assessment!));
  const budgets = new Set(day.map(({ assessment }) => assessment!.blockBudget));
  const report = productionGroupReport(group, items);
  return {
    group: `${group.application}/${group.deploymentGroup}`,
    blockBudget: budgets.size === 1 ? [...budgets][0]! : null,
    assessed: day.length,
    wouldStop: stops.map(wouldBeStopOf),
    wouldHold: stops.filter(({ assessment }) => assessment!.onRisk === 'hold').length,
    wouldBake: day.filter(({ assessment }) => assessment!.tier === 'bake').length,
    failedSinceStop: stops.filter(({ outcome }) => outcome?.label === 'failed').length,
    ...(report.graduation ? { graduation: report.graduation } : {}),
    truncated: items.length >= DIGEST_READ_LIMIT,
  };
}

function wouldBeStopOf({ deploymentId, assessment, outcome }: DeploymentItem): WouldBeStop {
  const topFactor = assessment!.topFactors?.[0]?.text;
  return { deploymentId, risk: riskAgainstCut(assessment!.probability, assessment!.cut), ...(topFactor ? { topFactor } : {}), outcome: outcome?.label ?? 'pending' };
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
const iso = (at: number) => new Date(at).toISOString();

/** The digest's message, or undefined when no shadow group had a decision in the window (nothing is sent). */
export function shadowDigestNotification(groups: readonly GroupDigest[], window: DigestWindow, context: MessageContext & { readonly eventId: string }): Notification | undefined {
  const active = groups.filter((group) => group.assessed > 0);
  if (active.length === 0) return undefined;
  const assessed = active.reduce((sum, group) => sum + group.assessed, 0);
  const stops = active.reduce((sum, group) => sum + group.wouldStop.length, 0);
  const quiet = groups.filter((group) => group.assessed === 0).map((group) => group.group);
  return {
    detailType: SHADOW_DIGEST_KIND,
    eventId: context.eventId,
    title: `Deploy Guard shadow digest (${context.environment}): ${plural(stops, 'would-be stop')} in ${plural(assessed, 'deployment')}`,
    lead: `In shadow mode Deploy Guard stops nothing. This is what it would have done in the last day, in ${plural(active.length, 'shadow group')}.`,
    facts: [
      ['Window', `${iso(window.from)} to ${iso(window.to)}`],
      ['Assessed', String(assessed)],
      ['Would stop', String(stops)],
      ...(quiet.length > 0 ? [['No deployments', quiet.join(', ')] as [string, string]] : []),
    ],
    why: [],
    sections: active.map((group) => groupSection(group, window, context)),
    nextSteps: [{ text: `A shadow group is ready for stop mode with ${GRADUATION_CRITERIA}. Switch it by setting its mode to stop (or gate) in deploy-guard.config.json and deploying.` }],
    keywords: [context.environment, 'shadow', 'digest'],
  };
}

function groupSection(group: GroupDigest, window: DigestWindow, context: MessageContext): MessageSection {
  const title = `${group.group}: ${plural(group.assessed, 'deployment')} assessed, ${plural(group.wouldStop.length, 'would-be stop')} (budget ${budgetWords(group.blockBudget)}), ${group.failedSinceStop} of them failed since`;
  const listed = group.wouldStop.slice(0, MAX_LISTED_STOPS).map((stop) => `would stop ${stop.deploymentId}: risk ${stop.risk}; ${stop.topFactor ? `top factor: ${stop.topFactor}` : 'no top factor'}; outcome ${stop.outcome}`);
  const more = group.wouldStop.length - listed.length;
  return {
    title,
    lines: [
      ...listed,
      ...(more > 0 ? [`and ${more} more would-be stops`] : []),
      ...(group.wouldHold > 0 ? [`${plural(group.wouldHold, 'would-be stop')} of these would have been held for a person (onRisk hold), not stopped`] : []),
      ...(group.wouldBake > 0 ? [`${plural(group.wouldBake, 'deployment')} would have been baked (watched after traffic moved)`] : []),
      graduationWords(group),
      `Every decision: deploy-guard decisions --environment ${context.environment} --group ${group.group} --since ${iso(window.from)}`,
      `Compared with the backtest: deploy-guard report --environment ${context.environment} --group ${group.group}`,
    ],
  };
}

function graduationWords(group: GroupDigest): string {
  const scope = `last ${REPORT_WINDOW_DAYS} days${group.truncated ? `, the newest ${DIGEST_READ_LIMIT} deployments` : ''}`;
  if (!group.graduation) return `Stop mode (${scope}): not judged, the group was not in shadow mode throughout`;
  return group.graduation.meets ? `Stop mode (${scope}): meets the criteria` : `Stop mode (${scope}): not yet: ${group.graduation.unmet.join('; ')}`;
}

/**
 * What a delivery of the schedule's event does with the day's claim (ShadowDigestStore), given the
 * claim as read, the delivery's token (its event id), the time and the lease:
 * - `claim`: it takes the claim and publishes: `open` (no claim yet), `own` (its own claim without
 *   "sent": Lambda retrying this very event after the attempt that claimed crashed or lost SNS's
 *   answer, whatever the lease), `takeover` (another event's claim without "sent", older than the
 *   lease: its delivery died). The digest may then have been published already: at least once,
 *   rather than a day never told;
 * - `sent`: the day was told; the delivery is a duplicate;
 * - `held`: another event's claim, younger than the lease, is still being sent; the delivery fails so
 *   that Lambda retries it later, when it finds the day sent or the claim past its lease.
 */
export type DigestClaimDecision =
  | { readonly kind: 'claim'; readonly way: 'open' | 'own' | 'takeover'; readonly expected: Pick<ShadowDigestClaim, 'token' | 'claimedAt'> | null }
  | { readonly kind: 'sent'; readonly claim: ShadowDigestClaim & Required<Pick<ShadowDigestClaim, 'sent'>> }
  | { readonly kind: 'held'; readonly claim: ShadowDigestClaim };

export function digestClaimDecision(stored: ShadowDigestClaim | undefined, token: string, now: number, leaseMs: number): DigestClaimDecision {
  if (!stored) return { kind: 'claim', way: 'open', expected: null };
  if (stored.sent) return { kind: 'sent', claim: { ...stored, sent: stored.sent } };
  const expected = { token: stored.token, claimedAt: stored.claimedAt };
  if (stored.token === token) return { kind: 'claim', way: 'own', expected };
  if (stored.claimedAt <= now - leaseMs) return { kind: 'claim', way: 'takeover', expected };
  return { kind: 'held', claim: stored };
}
