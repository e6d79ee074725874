/**
 * The backtest's progress: deployments done of the total, deployments per second and the time left.
 * On a terminal it redraws one line in place (`\r`); into a file or a pipe it writes a plain line
 * each time another `everyPercent` of the work is done, so logs stay short. Time comes from `now()`.
 */

/** The part of a Node stream the progress bar uses (process.stderr fits). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
}

/** Training beside the replay: wall time spent so far, and expected still to come (milliseconds). */
export interface TrainingProgress {
  readonly wallMs: number;
  readonly leftMs: number;
}

export interface ProgressOptions {
  readonly total: number;
  readonly stream: ProgressStream;
  /** Milliseconds, from any origin; injected so that tests are deterministic. */
  readonly now: () => number;
  /** Printed before the figures; default `replay`. */
  readonly label?: string;
  /** Terminal: the least time between two redraws (ms); default 100. */
  readonly redrawEveryMs?: number;
  /** Not a terminal: a line each time this share (in %) more is done; default 10. */
  readonly everyPercent?: number;
}

/** 38369 -> "38,369". */
function count(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A duration for people: `9s`, `1m05s`, `2h03m`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perSecond: number): string {
  return perSecond < 10 ? perSecond.toFixed(1) : count(Math.round(perSecond));
}

export class ProgressBar {
  private readonly total: number;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly label: string;
  private readonly redrawEveryMs: number;
  private readonly everyPercent: number;
  private readonly tty: boolean;
  private readonly started: number;
  private done = 0;
  private lastDrawAt: number | null = null;
  private lastLength = 0;
  /** Not a terminal: the number of `everyPercent` steps already reported. */
  private stepsReported = 0;
  private finished = false;
  /** The training wall time already spent when the bar first heard of training (before it started counting). */
  private trainingBaselineMs: number | undefined;
  private training: TrainingProgress | undefined;

  constructor(options: ProgressOptions) {
    if (!(Number.isInteger(options.total) && options.total >= 0)) {
      throw new Error(`progress: total must be a whole number of deployments, got ${options.total}`);
    }
    const everyPercent = options.everyPercent ?? 10;
    if (!(everyPercent > 0 && everyPercent <= 100)) throw new Error(`progress: everyPercent must be in (0, 100], got ${everyPercent}`);
    this.total = options.total;
    this.stream = options.stream;
    this.now = options.now;
    this.label = options.label ?? 'replay';
    this.redrawEveryMs = options.redrawEveryMs ?? 100;
    this.everyPercent = everyPercent;
    this.tty = options.stream.isTTY === true;
    this.started = options.now();
  }

  /**
   * Sets the number of deployments done so far, and optionally the training seen so far (its wall
   * time, which the replay's rate leaves out) and still to come (added to the ETA).
   */
  update(done: number, training?: TrainingProgress): void {
    if (training) {
      this.trainingBaselineMs ??= training.wallMs;
      this.training = training;
    }
    if (this.finished) throw new Error('progress: update after finish');
    if (!(Number.isInteger(done) && done >= 0 && done <= this.total)) {
      throw new Error(`progress: done must be a whole number from 0 to the total ${this.total}, got ${done}`);
    }
    if (done < this.done) throw new Error(`progress: done went back from ${this.done} to ${done}`);
    this.done = done;
    const at = this.now();
    if (this.tty) {
      if (this.lastDrawAt === null || at - this.lastDrawAt >= this.redrawEveryMs || done === this.total) this.draw(at);
      return;
    }
    const steps = this.total === 0 ? 0 : Math.floor((done * 100) / this.total / this.everyPercent);
    if (steps > this.stepsReported && done < this.total) {
      this.stepsReported = steps;
      this.stream.write(`${this.label}: ${this.figures(at)}\n`);
    }
  }

  /** Adds `by` deployments done. */
  increment(by = 1): void {
    this.update(this.done + by);
  }

  /** Writes the final line: everything done (or how far it got), the mean rate and the time taken. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const at = this.now();
    const seconds = (at - this.started) / 1000;
    const rate = seconds > 0 ? ` ${formatRate(this.done / seconds)}/s` : '';
    const line = `${this.label}: ${count(this.done)}/${count(this.total)} (${this.percent()}%)${rate} in ${formatDuration(seconds)}`;
    if (this.tty) this.stream.write(`\r${line.slice(0, Math.max(1, (this.stream.columns ?? 80) - 1)).padEnd(this.lastLength)}\n`);
    else this.stream.write(`${line}\n`);
  }

  private percent(): number {
    return this.total === 0 ? 100 : Math.floor((this.done * 100) / this.total);
  }

  /** `1,234/38,369 (3%) 512/s ETA 1m12s`, with training `ETA 3m40s (2m28s training)`. */
  private figures(at: number): string {
    const seconds = (at - this.started) / 1000;
    const rate = seconds > 0 && this.done > 0 ? this.done / seconds : null;
    return `${count(this.done)}/${count(this.total)} (${this.percent()}%) ${rate === null ? '?' : formatRate(rate)}/s ETA ${this.eta(seconds)}`;
  }

  /** The replay's time left at its rate without training, plus the training still to come. */
  private eta(seconds: number): string {
    const trainingSeconds = this.training ? (this.training.wallMs - (this.trainingBaselineMs ?? 0)) / 1000 : 0;
    const replaySeconds = seconds - trainingSeconds;
    if (!(replaySeconds > 0 && this.done > 0)) return '?';
    const replayLeft = ((this.total - this.done) * replaySeconds) / this.done;
    const trainingLeft = (this.training?.leftMs ?? 0) / 1000;
    return trainingLeft >= 1 ? `${formatDuration(replayLeft + trainingLeft)} (${formatDuration(trainingLeft)} training)` : formatDuration(replayLeft);
  }

  private draw(at: number): void {
    this.lastDrawAt = at;
    const text = this.figures(at);
    const columns = this.stream.columns ?? 80;
    // `label [bar] figures`, the bar as wide as the terminal allows (at most 30), the last column left free.
    const barWidth = Math.min(30, columns - 1 - this.label.length - text.length - 4);
    let line = `${this.label}: ${text}`;
    if (barWidth >= 5) {
      const filled = this.total === 0 ? barWidth : Math.floor((this.done / this.total) * barWidth);
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`;
    }
    line = line.slice(0, Math.max(1, columns - 1));
    this.stream.write(`\r${line.padEnd(this.lastLength)}`);
    this.lastLength = line.length;
  }
}
