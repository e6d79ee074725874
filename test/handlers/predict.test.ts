import { Readable } from 'node:stream';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { EMITTED_EVENTS, type ComputePlatform, type GuardMode, type PutEventsEntry } from '../../events/emitted';
import { derivedDeploymentEvent, sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import { EventBridgePublisher, PublishError, type EventPublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryChangeSummaryStore, InMemoryControlStore, InMemoryDeploymentStore, InMemoryGateStore, InMemoryHoldStore, InMemoryOperatorControlStore } from '../../handlers/adapters/in-memory-stores';
import { S3ObjectReader } from '../../handlers/adapters/s3-objects';
import { S3ServingModelSource, servingModel } from '../../handlers/adapters/serving-model';
import type { GroupPolicy } from '../../handlers/config';
import { handlePredictEvent, type PredictDependencies } from '../../handlers/predict';
import { POOLED_CUT_SCOPE } from '../../handlers/ports';
import type {
  AssessmentRecord,
  CodeDeployOutcome,
  CodeDeployPort,
  DeploymentLookup,
  DeploymentSnapshot,
  EndpointAnswer,
  MetricsPort,
  ModelEndpointPort,
  ObjectReader,
  ServingModel,
  ServingModelPointer,
  ServingModelSource,
  TrainingDataLake,
} from '../../handlers/ports';
import { CUT_SETTINGS, initialCutState, refresh } from '../../model/block-budget';
import { buildFeatureVector, createFeatureList, formatFeatureRow } from '../../model/features';
import { LocalEndpoint } from '../../local/sagemaker';
import { FEATURE_NAMES, FIXTURE_GROUPS, fixtureFeatureList, fixtureFeaturesJson, fixtureModelTarGz, fixtureTrees } from './serving-fixture';

/*
 * The events are the real CodeDeploy sample (SUCCESS) with detail.state changed to START / READY
 * (derived: AWS publishes no verbatim START or READY sample) and the real CodePipeline samples.
 * The model is a real XGBoost 1.7.4 model; the endpoint stand-in answers with the container's own
 * serving code (local/sagemaker.ts), so the probabilities are what SageMaker would answer.
 */

const START = derivedDeploymentEvent('START');
const READY = derivedDeploymentEvent('READY');
const EVENTS = { START, READY };
const deploymentId = 'd-123456789';
const application = 'myApplication';
const deploymentGroup = 'myDeploymentGroup';
const STARTED_AT = Date.parse(START.event.time as string);
const ASSESSED_AT = Date.parse('2016-06-30T22:06:33Z');
const COMMIT = '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a';
const config = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', metricsNamespace: 'DeployGuard' };
const summary = { ...EMITTED_EVENTS['Deployment Change Summary'].example, application, revision: { commitId: COMMIT } };

/** What the endpoint answers for the sample deployment with the change summary and an empty history. */
const expectedVector = buildFeatureVector(fixtureFeatureList(), {
  group: `${application}/${deploymentGroup}`,
  time: STARTED_AT,
  change: summary.change,
  history: { consecutiveFailures: 0, deploymentsLast24h: 0, failureRateOverall: 0.5 },
});
const PROBABILITY = fixtureTrees().predict(expectedVector);
const RISKY = Math.floor(PROBABILITY * 100) / 100; // a threshold the deployment reaches
const SAFE = Math.min(0.99, PROBABILITY + 0.05); // one it stays below

class FakeCodeDeploy implements CodeDeployPort {
  readonly lookups: string[] = [];
  constructor(private readonly deployments: Map<string, DeploymentSnapshot>) {}
  async getDeployment(id: string): Promise<DeploymentLookup> {
    this.lookups.push(id);
    const deployment = this.deployments.get(id);
    return deployment ? { found: true, deployment } : { found: false, message: `The deployment ${id} does not exist.` };
  }
  async stopDeployment(): Promise<CodeDeployOutcome> {
    throw new Error('predict never stops a deployment itself');
  }
  async continueDeployment(): Promise<CodeDeployOutcome> {
    throw new Error('predict never continues a deployment itself');
  }
  async putLifecycleEventHookExecutionStatus(): Promise<CodeDeployOutcome> {
    throw new Error('predict never reports a hook');
  }
}

class RecordingPublisher implements EventPublisher {
  readonly published: PutEventsEntry[] = [];
  async publish(entries: readonly PutEventsEntry[]): Promise<void> {
    this.published.push(...entries);
  }
}

class CountingEndpoint implements ModelEndpointPort {
  readonly rows: string[] = [];
  constructor(private readonly answer: (row: string) => Promise<EndpointAnswer>) {}
  invoke(row: string): Promise<EndpointAnswer> {
    this.rows.push(row);
    return this.answer(row);
  }
}

function realEndpoint(): CountingEndpoint {
  const local = new LocalEndpoint();
  local.serve(fixtureTrees());
  return new CountingEndpoint((row) => local.invoke(row));
}

interface Setup {
  readonly mode?: GuardMode;
  readonly platform?: ComputePlatform;
  readonly threshold?: number;
  readonly failurePolicy?: GroupPolicy['failurePolicy'];
  readonly deployment?: Partial<DeploymentSnapshot>;
  readonly endpoint?: CountingEndpoint;
  readonly model?: ServingModel | null;
  /** Where the serving model comes from instead of `model` (the S3 adapter, to load it as in AWS). */
  readonly source?: ServingModelSource;
  readonly publisher?: EventPublisher;
  readonly summary?: boolean;
  readonly control?: InMemoryControlStore;
  readonly operatorControls?: InMemoryOperatorControlStore;
  readonly holds?: InMemoryHoldStore;
  /** Decide by the block budget's cut instead of a fixed threshold. */
  readonly budget?: boolean;
  /** Share of would-be stops let through to be observed. @default 0 */
  readonly exploration?: number;
  /** @default 'group' (the tests below seed a group's own cut) */
  readonly cutScope?: GroupPolicy['cutScope'];
}

function setup(options: Setup = {}) {
  const platform = options.platform ?? 'Server';
  const snapshot: DeploymentSnapshot = {
    deploymentId,
    status: 'InProgress',
    computePlatform: platform,
    creator: 'user',
    application,
    deploymentGroup,
    revision: { commitId: COMMIT },
    createTime: STARTED_AT,
    ...options.deployment,
  };
  const codeDeploy = new FakeCodeDeploy(new Map([[deploymentId, snapshot]]));
  const deployments = new InMemoryDeploymentStore();
  const changes = new InMemoryChangeSummaryStore();
  const control = options.control ?? new InMemoryControlStore();
  if (options.summary !== false) void changes.put({ summary, receivedAt: STARTED_AT - 60_000, sender: { eventId: 'ci-event-1', account: '123456789012', source: 'deploy-guard', resources: [] } });
  const model = options.model === undefined ? servingModel('deploy-guard-dev-20261120-0900-5f2c1a', fixtureFeatureList(), fixtureTrees()) : options.model;
  const endpoint = options.endpoint ?? realEndpoint();
  const publisher = options.publisher ?? new RecordingPublisher();
  const metrics: Parameters<MetricsPort['put']>[0][] = [];
  const rows: Parameters<TrainingDataLake['putRow']>[0][] = [];
  const policy: GroupPolicy = {
    application,
    deploymentGroup,
    platform,
    mode: options.mode ?? 'stop',
    blockBudget: 0.1,
    exploration: options.exploration ?? 0,
    cutScope: options.cutScope ?? 'group',
    // A fixed threshold (the expert override) makes each decision a function of this deployment alone;
    // the block-budget cut is specified in 'predict: the block budget decides' below.
    ...(options.budget ? {} : { threshold: options.threshold ?? RISKY }),
    failurePolicy: options.failurePolicy ?? 'fail-open',
  };
  const deps: PredictDependencies = {
    codeDeploy,
    deployments,
    changes,
    servingModel: options.source ?? { serving: async () => model ?? undefined },
    control,
    operatorControls: options.operatorControls ?? new InMemoryOperatorControlStore(),
    holds: options.holds ?? new InMemoryHoldStore(),
    gates: new InMemoryGateStore(),
    endpoint,
    publisher,
    metrics: { put: (metric) => metrics.push(metric) },
    lake: { putRow: async (row) => void rows.push(row) },
    clock: new ManualClock(ASSESSED_AT),
    config: { ...config, groups: [policy, { ...policy, application: 'other-app', deploymentGroup: 'other-group' }] },
  };
  return { deps, codeDeploy, deployments, control, endpoint, publisher: publisher as RecordingPublisher, metrics, rows };
}

const detailTypes = (entries: readonly PutEventsEntry[]) => entries.map((entry) => entry.DetailType);
const detailOf = (entries: readonly PutEventsEntry[], type: string) => JSON.parse(entries.find((entry) => entry.DetailType === type)!.Detail);

describe('predict: a deployment starts', () => {
  it('stop mode, risky: scores the serving model features, stores the assessment, announces it and requests the rollback', async () => {
    const { deps, endpoint, deployments, publisher, codeDeploy } = setup({ mode: 'stop' });
    const result = await handlePredictEvent(START.event, deps);

    expect(codeDeploy.lookups).toEqual([deploymentId]);
    expect(endpoint.rows).toEqual([formatFeatureRow(expectedVector)]);
    expect(result).toEqual({
      status: 'assessed',
      deploymentId,
      trigger: 'START',
      decision: 'rollback',
      probability: PROBABILITY,
      enforced: true,
      modelVersion: 'deploy-guard-dev-20261120-0900-5f2c1a',
      published: ['Deployment Risk Assessed', 'Deployment Rollback Requested'],
    });
    const stored = (await deployments.get(deploymentId))?.assessment;
    expect(stored).toMatchObject({
      deploymentId,
      application,
      deploymentGroup,
      platform: 'Server',
      mode: 'stop',
      trigger: 'START',
      probability: PROBABILITY,
      cut: RISKY,
      blockBudget: null,
      cutSource: 'threshold',
      decision: 'rollback',
      enforced: true,
      featureRow: formatFeatureRow(expectedVector),
      startedAt: STARTED_AT,
      assessedAt: ASSESSED_AT,
      author: 'dev@example.com',
    });
    const assessed = detailOf(publisher.published, 'Deployment Risk Assessed');
    expect(assessed).toMatchObject({ deploymentId, probability: PROBABILITY, decision: 'rollback', enforced: true, assessedAt: '2016-06-30T22:06:33Z' });
    expect(assessed.topFactors).toHaveLength(3);
    expect(assessed.topFactors).toEqual(stored?.topFactors);
    expect(detailOf(publisher.published, 'Deployment Rollback Requested')).toEqual({
      schemaVersion: '2',
      deploymentId,
      application,
      deploymentGroup,
      platform: 'Server',
      mode: 'stop',
      probability: PROBABILITY,
      cut: RISKY,
      blockBudget: null,
      modelVersion: 'deploy-guard-dev-20261120-0900-5f2c1a',
      reason: `probability of failure ${Number(PROBABILITY.toFixed(4))} is at or above the fixed threshold ${RISKY}`,
      requestedAt: '2016-06-30T22:06:33Z',
    });
  });

  it.each([
    ['shadow', 'Server', 'START', ['Deployment Risk Assessed'], false],
    ['shadow', 'ECS', 'START', ['Deployment Risk Assessed'], false],
    ['shadow', 'Lambda', 'START', ['Deployment Risk Assessed'], false],
    ['stop', 'Server', 'START', ['Deployment Risk Assessed', 'Deployment Rollback Requested'], true],
    ['stop', 'ECS', 'START', ['Deployment Risk Assessed', 'Deployment Rollback Requested'], true],
    ['stop', 'Lambda', 'START', ['Deployment Risk Assessed', 'Deployment Rollback Requested'], true],
    ['gate', 'Server', 'READY', ['Deployment Risk Assessed', 'Deployment Rollback Requested'], true],
    ['gate', 'ECS', 'START', ['Deployment Risk Assessed'], true],
    ['gate', 'Lambda', 'START', ['Deployment Risk Assessed'], true],
  ] as const)('%s on %s, risky: assessed at %s (derived), publishes %j, enforced %s', async (mode, platform, trigger, published, enforced) => {
    const { deps, publisher } = setup({ mode, platform, deployment: trigger === 'READY' ? { status: 'Ready' } : {} });
    const result = await handlePredictEvent(EVENTS[trigger].event, deps);
    expect(result).toMatchObject({ status: 'assessed', decision: 'rollback', enforced });
    expect(detailTypes(publisher.published)).toEqual(published);
  });

  it.each([
    ['shadow', 'Server', 'READY'],
    ['stop', 'ECS', 'READY'],
    ['gate', 'Server', 'START'],
    ['gate', 'Lambda', 'READY'],
  ] as const)('%s on %s ignores %s (derived) without calling anything', async (mode, platform, trigger) => {
    const { deps, codeDeploy, endpoint, publisher, deployments } = setup({ mode, platform });
    const result = await handlePredictEvent(EVENTS[trigger].event, deps);
    expect(result).toMatchObject({ status: 'ignored' });
    expect(codeDeploy.lookups).toEqual([]);
    expect(endpoint.rows).toEqual([]);
    expect(publisher.published).toEqual([]);
    expect(await deployments.get(deploymentId)).toBeUndefined();
  });

  it('gate on Server, safe at READY: an enforced proceed (the rollback handler continues it), dated from the deployment creation', async () => {
    const created = STARTED_AT - 600_000;
    const { deps, publisher, deployments } = setup({ mode: 'gate', threshold: SAFE, deployment: { status: 'Ready', createTime: created } });
    await handlePredictEvent(READY.event, deps);
    expect(detailTypes(publisher.published)).toEqual(['Deployment Risk Assessed']);
    expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({ mode: 'gate', trigger: 'READY', decision: 'proceed', enforced: true });
    expect((await deployments.get(deploymentId))?.assessment?.startedAt).toBe(created);
  });

  it('leaves the change fields missing (empty CSV fields), not zero, when no change summary was recorded', async () => {
    const { deps, endpoint } = setup({ summary: false });
    await handlePredictEvent(START.event, deps);
    expect(endpoint.rows[0].split(',').slice(0, 6)).toEqual(['', '', '', '', '', '']);
  });

  it.each([
    ['joined', {}, true, { status: 'joined', revision: `git:${COMMIT}` }, 0],
    ['missing', {}, false, { status: 'missing', revision: `git:${COMMIT}` }, 1],
    // An ECS or Lambda deployment: its AppSpec content's SHA-256 is the revision key a summary joins on.
    ['missing', { computePlatform: 'ECS' as const, revision: { appSpecSha256: 'a'.repeat(64) } }, false, { status: 'missing', revision: `appspec:${'a'.repeat(64)}` }, 1],
    ['no-revision', { revision: undefined }, false, { status: 'no-revision' }, 1],
  ] as [string, Partial<DeploymentSnapshot>, boolean, object, number][])('says whether the change summary was joined (%s), in the assessment, its event and a metric: never silent', async (_status, deployment, withSummary, expected, counted) => {
    const { deps, publisher, deployments, metrics } = setup({ summary: withSummary, deployment, ...(deployment.computePlatform ? { platform: deployment.computePlatform } : {}) });
    await handlePredictEvent(START.event, deps);
    expect((await deployments.get(deploymentId))?.assessment?.changeSummary).toEqual(expected);
    expect(detailOf(publisher.published, 'Deployment Risk Assessed').changeSummary).toEqual(expected);
    expect(metrics.flatMap((metric) => metric.values).filter((value) => value.name === 'AssessedWithoutChangeSummary').map((value) => value.value)).toEqual([counted]);
  });

  it("reads the group's history: the overall failure rate from the full counts, recent windows from the latest outcomes", async () => {
    const { deps, deployments, endpoint } = setup();
    const outcomes = [true, false, true, true, false, false, true];
    for (const [index, failed] of outcomes.entries()) {
      const time = STARTED_AT - (outcomes.length - index) * 3_600_000;
      await deployments.putOutcome(
        { deploymentId: `d-PAST${index}`, application, deploymentGroup, state: failed ? 'FAILURE' : 'SUCCESS', label: failed ? 'failed' : 'succeeded', finishedAt: time + 60_000 },
        { time, failed },
      );
    }
    await handlePredictEvent(START.event, { ...deps, config: { ...deps.config, historyLimit: 3 } });
    const fields = endpoint.rows[0].split(',');
    const column = (name: string) => Number(fields[fixtureFeatureList().features.findIndex((feature) => feature.name === name)]);
    expect(column('failureRateOverall')).toBe(Math.fround((4 + 1) / (7 + 2)));
    expect(column('previousFailed')).toBe(1);
    expect(column('failureRateLast5')).toBe(Math.fround(3 / 5));
  });
});

describe('predict: what it does not assess', () => {
  it('a group Deploy Guard does not guard: ignored, nothing called', async () => {
    const { deps, codeDeploy, endpoint } = setup();
    const event = structuredClone(START.event) as { detail: Record<string, unknown> };
    event.detail.deploymentGroup = 'unguarded';
    await expect(handlePredictEvent(event, deps)).resolves.toEqual({
      status: 'ignored',
      reason: 'deployment group myApplication/unguarded is not guarded by Deploy Guard',
    });
    expect(codeDeploy.lookups).toEqual([]);
    expect(endpoint.rows).toEqual([]);
  });

  it('a rollback CodeDeploy created (creator codeDeployRollback): ignored, nothing stored, no endpoint call', async () => {
    const { deps, endpoint, deployments, publisher } = setup({ deployment: { creator: 'codeDeployRollback' } });
    await expect(handlePredictEvent(START.event, deps)).resolves.toEqual({
      status: 'ignored',
      reason: 'd-123456789 is a rollback created by CodeDeploy; Deploy Guard never assesses a rollback',
    });
    expect(endpoint.rows).toEqual([]);
    expect(publisher.published).toEqual([]);
    expect(await deployments.get(deploymentId)).toBeUndefined();
  });

  it('a deployment CodeDeploy does not know: not-found, nothing stored or published', async () => {
    const { deps, deployments, publisher, endpoint } = setup();
    const result = await handlePredictEvent(derivedDeploymentEvent('START', 'd-UNKNOWN01').event, deps);
    expect(result).toEqual({ status: 'not-found', deploymentId: 'd-UNKNOWN01', message: 'The deployment d-UNKNOWN01 does not exist.' });
    expect(await deployments.get('d-UNKNOWN01')).toBeUndefined();
    expect(publisher.published).toEqual([]);
    expect(endpoint.rows).toEqual([]);
  });

  it('a malformed event: EventValidationError naming the path, and no port called', async () => {
    const { deps, codeDeploy, endpoint, publisher } = setup();
    const event = structuredClone(START.event) as { detail: Record<string, unknown> };
    delete event.detail.deploymentId;
    const failure = handlePredictEvent(event, deps);
    await expect(failure).rejects.toBeInstanceOf(EventValidationError);
    await expect(failure).rejects.toThrow(
      'Invalid CodeDeploy Deployment State-change Notification event: detail.deploymentId: Invalid input: expected string, received undefined',
    );
    expect(codeDeploy.lookups).toEqual([]);
    expect(endpoint.rows).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it.each(['codepipeline-action-execution.started.json', 'codepipeline-action-execution.started.codedeploy-provider.lambda-go.json'])(
    'a CodePipeline CodeDeploy action STARTED (%s): validated, then ignored with the reason (its deployment is assessed at START)',
    async (file) => {
      const { deps, codeDeploy, endpoint, publisher } = setup();
      const result = await handlePredictEvent(sample(file).event, deps);
      expect(result).toMatchObject({ status: 'ignored', reason: expect.stringContaining('carries no CodeDeploy deployment id') });
      expect(codeDeploy.lookups).toEqual([]);
      expect(endpoint.rows).toEqual([]);
      expect(publisher.published).toEqual([]);
    },
  );

  it('a malformed CodePipeline action event: EventValidationError', async () => {
    const { deps } = setup();
    const event = structuredClone(sample('codepipeline-action-execution.started.json').event) as { detail: Record<string, unknown> };
    delete event.detail.stage;
    await expect(handlePredictEvent(event, deps)).rejects.toThrow('Invalid CodePipeline Action Execution State Change event: detail.stage');
  });
});

describe('predict: duplicates and crashes', () => {
  it('a redelivered START calls no endpoint and publishes the same events again (same detail, same time)', async () => {
    const { deps, endpoint, publisher } = setup({ mode: 'stop' });
    await handlePredictEvent(START.event, deps);
    const first = [...publisher.published];
    (deps.clock as ManualClock).advanceBy(5 * 60_000);

    const again = await handlePredictEvent(START.event, deps);
    expect(again).toEqual({ status: 'duplicate', deploymentId, republished: ['Deployment Risk Assessed', 'Deployment Rollback Requested'] });
    expect(endpoint.rows).toHaveLength(1);
    expect(publisher.published.slice(first.length)).toEqual(first);
  });

  it('PutEvents refusing an entry: the handler throws after storing; the redelivery publishes the stored events, no second endpoint call', async () => {
    const eventBridge = mockClient(EventBridgeClient);
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'e-1' }, { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }, { EventId: 'e-3' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined });
    const { deps, endpoint, deployments } = setup({ mode: 'stop', publisher });

    const failure = handlePredictEvent(START.event, deps);
    await expect(failure).rejects.toBeInstanceOf(PublishError);
    await expect(failure).rejects.toThrow('PutEvents refused 1 entry after retries: Deployment Rollback Requested: MalformedDetail');
    expect((await deployments.get(deploymentId))?.assessment?.decision).toBe('rollback');

    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ status: 'duplicate' });
    expect(endpoint.rows).toHaveLength(1);
    const [firstCall, secondCall] = eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries);
    expect(secondCall).toEqual(firstCall);
    eventBridge.restore();
  });

  it('the outcome arrived first (CodeDeploy reports Succeeded): assessed and stored, not enforced, no rollback, training row written', async () => {
    const { deps, deployments, publisher, rows } = setup({ mode: 'stop', deployment: { status: 'Succeeded' } });
    await deployments.putOutcome(
      { deploymentId, application, deploymentGroup, state: 'SUCCESS', label: 'succeeded', finishedAt: STARTED_AT + 300_000 },
      { time: STARTED_AT, failed: false },
    );
    const result = await handlePredictEvent(START.event, deps);
    expect(result).toMatchObject({ status: 'assessed', decision: 'rollback', enforced: false, published: ['Deployment Risk Assessed'] });
    expect(result).toMatchObject({ trainingRow: { written: true } });
    expect(detailTypes(publisher.published)).toEqual(['Deployment Risk Assessed']);
    expect(rows).toEqual([
      {
        deploymentId,
        application,
        deploymentGroup,
        startedAt: STARTED_AT,
        finishedAt: STARTED_AT + 300_000,
        modelVersion: 'deploy-guard-dev-20261120-0900-5f2c1a',
        csvLine: `0,${formatFeatureRow(expectedVector)}`,
        weight: 1,
      },
    ]);
    expect((await deployments.get(deploymentId))?.trainingRowWritten).toBe(true);
  });
});

