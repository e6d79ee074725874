import {
  AWS_EVENT_SCHEMAS,
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  CODEDEPLOY_LIFECYCLE_HOOK_INVOCATION,
  CODEPIPELINE_ACTION_EXECUTION,
  CODEPIPELINE_JOB,
  CLOUDWATCH_ALARM_STATE_CHANGE,
  SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE,
  SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
  SCHEDULED_EVENT,
  codeDeployLifecycleHookInvocation,
} from '../../events/aws';
import { ManualClock } from '../../events/clock';
import { modelPackageGroupName } from '../../events/patterns';
import { buildEntry, COMPUTE_PLATFORMS, EMITTED_EVENTS, emittedEventSchema, type EmittedEventKind } from '../../events/emitted';
import {
  AWS_SAMPLES,
  derivedDeploymentEvent,
  derivedOwnAlarmEvent,
  derivedOwnModelPackageEvent,
  derivedOwnScheduledEvent,
  derivedOwnTrainingJobEvent,
  readSampleText,
  repairedModelPackageSample,
  sample,
  type Sample,
} from '../../events/samples';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import {
  InMemoryBakeStore,
  InMemoryChangeSummaryStore,
  InMemoryControlStore,
  InMemoryDeploymentStore,
  InMemoryGateStore,
  InMemoryHoldStore,
  InMemoryOperatorControlStore,
  InMemoryShadowDigestStore,
} from '../../handlers/adapters/in-memory-stores';
import { servingModel } from '../../handlers/adapters/serving-model';
import type { GroupPolicy } from '../../handlers/config';
import { compose, type HandlerDefinition, type PortsOf } from '../../handlers/declaration';
import { DRIFT } from '../../handlers/drift';
import { SHADOW_DIGEST } from '../../handlers/shadow-digest';
import { storedAssessment } from '../handlers/assessment-fixture';
import { RecordingNotifications } from '../support/notifications';
import { trainingJobName } from '../../handlers/drift-domain';
import type { AssessmentRecord, DeploymentStatus, ServingModelPointer } from '../../handlers/ports';
import { PIPELINE_GATE } from '../../handlers/pipeline-gate';
import { jobIdOf } from '../../handlers/pipeline-gate-domain';
import { PREDICT } from '../../handlers/predict';
import { PROMOTE } from '../../handlers/promote';
import { RECORD_CHANGE } from '../../handlers/record-change';
import { RECORD_OUTCOME } from '../../handlers/record-outcome';
import { ROLLBACK } from '../../handlers/rollback';
import { TRAFFIC_HOOK } from '../../handlers/traffic-hook';
import { BLIND_MODEL, describedAsRecorded, GOOD_MODEL, MemoryRows, modelArchive, recordedJob, rowsOfDay } from '../support/promote-fixture';
import { fixtureFeatureList, fixtureTrees } from '../handlers/serving-fixture';
import type { Base } from './mutate';
import {
  FakeCodeDeploy,
  FakeEndpoint,
  FakeHosting,
  FakeObjects,
  FakeTraining,
  instrument,
  instrumentFunction,
  RecordingLake,
  RecordingMetrics,
  RecordingPublisher,
  type CallLog,
} from './ports';
import type { Prng } from './prng';

/**
 * The handlers under fuzz: for each, the real events its mutants are made from, the schema that says
 * whether a mutant is still valid, and a run with fresh instrumented dependencies (in-memory stores
 * and fakes behind a logging Proxy). The fakes' answers (deployment status, platform, a stored
 * assessment or outcome, ...) are drawn from the case's own random stream, so valid mutants reach
 * every branch of a handler, and a case replays identically from its seed.
 */

export interface FuzzTarget {
  readonly name: string;
  readonly bases: readonly Base[];
  /** The event kinds its input is validated as (EventValidationError.eventKind of a rejection). */
  readonly inputKinds: readonly string[];
  /** Whether the handler's input schema(s) accept the value: what a resolved run must satisfy. */
  isValid(value: unknown): boolean;
  /** Calls the handler with fresh dependencies whose every port call goes to `log`. */
  run(value: unknown, log: CallLog, rng: Prng): Promise<unknown>;
  /**
   * Errors the handler documents for a VALID event whose content cannot be acted on (thrown after
   * validation, with a message naming the input); anything else thrown is a failure.
   */
  readonly documentedErrors: readonly RegExp[];
}

