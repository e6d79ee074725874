import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import type { ComputePlatform, GuardMode, PutEventsEntry } from '../../events/emitted';
import type { GroupPolicy } from '../../handlers/config';
import type { DeploymentRecord } from '../../model/records';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { commitId, scheduleLifecycles, type LifecycleTimings, type ReplayEntry } from '../../local/lifecycle';
import { Scheduler } from '../../local/scheduler';

/**
 * The replay of a deployment's lifecycle (local/lifecycle.ts): what happens, and when in virtual
 * time, from the CI step's change summary to the deployment's end.
 */

const START = Date.parse('2012-02-07T20:00:00.000Z');
const MINUTE = 60_000;
const TIMINGS: LifecycleTimings = { changeSummaryLeadMs: MINUTE, readyAfterMs: 5 * MINUTE, hookAfterMs: 5 * MINUTE, afterHookAfterMs: 6 * MINUTE, finishAfterMs: 15 * MINUTE, readyWaitMs: 60 * MINUTE };

function record(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { group: 'rails_rails_data', time: new Date(START).toISOString(), failed: false, author: 'dhh', change: { commits: 3, linesAdded: 40 }, extra: {}, source: { file: 'rails.csv', line: 12 }, ...overrides } as DeploymentRecord;
}

function entry(overrides: Partial<DeploymentRecord> = {}, warmUp = false): ReplayEntry {
  return { record: record(overrides), application: 'rails_rails_data', warmUp };
}

/** Replays `entries` with the given platform and mode; answers what happened, in order, at minutes after the first START. */
async function replay(entries: ReplayEntry[], options: { readonly platform?: ComputePlatform; readonly mode?: GuardMode; readonly hookFails?: boolean; readonly timings?: LifecycleTimings; readonly answerBeforeHook?: boolean; readonly bake?: boolean; readonly stopAt?: number } = {}) {
  const clock = new ManualClock(START - TIMINGS.changeSummaryLeadMs);
  const scheduler = new Scheduler();
  const happened: string[] = [];
  const at = () => {
    const minutes = Math.floor((clock.now() - START) / MINUTE);
    const rest = clock.now() - START - minutes * MINUTE;
    return rest === 0 ? `${minutes}m` : `${minutes}m+${rest}ms`;
  };
  const codeDeploy = new LocalCodeDeploy({ clock, account: '000000000000', region: 'us-east-1', emit: (event) => happened.push(`${at()} ${String((event.detail as { state: string }).state)}`) });
  const summaries: PutEventsEntry[] = [];
  const groups: GroupPolicy[] = [{ application: 'rails_rails_data', deploymentGroup: 'production', platform: options.platform ?? 'Server', mode: 'shadow', threshold: 0.2, failurePolicy: 'fail-open', ...(options.bake ? { alarmNames: ['rails-5xx'], bake: { threshold: 0.1, minutes: 30 } } : {}) } as GroupPolicy];
  const warmUpIds = new Set<string>();
  const hookInvocations: BusEvent[] = [];
  const hookFailures: string[] = [];
  scheduleLifecycles(entries, {
    scheduler,
    clock,
    timings: options.timings ?? TIMINGS,
    codeDeploy,
    deploymentGroup: 'production',
    modeOf: () => options.mode ?? 'stop',
    groups,
    changeSummaries: {
      publishNow: (...published) => {
        summaries.push(...published);
        happened.push(`${at()} change summary`);
      },
      source: 'deploy-guard',
      eventBusName: 'deploy-guard-dev',
    },
    trafficHook: async (invocation) => {
      hookInvocations.push(invocation);
      happened.push(`${at()} traffic hook`);
      if (options.hookFails) throw new Error('Task timed out after 60.00 seconds');
      const { DeploymentId, LifecycleEventHookExecutionId } = invocation as unknown as { DeploymentId: string; LifecycleEventHookExecutionId: string };
      if (options.answerBeforeHook && LifecycleEventHookExecutionId.startsWith('hook-')) await codeDeploy.putLifecycleEventHookExecutionStatus(DeploymentId, LifecycleEventHookExecutionId, 'Succeeded');
    },
    onHookFailed: (reason) => hookFailures.push(reason),
    warmUpIds,
    onFinished: (finished) => {
      happened.push(`${at()} finished ${finished.deploymentId}`);
    },
    log: () => undefined,
  });
  for (let action = scheduler.next(); action && action.at <= (options.stopAt ?? Infinity); action = scheduler.next()) {
    clock.advanceTo(action.at);
    await action.run();
  }
  return { happened, summaries, groups, warmUpIds, hookInvocations, hookFailures, codeDeploy };
}

