/**
 * CloudWatch embedded metric format (EMF), read locally: the JSON log lines Powertools Metrics writes
 * become the datapoints CloudWatch Logs would extract from them.
 *
 * A document is a JSON object with `_aws: { Timestamp, CloudWatchMetrics: [directive...] }`; each
 * directive names a Namespace, dimension sets (`Dimensions: [[key...], ...]`) and metrics
 * (`Metrics: [{ Name, Unit?, StorageResolution? }]`) whose values, and whose dimension values, are
 * members of the root object. A value may be an array (one datapoint per element). Every metric is
 * published once per dimension set; an empty set `[]` means no dimensions (and so does an empty
 * `Dimensions` list, which is read as the one set with no dimensions).
 */

export interface MetricDatapoint {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly value: number;
  readonly unit: string;
}

/** An EMF document that CloudWatch would refuse; names the field. */
export class EmfFormatError extends Error {
  override readonly name = 'EmfFormatError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`invalid EMF document: ${field}: ${problem}`);
  }
}

/** CloudWatch's metric units (PutMetricData StandardUnit). */
export const CLOUDWATCH_UNITS: ReadonlySet<string> = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second',
  'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

const MAX_DIMENSIONS_PER_SET = 30;
const MAX_VALUES_PER_METRIC = 100;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** The datapoints of one EMF document (a JSON text or the parsed object). */
export function parseEmfDocument(document: string | object): MetricDatapoint[] {
  let root: unknown = document;
  if (typeof document === 'string') {
    try {
      root = JSON.parse(document);
    } catch (error) {
      throw new EmfFormatError('(document)', `not JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(root)) throw new EmfFormatError('(document)', `expected a JSON object, got ${kindOf(root)}`);
  const aws = root._aws;
  if (!isObject(aws)) throw new EmfFormatError('_aws', `expected an object, got ${kindOf(aws)}`);
  const timestamp = aws.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0) {
    throw new EmfFormatError('_aws.Timestamp', `expected epoch milliseconds (a non-negative integer), got ${JSON.stringify(timestamp)}`);
  }
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) throw new EmfFormatError('_aws.CloudWatchMetrics', `expected an array, got ${kindOf(directives)}`);

  const datapoints: MetricDatapoint[] = [];
  directives.forEach((directive: unknown, d) => {
    const at = `_aws.CloudWatchMetrics[${d}]`;
    if (!isObject(directive)) throw new EmfFormatError(at, `expected an object, got ${kindOf(directive)}`);
    const namespace = directive.Namespace;
    if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 1024) {
      throw new EmfFormatError(`${at}.Namespace`, `expected a string of 1 to 1024 characters, got ${JSON.stringify(namespace)}`);
    }
    const dimensionSets = readDimensionSets(root as Json, directive.Dimensions, `${at}.Dimensions`);
    const metrics = directive.Metrics;
    if (!Array.isArray(metrics)) throw new EmfFormatError(`${at}.Metrics`, `expected an array, got ${kindOf(metrics)}`);
    metrics.forEach((metric: unknown, m) => {
      const metricAt = `${at}.Metrics[${m}]`;
      if (!isObject(metric)) throw new EmfFormatError(metricAt, `expected an object, got ${kindOf(metric)}`);
      const name = metric.Name;
      if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
        throw new EmfFormatError(`${metricAt}.Name`, `expected a string of 1 to 255 characters, got ${JSON.stringify(name)}`);
      }
      const unit = metric.Unit ?? 'None';
      if (typeof unit !== 'string' || !CLOUDWATCH_UNITS.has(unit)) {
        throw new EmfFormatError(`${metricAt}.Unit`, `${JSON.stringify(unit)} is not a CloudWatch unit`);
      }
      const resolution = metric.StorageResolution;
      if (resolution !== undefined && resolution !== 1 && resolution !== 60) {
        throw new EmfFormatError(`${metricAt}.StorageResolution`, `expected 1 or 60, got ${JSON.stringify(resolution)}`);
      }
      const values = readValues(root as Json, name);
      for (const dimensions of dimensionSets) {
        for (const value of values) datapoints.push({ namespace, metricName: name, dimensions, timestamp, value, unit });
      }
    });
  });
  return datapoints;
}

function readDimensionSets(root: Json, sets: unknown, at: string): Record<string, string>[] {
  if (!Array.isArray(sets)) throw new EmfFormatError(at, `expected an array of dimension sets, got ${kindOf(sets)}`);
  if (sets.length === 0) return [{}];
  return sets.map((set: unknown, s) => {
    if (!Array.isArray(set)) throw new EmfFormatError(`${at}[${s}]`, `expected an array of dimension names, got ${kindOf(set)}`);
    if (set.length > MAX_DIMENSIONS_PER_SET) {
      throw new EmfFormatError(`${at}[${s}]`, `has ${set.length} dimensions, at most ${MAX_DIMENSIONS_PER_SET} are allowed`);
    }
    const dimensions: Record<string, string> = {};
    set.forEach((key: unknown, k) => {
      if (typeof key !== 'string' || key.length === 0) {
        throw new EmfFormatError(`${at}[${s}][${k}]`, `expected a dimension name, got ${JSON.stringify(key)}`);
      }
      const value = root[key];
      if (typeof value !== 'string' || value.length === 0) {
        throw new EmfFormatError(key, `dimension '${key}' (${at}[${s}][${k}]) needs a non-empty string value at the root, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
      }
      dimensions[key] = value;
    });
    return dimensions;
  });
}

function readValues(root: Json, name: string): number[] {
  const raw = root[name];
  if (raw === undefined) throw new EmfFormatError(name, `metric '${name}' has no value at the root`);
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0 || values.length > MAX_VALUES_PER_METRIC) {
    throw new EmfFormatError(name, `expected 1 to ${MAX_VALUES_PER_METRIC} values, got ${values.length}`);
  }
  return values.map((value: unknown, i) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new EmfFormatError(Array.isArray(raw) ? `${name}[${i}]` : name, `expected a finite number, got ${JSON.stringify(value)}`);
    }
    return value;
  });
}

/**
 * The datapoints of every EMF document in a log (one JSON document per line, as Lambda writes
 * them). Lines that are not JSON objects with `_aws.CloudWatchMetrics` (ordinary log lines) are
 * skipped, as CloudWatch Logs skips them; an EMF line that is malformed throws, naming its line.
 */
export function parseEmfLog(log: string): MetricDatapoint[] {
  const datapoints: MetricDatapoint[] = [];
  log.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return;
    }
    if (!isObject(parsed) || !isObject(parsed._aws) || !('CloudWatchMetrics' in parsed._aws)) return;
    try {
      datapoints.push(...parseEmfDocument(parsed));
    } catch (error) {
      if (error instanceof EmfFormatError) throw new EmfFormatError(`line ${i + 1}: ${error.field}`, error.problem);
      throw error;
    }
  });
  return datapoints;
}
