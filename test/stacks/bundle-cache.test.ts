import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_OPTIONS, bundleCacheKey, bundleSettings, cachedBundles, unzipOneFile } from '../../stacks/bundle-cache';
import { bundleCacheDir } from '../../stacks/nodejs-function';

const unzipOne = (archive: string): string => unzipOneFile(readFileSync(archive)).toString('utf8');

/** A small project of two handlers; `a` imports shared.ts, `b` does not. */
function project(): { root: string; cacheDir: string; entries: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'deploy-guard-cache-test-'));
  mkdirSync(join(root, 'handlers'));
  writeFileSync(join(root, 'handlers', 'shared.ts'), "export const greeting = (name: string): string => `hello ${name}`;\n");
  writeFileSync(join(root, 'handlers', 'a.ts'), "import { greeting } from './shared';\nexport const handler = async () => greeting('a');\n");
  writeFileSync(join(root, 'handlers', 'b.ts'), "export const handler = async () => 'b';\n");
  writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  return { root, cacheDir: join(root, 'cache'), entries: { a: 'handlers/a.ts', b: 'handlers/b.ts' } };
}

describe('the persistent bundle cache (stacks/bundle-cache.ts)', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
  const setUp = () => {
    const made = project();
    roots.push(made.root);
    return made;
  };

  it('builds on first use, then serves the same archives without esbuild while no source changes', () => {
    const { root, cacheDir, entries } = setUp();
    const first = cachedBundles({ root, entries, cacheDir });
    expect(first.source).toBe('build');
    const code = unzipOne(first.bundles.get('a')!.archive);
    expect(code).toContain('hello');
    expect(first.bundles.get('a')!.hash).toBe(createHash('sha256').update(code).digest('base64'));
    expect(first.bundles.get('a')!.assetHash).toBe(createHash('sha256').update(code).digest('hex').slice(0, 32));

    const second = cachedBundles({ root, entries, cacheDir });
    expect(second).toEqual({ ...first, source: 'cache' });
    // Nothing is written outside the cache: the project holds only its own files.
    expect(readdirSync(root).sort()).toEqual(['cache', 'handlers', 'package-lock.json']);
    // The entry's folder and one manifest (whatever order their hashes sort in).
    const written = readdirSync(cacheDir);
    expect(written).toHaveLength(2);
    expect(written).toEqual(expect.arrayContaining([first.key, expect.stringMatching(/^[0-9a-f]{16}\.json$/)]));
  });

  it('rebuilds when a file the bundle read changes, and only that bundle changes', () => {
    const { root, cacheDir, entries } = setUp();
    const before = cachedBundles({ root, entries, cacheDir });
    writeFileSync(join(root, 'handlers', 'shared.ts'), "export const greeting = (name: string): string => `goodbye ${name}`;\n");
    const after = cachedBundles({ root, entries, cacheDir });
    expect(after.source).toBe('build');
    expect(after.key).not.toBe(before.key);
    expect(unzipOne(after.bundles.get('a')!.archive)).toContain('goodbye');
    expect(after.bundles.get('a')!.hash).not.toBe(before.bundles.get('a')!.hash);
    expect(after.bundles.get('b')!.hash).toBe(before.bundles.get('b')!.hash);
    expect(cachedBundles({ root, entries, cacheDir }).source).toBe('cache');
  });

  it('rebuilds when package-lock.json changes (dependency versions steer resolution)', () => {
    const { root, cacheDir, entries } = setUp();
    cachedBundles({ root, entries, cacheDir });
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    expect(cachedBundles({ root, entries, cacheDir }).source).toBe('build');
  });

  it('ignores a file no bundle read', () => {
    const { root, cacheDir, entries } = setUp();
    cachedBundles({ root, entries, cacheDir });
    writeFileSync(join(root, 'handlers', 'unused.ts'), 'export const unused = 1;\n');
    expect(cachedBundles({ root, entries, cacheDir }).source).toBe('cache');
  });

  it('rebuilds when an archive of the entry was deleted', () => {
    const { root, cacheDir, entries } = setUp();
    const first = cachedBundles({ root, entries, cacheDir });
    rmSync(first.bundles.get('b')!.archive);
    const again = cachedBundles({ root, entries, cacheDir });
    expect(again.source).toBe('build');
    expect(again.bundles.get('b')!.hash).toBe(first.bundles.get('b')!.hash);
  });

  it('names a missing entry module and a module esbuild cannot bundle', () => {
    const { root, cacheDir } = setUp();
    expect(() => cachedBundles({ root, cacheDir, entries: { c: 'handlers/c.ts' } })).toThrow(`Bundle 'c': its entry ${join(root, 'handlers', 'c.ts')} does not exist`);
    writeFileSync(join(root, 'handlers', 'broken.ts'), 'export const handler = (;\n');
    expect(() => cachedBundles({ root, cacheDir, entries: { broken: 'handlers/broken.ts' } })).toThrow(/broken\.ts/);
  });
});

describe('bundleCacheKey', () => {
  const root = mkdtempSync(join(tmpdir(), 'deploy-guard-cache-key-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'one.ts'), 'export const one = 1;\n');
  writeFileSync(join(root, 'two.ts'), 'export const two = 2;\n');
  const settings = bundleSettings({ x: 'one.ts' });

  it('is the same for the same inputs and settings, whatever the order of the inputs', () => {
    expect(bundleCacheKey(root, ['one.ts', 'two.ts'], settings)).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleCacheKey(root, ['two.ts', 'one.ts'], settings)).toBe(bundleCacheKey(root, ['one.ts', 'two.ts'], settings));
  });

  it('changes with the content of any input', () => {
    const before = bundleCacheKey(root, ['one.ts', 'two.ts'], settings);
    writeFileSync(join(root, 'two.ts'), 'export const two = 3;\n');
    expect(bundleCacheKey(root, ['one.ts', 'two.ts'], settings)).not.toBe(before);
  });

  it('changes with the esbuild version, the options and the entry points', () => {
    const key = (value: string) => bundleCacheKey(root, ['one.ts'], value);
    expect(key(bundleSettings({ x: 'one.ts' }, BUNDLE_OPTIONS, '0.0.1'))).not.toBe(key(settings));
    expect(key(bundleSettings({ x: 'one.ts' }, { ...BUNDLE_OPTIONS, minify: false }))).not.toBe(key(settings));
    expect(key(bundleSettings({ y: 'one.ts' }))).not.toBe(key(settings));
  });

  it('is undefined when an input is gone (the entry is stale)', () => {
    expect(bundleCacheKey(root, ['one.ts', 'deleted.ts'], settings)).toBeUndefined();
  });
});

describe('bundleCacheDir', () => {
  const saved = process.env.DEPLOY_GUARD_BUNDLE_CACHE;
  afterEach(() => (saved === undefined ? delete process.env.DEPLOY_GUARD_BUNDLE_CACHE : (process.env.DEPLOY_GUARD_BUNDLE_CACHE = saved)));

  it('is DEPLOY_GUARD_BUNDLE_CACHE when set, node_modules/.cache/deploy-guard-bundles otherwise', () => {
    process.env.DEPLOY_GUARD_BUNDLE_CACHE = '/var/cache/dg';
    expect(bundleCacheDir()).toBe('/var/cache/dg');
    delete process.env.DEPLOY_GUARD_BUNDLE_CACHE;
    expect(bundleCacheDir()).toBe(join(__dirname, '..', '..', 'node_modules', '.cache', 'deploy-guard-bundles'));
  });
});
