import { CUT_SETTINGS, checkBlockBudget, correctedBudget, reachesCut, type CutSource } from '../model/block-budget';

/**
 * The block-budget cut of model/block-budget.ts, for replays that run it in many loops at once (the
 * in-loop baselines run ~25). Same decisions, cut for cut (a test holds it to block-budget.ts's
 * observe / refresh / rescore on random streams), but mutable and incremental:
 *
 * - block-budget.ts copies its 2,000-score window on every observation and sorts it on every
 *   refresh: 52 µs per observation, 64 s for 25 loops over the shipped history;
 * - here the window is a ring and the same scores are kept sorted (one binary search and one
 *   `copyWithin` per observation), so the quantile is a lookup: about 1 µs.
 *
 * One generalization: `setBudget` changes the budget without starting the realized counts over
 * (block-budget.ts's changeBudget does), so a budget that follows another policy's running rate
 * (Parrot's) still pays back against the stops it owed at the budgets it had: the stops owed are
 * sum over decisions of the budget then, minus the stops. With a fixed budget that is
 * budget x decided - stopped, exactly block-budget.ts's effectiveBudget.
 */

/** Recent scores, oldest first in a ring, kept sorted as well; each with the item it was scored from. */
export class ScoreWindow<T> {
  private readonly ring: Float64Array;
  private readonly items: (T | undefined)[];
  /** The same scores as the ring, ascending. */
  private readonly sorted: Float64Array;
  /** Ring position of the oldest score. */
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number = CUT_SETTINGS.window) {
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** A score joins the window as the float32 it is on the endpoint's scale (block-budget.ts observe). */
  push(probability: number, item: T): void {
    if (!Number.isFinite(probability)) throw new RangeError(`a cut's window takes finite scores, got ${probability}`);
    const score = Math.fround(probability);
    if (this.count === this.capacity) {
      removeSorted(this.sorted, this.count, this.ring[this.head]);
      insertSorted(this.sorted, this.count - 1, score);
      this.ring[this.head] = score;
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
    } else {
      insertSorted(this.sorted, this.count, score);
      const at = (this.head + this.count) % this.capacity;
      this.ring[at] = score;
      this.items[at] = item;
      this.count += 1;
    }
  }

  /** The same as block-budget.ts upperQuantile over the window: the ceil(share x n)-th largest score. */
  upperQuantile(share: number): number | undefined {
    const n = this.count;
    if (n === 0) return undefined;
    const above = Math.min(n, Math.max(1, Math.ceil(share * n)));
    return this.sorted[n - above];
  }

  /** Scores at or above `value` (as float32). */
  countAtLeast(value: number): number {
    return this.count - lowerBound(this.sorted, this.count, Math.fround(value));
  }

  /** Scores above `value` (as float32). */
  countAbove(value: number): number {
    return this.count - upperBound(this.sorted, this.count, Math.fround(value));
  }

  /** Items oldest first. */
  forEachItem(visit: (item: T) => void): void {
    for (let index = 0; index < this.count; index += 1) visit(this.items[(this.head + index) % this.capacity] as T);
  }

  /** Scores oldest first (a copy). */
  scores(): number[] {
    return Array.from({ length: this.count }, (_, index) => this.ring[(this.head + index) % this.capacity]);
  }

  /**
   * Every item re-scored (oldest first, as block-budget.ts rescore does); an item that cannot be
   * scored (undefined or not finite) leaves the window.
   */
  rescore(score: (item: T) => number | undefined): void {
    const kept: { score: number; item: T }[] = [];
    for (let index = 0; index < this.count; index += 1) {
      const item = this.items[(this.head + index) % this.capacity] as T;
      const value = score(item);
      if (value !== undefined && Number.isFinite(value)) kept.push({ score: Math.fround(value), item });
    }
    this.items.fill(undefined);
    this.head = 0;
    this.count = kept.length;
    kept.forEach(({ score: value, item }, index) => {
      this.ring[index] = value;
      this.items[index] = item;
      this.sorted[index] = value;
    });
    this.sorted.subarray(0, this.count).sort();
  }
}

