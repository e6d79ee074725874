import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Codepipeline } from '@cdktf/provider-aws/lib/codepipeline';
import { App, TerraformStack } from 'cdktf';
import { ExampleGuardedService } from '../../stacks/example-service';
import { GuardedDeploymentGroup } from '../../stacks/guarded-deployment-group';
import { ModelNotebook } from '../../stacks/model-notebook';
import { PipelineGate } from '../../stacks/pipeline-gate';
import { PredictionEndpoint } from '../../stacks/prediction-endpoint';
import { Retraining } from '../../stacks/retraining';
import { ACCOUNT, KMS_KEY_ARN, REGION } from './construct-synth';

/**
 * Every construct of this folder in every variant (serverless and provisioned endpoint; Server, ECS,
 * Lambda and existing groups; the notebook; the example service; a pipeline with the gate stage), checked by Terraform itself with
 * the real hashicorp/aws provider 5.100.0: validate, then a plan with fake credentials and the skip
 * flags, which also proves that no construct needs AWS to plan.
 */

const TERRAFORM = '/usr/local/bin/terraform';
const MIRROR = '/opt/tf-plugins';
const run = promisify(execFile);
const available = existsSync(TERRAFORM) && existsSync(MIRROR);
if (!available) {
  if (process.env.CI === 'true') throw new Error(`${TERRAFORM} or ${MIRROR} is missing, and CI=true: install Terraform 1.11 and the aws provider mirror`);
  console.warn(`SKIPPED test/stacks/constructs-terraform.test.ts: ${TERRAFORM} or the provider mirror ${MIRROR} is missing`);
}

function synthesizeConstructs(outdir: string): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'constructs');
  new AwsProvider(stack, 'aws', { region: REGION });
  const common = { region: REGION, accountId: ACCOUNT, kmsKeyArn: KMS_KEY_ARN };
  const retraining = new Retraining(stack, 'retraining', { ...common, namePrefix: 'dg-dev', dataBucketName: 'dg-dev-data', modelBucketName: 'dg-dev-models' });
  const artifact = { bucketName: 'dg-dev-models', key: 'models/initial/model.tar.gz' };
  new PredictionEndpoint(stack, 'serverless', { ...common, namePrefix: 'dg-dev', modelArtifact: artifact, hosting: { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 }, extraRollbackAlarmNames: retraining.alarmNames });
  new PredictionEndpoint(stack, 'provisioned', {
    ...common, namePrefix: 'dg-prod', modelArtifact: artifact,
    hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 1 },
    dataCapture: { bucketName: 'dg-dev-data', keyPrefix: 'capture/' },
    autoscaling: { minCapacity: 1, maxCapacity: 3, invocationsPerInstance: 100 },
  });
  const groups = { region: REGION, accountId: ACCOUNT, namePrefix: 'dg-dev' };
  new GuardedDeploymentGroup(stack, 'ecs', { ...groups, applicationName: 'shop', deploymentGroupName: 'shop-api', platform: 'ECS', mode: 'gate', ecs: { clusterName: 'shop', serviceName: 'api', targetGroupNames: ['blue', 'green'], prodListenerArns: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/0123456789abcdef/0123456789abcdef'] } });
  new GuardedDeploymentGroup(stack, 'lambda', { ...groups, applicationName: 'fn', deploymentGroupName: 'fn-live', platform: 'Lambda', mode: 'stop', alarmNames: ['fn-errors'] });
  new GuardedDeploymentGroup(stack, 'existing', { region: REGION, accountId: ACCOUNT, existing: true, applicationName: 'legacy', deploymentGroupName: 'prod', platform: 'Server', mode: 'shadow' });
  const example = new ExampleGuardedService(stack, 'example', { ...common, namePrefix: 'dg-dev', availabilityZones: ['us-east-1a', 'us-east-1b'], amiId: 'ami-0123456789abcdef0' });
  new ModelNotebook(stack, 'notebook', {
    ...common, namePrefix: 'dg-dev', dataBucketName: 'dg-dev-data', modelBucketName: 'dg-dev-models', endpointName: 'dg-dev-risk',
    subnetId: example.subnets[0].id, securityGroupIds: ['sg-0123456789abcdef0'],
    tables: { deployments: 'dg-deployments', history: 'dg-history', changes: 'dg-changes', control: 'dg-control' }, sagemakerRoleArn: retraining.role.arn,
  });
  // An existing pipeline with the gate stage between its source and its Deploy stage, the role's statement attached.
  const gate = new PipelineGate(stack, 'gate', {
    functionName: 'dg-dev-pipeline-gate', functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dg-dev-pipeline-gate`,
    application: 'shop', deploymentGroup: 'shop-api', sourceVariablesNamespace: 'SourceVariables', pipelineRoleName: 'shop-pipeline',
  });
  new Codepipeline(stack, 'pipeline', {
    name: 'shop-release', roleArn: `arn:aws:iam::${ACCOUNT}:role/shop-pipeline`,
    artifactStore: [{ location: 'shop-pipeline-artifacts', type: 'S3' }],
    stage: [
      { name: 'Source', action: [{ name: 'Source', category: 'Source', owner: 'AWS', provider: 'S3', version: '1', namespace: 'SourceVariables', outputArtifacts: ['SourceArtifact'], configuration: { S3Bucket: 'shop-releases', S3ObjectKey: 'shop.zip' } }] },
      gate.stage,
      { name: 'Deploy', action: [{ name: 'Deploy', category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1', inputArtifacts: ['SourceArtifact'], configuration: { ApplicationName: 'shop', DeploymentGroupName: 'shop-api' } }] },
    ],
  });
  app.synth();
  return join(outdir, 'stacks', 'constructs');
}

(available ? describe : describe.skip)('terraform validate and plan of the constructs', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-constructs-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('validates and plans every construct variant without AWS', async () => {
    const dir = synthesizeConstructs(outdir);
    const synthesized = JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as { data?: unknown; resource: Record<string, Record<string, unknown>> };
    expect(synthesized.data).toBeUndefined();
    // Test-only: fake credentials and the skip flags, so the provider never calls AWS.
    writeFileSync(join(dir, 'test_override.tf.json'), JSON.stringify({
      provider: { aws: [{ region: REGION, access_key: 'AKIAFAKEFAKEFAKEFAKE', secret_key: 'fake', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true }] },
    }));
    // A filesystem mirror (not -plugin-dir): Terraform links the unpacked provider instead of copying it.
    const cliConfig = join(outdir, 'terraform.rc');
    writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = "${MIRROR}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`);
    const env = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', AWS_EC2_METADATA_DISABLED: 'true', TF_CLI_CONFIG_FILE: cliConfig };
    await run(TERRAFORM, ['init', '-input=false'], { cwd: dir, env });
    const validate = JSON.parse((await run(TERRAFORM, ['validate', '-json'], { cwd: dir, env }).catch((error: { stdout: string }) => ({ stdout: error.stdout }))).stdout) as { valid: boolean; diagnostics: unknown[] };
    expect(validate).toEqual(expect.objectContaining({ valid: true, diagnostics: [] }));
    const plan = await run(TERRAFORM, ['plan', '-input=false', '-refresh=false', '-no-color', '-lock=false'], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout: string; stderr: string }) => error);
    const count = Object.values(synthesized.resource).reduce((total, byId) => total + Object.keys(byId).length, 0);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toContain(`Plan: ${count} to add, 0 to change, 0 to destroy.`);
  });
});
