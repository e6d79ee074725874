import { BLOCK_BUDGET, changeBudget, initialCutState, observe, rescore, upperQuantile, type CutState } from '../model/block-budget';
import { parseCsvRows } from '../model/xgboost';
import type { GroupPolicy } from './config';
import { POOLED_CUT_SCOPE, type ControlStore, type DecisionCutSource, type DeploymentStore, type ServingModel, type StoredCut } from './ports';

/**
 * The block-budget cuts as predict uses them: read from the control table (one item per group and a
 * pooled one), brought up to date with the serving model and the group's budget, decided with, and
 * moved by each assessment. The policy itself is pure (model/block-budget.ts); this module is its
 * storage: compare-and-set writes retried on a lost race, and idempotent per deployment (a
 * redelivered assessment does not count twice).
 */

/** What a decision was taken with (stored in the assessment and announced with it). */
export interface DecisionCut {
  readonly cut: number | null;
  readonly blockBudget: number | null;
  readonly cutSource: DecisionCutSource;
}

/**
 * The recent scores a group's cut is taken from, as stored now (after decisionCut brought them up to
 * date): the group's own window when it is on its own cut and has one, else the pooled window.
 */
export async function cutScores(policy: Pick<GroupPolicy, 'cutScope' | 'threshold'>, scope: string, control: Pick<ControlStore, 'readCut'>): Promise<readonly number[]> {
  if (policy.cutScope === 'group' && policy.threshold === undefined) {
    const own = await control.readCut(scope);
    if (own && own.state.cut !== null) return own.state.scores;
  }
  return (await control.readCut(POOLED_CUT_SCOPE))?.state.scores ?? [];
}

/** Compare-and-set attempts on a cut before giving up loudly (each lost one means another writer moved it). */
export const MAX_CUT_WRITE_ATTEMPTS = 10;

export interface CutDependencies {
  readonly control: ControlStore;
  /** Where the feature rows of the cut's window are read back from when a promotion re-scores it. */
  readonly deployments: DeploymentStore;
}

/**
 * The cut a group's next decision is taken with. A fixed threshold (the expert override) is used as it
 * is. Otherwise the group's own cut; a group with no cut item yet borrows the pooled scores' quantile
 * at its budget. Before deciding, a window scored by an older model is re-scored by the serving one
 * (the first assessment after a promotion does it), and a changed budget is applied.
 */
export async function decisionCut(policy: Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'cutScope'>, scope: string, model: ServingModel, deps: CutDependencies, at: number): Promise<DecisionCut> {
  if (policy.threshold !== undefined) return { cut: policy.threshold, blockBudget: null, cutSource: 'threshold' };
  if (policy.cutScope === 'installation') {
    const installation = await upToDate(POOLED_CUT_SCOPE, policy.blockBudget, model, deps, at, []);
    const cut = installation?.cut ?? null;
    return { cut, blockBudget: policy.blockBudget, cutSource: cut === null ? 'none' : 'pooled' };
  }
  const pooled = await upToDate(POOLED_CUT_SCOPE, BLOCK_BUDGET.default, model, deps, at, [], { keepBudget: true });
  const own = await upToDate(scope, policy.blockBudget, model, deps, at, pooled?.scores ?? []);
  if (own && own.cut !== null) return { cut: own.cut, blockBudget: policy.blockBudget, cutSource: own.cutSource };
  const borrowed = upperQuantile(pooled?.scores ?? [], policy.blockBudget);
  return borrowed === undefined ? { cut: null, blockBudget: policy.blockBudget, cutSource: 'none' } : { cut: borrowed, blockBudget: policy.blockBudget, cutSource: 'pooled' };
}

/**
 * Adds one assessment's probability to the installation's (pooled) window and, for a group on its
 * own cut, to the group's, once per deployment: a deployment already in a window is not added again
 * (a redelivery, or a retry after a crash).
 */
