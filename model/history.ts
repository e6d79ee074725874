/**
 * History features: what Deploy Guard has seen of a deployment group before the deployment it is
 * predicting. Computed by Deploy Guard from the outcomes it recorded itself, never taken from a
 * dataset's precomputed columns.
 *
 * `computeHistoryFeatures` is the definition: a pure function of the group's past deployments, in
 * the order they happened, and of the moment of the prediction. `HistoryAccumulator` gives the same
 * numbers incrementally for long replays (training export, backtest); a test holds it to that.
 */

/** One earlier deployment of the group. */
export interface PastDeployment {
  /** When it started, in milliseconds since the epoch; absent when the history has no timestamps. */
  readonly time?: number;
  /**
   * true: it failed; false: it succeeded; absent: its outcome is unknown, e.g. it was stopped or
   * rolled back before it could show (a counterfactual label). Such a deployment still counts as a
   * deployment (time since the last one, deployments in the last 24 h) but not in any failure rate.
   */
  readonly failed?: boolean;
  /** Who made the change, when known. */
  readonly author?: string;
}

/** The deployment being predicted. */
export interface HistoryQuery {
  /** When it starts, in milliseconds since the epoch; absent when unknown (time features are then missing). */
  readonly time?: number;
  readonly author?: string;
}

/** Windows of the history features; part of the feature schema, so changing one is a new schema version. */
export const HISTORY_WINDOWS = {
  /** The short failure-rate window, in deployments with a known outcome. */
  recent: 5,
  /** The long failure-rate window, in deployments with a known outcome. */
  longer: 20,
  /** The author's window, in the author's deployments with a known outcome. */
  author: 5,
  /** The window of `deploymentsLast24h`, in hours. */
  busyHours: 24,
} as const;

/** Smoothing of the overall failure rate: (failures + 1) / (deployments + 2), Laplace's rule of succession. */
export const OVERALL_RATE_PRIOR = { failures: 1, deployments: 2 } as const;

export const HISTORY_FEATURE_NAMES = [
  'previousFailed',
  'consecutiveFailures',
  'failureRateLast5',
  'failureRateLast20',
  'failureRateOverall',
  'hoursSinceLastDeployment',
  'hoursSinceLastFailure',
  'deploymentsLast24h',
  'authorRecentFailureRate',
] as const;

export type HistoryFeatureName = (typeof HISTORY_FEATURE_NAMES)[number];

/** History features of one deployment; an absent feature is a missing value, never a zero. */
export type HistoryFeatures = Partial<Record<HistoryFeatureName, number>>;

const HOUR_MS = 3_600_000;

/**
 * The history features of a deployment at `query.time`, given its group's earlier deployments in
 * the order they happened (oldest first).
 *
 * - previousFailed: 1 when the most recent deployment with a known outcome failed, 0 when it
 *   succeeded; missing when none has a known outcome.
 * - consecutiveFailures: failures in a row at the end of the known outcomes (0 when none).
 * - failureRateLast5 / failureRateLast20: share of failures among the last 5 / 20 known outcomes
 *   (fewer when the history is shorter); missing when there is none.
 * - failureRateOverall: (failures + 1) / (known outcomes + 2); 0.5 for a new group.
 * - hoursSinceLastDeployment / hoursSinceLastFailure: hours from the latest timed deployment / failure
 *   to `query.time` (never negative); missing when either time is unknown.
 * - deploymentsLast24h: earlier deployments that started less than 24 hours before `query.time`.
 * - authorRecentFailureRate: share of failures among the author's last 5 known outcomes; missing when
 *   the author is unknown or has no known outcome yet.
 */
export function computeHistoryFeatures(past: readonly PastDeployment[], query: HistoryQuery = {}): HistoryFeatures {
  const features: HistoryFeatures = {};
  const known = past.filter((deployment): deployment is PastDeployment & { failed: boolean } => deployment.failed !== undefined);
  const failures = known.filter((deployment) => deployment.failed).length;

  if (known.length > 0) features.previousFailed = known[known.length - 1].failed ? 1 : 0;

  let consecutive = 0;
  for (let index = known.length - 1; index >= 0 && known[index].failed; index -= 1) consecutive += 1;
  features.consecutiveFailures = consecutive;

  const recent = failureRate(known.slice(-HISTORY_WINDOWS.recent));
  if (recent !== undefined) features.failureRateLast5 = recent;
  const longer = failureRate(known.slice(-HISTORY_WINDOWS.longer));
  if (longer !== undefined) features.failureRateLast20 = longer;
  features.failureRateOverall =
    (failures + OVERALL_RATE_PRIOR.failures) / (known.length + OVERALL_RATE_PRIOR.deployments);

  if (query.time !== undefined) {
    const timed = past.filter((deployment) => deployment.time !== undefined);
    const lastTime = timed.length > 0 ? timed[timed.length - 1].time : undefined;
    if (lastTime !== undefined) features.hoursSinceLastDeployment = hoursBetween(lastTime, query.time);
    const timedFailures = known.filter((deployment) => deployment.failed && deployment.time !== undefined);
    const lastFailure = timedFailures.length > 0 ? timedFailures[timedFailures.length - 1].time : undefined;
    if (lastFailure !== undefined) features.hoursSinceLastFailure = hoursBetween(lastFailure, query.time);
    const since = query.time - HISTORY_WINDOWS.busyHours * HOUR_MS;
    features.deploymentsLast24h = timed.filter((deployment) => (deployment.time as number) > since).length;
  }

  if (query.author !== undefined) {
    const byAuthor = known.filter((deployment) => deployment.author === query.author);
    const rate = failureRate(byAuthor.slice(-HISTORY_WINDOWS.author));
    if (rate !== undefined) features.authorRecentFailureRate = rate;
  }
  return features;
}

