import type { GateDecisionEntry, GateSettlement } from '../../handlers/pipeline-gate-domain';
import type { AssessmentRecord, DeploymentItem, OutcomeLabel } from '../../handlers/ports';
import { gateAndReleaseTotals, productionGroupReport } from '../../model/production-report';
import { storedAssessment } from '../handlers/assessment-fixture';

/**
 * `deploy-guard report --environment`: a group's production record in the backtest's terms. Where
 * Deploy Guard stopped deployments their outcomes are hidden, and what the stops caught is estimated
 * from the explored would-be stops; in shadow mode everything is observed.
 */
const group = { application: 'checkout', deploymentGroup: 'checkout-prod', costs: { failedDeployment: 3, needlessRollback: 1 } };
let sequence = 0;

function deployment(change: Partial<AssessmentRecord>, label: OutcomeLabel | 'pending'): DeploymentItem {
  sequence += 1;
  const deploymentId = `d-${String(sequence).padStart(9, '0')}`;
  const assessment = storedAssessment({ deploymentId, application: group.application, deploymentGroup: group.deploymentGroup, blockBudget: 0.1, ...change });
  const state = label === 'succeeded' ? 'SUCCESS' : label === 'failed' ? 'FAILURE' : 'STOP';
  return {
    deploymentId,
    assessment,
    ...(label === 'pending' ? {} : { outcome: { deploymentId, application: group.application, deploymentGroup: group.deploymentGroup, state, label, finishedAt: assessment.startedAt + 600_000 } }),
    trainingRowWritten: label !== 'pending',
  } as DeploymentItem;
}

const times = <T>(count: number, make: () => T): T[] => Array.from({ length: count }, make);

describe('a group in stop mode with exploration (20 % of would-be stops let through)', () => {
  const stop = { mode: 'stop' as const, decision: 'rollback' as const, enforced: true, explored: false, propensity: 0.8 };
  const explored = { mode: 'stop' as const, decision: 'proceed' as const, enforced: true, explored: true, propensity: 0.2 };
  const proceed = { mode: 'stop' as const, decision: 'proceed' as const, enforced: true, explored: false, propensity: 1 };
  const items = [
    ...times(80, () => deployment(stop, 'counterfactual')),
    ...times(10, () => deployment(explored, 'failed')),
    ...times(10, () => deployment(explored, 'succeeded')),
    ...times(50, () => deployment(proceed, 'failed')),
    ...times(845, () => deployment(proceed, 'succeeded')),
    ...times(5, () => deployment(proceed, 'pending')),
  ];
  const report = productionGroupReport(group, items);

  it('counts what it did: assessed, pending, stopped (the realized block rate against the budget), explored', () => {
    expect(report).toMatchObject({ group: 'checkout/checkout-prod', mode: 'stop', block_budget: 0.1, assessed: 1000, pending: 5, stopped: 80, explored: 20, blocked_rate: 0.08 });
  });

  it('estimates what the stops caught from the explored would-be stops (inverse-propensity weighted), and says so', () => {
    expect(report.precision).toBeCloseTo(0.5, 12);
    // Half of the 100 would-be stops would have failed; the 50 failures let through as not risky were missed.
    expect(report.caught_failures).toBeCloseTo(50, 9);
    expect(report.missed_failures).toBe(50);
    expect(report.caught_rate).toBeCloseTo(0.5, 12);
    expect(report.net_benefit).toBeCloseTo(3 * 50 - 1 * 50, 9);
    expect(report.net_per_stop).toBeCloseTo(1, 12);
    expect(report).toMatchObject({ basis: 'exploration', observed_would_be_stops: 20, explored_failures: 10 });
    expect(report.graduation).toBeUndefined();
  });

  it('weights each explored outcome by its own propensity: a rarer exploration counts for more would-be stops', () => {
    const mixed = productionGroupReport(group, [
      deployment({ ...explored, propensity: 0.1 }, 'failed'), // stands for 10 would-be stops
      deployment({ ...explored, propensity: 0.5 }, 'succeeded'), // stands for 2
    ]);
    expect(mixed.precision).toBeCloseTo(10 / 12, 12);
  });

  it('without an explored outcome there is no estimate, never a guess', () => {
    const blind = productionGroupReport(group, [deployment(stop, 'counterfactual'), deployment(proceed, 'failed'), deployment(explored, 'pending')]);
    expect(blind).toMatchObject({ basis: 'none', precision: null, caught_failures: null, caught_rate: null, net_benefit: null, net_per_stop: null, missed_failures: 1, pending: 1 });
  });
});

describe('a group in shadow mode: every outcome is observed, and it is judged against the criteria for stop mode', () => {
  const wouldStop = { mode: 'shadow' as const, decision: 'rollback' as const, enforced: false, explored: false, propensity: 1 };
  const proceed = { mode: 'shadow' as const, decision: 'proceed' as const, enforced: false, explored: false, propensity: 1 };

  it('a group that would have stopped its budget and caught failures at five times the base rate meets them', () => {
    const report = productionGroupReport(group, [
      ...times(15, () => deployment(wouldStop, 'failed')),
      ...times(15, () => deployment(wouldStop, 'succeeded')),
      ...times(15, () => deployment(proceed, 'failed')),
      ...times(255, () => deployment(proceed, 'succeeded')),
    ]);
    expect(report).toMatchObject({ mode: 'shadow', assessed: 300, stopped: 30, blocked_rate: 0.1, precision: 0.5, caught_failures: 15, caught_rate: 0.5, net_benefit: 30, basis: 'observed' });
    expect(report.graduation).toMatchObject({ meets: true, unmet: [], lift: 5 });
  });

  it('a young group says what it lacks', () => {
    const report = productionGroupReport(group, [...times(3, () => deployment(wouldStop, 'succeeded')), ...times(20, () => deployment(proceed, 'succeeded'))]);
    expect(report.graduation?.meets).toBe(false);
    expect(report.graduation?.unmet).toEqual(expect.arrayContaining(['23 deployments assessed, fewer than 200', '3 would-be stops, fewer than 20']));
  });
});

