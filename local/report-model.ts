import { z } from 'zod';
import { DECISIONS, GUARD_MODES, type Decision, type GuardMode } from '../events/emitted';
import { formatPath } from '../events/validation';
import { rocAuc } from '../model/metrics';

/**
 * The backtest report: what the engine records while it replays a deployment history, and the pure
 * aggregation of those records into `report.json`. No I/O, no clock: every time comes from the records.
 *
 * Vocabulary used throughout:
 * - a deployment is *flagged* when the predictor's decision is `rollback` (in shadow mode too);
 * - a rollback is *requested* when the flag is enforced; the deployment is *stopped* when the
 *   CodeDeploy stand-in stopped it;
 * - precision = flagged and failed / flagged; recall = flagged and failed / failed. They measure the
 *   decisions, not the stops, so a shadow-mode replay is measured as well as an enforcing one;
 *   null when the denominator is 0.
 */

// ---------------------------------------------------------------------------------------------
// Inputs (fed by the backtest engine)

/** One replayed deployment, as the engine saw it end to end. */
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
  readonly threshold: number;
  readonly decision: Decision;
  /** Whether the decision was acted on (false in shadow mode). */
  readonly enforced: boolean;
  /** A "Deployment Rollback Requested" event was emitted. */
  readonly rollbackRequested: boolean;
  /** The CodeDeploy stand-in stopped the deployment. */
  readonly stopped: boolean;
  /** The served model that scored it; null when none did. */
  readonly modelVersion: string | null;
  /** Baseline "never retrain": the first model's probability for this deployment (null before there is one). */
  readonly neverRetrainProbability: number | null;
}

export const TIMELINE_KINDS = ['drift-alarm', 'retraining-started', 'promoted', 'rejected'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  /** ms since the epoch. */
  readonly at: number;
  readonly kind: TimelineKind;
  readonly modelVersion?: string;
  readonly detail?: string;
}

/** An event that EventBridge (the local bus) gave up delivering. */
export interface DeadLetter {
  readonly at: number;
  readonly rule: string;
  readonly target: string;
  readonly reason: string;
}

/** How the replay was run, as the engine reports it. */
export interface GenerationSettings {
  readonly mode: GuardMode;
  readonly threshold: number;
  /** Where the history came from (a path or a dataset name). */
  readonly dataSource: string;
  /** The maximum number of deployments replayed; null for all. */
  readonly limit: number | null;
}

/** Consecutive windows of `size` deployments, or one window per calendar month (UTC). */
export type WindowSpec = { readonly by: 'deployments'; readonly size: number } | { readonly by: 'month' };

export const DEFAULT_WINDOW: WindowSpec = { by: 'deployments', size: 500 };

/** Number of equal-width bins over [0, 1] of the risk-score histograms. */
export const SCORE_BINS = 20;

// ---------------------------------------------------------------------------------------------
// Output: report.json

/** The counts of one predictor over a set of deployments. */
export interface Outcomes {
  readonly deployments: number;
  readonly failures: number;
  /** Deployments the predictor scored. */
  readonly assessed: number;
  readonly rollbacks_requested: number;
  /** Stopped and would have failed. */
  readonly failures_prevented: number;
  /** Stopped and would have succeeded. */
  readonly good_deployments_stopped: number;
  /** Failed and not stopped. */
  readonly failures_missed: number;
  readonly precision: number | null;
  readonly recall: number | null;
  /** ROC AUC over the scored deployments; null with one class only. */
  readonly auc: number | null;
}

