/**
 * The Lambda bundles (tools/bundle-handlers.ts, byte for byte what synthesis deploys): size of each
 * index.js, and its load time — a fresh `node -e "require(bundle)"`, median of 5 runs, minus the
 * median of 5 bare `node -e ""` — the part of a cold start the bundle adds. Targets: 1 MiB per bundle
 * (upload and unzip), and a load no longer than a bare Node start measured in the same run (a ratio,
 * so that a busy machine slows both sides).
 *
 *   npx tsx bench/handlers.ts [--out DIR]
 */
import { printFigure } from './figures';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HANDLER_NAMES } from '../handlers/entries';
import { bundleHandler, DEFAULT_OUT_DIR, type BundleResult } from '../tools/bundle-handlers';

const RUNS = 5;
const SIZE_TARGET_BYTES = 1024 * 1024;

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Medians over fresh processes of `node -e <script>`: the wall time of the whole process, and what
 * the script prints (the in-process time of the require itself, less disturbed by a busy machine).
 */
function nodeMedians(script: string): { wall: number; printed: number } {
  const wall: number[] = [];
  const printed: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' } });
    wall.push(performance.now() - start);
    if (child.status !== 0) throw new Error(`node -e ${JSON.stringify(script)} exited with ${child.status}: ${child.stderr.trim()}`);
    printed.push(Number(child.stdout) || 0);
  }
  return { wall: median(wall), printed: median(printed) };
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? '') : DEFAULT_OUT_DIR;
  const baseline = nodeMedians('').wall;
  console.log(`Handler bundles in ${outDir} (node ${process.version}; load = median of ${RUNS} fresh processes; baseline node -e "" ${baseline.toFixed(1)} ms)`);
  console.log(`| handler | size KB | size ≤ 1024 KB | load raw ms | load − baseline ms | load ≤ bare node (${baseline.toFixed(0)} ms) | require in process ms |`);
  console.log('|---|---:|---|---:|---:|---|---:|');
  let failed = false;
  for (const name of HANDLER_NAMES) {
    let bundle: BundleResult;
    try {
      bundle = await bundleHandler(name, { outDir });
    } catch (error) {
      failed = true;
      console.log(`| ${name} | — | FAIL | — | — | FAIL: ${(error as Error).message} | — |`);
      continue;
    }
    const timed = nodeMedians(
      `const t = performance.now(); const m = require(${JSON.stringify(bundle.file)}); const ms = performance.now() - t;` +
        ` if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(String(ms));`,
    );
    const raw = timed.wall;
    const load = raw - baseline;
    const sizeOk = bundle.bytes <= SIZE_TARGET_BYTES;
    const loadOk = load <= baseline;
    failed ||= !sizeOk || !loadOk;
    console.log(`| ${name} | ${(bundle.bytes / 1024).toFixed(1)} | ${sizeOk ? 'PASS' : 'FAIL'} | ${raw.toFixed(1)} | ${load.toFixed(1)} | ${loadOk ? 'PASS' : 'FAIL'} | ${timed.printed.toFixed(1)} |`);
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
