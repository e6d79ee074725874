import { CHANGE_FIELDS, type ChangeFieldName, type ChangeFields } from './change-fields';
import { HISTORY_WINDOWS, OVERALL_RATE_PRIOR, type HistoryFeatureName, type HistoryFeatures } from './history';

/**
 * The feature schema: the one definition of the model's features (names, order, types, sources and
 * how each reads in an explanation). Training export, inference and the notebooks use it; Python
 * reads the generated copy `model/features.json` (`npx tsx model/features-json.ts` rewrites it; a
 * test fails when it is stale).
 *
 * A model version carries its own `FeatureList` (features.json next to the model): the schema's
 * features that had values in its training data, in column order, plus the extra columns of the
 * user's history and the deployment groups it knows. Inference builds vectors from that list, so a
 * model keeps working when the schema grows. Changing a definition here means a new schema version.
 */
export const FEATURE_SCHEMA_VERSION = '1';

/** Where a feature's value comes from. */
export type FeatureSource = 'change' | 'deployment' | 'history' | 'extra';

export type FeatureType =
  | 'count'
  | 'boolean'
  | 'rate'
  | 'hours'
  | 'hour-of-day'
  | 'day-of-week'
  | 'category'
  | 'number';

/**
 * How a value reads in words. Placeholders: {n} a count, {k}/{window} failures in a window,
 * {percent} a rate, {duration} a time span, {hour}, {timeZone}, {day}, {group}, {name}, {value}.
 */
export interface FeaturePhrase {
  /** When the value is missing. */
  readonly missing: string;
  /** Counts and other numbers (and rates when no window form fits). */
  readonly other?: string;
  readonly zero?: string;
  readonly one?: string;
  /** Booleans. */
  readonly yes?: string;
  readonly no?: string;
  /** Rates over a window, when the value is a whole number of failures out of the window. */
  readonly ofWindow?: string;
}

export interface FeatureDefinition {
  readonly name: string;
  readonly source: FeatureSource;
  readonly type: FeatureType;
  readonly description: string;
  readonly phrase: FeaturePhrase;
  /** For a failure rate over the last N deployments: N. */
  readonly window?: number;
}

const CHANGE_PHRASES: Record<ChangeFieldName, FeaturePhrase> = {
  commits: { one: '1 commit in the release', other: '{n} commits in the release', missing: 'number of commits unknown' },
  filesAdded: { one: '1 file added', other: '{n} files added', missing: 'files added unknown' },
  filesDeleted: { one: '1 file deleted', other: '{n} files deleted', missing: 'files deleted unknown' },
  filesModified: { one: '1 file modified', other: '{n} files modified', missing: 'files modified unknown' },
  linesAdded: { one: '1 line added', other: '{n} lines added', missing: 'lines added unknown' },
  linesDeleted: { one: '1 line deleted', other: '{n} lines deleted', missing: 'lines deleted unknown' },
  srcChurn: { one: '1 line of source changed', other: '{n} lines of source changed', missing: 'source churn unknown' },
  testChurn: {
    zero: 'no test code changed',
    one: '1 line of tests changed',
    other: '{n} lines of tests changed',
    missing: 'test churn unknown',
  },
  testFilesChanged: {
    zero: 'no test file changed',
    one: '1 test file changed',
    other: '{n} test files changed',
    missing: 'test files changed unknown',
  },
  docFilesChanged: { one: '1 documentation file changed', other: '{n} documentation files changed', missing: 'documentation files changed unknown' },
  configFilesChanged: {
    zero: 'no configuration file changed',
    one: '1 configuration file changed',
    other: '{n} configuration files changed',
    missing: 'configuration files changed unknown',
  },
  otherFilesChanged: { one: '1 other file changed', other: '{n} other files changed', missing: 'other files changed unknown' },
  distinctAuthors: { one: '1 author', other: '{n} distinct authors', missing: 'number of authors unknown' },
  authorIsCoreMember: {
    yes: 'the author is a core team member',
    no: 'the author is not a core team member',
    missing: 'author membership unknown',
  },
  authorExperience: {
    zero: "the author's first commit to the repository",
    one: 'the author has 1 earlier commit',
    other: 'the author has {n} earlier commits',
    missing: "author's experience unknown",
  },
  isPullRequest: { yes: 'built from a pull request', no: 'not built from a pull request', missing: 'pull request unknown' },
  isMainBranch: { yes: 'built from the main branch', no: 'not built from the main branch', missing: 'branch unknown' },
  commitsOnTouchedFiles: {
    one: '1 earlier commit on the touched files',
    other: '{n} earlier commits on the touched files',
    missing: 'earlier commits on the touched files unknown',
  },
};

