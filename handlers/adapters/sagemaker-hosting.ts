import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  UpdateEndpointCommand,
  type CreateEndpointConfigInput,
  type CreateModelInput,
  type CreateModelPackageInput,
  type ProductionVariantInstanceType,
  type SageMakerClient,
  type UpdateEndpointInput,
} from '@aws-sdk/client-sagemaker';
import type { PromotionSettings } from '../config';
import type { HostingPort } from '../ports';

/**
 * The hosting port over SageMaker (AWS SDK v3): register the candidate in the model package group,
 * create its model and endpoint configuration, and move the endpoint to it with a blue/green update
 * that rolls back on Deploy Guard's alarms. A model or endpoint configuration that exists already (a
 * redelivered event) counts as created; everything else left after the SDK's retries is thrown.
 */

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

  async registerModelPackage(input: Parameters<HostingPort['registerModelPackage']>[0]): Promise<{ readonly modelPackageArn: string }> {
    const request: CreateModelPackageInput = {
      ModelPackageGroupName: input.modelPackageGroupName,
      ModelPackageDescription: input.description,
      InferenceSpecification: {
        Containers: [{ Image: input.imageUri, ModelDataUrl: input.modelDataUrl }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      ModelApprovalStatus: input.approval,
    };
    const answer = await this.client.send(new CreateModelPackageCommand(request));
    if (!answer.ModelPackageArn) throw new Error(`CreateModelPackage in group ${input.modelPackageGroupName} returned no ModelPackageArn`);
    return { modelPackageArn: answer.ModelPackageArn };
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

/** The exact CreateEndpointConfig request: one variant, serverless or provisioned (with data capture when configured). */
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
    ...(hosting.dataCaptureS3Uri
      ? {
          DataCaptureConfig: {
            EnableCapture: true,
            InitialSamplingPercentage: 100,
            DestinationS3Uri: hosting.dataCaptureS3Uri,
            CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
            CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
          },
        }
      : {}),
  };
}
