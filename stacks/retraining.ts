import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { SagemakerModelPackageGroup } from '@cdktf/provider-aws/lib/sagemaker-model-package-group';
import { Construct } from 'constructs';
import { MODEL_ALARMS, modelAlarmName, modelPackageGroupName, retrainingScheduleRule, type ScheduleRule } from '../events/patterns';
import { DEFAULT_MINIMUM_TRAINING_ROWS, type RetrainingSettings } from '../handlers/config';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_METRICS } from '../handlers/quality-metrics';
import { NOTEBOOK_WORK_PREFIX, SERVED_MODELS_PREFIX, TRAINING_CODE_PREFIX, TRAINING_OUTPUT_PREFIX, TRAINING_ROWS_PREFIX } from '../handlers/s3-layout';
import { tarGzip } from '../model/tar';
import {
  bucketArn,
  ecrPullStatements,
  objectsArn,
  policyDocument,
  serviceTrustPolicy,
  validateAccountId,
  validateArn,
  validateInteger,
  validateKeyPrefix,
  validateNamePrefix,
  validateNumber,
  validateRegion,
} from './construct-support';
import { DEFAULT_RETRAINING_SCHEDULE_DAYS, MAXIMUM_RETRAINING_SCHEDULE_DAYS } from './config';
import { awsPartition, xgboostImageUri, xgboostRepositoryArn } from './image-uris';
import { ownName, ownNames } from '../events/names';

const NAME = 'Retraining';

/** The project's model/ folder: train.py and hyperparameters.json come from here by default. */
const MODEL_FOLDER = path.resolve(__dirname, '..', 'model');

export interface QualityAlarmSettings {
  /** Length of one evaluated period, in seconds (a multiple of 60). @default 86400 (1 day) */
  readonly periodSeconds?: number;
  /** Periods in the rolling window. @default 3 */
  readonly evaluationPeriods?: number;
  /** Breaching periods within the window that raise the alarm. @default 2 */
  readonly datapointsToAlarm?: number;
  /** (FalsePositives + FalseNegatives) / LabelledOutcomes above which a period breaches. @default 0.3 */
  readonly errorRateThreshold?: number;
  /** SUM(BrierContribution) / SUM(LabelledOutcomes) above which a period breaches. @default 0.2 */
  readonly brierThreshold?: number;
  /** A period with fewer labelled outcomes does not count (no rate from a handful of deployments). @default 10 */
  readonly minimumLabelledOutcomes?: number;
}

export interface RetrainingProps {
  /** Prefix of every physical name, e.g. `deploy-guard-dev`. */
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  /** The data lake of labelled rows (record-outcome writes under `rows/`); the training channels read it. */
  readonly dataBucketName: string;
  /** Model artifacts, training code and evaluations: training writes here, hosting reads here. */
  readonly modelBucketName: string;
  /** The KMS key of both buckets and of the training volumes. */
  readonly kmsKeyArn: string;
  /** CloudWatch namespace of record-outcome's quality metrics. @default DEFAULT_METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  readonly qualityAlarms?: QualityAlarmSettings;
  /** Where in the model bucket the training code goes. @default TRAINING_CODE_PREFIX ('training/code/') */
  readonly sourceDirPrefix?: string;
  /** The training script. @default model/train.py of this project */
  readonly trainingScriptPath?: string;
  /** Default hyperparameters shipped beside the script. @default model/hyperparameters.json of this project */
  readonly hyperparametersPath?: string;
  /**
   * Days between scheduled retrainings (an EventBridge `rate(N days)` rule on the default bus, whose
   * Scheduled Events drift turns into a job); 0: no schedule, only the alarms start jobs.
   * @default DEFAULT_RETRAINING_SCHEDULE_DAYS (180)
   */
  readonly scheduleDays?: number;
}

