import * as z from 'zod/mini';
import './zod-locale';
import { envelope, eventTime } from './envelope';

/**
 * Every AWS event Deploy Guard consumes, as EventBridge delivers it. The shapes follow the real
 * samples in events/samples/ (see its README for origins); the known quirks of those samples are
 * accepted on purpose and each is marked here with "quirk".
 */

const nonEmpty = z.string().check(z.minLength(1));

/** A UTF-16 code unit of a surrogate pair that has no partner. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/**
 * An id that becomes part of a key or a URI (a deployment's training row is `rows/date=.../<id>.csv`):
 * well-formed Unicode, since encodeURIComponent throws URIError on a lone surrogate.
 */
const wellFormedId = nonEmpty.check(z.refine((text) => !LONE_SURROGATE.test(text), 'expected well-formed Unicode text (a lone surrogate cannot be encoded)'));

// ---------------------------------------------------------------------------------------------
// CodeDeploy

export const CODEDEPLOY_SOURCE = 'aws.codedeploy';
export const CODEDEPLOY_DEPLOYMENT_STATE_CHANGE = 'CodeDeploy Deployment State-change Notification';
export const CODEDEPLOY_INSTANCE_STATE_CHANGE = 'CodeDeploy Instance State-change Notification';

/** READY: blue/green replacement ready, waiting for the traffic reroute (where Deploy Guard gates). */
export const CODEDEPLOY_DEPLOYMENT_STATES = ['START', 'SUCCESS', 'FAILURE', 'STOP', 'READY'] as const;
export type CodeDeployDeploymentState = (typeof CODEDEPLOY_DEPLOYMENT_STATES)[number];
/** The states that end a deployment: what record-outcome labels. */
export const CODEDEPLOY_FINAL_STATES = ['SUCCESS', 'FAILURE', 'STOP'] as const satisfies readonly CodeDeployDeploymentState[];

/** The final states of a deployment that did not succeed: it failed, or it was stopped (by a person, Deploy Guard, or CodeDeploy's own alarm rollback). */
export const CODEDEPLOY_UNSUCCESSFUL_STATES = ['FAILURE', 'STOP'] as const satisfies readonly (typeof CODEDEPLOY_FINAL_STATES)[number][];
/** The states at which Deploy Guard assesses a deployment, before traffic moves. */
export const CODEDEPLOY_ASSESSED_STATES = ['START', 'READY'] as const satisfies readonly CodeDeployDeploymentState[];

/**
 * The detail carries only these keys; revision, compute platform, creator and rollback info need
 * `GetDeployment`.
 */
const codeDeployDetail = {
  application: nonEmpty,
  deploymentGroup: nonEmpty,
  deploymentId: wellFormedId,
  instanceGroupId: nonEmpty,
  region: nonEmpty,
  state: z.enum(CODEDEPLOY_DEPLOYMENT_STATES),
};

export const codeDeployDeploymentStateChange = z.lazy(() => envelope(
  z.literal(CODEDEPLOY_SOURCE),
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  z.looseObject(codeDeployDetail),
));
export type CodeDeployDeploymentStateChange = z.infer<typeof codeDeployDeploymentStateChange>;

export const codeDeployInstanceStateChange = z.lazy(() => envelope(
  z.literal(CODEDEPLOY_SOURCE),
  CODEDEPLOY_INSTANCE_STATE_CHANGE,
  z.looseObject({ ...codeDeployDetail, instanceId: nonEmpty }),
));
export type CodeDeployInstanceStateChange = z.infer<typeof codeDeployInstanceStateChange>;

/**
 * What CodeDeploy passes to a lifecycle hook Lambda (BeforeAllowTraffic of an ECS or Lambda
 * deployment): not an EventBridge event, a direct invocation. The hook must answer with
 * PutLifecycleEventHookExecutionStatus for this execution id.
 */
export const CODEDEPLOY_LIFECYCLE_HOOK_INVOCATION = 'CodeDeploy lifecycle hook invocation';
export const codeDeployLifecycleHookInvocation = z.lazy(() => z.looseObject({
  DeploymentId: z.string().check(z.regex(/^d-[A-Z0-9]+$/, 'expected a CodeDeploy deployment id such as d-123456789')),
  LifecycleEventHookExecutionId: nonEmpty,
}));
export type CodeDeployLifecycleHookInvocation = z.infer<typeof codeDeployLifecycleHookInvocation>;

