import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalEventBus, type BusEvent } from '../events/bus';
import { ManualClock } from '../events/clock';
import type { PutEventsEntry } from '../events/emitted';
import { PublishError, type EventPublisher } from '../handlers/adapters/event-publisher';
import { InMemoryRollbackLedger } from '../handlers/adapters/in-memory-ledger';
import {
  InMemoryBakeStore,
  InMemoryChangeSummaryStore,
  InMemoryControlStore,
  InMemoryDeploymentStore,
  InMemoryGateStore,
  InMemoryHoldStore,
  InMemoryOperatorControlStore,
  InMemoryShadowDigestStore,
} from '../handlers/adapters/in-memory-stores';
import { DynamoDbShadowDigestStore } from '../handlers/adapters/dynamodb-digests';
import { DynamoDbGateStore } from '../handlers/adapters/dynamodb-gates';
import { DynamoDbOperatorControlStore } from '../handlers/adapters/dynamodb-operator-controls';
import { DynamoDbHoldStore } from '../handlers/adapters/dynamodb-holds';
import { DynamoDbBakeStore, DynamoDbChangeSummaryStore, DynamoDbControlStore, DynamoDbDeploymentStore } from '../handlers/adapters/dynamodb-stores';
import { DynamoDbRollbackLedger } from '../handlers/adapters/dynamodb-ledger';
import { emfDocument } from '../handlers/adapters/emf-metrics';
import type { BakeStore, ChangeSummaryStore, ControlStore, DeploymentStore, GateStore, HoldStore, MetricsPort, OperatorControlStore, RollbackLedger, ShadowDigestStore } from '../handlers/ports';
import { TRAIN_SCRIPT, type Trainer } from '../model/training';
import { untarGzip } from '../model/tar';
import type { XGBoostModel } from '../model/xgboost';
import { LocalCloudWatch } from './cloudwatch';
import { LocalCodeDeploy } from './codedeploy';
import { LocalCodePipeline } from './codepipeline';
import { handlerFunctionName } from '../events/names';
import { startLocalDynamoDb } from './dynalite';
import { LocalEndpoint, LocalHosting, LocalObjectStore, LocalTraining } from './sagemaker';
import { Scheduler } from './scheduler';
import { LocalNotifications } from './sns';
import type { AlarmWiring } from './terraform-wiring';
import { initialModelUris } from '../handlers/s3-layout';

/**
 * The local stand-ins for the AWS services the handlers use, and the stores behind their ports:
 * everything a backtest runs on besides the handlers themselves, built once per run.
 */

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_BUCKETS = { data: 'deploy-guard-local-data', models: 'deploy-guard-local-models' } as const;

/** The handlers' stores: in process, or DynamoDB tables on dynalite through the real adapters. */
export interface LocalStores {
  readonly deployments: DeploymentStore;
  readonly changes: ChangeSummaryStore;
  readonly control: ControlStore;
  /** The operators' overrides and pauses (the control table's `override#` and `pause#` items). */
  readonly operatorControls: OperatorControlStore;
  /** The holds of groups that hold risky deployments for a person (the control table's `hold#` items). */
  readonly holds: HoldStore;
  /** The pipeline gate's jobs and passes (the control table's `gatejob#` and `gatepass#` items). */
  readonly gates: GateStore;
  readonly ledger: RollbackLedger;
  readonly bakes: BakeStore;
  /** The shadow digest's claims of the days it told (the control table's `shadowdigest#` items). */
  readonly digests: ShadowDigestStore;
}

/** The default bus (AWS services' events) and Deploy Guard's own bus. */
export interface LocalBuses {
  readonly default: LocalEventBus;
  readonly custom: LocalEventBus;
}

export interface StandInOptions {
  /** The virtual time the run starts at. */
  readonly start: number;
  readonly region: string;
  /** The name of Deploy Guard's own bus in the stack. */
  readonly customBusName: string;
  /** The alarms the local CloudWatch evaluates (none: no alarm ever starts retraining). */
  readonly alarms: readonly AlarmWiring[];
  readonly store: 'memory' | 'dynamodb';
  /** Who trains the training jobs (model/training.ts resolveTrainer). */
  readonly trainer: Trainer;
  /** Where training jobs write their files. */
  readonly trainingDir: string;
  /** A training job's duration, in virtual time. */
  readonly trainingMs: number;
  readonly log: (line: string) => void;
}

