import type { PastDeployment } from '../model/history';
import { heldStopLabel, type DeploymentHold } from './hold-domain';
import { QUALITY_DIMENSIONS, QUALITY_METRICS } from './quality-metrics';
import type { AssessmentRecord, BakeRecord, GuardAction, LedgerEntry, MetricValue, OutcomeLabel, OutcomeRecord } from './ports';

/**
 * What record-outcome concludes from a deployment's final state: its label, the history entry it
 * adds to its group, and the model-quality metrics it is worth. Pure: no I/O, no clock; times come
 * from the event.
 */

export type FinalState = OutcomeRecord['state'];

export interface LabelDecision {
  readonly label: OutcomeLabel;
  /** Why, in words, for the log. */
  readonly reason: string;
}

/** The ledger actions by which Deploy Guard rolls a deployment back. */
const ROLLBACK_ACTIONS: ReadonlySet<GuardAction> = new Set(['StopDeployment', 'LifecycleHookFailed']);

/**
 * Deploy Guard's own rollback of the deployment, as its rollback ledger knows it:
 * - `completed`: CodeDeploy accepted the StopDeployment or the Failed hook status, or refused a
 *   repeat of it as already done after the handler's own recorded attempt (`recognisedFrom`: the
 *   first call was applied and its answer lost, so the stop is Deploy Guard's, never a failure);
 * - `in-flight`: the rollback handler claimed the deployment to roll it back and has not recorded
 *   the answer yet (it is between its CodeDeploy call and its ledger write, or crashed there);
 * - undefined: no rollback by Deploy Guard (no entry, a ContinueDeployment, or a refused attempt).
 */
export function guardRollbackOf(entry: LedgerEntry | undefined): { readonly action: GuardAction; readonly status: 'completed' | 'in-flight' } | undefined {
  if (!entry || !ROLLBACK_ACTIONS.has(entry.action)) return undefined;
  if (!entry.outcome) return { action: entry.action, status: 'in-flight' };
  if (entry.outcome.kind === 'completed' && ROLLBACK_ACTIONS.has(entry.outcome.action)) {
    return { action: entry.outcome.action, status: 'completed' };
  }
  return undefined;
}

/** What else record-outcome knows of the deployment: its bake, and its hold for a person, when it had them. */
export interface OutcomeContext {
  readonly bake?: Pick<BakeRecord, 'state' | 'alarmName'>;
  readonly hold?: DeploymentHold;
}

/**
 * The label of a finished deployment.
 *
 * - A deployment its bake rolled back (an alarm of its group in ALARM after its traffic moved): `failed`,
 *   an observed failure whatever CodeDeploy reports (STOP for EC2, FAILURE for a failed hook).
 * - A deployment held for a person and rejected (by the operator or the hold's timeout), not SUCCESS:
 *   `counterfactual`, a stop decided at Deploy Guard's hold (handlers/hold-domain.ts heldStopLabel).
 *
 * - SUCCESS: `succeeded` (it shipped, even if Deploy Guard had asked too late to stop it).
 * - STOP: `counterfactual` when Deploy Guard stopped it (its ledger holds a completed StopDeployment
 *   or LifecycleHookFailed): whether it would have failed is now unknown. A rollback claimed but not
 *   yet recorded counts as Deploy Guard's too: the stop event can overtake the ledger write, and
 *   calling Deploy Guard's own stop a failure would teach the model its own decisions. Otherwise
 *   `failed`: someone else stopped it, and it did not ship.
 * - FAILURE: `failed`, except when Deploy Guard failed the deployment's traffic hook (a completed or
 *   in-flight LifecycleHookFailed): CodeDeploy reports a failed BeforeAllowTraffic hook as FAILURE,
 *   not STOP, so that failure is Deploy Guard's rollback and the label is `counterfactual`.
 */
export function labelOutcome(state: FinalState, ledgerEntry: LedgerEntry | undefined, seen: OutcomeContext = {}): LabelDecision {
  const { bake, hold } = seen;
  const guard = guardRollbackOf(ledgerEntry);
  // A bake rolls back only on an alarm of the group after the traffic moved: the failure was seen, not predicted.
  if (state !== 'SUCCESS' && bake && (bake.state === 'rolled-back' || bake.state === 'rolling-back')) {
    return { label: 'failed', reason: `rolled back during its bake: alarm ${bake.alarmName ?? '?'} went to ALARM after its traffic moved, an observed failure` };
  }
  // Held for a person and rejected (or left to a timeout that rejects): a stop decided at Deploy Guard's hold.
  const heldStop = state === 'SUCCESS' ? undefined : heldStopLabel(hold);
  if (heldStop) return { label: 'counterfactual', reason: heldStop };
  switch (state) {
    case 'SUCCESS':
      return { label: 'succeeded', reason: 'CodeDeploy reported SUCCESS' };
    case 'STOP':
      if (guard) {
        return { label: 'counterfactual', reason: `Deploy Guard stopped it (${guard.action}, ${guard.status}): whether it would have failed is unknown` };
      }
      return { label: 'failed', reason: 'stopped, not by Deploy Guard: it did not ship' };
    case 'FAILURE':
      if (guard?.action === 'LifecycleHookFailed') {
        return { label: 'counterfactual', reason: `Deploy Guard failed its traffic hook (${guard.status}): whether it would have failed is unknown` };
      }
      return { label: 'failed', reason: 'CodeDeploy reported FAILURE' };
  }
}

