import { DEFAULT_HISTORY_LIMIT } from '../../handlers/predict';
import { DEFAULT_MINIMUM_TRAINING_ROWS } from '../../handlers/config';
import { TIMINGS } from '../../local/backtest';
import {
  DEFAULT_FINISH_AFTER_MS,
  DEFAULT_HISTORY_READ,
  DEFAULT_MINIMUM_REFIT_ROWS,
  InLoopPolicies,
  comparisonEntry,
  heuristicRisk,
  type BudgetedRun,
  type DeploymentStart,
  type InLoopPoliciesOptions,
  type ScoringModel,
} from '../../local/in-loop-policies';
import { createFeatureList } from '../../model/features';
import { seededRandom as random } from '../support/random';


const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FINISH_AFTER = 15 * MINUTE;
const T0 = Date.UTC(2024, 0, 1);
const GROUPS = ['app-a/production', 'app-b/production', 'app-c/production'];

/** A model that reads its features by name: what a promoted model with its own feature list looks like. */
function model(version: string, names: readonly string[], score: (features: Readonly<Record<string, number>>) => number): ScoringModel {
  const features = createFeatureList({ names, groups: GROUPS });
  return {
    version,
    features,
    predict: (vector) => score(Object.fromEntries(names.map((name, index) => [name, vector[index]]))),
  };
}

/** Risk from the size of the change only: its scores do not depend on what the loop saw. */
const BY_SIZE = model('by-size', ['commits'], ({ commits }) => (Number.isNaN(commits) ? 0.5 : commits / 1000));

interface Planned extends DeploymentStart {
  readonly failed: boolean;
}

/**
 * The replay's part: every start and finish in virtual-time order, a finish before a start at the
 * same instant; `beforeStart` runs just before each start (to call onRetrain or onPromotion), and
 * `afterStart` just after it (to read its stops).
 */
function replay(policies: InLoopPolicies, deployments: readonly Planned[], hooks: { afterStart?: (d: Planned) => void; beforeStart?: (d: Planned) => void } = {}): void {
  const running: Planned[] = [];
  const finishUntil = (time: number) => {
    running.sort((a, b) => a.start - b.start);
    while (running.length > 0 && running[0].start + FINISH_AFTER <= time) {
      const done = running.shift()!;
      policies.onFinish(done.id, done.failed, done.start + FINISH_AFTER);
    }
  };
  for (const deployment of deployments) {
    finishUntil(deployment.start);
    hooks.beforeStart?.(deployment);
    policies.onStart(deployment);
    hooks.afterStart?.(deployment);
    running.push(deployment);
  }
  finishUntil(Infinity);
}

/** `count` deployments of the groups, one every `spacing`, commits uniform in [0, 1000), failing with `failureShare`. */
function history(options: { readonly count: number; readonly seed: number; readonly warmUp?: number; readonly spacing?: number; readonly failureShare?: number; readonly groups?: readonly string[] }): Planned[] {
  const next = random(options.seed);
  const groups = options.groups ?? GROUPS;
  return Array.from({ length: options.count }, (_, index) => ({
    id: `d-${index}`,
    group: groups[index % groups.length],
    start: T0 + index * (options.spacing ?? HOUR),
    change: { commits: Math.floor(next() * 1000) },
    author: `author-${Math.floor(next() * 4)}`,
    warmUp: index < (options.warmUp ?? 0),
    failed: next() < (options.failureShare ?? 0.2),
  }));
}

function policiesWith(options: Partial<InLoopPoliciesOptions> = {}): InLoopPolicies {
  return new InLoopPolicies({ firstModel: BY_SIZE, retrainingWindowDays: 180, budgets: [0.1], atParrotRate: [], ...options });
}

const DEPLOY_GUARD: BudgetedRun = { predictor: 'deploy-guard', budget: 0.1 };
const SHADOW: BudgetedRun = { predictor: 'shadow-reference', budget: 0.1 };

