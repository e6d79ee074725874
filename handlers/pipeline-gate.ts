import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { systemClock, type Clock } from '../events/clock';
import type { GateOutcome } from '../events/emitted';
import { AwsCodePipeline } from './adapters/codepipeline';
import { DynamoDbGateStore } from './adapters/dynamodb-gates';
import { DynamoDbHoldStore } from './adapters/dynamodb-holds';
import { EmfMetrics } from './adapters/emf-metrics';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { ENV, findPolicy, groupKey, requireEnv, type GroupPolicy } from './config';
import { recordScore } from './cuts';
import type { HandlerDefinition, PortsOf } from './declaration';
import { holdPolicyOf, isExpired, newHold, timeoutSettlement, type DeploymentHold } from './hold-domain';
import { settleHold } from './holds';
import { lambdaEntry } from './lambda-entry';
import {
  assessedAnswer,
  gateDecidedEntry,
  gateDecisionEntry,
  gateHoldId,
  gateOutcome,
  gateReleaseKey,
  gateSettlementOf,
  heldAnswer,
  jobIdOf,
  parseJob,
  problemMessage,
  type GateAssessment,
  type GateInputProblem,
  type GateJobRecord,
  type GateRequest,
} from './pipeline-gate-domain';
import { PIPELINE_GATE_DECLARATION } from './pipeline-gate.declaration';
import { rollbackReason } from './predict-domain';
import type { CodePipelineOutcome, CodePipelinePort, GateStore, HoldStore, MetricsPort } from './ports';
import { QUALITY_DIMENSIONS, QUALITY_METRICS } from './quality-metrics';
import { assessRelease, featureRowOf, type ReleaseAssessment, type ReleaseAssessmentDependencies } from './release-assessment';
import { assessmentConfigFromEnv, awsAssessmentPorts, type AssessmentConfig } from './release-assessment-aws';

/**
 * pipeline-gate: the function of a CodePipeline Lambda invoke action placed before the Deploy stage.
 * It judges the release with predict's model, cut and policies (handlers/release-assessment.ts)
 * before any deployment exists, records the decision on the job (first writer wins) before it tells
 * CodePipeline, then: passes it (PutJobSuccessResult), fails the action (PutJobFailureResult: the
 * Deploy stage never runs, no replacement fleet is created) or, in a gate group that holds risky
 * releases, holds it (PutJobSuccessResult with a continuation token: CodePipeline invokes the action
 * again with a new job, which answers from the hold once `deploy-guard approve` / `reject` or the
 * hold's timeout settled it). Each decision is listed by group and day for `deploy-guard decisions`
 * (a held one's settlement added when it ends). A release it passes is recorded for predict, which does not stop its
 * deployment again for the same risk. Idempotent on the job id: a redelivery or a retry after a
 * lost answer tells CodePipeline the recorded decision, never a second one. Input it cannot read is
 * told to CodePipeline as a failure naming the input and the problem.
 */

export interface PipelineGateConfig extends AssessmentConfig {
  /** The environment's name: the `--environment` of the override, approve and reject commands the answers suggest. */
  readonly environment: string;
  readonly historyLimit?: number;
}

export interface PipelineGateDependencies extends ReleaseAssessmentDependencies {
  readonly codePipeline: CodePipelinePort;
  readonly gates: GateStore;
  readonly holds: HoldStore;
  readonly publisher: EventPublisher;
  readonly metrics: MetricsPort;
  readonly clock: Clock;
  readonly config: PipelineGateConfig;
}

export type PipelineGateResult =
  | {
      /** passed / failed / held: the gate's decision; waiting: a held release not settled yet. */
      readonly status: 'passed' | 'failed' | 'held' | 'waiting';
      readonly jobId: string;
      readonly revision: string;
      /** The job's decision was recorded by an earlier delivery: the same answer was told again, or not at all when it was told already. */
      readonly repeated: boolean;
      /** CodePipeline's answer to the result: accepted, or why not (InvalidJobState: it was answered before). */
      readonly told: string;
    }
  /** The job's input could not be read: CodePipeline was told the input and the problem (PutJobFailureResult). */
  | { readonly status: 'refused'; readonly jobId: string; readonly input: string; readonly problem: string; readonly told: string };

