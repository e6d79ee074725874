import { ManualClock } from '../../events/clock';
import type { BusEvent } from '../../events/bus';
import type { ComputePlatform, PutEventsEntry } from '../../events/emitted';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryBakeStore, InMemoryDeploymentStore, InMemoryHoldStore, InMemoryOperatorControlStore } from '../../handlers/adapters/in-memory-stores';
import type { FailurePolicy, GroupPolicy } from '../../handlers/config';
import type { AssessmentRecord, CodeDeployPort, MetricsPort } from '../../handlers/ports';
import { assessmentEntries } from '../../handlers/predict-domain';
import { handleRecordOutcomeEvent } from '../../handlers/record-outcome';
import { handleRollbackEvent, type RollbackResult } from '../../handlers/rollback';
import { handleTrafficHook } from '../../handlers/traffic-hook';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { localCodeDeployClient } from '../../local/codedeploy-http';
import { loseAnswers } from '../support/lost-answers';
import { storedAssessment } from './assessment-fixture';

/**
 * Gate mode and the traffic hook under faults, with the real handlers (traffic-hook, rollback,
 * record-outcome) on the local CodeDeploy: an EC2 blue/green deployment waiting at READY, an ECS or
 * Lambda deployment waiting on its BeforeAllowTraffic hook. A CodeDeploy call applied whose answer is
 * lost (below the SDK's retries of a real CodeDeployClient), a function that dies right after its
 * CodeDeploy call, and a hook that finds no assessment in a fail-closed group. Each ends with one
 * accepted action, the events that say so, and the label that follows from it.
 */

const ACCOUNT = '000000000000';
const START = '2026-11-20T09:20:05Z';
const HOOK_EXECUTION = 'a7d3b3b0-2a5d-4d7e-9c52-3f0e6f1c2a9e';
const SOURCE = 'deploy-guard';
const BUS = 'deploy-guard-dev';

interface WorldOptions {
  readonly platform: ComputePlatform;
  readonly mode: 'stop' | 'gate';
  readonly failurePolicy?: FailurePolicy;
  /** The handlers call CodeDeploy through the AWS adapter and a real CodeDeployClient answered by the stand-in. */
  readonly sdk?: boolean;
  /** Wraps the port the handlers see (a dying process). */
  readonly wrap?: (port: CodeDeployPort) => CodeDeployPort;
}

