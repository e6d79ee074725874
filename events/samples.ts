import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLOUDWATCH_ALARM_STATE_CHANGE,
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  CODEDEPLOY_INSTANCE_STATE_CHANGE,
  CODEPIPELINE_ACTION_EXECUTION,
  CODEPIPELINE_PIPELINE_EXECUTION,
  CODEPIPELINE_STAGE_EXECUTION,
  SAGEMAKER_ENDPOINT_STATE_CHANGE,
  SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE,
  SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
  SCHEDULED_EVENT,
  type AwsEventKind,
  type CodeDeployDeploymentState,
} from './aws';
import { DEFAULT_NAME_PREFIX, modelAlarmName, modelPackageGroupName, RETRAINING_SCHEDULE_RULE } from './patterns';
import { ownName } from './names';

/**
 * The real AWS sample events in events/samples/ (origins in its README), each with what it is.
 * Used by the tests, the matcher benchmark and `deploy-guard start`; never by a handler.
 */

export const SAMPLES_DIR = join(__dirname, 'samples');

export interface Sample {
  /** File name in events/samples/, or for a derived sample the file it was derived from. */
  readonly file: string;
  /** The consumed event kind it is; undefined for events Deploy Guard does not consume. */
  readonly kind: AwsEventKind | undefined;
  /** False for payloads that are not EventBridge events at all (contrasts). */
  readonly eventBridge: boolean;
  readonly event: Record<string, unknown>;
  /** Set on derived samples: what was changed, and why. */
  readonly derived?: string;
  /** A quirk of the sample that the code handles on purpose. */
  readonly quirk?: string;
}

interface SampleEntry {
  readonly kind?: AwsEventKind;
  readonly eventBridge?: false;
  readonly quirk?: string;
}

