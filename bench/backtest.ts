/**
 * The backtest's speed: deployments per second through the event loop (training excluded) and the
 * wall time of the full default backtest (`npm start`: the shipped history, retraining included).
 * Targets: 1,000 deployments/s or more; the full default backtest in 120 s or less.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runBacktestCommand } from '../cli/commands/backtest';
import { printFigure } from './figures';

async function run(argv: string[]): Promise<{ wallSeconds: number; loopRate: number; output: string }> {
  const out = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-backtest-'));
  const stdout = new PassThrough();
  let output = '';
  stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const started = performance.now();
  try {
    await runBacktestCommand([...argv, '--out', out], { stdout, stderr: new PassThrough(), stdin: new PassThrough(), cwd: process.cwd() });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const loop = /event loop (\d+) deployments\/s/.exec(output);
  if (!loop) throw new Error(`the backtest printed no event-loop rate:\n${output.slice(-2000)}`);
  return { wallSeconds, loopRate: Number(loop[1]), output };
}

async function main(): Promise<void> {
  const full = await run([]);
  const summary = full.output.split('\n').filter((line) => /deployments in|Deploy Guard  |models:/.test(line));
  console.log(summary.join('\n'));
  printFigure({ name: 'backtest event loop (training excluded)', value: full.loopRate, unit: 'deployments/s', target: '≥ 1,000', ok: full.loopRate >= 1000 });
  printFigure({ name: 'backtest, full default history, wall', value: Number(full.wallSeconds.toFixed(1)), unit: 's', target: '≤ 120', ok: full.wallSeconds <= 120 });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
