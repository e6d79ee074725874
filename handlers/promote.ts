import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SAGEMAKER_TRAINING_JOB_STATE_CHANGE } from '../events/aws';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import { buildEntry, type PutEventsEntry } from '../events/emitted';
import { parseAwsEvent } from '../events/parse';
import { DynamoDbControlStore } from './adapters/dynamodb-stores';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { S3ObjectStore } from './adapters/s3-objects';
import { SageMakerHosting } from './adapters/sagemaker-hosting';
import { SageMakerTraining } from './adapters/sagemaker-training';
import { ENV, eventSourceFromEnv, jsonEnv, promotionSettings, requireEnv, retrainingSettings, type PromotionSettings } from './config';
import { checkNamePrefix, isOwnTrainingJob } from './drift-domain';
import { correlationIdOf, handlerLogger } from './observability';
import type { ControlStore, HostingPort, JobVerdict, ObjectCopier, ObjectReader, ServingModelPointer, TrainingPort } from './ports';
import {
  decidePromotion,
  EVALUATION_FILE,
  evaluationArchiveUrl,
  eventMetrics,
  modelNames,
  parseEvaluation,
  evaluationFromArchive,
  type ModelMetrics,
} from './promote-domain';
import { initialModelUris, servedModelUri } from './s3-layout';

/**
 * promote: a Deploy Guard training job finished. Completed: read the evaluation the job wrote (the
 * candidate and the serving model on the same most recent window), and promote the candidate when it
 * is good enough: register it, create its model and endpoint configuration, move the endpoint with a
 * blue/green update, swap the serving pointer, announce Model Promoted. Otherwise, or when the job
 * failed or was stopped, announce Model Rejected. Each decision is recorded after it is announced
 * (control table, `job#<name>`), so a redelivered event for a decided job is a duplicate and does
 * nothing: no second announcement, no second model package. (A crash between the announcement and
 * the record announces again on the retry: at least once, never lost.)
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
  readonly settings: PromotionSettings;
}

export interface PromoteDependencies {
  readonly training: TrainingPort;
  readonly hosting: HostingPort;
  /** Reads the job's evaluation; copies its model into the served prefix, where only promote writes. */
  readonly objects: ObjectReader & ObjectCopier;
  readonly control: ControlStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly config: PromoteConfig;
}

export type PromoteResult =
  | { readonly status: 'ignored'; readonly reason: 'not-own-job' | 'not-finished'; readonly message: string; readonly trainingJobName: string }
  /** The job was decided already (a redelivery), or its model serves already: nothing done, nothing emitted. */
  | { readonly status: 'duplicate'; readonly trainingJobName: string; readonly verdict: JobVerdict['verdict'] }
  | { readonly status: 'rejected'; readonly trainingJobName: string; readonly reason: string; readonly message: string }
  | {
      readonly status: 'promoted';
      readonly trainingJobName: string;
      readonly modelVersion: string;
      readonly previousModelVersion: string | null;
      readonly approval: 'Approved' | 'PendingManualApproval';
      readonly modelPackageArn: string;
    };

export async function handlePromoteEvent(event: unknown, deps: PromoteDependencies): Promise<PromoteResult> {
  const job = parseAwsEvent(SAGEMAKER_TRAINING_JOB_STATE_CHANGE, event).detail;
  const { config } = deps;
  const jobName = job.TrainingJobName;
  if (!isOwnTrainingJob(config.namePrefix, jobName)) {
    return { status: 'ignored', reason: 'not-own-job', message: `training job ${jobName} is not one of ${config.namePrefix}'s`, trainingJobName: jobName };
  }
  switch (job.TrainingJobStatus) {
    case 'InProgress':
    case 'Stopping':
      return { status: 'ignored', reason: 'not-finished', message: `training job ${jobName} is ${job.TrainingJobStatus}`, trainingJobName: jobName };
    default:
      break;
  }
  const decided = await deps.control.readJobVerdict(jobName);
  if (decided) return { status: 'duplicate', trainingJobName: jobName, verdict: decided.verdict };
  if (job.TrainingJobStatus === 'Completed') return promoteCompleted(jobName, job.ModelArtifacts?.S3ModelArtifacts, deps);
  const reason = job.TrainingJobStatus === 'Failed' ? 'training-failed' : 'training-stopped';
  const message = job.FailureReason || `training job ${jobName} ended ${job.TrainingJobStatus} without a FailureReason`;
  return reject(jobName, reason, message, null, null, deps);
}

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

