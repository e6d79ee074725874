import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HANDLER_NAMES } from '../../handlers/entries';
import { unzipOneFile } from '../../stacks/bundle-cache';
import { bundleHandler as synthesizedBundle } from '../../stacks/nodejs-function';
import { BundleError, bundleHandler, bundleHandlers, type BundleResult } from '../../tools/bundle-handlers';

/**
 * Every Lambda handler bundles with esbuild into one self-contained file (the AWS SDK included) that
 * a fresh `node` loads and that exports `handler`, as the Lambda runtime requires it.
 */

function esbuildAvailable(): boolean {
  try {
    require.resolve('esbuild');
    return true;
  } catch {
    return false;
  }
}

const available = esbuildAvailable();
if (!available) {
  if (process.env.CI === 'true') throw new Error('esbuild is not installed: the handler bundles cannot be checked (CI=true)');
  console.warn('SKIPPED test/handlers/bundles.test.ts: esbuild is not installed (npm ci installs it)');
}
const describeIfEsbuild = available ? describe : describe.skip;

/** Loads the bundle in a fresh process, as Lambda would (only AWS_REGION set, no credentials needed to load). */
function loadInFreshNode(file: string): { status: number | null; stdout: string; stderr: string } {
  const script = `const m = require(${JSON.stringify(file)}); process.stdout.write(typeof m.handler + ' ' + Object.keys(m).join(','));`;
  const child = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}


describeIfEsbuild('handler bundles (tools/bundle-handlers.ts)', () => {
  let outDir: string;
  const built = new Map<string, BundleResult>();

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'deploy-guard-bundles-'));
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it.each(HANDLER_NAMES.map((name) => [name]))('%s bundles into <out>/<name>/index.js with an external source map, and loads in a fresh node', async (name) => {
    const bundle = await bundleHandler(name, { outDir });
    built.set(name, bundle);
    expect(bundle.file).toBe(join(outDir, name, 'index.js'));
    expect(bundle.sourceMap).toBe(join(outDir, name, 'index.js.map'));
    // Size and load time against their targets (1 MB, 150 ms) are measured by bench/handlers.ts.
    expect(bundle.bytes).toBeGreaterThan(0);
    // The load check runs outside the project, so nothing can come from node_modules: the SDK is inside.
    const loaded = loadInFreshNode(bundle.file);
    // The SDK warns on Node < 22 (NodeVersionSupportWarning); Lambda runs nodejs22.x. Nothing else may appear.
    const unexpected = loaded.stderr.split('\n\n').filter((block) => block.trim() && !/NodeVersionSupportWarning|upgrade to node >=22|trace-warnings/.test(block));
    expect(unexpected).toEqual([]);
    expect({ status: loaded.status, stderr: loaded.status === 0 ? '' : loaded.stderr }).toEqual({ status: 0, stderr: '' });
    expect(loaded.stdout).toMatch(/^function /);
    expect(loaded.stdout.split(' ')[1].split(',')).toContain('handler');
  });

  it('writes byte for byte the code synthesis zips for each function (one esbuild configuration: what is measured is what deploys)', async () => {
    for (const name of HANDLER_NAMES) {
      const bundle = built.get(name) ?? (await bundleHandler(name, { outDir }));
      const deployed = unzipOneFile(readFileSync(synthesizedBundle(name).archive));
      expect({ name, equal: deployed.equals(readFileSync(bundle.file)) }).toEqual({ name, equal: true });
    }
  });

  it('validates with zod inside the bundle (English messages only are bundled): the rollback bundle rejects an invalid event by name', async () => {
    const bundle = built.get('rollback') ?? (await bundleHandler('rollback', { outDir }));
    const script =
      `require(${JSON.stringify(bundle.file)}).handler({ 'detail-type': 'Deployment Rollback Requested', source: 'deploy-guard', detail: {} })` +
      '.then(() => process.exit(2), (error) => { process.stdout.write(error.name + ": " + error.message); });';
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      cwd: tmpdir(),
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        DEPLOY_GUARD_EVENT_BUS: 'b',
        DEPLOY_GUARD_CONTROL_TABLE: 'c',
        DEPLOY_GUARD_DEPLOYMENTS_TABLE: 'dg-deployments',
        DEPLOY_GUARD_ACCOUNT_ID: '123456789012',
        DEPLOY_GUARD_GROUPS: '[]',
      },
    });
    expect(child.stdout).toMatch(/^EventValidationError: Invalid Deployment Rollback Requested event: /);
    expect(child.stdout).toContain('detail.deploymentId');
  });

  it('fails with a clear error for a handler whose module is missing, naming it and the file', async () => {
    const message = "handler 'no-such-handler' has no module: handlers/no-such-handler.ts does not exist";
    await expect(bundleHandler('no-such-handler', { outDir })).rejects.toThrow(BundleError);
    await expect(bundleHandlers({ outDir, names: ['rollback', 'no-such-handler'] })).rejects.toThrow(message);
  });
});
