import { BLOCK_BUDGET, REPORTED_BUDGETS, checkBlockBudget, type CutScope } from '../model/block-budget';
import type { ChangeFields } from '../model/change-fields';
import { FEATURE_SCHEMA, buildFeatureVector, createFeatureList, type FeatureInputs, type FeatureList } from '../model/features';
import type { HistoryFeatures } from '../model/history';
import { fitLogisticRegression, type LogisticModel } from '../model/logistic';
import type { DecisionCosts } from '../model/metrics';
import { ASSUMED_DEPLOYMENT_DURATION_MS } from '../model/records';
import { DEFAULT_COSTS } from '../model/training';
import { BudgetCut, ScoreWindow } from './cut-window';
import { ObservedHistory } from './observed-history';
import { COMPARISON_PREDICTORS, comparisonEntry, type ComparisonEntryInput, type ComparisonPredictor } from './report-model';

/**
 * The fair baselines of the backtest, each run inside its own loop: a policy's stops hide outcomes
 * from itself, exactly as Deploy Guard's stops hide them from Deploy Guard. Each (predictor, budget)
 * keeps its own per-group history (the history features as predict computes them), its own block-
 * budget cuts (per group, with the pooled cut borrowed while a group has few scores) and, for
 * logistic regression, its own training rows. Measured in ../shared/notes/decision-quality.md.
 *
 * Pure: no handler, bus or clock; the replay drives it with plain calls in virtual-time order
 * (`onStart`, `onFinish`, `onRetrain`, `onPromotion`), and reads `results()` at the end.
 *
 * Timing rule: a policy's history at a deployment's start holds only the deployments that finished
 * at or before that start. The driver calls `onFinish` before `onStart` for them. A deployment a
 * policy stops finishes then (CodeDeploy reports it Stopped at once, and record-outcome stores it
 * with an unknown outcome), so it joins that policy's history at its own start, as it does in
 * Deploy Guard's store.
 *
 * The cuts decide as predict does (handlers/cuts.ts): the group's own cut, or the pooled scores'
 * quantile at the budget until the group has a cut; the score then joins the pooled window and the
 * group's. Warm-up deployments are assessed as predict assesses them in shadow mode: their would-be
 * stops count in the cut's realized rate, nothing is stopped, nothing is reported.
 */

/** The key of the one cut every group shares on the installation's scope. */
const INSTALLATION_CUT = '*installation*';

/** The predictors of report.json's `comparison`. */
export const PREDICTORS = COMPARISON_PREDICTORS;
export type PredictorName = ComparisonPredictor;

/** Predictors that take a block budget (all but Parrot, which stops at its natural rate). */
export type BudgetedPredictor = Exclude<PredictorName, 'parrot-in-loop'>;

/** A model as the baselines use it: Deploy Guard's serving model, or its first one. */
export interface ScoringModel {
  readonly version: string;
  readonly features: FeatureList;
  predict(vector: readonly number[]): number;
  /**
   * Probabilities of `rowCount` rows of `columnCount` values (row-major), when the model scores
   * batches (model/xgboost.ts XGBoostModel.predictBatch, the same numbers, about twice as fast).
   */
  predictBatch?(values: Float32Array, rowCount: number, columnCount: number): ArrayLike<number>;
}

/** One deployment at its start. */
export interface DeploymentStart {
  readonly id: string;
  /** The group as the model's feature list names it (handlers/config.ts groupKey: `application/deploymentGroup`). */
  readonly group: string;
  /** Start, in milliseconds since the epoch (virtual time). */
  readonly start: number;
  /** The canonical change fields (model/change-fields.ts); an absent field is missing. */
  readonly change: ChangeFields;
  readonly author?: string;
  readonly extra?: Readonly<Record<string, number>>;
  /** A warm-up deployment: scored and observed, never stopped, never counted. */
  readonly warmUp?: boolean;
}

/** A budget: a share of deployments, or the running realized rate of Parrot in the loop. */
export type BudgetSetting = number | 'parrot-rate';

/** One predictor in its own loop at one budget (none for Parrot). */
export type Run = { readonly predictor: 'parrot-in-loop'; readonly budget: null } | BudgetedRun;
export interface BudgetedRun {
  readonly predictor: BudgetedPredictor;
  readonly budget: BudgetSetting;
}

/**
 * How long a deployment runs, start to finish, when the module replays warm-up deployments itself
 * (`warmUpDeployments`): the duration the training export and the backtest's TIMINGS.finishAfterMs
 * assume too.
 */
export const DEFAULT_FINISH_AFTER_MS = ASSUMED_DEPLOYMENT_DURATION_MS;

/**
 * Deployments predict's history read covers: handlers/predict.ts DEFAULT_HISTORY_LIMIT (not imported
 * here: that module creates the AWS clients; a test holds the two equal).
 */
export const DEFAULT_HISTORY_READ = 200;

/**
 * Fewest rows of a refit: retraining.minimumRows when not configured (handlers/config.ts
 * DEFAULT_MINIMUM_TRAINING_ROWS, not imported: this module does not depend on the handlers; a test
 * holds the two equal).
 */
