import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration, type S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA as S3BucketVersioning } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Construct } from 'constructs';
import { TABLES, tableName, type TableDefinition, type TableName } from '../handlers/tables';
import { ownName } from '../events/names';

/** The three buckets: labelled training rows, model artifacts (and training code), endpoint data capture. */
export const BUCKET_PURPOSES = ['data', 'models', 'captures'] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

export interface DataStoresProps {
  readonly namePrefix: string;
  /** Part of the bucket names, which are global: `<prefix>-<purpose>-<accountId>`. */
  readonly accountId: string;
  /** The KMS key (ARN) of tables and buckets. */
  readonly kmsKeyArn: string;
  /** Refuse `terraform destroy` of the tables. @default true */
  readonly deletionProtection?: boolean;
  /** Days noncurrent object versions are kept in the data and model buckets. @default 90 */
  readonly noncurrentVersionDays?: number;
  /** Days endpoint data-capture objects are kept. @default 30 */
  readonly captureRetentionDays?: number;
}

/**
 * Deploy Guard's state: the DynamoDB tables of handlers/tables.ts (on demand, point-in-time
 * recovery, KMS encryption, TTL where the definition has one) and the S3 buckets (versioned,
 * SSE-KMS, public access blocked, TLS only, owner-enforced, with lifecycle rules).
 */
export class DataStores extends Construct {
  readonly tables: Readonly<Record<TableName, DynamodbTable>>;
  readonly buckets: Readonly<Record<BucketPurpose, S3Bucket>>;
  /** Physical names, known at synthesis (for ARNs and environment variables). */
  readonly tableNames: Readonly<Record<TableName, string>>;
  readonly bucketNames: Readonly<Record<BucketPurpose, string>>;

  constructor(scope: Construct, id: string, props: DataStoresProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9-]{0,29}$/.test(props.namePrefix)) {
      throw new Error(`DataStores namePrefix '${props.namePrefix}' must be 1 to 30 lowercase letters, digits or hyphens, starting with a letter`);
    }
    if (!/^\d{12}$/.test(props.accountId)) throw new Error(`DataStores accountId must be 12 digits, got '${props.accountId}'`);
    const noncurrentDays = props.noncurrentVersionDays ?? 90;
    const captureDays = props.captureRetentionDays ?? 30;
    for (const [key, value] of [['noncurrentVersionDays', noncurrentDays], ['captureRetentionDays', captureDays]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`DataStores ${key} must be a positive integer, got ${value}`);
    }

    const tables = {} as Record<TableName, DynamodbTable>;
    const tableNames = {} as Record<TableName, string>;
    for (const [key, definition] of Object.entries(TABLES) as [TableName, TableDefinition][]) {
      tableNames[key] = tableName(props.namePrefix, key);
      tables[key] = this.table(tableNames[key], definition, props);
    }
    this.tables = tables;
    this.tableNames = tableNames;

    const buckets = {} as Record<BucketPurpose, S3Bucket>;
    const bucketNames = {} as Record<BucketPurpose, string>;
    for (const purpose of BUCKET_PURPOSES) {
      bucketNames[purpose] = ownName(props.namePrefix, `${purpose}-${props.accountId}`);
      const lifecycle: S3BucketLifecycleConfigurationRule[] =
        purpose === 'captures'
          ? [{ id: 'expire-captures', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: captureDays }], noncurrentVersionExpiration: [{ noncurrentDays: 1 }] }]
          : [{ id: 'expire-noncurrent-versions', status: 'Enabled', filter: [{ prefix: '' }], noncurrentVersionExpiration: [{ noncurrentDays }] }];
      lifecycle.push({ id: 'abort-incomplete-uploads', status: 'Enabled', filter: [{ prefix: '' }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }] });
      buckets[purpose] = this.bucket(purpose, bucketNames[purpose], props.kmsKeyArn, lifecycle);
    }
    this.buckets = buckets;
    this.bucketNames = bucketNames;
  }

  private table(name: string, definition: TableDefinition, props: DataStoresProps): DynamodbTable {
    const index = definition.index;
    const keys = [definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : []), ...(index ? [index.partitionKey, index.sortKey] : [])];
    return new DynamodbTable(this, `table-${definition.name}`, {
      name,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: definition.partitionKey,
      ...(definition.sortKey ? { rangeKey: definition.sortKey } : {}),
      attribute: keys.map((key) => ({ name: key, type: 'S' })),
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: props.kmsKeyArn },
      deletionProtectionEnabled: props.deletionProtection ?? true,
      ...(definition.ttlAttribute ? { ttl: { attributeName: definition.ttlAttribute, enabled: true } } : {}),
      ...(index ? { globalSecondaryIndex: [{ name: index.name, hashKey: index.partitionKey, rangeKey: index.sortKey, projectionType: 'ALL' }] } : {}),
      tags: { description: definition.description.slice(0, 256).replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, ' ') },
    });
  }

  private bucket(purpose: BucketPurpose, name: string, kmsKeyArn: string, lifecycle: S3BucketLifecycleConfigurationRule[]): S3Bucket {
    const bucket = new S3Bucket(this, `bucket-${purpose}`, { bucket: name });
    new S3BucketOwnershipControls(this, `bucket-${purpose}-ownership`, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketVersioning(this, `bucket-${purpose}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketServerSideEncryptionConfiguration(this, `bucket-${purpose}-encryption`, {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true }],
    });
    const block = new S3BucketPublicAccessBlock(this, `bucket-${purpose}-public-access`, {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketPolicy(this, `bucket-${purpose}-policy`, {
      bucket: bucket.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucket.arn, `${bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
      dependsOn: [block],
    });
    new S3BucketLifecycleConfiguration(this, `bucket-${purpose}-lifecycle`, { bucket: bucket.id, rule: lifecycle });
    return bucket;
  }
}
