import { createWriteStream, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { LocalEventBus, type BusEvent } from '../events/bus';
import { ManualClock, eventBridgeTime } from '../events/clock';
import { buildEntry, DEFAULT_EVENT_SOURCE, type ComputePlatform, type GuardMode, type PutEventsEntry } from '../events/emitted';
import { EventValidationError } from '../events/validation';
import { ENV, groupKey, type FailurePolicy, type GroupPolicy } from '../handlers/config';
import { PublishError, type EventPublisher } from '../handlers/adapters/event-publisher';
import { InMemoryRollbackLedger } from '../handlers/adapters/in-memory-ledger';
import { InMemoryChangeSummaryStore, InMemoryControlStore, InMemoryDeploymentStore } from '../handlers/adapters/in-memory-stores';
import { DynamoDbChangeSummaryStore, DynamoDbControlStore, DynamoDbDeploymentStore } from '../handlers/adapters/dynamodb-stores';
import { DynamoDbRollbackLedger } from '../handlers/adapters/dynamodb-ledger';
import { emfDocument } from '../handlers/adapters/emf-metrics';
import { S3ServingModelSource } from '../handlers/adapters/serving-model';
import { handleDriftEvent, driftConfigFromEnv } from '../handlers/drift';
import { handlePredictEvent, predictConfigFromEnv } from '../handlers/predict';
import { handlePromoteEvent, promoteConfigFromEnv } from '../handlers/promote';
import { handleRecordChangeEvent, recordChangeConfigFromEnv } from '../handlers/record-change';
import { handleRecordOutcomeEvent, recordOutcomeConfigFromEnv } from '../handlers/record-outcome';
import { handleRollbackEvent, rollbackConfigFromEnv } from '../handlers/rollback';
import { handleTrafficHook, trafficHookConfigFromEnv } from '../handlers/traffic-hook';
import type { HandlerName } from '../handlers/entries';
import type { ChangeSummaryStore, ControlStore, DeploymentStore, MetricsPort, RollbackLedger } from '../handlers/ports';
import { inTimeOrder } from '../model/import';
import { recordTime, type DeploymentRecord } from '../model/records';
import { trainModel, DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, readHyperparameters, TRAIN_SCRIPT } from '../model/training';
import { findPython } from '../model/python';
import { untarGzip } from '../model/tar';
import { loadXGBoostModel, parseCsvRows, type XGBoostModel } from '../model/xgboost';
import { LocalCloudWatch } from './cloudwatch';
import { LocalCodeDeploy } from './codedeploy';
import { startLocalDynamoDb, type LocalDynamoDb } from './dynalite';
import { ReportBuilder, type BacktestReport, type DeadLetter } from './report-model';
import { LocalEndpoint, LocalHosting, LocalObjectStore, LocalTraining } from './sagemaker';
import { FaultInjector, type FaultOptions, type FaultStats } from './faults';
import { Scheduler } from './scheduler';
import { readWiring, type AlarmWiring, type FunctionWiring, type Wiring } from './terraform-wiring';

/**
 * The backtest: a real deployment history replayed in time order through the real handlers, wired
 * by the rules, targets, retry policies and alarms of a synthesized stack, on stand-ins for the AWS
 * services (see DESIGN section 4). The first model is trained on an initial window only; after that
 * the system learns only through its own loop.
 */

export interface BacktestOptions {
  /** The history (model/records.ts); groups become CodeDeploy applications with one group each. */
  readonly records: readonly DeploymentRecord[];
  /** Where the history came from, for the report. */
  readonly dataSource: string;
  /** The synthesized stack whose wiring the replay runs (cdk.tf.json, parsed). */
  readonly stack: object;
  readonly mode: GuardMode;
  /** The decision threshold; by default the first model's cost-optimal threshold. */
  readonly threshold?: number;
  /** false: no alarms start retraining (the "never retrain" run). */
  readonly retrain: boolean;
  /** Replay at most the first N deployments of each group. */
  readonly limit?: number;
  /** The compute platform of the guarded groups. @default 'Server' */
  readonly platform?: ComputePlatform;
  /** Share of the history (by deployments, in time order) the first model is trained on. @default 0.2 */
  readonly initialFraction?: number;
  /** `memory` (default, fast) or `dynamodb` (dynalite and the real DynamoDB adapters). */
  readonly store?: 'memory' | 'dynamodb';
  readonly outDir: string;
  readonly python?: string;
  readonly log: (line: string) => void;
  /** Called once per replayed deployment finished, with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** The failure policy of the guarded groups (what decides when the endpoint gives no probability). @default 'fail-open' */
  readonly failurePolicy?: FailurePolicy;
  /** Faults injected into the handlers' ports and the deliveries (local/faults.ts). @default none */
  readonly faults?: FaultOptions;
  /** Called after every handler invocation (each Lambda attempt) with its wall time. */
  readonly onInvocation?: (handler: HandlerName, wallMs: number, event: BusEvent) => void;
  /** Called once the replay is over, before the stand-ins are closed: what the tests inspect. */
  readonly inspect?: (runtime: BacktestRuntime) => void | Promise<void>;
}

/** The replay's state at its end, for tests and benchmarks (BacktestOptions.inspect). */
export interface BacktestRuntime {
  /** Every replayed deployment, warm-up included, in start order. */
  readonly deployments: readonly { readonly deploymentId: string; readonly application: string; readonly warmUp: boolean; readonly failed: boolean }[];
  readonly store: DeploymentStore;
  readonly ledger: RollbackLedger;
  /** S3: the data lake's training rows, model artifacts. */
  readonly objects: LocalObjectStore;
  readonly codeDeploy: LocalCodeDeploy;
  readonly training: LocalTraining;
  /** The functions' dead-letter queues, with the events they hold. */
  readonly deadLetters: readonly (DeadLetter & { readonly event?: BusEvent })[];
  /** The events put on the buses, by detail-type. */
  readonly eventCounts: ReadonlyMap<string, number>;
  readonly faults?: FaultInjector;
}

export interface BacktestResult {
  readonly report: BacktestReport;
  readonly files: { readonly report: string; readonly html?: string; readonly events: string };
  readonly replayed: number;
  readonly warmUp: number;
  readonly busEvents: number;
  /** Wall time of the whole run, training included. */
  readonly wallMs: number;
  /** Wall time spent in train.py (the first model and every retraining). */
  readonly trainingWallMs: number;
  /** Wall time of the event loop alone (the replay, retraining excluded). */
  readonly loopMs: number;
  /** The faults injected, when BacktestOptions.faults was given. */
  readonly faults?: FaultStats;
}

/** How long, in virtual time, the steps of a deployment take. */
export const TIMINGS = {
  /** The CI step sends the change summary this long before the deployment starts. */
  changeSummaryLeadMs: 60_000,
  /** START to READY (the replacement fleet is up) for an EC2 blue/green deployment. */
  readyAfterMs: 5 * 60_000,
  /** START to the BeforeAllowTraffic hook for ECS / Lambda. */
  hookAfterMs: 5 * 60_000,
  /** START to SUCCESS / FAILURE. */
  finishAfterMs: 15 * 60_000,
  /** How long CodeDeploy waits at READY before it stops the deployment itself. */
  readyWaitMs: 60 * 60_000,
  /** A training job's duration. */
  trainingMs: 30 * 60_000,
} as const;

const DEPLOYMENT_GROUP = 'production';
/** The fewest warm-up deployments a group gets. */
const MIN_WARM_UP = 20;
const LOCAL_ACCOUNT = '000000000000';
const LOCAL_BUCKETS = { data: 'deploy-guard-local-data', models: 'deploy-guard-local-models' } as const;

interface Replayed {
  readonly record: DeploymentRecord;
  readonly application: string;
  readonly warmUp: boolean;
  deploymentId?: string;
}

export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now();
  const { log } = options;
  mkdirSync(options.outDir, { recursive: true });
  const platform = options.platform ?? 'Server';
  const wiring = readWiring(options.stack);
  const region = wiring.provider.region ?? 'us-east-1';

  // 1. The history, in time order; the first model learns from the initial window only.
  const replay = prepare(options.records, options.limit);
  if (replay.length < 50) throw new Error(`the history has ${replay.length} deployments with a time and an outcome; the backtest needs at least 50`);
  // Each group's first deployments (initialFraction, at least MIN_WARM_UP) are its warm-up: the first
  // model's training data, replayed in shadow mode, not reported, and kept out of the data lake so
  // that no later evaluation scores the first model on rows it was trained on.
  const fraction = options.initialFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`initial fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const perGroup = new Map<string, Replayed[]>();
  for (const entry of replay) perGroup.set(entry.application, [...(perGroup.get(entry.application) ?? []), entry]);
  for (const list of perGroup.values()) {
    const warmUp = Math.min(list.length, Math.max(MIN_WARM_UP, Math.floor(list.length * fraction)));
    for (let index = 0; index < warmUp; index += 1) (list[index] as { warmUp: boolean }).warmUp = true;
  }
  const initialCount = replay.filter((entry) => entry.warmUp).length;
  const initialRecords = replay.filter((entry) => entry.warmUp).map((entry) => ({ ...entry.record, group: groupKey(entry.application, DEPLOYMENT_GROUP), extra: {} }));
  const lastWarmUp = replay.filter((entry) => entry.warmUp).at(-1)!;

  const python = findPython(options.python);
  const trainingStarted = performance.now();
  const initialDir = join(options.outDir, 'initial-model');
  const initial = await trainModel({
    records: initialRecords,
    outDir: initialDir,
    split: { validationFraction: 0.2, testFraction: 0 },
    costs: DEFAULT_COSTS,
    hyperparameters: readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE),
    python: python.executable,
    log: (line) => log(`initial model: ${line}`),
  });
  let trainingWallMs = performance.now() - trainingStarted;
  const threshold = options.threshold ?? initial.evaluation!.threshold;
  if (!(threshold > 0 && threshold < 1)) {
    // chooseThreshold answers 1 ("never roll back") when no lower threshold pays off on validation;
    // a guarded group's threshold is a probability strictly between 0 and 1 (handlers/config.ts).
    const validation = initial.evaluation!.validation;
    throw new Error(
      `the first model's cost-optimal threshold is ${threshold}: on its validation window (${validation.rows} deployments, ${validation.failures} failed) ` +
        'no threshold below 1 pays off, so Deploy Guard would never roll back; give a threshold (--threshold) or a longer history',
    );
  }
  const firstModel = loadXGBoostModel(readFileSync(join(initialDir, 'xgboost-model'), 'utf8'));
  log(`initial model: the first ${initialCount} deployments of ${perGroup.size} groups (warm-up); threshold ${threshold.toFixed(3)}`);

  // 2. The stand-ins.
  const clock = new ManualClock(recordTime(replay[0].record)! - TIMINGS.changeSummaryLeadMs);
  const scheduler = new Scheduler();
  const objects = new LocalObjectStore(LOCAL_BUCKETS.data);
  const endpoint = new LocalEndpoint();
  const eventsFile = join(options.outDir, 'events.jsonl');
  const eventsOut = createWriteStream(eventsFile);
  // A write error (a full disk, the folder removed) is reported when the run ends, not as an
  // unhandled error event; a run that fails before its loop leaves the stream to fail quietly.
  let eventsError: Error | undefined;
  eventsOut.on('error', (error) => (eventsError ??= error));
  let busEvents = 0;
  // Lines are written in blocks of ~64 KiB: one stream write per event costs more than the JSON.
  let eventsPending = '';

  const customBusName = wiring.rules.find((rule) => rule.eventBusName !== 'default')?.eventBusName;
  if (!customBusName) throw new Error('the stack has no rule on Deploy Guard\'s own bus');
  let eventSequence = 0;
  const newId = () => `local-${(++eventSequence).toString(16).padStart(8, '0')}`;
  const buses = {
    default: new LocalEventBus({ name: 'default', account: LOCAL_ACCOUNT, region, clock, newId, autoDeliver: false }),
    custom: new LocalEventBus({ name: customBusName, account: LOCAL_ACCOUNT, region, clock, newId, autoDeliver: false }),
  };
  const rollbackRequested = new Set<string>();
  const timeline: Parameters<ReportBuilder['addTimelineEvent']>[0][] = [];
  for (const bus of Object.values(buses)) {
    bus.onEvent((event) => {
      busEvents += 1;
      eventsPending += `${JSON.stringify({ bus: bus.name, ...event })}\n`;
      if (eventsPending.length >= 65_536) {
        eventsOut.write(eventsPending);
        eventsPending = '';
      }
      onEvent(event);
    });
  }
  const detailTypeCounts = new Map<string, number>();
  const onEvent = (event: BusEvent) => {
    detailTypeCounts.set(event['detail-type'], (detailTypeCounts.get(event['detail-type']) ?? 0) + 1);
    const detail = event.detail as Record<string, unknown>;
    const at = Date.parse(event.time);
    switch (event['detail-type']) {
      case 'Deployment Rollback Requested':
        rollbackRequested.add(String(detail.deploymentId));
        break;
      case 'CloudWatch Alarm State Change':
        if ((detail.state as { value?: string })?.value === 'ALARM') timeline.push({ at, kind: 'drift-alarm', detail: String(detail.alarmName) });
        break;
      case 'Model Retraining Started':
        timeline.push({ at, kind: 'retraining-started', detail: String(detail.trainingJobName) });
        break;
      case 'Model Promoted':
        timeline.push({ at, kind: 'promoted', modelVersion: String(detail.modelVersion) });
        break;
      case 'Model Rejected':
        timeline.push({ at, kind: 'rejected', detail: `${String(detail.reason)}: ${String(detail.message)}` });
        break;
    }
  };

  const codeDeploy = new LocalCodeDeploy({ clock, account: LOCAL_ACCOUNT, region, emit: (event) => buses.default.publishAwsEvent(event as BusEvent) });
  // The alarms on the model-quality metrics the handlers emit (the stack's other alarms watch Lambda,
  // SQS and SageMaker metrics that only AWS produces).
  const metricsNamespace = localEnvironment(wiring, 'record-outcome', { groups: [], customBusName, initialFeaturesUrl: '' })[ENV.metricsNamespace];
  const qualityAlarms = wiring.alarms.filter((alarm) => alarmNamespaces(alarm).every((namespace) => namespace === metricsNamespace));
  const cloudWatch = new LocalCloudWatch({
    alarms: options.retrain ? qualityAlarms : [],
    region,
    account: LOCAL_ACCOUNT,
    start: clock.now(),
    onStateChange: (event) => buses.default.publishAwsEvent(event as unknown as BusEvent),
  });
  const metrics: MetricsPort = { put: (values) => cloudWatch.putEmfLog(JSON.stringify(emfDocument(values))) };
  const training = new LocalTraining({
    objects,
    python: python.executable,
    trainScript: TRAIN_SCRIPT,
    workDir: join(options.outDir, 'training'),
    account: LOCAL_ACCOUNT,
    region,
    durationMs: TIMINGS.trainingMs,
    schedule: (at, run) => scheduler.schedule(at, run),
    clock,
    emit: (event) => buses.default.publishAwsEvent(event as BusEvent),
    log,
  });
  const warmUpIds = new Set<string>();
  const lake = { putRow: (row: Parameters<LocalObjectStore['putRow']>[0]) => (warmUpIds.has(row.deploymentId) ? Promise.resolve() : objects.putRow(row)) };
  const hosting = new LocalHosting(objects, endpoint, (archive) => {
    const file = untarGzip(archive, 'model.tar.gz').find((entry) => entry.name === 'xgboost-model');
    if (!file) throw new Error('model.tar.gz holds no xgboost-model');
    return Buffer.from(file.content).toString('utf8');
  });

  let dynamo: LocalDynamoDb | undefined;
  let stores: { deployments: DeploymentStore; changes: ChangeSummaryStore; control: ControlStore; ledger: RollbackLedger };
  if (options.store === 'dynamodb') {
    dynamo = await startLocalDynamoDb();
    stores = {
      deployments: new DynamoDbDeploymentStore(dynamo.client, dynamo.tableNames.deployments, dynamo.tableNames.history),
      changes: new DynamoDbChangeSummaryStore(dynamo.client, dynamo.tableNames.changes),
      control: new DynamoDbControlStore(dynamo.client, dynamo.tableNames.control),
      ledger: new DynamoDbRollbackLedger(dynamo.client, dynamo.tableNames.control),
    };
  } else {
    stores = {
      deployments: new InMemoryDeploymentStore(),
      changes: new InMemoryChangeSummaryStore(),
      control: new InMemoryControlStore(),
      ledger: new InMemoryRollbackLedger(),
    };
  }

  // 3. The first model serves: artifacts in the model bucket, the pointer, the endpoint.
  const initialVersion = `initial-${lastWarmUp.record.time!.slice(0, 10)}`;
  const initialModelUrl = `s3://${LOCAL_BUCKETS.models}/initial/model.tar.gz`;
  const initialFeaturesUrl = `s3://${LOCAL_BUCKETS.models}/initial/features.json`;
  objects.put(initialModelUrl, readFileSync(join(initialDir, 'model.tar.gz')));
  objects.put(initialFeaturesUrl, readFileSync(join(initialDir, 'features.json')));
  await stores.control.swapServingModel({ modelVersion: initialVersion, modelDataUrl: initialModelUrl, featuresUrl: initialFeaturesUrl, promotedAt: clock.now() }, null);
  endpoint.serve(firstModel);

  // 4. The handlers, configured from the stack's environment; the guarded groups are the history's.
  const applications = [...new Set(replay.map((entry) => entry.application))].sort();
  const groups: GroupPolicy[] = applications.map((application) => ({ application, deploymentGroup: DEPLOYMENT_GROUP, platform, mode: 'shadow', threshold, failurePolicy: options.failurePolicy ?? 'fail-open' }));
  const environment = (handler: HandlerName) => localEnvironment(wiring, handler, { groups, customBusName, initialFeaturesUrl });
  const publisher = new LocalPublisher(buses.default, buses.custom);
  const servingModel = new S3ServingModelSource(stores.control, objects);
  const sleep = async (milliseconds: number) => clock.advanceBy(milliseconds);

  const predictConfig = predictConfigFromEnv(environment('predict'));
  const configs = {
    trafficHook: { ...trafficHookConfigFromEnv(environment('traffic-hook')), groups },
    rollback: rollbackConfigFromEnv(environment('rollback')),
    recordChange: recordChangeConfigFromEnv(environment('record-change')),
    recordOutcome: recordOutcomeConfigFromEnv(environment('record-outcome')),
    drift: driftConfigFromEnv(environment('drift')),
    promote: promoteConfigFromEnv(environment('promote')),
  };
  // The ports the handlers see: the stand-ins, decorated with the injected faults if any (local/faults.ts).
  const faults = options.faults ? new FaultInjector(options.faults) : undefined;
  const ports = {
    codeDeploy: faults ? faults.codeDeploy(codeDeploy) : codeDeploy,
    deployments: faults ? faults.deploymentStore(stores.deployments) : stores.deployments,
    changes: faults ? faults.changeStore(stores.changes) : stores.changes,
    control: faults ? faults.controlStore(stores.control) : stores.control,
    ledger: faults ? faults.ledger(stores.ledger) : stores.ledger,
    endpoint: faults ? faults.endpoint(endpoint) : endpoint,
    training: faults ? faults.training(training) : training,
    hosting: faults ? faults.hosting(hosting) : hosting,
    publisher: faults ? faults.publisher(publisher) : publisher,
    lake: faults ? faults.trainingDataLake(lake) : lake,
  };
  /** What the drift handler decided on each alarm event (its status, or the reason it ignored it). */
  const driftDecisions: string[] = [];
  const handlers: Record<HandlerName, (event: BusEvent) => Promise<unknown>> = {
    predict: (event) => handlePredictEvent(event, { codeDeploy: ports.codeDeploy, deployments: ports.deployments, changes: ports.changes, servingModel, endpoint: ports.endpoint, publisher: ports.publisher, metrics, lake: ports.lake, clock, config: { ...predictConfig, groups } }),
    'traffic-hook': (event) => handleTrafficHook(event, { codeDeploy: ports.codeDeploy, deployments: ports.deployments, publisher: ports.publisher, clock, sleep, config: configs.trafficHook }),
    rollback: (event) => handleRollbackEvent(event, { codeDeploy: ports.codeDeploy, ledger: ports.ledger, publisher: ports.publisher, clock, config: configs.rollback }),
    'record-change': (event) => handleRecordChangeEvent(event, { store: ports.changes, clock, config: configs.recordChange }),
    'record-outcome': (event) => handleRecordOutcomeEvent(event, { store: ports.deployments, ledger: ports.ledger, lake: ports.lake, metrics, config: configs.recordOutcome }),
    drift: async (event) => {
      const decided = await handleDriftEvent(event, { training: ports.training, rows: objects, control: ports.control, publisher: ports.publisher, clock, config: configs.drift });
      driftDecisions.push(decided.status === 'ignored' ? decided.reason : decided.status);
      return decided;
    },
    promote: (event) => handlePromoteEvent(event, { training: ports.training, hosting: ports.hosting, objects, control: ports.control, publisher: ports.publisher, clock, config: configs.promote }),
  };
  // Each attempt is one Lambda invocation: an injected crash fails it, whatever the handler catches.
  if (faults) for (const name of Object.keys(handlers) as HandlerName[]) handlers[name] = faults.invocation(name, handlers[name]);
  if (options.onInvocation) {
    const observe = options.onInvocation;
    for (const name of Object.keys(handlers) as HandlerName[]) {
      const run = handlers[name];
      handlers[name] = async (event) => {
        const began = performance.now();
        try {
          return await run(event);
        } finally {
          observe(name, performance.now() - began, event);
        }
      };
    }
  }

  // 5. The rules and targets of the stack, on the local buses, with Lambda's asynchronous retries.
  const deadLetters: (DeadLetter & { event?: BusEvent })[] = [];
  // With faults, a target only queues the event in its function's asynchronous queue (runQueued runs it).
  const deliver = (run: (event: BusEvent) => Promise<void>) => (faults ? faults.delivery(run) : run);
  for (const rule of wiring.rules) {
    if (!rule.eventPattern || !rule.enabled) continue;
    const bus = rule.eventBusName === 'default' ? buses.default : buses.custom;
    bus.putRule({
      name: rule.name,
      pattern: rule.eventPattern,
      targets: rule.targets.map((target) => {
        const fn = target.handler ? wiring.functions.find((candidate) => candidate.handler === target.handler) : undefined;
        return {
          id: target.targetId ?? target.address,
          retryPolicy: target.retryPolicy,
          invoke: deliver(async (event: BusEvent) => {
            if (!target.handler) return; // SNS notifications: delivered, nobody to read them on a laptop.
            const attempts = 1 + (fn?.asyncInvoke.maximumRetryAttempts ?? 2);
            let lastError: unknown;
            for (let attempt = 1; attempt <= attempts; attempt += 1) {
              try {
                await handlers[target.handler](event);
                return;
              } catch (error) {
                lastError = error;
                if (error instanceof EventValidationError) break; // a poison event: the same on every retry
              }
            }
            deadLetters.push({
              at: clock.now(),
              rule: rule.name,
              target: target.handler,
              reason: lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError),
              event,
            });
          }),
        };
      }),
    });
  }
  const hookFunction = wiring.functions.find((fn) => fn.handler === 'traffic-hook');

  const drain = async () => {
    do {
      while (buses.default.pendingCount > 0 || buses.custom.pendingCount > 0) {
        await buses.default.drain();
        await buses.custom.drain();
      }
    } while (await faults?.runQueued());
  };

  // 6. The replay: each deployment's change summary, START, READY or hook, and end, in time order.
  const builder = new ReportBuilder({ mode: options.mode, threshold, dataSource: options.dataSource, limit: options.limit ?? null });
  let done = 0;
  const total = replay.length;
  const countedTotal = total - initialCount;
  const enforcing = new Set<string>();
  for (const entry of replay) {
    const start = recordTime(entry.record)!;
    const revision = { commitId: commitId(entry) };
    scheduler.schedule(start - TIMINGS.changeSummaryLeadMs, () => {
      const change = Object.fromEntries(Object.entries(entry.record.change).filter(([, value]) => value !== undefined));
      publisher.publishNow(
        buildEntry(
          'Deployment Change Summary',
          { schemaVersion: '1', application: entry.application, revision, builtAt: eventBridgeTime(clock.now()), ...(entry.record.author ? { author: entry.record.author } : {}), change },
          { source: predictConfig.source, eventBusName: customBusName, time: new Date(clock.now()) },
        ),
      );
    });
    scheduler.schedule(start, () => {
      if (!entry.warmUp && !enforcing.has(entry.application)) {
        enforcing.add(entry.application);
        const policy = groups.find((group) => group.application === entry.application)!;
        (policy as { mode: GuardMode }).mode = options.mode;
        log(`${entry.application}: warm-up done, ${options.mode} mode from ${entry.record.time}`);
      }
      const deployment = codeDeploy.createDeployment({ application: entry.application, deploymentGroup: DEPLOYMENT_GROUP, platform, revision });
      entry.deploymentId = deployment.deploymentId;
      if (entry.warmUp) warmUpIds.add(deployment.deploymentId);
      if (platform === 'Server') {
        scheduler.schedule(start + TIMINGS.readyAfterMs, () => codeDeploy.reachReady(deployment.deploymentId));
        if (options.mode === 'gate' && !entry.warmUp) scheduler.schedule(start + TIMINGS.readyAfterMs + TIMINGS.readyWaitMs, () => codeDeploy.timeOutAtReady(deployment.deploymentId));
      } else {
        scheduler.schedule(start + TIMINGS.hookAfterMs, async () => {
          const invocation = { DeploymentId: deployment.deploymentId, LifecycleEventHookExecutionId: `hook-${deployment.deploymentId}` };
          try {
            await handlers['traffic-hook'](invocation as unknown as BusEvent);
          } catch (error) {
            deadLetters.push({ at: clock.now(), rule: 'codedeploy-hook', target: hookFunction?.functionName ?? 'traffic-hook', reason: error instanceof Error ? error.message : String(error) });
          }
        });
      }
      scheduler.schedule(start + TIMINGS.finishAfterMs, () => codeDeploy.finish(deployment.deploymentId, entry.record.failed === true));
      scheduler.schedule(start + TIMINGS.finishAfterMs + 1, async () => {
        done += 1;
        if (!entry.warmUp) await report(entry);
        options.onProgress?.(done, total);
      });
    });
  }

  // Poison: malformed events put on the buses during the replay; they must end in a dead-letter queue.
  const replayStart = recordTime(replay[0].record)!;
  const replayEnd = recordTime(replay[replay.length - 1].record)!;
  for (const poison of faults?.poison(replayStart, replayEnd, { account: LOCAL_ACCOUNT, region, source: predictConfig.source, customBusName }) ?? []) {
    scheduler.schedule(poison.at, () => (poison.awsEvent ? buses.default.publishAwsEvent(poison.awsEvent) : publisher.publishNow(poison.entry!)));
  }

  const report = async (entry: Replayed) => {
    const item = await stores.deployments.get(entry.deploymentId!);
    const assessment = item?.assessment;
    const deployment = codeDeploy.deployment(entry.deploymentId!)!;
    builder.addDeployment({
      deploymentId: entry.deploymentId!,
      application: entry.application,
      deploymentGroup: groupKey(entry.application, DEPLOYMENT_GROUP),
      startedAt: deployment.createTime,
      failed: entry.record.failed === true,
      probability: assessment?.probability ?? null,
      threshold,
      decision: assessment?.decision ?? 'proceed',
      enforced: assessment?.enforced ?? false,
      rollbackRequested: rollbackRequested.has(entry.deploymentId!),
      stopped: deployment.status === 'Stopped',
      modelVersion: assessment && assessment.probability !== null ? assessment.modelVersion : null,
      neverRetrainProbability: assessment ? scoreRow(firstModel, assessment.featureRow) : null,
    });
  };

  // CloudWatch evaluates at every period boundary, on time: an alarm that goes off at a boundary
  // reaches the drift handler then, not when the next deployment comes (hours later at night), and
  // what it schedules (the training job's end) may come before the next queued action, so the
  // boundary is compared with the next action before that action is taken from the queue.
  const period = alarmPeriodMs(qualityAlarms);
  let nextEvaluation = Math.ceil(clock.now() / period) * period;
  const loopStarted = performance.now();
  const trainingBeforeLoop = training.trainingWallMs;
  try {
    for (let at = scheduler.peek(); at !== undefined; at = scheduler.peek()) {
      if (options.retrain && nextEvaluation <= at) {
        clock.advanceTo(nextEvaluation);
        cloudWatch.evaluate(nextEvaluation);
        await drain();
        nextEvaluation += period;
        continue;
      }
      const action = scheduler.next()!;
      clock.advanceTo(action.at);
      await action.run();
      await drain();
    }
    await options.inspect?.({
      deployments: replay.map((entry) => ({ deploymentId: entry.deploymentId!, application: entry.application, warmUp: entry.warmUp, failed: entry.record.failed === true })),
      store: stores.deployments,
      ledger: stores.ledger,
      objects,
      codeDeploy,
      training,
      deadLetters,
      eventCounts: detailTypeCounts,
      ...(faults ? { faults } : {}),
    });
  } finally {
    await new Promise<void>((resolve) => eventsOut.end(eventsPending, resolve));
    await dynamo?.close();
  }
  if (eventsError) throw new Error(`cannot write ${eventsFile}: ${eventsError.message}`);
  const loopMs = performance.now() - loopStarted - (training.trainingWallMs - trainingBeforeLoop);
  trainingWallMs += training.trainingWallMs;

  for (const event of timeline) builder.addTimelineEvent(event);
  for (const { at, rule, target, reason } of deadLetters) builder.addDeadLetter({ at, rule, target, reason });
  for (const decision of driftDecisions) builder.addDriftDecision(decision);
  const built = builder.build();
  const reportFile = join(options.outDir, 'report.json');
  writeFileSync(reportFile, `${JSON.stringify(built, null, 2)}\n`);
  log(`replayed ${total} deployments (${initialCount} warm-up, ${countedTotal} reported), ${busEvents} events on the buses, ${training.jobCount} training jobs`);
  return {
    report: built,
    files: { report: reportFile, events: eventsFile },
    replayed: total,
    warmUp: initialCount,
    busEvents,
    wallMs: performance.now() - started,
    trainingWallMs,
    loopMs,
    ...(faults ? { faults: { ...faults.stats } } : {}),
  };
}

