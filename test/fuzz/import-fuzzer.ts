import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryImportError, importHistory } from '../../model/import';
import { mappingColumnUses, mappingSchema, MappingError, parseMapping, type HistoryMapping } from '../../model/mapping';
import { formatRecordsJsonLines, parseRecordsJsonLines } from '../../model/records';
import { everyPathMutations, mutate, type Base, type Mutant } from './mutate';
import { deriveSeed, Prng } from './prng';

/**
 * The import fuzzer: `deploy-guard import` (model/import.ts importHistory with model/mapping.ts
 * parseMapping) against broken CSV histories and broken mappings, made from the shipped fixtures
 * (test/fixtures/history-import) and a slice of a real CI history (data/ci-bfdetector).
 *
 * A CSV case must end in a result whose every record reads back through the records format
 * (formatRecordsJsonLines → parseRecordsJsonLines) and whose every rejected row names the file, a
 * line and a reason, with records + rejected rows = rows read (+1 per empty file); or in a clear
 * error: a MappingError whose every problem names the file, or an Error whose message names it. A
 * mapping case must end in a MappingError whose every problem says where in the mapping and what,
 * or in a mapping the schema accepts (re-validated), which is then used for an import of the base
 * CSV under the CSV rule. Never a TypeError, a RangeError or any other exception. A case that hangs
 * is caught by jest's hang limit (jest.config.js); how long cases take is reported (the slowest one),
 * not judged here: on a busy machine a time limit fails while nothing is wrong.
 */

export interface ImportFuzzSettings {
  /** Broken CSVs or broken mappings (two parts, so that two workers can share the run). */
  readonly part: 'csv' | 'mapping';
  /** Runs only the cases whose number is `index` modulo `of` (a share of the run, for one worker). */
  readonly shard?: { readonly index: number; readonly of: number };
  readonly seed: number;
  /** CSV cases, and mapping cases, each (at least). */
  readonly count: number;
  readonly only?: number;
}

export interface ImportReport {
  readonly csvCases: number;
  readonly mappingCases: number;
  /** Imports that returned (records and documented rejected rows). */
  readonly imported: number;
  /** Rejected rows over all imports. */
  readonly rowsRejected: number;
  /** Imports that failed with a clear error naming the file. */
  readonly fileErrors: number;
  readonly mappingsRejected: number;
  readonly mappingsAccepted: number;
  readonly failures: readonly string[];
  readonly seconds: number;
  readonly slowestMs: number;
}

const ORIGIN = 'mapping.json';
const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'history-import');
const CI_HISTORY = join(ROOT, 'data', 'ci-bfdetector');

/** A history to break: its CSV text (file name = group) and the mapping document that reads it. */
interface CsvBase {
  readonly label: string;
  readonly fileName: string;
  readonly text: string;
  readonly mappingDocument: Record<string, unknown>;
  readonly mapping: HistoryMapping;
}

function csvLines(text: string): string[][] {
  return text.trimEnd().split('\n').map((line) => line.split(','));
}

