import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CLOUDWATCH_ALARM_STATE_CHANGE, SCHEDULED_EVENT } from '../events/aws';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import { buildEntry, type RetrainingTrigger } from '../events/emitted';
import { parseAwsEvent } from '../events/parse';
import { scheduleRuleName } from '../events/schedule';
import { DynamoDbControlStore } from './adapters/dynamodb-stores';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { S3TrainingRowCounter } from './adapters/s3-data-lake';
import { SageMakerTraining } from './adapters/sagemaker-training';
import { ENV, eventSourceFromEnv, jsonEnv, requireEnv, retrainingSettings, type RetrainingSettings } from './config';
import {
  checkNamePrefix,
  dataWindow,
  driftEventTime,
  recordedTrainingJob,
  screenAlarm,
  screenCooldown,
  screenData,
  screenRunning,
  scheduleOff,
  screenSchedule,
  trainingJobName,
  trainingJobSpec,
  type DriftIgnored,
  type DriftIgnoreReason,
} from './drift-domain';
import type { ControlStore, RetrainingState, TrainingPort, TrainingRowCounter } from './ports';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { DRIFT_DECLARATION } from './drift.declaration';

/**
 * drift: one of Deploy Guard's alarms went into ALARM, or its retraining schedule came due; start one
 * SageMaker training job on the most recent labelled rows, unless a job is running, the cooldown
 * holds, or the window holds fewer rows than the settings' minimum (a job on too little data would
 * fail or lose to the serving model, and cost all the same). The job's name is derived from the
 * alarm's state change or the Scheduled Event, so a redelivered event finds the job it started and
 * starts nothing.
 *
 * The cooldown applies to the schedule too: a scheduled run within cooldownHours of the last job
 * (whatever started it) is skipped, since that job trained on the same recent rows. It cannot starve
 * the schedule: a schedule is longer than the cooldown (stacks/config.ts), so its own last run never
 * blocks the next one, and an alarm blocks a run only by having just retrained.
 */

export interface DriftConfig {
  readonly source: string;
  readonly eventBusName: string;
  /** The installation's name prefix: job names start with it. */
  readonly namePrefix: string;
  readonly dataBucket: string;
  readonly modelBucket: string;
  readonly settings: RetrainingSettings;
}

export interface DriftDependencies {
  readonly training: TrainingPort;
  /** The data lake, asked whether the window holds enough rows. */
  readonly rows: TrainingRowCounter;
  readonly control: ControlStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly config: DriftConfig;
}

/** Whose event it was: one of the alarms (by name), or a schedule rule (by name). */
export type DriftSubject = { readonly alarmName: string; readonly scheduleRule?: never } | { readonly scheduleRule: string; readonly alarmName?: never };

export type DriftResult = DriftSubject &
  (
    | { readonly status: 'ignored'; readonly reason: DriftIgnoreReason; readonly message: string }
    /** The job of this state change or scheduled run exists already (a redelivery): nothing started, nothing emitted. */
    | { readonly status: 'duplicate'; readonly trainingJobName: string }
    | {
        readonly status: 'started';
        readonly trainingJobName: string;
        /** False when another job was recorded meanwhile (two alarms racing); the job runs all the same. */
        readonly recorded: boolean;
        readonly published: string;
        /** The job was started by an earlier attempt that stopped before announcing and recording it; this one finished that. */
        readonly resumed?: true;
      }
  );

/** An event that asks for retraining, once screened: the job it would start, and why. */
interface RetrainingRequest {
  readonly subject: DriftSubject;
  readonly trigger: RetrainingTrigger;
  /** The alarm's or the schedule rule's name: kept with the recorded job. */
  readonly triggerName: string;
  readonly jobName: string;
  readonly eventTime: number;
  readonly reason: string;
}

export async function handleDriftEvent(event: unknown, deps: DriftDependencies): Promise<DriftResult> {
  const request = detailTypeOf(event) === SCHEDULED_EVENT ? scheduledRequest(event, deps.config) : alarmRequest(event, deps.config);
  if ('status' in request) return request;
  return retrain(request, deps);
}

function alarmRequest(event: unknown, config: DriftConfig): RetrainingRequest | DriftResult {
  const alarm = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
  const { alarmName } = alarm.detail;
  const subject = { alarmName };
  const screened = screenAlarm(alarm, config.settings.alarmNames);
  if (screened) return { status: 'ignored', ...screened, ...subject };
  return {
    subject,
    trigger: { type: 'alarm', alarmName },
    triggerName: alarmName,
    jobName: trainingJobName(config.namePrefix, alarmName, alarm.detail.state.timestamp),
    eventTime: driftEventTime(alarm),
    reason: alarm.detail.state.reason || `alarm ${alarmName} went into ALARM`,
  };
}

