import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  DescribeEndpointCommand,
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  SageMakerServiceException,
  UpdateEndpointCommand,
  type DescribeTrainingJobResponse,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { buildEntry } from '../../events/emitted';
import { derivedOwnTrainingJobEvent, repairedModelPackageSample, sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import { tarGzip } from '../../model/tar';
import { EventBridgePublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryControlStore } from '../../handlers/adapters/in-memory-stores';
import { SageMakerHosting } from '../../handlers/adapters/sagemaker-hosting';
import { SageMakerTraining } from '../../handlers/adapters/sagemaker-training';
import { ENV, type PromotionSettings } from '../../handlers/config';
import type { ObjectCopier, ObjectReader, RecordedTrainingJob, ServingModelPointer } from '../../handlers/ports';
import { handlePromoteEvent, promoteConfigFromEnv, PROMOTION_REFUSED_METRIC, type PromoteConfig, type PromoteDependencies } from '../../handlers/promote';
import { compareOnRows, decidePromotion, validationComplete, type ModelMetrics } from '../../handlers/promote-domain';
import { RecordingMetrics } from '../fuzz/ports';
import { BLIND_MODEL, GOOD_MODEL, MemoryRows, modelArchive, recordedJob, rowsOfDay, stumpModelJson } from '../support/promote-fixture';
import { loadXGBoostModel } from '../../model/xgboost';

const sageMaker = mockClient(SageMakerClient);
const eventBridge = mockClient(EventBridgeClient);
const $metadata = {};

/** The name derivedOwnTrainingJobEvent gives the real training-job sample (derived). */
const JOB = 'deploy-guard-dev-20261120-0900-5f2c1a';
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const NOW = '2026-11-20T09:41:30Z';
const GROUP = 'deploy-guard-dev-risk';
const settings: PromotionSettings = {
  minimumAuc: 0.7,
  approval: 'Approved',
  modelPackageGroupName: GROUP,
  executionRoleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-endpoint',
  rollbackAlarmNames: ['deploy-guard-dev-endpoint-errors'],
  hosting: { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 },
};
const config: PromoteConfig = {
  source: 'deploy-guard',
  eventBusName: 'deploy-guard-dev',
  namePrefix: 'deploy-guard-dev',
  endpointName: 'deploy-guard-dev',
  imageUri: IMAGE,
  modelBucket: 'deploy-guard-dev-models',
  initialFeaturesUrl: 's3://deploy-guard-dev-models/models/initial/features.json',
  metricsNamespace: 'DeployGuard',
  settings,
};
const SERVING_JOB = 'deploy-guard-dev-20261001-1200-0a9b8c';
const SERVING: ServingModelPointer = {
  modelVersion: SERVING_JOB,
  modelDataUrl: `s3://deploy-guard-dev-models/models/training/${SERVING_JOB}/output/model.tar.gz`,
  featuresUrl: 's3://deploy-guard-dev-models/features/v1.json',
  trainingJobName: SERVING_JOB,
  promotedAt: Date.parse('2026-10-01T12:30:00Z'),
};
const RECORDED: RecordedTrainingJob = recordedJob(JOB, { servingModelS3Uri: SERVING.modelDataUrl });
const MODEL_URL = `s3://deploy-guard-dev-models/models/training/${JOB}/output/model.tar.gz`;
/** Where promote copies an adopted model: the served prefix, which no training role may write. */
const SERVED_URL = `s3://deploy-guard-dev-models/models/${JOB}/model.tar.gz`;
const PACKAGE_ARN = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/7`;

class MemoryObjects implements ObjectReader, ObjectCopier {
  readonly objects = new Map<string, Uint8Array>();
  readonly copies: [string, string][] = [];
  async read(s3Url: string): Promise<Uint8Array | undefined> {
    return this.objects.get(s3Url);
  }
  async copy(fromS3Url: string, toS3Url: string): Promise<void> {
    const body = this.objects.get(fromS3Url);
    if (!body) throw new Error(`NoSuchKey: ${fromS3Url}`);
    this.copies.push([fromS3Url, toS3Url]);
    this.objects.set(toS3Url, body);
  }
}

/** DescribeTrainingJob's answer for a job that ran as drift recorded it. */
function describedJob(job: RecordedTrainingJob, overrides: Partial<DescribeTrainingJobResponse> = {}): DescribeTrainingJobResponse {
  const channel = (name: string, uri: string) => ({ ChannelName: name, DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri } } });
  return {
    TrainingJobName: job.trainingJobName,
    TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${job.trainingJobName}`,
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: `${job.outputS3Uri}${job.trainingJobName}/output/model.tar.gz` },
    RoleArn: job.roleArn,
    AlgorithmSpecification: { TrainingImage: job.imageUri, TrainingInputMode: 'File' },
    InputDataConfig: [channel('train', job.trainS3Uri), ...(job.servingModelS3Uri ? [channel('serving', job.servingModelS3Uri)] : [])],
    OutputDataConfig: { S3OutputPath: job.outputS3Uri },
    HyperParameters: { ...job.hyperparameters },
    ResourceConfig: { InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    CreationTime: new Date(job.startedAt),
    ...overrides,
  } as DescribeTrainingJobResponse;
}