/** The replayable deployments: a time and a known outcome, the first `limit` of each group, in time order. */
function prepare(records: readonly DeploymentRecord[], limit: number | undefined): Replayed[] {
  const perGroup = new Map<string, number>();
  const chosen: DeploymentRecord[] = [];
  for (const record of inTimeOrder(records)) {
    if (record.time === null || record.failed === null) continue;
    const count = perGroup.get(record.group) ?? 0;
    if (limit !== undefined && count >= limit) continue;
    perGroup.set(record.group, count + 1);
    chosen.push(record);
  }
  // inTimeOrder orders each group; the replay interleaves the groups by start time (stable on ties).
  const keyed = chosen.map((record, index) => ({ record, index, time: recordTime(record)! }));
  keyed.sort((a, b) => a.time - b.time || a.index - b.index);
  return keyed.map(({ record }) => ({ record, application: applicationName(record.group), warmUp: false }));
}

/** A CodeDeploy application name (letters, digits, `.`, `_`, `-`; at most 100 characters) for a history group. */
export function applicationName(group: string): string {
  const name = group.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
  if (!name) throw new Error(`history group '${group}' has no character usable in a CodeDeploy application name`);
  return name;
}

/** A stable commit id per replayed deployment (the history's own ids are not in the data). */
function commitId(entry: Replayed): string {
  return createHash('sha1').update(`${entry.record.group}\u0000${entry.record.time}\u0000${entry.record.source?.line ?? ''}`).digest('hex');
}

