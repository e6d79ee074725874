import type { DecisionCosts } from './metrics';
import { graduation, type GraduationVerdict } from './graduation';
import type { GateDecisionEntry, GateSettlement } from '../handlers/pipeline-gate-domain';
import type { AssessmentRecord, DeploymentItem } from '../handlers/ports';

/**
 * What Deploy Guard did in production, per guarded group, from the environment's own assessments and
 * outcomes (`deploy-guard report --environment`), in the terms of the backtest's report so that a team
 * compares the two. Pure.
 *
 * What is observed and what is estimated:
 * - In shadow mode nothing is stopped: every would-be stop's outcome is observed, the figures are exact.
 * - A stop hides its outcome (counterfactual). What the stops caught is estimated from exploration:
 *   the would-be stops let through at random, each weighted by the inverse of its propensity (the
 *   self-normalised inverse-propensity estimate, as record-outcome's live metrics). Without explored
 *   outcomes there is no estimate (null), never a guess.
 * - Deployments let through (not would-be stops) are observed: the failures among them were missed.
 * Deployments whose outcome has not arrived yet are counted as assessed and pending, and left out of
 * every rate that needs an outcome.
 */

/** How far back `deploy-guard report` looks unless told, and what the shadow digest judges graduation on. */
export const REPORT_WINDOW_DAYS = 30;

/** One group's production record. Rates are shares of deployments with an outcome, estimates as said above. */
export interface ProductionGroupReport {
  readonly group: string;
  readonly mode: AssessmentRecord['mode'] | 'mixed';
  readonly block_budget: number | null;
  readonly assessed: number;
  readonly pending: number;
  /** Enforced stops (the deployment was stopped); in shadow mode, would-be stops. */
  readonly stopped: number;
  readonly explored: number;
  readonly fallbacks: number;
  /** Stops (or would-be stops) over assessed: compare with block_budget. */
  readonly blocked_rate: number | null;
  /** Failures among the stops (or would-be stops), estimated; null without an observed would-be stop. */
  readonly caught_failures: number | null;
  /** Failures among deployments that were let through as not risky (observed). */
  readonly missed_failures: number;
  /** Failures among explored would-be stops (observed): what exploration cost. */
  readonly explored_failures: number;
  readonly precision: number | null;
  /** Estimated caught over caught plus missed. */
  readonly caught_rate: number | null;
  readonly net_benefit: number | null;
  readonly net_per_stop: number | null;
  /** `observed` (shadow mode: exact), `exploration` (estimated from this many explored outcomes), or `none`. */
  readonly basis: 'observed' | 'exploration' | 'none';
  /** Would-be stops whose outcome was observed (the estimate's sample). */
  readonly observed_would_be_stops: number;
  /** Shadow-mode groups: whether they meet the stated criteria for stop mode (model/graduation.ts). */
  readonly graduation?: GraduationVerdict;
}

/** One guarded group's identity and costs, as configured. */
export interface ReportedGroup {
  readonly application: string;
  readonly deploymentGroup: string;
  readonly costs: DecisionCosts;
}

/** A would-be stop: decided rollback, or explored (a would-be stop let through). */
export const wouldBeStop = (assessment: AssessmentRecord): boolean => assessment.decision === 'rollback' || assessment.explored;

/** A stop that happened (its outcome is hidden). */
const enforcedStop = (assessment: AssessmentRecord): boolean => assessment.decision === 'rollback' && assessment.enforced;

interface Tally {
  assessed: number;
  pending: number;
  stopped: number;
  explored: number;
  fallbacks: number;
  missedFailures: number;
  exploredFailures: number;
  /** Would-be stops with an outcome (observed or counterfactual). */
  flaggedDecided: number;
  /** Inverse-propensity sums over observed would-be stops: of all, and of the failed ones. */
  weight: number;
  failedWeight: number;
  observedFlagged: number;
  /** Shadow-mode counts for graduation. */
  failures: number;
  decided: number;
  flaggedFailuresObserved: number;
}

