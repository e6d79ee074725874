import { HISTORY_WINDOWS, OVERALL_RATE_PRIOR, type HistoryFeatures } from '../model/history';

// Read once: an imported constant is a getter call on every access in the transpiled module.
const { recent: RECENT, longer: LONGER, author: AUTHOR, busyHours: BUSY_HOURS } = HISTORY_WINDOWS;
const PRIOR_FAILURES = OVERALL_RATE_PRIOR.failures;
const PRIOR_DEPLOYMENTS = OVERALL_RATE_PRIOR.deployments;
const HOUR_MS = 3_600_000;

/**
 * One deployment group's history as one policy observed it, with the history features exactly as
 * predict computes them from its store: the `limit` most recent finished deployments that started
 * before the query (handlers/adapters/in-memory-stores.ts groupHistory, ordered by start time and
 * deployment id), the failure rates over their known outcomes, and failureRateOverall from the
 * group's full counts (handlers/predict-domain.ts historyFeatures). A test holds it to those
 * functions on random histories.
 *
 * Incremental: a query walks back from the newest entry and stops as soon as every feature is
 * settled (20 known outcomes, the run of failures ended, the last failure and the author's 5 known
 * outcomes found), at most `limit` entries; recording is an append (an insertion when a deployment
 * finishes after one that started later).
 */
export class ObservedHistory {
  private readonly times: number[] = [];
  private readonly ids: string[] = [];
  /** 1 failed, 0 succeeded, -1 unknown (stopped). */
  private readonly outcomes: number[] = [];
  private readonly authors: (string | undefined)[] = [];
  private known = 0;
  private failures = 0;

  /** @param limit deployments predict reads (handlers/predict.ts DEFAULT_HISTORY_LIMIT, or the group's historyLimit) */
  constructor(private readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= HISTORY_WINDOWS.longer)) {
      throw new RangeError(`a history read needs at least the last ${HISTORY_WINDOWS.longer} deployments, got a limit of ${limit}`);
    }
  }

  get length(): number {
    return this.times.length;
  }

  /** A finished deployment: `failed` undefined when its outcome is unknown (it was stopped). */
  record(entry: { readonly id: string; readonly start: number; readonly failed?: boolean; readonly author?: string }): void {
    let index = this.times.length;
    while (index > 0 && (this.times[index - 1] > entry.start || (this.times[index - 1] === entry.start && this.ids[index - 1] > entry.id))) index -= 1;
    const outcome = entry.failed === undefined ? -1 : entry.failed ? 1 : 0;
    if (index === this.times.length) {
      this.times.push(entry.start);
      this.ids.push(entry.id);
      this.outcomes.push(outcome);
      this.authors.push(entry.author);
    } else {
      this.times.splice(index, 0, entry.start);
      this.ids.splice(index, 0, entry.id);
      this.outcomes.splice(index, 0, outcome);
      this.authors.splice(index, 0, entry.author);
    }
    if (outcome >= 0) this.known += 1;
    if (outcome === 1) this.failures += 1;
  }

  /** The latest known outcome (the one before `time`): what Parrot repeats; undefined when none is known. */
  previousFailed(time: number): boolean | undefined {
    const end = this.end(time);
    for (let index = end - 1; index >= 0; index -= 1) if (this.outcomes[index] >= 0) return this.outcomes[index] === 1;
    return undefined;
  }

  /** The history features of a deployment starting at `query.time`, as predict computes them. */
  features(query: { readonly time: number; readonly author?: string }): HistoryFeatures {
    const { times, outcomes, authors } = this;
    const end = this.end(query.time);
    const start = Math.max(0, end - this.limit);
    let known = this.known;
    let failures = this.failures;
    for (let index = end; index < times.length; index += 1) {
      if (outcomes[index] >= 0) known -= 1;
      if (outcomes[index] === 1) failures -= 1;
    }

    let seenKnown = 0;
    let failuresLast5 = 0;
    let failuresLast20 = 0;
    let previous = -1;
    let consecutive = 0;
    let runOpen = true;
    let lastFailure: number | undefined;
    const author = query.author;
    let authorKnown = author === undefined ? AUTHOR : 0;
    let authorFailures = 0;
    for (let index = end - 1; index >= start; index -= 1) {
      const outcome = outcomes[index];
      if (outcome < 0) continue;
      if (previous < 0) previous = outcome;
      if (runOpen) {
        if (outcome === 1) consecutive += 1;
        else runOpen = false;
      }
      if (seenKnown < LONGER) {
        if (seenKnown < RECENT) failuresLast5 += outcome;
        failuresLast20 += outcome;
        seenKnown += 1;
      }
      if (outcome === 1 && lastFailure === undefined) lastFailure = times[index];
      if (authorKnown < AUTHOR && authors[index] === author) {
        authorKnown += 1;
        authorFailures += outcome;
      }
      if (seenKnown >= LONGER && !runOpen && lastFailure !== undefined && authorKnown >= AUTHOR) break;
    }

    const features: HistoryFeatures = {};
    if (previous >= 0) features.previousFailed = previous;
    features.consecutiveFailures = consecutive;
    if (seenKnown > 0) {
      features.failureRateLast5 = failuresLast5 / Math.min(seenKnown, RECENT);
      features.failureRateLast20 = failuresLast20 / seenKnown;
    }
    features.failureRateOverall = (failures + PRIOR_FAILURES) / (known + PRIOR_DEPLOYMENTS);
    if (end > start) features.hoursSinceLastDeployment = hoursBetween(times[end - 1], query.time);
    if (lastFailure !== undefined) features.hoursSinceLastFailure = hoursBetween(lastFailure, query.time);
    const since = query.time - BUSY_HOURS * HOUR_MS;
    features.deploymentsLast24h = end - Math.max(start, this.firstAfter(since, end));
    if (author !== undefined && authorKnown > 0) features.authorRecentFailureRate = authorFailures / authorKnown;
    return features;
  }

  /** Index of the first entry starting at or after `time` (predict reads the deployments before it). */
  private end(time: number): number {
    const { times } = this;
    let index = times.length;
    // Almost always every entry started before: the walk back is one comparison.
    while (index > 0 && times[index - 1] >= time) index -= 1;
    return index;
  }

  /** Index of the first entry in [0, end) that started after `time`. */
  private firstAfter(time: number, end: number): number {
    let low = 0;
    let high = end;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.times[middle] > time) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

function hoursBetween(from: number, to: number): number {
  return Math.max(0, to - from) / HOUR_MS;
}
