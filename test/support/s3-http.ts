import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';

/**
 * S3's REST protocol (path style) answered from a map of objects, for the calls Deploy Guard's S3
 * adapters make (PutObject, GetObject, CopyObject), so that a real S3Client, with its serializers,
 * error parsing and standard retry middleware, runs against it: what a fault below the retries (an
 * answer lost after the call was applied, test/support/lost-answers.ts) does to the adapters and the
 * handlers above them can be shown without AWS.
 */
export class LocalS3Objects {
  /** Objects by `bucket/key`. */
  readonly objects = new Map<string, Buffer>();
  /** The calls applied, in order (`PutObject bucket/key`), retries included. */
  readonly applied: string[] = [];

  client(): S3Client {
    return new S3Client({
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      retryMode: 'standard',
      requestHandler: { handle: async (request: S3Request) => ({ response: this.answer(request) }) },
    });
  }

  private answer(request: S3Request): S3Response {
    const path = decodeURIComponent(request.path.replace(/^\//, ''));
    const copySource = header(request, 'x-amz-copy-source');
    if (request.method === 'PUT' && copySource !== undefined) return this.copy(decodeURIComponent(copySource.replace(/^\//, '')), path);
    if (request.method === 'PUT') return this.put(path, request.body);
    if (request.method === 'GET') return this.get(path);
    return xmlError(405, 'MethodNotAllowed', `local S3 does not answer ${request.method} ${path}`);
  }

  private put(path: string, body: unknown): S3Response {
    this.objects.set(path, bodyBytes(body));
    this.applied.push(`PutObject ${path}`);
    return { statusCode: 200, headers: { etag: `"${this.objects.size}"` }, body: Readable.from([]) };
  }

  private get(path: string): S3Response {
    const object = this.objects.get(path);
    if (!object) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    return { statusCode: 200, headers: { 'content-length': String(object.length) }, body: Readable.from([object]) };
  }

  private copy(from: string, to: string): S3Response {
    const object = this.objects.get(from);
    if (!object) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    this.objects.set(to, Buffer.from(object));
    this.applied.push(`CopyObject ${from} -> ${to}`);
    const body = '<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"copy"</ETag><LastModified>2026-12-01T00:00:00.000Z</LastModified></CopyObjectResult>';
    return { statusCode: 200, headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(body)]) };
  }
}

interface S3Request {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface S3Response {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

function header(request: S3Request, name: string): string | undefined {
  return Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

function bodyBytes(body: unknown): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body === undefined || body === null) return Buffer.alloc(0);
  throw new Error(`local S3: a request body of type ${typeof body} is not supported`);
}

function xmlError(statusCode: number, code: string, message: string): S3Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return { statusCode, headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from(body)]) };
}