/** One deployment in progress (at READY for gate mode on EC2), its group guarded, the handlers wired on local stand-ins. */
function world(options: WorldOptions) {
  const clock = new ManualClock(START);
  const codeDeployEvents: BusEvent[] = [];
  const codeDeploy = new LocalCodeDeploy({ clock, account: ACCOUNT, region: 'us-east-1', emit: (event) => codeDeployEvents.push(event as BusEvent) });
  const client = options.sdk ? localCodeDeployClient(codeDeploy) : undefined;
  const port = (options.wrap ?? ((inner) => inner))(client ? new AwsCodeDeploy(client) : codeDeploy);
  const { deploymentId } = codeDeploy.createDeployment({ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: options.platform, revision: { commitId: 'abc' } });
  if (options.platform === 'Server' && options.mode === 'gate') codeDeploy.reachReady(deploymentId);
  const policy: GroupPolicy = {
    application: 'myApplication',
    deploymentGroup: 'myDeploymentGroup',
    platform: options.platform,
    mode: options.mode,
    blockBudget: 0.1,
    exploration: 0,
    cutScope: 'installation',
    failurePolicy: options.failurePolicy ?? 'fail-open',
  };
  const deployments = new InMemoryDeploymentStore();
  const ledger = new InMemoryRollbackLedger();
  const published: PutEventsEntry[] = [];
  const publisher = { publish: async (entries: readonly PutEventsEntry[]) => void published.push(...entries) };
  const refusals: string[] = [];
  const metrics: MetricsPort = { put: ({ dimensions }) => void (dimensions.Reason ? refusals.push(dimensions.Reason) : undefined) };
  const rows: string[] = [];
  const rollbackDeps = { codeDeploy: port, ledger, deployments, holds: new InMemoryHoldStore(), publisher, metrics, clock, config: { source: SOURCE, eventBusName: BUS, accountId: ACCOUNT, groups: [policy], metricsNamespace: 'DeployGuard' } };
  let delivered = 0;
  return {
    codeDeploy,
    client,
    deploymentId,
    deployments,
    ledger,
    published,
    clock,
    /** What predict stored and announced for this deployment (its documented example, changed). */
    async predicted(change: Partial<AssessmentRecord>): Promise<void> {
      const record = storedAssessment({ deploymentId, platform: options.platform, mode: options.mode, ...change });
      await deployments.putAssessment(record);
      published.push(...assessmentEntries(record, [], { source: SOURCE, eventBusName: BUS }));
    },
    /** CodeDeploy invokes the BeforeAllowTraffic hook. */
    hook: () =>
      handleTrafficHook(
        { DeploymentId: deploymentId, LifecycleEventHookExecutionId: HOOK_EXECUTION },
        { codeDeploy: port, deployments, operatorControls: new InMemoryOperatorControlStore(), bakes: new InMemoryBakeStore(), holds: new InMemoryHoldStore(), publisher, clock, sleep: async (milliseconds) => clock.advanceBy(milliseconds), config: { source: SOURCE, eventBusName: BUS, groups: [policy], waitMs: 5_000, pollMs: 1_000 } },
      ),
    /** EventBridge delivers to rollback what was published since the last delivery (its rule: rollback requests and assessments). */
    async deliverToRollback(redeliver = false): Promise<RollbackResult[]> {
      const entries = published.slice(redeliver ? 0 : delivered).filter((entry) => ['Deployment Rollback Requested', 'Deployment Risk Assessed'].includes(entry.DetailType));
      delivered = published.length;
      const results: RollbackResult[] = [];
      for (const [index, entry] of entries.entries()) {
        const event = { version: '0', id: `e-${entry.DetailType}-${index}`, 'detail-type': entry.DetailType, source: entry.Source, account: ACCOUNT, time: START, region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) };
        results.push(await handleRollbackEvent(event, rollbackDeps));
      }
      return results;
    },
    /** The deployment runs to its end (unless stopped) and record-outcome labels it from CodeDeploy's final event. */
    async finishAndLabel(failed: boolean): Promise<string | undefined> {
      codeDeploy.finish(deploymentId, failed);
      const final = codeDeployEvents.filter((event) => ['SUCCESS', 'FAILURE', 'STOP'].includes(String(event.detail.state)));
      expect(final).toHaveLength(1);
      await handleRecordOutcomeEvent(final[0], { deployments, ledger, bakes: new InMemoryBakeStore(), holds: new InMemoryHoldStore(), lake: { putRow: async (row) => void rows.push(row.csvLine) }, metrics, config: { metricsNamespace: 'DeployGuard' } });
      return (await deployments.get(deploymentId))?.outcome?.label;
    },
    rows,
    refusals,
    /** The detail-types published, a failure with its reason. */
    announced: () => published.map((entry) => `${entry.DetailType}${entry.DetailType === 'Deployment Rollback Failed' ? ` (${JSON.parse(entry.Detail).reason})` : ''}`),
    accepted: (api: string) => codeDeploy.callLog.filter((call) => call.api === api && call.accepted).length,
  };
}

describe('the traffic hook in a fail-closed group when predict stored no assessment (the bug: rollback refused NoAssessment)', () => {
  it.each(['ECS', 'Lambda'] as const)('%s: the hook stores its fallback, rollback fails the hook once, Completed announced, labelled counterfactual', async (platform) => {
    const w = world({ platform, mode: 'gate', failurePolicy: 'fail-closed' });

    await expect(w.hook()).resolves.toMatchObject({ status: 'rollback-requested' });
    const results = await w.deliverToRollback();

    // The announced fallback assessment is not a gate proceed at READY: rollback ignores it and acts on the request.
    expect(results.map((result) => result.status)).toEqual(['ignored', 'done']);
    expect(results[1]).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'LifecycleHookFailed' }, published: 'Deployment Rollback Completed' });
    expect((await w.deployments.get(w.deploymentId))?.assessment).toMatchObject({ decision: 'rollback', enforced: true, fallback: { policy: 'fail-closed', cause: 'assessment' } });
    expect(w.accepted('PutLifecycleEventHookExecutionStatus')).toBe(1);
    expect(w.codeDeploy.deployment(w.deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'LifecycleHookFailed', hookStatus: 'Failed' });
    expect(w.announced()).toEqual(['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed']);
    expect(w.refusals).toEqual([]);
    await expect(w.finishAndLabel(false)).resolves.toBe('counterfactual');
    // Assessed without a model: nothing to learn from, no training row.
    expect(w.rows).toEqual([]);
  });

  it('fail-open: Succeeded by the hook, nothing stored, the deployment runs on and its outcome is observed', async () => {
    const w = world({ platform: 'ECS', mode: 'gate', failurePolicy: 'fail-open' });
    await expect(w.hook()).resolves.toMatchObject({ status: 'succeeded' });
    expect(await w.deliverToRollback()).toEqual([]);
    expect(w.codeDeploy.deployment(w.deploymentId)).toMatchObject({ status: 'InProgress', hookStatus: 'Succeeded' });
    await expect(w.finishAndLabel(true)).resolves.toBe('failed');
  });
});