/** Every file in events/samples/, with the kind it is. A test checks that no file is left out. */
const SAMPLE_FILES: Readonly<Record<string, SampleEntry>> = {
  'codedeploy-deployment-state-change.success.json': { kind: CODEDEPLOY_DEPLOYMENT_STATE_CHANGE },
  'codedeploy-deployment-state-change.failure.json': {
    kind: CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
    quirk: 'ids and account anonymised by its source ("someId", "xxxxxxxxxxxx"): accepted, they are non-empty strings',
  },
  'codedeploy-instance-state-change.success.json': { kind: CODEDEPLOY_INSTANCE_STATE_CHANGE },
  'codepipeline-action-execution.abandoned.json': { kind: CODEPIPELINE_ACTION_EXECUTION },
  'codepipeline-action-execution.failed.json': { kind: CODEPIPELINE_ACTION_EXECUTION },
  'codepipeline-action-execution.started.json': {
    kind: CODEPIPELINE_ACTION_EXECUTION,
    quirk: 'no detail.region and no detail.version; type.version is a number: both optional / number-or-string',
  },
  'codepipeline-action-execution.started.codedeploy-provider.lambda-go.json': {
    kind: CODEPIPELINE_ACTION_EXECUTION,
    quirk: 'detail.version and type.version are numbers (strings in the docs): both accepted',
  },
  'codepipeline-action-execution.succeeded.json': { kind: CODEPIPELINE_ACTION_EXECUTION },
  'codepipeline-lambda-invoke-job.json': {
    eventBridge: false,
    quirk: 'what CodePipeline sends a Lambda invoke action (the pipeline gate), not an EventBridge event; its input artifact revision is null',
  },
  'codepipeline-pipeline-execution.failed.json': { kind: CODEPIPELINE_PIPELINE_EXECUTION },
  'codepipeline-pipeline-execution.started.json': { kind: CODEPIPELINE_PIPELINE_EXECUTION },
  'codepipeline-pipeline-execution.started.PROCESSED-codestar-notification-form.json': {
    eventBridge: false,
    quirk: 'the CodeStar Notifications form (detailType camelCase), not what an EventBridge rule delivers',
  },
  'codepipeline-pipeline-execution.stopping.json': { kind: CODEPIPELINE_PIPELINE_EXECUTION },
  'codepipeline-pipeline-execution.succeeded.json': { kind: CODEPIPELINE_PIPELINE_EXECUTION },
  'codepipeline-stage-execution.started.json': {
    kind: CODEPIPELINE_STAGE_EXECUTION,
    quirk: 'detail.version is the string "1" (a number elsewhere): both accepted',
  },
  'codepipeline-stage-execution.stopped.json': { kind: CODEPIPELINE_STAGE_EXECUTION },
  'codepipeline-stage-execution.stopping.json': { kind: CODEPIPELINE_STAGE_EXECUTION },
  'cloudwatch-alarm-state-change.single-metric.json': { kind: CLOUDWATCH_ALARM_STATE_CHANGE },
  'cloudwatch-alarm-state-change.metric-math.json': { kind: CLOUDWATCH_ALARM_STATE_CHANGE },
  'cloudwatch-alarm-state-change.anomaly-detection.json': { kind: CLOUDWATCH_ALARM_STATE_CHANGE },
  'cloudwatch-alarm-state-change.composite-with-suppressor.json': {
    kind: CLOUDWATCH_ALARM_STATE_CHANGE,
    quirk: 'composite alarm: configuration.alarmRule and no metrics',
  },
  'cloudwatch-alarm-state-change.model-monitor-drift.drift-detection-sample.json': {
    kind: CLOUDWATCH_ALARM_STATE_CHANGE,
    quirk: 'placeholders (<<account>>, <<region>>) from its source and no previousState: both accepted',
  },
  'cloudwatch-alarm-configuration-change.update-metric-alarm.json': {
    quirk: 'an alarm configuration change, not a state change: routed nowhere',
  },
  'cloudwatch-alarm-LAMBDA-ACTION-payload.single-metric.powertools.json': {
    eventBridge: false,
    quirk: 'the payload of a CloudWatch alarm Lambda action (alarmArn / alarmData), a different contract',
  },
  'sagemaker-training-job-state-change.json': {
    kind: SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
    quirk: 'times are epoch-millisecond strings: accepted',
  },
  'sagemaker-endpoint-state-change.json': {
    kind: SAGEMAKER_ENDPOINT_STATE_CHANGE,
    quirk: 'envelope time is epoch milliseconds ("1583831889050") and EndpointStatus is IN_SERVICE: both accepted',
  },
  'sagemaker-model-package-state-change.json': {
    kind: SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE,
    quirk:
      'duplicate "source" key, the second an array ["aws.sagemaker"]: JSON.parse keeps the array, which the schema ' +
      'rejects at `source` and no rule matches; repairedModelPackageSample() keeps the first value',
  },
  'eventbridge-scheduled-event.json': { kind: SCHEDULED_EVENT },
  'sagemaker-hyperparameter-tuning-job-state-change.json': {},
  'sagemaker-pipeline-execution-status-change.json': {},
  'sagemaker-pipeline-execution-status-change.drift-detection-sample.json': {},
  'sagemaker-pipeline-execution-step-status-change.json': {},
  'sagemaker-transform-job-state-change.json': {},
};

export function readSampleText(file: string): string {
  return readFileSync(join(SAMPLES_DIR, file), 'utf8');
}

function load(file: string, entry: SampleEntry): Sample {
  return {
    file,
    kind: entry.kind,
    eventBridge: entry.eventBridge ?? true,
    event: JSON.parse(readSampleText(file)) as Record<string, unknown>,
    ...(entry.quirk ? { quirk: entry.quirk } : {}),
  };
}

/** Every real sample, parsed with a plain JSON.parse (the way a Lambda runtime would). */
export const AWS_SAMPLES: readonly Sample[] = Object.entries(SAMPLE_FILES).map(([file, entry]) => load(file, entry));

export const SAMPLE_FILE_NAMES: readonly string[] = Object.keys(SAMPLE_FILES);

export function sample(file: string): Sample {
  const found = AWS_SAMPLES.find((candidate) => candidate.file === file);
  if (!found) throw new Error(`no sample '${file}' in ${SAMPLES_DIR}`);
  return found;
}

function clone(event: Record<string, unknown>): Record<string, unknown> {
  return structuredClone(event);
}

/**
 * The model-package sample with its documented typo repaired: the first `source` value
 * ("aws.sagemaker") kept, the duplicate array dropped. Derived, and labelled so.
 */
