import { ManualClock } from '../../events/clock';
import type { PutEventsEntry } from '../../events/emitted';
import { UsageError } from '../../cli/command';
import { createHoldDecisionCommand } from '../../cli/commands/hold-decision';
import { DynamoDbHoldStore } from '../../handlers/adapters/dynamodb-holds';
import { newHold, type HoldAction } from '../../handlers/hold-domain';
import type { CodeDeployOutcome, CodeDeployPort } from '../../handlers/ports';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';
import { exampleGroupNames } from '../../stacks/config';

/**
 * `deploy-guard approve` and `deploy-guard reject` against the dev environment's control table in
 * dynalite (the real DynamoDB hold store through `--endpoint`); who calls, CodeDeploy, the bus and the
 * clock injected. End to end with the handlers: test/local/hold-for-a-human.test.ts.
 */
const NOW = Date.parse('2026-12-01T09:00:00Z');
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
const example = exampleGroupNames('deploy-guard-dev');

class RecordingCodeDeploy implements CodeDeployPort {
  readonly calls: string[] = [];
  answer: CodeDeployOutcome = { ok: true };
  failWith?: Error;
  async getDeployment(): Promise<never> {
    throw new Error('approve / reject never call GetDeployment');
  }
  private async record(call: string): Promise<CodeDeployOutcome> {
    this.calls.push(call);
    if (this.failWith) throw this.failWith;
    return this.answer;
  }
  stopDeployment(id: string, options: { readonly autoRollbackEnabled: boolean }) {
    return this.record(`StopDeployment ${id} autoRollback=${options.autoRollbackEnabled}`);
  }
  continueDeployment(id: string) {
    return this.record(`ContinueDeployment ${id}`);
  }
  putLifecycleEventHookExecutionStatus(id: string, hook: string, status: string) {
    return this.record(`PutLifecycleEventHookExecutionStatus ${id} ${hook} ${status}`);
  }
}

