import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CHANGE_FIELDS, type ChangeFieldName } from './change-fields';
import { CsvSyntaxError, readCsv } from './csv';
import { checkHeader, type HistoryMapping, TIME_PARTS } from './mapping';
import type { DeploymentRecord } from './records';

/** A row that could not be imported, and why. */
export interface RejectedRow {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface ImportResult {
  /** The records, grouped (groups in order of first appearance), each group in time order. */
  readonly records: DeploymentRecord[];
  readonly files: readonly string[];
  /** Data rows read (headers not counted). */
  readonly read: number;
  readonly rejected: readonly RejectedRow[];
  /** Per file, the columns the mapping neither uses nor drops (ignored, but reported). */
  readonly unusedColumns: ReadonlyMap<string, readonly string[]>;
}

/**
 * A history that cannot train or evaluate a model as a whole, though its rows may each be fine: a
 * label mapping that marks no deployment failed (or none succeeded), a mapped numeric column that
 * holds no number at all. The message names the history, the column and the values found.
 */
export class HistoryImportError extends Error {
  override readonly name = 'HistoryImportError';
}

/** Values that mean "no value" in a CSV cell (compared without case). An empty cell too. */
export const MISSING_TOKENS = ['', 'na', 'n/a', 'nan', 'null', 'none'];

/** The CSV files of a history: the file itself, or every *.csv file of a folder (one per group), by name. */
export function historyFiles(path: string): string[] {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) throw new Error(`history '${path}' does not exist`);
  if (!stats.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((name) => name.toLowerCase().endsWith('.csv'))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new Error(`history folder '${path}' has no .csv file`);
  return files;
}

/**
 * Turns a CSV history (one file, or a folder of one file per group) into canonical records. A mapping
 * that names a column a file lacks fails at once (MappingError); a bad row is rejected with its file,
 * line and reason and the import goes on.
 */
export function importHistory(path: string, mapping: HistoryMapping, mappingOrigin = 'mapping'): ImportResult {
  const files = historyFiles(path);
  const records: DeploymentRecord[] = [];
  const rejected: RejectedRow[] = [];
  const unusedColumns = new Map<string, readonly string[]>();
  let read = 0;
  // Every header is checked before any row is read: a mapping that names a missing column fails at once.
  const texts = files.map((file) => {
    const text = readFileSync(file, 'utf8');
    let header: string[] | undefined;
    try {
      const first = readCsv(text).next();
      header = first.done ? undefined : first.value.fields.map((column) => column.trim());
    } catch (error) {
      if (!(error instanceof CsvSyntaxError)) throw error;
      throw new Error(`${file}: the header cannot be read: ${error.message}`);
    }
    if (header) {
      const unused = checkHeader(mapping, header, file, mappingOrigin);
      if (unused.length > 0) unusedColumns.set(file, unused);
    }
    return { file, text, header };
  });
  const audit = new ColumnAudit();
  for (const { file, text, header } of texts) {
    const reject = (line: number, reason: string) => rejected.push({ file, line, reason });
    if (!header) {
      reject(1, 'the file is empty (no header)');
      continue;
    }
    const rows = readCsv(text);
    rows.next();
    const convert = rowConverter(mapping, header, basename(file).replace(/\.csv$/i, ''), audit);
    try {
      for (const row of rows) {
        read += 1;
        if (row.fields.length !== header.length) {
          reject(row.line, `expected ${header.length} fields, found ${row.fields.length}`);
          continue;
        }
        const result = convert(row.fields);
        if (typeof result === 'string') reject(row.line, result);
        else records.push({ ...result, source: { file: basename(file), line: row.line } });
      }
    } catch (error) {
      if (!(error instanceof CsvSyntaxError)) throw error;
      read += 1;
      reject(error.line, `${error.reason}; the rest of the file cannot be read`);
    }
  }
  audit.check(path, mapping);
  return { records: inTimeOrder(records), files, read, rejected, unusedColumns };
}

/** Distinct values shown in an error, the most frequent first. */
const SHOWN_VALUES = 8;
/** Distinct values counted per column (a column of unique ids must not grow without bound). */
const COUNTED_VALUES = 1_000;

/**
 * What the import saw in the columns judged as a whole: the label column's values, and for each
 * mapped numeric column how many cells held a number and which did not.
 */
class ColumnAudit {
  private readonly labels = new Map<string, number>();
  private readonly labelled = { failed: 0, succeeded: 0 };
  private readonly numeric = new Map<string, { readonly what: string; numbers: number; others: Map<string, number> }>();