export const DEFAULT_MINIMUM_REFIT_ROWS = 200;

export interface InLoopPoliciesOptions {
  /** Deploy Guard's first model: never-retrain scores with it for the whole replay. */
  readonly firstModel: ScoringModel;
  /** The serving model at the start of the replay. @default firstModel */
  readonly servingModel?: ScoringModel;
  /** Block budgets every budgeted predictor runs at. @default REPORTED_BUDGETS (5, 10, 20 %) */
  readonly budgets?: readonly number[];
  /**
   * Budgets at which Deploy Guard is not run here, because the replay itself is that run (the
   * configured budget): its entry comes from the real handlers (see `comparisonEntry`).
   */
  readonly skipDeployGuardBudgets?: readonly number[];
  /** Predictors also run at Parrot's running realized rate. @default ['deploy-guard'] */
  readonly atParrotRate?: readonly BudgetedPredictor[];
  /** Days of rows logistic regression is refitted on at each `onRetrain` (retraining.dataWindowDays). */
  readonly retrainingWindowDays: number;
  /** Fewest own rows in the window for a refit; fewer keep the current fit (retraining.minimumRows). @default DEFAULT_MINIMUM_REFIT_ROWS */
  readonly minimumTrainingRows?: number;
  /** @default DEFAULT_COSTS (3:1) */
  readonly costs?: DecisionCosts;
  /**
   * Whose deployments a budget is a share of (model/block-budget.ts CUT_SCOPES): with
   * `installation`, every predictor keeps one cut over all groups' scores, as predict does. @default 'group'
   */
  readonly cutScope?: CutScope;
  /** @default DEFAULT_HISTORY_READ */
  readonly historyRead?: number;
  /** The groups of logistic regression's feature list. @default firstModel.features.groups */
  readonly groups?: readonly string[];
  /** Extra numeric columns of the history, as features of logistic regression. @default none */
  readonly extraFeatures?: readonly string[];
  /**
   * The first model's training deployments, when they are not all replayed before the first
   * reported deployment (a warm-up per group ends at different times): logistic regression is
   * first fitted on them, their history features taken with every outcome known and the timing
   * rule (each finishes `finishAfterMs` after its start). Without it, logistic regression is first
   * fitted on the warm-up rows it observed, at `onWarmUpFinished` or at the first reported start.
   */
  readonly warmUpDeployments?: readonly (DeploymentStart & { readonly failed: boolean })[];
  /** @default DEFAULT_FINISH_AFTER_MS */
  readonly finishAfterMs?: number;
}

/** The counts of one (predictor, budget) over the reported deployments. */
export interface OutcomeCounts {
  readonly deployments: number;
  /** Stopped. */
  readonly blocked: number;
  readonly failures: number;
  /** Stopped and would have failed. */
  readonly caught: number;
}

/** One row of report.json's `comparison` (report-model.ts ComparisonEntryInput). */
export type ComparisonEntry = ComparisonEntryInput;

/** One point of a predictor's caught-versus-blocked curve. */
export interface CurvePoint {
  readonly budget: number | null;
  readonly budget_kind: ComparisonEntry['budget_kind'];
  readonly blocked_rate: number | null;
  readonly caught_rate: number | null;
}

export interface InLoopResults {
  readonly entries: readonly ComparisonEntry[];
  /** Per predictor, its points by blocked rate. */
  readonly curves: Readonly<Partial<Record<PredictorName, readonly CurvePoint[]>>>;
}

/** The derived figures of one (predictor, budget) from its counts: report-model.ts defines them once. */
export { comparisonEntry };

/** The caught-versus-blocked curve of each predictor, from its entries. */
export function comparisonCurves(entries: readonly ComparisonEntry[]): InLoopResults['curves'] {
  const curves: Partial<Record<PredictorName, CurvePoint[]>> = {};
  for (const entry of entries) {
    (curves[entry.predictor] ??= []).push({ budget: entry.budget, budget_kind: entry.budget_kind, blocked_rate: entry.blocked_rate, caught_rate: entry.caught_rate });
  }
  for (const points of Object.values(curves)) points.sort((a, b) => (a.blocked_rate ?? 0) - (b.blocked_rate ?? 0));
  return curves;
}

const DAY_MS = 86_400_000;

class Tally implements OutcomeCounts {
  deployments = 0;
  blocked = 0;
  failures = 0;
  caught = 0;

  add(stopped: boolean, failed: boolean): void {
    this.deployments += 1;
    if (stopped) this.blocked += 1;
    if (failed) {
      this.failures += 1;
      if (stopped) this.caught += 1;
    }
  }
}

/** A logistic-regression training row: a let-through deployment, its vector at its start, its outcome. */
interface Row {
  readonly id: string;
  readonly group: string;
  readonly start: number;
  readonly vector: readonly number[];
  readonly failed: boolean;
  readonly warmUp: boolean;
}

type ScoredPredictor = Exclude<BudgetedPredictor, 'shadow-reference'>;

/**
 * One budgeted predictor at one budget in its own loop: its own per-group histories, cuts and
 * stops, and (logistic regression) its own rows. `T` is what a window keeps of a deployment to
 * re-score it: its inputs and vector (Deploy Guard, re-scored by each promoted model), the vector
 * (logistic regression, re-scored by each refit), or nothing.
 */
