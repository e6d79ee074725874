import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import { buildEntry, deploymentRiskAssessed, ROLLBACK_FAILURE_REASONS, type PutEventsEntry } from '../events/emitted';
import { parseAwsEvent, parseEmittedEvent } from '../events/parse';
import { SCHEDULED_EVENT } from '../events/aws';
import { settleExpiredHolds, type HoldTimeoutsResult } from './holds';
import { DynamoDbHoldStore } from './adapters/dynamodb-holds';
import { AwsCodeDeploy } from './adapters/codedeploy';
import { DynamoDbRollbackLedger } from './adapters/dynamodb-ledger';
import { DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { EmfMetrics } from './adapters/emf-metrics';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { ConfigurationError, ENV, eventSourceFromEnv, findPolicy, type GroupPolicy, guardedGroupsFromEnv, requireEnv } from './config';
import type {
  CodeDeployOutcome,
  CodeDeployPort,
  CodeDeployRefusal,
  DeploymentSnapshot,
  DeploymentStore,
  GuardAction,
  HoldStore,
  LedgerEntry,
  LedgerOutcome,
  MetricsPort,
  RollbackLedger,
} from './ports';
import { DEFAULT_METRICS_NAMESPACE } from './quality-metrics';
import {
  decideProceed,
  decideRollback,
  FINISHED_REFUSALS,
  isGateProceed,
  isOwnAction,
  refusalOf,
  type AskedAction,
  type GuardDecision,
  type Refusal,
  type RefusalReason,
  type RollbackRequest,
} from './rollback-domain';
import { errorText, retryWaitAfter } from './codedeploy-errors';
import { CLAIM_OUTCOME_DEADLINE_MS, ROLLBACK_METRICS, ROLLBACK_REFUSAL_DIMENSION, rollbackMetricsNamespace } from './rollback-metrics';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { ROLLBACK_DECLARATION } from './rollback.declaration';

/**
 * rollback: acts on a Deployment Rollback Requested (StopDeployment with auto-rollback, or a failed
 * traffic hook) and on a gate assessment at READY that says proceed (ContinueDeployment), but only on
 * what predict decided: the event must come from the installation's account, for a guarded group not
 * in shadow mode, and match predict's stored assessment of the deployment (refusalOf); anything else
 * is refused, counted, and acts on nothing. At most one action per deployment, however often the event
 * arrives: the ledger is claimed (with a token from the event) before CodeDeploy is called, the attempt
 * is recorded before the call, and a redelivery only finishes its own claim or republishes an outcome
 * whose event was not yet published. A rollback supersedes a proceed that has not acted.
 */

export interface RollbackConfig {
  /** The installation's event source: what requests are validated against and outcomes sent with. */
  readonly source: string;
  /** Deploy Guard's bus, by name or ARN. */
  readonly eventBusName: string;
  /** The installation's account: events put by any other account are refused. */
  readonly accountId: string;
  /** The guarded groups: a group that is not here, or is in shadow mode, is never acted on. */
  readonly groups: readonly GroupPolicy[];
  /** The model-quality namespace; the rollback metrics go to rollbackMetricsNamespace of it. */
  readonly metricsNamespace: string;
}

export interface RollbackDependencies {
  readonly codeDeploy: CodeDeployPort;
  readonly ledger: RollbackLedger;
  /** Where predict stored its assessments: the authority on what to do. */
  readonly deployments: Pick<DeploymentStore, 'get'>;
  /** The holds, settled by their timeout when the hold-timeouts schedule fires. */
  readonly holds: HoldStore;
  readonly publisher: EventPublisher;
  readonly metrics: MetricsPort;
  readonly clock: Clock;
  readonly config: RollbackConfig;
  /** Waits between attempts while CodeDeploy throttles (injected: tests and the backtest do not sleep). @default no wait */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export type RollbackResult =
  | { readonly status: 'ignored'; readonly reason: string }
  | ({ readonly status: 'hold-timeouts' } & HoldTimeoutsResult)
  | { readonly status: 'refused'; readonly deploymentId: string; readonly reason: RefusalReason; readonly message: string }
  | { readonly status: 'duplicate'; readonly deploymentId: string; readonly republished: boolean }
  | { readonly status: 'proceeded-already'; readonly deploymentId: string; readonly published: string }
  | { readonly status: 'done'; readonly deploymentId: string; readonly outcome: LedgerOutcome; readonly published?: string };

interface DeploymentRef {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
}

/** The work one event asks for, once validated, with its EventBridge id and who put it. */
type Command = { readonly ref: DeploymentRef; readonly eventId: string; readonly asked: AskedAction } & (
  | { readonly kind: 'rollback'; readonly request: RollbackRequest }
  | { readonly kind: 'proceed' }
);

type Action = Exclude<GuardDecision, { kind: 'nothing-to-do' }>;

/**
 * Validates the event (an invalid one throws EventValidationError before any AWS call), checks it
 * against the configuration and predict's stored assessment, claims the deployment, records the
 * attempt, acts, records and publishes the outcome. CodeDeploy refusals and errors become a
 * Deployment Rollback Failed; only a publishing or ledger failure is thrown (the retry of the same
 * event finishes its claim, or publishes the recorded outcome without calling CodeDeploy again).
 */
export async function handleRollbackEvent(event: unknown, deps: RollbackDependencies): Promise<RollbackResult> {
  if (detailTypeOf(event) === SCHEDULED_EVENT) return holdTimeouts(event, deps);
  const command = toCommand(event, deps.config.source);
  if ('ignored' in command) return { status: 'ignored', reason: command.ignored };
  const { ref } = command;

  const refusal = await check(command, deps);
  if (refusal) return refuse(ref.deploymentId, refusal, deps);

  const action = intendedAction(command);
  const claim = { deploymentId: ref.deploymentId, action, token: claimTokenOf(command.eventId, action), at: deps.clock.now() };
  const claimed = await deps.ledger.claim(claim);
  if (!claimed.claimed) return held(command, claimed.entry, deps);
  if (!claimed.entry.dueCounted) {
    countClaim(ROLLBACK_METRICS.claimsDue, claimed.entry.openedAt, deps);
    await deps.ledger.markDueCounted(ref.deploymentId);
  }

  const outcome = await act(command, claim.token, claimed.entry.attempt, deps);
  const recordedFirst = await recordOrFindRecorded(ref.deploymentId, claim.token, outcome, deps);
  if (recordedFirst) return held(command, recordedFirst, deps);
  countClaim(ROLLBACK_METRICS.claimsSettled, claimed.entry.openedAt, deps);
  const entry = command.kind === 'rollback' ? outcomeEntry(ref, outcome, deps.config) : undefined;
  if (entry) {
    await deps.publisher.publish([entry]);
    await deps.ledger.markPublished(ref.deploymentId);
  }
  return { status: 'done', deploymentId: ref.deploymentId, outcome, ...(entry ? { published: entry.DetailType } : {}) };
}

/**
 * The hold-timeouts schedule (one minute) fired: every hold past its timeout is settled as its group
 * says (handlers/holds.ts). Only AWS sends Scheduled Events (source aws.events); one from another
 * account than the installation's is refused all the same.
 */
async function holdTimeouts(event: unknown, deps: RollbackDependencies): Promise<RollbackResult> {
  const scheduled = parseAwsEvent(SCHEDULED_EVENT, event);
  if (scheduled.account !== deps.config.accountId) return { status: 'ignored', reason: `a Scheduled Event of account ${scheduled.account}, not this installation's (${deps.config.accountId})` };
  const result = await settleExpiredHolds(deps, { source: deps.config.source, eventBusName: deps.config.eventBusName });
  return { status: 'hold-timeouts', ...result };
}

/**
 * The claim token: the triggering event's EventBridge id (the same on every delivery and retry of
 * that event) and the action, so that a retry recognises its own claim.
 */
export function claimTokenOf(eventId: string, action: GuardAction): string {
  return `${eventId}/${action}`;
}

async function check(command: Command, deps: RollbackDependencies): Promise<Refusal | undefined> {
  const { ref, asked } = command;
  const installationAccount = deps.config.accountId;
  const policy = findPolicy(deps.config.groups, ref.application, ref.deploymentGroup);
  // What the event and the configuration already refuse needs no store read.
  const early = refusalOf(asked, { installationAccount, policy, assessment: undefined });
  if (early?.reason !== 'NoAssessment') return early;
  const assessment = (await deps.deployments.get(ref.deploymentId))?.assessment;
  return refusalOf(asked, { installationAccount, policy, assessment });
}

function refuse(deploymentId: string, refusal: Refusal, deps: RollbackDependencies): RollbackResult {
  deps.metrics.put({
    namespace: rollbackMetricsNamespace(deps.config.metricsNamespace),
    dimensions: { [ROLLBACK_REFUSAL_DIMENSION]: refusal.reason },
    values: [{ name: ROLLBACK_METRICS.refused, unit: 'Count', value: 1 }],
    at: deps.clock.now(),
  });
  return { status: 'refused', deploymentId, reason: refusal.reason, message: refusal.message };
}

/** Both halves of a claim are dated at its deadline (handlers/rollback-metrics.ts explains the alarm). */
function countClaim(name: string, openedAt: number, deps: RollbackDependencies): void {
  deps.metrics.put({
    namespace: rollbackMetricsNamespace(deps.config.metricsNamespace),
    dimensions: {},
    values: [{ name, unit: 'Count', value: 1 }],
    at: openedAt + CLAIM_OUTCOME_DEADLINE_MS,
  });
}

/**
 * Records the outcome; or, when a concurrent delivery of the same event (the same claim token) has
 * recorded one first, answers that entry: the racing delivery is a duplicate, not a failure to retry
 * into the dead-letter queue. Any other refusal (another claim holds the ledger) is thrown.
 */
async function recordOrFindRecorded(deploymentId: string, token: string, outcome: LedgerOutcome, deps: RollbackDependencies): Promise<LedgerEntry | undefined> {
  try {
    await deps.ledger.record(deploymentId, token, outcome);
    return undefined;
  } catch (error) {
    const entry = await deps.ledger.read(deploymentId);
    if (entry?.claimToken === token && entry.outcome) return entry;
    throw error;
  }
}

/**
 * The claim is held. By a proceed that has acted (or is acting): the rollback comes too late, which
 * is announced as a Deployment Rollback Failed (DeploymentAlreadyProceeded) while the proceed stays
 * recorded. Otherwise a duplicate: the recorded outcome is published if it was not yet.
 */
async function held(command: Command, entry: LedgerEntry, deps: RollbackDependencies): Promise<RollbackResult> {
  const { ref } = command;
  if (command.kind === 'rollback' && entry.action === 'ContinueDeployment') {
    const when = entry.attempt ? ` at ${eventBridgeTime(entry.attempt.at)}` : '';
    const answer = entry.outcome?.kind === 'not-done' ? `, answered ${entry.outcome.reason}` : '';
    const message = `Deploy Guard had already let ${ref.deploymentId} proceed (ContinueDeployment${when}${answer}); it does not stop a deployment it may have let through`;
    const failed = failedEntry(ref, { kind: 'not-done', reason: 'DeploymentAlreadyProceeded', message, at: deps.clock.now() }, deps.config);
    await deps.publisher.publish([failed]);
    return { status: 'proceeded-already', deploymentId: ref.deploymentId, published: failed.DetailType };
  }
  return { status: 'duplicate', deploymentId: ref.deploymentId, republished: await republish(ref, entry, deps) };
}

function toCommand(event: unknown, source: string): Command | { readonly ignored: string } {
  if (detailTypeOf(event) === deploymentRiskAssessed.detailType) {
    // parseEmittedEvent's result type is the union of every kind's detail; the schema checked this one.
    const assessed = parseEmittedEvent('Deployment Risk Assessed', event, source);
    const detail = assessed.detail;
    if (!isGateProceed(detail)) {
      return { ignored: `assessment of ${detail.deploymentId} is not an enforced gate decision to proceed at READY` };
    }
    return { kind: 'proceed', ref: refOf(detail), eventId: origin(assessed).eventId, asked: askedOf('proceed', detail, origin(assessed).account) };
  }
  const requested = parseEmittedEvent('Deployment Rollback Requested', event, source);
  const detail = requested.detail;
  return { kind: 'rollback', ref: refOf(detail), request: detail, eventId: origin(requested).eventId, asked: askedOf('rollback', detail, origin(requested).account) };
}

/** The envelope's id and account: the schema requires both as non-empty strings (its type, an Omit over an index signature, lost them). */
function origin(event: object): { readonly eventId: string; readonly account: string } {
  const { id, account } = event as { readonly id: string; readonly account: string };
  return { eventId: id, account };
}

function askedOf(kind: AskedAction['kind'], detail: DeploymentRef & Pick<AskedAction, 'platform' | 'mode'>, account: string): AskedAction {
  return { kind, ...refOf(detail), platform: detail.platform, mode: detail.mode, account };
}

function intendedAction(command: Command): GuardAction {
  if (command.kind === 'proceed') return 'ContinueDeployment';
  return command.request.lifecycleEventHookExecutionId && command.request.platform !== 'Server' ? 'LifecycleHookFailed' : 'StopDeployment';
}

/**
 * CodeDeploy still throttling after the SDK's retries is waited out here (codedeploy-errors.ts
 * retryWaitAfter: THROTTLED_ATTEMPTS attempts), not thrown: the claim is held (its lease outlasts the
 * function's timeout), and a redelivery could not take it over before the lease ends. Any other
 * error, or throttling past those attempts, is the outcome `Error`, announced. The bake follows the
 * same rule for its own rollbacks (handlers/bake.ts).
 */
async function act(command: Command, token: string, earlierAttempt: LedgerEntry['attempt'], deps: RollbackDependencies): Promise<LedgerOutcome> {
  const { deploymentId } = command.ref;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const lookup = await deps.codeDeploy.getDeployment(deploymentId);
      if (!lookup.found) return notDone('DeploymentNotFound', lookup.message, deps.clock);
      const decision = command.kind === 'rollback' ? decideRollback(command.request, lookup.deployment) : decideProceed(lookup.deployment);
      if (decision.kind === 'nothing-to-do') {
        // Already finished: perhaps by our own attempt, this claim's earlier one or a concurrent
        // delivery's of the same event (recorded before its call), so the ledger is read again.
        const attemptNow = FINISHED_REFUSALS.has(decision.reason) ? ((await deps.ledger.read(deploymentId))?.attempt ?? earlierAttempt) : earlierAttempt;
        return ownOrNotDone(intendedAction(command), attemptNow, lookup.deployment.status, decision, deps.clock);
      }
      return await carryOut(deploymentId, token, decision, deps);
    } catch (error) {
      const wait = retryWaitAfter(error, attempt);
      if (wait !== undefined) {
        await (deps.sleep ?? noWait)(wait);
        continue;
      }
      // After the SDK's own retries: access denied, an unsupported deployment type, a bug. Announced,
      // not thrown, since a retry could not do better and a person must look.
      return notDone('Error', errorText(error), deps.clock);
    }
  }
}

