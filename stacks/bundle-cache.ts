import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { version as esbuildVersion } from 'esbuild';
import {
  buildHandlerBundlesSync,
  HANDLER_BUILD_OPTIONS,
  HANDLER_BUILD_PLUGINS,
  inlineSchemaKeys,
  LAMBDA_CREDENTIALS_MODULE,
  SDK_SCHEMA_FILE,
  SDK_SCHEMA_KEY_PATTERNS,
} from './bundle-build';

/**
 * A persistent cache of the Lambda bundles synthesis needs. Bundling the handlers with esbuild and
 * zipping them is most of what `npm run synth` costs; with unchanged sources the result is the same,
 * so it is kept on disk and reused.
 *
 * An entry is keyed by a SHA-256 of: the cache format, the esbuild version, the build options, the
 * entry points, and the content of every file the previous build read (esbuild's metafile inputs,
 * kept in the entry's manifest) plus the files that steer module resolution (package-lock.json,
 * tsconfig.json). A change to any file a bundle was built from therefore changes the key and the
 * bundles are built again; a file that was not read cannot change the output without a read file
 * changing first (an import is added to a read file, or a package of package-lock.json changes).
 *
 * Layout of the cache folder: `<settings>.json` (the manifest of the settings' latest build: its key,
 * inputs and per-bundle hashes) and `<key>/<name>.zip`. Entries are written to a temporary folder of
 * the cache and renamed into place, so that processes synthesizing at the same time (jest workers)
 * never see half an entry.
 */

/** Bump when the layout or the archive format changes: older entries are then never read. */
const CACHE_FORMAT = 2;
/** Entries kept besides the one in use; older ones are removed once they are this old. */
const KEEP_ENTRIES = 4;
const PRUNE_AGE_MS = 10 * 60 * 1000;
/** Files that steer how imports resolve without being read as modules. */
const RESOLUTION_FILES = ['package-lock.json', 'tsconfig.json'];

export interface HandlerBundle {
  /** A zip archive holding index.js (the function's deployment package). */
  readonly archive: string;
  /** SHA-256 (base64) of index.js: the function's source code hash. */
  readonly hash: string;
  /** The first 32 hex digits of the same SHA-256: the asset's hash (a path segment). */
  readonly assetHash: string;
}

export interface CachedBundlesRequest {
  /** The project root: esbuild's working directory; inputs are recorded relative to it. */
  readonly root: string;
  /** Bundle name → entry module, relative to root. Each bundle becomes `<name>.zip` holding index.js. */
  readonly entries: Readonly<Record<string, string>>;
  /** The cache folder (created when missing). */
  readonly cacheDir: string;
}

export interface CachedBundles {
  readonly bundles: ReadonlyMap<string, HandlerBundle>;
  /** 'cache' when esbuild did not run. */
  readonly source: 'cache' | 'build';
  /** The entry's key (its folder name in the cache). */
  readonly key: string;
}

interface Manifest {
  readonly format: number;
  readonly key: string;
  /** Files the build read, relative to root, sorted. */
  readonly inputs: string[];
  readonly bundles: Record<string, { hash: string; assetHash: string }>;
}

/**
 * What decides a build besides its entries and input files: stacks/bundle-build.ts's options, its
 * plugins, the module text a plugin substitutes (not a file the build reads) and the code of the
 * transform a plugin applies to the files it loads (so that changing the transform rebuilds).
 */
export const BUNDLE_OPTIONS = {
  ...HANDLER_BUILD_OPTIONS,
  plugins: HANDLER_BUILD_PLUGINS.map((plugin) => plugin.name),
  substitutedModules: [LAMBDA_CREDENTIALS_MODULE],
  transforms: [SDK_SCHEMA_FILE.source, ...SDK_SCHEMA_KEY_PATTERNS.map((pattern) => pattern.source), inlineSchemaKeys.toString()],
};

/**
 * What, besides input files, decides the bundles: the format, the esbuild version, the options and
 * the entry points. Part of every key, and (hashed) the manifest's name.
 */
export function bundleSettings(entries: Readonly<Record<string, string>>, options: object = BUNDLE_OPTIONS, esbuild = esbuildVersion): string {
  const sortedEntries = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ format: CACHE_FORMAT, esbuild, options, entries: sortedEntries });
}

/**
 * The key of a cache entry: SHA-256 (hex) of the settings and of each input's path and content, or
 * undefined when an input cannot be read (it was deleted or renamed: the entry is stale).
 */
export function bundleCacheKey(root: string, inputs: readonly string[], settings: string): string | undefined {
  const hash = createHash('sha256').update(settings).update('\0');
  for (const input of [...new Set([...inputs, ...RESOLUTION_FILES])].sort()) {
    let content: Buffer;
    try {
      content = readFileSync(join(root, input));
    } catch {
      if (RESOLUTION_FILES.includes(input)) {
        hash.update(`${input}\0<absent>\0`);
        continue;
      }
      return undefined;
    }
    hash.update(`${input}\0`).update(createHash('sha256').update(content).digest()).update('\0');
  }
  return hash.digest('hex');
}

/**
 * The bundles of `entries`: from the cache when the manifest's inputs still hash to its key and every
 * archive is there, otherwise built (stacks/bundle-build.ts, into a staging folder of the cache:
 * nothing is written outside it) and stored.
 */
