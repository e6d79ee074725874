import type { HistoryGroupSettings } from '../stacks/config';
import { sweepDue } from '../handlers/bake-domain';
import { timeoutDue } from '../handlers/hold-domain';
import { BAKE_SWEEP_RULE, HOLD_TIMEOUTS_RULE, RETRAINING_SCHEDULE_RULE } from '../events/patterns';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from '../events/bus';
import type { ComputePlatform, GuardMode } from '../events/emitted';
import { ENV, groupKey, type FailurePolicy, type GroupPolicy } from '../handlers/config';
import type { HandlerName } from '../handlers/entries';
import type { DeploymentStore, RollbackLedger } from '../handlers/ports';
import { inTimeOrder } from '../model/import';
import { ASSUMED_DEPLOYMENT_DURATION_MS, recordTime, type DeploymentRecord } from '../model/records';
import { requireSpace } from './disk-space';
import type { TrainingProgress } from './progress';
import { trainingEventLine, trainingTimeLeftMs } from './training-feedback';
import { trainModel, DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, readHyperparameters, resolveTrainer, type Trainer, type TrainerKind } from '../model/training';
import { BLOCK_BUDGET, checkBlockBudget, EXPLORATION, type CutScope } from '../model/block-budget';
import { parseFeatureList, type FeatureList } from '../model/features';
import type { DecisionCosts } from '../model/metrics';
import { loadXGBoostModel, type XGBoostModel } from '../model/xgboost';
import { BacktestComparison } from './comparison';
import type { LocalCodeDeploy } from './codedeploy';
import { FaultInjector, forgeRollbackRequests, type FaultOptions, type FaultStats } from './faults';
import { composeHandlers, localEnvironment, type ComposedHandlers } from './handler-composition';
import { asyncInvoke, drainBuses, scheduleRules, wireRules, type DeadLetterWithEvent, type SweepDue } from './lambda-delivery';
import { scheduleLifecycles, type ReplayEntry } from './lifecycle';
import { ReportBuilder, type BacktestReport, type DeadLetter } from './report-model';
import { eventsFileName, ReportTap } from './report-tap';
import type { LocalObjectStore, LocalTraining } from './sagemaker';
import { alarmPeriodMs, buildStandIns, LOCAL_ACCOUNT, modelFromArchive, modelQualityAlarms, serveFirstModel, type StandIns } from './stand-ins';
import type { PublishedNotification } from './sns';
import { readWiring, type AlarmWiring, type Wiring } from './terraform-wiring';

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
  /** Share of each group's deployments Deploy Guard may stop (the block budget). @default BLOCK_BUDGET.default (10 %) */
  readonly blockBudget?: number;
  /** An expert's fixed threshold instead of the budget's cut (it does not hold a rate). @default none */
  readonly threshold?: number;
  /** Share of would-be stops let through to be observed. @default EXPLORATION.default */
  readonly exploration?: number;
  /** Whose deployments the budget is a share of: the installation's (one cut over all groups) or each group's. @default 'installation' */
  readonly cutScope?: CutScope;
  /** The costs net benefit is reported at (they pick no cut). @default DEFAULT_COSTS (3 : 1) */
  readonly costs?: DecisionCosts;
  /** false: no alarms start retraining (the "never retrain" run). */
  readonly retrain: boolean;
  /** Replay at most the first N deployments of each group. */
  readonly limit?: number;
  /** The compute platform of the guarded groups. @default 'Server' */
  readonly platform?: ComputePlatform;
  /**
   * The warm-up: the first model is trained on the deployments that started before the date by which
   * this share of all deployments (all groups together, in time order) had started. @default 0.2
   */
  readonly initialFraction?: number;
  /** `memory` (default, fast) or `dynamodb` (dynalite and the real DynamoDB adapters). */
  readonly store?: 'memory' | 'dynamodb';
  readonly outDir: string;
  /** Write the bus events gzipped, to events.jsonl.gz (the CLI's default), or plain to events.jsonl. @default false */
  readonly compressEvents?: boolean;
  /** Who trains the first model and the retraining jobs. @default 'embedded' */
  readonly trainer?: TrainerKind;
  /** With the xgboost trainer, the Python interpreter with XGBoost 1.7 (found on the machine when absent). */
  readonly python?: string;
  readonly log: (line: string) => void;
  /** Called once per replayed deployment finished, with the number done and the total. */
  readonly onProgress?: (done: number, total: number, training: TrainingProgress) => void;
  /** The failure policy of the guarded groups (what decides when the endpoint gives no probability). @default 'fail-open' */
  readonly failurePolicy?: FailurePolicy;
  /**
   * Per history group, the settings of the configured group it stands for (`historyGroups` in
   * deploy-guard.config.json, `backtest --config --environment`): they replace mode, platform,
   * budget, threshold, exploration, cut scope and failure policy above for that group's deployments.
   */
  readonly groupSettings?: Readonly<Record<string, HistoryGroupSettings>>;
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
  /** What notify published to SNS, oldest first. */
  readonly notifications: readonly PublishedNotification[];
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
  /** Wall time spent training (the first model and every retraining). */
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
  /** START to the AfterAllowTraffic hook (the traffic has moved) for ECS / Lambda. */
  afterHookAfterMs: 6 * 60_000,
  /** START to SUCCESS / FAILURE. */
  finishAfterMs: ASSUMED_DEPLOYMENT_DURATION_MS,
  /** How long CodeDeploy waits at READY before it stops the deployment itself. */
  readyWaitMs: 60 * 60_000,
  /** A training job's duration. */
  trainingMs: 30 * 60_000,
} as const;