// ---------------------------------------------------------------------------------------------
// CodePipeline Lambda invoke action: what CodePipeline sends the function of an Invoke action (not
// an EventBridge event). The function must answer with PutJobSuccessResult or PutJobFailureResult;
// a success with a continuationToken makes CodePipeline invoke it again with a new job carrying the token.

export const CODEPIPELINE_JOB = 'CodePipeline Lambda invoke job';

const pipelineArtifact = z.lazy(() => z.looseObject({
  name: nonEmpty,
  /** The source revision (a commit id for a Git source); null for an artifact without one (AWS's own example). */
  revision: z.optional(z.nullable(z.string())),
  location: z.optional(z.looseObject({ type: z.optional(z.string()), s3Location: z.optional(z.looseObject({ bucketName: nonEmpty, objectKey: nonEmpty })) })),
}));

export const codePipelineJob = z.lazy(() => z.looseObject({
  'CodePipeline.job': z.looseObject({
    id: nonEmpty,
    accountId: z.optional(z.string()),
    data: z.looseObject({
      actionConfiguration: z.looseObject({
        configuration: z.looseObject({ FunctionName: nonEmpty, UserParameters: z.optional(z.string()) }),
      }),
      inputArtifacts: z.optional(z.array(pipelineArtifact)),
      outputArtifacts: z.optional(z.array(pipelineArtifact)),
      /** Set on an invocation that continues an earlier job answered with a continuationToken. */
      continuationToken: z.optional(nonEmpty),
    }),
  }),
}));
export type CodePipelineJob = z.infer<typeof codePipelineJob>;

// ---------------------------------------------------------------------------------------------
// CodePipeline

export const CODEPIPELINE_SOURCE = 'aws.codepipeline';
export const CODEPIPELINE_PIPELINE_EXECUTION = 'CodePipeline Pipeline Execution State Change';
export const CODEPIPELINE_STAGE_EXECUTION = 'CodePipeline Stage Execution State Change';
export const CODEPIPELINE_ACTION_EXECUTION = 'CodePipeline Action Execution State Change';

export const CODEPIPELINE_PIPELINE_STATES = [
  'STARTED', 'SUCCEEDED', 'RESUMED', 'FAILED', 'CANCELED', 'SUPERSEDED', 'STOPPING', 'STOPPED',
] as const;
export const CODEPIPELINE_STAGE_STATES = ['STARTED', 'SUCCEEDED', 'RESUMED', 'FAILED', 'CANCELED', 'STOPPING', 'STOPPED'] as const;
export const CODEPIPELINE_ACTION_STATES = ['STARTED', 'SUCCEEDED', 'FAILED', 'ABANDONED', 'CANCELED'] as const;

/** quirk: `version` is a number in most samples and a string ("1") in the stage sample. */
const pipelineVersion = z.union([z.number(), z.string()]);

const pipelineDetail = {
  pipeline: nonEmpty,
  'execution-id': nonEmpty,
  version: z.optional(pipelineVersion),
};

export const codePipelinePipelineExecution = z.lazy(() => envelope(
  z.literal(CODEPIPELINE_SOURCE),
  CODEPIPELINE_PIPELINE_EXECUTION,
  z.looseObject({
    ...pipelineDetail,
    state: z.enum(CODEPIPELINE_PIPELINE_STATES),
    'execution-trigger': z.optional(z.looseObject({ 'trigger-type': z.string(), 'trigger-detail': z.optional(z.string()) })),
  }),
));
export type CodePipelinePipelineExecution = z.infer<typeof codePipelinePipelineExecution>;

export const codePipelineStageExecution = z.lazy(() => envelope(
  z.literal(CODEPIPELINE_SOURCE),
  CODEPIPELINE_STAGE_EXECUTION,
  z.looseObject({ ...pipelineDetail, stage: nonEmpty, state: z.enum(CODEPIPELINE_STAGE_STATES) }),
));
export type CodePipelineStageExecution = z.infer<typeof codePipelineStageExecution>;

