/**
 * The in-loop baselines (local/in-loop-policies.ts) driven over the shipped history alone, without
 * the handlers: deployments per second through the module, and each predictor's figures at 10 %.
 *
 *   npx tsx bench/in-loop-policies.ts [--model DIR] [--retrain-days 120] [--window-days 180] [--limit N]
 *
 * The replay is the backtest's: the deployments with a time and an outcome, in start order; each
 * group's first 20 % (at least 20) are its warm-up; every deployment finishes 15 minutes after its
 * start. The first model is the one in DIR (xgboost-model and features.json, e.g. the backtest's
 * out/backtest/initial-model) or, without --model, trained here on the warm-up deployments as the
 * backtest trains it (needs Python with XGBoost 1.7). Deploy Guard's own retraining is not run: every
 * --retrain-days the driver calls onRetrain (logistic regression refits on its own rows) and, 30
 * minutes later, onPromotion with the same model under a new version, so that the re-scoring of every
 * window is paid as in a real run. So the Deploy Guard and shadow figures here are those of a serving
 * model that never changes; the real ones come from the backtest.
 *
 * Target: 2,000 deployments/s or more in CPU time, refits and re-scoring included (10 of each by
 * default, about what a default backtest does): about 28 s over the shipped history, 30 % of the
 * full backtest without the baselines (~95 s), inside the 1.5x bound with room for the replay's own
 * work. CPU time, because on a shared machine the wall time also counts other processes' turns.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseFeatureList } from '../model/features';
import { importHistory, inTimeOrder } from '../model/import';
import { parseMapping } from '../model/mapping';
import { type DeploymentRecord, recordTime } from '../model/records';
import { DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, readHyperparameters, resolveTrainer, trainModel } from '../model/training';
import { loadXGBoostModel } from '../model/xgboost';
import { InLoopPolicies, type ComparisonEntry, type DeploymentStart, type ScoringModel } from '../local/in-loop-policies';
import { printFigure } from './figures';

const ROOT = resolve(__dirname, '..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const FINISH_AFTER_MS = 15 * 60_000;
const TRAINING_MS = 30 * 60_000;
const DAY_MS = 86_400_000;
const WARM_UP_FRACTION = 0.2;
const MIN_WARM_UP = 20;
const TARGET_RATE = 2_000;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** The backtest's group key for a history group (local/backtest.ts applicationName + the `production` deployment group). */
function groupKey(group: string): string {
  return `${group.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100)}/production`;
}

/** The replay as the backtest prepares it: start order, the warm-up flagged per group. */
function replayOf(records: readonly DeploymentRecord[], limit: number | undefined): (DeploymentStart & { readonly failed: boolean; readonly record: DeploymentRecord })[] {
  const perGroup = new Map<string, DeploymentRecord[]>();
  for (const record of inTimeOrder(records)) {
    if (record.time === null || record.failed === null) continue;
    const list = perGroup.get(record.group) ?? [];
    if (limit === undefined || list.length < limit) list.push(record);
    perGroup.set(record.group, list);
  }
  const entries: (DeploymentStart & { readonly failed: boolean; readonly record: DeploymentRecord; readonly order: number })[] = [];
  let order = 0;
  for (const list of perGroup.values()) {
    const warmUp = Math.min(list.length, Math.max(MIN_WARM_UP, Math.floor(list.length * WARM_UP_FRACTION)));
    list.forEach((record, index) => {
      entries.push({
        id: `d-${(order += 1)}`,
        group: groupKey(record.group),
        start: recordTime(record)!,
        change: record.change,
        ...(record.author === undefined ? {} : { author: record.author }),
        warmUp: index < warmUp,
        failed: record.failed === true,
        record,
        order,
      });
    });
  }
  return entries.sort((a, b) => a.start - b.start || a.order - b.order);
}