const DEPLOYMENT_GROUP = 'production';

export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now();
  mkdirSync(options.outDir, { recursive: true });
  const wiring = readWiring(options.stack);

  // 1. The history, in time order, each group's warm-up marked; the first model learns from the warm-up only.
  const history = prepareHistory(options);
  const configured = settingsByApplication(options.groupSettings ?? {}, history);
  requireSpace(options.outDir, { deployments: history.replay.length, compressedEvents: options.compressEvents === true });
  const first = await trainFirstModel(history, options);

  // 2. The stand-ins, their buses tapped for the report.
  const decision = decisionOf(options);
  const local = localSettingsOf(wiring, history, options, decision, configured);
  for (const [historyGroup, settings] of Object.entries(options.groupSettings ?? {})) {
    const decides = settings.threshold === undefined ? `budget ${settings.blockBudget * 100} %` : `threshold ${settings.threshold}`;
    const bake = settings.bake ? `, bake ${settings.bake.tierBudget === undefined ? `threshold ${settings.bake.threshold}` : `tier ${settings.bake.tierBudget * 100} %`} for ${settings.bake.minutes} min` : '';
    options.log(`${historyGroup}: replayed as ${settings.configuredGroup} (${settings.mode} mode, ${settings.platform}, ${decides}, exploration ${settings.exploration}, ${settings.failurePolicy}${bake})`);
  }
  const standIns = await buildStandIns({
    start: recordTime(history.replay[0].record)! - TIMINGS.changeSummaryLeadMs,
    region: local.region,
    customBusName: local.customBusName,
    alarms: options.retrain ? local.qualityAlarms : [],
    store: options.store ?? 'memory',
    trainer: first.trainer,
    trainingDir: join(options.outDir, 'training'),
    trainingMs: TIMINGS.trainingMs,
    log: options.log,
  });
  const builder = new ReportBuilder({
    mode: options.mode,
    blockBudget: decision.threshold === undefined ? decision.blockBudget : null,
    ...(decision.threshold === undefined ? {} : { threshold: decision.threshold }),
    costs: options.costs ?? DEFAULT_COSTS,
    dataSource: options.dataSource,
    trainer: first.trainer.name,
    limit: options.limit ?? null,
  });
  const tap = new ReportTap(join(options.outDir, eventsFileName(options.compressEvents === true)), builder, { store: standIns.stores.deployments, codeDeploy: standIns.codeDeploy, deploymentGroup: DEPLOYMENT_GROUP });
  tap.listen(standIns.buses.default);
  tap.listen(standIns.buses.custom);
  const faults = options.faults ? new FaultInjector(options.faults) : undefined;
  const deadLetters: DeadLetterWithEvent[] = [];
  let composed: ComposedHandlers;
  let comparison: BacktestComparison;
  let loopMs: number;
  try {
    // 3. The first model serves; the handlers, composed from the stack's environment.
    const { featuresUrl } = await serveFirstModel(standIns, first);
    composed = composeHandlers(wiring, standIns, { groups: local.groups, customBusName: local.customBusName, initialFeaturesUrl: featuresUrl }, { faults, onInvocation: options.onInvocation });

    // 4. The stack's rules and targets on the local buses, with Lambda's asynchronous delivery.
    wireRules(wiring, standIns.buses, composed.handlers, { clock: standIns.clock, deadLetters, faults });
    if (faults?.options.forgeRollbackRequests) forgeRollbackRequests(faults, standIns.buses.custom, { source: composed.source, eventBusName: local.customBusName });

    // 5. The fair baselines, each in its own loop beside Deploy Guard's (local/comparison.ts).
    comparison = new BacktestComparison({
      firstModel: first.model,
      firstModelVersion: first.modelVersion,
      features: first.features,
      blockBudget: decision.threshold === undefined ? decision.blockBudget : null,
      cutScope: decision.cutScope,
      costs: options.costs ?? DEFAULT_COSTS,
      retrainingWindowDays: composed.retraining.dataWindowDays,
      minimumTrainingRows: composed.retraining.minimumRows,
    });
    followRetraining(standIns, comparison);

    // 6. Each deployment's lifecycle, the stack's schedules (retraining, and the sweeps of holds and bakes), and fault injection's poison events, on the virtual clock.
    const installedAt = standIns.clock.now();
    scheduleReplay(history, { standIns, composed, local, tap, comparison, deadLetters, options, training: trainingProgressOf(standIns, history, { first, wiring, retrain: options.retrain }) });
    standIns.buses.custom.onEvent((event) => {
      const line = trainingEventLine(event);
      if (line) options.log(line);
    });
    scheduleRules(wiring, composed.handlers, {
      scheduler: standIns.scheduler,
      clock: standIns.clock,
      deadLetters,
      from: installedAt,
      to: recordTime(history.replay[history.replay.length - 1].record)!,
      account: LOCAL_ACCOUNT,
      region: local.region,
      ...(faults ? { faults } : {}),
      // --no-retrain: the retraining schedule is not fired (the "never retrain" run); the others are.
      only: (schedule) => options.retrain || !schedule.name.endsWith(`-${RETRAINING_SCHEDULE_RULE}`),
      sweeps: sweepsOf(standIns.stores),
    });
    schedulePoison(standIns, history.replay, { faults, region: local.region, source: composed.source, customBusName: local.customBusName });

    // 7. The replay, CloudWatch evaluating the alarms on time.
    loopMs = await runLoop(standIns, { evaluateAlarms: options.retrain, periodMs: alarmPeriodMs(local.qualityAlarms), drain: () => drainBuses(standIns.buses, faults) });
    await options.inspect?.(runtimeOf(standIns, history.replay, { deadLetters, eventCounts: tap.eventCounts, faults }));
  } finally {
    await tap.close();
    await standIns.close();
  }
  tap.throwIfWriteFailed();

  // 8. The report.
  tap.addRunSummary({ deadLetters, driftDecisions: composed.driftDecisions });
  const compared = comparison.results();
  builder.setComparison(compared.entries, compared.curves);
  const report = builder.build();
  const reportFile = join(options.outDir, 'report.json');
  writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  const { replay, warmUpCount } = history;
  options.log(`replayed ${replay.length} deployments (${warmUpCount} warm-up, ${replay.length - warmUpCount} reported), ${tap.busEvents} events on the buses, ${standIns.training.jobCount} training jobs`);
  return {
    report,
    files: { report: reportFile, events: tap.eventsFile },
    replayed: replay.length,
    warmUp: warmUpCount,
    busEvents: tap.busEvents,
    wallMs: performance.now() - started,
    trainingWallMs: first.trainingWallMs + standIns.training.trainingWallMs,
    loopMs,
    ...(faults ? { faults: { ...faults.stats } } : {}),
  };
}

