import {
  ContinueDeploymentCommand,
  GetDeploymentCommand,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
  type CodeDeployClient,
  type RevisionLocation,
} from '@aws-sdk/client-codedeploy';
import { appSpecSha256, bareETag, COMPUTE_PLATFORMS, type ComputePlatform, type Revision } from '../../events/emitted';
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
      const revision = revisionOf(info?.revision);
      return {
        found: true,
        deployment: {
          deploymentId,
          status: known('status', DEPLOYMENT_STATUSES, info?.status, deploymentId) as DeploymentStatus,
          computePlatform: known('computePlatform', COMPUTE_PLATFORMS, info?.computePlatform, deploymentId) as ComputePlatform,
          ...(info?.creator ? { creator: info.creator } : {}),
          ...(info?.applicationName ? { application: info.applicationName } : {}),
          ...(info?.deploymentGroupName ? { deploymentGroup: info.deploymentGroupName } : {}),
          ...(revision ? { revision } : {}),
          ...(info?.createTime ? { createTime: info.createTime.getTime() } : {}),
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

/**
 * The revision as Deploy Guard keys change summaries on it (events/emitted.ts revisionKey): a GitHub
 * commit, an S3 bundle (version or ETag), or for String / AppSpecContent revisions (ECS, Lambda) the
 * SHA-256 of the AppSpec, as CodeDeploy reports it or computed from the content when it does not.
 * Undefined when GetDeployment reports none that can be keyed.
 */
export function revisionOf(location: RevisionLocation | undefined): Revision | undefined {
  if (!location) return undefined;
  const commitId = location.gitHubLocation?.commitId;
  if (commitId) return { commitId };
  const s3 = location.s3Location;
  if (s3?.bucket && s3.key) {
    return {
      s3: { bucket: s3.bucket, key: s3.key, ...(s3.eTag ? { eTag: bareETag(s3.eTag) } : {}), ...(s3.version ? { version: s3.version } : {}) },
    };
  }
  const text = location.appSpecContent ?? location.string;
  if (!text) return undefined;
  const reported = text.sha256?.toLowerCase();
  if (reported && /^[0-9a-f]{64}$/.test(reported)) return { appSpecSha256: reported };
  if (text.content !== undefined) return { appSpecSha256: appSpecSha256(text.content) };
  return undefined;
}

/** The SDK's exception names that are races, not faults. Matched by name: robust to duplicated SDK copies. */
export const CODEDEPLOY_REFUSAL_EXCEPTIONS: Readonly<Record<string, CodeDeployRefusal>> = {
  DeploymentAlreadyCompletedException: 'DeploymentAlreadyCompleted',
  DeploymentDoesNotExistException: 'DeploymentNotFound',
  DeploymentIsNotInReadyStateException: 'DeploymentNotReady',
  LifecycleEventAlreadyCompletedException: 'HookExpired',
};

function refusalOf(error: unknown): CodeDeployRefusal | undefined {
  const name = errorName(error);
  return name !== undefined && Object.hasOwn(CODEDEPLOY_REFUSAL_EXCEPTIONS, name) ? CODEDEPLOY_REFUSAL_EXCEPTIONS[name] : undefined;
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
