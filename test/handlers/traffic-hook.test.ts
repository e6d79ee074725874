import {
  CodeDeployClient,
  GetDeploymentCommand,
  LifecycleEventAlreadyCompletedException,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import type { PutEventsEntry } from '../../events/emitted';
import { EventValidationError } from '../../events/validation';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';
import type { EventPublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryBakeStore, InMemoryDeploymentStore, InMemoryHoldStore, InMemoryOperatorControlStore } from '../../handlers/adapters/in-memory-stores';
import type { GroupPolicy } from '../../handlers/config';
import type { AssessmentRecord } from '../../handlers/ports';
import { handleTrafficHook, trafficHookConfigFromEnv, type TrafficHookDependencies } from '../../handlers/traffic-hook';

const codeDeploy = mockClient(CodeDeployClient);
const $metadata = {};
const deploymentId = 'd-123456789';
const hookExecutionId = 'a7d3b3b0-2a5d-4d7e-9c52-3f0e6f1c2a9e';
/** What CodeDeploy passes to a BeforeAllowTraffic hook Lambda. */
const invocation = { DeploymentId: deploymentId, LifecycleEventHookExecutionId: hookExecutionId };
const NOW = '2026-11-20T09:21:00Z';

const policy: GroupPolicy = {
  application: 'myApplication',
  deploymentGroup: 'myDeploymentGroup',
  platform: 'ECS',
  mode: 'gate',
  blockBudget: 0.1,
  exploration: 0.05,
  cutScope: 'installation',
  failurePolicy: 'fail-open',
};

const assessment: AssessmentRecord = {
  deploymentId,
  application: 'myApplication',
  deploymentGroup: 'myDeploymentGroup',
  platform: 'ECS',
  mode: 'gate',
  trigger: 'START',
  probability: 0.8125,
  cut: 0.35,
  blockBudget: 0.1,
  cutSource: 'group',
  decision: 'rollback',
  explored: false,
  propensity: 1,
  enforced: true,
  modelVersion: 'deploy-guard-20261120-0912',
  featureRow: '412,3',
  startedAt: Date.parse('2026-11-20T09:20:00Z'),
  assessedAt: Date.parse('2026-11-20T09:20:05Z'),
};

class RecordingPublisher implements EventPublisher {
  readonly published: PutEventsEntry[] = [];
  async publish(entries: readonly PutEventsEntry[]): Promise<void> {
    this.published.push(...entries);
  }
}

function setup(options: { groups?: GroupPolicy[]; waitMs?: number; onSleep?: (count: number) => Promise<void>; operatorControls?: InMemoryOperatorControlStore; bakes?: InMemoryBakeStore; holds?: InMemoryHoldStore } = {}) {
  const deployments = new InMemoryDeploymentStore();
  const publisher = new RecordingPublisher();
  const sleeps: number[] = [];
  const deps: TrafficHookDependencies = {
    codeDeploy: new AwsCodeDeploy(new CodeDeployClient({ region: 'us-east-1' })),
    deployments,
    operatorControls: options.operatorControls ?? new InMemoryOperatorControlStore(),
    bakes: options.bakes ?? new InMemoryBakeStore(),
    holds: options.holds ?? new InMemoryHoldStore(),
    publisher,
    clock: new ManualClock(NOW),
    sleep: async (milliseconds) => {
      sleeps.push(milliseconds);
      await options.onSleep?.(sleeps.length);
    },
    config: { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', groups: options.groups ?? [policy], waitMs: options.waitMs ?? 5_000, pollMs: 1_000 },
  };
  return { deps, deployments, publisher, sleeps };
}

beforeEach(() => {
  codeDeploy.reset();
  codeDeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({ lifecycleEventHookExecutionId: hookExecutionId });
  codeDeploy.on(GetDeploymentCommand).resolves({
    deploymentInfo: { deploymentId, status: 'InProgress', computePlatform: 'ECS', applicationName: 'myApplication', deploymentGroupName: 'myDeploymentGroup' },
  });
});

describe('traffic-hook: the assessment is there', () => {
  it('risky and enforced: requests the rollback with the hook execution id, and reports no status itself', async () => {
    const { deps, deployments, publisher, sleeps } = setup();
    await deployments.putAssessment(assessment);
    const result = await handleTrafficHook(invocation, deps);

    expect(result).toEqual({ status: 'rollback-requested', deploymentId, reason: 'probability of failure 0.8125 reaches the cut 0.35 (the riskiest 10 % of myApplication/myDeploymentGroup)' });
    expect(sleeps).toEqual([]);
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0].DetailType).toBe('Deployment Rollback Requested');
    expect(JSON.parse(publisher.published[0].Detail)).toEqual({
      schemaVersion: '2',
      deploymentId,
      application: 'myApplication',
      deploymentGroup: 'myDeploymentGroup',
      platform: 'ECS',
      mode: 'gate',
      probability: 0.8125,
      cut: 0.35,
      blockBudget: 0.1,
      modelVersion: 'deploy-guard-20261120-0912',
      reason: 'probability of failure 0.8125 reaches the cut 0.35 (the riskiest 10 % of myApplication/myDeploymentGroup)',
      lifecycleEventHookExecutionId: hookExecutionId,
      requestedAt: '2026-11-20T09:21:00Z',
    });
  });

  it.each([
    ['says proceed', { decision: 'proceed', probability: 0.1 }, 'the assessment of d-123456789 says proceed'],
    ['is in shadow mode (not enforced)', { mode: 'shadow', enforced: false }, 'is not enforced'],
  ] as const)('%s: reports the hook Succeeded itself, publishes nothing', async (_case, change, reason) => {
    const { deps, deployments, publisher } = setup();
    await deployments.putAssessment({ ...assessment, ...change });
    const result = await handleTrafficHook(invocation, deps);
    expect(result).toMatchObject({ status: 'succeeded', deploymentId, reason: expect.stringContaining(reason) });
    expect(codeDeploy).toHaveReceivedCommandTimes(PutLifecycleEventHookExecutionStatusCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
      deploymentId,
      lifecycleEventHookExecutionId: hookExecutionId,
      status: 'Succeeded',
    });
    expect(publisher.published).toEqual([]);
  });

  it('waits for an assessment that arrives during the wait, polling the store without sleeping for real', async () => {
    const holder: { store?: InMemoryDeploymentStore } = {};
    const { deps, deployments, publisher, sleeps } = setup({
      onSleep: async (count) => {
        if (count === 3) await holder.store?.putAssessment(assessment);
      },
    });
    holder.store = deployments;
    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({ status: 'rollback-requested' });
    expect(sleeps).toEqual([1_000, 1_000, 1_000]);
    expect(publisher.published.map((entry) => entry.DetailType)).toEqual(['Deployment Rollback Requested']);
  });

  it('CodeDeploy refusing the status (the hook already completed) is a refused result, not an error', async () => {
    codeDeploy
      .on(PutLifecycleEventHookExecutionStatusCommand)
      .rejects(new LifecycleEventAlreadyCompletedException({ message: 'The lifecycle event is already completed.', $metadata }));
    const { deps, deployments } = setup();
    await deployments.putAssessment({ ...assessment, decision: 'proceed' });
    await expect(handleTrafficHook(invocation, deps)).resolves.toEqual({
      status: 'refused',
      deploymentId,
      refusal: 'HookExpired',
      message: 'The lifecycle event is already completed.',
    });
  });
});

