import { describeValue, formatWhole, topFactors } from '../../model/factors';
import { builtInFeature, createFeatureList, extraFeature } from '../../model/features';

const list = createFeatureList({
  names: ['linesAdded', 'isPullRequest', 'failureRateLast5', 'hoursSinceLastFailure', 'dayOfWeek', 'deploymentGroup', 'gh_sloc'],
  extra: ['gh_sloc'],
  groups: ['checkout', 'payments'],
});

function feature(name: string) {
  const definition = builtInFeature(name);
  if (!definition) throw new Error(name);
  return definition;
}

describe('top factors of a prediction', () => {
  const vector = [412, 0, 0.6, 50, 5, 1, 45769];
  const contributions = [0.9, -0.05, 0.7, -0.3, 0.01, 0, 0.2, -1.3 /* bias */];

  it('are the largest contributions, in words, with the value and the contribution', () => {
    expect(topFactors(list, vector, contributions, { context: { knownOutcomes: 40 } })).toEqual([
      { feature: 'linesAdded', value: 412, contribution: 0.9, text: '412 lines added' },
      { feature: 'failureRateLast5', value: 0.6, contribution: 0.7, text: '3 of the last 5 deployments failed' },
      { feature: 'hoursSinceLastFailure', value: 50, contribution: -0.3, text: 'last failure 2 days ago' },
    ]);
  });

  it('can keep only what raises the risk', () => {
    expect(topFactors(list, vector, contributions, { direction: 'risk', count: 4 }).map((factor) => factor.feature)).toEqual([
      'linesAdded',
      'failureRateLast5',
      'gh_sloc',
      'dayOfWeek',
    ]);
  });

  it('reports a missing value as null and says it is unknown', () => {
    const [factor] = topFactors(list, [NaN, 0, 0.6, 50, 5, 1, 1], [2, 0, 0, 0, 0, 0, 0]);
    expect(factor).toEqual({ feature: 'linesAdded', value: null, contribution: 2, text: 'lines added unknown' });
  });

  it('leaves out features that contributed nothing', () => {
    expect(topFactors(list, vector, [0, 0, 0, 0, 0, 0.1, 0], { count: 5 })).toEqual([
      { feature: 'deploymentGroup', value: 1, contribution: 0.1, text: 'deployment group payments' },
    ]);
  });

  it('refuses contributions that do not fit the feature list', () => {
    expect(() => topFactors(list, vector, [1, 2])).toThrow('2 contributions for 7 features');
  });
});

describe('a feature value in words', () => {
  const say = (name: string, value: number, context = {}) => describeValue(feature(name), value, list, context);

  it('counts, with singular and zero forms', () => {
    expect(say('linesAdded', 1)).toBe('1 line added');
    expect(say('filesModified', 12)).toBe('12 files modified');
    expect(say('srcChurn', 32444)).toBe('32,444 lines of source changed');
    expect(say('testChurn', 0)).toBe('no test code changed');
    expect(say('consecutiveFailures', 3)).toBe('the last 3 deployments all failed');
    expect(say('deploymentsLast24h', 14)).toBe('14 other deployments in the last 24 hours');
  });

  it('booleans', () => {
    expect(say('isPullRequest', 1)).toBe('built from a pull request');
    expect(say('authorIsCoreMember', 0)).toBe('the author is not a core team member');
    expect(say('previousFailed', 1)).toBe('the previous deployment failed');
  });

  it('failure rates, as "k of the last n" when the number of earlier deployments is known', () => {
    expect(say('failureRateLast5', 0.6, { knownOutcomes: 12 })).toBe('3 of the last 5 deployments failed');
    expect(say('failureRateLast5', 2 / 3, { knownOutcomes: 3 })).toBe('2 of the last 3 deployments failed');
    expect(say('failureRateLast20', 0.25, { knownOutcomes: 100 })).toBe('5 of the last 20 deployments failed');
    expect(say('failureRateLast5', 0.6)).toBe('60 % of the last few deployments failed');
    expect(say('failureRateOverall', 0.2137)).toBe('about 21 % of all deployments of this group failed');
    expect(say('authorRecentFailureRate', 0.5, { authorKnownOutcomes: 2 })).toBe("1 of the author's last 2 deployments failed");
  });

  it('durations, times and days', () => {
    expect(say('hoursSinceLastDeployment', 0.25)).toBe('previous deployment 15 minutes ago');
    expect(say('hoursSinceLastDeployment', 0)).toBe('previous deployment less than a minute ago');
    expect(say('hoursSinceLastDeployment', 1)).toBe('previous deployment 1 hour ago');
    expect(say('hoursSinceLastFailure', 72)).toBe('last failure 3 days ago');
    expect(say('hourOfDay', 7)).toBe('deployed at 07:00 UTC');
    expect(say('dayOfWeek', 5)).toBe('deployed on a Friday');
  });

  it('missing values, in the words of each feature', () => {
    expect(say('hoursSinceLastFailure', NaN)).toBe('no failure recorded yet');
    expect(say('previousFailed', NaN)).toBe('first deployment of the group');
    expect(say('deploymentGroup', NaN)).toBe('a deployment group the model has not seen');
  });

  it('extra columns, by their name', () => {
    expect(describeValue(extraFeature('gh_sloc'), 45769, list)).toBe('gh_sloc = 45,769');
    expect(describeValue(extraFeature('gh_test_lines_per_kloc'), 2071.970111, list)).toBe('gh_test_lines_per_kloc = 2,072');
    expect(describeValue(extraFeature('ratio'), 0.123456, list)).toBe('ratio = 0.1235');
    expect(describeValue(extraFeature('ratio'), NaN, list)).toBe('ratio unknown');
  });
});

describe('whole numbers in a factor (formatWhole, without loading Intl at cold start)', () => {
  const intl = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

  it('writes what Intl.NumberFormat en-US writes: halves away from zero, a comma between thousands', () => {
    const values: number[] = [0, 1, -1, 0.5, -0.5, 1.5, -2.5, 999, 999.5, 1000, -1000, 45_769, 1_234_567, -123_456.5, 2.4999, 1e20];
    // Spread over every magnitude a feature takes, seeded (an LCG) so a failure names its value.
    let seed = 12_345;
    for (let index = 0; index < 2_000; index += 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const magnitude = 10 ** ((seed % 1_000) / 70);
      values.push((seed % 2 === 0 ? 1 : -1) * magnitude * ((seed % 977) / 977 + 0.01));
    }
    // Intl writes "-0" where a negative value rounds to zero; formatWhole writes 0 (the next case).
    const comparable = values.filter((value) => !(value < 0 && Math.round(-value) === 0));
    const differing = comparable.filter((value) => formatWhole(value) !== intl.format(value)).map((value) => [value, formatWhole(value), intl.format(value)]);
    expect(differing).toEqual([]);
  });

  it('writes 0, not "-0", for a negative value that rounds to zero', () => {
    expect([formatWhole(-0.4), formatWhole(-0)]).toEqual(['0', '0']);
  });

  it('leaves what is not a finite number as JavaScript writes it', () => {
    expect([formatWhole(Number.POSITIVE_INFINITY), formatWhole(Number.NaN)]).toEqual(['Infinity', 'NaN']);
  });
});