/** The retraining schedule's rule, and its definition in events/patterns.ts (delivered to drift by the stack). */
export interface RetrainingScheduleRule {
  readonly rule: CloudwatchEventRule;
  readonly definition: ScheduleRule & { readonly periodDays: number };
  /** The rule's ARN, built from its name as AWS forms it: the one resource of its Scheduled Events, which drift matches exactly. */
  readonly arn: string;
}

/** The script-mode entry point inside sourcedir.tar.gz (the `sagemaker_program` hyperparameter). */
export const TRAINING_PROGRAM = 'train.py';

/**
 * What drift-driven retraining needs besides the handlers: the SageMaker execution role for
 * training and hosting (scoped to the two buckets and the KMS key), the model package group,
 * the training code as a script-mode `sourcedir.tar.gz` in the model bucket (content-addressed key),
 * the model-quality alarms (metric math over record-outcome's metrics) whose ALARM state starts
 * retraining, and the retraining schedule (events/patterns.ts retrainingScheduleRule) that starts it
 * every scheduleDays days. The rules for alarm and training-job events live with the event bus
 * (events/patterns.ts); the stack delivers the schedule to drift like them.
 */
export class Retraining extends Construct {
  readonly role: IamRole;
  readonly modelPackageGroup: SagemakerModelPackageGroup;
  readonly modelPackageGroupName: string;
  readonly sourceDir: S3Object;
  /** s3:// URI of sourcedir.tar.gz (the `sagemaker_submit_directory` hyperparameter). */
  readonly sourceDirS3Uri: string;
  /** SHA-256 of sourcedir.tar.gz (its key holds the first 16 hex digits). */
  readonly sourceDirSha256: string;
  readonly imageUri: string;
  readonly errorRateAlarm: CloudwatchMetricAlarm;
  readonly brierAlarm: CloudwatchMetricAlarm;
  /** Names of the alarms whose ALARM state starts retraining (RetrainingSettings.alarmNames). */
  readonly alarmNames: readonly string[];
  readonly metricsNamespace: string;
  /** The schedule rule; absent when scheduleDays is 0. */
  readonly schedule?: RetrainingScheduleRule;

  constructor(scope: Construct, id: string, props: RetrainingProps) {
    super(scope, id);
    validateProps(props);
    const { namePrefix, region, accountId, kmsKeyArn, dataBucketName, modelBucketName } = props;
    const partition = awsPartition(region);
    this.imageUri = xgboostImageUri(region);
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;

    this.role = new IamRole(this, 'role', {
      name: ownName(namePrefix, 'sagemaker'),
      description: 'Deploy Guard SageMaker execution role: retraining jobs and the models promote hosts',
      assumeRolePolicy: serviceTrustPolicy('sagemaker.amazonaws.com', accountId),
    });
    const readable = [props.sourceDirPrefix ?? TRAINING_CODE_PREFIX, SERVED_MODELS_PREFIX, NOTEBOOK_WORK_PREFIX];
    const logGroups = (group: string) => [
      `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/${group}`,
      `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/sagemaker/${group}:log-stream:*`,
    ];
    new IamRolePolicy(this, 'role-policy', {
      name: 'retraining-and-hosting',
      role: this.role.id,
      policy: policyDocument([
        { Sid: 'ListTrainingData', Action: ['s3:ListBucket'], Resource: bucketArn(partition, dataBucketName), Condition: { StringLike: { 's3:prefix': [`${TRAINING_ROWS_PREFIX}*`] } } },
        { Sid: 'ReadTrainingData', Action: ['s3:GetObject'], Resource: objectsArn(partition, dataBucketName, TRAINING_ROWS_PREFIX) },
        // The code, the serving model (the `serving` channel) and the notebook's own inputs.
        { Sid: 'ListModelBucket', Action: ['s3:ListBucket'], Resource: bucketArn(partition, modelBucketName), Condition: { StringLike: { 's3:prefix': readable.map((prefix) => `${prefix}*`) } } },
        { Sid: 'ReadCodeAndModels', Action: ['s3:GetObject'], Resource: readable.map((prefix) => objectsArn(partition, modelBucketName, prefix)) },
        // Training output only: drift's jobs under training/output/<job>/, notebook 03's under notebook/.
        // Never models/, which the endpoint loads: promote copies an adopted model there.
        { Sid: 'WriteTrainingOutput', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: [objectsArn(partition, modelBucketName, `${TRAINING_OUTPUT_PREFIX}${ownNames(namePrefix)}`), objectsArn(partition, modelBucketName, NOTEBOOK_WORK_PREFIX)] },
        { Sid: 'UseBucketKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:DescribeKey'], Resource: kmsKeyArn },
        ...ecrPullStatements(xgboostRepositoryArn(region)),
        { Sid: 'TrainingAndEndpointLogs', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [...logGroups('TrainingJobs'), ...logGroups(`Endpoints/${ownNames(namePrefix)}*`)] },
        {
          Sid: 'TrainingMetrics',
          Action: ['cloudwatch:PutMetricData'],
          // PutMetricData has no resource type: AWS accepts only "*"; the namespace condition scopes it.
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
        },
      ]),
    });