export interface StandIns {
  readonly clock: ManualClock;
  readonly scheduler: Scheduler;
  readonly buses: LocalBuses;
  readonly publisher: LocalPublisher;
  readonly codeDeploy: LocalCodeDeploy;
  /** CodePipeline: a pipeline whose gate action (the pipeline-gate function) runs before its Deploy stage. */
  readonly codePipeline: LocalCodePipeline;
  readonly cloudWatch: LocalCloudWatch;
  /** SNS: what notify published. */
  readonly notifications: LocalNotifications;
  /** The handlers' embedded metrics, as CloudWatch Logs would extract them. */
  readonly metrics: MetricsPort;
  /** S3: the data lake's training rows, model artifacts. */
  readonly objects: LocalObjectStore;
  readonly endpoint: LocalEndpoint;
  readonly training: LocalTraining;
  readonly hosting: LocalHosting;
  /** The data lake the handlers write to (the warm-up deployments' rows included). */
  readonly lake: { putRow(row: Parameters<LocalObjectStore['putRow']>[0]): Promise<void> };
  /** The warm-up deployments (the first model's training data), by deployment id. */
  readonly warmUpIds: Set<string>;
  readonly stores: LocalStores;
  /** Stops dynalite, if it runs, and removes the training jobs' channel folders. */
  close(): Promise<void>;
}

export async function buildStandIns(options: StandInOptions): Promise<StandIns> {
  const { region, customBusName } = options;
  const clock = new ManualClock(options.start);
  const scheduler = new Scheduler();
  const objects = new LocalObjectStore(LOCAL_BUCKETS.data);
  const endpoint = new LocalEndpoint();
  const buses = localBuses({ region, customBusName, clock });
  const emit = (event: unknown) => buses.default.publishAwsEvent(event as BusEvent);
  const codeDeploy = new LocalCodeDeploy({ clock, account: LOCAL_ACCOUNT, region, emit });
  const codePipeline = new LocalCodePipeline({ clock, codeDeploy, account: LOCAL_ACCOUNT, functionName: handlerFunctionName(customBusName, 'pipeline-gate') });
  const cloudWatch = new LocalCloudWatch({ alarms: options.alarms, region, account: LOCAL_ACCOUNT, start: clock.now(), onStateChange: emit });
  const metrics: MetricsPort = { put: (values) => cloudWatch.putEmfLog(JSON.stringify(emfDocument(values))) };
  const training = new LocalTraining({
    objects,
    trainer: options.trainer,
    trainScript: TRAIN_SCRIPT,
    workDir: options.trainingDir,
    account: LOCAL_ACCOUNT,
    region,
    durationMs: options.trainingMs,
    schedule: (at, run) => scheduler.schedule(at, run),
    clock,
    emit,
    log: options.log,
  });
  const warmUpIds = new Set<string>();
  // Retraining learns from every observed row, the warm-up's included (as in AWS, where the data lake holds every labelled deployment).
  const lake = { putRow: (row: Parameters<LocalObjectStore['putRow']>[0]) => objects.putRow(row) };
  const hosting = new LocalHosting(objects, endpoint, modelFromArchive);
  const { stores, close: closeStores } = await openStores(options.store);
  const publisher = new LocalPublisher(buses.default, buses.custom);
  const notifications = new LocalNotifications(clock);
  const close = async (): Promise<void> => {
    training.close();
    await closeStores();
  };
  return { clock, scheduler, buses, publisher, codeDeploy, codePipeline, cloudWatch, notifications, metrics, objects, endpoint, training, hosting, lake, warmUpIds, stores, close };
}

/** The two local buses; they deliver only when drained, and number their events in one sequence. */
export function localBuses(options: { readonly region: string; readonly customBusName: string; readonly clock: ManualClock }): LocalBuses {
  let eventSequence = 0;
  const newId = () => `local-${(++eventSequence).toString(16).padStart(8, '0')}`;
  const common = { account: LOCAL_ACCOUNT, region: options.region, clock: options.clock, newId, autoDeliver: false };
  return { default: new LocalEventBus({ name: 'default', ...common }), custom: new LocalEventBus({ name: options.customBusName, ...common }) };
}

export async function openStores(kind: 'memory' | 'dynamodb'): Promise<{ readonly stores: LocalStores; close(): Promise<void> }> {
  if (kind === 'dynamodb') {
    const dynamo = await startLocalDynamoDb();
    return {
      stores: {
        deployments: new DynamoDbDeploymentStore(dynamo.client, dynamo.tableNames.deployments, dynamo.tableNames.history),
        changes: new DynamoDbChangeSummaryStore(dynamo.client, dynamo.tableNames.changes),
        control: new DynamoDbControlStore(dynamo.client, dynamo.tableNames.control),
        operatorControls: new DynamoDbOperatorControlStore(dynamo.client, dynamo.tableNames.control),
        holds: new DynamoDbHoldStore(dynamo.client, dynamo.tableNames.control),
        gates: new DynamoDbGateStore(dynamo.client, dynamo.tableNames.control),
        ledger: new DynamoDbRollbackLedger(dynamo.client, dynamo.tableNames.control),
        bakes: new DynamoDbBakeStore(dynamo.client, dynamo.tableNames.control),
        digests: new DynamoDbShadowDigestStore(dynamo.client, dynamo.tableNames.control),
      },
      close: () => dynamo.close(),
    };
  }
  return {
    stores: {
      deployments: new InMemoryDeploymentStore(),
      changes: new InMemoryChangeSummaryStore(),
      control: new InMemoryControlStore(),
      operatorControls: new InMemoryOperatorControlStore(),
      holds: new InMemoryHoldStore(),
      gates: new InMemoryGateStore(),
      ledger: new InMemoryRollbackLedger(),
      bakes: new InMemoryBakeStore(),
      digests: new InMemoryShadowDigestStore(),
    },
    close: async () => undefined,
  };
}