function scoreRow(model: XGBoostModel, featureRow: string): number {
  const rows = parseCsvRows(`${featureRow}\n`);
  return model.predict(rows.values.subarray(0, rows.columnCount));
}

function alarmNamespaces(alarm: AlarmWiring): string[] {
  return [alarm.metric?.namespace, ...(alarm.metricQueries ?? []).map((query) => query.metric?.namespace)].filter((value): value is string => value !== undefined);
}

/** The shortest period of the evaluated alarms: how often the local CloudWatch evaluates. */
function alarmPeriodMs(alarms: readonly AlarmWiring[]): number {
  const periods = alarms.flatMap((alarm) => [alarm.metric?.period, ...(alarm.metricQueries ?? []).map((query) => query.metric?.period ?? query.period)]);
  const seconds = Math.min(...periods.filter((value): value is number => typeof value === 'number' && value > 0));
  return Number.isFinite(seconds) ? seconds * 1000 : 3_600_000;
}

/**
 * A handler's environment as the stack sets it, with what only exists in AWS (ARNs and names that
 * Terraform computes at apply time) replaced by the local stand-ins' names. The guarded groups are
 * the replayed history's.
 */
function localEnvironment(
  wiring: Wiring,
  handler: HandlerName,
  local: { readonly groups: readonly GroupPolicy[]; readonly customBusName: string; readonly initialFeaturesUrl: string },
): NodeJS.ProcessEnv {
  const fn: FunctionWiring | undefined = wiring.functions.find((candidate) => candidate.handler === handler);
  if (!fn) throw new Error(`the stack has no function for the ${handler} handler (tag deploy-guard-handler = ${handler})`);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) env[name] = value;
  for (const [name, value] of Object.entries(fn.unresolvedEnvironment)) env[name] = value.replace(/\$\{[^}]*\}/g, (token) => localValue(token));
  env[ENV.eventBus] = local.customBusName;
  env[ENV.groups] = JSON.stringify(local.groups);
  env[ENV.dataBucket] = LOCAL_BUCKETS.data;
  env[ENV.modelBucket] = LOCAL_BUCKETS.models;
  env[ENV.eventSource] ||= DEFAULT_EVENT_SOURCE;
  if (env[ENV.retraining]) {
    const settings = JSON.parse(env[ENV.retraining]);
    settings.sourceDirS3Uri = `s3://${LOCAL_BUCKETS.models}/code/sourcedir.tar.gz`;
    env[ENV.retraining] = JSON.stringify(settings);
  }
  return env;
}

/** A Terraform reference that only AWS can resolve, as a local stand-in value of the same form. */
function localValue(token: string): string {
  const address = token.slice(2, -1);
  const [type, name, attribute] = address.split('.');
  const id = `${name ?? 'local'}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 60);
  if (attribute === 'arn') {
    if (type === 'aws_iam_role') return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${id}`;
    return `arn:aws:${type.replace(/^aws_/, '').split('_')[0]}:local:${LOCAL_ACCOUNT}:${id}`;
  }
  return id;
}

/** The handlers' EventPublisher on the local buses: PutEvents semantics, a partial failure throws. */
class LocalPublisher implements EventPublisher {
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
