import { STSClient } from '@aws-sdk/client-sts';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StsCallerIdentity } from '../../cli/operators/caller-identity';

/**
 * `deploy-guard override` and `pause` record who set them: the caller's ARN from STS
 * GetCallerIdentity, asked with the caller's credentials. Against a local STS answering as AWS does.
 */
describe('StsCallerIdentity (who an operator is)', () => {
  async function localSts(status: number, body: string) {
    const requests: { body: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        requests.push({ body: text, headers: request.headers });
        response.writeHead(status, { 'content-type': 'text/xml' });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new STSClient({ region: 'eu-west-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, credentials: { accessKeyId: 'AKIAOPERATOR', secretAccessKey: 'secret' } });
    return { requests, client, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it("answers the ARN STS gives for the caller's credentials, asking with a signed GetCallerIdentity", async () => {
    const arn = 'arn:aws:sts::123456789012:assumed-role/on-call/alice';
    const sts = await localSts(
      200,
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AROAEXAMPLE:alice</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
    try {
      await expect(new StsCallerIdentity('eu-west-1', sts.client).callerArn()).resolves.toBe(arn);
      expect(sts.requests).toHaveLength(1);
      expect(sts.requests[0].body).toContain('Action=GetCallerIdentity');
      expect(String(sts.requests[0].headers.authorization)).toContain('Credential=AKIAOPERATOR/');
    } finally {
      await sts.close();
    }
  });

  it("fails with STS's own error when the credentials are refused", async () => {
    const sts = await localSts(
      403,
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
    );
    try {
      await expect(new StsCallerIdentity('eu-west-1', sts.client).callerArn()).rejects.toThrow('The security token included in the request is invalid.');
    } finally {
      await sts.close();
    }
  });
});