async function promoteCompleted(jobName: string, eventArtifacts: string | undefined, deps: PromoteDependencies): Promise<PromoteResult> {
  const { config } = deps;
  const { approval } = config.settings;
  const names = modelNames(jobName);
  const serving = await deps.control.readServingModel();
  const servesAlready = serving !== undefined && (serving.trainingJobName === jobName || serving.modelVersion === names.modelVersion);
  // The pointer names this job but no verdict is recorded: an earlier delivery moved the pointer and
  // crashed before announcing. Announce it now (the pointer keeps what the announcement needs).
  const unannounced = servesAlready && serving.modelPackageArn !== undefined ? serving : undefined;
  if (servesAlready && !unannounced) return { status: 'duplicate', trainingJobName: jobName, verdict: 'promoted' };

  const modelDataUrl = eventArtifacts ?? (await deps.training.describeTrainingJob(jobName))?.modelArtifactsUrl;
  if (!modelDataUrl) throw new Error(`training job ${jobName} is Completed but neither the event nor DescribeTrainingJob names its model artifacts`);
  const archiveUrl = evaluationArchiveUrl(jobName, modelDataUrl);
  const archive = await deps.objects.read(archiveUrl);
  if (!archive) throw new Error(`training job ${jobName}: ${archiveUrl} does not exist; train.py writes ${EVALUATION_FILE} to SM_OUTPUT_DATA_DIR`);
  const evaluationText = evaluationFromArchive(archive, archiveUrl);
  if (evaluationText === undefined) throw new Error(`training job ${jobName}: ${archiveUrl} holds no ${EVALUATION_FILE}`);
  const evaluation = parseEvaluation(evaluationText, archiveUrl);
  const candidate = eventMetrics(evaluation.candidate);
  const servingMetrics = evaluation.serving ? eventMetrics(evaluation.serving) : null;

  /** Announces Model Promoted, then records the verdict. */
  const announce = async (modelPackageArn: string, previousModelVersion: string | null): Promise<PromoteResult> => {
    await deps.publisher.publish([promotedEntry({ jobName, modelPackageArn, previousModelVersion, candidate, servingMetrics }, deps)]);
    await deps.control.recordJobVerdict({ trainingJobName: jobName, verdict: 'promoted', detail: names.modelVersion, decidedAt: deps.clock.now() });
    return { status: 'promoted', trainingJobName: jobName, modelVersion: names.modelVersion, previousModelVersion, approval, modelPackageArn };
  };
  if (unannounced) return announce(unannounced.modelPackageArn!, unannounced.previousModelVersion ?? null);

  const decision = decidePromotion(candidate, servingMetrics, config.settings.minimumAuc);
  if (!decision.promote) return reject(jobName, decision.reason, decision.message, candidate, servingMetrics, deps);

  // The endpoint serves only from the served prefix, which training roles cannot write: the job's
  // output stays where it was written, and what is registered and served is promote's copy.
  const servedUrl = servedModelUri(config.modelBucket, names.modelVersion);
  await deps.objects.copy(modelDataUrl, servedUrl);
  const { modelPackageArn } = await deps.hosting.registerModelPackage({
    modelPackageGroupName: config.settings.modelPackageGroupName,
    imageUri: config.imageUri,
    modelDataUrl: servedUrl,
    approval,
    description: `${jobName}: ${decision.message}`.slice(0, 1000),
  });
  const previousModelVersion = serving?.modelVersion ?? null;
  // A person approves the package; the endpoint and the pointer stay as they are.
  if (approval === 'PendingManualApproval') return announce(modelPackageArn, previousModelVersion);

  await deps.hosting.createModel({ modelName: names.modelName, imageUri: config.imageUri, modelDataUrl: servedUrl, executionRoleArn: config.settings.executionRoleArn });
  await deps.hosting.createEndpointConfig({ endpointConfigName: names.endpointConfigName, modelName: names.modelName, hosting: config.settings.hosting });
  await deps.hosting.updateEndpoint({
    endpointName: config.endpointName,
    endpointConfigName: names.endpointConfigName,
    rollbackAlarmNames: config.settings.rollbackAlarmNames,
  });
  const next: ServingModelPointer = {
    modelVersion: names.modelVersion,
    modelDataUrl: servedUrl,
    featuresUrl: serving?.featuresUrl ?? config.initialFeaturesUrl,
    trainingJobName: jobName,
    promotedAt: deps.clock.now(),
    modelPackageArn,
    ...(previousModelVersion === null ? {} : { previousModelVersion }),
  };
  if (!(await deps.control.swapServingModel(next, previousModelVersion))) {
    const now = await deps.control.readServingModel();
    if (now?.trainingJobName === jobName) return { status: 'duplicate', trainingJobName: jobName, verdict: 'promoted' };
    throw new Error(
      `training job ${jobName}: the serving pointer moved from ${previousModelVersion ?? 'none'} to ${now?.modelVersion ?? 'none'} during promotion; ` +
        `endpoint ${config.endpointName} was updated to ${names.endpointConfigName}, the pointer was left as it is`,
    );
  }
  return announce(modelPackageArn, previousModelVersion);
}

