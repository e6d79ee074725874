import { type FeatureList, FEATURE_SCHEMA, buildFeatureVector, createFeatureList, formatFeatureRow } from './features';
import { HistoryAccumulator, type HistoryFeatures, type HistoryQuery, type PastDeployment } from './history';
import { inTimeOrder } from './import';
import { type DeploymentRecord, recordFinishTime, recordTime } from './records';

/**
 * Training export: canonical records to the container's training input. History features are
 * computed as a prediction at each deployment's start computes them online: from the group's
 * deployments that finished by then (HistoryAtStart). Each group is split by time into train /
 * validation / test windows (the past trains, the future tests).
 */

export const WINDOWS = ['train', 'validation', 'test'] as const;
export type Window = (typeof WINDOWS)[number];

export interface SplitOptions {
  /** Share of each group's deployments, taken just before the test window, used for validation. */
  readonly validationFraction: number;
  /** Share of each group's most recent deployments held out as the test window. */
  readonly testFraction: number;
}

export const DEFAULT_SPLIT: SplitOptions = { validationFraction: 0.1, testFraction: 0.2 };

export interface Example {
  readonly group: string;
  readonly time: string | null;
  readonly failed: boolean;
  readonly window: Window;
  readonly history: HistoryFeatures;
  /** The feature vector in the feature list's column order; NaN is missing. */
  readonly vector: number[];
}

export interface TrainingSet {
  readonly featureList: FeatureList;
  readonly examples: readonly Example[];
  /** Schema features left out because no deployment of the training window has a value for them. */
  readonly featuresWithoutValues: readonly string[];
}

export function checkSplit(split: SplitOptions): void {
  const { validationFraction, testFraction } = split;
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new Error(`validation fraction must be between 0 and 1 (exclusive), got ${validationFraction}`);
  }
  if (!(testFraction >= 0 && testFraction < 1)) throw new Error(`test fraction must be at least 0 and below 1, got ${testFraction}`);
  if (validationFraction + testFraction >= 1) {
    throw new Error(`validation fraction + test fraction must leave a training window, got ${validationFraction} + ${testFraction}`);
  }
}

/** Which window each of a group's `count` deployments (in time order) falls in. */
export function splitWindows(count: number, split: SplitOptions): Window[] {
  const test = Math.round(count * split.testFraction);
  const validation = Math.round(count * split.validationFraction);
  const train = Math.max(count - test - validation, 0);
  return Array.from({ length: count }, (_, index) => (index < train ? 'train' : index < train + validation ? 'validation' : 'test'));
}

/**
 * The examples of a history: one per deployment with a known outcome (a deployment that was stopped
 * before it could show counts in the history of the ones after it, but is no example). Each
 * example's history features are those of HistoryAtStart: its group's deployments that finished at
 * or before its start. The feature list holds the schema's features that have a value in the
 * training window (a column XGBoost never saw a value in cannot be learned, and a trailing all-empty
 * column would shrink the matrix XGBoost's CSV loader builds), then the extra columns, and the groups
 * seen in training.
 */