/** The first model serves: its artifacts in the model bucket, the serving pointer, the endpoint. */
export async function serveFirstModel(
  standIns: Pick<StandIns, 'objects' | 'endpoint' | 'stores' | 'clock'>,
  first: { readonly modelVersion: string; readonly dir: string; readonly model: XGBoostModel },
): Promise<{ readonly featuresUrl: string }> {
  // Where the stack uploads the first model (stacks/initial-model.ts), in the local model bucket.
  const { model: modelDataUrl, features: featuresUrl } = initialModelUris(LOCAL_BUCKETS.models);
  standIns.objects.put(modelDataUrl, readFileSync(join(first.dir, 'model.tar.gz')));
  standIns.objects.put(featuresUrl, readFileSync(join(first.dir, 'features.json')));
  await standIns.stores.control.swapServingModel({ modelVersion: first.modelVersion, modelDataUrl, featuresUrl, promotedAt: standIns.clock.now() }, null);
  standIns.endpoint.serve(first.model);
  return { featuresUrl };
}

/**
 * The alarms on the model-quality metrics the handlers emit (the stack's other alarms watch Lambda,
 * SQS and SageMaker metrics that only AWS produces).
 */
export function modelQualityAlarms(alarms: readonly AlarmWiring[], metricsNamespace: string | undefined): AlarmWiring[] {
  return alarms.filter((alarm) => alarmNamespaces(alarm).every((namespace) => namespace === metricsNamespace));
}

/** The shortest period of the evaluated alarms: how often the local CloudWatch evaluates (an hour if none has one). */
export function alarmPeriodMs(alarms: readonly AlarmWiring[]): number {
  const periods = alarms.flatMap((alarm) => [alarm.metric?.period, ...(alarm.metricQueries ?? []).map((query) => query.metric?.period ?? query.period)]);
  const seconds = Math.min(...periods.filter((value): value is number => typeof value === 'number' && value > 0));
  return Number.isFinite(seconds) ? seconds * 1000 : 3_600_000;
}

function alarmNamespaces(alarm: AlarmWiring): string[] {
  return [alarm.metric?.namespace, ...(alarm.metricQueries ?? []).map((query) => query.metric?.namespace)].filter((value): value is string => value !== undefined);
}

/** The XGBoost model in a model.tar.gz, as the serving container reads it. */
export function modelFromArchive(archive: Uint8Array): string {
  const file = untarGzip(archive, 'model.tar.gz').find((entry) => entry.name === 'xgboost-model');
  if (!file) throw new Error('model.tar.gz holds no xgboost-model');
  return Buffer.from(file.content).toString('utf8');
}

/** The handlers' EventPublisher on the local buses: PutEvents semantics, a partial failure throws. */
export class LocalPublisher implements EventPublisher {
  constructor(
    private readonly defaultBus: LocalEventBus,
    private readonly customBus: LocalEventBus,
  ) {}

  async publish(entries: readonly PutEventsEntry[]): Promise<void> {
    this.publishNow(...entries);
  }

  publishNow(...entries: readonly PutEventsEntry[]): void {
    const failures: PublishError['failures'][number][] = [];
    for (const entry of entries) {
      const bus = this.busOf(entry.EventBusName);
      const result = bus.putEvents([entry]);
      result.Entries.forEach((answer) => {
        if ('ErrorCode' in answer) failures.push({ detailType: entry.DetailType, errorCode: answer.ErrorCode, errorMessage: answer.ErrorMessage });
      });
    }
    if (failures.length > 0) throw new PublishError(failures);
  }

  private busOf(name: string | undefined): LocalEventBus {
    if (!name || name === 'default') return this.defaultBus;
    const plain = name.includes(':event-bus/') ? name.slice(name.indexOf(':event-bus/') + ':event-bus/'.length) : name;
    if (plain === this.customBus.name) return this.customBus;
    throw new Error(`local EventBridge: event bus '${name}' does not exist`);
  }
}
