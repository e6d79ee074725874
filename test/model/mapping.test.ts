import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANGE_FIELD_NAMES } from '../../model/change-fields';
import { MappingError, checkHeader, parseMapping } from '../../model/mapping';

const ROOT = join(__dirname, '../..');
const valid = {
  group: { fromFileName: true },
  time: { columns: { year: 'year_of_start', month: 'month_of_start', day: 'day_of_start', hour: 'hour_of_start' } },
  label: { column: 'build_failed', failureValues: [1] },
  features: { linesAdded: 'git_diff_src_churn', isPullRequest: 'gh_is_pr' },
  extraFeatures: ['gh_sloc'],
  drop: ['year_of_start'],
};

/** The message of the MappingError that parsing `json` throws. */
function problemsOf(json: unknown): string[] {
  try {
    parseMapping(json, 'm.json');
  } catch (error) {
    expect(error).toBeInstanceOf(MappingError);
    return [...(error as MappingError).problems];
  }
  throw new Error('the mapping was accepted');
}

describe('the mapping of a CSV history', () => {
  it("accepts the issue's example as it is", () => {
    const mapping = parseMapping(valid);
    expect(mapping.group).toEqual({ fromFileName: true });
    expect(mapping.features).toEqual({ linesAdded: 'git_diff_src_churn', isPullRequest: 'gh_is_pr' });
  });

  it('accepts the shipped ci-bfdetector mapping', () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, 'data/ci-bfdetector.mapping.json'), 'utf8'));
    const mapping = parseMapping(shipped);
    expect(Object.keys(mapping.features).length).toBeGreaterThanOrEqual(10);
  });

  it('does not map the dataset\'s own history columns: Deploy Guard computes its own history', () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, 'data/ci-bfdetector.mapping.json'), 'utf8'));
    const used = [...Object.values(shipped.features), ...shipped.extraFeatures] as string[];
    for (const column of ['prev_build_result', 'proj_fail_rate_history', 'proj_fail_rate_recent', 'comm_fail_rate_history', 'comm_fail_rate_recent', 'elapsed_days_last_build', 'same_committer']) {
      expect(used).not.toContain(column);
      expect(shipped.drop).toContain(column);
    }
  });

  it('defaults features, extraFeatures and drop to empty', () => {
    const mapping = parseMapping({ group: { column: 'app' }, time: { rowOrder: true }, label: { column: 'status', failureValues: ['failed'] } });
    expect(mapping).toEqual({
      group: { column: 'app' },
      time: { rowOrder: true },
      label: { column: 'status', failureValues: ['failed'] },
      features: {},
      extraFeatures: [],
      drop: [],
    });
  });

  it('accepts a time column in seconds or ISO 8601', () => {
    expect(parseMapping({ ...valid, time: { column: 'ts', format: 'unix-seconds' } }).time).toEqual({ column: 'ts', format: 'unix-seconds' });
    expect(parseMapping({ ...valid, time: { column: 'ts', format: 'iso8601' } }).time).toEqual({ column: 'ts', format: 'iso8601' });
  });

  describe('says exactly what is wrong, and where', () => {
    it('names every missing part', () => {
      expect(problemsOf({})).toEqual(['group: is required', 'time: is required', 'label: is required']);
    });

    it('names an unknown key and lists the known ones', () => {
      expect(problemsOf({ ...valid, featurs: {} })).toEqual([
        "the mapping: unknown key 'featurs'; the keys are $schema, group, time, label, author, features, extraFeatures, drop",
      ]);
    });

    it('refuses a field that is not a change field, and lists the change fields', () => {
      expect(problemsOf({ ...valid, features: { linesAddedd: 'x' } })).toEqual([
        `features.linesAddedd: 'linesAddedd' is not a change field; the change fields are ${CHANGE_FIELD_NAMES.join(', ')}`,
      ]);
    });

    it('refuses a column that is not a name', () => {
      expect(problemsOf({ ...valid, features: { srcChurn: 3 } })).toEqual(['features.srcChurn: must be a column name (a string)']);
      expect(problemsOf({ ...valid, extraFeatures: [''] })).toEqual(['extraFeatures[0]: must be a column name, not empty']);
      expect(problemsOf({ ...valid, extraFeatures: 'gh_sloc' })).toEqual(['extraFeatures: must be a list of numeric columns to use as extra features']);
    });

    it('explains the forms of group', () => {
      expect(problemsOf({ ...valid, group: { fromFileName: false } })).toEqual([
        'group.fromFileName: must be true (the file name, without .csv, names the group)',
      ]);
      expect(problemsOf({ ...valid, group: {} })).toEqual(['group: must be { "fromFileName": true } or { "column": "<column>" }, exactly one of them']);
      expect(problemsOf({ ...valid, group: 'app' })).toEqual(['group: must be { "fromFileName": true } or { "column": "<column>" }']);
    });

    it('explains the forms of time', () => {
      expect(problemsOf({ ...valid, time: { columns: { month: 'm' } } })).toEqual(['time.columns.year: is required']);
      expect(problemsOf({ ...valid, time: { column: 'ts', format: 'unix' } })).toEqual(['time.format: must be "unix-seconds" or "iso8601"']);
      expect(problemsOf({ ...valid, time: { column: 'ts' } })).toEqual(['time.format: is required with time.column: "unix-seconds" or "iso8601"']);
      expect(problemsOf({ ...valid, time: { rowOrder: true, column: 'ts', format: 'iso8601' } })).toEqual([
        'time: must be { "columns": { "year": ..., "month": ..., "day": ..., "hour": ... } }, { "column": "<column>", "format": "unix-seconds" | "iso8601" } or { "rowOrder": true }, exactly one of them',
      ]);
      expect(problemsOf({ ...valid, time: { columns: { year: 'y', week: 'w' } } })).toEqual(["time.columns: unknown key 'week'"]);
    });

    it('needs at least one failure value', () => {
      expect(problemsOf({ ...valid, label: { column: 'build_failed', failureValues: [] } })).toEqual([
        'label.failureValues: must list at least one value that means the deployment failed',
      ]);
      expect(problemsOf({ ...valid, label: { column: 'build_failed' } })).toEqual(['label.failureValues: is required']);
    });

    it('refuses a value that means both failure and success', () => {
      expect(problemsOf({ ...valid, label: { column: 'status', failureValues: ['failed', 'broken'], successValues: ['passed', 'broken'] } })).toEqual([
        'label.successValues: "broken" is also a failure value',
      ]);
    });

    it('refuses the label as a feature: it would leak the outcome', () => {
      expect(problemsOf({ ...valid, extraFeatures: ['build_failed'] })).toEqual([
        "extraFeatures[0]: column 'build_failed' is the label; using it as a feature would leak the outcome",
      ]);
    });

    it('refuses a column both dropped and used as a feature', () => {
      expect(problemsOf({ ...valid, drop: ['gh_is_pr'] })).toEqual(["drop: column 'gh_is_pr' is dropped but also used by features.isPullRequest"]);
    });

    it('refuses an extra column named like a built-in feature, or listed twice', () => {
      expect(problemsOf({ ...valid, extraFeatures: ['hourOfDay', 'gh_sloc', 'gh_sloc'] })).toEqual([
        "extraFeatures[0]: 'hourOfDay' is the name of a built-in feature; an extra column needs another name",
        "extraFeatures[2]: column 'gh_sloc' is listed twice",
      ]);
    });

    it('prefixes the whole message with the mapping file', () => {
      expect(() => parseMapping({ ...valid, group: {} }, 'data/x.mapping.json')).toThrow(
        'mapping data/x.mapping.json: group: must be { "fromFileName": true } or { "column": "<column>" }, exactly one of them',
      );
    });
  });

  describe('against the header of a file', () => {
    const header = ['build_failed', 'year_of_start', 'month_of_start', 'day_of_start', 'hour_of_start', 'git_diff_src_churn', 'gh_is_pr', 'gh_sloc', 'other'];

    it('returns the columns the mapping neither uses nor drops', () => {
      expect(checkHeader(parseMapping(valid), header, 'a.csv')).toEqual(['other']);
    });

    it('fails at once with the name of a column the file lacks', () => {
      const mapping = parseMapping({ ...valid, features: { ...valid.features, srcChurn: 'git_diff_src_churm' } });
      expect(() => checkHeader(mapping, header, 'data/a.csv', 'm.json')).toThrow(
        "mapping m.json: features.srcChurn: column 'git_diff_src_churm' is not in data/a.csv",
      );
    });

    it('fails on a used column that appears twice in the header', () => {
      expect(() => checkHeader(parseMapping(valid), [...header, 'gh_is_pr'], 'a.csv', 'm.json')).toThrow(
        "mapping m.json: features.isPullRequest: column 'gh_is_pr' appears 2 times in a.csv",
      );
    });
  });
});
