import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_TRAINING_JOB_STATE_CHANGE } from '../events/aws';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import { buildEntry } from '../events/emitted';
import { parseAwsEvent } from '../events/parse';
import { loadXGBoostModel, type XGBoostModel } from '../model/xgboost';
import { DynamoDbControlStore } from './adapters/dynamodb-stores';
import { EmfMetrics } from './adapters/emf-metrics';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { S3TrainingRowReader } from './adapters/s3-data-lake';
import { S3ObjectStore } from './adapters/s3-objects';
import { SageMakerHosting } from './adapters/sagemaker-hosting';
import { SageMakerTraining } from './adapters/sagemaker-training';
import { modelFileText } from './adapters/serving-model';
import { ENV, eventSourceFromEnv, jsonEnv, promotionSettings, requireEnv, retrainingSettings, type PromotionSettings } from './config';
import { checkNamePrefix, isOwnTrainingJob } from './drift-domain';
import type {
  ControlStore,
  HostingPort,
  JobVerdict,
  MetricsPort,
  ObjectCopier,
  ObjectReader,
  PromotionIntent,
  RecordedTrainingJob,
  ServingModelPointer,
  TrainingPort,
  TrainingRowReader,
} from './ports';
import {
  compareOnRows,
  decidePromotion,
  modelArtifactsUrl,
  modelNames,
  trainingJobDifferences,
  validationComplete,
  VALIDATION_FRACTION,
  type ModelMetrics,
} from './promote-domain';
import { DEFAULT_METRICS_NAMESPACE } from './quality-metrics';
import { initialModelUris, servedModelUri } from './s3-layout';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { PROMOTE_DECLARATION } from './promote.declaration';

/**
 * promote: a training job finished, or a person approved a model package.
 *
 * A finished job is adopted only if drift recorded it (control table, `trainingjob#<name>`) and
 * DescribeTrainingJob shows it ran as recorded (role, image, channels, output, hyperparameters);
 * anything else is refused with a metric and a log line, and announces nothing. promote then scores
 * the candidate and the serving model itself on the data lake's most recent rows (the validation
 * dates of the job's window) and decides; what the job wrote about itself is not read.
 *
 * A promotion records its intent (control table, `promotion#<job>`) before each step that cannot be
 * repeated blindly, so a redelivery after a crash finishes it: one model package per job, the
 * endpoint updated once, the pointer moved to name it, Model Promoted announced, the verdict
 * recorded. With manual approval it stops after registering (Model Registered); the package's
 * approval (SageMaker Model Package State Change) brings it back here to deploy.
 */

export interface PromoteConfig {
  readonly source: string;
  readonly eventBusName: string;
  readonly namePrefix: string;
  readonly endpointName: string;
  /** The sagemaker-xgboost:1.7-1 image the job trained with; it serves the model too. */
  readonly imageUri: string;
  /** The bucket of served models: an adopted model is copied to models/<version>/ in it (handlers/s3-layout.ts). */
  readonly modelBucket: string;
  /** The feature list of a first model (no serving pointer to carry it over from). */
  readonly initialFeaturesUrl: string;
  readonly metricsNamespace: string;
  readonly settings: PromotionSettings;
}

export interface PromoteDependencies {
  readonly training: TrainingPort;
  readonly hosting: HostingPort;
  /** Reads the models; copies an adopted model into the served prefix, where only promote writes. */
  readonly objects: ObjectReader & ObjectCopier;
  /** The data lake's rows, which promote scores both models on. */
  readonly rows: TrainingRowReader;
  readonly control: ControlStore;
  readonly publisher: EventPublisher;
  readonly metrics: MetricsPort;
  readonly clock: Clock;
  readonly config: PromoteConfig;
}

/** Why promote refuses to act on an event: what it names is not what Deploy Guard started or registered. */
export type RefusalReason = 'unrecorded-job' | 'job-mismatch' | 'unknown-package';

/** The metric counting refusals (a forged or foreign job or package). */
export const PROMOTION_REFUSED_METRIC = 'PromotionRefused';