/** The data lake: the window's first day (never validated), two older days, and the newest (validation). */
function dataLake(): MemoryRows {
  return new MemoryRows().addDay('2026-11-01', rowsOfDay(10)).addDay('2026-11-10', rowsOfDay(10)).addDay('2026-11-19', rowsOfDay(10)).addDay('2026-11-20', rowsOfDay(10));
}

interface Setup {
  serving?: ServingModelPointer;
  recorded?: RecordedTrainingJob | null;
  candidate?: object;
  servingModel?: object;
  settings?: Partial<PromotionSettings>;
}

type TestDependencies = PromoteDependencies & { control: InMemoryControlStore; objects: MemoryObjects; rows: MemoryRows; metrics: RecordingMetrics };

async function dependencies(setup: Setup = {}): Promise<TestDependencies> {
  const control = new InMemoryControlStore();
  if (setup.serving !== undefined) await control.swapServingModel(setup.serving, null);
  if (setup.recorded !== null) await control.recordTrainingJob(setup.recorded ?? RECORDED);
  const objects = new MemoryObjects();
  objects.objects.set(MODEL_URL, modelArchive(setup.candidate ?? GOOD_MODEL));
  objects.objects.set(SERVING.modelDataUrl, modelArchive(setup.servingModel ?? BLIND_MODEL));
  return {
    training: new SageMakerTraining(new SageMakerClient({ region: 'us-east-1' })),
    hosting: new SageMakerHosting(new SageMakerClient({ region: 'us-east-1' }), { waitIntervalInSeconds: 600, terminationWaitInSeconds: 120 }),
    objects,
    rows: dataLake(),
    control,
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    metrics: new RecordingMetrics(),
    clock: new ManualClock(NOW),
    config: { ...config, settings: { ...settings, ...setup.settings } },
  };
}

/** The derived Completed event; the real sample carries no ModelArtifacts (promote asks DescribeTrainingJob anyway). */
const completed = () => derivedOwnTrainingJobEvent('Completed', JOB).event;

/** The real model-package sample (its duplicate `source` repaired), for this installation's package, in `status`. */
function approvalEvent(status: 'Approved' | 'Rejected' | 'PendingManualApproval' = 'Approved', group = GROUP, arn = PACKAGE_ARN) {
  const { event } = repairedModelPackageSample();
  const detail = event.detail as Record<string, unknown>;
  Object.assign(detail, { ModelPackageGroupName: group, ModelPackageArn: arn, ModelApprovalStatus: status });
  return event;
}

function publishedEntries(): PutEventsRequestEntry[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}
const publishedTypes = () => publishedEntries().map((entry) => entry.DetailType);

const context = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', time: new Date(NOW) };

/** The validation rows (the newest day, 2026-11-20) scored by the fixture's models, as promote must compute them. */
const validationLines = rowsOfDay(10);
const expected = compareOnRows(validationLines, loadXGBoostModel(GOOD_MODEL), loadXGBoostModel(BLIND_MODEL));

