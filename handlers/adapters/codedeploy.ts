import {
  ContinueDeploymentCommand,
  GetDeploymentCommand,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
  type CodeDeployClient,
} from '@aws-sdk/client-codedeploy';
import { COMPUTE_PLATFORMS, type ComputePlatform } from '../../events/emitted';
import {
  DEPLOYMENT_STATUSES,
  type CodeDeployOutcome,
  type CodeDeployPort,
  type CodeDeployRefusal,
  type DeploymentLookup,
  type DeploymentStatus,
} from '../ports';

/**
 * The CodeDeploy port over the AWS SDK v3. Races (a deployment that completed, was stopped or does
 * not exist; a hook that already completed) come back as typed refusals. Throttling and transient
 * errors are retried by the client's standard retry mode; whatever is left is thrown.
 */
export class AwsCodeDeploy implements CodeDeployPort {
  constructor(private readonly client: CodeDeployClient) {}

  async getDeployment(deploymentId: string): Promise<DeploymentLookup> {
    try {
      const answer = await this.client.send(new GetDeploymentCommand({ deploymentId }));
      const info = answer.deploymentInfo;
      return {
        found: true,
        deployment: {
          deploymentId,
          status: known('status', DEPLOYMENT_STATUSES, info?.status, deploymentId) as DeploymentStatus,
          computePlatform: known('computePlatform', COMPUTE_PLATFORMS, info?.computePlatform, deploymentId) as ComputePlatform,
          ...(info?.creator ? { creator: info.creator } : {}),
          ...(info?.applicationName ? { application: info.applicationName } : {}),
          ...(info?.deploymentGroupName ? { deploymentGroup: info.deploymentGroupName } : {}),
        },
      };
    } catch (error) {
      if (errorName(error) === 'DeploymentDoesNotExistException') return { found: false, message: errorMessage(error) };
      throw error;
    }
  }

  async stopDeployment(deploymentId: string, options: { readonly autoRollbackEnabled: boolean }): Promise<CodeDeployOutcome> {
    try {
      await this.client.send(new StopDeploymentCommand({ deploymentId, autoRollbackEnabled: options.autoRollbackEnabled }));
      return { ok: true };
    } catch (error) {
      const refusal = refusalOf(error);
      if (!refusal) throw error;
      if (refusal !== 'DeploymentAlreadyCompleted') return { ok: false, refusal, message: errorMessage(error) };
      // A stopped deployment is complete too, and CodeDeploy answers the same exception for both:
      // which one it was matters to whoever reads the outcome (a race with a person, or with success).
      return { ok: false, refusal: await this.completedOrStopped(deploymentId), message: errorMessage(error) };
    }
  }

  async continueDeployment(deploymentId: string): Promise<CodeDeployOutcome> {
    try {
      await this.client.send(new ContinueDeploymentCommand({ deploymentId, deploymentWaitType: 'READY_WAIT' }));
      return { ok: true };
    } catch (error) {
      const refusal = refusalOf(error);
      if (!refusal) throw error;
      return { ok: false, refusal, message: errorMessage(error) };
    }
  }

  async putLifecycleEventHookExecutionStatus(
    deploymentId: string,
    hookExecutionId: string,
    status: 'Succeeded' | 'Failed',
  ): Promise<CodeDeployOutcome> {
    try {
      await this.client.send(
        new PutLifecycleEventHookExecutionStatusCommand({ deploymentId, lifecycleEventHookExecutionId: hookExecutionId, status }),
      );
      return { ok: true };
    } catch (error) {
      const refusal = refusalOf(error);
      if (!refusal) throw error;
      return { ok: false, refusal, message: errorMessage(error) };
    }
  }

  private async completedOrStopped(deploymentId: string): Promise<CodeDeployRefusal> {
    const lookup = await this.getDeployment(deploymentId);
    return lookup.found && lookup.deployment.status === 'Stopped' ? 'DeploymentAlreadyStopped' : 'DeploymentAlreadyCompleted';
  }
}

/** The SDK's exception names that are races, not faults. Matched by name: robust to duplicated SDK copies. */
const REFUSALS: Readonly<Record<string, CodeDeployRefusal>> = {
  DeploymentAlreadyCompletedException: 'DeploymentAlreadyCompleted',
  DeploymentDoesNotExistException: 'DeploymentNotFound',
  DeploymentIsNotInReadyStateException: 'DeploymentNotReady',
  LifecycleEventAlreadyCompletedException: 'HookExpired',
};

function refusalOf(error: unknown): CodeDeployRefusal | undefined {
  const name = errorName(error);
  return name !== undefined && Object.hasOwn(REFUSALS, name) ? REFUSALS[name] : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message || errorName(error) || 'CodeDeploy refused the request';
}

function known(field: string, allowed: readonly string[], value: string | undefined, deploymentId: string): string {
  if (value !== undefined && allowed.includes(value)) return value;
  throw new Error(
    `GetDeployment for ${deploymentId} returned ${field} ${JSON.stringify(value)}, expected one of ${allowed.join(', ')}`,
  );
}
