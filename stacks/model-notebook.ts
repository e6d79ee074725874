import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { SagemakerNotebookInstance } from '@cdktf/provider-aws/lib/sagemaker-notebook-instance';
import { SagemakerNotebookInstanceLifecycleConfiguration } from '@cdktf/provider-aws/lib/sagemaker-notebook-instance-lifecycle-configuration';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { ENV } from '../handlers/config';
import { NOTEBOOK_WORK_PREFIX, SERVED_MODELS_PREFIX, TRAINING_CODE_PREFIX, TRAINING_OUTPUT_PREFIX, TRAINING_ROWS_PREFIX } from '../handlers/s3-layout';
import {
  bucketArn,
  isToken,
  objectsArn,
  policyDocument,
  serviceTrustPolicy,
  validateAccountId,
  validateArn,
  validateInteger,
  validateNamePrefix,
  validateRegion,
  type PolicyStatement,
} from './construct-support';
import { awsPartition } from './image-uris';
import { ownName } from '../events/names';

const NAME = 'ModelNotebook';

/** The project's notebooks folder: every *.ipynb in it is uploaded. */
const NOTEBOOKS_FOLDER = path.resolve(__dirname, '..', 'notebooks');

/** Where the notebooks' own SageMaker work goes in the model bucket (DEPLOY_GUARD_S3_PREFIX; handlers/s3-layout.ts). */
export { NOTEBOOK_WORK_PREFIX };
/** Notebook 03 names its training job, model, endpoint config and endpoint `deploy-guard-YYYYMMDD-HHMMSS`. */
export const NOTEBOOK_JOB_NAME_PATTERN = 'deploy-guard-20*';

/** On the instance: the folder the notebooks are copied to, and the environment file beside them. */
export const NOTEBOOK_HOME = '/home/ec2-user/SageMaker/deploy-guard';
export const NOTEBOOK_ENVIRONMENT_FILE = `${NOTEBOOK_HOME}/environment.json`;
/** An IPython startup file loads the environment file into os.environ of every kernel. */
const IPYTHON_STARTUP = '/home/ec2-user/.ipython/profile_default/startup/00-deploy-guard-environment.py';

export interface ModelNotebookProps {
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  /** Encrypts the notebook's storage volume and the buckets' objects. */
  readonly kmsKeyArn: string;
  /** @default 'ml.t3.medium' */
  readonly instanceType?: string;
  /** @default 20 */
  readonly volumeSizeGb?: number;
  /**
   * A sandbox account only: the instance has direct internet access and no VPC (anything a kernel
   * runs can send data anywhere). Otherwise it runs in a subnet without direct internet: the one
   * given (subnetId, securityGroupIds), or a private network of its own. @default false
   */
  readonly sandbox?: boolean;
  /** An existing subnet (with routes or endpoints to S3, SageMaker and STS) and its security groups: both or neither. */
  readonly subnetId?: string;
  readonly securityGroupIds?: readonly string[];
  /** The CIDR block of the private network created when no subnet is given, a /16 to /27. @default '10.42.0.0/24' */
  readonly vpcCidr?: string;
  /** The data lake (labelled rows, read only). */
  readonly dataBucketName: string;
  /** The model bucket: the notebooks are uploaded to it, and notebook 03 works under `notebook/`. */
  readonly modelBucketName: string;
  /** @default 'notebooks/' */
  readonly notebooksPrefix?: string;
  /** @default this project's notebooks/ */
  readonly notebooksFolder?: string;
  /** The prediction endpoint the notebooks may invoke. */
  readonly endpointName: string;
  /** DynamoDB tables the notebooks may read, by name. */
  readonly tables: { readonly deployments: string; readonly history: string; readonly changes: string; readonly control: string };
  /** The SageMaker execution role notebook 03 passes to its training job and model (Retraining.role). */
  readonly sagemakerRoleArn: string;
  /**
   * A git repository (URL or SageMaker code repository name) cloned as the instance's default
   * repository: the Deploy Guard checkout the notebooks run the CLI of.
   */
  readonly defaultCodeRepository?: string;
}

/**
 * A SageMaker notebook instance for the data scientists: root access disabled, volume encrypted with
 * the KMS key, the project's notebooks copied in from S3 on creation, and the installation's
 * environment (buckets, endpoint, tables, role) written on every start to a file that every kernel
 * loads into os.environ, where the notebooks read it. Its role reads what the notebooks read and
 * runs notebook 03's own SageMaker resources only.
 */
