import { readdirSync } from 'node:fs';
import {
  alarmKind,
  alarmReasonData,
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  CLOUDWATCH_ALARM_STATE_CHANGE,
  endpointStatus,
  type CloudWatchAlarmStateChange,
} from '../../events/aws';
import { eventTimeMillis } from '../../events/envelope';
import { parseAwsEvent, parseKnownEvent } from '../../events/parse';
import {
  AWS_SAMPLES,
  derivedDeploymentEvent,
  derivedOwnAlarmEvent,
  derivedOwnTrainingJobEvent,
  repairedModelPackageSample,
  sample,
  SAMPLE_FILE_NAMES,
  SAMPLES_DIR,
} from '../../events/samples';
import { EventValidationError } from '../../events/validation';

function validationError(run: () => unknown): EventValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected an EventValidationError');
}

describe('the real AWS samples', () => {
  it('are all listed, with what they are, in events/samples.ts', () => {
    const files = readdirSync(SAMPLES_DIR).filter((file) => file.endsWith('.json')).sort();
    expect([...SAMPLE_FILE_NAMES].sort()).toEqual(files);
  });

  const consumed = AWS_SAMPLES.filter((candidate) => candidate.kind !== undefined && candidate.file !== 'sagemaker-model-package-state-change.json');
  it.each(consumed.map((candidate) => [candidate.file, candidate] as const))('%s validates against its schema', (_file, candidate) => {
    expect(() => parseAwsEvent(candidate.kind!, candidate.event)).not.toThrow();
    expect(parseKnownEvent(candidate.event).kind).toBe(candidate.kind);
  });

  it.each(AWS_SAMPLES.filter((candidate) => !candidate.eventBridge).map((candidate) => [candidate.file]))(
    '%s is not an EventBridge event and is rejected as one',
    (file) => {
      const error = validationError(() => parseKnownEvent(sample(file).event));
      expect(error.eventKind).toBe('EventBridge');
      expect(error.issues[0].path).toBe('detail-type');
    },
  );

  it('keeps fields AWS may add that the schema does not name', () => {
    const parsed = parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, sample('codedeploy-deployment-state-change.success.json').event);
    expect(parsed.detail.instanceGroupId).toBe('9fd2fbef-2157-40d8-91e7-6845af69e2d2');
    expect(parsed.resources).toHaveLength(2);
  });
});

describe('derived CodeDeploy states (no verbatim AWS sample exists)', () => {
  it.each(['START', 'STOP', 'READY', 'FAILURE'] as const)('a %s event derived from the SUCCESS sample validates and says it is derived', (state) => {
    const derived = derivedDeploymentEvent(state);
    expect(derived.derived).toContain(`SUCCESS → ${state}`);
    expect(parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, derived.event).detail.state).toBe(state);
  });

  it('a state CodeDeploy never sends is rejected at detail.state', () => {
    const event = derivedDeploymentEvent('START').event;
    (event.detail as Record<string, unknown>).state = 'IN_PROGRESS';
    const error = validationError(() => parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event));
    expect(error.issues.map((issue) => issue.path)).toEqual(['detail.state']);
  });
});

