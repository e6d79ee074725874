import type { AssessmentRecord, DeploymentItem, OutcomeLabel } from '../../handlers/ports';
import { productionGroupReport } from '../../model/production-report';
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