export type PromoteResult =
  | { readonly status: 'ignored'; readonly reason: 'not-own-job' | 'not-finished' | 'not-own-package' | 'not-approved'; readonly message: string; readonly trainingJobName?: string }
  | { readonly status: 'refused'; readonly reason: RefusalReason; readonly message: string; readonly trainingJobName?: string }
  /** The job was decided already (a redelivery), or its package waits for approval: nothing done, nothing emitted. */
  | { readonly status: 'duplicate'; readonly trainingJobName: string; readonly verdict: JobVerdict['verdict'] | 'registered' }
  | { readonly status: 'rejected'; readonly trainingJobName: string; readonly reason: string; readonly message: string }
  | { readonly status: 'registered'; readonly trainingJobName: string; readonly modelVersion: string; readonly modelPackageArn: string }
  | {
      readonly status: 'promoted';
      readonly trainingJobName: string;
      readonly modelVersion: string;
      readonly previousModelVersion: string | null;
      readonly approval: 'Approved' | 'PendingManualApproval';
      readonly modelPackageArn: string;
    };

export async function handlePromoteEvent(event: unknown, deps: PromoteDependencies): Promise<PromoteResult> {
  const detailType = event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
  if (detailType === SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE) return handleApproval(event, deps);
  return handleFinishedJob(event, deps);
}

async function handleFinishedJob(event: unknown, deps: PromoteDependencies): Promise<PromoteResult> {
  const job = parseAwsEvent(SAGEMAKER_TRAINING_JOB_STATE_CHANGE, event).detail;
  const jobName = job.TrainingJobName;
  if (!isOwnTrainingJob(deps.config.namePrefix, jobName)) {
    return { status: 'ignored', reason: 'not-own-job', message: `training job ${jobName} is not one of ${deps.config.namePrefix}'s`, trainingJobName: jobName };
  }
  if (job.TrainingJobStatus === 'InProgress' || job.TrainingJobStatus === 'Stopping') return notFinished(jobName, job.TrainingJobStatus);
  const decided = await deps.control.readJobVerdict(jobName);
  if (decided) return { status: 'duplicate', trainingJobName: jobName, verdict: decided.verdict };
  const recorded = await deps.control.readTrainingJob(jobName);
  if (!recorded) return refuse('unrecorded-job', `training job ${jobName} was not started by drift (no record of it in the control table)`, deps, jobName);
  const intent = await deps.control.readPromotion(jobName);
  if (intent) return resume(intent, deps);

  // The event's status and artifacts are not trusted: SageMaker's own description is.
  const described = await deps.training.describeTrainingJob(jobName);
  if (!described) return refuse('job-mismatch', `training job ${jobName} is recorded but DescribeTrainingJob does not know it`, deps, jobName);
  if (described.status === 'InProgress' || described.status === 'Stopping') return notFinished(jobName, described.status);
  if (described.status !== 'Completed') {
    const reason = described.status === 'Failed' ? 'training-failed' : 'training-stopped';
    return reject(jobName, reason, described.failureReason || `training job ${jobName} ended ${described.status} without a FailureReason`, null, null, deps);
  }
  const differences = trainingJobDifferences(recorded, described);
  if (differences.length > 0) return refuse('job-mismatch', `training job ${jobName} is not the job drift started: ${differences.join('; ')}`, deps, jobName);
  return judge(recorded, deps);
}

