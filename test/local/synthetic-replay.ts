import type { GuardMode } from '../../events/emitted';
import {
  ReportBuilder,
  comparisonEntry,
  type ComparisonEntryInput,
  type ComparisonPredictor,
  type ReplayedDeployment,
  type TimelineEvent,
  type WindowSpec,
} from '../../local/report-model';

/**
 * A realistic synthetic backtest run (no engine): four deployment groups, one with a hostile name,
 * one that only observes (not enforced); a year of deployments decided by a block budget (each
 * group's cut the (1 - k) quantile of its recent scores); a first model that decays (drift); alarms,
 * one of them ignored months before the one that starts a retraining; retrainings on alarms and on
 * the schedule, a promotion after each but one rejection; a dead letter; and the in-loop comparison
 * the engine would hand over, every entry's figures derived from its own simulated loop.
 * Deterministic (seeded).
 */

export const HOSTILE_APPLICATION = 'ops<&"tools">';
export const HOSTILE_GROUP = `${HOSTILE_APPLICATION}/deploy'<script>`;
export const AUC_ALARM = 'deploy-guard-dev-model-auc';

const GROUPS = [
  { application: 'payments', group: 'payments/prod', baseRate: 0.06, enforced: true },
  { application: 'web', group: 'web/blue-green', baseRate: 0.1, enforced: true },
  { application: 'search', group: 'search/canary', baseRate: 0.05, enforced: false },
  { application: HOSTILE_APPLICATION, group: HOSTILE_GROUP, baseRate: 0.12, enforced: true },
];