async function noWait(): Promise<void> {}

/**
 * Records the attempt, then calls CodeDeploy. Refused as already done right after our own attempt,
 * the deployment's status says whether the attempt was applied (its answer lost: the SDK's retry is
 * what was refused) or it finished some other way first.
 */
async function carryOut(deploymentId: string, token: string, decision: Action, deps: RollbackDependencies): Promise<LedgerOutcome> {
  const action = ACTIONS[decision.kind];
  const attempt = { action, at: deps.clock.now() };
  await deps.ledger.recordAttempt(deploymentId, token, action, attempt.at);
  const answer = await callCodeDeploy(deploymentId, decision, deps.codeDeploy);
  if (answer.ok) return { kind: 'completed', action, at: deps.clock.now() };
  if (!FINISHED_REFUSALS.has(answer.refusal)) return notDone(answer.refusal, answer.message, deps.clock);
  const now = await deps.codeDeploy.getDeployment(deploymentId);
  return ownOrNotDone(action, attempt, now.found ? now.deployment.status : undefined, { reason: answer.refusal, message: answer.message }, deps.clock);
}

const ACTIONS: Readonly<Record<Action['kind'], GuardAction>> = { stop: 'StopDeployment', 'fail-hook': 'LifecycleHookFailed', continue: 'ContinueDeployment' };

