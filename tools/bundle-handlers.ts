/**
 * Bundles each Lambda handler of handlers/entries.ts into out/handlers/<name>/index.js (+ .map) with
 * esbuild: Node 22, CommonJS, minified, tree-shaken, external source map. The AWS SDK v3 clients are
 * bundled, not taken from the Lambda runtime: the runtime's copy changes under us, and the versions
 * tested are the versions of package-lock.json.
 *
 *   npx tsx tools/bundle-handlers.ts [--out DIR] [name ...]
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { HANDLER_NAMES } from '../handlers/entries';

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

/**
 * Zod re-exports its error messages in every language it has (`z.locales`, ~260 KB minified, a
 * quarter of a bundle) and nothing can tree-shake a namespace re-export. Deploy Guard's messages are
 * English, the locale zod installs by default: the locales index is replaced by one that has `en` only.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      return { path: resolve(dirname(args.importer), args.path), namespace: 'zod-english-only' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

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
  const outDir = join(options.outDir ?? DEFAULT_OUT_DIR, name);
  const file = join(outDir, 'index.js');
  const { build } = await import('esbuild');
  try {
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      treeShaking: true,
      sourcemap: 'external',
      // ESM builds of the SDK and Powertools first: they tree-shake, their CommonJS builds do not.
      mainFields: ['module', 'main'],
      // Nothing is external: not even @aws-sdk/* (version pinning; see the file comment).
      external: [],
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [zodEnglishOnly],
    });
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