describe('predict: when the endpoint cannot answer, the failure policy decides', () => {
  const failures: EndpointAnswer[] = [
    { ok: false, failure: 'Timeout', message: 'endpoint deploy-guard-dev did not answer within 2000 ms' },
    { ok: false, failure: 'ModelError', message: 'Received client error (415) from primary' },
    { ok: false, failure: 'Throttled', message: 'Rate exceeded' },
    { ok: false, failure: 'Unavailable', message: 'Endpoint deploy-guard-dev of account 123456789012 not found.' },
  ];

  it.each(failures.flatMap((answer) => (['fail-open', 'fail-closed'] as const).map((policy) => [answer.ok ? '' : answer.failure, policy, answer] as const)))(
    '%s, %s',
    async (failure, failurePolicy, answer) => {
      const endpoint = new CountingEndpoint(async () => answer);
      const { deps, publisher, metrics, deployments } = setup({ mode: 'stop', failurePolicy, endpoint });
      const result = await handlePredictEvent(START.event, deps);
      const decision = failurePolicy === 'fail-open' ? 'proceed' : 'rollback';
      expect(result).toMatchObject({ status: 'assessed', decision, probability: null, enforced: true });
      const stored = (await deployments.get(deploymentId))?.assessment;
      expect(stored?.fallback).toEqual({ policy: failurePolicy, cause: 'endpoint', reason: `${failure}: ${answer.ok ? '' : answer.message}` });
      expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({ probability: null, decision, fallback: stored?.fallback });
      expect(detailTypes(publisher.published)).toEqual(
        failurePolicy === 'fail-open' ? ['Deployment Risk Assessed'] : ['Deployment Risk Assessed', 'Deployment Rollback Requested'],
      );
      expect(metrics).toEqual([
        {
          namespace: 'DeployGuard',
          dimensions: { Application: application, DeploymentGroup: deploymentGroup },
          values: [
            { name: 'Assessments', unit: 'Count', value: 1 },
            { name: 'Stops', unit: 'Count', value: decision === 'rollback' ? 1 : 0 },
            { name: 'EndpointFallbacks', unit: 'Count', value: 1 },
            { name: 'ModelFallbacks', unit: 'Count', value: 0 },
            { name: 'AssessedWithoutChangeSummary', unit: 'Count', value: 0 },
            { name: 'OperatorOverrides', unit: 'Count', value: 0 },
            { name: 'DecisionCut', unit: 'None', value: RISKY },
          ],
          at: ASSESSED_AT,
        },
      ]);
    },
  );

  it('no model promoted yet: model version none, no endpoint call, the failure policy decides', async () => {
    const { deps, endpoint, deployments, metrics } = setup({ model: null, failurePolicy: 'fail-closed' });
    const result = await handlePredictEvent(START.event, deps);
    expect(result).toMatchObject({ status: 'assessed', decision: 'rollback', modelVersion: 'none', fallback: 'NoServingModel: no model has been promoted yet' });
    expect(endpoint.rows).toEqual([]);
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({ modelVersion: 'none', featureRow: '', topFactors: [] });
    expect(metrics).toHaveLength(1);
  });

  it('a successful answer counts the assessment, its stop and its cut, and no fallback', async () => {
    const { deps, metrics } = setup();
    await handlePredictEvent(START.event, deps);
    expect(metrics.map((metric) => metric.values)).toEqual([
      [
        { name: 'Assessments', unit: 'Count', value: 1 },
        { name: 'Stops', unit: 'Count', value: 1 },
        { name: 'EndpointFallbacks', unit: 'Count', value: 0 },
        { name: 'ModelFallbacks', unit: 'Count', value: 0 },
        { name: 'AssessedWithoutChangeSummary', unit: 'Count', value: 0 },
        { name: 'OperatorOverrides', unit: 'Count', value: 0 },
        { name: 'DecisionCut', unit: 'None', value: RISKY },
      ],
    ]);
    // A redelivery counts nothing again.
    await handlePredictEvent(START.event, deps);
    expect(metrics).toHaveLength(1);
  });
});

