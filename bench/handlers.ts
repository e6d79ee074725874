/**
 * The Lambda bundles (tools/bundle-handlers.ts, byte for byte what synthesis deploys): size of each
 * index.js, and its load time — a fresh `node -e "require(bundle)"`, median of 7 runs, minus the
 * median of 7 bare `node -e ""` run alternately with them — the part of a cold start the bundle adds.
 * Targets: 1 MiB per bundle (upload and unzip), and a load no longer than a bare Node start measured
 * beside it (a ratio of runs interleaved one by one, so that a machine whose load changes during the
 * benchmark slows both sides alike).
 *
 *   npx tsx bench/handlers.ts [--out DIR]
 */
import { printFigure } from './figures';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HANDLER_NAMES } from '../handlers/entries';
import { bundleHandler, DEFAULT_OUT_DIR, type BundleResult } from '../tools/bundle-handlers';

const RUNS = 7;
const SIZE_TARGET_BYTES = 1024 * 1024;

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

interface NodeRun {
  /** Wall time of the whole process, ms. */
  readonly wall: number;
  /** What the script printed as a number (the in-process time of the require itself), or 0. */
  readonly printed: number;
}

/** One fresh `node -e <script>`, timed. */
function runNode(script: string): NodeRun {
  const start = performance.now();
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' } });
  const wall = performance.now() - start;
  if (child.status !== 0) throw new Error(`node -e ${JSON.stringify(script)} exited with ${child.status}: ${child.stderr.trim()}`);
  return { wall, printed: Number(child.stdout) || 0 };
}

/**
 * Medians over RUNS fresh processes of `script`, each run right after a bare `node -e ""`: the
 * script's wall time and printed figure, and the bare starts' wall time measured beside them.
 */
function interleavedMedians(script: string): { wall: number; printed: number; bare: number } {
  const bare: number[] = [];
  const runs: NodeRun[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    bare.push(runNode('').wall);
    runs.push(runNode(script));
  }
  return { wall: median(runs.map((run) => run.wall)), printed: median(runs.map((run) => run.printed)), bare: median(bare) };
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? '') : DEFAULT_OUT_DIR;
  console.log(`Handler bundles in ${outDir} (node ${process.version}; medians of ${RUNS} fresh processes, each after a bare node -e "", per handler)`);
  console.log('| handler | size KB | size ≤ 1024 KB | load raw ms | bare node ms | load − bare ms | load ≤ bare node | require in process ms |');
  console.log('|---|---:|---|---:|---:|---:|---|---:|');
  let failed = false;
  for (const name of HANDLER_NAMES) {
    let bundle: BundleResult;
    try {
      bundle = await bundleHandler(name, { outDir });
    } catch (error) {
      failed = true;
      console.log(`| ${name} | — | FAIL | — | — | — | FAIL: ${(error as Error).message} | — |`);
      continue;
    }
    const timed = interleavedMedians(
      `const t = performance.now(); const m = require(${JSON.stringify(bundle.file)}); const ms = performance.now() - t;` +
        ` if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(String(ms));`,
    );
    const raw = timed.wall;
    const baseline = timed.bare;
    const load = raw - baseline;
    const sizeOk = bundle.bytes <= SIZE_TARGET_BYTES;
    const loadOk = load <= baseline;
    failed ||= !sizeOk || !loadOk;
    console.log(`| ${name} | ${(bundle.bytes / 1024).toFixed(1)} | ${sizeOk ? 'PASS' : 'FAIL'} | ${raw.toFixed(1)} | ${baseline.toFixed(1)} | ${load.toFixed(1)} | ${loadOk ? 'PASS' : 'FAIL'} (${(load / baseline).toFixed(2)}×) | ${timed.printed.toFixed(1)} |`);
    printFigure({ name: `bundle ${name}, size`, value: Math.round(bundle.bytes / 1024), unit: 'KB', target: '≤ 1,024', ok: sizeOk });
    printFigure({ name: `bundle ${name}, load (node -e require) / bare node start`, value: Number((load / baseline).toFixed(2)), unit: '×', target: '≤ 1', ok: loadOk });
  }
  console.log(failed ? 'BELOW TARGET' : 'OK: every bundle within 1 MiB, and loads in no longer than a bare Node start');
  process.exitCode = failed ? 1 : 0;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
