import { ManualClock } from '../../events/clock';
import type { PutEventsEntry } from '../../events/emitted';
import { UsageError } from '../../cli/command';
import { createOverrideCommand } from '../../cli/commands/override';
import { createPauseCommand } from '../../cli/commands/pause';
import { DynamoDbOperatorControlStore } from '../../handlers/adapters/dynamodb-operator-controls';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';
import { exampleGroupNames } from '../../stacks/config';
import { storedAssessment } from '../handlers/assessment-fixture';

/**
 * `deploy-guard override` and `deploy-guard pause` against the dev environment's tables in dynalite
 * (the real DynamoDB adapters, the shipped configuration's deploy-guard-dev prefix); who calls, the
 * bus and the clock injected.
 */
const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-01T09:00:00Z');
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
const example = exampleGroupNames('deploy-guard-dev');
const exampleGroup = `${example.application}/${example.deploymentGroup}`;
const COMMIT = 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a';

function memoryIO() {
  let out = '';
  return { io: { stdout: { write: (text: string) => ((out += text), true) }, stderr: { write: () => true }, stdin: process.stdin, cwd: process.cwd() } as never, stdout: () => out };
}

describe('deploy-guard override and pause (against dynalite)', () => {
  let local: LocalDynamoDb;
  let controls: DynamoDbOperatorControlStore;
  const saved = { ...process.env };
  const published: PutEventsEntry[] = [];
  const clock = new ManualClock(NOW);
  const deps = {
    identity: () => ({ callerArn: async () => OPERATOR }),
    publisher: () => ({ publish: async (entries: readonly PutEventsEntry[]) => void published.push(...entries) }),
    clock,
  };
  const run = async (command: 'override' | 'pause', ...args: string[]) => {
    const output = memoryIO();
    const create = command === 'override' ? createOverrideCommand : createPauseCommand;
    const status = await create(deps).run(['--environment', 'dev', '--endpoint', local.endpoint, ...args], output.io);
    return { status, stdout: output.stdout() };
  };
  const lastDetail = () => JSON.parse(published[published.length - 1].Detail);

  beforeAll(async () => {
    local = await startLocalDynamoDb({ prefix: 'deploy-guard-dev' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    controls = new DynamoDbOperatorControlStore(local.client, local.tableNames.control);
    const deployments = new DynamoDbDeploymentStore(local.client, local.tableNames.deployments, local.tableNames.history);
    await deployments.putAssessment(storedAssessment({ deploymentId: 'd-STOPPED01', ...example, mode: 'stop', changeSummary: { status: 'joined', revision: COMMIT } }));
    await deployments.putAssessment(storedAssessment({ deploymentId: 'd-NOREV0001', ...example, mode: 'stop', changeSummary: { status: 'no-revision' } }));
    await deployments.putAssessment(storedAssessment({ deploymentId: 'd-ELSEWHERE', application: 'unguarded', deploymentGroup: 'prod' }));
  });

  afterAll(async () => {
    process.env = saved;
    await local.close();
  });

  beforeEach(() => {
    published.length = 0;
  });

  it('override --deployment: records the release of its assessment (who, when, why, until: 24 h by default) and announces it', async () => {
    const { status, stdout } = await run('override', '--deployment', 'd-STOPPED01', '--reason', 'INC-42: hotfix');
    expect(status).toBe(0);
    expect(stdout).toBe(`deploy-guard-dev: d-STOPPED01 and the retries of ${example.application} ${COMMIT} may proceed until 2026-12-02T09:00:00.000Z (overridden by ${OPERATOR}: INC-42: hotfix)\n`);
    expect(await controls.readOverride(example.application, COMMIT)).toEqual({ application: example.application, revision: COMMIT, deploymentId: 'd-STOPPED01', by: OPERATOR, reason: 'INC-42: hotfix', at: NOW, until: NOW + 24 * HOUR });
    expect(published.map((entry) => [entry.Source, entry.DetailType, entry.EventBusName])).toEqual([['deploy-guard', 'Operator Override', 'deploy-guard-dev']]);
    expect(lastDetail()).toEqual({
      schemaVersion: '1',
      action: 'override',
      application: example.application,
      revision: COMMIT,
      deploymentId: 'd-STOPPED01',
      by: OPERATOR,
      reason: 'INC-42: hotfix',
      at: '2026-12-01T09:00:00Z',
      until: '2026-12-02T09:00:00Z',
    });
  });

  it('override of a deployment without a revision: keyed on the deployment itself', async () => {
    expect((await run('override', '--deployment', 'd-NOREV0001', '--reason', 'manual', '--until', '2h')).status).toBe(0);
    expect(await controls.readOverride(example.application, 'deployment:d-NOREV0001')).toMatchObject({ deploymentId: 'd-NOREV0001', until: NOW + 2 * HOUR });
  });

  it('override --application --revision --until T: records the named release until then', async () => {
    const revision = `appspec:${'a'.repeat(64)}`;
    expect((await run('override', '--application', 'payments', '--revision', revision, '--reason', 'roll forward', '--until', '2026-12-01T18:00Z')).status).toBe(0);
    expect(await controls.readOverride('payments', revision)).toEqual({ application: 'payments', revision, by: OPERATOR, reason: 'roll forward', at: NOW, until: Date.parse('2026-12-01T18:00Z') });
    expect(lastDetail()).not.toHaveProperty('deploymentId');
  });

  it('pause --for, then --resume: the pause is recorded and announced, then lifted with who lifted it, and announced again', async () => {
    const paused = await run('pause', '--group', exampleGroup, '--for', '2h', '--reason', 'load test');
    expect(paused).toEqual({ status: 0, stdout: `deploy-guard-dev: ${exampleGroup} is paused until 2026-12-01T11:00:00.000Z: its deployments proceed, assessed and announced (paused by ${OPERATOR}: load test)\n` });
    expect(await controls.readPause(example.application, example.deploymentGroup)).toEqual({ ...example, by: OPERATOR, reason: 'load test', at: NOW, until: NOW + 2 * HOUR });
    expect(lastDetail()).toMatchObject({ action: 'pause', ...example, until: '2026-12-01T11:00:00Z' });

    clock.advanceBy(30 * 60_000);
    const resumed = await run('pause', '--group', exampleGroup, '--resume', '--reason', 'load test over');
    expect(resumed.status).toBe(0);
    const lifted = NOW + 30 * 60_000;
    expect(await controls.readPause(example.application, example.deploymentGroup)).toEqual({ ...example, by: OPERATOR, reason: 'load test', at: NOW, until: lifted, resumed: { by: OPERATOR, at: lifted, reason: 'load test over' } });
    expect(lastDetail()).toMatchObject({ action: 'resume', ...example, reason: 'load test over', at: '2026-12-01T09:30:00Z', until: '2026-12-01T09:30:00Z' });
  });

  it.each([
    ['override', ['--deployment', 'd-STOPPED01'], '--reason: say why (it is recorded and announced with who set it and when)'],
    ['override', ['--deployment', 'd-STOPPED01', '--reason', '   '], '--reason: say why'],
    ['override', ['--deployment', 'd-MISSING01', '--reason', 'x'], '--deployment: d-MISSING01 has no assessment in deploy-guard-dev'],
    ['override', ['--deployment', 'd-ELSEWHERE', '--reason', 'x'], '--deployment: d-ELSEWHERE belongs to unguarded/prod, whose application is not an application this environment guards'],
    ['override', ['--deployment', 'nonsense', '--reason', 'x'], "--deployment: expected a CodeDeploy deployment id such as d-ABCDEFGHI, got 'nonsense'"],
    ['override', ['--application', 'payments', '--reason', 'x'], '--revision: name a deployment (--deployment), or an application and a revision'],
    ['override', ['--application', 'nobody', '--revision', COMMIT, '--reason', 'x'], "--application: 'nobody' is not an application this environment guards"],
    ['override', ['--application', 'payments', '--revision', 'v1.2', '--reason', 'x'], "--revision: expected a revision key such as git:<commit>"],
    ['override', ['--deployment', 'd-STOPPED01', '--reason', 'x', '--until', '2026-11-30T00:00Z'], '--until: 2026-11-30T00:00:00.000Z is not in the future'],
    ['override', ['--deployment', 'd-STOPPED01', '--reason', 'x', '--until', '30d'], '--until: at most 7 days ahead'],
    ['override', ['--deployment', 'd-STOPPED01', '--reason', 'x', '--until', 'tomorrow'], "--until: expected an ISO time such as 2026-12-01T18:00Z or a duration"],
    ['pause', ['--group', 'payments/other', '--for', '1h', '--reason', 'x'], "--group: 'payments/other' is not guarded in this environment; it guards payments/payments-prod"],
    ['pause', ['--group', exampleGroup, '--reason', 'x'], '--for: say how long the pause lasts'],
    ['pause', ['--group', exampleGroup, '--for', 'forever', '--reason', 'x'], "--for: expected a duration such as 30m, 2h or 1d, got 'forever'"],
    ['pause', ['--group', exampleGroup, '--for', '1h'], '--reason: say why'],
    ['pause', ['--group', 'payments/payments-prod', '--resume', '--reason', 'x'], '--group: payments/payments-prod is not paused (it never was)'],
  ] as const)('%s %j: refused with a usage error naming the input, nothing recorded or announced', async (command, args, message) => {
    const before = await controls.readPause('payments', 'payments-prod');
    await expect(run(command, ...args)).rejects.toThrow(UsageError);
    await expect(run(command, ...args)).rejects.toThrow(message);
    expect(published).toEqual([]);
    expect(await controls.readPause('payments', 'payments-prod')).toEqual(before);
  });

  it('resume of a pause that has already ended: refused, naming when it ended', async () => {
    await controls.putPause({ application: 'payments', deploymentGroup: 'payments-prod', by: OPERATOR, reason: 'old', at: NOW - 3 * HOUR, until: NOW - HOUR });
    await expect(run('pause', '--group', 'payments/payments-prod', '--resume', '--reason', 'x')).rejects.toThrow('--group: payments/payments-prod is not paused (its last pause ended 2026-12-01T08:00:00.000Z)');
  });
});
