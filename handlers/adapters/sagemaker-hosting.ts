import { createHash } from 'node:crypto';
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  DescribeEndpointCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  UpdateEndpointCommand,
  type CreateEndpointConfigInput,
  type CreateModelInput,
  type CreateModelPackageInput,
  type ProductionVariantInstanceType,
  type SageMakerClient,
  type UpdateEndpointInput,
} from '@aws-sdk/client-sagemaker';
import type { PromotionSettings } from '../config';
import type { EndpointState, HostingPort, ModelPackageInput, ModelPackageSummary } from '../ports';

/**
 * The hosting port over SageMaker (AWS SDK v3): register the candidate in the model package group,
 * create its model and endpoint configuration, and move the endpoint to it with a blue/green update
 * that rolls back on Deploy Guard's alarms. A model or endpoint configuration that exists already (a
 * redelivered event) counts as created; everything else left after the SDK's retries is thrown.
 */

/** The package metadata key naming the training job a package was registered for. */
export const TRAINING_JOB_METADATA = 'deploy-guard:training-job';

/** A package's description: the job's name first, so that a redelivery finds the package it registered. */
export function packageDescription(trainingJobName: string, message: string): string {
  return `${trainingJobName}: ${message}`.slice(0, 1000);
}

/** CreateModelPackage's ClientToken (at most 36 letters, digits and hyphens), derived from the job. */
function clientToken(trainingJobName: string): string {
  return createHash('sha256').update(trainingJobName).digest('hex').slice(0, 32);
}

/** The one variant of Deploy Guard's endpoint. */
export const VARIANT_NAME = 'AllTraffic';

export interface SageMakerHostingOptions {
  /** Seconds the new fleet bakes with all traffic before the old one is terminated. @default 300 */
  readonly waitIntervalInSeconds?: number;
  /** Seconds the old fleet is kept after the shift, for a fast rollback. @default 300 */
  readonly terminationWaitInSeconds?: number;
}

type Hosting = PromotionSettings['hosting'];

export class SageMakerHosting implements HostingPort {
  private readonly waitIntervalInSeconds: number;
  private readonly terminationWaitInSeconds: number;

  constructor(private readonly client: SageMakerClient, options: SageMakerHostingOptions = {}) {
    this.waitIntervalInSeconds = options.waitIntervalInSeconds ?? 300;
    this.terminationWaitInSeconds = options.terminationWaitInSeconds ?? 300;
  }

