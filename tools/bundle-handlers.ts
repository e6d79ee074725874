/**
 * Bundles each Lambda handler of handlers/entries.ts into out/handlers/<name>/index.js (+ .map) with
 * the one esbuild configuration of the bundles (stacks/bundle-build.ts, the one synthesis zips), so
 * the index.js written here is byte for byte what deploys; the source map is external.
 *
 *   npx tsx tools/bundle-handlers.ts [--out DIR] [name ...]
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { HANDLER_NAMES } from '../handlers/entries';
import { buildHandlerBundles } from '../stacks/bundle-build';

export const PROJECT_ROOT = resolve(__dirname, '..');
export const DEFAULT_OUT_DIR = join(PROJECT_ROOT, 'out', 'handlers');

export interface BundleOptions {
  /** Where bundles go: <outDir>/<name>/index.js (default out/handlers). */
  readonly outDir?: string;
  /** Which handlers (default every name of HANDLER_NAMES). */
  readonly names?: readonly string[];
  /** Folder of the handler modules (default handlers/). */
  readonly handlersDir?: string;
}

export interface BundleResult {
  readonly name: string;
  readonly file: string;
  /** Size of index.js in bytes. */
  readonly bytes: number;
  readonly sourceMap: string;
}

/** A handler listed without its module, or a module esbuild cannot bundle: names the handler and the file. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export async function bundleHandler(name: string, options: BundleOptions = {}): Promise<BundleResult> {
  const handlersDir = options.handlersDir ?? join(PROJECT_ROOT, 'handlers');
  const entry = join(handlersDir, `${name}.ts`);
  if (!existsSync(entry)) {
    throw new BundleError(
      `handler '${name}' has no module: ${relative(PROJECT_ROOT, entry) || entry} does not exist ` +
        '(each name of HANDLER_NAMES in handlers/entries.ts must be handlers/<name>.ts exporting `handler`)',
    );
  }
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const file = join(outDir, name, 'index.js');
  try {
    await buildHandlerBundles({ root: PROJECT_ROOT, entries: { [name]: relative(PROJECT_ROOT, entry) }, outdir: outDir, sourceMap: true });
  } catch (error) {
    throw new BundleError(`handler '${name}': esbuild could not bundle ${relative(PROJECT_ROOT, entry)}: ${(error as Error).message}`, { cause: error });
  }
  return { name, file, bytes: statSync(file).size, sourceMap: `${file}.map` };
}

/** Bundles every named handler; fails on the first that cannot be bundled. */
export async function bundleHandlers(options: BundleOptions = {}): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  for (const name of options.names ?? HANDLER_NAMES) results.push(await bundleHandler(name, options));
  return results;
}

async function main(argv: readonly string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? '') : DEFAULT_OUT_DIR;
  const names = argv.filter((_arg, index) => index !== outIndex && index !== outIndex + 1);
  const results = await bundleHandlers({ outDir, ...(names.length > 0 ? { names } : {}) });
  for (const result of results) console.log(`${result.name}: ${relative(process.cwd(), result.file)} ${(result.bytes / 1024).toFixed(1)} KB`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
