import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../cli/command';
import { createChangeSummaryCommand } from '../../cli/commands/change-summary';
import { main } from '../../cli/main';
import { ManualClock } from '../../events/clock';
import { revisionKey } from '../../events/emitted';
import { revisionOf } from '../../handlers/adapters/codedeploy';
import { parseEmittedEvent } from '../../events/parse';
import { git, TestRepo } from '../support/git-repo';
import { memoryIO } from '../support/io';

const eventBridge = mockClient(EventBridgeClient);
const dana = { name: 'Dana', email: 'dana@example.com' };
const erin = { name: 'Erin', email: 'erin@example.com' };
const BUILT_AT = '2026-11-20T09:14:00Z';

let repo: TestRepo;
let from: string;
let to: string;

beforeAll(() => {
  repo = new TestRepo('payments');
  repo.commit(dana, 'first', { 'src/pay.ts': 'export const pay = 1;\n', 'README.md': '# payments\n' });
  from = repo.commit(erin, 'second', { 'src/pay.ts': 'export const pay = 2;\n' });
  repo.commit(dana, 'third', { 'src/refund.ts': 'export const refund = 1;\nexport const fee = 0;\n', 'test/refund.test.ts': 'test\n' });
  to = repo.commit(dana, 'fourth', { 'README.md': null, 'package.json': '{}\n' });
  git(repo.dir, ['remote', 'add', 'origin', 'git@github.com:acme/payments.git']);
});
afterAll(() => repo.remove());
beforeEach(() => eventBridge.reset());

/** The detail both modes produce for from..to, built at BUILT_AT. */
function expectedDetail(application: string) {
  return {
    schemaVersion: '1',
    application,
    revision: { commitId: to },
    repository: 'acme/payments',
    branch: 'main',
    author: 'dana@example.com',
    builtAt: BUILT_AT,
    change: {
      commits: 2,
      filesAdded: 3, // src/refund.ts, test/refund.test.ts, package.json
      filesDeleted: 1, // README.md
      filesModified: 0,
      linesAdded: 4,
      linesDeleted: 1,
      srcChurn: 2,
      testChurn: 1,
      testFilesChanged: 1,
      docFilesChanged: 1,
      configFilesChanged: 1,
      otherFilesChanged: 0,
      distinctAuthors: 1,
      authorExperience: 1, // dana's first commit; erin's second is not hers
      isPullRequest: 0,
      isMainBranch: 1,
      commitsOnTouchedFiles: 1, // README.md in the first commit
    },
  };
}

function command() {
  return createChangeSummaryCommand({
    clock: new ManualClock(BUILT_AT),
    eventBridgeClient: () => new EventBridgeClient({ region: 'us-east-1' }),
    sleep: async () => undefined,
  });
}

