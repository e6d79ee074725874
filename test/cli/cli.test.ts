import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../cli/main';
import { EMITTED_EVENTS } from '../../events/emitted';
import { SAMPLES_DIR } from '../../events/samples';
import { memoryIO } from '../support/io';

const ROOT = resolve(__dirname, '../..');
const SUCCESS_SAMPLE = join(SAMPLES_DIR, 'codedeploy-deployment-state-change.success.json');

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('deploy-guard (the command line)', () => {
  it('lists its commands, and says so when a command is unknown', async () => {
    const help = memoryIO();
    expect(await main(['help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/start\s+Run Deploy Guard locally on the shipped history/);
    expect(help.stdout()).toMatch(/match\s+Test an EventBridge event pattern/);
    const unknown = memoryIO();
    expect(await main(['frobnicate'], unknown.io)).toBe(2);
    expect(unknown.stderr()).toContain("unknown command 'frobnicate'");
  });

  it('answers --version, <command> --help and help <command>; an unknown help topic is an error', async () => {
    const version = memoryIO();
    expect(await main(['--version'], version.io)).toBe(0);
    const { version: packageVersion } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout()).toBe(`deploy-guard ${packageVersion}\n`);

    const commandHelp = memoryIO();
    expect(await main(['train', '--help'], commandHelp.io)).toBe(0);
    expect(commandHelp.stdout()).toMatch(/^Usage: deploy-guard train --data FILE --out DIR/);
    const helpTopic = memoryIO();
    expect(await main(['help', 'train'], helpTopic.io)).toBe(0);
    expect(helpTopic.stdout()).toBe(commandHelp.stdout());

    const unknownTopic = memoryIO();
    expect(await main(['help', 'trian'], unknownTopic.io)).toBe(2);
    expect(unknownTopic.stderr()).toContain("deploy-guard help: no command 'trian' (the commands: start, backtest,");
    expect(unknownTopic.stdout()).toBe('');
  });

  it('loads no command for help or --version: neither the backtest, the model nor the AWS SDK', () => {
    // Counting what is loaded, not timing it: a busy machine slows a timed check, not this one.
    // tsx and esbuild are the TypeScript loader bin/deploy-guard.js starts with.
    const script =
      "require('tsx/cjs'); const { main } = require('./cli/main.ts'); const io = { stdout: { write() {} }, stderr: process.stderr, stdin: process.stdin, cwd: '.' };" +
      "main(['help'], io).then(() => main(['--version'], io)).then(() => process.stdout.write(JSON.stringify(Object.keys(require.cache).map((file) => file.slice(process.cwd().length + 1)).filter((file) => !/^node_modules\\/(tsx|esbuild)\\//.test(file)))));";
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
    expect(loaded.sort()).toEqual(['cli/catalog.ts', 'cli/command.ts', 'cli/main.ts']);
  });

  it.each([
    [['route'], 'events routed through'],
    [['backtest', '--help'], 'Usage: deploy-guard backtest'],
    [['change-summary', '--publish', '--help'], 'Usage: deploy-guard change-summary'],
  ])('never shows the AWS SDK\'s Node-version warning for a command that does not call AWS: %j', (args, expected) => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/deploy-guard.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '' } });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(expected);
    expect(run.stderr).not.toContain('NodeVersionSupportWarning');
  });

  it('prints a usage error with the command\'s usage', async () => {
    const run = memoryIO();
    expect(await main(['match', '--pattern'], run.io)).toBe(2);
    expect(run.stderr()).toContain("deploy-guard match: option '--pattern' needs a value");
    expect(run.stderr()).toContain('Usage: deploy-guard match --pattern FILE --event FILE');
  });

  it('runs as `npx deploy-guard` from a checkout', () => {
    const output = execFileSync('node', [join(ROOT, 'bin/deploy-guard.js'), 'help', 'match'], { encoding: 'utf8' });
    expect(output).toContain('Usage: deploy-guard match');
  });
});

describe('deploy-guard match', () => {
  it('prints true and exits 0 when the event matches', async () => {
    const pattern = writeTemp('p.json', '{"source":["aws.codedeploy"],"detail":{"state":["SUCCESS"]}}');
    const run = memoryIO();
    expect(await main(['match', '--pattern', pattern, '--event', SUCCESS_SAMPLE], run.io)).toBe(0);
    expect(run.stdout()).toBe('true\n');
  });

  it('prints false and exits 1 when it does not', async () => {
    const pattern = writeTemp('p.json', '{"detail":{"state":["FAILURE"]}}');
    const run = memoryIO();
    expect(await main(['match', '--pattern', pattern, '--event', SUCCESS_SAMPLE], run.io)).toBe(1);
    expect(run.stdout()).toBe('false\n');
  });

  it('exits 2 with the reason on stderr for an invalid pattern', () => {
    const pattern = writeTemp('p.json', '{"detail":{"state":"SUCCESS"}}');
    const result = spawnSync('node', [join(ROOT, 'bin/deploy-guard.js'), 'match', '--pattern', pattern, '--event', SUCCESS_SAMPLE], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`invalid pattern in ${pattern}`);
  });

  it('exits 2 naming the file when the event is not JSON or a file is missing', async () => {
    const pattern = writeTemp('p.json', '{"source":["x"]}');
    const event = writeTemp('e.json', '{oops');
    const bad = memoryIO();
    expect(await main(['match', '--pattern', pattern, '--event', event], bad.io)).toBe(2);
    expect(bad.stderr()).toContain(`event file ${event} is not JSON`);
    await expect(main(['match', '--pattern', '/nonexistent/p.json', '--event', event], memoryIO().io)).rejects.toThrow('cannot read /nonexistent/p.json: ENOENT');
  });
});

describe('deploy-guard route', () => {
  it('routes every real sample and every emitted example through the system\'s rules', async () => {
    const run = memoryIO();
    expect(await main(['route', '--json'], run.io)).toBe(0);
    const lines = run.stdout().trim().split('\n').map((line) => JSON.parse(line) as { event: string; rules: string[] });
    const byEvent = new Map(lines.map((line) => [line.event, line.rules]));
    expect(byEvent.get('derived: CodeDeploy START')).toEqual(['deployment-started → predict']);
    expect(byEvent.get('codedeploy-deployment-state-change.failure.json')).toEqual(['deployment-finished → record-outcome']);
    expect(byEvent.get('emitted: Deployment Rollback Requested')).toEqual(['rollback-requested → rollback']);
    expect(byEvent.get('cloudwatch-alarm-state-change.single-metric.json')).toEqual([]);
    expect(byEvent.get('emitted: Operator Override')).toEqual(['notify → notify']);
    expect(byEvent.get('emitted: Deployment Held')).toEqual(['notify → notify']);
    expect(byEvent.get('emitted: Deployment Bake Rolled Back')).toEqual(['notify → notify']);
    expect(byEvent.get('emitted: Pipeline Gate Decided')).toEqual(['notify → notify']);
    // 32 sample files, 2 of them not EventBridge events; one example of each emitted event.
    expect(lines.length).toBe(30 + 3 + 2 + Object.keys(EMITTED_EVENTS).length);
  });
});
