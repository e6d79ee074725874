import { spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEntry, EMITTED_EVENTS } from '../../events/emitted';
import { HANDLER_NAMES } from '../../handlers/entries';
import { buildHandlerBundles } from '../../stacks/bundle-build';
import { unzipOneFile } from '../../stacks/bundle-cache';
import { bundleHandler as synthesizedBundle } from '../../stacks/nodejs-function';
import { BundleError, bundleHandler, bundleHandlers, PROJECT_ROOT, type BundleResult } from '../../tools/bundle-handlers';
import type { RoundTrip } from '../support/sdk-round-trip';

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

/**
 * A local HTTP server standing in for DynamoDB (every request answered with a DynamoDB error) and
 * for a container credentials endpoint (`/credentials`): it records what each request carried.
 */
async function awsStandIn(): Promise<{ server: Server; url: string; requests: { path: string; headers: IncomingHttpHeaders }[] }> {
  const requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '', headers: request.headers });
    request.resume();
    request.on('end', () => {
      if (request.url === '/credentials') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ AccessKeyId: 'ASIACONTAINERKEY', SecretAccessKey: 'container-secret', Token: 'container-token', Expiration: '2099-01-01T00:00:00Z' }));
        return;
      }
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'stand-in: no such table' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Runs the record-change bundle on a valid change summary, in a fresh node with only `env` (asynchronously: the stand-in answers meanwhile). */
function recordChangeInFreshNode(file: string, env: Record<string, string>): Promise<string> {
  const entry = buildEntry('Deployment Change Summary', EMITTED_EVENTS['Deployment Change Summary'].example, { source: 'deploy-guard', eventBusName: 'b' });
  const event = { version: '0', id: '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f', 'detail-type': entry.DetailType, source: entry.Source, account: '123456789012', time: '2026-12-02T10:00:00Z', region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) as unknown };
  const script =
    `require(${JSON.stringify(file)}).handler(${JSON.stringify(event)})` +
    '.then(() => process.stdout.write("resolved"), (error) => process.stdout.write(error.name + ": " + error.message));';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH, HOME: tmpdir(), AWS_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1', DEPLOY_GUARD_CHANGES_TABLE: 'dg-changes', ...env },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(stdout));
  });
}

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the S3 stand-in holds: `GET /<bucket>/<key>` of this object answers it, any other key NoSuchKey. */
const S3_OBJECT = { path: '/deploy-guard-models/models/current.json', body: '{"model":"v7"}' };

/**
 * A local HTTP server standing in for S3 (REST-XML, path style: `GET /<bucket>/<key>`) and CodeDeploy
 * (JSON 1.1: `POST /` with `x-amz-target`), answering as AWS does; it records each request.
 */
