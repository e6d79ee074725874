import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  SageMakerServiceException,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { buildEntry } from '../../events/emitted';
import { derivedOwnTrainingJobEvent, sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import { tarGzip } from '../../model/tar';
import { EventBridgePublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryControlStore } from '../../handlers/adapters/in-memory-stores';
import { SageMakerHosting } from '../../handlers/adapters/sagemaker-hosting';
import { SageMakerTraining } from '../../handlers/adapters/sagemaker-training';
import { ENV, type PromotionSettings } from '../../handlers/config';
import type { ObjectCopier, ObjectReader, ServingModelPointer } from '../../handlers/ports';
import { handlePromoteEvent, promoteConfigFromEnv, type PromoteConfig, type PromoteDependencies } from '../../handlers/promote';
import { decidePromotion, type ModelMetrics } from '../../handlers/promote-domain';

const sageMaker = mockClient(SageMakerClient);
const eventBridge = mockClient(EventBridgeClient);
const $metadata = {};

/** The name derivedOwnTrainingJobEvent gives the real training-job sample (derived). */
const JOB = 'deploy-guard-dev-20261120-0900-5f2c1a';
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const MODEL_URL = `s3://deploy-guard-dev-models/training/output/${JOB}/output/model.tar.gz`;
const OUTPUT_URL = `s3://deploy-guard-dev-models/training/output/${JOB}/output/output.tar.gz`;
/** Where promote copies the adopted model: the served prefix, which no training role may write. */
const SERVED_URL = `s3://deploy-guard-dev-models/models/${JOB}/model.tar.gz`;
const NOW = '2026-11-20T09:41:30Z';
const settings: PromotionSettings = {
  minimumAuc: 0.7,
  approval: 'Approved',
  modelPackageGroupName: 'deploy-guard-dev',
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
  settings,
};
const SERVING: ServingModelPointer = {
  modelVersion: 'deploy-guard-dev-20261001-1200-0a9b8c',
  modelDataUrl: 's3://deploy-guard-dev-models/models/deploy-guard-dev-20261001-1200-0a9b8c/model.tar.gz',
  featuresUrl: 's3://deploy-guard-dev-models/models/initial/features.json',
  trainingJobName: 'deploy-guard-dev-20261001-1200-0a9b8c',
  promotedAt: Date.parse('2026-10-01T12:30:00Z'),
};
const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev/7';

const metrics = (auc: number | null, rows = 1200): ModelMetrics => ({ auc, prAuc: 0.5, brier: 0.13, f1Failure: 0.49, rows });

class MemoryObjects implements ObjectReader, ObjectCopier {
  readonly objects = new Map<string, Uint8Array>();
  async read(s3Url: string): Promise<Uint8Array | undefined> {
    return this.objects.get(s3Url);
  }
  async copy(fromS3Url: string, toS3Url: string): Promise<void> {
    const body = this.objects.get(fromS3Url);
    if (!body) throw new Error(`NoSuchKey: ${fromS3Url}`);
    this.objects.set(toS3Url, body);
  }
}

/** The job's model.tar.gz, as SageMaker uploads it. */
const MODEL_ARCHIVE = tarGzip([{ name: 'xgboost-model', content: Buffer.from('{"learner":{}}') }]);

/** output.tar.gz as SageMaker uploads SM_OUTPUT_DATA_DIR: evaluation.json as train.py writes it. */
function evaluationArchive(candidate: ModelMetrics, serving: ModelMetrics | null): Uint8Array {
  const document = { candidate, serving, threshold: 0.25, window: { from: '2026-08-23', to: '2026-11-20' } };
  return tarGzip([{ name: 'evaluation.json', content: Buffer.from(JSON.stringify(document)) }]);
}

interface Setup {
  serving?: ServingModelPointer;
  candidate?: ModelMetrics;
  servingMetrics?: ModelMetrics | null;
  settings?: Partial<PromotionSettings>;
}

async function dependencies(setup: Setup = {}): Promise<PromoteDependencies & { control: InMemoryControlStore; objects: MemoryObjects }> {
  const control = new InMemoryControlStore();
  if (setup.serving !== undefined) await control.swapServingModel(setup.serving, null);
  const objects = new MemoryObjects();
  objects.objects.set(MODEL_URL, MODEL_ARCHIVE);
  objects.objects.set(OUTPUT_URL, evaluationArchive(setup.candidate ?? metrics(0.78), setup.servingMetrics === undefined ? metrics(0.71) : setup.servingMetrics));
  return {
    training: new SageMakerTraining(new SageMakerClient({ region: 'us-east-1' })),
    hosting: new SageMakerHosting(new SageMakerClient({ region: 'us-east-1' }), { waitIntervalInSeconds: 600, terminationWaitInSeconds: 120 }),
    objects,
    control,
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    clock: new ManualClock(NOW),
    config: { ...config, settings: { ...settings, ...setup.settings } },
  };
}

/** The derived Completed event; the real sample carries no ModelArtifacts, so promote asks DescribeTrainingJob. */
const completed = () => derivedOwnTrainingJobEvent('Completed', JOB).event;

function publishedEntries(): PutEventsRequestEntry[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

const context = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', time: new Date(NOW) };
/** Whether promote asked SageMaker hosting for nothing (no package, model, endpoint config or endpoint update). */
function noHostingCalls(): void {
  expect(sageMaker.commandCalls(CreateModelPackageCommand)).toHaveLength(0);
  expect(sageMaker.commandCalls(CreateModelCommand)).toHaveLength(0);
  expect(sageMaker.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
  expect(sageMaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
}

beforeEach(() => {
  sageMaker.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  sageMaker.on(DescribeTrainingJobCommand).resolves({
    TrainingJobName: JOB,
    TrainingJobStatus: 'Completed',
    ModelArtifacts: { S3ModelArtifacts: MODEL_URL },
  } as never);
  sageMaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: PACKAGE_ARN });
  sageMaker.on(CreateModelCommand).resolves({ ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${JOB}` });
  sageMaker.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${JOB}` });
  sageMaker.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/deploy-guard-dev' });
});

describe('promote: the candidate is better than the serving model (derived Completed event)', () => {
  it('copies it into the served prefix, registers it, creates its model and endpoint config, updates the endpoint blue/green, swaps the pointer and announces it', async () => {
    const deps = await dependencies({ serving: SERVING });
    const result = await handlePromoteEvent(completed(), deps);

    expect(result).toEqual({
      status: 'promoted',
      trainingJobName: JOB,
      modelVersion: JOB,
      previousModelVersion: SERVING.modelVersion,
      approval: 'Approved',
      modelPackageArn: PACKAGE_ARN,
    });
    expect(sageMaker).toHaveReceivedCommandWith(DescribeTrainingJobCommand, { TrainingJobName: JOB });
    expect(sageMaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: 'deploy-guard-dev',
      ModelPackageDescription: `${JOB}: candidate AUC 0.7800 >= minimum 0.7 and >= the serving model's 0.7100`,
      InferenceSpecification: { Containers: [{ Image: IMAGE, ModelDataUrl: SERVED_URL }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
      ModelApprovalStatus: 'Approved',
    });
    expect(sageMaker.commandCalls(CreateModelCommand)[0].args[0].input).toEqual({
      ModelName: JOB,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: SERVED_URL },
      ExecutionRoleArn: settings.executionRoleArn,
    });
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
    expect(deps.objects.objects.get(SERVED_URL)).toEqual(MODEL_ARCHIVE);
    expect(await deps.control.readServingModel()).toEqual({
      modelVersion: JOB,
      modelDataUrl: SERVED_URL,
      featuresUrl: SERVING.featuresUrl,
      trainingJobName: JOB,
      promotedAt: Date.parse(NOW),
      modelPackageArn: PACKAGE_ARN,
      previousModelVersion: SERVING.modelVersion,
    });
    await expect(deps.control.readJobVerdict(JOB)).resolves.toEqual({ trainingJobName: JOB, verdict: 'promoted', detail: JOB, decidedAt: Date.parse(NOW) });
    expect(publishedEntries()).toEqual([
      buildEntry(
        'Model Promoted',
        {
          schemaVersion: '1',
          modelVersion: JOB,
          previousModelVersion: SERVING.modelVersion,
          trainingJobName: JOB,
          modelPackageArn: PACKAGE_ARN,
          approval: 'Approved',
          endpointName: 'deploy-guard-dev',
          candidate: metrics(0.78),
          serving: metrics(0.71),
          promotedAt: NOW,
        },
        context,
      ),
    ]);
  });

  it('takes the model artifacts from the event when it names them (no DescribeTrainingJob)', async () => {
    const event = completed();
    (event.detail as Record<string, unknown>).ModelArtifacts = { S3ModelArtifacts: MODEL_URL };
    await expect(handlePromoteEvent(event, await dependencies({ serving: SERVING }))).resolves.toMatchObject({ status: 'promoted' });
    expect(sageMaker).not.toHaveReceivedCommand(DescribeTrainingJobCommand);
  });

  it('promotes a first model (no serving pointer) with the installation\'s initial feature list', async () => {
    const deps = await dependencies({ servingMetrics: null });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'promoted', previousModelVersion: null });
    expect((await deps.control.readServingModel())?.featuresUrl).toBe(config.initialFeaturesUrl);
  });

  it('a redelivered Completed for the model already serving is a duplicate: no SageMaker call, nothing announced', async () => {
    const deps = await dependencies({ serving: SERVING });
    await handlePromoteEvent(completed(), deps);
    sageMaker.resetHistory();
    eventBridge.resetHistory();
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'promoted' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('a crash after moving the pointer, before announcing: the retry announces the promotion once, with no second package or endpoint update', async () => {
    const deps = await dependencies({ serving: SERVING });
    const failing = { ...deps, publisher: { publish: async () => Promise.reject(new Error('the function crashed')) } };
    await expect(handlePromoteEvent(completed(), failing)).rejects.toThrow('the function crashed');
    expect((await deps.control.readServingModel())?.modelVersion).toBe(JOB);
    await expect(deps.control.readJobVerdict(JOB)).resolves.toBeUndefined();
    sageMaker.resetHistory();

    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({
      status: 'promoted', trainingJobName: JOB, modelVersion: JOB, previousModelVersion: SERVING.modelVersion, approval: 'Approved', modelPackageArn: PACKAGE_ARN,
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(publishedEntries().map((entry) => entry.DetailType)).toEqual(['Model Promoted']);
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'duplicate', verdict: 'promoted' });
    expect(publishedEntries()).toHaveLength(1);
  });

  it('a model or endpoint config that exists already (a retry after a crash) counts as created', async () => {
    sageMaker.on(CreateModelCommand).rejects(
      new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: `Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/${JOB}".`, $metadata }),
    );
    await expect(handlePromoteEvent(completed(), await dependencies({ serving: SERVING }))).resolves.toMatchObject({ status: 'promoted' });
    expect(sageMaker).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
  });

  it('pending manual approval: registers the package PendingManualApproval, leaves the endpoint and the pointer, announces it', async () => {
    const deps = await dependencies({ serving: SERVING, settings: { approval: 'PendingManualApproval' } });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toMatchObject({ status: 'promoted', approval: 'PendingManualApproval' });
    expect(sageMaker).toHaveReceivedCommandWith(CreateModelPackageCommand, { ModelApprovalStatus: 'PendingManualApproval' });
    expect(sageMaker).not.toHaveReceivedCommand(CreateModelCommand);
    expect(sageMaker).not.toHaveReceivedCommand(CreateEndpointConfigCommand);
    expect(sageMaker).not.toHaveReceivedCommand(UpdateEndpointCommand);
    expect(await deps.control.readServingModel()).toEqual(SERVING);
    expect(publishedEntries().map((entry) => JSON.parse(entry.Detail ?? '{}'))).toEqual([
      expect.objectContaining({ approval: 'PendingManualApproval', modelVersion: JOB, previousModelVersion: SERVING.modelVersion }),
    ]);
    // The pointer does not move, so the recorded verdict is what makes a redelivery a duplicate.
    sageMaker.resetHistory();
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'promoted' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(publishedEntries()).toHaveLength(1);
  });
});

