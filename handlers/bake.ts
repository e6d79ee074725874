import { randomUUID } from 'node:crypto';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CLOUDWATCH_ALARM_STATE_CHANGE, CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, CODEDEPLOY_UNSUCCESSFUL_STATES, SCHEDULED_EVENT } from '../events/aws';
import { systemClock, type Clock } from '../events/clock';
import { buildEntry, deploymentRiskAssessed, type EntryContext, type PutEventsEntry } from '../events/emitted';
import { eventTimeMillis } from '../events/envelope';
import { parseAwsEvent, parseEmittedEvent } from '../events/parse';
import { AwsCodeDeploy } from './adapters/codedeploy';
import { EventBridgePublisher, type EventPublisher } from './adapters/event-publisher';
import { DynamoDbBakeStore, DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { EmfMetrics } from './adapters/emf-metrics';
import {
  afterCodeDeployError,
  alarmChanged,
  announcementClaimDecision,
  BAKE_CLAIM_LEASE_MS,
  bakeAction,
  bakeAnnouncement,
  bakeOf,
  type BakeAnnouncement,
  type AnnouncementClaimDecision,
  type BakeAnswer,
  closedBake,
  endedBake,
  holdsClaim,
  openBake,
  removeClosed,
  removeEnded,
  startsBake,
  sweep,
} from './bake-domain';
import { updateBook } from './bake-book';
import { BAKE_DECLARATION } from './bake.declaration';
import { ENV, eventSourceFromEnv, findPolicy, type GroupPolicy, guardedGroupsFromEnv, requireEnv } from './config';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import type { BakeAnnouncementClaim, BakeRecord, BakeStore, CodeDeployOutcome, CodeDeployPort, DeploymentStore, MetricsPort } from './ports';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_DIMENSIONS } from './quality-metrics';

/**
 * bake: watches the deployments of the bake tier after their traffic moves. It opens a bake from
 * predict's stored assessment (announced by Deployment Risk Assessed), rolls a baking deployment back
 * when one of its group's alarms goes to ALARM (CloudWatch Alarm State Change), and, every minute
 * (a schedule rule), closes the bakes whose window has ended: passed, or rolled back if an alarm is
 * in ALARM. Nothing waits in the function: the state is one compare-and-set item of the control table.
 * A rollback is claimed before CodeDeploy is called, so a deployment is rolled back at most once;
 * it is announced (Deployment Bake Rolled Back) for notify to tell, and so is a rollback CodeDeploy
 * refuses or whose call fails with an error (Deployment Rollback Failed, with the bake): the
 * deployment was not rolled back. A pass is announced too (Deployment Bake Passed), for a pipeline
 * stage or a dashboard, not for notify. An announcement is claimed before it is published, so that two
 * invocations closing the same bake at once (two deliveries of one alarm event) publish it once.
 * A baking deployment that fails or is stopped by other means (CodeDeploy Deployment State-change
 * Notification, FAILURE or STOP) ends its bake: nothing is left to roll back, and a later alarm of
 * its group must not claim it.
 */

export interface BakeConfig {
  readonly source: string;
  /** Deploy Guard's bus, where a pass is announced (Deployment Bake Passed) and a rollback on an alarm (Deployment Bake Rolled Back, or Deployment Rollback Failed when CodeDeploy refused it or its call failed). */
  readonly eventBusName: string;
  readonly groups: readonly GroupPolicy[];
  readonly metricsNamespace: string;
}

