import { eventBridgeTime } from '../events/clock';
import { buildEntry, type ComputePlatform, type PutEventsEntry } from '../events/emitted';
import type { GroupPolicy } from './config';
import type { CodeDeployOutcome, CodeDeployPort } from './ports';

/**
 * Hold for a human, as pure functions. A gate group with `onRisk: hold` does not stop a risky
 * deployment: it holds it where CodeDeploy already waits (an EC2/on-premises blue/green deployment at
 * READY, an ECS or Lambda deployment in its BeforeAllowTraffic hook, left unanswered) until a person
 * runs `deploy-guard approve` or `deploy-guard reject`, or the hold's timeout decides
 * (`onHoldTimeout`). The hold is one control-table item (`hold#<deploymentId>`); its settlement is
 * written once (a conditional write), so an approve, a reject and the timeout cannot both act. No
 * I/O, no clock: times are passed in.
 */

export type HoldAction = 'approve' | 'reject';

/** How a group holds: how long, and what the timeout decides. */
export interface HoldPolicy {
  readonly timeoutMinutes: number;
  readonly onTimeout: HoldAction;
}

/** How long a hold waits when the configuration does not say. */
export const DEFAULT_HOLD_TIMEOUT_MINUTES = 30;
/** CodeDeploy gives a lifecycle hook at most an hour to answer: an ECS / Lambda hold can wait no longer. */
export const HOOK_HOLD_LIMIT_MINUTES = 60;
/**
 * Minutes a hold whose timeout approves must end before CodeDeploy stops waiting: the timeouts are
 * settled by a one-minute schedule, and the hook waited up to a minute for the assessment before it held.
 */
export const TIMEOUT_SETTLE_MARGIN_MINUTES = 2;

/** Who settled a hold: an operator (the ARN STS answered), or the hold's timeout. */
export interface HoldSettlement {
  readonly action: HoldAction;
  readonly by: string;
  readonly reason: string;
  readonly at: number;
  readonly cause: 'operator' | 'timeout';
  /** CodeDeploy's answer to the call the settlement made, once made. */
  readonly answer?: CodeDeployOutcome;
}

/** A deployment held for a person. */
export interface DeploymentHold {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  /** When the hold began (epoch milliseconds). */
  readonly since: number;
  /** When the timeout decides. */
  readonly until: number;
  readonly onTimeout: HoldAction;
  /** Why it is held: the assessment's rollback reason. */
  readonly reason: string;
  /** ECS / Lambda: the BeforeAllowTraffic hook execution left unanswered. */
  readonly hookExecutionId?: string;
  /**
   * A release held by the pipeline gate before any deployment exists: the CodePipeline job it
   * answered with a continuation token (the hold's id is gateHoldId of it). Nothing is called when it
   * is settled: the gate reads the settlement when CodePipeline invokes the action again.
   */
  readonly pipelineJobId?: string;
  readonly settled?: HoldSettlement;
}

/** The group's hold policy, or undefined when its risky deployments are stopped (the default, and every mode but gate). */
export function holdPolicyOf(policy: Pick<GroupPolicy, 'mode' | 'onRisk' | 'holdTimeoutMinutes' | 'onHoldTimeout'>): HoldPolicy | undefined {
  if (policy.mode !== 'gate' || policy.onRisk !== 'hold') return undefined;
  return { timeoutMinutes: policy.holdTimeoutMinutes ?? DEFAULT_HOLD_TIMEOUT_MINUTES, onTimeout: policy.onHoldTimeout ?? 'reject' };
}

/**
 * Why a group's hold settings do not fit where CodeDeploy waits, or undefined when they do. On Server
 * the hold must end within the READY wait (CodeDeploy stops the deployment when it ends: a reject in
 * effect); a timeout that approves must end TIMEOUT_SETTLE_MARGIN_MINUTES before it. On ECS / Lambda
 * the hook is answered within CodeDeploy's hour, by the same margin when the timeout approves.
 */
