import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ImportResult, importHistory } from '../../model/import';
import { type HistoryMapping, MappingError, parseMapping } from '../../model/mapping';
import { writeRecords } from '../../model/records';
import { parseOptions, requireOption, type Command, type CommandIO } from '../command';
import { summaryOf } from '../catalog';

/** Rejected rows shown one by one; beyond that, a count per reason. */
const SHOWN_REJECTIONS = 50;

export const importCommand: Command = {
  name: 'import',
  summary: summaryOf('import'),
  usage: `Usage: deploy-guard import --data PATH --mapping MAPPING.json --out FILE

Reads a CSV history (one file, or a folder of *.csv files, one per deployment group), maps its
columns onto Deploy Guard's canonical fields as MAPPING.json says, and writes one JSON record per
line to FILE (group, time, outcome, change fields, extra features), each group in time order.

A bad row is reported with its file, line and reason and left out; the counts of rows read, used
and rejected are printed. A mapping that names a column the data lacks fails before any row is read.
Exits 0 when at least one row was imported, 1 otherwise.

Example:
  deploy-guard import --data data/ci-bfdetector --mapping data/ci-bfdetector.mapping.json --out history.jsonl`,
  async run(argv, io) {
    const options = parseOptions(argv, { data: 'value', mapping: 'value', out: 'value' });
    const data = resolve(io.cwd, requireOption(options, 'data'));
    const mappingFile = resolve(io.cwd, requireOption(options, 'mapping'));
    const out = resolve(io.cwd, requireOption(options, 'out'));
    try {
      const result = importWithReport(data, readMapping(mappingFile), mappingFile, io);
      writeRecords(out, result.records);
      io.stdout.write(`wrote ${result.records.length} records to ${out}\n`);
      return result.records.length > 0 ? 0 : 1;
    } catch (error) {
      io.stderr.write(`deploy-guard import: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

/** Reads and validates a mapping file; its problems come back as one MappingError naming the file. */
export function readMapping(file: string): HistoryMapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read mapping ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MappingError(file, [`not JSON: ${(error as Error).message}`]);
  }
  return parseMapping(json, file);
}

/** Imports a history and reports what happened on the command's streams: rejected rows, unused columns, counts. */
export function importWithReport(data: string, mapping: HistoryMapping, mappingFile: string, io: CommandIO): ImportResult {
  const result = importHistory(data, mapping, mappingFile);
  for (const [file, columns] of result.unusedColumns) {
    io.stderr.write(`note: ${file}: columns not named in the mapping are ignored: ${columns.join(', ')} (list them under "drop" to say so)\n`);
  }
  result.rejected.slice(0, SHOWN_REJECTIONS).forEach((row) => io.stderr.write(`${row.file}:${row.line}: ${row.reason}\n`));
  if (result.rejected.length > SHOWN_REJECTIONS) {
    const reasons = new Map<string, number>();
    for (const row of result.rejected.slice(SHOWN_REJECTIONS)) {
      const kind = row.reason.replace(/'[^']*'/g, "'…'");
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
    io.stderr.write(`... and ${result.rejected.length - SHOWN_REJECTIONS} more rejected rows:\n`);
    for (const [reason, count] of reasons) io.stderr.write(`  ${count} x ${reason}\n`);
  }
  const groups = new Set(result.records.map((record) => record.group)).size;
  io.stdout.write(
    `read ${result.read} rows from ${result.files.length} ${result.files.length === 1 ? 'file' : 'files'}: ` +
      `${result.records.length} used (${groups} ${groups === 1 ? 'group' : 'groups'}), ${result.rejected.length} rejected\n`,
  );
  return result;
}