class ScoredLoop<T> {
  readonly tally = new Tally();
  readonly cuts = new Map<string, { readonly window: ScoreWindow<T>; readonly cut: BudgetCut }>();
  readonly pooled = new ScoreWindow<T>();
  rows: Row[] = [];
  private readonly histories = new Map<string, ObservedHistory>();
  /** A seed per loop, so that two loops break the same tie differently. */
  private readonly seed: number;

  constructor(
    readonly predictor: ScoredPredictor,
    readonly budget: BudgetSetting,
    private readonly historyRead: number,
    /** Stop a deployment whose score equals the cut with the probability that holds the budget (the heuristic's few distinct scores). */
    private readonly breakTies: boolean,
    /** The key of a group's cut: its own, or one for the whole installation. */
    private readonly cutKey: (group: string) => string = (group) => group,
  ) {
    this.seed = hash(`${predictor}/${budget}`, 0x9e3779b9);
  }

  history(group: string): ObservedHistory {
    return historyOf(this.histories, group, this.historyRead);
  }

  groupCut(group: string, budget: number): { readonly window: ScoreWindow<T>; readonly cut: BudgetCut } {
    let entry = this.cuts.get(group);
    if (!entry) {
      const window = new ScoreWindow<T>();
      entry = { window, cut: new BudgetCut(budget, window) };
      this.cuts.set(group, entry);
    }
    return entry;
  }

  /**
   * Decides as predict does: the group's own cut, or the pooled quantile at the budget while the
   * group has none yet (handlers/cuts.ts decisionCut); then the score joins the pooled window and
   * the group's, and the group's cut moves (recordScore). In the warm-up the decision is a would-be
   * stop, counted by the cut as predict counts it in shadow mode. Returns whether the cut was reached.
   */
  decide(deployment: DeploymentStart, probability: number, item: T, budget: number): boolean {
    const { window, cut } = this.groupCut(this.cutKey(deployment.group), budget);
    cut.setBudget(budget);
    const value = cut.cut ?? this.pooled.upperQuantile(cut.budget) ?? null;
    let reached = value !== null && Math.fround(probability) >= value;
    if (reached && this.breakTies && Math.fround(probability) === value) {
      const over = cut.cut !== null && cut.cutSource === 'group' ? window : this.pooled;
      const share = cut.cut === null ? cut.budget : cut.effectiveBudget;
      reached = unitHash(deployment.id, this.seed) < tieShare(over, value as number, share);
    }
    this.pooled.push(probability, item);
    window.push(probability, item);
    cut.observe(reached, value !== null, this.pooled);
    return reached;
  }

  /** Every window re-scored (the pooled one first, as predict re-scores it first), every cut taken again. */
  rescore(scores: ReadonlyMap<T, number>): void {
    const lookup = (item: T) => scores.get(item);
    this.pooled.rescore(lookup);
    for (const { window, cut } of this.cuts.values()) {
      window.rescore(lookup);
      cut.refresh(this.pooled);
    }
  }

  /** What the windows hold, each once (the pooled window shares items with the groups'). */
  items(): Set<T> {
    const items = new Set<T>();
    this.pooled.forEachItem((item) => items.add(item));
    for (const { window } of this.cuts.values()) window.forEachItem((item) => items.add(item));
    return items;
  }
}

/**
 * The shadow reference: the serving model on a history with every outcome known (including those it
 * would have stopped); one window per group, shared by its budgets' cuts, since its scores do not
 * depend on its decisions. Not achievable: no policy in the loop sees the outcome of a deployment
 * it stopped.
 */
class ShadowLoop {
  readonly tallies: Tally[];
  readonly cuts = new Map<string, { readonly window: ScoreWindow<Served>; readonly cuts: readonly BudgetCut[] }>();
  readonly pooled = new ScoreWindow<Served>();
  private readonly histories = new Map<string, ObservedHistory>();

  constructor(
    readonly budgets: readonly number[],
    private readonly historyRead: number,
    private readonly cutKey: (group: string) => string = (group) => group,
  ) {
    this.tallies = budgets.map(() => new Tally());
  }

  history(group: string): ObservedHistory {
    return historyOf(this.histories, group, this.historyRead);
  }

  /** Would-be stops, one per budget. */
  decide(group: string, item: Served, probability: number): boolean[] {
    const key = this.cutKey(group);
    let entry = this.cuts.get(key);
    if (!entry) {
      const window = new ScoreWindow<Served>();
      entry = { window, cuts: this.budgets.map((budget) => new BudgetCut(budget, window)) };
      this.cuts.set(key, entry);
    }
    const single = Math.fround(probability);
    const decisions = entry.cuts.map((cut) => cut.cut ?? this.pooled.upperQuantile(cut.budget) ?? null);
    this.pooled.push(probability, item);
    entry.window.push(probability, item);
    return entry.cuts.map((cut, index) => {
      const value = decisions[index];
      const reached = value !== null && single >= value;
      cut.observe(reached, value !== null, this.pooled);
      return reached;
    });
  }