export function holdTimeoutIssue(platform: ComputePlatform, hold: HoldPolicy, readyWaitMinutes: number): string | undefined {
  const margin = hold.onTimeout === 'approve' ? TIMEOUT_SETTLE_MARGIN_MINUTES : 0;
  const [limit, what] =
    platform === 'Server'
      ? [readyWaitMinutes, `the group's READY wait (${readyWaitMinutes} minutes; CodeDeploy stops the deployment when it ends)`]
      : [HOOK_HOLD_LIMIT_MINUTES, `CodeDeploy's limit for a lifecycle hook (${HOOK_HOLD_LIMIT_MINUTES} minutes)`];
  if (hold.timeoutMinutes <= limit - margin) return undefined;
  const approving = margin > 0 ? `, less ${margin} minutes for the timeout to approve in time (it is settled by a one-minute schedule)` : '';
  return `expected at most ${limit - margin} minutes: a hold must end within ${what}${approving}; got ${hold.timeoutMinutes}`;
}

/** A new hold beginning at `since`. */
export function newHold(
  deployment: Pick<DeploymentHold, 'deploymentId' | 'application' | 'deploymentGroup' | 'platform' | 'reason'> & { readonly hookExecutionId?: string; readonly pipelineJobId?: string },
  policy: HoldPolicy,
  since: number,
): DeploymentHold {
  return { ...deployment, since, until: since + policy.timeoutMinutes * 60_000, onTimeout: policy.onTimeout };
}

/** Whether the hold's timeout has come and nobody settled it. */
export function isExpired(hold: DeploymentHold, now: number): boolean {
  return hold.settled === undefined && now >= hold.until;
}

/**
 * When the hold timeouts next have something to do with a hold listed as open: at once when it is
 * settled or gone (it is taken off the list), else at its timeout. Before that the run leaves it waiting.
 */
export function timeoutDue(hold: DeploymentHold | undefined): number {
  return hold && !hold.settled ? hold.until : Number.NEGATIVE_INFINITY;
}

/**
 * What a request to settle a hold does, given what the hold says: act (the first settlement), retry
 * the call of an earlier settlement of the same action whose call did not go through, or nothing
 * (already settled: the same action, or the other one).
 */
export type SettleVerdict =
  | { readonly kind: 'act' }
  | { readonly kind: 'retry'; readonly settled: HoldSettlement }
  | { readonly kind: 'already'; readonly settled: HoldSettlement }
  | { readonly kind: 'conflict'; readonly settled: HoldSettlement };

export function settleVerdict(hold: DeploymentHold, action: HoldAction): SettleVerdict {
  const settled = hold.settled;
  if (!settled) return { kind: 'act' };
  if (settled.action !== action) return { kind: 'conflict', settled };
  // No answer recorded: the call threw (CodeDeploy after the SDK's retries) or the process ended before it.
  if (!settled.answer) return { kind: 'retry', settled };
  return { kind: 'already', settled };
}

/** What the gate's next invocation does with a settled pipeline hold, as a settlement records its "call". */
export const PIPELINE_HOLD_API = 'none: the pipeline gate answers CodePipeline when it invokes the action again';

/**
 * The CodeDeploy call that carries a settlement out: where the deployment waits, let it go on or roll
 * it back. A pipeline hold calls nothing (no deployment exists; the gate answers its next job).
 */
