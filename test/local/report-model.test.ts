import {
  ReportBuilder,
  ReportInputError,
  SCORE_BINS,
  configuredEntry,
  describeDriftDecisions,
  formatBudget,
  medianWindowAuc,
  scoreBin,
  tabulatedBudgets,
  type ComparisonEntryInput,
  type GenerationSettings,
  type ReplayedDeployment,
} from '../../local/report-model';
import { entryFromCounts, syntheticRun } from './synthetic-replay';

const DAY = 86_400_000;
const T0 = Date.parse('2024-03-01T00:00:00Z');
const at = (days: number) => T0 + days * DAY;
const iso = (days: number) => new Date(at(days)).toISOString();

const SETTINGS: GenerationSettings = { mode: 'gate', blockBudget: 0.1, dataSource: 'hand-made', limit: null };

/** A proceed-and-succeed deployment of app/a scored 0.1 by v1 under a 10 % budget (cut 0.5), unless overridden. */
function deployment(id: string, days: number, overrides: Partial<ReplayedDeployment> = {}): ReplayedDeployment {
  return {
    deploymentId: id,
    application: 'app',
    deploymentGroup: 'app/a',
    startedAt: at(days),
    failed: false,
    probability: 0.1,
    cut: 0.5,
    blockBudget: 0.1,
    decision: 'proceed',
    enforced: true,
    rollbackRequested: false,
    stopped: false,
    modelVersion: 'v1',
    historyFeaturesServed: 6,
    historyFeaturesDiffering: 0,
    explored: false,
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
 * d6 b  ok     null proceed, no model answered, no cut yet
 * d7 a  ok     0.6  rollback decided, not enforced (shadow)
 */
function sevenDeployments(): ReplayedDeployment[] {
  const b = { deploymentGroup: 'app/b' };
  return [
    deployment('d1', 1, { probability: 0.2, cut: 0.6 }),
    deployment('d2', 2, { ...b, failed: true, probability: 0.9, ...rollback }),
    deployment('d3', 3, { failed: true, probability: 0.4, historyFeaturesDiffering: 2 }),
    deployment('d4', 4, { probability: 0.7, modelVersion: 'v2', ...rollback, cut: 0.7 }),
    deployment('d5', 5, { ...b, failed: true, probability: 0.8, modelVersion: 'v2', ...rollback, stopped: false, historyFeaturesDiffering: 3 }),
    deployment('d6', 6, { ...b, probability: null, cut: null, modelVersion: null, historyFeaturesServed: 0 }),
    deployment('d7', 7, { probability: 0.6, modelVersion: 'v2', decision: 'rollback', enforced: false }),
  ];
}

function sevenDeploymentReport() {
  const builder = new ReportBuilder(SETTINGS, { window: { by: 'deployments', size: 3 } });
  // Fed out of order: the report is in time order regardless.
  const records = sevenDeployments();
  for (const record of [...records.slice(3), ...records.slice(0, 3)]) builder.addDeployment(record);
  builder.addTimelineEvent({ at: at(3.2), kind: 'drift-alarm', alarmName: 'model-auc', detail: 'AUC 0.55' });
  builder.addTimelineEvent({ at: at(3.3), kind: 'drift-alarm', alarmName: 'model-auc', detail: 'AUC 0.54' });
  builder.addTimelineEvent({ at: at(3.4), kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'model-auc' }, detail: 'job 1' });
  builder.addTimelineEvent({ at: at(3.5), kind: 'promoted', modelVersion: 'v2', detail: 'AUC 0.8 > 0.7' });
  builder.addTimelineEvent({ at: at(6.5), kind: 'rejected', modelVersion: 'v3' });
  builder.addTimelineEvent({ at: at(5.5), kind: 'retraining-started', trigger: { type: 'schedule' } });
  builder.addTimelineEvent({ at: at(6.8), kind: 'drift-alarm', alarmName: 'model-auc' });
  builder.addDeadLetter({ at: at(2), rule: 'record-outcome', target: 'record-outcome-fn', reason: 'Lambda error after 3 retries' });
  for (const decision of ['started', 'not-enough-data', 'cooldown', 'started', 'not-enough-data', 'not-enough-data', 'duplicate']) builder.addDriftDecision(decision);
  return builder.build();
}

describe('ReportBuilder.build: report.json from a hand-made replay', () => {
  const report = sevenDeploymentReport();

  it('has exactly the keys report.json promises, with no oracle baselines left', () => {
    expect(Object.keys(report).sort()).toEqual(
      [
        'verdict',
        'generated_with',
        'policy',
        'comparison',
        'comparison_curves',
        'loop_health',
        'exploration',
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
        'model_versions',
      ].sort(),
    );
    expect(JSON.stringify(report)).not.toMatch(/baselines|never_retrain|neverRetrain|parrot"/);
  });

  it('says how it was generated: the block budget, the costs (3:1 by default), no threshold', () => {
    expect(report.generated_with).toEqual({
      mode: 'gate',
      block_budget: 0.1,
      costs: { failed_deployment: 3, needless_rollback: 1 },
      data_source: 'hand-made',
      limit: null,
    });
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

  it('holds the policy to its budget by the decisions: 4 of 7 deployments decided rollback, the shadow one too', () => {
    expect(report.policy).toEqual({ block_budget: 0.1, realized_block_rate: 4 / 7, flagged: 4, deployments: 7 });
  });

  it('measures Deploy Guard at the configured budget from the replayed decisions, at the report costs', () => {
    // Blocked d2 d4 d5 d7, caught d2 d5 of the failures d2 d3 d5: net 3 x 2 - 1 x 2 = 4.
    expect(report.comparison).toEqual([
      {
        predictor: 'deploy-guard',
        budget: 0.1,
        budget_kind: 'fixed',
        deployments: 7,
        blocked: 4,
        failures: 3,
        caught: 2,
        blocked_rate: 4 / 7,
        caught_rate: 2 / 3,
        precision: 0.5,
        net_benefit: 4,
        net_per_stop: 1,
        achievable: true,
      },
    ]);
    expect(configuredEntry(report)).toBe(report.comparison[0]);
    expect(report.comparison_curves).toEqual({ 'deploy-guard': [{ budget: 0.1, budget_kind: 'fixed', blocked_rate: 4 / 7, caught_rate: 2 / 3 }] });
  });

  it('reports each group with the same counts plus its decisions, precision, recall and AUC', () => {
    expect(Object.keys(report.per_group)).toEqual(['app/a', 'app/b']);
    expect(report.per_group['app/a']).toEqual({
      deployments: 4,
      failures: 1,
      assessed: 4,
      flagged: 2, // d4 d7
      flagged_failures: 0,
      block_rate: 0.5,
      rollbacks_requested: 1,
      failures_prevented: 0,
      good_deployments_stopped: 1,
      failures_missed: 1,
      precision: 0,
      recall: 0,
      auc: 1 / 3, // failed d3 (0.4) outranks only d1 (0.2) of d1 d4 d7
    });
    expect(report.per_group['app/b']).toEqual({
      deployments: 3,
      failures: 2,
      assessed: 2,
      flagged: 2, // d2 d5
      flagged_failures: 2,
      block_rate: 2 / 3,
      rollbacks_requested: 2,
      failures_prevented: 1,
      good_deployments_stopped: 0,
      failures_missed: 1,
      precision: 1,
      recall: 1,
      auc: null, // the only scored deployments (d2 d5) both failed
    });
  });

  it('cuts the replay into windows of N deployments in time order, with their decisions and cuts', () => {
    const windows = report.auc_over_time;
    expect(windows.map((window) => [window.from, window.to, window.deployments, window.failures, window.assessed])).toEqual([
      [iso(1), iso(3), 3, 2, 3],
      [iso(4), iso(6), 3, 1, 2],
      [iso(7), iso(7), 1, 0, 1],
    ]);
    expect(windows.map((window) => window.auc)).toEqual([1, 1, null]);
    expect(windows.map((window) => window.model_version)).toEqual(['v1', 'v2', 'v2']);
    expect(windows.map((window) => [window.flagged, window.flagged_failures, window.block_rate])).toEqual([
      [1, 1, 1 / 3],
      [2, 1, 2 / 3],
      [1, 0, 1],
    ]);
    // Cuts 0.6 0.5 0.5 | 0.7 0.5 (d6 had none) | 0.5.
    expect(windows.map((window) => window.median_cut)).toEqual([0.5, 0.6, 0.5]);
    expect(windows.map((window) => [window.rollbacks_requested, window.failures_prevented, window.good_deployments_stopped, window.failures_missed])).toEqual([
      [1, 1, 0, 1],
      [2, 0, 1, 1],
      [0, 0, 0, 0],
    ]);
    // Alarms at day 3.2 and 3.3 fall before the second window's first deployment (day 4); 6.8 before day 7.
    expect(windows.map((window) => window.drift_alarms)).toEqual([2, 1, 0]);
  });

  it('keeps a histogram of the scores of failed and of successful deployments per window', () => {
    const [first, second, third] = report.auc_over_time;
    const bins = (entries: Record<number, number>) => Array.from({ length: SCORE_BINS }, (_, bin) => entries[bin] ?? 0);
    expect(first.score_histogram).toEqual({ failed: bins({ 18: 1, 8: 1 }), succeeded: bins({ 4: 1 }) });
    expect(second.score_histogram).toEqual({ failed: bins({ 16: 1 }), succeeded: bins({ 14: 1 }) });
    expect(third.score_histogram).toEqual({ failed: bins({}), succeeded: bins({ 12: 1 }) });
    expect([scoreBin(0), scoreBin(0.049), scoreBin(0.05), scoreBin(0.999), scoreBin(1)]).toEqual([0, 0, 1, 19, 19]);
  });

  it('lists retrainings with what started them, promotions, rejections and dead letters', () => {
    expect(report.retrainings).toEqual([
      { at: iso(3.4), model_version: null, detail: 'job 1', trigger: 'alarm', alarm_name: 'model-auc', drift_alarm_at: iso(3.3) },
      { at: iso(5.5), model_version: null, detail: null, trigger: 'schedule', alarm_name: null, drift_alarm_at: null },
    ]);
    expect(report.promotions).toEqual([{ at: iso(3.5), model_version: 'v2', detail: 'AUC 0.8 > 0.7' }]);
    expect(report.rejections).toEqual([{ at: iso(6.5), model_version: 'v3', detail: null }]);
    expect(report.dead_letters).toEqual([{ at: iso(2), rule: 'record-outcome', target: 'record-outcome-fn', reason: 'Lambda error after 3 retries' }]);
  });

  it("counts the drift handler's decisions by status or reason, in key order, and says them in words", () => {
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

describe('generated_with: the decision policy and the costs it is reported at', () => {
  it('reports a fixed threshold (the expert override) to four significant digits, with no block budget', () => {
    const report = new ReportBuilder({ mode: 'stop', blockBudget: null, threshold: 0.21901168674230576, dataSource: 'x', limit: 10 }).build();
    expect(report.generated_with).toEqual({
      mode: 'stop',
      block_budget: null,
      threshold: 0.219,
      costs: { failed_deployment: 3, needless_rollback: 1 },
      data_source: 'x',
      limit: 10,
    });
    expect(new ReportBuilder({ mode: 'stop', blockBudget: null, threshold: 0.6392347, dataSource: 'x', limit: null }).build().generated_with.threshold).toBe(0.6392);
    expect(report.policy).toEqual({ block_budget: null, realized_block_rate: null, flagged: 0, deployments: 0 });
  });

  it('reports the configured costs, and measures net benefit with them', () => {
    const builder = new ReportBuilder({ ...SETTINGS, costs: { failedDeployment: 10, needlessRollback: 2 } });
    sevenDeployments().forEach((record) => builder.addDeployment(record));
    const report = builder.build();
    expect(report.generated_with.costs).toEqual({ failed_deployment: 10, needless_rollback: 2 });
    expect(configuredEntry(report).net_benefit).toBe(10 * 2 - 2 * 2);
  });
});

describe('loop_health: whether the loop blinds itself', () => {
  // Group a: R R R . R . R R   (chains 3, 1, 2); group b: R . R R R R (chains 1, 4), interleaved in
  // time so that a stop of b right after a stop of a is not "after a stop" of its own group.
  const pattern = { 'app/a': 'RRR.R.RR', 'app/b': 'R.RRRR' } as const;
  function loopReport() {
    const builder = new ReportBuilder(SETTINGS);
    let day = 0;
    for (let index = 0; index < 8; index += 1) {
      for (const [group, decisions] of Object.entries(pattern)) {
        if (index >= decisions.length) continue;
        day += 1;
        const stop = decisions[index] === 'R';
        builder.addDeployment(
          deployment(`${group}-${index}`, day, {
            deploymentGroup: group,
            failed: index % 3 === 0,
            probability: stop ? 0.9 : 0.1,
            historyFeaturesDiffering: stop ? 3 : 1,
            explored: false,
            ...(stop ? rollback : {}),
          }),
        );
      }
    }
    return builder.build();
  }

  it('measures stop chains per group: their count, p90 (nearest rank), longest and mean', () => {
    // Chains 1 1 2 3 4: the p90 is the 5th of 5 (ceil(0.9 x 5)); 11 stops over 5 chains.
    expect(loopReport().loop_health.stop_chains).toEqual({ chains: 5, p90: 4, longest: 4, mean: 11 / 5 });
  });

  it('counts the stops that come right after a stop of the same group', () => {
    // a: 2nd, 3rd and last stops; b: the 3 after its third deployment.
    expect(loopReport().loop_health.stops_after_a_stop).toEqual({ stops: 11, after_a_stop: 6, share: 6 / 11 });
  });

  it('sums the served history features and those differing from their full-information value', () => {
    // 14 deployments x 6 served; 11 stops x 3 + 3 others x 1 differing.
    expect(loopReport().loop_health.history_features).toEqual({ served: 84, differing: 36, differing_share: 36 / 84 });
  });

  it("sets the data lake's failure rate (deployments let through) against every deployment's", () => {
    // Failed: indexes 0, 3, 6 of each group: a0 a3 a6 b0 b3 = 5 of 14. Let through: a3 a5 b1, of which a3 failed.
    expect(loopReport().loop_health.failure_rate).toEqual({ all_deployments: 5 / 14, data_lake: 1 / 3, data_lake_deployments: 3 });
  });

  it('is empty, not invented, without deployments', () => {
    expect(new ReportBuilder(SETTINGS).build().loop_health).toEqual({
      stop_chains: { chains: 0, p90: null, longest: 0, mean: null },
      stops_after_a_stop: { stops: 0, after_a_stop: 0, share: null },
      history_features: { served: 0, differing: 0, differing_share: null },
      failure_rate: { all_deployments: null, data_lake: null, data_lake_deployments: 0 },
    });
  });

  it('counts shadow decisions as stops (the would-be stop chain), while the data lake keeps every outcome', () => {
    const builder = new ReportBuilder({ ...SETTINGS, mode: 'shadow' });
    for (let index = 0; index < 4; index += 1) {
      builder.addDeployment(deployment(`s${index}`, index, { decision: 'rollback', enforced: false, failed: index === 0 }));
    }
    const health = builder.build().loop_health;
    expect(health.stop_chains).toEqual({ chains: 1, p90: 4, longest: 4, mean: 4 });
    expect(health.failure_rate).toEqual({ all_deployments: 0.25, data_lake: 0.25, data_lake_deployments: 4 });
  });
});

describe('graduation from shadow to stop mode (model/graduation.ts)', () => {
  it('judges each group of a shadow-mode run on its would-be stops; a stop-mode run has no graduation', () => {
    const builder = new ReportBuilder({ ...SETTINGS, mode: 'shadow' });
    // app/a: 250 assessed, 50 failures; 25 would-be stops (10 %), 15 failed. app/b: 10 assessed, nothing flagged.
    for (let index = 0; index < 250; index += 1) {
      const flagged = index < 25;
      builder.addDeployment(deployment(`a${index}`, index, { failed: flagged ? index < 15 : index < 60, ...(flagged ? { decision: 'rollback', enforced: false } : {}) }));
    }
    for (let index = 0; index < 10; index += 1) builder.addDeployment(deployment(`b${index}`, index + 0.5, { deploymentGroup: 'app/b' }));
    const { graduation, per_group } = builder.build();
    expect(Object.keys(graduation ?? {})).toEqual(Object.keys(per_group));
    expect(graduation?.['app/a']).toEqual({ meets: true, unmet: [], precision: 0.6, lift: 3, net_benefit: 35 });
    expect(graduation?.['app/b']).toMatchObject({ meets: false, unmet: expect.arrayContaining(['10 deployments assessed, fewer than 200']) });

    const stopMode = new ReportBuilder(SETTINGS);
    stopMode.addDeployment(deployment('s1', 1));
    expect(stopMode.build()).not.toHaveProperty('graduation');
  });
});

describe('exploration: what it cost and what it bought', () => {
  it('counts the would-be stops let through and the failures among them, and estimates the stops\' precision and recall from what was observable', () => {
    const builder = new ReportBuilder(SETTINGS);
    let day = 0;
    const add = (overrides: Partial<ReplayedDeployment>) => builder.addDeployment(deployment(`d${++day}`, day, { probability: 0.9, ...overrides }));
    // 8 would-be stops: 6 stopped (4 would have failed), 2 explored (1 failed): the explored share is 1/4, each stands for 4.
    for (const failed of [true, true, true, true, false, false]) add({ ...rollback, failed });
    add({ explored: true, failed: true });
    add({ explored: true, failed: false });
    // Below the cut: 10 deployments, 2 failed (observed, weight 1).
    for (let index = 0; index < 10; index += 1) add({ probability: 0.1, failed: index < 2 });
    const { exploration } = builder.build();
    expect(exploration).toEqual({
      explored: 2,
      failures_let_through: 1,
      // Observed: the explored failure (4) and success (4): precision 4 / 8; recall 4 / (4 + 2).
      estimated_precision: 0.5,
      estimated_recall: 4 / 6,
      // The truth: 5 of the 8 would-be stops failed; 5 of the 7 failures were would-be stops.
      true_precision: 5 / 8,
      true_recall: 5 / 7,
    });
  });

  it('estimates nothing from shadow mode\'s weights: every outcome is observed there', () => {
    const builder = new ReportBuilder({ ...SETTINGS, mode: 'shadow' });
    builder.addDeployment(deployment('d1', 1, { probability: 0.9, decision: 'rollback', enforced: false, failed: true }));
    builder.addDeployment(deployment('d2', 2, { probability: 0.1, failed: true }));
    expect(builder.build().exploration).toMatchObject({ explored: 0, estimated_precision: 1, estimated_recall: 0.5, true_precision: 1, true_recall: 0.5 });
  });
});

describe('retrainings: attributed to the alarm that started them', () => {
  it('attributes a retraining to the latest ALARM of its trigger, not to an alarm ignored 19 months before', () => {
    const builder = new ReportBuilder(SETTINGS);
    // 2012: the AUC alarm fires and is ignored (not enough data); 19 months later it fires again and starts a job.
    builder.addTimelineEvent({ at: at(0), kind: 'drift-alarm', alarmName: 'model-auc' });
    builder.addDriftDecision('not-enough-data');
    builder.addTimelineEvent({ at: at(578), kind: 'drift-alarm', alarmName: 'model-auc' });
    builder.addTimelineEvent({ at: at(578) + 60_000, kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'model-auc' }, detail: 'job a' });
    expect(builder.build().retrainings).toEqual([
      { at: new Date(at(578) + 60_000).toISOString(), model_version: null, detail: 'job a', trigger: 'alarm', alarm_name: 'model-auc', drift_alarm_at: iso(578) },
    ]);
  });

  it('matches the alarm by name, at or before the start (an ALARM at the same millisecond counts, a later one does not)', () => {
    const builder = new ReportBuilder(SETTINGS);
    builder.addTimelineEvent({ at: at(10), kind: 'drift-alarm', alarmName: 'error-rate' });
    builder.addTimelineEvent({ at: at(11), kind: 'drift-alarm', alarmName: 'model-auc' });
    // Recorded before the alarm that started it, at the same time.
    builder.addTimelineEvent({ at: at(12), kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'model-auc' } });
    builder.addTimelineEvent({ at: at(12), kind: 'drift-alarm', alarmName: 'model-auc' });
    builder.addTimelineEvent({ at: at(13), kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'error-rate' } });
    builder.addTimelineEvent({ at: at(14), kind: 'drift-alarm', alarmName: 'error-rate' });
    builder.addTimelineEvent({ at: at(15), kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'latency' } });
    expect(builder.build().retrainings.map((entry) => [entry.alarm_name, entry.drift_alarm_at])).toEqual([
      ['model-auc', iso(12)],
      ['error-rate', iso(10)],
      ['latency', null], // its ALARM was not seen in the replay
    ]);
  });

  it('takes the schedule trigger as the event has it (rule and period are not reported)', () => {
    const builder = new ReportBuilder(SETTINGS);
    const trigger = { type: 'schedule', ruleName: 'deploy-guard-dev-retraining-schedule', periodDays: 180, scheduledAt: iso(5) } as const;
    builder.addTimelineEvent({ at: at(5), kind: 'retraining-started', trigger });
    expect(builder.build().retrainings).toEqual([{ at: iso(5), model_version: null, detail: null, trigger: 'schedule', alarm_name: null, drift_alarm_at: null }]);
  });
});

describe('comparison: fair baselines handed in by the engine', () => {
  /** The hand-made replay measured: Deploy Guard blocked 4 of 7 and caught 2 of 3 failures. */
  const counts = (blocked: number, caught: number) => ({ deployments: 7, blocked, failures: 3, caught });
  const baselines = (): ComparisonEntryInput[] => [
    entryFromCounts('heuristic', 0.1, 'fixed', counts(1, 1)),
    entryFromCounts('logistic-regression', 0.1, 'fixed', counts(2, 1)),
    entryFromCounts('never-retrain', 0.1, 'fixed', counts(1, 0)),
    entryFromCounts('shadow-reference', 0.1, 'fixed', counts(3, 3)),
    entryFromCounts('deploy-guard', 0.05, 'fixed', counts(1, 1)),
    entryFromCounts('heuristic', 0.2, 'fixed', counts(2, 1)),
    entryFromCounts('parrot-in-loop', null, 'natural', counts(2, 1)),
    entryFromCounts('deploy-guard', 2 / 7, 'parrot-rate', counts(2, 2)),
  ];
  function reportWith(entries: readonly ComparisonEntryInput[], settings: Partial<GenerationSettings> = {}, curves?: Parameters<ReportBuilder['setComparison']>[1]) {
    const builder = new ReportBuilder({ ...SETTINGS, ...settings });
    sevenDeployments().forEach((record) => builder.addDeployment(record));
    builder.setComparison(entries, curves);
    return builder.build();
  }

  it('lists every entry beside the measured one: by predictor, then fixed budgets ascending, then Parrot-rate and natural ones', () => {
    const report = reportWith(baselines());
    expect(report.comparison.map((entry) => [entry.predictor, entry.budget_kind, entry.budget])).toEqual([
      ['deploy-guard', 'fixed', 0.05],
      ['deploy-guard', 'fixed', 0.1],
      ['deploy-guard', 'parrot-rate', 2 / 7],
      ['parrot-in-loop', 'natural', null],
      ['heuristic', 'fixed', 0.1],
      ['heuristic', 'fixed', 0.2],
      ['logistic-regression', 'fixed', 0.1],
      ['never-retrain', 'fixed', 0.1],
      ['shadow-reference', 'fixed', 0.1],
    ]);
    expect(report.comparison.filter((entry) => !entry.achievable).map((entry) => entry.predictor)).toEqual(['shadow-reference']);
    expect(tabulatedBudgets(report)).toEqual([0.05, 0.1, 0.2]);
  });

  it("draws each predictor's caught-versus-blocked curve from its entries, by blocked rate", () => {
    const curves = reportWith(baselines()).comparison_curves;
    expect(Object.keys(curves)).toEqual(['deploy-guard', 'parrot-in-loop', 'heuristic', 'logistic-regression', 'never-retrain', 'shadow-reference']);
    expect(curves['deploy-guard']?.map((point) => [point.blocked_rate, point.caught_rate])).toEqual([
      [1 / 7, 1 / 3],
      [2 / 7, 2 / 3],
      [4 / 7, 2 / 3],
    ]);
    expect(curves['parrot-in-loop']).toEqual([{ budget: null, budget_kind: 'natural', blocked_rate: 2 / 7, caught_rate: 1 / 3 }]);
  });

  it("takes the engine's curves when given, and adds the measured run's point to Deploy Guard's", () => {
    const curves = reportWith(baselines(), {}, { heuristic: [{ blocked_rate: 0.3, caught_rate: 0.5 }, { blocked_rate: 0.1, caught_rate: 0.2 }] }).comparison_curves;
    expect(curves).toEqual({
      'deploy-guard': [{ budget: 0.1, budget_kind: 'fixed', blocked_rate: 4 / 7, caught_rate: 2 / 3 }],
      heuristic: [
        { budget: null, budget_kind: null, blocked_rate: 0.1, caught_rate: 0.2 },
        { budget: null, budget_kind: null, blocked_rate: 0.3, caught_rate: 0.5 },
      ],
    });
  });

  it('adds the reported budgets and the configured one to the tabulated budgets', () => {
    expect(tabulatedBudgets(reportWith([], { blockBudget: 0.15 }))).toEqual([0.05, 0.1, 0.15, 0.2]);
    expect(formatBudget(0.15)).toBe('15 %');
    expect(formatBudget(0.005)).toBe('0.5 %');
    expect(formatBudget(0.13372)).toBe('13.4 %');
  });

  describe('rejects what does not hang together, naming the entry and the field', () => {
    const reject = (entries: readonly unknown[], message: string | RegExp) => {
      const builder = new ReportBuilder(SETTINGS);
      expect(() => builder.setComparison(entries as ComparisonEntryInput[])).toThrow(ReportInputError);
      expect(() => new ReportBuilder(SETTINGS).setComparison(entries as ComparisonEntryInput[])).toThrow(message);
    };
    const heuristic = entryFromCounts('heuristic', 0.1, 'fixed', counts(1, 1));

    it('an unknown predictor or a rate outside [0, 1]', () => {
      reject([{ ...heuristic, predictor: 'oracle' }], /^report: comparison entry 1: predictor: /);
      reject([{ ...heuristic, caught_rate: 1.5 }], /^report: comparison entry 1 \(heuristic at 10 %\): caught_rate: /);
    });

    it('a rate or a net benefit that does not follow from the counts at the report costs', () => {
      reject([{ ...heuristic, blocked_rate: 0.2 }], 'report: comparison entry 1 (heuristic at 10 %): blocked_rate: 0.2 does not follow from blocked 1 of 7 deployments (0.14285714285714285)');
      // Figured at costs 10:1, reported at 3:1.
      reject([{ ...heuristic, net_benefit: 10 }], /^report: comparison entry 1 \(heuristic at 10 %\): net_benefit: 10 does not follow from caught 1 of 1 blocked at costs 3:1 \(3\)$/);
      reject([{ ...heuristic, caught: 2 }], /caught: 2 is more than blocked \(1\) or failures \(3\)/);
    });

    it('a shadow reference called achievable, or a baseline called not achievable', () => {
      reject([{ ...entryFromCounts('shadow-reference', 0.1, 'fixed', counts(1, 1)), achievable: true }], /achievable: the shadow reference reads every outcome and is not achievable/);
      reject([{ ...heuristic, achievable: false }], /achievable: every predictor but the shadow reference runs in its own loop/);
    });

    it('Parrot at a budget, or a budget kind without its budget', () => {
      reject([entryFromCounts('parrot-in-loop', 0.1, 'fixed', counts(1, 1))], /budget_kind: Parrot in the loop \(and only it\) stops at its natural rate/);
      reject([entryFromCounts('heuristic', null, 'fixed', counts(1, 1))], /budget: fixed takes a budget, got null/);
      reject([entryFromCounts('heuristic', 0.5, 'fixed', counts(1, 1))], /budget: a block budget is a share between 0.005 and 0.3, got 0.5/);
    });

    it("Deploy Guard at the configured budget (the builder measures the run itself), and an entry given twice", () => {
      reject([entryFromCounts('deploy-guard', 0.1, 'fixed', counts(1, 1))], /the builder measures Deploy Guard at the configured budget from the replayed deployments; leave this entry out/);
      reject([heuristic, { ...heuristic }], 'report: comparison: heuristic at 10 % is given twice');
    });

    it('a second call, and curves of an unknown predictor', () => {
      const builder = new ReportBuilder(SETTINGS);
      builder.setComparison([]);
      expect(() => builder.setComparison([])).toThrow('report: comparison: it was already set; pass every entry in one call');
      expect(() => new ReportBuilder(SETTINGS).setComparison([], { oracle: [] } as never)).toThrow(/^report: comparison curves: /);
    });

    it('entries over other deployments than the replayed ones (checked when the report is built)', () => {
      const builder = new ReportBuilder(SETTINGS);
      sevenDeployments().forEach((record) => builder.addDeployment(record));
      builder.setComparison([entryFromCounts('heuristic', 0.1, 'fixed', { deployments: 9, blocked: 1, failures: 3, caught: 1 })]);
      expect(() => builder.build()).toThrow(
        'report: comparison: heuristic at 10 % is over 9 deployments with 3 failures, not the 7 with 3 replayed: every predictor must be measured on the reported deployments',
      );
    });
  });

  describe('verdict: does Deploy Guard beat the best fair baseline at the configured budget, and by how much', () => {
    it('names the best fair baseline, the margin in pp and both net benefits, then Parrot at its rate', () => {
      // Deploy Guard caught 2 of 3 (66.7 %). The heuristic and logistic regression each caught 1 of 3; the
      // heuristic did it with 1 stop (net 3), logistic regression with 2 (net 2): the tie goes to the higher net.
      expect(reportWith(baselines()).verdict).toBe(
        'Deploy Guard at a 10 % block budget caught 66.7 % of failures, 33.3 pp more than the best fair baseline (heuristic, 33.3 %); ' +
          "net benefit 4 vs 3 at costs 3:1; at Parrot's in-loop rate (28.6 % blocked) it caught 66.7 % against Parrot's 33.3 % (+33.3 pp).",
      );
    });

    it('ignores the not-achievable shadow reference and other budgets when picking the best fair baseline', () => {
      const verdict = reportWith(baselines()).verdict;
      expect(verdict).not.toMatch(/shadow/);
      expect(verdict).toContain('best fair baseline (heuristic, 33.3 %)');
    });

    it('says plainly when Deploy Guard loses', () => {
      const better = entryFromCounts('logistic-regression', 0.1, 'fixed', { deployments: 7, blocked: 3, failures: 3, caught: 3 });
      expect(reportWith([better]).verdict).toBe(
        'Deploy Guard does not beat the best fair baseline: at a 10 % block budget it caught 66.7 % of failures, 33.3 pp fewer than logistic regression (100.0 %); ' +
          'net benefit 4 vs 9 at costs 3:1.',
      );
      const equal = entryFromCounts('never-retrain', 0.1, 'fixed', { deployments: 7, blocked: 2, failures: 3, caught: 2 });
      expect(reportWith([equal]).verdict).toMatch(/^Deploy Guard does not beat the best fair baseline: .* no more than never retrain \(66.7 %\)/);
    });

    it('says when no fair baseline ran at that budget', () => {
      expect(reportWith([]).verdict).toBe(
        'Deploy Guard at a 10 % block budget caught 66.7 % of failures (net benefit 4 at costs 3:1); no fair baseline ran at that budget to compare with.',
      );
    });

    it('speaks of what it would have done in shadow mode', () => {
      expect(reportWith([], { mode: 'shadow' }).verdict).toMatch(/^Deploy Guard \(shadow mode\) at a 10 % block budget would have caught 66.7 % of failures/);
    });

    it('with a fixed threshold, gives the threshold rounded and says no baseline holds the same rate', () => {
      expect(reportWith([], { blockBudget: null, threshold: 0.21901168674230576 }).verdict).toBe(
        'Deploy Guard with a fixed threshold of 0.219 blocked 57.1 % of deployments and caught 66.7 % of failures (net benefit 4 at costs 3:1); ' +
          'a fixed threshold holds no block rate, so no fair baseline ran at the same budget.',
      );
    });

    it('without failures there is nothing to catch', () => {
      const builder = new ReportBuilder(SETTINGS);
      builder.addDeployment(deployment('ok', 1));
      expect(builder.build().verdict).toBe('Deploy Guard at a 10 % block budget blocked 0.0 % of deployments; no deployment failed, so there was nothing to catch.');
    });
  });

  it('the synthetic replay hands over a whole comparison that the builder accepts', () => {
    const run = syntheticRun({ deployments: 1500 });
    const report = run.builder.build();
    expect(report.comparison).toHaveLength(run.comparison.length + 1);
    expect(report.verdict).toMatch(/^Deploy Guard at a 10 % block budget caught \d+\.\d % of failures, \d+\.\d pp more than the best fair baseline/);
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
    expect(medianWindowAuc(report)).toBeNull();
    expect(report.policy.realized_block_rate).toBeNull();
    expect(configuredEntry(report)).toMatchObject({ deployments: 0, blocked_rate: null, caught_rate: null, precision: null, net_benefit: 0, net_per_stop: null });
  });

  it('takes the median of the window AUCs that exist', () => {
    const window = (auc: number | null) => ({ auc });
    const report = { auc_over_time: [window(0.9), window(null), window(0.5), window(0.7), window(0.6)] } as never;
    expect(medianWindowAuc(report)).toBeCloseTo(0.65, 12);
  });
});

describe('ReportBuilder input checks', () => {
  const builder = () => new ReportBuilder(SETTINGS);

  it('rejects a probability outside [0, 1], naming the deployment and the field', () => {
    expect(() => builder().addDeployment(deployment('d-bad', 1, { probability: 1.5 }))).toThrow(ReportInputError);
    expect(() => builder().addDeployment(deployment('d-bad', 1, { probability: 1.5 }))).toThrow(/^report: deployment d-bad: probability: /);
  });

  it('rejects a block budget outside 0.5 % to 30 %, and a deployment with neither a budget nor a cut', () => {
    expect(() => builder().addDeployment(deployment('d-1', 1, { blockBudget: 0.5 }))).toThrow(/^report: deployment d-1: blockBudget: a block budget is a share between 0.005 and 0.3/);
    expect(() => builder().addDeployment(deployment('d-2', 1, { blockBudget: null, cut: null }))).toThrow(
      'report: deployment d-2: cut: a deployment without a block budget was decided by a fixed threshold, which is its cut',
    );
  });

  it('rejects more differing history features than were served, and fractional counts', () => {
    expect(() => builder().addDeployment(deployment('d-3', 1, { historyFeaturesServed: 2, historyFeaturesDiffering: 3 }))).toThrow(
      'report: deployment d-3: historyFeaturesDiffering: 3 differing history features of 2 served',
    );
    expect(() => builder().addDeployment(deployment('d-4', 1, { historyFeaturesServed: 1.5 }))).toThrow(/^report: deployment d-4: historyFeaturesServed: /);
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

  it('rejects the old fields: a per-deployment threshold and the re-scored never-retrain probability', () => {
    expect(() => builder().addDeployment({ ...deployment('d-10', 1), threshold: 0.2, neverRetrainProbability: 0.1 } as ReplayedDeployment)).toThrow(
      /deployment d-10: .*threshold.*neverRetrainProbability|deployment d-10: .*neverRetrainProbability.*threshold/,
    );
  });

  it('rejects timeline events without what they need: an alarm without its name, a retraining without its trigger', () => {
    expect(() => builder().addTimelineEvent({ at: at(1), kind: 'exploded' } as never)).toThrow(/^report: timeline event 1: kind: /);
    expect(() => builder().addTimelineEvent({ at: at(1), kind: 'drift-alarm', detail: 'model-auc' } as never)).toThrow(/^report: timeline event 1: alarmName: /);
    expect(() => builder().addTimelineEvent({ at: at(1), kind: 'retraining-started', detail: 'job' } as never)).toThrow(/^report: timeline event 1: trigger: /);
    expect(() => builder().addTimelineEvent({ at: at(1), kind: 'retraining-started', trigger: { type: 'alarm' } } as never)).toThrow(
      /^report: timeline event 1: trigger\.alarmName: /,
    );
  });

  it('rejects empty dead-letter reasons, malformed drift decisions and bad windows', () => {
    expect(() => builder().addDeadLetter({ at: at(1), rule: 'r', target: 't', reason: '' })).toThrow(/^report: dead letter 1: reason: /);
    expect(() => builder().addDriftDecision('Started!')).toThrow('report: drift decision 1: (record): expected a status or reason such as started or cooldown');
    expect(() => new ReportBuilder(SETTINGS, { window: { by: 'deployments', size: 0 } })).toThrow(/window .* must be/);
  });

  it('rejects settings with both a block budget and a threshold, or neither, or costs that are not positive', () => {
    expect(() => new ReportBuilder({ ...SETTINGS, threshold: 0.3 })).toThrow(
      'report: generation settings: threshold: a fixed threshold decides instead of the block budget: give one of them, with blockBudget null for a threshold',
    );
    expect(() => new ReportBuilder({ ...SETTINGS, blockBudget: null })).toThrow(
      'report: generation settings: blockBudget: give the block budget, or the fixed threshold that decided instead of one',
    );
    expect(() => new ReportBuilder({ ...SETTINGS, blockBudget: null, threshold: 2 })).toThrow(/^report: generation settings: threshold: /);
    expect(() => new ReportBuilder({ ...SETTINGS, costs: { failedDeployment: 0, needlessRollback: 1 } })).toThrow(/^report: generation settings: costs\.failedDeployment: /);
  });
});
