/**
 * When a group may move from shadow mode to stop or gate mode: the stated criteria, judged on what
 * the group's shadow decisions would have done. In shadow mode nothing is stopped, so every would-be
 * stop's outcome is observed and the figures below are exact, not estimates.
 *
 * 1. Enough evidence: at least MINIMUM_ASSESSED assessed deployments and MINIMUM_WOULD_BE_STOPS
 *    would-be stops (fewer, and a precision of 0.5 is as likely 0.3 as 0.7).
 * 2. It holds its budget: the would-be block rate within BUDGET_TOLERANCE of the block budget
 *    (a group far above it would block much more than the team agreed to).
 * 3. Its stops are worth it: the precision of the would-be stops at least MINIMUM_LIFT times the
 *    group's failure rate (stopping at random catches failures at the failure rate), and a positive
 *    net benefit at the configured costs (each failure caught is worth more than the good
 *    deployments stopped with it).
 */

export const MINIMUM_ASSESSED = 200;
export const MINIMUM_WOULD_BE_STOPS = 20;
/** Absolute difference between the would-be block rate and the budget. */
export const BUDGET_TOLERANCE = 0.02;
export const MINIMUM_LIFT = 2;

/** The criteria in one sentence, as reports state them. */
export const GRADUATION_CRITERIA =
  `at least ${MINIMUM_ASSESSED} deployments assessed and ${MINIMUM_WOULD_BE_STOPS} would-be stops, the would-be block rate within ` +
  `${BUDGET_TOLERANCE * 100} pp of the budget, would-be stops failing at least ${MINIMUM_LIFT} times as often as the group's deployments, and a positive net benefit`;

/** A group's shadow decisions and their outcomes. */
export interface ShadowRecord {
  readonly assessed: number;
  readonly failures: number;
  /** Would-be stops. */
  readonly flagged: number;
  /** Would-be stops that failed. */
  readonly flaggedFailures: number;
}

export interface GraduationVerdict {
  readonly meets: boolean;
  /** Each criterion not met, in words; empty when it meets them all. */
  readonly unmet: readonly string[];
  readonly blockRate: number | null;
  readonly precision: number | null;
  /** Precision over the group's failure rate. */
  readonly lift: number | null;
  readonly netBenefit: number;
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/** Whether a group's shadow record meets the criteria above at its block budget and costs. */
export function graduation(record: ShadowRecord, budget: number | null, costs: { readonly failedDeployment: number; readonly needlessRollback: number }): GraduationVerdict {
  const blockRate = record.assessed > 0 ? record.flagged / record.assessed : null;
  const precision = record.flagged > 0 ? record.flaggedFailures / record.flagged : null;
  // precision / failure rate, in whole numbers first (exact when it is a whole ratio).
  const lift = record.flagged > 0 && record.failures > 0 ? (record.flaggedFailures * record.assessed) / (record.flagged * record.failures) : null;
  const netBenefit = costs.failedDeployment * record.flaggedFailures - costs.needlessRollback * (record.flagged - record.flaggedFailures);
  const unmet: string[] = [];
  if (record.assessed < MINIMUM_ASSESSED) unmet.push(`${record.assessed} deployments assessed, fewer than ${MINIMUM_ASSESSED}`);
  if (record.flagged < MINIMUM_WOULD_BE_STOPS) unmet.push(`${record.flagged} would-be stops, fewer than ${MINIMUM_WOULD_BE_STOPS}`);
  if (budget !== null && blockRate !== null && Math.abs(blockRate - budget) > BUDGET_TOLERANCE) {
    unmet.push(`would block ${percent(blockRate)}, more than ${percent(BUDGET_TOLERANCE)} from the ${percent(budget)} budget`);
  }
  if (lift === null || lift < MINIMUM_LIFT) {
    unmet.push(lift === null ? 'no precision to judge yet' : `would-be stops fail ${lift.toFixed(1)}× as often as the group's deployments, less than ${MINIMUM_LIFT}×`);
  }
  if (netBenefit <= 0) unmet.push(`net benefit ${netBenefit} at costs ${costs.failedDeployment}:${costs.needlessRollback} is not positive`);
  return { meets: unmet.length === 0, unmet, blockRate, precision, lift, netBenefit };
}
