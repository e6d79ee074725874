import { CopyObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectCopier, ObjectReader } from '../ports';

/**
 * Reads Deploy Guard's files in S3 (features.json, model.tar.gz, a training job's evaluation.json)
 * by their s3:// URLs. A missing object is `undefined` (a model that was never written is a state,
 * not a fault); anything else S3 answers after the client's retries (access denied, a missing
 * bucket) is thrown, naming the URL.
 */
export class S3ObjectReader implements ObjectReader {
  constructor(private readonly client: S3Client) {}

  async read(s3Url: string): Promise<Uint8Array | undefined> {
    const { bucket, key } = parseS3Url(s3Url);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!answer.Body) throw new Error(`S3 GetObject ${s3Url} answered without a body`);
      return await answer.Body.transformToByteArray();
    } catch (error) {
      // NoSuchKey with s3:GetObject and s3:ListBucket; without ListBucket S3 answers AccessDenied,
      // which is thrown: the role is wrong, and saying "not found" would hide that.
      if (error instanceof Error && error.name === 'NoSuchKey') return undefined;
      if (error instanceof Error) error.message = `S3 GetObject ${s3Url}: ${error.message || error.name}`;
      throw error;
    }
  }
}

/**
 * Reads and copies Deploy Guard's files. A copy takes the destination bucket's default encryption
 * (SSE-KMS with the installation key), as every object Deploy Guard writes.
 */
export class S3ObjectStore extends S3ObjectReader implements ObjectCopier {
  constructor(private readonly s3: S3Client) {
    super(s3);
  }

  async copy(fromS3Url: string, toS3Url: string): Promise<void> {
    const from = parseS3Url(fromS3Url);
    const to = parseS3Url(toS3Url);
    try {
      await this.s3.send(new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource: encodeURI(`${from.bucket}/${from.key}`) }));
    } catch (error) {
      if (error instanceof Error) error.message = `S3 CopyObject ${fromS3Url} to ${toS3Url}: ${error.message || error.name}`;
      throw error;
    }
  }
}

/** Splits `s3://bucket/key/with/slashes` into bucket and key; anything else is an error naming the URL. */
export function parseS3Url(s3Url: string): { readonly bucket: string; readonly key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(s3Url);
  if (!match) throw new Error(`'${s3Url}' is not an S3 object URL: expected s3://<bucket>/<key>`);
  return { bucket: match[1], key: match[2] };
}
