/**
 * Evaluation metrics of a failure predictor: scores are predicted probabilities of failure, labels
 * are true for deployments that failed. Everything is tie-aware, so a binary predictor (Parrot) is
 * measured as fairly as a continuous one.
 */

/** The cost of each kind of mistake; only their ratio matters for the threshold. */
export interface DecisionCosts {
  /** A failed deployment that was let through. */
  readonly failedDeployment: number;
  /** A good deployment that was rolled back. */
  readonly needlessRollback: number;
}

/** What a failed deployment costs against a needless rollback, unless configured. */
export const DEFAULT_COSTS: DecisionCosts = { failedDeployment: 3, needlessRollback: 1 };

/** The shares of deployments gated in `caught_at_riskiest`. */
export const RISKIEST_SHARES = [0.05, 0.1, 0.2] as const;

export interface ClassificationReport {
  readonly rows: number;
  readonly failures: number;
  /** ROC AUC; null when the window holds only one class. */
  readonly auc: number | null;
  /** Area under the precision-recall curve (average precision); null without failures. */
  readonly pr_auc: number | null;
  /** Mean squared error of the probabilities. */
  readonly brier: number;
  /** Roll back when the score is at least this. */
  readonly threshold: number;
  readonly precision_failure: number;
  readonly recall_failure: number;
  readonly f1_failure: number;
  /** Share of all failures that fall among the riskiest 5 %, 10 %, 20 % of deployments. */
  readonly caught_at_riskiest: Readonly<Record<string, number | null>>;
  readonly expected_cost_per_deployment: number;
  readonly confusion: { readonly true_positive: number; readonly false_positive: number; readonly true_negative: number; readonly false_negative: number };
}

