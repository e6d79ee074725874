import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  CODEDEPLOY_ASSESSED_STATES,
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  CODEPIPELINE_ACTION_EXECUTION,
  type CodeDeployDeploymentState,
} from '../events/aws';
import { systemClock, type Clock } from '../events/clock';
import { revisionKey, type GateLink, type PutEventsEntry } from '../events/emitted';
import { eventTimeMillis } from '../events/envelope';
import { parseAwsEvent } from '../events/parse';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { EmfMetrics } from './adapters/emf-metrics';
import { AwsCodeDeploy } from './adapters/codedeploy';
import { S3TrainingDataLake } from './adapters/s3-data-lake';
import { ENV, findPolicy, groupKey, requireEnv, type GroupPolicy } from './config';
import {
  assessmentEntries,
  holdsHere,
  rollbackReason,
  isFinished,
  pipelineActionIgnoredReason,
  triggerVerdict,
} from './predict-domain';
import { watchTier } from './bake-domain';
import { recordScore } from './cuts';
import { assessRelease, DEFAULT_HISTORY_LIMIT, endpointTimeoutFromEnv, featureRowOf } from './release-assessment';
import { assessmentConfigFromEnv, awsAssessmentPorts, type AssessmentConfig } from './release-assessment-aws';

export { endpointTimeoutFromEnv };
import { gateLinkOf, letThroughByGate, passApplies, type GatePass } from './pipeline-gate-domain';
import { overrideWords, wouldStop } from './operator-controls';
import { holdPolicyOf, newHold, type DeploymentHold } from './hold-domain';
import { DynamoDbHoldStore } from './adapters/dynamodb-holds';
import { DynamoDbGateStore } from './adapters/dynamodb-gates';
import type {
  AssessmentRecord,
  ChangeSummaryStore,
  ControlStore,
  CodeDeployPort,
  DeploymentItem,
  DeploymentStore,
  GateStore,
  HoldStore,
  MetricsPort,
  ModelEndpointPort,
  OperatorControlStore,
  ServingModelSource,
  TrainingDataLake,
} from './ports';
import { QUALITY_DIMENSIONS, QUALITY_METRICS } from './quality-metrics';
import { writeTrainingRowIfComplete, type TrainingRowResult } from './training-row';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { PREDICT_DECLARATION } from './predict.declaration';

/**
 * predict: assesses a deployment when it starts (or, for an EC2/on-premises blue/green group in gate
 * mode, when it waits at READY): the serving model's feature vector from the change summary and the
 * group's history, InvokeEndpoint, the decision by the group's block-budget cut (or its failure policy when
 * there is no probability), the assessment stored first and then announced, with a rollback request
 * when the group enforces at this point. Idempotent on deploymentId: a redelivery calls no endpoint
 * and republishes the stored assessment's events unchanged.
 */

export interface PredictConfig extends AssessmentConfig {
  /** A group's most recent known outcomes read back to for the history features. @default DEFAULT_HISTORY_LIMIT */
  readonly historyLimit?: number;
}

export { DEFAULT_HISTORY_LIMIT };

export interface PredictDependencies {
  readonly codeDeploy: CodeDeployPort;
  readonly deployments: DeploymentStore;
  readonly changes: ChangeSummaryStore;
  readonly servingModel: ServingModelSource;
  /** The block-budget cuts (control table). */
  readonly control: ControlStore;
  /** The operators' overrides and pauses (control table). */
  readonly operatorControls: OperatorControlStore;
  /** The holds of groups that hold a risky deployment for a person (control table). */
  readonly holds: HoldStore;
  /** The pipeline gate's passes of releases (control table): a deployment of a release it passed is linked to it. */
  readonly gates: GateStore;
  readonly endpoint: ModelEndpointPort;
  readonly publisher: EventPublisher;
  readonly metrics: MetricsPort;
  readonly lake: TrainingDataLake;
  readonly clock: Clock;
  readonly config: PredictConfig;
}

