/**
 * Synthesis time of every stack, as `cdktf synth` runs it (cdktf.json's app command), into a temporary
 * folder: the first run after a source change (bundle cache empty) and runs with unchanged sources.
 * Target: 3 s or less for all stacks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printFigure } from './figures';

const ROOT = join(__dirname, '..');
const TARGET_SECONDS = 3;
const RUNS = 3;
const app: string = JSON.parse(readFileSync(join(ROOT, 'cdktf.json'), 'utf8')).app;

function synth(cacheDir: string): number {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-synth-'));
  try {
    const started = performance.now();
    const run = spawnSync('sh', ['-c', app], { cwd: ROOT, env: { ...process.env, CDKTF_OUTDIR: outdir, DEPLOY_GUARD_BUNDLE_CACHE: cacheDir }, encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`${app} exited with ${run.status}: ${run.stderr}`);
    return seconds;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const cacheDir = mkdtempSync(join(tmpdir(), 'deploy-guard-bench-cache-'));
try {
  const cold = synth(cacheDir);
  const warm = Array.from({ length: RUNS }, () => synth(cacheDir)).sort((a, b) => a - b)[Math.floor(RUNS / 2)];
  console.log(`synth of every stack (${app}): ${cold.toFixed(2)} s with an empty bundle cache, ${warm.toFixed(2)} s with unchanged sources (median of ${RUNS})`);
  printFigure({ name: 'synth, all stacks, unchanged sources', value: Number(warm.toFixed(2)), unit: 's', target: `≤ ${TARGET_SECONDS}`, ok: warm <= TARGET_SECONDS });
  printFigure({ name: 'synth, all stacks, after a source change', value: Number(cold.toFixed(2)), unit: 's', target: `≤ ${TARGET_SECONDS}`, ok: cold <= TARGET_SECONDS });
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