export function settlementCall(hold: Pick<DeploymentHold, 'deploymentId' | 'platform' | 'hookExecutionId' | 'pipelineJobId'>, action: HoldAction): { readonly api: string; readonly call: (codeDeploy: CodeDeployPort) => Promise<CodeDeployOutcome> } {
  const { deploymentId, hookExecutionId } = hold;
  if (hold.pipelineJobId) return { api: PIPELINE_HOLD_API, call: async () => ({ ok: true }) };
  if (hold.platform !== 'Server') {
    if (!hookExecutionId) throw new Error(`the hold of ${deploymentId} (${hold.platform}) has no hook execution id to answer`);
    const status = action === 'approve' ? 'Succeeded' : 'Failed';
    return { api: `PutLifecycleEventHookExecutionStatus ${status}`, call: (codeDeploy) => codeDeploy.putLifecycleEventHookExecutionStatus(deploymentId, hookExecutionId, status) };
  }
  return action === 'approve'
    ? { api: 'ContinueDeployment (READY_WAIT)', call: (codeDeploy) => codeDeploy.continueDeployment(deploymentId) }
    : { api: 'StopDeployment (auto-rollback)', call: (codeDeploy) => codeDeploy.stopDeployment(deploymentId, { autoRollbackEnabled: true }) };
}

/** A settlement in words: "approved by arn:… at 2026-12-01T09:40:00.000Z: reviewed the migration". */
export function settlementWords(settled: HoldSettlement): string {
  const verb = settled.action === 'approve' ? 'approved' : 'rejected';
  const who = settled.cause === 'timeout' ? 'by the hold\'s timeout' : `by ${settled.by}`;
  return `${verb} ${who} at ${new Date(settled.at).toISOString()}: ${settled.reason}`;
}

/** Who the timeout is, as a settlement records it. */
export const HOLD_TIMEOUT_ACTOR = 'deploy-guard (hold timeout)';

/** The timeout's settlement of an expired hold. */
export function timeoutSettlement(hold: DeploymentHold, now: number): HoldSettlement {
  return {
    action: hold.onTimeout,
    by: HOLD_TIMEOUT_ACTOR,
    reason: `nobody approved or rejected it within ${Math.round((hold.until - hold.since) / 60_000)} minutes; the group's onHoldTimeout is ${hold.onTimeout}`,
    at: now,
    cause: 'timeout',
  };
}

/**
 * How the outcome of a held deployment is labelled. Approved: it ran, its outcome is observed (a
 * label like any, kept in training with weight 1). Rejected (by a person, or by the timeout, or
 * stopped by CodeDeploy's READY wait while held with a timeout that rejects): a stop decided at
 * Deploy Guard's hold, so whether it would have failed is unknown: `counterfactual`, like Deploy
 * Guard's own stops. Never `failed`: that would teach the model the decisions people took on its word.
 */
export function heldStopLabel(hold: DeploymentHold | undefined): string | undefined {
  if (!hold) return undefined;
  if (hold.settled?.action === 'reject') return `rejected at Deploy Guard's hold (${settlementWords(hold.settled)}): whether it would have failed is unknown`;
  if (!hold.settled && hold.onTimeout === 'reject') return "stopped while held by Deploy Guard, its timeout rejecting: whether it would have failed is unknown";
  return undefined;
}

/** The Deployment Held announcement: the hold began, or its timeout settled it. */
export function heldEntry(hold: DeploymentHold, context: { readonly source: string; readonly eventBusName: string }): PutEventsEntry {
  const settled = hold.settled;
  const at = settled?.at ?? hold.since;
  return buildEntry(
    'Deployment Held',
    {
      schemaVersion: '1',
      status: settled ? 'timed-out' : 'held',
      deploymentId: hold.deploymentId,
      application: hold.application,
      deploymentGroup: hold.deploymentGroup,
      platform: hold.platform,
      reason: hold.reason,
      since: eventBridgeTime(hold.since),
      until: eventBridgeTime(hold.until),
      onTimeout: hold.onTimeout,
      ...(settled ? { settled: { action: settled.action, at: eventBridgeTime(settled.at), outcome: answerWords(settled.answer) } } : {}),
    },
    { ...context, time: new Date(at) },
  );
}

/** CodeDeploy's answer in words. */
export function answerWords(answer: CodeDeployOutcome | undefined): string {
  if (!answer) return 'not called yet';
  return answer.ok ? 'CodeDeploy accepted it' : `CodeDeploy refused: ${answer.refusal} (${answer.message})`;
}