const SOURCE = 'deploy-guard';
const EVENT_BUS = 'deploy-guard-dev';
const NAME_PREFIX = 'deploy-guard-dev';
const NOW = Date.parse('2026-11-20T09:21:00Z');
const APPLICATION = 'myApplication';
const DEPLOYMENT_GROUP = 'myDeploymentGroup';
const COMMIT = '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a';
const HOOK_EXECUTION_ID = 'a7d3b3b0-2a5d-4d7e-9c52-3f0e6f1c2a9e';
const MODEL = servingModel('deploy-guard-dev-20261001-1200-0a9b8c', fixtureFeatureList(), fixtureTrees());

// ---------------------------------------------------------------------------------------------
// Base events

function fromSample(value: Sample): Base {
  const label = value.derived ? `${value.file} (derived: ${value.derived})` : value.file;
  return { label, event: value.event, text: value.derived ? JSON.stringify(value.event, null, 2) : readSampleText(value.file) };
}

/** A Deploy Guard event as EventBridge delivers it: the buildEntry fields in the envelope. */
function delivered(kind: EmittedEventKind, detail: unknown, label: string): Base {
  const entry = buildEntry(kind, detail as never, { source: SOURCE, eventBusName: EVENT_BUS, time: new Date('2026-11-20T09:20:05Z') });
  const event = {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: '2026-11-20T09:20:05Z',
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail) as unknown,
  };
  return { label, event, text: JSON.stringify(event, null, 2) };
}

const example = <Kind extends EmittedEventKind>(kind: Kind) => EMITTED_EVENTS[kind].example as Record<string, unknown>;

/** Every real event (and every emitted example), for cross-kind mutations. */
export const ALL_BASES: readonly Base[] = [
  ...AWS_SAMPLES.map(fromSample),
  ...(Object.keys(EMITTED_EVENTS) as EmittedEventKind[]).map((kind) => delivered(kind, example(kind), `${kind} example (events/emitted.ts)`)),
];

const detailTypeOf = (value: unknown): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)['detail-type'] : undefined;

const accepts = (schema: { safeParse(value: unknown): { success: boolean } }) => (value: unknown) => schema.safeParse(value).success;

const deploymentIdOf = (value: unknown): string | undefined => {
  const detail = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).detail : undefined;
  const id = detail !== null && typeof detail === 'object' ? (detail as Record<string, unknown>).deploymentId : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
};

function assessmentOf(deploymentId: string, rng: Prng): AssessmentRecord {
  const risky = rng.chance(0.5);
  const mode = rng.pick(['shadow', 'stop', 'gate'] as const);
  return {
    deploymentId,
    application: APPLICATION,
    deploymentGroup: DEPLOYMENT_GROUP,
    platform: rng.pick(COMPUTE_PLATFORMS),
    mode,
    trigger: 'START',
    probability: risky ? 0.8125 : 0.1,
    cut: 0.35,
    blockBudget: 0.1,
    cutSource: 'group',
    decision: risky ? 'rollback' : 'proceed',
    explored: false,
    propensity: 1,
    // As predict stores them: a shadow-mode assessment is never enforced.
    enforced: mode !== 'shadow' && rng.chance(0.7),
    modelVersion: MODEL.version,
    featureRow: '3,1,390,60,7,12,0,22,0.5,0.4,0.2,1',
    startedAt: Date.parse('2016-06-30T22:06:31Z'),
    assessedAt: Date.parse('2016-06-30T22:06:33Z'),
  };
}

/** A handler run as its Lambda entry composes it (handlers/declaration.ts), over instrumented fakes of its declared ports. */
function runDeclared<Dependencies extends { readonly config: unknown }, Result>(
  definition: HandlerDefinition<Dependencies, Result>,
  value: unknown,
  ports: Required<PortsOf<Dependencies>>,
  config: Dependencies['config'],
): Promise<Result> {
  return definition.handle(value, compose(definition.declaration, ports, config));
}

/** A guarded group's policy drawn at random: every platform, mode, cut scope and failure policy, a block budget's cut or an expert's fixed threshold. */
function fuzzedPolicy(rng: Prng): GroupPolicy {
  return {
    application: APPLICATION,
    deploymentGroup: DEPLOYMENT_GROUP,
    platform: rng.pick(COMPUTE_PLATFORMS),
    mode: rng.pick(['shadow', 'stop', 'gate'] as const),
    blockBudget: 0.1,
    exploration: rng.pick([0, 0.05, 0.5]),
    cutScope: rng.pick(['installation', 'group'] as const),
    ...(rng.chance(0.5) ? { threshold: 0.35 } : {}),
    failurePolicy: rng.pick(['fail-open', 'fail-closed'] as const),
  };
}

