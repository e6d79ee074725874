import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** Physical queue name. */
  readonly name: string;
  /** The KMS key (ARN or id) the queue is encrypted with. */
  readonly kmsKeyArn: string;
  /** @default 1209600 (14 days, the SQS maximum) */
  readonly messageRetentionSeconds?: number;
}

/** An SQS queue holding what could not be delivered or processed, KMS-encrypted, kept 14 days. */
export class DeadLetterQueue extends Construct {
  readonly queue: SqsQueue;
  readonly queueName: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(props.name)) {
      throw new Error(`DeadLetterQueue name '${props.name}' must be 1 to 80 letters, digits, hyphens or underscores`);
    }
    const retention = props.messageRetentionSeconds ?? 1209600;
    if (!Number.isInteger(retention) || retention < 60 || retention > 1209600) {
      throw new Error(`DeadLetterQueue messageRetentionSeconds must be an integer from 60 to 1209600, got ${retention}`);
    }
    this.queueName = props.name;
    this.queue = new SqsQueue(this, 'queue', {
      name: props.name,
      messageRetentionSeconds: retention,
      kmsMasterKeyId: props.kmsKeyArn,
      kmsDataKeyReusePeriodSeconds: 300,
    });
  }
}
