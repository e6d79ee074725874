import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectReader } from '../ports';

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

/** Splits `s3://bucket/key/with/slashes` into bucket and key; anything else is an error naming the URL. */
export function parseS3Url(s3Url: string): { readonly bucket: string; readonly key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(s3Url);
  if (!match) throw new Error(`'${s3Url}' is not an S3 object URL: expected s3://<bucket>/<key>`);
  return { bucket: match[1], key: match[2] };
}
