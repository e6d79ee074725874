import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { derivedDeploymentEvent, sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import { EmfMetrics } from '../../handlers/adapters/emf-metrics';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryBakeStore, InMemoryDeploymentStore, InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import { S3TrainingDataLake } from '../../handlers/adapters/s3-data-lake';
import type { AssessmentRecord, LedgerEntry } from '../../handlers/ports';
import { handleRecordOutcomeEvent, recordOutcomeConfigFromEnv, type RecordOutcomeDependencies } from '../../handlers/record-outcome';
import { guardRollbackOf, historyEntry, labelOutcome, qualityMetricValues } from '../../handlers/record-outcome-domain';
import { writeTrainingRowIfComplete } from '../../handlers/training-row';

const s3 = mockClient(S3Client);

interface DeploymentEvent {
  time: string;
  detail: { deploymentId: string; application: string; deploymentGroup: string; state: string };
}
/** Real CodeDeploy samples: SUCCESS of d-123456789 (myApplication) and FAILURE of someId (MyDemoApplication). */
/** A fresh copy each time: the loaded samples are shared, and some tests spoil their copy. */
const successEvent = () => structuredClone(sample('codedeploy-deployment-state-change.success.json').event) as unknown as DeploymentEvent;
const failureEvent = () => structuredClone(sample('codedeploy-deployment-state-change.failure.json').event) as unknown as DeploymentEvent;
/** Derived from the SUCCESS sample: AWS publishes no STOP sample. */
const stopSample = derivedDeploymentEvent('STOP');
const stopEvent = () => structuredClone(stopSample.event) as unknown as DeploymentEvent;

const MINUTE = 60_000;
const FEATURE_ROW = '3,1,,412,38';

/** What predict stored about the deployment of `event`, ten minutes before it finished. */
function assessmentOf(event: DeploymentEvent, change: Partial<AssessmentRecord> = {}): AssessmentRecord {
  const startedAt = Date.parse(event.time) - 10 * MINUTE;
  return {
    deploymentId: event.detail.deploymentId,
    application: event.detail.application,
    deploymentGroup: event.detail.deploymentGroup,
    platform: 'Server',
    mode: 'gate',
    trigger: 'READY',
    probability: 0.25,
    cut: 0.5,
    blockBudget: 0.1,
    cutSource: 'group',
    decision: 'proceed',
    explored: false,
    propensity: 1,
    enforced: true,
    modelVersion: 'deploy-guard-20261120-0912',
    featureRow: FEATURE_ROW,
    startedAt,
    assessedAt: startedAt + 5000,
    author: 'dev@example.com',
    ...change,
  };
}

function dependencies(includeCounterfactual = false) {
  const emf: string[] = [];
  const deps = {
    deployments: new InMemoryDeploymentStore(),
    ledger: new InMemoryRollbackLedger(),
    bakes: new InMemoryBakeStore(),
    holds: new InMemoryHoldStore(),
    lake: new S3TrainingDataLake(new S3Client({ region: 'us-east-1' }), { bucket: 'deploy-guard-dev-data' }),
    metrics: new EmfMetrics((line) => emf.push(line)),
    config: { metricsNamespace: 'DeployGuard', includeCounterfactual },
  } satisfies RecordOutcomeDependencies;
  return { ...deps, emf: () => emf.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Every PutObject input sent to the data lake. */
const putObjects = () => s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);

/** The EMF document of a group's quality metrics (names in the order record-outcome sends them). */
const NONE_UNIT = new Set(['BrierContribution', 'EstimatedStopsFailed', 'EstimatedStopsSucceeded', 'EstimatedMissedFailures']);

/** The inverse-propensity terms of the stop decisions' precision and recall (all 0 unless named). */
function estimates(values: Partial<Record<'EstimatedStopsFailed' | 'EstimatedStopsSucceeded' | 'EstimatedMissedFailures' | 'ExploredOutcomes', number>> = {}) {
  return { EstimatedStopsFailed: 0, EstimatedStopsSucceeded: 0, EstimatedMissedFailures: 0, ExploredOutcomes: 0, ...values };
}

function emfOf(event: DeploymentEvent, values: Record<string, number>) {
  return {
    _aws: {
      Timestamp: Date.parse(event.time),
      CloudWatchMetrics: [
        {
          Namespace: 'DeployGuard',
          Dimensions: [['Application', 'DeploymentGroup'], []],
          Metrics: Object.keys(values).map((name) => ({ Name: name, Unit: NONE_UNIT.has(name) ? 'None' : 'Count' })),
        },
      ],
    },
    Application: event.detail.application,
    DeploymentGroup: event.detail.deploymentGroup,
    ...values,
  };
}

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({ ETag: '"row"' });
});

