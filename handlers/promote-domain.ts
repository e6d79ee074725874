import type { EmittedDetail } from '../events/emitted';
import { averagePrecision, brierScore, rocAuc } from '../model/metrics';
import { parseCsvRows } from '../model/xgboost';
import type { XGBoostModel } from '../model/xgboost';
import type { RecordedTrainingJob, TrainingJobSummary } from './ports';

/**
 * What promote decides about a finished training job: whether drift started it as it says, and
 * whether its model replaces the serving one, judged on promote's own comparison of both models on
 * the data lake's most recent rows (never on what the job wrote about itself). Pure: no I/O, no clock.
 */

/** Metrics of one model on the evaluation window, as the Model Promoted / Rejected events carry them. */
export type ModelMetrics = NonNullable<EmittedDetail<'Model Promoted'>['serving']>;

/** The share of the window's rows train.py holds out for validation (model/train.py DEFAULT_VALIDATION_FRACTION). */
export const VALIDATION_FRACTION = 0.2;

/** The probability F1 is measured at, as train.py's evaluation measures it (EVALUATION_THRESHOLD). */
export const EVALUATION_THRESHOLD = 0.25;

/**
 * How the finished job differs from what drift recorded, one line per difference (empty: it is
 * drift's job). A job whose model is not where its recorded output prefix puts it differs too.
 */
export function trainingJobDifferences(recorded: RecordedTrainingJob, described: TrainingJobSummary): string[] {
  const differences: string[] = [];
  const compare = (what: string, expected: string | undefined, actual: string | undefined) => {
    if (expected !== actual) differences.push(`${what} is ${JSON.stringify(actual ?? null)}, drift started it with ${JSON.stringify(expected ?? null)}`);
  };
  compare('role', recorded.roleArn, described.roleArn);
  compare('training image', recorded.imageUri, described.imageUri);
  compare('output prefix', recorded.outputS3Uri, described.outputS3Uri);
  const expectedChannels = [`train=${recorded.trainS3Uri}`, ...(recorded.servingModelS3Uri ? [`serving=${recorded.servingModelS3Uri}`] : [])].sort();
  const channels = (described.channels ?? []).map((channel) => `${channel.name}=${channel.s3Uri}`).sort();
  compare('input channels', expectedChannels.join(' '), channels.join(' '));
  const keys = [...new Set([...Object.keys(recorded.hyperparameters), ...Object.keys(described.hyperparameters ?? {})])].sort();
  for (const key of keys) compare(`hyperparameter ${key}`, recorded.hyperparameters[key], described.hyperparameters?.[key]);
  compare('model artifacts', modelArtifactsUrl(recorded), described.modelArtifactsUrl);
  return differences;
}

/** Where SageMaker writes the model of a job with this output prefix: `<output>/<job>/output/model.tar.gz`. */
export function modelArtifactsUrl(job: Pick<RecordedTrainingJob, 'outputS3Uri' | 'trainingJobName'>): string {
  return `${job.outputS3Uri.replace(/\/+$/, '')}/${job.trainingJobName}/output/model.tar.gz`;
}

/**
 * Whether the validation rows read so far (the newest dates first) are enough, by train.py's rule
 * (split_window: the newest dates holding at least `fraction` of the window's rows). The rows not
 * read yet are counted as one per object, fewer than or as many as their weighted lines, so promote
 * stops no later than train.py did: it never evaluates on a date the candidate was trained on.
 */
export function validationComplete(validationRows: number, unreadObjects: number, fraction: number): boolean {
  return validationRows >= fraction * (validationRows + unreadObjects);
}

/**
 * Both models' metrics on the same rows (CSV lines, label first, as the data lake holds them; a
 * weighted row is repeated). A model whose feature count differs from the rows' cannot be compared:
 * null, with the reason.
 */
