import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * A gzipped tar archive (POSIX ustar) of regular files, enough for SageMaker's `model.tar.gz`, which
 * must hold exactly one file, `xgboost-model`. Entries get mode 0644, owner 0 and a fixed time, so the
 * same model always gives the same archive.
 */
export interface TarEntry {
  readonly name: string;
  readonly content: Buffer;
  /** Seconds since the epoch; 0 unless given. */
  readonly mtime?: number;
}

const BLOCK = 512;

export function tarGzip(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    blocks.push(header(entry));
    blocks.push(entry.content);
    const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

function header(entry: TarEntry): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  if (name.length === 0 || name.length > 100) throw new Error(`tar entry name '${entry.name}' must have 1 to 100 bytes`);
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, entry.content.length);
  octal(block, 136, 12, entry.mtime ?? 0);
  block.fill(0x20, 148, 156); // the checksum field counts as spaces while summing
  block.write('0', 156, 'ascii'); // a regular file
  block.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return block;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar field too small for ${value}`);
  block.write(`${digits.padStart(width - 1, '0')}\u0000`, offset, 'ascii');
}

/** A file read back from an archive. */
export interface UntarredFile {
  /** The path inside the archive, without a leading `./`. */
  readonly name: string;
  readonly content: Buffer;
}

/**
 * Reads a gzipped tar archive (ustar, and the GNU and PAX archives `tar czf` and Python's `tarfile`
 * write) into its regular files, in archive order. Directories and links are skipped; PAX `path` and
 * GNU long names are honoured. A damaged archive (not gzip, a bad header checksum, a file cut short)
 * is an error naming `origin` and the problem, never a silently shorter file list.
 */
export function untarGzip(archive: Uint8Array, origin = 'archive'): UntarredFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw new Error(`${origin}: not a gzip file (${(error as Error).message})`);
  }
  const files: UntarredFile[] = [];
  let longName: string | undefined;
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    checkChecksum(block, offset, origin);
    const size = readOctal(block, 124, 12, offset, origin);
    const type = String.fromCharCode(block[156] || 0x30);
    const start = offset + BLOCK;
    if (start + size > tar.length) {
      throw new Error(`${origin}: entry at byte ${offset} declares ${size} bytes but the archive ends after ${tar.length - start}`);
    }
    const content = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = text(content, 0, content.length);
      continue;
    }
    if (type === 'x') {
      longName = paxPath(content) ?? longName;
      continue;
    }
    const prefix = block.toString('latin1', 257, 263) === 'ustar\u0000' ? text(block, 345, 155) : '';
    const headerName = prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100);
    const name = (longName ?? headerName).replace(/^(\.\/)+/, '');
    longName = undefined;
    if (type === '0' || type === '7') files.push({ name, content: Buffer.from(content) });
  }
  return files;
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end === -1 ? field.length : end);
}

function readOctal(block: Buffer, start: number, length: number, offset: number, origin: string): number {
  const field = text(block, start, length).trim();
  if (!/^[0-7]*$/.test(field)) throw new Error(`${origin}: entry at byte ${offset} has a malformed numeric field '${field}'`);
  return field === '' ? 0 : parseInt(field, 8);
}

function checkChecksum(block: Buffer, offset: number, origin: string): void {
  const stored = readOctal(block, 148, 8, offset, origin);
  let sum = 0;
  for (let index = 0; index < BLOCK; index += 1) sum += index >= 148 && index < 156 ? 0x20 : block[index];
  if (sum !== stored) throw new Error(`${origin}: the tar header at byte ${offset} is damaged (checksum ${stored}, computed ${sum})`);
}

/** The `path` record of a PAX extended header (`<length> path=<value>\n` records; lengths in bytes). */
function paxPath(content: Buffer): string | undefined {
  let position = 0;
  while (position < content.length) {
    const space = content.indexOf(0x20, position);
    const length = Number(content.toString('latin1', position, space));
    if (space === -1 || !Number.isInteger(length) || length <= 0) return undefined;
    const record = content.toString('utf8', space + 1, position + length - 1);
    if (record.startsWith('path=')) return record.slice('path='.length);
    position += length;
  }
  return undefined;
}
