import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { CsvSyntaxError, readCsv } from '../../model/csv';
import { HistoryImportError, importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';
import { parseRecordsJsonLines } from '../../model/records';
import { memoryIO } from '../support/io';
import { scratchDirs } from '../support/temp-dirs';

const FIXTURES = join(__dirname, '../fixtures/history-import');
const MAPPING_FILE = join(FIXTURES, 'mapping.json');
const mapping = parseMapping(JSON.parse(readFileSync(MAPPING_FILE, 'utf8')), MAPPING_FILE);

const tempDir = scratchDirs('import');

describe('readCsv', () => {
  const rows = (text: string) => [...readCsv(text)].map((record) => [record.line, ...record.fields]);

  it('reads quoted fields with commas, quotes and line breaks, and counts lines', () => {
    expect(rows('a,b\n"x, y","say ""hi"""\n"two\nlines",z\nlast,row')).toEqual([
      [1, 'a', 'b'],
      [2, 'x, y', 'say "hi"'],
      [3, 'two\nlines', 'z'],
      [5, 'last', 'row'],
    ]);
  });

  it('reads CRLF line ends, a byte-order mark, empty fields, and skips blank lines', () => {
    expect(rows('\ufeffa,b\r\n1,\r\n\r\n,2\r\n')).toEqual([
      [1, 'a', 'b'],
      [2, '1', ''],
      [4, '', '2'],
    ]);
  });

  it('stops at a quote that is never closed, with its line', () => {
    expect(() => rows('a,b\n1,"open\n2,3\n')).toThrow(new CsvSyntaxError(2, 'a quoted field is not closed'));
    expect(() => rows('a,b\n1,"x"y\n')).toThrow('line 2: unexpected text after a closing quote');
  });
});

describe('importHistory (a folder of one CSV per deployment group)', () => {
  const result = importHistory(FIXTURES, mapping, MAPPING_FILE);

  it('counts rows read, used and rejected', () => {
    expect(result.files.map((file) => file.slice(FIXTURES.length + 1))).toEqual(['checkout.csv', 'payments.csv']);
    expect(result.read).toBe(12);
    expect(result.records).toHaveLength(6);
    expect(result.rejected).toHaveLength(6);
  });

  it('reports each bad row with its file, line and reason', () => {
    const payments = join(FIXTURES, 'payments.csv');
    expect(result.rejected).toEqual([
      { file: payments, line: 5, reason: 'expected 10 fields, found 8' },
      { file: payments, line: 6, reason: "column 'churn' (srcChurn): 'abc' is not a number" },
      { file: payments, line: 7, reason: '2024-2-30 is not a date' },
      {
        file: payments,
        line: 8,
        reason: "label 'canceled' in column 'status' is neither a failure value (failed, errored) nor a success value (passed)",
      },
      { file: payments, line: 9, reason: "column 'churn' (srcChurn): '2.5' is not a whole number >= 0" },
      { file: payments, line: 10, reason: "column 'pr' (isPullRequest): 'maybe' is not a boolean (0/1 or true/false)" },
    ]);
  });

  it('names the group after the file, and keeps each group in time order (file order breaks ties)', () => {
    expect(result.records.map((record) => [record.group, record.time, record.source?.line])).toEqual([
      ['checkout', '2023-12-31T08:00:00.000Z', 2],
      ['checkout', '2023-12-31T09:00:00.000Z', 3],
      ['payments', '2024-01-01T23:00:00.000Z', 11],
      ['payments', '2024-01-02T10:00:00.000Z', 2],
      ['payments', '2024-01-02T11:00:00.000Z', 3],
      ['payments', '2024-01-02T11:00:00.000Z', 4],
    ]);
  });

  it('maps values onto change fields and extra features; an empty or NA cell is missing, not zero', () => {
    const [first, , earliest, , failed, missing] = result.records;
    expect(first).toMatchObject({ failed: false, change: { srcChurn: 1, isPullRequest: 0 }, extra: { sloc: 10 } });
    expect(earliest).toMatchObject({ failed: true, change: { srcChurn: 5, isPullRequest: 0 }, extra: { sloc: 2000.5 } });
    expect(failed).toMatchObject({ failed: true, change: { srcChurn: 400, isPullRequest: 1 } });
    expect(missing.change).toEqual({ isPullRequest: 1 });
    expect(missing.extra).toEqual({});
    expect(result.records[1].extra).toEqual({});
  });

  it('leaves every unmapped change field out (missing), never 0', () => {
    for (const record of result.records) expect(Object.keys(record.change).every((field) => ['srcChurn', 'isPullRequest'].includes(field))).toBe(true);
  });

  it('reports the columns the mapping does not mention', () => {
    expect([...result.unusedColumns.values()]).toEqual([['notes'], ['notes']]);
  });

  it('fails at once, naming the column, when the mapping names a column a file lacks', () => {
    const broken = parseMapping({ ...JSON.parse(readFileSync(MAPPING_FILE, 'utf8')), extraFeatures: ['sloc', 'loc'] }, 'm.json');
    expect(() => importHistory(FIXTURES, broken, 'm.json')).toThrow(
      `mapping m.json: extraFeatures[1]: column 'loc' is not in ${join(FIXTURES, 'checkout.csv')}`,
    );
  });

  it('reads a time column in seconds or ISO 8601, a group column, and an author', () => {
    const dir = tempDir();
    const file = join(dir, 'all.csv');
    writeFileSync(file, 'app,at,ok,who\nweb,2024-03-01T10:15:00+02:00,yes,ada\napi,1709287200,no,\nweb,2024-03-01,no,bob\napi,1709290800,yes,\n');
    const iso = importHistory(
      file,
      parseMapping({ group: { column: 'app' }, time: { column: 'at', format: 'iso8601' }, label: { column: 'ok', failureValues: ['no'] }, author: 'who' }),
    );
    expect(iso.rejected).toEqual([
      { file, line: 3, reason: "column 'at': '1709287200' is not an ISO 8601 time" },
      { file, line: 5, reason: "column 'at': '1709290800' is not an ISO 8601 time" },
    ]);
    expect(iso.records.map((record) => [record.group, record.time, record.failed, record.author])).toEqual([
      ['web', '2024-03-01T00:00:00.000Z', true, 'bob'],
      ['web', '2024-03-01T08:15:00.000Z', false, 'ada'],
    ]);
    const seconds = importHistory(
      file,
      parseMapping({ group: { column: 'app' }, time: { column: 'at', format: 'unix-seconds' }, label: { column: 'ok', failureValues: ['no'] } }),
    );
    expect(seconds.records.map((record) => record.time)).toEqual(['2024-03-01T10:00:00.000Z', '2024-03-01T11:00:00.000Z']);
    expect(seconds.rejected.map((row) => row.reason)).toEqual([
      "column 'at': '2024-03-01T10:15:00+02:00' is not a time in seconds since 1970",
      "column 'at': '2024-03-01' is not a time in seconds since 1970",
    ]);
  });

  it('refuses a label mapping that finds no failed deployment, naming the column and the values found', () => {
    const file = join(tempDir(), 'app.csv');
    writeFileSync(file, 'status\nSUCCESS\nFAILED\nSUCCESS\nSKIPPED\n');
    const mapping = parseMapping({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'status', failureValues: ['failed'] } });
    expect(() => importHistory(file, mapping)).toThrow(
      new HistoryImportError(
        `${file}: no deployment is labelled failed: label column 'status' matches none of the failure values ('failed'); ` +
          "the column holds 'SUCCESS' (2 rows), 'FAILED' (1 row), 'SKIPPED' (1 row). A model needs failed and succeeded deployments: fix label.failureValues in the mapping",
      ),
    );
  });

  it('refuses a label mapping that finds no succeeded deployment (success values that match no row)', () => {
    const file = join(tempDir(), 'app.csv');
    writeFileSync(file, 'status\nok\nfailed\nok\n');
    const mapping = parseMapping({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'status', failureValues: ['failed'], successValues: ['success'] } });
    expect(() => importHistory(file, mapping)).toThrow(/no deployment is labelled succeeded: label column 'status' matches none of the success values \('success'\); the column holds 'ok' \(2 rows\), 'failed' \(1 row\)/);
  });

  it('fails once, naming the column, when a mapped numeric column holds no number at all', () => {
    const file = join(tempDir(), 'app.csv');
    const rows = Array.from({ length: 50 }, (_, index) => `${index % 3 === 0 ? 1 : 0},${['small', 'large', 'NA'][index % 3]},${index}`);
    writeFileSync(file, `failed,size,files\n${rows.join('\n')}\n`);
    const mapping = parseMapping({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'failed', failureValues: [1] }, features: { srcChurn: 'size', filesModified: 'files' } });
    expect(() => importHistory(file, mapping)).toThrow(
      new HistoryImportError(`${file}: column 'size' (srcChurn) holds no number in any row; it holds 'large' (17 rows), 'small' (17 rows): map a numeric column to it, or leave it out of the mapping`),
    );
  });

  it('keeps file order, without times, for a history in row order', () => {
    const dir = tempDir();
    const file = join(dir, 'history.csv');
    writeFileSync(file, 'result\n1\n0\n1\n');
    const imported = importHistory(file, parseMapping({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'result', failureValues: [1] } }));
    expect(imported.records.map((record) => [record.group, record.time, record.failed])).toEqual([
      ['history', null, true],
      ['history', null, false],
      ['history', null, true],
    ]);
  });
});