describe('record-outcome: an assessed deployment finishes', () => {
  it('SUCCESS: labels it succeeded, records outcome and history, writes the training row and the metrics', async () => {
    const event = successEvent();
    const deps = dependencies();
    const assessment = assessmentOf(event);
    await deps.deployments.putAssessment(assessment);

    const result = await handleRecordOutcomeEvent(event, deps);

    expect(result).toEqual({
      status: 'recorded',
      deploymentId: 'd-123456789',
      label: 'succeeded',
      labelReason: 'CodeDeploy reported SUCCESS',
      assessed: true,
      trainingRow: { written: true, key: 'rows/date=2016-06-30/d-123456789.csv' },
      metrics: [
        'LabelledOutcomes',
        'TruePositives',
        'FalsePositives',
        'TrueNegatives',
        'FalseNegatives',
        'BrierContribution',
        'EstimatedStopsFailed',
        'EstimatedStopsSucceeded',
        'EstimatedMissedFailures',
        'ExploredOutcomes',
      ],
    });
    expect((await deps.deployments.get('d-123456789'))?.outcome).toEqual({
      deploymentId: 'd-123456789',
      application: 'myApplication',
      deploymentGroup: 'myDeploymentGroup',
      state: 'SUCCESS',
      label: 'succeeded',
      finishedAt: Date.parse('2016-06-30T22:06:31Z'),
    });
    await expect(deps.deployments.groupHistory('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER, 10)).resolves.toEqual([
      { time: assessment.startedAt, failed: false, author: 'dev@example.com' },
    ]);
    expect(putObjects()).toEqual([
      { Bucket: 'deploy-guard-dev-data', Key: 'rows/date=2016-06-30/d-123456789.csv', Body: `0,${FEATURE_ROW}\n`, ContentType: 'text/csv', ServerSideEncryption: 'AES256' },
    ]);
    expect(deps.emf()).toEqual([
      emfOf(event, { LabelledOutcomes: 1, TruePositives: 0, FalsePositives: 0, TrueNegatives: 1, FalseNegatives: 0, BrierContribution: 0.0625, ...estimates() }),
    ]);
  });

  it.each([
    ['rollback', true, 'FAILURE', 'TruePositives', 0.0625, { EstimatedStopsFailed: 1 }],
    ['rollback', false, 'SUCCESS', 'FalsePositives', 0.5625, { EstimatedStopsSucceeded: 1 }],
    ['proceed', true, 'SUCCESS', 'TrueNegatives', 0.5625, {}],
    ['proceed', false, 'FAILURE', 'FalseNegatives', 0.0625, { EstimatedMissedFailures: 1 }],
  ] as const)('decision %s (enforced %s), %s: %s = 1, the others 0, BrierContribution %s', async (decision, enforced, state, metric, brier, estimated) => {
    const event = state === 'SUCCESS' ? successEvent() : failureEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event, { decision, enforced, probability: 0.75, mode: enforced ? 'gate' : 'shadow' }));

    await handleRecordOutcomeEvent(event, deps);

    const confusion = { TruePositives: 0, FalsePositives: 0, TrueNegatives: 0, FalseNegatives: 0, [metric]: 1 };
    expect(deps.emf()).toEqual([emfOf(event, { LabelledOutcomes: 1, ...confusion, BrierContribution: brier, ...estimates(estimated) })]);
    expect(putObjects()[0].Body).toBe(`${state === 'FAILURE' ? 1 : 0},${FEATURE_ROW}\n`);
  });

  it('an explored would-be stop that failed: its row is written 1/ε times and it stands for 1/ε stops in the precision estimate', async () => {
    const event = failureEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event, { decision: 'proceed', explored: true, propensity: 0.05, enforced: true, mode: 'stop', probability: 0.75 }));
    await handleRecordOutcomeEvent(event, deps);
    expect(putObjects()[0].Body).toBe(`1,${FEATURE_ROW}\n`.repeat(20));
    expect(deps.emf()[0]).toMatchObject({ FalseNegatives: 1, EstimatedStopsFailed: 20, EstimatedMissedFailures: 0, ExploredOutcomes: 1 });
  });

  it('FAILURE of the real failure sample is labelled failed, and its row carries label 1 under its own key', async () => {
    const event = failureEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));
    const result = await handleRecordOutcomeEvent(event, deps);
    expect(result).toMatchObject({ status: 'recorded', deploymentId: 'someId', label: 'failed', trainingRow: { written: true, key: 'rows/date=2021-05-17/someId.csv' } });
    expect(deps.emf()[0]).toMatchObject({ Application: 'MyDemoApplication', DeploymentGroup: 'MyDemoDeploymentGroup', FalseNegatives: 1, BrierContribution: 0.5625 });
  });

  it('sends no BrierContribution when the failure policy decided (no probability)', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event, { probability: null, decision: 'proceed', fallback: { policy: 'fail-open', cause: 'endpoint', reason: 'endpoint timed out' } }));
    await handleRecordOutcomeEvent(event, deps);
    expect(deps.emf()).toEqual([emfOf(event, { LabelledOutcomes: 1, TruePositives: 0, FalsePositives: 0, TrueNegatives: 1, FalseNegatives: 0 })]);
  });

  it('writes no training row when the assessment has no feature row (decided without a model): a label-only "0," row would count toward retraining\'s minimum', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event, { probability: null, featureRow: '', decision: 'proceed', fallback: { policy: 'fail-open', cause: 'model', reason: 'NoServingModel: no serving model' } }));

    const result = await handleRecordOutcomeEvent(event, deps);

    expect(result).toMatchObject({ status: 'recorded', label: 'succeeded', trainingRow: { written: false, reason: 'no feature row (assessed without a model)' } });
    expect(putObjects()).toEqual([]);
    expect((await deps.deployments.get('d-123456789'))?.trainingRowWritten).toBeFalsy();
    // The outcome itself is still recorded and counted.
    expect((await deps.deployments.get('d-123456789'))?.outcome?.label).toBe('succeeded');
    expect(deps.emf()).toEqual([emfOf(event, { LabelledOutcomes: 1, TruePositives: 0, FalsePositives: 0, TrueNegatives: 1, FalseNegatives: 0 })]);
  });
});

