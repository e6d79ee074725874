import { eventBridgeTime } from '../events/clock';
import { buildEntry, type ComputePlatform, type FallbackCause, type GuardMode, type PutEventsEntry } from '../events/emitted';
import type { ExplanationContext, Factor } from '../model/factors';
import { computeHistoryFeatures, historyCounts, OVERALL_RATE_PRIOR, type HistoryFeatures, type PastDeployment } from '../model/history';
import { explore, reachesCut } from '../model/block-budget';
import type { FailurePolicy, GroupPolicy } from './config';
import type { DecisionCut } from './cuts';
import type { AssessmentRecord, DeploymentStatus } from './ports';
import { heldEntry, type DeploymentHold } from './hold-domain';

/**
 * What predict decides, as pure functions: which lifecycle point of a deployment is assessed for a
 * group's mode and platform, which point acts, the history features of a group from its stored
 * history, the decision from a probability or from the failure policy, and the events an assessment
 * announces. No I/O, no clock: the handler passes times in.
 */

/** The CodeDeploy states predict is routed (rule `deployment-started`). */
export type AssessedState = 'START' | 'READY';

/**
 * The one lifecycle point at which a group's deployments are assessed. An EC2/on-premises blue/green
 * group in gate mode waits at READY, and the assessment there is the decision (so START is not
 * assessed: the replacement fleet is not even up). Everywhere else the assessment is made at START:
 * stop mode acts on it, shadow mode only records it, and gate mode on ECS / Lambda records it for
 * the BeforeAllowTraffic hook (traffic-hook), which acts on it later.
 */
export function assessedState(mode: GuardMode, platform: ComputePlatform): AssessedState {
  return mode === 'gate' && platform === 'Server' ? 'READY' : 'START';
}

/**
 * The lifecycle point at which predict itself asks for a rollback: START in stop mode, READY in gate
 * mode on Server. Undefined in shadow mode (never acts) and in gate mode on ECS / Lambda (the traffic
 * hook acts).
 */
export function actingState(mode: GuardMode, platform: ComputePlatform): AssessedState | undefined {
  if (mode === 'stop') return 'START';
  if (mode === 'gate' && platform === 'Server') return 'READY';
  return undefined;
}

export type TriggerVerdict = { readonly assess: true } | { readonly assess: false; readonly reason: string };

/** Whether this CodeDeploy state is the one assessed for the group's mode and platform. */
export function triggerVerdict(mode: GuardMode, platform: ComputePlatform, state: string): TriggerVerdict {
  const assessed = assessedState(mode, platform);
  if (state === assessed) return { assess: true };
  return {
    assess: false,
    reason: `${state} is not assessed for a ${platform} group in ${mode} mode (it is assessed at ${assessed})`,
  };
}

/**
 * Why a CodePipeline deploy action's STARTED is not assessed. The event names the pipeline, stage and
 * action, but neither the CodeDeploy deployment (it does not exist yet) nor its application and
 * deployment group (those are in the pipeline's definition, which the event does not carry). An
 * assessment here could be keyed on nothing that later events share, could act on nothing, and would
 * need a GetPipeline call and a second mapping from pipelines to groups to configure. The deployment
 * the action creates announces its own START a few seconds later, which is assessed with the
 * deployment id, revision and history. So the event is validated and deliberately ignored.
 */
export function pipelineActionIgnoredReason(detail: { readonly pipeline: string; readonly stage: string; readonly action: string; readonly 'execution-id': string }): string {
  return (
    `CodePipeline action ${detail.pipeline}/${detail.stage}/${detail.action} (execution ${detail['execution-id']}) carries no CodeDeploy ` +
    'deployment id or deployment group: the deployment it creates is assessed at its own CodeDeploy event'
  );
}

const FINISHED: ReadonlySet<DeploymentStatus> = new Set(['Succeeded', 'Failed', 'Stopped']);

/** Whether CodeDeploy already reports the deployment finished (its outcome may arrive before its START). */
export function isFinished(status: DeploymentStatus): boolean {
  return FINISHED.has(status);
}

/**
 * The group's history features. The stored history is read up to a limit (the recent windows need at
 * most the last 20 outcomes), so the overall failure rate is taken from the group's full counts
 * instead of the deployments read: the same smoothed rate computeHistoryFeatures gives over the whole
 * history.
 */
export function historyFeatures(
  recent: readonly PastDeployment[],
  counts: { readonly known: number; readonly failures: number },
  query: { readonly time?: number; readonly author?: string },
): HistoryFeatures {
  const features = computeHistoryFeatures(recent, query);
  features.failureRateOverall = (counts.failures + OVERALL_RATE_PRIOR.failures) / (counts.known + OVERALL_RATE_PRIOR.deployments);
  return features;
}

