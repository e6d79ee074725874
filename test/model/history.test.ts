import {
  HISTORY_FEATURE_NAMES,
  HistoryAccumulator,
  type PastDeployment,
  computeHistoryFeatures,
  historyCounts,
} from '../../model/history';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1, 12);
const at = (hours: number) => T0 + hours * HOUR;
const ok = (hours?: number, author?: string): PastDeployment => ({ time: hours === undefined ? undefined : at(hours), failed: false, author });
const fail = (hours?: number, author?: string): PastDeployment => ({ time: hours === undefined ? undefined : at(hours), failed: true, author });
const stopped = (hours?: number): PastDeployment => ({ time: hours === undefined ? undefined : at(hours) });

describe('history features (computeHistoryFeatures)', () => {
  describe('a new group', () => {
    it('has no previous outcome, no rates but the smoothed one, and no time since anything', () => {
      expect(computeHistoryFeatures([], { time: at(0) })).toEqual({
        consecutiveFailures: 0,
        failureRateOverall: 0.5,
        deploymentsLast24h: 0,
      });
    });

    it('without a time, has no time features at all (missing, not zero)', () => {
      expect(computeHistoryFeatures([])).toEqual({ consecutiveFailures: 0, failureRateOverall: 0.5 });
    });
  });

  describe('previous outcome', () => {
    it('is 1 when the previous deployment failed', () => {
      expect(computeHistoryFeatures([ok(0), fail(1)]).previousFailed).toBe(1);
    });
    it('is 0 when the previous deployment succeeded', () => {
      expect(computeHistoryFeatures([fail(0), ok(1)]).previousFailed).toBe(0);
    });
    it('skips a deployment whose outcome is unknown (stopped before it could show)', () => {
      expect(computeHistoryFeatures([fail(0), stopped(1)]).previousFailed).toBe(1);
    });
    it('is missing when no earlier deployment has a known outcome', () => {
      expect(computeHistoryFeatures([stopped(0)]).previousFailed).toBeUndefined();
    });
  });

  describe('consecutive failures', () => {
    it('counts the failures in a row at the end', () => {
      expect(computeHistoryFeatures([fail(0), ok(1), fail(2), fail(3), fail(4)]).consecutiveFailures).toBe(3);
    });
    it('is 0 after a success', () => {
      expect(computeHistoryFeatures([fail(0), fail(1), ok(2)]).consecutiveFailures).toBe(0);
    });
    it('is not broken by an unknown outcome', () => {
      expect(computeHistoryFeatures([fail(0), stopped(1), fail(2)]).consecutiveFailures).toBe(2);
    });
  });

  describe('failure rates', () => {
    it('over the last 5 known outcomes', () => {
      const past = [fail(0), fail(1), ok(2), fail(3), ok(4), fail(5), ok(6)];
      expect(computeHistoryFeatures(past).failureRateLast5).toBeCloseTo(2 / 5, 12);
    });
    it('over fewer when the history is shorter', () => {
      expect(computeHistoryFeatures([fail(0), ok(1), ok(2)]).failureRateLast5).toBeCloseTo(1 / 3, 12);
    });
    it('over the last 20', () => {
      const past = [...Array.from({ length: 10 }, (_, index) => fail(index)), ...Array.from({ length: 20 }, (_, index) => (index < 5 ? fail(10 + index) : ok(10 + index)))];
      expect(computeHistoryFeatures(past).failureRateLast20).toBeCloseTo(5 / 20, 12);
    });
    it('leaves unknown outcomes out of every rate', () => {
      const features = computeHistoryFeatures([fail(0), stopped(1), stopped(2), ok(3)]);
      expect(features.failureRateLast5).toBeCloseTo(1 / 2, 12);
      expect(features.failureRateOverall).toBeCloseTo((1 + 1) / (2 + 2), 12);
    });
    it('smooths the overall rate as (failures + 1) / (deployments + 2)', () => {
      expect(computeHistoryFeatures([fail(0), fail(1), fail(2)]).failureRateOverall).toBeCloseTo(4 / 5, 12);
      expect(computeHistoryFeatures([ok(0)]).failureRateOverall).toBeCloseTo(1 / 3, 12);
    });
  });

  describe('time since the last deployment and the last failure', () => {
    it('are hours before the deployment being predicted', () => {
      const features = computeHistoryFeatures([fail(0), ok(5)], { time: at(7.5) });
      expect(features.hoursSinceLastDeployment).toBe(2.5);
      expect(features.hoursSinceLastFailure).toBe(7.5);
    });
    it('count a stopped deployment as a deployment but not as a failure', () => {
      const features = computeHistoryFeatures([fail(0), stopped(5)], { time: at(6) });
      expect(features.hoursSinceLastDeployment).toBe(1);
      expect(features.hoursSinceLastFailure).toBe(6);
    });
    it('are 0 for deployments in the same instant (several builds within one hour)', () => {
      expect(computeHistoryFeatures([fail(3)], { time: at(3) }).hoursSinceLastDeployment).toBe(0);
    });
    it('are never negative when a clock is slightly behind', () => {
      expect(computeHistoryFeatures([ok(3)], { time: at(2.9) }).hoursSinceLastDeployment).toBe(0);
    });
    it('leave the time since the last failure missing when nothing failed', () => {
      expect(computeHistoryFeatures([ok(0), ok(1)], { time: at(2) }).hoursSinceLastFailure).toBeUndefined();
    });
    it('are missing when the history has no timestamps', () => {
      const features = computeHistoryFeatures([fail(), ok()], { time: at(2) });
      expect(features.hoursSinceLastDeployment).toBeUndefined();
      expect(features.hoursSinceLastFailure).toBeUndefined();
      expect(features.deploymentsLast24h).toBe(0);
    });
  });

  describe('deployments in the last 24 hours', () => {
    it('counts those that started less than 24 hours before', () => {
      const past = [ok(0), ok(1), fail(10), ok(24.5)];
      expect(computeHistoryFeatures(past, { time: at(25) }).deploymentsLast24h).toBe(2);
    });
    it('leaves out one that started exactly 24 hours before', () => {
      expect(computeHistoryFeatures([ok(0), ok(1)], { time: at(24) }).deploymentsLast24h).toBe(1);
    });
    it('includes stopped deployments', () => {
      expect(computeHistoryFeatures([stopped(23)], { time: at(24) }).deploymentsLast24h).toBe(1);
    });
  });

  describe("the author's recent failure rate", () => {
    it('is taken over the same author only, last 5 known outcomes', () => {
      const past = [fail(0, 'ada'), fail(1, 'bob'), ok(2, 'ada'), fail(3, 'ada'), ok(4, 'ada'), ok(5, 'ada'), ok(6, 'ada')];
      expect(computeHistoryFeatures(past, { author: 'ada' }).authorRecentFailureRate).toBeCloseTo(1 / 5, 12);
      expect(computeHistoryFeatures(past, { author: 'bob' }).authorRecentFailureRate).toBe(1);
    });
    it('is missing when the author is unknown (the ci-bfdetector history has no author)', () => {
      expect(computeHistoryFeatures([fail(0, 'ada')], {}).authorRecentFailureRate).toBeUndefined();
    });
    it('is missing for an author with no earlier deployment', () => {
      expect(computeHistoryFeatures([fail(0, 'ada')], { author: 'cy' }).authorRecentFailureRate).toBeUndefined();
    });
  });

  it('only ever returns features of the schema, as numbers', () => {
    const features = computeHistoryFeatures([fail(0, 'a'), ok(1, 'a')], { time: at(2), author: 'a' });
    expect(Object.keys(features).sort()).toEqual([...HISTORY_FEATURE_NAMES].sort());
    for (const value of Object.values(features)) expect(Number.isFinite(value)).toBe(true);
  });

  it('counts the outcomes the rates were taken over (for explanations)', () => {
    expect(historyCounts([fail(0, 'a'), stopped(1), ok(2, 'b')], { author: 'a' })).toEqual({ knownOutcomes: 2, authorKnownOutcomes: 1 });
    expect(historyCounts([fail(0, 'a')])).toEqual({ knownOutcomes: 1 });
  });
});