function csvBases(): CsvBase[] {
  const fixtureMapping = JSON.parse(readFileSync(join(FIXTURES, 'mapping.json'), 'utf8')) as Record<string, unknown>;
  const checkout = readFileSync(join(FIXTURES, 'checkout.csv'), 'utf8');
  const payments = readFileSync(join(FIXTURES, 'payments.csv'), 'utf8');
  // Derived: the fixture rows with their time as one ISO 8601 column, and as Unix seconds.
  const rows = csvLines(payments);
  const header = rows[0];
  const at = (name: string) => header.indexOf(name);
  const stamp = (row: string[]) => {
    const pad = (value: string | undefined) => (value ?? '').padStart(2, '0');
    return `${row[at('year')]}-${pad(row[at('month')])}-${pad(row[at('day')])}T${pad(row[at('hour')])}:00:00Z`;
  };
  const withColumn = (name: string, value: (row: string[]) => string) =>
    payments.split('\n').map((line, index) => (line === '' ? line : `${line},${index === 0 ? name : value(line.split(','))}`)).join('\n');
  const iso = withColumn('started', stamp);
  const unix = withColumn('epoch', (row) => String(Date.parse(stamp(row)) / 1000));
  const ciFile = readdirSync(CI_HISTORY).filter((name) => name.endsWith('.csv')).sort()[0];
  const ci = readFileSync(join(CI_HISTORY, ciFile), 'utf8').split('\n').slice(0, 41).join('\n');
  const ciMapping = JSON.parse(readFileSync(join(ROOT, 'data', 'ci-bfdetector.mapping.json'), 'utf8')) as Record<string, unknown>;
  const documents: [string, string, string, Record<string, unknown>][] = [
    ['test/fixtures/history-import/checkout.csv', 'checkout.csv', checkout, fixtureMapping],
    ['test/fixtures/history-import/payments.csv', 'payments.csv', payments, fixtureMapping],
    ['payments.csv (derived: time as an ISO 8601 column)', 'payments.csv', iso, { ...fixtureMapping, time: { column: 'started', format: 'iso8601' } }],
    ['payments.csv (derived: time as Unix seconds)', 'payments.csv', unix, { ...fixtureMapping, time: { column: 'epoch', format: 'unix-seconds' } }],
    ['payments.csv (derived: row order, group and author columns)', 'payments.csv', payments, { ...fixtureMapping, group: { column: 'notes' }, author: 'prev', drop: [], time: { rowOrder: true } }],
    [`data/ci-bfdetector/${ciFile} (its first 40 rows)`, ciFile, ci, ciMapping],
  ];
  return documents.map(([label, fileName, text, mappingDocument]) => ({ label, fileName, text, mappingDocument, mapping: parseMapping(mappingDocument, label) }));
}

// ---------------------------------------------------------------------------------------------
// CSV mutations

const MEGABYTE = 1 << 20;
const NOT_NUMBERS = ['abc', '"1,5"', '1e999', 'Infinity', '-Infinity', 'NaN', '-0', '0x10', '١٢', ' 12 ', '1_000', '+', '.', 'e5', '1e', '--1', '１２', 'true', '1.5', '-1', '99999999999999999999999', '\u200b1'];
const BAD_TIMES: Record<string, readonly string[]> = {
  year: ['0', '1969', '10000', '99999', '-1', '2021.5', '٢٠٢١', ''],
  month: ['0', '13', '-1', '1.5', '٣'],
  day: ['0', '32', '31', '30', '29'],
  hour: ['24', '-1', '99', '7.5'],
  iso8601: [
    '0000-01-01T00:00:00Z',
    '0000-01-01T00:00:00+23:59',
    '9999-12-31T23:59:59-23:59',
    '2021-02-29',
    '2021-02-30T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2021-13-01',
    '2021-01-01T25:00:00Z',
    '2021-01-01T23:59:60Z',
    '2021-01-01T00:00:00.123456789Z',
    '2021-01-01T00:00:00+99:99',
    '2021-1-1',
    '20210101T000000Z',
  ],
  'unix-seconds': ['1e20', '-1e20', '9'.repeat(30), '8640000000000.001', '8640000000000', '-8640000000000', '-62135596800', '1.7e9', 'NaN', '1e308', '-0'],
};
const UNICODE_CELLS = ['\ud800', '\u202efailed', 'fa\u200biled', 'failed\u0000', '🚀', 'e\u0301', 'FAILED', ' failed ', 'Passed', '1.0'];

interface CsvMutant {
  readonly text: string;
  /** How the text is written: as UTF-8, or as bytes in another encoding. */
  readonly encoding: 'utf8' | 'utf16le' | 'latin1' | 'broken-utf8';
  readonly steps: readonly string[];
}

type CsvOperator = (rng: Prng, text: string, base: CsvBase) => { text: string; step: string; encoding?: CsvMutant['encoding'] };

const lineRange = (rng: Prng, lines: string[]) => (lines.length > 1 ? rng.between(1, lines.length - 1) : 0);

