import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateTrainingJobCommand,
  ListTrainingJobsCommand,
  ResourceInUse,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { buildEntry } from '../../events/emitted';
import { derivedOwnAlarmEvent, derivedOwnScheduledEvent, sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import { EventBridgePublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryControlStore } from '../../handlers/adapters/in-memory-stores';
import { S3TrainingRowCounter } from '../../handlers/adapters/s3-data-lake';
import { SageMakerTraining } from '../../handlers/adapters/sagemaker-training';
import { ConfigurationError, ENV } from '../../handlers/config';
import { driftConfigFromEnv, handleDriftEvent, type DriftConfig, type DriftDependencies } from '../../handlers/drift';
import { BASE_HYPERPARAMETERS, dataWindow, isOwnTrainingJob, trainingJobName } from '../../handlers/drift-domain';
import type { RetrainingSchedule } from '../../handlers/config';

const sageMaker = mockClient(SageMakerClient);
const eventBridge = mockClient(EventBridgeClient);
const s3 = mockClient(S3Client);
const $metadata = {};

const ALARM = 'deploy-guard-dev-model-quality';
const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const settings = {
  instanceType: 'ml.m5.large',
  instanceCount: 1,
  dataWindowDays: 90,
  minimumRows: 200,
  cooldownHours: 24,
  maxRuntimeSeconds: 3600,
  imageUri: IMAGE,
  roleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-training',
  sourceDirS3Uri: 's3://deploy-guard-dev-models/code/sourcedir.tar.gz',
  alarmNames: [ALARM, 'deploy-guard-dev-feature-drift'],
};
const config: DriftConfig = {
  source: 'deploy-guard',
  eventBusName: 'deploy-guard-dev',
  namePrefix: 'deploy-guard-dev',
  dataBucket: 'deploy-guard-dev-data',
  modelBucket: 'deploy-guard-dev-models',
  settings,
};

/** The derived alarm event (the real metric-math sample renamed as Deploy Guard's alarm): its times. */
const EVENT_TIME = '2019-10-02T17:20:48Z';
const STATE_TIMESTAMP = '2019-10-02T17:20:48.554+0000';
const JOB = trainingJobName('deploy-guard-dev', ALARM, STATE_TIMESTAMP);
const START_TIME = '2019-10-02T17:20:50Z';

interface AlarmDetail {
  state: Record<string, unknown>;
  previousState: Record<string, unknown>;
}

function ownAlarm(change: (detail: AlarmDetail) => void = () => undefined) {
  const { event } = derivedOwnAlarmEvent(ALARM);
  change(event.detail as unknown as AlarmDetail);
  return event;
}

function dependencies(control = new InMemoryControlStore()): DriftDependencies & { control: InMemoryControlStore } {
  return {
    training: new SageMakerTraining(new SageMakerClient({ region: 'us-east-1' })),
    rows: new S3TrainingRowCounter(new S3Client({ region: 'us-east-1' }), 'deploy-guard-dev-data'),
    control,
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    clock: new ManualClock(START_TIME),
    config,
  };
}

function publishedEntries(): PutEventsRequestEntry[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

function running(names: string[]) {
  sageMaker.on(ListTrainingJobsCommand).resolves({ TrainingJobSummaries: [] });
  sageMaker
    .on(ListTrainingJobsCommand, { StatusEquals: 'InProgress' })
    .resolves({ TrainingJobSummaries: names.map((TrainingJobName) => ({ TrainingJobName, TrainingJobArn: `arn:${TrainingJobName}`, TrainingJobStatus: 'InProgress', CreationTime: new Date(0) })) });
}

/** The data lake holds `count` rows on each of these dates (ListObjectsV2 answers in key order, one page). */
function lakeRows(perDate: Record<string, number>) {
  const keys = Object.entries(perDate).flatMap(([date, count]) => Array.from({ length: count }, (_, index) => `rows/date=${date}/d-${String(index).padStart(9, '0')}.csv`));
  s3.on(ListObjectsV2Command).callsFake((input: { StartAfter?: string }) => ({
    Contents: keys.sort().filter((Key) => Key > (input.StartAfter ?? '')).map((Key) => ({ Key })),
    IsTruncated: false,
  }));
}

beforeEach(() => {
  s3.reset();
  lakeRows({ '2019-08-01': 150, '2019-10-02': 60 });
  sageMaker.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  sageMaker.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${JOB}` });
  running([]);
});

describe('drift: one of Deploy Guard\'s alarms goes into ALARM (derived from the real metric-math sample)', () => {
  it('starts one training job on the last 90 days of the data lake, records it and announces it', async () => {
    const deps = dependencies();
    const result = await handleDriftEvent(ownAlarm(), deps);

    expect(JOB).toMatch(/^deploy-guard-dev-20191002-1720-[0-9a-f]{6}$/);
    expect(result).toEqual({ status: 'started', alarmName: ALARM, trainingJobName: JOB, recorded: true, published: 'Model Retraining Started' });
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
    expect(sageMaker.commandCalls(CreateTrainingJobCommand)[0].args[0].input).toEqual({
      TrainingJobName: JOB,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      RoleArn: settings.roleArn,
      HyperParameters: {
        ...BASE_HYPERPARAMETERS,
        window_from: '2019-07-05',
        window_to: '2019-10-02',
        sagemaker_program: '"train.py"',
        sagemaker_submit_directory: '"s3://deploy-guard-dev-models/code/sourcedir.tar.gz"',
      },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://deploy-guard-dev-data/rows/', S3DataDistributionType: 'FullyReplicated' } },
          ContentType: 'text/csv',
          CompressionType: 'None',
        },
      ],
      OutputDataConfig: { S3OutputPath: 's3://deploy-guard-dev-models/training/output/' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      Tags: [
        { Key: 'deploy-guard:name-prefix', Value: 'deploy-guard-dev' },
        { Key: 'deploy-guard:started-by', Value: 'drift' },
      ],
    });
    expect(await deps.control.readRetraining()).toEqual({ trainingJobName: JOB, alarmName: ALARM, startedAt: Date.parse(START_TIME), announcedAt: Date.parse(START_TIME) });
    // What promote checks the finished job against (F-05).
    expect(await deps.control.readTrainingJob(JOB)).toEqual({
      trainingJobName: JOB,
      roleArn: settings.roleArn,
      imageUri: IMAGE,
      trainS3Uri: 's3://deploy-guard-dev-data/rows/',
      outputS3Uri: 's3://deploy-guard-dev-models/training/output/',
      hyperparameters: sageMaker.commandCalls(CreateTrainingJobCommand)[0].args[0].input.HyperParameters,
      fromDate: '2019-07-05',
      toDate: '2019-10-02',
      startedAt: Date.parse(START_TIME),
    });
    expect(publishedEntries()).toEqual([
      buildEntry(
        'Model Retraining Started',
        {
          schemaVersion: '2',
          trainingJobName: JOB,
          trigger: { type: 'alarm', alarmName: ALARM },
          alarmName: ALARM,
          reason: (ownAlarm().detail as { state: { reason: string } }).state.reason,
          dataWindow: { from: '2019-07-05T00:00:00Z', to: EVENT_TIME },
          imageUri: IMAGE,
          startedAt: START_TIME,
        },
        { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', time: new Date(START_TIME) },
      ),
    ]);
  });

  it('gives the job the serving model as channel `serving`, so it is evaluated on the same window', async () => {
    const control = new InMemoryControlStore();
    const modelDataUrl = 's3://deploy-guard-dev-models/models/deploy-guard-dev-20190901-0000-aaaaaa/model.tar.gz';
    await control.swapServingModel({ modelVersion: 'v1', modelDataUrl, featuresUrl: 's3://deploy-guard-dev-models/features.json', promotedAt: 0 }, null);
    await handleDriftEvent(ownAlarm(), dependencies(control));
    expect((await control.readTrainingJob(JOB))?.servingModelS3Uri).toBe(modelDataUrl);
    expect(sageMaker.commandCalls(CreateTrainingJobCommand)[0].args[0].input.InputDataConfig?.[1]).toEqual({
      ChannelName: 'serving',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: modelDataUrl, S3DataDistributionType: 'FullyReplicated' } },
      ContentType: 'application/x-gzip',
      CompressionType: 'None',
    });
  });

  it('names the job after the state change: deterministic, at most 63 characters of [a-zA-Z0-9-]', () => {
    expect(trainingJobName('deploy-guard-dev', ALARM, STATE_TIMESTAMP)).toBe(JOB);
    expect(trainingJobName('deploy-guard-dev', ALARM, '2019-10-02T17:20:48.554Z')).toBe(JOB); // the same instant
    expect(trainingJobName('deploy-guard-dev', ALARM, '2019-10-02T17:20:48.555+0000')).not.toBe(JOB);
    expect(trainingJobName('deploy-guard-dev', 'deploy-guard-dev-feature-drift', STATE_TIMESTAMP)).not.toBe(JOB);
    const longest = trainingJobName('a'.repeat(42), ALARM, STATE_TIMESTAMP);
    expect(longest).toHaveLength(63);
    expect(longest).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
    expect(() => trainingJobName('a'.repeat(43), ALARM, STATE_TIMESTAMP)).toThrow("name prefix 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' must be 1 to 42 letters");
    expect(() => trainingJobName('deploy_guard', ALARM, STATE_TIMESTAMP)).toThrow("name prefix 'deploy_guard'");
  });

  it('takes the window as whole UTC days ending on the event\'s day', () => {
    expect(dataWindow(Date.parse('2026-11-20T09:00:12Z'), 1)).toEqual({ fromDate: '2026-11-20', toDate: '2026-11-20', from: '2026-11-20T00:00:00Z', to: '2026-11-20T09:00:12Z' });
    expect(dataWindow(Date.parse('2024-03-01T00:00:00Z'), 2).fromDate).toBe('2024-02-29');
  });
});

describe('drift: duplicates start nothing and announce nothing twice', () => {
  it('a redelivered event while its job runs is a duplicate', async () => {
    running([JOB]);
    await expect(handleDriftEvent(ownAlarm(), dependencies())).resolves.toEqual({ status: 'duplicate', alarmName: ALARM, trainingJobName: JOB });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('a redelivered event after its job finished is a duplicate (the recorded job has its name)', async () => {
    const deps = dependencies();
    await handleDriftEvent(ownAlarm(), deps);
    sageMaker.resetHistory();
    eventBridge.resetHistory();
    (deps.clock as ManualClock).advanceBy(48 * 3_600_000);
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'duplicate', trainingJobName: JOB });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('a job of this name that Deploy Guard never recorded is not its own: a duplicate, nothing recorded or announced', async () => {
    running([JOB]);
    const deps = dependencies();
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toEqual({ status: 'duplicate', alarmName: ALARM, trainingJobName: JOB });
    expect(await deps.control.readRetraining()).toBeUndefined();
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });
});

/** A control store that fails once, like a Lambda that stops there: at the n-th call of the named step. */
class StoppingControlStore extends InMemoryControlStore {
  private calls = 0;
  constructor(
    private readonly stopAt: 'recordRetraining' | 'recordTrainingJob',
    private readonly nth = 1,
  ) {
    super();
  }
  private stopOnce(step: string): void {
    if (step !== this.stopAt) return;
    this.calls += 1;
    if (this.calls === this.nth) throw new Error(`the invocation stopped at ${step} (call ${this.nth})`);
  }
  override async recordRetraining(...args: Parameters<InMemoryControlStore['recordRetraining']>): Promise<boolean> {
    this.stopOnce('recordRetraining');
    return super.recordRetraining(...args);
  }
  override async recordTrainingJob(...args: Parameters<InMemoryControlStore['recordTrainingJob']>): Promise<void> {
    this.stopOnce('recordTrainingJob');
    return super.recordTrainingJob(...args);
  }
}

/** The first PutEvents fails (the invocation stops there); later ones succeed. */
function stopAtFirstPutEvents(message: string): void {
  let calls = 0;
  eventBridge.on(PutEventsCommand).callsFake(() => {
    calls += 1;
    if (calls === 1) throw new Error(message);
    return { FailedEntryCount: 0, Entries: [{ EventId: `event-${calls}` }] };
  });
}

describe('drift: an attempt that stopped between two side effects is finished by the redelivery, exactly once', () => {
  const announced = () => publishedEntries().filter((entry) => entry.DetailType === 'Model Retraining Started');

  it('stopped before recording the job: nothing started; the redelivery starts, announces and records it', async () => {
    const deps = dependencies(new StoppingControlStore('recordTrainingJob'));
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('stopped at recordTrainingJob');
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'started', trainingJobName: JOB, recorded: true });
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
    expect(announced()).toHaveLength(1);
  });

  it('stopped after CreateTrainingJob, before recording it: the redelivery finds the job running, records it with the first start time and announces it once', async () => {
    const deps = dependencies(new StoppingControlStore('recordRetraining', 1));
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('stopped at recordRetraining');
    expect(announced()).toHaveLength(0);
    running([JOB]);
    (deps.clock as ManualClock).advanceBy(60_000);
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toEqual({ status: 'started', resumed: true, alarmName: ALARM, trainingJobName: JOB, recorded: true, published: 'Model Retraining Started' });
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
    expect(announced()).toHaveLength(1);
    expect(JSON.parse(announced()[0].Detail ?? '{}')).toMatchObject({ trainingJobName: JOB, startedAt: START_TIME });
    expect(await deps.control.readRetraining()).toEqual({ trainingJobName: JOB, alarmName: ALARM, startedAt: Date.parse(START_TIME), announcedAt: Date.parse(START_TIME) + 60_000 });
    // A third delivery is a duplicate.
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'duplicate' });
    expect(announced()).toHaveLength(1);
  });

  it('the same, when the job had already finished by the redelivery: CreateTrainingJob answers that the name exists, and the attempt is finished', async () => {
    const deps = dependencies(new StoppingControlStore('recordRetraining', 1));
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('stopped at recordRetraining');
    sageMaker.on(CreateTrainingJobCommand).rejects(new ResourceInUse({ message: `Training job ${JOB} already exists`, $metadata }));
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'started', resumed: true, recorded: true });
    expect(announced()).toHaveLength(1);
    expect((await deps.control.readRetraining())?.trainingJobName).toBe(JOB);
  });

  it.each([
    ['ResourceInUse', new ResourceInUse({ message: `Training job ${JOB} already exists`, $metadata })],
    ['ValidationException', new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', message: 'Training job names must be unique within an AWS account and region, and a training job with this name already exists', $metadata })],
  ])("CreateTrainingJob's answer lost and its retry answered %s (the name exists: our own job): announced once and recorded", async (_name, error) => {
    sageMaker.on(CreateTrainingJobCommand).rejects(error);
    const deps = dependencies();
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toEqual({ status: 'started', resumed: true, alarmName: ALARM, trainingJobName: JOB, recorded: true, published: 'Model Retraining Started' });
    expect(announced()).toHaveLength(1);
    expect((await deps.control.readRetraining())?.trainingJobName).toBe(JOB);
  });

  it('stopped after recording it, before announcing: the redelivery finds the record unannounced and announces it once', async () => {
    stopAtFirstPutEvents('the invocation stopped before announcing');
    const deps = dependencies();
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('stopped before announcing');
    expect(await deps.control.readRetraining()).toEqual({ trainingJobName: JOB, alarmName: ALARM, startedAt: Date.parse(START_TIME) });
    eventBridge.resetHistory();
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'started', resumed: true, recorded: true });
    expect(announced()).toHaveLength(1);
    expect((await deps.control.readRetraining())?.announcedAt).toBe(Date.parse(START_TIME));
  });

  it('stopped after announcing, before marking the record announced: the redelivery announces again (at least once), then never more', async () => {
    const deps = dependencies(new StoppingControlStore('recordRetraining', 2));
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('stopped at recordRetraining (call 2)');
    expect(announced()).toHaveLength(1);
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'started', resumed: true, recorded: true });
    expect(announced()).toHaveLength(2);
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toMatchObject({ status: 'duplicate' });
    expect(announced()).toHaveLength(2);
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
  });

  it('two deliveries of one event racing: one records and announces, the other is a duplicate', async () => {
    const deps = dependencies();
    const [first, second] = await Promise.all([handleDriftEvent(ownAlarm(), deps), handleDriftEvent(ownAlarm(), deps)]);
    expect([first.status, second.status].sort()).toEqual(['duplicate', 'started']);
    expect(announced()).toHaveLength(1);
  });
});

describe('drift: what starts nothing, and why', () => {
  it.each([
    'cloudwatch-alarm-state-change.single-metric.json',
    'cloudwatch-alarm-state-change.metric-math.json',
    'cloudwatch-alarm-state-change.anomaly-detection.json',
    'cloudwatch-alarm-state-change.composite-with-suppressor.json',
    'cloudwatch-alarm-state-change.model-monitor-drift.drift-detection-sample.json',
  ])('someone else\'s alarm (real sample %s): not-own-alarm, no AWS call', async (file) => {
    const result = await handleDriftEvent(sample(file).event, dependencies());
    expect(result).toMatchObject({ status: 'ignored', reason: 'not-own-alarm' });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('the alarm moving back to OK: not-alarm-state', async () => {
    const result = await handleDriftEvent(derivedOwnAlarmEvent(ALARM, 'OK').event, dependencies());
    expect(result).toEqual({ status: 'ignored', reason: 'not-alarm-state', message: `alarm ${ALARM} moved to OK, not ALARM`, alarmName: ALARM });
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it('ALARM after ALARM (a repeat): repeat-alarm', async () => {
    const event = ownAlarm((detail) => (detail.previousState.value = 'ALARM'));
    await expect(handleDriftEvent(event, dependencies())).resolves.toMatchObject({ status: 'ignored', reason: 'repeat-alarm' });
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it('another Deploy Guard job still running: training-running (InProgress or Stopping)', async () => {
    sageMaker.on(ListTrainingJobsCommand, { StatusEquals: 'Stopping' }).resolves({
      TrainingJobSummaries: [{ TrainingJobName: 'deploy-guard-dev-20191001-0900-0a0b0c', TrainingJobArn: 'arn:x', TrainingJobStatus: 'Stopping', CreationTime: new Date(0) }],
    });
    const result = await handleDriftEvent(ownAlarm(), dependencies());
    expect(result).toEqual({
      status: 'ignored',
      reason: 'training-running',
      message: 'Deploy Guard training job deploy-guard-dev-20191001-0900-0a0b0c is still running',
      alarmName: ALARM,
    });
    expect(sageMaker).toHaveReceivedCommandWith(ListTrainingJobsCommand, { NameContains: 'deploy-guard-dev', StatusEquals: 'InProgress' });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
  });

  it.each([
    ['1 ms before the cooldown ends: cooldown', 24 * 3_600_000 - 1, 'ignored'],
    ['exactly when the cooldown ends: starts', 24 * 3_600_000, 'started'],
  ])('the last job started 24 h before the event, %s', async (_label, ago, status) => {
    const control = new InMemoryControlStore();
    const last = { trainingJobName: 'deploy-guard-dev-20191001-1720-0a0b0c', alarmName: ALARM, startedAt: Date.parse(EVENT_TIME) - ago };
    await control.recordRetraining(last, null);
    const result = await handleDriftEvent(ownAlarm(), dependencies(control));
    expect(result.status).toBe(status);
    if (status === 'ignored') {
      expect(result).toMatchObject({ reason: 'cooldown' });
      expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
      expect(await control.readRetraining()).toEqual(last);
    } else {
      expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
      expect((await control.readRetraining())?.trainingJobName).toBe(JOB);
    }
  });
});

describe('drift: too little data in the window starts nothing', () => {
  it('fewer labelled rows in the window than the minimum: not-enough-data, no job, nothing recorded or announced', async () => {
    // 2019-07-04 is the day before the 90-day window, 2019-10-03 the day after: neither counts.
    lakeRows({ '2019-07-04': 500, '2019-07-05': 120, '2019-10-02': 79, '2019-10-03': 500 });
    const deps = dependencies();
    await expect(handleDriftEvent(ownAlarm(), deps)).resolves.toEqual({
      status: 'ignored',
      reason: 'not-enough-data',
      message: 'the data lake holds 199 labelled row(s) dated 2019-07-05..2019-10-02; retraining needs at least 200',
      alarmName: ALARM,
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'deploy-guard-dev-data', Prefix: 'rows/', StartAfter: 'rows/date=2019-07-05' });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    expect(await deps.control.readRetraining()).toBeUndefined();
    expect(await deps.control.readTrainingJob(JOB)).toBeUndefined();
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('exactly the minimum starts the job; an empty lake does not', async () => {
    lakeRows({ '2019-07-05': 120, '2019-10-02': 80 });
    await expect(handleDriftEvent(ownAlarm(), dependencies())).resolves.toMatchObject({ status: 'started' });
    lakeRows({});
    await expect(handleDriftEvent(ownAlarm(), dependencies())).resolves.toMatchObject({
      status: 'ignored',
      message: 'the data lake holds 0 labelled row(s) dated 2019-07-05..2019-10-02; retraining needs at least 200',
    });
  });
});

describe('drift: the retraining schedule (the real Scheduled Event sample, sent by Deploy Guard\'s rule)', () => {
  /** The sample's time, and the job the schedule's run at that time is named after. */
  const SCHEDULED_AT = '2015-10-08T16:53:06Z';
  const RULE = 'deploy-guard-dev-retraining-schedule';
  const own = derivedOwnScheduledEvent('deploy-guard-dev');
  const SCHEDULE = { ruleArn: own.ruleArn, days: 180 };
  const SCHEDULED_JOB = trainingJobName('deploy-guard-dev', RULE, SCHEDULED_AT);
  const RUN_STARTED = '2015-10-08T16:53:09Z';

  /** The drift handler of an installation with this schedule ('off': retraining.scheduleDays 0). */
  function scheduled(schedule: RetrainingSchedule | 'off' = SCHEDULE, control = new InMemoryControlStore()) {
    const deps = dependencies(control);
    return { ...deps, clock: new ManualClock(RUN_STARTED), config: { ...config, settings: { ...settings, ...(schedule === 'off' ? {} : { schedule }) } } };
  }

  beforeEach(() => lakeRows({ '2015-07-11': 150, '2015-10-08': 60 }));

  it('a Scheduled Event of our rule starts one job on the recent window, named after the rule and the scheduled time, and says the schedule started it', async () => {
    const deps = scheduled();
    const result = await handleDriftEvent(own.event, deps);

    expect(SCHEDULED_JOB).toMatch(/^deploy-guard-dev-20151008-1653-[0-9a-f]{6}$/);
    expect(result).toEqual({ status: 'started', scheduleRule: RULE, trainingJobName: SCHEDULED_JOB, recorded: true, published: 'Model Retraining Started' });
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, 1);
    expect(sageMaker).toHaveReceivedCommandWith(CreateTrainingJobCommand, {
      TrainingJobName: SCHEDULED_JOB,
      HyperParameters: expect.objectContaining({ window_from: '2015-07-11', window_to: '2015-10-08' }),
    });
    expect(await deps.control.readRetraining()).toEqual({ trainingJobName: SCHEDULED_JOB, alarmName: RULE, startedAt: Date.parse(RUN_STARTED), announcedAt: Date.parse(RUN_STARTED) });
    expect(publishedEntries()).toEqual([
      buildEntry(
        'Model Retraining Started',
        {
          schemaVersion: '2',
          trainingJobName: SCHEDULED_JOB,
          trigger: { type: 'schedule', ruleName: RULE, periodDays: 180, scheduledAt: SCHEDULED_AT },
          reason: `the retraining schedule ${RULE} (every 180 days) came due at ${SCHEDULED_AT}`,
          dataWindow: { from: '2015-07-11T00:00:00Z', to: SCHEDULED_AT },
          imageUri: IMAGE,
          startedAt: RUN_STARTED,
        },
        { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', time: new Date(RUN_STARTED) },
      ),
    ]);
  });

  it('a Scheduled Event of another rule (the sample as AWS printed it) is ignored with the reason, before any AWS call', async () => {
    const result = await handleDriftEvent(sample('eventbridge-scheduled-event.json').event, scheduled());
    expect(result).toEqual({
      status: 'ignored',
      reason: 'not-own-schedule',
      message: `the Scheduled Event of arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule is not from Deploy Guard's retraining schedule ${own.ruleArn}`,
      scheduleRule: 'my-scheduled-rule',
    });
    expect(sageMaker.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('a rule of the same name in another account or region is another rule: the ARN must match exactly', async () => {
    const elsewhere = derivedOwnScheduledEvent('deploy-guard-dev').event;
    elsewhere.resources = [own.ruleArn.replace('123456789012', '210987654321')];
    await expect(handleDriftEvent(elsewhere, scheduled())).resolves.toMatchObject({ status: 'ignored', reason: 'not-own-schedule' });
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it('with the schedule off (retraining.scheduleDays 0), even our rule\'s event starts nothing', async () => {
    await expect(handleDriftEvent(own.event, scheduled('off'))).resolves.toEqual({
      status: 'ignored',
      reason: 'not-own-schedule',
      message: `the Scheduled Event of ${own.ruleArn} starts nothing: Deploy Guard's retraining schedule is off (retraining.scheduleDays 0)`,
      scheduleRule: RULE,
    });
    expect(sageMaker.calls()).toHaveLength(0);
  });

  it('a redelivered Scheduled Event starts no second job: while its job runs, and after it finished', async () => {
    const deps = scheduled();
    await handleDriftEvent(own.event, deps);
    sageMaker.resetHistory();
    eventBridge.resetHistory();

    running([SCHEDULED_JOB]);
    await expect(handleDriftEvent(own.event, deps)).resolves.toEqual({ status: 'duplicate', scheduleRule: RULE, trainingJobName: SCHEDULED_JOB });
    running([]);
    await expect(handleDriftEvent(own.event, deps)).resolves.toEqual({ status: 'duplicate', scheduleRule: RULE, trainingJobName: SCHEDULED_JOB });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('fewer labelled rows in the window than minimumRows: not-enough-data, no job, nothing recorded or announced', async () => {
    lakeRows({ '2015-07-11': 150, '2015-10-08': 49 });
    const deps = scheduled();
    await expect(handleDriftEvent(own.event, deps)).resolves.toEqual({
      status: 'ignored',
      reason: 'not-enough-data',
      message: 'the data lake holds 199 labelled row(s) dated 2015-07-11..2015-10-08; retraining needs at least 200',
      scheduleRule: RULE,
    });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
    expect(await deps.control.readRetraining()).toBeUndefined();
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('another Deploy Guard job still running: training-running', async () => {
    running(['deploy-guard-dev-20151008-0900-0a0b0c']);
    await expect(handleDriftEvent(own.event, scheduled())).resolves.toMatchObject({ status: 'ignored', reason: 'training-running', scheduleRule: RULE });
    expect(sageMaker).not.toHaveReceivedCommand(CreateTrainingJobCommand);
  });

  it.each([
    ['an alarm\'s job 1 ms inside the 24 h cooldown: skipped (that job trained on the same recent rows)', ALARM, 24 * 3_600_000 - 1, 'ignored'],
    ['an alarm\'s job exactly 24 h before: starts (the cooldown is over)', ALARM, 24 * 3_600_000, 'started'],
    ['the previous scheduled run, 180 days before: starts (a schedule is longer than the cooldown, so it never blocks itself)', RULE, 180 * 86_400_000, 'started'],
  ])('the last job started before the scheduled time, %s', async (_label, startedBy, ago, status) => {
    const control = new InMemoryControlStore();
    await control.recordRetraining({ trainingJobName: 'deploy-guard-dev-20150410-1653-0a0b0c', alarmName: startedBy, startedAt: Date.parse(SCHEDULED_AT) - ago }, null);
    const result = await handleDriftEvent(own.event, scheduled(SCHEDULE, control));
    expect(result.status).toBe(status);
    if (status === 'ignored') expect(result).toMatchObject({ reason: 'cooldown', scheduleRule: RULE });
    expect(sageMaker).toHaveReceivedCommandTimes(CreateTrainingJobCommand, status === 'started' ? 1 : 0);
  });

  it('a malformed Scheduled Event is an EventValidationError naming the field, before any AWS call', async () => {
    const noRule = { ...own.event, resources: [] };
    await expect(handleDriftEvent(noRule, scheduled())).rejects.toThrow(EventValidationError);
    await expect(handleDriftEvent(noRule, scheduled())).rejects.toThrow('Invalid Scheduled Event event: resources: expected exactly one resource: the rule that fired');
    await expect(handleDriftEvent({ ...own.event, source: 'aws.scheduler' }, scheduled())).rejects.toThrow('source');
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('an alarm and the schedule at the same minute name different jobs', () => {
    expect(trainingJobName('deploy-guard-dev', ALARM, SCHEDULED_AT)).not.toBe(SCHEDULED_JOB);
  });
});

describe('drift: failures', () => {
  it('a malformed event is an EventValidationError naming the field, before any AWS call', async () => {
    const event = ownAlarm((detail) => delete detail.state.timestamp);
    await expect(handleDriftEvent(event, dependencies())).rejects.toThrow(EventValidationError);
    await expect(handleDriftEvent(event, dependencies())).rejects.toThrow('detail.state.timestamp');
    expect(sageMaker.calls()).toHaveLength(0);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  it('CreateTrainingJob still throttled after the SDK\'s retries: thrown, nothing recorded or announced (the redelivery retries)', async () => {
    sageMaker.on(CreateTrainingJobCommand).rejects(new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata }));
    const deps = dependencies();
    await expect(handleDriftEvent(ownAlarm(), deps)).rejects.toThrow('Rate exceeded');
    expect(await deps.control.readRetraining()).toBeUndefined();
    // The job is recorded before CreateTrainingJob (so promote knows every job drift may have started); a record without a job adopts nothing.
    expect((await deps.control.readTrainingJob(JOB))?.trainingJobName).toBe(JOB);
    expect(eventBridge).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('reads its configuration from the environment, naming a missing or wrong variable', () => {
    const env = {
      [ENV.eventBus]: 'deploy-guard-dev',
      [ENV.namePrefix]: 'deploy-guard-dev',
      [ENV.dataBucket]: 'deploy-guard-dev-data',
      [ENV.modelBucket]: 'deploy-guard-dev-models',
      [ENV.retraining]: JSON.stringify(settings),
    };
    expect(driftConfigFromEnv(env)).toEqual(config);
    const schedule = { ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-retraining-schedule', days: 180 };
    expect(driftConfigFromEnv({ ...env, [ENV.retraining]: JSON.stringify({ ...settings, schedule }) }).settings.schedule).toEqual(schedule);
    expect(() => driftConfigFromEnv({ ...env, [ENV.retraining]: JSON.stringify({ ...settings, schedule: { ...schedule, ruleArn: 'deploy-guard-dev-retraining-schedule' } }) })).toThrow(
      /^DEPLOY_GUARD_RETRAINING .*schedule\.ruleArn: expected the ARN of a rule on the default event bus/,
    );
    expect(() => driftConfigFromEnv({ ...env, [ENV.dataBucket]: '' })).toThrow(new ConfigurationError(ENV.dataBucket, 'is not set: set it to the S3 bucket of labelled training rows'));
    expect(() => driftConfigFromEnv({ ...env, [ENV.retraining]: JSON.stringify({ ...settings, imageUri: 'xgboost:latest' }) })).toThrow(/^DEPLOY_GUARD_RETRAINING .*imageUri/);
  });
});

describe('drift: the one rule for a training job name', () => {
  it("recognises exactly the names trainingJobName makes, never another installation's under a longer prefix", () => {
    const own = trainingJobName('deploy-guard-dev', 'deploy-guard-dev-model-brier', '2026-11-20T09:00:00Z');
    expect(isOwnTrainingJob('deploy-guard-dev', own)).toBe(true);
    expect(isOwnTrainingJob('deploy-guard-dev-x', own)).toBe(false);
    expect(isOwnTrainingJob('deploy-guard-dev', trainingJobName('deploy-guard-dev-x', 'deploy-guard-dev-x-model-brier', '2026-11-20T09:00:00Z'))).toBe(false);
    expect(isOwnTrainingJob('deploy-guard', own)).toBe(false);
    // Notebook 03's names (deploy-guard-YYYYMMDD-HHMMSS) are not the bare default installation's.
    expect(isOwnTrainingJob('deploy-guard', 'deploy-guard-20261120-090000')).toBe(false);
    expect(isOwnTrainingJob('deploy-guard-dev', `${own}-copy`)).toBe(false);
  });
});
