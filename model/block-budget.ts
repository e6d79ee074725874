/**
 * The decision policy: a block budget. A guarded group may stop a share k of its deployments (its
 * block budget), the riskiest ones. The cut is the (1 - k) quantile of the serving model's recent
 * probabilities, refreshed as assessments arrive and after every promotion, with a slow correction
 * that pays back a surplus or deficit of stops so that the realized stop rate tracks k.
 *
 * A fixed probability threshold does not hold a rate: it drifts with each model's calibration and
 * with the loop (a stop hides an outcome, which changes the next deployment's history features).
 * Measured in ../shared/notes/decision-quality.md.
 *
 * Pure: the state is a value, every function returns a new one; times are passed in.
 */

/** The budget's bounds and default, as shares of a group's deployments. */
export const BLOCK_BUDGET = { default: 0.1, min: 0.005, max: 0.3 } as const;

/**
 * Whose deployments a budget is a share of: `installation`, the riskiest k % of all guarded groups'
 * deployments on one scale (a group that fails often takes more of the stops), or `group`, each
 * group's own riskiest k %.
 */
export const CUT_SCOPES = ['installation', 'group'] as const;
export type CutScope = (typeof CUT_SCOPES)[number];

/** The budgets every report compares, besides the configured one. */
export const REPORTED_BUDGETS = [0.05, 0.1, 0.2] as const;

export const CUT_SETTINGS = {
  /** Recent probabilities the quantile is taken over (per group, and pooled over the installation). */
  window: 2000,
  /** Assessments between two refreshes of the cut. */
  refreshEvery: 50,
  /**
   * Own scores a group needs before its cut is its own; until then it borrows the installation's
   * pooled cut. With 200 scores the (1 - k) quantile at k = 10 % rests on 20 scores above it, and its
   * rank error (binomial, one standard deviation) is sqrt(k(1 - k)/n) = 2.1 pp of block rate, which
   * the slow correction pays back; with 50 it would be 4.2 pp, more than the budget's tolerance.
   */
  ownScoresNeeded: 200,
  /**
   * Deployments over which a surplus or deficit of stops is paid back: the effective budget is
   * k + (k * decided - stopped) / horizon, within correctionRange times k.
   */
  correctionHorizon: 1000,
  /**
   * How far the correction may move the quantile's level, as multiples of the budget. The floor is
   * low because a stop hides an outcome and so keeps the next deployment's history (and score) where
   * it was: in the loop, a group's new scores run above its window's, and only a cut well above the
   * plain quantile breaks such a chain (at [1/2, 2], 4 of the 10 shipped groups sat at the floor
   * and still stopped 16-18 % at a 10 % budget).
   */
  correctionRange: [0.1, 3],
  /** Refreshes of the cut kept in its history. */
  historyLength: 100,
} as const;

/** Why the cut was recomputed. */
export type CutRefreshReason = 'assessments' | 'promotion' | 'budget-changed' | 'first-cut';

export interface CutChange {
  readonly at: number;
  readonly cut: number;
  /** The effective budget the quantile was taken at (the budget plus the correction). */
  readonly effectiveBudget: number;
  readonly source: CutSource;
  readonly reason: CutRefreshReason;
  readonly modelVersion: string;
}

/** Where a cut comes from: the group's own recent scores, the installation's pooled scores, or none yet. */
export type CutSource = 'group' | 'pooled' | 'none';

/** One group's (or the installation's pooled) cut and the recent scores it is taken over. */
export interface CutState {
  /** The block budget k the cut holds. */
  readonly budget: number;
  /** The model whose probabilities `scores` are. */
  readonly modelVersion: string;
  /** Recent probabilities, oldest first, at most CUT_SETTINGS.window. */
  readonly scores: readonly number[];
  /** The deployments the scores are of (same order), so that a promotion can re-score them. */
  readonly deploymentIds: readonly string[];
  /** Assessments since the cut was last computed. */
  readonly sinceRefresh: number;
  /** Decisions taken by the cut since the budget was set (what the realized rate is over). */
  readonly decided: number;
  /** Of those, the would-be stops. */
  readonly stopped: number;
  /** The current cut: stop when the probability reaches it; null before there is one. */
  readonly cut: number | null;
  readonly cutSource: CutSource;
  readonly effectiveBudget: number;
  /** The latest refreshes, oldest first, at most CUT_SETTINGS.historyLength. */
  readonly history: readonly CutChange[];
}