export function compareOnRows(
  lines: readonly string[],
  candidate: XGBoostModel,
  serving: XGBoostModel | undefined,
): { readonly candidate: ModelMetrics; readonly serving: ModelMetrics | null; readonly notes: readonly string[] } {
  if (lines.length === 0) return { candidate: emptyMetrics(), serving: null, notes: ['the validation window holds no rows'] };
  const rows = parseCsvRows(lines.join('\n'));
  const features = rows.columnCount - 1;
  const labels: boolean[] = [];
  for (let row = 0; row < rows.rowCount; row += 1) labels.push(rows.values[row * rows.columnCount] === 1);
  const scores = (model: XGBoostModel) => {
    const result: number[] = [];
    for (let row = 0; row < rows.rowCount; row += 1) {
      const start = row * rows.columnCount + 1;
      result.push(model.predict(rows.values.subarray(start, start + features)));
    }
    return result;
  };
  const notes: string[] = [];
  const comparable = (name: string, model: XGBoostModel) => {
    if (model.featureCount === features) return true;
    notes.push(`the ${name} model has ${model.featureCount} features, the window's rows ${features}: not comparable`);
    return false;
  };
  const candidateMetrics = comparable('candidate', candidate) ? modelMetrics(labels, scores(candidate)) : emptyMetrics(rows.rowCount);
  const servingMetrics = serving && comparable('serving', serving) ? modelMetrics(labels, scores(serving)) : null;
  return { candidate: candidateMetrics, serving: servingMetrics, notes };
}

/** {auc, prAuc, brier, f1Failure, rows}, as train.py's evaluation defines them (tie-aware). */
export function modelMetrics(labels: readonly boolean[], scores: readonly number[]): ModelMetrics {
  const flagged = scores.map((score) => score >= EVALUATION_THRESHOLD);
  const truePositives = labels.filter((label, index) => label && flagged[index]).length;
  const flaggedCount = flagged.filter(Boolean).length;
  const positives = labels.filter(Boolean).length;
  const precision = flaggedCount ? truePositives / flaggedCount : 0;
  const recall = positives ? truePositives / positives : 0;
  return {
    auc: rocAuc(labels, scores),
    prAuc: averagePrecision(labels, scores),
    brier: labels.length ? brierScore(labels, scores) : null,
    f1Failure: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    rows: labels.length,
  };
}

function emptyMetrics(rows = 0): ModelMetrics {
  return { auc: null, prAuc: null, brier: null, f1Failure: null, rows };
}

export type PromotionDecision =
  | { readonly promote: true; readonly message: string }
  | { readonly promote: false; readonly reason: 'below-minimum' | 'worse-than-serving'; readonly message: string };

/**
 * Promote only when the candidate's AUC is at least `minimumAuc` and not below the serving model's
 * AUC on the same window (equal promotes: the newer data wins a tie). A candidate without an AUC (a
 * window of one class) is below any minimum; a serving model without one does not block.
 */
export function decidePromotion(candidate: ModelMetrics, serving: ModelMetrics | null, minimumAuc: number): PromotionDecision {
  const auc = candidate.auc;
  if (auc === null || auc < minimumAuc) {
    return {
      promote: false,
      reason: 'below-minimum',
      message: `candidate AUC ${format(auc)} on ${candidate.rows} recent rows is below the minimum ${minimumAuc}`,
    };
  }
  if (serving && serving.auc !== null && auc < serving.auc) {
    return {
      promote: false,
      reason: 'worse-than-serving',
      message: `candidate AUC ${format(auc)} is below the serving model's ${format(serving.auc)} on the same ${candidate.rows} recent rows`,
    };
  }
  return {
    promote: true,
    message: serving?.auc != null
      ? `candidate AUC ${format(auc)} >= minimum ${minimumAuc} and >= the serving model's ${format(serving.auc)}`
      : `candidate AUC ${format(auc)} >= minimum ${minimumAuc} (no serving model to compare with)`,
  };
}

function format(auc: number | null): string {
  return auc === null ? 'n/a' : auc.toFixed(4);
}


/** Model and endpoint-config names are the job's: deterministic, so a redelivery finds what it created. */
export function modelNames(trainingJobName: string): { readonly modelName: string; readonly endpointConfigName: string; readonly modelVersion: string } {
  return { modelName: trainingJobName, endpointConfigName: trainingJobName, modelVersion: trainingJobName };
}