export function buildTrainingSet(
  records: readonly DeploymentRecord[],
  options: SplitOptions & { readonly timeZone?: string } = DEFAULT_SPLIT,
): TrainingSet {
  checkSplit(options);
  const ordered = inTimeOrder(records);
  const byGroup = new Map<string, DeploymentRecord[]>();
  for (const record of ordered) {
    const list = byGroup.get(record.group) ?? [];
    list.push(record);
    byGroup.set(record.group, list);
  }
  const extraNames: string[] = [];
  const extraSeen = new Set<string>();
  for (const record of ordered) {
    for (const name of Object.keys(record.extra)) {
      if (!extraSeen.has(name)) {
        extraSeen.add(name);
        extraNames.push(name);
      }
    }
  }

  const drafts: (Omit<Example, 'vector'> & { readonly record: DeploymentRecord })[] = [];
  const trainingGroups = new Set<string>();
  for (const [group, list] of byGroup) {
    const windows = splitWindows(list.length, options);
    const history = new HistoryAtStart();
    list.forEach((record, index) => {
      const time = recordTime(record);
      if (record.failed !== null) {
        drafts.push({
          group,
          time: record.time,
          failed: record.failed,
          window: windows[index],
          history: history.features({ time, author: record.author }),
          record,
        });
        if (windows[index] === 'train') trainingGroups.add(group);
      }
      history.finishes(recordFinishTime(record), { time, failed: record.failed ?? undefined, author: record.author });
    });
  }

  const groups = [...trainingGroups].sort();
  const full = createFeatureList({
    names: [...FEATURE_SCHEMA.map((feature) => feature.name), ...extraNames],
    extra: extraNames,
    groups,
    timeZone: options.timeZone,
  });
  const fullVectors = drafts.map((draft) =>
    buildFeatureVector(full, {
      group: draft.group,
      time: recordTime(draft.record),
      change: draft.record.change,
      history: draft.history,
      extra: draft.record.extra,
    }),
  );
  const hasValue = full.features.map((_, column) =>
    drafts.some((draft, index) => draft.window === 'train' && !Number.isNaN(fullVectors[index][column])),
  );
  const kept = full.features.filter((_, column) => hasValue[column]);
  const featureList = createFeatureList({
    names: kept.map((feature) => feature.name),
    extra: extraNames,
    groups,
    timeZone: options.timeZone,
  });
  const keptColumns = hasValue.flatMap((keep, column) => (keep ? [column] : []));
  const examples = drafts.map(({ record: _record, ...draft }, index) => ({
    ...draft,
    vector: keptColumns.map((column) => fullVectors[index][column]),
  }));
  const featuresWithoutValues = full.features.filter((_, column) => !hasValue[column]).map((feature) => feature.name);
  return { featureList, examples, featuresWithoutValues };
}

/**
 * A group's history as the prediction at a deployment's start sees it online, where an outcome is
 * recorded only when its deployment finishes: the deployments that finished at or before that start,
 * and no other, in every history feature (hoursSinceLastDeployment and deploymentsLast24h included).
 * With hour-granularity times and ASSUMED_DEPLOYMENT_DURATION_MS, a deployment of the same hour is
 * not seen and one of an earlier hour is. Feed the group's deployments in start order: each waits
 * until a deployment starts at or after its finish, then enters the accumulator (in start order, as
 * it requires). A history without timestamps has no finish times: there each deployment is seen by
 * every later one, file order being all that is known.
 */
export class HistoryAtStart {
  private readonly accumulator = new HistoryAccumulator();
  /** Deployments not yet finished at the latest start asked about, in start order. */
  private readonly running: { readonly finish: number | undefined; readonly deployment: PastDeployment }[] = [];

  /** Adds a deployment whose outcome is known from `finish` on (undefined: from the next deployment on). */
  finishes(finish: number | undefined, deployment: PastDeployment): void {
    this.running.push({ finish, deployment });
  }

  /** The history features of a deployment starting at `query.time`; starts must be asked in non-decreasing order. */
  features(query: HistoryQuery): HistoryFeatures {
    while (this.running.length > 0 && finishedBy(this.running[0].finish, query.time)) {
      this.accumulator.record(this.running[0].deployment);
      this.running.shift();
    }
    return this.accumulator.features(query);
  }
}

/** Whether a deployment finishing at `finish` is in the history of one starting at `start`; without a time, file order decides. */
function finishedBy(finish: number | undefined, start: number | undefined): boolean {
  return finish === undefined || start === undefined || finish <= start;
}

/** One line of the container's training CSV: the label (1 failed, 0 succeeded), then the features. No header. */
export function formatTrainingLine(example: Pick<Example, 'failed' | 'vector'>): string {
  return `${example.failed ? 1 : 0},${formatFeatureRow(example.vector)}`;
}

/** The container CSV of one window, in time order per group. */
export function trainingCsv(examples: readonly Example[], window: Window): string {
  let text = '';
  for (const example of examples) if (example.window === window) text += `${formatTrainingLine(example)}\n`;
  return text;
}