/** Scores both models on the window's validation rows, decides, and registers (then deploys) a better candidate. */
async function judge(recorded: RecordedTrainingJob, deps: PromoteDependencies): Promise<PromoteResult> {
  const { config } = deps;
  const jobName = recorded.trainingJobName;
  const modelDataUrl = modelArtifactsUrl(recorded);
  const serving = await deps.control.readServingModel();
  const [candidateModel, servingModel, lines] = await Promise.all([
    readModel(modelDataUrl, deps),
    serving ? readModel(serving.modelDataUrl, deps) : Promise.resolve(undefined),
    validationRows(recorded, deps.rows),
  ]);
  const comparison = compareOnRows(lines, candidateModel, servingModel);
  const decision = decidePromotion(comparison.candidate, comparison.serving, config.settings.minimumAuc);
  if (!decision.promote) {
    return reject(jobName, decision.reason, [decision.message, ...comparison.notes].join('; '), comparison.candidate, comparison.serving, deps);
  }

  // The endpoint serves only from the served prefix, which no training role can write: what is
  // registered and served is promote's copy of the job's model (copying again on a redelivery is harmless).
  const servedUrl = servedModelUri(config.modelBucket, modelNames(jobName).modelVersion);
  await deps.objects.copy(modelDataUrl, servedUrl);
  const { approval, modelPackageGroupName } = config.settings;
  const modelPackageArn =
    (await deps.hosting.findModelPackage(modelPackageGroupName, jobName)) ??
    (await deps.hosting.registerModelPackage({ modelPackageGroupName, trainingJobName: jobName, imageUri: config.imageUri, modelDataUrl: servedUrl, approval, description: decision.message })).modelPackageArn;
  const intent: PromotionIntent = {
    trainingJobName: jobName,
    stage: approval === 'PendingManualApproval' ? 'registered' : 'deploying',
    modelPackageArn,
    modelDataUrl: servedUrl,
    endpointConfigName: modelNames(jobName).endpointConfigName,
    previousModelVersion: serving?.modelVersion ?? null,
    registeredAnnounced: false,
    candidate: comparison.candidate,
    serving: comparison.serving,
    decidedAt: deps.clock.now(),
  };
  await deps.control.writePromotion(intent);
  return resume(intent, deps);
}

/** Continues a promotion from its recorded intent: announce the registration, or deploy. */
async function resume(intent: PromotionIntent, deps: PromoteDependencies): Promise<PromoteResult> {
  if (intent.stage === 'deploying') return deploy(intent, deps);
  if (intent.registeredAnnounced) return { status: 'duplicate', trainingJobName: intent.trainingJobName, verdict: 'registered' };
  const at = deps.clock.now();
  const { config } = deps;
  const modelVersion = modelNames(intent.trainingJobName).modelVersion;
  await deps.publisher.publish([
    buildEntry(
      'Model Registered',
      {
        schemaVersion: '1',
        modelVersion,
        trainingJobName: intent.trainingJobName,
        modelPackageArn: intent.modelPackageArn,
        approval: 'PendingManualApproval',
        candidate: intent.candidate,
        serving: intent.serving,
        registeredAt: eventBridgeTime(at),
      },
      { source: config.source, eventBusName: config.eventBusName, time: new Date(at) },
    ),
  ]);
  await deps.control.writePromotion({ ...intent, registeredAnnounced: true });
  return { status: 'registered', trainingJobName: intent.trainingJobName, modelVersion, modelPackageArn: intent.modelPackageArn };
}

/**
 * Moves the endpoint to the job's model and the pointer with it. Every step is safe to repeat: the
 * model and endpoint config exist already or are created, the endpoint is updated only if it is not
 * on (or moving to) the job's config, and the pointer is moved only from the version it replaced.
 */
async function deploy(intent: PromotionIntent, deps: PromoteDependencies): Promise<PromoteResult> {
  const { config } = deps;
  const jobName = intent.trainingJobName;
  const names = modelNames(jobName);
  await deps.hosting.createModel({ modelName: names.modelName, imageUri: config.imageUri, modelDataUrl: intent.modelDataUrl, executionRoleArn: config.settings.executionRoleArn });
  await deps.hosting.createEndpointConfig({ endpointConfigName: intent.endpointConfigName, modelName: names.modelName, hosting: config.settings.hosting });
  const endpoint = await deps.hosting.describeEndpoint(config.endpointName);
  if (endpoint.endpointConfigName !== intent.endpointConfigName && endpoint.pendingEndpointConfigName !== intent.endpointConfigName) {
    await deps.hosting.updateEndpoint({ endpointName: config.endpointName, endpointConfigName: intent.endpointConfigName, rollbackAlarmNames: config.settings.rollbackAlarmNames });
  }
  await movePointer(intent, deps);
  const at = deps.clock.now();
  await deps.publisher.publish([
    buildEntry(
      'Model Promoted',
      {
        schemaVersion: '1',
        modelVersion: names.modelVersion,
        previousModelVersion: intent.previousModelVersion,
        trainingJobName: jobName,
        modelPackageArn: intent.modelPackageArn,
        approval: config.settings.approval,
        endpointName: config.endpointName,
        candidate: intent.candidate,
        serving: intent.serving,
        promotedAt: eventBridgeTime(at),
      },
      { source: config.source, eventBusName: config.eventBusName, time: new Date(at) },
    ),
  ]);
  await deps.control.recordJobVerdict({ trainingJobName: jobName, verdict: 'promoted', detail: names.modelVersion, decidedAt: at });
  return {
    status: 'promoted',
    trainingJobName: jobName,
    modelVersion: names.modelVersion,
    previousModelVersion: intent.previousModelVersion,
    approval: config.settings.approval,
    modelPackageArn: intent.modelPackageArn,
  };
}