async function s3AndCodeDeployStandIn(): Promise<{ server: Server; url: string; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const recorded = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      requests.push(recorded);
      if (recorded.method === 'GET' && recorded.url.split('?')[0] === S3_OBJECT.path) {
        response.writeHead(206, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(S3_OBJECT.body)),
          etag: '"9b2cf535f27731c974343645a3985328"',
          'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT',
          'x-amz-meta-trained-by': 'promote',
        });
        response.end(S3_OBJECT.body);
      } else if (recorded.method === 'GET') {
        response.writeHead(404, { 'content-type': 'application/xml' });
        response.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>models/absent.json</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>');
      } else if (body.includes('d-ABSENT')) {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'DeploymentDoesNotExistException', message: 'The deployment d-ABSENT could not be found.' }));
      } else {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(
          JSON.stringify({
            deploymentInfo: { deploymentId: 'd-PRESENT', status: 'Succeeded', createTime: 1796119200, autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } },
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Calls `call` (an export of test/support/sdk-round-trip.ts, with `endpoint` in scope) in a fresh node with static credentials in its environment. */
function roundTripInFreshNode(file: string, call: string, endpoint: string): Promise<RoundTrip> {
  const script =
    `const endpoint = ${JSON.stringify(endpoint)}; const m = require(${JSON.stringify(file)});` +
    ` m.${call}.then((r) => process.stdout.write(JSON.stringify(r)), (error) => process.stdout.write(JSON.stringify({ thrown: String(error) })));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH, HOME: tmpdir(), AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIALOCALSTANDIN', AWS_SECRET_ACCESS_KEY: 'local-secret' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        resolve(JSON.parse(stdout) as RoundTrip);
      } catch {
        reject(new Error(`${call} printed no result (exit ${status}): ${stdout}${stderr}`));
      }
    });
  });
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
    // In English: the bundle holds zod/mini, which loads no locale of its own (events/zod-locale.ts).
    expect(child.stdout).toContain('detail.deploymentId: Invalid input: expected string, received undefined');
  });

  describe("the SDK's credentials in a bundle: Lambda's environment, then a container endpoint, and nothing else (no SSO, ini files or instance metadata)", () => {
    let standIn: Awaited<ReturnType<typeof awsStandIn>>;
    beforeEach(async () => {
      standIn = await awsStandIn();
    });
    afterEach(() => new Promise<void>((resolve) => standIn.server.close(() => resolve())));

    const bundleFile = async (): Promise<string> => (built.get('record-change') ?? (await bundleHandler('record-change', { outDir }))).file;
    const signedWith = (): string[] =>
      standIn.requests.filter((request) => request.path !== '/credentials').map((request) => /Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? 'unsigned');

    it('signs with the credentials Lambda puts in the environment', async () => {
      const outcome = await recordChangeInFreshNode(await bundleFile(), {
        AWS_ENDPOINT_URL: standIn.url,
        AWS_ACCESS_KEY_ID: 'ASIALAMBDAROLEKEY',
        AWS_SECRET_ACCESS_KEY: 'lambda-secret',
        AWS_SESSION_TOKEN: 'lambda-token',
      });
      expect(outcome).toContain('ResourceNotFoundException');
      expect(signedWith()).toEqual(['ASIALAMBDAROLEKEY']);
      expect(standIn.requests[0].headers['x-amz-security-token']).toBe('lambda-token');
    });

    it('signs with the container endpoint credentials when the environment has none', async () => {
      const outcome = await recordChangeInFreshNode(await bundleFile(), {
        AWS_ENDPOINT_URL: standIn.url,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${standIn.url}/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth',
      });
      expect(outcome).toContain('ResourceNotFoundException');
      expect(standIn.requests[0]).toMatchObject({ path: '/credentials', headers: { authorization: 'container-auth' } });
      expect(signedWith()).toEqual(['ASIACONTAINERKEY']);
    });

    it('fails at once, naming what it looked for, when neither is there (it never asks the instance metadata service)', async () => {
      const outcome = await recordChangeInFreshNode(await bundleFile(), { AWS_ENDPOINT_URL: standIn.url });
      expect(outcome).toMatch(/^DynamoDbStoreError: DynamoDB PutItem on table dg-changes.*CredentialsProviderError: .*AWS_CONTAINER_CREDENTIALS_FULL_URI/s);
      expect(standIn.requests).toEqual([]);
    });
  });

  describe("the SDK in a bundle, its clients' schema modules rewritten by sdkSchemaKeys (stacks/bundle-build.ts), still speaks S3's REST-XML and CodeDeploy's JSON 1.1", () => {
    let standIn: Awaited<ReturnType<typeof s3AndCodeDeployStandIn>>;
    let roundTrip: string;
    beforeAll(async () => {
      // The handlers' build (options and plugins), on an entry that makes one call of each client.
      await buildHandlerBundles({ root: PROJECT_ROOT, entries: { 'sdk-round-trip': 'test/support/sdk-round-trip.ts' }, outdir: outDir });
      roundTrip = join(outDir, 'sdk-round-trip', 'index.js');
    });
    beforeEach(async () => {
      standIn = await s3AndCodeDeployStandIn();
    });
    afterEach(() => new Promise<void>((resolve) => standIn.server.close(() => resolve())));

    it('holds the schemas of the operations it calls, not those of the others (what the plugin is for)', () => {
      const code = readFileSync(roundTrip, 'utf8');
      expect(code).toContain('"GetObjectRequest"');
      expect(code).toContain('"GetDeploymentInput"');
      expect(code).not.toContain('"PutObjectRequest"');
      expect(code).not.toContain('"DeleteBucketPolicy"');
    });

    it('S3 GetObject: sends GET /<bucket>/<key> with its query and headers, and reads the body and the headers of the answer', async () => {
      const outcome = await roundTripInFreshNode(roundTrip, "getObject(endpoint, 'deploy-guard-models', 'models/current.json')", standIn.url);
      expect(standIn.requests).toHaveLength(1);
      const [request] = standIn.requests;
      expect(`${request.method} ${request.url}`).toBe('GET /deploy-guard-models/models/current.json?versionId=v1&x-id=GetObject');
      expect(request.headers.range).toBe('bytes=0-99');
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIALOCALSTANDIN\/\d{8}\/us-east-1\/s3\/aws4_request, /);
      expect(outcome).toEqual({
        output: {
          body: S3_OBJECT.body,
          contentType: 'application/json',
          contentLength: Buffer.byteLength(S3_OBJECT.body),
          eTag: '"9b2cf535f27731c974343645a3985328"',
          lastModified: '2026-12-01T10:00:00.000Z',
          metadata: { 'trained-by': 'promote' },
        },
      });
    });

    it("S3 GetObject of an absent key: S3's 404 NoSuchKey XML error comes back as the client's NoSuchKey error", async () => {
      const outcome = await roundTripInFreshNode(roundTrip, "getObject(endpoint, 'deploy-guard-models', 'models/absent.json')", standIn.url);
      expect(standIn.requests.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /deploy-guard-models/models/absent.json?versionId=v1&x-id=GetObject']);
      expect(outcome).toEqual({ error: { name: 'NoSuchKey', message: 'The specified key does not exist.', status: 404, modeled: true } });
    });

    it('CodeDeploy GetDeployment: posts the JSON 1.1 request with its target, and reads the deployment (a timestamp and a nested structure included)', async () => {
      const outcome = await roundTripInFreshNode(roundTrip, "getDeployment(endpoint, 'd-PRESENT')", standIn.url);
      expect(standIn.requests).toHaveLength(1);
      const [request] = standIn.requests;
      expect({ line: `${request.method} ${request.url}`, target: request.headers['x-amz-target'], contentType: request.headers['content-type'], body: JSON.parse(request.body) as unknown }).toEqual({
        line: 'POST /',
        target: 'CodeDeploy_20141006.GetDeployment',
        contentType: 'application/x-amz-json-1.1',
        body: { deploymentId: 'd-PRESENT' },
      });
      expect(outcome).toEqual({ output: { deploymentId: 'd-PRESENT', status: 'Succeeded', createTime: '2026-12-01T10:00:00.000Z', autoRollbackEvents: ['DEPLOYMENT_FAILURE'] } });
    });

    it("CodeDeploy GetDeployment of an absent deployment: the JSON error comes back as the client's DeploymentDoesNotExistException", async () => {
      const outcome = await roundTripInFreshNode(roundTrip, "getDeployment(endpoint, 'd-ABSENT')", standIn.url);
      expect(standIn.requests.map((request) => request.headers['x-amz-target'])).toEqual(['CodeDeploy_20141006.GetDeployment']);
      expect(outcome).toEqual({ error: { name: 'DeploymentDoesNotExistException', message: 'The deployment d-ABSENT could not be found.', status: 400, modeled: true } });
    });
  });

  it('fails with a clear error for a handler whose module is missing, naming it and the file', async () => {
    const message = "handler 'no-such-handler' has no module: handlers/no-such-handler.ts does not exist";
    await expect(bundleHandler('no-such-handler', { outDir })).rejects.toThrow(BundleError);
    await expect(bundleHandlers({ outDir, names: ['rollback', 'no-such-handler'] })).rejects.toThrow(message);
  });
});