export const SYNTHETIC_START = Date.parse('2023-01-02T08:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** History features in a served row (model/features.ts has about this many). */
const HISTORY_FEATURES = 6;
/** Recent own scores a cut is taken over, and the fewest before a group has one. */
const CUT_WINDOW = 200;
const CUT_MINIMUM = 20;
const COSTS = { failedDeployment: 3, needlessRollback: 1 };

/** Park-Miller minimal standard generator: reproducible without a library. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** One group's block-budget cut over its recent scores, refreshed every 10 scores. */
class GroupCut {
  private readonly scores: number[] = [];
  private since = 0;
  cut: number | null = null;

  constructor(readonly budget: () => number) {}

  /** Decides with the current cut, then adds the score. */
  decide(score: number): boolean {
    const stop = this.cut !== null && score >= this.cut;
    this.scores.push(score);
    if (this.scores.length > CUT_WINDOW) this.scores.shift();
    this.since += 1;
    if (this.scores.length >= CUT_MINIMUM && (this.cut === null || this.since >= 10)) {
      const sorted = [...this.scores].sort((a, b) => b - a);
      this.cut = sorted[Math.max(0, Math.ceil(this.budget() * sorted.length) - 1)];
      this.since = 0;
    }
    return stop;
  }
}

interface Counts {
  deployments: number;
  blocked: number;
  failures: number;
  caught: number;
}

/** A comparison entry whose figures follow from its counts at costs 3:1, as the engine's are. */
export function entryFromCounts(predictor: ComparisonPredictor, budget: number | null, kind: ComparisonEntryInput['budget_kind'], counts: Counts): ComparisonEntryInput {
  return comparisonEntry(predictor, { budget, budget_kind: kind }, counts, COSTS);
}

/** One in-loop policy: its scores, its per-group cuts and its counts. */
class SimulatedPolicy {
  private readonly cuts = new Map<string, GroupCut>();
  readonly counts: Counts = { deployments: 0, blocked: 0, failures: 0, caught: 0 };

  constructor(
    readonly predictor: ComparisonPredictor,
    readonly budget: () => number,
    readonly score: (deployment: SimulatedDeployment) => number,
  ) {}

  step(deployment: SimulatedDeployment): void {
    let cut = this.cuts.get(deployment.group);
    if (!cut) this.cuts.set(deployment.group, (cut = new GroupCut(this.budget)));
    const stop = cut.decide(this.score(deployment));
    this.counts.deployments += 1;
    if (deployment.failed) this.counts.failures += 1;
    if (stop) this.counts.blocked += 1;
    if (stop && deployment.failed) this.counts.caught += 1;
  }
}

interface SimulatedDeployment {
  readonly group: string;
  readonly failed: boolean;
  readonly risk: number;
  /** Independent noise per predictor, so that each scores with its own errors. */
  readonly noise: readonly number[];
  readonly servedScore: number | null;
  readonly firstModelScore: number | null;
}

export interface SyntheticOptions {
  readonly deployments?: number;
  readonly window?: WindowSpec;
  /** @default 'gate' */
  readonly mode?: GuardMode;
  /** @default 0.1 */
  readonly blockBudget?: number;
  /** Hand the in-loop comparison to the builder. @default true */
  readonly comparison?: boolean;
}

export interface SyntheticRun {
  readonly builder: ReportBuilder;
  readonly deployments: readonly ReplayedDeployment[];
  readonly timeline: readonly TimelineEvent[];
  /** What was handed to `setComparison` (empty without a comparison). */
  readonly comparison: readonly ComparisonEntryInput[];
}

export function syntheticRun(options: SyntheticOptions = {}): SyntheticRun {
  const total = options.deployments ?? 3000;
  const mode = options.mode ?? 'gate';
  const budget = options.blockBudget ?? 0.1;
  const next = random(20240601);
  const builder = new ReportBuilder({ mode, blockBudget: budget, dataSource: 'data/ci-bfdetector (synthetic)', limit: null }, { window: options.window });
  // The served model: its version, when it was trained (its skill decays with age).
  let served: { version: string; trainedAt: number } | null = null;
  let firstModelTrainedAt: number | null = null;
  let versionNumber = 0;
  let lastRetraining = -Infinity;
  let lastScheduled = SYNTHETIC_START;
  const deployments: ReplayedDeployment[] = [];
  const timeline: TimelineEvent[] = [];
  const addEvent = (event: TimelineEvent) => {
    timeline.push(event);
    builder.addTimelineEvent(event);
  };
  const cuts = new Map<string, GroupCut>();
  /** Per group, whether each of its latest deployments was stopped (newest last). */
  const recentStops = new Map<string, boolean[]>();
  const simulated: SimulatedDeployment[] = [];
  let time = SYNTHETIC_START;
  for (let index = 0; index < total; index += 1) {
    time += Math.round((0.5 + next() * 4) * HOUR);
    const group = GROUPS[Math.floor(next() * GROUPS.length)];
    const risk = next();
    const failed = next() < group.baseRate + 0.25 * risk * risk;
    // A model separates failures well when fresh and loses that skill over about four months.
    const skillAt = (trainedAt: number) => Math.max(0, 1.2 - (time - trainedAt) / (100 * DAY));
    const noise = Array.from({ length: 6 }, () => (next() - 0.5) * 5);
    if (served === null && index === 100) {
      versionNumber += 1;
      served = { version: `v${versionNumber}`, trainedAt: time };
      firstModelTrainedAt = time;
      addEvent({ at: time - HOUR, kind: 'promoted', modelVersion: served.version, detail: 'first model' });
    }
    // An AUC alarm the drift handler ignores (too few rows), months before the one that retrains.
    if (index === 150) {
      addEvent({ at: time + HOUR, kind: 'drift-alarm', alarmName: AUC_ALARM, detail: 'ignored: not-enough-data' });
      builder.addDriftDecision('not-enough-data');
    }
    const score = (trainedAt: number) => sigmoid(skillAt(trainedAt) * (failed ? 1 : -1) + (risk - 0.6) + noise[0]);
    const probability = served === null ? null : score(served.trainedAt);
    let cut = cuts.get(group.group);
    if (!cut) cuts.set(group.group, (cut = new GroupCut(() => budget)));
    const cutBefore = cut.cut;
    const rollback = probability !== null && cut.decide(probability);
    const enforced = group.enforced && mode !== 'shadow';
    const rollbackRequested = rollback && enforced;
    // Now and then the deployment completes before the stop arrives.
    const stopped = rollbackRequested && next() > 0.03;
    // A stop hides its outcome: the next rows' history features differ from full information.
    const stops = recentStops.get(group.group) ?? [];
    const hidden = stops.slice(-3).filter(Boolean).length;
    const record: ReplayedDeployment = {
      deploymentId: `d-${String(index).padStart(9, '0')}`,
      application: group.application,
      deploymentGroup: group.group,
      startedAt: time,
      failed,
      probability,
      cut: probability === null ? null : cutBefore,
      blockBudget: budget,
      decision: rollback ? 'rollback' : 'proceed',
      enforced,
      rollbackRequested,
      stopped,
      modelVersion: served?.version ?? null,
      historyFeaturesServed: probability === null ? 0 : HISTORY_FEATURES,
      historyFeaturesDiffering: probability === null ? 0 : Math.min(HISTORY_FEATURES, 2 * hidden),
      explored: false,
    };
    recentStops.set(group.group, [...stops.slice(-9), stopped]);
    deployments.push(record);
    builder.addDeployment(record);
    simulated.push({
      group: group.group,
      failed,
      risk,
      noise,
      servedScore: probability,
      firstModelScore: firstModelTrainedAt === null ? null : score(firstModelTrainedAt),
    });
    // Drift: the served model has aged 60 days: alarm, retrain, promote (the third candidate is rejected).
    // Every 150 days the schedule retrains as well.
    const drifted = served !== null && time - served.trainedAt > 60 * DAY && time - lastRetraining > 10 * DAY;
    const scheduled = served !== null && time - lastScheduled > 150 * DAY;
    if (drifted || scheduled) {
      lastRetraining = time;
      if (scheduled) lastScheduled = time;
      if (drifted) {
        addEvent({ at: time + HOUR, kind: 'drift-alarm', alarmName: AUC_ALARM, detail: 'AUC below 0.6' });
        builder.addDriftDecision('started');
      }
      addEvent({
        at: time + 2 * HOUR,
        kind: 'retraining-started',
        trigger: drifted ? { type: 'alarm', alarmName: AUC_ALARM } : { type: 'schedule' },
        detail: `job deploy-guard-${index}`,
      });
      versionNumber += 1;
      const candidate = `v${versionNumber}`;
      if (versionNumber === 3) {
        addEvent({ at: time + 5 * HOUR, kind: 'rejected', modelVersion: candidate, detail: 'AUC 0.61 < current 0.66' });
      } else {
        addEvent({ at: time + 5 * HOUR, kind: 'promoted', modelVersion: candidate, detail: 'AUC 0.78 > current 0.64' });
        served = { version: candidate, trainedAt: time };
      }
    }
  }
  builder.addDeadLetter({
    at: SYNTHETIC_START + 40 * DAY,
    rule: 'deploy-guard-dev-record-outcome',
    target: 'record-outcome',
    reason: 'Lambda error after 3 retries: ProvisionedThroughputExceeded <table "deployments">',
  });
  const comparison = options.comparison === false ? [] : inLoopComparison(simulated, budget);
  if (options.comparison !== false) builder.setComparison(comparison);
  return { builder, deployments, timeline, comparison };
}

/**
 * The comparison the engine would hand over: every predictor at 5, 10 and 20 % (Deploy Guard not at
 * the configured budget: the builder measures that), Parrot at its natural rate and Deploy Guard at
 * Parrot's. Each policy runs its own cuts over its own scores; an unscored deployment scores 0.
 */
function inLoopComparison(deployments: readonly SimulatedDeployment[], configured: number): ComparisonEntryInput[] {
  const fresh = (d: SimulatedDeployment, skill: number, noise: number) => sigmoid(skill * (d.failed ? 1 : -1) + (d.risk - 0.6) + noise);
  const scorers: Record<Exclude<ComparisonPredictor, 'parrot-in-loop'>, (d: SimulatedDeployment) => number> = {
    'deploy-guard': (d) => d.servedScore ?? 0,
    heuristic: (d) => fresh(d, 0.45, d.noise[1]),
    'logistic-regression': (d) => fresh(d, 0.6, d.noise[2]),
    'never-retrain': (d) => d.firstModelScore ?? 0,
    'shadow-reference': (d) => fresh(d, 1.4, d.noise[3]),
  };
  const policies: SimulatedPolicy[] = [];
  for (const budget of [0.05, 0.1, 0.2]) {
    for (const [predictor, score] of Object.entries(scorers) as [Exclude<ComparisonPredictor, 'parrot-in-loop'>, (d: SimulatedDeployment) => number][]) {
      if (predictor === 'deploy-guard' && Math.abs(budget - configured) < 1e-9) continue;
      policies.push(new SimulatedPolicy(predictor, () => budget, score));
    }
  }
  // Parrot in the loop: stop when the group's latest let-through deployment failed (here it lets the
  // deployment after a stop through, so that one failure does not stop its group for good).
  const parrot: Counts = { deployments: 0, blocked: 0, failures: 0, caught: 0 };
  const lastObservedFailed = new Map<string, boolean>();
  const lastStopped = new Map<string, boolean>();
  const parrotRate = () => (parrot.deployments === 0 ? 0.1 : Math.min(0.3, Math.max(0.005, parrot.blocked / parrot.deployments)));
  const atParrotRate = new SimulatedPolicy('deploy-guard', parrotRate, scorers['deploy-guard']);
  for (const deployment of deployments) {
    for (const policy of policies) policy.step(deployment);
    atParrotRate.step(deployment);
    const stop = lastObservedFailed.get(deployment.group) === true && lastStopped.get(deployment.group) !== true;
    lastStopped.set(deployment.group, stop);
    parrot.deployments += 1;
    if (deployment.failed) parrot.failures += 1;
    if (stop) parrot.blocked += 1;
    if (stop && deployment.failed) parrot.caught += 1;
    if (!stop) lastObservedFailed.set(deployment.group, deployment.failed);
  }
  return [
    ...policies.map((policy) => entryFromCounts(policy.predictor, policy.budget(), 'fixed', policy.counts)),
    entryFromCounts('parrot-in-loop', null, 'natural', parrot),
    entryFromCounts('deploy-guard', parrotRate(), 'parrot-rate', atParrotRate.counts),
  ];
}