/**
 * The entry the outcome adds to its group's history: dated by the deployment's start (the
 * assessment's startedAt) when it was assessed, else by the outcome event's time; `failed` absent
 * for a counterfactual label (it counts as a deployment, not in any failure rate); the author from
 * the assessment.
 */
export function historyEntry(label: OutcomeLabel, assessment: AssessmentRecord | undefined, eventTime: number): PastDeployment {
  return {
    time: assessment?.startedAt ?? eventTime,
    ...(label === 'counterfactual' ? {} : { failed: label === 'failed' }),
    ...(assessment?.author === undefined ? {} : { author: assessment.author }),
  };
}

/**
 * The model-quality metrics of one outcome (names in handlers/quality-metrics.ts):
 * - counterfactual: CounterfactualOutcomes 1 (nothing to score: the truth is unknown);
 * - labelled and assessed: LabelledOutcomes 1; TruePositives, FalsePositives, TrueNegatives,
 *   FalseNegatives each 0 or 1, exactly one of them 1 (the assessment's decision, enforced or not
 *   (shadow mode is judged too), against the label: rollback + failed = TP, rollback + succeeded =
 *   FP, proceed + succeeded = TN, proceed + failed = FN); BrierContribution (probability − label)²
 *   when the assessment has a probability (none when the failure policy decided);
 * - labelled but not assessed (not guarded, or the outcome overtook its assessment): none.
 * All four confusion counts are sent, zeros included, so that sums over any period are right.
 */
export function qualityMetricValues(label: OutcomeLabel, assessment: AssessmentRecord | undefined): MetricValue[] {
  if (label === 'counterfactual') return [{ name: QUALITY_METRICS.counterfactuals, unit: 'Count', value: 1 }];
  if (!assessment) return [];
  const failed = label === 'failed';
  const rollback = assessment.decision === 'rollback';
  const values: MetricValue[] = [
    { name: QUALITY_METRICS.labelled, unit: 'Count', value: 1 },
    { name: QUALITY_METRICS.truePositives, unit: 'Count', value: rollback && failed ? 1 : 0 },
    { name: QUALITY_METRICS.falsePositives, unit: 'Count', value: rollback && !failed ? 1 : 0 },
    { name: QUALITY_METRICS.trueNegatives, unit: 'Count', value: !rollback && !failed ? 1 : 0 },
    { name: QUALITY_METRICS.falseNegatives, unit: 'Count', value: !rollback && failed ? 1 : 0 },
  ];
  if (assessment.probability !== null) {
    values.push({ name: QUALITY_METRICS.brierContribution, unit: 'None', value: (assessment.probability - (failed ? 1 : 0)) ** 2 });
    values.push(...stopEstimateValues(failed, assessment));
  }
  return values;
}

/**
 * The inverse-propensity terms of the stop decisions' precision and recall (quality-metrics.ts): only
 * model decisions count (a failure-policy decision has no probability), zeros included.
 */
export function stopEstimateValues(failed: boolean, assessment: Pick<AssessmentRecord, 'decision' | 'explored' | 'propensity'>): MetricValue[] {
  const wouldStop = assessment.decision === 'rollback' || assessment.explored;
  const weight = assessment.explored ? 1 / assessment.propensity : 1;
  return [
    { name: QUALITY_METRICS.estimatedStopsFailed, unit: 'None', value: wouldStop && failed ? weight : 0 },
    { name: QUALITY_METRICS.estimatedStopsSucceeded, unit: 'None', value: wouldStop && !failed ? weight : 0 },
    { name: QUALITY_METRICS.estimatedMissedFailures, unit: 'None', value: !wouldStop && failed ? 1 : 0 },
    { name: QUALITY_METRICS.exploredOutcomes, unit: 'Count', value: assessment.explored ? 1 : 0 },
  ];
}

/** The per-group dimensions of the quality metrics (the EMF adapter adds the pooled set). */
export function qualityDimensions(application: string, deploymentGroup: string): Record<string, string> {
  return { [QUALITY_DIMENSIONS.application]: application, [QUALITY_DIMENSIONS.deploymentGroup]: deploymentGroup };
}
