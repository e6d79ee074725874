import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';

/**
 * The one esbuild configuration of the Lambda bundles. Synthesis (stacks/bundle-cache.ts, which zips
 * what deploys), `npm run bundle` (tools/bundle-handlers.ts) and `npm run bench:handlers` all build
 * with it, so what is measured is what deploys.
 *
 * Node 22 (the runtime), CommonJS, minified and tree-shaken. Nothing is external, not even
 * @aws-sdk/*: the runtime's copy of the SDK changes under us, and the versions tested are those of
 * package-lock.json. The ESM builds of the SDK and Powertools come first (`mainFields`): they
 * tree-shake, their CommonJS builds do not.
 */
export const HANDLER_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  treeShaking: true,
  mainFields: ['module', 'main'],
  external: [],
  legalComments: 'none',
  // A failed build throws with every error in its message; nothing else is worth printing.
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * The SDK clients' default credential chain (`@aws-sdk/credential-provider-node`) tries environment
 * variables, then SSO, shared ini files, credential processes, web identity tokens, the container
 * endpoint and the instance metadata service, and bundles what each needs: STS, SSO, SSO-OIDC and
 * sign-in clients, ~100 KB that every cold start parses. Lambda gives a function its role's
 * credentials in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`); in the bundles the chain is the environment, then the container endpoint
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`, for runtimes that serve credentials that
 * way), memoized until five minutes before they expire, as the default chain does. Tests and the
 * CLI, which do not bundle, keep the full chain.
 */
export const lambdaCredentials: Plugin = {
  name: 'lambda-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      return { path: args.importer, namespace: 'lambda-credentials' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lambda-credentials' }, (args) => ({
      contents: LAMBDA_CREDENTIALS_MODULE,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/** What `@aws-sdk/credential-provider-node` becomes in a bundle (see lambdaCredentials). */
export const LAMBDA_CREDENTIALS_MODULE = `
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { chain, memoize } from '@smithy/core/config';
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;
export const defaultProvider = (init = {}) => memoize(
  chain(fromEnv(init), async (properties) => fromHttp(init)(properties)),
  (credentials) => credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < EXPIRY_MARGIN_MS,
  (credentials) => credentials.expiration !== undefined,
);
`;

/** The plugins of every handler build, by name: part of the bundle cache's key. */
export const HANDLER_BUILD_PLUGINS = [lambdaCredentials] as const;

export interface HandlerBuildRequest {
  /** esbuild's working directory; entries and the reported inputs are relative to it. */
  readonly root: string;
  /** Bundle name → entry module (relative to root). Bundle `n` is written to `<outdir>/<n>/index.js`. */
  readonly entries: Readonly<Record<string, string>>;
  /** Absolute folder the bundles are written to. */
  readonly outdir: string;
  /** Also write `index.js.map` beside each bundle (external: the code, and its hash, stay the same). */
  readonly sourceMap?: boolean;
}

export interface HandlerBuildResult {
  /** The project files the build read, relative to root with `/` separators, sorted. */
  readonly inputs: string[];
}

/** Builds the bundles with HANDLER_BUILD_OPTIONS and its plugins (esbuild's asynchronous API: plugins need it). */
export async function buildHandlerBundles(request: HandlerBuildRequest): Promise<HandlerBuildResult> {
  const { build } = await import('esbuild');
  const result = await build({
    ...HANDLER_BUILD_OPTIONS,
    plugins: [...HANDLER_BUILD_PLUGINS],
    absWorkingDir: request.root,
    entryPoints: Object.fromEntries(Object.entries(request.entries).map(([name, entry]) => [`${name}/index`, entry])),
    outdir: request.outdir,
    sourcemap: request.sourceMap ? 'external' : false,
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes(':') && !isAbsolute(input) && existsSync(join(request.root, input)))
    .map((input) => input.split(sep).join('/'))
    .sort();
  return { inputs };
}

/**
 * The same build, for synchronous callers (constructs are built synchronously): run in a child
 * Node process, since esbuild's synchronous API takes no plugins. Throws with esbuild's errors.
 */
export function buildHandlerBundlesSync(request: HandlerBuildRequest): HandlerBuildResult {
  const child = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, JSON.stringify(request)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) {
    const message = (child.stderr || String(child.error ?? '')).trim().split('\n').filter((line) => !/NodeVersionSupportWarning|trace-warnings/.test(line));
    throw new Error(`esbuild could not bundle ${Object.values(request.entries).join(', ')}: ${message.join('\n') || `exit ${child.status}`}`);
  }
  return JSON.parse(child.stdout) as HandlerBuildResult;
}

if (require.main === module) {
  buildHandlerBundles(JSON.parse(process.argv[2] ?? '{}') as HandlerBuildRequest).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
