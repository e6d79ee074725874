import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';
import { awsPartition } from './image-uris';
import { notificationTopicName } from './monitoring';
import { handlerFunctionName, ownNames } from '../events/names';

export interface EncryptionKeyProps {
  readonly namePrefix: string;
  /** The account that owns the key; its IAM policies then grant use of it (least privilege per role). */
  readonly accountId: string;
  readonly region: string;
  /** @default 30 */
  readonly deletionWindowInDays?: number;
}

/**
 * The log groups the key encrypts: the handlers' (`/aws/lambda/<prefix>-<handler>`, and the traffic
 * hook's, whose name CodeDeploy's managed roles dictate).
 */
export function deployGuardLogGroupArns(partition: string, region: string, accountId: string, namePrefix: string): string[] {
  const base = `arn:${partition}:logs:${region}:${accountId}:log-group:/aws/lambda`;
  return [`${base}/${ownNames(namePrefix)}*`, `${base}/${handlerFunctionName(namePrefix, 'traffic-hook')}`];
}

/**
 * The installation's customer-managed KMS key (rotation on): tables, buckets, queues, the SNS topic,
 * log groups and Lambda environment variables are encrypted with it. Its key policy lets the account
 * delegate through IAM, and lets the AWS services that write encrypted data on Deploy Guard's behalf
 * use it, each for Deploy Guard's resources only: CloudWatch Logs for this installation's log groups
 * (the log group ARN is in the encryption context), CloudWatch alarms for the notification topic (its
 * ARN is SNS's encryption context), EventBridge and SNS from this account.
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
    const { accountId, region, namePrefix } = props;
    const partition = awsPartition(region);
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
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': deployGuardLogGroupArns(partition, region, accountId, namePrefix) } },
        },
        {
          Sid: 'CloudWatchAlarmsNotifyThroughTheEncryptedTopic',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': `arn:${partition}:sns:${region}:${accountId}:${notificationTopicName(namePrefix)}` } },
        },
        {
          Sid: 'ServicesDeliverToEncryptedQueuesAndTopics',
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com', 'sns.amazonaws.com'] },
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
