import {
  ReportBuilder,
  ReportInputError,
  SCORE_BINS,
  describeDriftDecisions,
  medianWindowAuc,
  scoreBin,
  type ReplayedDeployment,
} from '../../local/report-model';

const DAY = 86_400_000;
const T0 = Date.parse('2024-03-01T00:00:00Z');
const at = (days: number) => T0 + days * DAY;
const iso = (days: number) => new Date(at(days)).toISOString();

const SETTINGS = { mode: 'gate', threshold: 0.5, dataSource: 'hand-made', limit: null } as const;

/** A proceed-and-succeed deployment of app/a scored 0.1 by v1, unless overridden. */
function deployment(id: string, days: number, overrides: Partial<ReplayedDeployment> = {}): ReplayedDeployment {
  return {
    deploymentId: id,
    application: 'app',
    deploymentGroup: 'app/a',
    startedAt: at(days),
    failed: false,
    probability: 0.1,
    threshold: 0.5,
    decision: 'proceed',
    enforced: true,
    rollbackRequested: false,
    stopped: false,
    modelVersion: 'v1',
    neverRetrainProbability: 0.1,
    ...overrides,
  };
}

const rollback = { decision: 'rollback', rollbackRequested: true, stopped: true } as const;

/**
 * Seven deployments in two groups, with every case the counts distinguish:
 * d1 a  ok     0.2  proceed
 * d2 b  FAILED 0.9  rollback, stopped               -> prevented
 * d3 a  FAILED 0.4  proceed                         -> missed
 * d4 a  ok     0.7  rollback, stopped (model v2)    -> good deployment stopped
 * d5 b  FAILED 0.8  rollback requested, not stopped -> missed (it completed first)
 * d6 b  ok     null proceed, no model answered
 * d7 a  ok     0.6  rollback decided, not enforced (shadow)
 */
function sevenDeployments(): ReplayedDeployment[] {
  const b = { deploymentGroup: 'app/b' };
  return [
    deployment('d1', 1, { probability: 0.2, neverRetrainProbability: 0.2 }),
    deployment('d2', 2, { ...b, failed: true, probability: 0.9, neverRetrainProbability: 0.9, ...rollback }),
    deployment('d3', 3, { failed: true, probability: 0.4, neverRetrainProbability: 0.6 }),
    deployment('d4', 4, { probability: 0.7, neverRetrainProbability: 0.3, modelVersion: 'v2', ...rollback }),
    deployment('d5', 5, { ...b, failed: true, probability: 0.8, neverRetrainProbability: 0.4, modelVersion: 'v2', ...rollback, stopped: false }),
    deployment('d6', 6, { ...b, probability: null, neverRetrainProbability: null, modelVersion: null }),
    deployment('d7', 7, { probability: 0.6, neverRetrainProbability: 0.7, modelVersion: 'v2', decision: 'rollback', enforced: false }),
  ];
}

function sevenDeploymentReport() {
  const builder = new ReportBuilder(SETTINGS, { window: { by: 'deployments', size: 3 } });
  // Fed out of order: the report is in time order regardless.
  const records = sevenDeployments();
  for (const record of [...records.slice(3), ...records.slice(0, 3)]) builder.addDeployment(record);
  builder.addTimelineEvent({ at: at(3.2), kind: 'drift-alarm', detail: 'model-auc ALARM' });
  builder.addTimelineEvent({ at: at(3.3), kind: 'drift-alarm', detail: 'model-auc ALARM again' });
  builder.addTimelineEvent({ at: at(3.4), kind: 'retraining-started', detail: 'job 1' });
  builder.addTimelineEvent({ at: at(3.5), kind: 'promoted', modelVersion: 'v2', detail: 'AUC 0.8 > 0.7' });
  builder.addTimelineEvent({ at: at(6.5), kind: 'rejected', modelVersion: 'v3' });
  builder.addTimelineEvent({ at: at(5.5), kind: 'retraining-started' });
  builder.addTimelineEvent({ at: at(6.8), kind: 'drift-alarm' });
  builder.addDeadLetter({ at: at(2), rule: 'record-outcome', target: 'record-outcome-fn', reason: 'Lambda error after 3 retries' });
  for (const decision of ['started', 'not-enough-data', 'cooldown', 'started', 'not-enough-data', 'not-enough-data', 'duplicate']) builder.addDriftDecision(decision);
  return builder.build();
}