  /** A label cell, and what the mapping made of it (undefined: neither value). */
  label(cell: string, failed: boolean | undefined): void {
    count(this.labels, cell);
    if (failed === true) this.labelled.failed += 1;
    if (failed === false) this.labelled.succeeded += 1;
  }

  numericCell(column: string, what: string, cell: string, isNumber: boolean): void {
    let stats = this.numeric.get(column);
    if (!stats) {
      stats = { what, numbers: 0, others: new Map() };
      this.numeric.set(column, stats);
    }
    if (isNumber) stats.numbers += 1;
    else count(stats.others, cell);
  }

  /** Throws HistoryImportError when a numeric column holds no number, or the label mapping finds one class only. */
  check(path: string, mapping: HistoryMapping): void {
    for (const [column, stats] of this.numeric) {
      if (stats.numbers === 0 && stats.others.size > 0) {
        throw new HistoryImportError(
          `${path}: column '${column}' (${stats.what}) holds no number in any row; it holds ${listed(stats.others)}: ` +
            'map a numeric column to it, or leave it out of the mapping',
        );
      }
    }
    if (this.labels.size === 0) return;
    const { column, failureValues, successValues } = mapping.label;
    const found = `the column holds ${listed(this.labels)}`;
    if (this.labelled.failed === 0) {
      throw new HistoryImportError(
        `${path}: no deployment is labelled failed: label column '${column}' matches none of the failure values ` +
          `(${failureValues.map(quoted).join(', ')}); ${found}. A model needs failed and succeeded deployments: fix label.failureValues in the mapping`,
      );
    }
    if (this.labelled.succeeded === 0) {
      throw new HistoryImportError(
        `${path}: no deployment is labelled succeeded: label column '${column}' ` +
          `${successValues ? `matches none of the success values (${successValues.map(quoted).join(', ')})` : 'holds only failure values'}; ${found}. ` +
          'A model needs failed and succeeded deployments: fix label.failureValues (or label.successValues) in the mapping',
      );
    }
  }
}

function count(values: Map<string, number>, cell: string): void {
  if (values.has(cell) || values.size < COUNTED_VALUES) values.set(cell, (values.get(cell) ?? 0) + 1);
}

function quoted(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value}'`;
}

/** `'a' (12 rows), 'b' (3 rows)`, the most frequent first, and how many more distinct values there are. */
function listed(values: ReadonlyMap<string, number>): string {
  const sorted = [...values].sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : 1));
  const shown = sorted.slice(0, SHOWN_VALUES).map(([value, rows]) => `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}' (${rows} ${rows === 1 ? 'row' : 'rows'})`);
  const more = sorted.length > SHOWN_VALUES ? `, and ${sorted.length - SHOWN_VALUES}${sorted.length >= COUNTED_VALUES ? '+' : ''} more values` : '';
  return `${shown.join(', ')}${more}`;
}

type Converted = Omit<DeploymentRecord, 'source'>;

