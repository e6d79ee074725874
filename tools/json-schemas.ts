import { writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import * as z from 'zod';
import { mappingSchema } from '../model/mapping';
import { deployGuardConfig } from '../stacks/config';

/**
 * The JSON Schemas of Deploy Guard's two hand-written files, generated from the zod schemas that
 * validate them, so that editors complete and check them (`"$schema"` at the top of the file):
 *   schemas/deploy-guard.config.schema.json  deploy-guard.config.json (stacks/config.ts)
 *   schemas/history-mapping.schema.json      an import mapping (model/mapping.ts)
 * A schema says what a key may hold; the cross-checks zod runs in code (a budget shared by groups on
 * one cut, a label column not used as a feature, ...) are reported by synth and import as before.
 *
 *   npm run schemas   (a test fails when a committed schema is stale)
 */

export const SCHEMAS_DIR = resolve(__dirname, '..', 'schemas');

interface SchemaFile {
  readonly file: string;
  readonly title: string;
  readonly description: string;
  readonly schema: z.ZodType;
}

const FILES: readonly SchemaFile[] = [
  {
    file: 'deploy-guard.config.schema.json',
    title: 'Deploy Guard configuration',
    description: 'deploy-guard.config.json: the environments Deploy Guard is installed in and the deployment groups it guards (README, "Configuration").',
    schema: deployGuardConfig,
  },
  {
    file: 'history-mapping.schema.json',
    title: 'Deploy Guard history mapping',
    description: 'How the columns of a CSV deployment history map to Deploy Guard\'s fields (README, "deploy-guard import").',
    schema: mappingSchema,
  },
];

/** The formats JSON Schema defines; zod also writes its own ("starts_with", beside the pattern that checks it). */
const STANDARD_FORMATS = new Set(['date-time', 'date', 'time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'uri-reference', 'uuid', 'regex']);

const PROJECT_ROOT = resolve(__dirname, '..');

/**
 * The schema as published: standard formats only, and a default that is a path inside the project
 * (the shipped first model) written relative to it, so the file is the same on every machine.
 */
function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (typeof node === 'string') return node.startsWith(`${PROJECT_ROOT}${sep}`) ? relative(PROJECT_ROOT, node).split(sep).join('/') : node;
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => key !== 'format' || STANDARD_FORMATS.has(String(value)))
      .map(([key, value]) => [key, portable(value)]),
  );
}

/** Each schema file's path and text. */
export function renderJsonSchemas(): { readonly path: string; readonly text: string }[] {
  return FILES.map(({ file, title, description, schema }) => {
    // The input side: what a person writes (defaults may be left out), not what the code receives.
    const generated = portable(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-7' })) as Record<string, unknown>;
    const { $schema, ...rest } = generated;
    const document = { $schema, $id: `https://deploy-guard.dev/schemas/${file}`, title, description, ...rest };
    return { path: join(SCHEMAS_DIR, file), text: `${JSON.stringify(document, null, 2)}\n` };
  });
}

if (require.main === module) {
  for (const { path, text } of renderJsonSchemas()) {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(process.cwd(), path)}\n`);
  }
}
