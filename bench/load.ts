/**
 * Load: a burst of deployment starts across many groups through the local runtime (the backtest's
 * real handlers, rules and retry loop on the stand-ins): every deployment assessed, every outcome
 * recorded, nothing dead-lettered; and the predict handler's latency (wall time per
 * handlePredictEvent invocation) p50 / p99, with the machine it ran on.
 *
 *   npx tsx bench/load.ts [--deployments 10000] [--groups 200] [--burst-minutes 120] [--seed 7]
 *
 * The history is synthetic (model/records.ts format): each deployment takes the change fields,
 * author and outcome of a build sampled (seeded) from the shipped data/ci-bfdetector history.
 */
import { printFigure } from './figures';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { synthesizeStack } from '../cli/commands/backtest';
import { runBacktest } from '../local/backtest';
import { seededRandom } from '../local/faults';
import { importHistory } from '../model/import';
import { parseMapping } from '../model/mapping';
import type { DeploymentRecord } from '../model/records';

const ROOT = resolve(__dirname, '..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');

export interface LoadOptions {
  /** @default 10000 */
  readonly deployments?: number;
  /** @default 200 */
  readonly groups?: number;
  /** All starts fall within this many minutes of virtual time. @default 120 */
  readonly burstMinutes?: number;
  /** @default 7 */
  readonly seed?: number;
  /** The real builds whose change fields are sampled. @default the shipped history */
  readonly pool?: readonly DeploymentRecord[];
  readonly log?: (line: string) => void;
}

export interface LoadResult {
  readonly deployments: number;
  readonly groups: number;
  /** Deployment Risk Assessed events put on the bus. */
  readonly riskAssessed: number;
  /** Deployments with an outcome in the store at the end. */
  readonly outcomesRecorded: number;
  readonly deadLetters: number;
  /** predict invocations that assessed a START (the ones timed). */
  readonly predictInvocations: number;
  readonly predictP50Ms: number;
  readonly predictP99Ms: number;
  readonly predictMaxMs: number;
  /** Replayed deployments per second of event-loop wall time (the first model's training excluded). */
  readonly deploymentsPerSecond: number;
  readonly loopMs: number;
  readonly wallMs: number;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
}

/** The shipped builds (every group), as records: the pool the synthetic deployments sample from. */
export function shippedPool(): DeploymentRecord[] {
  return importHistory(SHIPPED, parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING)).records.filter((record) => record.failed !== null);
}

/**
 * `count` deployments across `groups` groups (`svc-001` ...), starting within `burstMinutes` from
 * 2024-03-04 09:00 UTC in a seeded order; each takes a sampled real build's change fields, author and outcome.
 */
