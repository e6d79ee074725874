import { printFigure } from './figures';
/**
 * Scorer speed: the exact TypeScript scorer against XGBoost's own predict, one thread each, same
 * model and rows (the committed fixture: 80 trees of depth ≤ 5, 12 features, rows tiled to
 * BENCH_ROWS), and the single-row latency of `predict`.
 *
 *   npx tsx bench/scorer.ts
 *
 * Environment: BENCH_ROWS (default 200000), BENCH_ROUNDS (default 7), BENCH_LATENCY_CALLS
 * (default 200000). Native figures need /usr/bin/python3 with XGBoost (bench/scorer_native.py).
 * Targets: batch throughput ≥ 0.5× native single-threaded; single-row p50 < 20 µs.
 * Also the cost of one row's exact TreeSHAP explanation (what predict publishes with each
 * assessment), precomputed leaf tables against walking every tree per row (BENCH_EXPLAIN_ROWS,
 * default 5000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMITTED_FIXTURE, PYTHON, fixtureBytes } from '../model/fixtures/scorer-fixture';
import { createTreeExplainer } from '../model/treeshap';
import { loadXGBoostModel, parseCsvRows } from '../model/xgboost';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const LATENCY_CALLS = Number(process.env.BENCH_LATENCY_CALLS ?? 200_000);
const EXPLAIN_ROWS = Number(process.env.BENCH_EXPLAIN_ROWS ?? 5_000);
const THROUGHPUT_TARGET = 0.5;
const P50_TARGET_MICROSECONDS = 20;

const modelFile = join(COMMITTED_FIXTURE, 'model.json');
const model = loadXGBoostModel(fixtureBytes(COMMITTED_FIXTURE, 'model.json').toString('utf8'));
const fixtureRows = parseCsvRows(fixtureBytes(COMMITTED_FIXTURE, 'rows.csv.gz'));
const columns = fixtureRows.columnCount;
const values = new Float32Array(ROWS * columns);
for (let offset = 0; offset < values.length; offset += fixtureRows.values.length) {
  values.set(fixtureRows.values.subarray(0, Math.min(fixtureRows.values.length, values.length - offset)), offset);
}

function median(sorted: number[]): number {
  return sorted[Math.floor(sorted.length / 2)];
}

// --- TypeScript, batch ---------------------------------------------------------------------------
const out = new Float32Array(ROWS);
model.predictBatch(values, Math.min(ROWS, 20_000), columns, out); // warm-up
const tsRates: number[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const start = process.hrtime.bigint();
  model.predictBatch(values, ROWS, columns, out);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  tsRates.push(ROWS / seconds);
}
tsRates.sort((a, b) => a - b);
let tsChecksum = 0;
for (const probability of out) tsChecksum += probability;

// --- XGBoost, batch ------------------------------------------------------------------------------
interface Native { rows_per_second_median: number; checksum: number; xgboost: string }
let native: Native | undefined;
let nativeProblem = '';
const scratch = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-'));
try {
  const rowsFile = join(scratch, 'rows.f32');
  writeFileSync(rowsFile, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  const run = spawnSync(PYTHON, [join(__dirname, 'scorer_native.py'), '--model', modelFile, '--rows', rowsFile, '--columns', String(columns), '--rounds', String(ROUNDS)], { encoding: 'utf8' });
  if (run.status === 0) native = JSON.parse(run.stdout) as Native;
  else nativeProblem = (run.error?.message ?? run.stderr.trim().split('\n').pop()) || `exit ${run.status}`;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// --- TypeScript, one row at a time ---------------------------------------------------------------
const row = new Float64Array(columns);
const latencies = new Float64Array(LATENCY_CALLS);
let sink = 0;
for (let call = 0; call < 20_000; call += 1) sink += model.predict(values.subarray((call % 10_000) * columns, (call % 10_000 + 1) * columns));
for (let call = 0; call < LATENCY_CALLS; call += 1) {
  const from = (call % fixtureRows.rowCount) * columns;
  for (let column = 0; column < columns; column += 1) row[column] = values[from + column];
  const start = process.hrtime.bigint();
  sink += model.predict(row);
  latencies[call] = Number(process.hrtime.bigint() - start) / 1000;
}
latencies.sort();
const p50 = latencies[Math.floor(LATENCY_CALLS * 0.5)];
const p99 = latencies[Math.floor(LATENCY_CALLS * 0.99)];

// --- TreeSHAP, one row at a time ----------------------------------------------------------------
/** Mean microseconds per explained row, best of ROUNDS passes over EXPLAIN_ROWS rows. */
function explainMicroseconds(explainer: ReturnType<typeof createTreeExplainer>): number {
  const contributions = new Float64Array(model.featureCount + 1);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    for (let call = 0; call < EXPLAIN_ROWS; call += 1) {
      const from = (call % fixtureRows.rowCount) * columns;
      explainer.contributions(values.subarray(from, from + columns), contributions);
      sink += contributions[0];
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / EXPLAIN_ROWS);
  }
  return best;
}
const buildStart = process.hrtime.bigint();
const tabled = createTreeExplainer(model);
const buildMilliseconds = Number(process.hrtime.bigint() - buildStart) / 1e6;
const explainTabled = explainMicroseconds(tabled);
const explainWalked = explainMicroseconds(createTreeExplainer(model, { tableBudget: 0 }));