describe('deploy-guard approve and reject (against dynalite)', () => {
  let local: LocalDynamoDb;
  let holds: DynamoDbHoldStore;
  const saved = { ...process.env };
  const published: PutEventsEntry[] = [];
  const codeDeploy = new RecordingCodeDeploy();
  const deps = {
    identity: () => ({ callerArn: async () => OPERATOR }),
    publisher: () => ({ publish: async (entries: readonly PutEventsEntry[]) => void published.push(...entries) }),
    codeDeploy: () => codeDeploy,
    clock: new ManualClock(NOW),
  };
  const run = async (action: HoldAction, ...args: string[]) => {
    let out = '';
    const io = { stdout: { write: (text: string) => ((out += text), true) }, stderr: { write: () => true }, stdin: process.stdin, cwd: process.cwd() } as never;
    const status = await createHoldDecisionCommand(action, deps).run(['--environment', 'dev', '--endpoint', local.endpoint, ...args], io);
    return { status, stdout: out };
  };
  const hold = (deploymentId: string, platform: 'Server' | 'ECS') =>
    holds.open(newHold({ deploymentId, ...example, platform, reason: 'probability of failure 0.8 reaches the cut 0.6', ...(platform === 'ECS' ? { hookExecutionId: `hook-${deploymentId}` } : {}) }, { timeoutMinutes: 30, onTimeout: 'reject' }, NOW - 60_000));

  beforeAll(async () => {
    local = await startLocalDynamoDb({ prefix: 'deploy-guard-dev' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    holds = new DynamoDbHoldStore(local.client, local.tableNames.control);
  });
  afterAll(async () => {
    process.env = saved;
    await local.close();
  });
  beforeEach(() => {
    codeDeploy.calls.length = 0;
    codeDeploy.answer = { ok: true };
    delete codeDeploy.failWith;
  });

  it('approve of an EC2 hold: ContinueDeployment, the settlement stored (who, when, why, the answer), announced as Operator Override approve, taken off nothing else', async () => {
    await hold('d-SERVER001', 'Server');
    expect(await holds.openIds()).toContain('d-SERVER001');
    const result = await run('approve', '--deployment', 'd-SERVER001', '--reason', 'reviewed');
    expect(result).toEqual({ status: 0, stdout: `deploy-guard-dev: d-SERVER001 of ${example.application}/${example.deploymentGroup} approved by ${OPERATOR}: reviewed (ContinueDeployment (READY_WAIT): accepted)\n` });
    expect(codeDeploy.calls).toEqual(['ContinueDeployment d-SERVER001']);
    expect((await holds.read('d-SERVER001'))?.settled).toEqual({ action: 'approve', by: OPERATOR, reason: 'reviewed', at: NOW, cause: 'operator', answer: { ok: true } });
    expect(JSON.parse(published.at(-1)!.Detail)).toEqual({ schemaVersion: '1', action: 'approve', ...example, deploymentId: 'd-SERVER001', by: OPERATOR, reason: 'reviewed', at: '2026-12-01T09:00:00Z', until: '2026-12-01T09:00:00Z' });
  });

  it('reject of an ECS hold answers its hook Failed with the stored hook execution id', async () => {
    await hold('d-ECS000001', 'ECS');
    expect((await run('reject', '--deployment', 'd-ECS000001', '--reason', 'no')).status).toBe(0);
    expect(codeDeploy.calls).toEqual(['PutLifecycleEventHookExecutionStatus d-ECS000001 hook-d-ECS000001 Failed']);
  });

  it('reject of an EC2 hold stops the deployment with auto-rollback', async () => {
    await hold('d-SERVER002', 'Server');
    expect((await run('reject', '--deployment', 'd-SERVER002', '--reason', 'no')).status).toBe(0);
    expect(codeDeploy.calls).toEqual(['StopDeployment d-SERVER002 autoRollback=true']);
  });

  it('twice: the same decision is told and exits 0, the other exits 1; neither calls CodeDeploy or announces again', async () => {
    const before = published.length;
    expect(await run('approve', '--deployment', 'd-SERVER001', '--reason', 'again')).toEqual({ status: 0, stdout: expect.stringContaining(`was already approved by ${OPERATOR} at 2026-12-01T09:00:00.000Z: reviewed (CodeDeploy accepted it); nothing changed`) });
    expect((await run('reject', '--deployment', 'd-SERVER001', '--reason', 'other')).status).toBe(1);
    expect(codeDeploy.calls).toEqual([]);
    expect(published.length).toBe(before);
  });

  it('a CodeDeploy call that threw is made again by the next approve (the settlement kept, its answer missing)', async () => {
    await hold('d-SERVER003', 'Server');
    codeDeploy.failWith = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await expect(run('approve', '--deployment', 'd-SERVER003', '--reason', 'go')).rejects.toThrow('Rate exceeded');
    expect((await holds.read('d-SERVER003'))?.settled).toMatchObject({ action: 'approve' });
    expect((await holds.read('d-SERVER003'))?.settled?.answer).toBeUndefined();
    delete codeDeploy.failWith;
    expect((await run('approve', '--deployment', 'd-SERVER003', '--reason', 'go')).status).toBe(0);
    expect(codeDeploy.calls).toEqual(['ContinueDeployment d-SERVER003', 'ContinueDeployment d-SERVER003']);
  });

  it('CodeDeploy refusing (the READY wait ended first) is recorded and exits 1', async () => {
    await hold('d-SERVER004', 'Server');
    codeDeploy.answer = { ok: false, refusal: 'DeploymentAlreadyStopped', message: 'The deployment d-SERVER004 is already stopped.' };
    const result = await run('approve', '--deployment', 'd-SERVER004', '--reason', 'late');
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('CodeDeploy refused: DeploymentAlreadyStopped');
  });

  it.each([
    ['a deployment that is not held', ['--deployment', 'd-NOTHELD01', '--reason', 'x'], "--deployment: d-NOTHELD01 is not held in deploy-guard-dev: Deploy Guard holds only risky deployments (and releases at the pipeline gate) of gate groups with onRisk: hold"],
    ['no reason', ['--deployment', 'd-SERVER001'], '--reason: say why (it is recorded and announced with who set it and when)'],
    ['a malformed deployment id', ['--deployment', 'SERVER001', '--reason', 'x'], "--deployment: expected a CodeDeploy deployment id such as d-ABCDEFGHI, got 'SERVER001'"],
    ['a pipeline job that is not held', ['--pipeline-job', '11111111-abcd-1111-abcd-111111abcdef', '--reason', 'x'], '--pipeline-job: pipeline-job:11111111-abcd-1111-abcd-111111abcdef is not held in deploy-guard-dev: Deploy Guard holds only risky deployments (and releases at the pipeline gate) of gate groups with onRisk: hold'],
    ['both a deployment and a pipeline job', ['--deployment', 'd-SERVER001', '--pipeline-job', 'job-1', '--reason', 'x'], '--pipeline-job: name a deployment (--deployment) or a pipeline job (--pipeline-job), not both'],
    ['a malformed pipeline job id', ['--pipeline-job', 'job/1', '--reason', 'x'], "--pipeline-job: expected a CodePipeline job id such as 11111111-abcd-1111-abcd-111111abcdef, got 'job/1'"],
  ])('refuses %s, naming the option, before anything is written or called', async (_, args, message) => {
    await expect(run('approve', ...args)).rejects.toThrow(new UsageError(message));
    expect(codeDeploy.calls).toEqual([]);
  });
});