function noHostingCalls(): void {
  expect(sageMaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
  expect(sageMaker).not.toHaveReceivedCommand(CreateEndpointConfigCommand);
  expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
}

/** SageMaker's state, as the mocks answer it: the packages created (idempotent by ClientToken) and the endpoint's config. */
let packages: { arn: string; description: string; token: string; approval: string }[];
let endpointConfig: string;

beforeEach(() => {
  sageMaker.reset();
  eventBridge.reset();
  packages = [];
  endpointConfig = `${SERVING_JOB}`;
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  sageMaker.on(DescribeTrainingJobCommand).resolves(describedJob(RECORDED));
  sageMaker.on(CreateModelPackageCommand).callsFake((input) => {
    const existing = packages.find((candidate) => candidate.token === input.ClientToken);
    if (existing) return { ModelPackageArn: existing.arn };
    const arn = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${7 + packages.length}`;
    packages.push({ arn, description: input.ModelPackageDescription, token: input.ClientToken, approval: input.ModelApprovalStatus });
    return { ModelPackageArn: arn };
  });
  sageMaker.on(ListModelPackagesCommand).callsFake(() => ({
    ModelPackageSummaryList: packages.map((entry) => ({ ModelPackageArn: entry.arn, ModelPackageDescription: entry.description, ModelPackageGroupName: GROUP, CreationTime: new Date(), ModelPackageStatus: 'Completed' })),
  }));
  sageMaker.on(DescribeModelPackageCommand).callsFake((input) => {
    const found = packages.find((entry) => entry.arn === input.ModelPackageName);
    if (!found) throw new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `Model Package ${input.ModelPackageName} does not exist.`, $metadata });
    return { ModelPackageArn: found.arn, ModelPackageGroupName: GROUP, ModelApprovalStatus: found.approval, CustomerMetadataProperties: { 'deploy-guard:training-job': JOB } };
  });
  sageMaker.on(CreateModelCommand).resolves({ ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${JOB}` });
  sageMaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${JOB}` });
  sageMaker.on(DescribeEndpointCommand).callsFake(() => ({ EndpointName: 'deploy-guard-dev', EndpointConfigName: endpointConfig, EndpointStatus: 'InService' }));
  sageMaker.on(UpdateEndpointCommand).callsFake((input) => {
    endpointConfig = input.EndpointConfigName;
    return { EndpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/deploy-guard-dev' };
  });
});

describe('promote: a job drift started, better than the serving model on promote\'s own comparison', () => {
  it('checks the job, scores both models on the newest rows, copies the model to the served prefix, registers, deploys blue/green, swaps the pointer and announces Model Promoted', async () => {
    const deps = await dependencies({ serving: SERVING });
    const result = await handlePromoteEvent(completed(), deps);

    // What is registered and served is promote's copy, under the prefix no training role may write.
    expect(deps.objects.copies).toEqual([[MODEL_URL, SERVED_URL]]);

    expect(result).toEqual({ status: 'promoted', trainingJobName: JOB, modelVersion: JOB, previousModelVersion: SERVING_JOB, approval: 'Approved', modelPackageArn: PACKAGE_ARN });
    expect(sageMaker).toHaveReceivedCommandWith(DescribeTrainingJobCommand, { TrainingJobName: JOB });
    expect(expected.candidate).toMatchObject({ auc: 1, rows: 10 });
    expect(expected.serving).toMatchObject({ auc: 0.5, rows: 10 });
    expect(sageMaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: GROUP,
      ModelPackageDescription: `${JOB}: candidate AUC 1.0000 >= minimum 0.7 and >= the serving model's 0.5000`,
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: SERVED_URL }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
      ModelApprovalStatus: 'Approved',
      CustomerMetadataProperties: { 'deploy-guard:training-job': JOB },
      ClientToken: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(sageMaker.commandCalls(CreateModelCommand)[0].args[0].input).toEqual({ ModelName: JOB, PrimaryContainer: { Image: IMAGE, ModelDataUrl: SERVED_URL }, ExecutionRoleArn: settings.executionRoleArn });
    expect(sageMaker.commandCalls(CreateEndpointConfigCommand)[0].args[0].input).toEqual({
      EndpointConfigName: JOB,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: JOB, ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } }],
    });
    expect(sageMaker.commandCalls(UpdateEndpointCommand)[0].args[0].input).toEqual({
      EndpointName: 'deploy-guard-dev',
      EndpointConfigName: JOB,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 600 }, TerminationWaitInSeconds: 120 },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'deploy-guard-dev-endpoint-errors' }] },
      },
    });
    expect(await deps.control.readServingModel()).toEqual({
      modelVersion: JOB,
      modelDataUrl: SERVED_URL,
      featuresUrl: SERVING.featuresUrl,
      trainingJobName: JOB,
      promotedAt: Date.parse(NOW),
      modelPackageArn: PACKAGE_ARN,
      previousModelVersion: SERVING_JOB,
    });
    await expect(deps.control.readJobVerdict(JOB)).resolves.toEqual({ trainingJobName: JOB, verdict: 'promoted', detail: JOB, decidedAt: Date.parse(NOW) });
    expect(publishedEntries()).toEqual([
      buildEntry(
        'Model Promoted',
        {
          schemaVersion: '1',
          modelVersion: JOB,
          previousModelVersion: SERVING_JOB,
          trainingJobName: JOB,
          modelPackageArn: PACKAGE_ARN,
          approval: 'Approved',
          endpointName: 'deploy-guard-dev',
          candidate: expected.candidate,
          serving: expected.serving,
          promotedAt: NOW,
        },
        context,
      ),
    ]);
  });

  it('reads only the validation dates\' rows (the newest), never the window\'s first day', async () => {
    const deps = await dependencies({ serving: SERVING });
    await handlePromoteEvent(completed(), deps);
    expect(new Set(deps.rows.reads.map((key) => key.slice(0, 'rows/date=2026-11-20'.length)))).toEqual(new Set(['rows/date=2026-11-20']));
  });

  it("never reads what the job wrote about itself: a job's glowing output.tar.gz changes nothing, its model is judged on the rows", async () => {
    const deps = await dependencies({ serving: SERVING, candidate: BLIND_MODEL, servingModel: GOOD_MODEL, settings: { minimumAuc: 0.4 } });
    const glowing = { candidate: { auc: 0.99, rows: 10 }, serving: { auc: 0.5, rows: 10 } };
    deps.objects.objects.set(MODEL_URL.replace('model.tar.gz', 'output.tar.gz'), tarGzip([{ name: 'evaluation.json', content: Buffer.from(JSON.stringify(glowing)) }]));
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'rejected', reason: 'worse-than-serving' });
    noHostingCalls();
    expect(publishedTypes()).toEqual(['Model Rejected']);
  });

  it("a forged Completed event naming other artifacts (the served initial model's path): the artifacts SageMaker describes are judged and deployed", async () => {
    const event = completed();
    (event.detail as Record<string, unknown>).ModelArtifacts = { S3ModelArtifacts: 's3://deploy-guard-dev-models/models/initial/model.tar.gz' };
    await expect(handlePromoteEvent(event, await dependencies({ serving: SERVING }))).resolves.toMatchObject({ status: 'promoted' });
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelCommand, { PrimaryContainer: { Image: IMAGE, ModelDataUrl: SERVED_URL } });
  });

  it("promotes a first model (no serving pointer) with the installation's initial feature list", async () => {
    const deps = await dependencies({ recorded: recordedJob(JOB) });
    sageMaker.on(DescribeTrainingJobCommand).resolves(describedJob(recordedJob(JOB)));
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'promoted', previousModelVersion: null });
    expect((await deps.control.readServingModel())?.featuresUrl).toBe(config.initialFeaturesUrl);
    expect(JSON.parse(publishedEntries()[0].Detail!).serving).toBeNull();
  });

  it('a redelivered Completed after the promotion is a duplicate: no SageMaker call, nothing announced', async () => {
    const deps = await dependencies({ serving: SERVING });
    await handlePromoteEvent(completed(), deps);
    sageMaker.resetHistory();
    eventBridge.resetHistory();
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'promoted' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('provisioned hosting: the endpoint config carries the KMS key and the capture sampling the stack declared', async () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    const hosting = { kind: 'provisioned', instanceType: 'ml.m5.large', initialInstanceCount: 2, dataCaptureS3Uri: 's3://deploy-guard-prod-captures/endpoint/', dataCaptureSamplingPercentage: 20, kmsKeyArn: key } as const;
    await handlePromoteEvent(completed(), await dependencies({ serving: SERVING, settings: { hosting } }));
    expect(sageMaker).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      KmsKeyId: key,
      DataCaptureConfig: expect.objectContaining({ InitialSamplingPercentage: 20, KmsKeyId: key, DestinationS3Uri: 's3://deploy-guard-prod-captures/endpoint/' }),
    });
  });
});

