import { CodeDeployClient, DeploymentDoesNotExistException, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';

/**
 * A bundle entry for test/handlers/bundles.test.ts: one S3 call (REST-XML) and one CodeDeploy call
 * (JSON 1.1) through real SDK clients, bundled with the handlers' esbuild configuration
 * (stacks/bundle-build.ts, its plugins included) and run in a fresh node against a local HTTP server
 * standing in for AWS (`endpoint`). Credentials come from the environment, as in Lambda.
 *
 * Each call answers what came back: the output's members the test looks at, or the error's name,
 * HTTP status and whether it is an instance of the client's modeled error class (the error registry
 * of the client's schema module found it).
 */
export type RoundTrip =
  | { readonly output: Record<string, unknown> }
  | { readonly error: { readonly name: string; readonly message: string; readonly status?: number; readonly modeled: boolean } };

export async function getObject(endpoint: string, bucket: string, key: string): Promise<RoundTrip> {
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1 });
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: 'v1', Range: 'bytes=0-99' }));
    return {
      output: {
        body: await response.Body?.transformToString(),
        contentType: response.ContentType,
        contentLength: response.ContentLength,
        eTag: response.ETag,
        lastModified: response.LastModified?.toISOString(),
        metadata: response.Metadata,
      },
    };
  } catch (error) {
    return failure(error, NoSuchKey);
  }
}

export async function getDeployment(endpoint: string, deploymentId: string): Promise<RoundTrip> {
  const client = new CodeDeployClient({ region: 'us-east-1', endpoint, maxAttempts: 1 });
  try {
    const response = await client.send(new GetDeploymentCommand({ deploymentId }));
    const info = response.deploymentInfo;
    return {
      output: {
        deploymentId: info?.deploymentId,
        status: info?.status,
        createTime: info?.createTime?.toISOString(),
        autoRollbackEvents: info?.autoRollbackConfiguration?.events,
      },
    };
  } catch (error) {
    return failure(error, DeploymentDoesNotExistException);
  }
}

function failure(error: unknown, modeled: abstract new (...args: never[]) => unknown): RoundTrip {
  if (!(error instanceof Error)) throw error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return { error: { name: error.name, message: error.message, ...(status === undefined ? {} : { status }), modeled: error instanceof modeled } };
}
