import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { retrainingSettings } from '../../handlers/config';
import { DEFAULT_METRICS_NAMESPACE } from '../../handlers/quality-metrics';
import { Retraining, type RetrainingProps } from '../../stacks/retraining';
import { ACCOUNT, KMS_KEY_ARN, REGION, only, policyStatements, resources, synth, wildcardActions } from './construct-synth';

const base: RetrainingProps = { namePrefix: 'deploy-guard-dev', region: REGION, accountId: ACCOUNT, dataBucketName: 'dg-data', modelBucketName: 'dg-models', kmsKeyArn: KMS_KEY_ARN };
const ROOT = join(__dirname, '..', '..');

/** The regular files of an uncompressed ustar archive: name → content. */
function untar(archive: Buffer): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, ''), 8);
    files[name] = archive.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('Retraining', () => {
  let construct: Retraining | undefined;
  const synthesized = synth((scope) => {
    construct = new Retraining(scope, 'retraining', base);
  });

  it('uploads model/train.py and model/hyperparameters.json as a script-mode sourcedir.tar.gz, KMS-encrypted, at a content-addressed key', () => {
    const object = only(synthesized, 'aws_s3_object');
    const archive = Buffer.from(object.content_base64 as string, 'base64');
    const sha = createHash('sha256').update(archive).digest('hex');
    expect(object).toEqual(expect.objectContaining({ bucket: 'dg-models', key: `training/code/${sha.slice(0, 16)}/sourcedir.tar.gz`, server_side_encryption: 'aws:kms', kms_key_id: KMS_KEY_ARN }));
    const files = untar(gunzipSync(archive));
    expect(Object.keys(files)).toEqual(['train.py', 'hyperparameters.json']);
    expect(files['train.py'].equals(readFileSync(join(ROOT, 'model', 'train.py')))).toBe(true);
    expect(files['hyperparameters.json'].equals(readFileSync(join(ROOT, 'model', 'hyperparameters.json')))).toBe(true);
    expect(construct?.sourceDirS3Uri).toBe(`s3://dg-models/training/code/${sha.slice(0, 16)}/sourcedir.tar.gz`);
  });

  it('gives the same archive, and so the same key, for the same code', () => {
    const again = synth((scope) => void new Retraining(scope, 'retraining', base));
    expect(only(again, 'aws_s3_object').key).toBe(only(synthesized, 'aws_s3_object').key);
  });

  it('alarms on the model error rate (FalsePositives + FalseNegatives) / LabelledOutcomes, per day, 2 of 3 days', () => {
    const alarm = Object.values(resources(synthesized, 'aws_cloudwatch_metric_alarm')).find((candidate) => candidate.alarm_name === 'deploy-guard-dev-model-error-rate');
    expect(alarm).toEqual(expect.objectContaining({ comparison_operator: 'GreaterThanThreshold', threshold: 0.3, evaluation_periods: 3, datapoints_to_alarm: 2, treat_missing_data: 'notBreaching' }));
    const metric = (id: string, name: string) => ({ id, return_data: false, metric: { namespace: DEFAULT_METRICS_NAMESPACE, metric_name: name, period: 86400, stat: 'Sum' } });
    expect(alarm?.metric_query).toEqual([
      metric('fp', 'FalsePositives'),
      metric('fn', 'FalseNegatives'),
      metric('labelled', 'LabelledOutcomes'),
      { id: 'error_rate', expression: 'IF(labelled >= 10, (fp + fn) / labelled)', label: 'Model error rate', return_data: true },
    ]);
  });

  it('alarms on the Brier score SUM(BrierContribution) / SUM(LabelledOutcomes) in the configured namespace', () => {
    const custom = synth((scope) => void new Retraining(scope, 'retraining', { ...base, metricsNamespace: 'Acme/DeployGuard', qualityAlarms: { brierThreshold: 0.15, periodSeconds: 3600, evaluationPeriods: 6, datapointsToAlarm: 4, minimumLabelledOutcomes: 3 } }));
    const alarm = Object.values(resources(custom, 'aws_cloudwatch_metric_alarm')).find((candidate) => candidate.alarm_name === 'deploy-guard-dev-model-brier');
    expect(alarm).toEqual(expect.objectContaining({ threshold: 0.15, evaluation_periods: 6, datapoints_to_alarm: 4 }));
    expect(alarm?.metric_query).toEqual([
      { id: 'brier_sum', return_data: false, metric: { namespace: 'Acme/DeployGuard', metric_name: 'BrierContribution', period: 3600, stat: 'Sum' } },
      { id: 'labelled', return_data: false, metric: { namespace: 'Acme/DeployGuard', metric_name: 'LabelledOutcomes', period: 3600, stat: 'Sum' } },
      { id: 'brier', expression: 'IF(labelled >= 3, brier_sum / labelled)', label: 'Brier score', return_data: true },
    ]);
  });

  it('exposes the alarm names and the model package group, and builds valid drift settings', () => {
    expect(construct?.alarmNames).toEqual(['deploy-guard-dev-model-error-rate', 'deploy-guard-dev-model-brier']);
    expect(only(synthesized, 'aws_sagemaker_model_package_group').model_package_group_name).toBe('deploy-guard-dev-risk');
    const settings = construct!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24 });
    // The role ARN is a Terraform reference until apply: check the schema with a literal in its place.
    expect(retrainingSettings.parse({ ...settings, roleArn: 'arn:aws:iam::123456789012:role/x' })).toEqual(expect.objectContaining({
      imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1', alarmNames: construct?.alarmNames, sourceDirS3Uri: construct?.sourceDirS3Uri,
      minimumRows: 200, instanceCount: 1, maxRuntimeSeconds: 3600,
    }));
    // What the configuration sets is kept.
    expect(construct!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24, minimumRows: 1000, maxRuntimeSeconds: 7200 }))
      .toMatchObject({ minimumRows: 1000, maxRuntimeSeconds: 7200 });
  });

  it('retrains on a schedule, every 180 days by default: a rate rule on the default bus, named in the drift settings', () => {
    expect(only(synthesized, 'aws_cloudwatch_event_rule')).toEqual({
      name: 'deploy-guard-dev-retraining-schedule',
      description: 'Every 180 days: retrain on the recent labelled rows, alarm or not.',
      event_bus_name: 'default',
      schedule_expression: 'rate(180 days)',
    });
    expect(construct?.schedule?.definition).toMatchObject({ name: 'retraining-schedule', target: 'drift', periodDays: 180 });
    const settings = construct!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24 });
    expect(settings.schedule).toEqual({ ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-retraining-schedule', days: 180 });
  });

  it('takes the configured cadence; 0 creates no rule and gives drift no schedule', () => {
    let weekly: Retraining | undefined;
    const synthesizedWeekly = synth((scope) => void (weekly = new Retraining(scope, 'retraining', { ...base, scheduleDays: 7 })));
    expect(only(synthesizedWeekly, 'aws_cloudwatch_event_rule').schedule_expression).toBe('rate(7 days)');
    expect(weekly!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24 }).schedule?.days).toBe(7);
    let off: Retraining | undefined;
    const synthesizedOff = synth((scope) => void (off = new Retraining(scope, 'retraining', { ...base, scheduleDays: 0 })));
    expect(resources(synthesizedOff, 'aws_cloudwatch_event_rule')).toEqual({});
    expect(off!.schedule).toBeUndefined();
    expect(off!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24 })).not.toHaveProperty('schedule');
  });

  it('refuses drift settings whose cooldown is as long as the schedule (the schedule would skip its own runs)', () => {
    expect(() => construct!.retrainingSettings({ instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 180 * 24 })).toThrow(
      'Retraining scheduleDays (180 days) must be longer than cooldownHours (4320 h): a scheduled run within the cooldown is skipped',
    );
  });

  it('scopes the SageMaker role to the two buckets, the key and the XGBoost repository', () => {
    const statements = policyStatements(synthesized, 'retraining-and-hosting');
    const byId = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
    expect(byId.ReadTrainingData.Resource).toBe('arn:aws:s3:::dg-data/rows/*');
    expect(byId.ReadCodeAndModels.Resource).toEqual(['arn:aws:s3:::dg-models/training/code/*', 'arn:aws:s3:::dg-models/models/*', 'arn:aws:s3:::dg-models/notebook/*']);
    // Only its own jobs' output and the notebook's folder: never models/, which the endpoint loads.
    expect(byId.WriteTrainingOutput.Resource).toEqual(['arn:aws:s3:::dg-models/training/output/deploy-guard-dev-*', 'arn:aws:s3:::dg-models/notebook/*']);
    expect(byId.UseBucketKey.Resource).toBe(KMS_KEY_ARN);
    expect(byId.PullImage.Resource).toBe('arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost');
    expect(wildcardActions(statements).sort()).toEqual(['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken']);
    expect(byId.TrainingMetrics.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } });
  });
});