  rescore(scores: ReadonlyMap<Served, number>): void {
    const lookup = (item: Served) => scores.get(item);
    this.pooled.rescore(lookup);
    for (const { window, cuts } of this.cuts.values()) {
      window.rescore(lookup);
      for (const cut of cuts) cut.refresh(this.pooled);
    }
  }

  items(): Set<Served> {
    const items = new Set<Served>();
    this.pooled.forEachItem((item) => items.add(item));
    for (const { window } of this.cuts.values()) window.forEachItem((item) => items.add(item));
    return items;
  }
}

/**
 * Parrot in the loop: a group's next deployment is stopped when the group's latest finished
 * deployment was let through and failed. A deployment Parrot stopped finishes at once with an
 * unknown outcome, so the one after it goes through: Parrot repeats only outcomes it saw.
 */
class ParrotLoop {
  readonly tally = new Tally();
  /** Per group: whether its latest finished deployment was let through and failed. */
  private readonly latestFailed = new Map<string, boolean>();
  decided = 0;
  stopped = 0;

  decide(deployment: DeploymentStart): boolean {
    const stop = !deployment.warmUp && this.latestFailed.get(deployment.group) === true;
    if (stop) this.latestFailed.set(deployment.group, false);
    if (!deployment.warmUp) {
      this.decided += 1;
      if (stop) this.stopped += 1;
    }
    return stop;
  }

  /** A let-through deployment finished. */
  finish(group: string, failed: boolean): void {
    this.latestFailed.set(group, failed);
  }

  /** Its running stop rate over the reported deployments, within the block budget's bounds; the default budget before any. */
  rate(): number {
    if (this.decided === 0) return BLOCK_BUDGET.default;
    return Math.min(Math.max(this.stopped / this.decided, BLOCK_BUDGET.min), BLOCK_BUDGET.max);
  }
}

/** What a deployment's start left for its finish. */
interface Pending {
  readonly deployment: DeploymentStart;
  readonly parrotStopped: boolean;
  /** Per scored loop. */
  readonly stopped: Uint8Array;
  /** Per scored loop: its logistic-regression vector (its training row), for the loops that have one. */
  readonly vectors: readonly (readonly number[] | undefined)[];
  /** Per shadow budget. */
  readonly shadowStopped: readonly boolean[];
}

/** The heuristic's risk: the observed recent failure rate plus whether the last observed deployment failed (missing as 0). */
export function heuristicRisk(history: { readonly failureRateLast5?: number; readonly previousFailed?: number }): number {
  return (history.failureRateLast5 ?? 0) + (history.previousFailed ?? 0);
}

/**
 * The fair baselines, each in its own loop, driven by the replay.
 *
 * - `parrot-in-loop` (ParrotLoop): stops after a let-through deployment that failed; natural rate.
 * - `deploy-guard` at the budgets other than the configured one, and at Parrot's running rate: its
 *   own histories, scored by the serving model, decided by its own cuts. These variants use the
 *   serving models the configured run trained and promoted, not models retrained on their own rows:
 *   they show what the budget changes, not what a different loop would have learned.
 * - `heuristic`: heuristicRisk of its own observed history. Its scores take few distinct values, so
 *   a deployment whose score equals the cut is stopped with the probability that holds the budget
 *   (a deterministic hash of the deployment id), or a group whose history froze after its stops would
 *   tie at the cut and be stopped for good.
 * - `logistic-regression`: model/logistic.ts fitted on its own rows (let-through deployments with
 *   their outcome), first on the warm-up rows, then at each `onRetrain` on its rows of the last
 *   `retrainingWindowDays` days (warm-up rows included, as the data lake includes them).
 * - `never-retrain`: Deploy Guard's first model for the whole replay, in its own loop.
 * - `shadow-reference`: the serving model on a history with every outcome known; not achievable.
 */
export class InLoopPolicies {
  private readonly loops: ScoredLoop<unknown>[] = [];
  private readonly parrot = new ParrotLoop();
  private readonly shadow: ShadowLoop;
  private readonly pending = new Map<string, Pending>();
  private readonly logistic = new Map<ScoredLoop<unknown>, LogisticModel>();
  private readonly logisticList: FeatureList;
  private readonly first: ScoringModel;
  private serving: ScoringModel;
  private readonly costs: DecisionCosts;
  private readonly historyRead: number;
  private readonly budgets: readonly number[];
  private lastTime = -Infinity;
  /** The loops of each predictor, by index in `loops`. */
  private readonly servingLoops: number[] = [];
  private readonly firstModelLoops: number[] = [];