describe('quirks of the samples, handled on purpose', () => {
  it('the endpoint sample has an epoch-millisecond envelope time', () => {
    expect(eventTimeMillis(String(sample('sagemaker-endpoint-state-change.json').event.time))).toBe(1583831889050);
    expect(eventTimeMillis('2019-10-02T17:04:40.989+0000')).toBe(Date.UTC(2019, 9, 2, 17, 4, 40, 989));
    expect(eventTimeMillis('yesterday')).toBeNaN();
  });

  it('the endpoint sample says IN_SERVICE where the API says InService', () => {
    expect(endpointStatus('IN_SERVICE')).toBe('InService');
    expect(endpointStatus('UpdateRollbackFailed')).toBe('UpdateRollbackFailed');
    expect(() => endpointStatus('SLEEPING')).toThrow("unknown SageMaker endpoint status 'SLEEPING'");
  });

  it('the model-package sample has a duplicate "source" key: parsed naively it is rejected at `source`', () => {
    const naive = sample('sagemaker-model-package-state-change.json');
    expect(naive.event.source).toEqual(['aws.sagemaker']);
    const error = validationError(() => parseKnownEvent(naive.event));
    expect(error.eventKind).toBe('SageMaker Model Package State Change');
    expect(error.issues.map((issue) => issue.path)).toEqual(['source']);
    const repaired = repairedModelPackageSample();
    expect(repaired.derived).toContain('first value');
    expect(parseKnownEvent(repaired.event).kind).toBe('SageMaker Model Package State Change');
  });

  it('alarm reasonData is a JSON string, parsed on demand', () => {
    const event = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, sample('cloudwatch-alarm-state-change.single-metric.json').event);
    expect(alarmReasonData(event.detail.state)).toMatchObject({ threshold: 50, recentDatapoints: [99.50160229693434] });
    expect(alarmReasonData({ reasonData: 'not json' })).toBeUndefined();
    expect(alarmReasonData({})).toBeUndefined();
  });

  it.each([
    ['cloudwatch-alarm-state-change.single-metric.json', 'single-metric'],
    ['cloudwatch-alarm-state-change.metric-math.json', 'metric-math'],
    ['cloudwatch-alarm-state-change.anomaly-detection.json', 'anomaly-detection'],
    ['cloudwatch-alarm-state-change.composite-with-suppressor.json', 'composite'],
    ['cloudwatch-alarm-state-change.model-monitor-drift.drift-detection-sample.json', 'single-metric'],
  ])('%s is a %s alarm', (file, kind) => {
    const event = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, sample(file).event) as CloudWatchAlarmStateChange;
    expect(alarmKind(event)).toBe(kind);
  });

  it('derived own-alarm and own-training-job events validate and say they are derived', () => {
    for (const derived of [derivedOwnAlarmEvent(), derivedOwnTrainingJobEvent('Failed')]) {
      expect(derived.derived).toBeDefined();
      expect(() => parseKnownEvent(derived.event)).not.toThrow();
    }
  });
});

describe('a bad event', () => {
  it('is rejected with an EventValidationError naming the kind and every offending path', () => {
    const event = structuredClone(sample('codedeploy-deployment-state-change.success.json').event);
    const detail = event.detail as Record<string, unknown>;
    delete detail.deploymentId;
    detail.state = 42;
    event.resources = 'arn:aws:codedeploy:us-east-1:123456789012:application:myApplication';
    const error = validationError(() => parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event));
    expect(error.name).toBe('EventValidationError');
    expect(error.eventKind).toBe(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE);
    expect(error.issues.map((issue) => issue.path)).toEqual(['resources', 'detail.deploymentId', 'detail.state']);
    expect(error.message).toMatch(/^Invalid CodeDeploy Deployment State-change Notification event: resources: .+; detail\.deploymentId: .+; detail\.state: .+$/);
  });

  it("says what was expected in English: zod/mini loads no locale of its own (events/zod-locale.ts registers zod's English one)", () => {
    const event = structuredClone(sample('codedeploy-deployment-state-change.success.json').event);
    const detail = event.detail as Record<string, unknown>;
    delete detail.deploymentId;
    detail.state = 42;
    detail.region = '';
    event.resources = 'arn:aws:codedeploy:us-east-1:123456789012:application:myApplication';
    expect(validationError(() => parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event)).issues).toEqual([
      { path: 'resources', message: 'Invalid input: expected array, received string' },
      { path: 'detail.deploymentId', message: 'Invalid input: expected string, received undefined' },
      { path: 'detail.region', message: 'Too small: expected string to have >=1 characters' },
      { path: 'detail.state', message: 'Invalid option: expected one of "START"|"SUCCESS"|"FAILURE"|"STOP"|"READY"' },
    ]);
  });

  it('names paths inside arrays and odd keys', () => {
    const event = structuredClone(sample('cloudwatch-alarm-state-change.metric-math.json').event);
    const metrics = ((event.detail as Record<string, unknown>).configuration as { metrics: Record<string, unknown>[] }).metrics;
    metrics[1].id = '';
    const pipeline = structuredClone(sample('codepipeline-action-execution.failed.json').event);
    delete (pipeline.detail as Record<string, unknown>)['execution-id'];
    expect(validationError(() => parseKnownEvent(event)).issues.map((issue) => issue.path)).toEqual(['detail.configuration.metrics[1].id']);
    expect(validationError(() => parseKnownEvent(pipeline)).issues.map((issue) => issue.path)).toEqual(['detail["execution-id"]']);
  });

  it.each([null, 'a string', 42, [], {}])('%p is not an event of any kind', (value) => {
    expect(validationError(() => parseKnownEvent(value)).eventKind).toBe('EventBridge');
  });
});