type Case = [string, WorldOptions & { readonly decision: 'rollback' | 'proceed'; readonly lose: string }, { readonly action: string; readonly api: string; readonly announced: readonly string[]; readonly status: string; readonly label: string }];

describe('a CodeDeploy call applied whose answer is lost, the SDK retrying it (a real CodeDeployClient on the local CodeDeploy)', () => {
  const cases: Case[] = [
    [
      'stop mode, EC2: StopDeployment',
      { platform: 'Server', mode: 'stop', decision: 'rollback', lose: 'StopDeploymentCommand' },
      { action: 'StopDeployment', api: 'StopDeployment', announced: ['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed'], status: 'Stopped', label: 'counterfactual' },
    ],
    [
      'gate mode, EC2 at READY, rollback: StopDeployment',
      { platform: 'Server', mode: 'gate', decision: 'rollback', lose: 'StopDeploymentCommand' },
      { action: 'StopDeployment', api: 'StopDeployment', announced: ['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed'], status: 'Stopped', label: 'counterfactual' },
    ],
    [
      'gate mode, EC2 at READY, proceed: ContinueDeployment',
      { platform: 'Server', mode: 'gate', decision: 'proceed', lose: 'ContinueDeploymentCommand' },
      { action: 'ContinueDeployment', api: 'ContinueDeployment', announced: ['Deployment Risk Assessed'], status: 'InProgress', label: 'failed' },
    ],
    [
      'gate mode, ECS hook, rollback: PutLifecycleEventHookExecutionStatus Failed',
      { platform: 'ECS', mode: 'gate', decision: 'rollback', lose: 'PutLifecycleEventHookExecutionStatusCommand' },
      { action: 'LifecycleHookFailed', api: 'PutLifecycleEventHookExecutionStatus', announced: ['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed'], status: 'Stopped', label: 'counterfactual' },
    ],
    [
      'gate mode, Lambda hook, rollback: PutLifecycleEventHookExecutionStatus Failed',
      { platform: 'Lambda', mode: 'gate', decision: 'rollback', lose: 'PutLifecycleEventHookExecutionStatusCommand' },
      { action: 'LifecycleHookFailed', api: 'PutLifecycleEventHookExecutionStatus', announced: ['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed'], status: 'Stopped', label: 'counterfactual' },
    ],
  ];

  it.each(cases)('%s: applied once, recorded as done, the right events, the right label', async (_name, options, expected) => {
    const w = world({ ...options, sdk: true });
    const lost = loseAnswers(w.client!, options.lose);
    const trigger = options.mode === 'gate' && options.platform === 'Server' ? 'READY' : 'START';
    await w.predicted({ decision: options.decision, trigger, ...(options.decision === 'proceed' ? { probability: 0.1 } : {}) });

    if (options.platform !== 'Server') await expect(w.hook()).resolves.toMatchObject({ status: 'rollback-requested' });
    const results = await w.deliverToRollback();

    expect(lost.lost()).toBe(1);
    const outcome = { kind: 'completed', action: expected.action };
    expect(results.filter((result) => result.status === 'done')).toEqual([expect.objectContaining({ outcome: expect.objectContaining(outcome) })]);
    expect((await w.ledger.read(w.deploymentId))?.outcome).toMatchObject(outcome);
    expect(w.accepted(expected.api)).toBe(1);
    expect(w.codeDeploy.deployment(w.deploymentId)?.status).toBe(expected.status);
    expect(w.announced()).toEqual(expected.announced);
    await expect(w.finishAndLabel(true)).resolves.toBe(expected.label);
  });

  it.each(['ECS', 'Lambda'] as const)('%s hook, proceed: the Succeeded applied, its answer lost, the retry refused as already completed: the deployment runs on, nothing announced, no rollback', async (platform) => {
    const w = world({ platform, mode: 'gate', sdk: true });
    const lost = loseAnswers(w.client!, 'PutLifecycleEventHookExecutionStatusCommand');
    await w.predicted({ decision: 'proceed', probability: 0.1, trigger: 'START' });

    await expect(w.hook()).resolves.toMatchObject({ status: 'refused', refusal: 'HookExpired' });

    expect(lost.lost()).toBe(1);
    expect(w.accepted('PutLifecycleEventHookExecutionStatus')).toBe(1);
    expect(w.codeDeploy.deployment(w.deploymentId)).toMatchObject({ status: 'InProgress', hookStatus: 'Succeeded' });
    expect(await w.deliverToRollback()).toEqual([expect.objectContaining({ status: 'ignored' })]);
    expect(w.announced()).toEqual(['Deployment Risk Assessed']);
    await expect(w.finishAndLabel(false)).resolves.toBe('succeeded');
  });
});