  constructor(private readonly options: InLoopPoliciesOptions) {
    if (!(options.retrainingWindowDays > 0)) throw new RangeError(`retrainingWindowDays must be a positive number of days, got ${options.retrainingWindowDays}`);
    this.first = options.firstModel;
    this.serving = options.servingModel ?? options.firstModel;
    this.costs = options.costs ?? DEFAULT_COSTS;
    this.historyRead = options.historyRead ?? DEFAULT_HISTORY_READ;
    this.budgets = [...new Set(options.budgets ?? REPORTED_BUDGETS)].map((budget) => checkBlockBudget(budget, 'an in-loop budget'));
    const extra = options.extraFeatures ?? [];
    this.logisticList = createFeatureList({
      names: [...FEATURE_SCHEMA.map((feature) => feature.name), ...extra],
      extra,
      groups: options.groups ?? options.firstModel.features.groups,
      timeZone: options.firstModel.features.timeZone,
    });

    const cutKey = options.cutScope === 'installation' ? () => INSTALLATION_CUT : (group: string) => group;
    const skipped = new Set(options.skipDeployGuardBudgets ?? []);
    const atParrotRate = new Set<BudgetedPredictor>(options.atParrotRate ?? ['deploy-guard']);
    const predictors: ScoredPredictor[] = ['deploy-guard', 'heuristic', 'logistic-regression', 'never-retrain'];
    for (const predictor of predictors) {
      const budgets: BudgetSetting[] = this.budgets.filter((budget) => predictor !== 'deploy-guard' || !skipped.has(budget));
      if (atParrotRate.has(predictor)) budgets.push('parrot-rate');
      for (const budget of budgets) {
        if (predictor === 'deploy-guard') this.servingLoops.push(this.loops.length);
        if (predictor === 'never-retrain') this.firstModelLoops.push(this.loops.length);
        this.loops.push(new ScoredLoop(predictor, budget, this.historyRead, predictor === 'heuristic', cutKey));
      }
    }
    this.shadow = new ShadowLoop(this.budgets, this.historyRead, cutKey);

    if (options.warmUpDeployments) {
      const rows = this.replayWarmUp(options.warmUpDeployments, options.finishAfterMs ?? DEFAULT_FINISH_AFTER_MS);
      if (!rows.labels.includes(true) || !rows.labels.includes(false)) {
        throw new Error('warmUpDeployments: logistic regression cannot be fitted on them: they need failed and succeeded deployments');
      }
      const model = fitLogisticRegression(this.logisticList, rows.vectors, rows.labels);
      for (const loop of this.loops) if (loop.predictor === 'logistic-regression') this.logistic.set(loop, model);
    }
  }

  /** The (predictor, budget) runs of this instance, in results() order. */
  get runs(): readonly Run[] {
    return [
      { predictor: 'parrot-in-loop', budget: null },
      ...this.loops.map((loop) => ({ predictor: loop.predictor, budget: loop.budget })),
      ...this.budgets.map((budget) => ({ predictor: 'shadow-reference' as const, budget })),
    ];
  }

  /** A deployment starts: every policy scores it and stops it or lets it through. */
  onStart(deployment: DeploymentStart): void {
    this.advance(deployment.start, 'onStart');
    if (this.pending.has(deployment.id)) throw new Error(`deployment ${deployment.id} started twice (deployment ids must be unique)`);
    const warmUp = deployment.warmUp === true;
    if (!warmUp) this.fitLogisticOnWarmUp();

    // Parrot first: the parrot-rate budgets follow its rate up to the deployment before this one.
    const parrotRate = this.parrot.rate();
    const parrotStopped = this.parrot.decide(deployment);

    const inputs = this.loops.map((loop) => this.inputs(deployment, loop.history(deployment.group), loop.predictor !== 'heuristic'));
    const shadowServed = served(this.serving.features, this.inputs(deployment, this.shadow.history(deployment.group), true));
    const servingItems = this.servingLoops.map((index) => served(this.serving.features, inputs[index]));
    const firstItems = this.firstModelLoops.map((index) => served(this.first.features, inputs[index]));
    // The XGBoost models score their loops' vectors in one batch each, in one batch together while the first model serves.
    let serving: Float64Array;
    let firstModel: Float64Array;
    if (this.serving === this.first) {
      const both = predictAll(this.first, [...servingItems, shadowServed, ...firstItems]);
      serving = both.subarray(0, servingItems.length + 1);
      firstModel = both.subarray(servingItems.length + 1);
    } else {
      serving = predictAll(this.serving, [...servingItems, shadowServed]);
      firstModel = predictAll(this.first, firstItems);
    }

    const stopped = new Uint8Array(this.loops.length);
    const vectors: (readonly number[] | undefined)[] = new Array(this.loops.length);
    this.loops.forEach((loop, index) => {
      let probability: number | undefined;
      let item: unknown = null;
      switch (loop.predictor) {
        case 'deploy-guard': {
          const position = this.servingLoops.indexOf(index);
          probability = serving[position];
          item = servingItems[position];
          break;
        }
        case 'never-retrain':
          probability = firstModel[this.firstModelLoops.indexOf(index)];
          break;
        case 'heuristic':
          probability = heuristicRisk(inputs[index].history);
          break;
        case 'logistic-regression': {
          const vector = buildFeatureVector(this.logisticList, inputs[index]);
          vectors[index] = vector;
          item = vector;
          // Before its first fit logistic regression has no model: it assesses nothing.
          probability = this.logistic.get(loop)?.predict(vector);
          break;
        }
      }
      if (probability === undefined) return;
      checkProbability(probability, loop.predictor, deployment.id);
      const budget = loop.budget === 'parrot-rate' ? parrotRate : loop.budget;
      if (loop.decide(deployment, probability, item, budget) && !warmUp) {
        stopped[index] = 1;
        // Stopped: CodeDeploy reports it Stopped now, and the history gets it with an unknown outcome.
        loop.history(deployment.group).record({ id: deployment.id, start: deployment.start, author: deployment.author });
      }
    });

    const shadowProbability = serving[serving.length - 1];
    checkProbability(shadowProbability, 'shadow-reference', deployment.id);
    const shadowStopped = this.shadow.decide(deployment.group, shadowServed, shadowProbability);
    this.pending.set(deployment.id, { deployment, parrotStopped, stopped, vectors, shadowStopped: warmUp ? [] : shadowStopped });
  }

