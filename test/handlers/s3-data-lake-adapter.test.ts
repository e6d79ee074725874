import { ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { S3TrainingDataLake, S3TrainingRowCounter } from '../../handlers/adapters/s3-data-lake';
import { LocalObjectStore } from '../../local/sagemaker';

const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: 'us-east-1' });

/** The deployment of the real CodeDeploy SUCCESS sample (started 2016-06-30T22:00:00Z). */
const row = {
  deploymentId: 'd-123456789',
  application: 'myApplication',
  deploymentGroup: 'myDeploymentGroup',
  startedAt: Date.parse('2016-06-30T22:00:00Z'),
  finishedAt: Date.parse('2016-06-30T22:06:31Z'),
  modelVersion: 'deploy-guard-20261120-0912',
  csvLine: '0,3,1,,412,38',
  weight: 1,
};

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
});

describe('S3TrainingDataLake.putRow', () => {
  it('puts the row (CSV line and newline) at its dated key, as text/csv, encrypted with S3-managed keys by default', async () => {
    await new S3TrainingDataLake(client(), { bucket: 'deploy-guard-dev-data' }).putRow(row);

    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'deploy-guard-dev-data',
      Key: 'rows/date=2016-06-30/d-123456789.csv',
      Body: '0,3,1,,412,38\n',
      ContentType: 'text/csv',
      ServerSideEncryption: 'AES256',
    });
  });

  it('encrypts with the configured KMS key', async () => {
    const kmsKeyId = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    await new S3TrainingDataLake(client(), { bucket: 'deploy-guard-dev-data', kmsKeyId }).putRow(row);

    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'deploy-guard-dev-data',
      Key: 'rows/date=2016-06-30/d-123456789.csv',
      Body: '0,3,1,,412,38\n',
      ContentType: 'text/csv',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: kmsKeyId,
    });
  });

  it('writes the same key and bytes when the same deployment is written again (idempotent)', async () => {
    const lake = new S3TrainingDataLake(client(), { bucket: 'deploy-guard-dev-data' });
    await lake.putRow(row);
    await lake.putRow(row);
    const [first, second] = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(second).toEqual(first);
  });

  it('escapes a deployment id in the key, and dates the key by the start in UTC', async () => {
    await new S3TrainingDataLake(client(), { bucket: 'b-data' }).putRow({ ...row, deploymentId: 'd-ABC/1', startedAt: Date.parse('2026-11-20T23:59:59-05:00') });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: 'rows/date=2026-11-21/d-ABC%2F1.csv' });
  });

  it('throws the S3 error with the bucket and key named', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'Access Denied' }));
    const failure = new S3TrainingDataLake(client(), { bucket: 'deploy-guard-dev-data' }).putRow(row);
    await expect(failure).rejects.toThrow('S3 PutObject s3://deploy-guard-dev-data/rows/date=2016-06-30/d-123456789.csv: Access Denied');
    await expect(failure).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('writes an explored deployment\'s row as many times as its weight (a frequency weight for training and evaluation)', async () => {
    await new S3TrainingDataLake(client(), { bucket: 'b-data' }).putRow({ ...row, weight: 3 });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Body: '0,3,1,,412,38\n0,3,1,,412,38\n0,3,1,,412,38\n' });
    await expect(new S3TrainingDataLake(client(), { bucket: 'b-data' }).putRow({ ...row, weight: 0.5 })).rejects.toThrow(
      'training row of d-123456789: weight 0.5 is not a whole number of at least 1',
    );
  });

  it('refuses a row of more than one line without calling S3', async () => {
    await expect(new S3TrainingDataLake(client(), { bucket: 'b-data' }).putRow({ ...row, csvLine: '0,1\n1,2' })).rejects.toThrow(
      'training row of d-123456789 spans more than one line; expected one CSV line',
    );
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('needs a bucket', () => {
    expect(() => new S3TrainingDataLake(client(), { bucket: '' })).toThrow('S3TrainingDataLake needs the data bucket name');
  });
});