const artifact = z.lazy(() => z.looseObject({
  name: z.string(),
  s3location: z.optional(z.looseObject({ bucket: z.string(), key: z.string() })),
}));

export const codePipelineActionExecution = z.lazy(() => envelope(
  z.literal(CODEPIPELINE_SOURCE),
  CODEPIPELINE_ACTION_EXECUTION,
  z.looseObject({
    ...pipelineDetail,
    stage: nonEmpty,
    action: nonEmpty,
    state: z.enum(CODEPIPELINE_ACTION_STATES),
    // quirk: absent in the documented STARTED sample, present in the others.
    region: z.optional(nonEmpty),
    type: z.looseObject({
      owner: z.string(),
      category: z.string(),
      provider: z.string(),
      // quirk: a string in the AWS docs, a number in the aws-lambda-go sample.
      version: pipelineVersion,
    }),
    'input-artifacts': z.optional(z.array(artifact)),
    'output-artifacts': z.optional(z.array(artifact)),
    'execution-result': z.optional(
      z.looseObject({
        'external-execution-url': z.optional(z.string()),
        'external-execution-summary': z.optional(z.string()),
        'external-execution-id': z.optional(z.string()),
        'error-code': z.optional(z.string()),
      }),
    ),
  }),
));
export type CodePipelineActionExecution = z.infer<typeof codePipelineActionExecution>;

// ---------------------------------------------------------------------------------------------
// CloudWatch

export const CLOUDWATCH_SOURCE = 'aws.cloudwatch';
export const CLOUDWATCH_ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';
export const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
export type AlarmStateValue = (typeof ALARM_STATES)[number];

const alarmState = z.lazy(() => z.looseObject({
  value: z.enum(ALARM_STATES),
  reason: z.string(),
  /** quirk: a JSON document inside a string; read it with alarmReasonData(). */
  reasonData: z.optional(z.string()),
  // CloudWatch writes `2019-10-02T17:04:40.989+0000` (no colon in the offset).
  timestamp: eventTime,
  actionsSuppressedBy: z.optional(z.string()),
  actionsSuppressedReason: z.optional(z.string()),
}));

const alarmMetric = z.lazy(() => z.looseObject({
  id: nonEmpty,
  metricStat: z.optional(
    z.looseObject({
      metric: z.looseObject({
        namespace: nonEmpty,
        name: nonEmpty,
        dimensions: z.optional(z.record(z.string(), z.string())),
      }),
      period: z.number().check(z.int(), z.positive()),
      stat: nonEmpty,
      unit: z.optional(z.string()),
    }),
  ),
  expression: z.optional(nonEmpty),
  label: z.optional(z.string()),
  returnData: z.optional(z.boolean()),
}));

/** A metric alarm (single metric, metric math, anomaly detection) has `metrics`. */
const metricAlarmConfiguration = z.lazy(() => z.looseObject({
  description: z.optional(z.string()),
  metrics: z.array(alarmMetric).check(z.minLength(1)),
}));
/** A composite alarm has an `alarmRule` and no metrics. */
const compositeAlarmConfiguration = z.lazy(() => z.looseObject({
  description: z.optional(z.string()),
  alarmRule: nonEmpty,
  actionsSuppressor: z.optional(z.string()),
  actionsSuppressorWaitPeriod: z.optional(z.number()),
  actionsSuppressorExtensionPeriod: z.optional(z.number()),
}));

export const cloudWatchAlarmStateChange = z.lazy(() => envelope(
  z.literal(CLOUDWATCH_SOURCE),
  CLOUDWATCH_ALARM_STATE_CHANGE,
  z.looseObject({
    alarmName: nonEmpty,
    state: alarmState,
    // Absent when the sender reports only the new state (the Model Monitor drift sample).
    previousState: z.optional(alarmState),
    configuration: z.union([compositeAlarmConfiguration, metricAlarmConfiguration]),
  }),
));
export type CloudWatchAlarmStateChange = z.infer<typeof cloudWatchAlarmStateChange>;

