import { observationWeight } from '../model/block-budget';
import type { AssessmentRecord, DeploymentItem, DeploymentStore, TrainingDataLake } from './ports';
import { TRAINING_ROWS_PREFIX } from './s3-layout';

/**
 * The labelled training row of a deployment: its assessment's feature row (what the endpoint saw)
 * with the label first, in the container's CSV layout. Written by whichever of predict and
 * record-outcome completes the pair (they may arrive in either order), and by either again on a
 * redelivery until it is recorded as written. Counterfactual labels (a
 * deployment Deploy Guard stopped) are kept out of training unless the installation opts in.
 */

/** Prefix of the training rows in the data bucket (handlers/s3-layout.ts); a training job's `train` channel reads it. */
export { TRAINING_ROWS_PREFIX };

/**
 * Key of one deployment's row: `rows/date=YYYY-MM-DD/<deploymentId>.csv`, dated by the deployment's
 * start (UTC), so a training job can take a time window by key and the same deployment always
 * writes the same key.
 */
export function trainingRowKey(row: { readonly deploymentId: string; readonly startedAt: number }): string {
  const date = new Date(row.startedAt).toISOString().slice(0, 10);
  return `${TRAINING_ROWS_PREFIX}date=${date}/${encodeURIComponent(row.deploymentId)}.csv`;
}

/** The date a row key names, or undefined for a key that is not a row. */
export function trainingRowDate(key: string): string | undefined {
  if (!key.startsWith(TRAINING_ROWS_PREFIX)) return undefined;
  return /^date=(\d{4}-\d{2}-\d{2})\//.exec(key.slice(TRAINING_ROWS_PREFIX.length))?.[1];
}

/** The CSV line (label first), or why the deployment has no training row. */
export function trainingLine(item: DeploymentItem, options: { readonly includeCounterfactual?: boolean } = {}): string | { readonly skip: string } {
  const { assessment, outcome } = item;
  if (!assessment) return { skip: 'not assessed yet' };
  if (!outcome) return { skip: 'no outcome yet' };
  // An assessment without a model (none served yet, or it failed to load) has no feature row: a
  // label alone would teach nothing and still count toward retraining's minimum of rows.
  if (assessment.featureRow === '') return { skip: 'no feature row (assessed without a model)' };
  if (outcome.label === 'counterfactual' && !options.includeCounterfactual) {
    return { skip: 'counterfactual label (Deploy Guard stopped it): kept out of training' };
  }
  // A counterfactual included by choice counts as a failure: the guard judged it would fail.
  const label = outcome.label === 'succeeded' ? 0 : 1;
  return `${label},${assessment.featureRow}`;
}

/**
 * How many times the row is written: the inverse of the probability that the outcome was observed
 * (an explored would-be stop stands for the 1/ε ones that were stopped), else 1. XGBoost and the
 * evaluation read repeated rows as a frequency weight, so training and promotion see the whole
 * population, not only what Deploy Guard let through.
 */
export function trainingWeight(assessment: Pick<AssessmentRecord, 'explored' | 'propensity'>): number {
  return assessment.explored ? observationWeight(assessment.propensity) : 1;
}

export type TrainingRowResult = { readonly written: true; readonly key: string } | { readonly written: false; readonly reason: string };

/**
 * Writes the row when the deployment has both halves and it is not recorded as written yet, then
 * records it. The write comes first and is idempotent (one key per deployment, the same bytes from
 * either writer), so two writers racing (predict and record-outcome) leave one row, and a crash
 * between the write and the record only means the row is written again on the redelivery: a row is
 * never lost and never duplicated.
 */
export async function writeTrainingRowIfComplete(
  item: DeploymentItem,
  deps: { readonly store: DeploymentStore; readonly lake: TrainingDataLake },
  options: { readonly includeCounterfactual?: boolean } = {},
): Promise<TrainingRowResult> {
  const line = trainingLine(item, options);
  if (typeof line !== 'string') return { written: false, reason: line.skip };
  if (item.trainingRowWritten) return { written: false, reason: 'already written' };
  const assessment = item.assessment!;
  const outcome = item.outcome!;
  await deps.lake.putRow({
    deploymentId: item.deploymentId,
    application: assessment.application,
    deploymentGroup: assessment.deploymentGroup,
    startedAt: assessment.startedAt,
    finishedAt: outcome.finishedAt,
    modelVersion: assessment.modelVersion,
    csvLine: line,
    weight: trainingWeight(assessment),
  });
  await deps.store.markTrainingRowWritten(item.deploymentId);
  return { written: true, key: trainingRowKey({ deploymentId: item.deploymentId, startedAt: assessment.startedAt }) };
}