describe('Retraining props', () => {
  it.each<[string, Partial<RetrainingProps>, string]>([
    ['datapoints above the evaluation periods', { qualityAlarms: { evaluationPeriods: 3, datapointsToAlarm: 4 } }, 'Retraining qualityAlarms.datapointsToAlarm must be an integer from 1 to evaluationPeriods (3), got 4'],
    ['a period that is not a multiple of 60', { qualityAlarms: { periodSeconds: 90 } }, 'Retraining qualityAlarms.periodSeconds must be a positive multiple of 60, got 90'],
    ['a window over 7 days', { qualityAlarms: { periodSeconds: 86400, evaluationPeriods: 8 } }, 'Retraining qualityAlarms.periodSeconds × evaluationPeriods must be at most 604800 s for a 86400 s period, got 691200'],
    ['a sub-hour window over a day', { qualityAlarms: { periodSeconds: 1800, evaluationPeriods: 49, datapointsToAlarm: 2 } }, 'Retraining qualityAlarms.periodSeconds × evaluationPeriods must be at most 86400 s for a 1800 s period, got 88200'],
    ['an error-rate threshold above 1', { qualityAlarms: { errorRateThreshold: 1.5 } }, 'Retraining qualityAlarms.errorRateThreshold must be a number greater than 0 and at most 1, got 1.5'],
    ['a bad namespace', { metricsNamespace: 'has space' }, "Retraining metricsNamespace 'has space' must be 1 to 255 letters, digits or . / _ # : -"],
    ['a code prefix without a trailing slash', { sourceDirPrefix: 'code' }, "Retraining sourceDirPrefix 'code' must be a literal S3 key prefix ending with '/', without a leading '/'"],
    ['a code prefix training jobs may write', { sourceDirPrefix: 'training/output/code/' }, "Retraining sourceDirPrefix 'training/output/code/' overlaps 'training/output/', which training jobs may write: the code must be out of their reach"],
    ['a code prefix above the notebook folder', { sourceDirPrefix: 'notebook/' }, "Retraining sourceDirPrefix 'notebook/' overlaps 'notebook/', which training jobs may write: the code must be out of their reach"],
    ['an uppercase name prefix', { namePrefix: 'Deploy-Guard' }, "Retraining namePrefix 'Deploy-Guard' must be 1 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
    ['a schedule of part of a day', { scheduleDays: 1.5 }, 'Retraining scheduleDays must be an integer from 0 to 365, got 1.5'],
    ['a schedule over a year', { scheduleDays: 366 }, 'Retraining scheduleDays must be an integer from 0 to 365, got 366'],
  ])('rejects %s', (_case, override, message) => {
    expect(() => synth((scope) => void new Retraining(scope, 'retraining', { ...base, ...override }))).toThrow(message);
  });

  it('rejects hyperparameters that are not strings, naming the file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'dg-retraining-'));
    try {
      const file = join(folder, 'hyperparameters.json');
      writeFileSync(file, '{"num_round": 300}');
      expect(() => synth((scope) => void new Retraining(scope, 'retraining', { ...base, hyperparametersPath: file }))).toThrow(`Retraining hyperparameters file '${file}' is invalid: expected a JSON object of strings`);
      expect(() => synth((scope) => void new Retraining(scope, 'retraining', { ...base, trainingScriptPath: join(folder, 'missing.py') }))).toThrow(`Retraining cannot read the training script '${join(folder, 'missing.py')}'`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