export interface BakeDependencies {
  readonly codeDeploy: CodeDeployPort;
  /** predict's stored assessments: the authority on which deployment is baked. */
  readonly deployments: Pick<DeploymentStore, 'get'>;
  readonly bakes: BakeStore;
  readonly publisher: EventPublisher;
  readonly metrics: MetricsPort;
  readonly clock: Clock;
  readonly config: BakeConfig;
  /** Waits between attempts while CodeDeploy throttles (injected: tests and the local runtime do not sleep). @default no wait */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export type BakeResult =
  | { readonly status: 'ignored'; readonly reason: string }
  | { readonly status: 'opened'; readonly deploymentId: string; readonly endsAt: number | null }
  | { readonly status: 'watched'; readonly alarmName: string; readonly closed: readonly ClosedBake[] }
  | { readonly status: 'swept'; readonly closed: readonly ClosedBake[] }
  /** The deployment failed or was stopped by other means: its bake is closed `ended` (or was closed already, as `state` says). */
  | { readonly status: 'ended'; readonly deploymentId: string; readonly state: BakeRecord['state'] };

export interface ClosedBake {
  readonly deploymentId: string;
  readonly state: BakeRecord['state'];
  readonly alarmName?: string;
  /** The error its rollback's call failed with (in the function's log line of the result). */
  readonly error?: string;
}

/**
 * The bake metrics, per group: a bake that passed, one rolled back by an alarm, one not closed as
 * asked (CodeDeploy refused, or a rollback's call failed with an error: such a rollback is also
 * announced), one whose deployment failed or was stopped by other means first.
 */
export const BAKE_METRICS = { passed: 'BakesPassed', rolledBack: 'BakeRollbacks', notDone: 'BakesNotClosed', ended: 'BakesEnded' } as const;

/** Validates the event (a malformed one throws EventValidationError before any port is called), then opens, watches or sweeps. */
export async function handleBakeEvent(event: unknown, deps: BakeDependencies): Promise<BakeResult> {
  const detailType = detailTypeOf(event);
  if (detailType === CLOUDWATCH_ALARM_STATE_CHANGE) return onAlarm(event, deps);
  if (detailType === CODEDEPLOY_DEPLOYMENT_STATE_CHANGE) return onDeploymentEnded(event, deps);
  if (detailType === SCHEDULED_EVENT) {
    const scheduled = parseAwsEvent(SCHEDULED_EVENT, event);
    const token = scheduled.id;
    const { claimed } = await updateBook(deps.bakes, (book) => sweep(book, deps.clock.now(), token));
    return { status: 'swept', closed: await closeAll(claimed, token, deps) };
  }
  const assessed = parseEmittedEvent(deploymentRiskAssessed.detailType, event, deps.config.source);
  const { deploymentId, application, deploymentGroup } = assessed.detail;
  const policy = findPolicy(deps.config.groups, application, deploymentGroup);
  if (!policy?.bake) return { status: 'ignored', reason: `${application}/${deploymentGroup} has no bake tier` };
  // The stored assessment decides, not the event.
  const assessment = (await deps.deployments.get(deploymentId))?.assessment;
  if (!assessment || !startsBake(assessment)) return { status: 'ignored', reason: `predict's stored assessment of ${deploymentId} does not put it in the bake tier` };
  // A redelivered event after the bake closed (or the hook opened and the bake ended first) opens nothing.
  if (await deps.bakes.readClosed(deploymentId)) return { status: 'ignored', reason: `the bake of ${deploymentId} is closed already` };
  const bake = bakeOf(assessment, policy, deps.clock.now());
  const { book } = await updateBook(deps.bakes, (current) => ({ book: openBake(current, bake), claimed: [] }));
  const open = book.open.find((candidate) => candidate.deploymentId === deploymentId);
  return { status: 'opened', deploymentId, endsAt: open?.endsAt ?? bake.endsAt };
}

async function onAlarm(event: unknown, deps: BakeDependencies): Promise<BakeResult> {
  const alarm = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
  const { alarmName, state } = alarm.detail;
  if (!deps.config.groups.some((group) => group.bake && (group.alarmNames ?? []).includes(alarmName))) {
    return { status: 'ignored', reason: `alarm ${alarmName} watches no group with a bake tier` };
  }
  const token = alarm.id;
  const change = { alarmName, state: { value: state.value, at: eventTimeMillis(state.timestamp) } };
  const { book, claimed } = await updateBook(deps.bakes, (current) => alarmChanged(current, change, token, deps.clock.now()));
  // A redelivery of this event finds the bakes it claimed before (its own token) and finishes them.
  const own = claimed.length > 0 ? claimed : book.open.filter((bake) => holdsClaim(book, bake.deploymentId, token));
  return { status: 'watched', alarmName, closed: await closeAll(own, token, deps) };
}

/**
 * A deployment failed or was stopped. Its bake, open and still baking (or not opened yet: the
 * assessment's event may come later), is kept closed as `ended` (the first closed bake kept stays:
 * an alarm's rollback that closed it first is not overwritten) before the book lets it go, so that a
 * later Deployment Risk Assessed, AfterAllowTraffic hook or alarm finds it closed. A bake an
 * invocation has claimed is left to it: CodeDeploy answers its call, and it closes the bake.
 */
async function onDeploymentEnded(event: unknown, deps: BakeDependencies): Promise<BakeResult> {
  const { id, detail } = parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event);
  const { deploymentId, state } = detail;
  if (!(CODEDEPLOY_UNSUCCESSFUL_STATES as readonly string[]).includes(state)) return { status: 'ignored', reason: `${deploymentId} is ${state}: only a deployment that failed or was stopped ends its bake early` };
  const open = (await deps.bakes.readBook())?.book.open.find((bake) => bake.deploymentId === deploymentId);
  if (open && open.state !== 'baking') return { status: 'ignored', reason: `the bake of ${deploymentId} is ${open.state}: the invocation that claimed it closes it` };
  const bake = open ?? (await unopenedBake(deploymentId, deps));
  if (!bake) return { status: 'ignored', reason: `${deploymentId} is not in the bake tier` };
  const kept = await deps.bakes.keepClosed(endedBake(bake, deps.clock.now()));
  if (kept.state === 'ended' && (await deps.bakes.markCounted(deploymentId, `${id}/${randomUUID()}`))) count(kept, deps);
  await updateBook(deps.bakes, (book) => ({ book: removeEnded(book, deploymentId), claimed: [] }));
  return { status: 'ended', deploymentId, state: kept.state };
}