export function repairedModelPackageSample(): Sample {
  const original = sample('sagemaker-model-package-state-change.json');
  const event = clone(original.event);
  event.source = 'aws.sagemaker';
  return { ...original, event, derived: 'duplicate "source" key resolved to its first value, "aws.sagemaker"' };
}

/**
 * The repaired model-package sample for an installation's own package group, in `status`: what
 * SageMaker sends when a person approves (or rejects) a package promote registered. Derived.
 */
export function derivedOwnModelPackageEvent(status: 'Approved' | 'Rejected' | 'PendingManualApproval' = 'Approved', namePrefix = DEFAULT_NAME_PREFIX): Sample {
  const repaired = repairedModelPackageSample();
  const detail = repaired.event.detail as Record<string, unknown>;
  const group = modelPackageGroupName(namePrefix);
  detail.ModelPackageGroupName = group;
  detail.ModelPackageArn = `arn:aws:sagemaker:us-east-2:123456789012:model-package/${group}/2`;
  detail.ModelApprovalStatus = status;
  return { ...repaired, derived: `${repaired.derived}; detail.ModelPackageGroupName → ${group}, detail.ModelApprovalStatus → ${status}` };
}

/**
 * A CodeDeploy deployment event in another state, derived from the SUCCESS sample by changing
 * detail.state only (AWS publishes no verbatim START / STOP / READY sample; the envelope and detail
 * keys are identical across states).
 */
export function derivedDeploymentEvent(state: CodeDeployDeploymentState, deploymentId?: string): Sample {
  const original = sample('codedeploy-deployment-state-change.success.json');
  const event = clone(original.event);
  const detail = event.detail as Record<string, unknown>;
  detail.state = state;
  if (deploymentId) detail.deploymentId = deploymentId;
  return {
    ...original,
    event,
    derived: `detail.state SUCCESS → ${state}${deploymentId ? `, detail.deploymentId → ${deploymentId}` : ''}`,
  };
}

/** The single-metric alarm sample renamed as one of Deploy Guard's own alarms (derived). */
export function derivedOwnAlarmEvent(
  alarmName = modelAlarmName(DEFAULT_NAME_PREFIX, 'error-rate'),
  state: 'ALARM' | 'OK' = 'ALARM',
): Sample {
  const original = sample('cloudwatch-alarm-state-change.metric-math.json');
  const event = clone(original.event);
  const detail = event.detail as Record<string, unknown>;
  detail.alarmName = alarmName;
  (detail.state as Record<string, unknown>).value = state;
  event.resources = [`arn:aws:cloudwatch:${String(event.region)}:${String(event.account)}:alarm:${alarmName}`];
  return { ...original, event, derived: `detail.alarmName → ${alarmName}, detail.state.value → ${state}, resources to match` };
}

/**
 * The Scheduled Event sample as Deploy Guard's retraining schedule sends it (derived): its one
 * resource, the rule that fired, becomes `<namePrefix>-retraining-schedule` of the sample's account
 * and region; the id and the time are the sample's.
 */
export function derivedOwnScheduledEvent(namePrefix = `${DEFAULT_NAME_PREFIX}-dev`): Sample & { readonly ruleArn: string } {
  const original = sample('eventbridge-scheduled-event.json');
  const event = clone(original.event);
  const ruleArn = `arn:aws:events:${String(event.region)}:${String(event.account)}:rule/${ownName(namePrefix, RETRAINING_SCHEDULE_RULE)}`;
  event.resources = [ruleArn];
  return { ...original, event, ruleArn, derived: `resources → [${ruleArn}]` };
}

/** The training-job sample renamed as one of Deploy Guard's own jobs, in a given status (derived). */
export function derivedOwnTrainingJobEvent(
  status: 'Completed' | 'Failed' | 'Stopped' | 'InProgress' = 'Completed',
  jobName = `${DEFAULT_NAME_PREFIX}-dev-20261120-0900-5f2c1a`,
): Sample {
  const original = sample('sagemaker-training-job-state-change.json');
  const event = clone(original.event);
  const detail = event.detail as Record<string, unknown>;
  detail.TrainingJobName = jobName;
  detail.TrainingJobStatus = status;
  return { ...original, event, derived: `detail.TrainingJobName → ${jobName}, detail.TrainingJobStatus → ${status}` };
}