function scheduledRequest(event: unknown, config: DriftConfig): RetrainingRequest | DriftResult {
  const scheduled = parseAwsEvent(SCHEDULED_EVENT, event);
  // The schema holds exactly one resource, the ARN of the rule that fired.
  const ignored = (found: DriftIgnored): DriftResult => ({ status: 'ignored', ...found, scheduleRule: scheduleRuleName(scheduled.resources[0]!) });
  const { schedule } = config.settings;
  if (!schedule) return ignored(scheduleOff(scheduled));
  const screened = screenSchedule(scheduled, schedule);
  if (screened) return ignored(screened);
  const ruleName = scheduleRuleName(schedule.ruleArn);
  const eventTime = driftEventTime(scheduled);
  const scheduledAt = eventBridgeTime(eventTime);
  return {
    subject: { scheduleRule: ruleName },
    trigger: { type: 'schedule', ruleName, periodDays: schedule.days, scheduledAt },
    triggerName: ruleName,
    jobName: trainingJobName(config.namePrefix, ruleName, scheduledAt),
    eventTime,
    reason: `the retraining schedule ${ruleName} (every ${schedule.days} day${schedule.days === 1 ? '' : 's'}) came due at ${scheduledAt}`,
  };
}

/**
 * The checks every request goes through (a running job, the cooldown, the data), then the job.
 *
 * The steps, and what a redelivery finds after an attempt stopped between two of them:
 * 1. record the job (promote adopts only recorded jobs) — stopped after it: nothing started, the
 *    redelivery starts the job;
 * 2. CreateTrainingJob — stopped after it, or its answer lost: the job exists (running, or answered
 *    "already exists") and the redelivery goes on with step 3;
 * 3. record it as the last retraining (the cooldown's clock; a compare-and-set, so of two deliveries
 *    of one event racing, one goes on and the other is a duplicate) — stopped after it: the
 *    redelivery finds it unannounced and goes on with step 4;
 * 4. announce Model Retraining Started, then mark the record announced — stopped between the two:
 *    the redelivery announces again (the announcement is at least once, like EventBridge's delivery).
 */
async function retrain(request: RetrainingRequest, deps: DriftDependencies): Promise<DriftResult> {
  const { config } = deps;
  const { subject, jobName, eventTime } = request;
  const ignored = (found: DriftIgnored): DriftResult => ({ status: 'ignored', ...found, ...subject });

  const running = await deps.training.runningJobs(config.namePrefix);
  const last = await deps.control.readRetraining();
  if (last?.trainingJobName === jobName) return last.announcedAt === undefined ? announce(request, last, deps, { resumed: true }) : duplicateOf(request);
  if (running.includes(jobName)) return resume(request, last, deps);
  const busy = screenRunning(running);
  if (busy) return ignored(busy);
  const cooling = screenCooldown(last, eventTime, config.settings.cooldownHours);
  if (cooling) return ignored(cooling);

  const window = dataWindow(eventTime, config.settings.dataWindowDays);
  const { minimumRows } = config.settings;
  const scarce = screenData(await deps.rows.countRows(window.fromDate, window.toDate, minimumRows), window, minimumRows);
  if (scarce) return ignored(scarce);
  const serving = await deps.control.readServingModel();
  const spec = trainingJobSpec({
    jobName,
    alarmName: request.triggerName,
    window,
    settings: config.settings,
    namePrefix: config.namePrefix,
    dataBucket: config.dataBucket,
    modelBucket: config.modelBucket,
    serving,
  });
  const job = recordedTrainingJob(spec, window, deps.clock.now());
  await deps.control.recordTrainingJob(job);
  if ((await deps.training.startTrainingJob(spec)) === 'already-exists') return resume(request, last, deps);
  return recordAndAnnounce(request, job.startedAt, last, deps, {});
}

/** The job of this state change or scheduled run exists and is recorded and announced: nothing to do. */
function duplicateOf(request: RetrainingRequest): DriftResult {
  return { status: 'duplicate', trainingJobName: request.jobName, ...request.subject };
}