/** ROC AUC by ranks (ties count one half); null when either class is absent. */
export function rocAuc(labels: readonly boolean[], scores: readonly number[]): number | null {
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = sortedIndices(scores, 'ascending');
  let rankSum = 0;
  let position = 0;
  while (position < order.length) {
    let end = position;
    while (end + 1 < order.length && scores[order[end + 1]] === scores[order[position]]) end += 1;
    const averageRank = (position + end) / 2 + 1;
    for (let index = position; index <= end; index += 1) if (labels[order[index]]) rankSum += averageRank;
    position = end + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Average precision: the sum over distinct thresholds of (recall gained) x (precision there). */
export function averagePrecision(labels: readonly boolean[], scores: readonly number[]): number | null {
  const positives = labels.filter(Boolean).length;
  if (positives === 0) return null;
  const order = sortedIndices(scores, 'descending');
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let area = 0;
  let position = 0;
  while (position < order.length) {
    const score = scores[order[position]];
    while (position < order.length && scores[order[position]] === score) {
      if (labels[order[position]]) truePositives += 1;
      seen += 1;
      position += 1;
    }
    const recall = truePositives / positives;
    area += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
  }
  return area;
}

export function brierScore(labels: readonly boolean[], scores: readonly number[]): number {
  if (labels.length === 0) return NaN;
  let sum = 0;
  for (let index = 0; index < labels.length; index += 1) sum += (scores[index] - (labels[index] ? 1 : 0)) ** 2;
  return sum / labels.length;
}

/**
 * Share of all failures among the riskiest `share` of deployments. When the cut falls inside a group
 * of equal scores, that group counts in proportion (the expected value of a random tie-break).
 */
export function caughtAtRiskiest(labels: readonly boolean[], scores: readonly number[], share: number): number | null {
  const positives = labels.filter(Boolean).length;
  if (positives === 0) return null;
  const order = sortedIndices(scores, 'descending');
  let budget = share * labels.length;
  let caught = 0;
  let position = 0;
  while (position < order.length && budget > 0) {
    const score = scores[order[position]];
    let size = 0;
    let failures = 0;
    while (position < order.length && scores[order[position]] === score) {
      size += 1;
      if (labels[order[position]]) failures += 1;
      position += 1;
    }
    const taken = Math.min(size, budget);
    caught += (failures * taken) / size;
    budget -= taken;
  }
  return caught / positives;
}

interface Confusion {
  true_positive: number;
  false_positive: number;
  true_negative: number;
  false_negative: number;
}

function confusionAt(labels: readonly boolean[], scores: readonly number[], threshold: number): Confusion {
  const confusion: Confusion = { true_positive: 0, false_positive: 0, true_negative: 0, false_negative: 0 };
  for (let index = 0; index < labels.length; index += 1) {
    const rollback = scores[index] >= threshold;
    if (labels[index]) {
      if (rollback) confusion.true_positive += 1;
      else confusion.false_negative += 1;
    } else if (rollback) confusion.false_positive += 1;
    else confusion.true_negative += 1;
  }
  return confusion;
}

function costOf(confusion: Confusion, costs: DecisionCosts): number {
  return confusion.false_negative * costs.failedDeployment + confusion.false_positive * costs.needlessRollback;
}

/**
 * The threshold with the lowest expected cost on these (validation) deployments: candidates lie
 * halfway between consecutive distinct scores, plus "roll back everything" and "roll back nothing";
 * among equal costs the highest threshold (fewest rollbacks) wins.
 */
export function chooseThreshold(labels: readonly boolean[], scores: readonly number[], costs: DecisionCosts): number {
  checkCosts(costs);
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  if (distinct.length === 0) return 0.5;
  const candidates = [distinct[0] / 2];
  for (let index = 1; index < distinct.length; index += 1) candidates.push((distinct[index - 1] + distinct[index]) / 2);
  if (distinct[distinct.length - 1] < 1) candidates.push(1);
  // One pass from the highest candidate down: lowering the threshold past a score flags its deployments.
  const byScore = new Map<number, { failures: number; successes: number }>();
  for (let index = 0; index < labels.length; index += 1) {
    const entry = byScore.get(scores[index]) ?? { failures: 0, successes: 0 };
    if (labels[index]) entry.failures += 1;
    else entry.successes += 1;
    byScore.set(scores[index], entry);
  }
  const totalFailures = labels.filter(Boolean).length;
  let flaggedFailures = 0;
  let flaggedSuccesses = 0;
  let best = { threshold: candidates[candidates.length - 1], cost: Infinity };
  let next = distinct.length - 1;
  for (let index = candidates.length - 1; index >= 0; index -= 1) {
    const threshold = candidates[index];
    while (next >= 0 && distinct[next] >= threshold) {
      const entry = byScore.get(distinct[next]) as { failures: number; successes: number };
      flaggedFailures += entry.failures;
      flaggedSuccesses += entry.successes;
      next -= 1;
    }
    const cost = (totalFailures - flaggedFailures) * costs.failedDeployment + flaggedSuccesses * costs.needlessRollback;
    if (cost < best.cost) best = { threshold, cost };
  }
  return best.threshold;
}

export function checkCosts(costs: DecisionCosts): void {
  for (const [name, value] of Object.entries(costs)) {
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`cost of ${name} must be a positive number, got ${value}`);
  }
}

/** Every figure of `ClassificationReport` for predictions judged at `threshold`. */
export function classificationReport(
  labels: readonly boolean[],
  scores: readonly number[],
  threshold: number,
  costs: DecisionCosts,
): ClassificationReport {
  const confusion = confusionAt(labels, scores, threshold);
  const flagged = confusion.true_positive + confusion.false_positive;
  const failures = confusion.true_positive + confusion.false_negative;
  const precision = flagged === 0 ? 0 : confusion.true_positive / flagged;
  const recall = failures === 0 ? 0 : confusion.true_positive / failures;
  const caught: Record<string, number | null> = {};
  for (const share of RISKIEST_SHARES) caught[`${Math.round(share * 100)}%`] = caughtAtRiskiest(labels, scores, share);
  return {
    rows: labels.length,
    failures,
    auc: rocAuc(labels, scores),
    pr_auc: averagePrecision(labels, scores),
    brier: brierScore(labels, scores),
    threshold,
    precision_failure: precision,
    recall_failure: recall,
    f1_failure: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    caught_at_riskiest: caught,
    expected_cost_per_deployment: labels.length === 0 ? 0 : costOf(confusion, costs) / labels.length,
    confusion,
  };
}

function sortedIndices(scores: readonly number[], direction: 'ascending' | 'descending'): number[] {
  const order = scores.map((_, index) => index);
  const sign = direction === 'ascending' ? 1 : -1;
  order.sort((a, b) => sign * (scores[a] - scores[b]) || a - b);
  return order;
}
