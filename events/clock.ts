/** Time, injected. Domain code asks a Clock, never Date.now(), so that a replay can run years in seconds. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: the backtest's virtual time, and tests. Never goes back. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: number | Date | string = 0) {
    this.current = toMillis(start);
  }

  now(): number {
    return this.current;
  }

  /** Moves to `time` if it is later than now; a time in the past leaves the clock where it is. */
  advanceTo(time: number | Date | string): void {
    this.current = Math.max(this.current, toMillis(time));
  }

  advanceBy(milliseconds: number): void {
    if (!(milliseconds >= 0)) throw new Error(`cannot advance a clock by ${milliseconds} ms`);
    this.current += milliseconds;
  }
}

function toMillis(time: number | Date | string): number {
  const millis = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (!Number.isFinite(millis)) throw new Error(`not a time: ${String(time)}`);
  return millis;
}

let lastSecond = Number.NaN;
let lastTime = '';

/** EventBridge's `time` format: ISO-8601 to the second, in UTC. */
export function eventBridgeTime(millis: number): string {
  // Events come in bursts that share a second (a replay's virtual clock even more so): format once.
  const second = Math.floor(millis / 1000);
  if (second !== lastSecond) {
    lastTime = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSecond = second;
  }
  return lastTime;
}
