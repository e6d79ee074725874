/**
 * A local CloudWatch: a metric store and an evaluator of the stack's metric alarms (read from the
 * synthesized Terraform by local/terraform-wiring.ts), on a virtual clock.
 *
 * Alarms are evaluated at every period boundary (periods aligned on the epoch, as CloudWatch aligns
 * them) up to the time passed to `evaluate(now)`; the period that ends at the boundary is the newest
 * datapoint. Each state change produces a `CloudWatch Alarm State Change` event shaped as AWS sends
 * it (events/samples/cloudwatch-alarm-state-change.*.json), with AWS's reason texts.
 *
 * Missing data, as CloudWatch documents it ("Configuring how CloudWatch alarms treat missing data"):
 * - `breaching` / `notBreaching`: the last N periods are evaluated, a missing one counts as breaching
 *   / not breaching;
 * - `missing` / `ignore`: the most recent N datapoints that exist within the evaluation range (the
 *   last N + 2 periods, as in CloudWatch's documented example) are evaluated. With no datapoint at
 *   all, `missing` goes to INSUFFICIENT_DATA and `ignore` keeps the current state. When fewer
 *   datapoints exist than the alarm needs (M), ALARM needs all of them breaching under `missing`;
 *   under `ignore` that case keeps the current state.
 * ALARM when at least M (datapoints to alarm) of the evaluated datapoints breach, OK otherwise.
 */

import { createHash } from 'node:crypto';
import { CLOUDWATCH_ALARM_STATE_CHANGE, CLOUDWATCH_SOURCE, type AlarmStateValue } from '../events/aws';
import { eventBridgeTime } from '../events/clock';
import { parseEmfLog, type MetricDatapoint } from './emf';
import { evaluateExpression, parseExpression, type ParsedExpression } from './metric-math';
import type { AlarmMetric, AlarmWiring, ComparisonOperator } from './terraform-wiring';

export const SUPPORTED_STATISTICS = ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'] as const;
type Statistic = (typeof SUPPORTED_STATISTICS)[number];

/** Periods looked back beyond the evaluation periods for `missing` / `ignore` (CloudWatch's documented example: 5 for 3). */
export const EVALUATION_RANGE_EXTRA_PERIODS = 2;

export interface AlarmState {
  readonly value: AlarmStateValue;
  readonly reason: string;
  readonly reasonData?: string;
  /** CloudWatch's form: `2019-10-02T17:04:40.989+0000`. */
  readonly timestamp: string;
}

export interface AlarmConfigurationMetric {
  readonly id: string;
  readonly expression?: string;
  readonly label?: string;
  readonly metricStat?: {
    readonly metric: { readonly dimensions: Readonly<Record<string, string>>; readonly name: string; readonly namespace: string };
    readonly period: number;
    readonly stat: string;
    readonly unit?: string;
  };
  readonly returnData: boolean;
}

/** A `CloudWatch Alarm State Change` event, as EventBridge delivers it. */
export interface AlarmStateChangeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': typeof CLOUDWATCH_ALARM_STATE_CHANGE;
  readonly source: typeof CLOUDWATCH_SOURCE;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly alarmName: string;
    readonly configuration: { readonly description?: string; readonly metrics: readonly AlarmConfigurationMetric[] };
    readonly previousState: AlarmState;
    readonly state: AlarmState;
  };
}

export interface LocalCloudWatchOptions {
  readonly alarms: readonly AlarmWiring[];
  readonly region: string;
  readonly account: string;
  /** When the alarms were created: the first evaluation is at the first period boundary after it. */
  readonly start: number | string | Date;
  /** Receives every state-change event, in time order, as evaluate() produces it. */
  readonly onStateChange?: (event: AlarmStateChangeEvent) => void;
}

/** A datapoint of a metric, as the store keeps it. */
class MetricSeries {
  readonly times: number[] = [];
  readonly values: number[] = [];
  readonly units: string[] = [];

