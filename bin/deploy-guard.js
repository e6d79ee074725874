#!/usr/bin/env node
// Runs the TypeScript CLI directly (transpile-only through tsx), so a checkout needs no build step.
require('tsx/cjs');
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; })
  .catch((error) => {
    process.stderr.write(`deploy-guard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