  /** The deployment finished: the policies that let it through observe its outcome; their stops stay unknown. */
  onFinish(id: string, failed: boolean, at: number): void {
    this.advance(at, 'onFinish');
    const pending = this.pending.get(id);
    if (!pending) throw new Error(`deployment ${id} finished but never started (call onStart first)`);
    this.pending.delete(id);
    const { deployment } = pending;
    const warmUp = deployment.warmUp === true;
    const finished = { id, start: deployment.start, failed, author: deployment.author };

    if (!pending.parrotStopped) this.parrot.finish(deployment.group, failed);
    if (!warmUp) this.parrot.tally.add(pending.parrotStopped, failed);

    this.loops.forEach((loop, index) => {
      const stopped = pending.stopped[index] === 1;
      if (!stopped) {
        loop.history(deployment.group).record(finished);
        const vector = pending.vectors[index];
        if (vector) loop.rows.push({ id, group: deployment.group, start: deployment.start, vector, failed, warmUp });
      }
      if (!warmUp) loop.tally.add(stopped, failed);
    });

    this.shadow.history(deployment.group).record(finished);
    if (!warmUp) this.shadow.tallies.forEach((tally, index) => tally.add(pending.shadowStopped[index], failed));
  }

  /** The warm-up is over: logistic regression is fitted on its warm-up rows, if it was not yet. */
  onWarmUpFinished(at: number): void {
    this.advance(at, 'onWarmUpFinished');
    this.fitLogisticOnWarmUp();
  }

  /** Deploy Guard started a training job: each logistic regression refits on its own rows of the window. */
  onRetrain(at: number): void {
    this.advance(at, 'onRetrain');
    const minimum = this.options.minimumTrainingRows ?? DEFAULT_MINIMUM_REFIT_ROWS;
    for (const loop of this.loops) {
      if (loop.predictor !== 'logistic-regression') continue;
      const rows = this.windowRows(loop, at);
      // Older rows never enter a window again (retraining windows only move forward), once the
      // warm-up rows have served the first fit.
      if (this.logistic.has(loop)) loop.rows = [...rows];
      const labels = rows.map((row) => row.failed);
      // As drift starts no job on a window with too few rows; and one class cannot be fitted.
      if (rows.length < minimum || !labels.includes(true) || !labels.includes(false)) continue;
      // Started from the loop's current fit: the window moved a little, the optimum with it.
      const current = this.logistic.get(loop);
      const model = fitLogisticRegression(this.logisticList, rows.map((row) => row.vector), labels, current ? { start: current } : {});
      this.logistic.set(loop, model);
      const typed = loop as ScoredLoop<readonly number[]>;
      typed.rescore(new Map([...typed.items()].map((vector) => [vector, model.predict(vector)])));
    }
  }

  /**
   * Deploy Guard's serving model changed: its variants and the shadow reference score with it from
   * now on, and their windows are re-scored (vectors rebuilt from the kept inputs for the new model's
   * feature list, so features are matched by name and groups by name).
   */
  onPromotion(model: ScoringModel, at: number): void {
    this.advance(at, 'onPromotion');
    this.serving = model;
    const loops = this.servingLoops.map((index) => this.loops[index] as ScoredLoop<Served>);
    const items = new Set<Served>(this.shadow.items());
    for (const loop of loops) for (const item of loop.items()) items.add(item);
    const list = [...items];
    const probabilities = predictAll(model, list);
    const scores = new Map(list.map((item, index) => [item, probabilities[index]]));
    for (const loop of loops) loop.rescore(scores);
    this.shadow.rescore(scores);
  }

  // What a run knows, for tests and for explaining a report -----------------------------------

  /** The runs that stop a deployment which has started and not finished yet. */
  stops(id: string): readonly Run[] {
    const pending = this.pending.get(id);
    if (!pending) throw new Error(`deployment ${id} is not running (stops are known from its start to its finish)`);
    return [
      ...(pending.parrotStopped ? [{ predictor: 'parrot-in-loop' as const, budget: null }] : []),
      ...this.loops.flatMap((loop, index) => (pending.stopped[index] === 1 ? [{ predictor: loop.predictor, budget: loop.budget }] : [])),
      ...this.budgets.flatMap((budget, index) => (pending.shadowStopped[index] ? [{ predictor: 'shadow-reference' as const, budget }] : [])),
    ];
  }

