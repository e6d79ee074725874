import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { SagemakerEndpoint } from '@cdktf/provider-aws/lib/sagemaker-endpoint';
import { SagemakerEndpointConfiguration } from '@cdktf/provider-aws/lib/sagemaker-endpoint-configuration';
import { SagemakerModel } from '@cdktf/provider-aws/lib/sagemaker-model';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  bucketArn,
  ecrPullStatements,
  objectsArn,
  policyDocument,
  serviceTrustPolicy,
  validateAccountId,
  validateArn,
  validateInteger,
  validateKeyPrefix,
  validateNamePrefix,
  validateRegion,
  type PolicyStatement,
} from './construct-support';
import { awsPartition, xgboostImageUri, xgboostRepositoryArn } from './image-uris';
import { ownName } from '../events/names';

const NAME = 'PredictionEndpoint';

/** Serverless hosting: billed per request, scales to zero; no data capture, no instance autoscaling. */
export interface ServerlessHosting {
  readonly kind: 'serverless';
  /** 1024 to 6144, in steps of 1024. */
  readonly memorySizeInMb: number;
  /** 1 to 200. */
  readonly maxConcurrency: number;
}

/** Provisioned instances, optionally with data capture and target-tracking autoscaling. */
export interface ProvisionedHosting {
  readonly kind: 'provisioned';
  /** e.g. `ml.m5.large`. */
  readonly instanceType: string;
  readonly initialInstanceCount: number;
  /**
   * Encrypt the instances' ML storage volume with the KMS key. Instance types with local NVMe
   * storage (e.g. ml.m5d, ml.g4dn) refuse a volume key (their storage is hardware-encrypted): set
   * false for those. @default true
   */
  readonly encryptVolume?: boolean;
}

export interface DataCapture {
  /** Bucket that receives captured requests and responses (encrypted with the KMS key). */
  readonly bucketName: string;
  /** Key prefix ending with `/`, e.g. `capture/`. */
  readonly keyPrefix: string;
  /** 1 to 100. @default 100 */
  readonly samplingPercentage?: number;
}

export interface EndpointAutoscaling {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Target of SageMakerVariantInvocationsPerInstance (invocations per instance per minute). */
  readonly invocationsPerInstance: number;
  /** @default 300 */
  readonly scaleInCooldownSeconds?: number;
  /** @default 60 */
  readonly scaleOutCooldownSeconds?: number;
}

export interface RollbackAlarmSettings {
  /** Invocation5XXErrors summed over a minute at or above which the update rolls back. @default 1 */
  readonly errorsPerMinute?: number;
  /** Average ModelLatency over a minute, in milliseconds, above which the update rolls back. @default 1000 */
  readonly latencyMs?: number;
}

export interface PredictionEndpointProps {
  /** Prefix of every physical name, e.g. `deploy-guard-dev`. */
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  /**
   * The initial model: `s3://<bucketName>/<key>` of a model.tar.gz holding `xgboost-model`, and what
   * puts it there (SageMaker needs the object when it creates the endpoint). @default uploadedBy []
   */
  readonly modelArtifact: { readonly bucketName: string; readonly key: string; readonly uploadedBy?: readonly ITerraformDependable[] };
  /**
   * The prefix the execution role may read models from (promote serves later models under it).
   * @default the folder of modelArtifact.key
   */
  readonly modelArtifactPrefix?: string;
  /** The KMS key that encrypts the artifacts, the volumes and the captured data. */
  readonly kmsKeyArn: string;
  readonly hosting: ServerlessHosting | ProvisionedHosting;
  /** Provisioned only. */
  readonly dataCapture?: DataCapture;
  /** Provisioned only. */
  readonly autoscaling?: EndpointAutoscaling;
  readonly rollbackAlarms?: RollbackAlarmSettings;
  /** Seconds the old fleet is kept after a blue/green update, to roll back to. @default 600 */
  readonly terminationWaitSeconds?: number;
  /** Extra alarms (by name) that roll a blue/green update back. @default [] */
  readonly extraRollbackAlarmNames?: readonly string[];
}

/** Every physical name is `${namePrefix}-...`; the endpoint's single variant keeps this name across updates. */
export const VARIANT_NAME = 'AllTraffic';

/**
 * The SageMaker endpoint that scores deployments: the built-in sagemaker-xgboost:1.7-1 image over a
 * model artifact, an execution role that can read only that artifact prefix, serverless or
 * provisioned hosting, blue/green updates (all at once, with a termination wait) that roll back on
 * the 5XX and latency alarms it creates, and autoscaling when provisioned.
 *
 * promote later points the endpoint at new endpoint configurations (UpdateEndpoint); Terraform
 * ignores that drift of `endpoint_config_name` so that an apply does not revert a promotion.
 */
