import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { systemClock, type Clock } from '../events/clock';
import { SCHEDULED_EVENT } from '../events/aws';
import { eventTimeMillis } from '../events/envelope';
import { parseAwsEvent } from '../events/parse';
import { DynamoDbShadowDigestStore } from './adapters/dynamodb-digests';
import { DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { SnsNotifications } from './adapters/sns-notifications';
import { ENV, jsonEnv, notificationSettings, requireEnv, shadowDigestSettings, type NotificationSettings, type ShadowDigestSettings } from './config';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { deliverNotification } from './notification-delivery';
import type { Notification } from './notify-domain';
import type { DeploymentStore, NotificationPort, ShadowDigestClaim, ShadowDigestStore } from './ports';
import {
  DIGEST_READ_LIMIT,
  DIGEST_WINDOW_MS,
  digestClaimDecision,
  GRADUATION_WINDOW_MS,
  groupDigest,
  shadowDigestNotification,
  type DigestClaimDecision,
  type DigestWindow,
  type GroupDigest,
} from './shadow-digest-domain';
import { SHADOW_DIGEST_DECLARATION, SHADOW_DIGEST_TIMEOUT_SECONDS } from './shadow-digest.declaration';

/**
 * shadow-digest: fired once a day by its schedule rule (events/patterns.ts shadowDigestRule), it reads
 * each shadow group's assessments the way `deploy-guard decisions` does (DeploymentStore.
 * recentAssessments), and publishes one digest of the day's shadow decisions
 * (handlers/shadow-digest-domain.ts) as notify publishes its messages. The day ends at the Scheduled
 * Event's time, not the function's clock. Nothing is sent when no shadow group had a decision.
 *
 * Once per day, though EventBridge delivers at least once and Lambda retries a failed attempt: the
 * day is claimed in the control table before it is published and marked sent after
 * (digestClaimDecision). A redelivery of a day that was sent, with the same event id or another,
 * publishes nothing (`duplicate`). An attempt that stopped between its claim and the mark (a crash,
 * SNS's answer lost) leaves the day claimed but not sent, and the next delivery publishes it
 * (`resumed`): possibly a second time, never not at all. A day without shadow decisions is not claimed.
 */

/**
 * How long another event's claim without "sent" holds off a delivery: the function's timeout and
 * 15 s, so an attempt still running keeps its claim. The delivery it holds off fails; Lambda retries
 * it a minute later, then two minutes after that, past the lease.
 */
export const DIGEST_CLAIM_LEASE_MS = (SHADOW_DIGEST_TIMEOUT_SECONDS + 15) * 1000;

/** The day is being sent by another event's delivery: this one fails, so that Lambda retries it (then it finds the day sent, or the claim expired). */
export class DigestClaimHeldError extends Error {
  override readonly name = 'DigestClaimHeldError';
  constructor(readonly claim: ShadowDigestClaim) {
    super(
      `the shadow digest of ${iso(claim.from)} to ${iso(claim.to)} is being sent by the delivery of event ${claim.token}, which claimed it at ${iso(claim.claimedAt)}: ` +
        `retry after ${iso(claim.claimedAt + DIGEST_CLAIM_LEASE_MS)}, when it is sent or its claim may be taken over`,
    );
  }
}

export interface ShadowDigestConfig {
  readonly settings: NotificationSettings;
  readonly digest: ShadowDigestSettings;
}

export interface ShadowDigestDependencies {
  readonly deployments: Pick<DeploymentStore, 'recentAssessments'>;
  /** The claim of each day told (control table). */
  readonly digests: ShadowDigestStore;
  readonly notifications: NotificationPort;
  /** When a claim is taken and a digest sent (the window comes from the event). */
  readonly clock: Clock;
  readonly config: ShadowDigestConfig;
}

interface Told {
  readonly window: { readonly from: string; readonly to: string };
  readonly groups: number;
  readonly assessed: number;
  readonly wouldBeStops: number;
}

export type ShadowDigestResult =
  | ({
      readonly status: 'sent';
      readonly subject: string;
      readonly messageIds: readonly string[];
      /** An earlier delivery claimed the day and did not record it sent: it may have been published already. */
      readonly resumed?: true;
    } & Told)
  | ({ readonly status: 'not-sent'; readonly reason: string } & Told)
  /** The day was told already (a redelivered Scheduled Event, whatever its id): nothing published, nothing read. */
  | {
      readonly status: 'duplicate';
      readonly window: Told['window'];
      readonly sentAt: string;
      /** The event whose delivery published it. */
      readonly sentBy: string;
      readonly subject: string;
      readonly messageIds: readonly string[];
    };

/**
 * Validates the Scheduled Event (a malformed one throws EventValidationError before any read), looks
 * up the day's claim, reads the day, claims it and tells it.
 */
export async function handleShadowDigestEvent(event: unknown, deps: ShadowDigestDependencies): Promise<ShadowDigestResult> {
  const scheduled = parseAwsEvent(SCHEDULED_EVENT, event);
  const to = eventTimeMillis(scheduled.time);
  const window: DigestWindow = { from: to - DIGEST_WINDOW_MS, to };
  const stored = await deps.digests.read(window.from);
  const first = settled(digestClaimDecision(stored, scheduled.id, deps.clock.now(), DIGEST_CLAIM_LEASE_MS));
  if ('status' in first) return first;

  const digests: GroupDigest[] = [];
  for (const group of deps.config.digest.groups) {
    const items = await deps.deployments.recentAssessments(group.application, group.deploymentGroup, to - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT);
    digests.push(groupDigest(group, items, window));
  }
  const told: Told = {
    window: windowWords(window),
    groups: digests.length,
    assessed: digests.reduce((sum, digest) => sum + digest.assessed, 0),
    wouldBeStops: digests.reduce((sum, digest) => sum + digest.wouldStop.length, 0),
  };
  const { settings } = deps.config;
  const notification = shadowDigestNotification(digests, window, { environment: settings.environment, region: settings.region, eventId: scheduled.id });
  if (!notification) {
    // Nothing to tell: no claim is left behind.
    const reason = digests.length === 0 ? 'no group is in shadow mode' : `no shadow-mode decision in the ${digests.length} shadow group${digests.length === 1 ? '' : 's'} from ${told.window.from} to ${told.window.to}`;
    return { status: 'not-sent', reason, ...told };
  }
  const claimed = await claimDay(window, scheduled.id, first, deps);
  if ('status' in claimed) return claimed;
  return publish(notification, window, scheduled.id, claimed.way !== 'open', told, deps);
}

type Claimable = Extract<DigestClaimDecision, { kind: 'claim' }>;

/** A decision that ends the delivery: a duplicate's result, or the held claim's error; otherwise the claim to take. */
function settled(decision: DigestClaimDecision): Claimable | ShadowDigestResult {
  if (decision.kind === 'held') throw new DigestClaimHeldError(decision.claim);
  if (decision.kind === 'claim') return decision;
  const { claim } = decision;
  return { status: 'duplicate', window: windowWords(claim), sentAt: iso(claim.sent.at), sentBy: claim.sent.eventId, subject: claim.sent.subject, messageIds: claim.sent.messageIds };
}

/** At most this many compare-and-set rounds: each lost one means another delivery wrote the claim meanwhile. */
const CLAIM_ROUNDS = 3;

/** Takes the day's claim over the one read; when another delivery wrote first, reads it again and decides again. */
async function claimDay(window: DigestWindow, token: string, decided: Claimable, deps: ShadowDigestDependencies): Promise<Claimable | ShadowDigestResult> {
  let decision = decided;
  for (let round = 1; ; round += 1) {
    const claim = { from: window.from, to: window.to, token, claimedAt: deps.clock.now() };
    if (await deps.digests.claim(claim, decision.expected)) return decision;
    if (round === CLAIM_ROUNDS) throw new Error(`the claim of the shadow digest from ${iso(window.from)} was written by another delivery ${CLAIM_ROUNDS} times while event ${token} claimed it; Lambda retries this one`);
    const next = settled(digestClaimDecision(await deps.digests.read(window.from), token, deps.clock.now(), DIGEST_CLAIM_LEASE_MS));
    if ('status' in next) return next;
    decision = next;
  }
}

/** Publishes the claimed day's digest and marks the claim sent (a crash between the two: the next delivery publishes again). */
async function publish(notification: Notification, window: DigestWindow, eventId: string, resumed: boolean, told: Told, deps: ShadowDigestDependencies): Promise<ShadowDigestResult> {
  const delivered = await deliverNotification(notification, deps.config.settings, deps.notifications);
  await deps.digests.markSent(window.from, { at: deps.clock.now(), eventId, subject: delivered.subject, messageIds: delivered.messageIds });
  return { status: 'sent', ...told, ...delivered, ...(resumed ? { resumed: true as const } : {}) };
}

const iso = (at: number) => new Date(at).toISOString();
const windowWords = (window: DigestWindow): Told['window'] => ({ from: iso(window.from), to: iso(window.to) });

export function shadowDigestConfigFromEnv(env: NodeJS.ProcessEnv): ShadowDigestConfig {
  return {
    settings: jsonEnv(env, ENV.notifications, notificationSettings, 'the notification settings (NotificationSettings JSON)'),
    digest: jsonEnv(env, ENV.shadowDigest, shadowDigestSettings, 'the shadow groups the digest covers (ShadowDigestSettings JSON)'),
  };
}

// Module scope: created once per container, standard retry mode; AWS_ENDPOINT_URL_* honoured by the SDK.
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const snsClient = new SNSClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<ShadowDigestDependencies>> {
  return {
    deployments: new DynamoDbDeploymentStore(dynamoDbClient, requireEnv(env, ENV.deploymentsTable, 'the DynamoDB deployments table')),
    digests: new DynamoDbShadowDigestStore(dynamoDbClient, requireEnv(env, ENV.controlTable, "the DynamoDB control table (the shadow digest's claims)")),
    notifications: new SnsNotifications(snsClient),
    clock: systemClock,
  };
}

export const SHADOW_DIGEST: HandlerDefinition<ShadowDigestDependencies, ShadowDigestResult> = {
  declaration: SHADOW_DIGEST_DECLARATION,
  handle: handleShadowDigestEvent,
  configFromEnv: shadowDigestConfigFromEnv,
  awsPorts,
};

export const handler = lambdaEntry(SHADOW_DIGEST);