/** Replaces one cell (naive comma split; quoted commas only shift which cell that is). */
function replaceCell(rng: Prng, text: string, column: number | undefined, value: string): { text: string; where: string } {
  const lines = text.split('\n');
  const line = lineRange(rng, lines);
  const cells = lines[line].split(',');
  const index = column !== undefined && column >= 0 && column < cells.length ? column : rng.int(cells.length);
  cells[index] = value;
  lines[line] = cells.join(',');
  return { text: lines.join('\n'), where: `line ${line + 1}, field ${index + 1}` };
}

const headerIndex = (text: string, column: string) =>
  text
    .split('\n')[0]
    .replace(/^\ufeff/, '')
    .split(',')
    .map((cell) => cell.trim())
    .indexOf(column);

const CSV_OPERATORS: readonly (readonly [number, CsvOperator])[] = [
  [10, (rng, text) => {
    const lines = text.split('\n');
    const line = lineRange(rng, lines);
    const cells = lines[line].split(',');
    if (rng.chance(0.5) && cells.length > 1) cells.splice(rng.int(cells.length), 1);
    else cells.push(...new Array(rng.between(1, 3)).fill('extra'));
    lines[line] = cells.join(',');
    return { text: lines.join('\n'), step: `ragged row: line ${line + 1} has ${cells.length} fields` };
  }],
  [10, (rng, text) => {
    const [label, value] = rng.pick([
      ['an unbalanced quote', '"open'],
      ['text after a closing quote', '"a"b'],
      ['a quote inside an unquoted field', 'a"b'],
      ['a quoted field with a comma, a quote and a line break', '"x, ""y""\nz"'],
      ['an empty quoted field', '""'],
      ['a lone quote', '"'],
    ] as const);
    const cell = replaceCell(rng, text, undefined, value);
    return { text: cell.text, step: `quotes: ${label} at ${cell.where}` };
  }],
  [5, (rng, text) => {
    const [label, value] = rng.pick([
      ['a byte-order mark', `\ufeff${text}`],
      ['two byte-order marks', `\ufeff\ufeff${text}`],
      ['a byte-order mark on line 2', text.replace('\n', '\n\ufeff')],
      ['a UTF-16 byte-order mark read as UTF-8 text', `\u00ff\u00fe${text}`],
    ] as const);
    return { text: value, step: `BOM: ${label}` };
  }],
  [6, (rng, text) => {
    const encoding = rng.pick(['utf16le', 'latin1', 'broken-utf8'] as const);
    const accented = text.replace(/passed/, 'passé');
    return { text: accented, encoding, step: `encoding: written as ${encoding === 'broken-utf8' ? 'UTF-8 with invalid bytes (C3 28, FF, ED A0 80) inserted' : encoding}` };
  }],
  // 1 MB fields cost ~50-300 ms a case (a 1 MB file written and read twice): a few hundred cases, not thousands.
  [1, (rng, text) => {
    const [label, value] = rng.pick([
      ['1 MB of digits', '7'.repeat(MEGABYTE)],
      ['1 MB of letters', 'q'.repeat(MEGABYTE)],
      ['1 MB quoted, with commas and line breaks', `"${'a,\n'.repeat(MEGABYTE / 3)}"`],
      ['1 MB of commas', ','.repeat(MEGABYTE)],
    ] as const);
    if (rng.chance(0.2)) {
      const lines = text.split('\n');
      lines[0] = `${lines[0]},${value}`;
      return { text: lines.join('\n'), step: `huge field: a header column of ${label}` };
    }
    const cell = replaceCell(rng, text, undefined, value);
    return { text: cell.text, step: `huge field: ${label} at ${cell.where}` };
  }],
  [6, (rng, text) => {
    const delimiter = rng.pick([';', '\t', '|', ', ']);
    const everywhere = rng.chance(0.5);
    const lines = text.split('\n');
    const value = everywhere ? text.split(',').join(delimiter) : [lines[0], ...lines.slice(1).map((line) => line.split(',').join(delimiter))].join('\n');
    return { text: value, step: `wrong delimiter ${JSON.stringify(delimiter)} ${everywhere ? 'everywhere' : 'in the data rows'}` };
  }],
  [14, (rng, text, base) => {
    const numeric = mappingColumnUses(base.mapping).filter((use) => use.role.startsWith('features.') || use.role.startsWith('extraFeatures'));
    const column = numeric.length > 0 ? rng.pick(numeric).column : undefined;
    const value = rng.pick(NOT_NUMBERS);
    const cell = replaceCell(rng, text, column === undefined ? undefined : headerIndex(text, column), value);
    return { text: cell.text, step: `non-numeric ${JSON.stringify(value)} in ${column ?? 'a column'} at ${cell.where}` };
  }],
  [14, (rng, text, base) => {
    const spec = base.mapping.time;
    let column: string | undefined;
    let values: readonly string[];
    if ('columns' in spec) {
      const [part, name] = rng.pick(Object.entries(spec.columns).filter((entry): entry is [string, string] => entry[1] !== undefined));
      column = name;
      values = BAD_TIMES[part] ?? BAD_TIMES.year;
    } else if ('column' in spec) {
      column = spec.column;
      values = BAD_TIMES[spec.format];
    } else {
      values = BAD_TIMES.iso8601;
    }
    const value = rng.pick(values);
    const cell = replaceCell(rng, text, column === undefined ? undefined : headerIndex(text, column), value);
    return { text: cell.text, step: `time ${JSON.stringify(value)} in ${column ?? 'a column'} at ${cell.where}` };
  }],
  [5, (rng, text) => {
    const [label, value] = rng.pick([
      ['CR line ends', text.replace(/\n/g, '\r')],
      ['CRLF line ends', text.replace(/\n/g, '\r\n')],
      ['blank lines between rows', text.replace(/\n/g, '\n\n\n')],
      ['no final line end', text.trimEnd()],
      ['a lone CR in a row', text.replace(/,/, ',\r')],
    ] as const);
    return { text: value, step: `line ends: ${label}` };
  }],
  [8, (rng, text, base) => {
    const columns = [base.mapping.label.column, ...('column' in base.mapping.group ? [base.mapping.group.column] : []), ...(base.mapping.author ? [base.mapping.author] : [])];
    const column = rng.pick(columns);
    const value = rng.pick(UNICODE_CELLS);
    const cell = replaceCell(rng, text, headerIndex(text, column), value);
    return { text: cell.text, step: `unicode ${JSON.stringify(value)} in ${column} at ${cell.where}` };
  }],
  [5, (rng, text) => {
    const cut = rng.between(0, text.length);
    return { text: text.slice(0, cut), step: `truncated at character ${cut} of ${text.length}` };
  }],
  [6, (rng, text, base) => {
    const lines = text.split('\n');
    const header = lines[0].split(',');
    const used = mappingColumnUses(base.mapping).map((use) => use.column);
    const [label, value] = rng.pick([
      ['a used column duplicated', () => [...header, rng.pick(used)]],
      ['a used column removed', () => {
        const removed = rng.pick(used);
        return header.filter((cell) => cell !== removed);
      }],
      ['a column renamed with spaces around it', () => header.map((cell, index) => (index === 0 ? `  ${cell}  ` : cell))],
      ['a column renamed in upper case', () => header.map((cell, index) => (index === 0 ? cell.toUpperCase() : cell))],
      ['an empty header', () => ['']],
      ['a header with a __proto__ column', () => [...header, '__proto__']],
    ] as const);
    lines[0] = value().join(',');
    return { text: lines.join('\n'), step: `header: ${label}` };
  }],
  [4, (rng, text) => {
    const [label, value] = rng.pick([
      ['empty', ''],
      ['only line breaks', '\n\n\r\n'],
      ['only a byte-order mark', '\ufeff'],
      ['the header only', text.split('\n')[0]],
      ['NUL bytes', '\u0000'.repeat(64)],
      ['binary noise', Array.from({ length: 256 }, (_, index) => String.fromCharCode((index * 37) % 256)).join('')],
    ] as const);
    return { text: value, step: `whole file: ${label}` };
  }],
];