/** A function from a row's fields to a record, or to the reason the row is rejected. */
function rowConverter(mapping: HistoryMapping, header: readonly string[], fileGroup: string, audit: ColumnAudit): (fields: readonly string[]) => Converted | string {
  const at = (column: string) => header.indexOf(column);
  const groupIndex = 'column' in mapping.group ? at(mapping.group.column) : -1;
  const labelIndex = at(mapping.label.column);
  const authorIndex = mapping.author !== undefined ? at(mapping.author) : -1;
  const readTime = timeReader(mapping, at);
  const changeReaders = CHANGE_FIELDS.flatMap((field) => {
    const column = mapping.features[field.name];
    if (column === undefined) return [];
    return [{ name: field.name as ChangeFieldName, kind: field.kind, column, index: at(column) }];
  });
  const extraReaders = mapping.extraFeatures.map((column) => ({ column, index: at(column) }));
  const failureValues = mapping.label.failureValues;
  const successValues = mapping.label.successValues;

  return (fields) => {
    let group = fileGroup;
    if (groupIndex >= 0) {
      group = fields[groupIndex].trim();
      if (group === '') return `empty group in column '${header[groupIndex]}'`;
    }
    const time = readTime(fields);
    if (typeof time === 'object' && time !== null) return time.error;

    const labelCell = fields[labelIndex].trim();
    if (labelCell === '') return `empty label in column '${mapping.label.column}'`;
    let failed: boolean;
    if (failureValues.some((value) => sameValue(value, labelCell))) failed = true;
    else if (!successValues || successValues.some((value) => sameValue(value, labelCell))) failed = false;
    else {
      audit.label(labelCell, undefined);
      return `label '${labelCell}' in column '${mapping.label.column}' is neither a failure value (${failureValues.map(String).join(', ')}) nor a success value (${successValues.map(String).join(', ')})`;
    }
    audit.label(labelCell, failed);

    // Every numeric cell is read and audited, even after a bad one: a column that holds no number
    // at all is reported once, as a whole (ColumnAudit), not only through the rows it rejects.
    let problem: string | undefined;
    const change: Partial<Record<ChangeFieldName, number>> = {};
    for (const reader of changeReaders) {
      const cell = fields[reader.index].trim();
      if (isMissing(cell)) continue;
      const value = reader.kind === 'boolean' ? parseBoolean(cell) : parseNumber(cell);
      audit.numericCell(reader.column, reader.name, cell, value !== undefined);
      const where = `column '${reader.column}' (${reader.name})`;
      if (value === undefined) {
        problem ??= `${where}: '${cell}' is not ${reader.kind === 'boolean' ? 'a boolean (0/1 or true/false)' : 'a number'}`;
      } else if (reader.kind === 'count' && !(Number.isSafeInteger(value) && value >= 0)) {
        problem ??= `${where}: '${cell}' is not a whole number >= 0`;
      } else change[reader.name] = value;
    }

    const extra: Record<string, number> = {};
    for (const reader of extraReaders) {
      const cell = fields[reader.index].trim();
      if (isMissing(cell)) continue;
      const value = parseNumber(cell);
      audit.numericCell(reader.column, 'extra feature', cell, value !== undefined);
      if (value === undefined) problem ??= `column '${reader.column}' (extra feature): '${cell}' is not a number`;
      else extra[reader.column] = value;
    }
    if (problem) return problem;

    const author = authorIndex >= 0 ? fields[authorIndex].trim() : '';
    return {
      group,
      time: time === null ? null : new Date(time).toISOString(),
      failed,
      ...(author !== '' ? { author } : {}),
      change,
      extra,
    };
  };
}

const TIME_DEFAULTS: Record<(typeof TIME_PARTS)[number], number> = { year: NaN, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
const TIME_LIMITS: Record<(typeof TIME_PARTS)[number], [number, number]> = {
  year: [1970, 9999],
  month: [1, 12],
  day: [1, 31],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59],
};