describe('promote: adopts only the jobs drift started and recorded (F-05)', () => {
  it('an unrecorded job with an own-looking name: refused, counted, nothing described, registered or announced', async () => {
    const deps = await dependencies({ serving: SERVING, recorded: null });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({
      status: 'refused',
      reason: 'unrecorded-job',
      trainingJobName: JOB,
      message: `training job ${JOB} was not started by drift (no record of it in the control table)`,
    });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
    expect(deps.metrics.puts).toEqual([{ namespace: 'DeployGuard', dimensions: {}, values: [{ name: PROMOTION_REFUSED_METRIC, unit: 'Count', value: 1 }], at: Date.parse(NOW) }]);
    await expect(deps.control.readJobVerdict(JOB)).resolves.toBeUndefined();
    expect(await deps.control.readServingModel()).toEqual(SERVING);
  });

  const channel = (name: string, uri: string) => ({ ChannelName: name, DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri } } });
  it.each<[string, Partial<DescribeTrainingJobResponse>, string]>([
    ['another role (the notebook\'s)', { RoleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-notebook' }, 'role is "arn:aws:iam::123456789012:role/deploy-guard-dev-notebook"'],
    ['another image', { AlgorithmSpecification: { TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:latest', TrainingInputMode: 'File' } }, 'training image is'],
    ['another train channel', { InputDataConfig: [channel('train', 's3://attacker/rows/'), channel('serving', SERVING.modelDataUrl)] }, 'input channels is'],
    ['an extra channel', { InputDataConfig: [channel('train', RECORDED.trainS3Uri), channel('serving', SERVING.modelDataUrl), channel('extra', 's3://attacker/x/')] }, 'input channels'],
    ['another output prefix', { OutputDataConfig: { S3OutputPath: 's3://deploy-guard-dev-models/notebook/' }, ModelArtifacts: { S3ModelArtifacts: `s3://deploy-guard-dev-models/notebook/${JOB}/output/model.tar.gz` } }, 'output prefix is'],
    ['another training script', { HyperParameters: { ...RECORDED.hyperparameters, sagemaker_submit_directory: '"s3://attacker/sourcedir.tar.gz"' } }, 'hyperparameter sagemaker_submit_directory'],
    ['model artifacts elsewhere', { ModelArtifacts: { S3ModelArtifacts: 's3://deploy-guard-dev-models/models/initial/model.tar.gz' } }, 'model artifacts is'],
  ])('a recorded job that ran with %s: refused as job-mismatch, nothing registered or announced', async (_what, change, mentions) => {
    sageMaker.on(DescribeTrainingJobCommand).resolves(describedJob(RECORDED, change));
    const deps = await dependencies({ serving: SERVING });
    const result = await handlePromoteEvent(completed(), deps);
    expect(result).toMatchObject({ status: 'refused', reason: 'job-mismatch', trainingJobName: JOB });
    expect((result as { message: string }).message).toContain(mentions);
    noHostingCalls();
    expect(eventBridge.calls()).toHaveLength(0);
    expect(deps.metrics.puts).toHaveLength(1);
    expect(await deps.control.readServingModel()).toEqual(SERVING);
  });

  it('a Completed event for a job SageMaker describes as Failed: rejected as training-failed with its FailureReason (the event is not trusted)', async () => {
    sageMaker.on(DescribeTrainingJobCommand).resolves(describedJob(RECORDED, { TrainingJobStatus: 'Failed', FailureReason: 'AlgorithmError: boom', ModelArtifacts: undefined }));
    const deps = await dependencies({ serving: SERVING });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'rejected', trainingJobName: JOB, reason: 'training-failed', message: 'AlgorithmError: boom' });
    noHostingCalls();
  });
});

describe('promote: rejections announce Model Rejected and change nothing', () => {
  it('worse than the serving model on the same rows: worse-than-serving, with both models\' metrics', async () => {
    const deps = await dependencies({ serving: SERVING, candidate: BLIND_MODEL, servingModel: GOOD_MODEL, settings: { minimumAuc: 0.4 } });
    const flipped = compareOnRows(validationLines, loadXGBoostModel(BLIND_MODEL), loadXGBoostModel(GOOD_MODEL));
    const message = "candidate AUC 0.5000 is below the serving model's 1.0000 on the same 10 recent rows";
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'rejected', trainingJobName: JOB, reason: 'worse-than-serving', message });
    expect(publishedEntries()).toEqual([
      buildEntry('Model Rejected', { schemaVersion: '1', trainingJobName: JOB, reason: 'worse-than-serving', message, candidate: flipped.candidate, serving: flipped.serving, rejectedAt: NOW }, context),
    ]);
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'rejected' });
    expect(publishedEntries()).toHaveLength(1);
  });

  it('a candidate over a different feature count than the rows: below-minimum, saying why', async () => {
    const deps = await dependencies({ serving: SERVING, candidate: stumpModelJson(0, 5) });
    const result = await handlePromoteEvent(completed(), deps);
    expect(result).toMatchObject({ status: 'rejected', reason: 'below-minimum' });
    expect((result as { message: string }).message).toContain("the candidate model has 5 features, the window's rows 3: not comparable");
  });

  it.each([
    ['Failed', 'training-failed', 'AlgorithmError: train.py: window 2026-11-20..2026-11-20 holds rows on 1 date(s)'],
    ['Stopped', 'training-stopped', 'Stopped by the user'],
  ] as const)('a %s job: %s with the FailureReason SageMaker describes', async (status, reason, failureReason) => {
    sageMaker.on(DescribeTrainingJobCommand).resolves(describedJob(RECORDED, { TrainingJobStatus: status, FailureReason: failureReason, ModelArtifacts: undefined }));
    const event = derivedOwnTrainingJobEvent(status, JOB).event;
    const deps = await dependencies({ serving: SERVING });
    await expect(handlePromoteEvent(event, deps)).resolves.toEqual({ status: 'rejected', trainingJobName: JOB, reason, message: failureReason });
    expect(publishedEntries()).toEqual([
      buildEntry('Model Rejected', { schemaVersion: '1', trainingJobName: JOB, reason, message: failureReason, candidate: null, serving: null, rejectedAt: NOW }, context),
    ]);
    await expect(handlePromoteEvent(event, deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'rejected' });
    expect(publishedEntries()).toHaveLength(1);
  });
});