    this.modelPackageGroupName = modelPackageGroupName(namePrefix);
    this.modelPackageGroup = new SagemakerModelPackageGroup(this, 'model-package-group', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: 'Deploy Guard deployment-risk models (sagemaker-xgboost 1.7-1), one version per promotion',
    });

    const archive = sourceDirArchive(props.trainingScriptPath ?? path.join(MODEL_FOLDER, 'train.py'), props.hyperparametersPath ?? path.join(MODEL_FOLDER, 'hyperparameters.json'));
    this.sourceDirSha256 = createHash('sha256').update(archive).digest('hex');
    const key = `${props.sourceDirPrefix ?? TRAINING_CODE_PREFIX}${this.sourceDirSha256.slice(0, 16)}/sourcedir.tar.gz`;
    this.sourceDir = new S3Object(this, 'sourcedir', {
      bucket: modelBucketName,
      key,
      contentBase64: archive.toString('base64'),
      contentType: 'application/gzip',
      serverSideEncryption: 'aws:kms',
      kmsKeyId: kmsKeyArn,
      bucketKeyEnabled: true,
    });
    this.sourceDirS3Uri = `s3://${modelBucketName}/${key}`;

    const alarms = props.qualityAlarms ?? {};
    const period = alarms.periodSeconds ?? 86_400;
    const evaluationPeriods = alarms.evaluationPeriods ?? 3;
    const datapointsToAlarm = alarms.datapointsToAlarm ?? 2;
    const minimum = alarms.minimumLabelledOutcomes ?? 10;
    const metric = (id: string, metricName: string) => ({
      id,
      returnData: false,
      metric: { namespace: this.metricsNamespace, metricName, period, stat: 'Sum' },
    });
    // Below the minimum the expression yields no value, which treat_missing_data notBreaching ignores.
    const enough = (expression: string) => `IF(labelled >= ${minimum}, ${expression})`;
    const common = {
      comparisonOperator: 'GreaterThanThreshold',
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: 'notBreaching',
    };
    this.errorRateAlarm = new CloudwatchMetricAlarm(this, 'error-rate-alarm', {
      ...common,
      alarmName: modelAlarmName(namePrefix, 'error-rate'),
      alarmDescription: `Deploy Guard model quality: (FalsePositives + FalseNegatives) / LabelledOutcomes per ${period} s above ${alarms.errorRateThreshold ?? 0.3} in ${datapointsToAlarm} of ${evaluationPeriods} periods. ALARM starts retraining.`,
      threshold: alarms.errorRateThreshold ?? 0.3,
      metricQuery: [
        metric('fp', QUALITY_METRICS.falsePositives),
        metric('fn', QUALITY_METRICS.falseNegatives),
        metric('labelled', QUALITY_METRICS.labelled),
        { id: 'error_rate', expression: enough('(fp + fn) / labelled'), label: 'Model error rate', returnData: true },
      ],
    });
    this.brierAlarm = new CloudwatchMetricAlarm(this, 'brier-alarm', {
      ...common,
      alarmName: modelAlarmName(namePrefix, 'brier'),
      alarmDescription: `Deploy Guard model calibration: SUM(BrierContribution) / SUM(LabelledOutcomes) per ${period} s above ${alarms.brierThreshold ?? 0.2} in ${datapointsToAlarm} of ${evaluationPeriods} periods. ALARM starts retraining.`,
      threshold: alarms.brierThreshold ?? 0.2,
      metricQuery: [
        metric('brier_sum', QUALITY_METRICS.brierContribution),
        metric('labelled', QUALITY_METRICS.labelled),
        { id: 'brier', expression: enough('brier_sum / labelled'), label: 'Brier score', returnData: true },
      ],
    });
    this.alarmNames = MODEL_ALARMS.map((alarm) => modelAlarmName(namePrefix, alarm));
    this.schedule = retrainingSchedule(this, props);
  }

  /**
   * The drift handler's settings (ENV.retraining) with this construct's role, image, code, alarms and
   * schedule. The schedule must be longer than the cooldown: a scheduled run within the cooldown of
   * the last job is skipped, so a shorter one would skip its own every other run.
   */
  retrainingSettings(
    options: Pick<RetrainingSettings, 'instanceType' | 'dataWindowDays' | 'cooldownHours'> & Partial<Pick<RetrainingSettings, 'instanceCount' | 'maxRuntimeSeconds' | 'minimumRows'>>,
  ): RetrainingSettings {
    const schedule = this.schedule?.definition;
    if (schedule && schedule.periodDays * 24 <= options.cooldownHours) {
      throw new Error(`${NAME} scheduleDays (${schedule.periodDays} days) must be longer than cooldownHours (${options.cooldownHours} h): a scheduled run within the cooldown is skipped`);
    }
    return {
      instanceType: options.instanceType,
      instanceCount: options.instanceCount ?? 1,
      dataWindowDays: options.dataWindowDays,
      minimumRows: options.minimumRows ?? DEFAULT_MINIMUM_TRAINING_ROWS,
      cooldownHours: options.cooldownHours,
      maxRuntimeSeconds: options.maxRuntimeSeconds ?? 3600,
      imageUri: this.imageUri,
      roleArn: this.role.arn,
      sourceDirS3Uri: this.sourceDirS3Uri,
      alarmNames: [...this.alarmNames],
      ...(this.schedule ? { schedule: { ruleArn: this.schedule.arn, days: this.schedule.definition.periodDays } } : {}),
    };
  }
}

