import type { ManualClock } from '../events/clock';
import type { ComputePlatform } from '../events/emitted';
import type { CodePipelineOutcome, CodePipelinePort } from '../handlers/ports';
import type { LocalCodeDeploy } from './codedeploy';

/**
 * CodePipeline on the laptop: a pipeline whose gate stage (a Lambda invoke action, Deploy Guard's
 * pipeline gate) runs before its Deploy stage (a CodeDeploy action). Each run of the gate action is a
 * job: its event, in the shape of the AWS docs' example (events/samples/codepipeline-lambda-invoke-job.json),
 * is delivered as Lambda's asynchronous invoke delivers it; the job's result is what the function put
 * (PutJobSuccessResult / PutJobFailureResult, each taken once per job, as CodePipeline takes it). A
 * success with a continuation token runs the action again, with a new job carrying the token, after
 * `continuationDelayMs` of the virtual clock (resume). Only a success lets the Deploy stage create the
 * CodeDeploy deployment.
 */

/** A release through the pipeline: the commit its source stage produced and the group its Deploy stage deploys to. */
export interface LocalRelease {
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  readonly commitId: string;
  /** The gate action's UserParameters; default: the group, and the execution id as `#{codepipeline.PipelineExecutionId}` resolves it. */
  readonly userParameters?: string;
}

export type LocalExecutionStatus = 'InProgress' | 'Succeeded' | 'Failed';

export interface LocalPipelineExecution {
  readonly executionId: string;
  readonly release: LocalRelease;
  status: LocalExecutionStatus;
  /** The gate action's jobs, in order. */
  readonly jobs: string[];
  /** Why the gate action failed (its failure message), or its last success summary. */
  message?: string;
  /** The deployment the Deploy stage created. */
  deploymentId?: string;
  /** A continuing gate action: the token its next job carries, and when it runs. */
  continuation?: { readonly token: string; readonly at: number };
}

type JobResult = { readonly kind: 'success'; readonly summary: string; readonly continuationToken?: string } | { readonly kind: 'failure'; readonly message: string };

export interface LocalCodePipelineOptions {
  readonly clock: ManualClock;
  readonly codeDeploy: LocalCodeDeploy;
  readonly account: string;
  /** The gate function's name (the action's FunctionName). */
  readonly functionName: string;
  /** How long after a continuation the action runs again. @default 60000 */
  readonly continuationDelayMs?: number;
}

export const LOCAL_CONTINUATION_DELAY_MS = 60_000;

export class LocalCodePipeline implements CodePipelinePort {
  private readonly results = new Map<string, JobResult | undefined>();
  private readonly executions: LocalPipelineExecution[] = [];
  private sequence = 0;
  private gate: ((event: Record<string, unknown>) => Promise<void>) | undefined;
  /** Every job result put, in order, with CodePipeline's answer. */
  readonly calls: { readonly api: 'PutJobSuccessResult' | 'PutJobFailureResult'; readonly jobId: string; readonly accepted: boolean }[] = [];
  /** The next accepted result's response is lost: applied, then the call fails (as a timeout after the request went through does). */
  loseNextResponse = false;

  constructor(private readonly options: LocalCodePipelineOptions) {}

  /** The gate action's Lambda invocation (local/lambda-delivery.ts asyncInvoke of the pipeline-gate handler). */
  connectGate(invoke: (event: Record<string, unknown>) => Promise<void>): void {
    this.gate = invoke;
  }