describe('the fair baselines, each in its own loop', () => {
  it("hides a stopped deployment's outcome from the policy that stopped it, and not from the shadow reference", () => {
    const policies = policiesWith();
    replay(policies, history({ count: 300, seed: 1, warmUp: 300, groups: ['app-a/production'] }));
    const start = T0 + 400 * HOUR;
    // The largest change of the group: past every cut.
    policies.onStart({ id: 'risky', group: 'app-a/production', start, change: { commits: 999 } });
    expect(policies.stops('risky')).toEqual(expect.arrayContaining([DEPLOY_GUARD, SHADOW]));
    const before = policies.historyFeatures(DEPLOY_GUARD, 'app-a/production', start);
    policies.onFinish('risky', true, start + FINISH_AFTER);

    const later = start + HOUR;
    const stopper = policies.historyFeatures(DEPLOY_GUARD, 'app-a/production', later);
    // Deploy Guard knows a deployment happened, not that it failed.
    expect(stopper.deploymentsLast24h).toBe(1);
    expect(stopper.hoursSinceLastDeployment).toBe(1);
    expect(stopper.previousFailed).toBe(before.previousFailed);
    expect(stopper.failureRateOverall).toBe(before.failureRateOverall);
    // The shadow reference saw it fail.
    const shadow = policies.historyFeatures(SHADOW, 'app-a/production', later);
    expect(shadow.previousFailed).toBe(1);
    expect(shadow.failureRateOverall).toBeGreaterThan(before.failureRateOverall!);
  });

  it('shows an outcome to every policy that let the deployment through', () => {
    const policies = policiesWith();
    replay(policies, history({ count: 300, seed: 2, warmUp: 300, groups: ['app-a/production'] }));
    const start = T0 + 400 * HOUR;
    policies.onStart({ id: 'small', group: 'app-a/production', start, change: { commits: 0 } });
    const stoppedBy = policies.stops('small');
    expect(stoppedBy).not.toContainEqual(DEPLOY_GUARD);
    policies.onFinish('small', true, start + FINISH_AFTER);
    for (const run of policies.runs) {
      if (run.predictor === 'parrot-in-loop') continue;
      const sawIt = policies.historyFeatures(run, 'app-a/production', start + HOUR).previousFailed === 1;
      expect({ run, sawIt }).toEqual({ run, sawIt: !stoppedBy.some((stopper) => stopper.predictor === run.predictor && stopper.budget === run.budget) });
    }
  });

  it('runs Parrot on what it saw: it stops after a failure it let through, and not after a failure it stopped', () => {
    const policies = policiesWith();
    const group = 'app-a/production';
    const parrotStops = (id: string) => policies.stops(id).some((run) => run.predictor === 'parrot-in-loop');
    const at = (hours: number) => T0 + hours * HOUR;

    policies.onStart({ id: 'fails', group, start: at(0), change: {} });
    policies.onFinish('fails', true, at(0) + FINISH_AFTER);
    policies.onStart({ id: 'after-a-seen-failure', group, start: at(1), change: {} });
    expect(parrotStops('after-a-seen-failure')).toBe(true);
    policies.onFinish('after-a-seen-failure', true, at(1) + FINISH_AFTER);
    policies.onStart({ id: 'after-a-stopped-failure', group, start: at(2), change: {} });
    expect(parrotStops('after-a-stopped-failure')).toBe(false);
    policies.onFinish('after-a-stopped-failure', false, at(2) + FINISH_AFTER);

    // A failure still running is not seen: the deployment that starts meanwhile repeats the last finished outcome.
    policies.onStart({ id: 'fails-slowly', group, start: at(3), change: {} });
    policies.onStart({ id: 'while-it-runs', group, start: at(3) + 5 * MINUTE, change: {} });
    expect(parrotStops('while-it-runs')).toBe(false);
    policies.onFinish('fails-slowly', true, at(3) + FINISH_AFTER);
    policies.onFinish('while-it-runs', false, at(3) + 5 * MINUTE + FINISH_AFTER);
    policies.onStart({ id: 'after-both', group, start: at(4), change: {} });
    // The latest to finish was let through and succeeded.
    expect(parrotStops('after-both')).toBe(false);

    const parrot = policies.results().entries.find((entry) => entry.predictor === 'parrot-in-loop')!;
    expect(parrot).toMatchObject({ deployments: 5, blocked: 1, failures: 3, caught: 1, budget: null, budget_kind: 'natural', achievable: true });
  });

  it('holds each budget: realized blocked rate within 1 pp of 5, 10 and 20 % over a few thousand deployments', () => {
    // A score the loop cannot move (the size of the change): what is held is the cut's doing alone.
    const policies = policiesWith({ budgets: [0.05, 0.1, 0.2], atParrotRate: ['deploy-guard', 'never-retrain'] });
    replay(policies, history({ count: 4500, seed: 3, warmUp: 600 }));
    const { entries } = policies.results();
    const parrot = entries.find((entry) => entry.predictor === 'parrot-in-loop')!;
    const held = entries.filter((entry) => ['deploy-guard', 'never-retrain', 'shadow-reference'].includes(entry.predictor));
    expect(held).toHaveLength(3 * 3 + 2);
    for (const entry of held) {
      const target = entry.budget_kind === 'parrot-rate' ? parrot.blocked_rate! : entry.budget!;
      expect({ predictor: entry.predictor, budget: entry.budget, within1pp: Math.abs(entry.blocked_rate! - target) <= 0.01 }).toEqual({
        predictor: entry.predictor,
        budget: entry.budget,
        within1pp: true,
      });
    }
  });

  it('holds the heuristic to its budgets when its scores tie at the cut, by stopping a share of the ties', () => {
    // Nothing ever fails: every heuristic score is 0, every deployment ties at the cut.
    const policies = policiesWith({ budgets: [0.05, 0.1, 0.2] });
    replay(policies, history({ count: 4500, seed: 7, warmUp: 600, failureShare: 0 }));
    const heuristic = policies.results().entries.filter((entry) => entry.predictor === 'heuristic');
    expect(heuristic.map((entry) => Math.abs(entry.blocked_rate! - entry.budget!) <= 0.01)).toEqual([true, true, true]);
  });

  it('fits logistic regression up front on the warm-up deployments given, or else on the warm-up rows it observed', () => {
    const run: BudgetedRun = { predictor: 'logistic-regression', budget: 0.1 };
    const deployments = history({ count: 800, seed: 8, warmUp: 600 });
    const given = policiesWith({ warmUpDeployments: deployments.slice(0, 600) });
    const observed = policiesWith();
    replay(given, deployments.slice(0, 600));
    replay(observed, deployments.slice(0, 600));
    // Given: it assessed the warm-up, so it has cuts; observed: no model yet, no score, no cut.
    expect(given.cut(run, GROUPS[0])).not.toBeNull();
    expect(observed.cut(run, GROUPS[0])).toBeNull();
    observed.onWarmUpFinished(deployments[600].start);
    expect(observed.cut(run, GROUPS[0])).not.toBeNull();
  });

  it('refits logistic regression on the rows it let through, of the retraining window only', () => {
    const policies = policiesWith({ retrainingWindowDays: 60, minimumTrainingRows: 50 });
    const run: BudgetedRun = { predictor: 'logistic-regression', budget: 0.1 };
    const stopped = new Set<string>();
    const deployments = history({ count: 3000, seed: 4, warmUp: 500, spacing: 2 * HOUR });
    let cutBefore: number | null = null;
    let rows: ReturnType<InLoopPolicies['trainingRows']> = [];
    replay(policies, deployments, {
      afterStart: (deployment) => {
        if (policies.stops(deployment.id).some((each) => each.predictor === 'logistic-regression')) stopped.add(deployment.id);
      },
      beforeStart: (deployment) => {
        if (deployment.id === 'd-2000') {
          rows = policies.trainingRows(0.1, deployment.start);
          cutBefore = policies.cut(run, GROUPS[2]);
          policies.onRetrain(deployment.start);
          // The refit re-scored the windows: the cut moved.
          expect(policies.cut(run, GROUPS[2])).not.toBe(cutBefore);
        }
      },
    });
    const at = deployments[2000].start;
    const expected = deployments.filter((deployment) => !deployment.warmUp && !stopped.has(deployment.id) && deployment.start >= at - 60 * DAY && deployment.start + FINISH_AFTER <= at);
    expect(stopped.size).toBeGreaterThan(100);
    expect(rows.map((row) => row.id)).toEqual(expected.map((deployment) => deployment.id));
    expect(rows.map((row) => row.failed)).toEqual(expected.map((deployment) => deployment.failed));
  });

  it('counts nothing in the warm-up, stops nothing, and fills the histories', () => {
    const policies = policiesWith({ atParrotRate: ['deploy-guard'] });
    const warmUp = history({ count: 600, seed: 5, warmUp: 600, failureShare: 0.5 });
    replay(policies, warmUp, { afterStart: (deployment) => expect(policies.stops(deployment.id)).toEqual([]) });
    for (const entry of policies.results().entries) expect({ predictor: entry.predictor, deployments: entry.deployments, blocked: entry.blocked, failures: entry.failures }).toEqual({ predictor: entry.predictor, deployments: 0, blocked: 0, failures: 0 });
    const seen = policies.historyFeatures(DEPLOY_GUARD, GROUPS[0], T0 + 700 * HOUR);
    const failures = warmUp.filter((deployment) => deployment.group === GROUPS[0] && deployment.failed).length;
    expect(seen.failureRateOverall).toBeCloseTo((failures + 1) / (200 + 2), 12);
  });

  it('keeps to the timing rule: a deployment joins a history when it finishes, not when it starts', () => {
    const policies = policiesWith();
    const group = 'app-a/production';
    // Warm-up deployments: nothing is stopped, so each joins the histories only at its finish.
    policies.onStart({ id: 'first', group, start: T0, change: {}, warmUp: true });
    policies.onStart({ id: 'second', group, start: T0 + 5 * MINUTE, change: {}, warmUp: true });
    expect(policies.historyFeatures(DEPLOY_GUARD, group, T0 + 5 * MINUTE)).toEqual({ consecutiveFailures: 0, failureRateOverall: 0.5, deploymentsLast24h: 0 });
    policies.onFinish('first', true, T0 + FINISH_AFTER);
    expect(policies.historyFeatures(DEPLOY_GUARD, group, T0 + 20 * MINUTE)).toMatchObject({ previousFailed: 1, deploymentsLast24h: 1 });
    expect(() => policies.onStart({ id: 'late', group, start: T0 + 10 * MINUTE, change: {}, warmUp: true })).toThrow(
      'onStart at 2024-01-01T00:10:00.000Z comes after a call at 2024-01-01T00:15:00.000Z: drive the policies in virtual-time order (the timing rule depends on it)',
    );
    expect(() => policies.onFinish('never-started', false, T0 + HOUR)).toThrow('deployment never-started finished but never started (call onStart first)');
  });

  it("re-scores the serving model's windows at a promotion, matching features by name", () => {
    const policies = policiesWith();
    const group = 'app-a/production';
    replay(policies, history({ count: 600, seed: 6, warmUp: 600, groups: [group] }));
    const start = T0 + 700 * HOUR;
    // The new model reads other features, in another order, and ranks changes the other way round.
    const inverse = model('inverse', ['deploymentGroup', 'failureRateOverall', 'commits'], ({ commits }) => 1 - commits / 1000);
    policies.onPromotion(inverse, start);
    policies.onStart({ id: 'small', group, start, change: { commits: 0 } });
    policies.onStart({ id: 'large', group, start: start + 1, change: { commits: 999 } });
    expect(policies.stops('small')).toEqual(expect.arrayContaining([DEPLOY_GUARD, SHADOW]));
    expect(policies.stops('large')).not.toContainEqual(DEPLOY_GUARD);
    expect(policies.stops('large')).not.toContainEqual(SHADOW);
    // Never-retrain keeps the first model.
    expect(policies.stops('large')).toContainEqual({ predictor: 'never-retrain', budget: 0.1 });
    expect(policies.stops('small')).not.toContainEqual({ predictor: 'never-retrain', budget: 0.1 });
  });

  it('runs Deploy Guard at every budget but the configured one, which the replay itself runs', () => {
    const policies = policiesWith({ budgets: [0.05, 0.1, 0.2], skipDeployGuardBudgets: [0.1], atParrotRate: ['deploy-guard'] });
    expect(policies.runs.filter((run) => run.predictor === 'deploy-guard').map((run) => run.budget)).toEqual([0.05, 0.2, 'parrot-rate']);
    expect(policies.runs.filter((run) => run.predictor === 'heuristic').map((run) => run.budget)).toEqual([0.05, 0.1, 0.2]);
  });

  it('derives the figures a team acts on from the counts, at costs 3:1 unless told', () => {
    expect(comparisonEntry('heuristic', { budget: 0.1, budget_kind: 'fixed' }, { deployments: 1000, blocked: 100, failures: 200, caught: 40 })).toEqual({
      predictor: 'heuristic',
      budget: 0.1,
      budget_kind: 'fixed',
      deployments: 1000,
      blocked: 100,
      failures: 200,
      caught: 40,
      blocked_rate: 0.1,
      caught_rate: 0.2,
      precision: 0.4,
      net_benefit: 3 * 40 - 60,
      net_per_stop: 0.6,
      achievable: true,
    });
    expect(comparisonEntry('shadow-reference', { budget: 0.1, budget_kind: 'fixed' }, { deployments: 0, blocked: 0, failures: 0, caught: 0 })).toMatchObject({
      blocked_rate: null,
      caught_rate: null,
      precision: null,
      net_per_stop: null,
      achievable: false,
    });
  });

  it('scores the heuristic as the observed recent failure rate plus whether the last observed deployment failed, missing as 0', () => {
    expect(heuristicRisk({ failureRateLast5: 0.4, previousFailed: 1 })).toBe(1.4);
    expect(heuristicRisk({})).toBe(0);
  });

  it("reads as many deployments as predict, refits on no fewer rows than drift retrains on, and lasts a deployment as the backtest's", () => {
    expect(DEFAULT_HISTORY_READ).toBe(DEFAULT_HISTORY_LIMIT);
    expect(DEFAULT_MINIMUM_REFIT_ROWS).toBe(DEFAULT_MINIMUM_TRAINING_ROWS);
    expect(DEFAULT_FINISH_AFTER_MS).toBe(TIMINGS.finishAfterMs);
  });
});
