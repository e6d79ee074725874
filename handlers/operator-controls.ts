import { eventBridgeTime } from '../events/clock';
import { buildEntry, type PutEventsEntry } from '../events/emitted';
import type { Verdict } from './predict-domain';

/**
 * What an on-call engineer may set against Deploy Guard's decisions, as pure functions: an override
 * that lets one release (a deployment and the retries of its revision) through, and a pause that
 * turns enforcement off for a group for a bounded time. Both are single items of the control table
 * (handlers/tables.ts CONTROL_KEYS), written by `deploy-guard override` / `deploy-guard pause` with
 * the operator's credentials, and read by predict and the traffic hook. No I/O, no clock: times
 * are passed in.
 */

/** Who set it, when, why, and until when (epoch milliseconds). */
export interface OperatorGrant {
  /** The caller's identity (STS GetCallerIdentity's ARN). */
  readonly by: string;
  readonly reason: string;
  readonly at: number;
  /** It applies to deployments assessed before this time, never after. */
  readonly until: number;
}

/** Lets a release through: deployments of `application` whose revision key is `revision`. */
export interface DeploymentOverride extends OperatorGrant {
  readonly application: string;
  /** The revision key predict computes (events/emitted.ts revisionKey), or `deployment:<id>` for a deployment without a revision. */
  readonly revision: string;
  /** The deployment the operator named, when it was named by deployment (its retries share its revision). */
  readonly deploymentId?: string;
}

/** Turns enforcement off for one group. */
export interface GroupPause extends OperatorGrant {
  readonly application: string;
  readonly deploymentGroup: string;
  /** Set when an operator lifted the pause before its time (`until` then is the moment it was lifted). */
  readonly resumed?: { readonly by: string; readonly at: number; readonly reason: string };
}

/** What let a deployment through, as the assessment records and announces it. */
export interface AppliedOverride extends OperatorGrant {
  readonly kind: 'override' | 'pause';
}

/** How long an override holds unless the operator says (`--until`). */
export const DEFAULT_OVERRIDE_MS = 24 * 3_600_000;
/** The longest an override or a pause may hold: Deploy Guard is never off for long by accident. */
export const MAXIMUM_GRANT_MS = 7 * 24 * 3_600_000;
/** Items stay this long after they end (DynamoDB TTL), so that `decisions` and an audit can still read who set them. */
export const GRANT_RETENTION_MS = 30 * 24 * 3_600_000;

/** The revision key an override of a deployment without a revision is keyed on. */
export function deploymentRevision(deploymentId: string): string {
  return `deployment:${deploymentId}`;
}

/** Whether a grant holds at `now`: it was set at or before now and ends after it. */
export function isActive(grant: OperatorGrant | undefined, now: number): boolean {
  return grant !== undefined && grant.at <= now && now < grant.until;
}

/**
 * What lets a deployment assessed at `now` through, if anything: an active override of its release
 * first (the more specific), else an active pause of its group.
 */
export function applicableOverride(found: { readonly overrides: readonly (DeploymentOverride | undefined)[]; readonly pause: GroupPause | undefined }, now: number): AppliedOverride | undefined {
  const override = found.overrides.find((candidate) => isActive(candidate, now));
  if (override) return { kind: 'override', by: override.by, reason: override.reason, at: override.at, until: override.until };
  const pause = found.pause;
  if (pause && isActive(pause, now)) return { kind: 'pause', by: pause.by, reason: pause.reason, at: pause.at, until: pause.until };
  return undefined;
}

/** The revision keys an override of this deployment may be stored under: its revision's, and its own id's. */
export function overrideKeysOf(deployment: { readonly deploymentId: string; readonly revision?: string }): string[] {
  return [...(deployment.revision ? [deployment.revision] : []), deploymentRevision(deployment.deploymentId)];
}

/**
 * A verdict that would stop a deployment, let through by an operator: not enforced (nothing acts on
 * it, and its outcome is observed), the model's decision kept as it was for the quality metrics.
 * The propensity is 1: a person chose, not a draw.
 */
