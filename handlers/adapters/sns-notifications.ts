import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { NotificationMessage, NotificationPort } from '../ports';

/** Publishes notifications with SNS Publish (the SDK's standard retry mode retries throttling). */
export class SnsNotifications implements NotificationPort {
  constructor(private readonly client: SNSClient) {}

  async publish(message: NotificationMessage): Promise<string> {
    const answer = await this.client.send(new PublishCommand({ TopicArn: message.topicArn, Subject: message.subject, Message: message.body }));
    if (!answer.MessageId) throw new Error(`SNS Publish to ${message.topicArn} answered without a MessageId`);
    return answer.MessageId;
  }
}