describe('S3TrainingRowCounter.countRows (and the local S3 stand-in, which must agree)', () => {
  const key = (date: string, id: number) => `rows/date=${date}/d-${String(id).padStart(9, '0')}.csv`;
  /** ListObjectsV2 pages of `size` keys, in key order, of every key after StartAfter. */
  function lake(keys: string[], size: number) {
    const sorted = [...keys].sort();
    s3.on(ListObjectsV2Command).callsFake((input: { StartAfter?: string; ContinuationToken?: string }) => {
      const start = input.ContinuationToken !== undefined ? Number(input.ContinuationToken) : sorted.findIndex((candidate) => candidate > (input.StartAfter ?? ''));
      const from = start < 0 ? sorted.length : start;
      const page = sorted.slice(from, from + size);
      const next = from + size;
      return { Contents: page.map((Key) => ({ Key })), IsTruncated: next < sorted.length, ...(next < sorted.length ? { NextContinuationToken: String(next) } : {}) };
    });
    const local = new LocalObjectStore('deploy-guard-dev-data');
    for (const entry of keys) local.put(`s3://deploy-guard-dev-data/${entry}`, '0,1\n');
    local.put('s3://deploy-guard-dev-data/training/code/sourcedir.tar.gz', 'not a row');
    return local;
  }
  const keys = [
    ...Array.from({ length: 5 }, (_, id) => key('2019-07-04', id)),
    ...Array.from({ length: 7 }, (_, id) => key('2019-07-05', id)),
    ...Array.from({ length: 4 }, (_, id) => key('2019-08-31', id)),
    ...Array.from({ length: 3 }, (_, id) => key('2019-10-02', id)),
    ...Array.from({ length: 9 }, (_, id) => key('2019-10-03', id)),
    'rows/README.txt',
  ];

  it('counts the rows of the window\'s days only, page after page, starting after rows/date=<from>', async () => {
    const local = lake(keys, 4);
    const counter = new S3TrainingRowCounter(client(), 'deploy-guard-dev-data');
    await expect(counter.countRows('2019-07-05', '2019-10-02', 1000)).resolves.toBe(14);
    expect(s3.commandCalls(ListObjectsV2Command)[0].args[0].input).toEqual({ Bucket: 'deploy-guard-dev-data', Prefix: 'rows/', StartAfter: 'rows/date=2019-07-05' });
    // Pages of 4 keys: the 14 rows and the first key after the window take 4 pages, not all 8.
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 4);
    await expect(local.countRows('2019-07-05', '2019-10-02', 1000)).resolves.toBe(14);
  });

  it('stops counting at `enough`', async () => {
    const local = lake(keys, 4);
    await expect(new S3TrainingRowCounter(client(), 'deploy-guard-dev-data').countRows('2019-07-04', '2019-12-31', 6)).resolves.toBe(6);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
    await expect(local.countRows('2019-07-04', '2019-12-31', 6)).resolves.toBe(6);
  });

  it('counts nothing in an empty window or lake', async () => {
    const local = lake(keys, 100);
    await expect(new S3TrainingRowCounter(client(), 'deploy-guard-dev-data').countRows('2019-09-01', '2019-09-30', 10)).resolves.toBe(0);
    await expect(local.countRows('2019-09-01', '2019-09-30', 10)).resolves.toBe(0);
    lake([], 100);
    await expect(new S3TrainingRowCounter(client(), 'deploy-guard-dev-data').countRows('2019-07-05', '2019-10-02', 10)).resolves.toBe(0);
  });

  it('names the bucket and prefix when S3 refuses', async () => {
    s3.on(ListObjectsV2Command).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: {} }));
    await expect(new S3TrainingRowCounter(client(), 'deploy-guard-dev-data').countRows('2019-07-05', '2019-10-02', 10)).rejects.toThrow(
      'S3 ListObjectsV2 s3://deploy-guard-dev-data/rows/: Access Denied',
    );
  });

  it('needs a bucket', () => {
    expect(() => new S3TrainingRowCounter(client(), '')).toThrow('S3TrainingRowCounter needs the data bucket name');
  });
});
