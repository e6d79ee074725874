import { tarGzip } from '../../model/tar';
import { loadXGBoostModel, type XGBoostModel } from '../../model/xgboost';
import type { RecordedTrainingJob, TrainingJobSummary, TrainingRowReader } from '../../handlers/ports';

/**
 * A small world for promote: two one-split XGBoost 1.7 models over three features, and data-lake
 * rows on which one of them ranks failures well and the other does not. The candidate splits on the
 * feature the label follows; the "blind" model splits on a feature unrelated to it.
 */

export const FEATURE_COUNT = 3;

/** An XGBoost 1.7 JSON model with one tree: feature `feature` < 0.5 → -2, else +2. */
export function stumpModelJson(feature: number, featureCount = FEATURE_COUNT): object {
  return {
    version: [1, 7, 4],
    learner: {
      attributes: {},
      feature_names: [],
      learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: String(featureCount), num_target: '1' },
      objective: { name: 'binary:logistic' },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: '1' },
          tree_info: [0],
          trees: [
            {
              tree_param: { num_nodes: '3' },
              left_children: [1, -1, -1],
              right_children: [2, -1, -1],
              split_indices: [feature, 0, 0],
              split_conditions: [0.5, -2, 2],
              default_left: [1, 0, 0],
              sum_hessian: [20, 10, 10],
            },
          ],
        },
      },
    },
  };
}

/** model.tar.gz as SageMaker writes it: exactly one file, xgboost-model. */
export function modelArchive(json: object): Uint8Array {
  return tarGzip([{ name: 'xgboost-model', content: Buffer.from(JSON.stringify(json)) }]);
}

/** The label follows feature 0; feature 1 alternates with the row, whatever the label. */
export const GOOD_MODEL = stumpModelJson(0);
export const BLIND_MODEL = stumpModelJson(1);
export const goodModel = (): XGBoostModel => loadXGBoostModel(GOOD_MODEL);

/** `count` rows of one date, label first: half fail (feature 0 = 1), half succeed. */
export function rowsOfDay(count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const failed = index % 2;
    return `${failed},${failed},${Math.floor(index / 2) % 2},0.25`;
  });
}

/** The data lake by key, `rows/date=<d>/<n>.csv`, one object per row (weight 1). */
export class MemoryRows implements TrainingRowReader {
  readonly objects = new Map<string, string>();
  readonly reads: string[] = [];

  addDay(date: string, lines: readonly string[]): this {
    lines.forEach((line, index) => this.objects.set(`rows/date=${date}/d-${index}.csv`, `${line}\n`));
    return this;
  }

  async rowKeysByDate(fromDate: string, toDate: string): Promise<ReadonlyMap<string, readonly string[]>> {
    const byDate = new Map<string, string[]>();
    for (const key of [...this.objects.keys()].sort()) {
      const date = /^rows\/date=(\d{4}-\d{2}-\d{2})\//.exec(key)![1];
      if (date < fromDate || date > toDate) continue;
      byDate.set(date, [...(byDate.get(date) ?? []), key]);
    }
    return byDate;
  }

  async readRows(keys: readonly string[]): Promise<readonly string[]> {
    this.reads.push(...keys);
    return keys.flatMap((key) => this.objects.get(key)!.split('\n').filter((line) => line !== ''));
  }
}

/** A job as drift records it for `jobName` in the dev installation. */
export function recordedJob(jobName: string, overrides: Partial<RecordedTrainingJob> = {}): RecordedTrainingJob {
  return {
    trainingJobName: jobName,
    roleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-sagemaker',
    imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    trainS3Uri: 's3://deploy-guard-dev-data/rows/',
    outputS3Uri: 's3://deploy-guard-dev-models/models/training/',
    hyperparameters: { window_from: '2026-11-01', window_to: '2026-11-20', sagemaker_program: '"train.py"', sagemaker_submit_directory: '"s3://deploy-guard-dev-models/training/code/abc/sourcedir.tar.gz"' },
    fromDate: '2026-11-01',
    toDate: '2026-11-20',
    startedAt: Date.parse('2026-11-20T09:00:12Z'),
    ...overrides,
  };
}

/** What DescribeTrainingJob answers for a job that ran as recorded. */
export function describedAsRecorded(job: RecordedTrainingJob): TrainingJobSummary {
  return {
    trainingJobName: job.trainingJobName,
    status: 'Completed',
    modelArtifactsUrl: `${job.outputS3Uri.replace(/\/+$/, '')}/${job.trainingJobName}/output/model.tar.gz`,
    roleArn: job.roleArn,
    imageUri: job.imageUri,
    channels: [{ name: 'train', s3Uri: job.trainS3Uri }, ...(job.servingModelS3Uri ? [{ name: 'serving', s3Uri: job.servingModelS3Uri }] : [])],
    outputS3Uri: job.outputS3Uri,
    hyperparameters: job.hyperparameters,
  };
}