export class ModelNotebook extends Construct {
  readonly instance: SagemakerNotebookInstance;
  readonly lifecycleConfiguration: SagemakerNotebookInstanceLifecycleConfiguration;
  readonly role: IamRole;
  readonly notebookObjects: readonly S3Object[];
  /** The environment written to NOTEBOOK_ENVIRONMENT_FILE. */
  readonly environment: Readonly<Record<string, string>>;
  readonly instanceName: string;
  /** The private network the instance runs in, when no subnet was given and it is not a sandbox. */
  readonly network?: NotebookNetwork;

  constructor(scope: Construct, id: string, props: ModelNotebookProps) {
    super(scope, id);
    validateProps(props);
    const { namePrefix, region, accountId, kmsKeyArn, dataBucketName, modelBucketName } = props;
    const partition = awsPartition(region);
    const notebooksPrefix = props.notebooksPrefix ?? 'notebooks/';
    this.instanceName = ownName(namePrefix, 'notebook');

    const folder = props.notebooksFolder ?? NOTEBOOKS_FOLDER;
    const files = notebookFiles(folder);
    this.notebookObjects = files.map(
      (file) =>
        new S3Object(this, `notebook-${file.replace(/\.ipynb$/, '')}`, {
          bucket: modelBucketName,
          key: `${notebooksPrefix}${file}`,
          contentBase64: readFileSync(path.join(folder, file)).toString('base64'),
          contentType: 'application/x-ipynb+json',
          serverSideEncryption: 'aws:kms',
          kmsKeyId: kmsKeyArn,
          bucketKeyEnabled: true,
        }),
    );

    this.environment = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      [ENV.namePrefix]: namePrefix,
      [ENV.dataBucket]: dataBucketName,
      [ENV.modelBucket]: modelBucketName,
      [ENV.endpointName]: props.endpointName,
      [ENV.deploymentsTable]: props.tables.deployments,
      [ENV.historyTable]: props.tables.history,
      [ENV.changesTable]: props.tables.changes,
      [ENV.controlTable]: props.tables.control,
      // What notebook 03 reads.
      DEPLOY_GUARD_S3_BUCKET: modelBucketName,
      DEPLOY_GUARD_S3_PREFIX: NOTEBOOK_WORK_PREFIX.slice(0, -1),
      DEPLOY_GUARD_SAGEMAKER_ROLE_ARN: props.sagemakerRoleArn,
      ...(props.defaultCodeRepository ? { DEPLOY_GUARD_ROOT: `/home/ec2-user/SageMaker/${repositoryFolder(props.defaultCodeRepository)}` } : {}),
    };

