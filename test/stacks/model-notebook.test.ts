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

  it('reads the data lake only under its rows prefix, and never scans a table whole', () => {
    const byId = Object.fromEntries(policyStatements(synthesized, 'model-notebook').map((statement) => [statement.Sid, statement]));
    expect(byId.ReadTrainingData.Resource).toBe('arn:aws:s3:::dg-data/rows/*');
    expect(byId.ReadTables.Action).not.toContain('dynamodb:Scan');
  });

  it('without a subnet, runs in a private network of its own: no internet route, S3 and DynamoDB through gateways, the APIs through endpoints', () => {
    const isolated = synth((scope) => void new ModelNotebook(scope, 'notebook', { ...base, subnetId: undefined, securityGroupIds: undefined }));
    const instance = only(isolated, 'aws_sagemaker_notebook_instance');
    expect(instance.direct_internet_access).toBe('Disabled');
    expect(instance.subnet_id).toMatch(/^\$\{aws_subnet\..+\.id\}$/);
    expect(only(isolated, 'aws_vpc')).toEqual(expect.objectContaining({ cidr_block: '10.42.0.0/24' }));
    expect(resources(isolated, 'aws_internet_gateway')).toEqual({});
    expect(resources(isolated, 'aws_nat_gateway')).toEqual({});
    expect(only(isolated, 'aws_route_table').route).toBeUndefined();
    expect(only(isolated, 'aws_subnet').map_public_ip_on_launch).toBe(false);
    const endpoints = Object.values(resources(isolated, 'aws_vpc_endpoint')).map((endpoint) => [endpoint.service_name, endpoint.vpc_endpoint_type]);
    expect(endpoints.sort()).toEqual(
      [
        ['com.amazonaws.us-east-1.dynamodb', 'Gateway'],
        ['com.amazonaws.us-east-1.logs', 'Interface'],
        ['com.amazonaws.us-east-1.s3', 'Gateway'],
        ['com.amazonaws.us-east-1.sagemaker.api', 'Interface'],
        ['com.amazonaws.us-east-1.sagemaker.runtime', 'Interface'],
        ['com.amazonaws.us-east-1.sts', 'Interface'],
      ].sort(),
    );
    // The instance accepts nothing and sends HTTPS only, to the endpoints.
    expect(resources(isolated, 'aws_vpc_security_group_egress_rule')).not.toEqual({});
    for (const rule of Object.values(resources(isolated, 'aws_vpc_security_group_egress_rule'))) {
      expect(rule).toEqual(expect.objectContaining({ ip_protocol: 'tcp', from_port: 443, to_port: 443 }));
      expect(rule.cidr_ipv4).toBeUndefined();
    }
  });

  it('has direct internet access outside a VPC only when it is a sandbox', () => {
    const open = synth((scope) => void new ModelNotebook(scope, 'notebook', { ...base, subnetId: undefined, securityGroupIds: undefined, sandbox: true }));
    const instance = only(open, 'aws_sagemaker_notebook_instance');
    expect(instance.direct_internet_access).toBe('Enabled');
    expect(instance.subnet_id).toBeUndefined();
    expect(resources(open, 'aws_vpc')).toEqual({});
  });
});

describe('ModelNotebook props', () => {
  it.each<[string, Partial<ModelNotebookProps>, string]>([
    ['a subnet without security groups', { securityGroupIds: undefined }, 'ModelNotebook subnetId and securityGroupIds must be given together (both or neither)'],
    ['security groups without a subnet', { subnetId: undefined }, 'ModelNotebook subnetId and securityGroupIds must be given together (both or neither)'],
    ['a sandbox in a subnet', { sandbox: true }, 'ModelNotebook sandbox runs the instance with direct internet access outside any VPC: drop subnetId and securityGroupIds, or sandbox'],
    ['a network CIDR beside a given subnet', { vpcCidr: '10.0.0.0/24' }, 'ModelNotebook vpcCidr is the network created when there is no subnet and no sandbox; it cannot be given with subnetId'],
    ['a network CIDR that is no /16 to /27 block', { subnetId: undefined, securityGroupIds: undefined, vpcCidr: '10.0.0.0/8' }, "ModelNotebook vpcCidr '10.0.0.0/8' must be an IPv4 CIDR block from /16 to /27, such as '10.42.0.0/24'"],
    ['a bad instance type', { instanceType: 't3.medium' }, "ModelNotebook instanceType must look like 'ml.t3.medium', got 't3.medium'"],
    ['a role that is not an IAM ARN', { sagemakerRoleArn: 'my-role' }, "ModelNotebook sagemakerRoleArn must be an ARN of service iam (arn:<partition>:iam:...), got 'my-role'"],
    ['a notebooks folder without notebooks', { notebooksFolder: __dirname }, `ModelNotebook notebooks folder '${__dirname}' holds no .ipynb file`],
  ])('rejects %s', (_case, override, message) => {
    expect(() => synth((scope) => void new ModelNotebook(scope, 'notebook', { ...base, ...override }))).toThrow(message);
  });
});
