import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBridgeTime, systemClock, type Clock } from '../events/clock';
import {
  buildEntry,
  DEFAULT_EVENT_SOURCE,
  deploymentRiskAssessed,
  ROLLBACK_FAILURE_REASONS,
  validateEventSource,
  type PutEventsEntry,
} from '../events/emitted';
import { parseEmittedEvent } from '../events/parse';
import { AwsCodeDeploy } from './adapters/codedeploy';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { DynamoDbRollbackLedger } from './adapters/dynamodb-ledger';
import { ENV, requireEnv } from './config';
import type { CodeDeployOutcome, CodeDeployPort, GuardAction, LedgerOutcome, RollbackLedger } from './ports';
import { decideProceed, decideRollback, isGateProceed, type GuardDecision, type RollbackRequest } from './rollback-domain';

/**
 * rollback: acts on a Deployment Rollback Requested (StopDeployment with auto-rollback, or a failed
 * traffic hook) and on a gate assessment at READY that says proceed (ContinueDeployment). At most
 * one action per deployment, however often the event arrives: the ledger is claimed before CodeDeploy
 * is called, and a redelivery only republishes an outcome whose event was not yet published. A claim
 * left without an outcome by a crash is retried by a redelivery once its lease expires (see RollbackLedger).
 */

export interface RollbackConfig {
  /** The installation's event source: what requests are validated against and outcomes sent with. */
  readonly source: string;
  /** Deploy Guard's bus, by name or ARN. */
  readonly eventBusName: string;
}

export interface RollbackDependencies {
  readonly codeDeploy: CodeDeployPort;
  readonly ledger: RollbackLedger;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly config: RollbackConfig;
  /** Waits between attempts while CodeDeploy throttles (injected: tests and the backtest do not sleep). @default no wait */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export type RollbackResult =
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'duplicate'; readonly deploymentId: string; readonly republished: boolean }
  | { readonly status: 'done'; readonly deploymentId: string; readonly outcome: LedgerOutcome; readonly published?: string };

interface DeploymentRef {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
}

/** The work one event asks for, once validated. */
type Command =
  | { readonly kind: 'rollback'; readonly ref: DeploymentRef; readonly request: RollbackRequest }
  | { readonly kind: 'proceed'; readonly ref: DeploymentRef };

/**
 * Validates the event (an invalid one throws EventValidationError before any AWS call), claims the
 * deployment, acts, records and publishes the outcome. CodeDeploy refusals and errors become a
 * Deployment Rollback Failed; only a publishing failure is thrown (the outcome stays recorded, and
 * the redelivered event publishes it without calling CodeDeploy again).
 */
export async function handleRollbackEvent(event: unknown, deps: RollbackDependencies): Promise<RollbackResult> {
  const command = toCommand(event, deps.config.source);
  if ('ignored' in command) return { status: 'ignored', reason: command.ignored };
  const { ref } = command;

  if (!(await deps.ledger.claim(ref.deploymentId, intendedAction(command), deps.clock.now()))) {
    return { status: 'duplicate', deploymentId: ref.deploymentId, republished: await republish(ref, deps) };
  }

  const outcome = await act(command, deps);
  await deps.ledger.record(ref.deploymentId, outcome);
  const entry = command.kind === 'rollback' ? outcomeEntry(ref, outcome, deps.config) : undefined;
  if (entry) {
    await deps.publisher.publish([entry]);
    await deps.ledger.markPublished(ref.deploymentId);
  }
  return { status: 'done', deploymentId: ref.deploymentId, outcome, ...(entry ? { published: entry.DetailType } : {}) };
}

function toCommand(event: unknown, source: string): Command | { readonly ignored: string } {
  if (detailTypeOf(event) === deploymentRiskAssessed.detailType) {
    // parseEmittedEvent's result type is the union of every kind's detail; the schema checked this one.
    const detail = parseEmittedEvent('Deployment Risk Assessed', event, source).detail;
    if (!isGateProceed(detail)) {
      return { ignored: `assessment of ${detail.deploymentId} is not an enforced gate decision to proceed at READY` };
    }
    return { kind: 'proceed', ref: refOf(detail) };
  }
  const detail = parseEmittedEvent('Deployment Rollback Requested', event, source).detail;
  return { kind: 'rollback', ref: refOf(detail), request: detail };
}

function intendedAction(command: Command): GuardAction {
  if (command.kind === 'proceed') return 'ContinueDeployment';
  return command.request.lifecycleEventHookExecutionId && command.request.platform !== 'Server' ? 'LifecycleHookFailed' : 'StopDeployment';
}

/**
 * Attempts at the CodeDeploy calls when CodeDeploy is still throttling after the SDK's retries. The
 * claim is held (its lease outlasts the function's timeout), and a redelivery could not take it over
 * before the lease ends, so throttling is waited out here rather than thrown or announced as a failure.
 */
export const THROTTLED_ATTEMPTS = 3;
const THROTTLED_WAIT_MS = 1_000;