describe('promote: the decision, at its boundaries (minimum AUC 0.7)', () => {
  it.each([
    [metrics(0.7), metrics(0.7), true, undefined],
    [metrics(0.7), metrics(0.70000001), false, 'worse-than-serving'],
    [metrics(0.69999999), null, false, 'below-minimum'],
    [metrics(0.69999999), metrics(0.5), false, 'below-minimum'],
    [metrics(null), null, false, 'below-minimum'],
    [metrics(0.8), null, true, undefined],
    [metrics(0.8), metrics(null), true, undefined],
    [metrics(0.8), metrics(0.8), true, undefined],
  ])('candidate %j against serving %j: promote %s (%s)', (candidate, serving, promote, reason) => {
    const decision = decidePromotion(candidate, serving, 0.7);
    expect(decision.promote).toBe(promote);
    if (!decision.promote) expect(decision.reason).toBe(reason);
  });
});

describe('promote: rejections announce Model Rejected and change nothing', () => {
  it.each([
    ['worse-than-serving', metrics(0.69), metrics(0.71), "candidate AUC 0.6900 is below the serving model's 0.7100 on the same 1200 recent rows", 0.6],
    ['below-minimum', metrics(0.69), metrics(0.6), 'candidate AUC 0.6900 on 1200 recent rows is below the minimum 0.7', 0.7],
  ])('%s', async (reason, candidate, servingMetrics, message, minimumAuc) => {
    const deps = await dependencies({ serving: SERVING, candidate, servingMetrics, settings: { minimumAuc } });
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'rejected', trainingJobName: JOB, reason, message });
    noHostingCalls();
    expect(await deps.control.readServingModel()).toEqual(SERVING);
    expect(publishedEntries()).toEqual([
      buildEntry('Model Rejected', { schemaVersion: '1', trainingJobName: JOB, reason: reason as never, message, candidate, serving: servingMetrics, rejectedAt: NOW }, context),
    ]);
    await expect(handlePromoteEvent(completed(), deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'rejected' });
    expect(publishedEntries()).toHaveLength(1);
  });

  it.each([
    ['Failed', 'training-failed', 'AlgorithmError: train.py: window 2026-11-20..2026-11-20 holds rows on 1 date(s)'],
    ['Stopped', 'training-stopped', 'Stopped by the user'],
  ] as const)('a %s job: %s with its FailureReason', async (status, reason, failureReason) => {
    const event = derivedOwnTrainingJobEvent(status, JOB).event;
    (event.detail as Record<string, unknown>).FailureReason = failureReason;
    const deps = await dependencies({ serving: SERVING });
    await expect(handlePromoteEvent(event, deps)).resolves.toEqual({ status: 'rejected', trainingJobName: JOB, reason, message: failureReason });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(publishedEntries()).toEqual([
      buildEntry('Model Rejected', { schemaVersion: '1', trainingJobName: JOB, reason, message: failureReason, candidate: null, serving: null, rejectedAt: NOW }, context),
    ]);
    await expect(deps.control.readJobVerdict(JOB)).resolves.toEqual({ trainingJobName: JOB, verdict: 'rejected', detail: reason, decidedAt: Date.parse(NOW) });
    // A redelivery announces nothing again.
    await expect(handlePromoteEvent(event, deps)).resolves.toEqual({ status: 'duplicate', trainingJobName: JOB, verdict: 'rejected' });
    expect(publishedEntries()).toHaveLength(1);
  });
});