export async function handlePipelineGate(event: unknown, deps: PipelineGateDependencies): Promise<PipelineGateResult> {
  const jobId = jobIdOf(event);
  const stored = await deps.gates.readJob(jobId);
  // A redelivery, or a retry after a crash or a lost answer: the recorded decision, its effects finished, told again.
  if (stored) return settle(stored, deps, true);
  const parsed = parseJob(event);
  if (!parsed.ok) return refuse(jobId, parsed.problem, deps);
  const { request } = parsed;
  const policy = findPolicy(deps.config.groups, request.application, request.deploymentGroup);
  if (!policy) return refuse(jobId, notGuarded(request, deps.config.groups), deps);
  const record = request.continuationToken ? await continueHeld(request, request.continuationToken, deps) : await decideRelease(request, policy, deps);
  if ('status' in record) return record;
  const written = await deps.gates.recordJob(record);
  return settle(written.record, deps, !written.won);
}

/** The recorded decision's effects (once: `announced`), then CodePipeline told (once: `answered`). */
async function settle(record: GateJobRecord, deps: PipelineGateDependencies, repeated: boolean): Promise<PipelineGateResult> {
  if (!record.announced) {
    await (record.continues ? announceSettled(record, record.continues, deps) : announceDecision(record, deps));
    await deps.gates.markAnnounced(record.jobId);
  }
  return finish(record, deps, repeated);
}

function notGuarded(request: GateRequest, groups: readonly GroupPolicy[]): GateInputProblem {
  const guarded = groups.map((group) => groupKey(group.application, group.deploymentGroup)).join(', ') || 'none';
  return { input: 'UserParameters', problem: `${groupKey(request.application, request.deploymentGroup)} is not a deployment group this installation guards (it guards: ${guarded})` };
}

/** The first job of a release: its assessment and the decision on it, to be recorded. */
async function decideRelease(request: GateRequest, policy: GroupPolicy, deps: PipelineGateDependencies): Promise<GateJobRecord> {
  const release = { deploymentId: gateReleaseKey(request.jobId), application: request.application, deploymentGroup: request.deploymentGroup, revision: request.revisionKey, startedAt: deps.clock.now(), alreadyFinished: false };
  const assessment = gateAssessmentOf(await assessRelease(release, policy, deps, deps.clock, deps.config.historyLimit), policy);
  const outcome = gateOutcome(assessment, holdPolicyOf(policy));
  const hold = outcome === 'hold' ? holdOf(releaseOf(request), assessment, policy) : undefined;
  const answer = assessedAnswer(outcome, releaseOf(request), assessment, { environment: deps.config.environment, ...(hold ? { hold } : {}) });
  return { ...releaseOf(request), outcome, answer, decidedAt: assessment.assessedAt, assessment };
}

/**
 * A decision's effects, each repeatable: a held release's hold opened (a second open keeps the
 * first), a failed or held one's score in the cut windows (once per job), a passed one recorded for
 * predict, the decision listed for `deploy-guard decisions`, announced and counted.
 */
async function announceDecision(record: GateJobRecord, deps: PipelineGateDependencies): Promise<void> {
  const { assessment, outcome } = record;
  if (!assessment || !outcome) return;
  const policy = findPolicy(deps.config.groups, record.application, record.deploymentGroup);
  const hold = outcome === 'hold' && policy ? await deps.holds.open(holdOf(record, assessment, policy)) : undefined;
  if (policy) await moveCut(record, policy, deps);
  if (outcome === 'pass') await recordPass(record, assessment.override ? 'override' : 'assessment', deps);
  await deps.gates.listDecision(gateDecisionEntry({ ...record, outcome, assessment }));
  await deps.publisher.publish([gateDecidedEntry({ ...record, outcome, assessment }, { ...busOf(deps), ...(hold ? { hold } : {}), at: record.decidedAt })]);
  countDecision(record, deps);
}

function releaseOf(request: GateRequest): Pick<GateJobRecord, 'jobId' | 'application' | 'deploymentGroup' | 'revision' | 'pipelineExecutionId'> {
  return {
    jobId: request.jobId,
    application: request.application,
    deploymentGroup: request.deploymentGroup,
    revision: request.revisionKey,
    ...(request.pipelineExecutionId ? { pipelineExecutionId: request.pipelineExecutionId } : {}),
  };
}

function gateAssessmentOf(assessed: ReleaseAssessment, policy: GroupPolicy): GateAssessment {
  const { verdict, cut } = assessed;
  return {
    platform: policy.platform,
    mode: policy.mode,
    probability: verdict.probability,
    cut: cut.cut,
    blockBudget: cut.blockBudget,
    cutSource: cut.cutSource,
    decision: verdict.decision,
    enforced: verdict.enforced,
    explored: verdict.explored,
    propensity: verdict.propensity,
    modelVersion: assessed.model?.version ?? 'none',
    featureRow: featureRowOf(assessed),
    ...(verdict.fallback ? { fallback: verdict.fallback } : {}),
    changeSummary: assessed.changeSummary,
    ...(assessed.override ? { override: assessed.override } : {}),
    topFactors: assessed.factors,
    assessedAt: assessed.assessedAt,
  };
}