describe("the pipeline gate's decisions beside the deployments: each release once, the gate's fails and holds as stops", () => {
  const T = Date.parse('2026-11-20T09:00:00Z');
  const gated = (jobId: string, change: Partial<GateDecisionEntry> = {}): GateDecisionEntry => ({
    jobId, application: group.application, deploymentGroup: group.deploymentGroup, revision: `git:${jobId}`, outcome: 'pass', decidedAt: T, mode: 'gate', probability: 0.1, cut: 0.3, blockBudget: 0.1, modelVersion: 'm-7', ...change,
  });
  const settled = (action: GateSettlement['action'], cause: GateSettlement['cause']): GateSettlement => ({ action, by: cause === 'timeout' ? 'deploy-guard (hold timeout)' : 'alice', reason: 'checked', at: T + 60_000, cause });
  const link = (jobId: string, passedBy: 'assessment' | 'approval', letThrough: boolean) => ({ jobId, probability: 0.6, cut: 0.3, decidedAt: '2026-11-20T09:00:00Z', passedBy, letThrough });
  const gateStop = { mode: 'gate' as const, decision: 'rollback' as const, enforced: true, explored: false, propensity: 1 };
  const gateProceed = { mode: 'gate' as const, decision: 'proceed' as const, enforced: true, explored: false, propensity: 1 };

  it('a release the gate held and a person approved, whose deployment started, is one release and one stop (the hold), not two of either', () => {
    // Scored twice: the START would stop it too, and the gate's approval lets it through (not enforced).
    const start = deployment({ ...gateStop, enforced: false, gate: link('job-held', 'approval', true) }, 'succeeded');
    const { gate, releases } = gateAndReleaseTotals([start], [gated('job-held', { outcome: 'hold', settled: settled('approve', 'operator') })]);
    expect(gate).toMatchObject({ decided: 1, held: 1, holds: { approved: 1, rejected: 0, timed_out_approved: 0, timed_out_rejected: 0, waiting: 0 }, deployed: 1, without_outcome: 0 });
    expect(releases).toEqual({ releases: 1, deployments: 1, stopped: 1, stopped_by: { deployments: 0, gate_failed: 0, gate_held: 1 }, stopped_rate: 1 });
  });

  it('says how each hold ended: approved or rejected by a person, by its timeout either way, or still waiting; a rejected one never ran', () => {
    const { gate } = gateAndReleaseTotals([], [
      gated('a', { outcome: 'hold', settled: settled('approve', 'operator') }),
      gated('b', { outcome: 'hold', settled: settled('reject', 'operator') }),
      gated('c', { outcome: 'hold', settled: settled('approve', 'timeout') }),
      gated('d', { outcome: 'hold', settled: settled('reject', 'timeout') }),
      gated('e', { outcome: 'hold' }),
      gated('f', { outcome: 'fail' }),
    ]);
    expect(gate).toEqual({ decided: 6, passed: 0, failed: 1, held: 5, holds: { approved: 1, rejected: 1, timed_out_approved: 1, timed_out_rejected: 1, waiting: 1 }, deployed: 0, without_outcome: 3 });
  });

  it('a passed release not deployed yet is a release of its own; a deployment whose gate job was decided before the period is counted as a deployment only', () => {
    const { gate, releases } = gateAndReleaseTotals([deployment({ ...gateProceed, gate: link('job-yesterday', 'assessment', false) }, 'succeeded')], [gated('job-today')]);
    expect(gate).toMatchObject({ decided: 1, passed: 1, deployed: 0 });
    expect(releases).toMatchObject({ releases: 2, deployments: 1, stopped: 0 });
  });

  it('counts as stopped only what was stopped: not a shadow would-be stop, an override, or a would-be stop the gate passed', () => {
    const letThrough = [
      deployment({ mode: 'shadow', decision: 'rollback', enforced: false, explored: false, propensity: 1 }, 'failed'),
      deployment({ ...gateStop, enforced: false, override: { kind: 'override', by: 'alice', reason: 'INC-1', at: T, until: T + 3_600_000 } }, 'succeeded'),
      deployment({ ...gateStop, enforced: false, gate: link('job-pass', 'assessment', true) }, 'succeeded'),
    ];
    const { releases } = gateAndReleaseTotals([...letThrough, deployment(gateStop, 'counterfactual')], [gated('job-pass'), gated('job-fail', { outcome: 'fail' })]);
    expect(releases).toEqual({ releases: 5, deployments: 4, stopped: 2, stopped_by: { deployments: 1, gate_failed: 1, gate_held: 0 }, stopped_rate: 0.4 });
  });

  it('has no rate without a release', () => {
    expect(gateAndReleaseTotals([], []).releases).toEqual({ releases: 0, deployments: 0, stopped: 0, stopped_by: { deployments: 0, gate_failed: 0, gate_held: 0 }, stopped_rate: null });
  });
});