export function syntheticBurst(pool: readonly DeploymentRecord[], options: { count: number; groups: number; burstMinutes: number; seed: number }): DeploymentRecord[] {
  if (pool.length === 0) throw new Error('the pool of real builds to sample change fields from is empty');
  if (!(Number.isInteger(options.groups) && options.groups > 0 && options.count >= options.groups)) {
    throw new Error(`a burst needs at least one deployment per group: ${options.count} deployments, ${options.groups} groups`);
  }
  const random = seededRandom(options.seed);
  const start = Date.parse('2024-03-04T09:00:00Z');
  const spanMs = options.burstMinutes * 60_000;
  const width = String(options.groups).length;
  const records: DeploymentRecord[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const real = pool[Math.floor(random() * pool.length)];
    // Every group gets its share; the start times are spread evenly with jitter, each one distinct.
    const group = `svc-${String((index % options.groups) + 1).padStart(width, '0')}`;
    const at = start + Math.floor((index / options.count) * spanMs) + Math.floor(random() * 1000);
    records.push({
      group,
      time: new Date(at).toISOString(),
      failed: real.failed,
      ...(real.author ? { author: real.author } : {}),
      change: real.change,
      extra: {},
      source: { file: 'synthetic-burst', line: index + 1 },
    });
  }
  return records;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/** Runs the burst through the local runtime (stop mode, no retraining) and measures it. */
export async function runLoad(options: LoadOptions = {}): Promise<LoadResult> {
  const count = options.deployments ?? 10_000;
  const groups = options.groups ?? 200;
  const records = syntheticBurst(options.pool ?? shippedPool(), { count, groups, burstMinutes: options.burstMinutes ?? 120, seed: options.seed ?? 7 });
  const outDir = mkdtempSync(join(tmpdir(), 'deploy-guard-load-'));
  const predictMs: number[] = [];
  let outcomesRecorded = 0;
  let deadLetters = 0;
  let riskAssessed = 0;
  try {
    const result = await runBacktest({
      records,
      dataSource: `synthetic burst (${count} deployments, ${groups} groups, change fields sampled from data/ci-bfdetector)`,
      stack: synthesizeStack(undefined, 'dev'),
      mode: 'stop',
      retrain: false,
      // Fixed: the burst is about throughput, not about the first model's cost-optimal threshold.
      threshold: 0.5,
      outDir,
      log: options.log ?? (() => undefined),
      // The invocations that assess (START); READY reaches predict too and is ignored in stop mode.
      onInvocation: (handler, wallMs, event) => {
        if (handler === 'predict' && event.detail?.state === 'START') predictMs.push(wallMs);
      },
      inspect: async (runtime) => {
        for (const deployment of runtime.deployments) {
          if ((await runtime.store.get(deployment.deploymentId))?.outcome) outcomesRecorded += 1;
        }
        deadLetters = runtime.deadLetters.length;
        riskAssessed = runtime.eventCounts.get('Deployment Risk Assessed') ?? 0;
      },
    });
    const sorted = [...predictMs].sort((a, b) => a - b);
    return {
      deployments: result.replayed,
      groups,
      riskAssessed,
      outcomesRecorded,
      deadLetters,
      predictInvocations: predictMs.length,
      predictP50Ms: percentile(sorted, 0.5),
      predictP99Ms: percentile(sorted, 0.99),
      predictMaxMs: sorted.at(-1) ?? Number.NaN,
      deploymentsPerSecond: result.replayed / (result.loopMs / 1000),
      loopMs: result.loopMs,
      wallMs: result.wallMs,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** The result as a Markdown table, with the machine. */
export function formatLoadTable(result: LoadResult): string {
  const rows: [string, string][] = [
    ['machine', `${result.machine.cpu}, ${result.machine.cores} cores, node ${result.machine.node}`],
    ['deployments (groups)', `${result.deployments} (${result.groups})`],
    ['Deployment Risk Assessed', String(result.riskAssessed)],
    ['outcomes recorded', String(result.outcomesRecorded)],
    ['dead letters', String(result.deadLetters)],
    ['predict invocations timed (START)', String(result.predictInvocations)],
    ['predict p50 ms', result.predictP50Ms.toFixed(2)],
    ['predict p99 ms', result.predictP99Ms.toFixed(2)],
    ['predict max ms', result.predictMaxMs.toFixed(2)],
    ['deployments/s (event loop)', result.deploymentsPerSecond.toFixed(0)],
    ['event loop s / whole run s', `${(result.loopMs / 1000).toFixed(1)} / ${(result.wallMs / 1000).toFixed(1)}`],
  ];
  return ['| measure | value |', '|---|---:|', ...rows.map(([name, value]) => `| ${name} | ${value} |`)].join('\n');
}

/** Whether nothing was lost: every deployment assessed once and its outcome recorded, no dead letter. */
export function loadLost(result: LoadResult): string[] {
  const problems: string[] = [];
  if (result.riskAssessed !== result.deployments) problems.push(`${result.riskAssessed} Risk Assessed for ${result.deployments} deployments`);
  if (result.outcomesRecorded !== result.deployments) problems.push(`${result.outcomesRecorded} outcomes recorded for ${result.deployments} deployments`);
  if (result.deadLetters !== 0) problems.push(`${result.deadLetters} dead letters`);
  return problems;
}

function numberOption(argv: readonly string[], name: string): number | undefined {
  const index = argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = Number(argv[index + 1]);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a positive whole number, got '${argv[index + 1] ?? ''}'`);
  return value;
}

async function main(argv: readonly string[]): Promise<void> {
  const result = await runLoad({
    deployments: numberOption(argv, 'deployments'),
    groups: numberOption(argv, 'groups'),
    burstMinutes: numberOption(argv, 'burst-minutes'),
    seed: numberOption(argv, 'seed'),
  });
  console.log(`Load: a burst of ${result.deployments} deployment starts across ${result.groups} groups through the local runtime (stop mode, no retraining)`);
  console.log(formatLoadTable(result));
  const problems = loadLost(result);
  console.log(problems.length === 0 ? 'OK: every deployment assessed and its outcome recorded, no dead letter' : `LOST: ${problems.join('; ')}`);
  printFigure({ name: `load, ${result.deployments} starts: lost`, value: result.deployments - Math.min(result.riskAssessed, result.outcomesRecorded) + result.deadLetters, unit: 'deployments', target: '0', ok: problems.length === 0 });
  printFigure({ name: 'predict handler warm, p50', value: Number(result.predictP50Ms.toFixed(2)), unit: 'ms' });
  printFigure({ name: 'predict handler warm, p99', value: Number(result.predictP99Ms.toFixed(2)), unit: 'ms' });
  printFigure({ name: 'load, deployments through the event loop', value: Math.round(result.deploymentsPerSecond), unit: 'deployments/s' });
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