/** The bake predict's stored assessment would open for a deployment of a group with a bake tier, if it is in the tier. */
async function unopenedBake(deploymentId: string, deps: BakeDependencies): Promise<BakeRecord | undefined> {
  const assessment = (await deps.deployments.get(deploymentId))?.assessment;
  if (!assessment || !startsBake(assessment)) return undefined;
  const policy = findPolicy(deps.config.groups, assessment.application, assessment.deploymentGroup);
  return policy?.bake ? bakeOf(assessment, policy, deps.clock.now()) : undefined;
}

/**
 * Calls CodeDeploy for each claimed bake, keeps the closed bake, announces it, counts it (once),
 * then removes it from the book (if the claim is still this token's).
 */
async function closeAll(claimed: readonly BakeRecord[], token: string, deps: BakeDependencies): Promise<ClosedBake[]> {
  // Two deliveries of one event share its id: the announcement's claim tells this invocation apart.
  const invocation = `${token}/${randomUUID()}`;
  const closed: ClosedBake[] = [];
  for (const bake of claimed) {
    const answer = await answerOf(bake, deps);
    // A refusal (or an error) may answer an earlier attempt on this claim that kept the closed bake and
    // died before letting it go (a retry of the event, the sweep taking the claim over), or the same
    // event delivered twice at once: CodeDeploy refuses the second call, which must not turn the bake
    // the first one rolled back into `not-done`. What the earlier attempt kept is the closed bake: it
    // is announced now if it was not yet (the same detail and time), and not again if it was. Of two
    // invocations keeping it at once, the first keeps it and the other goes on with what it kept.
    const earlier = answer.ok ? undefined : await deps.bakes.readClosed(bake.deploymentId);
    const record = earlier ?? (await deps.bakes.keepClosed(closedBake(bake, answer, deps.clock.now())));
    await announceClosing(record, invocation, deps);
    // Counted once, before the book lets it go (a retry after a crash past this point finds it
    // counted): by the invocation that marks it, not by a second delivery of the same event running
    // beside this one (it shares the claim's token, not the invocation).
    if (await deps.bakes.markCounted(bake.deploymentId, invocation)) count(record, deps);
    await updateBook(deps.bakes, (book) => ({ book: removeClosed(book, bake.deploymentId, token), claimed: [] }));
    if (!earlier) closed.push({ deploymentId: record.deploymentId, state: record.state, ...(record.alarmName ? { alarmName: record.alarmName } : {}), ...(record.error ? { error: record.error } : {}) });
  }
  return closed;
}

