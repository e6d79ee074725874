import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Who is calling: the ARN STS GetCallerIdentity answers for the caller's credentials (for a role
 * session, `arn:aws:sts::<account>:assumed-role/<role>/<session>`). A port, so that tests say who.
 */
export interface CallerIdentity {
  callerArn(): Promise<string>;
}

/**
 * GetCallerIdentity over STS's query API, signed with the default credential chain (the
 * dependencies the DynamoDB client brings: no STS client is installed). It needs no permission.
 */
export class StsCallerIdentity implements CallerIdentity {
  constructor(private readonly region: string) {}

  async callerArn(): Promise<string> {
    const host = `sts.${this.region}.amazonaws.com`;
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const signer = new SignatureV4({ service: 'sts', region: this.region, credentials: defaultProvider(), sha256: NodeSha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'https:', hostname: host, path: '/', headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
    const answer = await fetch(`https://${host}/`, { method: 'POST', headers: signed.headers as Record<string, string>, body });
    const text = await answer.text();
    const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
    if (!answer.ok || !arn) throw new Error(`STS GetCallerIdentity answered ${answer.status}: ${text.slice(0, 300)}`);
    return arn;
  }
}

/** SHA-256 and HMAC-SHA-256 as the signer's Checksum (node:crypto). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    throw new Error('NodeSha256 is used once');
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}
