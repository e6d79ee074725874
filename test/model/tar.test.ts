import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tarGzip, untarGzip } from '../../model/tar';

const MODEL = Buffer.from('{"learner":{}}\n');

describe('untarGzip', () => {
  it('reads back what tarGzip wrote: the names, the bytes, in order', () => {
    const big = Buffer.alloc(1300, 7);
    const archive = tarGzip([
      { name: 'xgboost-model', content: MODEL },
      { name: 'empty', content: Buffer.alloc(0) },
      { name: 'big.bin', content: big },
    ]);
    expect(untarGzip(archive)).toEqual([
      { name: 'xgboost-model', content: MODEL },
      { name: 'empty', content: Buffer.alloc(0) },
      { name: 'big.bin', content: big },
    ]);
  });

  const tar = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  const withTar = tar.status === 0 ? it : it.skip;
  if (tar.status !== 0) console.log('SKIPPED the GNU tar cases of untarGzip: no `tar` on this machine');

  withTar('reads `tar czf model.tar.gz -C dir .` (GNU tar: a ./ directory entry, ./-prefixed names) as the file alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'untar-'));
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'xgboost-model'), MODEL);
    const made = spawnSync('tar', ['czf', join(dir, 'model.tar.gz'), '-C', join(dir, 'model'), '.']);
    expect(made.status).toBe(0);
    expect(untarGzip(readFileSync(join(dir, 'model.tar.gz')))).toEqual([{ name: 'xgboost-model', content: MODEL }]);
  });

  withTar('honours a GNU long name (a path over 100 bytes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'untar-'));
    const long = `${'a'.repeat(60)}/${'b'.repeat(60)}`;
    mkdirSync(join(dir, 'a'.repeat(60)));
    writeFileSync(join(dir, long), MODEL);
    const made = spawnSync('tar', ['--format=gnu', '-czf', join(dir, 'long.tar.gz'), '-C', dir, long]);
    expect(made.status).toBe(0);
    expect(untarGzip(readFileSync(join(dir, 'long.tar.gz')))).toEqual([{ name: long, content: MODEL }]);
  });

  it('refuses bytes that are not gzip, naming the archive', () => {
    expect(() => untarGzip(Buffer.from('{"not":"gzip"}'), 's3://models/v1/model.tar.gz')).toThrow(
      /^s3:\/\/models\/v1\/model\.tar\.gz: not a gzip file/,
    );
  });

  it('refuses a damaged header instead of returning fewer files', () => {
    const plain = gunzipSync(tarGzip([{ name: 'xgboost-model', content: MODEL }]));
    plain[0] = 'y'.charCodeAt(0);
    expect(() => untarGzip(gzipSync(plain), 'model.tar.gz')).toThrow('model.tar.gz: the tar header at byte 0 is damaged');
  });

  it('refuses an archive whose file is cut short', () => {
    const plain = gunzipSync(tarGzip([{ name: 'xgboost-model', content: Buffer.alloc(2000, 1) }]));
    expect(() => untarGzip(gzipSync(plain.subarray(0, 1024)), 'model.tar.gz')).toThrow(
      'model.tar.gz: entry at byte 0 declares 2000 bytes but the archive ends after 512',
    );
  });
});