export type PredictResult =
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'not-found'; readonly deploymentId: string; readonly message: string }
  | {
      /** The deployment was assessed before: its stored events were published again, unchanged. */
      readonly status: 'duplicate';
      readonly deploymentId: string;
      readonly republished: readonly string[];
      readonly trainingRow?: TrainingRowResult;
    }
  | {
      readonly status: 'assessed';
      readonly deploymentId: string;
      readonly trigger: AssessmentRecord['trigger'];
      readonly decision: AssessmentRecord['decision'];
      readonly probability: number | null;
      readonly enforced: boolean;
      readonly modelVersion: string;
      readonly fallback?: string;
      /** The operator's override or pause that let a would-be stop through, in words. */
      readonly override?: string;
      readonly published: readonly string[];
      readonly trainingRow?: TrainingRowResult;
    };

/** A deployment created by CodeDeploy to roll another back: never assessed, never stopped. */
const ROLLBACK_CREATOR = 'codeDeployRollback';

/**
 * Validates the event (a malformed one throws EventValidationError before any port is called),
 * assesses, stores, then publishes. Endpoint failures, a model that cannot be loaded and the absence
 * of any model are decided by the group's failure policy;
 * a publishing failure is thrown after the assessment is stored, and the redelivered event publishes
 * the stored assessment's events without calling the endpoint again.
 */
export async function handlePredictEvent(event: unknown, deps: PredictDependencies): Promise<PredictResult> {
  if (detailTypeOf(event) === CODEPIPELINE_ACTION_EXECUTION) {
    const { detail } = parseAwsEvent(CODEPIPELINE_ACTION_EXECUTION, event);
    return { status: 'ignored', reason: pipelineActionIgnoredReason(detail) };
  }
  const parsed = parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event);
  const { deploymentId, application, deploymentGroup, state } = parsed.detail;
  if (!isAssessedState(state)) return { status: 'ignored', reason: `${state} is a final state: record-outcome labels it, predict does not assess it` };

  const group = groupKey(application, deploymentGroup);
  const policy = findPolicy(deps.config.groups, application, deploymentGroup);
  if (!policy) return { status: 'ignored', reason: `deployment group ${group} is not guarded by Deploy Guard` };
  const configured = triggerVerdict(policy.mode, policy.platform, state);
  if (!configured.assess) return { status: 'ignored', reason: `${deploymentId}: ${configured.reason}` };

  const stored = await deps.deployments.get(deploymentId);
  if (stored?.assessment) return republish(stored, policy, deps);

  const lookup = await deps.codeDeploy.getDeployment(deploymentId);
  if (!lookup.found) return { status: 'not-found', deploymentId, message: lookup.message };
  const deployment = lookup.deployment;
  if (deployment.creator === ROLLBACK_CREATOR) {
    return { status: 'ignored', reason: `${deploymentId} is a rollback created by CodeDeploy; Deploy Guard never assesses a rollback` };
  }
  // CodeDeploy's platform is the truth; a group configured with another one is assessed as it really is.
  const platform = deployment.computePlatform;
  if (platform !== policy.platform) {
    const actual = triggerVerdict(policy.mode, platform, state);
    if (!actual.assess) {
      return { status: 'ignored', reason: `${deploymentId}: ${group} is configured as ${policy.platform} but CodeDeploy runs it on ${actual.reason}` };
    }
  }

  const eventTime = eventTimeMillis(parsed.time);
  // The START event's time; at READY the deployment's creation time stands for it.
  const startedAt = state === 'START' ? eventTime : (deployment.createTime ?? eventTime);
  const revision = deployment.revision ? revisionKey(deployment.revision) : undefined;
  const release = { deploymentId, application, deploymentGroup, ...(revision ? { revision } : {}), startedAt, alreadyFinished: isFinished(deployment.status) };
  const assessed = await assessRelease(release, policy, deps, deps.clock, deps.config.historyLimit);
  const { model, cut, override, factors, bake, author, changeSummary, assessedAt } = assessed;
  // The release passed the pipeline gate before this deployment existed: it is not stopped again for the same risk.
  const linked = revision ? await linkedGate(deps.gates, deploymentId, { application, deploymentGroup, revision, startedAt }, wouldStop(assessed.verdict)) : undefined;
  const gate = linked?.link;
  const verdict = linked?.link.letThrough ? letThroughByGate(assessed.verdict, linked.pass) : assessed.verdict;
  const record: AssessmentRecord = {
    deploymentId,
    application,
    deploymentGroup,
    platform,
    mode: policy.mode,
    trigger: state,
    probability: verdict.probability,
    ...cut,
    decision: verdict.decision,
    explored: verdict.explored,
    propensity: verdict.propensity,
    enforced: verdict.enforced,
    modelVersion: model?.version ?? 'none',
    featureRow: featureRowOf(assessed),
    ...(verdict.fallback ? { fallback: verdict.fallback } : {}),
    startedAt,
    assessedAt,
    ...(author === undefined ? {} : { author }),
    changeSummary,
    ...(override ? { override } : {}),
    ...(gate ? { gate } : {}),
    ...(holdPolicyOf(policy) ? { onRisk: 'hold' as const } : {}),
    topFactors: factors,
    tier: watchTier(verdict.decision, verdict.probability, bake?.cut ?? null),
    ...(bake ? { bake } : {}),
  };

  const write = await deps.deployments.putAssessment(record);
  // Another delivery stored first while this one scored: what it stored is what is announced.
  if (!write.created) return republish(write.item, policy, deps);

  await moveCut(record, policy, deps);
  countAssessment(deps, record);
  const entries = assessmentEntries(record, factors, deps.config, await openHold(record, policy, deps));
  await deps.publisher.publish(entries);
  const trainingRow = await trainingRowOf(write.item, deps);
  return {
    status: 'assessed',
    deploymentId,
    trigger: record.trigger,
    decision: record.decision,
    probability: record.probability,
    enforced: record.enforced,
    modelVersion: record.modelVersion,
    ...(record.fallback ? { fallback: record.fallback.reason } : {}),
    ...(record.override ? { override: overrideWords(record.override) } : {}),
    published: detailTypes(entries),
    ...(trainingRow ? { trainingRow } : {}),
  };
}