export function overriddenVerdict(verdict: Verdict, applied: AppliedOverride): Verdict & { readonly override: AppliedOverride } {
  return { ...verdict, enforced: false, propensity: 1, override: applied };
}

/** Whether a verdict is one an override changes: an enforced stop. */
export function wouldStop(verdict: Pick<Verdict, 'decision' | 'enforced'>): boolean {
  return verdict.decision === 'rollback' && verdict.enforced;
}

/** An override or pause in words: "overridden by arn:… until 2026-12-01T11:00:00.000Z: hotfix for INC-42". */
export function overrideWords(applied: AppliedOverride): string {
  return `${applied.kind === 'override' ? 'overridden' : 'group paused'} by ${applied.by} until ${new Date(applied.until).toISOString()}: ${applied.reason}`;
}

/** Why an operator's request is refused: the option at fault and what was wrong with it. */
export class OperatorInputError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = 'OperatorInputError';
  }
}

/** The longest reason a person may give, in characters. */
export const MAX_REASON_CHARS = 500;

/** A required reason: something a person can read later, not blank. */
export function checkReason(reason: string | undefined): string {
  const text = reason?.trim() ?? '';
  if (text.length === 0) throw new OperatorInputError('--reason', 'say why (it is recorded and announced with who set it and when)');
  if (text.length > MAX_REASON_CHARS) throw new OperatorInputError('--reason', `at most ${MAX_REASON_CHARS} characters, got ${text.length}`);
  return text;
}

/** An end time after now and within MAXIMUM_GRANT_MS of it. */
export function checkUntil(until: number, now: number, option: string): number {
  if (!(until > now)) throw new OperatorInputError(option, `${new Date(until).toISOString()} is not in the future (it is now ${new Date(now).toISOString()})`);
  if (until - now > MAXIMUM_GRANT_MS) throw new OperatorInputError(option, `at most ${MAXIMUM_GRANT_MS / 86_400_000} days ahead, got ${new Date(until).toISOString()}`);
  return until;
}

/** The DynamoDB TTL (epoch seconds) of a grant's item: GRANT_RETENTION_MS after it ends. */
export function grantExpiry(grant: Pick<OperatorGrant, 'until'>): number {
  return Math.floor((grant.until + GRANT_RETENTION_MS) / 1000);
}

/** A pause lifted now: it ends now, and says who lifted it and why. */
export function resumedPause(pause: GroupPause, resumed: { readonly by: string; readonly at: number; readonly reason: string }): GroupPause {
  if (!isActive(pause, resumed.at)) throw new OperatorInputError('--group', `${pause.application}/${pause.deploymentGroup} is not paused (its last pause ended ${new Date(pause.until).toISOString()})`);
  return { ...pause, until: resumed.at, resumed };
}

/** The Operator Override announcement of an override, a pause or a resume (events/emitted.ts), as PutEvents takes it. */
export function operatorAnnouncement(
  change: { readonly action: 'override'; readonly grant: DeploymentOverride } | { readonly action: 'pause' | 'resume'; readonly grant: GroupPause },
  context: { readonly source: string; readonly eventBusName: string },
): PutEventsEntry {
  const { grant } = change;
  const resumed = change.action === 'resume' ? change.grant.resumed : undefined;
  if (change.action === 'resume' && !resumed) throw new Error(`the pause of ${change.grant.application}/${change.grant.deploymentGroup} was not resumed`);
  const at = resumed ?? grant;
  const detail = {
    schemaVersion: '1' as const,
    action: change.action,
    application: grant.application,
    ...(change.action === 'override'
      ? { revision: change.grant.revision, ...(change.grant.deploymentId ? { deploymentId: change.grant.deploymentId } : {}) }
      : { deploymentGroup: change.grant.deploymentGroup }),
    by: at.by,
    reason: at.reason,
    at: eventBridgeTime(at.at),
    until: eventBridgeTime(grant.until),
  };
  return buildEntry('Operator Override', detail, { ...context, time: new Date(at.at) });
}