/** What the explanations need to say "2 of the last 3 deployments failed". */
export function explanationContext(
  recent: readonly PastDeployment[],
  counts: { readonly known: number },
  author: string | undefined,
): ExplanationContext {
  const fromRecent = historyCounts(recent, author === undefined ? {} : { author });
  return {
    knownOutcomes: counts.known,
    ...(fromRecent.authorKnownOutcomes === undefined ? {} : { authorKnownOutcomes: fromRecent.authorKnownOutcomes }),
  };
}

/** What the model said: a probability, or why there is none (the endpoint failed, or there is no model it could be asked for). */
export type Score =
  | { readonly kind: 'probability'; readonly probability: number }
  | { readonly kind: 'fallback'; readonly cause: FallbackCause; readonly reason: string };

export interface Verdict {
  readonly decision: 'proceed' | 'rollback';
  readonly probability: number | null;
  readonly enforced: boolean;
  readonly fallback?: { readonly policy: FailurePolicy; readonly cause: FallbackCause; readonly reason: string };
  /** A would-be stop that proceeds to be observed (exploration). */
  readonly explored: boolean;
  /** The probability of the action taken (1 when no draw was made). */
  readonly propensity: number;
}

/**
 * Roll back when the probability reaches the cut (the group's block-budget cut, or its fixed
 * threshold); no cut yet: proceed. Without a probability, whatever the cause (endpoint or model),
 * the group's failure policy decides (fail-open proceeds, fail-closed rolls back). Enforced unless the group is in shadow mode or the
 * deployment has already finished.
 */
export function decide(
  policy: Pick<GroupPolicy, 'mode' | 'failurePolicy' | 'exploration'>,
  score: Score,
  cut: Pick<DecisionCut, 'cut'>,
  deployment: { readonly deploymentId: string; readonly alreadyFinished: boolean },
): Verdict {
  const enforced = policy.mode !== 'shadow' && !deployment.alreadyFinished;
  if (score.kind === 'fallback') {
    return {
      decision: policy.failurePolicy === 'fail-closed' ? 'rollback' : 'proceed',
      probability: null,
      enforced,
      fallback: { policy: policy.failurePolicy, cause: score.cause, reason: score.reason },
      explored: false,
      propensity: 1,
    };
  }
  const probability = score.probability;
  if (!reachesCut(probability, cut.cut)) return { decision: 'proceed', probability, enforced, explored: false, propensity: 1 };
  // Only an enforced stop hides an outcome; shadow mode observes every one without exploring.
  const { explored, propensity } = enforced ? explore(deployment.deploymentId, policy.exploration) : { explored: false, propensity: 1 };
  return { decision: explored ? 'proceed' : 'rollback', probability, enforced, explored, propensity };
}

/** What no model can decide: the fixed threshold if the group has one, else no cut (the failure policy decides). */
export function cutWithoutModel(policy: Pick<GroupPolicy, 'threshold' | 'blockBudget'>): DecisionCut {
  return policy.threshold !== undefined ? { cut: policy.threshold, blockBudget: null, cutSource: 'threshold' } : { cut: null, blockBudget: policy.blockBudget, cutSource: 'none' };
}

/** Whether the assessment itself asks the rollback handler to stop the deployment (a group that holds asks a person instead). */
export function requestsRollback(record: Pick<AssessmentRecord, 'enforced' | 'decision' | 'mode' | 'platform' | 'trigger' | 'onRisk'>): boolean {
  return record.onRisk !== 'hold' && record.enforced && record.decision === 'rollback' && actingState(record.mode, record.platform) === record.trigger;
}

/**
 * Whether predict itself holds the deployment for a person: an enforced rollback of a group that
 * holds, at the point where predict acts (READY, EC2/on-premises). On ECS / Lambda the traffic hook holds.
 */
export function holdsHere(record: Pick<AssessmentRecord, 'enforced' | 'decision' | 'mode' | 'platform' | 'trigger' | 'onRisk'>): boolean {
  return record.onRisk === 'hold' && record.enforced && record.decision === 'rollback' && actingState(record.mode, record.platform) === record.trigger;
}

