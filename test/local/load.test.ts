import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatLoadTable, loadLost, runLoad, syntheticBurst } from '../../bench/load';
import { importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';

/**
 * bench/load.ts in small: a burst of 1,000 deployment starts across 25 groups through the local
 * runtime loses nothing (every start assessed, every outcome recorded, no dead letter), and the
 * predict latency is measured on every assessment.
 */

const ROOT = join(__dirname, '../..');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');

/** Real builds of one shipped project: the change fields the synthetic deployments sample. */
const pool = () =>
  importHistory(join(ROOT, 'data/ci-bfdetector/SonarSource_sonarqube_data.csv'), parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING)).records.filter(
    (record) => record.failed !== null,
  );

describe('the synthetic burst', () => {
  test('spreads the deployments evenly over the groups, each with a real build\'s change fields, the same for the same seed', () => {
    const builds = pool();
    const burst = syntheticBurst(builds, { count: 100, groups: 10, burstMinutes: 30, seed: 3 });
    expect(new Set(burst.map((record) => record.group)).size).toBe(10);
    expect(burst.filter((record) => record.group === 'svc-01')).toHaveLength(10);
    for (const record of burst) expect(builds.some((build) => build.change === record.change && build.failed === record.failed)).toBe(true);
    const times = burst.map((record) => Date.parse(record.time!));
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(30 * 60_000);
    expect(syntheticBurst(builds, { count: 100, groups: 10, burstMinutes: 30, seed: 3 })).toEqual(burst);
  });

  test('refuses a burst with fewer deployments than groups', () => {
    expect(() => syntheticBurst(pool(), { count: 5, groups: 10, burstMinutes: 30, seed: 3 })).toThrow('a burst needs at least one deployment per group: 5 deployments, 10 groups');
  });
});

describe('a burst through the local runtime (the first model by the embedded trainer)', () => {
  test('1,000 starts across 25 groups: 1,000 assessed, 1,000 outcomes, 0 dead letters; predict timed on each', async () => {
    const result = await runLoad({ deployments: 1000, groups: 25, burstMinutes: 30, pool: pool() });
    console.log(formatLoadTable(result));
    expect(loadLost(result)).toEqual([]);
    expect(result).toMatchObject({ deployments: 1000, riskAssessed: 1000, outcomesRecorded: 1000, deadLetters: 0, predictInvocations: 1000 });
    expect(result.predictP50Ms).toBeGreaterThan(0);
    expect(result.predictP99Ms).toBeGreaterThanOrEqual(result.predictP50Ms);
  });
});
