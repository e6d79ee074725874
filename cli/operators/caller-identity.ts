import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

/**
 * Who is calling: the ARN STS GetCallerIdentity answers for the caller's credentials (for a role
 * session, `arn:aws:sts::<account>:assumed-role/<role>/<session>`). A port, so that tests say who.
 */
export interface CallerIdentity {
  callerArn(): Promise<string>;
}

/** GetCallerIdentity with the caller's credentials (the SDK's default chain). It needs no permission. */
export class StsCallerIdentity implements CallerIdentity {
  private readonly client: STSClient;

  constructor(region: string, client?: STSClient) {
    this.client = client ?? new STSClient({ region });
  }

  async callerArn(): Promise<string> {
    const answer = await this.client.send(new GetCallerIdentityCommand({}));
    if (!answer.Arn) throw new Error('STS GetCallerIdentity answered without an Arn');
    return answer.Arn;
  }
}
