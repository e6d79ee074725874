import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
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

describe('SageMakerHosting.registerModelPackage', () => {
  it.each(['Approved', 'PendingManualApproval'] as const)('sends CreateModelPackage (%s) with the text/csv inference specification', async (approval) => {
    sageMaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev/7' });
    await expect(
      adapter().registerModelPackage({ modelPackageGroupName: 'deploy-guard-dev', imageUri: IMAGE, modelDataUrl: MODEL_URL, approval, description: 'why' }),
    ).resolves.toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev/7' });
    expect(sageMaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: 'deploy-guard-dev',
      ModelPackageDescription: 'why',
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: MODEL_URL }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
      ModelApprovalStatus: approval,
    });
  });

  it('a missing group is thrown', async () => {
    sageMaker.on(CreateModelPackageCommand).rejects(validation('Model Package Group deploy-guard-dev does not exist.'));
    await expect(
      adapter().registerModelPackage({ modelPackageGroupName: 'deploy-guard-dev', imageUri: IMAGE, modelDataUrl: MODEL_URL, approval: 'Approved', description: 'why' }),
    ).rejects.toThrow('Model Package Group deploy-guard-dev does not exist.');
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

  it('provisioned with data capture: instances and DataCaptureConfig of text/csv input and output', async () => {
    sageMaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn' });
    await adapter().createEndpointConfig({
      endpointConfigName: NAME,
      modelName: NAME,
      hosting: { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 2, dataCaptureS3Uri: 's3://deploy-guard-dev-models/capture/' },
    });
    expect(sageMaker.commandCalls(CreateEndpointConfigCommand)[0].args[0].input).toEqual({
      EndpointConfigName: NAME,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: NAME, InstanceType: 'ml.m5.large', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 100,
        DestinationS3Uri: 's3://deploy-guard-dev-models/capture/',
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
      },
    });
  });

  it('provisioned without capture: no DataCaptureConfig; an existing config counts as created', async () => {
    sageMaker.on(CreateEndpointConfigCommand).rejects(validation(`Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${NAME}".`));
    await adapter().createEndpointConfig({ endpointConfigName: NAME, modelName: NAME, hosting: { kind: 'provisioned', instanceType: 'ml.c5.large', initialInstanceCount: 1 } });
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
