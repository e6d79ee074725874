import { CodePipelineClient, InvalidJobStateException, JobNotFoundException, PutJobFailureResultCommand, PutJobSuccessResultCommand, ValidationException } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsCodePipeline } from '../../handlers/adapters/codepipeline';

/** The pipeline gate's job results over the SDK: what is sent, and CodePipeline's refusals as typed outcomes. */
const codePipeline = mockClient(CodePipelineClient);
const adapter = () => new AwsCodePipeline(new CodePipelineClient({ region: 'us-east-1' }));
const jobId = '11111111-abcd-1111-abcd-111111abcdef';
const $metadata = {};

beforeEach(() => codePipeline.reset());

describe('AwsCodePipeline', () => {
  it('PutJobSuccessResult carries the summary, and the continuation token only when the action continues', async () => {
    codePipeline.on(PutJobSuccessResultCommand).resolves({});
    await expect(adapter().putJobSuccessResult(jobId, { summary: 'passed' })).resolves.toEqual({ ok: true });
    expect(codePipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, { jobId, executionDetails: { summary: 'passed' } });
    expect(codePipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).not.toHaveProperty('continuationToken');
    await adapter().putJobSuccessResult(jobId, { summary: 'held', continuationToken: jobId });
    expect(codePipeline).toHaveReceivedNthCommandWith(2, PutJobSuccessResultCommand, { jobId, continuationToken: jobId, executionDetails: { summary: 'held' } });
    expect(codePipeline).not.toHaveReceivedCommand(PutJobFailureResultCommand);
  });

  it('PutJobFailureResult is a JobFailed with the message', async () => {
    codePipeline.on(PutJobFailureResultCommand).resolves({});
    await expect(adapter().putJobFailureResult(jobId, { message: 'stopped' })).resolves.toEqual({ ok: true });
    expect(codePipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId, failureDetails: { type: 'JobFailed', message: 'stopped' } });
  });

  it('a job answered already (InvalidJobState) or unknown (JobNotFound) is a refusal; anything else is thrown', async () => {
    codePipeline.on(PutJobSuccessResultCommand).rejectsOnce(new InvalidJobStateException({ message: 'The job is in state Succeeded', $metadata })).rejectsOnce(new JobNotFoundException({ message: 'no job', $metadata })).rejects(new ValidationException({ message: 'bad', $metadata }));
    await expect(adapter().putJobSuccessResult(jobId, { summary: 's' })).resolves.toEqual({ ok: false, refusal: 'InvalidJobState', message: 'The job is in state Succeeded' });
    await expect(adapter().putJobSuccessResult(jobId, { summary: 's' })).resolves.toEqual({ ok: false, refusal: 'JobNotFound', message: 'no job' });
    await expect(adapter().putJobSuccessResult(jobId, { summary: 's' })).rejects.toThrow('bad');
  });
});