/** A crash right after a port's call was applied: the call's effect stays, the invocation dies (once). */
class SimulatedCrash extends Error {}
function crashAfterOnce<T extends object>(target: T, method: keyof T & string): T {
  let crashed = false;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (property !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(object) : value;
      return async (...args: unknown[]) => {
        const result = await value.apply(object, args);
        if (!crashed) {
          crashed = true;
          throw new SimulatedCrash(`crashed after ${method}`);
        }
        return result;
      };
    },
  });
}

describe('promote: a crash at each side-effect boundary, then the redelivery (F-09)', () => {
  it.each<[string, 'hosting' | 'control', string]>([
    ['CreateModelPackage', 'hosting', 'registerModelPackage'],
    ['the intent record', 'control', 'writePromotion'],
    ['CreateModel', 'hosting', 'createModel'],
    ['CreateEndpointConfig', 'hosting', 'createEndpointConfig'],
    ['UpdateEndpoint', 'hosting', 'updateEndpoint'],
    ['the pointer swap', 'control', 'swapServingModel'],
  ])('after %s: one package, one endpoint update, the endpoint and the pointer on the job, Model Promoted once', async (_boundary, port, method) => {
    const deps = await dependencies({ serving: SERVING });
    const crashing = { ...deps, [port]: crashAfterOnce(deps[port] as object, method as never) } as PromoteDependencies;
    await expect(handlePromoteEvent(completed(), crashing)).rejects.toThrow(SimulatedCrash);
    expect(publishedEntries()).toHaveLength(0);

    await expect(handlePromoteEvent(completed(), crashing)).resolves.toMatchObject({ status: 'promoted', modelPackageArn: PACKAGE_ARN, previousModelVersion: SERVING_JOB });
    expect(packages).toHaveLength(1);
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
    expect(endpointConfig).toBe(JOB);
    expect((await deps.control.readServingModel())?.modelVersion).toBe(JOB);
    expect(publishedTypes()).toEqual(['Model Promoted']);
    await expect(handlePromoteEvent(completed(), crashing)).resolves.toMatchObject({ status: 'duplicate', verdict: 'promoted' });
    expect(publishedTypes()).toEqual(['Model Promoted']);
  });

  it('after announcing, before the verdict is recorded: the redelivery announces again (at least once), with no second package or update', async () => {
    const deps = await dependencies({ serving: SERVING });
    const crashing = { ...deps, publisher: crashAfterOnce(deps.publisher, 'publish') };
    await expect(handlePromoteEvent(completed(), crashing)).rejects.toThrow(SimulatedCrash);
    await expect(handlePromoteEvent(completed(), crashing)).resolves.toMatchObject({ status: 'promoted' });
    expect(packages).toHaveLength(1);
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
    expect(publishedTypes()).toEqual(['Model Promoted', 'Model Promoted']);
  });

  it('the endpoint is still moving to the job\'s config (an update in progress) on the redelivery: not updated again', async () => {
    const deps = await dependencies({ serving: SERVING });
    const crashing = { ...deps, hosting: crashAfterOnce(deps.hosting, 'updateEndpoint') };
    await expect(handlePromoteEvent(completed(), crashing)).rejects.toThrow(SimulatedCrash);
    sageMaker.on(DescribeEndpointCommand).resolves({ EndpointName: 'deploy-guard-dev', EndpointConfigName: SERVING_JOB, EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: JOB } } as never);
    await expect(handlePromoteEvent(completed(), crashing)).resolves.toMatchObject({ status: 'promoted' });
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
  });

  it('UpdateEndpoint still throttled after the SDK\'s retries: thrown, the pointer stays, nothing announced; the redelivery finishes', async () => {
    sageMaker.on(UpdateEndpointCommand).rejectsOnce(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata }));
    const deps = await dependencies({ serving: SERVING });
    await expect(handlePromoteEvent(completed(), deps)).rejects.toThrow('Rate exceeded');
    expect(await deps.control.readServingModel()).toEqual(SERVING);
    expect(eventBridge.calls()).toHaveLength(0);
    sageMaker.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn' });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'promoted' });
    expect(packages).toHaveLength(1);
  });
});

