import { createHash } from 'node:crypto';
import type { BusEvent } from '../events/bus';
import { eventBridgeTime, type Clock } from '../events/clock';
import { buildEntry, type GuardMode, type PutEventsEntry } from '../events/emitted';
import { HOOK_TIMEOUT_MINUTES, type GroupPolicy } from '../handlers/config';
import { recordTime, type DeploymentRecord } from '../model/records';
import type { LifecycleHookEvent, LocalCodeDeploy } from './codedeploy';
import type { Scheduler } from './scheduler';

/**
 * The replay of one deployment's lifecycle on the virtual clock: the CI step's change summary, the
 * CodeDeploy deployment's START, READY (EC2 blue/green) or the BeforeAllowTraffic and AfterAllowTraffic
 * hooks (ECS, Lambda),
 * and its SUCCESS or FAILURE as the history recorded it.
 */

/** One deployment of the history, as the replay sees it. */
export interface ReplayEntry {
  readonly record: DeploymentRecord;
  /** The CodeDeploy application of its group. */
  readonly application: string;
  /** Part of its group's warm-up: the first model's training data, replayed in shadow mode, not reported. */
  readonly warmUp: boolean;
  /** Set when the deployment starts. */
  deploymentId?: string;
}

/** How long, in virtual time, the steps of a deployment take (backtest.ts TIMINGS). */
export interface LifecycleTimings {
  readonly changeSummaryLeadMs: number;
  readonly readyAfterMs: number;
  readonly hookAfterMs: number;
  /** START to the AfterAllowTraffic hook (the traffic has moved) for ECS / Lambda. */
  readonly afterHookAfterMs: number;
  readonly finishAfterMs: number;
  readonly readyWaitMs: number;
}

export interface LifecycleContext {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly timings: LifecycleTimings;
  readonly codeDeploy: LocalCodeDeploy;
  readonly deploymentGroup: string;
  /**
   * The guarded groups' policies (each group's platform among them): a group's mode is switched to
   * `modeOf` its application when its first reported deployment starts.
   */
  readonly groups: readonly GroupPolicy[];
  /** The mode a group switches to when its warm-up is over. */
  readonly modeOf: (application: string) => GuardMode;
  /** Where the CI step's change summaries go: Deploy Guard's own bus, under its event source. */
  readonly changeSummaries: { readonly publishNow: (...entries: readonly PutEventsEntry[]) => void; readonly source: string; readonly eventBusName: string };
  /** The traffic-hook function, as CodeDeploy invokes it (synchronously, no retries). */
  readonly trafficHook: (invocation: BusEvent) => Promise<unknown>;
  /** A hook invocation that failed: CodeDeploy would time the hook out. */
  readonly onHookFailed: (reason: string) => void;
  /** The deployment ids of the warm-up deployments, filled as they start. */
  readonly warmUpIds: Set<string>;
  /** Called when each deployment has started (created in CodeDeploy), before its START is delivered. */
  readonly onStarted?: (entry: ReplayEntry) => Promise<void> | void;
  /** Called just after each deployment finished. */
  readonly onFinished: (entry: ReplayEntry) => Promise<void> | void;
  readonly log: (line: string) => void;
}

/** Schedules the lifecycle of every entry, in the order given. */
export function scheduleLifecycles(entries: readonly ReplayEntry[], context: LifecycleContext): void {
  const enforcing = new Set<string>();
  for (const entry of entries) scheduleLifecycle(entry, context, enforcing);
}

function scheduleLifecycle(entry: ReplayEntry, context: LifecycleContext, enforcing: Set<string>): void {
  const { scheduler, clock, timings, codeDeploy } = context;
  const start = recordTime(entry.record)!;
  const revision = { commitId: commitId(entry) };
  scheduler.schedule(start - timings.changeSummaryLeadMs, () => {
    const change = Object.fromEntries(Object.entries(entry.record.change).filter(([, value]) => value !== undefined));
    const { publishNow, source, eventBusName } = context.changeSummaries;
    publishNow(
      buildEntry(
        'Deployment Change Summary',
        { schemaVersion: '1', application: entry.application, revision, builtAt: eventBridgeTime(clock.now()), ...(entry.record.author ? { author: entry.record.author } : {}), change },
        { source, eventBusName, time: new Date(clock.now()) },
      ),
    );
  });
  const policy = context.groups.find((group) => group.application === entry.application);
  if (!policy) throw new Error(`the replay has no guarded group for application ${entry.application}`);
  const { platform } = policy;
  const mode = context.modeOf(entry.application);
  scheduler.schedule(start, async () => {
    if (!entry.warmUp && !enforcing.has(entry.application)) {
      enforcing.add(entry.application);
      (policy as { mode: GuardMode }).mode = mode;
      context.log(`${entry.application}: warm-up done, ${mode} mode from ${entry.record.time}`);
    }
    const deployment = codeDeploy.createDeployment({ application: entry.application, deploymentGroup: context.deploymentGroup, platform, revision });
    entry.deploymentId = deployment.deploymentId;
    if (entry.warmUp) context.warmUpIds.add(deployment.deploymentId);
    await context.onStarted?.(entry);
    if (platform === 'Server') {
      scheduler.schedule(start + timings.readyAfterMs, () => codeDeploy.reachReady(deployment.deploymentId));
      if (mode === 'gate' && !entry.warmUp) scheduler.schedule(start + timings.readyAfterMs + timings.readyWaitMs, () => codeDeploy.timeOutAtReady(deployment.deploymentId));
    } else {
      scheduler.schedule(start + timings.hookAfterMs, () => invokeHook(context, deployment.deploymentId, 'BeforeAllowTraffic'));
      if (policy.bake) {
        // A baking group's AppSpec names the function for AfterAllowTraffic too: invoked once the traffic moved
        // (BeforeAllowTraffic Succeeded); CodeDeploy fails the hook if nobody answers it within the hour.
        scheduler.schedule(start + timings.afterHookAfterMs, () => invokeHook(context, deployment.deploymentId, 'AfterAllowTraffic'));
        scheduler.schedule(start + timings.afterHookAfterMs + HOOK_TIMEOUT_MINUTES * 60_000, () => codeDeploy.timeOutHook(deployment.deploymentId, 'AfterAllowTraffic'));
      }
    }
    scheduler.schedule(start + timings.finishAfterMs, () => codeDeploy.finish(deployment.deploymentId, entry.record.failed === true));
    scheduler.schedule(start + timings.finishAfterMs + 1, () => context.onFinished(entry));
  });
}

/** CodeDeploy invokes the hook's function synchronously, without retries, if the deployment reaches that hook. */
async function invokeHook(context: LifecycleContext, deploymentId: string, event: LifecycleHookEvent): Promise<void> {
  const invocation = context.codeDeploy.invokeHook(deploymentId, event);
  if (!invocation) return;
  try {
    await context.trafficHook(invocation as unknown as BusEvent);
  } catch (error) {
    context.onHookFailed(error instanceof Error ? error.message : String(error));
  }
}

/** A stable commit id per replayed deployment (the history's own ids are not in the data). */
export function commitId(entry: Pick<ReplayEntry, 'record'>): string {
  return createHash('sha1').update(`${entry.record.group}\u0000${entry.record.time}\u0000${entry.record.source?.line ?? ''}`).digest('hex');
}