/** Another invocation is announcing the closed bake: this one fails, so that Lambda retries it (it then finds the bake announced, or the claim past its lease). */
export class BakeAnnouncementHeldError extends Error {
  override readonly name = 'BakeAnnouncementHeldError';
  constructor(
    readonly deploymentId: string,
    readonly claim: BakeAnnouncementClaim,
  ) {
    super(
      `the closed bake of ${deploymentId} is being announced by invocation ${claim.token}, which claimed it at ${new Date(claim.at).toISOString()}: ` +
        `retry after ${new Date(claim.at + BAKE_CLAIM_LEASE_MS).toISOString()}, when it is announced or its claim may be taken over`,
    );
  }
}

/** At most this many compare-and-set rounds on an announcement's claim: each lost one means another invocation claimed it meanwhile. */
const ANNOUNCEMENT_CLAIM_ROUNDS = 3;

/**
 * Announces a bake's pass (Deployment Bake Passed), its rollback on an alarm (Deployment Bake Rolled
 * Back), or its refusal by CodeDeploy or failure with an error (Deployment Rollback Failed, with the
 * bake): claims the announcement (announcementClaimDecision), publishes, then marks the closed bake
 * announced. Once, whether the invocation that closed it or a retry of its event (or the sweep taking
 * its claim over) gets here, and whether one or two of them at the same moment; an invocation that
 * died between its claim and the mark is taken over past the lease, which announces again rather
 * than never.
 */
async function announceClosing(record: BakeRecord, invocation: string, deps: BakeDependencies): Promise<void> {
  const announcement = bakeAnnouncement(record);
  if (!announcement) return;
  let decision = announcementClaimDecision(record, invocation, deps.clock.now());
  let claim: BakeAnnouncementClaim | undefined;
  for (let round = 1; decision.kind === 'claim'; round += 1) {
    const attempt = { token: invocation, at: deps.clock.now() };
    if (await deps.bakes.claimAnnouncement(record.deploymentId, attempt, decision.expected)) {
      claim = attempt;
      break;
    }
    if (round === ANNOUNCEMENT_CLAIM_ROUNDS) throw new Error(`the announcement of the closed bake of ${record.deploymentId} was claimed by other invocations ${ANNOUNCEMENT_CLAIM_ROUNDS} times while ${invocation} claimed it; Lambda retries this one`);
    decision = settledClaim(await deps.bakes.readClosed(record.deploymentId), record.deploymentId, invocation, deps);
  }
  if (decision.kind === 'announced') return;
  if (decision.kind === 'held') throw new BakeAnnouncementHeldError(record.deploymentId, decision.claim);
  const context: EntryContext = { source: deps.config.source, eventBusName: deps.config.eventBusName, time: new Date(record.closedAt!) };
  try {
    await deps.publisher.publish([announcementEntry(announcement, context)]);
  } catch (error) {
    // Publishing failed: the claim is let go of, so that Lambda's retry announces it at once rather
    // than after the lease (a failure to let go leaves it to the lease).
    await deps.bakes.releaseAnnouncement(record.deploymentId, claim!).catch(() => undefined);
    throw error;
  }
  await deps.bakes.markAnnounced(record.deploymentId, deps.clock.now());
}

function settledClaim(kept: BakeRecord | undefined, deploymentId: string, invocation: string, deps: BakeDependencies): AnnouncementClaimDecision {
  if (!kept) throw new Error(`the closed bake of ${deploymentId} is no longer kept; its announcement cannot be claimed`);
  return announcementClaimDecision(kept, invocation, deps.clock.now());
}

