import { readFileSync } from 'node:fs';
import { CHANGE_FIELD_NAMES } from '../../model/change-fields';
import { FEATURES_JSON_PATH, renderFeatureSchemaJson } from '../../model/features-json';
import {
  FEATURE_SCHEMA,
  FEATURE_SCHEMA_VERSION,
  buildFeatureVector,
  createFeatureList,
  formatFeatureRow,
  formatFeatureValue,
  parseFeatureList,
} from '../../model/features';
import { HISTORY_FEATURE_NAMES } from '../../model/history';

describe('the feature schema', () => {
  it('has the change fields first, in the order of the public contract, then deployment, then history features', () => {
    const names = FEATURE_SCHEMA.map((feature) => feature.name);
    expect(names).toEqual([...CHANGE_FIELD_NAMES, 'hourOfDay', 'dayOfWeek', 'deploymentGroup', ...HISTORY_FEATURE_NAMES]);
    expect(new Set(names).size).toBe(names.length);
    expect(FEATURE_SCHEMA.map((feature) => feature.source)).toEqual([
      ...CHANGE_FIELD_NAMES.map(() => 'change'),
      'deployment',
      'deployment',
      'deployment',
      ...HISTORY_FEATURE_NAMES.map(() => 'history'),
    ]);
  });

  it('describes every feature and says how a missing value reads', () => {
    for (const feature of FEATURE_SCHEMA) {
      expect(feature.description.length).toBeGreaterThan(5);
      expect(feature.phrase.missing.length).toBeGreaterThan(3);
      if (feature.type === 'boolean') expect([feature.phrase.yes, feature.phrase.no]).toEqual([expect.any(String), expect.any(String)]);
      else expect(feature.phrase.other).toEqual(expect.any(String));
    }
  });

  it('is copied to model/features.json for Python, and the copy is up to date (npx tsx model/features-json.ts)', () => {
    expect(readFileSync(FEATURES_JSON_PATH, 'utf8')).toBe(renderFeatureSchemaJson());
    const copy = JSON.parse(readFileSync(FEATURES_JSON_PATH, 'utf8'));
    expect(copy.schemaVersion).toBe(FEATURE_SCHEMA_VERSION);
    expect(copy.features.map((feature: { name: string }) => feature.name)).toEqual(FEATURE_SCHEMA.map((feature) => feature.name));
  });
});

describe('buildFeatureVector', () => {
  const list = createFeatureList({
    names: ['linesAdded', 'isPullRequest', 'hourOfDay', 'dayOfWeek', 'deploymentGroup', 'previousFailed', 'failureRateLast5', 'gh_sloc'],
    extra: ['gh_sloc'],
    groups: ['checkout', 'payments'],
  });
  // Friday 2024-03-15 22:30 UTC
  const friday = Date.UTC(2024, 2, 15, 22, 30);

  it("puts each value in the list's column order", () => {
    const vector = buildFeatureVector(list, {
      group: 'payments',
      time: friday,
      change: { linesAdded: 412, isPullRequest: 1 },
      history: { previousFailed: 1, failureRateLast5: 0.6 },
      extra: { gh_sloc: 45769 },
    });
    expect(vector).toEqual([412, 1, 22, 5, 1, 1, 0.6, 45769]);
  });

  it('makes every absent value a missing value (NaN), never a zero', () => {
    const vector = buildFeatureVector(list, { group: 'unknown-group', change: {}, history: {} });
    expect(vector.every((value) => Number.isNaN(value))).toBe(true);
  });

  it('reads hour of day and day of week in the time zone of the feature list', () => {
    const paris = createFeatureList({ names: ['hourOfDay', 'dayOfWeek'], timeZone: 'Europe/Paris' });
    expect(buildFeatureVector(paris, { group: 'g', time: friday, change: {}, history: {} })).toEqual([23, 5]);
    const tokyo = createFeatureList({ names: ['hourOfDay', 'dayOfWeek'], timeZone: 'Asia/Tokyo' });
    expect(buildFeatureVector(tokyo, { group: 'g', time: friday, change: {}, history: {} })).toEqual([7, 6]);
    const sunday = Date.UTC(2024, 2, 17, 0, 0);
    expect(buildFeatureVector(createFeatureList({ names: ['dayOfWeek'] }), { group: 'g', time: sunday, change: {}, history: {} })).toEqual([7]);
  });

  it('rejects an unknown time zone with its name', () => {
    expect(() => createFeatureList({ names: ['hourOfDay'], timeZone: 'Mars/Olympus' })).toThrow(
      "unknown time zone 'Mars/Olympus' (use an IANA name such as 'UTC' or 'Europe/Paris')",
    );
  });
});

describe("a model's feature list (features.json)", () => {
  const list = createFeatureList({ names: ['srcChurn', 'previousFailed', 'gh_sloc'], extra: ['gh_sloc'], groups: ['a'] });

  it('round-trips through JSON', () => {
    expect(parseFeatureList(JSON.parse(JSON.stringify(list)))).toEqual(list);
  });

  it('refuses another schema version', () => {
    expect(() => parseFeatureList({ ...list, schemaVersion: '0' }, 'model/features.json')).toThrow(
      'model/features.json: feature schema version "0" is not supported (this Deploy Guard reads version 1)',
    );
  });

  it('refuses a built-in feature whose definition differs from this schema', () => {
    const changed = { ...list, features: [{ ...list.features[0], type: 'rate' }, ...list.features.slice(1)] };
    expect(() => parseFeatureList(JSON.parse(JSON.stringify(changed)))).toThrow(
      "features.json: feature 'srcChurn' is change/rate in the model but change/count in this schema",
    );
  });

  it('refuses an unknown feature that is not marked extra', () => {
    const unknown = { ...list, features: [{ name: 'mystery', source: 'history', type: 'count' }] };
    expect(() => parseFeatureList(unknown)).toThrow("features.json: features[0]: 'mystery' is not a built-in feature and not marked as extra");
  });

  it('refuses an extra column named like a built-in feature', () => {
    expect(() => createFeatureList({ names: ['srcChurn'], extra: ['srcChurn'] })).toThrow(
      "extra feature 'srcChurn' has the name of a built-in feature; an extra column needs another name",
    );
  });
});

describe('the container CSV form of a value', () => {
  it('writes a missing value as an empty field', () => {
    expect(formatFeatureRow([1, NaN, 3, NaN])).toBe('1,,3,');
  });

  it('writes the exact float32 the model sees', () => {
    expect(formatFeatureValue(412)).toBe('412');
    expect(formatFeatureValue(0.6)).toBe(String(Math.fround(0.6)));
    expect(Math.fround(Number(formatFeatureValue(1 / 3)))).toBe(Math.fround(1 / 3));
    expect(formatFeatureValue(-0)).toBe('0');
    expect(formatFeatureValue(16777217)).toBe('16777216');
  });

  it('refuses an infinite value', () => {
    expect(() => formatFeatureValue(Infinity)).toThrow('feature value Infinity cannot be sent to the model');
  });
});