  /** The history features a run computes for a deployment of `group` starting at `at`. */
  historyFeatures(run: BudgetedRun, group: string, at: number, author?: string): HistoryFeatures {
    const history = run.predictor === 'shadow-reference' ? this.shadow.history(group) : this.loop(run).history(group);
    return history.features(author === undefined ? { time: at } : { time: at, author });
  }

  /** A run's current cut for `group` (null before it has one). */
  cut(run: BudgetedRun, group: string): number | null {
    if (run.predictor === 'shadow-reference') return this.shadow.cuts.get(group)?.cuts[this.budgets.indexOf(run.budget as number)].cut ?? null;
    return this.loop(run).cuts.get(group)?.cut.cut ?? null;
  }

  /**
   * The rows logistic regression at `budget` would be refitted on at `at`: its let-through
   * deployments of the window, warm-up excepted (rows older than the last refit's window are gone).
   */
  trainingRows(budget: BudgetSetting, at: number): readonly { readonly id: string; readonly start: number; readonly failed: boolean }[] {
    return this.windowRows(this.loop({ predictor: 'logistic-regression', budget }), at).map(({ id, start, failed }) => ({ id, start, failed }));
  }

  /** Every (predictor, budget) with its counts and figures, and the caught-versus-blocked curves. */
  results(): InLoopResults {
    const parrotRate = this.parrot.rate();
    const entries: ComparisonEntry[] = [
      comparisonEntry('parrot-in-loop', { budget: null, budget_kind: 'natural' }, this.parrot.tally, this.costs),
      ...this.loops.map((loop) =>
        comparisonEntry(
          loop.predictor,
          loop.budget === 'parrot-rate' ? { budget: parrotRate, budget_kind: 'parrot-rate' } : { budget: loop.budget, budget_kind: 'fixed' },
          loop.tally,
          this.costs,
        ),
      ),
      ...this.budgets.map((budget, index) => comparisonEntry('shadow-reference', { budget, budget_kind: 'fixed' }, this.shadow.tallies[index], this.costs)),
    ];
    return { entries, curves: comparisonCurves(entries) };
  }

  private loop(run: BudgetedRun): ScoredLoop<unknown> {
    const found = this.loops.find((loop) => loop.predictor === run.predictor && loop.budget === run.budget);
    if (!found) throw new Error(`no ${run.predictor} run at budget ${run.budget} (runs: ${this.runs.map((each) => `${each.predictor} ${each.budget}`).join(', ')})`);
    return found;
  }

  private windowRows(loop: ScoredLoop<unknown>, at: number): readonly Row[] {
    const since = at - this.options.retrainingWindowDays * DAY_MS;
    return loop.rows.filter((row) => row.start >= since);
  }

  /**
   * The first fit of logistic regression, on the rows it observed so far (the warm-up's). Before it,
   * logistic regression assessed nothing, so it stopped nothing and all its loops hold the same rows:
   * one fit serves them all. Its windows are filled with those rows, scored by the fit.
   */
  private fitLogisticOnWarmUp(): void {
    const unfitted = this.loops.filter((loop) => loop.predictor === 'logistic-regression' && !this.logistic.has(loop)) as ScoredLoop<readonly number[]>[];
    if (unfitted.length === 0) return;
    const rows = unfitted[0].rows;
    const labels = rows.map((row) => row.failed);
    if (!labels.includes(true) || !labels.includes(false)) return;
    const model = fitLogisticRegression(this.logisticList, rows.map((row) => row.vector), labels);
    for (const loop of unfitted) {
      this.logistic.set(loop as ScoredLoop<unknown>, model);
      for (const row of loop.rows) {
        const probability = model.predict(row.vector);
        loop.pooled.push(probability, row.vector);
        loop.groupCut(row.group, loop.budget === 'parrot-rate' ? this.parrot.rate() : loop.budget).window.push(probability, row.vector);
      }
      for (const { cut } of loop.cuts.values()) cut.refresh(loop.pooled);
    }
  }

  /** The warm-up deployments' vectors with every outcome known, each joining the history when it finishes. */
  private replayWarmUp(deployments: readonly (DeploymentStart & { readonly failed: boolean })[], finishAfterMs: number): { vectors: (readonly number[])[]; labels: boolean[] } {
    const ordered = [...deployments].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const histories = new Map<string, ObservedHistory>();
    const vectors: (readonly number[])[] = [];
    const labels: boolean[] = [];
    let finished = 0;
    for (const deployment of ordered) {
      // Durations are equal, so deployments finish in start order.
      for (; finished < vectors.length && ordered[finished].start + finishAfterMs <= deployment.start; finished += 1) {
        const done = ordered[finished];
        historyOf(histories, done.group, this.historyRead).record({ id: done.id, start: done.start, failed: done.failed, author: done.author });
      }
      vectors.push(buildFeatureVector(this.logisticList, this.inputs(deployment, historyOf(histories, deployment.group, this.historyRead), true)));
      labels.push(deployment.failed);
    }
    return { vectors, labels };
  }

  private inputs(deployment: DeploymentStart, history: ObservedHistory, withAuthor: boolean): FeatureInputs {
    return {
      group: deployment.group,
      time: deployment.start,
      change: deployment.change,
      history: history.features({ time: deployment.start, author: withAuthor ? deployment.author : undefined }),
      extra: deployment.extra,
    };
  }

