import { PutJobFailureResultCommand, PutJobSuccessResultCommand, type CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { CodePipelineOutcome, CodePipelinePort, CodePipelineRefusal } from '../ports';

/**
 * The pipeline gate's job results over the AWS SDK v3. A job that is unknown or already answered (an
 * earlier attempt's answer was applied and its response lost) comes back as a typed refusal;
 * throttling and transient errors are retried by the client's standard retry mode; anything else is thrown.
 */
export class AwsCodePipeline implements CodePipelinePort {
  constructor(private readonly client: CodePipelineClient) {}

  async putJobSuccessResult(jobId: string, result: { readonly summary: string; readonly continuationToken?: string }): Promise<CodePipelineOutcome> {
    return refusalsOf(() =>
      this.client.send(
        new PutJobSuccessResultCommand({
          jobId,
          executionDetails: { summary: result.summary },
          ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}),
        }),
      ),
    );
  }

  async putJobFailureResult(jobId: string, failure: { readonly message: string }): Promise<CodePipelineOutcome> {
    return refusalsOf(() => this.client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message: failure.message } })));
  }
}

const REFUSALS: Readonly<Record<string, CodePipelineRefusal>> = { JobNotFoundException: 'JobNotFound', InvalidJobStateException: 'InvalidJobState' };

async function refusalsOf(send: () => Promise<unknown>): Promise<CodePipelineOutcome> {
  try {
    await send();
    return { ok: true };
  } catch (error) {
    const refusal = REFUSALS[(error as { name?: string } | null)?.name ?? ''];
    if (!refusal) throw error;
    return { ok: false, refusal, message: error instanceof Error ? error.message : String(error) };
  }
}