describe('promote: manual approval (F-15)', () => {
  const manual = { approval: 'PendingManualApproval' as const };

  it('registers the package pending approval, announces Model Registered (not promoted), leaves the endpoint and the pointer', async () => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'registered', trainingJobName: JOB, modelVersion: JOB, modelPackageArn: PACKAGE_ARN });
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelApprovalStatus: 'PendingManualApproval' });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(await deps.control.readServingModel()).toEqual(SERVING);
    expect(publishedEntries()).toEqual([
      buildEntry(
        'Model Registered',
        { schemaVersion: '1', modelVersion: JOB, trainingJobName: JOB, modelPackageArn: PACKAGE_ARN, approval: 'PendingManualApproval', candidate: expected.candidate, serving: expected.serving, registeredAt: NOW },
        context,
      ),
    ]);
    sageMaker.resetHistory();
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'registered' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(publishedEntries()).toHaveLength(1);
  });

  it('the package approved (the real Model Package State Change sample): deploys it, swaps the pointer, announces Model Promoted once', async () => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    await handlePromoteEvent(completed(), deps);
    packages[0].approval = 'Approved';

    await expect(handlePromoteEvent(approvalEvent(), deps)).resolves.toEqual({
      status: 'promoted', trainingJobName: JOB, modelVersion: JOB, previousModelVersion: SERVING_JOB, approval: 'PendingManualApproval', modelPackageArn: PACKAGE_ARN,
    });
    expect(sageMaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: PACKAGE_ARN });
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
    expect(endpointConfig).toBe(JOB);
    expect((await deps.control.readServingModel())?.modelVersion).toBe(JOB);
    expect(publishedTypes()).toEqual(['Model Registered', 'Model Promoted']);
    expect(packages).toHaveLength(1);

    await expect(handlePromoteEvent(approvalEvent(), deps)).resolves.toMatchObject({ status: 'duplicate', verdict: 'promoted' });
    expect(publishedTypes()).toEqual(['Model Registered', 'Model Promoted']);
  });

  it('a crash after UpdateEndpoint on the approval path: the redelivered approval finishes it once', async () => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    await handlePromoteEvent(completed(), deps);
    packages[0].approval = 'Approved';
    const crashing = { ...deps, hosting: crashAfterOnce(deps.hosting, 'updateEndpoint') };
    await expect(handlePromoteEvent(approvalEvent(), crashing)).rejects.toThrow(SimulatedCrash);
    await expect(handlePromoteEvent(approvalEvent(), crashing)).resolves.toMatchObject({ status: 'promoted' });
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
    expect(publishedTypes()).toEqual(['Model Registered', 'Model Promoted']);
  });

  it('an approval event SageMaker does not confirm (the package is still pending): ignored, nothing deployed', async () => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    await handlePromoteEvent(completed(), deps);
    await expect(handlePromoteEvent(approvalEvent(), deps)).resolves.toMatchObject({ status: 'ignored', reason: 'not-approved' });
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(await deps.control.readServingModel()).toEqual(SERVING);
  });

  it("a package promote never registered (approved in the group by someone): refused and counted, nothing deployed", async () => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    const foreign = `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/99`;
    await expect(handlePromoteEvent(approvalEvent('Approved', GROUP, foreign), deps)).resolves.toMatchObject({ status: 'refused', reason: 'unknown-package' });
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(deps.metrics.puts).toHaveLength(1);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it.each([
    ['another group (the sample\'s own)', approvalEvent('Approved', 'versionedmp-p-idy6c3e1fiqj'), 'not-own-package'],
    ['a rejection', approvalEvent('Rejected'), 'not-approved'],
  ])('%s: ignored without any AWS call', async (_what, event, reason) => {
    const deps = await dependencies({ serving: SERVING, settings: manual });
    await expect(handlePromoteEvent(event, deps)).resolves.toMatchObject({ status: 'ignored', reason });
    expect(sageMaker.calls()).toHaveLength(0);
  });
});

