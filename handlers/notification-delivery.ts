import type { NotificationSettings } from './config';
import { chatbotNotification, emailSubject, plainTextBody, type Notification } from './notify-domain';
import type { NotificationPort } from './ports';

/** What was published: the e-mail subject and SNS's message ids (the notification topic's, then the chat topic's). */
export interface Delivered {
  readonly subject: string;
  readonly messageIds: readonly string[];
}

/**
 * Publishes a message to the notification topic (subject and plain text, for e-mail) and, when a chat
 * channel is configured, to the chat topic as an AWS Chatbot custom notification: notify's and the
 * shadow digest's one way of telling people.
 */
export async function deliverNotification(notification: Notification, settings: NotificationSettings, port: NotificationPort): Promise<Delivered> {
  const subject = emailSubject(notification.title);
  const messageIds = [await port.publish({ topicArn: settings.topicArn, subject, body: plainTextBody(notification) })];
  if (settings.chatTopicArn) {
    messageIds.push(await port.publish({ topicArn: settings.chatTopicArn, subject, body: JSON.stringify(chatbotNotification(notification)) }));
  }
  return { subject, messageIds };
}