/** The retraining schedule's rule (events/patterns.ts retrainingScheduleRule), or none when scheduleDays is 0. */
function retrainingSchedule(scope: Construct, props: RetrainingProps): RetrainingScheduleRule | undefined {
  const scheduleDays = props.scheduleDays ?? DEFAULT_RETRAINING_SCHEDULE_DAYS;
  if (scheduleDays === 0) return undefined;
  const definition = retrainingScheduleRule(scheduleDays);
  const name = ownName(props.namePrefix, definition.name);
  const rule = new CloudwatchEventRule(scope, `rule-${definition.name}`, {
    name,
    description: definition.description,
    // EventBridge runs schedule rules on the default bus only.
    eventBusName: 'default',
    scheduleExpression: definition.scheduleExpression,
  });
  return { rule, definition, arn: `arn:${awsPartition(props.region)}:events:${props.region}:${props.accountId}:rule/${name}` };
}

/**
 * sourcedir.tar.gz for script mode: the entry point and its default hyperparameters at the archive's
 * root. Deterministic (fixed times and modes), so the same code always has the same hash and key.
 */
export function sourceDirArchive(trainingScriptPath: string, hyperparametersPath: string): Buffer {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${NAME} cannot read the ${what} '${file}': ${(error as Error).message}`);
    }
  };
  const hyperparameters = read(hyperparametersPath, 'hyperparameters file');
  try {
    const parsed: unknown = JSON.parse(hyperparameters.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== 'string')) {
      throw new Error('expected a JSON object of strings');
    }
  } catch (error) {
    throw new Error(`${NAME} hyperparameters file '${hyperparametersPath}' is invalid: ${(error as Error).message}`);
  }
  return tarGzip([
    { name: TRAINING_PROGRAM, content: read(trainingScriptPath, 'training script') },
    { name: 'hyperparameters.json', content: hyperparameters },
  ]);
}

function validateProps(props: RetrainingProps): void {
  validateNamePrefix(NAME, props.namePrefix, 40);
  validateRegion(NAME, props.region);
  validateAccountId(NAME, props.accountId);
  validateArn(NAME, 'kmsKeyArn', props.kmsKeyArn, 'kms');
  xgboostImageUri(props.region);
  if (props.sourceDirPrefix !== undefined) {
    validateKeyPrefix(NAME, 'sourceDirPrefix', props.sourceDirPrefix);
    // The training role writes these: code there could be replaced by the jobs it runs.
    for (const writable of [TRAINING_OUTPUT_PREFIX, NOTEBOOK_WORK_PREFIX]) {
      if (props.sourceDirPrefix.startsWith(writable) || writable.startsWith(props.sourceDirPrefix)) {
        throw new Error(`${NAME} sourceDirPrefix '${props.sourceDirPrefix}' overlaps '${writable}', which training jobs may write: the code must be out of their reach`);
      }
    }
  }
  if (props.metricsNamespace !== undefined && !/^[A-Za-z0-9./_#:-]{1,255}$/.test(props.metricsNamespace)) {
    throw new Error(`${NAME} metricsNamespace '${props.metricsNamespace}' must be 1 to 255 letters, digits or . / _ # : -`);
  }
  const alarms = props.qualityAlarms ?? {};
  const period = alarms.periodSeconds ?? 86_400;
  if (!Number.isInteger(period) || period < 60 || period % 60 !== 0) throw new Error(`${NAME} qualityAlarms.periodSeconds must be a positive multiple of 60, got ${period}`);
  const evaluationPeriods = alarms.evaluationPeriods ?? 3;
  validateInteger(NAME, 'qualityAlarms.evaluationPeriods', evaluationPeriods, 1, 100);
  // CloudWatch's limit on an alarm's evaluation range: 1 day for periods under an hour, 7 days otherwise.
  const limit = period < 3600 ? 86_400 : 604_800;
  if (period * evaluationPeriods > limit) {
    throw new Error(`${NAME} qualityAlarms.periodSeconds × evaluationPeriods must be at most ${limit} s for a ${period} s period, got ${period * evaluationPeriods}`);
  }
  const datapoints = alarms.datapointsToAlarm ?? 2;
  if (!Number.isInteger(datapoints) || datapoints < 1 || datapoints > evaluationPeriods) {
    throw new Error(`${NAME} qualityAlarms.datapointsToAlarm must be an integer from 1 to evaluationPeriods (${evaluationPeriods}), got ${datapoints}`);
  }
  validateNumber(NAME, 'qualityAlarms.errorRateThreshold', alarms.errorRateThreshold ?? 0.3, 0, 1);
  validateNumber(NAME, 'qualityAlarms.brierThreshold', alarms.brierThreshold ?? 0.2, 0, 1);
  validateInteger(NAME, 'qualityAlarms.minimumLabelledOutcomes', alarms.minimumLabelledOutcomes ?? 10, 1, 1_000_000);
  validateInteger(NAME, 'scheduleDays', props.scheduleDays ?? DEFAULT_RETRAINING_SCHEDULE_DAYS, 0, MAXIMUM_RETRAINING_SCHEDULE_DAYS);
}
