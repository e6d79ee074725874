import { z } from 'zod';
import type { EmittedDetail } from '../events/emitted';
import { parseWith } from '../events/validation';
import { untarGzip } from '../model/tar';

/**
 * What promote decides about a finished training job: whether its model replaces the serving one,
 * judged on the evaluation train.py wrote (candidate and serving model scored on the same most recent
 * window). Pure: no I/O, no clock.
 */

/** Metrics of one model on the evaluation window, as the Model Promoted / Rejected events carry them. */
export type ModelMetrics = NonNullable<EmittedDetail<'Model Promoted'>['serving']>;

const metrics = z
  .object({
    auc: z.number().min(0).max(1).nullable(),
    prAuc: z.number().min(0).max(1).nullable(),
    brier: z.number().min(0).max(1).nullable(),
    f1Failure: z.number().min(0).max(1).nullable(),
    rows: z.number().int().nonnegative(),
  })
  .loose();

/** evaluation.json as train.py writes it in the data-lake window mode (extra keys are kept, not needed). */
export const evaluationDocument = z
  .object({
    candidate: metrics,
    serving: metrics.nullable(),
  })
  .loose();
export type EvaluationDocument = z.output<typeof evaluationDocument>;

/** The file in the job's output.tar.gz that promote reads. */
export const EVALUATION_FILE = 'evaluation.json';

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

/** The metrics as the emitted events carry them (only the known keys). */
export function eventMetrics(value: EvaluationDocument['candidate']): ModelMetrics {
  return { auc: value.auc, prAuc: value.prAuc, brier: value.brier, f1Failure: value.f1Failure, rows: value.rows };
}

/** Model and endpoint-config names are the job's: deterministic, so a redelivery finds what it created. */
export function modelNames(trainingJobName: string): { readonly modelName: string; readonly endpointConfigName: string; readonly modelVersion: string } {
  return { modelName: trainingJobName, endpointConfigName: trainingJobName, modelVersion: trainingJobName };
}

/**
 * Where the job's evaluation is: SageMaker writes `<output>/<job>/output/model.tar.gz` and, beside it,
 * `output.tar.gz` with what the script left in SM_OUTPUT_DATA_DIR.
 */
export function evaluationArchiveUrl(trainingJobName: string, modelArtifactsUrl: string): string {
  const suffix = `/${trainingJobName}/output/model.tar.gz`;
  if (!modelArtifactsUrl.startsWith('s3://') || !modelArtifactsUrl.endsWith(suffix)) {
    throw new Error(`training job ${trainingJobName}: model artifacts ${modelArtifactsUrl} are not at s3://…${suffix}, where SageMaker writes them`);
  }
  return `${modelArtifactsUrl.slice(0, -'model.tar.gz'.length)}output.tar.gz`;
}

/** Parses evaluation.json, naming the archive when it is not what train.py writes. */
export function parseEvaluation(text: string, origin: string): EvaluationDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${origin}: ${EVALUATION_FILE} is not JSON (${(error as Error).message})`);
  }
  try {
    return parseWith(`${origin} ${EVALUATION_FILE}`, evaluationDocument, json);
  } catch (error) {
    throw new Error((error as Error).message);
  }
}

/** evaluation.json from the job's output.tar.gz, or undefined when the archive holds none. */
export function evaluationFromArchive(archive: Uint8Array, origin: string): string | undefined {
  return untarGzip(archive, origin)
    .find((file) => file.name === EVALUATION_FILE)
    ?.content.toString('utf8');
}