/** The hold of a held release, begun at its assessment (the same hold however often it is made). */
function holdOf(release: Pick<GateJobRecord, 'jobId' | 'application' | 'deploymentGroup'>, assessment: GateAssessment, policy: GroupPolicy): DeploymentHold {
  const hold = holdPolicyOf(policy) ?? holdPolicyOf({ ...policy, mode: 'gate', onRisk: 'hold' });
  const reason = rollbackReason({ ...assessment, application: release.application, deploymentGroup: release.deploymentGroup });
  return newHold({ deploymentId: gateHoldId(release.jobId), application: release.application, deploymentGroup: release.deploymentGroup, platform: policy.platform, reason, pipelineJobId: release.jobId }, hold!, assessment.assessedAt);
}

/**
 * A job that continues a held release (its continuation token is the held job's id): the hold's
 * settlement decides, its timeout settled here if it is due; still waiting, the token is given back.
 */
async function continueHeld(request: GateRequest, token: string, deps: PipelineGateDependencies): Promise<GateJobRecord | PipelineGateResult> {
  const first = await deps.gates.readJob(token);
  let hold = first?.outcome === 'hold' ? await deps.holds.read(gateHoldId(token)) : undefined;
  if (!first?.assessment || !hold) {
    return refuse(request.jobId, { input: 'continuationToken', problem: `'${token}' names no release Deploy Guard holds: the gate answers a continuation only for a job it held` }, deps);
  }
  const now = deps.clock.now();
  if (isExpired(hold, now)) hold = (await settleHold(hold, timeoutSettlement(hold, now), { holds: deps.holds })).hold;
  const settled = hold.settled;
  const outcome: GateOutcome = !settled ? 'hold' : settled.action === 'approve' ? 'pass' : 'fail';
  return { ...releaseOf(request), outcome, answer: heldAnswer(first, settled, hold), decidedAt: now, continues: token };
}

/** A held release settled since: an approved one recorded as passed for predict, and announced (nothing while it still waits). */
async function announceSettled(record: GateJobRecord, token: string, deps: PipelineGateDependencies): Promise<void> {
  const first = await deps.gates.readJob(token);
  const hold = await deps.holds.read(gateHoldId(token));
  if (record.outcome === 'hold' || !record.outcome || !first?.assessment || !hold?.settled) return;
  if (record.outcome === 'pass') await recordPass({ ...first, decidedAt: record.decidedAt }, 'approval', deps);
  await deps.gates.settleListedDecision(first, gateSettlementOf(hold.settled));
  const entry = gateDecidedEntry({ ...first, outcome: record.outcome, answer: record.answer, decidedAt: record.decidedAt, assessment: first.assessment }, { ...busOf(deps), settled: hold.settled, at: record.decidedAt });
  await deps.publisher.publish([entry]);
}

async function recordPass(record: GateJobRecord & { readonly assessment?: GateAssessment }, passedBy: 'assessment' | 'override' | 'approval', deps: PipelineGateDependencies): Promise<void> {
  await deps.gates.recordPass({
    application: record.application,
    deploymentGroup: record.deploymentGroup,
    revision: record.revision,
    jobId: record.jobId,
    ...(record.pipelineExecutionId ? { pipelineExecutionId: record.pipelineExecutionId } : {}),
    probability: record.assessment?.probability ?? null,
    cut: record.assessment?.cut ?? null,
    decidedAt: record.decidedAt,
    passedBy,
    ...(passedBy === 'assessment' && record.assessment?.explored ? { explored: true, propensity: record.assessment.propensity } : {}),
  });
}

/**
 * A release stopped or held at the gate joins the cut windows like a stopped deployment: no START
 * will score it. A passed release does not: its deployment's START scores it (once, not twice).
 */
async function moveCut(record: GateJobRecord, policy: GroupPolicy, deps: PipelineGateDependencies): Promise<void> {
  const assessment = record.assessment;
  if (!assessment || assessment.probability === null || record.outcome === 'pass') return;
  const score = { deploymentId: gateReleaseKey(record.jobId), probability: assessment.probability, stopped: true, cutSource: assessment.cutSource, modelVersion: assessment.modelVersion };
  await recordScore(groupKey(record.application, record.deploymentGroup), policy, score, { control: deps.control }, record.decidedAt);
}