describe('ReportBuilder.build: report.json from a hand-made replay', () => {
  const report = sevenDeploymentReport();

  it('has exactly the keys report.json promises', () => {
    expect(Object.keys(report).sort()).toEqual(
      [
        'deployments',
        'assessed',
        'rollbacks_requested',
        'failures_prevented',
        'good_deployments_stopped',
        'failures_missed',
        'precision',
        'recall',
        'auc_over_time',
        'retrainings',
        'promotions',
        'rejections',
        'dead_letters',
        'drift_decisions',
        'per_group',
        'baselines',
        'model_versions',
        'generated_with',
      ].sort(),
    );
    expect(report.generated_with).toEqual({ mode: 'gate', threshold: 0.5, data_source: 'hand-made', limit: null });
  });

  it('counts what Deploy Guard did: stops of failures, stops of good deployments, misses', () => {
    expect({
      deployments: report.deployments,
      assessed: report.assessed,
      rollbacks_requested: report.rollbacks_requested,
      failures_prevented: report.failures_prevented,
      good_deployments_stopped: report.good_deployments_stopped,
      failures_missed: report.failures_missed,
    }).toEqual({
      deployments: 7,
      assessed: 6, // all but d6
      rollbacks_requested: 3, // d2 d4 d5
      failures_prevented: 1, // d2
      good_deployments_stopped: 1, // d4
      failures_missed: 2, // d3, and d5 which completed before the stop
    });
  });

  it('measures precision and recall on the decisions, shadow ones included', () => {
    // Flagged: d2 d4 d5 d7, of which d2 and d5 failed; failures: d2 d3 d5.
    expect(report.precision).toBe(2 / 4);
    expect(report.recall).toBe(2 / 3);
  });

  it('reports each group with the same counts plus precision, recall and AUC', () => {
    expect(Object.keys(report.per_group)).toEqual(['app/a', 'app/b']);
    expect(report.per_group['app/a']).toEqual({
      deployments: 4,
      failures: 1,
      assessed: 4,
      rollbacks_requested: 1,
      failures_prevented: 0,
      good_deployments_stopped: 1,
      failures_missed: 1,
      precision: 0, // d4 and d7 flagged, neither failed
      recall: 0,
      auc: 1 / 3, // failed d3 (0.4) outranks only d1 (0.2) of d1 d4 d7
    });
    expect(report.per_group['app/b']).toEqual({
      deployments: 3,
      failures: 2,
      assessed: 2,
      rollbacks_requested: 2,
      failures_prevented: 1,
      good_deployments_stopped: 0,
      failures_missed: 1,
      precision: 1,
      recall: 1,
      auc: null, // the only scored deployments (d2 d5) both failed
    });
  });

  it('judges the baselines with the same threshold and mode', () => {
    expect(report.baselines.no_guard).toEqual({
      deployments: 7,
      failures: 3,
      assessed: 0,
      rollbacks_requested: 0,
      failures_prevented: 0,
      good_deployments_stopped: 0,
      failures_missed: 3,
      precision: null,
      recall: 0,
      auc: null,
    });
    // Parrot scores: a: d1 0, d3 0, d4 1 (d3 failed), d7 0; b: d2 0, d5 1 (d2 failed), d6 1 (d5 failed).
    // Flagged d4 d5 d6, all enforced, so all stopped: d5 prevented, d4 d6 good stopped, d2 d3 missed.
    expect(report.baselines.parrot).toEqual({
      deployments: 7,
      failures: 3,
      assessed: 7,
      rollbacks_requested: 3,
      failures_prevented: 1,
      good_deployments_stopped: 2,
      failures_missed: 2,
      precision: 1 / 3,
      recall: 1 / 3,
      auc: 5 / 12, // failures 0 0 1 against successes 0 1 1 0, ties counting one half
    });
    // Never retrain scores: d1 .2 d2 .9 d3 .6 d4 .3 d5 .4 d6 - d7 .7. Flagged d2 d3 d7; d7 is not enforced.
    expect(report.baselines.never_retrain).toEqual({
      deployments: 7,
      failures: 3,
      assessed: 6,
      rollbacks_requested: 2,
      failures_prevented: 2,
      good_deployments_stopped: 0,
      failures_missed: 1,
      precision: 2 / 3,
      recall: 2 / 3,
      auc: 7 / 9, // failures .9 .6 .4 against successes .2 .3 .7: 3 + 2 + 2 of 9 pairs
    });
  });

  it('cuts the replay into windows of N deployments in time order', () => {
    const windows = report.auc_over_time;
    expect(windows.map((window) => [window.from, window.to, window.deployments, window.failures, window.assessed])).toEqual([
      [iso(1), iso(3), 3, 2, 3],
      [iso(4), iso(6), 3, 1, 2],
      [iso(7), iso(7), 1, 0, 1],
    ]);
    expect(windows.map((window) => window.auc)).toEqual([1, 1, null]);
    expect(windows.map((window) => window.model_version)).toEqual(['v1', 'v2', 'v2']);
    expect(windows.map((window) => [window.rollbacks_requested, window.failures_prevented, window.good_deployments_stopped, window.failures_missed])).toEqual([
      [1, 1, 0, 1],
      [2, 0, 1, 1],
      [0, 0, 0, 0],
    ]);
    // Alarms at day 3.2 and 3.3 fall before the second window's first deployment (day 4); 6.8 before day 7.
    expect(windows.map((window) => window.drift_alarms)).toEqual([2, 1, 0]);
    expect(windows[0].baselines.parrot).toEqual({ auc: 0.5, rollbacks_requested: 0, failures_prevented: 0, good_deployments_stopped: 0, failures_missed: 2 });
    expect(windows[1].baselines.never_retrain).toEqual({ auc: 1, rollbacks_requested: 0, failures_prevented: 0, good_deployments_stopped: 0, failures_missed: 1 });
  });

  it('keeps a histogram of the scores of failed and of successful deployments per window', () => {
    const [first, second, third] = report.auc_over_time;
    const bins = (entries: Record<number, number>) => Array.from({ length: SCORE_BINS }, (_, bin) => entries[bin] ?? 0);
    expect(first.score_histogram).toEqual({ failed: bins({ 18: 1, 8: 1 }), succeeded: bins({ 4: 1 }) });
    expect(second.score_histogram).toEqual({ failed: bins({ 16: 1 }), succeeded: bins({ 14: 1 }) });
    expect(third.score_histogram).toEqual({ failed: bins({}), succeeded: bins({ 12: 1 }) });
    expect([scoreBin(0), scoreBin(0.049), scoreBin(0.05), scoreBin(0.999), scoreBin(1)]).toEqual([0, 0, 1, 19, 19]);
  });

  it('lists retrainings with the drift alarm that led to them, promotions, rejections and dead letters', () => {
    expect(report.retrainings).toEqual([
      { at: iso(3.4), model_version: null, detail: 'job 1', drift_alarm_at: iso(3.2) },
      { at: iso(5.5), model_version: null, detail: null, drift_alarm_at: null },
    ]);
    expect(report.promotions).toEqual([{ at: iso(3.5), model_version: 'v2', detail: 'AUC 0.8 > 0.7' }]);
    expect(report.rejections).toEqual([{ at: iso(6.5), model_version: 'v3', detail: null }]);
    expect(report.dead_letters).toEqual([{ at: iso(2), rule: 'record-outcome', target: 'record-outcome-fn', reason: 'Lambda error after 3 retries' }]);
  });

  it('counts the drift handler\'s decisions by status or reason, in key order, and says them in words', () => {
    expect(report.drift_decisions).toEqual({ cooldown: 1, duplicate: 1, 'not-enough-data': 3, started: 2 });
    expect(Object.keys(report.drift_decisions)).toEqual(['cooldown', 'duplicate', 'not-enough-data', 'started']);
    expect(describeDriftDecisions(report.drift_decisions)).toBe('2 started a job; ignored: 3 not-enough-data, 1 cooldown; 1 redelivered');
    expect(describeDriftDecisions({ started: 4 })).toBe('4 started a job');
    expect(describeDriftDecisions({ cooldown: 2, 'training-running': 2 })).toBe('0 started a job; ignored: 2 cooldown, 2 training-running');
    expect(describeDriftDecisions({})).toBe('no drift alarm reached the drift handler');
  });

  it('lists the model versions in the order they went into service', () => {
    expect(report.model_versions).toEqual([
      { version: 'v1', from: iso(1), to: iso(3), deployments: 3, auc: 1 },
      { version: 'v2', from: iso(4), to: iso(7), deployments: 3, auc: 1 },
    ]);
  });

  it('is repeatable: building twice gives the same report', () => {
    const builder = new ReportBuilder(SETTINGS, { window: { by: 'deployments', size: 3 } });
    sevenDeployments().forEach((record) => builder.addDeployment(record));
    expect(builder.build()).toEqual(builder.build());
    expect(builder.build().failures_prevented).toBe(1);
  });
});

