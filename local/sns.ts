import type { Clock } from '../events/clock';
import type { NotificationMessage, NotificationPort } from '../handlers/ports';

/** A message as the local SNS stand-in received it. */
export interface PublishedNotification extends NotificationMessage {
  readonly messageId: string;
  /** Virtual time of the publish. */
  readonly at: number;
}

/**
 * SNS Publish on a laptop: keeps every message notify publishes, in order, for the report and the
 * tests to read (nobody subscribes). Refuses what SNS refuses: a subject that is not one line of
 * printable ASCII under 100 characters, an empty body.
 */
export class LocalNotifications implements NotificationPort {
  private readonly sent: PublishedNotification[] = [];

  constructor(private readonly clock: Clock) {}

  async publish(message: NotificationMessage): Promise<string> {
    if (!/^[\x20-\x7e]{1,99}$/.test(message.subject)) throw new Error(`InvalidParameter: Subject must be 1 to 99 printable ASCII characters on one line, got ${JSON.stringify(message.subject)}`);
    if (message.body.length === 0) throw new Error('InvalidParameter: Empty message');
    const messageId = `local-sns-${(this.sent.length + 1).toString(16).padStart(8, '0')}`;
    this.sent.push({ ...message, messageId, at: this.clock.now() });
    return messageId;
  }

  /** Every message published so far, oldest first. */
  get published(): readonly PublishedNotification[] {
    return this.sent;
  }
}