describe('predict: when the serving model cannot be loaded, the failure policy decides', () => {
  const version = 'deploy-guard-dev-20261120-0900-5f2c1a';
  const pointer: ServingModelPointer = {
    modelVersion: version,
    modelDataUrl: `s3://deploy-guard-dev-models/models/${version}/model.tar.gz`,
    featuresUrl: `s3://deploy-guard-dev-models/models/${version}/features.json`,
    promotedAt: STARTED_AT - 86_400_000,
  };

  /** The objects the pointer names, in memory. */
  function objectsOf(features: Buffer): ObjectReader {
    const objects = new Map<string, Uint8Array>([
      [pointer.modelDataUrl, fixtureModelTarGz()],
      [pointer.featuresUrl, features],
    ]);
    return { read: async (url) => objects.get(url) };
  }

  /** S3 answering 500 InternalError to every request: the client's own standard retries run out. */
  function unavailableS3(requests: string[]): S3Client {
    const handle = async (request: { readonly path: string }) => {
      requests.push(request.path);
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>';
      return { response: { statusCode: 500, headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(body)]) } };
    };
    return new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      retryMode: 'standard',
      requestHandler: { handle } as never,
    });
  }

  /** Each cause, as predict meets it in AWS: the real S3 adapter over the control table's pointer. */
  const causes = {
    'no serving pointer yet': {
      source: async () => new S3ServingModelSource(new InMemoryControlStore(), objectsOf(fixtureFeaturesJson())),
      reason: 'NoServingModel: no model has been promoted yet',
    },
    'features.json and the trees disagree on the column count': {
      source: async () => {
        const shorter = createFeatureList({ names: FEATURE_NAMES.slice(0, -1), groups: [...FIXTURE_GROUPS] });
        return new S3ServingModelSource(await pointing(), objectsOf(Buffer.from(JSON.stringify(shorter))));
      },
      reason: `ModelUnavailable: serving model ${version}: the trees use 12 features but features.json lists 11; they are not from the same training job`,
    },
    "S3 still failing after the SDK's retries": {
      source: async () => new S3ServingModelSource(await pointing(), new S3ObjectReader(unavailableS3([]))),
      reason: `ModelUnavailable: serving model ${version}: S3 GetObject s3://deploy-guard-dev-models/models/${version}/`,
    },
  } as const;

  async function pointing(): Promise<InMemoryControlStore> {
    const control = new InMemoryControlStore();
    await control.swapServingModel(pointer, null);
    return control;
  }

  const cases = (Object.keys(causes) as (keyof typeof causes)[]).flatMap((cause) =>
    (['stop', 'gate'] as const).flatMap((mode) => (['fail-open', 'fail-closed'] as const).map((failurePolicy) => [cause, mode, failurePolicy] as const)),
  );

  it.each(cases)('%s, %s mode, %s: assessed by the policy, recorded with the cause, announced and counted', async (cause, mode, failurePolicy) => {
    const trigger = mode === 'gate' ? 'READY' : 'START';
    const { deps, endpoint, deployments, publisher, metrics } = setup({ mode, failurePolicy, source: await causes[cause].source() });
    const result = await handlePredictEvent(EVENTS[trigger].event, deps);

    const decision = failurePolicy === 'fail-open' ? 'proceed' : 'rollback';
    expect(result).toMatchObject({ status: 'assessed', trigger, decision, probability: null, enforced: true, modelVersion: 'none' });
    expect(endpoint.rows).toEqual([]);
    const stored = (await deployments.get(deploymentId))?.assessment;
    expect(stored).toMatchObject({ trigger, decision, probability: null, featureRow: '', fallback: { policy: failurePolicy, cause: 'model' } });
    expect(stored?.fallback?.reason.startsWith(causes[cause].reason)).toBe(true);
    // Announced as an endpoint failure is: the gate's proceed reaches the rollback handler (ContinueDeployment) before the READY wait ends.
    expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({ trigger, decision, probability: null, fallback: stored?.fallback });
    expect(detailTypes(publisher.published)).toEqual(decision === 'rollback' ? ['Deployment Risk Assessed', 'Deployment Rollback Requested'] : ['Deployment Risk Assessed']);
    if (decision === 'rollback') {
      expect(detailOf(publisher.published, 'Deployment Rollback Requested').reason).toBe(`no probability (${stored?.fallback?.reason}) and the group is fail-closed`);
    }
    expect(metrics.map((metric) => metric.values)).toEqual([
      [
        { name: 'Assessments', unit: 'Count', value: 1 },
        { name: 'Stops', unit: 'Count', value: decision === 'rollback' ? 1 : 0 },
        { name: 'EndpointFallbacks', unit: 'Count', value: 0 },
        { name: 'ModelFallbacks', unit: 'Count', value: 1 },
        { name: 'AssessedWithoutChangeSummary', unit: 'Count', value: 0 },
        { name: 'OperatorOverrides', unit: 'Count', value: 0 },
        { name: 'DecisionCut', unit: 'None', value: RISKY },
      ],
    ]);
  });

  it("S3 failing: the SDK's three attempts per object are spent before the failure policy decides", async () => {
    const requests: string[] = [];
    const source = new S3ServingModelSource(await pointing(), new S3ObjectReader(unavailableS3(requests)));
    const { deps, deployments } = setup({ mode: 'stop', failurePolicy: 'fail-closed', source });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ status: 'assessed', decision: 'rollback' });
    const reason = (await deployments.get(deploymentId))?.assessment?.fallback?.reason ?? '';
    const failed = [pointer.modelDataUrl, pointer.featuresUrl].find((url) => reason.includes(url))!;
    expect(reason).toContain('We encountered an internal error');
    expect(requests.filter((path) => failed.endsWith(path))).toHaveLength(3);
  });

  it('a redelivery republishes the stored fallback, loads nothing and counts nothing again; the next deployment loads the repaired model', async () => {
    let broken = true;
    const objects = objectsOf(fixtureFeaturesJson());
    const reads: string[] = [];
    const flaky: ObjectReader = {
      read: async (url) => {
        reads.push(url);
        if (broken) throw new Error(`S3 GetObject ${url}: Service Unavailable`);
        return objects.read(url);
      },
    };
    const source = new S3ServingModelSource(await pointing(), flaky);
    const { deps, publisher, metrics } = setup({ mode: 'stop', failurePolicy: 'fail-open', source });
    await handlePredictEvent(START.event, deps);
    const firstReads = reads.length;
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ status: 'duplicate', republished: ['Deployment Risk Assessed'] });
    expect(reads).toHaveLength(firstReads);
    expect(metrics).toHaveLength(1);
    expect(publisher.published[1]).toEqual(publisher.published[0]);

    // The failed load was not kept: once S3 answers, the same container scores the next deployment.
    broken = false;
    const later = setup({ mode: 'stop', failurePolicy: 'fail-open', source });
    await expect(handlePredictEvent(START.event, later.deps)).resolves.toMatchObject({ status: 'assessed', probability: PROBABILITY, modelVersion: version });
  });
});

