import { PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { trainingRowKey } from '../training-row';
import type { TrainingDataLake } from '../ports';

export interface S3TrainingDataLakeOptions {
  /** The data bucket (ENV.dataBucket). */
  readonly bucket: string;
  /** KMS key (id, alias or ARN) to encrypt rows with; without one, S3-managed keys (AES256). */
  readonly kmsKeyId?: string;
}

/**
 * The data lake of labelled training rows: one object per deployment at trainingRowKey()
 * (`rows/date=YYYY-MM-DD/<deploymentId>.csv`), holding its CSV line (label first, no header) and a
 * newline, so that concatenating a window's objects gives the training channel. Writing the same
 * deployment again writes the same key with the same bytes. An S3 error (after the client's retries)
 * is thrown, naming the bucket and key.
 */
export class S3TrainingDataLake implements TrainingDataLake {
  constructor(
    private readonly client: S3Client,
    private readonly options: S3TrainingDataLakeOptions,
  ) {
    if (!options.bucket) throw new Error('S3TrainingDataLake needs the data bucket name');
  }

  async putRow(row: Parameters<TrainingDataLake['putRow']>[0]): Promise<void> {
    if (row.csvLine.includes('\n') || row.csvLine.includes('\r')) {
      throw new Error(`training row of ${row.deploymentId} spans more than one line; expected one CSV line`);
    }
    const key = trainingRowKey(row);
    const input: PutObjectCommandInput = {
      Bucket: this.options.bucket,
      Key: key,
      Body: `${row.csvLine}\n`,
      ContentType: 'text/csv',
      ...(this.options.kmsKeyId
        ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: this.options.kmsKeyId }
        : { ServerSideEncryption: 'AES256' as const }),
    };
    try {
      await this.client.send(new PutObjectCommand(input));
    } catch (error) {
      if (error instanceof Error) error.message = `S3 PutObject s3://${this.options.bucket}/${key}: ${error.message || error.name}`;
      throw error;
    }
  }
}