describe('HistoryAccumulator (the incremental form)', () => {
  /** A reproducible pseudo-random sequence (no Math.random in tests). */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  function randomHistory(seed: number, length: number, options: { timed: boolean }): PastDeployment[] {
    const next = random(seed);
    let hours = 0;
    return Array.from({ length }, () => {
      hours += next() < 0.3 ? 0 : next() * 20;
      const roll = next();
      const failed = roll < 0.08 ? undefined : roll < 0.35;
      const author = next() < 0.2 ? undefined : ['ada', 'bob', 'cy'][Math.floor(next() * 3)];
      return { time: options.timed ? at(hours) : undefined, failed, author };
    });
  }

  it.each([1, 2, 3, 4, 5, 6])('gives exactly the numbers of computeHistoryFeatures (random history %i)', (seed) => {
    const history = randomHistory(seed, 300, { timed: seed % 3 !== 0 });
    const accumulator = new HistoryAccumulator();
    history.forEach((deployment, index) => {
      const query = { time: deployment.time === undefined ? undefined : deployment.time + (index % 4) * HOUR, author: deployment.author };
      const past = history.slice(0, index);
      expect(accumulator.features(query)).toEqual(computeHistoryFeatures(past, query));
      expect(accumulator.counts(query)).toEqual(historyCounts(past, query));
      accumulator.record(deployment);
    });
  });

  it('refuses deployments recorded out of time order', () => {
    const accumulator = new HistoryAccumulator();
    accumulator.record(ok(5));
    expect(() => accumulator.record(ok(4))).toThrow(
      'deployments must be recorded in time order: 2024-01-01T16:00:00.000Z comes after 2024-01-01T17:00:00.000Z',
    );
  });
});