describe('predict: the block budget decides', () => {
  const scope = `${application}/${deploymentGroup}`;
  /** A group whose recent scores put the cut just below (risky) or above (safe) this deployment's probability. */
  async function seededCut(control: InMemoryControlStore, cutAt: number): Promise<void> {
    const scores = Array.from({ length: CUT_SETTINGS.ownScoresNeeded }, (_, index) => (index < 20 ? cutAt : cutAt / 2));
    const state = refresh({ ...initialCutState(0.1, 'deploy-guard-dev-20261120-0900-5f2c1a'), scores, deploymentIds: scores.map((_, index) => `d-old-${index}`) }, [], 0, 'assessments');
    await control.writeCut(scope, state, null);
  }

  it('stops a deployment whose probability reaches the group\'s cut, and announces the cut and the budget', async () => {
    const control = new InMemoryControlStore();
    await seededCut(control, Math.fround(PROBABILITY * 0.9));
    const { deps, publisher, deployments } = setup({ mode: 'stop', budget: true, control });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ status: 'assessed', decision: 'rollback' });
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({ cut: Math.fround(PROBABILITY * 0.9), blockBudget: 0.1, cutSource: 'group' });
    expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({ schemaVersion: '2', cut: Math.fround(PROBABILITY * 0.9), blockBudget: 0.1, cutSource: 'group' });
    expect(detailOf(publisher.published, 'Deployment Rollback Requested').reason).toBe(
      `probability of failure ${Number(PROBABILITY.toFixed(4))} reaches the cut ${Number(Math.fround(PROBABILITY * 0.9).toFixed(4))} (the riskiest 10 % of ${scope})`,
    );
  });

  it('lets a deployment below the cut through, and adds its score to the group\'s and the pooled window once, however often it is delivered', async () => {
    const control = new InMemoryControlStore();
    await seededCut(control, Math.min(0.99, PROBABILITY * 1.5));
    const { deps } = setup({ mode: 'stop', budget: true, control });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ decision: 'proceed' });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ status: 'duplicate' });
    const group = (await control.readCut(scope))!.state;
    expect(group.deploymentIds.filter((id) => id === deploymentId)).toHaveLength(1);
    expect(group).toMatchObject({ decided: 1, stopped: 0 });
    expect((await control.readCut(POOLED_CUT_SCOPE))!.state.deploymentIds).toEqual([deploymentId]);
  });

  it('on the installation\'s cut: decides by the one cut over every group\'s recent scores, and moves it', async () => {
    const control = new InMemoryControlStore();
    const scores = Array.from({ length: 300 }, (_, index) => (index < 30 ? Math.fround(PROBABILITY * 0.9) : PROBABILITY / 2));
    await control.writeCut(POOLED_CUT_SCOPE, refresh({ ...initialCutState(0.1, 'deploy-guard-dev-20261120-0900-5f2c1a'), scores, deploymentIds: scores.map((_, index) => `d-any-${index}`) }, [], 0, 'assessments'), null);
    const { deps, deployments } = setup({ mode: 'stop', budget: true, control, cutScope: 'installation' });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ decision: 'rollback' });
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({ cut: Math.fround(PROBABILITY * 0.9), cutSource: 'pooled', blockBudget: 0.1 });
    const installation = (await control.readCut(POOLED_CUT_SCOPE))!.state;
    expect(installation.deploymentIds.at(-1)).toBe(deploymentId);
    expect(installation).toMatchObject({ decided: 1, stopped: 1 });
    expect(await control.readCut(scope)).toBeUndefined();
  });

  it('with no score anywhere in the installation yet, stops nothing (no cut) and says so', async () => {
    const { deps, publisher } = setup({ mode: 'stop', budget: true });
    await expect(handlePredictEvent(START.event, deps)).resolves.toMatchObject({ decision: 'proceed', published: ['Deployment Risk Assessed'] });
    expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({ cut: null, blockBudget: 0.1, cutSource: 'none' });
  });

  it('a new group borrows the quantile of the pooled scores at its own budget', async () => {
    const control = new InMemoryControlStore();
    const pooledScores = Array.from({ length: 100 }, (_, index) => (index + 1) / 100);
    await control.writeCut(POOLED_CUT_SCOPE, { ...initialCutState(0.1, 'deploy-guard-dev-20261120-0900-5f2c1a'), scores: pooledScores, deploymentIds: pooledScores.map((_, index) => `d-p-${index}`) }, null);
    const { deps, deployments } = setup({ mode: 'shadow', budget: true, control });
    await handlePredictEvent(START.event, deps);
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({ cut: 0.91, cutSource: 'pooled', decision: PROBABILITY >= 0.91 ? 'rollback' : 'proceed' });
  });

  it('after a promotion, re-scores the group\'s window with the serving model before deciding', async () => {
    const control = new InMemoryControlStore();
    const { deps, deployments } = setup({ mode: 'shadow', budget: true, control });
    // The window holds one earlier deployment, scored 0.9 by a model that no longer serves.
    const earlier = { ...(await storedAssessmentOf(deps)), deploymentId: 'd-earlier' };
    await deployments.putAssessment(earlier);
    await control.writeCut(scope, refresh({ ...initialCutState(0.1, 'an-older-model'), scores: [0.9], deploymentIds: ['d-earlier'] }, [], 0, 'assessments'), null);
    await handlePredictEvent(START.event, deps);
    const state = (await control.readCut(scope))!.state;
    expect(state.modelVersion).toBe('deploy-guard-dev-20261120-0900-5f2c1a');
    expect(state.history.map((change) => change.reason)).toContain('promotion');
    // The earlier deployment's row re-scored by the serving model: the same row as this one's, so the same probability.
    expect(state.scores[0]).toBe(Math.fround(PROBABILITY));
  });
});