function isAssessedState(state: CodeDeployDeploymentState): state is 'START' | 'READY' {
  return (CODEDEPLOY_ASSESSED_STATES as readonly string[]).includes(state);
}

/**
 * The gate's pass of the release in the same group, within a day before it started (passApplies), if
 * any, linked both ways: the deployment joins the pass's deployments, and the assessment carries the
 * link (letThrough when it would stop it).
 */
async function linkedGate(gates: GateStore, deploymentId: string, release: { readonly application: string; readonly deploymentGroup: string; readonly revision: string; readonly startedAt: number }, wouldStopIt: boolean): Promise<{ readonly pass: GatePass; readonly link: GateLink } | undefined> {
  const pass = await gates.readPass(release.application, release.revision);
  if (!pass || !passApplies(pass, release)) return undefined;
  await gates.linkDeployment(release.application, release.revision, deploymentId);
  return { pass, link: gateLinkOf(pass, wouldStopIt) };
}

/**
 * A deployment of a release the gate held and a person approved: the gate counted that release as
 * an assessment and a stop, and put its score in the cut windows, when it held it. Its START is the
 * same release and the same decision, so it is not counted or scored a second time.
 */
function decidedAtGate(record: AssessmentRecord): boolean {
  return record.gate?.passedBy === 'approval';
}

/**
 * The decision's metrics, per group and pooled: the realized block rate (Stops / Assessments, a
 * release the gate already counted adding to neither), the cut, the fallbacks by cause, the
 * operators' overrides.
 */
function countAssessment(deps: PredictDependencies, record: AssessmentRecord): void {
  const counted = decidedAtGate(record) ? 0 : 1;
  deps.metrics.put({
    namespace: deps.config.metricsNamespace,
    dimensions: { [QUALITY_DIMENSIONS.application]: record.application, [QUALITY_DIMENSIONS.deploymentGroup]: record.deploymentGroup },
    values: [
      { name: QUALITY_METRICS.assessments, unit: 'Count', value: counted },
      { name: QUALITY_METRICS.stops, unit: 'Count', value: record.decision === 'rollback' ? counted : 0 },
      { name: QUALITY_METRICS.endpointFallbacks, unit: 'Count', value: record.fallback?.cause === 'endpoint' ? 1 : 0 },
      { name: QUALITY_METRICS.modelFallbacks, unit: 'Count', value: record.fallback?.cause === 'model' ? 1 : 0 },
      { name: QUALITY_METRICS.withoutChangeSummary, unit: 'Count', value: record.changeSummary && record.changeSummary.status !== 'joined' ? 1 : 0 },
      { name: QUALITY_METRICS.operatorOverrides, unit: 'Count', value: record.override ? 1 : 0 },
      ...(record.cut === null ? [] : [{ name: QUALITY_METRICS.decisionCut, unit: 'None' as const, value: record.cut }]),
    ],
    at: record.assessedAt,
  });
}