  /**
   * CreateModelPackage with the job as idempotency token (a retried call after a lost response gets
   * the same package) and as metadata; the description starts with the job's name, which is how
   * findModelPackage recognises it.
   */
  async registerModelPackage(input: ModelPackageInput): Promise<{ readonly modelPackageArn: string }> {
    const request: CreateModelPackageInput = {
      ModelPackageGroupName: input.modelPackageGroupName,
      ModelPackageDescription: packageDescription(input.trainingJobName, input.description),
      InferenceSpecification: {
        Containers: [{ Image: input.imageUri, ModelDataUrl: input.modelDataUrl }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      ModelApprovalStatus: input.approval,
      CustomerMetadataProperties: { [TRAINING_JOB_METADATA]: input.trainingJobName },
      ClientToken: clientToken(input.trainingJobName),
    };
    const answer = await this.client.send(new CreateModelPackageCommand(request));
    if (!answer.ModelPackageArn) throw new Error(`CreateModelPackage in group ${input.modelPackageGroupName} returned no ModelPackageArn`);
    return { modelPackageArn: answer.ModelPackageArn };
  }

  /** The newest packages of the group (one page: a job's package is registered during its own promotion). */
  async findModelPackage(modelPackageGroupName: string, trainingJobName: string): Promise<string | undefined> {
    const answer = await this.client.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: modelPackageGroupName, SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 100 }),
    );
    const prefix = packageDescription(trainingJobName, '');
    return answer.ModelPackageSummaryList?.find((summary) => summary.ModelPackageDescription?.startsWith(prefix))?.ModelPackageArn;
  }

  async describeModelPackage(modelPackageArn: string): Promise<ModelPackageSummary | undefined> {
    let answer;
    try {
      answer = await this.client.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
    } catch (error) {
      if (error instanceof Error && error.name === 'ValidationException' && /does not exist/i.test(error.message)) return undefined;
      throw error;
    }
    const approval = answer.ModelApprovalStatus;
    if (approval !== 'Approved' && approval !== 'Rejected' && approval !== 'PendingManualApproval') {
      throw new Error(`DescribeModelPackage ${modelPackageArn} returned ModelApprovalStatus ${JSON.stringify(approval)}`);
    }
    const modelDataUrl = answer.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
    const trainingJobName = answer.CustomerMetadataProperties?.[TRAINING_JOB_METADATA];
    return {
      modelPackageArn,
      modelPackageGroupName: answer.ModelPackageGroupName ?? '',
      approval,
      ...(modelDataUrl ? { modelDataUrl } : {}),
      ...(trainingJobName ? { trainingJobName } : {}),
    };
  }

  async describeEndpoint(endpointName: string): Promise<EndpointState> {
    const answer = await this.client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
    if (!answer.EndpointConfigName || !answer.EndpointStatus) throw new Error(`DescribeEndpoint ${endpointName} returned no EndpointConfigName or EndpointStatus`);
    const pending = answer.PendingDeploymentSummary?.EndpointConfigName;
    return { status: answer.EndpointStatus, endpointConfigName: answer.EndpointConfigName, ...(pending ? { pendingEndpointConfigName: pending } : {}) };
  }

  async createModel(input: Parameters<HostingPort['createModel']>[0]): Promise<void> {
    const request: CreateModelInput = {
      ModelName: input.modelName,
      PrimaryContainer: { Image: input.imageUri, ModelDataUrl: input.modelDataUrl },
      ExecutionRoleArn: input.executionRoleArn,
    };
    await this.createUnlessExisting(() => this.client.send(new CreateModelCommand(request)));
  }

  async createEndpointConfig(input: Parameters<HostingPort['createEndpointConfig']>[0]): Promise<void> {
    await this.createUnlessExisting(() => this.client.send(new CreateEndpointConfigCommand(endpointConfigRequest(input.endpointConfigName, input.modelName, input.hosting))));
  }

  async updateEndpoint(input: Parameters<HostingPort['updateEndpoint']>[0]): Promise<void> {
    const request: UpdateEndpointInput = {
      EndpointName: input.endpointName,
      EndpointConfigName: input.endpointConfigName,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: this.waitIntervalInSeconds },
          TerminationWaitInSeconds: this.terminationWaitInSeconds,
        },
        ...(input.rollbackAlarmNames.length > 0
          ? { AutoRollbackConfiguration: { Alarms: input.rollbackAlarmNames.map((AlarmName) => ({ AlarmName })) } }
          : {}),
      },
    };
    await this.client.send(new UpdateEndpointCommand(request));
  }

  private async createUnlessExisting(create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (error) {
      if (error instanceof Error && error.name === 'ValidationException' && /Cannot create already existing/i.test(error.message)) return;
      throw error;
    }
  }
}

/**
 * The exact CreateEndpointConfig request: one variant, serverless or provisioned; a provisioned one
 * carries what the stack declared for its own configuration (the volume's KMS key, data capture with
 * its sampling percentage and key), so a promotion does not quietly drop them.
 */
export function endpointConfigRequest(endpointConfigName: string, modelName: string, hosting: Hosting): CreateEndpointConfigInput {
  if (hosting.kind === 'serverless') {
    return {
      EndpointConfigName: endpointConfigName,
      ProductionVariants: [
        { VariantName: VARIANT_NAME, ModelName: modelName, ServerlessConfig: { MemorySizeInMB: hosting.memorySizeInMb, MaxConcurrency: hosting.maxConcurrency } },
      ],
    };
  }
  return {
    EndpointConfigName: endpointConfigName,
    ProductionVariants: [
      {
        VariantName: VARIANT_NAME,
        ModelName: modelName,
        InstanceType: hosting.instanceType as ProductionVariantInstanceType,
        InitialInstanceCount: hosting.initialInstanceCount,
        InitialVariantWeight: 1,
      },
    ],
    ...(hosting.kmsKeyArn ? { KmsKeyId: hosting.kmsKeyArn } : {}),
    ...(hosting.dataCaptureS3Uri
      ? {
          DataCaptureConfig: {
            EnableCapture: true,
            InitialSamplingPercentage: hosting.dataCaptureSamplingPercentage,
            DestinationS3Uri: hosting.dataCaptureS3Uri,
            ...(hosting.kmsKeyArn ? { KmsKeyId: hosting.kmsKeyArn } : {}),
            CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
            CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
          },
        }
      : {}),
  };
}