// --- Report --------------------------------------------------------------------------------------
const tsRate = median(tsRates);
const format = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} rows/s`;
console.log(`Model: ${model.forest.treeCount} trees, max depth ${model.forest.maxDepth}, ${model.featureCount} features; ${ROWS.toLocaleString('en-US')} rows; median of ${ROUNDS} rounds; one thread each.\n`);
const table: [string, string][] = [
  ['TypeScript predictBatch', format(tsRate)],
  [native ? `XGBoost ${native.xgboost} predict (nthread=1)` : 'XGBoost predict (nthread=1)', native ? format(native.rows_per_second_median) : `not measured: ${nativeProblem}`],
  ['ratio TypeScript / XGBoost', native ? `${(tsRate / native.rows_per_second_median).toFixed(2)}×` : 'n/a'],
  ['TypeScript predict(row) p50', `${p50.toFixed(2)} µs`],
  ['TypeScript predict(row) p99', `${p99.toFixed(2)} µs`],
  ['TreeSHAP explainer build (leaf tables)', `${buildMilliseconds.toFixed(1)} ms`],
  ['TreeSHAP per row, leaf tables', `${explainTabled.toFixed(1)} µs`],
  ['TreeSHAP per row, walking the trees', `${explainWalked.toFixed(1)} µs`],
];
const width = Math.max(...table.map(([name]) => name.length));
for (const [name, value] of table) console.log(`  ${name.padEnd(width)}  ${value}`);
if (native && Math.abs(native.checksum - tsChecksum) > 1e-6 * ROWS) {
  console.log(`\nWARNING: checksums differ (TypeScript ${tsChecksum}, XGBoost ${native.checksum})`);
}
console.log('');
if (native) {
  const ratio = tsRate / native.rows_per_second_median;
  console.log(`batch throughput >= ${THROUGHPUT_TARGET}x native: ${ratio >= THROUGHPUT_TARGET ? 'OK' : 'BELOW TARGET'} (${ratio.toFixed(2)}x)`);
} else {
  console.log(`batch throughput >= ${THROUGHPUT_TARGET}x native: NOT MEASURED (${nativeProblem})`);
}
console.log(`single-row p50 < ${P50_TARGET_MICROSECONDS} us: ${p50 < P50_TARGET_MICROSECONDS ? 'OK' : 'BELOW TARGET'} (${p50.toFixed(2)} us)`);
printFigure({ name: 'scorer, TypeScript batch', value: Math.round(tsRate), unit: 'rows/s' });
if (native) {
  const ratio = tsRate / native.rows_per_second_median;
  printFigure({ name: 'scorer, ratio to XGBoost native', value: Number(ratio.toFixed(2)), unit: '×', target: `≥ ${THROUGHPUT_TARGET}`, ok: ratio >= THROUGHPUT_TARGET });
}
printFigure({ name: 'scorer, single row p50', value: Number(p50.toFixed(2)), unit: 'µs', target: `< ${P50_TARGET_MICROSECONDS}`, ok: p50 < P50_TARGET_MICROSECONDS });
printFigure({ name: 'TreeSHAP, one row (leaf tables)', value: Number(explainTabled.toFixed(1)), unit: 'µs' });
printFigure({ name: 'TreeSHAP, speed-up over walking trees', value: Number((explainWalked / explainTabled).toFixed(1)), unit: '×' });
if (sink === 0.5) console.log(''); // keeps the latency loop from being optimised away