/** A record's time is ISO 8601 with a four-digit year (model/records.ts): 0000-01-01 to 9999-12-31, UTC. */
const EARLIEST_RECORD_TIME = Date.parse('0000-01-01T00:00:00Z');
const LATEST_RECORD_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/** Reads a row's time: milliseconds since the epoch, null without timestamps, or the reason it is bad. */
function timeReader(mapping: HistoryMapping, at: (column: string) => number): (fields: readonly string[]) => number | null | { error: string } {
  const spec = mapping.time;
  if ('rowOrder' in spec) return () => null;
  if ('format' in spec) {
    const index = at(spec.column);
    return (fields) => {
      const cell = fields[index].trim();
      const millis = spec.format === 'unix-seconds' ? unixSeconds(cell) : iso8601(cell);
      if (millis === undefined) return { error: `column '${spec.column}': '${cell}' is not ${spec.format === 'unix-seconds' ? 'a time in seconds since 1970' : 'an ISO 8601 time'}` };
      if (!(millis >= EARLIEST_RECORD_TIME && millis <= LATEST_RECORD_TIME)) {
        return { error: `column '${spec.column}': '${cell}' is outside the years 0000 to 9999 (UTC) that a record's time can hold` };
      }
      return millis;
    };
  }
  const parts = TIME_PARTS.flatMap((part) => {
    const column = spec.columns[part];
    return column === undefined ? [] : [{ part, column, index: at(column) }];
  });
  return (fields) => {
    const value = { ...TIME_DEFAULTS };
    for (const { part, column, index } of parts) {
      const cell = fields[index].trim();
      const number = /^\d+$/.test(cell) ? Number(cell) : NaN;
      const [low, high] = TIME_LIMITS[part];
      if (!(number >= low && number <= high)) return { error: `column '${column}' (${part}): '${cell}' is not a ${part} (${low}-${high})` };
      value[part] = number;
    }
    const millis = Date.UTC(value.year, value.month - 1, value.day, value.hour, value.minute, value.second);
    if (new Date(millis).getUTCDate() !== value.day) {
      return { error: `${value.year}-${value.month}-${value.day} is not a date` };
    }
    return millis;
  };
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function iso8601(cell: string): number | undefined {
  const match = ISO_8601.exec(cell);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const millis = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${offset}`);
  if (!Number.isFinite(millis)) return undefined;
  // Date.parse rolls 2021-02-30 over into March; a date that does not exist is a bad value.
  const local = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (local.getUTCDate() !== Number(day) || local.getUTCMonth() !== Number(month) - 1) return undefined;
  return millis;
}

function unixSeconds(cell: string): number | undefined {
  const seconds = parseNumber(cell);
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

// One way to match each number: `\d+\.?\d*` would split a run of digits between \d+ and \d* in every
// possible way before giving up on a long digit run that is not a number (quadratic: a 1 MB cell hangs).
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(cell: string): number | undefined {
  if (!DECIMAL.test(cell)) return undefined;
  const value = Number(cell);
  return Number.isFinite(value) ? value : undefined;
}

function parseBoolean(cell: string): number | undefined {
  const lower = cell.toLowerCase();
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  const value = parseNumber(cell);
  return value === 0 || value === 1 ? value : undefined;
}

function isMissing(cell: string): boolean {
  return MISSING_TOKENS.includes(cell.toLowerCase());
}

/** A label value from the mapping against a cell: numbers compare as numbers ("1.0" is 1), strings exactly. */
function sameValue(value: string | number, cell: string): boolean {
  if (typeof value === 'number') return parseNumber(cell) === value;
  return value === cell;
}

/** Records grouped by group (in order of first appearance), each group stably sorted by time. */
export function inTimeOrder(records: readonly DeploymentRecord[]): DeploymentRecord[] {
  const groups = new Map<string, DeploymentRecord[]>();
  for (const record of records) {
    let list = groups.get(record.group);
    if (!list) {
      list = [];
      groups.set(record.group, list);
    }
    list.push(record);
  }
  const ordered: DeploymentRecord[] = [];
  for (const list of groups.values()) {
    const keyed = list.map((record, index) => ({ record, index, time: record.time === null ? NaN : Date.parse(record.time) }));
    keyed.sort((a, b) => (Number.isNaN(a.time) || Number.isNaN(b.time) || a.time === b.time ? a.index - b.index : a.time - b.time));
    for (const entry of keyed) ordered.push(entry.record);
  }
  return ordered;
}
