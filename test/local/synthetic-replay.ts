import { ReportBuilder, type ReplayedDeployment, type WindowSpec } from '../../local/report-model';

/**
 * A realistic synthetic backtest run (no engine yet): four deployment groups, one with a hostile
 * name, one in shadow mode; a year of deployments; a first model that decays (drift), alarms,
 * retrainings, a promotion after each but one rejection; a dead letter. Deterministic (seeded).
 */

export const HOSTILE_APPLICATION = 'ops<&"tools">';
export const HOSTILE_GROUP = `${HOSTILE_APPLICATION}/deploy'<script>`;

const GROUPS = [
  { application: 'payments', group: 'payments/prod', baseRate: 0.12, enforced: true },
  { application: 'web', group: 'web/blue-green', baseRate: 0.2, enforced: true },
  { application: 'search', group: 'search/canary', baseRate: 0.1, enforced: false },
  { application: HOSTILE_APPLICATION, group: HOSTILE_GROUP, baseRate: 0.25, enforced: true },
];

const START = Date.parse('2023-01-02T08:00:00Z');
const HOUR = 3_600_000;

/** Park-Miller minimal standard generator: reproducible without a library. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export interface SyntheticRun {
  readonly builder: ReportBuilder;
  readonly deployments: readonly ReplayedDeployment[];
}

export function syntheticRun(options: { deployments?: number; window?: WindowSpec } = {}): SyntheticRun {
  const total = options.deployments ?? 3000;
  const next = random(20240601);
  const builder = new ReportBuilder({ mode: 'gate', threshold: 0.5, dataSource: 'data/ci-bfdetector (synthetic)', limit: null }, { window: options.window });
  // The served model: its version, when it was trained (its skill decays with age).
  let served: { version: string; trainedAt: number } | null = null;
  let firstModelTrainedAt: number | null = null;
  let versionNumber = 0;
  let lastRetraining = -Infinity;
  const deployments: ReplayedDeployment[] = [];
  let time = START;
  for (let index = 0; index < total; index += 1) {
    time += Math.round((0.5 + next() * 4) * HOUR);
    const group = GROUPS[Math.floor(next() * GROUPS.length)];
    const risk = next();
    const failed = next() < group.baseRate + 0.5 * risk * risk;
    // A model separates failures well when fresh and loses that skill over about four months.
    const skillAt = (trainedAt: number) => Math.max(0, 1.2 - (time - trainedAt) / (100 * 24 * HOUR));
    const noise = () => (next() - 0.5) * 5;
    if (served === null && index === 100) {
      versionNumber += 1;
      served = { version: `v${versionNumber}`, trainedAt: time };
      firstModelTrainedAt = time;
      builder.addTimelineEvent({ at: time - HOUR, kind: 'promoted', modelVersion: served.version, detail: 'first model' });
    }
    const score = (trainedAt: number) => sigmoid(skillAt(trainedAt) * (failed ? 1 : -1) + (risk - 0.6) + noise());
    const probability = served === null ? null : score(served.trainedAt);
    const neverRetrain = firstModelTrainedAt === null ? null : score(firstModelTrainedAt);
    const decision = probability !== null && probability >= 0.5 ? 'rollback' : 'proceed';
    const rollbackRequested = decision === 'rollback' && group.enforced;
    const record: ReplayedDeployment = {
      deploymentId: `d-${String(index).padStart(9, '0')}`,
      application: group.application,
      deploymentGroup: group.group,
      startedAt: time,
      failed,
      probability,
      threshold: 0.5,
      decision,
      enforced: group.enforced,
      rollbackRequested,
      // Now and then the deployment completes before the stop arrives.
      stopped: rollbackRequested && next() > 0.03,
      modelVersion: served?.version ?? null,
      neverRetrainProbability: neverRetrain,
    };
    deployments.push(record);
    builder.addDeployment(record);
    // Drift: the served model has aged 60 days: alarm, retrain, promote (the third candidate is rejected).
    if (served !== null && time - served.trainedAt > 60 * 24 * HOUR && time - lastRetraining > 10 * 24 * HOUR) {
      lastRetraining = time;
      builder.addTimelineEvent({ at: time + HOUR, kind: 'drift-alarm', detail: 'deploy-guard-dev-model-auc ALARM' });
      builder.addTimelineEvent({ at: time + 2 * HOUR, kind: 'retraining-started', detail: `job deploy-guard-${index}` });
      versionNumber += 1;
      const candidate = `v${versionNumber}`;
      if (versionNumber === 3) {
        builder.addTimelineEvent({ at: time + 5 * HOUR, kind: 'rejected', modelVersion: candidate, detail: 'AUC 0.61 < current 0.66' });
      } else {
        builder.addTimelineEvent({ at: time + 5 * HOUR, kind: 'promoted', modelVersion: candidate, detail: 'AUC 0.78 > current 0.64' });
        served = { version: candidate, trainedAt: time };
      }
    }
  }
  builder.addDeadLetter({
    at: START + 40 * 24 * HOUR,
    rule: 'deploy-guard-dev-record-outcome',
    target: 'record-outcome',
    reason: 'Lambda error after 3 retries: ProvisionedThroughputExceeded <table "deployments">',
  });
  return { builder, deployments };
}
