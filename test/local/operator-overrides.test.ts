import type { BusEvent } from '../../events/bus';
import { createOverrideCommand } from '../../cli/commands/override';
import { createPauseCommand } from '../../cli/commands/pause';
import type { GroupPolicy } from '../../handlers/config';
import { drainBuses, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import type { StandIns } from '../../local/stand-ins';
import { exampleGroupNames } from '../../stacks/config';
import { bootLocalRuntime } from '../support/local-e2e';
import { localOperatorDependencies } from '../support/local-operator';
import { scratchDirs } from '../support/temp-dirs';

/**
 * Override and pause end to end on the local runtime: the real handlers on the synthesized dev
 * stack's wiring (rules, targets, environments), the shipped first model serving, and the real
 * `deploy-guard override` / `pause` commands writing to the same stores and bus, as the operator.
 * The dev example group in stop mode with a fixed cut every deployment reaches: every deployment is
 * a would-be stop.
 */
const tempDir = scratchDirs('operator-overrides');
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
const group = exampleGroupNames('deploy-guard-dev');
const GROUPS: GroupPolicy[] = [{ ...group, platform: 'Server', mode: 'stop', threshold: 0.0001, blockBudget: 0.1, exploration: 0, cutScope: 'group', failurePolicy: 'fail-open' }];

describe('override and pause on the local runtime (real handlers, synthesized wiring)', () => {
  let standIns: StandIns;
  let deadLetters: DeadLetterWithEvent[];
  const busEvents: BusEvent[] = [];

  beforeAll(async () => {
    ({ standIns, deadLetters } = await bootLocalRuntime({ groups: GROUPS, start: START, scratchDir: tempDir() }));
    standIns.buses.custom.onEvent((event) => busEvents.push(event));
  });
  afterAll(() => standIns.close());

  const operator = async (command: 'override' | 'pause', ...args: string[]) => {
    const create = command === 'override' ? createOverrideCommand : createPauseCommand;
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin, cwd: process.cwd() } as never;
    expect(await create(localOperatorDependencies(standIns, OPERATOR)).run(['--environment', 'dev', ...args], io)).toBe(0);
    await drainBuses(standIns.buses);
  };
  /** A deployment of `commit` starts, Deploy Guard acts on it, and unless stopped it ends as `failed` says. */
  const deploy = async (commit: string, failed = false) => {
    const { deploymentId } = standIns.codeDeploy.createDeployment({ ...group, platform: 'Server', revision: { commitId: commit } });
    await drainBuses(standIns.buses);
    standIns.clock.advanceBy(15 * MINUTE);
    standIns.codeDeploy.finish(deploymentId, failed);
    await drainBuses(standIns.buses);
    const item = await standIns.stores.deployments.get(deploymentId);
    const assessed = busEvents.find((event) => event['detail-type'] === 'Deployment Risk Assessed' && (event.detail as { deploymentId: string }).deploymentId === deploymentId);
    return { deploymentId, status: standIns.codeDeploy.deployment(deploymentId)!.status, item, announced: assessed?.detail as Record<string, unknown> | undefined };
  };
  const operatorEvents = () => busEvents.filter((event) => event['detail-type'] === 'Operator Override').map((event) => event.detail as Record<string, unknown>);

  it('a risky deployment is stopped; after `override` its retry of the same revision proceeds, is announced as overridden and labelled as observed', async () => {
    const commit = 'a'.repeat(40);
    const stopped = await deploy(commit);
    expect(stopped.status).toBe('Stopped');
    expect(stopped.item?.assessment).toMatchObject({ decision: 'rollback', enforced: true });
    expect(stopped.item?.outcome?.label).toBe('counterfactual');

    await operator('override', '--deployment', stopped.deploymentId, '--reason', 'INC-42: the fix must ship');
    expect(operatorEvents()).toEqual([expect.objectContaining({ action: 'override', revision: `git:${commit}`, deploymentId: stopped.deploymentId, by: OPERATOR })]);

    const retry = await deploy(commit);
    expect(retry.status).toBe('Succeeded');
    expect(retry.item?.assessment).toMatchObject({ decision: 'rollback', enforced: false, override: { kind: 'override', by: OPERATOR, reason: 'INC-42: the fix must ship' } });
    expect(retry.announced).toMatchObject({ enforced: false, override: { kind: 'override', by: OPERATOR } });
    expect(retry.item?.outcome?.label).toBe('succeeded');
    expect(standIns.codeDeploy.callLog.filter((call) => call.deploymentId === retry.deploymentId)).toEqual([]);

    // Another revision is not overridden.
    expect((await deploy('b'.repeat(40))).status).toBe('Stopped');
    expect(deadLetters).toEqual([]);
  });

  it("a paused group's risky deployment proceeds while the pause lasts (its failure observed), and is stopped again once it has ended", async () => {
    await operator('pause', '--group', `${group.application}/${group.deploymentGroup}`, '--for', '2h', '--reason', 'load test');
    expect(operatorEvents().at(-1)).toMatchObject({ action: 'pause', ...group, by: OPERATOR, reason: 'load test' });

    const during = await deploy('c'.repeat(40), true);
    expect(during.status).toBe('Failed');
    expect(during.item?.assessment).toMatchObject({ decision: 'rollback', enforced: false, override: { kind: 'pause', by: OPERATOR, reason: 'load test' } });
    expect(during.announced).toMatchObject({ override: { kind: 'pause' } });
    expect(during.item?.outcome?.label).toBe('failed');

    standIns.clock.advanceBy(2 * 60 * MINUTE);
    const after = await deploy('d'.repeat(40));
    expect(after.status).toBe('Stopped');
    expect(after.item?.assessment).toMatchObject({ decision: 'rollback', enforced: true });
    expect(after.item?.assessment?.override).toBeUndefined();
    expect(after.item?.outcome?.label).toBe('counterfactual');
    expect(deadLetters).toEqual([]);
  });

  it('`pause --resume` turns enforcement back on before the pause ends', async () => {
    await operator('pause', '--group', `${group.application}/${group.deploymentGroup}`, '--for', '1d', '--reason', 'freeze lifted early?');
    expect((await deploy('e'.repeat(40))).status).toBe('Succeeded');
    await operator('pause', '--group', `${group.application}/${group.deploymentGroup}`, '--resume', '--reason', 'back to normal');
    expect(operatorEvents().at(-1)).toMatchObject({ action: 'resume', reason: 'back to normal' });
    expect((await deploy('f'.repeat(40))).status).toBe('Stopped');
  });
});