describe('traffic-hook: no assessment within the wait', () => {
  it('fail-open: waits the whole bounded wait, then reports Succeeded', async () => {
    const { deps, publisher, sleeps } = setup({ waitMs: 5_000 });
    const result = await handleTrafficHook(invocation, deps);
    expect(sleeps).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
    expect(result).toEqual({
      status: 'succeeded',
      deploymentId,
      reason: 'no assessment of d-123456789 within 5000 ms; myApplication/myDeploymentGroup is fail-open',
    });
    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId });
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
      deploymentId,
      lifecycleEventHookExecutionId: hookExecutionId,
      status: 'Succeeded',
    });
    expect(publisher.published).toEqual([]);
  });

  it('fail-closed: stores its fallback assessment first, announces it, then requests the rollback with the hook execution id', async () => {
    const { deps, deployments, publisher } = setup({ groups: [{ ...policy, failurePolicy: 'fail-closed' }] });
    const result = await handleTrafficHook(invocation, deps);
    const reason = 'no probability (NoAssessment: no assessment of d-123456789 within 5000 ms) and the group is fail-closed';
    expect(result).toEqual({ status: 'rollback-requested', deploymentId, reason });
    expect(codeDeploy).not.toHaveReceivedCommand(PutLifecycleEventHookExecutionStatusCommand);
    const fallback = { policy: 'fail-closed', cause: 'assessment', reason: 'NoAssessment: no assessment of d-123456789 within 5000 ms' };
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({
      deploymentId,
      platform: 'ECS',
      mode: 'gate',
      probability: null,
      decision: 'rollback',
      enforced: true,
      modelVersion: 'none',
      featureRow: '',
      fallback,
    });
    expect(publisher.published.map((entry) => entry.DetailType)).toEqual(['Deployment Risk Assessed', 'Deployment Rollback Requested']);
    expect(JSON.parse(publisher.published[0].Detail)).toMatchObject({ deploymentId, decision: 'rollback', probability: null, fallback });
    expect(JSON.parse(publisher.published[1].Detail)).toMatchObject({
      deploymentId,
      platform: 'ECS',
      mode: 'gate',
      probability: null,
      modelVersion: 'none',
      reason,
      lifecycleEventHookExecutionId: hookExecutionId,
    });
  });

  it('fail-closed, but predict stored its assessment (proceed) just before the fallback: the stored one decides, Succeeded', async () => {
    const { deps, deployments, publisher } = setup({ groups: [{ ...policy, failurePolicy: 'fail-closed' }] });
    // predict's write lands between the hook's last look and its own write.
    const late = { ...assessment, decision: 'proceed' as const, probability: 0.1 };
    const putAssessment = deployments.putAssessment.bind(deployments);
    deployments.putAssessment = async (record) => {
      await putAssessment(late);
      return putAssessment(record);
    };
    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({ status: 'succeeded', reason: 'the assessment of d-123456789 says proceed' });
    expect((await deployments.get(deploymentId))?.assessment).toEqual(late);
    expect(publisher.published).toEqual([]);
  });

  it('a fail-closed group in shadow mode never blocks: Succeeded', async () => {
    const { deps } = setup({ groups: [{ ...policy, mode: 'shadow', failurePolicy: 'fail-closed' }] });
    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({ status: 'succeeded', reason: expect.stringContaining('in shadow mode') });
  });

  it('a group Deploy Guard does not guard: Succeeded, saying so', async () => {
    const { deps } = setup({ groups: [] });
    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({
      status: 'succeeded',
      reason: expect.stringContaining('its group myApplication/myDeploymentGroup is not guarded by Deploy Guard'),
    });
  });
});

