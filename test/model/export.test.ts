import { buildTrainingSet, checkSplit, formatTrainingLine, splitWindows, trainingCsv } from '../../model/export';
import { computeHistoryFeatures, type PastDeployment } from '../../model/history';
import { ASSUMED_DEPLOYMENT_DURATION_MS, type DeploymentRecord } from '../../model/records';

function records(group: string, outcomes: string, start = Date.UTC(2024, 0, 1)): DeploymentRecord[] {
  return [...outcomes].map((outcome, index) => ({
    group,
    time: new Date(start + index * 3_600_000).toISOString(),
    failed: outcome === 'x',
    change: { srcChurn: index * 10, isPullRequest: index % 2 },
    extra: (index === 3 ? {} : { sloc: 1000 + index }) as Record<string, number>,
  }));
}

describe('the time-ordered split', () => {
  it('puts the first 70 % of a group in train, the next 10 % in validation, the last 20 % in test', () => {
    const windows = splitWindows(10, { validationFraction: 0.1, testFraction: 0.2 });
    expect(windows).toEqual(['train', 'train', 'train', 'train', 'train', 'train', 'train', 'validation', 'test', 'test']);
  });

  it('honours other fractions', () => {
    expect(splitWindows(10, { validationFraction: 0.2, testFraction: 0.3 }).join(' ')).toBe(
      'train train train train train validation validation test test test',
    );
  });

  it('refuses fractions that leave no training window', () => {
    expect(() => checkSplit({ validationFraction: 0.5, testFraction: 0.5 })).toThrow(
      'validation fraction + test fraction must leave a training window, got 0.5 + 0.5',
    );
    expect(() => checkSplit({ validationFraction: 0, testFraction: 0.2 })).toThrow('validation fraction must be between 0 and 1 (exclusive), got 0');
  });
});

describe('buildTrainingSet', () => {
  const history = [...records('web', '.x..x.x..x'), ...records('api', 'xx........')];
  const set = buildTrainingSet(history, { validationFraction: 0.1, testFraction: 0.2 });
  const column = (name: string) => set.featureList.features.findIndex((feature) => feature.name === name);

  it('splits each group by time on its own', () => {
    const letter = { train: 'R', validation: 'V', test: 'T' } as const;
    const windows = (group: string) => set.examples.filter((example) => example.group === group).map((example) => letter[example.window]).join('');
    expect(windows('web')).toBe('RRRRRRRVTT');
    expect(windows('api')).toBe('RRRRRRRVTT');
  });

  it('computes history from the outcomes before each deployment only', () => {
    const web = set.examples.filter((example) => example.group === 'web');
    expect(web.map((example) => example.history.previousFailed ?? '-').join('')).toBe('-010010100');
    expect(web[2].vector[column('previousFailed')]).toBe(1);
    expect(web[2].vector[column('consecutiveFailures')]).toBe(1);
    expect(web[0].vector[column('hoursSinceLastDeployment')]).toBeNaN();
    expect(web[1].vector[column('hoursSinceLastDeployment')]).toBe(1);
  });

  it('keeps schema features that have a value in the training window, then the extra columns', () => {
    const names = set.featureList.features.map((feature) => feature.name);
    expect(names).toEqual([
      'srcChurn',
      'isPullRequest',
      'hourOfDay',
      'dayOfWeek',
      'deploymentGroup',
      'previousFailed',
      'consecutiveFailures',
      'failureRateLast5',
      'failureRateLast20',
      'failureRateOverall',
      'hoursSinceLastDeployment',
      'hoursSinceLastFailure',
      'deploymentsLast24h',
      'sloc',
    ]);
    expect(set.featuresWithoutValues).toContain('linesAdded');
    expect(set.featuresWithoutValues).toContain('authorRecentFailureRate');
    expect(set.featureList.groups).toEqual(['api', 'web']);
  });

  it('writes the container CSV: label first (1 = failed), no header, an empty field for a missing value', () => {
    const csv = trainingCsv(set.examples, 'validation').trimEnd().split('\n');
    expect(csv).toHaveLength(2);
    const web = set.examples.filter((example) => example.group === 'web');
    expect(formatTrainingLine(web[0])).toBe('0,0,0,0,1,1,,0,,,0.5,,,0,1000');
    expect(formatTrainingLine(web[3])).toBe(
      `0,30,1,3,1,1,0,0,${String(Math.fround(1 / 3))},${String(Math.fround(1 / 3))},${String(Math.fround(0.4))},1,2,3,`,
    );
    for (const line of csv) expect(line.split(',')).toHaveLength(1 + set.featureList.features.length);
  });
});

