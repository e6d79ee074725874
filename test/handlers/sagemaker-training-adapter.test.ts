import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  ResourceInUse,
  ResourceNotFound,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createTrainingJobRequest, SageMakerTraining } from '../../handlers/adapters/sagemaker-training';
import type { TrainingJobSpec } from '../../handlers/ports';

const sageMaker = mockClient(SageMakerClient);
const adapter = () => new SageMakerTraining(new SageMakerClient({ region: 'us-east-1' }));
const $metadata = {};
const JOB = 'deploy-guard-dev-20261120-0900-5f2c1a';

const spec: TrainingJobSpec = {
  trainingJobName: JOB,
  imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
  roleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-training',
  instanceType: 'ml.m5.xlarge',
  instanceCount: 2,
  maxRuntimeSeconds: 1800,
  hyperparameters: { num_round: '300', window_from: '2026-08-23', window_to: '2026-11-20', sagemaker_program: '"train.py"' },
  trainS3Uri: 's3://deploy-guard-dev-data/rows/',
  outputS3Uri: 's3://deploy-guard-dev-models/training/',
  tags: { 'deploy-guard:name-prefix': 'deploy-guard-dev' },
};
const csv = (ChannelName: string, S3Uri: string) => ({
  ChannelName,
  DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri, S3DataDistributionType: 'FullyReplicated' } },
  ContentType: 'text/csv',
  CompressionType: 'None',
});
const summary = (TrainingJobName: string, TrainingJobStatus: 'InProgress' | 'Stopping') => ({ TrainingJobName, TrainingJobArn: `arn:${TrainingJobName}`, TrainingJobStatus, CreationTime: new Date(0) });

beforeEach(() => sageMaker.reset());