describe('traffic-hook: input', () => {
  it.each([
    ['no execution id', { DeploymentId: deploymentId }, 'LifecycleEventHookExecutionId'],
    ['a deployment id that is not one', { DeploymentId: 'deployment-1', LifecycleEventHookExecutionId: hookExecutionId }, 'DeploymentId: expected a CodeDeploy deployment id'],
    ['an EventBridge event instead', { 'detail-type': 'CodeDeploy Deployment State-change Notification', detail: {} }, 'DeploymentId'],
  ])('%s: EventValidationError, nothing called', async (_case, payload, path) => {
    const { deps, publisher } = setup();
    const failure = handleTrafficHook(payload, deps);
    await expect(failure).rejects.toBeInstanceOf(EventValidationError);
    await expect(failure).rejects.toThrow(`Invalid CodeDeploy lifecycle hook invocation event: `);
    await expect(failure).rejects.toThrow(path);
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(publisher.published).toEqual([]);
  });

  it('reads the wait from DEPLOY_GUARD_TRAFFIC_HOOK_WAIT_MS (default 60 s), naming a bad value', () => {
    const env = { DEPLOY_GUARD_EVENT_BUS: 'deploy-guard-dev', DEPLOY_GUARD_GROUPS: JSON.stringify([policy]) };
    expect(trafficHookConfigFromEnv(env).waitMs).toBe(60_000);
    expect(trafficHookConfigFromEnv({ ...env, DEPLOY_GUARD_TRAFFIC_HOOK_WAIT_MS: '15000' }).waitMs).toBe(15_000);
    expect(() => trafficHookConfigFromEnv({ ...env, DEPLOY_GUARD_TRAFFIC_HOOK_WAIT_MS: 'soon' })).toThrow(
      "DEPLOY_GUARD_TRAFFIC_HOOK_WAIT_MS is 'soon': set it to a whole number of milliseconds (0 or more)",
    );
  });
});