const CHANGE_FEATURES: readonly FeatureDefinition[] = CHANGE_FIELDS.map((field) => ({
  name: field.name,
  source: 'change' as const,
  type: field.kind,
  description: field.description,
  phrase: CHANGE_PHRASES[field.name],
}));

export const DEPLOYMENT_FEATURE_NAMES = ['hourOfDay', 'dayOfWeek', 'deploymentGroup'] as const;
export type DeploymentFeatureName = (typeof DEPLOYMENT_FEATURE_NAMES)[number];

const DEPLOYMENT_FEATURES: readonly (FeatureDefinition & { name: DeploymentFeatureName })[] = [
  {
    name: 'hourOfDay',
    source: 'deployment',
    type: 'hour-of-day',
    description: 'hour of the day the deployment starts (0-23, in the model\'s time zone)',
    phrase: { other: 'deployed at {hour}:00 {timeZone}', missing: 'time of day unknown' },
  },
  {
    name: 'dayOfWeek',
    source: 'deployment',
    type: 'day-of-week',
    description: 'day of the week the deployment starts (1 = Monday ... 7 = Sunday, in the model\'s time zone)',
    phrase: { other: 'deployed on a {day}', missing: 'day of the week unknown' },
  },
  {
    name: 'deploymentGroup',
    source: 'deployment',
    type: 'category',
    description: "the deployment group, as its position in the model's list of groups",
    phrase: { other: 'deployment group {group}', missing: 'a deployment group the model has not seen' },
  },
];

const HISTORY_FEATURES: readonly (FeatureDefinition & { name: HistoryFeatureName })[] = [
  {
    name: 'previousFailed',
    source: 'history',
    type: 'boolean',
    description: "the group's previous deployment with a known outcome failed",
    phrase: { yes: 'the previous deployment failed', no: 'the previous deployment succeeded', missing: 'first deployment of the group' },
  },
  {
    name: 'consecutiveFailures',
    source: 'history',
    type: 'count',
    description: 'failures in a row just before this deployment',
    phrase: {
      zero: 'the previous deployment did not fail',
      one: 'the previous deployment failed',
      other: 'the last {n} deployments all failed',
      missing: 'no earlier deployment',
    },
  },
  {
    name: 'failureRateLast5',
    source: 'history',
    type: 'rate',
    window: HISTORY_WINDOWS.recent,
    description: `share of failures among the group's last ${HISTORY_WINDOWS.recent} deployments`,
    phrase: {
      ofWindow: '{k} of the last {window} deployments failed',
      other: '{percent} of the last few deployments failed',
      missing: 'no earlier deployment',
    },
  },
  {
    name: 'failureRateLast20',
    source: 'history',
    type: 'rate',
    window: HISTORY_WINDOWS.longer,
    description: `share of failures among the group's last ${HISTORY_WINDOWS.longer} deployments`,
    phrase: {
      ofWindow: '{k} of the last {window} deployments failed',
      other: '{percent} of the recent deployments failed',
      missing: 'no earlier deployment',
    },
  },
  {
    name: 'failureRateOverall',
    source: 'history',
    type: 'rate',
    description:
      `the group's failure rate so far, smoothed: (failures + ${OVERALL_RATE_PRIOR.failures}) / (deployments + ${OVERALL_RATE_PRIOR.deployments})`,
    phrase: { other: 'about {percent} of all deployments of this group failed', missing: 'no earlier deployment' },
  },
  {
    name: 'hoursSinceLastDeployment',
    source: 'history',
    type: 'hours',
    description: "hours since the group's previous deployment",
    phrase: { other: 'previous deployment {duration} ago', missing: 'first deployment of the group' },
  },
  {
    name: 'hoursSinceLastFailure',
    source: 'history',
    type: 'hours',
    description: "hours since the group's last failed deployment",
    phrase: { other: 'last failure {duration} ago', missing: 'no failure recorded yet' },
  },
  {
    name: 'deploymentsLast24h',
    source: 'history',
    type: 'count',
    description: `deployments of the group in the ${HISTORY_WINDOWS.busyHours} hours before this one`,
    phrase: {
      zero: 'no other deployment in the last 24 hours',
      one: '1 other deployment in the last 24 hours',
      other: '{n} other deployments in the last 24 hours',
      missing: 'deployments in the last 24 hours unknown',
    },
  },
  {
    name: 'authorRecentFailureRate',
    source: 'history',
    type: 'rate',
    window: HISTORY_WINDOWS.author,
    description: `share of failures among the author's last ${HISTORY_WINDOWS.author} deployments in the group`,
    phrase: {
      ofWindow: "{k} of the author's last {window} deployments failed",
      other: "{percent} of the author's recent deployments failed",
      missing: "the author's record is unknown",
    },
  },
];