/** What the replay takes from the stack and the history: the region, Deploy Guard's bus, the alarms it evaluates, the guarded groups. */
interface LocalSettings {
  readonly region: string;
  readonly customBusName: string;
  readonly qualityAlarms: readonly AlarmWiring[];
  /** The history's groups, in shadow mode until their warm-up is over (lifecycle.ts switches them). */
  readonly groups: GroupPolicy[];
  /** The mode each group switches to when its warm-up is over: its configured group's, else the run's. */
  readonly modeOf: (application: string) => GuardMode;
  /** The traffic hook's function, the target a failed hook invocation is reported against. */
  readonly hookFunctionName: string;
  /** How often Lambda retries a failed hook invocation (the function's asynchronous invoke configuration). */
  readonly hookMaximumRetryAttempts: number;
}

/** How the guarded groups decide: the block budget (or an expert's fixed threshold) and the exploration share. */
function decisionOf(options: Pick<BacktestOptions, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'>): Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'> {
  const blockBudget = checkBlockBudget(options.blockBudget ?? BLOCK_BUDGET.default, 'the block budget (--block-budget)');
  const exploration = options.exploration ?? EXPLORATION.default;
  if (!(exploration >= 0 && exploration <= EXPLORATION.max)) throw new RangeError(`the exploration share (--exploration) must be between 0 and ${EXPLORATION.max}, got ${exploration}`);
  if (options.threshold !== undefined && !(options.threshold > 0 && options.threshold < 1)) throw new RangeError(`a fixed threshold (--threshold) must be a probability between 0 and 1 (exclusive), got ${options.threshold}`);
  return { blockBudget, ...(options.threshold === undefined ? {} : { threshold: options.threshold }), exploration, cutScope: options.cutScope ?? 'installation' };
}

function localSettingsOf(
  wiring: Wiring,
  history: History,
  options: BacktestOptions,
  decision: Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'>,
  configured: ReadonlyMap<string, HistoryGroupSettings>,
): LocalSettings {
  const customBusName = wiring.rules.find((rule) => rule.eventBusName !== 'default')?.eventBusName;
  if (!customBusName) throw new Error("the stack has no rule on Deploy Guard's own bus");
  const metricsNamespace = localEnvironment(wiring, 'record-outcome', { groups: [], customBusName, initialFeaturesUrl: '' })[ENV.metricsNamespace];
  const applications = [...new Set(history.replay.map((entry) => entry.application))].sort();
  const platform = options.platform ?? 'Server';
  const hook = wiring.functions.find((fn) => fn.handler === 'traffic-hook');
  return {
    region: wiring.provider.region ?? 'us-east-1',
    customBusName,
    qualityAlarms: modelQualityAlarms(wiring.alarms, metricsNamespace),
    groups: applications.map((application) => {
      const settings = configured.get(application);
      if (!settings) return { application, deploymentGroup: DEPLOYMENT_GROUP, platform, mode: 'shadow', ...decision, failurePolicy: options.failurePolicy ?? 'fail-open' };
      // In shadow mode until its warm-up is over, like every group (lifecycle.ts switches it to its mode).
      const { platform: own, blockBudget, threshold, exploration, cutScope, failurePolicy, bake, alarmNames } = settings;
      const baking = bake ? { bake, alarmNames: alarmNames ?? [] } : {};
      return { application, deploymentGroup: DEPLOYMENT_GROUP, platform: own, mode: 'shadow', blockBudget, ...(threshold === undefined ? {} : { threshold }), exploration, cutScope, failurePolicy, ...baking };
    }),
    modeOf: (application) => configured.get(application)?.mode ?? options.mode,
    hookFunctionName: hook?.functionName ?? 'traffic-hook',
    hookMaximumRetryAttempts: hook?.asyncInvoke.maximumRetryAttempts ?? 2,
  };
}

/** Schedules every deployment's lifecycle; each finished one reported (warm-up excepted) and counted for progress. */
function scheduleReplay(
  history: History,
  run: {
    readonly standIns: StandIns;
    readonly composed: ComposedHandlers;
    readonly local: LocalSettings;
    readonly tap: ReportTap;
    readonly comparison: BacktestComparison;
    readonly deadLetters: DeadLetterWithEvent[];
    readonly options: BacktestOptions;
    readonly training: () => TrainingProgress;
  },
): void {
  const { standIns, composed, local, tap, comparison, deadLetters, options, training } = run;
  const serving = servingModelFollower(standIns, comparison);
  let done = 0;
  scheduleLifecycles(history.replay, {
    scheduler: standIns.scheduler,
    clock: standIns.clock,
    timings: TIMINGS,
    codeDeploy: standIns.codeDeploy,
    deploymentGroup: DEPLOYMENT_GROUP,
    modeOf: local.modeOf,
    groups: local.groups,
    changeSummaries: { publishNow: (...entries) => standIns.publisher.publishNow(...entries), source: composed.source, eventBusName: local.customBusName },
    // CodeDeploy invokes the hook asynchronously: Lambda retries it, then sends it to its on-failure destination.
    trafficHook: asyncInvoke({
      rule: 'codedeploy-hook',
      handler: 'traffic-hook',
      run: composed.handlers['traffic-hook'],
      maximumRetryAttempts: local.hookMaximumRetryAttempts,
      clock: standIns.clock,
      deadLetters,
    }),
    onHookFailed: (reason) => deadLetters.push({ at: standIns.clock.now(), rule: 'codedeploy-hook', target: local.hookFunctionName, reason }),
    warmUpIds: standIns.warmUpIds,
    onStarted: async (entry) => {
      await serving.sync();
      comparison.started(entry, groupKey(entry.application, DEPLOYMENT_GROUP), standIns.clock.now());
    },
    onFinished: async (entry) => {
      done += 1;
      const assessment = (await standIns.stores.deployments.get(entry.deploymentId!))?.assessment;
      const fidelity = comparison.finished(entry, groupKey(entry.application, DEPLOYMENT_GROUP), { featureRow: assessment?.featureRow ?? '' }, standIns.clock.now());
      if (!entry.warmUp) await tap.addDeployment(entry, fidelity);
      options.onProgress?.(done, history.replay.length, training());
    },
    log: options.log,
  });
}

/** The training so far and the training time still expected, for the progress line's ETA (local/training-feedback.ts). */
function trainingProgressOf(
  standIns: StandIns,
  history: History,
  run: { readonly first: { readonly trainingWallMs: number }; readonly wiring: Wiring; readonly retrain: boolean },
): () => TrainingProgress {
  const start = recordTime(history.replay[0].record)!;
  const end = recordTime(history.replay[history.replay.length - 1].record)!;
  // The retraining schedule (drift's), not another schedule of the stack (the hold timeouts, the bake sweep).
  const schedule = run.retrain ? run.wiring.schedules.find((candidate) => candidate.name.endsWith(`-${RETRAINING_SCHEDULE_RULE}`)) : undefined;
  return () => {
    const { training, clock } = standIns;
    const soFar = { jobs: training.trainedJobs, wallMs: training.trainingWallMs, firstModelWallMs: run.first.trainingWallMs };
    const span = { start, now: clock.now(), end, ...(schedule ? { schedulePeriodMs: schedule.periodMs } : {}) };
    return { wallMs: training.trainingWallMs, leftMs: trainingTimeLeftMs(soFar, span) };
  };
}

/**
 * The one-minute sweeps and when each next has work (local/lambda-delivery.ts scheduleRules): the
 * hold timeouts at the earliest open hold's timeout (at once for one settled, to close its listing),
 * the bake sweep when its book says (handlers/bake-domain.ts sweepDue).
 */
function sweepsOf(stores: StandIns['stores']): Readonly<Record<string, SweepDue>> {
  return {
    [HOLD_TIMEOUTS_RULE]: async () => {
      const dues = await Promise.all((await stores.holds.openIds()).map(async (id) => timeoutDue(await stores.holds.read(id))));
      return dues.length === 0 ? undefined : Math.min(...dues);
    },
    [BAKE_SWEEP_RULE]: async () => {
      const stored = await stores.bakes.readBook();
      return stored ? sweepDue(stored.book) : undefined;
    },
  };
}

/** Tells the comparison when a training job starts: logistic regression refits on the same schedule. */
function followRetraining(standIns: StandIns, comparison: BacktestComparison): void {
  const onEvent = (event: BusEvent) => {
    if (event['detail-type'] === 'Model Retraining Started') comparison.retrainingStarted(Date.parse(event.time));
  };
  standIns.buses.default.onEvent(onEvent);
  standIns.buses.custom.onEvent(onEvent);
}

/** Follows the serving pointer: when promote moved it, the comparison's Deploy Guard loops score with the new model. */
function servingModelFollower(standIns: StandIns, comparison: BacktestComparison): { sync(): Promise<void> } {
  let version: string | undefined;
  return {
    async sync() {
      const pointer = await standIns.stores.control.readServingModel();
      if (!pointer || pointer.modelVersion === version) return;
      const first = version === undefined;
      version = pointer.modelVersion;
      if (first) return;
      const archive = await standIns.objects.read(pointer.modelDataUrl);
      if (!archive) throw new Error(`the serving pointer names ${pointer.modelDataUrl}, which the local S3 does not hold`);
      comparison.servingChanged(pointer.modelVersion, loadXGBoostModel(modelFromArchive(archive)), standIns.clock.now());
    },
  };
}

interface History {
  /** The replayable deployments, all groups interleaved in time order. */
  readonly replay: readonly ReplayEntry[];
  readonly warmUpCount: number;
  readonly groupCount: number;
  /** The global time cut: deployments starting before it are the warm-up. */
  readonly warmUpEnd: number;
}

/**
 * The replayable history and its warm-up: every deployment that started before one global time cut,
 * the date by which `initialFraction` of all deployments had started. The warm-up is the first
 * model's training data, replayed in shadow mode and not reported; no reported deployment starts
 * before the first model's newest training row. A group whose history starts after the cut enters
 * unknown to the first model and is learned through retraining.
 */
function prepareHistory(options: Pick<BacktestOptions, 'records' | 'limit' | 'initialFraction'>): History {
  const replay = prepare(options.records, options.limit);
  if (replay.length < 50) throw new Error(`the history has ${replay.length} deployments with a time and an outcome; the backtest needs at least 50`);
  const fraction = options.initialFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`initial fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const cut = warmUpCut(replay, fraction);
  for (const entry of replay) (entry as { warmUp: boolean }).warmUp = recordTime(entry.record)! < cut;
  const warmUpCount = replay.filter((entry) => entry.warmUp).length;
  if (warmUpCount === 0 || warmUpCount === replay.length) {
    throw new Error(`the warm-up cut ${new Date(cut).toISOString()} leaves ${warmUpCount} of ${replay.length} deployments to train the first model on; give another initial fraction`);
  }
  return { replay, warmUpCount, groupCount: new Set(replay.map((entry) => entry.application)).size, warmUpEnd: cut };
}

/** The start of the first deployment at or after `fraction` of the replay (in time order): deployments before it are the warm-up. */
export function warmUpCut(replay: readonly Pick<ReplayEntry, 'record'>[], fraction: number): number {
  const index = Math.min(replay.length - 1, Math.floor(replay.length * fraction));
  return recordTime(replay[index].record)!;
}

/** The replayable deployments: a time and a known outcome, the first `limit` of each group, in time order. */
function prepare(records: readonly DeploymentRecord[], limit: number | undefined): ReplayEntry[] {
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
/** The configured settings by the replay's application name; a history group the data does not have is an error naming it. */
function settingsByApplication(byHistoryGroup: Readonly<Record<string, HistoryGroupSettings>>, history: History): Map<string, HistoryGroupSettings> {
  const present = new Set(history.replay.map((entry) => entry.record.group));
  const settings = new Map<string, HistoryGroupSettings>();
  for (const [historyGroup, groupSettings] of Object.entries(byHistoryGroup)) {
    if (!present.has(historyGroup)) {
      throw new Error(`${groupSettings.configuredGroup} names history group '${historyGroup}' (historyGroups), which the history does not have; it has ${[...present].sort().join(', ')}`);
    }
    settings.set(applicationName(historyGroup), groupSettings);
  }
  return settings;
}

export function applicationName(group: string): string {
  const name = group.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
  if (!name) throw new Error(`history group '${group}' has no character usable in a CodeDeploy application name`);
  return name;
}

interface FirstModel {
  readonly dir: string;
  readonly model: XGBoostModel;
  /** Its features.json: the feature list every model of the replay is served with. */
  readonly features: FeatureList;
  readonly modelVersion: string;
  readonly trainer: Trainer;
  readonly trainingWallMs: number;
}

/** The first model, trained on the warm-up deployments (history features by the start-time rule). */
async function trainFirstModel(history: History, options: BacktestOptions): Promise<FirstModel> {
  const { log } = options;
  const warmUp = history.replay.filter((entry) => entry.warmUp);
  const trainer = resolveTrainer(options.trainer ?? 'embedded', options.python, (line) => log(`initial model: ${line}`));
  const trainingStarted = performance.now();
  const dir = join(options.outDir, 'initial-model');
  await trainModel({
    records: warmUp.map((entry) => ({ ...entry.record, group: groupKey(entry.application, DEPLOYMENT_GROUP), extra: {} })),
    outDir: dir,
    split: { validationFraction: 0.2, testFraction: 0 },
    costs: DEFAULT_COSTS,
    hyperparameters: readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE),
    trainer,
    log: (line) => log(`initial model: ${line}`),
  });
  const trainingWallMs = performance.now() - trainingStarted;
  const model = loadXGBoostModel(readFileSync(join(dir, 'xgboost-model'), 'utf8'));
  log(`initial model: the ${history.warmUpCount} deployments that started before ${new Date(history.warmUpEnd).toISOString()} (warm-up, ${history.groupCount} groups in the history)`);
  const features = parseFeatureList(JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8')), join(dir, 'features.json'));
  return { dir, model, features, modelVersion: `initial-${warmUp.at(-1)!.record.time!.slice(0, 10)}`, trainer, trainingWallMs };
}

/** Poison: malformed events put on the buses during the replay; they must end in a dead-letter queue. */
function schedulePoison(
  standIns: StandIns,
  replay: readonly ReplayEntry[],
  context: { readonly faults: FaultInjector | undefined; readonly region: string; readonly source: string; readonly customBusName: string },
): void {
  const { faults, region, source, customBusName } = context;
  const from = recordTime(replay[0].record)!;
  const to = recordTime(replay[replay.length - 1].record)!;
  for (const poison of faults?.poison(from, to, { account: LOCAL_ACCOUNT, region, source, customBusName }) ?? []) {
    standIns.scheduler.schedule(poison.at, () => (poison.awsEvent ? standIns.buses.default.publishAwsEvent(poison.awsEvent) : standIns.publisher.publishNow(poison.entry!)));
  }
}

/**
 * Runs the scheduled actions in time order, draining the buses after each. CloudWatch evaluates at
 * every period boundary, on time: an alarm that goes off at a boundary reaches the drift handler
 * then, not when the next deployment comes (hours later at night), and what it schedules (the
 * training job's end) may come before the next queued action, so the boundary is compared with the
 * next action before that action is taken from the queue. Answers the loop's wall time, training excluded.
 */
async function runLoop(
  standIns: Pick<StandIns, 'clock' | 'scheduler' | 'cloudWatch' | 'training'>,
  options: { readonly evaluateAlarms: boolean; readonly periodMs: number; readonly drain: () => Promise<void> },
): Promise<number> {
  const { clock, scheduler, cloudWatch, training } = standIns;
  const { periodMs, drain } = options;
  let nextEvaluation = Math.ceil(clock.now() / periodMs) * periodMs;
  const loopStarted = performance.now();
  const trainingBeforeLoop = training.trainingWallMs;
  for (let at = scheduler.peek(); at !== undefined; at = scheduler.peek()) {
    if (options.evaluateAlarms && nextEvaluation <= at) {
      clock.advanceTo(nextEvaluation);
      cloudWatch.evaluate(nextEvaluation);
      await drain();
      nextEvaluation += periodMs;
      continue;
    }
    const action = scheduler.next()!;
    clock.advanceTo(action.at);
    await action.run();
    await drain();
  }
  return performance.now() - loopStarted - (training.trainingWallMs - trainingBeforeLoop);
}

function runtimeOf(
  standIns: StandIns,
  replay: readonly ReplayEntry[],
  run: { readonly deadLetters: readonly DeadLetterWithEvent[]; readonly eventCounts: ReadonlyMap<string, number>; readonly faults: FaultInjector | undefined },
): BacktestRuntime {
  return {
    deployments: replay.map((entry) => ({ deploymentId: entry.deploymentId!, application: entry.application, warmUp: entry.warmUp, failed: entry.record.failed === true })),
    store: standIns.stores.deployments,
    ledger: standIns.stores.ledger,
    objects: standIns.objects,
    codeDeploy: standIns.codeDeploy,
    training: standIns.training,
    deadLetters: run.deadLetters,
    eventCounts: run.eventCounts,
    notifications: standIns.notifications.published,
    ...(run.faults ? { faults: run.faults } : {}),
  };
}
