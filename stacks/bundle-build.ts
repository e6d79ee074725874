import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * The AWS SDK clients' generated schema modules: `@aws-sdk/client-<service>/dist-es/schemas/schemas_<n>.js`
 * (the ESM builds, the ones the bundles take; see HANDLER_BUILD_OPTIONS.mainFields).
 */
export const SDK_SCHEMA_FILE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/**
 * A module-level string constant as the SDK's generator writes them, one per line at column 0:
 * `const _hE = "httpError";`. Group 1 is the name, group 2 the literal with its quotes, verbatim.
 */
export const STRING_CONSTANT_PATTERN = /^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*');$/gm;

/** A computed key naming an identifier, in a key's place (after `{` or `,`): `{ [_e]: _c, [_hE]: 403 }`. */
export const COMPUTED_KEY_PATTERN = /(?<=[{,]\s*)\[([A-Za-z_$][\w$]*)\]:/g;

/**
 * `source` with each computed key `[name]:` whose `name` is a string constant of the module (see
 * STRING_CONSTANT_PATTERN) written `[<its literal>]:` instead (`[_hE]:` becomes `["httpError"]:`): the
 * constant's own literal, copied verbatim (quotes and escapes included), so the key is the same
 * string and the module means the same. Keys
 * naming anything else (another kind of constant, a variable, an import) are left as they are; a
 * source with no such key is returned unchanged (the same string).
 *
 * Sound for modules that bind these names nowhere else: a name shadowed in an inner scope would be
 * replaced there too. The SDK's schema modules bind none (their only functions are parameterless
 * thunks, `() => GetObjectRequest$`).
 */
export function inlineSchemaKeys(source: string): string {
  const literals = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT_PATTERN)) literals.set(name, literal);
  if (literals.size === 0) return source;
  // A replacer function: a literal is inserted as it is (a string replacement would read `$&` in it).
  return source.replace(COMPUTED_KEY_PATTERN, (key: string, name: string) => {
    const literal = literals.get(name);
    return literal === undefined ? key : `[${literal}]:`;
  });
}

/**
 * The SDK clients' schema modules (SDK_SCHEMA_FILE) declare every name once as a string constant
 * (`const _hE = "httpError";`) and use those constants as computed keys of the schemas' trait
 * objects (`{ [_e]: _c, [_hE]: 403 }`). esbuild does not follow a computed key to its constant: it
 * counts the key as a possible side effect (a key converts to a string, which could run code), so it
 * keeps every schema of the module, those of operations a handler never calls included (in the
 * predict bundle, client-s3's schemas were 66.5 KB of 618 KB; 10.3 KB with this plugin).
 *
 * For those files only, the plugin writes each such key with its constant's literal instead
 * (inlineSchemaKeys): a pure text substitution of the same string, so the SDK behaves as before,
 * while a key that is a string literal lets esbuild drop the schemas nothing uses. A schema module
 * without such keys passes through unchanged (esbuild loads it itself), and so does every other file.
 * Where the schemas are kept anyway (those of errors, registered when the module loads), a literal
 * key is a few bytes longer than a minified name: client-sns's schemas grow by 0.5 KB.
 *
 * Its name, its patterns and inlineSchemaKeys's code are part of the bundle cache's key (stacks/bundle-cache.ts).
 */
/** The patterns inlineSchemaKeys applies: part of the bundle cache's key with its code. */
export const SDK_SCHEMA_KEY_PATTERNS = [STRING_CONSTANT_PATTERN, COMPUTED_KEY_PATTERN] as const;

export const sdkSchemaKeys: Plugin = {
  name: 'sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: SDK_SCHEMA_FILE, namespace: 'file' }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const inlined = inlineSchemaKeys(source);
      return inlined === source ? undefined : { contents: inlined, loader: 'js' };
    });
  },
};

/** The plugins of every handler build, by name: part of the bundle cache's key. */
export const HANDLER_BUILD_PLUGINS = [lambdaCredentials, sdkSchemaKeys] as const;

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
