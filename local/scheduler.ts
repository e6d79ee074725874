/**
 * The backtest's virtual time: actions run in time order (ties in the order they were scheduled),
 * each after the clock is moved to its time. Years of history replay in seconds.
 */

interface Scheduled {
  readonly at: number;
  readonly sequence: number;
  readonly run: () => Promise<void> | void;
}

export class Scheduler {
  private readonly heap: Scheduled[] = [];
  private sequence = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(at: number, run: () => Promise<void> | void): void {
    if (!Number.isFinite(at)) throw new Error(`scheduler: time ${at} is not a finite number of milliseconds`);
    this.heap.push({ at, sequence: this.sequence++, run });
    this.up(this.heap.length - 1);
  }

  /** The time of the next action, or undefined when none is left. */
  peek(): number | undefined {
    return this.heap[0]?.at;
  }

  /** Removes and returns the next action. */
  next(): Scheduled | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private before(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.sequence < b.sequence);
  }

  private up(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(heap[index], heap[parent])) return;
      [heap[index], heap[parent]] = [heap[parent], heap[index]];
      index = parent;
    }
  }

  private down(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && this.before(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest], heap[index]];
      index = smallest;
    }
  }
}
