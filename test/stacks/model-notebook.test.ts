import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ModelNotebook, NOTEBOOK_ENVIRONMENT_FILE, type ModelNotebookProps } from '../../stacks/model-notebook';
import { ACCOUNT, KMS_KEY_ARN, REGION, only, policyStatements, resources, synth, wildcardActions } from './construct-synth';

const ROLE = 'arn:aws:iam::123456789012:role/deploy-guard-dev-sagemaker';
const base: ModelNotebookProps = {
  namePrefix: 'deploy-guard-dev',
  region: REGION,
  accountId: ACCOUNT,
  kmsKeyArn: KMS_KEY_ARN,
  subnetId: 'subnet-0123',
  securityGroupIds: ['sg-0123'],
  dataBucketName: 'dg-data',
  modelBucketName: 'dg-models',
  endpointName: 'deploy-guard-dev-risk',
  tables: { deployments: 'dg-deployments', history: 'dg-history', changes: 'dg-changes', control: 'dg-control' },
  sagemakerRoleArn: ROLE,
};

describe('ModelNotebook', () => {
  const synthesized = synth((scope) => void new ModelNotebook(scope, 'notebook', base));

  it('creates an instance without root access, encrypted with the key, in the VPC without direct internet access', () => {
    expect(only(synthesized, 'aws_sagemaker_notebook_instance')).toEqual(expect.objectContaining({
      name: 'deploy-guard-dev-notebook', root_access: 'Disabled', kms_key_id: KMS_KEY_ARN, direct_internet_access: 'Disabled',
      subnet_id: 'subnet-0123', security_groups: ['sg-0123'], instance_type: 'ml.t3.medium', volume_size: 20,
      instance_metadata_service_configuration: { minimum_instance_metadata_service_version: '2' },
    }));
  });

  it('uploads every notebook of notebooks/ to the model bucket, KMS-encrypted, one object each', () => {
    const shipped = readdirSync(join(__dirname, '..', '..', 'notebooks')).filter((name) => name.endsWith('.ipynb')).sort();
    const objects = Object.values(resources(synthesized, 'aws_s3_object'));
    expect(objects.map((object) => object.key).sort()).toEqual(shipped.map((name) => `notebooks/${name}`));
    for (const object of objects) expect(object).toEqual(expect.objectContaining({ bucket: 'dg-models', server_side_encryption: 'aws:kms', kms_key_id: KMS_KEY_ARN }));
  });

  it('copies the notebooks in on creation and writes the environment file every kernel loads on each start', () => {
    const lifecycle = only(synthesized, 'aws_sagemaker_notebook_instance_lifecycle_configuration');
    const onCreate = lifecycle.on_create as string;
    expect(onCreate).toContain("aws s3 cp --recursive --region 'us-east-1' 's3://dg-models/notebooks/'");
    const onStart = lifecycle.on_start as string;
    expect(onStart).toMatch(/^\$\{base64encode\(join\(/);
    expect(onStart).toContain(`cat > '${NOTEBOOK_ENVIRONMENT_FILE}'`);
    expect(onStart).toContain('00-deploy-guard-environment.py');
    for (const entry of ['"DEPLOY_GUARD_S3_BUCKET" = "dg-models"', `"DEPLOY_GUARD_SAGEMAKER_ROLE_ARN" = "${ROLE}"`, '"DEPLOY_GUARD_ENDPOINT_NAME" = "deploy-guard-dev-risk"', '"DEPLOY_GUARD_HISTORY_TABLE" = "dg-history"', '"DEPLOY_GUARD_DATA_BUCKET" = "dg-data"']) {
      expect(onStart).toContain(entry);
    }
  });

  it('lets its role read what the notebooks read and run only notebook 03\'s own SageMaker resources', () => {
    const statements = policyStatements(synthesized, 'model-notebook');
    const byId = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
    expect(byId.ReadTables.Resource).toContain('arn:aws:dynamodb:us-east-1:123456789012:table/dg-history');
    expect(byId.InvokeEndpoint.Resource).toBe('arn:aws:sagemaker:us-east-1:123456789012:endpoint/deploy-guard-dev-risk');
    expect(byId.NotebookTrainingAndHosting.Resource).toEqual(['training-job', 'model', 'endpoint-config', 'endpoint'].map((type) => `arn:aws:sagemaker:us-east-1:123456789012:${type}/deploy-guard-20*`));
    expect(byId.PassExecutionRole).toEqual(expect.objectContaining({ Resource: ROLE, Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } } }));
    expect(wildcardActions(statements)).toEqual([]);
  });

  it('may have direct internet access outside a VPC', () => {
    const open = synth((scope) => void new ModelNotebook(scope, 'notebook', { ...base, subnetId: undefined, securityGroupIds: undefined, directInternetAccess: true }));
    const instance = only(open, 'aws_sagemaker_notebook_instance');
    expect(instance.direct_internet_access).toBe('Enabled');
    expect(instance.subnet_id).toBeUndefined();
  });
});

describe('ModelNotebook props', () => {
  it.each<[string, Partial<ModelNotebookProps>, string]>([
    ['a subnet without security groups', { securityGroupIds: undefined }, 'ModelNotebook subnetId and securityGroupIds must be given together (both or neither)'],
    ['security groups without a subnet', { subnetId: undefined }, 'ModelNotebook subnetId and securityGroupIds must be given together (both or neither)'],
    ['no internet access and no VPC', { subnetId: undefined, securityGroupIds: undefined }, 'ModelNotebook directInternetAccess false needs subnetId and securityGroupIds: without direct access the instance reaches AWS only through a VPC'],
    ['a bad instance type', { instanceType: 't3.medium' }, "ModelNotebook instanceType must look like 'ml.t3.medium', got 't3.medium'"],
    ['a role that is not an IAM ARN', { sagemakerRoleArn: 'my-role' }, "ModelNotebook sagemakerRoleArn must be an ARN of service iam (arn:<partition>:iam:...), got 'my-role'"],
    ['a notebooks folder without notebooks', { notebooksFolder: __dirname }, `ModelNotebook notebooks folder '${__dirname}' holds no .ipynb file`],
  ])('rejects %s', (_case, override, message) => {
    expect(() => synth((scope) => void new ModelNotebook(scope, 'notebook', { ...base, ...override }))).toThrow(message);
  });
});
