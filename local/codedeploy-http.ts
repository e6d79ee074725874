import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CODEDEPLOY_REFUSAL_EXCEPTIONS } from '../handlers/adapters/codedeploy';
import type { CodeDeployOutcome, CodeDeployRefusal } from '../handlers/ports';
import type { LocalCodeDeploy } from './codedeploy';

/**
 * CodeDeploy's JSON protocol answered by the local stand-in, so that a real CodeDeployClient, with
 * its serializers, error parsing and standard retry middleware, talks to LocalCodeDeploy: what a
 * fault below the retries (an answer lost after the call was applied) does to the adapter and the
 * handlers above it can be shown without AWS.
 */

/** The exception CodeDeploy answers for each refusal (a stopped deployment is "already completed" to it too). */
const EXCEPTION_OF: Readonly<Record<CodeDeployRefusal, string>> = {
  ...(Object.fromEntries(Object.entries(CODEDEPLOY_REFUSAL_EXCEPTIONS).map(([exception, refusal]) => [refusal, exception])) as Record<CodeDeployRefusal, string>),
  DeploymentAlreadyStopped: 'DeploymentAlreadyCompletedException',
};

const TARGET_PREFIX = 'CodeDeploy_20141006.';

interface LocalHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** A CodeDeployClient whose requests are answered by `codeDeploy` (standard retry mode, as the handlers' clients). */
export function localCodeDeployClient(codeDeploy: LocalCodeDeploy): CodeDeployClient {
  return new CodeDeployClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    retryMode: 'standard',
    requestHandler: { handle: async (request: { headers: Record<string, string>; body?: unknown }) => ({ response: await answer(codeDeploy, request) }) },
  });
}

async function answer(codeDeploy: LocalCodeDeploy, request: { headers: Record<string, string>; body?: unknown }): Promise<LocalHttpResponse> {
  const target = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1] ?? '';
  const input = JSON.parse(bodyText(request.body) || '{}') as Record<string, string>;
  switch (target.slice(TARGET_PREFIX.length)) {
    case 'GetDeployment':
      return getDeployment(codeDeploy, input.deploymentId);
    case 'StopDeployment':
      return outcome(await codeDeploy.stopDeployment(input.deploymentId), { status: 'Pending', statusMessage: 'Stopping deployment' });
    case 'ContinueDeployment':
      return outcome(await codeDeploy.continueDeployment(input.deploymentId), {});
    case 'PutLifecycleEventHookExecutionStatus':
      return outcome(
        await codeDeploy.putLifecycleEventHookExecutionStatus(input.deploymentId, input.lifecycleEventHookExecutionId, input.status as 'Succeeded' | 'Failed'),
        { lifecycleEventHookExecutionId: input.lifecycleEventHookExecutionId },
      );
    default:
      return json(400, { __type: 'UnknownOperationException', message: `local CodeDeploy does not answer ${target}` });
  }
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return '';
}

async function getDeployment(codeDeploy: LocalCodeDeploy, deploymentId: string): Promise<LocalHttpResponse> {
  const deployment = codeDeploy.deployment(deploymentId);
  if (!deployment) return json(400, { __type: 'DeploymentDoesNotExistException', message: `Deployment ${deploymentId} does not exist.` });
  const { revision } = deployment;
  return json(200, {
    deploymentInfo: {
      deploymentId,
      applicationName: deployment.application,
      deploymentGroupName: deployment.deploymentGroup,
      status: deployment.status,
      computePlatform: deployment.platform,
      creator: deployment.creator,
      createTime: deployment.createTime / 1000,
      ...('commitId' in revision ? { revision: { revisionType: 'GitHub', gitHubLocation: { commitId: revision.commitId } } } : {}),
    },
  });
}

function outcome(result: CodeDeployOutcome, accepted: object): LocalHttpResponse {
  return result.ok ? json(200, accepted) : json(400, { __type: EXCEPTION_OF[result.refusal], message: result.message });
}

function json(statusCode: number, body: object): LocalHttpResponse {
  return { statusCode, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: new TextEncoder().encode(JSON.stringify(body)) };
}
