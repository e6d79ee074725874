import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseS3Url, S3ObjectReader } from '../../handlers/adapters/s3-objects';

const s3 = mockClient(S3Client);
const reader = () => new S3ObjectReader(new S3Client({ region: 'us-east-1' }));
const $metadata = {};

beforeEach(() => s3.reset());

/** GetObject's streaming body, as far as the reader uses it. */
function body(text: string) {
  return { transformToByteArray: async () => new Uint8Array(Buffer.from(text)) } as never;
}

describe('S3ObjectReader', () => {
  it('reads an object by its s3:// URL with GetObject on its bucket and key', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('{"schemaVersion":"1"}') });
    const bytes = await reader().read('s3://deploy-guard-dev-models/models/v7/features.json');
    expect(Buffer.from(bytes as Uint8Array).toString('utf8')).toBe('{"schemaVersion":"1"}');
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'deploy-guard-dev-models', Key: 'models/v7/features.json' });
  });

  it('answers undefined for an object that does not exist (NoSuchKey)', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata }));
    await expect(reader().read('s3://deploy-guard-dev-models/missing.json')).resolves.toBeUndefined();
  });

  it('throws anything else, naming the URL (AccessDenied is a wrong role, not a missing object)', async () => {
    s3.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata }));
    await expect(reader().read('s3://deploy-guard-dev-models/models/v7/model.tar.gz')).rejects.toThrow(
      'S3 GetObject s3://deploy-guard-dev-models/models/v7/model.tar.gz: Access Denied',
    );
  });

  it('refuses a URL that is not s3://bucket/key before calling S3', async () => {
    await expect(reader().read('https://example.com/model.tar.gz')).rejects.toThrow(
      "'https://example.com/model.tar.gz' is not an S3 object URL: expected s3://<bucket>/<key>",
    );
    await expect(reader().read('s3://bucket-only')).rejects.toThrow('is not an S3 object URL');
    expect(s3).not.toHaveReceivedAnyCommand();
  });
});

describe('parseS3Url', () => {
  it('keeps every slash of the key', () => {
    expect(parseS3Url('s3://my.bucket-1/a/b/c.tar.gz')).toEqual({ bucket: 'my.bucket-1', key: 'a/b/c.tar.gz' });
  });
});
