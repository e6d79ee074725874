import { Worker } from 'node:worker_threads';

/**
 * Runs exported functions of TypeScript modules in worker threads (TypeScript through tsx, as
 * bin/deploy-guard.js runs the CLI), a fixed number at a time.
 *
 * Why: Jest runs a test file inside a vm context, where every access to a global (Object, Array,
 * Number, ...) goes through an interceptor; zod and the handlers make millions of them, and a fuzz
 * loop runs 5-50 times slower there than in plain Node (measured: 2,000,000 iterations of a loop
 * using Array.isArray / Object.keys / Number.isFinite take 56 ms in node, 2.9 s in Jest). A worker
 * thread is plain Node, and two of them use both cores of a 2-core machine.
 */

const WORKER_SOURCE = `
require('tsx/cjs');
const { parentPort, workerData } = require('node:worker_threads');
Promise.resolve()
  .then(() => require(workerData.module)[workerData.function](...workerData.args))
  .then(
    (result) => parentPort.postMessage({ ok: true, result }),
    (error) => parentPort.postMessage({ ok: false, error: error instanceof Error ? error.stack || error.message : String(error) }),
  );
`;

interface Job {
  readonly module: string;
  readonly function: string;
  readonly args: readonly unknown[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class WorkerPool {
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly workers = new Set<Worker>();

  constructor(private readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`WorkerPool size ${size} must be a positive integer`);
  }

  /** Calls `module`'s export `fn` with `args` (structured-cloneable) in a worker; resolves with its (cloneable) result. */
  run<T>(module: string, fn: string, args: readonly unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ module, function: fn, args, resolve: resolve as (value: unknown) => void, reject });
      this.next();
    });
  }

  /** Stops any worker still running (a test that timed out). */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.terminate()));
  }

  private next(): void {
    if (this.running >= this.size) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running += 1;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: job.module, function: job.function, args: job.args } });
    this.workers.add(worker);
    let settled = false;
    const done = (settle: () => void) => {
      if (settled) return;
      settled = true;
      settle();
      this.workers.delete(worker);
      void worker.terminate();
      this.running -= 1;
      this.next();
    };
    worker.on('message', (message: { ok: true; result: unknown } | { ok: false; error: string }) =>
      done(() => (message.ok ? job.resolve(message.result) : job.reject(new Error(`${job.module} ${job.function}: ${message.error}`)))),
    );
    worker.on('error', (error) => done(() => job.reject(error)));
    worker.on('exit', (code) => done(() => job.reject(new Error(`${job.module} ${job.function}: the worker exited with code ${code} before answering`))));
  }
}
