import * as z from 'zod';
import { DECISIONS, GUARD_MODES, type Decision, type GuardMode } from '../events/emitted';
import { formatPath } from '../events/validation';
import { BLOCK_BUDGET, REPORTED_BUDGETS } from '../model/block-budget';
import { graduation } from '../model/graduation';
import { rocAuc, type DecisionCosts } from '../model/metrics';
import { DEFAULT_COSTS } from '../model/training';

/**
 * The backtest report: what the engine records while it replays a deployment history, and the pure
 * aggregation of those records into `report.json`. No I/O, no clock: every time comes from the records.
 *
 * Vocabulary used throughout:
 * - a deployment is *flagged* (blocked by the policy) when Deploy Guard's decision is `rollback`, in
 *   shadow mode too: the block budget, the comparison and the loop health are about decisions;
 * - a rollback is *requested* when the flag is enforced; the deployment is *stopped* when the
 *   CodeDeploy stand-in stopped it (a few finish before the stop arrives);
 * - *caught* = flagged and failed; caught rate = caught / failures; precision = caught / flagged;
 * - *net benefit* = costs.failedDeployment x caught - costs.needlessRollback x good deployments
 *   flagged (no guard = 0); the costs report the decisions, they do not pick the cut.
 * Ratios are null when their denominator is 0.
 */

// ---------------------------------------------------------------------------------------------
// Inputs (fed by the backtest engine)

/** One replayed (reported, not warm-up) deployment, as the engine saw it end to end. */
export interface ReplayedDeployment {
  readonly deploymentId: string;
  readonly application: string;
  /** The group key `application/deploymentGroup` (handlers/config.ts `groupKey`). */
  readonly deploymentGroup: string;
  /** When the deployment started, ms since the epoch (virtual time of the replay). */
  readonly startedAt: number;
  /** The recorded real outcome from the history: true when it failed. */
  readonly failed: boolean;
  /** The served model's probability of failure; null when no model scored it (none yet, endpoint error). */
  readonly probability: number | null;
  /** The cut the decision was taken with (stop when the probability reaches it); null when there was none yet. */
  readonly cut: number | null;
  /** The group's block budget the cut held; null when a fixed threshold (then `cut`) decided. */
  readonly blockBudget: number | null;
  readonly decision: Decision;
  /** Whether the decision was acted on (false in shadow mode). */
  readonly enforced: boolean;
  /** A "Deployment Rollback Requested" event was emitted. */
  readonly rollbackRequested: boolean;
  /** The CodeDeploy stand-in stopped the deployment. */
  readonly stopped: boolean;
  /** The served model that scored it; null when none did. */
  readonly modelVersion: string | null;
  /** History features in the served feature row (0 when no row was served). */
  readonly historyFeaturesServed: number;
  /** Of those, how many differ from their value with every earlier outcome known (full information). */
  readonly historyFeaturesDiffering: number;
  /** A would-be stop let through at random so that its outcome is observed (exploration). */
  readonly explored: boolean;
}