/** A block budget is a share of deployments between BLOCK_BUDGET.min and BLOCK_BUDGET.max. */
export function checkBlockBudget(budget: number, what = 'block budget'): number {
  if (!(Number.isFinite(budget) && budget >= BLOCK_BUDGET.min && budget <= BLOCK_BUDGET.max)) {
    throw new RangeError(`${what} must be a share of deployments between ${BLOCK_BUDGET.min} and ${BLOCK_BUDGET.max} (0.5 % to 30 %), got ${budget}`);
  }
  return budget;
}

export function initialCutState(budget: number, modelVersion: string): CutState {
  return {
    budget: checkBlockBudget(budget),
    modelVersion,
    scores: [],
    deploymentIds: [],
    sinceRefresh: 0,
    decided: 0,
    stopped: 0,
    cut: null,
    cutSource: 'none',
    effectiveBudget: budget,
    history: [],
  };
}

/**
 * The budget the quantile is taken at: the configured one plus the stops owed (or minus those taken
 * in excess), spread over the correction horizon, within [CUT_SETTINGS.correctionRange] times the
 * budget (and at most 0.5).
 */
export function effectiveBudget(state: Pick<CutState, 'budget' | 'decided' | 'stopped'>): number {
  return correctedBudget(state.budget, state.budget * state.decided - state.stopped);
}

/** The budget corrected for `owed` stops (negative: stops taken in excess); see effectiveBudget. */
export function correctedBudget(budget: number, owed: number): number {
  const [low, high] = CUT_SETTINGS.correctionRange;
  const corrected = budget + owed / CUT_SETTINGS.correctionHorizon;
  return Math.min(Math.max(corrected, budget * low), Math.min(budget * high, 0.5));
}

/**
 * The (1 - k) quantile of the scores: the smallest score such that at most ceil(k * n) scores reach
 * it, i.e. the ceil(k * n)-th largest. Undefined without scores.
 */
export function upperQuantile(scores: readonly number[], share: number): number | undefined {
  if (scores.length === 0) return undefined;
  const sorted = Float64Array.from(scores).sort();
  const above = Math.min(sorted.length, Math.max(1, Math.ceil(share * sorted.length)));
  return sorted[sorted.length - above];
}

/**
 * Whether a probability reaches the cut (a would-be stop). No cut yet: nothing is stopped. The
 * endpoint answers float32 probabilities as decimal text; both sides are compared as the float32
 * they are, so a score parsed from text and the same score computed in process agree.
 */
export function reachesCut(probability: number, cut: number | null): boolean {
  return cut !== null && Math.fround(probability) >= Math.fround(cut);
}

export interface Observation {
  readonly deploymentId: string;
  readonly probability: number;
  /** Whether the cut (not a fixed threshold, not a fallback) decided this deployment, and it reached the cut. */
  readonly stopped: boolean;
  /** Whether this decision counts toward the realized rate (decided by this cut). */
  readonly decidedByCut: boolean;
  readonly modelVersion: string;
}

/**
 * The state after one assessment: its probability joins the window (the oldest leaves), the realized
 * counts move, and every CUT_SETTINGS.refreshEvery assessments (or as soon as a first cut can be
 * taken) the cut is recomputed. `pooled` is the installation's pooled scores, borrowed while the
 * group has fewer than CUT_SETTINGS.ownScoresNeeded of its own.
 */
export function observe(state: CutState, observation: Observation, pooled: readonly number[], at: number): CutState {
  const scores = appendBounded(state.scores, Math.fround(observation.probability));
  const deploymentIds = appendBounded(state.deploymentIds, observation.deploymentId);
  const next: CutState = {
    ...state,
    scores,
    deploymentIds,
    sinceRefresh: state.sinceRefresh + 1,
    decided: state.decided + (observation.decidedByCut ? 1 : 0),
    stopped: state.stopped + (observation.decidedByCut && observation.stopped ? 1 : 0),
  };
  const ownNow = scores.length >= CUT_SETTINGS.ownScoresNeeded && state.cutSource !== 'group';
  if (state.cut === null) return refresh(next, pooled, at, 'first-cut');
  if (ownNow || next.sinceRefresh >= CUT_SETTINGS.refreshEvery) return refresh(next, pooled, at, 'assessments');
  return next;
}

/**
 * Recomputes the cut: the (1 - effective budget) quantile of the group's own scores when it has
 * enough, else of the pooled scores, else none.
 */