describe('a deployment\'s lifecycle on the virtual clock', () => {
  it('EC2 (Server): change summary a minute ahead, START, READY after 5 minutes, the recorded outcome after 15, then the report', async () => {
    const { happened } = await replay([entry({ failed: true })]);
    expect(happened).toEqual(['-1m change summary', '0m START', '5m READY', '15m FAILURE', '15m+1ms finished d-000000001']);
  });

  it('ECS and Lambda: no READY; the traffic hook is invoked after 5 minutes with the deployment and its hook execution', async () => {
    const { happened, hookInvocations } = await replay([entry()], { platform: 'ECS' });
    expect(happened).toEqual(['-1m change summary', '0m START', '5m traffic hook', '15m SUCCESS', '15m+1ms finished d-000000001']);
    expect(hookInvocations).toEqual([{ DeploymentId: 'd-000000001', LifecycleEventHookExecutionId: 'hook-d-000000001' }]);
  });

  it('ECS and Lambda without a bake tier: the hook is invoked once, as BeforeAllowTraffic', async () => {
    const { hookInvocations } = await replay([entry()], { platform: 'ECS', answerBeforeHook: true });
    expect(hookInvocations).toEqual([{ DeploymentId: 'd-000000001', LifecycleEventHookExecutionId: 'hook-d-000000001' }]);
  });

  it('a baking group: an AfterAllowTraffic hook nobody answers is failed by CodeDeploy after an hour, and the deployment with it', async () => {
    const { happened, codeDeploy } = await replay([entry()], { platform: 'ECS', answerBeforeHook: true, bake: true });
    expect(happened.slice(-2)).toEqual(['15m+1ms finished d-000000001', '66m FAILURE']);
    expect(codeDeploy.deployment('d-000000001')).toMatchObject({ status: 'Failed', hooks: { AfterAllowTraffic: { status: 'Failed' } } });
  });

  it('a baking group (ECS, Lambda): once BeforeAllowTraffic Succeeded the hook is invoked again as AfterAllowTraffic, and the deployment ends only when that hook is answered', async () => {
    const { happened, hookInvocations, codeDeploy } = await replay([entry()], { platform: 'Lambda', answerBeforeHook: true, bake: true, stopAt: START + 20 * MINUTE });
    expect(hookInvocations).toEqual([
      { DeploymentId: 'd-000000001', LifecycleEventHookExecutionId: 'hook-d-000000001' },
      { DeploymentId: 'd-000000001', LifecycleEventHookExecutionId: 'after-hook-d-000000001' },
    ]);
    expect(happened).toEqual(['-1m change summary', '0m START', '5m traffic hook', '6m traffic hook', '15m+1ms finished d-000000001']);
    expect(codeDeploy.deployment('d-000000001')?.status).toBe('InProgress');

    await expect(codeDeploy.putLifecycleEventHookExecutionStatus('d-000000001', 'after-hook-d-000000001', 'Succeeded')).resolves.toEqual({ ok: true });
    expect(codeDeploy.deployment('d-000000001')).toMatchObject({ status: 'Succeeded', hooks: { BeforeAllowTraffic: { status: 'Succeeded' }, AfterAllowTraffic: { status: 'Succeeded' } } });
    expect(happened.at(-1)).toBe('15m+1ms SUCCESS');
    // One status per hook execution.
    await expect(codeDeploy.putLifecycleEventHookExecutionStatus('d-000000001', 'after-hook-d-000000001', 'Failed')).resolves.toMatchObject({ ok: false, refusal: 'HookExpired' });
  });

  it('a traffic hook that throws is reported with its reason, and the deployment still ends', async () => {
    const { happened, hookFailures } = await replay([entry()], { platform: 'Lambda', hookFails: true });
    expect(hookFailures).toEqual(['Task timed out after 60.00 seconds']);
    expect(happened).toContain('15m SUCCESS');
  });

  /** A READY wait that runs out (at 5 + 5 minutes) before the deployment's recorded end (15 minutes). */
  const SHORT_WAIT: LifecycleTimings = { ...TIMINGS, readyWaitMs: 5 * MINUTE };

  it('gate mode: CodeDeploy stops a reported deployment that nobody continued when its READY wait runs out', async () => {
    const { happened } = await replay([entry({ failed: true })], { mode: 'gate', timings: SHORT_WAIT });
    expect(happened).toEqual(['-1m change summary', '0m START', '5m READY', '10m STOP', '15m+1ms finished d-000000001']);
  });

  it('gate mode: no READY time-out for a warm-up deployment (warm-up runs in shadow mode)', async () => {
    const { happened } = await replay([entry({ failed: true }, true)], { mode: 'gate', timings: SHORT_WAIT });
    expect(happened).toContain('15m FAILURE');
    expect(happened.filter((line) => line.includes('STOP'))).toEqual([]);
  });

  it('stop mode: no READY time-out', async () => {
    const { happened } = await replay([entry()], { mode: 'stop', timings: SHORT_WAIT });
    expect(happened).toContain('15m SUCCESS');
  });

  it('publishes the change summary on Deploy Guard\'s bus, with the record\'s change fields, author and a stable commit id', async () => {
    const replayed = entry();
    const { summaries } = await replay([replayed]);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ Source: 'deploy-guard', DetailType: 'Deployment Change Summary', EventBusName: 'deploy-guard-dev' });
    expect(JSON.parse(summaries[0].Detail)).toEqual({
      schemaVersion: '1',
      application: 'rails_rails_data',
      revision: { commitId: commitId(replayed) },
      builtAt: '2012-02-07T19:59:00Z',
      author: 'dhh',
      change: { commits: 3, linesAdded: 40 },
    });
  });

  it('gives each deployment of the history its own commit id, the same on every replay', () => {
    expect(commitId(entry())).toBe(commitId(entry()));
    expect(commitId(entry())).not.toBe(commitId(entry({ source: { file: 'rails.csv', line: 13 } })));
    expect(commitId(entry())).toMatch(/^[0-9a-f]{40}$/);
  });

  it('keeps a group in shadow mode through its warm-up and switches it to the run\'s mode at its first reported deployment', async () => {
    const warmUp = entry({}, true);
    const reported = entry({ time: new Date(START + 60 * MINUTE).toISOString() });
    const { groups, warmUpIds } = await replay([warmUp, reported], { mode: 'stop' });
    expect(groups[0].mode).toBe('stop');
    expect([...warmUpIds]).toEqual([warmUp.deploymentId]);
    expect(reported.deploymentId).toBe('d-000000002');
  });

  it('leaves the group in shadow mode while only warm-up deployments have started', async () => {
    const { groups } = await replay([entry({}, true)], { mode: 'stop' });
    expect(groups[0].mode).toBe('shadow');
  });
});
