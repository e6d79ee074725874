import { graduation, GRADUATION_CRITERIA } from '../../model/graduation';

/** When a shadow-mode group may move to stop mode (model/graduation.ts), judged on its would-be stops. */
const COSTS = { failedDeployment: 3, needlessRollback: 1 };

describe('graduation from shadow to stop mode', () => {
  it('a group with enough evidence, on budget, whose would-be stops fail far more often than its deployments: ready', () => {
    // 400 assessed, 80 failures (20 %); 40 would-be stops (10 %), 24 of them failed (precision 0.6, lift 3).
    expect(graduation({ assessed: 400, failures: 80, flagged: 40, flaggedFailures: 24 }, 0.1, COSTS)).toEqual({ meets: true, unmet: [], blockRate: 0.1, precision: 0.6, lift: 3, netBenefit: 3 * 24 - 16 });
  });

  it('names every criterion a group does not meet', () => {
    // 150 assessed; 30 would-be stops (20 %, 10 pp over a 10 % budget), 6 failed (precision 0.2 = the failure rate).
    const verdict = graduation({ assessed: 150, failures: 30, flagged: 30, flaggedFailures: 6 }, 0.1, COSTS);
    expect(verdict.meets).toBe(false);
    expect(verdict.unmet).toEqual([
      '150 deployments assessed, fewer than 200',
      'would block 20.0 %, more than 2.0 % from the 10.0 % budget',
      "would-be stops fail 1.0× as often as the group's deployments, less than 2×",
      'net benefit -6 at costs 3:1 is not positive',
    ]);
  });

  it('has nothing to judge without would-be stops, and judges a fixed threshold without a budget', () => {
    expect(graduation({ assessed: 500, failures: 50, flagged: 0, flaggedFailures: 0 }, 0.1, COSTS).unmet).toEqual([
      '0 would-be stops, fewer than 20',
      'would block 0.0 %, more than 2.0 % from the 10.0 % budget',
      'no precision to judge yet',
      'net benefit 0 at costs 3:1 is not positive',
    ]);
    expect(graduation({ assessed: 400, failures: 80, flagged: 100, flaggedFailures: 60 }, null, COSTS).meets).toBe(true);
  });

  it('states its criteria in one sentence for the reports', () => {
    expect(GRADUATION_CRITERIA).toBe(
      "at least 200 deployments assessed and 20 would-be stops, the would-be block rate within 2 pp of the budget, would-be stops failing at least 2 times as often as the group's deployments, and a positive net benefit",
    );
  });
});