  add(time: number, value: number, unit: string): void {
    const n = this.times.length;
    if (n === 0 || time >= this.times[n - 1]!) {
      this.times.push(time);
      this.values.push(value);
      this.units.push(unit);
      return;
    }
    const at = lowerBound(this.times, time + 1);
    this.times.splice(at, 0, time);
    this.values.splice(at, 0, value);
    this.units.splice(at, 0, unit);
  }

  /** The statistic over [start, end), NaN when no datapoint (of `unit`, when given) falls in it. */
  statistic(stat: Statistic, start: number, end: number, unit: string | undefined): number {
    const from = lowerBound(this.times, start);
    const to = lowerBound(this.times, end);
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = from; i < to; i++) {
      if (unit !== undefined && this.units[i] !== unit) continue;
      const v = this.values[i]!;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (count === 0) return Number.NaN;
    switch (stat) {
      case 'SampleCount':
        return count;
      case 'Sum':
        return sum;
      case 'Average':
        return sum / count;
      case 'Minimum':
        return min;
      case 'Maximum':
        return max;
    }
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function metricKey(namespace: string, name: string, dimensions: Readonly<Record<string, string>>): string {
  let names: string[] | undefined;
  for (const key in dimensions) (names ??= []).push(key);
  if (!names) return `${namespace}\u0000${name}\u0000`;
  if (names.length > 1) names.sort();
  let dims = '';
  for (const key of names) dims += `${key}=${dimensions[key]}\u0001`;
  return `${namespace}\u0000${name}\u0000${dims}`;
}

interface CompiledMetric {
  readonly key: string;
  readonly stat: Statistic;
  readonly unit?: string;
}

interface CompiledAlarm {
  readonly wiring: AlarmWiring;
  readonly arn: string;
  readonly periodMs: number;
  readonly period: number;
  readonly single?: CompiledMetric;
  readonly queryMetrics: readonly { readonly id: string; readonly metric: CompiledMetric }[];
  readonly expressions: readonly { readonly id: string; readonly parsed: ParsedExpression }[];
  readonly returnedId: string;
  readonly configuration: AlarmStateChangeEvent['detail']['configuration'];
  state: AlarmState;
  /** The last boundary evaluated (ms). */
  evaluatedUpTo: number;
}

/** The alarm definition cannot be evaluated locally; names the alarm. */
export class AlarmDefinitionError extends Error {
  override readonly name = 'AlarmDefinitionError';
}

export class LocalCloudWatch {
  private readonly series = new Map<string, MetricSeries>();
  private readonly alarms: CompiledAlarm[];
  private readonly options: LocalCloudWatchOptions;

  constructor(options: LocalCloudWatchOptions) {
    this.options = options;
    const start = toMillis(options.start, 'LocalCloudWatch start');
    const names = new Set<string>();
    this.alarms = options.alarms.map((wiring) => {
      if (names.has(wiring.alarmName)) throw new AlarmDefinitionError(`alarm '${wiring.alarmName}' (${wiring.address}) is defined twice`);
      names.add(wiring.alarmName);
      return this.compile(wiring, start);
    });
  }

  /** Stores datapoints (e.g. from local/emf.ts). */
  putDatapoints(datapoints: readonly MetricDatapoint[]): void {
    for (const point of datapoints) {
      if (!Number.isFinite(point.timestamp) || !Number.isFinite(point.value)) {
        throw new Error(`datapoint ${point.namespace}/${point.metricName} needs a finite timestamp and value, got ${point.timestamp} / ${point.value}`);
      }
      const key = metricKey(point.namespace, point.metricName, point.dimensions);
      let series = this.series.get(key);
      if (!series) {
        series = new MetricSeries();
        this.series.set(key, series);
      }
      series.add(point.timestamp, point.value, point.unit);
    }
  }

  /** Stores the datapoints of every EMF document in a log (Powertools Metrics output). */
  putEmfLog(log: string): void {
    this.putDatapoints(parseEmfLog(log));
  }

  /** The statistic of a metric over [start, start + periodSeconds), or undefined when it has no datapoint. */
  statistic(metric: Pick<AlarmMetric, 'namespace' | 'metricName' | 'dimensions' | 'stat' | 'unit'>, start: number, periodSeconds: number): number | undefined {
    const value = this.series.get(metricKey(metric.namespace, metric.metricName, metric.dimensions))?.statistic(
      checkStatistic(metric.stat, 'statistic()'),
      start,
      start + periodSeconds * 1000,
      metric.unit,
    );
    return value === undefined || Number.isNaN(value) ? undefined : value;
  }

  /** The current state of an alarm. */
  alarmState(alarmName: string): AlarmState {
    const alarm = this.alarms.find((candidate) => candidate.wiring.alarmName === alarmName);
    if (!alarm) throw new Error(`no alarm named '${alarmName}'; the alarms are ${this.alarms.map((a) => a.wiring.alarmName).join(', ') || 'none'}`);
    return alarm.state;
  }

  /**
   * Evaluates every alarm at each of its period boundaries after the last evaluation, up to and
   * including `now` (ms, or a time). Returns the state-change events in time order; each is also
   * passed to onStateChange.
   */
  evaluate(now: number | string | Date): AlarmStateChangeEvent[] {
    const until = toMillis(now, 'evaluate(now)');
    const events: AlarmStateChangeEvent[] = [];
    for (const alarm of this.alarms) {
      const first = Math.floor(alarm.evaluatedUpTo / alarm.periodMs) * alarm.periodMs + alarm.periodMs;
      for (let boundary = first; boundary <= until; ) {
        const event = this.evaluateAt(alarm, boundary);
        if (event) events.push(event);
        alarm.evaluatedUpTo = boundary;
        let next = boundary + alarm.periodMs;
        // An empty window evaluates the same until a datapoint enters it: jump to that boundary.
        if (this.windowIsEmpty(alarm, boundary)) {
          const upcoming = this.nextDatapoint(alarm, boundary);
          const enters = upcoming === undefined ? Number.POSITIVE_INFINITY : Math.floor(upcoming / alarm.periodMs) * alarm.periodMs + alarm.periodMs;
          if (enters > until) {
            alarm.evaluatedUpTo = Math.max(boundary, Math.floor(until / alarm.periodMs) * alarm.periodMs);
            break;
          }
          next = Math.max(next, enters);
        }
        boundary = next;
      }
    }
    events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    for (const event of events) this.options.onStateChange?.(event);
    return events;
  }

  // -------------------------------------------------------------------------------------------

  private compile(wiring: AlarmWiring, start: number): CompiledAlarm {
    const where = `alarm '${wiring.alarmName}' (${wiring.address})`;
    const compileMetric = (metric: AlarmMetric): CompiledMetric => ({
      key: metricKey(metric.namespace, metric.metricName, metric.dimensions),
      stat: checkStatistic(metric.stat, where),
      ...(metric.unit === undefined ? {} : { unit: metric.unit }),
    });
    const base = {
      wiring,
      arn: `arn:aws:cloudwatch:${this.options.region}:${this.options.account}:alarm:${wiring.alarmName}`,
      state: { value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', timestamp: cloudWatchTime(start) } as AlarmState,
      evaluatedUpTo: start,
    };
    if (wiring.metric) {
      const metric = wiring.metric;
      return {
        ...base,
        period: metric.period,
        periodMs: metric.period * 1000,
        single: compileMetric(metric),
        queryMetrics: [],
        expressions: [],
        returnedId: '',
        configuration: {
          ...(wiring.description === undefined ? {} : { description: wiring.description }),
          metrics: [
            {
              id: deterministicUuid(`metric:${wiring.alarmName}`),
              metricStat: metricStatOf(metric),
              returnData: true,
            },
          ],
        },
      };
    }
    const queries = wiring.metricQueries;
    if (!queries || queries.length === 0) throw new AlarmDefinitionError(`${where} has neither a metric nor metric queries`);
    const periods = new Set(queries.flatMap((query) => (query.metric ? [query.metric.period] : [])));
    if (periods.size !== 1) throw new AlarmDefinitionError(`${where}: its metrics must share one period, found ${[...periods].join(', ') || 'none'}`);
    const period = [...periods][0]!;
    const returned = queries.filter((query) => query.returnData);
    if (returned.length !== 1) throw new AlarmDefinitionError(`${where}: exactly one metric query must return data, found ${returned.length}`);
    const parsed = new Map<string, ParsedExpression>();
    for (const query of queries) {
      if (query.expression !== undefined) parsed.set(query.id, parseExpression(query.expression));
    }
    const metricIds = queries.filter((query) => query.metric).map((query) => query.id);
    // Expressions in dependency order; a cycle is an error.
    const ordered: { id: string; parsed: ParsedExpression }[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: readonly string[]): void => {
      const expression = parsed.get(id);
      if (!expression || state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') throw new AlarmDefinitionError(`${where}: metric math expressions refer to each other in a cycle: ${[...path, id].join(' -> ')}`);
      state.set(id, 'visiting');
      const reads = expression.usesMetrics ? [...expression.ids, ...metricIds] : expression.ids;
      for (const read of reads) {
        if (!queries.some((query) => query.id === read)) throw new AlarmDefinitionError(`${where}: expression '${expression.text}' reads unknown id '${read}'`);
        visit(read, [...path, id]);
      }
      state.set(id, 'done');
      ordered.push({ id, parsed: expression });
    };
    for (const id of parsed.keys()) visit(id, []);
    return {
      ...base,
      period,
      periodMs: period * 1000,
      queryMetrics: queries.flatMap((query) => (query.metric ? [{ id: query.id, metric: compileMetric(query.metric) }] : [])),
      expressions: ordered,
      returnedId: returned[0]!.id,
      configuration: {
        ...(wiring.description === undefined ? {} : { description: wiring.description }),
        metrics: queries.map((query): AlarmConfigurationMetric => {
          if (query.metric) return { id: query.id, metricStat: metricStatOf(query.metric), returnData: query.returnData };
          return { expression: query.expression!, id: query.id, ...(query.label === undefined ? {} : { label: query.label }), returnData: query.returnData };
        }),
      },
    };
  }

  private metricsOf(alarm: CompiledAlarm): readonly CompiledMetric[] {
    return alarm.single ? [alarm.single] : alarm.queryMetrics.map((query) => query.metric);
  }

  /** Whether no metric of the alarm has a datapoint in the evaluation range that ends at `boundary`. */
  private windowIsEmpty(alarm: CompiledAlarm, boundary: number): boolean {
    const start = boundary - rangeOf(alarm) * alarm.periodMs;
    return this.metricsOf(alarm).every((metric) => {
      const times = this.series.get(metric.key)?.times;
      if (!times) return true;
      const at = lowerBound(times, start);
      return at === times.length || times[at]! >= boundary;
    });
  }

  /** The earliest datapoint time at or after `time` among the alarm's metrics. */
  private nextDatapoint(alarm: CompiledAlarm, time: number): number | undefined {
    let earliest: number | undefined;
    for (const metric of this.metricsOf(alarm)) {
      const times = this.series.get(metric.key)?.times;
      if (!times) continue;
      const at = lowerBound(times, time);
      if (at < times.length && (earliest === undefined || times[at]! < earliest)) earliest = times[at]!;
    }
    return earliest;
  }

  /** The alarm's values for the `count` periods ending at `boundary`, oldest first (NaN = missing). */
  private values(alarm: CompiledAlarm, boundary: number, count: number): Float64Array {
    const out = new Float64Array(count);
    const startOf = (i: number): number => boundary - (count - i) * alarm.periodMs;
    const fill = (metric: CompiledMetric, target: Float64Array): void => {
      const series = this.series.get(metric.key);
      for (let i = 0; i < count; i++) {
        target[i] = series ? series.statistic(metric.stat, startOf(i), startOf(i) + alarm.periodMs, metric.unit) : Number.NaN;
      }
    };
    if (alarm.single) {
      fill(alarm.single, out);
      return out;
    }
    const series: Record<string, Float64Array> = {};
    for (const { id, metric } of alarm.queryMetrics) {
      series[id] = new Float64Array(count);
      fill(metric, series[id]);
    }
    const metricIds = alarm.queryMetrics.map((query) => query.id);
    for (const { id, parsed } of alarm.expressions) {
      series[id] = evaluateExpression(parsed, { series, length: count, metricIds });
    }
    return series[alarm.returnedId]!;
  }

  private evaluateAt(alarm: CompiledAlarm, boundary: number): AlarmStateChangeEvent | undefined {
    const { wiring } = alarm;
    const n = wiring.evaluationPeriods;
    const m = wiring.datapointsToAlarm;
    const treat = wiring.treatMissingData;
    const range = rangeOf(alarm);
    const values = this.values(alarm, boundary, range);
    const startOf = (i: number): number => boundary - (range - i) * alarm.periodMs;
    const breaches = (v: number): boolean => compare(wiring.comparisonOperator, v, wiring.threshold);

    // The evaluated points, oldest first: index into the range, value (NaN = missing) and verdict.
    let evaluated: { index: number; value: number; breaching: boolean }[];
    if (treat === 'breaching' || treat === 'notBreaching') {
      evaluated = [];
      for (let i = range - n; i < range; i++) {
        const v = values[i]!;
        evaluated.push({ index: i, value: v, breaching: Number.isNaN(v) ? treat === 'breaching' : breaches(v) });
      }
    } else {
      const present: number[] = [];
      for (let i = range - 1; i >= 0 && present.length < n; i--) if (!Number.isNaN(values[i]!)) present.unshift(i);
      evaluated = present.map((i) => ({ index: i, value: values[i]!, breaching: breaches(values[i]!) }));
    }
    // The verdict first; texts are written only on a state change (most evaluations change nothing).
    const presentPoints = evaluated.filter((point) => !Number.isNaN(point.value));
    let value: AlarmStateValue;
    let describe: () => string;
    if (presentPoints.length === 0 && (treat === 'missing' || treat === 'ignore')) {
      if (treat === 'ignore') return undefined;
      value = 'INSUFFICIENT_DATA';
      describe = () => `Insufficient Data: ${n} datapoint${n === 1 ? ' was' : 's were'} unknown.`;
    } else if (presentPoints.length === 0) {
      value = treat === 'breaching' ? 'ALARM' : 'OK';
      describe = () =>
        `Threshold Crossed: no datapoints were received for ${n} period${n === 1 ? '' : 's'} and ${n} missing datapoint${n === 1 ? ' was' : 's were'} treated as [${treat === 'breaching' ? 'Breaching' : 'NonBreaching'}].`;
    } else {
      const breaching = evaluated.filter((point) => point.breaching).length;
      if (breaching >= m) value = 'ALARM';
      else if (evaluated.length < m && breaching === evaluated.length) {
        if (treat === 'ignore') return undefined;
        value = 'ALARM';
      } else value = 'OK';
      const alarming = value === 'ALARM';
      describe = () => {
        const counted = alarming ? breaching : evaluated.length - breaching;
        const minimum = alarming ? Math.min(m, evaluated.length) : n - m + 1;
        const listed = [...presentPoints].reverse().map((point) => `${javaDouble(point.value)} (${reasonDate(startOf(point.index))})`);
        return (
          `Threshold Crossed: ${counted} out of the last ${evaluated.length} datapoints [${listed.join(', ')}] ${counted === 1 ? 'was' : 'were'} ` +
          `${alarming ? '' : 'not '}${PHRASES[wiring.comparisonOperator]} the threshold (${javaDouble(wiring.threshold)}) ` +
          `(minimum ${minimum} datapoint${minimum === 1 ? '' : 's'} for ${alarming ? 'OK -> ALARM' : 'ALARM -> OK'} transition).`
        );
      };
    }
    if (value === alarm.state.value) return undefined;

    const queryDate = cloudWatchTime(boundary);
    const reported = value === 'INSUFFICIENT_DATA' ? [] : evaluated;
    const next: AlarmState = {
      value,
      reason: describe(),
      reasonData: reasonDataJson([
        ['version', '"1.0"'],
        ['queryDate', JSON.stringify(queryDate)],
        ...(reported.length > 0 ? ([['startDate', JSON.stringify(cloudWatchTime(startOf(reported[0]!.index)))]] as [string, string][]) : []),
        ...(alarm.single ? ([['statistic', JSON.stringify(wiring.metric!.stat)]] as [string, string][]) : []),
        ['period', String(alarm.period)],
        ['recentDatapoints', `[${reported.filter((p) => !Number.isNaN(p.value)).map((p) => javaDouble(p.value)).join(',')}]`],
        ['threshold', javaDouble(wiring.threshold)],
      ]),
      timestamp: queryDate,
    };
    const previous = alarm.state;
    alarm.state = next;
    return {
      version: '0',
      id: deterministicUuid(`event:${wiring.alarmName}:${boundary}:${next.value}`),
      'detail-type': CLOUDWATCH_ALARM_STATE_CHANGE,
      source: CLOUDWATCH_SOURCE,
      account: this.options.account,
      time: eventBridgeTime(boundary),
      region: this.options.region,
      resources: [alarm.arn],
      detail: { alarmName: wiring.alarmName, configuration: alarm.configuration, previousState: previous, state: next },
    };
  }
}

/** The periods an evaluation reads: N, or N plus the look-back for `missing` / `ignore`. */
function rangeOf(alarm: CompiledAlarm): number {
  const { evaluationPeriods, treatMissingData } = alarm.wiring;
  return treatMissingData === 'missing' || treatMissingData === 'ignore' ? evaluationPeriods + EVALUATION_RANGE_EXTRA_PERIODS : evaluationPeriods;
}

const PHRASES: Readonly<Record<ComparisonOperator, string>> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

function compare(operator: ComparisonOperator, value: number, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

function checkStatistic(stat: string, where: string): Statistic {
  if (!(SUPPORTED_STATISTICS as readonly string[]).includes(stat)) {
    throw new AlarmDefinitionError(`${where}: statistic '${stat}' is not supported locally (supported: ${SUPPORTED_STATISTICS.join(', ')}; percentiles are not)`);
  }
  return stat as Statistic;
}

function metricStatOf(metric: AlarmMetric): NonNullable<AlarmConfigurationMetric['metricStat']> {
  return {
    metric: { dimensions: { ...metric.dimensions }, name: metric.metricName, namespace: metric.namespace },
    period: metric.period,
    stat: metric.stat,
    ...(metric.unit === undefined ? {} : { unit: metric.unit }),
  };
}

function toMillis(time: number | string | Date, what: string): number {
  const millis = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (!Number.isFinite(millis)) throw new Error(`${what}: not a time: ${String(time)}`);
  return millis;
}

/** CloudWatch's timestamp form inside alarm details: `2019-10-02T17:04:40.989+0000`. */
export function cloudWatchTime(millis: number): string {
  return new Date(millis).toISOString().replace('Z', '+0000');
}

/** The datapoint time in a reason text: `02/10/19 16:59:00` (dd/MM/yy HH:mm:ss, UTC). */
function reasonDate(millis: number): string {
  const iso = new Date(millis).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(2, 4)} ${iso.slice(11, 19)}`;
}

/** A number as Java's Double.toString writes it (CloudWatch's reason texts): `50.0`, `0.25`, `1.0E-5`. */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes('.') ? text : `${text}.0`;
  }
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

function reasonDataJson(members: readonly (readonly [string, string])[]): string {
  return `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/** A UUID-shaped id derived from a seed, so that a replay produces the same events. */
function deterministicUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
