import { gzipSync } from 'node:zlib';

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
