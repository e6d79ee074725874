/**
 * The metrics the rollback handler emits (CloudWatch embedded metric format) and the alarms built on
 * them (stacks/monitoring.ts). One definition, imported by both.
 *
 * A claim without an outcome must be noticed even when its event is never delivered again, so the
 * handler dates both halves of a claim at its deadline: when a claim starts waiting for an outcome,
 * ClaimsDue = 1 at openedAt + CLAIM_OUTCOME_DEADLINE_MS (a timestamp in the future, which EMF accepts
 * up to two hours ahead); when the outcome is recorded, ClaimsSettled = 1 at the same instant. The
 * alarm watches ClaimsDue − ClaimsSettled per minute: CloudWatch evaluates the minute of the deadline
 * once it has come, and it holds 1 exactly when a claim has waited that long without an outcome.
 */

/** How long a claim may go without an outcome before the alarm fires. */
export const CLAIM_OUTCOME_DEADLINE_MS = 5 * 60_000;

export const ROLLBACK_METRICS = {
  claimsDue: 'RollbackClaimsDue',
  claimsSettled: 'RollbackClaimsSettled',
  /** A valid event the handler refused: another account, an unguarded or shadow group, no such decision by predict. */
  refused: 'RollbackRequestsRefused',
} as const;

/** The dimension of RollbackRequestsRefused (the EMF adapter also counts it pooled, without dimensions). */
export const ROLLBACK_REFUSAL_DIMENSION = 'Reason';

/**
 * The rollback metrics' namespace: apart from the model-quality namespace, whose alarms the local
 * runtime evaluates through the backtest (these are operational, like the Lambda errors alarms).
 */
export function rollbackMetricsNamespace(metricsNamespace: string): string {
  return `${metricsNamespace}/Rollback`;
}