/** CodeDeploy whose first call of `api` is applied, then the invocation dies before it hears the answer (the call never returns). */
function dyingAfter(api: 'continueDeployment' | 'putLifecycleEventHookExecutionStatus') {
  let die: () => void = () => undefined;
  const died = new Promise<void>((resolve) => (die = resolve));
  let dead = false;
  const wrap = (inner: CodeDeployPort): CodeDeployPort => {
    const port: CodeDeployPort = {
      getDeployment: (id) => inner.getDeployment(id),
      stopDeployment: (id, options) => inner.stopDeployment(id, options),
      continueDeployment: (id) => inner.continueDeployment(id),
      putLifecycleEventHookExecutionStatus: (id, hook, status) => inner.putLifecycleEventHookExecutionStatus(id, hook, status),
    };
    const call = port[api] as (...args: unknown[]) => Promise<unknown>;
    (port as unknown as Record<string, unknown>)[api] = async (...args: unknown[]) => {
      const answer = await call(...args);
      if (dead) return answer;
      dead = true;
      die();
      return new Promise(() => undefined);
    };
    return port;
  };
  return { wrap, died };
}

describe('rollback dying right after its CodeDeploy call in gate mode, then the event delivered again', () => {
  it.each([
    ['EC2 at READY, proceed: ContinueDeployment', 'Server', 'proceed', 'continueDeployment', { action: 'ContinueDeployment', recognisedFrom: 'DeploymentNotReady' }, []],
    ['ECS hook, rollback: hook Failed', 'ECS', 'rollback', 'putLifecycleEventHookExecutionStatus', { action: 'LifecycleHookFailed', recognisedFrom: 'DeploymentAlreadyStopped' }, ['Deployment Rollback Completed']],
  ] as const)('%s: the redelivery finishes as done (no second call), and announces what happened once', async (_name, platform, decision, api, outcome, announcedByRollback) => {
    const dying = dyingAfter(api);
    const w = world({ platform, mode: 'gate', wrap: dying.wrap });
    await w.predicted({ decision, trigger: platform === 'Server' ? 'READY' : 'START', ...(decision === 'proceed' ? { probability: 0.1 } : {}) });
    if (platform !== 'Server') await w.hook();
    const before = w.published.length;
    void w.deliverToRollback();
    await dying.died;

    w.clock.advanceBy(60_000);
    const results = await w.deliverToRollback(true);

    expect(results.filter((result) => result.status === 'done')).toEqual([expect.objectContaining({ outcome: expect.objectContaining({ kind: 'completed', ...outcome }) })]);
    expect(w.codeDeploy.callLog.filter((call) => call.accepted)).toHaveLength(1);
    expect(w.codeDeploy.callLog).toHaveLength(1);
    expect(w.announced().slice(before)).toEqual(announcedByRollback);
  });
});