function codeDeployFake(rng: Prng, statuses: readonly DeploymentStatus[]): FakeCodeDeploy {
  return new FakeCodeDeploy({ status: rng.pick(statuses), platform: rng.pick(COMPUTE_PLATFORMS), found: rng.chance(0.9) });
}

// ---------------------------------------------------------------------------------------------
// predict

const deploymentSchema = AWS_EVENT_SCHEMAS[CODEDEPLOY_DEPLOYMENT_STATE_CHANGE];
const pipelineActionSchema = AWS_EVENT_SCHEMAS[CODEPIPELINE_ACTION_EXECUTION];

const predict: FuzzTarget = {
  name: 'predict',
  inputKinds: [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, CODEPIPELINE_ACTION_EXECUTION],
  bases: [
    fromSample(derivedDeploymentEvent('START')),
    fromSample(derivedDeploymentEvent('READY')),
    fromSample(sample('codedeploy-deployment-state-change.success.json')),
    fromSample(sample('codedeploy-deployment-state-change.failure.json')),
    ...AWS_SAMPLES.filter((candidate) => candidate.kind === CODEPIPELINE_ACTION_EXECUTION).map(fromSample),
  ],
  isValid: (value) => (detailTypeOf(value) === CODEPIPELINE_ACTION_EXECUTION ? accepts(pipelineActionSchema)(value) : accepts(deploymentSchema)(value)),
  async run(value, log, rng) {
    const deployments = new InMemoryDeploymentStore();
    const changes = new InMemoryChangeSummaryStore();
    await changes.put({
      summary: { ...EMITTED_EVENTS['Deployment Change Summary'].example, application: APPLICATION, revision: { commitId: COMMIT } },
      receivedAt: NOW - 60_000,
      sender: { eventId: 'ci-summary-1', account: '123456789012', source: SOURCE, resources: [] },
    });
    // Stored state the event may meet: past outcomes of the group, this deployment's outcome (then
    // the assessment completes a training row) or its assessment (then it is a redelivery).
    if (rng.chance(0.5)) {
      for (let past = 1; past <= 3; past += 1) {
        await deployments.putOutcome(
          { deploymentId: `d-PAST${past}`, application: APPLICATION, deploymentGroup: DEPLOYMENT_GROUP, state: 'FAILURE', label: 'failed', finishedAt: NOW - past * 3_600_000 },
          { time: Date.parse('2016-06-30T20:00:00Z') - past * 3_600_000, failed: past % 2 === 0 },
        );
      }
    }
    const deploymentId = deploymentIdOf(value);
    if (deploymentId && rng.chance(0.25)) {
      await deployments.putOutcome(
        { deploymentId, application: APPLICATION, deploymentGroup: DEPLOYMENT_GROUP, state: 'SUCCESS', label: 'succeeded', finishedAt: NOW },
        { failed: false },
      );
    }
    if (deploymentId && rng.chance(0.1)) await deployments.putAssessment(assessmentOf(deploymentId, rng));
    const policy = fuzzedPolicy(rng);
    return runDeclared(PREDICT, value, {
      control: instrument('control', new InMemoryControlStore(), log),
      operatorControls: instrument('operatorControls', new InMemoryOperatorControlStore(), log),
      holds: instrument('holds', new InMemoryHoldStore(), log),
      gates: instrument('gates', new InMemoryGateStore(), log),
      codeDeploy: instrument('codeDeploy', codeDeployFake(rng, ['InProgress', 'Ready', 'Succeeded']), log),
      deployments: instrument('deployments', deployments, log),
      changes: instrument('changes', changes, log),
      servingModel: instrument('servingModel', { serving: async () => (rng.chance(0.9) ? MODEL : undefined) }, log),
      endpoint: instrument(
        'endpoint',
        new FakeEndpoint(rng.chance(0.85) ? { ok: true, probabilities: [rng.pick([0.05, 0.35, 0.95])] } : { ok: false, failure: 'Timeout', message: 'no answer in 2000 ms' }),
        log,
      ),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      metrics: instrument('metrics', new RecordingMetrics(), log),
      lake: instrument('lake', new RecordingLake(), log),
      clock: new ManualClock(NOW),
    }, { source: SOURCE, eventBusName: EVENT_BUS, metricsNamespace: 'DeployGuard', groups: [policy] });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// pipeline-gate

/** CodePipeline's job results, recorded; one result per job, as CodePipeline takes it. */
class FakeCodePipeline {
  private readonly answered = new Set<string>();
  async putJobSuccessResult(jobId: string): Promise<{ ok: true } | { ok: false; refusal: 'InvalidJobState'; message: string }> {
    return this.take(jobId);
  }
  async putJobFailureResult(jobId: string): Promise<{ ok: true } | { ok: false; refusal: 'InvalidJobState'; message: string }> {
    return this.take(jobId);
  }
  private take(jobId: string) {
    if (this.answered.has(jobId)) return { ok: false as const, refusal: 'InvalidJobState' as const, message: 'answered' };
    this.answered.add(jobId);
    return { ok: true as const };
  }
}

/** The AWS docs' example job with UserParameters that name the fuzzed group: what a configured gate action sends. */
function configuredJob(): Base {
  const event = structuredClone(sample('codepipeline-lambda-invoke-job.json').event) as { 'CodePipeline.job': { data: { actionConfiguration: { configuration: Record<string, string> }; inputArtifacts: { revision: string | null }[] } } };
  const data = event['CodePipeline.job'].data;
  data.actionConfiguration.configuration.UserParameters = JSON.stringify({ application: APPLICATION, deploymentGroup: DEPLOYMENT_GROUP, pipelineExecutionId: 'exec-1' });
  data.inputArtifacts[0].revision = COMMIT;
  return { label: 'codepipeline-lambda-invoke-job.json (derived: UserParameters naming the group, the source revision a commit)', event, text: JSON.stringify(event, null, 2) };
}

/**
 * The gate answers every job that has an id, whatever else is wrong with it (CodePipeline is told the
 * input and the problem); only an event without a job id is rejected (EventValidationError).
 */
const pipelineGate: FuzzTarget = {
  name: 'pipeline-gate',
  inputKinds: [CODEPIPELINE_JOB],
  bases: [fromSample(sample('codepipeline-lambda-invoke-job.json')), configuredJob()],
  isValid(value) {
    try {
      jobIdOf(value);
      return true;
    } catch {
      return false;
    }
  },
  async run(value, log, rng) {
    const policy = fuzzedPolicy(rng);
    const holding: GroupPolicy = rng.chance(0.3) ? { ...policy, mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 30 } : policy;
    return runDeclared(PIPELINE_GATE, value, {
      codePipeline: instrument('codePipeline', new FakeCodePipeline(), log),
      deployments: instrument('deployments', new InMemoryDeploymentStore(), log),
      changes: instrument('changes', new InMemoryChangeSummaryStore(), log),
      servingModel: instrument('servingModel', { serving: async () => (rng.chance(0.9) ? MODEL : undefined) }, log),
      control: instrument('control', new InMemoryControlStore(), log),
      operatorControls: instrument('operatorControls', new InMemoryOperatorControlStore(), log),
      holds: instrument('holds', new InMemoryHoldStore(), log),
      gates: instrument('gates', new InMemoryGateStore(), log),
      endpoint: instrument('endpoint', new FakeEndpoint(rng.chance(0.85) ? { ok: true, probabilities: [rng.pick([0.05, 0.35, 0.95])] } : { ok: false, failure: 'Timeout', message: 'no answer in 2000 ms' }), log),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      metrics: instrument('metrics', new RecordingMetrics(), log),
      clock: new ManualClock(NOW),
    }, { source: SOURCE, eventBusName: EVENT_BUS, metricsNamespace: 'DeployGuard', groups: [holding], environment: 'dev' });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// traffic-hook

const trafficHook: FuzzTarget = {
  name: 'traffic-hook',
  inputKinds: [CODEDEPLOY_LIFECYCLE_HOOK_INVOCATION],
  bases: [
    {
      label: 'BeforeAllowTraffic hook invocation (derived: the deployment id of the CodeDeploy sample, CodeDeploy\'s documented payload keys)',
      event: { DeploymentId: 'd-123456789', LifecycleEventHookExecutionId: HOOK_EXECUTION_ID },
      text: JSON.stringify({ DeploymentId: 'd-123456789', LifecycleEventHookExecutionId: HOOK_EXECUTION_ID }),
    },
  ],
  isValid: accepts(codeDeployLifecycleHookInvocation),
  async run(value, log, rng) {
    const deployments = new InMemoryDeploymentStore();
    const id = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).DeploymentId : undefined;
    if (typeof id === 'string' && rng.chance(0.5)) await deployments.putAssessment(assessmentOf(id, rng));
    const policy: GroupPolicy = {
      application: APPLICATION,
      deploymentGroup: DEPLOYMENT_GROUP,
      platform: 'ECS',
      mode: rng.pick(['shadow', 'stop', 'gate'] as const),
      blockBudget: 0.1,
      exploration: 0.05,
      cutScope: 'installation',
      failurePolicy: rng.pick(['fail-open', 'fail-closed'] as const),
    };
    return runDeclared(TRAFFIC_HOOK, value, {
      codeDeploy: instrument('codeDeploy', codeDeployFake(rng, ['InProgress', 'Ready']), log),
      deployments: instrument('deployments', deployments, log),
      operatorControls: instrument('operatorControls', new InMemoryOperatorControlStore(), log),
      bakes: instrument('bakes', new InMemoryBakeStore(), log),
      holds: instrument('holds', new InMemoryHoldStore(), log),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      clock: new ManualClock(NOW),
      sleep: instrumentFunction('sleep', async () => undefined, log),
    }, { source: SOURCE, eventBusName: EVENT_BUS, groups: [policy], waitMs: 2, pollMs: 1 });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// rollback

const rollbackRequestedSchema = emittedEventSchema('Deployment Rollback Requested', SOURCE);
const riskAssessedSchema = emittedEventSchema('Deployment Risk Assessed', SOURCE);

const rollback: FuzzTarget = {
  name: 'rollback',
  // The hold-timeouts schedule's Scheduled Event too (handlers/holds.ts).
  inputKinds: ['Deployment Rollback Requested', 'Deployment Risk Assessed', SCHEDULED_EVENT],
  bases: [
    fromSample(sample('eventbridge-scheduled-event.json')),
    delivered('Deployment Rollback Requested', example('Deployment Rollback Requested'), 'Deployment Rollback Requested example'),
    delivered(
      'Deployment Rollback Requested',
      { ...example('Deployment Rollback Requested'), platform: 'ECS', lifecycleEventHookExecutionId: HOOK_EXECUTION_ID },
      'Deployment Rollback Requested example (derived: ECS with a hook execution id)',
    ),
    delivered('Deployment Risk Assessed', example('Deployment Risk Assessed'), 'Deployment Risk Assessed example'),
    delivered(
      'Deployment Risk Assessed',
      { ...example('Deployment Risk Assessed'), decision: 'proceed', probability: 0.1 },
      'Deployment Risk Assessed example (derived: a gate decision to proceed)',
    ),
  ],
  isValid: (value) =>
    detailTypeOf(value) === SCHEDULED_EVENT
      ? accepts(AWS_EVENT_SCHEMAS[SCHEDULED_EVENT])(value)
      : detailTypeOf(value) === 'Deployment Risk Assessed'
        ? accepts(riskAssessedSchema)(value)
        : accepts(rollbackRequestedSchema)(value),
  async run(value, log, rng) {
    const ledger = new InMemoryRollbackLedger();
    const deployments = new InMemoryDeploymentStore();
    const deploymentId = deploymentIdOf(value);
    if (deploymentId && rng.chance(0.6)) await deployments.putAssessment(assessmentOf(deploymentId, rng));
    if (deploymentId && rng.chance(0.15)) {
      const claim = { deploymentId, action: 'StopDeployment' as const, token: 'earlier-event/StopDeployment', at: NOW - 60_000 };
      await ledger.claim(claim);
      if (rng.chance(0.5)) await ledger.record(deploymentId, claim.token, { kind: 'completed', action: 'StopDeployment', at: NOW - 59_000 });
    }
    const policy: GroupPolicy = {
      application: APPLICATION,
      deploymentGroup: DEPLOYMENT_GROUP,
      platform: rng.pick(COMPUTE_PLATFORMS),
      mode: rng.pick(['shadow', 'stop', 'gate'] as const),
      blockBudget: 0.1,
      exploration: 0.05,
      cutScope: 'installation',
      failurePolicy: 'fail-open',
    };
    return runDeclared(ROLLBACK, value, {
      codeDeploy: instrument('codeDeploy', codeDeployFake(rng, ['InProgress', 'Ready', 'Succeeded', 'Stopped']), log),
      ledger: instrument('ledger', ledger, log),
      holds: instrument('holds', new InMemoryHoldStore(), log),
      deployments: instrument('deployments', deployments, log),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      metrics: instrument('metrics', new RecordingMetrics(), log),
      clock: new ManualClock(NOW),
      sleep: instrumentFunction('sleep', async () => undefined, log),
    }, { source: SOURCE, eventBusName: EVENT_BUS, accountId: rng.pick(['123456789012', '210987654321']), groups: [policy], metricsNamespace: 'DeployGuard' });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// record-change

const changeSummarySchema = emittedEventSchema('Deployment Change Summary', SOURCE);

const recordChange: FuzzTarget = {
  name: 'record-change',
  inputKinds: ['Deployment Change Summary'],
  bases: [
    delivered('Deployment Change Summary', example('Deployment Change Summary'), 'Deployment Change Summary example'),
    delivered(
      'Deployment Change Summary',
      { schemaVersion: '1', application: 'checkout', revision: { s3: { bucket: 'releases', key: 'checkout.zip', eTag: 'abc' } }, builtAt: '2026-11-20T09:14:00+01:00', change: {} },
      'Deployment Change Summary example (derived: S3 revision, no optional fields)',
    ),
  ],
  isValid: accepts(changeSummarySchema),
  async run(value, log) {
    return runDeclared(RECORD_CHANGE, value, {
      changes: instrument('changes', new InMemoryChangeSummaryStore(), log),
      clock: new ManualClock(NOW),
      metrics: instrument('metrics', new RecordingMetrics(), log),
    }, { source: SOURCE, metricsNamespace: 'DeployGuard' });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// record-outcome

const recordOutcome: FuzzTarget = {
  name: 'record-outcome',
  inputKinds: [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
  bases: [
    fromSample(sample('codedeploy-deployment-state-change.success.json')),
    fromSample(sample('codedeploy-deployment-state-change.failure.json')),
    fromSample(derivedDeploymentEvent('STOP')),
    fromSample(derivedDeploymentEvent('START')),
  ],
  isValid: accepts(deploymentSchema),
  async run(value, log, rng) {
    const store = new InMemoryDeploymentStore();
    const ledger = new InMemoryRollbackLedger();
    const deploymentId = deploymentIdOf(value);
    if (deploymentId && rng.chance(0.4)) await store.putAssessment(assessmentOf(deploymentId, rng));
    if (deploymentId && rng.chance(0.3)) {
      const action = rng.pick(['StopDeployment', 'LifecycleHookFailed'] as const);
      await ledger.claim({ deploymentId, action, token: `earlier-event/${action}`, at: NOW - 60_000 });
      await ledger.record(deploymentId, `earlier-event/${action}`, { kind: 'completed', action, at: NOW - 59_000 });
    }
    return runDeclared(RECORD_OUTCOME, value, {
      deployments: instrument('deployments', store, log),
      ledger: instrument('ledger', ledger, log),
      bakes: instrument('bakes', new InMemoryBakeStore(), log),
      holds: instrument('holds', new InMemoryHoldStore(), log),
      lake: instrument('lake', new RecordingLake(), log),
      metrics: instrument('metrics', new RecordingMetrics(), log),
    }, { metricsNamespace: 'DeployGuard', includeCounterfactual: rng.chance(0.5) });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// drift

const OWN_ALARM = `${NAME_PREFIX}-model-quality`;
const OWN_SCHEDULE = derivedOwnScheduledEvent(NAME_PREFIX);
const alarmSchema = AWS_EVENT_SCHEMAS[CLOUDWATCH_ALARM_STATE_CHANGE];
const scheduledSchema = AWS_EVENT_SCHEMAS[SCHEDULED_EVENT];

const drift: FuzzTarget = {
  name: 'drift',
  inputKinds: [CLOUDWATCH_ALARM_STATE_CHANGE, SCHEDULED_EVENT],
  bases: [
    fromSample(derivedOwnAlarmEvent(OWN_ALARM)),
    fromSample(derivedOwnAlarmEvent(OWN_ALARM, 'OK')),
    ...AWS_SAMPLES.filter((candidate) => candidate.kind === CLOUDWATCH_ALARM_STATE_CHANGE).map(fromSample),
    fromSample(OWN_SCHEDULE),
    fromSample(sample('eventbridge-scheduled-event.json')),
  ],
  isValid: (value) => (detailTypeOf(value) === SCHEDULED_EVENT ? accepts(scheduledSchema)(value) : accepts(alarmSchema)(value)),
  async run(value, log, rng) {
    const control = new InMemoryControlStore();
    if (rng.chance(0.3)) {
      await control.recordRetraining(
        { trainingJobName: trainingJobName(NAME_PREFIX, OWN_ALARM, '2019-10-01T00:00:00Z'), alarmName: OWN_ALARM, startedAt: rng.pick([NOW, Date.parse('2019-10-01T00:00:00Z')]) },
        null,
      );
    }
    if (rng.chance(0.5)) await control.swapServingModel(servingPointer(), null);
    const running = rng.chance(0.2) ? [`${NAME_PREFIX}-20191001-0000-abcdef`] : [];
    return runDeclared(DRIFT, value, {
      training: instrument('training', new FakeTraining(running, artifactsOf), log),
      rows: instrument('rows', { countRows: async (_from: string, _to: string, enough: number) => rng.pick([0, enough]) }, log),
      control: instrument('control', control, log),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      clock: new ManualClock(NOW),
    }, {
      source: SOURCE,
      eventBusName: EVENT_BUS,
      namePrefix: NAME_PREFIX,
      dataBucket: `${NAME_PREFIX}-data`,
      modelBucket: `${NAME_PREFIX}-models`,
      settings: {
        instanceType: 'ml.m5.large',
        instanceCount: 1,
        dataWindowDays: 90,
        minimumRows: 200,
        cooldownHours: 24,
        maxRuntimeSeconds: 3600,
        imageUri: IMAGE,
        roleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-training',
        sourceDirS3Uri: `s3://${NAME_PREFIX}-models/code/sourcedir.tar.gz`,
        alarmNames: [OWN_ALARM, `${NAME_PREFIX}-feature-drift`],
        // The retraining schedule, or none (retraining.scheduleDays 0).
        ...(rng.chance(0.8) ? { schedule: { ruleArn: OWN_SCHEDULE.ruleArn, days: 180 } } : {}),
      },
    });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// promote

const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const artifactsOf = (jobName: string) => `s3://${NAME_PREFIX}-models/training/output/${jobName}/output/model.tar.gz`;
const OWN_JOB = `${NAME_PREFIX}-20261120-0900-5f2c1a`;
const trainingJobSchema = AWS_EVENT_SCHEMAS[SAGEMAKER_TRAINING_JOB_STATE_CHANGE];
const modelPackageSchema = AWS_EVENT_SCHEMAS[SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE];

function servingPointer(): ServingModelPointer {
  return {
    modelVersion: MODEL.version,
    modelDataUrl: artifactsOf(MODEL.version),
    featuresUrl: `s3://${NAME_PREFIX}-models/features.json`,
    trainingJobName: MODEL.version,
    promotedAt: Date.parse('2026-10-01T12:30:00Z'),
  };
}

const OWN_JOB_RECORD = recordedJob(OWN_JOB, { outputS3Uri: `s3://${NAME_PREFIX}-models/training/output/` });
const ROWS = new MemoryRows().addDay('2026-11-01', rowsOfDay(8)).addDay('2026-11-19', rowsOfDay(8)).addDay('2026-11-20', rowsOfDay(8));
const CANDIDATES = [modelArchive(GOOD_MODEL), modelArchive(BLIND_MODEL)];

const completedWithArtifacts = derivedOwnTrainingJobEvent('Completed', OWN_JOB);
(completedWithArtifacts.event.detail as Record<string, unknown>).ModelArtifacts = { S3ModelArtifacts: artifactsOf(OWN_JOB) };

const promote: FuzzTarget = {
  name: 'promote',
  inputKinds: [SAGEMAKER_TRAINING_JOB_STATE_CHANGE, SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE],
  bases: [
    fromSample(derivedOwnModelPackageEvent('Approved', NAME_PREFIX)),
    fromSample(repairedModelPackageSample()),
    fromSample(derivedOwnTrainingJobEvent('Completed', OWN_JOB)),
    fromSample(derivedOwnTrainingJobEvent('Failed', OWN_JOB)),
    fromSample(derivedOwnTrainingJobEvent('Stopped', OWN_JOB)),
    fromSample(derivedOwnTrainingJobEvent('InProgress', OWN_JOB)),
    fromSample({ ...completedWithArtifacts, derived: `${completedWithArtifacts.derived}, detail.ModelArtifacts → where SageMaker writes them` }),
    fromSample(sample('sagemaker-training-job-state-change.json')),
  ],
  isValid: (value) => (detailTypeOf(value) === SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE ? accepts(modelPackageSchema)(value) : accepts(trainingJobSchema)(value)),
  async run(value, log, rng) {
    const control = new InMemoryControlStore();
    if (rng.chance(0.5)) await control.swapServingModel(servingPointer(), null);
    if (rng.chance(0.8)) await control.recordTrainingJob(OWN_JOB_RECORD);
    const candidate = rng.pick(CANDIDATES);
    const serving = modelArchive(BLIND_MODEL);
    return runDeclared(PROMOTE, value, {
      training: instrument('training', new FakeTraining([], artifactsOf, (name) => ({ ...describedAsRecorded(OWN_JOB_RECORD), trainingJobName: name })), log),
      hosting: instrument('hosting', new FakeHosting(), log),
      objects: instrument('objects', new FakeObjects((url) => (url === artifactsOf(OWN_JOB) ? candidate : url === artifactsOf(MODEL.version) ? serving : undefined)), log),
      rows: instrument('rows', ROWS, log),
      control: instrument('control', control, log),
      publisher: instrument('publisher', new RecordingPublisher(), log),
      metrics: instrument('metrics', new RecordingMetrics(), log),
      clock: new ManualClock(NOW),
    }, {
      source: SOURCE,
      eventBusName: EVENT_BUS,
      namePrefix: NAME_PREFIX,
      endpointName: NAME_PREFIX,
      imageUri: IMAGE,
      modelBucket: `${NAME_PREFIX}-models`,
      initialFeaturesUrl: `s3://${NAME_PREFIX}-models/models/initial/features.json`,
      metricsNamespace: 'DeployGuard',
      settings: {
        minimumAuc: 0.6,
        approval: rng.pick(['Approved', 'PendingManualApproval'] as const),
        modelPackageGroupName: modelPackageGroupName(NAME_PREFIX),
        executionRoleArn: 'arn:aws:iam::123456789012:role/deploy-guard-dev-model',
        rollbackAlarmNames: [],
        hosting: { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 },
      },
    });
  },
  documentedErrors: [],
};

// ---------------------------------------------------------------------------------------------
// shadow-digest

const shadowDigest: FuzzTarget = {
  name: 'shadow-digest',
  inputKinds: [SCHEDULED_EVENT],
  // Any schedule's event: the function's only trigger is its own rule (the invoke permission says so).
  bases: [fromSample(sample('eventbridge-scheduled-event.json'))],
  isValid: accepts(scheduledSchema),
  async run(value, log, rng) {
    const deployments = new InMemoryDeploymentStore();
    if (rng.chance(0.7)) {
      await deployments.putAssessment(storedAssessment({ application: APPLICATION, deploymentGroup: DEPLOYMENT_GROUP, mode: 'shadow', enforced: false, assessedAt: NOW - rng.pick([60_000, 3_600_000]) }));
    }
    return runDeclared(SHADOW_DIGEST, value, {
      deployments: instrument('deployments', deployments, log),
      digests: instrument('digests', new InMemoryShadowDigestStore(), log),
      notifications: instrument('notifications', new RecordingNotifications(), log),
      clock: new ManualClock(NOW),
    }, {
      settings: { environment: 'dev', region: 'us-east-1', topicArn: `arn:aws:sns:us-east-1:123456789012:${NAME_PREFIX}-notifications` },
      digest: { groups: [{ application: APPLICATION, deploymentGroup: DEPLOYMENT_GROUP, costs: { failedDeployment: 3, needlessRollback: 1 } }] },
    });
  },
  documentedErrors: [],
};

export const TARGETS: readonly FuzzTarget[] = [predict, trafficHook, rollback, recordChange, recordOutcome, drift, promote, shadowDigest, pipelineGate];