/** Every built-in feature, in schema order (change, deployment, history). Extra columns come after. */
export const FEATURE_SCHEMA: readonly FeatureDefinition[] = [...CHANGE_FEATURES, ...DEPLOYMENT_FEATURES, ...HISTORY_FEATURES];

const SCHEMA_BY_NAME = new Map(FEATURE_SCHEMA.map((feature) => [feature.name, feature]));

/** The built-in definition of `name`, if it is one. */
export function builtInFeature(name: string): FeatureDefinition | undefined {
  return SCHEMA_BY_NAME.get(name);
}

/** The definition of an extra numeric column of a user's history, used as it is. */
export function extraFeature(column: string): FeatureDefinition {
  if (SCHEMA_BY_NAME.has(column)) {
    throw new Error(`extra feature '${column}' has the name of a built-in feature; an extra column needs another name`);
  }
  return {
    name: column,
    source: 'extra',
    type: 'number',
    description: `column '${column}' of the imported history`,
    phrase: { other: '{name} = {value}', missing: '{name} unknown' },
  };
}

/** The features of one model version, in column order: written as features.json next to the model. */
export interface FeatureList {
  readonly schemaVersion: string;
  /** IANA time zone of hourOfDay and dayOfWeek. */
  readonly timeZone: string;
  /** The deployment groups the model knows; deploymentGroup is a position in this list. */
  readonly groups: readonly string[];
  readonly features: readonly FeatureDefinition[];
}

/** A feature list of the given features (built-in names or extra columns), in that order. */
export function createFeatureList(options: {
  readonly names: readonly string[];
  readonly extra?: readonly string[];
  readonly groups?: readonly string[];
  readonly timeZone?: string;
}): FeatureList {
  const extra = new Set(options.extra ?? []);
  const features = options.names.map((name) => {
    if (extra.has(name)) return extraFeature(name);
    const definition = builtInFeature(name);
    if (!definition) throw new Error(`'${name}' is not a feature of schema version ${FEATURE_SCHEMA_VERSION}`);
    return definition;
  });
  const timeZone = options.timeZone ?? 'UTC';
  checkTimeZone(timeZone);
  return { schemaVersion: FEATURE_SCHEMA_VERSION, timeZone, groups: [...(options.groups ?? [])], features };
}

/**
 * Reads a model's features.json. Built-in features are checked against this schema (same source and
 * type): a model trained with another definition of a feature must not be fed this one's values.
 */
