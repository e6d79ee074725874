import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CODEDEPLOY_LIFECYCLE_HOOK_INVOCATION, codeDeployLifecycleHookInvocation } from '../events/aws';
import { systemClock, type Clock } from '../events/clock';
import { parseWith } from '../events/validation';
import { AwsCodeDeploy } from './adapters/codedeploy';
import { DynamoDbBakeStore, DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { ConfigurationError, ENV, eventSourceFromEnv, findPolicy, groupKey, type GroupPolicy, guardedGroupsFromEnv, requireEnv } from './config';
import type { AssessmentRecord, BakeStore, CodeDeployPort, CodeDeployRefusal, DeploymentStore, HoldStore, OperatorControlStore } from './ports';
import { bakeOf, hookStep, startsBake, type HookRole } from './bake-domain';
import { updateBook } from './bake-book';
import { heldEntry, holdPolicyOf, newHold, settlementWords } from './hold-domain';
import { DynamoDbHoldStore } from './adapters/dynamodb-holds';
import { overrideWords } from './operator-controls';
import { findOverride } from './operator-lookup';
import { DynamoDbOperatorControlStore } from './adapters/dynamodb-operator-controls';
import { cutWithoutModel, decide, isFinished, riskAssessedEntry, rollbackReason, rollbackRequestedEntry } from './predict-domain';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { DEFAULT_HOOK_WAIT_MS, TRAFFIC_HOOK_DECLARATION } from './traffic-hook.declaration';

/**
 * traffic-hook: the BeforeAllowTraffic and AfterAllowTraffic hooks of an ECS or Lambda deployment in
 * a guarded group. CodeDeploy invokes it with the deployment id and the hook execution id (not the
 * lifecycle event), and waits for a status. For a deployment predict put in the bake tier, the
 * second execution seen is AfterAllowTraffic: it starts the bake window in the book of open bakes and
 * is not answered here (the bake handler reports it Succeeded when the window closes clean, Failed on
 * an alarm). Every other invocation is answered as follows.
 * It waits (bounded) for predict's assessment of the deployment, then: a risky, enforced assessment
 * becomes a Deployment Rollback Requested carrying the hook execution id (the rollback handler reports
 * the hook Failed, once), or, in a group that holds risky deployments for a person (`onRisk: hold`),
 * a recorded hold and a Deployment Held, the hook left unanswered for `deploy-guard approve` /
 * `reject` or the hold's timeout; anything else reports the hook Succeeded here. Without an assessment in
 * time, the group's failure policy decides; a fail-closed decision is stored as the deployment's
 * assessment (a fallback, cause `assessment`) before anything is published, because the rollback
 * handler acts only on what the store says was decided.
 */

export { DEFAULT_HOOK_WAIT_MS };
export const DEFAULT_HOOK_POLL_MS = 1_000;

export interface TrafficHookConfig {
  readonly source: string;
  readonly eventBusName: string;
  readonly groups: readonly GroupPolicy[];
  /** How long to wait for the assessment. @default 60000 */
  readonly waitMs?: number;
  /** How often to look for it. @default 1000 */
  readonly pollMs?: number;
}

export interface TrafficHookDependencies {
  readonly codeDeploy: CodeDeployPort;
  readonly deployments: DeploymentStore;
  /** The operators' overrides and pauses (control table, read only). */
  readonly operatorControls: OperatorControlStore;
  /** The open bakes (control table `bakes#open`, `bake#<id>`): a baking deployment's AfterAllowTraffic starts its window there. */
  readonly bakes: BakeStore;
  /** The holds of groups that hold a risky deployment for a person (control table). */
  readonly holds: HoldStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  /** Waits between looks at the store (injected: tests and the backtest do not sleep). */
  readonly sleep: (milliseconds: number) => Promise<void>;
  readonly config: TrafficHookConfig;
}

export type TrafficHookResult =
  | { readonly status: 'succeeded'; readonly deploymentId: string; readonly reason: string }
  | { readonly status: 'rollback-requested'; readonly deploymentId: string; readonly reason: string }
  /** AfterAllowTraffic of a baking deployment: its window runs until endsAt; the bake handler answers the hook. */
  | { readonly status: 'baking'; readonly deploymentId: string; readonly hookExecutionId: string; readonly endsAt: number }
  /** Held for a person: the hook is left unanswered until `deploy-guard approve` / `reject` or the hold's timeout. */
  | { readonly status: 'held'; readonly deploymentId: string; readonly reason: string; readonly until: number }
  /** CodeDeploy refused the status (the hook already completed or expired, the deployment is gone). */
  | { readonly status: 'refused'; readonly deploymentId: string; readonly refusal: CodeDeployRefusal; readonly message: string }
  | { readonly status: 'not-found'; readonly deploymentId: string; readonly message: string };

/** What the failure policy decided when no assessment came in time. */
type PolicyDecision =
  | { readonly kind: 'succeed'; readonly reason: string }
  | { readonly kind: 'assessed'; readonly assessment: AssessmentRecord }
  | { readonly kind: 'not-found'; readonly message: string };

/**
 * Validates the invocation (a malformed one throws EventValidationError, nothing else happens),
 * waits for the assessment and acts. CodeDeploy refusals come back as `refused`; a publishing failure
 * is thrown, so that the invocation is retried (the retry finds what was stored and publishes again).
 */
export async function handleTrafficHook(invocation: unknown, deps: TrafficHookDependencies): Promise<TrafficHookResult> {
  const { DeploymentId: deploymentId, LifecycleEventHookExecutionId: hookExecutionId } = parseWith(
    CODEDEPLOY_LIFECYCLE_HOOK_INVOCATION,
    codeDeployLifecycleHookInvocation,
    invocation,
  );
  const stored = await waitForAssessment(deploymentId, deps);
  const decided: PolicyDecision = stored ? { kind: 'assessed', assessment: stored } : await fromFailurePolicy(deploymentId, deps);
  if (decided.kind === 'not-found') return { status: 'not-found', deploymentId, message: decided.message };
  if (decided.kind === 'succeed') return succeed(deploymentId, hookExecutionId, decided.reason, deps);

  const assessment = decided.assessment;
  const role = await bakeRole(assessment, hookExecutionId, deps);
  if (role.role === 'after') return { status: 'baking', deploymentId, hookExecutionId, endsAt: role.endsAt };
  if (!(assessment.enforced && assessment.decision === 'rollback')) return succeed(deploymentId, hookExecutionId, proceedReason(assessment), deps);
  // An operator may have let the release through (or paused the group) since predict assessed it: the deployment is held here until now.
  const override = await findOverride(deps.operatorControls, heldDeployment(assessment), deps.clock.now());
  if (override) return succeed(deploymentId, hookExecutionId, `the assessment of ${deploymentId} says rollback, but it is ${overrideWords(override)}`, deps);
  const reason = rollbackReason(assessment);
  const context = { source: deps.config.source, eventBusName: deps.config.eventBusName };
  if (assessment.onRisk === 'hold') return hold(assessment, hookExecutionId, reason, deps);
  await deps.publisher.publish([
    // The hook's own fallback is announced like any assessment (again on a retry: same detail and time).
    ...(isHookFallback(assessment) ? [riskAssessedEntry(assessment, [], context)] : []),
    rollbackRequestedEntry(assessment, { ...context, at: deps.clock.now(), lifecycleEventHookExecutionId: hookExecutionId, reason }),
  ]);
  return { status: 'rollback-requested', deploymentId, reason };
}

/**
 * For a deployment in the bake tier (ECS / Lambda, its group has a bake): the bake opened from the
 * stored assessment if it is not yet, and whether this execution is its BeforeAllowTraffic or its
 * AfterAllowTraffic hook (which starts the window). Anything else is not baking.
 */
async function bakeRole(assessment: AssessmentRecord, hookExecutionId: string, deps: TrafficHookDependencies): Promise<HookRole> {
  const policy = findPolicy(deps.config.groups, assessment.application, assessment.deploymentGroup);
  if (!policy?.bake || assessment.platform === 'Server' || !startsBake(assessment)) return { role: 'not-baking' };
  const closed = await deps.bakes.readClosed(assessment.deploymentId);
  const opening = closed ? undefined : bakeOf(assessment, policy, deps.clock.now());
  let role: HookRole = { role: 'not-baking' };
  await updateBook(deps.bakes, (book) => {
    const step = hookStep(book, opening, assessment.deploymentId, hookExecutionId, deps.clock.now());
    role = step.role;
    return { book: step.book, claimed: [] };
  });
  return role;
}

/**
 * A group that holds: the hold is recorded with the hook execution id and announced, and the hook is
 * NOT answered, so that CodeDeploy waits (at most its hour) for `deploy-guard approve` / `reject`,
 * which answer it, or the hold's timeout. A retry of the invocation finds the hold recorded. A later
 * hook of an approved hold (the AfterAllowTraffic a group with a bake tier names in its AppSpec) is
 * answered Succeeded: the person already let the deployment go on.
 */
async function hold(assessment: AssessmentRecord, hookExecutionId: string, reason: string, deps: TrafficHookDependencies): Promise<TrafficHookResult> {
  const { deploymentId, application, deploymentGroup } = assessment;
  const policy = findPolicy(deps.config.groups, application, deploymentGroup);
  const holding = holdPolicyOf({ mode: 'gate', onRisk: 'hold', ...(policy?.holdTimeoutMinutes ? { holdTimeoutMinutes: policy.holdTimeoutMinutes } : {}), ...(policy?.onHoldTimeout ? { onHoldTimeout: policy.onHoldTimeout } : {}) })!;
  const stored = await deps.holds.open(newHold({ deploymentId, application, deploymentGroup, platform: assessment.platform, reason, hookExecutionId }, holding, deps.clock.now()));
  if (stored.settled?.action === 'approve' && stored.hookExecutionId !== undefined && stored.hookExecutionId !== hookExecutionId) {
    return succeed(deploymentId, hookExecutionId, `${deploymentId} was held and ${settlementWords(stored.settled)}: its later hook goes on`, deps);
  }
  const context = { source: deps.config.source, eventBusName: deps.config.eventBusName };
  if (!stored.settled) await deps.publisher.publish([...(isHookFallback(assessment) ? [riskAssessedEntry(assessment, [], context)] : []), heldEntry(stored, context)]);
  return { status: 'held', deploymentId, reason, until: stored.until };
}

async function succeed(deploymentId: string, hookExecutionId: string, reason: string, deps: TrafficHookDependencies): Promise<TrafficHookResult> {
  const answer = await deps.codeDeploy.putLifecycleEventHookExecutionStatus(deploymentId, hookExecutionId, 'Succeeded');
  if (!answer.ok) return { status: 'refused', deploymentId, refusal: answer.refusal, message: answer.message };
  return { status: 'succeeded', deploymentId, reason };
}

async function waitForAssessment(deploymentId: string, deps: TrafficHookDependencies): Promise<AssessmentRecord | undefined> {
  const waitMs = deps.config.waitMs ?? DEFAULT_HOOK_WAIT_MS;
  const pollMs = deps.config.pollMs ?? DEFAULT_HOOK_POLL_MS;
  // Counted in looks, not read from the clock: the backtest's clock stands still while a handler runs.
  const waits = Math.ceil(waitMs / pollMs);
  for (let waited = 0; ; waited += 1) {
    const item = await deps.deployments.get(deploymentId);
    if (item?.assessment) return item.assessment;
    if (waited >= waits) return undefined;
    await deps.sleep(pollMs);
  }
}

function heldDeployment(assessment: AssessmentRecord): Parameters<typeof findOverride>[1] {
  const { deploymentId, application, deploymentGroup } = assessment;
  const revision = assessment.changeSummary?.revision;
  return { deploymentId, application, deploymentGroup, ...(revision ? { revision } : {}) };
}

function proceedReason(assessment: AssessmentRecord): string {
  return !assessment.enforced
    ? `the assessment of ${assessment.deploymentId} is not enforced (${assessment.mode} mode, or the deployment had already finished)`
    : `the assessment of ${assessment.deploymentId} says proceed`;
}

/** An assessment the hook stored itself: its failure policy decided because predict had stored none in time. */
export function isHookFallback(assessment: AssessmentRecord): boolean {
  return assessment.fallback?.cause === 'assessment';
}

/**
 * No assessment in time: the group's failure policy decides (a shadow group never blocks). A
 * fail-closed rollback is stored first as the deployment's assessment, so that the rollback handler
 * finds the decision it is asked to carry out; if predict stored its own meanwhile, that one decides.
 * A fail-open proceed is not stored: it needs no authority, and a late assessment by predict still
 * records the deployment's features.
 */
async function fromFailurePolicy(deploymentId: string, deps: TrafficHookDependencies): Promise<PolicyDecision> {
  const lookup = await deps.codeDeploy.getDeployment(deploymentId);
  if (!lookup.found) return { kind: 'not-found', message: lookup.message };
  const { application, deploymentGroup, computePlatform, status, createTime } = lookup.deployment;
  const waited = `no assessment of ${deploymentId} within ${deps.config.waitMs ?? DEFAULT_HOOK_WAIT_MS} ms`;
  const policy = application && deploymentGroup ? findPolicy(deps.config.groups, application, deploymentGroup) : undefined;
  if (!application || !deploymentGroup || !policy) {
    return { kind: 'succeed', reason: `${waited}, and its group ${application ?? '?'}/${deploymentGroup ?? '?'} is not guarded by Deploy Guard` };
  }
  if (policy.mode === 'shadow' || policy.failurePolicy === 'fail-open') {
    return { kind: 'succeed', reason: `${waited}; ${groupKey(application, deploymentGroup)} is ${policy.mode === 'shadow' ? 'in shadow mode' : 'fail-open'}` };
  }
  const assessedAt = deps.clock.now();
  const cut = cutWithoutModel(policy);
  const verdict = decide(policy, { kind: 'fallback', cause: 'assessment', reason: `NoAssessment: ${waited}` }, cut, { deploymentId, alreadyFinished: isFinished(status) });
  const fallback: AssessmentRecord = {
    deploymentId,
    application,
    deploymentGroup,
    platform: computePlatform,
    mode: policy.mode,
    trigger: 'START',
    probability: null,
    ...cut,
    decision: verdict.decision,
    explored: verdict.explored,
    propensity: verdict.propensity,
    enforced: verdict.enforced,
    modelVersion: 'none',
    featureRow: '',
    ...(verdict.fallback ? { fallback: verdict.fallback } : {}),
    startedAt: createTime ?? assessedAt,
    assessedAt,
    ...(holdPolicyOf(policy) ? { onRisk: 'hold' as const } : {}),
    topFactors: [],
  };
  const write = await deps.deployments.putAssessment(fallback);
  return { kind: 'assessed', assessment: write.item.assessment ?? fallback };
}

/** Reads the hook's configuration from the Lambda environment, naming the variable that is wrong. */
export function trafficHookConfigFromEnv(env: NodeJS.ProcessEnv): TrafficHookConfig {
  const waitText = env[ENV.trafficHookWaitMs];
  let waitMs = DEFAULT_HOOK_WAIT_MS;
  if (waitText !== undefined && waitText !== '') {
    waitMs = Number(waitText);
    if (!Number.isInteger(waitMs) || waitMs < 0) {
      throw new ConfigurationError(ENV.trafficHookWaitMs, `is '${waitText}': set it to a whole number of milliseconds (0 or more)`);
    }
  }
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    groups: guardedGroupsFromEnv(env),
    waitMs,
  };
}

// Module scope: created once per container, standard retry mode; AWS_ENDPOINT_URL_* honoured by the SDK.
const codeDeployClient = new CodeDeployClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<TrafficHookDependencies>> {
  return {
    codeDeploy: new AwsCodeDeploy(codeDeployClient),
    deployments: new DynamoDbDeploymentStore(
      dynamoDbClient,
      requireEnv(env, ENV.deploymentsTable, 'the DynamoDB deployments table'),
      requireEnv(env, ENV.historyTable, 'the DynamoDB history table'),
    ),
    operatorControls: new DynamoDbOperatorControlStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table')),
    bakes: new DynamoDbBakeStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table (the bakes)')),
    holds: new DynamoDbHoldStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    clock: systemClock,
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  };
}

export const TRAFFIC_HOOK: HandlerDefinition<TrafficHookDependencies, TrafficHookResult> = { declaration: TRAFFIC_HOOK_DECLARATION, handle: handleTrafficHook, configFromEnv: trafficHookConfigFromEnv, awsPorts };

export const handler = lambdaEntry(TRAFFIC_HOOK);