describe('SageMakerTraining.startTrainingJob', () => {
  it('sends CreateTrainingJob with exactly the spec: File mode, the channels, output, resources, stopping condition, hyperparameters, tags', async () => {
    sageMaker.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${JOB}` });
    await expect(adapter().startTrainingJob({ ...spec, servingModelS3Uri: 's3://m/serving/model.tar.gz' })).resolves.toBe('started');
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
    expect(sageMaker.commandCalls(CreateTrainingJobCommand)[0].args[0].input).toEqual({
      TrainingJobName: JOB,
      AlgorithmSpecification: { TrainingImage: spec.imageUri, TrainingInputMode: 'File' },
      RoleArn: spec.roleArn,
      HyperParameters: spec.hyperparameters,
      InputDataConfig: [
        csv('train', 's3://deploy-guard-dev-data/rows/'),
        {
          ChannelName: 'serving',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://m/serving/model.tar.gz', S3DataDistributionType: 'FullyReplicated' } },
          ContentType: 'application/x-gzip',
          CompressionType: 'None',
        },
      ],
      OutputDataConfig: { S3OutputPath: 's3://deploy-guard-dev-models/training/' },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 2, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 1800 },
      Tags: [{ Key: 'deploy-guard:name-prefix', Value: 'deploy-guard-dev' }],
    });
  });

  it('adds a validation channel only when the spec has one', async () => {
    sageMaker.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn' });
    await adapter().startTrainingJob({ ...spec, validationS3Uri: 's3://b/validation/' });
    expect(sageMaker.commandCalls(CreateTrainingJobCommand)[0].args[0].input.InputDataConfig).toEqual([
      csv('train', 's3://deploy-guard-dev-data/rows/'),
      csv('validation', 's3://b/validation/'),
    ]);
  });

  it.each([
    ['ResourceInUse', new ResourceInUse({ message: `Training job ${JOB} already exists`, $metadata })],
    [
      'ValidationException (names must be unique)',
      new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Training job names must be unique within an AWS account and region, and a training job with this name already exists', $metadata }),
    ],
  ])('a name that is taken (%s) is already-exists', async (_name, error) => {
    sageMaker.on(CreateTrainingJobCommand).rejects(error);
    await expect(adapter().startTrainingJob(spec)).resolves.toBe('already-exists');
  });

  it.each([
    ['another ValidationException', new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Invalid hyperparameter', $metadata })],
    ['throttling left after the retries', new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata })],
    ['ResourceLimitExceeded', new SageMakerServiceException({ name: 'ResourceLimitExceeded', $fault: 'client', message: 'The account-level service limit for ml.m5.xlarge is 0', $metadata })],
  ])('%s is thrown', async (_name, error) => {
    sageMaker.on(CreateTrainingJobCommand).rejects(error);
    await expect(adapter().startTrainingJob(spec)).rejects.toThrow(error.message);
  });
});

describe('SageMakerTraining.runningJobs', () => {
  it('lists InProgress and Stopping jobs named exactly as drift names them, following NextToken', async () => {
    sageMaker
      .on(ListTrainingJobsCommand, { NameContains: 'deploy-guard-dev', StatusEquals: 'InProgress', MaxResults: 100 })
      .resolves({
        TrainingJobSummaries: [
          summary(`${JOB}`, 'InProgress'),
          summary('other-deploy-guard-dev-x', 'InProgress'),
          // Another installation whose prefix starts with ours: its jobs are not ours.
          summary('deploy-guard-dev-x-20261119-0900-222222', 'InProgress'),
        ],
        NextToken: 'page-2',
      })
      .on(ListTrainingJobsCommand, { NameContains: 'deploy-guard-dev', StatusEquals: 'InProgress', MaxResults: 100, NextToken: 'page-2' })
      .resolves({ TrainingJobSummaries: [summary('deploy-guard-dev-20261119-0900-000000', 'InProgress')] })
      .on(ListTrainingJobsCommand, { NameContains: 'deploy-guard-dev', StatusEquals: 'Stopping', MaxResults: 100 })
      .resolves({ TrainingJobSummaries: [summary('deploy-guard-dev-20261118-0900-111111', 'Stopping')] });
    await expect(adapter().runningJobs('deploy-guard-dev')).resolves.toEqual([JOB, 'deploy-guard-dev-20261119-0900-000000', 'deploy-guard-dev-20261118-0900-111111']);
    expect(sageMaker).toHaveReceivedCommandTimes(ListTrainingJobsCommand, 3);
  });

  it('is empty when nothing runs', async () => {
    sageMaker.on(ListTrainingJobsCommand).resolves({ TrainingJobSummaries: [] });
    await expect(adapter().runningJobs('deploy-guard-dev')).resolves.toEqual([]);
  });
});

describe('SageMakerTraining.describeTrainingJob', () => {
  it('reads status, failure reason and model artifacts', async () => {
    sageMaker.on(DescribeTrainingJobCommand, { TrainingJobName: JOB }).resolves({
      TrainingJobName: JOB,
      TrainingJobStatus: 'Failed',
      FailureReason: 'AlgorithmError: train.py: hyperparameter num_round is required',
    } as never);
    await expect(adapter().describeTrainingJob(JOB)).resolves.toEqual({
      trainingJobName: JOB,
      status: 'Failed',
      failureReason: 'AlgorithmError: train.py: hyperparameter num_round is required',
      channels: [],
      hyperparameters: {},
    });
    sageMaker.on(DescribeTrainingJobCommand, { TrainingJobName: JOB }).resolves({ TrainingJobName: JOB, TrainingJobStatus: 'Completed', ModelArtifacts: { S3ModelArtifacts: 's3://m/training/x/output/model.tar.gz' } } as never);
    await expect(adapter().describeTrainingJob(JOB)).resolves.toMatchObject({ trainingJobName: JOB, status: 'Completed', modelArtifactsUrl: 's3://m/training/x/output/model.tar.gz' });
  });

  it('reads what promote checks against drift\'s record: role, image, channels, output prefix, hyperparameters', async () => {
    const withServing = { ...spec, servingModelS3Uri: 's3://deploy-guard-dev-models/models/initial/model.tar.gz' };
    const request = createTrainingJobRequest(withServing);
    sageMaker.on(DescribeTrainingJobCommand, { TrainingJobName: JOB }).resolves({ ...request, TrainingJobStatus: 'InProgress' } as never);
    await expect(adapter().describeTrainingJob(JOB)).resolves.toEqual({
      trainingJobName: JOB,
      status: 'InProgress',
      roleArn: withServing.roleArn,
      imageUri: withServing.imageUri,
      channels: [
        { name: 'train', s3Uri: withServing.trainS3Uri },
        { name: 'serving', s3Uri: withServing.servingModelS3Uri },
      ],
      outputS3Uri: withServing.outputS3Uri,
      hyperparameters: withServing.hyperparameters,
    });
  });

  it('a job that does not exist is undefined', async () => {
    sageMaker.on(DescribeTrainingJobCommand).rejects(new ResourceNotFound({ message: 'Requested resource not found.', $metadata }));
    await expect(adapter().describeTrainingJob(JOB)).resolves.toBeUndefined();
    sageMaker.on(DescribeTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Requested resource not found.', $metadata }));
    await expect(adapter().describeTrainingJob(JOB)).resolves.toBeUndefined();
  });

  it('an answer without a known status is an error naming the job', async () => {
    sageMaker.on(DescribeTrainingJobCommand).resolves({ TrainingJobName: JOB } as never);
    await expect(adapter().describeTrainingJob(JOB)).rejects.toThrow(`DescribeTrainingJob for ${JOB} returned TrainingJobStatus undefined`);
  });
});