export function parseFeatureList(json: unknown, origin = 'features.json'): FeatureList {
  const fail = (message: string): never => {
    throw new Error(`${origin}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('expected a JSON object');
  const value = json as Record<string, unknown>;
  if (value.schemaVersion !== FEATURE_SCHEMA_VERSION) {
    fail(`feature schema version ${JSON.stringify(value.schemaVersion)} is not supported (this Deploy Guard reads version ${FEATURE_SCHEMA_VERSION})`);
  }
  if (typeof value.timeZone !== 'string') fail('timeZone must be a string');
  checkTimeZone(value.timeZone as string, origin);
  if (!Array.isArray(value.groups) || !value.groups.every((group) => typeof group === 'string')) {
    fail('groups must be a list of strings');
  }
  if (!Array.isArray(value.features) || value.features.length === 0) fail('features must be a non-empty list');
  const seen = new Set<string>();
  const features = (value.features as unknown[]).map((entry, index) => {
    const feature = entry as Partial<FeatureDefinition> | null;
    if (typeof feature !== 'object' || feature === null || typeof feature.name !== 'string') {
      return fail(`features[${index}] needs a name`);
    }
    if (seen.has(feature.name)) fail(`feature '${feature.name}' appears twice`);
    seen.add(feature.name);
    if (feature.source === 'extra') return extraFeature(feature.name);
    const definition = builtInFeature(feature.name);
    if (!definition) return fail(`features[${index}]: '${feature.name}' is not a built-in feature and not marked as extra`);
    if (feature.source !== definition.source || feature.type !== definition.type) {
      fail(`feature '${feature.name}' is ${feature.source}/${feature.type} in the model but ${definition.source}/${definition.type} in this schema`);
    }
    return definition;
  });
  return {
    schemaVersion: FEATURE_SCHEMA_VERSION,
    timeZone: value.timeZone as string,
    groups: [...(value.groups as string[])],
    features,
  };
}

/** What a feature vector is built from: one deployment, its change, its group's history and extra columns. */
export interface FeatureInputs {
  readonly group: string;
  /** When the deployment starts, in milliseconds since the epoch; absent when unknown. */
  readonly time?: number;
  readonly change: ChangeFields;
  readonly history: HistoryFeatures;
  readonly extra?: Readonly<Record<string, number>>;
}

type ValueOf = (inputs: FeatureInputs) => number;

const compiled = new WeakMap<FeatureList, readonly ValueOf[]>();

/**
 * The feature vector of one deployment, in the list's column order; a missing value is NaN (an empty
 * field in the container's CSV). The same function serves training export and inference.
 */
export function buildFeatureVector(list: FeatureList, inputs: FeatureInputs): number[] {
  let getters = compiled.get(list);
  if (!getters) {
    getters = compile(list);
    compiled.set(list, getters);
  }
  return getters.map((valueOf) => valueOf(inputs));
}

function compile(list: FeatureList): readonly ValueOf[] {
  const calendar = calendarIn(list.timeZone);
  const groupIndex = new Map(list.groups.map((group, index) => [group, index]));
  return list.features.map((feature): ValueOf => {
    const name = feature.name;
    switch (feature.source) {
      case 'change':
        return (inputs) => orMissing(inputs.change[name as ChangeFieldName]);
      case 'history':
        return (inputs) => orMissing(inputs.history[name as HistoryFeatureName]);
      case 'extra':
        return (inputs) => orMissing(inputs.extra?.[name]);
      case 'deployment':
        if (name === 'hourOfDay') return (inputs) => (inputs.time === undefined ? NaN : calendar(inputs.time).hour);
        if (name === 'dayOfWeek') return (inputs) => (inputs.time === undefined ? NaN : calendar(inputs.time).isoWeekday);
        return (inputs) => orMissing(groupIndex.get(inputs.group));
    }
  });
}

function orMissing(value: number | undefined): number {
  return value === undefined ? NaN : value;
}

interface CalendarPosition {
  readonly hour: number;
  /** 1 = Monday ... 7 = Sunday. */
  readonly isoWeekday: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function calendarIn(timeZone: string): (millis: number) => CalendarPosition {
  if (timeZone === 'UTC') {
    return (millis) => {
      const date = new Date(millis);
      return { hour: date.getUTCHours(), isoWeekday: date.getUTCDay() === 0 ? 7 : date.getUTCDay() };
    };
  }
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: 'numeric', weekday: 'short' });
  return (millis) => {
    const parts = format.formatToParts(new Date(millis));
    const hour = Number(parts.find((part) => part.type === 'hour')?.value);
    const isoWeekday = WEEKDAYS[parts.find((part) => part.type === 'weekday')?.value ?? ''];
    return { hour, isoWeekday };
  };
}

function checkTimeZone(timeZone: string, origin?: string): void {
  // UTC needs no check, and the check would load ICU's time zone data on every cold start.
  if (timeZone === 'UTC') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new Error(`${origin ? `${origin}: ` : ''}unknown time zone '${timeZone}' (use an IANA name such as 'UTC' or 'Europe/Paris')`);
  }
}

/**
 * One value as a field of the container's `text/csv`: the float32 the model will see, written as the
 * exact decimal of that float32 (so XGBoost's CSV loader at training time and `parseFloat` +
 * `Math.fround` at inference read the same number), or an empty field when missing. XGBoost 1.7's
 * loader rounds some non-zero values below 1e-6 to a neighbouring float32; feature values that small
 * do not occur in the schema's features.
 */
export function formatFeatureValue(value: number): string {
  if (Number.isNaN(value)) return '';
  if (!Number.isFinite(value)) throw new Error(`feature value ${value} cannot be sent to the model`);
  const single = Math.fround(value);
  return Object.is(single, -0) ? '0' : String(single);
}

/** A feature vector as one line of the container's `text/csv` input (no trailing newline). */
export function formatFeatureRow(vector: readonly number[]): string {
  return vector.map(formatFeatureValue).join(',');
}

/** The schema as the JSON copy Python reads (`model/features.json`). */
export function featureSchemaDocument(): object {
  return {
    generatedBy: 'model/features.ts (npx tsx model/features-json.ts); do not edit by hand',
    schemaVersion: FEATURE_SCHEMA_VERSION,
    historyWindows: HISTORY_WINDOWS,
    overallRatePrior: OVERALL_RATE_PRIOR,
    sources: {
      change: 'the Deployment Change Summary sent by the CI step that built the release',
      deployment: 'the deployment itself: when it starts and its deployment group',
      history: "computed by Deploy Guard from the outcomes it recorded for the group",
      extra: "other numeric columns of an imported history, listed in the model's features.json",
    },
    features: FEATURE_SCHEMA,
  };
}
