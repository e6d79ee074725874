import type { ComputePlatform, EmittedDetail } from '../events/emitted';
import { groupKey, type GroupPolicy } from './config';
import type { AssessmentRecord, CodeDeployRefusal, DeploymentSnapshot, GuardAction, LedgerEntry } from './ports';

/**
 * What the rollback handler does to a deployment, decided from the request and the deployment's
 * status in CodeDeploy. Pure: no I/O, no clock.
 */

export type RollbackRequest = EmittedDetail<'Deployment Rollback Requested'>;
export type RiskAssessment = EmittedDetail<'Deployment Risk Assessed'>;

/**
 * Why there is nothing to do; the first two are the reasons a Deployment Rollback Failed carries, the
 * last is CodeDeploy's own answer to a ContinueDeployment when the deployment is not waiting at READY.
 */
export type NothingToDoReason = 'DeploymentAlreadyCompleted' | 'DeploymentAlreadyStopped' | 'RollbackDeployment' | 'DeploymentNotReady';

export type GuardDecision =
  | { readonly kind: 'stop'; readonly autoRollbackEnabled: true }
  | { readonly kind: 'fail-hook'; readonly hookExecutionId: string }
  | { readonly kind: 'continue' }
  | { readonly kind: 'nothing-to-do'; readonly reason: NothingToDoReason; readonly message: string };

/** A rollback deployment is itself a new deployment; stopping it would leave the group half rolled back. */
const ROLLBACK_CREATOR = 'codeDeployRollback';

/** Traffic hooks (BeforeAllowTraffic) exist only on these platforms; on Server the group waits at READY. */
const HOOK_PLATFORMS: ReadonlySet<ComputePlatform> = new Set(['ECS', 'Lambda']);

function finished(deployment: DeploymentSnapshot): GuardDecision | undefined {
  const id = deployment.deploymentId;
  switch (deployment.status) {
    case 'Stopped':
      return { kind: 'nothing-to-do', reason: 'DeploymentAlreadyStopped', message: `The deployment ${id} is already stopped.` };
    case 'Succeeded':
    case 'Failed':
      return {
        kind: 'nothing-to-do',
        reason: 'DeploymentAlreadyCompleted',
        message: `The deployment ${id} is already completed.`,
      };
    default:
      if (deployment.creator === ROLLBACK_CREATOR) {
        return {
          kind: 'nothing-to-do',
          reason: 'RollbackDeployment',
          message: `The deployment ${id} is a rollback created by CodeDeploy; Deploy Guard never stops a rollback.`,
        };
      }
      return undefined;
  }
}

/**
 * A rollback request: report the traffic hook Failed when an ECS / Lambda deployment is waiting on
 * it (CodeDeploy then rolls back), otherwise StopDeployment with auto-rollback (any platform, stop
 * mode on START and gate mode at READY). The platform is CodeDeploy's, not the request's.
 */
export function decideRollback(request: RollbackRequest, deployment: DeploymentSnapshot): GuardDecision {
  const done = finished(deployment);
  if (done) return done;
  if (HOOK_PLATFORMS.has(deployment.computePlatform) && request.lifecycleEventHookExecutionId) {
    return { kind: 'fail-hook', hookExecutionId: request.lifecycleEventHookExecutionId };
  }
  return { kind: 'stop', autoRollbackEnabled: true };
}

type ProceedFields = Pick<RiskAssessment, 'mode' | 'trigger' | 'decision' | 'enforced'> & { readonly override?: unknown; readonly gate?: { readonly letThrough: boolean } };

/**
 * Whether an assessment asks to let an EC2/on-premises blue/green deployment waiting at READY proceed:
 * an enforced decision to proceed, or a would-be stop let through (not enforced) by an operator's
 * override or pause or by the pipeline gate's pass of its release. Left alone, the READY wait would
 * time out and CodeDeploy would stop the deployment that was let through.
 */
export function isGateProceed(assessment: ProceedFields): boolean {
  if (assessment.mode !== 'gate' || assessment.trigger !== 'READY') return false;
  if (assessment.enforced) return assessment.decision === 'proceed';
  return assessment.override !== undefined || assessment.gate?.letThrough === true;
}

/** A gate assessment that says proceed: ContinueDeployment, but only for a Server deployment waiting at READY. */
export function decideProceed(deployment: DeploymentSnapshot): GuardDecision {
  const done = finished(deployment);
  if (done) return done;
  if (deployment.computePlatform !== 'Server' || deployment.status !== 'Ready') {
    return {
      kind: 'nothing-to-do',
      reason: 'DeploymentNotReady',
      message:
        `The deployment ${deployment.deploymentId} (${deployment.computePlatform}, ${deployment.status}) is not an ` +
        'EC2/on-premises blue/green deployment waiting at READY; ContinueDeployment does not apply.',
    };
  }
  return { kind: 'continue' };
}