function tally(items: readonly DeploymentItem[]): Tally {
  const t: Tally = { assessed: 0, pending: 0, stopped: 0, explored: 0, fallbacks: 0, missedFailures: 0, exploredFailures: 0, flaggedDecided: 0, weight: 0, failedWeight: 0, observedFlagged: 0, failures: 0, decided: 0, flaggedFailuresObserved: 0 };
  for (const { assessment, outcome } of items) {
    if (!assessment) continue;
    t.assessed += 1;
    if (wouldBeStop(assessment) && !assessment.explored) t.stopped += 1;
    if (assessment.explored) t.explored += 1;
    if (assessment.fallback) t.fallbacks += 1;
    if (!outcome) {
      t.pending += 1;
      continue;
    }
    if (wouldBeStop(assessment)) t.flaggedDecided += 1;
    if (outcome.label === 'counterfactual') continue;
    const failed = outcome.label === 'failed';
    t.decided += 1;
    if (failed) t.failures += 1;
    if (!wouldBeStop(assessment)) {
      if (failed) t.missedFailures += 1;
      continue;
    }
    // An observed would-be stop: explored (weight 1/propensity) or a shadow decision (weight 1).
    const weight = assessment.explored ? 1 / assessment.propensity : 1;
    t.observedFlagged += 1;
    t.weight += weight;
    if (failed) {
      t.failedWeight += weight;
      t.flaggedFailuresObserved += 1;
      if (assessment.explored) t.exploredFailures += 1;
    }
  }
  return t;
}

function modeOf(items: readonly DeploymentItem[]): ProductionGroupReport['mode'] {
  const modes = new Set(items.flatMap(({ assessment }) => (assessment ? [assessment.mode] : [])));
  return modes.size === 1 ? [...modes][0]! : 'mixed';
}

/** The group's record from its assessed deployments (any order). */
export function productionGroupReport(group: ReportedGroup, items: readonly DeploymentItem[]): ProductionGroupReport {
  const t = tally(items);
  const mode = modeOf(items);
  const anyEnforcedStop = items.some(({ assessment }) => assessment && enforcedStop(assessment));
  const precision = t.weight > 0 ? t.failedWeight / t.weight : null;
  const caught = precision === null ? null : precision * t.flaggedDecided;
  const caughtRate = caught === null ? null : caught + t.missedFailures > 0 ? caught / (caught + t.missedFailures) : null;
  const { failedDeployment, needlessRollback } = group.costs;
  const net = caught === null ? null : failedDeployment * caught - needlessRollback * (t.flaggedDecided - caught);
  const budgets = new Set(items.flatMap(({ assessment }) => (assessment ? [assessment.blockBudget] : [])));
  return {
    group: `${group.application}/${group.deploymentGroup}`,
    mode,
    block_budget: budgets.size === 1 ? [...budgets][0]! : null,
    assessed: t.assessed,
    pending: t.pending,
    stopped: t.stopped,
    explored: t.explored,
    fallbacks: t.fallbacks,
    blocked_rate: t.assessed > 0 ? t.stopped / t.assessed : null,
    caught_failures: caught,
    missed_failures: t.missedFailures,
    explored_failures: t.exploredFailures,
    precision,
    caught_rate: caughtRate,
    net_benefit: net,
    net_per_stop: net === null || t.flaggedDecided === 0 ? null : net / t.flaggedDecided,
    basis: t.observedFlagged === 0 ? 'none' : anyEnforcedStop ? 'exploration' : 'observed',
    observed_would_be_stops: t.observedFlagged,
    ...(mode === 'shadow'
      ? {
          graduation: graduation(
            { assessed: t.decided, failures: t.failures, flagged: t.observedFlagged, flaggedFailures: t.flaggedFailuresObserved },
            budgets.size === 1 ? [...budgets][0]! : null,
            group.costs,
          ),
        }
      : {}),
  };
}

/**
 * The pipeline gate's decisions beside the deployments. A release the gate failed or held has no
 * deployment, so the assessments above never show it; the gate lists its decisions by group and day
 * (GateDecisionEntry, read as `deploy-guard decisions` reads them). A release the gate passed (or a
 * person approved) and whose deployment started is one release: its deployment's assessment names
 * the gate's job (GateLink), and it is counted there, once.
 *
 * Stops are counted as the block budget counts them: a release the gate failed or held is a stop of
 * its group (how the hold ended is said beside it), a deployment stopped or held by predict is one,
 * and a deployment the gate's pass, an override or shadow mode let through is not. A release the gate
 * kept from running has no outcome: it is in none of the figures that need one (caught, precision,
 * net benefit), never guessed.
 */