export function refresh(state: CutState, pooled: readonly number[], at: number, reason: CutRefreshReason): CutState {
  const share = effectiveBudget(state);
  const own = state.scores.length >= CUT_SETTINGS.ownScoresNeeded;
  const source: CutSource = own ? 'group' : pooled.length > 0 ? 'pooled' : state.scores.length > 0 ? 'group' : 'none';
  const cut = upperQuantile(source === 'pooled' ? pooled : state.scores, share) ?? null;
  const change: CutChange | undefined = cut === null ? undefined : { at, cut, effectiveBudget: share, source, reason, modelVersion: state.modelVersion };
  return {
    ...state,
    sinceRefresh: 0,
    cut,
    cutSource: cut === null ? 'none' : source,
    effectiveBudget: share,
    history: change ? appendBounded(state.history, change, CUT_SETTINGS.historyLength) : state.history,
  };
}

/**
 * After a promotion: the window's deployments re-scored with the new model (`rescored`, same order
 * as `deploymentIds`; a deployment the new model could not score is left out), and the cut taken
 * over them at once, so the new model is judged by its own scale from its first assessment.
 */
export function rescore(state: CutState, rescored: readonly (number | undefined)[], modelVersion: string, pooled: readonly number[], at: number): CutState {
  if (rescored.length !== state.scores.length) {
    throw new RangeError(`re-scored ${rescored.length} deployments, the cut's window holds ${state.scores.length}`);
  }
  const scores: number[] = [];
  const deploymentIds: string[] = [];
  rescored.forEach((score, index) => {
    if (score === undefined || !Number.isFinite(score)) return;
    scores.push(Math.fround(score));
    deploymentIds.push(state.deploymentIds[index]);
  });
  return refresh({ ...state, modelVersion, scores, deploymentIds }, pooled, at, 'promotion');
}

/** A new budget: the realized counts start over (the correction pays back against the new budget only). */
export function changeBudget(state: CutState, budget: number, pooled: readonly number[], at: number): CutState {
  if (budget === state.budget) return state;
  return refresh({ ...state, budget: checkBlockBudget(budget), decided: 0, stopped: 0 }, pooled, at, 'budget-changed');
}

/** The realized stop rate of the decisions the cut took; null before any. */
export function realizedRate(state: Pick<CutState, 'decided' | 'stopped'>): number | null {
  return state.decided === 0 ? null : state.stopped / state.decided;
}

function appendBounded<T>(list: readonly T[], value: T, bound: number = CUT_SETTINGS.window): T[] {
  const next = list.length >= bound ? list.slice(list.length - bound + 1) : list.slice();
  next.push(value);
  return next;
}

/**
 * Exploration: a share ε of the would-be stops proceeds, chosen at random, so that the outcomes of
 * risky deployments are still observed (selective labels: a stopped deployment never shows whether
 * it would have failed). The draw is a hash of the deployment id, so a redelivery draws the same and
 * a replay is reproducible.
 */
export const EXPLORATION = { default: 0.02, max: 0.5 } as const;

/** A uniform number in [0, 1) from a deployment id (FNV-1a, 32 bits). */
export function explorationDraw(deploymentId: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < deploymentId.length; index += 1) {
    hash ^= deploymentId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 4294967296;
}

export interface Exploration {
  /** Whether this would-be stop proceeds to be observed. */
  readonly explored: boolean;
  /** The probability of the action taken: ε for an explored deployment, 1 - ε for a stopped one. */
  readonly propensity: number;
}

/** Whether a would-be stop proceeds, and with which probability its action was taken. */
export function explore(deploymentId: string, share: number): Exploration {
  if (!(share > 0)) return { explored: false, propensity: 1 };
  const explored = explorationDraw(deploymentId) < share;
  return { explored, propensity: explored ? share : 1 - share };
}

/**
 * The weight of an observed outcome in training and evaluation: the inverse of the probability that
 * it was observed (1 below the cut, 1/ε for an explored would-be stop), as a whole number of
 * repetitions of its training row (frequency weights keep the container's CSV layout unchanged).
 */
export function observationWeight(propensityOfProceeding: number): number {
  if (!(propensityOfProceeding > 0 && propensityOfProceeding <= 1)) throw new RangeError(`a propensity is in (0, 1], got ${propensityOfProceeding}`);
  return Math.max(1, Math.round(1 / propensityOfProceeding));
}