/** Why a rollback is requested, in words. */
export function rollbackReason(record: Pick<AssessmentRecord, 'probability' | 'cut' | 'blockBudget' | 'fallback' | 'application' | 'deploymentGroup'>): string {
  if (record.fallback) {
    return `no probability (${record.fallback.reason}) and the group is ${record.fallback.policy}`;
  }
  const probability = `probability of failure ${formatProbability(record.probability ?? 0)}`;
  if (record.blockBudget === null) return `${probability} is at or above the fixed threshold ${formatProbability(record.cut ?? 0)}`;
  const share = Number((record.blockBudget * 100).toFixed(2));
  return `${probability} reaches the cut ${formatProbability(record.cut ?? 0)} (the riskiest ${share} % of ${record.application}/${record.deploymentGroup})`;
}

function formatProbability(value: number): string {
  return String(Number(value.toFixed(4)));
}

export interface EntryContext {
  readonly source: string;
  readonly eventBusName: string;
}

/**
 * The Deployment Risk Assessed entry of an assessment; a function of the stored record only (time
 * and detail), so a redelivery republishes exactly what the first delivery published.
 */
export function riskAssessedEntry(record: AssessmentRecord, factors: readonly Factor[], context: EntryContext): PutEventsEntry {
  return buildEntry(
    'Deployment Risk Assessed',
    {
      schemaVersion: '2',
      deploymentId: record.deploymentId,
      application: record.application,
      deploymentGroup: record.deploymentGroup,
      platform: record.platform,
      mode: record.mode,
      trigger: record.trigger,
      probability: record.probability,
      cut: record.cut,
      blockBudget: record.blockBudget,
      cutSource: record.cutSource,
      decision: record.decision,
      explored: record.explored,
      propensity: record.propensity,
      enforced: record.enforced,
      modelVersion: record.modelVersion,
      topFactors: factors.map((factor) => ({ ...factor })),
      ...(record.fallback ? { fallback: { ...record.fallback } } : {}),
      ...(record.changeSummary ? { changeSummary: { ...record.changeSummary } } : {}),
      ...(record.tier ? { tier: record.tier } : {}),
      ...(record.bake ? { bake: { cut: record.bake.cut, minutes: record.bake.minutes, ...(record.bake.alarms ? { alarms: [...record.bake.alarms] } : {}) } } : {}),
      ...(record.override ? { override: { ...record.override, at: eventBridgeTime(record.override.at), until: eventBridgeTime(record.override.until) } } : {}),
      ...(record.onRisk ? { onRisk: record.onRisk } : {}),
      ...(record.gate ? { gate: { ...record.gate } } : {}),
      assessedAt: eventBridgeTime(record.assessedAt),
    },
    { ...context, time: new Date(record.assessedAt) },
  );
}

/**
 * The Deployment Rollback Requested entry for a risky, enforced assessment; with a hook execution id
 * when the traffic hook asks (ECS / Lambda), so that the rollback handler reports the hook Failed.
 */
export function rollbackRequestedEntry(
  record: Pick<
    AssessmentRecord,
    'deploymentId' | 'application' | 'deploymentGroup' | 'platform' | 'mode' | 'probability' | 'cut' | 'blockBudget' | 'modelVersion' | 'fallback'
  >,
  context: EntryContext & { readonly at: number; readonly lifecycleEventHookExecutionId?: string; readonly reason?: string },
): PutEventsEntry {
  if (record.mode === 'shadow') throw new Error(`deployment ${record.deploymentId} is in shadow mode: no rollback may be requested`);
  return buildEntry(
    'Deployment Rollback Requested',
    {
      schemaVersion: '2',
      deploymentId: record.deploymentId,
      application: record.application,
      deploymentGroup: record.deploymentGroup,
      platform: record.platform,
      mode: record.mode,
      probability: record.probability,
      cut: record.cut,
      blockBudget: record.blockBudget,
      modelVersion: record.modelVersion,
      reason: context.reason ?? rollbackReason(record),
      ...(context.lifecycleEventHookExecutionId ? { lifecycleEventHookExecutionId: context.lifecycleEventHookExecutionId } : {}),
      requestedAt: eventBridgeTime(context.at),
    },
    { source: context.source, eventBusName: context.eventBusName, time: new Date(context.at) },
  );
}

/** Every event an assessment announces, in order: the assessment, then the rollback request if it acts, or the hold if it holds. */
export function assessmentEntries(record: AssessmentRecord, factors: readonly Factor[], context: EntryContext, hold?: DeploymentHold): PutEventsEntry[] {
  const entries = [riskAssessedEntry(record, factors, context)];
  if (requestsRollback(record)) entries.push(rollbackRequestedEntry(record, { ...context, at: record.assessedAt }));
  if (hold) entries.push(heldEntry(hold, context));
  return entries;
}