/** The pointer names the job's model afterwards (moved now, or by an earlier delivery), or this throws. */
async function movePointer(intent: PromotionIntent, deps: PromoteDependencies): Promise<void> {
  const jobName = intent.trainingJobName;
  const serving = await deps.control.readServingModel();
  if (serving?.trainingJobName === jobName) return;
  const next: ServingModelPointer = {
    modelVersion: modelNames(jobName).modelVersion,
    modelDataUrl: intent.modelDataUrl,
    featuresUrl: serving?.featuresUrl ?? deps.config.initialFeaturesUrl,
    trainingJobName: jobName,
    promotedAt: deps.clock.now(),
    modelPackageArn: intent.modelPackageArn,
    ...(intent.previousModelVersion === null ? {} : { previousModelVersion: intent.previousModelVersion }),
  };
  if (await deps.control.swapServingModel(next, intent.previousModelVersion)) return;
  const now = await deps.control.readServingModel();
  if (now?.trainingJobName === jobName) return;
  throw new Error(
    `training job ${jobName}: the serving pointer moved from ${intent.previousModelVersion ?? 'none'} to ${now?.modelVersion ?? 'none'} during promotion; ` +
      `endpoint ${deps.config.endpointName} is on ${intent.endpointConfigName}; a person must choose which model serves`,
  );
}

/** A package approved by a person: deploy it if promote registered it for a job it judged. */
async function handleApproval(event: unknown, deps: PromoteDependencies): Promise<PromoteResult> {
  const detail = parseAwsEvent(SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE, event).detail;
  const { modelPackageGroupName } = deps.config.settings;
  const arn = detail.ModelPackageArn;
  if (detail.ModelPackageGroupName !== modelPackageGroupName) {
    return { status: 'ignored', reason: 'not-own-package', message: `model package ${arn} is in group ${detail.ModelPackageGroupName}, not ${modelPackageGroupName}` };
  }
  if (detail.ModelApprovalStatus !== 'Approved') return notApproved(arn, detail.ModelApprovalStatus);
  // The event is a notice; SageMaker's description of the package is the truth.
  const described = await deps.hosting.describeModelPackage(arn);
  if (!described || described.modelPackageGroupName !== modelPackageGroupName || !described.trainingJobName) {
    return refuse('unknown-package', `model package ${arn} was not registered by promote in ${modelPackageGroupName}`, deps);
  }
  if (described.approval !== 'Approved') return notApproved(arn, described.approval);
  const jobName = described.trainingJobName;
  const decided = await deps.control.readJobVerdict(jobName);
  if (decided) return { status: 'duplicate', trainingJobName: jobName, verdict: decided.verdict };
  const intent = await deps.control.readPromotion(jobName);
  if (!intent || intent.modelPackageArn !== arn) {
    return refuse('unknown-package', `model package ${arn} names training job ${jobName}, for which promote registered ${intent?.modelPackageArn ?? 'nothing'}`, deps, jobName);
  }
  const deploying: PromotionIntent = { ...intent, stage: 'deploying' };
  if (intent.stage !== 'deploying') await deps.control.writePromotion(deploying);
  return deploy(deploying, deps);
}

/**
 * The rows both models are scored on: the newest dates of the job's window, read newest first until
 * they hold VALIDATION_FRACTION of the window's rows (train.py's validation dates, or fewer), never
 * the window's first date (train.py always trains on it).
 */
async function validationRows(job: RecordedTrainingJob, rows: TrainingRowReader): Promise<readonly string[]> {
  const byDate = await rows.rowKeysByDate(job.fromDate, job.toDate);
  const dates = [...byDate.keys()].sort();
  let unread = dates.reduce((sum, date) => sum + byDate.get(date)!.length, 0);
  const lines: string[] = [];
  for (const date of dates.slice(1).reverse()) {
    if (validationComplete(lines.length, unread, VALIDATION_FRACTION)) break;
    const keys = byDate.get(date)!;
    lines.push(...(await rows.readRows(keys)));
    unread -= keys.length;
  }
  return lines;
}