describe('promote: what it ignores, and failures', () => {
  it('someone else\'s training job (the real sample, named 89c96cc8-…): ignored, no AWS call', async () => {
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
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('a job without output.tar.gz: thrown, naming the URL; nothing promoted or announced', async () => {
    const deps = await dependencies({ serving: SERVING });
    deps.objects.objects.clear();
    await expect(handlePromoteEvent(completed(), deps)).rejects.toThrow(`training job ${JOB}: ${OUTPUT_URL} does not exist`);
    noHostingCalls();
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('an evaluation.json without candidate metrics: thrown, naming the archive and the field', async () => {
    const deps = await dependencies({ serving: SERVING });
    deps.objects.objects.set(OUTPUT_URL, tarGzip([{ name: 'evaluation.json', content: Buffer.from('{"serving":null}') }]));
    await expect(handlePromoteEvent(completed(), deps)).rejects.toThrow(`Invalid ${OUTPUT_URL} evaluation.json event: candidate:`);
  });

  it('UpdateEndpoint still throttled after the SDK\'s retries: thrown, the pointer stays, nothing announced (the redelivery retries)', async () => {
    sageMaker.on(UpdateEndpointCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata }));
    const deps = await dependencies({ serving: SERVING });
    await expect(handlePromoteEvent(completed(), deps)).rejects.toThrow('Rate exceeded');
    expect(await deps.control.readServingModel()).toEqual(SERVING);
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
