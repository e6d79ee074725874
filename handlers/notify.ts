import { SNSClient } from '@aws-sdk/client-sns';
import { EMITTED_EVENTS } from '../events/emitted';
import { parseEmittedEvent } from '../events/parse';
import { EventValidationError } from '../events/validation';
import { SnsNotifications } from './adapters/sns-notifications';
import { ENV, eventSourceFromEnv, jsonEnv, notificationSettings, type NotificationSettings } from './config';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { NOTIFY_DECLARATION } from './notify.declaration';
import { deliverNotification } from './notification-delivery';
import { notificationOf, NOTIFIED_EVENTS, type NotifiedEvent, type NotifiedEventKind, type NotSent } from './notify-domain';
import type { NotificationPort } from './ports';

/**
 * notify: one readable message per decision that matters (handlers/notify-domain.ts), published to
 * the notification topic (subject and plain text, for e-mail) and, when a chat channel is configured,
 * to the chat topic as an AWS Chatbot custom notification (handlers/notification-delivery.ts). An event it cannot format is an
 * EventValidationError: the invocation fails and, after Lambda's retries, the event reaches the
 * function's dead-letter queue; nothing is dropped silently.
 */

export interface NotifyConfig {
  /** The installation's event source: events of any other source are refused. */
  readonly source: string;
  readonly settings: NotificationSettings;
}

export interface NotifyDependencies {
  readonly notifications: NotificationPort;
  readonly config: NotifyConfig;
}

export type NotifyResult =
  | { readonly status: 'notified'; readonly detailType: NotifiedEventKind; readonly deploymentId?: string; readonly subject: string; readonly messageIds: readonly string[] }
  | ({ readonly status: 'not-notified'; readonly detailType: NotifiedEventKind; readonly deploymentId?: string } & Omit<NotSent, 'sent'>);

/** Validates the event, formats its message and publishes it to each configured topic. */
export async function handleNotifyEvent(event: unknown, deps: NotifyDependencies): Promise<NotifyResult> {
  const parsed = parseNotifiedEvent(event, deps.config.source);
  const { settings } = deps.config;
  const decision = notificationOf(parsed, { environment: settings.environment, region: settings.region });
  const deploymentId = 'deploymentId' in parsed.detail ? parsed.detail.deploymentId : undefined;
  const about = { detailType: parsed['detail-type'], ...(deploymentId ? { deploymentId } : {}) };
  if (!decision.sent) return { status: 'not-notified', ...about, reason: decision.reason };
  return { status: 'notified', ...about, ...(await deliverNotification(decision.notification, settings, deps.notifications)) };
}

/** One of the events notify formats, of the installation's source; anything else is an EventValidationError. */
export function parseNotifiedEvent(event: unknown, source: string): NotifiedEvent {
  const detailType = event !== null && typeof event === 'object' ? (event as Record<string, unknown>)['detail-type'] : undefined;
  if (typeof detailType !== 'string' || !(NOTIFIED_EVENTS as readonly string[]).includes(detailType)) {
    throw new EventValidationError('notify', [
      { path: 'detail-type', message: `expected one of ${NOTIFIED_EVENTS.join(', ')} (the events notify formats), got ${JSON.stringify(detailType ?? null)}` },
    ]);
  }
  const kind = detailType as NotifiedEventKind satisfies keyof typeof EMITTED_EVENTS;
  return parseEmittedEvent(kind, event, source) as NotifiedEvent;
}

export function notifyConfigFromEnv(env: NodeJS.ProcessEnv): NotifyConfig {
  return { source: eventSourceFromEnv(env), settings: jsonEnv(env, ENV.notifications, notificationSettings, 'the notification settings (NotificationSettings JSON)') };
}

// Module scope: created once per container, standard retry mode; AWS_ENDPOINT_URL_SNS is honoured by the SDK.
const snsClient = new SNSClient({ retryMode: 'standard' });

function awsPorts(): Required<PortsOf<NotifyDependencies>> {
  return { notifications: new SnsNotifications(snsClient) };
}

export const NOTIFY: HandlerDefinition<NotifyDependencies, NotifyResult> = {
  declaration: NOTIFY_DECLARATION,
  handle: handleNotifyEvent,
  configFromEnv: notifyConfigFromEnv,
  awsPorts,
};

export const handler = lambdaEntry(NOTIFY);