function callCodeDeploy(deploymentId: string, decision: Action, codeDeploy: CodeDeployPort): Promise<CodeDeployOutcome> {
  switch (decision.kind) {
    case 'stop':
      return codeDeploy.stopDeployment(deploymentId, { autoRollbackEnabled: true });
    case 'fail-hook':
      return codeDeploy.putLifecycleEventHookExecutionStatus(deploymentId, decision.hookExecutionId, 'Failed');
    case 'continue':
      return codeDeploy.continueDeployment(deploymentId);
  }
}

/** Nothing left to do: Deploy Guard's own success when its earlier attempt stopped the deployment, else the reason. */
function ownOrNotDone(
  action: GuardAction,
  attempt: LedgerEntry['attempt'],
  status: DeploymentSnapshot['status'] | undefined,
  why: { readonly reason: string; readonly message: string },
  clock: Clock,
): LedgerOutcome {
  if (FINISHED_REFUSALS.has(why.reason) && isOwnAction(attempt, action, status)) {
    return { kind: 'completed', action, at: clock.now(), recognisedFrom: why.reason as CodeDeployRefusal };
  }
  return notDone(why.reason, why.message, clock);
}

function notDone(reason: string, message: string, clock: Clock): LedgerOutcome {
  return { kind: 'not-done', reason, message, at: clock.now() };
}