/** The assessment's probability joins the group's and the pooled cut windows (once per deployment, so a redelivery may call it again), unless the gate's hold put it there. */
async function moveCut(record: AssessmentRecord, policy: GroupPolicy, deps: PredictDependencies): Promise<void> {
  if (record.probability === null || decidedAtGate(record)) return;
  const assessment = { deploymentId: record.deploymentId, probability: record.probability, stopped: record.decision === 'rollback', cutSource: record.cutSource, modelVersion: record.modelVersion };
  await recordScore(groupKey(record.application, record.deploymentGroup), policy, assessment, { control: deps.control }, record.assessedAt);
}

/**
 * A risky deployment of a group that holds, waiting at READY: the hold is recorded (once: a
 * redelivery finds the first) before it is announced, so that `deploy-guard approve` / `reject` and
 * the hold's timeout find it. Its clock starts at the assessment.
 */
async function openHold(record: AssessmentRecord, policy: GroupPolicy, deps: PredictDependencies): Promise<DeploymentHold | undefined> {
  if (!holdsHere(record)) return undefined;
  const hold = newHold({ ...record, reason: rollbackReason(record) }, holdPolicyOf(policy) ?? holdPolicyOf({ ...policy, onRisk: 'hold' })!, record.assessedAt);
  return deps.holds.open(hold);
}

/**
 * A redelivery (or a lost race): publish the stored assessment's events again, same detail, same
 * time; its score joins the cut if an earlier attempt stopped before it did.
 */
async function republish(item: DeploymentItem, policy: GroupPolicy, deps: PredictDependencies): Promise<PredictResult> {
  const record = item.assessment as AssessmentRecord;
  await moveCut(record, policy, deps);
  const entries = assessmentEntries(record, record.topFactors ?? [], deps.config, await openHold(record, policy, deps));
  await deps.publisher.publish(entries);
  const trainingRow = await trainingRowOf(item, deps);
  return { status: 'duplicate', deploymentId: record.deploymentId, republished: detailTypes(entries), ...(trainingRow ? { trainingRow } : {}) };
}

/**
 * The outcome may have been recorded before the assessment (CodeDeploy events arrive out of order);
 * then this is the second half of the pair and writes the training row. Without a serving model the
 * assessment has no feature row, and no training row can be made of it.
 */
async function trainingRowOf(item: DeploymentItem, deps: PredictDependencies): Promise<TrainingRowResult | undefined> {
  if (!item.outcome || !item.assessment?.featureRow) return undefined;
  return writeTrainingRowIfComplete(item, { store: deps.deployments, lake: deps.lake });
}

function detailTypes(entries: readonly PutEventsEntry[]): string[] {
  return entries.map((entry) => entry.DetailType);
}

function detailTypeOf(event: unknown): unknown {
  return event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
}

/** Reads the handler's configuration from the Lambda environment, naming the variable that is wrong. */
export function predictConfigFromEnv(env: NodeJS.ProcessEnv): PredictConfig {
  return assessmentConfigFromEnv(env);
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const codeDeployClient = new CodeDeployClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const sageMakerRuntimeClient = new SageMakerRuntimeClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<PredictDependencies>> {
  const controlTable = requireEnv(env, ENV.controlTable, 'the DynamoDB control table');
  return {
    ...awsAssessmentPorts(env, { dynamoDb: dynamoDbClient, s3: s3Client, sageMakerRuntime: sageMakerRuntimeClient }),
    codeDeploy: new AwsCodeDeploy(codeDeployClient),
    holds: new DynamoDbHoldStore(dynamoDbClient, controlTable),
    gates: new DynamoDbGateStore(dynamoDbClient, controlTable),
    publisher: new EventBridgePublisher(eventBridgeClient),
    metrics: new EmfMetrics(),
    lake: new S3TrainingDataLake(s3Client, { bucket: requireEnv(env, ENV.dataBucket, 'the S3 bucket of training rows') }),
    clock: systemClock,
  };
}

export const PREDICT: HandlerDefinition<PredictDependencies, PredictResult> = { declaration: PREDICT_DECLARATION, handle: handlePredictEvent, configFromEnv: predictConfigFromEnv, awsPorts };

export const handler = lambdaEntry(PREDICT);