describe("traffic-hook: an operator let the held deployment through after predict assessed it", () => {
  const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/bob';
  const REVISION = `appspec:${'c'.repeat(64)}`;
  const grant = { by: OPERATOR, reason: 'INC-7: roll forward', at: Date.parse('2026-11-20T09:20:30Z'), until: Date.parse('2026-11-20T10:20:30Z') };
  const held = { ...assessment, changeSummary: { status: 'joined' as const, revision: REVISION } };

  it.each([
    ['an override of its revision', async (store: InMemoryOperatorControlStore) => store.putOverride({ application: 'myApplication', revision: REVISION, ...grant }), 'overridden by'],
    ['an override of the deployment itself', async (store: InMemoryOperatorControlStore) => store.putOverride({ application: 'myApplication', revision: `deployment:${deploymentId}`, deploymentId, ...grant }), 'overridden by'],
    ['a pause of its group', async (store: InMemoryOperatorControlStore) => store.putPause({ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', ...grant }), 'group paused by'],
  ])('%s: reports the hook Succeeded, requests no rollback, and says who let it through', async (_case, set, words) => {
    const operatorControls = new InMemoryOperatorControlStore();
    await set(operatorControls);
    const { deps, deployments, publisher } = setup({ operatorControls });
    await deployments.putAssessment(held);
    const result = await handleTrafficHook(invocation, deps);
    expect(result).toEqual({ status: 'succeeded', deploymentId, reason: `the assessment of ${deploymentId} says rollback, but it is ${words} ${OPERATOR} until 2026-11-20T10:20:30.000Z: INC-7: roll forward` });
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, { deploymentId, lifecycleEventHookExecutionId: hookExecutionId, status: 'Succeeded' });
    expect(publisher.published).toEqual([]);
  });

  it('an override that ended before the hook ran: the rollback is requested as usual', async () => {
    const operatorControls = new InMemoryOperatorControlStore();
    await operatorControls.putOverride({ application: 'myApplication', revision: REVISION, ...grant, until: Date.parse(NOW) });
    const { deps, deployments, publisher } = setup({ operatorControls });
    await deployments.putAssessment(held);
    expect(await handleTrafficHook(invocation, deps)).toMatchObject({ status: 'rollback-requested' });
    expect(publisher.published.map((entry) => entry.DetailType)).toEqual(['Deployment Rollback Requested']);
  });
});

describe('traffic-hook: a deployment in the bake tier (ECS / Lambda)', () => {
  const ALARM = 'deploy-guard-dev-myApplication-myDeploymentGroup-alarm-0';
  const baking: GroupPolicy = { ...policy, alarmNames: [ALARM], bake: { threshold: 0.2, minutes: 30 } };
  const bakeTier: AssessmentRecord = { ...assessment, decision: 'proceed', probability: 0.3, tier: 'bake', bake: { cut: 0.2, minutes: 30 } };
  const afterInvocation = { DeploymentId: deploymentId, LifecycleEventHookExecutionId: 'b81e4c1d-0f4e-4c38-9a1b-5d2e7f3a6c10' };

  it('answers BeforeAllowTraffic Succeeded; AfterAllowTraffic starts the window and is left for the bake handler to answer', async () => {
    const bakes = new InMemoryBakeStore();
    const { deps, deployments, publisher } = setup({ groups: [baking], bakes });
    await deployments.putAssessment(bakeTier);

    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({ status: 'succeeded' });
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, { deploymentId, lifecycleEventHookExecutionId: hookExecutionId, status: 'Succeeded' });

    codeDeploy.resetHistory();
    const after = await handleTrafficHook(afterInvocation, deps);
    const endsAt = Date.parse(NOW) + 30 * 60_000;
    expect(after).toEqual({ status: 'baking', deploymentId, hookExecutionId: afterInvocation.LifecycleEventHookExecutionId, endsAt });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(publisher.published).toEqual([]);
    expect((await bakes.readBook())?.book.open).toEqual([
      expect.objectContaining({ deploymentId, state: 'baking', alarmNames: [ALARM], firstHookExecutionId: hookExecutionId, hookExecutionId: afterInvocation.LifecycleEventHookExecutionId, endsAt }),
    ]);

    // CodeDeploy invoking the same AfterAllowTraffic execution again changes nothing and answers nothing.
    await expect(handleTrafficHook(afterInvocation, deps)).resolves.toMatchObject({ status: 'baking', endsAt });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
  });

  it('a deployment below the bake cut is not baked: its second hook is answered Succeeded at once', async () => {
    const bakes = new InMemoryBakeStore();
    const { deps, deployments } = setup({ groups: [baking], bakes });
    await deployments.putAssessment({ ...bakeTier, probability: 0.1, tier: 'none' });
    await handleTrafficHook(invocation, deps);
    await expect(handleTrafficHook(afterInvocation, deps)).resolves.toMatchObject({ status: 'succeeded' });
    expect(codeDeploy).toHaveReceivedCommandTimes(PutLifecycleEventHookExecutionStatusCommand, 2);
    expect(await bakes.readBook()).toBeUndefined();
  });

  it('a bake that is closed already is not opened again by a late hook', async () => {
    const bakes = new InMemoryBakeStore();
    await bakes.keepClosed({ deploymentId, application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'ECS', mode: 'gate', alarmNames: [ALARM], minutes: 30, openedAt: 0, endsAt: null, state: 'rolled-back', alarmName: ALARM, closedAt: 1 });
    const { deps, deployments } = setup({ groups: [baking], bakes });
    await deployments.putAssessment(bakeTier);
    await expect(handleTrafficHook(afterInvocation, deps)).resolves.toMatchObject({ status: 'succeeded' });
    expect(await bakes.readBook()).toBeUndefined();
  });
});

describe('traffic-hook: a group that holds risky deployments for a person, with a bake tier', () => {
  const ALARM = 'deploy-guard-dev-myApplication-myDeploymentGroup-alarm-0';
  const holding: GroupPolicy = { ...policy, onRisk: 'hold', holdTimeoutMinutes: 30, alarmNames: [ALARM], bake: { threshold: 0.2, minutes: 30 } };
  const risky: AssessmentRecord = { ...assessment, onRisk: 'hold', tier: 'stop', bake: { cut: 0.2, minutes: 30 } };
  const afterInvocation = { DeploymentId: deploymentId, LifecycleEventHookExecutionId: 'b81e4c1d-0f4e-4c38-9a1b-5d2e7f3a6c10' };

  it('leaves BeforeAllowTraffic unanswered and records the hold, opens no bake; once approved, its AfterAllowTraffic is answered Succeeded', async () => {
    const holds = new InMemoryHoldStore();
    const bakes = new InMemoryBakeStore();
    const { deps, deployments, publisher } = setup({ groups: [holding], holds, bakes });
    await deployments.putAssessment(risky);

    const before = await handleTrafficHook(invocation, deps);
    expect(before).toMatchObject({ status: 'held', deploymentId, until: Date.parse(NOW) + 30 * 60_000 });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(publisher.published.map((entry) => entry.DetailType)).toEqual(['Deployment Held']);
    expect(await holds.read(deploymentId)).toMatchObject({ deploymentId, hookExecutionId, onTimeout: 'reject' });
    expect(await bakes.readBook()).toBeUndefined();

    // A retry of the same invocation finds the hold: nothing answered, the same announcement (same detail and time).
    await expect(handleTrafficHook(invocation, deps)).resolves.toMatchObject({ status: 'held' });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(publisher.published).toEqual([publisher.published[0], publisher.published[0]]);

    // A person approves (deploy-guard approve answers the BeforeAllowTraffic hook); traffic moves and CodeDeploy runs AfterAllowTraffic.
    await holds.settle(deploymentId, { action: 'approve', by: 'arn:aws:sts::123456789012:assumed-role/operator/alice', reason: 'reviewed', at: Date.parse(NOW), cause: 'operator' });
    const after = await handleTrafficHook(afterInvocation, deps);
    expect(after).toMatchObject({ status: 'succeeded', deploymentId });
    expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, { deploymentId, lifecycleEventHookExecutionId: afterInvocation.LifecycleEventHookExecutionId, status: 'Succeeded' });
    expect(publisher.published).toHaveLength(2);
    expect(await bakes.readBook()).toBeUndefined();
  });
});