/** A release failed or held at the gate is an assessment and a stop of its group (the realized block rate counts it). */
function countDecision(record: GateJobRecord, deps: PipelineGateDependencies): void {
  if (record.outcome === 'pass') return;
  deps.metrics.put({
    namespace: deps.config.metricsNamespace,
    dimensions: { [QUALITY_DIMENSIONS.application]: record.application, [QUALITY_DIMENSIONS.deploymentGroup]: record.deploymentGroup },
    values: [
      { name: QUALITY_METRICS.assessments, unit: 'Count', value: 1 },
      { name: QUALITY_METRICS.stops, unit: 'Count', value: 1 },
      { name: QUALITY_METRICS.gateStops, unit: 'Count', value: 1 },
    ],
    at: record.decidedAt,
  });
}

/** Input the gate cannot read: CodePipeline is told which and why; nothing is recorded (the same event gives the same answer). */
async function refuse(jobId: string, problem: GateInputProblem, deps: PipelineGateDependencies): Promise<PipelineGateResult> {
  deps.metrics.put({ namespace: deps.config.metricsNamespace, dimensions: {}, values: [{ name: QUALITY_METRICS.gateInputErrors, unit: 'Count', value: 1 }], at: deps.clock.now() });
  const told = await deps.codePipeline.putJobFailureResult(jobId, { message: problemMessage(problem) });
  return { status: 'refused', jobId, input: problem.input, problem: problem.problem, told: toldWords(told) };
}

/**
 * Tells CodePipeline the recorded decision, unless it was told already. A call that throws leaves
 * the job untold: the retry tells the same decision; CodePipeline refusing it as InvalidJobState means
 * an earlier attempt's answer was applied and its response lost.
 */
async function finish(record: GateJobRecord, deps: PipelineGateDependencies, repeated: boolean): Promise<PipelineGateResult> {
  const status = STATUS[record.outcome ?? 'fail'];
  const result = { jobId: record.jobId, revision: record.revision, repeated };
  if (record.answered) return { status: resultStatus(record, status), ...result, told: record.answered.accepted ? 'accepted' : (record.answered.message ?? 'refused') };
  const answer = record.answer;
  const told =
    answer.kind === 'failure'
      ? await deps.codePipeline.putJobFailureResult(record.jobId, { message: answer.message })
      : await deps.codePipeline.putJobSuccessResult(record.jobId, { summary: answer.summary, ...(answer.kind === 'continue' ? { continuationToken: answer.continuationToken } : {}) });
  await deps.gates.recordAnswered(record.jobId, { at: deps.clock.now(), accepted: told.ok, ...(told.ok ? {} : { message: toldWords(told) }) });
  return { status: resultStatus(record, status), ...result, told: toldWords(told) };
}

const STATUS = { pass: 'passed', fail: 'failed', hold: 'held' } as const;

function resultStatus(record: GateJobRecord, status: (typeof STATUS)[GateOutcome]): 'passed' | 'failed' | 'held' | 'waiting' {
  return record.continues && record.outcome === 'hold' ? 'waiting' : status;
}

function toldWords(told: CodePipelineOutcome): string {
  return told.ok ? 'accepted' : `${told.refusal}: ${told.message}`;
}

function busOf(deps: PipelineGateDependencies): { readonly source: string; readonly eventBusName: string } {
  return { source: deps.config.source, eventBusName: deps.config.eventBusName };
}

export function pipelineGateConfigFromEnv(env: NodeJS.ProcessEnv): PipelineGateConfig {
  return {
    ...assessmentConfigFromEnv(env),
    environment: requireEnv(env, ENV.environment, "the environment's name in deploy-guard.config.json (the --environment of the commands it suggests)"),
  };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors.
const codePipelineClient = new CodePipelineClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const sageMakerRuntimeClient = new SageMakerRuntimeClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<PipelineGateDependencies>> {
  const controlTable = requireEnv(env, ENV.controlTable, 'the DynamoDB control table');
  return {
    ...awsAssessmentPorts(env, { dynamoDb: dynamoDbClient, s3: s3Client, sageMakerRuntime: sageMakerRuntimeClient }),
    codePipeline: new AwsCodePipeline(codePipelineClient),
    holds: new DynamoDbHoldStore(dynamoDbClient, controlTable),
    gates: new DynamoDbGateStore(dynamoDbClient, controlTable),
    publisher: new EventBridgePublisher(eventBridgeClient),
    metrics: new EmfMetrics(),
    clock: systemClock,
  };
}

export const PIPELINE_GATE: HandlerDefinition<PipelineGateDependencies, PipelineGateResult> = {
  declaration: PIPELINE_GATE_DECLARATION,
  handle: handlePipelineGate,
  configFromEnv: pipelineGateConfigFromEnv,
  awsPorts,
  // The job id ties the log lines together; the event itself is never logged (it carries CodePipeline's artifact credentials).
  correlationId: (_event, result) => result.jobId,
};

export const handler = lambdaEntry(PIPELINE_GATE);
