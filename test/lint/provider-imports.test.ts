import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const ESLINT = resolve(ROOT, 'node_modules/eslint/bin/eslint.js');

/** Lints `code` as if it were stacks/example.ts, with the project's own configuration. */
function problems(code: string): string[] {
  const run = spawnSync('node', [ESLINT, '--stdin', '--stdin-filename', 'stacks/example.ts', '--format', 'json'], {
    cwd: ROOT,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

describe('the lint rules', () => {
  it('forbid importing the root of @cdktf/provider-aws (3 s and 0.5 GB per process)', () => {
    expect(problems("import { s3Bucket } from '@cdktf/provider-aws';\nexport const x = s3Bucket;\n")).toEqual([
      "no-restricted-imports: '@cdktf/provider-aws' import is restricted from being used. Import the resource deeply: @cdktf/provider-aws/lib/<resource>.",
    ]);
    expect(problems("// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const aws = require('@cdktf/provider-aws');\n")).toEqual([
      'no-restricted-syntax: Import the resource deeply: @cdktf/provider-aws/lib/<resource>.',
    ]);
  });

  it("forbid zod's `z` re-export, which no bundle can tree-shake, and allow the namespace import", () => {
    expect(problems("import { z } from 'zod';\nexport const s = z.string();\n")).toEqual([
      "no-restricted-syntax: Import zod as a namespace: import * as z from 'zod' (the Lambda bundles tree-shake it).",
    ]);
    expect(problems("import * as z from 'zod';\nexport const s = z.string();\n")).toEqual([]);
  });

  it("forbid zod/mini's `z` re-export too, and allow its namespace import", () => {
    expect(problems("import { z } from 'zod/mini';\nexport const s = z.string();\n")).toEqual([
      "no-restricted-syntax: Import zod/mini as a namespace: import * as z from 'zod/mini' (the Lambda bundles tree-shake it).",
    ]);
    expect(problems("import { z as mini } from 'zod/mini';\nexport const s = mini.string();\n")).toEqual([
      "no-restricted-syntax: Import zod/mini as a namespace: import * as z from 'zod/mini' (the Lambda bundles tree-shake it).",
    ]);
    expect(problems("import * as z from 'zod/mini';\nexport const s = z.string();\n")).toEqual([]);
  });

  it('allow deep imports', () => {
    expect(problems("import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';\nexport const x = S3Bucket;\n")).toEqual([]);
  });
});