export async function recordScore(
  scope: string,
  policy: Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'cutScope'>,
  assessment: { readonly deploymentId: string; readonly probability: number; readonly stopped: boolean; readonly cutSource: DecisionCutSource; readonly modelVersion: string },
  deps: Pick<CutDependencies, 'control'>,
  at: number,
): Promise<void> {
  const onInstallationCut = policy.threshold === undefined && policy.cutScope === 'installation';
  const observation = (decidedHere: boolean) => ({
    deploymentId: assessment.deploymentId,
    probability: assessment.probability,
    stopped: assessment.stopped,
    // The realized rate counts the decisions this cut took, not a fixed threshold's or a borrowed one's.
    decidedByCut: decidedHere && assessment.cutSource !== 'none' && assessment.cutSource !== 'threshold',
    modelVersion: assessment.modelVersion,
  });
  const pooledBudget = onInstallationCut ? policy.blockBudget : BLOCK_BUDGET.default;
  const pooled = await update(deps.control, POOLED_CUT_SCOPE, (state) =>
    includes(state, assessment.deploymentId) ? undefined : observe(state ?? initialCutState(pooledBudget, assessment.modelVersion), observation(onInstallationCut), [], at),
  );
  if (policy.threshold !== undefined || onInstallationCut) return;
  await update(deps.control, scope, (state) =>
    includes(state, assessment.deploymentId) ? undefined : observe(state ?? initialCutState(policy.blockBudget, assessment.modelVersion), observation(true), pooled?.scores ?? [], at),
  );
}

/** The scope's cut brought up to date (re-scored by the serving model, at the configured budget), written back if it changed. */
async function upToDate(
  scope: string,
  budget: number,
  model: ServingModel,
  deps: CutDependencies,
  at: number,
  pooled: readonly number[],
  options: { readonly keepBudget?: boolean } = {},
): Promise<CutState | undefined> {
  const stored = await deps.control.readCut(scope);
  if (!stored) return undefined;
  // The pooled window only lends its scores to groups on their own cuts: its budget is not theirs.
  if (options.keepBudget) budget = stored.state.budget;
  if (stored.state.modelVersion === model.version && stored.state.budget === budget) return stored.state;
  return update(deps.control, scope, async (state) => {
    if (!state) return undefined;
    let next = state;
    if (next.modelVersion !== model.version) next = rescore(next, await rescored(next.deploymentIds, model, deps.deployments), model.version, pooled, at);
    if (next.budget !== budget) next = changeBudget(next, budget, pooled, at);
    return next === state ? undefined : next;
  }, stored);
}

/** The serving model's probabilities of the given deployments, from their stored feature rows (undefined when a row is missing). */
async function rescored(deploymentIds: readonly string[], model: ServingModel, deployments: DeploymentStore): Promise<(number | undefined)[]> {
  const items = await Promise.all(deploymentIds.map((id) => deployments.get(id)));
  return items.map((item) => {
    const row = item?.assessment?.featureRow;
    if (!row) return undefined;
    const parsed = parseCsvRows(`${row}\n`);
    if (parsed.columnCount !== model.features.features.length) return undefined;
    return model.predict(parsed.values.subarray(0, parsed.columnCount));
  });
}

/**
 * Read, change, compare-and-set, retried while another writer wins; `change` answers undefined
 * when there is nothing to write. Resolves the state as stored after the call.
 */
async function update(
  control: ControlStore,
  scope: string,
  change: (state: CutState | undefined) => CutState | undefined | Promise<CutState | undefined>,
  first?: StoredCut,
): Promise<CutState | undefined> {
  let stored = first ?? (await control.readCut(scope));
  for (let attempt = 1; attempt <= MAX_CUT_WRITE_ATTEMPTS; attempt += 1) {
    const next = await change(stored?.state);
    if (next === undefined) return stored?.state;
    if (await control.writeCut(scope, next, stored?.revision ?? null)) return next;
    stored = await control.readCut(scope);
  }
  throw new Error(`the cut of ${scope} was moved by other writers ${MAX_CUT_WRITE_ATTEMPTS} times in a row; the assessment is stored, a retry adds its score`);
}

/**
 * How far back a redelivered assessment is looked for in a window: Lambda retries a failed
 * asynchronous invocation within minutes, and EventBridge redelivers within hours, while hundreds of
 * assessments of one group (or of the installation) in between are far beyond any deployment rate.
 */
export const REDELIVERY_LOOKBACK = 500;

function includes(state: CutState | undefined, deploymentId: string): boolean {
  if (!state) return false;
  const ids = state.deploymentIds;
  for (let index = ids.length - 1; index >= Math.max(0, ids.length - REDELIVERY_LOOKBACK); index -= 1) if (ids[index] === deploymentId) return true;
  return false;
}
