import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CLOUDWATCH_ALARM_STATE_CHANGE } from '../events/aws';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import { buildEntry } from '../events/emitted';
import { parseAwsEvent } from '../events/parse';
import { DynamoDbControlStore } from './adapters/dynamodb-stores';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { S3TrainingRowCounter } from './adapters/s3-data-lake';
import { SageMakerTraining } from './adapters/sagemaker-training';
import { ENV, eventSourceFromEnv, jsonEnv, requireEnv, retrainingSettings, type RetrainingSettings } from './config';
import {
  alarmEventTime,
  checkNamePrefix,
  dataWindow,
  screenAlarm,
  screenCooldown,
  screenData,
  screenRunning,
  trainingJobName,
  trainingJobSpec,
  type DriftIgnoreReason,
} from './drift-domain';
import { correlationIdOf, handlerLogger } from './observability';
import type { ControlStore, TrainingPort, TrainingRowCounter } from './ports';

/**
 * drift: one of Deploy Guard's alarms went into ALARM; start one SageMaker training job on the most
 * recent labelled rows, unless a job is running, the cooldown holds, or the window holds fewer rows
 * than the settings' minimum (a job on too little data would fail or lose to the serving model, and
 * cost all the same). The job's name is derived from
 * the alarm's state change, so a redelivered event finds the job it started and starts nothing.
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

export type DriftResult =
  | { readonly status: 'ignored'; readonly reason: DriftIgnoreReason; readonly message: string; readonly alarmName: string }
  /** The job of this state change exists already (a redelivery): nothing started, nothing emitted. */
  | { readonly status: 'duplicate'; readonly alarmName: string; readonly trainingJobName: string }
  | {
      readonly status: 'started';
      readonly alarmName: string;
      readonly trainingJobName: string;
      /** False when another job was recorded meanwhile (two alarms racing); the job runs all the same. */
      readonly recorded: boolean;
      readonly published: string;
    };

export async function handleDriftEvent(event: unknown, deps: DriftDependencies): Promise<DriftResult> {
  const alarm = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
  const { config } = deps;
  const { alarmName } = alarm.detail;
  const ignored = (found: { reason: DriftIgnoreReason; message: string }): DriftResult => ({ status: 'ignored', ...found, alarmName });

  const screened = screenAlarm(alarm, config.settings.alarmNames);
  if (screened) return ignored(screened);

  const jobName = trainingJobName(config.namePrefix, alarmName, alarm.detail.state.timestamp);
  const running = await deps.training.runningJobs(config.namePrefix);
  if (running.includes(jobName)) return { status: 'duplicate', alarmName, trainingJobName: jobName };
  const busy = screenRunning(running);
  if (busy) return ignored(busy);

  const eventTime = alarmEventTime(alarm);
  const last = await deps.control.readRetraining();
  if (last?.trainingJobName === jobName) return { status: 'duplicate', alarmName, trainingJobName: jobName };
  const cooling = screenCooldown(last, eventTime, config.settings.cooldownHours);
  if (cooling) return ignored(cooling);

  const window = dataWindow(eventTime, config.settings.dataWindowDays);
  const { minimumRows } = config.settings;
  const scarce = screenData(await deps.rows.countRows(window.fromDate, window.toDate, minimumRows), window, minimumRows);
  if (scarce) return ignored(scarce);
  const serving = await deps.control.readServingModel();
  const spec = trainingJobSpec({
    jobName,
    alarmName,
    window,
    settings: config.settings,
    namePrefix: config.namePrefix,
    dataBucket: config.dataBucket,
    modelBucket: config.modelBucket,
    serving,
  });
  if ((await deps.training.startTrainingJob(spec)) === 'already-exists') {
    return { status: 'duplicate', alarmName, trainingJobName: jobName };
  }

  const startedAt = deps.clock.now();
  const recorded = await deps.control.recordRetraining({ trainingJobName: jobName, alarmName, startedAt }, last?.trainingJobName ?? null);
  const entry = buildEntry(
    'Model Retraining Started',
    {
      schemaVersion: '1',
      trainingJobName: jobName,
      alarmName,
      reason: alarm.detail.state.reason || `alarm ${alarmName} went into ALARM`,
      dataWindow: { from: window.from, to: window.to },
      imageUri: config.settings.imageUri,
      startedAt: eventBridgeTime(startedAt),
    },
    { source: config.source, eventBusName: config.eventBusName, time: new Date(startedAt) },
  );
  await deps.publisher.publish([entry]);
  return { status: 'started', alarmName, trainingJobName: jobName, recorded, published: entry.DetailType };
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
const logger = handlerLogger('drift');
let lambdaDependencies: DriftDependencies | undefined;

export const handler = async (event: unknown): Promise<DriftResult> => {
  if (!lambdaDependencies) {
    const config = driftConfigFromEnv(process.env);
    lambdaDependencies = {
      training: new SageMakerTraining(sageMakerClient),
      rows: new S3TrainingRowCounter(s3Client, config.dataBucket),
      control: new DynamoDbControlStore(dynamoDbClient, requireEnv(process.env, ENV.controlTable, 'the DynamoDB control table')),
      publisher: new EventBridgePublisher(eventBridgeClient),
      clock: systemClock,
      config,
    };
  }
  const correlationId = correlationIdOf(event);
  if (correlationId) logger.appendKeys({ correlationId });
  const result = await handleDriftEvent(event, lambdaDependencies);
  logger.info('drift', { ...result });
  return result;
};
