import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSynthesisEntry } from '../../stacks/synthesis-entry';

describe('isSynthesisEntry (stacks/synthesis-entry.ts)', () => {
  const main = join(__dirname, '..', '..', 'main.ts');

  it('is true when main.ts is the program, as node -r tsx/cjs, tsx or cdktf run it', () => {
    expect(isSynthesisEntry(['/usr/bin/node', main])).toBe(true);
    expect(isSynthesisEntry(['/usr/bin/node', main.replace(/\.ts$/, '')])).toBe(true);
  });

  it('is false when another program imports main.ts (jest, a script) or there is no program file', () => {
    expect(isSynthesisEntry(['/usr/bin/node', join(__dirname, '..', '..', 'node_modules', '.bin', 'jest')])).toBe(false);
    expect(isSynthesisEntry(['/usr/bin/node', join(__dirname, 'main.ts')])).toBe(false);
    expect(isSynthesisEntry(['/usr/bin/node'])).toBe(false);
  });
});

describe('npm run synth / cdktf synth with a wrong configuration', () => {
  it('prints one line per problem, naming the file and the key path, no stack trace, and exits 2', () => {
    const root = join(__dirname, '..', '..');
    const config = JSON.parse(readFileSync(join(root, 'deploy-guard.config.json'), 'utf8'));
    config.environments.dev.groups[0].blockBudget = 0.9;
    config.environments.dev.groups[0].mode = 'block';
    const file = join(mkdtempSync(join(tmpdir(), 'deploy-guard-synth-')), 'config.json');
    writeFileSync(file, JSON.stringify(config));
    // cdktf.json's app command.
    const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', 'main.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, DEPLOY_GUARD_CONFIG: file } });
    expect(run.status).toBe(2);
    const lines = run.stderr.trimEnd().split('\n').filter((line) => !/NodeVersionSupportWarning|DeployGuardConfigWarning/.test(line));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(new RegExp(`^deploy-guard synth: ${file}: environments\\.dev\\.`));
    expect(lines.some((line) => line.includes('environments.dev.groups[0].blockBudget: '))).toBe(true);
    expect(lines.some((line) => line.includes('environments.dev.groups[0].mode: '))).toBe(true);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