function mutateCsv(rng: Prng, base: CsvBase): CsvMutant {
  let text = base.text;
  let encoding: CsvMutant['encoding'] = 'utf8';
  const steps: string[] = [];
  const count = rng.weighted([[55, 1], [30, 2], [15, 3]] as const);
  for (let step = 0; step < count; step += 1) {
    const next = rng.weighted(CSV_OPERATORS)(rng, text, base);
    text = next.text;
    if (next.encoding) encoding = next.encoding;
    steps.push(next.step);
  }
  return { text, encoding, steps };
}

function bytesOf(mutant: CsvMutant): Buffer {
  switch (mutant.encoding) {
    case 'utf8':
      return Buffer.from(mutant.text, 'utf8');
    case 'utf16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(mutant.text, 'utf16le')]);
    case 'latin1':
      return Buffer.from(mutant.text, 'latin1');
    case 'broken-utf8': {
      const bytes = Buffer.from(mutant.text, 'utf8');
      const middle = bytes.length >> 1;
      return Buffer.concat([bytes.subarray(0, middle), Buffer.from([0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80]), bytes.subarray(middle)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Judging

type Outcome = { readonly kind: 'imported'; readonly rejectedRows: number } | { readonly kind: 'file-error' } | { readonly failure: string };

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const message = error.message.length > 300 ? `${error.message.slice(0, 300)}…` : error.message;
  return `${error.constructor.name}: ${message} ${(error.stack ?? '').split('\n')[1]?.trim() ?? ''}`;
}

/** Imports `file` with `mapping` and checks the result (or the error) against the rule above. */
function judgeImport(file: string, mapping: HistoryMapping): Outcome {
  let result: ReturnType<typeof importHistory>;
  try {
    result = importHistory(file, mapping, ORIGIN);
  } catch (error) {
    if (error instanceof MappingError) {
      const unnamed = error.problems.filter((problem) => !problem.includes(file));
      return unnamed.length === 0 ? { kind: 'file-error' } : { failure: `MappingError problems that do not name the file: ${unnamed.join(' | ')}` };
    }
    // A file refused as a whole (a plain Error, or a HistoryImportError: one label class only, a column with no number) names it first.
    const refusal = error instanceof HistoryImportError || (error instanceof Error && error.constructor === Error);
    if (refusal && error.message.startsWith(`${file}: `)) return { kind: 'file-error' };
    return { failure: describeError(error) };
  }
  const problems: string[] = [];
  const emptyFiles = result.rejected.filter((row) => row.reason === 'the file is empty (no header)').length;
  if (result.records.length + result.rejected.length !== result.read + emptyFiles) {
    problems.push(`${result.records.length} records + ${result.rejected.length} rejected rows != ${result.read} rows read (+${emptyFiles} empty files)`);
  }
  for (const row of result.rejected) {
    if (row.file !== file || !(Number.isInteger(row.line) && row.line >= 1) || typeof row.reason !== 'string' || row.reason === '') {
      problems.push(`a rejected row without file, line and reason: ${JSON.stringify(row).slice(0, 200)}`);
      break;
    }
  }
  try {
    // What `deploy-guard import` writes must read back: the records format is the contract.
    parseRecordsJsonLines(formatRecordsJsonLines(result.records), 'imported records');
  } catch (error) {
    problems.push(`the imported records do not read back: ${describeError(error)}`);
  }
  return problems.length > 0 ? { failure: problems.join('; ') } : { kind: 'imported', rejectedRows: result.rejected.length };
}

// ---------------------------------------------------------------------------------------------
// The run

const MAPPING_PROBLEM = /^.+?: \S/s;

export async function fuzzImport(settings: ImportFuzzSettings): Promise<ImportReport> {
  const started = performance.now();
  const bases = csvBases();
  const mappingBases: Base[] = bases.map((base) => ({ label: `mapping of ${base.label}`, event: base.mappingDocument, text: JSON.stringify(base.mappingDocument, null, 2) }));
  const directory = mkdtempSync(join(tmpdir(), 'deploy-guard-import-fuzz-'));
  const counts = { csvCases: 0, mappingCases: 0, imported: 0, rowsRejected: 0, fileErrors: 0, mappingsRejected: 0, mappingsAccepted: 0 };
  const failures: string[] = [];
  let slowestMs = 0;

  const record = (outcome: Outcome): string | undefined => {
    if ('failure' in outcome) return outcome.failure;
    if (outcome.kind === 'imported') {
      counts.imported += 1;
      counts.rowsRejected += outcome.rejectedRows;
    } else counts.fileErrors += 1;
    return undefined;
  };
  const timed = <T>(run: () => T): [T, number] => {
    const begin = performance.now();
    const value = run();
    const elapsed = performance.now() - begin;
    slowestMs = Math.max(slowestMs, elapsed);
    return [value, elapsed];
  };
  const fail = (kind: string, index: number, seed: number, base: string, steps: readonly string[], failure: string) =>
    failures.push(
      `FUZZ_SEED=${settings.seed} FUZZ_CASE=${index} (${kind} case, case seed 0x${seed.toString(16)}), base ${base}\n` +
        `    mutation: ${steps.join('; then ')}\n    → ${failure}`,
    );

  try {
    // Broken CSVs, each read with its base's (valid) mapping.
    const mine = (index: number) =>
      (settings.only === undefined || settings.only === index) && (!settings.shard || index % settings.shard.of === settings.shard.index);
    for (let index = 0; settings.part === 'csv' && index < settings.count; index += 1) {
      if (!mine(index)) continue;
      const seed = deriveSeed(settings.seed, 'csv', index);
      const rng = new Prng(seed);
      const base = rng.pick(bases);
      const mutant = mutateCsv(rng, base);
      const file = join(directory, base.fileName);
      writeFileSync(file, bytesOf(mutant));
      const [outcome] = timed(() => judgeImport(file, base.mapping));
      counts.csvCases += 1;
      const failure = record(outcome);
      if (failure) fail('CSV', index, seed, base.label, [...mutant.steps, `written as ${mutant.encoding}`], failure);
    }

    // Broken mappings: every path of every mapping given a wrong type or left out, then random mutations.
    const mappingCases: { readonly base: number; readonly mutant: Mutant; readonly seed: number }[] = [];
    bases.forEach((_, baseIndex) => {
      for (const mutant of everyPathMutations(mappingBases[baseIndex])) mappingCases.push({ base: baseIndex, mutant, seed: 0 });
    });
    const total = settings.part === 'mapping' ? Math.max(settings.count, mappingCases.length + Math.ceil(settings.count / 2)) : 0;
    for (let index = 0; index < total; index += 1) {
      if (!mine(index)) continue;
      let fuzzCase = mappingCases[index];
      if (!fuzzCase) {
        const seed = deriveSeed(settings.seed, 'mapping', index);
        const rng = new Prng(seed);
        const baseIndex = rng.int(bases.length);
        fuzzCase = { base: baseIndex, mutant: mutate(rng, mappingBases[baseIndex], mappingBases), seed };
      }
      const base = bases[fuzzCase.base];
      counts.mappingCases += 1;
      const [failure] = timed((): string | undefined => {
        let mapping: HistoryMapping;
        try {
          mapping = parseMapping(fuzzCase.mutant.value, ORIGIN);
        } catch (error) {
          if (!(error instanceof MappingError)) return describeError(error);
          const vague = error.problems.filter((problem) => !MAPPING_PROBLEM.test(problem));
          if (error.origin !== ORIGIN || error.problems.length === 0 || vague.length > 0 || !error.message.startsWith(`mapping ${ORIGIN}: `)) {
            return `a MappingError that does not say where and what: ${describeError(error)}`;
          }
          counts.mappingsRejected += 1;
          return undefined;
        }
        if (!mappingSchema.safeParse(fuzzCase.mutant.value).success) return 'parseMapping accepted a mapping its schema rejects';
        counts.mappingsAccepted += 1;
        const file = join(directory, base.fileName);
        writeFileSync(file, base.text);
        return record(judgeImport(file, mapping));
      });
      if (failure) fail('mapping', index, fuzzCase.seed, `${mappingBases[fuzzCase.base].label}`, fuzzCase.mutant.steps, failure);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return { ...counts, failures, seconds: (performance.now() - started) / 1000, slowestMs };
}