  private advance(at: number, call: string): void {
    if (!Number.isFinite(at)) throw new RangeError(`${call}: the time must be milliseconds since the epoch, got ${at}`);
    if (at < this.lastTime) {
      throw new RangeError(
        `${call} at ${new Date(at).toISOString()} comes after a call at ${new Date(this.lastTime).toISOString()}: ` +
          'drive the policies in virtual-time order (the timing rule depends on it)',
      );
    }
    this.lastTime = at;
  }
}

/**
 * A deployment as a serving-model window keeps it: its feature inputs, so that a promoted model with
 * another feature list can build its own vector (features and groups matched by name), and the
 * vector for the list it was last scored with.
 */
interface Served {
  readonly inputs: FeatureInputs;
  list: FeatureList;
  vector: readonly number[];
}

function served(list: FeatureList, inputs: FeatureInputs): Served {
  return { inputs, list, vector: buildFeatureVector(list, inputs) };
}

/**
 * A model's probabilities of the deployments: each distinct vector scored once (the loops of one
 * deployment often agree), in one batch when the model scores batches.
 */
function predictAll(model: ScoringModel, items: readonly Served[]): Float64Array {
  const probabilities = new Float64Array(items.length);
  if (items.length === 0) return probabilities;
  const list = model.features;
  const listKey = featureListKey(list);
  // Which distinct vector each item has: found among those with the same numeric hash.
  const slot = new Int32Array(items.length);
  const distinct: (readonly number[])[] = [];
  const buckets = new Map<number, number[]>();
  items.forEach((item, index) => {
    if (item.list !== list) {
      if (featureListKey(item.list) !== listKey) item.vector = buildFeatureVector(list, item.inputs);
      item.list = list;
    }
    const vector = item.vector;
    const hash = vectorHash(vector);
    const bucket = buckets.get(hash);
    let found = bucket?.find((candidate) => sameVector(distinct[candidate], vector));
    if (found === undefined) {
      found = distinct.push(vector) - 1;
      if (bucket) bucket.push(found);
      else buckets.set(hash, [found]);
    }
    slot[index] = found;
  });
  let scores: ArrayLike<number>;
  if (model.predictBatch) {
    const columns = list.features.length;
    const values = new Float32Array(distinct.length * columns);
    distinct.forEach((vector, row) => values.set(vector, row * columns));
    scores = model.predictBatch(values, distinct.length, columns);
  } else {
    scores = distinct.map((vector) => model.predict(vector));
  }
  for (let index = 0; index < items.length; index += 1) probabilities[index] = scores[slot[index]];
  return probabilities;
}

const listKeys = new WeakMap<FeatureList, string>();

/** What makes two feature lists build the same vectors: their features, groups and time zone. */
function featureListKey(list: FeatureList): string {
  let key = listKeys.get(list);
  if (key === undefined) {
    key = JSON.stringify([list.timeZone, list.groups, list.features.map((feature) => [feature.name, feature.source])]);
    listKeys.set(list, key);
  }
  return key;
}

/** A number that equal vectors share (missing values included). */
function vectorHash(vector: readonly number[]): number {
  let hash = 0;
  for (let index = 0; index < vector.length; index += 1) {
    const value = vector[index];
    hash = hash * 1.000_003 + (value === value ? value : -0.123_456_7) * (index + 1);
  }
  return hash;
}

/** Equal vectors, NaN (missing) equal to NaN. */
function sameVector(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index += 1) if (!(a[index] === b[index] || (a[index] !== a[index] && b[index] !== b[index]))) return false;
  return true;
}

function checkProbability(probability: number, predictor: PredictorName, id: string): void {
  if (!Number.isFinite(probability)) throw new RangeError(`${predictor} scored deployment ${id} ${probability}: its model must answer a finite probability`);
}

function historyOf(histories: Map<string, ObservedHistory>, group: string, read: number): ObservedHistory {
  let found = histories.get(group);
  if (!found) {
    found = new ObservedHistory(read);
    histories.set(group, found);
  }
  return found;
}

/**
 * The chance that a score equal to the cut is stopped: the budget's share of the window, less the
 * scores above the cut, spread over the scores at it.
 */
function tieShare(window: ScoreWindow<unknown>, cut: number, share: number): number {
  const above = window.countAbove(cut);
  const at = window.countAtLeast(cut) - above;
  if (at === 0) return 1;
  return Math.min(1, Math.max(0, (share * window.size - above) / at));
}

/** 32-bit FNV-1a of a text, from a seed. */
function hash(text: string, seed: number): number {
  let value = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** A uniform number in [0, 1) determined by the text and the seed. */
function unitHash(text: string, seed: number): number {
  let value = hash(text, seed);
  // Finalizer (murmur3's fmix32): FNV alone spreads the low bits of similar ids poorly.
  value ^= value >>> 16;
  value = Math.imul(value, 0x85ebca6b) >>> 0;
  value ^= value >>> 13;
  value = Math.imul(value, 0xc2b2ae35) >>> 0;
  value ^= value >>> 16;
  return (value >>> 0) / 4294967296;
}