async function act(command: Command, deps: RollbackDependencies): Promise<LedgerOutcome> {
  const { deploymentId } = command.ref;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const lookup = await deps.codeDeploy.getDeployment(deploymentId);
      if (!lookup.found) return notDone('DeploymentNotFound', lookup.message, deps.clock);
      const decision = command.kind === 'rollback' ? decideRollback(command.request, lookup.deployment) : decideProceed(lookup.deployment);
      return await carryOut(deploymentId, decision, deps);
    } catch (error) {
      if (isThrottling(error) && attempt < THROTTLED_ATTEMPTS) {
        await (deps.sleep ?? noWait)(THROTTLED_WAIT_MS * 2 ** (attempt - 1));
        continue;
      }
      // After the SDK's own retries: access denied, an unsupported deployment type, a bug. Announced,
      // not thrown, since a retry could not do better and a person must look.
      return notDone('Error', error instanceof Error ? `${error.name}: ${error.message}` : String(error), deps.clock);
    }
  }
}

/** CodeDeploy's throttling errors (ThrottlingException; the SDK marks them $retryable.throttling). */
function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'ThrottlingException' || (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true;
}

async function noWait(): Promise<void> {}

async function carryOut(deploymentId: string, decision: GuardDecision, deps: RollbackDependencies): Promise<LedgerOutcome> {
  switch (decision.kind) {
    case 'nothing-to-do':
      return notDone(decision.reason, decision.message, deps.clock);
    case 'stop':
      return settle('StopDeployment', await deps.codeDeploy.stopDeployment(deploymentId, { autoRollbackEnabled: true }), deps.clock);
    case 'fail-hook':
      return settle(
        'LifecycleHookFailed',
        await deps.codeDeploy.putLifecycleEventHookExecutionStatus(deploymentId, decision.hookExecutionId, 'Failed'),
        deps.clock,
      );
    case 'continue':
      return settle('ContinueDeployment', await deps.codeDeploy.continueDeployment(deploymentId), deps.clock);
  }
}

function settle(action: GuardAction, answer: CodeDeployOutcome, clock: Clock): LedgerOutcome {
  return answer.ok ? { kind: 'completed', action, at: clock.now() } : notDone(answer.refusal, answer.message, clock);
}

function notDone(reason: string, message: string, clock: Clock): LedgerOutcome {
  return { kind: 'not-done', reason, message, at: clock.now() };
}

/** A redelivery after a publishing failure: publish the recorded outcome (same detail and time) now. */
async function republish(ref: DeploymentRef, deps: RollbackDependencies): Promise<boolean> {
  const entry = await deps.ledger.read(ref.deploymentId);
  if (!entry?.outcome || entry.published || entry.action === 'ContinueDeployment') return false;
  const outcomeEvent = outcomeEntry(ref, entry.outcome, deps.config);
  if (!outcomeEvent) return false;
  await deps.publisher.publish([outcomeEvent]);
  await deps.ledger.markPublished(ref.deploymentId);
  return true;
}

/** The event announcing a rollback's outcome; none for ContinueDeployment (no event kind says "proceeded"). */
function outcomeEntry(ref: DeploymentRef, outcome: LedgerOutcome, config: RollbackConfig): PutEventsEntry | undefined {
  const time = new Date(outcome.at);
  const context = { source: config.source, eventBusName: config.eventBusName, time };
  const base = { schemaVersion: '1' as const, ...ref };
  if (outcome.kind === 'completed') {
    if (outcome.action === 'ContinueDeployment') return undefined;
    return buildEntry('Deployment Rollback Completed', { ...base, action: outcome.action, completedAt: eventBridgeTime(outcome.at) }, context);
  }
  return buildEntry(
    'Deployment Rollback Failed',
    { ...base, reason: failureReason(outcome.reason), message: outcome.message, failedAt: eventBridgeTime(outcome.at) },
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

/** Reads the handler's configuration from the Lambda environment, saying which variable is wrong. */
export function rollbackConfigFromEnv(env: NodeJS.ProcessEnv): RollbackConfig {
  const eventBusName = env.DEPLOY_GUARD_EVENT_BUS;
  if (!eventBusName) throw new Error('DEPLOY_GUARD_EVENT_BUS is not set: set it to the name or ARN of Deploy Guard\'s event bus');
  return { source: validateEventSource(env.DEPLOY_GUARD_EVENT_SOURCE || DEFAULT_EVENT_SOURCE), eventBusName };
}

// Module scope: created once per container. Every client uses the SDK's standard retry mode for
// throttling and transient errors; AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const codeDeployClient = new CodeDeployClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
let lambdaDependencies: RollbackDependencies | undefined;

export const handler = async (event: unknown): Promise<RollbackResult> => {
  lambdaDependencies ??= {
    codeDeploy: new AwsCodeDeploy(codeDeployClient),
    // The durable ledger: a conditional write on the control table, with a lease (60 s) longer
    // than this function's timeout, so a crash between claim and record is retried by a redelivery.
    ledger: new DynamoDbRollbackLedger(dynamoDbClient, requireEnv(process.env, ENV.controlTable, 'the name of the DynamoDB control table')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    clock: systemClock,
    config: rollbackConfigFromEnv(process.env),
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  };
  const result = await handleRollbackEvent(event, lambdaDependencies);
  console.log(JSON.stringify({ handler: 'rollback', ...result }));
  return result;
};
