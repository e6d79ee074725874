import type { MetricValue, MetricsPort } from '../ports';

/**
 * CloudWatch metrics in the embedded metric format (EMF): one JSON document per `put`, written as
 * one line to the Lambda's stdout, from which CloudWatch Logs extracts the metrics. No API call, no
 * buffering: the document carries its own timestamp (the event's time, so a replay dates its metrics
 * where they happened).
 *
 * Every document declares two dimension sets: the given dimensions (per deployment group) and the
 * empty set (pooled over the installation), so each value counts once per group and once pooled,
 * and alarms can watch either (handlers/quality-metrics.ts). With no dimensions, only the pooled set.
 *
 * Written here rather than through Powertools' `singleMetric()`: that one stamps documents with
 * `Date.now()` unless told otherwise, warns on timestamps older than 14 days (every replayed one),
 * and cannot declare the empty dimension set next to another.
 */

/** The EMF document of one `put` (the CloudWatch EMF specification's root node). */
export interface EmfDocument {
  readonly _aws: {
    /** Milliseconds since the epoch. */
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly [
      {
        readonly Namespace: string;
        /** Dimension sets: each is a list of root-node keys; `[]` is the pooled (dimensionless) set. */
        readonly Dimensions: readonly (readonly string[])[];
        readonly Metrics: readonly { readonly Name: string; readonly Unit: MetricValue['unit'] }[];
      },
    ];
  };
  /** Dimension values (strings) and metric values (numbers), as root-node members. */
  readonly [member: string]: unknown;
}

/** EMF's limits (CloudWatch EMF specification): dimension keys per set, metrics per directive. */
const MAX_DIMENSIONS = 30;
const MAX_METRICS = 100;
/** CloudWatch namespace characters (PutMetricData): alphanumerics and . - _ / # : and space. */
const NAMESPACE = /^[A-Za-z0-9.\-_/#: ]{1,255}$/;

/**
 * Builds the EMF document of one `put`: pure, so the local CloudWatch stand-in and the tests read
 * exactly what Lambda writes. A malformed input (no metrics, a duplicate or clashing name, a value
 * that is not finite, an empty dimension value) is an error naming it: CloudWatch would drop such a
 * document silently.
 */
export function emfDocument(metrics: Parameters<MetricsPort['put']>[0]): EmfDocument {
  const { namespace, dimensions, values, at } = metrics;
  if (!NAMESPACE.test(namespace)) throw new Error(`EMF namespace '${namespace}' is not a CloudWatch namespace`);
  if (!Number.isInteger(at) || at < 0) throw new Error(`EMF timestamp ${at} is not milliseconds since the epoch`);
  if (values.length === 0) throw new Error(`EMF document for ${namespace} has no metric values`);
  if (values.length > MAX_METRICS) throw new Error(`EMF document for ${namespace} has ${values.length} metrics; at most ${MAX_METRICS}`);
  const dimensionKeys = Object.keys(dimensions);
  if (dimensionKeys.length > MAX_DIMENSIONS) {
    throw new Error(`EMF document for ${namespace} has ${dimensionKeys.length} dimensions; at most ${MAX_DIMENSIONS}`);
  }

  const root: Record<string, unknown> = {};
  for (const key of dimensionKeys) {
    const value = dimensions[key];
    if (typeof value !== 'string' || value.length === 0) throw new Error(`EMF dimension '${key}' needs a non-empty string value`);
    root[key] = value;
  }
  for (const metric of values) {
    if (metric.name.length === 0) throw new Error(`EMF document for ${namespace} has a metric without a name`);
    if (metric.name in root) throw new Error(`EMF metric '${metric.name}' is given twice or clashes with a dimension`);
    if (!Number.isFinite(metric.value)) throw new Error(`EMF metric '${metric.name}' has the value ${metric.value}; CloudWatch takes finite numbers`);
    root[metric.name] = metric.value;
  }

  return {
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: dimensionKeys.length > 0 ? [dimensionKeys, []] : [[]],
          Metrics: values.map((metric) => ({ Name: metric.name, Unit: metric.unit })),
        },
      ],
    },
    ...root,
  };
}

/** Writes one EMF document per `put`, as a line, to `write` (default: the process's stdout). */
export class EmfMetrics implements MetricsPort {
  constructor(private readonly write: (line: string) => void = (line) => void process.stdout.write(line)) {}

  put(metrics: Parameters<MetricsPort['put']>[0]): void {
    this.write(`${JSON.stringify(emfDocument(metrics))}\n`);
  }
}