async function readModel(s3Url: string, deps: PromoteDependencies): Promise<XGBoostModel> {
  const archive = await deps.objects.read(s3Url);
  if (!archive) throw new Error(`promote: model artifacts ${s3Url} do not exist`);
  return loadXGBoostModel(modelFileText(archive, s3Url));
}

/** Refuses what Deploy Guard did not start or register: counted and logged, nothing announced. */
function refuse(reason: RefusalReason, message: string, deps: PromoteDependencies, trainingJobName?: string): PromoteResult {
  deps.metrics.put({
    namespace: deps.config.metricsNamespace,
    dimensions: {},
    values: [{ name: PROMOTION_REFUSED_METRIC, unit: 'Count', value: 1 }],
    at: deps.clock.now(),
  });
  return { status: 'refused', reason, message, ...(trainingJobName ? { trainingJobName } : {}) };
}

function notFinished(jobName: string, status: string): PromoteResult {
  return { status: 'ignored', reason: 'not-finished', message: `training job ${jobName} is ${status}`, trainingJobName: jobName };
}

function notApproved(arn: string, status: string): PromoteResult {
  return { status: 'ignored', reason: 'not-approved', message: `model package ${arn} is ${status}, not Approved` };
}

type RejectionReason = 'worse-than-serving' | 'below-minimum' | 'training-failed' | 'training-stopped';

/** Announces Model Rejected, then records the verdict. */
async function reject(
  jobName: string,
  reason: RejectionReason,
  message: string,
  candidate: ModelMetrics | null,
  serving: ModelMetrics | null,
  deps: PromoteDependencies,
): Promise<PromoteResult> {
  const at = deps.clock.now();
  const entry = buildEntry(
    'Model Rejected',
    { schemaVersion: '1', trainingJobName: jobName, reason, message, candidate, serving, rejectedAt: eventBridgeTime(at) },
    { source: deps.config.source, eventBusName: deps.config.eventBusName, time: new Date(at) },
  );
  await deps.publisher.publish([entry]);
  await deps.control.recordJobVerdict({ trainingJobName: jobName, verdict: 'rejected', detail: reason, decidedAt: at });
  return { status: 'rejected', trainingJobName: jobName, reason, message };
}


/** Reads the handler's configuration from the Lambda environment, naming the variable that is wrong. */
export function promoteConfigFromEnv(env: NodeJS.ProcessEnv): PromoteConfig {
  const namePrefix = requireEnv(env, ENV.namePrefix, "the installation's name prefix, e.g. deploy-guard-dev");
  checkNamePrefix(namePrefix);
  const modelBucket = requireEnv(env, ENV.modelBucket, 'the S3 bucket of model artifacts and training output');
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    namePrefix,
    endpointName: requireEnv(env, ENV.endpointName, 'the SageMaker endpoint Deploy Guard serves from'),
    imageUri: jsonEnv(env, ENV.retraining, retrainingSettings, 'the retraining settings (JSON)').imageUri,
    modelBucket,
    initialFeaturesUrl: initialModelUris(modelBucket).features,
    metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
    settings: jsonEnv(env, ENV.promotion, promotionSettings, 'the promotion settings (JSON)'),
  };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const sageMakerClient = new SageMakerClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<PromoteDependencies>> {
  return {
    training: new SageMakerTraining(sageMakerClient),
    hosting: new SageMakerHosting(sageMakerClient),
    objects: new S3ObjectStore(s3Client),
    rows: new S3TrainingRowReader(s3Client, requireEnv(env, ENV.dataBucket, 'the S3 bucket of labelled training rows')),
    control: new DynamoDbControlStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    metrics: new EmfMetrics(),
    clock: systemClock,
  };
}

export const PROMOTE: HandlerDefinition<PromoteDependencies, PromoteResult> = { declaration: PROMOTE_DECLARATION, handle: handlePromoteEvent, configFromEnv: promoteConfigFromEnv, awsPorts };

export const handler = lambdaEntry(PROMOTE);
