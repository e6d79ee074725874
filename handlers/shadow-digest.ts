import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SCHEDULED_EVENT } from '../events/aws';
import { eventTimeMillis } from '../events/envelope';
import { parseAwsEvent } from '../events/parse';
import { DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { SnsNotifications } from './adapters/sns-notifications';
import { ENV, jsonEnv, notificationSettings, requireEnv, shadowDigestSettings, type NotificationSettings, type ShadowDigestSettings } from './config';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { deliverNotification } from './notification-delivery';
import type { DeploymentStore, NotificationPort } from './ports';
import { DIGEST_READ_LIMIT, DIGEST_WINDOW_MS, GRADUATION_WINDOW_MS, groupDigest, shadowDigestNotification, type DigestWindow, type GroupDigest } from './shadow-digest-domain';
import { SHADOW_DIGEST_DECLARATION } from './shadow-digest.declaration';

/**
 * shadow-digest: fired once a day by its schedule rule (events/patterns.ts shadowDigestRule), it reads
 * each shadow group's assessments the way `deploy-guard decisions` does (DeploymentStore.
 * recentAssessments), and publishes one digest of the day's shadow decisions
 * (handlers/shadow-digest-domain.ts) as notify publishes its messages. The day ends at the Scheduled
 * Event's time, not the function's clock. Nothing is sent when no shadow group had a decision.
 */

export interface ShadowDigestConfig {
  readonly settings: NotificationSettings;
  readonly digest: ShadowDigestSettings;
}

export interface ShadowDigestDependencies {
  readonly deployments: Pick<DeploymentStore, 'recentAssessments'>;
  readonly notifications: NotificationPort;
  readonly config: ShadowDigestConfig;
}

interface Told {
  readonly window: { readonly from: string; readonly to: string };
  readonly groups: number;
  readonly assessed: number;
  readonly wouldBeStops: number;
}

export type ShadowDigestResult =
  | ({ readonly status: 'sent'; readonly subject: string; readonly messageIds: readonly string[] } & Told)
  | ({ readonly status: 'not-sent'; readonly reason: string } & Told);

/** Validates the Scheduled Event (a malformed one throws EventValidationError before any read), reads the day, tells it. */
export async function handleShadowDigestEvent(event: unknown, deps: ShadowDigestDependencies): Promise<ShadowDigestResult> {
  const scheduled = parseAwsEvent(SCHEDULED_EVENT, event);
  const to = eventTimeMillis(scheduled.time);
  const window: DigestWindow = { from: to - DIGEST_WINDOW_MS, to };
  const digests: GroupDigest[] = [];
  for (const group of deps.config.digest.groups) {
    const items = await deps.deployments.recentAssessments(group.application, group.deploymentGroup, to - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT);
    digests.push(groupDigest(group, items, window));
  }
  const told: Told = {
    window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
    groups: digests.length,
    assessed: digests.reduce((sum, digest) => sum + digest.assessed, 0),
    wouldBeStops: digests.reduce((sum, digest) => sum + digest.wouldStop.length, 0),
  };
  const { settings } = deps.config;
  const notification = shadowDigestNotification(digests, window, { environment: settings.environment, region: settings.region, eventId: scheduled.id });
  if (!notification) {
    const reason = digests.length === 0 ? 'no group is in shadow mode' : `no shadow-mode decision in the ${digests.length} shadow group${digests.length === 1 ? '' : 's'} from ${told.window.from} to ${told.window.to}`;
    return { status: 'not-sent', reason, ...told };
  }
  return { status: 'sent', ...told, ...(await deliverNotification(notification, settings, deps.notifications)) };
}

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
    notifications: new SnsNotifications(snsClient),
  };
}

export const SHADOW_DIGEST: HandlerDefinition<ShadowDigestDependencies, ShadowDigestResult> = {
  declaration: SHADOW_DIGEST_DECLARATION,
  handle: handleShadowDigestEvent,
  configFromEnv: shadowDigestConfigFromEnv,
  awsPorts,
};

export const handler = lambdaEntry(SHADOW_DIGEST);