    this.role = new IamRole(this, 'role', {
      name: ownName(namePrefix, 'notebook'),
      description: 'Deploy Guard notebook instance: reads history and models, runs notebook 03 training jobs',
      assumeRolePolicy: serviceTrustPolicy('sagemaker.amazonaws.com', accountId),
    });
    const sagemakerArn = (type: string) => `arn:${partition}:sagemaker:${region}:${accountId}:${type}/${NOTEBOOK_JOB_NAME_PATTERN}`;
    const tableArns = Object.values(props.tables).map((table) => `arn:${partition}:dynamodb:${region}:${accountId}:table/${table}`);
    const statements: PolicyStatement[] = [
      { Sid: 'ReadNotebooks', Action: ['s3:GetObject'], Resource: objectsArn(partition, modelBucketName, notebooksPrefix) },
      { Sid: 'ListBuckets', Action: ['s3:ListBucket'], Resource: [bucketArn(partition, modelBucketName), bucketArn(partition, dataBucketName)] },
      // Read only: the served models, the training code and the jobs' output. The notebook writes its own folder, never models/.
      { Sid: 'ReadModelsAndCode', Action: ['s3:GetObject'], Resource: [SERVED_MODELS_PREFIX, TRAINING_CODE_PREFIX, TRAINING_OUTPUT_PREFIX].map((prefix) => objectsArn(partition, modelBucketName, prefix)) },
      { Sid: 'ReadTrainingData', Action: ['s3:GetObject'], Resource: objectsArn(partition, dataBucketName, TRAINING_ROWS_PREFIX) },
      { Sid: 'NotebookWork', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: objectsArn(partition, modelBucketName, NOTEBOOK_WORK_PREFIX) },
      { Sid: 'UseKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], Resource: kmsKeyArn },
      // Keyed reads only: no Scan, which would read every table whole.
      { Sid: 'ReadTables', Action: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], Resource: [...tableArns, ...tableArns.map((arn) => `${arn}/index/*`)] },
      { Sid: 'InvokeEndpoint', Action: ['sagemaker:InvokeEndpoint'], Resource: `arn:${partition}:sagemaker:${region}:${accountId}:endpoint/${props.endpointName}` },
      {
        Sid: 'NotebookTrainingAndHosting',
        Action: [
          'sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob',
          'sagemaker:CreateModel', 'sagemaker:DescribeModel', 'sagemaker:DeleteModel',
          'sagemaker:CreateEndpointConfig', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DeleteEndpointConfig',
          'sagemaker:CreateEndpoint', 'sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint', 'sagemaker:InvokeEndpoint',
        ],
        Resource: ['training-job', 'model', 'endpoint-config', 'endpoint'].map(sagemakerArn),
      },
      {
        Sid: 'PassExecutionRole',
        Action: ['iam:PassRole'],
        Resource: props.sagemakerRoleArn,
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
      {
        Sid: 'NotebookLogs',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:DescribeLogStreams'],
        Resource: ['NotebookInstances', 'TrainingJobs'].flatMap((group) => [
          `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/${group}`,
          `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/${group}:log-stream:*`,
        ]),
      },
    ];
    new IamRolePolicy(this, 'role-policy', { name: 'model-notebook', role: this.role.id, policy: policyDocument(statements) });

    this.lifecycleConfiguration = new SagemakerNotebookInstanceLifecycleConfiguration(this, 'lifecycle', {
      name: ownName(namePrefix, 'notebook'),
      onCreate: Fn.base64encode(onCreateScript(region, modelBucketName, notebooksPrefix)),
      onStart: Fn.base64encode(onStartScript(this.environment)),
    });

    if (props.sandbox !== true && props.subnetId === undefined) {
      this.network = new NotebookNetwork(this, 'network', { namePrefix, region, cidr: props.vpcCidr ?? DEFAULT_NOTEBOOK_VPC_CIDR });
    }
    const subnetId = this.network?.subnet.id ?? props.subnetId;
    const securityGroupIds = this.network ? [this.network.instanceSecurityGroup.id] : (props.securityGroupIds ?? []);
    this.instance = new SagemakerNotebookInstance(this, 'instance', {
      name: this.instanceName,
      roleArn: this.role.arn,
      instanceType: props.instanceType ?? 'ml.t3.medium',
      volumeSize: props.volumeSizeGb ?? 20,
      kmsKeyId: kmsKeyArn,
      rootAccess: 'Disabled',
      directInternetAccess: props.sandbox === true ? 'Enabled' : 'Disabled',
      ...(subnetId !== undefined ? { subnetId, securityGroups: [...securityGroupIds] } : {}),
      lifecycleConfigName: this.lifecycleConfiguration.name,
      instanceMetadataServiceConfiguration: { minimumInstanceMetadataServiceVersion: '2' },
      ...(props.defaultCodeRepository ? { defaultCodeRepository: props.defaultCodeRepository } : {}),
      dependsOn: this.notebookObjects.slice(),
    });
  }
}

/** The private network's CIDR block when none is configured. */
export const DEFAULT_NOTEBOOK_VPC_CIDR = '10.42.0.0/24';

/** The AWS APIs a notebook calls, reached through interface endpoints: SageMaker (training, hosting, invoking), STS, its logs. */
const NOTEBOOK_INTERFACE_ENDPOINTS = ['sagemaker.api', 'sagemaker.runtime', 'sts', 'logs'] as const;

/**
 * A network with no way out to the internet for the notebook instance: one subnet whose route table
 * has no internet or NAT gateway, S3 and DynamoDB reached through gateway endpoints, and the other
 * APIs the notebooks call through interface endpoints. The instance's security group accepts
 * nothing and sends only HTTPS to the endpoints.
 */
export class NotebookNetwork extends Construct {
  readonly vpc: Vpc;
  readonly subnet: Subnet;
  readonly instanceSecurityGroup: SecurityGroup;
  readonly endpoints: readonly VpcEndpoint[];