/**
 * A job of this name exists but is not the recorded last retraining: an earlier attempt (or this
 * one, whose CreateTrainingJob answer was lost) started it and stopped before step 3, or another
 * delivery of the event is at step 3 now. If Deploy Guard recorded the job (step 1), steps 3 and 4
 * follow, with the start time recorded then. A job of this name that Deploy Guard never recorded is
 * not its own: a duplicate, nothing done.
 */
async function resume(request: RetrainingRequest, last: RetrainingState | undefined, deps: DriftDependencies): Promise<DriftResult> {
  const job = await deps.control.readTrainingJob(request.jobName);
  if (!job) return duplicateOf(request);
  return recordAndAnnounce(request, job.startedAt, last, deps, { resumed: true });
}

type Resumed = { readonly resumed?: true };

/** Steps 3 and 4. */
async function recordAndAnnounce(request: RetrainingRequest, startedAt: number, last: RetrainingState | undefined, deps: DriftDependencies, resumed: Resumed): Promise<DriftResult> {
  // The record's alarmName holds what started the job: the alarm, or the schedule rule.
  const state: RetrainingState = { trainingJobName: request.jobName, alarmName: request.triggerName, startedAt };
  if (await deps.control.recordRetraining(state, last?.trainingJobName ?? null)) return announce(request, state, deps, resumed);
  // Another delivery of this event recorded it first (it announces), or another job was recorded
  // meanwhile (two alarms racing: this job runs all the same, and is announced, unrecorded).
  if ((await deps.control.readRetraining())?.trainingJobName === request.jobName) return duplicateOf(request);
  const published = await publishStarted(request, startedAt, deps);
  return { status: 'started', trainingJobName: request.jobName, recorded: false, published, ...resumed, ...request.subject };
}

/** Step 4: announce the recorded job, then mark its record announced. */
async function announce(request: RetrainingRequest, recorded: RetrainingState, deps: DriftDependencies, resumed: Resumed): Promise<DriftResult> {
  const published = await publishStarted(request, recorded.startedAt, deps);
  await deps.control.recordRetraining({ ...recorded, announcedAt: deps.clock.now() }, request.jobName);
  return { status: 'started', trainingJobName: request.jobName, recorded: true, published, ...resumed, ...request.subject };
}

/** Model Retraining Started: the job, what started it and why, and its data window. */
async function publishStarted(request: RetrainingRequest, startedAt: number, deps: DriftDependencies): Promise<string> {
  const { config } = deps;
  const window = dataWindow(request.eventTime, config.settings.dataWindowDays);
  const entry = buildEntry(
    'Model Retraining Started',
    {
      schemaVersion: '2',
      trainingJobName: request.jobName,
      trigger: request.trigger,
      ...(request.trigger.type === 'alarm' ? { alarmName: request.trigger.alarmName } : {}),
      reason: request.reason,
      dataWindow: { from: window.from, to: window.to },
      imageUri: config.settings.imageUri,
      startedAt: eventBridgeTime(startedAt),
    },
    { source: config.source, eventBusName: config.eventBusName, time: new Date(startedAt) },
  );
  await deps.publisher.publish([entry]);
  return entry.DetailType;
}

function detailTypeOf(event: unknown): unknown {
  return event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
}

/** Reads the handler's configuration from the Lambda environment, naming the variable that is wrong. */
export function driftConfigFromEnv(env: NodeJS.ProcessEnv): DriftConfig {
  const namePrefix = requireEnv(env, ENV.namePrefix, "the installation's name prefix, e.g. deploy-guard-dev");
  checkNamePrefix(namePrefix);
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    namePrefix,
    dataBucket: requireEnv(env, ENV.dataBucket, 'the S3 bucket of labelled training rows'),
    modelBucket: requireEnv(env, ENV.modelBucket, 'the S3 bucket of model artifacts and training output'),
    settings: jsonEnv(env, ENV.retraining, retrainingSettings, 'the retraining settings (JSON)'),
  };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const sageMakerClient = new SageMakerClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<DriftDependencies>> {
  return {
    training: new SageMakerTraining(sageMakerClient),
    rows: new S3TrainingRowCounter(s3Client, requireEnv(env, ENV.dataBucket, 'the S3 bucket of labelled training rows')),
    control: new DynamoDbControlStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    clock: systemClock,
  };
}

export const DRIFT: HandlerDefinition<DriftDependencies, DriftResult> = { declaration: DRIFT_DECLARATION, handle: handleDriftEvent, configFromEnv: driftConfigFromEnv, awsPorts };

export const handler = lambdaEntry(DRIFT);