export function cachedBundles(request: CachedBundlesRequest): CachedBundles {
  const { root, entries, cacheDir } = request;
  for (const [name, entry] of Object.entries(entries)) {
    if (!existsSync(join(root, entry))) throw new Error(`Bundle '${name}': its entry ${join(root, entry)} does not exist`);
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (error) {
    throw new Error(`Bundle cache folder ${cacheDir} cannot be created (${(error as Error).message}); set DEPLOY_GUARD_BUNDLE_CACHE to a writable folder`);
  }
  const settings = bundleSettings(entries);
  const manifestFile = join(cacheDir, `${createHash('sha256').update(settings).digest('hex').slice(0, 16)}.json`);

  const manifest = readManifest(manifestFile);
  if (manifest) {
    const key = bundleCacheKey(root, manifest.inputs, settings);
    const entryDir = join(cacheDir, manifest.key);
    if (key === manifest.key && Object.keys(entries).every((name) => manifest.bundles[name] && existsSync(join(entryDir, `${name}.zip`)))) {
      return { bundles: toBundles(entryDir, manifest.bundles), source: 'cache', key };
    }
  }

  const staging = mkdtempSync(join(cacheDir, '.new-'));
  chmodSync(staging, 0o755);
  const built = join(staging, 'build');
  let inputs: string[];
  try {
    inputs = buildHandlerBundlesSync({ root, entries, outdir: built }).inputs;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const key = bundleCacheKey(root, inputs, settings);
  if (key === undefined) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`Bundle cache: an input of the build vanished while it ran (${inputs.join(', ')})`);
  }

  const hashes: Manifest['bundles'] = {};
  const entryDir = join(cacheDir, key);
  try {
    for (const name of Object.keys(entries)) {
      const output = join(built, name, 'index.js');
      if (!existsSync(output)) throw new Error(`Bundle '${name}': esbuild produced no ${name}/index.js`);
      const code = readFileSync(output);
      writeFileSync(join(staging, `${name}.zip`), zipOneFile('index.js', code));
      const digest = createHash('sha256').update(code).digest();
      hashes[name] = { hash: digest.toString('base64'), assetHash: digest.toString('hex').slice(0, 32) };
    }
    rmSync(built, { recursive: true, force: true });
    if (existsSync(entryDir)) rmSync(staging, { recursive: true, force: true });
    else renameEntry(staging, entryDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const written: Manifest = { format: CACHE_FORMAT, key, inputs, bundles: hashes };
  const temporary = `${manifestFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(written));
  renameSync(temporary, manifestFile);
  prune(cacheDir, key);
  return { bundles: toBundles(entryDir, hashes), source: 'build', key };
}

function readManifest(file: string): Manifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    return manifest.format === CACHE_FORMAT && typeof manifest.key === 'string' && Array.isArray(manifest.inputs) && manifest.bundles ? manifest : undefined;
  } catch {
    return undefined;
  }
}

function toBundles(entryDir: string, hashes: Manifest['bundles']): Map<string, HandlerBundle> {
  return new Map(Object.entries(hashes).map(([name, { hash, assetHash }]) => [name, { archive: join(entryDir, `${name}.zip`), hash, assetHash }]));
}

/** Another process may have put the same entry in place meanwhile: same key, same content. */
function renameEntry(staging: string, entryDir: string): void {
  try {
    renameSync(staging, entryDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(entryDir)) throw error;
  }
}

/** Removes entries (and abandoned staging folders) beyond the newest KEEP_ENTRIES, once they are old. */
function prune(cacheDir: string, current: string): void {
  const now = Date.now();
  const folders = readdirSync(cacheDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== current)
    .map((entry) => ({ path: join(cacheDir, entry.name), staging: entry.name.startsWith('.new-'), mtime: statSync(join(cacheDir, entry.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const entries = folders.filter((folder) => !folder.staging);
  const stale = [...entries.slice(KEEP_ENTRIES), ...folders.filter((folder) => folder.staging)].filter((folder) => now - folder.mtime > PRUNE_AGE_MS);
  for (const folder of stale) rmSync(folder.path, { recursive: true, force: true });
  // Manifests of other settings whose entry is gone are useless.
  for (const file of readdirSync(cacheDir).filter((name) => name.endsWith('.json'))) {
    const manifest = readManifest(join(cacheDir, file));
    if (manifest && !existsSync(join(cacheDir, manifest.key)) && now - statSync(join(cacheDir, file)).mtimeMs > PRUNE_AGE_MS) rmSync(join(cacheDir, file), { force: true });
  }
}

/**
 * A zip archive of one file, deflated, with a fixed timestamp (1980-01-01) so that the same code
 * always gives the same bytes. Unix permissions 0644.
 */
export function zipOneFile(fileName: string, content: Buffer): Buffer {
  const name = Buffer.from(fileName, 'utf8');
  const data = deflateRawSync(content, { level: 6 });
  const checksum = crc32(content);
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0, 6);
  local.writeUInt16LE(8, 8);
  local.writeUInt16LE(dosTime, 10);
  local.writeUInt16LE(dosDate, 12);
  local.writeUInt32LE(checksum, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(dosTime, 12);
  central.writeUInt16LE(dosDate, 14);
  central.writeUInt32LE(checksum, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  central.writeUInt32LE(0, 42);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

/** The one file of an archive zipOneFile wrote (its local header: the name at 30, the data after it). */
export function unzipOneFile(archive: Buffer): Buffer {
  const nameLength = archive.readUInt16LE(26);
  const size = archive.readUInt32LE(18);
  return inflateRawSync(archive.subarray(30 + nameLength, 30 + nameLength + size));
}
