import { historyFeatures } from '../../handlers/predict-domain';
import { ObservedHistory } from '../../local/observed-history';
import type { PastDeployment } from '../../model/history';
import { seededRandom as random } from '../support/random';


const MINUTE = 60_000;

interface Entry {
  readonly id: string;
  readonly start: number;
  readonly failed?: boolean;
  readonly author?: string;
}

/** What predict computes from its store: the `limit` latest entries started before `time` (by start, then id), and the counts of all of them. */
function asPredictComputes(entries: readonly Entry[], limit: number, time: number, author?: string) {
  const before = entries
    .filter((entry) => entry.start < time)
    .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const recent: PastDeployment[] = before.slice(-limit).map((entry) => ({
    time: entry.start,
    ...(entry.failed === undefined ? {} : { failed: entry.failed }),
    ...(entry.author === undefined ? {} : { author: entry.author }),
  }));
  const known = before.filter((entry) => entry.failed !== undefined);
  const counts = { known: known.length, failures: known.filter((entry) => entry.failed).length };
  return historyFeatures(recent, counts, author === undefined ? { time } : { time, author });
}

describe('a history as one policy observed it (local/observed-history.ts)', () => {
  it.each([
    { name: 'failures in streaks, long runs of stops, few authors', seed: 1, stopShare: 0.3, failureShare: 0.25, authors: 3 },
    { name: 'rare failures (the last one beyond the read), many authors', seed: 2, stopShare: 0.05, failureShare: 0.01, authors: 40 },
    { name: 'almost everything stopped (no known outcome in the read)', seed: 3, stopShare: 0.97, failureShare: 0.5, authors: 5 },
  ])('gives the history features predict computes from its store: $name', ({ seed, stopShare, failureShare, authors }) => {
    const next = random(seed);
    const limit = 60;
    const history = new ObservedHistory(limit);
    const entries: Entry[] = [];
    let time = Date.UTC(2024, 0, 1);
    let failing = false;
    for (let index = 0; index < 1500; index += 1) {
      time += Math.floor(next() * 180) * MINUTE;
      // Some finish late: a deployment recorded after one that started after it (inserted in start order).
      const start = next() < 0.1 ? time - Math.floor(next() * 60) * MINUTE : time;
      if (next() < 0.2) failing = next() < failureShare * 2;
      const entry: Entry = {
        id: `d-${index}`,
        start,
        ...(next() < stopShare ? {} : { failed: failing || next() < failureShare }),
        ...(next() < 0.1 ? {} : { author: `author-${Math.floor(next() * authors)}` }),
      };
      history.record(entry);
      entries.push(entry);
      if (index % 7 === 0) {
        const query = time + Math.floor(next() * 48 * 60) * MINUTE;
        const author = next() < 0.8 ? `author-${Math.floor(next() * authors)}` : undefined;
        expect(history.features(author === undefined ? { time: query } : { time: query, author })).toEqual(asPredictComputes(entries, limit, query, author));
        // A query at an earlier time leaves out what started at or after it, as predict's read does.
        expect(history.features({ time: start })).toEqual(asPredictComputes(entries, limit, start));
      }
    }
  });

  it('has nothing to say about a new group but its smoothed failure rate', () => {
    expect(new ObservedHistory(200).features({ time: 0 })).toEqual({ consecutiveFailures: 0, failureRateOverall: 0.5, deploymentsLast24h: 0 });
  });

  it('needs a read long enough for the 20-deployment window', () => {
    expect(() => new ObservedHistory(10)).toThrow('a history read needs at least the last 20 deployments, got a limit of 10');
  });
});