describe('a deployment whose outcome is unknown (stopped before it could show)', () => {
  const history = records('web', '.x.x......');
  const withStopped = history.map((record, index) => (index === 4 ? { ...record, failed: null } : record));
  const set = buildTrainingSet(withStopped, { validationFraction: 0.1, testFraction: 0.2 });
  const column = (name: string) => set.featureList.features.findIndex((feature) => feature.name === name);

  it('is no example: it has no label to learn or evaluate from', () => {
    expect(set.examples).toHaveLength(9);
    expect(set.examples.map((example) => example.time)).not.toContain(history[4].time);
  });

  it('still counts in the history of later deployments as a deployment, not as an outcome', () => {
    const after = set.examples[4];
    expect(after.time).toBe(history[5].time);
    expect(after.vector[column('hoursSinceLastDeployment')]).toBe(1);
    expect(after.vector[column('deploymentsLast24h')]).toBe(5);
    expect(after.history.previousFailed).toBe(1);
    expect(after.vector[column('failureRateLast5')]).toBe(Math.fround(2 / 4));
  });
});

describe('the start-time rule: history from the deployments finished before each start, as online', () => {
  const T0 = Date.UTC(2024, 0, 1, 10);
  const SPLIT = { validationFraction: 0.1, testFraction: 0.2 };

  /** One record of group 'web' starting `minutes` after 10:00; 'x' failed, '.' succeeded, '?' stopped (unknown). */
  function deployment(minutes: number, outcome: 'x' | '.' | '?', author?: string): DeploymentRecord {
    return {
      group: 'web',
      time: new Date(T0 + minutes * 60_000).toISOString(),
      failed: outcome === '?' ? null : outcome === 'x',
      ...(author === undefined ? {} : { author }),
      change: {},
      extra: {},
    };
  }

  /** The history features of each example, in order. */
  const histories = (history: readonly DeploymentRecord[]) => buildTrainingSet(history, SPLIT).examples.map((example) => example.history);

  it('assumes a deployment takes 15 minutes, as the backtest does, where the history has no finish time', () => {
    expect(ASSUMED_DEPLOYMENT_DURATION_MS).toBe(15 * 60_000);
  });

  it('does not show a deployment the outcome of one that started in the same hour: it has not finished', () => {
    const [, second] = histories([deployment(0, 'x'), deployment(0, '.'), deployment(120, '.')]);
    expect(second).toEqual({ consecutiveFailures: 0, failureRateOverall: 0.5, deploymentsLast24h: 0 });
  });

  it('shows a deployment the outcome of one that finished before it started (the hour before)', () => {
    const [, next] = histories([deployment(0, 'x'), deployment(60, '.'), deployment(120, '.')]);
    expect(next.previousFailed).toBe(1);
    expect(next.consecutiveFailures).toBe(1);
    expect(next.hoursSinceLastDeployment).toBe(1);
    expect(next.hoursSinceLastFailure).toBe(1);
    expect(next.deploymentsLast24h).toBe(1);
  });

  it('counts a deployment that finished exactly at the start, not one that finishes a millisecond after', () => {
    const exactly = { group: 'web', time: new Date(T0 + ASSUMED_DEPLOYMENT_DURATION_MS).toISOString(), failed: false, change: {}, extra: {} };
    const justBefore = { ...exactly, time: new Date(T0 + ASSUMED_DEPLOYMENT_DURATION_MS - 1).toISOString() };
    expect(histories([deployment(0, 'x'), exactly, deployment(120, '.')])[1].previousFailed).toBe(1);
    expect(histories([deployment(0, 'x'), justBefore, deployment(120, '.')])[1].previousFailed).toBeUndefined();
  });

  it('shows every deployment of a busy hour only the hours before it, and the next hour all of them', () => {
    const earlier = deployment(0, 'x');
    const busyHour = [...'.x.x.'].map((outcome) => deployment(60, outcome as '.' | 'x'));
    const [first, ...rest] = histories([earlier, ...busyHour, deployment(120, '.'), deployment(180, '.'), deployment(240, '.')]);
    expect(first.previousFailed).toBeUndefined();
    for (const history of rest.slice(0, 5)) {
      expect(history).toMatchObject({ previousFailed: 1, consecutiveFailures: 1, failureRateLast5: 1, deploymentsLast24h: 1, hoursSinceLastDeployment: 1 });
    }
    expect(rest[5]).toMatchObject({ previousFailed: 0, consecutiveFailures: 0, failureRateLast5: 2 / 5, deploymentsLast24h: 6, hoursSinceLastDeployment: 1 });
    expect(rest[5].failureRateLast20).toBe(3 / 6);
  });

  it('counts in deploymentsLast24h and hoursSinceLastDeployment only finished deployments, stopped ones included', () => {
    // The stopped deployment is no example: the second example is the one that starts at 11:00.
    const [, atEleven] = histories([deployment(0, '?'), deployment(50, '.'), deployment(60, '.'), deployment(180, '.'), deployment(240, '.')]);
    // By 11:00 the stopped 10:00 deployment has finished; the one that started at 10:50 is still running.
    expect(atEleven).toMatchObject({ deploymentsLast24h: 1, hoursSinceLastDeployment: 1 });
    expect(atEleven.previousFailed).toBeUndefined();
  });

  it('in a history without timestamps (file order), shows each deployment every earlier one', () => {
    const untimed = [...'x.x......'].map((outcome) => ({ ...deployment(0, outcome as '.' | 'x'), time: null }));
    expect(histories(untimed).map((history) => history.previousFailed ?? '-').join('')).toBe('-10100000');
  });

  /** A reproducible pseudo-random sequence (no Math.random in tests). */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  it.each([1, 2, 3, 4])(
    'gives each deployment exactly computeHistoryFeatures over the deployments finished by its start (random history %i)',
    (seed) => {
      const next = random(seed);
      let minutes = 0;
      const history = Array.from({ length: 400 }, () => {
        // Often the same hour (hour-granularity histories), sometimes minutes apart, sometimes hours.
        const gap = next();
        minutes += gap < 0.4 ? 0 : gap < 0.6 ? Math.floor(next() * 30) : gap < 0.7 ? 15 : Math.floor(next() * 30) * 60;
        const roll = next();
        const outcome = roll < 0.08 ? '?' : roll < 0.35 ? 'x' : '.';
        return deployment(minutes, outcome, next() < 0.3 ? undefined : ['ada', 'bob'][Math.floor(next() * 2)]);
      });
      const examples = buildTrainingSet(history, SPLIT).examples;
      const labelled = history.filter((record) => record.failed !== null);
      expect(examples).toHaveLength(labelled.length);
      const past = (record: DeploymentRecord): PastDeployment => ({
        time: Date.parse(record.time as string),
        ...(record.failed === null ? {} : { failed: record.failed }),
        ...(record.author === undefined ? {} : { author: record.author }),
      });
      labelled.forEach((record, index) => {
        const start = Date.parse(record.time as string);
        const finished = history.filter((earlier) => Date.parse(earlier.time as string) + ASSUMED_DEPLOYMENT_DURATION_MS <= start);
        expect(examples[index].time).toBe(record.time);
        expect(examples[index].history).toEqual(computeHistoryFeatures(finished.map(past), { time: start, author: record.author }));
      });
    },
  );
});