/** How many outcomes the failure rates were taken over: what explanations need to say "2 of the last 3". */
export interface HistoryCounts {
  /** Deployments of the group with a known outcome. */
  readonly knownOutcomes: number;
  /** The author's deployments with a known outcome; absent when the author is unknown. */
  readonly authorKnownOutcomes?: number;
}

export function historyCounts(past: readonly PastDeployment[], query: HistoryQuery = {}): HistoryCounts {
  const known = past.filter((deployment) => deployment.failed !== undefined);
  if (query.author === undefined) return { knownOutcomes: known.length };
  return { knownOutcomes: known.length, authorKnownOutcomes: known.filter((deployment) => deployment.author === query.author).length };
}

function failureRate(outcomes: readonly { failed: boolean }[]): number | undefined {
  if (outcomes.length === 0) return undefined;
  return outcomes.filter((outcome) => outcome.failed).length / outcomes.length;
}

/** Hours from `from` to `to`; a clock that is slightly behind must not produce a negative age. */
function hoursBetween(from: number, to: number): number {
  return Math.max(0, to - from) / HOUR_MS;
}

/**
 * The same features as `computeHistoryFeatures`, maintained incrementally: `record` each deployment
 * of the group in order, and ask `features` before recording the deployment being predicted.
 * Costs O(log n) per query instead of O(n). Deployments must be recorded in non-decreasing time.
 */
export class HistoryAccumulator {
  private knownCount = 0;
  private failureCount = 0;
  private lastKnownFailed: boolean | undefined;
  private consecutive = 0;
  /** The last `longer` known outcomes, oldest first. */
  private readonly recentOutcomes: boolean[] = [];
  /** Start times of every timed deployment, non-decreasing. */
  private readonly times: number[] = [];
  private lastFailureTime: number | undefined;
  private readonly authorOutcomes = new Map<string, boolean[]>();
  private readonly authorKnownCounts = new Map<string, number>();

  record(deployment: PastDeployment): void {
    if (deployment.time !== undefined) {
      const last = this.times[this.times.length - 1];
      if (last !== undefined && deployment.time < last) {
        throw new Error(
          `deployments must be recorded in time order: ${new Date(deployment.time).toISOString()} comes after ${new Date(last).toISOString()}`,
        );
      }
      this.times.push(deployment.time);
    }
    if (deployment.failed === undefined) return;
    this.knownCount += 1;
    this.lastKnownFailed = deployment.failed;
    if (deployment.failed) {
      this.failureCount += 1;
      this.consecutive += 1;
      if (deployment.time !== undefined) this.lastFailureTime = deployment.time;
    } else {
      this.consecutive = 0;
    }
    pushBounded(this.recentOutcomes, deployment.failed, HISTORY_WINDOWS.longer);
    if (deployment.author !== undefined) {
      let outcomes = this.authorOutcomes.get(deployment.author);
      if (!outcomes) {
        outcomes = [];
        this.authorOutcomes.set(deployment.author, outcomes);
      }
      pushBounded(outcomes, deployment.failed, HISTORY_WINDOWS.author);
      this.authorKnownCounts.set(deployment.author, (this.authorKnownCounts.get(deployment.author) ?? 0) + 1);
    }
  }

  /** The same as `historyCounts` over the recorded deployments. */
  counts(query: HistoryQuery = {}): HistoryCounts {
    if (query.author === undefined) return { knownOutcomes: this.knownCount };
    return { knownOutcomes: this.knownCount, authorKnownOutcomes: this.authorKnownCounts.get(query.author) ?? 0 };
  }

  features(query: HistoryQuery = {}): HistoryFeatures {
    const features: HistoryFeatures = {};
    if (this.lastKnownFailed !== undefined) features.previousFailed = this.lastKnownFailed ? 1 : 0;
    features.consecutiveFailures = this.consecutive;
    const recent = shareTrue(this.recentOutcomes.slice(-HISTORY_WINDOWS.recent));
    if (recent !== undefined) features.failureRateLast5 = recent;
    const longer = shareTrue(this.recentOutcomes);
    if (longer !== undefined) features.failureRateLast20 = longer;
    features.failureRateOverall =
      (this.failureCount + OVERALL_RATE_PRIOR.failures) / (this.knownCount + OVERALL_RATE_PRIOR.deployments);
    if (query.time !== undefined) {
      const lastTime = this.times[this.times.length - 1];
      if (lastTime !== undefined) features.hoursSinceLastDeployment = hoursBetween(lastTime, query.time);
      if (this.lastFailureTime !== undefined) features.hoursSinceLastFailure = hoursBetween(this.lastFailureTime, query.time);
      const since = query.time - HISTORY_WINDOWS.busyHours * HOUR_MS;
      features.deploymentsLast24h = this.times.length - firstIndexAfter(this.times, since);
    }
    if (query.author !== undefined) {
      const rate = shareTrue(this.authorOutcomes.get(query.author) ?? []);
      if (rate !== undefined) features.authorRecentFailureRate = rate;
    }
    return features;
  }
}

function pushBounded(values: boolean[], value: boolean, limit: number): void {
  values.push(value);
  if (values.length > limit) values.shift();
}

function shareTrue(values: readonly boolean[]): number | undefined {
  if (values.length === 0) return undefined;
  let count = 0;
  for (const value of values) if (value) count += 1;
  return count / values.length;
}

/** The index of the first element strictly greater than `bound` in a non-decreasing array. */
function firstIndexAfter(sorted: readonly number[], bound: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] > bound) high = middle;
    else low = middle + 1;
  }
  return low;
}