describe('deploy-guard change-summary', () => {
  it('prints the Deployment Change Summary detail, and lists on stderr the fields git cannot tell', async () => {
    const run = memoryIO();
    expect(await command().run(['--repo', repo.dir, '--from', from, '--to', 'main', '--application', 'payments-api'], run.io)).toBe(0);
    const detail = JSON.parse(run.stdout()) as unknown;
    expect(detail).toEqual(expectedDetail('payments-api'));
    // record-change would accept it, as Deploy Guard's bus delivers it.
    expect(() => parseEmittedEvent('Deployment Change Summary', { version: '0', id: '1', 'detail-type': 'Deployment Change Summary', source: 'deploy-guard', account: '123456789012', time: BUILT_AT, region: 'us-east-1', resources: [], detail })).not.toThrow();
    expect(run.stderr()).toBe('deploy-guard change-summary: authorIsCoreMember left out: git does not know who the core team is\n');
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('is a registered command that names the application after the repository directory by default', async () => {
    const run = memoryIO({ cwd: join(repo.dir, '..') });
    expect(await main(['change-summary', '--repo', 'payments', '--from', from, '--to', to], run.io)).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ application: 'payments', revision: { commitId: to }, change: expectedDetail('payments').change });
  });

  it('with --publish sends it to the bus with PutEvents, with the installation source and the build time', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    const run = memoryIO();
    const argv = ['--repo', repo.dir, '--from', from, '--to', to, '--application', 'payments-api', '--publish', '--event-bus', 'deploy-guard-dev', '--source', 'acme.deploy-guard'];
    expect(await command().run(argv, run.io)).toBe(0);

    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entries = eventBridge.commandCalls(PutEventsCommand)[0].args[0].input.Entries ?? [];
    expect(entries).toHaveLength(1);
    const { Detail, ...envelope } = entries[0];
    expect(envelope).toEqual({ Source: 'acme.deploy-guard', DetailType: 'Deployment Change Summary', EventBusName: 'deploy-guard-dev', Time: new Date(BUILT_AT) });
    expect(JSON.parse(Detail ?? 'null')).toEqual(expectedDetail('payments-api'));
    expect(run.stdout()).toBe(`published Deployment Change Summary of payments-api git:${to} (17 fields) to deploy-guard-dev as acme.deploy-guard\n`);
  });

  it('with --publish fails, naming the entry and the error, when EventBridge refuses it', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not allowed' }] });
    const argv = ['--repo', repo.dir, '--from', from, '--to', to, '--publish', '--event-bus', 'deploy-guard-dev'];
    await expect(command().run(argv, memoryIO().io)).rejects.toThrow('PutEvents refused 1 entry after retries: Deployment Change Summary: AccessDeniedException not allowed');
  });

  it('names the flag and the value when the repository or a revision is wrong, and sends nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'deploy-guard-not-a-repo-'));
    try {
      const notRepo = memoryIO();
      expect(await main(['change-summary', '--repo', empty, '--from', 'a', '--to', 'b'], notRepo.io)).toBe(2);
      expect(notRepo.stderr()).toBe(`deploy-guard change-summary: --repo '${empty}': not a git repository\n`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const unknown = memoryIO();
    expect(await command().run(['--repo', repo.dir, '--from', 'release-0', '--to', to, '--publish', '--event-bus', 'b'], unknown.io)).toBe(2);
    expect(unknown.stderr()).toBe(`deploy-guard change-summary: --from 'release-0': no such commit in ${repo.dir}\n`);
    expect(unknown.stdout()).toBe('');
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('with --publish and no region anywhere, says how to give one; an event bus ARN gives its own', async () => {
    const saved = { ...process.env };
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
    process.env.AWS_CONFIG_FILE = join(repo.dir, 'no-such-aws-config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(repo.dir, 'no-such-aws-credentials');
    const regions: (string | undefined)[] = [];
    const regionless = createChangeSummaryCommand({
      clock: new ManualClock(BUILT_AT),
      eventBridgeClient: (region) => {
        regions.push(region);
        return new EventBridgeClient(region ? { region } : {});
      },
      sleep: async () => undefined,
    });
    try {
      const base = ['--repo', repo.dir, '--from', from, '--to', to, '--publish'];
      await expect(regionless.run([...base, '--event-bus', 'deploy-guard-dev'], memoryIO().io)).rejects.toThrow(
        new UsageError("option '--publish' needs the bus's AWS region: give '--region REGION' (or an event bus ARN), or set AWS_REGION"),
      );
      expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);

      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
      const byArn = memoryIO();
      expect(await regionless.run([...base, '--event-bus', 'arn:aws:events:eu-west-1:123456789012:event-bus/deploy-guard-prod'], byArn.io)).toBe(0);
      const byOption = memoryIO();
      expect(await regionless.run([...base, '--event-bus', 'deploy-guard-dev', '--region', 'us-west-2'], byOption.io)).toBe(0);
      expect(regions).toEqual([undefined, 'eu-west-1', 'us-west-2']);
    } finally {
      process.env = saved;
    }
  });

  describe('a release deployed as something other than its commit joins by the key predict computes from the deployment', () => {
    const APPSPEC = 'version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/payments:42"\n';

    it('an ECS or Lambda deployment: the SHA-256 of the AppSpec content given to CreateDeployment', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-appspec-'));
      writeFileSync(join(dir, 'appspec.yaml'), APPSPEC);
      const run = memoryIO({ cwd: dir });
      expect(await command().run(['--repo', repo.dir, '--from', from, '--to', to, '--appspec', 'appspec.yaml'], run.io)).toBe(0);
      const detail = JSON.parse(run.stdout()) as { revision: Parameters<typeof revisionKey>[0] };
      // What GetDeployment reports for that deployment, read as predict reads it.
      const deployed = revisionOf({ revisionType: 'AppSpecContent', appSpecContent: { content: APPSPEC } })!;
      expect(revisionKey(detail.revision)).toBe(revisionKey(deployed));
      rmSync(dir, { recursive: true, force: true });
    });

    it.each([
      [['--s3', 's3://releases/payments/app.zip', '--s3-version', 'v3'], { bucket: 'releases', key: 'payments/app.zip', bundleType: 'zip' as const, version: 'v3', eTag: 'abc' }],
      [['--s3', 's3://releases/payments/app.zip', '--s3-etag', '"abc"'], { bucket: 'releases', key: 'payments/app.zip', bundleType: 'zip' as const, eTag: 'abc' }],
    ])('an S3 bundle %j: bucket, key and version (or ETag, unquoted)', async (args, s3Location) => {
      const run = memoryIO();
      expect(await command().run(['--repo', repo.dir, '--from', from, '--to', to, ...args], run.io)).toBe(0);
      const detail = JSON.parse(run.stdout()) as { revision: Parameters<typeof revisionKey>[0] };
      expect(revisionKey(detail.revision)).toBe(revisionKey(revisionOf({ revisionType: 'S3', s3Location })!));
    });

    it.each([
      [['--appspec', 'a.yaml', '--s3', 's3://b/k', '--s3-version', 'v'], "options '--appspec' and '--s3' exclude each other"],
      [['--s3', 's3://b/k'], "option '--s3' needs exactly one of '--s3-version V' (a versioned bucket) and '--s3-etag E'"],
      [['--s3', 'b/k', '--s3-etag', 'e'], "--s3: expected s3://BUCKET/KEY, got 'b/k'"],
      [['--s3-version', 'v'], "options '--s3-version' and '--s3-etag' are only used with '--s3'"],
      [['--appspec', 'nowhere.yaml'], '--appspec: no file'],
    ])('refuses %j, naming the option', async (args, message) => {
      const run = memoryIO();
      expect(await main(['change-summary', '--repo', repo.dir, '--from', from, '--to', to, ...args], run.io)).toBe(2);
      expect(run.stderr()).toContain(message);
    });
  });

  it('refuses --publish without a bus, a bus without --publish, and a reserved source', async () => {
    const base = ['change-summary', '--repo', repo.dir, '--from', from, '--to', to];
    const noBus = memoryIO();
    expect(await main([...base, '--publish'], noBus.io)).toBe(2);
    expect(noBus.stderr()).toContain("deploy-guard change-summary: option '--publish' needs '--event-bus NAME'");
    const noPublish = memoryIO();
    expect(await main([...base, '--event-bus', 'b'], noPublish.io)).toBe(2);
    expect(noPublish.stderr()).toContain("option '--event-bus' is only used with '--publish'");
    const reserved = memoryIO();
    expect(await main([...base, '--source', 'aws.codedeploy'], reserved.io)).toBe(2);
    expect(reserved.stderr()).toContain("--source: event source 'aws.codedeploy' must not start with 'aws.'");
    const missing = memoryIO();
    expect(await main(['change-summary', '--repo', repo.dir, '--to', to], missing.io)).toBe(2);
    expect(missing.stderr()).toContain("option '--from' is required");
  });
});
