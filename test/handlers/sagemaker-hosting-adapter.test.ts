import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  DescribeEndpointCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  SageMakerServiceException,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SageMakerHosting } from '../../handlers/adapters/sagemaker-hosting';

const sageMaker = mockClient(SageMakerClient);
const adapter = () => new SageMakerHosting(new SageMakerClient({ region: 'us-east-1' }));
const $metadata = {};
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const MODEL_URL = 's3://deploy-guard-dev-models/training/deploy-guard-dev-20261120-0900-5f2c1a/output/model.tar.gz';
const NAME = 'deploy-guard-dev-20261120-0900-5f2c1a';
const validation = (message: string) => new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message, $metadata });

beforeEach(() => sageMaker.reset());

const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev-risk/7';
const packageInput = (approval: 'Approved' | 'PendingManualApproval') => ({
  modelPackageGroupName: 'deploy-guard-dev-risk',
  trainingJobName: NAME,
  imageUri: IMAGE,
  modelDataUrl: MODEL_URL,
  approval,
  description: 'why',
});

describe('SageMakerHosting.registerModelPackage', () => {
  it.each(['Approved', 'PendingManualApproval'] as const)('sends CreateModelPackage (%s) with the text/csv inference specification, the job as metadata and idempotency token', async (approval) => {
    sageMaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
    await expect(adapter().registerModelPackage(packageInput(approval))).resolves.toEqual({ modelPackageArn: PACKAGE_ARN });
    expect(sageMaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: 'deploy-guard-dev-risk',
      ModelPackageDescription: `${NAME}: why`,
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: MODEL_URL }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
      ModelApprovalStatus: approval,
      CustomerMetadataProperties: { 'deploy-guard:training-job': NAME },
      ClientToken: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('the same job sends the same ClientToken (a retry after a lost response gets the same package), another job another', async () => {
    sageMaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
    await adapter().registerModelPackage(packageInput('Approved'));
    await adapter().registerModelPackage(packageInput('Approved'));
    await adapter().registerModelPackage({ ...packageInput('Approved'), trainingJobName: 'deploy-guard-dev-20261121-0900-000000' });
    const tokens = sageMaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  it('a missing group is thrown', async () => {
    sageMaker.on(CreateModelPackageCommand).rejects(validation('Model Package Group deploy-guard-dev does not exist.'));
    await expect(adapter().registerModelPackage(packageInput('Approved'))).rejects.toThrow('Model Package Group deploy-guard-dev does not exist.');
  });
});

describe('SageMakerHosting.findModelPackage and describeModelPackage', () => {
  it("finds the job's package among the group's newest by its description; another job's is not it", async () => {
    sageMaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: `${PACKAGE_ARN}8`, ModelPackageDescription: 'deploy-guard-dev-20261120-0900-5f2c1ab: other', ModelPackageGroupName: 'g', ModelPackageVersion: 8, CreationTime: new Date(), ModelPackageStatus: 'Completed' },
        { ModelPackageArn: PACKAGE_ARN, ModelPackageDescription: `${NAME}: why`, ModelPackageGroupName: 'g', ModelPackageVersion: 7, CreationTime: new Date(), ModelPackageStatus: 'Completed' },
      ],
    });
    await expect(adapter().findModelPackage('deploy-guard-dev-risk', NAME)).resolves.toBe(PACKAGE_ARN);
    await expect(adapter().findModelPackage('deploy-guard-dev-risk', 'deploy-guard-dev-20261121-0900-000000')).resolves.toBeUndefined();
    expect(sageMaker).toHaveReceivedCommandWith(ListModelPackagesCommand, { ModelPackageGroupName: 'deploy-guard-dev-risk', SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100 });
  });

  it('describes a package: its group, approval, model data and the job from its metadata', async () => {
    sageMaker.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: PACKAGE_ARN,
      ModelPackageName: 'x',
      ModelPackageGroupName: 'deploy-guard-dev-risk',
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: MODEL_URL }], SupportedContentTypes: [], SupportedResponseMIMETypes: [] },
      CustomerMetadataProperties: { 'deploy-guard:training-job': NAME },
      CreationTime: new Date(),
      ModelPackageStatus: 'Completed',
    });
    await expect(adapter().describeModelPackage(PACKAGE_ARN)).resolves.toEqual({
      modelPackageArn: PACKAGE_ARN,
      modelPackageGroupName: 'deploy-guard-dev-risk',
      approval: 'Approved',
      modelDataUrl: MODEL_URL,
      trainingJobName: NAME,
    });
  });
});

