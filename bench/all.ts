/**
 * `npm run bench`: every benchmark, one after the other (each prints its own details), then one
 * table of every figure with its target, and the machine it was measured on.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseFigures, type Figure } from './figures';

const BENCHMARKS = ['matcher.ts', 'scorer.ts', 'handlers.ts', 'load.ts', 'synth.ts', 'in-loop-policies.ts', 'trainer.ts', 'backtest.ts'];
const only = process.argv.slice(2);

const figures: (Figure & { readonly bench: string })[] = [];
let failed = false;
for (const file of BENCHMARKS.filter((name) => only.length === 0 || only.some((wanted) => name.startsWith(wanted)))) {
  console.log(`\n=== bench/${file}`);
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(__dirname, file)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(run.stdout.split('\n').filter((line) => !line.startsWith('FIGURE\t')).join('\n'));
  if (run.status !== 0) {
    failed = true;
    console.log(`bench/${file} exited with ${run.status}`);
  }
  figures.push(...parseFigures(run.stdout).map((figure) => ({ ...figure, bench: file.replace(/\.ts$/, '') })));
}

const cpu = cpus();
console.log(`\n=== Summary (${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version})`);
const rows = figures.map((figure) => [
  figure.bench,
  figure.name,
  `${figure.value.toLocaleString('en-US', { maximumFractionDigits: figure.value < 10 ? 2 : figure.value < 1000 ? 1 : 0 })} ${figure.unit}`,
  figure.target ?? '',
  figure.ok === undefined ? '' : figure.ok ? 'OK' : 'BELOW TARGET',
]);
const header = ['bench', 'figure', 'value', 'target', ''];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => (column === 2 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
process.exitCode = failed ? 1 : 0;