describe('ReportBuilder windows and edge cases', () => {
  it('uses windows of 500 deployments by default', () => {
    const builder = new ReportBuilder(SETTINGS);
    for (let index = 0; index < 1001; index += 1) builder.addDeployment(deployment(`d${index}`, index / 100));
    expect(builder.build().auc_over_time.map((window) => window.deployments)).toEqual([500, 500, 1]);
  });

  it('cuts by calendar month (UTC) on request; a month without deployments has no window', () => {
    const builder = new ReportBuilder(SETTINGS, { window: { by: 'month' } });
    builder.addDeployment(deployment('jan-1', 0, { startedAt: Date.parse('2024-01-01T00:00:00Z'), failed: true, probability: 0.9 }));
    builder.addDeployment(deployment('jan-2', 0, { startedAt: Date.parse('2024-01-31T23:59:59Z'), probability: 0.3 }));
    builder.addDeployment(deployment('mar-1', 0, { startedAt: Date.parse('2024-03-15T12:00:00Z') }));
    const windows = builder.build().auc_over_time;
    expect(windows.map((window) => [window.from, window.to, window.deployments, window.auc])).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-01-31T23:59:59.000Z', 2, 1],
      ['2024-03-15T12:00:00.000Z', '2024-03-15T12:00:00.000Z', 1, null],
    ]);
  });

  it('reports an empty replay without inventing figures', () => {
    const report = new ReportBuilder(SETTINGS).build();
    expect(report.deployments).toBe(0);
    expect(report.precision).toBeNull();
    expect(report.recall).toBeNull();
    expect(report.auc_over_time).toEqual([]);
    expect(report.per_group).toEqual({});
    expect(report.model_versions).toEqual([]);
    expect(medianWindowAuc(report, 'guard')).toBeNull();
  });

  it('takes the median of the window AUCs that exist', () => {
    const window = (auc: number | null) => ({ auc, baselines: { parrot: { auc: null } } });
    const report = { auc_over_time: [window(0.9), window(null), window(0.5), window(0.7), window(0.6)] } as never;
    expect(medianWindowAuc(report, 'guard')).toBeCloseTo(0.65, 12);
    expect(medianWindowAuc(report, 'parrot')).toBeNull();
  });
});

