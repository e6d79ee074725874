import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../main';

/** Every stack of the shipped configuration, synthesized once per test file into a temp dir. */
export interface SynthesizedApp {
  readonly outdir: string;
  readonly stacks: readonly { readonly name: string; readonly dir: string; readonly json: Record<string, unknown> }[];
}

export function synthesizeAll(): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-synth-'));
  const app = buildApp({ outdir });
  app.synth();
  const names = app.node.children.map((child) => child.node.id);
  return {
    outdir,
    stacks: names.map((name) => {
      const dir = join(outdir, 'stacks', name);
      return { name, dir, json: JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) };
    }),
  };
}
