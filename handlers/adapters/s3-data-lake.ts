import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { TRAINING_ROWS_PREFIX, trainingRowDate, trainingRowKey } from '../training-row';
import type { TrainingDataLake, TrainingRowCounter, TrainingRowReader } from '../ports';

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
    if (!(Number.isInteger(row.weight) && row.weight >= 1)) throw new Error(`training row of ${row.deploymentId}: weight ${row.weight} is not a whole number of at least 1`);
    const key = trainingRowKey(row);
    const input: PutObjectCommandInput = {
      Bucket: this.options.bucket,
      Key: key,
      Body: `${row.csvLine}\n`.repeat(row.weight),
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

/**
 * Counts the data lake's rows in a window with ListObjectsV2 (keys come in key order, so the window's
 * rows are one run of keys from `rows/date=<from>`): pages until the window ends or `enough` rows
 * are seen. Needs s3:ListBucket on the data bucket for the `rows/` prefix.
 */
export class S3TrainingRowCounter implements TrainingRowCounter {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {
    if (!bucket) throw new Error('S3TrainingRowCounter needs the data bucket name');
  }

  async countRows(fromDate: string, toDate: string, enough: number): Promise<number> {
    let count = 0;
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: TRAINING_ROWS_PREFIX,
            // Every key of the first day sorts after `rows/date=<from>` (it is a prefix of them).
            ...(continuationToken ? { ContinuationToken: continuationToken } : { StartAfter: `${TRAINING_ROWS_PREFIX}date=${fromDate}` }),
          }),
        );
      } catch (error) {
        if (error instanceof Error) error.message = `S3 ListObjectsV2 s3://${this.bucket}/${TRAINING_ROWS_PREFIX}: ${error.message || error.name}`;
        throw error;
      }
      for (const object of page.Contents ?? []) {
        const date = object.Key === undefined ? undefined : trainingRowDate(object.Key);
        if (date === undefined || date < fromDate) continue;
        if (date > toDate) return count;
        count += 1;
        if (count >= enough) return count;
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return count;
  }
}

/** How many row objects promote reads at once. */
const READ_CONCURRENCY = 16;

/**
 * The data lake's rows as promote reads them: the window's keys by date with ListObjectsV2 (one run
 * of keys from `rows/date=<from>`), then the objects of the dates it evaluates on with GetObject.
 * Needs s3:ListBucket for the `rows/` prefix and s3:GetObject on `rows/*`.
 */
export class S3TrainingRowReader implements TrainingRowReader {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {
    if (!bucket) throw new Error('S3TrainingRowReader needs the data bucket name');
  }

  async rowKeysByDate(fromDate: string, toDate: string): Promise<ReadonlyMap<string, readonly string[]>> {
    const byDate = new Map<string, string[]>();
    let continuationToken: string | undefined;
    do {
      const page = await this.listPage(fromDate, continuationToken);
      for (const object of page.Contents ?? []) {
        const date = object.Key === undefined ? undefined : trainingRowDate(object.Key);
        if (date === undefined || date < fromDate) continue;
        if (date > toDate) return byDate;
        const keys = byDate.get(date);
        if (keys) keys.push(object.Key!);
        else byDate.set(date, [object.Key!]);
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return byDate;
  }

  async readRows(keys: readonly string[]): Promise<readonly string[]> {
    const texts: string[] = new Array(keys.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const index = next++;
        texts[index] = await this.readText(keys[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
    return texts.flatMap((text) => text.split('\n').filter((line) => line.trim() !== ''));
  }

  private async listPage(fromDate: string, continuationToken: string | undefined) {
    try {
      return await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: TRAINING_ROWS_PREFIX,
          ...(continuationToken ? { ContinuationToken: continuationToken } : { StartAfter: `${TRAINING_ROWS_PREFIX}date=${fromDate}` }),
        }),
      );
    } catch (error) {
      if (error instanceof Error) error.message = `S3 ListObjectsV2 s3://${this.bucket}/${TRAINING_ROWS_PREFIX}: ${error.message || error.name}`;
      throw error;
    }
  }

  private async readText(key: string): Promise<string> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!answer.Body) throw new Error('no body');
      return await answer.Body.transformToString('utf-8');
    } catch (error) {
      if (error instanceof Error) error.message = `S3 GetObject s3://${this.bucket}/${key}: ${error.message || error.name}`;
      throw error;
    }
  }
}