function announcementEntry(announcement: BakeAnnouncement, context: EntryContext): PutEventsEntry {
  switch (announcement.kind) {
    case 'Deployment Bake Passed':
      return buildEntry(announcement.kind, announcement.detail, context);
    case 'Deployment Bake Rolled Back':
      return buildEntry(announcement.kind, announcement.detail, context);
    case 'Deployment Rollback Failed':
      return buildEntry(announcement.kind, announcement.detail, context);
  }
}

/**
 * CodeDeploy's answer for a claimed bake. An error that is not a refusal is tried again while
 * CodeDeploy throttles; then a rollback's error is the answer (the bake closed `not-done` and
 * announced), a pass's is thrown (afterCodeDeployError says why).
 */
async function answerOf(bake: BakeRecord, deps: BakeDependencies): Promise<BakeAnswer> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await act(bake, deps.codeDeploy);
    } catch (error) {
      const next = afterCodeDeployError(bake, error, attempt);
      if (next.kind === 'rethrow') throw error;
      if (next.kind === 'give-up') return { ok: false, error: next.error };
      await (deps.sleep ?? noWait)(next.ms);
    }
  }
}

async function noWait(): Promise<void> {}

async function act(bake: BakeRecord, codeDeploy: CodeDeployPort): Promise<CodeDeployOutcome> {
  const action = bakeAction(bake);
  switch (action.kind) {
    case 'stop':
      return codeDeploy.stopDeployment(bake.deploymentId, { autoRollbackEnabled: true });
    case 'fail-hook':
      return codeDeploy.putLifecycleEventHookExecutionStatus(bake.deploymentId, action.hookExecutionId, 'Failed');
    case 'succeed-hook':
      return codeDeploy.putLifecycleEventHookExecutionStatus(bake.deploymentId, action.hookExecutionId, 'Succeeded');
    case 'nothing':
      return { ok: true };
  }
}

function count(record: BakeRecord, deps: BakeDependencies): void {
  const name = record.state === 'rolled-back' ? BAKE_METRICS.rolledBack : record.state === 'passed' ? BAKE_METRICS.passed : record.state === 'ended' ? BAKE_METRICS.ended : BAKE_METRICS.notDone;
  deps.metrics.put({
    namespace: deps.config.metricsNamespace,
    dimensions: { [QUALITY_DIMENSIONS.application]: record.application, [QUALITY_DIMENSIONS.deploymentGroup]: record.deploymentGroup },
    values: [{ name, unit: 'Count', value: 1 }],
    at: record.closedAt ?? deps.clock.now(),
  });
}

function detailTypeOf(event: unknown): unknown {
  return event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
}

/** Reads the handler's configuration from the Lambda environment, naming the variable that is wrong. */
export function bakeConfigFromEnv(env: NodeJS.ProcessEnv): BakeConfig {
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    groups: guardedGroupsFromEnv(env),
    metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
  };
}

// Module scope: created once per container, standard retry mode; AWS_ENDPOINT_URL_* honoured by the SDK.
const codeDeployClient = new CodeDeployClient({ retryMode: 'standard' });
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const eventBridgeClient = new EventBridgeClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<BakeDependencies>> {
  return {
    codeDeploy: new AwsCodeDeploy(codeDeployClient),
    deployments: new DynamoDbDeploymentStore(dynamoDbClient, requireEnv(env, ENV.deploymentsTable, 'the DynamoDB deployments table')),
    bakes: new DynamoDbBakeStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table (the bakes)')),
    publisher: new EventBridgePublisher(eventBridgeClient),
    metrics: new EmfMetrics(),
    clock: systemClock,
    sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
  };
}

export const BAKE: HandlerDefinition<BakeDependencies, BakeResult> = { declaration: BAKE_DECLARATION, handle: handleBakeEvent, configFromEnv: bakeConfigFromEnv, awsPorts };

export const handler = lambdaEntry(BAKE);