type RejectionReason = 'worse-than-serving' | 'below-minimum' | 'training-failed' | 'training-stopped';

function promotedEntry(
  promotion: { jobName: string; modelPackageArn: string; previousModelVersion: string | null; candidate: ModelMetrics; servingMetrics: ModelMetrics | null },
  deps: PromoteDependencies,
): PutEventsEntry {
  const at = deps.clock.now();
  const { config } = deps;
  return buildEntry(
    'Model Promoted',
    {
      schemaVersion: '1',
      modelVersion: modelNames(promotion.jobName).modelVersion,
      previousModelVersion: promotion.previousModelVersion,
      trainingJobName: promotion.jobName,
      modelPackageArn: promotion.modelPackageArn,
      approval: config.settings.approval,
      endpointName: config.endpointName,
      candidate: promotion.candidate,
      serving: promotion.servingMetrics,
      promotedAt: eventBridgeTime(at),
    },
    { source: config.source, eventBusName: config.eventBusName, time: new Date(at) },
  );
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
    settings: jsonEnv(env, ENV.promotion, promotionSettings, 'the promotion settings (JSON)'),
  };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const sageMakerClient = new SageMakerClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const logger = handlerLogger('promote');
let lambdaDependencies: PromoteDependencies | undefined;

export const handler = async (event: unknown): Promise<PromoteResult> => {
  if (!lambdaDependencies) {
    const config = promoteConfigFromEnv(process.env);
    lambdaDependencies = {
      training: new SageMakerTraining(sageMakerClient),
      hosting: new SageMakerHosting(sageMakerClient),
      objects: new S3ObjectStore(s3Client),
      control: new DynamoDbControlStore(dynamoDbClient, requireEnv(process.env, ENV.controlTable, 'the DynamoDB control table')),
      publisher: new EventBridgePublisher(eventBridgeClient),
      clock: systemClock,
      config,
    };
  }
  const correlationId = correlationIdOf(event);
  if (correlationId) logger.appendKeys({ correlationId });
  const result = await handlePromoteEvent(event, lambdaDependencies);
  logger.info('promote', { ...result });
  return result;
};
