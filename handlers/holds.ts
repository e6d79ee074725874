import type { Clock } from '../events/clock';
import type { PutEventsEntry } from '../events/emitted';
import type { EventPublisher } from './adapters/event-publisher';
import { heldEntry, isExpired, settleVerdict, settlementCall, timeoutSettlement, type DeploymentHold, type HoldAction, type HoldSettlement } from './hold-domain';
import type { CodeDeployOutcome, CodeDeployPort, HoldStore } from './ports';

/**
 * Settling a hold, shared by `deploy-guard approve` / `reject` (with the operator's credentials) and
 * the hold timeouts (the rollback function, on its one-minute schedule): the settlement is written
 * once, first writer wins, then CodeDeploy is called and its answer recorded. A second settlement
 * calls nothing; one whose call never got an answer (it threw, or the process ended) calls again.
 */

export type SettleResult =
  | { readonly status: 'settled'; readonly hold: DeploymentHold; readonly settled: HoldSettlement; readonly api: string; readonly answer: CodeDeployOutcome }
  | { readonly status: 'already'; readonly hold: DeploymentHold; readonly settled: HoldSettlement }
  | { readonly status: 'conflict'; readonly hold: DeploymentHold; readonly settled: HoldSettlement };

export async function settleHold(
  hold: DeploymentHold,
  settlement: HoldSettlement,
  /** codeDeploy: for the holds of deployments (the pipeline gate's holds call nothing). */
  deps: { readonly holds: HoldStore; readonly codeDeploy?: CodeDeployPort },
): Promise<SettleResult> {
  let current = hold;
  let verdict = settleVerdict(current, settlement.action);
  if (verdict.kind === 'act') {
    const written = await deps.holds.settle(hold.deploymentId, settlement);
    current = written.hold;
    verdict = written.won ? { kind: 'act' } : settleVerdict(current, settlement.action);
  }
  if (verdict.kind === 'already' || verdict.kind === 'conflict') return { status: verdict.kind, hold: current, settled: verdict.settled };
  const settled = verdict.kind === 'retry' ? verdict.settled : settlement;
  const { api, call } = settlementCall(current, settled.action);
  if (!current.pipelineJobId && !deps.codeDeploy) throw new Error(`settling the hold of ${current.deploymentId} needs CodeDeploy: it holds a deployment`);
  const answer = await call(deps.codeDeploy as CodeDeployPort);
  await deps.holds.recordAnswer(hold.deploymentId, answer);
  return { status: 'settled', hold: { ...current, settled: { ...settled, answer } }, settled: { ...settled, answer }, api, answer };
}

export interface HoldTimeoutDependencies {
  readonly holds: HoldStore;
  readonly codeDeploy: CodeDeployPort;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
}

export interface HoldTimeoutsResult {
  /** Holds whose timeout settled them now, with the action. */
  readonly timedOut: readonly { readonly deploymentId: string; readonly action: HoldAction; readonly answer: string }[];
  /** Holds taken off the open list: settled before (by a person, or an earlier run). */
  readonly closed: readonly string[];
  /** Holds still waiting. */
  readonly waiting: number;
}

/**
 * One run of the hold timeouts: every open hold past its `until` is settled as its group's
 * onHoldTimeout says and announced (Deployment Held, `timed-out`); holds settled already are taken
 * off the open list. Idempotent: a run that repeats (a redelivered Scheduled Event) finds them settled.
 */
export async function settleExpiredHolds(deps: HoldTimeoutDependencies, context: { readonly source: string; readonly eventBusName: string }): Promise<HoldTimeoutsResult> {
  const now = deps.clock.now();
  const timedOut: { deploymentId: string; action: HoldAction; answer: string }[] = [];
  const closed: string[] = [];
  let waiting = 0;
  for (const deploymentId of await deps.holds.openIds()) {
    const hold = await deps.holds.read(deploymentId);
    if (hold && !hold.settled && !isExpired(hold, now)) {
      waiting += 1;
      continue;
    }
    if (hold && isExpired(hold, now)) {
      const result = await settleHold(hold, timeoutSettlement(hold, now), deps);
      if (result.status === 'settled') {
        // A pipeline hold is announced by the gate when CodePipeline invokes the action again (Pipeline Gate Decided, settled).
        const entries: PutEventsEntry[] = result.hold.pipelineJobId ? [] : [heldEntry(result.hold, context)];
        if (entries.length > 0) await deps.publisher.publish(entries);
        timedOut.push({ deploymentId, action: result.settled.action, answer: result.answer.ok ? 'accepted' : result.answer.refusal });
      }
    }
    await deps.holds.closeListing(deploymentId);
    closed.push(deploymentId);
  }
  return { timedOut, closed, waiting };
}