describe('record-outcome: redelivery and out-of-order delivery', () => {
  it('a duplicate outcome does nothing more: no second row, no second metrics', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));
    await handleRecordOutcomeEvent(event, deps);

    const again = await handleRecordOutcomeEvent(event, deps);

    expect(again).toEqual({ status: 'duplicate', deploymentId: 'd-123456789', label: 'succeeded' });
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(deps.emf()).toHaveLength(1);
    await expect(deps.deployments.groupHistory('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER, 10)).resolves.toHaveLength(1);
  });

  it('a redelivery after the data lake failed writes the missing row, and sends no second metrics', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));
    s3.on(PutObjectCommand).rejectsOnce(new Error('S3 is unavailable')).resolves({});

    // The first delivery stores the outcome and sends the metrics, then fails on S3: Lambda retries it.
    await expect(handleRecordOutcomeEvent(event, deps)).rejects.toThrow('S3 is unavailable');
    expect(await deps.deployments.get('d-123456789')).toMatchObject({ outcome: { label: 'succeeded' }, trainingRowWritten: false });

    const retry = await handleRecordOutcomeEvent(event, deps);

    expect(retry).toEqual({
      status: 'duplicate', deploymentId: 'd-123456789', label: 'succeeded',
      trainingRow: { written: true, key: 'rows/date=2016-06-30/d-123456789.csv' },
    });
    expect(await deps.deployments.get('d-123456789')).toMatchObject({ trainingRowWritten: true });
    expect(putObjects().map((input) => input.Body)).toEqual([`0,${FEATURE_ROW}\n`, `0,${FEATURE_ROW}\n`]);
    expect(deps.emf()).toHaveLength(1);
    await expect(deps.deployments.groupHistory('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER, 10)).resolves.toHaveLength(1);
    // Once recorded as written, further redeliveries write nothing.
    await expect(handleRecordOutcomeEvent(event, deps)).resolves.toEqual({ status: 'duplicate', deploymentId: 'd-123456789', label: 'succeeded' });
    expect(putObjects()).toHaveLength(2);
  });

  it('two writers racing on the same pair leave one row: the same key and the same bytes', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));
    const { item } = await deps.deployments.putOutcome(
      { deploymentId: 'd-123456789', application: 'myApplication', deploymentGroup: 'myDeploymentGroup', state: 'SUCCESS', label: 'succeeded', finishedAt: Date.parse(event.time) },
      { time: Date.parse(event.time), failed: false },
    );
    // predict and record-outcome both read the item before either recorded the row.
    const results = await Promise.all([writeTrainingRowIfComplete(item, { store: deps.deployments, lake: deps.lake }), writeTrainingRowIfComplete(item, { store: deps.deployments, lake: deps.lake })]);
    expect(results.map((result) => result.written)).toEqual([true, true]);
    expect(new Set(putObjects().map((input) => `${input.Key} ${String(input.Body)}`))).toEqual(new Set([`rows/date=2016-06-30/d-123456789.csv 0,${FEATURE_ROW}\n`]));
    expect(await deps.deployments.get('d-123456789')).toMatchObject({ trainingRowWritten: true });
  });

  it('an outcome before its assessment is recorded without a row or metrics; the predict path then writes the row once', async () => {
    const event = successEvent();
    const deps = dependencies();

    const first = await handleRecordOutcomeEvent(event, deps);
    expect(first).toMatchObject({ status: 'recorded', label: 'succeeded', assessed: false, trainingRow: { written: false, reason: 'not assessed yet' }, metrics: [] });
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(deps.emf()).toEqual([]);
    // Not assessed: dated by the outcome event's time.
    await expect(deps.deployments.groupHistory('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER, 10)).resolves.toEqual([
      { time: Date.parse(event.time), failed: false },
    ]);

    // predict stores the assessment late and completes the pair.
    const stored = await deps.deployments.putAssessment(assessmentOf(event));
    await expect(writeTrainingRowIfComplete(stored.item, { store: deps.deployments, lake: deps.lake })).resolves.toEqual({ written: true, key: 'rows/date=2016-06-30/d-123456789.csv' });
    // Redeliveries of either event write nothing more.
    await expect(handleRecordOutcomeEvent(event, deps)).resolves.toMatchObject({ status: 'duplicate' });
    await expect(writeTrainingRowIfComplete((await deps.deployments.get('d-123456789'))!, { store: deps.deployments, lake: deps.lake })).resolves.toEqual({ written: false, reason: 'already written' });
    expect(putObjects()).toEqual([
      { Bucket: 'deploy-guard-dev-data', Key: 'rows/date=2016-06-30/d-123456789.csv', Body: `0,${FEATURE_ROW}\n`, ContentType: 'text/csv', ServerSideEncryption: 'AES256' },
    ]);
  });
});