describe('promote: the comparison (pure)', () => {
  it.each([
    [8, 30, 0.2, true],
    [7, 30, 0.2, false],
    [0, 0, 0.2, true],
  ])('validation rows %d with %d objects unread at fraction %d: complete %s', (rows, unread, fraction, complete) => {
    expect(validationComplete(rows, unread, fraction)).toBe(complete);
  });

  it('a weighted row counts as often as it is written (an explored deployment stands for the stops not observed)', () => {
    // One success written three times (weight 3): the candidate's false alarm on '0,1,…' weighs as one row among five.
    const weighted = compareOnRows(['1,1,0,0', '0,0,0,0', '0,0,0,0', '0,0,0,0', '0,1,1,0'], loadXGBoostModel(GOOD_MODEL), undefined);
    expect(weighted.candidate).toMatchObject({ auc: 0.875, prAuc: 0.5, f1Failure: 2 / 3, rows: 5 });
    expect(weighted.serving).toBeNull();
    // Written once instead of three times, the same success weighs less: AUC 0.75 over three rows.
    expect(compareOnRows(['1,1,0,0', '0,0,0,0', '0,1,1,0'], loadXGBoostModel(GOOD_MODEL), undefined).candidate).toMatchObject({ auc: 0.75, rows: 3 });
  });

  it.each([
    [{ auc: 0.7, rows: 10 }, { auc: 0.7, rows: 10 }, true, undefined],
    [{ auc: 0.7, rows: 10 }, { auc: 0.70000001, rows: 10 }, false, 'worse-than-serving'],
    [{ auc: 0.69999999, rows: 10 }, null, false, 'below-minimum'],
    [{ auc: null, rows: 10 }, null, false, 'below-minimum'],
    [{ auc: 0.8, rows: 10 }, { auc: null, rows: 10 }, true, undefined],
  ])('decidePromotion: candidate %j against serving %j: promote %s (%s)', (candidate, serving, promote, reason) => {
    const decision = decidePromotion(candidate as ModelMetrics, serving as ModelMetrics | null, 0.7);
    expect(decision.promote).toBe(promote);
    if (!decision.promote) expect(decision.reason).toBe(reason);
  });
});