export type AlarmKind = 'composite' | 'anomaly-detection' | 'metric-math' | 'single-metric';

/** Which of CloudWatch's alarm kinds raised this event. */
export function alarmKind(event: CloudWatchAlarmStateChange): AlarmKind {
  const configuration = event.detail.configuration;
  if ('alarmRule' in configuration) return 'composite';
  const expressions = configuration.metrics.flatMap((metric) => (metric.expression ? [metric.expression] : []));
  if (expressions.some((expression) => /ANOMALY_DETECTION_BAND\s*\(/i.test(expression))) return 'anomaly-detection';
  return expressions.length > 0 ? 'metric-math' : 'single-metric';
}

/**
 * The alarm state's `reasonData`, parsed (it arrives as a JSON string). Undefined when absent;
 * an EventValidationError-worthy problem (text that is not a JSON object) returns undefined too,
 * because reasonData is informative only and never decides anything.
 */
export function alarmReasonData(state: { reasonData?: string }): Record<string, unknown> | undefined {
  if (state.reasonData === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(state.reasonData);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// EventBridge scheduled rules

export const EVENTBRIDGE_SOURCE = 'aws.events';
export const SCHEDULED_EVENT = 'Scheduled Event';

/** The ARN of a rule on the default bus, the only bus whose rules run on a schedule. */
export const SCHEDULE_RULE_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:[^:]+:rule\/[\w.-]{1,64}$/;

/**
 * What a schedule rule (`rate(...)` or `cron(...)`) sends its targets each time it fires: source
 * `aws.events`, an empty detail, and the rule that fired as the one resource. The time is the
 * scheduled time, to the second; EventBridge keeps the id and time on a redelivery.
 */
export const scheduledEvent = z.lazy(() => z.extend(envelope(z.literal(EVENTBRIDGE_SOURCE), SCHEDULED_EVENT, z.looseObject({})), {
  resources: z
    .array(z.string().check(z.regex(SCHEDULE_RULE_ARN, 'expected the ARN of the EventBridge rule that fired, such as arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule')))
    .check(z.length(1, 'expected exactly one resource: the rule that fired')),
}));
export type ScheduledEvent = z.infer<typeof scheduledEvent>;

// ---------------------------------------------------------------------------------------------
// SageMaker

export const SAGEMAKER_SOURCE = 'aws.sagemaker';
export const SAGEMAKER_TRAINING_JOB_STATE_CHANGE = 'SageMaker Training Job State Change';
export const SAGEMAKER_ENDPOINT_STATE_CHANGE = 'SageMaker Endpoint State Change';
export const SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE = 'SageMaker Model Package State Change';

export const TRAINING_JOB_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;
/** The statuses after which a training job does nothing more: what promote reacts to. */
export const TRAINING_JOB_FINAL_STATUSES = ['Completed', 'Failed', 'Stopped'] as const;

/** quirk: SageMaker's event samples carry times as epoch-millisecond strings or numbers. */
const sageMakerTime = z.union([z.number(), eventTime]);

export const sageMakerTrainingJobStateChange = z.lazy(() => envelope(
  z.literal(SAGEMAKER_SOURCE),
  SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
  z.looseObject({
    TrainingJobName: nonEmpty,
    TrainingJobArn: nonEmpty,
    TrainingJobStatus: z.enum(TRAINING_JOB_STATUSES),
    SecondaryStatus: z.optional(z.string()),
    FailureReason: z.optional(z.string()),
    HyperParameters: z.optional(z.record(z.string(), z.string())),
    ModelArtifacts: z.optional(z.looseObject({ S3ModelArtifacts: nonEmpty })),
    CreationTime: z.optional(sageMakerTime),
    TrainingStartTime: z.optional(sageMakerTime),
    TrainingEndTime: z.optional(sageMakerTime),
    LastModifiedTime: z.optional(sageMakerTime),
    Tags: z.optional(z.record(z.string(), z.string())),
  }),
));
export type SageMakerTrainingJobStateChange = z.infer<typeof sageMakerTrainingJobStateChange>;

/**
 * quirk: the documented sample says `IN_SERVICE`, while the SageMaker API's EndpointStatus says
 * `InService`; both spellings are accepted and endpointStatus() folds them into the API's.
 */
export const ENDPOINT_STATUSES = [
  'OutOfService', 'Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'InService', 'Deleting', 'Failed',
  'UpdateRollbackFailed',
] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];
const ENDPOINT_STATUS_BY_KEY = new Map<string, EndpointStatus>(
  ENDPOINT_STATUSES.map((status) => [status.toUpperCase(), status]),
);
const endpointStatusKey = (status: string) => status.replace(/_/g, '').toUpperCase();

export function endpointStatus(status: string): EndpointStatus {
  const known = ENDPOINT_STATUS_BY_KEY.get(endpointStatusKey(status));
  if (!known) throw new Error(`unknown SageMaker endpoint status '${status}'`);
  return known;
}

export const sageMakerEndpointStateChange = z.lazy(() => envelope(
  z.literal(SAGEMAKER_SOURCE),
  SAGEMAKER_ENDPOINT_STATE_CHANGE,
  z.looseObject({
    EndpointName: nonEmpty,
    EndpointArn: nonEmpty,
    EndpointConfigName: nonEmpty,
    EndpointStatus: z.string().check(
      z.refine((status) => ENDPOINT_STATUS_BY_KEY.has(endpointStatusKey(status)), {
        message: `expected one of ${ENDPOINT_STATUSES.join(', ')} (or its UPPER_SNAKE spelling)`,
      }),
    ),
    ProductionVariants: z.optional(z.array(z.looseObject({}))),
    CreationTime: z.optional(sageMakerTime),
    LastModifiedTime: z.optional(sageMakerTime),
    FailureReason: z.optional(z.string()),
    Tags: z.optional(z.record(z.string(), z.string())),
  }),
));
export type SageMakerEndpointStateChange = z.infer<typeof sageMakerEndpointStateChange>;

export const MODEL_APPROVAL_STATUSES = ['Approved', 'Rejected', 'PendingManualApproval'] as const;

export const sageMakerModelPackageStateChange = z.lazy(() => envelope(
  z.literal(SAGEMAKER_SOURCE),
  SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE,
  z.looseObject({
    ModelPackageGroupName: nonEmpty,
    ModelPackageVersion: z.number().check(z.int(), z.positive()),
    ModelPackageArn: nonEmpty,
    ModelPackageStatus: z.enum(['Pending', 'InProgress', 'Completed', 'Failed', 'Deleting']),
    ModelApprovalStatus: z.enum(MODEL_APPROVAL_STATUSES),
    CreationTime: z.optional(sageMakerTime),
    LastModifiedTime: z.optional(sageMakerTime),
    InferenceSpecification: z.optional(
      z.looseObject({
        Containers: z.array(z.looseObject({ Image: nonEmpty, ModelDataUrl: z.optional(z.string()) })),
      }),
    ),
  }),
));
export type SageMakerModelPackageStateChange = z.infer<typeof sageMakerModelPackageStateChange>;

/** Every consumed AWS event kind, by its detail-type. */
export const AWS_EVENT_SCHEMAS = {
  [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE]: codeDeployDeploymentStateChange,
  [CODEDEPLOY_INSTANCE_STATE_CHANGE]: codeDeployInstanceStateChange,
  [CODEPIPELINE_PIPELINE_EXECUTION]: codePipelinePipelineExecution,
  [CODEPIPELINE_STAGE_EXECUTION]: codePipelineStageExecution,
  [CODEPIPELINE_ACTION_EXECUTION]: codePipelineActionExecution,
  [CLOUDWATCH_ALARM_STATE_CHANGE]: cloudWatchAlarmStateChange,
  [SCHEDULED_EVENT]: scheduledEvent,
  [SAGEMAKER_TRAINING_JOB_STATE_CHANGE]: sageMakerTrainingJobStateChange,
  [SAGEMAKER_ENDPOINT_STATE_CHANGE]: sageMakerEndpointStateChange,
  [SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE]: sageMakerModelPackageStateChange,
} as const;
export type AwsEventKind = keyof typeof AWS_EVENT_SCHEMAS;
