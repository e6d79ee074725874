import { join } from 'node:path';
import type { ImportFuzzSettings, ImportReport } from './import-fuzzer';
import { baseSeed, caseCount } from './prng';
import { WorkerPool } from './worker-pool';

/*
 * Bad input for `deploy-guard import`: broken CSV histories (ragged rows, quotes, byte-order marks,
 * other encodings, 1 MB fields, wrong delimiters, non-numeric values, dates out of range, truncated
 * files) and broken mappings (wrong types at every path, unknown and missing keys, ...), each case
 * ending in records that read back, documented rejected rows, or a clear error naming the file or
 * the mapping key: never a TypeError, a RangeError or a hang (test/fuzz/import-fuzzer.ts). Reproduce
 * a failure with the FUZZ_SEED and FUZZ_CASE it prints:
 *
 *   FUZZ_SEED=<seed> FUZZ_CASE=<case> npx jest test/fuzz/import.fuzz.test.ts -t '<CSV|mapping>'
 *
 * The cases run in two worker threads (worker-pool.ts says why).
 */

const ONLY = process.env.FUZZ_CASE ? Number(process.env.FUZZ_CASE) : undefined;
const settings = (part: ImportFuzzSettings['part']): ImportFuzzSettings => ({
  part,
  seed: baseSeed(),
  count: caseCount(10_000),
  ...(ONLY === undefined ? {} : { only: ONLY }),
});
const pool = new WorkerPool(2);
const reports = new Map<ImportFuzzSettings['part'], Promise<ImportReport>>();

/** The CSV part is the longer one (files written and read): it is shared out, and the mapping part rides along. */
const JOBS: readonly ImportFuzzSettings[] = [
  { ...settings('csv'), shard: { index: 0, of: 2 } },
  { ...settings('csv'), shard: { index: 1, of: 2 } },
  settings('mapping'),
];

beforeAll(() => {
  const runs = JOBS.map((job) => pool.run<ImportReport>(join(__dirname, 'import-fuzzer.ts'), 'fuzzImport', [job]));
  for (const part of ['csv', 'mapping'] as const) {
    const report = Promise.all(runs.filter((_, index) => JOBS[index].part === part)).then(merge);
    report.catch(() => undefined); // awaited (and reported) by the part's test
    reports.set(part, report);
  }
});
afterAll(() => pool.close());

function merge(parts: readonly ImportReport[]): ImportReport {
  const sum = (key: keyof ImportReport) => parts.reduce((total, part) => total + (part[key] as number), 0);
  return {
    csvCases: sum('csvCases'),
    mappingCases: sum('mappingCases'),
    imported: sum('imported'),
    rowsRejected: sum('rowsRejected'),
    fileErrors: sum('fileErrors'),
    mappingsRejected: sum('mappingsRejected'),
    mappingsAccepted: sum('mappingsAccepted'),
    failures: parts.flatMap((part) => part.failures),
    seconds: Math.max(...parts.map((part) => part.seconds)),
    slowestMs: Math.max(...parts.map((part) => part.slowestMs)),
  };
}

function summary(part: string, report: ImportReport): string {
  return (
    `fuzz import (${part}): ${report.csvCases + report.mappingCases} cases; ${report.imported} imports returned ` +
    `(${report.rowsRejected} rows rejected with file, line and reason), ${report.fileErrors} clear errors naming the file` +
    `${report.mappingCases ? `, ${report.mappingsRejected} mappings rejected (MappingError), ${report.mappingsAccepted} accepted and used` : ''}; ` +
    `${report.failures.length} failures, ${report.seconds.toFixed(2)} s in its slowest worker, slowest case ${report.slowestMs.toFixed(0)} ms (seed ${baseSeed()})`
  );
}

describe('fuzz import', () => {
  it('ends every broken CSV in records that read back, rows rejected with file, line and reason, or a clear error naming the file', async () => {
    const report = await reports.get('csv')!;
    console.log(summary('CSV', report));

    expect({ failures: report.failures.length, first: report.failures.slice(0, 8) }).toEqual({ failures: 0, first: [] });
    if (ONLY === undefined) {
      expect(report.csvCases).toBeGreaterThanOrEqual(settings('csv').count);
      // Both ways out happen: rows rejected, and files refused.
      expect(report.rowsRejected).toBeGreaterThan(0);
      expect(report.fileErrors).toBeGreaterThan(0);
    }
  });

  it('ends every broken mapping in a MappingError that names the key and the problem, or in a valid mapping that imports', async () => {
    const report = await reports.get('mapping')!;
    console.log(summary('mapping', report));

    expect({ failures: report.failures.length, first: report.failures.slice(0, 8) }).toEqual({ failures: 0, first: [] });
    if (ONLY === undefined) {
      expect(report.mappingCases).toBeGreaterThanOrEqual(settings('mapping').count);
      expect(report.mappingsRejected).toBeGreaterThan(report.mappingCases / 2);
      expect(report.mappingsAccepted).toBeGreaterThan(0);
    }
  });
});
