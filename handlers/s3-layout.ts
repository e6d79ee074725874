/**
 * Where Deploy Guard keeps its objects: the one definition of the key layout of its two buckets. The
 * handlers build every s3:// URI they use from it, and the stacks build every IAM grant on the buckets
 * from it, so a handler never asks for a path its role was not given (test/stacks/s3-access.test.ts
 * proves it per stack).
 *
 * Data bucket (the data lake):
 *   rows/date=YYYY-MM-DD/<deploymentId>.csv        predict / record-outcome write; training reads
 * Model bucket:
 *   training/code/<sha256:16>/sourcedir.tar.gz     Terraform writes; training jobs read
 *   training/output/<job>/output/model.tar.gz      SageMaker writes (the training role); promote reads
 *   training/output/<job>/output/output.tar.gz     the same, with what train.py left in SM_OUTPUT_DATA_DIR
 *   models/<version>/model.tar.gz, features.json   served: only Terraform (the first model) and promote
 *                                                  write; the endpoint, predict and training read
 *   notebook/...                                   the notebook's own work and its training jobs
 *
 * Served artifacts live apart from training output on purpose: a training job (or a notebook that
 * passes the training role) can write only its own output, never what the endpoint loads; promote
 * copies an adopted model from the job's output into `models/`.
 */

/** The data lake's labelled rows, one object per deployment (handlers/training-row.ts names them). */
export const TRAINING_ROWS_PREFIX = 'rows/';

/** The training code (script mode's sourcedir.tar.gz, content-addressed by the stack). */
export const TRAINING_CODE_PREFIX = 'training/code/';

/** The S3OutputPath of drift's training jobs: SageMaker writes `<prefix><job>/output/...` under it. */
export const TRAINING_OUTPUT_PREFIX = 'training/output/';

/** What the endpoint loads and predict reads: written only by the stack and by promote. */
export const SERVED_MODELS_PREFIX = 'models/';

/** The notebook's own folder in the model bucket (its files and its training jobs' output). */
export const NOTEBOOK_WORK_PREFIX = 'notebook/';

/** The version name of the model the stack ships (models/initial/). */
export const INITIAL_MODEL_VERSION = 'initial';

/** The files of a `deploy-guard train` output folder that a served model consists of. */
export const MODEL_ARCHIVE_FILE = 'model.tar.gz';
export const FEATURES_FILE = 'features.json';

/** `s3://<bucket>/<key>`. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** The `train` channel of a training job: the whole rows prefix of the data lake. */
export function trainingRowsUri(dataBucket: string): string {
  return s3Uri(dataBucket, TRAINING_ROWS_PREFIX);
}

/** The S3OutputPath drift gives its training jobs. */
export function trainingOutputUri(modelBucket: string): string {
  return s3Uri(modelBucket, TRAINING_OUTPUT_PREFIX);
}

/** The keys SageMaker writes a finished job's artifacts to under S3OutputPath. */
export function trainingJobOutputKeys(trainingJobName: string): { readonly model: string; readonly output: string } {
  const folder = `${TRAINING_OUTPUT_PREFIX}${trainingJobName}/output/`;
  return { model: `${folder}${MODEL_ARCHIVE_FILE}`, output: `${folder}output.tar.gz` };
}

/** The keys of a served model version: its model.tar.gz and its features.json. */
export function servedModelKeys(modelVersion: string): { readonly model: string; readonly features: string } {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(modelVersion)) {
    throw new Error(`model version '${modelVersion}' must be letters, digits and hyphens: it names the folder models/<version>/ of the served model`);
  }
  const folder = `${SERVED_MODELS_PREFIX}${modelVersion}/`;
  return { model: `${folder}${MODEL_ARCHIVE_FILE}`, features: `${folder}${FEATURES_FILE}` };
}

/** Where promote puts an adopted model: `s3://<model bucket>/models/<version>/model.tar.gz`. */
export function servedModelUri(modelBucket: string, modelVersion: string): string {
  return s3Uri(modelBucket, servedModelKeys(modelVersion).model);
}

/** The first model's files, as the stack uploads them and the seeded serving pointer names them. */
export function initialModelUris(modelBucket: string): { readonly model: string; readonly features: string } {
  const keys = servedModelKeys(INITIAL_MODEL_VERSION);
  return { model: s3Uri(modelBucket, keys.model), features: s3Uri(modelBucket, keys.features) };
}