describe('promote: what it ignores, and its configuration', () => {
  it("someone else's training job (the real sample, named 89c96cc8-…): ignored, no AWS call", async () => {
    const result = await handlePromoteEvent(sample('sagemaker-training-job-state-change.json').event, await dependencies());
    expect(result).toMatchObject({ status: 'ignored', reason: 'not-own-job', trainingJobName: '89c96cc8-dded-4739-afcc-6f1dc936701d' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('a job still InProgress: ignored', async () => {
    await expect(handlePromoteEvent(derivedOwnTrainingJobEvent('InProgress', JOB).event, await dependencies())).resolves.toMatchObject({ status: 'ignored', reason: 'not-finished' });
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it('a malformed event is an EventValidationError naming the field, before any AWS call', async () => {
    const event = completed();
    (event.detail as Record<string, unknown>).TrainingJobStatus = 'Done';
    await expect(handlePromoteEvent(event, await dependencies())).rejects.toThrow(EventValidationError);
    await expect(handlePromoteEvent(event, await dependencies())).rejects.toThrow('detail.TrainingJobStatus');
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it("a candidate whose model.tar.gz is missing: thrown, naming the URL; nothing registered or announced", async () => {
    const deps = await dependencies({ serving: SERVING });
    deps.objects.objects.delete(MODEL_URL);
    await expect(handlePromoteEvent(completed(), deps)).rejects.toThrow(`promote: model artifacts ${MODEL_URL} do not exist`);
    noHostingCalls();
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('reads its configuration from the environment, the image from the retraining settings', () => {
    const env = {
      [ENV.eventBus]: 'deploy-guard-dev',
      [ENV.namePrefix]: 'deploy-guard-dev',
      [ENV.modelBucket]: 'deploy-guard-dev-models',
      [ENV.endpointName]: 'deploy-guard-dev',
      [ENV.promotion]: JSON.stringify(settings),
      [ENV.retraining]: JSON.stringify({
        instanceType: 'ml.m5.large', dataWindowDays: 90, cooldownHours: 24, imageUri: IMAGE,
        roleArn: 'arn:aws:iam::123456789012:role/r', sourceDirS3Uri: 's3://b/code.tar.gz', alarmNames: ['a'],
      }),
    };
    expect(promoteConfigFromEnv(env)).toEqual(config);
    expect(() => promoteConfigFromEnv({ ...env, [ENV.endpointName]: undefined })).toThrow('DEPLOY_GUARD_ENDPOINT_NAME is not set');
    expect(() => promoteConfigFromEnv({ ...env, [ENV.promotion]: '{"minimumAuc": 2}' })).toThrow(/^DEPLOY_GUARD_PROMOTION .*minimumAuc/);
  });
});