describe('record-outcome: STOP', () => {
  it('uses a derived STOP event (labelled derived: AWS publishes no STOP sample)', () => {
    expect(stopSample.derived).toBe('detail.state SUCCESS → STOP');
  });

  it('stopped by Deploy Guard: counterfactual, kept out of training and failure rates, counted as CounterfactualOutcomes', async () => {
    const event = stopEvent();
    const deps = dependencies();
    const assessment = assessmentOf(event, { decision: 'rollback', probability: 0.875 });
    await deps.deployments.putAssessment(assessment);
    await deps.ledger.claim({ deploymentId: 'd-123456789', action: 'StopDeployment', token: 'e-1/StopDeployment', at: assessment.assessedAt + 1000 });
    await deps.ledger.record('d-123456789', 'e-1/StopDeployment', { kind: 'completed', action: 'StopDeployment', at: assessment.assessedAt + 2000 });

    const result = await handleRecordOutcomeEvent(event, deps);

    expect(result).toEqual({
      status: 'recorded',
      deploymentId: 'd-123456789',
      label: 'counterfactual',
      labelReason: 'Deploy Guard stopped it (StopDeployment, completed): whether it would have failed is unknown',
      assessed: true,
      trainingRow: { written: false, reason: 'counterfactual label (Deploy Guard stopped it): kept out of training' },
      metrics: ['CounterfactualOutcomes'],
    });
    expect((await deps.deployments.get('d-123456789'))?.outcome).toMatchObject({ state: 'STOP', label: 'counterfactual' });
    await expect(deps.deployments.groupHistory('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER, 10)).resolves.toEqual([
      { time: assessment.startedAt, author: 'dev@example.com' },
    ]);
    await expect(deps.deployments.groupCounts('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER)).resolves.toEqual({ known: 0, failures: 0 });
    expect(s3).not.toHaveReceivedAnyCommand();
    expect(deps.emf()).toEqual([emfOf(event, { CounterfactualOutcomes: 1 })]);
  });

  it('stopped by Deploy Guard, with counterfactual rows opted in: the row is written as a failure', async () => {
    const event = stopEvent();
    const deps = dependencies(true);
    await deps.deployments.putAssessment(assessmentOf(event, { decision: 'rollback' }));
    await deps.ledger.claim({ deploymentId: 'd-123456789', action: 'StopDeployment', token: 'e-1/StopDeployment', at: 0 });
    await deps.ledger.record('d-123456789', 'e-1/StopDeployment', { kind: 'completed', action: 'StopDeployment', at: 1 });
    await expect(handleRecordOutcomeEvent(event, deps)).resolves.toMatchObject({ label: 'counterfactual', trainingRow: { written: true } });
    expect(putObjects()[0].Body).toBe(`1,${FEATURE_ROW}\n`);
  });

  it('stopped by Deploy Guard whose StopDeployment answer was lost (the retry refused as already stopped): counterfactual, not failed', async () => {
    const event = stopEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event, { decision: 'rollback' }));
    await deps.ledger.claim({ deploymentId: 'd-123456789', action: 'StopDeployment', token: 'e-1/StopDeployment', at: 0 });
    await deps.ledger.recordAttempt('d-123456789', 'e-1/StopDeployment', 'StopDeployment', 1);
    await deps.ledger.record('d-123456789', 'e-1/StopDeployment', { kind: 'completed', action: 'StopDeployment', at: 2, recognisedFrom: 'DeploymentAlreadyStopped' });

    await expect(handleRecordOutcomeEvent(event, deps)).resolves.toMatchObject({
      label: 'counterfactual',
      labelReason: 'Deploy Guard stopped it (StopDeployment, completed): whether it would have failed is unknown',
      trainingRow: { written: false },
    });
    expect((await deps.deployments.get('d-123456789'))?.outcome).toMatchObject({ state: 'STOP', label: 'counterfactual' });
  });

  it('stopped by someone else: failed (it did not ship), scored like any failure', async () => {
    const event = stopEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));

    const result = await handleRecordOutcomeEvent(event, deps);

    expect(result).toMatchObject({ label: 'failed', labelReason: 'stopped, not by Deploy Guard: it did not ship', trainingRow: { written: true } });
    await expect(deps.deployments.groupCounts('myApplication', 'myDeploymentGroup', Number.MAX_SAFE_INTEGER)).resolves.toEqual({ known: 1, failures: 1 });
    expect(putObjects()[0].Body).toBe(`1,${FEATURE_ROW}\n`);
    expect(deps.emf()).toEqual([
      emfOf(event, { LabelledOutcomes: 1, TruePositives: 0, FalsePositives: 0, TrueNegatives: 0, FalseNegatives: 1, BrierContribution: 0.5625, ...estimates({ EstimatedMissedFailures: 1 }) }),
    ]);
  });

  it('stopped after Deploy Guard let it proceed, or after its stop was refused: failed', async () => {
    for (const [action, outcome] of [
      ['ContinueDeployment', { kind: 'completed', action: 'ContinueDeployment', at: 2 }],
      ['StopDeployment', { kind: 'not-done', reason: 'DeploymentAlreadyStopped', message: 'The deployment d-123456789 is already stopped.', at: 2 }],
    ] as const) {
      const deps = dependencies();
      await deps.ledger.claim({ deploymentId: 'd-123456789', action, token: `e-1/${action}`, at: 1 });
      await deps.ledger.record('d-123456789', `e-1/${action}`, outcome);
      await expect(handleRecordOutcomeEvent(stopEvent(), deps)).resolves.toMatchObject({ label: 'failed' });
    }
  });
});