export const BASELINES = ['no_guard', 'parrot', 'never_retrain'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** What a window shows of one predictor. */
export interface WindowOutcomes {
  readonly auc: number | null;
  readonly rollbacks_requested: number;
  readonly failures_prevented: number;
  readonly good_deployments_stopped: number;
  readonly failures_missed: number;
}

/**
 * One window of the replay: its AUC and everything else the time charts need (the windows are the
 * report's time series).
 */
export interface ReportWindow extends WindowOutcomes {
  /** Start of the window's first deployment (ISO 8601). */
  readonly from: string;
  /** Start of the window's last deployment (ISO 8601). */
  readonly to: string;
  readonly deployments: number;
  readonly failures: number;
  readonly assessed: number;
  /** The model version that scored most of the window's deployments (the later one on a tie). */
  readonly model_version: string | null;
  /** Drift alarms raised from this window's first deployment until the next window's first. */
  readonly drift_alarms: number;
  readonly baselines: Readonly<Record<BaselineName, WindowOutcomes>>;
  /** Deployments per risk-score bin (`SCORE_BINS` bins over [0, 1]), scored ones only. */
  readonly score_histogram: { readonly failed: readonly number[]; readonly succeeded: readonly number[] };
}

export interface ReportTimelineEntry {
  readonly at: string;
  readonly model_version: string | null;
  readonly detail: string | null;
}

export interface ReportRetraining extends ReportTimelineEntry {
  /** The first drift alarm since the previous retraining; null when it was started otherwise. */
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

export interface BacktestReport {
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
  readonly baselines: Readonly<Record<BaselineName, Outcomes>>;
  readonly model_versions: readonly ReportModelVersion[];
  readonly generated_with: { readonly mode: GuardMode; readonly threshold: number; readonly data_source: string; readonly limit: number | null };
}

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

const deploymentSchema = z
  .object({
    deploymentId: nonEmpty,
    application: nonEmpty,
    deploymentGroup: nonEmpty,
    startedAt: millis,
    failed: z.boolean(),
    probability: unit.nullable(),
    threshold: unit,
    decision: z.enum(DECISIONS),
    enforced: z.boolean(),
    rollbackRequested: z.boolean(),
    stopped: z.boolean(),
    modelVersion: nonEmpty.nullable(),
    neverRetrainProbability: unit.nullable(),
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
  });

const timelineSchema = z
  .object({ at: millis, kind: z.enum(TIMELINE_KINDS), modelVersion: nonEmpty.optional(), detail: z.string().optional() })
  .strict();

const deadLetterSchema = z.object({ at: millis, rule: nonEmpty, target: nonEmpty, reason: nonEmpty }).strict();
const driftDecisionSchema = z.string().regex(/^[a-z][a-z-]*$/, 'expected a status or reason such as started or cooldown');

const settingsSchema = z
  .object({ mode: z.enum(GUARD_MODES), threshold: unit, dataSource: nonEmpty, limit: z.number().int().positive().nullable() })
  .strict();

function parseInput<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${formatPath(issue.path) || '(record)'}: ${issue.message}`).join('; ');
  throw new ReportInputError(`report: ${what}: ${problems}`);
}

function parseWindow(spec: WindowSpec): WindowSpec {
  if (spec.by === 'month') return spec;
  if (spec.by === 'deployments' && Number.isInteger(spec.size) && spec.size > 0) return spec;
  throw new ReportInputError(`report: window ${JSON.stringify(spec)} must be { by: 'month' } or { by: 'deployments', size: a positive integer }`);
}

// ---------------------------------------------------------------------------------------------
// The builder

/** What one predictor did with one deployment. */
interface Verdict {
  readonly score: number | null;
  readonly flagged: boolean;
  readonly requested: boolean;
  readonly stopped: boolean;
}

type Predictor = 'guard' | BaselineName;

/** A deployment together with every predictor's verdict on it. */
interface Judged {
  readonly record: ReplayedDeployment;
  readonly verdicts: Readonly<Record<Predictor, Verdict>>;
}

/**
 * Collects what the engine replays and aggregates it into `report.json` with `build()`. Records may
 * arrive in any order; they are reported in time order (ties keep arrival order).
 */
export class ReportBuilder {
  private readonly settings: GenerationSettings;
  private readonly window: WindowSpec;
  private readonly deployments: ReplayedDeployment[] = [];
  private readonly deploymentIds = new Set<string>();
  private readonly timeline: TimelineEvent[] = [];
  private readonly deadLetters: DeadLetter[] = [];
  private readonly driftDecisions = new Map<string, number>();

  constructor(settings: GenerationSettings, options: { window?: WindowSpec } = {}) {
    this.settings = parseInput('generation settings', settingsSchema, settings);
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

  build(): BacktestReport {
    const judged = judge(stableSortBy(this.deployments, (record) => record.startedAt));
    const timeline = stableSortBy(this.timeline, (event) => event.at);
    const guard = outcomesOf(judged, 'guard');
    const groups = new Map<string, Judged[]>();
    for (const item of judged) {
      const list = groups.get(item.record.deploymentGroup) ?? [];
      list.push(item);
      groups.set(item.record.deploymentGroup, list);
    }
    const perGroup: Record<string, Outcomes> = {};
    for (const key of [...groups.keys()].sort()) perGroup[key] = outcomesOf(groups.get(key) as Judged[], 'guard');
    return {
      deployments: guard.deployments,
      assessed: guard.assessed,
      rollbacks_requested: guard.rollbacks_requested,
      failures_prevented: guard.failures_prevented,
      good_deployments_stopped: guard.good_deployments_stopped,
      failures_missed: guard.failures_missed,
      precision: guard.precision,
      recall: guard.recall,
      auc_over_time: windowsOf(judged, this.window, timeline),
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
      baselines: {
        no_guard: outcomesOf(judged, 'no_guard'),
        parrot: outcomesOf(judged, 'parrot'),
        never_retrain: outcomesOf(judged, 'never_retrain'),
      },
      model_versions: modelVersionsOf(judged),
      generated_with: {
        mode: this.settings.mode,
        threshold: this.settings.threshold,
        data_source: this.settings.dataSource,
        limit: this.settings.limit,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Aggregation (pure)

/**
 * Every predictor's verdict on each deployment (in time order). A baseline decides with the
 * deployment's own threshold and, when the deployment was enforced, its rollback is requested and
 * stops the deployment. Parrot scores 1 when the group's previous deployment failed, else 0 (also
 * for a group's first deployment), as model/evaluation.ts does.
 */
function judge(records: readonly ReplayedDeployment[]): Judged[] {
  const previousFailed = new Map<string, boolean>();
  return records.map((record) => {
    const parrot = previousFailed.get(record.deploymentGroup) ? 1 : 0;
    previousFailed.set(record.deploymentGroup, record.failed);
    return {
      record,
      verdicts: {
        guard: {
          score: record.probability,
          flagged: record.decision === 'rollback',
          requested: record.rollbackRequested,
          stopped: record.stopped,
        },
        no_guard: { score: null, flagged: false, requested: false, stopped: false },
        parrot: baselineVerdict(record, parrot),
        never_retrain: baselineVerdict(record, record.neverRetrainProbability),
      },
    };
  });
}

function baselineVerdict(record: ReplayedDeployment, score: number | null): Verdict {
  const flagged = score !== null && score >= record.threshold;
  const requested = flagged && record.enforced;
  return { score, flagged, requested, stopped: requested };
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function aucOf(items: readonly Judged[], predictor: Predictor): number | null {
  const labels: boolean[] = [];
  const scores: number[] = [];
  for (const item of items) {
    const score = item.verdicts[predictor].score;
    if (score === null) continue;
    labels.push(item.record.failed);
    scores.push(score);
  }
  return rocAuc(labels, scores);
}

function outcomesOf(items: readonly Judged[], predictor: Predictor): Outcomes {
  let failures = 0;
  let assessed = 0;
  let requested = 0;
  let prevented = 0;
  let goodStopped = 0;
  let missed = 0;
  let flagged = 0;
  let flaggedFailures = 0;
  for (const { record, verdicts } of items) {
    const verdict = verdicts[predictor];
    if (record.failed) failures += 1;
    if (verdict.score !== null) assessed += 1;
    if (verdict.requested) requested += 1;
    if (verdict.stopped && record.failed) prevented += 1;
    if (verdict.stopped && !record.failed) goodStopped += 1;
    if (!verdict.stopped && record.failed) missed += 1;
    if (verdict.flagged) {
      flagged += 1;
      if (record.failed) flaggedFailures += 1;
    }
  }
  return {
    deployments: items.length,
    failures,
    assessed,
    rollbacks_requested: requested,
    failures_prevented: prevented,
    good_deployments_stopped: goodStopped,
    failures_missed: missed,
    precision: ratio(flaggedFailures, flagged),
    recall: ratio(flaggedFailures, failures),
    auc: aucOf(items, predictor),
  };
}

function windowOutcomesOf(items: readonly Judged[], predictor: Predictor): WindowOutcomes {
  return pickWindowOutcomes(outcomesOf(items, predictor));
}

function pickWindowOutcomes(all: Outcomes): WindowOutcomes {
  return {
    auc: all.auc,
    rollbacks_requested: all.rollbacks_requested,
    failures_prevented: all.failures_prevented,
    good_deployments_stopped: all.good_deployments_stopped,
    failures_missed: all.failures_missed,
  };
}

/** The bin of a score in [0, 1]; 1 falls in the last bin. */
export function scoreBin(score: number): number {
  return Math.min(SCORE_BINS - 1, Math.floor(score * SCORE_BINS));
}

function splitIntoWindows(items: readonly Judged[], spec: WindowSpec): Judged[][] {
  const windows: Judged[][] = [];
  if (spec.by === 'deployments') {
    for (let start = 0; start < items.length; start += spec.size) windows.push(items.slice(start, start + spec.size));
    return windows;
  }
  let currentMonth = '';
  for (const item of items) {
    const month = iso(item.record.startedAt).slice(0, 7);
    if (month !== currentMonth) {
      windows.push([]);
      currentMonth = month;
    }
    windows[windows.length - 1].push(item);
  }
  return windows;
}

function windowsOf(items: readonly Judged[], spec: WindowSpec, timeline: readonly TimelineEvent[]): ReportWindow[] {
  const windows = splitIntoWindows(items, spec);
  const alarms = timeline.filter((event) => event.kind === 'drift-alarm').map((event) => event.at);
  return windows.map((window, index) => {
    const first = window[0].record.startedAt;
    const next = index + 1 < windows.length ? windows[index + 1][0].record.startedAt : Infinity;
    // Alarms before the first deployment belong to the first window.
    const driftAlarms = alarms.filter((at) => (index === 0 || at >= first) && at < next).length;
    const histogram = { failed: new Array<number>(SCORE_BINS).fill(0), succeeded: new Array<number>(SCORE_BINS).fill(0) };
    const versions = new Map<string, number>();
    for (const { record } of window) {
      if (record.probability !== null) (record.failed ? histogram.failed : histogram.succeeded)[scoreBin(record.probability)] += 1;
      if (record.modelVersion !== null) versions.set(record.modelVersion, (versions.get(record.modelVersion) ?? 0) + 1);
    }
    let modelVersion: string | null = null;
    let most = 0;
    for (const [version, count] of versions) {
      if (count >= most) {
        modelVersion = version;
        most = count;
      }
    }
    const guard = outcomesOf(window, 'guard');
    return {
      from: iso(first),
      to: iso(window[window.length - 1].record.startedAt),
      deployments: guard.deployments,
      failures: guard.failures,
      assessed: guard.assessed,
      model_version: modelVersion,
      drift_alarms: driftAlarms,
      ...pickWindowOutcomes(guard),
      baselines: {
        no_guard: windowOutcomesOf(window, 'no_guard'),
        parrot: windowOutcomesOf(window, 'parrot'),
        never_retrain: windowOutcomesOf(window, 'never_retrain'),
      },
      score_histogram: histogram,
    };
  });
}

function timelineEntry(event: TimelineEvent): ReportTimelineEntry {
  return { at: iso(event.at), model_version: event.modelVersion ?? null, detail: event.detail ?? null };
}

function retrainingsOf(timeline: readonly TimelineEvent[]): ReportRetraining[] {
  const retrainings: ReportRetraining[] = [];
  let pendingAlarm: number | null = null;
  for (const event of timeline) {
    if (event.kind === 'drift-alarm' && pendingAlarm === null) pendingAlarm = event.at;
    if (event.kind === 'retraining-started') {
      retrainings.push({ ...timelineEntry(event), drift_alarm_at: pendingAlarm === null ? null : iso(pendingAlarm) });
      pendingAlarm = null;
    }
  }
  return retrainings;
}

function modelVersionsOf(items: readonly Judged[]): ReportModelVersion[] {
  const byVersion = new Map<string, Judged[]>();
  for (const item of items) {
    const version = item.record.modelVersion;
    if (version === null) continue;
    const list = byVersion.get(version) ?? [];
    list.push(item);
    byVersion.set(version, list);
  }
  // Insertion order is the order of first use, since the items are in time order.
  return [...byVersion].map(([version, list]) => ({
    version,
    from: iso(list[0].record.startedAt),
    to: iso(list[list.length - 1].record.startedAt),
    deployments: list.length,
    auc: aucOf(list, 'guard'),
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

/** The median of the non-null window AUCs of a predictor; null when no window has one. */
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

export function medianWindowAuc(report: Pick<BacktestReport, 'auc_over_time'>, predictor: 'guard' | BaselineName): number | null {
  const values = report.auc_over_time
    .map((window) => (predictor === 'guard' ? window.auc : window.baselines[predictor].auc))
    .filter((auc): auc is number => auc !== null)
    .sort((a, b) => a - b);
  if (values.length === 0) return null;
  const middle = Math.floor(values.length / 2);
  return values.length % 2 === 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}
