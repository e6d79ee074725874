import { CodeDeployClient, GetDeploymentCommand, type RevisionLocation } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { revisionKey } from '../../events/emitted';
import { AwsCodeDeploy, revisionOf } from '../../handlers/adapters/codedeploy';

/** What predict reads from GetDeployment beyond the rollback handler's needs: the revision and the creation time. */
const codeDeploy = mockClient(CodeDeployClient);
const adapter = () => new AwsCodeDeploy(new CodeDeployClient({ region: 'us-east-1' }));
const deploymentId = 'd-123456789';
const APPSPEC = '{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service"}}]}';

beforeEach(() => codeDeploy.reset());

describe('AwsCodeDeploy.getDeployment: revision and creation time', () => {
  it('reads a GitHub revision as its commit and createTime in milliseconds', async () => {
    codeDeploy.on(GetDeploymentCommand).resolves({
      deploymentInfo: {
        deploymentId,
        status: 'InProgress',
        computePlatform: 'Server',
        applicationName: 'myApplication',
        deploymentGroupName: 'myDeploymentGroup',
        revision: { revisionType: 'GitHub', gitHubLocation: { repository: 'acme/checkout', commitId: '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' } },
        createTime: new Date('2026-11-20T09:14:00.250Z'),
      },
    });
    const lookup = await adapter().getDeployment(deploymentId);
    expect(lookup).toEqual({
      found: true,
      deployment: {
        deploymentId,
        status: 'InProgress',
        computePlatform: 'Server',
        application: 'myApplication',
        deploymentGroup: 'myDeploymentGroup',
        revision: { commitId: '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' },
        createTime: Date.parse('2026-11-20T09:14:00.250Z'),
      },
    });
    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId });
  });
});

describe('revisionOf', () => {
  it.each<[string, RevisionLocation, string]>([
    [
      'an S3 bundle with its version',
      { revisionType: 'S3', s3Location: { bucket: 'releases', key: 'checkout/app.zip', bundleType: 'zip', version: 'v3', eTag: 'abc' } },
      's3:releases/checkout/app.zip@v3',
    ],
    ['an S3 bundle with only its ETag', { revisionType: 'S3', s3Location: { bucket: 'releases', key: 'app.zip', eTag: 'abc' } }, 's3:releases/app.zip@abc'],
    [
      'AppSpec content (ECS / Lambda) with the SHA-256 CodeDeploy reports',
      { revisionType: 'AppSpecContent', appSpecContent: { content: APPSPEC, sha256: createHash('sha256').update(APPSPEC).digest('hex').toUpperCase() } },
      `appspec:${createHash('sha256').update(APPSPEC).digest('hex')}`,
    ],
    [
      'AppSpec content without a SHA-256: computed from the content',
      { revisionType: 'String', string: { content: APPSPEC } },
      `appspec:${createHash('sha256').update(APPSPEC).digest('hex')}`,
    ],
  ])('keys %s the way change summaries are keyed', (_case, location, key) => {
    const revision = revisionOf(location);
    expect(revision && revisionKey(revision)).toBe(key);
  });

  it('is undefined when nothing can key the revision', () => {
    expect(revisionOf(undefined)).toBeUndefined();
    expect(revisionOf({ revisionType: 'S3', s3Location: { bucket: 'releases' } })).toBeUndefined();
    expect(revisionOf({ revisionType: 'String', string: {} })).toBeUndefined();
  });
});
