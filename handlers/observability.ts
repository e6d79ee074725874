/**
 * Structured logs of the Lambda handlers: one JSON line per record, in the fields and levels of AWS
 * Lambda Powertools' logger (`level`, `message`, `timestamp`, `service`, `sampling_rate`,
 * `xray_trace_id`, then the persistent and appended keys), so Logs Insights queries written for it
 * work unchanged. Every log line of an event carries the deployment id (or training job / alarm) as
 * correlation id, so one CloudWatch Logs Insights query follows a deployment through predict,
 * rollback and record-outcome.
 *
 * Written here rather than taken from Powertools because the handlers use four of its methods and it
 * weighed 20 KB of every bundle and a Console built at load: about 5 % of the largest bundles'
 * cold `require` (README, bench:handlers).
 */

export const SERVICE_NAME = 'deploy-guard';

/** Powertools' thresholds; a record below the threshold is not written. */
const LEVEL_THRESHOLDS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
type LevelName = keyof typeof LEVEL_THRESHOLDS;

/** What a log line is written to (process.stdout and process.stderr in Lambda). */
export interface LogStreams {
  readonly stdout: { write(line: string): unknown };
  readonly stderr: { write(line: string): unknown };
}

export interface LoggerOptions {
  /** Keys on every line (the handler's name). */
  readonly persistentKeys?: Readonly<Record<string, unknown>>;
  /** Where the level and the X-Ray trace come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly streams?: LogStreams;
  /** The time of a line. @default the wall clock (logs are the edge of the system, not domain code) */
  readonly now?: () => Date;
}

/**
 * The threshold the environment asks for, as Powertools reads it: `POWERTOOLS_LOG_LEVEL`, then
 * `LOG_LEVEL`, then Lambda's own `AWS_LAMBDA_LOG_LEVEL` (advanced logging controls); INFO otherwise.
 * An unknown name is ignored.
 */
export function logThreshold(env: NodeJS.ProcessEnv): number {
  for (const key of ['POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL', 'AWS_LAMBDA_LOG_LEVEL']) {
    const name = env[key]?.trim().toUpperCase();
    if (name && name in LEVEL_THRESHOLDS) return LEVEL_THRESHOLDS[name as LevelName];
  }
  return LEVEL_THRESHOLDS.INFO;
}

/** The trace id of Lambda's `_X_AMZN_TRACE_ID` (`Root=1-...;Parent=...;Sampled=1`), if any. */
export function xrayTraceId(env: NodeJS.ProcessEnv): string | undefined {
  const root = env._X_AMZN_TRACE_ID?.split(';').find((part) => part.startsWith('Root='));
  return root ? root.slice('Root='.length) : undefined;
}

/** JSON.stringify's replacer for a log line: errors as name, message and stack; bigints as text; a cycle as '[Circular]'. */
function logReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function replace(this: unknown, _key, value) {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
    if (value === null || typeof value !== 'object') return value;
    // `this` is the object holding the value: drop the ancestors that are not on its path.
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}

/** A handler's logger: INFO lines to stdout, WARN to stderr, keys appended per invocation. */
export class HandlerLogger {
  private keys: Record<string, unknown> = {};
  private readonly threshold: number;
  private readonly traceId: string | undefined;
  private readonly streams: LogStreams;
  private readonly now: () => Date;

  constructor(private readonly options: LoggerOptions = {}) {
    const env = options.env ?? process.env;
    this.threshold = logThreshold(env);
    this.traceId = xrayTraceId(env);
    this.streams = options.streams ?? process;
    this.now = options.now ?? (() => new Date());
  }

  /** Keys on every later line, until resetKeys. */
  appendKeys(keys: Readonly<Record<string, unknown>>): void {
    this.keys = { ...this.keys, ...keys };
  }

  /** Forgets the appended keys (the persistent ones stay). */
  resetKeys(): void {
    this.keys = {};
  }

  info(message: string, extra: Readonly<Record<string, unknown>> = {}): void {
    this.write('INFO', message, extra);
  }

  warn(message: string, extra: Readonly<Record<string, unknown>> = {}): void {
    this.write('WARN', message, extra);
  }

  private write(level: 'INFO' | 'WARN', message: string, extra: Readonly<Record<string, unknown>>): void {
    if (LEVEL_THRESHOLDS[level] < this.threshold) return;
    const line = {
      level,
      message,
      timestamp: this.now().toISOString(),
      service: SERVICE_NAME,
      sampling_rate: 0,
      ...(this.traceId ? { xray_trace_id: this.traceId } : {}),
      ...this.options.persistentKeys,
      ...this.keys,
      ...extra,
    };
    const stream = level === 'INFO' ? this.streams.stdout : this.streams.stderr;
    stream.write(`${JSON.stringify(line, logReplacer())}\n`);
  }
}

/** One logger per handler, created at module scope. */
export function handlerLogger(handler: string): HandlerLogger {
  return new HandlerLogger({ persistentKeys: { handler } });
}

/** The id that ties an event's log lines together: deploymentId (of a CodeDeploy event or hook invocation), trainingJobName or alarmName. */
export function correlationIdOf(event: unknown): string | undefined {
  const fields = detailOf(event);
  if (!fields) return deploymentIdOf(event);
  for (const key of ['deploymentId', 'TrainingJobName', 'trainingJobName', 'alarmName']) {
    if (typeof fields[key] === 'string') return fields[key] as string;
  }
  return undefined;
}

/** The deployment an event is about: `detail.deploymentId`, or a lifecycle hook invocation's `DeploymentId`. */
export function deploymentIdOf(event: unknown): string | undefined {
  const id = detailOf(event)?.deploymentId ?? (isObject(event) ? event.DeploymentId : undefined);
  return typeof id === 'string' ? id : undefined;
}

function detailOf(event: unknown): Record<string, unknown> | undefined {
  const detail = isObject(event) ? event.detail : undefined;
  return isObject(detail) ? detail : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}
