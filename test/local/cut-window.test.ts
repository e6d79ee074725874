import { BLOCK_BUDGET, initialCutState, observe, reachesCut, rescore, type CutState } from '../../model/block-budget';
import { BudgetCut, ScoreWindow } from '../../local/cut-window';
import { seededRandom as random } from '../support/random';


/**
 * The same stream through block-budget.ts, as handlers/cuts.ts runs it (a pooled CutState observed
 * first, each group's observed with the pooled scores), and through the fast cut.
 */
class BothCuts {
  pooledState = initialCutState(BLOCK_BUDGET.default, 'm1');
  readonly groups = new Map<string, CutState>();
  readonly pooled = new ScoreWindow<string>();
  readonly fast = new Map<string, { window: ScoreWindow<string>; cut: BudgetCut }>();

  constructor(private readonly budget: number) {}

  /** Decides with the group's cut (the pooled quantile while it has none), as predict does, in both. */
  step(group: string, id: string, probability: number, at: number): { reference: boolean; fast: boolean } {
    const state = this.groups.get(group);
    const referenceCut = state?.cut ?? pooledQuantile(this.pooledState.scores, this.budget);
    const reference = reachesCut(probability, referenceCut);
    const observation = { deploymentId: id, probability, stopped: reference, decidedByCut: referenceCut !== null, modelVersion: 'm1' };
    this.pooledState = observe(this.pooledState, observation, [], at);
    this.groups.set(group, observe(state ?? initialCutState(this.budget, 'm1'), observation, this.pooledState.scores, at));

    let entry = this.fast.get(group);
    if (!entry) {
      const window = new ScoreWindow<string>();
      entry = { window, cut: new BudgetCut(this.budget, window) };
      this.fast.set(group, entry);
    }
    const fastCut = entry.cut.cut ?? this.pooled.upperQuantile(this.budget) ?? null;
    const fast = reachesCut(probability, fastCut);
    this.pooled.push(probability, id);
    entry.window.push(probability, id);
    entry.cut.observe(fast, fastCut !== null, this.pooled);
    return { reference, fast };
  }

  /** A promotion: every window re-scored by `score` (undefined: the deployment cannot be scored). */
  promote(score: (id: string) => number | undefined, at: number): void {
    this.pooledState = rescore(this.pooledState, this.pooledState.deploymentIds.map(score), 'm2', [], at);
    for (const [group, state] of this.groups) this.groups.set(group, rescore(state, state.deploymentIds.map(score), 'm2', this.pooledState.scores, at));
    this.pooled.rescore(score);
    for (const { window, cut } of this.fast.values()) {
      window.rescore(score);
      cut.refresh(this.pooled);
    }
  }

  expectSame(): void {
    for (const [group, state] of this.groups) {
      const { window, cut } = this.fast.get(group)!;
      expect({ group, cut: cut.cut, source: cut.cutSource, decided: cut.decided, stopped: cut.stopped, share: cut.effectiveBudget, scores: window.scores() }).toEqual({
        group,
        cut: state.cut,
        source: state.cutSource,
        decided: state.decided,
        stopped: state.stopped,
        share: state.effectiveBudget,
        scores: state.scores,
      });
    }
    expect(this.pooled.scores()).toEqual(this.pooledState.scores);
  }
}

function pooledQuantile(scores: readonly number[], budget: number): number | null {
  if (scores.length === 0) return null;
  const sorted = Float64Array.from(scores).sort();
  return sorted[sorted.length - Math.min(sorted.length, Math.max(1, Math.ceil(budget * sorted.length)))];
}

describe('the fast cut (local/cut-window.ts)', () => {
  it.each([0.05, 0.1, 0.2])('takes the same decisions and cuts as block-budget.ts at budget %s, through window turnover, ties and a promotion', (budget) => {
    const next = random(11);
    const both = new BothCuts(budget);
    const groups = ['small', 'medium', 'large', 'large', 'large', 'medium'];
    // Coarse scores tie often, fine ones rarely: both must agree on either.
    const probability = (index: number) => (index % 3 === 0 ? Math.round(next() * 20) / 20 : next() ** 2);
    for (let index = 0; index < 6000; index += 1) {
      const group = groups[Math.floor(next() * groups.length)];
      const decision = both.step(group, `d-${index}`, probability(index), index);
      expect(decision.fast).toBe(decision.reference);
      if (index % 397 === 0) both.expectSame();
      if (index === 4000) {
        // The new model cannot score one deployment in ten; the others are re-scored.
        both.promote((id) => (Number(id.slice(2)) % 10 === 0 ? undefined : (Number(id.slice(2)) * 7919) % 1000 / 1000), index);
        both.expectSame();
      }
    }
    both.expectSame();
  });

  it('keeps the same scores sorted as it keeps in order, through turnover', () => {
    const next = random(3);
    const window = new ScoreWindow<number>(50);
    for (let index = 0; index < 500; index += 1) {
      window.push(Math.floor(next() * 10) / 10, index);
      const sorted = Float64Array.from(window.scores()).sort();
      expect(window.upperQuantile(0.1)).toBe(sorted[sorted.length - Math.ceil(0.1 * sorted.length)]);
      expect(window.countAtLeast(0.5)).toBe(window.scores().filter((score) => score >= Math.fround(0.5)).length);
      expect(window.countAbove(0.5)).toBe(window.scores().filter((score) => score > Math.fround(0.5)).length);
    }
  });

  it('follows a changing budget and pays back what it owed at the budgets it had', () => {
    const next = random(5);
    const window = new ScoreWindow<null>();
    const cut = new BudgetCut(0.1, window);
    let stops = 0;
    let owed = 0;
    for (let index = 0; index < 20_000; index += 1) {
      const budget = index < 10_000 ? 0.05 : 0.15;
      cut.setBudget(budget);
      const decided = cut.cut !== null;
      if (decided) owed += budget;
      const probability = next();
      const stopped = cut.reaches(probability);
      if (stopped) stops += 1;
      window.push(probability, null);
      cut.observe(stopped, decided, window);
    }
    expect(Math.abs(stops - owed) / 20_000).toBeLessThan(0.01);
  });

  it('refuses a score that is not a number and a budget out of bounds', () => {
    expect(() => new ScoreWindow<null>().push(Number.NaN, null)).toThrow("a cut's window takes finite scores, got NaN");
    expect(() => new BudgetCut(0.5, new ScoreWindow<null>())).toThrow('block budget must be a share of deployments between 0.005 and 0.3');
  });
});