describe('ReportBuilder input checks', () => {
  const builder = () => new ReportBuilder(SETTINGS);

  it('rejects a probability outside [0, 1], naming the deployment and the field', () => {
    expect(() => builder().addDeployment(deployment('d-bad', 1, { probability: 1.5 }))).toThrow(ReportInputError);
    expect(() => builder().addDeployment(deployment('d-bad', 1, { probability: 1.5 }))).toThrow(/^report: deployment d-bad: probability: /);
  });

  it('rejects a group that is not the key application/deploymentGroup', () => {
    expect(() => builder().addDeployment(deployment('d-7', 1, { deploymentGroup: 'a' }))).toThrow(
      "report: deployment d-7: deploymentGroup: 'a' is not the group key 'app/<deploymentGroup>'",
    );
  });

  it('rejects a rollback request without an enforced rollback decision', () => {
    expect(() => builder().addDeployment(deployment('d-8', 1, { rollbackRequested: true }))).toThrow(
      'report: deployment d-8: rollbackRequested: a rollback was requested without an enforced rollback decision',
    );
  });

  it('rejects a deployment recorded twice', () => {
    const once = builder();
    once.addDeployment(deployment('d-9', 1));
    expect(() => once.addDeployment(deployment('d-9', 2))).toThrow('report: deployment d-9 was recorded twice');
  });

  it('rejects unknown fields, bad timeline kinds, empty dead-letter reasons and bad settings', () => {
    expect(() => builder().addDeployment({ ...deployment('d-10', 1), extra: 1 } as ReplayedDeployment)).toThrow(/deployment d-10: .*extra/);
    expect(() => builder().addTimelineEvent({ at: at(1), kind: 'exploded' as never })).toThrow(/^report: timeline event 1: kind: /);
    expect(() => builder().addDeadLetter({ at: at(1), rule: 'r', target: 't', reason: '' })).toThrow(/^report: dead letter 1: reason: /);
    expect(() => builder().addDriftDecision('Started!')).toThrow('report: drift decision 1: (record): expected a status or reason such as started or cooldown');
    expect(() => new ReportBuilder({ ...SETTINGS, threshold: 2 })).toThrow(/^report: generation settings: threshold: /);
    expect(() => new ReportBuilder(SETTINGS, { window: { by: 'deployments', size: 0 } })).toThrow(/window .* must be/);
  });
});