describe('record-outcome: events it does not record', () => {
  /** Ports that record any call: a refused event must make none. */
  function watchedPorts() {
    const calls: string[] = [];
    const watch = <T extends object>(name: string, target: T): T =>
      new Proxy(target, {
        get: (object, property) => {
          const value = Reflect.get(object, property) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(`${name}.${String(property)}`);
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
    const deps = dependencies();
    return {
      calls,
      deps: { ...deps, deployments: watch('deployments', deps.deployments), ledger: watch('ledger', deps.ledger), lake: watch('lake', deps.lake), metrics: watch('metrics', deps.metrics) },
    };
  }

  it.each([
    ['without a deploymentId', (event: DeploymentEvent) => delete (event.detail as Partial<DeploymentEvent['detail']>).deploymentId, 'detail.deploymentId'],
    ['with an unknown state', (event: DeploymentEvent) => (event.detail.state = 'DONE'), 'detail.state'],
    ['from another source', (event: DeploymentEvent) => ((event as unknown as { source: string }).source = 'aws.codepipeline'), 'source'],
    ['with a time that is no time', (event: DeploymentEvent) => (event.time = 'yesterday'), 'time'],
  ])('a malformed event (%s) throws EventValidationError naming the field, and calls no port', async (_name, spoil, path) => {
    const { calls, deps } = watchedPorts();
    const event = successEvent();
    spoil(event);
    const error = await handleRecordOutcomeEvent(event, deps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as Error).message).toMatch(new RegExp(`^Invalid CodeDeploy Deployment State-change Notification event: .*${path}`));
    expect(calls).toEqual([]);
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('a deployment that has not finished (a derived START) is ignored, with no port call', async () => {
    const { calls, deps } = watchedPorts();
    await expect(handleRecordOutcomeEvent(derivedDeploymentEvent('START').event, deps)).resolves.toEqual({
      status: 'ignored',
      deploymentId: 'd-123456789',
      reason: 'state START is not final: record-outcome labels SUCCESS, FAILURE and STOP',
    });
    expect(calls).toEqual([]);
  });

  it('an S3 failure propagates naming the key, after the outcome and metrics are recorded', async () => {
    const event = successEvent();
    const deps = dependencies();
    await deps.deployments.putAssessment(assessmentOf(event));
    s3.on(PutObjectCommand).rejects(new Error('Service Unavailable'));
    await expect(handleRecordOutcomeEvent(event, deps)).rejects.toThrow('S3 PutObject s3://deploy-guard-dev-data/rows/date=2016-06-30/d-123456789.csv: Service Unavailable');
    expect((await deps.deployments.get('d-123456789'))?.outcome?.label).toBe('succeeded');
    expect(deps.emf()).toHaveLength(1);
  });
});

describe('record-outcome-domain', () => {
  const entry = (action: LedgerEntry['action'], outcome?: LedgerEntry['outcome']): LedgerEntry => ({
    deploymentId: 'd-1',
    action,
    claimToken: `e-1/${action}`,
    claimedAt: 1,
    openedAt: 1,
    openedBy: `e-1/${action}`,
    dueCounted: true,
    published: false,
    ...(outcome ? { outcome } : {}),
  });
  const completed = (action: LedgerEntry['action']) => entry(action, { kind: 'completed', action, at: 2 });
  const refused = (action: LedgerEntry['action']) => entry(action, { kind: 'not-done', reason: 'DeploymentAlreadyCompleted', message: 'done', at: 2 });

  it.each([
    ['SUCCESS', undefined, 'succeeded'],
    ['SUCCESS', completed('StopDeployment'), 'succeeded'], // the stop came too late: it shipped
    ['FAILURE', undefined, 'failed'],
    ['FAILURE', completed('StopDeployment'), 'failed'],
    ['FAILURE', completed('LifecycleHookFailed'), 'counterfactual'], // a failed traffic hook ends as FAILURE
    ['FAILURE', entry('LifecycleHookFailed'), 'counterfactual'],
    ['STOP', undefined, 'failed'],
    ['STOP', completed('StopDeployment'), 'counterfactual'],
    ['STOP', completed('LifecycleHookFailed'), 'counterfactual'],
    ['STOP', entry('StopDeployment'), 'counterfactual'], // claimed, answer not recorded yet
    ['STOP', refused('StopDeployment'), 'failed'],
    ['STOP', completed('ContinueDeployment'), 'failed'],
    ['STOP', entry('ContinueDeployment'), 'failed'],
  ] as const)('%s with ledger %j: %s', (state, ledger, label) => {
    expect(labelOutcome(state, ledger).label).toBe(label);
  });

  it.each([
    ['STOP', 'rolled-back', 'failed'], // EC2: StopDeployment during the bake
    ['FAILURE', 'rolled-back', 'failed'], // ECS / Lambda: the AfterAllowTraffic hook reported Failed
    ['STOP', 'rolling-back', 'failed'], // the stop event overtook the bake's own record
    ['SUCCESS', 'passed', 'succeeded'],
  ] as const)('%s after a bake %s is an observed %s, never counterfactual', (state, bakeState, label) => {
    const decided = labelOutcome(state, completed('ContinueDeployment'), { bake: { state: bakeState, alarmName: 'checkout-5xx' } });
    expect(decided.label).toBe(label);
    if (label === 'failed') expect(decided.reason).toBe('rolled back during its bake: alarm checkout-5xx went to ALARM after its traffic moved, an observed failure');
  });

  it('a hook Deploy Guard failed before the traffic moved stays counterfactual even with a bake that passed', () => {
    expect(labelOutcome('FAILURE', completed('LifecycleHookFailed'), { bake: { state: 'passed' } }).label).toBe('counterfactual');
  });

  it("knows Deploy Guard's rollback from its ledger entry", () => {
    expect(guardRollbackOf(undefined)).toBeUndefined();
    expect(guardRollbackOf(completed('StopDeployment'))).toEqual({ action: 'StopDeployment', status: 'completed' });
    expect(guardRollbackOf(entry('LifecycleHookFailed'))).toEqual({ action: 'LifecycleHookFailed', status: 'in-flight' });
    expect(guardRollbackOf(refused('StopDeployment'))).toBeUndefined();
  });

  it('dates history by the start when assessed, else by the event; no failed flag for a counterfactual', () => {
    const assessment = assessmentOf(successEvent(), { author: undefined });
    expect(historyEntry('failed', assessment, 99)).toEqual({ time: assessment.startedAt, failed: true });
    expect(historyEntry('succeeded', undefined, 99)).toEqual({ time: 99, failed: false });
    expect(historyEntry('counterfactual', undefined, 99)).toEqual({ time: 99 });
  });

  it('scores nothing for an unassessed labelled outcome; counts a counterfactual whether assessed or not', () => {
    expect(qualityMetricValues('failed', undefined)).toEqual([]);
    expect(qualityMetricValues('counterfactual', undefined)).toEqual([{ name: 'CounterfactualOutcomes', unit: 'Count', value: 1 }]);
  });

  it('reads the metrics namespace from the environment', () => {
    expect(recordOutcomeConfigFromEnv({})).toEqual({ metricsNamespace: 'DeployGuard' });
    expect(recordOutcomeConfigFromEnv({ DEPLOY_GUARD_METRICS_NAMESPACE: 'Acme/DeployGuard' })).toEqual({ metricsNamespace: 'Acme/DeployGuard' });
  });
});
