import { createHash } from 'node:crypto';
import type { CloudWatchAlarmStateChange, ScheduledEvent } from '../events/aws';
import { eventTimeMillis } from '../events/envelope';
import hyperparameterFile from '../model/hyperparameters.json';
import type { RetrainingSchedule, RetrainingSettings } from './config';
import type { RecordedTrainingJob, RetrainingState, ServingModelPointer, TrainingJobSpec } from './ports';
import { trainingOutputUri, trainingRowsUri } from './s3-layout';
import { ownName } from '../events/names';

/**
 * What drift does with a CloudWatch alarm state change or a Scheduled Event of the retraining
 * schedule: whether it starts retraining, and the exact training job it starts. Pure: no I/O, no
 * clock (times come from the event).
 */

/** Why an alarm or scheduled event starts nothing. */
export type DriftIgnoreReason =
  /** Not one of Deploy Guard's alarms (settings.alarmNames). */
  | 'not-own-alarm'
  /** A Scheduled Event of another rule than Deploy Guard's retraining schedule, or the schedule is off. */
  | 'not-own-schedule'
  /** The alarm moved to OK or INSUFFICIENT_DATA. */
  | 'not-alarm-state'
  /** ALARM → ALARM: the alarm was already in ALARM (a repeat, e.g. a reason change). */
  | 'repeat-alarm'
  /** A Deploy Guard training job is InProgress or Stopping. */
  | 'training-running'
  /**
   * The last job (whatever started it) started less than cooldownHours before this event: it trained
   * on the same recent rows. For the schedule this skips one run at most, since a schedule is longer
   * than the cooldown (stacks/config.ts).
   */
  | 'cooldown'
  /** The data window holds fewer labelled rows than settings.minimumRows. */
  | 'not-enough-data';

export interface DriftIgnored {
  readonly reason: DriftIgnoreReason;
  readonly message: string;
}

/** The script-mode entry point, in the source directory settings.sourceDirS3Uri. */
export const TRAINING_PROGRAM = 'train.py';

/** SageMaker's limit on a training job name, and its alphabet. */
export const MAX_TRAINING_JOB_NAME = 63;
const JOB_NAME_SUFFIX_LENGTH = '-yyyymmdd-hhmm-abcdef'.length;

/** The alarm event, decided on from its own content (before any port is asked). */
export function screenAlarm(event: CloudWatchAlarmStateChange, alarmNames: readonly string[]): DriftIgnored | undefined {
  const { alarmName, state, previousState } = event.detail;
  if (!alarmNames.includes(alarmName)) {
    return { reason: 'not-own-alarm', message: `alarm ${alarmName} is not one of Deploy Guard's alarms (${alarmNames.join(', ')})` };
  }
  if (state.value !== 'ALARM') {
    return { reason: 'not-alarm-state', message: `alarm ${alarmName} moved to ${state.value}, not ALARM` };
  }
  if (previousState?.value === 'ALARM') {
    return { reason: 'repeat-alarm', message: `alarm ${alarmName} was already in ALARM: a repeat, not a new state change` };
  }
  return undefined;
}

/**
 * The Scheduled Event, decided on from its own content: only Deploy Guard's retraining schedule
 * starts a job, recognised by its rule's exact ARN (EventBridge names the rule that fired as the
 * event's one resource), as alarms are recognised by their exact names.
 */
export function screenSchedule(event: ScheduledEvent, schedule: RetrainingSchedule): DriftIgnored | undefined {
  if (event.resources.length === 1 && event.resources[0] === schedule.ruleArn) return undefined;
  return { reason: 'not-own-schedule', message: `the Scheduled Event of ${event.resources.join(', ')} is not from Deploy Guard's retraining schedule ${schedule.ruleArn}` };
}

/** A Scheduled Event when the installation has no retraining schedule (retraining.scheduleDays 0). */
export function scheduleOff(event: ScheduledEvent): DriftIgnored {
  return { reason: 'not-own-schedule', message: `the Scheduled Event of ${event.resources.join(', ')} starts nothing: Deploy Guard's retraining schedule is off (retraining.scheduleDays 0)` };
}

/** Deploy Guard's jobs that are running, or undefined when none is. */
export function screenRunning(runningJobs: readonly string[]): DriftIgnored | undefined {
  if (runningJobs.length === 0) return undefined;
  return { reason: 'training-running', message: `Deploy Guard training job ${runningJobs.join(', ')} is still running` };
}

/** The cooldown: ignored while `last.startedAt + cooldownHours` is after the event time (the boundary itself starts). */
export function screenCooldown(last: RetrainingState | undefined, eventTime: number, cooldownHours: number): DriftIgnored | undefined {
  if (!last) return undefined;
  const until = last.startedAt + cooldownHours * 3_600_000;
  if (until <= eventTime) return undefined;
  return {
    reason: 'cooldown',
    message:
      `training job ${last.trainingJobName} started at ${new Date(last.startedAt).toISOString()}; ` +
      `the ${cooldownHours} h cooldown lasts until ${new Date(until).toISOString()}`,
  };
}

/** Too few labelled rows in the window to be worth a training job, or undefined when there are enough. */
export function screenData(rows: number, window: DataWindow, minimumRows: number): DriftIgnored | undefined {
  if (rows >= minimumRows) return undefined;
  return {
    reason: 'not-enough-data',
    message: `the data lake holds ${rows} labelled row(s) dated ${window.fromDate}..${window.toDate}; retraining needs at least ${minimumRows}`,
  };
}

