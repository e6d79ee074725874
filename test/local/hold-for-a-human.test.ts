import type { BusEvent } from '../../events/bus';
import { scheduledEvent } from '../../events/schedule';
import { createHoldDecisionCommand } from '../../cli/commands/hold-decision';
import { createOverrideCommand } from '../../cli/commands/override';
import type { GroupPolicy } from '../../handlers/config';
import type { LocalHandlers } from '../../local/handler-composition';
import { drainBuses, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import { LOCAL_ACCOUNT, type StandIns } from '../../local/stand-ins';
import type { Wiring } from '../../local/terraform-wiring';
import { exampleGroupNames } from '../../stacks/config';
import { bootLocalRuntime, devStack, writeShippedConfig } from '../support/local-e2e';
import { localOperatorDependencies } from '../support/local-operator';
import { scratchDirs } from '../support/temp-dirs';

/**
 * Hold for a human end to end on the local runtime: the real handlers on the wiring of a dev stack
 * whose example group holds (`onRisk: hold`, so the stack has its hold-timeouts schedule into
 * rollback), the stores on dynalite through the real DynamoDB adapters, the shipped first model
 * serving, and the real `deploy-guard approve` / `reject` commands as the operator. A fixed cut every
 * deployment reaches: every deployment is risky, and held.
 */
const tempDir = scratchDirs('hold-for-a-human');
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
const server = exampleGroupNames('deploy-guard-dev');
const ecs = { application: 'payments', deploymentGroup: 'payments-prod' };
const risky = { threshold: 0.0001, blockBudget: 0.1, exploration: 0, cutScope: 'group', failurePolicy: 'fail-open', mode: 'gate', onRisk: 'hold' } as const;
const GROUPS: GroupPolicy[] = [
  { ...server, platform: 'Server', ...risky, holdTimeoutMinutes: 25, onHoldTimeout: 'reject' },
  { ...ecs, platform: 'ECS', ...risky, holdTimeoutMinutes: 30, onHoldTimeout: 'reject' },
];

/** The shipped configuration with the dev example holding instead of stopping. */
function holdingConfig(): string {
  return writeShippedConfig(tempDir(), (config) => {
    Object.assign(config.environments.dev.example!, { onRisk: 'hold', holdTimeoutMinutes: 25 });
  });
}

describe('hold for a human on the local runtime (real handlers, synthesized wiring, real approve / reject)', () => {
  let standIns: StandIns;
  let wiring: Wiring;
  let handlers: LocalHandlers;
  let deadLetters: DeadLetterWithEvent[];
  const busEvents: BusEvent[] = [];

  let configFile: string;

  beforeAll(async () => {
    configFile = holdingConfig();
    ({ wiring } = devStack(configFile));
    ({ standIns, handlers, deadLetters } = await bootLocalRuntime({ wiring, groups: GROUPS, start: START, store: 'dynamodb', scratchDir: tempDir() }));
    standIns.buses.custom.onEvent((event) => busEvents.push(event));
  });
  afterAll(() => standIns.close());

  const operator = async (action: 'approve' | 'reject' | 'override', deploymentId: string, reason: string, ...more: string[]) => {
    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true }, stdin: process.stdin, cwd: process.cwd() } as never;
    const deps = localOperatorDependencies(standIns, OPERATOR);
    const command = action === 'override' ? createOverrideCommand(deps) : createHoldDecisionCommand(action, deps);
    const named = deploymentId.startsWith('d-') ? ['--deployment', deploymentId] : ['--application', server.application, '--revision', deploymentId];
    const code = await command.run(['--environment', 'dev', ...named, '--reason', reason, '--config', configFile, ...more], io);
    await drainBuses(standIns.buses);
    return { code, out: out.join('') };
  };
  /** The stack's hold-timeouts schedule fires now: its Scheduled Event reaches its target, the rollback function. */
  const fireHoldTimeouts = async () => {
    const schedule = wiring.schedules.find((candidate) => candidate.name === 'deploy-guard-dev-hold-timeouts');
    if (!schedule) throw new Error(`the stack has no hold-timeouts schedule; it has ${wiring.schedules.map((candidate) => candidate.name).join(', ')}`);
    expect(schedule.targets.map((target) => target.handler)).toEqual(['rollback']);
    const result = await handlers.rollback(scheduledEvent(schedule, standIns.clock.now(), LOCAL_ACCOUNT, 'us-east-1') as unknown as BusEvent);
    await drainBuses(standIns.buses);
    return result;
  };
  const held = (deploymentId: string) => busEvents.filter((event) => event['detail-type'] === 'Deployment Held' && (event.detail as { deploymentId: string }).deploymentId === deploymentId).map((event) => event.detail as Record<string, unknown>);
  const calls = (deploymentId: string) => standIns.codeDeploy.callLog.filter((call) => call.deploymentId === deploymentId).map((call) => call.api);
  const holdAtReady = async (commit: string) => {
    const { deploymentId } = standIns.codeDeploy.createDeployment({ ...server, platform: 'Server', revision: { commitId: commit } });
    await drainBuses(standIns.buses);
    standIns.clock.advanceBy(5 * MINUTE);
    standIns.codeDeploy.reachReady(deploymentId);
    await drainBuses(standIns.buses);
    return deploymentId;
  };
  const holdInHook = async (commit: string) => {
    const { deploymentId } = standIns.codeDeploy.createDeployment({ ...ecs, platform: 'ECS', revision: { commitId: commit } });
    await drainBuses(standIns.buses);
    standIns.clock.advanceBy(3 * MINUTE);
    const answer = await handlers['traffic-hook']({ DeploymentId: deploymentId, LifecycleEventHookExecutionId: `hook-${deploymentId}` } as unknown as BusEvent);
    await drainBuses(standIns.buses);
    return { deploymentId, answer };
  };
  const finish = async (deploymentId: string, failed = false) => {
    standIns.clock.advanceBy(10 * MINUTE);
    standIns.codeDeploy.finish(deploymentId, failed);
    await drainBuses(standIns.buses);
    return (await standIns.stores.deployments.get(deploymentId))?.outcome?.label;
  };

  it('EC2: a risky deployment waits at READY, held and announced; `approve` continues it (ContinueDeployment), its outcome observed; approving again changes nothing', async () => {
    const deploymentId = await holdAtReady('a'.repeat(40));
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('Ready');
    expect(calls(deploymentId)).toEqual([]);
    expect((await standIns.stores.deployments.get(deploymentId))?.assessment).toMatchObject({ decision: 'rollback', enforced: true, onRisk: 'hold', trigger: 'READY' });
    expect(held(deploymentId)).toEqual([expect.objectContaining({ status: 'held', platform: 'Server', onTimeout: 'reject', since: '2026-12-01T09:05:00Z', until: '2026-12-01T09:30:00Z' })]);
    expect(busEvents.some((event) => event['detail-type'] === 'Deployment Rollback Requested')).toBe(false);

    const approved = await operator('approve', deploymentId, 'INC-7: reviewed the migration');
    expect(approved.code).toBe(0);
    expect(approved.out).toContain(`${deploymentId} of ${server.application}/${server.deploymentGroup} approved by ${OPERATOR}: INC-7: reviewed the migration (ContinueDeployment (READY_WAIT): accepted)`);
    expect(calls(deploymentId)).toEqual(['ContinueDeployment']);
    expect(await standIns.stores.holds.read(deploymentId)).toMatchObject({ settled: { action: 'approve', by: OPERATOR, cause: 'operator', answer: { ok: true } } });
    expect(busEvents.filter((event) => event['detail-type'] === 'Operator Override').at(-1)?.detail).toMatchObject({ action: 'approve', deploymentId, by: OPERATOR, reason: 'INC-7: reviewed the migration' });

    const again = await operator('approve', deploymentId, 'double click');
    expect(again.code).toBe(0);
    expect(again.out).toContain(`was already approved by ${OPERATOR}`);
    const late = await operator('reject', deploymentId, 'changed my mind');
    expect(late.code).toBe(1);
    expect(late.out).toContain('was already approved');
    expect(calls(deploymentId)).toEqual(['ContinueDeployment']);

    expect(await finish(deploymentId, true)).toBe('failed');
    expect(deadLetters).toEqual([]);
  });

  it('EC2: `reject` stops it with auto-rollback (StopDeployment); the stop is labelled counterfactual, decided by a person', async () => {
    const deploymentId = await holdAtReady('b'.repeat(40));
    const rejected = await operator('reject', deploymentId, 'not on a Friday');
    expect(rejected.code).toBe(0);
    expect(calls(deploymentId)).toEqual(['StopDeployment']);
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'StopDeployment' });
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome?.label).toBe('counterfactual');
    expect(deadLetters).toEqual([]);
  });

  it('EC2: `override` of a held deployment releases it at once (ContinueDeployment, as approve), recorded on the hold; its outcome observed', async () => {
    const deploymentId = await holdAtReady('f'.repeat(40));
    const overridden = await operator('override', deploymentId, 'INC-9: the fix itself');
    expect(overridden.code).toBe(0);
    expect(overridden.out).toContain(`held ${deploymentId} of ${server.application}/${server.deploymentGroup} released (ContinueDeployment (READY_WAIT): accepted)`);
    expect(calls(deploymentId)).toEqual(['ContinueDeployment']);
    expect(await standIns.stores.holds.read(deploymentId)).toMatchObject({ settled: { action: 'approve', by: OPERATOR, reason: 'overridden: INC-9: the fix itself', cause: 'operator', answer: { ok: true } } });
    expect(busEvents.filter((event) => event['detail-type'] === 'Operator Override').at(-1)?.detail).toMatchObject({ action: 'override', deploymentId, by: OPERATOR });
    // The hold is settled: a later reject is told who decided, and nothing else is called.
    expect((await operator('reject', deploymentId, 'too late')).out).toContain(`was already approved by ${OPERATOR}`);
    expect(calls(deploymentId)).toEqual(['ContinueDeployment']);
    expect(await finish(deploymentId)).toBe('succeeded');
    expect(deadLetters).toEqual([]);
  });

  it('EC2: `override --application --revision` releases the held deployment of that release, and leaves a held deployment of another release held', async () => {
    const release = 'a1'.repeat(20);
    const other = 'b2'.repeat(20);
    const heldOther = await holdAtReady(other);
    const heldRelease = await holdAtReady(release);
    const overridden = await operator('override', `git:${release}`, 'INC-10: roll forward');
    expect(overridden.code).toBe(0);
    expect(overridden.out).toContain(`held ${heldRelease} of ${server.application}/${server.deploymentGroup} released`);
    expect(overridden.out).not.toContain(heldOther);
    expect(calls(heldRelease)).toEqual(['ContinueDeployment']);
    expect(calls(heldOther)).toEqual([]);
    expect((await standIns.stores.holds.read(heldOther))?.settled).toBeUndefined();
    expect((await operator('reject', heldOther, 'not this one')).code).toBe(0);
    expect(deadLetters).toEqual([]);
  });

  it('ECS: the BeforeAllowTraffic hook records the hold with its execution id and does not answer; `approve` answers it Succeeded', async () => {
    const { deploymentId, answer } = await holdInHook('c'.repeat(40));
    expect(answer).toMatchObject({ status: 'held', deploymentId });
    expect(calls(deploymentId)).toEqual([]);
    expect(standIns.codeDeploy.deployment(deploymentId)?.hookStatus).toBeUndefined();
    expect(await standIns.stores.holds.read(deploymentId)).toMatchObject({ platform: 'ECS', hookExecutionId: `hook-${deploymentId}`, onTimeout: 'reject' });
    expect(held(deploymentId)).toEqual([expect.objectContaining({ status: 'held', platform: 'ECS' })]);

    expect((await operator('approve', deploymentId, 'load-tested in staging')).code).toBe(0);
    expect(calls(deploymentId)).toEqual(['PutLifecycleEventHookExecutionStatus']);
    expect(standIns.codeDeploy.deployment(deploymentId)?.hookStatus).toBe('Succeeded');
    expect(await finish(deploymentId)).toBe('succeeded');
  });

  it("ECS: nobody decides, and the hold's timeout (reject) fails the hook at the next schedule after `until`; counterfactual", async () => {
    const { deploymentId } = await holdInHook('d'.repeat(40));
    standIns.clock.advanceBy(29 * MINUTE);
    expect(await fireHoldTimeouts()).toMatchObject({ status: 'hold-timeouts', timedOut: [] });
    expect(calls(deploymentId)).toEqual([]);

    standIns.clock.advanceBy(1 * MINUTE);
    expect(await fireHoldTimeouts()).toMatchObject({ status: 'hold-timeouts', timedOut: [{ deploymentId, action: 'reject', answer: 'accepted' }] });
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ hookStatus: 'Failed', status: 'Stopped' });
    expect(held(deploymentId).at(-1)).toMatchObject({ status: 'timed-out', settled: { action: 'reject', outcome: 'CodeDeploy accepted it' } });
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome?.label).toBe('counterfactual');

    // The next minute finds it settled and off the open list; an approve after the timeout is told who decided.
    expect(await fireHoldTimeouts()).toMatchObject({ timedOut: [], waiting: 0 });
    const late = await operator('approve', deploymentId, 'too late');
    expect(late.code).toBe(1);
    expect(late.out).toContain("was already rejected by the hold's timeout");
    expect(deadLetters).toEqual([]);
  });

  it("EC2: a group whose timeout approves is continued by the schedule once the hold's time is up; its outcome observed", async () => {
    (GROUPS[0] as { onHoldTimeout: string }).onHoldTimeout = 'approve';
    try {
      const deploymentId = await holdAtReady('e'.repeat(40));
      expect(held(deploymentId)).toEqual([expect.objectContaining({ onTimeout: 'approve' })]);
      standIns.clock.advanceBy(25 * MINUTE);
      expect(await fireHoldTimeouts()).toMatchObject({ timedOut: [{ deploymentId, action: 'approve', answer: 'accepted' }] });
      expect(calls(deploymentId)).toEqual(['ContinueDeployment']);
      expect(await standIns.stores.holds.read(deploymentId)).toMatchObject({ settled: { action: 'approve', cause: 'timeout', answer: { ok: true } } });
      expect(await finish(deploymentId)).toBe('succeeded');
    } finally {
      (GROUPS[0] as { onHoldTimeout: string }).onHoldTimeout = 'reject';
    }
    expect(deadLetters).toEqual([]);
  });
});
