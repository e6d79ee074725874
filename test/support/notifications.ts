import type { NotificationMessage, NotificationPort } from '../../handlers/ports';

/** SNS Publish that keeps what it is given, answering `m-1`, `m-2`, ...: for the handlers that tell people. */
export class RecordingNotifications implements NotificationPort {
  readonly published: NotificationMessage[] = [];
  async publish(message: NotificationMessage): Promise<string> {
    this.published.push(message);
    return `m-${this.published.length}`;
  }
}
