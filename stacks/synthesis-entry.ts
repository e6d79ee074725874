import { resolve } from 'node:path';

/**
 * Imported first by main.ts, so that it runs before cdktf and the AWS provider load. When main.ts is
 * the program (`npm run synth`, `cdktf synth`), it turns off Node's source-map support, which tsx
 * turns on: with it, Node parses the inline source map of every module it loads, and maps each stack
 * trace cdktf records (one per token) back to TypeScript, a third of a synthesis. Stack traces of a
 * failed synthesis then name lines of the transpiled code; DEPLOY_GUARD_SOURCE_MAPS=1 keeps the maps.
 * Importing main.ts from elsewhere (the tests) changes nothing.
 */
const MAIN = resolve(__dirname, '..', 'main');

export function isSynthesisEntry(argv: readonly string[] = process.argv): boolean {
  return argv[1] !== undefined && resolve(argv[1]).replace(/\.ts$/, '') === MAIN;
}

if (isSynthesisEntry() && !process.env.DEPLOY_GUARD_SOURCE_MAPS) process.setSourceMapsEnabled(false);