async function firstModel(warmUp: readonly DeploymentRecord[]): Promise<ScoringModel> {
  const given = option('model');
  const load = (dir: string): ScoringModel => {
    const model = loadXGBoostModel(readFileSync(join(dir, 'xgboost-model'), 'utf8'));
    const features = parseFeatureList(JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8')), join(dir, 'features.json'));
    return { version: 'first', features, predict: (vector) => model.predict(vector), predictBatch: (values, rows, columns) => model.predictBatch(values, rows, columns) };
  };
  if (given) return load(resolve(given));
  const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-in-loop-'));
  try {
    await trainModel({
      records: warmUp,
      outDir: dir,
      split: { validationFraction: 0.2, testFraction: 0 },
      costs: DEFAULT_COSTS,
      hyperparameters: readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE),
      trainer: resolveTrainer('xgboost'),
      log: () => undefined,
    });
    return load(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Step =
  | { readonly at: number; readonly rank: 0; readonly kind: 'finish'; readonly id: string; readonly failed: boolean }
  | { readonly at: number; readonly rank: 1; readonly kind: 'retrain' }
  | { readonly at: number; readonly rank: 1; readonly kind: 'promote'; readonly version: string }
  | { readonly at: number; readonly rank: 2; readonly kind: 'start'; readonly deployment: DeploymentStart };

async function main(): Promise<void> {
  const limit = option('limit') === undefined ? undefined : Number(option('limit'));
  const retrainDays = Number(option('retrain-days') ?? 120);
  const windowDays = Number(option('window-days') ?? 180);
  const mapping = parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING);
  const { records } = importHistory(SHIPPED, mapping, MAPPING);
  const replay = replayOf(records, limit);
  const warmUp = replay.filter((entry) => entry.warmUp);
  const trainingStarted = performance.now();
  const model = await firstModel(warmUp.map((entry) => ({ ...entry.record, group: entry.group, extra: {} })));
  console.log(`history: ${replay.length} deployments, ${warmUp.length} warm-up; first model ${option('model') ?? 'trained here'} in ${((performance.now() - trainingStarted) / 1000).toFixed(1)} s`);

  // Every call in virtual-time order: finishes before starts at the same instant (the timing rule).
  const steps: Step[] = [];
  for (const entry of replay) {
    steps.push({ at: entry.start, rank: 2, kind: 'start', deployment: entry });
    steps.push({ at: entry.start + FINISH_AFTER_MS, rank: 0, kind: 'finish', id: entry.id, failed: entry.failed });
  }
  const firstReported = replay.find((entry) => !entry.warmUp)!.start;
  const last = replay[replay.length - 1].start;
  for (let at = firstReported + retrainDays * DAY_MS, round = 1; at < last; at += retrainDays * DAY_MS, round += 1) {
    steps.push({ at, rank: 1, kind: 'retrain' });
    steps.push({ at: at + TRAINING_MS, rank: 1, kind: 'promote', version: `first-again-${round}` });
  }
  steps.sort((a, b) => a.at - b.at || a.rank - b.rank);

  const policies = new InLoopPolicies({ firstModel: model, retrainingWindowDays: windowDays, warmUpDeployments: warmUp });
  /** CPU milliseconds of the rare calls (measuring each of the 111,000 starts and finishes would cost more than they do). */
  const timings = { retrain: 0, promote: 0 };
  const counts = { retrain: 0, promote: 0 };
  const loopStarted = performance.now();
  const cpuStarted = process.cpuUsage();
  for (const step of steps) {
    if (step.kind === 'start') policies.onStart(step.deployment);
    else if (step.kind === 'finish') policies.onFinish(step.id, step.failed, step.at);
    else {
      const started = process.cpuUsage();
      if (step.kind === 'retrain') policies.onRetrain(step.at);
      else policies.onPromotion({ ...model, version: step.version }, step.at);
      const used = process.cpuUsage(started);
      timings[step.kind] += (used.user + used.system) / 1000;
      counts[step.kind] += 1;
    }
  }
  const loopSeconds = (performance.now() - loopStarted) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  // CPU time, not wall time: on a shared machine the wall time also counts other processes' turns.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = replay.length / cpuSeconds;

  console.log(
    `${policies.runs.length} runs; ${replay.length} deployments in ${cpuSeconds.toFixed(1)} s CPU (${loopSeconds.toFixed(1)} s wall): ` +
      `onStart + onFinish ${(cpuSeconds - (timings.retrain + timings.promote) / 1000).toFixed(1)} s, ${counts.retrain} onRetrain ${(timings.retrain / 1000).toFixed(1)} s, ` +
      `${counts.promote} onPromotion ${(timings.promote / 1000).toFixed(1)} s`,
  );
  const { entries } = policies.results();
  const shown = entries.filter((entry) => entry.budget_kind !== 'fixed' || entry.budget === 0.1);
  console.log(table(shown));
  console.log('\nall budgets:');
  console.log(table(entries));
  printFigure({ name: 'in-loop baselines, deployments through the module (CPU time)', value: Math.round(rate), unit: 'deployments/s', target: `≥ ${TARGET_RATE.toLocaleString('en-US')}`, ok: rate >= TARGET_RATE });
  printFigure({ name: 'in-loop baselines, CPU time over the replay', value: Number(cpuSeconds.toFixed(1)), unit: 's' });
}

function table(entries: readonly ComparisonEntry[]): string {
  const percent = (value: number | null) => (value === null ? '-' : `${(100 * value).toFixed(1)} %`);
  const rows = entries.map((entry) => [
    entry.predictor + (entry.achievable ? '' : ' (not achievable)'),
    entry.budget_kind === 'natural' ? 'natural' : entry.budget_kind === 'parrot-rate' ? `Parrot's ${percent(entry.budget)}` : percent(entry.budget),
    percent(entry.blocked_rate),
    percent(entry.caught_rate),
    entry.precision === null ? '-' : entry.precision.toFixed(3),
    entry.net_benefit.toLocaleString('en-US'),
    entry.net_per_stop === null ? '-' : entry.net_per_stop.toFixed(2),
  ]);
  const header = ['predictor', 'budget', 'blocked', 'caught', 'precision', 'net', 'net/stop'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