/** An assessment as predict stores it for the sample deployment (a fixed-threshold run in a scratch store). */
async function storedAssessmentOf(base: PredictDependencies): Promise<AssessmentRecord> {
  const scratch = setup({ mode: 'shadow' });
  await handlePredictEvent(START.event, { ...scratch.deps, servingModel: base.servingModel });
  return (await scratch.deployments.get(deploymentId))!.assessment!;
}

describe("predict: an operator's override or pause lets a would-be stop through", () => {
  const HOUR = 3_600_000;
  const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
  const grant = { by: OPERATOR, reason: 'INC-42: the hotfix must ship', at: ASSESSED_AT - HOUR, until: ASSESSED_AT + HOUR };

  it('an override of the release (its revision key): assessed and announced as overridden, not enforced, no rollback requested', async () => {
    const operatorControls = new InMemoryOperatorControlStore();
    await operatorControls.putOverride({ application, revision: `git:${COMMIT}`, deploymentId: 'd-EARLIER01', ...grant });
    const { deps, deployments, publisher, metrics } = setup({ mode: 'stop', operatorControls });
    const result = await handlePredictEvent(START.event, deps);

    expect(result).toMatchObject({ status: 'assessed', decision: 'rollback', enforced: false, published: ['Deployment Risk Assessed'] });
    // Counted per group, for the dashboard's overrides line.
    expect(metrics.flatMap((metric) => metric.values).filter((value) => value.name === 'OperatorOverrides').map((value) => value.value)).toEqual([1]);
    expect(result).toMatchObject({ override: `overridden by ${OPERATOR} until ${new Date(grant.until).toISOString()}: ${grant.reason}` });
    expect((await deployments.get(deploymentId))?.assessment).toMatchObject({ decision: 'rollback', enforced: false, propensity: 1, override: { kind: 'override', ...grant } });
    expect(detailOf(publisher.published, 'Deployment Risk Assessed')).toMatchObject({
      enforced: false,
      override: { kind: 'override', by: OPERATOR, reason: grant.reason, at: '2016-06-30T21:06:33Z', until: '2016-06-30T23:06:33Z' },
    });
  });

  it("a pause of the group: the same, as a pause; another group's pause or an override of another revision changes nothing", async () => {
    const operatorControls = new InMemoryOperatorControlStore();
    await operatorControls.putPause({ application, deploymentGroup, ...grant });
    const paused = setup({ mode: 'stop', operatorControls });
    expect(await handlePredictEvent(START.event, paused.deps)).toMatchObject({ decision: 'rollback', enforced: false, published: ['Deployment Risk Assessed'] });
    expect((await paused.deployments.get(deploymentId))?.assessment?.override).toEqual({ kind: 'pause', ...grant });

    const elsewhere = new InMemoryOperatorControlStore();
    await elsewhere.putPause({ application: 'other-app', deploymentGroup: 'other-group', ...grant });
    await elsewhere.putOverride({ application, revision: 'git:0000000000000000000000000000000000000000', ...grant });
    const other = setup({ mode: 'stop', operatorControls: elsewhere });
    expect(await handlePredictEvent(START.event, other.deps)).toMatchObject({ enforced: true, published: ['Deployment Risk Assessed', 'Deployment Rollback Requested'] });
    expect((await other.deployments.get(deploymentId))?.assessment?.override).toBeUndefined();
  });

  it.each([
    ['ended', { at: ASSESSED_AT - 2 * HOUR, until: ASSESSED_AT }],
    ['not yet begun', { at: ASSESSED_AT + 1, until: ASSESSED_AT + HOUR }],
  ])('an override or pause that has %s at the assessment: stopped as usual', async (_, times) => {
    const operatorControls = new InMemoryOperatorControlStore();
    await operatorControls.putPause({ application, deploymentGroup, ...grant, ...times });
    await operatorControls.putOverride({ application, revision: `git:${COMMIT}`, ...grant, ...times });
    const { deps } = setup({ mode: 'stop', operatorControls });
    expect(await handlePredictEvent(START.event, deps)).toMatchObject({ decision: 'rollback', enforced: true, published: ['Deployment Risk Assessed', 'Deployment Rollback Requested'] });
  });

  it('a deployment that would proceed is not marked, and the operators\' items are not even read', async () => {
    const reads: string[] = [];
    const operatorControls = new InMemoryOperatorControlStore();
    const counting = {
      ...operatorControls,
      readOverride: async (...args: Parameters<InMemoryOperatorControlStore['readOverride']>) => (reads.push('override'), operatorControls.readOverride(...args)),
      readPause: async (...args: Parameters<InMemoryOperatorControlStore['readPause']>) => (reads.push('pause'), operatorControls.readPause(...args)),
    } as unknown as InMemoryOperatorControlStore;
    await operatorControls.putPause({ application, deploymentGroup, ...grant });
    const { deps, deployments } = setup({ mode: 'stop', threshold: 0.999, operatorControls: counting });
    expect(await handlePredictEvent(START.event, deps)).toMatchObject({ decision: 'proceed', enforced: true });
    expect((await deployments.get(deploymentId))?.assessment?.override).toBeUndefined();
    expect(reads).toEqual([]);
  });
});
