import type { BusEvent } from '../events/bus';

/**
 * What the backtest tells its user about training while it replays: a line when a job starts, when
 * it completes (local/sagemaker.ts: rows and wall time) and when promote decides on it; and the
 * training time still to come, which the progress line's ETA adds to the replay's.
 */

const day = (iso: string) => iso.slice(0, 10);

/** The line of a training event on the buses (started, promoted, registered, rejected), or undefined for any other event. */
export function trainingEventLine(event: BusEvent): string | undefined {
  const detail = event.detail as Record<string, unknown>;
  const job = `training job ${String(detail.trainingJobName)}`;
  switch (event['detail-type']) {
    case 'Model Retraining Started': {
      const trigger = detail.trigger as { type: string; alarmName?: string };
      const window = detail.dataWindow as { from: string; to: string };
      const why = trigger.type === 'alarm' ? `alarm ${trigger.alarmName}` : 'the retraining schedule';
      return `${job}: started on ${day(event.time)} by ${why}, rows from ${day(window.from)} to ${day(window.to)}`;
    }
    case 'Model Promoted':
      return `${job}: promoted (${versus(detail)}); it serves from ${day(event.time)}`;
    case 'Model Registered':
      return `${job}: registered (${versus(detail)}), waiting for a person to approve it`;
    case 'Model Rejected':
      return `${job}: rejected, ${String(detail.reason)}: ${String(detail.message)}`;
    default:
      return undefined;
  }
}

function versus(detail: Record<string, unknown>): string {
  const auc = (metrics: unknown) => {
    const value = (metrics as { auc?: number | null } | null)?.auc;
    return typeof value === 'number' ? value.toFixed(3) : 'n/a';
  };
  return detail.serving ? `AUC ${auc(detail.candidate)} against the serving model's ${auc(detail.serving)}` : `AUC ${auc(detail.candidate)}, no serving model to compare`;
}

export interface TrainingSoFar {
  /** Training jobs completed so far. */
  readonly jobs: number;
  /** Their wall-clock time, in milliseconds. */
  readonly wallMs: number;
  /** Wall-clock time of the first model's training: the expected job time before any job has run. */
  readonly firstModelWallMs: number;
}

export interface ReplaySpan {
  /** Virtual time the replay started at, is at now and ends at (ms since the epoch). */
  readonly start: number;
  readonly now: number;
  readonly end: number;
  /** The retraining schedule's period (ms), when it has one: at least one job per period is to come. */
  readonly schedulePeriodMs?: number;
}

/**
 * The wall-clock training time still to come: the jobs expected in the virtual time left (as many
 * as the jobs so far per virtual day, and at least one per schedule period), each taking the mean
 * wall time of the jobs so far (the first model's before any job).
 */
export function trainingTimeLeftMs(soFar: TrainingSoFar, span: ReplaySpan): number {
  const left = Math.max(0, span.end - span.now);
  const elapsed = Math.max(0, span.now - span.start);
  const observed = elapsed > 0 ? (soFar.jobs / elapsed) * left : 0;
  const scheduled = span.schedulePeriodMs ? Math.floor(left / span.schedulePeriodMs) : 0;
  const meanJobMs = soFar.jobs > 0 ? soFar.wallMs / soFar.jobs : soFar.firstModelWallMs;
  return Math.max(observed, scheduled) * meanJobMs;
}
