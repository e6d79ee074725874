import {
  averagePrecision,
  brierScore,
  caughtAtRiskiest,
  chooseThreshold,
  classificationReport,
  rocAuc,
} from '../../model/metrics';

const T = true;
const F = false;

describe('evaluation metrics', () => {
  describe('rocAuc', () => {
    it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties', () => {
      expect(rocAuc([F, F, T, T], [0.1, 0.2, 0.8, 0.9])).toBe(1);
      expect(rocAuc([T, T, F, F], [0.1, 0.2, 0.8, 0.9])).toBe(0);
      expect(rocAuc([T, F, T, F], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    });
    it('counts ties as one half (as sklearn.metrics.roc_auc_score does)', () => {
      // sklearn: roc_auc_score([0,1,0,1,1], [0.1,0.4,0.4,0.8,0.3]) == 0.75
      expect(rocAuc([F, T, F, T, T], [0.1, 0.4, 0.4, 0.8, 0.3])).toBe(0.75);
    });
    it('is null when only one class is present', () => {
      expect(rocAuc([F, F], [0.1, 0.2])).toBeNull();
    });
  });

  describe('averagePrecision', () => {
    it('matches sklearn.metrics.average_precision_score', () => {
      // sklearn: average_precision_score([0,1,0,1,1], [0.1,0.4,0.4,0.8,0.3]) == 0.8055555555555556
      expect(averagePrecision([F, T, F, T, T], [0.1, 0.4, 0.4, 0.8, 0.3])).toBeCloseTo(0.8055555555555556, 12);
      expect(averagePrecision([T, F], [0.9, 0.1])).toBe(1);
    });
    it('is null without failures', () => {
      expect(averagePrecision([F], [0.3])).toBeNull();
    });
  });

  it('brierScore is the mean squared error of the probabilities', () => {
    expect(brierScore([T, F], [0.8, 0.4])).toBeCloseTo((0.04 + 0.16) / 2, 12);
  });

  describe('caughtAtRiskiest', () => {
    it('is the share of all failures among the riskiest deployments', () => {
      const labels = [T, F, T, F, F, F, F, F, F, T];
      const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
      expect(caughtAtRiskiest(labels, scores, 0.1)).toBeCloseTo(1 / 3, 12);
      expect(caughtAtRiskiest(labels, scores, 0.3)).toBeCloseTo(2 / 3, 12);
      expect(caughtAtRiskiest(labels, scores, 1)).toBe(1);
    });
    it('counts a tie cut in two in proportion (a binary predictor is not favoured by the order of rows)', () => {
      // 4 rows share the top score, 2 of them failures; gating 2 rows catches 1 failure in expectation.
      expect(caughtAtRiskiest([T, T, F, F, F, F, F, F], [1, 1, 1, 1, 0, 0, 0, 0], 0.25)).toBeCloseTo(0.5, 12);
    });
  });

  describe('chooseThreshold (by expected cost on validation)', () => {
    const labels = [F, F, F, T, F, T, T];
    const scores = [0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.9];

    it('takes the cheapest cut, halfway between two scores', () => {
      // Equal costs: flagging 0.9 and 0.7 misses one failure (cost 1); flagging from 0.35 down catches all three
      // but rolls back 0.6 needlessly (cost 1 too); the higher threshold, with fewer rollbacks, wins the tie.
      expect(chooseThreshold(labels, scores, { failedDeployment: 1, needlessRollback: 1 })).toBeCloseTo(0.65, 12);
    });

    it('flags more when a failure costs more than a needless rollback', () => {
      expect(chooseThreshold(labels, scores, { failedDeployment: 5, needlessRollback: 1 })).toBeCloseTo(0.325, 12);
    });

    it('flags nothing when a rollback costs far more than a failure', () => {
      expect(chooseThreshold([T, F], [0.2, 0.9], { failedDeployment: 1, needlessRollback: 100 })).toBe(1);
    });

    it('refuses costs that are not positive', () => {
      expect(() => chooseThreshold(labels, scores, { failedDeployment: 0, needlessRollback: 1 })).toThrow(
        'cost of failedDeployment must be a positive number, got 0',
      );
    });
  });

  it('classificationReport gathers every figure at a threshold', () => {
    const report = classificationReport([T, F, T, F], [0.9, 0.6, 0.4, 0.1], 0.5, { failedDeployment: 3, needlessRollback: 1 });
    expect(report).toMatchObject({
      rows: 4,
      failures: 2,
      auc: 0.75,
      threshold: 0.5,
      precision_failure: 0.5,
      recall_failure: 0.5,
      f1_failure: 0.5,
      expected_cost_per_deployment: (3 + 1) / 4,
      confusion: { true_positive: 1, false_positive: 1, true_negative: 1, false_negative: 1 },
    });
    expect(Object.keys(report.caught_at_riskiest)).toEqual(['5%', '10%', '20%']);
  });
});