/** A redelivery after a publishing failure: publish the recorded outcome (same detail and time) now. */
async function republish(ref: DeploymentRef, entry: LedgerEntry, deps: RollbackDependencies): Promise<boolean> {
  if (!entry.outcome || entry.published || entry.action === 'ContinueDeployment') return false;
  const outcomeEvent = outcomeEntry(ref, entry.outcome, deps.config);
  if (!outcomeEvent) return false;
  await deps.publisher.publish([outcomeEvent]);
  await deps.ledger.markPublished(ref.deploymentId);
  return true;
}

type EntryConfig = Pick<RollbackConfig, 'source' | 'eventBusName'>;

/** The event announcing a rollback's outcome; none for ContinueDeployment (no event kind says "proceeded"). */
function outcomeEntry(ref: DeploymentRef, outcome: LedgerOutcome, config: EntryConfig): PutEventsEntry | undefined {
  if (outcome.kind === 'not-done') return failedEntry(ref, outcome, config);
  if (outcome.action === 'ContinueDeployment') return undefined;
  const context = { source: config.source, eventBusName: config.eventBusName, time: new Date(outcome.at) };
  return buildEntry('Deployment Rollback Completed', { schemaVersion: '1', ...ref, action: outcome.action, completedAt: eventBridgeTime(outcome.at) }, context);
}