/** The time of the event (the envelope's `time`), in milliseconds. */
export function driftEventTime(event: CloudWatchAlarmStateChange | ScheduledEvent): number {
  return eventTimeMillis(event.time);
}

/**
 * The job's name: `<prefix>-yyyymmdd-hhmm-<hash>`, from the time of what started it (an alarm state's
 * timestamp, a Scheduled Event's time; UTC) and a hash of its name (the alarm's, or the schedule
 * rule's) and that time. A redelivered event, or the same state change reported twice, names the
 * same job, which SageMaker refuses to create twice.
 */
export function trainingJobName(namePrefix: string, triggerName: string, timestamp: string): string {
  checkNamePrefix(namePrefix);
  const millis = eventTimeMillis(timestamp);
  if (Number.isNaN(millis)) throw new Error(`${triggerName}: timestamp '${timestamp}' is not a time`);
  const iso = new Date(millis).toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
  const hash = createHash('sha256').update(`${triggerName}\n${iso}`).digest('hex').slice(0, 6);
  return ownName(namePrefix, `${stamp}-${hash}`);
}

/** A prefix leaves room for the suffix and uses SageMaker's alphabet; the error names the prefix and the rule. */
export function checkNamePrefix(namePrefix: string): void {
  const room = MAX_TRAINING_JOB_NAME - JOB_NAME_SUFFIX_LENGTH;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(namePrefix) || namePrefix.length > room) {
    throw new Error(
      `name prefix '${namePrefix}' must be 1 to ${room} letters, digits and inner hyphens, so that training job names fit SageMaker's ${MAX_TRAINING_JOB_NAME} characters`,
    );
  }
}

/** What trainingJobName appends to the prefix, and nothing else. */
const JOB_NAME_SUFFIX = /^-\d{8}-\d{4}-[0-9a-f]{6}$/;

/**
 * Whether a training job is one of this installation's (drift names them `<prefix>-yyyymmdd-hhmm-<hash>`):
 * the whole name, so that `deploy-guard-dev` never adopts `deploy-guard-dev-x-…` of another installation.
 */
export function isOwnTrainingJob(namePrefix: string, jobName: string): boolean {
  return jobName.startsWith(namePrefix) && JOB_NAME_SUFFIX.test(jobName.slice(namePrefix.length));
}

export interface DataWindow {
  /** First day (UTC, YYYY-MM-DD), included. */
  readonly fromDate: string;
  /** Last day (UTC, YYYY-MM-DD), included: the day of the event. */
  readonly toDate: string;
  /** ISO times for the event: the start of the first day and the event time. */
  readonly from: string;
  readonly to: string;
}

/** The most recent `days` days of rows, the event's day included. */
export function dataWindow(eventTime: number, days: number): DataWindow {
  const to = new Date(eventTime);
  const toDate = to.toISOString().slice(0, 10);
  const fromDate = new Date(Date.parse(`${toDate}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return { fromDate, toDate, from: `${fromDate}T00:00:00Z`, to: to.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** model/hyperparameters.json: the hyperparameters every retraining uses, as strings. */
export const BASE_HYPERPARAMETERS: Readonly<Record<string, string>> = hyperparameterFile;

export interface TrainingJobInput {
  readonly jobName: string;
  readonly alarmName: string;
  readonly window: DataWindow;
  readonly settings: RetrainingSettings;
  readonly namePrefix: string;
  readonly dataBucket: string;
  readonly modelBucket: string;
  readonly serving: ServingModelPointer | undefined;
}

/**
 * The training job: script mode (`sagemaker_program`, `sagemaker_submit_directory`, JSON-encoded as
 * SageMaker's script mode expects) on the sagemaker-xgboost:1.7-1 image, channel `train` the whole
 * data lake's rows prefix with the window passed as `window_from` / `window_to` (train.py keeps only
 * the files of those dates), channel `serving` the serving model so the job evaluates both on the
 * same most recent rows.
 */
export function trainingJobSpec(input: TrainingJobInput): TrainingJobSpec {
  const { settings } = input;
  return {
    trainingJobName: input.jobName,
    imageUri: settings.imageUri,
    roleArn: settings.roleArn,
    instanceType: settings.instanceType,
    instanceCount: settings.instanceCount,
    maxRuntimeSeconds: settings.maxRuntimeSeconds,
    hyperparameters: {
      ...BASE_HYPERPARAMETERS,
      window_from: input.window.fromDate,
      window_to: input.window.toDate,
      sagemaker_program: JSON.stringify(TRAINING_PROGRAM),
      sagemaker_submit_directory: JSON.stringify(settings.sourceDirS3Uri),
    },
    trainS3Uri: trainingRowsUri(input.dataBucket),
    ...(input.serving ? { servingModelS3Uri: input.serving.modelDataUrl } : {}),
    outputS3Uri: trainingOutputUri(input.modelBucket),
    tags: { 'deploy-guard:name-prefix': input.namePrefix, 'deploy-guard:started-by': 'drift' },
  };
}

/** What drift records about a job before starting it: what promote checks the finished job against. */
export function recordedTrainingJob(spec: TrainingJobSpec, window: DataWindow, startedAt: number): RecordedTrainingJob {
  return {
    trainingJobName: spec.trainingJobName,
    roleArn: spec.roleArn,
    imageUri: spec.imageUri,
    trainS3Uri: spec.trainS3Uri,
    ...(spec.servingModelS3Uri ? { servingModelS3Uri: spec.servingModelS3Uri } : {}),
    outputS3Uri: spec.outputS3Uri,
    hyperparameters: spec.hyperparameters,
    fromDate: window.fromDate,
    toDate: window.toDate,
    startedAt,
  };
}