/** Why the rollback handler refuses to act on a valid event: it is not what predict decided for this installation. */
export const REFUSAL_REASONS = ['ForeignAccount', 'UnguardedGroup', 'ShadowMode', 'NoAssessment', 'AssessmentMismatch', 'NotDecided'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

/** What the event asks for, as far as the checks are concerned. */
export interface AskedAction {
  readonly kind: 'rollback' | 'proceed';
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  /** The mode the event claims (a rollback request's, or the assessment event's). */
  readonly mode: string;
  /** The account EventBridge says put the event. */
  readonly account: string;
}

/** What the installation knows: its account, the group's configured policy, predict's stored assessment. */
export interface Authority {
  readonly installationAccount: string;
  readonly policy: GroupPolicy | undefined;
  readonly assessment: AssessmentRecord | undefined;
}

/**
 * Whether the event is what predict decided, in this installation: refused (with the reason) unless
 * it comes from the installation's account, names a guarded group that is not in shadow mode, and
 * predict's stored assessment of that deployment is of that group, platform and configured mode and
 * says the same thing, enforced (rollback; or, for a proceed, a gate decision to proceed at READY).
 */
export function refusalOf(asked: AskedAction, authority: Authority): Refusal | undefined {
  const { policy, assessment } = authority;
  const id = asked.deploymentId;
  const group = groupKey(asked.application, asked.deploymentGroup);
  if (asked.account !== authority.installationAccount) {
    return { reason: 'ForeignAccount', message: `the ${asked.kind} of ${id} was put on the bus by account ${asked.account}, not this installation's (${authority.installationAccount})` };
  }
  if (!policy) return { reason: 'UnguardedGroup', message: `${group} is not a group Deploy Guard guards` };
  if (policy.mode === 'shadow') return { reason: 'ShadowMode', message: `${group} is configured in shadow mode: Deploy Guard never acts on it` };
  if (!assessment) return { reason: 'NoAssessment', message: `predict has stored no assessment of ${id}` };
  const mismatch = mismatchOf(asked, policy, assessment);
  if (mismatch) return { reason: 'AssessmentMismatch', message: `the ${asked.kind} of ${id} does not match predict's stored assessment: ${mismatch}` };
  if (!decides(asked.kind, assessment)) {
    return {
      reason: 'NotDecided',
      message: `predict's stored assessment of ${id} (${assessment.mode} at ${assessment.trigger}: ${assessment.decision}, ${assessment.enforced ? 'enforced' : 'not enforced'}) does not decide ${asked.kind}`,
    };
  }
  return undefined;
}

function mismatchOf(asked: AskedAction, policy: GroupPolicy, assessment: AssessmentRecord): string | undefined {
  if (assessment.application !== asked.application || assessment.deploymentGroup !== asked.deploymentGroup) {
    return `it names ${groupKey(asked.application, asked.deploymentGroup)}, the assessment ${groupKey(assessment.application, assessment.deploymentGroup)}`;
  }
  if (assessment.platform !== asked.platform) return `platform ${asked.platform}, assessed ${assessment.platform}`;
  if (asked.mode !== policy.mode || assessment.mode !== policy.mode) return `mode ${asked.mode}, assessed in ${assessment.mode}, configured ${policy.mode}`;
  return undefined;
}

function decides(kind: AskedAction['kind'], assessment: AssessmentRecord): boolean {
  if (kind === 'rollback') return assessment.enforced && assessment.decision === 'rollback';
  return isGateProceed(assessment);
}

/**
 * Whether CodeDeploy's "nothing to do" after our own recorded attempt of `action` is that attempt's
 * success (its answer lost, or the process died after it): the deployment is now stopped (or, for a
 * failed traffic hook, failed or stopped); for ContinueDeployment, it no longer waits at READY and was
 * not stopped (it runs on, or has finished). A deployment that succeeded was not stopped by anyone.
 */
export function isOwnAction(attempt: LedgerEntry['attempt'], action: GuardAction, status: DeploymentSnapshot['status'] | undefined): boolean {
  if (!attempt || attempt.action !== action) return false;
  if (action === 'StopDeployment') return status === 'Stopped';
  if (action === 'LifecycleHookFailed') return status === 'Stopped' || status === 'Failed';
  return status === 'InProgress' || status === 'Succeeded' || status === 'Failed';
}

/** The refusals that are races with finishing (or, for a proceed, with having proceeded), which isOwnAction may turn into our success. */
export const FINISHED_REFUSALS: ReadonlySet<string> = new Set<CodeDeployRefusal | NothingToDoReason>(['DeploymentAlreadyStopped', 'DeploymentAlreadyCompleted', 'HookExpired', 'DeploymentNotReady']);