function failedEntry(ref: DeploymentRef, outcome: Extract<LedgerOutcome, { kind: 'not-done' }>, config: EntryConfig): PutEventsEntry {
  const context = { source: config.source, eventBusName: config.eventBusName, time: new Date(outcome.at) };
  return buildEntry(
    'Deployment Rollback Failed',
    { schemaVersion: '1', ...ref, reason: failureReason(outcome.reason), message: outcome.message, failedAt: eventBridgeTime(outcome.at) },
    context,
  );
}

function failureReason(reason: string): (typeof ROLLBACK_FAILURE_REASONS)[number] {
  return (ROLLBACK_FAILURE_REASONS as readonly string[]).includes(reason)
    ? (reason as (typeof ROLLBACK_FAILURE_REASONS)[number])
    : 'Error';
}

function refOf(detail: DeploymentRef): DeploymentRef {
  return { deploymentId: detail.deploymentId, application: detail.application, deploymentGroup: detail.deploymentGroup };
}

function detailTypeOf(event: unknown): unknown {
  return event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
}

/** A 12-digit AWS account id. */
const ACCOUNT_ID = /^\d{12}$/;

/** Reads the handler's configuration from the Lambda environment, saying which variable is wrong. */
export function rollbackConfigFromEnv(env: NodeJS.ProcessEnv): RollbackConfig {
  const accountId = requireEnv(env, ENV.accountId, "the installation's 12-digit AWS account id");
  if (!ACCOUNT_ID.test(accountId)) throw new ConfigurationError(ENV.accountId, `is '${accountId}': set it to the installation's 12-digit AWS account id`);
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    accountId,
    groups: guardedGroupsFromEnv(env),
    metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
  };
}

// Module scope: created once per container. Every client uses the SDK's standard retry mode for
// throttling and transient errors; AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const codeDeployClient = new CodeDeployClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<RollbackDependencies>> {
  return {
    codeDeploy: new AwsCodeDeploy(codeDeployClient),
    // The durable ledger: conditional writes on the control table, with a lease (45 s) between this
    // function's timeout and Lambda's first retry (handlers/adapters/in-memory-ledger.ts).
    ledger: new DynamoDbRollbackLedger(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the name of the DynamoDB control table')),
    deployments: new DynamoDbDeploymentStore(dynamoDbClient, requireEnv(env, ENV.deploymentsTable, 'the name of the DynamoDB deployments table')),
    holds: new DynamoDbHoldStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the name of the DynamoDB control table')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    metrics: new EmfMetrics(),
    clock: systemClock,
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  };
}

export const ROLLBACK: HandlerDefinition<RollbackDependencies, RollbackResult> = { declaration: ROLLBACK_DECLARATION, handle: handleRollbackEvent, configFromEnv: rollbackConfigFromEnv, awsPorts };

export const handler = lambdaEntry(ROLLBACK);