/** Inserts `score` into the ascending `sorted[0, length)`, after any equal score. */
function insertSorted(sorted: Float64Array, length: number, score: number): void {
  const at = upperBound(sorted, length, score);
  sorted.copyWithin(at + 1, at, length);
  sorted[at] = score;
}

/** Removes one occurrence of `score` (present) from the ascending `sorted[0, length)`. */
function removeSorted(sorted: Float64Array, length: number, score: number): void {
  const at = lowerBound(sorted, length, score);
  sorted.copyWithin(at, at + 1, length);
}

/** The first index of the ascending `sorted[0, length)` holding a value at or above `value`. */
function lowerBound(sorted: Float64Array, length: number, value: number): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The first index of the ascending `sorted[0, length)` holding a value above `value`. */
function upperBound(sorted: Float64Array, length: number, value: number): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * One group's cut at one budget (block-budget.ts CutState, mutable). The window it is taken over
 * may be shared by several cuts at different budgets over the same scores (the shadow reference).
 */
export class BudgetCut {
  private decidedCount = 0;
  private stoppedCount = 0;
  /** Stops owed from budget changes: sum over decisions of (budget then - budget now). */
  private owedFromChanges = 0;
  private sinceRefresh = 0;
  private current: number | null = null;
  private source: CutSource = 'none';
  private share: number;

  constructor(
    private budgetShare: number,
    private readonly window: ScoreWindow<unknown>,
  ) {
    checkBlockBudget(budgetShare);
    this.share = budgetShare;
  }

  get budget(): number {
    return this.budgetShare;
  }

  get cut(): number | null {
    return this.current;
  }

  get cutSource(): CutSource {
    return this.source;
  }

  get decided(): number {
    return this.decidedCount;
  }

  get stopped(): number {
    return this.stoppedCount;
  }

  get effectiveBudget(): number {
    return this.share;
  }

  /** Whether a probability reaches the cut, compared as float32 (block-budget.ts reachesCut). */
  reaches(probability: number): boolean {
    return reachesCut(probability, this.current);
  }

  /**
   * After the assessment's score joined the window (the caller pushes it, once for every cut over a
   * shared window): block-budget.ts observe.
   */
  observe(stopped: boolean, decidedByCut: boolean, pooled: ScoreWindow<unknown>): void {
    const ownBefore = this.source === 'group';
    this.sinceRefresh += 1;
    if (decidedByCut) {
      this.decidedCount += 1;
      if (stopped) this.stoppedCount += 1;
    }
    const ownNow = this.window.size >= CUT_SETTINGS.ownScoresNeeded && !ownBefore;
    if (this.current === null || ownNow || this.sinceRefresh >= CUT_SETTINGS.refreshEvery) this.refresh(pooled);
  }

  /** block-budget.ts refresh: the (1 - effective budget) quantile of the own scores, else of the pooled ones. */
  refresh(pooled: ScoreWindow<unknown>): void {
    const share = this.currentEffectiveBudget();
    const own = this.window.size >= CUT_SETTINGS.ownScoresNeeded;
    const source: CutSource = own ? 'group' : pooled.size > 0 ? 'pooled' : this.window.size > 0 ? 'group' : 'none';
    const cut = (source === 'pooled' ? pooled : this.window).upperQuantile(share) ?? null;
    this.sinceRefresh = 0;
    this.current = cut;
    this.source = cut === null ? 'none' : source;
    this.share = share;
  }

  /**
   * A new budget from the next decision on; the realized counts go on (see the file's comment), and
   * the cut is recomputed at its next refresh.
   */
  setBudget(budget: number): void {
    if (budget === this.budgetShare) return;
    checkBlockBudget(budget);
    this.owedFromChanges += (this.budgetShare - budget) * this.decidedCount;
    this.budgetShare = budget;
  }

  private currentEffectiveBudget(): number {
    return correctedBudget(this.budgetShare, this.budgetShare * this.decidedCount - this.stoppedCount + this.owedFromChanges);
  }
}