  async putJobSuccessResult(jobId: string, result: { readonly summary: string; readonly continuationToken?: string }): Promise<CodePipelineOutcome> {
    return this.take(jobId, 'PutJobSuccessResult', { kind: 'success', summary: result.summary, ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}) });
  }

  async putJobFailureResult(jobId: string, failure: { readonly message: string }): Promise<CodePipelineOutcome> {
    return this.take(jobId, 'PutJobFailureResult', { kind: 'failure', message: failure.message });
  }

  /** A release through the pipeline: its gate action runs now (and again while it continues, see resume). */
  async startExecution(release: LocalRelease): Promise<LocalPipelineExecution> {
    this.sequence += 1;
    const execution: LocalPipelineExecution = { executionId: `exec-${String(this.sequence).padStart(4, '0')}`, release, status: 'InProgress', jobs: [] };
    this.executions.push(execution);
    await this.runGate(execution, undefined);
    return execution;
  }

  /** Runs every continuing gate action whose time has come (CodePipeline polls them). */
  async resume(): Promise<void> {
    for (const execution of this.executions) {
      const continuation = execution.continuation;
      if (execution.status === 'InProgress' && continuation && continuation.at <= this.options.clock.now()) await this.runGate(execution, continuation.token);
    }
  }

  /** What the function put for a job, if anything. */
  resultOf(jobId: string): JobResult | undefined {
    return this.results.get(jobId);
  }

  private take(jobId: string, api: 'PutJobSuccessResult' | 'PutJobFailureResult', result: JobResult): CodePipelineOutcome {
    if (!this.results.has(jobId)) {
      this.calls.push({ api, jobId, accepted: false });
      return { ok: false, refusal: 'JobNotFound', message: `The job ${jobId} was not found` };
    }
    if (this.results.get(jobId)) {
      this.calls.push({ api, jobId, accepted: false });
      return { ok: false, refusal: 'InvalidJobState', message: `The job ${jobId} is not in a state that accepts a result: it has one` };
    }
    this.results.set(jobId, result);
    this.calls.push({ api, jobId, accepted: true });
    if (this.loseNextResponse) {
      this.loseNextResponse = false;
      throw Object.assign(new Error(`${api} ${jobId}: the response was lost (socket hang up)`), { name: 'TimeoutError' });
    }
    return { ok: true };
  }

  private async runGate(execution: LocalPipelineExecution, continuationToken: string | undefined): Promise<void> {
    if (!this.gate) throw new Error('the pipeline has no gate action: connectGate first');
    this.sequence += 1;
    const jobId = `00000000-0000-4000-8000-${String(this.sequence).padStart(12, '0')}`;
    this.results.set(jobId, undefined);
    execution.jobs.push(jobId);
    delete execution.continuation;
    await this.gate(this.jobEvent(jobId, execution, continuationToken));
    const result = this.results.get(jobId);
    if (!result) {
      // In AWS the action waits for a result until it times out; here nothing else would put one.
      execution.status = 'Failed';
      execution.message = `the gate put no result for job ${jobId}`;
    } else if (result.kind === 'failure') {
      execution.status = 'Failed';
      execution.message = result.message;
    } else if (result.continuationToken) {
      execution.message = result.summary;
      execution.continuation = { token: result.continuationToken, at: this.options.clock.now() + (this.options.continuationDelayMs ?? LOCAL_CONTINUATION_DELAY_MS) };
    } else {
      execution.message = result.summary;
      this.deploy(execution);
    }
  }

  /** The Deploy stage: the CodeDeploy action creates the deployment of the release's commit. */
  private deploy(execution: LocalPipelineExecution): void {
    const { application, deploymentGroup, platform, commitId } = execution.release;
    execution.deploymentId = this.options.codeDeploy.createDeployment({ application, deploymentGroup, platform, revision: { commitId } }).deploymentId;
    execution.status = 'Succeeded';
  }

  private jobEvent(jobId: string, execution: LocalPipelineExecution, continuationToken: string | undefined): Record<string, unknown> {
    const { release } = execution;
    const userParameters = release.userParameters ?? JSON.stringify({ application: release.application, deploymentGroup: release.deploymentGroup, pipelineExecutionId: execution.executionId });
    return {
      'CodePipeline.job': {
        id: jobId,
        accountId: this.options.account,
        data: {
          actionConfiguration: { configuration: { FunctionName: this.options.functionName, UserParameters: userParameters } },
          inputArtifacts: [{ location: { s3Location: { bucketName: 'codepipeline-local-artifacts', objectKey: `${execution.executionId}/SourceArtifact.zip` }, type: 'S3' }, revision: release.commitId, name: 'SourceArtifact' }],
          outputArtifacts: [],
          artifactCredentials: { secretAccessKey: 'local', sessionToken: 'local', accessKeyId: 'local' },
          ...(continuationToken ? { continuationToken } : {}),
        },
      },
    };
  }
}
