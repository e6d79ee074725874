/**
 * The embedded trainer against the XGBoost path, per training job, side by side in one run: the
 * shipped history's train / validation export of `deploy-guard train` (about 39,000 train rows, 36
 * features) with model/hyperparameters.json (300 rounds, depth 4), as the default backtest's jobs
 * train. The embedded trainer runs in-process, as the local training job runs it; the XGBoost path
 * is what a job costs there: `python3 model/train.py` started as a process, XGBoost 1.7.4 imported,
 * the channels read, the model trained and written. Target: the embedded trainer at least as fast.
 *
 *   npx tsx bench/trainer.ts [--jobs N]   (default 3 jobs per trainer; the median is reported)
 * With `--backtest`, also the full default backtest's training time with each trainer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runBacktestCommand } from '../cli/commands/backtest';
import { runEmbeddedTraining } from '../model/embedded-training';
import { DEFAULT_SPLIT } from '../model/export';
import { importHistory } from '../model/import';
import { parseMapping } from '../model/mapping';
import { findPython } from '../model/python';
import { DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, TRAIN_SCRIPT, readHyperparameters, trainModel } from '../model/training';
import { printFigure } from './figures';

const ROOT = join(__dirname, '..');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function exportChannels(dir: string): Promise<void> {
  const mapping = parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING);
  await trainModel({
    records: importHistory(join(ROOT, 'data/ci-bfdetector'), mapping).records,
    outDir: dir,
    split: DEFAULT_SPLIT,
    costs: DEFAULT_COSTS,
    hyperparameters: readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE),
    exportOnly: true,
    log: (line) => console.log(line),
  });
}

/** Seconds of wall time per job, one job after the other, the trainers alternating. */
function timeJobs(dir: string, jobs: number, python: string): { embedded: number[]; xgboost: number[] } {
  const hyperparameters = readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE);
  const channels = { train: join(dir, 'data', 'train'), validation: join(dir, 'data', 'validation') };
  const times = { embedded: [] as number[], xgboost: [] as number[] };
  for (let job = 0; job < jobs; job += 1) {
    let started = performance.now();
    runEmbeddedTraining({ ...channels, modelDir: join(dir, 'embedded'), hyperparameters, log: () => undefined });
    times.embedded.push((performance.now() - started) / 1000);
    started = performance.now();
    const run = spawnSync(python, [TRAIN_SCRIPT, '--train', channels.train, '--validation', channels.validation, '--model-dir', join(dir, 'xgboost'), '--hyperparameters', DEFAULT_HYPERPARAMETERS_FILE], { encoding: 'utf8' });
    times.xgboost.push((performance.now() - started) / 1000);
    if (run.status !== 0) throw new Error(`train.py failed: ${run.stderr}`);
    console.log(`job ${job + 1}: embedded ${times.embedded[job].toFixed(2)} s, xgboost (python3 model/train.py) ${times.xgboost[job].toFixed(2)} s`);
  }
  return times;
}

/** The full default backtest's training seconds with a trainer, as it reports them. */
async function backtestTraining(trainer: string): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-trainer-'));
  const stdout = new PassThrough();
  let output = '';
  stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    await runBacktestCommand(['--trainer', trainer, '--out', out], { stdout, stderr: new PassThrough(), stdin: new PassThrough(), cwd: process.cwd() });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const match = /deployments in [\d.]+ s \(([\d.]+) s training\)/.exec(output);
  if (!match) throw new Error(`the backtest printed no training time:\n${output.slice(-2000)}`);
  console.log(output.split('\n').filter((line) => /deployments in|Deploy Guard  |models:/.test(line)).join('\n'));
  return Number(match[1]);
}

async function main(): Promise<void> {
  const jobs = Number(option('jobs') ?? 3);
  const python = findPython(process.env.DEPLOY_GUARD_PYTHON || undefined).executable;
  const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-trainer-'));
  try {
    await exportChannels(dir);
    const times = timeJobs(dir, jobs, python);
    const embedded = median(times.embedded);
    const xgboost = median(times.xgboost);
    console.log(`median per job: embedded ${embedded.toFixed(2)} s, xgboost ${xgboost.toFixed(2)} s; the embedded trainer is ${(xgboost / embedded).toFixed(2)}x as fast`);
    printFigure({ name: 'training job, embedded trainer', value: Number(embedded.toFixed(2)), unit: 's' });
    printFigure({ name: 'training job, xgboost (process start included)', value: Number(xgboost.toFixed(2)), unit: 's' });
    printFigure({ name: 'training job, xgboost / embedded', value: Number((xgboost / embedded).toFixed(2)), unit: 'x', target: '≥ 1', ok: xgboost >= embedded });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (process.argv.includes('--backtest')) {
    for (const trainer of ['embedded', 'xgboost']) {
      printFigure({ name: `full default backtest, training (${trainer})`, value: Number((await backtestTraining(trainer)).toFixed(1)), unit: 's' });
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