export class PredictionEndpoint extends Construct {
  readonly endpoint: SagemakerEndpoint;
  readonly endpointName: string;
  readonly endpointConfiguration: SagemakerEndpointConfiguration;
  readonly model: SagemakerModel;
  readonly executionRole: IamRole;
  readonly imageUri: string;
  readonly modelDataUrl: string;
  readonly variantName = VARIANT_NAME;
  readonly errorsAlarm: CloudwatchMetricAlarm;
  readonly latencyAlarm: CloudwatchMetricAlarm;
  /** The alarms (by name) that roll an endpoint update back: the promote handler passes them to UpdateEndpoint. */
  readonly rollbackAlarmNames: readonly string[];
  /**
   * What the endpoint configuration declares beyond its variant: the volume's KMS key and data
   * capture. promote's own endpoint configurations carry the same (PromotionSettings.hosting).
   */
  readonly declared: { readonly volumeKmsKeyArn?: string; readonly dataCapture?: { readonly destinationS3Uri: string; readonly samplingPercentage: number } };
  readonly scalingTarget?: AppautoscalingTarget;
  readonly scalingPolicy?: AppautoscalingPolicy;

  constructor(scope: Construct, id: string, props: PredictionEndpointProps) {
    super(scope, id);
    validateProps(props);
    const { namePrefix, region, accountId, hosting } = props;
    const partition = awsPartition(region);
    this.imageUri = xgboostImageUri(region);
    this.endpointName = ownName(namePrefix, 'risk');
    const artifactPrefix = props.modelArtifactPrefix ?? props.modelArtifact.key.slice(0, props.modelArtifact.key.lastIndexOf('/') + 1);
    this.modelDataUrl = `s3://${props.modelArtifact.bucketName}/${props.modelArtifact.key}`;

    const statements: PolicyStatement[] = [
      { Sid: 'ReadModelArtifacts', Action: ['s3:GetObject'], Resource: objectsArn(partition, props.modelArtifact.bucketName, artifactPrefix) },
      { Sid: 'DecryptModelArtifacts', Action: ['kms:Decrypt'], Resource: props.kmsKeyArn },
      ...ecrPullStatements(xgboostRepositoryArn(region)),
      {
        Sid: 'EndpointLogs',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [
          `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/Endpoints/${this.endpointName}`,
          `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/Endpoints/${this.endpointName}:log-stream:*`,
        ],
      },
    ];
    if (props.dataCapture) {
      statements.push(
        { Sid: 'WriteCapturedData', Action: ['s3:PutObject'], Resource: objectsArn(partition, props.dataCapture.bucketName, props.dataCapture.keyPrefix) },
        { Sid: 'CaptureBucketLocation', Action: ['s3:GetBucketLocation'], Resource: bucketArn(partition, props.dataCapture.bucketName) },
        { Sid: 'EncryptCapturedData', Action: ['kms:GenerateDataKey', 'kms:Encrypt'], Resource: props.kmsKeyArn },
      );
    }
    this.executionRole = new IamRole(this, 'execution-role', {
      name: ownName(namePrefix, 'endpoint'),
      description: 'Deploy Guard prediction endpoint: reads the model artifact and pulls the XGBoost image',
      assumeRolePolicy: serviceTrustPolicy('sagemaker.amazonaws.com', props.accountId),
    });
    const rolePolicy = new IamRolePolicy(this, 'execution-policy', { name: 'prediction-endpoint', role: this.executionRole.id, policy: policyDocument(statements) });

    this.model = new SagemakerModel(this, 'model', {
      executionRoleArn: this.executionRole.arn,
      primaryContainer: { image: this.imageUri, modelDataUrl: this.modelDataUrl, mode: 'SingleModel' },
      // SageMaker checks the role when the model is created: the policy must exist first.
      dependsOn: [rolePolicy, ...(props.modelArtifact.uploadedBy ?? [])],
      lifecycle: { createBeforeDestroy: true },
    });

    const variant =
      hosting.kind === 'serverless'
        ? { variantName: VARIANT_NAME, modelName: this.model.name, serverlessConfig: { memorySizeInMb: hosting.memorySizeInMb, maxConcurrency: hosting.maxConcurrency } }
        : { variantName: VARIANT_NAME, modelName: this.model.name, instanceType: hosting.instanceType, initialInstanceCount: hosting.initialInstanceCount };
    const encryptVolume = hosting.kind === 'provisioned' && hosting.encryptVolume !== false;
    this.declared = {
      ...(encryptVolume ? { volumeKmsKeyArn: props.kmsKeyArn } : {}),
      ...(props.dataCapture
        ? { dataCapture: { destinationS3Uri: `s3://${props.dataCapture.bucketName}/${props.dataCapture.keyPrefix}`, samplingPercentage: props.dataCapture.samplingPercentage ?? 100 } }
        : {}),
    };
    this.endpointConfiguration = new SagemakerEndpointConfiguration(this, 'endpoint-configuration', {
      namePrefix: ownName(namePrefix, 'risk-'),
      productionVariants: [variant],
      // Serverless endpoints keep no volume of ours (nothing to encrypt); provisioned volumes use the key.
      ...(encryptVolume ? { kmsKeyArn: props.kmsKeyArn } : {}),
      ...(props.dataCapture
        ? {
            dataCaptureConfig: {
              enableCapture: true,
              initialSamplingPercentage: this.declared.dataCapture!.samplingPercentage,
              destinationS3Uri: this.declared.dataCapture!.destinationS3Uri,
              kmsKeyId: props.kmsKeyArn,
              captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
              captureContentTypeHeader: { csvContentTypes: ['text/csv'] },
            },
          }
        : {}),
      lifecycle: { createBeforeDestroy: true },
    });

    const dimensions = { EndpointName: this.endpointName, VariantName: VARIANT_NAME };
    this.errorsAlarm = new CloudwatchMetricAlarm(this, 'errors-alarm', {
      alarmName: ownName(namePrefix, 'endpoint-5xx'),
      alarmDescription: 'The prediction endpoint answers 5XX errors: rolls a blue/green endpoint update back',
      namespace: 'AWS/SageMaker',
      metricName: 'Invocation5XXErrors',
      dimensions,
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      threshold: props.rollbackAlarms?.errorsPerMinute ?? 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
    });
    this.latencyAlarm = new CloudwatchMetricAlarm(this, 'latency-alarm', {
      alarmName: ownName(namePrefix, 'endpoint-latency'),
      alarmDescription: 'The prediction endpoint is slow: rolls a blue/green endpoint update back',
      namespace: 'AWS/SageMaker',
      metricName: 'ModelLatency',
      dimensions,
      statistic: 'Average',
      period: 60,
      evaluationPeriods: 2,
      // ModelLatency is in microseconds.
      threshold: (props.rollbackAlarms?.latencyMs ?? 1000) * 1000,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    this.rollbackAlarmNames = [ownName(namePrefix, 'endpoint-5xx'), ownName(namePrefix, 'endpoint-latency'), ...(props.extraRollbackAlarmNames ?? [])];

    this.endpoint = new SagemakerEndpoint(this, 'endpoint', {
      name: this.endpointName,
      endpointConfigName: this.endpointConfiguration.name,
      deploymentConfig: {
        blueGreenUpdatePolicy: {
          trafficRoutingConfiguration: { type: 'ALL_AT_ONCE', waitIntervalInSeconds: 0 },
          terminationWaitInSeconds: props.terminationWaitSeconds ?? 600,
        },
        autoRollbackConfiguration: { alarms: [this.errorsAlarm.alarmName, this.latencyAlarm.alarmName, ...(props.extraRollbackAlarmNames ?? [])].map((alarmName) => ({ alarmName })) },
      },
      // promote moves the endpoint to new configurations; an apply must not move it back.
      lifecycle: { ignoreChanges: ['endpoint_config_name'] },
    });

    if (props.autoscaling && hosting.kind === 'provisioned') {
      const resourceId = `endpoint/${this.endpointName}/variant/${VARIANT_NAME}`;
      this.scalingTarget = new AppautoscalingTarget(this, 'scaling-target', {
        serviceNamespace: 'sagemaker',
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        resourceId,
        minCapacity: props.autoscaling.minCapacity,
        maxCapacity: props.autoscaling.maxCapacity,
        dependsOn: [this.endpoint],
      });
      this.scalingPolicy = new AppautoscalingPolicy(this, 'scaling-policy', {
        name: ownName(namePrefix, 'risk-invocations'),
        policyType: 'TargetTrackingScaling',
        serviceNamespace: this.scalingTarget.serviceNamespace,
        scalableDimension: this.scalingTarget.scalableDimension,
        resourceId: this.scalingTarget.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
          targetValue: props.autoscaling.invocationsPerInstance,
          scaleInCooldown: props.autoscaling.scaleInCooldownSeconds ?? 300,
          scaleOutCooldown: props.autoscaling.scaleOutCooldownSeconds ?? 60,
        },
      });
    }
  }
}

function validateProps(props: PredictionEndpointProps): void {
  validateNamePrefix(NAME, props.namePrefix, 50);
  validateRegion(NAME, props.region);
  validateAccountId(NAME, props.accountId);
  validateArn(NAME, 'kmsKeyArn', props.kmsKeyArn, 'kms');
  xgboostImageUri(props.region);
  const key = props.modelArtifact.key;
  if (!/^(?:[^/]+\/)*[^/]+\.tar\.gz$/.test(key)) throw new Error(`${NAME} modelArtifact.key '${key}' must be the key of a .tar.gz (e.g. models/initial/model.tar.gz), without a leading '/'`);
  if (props.modelArtifactPrefix !== undefined) {
    validateKeyPrefix(NAME, 'modelArtifactPrefix', props.modelArtifactPrefix);
    if (!key.startsWith(props.modelArtifactPrefix)) throw new Error(`${NAME} modelArtifact.key '${key}' is not under modelArtifactPrefix '${props.modelArtifactPrefix}'`);
  } else if (!key.includes('/')) {
    throw new Error(`${NAME} modelArtifact.key '${key}' must be in a folder (the execution role reads that folder), or give modelArtifactPrefix`);
  }
  const { hosting } = props;
  if (hosting.kind === 'serverless') {
    if (!Number.isInteger(hosting.memorySizeInMb) || hosting.memorySizeInMb < 1024 || hosting.memorySizeInMb > 6144 || hosting.memorySizeInMb % 1024 !== 0) {
      throw new Error(`${NAME} hosting.memorySizeInMb must be 1024, 2048, 3072, 4096, 5120 or 6144, got ${hosting.memorySizeInMb}`);
    }
    validateInteger(NAME, 'hosting.maxConcurrency', hosting.maxConcurrency, 1, 200);
    if (props.autoscaling) throw new Error(`${NAME} autoscaling needs provisioned hosting: a serverless endpoint scales by itself (set hosting.maxConcurrency instead)`);
    if (props.dataCapture) throw new Error(`${NAME} dataCapture needs provisioned hosting: serverless endpoints do not support data capture`);
  } else if (hosting.kind === 'provisioned') {
    if (!/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(hosting.instanceType)) throw new Error(`${NAME} hosting.instanceType must look like 'ml.m5.large', got '${hosting.instanceType}'`);
    validateInteger(NAME, 'hosting.initialInstanceCount', hosting.initialInstanceCount, 1, 100);
    if (props.autoscaling) {
      const { minCapacity, maxCapacity, invocationsPerInstance } = props.autoscaling;
      validateInteger(NAME, 'autoscaling.minCapacity', minCapacity, 1, 100);
      validateInteger(NAME, 'autoscaling.maxCapacity', maxCapacity, 1, 100);
      if (maxCapacity < minCapacity) throw new Error(`${NAME} autoscaling.maxCapacity (${maxCapacity}) is below autoscaling.minCapacity (${minCapacity})`);
      if (hosting.initialInstanceCount < minCapacity || hosting.initialInstanceCount > maxCapacity) {
        throw new Error(`${NAME} hosting.initialInstanceCount (${hosting.initialInstanceCount}) must be within autoscaling.minCapacity..maxCapacity (${minCapacity}..${maxCapacity})`);
      }
      if (!(invocationsPerInstance > 0)) throw new Error(`${NAME} autoscaling.invocationsPerInstance must be greater than 0, got ${invocationsPerInstance}`);
    }
    if (props.dataCapture) {
      validateKeyPrefix(NAME, 'dataCapture.keyPrefix', props.dataCapture.keyPrefix);
      validateInteger(NAME, 'dataCapture.samplingPercentage', props.dataCapture.samplingPercentage ?? 100, 1, 100);
    }
  } else {
    throw new Error(`${NAME} hosting.kind must be 'serverless' or 'provisioned', got '${(hosting as { kind: unknown }).kind}'`);
  }
  if (props.terminationWaitSeconds !== undefined) validateInteger(NAME, 'terminationWaitSeconds', props.terminationWaitSeconds, 0, 3600);
  if (props.rollbackAlarms?.errorsPerMinute !== undefined && !(props.rollbackAlarms.errorsPerMinute > 0)) {
    throw new Error(`${NAME} rollbackAlarms.errorsPerMinute must be greater than 0, got ${props.rollbackAlarms.errorsPerMinute}`);
  }
  if (props.rollbackAlarms?.latencyMs !== undefined && !(props.rollbackAlarms.latencyMs > 0)) {
    throw new Error(`${NAME} rollbackAlarms.latencyMs must be greater than 0, got ${props.rollbackAlarms.latencyMs}`);
  }
}
