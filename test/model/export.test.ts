import { buildTrainingSet, checkSplit, formatTrainingLine, splitWindows, trainingCsv } from '../../model/export';
import type { DeploymentRecord } from '../../model/records';

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