/** How the gate's holds ended: a person's approval or rejection, the hold's timeout (which approves or rejects as the group's onHoldTimeout says), or no end recorded yet. */
export interface GateHoldEnds {
  readonly approved: number;
  readonly rejected: number;
  readonly timed_out_approved: number;
  readonly timed_out_rejected: number;
  /** No settlement recorded (the hold still waits for a person or its timeout). */
  readonly waiting: number;
}

/** What the pipeline gate decided in a group (or all groups) over the period, before any deployment of the release existed. */
export interface GateDecisionsReport {
  readonly decided: number;
  readonly passed: number;
  /** Releases stopped before any deployment was created. */
  readonly failed: number;
  readonly held: number;
  readonly holds: GateHoldEnds;
  /** Passed or approved releases whose deployment is among the assessed deployments (its assessment names the job): counted once, as that deployment. */
  readonly deployed: number;
  /** Releases the gate kept from running (failed, or held and rejected): they never ran, so they have no outcome. */
  readonly without_outcome: number;
}

/** What Deploy Guard decided and stopped, deployments and the pipeline gate together, each release once. */
export interface ReleaseTotals {
  /** Assessed deployments plus the gate's decisions that none of them is linked to (deployments + gate.decided − gate.deployed). */
  readonly releases: number;
  /** Assessed deployments (the `assessed` of the deployment figures). */
  readonly deployments: number;
  /** Stops as the block budget counts them, from the deployments and from the pipeline gate. */
  readonly stopped: number;
  readonly stopped_by: {
    /** Deployments predict stopped or held (enforced; not those an override, a pause, the gate's pass or shadow mode let through). */
    readonly deployments: number;
    /** Releases the pipeline gate failed (no deployment was created). */
    readonly gate_failed: number;
    /** Releases the pipeline gate held for a person, however the hold ended (see GateHoldEnds). */
    readonly gate_held: number;
  };
  /** Stopped over releases; null without a release. */
  readonly stopped_rate: number | null;
}

/** A group's (or all groups') gate decisions and totals. */
export interface GateAndReleaseTotals {
  readonly gate: GateDecisionsReport;
  readonly releases: ReleaseTotals;
}

/**
 * The gate decisions of a period beside the assessed deployments of the same period (any order): of
 * one group, or of several together (a job id is one group's; their totals are these of all items).
 */
export function gateAndReleaseTotals(items: readonly DeploymentItem[], decisions: readonly GateDecisionEntry[]): GateAndReleaseTotals {
  const assessments = items.flatMap(({ assessment }) => (assessment ? [assessment] : []));
  const linkedJobs = new Set(assessments.flatMap((assessment) => (assessment.gate ? [assessment.gate.jobId] : [])));
  const holds = decisions.filter((entry) => entry.outcome === 'hold');
  const ended = (action: GateSettlement['action'], cause: GateSettlement['cause']) => holds.filter(({ settled }) => settled?.action === action && settled.cause === cause).length;
  const failed = decisions.filter((entry) => entry.outcome === 'fail').length;
  const holdEnds: GateHoldEnds = {
    approved: ended('approve', 'operator'),
    rejected: ended('reject', 'operator'),
    timed_out_approved: ended('approve', 'timeout'),
    timed_out_rejected: ended('reject', 'timeout'),
    waiting: holds.filter((entry) => !entry.settled).length,
  };
  const gate: GateDecisionsReport = {
    decided: decisions.length,
    passed: decisions.filter((entry) => entry.outcome === 'pass').length,
    failed,
    held: holds.length,
    holds: holdEnds,
    deployed: decisions.filter((entry) => linkedJobs.has(entry.jobId)).length,
    without_outcome: failed + holdEnds.rejected + holdEnds.timed_out_rejected,
  };
  return { gate, releases: releaseTotals(assessments.length, assessments.filter(enforcedStop).length, gate) };
}

function releaseTotals(deployments: number, deploymentsStopped: number, gate: GateDecisionsReport): ReleaseTotals {
  const releases = deployments + gate.decided - gate.deployed;
  const stopped = deploymentsStopped + gate.failed + gate.held;
  return { releases, deployments, stopped, stopped_by: { deployments: deploymentsStopped, gate_failed: gate.failed, gate_held: gate.held }, stopped_rate: releases > 0 ? stopped / releases : null };
}
