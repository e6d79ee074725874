import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  type Channel,
  type CreateTrainingJobRequest,
  type SageMakerClient,
  type TrainingInstanceType,
} from '@aws-sdk/client-sagemaker';
import { isOwnTrainingJob } from '../drift-domain';
import type { TrainingJobSpec, TrainingJobStatus, TrainingJobSummary, TrainingPort } from '../ports';

/**
 * The training port over SageMaker (AWS SDK v3). A job name that exists already (a redelivered
 * event) comes back as `already-exists`; throttling and transient errors are retried by the client's
 * standard retry mode, and whatever is left is thrown.
 */

/** The training instance's storage: the data lake's rows are small CSV lines. */
export const TRAINING_VOLUME_SIZE_GB = 10;

/** The statuses in which a job still runs (ListTrainingJobs filters on one status per call). */
const RUNNING_STATUSES = ['InProgress', 'Stopping'] as const;
const KNOWN_STATUSES: readonly TrainingJobStatus[] = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];

export class SageMakerTraining implements TrainingPort {
  constructor(private readonly client: SageMakerClient) {}

  async runningJobs(namePrefix: string): Promise<readonly string[]> {
    const names: string[] = [];
    for (const status of RUNNING_STATUSES) {
      let nextToken: string | undefined;
      do {
        const answer = await this.client.send(
          new ListTrainingJobsCommand({ NameContains: namePrefix, StatusEquals: status, MaxResults: 100, ...(nextToken ? { NextToken: nextToken } : {}) }),
        );
        for (const job of answer.TrainingJobSummaries ?? []) {
          // NameContains matches anywhere in the name (another installation's `<prefix>-x-…` too): the whole name decides.
          if (job.TrainingJobName && isOwnTrainingJob(namePrefix, job.TrainingJobName)) names.push(job.TrainingJobName);
        }
        nextToken = answer.NextToken;
      } while (nextToken);
    }
    return names;
  }

  async startTrainingJob(spec: TrainingJobSpec): Promise<'started' | 'already-exists'> {
    try {
      await this.client.send(new CreateTrainingJobCommand(createTrainingJobRequest(spec)));
      return 'started';
    } catch (error) {
      if (isDuplicateName(error)) return 'already-exists';
      throw error;
    }
  }

  async describeTrainingJob(trainingJobName: string): Promise<TrainingJobSummary | undefined> {
    try {
      const answer = await this.client.send(new DescribeTrainingJobCommand({ TrainingJobName: trainingJobName }));
      const status = answer.TrainingJobStatus as TrainingJobStatus | undefined;
      if (!status || !KNOWN_STATUSES.includes(status)) {
        throw new Error(`DescribeTrainingJob for ${trainingJobName} returned TrainingJobStatus ${JSON.stringify(status)}, expected one of ${KNOWN_STATUSES.join(', ')}`);
      }
      return {
        trainingJobName,
        status,
        ...(answer.FailureReason ? { failureReason: answer.FailureReason } : {}),
        ...(answer.ModelArtifacts?.S3ModelArtifacts ? { modelArtifactsUrl: answer.ModelArtifacts.S3ModelArtifacts } : {}),
        ...(answer.RoleArn ? { roleArn: answer.RoleArn } : {}),
        ...(answer.AlgorithmSpecification?.TrainingImage ? { imageUri: answer.AlgorithmSpecification.TrainingImage } : {}),
        channels: (answer.InputDataConfig ?? []).map((channel) => ({ name: channel.ChannelName ?? '', s3Uri: channel.DataSource?.S3DataSource?.S3Uri ?? '' })),
        ...(answer.OutputDataConfig?.S3OutputPath ? { outputS3Uri: answer.OutputDataConfig.S3OutputPath } : {}),
        hyperparameters: { ...(answer.HyperParameters ?? {}) },
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

/** The exact CreateTrainingJob request of a spec. */
export function createTrainingJobRequest(spec: TrainingJobSpec): CreateTrainingJobRequest {
  const channels: Channel[] = [csvChannel('train', spec.trainS3Uri)];
  if (spec.validationS3Uri) channels.push(csvChannel('validation', spec.validationS3Uri));
  if (spec.servingModelS3Uri) {
    channels.push({
      ChannelName: 'serving',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: spec.servingModelS3Uri, S3DataDistributionType: 'FullyReplicated' } },
      ContentType: 'application/x-gzip',
      CompressionType: 'None',
    });
  }
  return {
    TrainingJobName: spec.trainingJobName,
    AlgorithmSpecification: { TrainingImage: spec.imageUri, TrainingInputMode: 'File' },
    RoleArn: spec.roleArn,
    HyperParameters: { ...spec.hyperparameters },
    InputDataConfig: channels,
    OutputDataConfig: { S3OutputPath: spec.outputS3Uri },
    ResourceConfig: { InstanceType: spec.instanceType as TrainingInstanceType, InstanceCount: spec.instanceCount, VolumeSizeInGB: TRAINING_VOLUME_SIZE_GB },
    StoppingCondition: { MaxRuntimeInSeconds: spec.maxRuntimeSeconds },
    Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

function csvChannel(name: string, s3Uri: string): Channel {
  return {
    ChannelName: name,
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: s3Uri, S3DataDistributionType: 'FullyReplicated' } },
    ContentType: 'text/csv',
    CompressionType: 'None',
  };
}

/** SageMaker answers a taken job name with ResourceInUse, or a ValidationException saying names must be unique. */
function isDuplicateName(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ResourceInUse') return true;
  return error.name === 'ValidationException' && /Training job names must be unique/i.test(error.message);
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ResourceNotFound') return true;
  return error.name === 'ValidationException' && /Requested resource not found/i.test(error.message);
}