  constructor(scope: Construct, id: string, props: { readonly namePrefix: string; readonly region: string; readonly cidr: string }) {
    super(scope, id);
    const { namePrefix, region, cidr } = props;
    const name = ownName(namePrefix, 'notebook');
    this.vpc = new Vpc(this, 'vpc', { cidrBlock: cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } });
    this.subnet = new Subnet(this, 'subnet', { vpcId: this.vpc.id, cidrBlock: cidr, mapPublicIpOnLaunch: false, tags: { Name: `${name}-private` } });
    const routes = new RouteTable(this, 'routes', { vpcId: this.vpc.id, tags: { Name: `${name}-private` } });
    new RouteTableAssociation(this, 'routes-subnet', { routeTableId: routes.id, subnetId: this.subnet.id });

    this.instanceSecurityGroup = new SecurityGroup(this, 'instance-security-group', { name: `${name}-instance`, description: 'Deploy Guard notebook: no inbound; HTTPS to the VPC endpoints only', vpcId: this.vpc.id });
    const endpointGroup = new SecurityGroup(this, 'endpoint-security-group', { name: `${name}-endpoints`, description: 'Deploy Guard notebook VPC endpoints: HTTPS from the notebook', vpcId: this.vpc.id });
    new VpcSecurityGroupIngressRule(this, 'endpoints-from-instance', { securityGroupId: endpointGroup.id, referencedSecurityGroupId: this.instanceSecurityGroup.id, ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS from the notebook' });
    new VpcSecurityGroupEgressRule(this, 'instance-to-endpoints', { securityGroupId: this.instanceSecurityGroup.id, referencedSecurityGroupId: endpointGroup.id, ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS to the interface endpoints' });

    const gateways = (['s3', 'dynamodb'] as const).map(
      (service) => new VpcEndpoint(this, `endpoint-${service}`, { vpcId: this.vpc.id, serviceName: `com.amazonaws.${region}.${service}`, vpcEndpointType: 'Gateway', routeTableIds: [routes.id], tags: { Name: `${name}-${service}` } }),
    );
    for (const gateway of gateways) {
      new VpcSecurityGroupEgressRule(gateway, 'instance-egress', { securityGroupId: this.instanceSecurityGroup.id, prefixListId: gateway.prefixListId, ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS to the gateway endpoint' });
    }
    const interfaces = NOTEBOOK_INTERFACE_ENDPOINTS.map(
      (service) =>
        new VpcEndpoint(this, `endpoint-${service.replace('.', '-')}`, {
          vpcId: this.vpc.id,
          serviceName: `com.amazonaws.${region}.${service}`,
          vpcEndpointType: 'Interface',
          subnetIds: [this.subnet.id],
          securityGroupIds: [endpointGroup.id],
          privateDnsEnabled: true,
          tags: { Name: `${name}-${service}` },
        }),
    );
    this.endpoints = [...gateways, ...interfaces];
  }
}

/** The *.ipynb files of a folder, sorted; an error names the folder when there are none. */
export function notebookFiles(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    throw new Error(`${NAME} cannot read the notebooks folder '${folder}': ${(error as Error).message}`);
  }
  const notebooks = names.filter((name) => name.endsWith('.ipynb')).sort();
  if (notebooks.length === 0) throw new Error(`${NAME} notebooks folder '${folder}' holds no .ipynb file`);
  return notebooks;
}

/**
 * Runs once, as root, when the instance is created: copies the notebooks into the persistent
 * ~/SageMaker volume (later starts leave the data scientists' edits alone).
 * The scripts hold no `${` (Terraform would read an interpolation) and no double quote (cdktf refuses
 * one in a function argument); values with Terraform references enter through Fn.jsonencode.
 */
function onCreateScript(region: string, bucket: string, prefix: string): string {
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    `target='${NOTEBOOK_HOME}/notebooks'`,
    'mkdir -p $target',
    `aws s3 cp --recursive --region '${region}' 's3://${bucket}/${prefix}' $target --exclude '*' --include '*.ipynb'`,
    `chown -R ec2-user:ec2-user '${NOTEBOOK_HOME}'`,
    '',
  ].join('\n');
}

/**
 * Runs as root on every start (the home folder outside ~/SageMaker is not kept across stops): writes
 * the environment file and the IPython startup file that loads it (without overriding variables
 * already set), so `os.environ.get("DEPLOY_GUARD_S3_BUCKET")` works in every notebook.
 */
function onStartScript(environment: Readonly<Record<string, string>>): string {
  const loader = [
    'import json, os',
    `path = '${NOTEBOOK_ENVIRONMENT_FILE}'`,
    'if os.path.exists(path):',
    '    with open(path) as handle:',
    '        for name, value in json.load(handle).items():',
    '            os.environ.setdefault(name, value)',
  ].join('\n');
  const before = [
    '#!/bin/bash',
    'set -euo pipefail',
    `mkdir -p '${NOTEBOOK_HOME}' '${path.posix.dirname(IPYTHON_STARTUP)}'`,
    `cat > '${NOTEBOOK_ENVIRONMENT_FILE}' <<'DEPLOY_GUARD_ENVIRONMENT'`,
    '',
  ].join('\n');
  const after = [
    '',
    'DEPLOY_GUARD_ENVIRONMENT',
    `cat > '${IPYTHON_STARTUP}' <<'DEPLOY_GUARD_STARTUP'`,
    loader,
    'DEPLOY_GUARD_STARTUP',
    `chown ec2-user:ec2-user '${NOTEBOOK_ENVIRONMENT_FILE}'`,
    'chown -R ec2-user:ec2-user /home/ec2-user/.ipython',
    '',
  ].join('\n');
  return Fn.join('', [before, Fn.jsonencode(environment), after]);
}

function repositoryFolder(repository: string): string {
  const last = repository.replace(/\/+$/, '').split('/').pop() ?? repository;
  return last.replace(/\.git$/, '');
}

function validateProps(props: ModelNotebookProps): void {
  validateNamePrefix(NAME, props.namePrefix, 40);
  validateRegion(NAME, props.region);
  validateAccountId(NAME, props.accountId);
  validateArn(NAME, 'kmsKeyArn', props.kmsKeyArn, 'kms');
  validateArn(NAME, 'sagemakerRoleArn', props.sagemakerRoleArn, 'iam');
  if (props.instanceType !== undefined && !/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(props.instanceType)) {
    throw new Error(`${NAME} instanceType must look like 'ml.t3.medium', got '${props.instanceType}'`);
  }
  if (props.volumeSizeGb !== undefined) validateInteger(NAME, 'volumeSizeGb', props.volumeSizeGb, 5, 16384);
  const hasSubnet = props.subnetId !== undefined;
  const hasGroups = props.securityGroupIds !== undefined && props.securityGroupIds.length > 0;
  if (hasSubnet !== hasGroups) throw new Error(`${NAME} subnetId and securityGroupIds must be given together (both or neither)`);
  if (props.sandbox === true && hasSubnet) {
    throw new Error(`${NAME} sandbox runs the instance with direct internet access outside any VPC: drop subnetId and securityGroupIds, or sandbox`);
  }
  if (props.vpcCidr !== undefined && (props.sandbox === true || hasSubnet)) {
    throw new Error(`${NAME} vpcCidr is the network created when there is no subnet and no sandbox; it cannot be given with ${hasSubnet ? 'subnetId' : 'sandbox'}`);
  }
  if (props.vpcCidr !== undefined && !/^(?:\d{1,3}\.){3}\d{1,3}\/(?:1[6-9]|2[0-7])$/.test(props.vpcCidr)) {
    throw new Error(`${NAME} vpcCidr '${props.vpcCidr}' must be an IPv4 CIDR block from /16 to /27, such as '10.42.0.0/24'`);
  }
  if (props.notebooksPrefix !== undefined && (isToken(props.notebooksPrefix) || !/^(?:[A-Za-z0-9_.-]+\/)+$/.test(props.notebooksPrefix))) {
    throw new Error(`${NAME} notebooksPrefix '${props.notebooksPrefix}' must be a literal S3 key prefix ending with '/', without a leading '/'`);
  }
  for (const [name, value] of Object.entries({ endpointName: props.endpointName, ...props.tables })) {
    if (!isToken(value) && !/^[A-Za-z0-9_.-]{1,255}$/.test(value)) throw new Error(`${NAME} ${name} '${value}' must be a name (letters, digits, _ . -)`);
  }
}
