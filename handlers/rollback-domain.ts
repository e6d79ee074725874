import type { ComputePlatform, EmittedDetail } from '../events/emitted';
import type { DeploymentSnapshot } from './ports';

/**
 * What the rollback handler does to a deployment, decided from the request and the deployment's
 * status in CodeDeploy. Pure: no I/O, no clock.
 */

export type RollbackRequest = EmittedDetail<'Deployment Rollback Requested'>;
export type RiskAssessment = EmittedDetail<'Deployment Risk Assessed'>;

/** Why there is nothing to do; the first two are the reasons a Deployment Rollback Failed carries. */
export type NothingToDoReason = 'DeploymentAlreadyCompleted' | 'DeploymentAlreadyStopped' | 'RollbackDeployment' | 'NotWaitingAtReady';

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

/** Whether an assessment asks to let an EC2/on-premises blue/green deployment waiting at READY proceed. */
export function isGateProceed(assessment: RiskAssessment): boolean {
  return assessment.mode === 'gate' && assessment.trigger === 'READY' && assessment.decision === 'proceed' && assessment.enforced;
}

/** A gate assessment that says proceed: ContinueDeployment, but only for a Server deployment waiting at READY. */
export function decideProceed(deployment: DeploymentSnapshot): GuardDecision {
  const done = finished(deployment);
  if (done) return done;
  if (deployment.computePlatform !== 'Server' || deployment.status !== 'Ready') {
    return {
      kind: 'nothing-to-do',
      reason: 'NotWaitingAtReady',
      message:
        `The deployment ${deployment.deploymentId} (${deployment.computePlatform}, ${deployment.status}) is not an ` +
        'EC2/on-premises blue/green deployment waiting at READY; ContinueDeployment does not apply.',
    };
  }
  return { kind: 'continue' };
}