export const TIMELINE_KINDS = ['drift-alarm', 'retraining-started', 'promoted', 'rejected'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * What started a training job: an alarm going into ALARM, or the retraining schedule. The shape of
 * the "Model Retraining Started" event's `trigger` (events/emitted.ts), which may be passed as it is
 * (the schedule's other fields are not reported).
 */
export type RetrainingTriggerInput = { readonly type: 'alarm'; readonly alarmName: string } | { readonly type: 'schedule' };

/** One event of the model's timeline. */
export type TimelineEvent =
  | { readonly at: number; readonly kind: 'drift-alarm'; readonly alarmName: string; readonly detail?: string }
  | { readonly at: number; readonly kind: 'retraining-started'; readonly trigger: RetrainingTriggerInput; readonly modelVersion?: string; readonly detail?: string }
  | { readonly at: number; readonly kind: 'promoted' | 'rejected'; readonly modelVersion?: string; readonly detail?: string };

/** An event that EventBridge (the local bus) gave up delivering. */
export interface DeadLetter {
  readonly at: number;
  readonly rule: string;
  readonly target: string;
  readonly reason: string;
}

/** How the replay was run, as the engine reports it: a block budget, or (the expert override) a fixed threshold. */
export interface GenerationSettings {
  readonly mode: GuardMode;
  /** The configured block budget (share of each group's deployments); null when a fixed threshold decided. */
  readonly blockBudget: number | null;
  /** The fixed threshold, only when one decided instead of the block budget. */
  readonly threshold?: number;
  /** What a missed failure and a needless stop cost, for net benefit. @default DEFAULT_COSTS (3:1) */
  readonly costs?: DecisionCosts;
  /** Where the history came from (a path or a dataset name). */
  readonly dataSource: string;
  /** The maximum number of deployments replayed; null for all. */
  readonly limit: number | null;
  /** Who trained the models ("embedded", "xgboost 1.7.4"), when the run says. */
  readonly trainer?: string;
}

/** The predictors of `comparison`, in the order the report lists them. */
export const COMPARISON_PREDICTORS = ['deploy-guard', 'parrot-in-loop', 'heuristic', 'logistic-regression', 'never-retrain', 'shadow-reference'] as const;
export type ComparisonPredictor = (typeof COMPARISON_PREDICTORS)[number];

/** The fair baselines: achievable policies, each run in its own loop at Deploy Guard's block budget. */
export const FAIR_BASELINES = ['heuristic', 'logistic-regression', 'never-retrain'] as const satisfies readonly ComparisonPredictor[];

/**
 * What a comparison entry's budget is: a block budget (`fixed`), Parrot's realized rate in the loop
 * (`parrot-rate`: Deploy Guard and the others run at Parrot's rate), or none (`natural`: Parrot
 * stops whenever the group's latest observed deployment failed; Deploy Guard with a fixed threshold).
 */
export const BUDGET_KINDS = ['fixed', 'parrot-rate', 'natural'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/**
 * One predictor at one budget, over the reported deployments: local/in-loop-policies.ts
 * `ComparisonEntry`, which may be passed as it is. The rates and net figures must follow from the
 * counts and the report's costs.
 */
export interface ComparisonEntryInput {
  readonly predictor: ComparisonPredictor;
  /** The block budget; Parrot's realized rate for `parrot-rate`; null for `natural`. */
  readonly budget: number | null;
  readonly budget_kind: BudgetKind;
  readonly deployments: number;
  /** Stopped by the policy. */
  readonly blocked: number;
  readonly failures: number;
  /** Stopped and would have failed. */
  readonly caught: number;
  readonly blocked_rate: number | null;
  readonly caught_rate: number | null;
  readonly precision: number | null;
  readonly net_benefit: number;
  readonly net_per_stop: number | null;
  /** False for the shadow reference only: it reads outcomes no policy in the loop could have seen. */
  readonly achievable: boolean;
}

/** One point of a predictor's caught-versus-blocked curve (local/in-loop-policies.ts `CurvePoint`). */
export interface CurvePointInput {
  readonly blocked_rate: number | null;
  readonly caught_rate: number | null;
  readonly budget?: number | null;
  readonly budget_kind?: BudgetKind;
}

export type ComparisonCurvesInput = Readonly<Partial<Record<ComparisonPredictor, readonly CurvePointInput[]>>>;

/** Consecutive windows of `size` deployments, or one window per calendar month (UTC). */
export type WindowSpec = { readonly by: 'deployments'; readonly size: number } | { readonly by: 'month' };

export const DEFAULT_WINDOW: WindowSpec = { by: 'deployments', size: 500 };

/** Number of equal-width bins over [0, 1] of the risk-score histograms. */
export const SCORE_BINS = 20;

/** Significant digits a fixed threshold is reported with (a model's threshold has no more meaning). */
export const THRESHOLD_DIGITS = 4;

/** The trigger of scheduled retrainings in `retrainings[].trigger`. */
export const SCHEDULE_TRIGGER = 'schedule';

// ---------------------------------------------------------------------------------------------
// Output: report.json

/** What Deploy Guard did over a set of deployments. */
export interface Outcomes {
  readonly deployments: number;
  readonly failures: number;
  /** Deployments the predictor scored. */
  readonly assessed: number;
  /** Decided `rollback`, enforced or not (in shadow mode: would have stopped). */
  readonly flagged: number;
  /** Flagged and failed (caught, or would have been). */
  readonly flagged_failures: number;
  /** Flagged / deployments: the realized block rate. */
  readonly block_rate: number | null;
  readonly rollbacks_requested: number;
  /** Stopped and would have failed. */
  readonly failures_prevented: number;
  /** Stopped and would have succeeded. */
  readonly good_deployments_stopped: number;
  /** Failed and not stopped. */
  readonly failures_missed: number;
  /** Flagged failures / flagged. */
  readonly precision: number | null;
  /** Flagged failures / failures. */
  readonly recall: number | null;
  /** ROC AUC over the scored deployments; null with one class only. */
  readonly auc: number | null;
}

/** One window of the replay: the report's time series. */
export interface ReportWindow {
  /** Start of the window's first deployment (ISO 8601). */
  readonly from: string;
  /** Start of the window's last deployment (ISO 8601). */
  readonly to: string;
  readonly deployments: number;
  readonly failures: number;
  readonly assessed: number;
  readonly auc: number | null;
  readonly flagged: number;
  readonly flagged_failures: number;
  readonly block_rate: number | null;
  /** The median cut the window's decisions were taken with; null when none had a cut. */
  readonly median_cut: number | null;
  readonly rollbacks_requested: number;
  readonly failures_prevented: number;
  readonly good_deployments_stopped: number;
  readonly failures_missed: number;
  /** The model version that scored most of the window's deployments (the later one on a tie). */
  readonly model_version: string | null;
  /** Drift alarms raised from this window's first deployment until the next window's first. */
  readonly drift_alarms: number;
  /** Deployments per risk-score bin (`SCORE_BINS` bins over [0, 1]), scored ones only. */
  readonly score_histogram: { readonly failed: readonly number[]; readonly succeeded: readonly number[] };
}

export interface ReportTimelineEntry {
  readonly at: string;
  readonly model_version: string | null;
  readonly detail: string | null;
}

export interface ReportRetraining extends ReportTimelineEntry {
  /** What started the job. */
  readonly trigger: 'alarm' | typeof SCHEDULE_TRIGGER;
  /** The alarm that started it; null for the schedule. */
  readonly alarm_name: string | null;
  /** The latest ALARM of that alarm at or before the start; null for the schedule, or when the replay saw none. */
  readonly drift_alarm_at: string | null;
}

export interface ReportDeadLetter {
  readonly at: string;
  readonly rule: string;
  readonly target: string;
  readonly reason: string;
}

export interface ReportModelVersion {
  readonly version: string;
  /** Start of the first deployment it scored (ISO 8601). */
  readonly from: string;
  /** Start of the last deployment it scored (ISO 8601). */
  readonly to: string;
  /** Deployments it scored. */
  readonly deployments: number;
  readonly auc: number | null;
}

/** One row of `comparison`: a predictor at a budget. */
export type ReportComparisonEntry = ComparisonEntryInput;

export interface ReportCurvePoint {
  readonly budget: number | null;
  readonly budget_kind: BudgetKind | null;
  readonly blocked_rate: number | null;
  readonly caught_rate: number | null;
}

/** The block budget against what it held. */
export interface ReportPolicy {
  /** The configured block budget; null when a fixed threshold decided. */
  readonly block_budget: number | null;
  /** Flagged / reported deployments (shadow mode too). */
  readonly realized_block_rate: number | null;
  readonly flagged: number;
  readonly deployments: number;
}

/** Whether the loop blinds itself: its stops hide the outcomes its next decisions read. */
export interface LoopHealth {
  /** Runs of consecutive flagged deployments of one group. */
  readonly stop_chains: { readonly chains: number; readonly p90: number | null; readonly longest: number; readonly mean: number | null };
  /** Flagged deployments whose group's previous deployment was flagged too. */
  readonly stops_after_a_stop: { readonly stops: number; readonly after_a_stop: number; readonly share: number | null };
  /** History features in the served rows, and those differing from their full-information value. */
  readonly history_features: { readonly served: number; readonly differing: number; readonly differing_share: number | null };
  /** The data lake (deployments let through, outcome known) against every deployment. */
  readonly failure_rate: { readonly all_deployments: number | null; readonly data_lake: number | null; readonly data_lake_deployments: number };
}

/**
 * Exploration in the report. Its cost: the failures it let through (would-be stops that proceeded
 * and failed). What it bought: the precision and recall of the would-be stops estimated from what
 * the loop could observe (each explored outcome standing for 1/share would-be stops, as
 * record-outcome's EstimatedStops* metrics estimate them in AWS), beside their true values, which
 * only a backtest knows.
 */
export interface ReportExploration {
  /** Would-be stops let through. */
  readonly explored: number;
  /** Of those, the ones that failed: exploration's cost. */
  readonly failures_let_through: number;
  readonly estimated_precision: number | null;
  readonly estimated_recall: number | null;
  /** The would-be stops' precision and recall with every outcome known (not observable in production). */
  readonly true_precision: number | null;
  readonly true_recall: number | null;
}

export interface BacktestReport {
  /** One sentence: does Deploy Guard beat the best fair baseline at the configured budget, and by how much. */
  readonly verdict: string;
  readonly generated_with: {
    readonly mode: GuardMode;
    readonly block_budget: number | null;
    /** Only when a fixed threshold decided, to `THRESHOLD_DIGITS` significant digits. */
    readonly threshold?: number;
    readonly costs: { readonly failed_deployment: number; readonly needless_rollback: number };
    readonly data_source: string;
    readonly limit: number | null;
    /** Who trained the models, when the run said. */
    readonly trainer?: string;
  };
  readonly policy: ReportPolicy;
  /** Every predictor at every budget compared, Deploy Guard at the configured budget included (measured here). */
  readonly comparison: readonly ReportComparisonEntry[];
  /** Per predictor, its caught-versus-blocked points by blocked rate. */
  readonly comparison_curves: Readonly<Partial<Record<ComparisonPredictor, readonly ReportCurvePoint[]>>>;
  readonly loop_health: LoopHealth;
  /** What exploration cost (failures let through) and what it bought (an estimate of the stops' quality from what was observable). */
  readonly exploration: ReportExploration;
  readonly deployments: number;
  readonly assessed: number;
  readonly rollbacks_requested: number;
  readonly failures_prevented: number;
  readonly good_deployments_stopped: number;
  readonly failures_missed: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly auc_over_time: readonly ReportWindow[];
  readonly retrainings: readonly ReportRetraining[];
  readonly promotions: readonly ReportTimelineEntry[];
  readonly rejections: readonly ReportTimelineEntry[];
  readonly dead_letters: readonly ReportDeadLetter[];
  /**
   * What the drift handler decided on each alarm event it was given, with counts: `started` (a
   * training job), `duplicate` (a redelivery), or why it started nothing (`cooldown`,
   * `training-running`, `not-enough-data`, ...). Keys in alphabetical order.
   */
  readonly drift_decisions: Readonly<Record<string, number>>;
  readonly per_group: Readonly<Record<string, Outcomes>>;
  /** Shadow mode only: per group, whether its shadow decisions meet the criteria to move to stop or gate mode (model/graduation.ts). */
  readonly graduation?: Readonly<Record<string, ReportGraduation>>;
  readonly model_versions: readonly ReportModelVersion[];
}

/** A shadow-mode group against the graduation criteria. */
export interface ReportGraduation {
  readonly meets: boolean;
  /** The criteria it does not meet, in words. */
  readonly unmet: readonly string[];
  readonly precision: number | null;
  readonly lift: number | null;
  readonly net_benefit: number;
}

// ---------------------------------------------------------------------------------------------
// Words and numbers, as the verdict, the console and the page write them

/** 38369 -> "38,369". */
export function formatCount(value: number): string {
  const sign = Math.round(value) < 0 ? '-' : '';
  const digits = String(Math.round(Math.abs(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 0.2963 -> "29.6 %"; null -> "—". */
export function formatPercent(rate: number | null, digits = 1): string {
  return rate === null || !Number.isFinite(rate) ? '—' : `${(rate * 100).toFixed(digits)} %`;
}

/** A budget as a person sets it: 0.1 -> "10 %", 0.005 -> "0.5 %", 0.1337 -> "13.4 %". */
export function formatBudget(budget: number): string {
  return `${Number((budget * 100).toFixed(1))} %`;
}

/** {3, 1} -> "3:1". */
export function formatCosts(costs: { readonly failed_deployment: number; readonly needless_rollback: number }): string {
  return `${costs.failed_deployment}:${costs.needless_rollback}`;
}

export const PREDICTOR_LABELS: Readonly<Record<ComparisonPredictor, string>> = {
  'deploy-guard': 'Deploy Guard',
  'parrot-in-loop': 'Parrot in the loop',
  heuristic: 'heuristic',
  'logistic-regression': 'logistic regression',
  'never-retrain': 'never retrain',
  'shadow-reference': 'shadow reference',
};

// ---------------------------------------------------------------------------------------------
// Validation

/** A record the engine handed over that cannot be reported on. */
export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

const nonEmpty = z.string().min(1);
/** ms since the epoch, within the range of a JavaScript Date. */
const millis = z.number().min(-8.64e15).max(8.64e15);
const unit = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const blockBudget = z
  .number()
  .min(BLOCK_BUDGET.min, `a block budget is a share between ${BLOCK_BUDGET.min} and ${BLOCK_BUDGET.max}`)
  .max(BLOCK_BUDGET.max, `a block budget is a share between ${BLOCK_BUDGET.min} and ${BLOCK_BUDGET.max}`);

const deploymentSchema = z
  .object({
    deploymentId: nonEmpty,
    application: nonEmpty,
    deploymentGroup: nonEmpty,
    startedAt: millis,
    failed: z.boolean(),
    probability: unit.nullable(),
    cut: unit.nullable(),
    blockBudget: blockBudget.nullable(),
    decision: z.enum(DECISIONS),
    enforced: z.boolean(),
    rollbackRequested: z.boolean(),
    stopped: z.boolean(),
    modelVersion: nonEmpty.nullable(),
    historyFeaturesServed: count,
    historyFeaturesDiffering: count,
    explored: z.boolean(),
  })
  .strict()
  .superRefine((record, context) => {
    if (!record.deploymentGroup.startsWith(`${record.application}/`) || record.deploymentGroup.length === record.application.length + 1) {
      context.addIssue({
        code: 'custom',
        path: ['deploymentGroup'],
        message: `'${record.deploymentGroup}' is not the group key '${record.application}/<deploymentGroup>'`,
      });
    }
    if (record.rollbackRequested && !(record.decision === 'rollback' && record.enforced)) {
      context.addIssue({ code: 'custom', path: ['rollbackRequested'], message: 'a rollback was requested without an enforced rollback decision' });
    }
    if (record.blockBudget === null && record.cut === null) {
      context.addIssue({ code: 'custom', path: ['cut'], message: 'a deployment without a block budget was decided by a fixed threshold, which is its cut' });
    }
    if (record.historyFeaturesDiffering > record.historyFeaturesServed) {
      context.addIssue({
        code: 'custom',
        path: ['historyFeaturesDiffering'],
        message: `${record.historyFeaturesDiffering} differing history features of ${record.historyFeaturesServed} served`,
      });
    }
  });

const timelineSchema = z.discriminatedUnion('kind', [
  z.object({ at: millis, kind: z.literal('drift-alarm'), alarmName: nonEmpty, detail: z.string().optional() }).strict(),
  z
    .object({
      at: millis,
      kind: z.literal('retraining-started'),
      // The schedule's other fields (rule, period) are accepted as the event has them, and not reported.
      trigger: z.discriminatedUnion('type', [z.object({ type: z.literal('alarm'), alarmName: nonEmpty }), z.object({ type: z.literal('schedule') })]),
      modelVersion: nonEmpty.optional(),
      detail: z.string().optional(),
    })
    .strict(),
  z.object({ at: millis, kind: z.enum(['promoted', 'rejected']), modelVersion: nonEmpty.optional(), detail: z.string().optional() }).strict(),
]);

const deadLetterSchema = z.object({ at: millis, rule: nonEmpty, target: nonEmpty, reason: nonEmpty }).strict();
const driftDecisionSchema = z.string().regex(/^[a-z][a-z-]*$/, 'expected a status or reason such as started or cooldown');

const settingsSchema = z
  .object({
    mode: z.enum(GUARD_MODES),
    blockBudget: blockBudget.nullable(),
    threshold: unit.optional(),
    costs: z.object({ failedDeployment: z.number().positive(), needlessRollback: z.number().positive() }).strict().optional(),
    dataSource: nonEmpty,
    limit: z.number().int().positive().nullable(),
    trainer: nonEmpty.optional(),
  })
  .strict()
  .superRefine((settings, context) => {
    if (settings.blockBudget === null && settings.threshold === undefined) {
      context.addIssue({ code: 'custom', path: ['blockBudget'], message: 'give the block budget, or the fixed threshold that decided instead of one' });
    }
    if (settings.blockBudget !== null && settings.threshold !== undefined) {
      context.addIssue({ code: 'custom', path: ['threshold'], message: 'a fixed threshold decides instead of the block budget: give one of them, with blockBudget null for a threshold' });
    }
  });

const rate = unit.nullable();
const comparisonEntrySchema = z
  .object({
    predictor: z.enum(COMPARISON_PREDICTORS),
    // Parrot's realized rate may be 0 (it never stopped); a fixed budget is held to BLOCK_BUDGET below.
    budget: unit.nullable(),
    budget_kind: z.enum(BUDGET_KINDS),
    deployments: count,
    blocked: count,
    failures: count,
    caught: count,
    blocked_rate: rate,
    caught_rate: rate,
    precision: rate,
    net_benefit: z.number().finite(),
    net_per_stop: z.number().finite().nullable(),
    achievable: z.boolean(),
  })
  .strict();

const curvePointSchema = z.object({ blocked_rate: rate, caught_rate: rate, budget: unit.nullable().optional(), budget_kind: z.enum(BUDGET_KINDS).optional() }).strict();
const curvesSchema = z.partialRecord(z.enum(COMPARISON_PREDICTORS), z.array(curvePointSchema));

function problemsOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${formatPath(issue.path) || '(record)'}: ${issue.message}`).join('; ');
}

function parseInput<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ReportInputError(`report: ${what}: ${problemsOf(result.error)}`);
}

function parseWindow(spec: WindowSpec): WindowSpec {
  if (spec.by === 'month') return spec;
  if (spec.by === 'deployments' && Number.isInteger(spec.size) && spec.size > 0) return spec;
  throw new ReportInputError(`report: window ${JSON.stringify(spec)} must be { by: 'month' } or { by: 'deployments', size: a positive integer }`);
}

/** Equal up to floating-point rounding (rates are quotients, net figures sums of products). */
function agrees(actual: number | null, expected: number | null): boolean {
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

function sameBudget(a: number | null, b: number | null): boolean {
  return a === null || b === null ? a === b : Math.abs(a - b) < 1e-9;
}

/** "heuristic at 10 %", "Parrot in the loop at its natural rate", "Deploy Guard at Parrot's rate (13.4 %)". */
function describeEntry(entry: Pick<ComparisonEntryInput, 'predictor' | 'budget' | 'budget_kind'>): string {
  const name = PREDICTOR_LABELS[entry.predictor] ?? String(entry.predictor);
  if (entry.budget_kind === 'natural' || entry.budget === null) return `${name} at its natural rate`;
  if (entry.budget_kind === 'parrot-rate') return `${name} at Parrot's rate (${formatBudget(entry.budget)})`;
  return `${name} at ${formatBudget(entry.budget)}`;
}

/** Why an entry's figures do not hang together, or undefined when they do. */
function inconsistencyOf(entry: ComparisonEntryInput, costs: DecisionCosts): string | undefined {
  const kindFits = entry.budget_kind === 'natural' ? entry.budget === null : entry.budget !== null;
  if (!kindFits) return `budget: ${entry.budget_kind} takes ${entry.budget_kind === 'natural' ? 'no budget (null)' : 'a budget'}, got ${entry.budget}`;
  if ((entry.predictor === 'parrot-in-loop') !== (entry.budget_kind === 'natural')) {
    return `budget_kind: Parrot in the loop (and only it) stops at its natural rate, got ${entry.budget_kind}`;
  }
  if (entry.budget_kind === 'fixed' && !(entry.budget! >= BLOCK_BUDGET.min && entry.budget! <= BLOCK_BUDGET.max)) {
    return `budget: a block budget is a share between ${BLOCK_BUDGET.min} and ${BLOCK_BUDGET.max}, got ${entry.budget}`;
  }
  if (entry.achievable !== (entry.predictor !== 'shadow-reference')) {
    return `achievable: ${entry.predictor === 'shadow-reference' ? 'the shadow reference reads every outcome and is not achievable' : 'every predictor but the shadow reference runs in its own loop and is achievable'}`;
  }
  if (entry.blocked > entry.deployments) return `blocked: ${entry.blocked} of ${entry.deployments} deployments`;
  if (entry.failures > entry.deployments) return `failures: ${entry.failures} of ${entry.deployments} deployments`;
  if (entry.caught > Math.min(entry.blocked, entry.failures)) return `caught: ${entry.caught} is more than blocked (${entry.blocked}) or failures (${entry.failures})`;
  const net = costs.failedDeployment * entry.caught - costs.needlessRollback * (entry.blocked - entry.caught);
  const expected: readonly [keyof ComparisonEntryInput, number | null, string][] = [
    ['blocked_rate', ratio(entry.blocked, entry.deployments), `blocked ${entry.blocked} of ${entry.deployments} deployments`],
    ['caught_rate', ratio(entry.caught, entry.failures), `caught ${entry.caught} of ${entry.failures} failures`],
    ['precision', ratio(entry.caught, entry.blocked), `caught ${entry.caught} of ${entry.blocked} blocked`],
    ['net_benefit', net, `caught ${entry.caught} of ${entry.blocked} blocked at costs ${costs.failedDeployment}:${costs.needlessRollback}`],
    ['net_per_stop', ratio(net, entry.blocked), `net benefit ${net} over ${entry.blocked} blocked`],
  ];
  for (const [field, value, from] of expected) {
    const actual = entry[field] as number | null;
    if (!agrees(actual, value)) return `${field}: ${actual} does not follow from ${from} (${value})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The builder

/**
 * Collects what the engine replays and aggregates it into `report.json` with `build()`. Records may
 * arrive in any order; they are reported in time order (ties keep arrival order).
 */
export class ReportBuilder {
  private readonly settings: GenerationSettings & { readonly costs: DecisionCosts };
  private readonly window: WindowSpec;
  private readonly deployments: ReplayedDeployment[] = [];
  private readonly deploymentIds = new Set<string>();
  private readonly timeline: TimelineEvent[] = [];
  private readonly deadLetters: DeadLetter[] = [];
  private readonly driftDecisions = new Map<string, number>();
  private comparison: { readonly entries: readonly ComparisonEntryInput[]; readonly curves: ComparisonCurvesInput | undefined } | undefined;

  constructor(settings: GenerationSettings, options: { window?: WindowSpec } = {}) {
    const parsed = parseInput('generation settings', settingsSchema, settings);
    this.settings = { ...parsed, costs: parsed.costs ?? DEFAULT_COSTS };
    this.window = parseWindow(options.window ?? DEFAULT_WINDOW);
  }

  addDeployment(record: ReplayedDeployment): void {
    const id = typeof record?.deploymentId === 'string' ? record.deploymentId : '?';
    const parsed = parseInput(`deployment ${id}`, deploymentSchema, record);
    if (this.deploymentIds.has(parsed.deploymentId)) throw new ReportInputError(`report: deployment ${parsed.deploymentId} was recorded twice`);
    this.deploymentIds.add(parsed.deploymentId);
    this.deployments.push(parsed);
  }

  addTimelineEvent(event: TimelineEvent): void {
    this.timeline.push(parseInput(`timeline event ${this.timeline.length + 1}`, timelineSchema, event));
  }

  addDeadLetter(letter: DeadLetter): void {
    this.deadLetters.push(parseInput(`dead letter ${this.deadLetters.length + 1}`, deadLetterSchema, letter));
  }

  /** One decision of the drift handler: `started`, `duplicate`, or the reason it ignored the alarm. */
  addDriftDecision(decision: string): void {
    const parsed = parseInput(`drift decision ${this.driftDecisions.size + 1}`, driftDecisionSchema, decision);
    this.driftDecisions.set(parsed, (this.driftDecisions.get(parsed) ?? 0) + 1);
  }

  /**
   * The in-loop comparison (local/in-loop-policies.ts `results()`): every predictor and budget but
   * Deploy Guard at the configured budget, which this builder measures from the replayed
   * deployments (the run itself is that policy). `curves` default to the entries' own points.
   * Once per report; every entry must be over the replayed deployments (checked by `build`).
   */
  setComparison(entries: readonly ComparisonEntryInput[], curves?: ComparisonCurvesInput): void {
    if (this.comparison) throw new ReportInputError('report: comparison: it was already set; pass every entry in one call');
    const parsed = entries.map((entry, index) => {
      const label = `comparison entry ${index + 1}${entry && typeof entry === 'object' && COMPARISON_PREDICTORS.includes(entry.predictor) ? ` (${describeEntry(entry)})` : ''}`;
      const valid = parseInput(label, comparisonEntrySchema, entry);
      const problem = inconsistencyOf(valid, this.settings.costs);
      if (problem) throw new ReportInputError(`report: ${label}: ${problem}`);
      if (valid.predictor === 'deploy-guard' && valid.budget_kind === 'fixed' && sameBudget(valid.budget, this.settings.blockBudget)) {
        throw new ReportInputError(
          `report: ${label}: the builder measures Deploy Guard at the configured budget from the replayed deployments; leave this entry out`,
        );
      }
      return valid;
    });
    const seen = new Set<string>();
    for (const entry of parsed) {
      const key = `${entry.predictor} ${entry.budget_kind} ${entry.budget === null ? '-' : entry.budget.toFixed(9)}`;
      if (seen.has(key)) throw new ReportInputError(`report: comparison: ${describeEntry(entry)} is given twice`);
      seen.add(key);
    }
    const parsedCurves = curves === undefined ? undefined : parseInput('comparison curves', curvesSchema, curves);
    this.comparison = { entries: parsed, curves: parsedCurves };
  }

  build(): BacktestReport {
    const records = stableSortBy(this.deployments, (record) => record.startedAt);
    const timeline = stableSortBy(this.timeline, (event) => event.at);
    const guard = outcomesOf(records);
    const groups = groupsOf(records);
    const perGroup: Record<string, Outcomes> = {};
    for (const key of [...groups.keys()].sort()) perGroup[key] = outcomesOf(groups.get(key) as ReplayedDeployment[]);
    const { mode, blockBudget, threshold, costs, dataSource, limit, trainer } = this.settings;
    const measured = comparisonEntry(
      'deploy-guard',
      { budget: blockBudget, budget_kind: blockBudget === null ? 'natural' : 'fixed' },
      { deployments: guard.deployments, blocked: guard.flagged, failures: guard.failures, caught: guard.flagged_failures },
      costs,
    );
    const handed = this.comparison?.entries ?? [];
    for (const entry of handed) {
      if (entry.deployments !== guard.deployments || entry.failures !== guard.failures) {
        throw new ReportInputError(
          `report: comparison: ${describeEntry(entry)} is over ${entry.deployments} deployments with ${entry.failures} failures, ` +
            `not the ${guard.deployments} with ${guard.failures} replayed: every predictor must be measured on the reported deployments`,
        );
      }
    }
    const comparison = sortEntries([measured, ...handed]);
    return {
      verdict: verdictOf({ mode, blockBudget, threshold, costs }, measured, comparison),
      generated_with: {
        mode,
        block_budget: blockBudget,
        ...(threshold === undefined ? {} : { threshold: Number(threshold.toPrecision(THRESHOLD_DIGITS)) }),
        costs: { failed_deployment: costs.failedDeployment, needless_rollback: costs.needlessRollback },
        data_source: dataSource,
        limit,
        ...(trainer === undefined ? {} : { trainer }),
      },
      policy: { block_budget: blockBudget, realized_block_rate: guard.block_rate, flagged: guard.flagged, deployments: guard.deployments },
      comparison,
      comparison_curves: curvesOf(comparison, this.comparison?.curves, measured),
      loop_health: loopHealthOf(records, groups),
      exploration: explorationOf(records),
      deployments: guard.deployments,
      assessed: guard.assessed,
      rollbacks_requested: guard.rollbacks_requested,
      failures_prevented: guard.failures_prevented,
      good_deployments_stopped: guard.good_deployments_stopped,
      failures_missed: guard.failures_missed,
      precision: guard.precision,
      recall: guard.recall,
      auc_over_time: windowsOf(records, this.window, timeline),
      retrainings: retrainingsOf(timeline),
      promotions: timeline.filter((event) => event.kind === 'promoted').map(timelineEntry),
      rejections: timeline.filter((event) => event.kind === 'rejected').map(timelineEntry),
      dead_letters: stableSortBy(this.deadLetters, (letter) => letter.at).map((letter) => ({
        at: iso(letter.at),
        rule: letter.rule,
        target: letter.target,
        reason: letter.reason,
      })),
      drift_decisions: Object.fromEntries([...this.driftDecisions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      per_group: perGroup,
      ...(mode === 'shadow' ? { graduation: graduationOf(perGroup, blockBudget, costs) } : {}),
      model_versions: modelVersionsOf(records),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Aggregation (pure)

/** Each group's shadow decisions against the graduation criteria, at the run's budget and costs. */
function graduationOf(perGroup: Readonly<Record<string, Outcomes>>, budget: number | null, costs: DecisionCosts): Record<string, ReportGraduation> {
  return Object.fromEntries(
    Object.entries(perGroup).map(([group, outcomes]) => {
      const verdict = graduation({ assessed: outcomes.assessed, failures: outcomes.failures, flagged: outcomes.flagged, flaggedFailures: outcomes.flagged_failures }, budget, costs);
      return [group, { meets: verdict.meets, unmet: verdict.unmet, precision: verdict.precision, lift: verdict.lift, net_benefit: verdict.netBenefit }];
    }),
  );
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/**
 * The comparison figures of one predictor at one budget from its counts: the rates, the net benefit
 * at `costs`, and whether it is achievable. The one definition: the report measures Deploy Guard's
 * configured run with it, and the in-loop baselines (local/in-loop-policies.ts) their own.
 */
export function comparisonEntry(
  predictor: ComparisonPredictor,
  budget: Pick<ComparisonEntryInput, 'budget' | 'budget_kind'>,
  counts: Pick<ComparisonEntryInput, 'deployments' | 'blocked' | 'failures' | 'caught'>,
  costs: DecisionCosts = DEFAULT_COSTS,
): ReportComparisonEntry {
  const net = costs.failedDeployment * counts.caught - costs.needlessRollback * (counts.blocked - counts.caught);
  return {
    predictor,
    budget: budget.budget,
    budget_kind: budget.budget_kind,
    deployments: counts.deployments,
    blocked: counts.blocked,
    failures: counts.failures,
    caught: counts.caught,
    blocked_rate: ratio(counts.blocked, counts.deployments),
    caught_rate: ratio(counts.caught, counts.failures),
    precision: ratio(counts.caught, counts.blocked),
    net_benefit: net,
    net_per_stop: ratio(net, counts.blocked),
    achievable: predictor !== 'shadow-reference',
  };
}

const KIND_ORDER: Readonly<Record<BudgetKind, number>> = { fixed: 0, 'parrot-rate': 1, natural: 2 };

/** In the report's order: by predictor, then fixed budgets ascending, then Parrot's rate. */
function sortEntries(entries: readonly ReportComparisonEntry[]): ReportComparisonEntry[] {
  return [...entries].sort(
    (a, b) =>
      COMPARISON_PREDICTORS.indexOf(a.predictor) - COMPARISON_PREDICTORS.indexOf(b.predictor) ||
      KIND_ORDER[a.budget_kind] - KIND_ORDER[b.budget_kind] ||
      (a.budget ?? 0) - (b.budget ?? 0),
  );
}

function curvesOf(
  entries: readonly ReportComparisonEntry[],
  handed: ComparisonCurvesInput | undefined,
  measured: ReportComparisonEntry,
): Partial<Record<ComparisonPredictor, ReportCurvePoint[]>> {
  const point = (input: CurvePointInput): ReportCurvePoint => ({
    budget: input.budget ?? null,
    budget_kind: input.budget_kind ?? null,
    blocked_rate: input.blocked_rate,
    caught_rate: input.caught_rate,
  });
  const curves: Partial<Record<ComparisonPredictor, ReportCurvePoint[]>> = {};
  if (handed) {
    for (const predictor of COMPARISON_PREDICTORS) if (handed[predictor]) curves[predictor] = handed[predictor].map(point);
  } else {
    for (const entry of entries) (curves[entry.predictor] ??= []).push(point(entry));
  }
  // Deploy Guard's configured run is measured here, so the engine's curve may lack its point.
  const guard = (curves['deploy-guard'] ??= []);
  if (!guard.some((existing) => existing.budget_kind === measured.budget_kind && sameBudget(existing.budget, measured.budget))) guard.push(point(measured));
  const ordered: Partial<Record<ComparisonPredictor, ReportCurvePoint[]>> = {};
  for (const predictor of COMPARISON_PREDICTORS) {
    const points = curves[predictor];
    if (points) ordered[predictor] = stableSortBy(points, (entry) => entry.blocked_rate ?? -1);
  }
  return ordered;
}

/**
 * The one-line verdict at the configured budget: Deploy Guard's caught rate against the best fair
 * baseline's (the most failures caught; on a tie the higher net benefit), by how much, and the net
 * benefits; then Deploy Guard against Parrot at Parrot's rate when both ran. A loss is said plainly.
 */
function verdictOf(
  settings: Pick<GenerationSettings, 'mode' | 'blockBudget' | 'threshold'> & { readonly costs: DecisionCosts },
  guard: ReportComparisonEntry,
  entries: readonly ReportComparisonEntry[],
): string {
  const would = settings.mode === 'shadow';
  const caught = would ? 'would have caught' : 'caught';
  const blocked = would ? 'would have blocked' : 'blocked';
  const costs = formatCosts({ failed_deployment: settings.costs.failedDeployment, needless_rollback: settings.costs.needlessRollback });
  const subject = `Deploy Guard${would ? ' (shadow mode)' : ''}`;
  const net = (entry: ReportComparisonEntry) => formatCount(entry.net_benefit);
  if (settings.blockBudget === null) {
    return (
      `${subject} with a fixed threshold of ${Number((settings.threshold as number).toPrecision(THRESHOLD_DIGITS))} ${blocked} ` +
      `${formatPercent(guard.blocked_rate)} of deployments and ${caught} ${formatPercent(guard.caught_rate)} of failures ` +
      `(net benefit ${net(guard)} at costs ${costs}); a fixed threshold holds no block rate, so no fair baseline ran at the same budget.`
    );
  }
  const at = `at a ${formatBudget(settings.blockBudget)} block budget`;
  if (guard.caught_rate === null) return `${subject} ${at} ${blocked} ${formatPercent(guard.blocked_rate)} of deployments; no deployment failed, so there was nothing to catch.`;
  const parrot = parrotComparison(entries, caught);
  const fair = entries.filter(
    (entry) => (FAIR_BASELINES as readonly string[]).includes(entry.predictor) && entry.budget_kind === 'fixed' && sameBudget(entry.budget, settings.blockBudget) && entry.caught_rate !== null,
  );
  if (fair.length === 0) {
    return `${subject} ${at} ${caught} ${formatPercent(guard.caught_rate)} of failures (net benefit ${net(guard)} at costs ${costs}); no fair baseline ran at that budget to compare with${parrot}.`;
  }
  const best = fair.reduce((top, entry) =>
    (entry.caught_rate as number) > (top.caught_rate as number) || (entry.caught_rate === top.caught_rate && entry.net_benefit > top.net_benefit) ? entry : top,
  );
  const points = percentagePoints(guard.caught_rate, best.caught_rate as number);
  const name = PREDICTOR_LABELS[best.predictor];
  const nets = `net benefit ${net(guard)} vs ${net(best)} at costs ${costs}`;
  if (points > 0) {
    return `${subject} ${at} ${caught} ${formatPercent(guard.caught_rate)} of failures, ${points.toFixed(1)} pp more than the best fair baseline (${name}, ${formatPercent(best.caught_rate)}); ${nets}${parrot}.`;
  }
  const short = points === 0 ? 'no more than' : `${(-points).toFixed(1)} pp fewer than`;
  return `${subject} does not beat the best fair baseline: ${at} it ${caught} ${formatPercent(guard.caught_rate)} of failures, ${short} ${name} (${formatPercent(best.caught_rate)}); ${nets}${parrot}.`;
}

/** The difference of two rates in percentage points, to one decimal (what the verdict says). */
function percentagePoints(rate: number, other: number): number {
  return Math.round((rate - other) * 1000) / 10;
}

/** "; at Parrot's in-loop rate (13.4 % blocked) it caught 36.2 % against Parrot's 31.4 % (+4.8 pp)", or "". */
function parrotComparison(entries: readonly ReportComparisonEntry[], caught: string): string {
  const parrot = entries.find((entry) => entry.predictor === 'parrot-in-loop');
  const guard = entries.find((entry) => entry.predictor === 'deploy-guard' && entry.budget_kind === 'parrot-rate');
  if (!parrot || !guard || parrot.caught_rate === null || guard.caught_rate === null) return '';
  const points = percentagePoints(guard.caught_rate, parrot.caught_rate);
  return (
    `; at Parrot's in-loop rate (${formatPercent(parrot.blocked_rate)} blocked) it ${caught} ${formatPercent(guard.caught_rate)} ` +
    `against Parrot's ${formatPercent(parrot.caught_rate)} (${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pp)`
  );
}

function groupsOf(records: readonly ReplayedDeployment[]): Map<string, ReplayedDeployment[]> {
  const groups = new Map<string, ReplayedDeployment[]>();
  for (const record of records) {
    const list = groups.get(record.deploymentGroup) ?? [];
    list.push(record);
    groups.set(record.deploymentGroup, list);
  }
  return groups;
}

function flagged(record: ReplayedDeployment): boolean {
  return record.decision === 'rollback';
}

function aucOf(records: readonly ReplayedDeployment[]): number | null {
  const labels: boolean[] = [];
  const scores: number[] = [];
  for (const record of records) {
    if (record.probability === null) continue;
    labels.push(record.failed);
    scores.push(record.probability);
  }
  return rocAuc(labels, scores);
}

function outcomesOf(records: readonly ReplayedDeployment[]): Outcomes {
  let failures = 0;
  let assessed = 0;
  let requested = 0;
  let prevented = 0;
  let goodStopped = 0;
  let missed = 0;
  let flags = 0;
  let flaggedFailures = 0;
  for (const record of records) {
    if (record.failed) failures += 1;
    if (record.probability !== null) assessed += 1;
    if (record.rollbackRequested) requested += 1;
    if (record.stopped && record.failed) prevented += 1;
    if (record.stopped && !record.failed) goodStopped += 1;
    if (!record.stopped && record.failed) missed += 1;
    if (flagged(record)) {
      flags += 1;
      if (record.failed) flaggedFailures += 1;
    }
  }
  return {
    deployments: records.length,
    failures,
    assessed,
    flagged: flags,
    flagged_failures: flaggedFailures,
    block_rate: ratio(flags, records.length),
    rollbacks_requested: requested,
    failures_prevented: prevented,
    good_deployments_stopped: goodStopped,
    failures_missed: missed,
    precision: ratio(flaggedFailures, flags),
    recall: ratio(flaggedFailures, failures),
    auc: aucOf(records),
  };
}

/** The nearest-rank percentile of sorted values: the smallest value at least `share` of them do not exceed. */
function percentile(sorted: readonly number[], share: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)];
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function loopHealthOf(records: readonly ReplayedDeployment[], groups: ReadonlyMap<string, readonly ReplayedDeployment[]>): LoopHealth {
  const chains: number[] = [];
  let stops = 0;
  let afterAStop = 0;
  for (const list of groups.values()) {
    let run = 0;
    for (const record of list) {
      if (flagged(record)) {
        stops += 1;
        if (run > 0) afterAStop += 1;
        run += 1;
      } else if (run > 0) {
        chains.push(run);
        run = 0;
      }
    }
    if (run > 0) chains.push(run);
  }
  chains.sort((a, b) => a - b);
  let served = 0;
  let differing = 0;
  let lakeDeployments = 0;
  let lakeFailures = 0;
  let failures = 0;
  for (const record of records) {
    served += record.historyFeaturesServed;
    differing += record.historyFeaturesDiffering;
    if (record.failed) failures += 1;
    if (!record.stopped) {
      lakeDeployments += 1;
      if (record.failed) lakeFailures += 1;
    }
  }
  return {
    stop_chains: {
      chains: chains.length,
      p90: percentile(chains, 0.9),
      longest: chains.length === 0 ? 0 : chains[chains.length - 1],
      mean: ratio(stops, chains.length),
    },
    stops_after_a_stop: { stops, after_a_stop: afterAStop, share: ratio(afterAStop, stops) },
    history_features: { served, differing, differing_share: ratio(differing, served) },
    failure_rate: { all_deployments: ratio(failures, records.length), data_lake: ratio(lakeFailures, lakeDeployments), data_lake_deployments: lakeDeployments },
  };
}

/** The bin of a score in [0, 1]; 1 falls in the last bin. */
export function scoreBin(score: number): number {
  return Math.min(SCORE_BINS - 1, Math.floor(score * SCORE_BINS));
}

function splitIntoWindows(records: readonly ReplayedDeployment[], spec: WindowSpec): ReplayedDeployment[][] {
  const windows: ReplayedDeployment[][] = [];
  if (spec.by === 'deployments') {
    for (let start = 0; start < records.length; start += spec.size) windows.push(records.slice(start, start + spec.size));
    return windows;
  }
  let currentMonth = '';
  for (const record of records) {
    const month = iso(record.startedAt).slice(0, 7);
    if (month !== currentMonth) {
      windows.push([]);
      currentMonth = month;
    }
    windows[windows.length - 1].push(record);
  }
  return windows;
}

function windowsOf(records: readonly ReplayedDeployment[], spec: WindowSpec, timeline: readonly TimelineEvent[]): ReportWindow[] {
  const windows = splitIntoWindows(records, spec);
  const alarms = timeline.filter((event) => event.kind === 'drift-alarm').map((event) => event.at);
  return windows.map((window, index) => {
    const first = window[0].startedAt;
    const next = index + 1 < windows.length ? windows[index + 1][0].startedAt : Infinity;
    // Alarms before the first deployment belong to the first window.
    const driftAlarms = alarms.filter((at) => (index === 0 || at >= first) && at < next).length;
    const histogram = { failed: new Array<number>(SCORE_BINS).fill(0), succeeded: new Array<number>(SCORE_BINS).fill(0) };
    const versions = new Map<string, number>();
    const cuts: number[] = [];
    for (const record of window) {
      if (record.probability !== null) (record.failed ? histogram.failed : histogram.succeeded)[scoreBin(record.probability)] += 1;
      if (record.modelVersion !== null) versions.set(record.modelVersion, (versions.get(record.modelVersion) ?? 0) + 1);
      if (record.cut !== null) cuts.push(record.cut);
    }
    let modelVersion: string | null = null;
    let most = 0;
    for (const [version, uses] of versions) {
      if (uses >= most) {
        modelVersion = version;
        most = uses;
      }
    }
    const outcomes = outcomesOf(window);
    return {
      from: iso(first),
      to: iso(window[window.length - 1].startedAt),
      deployments: outcomes.deployments,
      failures: outcomes.failures,
      assessed: outcomes.assessed,
      auc: outcomes.auc,
      flagged: outcomes.flagged,
      flagged_failures: outcomes.flagged_failures,
      block_rate: outcomes.block_rate,
      median_cut: median(cuts),
      rollbacks_requested: outcomes.rollbacks_requested,
      failures_prevented: outcomes.failures_prevented,
      good_deployments_stopped: outcomes.good_deployments_stopped,
      failures_missed: outcomes.failures_missed,
      model_version: modelVersion,
      drift_alarms: driftAlarms,
      score_histogram: histogram,
    };
  });
}

function timelineEntry(event: TimelineEvent): ReportTimelineEntry {
  return { at: iso(event.at), model_version: ('modelVersion' in event ? event.modelVersion : undefined) ?? null, detail: event.detail ?? null };
}

/**
 * Each retraining with what started it. An alarm-started job is attributed to the latest ALARM of
 * that alarm at or before the start (not to the first alarm since the previous retraining, which is
 * often an alarm the drift handler ignored long before).
 */
function retrainingsOf(timeline: readonly TimelineEvent[]): ReportRetraining[] {
  const alarmTimes = new Map<string, number[]>();
  for (const event of timeline) {
    if (event.kind !== 'drift-alarm') continue;
    const times = alarmTimes.get(event.alarmName) ?? [];
    times.push(event.at);
    alarmTimes.set(event.alarmName, times);
  }
  const retrainings: ReportRetraining[] = [];
  for (const event of timeline) {
    if (event.kind !== 'retraining-started') continue;
    if (event.trigger.type === 'schedule') {
      retrainings.push({ ...timelineEntry(event), trigger: SCHEDULE_TRIGGER, alarm_name: null, drift_alarm_at: null });
      continue;
    }
    const times = alarmTimes.get(event.trigger.alarmName) ?? [];
    let latest: number | null = null;
    for (const at of times) if (at <= event.at && (latest === null || at > latest)) latest = at;
    retrainings.push({ ...timelineEntry(event), trigger: 'alarm', alarm_name: event.trigger.alarmName, drift_alarm_at: latest === null ? null : iso(latest) });
  }
  return retrainings;
}

function modelVersionsOf(records: readonly ReplayedDeployment[]): ReportModelVersion[] {
  const byVersion = new Map<string, ReplayedDeployment[]>();
  for (const record of records) {
    if (record.modelVersion === null) continue;
    const list = byVersion.get(record.modelVersion) ?? [];
    list.push(record);
    byVersion.set(record.modelVersion, list);
  }
  // Insertion order is the order of first use, since the records are in time order.
  return [...byVersion].map(([version, list]) => ({
    version,
    from: iso(list[0].startedAt),
    to: iso(list[list.length - 1].startedAt),
    deployments: list.length,
    auc: aucOf(list),
  }));
}

function iso(millis: number): string {
  const date = new Date(millis);
  if (Number.isNaN(date.getTime())) throw new ReportInputError(`report: ${millis} ms is outside the range of dates`);
  return date.toISOString();
}

function stableSortBy<T>(items: readonly T[], key: (item: T) => number): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => key(a.item) - key(b.item) || a.index - b.index)
    .map(({ item }) => item);
}

/**
 * The drift decisions in words, for the console and the page: `14 started a job; ignored: 12
 * not-enough-data, 8 cooldown`; `no drift alarm reached the drift handler` when there were none.
 */
export function describeDriftDecisions(decisions: Readonly<Record<string, number>>): string {
  const entries = Object.entries(decisions);
  if (entries.length === 0) return 'no drift alarm reached the drift handler';
  const started = decisions.started ?? 0;
  const duplicates = decisions.duplicate ?? 0;
  const ignored = entries.filter(([decision]) => decision !== 'started' && decision !== 'duplicate').sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return [
    `${started} started a job`,
    ...(ignored.length > 0 ? [`ignored: ${ignored.map(([reason, count]) => `${count} ${reason}`).join(', ')}`] : []),
    ...(duplicates > 0 ? [`${duplicates} redelivered`] : []),
  ].join('; ');
}

/** The median of the non-null window AUCs of Deploy Guard's served models; null when no window has one. */
export function medianWindowAuc(report: Pick<BacktestReport, 'auc_over_time'>): number | null {
  return median(report.auc_over_time.map((window) => window.auc).filter((auc): auc is number => auc !== null));
}

/**
 * The budgets the report tabulates: the reported ones (5, 10, 20 %), the configured one, and any
 * other fixed budget the comparison holds, ascending.
 */
export function tabulatedBudgets(report: Pick<BacktestReport, 'comparison' | 'policy'>): number[] {
  const budgets: number[] = [...REPORTED_BUDGETS];
  const add = (budget: number | null) => {
    if (budget !== null && !budgets.some((existing) => sameBudget(existing, budget))) budgets.push(budget);
  };
  add(report.policy.block_budget);
  for (const entry of report.comparison) if (entry.budget_kind === 'fixed') add(entry.budget);
  return budgets.sort((a, b) => a - b);
}

/** The comparison entry of a predictor at a fixed budget, if it ran there. */
export function entryAt(report: Pick<BacktestReport, 'comparison'>, predictor: ComparisonPredictor, budget: number): ReportComparisonEntry | undefined {
  return report.comparison.find((entry) => entry.predictor === predictor && entry.budget_kind === 'fixed' && sameBudget(entry.budget, budget));
}

/** Deploy Guard's entry at the configured budget (or its fixed threshold): the run itself, measured by the builder. */
export function configuredEntry(report: Pick<BacktestReport, 'comparison' | 'policy'>): ReportComparisonEntry {
  const budget = report.policy.block_budget;
  const entry = report.comparison.find(
    (candidate) => candidate.predictor === 'deploy-guard' && (budget === null ? candidate.budget_kind === 'natural' : candidate.budget_kind === 'fixed' && sameBudget(candidate.budget, budget)),
  );
  if (!entry) throw new ReportInputError('report: comparison holds no entry of Deploy Guard at the configured budget (a report.json not built by ReportBuilder?)');
  return entry;
}

/**
 * The inverse-propensity estimate of the would-be stops' precision and recall from the observable
 * outcomes (explored would-be stops, each weighing 1/share, and deployments below the cut), and the
 * truth. The share is the explored fraction of the would-be stops, as predict draws it.
 */
function explorationOf(records: readonly ReplayedDeployment[]): ReportExploration {
  const wouldStop = records.filter((record) => record.decision === 'rollback' || record.explored);
  const explored = wouldStop.filter((record) => record.explored);
  const enforcedWouldStop = wouldStop.filter((record) => record.enforced);
  const share = enforcedWouldStop.length === 0 ? 1 : explored.length / enforcedWouldStop.length;
  const weightOf = (record: ReplayedDeployment) => (record.enforced ? (record.explored ? 1 / share : 0) : 1);
  let stopsFailed = 0;
  let stopsObserved = 0;
  for (const record of wouldStop) {
    const weight = weightOf(record);
    stopsObserved += weight;
    if (record.failed) stopsFailed += weight;
  }
  const missedFailures = records.filter((record) => !(record.decision === 'rollback' || record.explored) && record.failed).length;
  const trueCaught = wouldStop.filter((record) => record.failed).length;
  const failures = records.filter((record) => record.failed).length;
  return {
    explored: explored.length,
    failures_let_through: explored.filter((record) => record.failed).length,
    estimated_precision: stopsObserved > 0 ? stopsFailed / stopsObserved : null,
    estimated_recall: stopsFailed + missedFailures > 0 ? stopsFailed / (stopsFailed + missedFailures) : null,
    true_precision: wouldStop.length > 0 ? trueCaught / wouldStop.length : null,
    true_recall: failures > 0 ? trueCaught / failures : null,
  };
}
