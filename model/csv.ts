/**
 * A CSV reader for imported histories (RFC 4180: comma separated, fields optionally in double quotes,
 * `""` for a quote inside a quoted field, CRLF or LF line ends, a leading byte-order mark ignored).
 * Each record carries the line it starts on, so a bad row can be reported by file and line.
 */

export interface CsvRecord {
  /** 1-based line number of the record's first line in the file. */
  readonly line: number;
  readonly fields: readonly string[];
}

/** A CSV text that cannot be read any further (an unterminated quote, text after a closing quote). */
export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** The records of a CSV text, in order; blank lines are skipped. Throws CsvSyntaxError on malformed quoting. */
export function* readCsv(text: string): Generator<CsvRecord> {
  let position = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const length = text.length;
  while (position < length) {
    const startLine = line;
    const fields: string[] = [];
    let endOfRecord = false;
    while (!endOfRecord) {
      let field = '';
      if (text[position] === '"') {
        position += 1;
        for (;;) {
          if (position >= length) throw new CsvSyntaxError(startLine, 'a quoted field is not closed');
          const char = text[position];
          if (char === '"') {
            if (text[position + 1] === '"') {
              field += '"';
              position += 2;
              continue;
            }
            position += 1;
            break;
          }
          if (char === '\n') line += 1;
          field += char;
          position += 1;
        }
        const next = text[position];
        if (position < length && next !== ',' && next !== '\n' && next !== '\r') {
          throw new CsvSyntaxError(line, 'unexpected text after a closing quote');
        }
      } else {
        const start = position;
        while (position < length) {
          const char = text[position];
          if (char === ',' || char === '\n' || char === '\r') break;
          if (char === '"') throw new CsvSyntaxError(line, 'a quote inside an unquoted field');
          position += 1;
        }
        field = text.slice(start, position);
      }
      fields.push(field);
      if (position >= length) {
        endOfRecord = true;
      } else if (text[position] === ',') {
        position += 1;
      } else {
        if (text[position] === '\r') position += 1;
        if (text[position] === '\n') position += 1;
        line += 1;
        endOfRecord = true;
      }
    }
    if (fields.length === 1 && fields[0] === '') continue;
    yield { line: startLine, fields };
  }
}
