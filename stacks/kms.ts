import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';

export interface EncryptionKeyProps {
  readonly namePrefix: string;
  /** The account that owns the key; its IAM policies then grant use of it (least privilege per role). */
  readonly accountId: string;
  readonly region: string;
  /** @default 30 */
  readonly deletionWindowInDays?: number;
}

/**
 * The installation's customer-managed KMS key (rotation on): tables, buckets, queues, the SNS topic,
 * log groups and Lambda environment variables are encrypted with it. Its key policy lets the account
 * delegate through IAM, and lets the AWS services that write encrypted data on Deploy Guard's behalf
 * (CloudWatch Logs for the log groups, EventBridge for dead-letter queues and the SNS topic,
 * CloudWatch for alarm notifications) use it, each only from this account.
 */
export class EncryptionKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    if (!/^\d{12}$/.test(props.accountId)) throw new Error(`EncryptionKey accountId must be 12 digits, got '${props.accountId}'`);
    const window = props.deletionWindowInDays ?? 30;
    if (!Number.isInteger(window) || window < 7 || window > 30) {
      throw new Error(`EncryptionKey deletionWindowInDays must be an integer from 7 to 30, got ${window}`);
    }
    const { accountId, region } = props;
    // In a key policy, Resource "*" means "this key"; no other resource can be named there.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AccountAdministersTheKeyThroughIam',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'CloudWatchLogsEncryptsDeployGuardLogGroups',
          Effect: 'Allow',
          Principal: { Service: `logs.${region}.amazonaws.com` },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${accountId}:log-group:*` } },
        },
        {
          Sid: 'ServicesDeliverToEncryptedQueuesAndTopics',
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com', 'sns.amazonaws.com'] },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
        },
      ],
    };
    this.key = new KmsKey(this, 'key', {
      description: `Deploy Guard ${props.namePrefix}: tables, buckets, queues, topic, logs`,
      enableKeyRotation: true,
      deletionWindowInDays: window,
      policy: JSON.stringify(policy),
    });
    this.alias = new KmsAlias(this, 'alias', { name: `alias/${props.namePrefix}`, targetKeyId: this.key.keyId });
  }
}