describe('deploy-guard import', () => {
  it('writes the records as JSON lines and prints the counts and the bad rows', async () => {
    const out = join(tempDir(), 'records.jsonl');
    const run = memoryIO();
    const code = await main(['import', '--data', FIXTURES, '--mapping', MAPPING_FILE, '--out', out], run.io);
    expect(code).toBe(0);
    expect(run.stdout()).toBe(`read 12 rows from 2 files: 6 used (2 groups), 6 rejected\nwrote 6 records to ${out}\n`);
    expect(run.stderr()).toContain(`${join(FIXTURES, 'payments.csv')}:6: column 'churn' (srcChurn): 'abc' is not a number\n`);
    expect(run.stderr()).toContain(`note: ${join(FIXTURES, 'payments.csv')}: columns not named in the mapping are ignored: notes`);
    const records = parseRecordsJsonLines(readFileSync(out, 'utf8'), out);
    expect(records).toHaveLength(6);
    expect(records[0]).toEqual({
      group: 'checkout',
      time: '2023-12-31T08:00:00.000Z',
      failed: false,
      change: { srcChurn: 1, isPullRequest: 0 },
      extra: { sloc: 10 },
      source: { file: 'checkout.csv', line: 2 },
    });
  });

  it('fails with the mapping problem, not a stack trace', async () => {
    const dir = tempDir();
    const mappingFile = join(dir, 'mapping.json');
    writeFileSync(mappingFile, JSON.stringify({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'state', failureValues: [1] } }));
    const run = memoryIO();
    expect(await main(['import', '--data', FIXTURES, '--mapping', mappingFile, '--out', join(dir, 'out.jsonl')], run.io)).toBe(1);
    expect(run.stderr()).toBe(`deploy-guard import: mapping ${mappingFile}: label.column: column 'state' is not in ${join(FIXTURES, 'checkout.csv')}\n`);
  });

  it('says when the mapping is not JSON', async () => {
    const dir = tempDir();
    const mappingFile = join(dir, 'mapping.json');
    writeFileSync(mappingFile, '{ "group": ');
    const run = memoryIO();
    expect(await main(['import', '--data', FIXTURES, '--mapping', mappingFile, '--out', join(dir, 'out.jsonl')], run.io)).toBe(1);
    expect(run.stderr()).toMatch(new RegExp(`^deploy-guard import: mapping ${mappingFile}: not JSON: `));
  });

  it('needs --data, --mapping and --out', async () => {
    const run = memoryIO();
    expect(await main(['import', '--data', FIXTURES], run.io)).toBe(2);
    expect(run.stderr()).toContain("deploy-guard import: option '--mapping' is required");
  });
});
