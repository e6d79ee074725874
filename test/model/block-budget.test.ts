import {
  BLOCK_BUDGET,
  CUT_SETTINGS,
  changeBudget,
  checkBlockBudget,
  effectiveBudget,
  initialCutState,
  observe,
  reachesCut,
  realizedRate,
  rescore,
  upperQuantile,
  type CutState,
} from '../../model/block-budget';
import { seededRandom as random } from '../support/random';

/** Runs a stream of probabilities through a group's cut as predict does: decide by the current cut, then observe. */
function run(state: CutState, probabilities: readonly number[], pooled: readonly number[] = []): { state: CutState; stops: number } {
  let stops = 0;
  probabilities.forEach((probability, index) => {
    const stopped = reachesCut(probability, state.cut);
    if (stopped) stops += 1;
    state = observe(state, { deploymentId: `d-${index}`, probability, stopped, decidedByCut: state.cut !== null, modelVersion: state.modelVersion }, pooled, index);
  });
  return { state, stops };
}

describe('the block budget', () => {
  it('is a share between 0.5 % and 30 %, 10 % by default', () => {
    expect(BLOCK_BUDGET.default).toBe(0.1);
    expect(checkBlockBudget(0.005)).toBe(0.005);
    expect(checkBlockBudget(0.3)).toBe(0.3);
    expect(() => checkBlockBudget(0.31, 'groups[0].blockBudget')).toThrow('groups[0].blockBudget must be a share of deployments between 0.005 and 0.3 (0.5 % to 30 %), got 0.31');
    expect(() => checkBlockBudget(Number.NaN)).toThrow(RangeError);
  });

  it('takes the cut as the (1 - k) quantile: the ceil(k n)-th largest score', () => {
    const scores = Array.from({ length: 100 }, (_, index) => (index + 1) / 100);
    expect(upperQuantile(scores, 0.1)).toBe(0.91);
    expect(upperQuantile(scores, 0.005)).toBe(1);
    expect(upperQuantile([], 0.1)).toBeUndefined();
  });

  it('stops nothing before there is any score to take a cut from', () => {
    expect(reachesCut(0.99, initialCutState(0.1, 'm1').cut)).toBe(false);
  });

  it.each([0.05, 0.1, 0.2])('holds a realized stop rate within 1 pp of the budget %s on a stationary stream', (budget) => {
    const next = random(7);
    const probabilities = Array.from({ length: 20_000 }, () => next() ** 3);
    const { state, stops } = run(initialCutState(budget, 'm1'), probabilities);
    expect(Math.abs(stops / probabilities.length - budget)).toBeLessThan(0.01);
    expect(Math.abs(realizedRate(state)! - budget)).toBeLessThan(0.01);
  });

  it('holds the budget when each stop raises the next score (a stopped deployment hides its outcome, so the history stays risky)', () => {
    const next = random(5);
    let state = initialCutState(0.1, 'm1');
    let stops = 0;
    let lastStopped = false;
    for (let index = 0; index < 20_000; index += 1) {
      // After a stop the next deployment looks as risky again: a stop chain, as in the loop.
      const probability = lastStopped ? Math.min(1, 0.6 + next() * 0.4) : next() ** 2;
      lastStopped = reachesCut(probability, state.cut);
      if (lastStopped) stops += 1;
      state = observe(state, { deploymentId: `d-${index}`, probability, stopped: lastStopped, decidedByCut: state.cut !== null, modelVersion: 'm1' }, [], index);
    }
    expect(Math.abs(stops / 20_000 - 0.1)).toBeLessThan(0.01);
  });

  it('pays back a surplus of stops when the model grows more confident over time (the slow correction)', () => {
    const next = random(11);
    // Scores drift upward: a cut taken over the recent window lags behind and stops too many.
    const probabilities = Array.from({ length: 20_000 }, (_, index) => Math.min(1, next() * 0.5 + index / 40_000));
    const { stops } = run(initialCutState(0.1, 'm1'), probabilities);
    expect(Math.abs(stops / probabilities.length - 0.1)).toBeLessThan(0.01);
  });

  it('keeps the effective budget between a tenth and three times the budget (and at most a half)', () => {
    expect(effectiveBudget({ budget: 0.1, decided: 10_000, stopped: 0 })).toBeCloseTo(0.3);
    expect(effectiveBudget({ budget: 0.1, decided: 10_000, stopped: 5_000 })).toBeCloseTo(0.01);
    expect(effectiveBudget({ budget: 0.3, decided: 10_000, stopped: 0 })).toBeCloseTo(0.5);
    expect(effectiveBudget({ budget: 0.1, decided: 1_000, stopped: 90 })).toBeCloseTo(0.11);
  });

  it('borrows the pooled cut until the group has enough scores of its own, then takes its own', () => {
    const pooled = Array.from({ length: 1000 }, (_, index) => index / 1000);
    let state = initialCutState(0.1, 'm1');
    state = observe(state, { deploymentId: 'd-0', probability: 0.01, stopped: false, decidedByCut: false, modelVersion: 'm1' }, pooled, 0);
    expect(state.cutSource).toBe('pooled');
    expect(state.cut).toBe(0.9);
    const own = Array.from({ length: CUT_SETTINGS.ownScoresNeeded }, (_, index) => index / 10_000);
    ({ state } = run(state, own, pooled));
    expect(state.cutSource).toBe('group');
    expect(state.cut).toBeLessThan(0.02);
    expect(state.history.map((change) => change.source)).toEqual(expect.arrayContaining(['pooled', 'group']));
  });

  it('keeps at most the window of recent scores, with the deployments they belong to', () => {
    const { state } = run(initialCutState(0.1, 'm1'), Array.from({ length: CUT_SETTINGS.window + 10 }, () => 0.5));
    expect(state.scores).toHaveLength(CUT_SETTINGS.window);
    expect(state.deploymentIds[0]).toBe('d-10');
  });

  it('after a promotion takes the cut over the same deployments re-scored by the new model', () => {
    const { state } = run(initialCutState(0.1, 'm1'), Array.from({ length: 400 }, (_, index) => index / 400));
    const rescored = state.scores.map((score, index) => (index === 0 ? undefined : score / 10));
    const after = rescore(state, rescored, 'm2', [], 99);
    expect(after.modelVersion).toBe('m2');
    expect(after.scores).toHaveLength(399);
    expect(after.deploymentIds[0]).toBe('d-1');
    expect(after.cut).toBe(upperQuantile(after.scores, effectiveBudget(state)));
    expect(after.cut).toBeLessThan(0.1);
    expect(after.history.at(-1)).toMatchObject({ reason: 'promotion', modelVersion: 'm2', at: 99 });
    expect(() => rescore(state, [0.1], 'm2', [], 99)).toThrow('re-scored 1 deployments, the cut\'s window holds 400');
  });

  it('starts the realized counts over when the budget changes', () => {
    const { state } = run(initialCutState(0.1, 'm1'), Array.from({ length: 300 }, (_, index) => index / 300));
    const changed = changeBudget(state, 0.2, [], 5);
    expect(changed).toMatchObject({ budget: 0.2, decided: 0, stopped: 0 });
    expect(changed.cut).toBe(upperQuantile(state.scores, 0.2));
    expect(changed.history.at(-1)).toMatchObject({ reason: 'budget-changed', effectiveBudget: 0.2 });
  });
});