describe('SageMakerHosting.describeEndpoint', () => {
  it('the config it serves and the one an update in progress moves it to', async () => {
    sageMaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'deploy-guard-dev',
      EndpointArn: 'arn',
      EndpointConfigName: 'old',
      EndpointStatus: 'Updating',
      PendingDeploymentSummary: { EndpointConfigName: NAME },
      CreationTime: new Date(),
      LastModifiedTime: new Date(),
    });
    await expect(adapter().describeEndpoint('deploy-guard-dev')).resolves.toEqual({ status: 'Updating', endpointConfigName: 'old', pendingEndpointConfigName: NAME });
  });
});

describe('SageMakerHosting.createModel', () => {
  const input = { modelName: NAME, imageUri: IMAGE, modelDataUrl: MODEL_URL, executionRoleArn: 'arn:aws:iam::123456789012:role/endpoint' };

  it('sends CreateModel with the container and the execution role', async () => {
    sageMaker.on(CreateModelCommand).resolves({ ModelArn: 'arn' });
    await adapter().createModel(input);
    expect(sageMaker.commandCalls(CreateModelCommand)[0].args[0].input).toEqual({
      ModelName: NAME,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: MODEL_URL },
      ExecutionRoleArn: 'arn:aws:iam::123456789012:role/endpoint',
    });
  });

  it('a model that exists already counts as created; any other refusal is thrown', async () => {
    sageMaker.on(CreateModelCommand).rejects(validation(`Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/${NAME}".`));
    await expect(adapter().createModel(input)).resolves.toBeUndefined();
    sageMaker.on(CreateModelCommand).rejects(validation('Could not access model data at s3://…'));
    await expect(adapter().createModel(input)).rejects.toThrow('Could not access model data');
  });
});

describe('SageMakerHosting.createEndpointConfig', () => {
  it('serverless: one variant with ServerlessConfig', async () => {
    sageMaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn' });
    await adapter().createEndpointConfig({ endpointConfigName: NAME, modelName: NAME, hosting: { kind: 'serverless', memorySizeInMb: 3072, maxConcurrency: 10 } });
    expect(sageMaker.commandCalls(CreateEndpointConfigCommand)[0].args[0].input).toEqual({
      EndpointConfigName: NAME,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME, ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10 } }],
    });
  });

  it('provisioned with data capture: what the stack declared (the volume and capture KMS key, the sampling percentage)', async () => {
    sageMaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn' });
    const key = 'arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    await adapter().createEndpointConfig({
      endpointConfigName: NAME,
      modelName: NAME,
      hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 2, dataCaptureS3Uri: 's3://deploy-guard-prod-captures/endpoint/', dataCaptureSamplingPercentage: 20, kmsKeyArn: key },
    });
    expect(sageMaker.commandCalls(CreateEndpointConfigCommand)[0].args[0].input).toEqual({
      EndpointConfigName: NAME,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME, InstanceType: 'ml.m5.large', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
      KmsKeyId: key,
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 20,
        DestinationS3Uri: 's3://deploy-guard-prod-captures/endpoint/',
        KmsKeyId: key,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
      },
    });
  });

  it('provisioned without capture or key: no DataCaptureConfig, no KmsKeyId; an existing config counts as created', async () => {
    sageMaker.on(CreateEndpointConfigCommand).rejects(validation(`Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${NAME}".`));
    await adapter().createEndpointConfig({ endpointConfigName: NAME, modelName: NAME, hosting: { kind: 'provisioned', instanceType: 'ml.c5.large', initialInstanceCount: 1, dataCaptureSamplingPercentage: 100 } });
    expect(sageMaker.commandCalls(CreateEndpointConfigCommand)[0].args[0].input).toEqual({
      EndpointConfigName: NAME,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME, InstanceType: 'ml.c5.large', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
    });
  });
});

describe('SageMakerHosting.updateEndpoint', () => {
  it('blue/green, all at once, with the bake and termination waits and auto-rollback on the alarms', async () => {
    sageMaker.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn' });
    await adapter().updateEndpoint({ endpointName: 'deploy-guard-dev', endpointConfigName: NAME, rollbackAlarmNames: ['errors', 'latency'] });
    expect(sageMaker.commandCalls(UpdateEndpointCommand)[0].args[0].input).toEqual({
      EndpointName: 'deploy-guard-dev',
      EndpointConfigName: NAME,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 }, TerminationWaitInSeconds: 300 },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'errors' }, { AlarmName: 'latency' }] },
      },
    });
  });

  it('without alarms: no AutoRollbackConfiguration; a refusal (endpoint busy) is thrown', async () => {
    sageMaker.on(UpdateEndpointCommand).rejects(validation('Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/deploy-guard-dev".'));
    await expect(adapter().updateEndpoint({ endpointName: 'deploy-guard-dev', endpointConfigName: NAME, rollbackAlarmNames: [] })).rejects.toThrow('Cannot update in-progress endpoint');
    expect(sageMaker.commandCalls(UpdateEndpointCommand)[0].args[0].input.DeploymentConfig).toEqual({
      BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 }, TerminationWaitInSeconds: 300 },
    });
  });
});
