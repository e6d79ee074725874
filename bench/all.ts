/**
 * `npm run bench`: every benchmark, one after the other, each printing its own table and a final
 * OK / BELOW TARGET line per target.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BENCHMARKS = ['matcher.ts', 'scorer.ts'];

let failed = false;
for (const file of BENCHMARKS) {
  console.log(`\n=== bench/${file}`);
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(__dirname, file)], { stdio: 'inherit' });
  if (run.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
