import { ManualClock } from '../../events/clock';
import type { PutEventsEntry } from '../../events/emitted';
import { sample } from '../../events/samples';
import { EventValidationError } from '../../events/validation';
import type { EventPublisher } from '../../handlers/adapters/event-publisher';
import { InMemoryChangeSummaryStore, InMemoryControlStore, InMemoryDeploymentStore, InMemoryGateStore, InMemoryHoldStore, InMemoryOperatorControlStore } from '../../handlers/adapters/in-memory-stores';
import type { GroupPolicy } from '../../handlers/config';
import { newHold } from '../../handlers/hold-domain';
import { settleExpiredHolds } from '../../handlers/holds';
import { handlePipelineGate, type PipelineGateDependencies } from '../../handlers/pipeline-gate';
import { gateHoldId } from '../../handlers/pipeline-gate-domain';
import type { CodePipelineOutcome, CodePipelinePort, MetricsPort } from '../../handlers/ports';

/**
 * The pipeline-gate handler over in-process stores and a CodePipeline that records (and can lose)
 * job results. Without a serving model the group's failure policy decides: fail-closed fails the
 * release, fail-open passes it, deterministically. The AWS docs' example job event is the fixture.
 */
const AT = Date.parse('2026-12-01T09:00:00Z');
const COMMIT = '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a';
const GROUP: GroupPolicy = { application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', blockBudget: 0.1, exploration: 0, cutScope: 'group', failurePolicy: 'fail-closed' };

/** A CodePipeline that takes one result per job, refuses a second (InvalidJobState), and can apply a result and then lose its response. */
class FakeCodePipeline implements CodePipelinePort {
  readonly results = new Map<string, { api: string; summary?: string; message?: string; continuationToken?: string }>();
  readonly calls: string[] = [];
  loseNextResponse = false;

  async putJobSuccessResult(jobId: string, result: { readonly summary: string; readonly continuationToken?: string }): Promise<CodePipelineOutcome> {
    return this.take(jobId, { api: 'PutJobSuccessResult', summary: result.summary, ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}) });
  }

  async putJobFailureResult(jobId: string, failure: { readonly message: string }): Promise<CodePipelineOutcome> {
    return this.take(jobId, { api: 'PutJobFailureResult', message: failure.message });
  }

  private take(jobId: string, result: { api: string; summary?: string; message?: string }): CodePipelineOutcome {
    this.calls.push(`${result.api} ${jobId}`);
    if (this.results.has(jobId)) return { ok: false, refusal: 'InvalidJobState', message: 'the job has a result already' };
    this.results.set(jobId, result);
    if (this.loseNextResponse) {
      this.loseNextResponse = false;
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    }
    return { ok: true };
  }
}

function setUp(groups: GroupPolicy[] = [GROUP]) {
  const codePipeline = new FakeCodePipeline();
  const published: PutEventsEntry[] = [];
  const publisher: EventPublisher = { publish: async (entries) => void published.push(...entries) };
  const metrics: Parameters<MetricsPort['put']>[0][] = [];
  const deps: PipelineGateDependencies = {
    codePipeline,
    deployments: new InMemoryDeploymentStore(),
    changes: new InMemoryChangeSummaryStore(),
    servingModel: { serving: async () => undefined },
    control: new InMemoryControlStore(),
    operatorControls: new InMemoryOperatorControlStore(),
    holds: new InMemoryHoldStore(),
    gates: new InMemoryGateStore(),
    endpoint: {
      invoke: async () => {
        throw new Error('no endpoint call without a model');
      },
    },
    publisher,
    metrics: { put: (values) => void metrics.push(values) },
    clock: new ManualClock(AT),
    config: { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', groups, metricsNamespace: 'DeployGuard', environment: 'prod' },
  };
  return { deps, codePipeline, published, metrics };
}

/** The AWS docs' example job, with the given UserParameters and source revision. */
function job(userParameters: unknown, revision: string | null = COMMIT, id = '11111111-abcd-1111-abcd-111111abcdef'): Record<string, unknown> {
  const event = structuredClone(sample('codepipeline-lambda-invoke-job.json').event) as { 'CodePipeline.job': { id: string; data: Record<string, unknown> } };
  const data = event['CodePipeline.job'].data as { actionConfiguration: { configuration: Record<string, unknown> }; inputArtifacts: { revision: string | null }[]; continuationToken?: string };
  event['CodePipeline.job'].id = id;
  data.actionConfiguration.configuration.UserParameters = typeof userParameters === 'string' ? userParameters : JSON.stringify(userParameters);
  data.inputArtifacts[0].revision = revision;
  delete data.continuationToken;
  return event;
}
const params = { application: 'checkout', deploymentGroup: 'checkout-prod' };

describe('pipeline-gate: bad input is told to CodePipeline, naming the input and the problem', () => {
  it("the AWS docs' example as it is (UserParameters not JSON): PutJobFailureResult naming UserParameters; a metric; nothing recorded", async () => {
    const { deps, codePipeline, metrics, published } = setUp();
    const result = await handlePipelineGate(sample('codepipeline-lambda-invoke-job.json').event, deps);
    expect(result).toMatchObject({ status: 'refused', input: 'UserParameters', told: 'accepted' });
    const { message } = codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')!;
    expect(message).toMatch(/^Deploy Guard cannot gate this release: UserParameters: not JSON \(.+\): expected an object such as \{"application":"checkout"/);
    expect(metrics.flatMap((metric) => metric.values.map((value) => value.name))).toEqual(['PipelineGateInputErrors']);
    expect(published).toEqual([]);
    expect(await deps.gates.readJob('11111111-abcd-1111-abcd-111111abcdef')).toBeUndefined();
  });

  it.each([
    ['UserParameters missing a field', { application: 'checkout' }, COMMIT, 'UserParameters: deploymentGroup: '],
    ['a group this installation does not guard', { application: 'checkout', deploymentGroup: 'checkout-staging' }, COMMIT, 'UserParameters: checkout/checkout-staging is not a deployment group this installation guards (it guards: checkout/checkout-prod)'],
    ['no revision named, and the input artifact has none (null, as in the docs)', params, null, 'UserParameters.revision: missing, and no input artifact has a revision (ArtifactName: null)'],
    ['a variable CodePipeline did not resolve', { ...params, revision: { commitId: '#{SourceVariables.CommitId}' } }, COMMIT, 'UserParameters.revision: #{SourceVariables.CommitId} is a CodePipeline variable that was not resolved'],
  ])('%s', async (_name, userParameters, revision, expected) => {
    const { deps, codePipeline } = setUp();
    const result = await handlePipelineGate(job(userParameters, revision), deps);
    expect(result.status).toBe('refused');
    expect(codePipeline.calls).toEqual(['PutJobFailureResult 11111111-abcd-1111-abcd-111111abcdef']);
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')?.message).toContain(expected);
  });

  it('an event without a job id cannot be answered: an EventValidationError naming the path, and no call', async () => {
    const { deps, codePipeline } = setUp();
    await expect(handlePipelineGate({ 'CodePipeline.job': { data: {} } }, deps)).rejects.toThrow(EventValidationError);
    await expect(handlePipelineGate({}, deps)).rejects.toThrow('["CodePipeline.job"].id: expected the job id CodePipeline sends its Lambda invoke action');
    expect(codePipeline.calls).toEqual([]);
  });

  it('a continuation token that names no held release: a failure naming continuationToken', async () => {
    const { deps, codePipeline } = setUp();
    const event = job(params) as { 'CodePipeline.job': { data: Record<string, unknown> } };
    event['CodePipeline.job'].data.continuationToken = 'not-a-held-job';
    expect(await handlePipelineGate(event, deps)).toMatchObject({ status: 'refused', input: 'continuationToken' });
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')?.message).toContain("continuationToken: 'not-a-held-job' names no release Deploy Guard holds");
  });
});

describe('pipeline-gate: the decision', () => {
  it('a risky release (fail-closed, no model) fails the action with the reason and the override command; announced; no pass recorded', async () => {
    const { deps, codePipeline, published, metrics } = setUp();
    expect(await handlePipelineGate(job({ ...params, pipelineExecutionId: 'exec-1' }), deps)).toMatchObject({ status: 'failed', repeated: false, told: 'accepted' });
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')?.message).toBe(
      `Deploy Guard stopped release git:${COMMIT} of checkout/checkout-prod before its deployment was created: no probability (NoServingModel: no model has been promoted yet) and the group is fail-closed. If you know it is safe, let it through and release it again: deploy-guard override --environment prod --application checkout --revision git:${COMMIT} --reason "..."`,
    );
    expect(published.map((entry) => [entry.DetailType, JSON.parse(entry.Detail).outcome, JSON.parse(entry.Detail).pipelineExecutionId])).toEqual([['Pipeline Gate Decided', 'fail', 'exec-1']]);
    expect(metrics.flatMap((metric) => metric.values.map((value) => `${value.name}=${value.value}`))).toEqual(['Assessments=1', 'Stops=1', 'PipelineGateStops=1']);
    expect(await deps.gates.readPass('checkout', `git:${COMMIT}`)).toBeUndefined();
    expect(await deps.gates.listedDecisions('checkout/checkout-prod', '2026-12-01')).toMatchObject([{ jobId: '11111111-abcd-1111-abcd-111111abcdef', outcome: 'fail', revision: `git:${COMMIT}`, decidedAt: AT }]);
  });

  it('a safe release (fail-open) passes and is recorded for predict to link its deployment to', async () => {
    const { deps, codePipeline } = setUp([{ ...GROUP, failurePolicy: 'fail-open' }]);
    expect(await handlePipelineGate(job(params), deps)).toMatchObject({ status: 'passed', told: 'accepted' });
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')).toMatchObject({ api: 'PutJobSuccessResult' });
    expect(await deps.gates.readPass('checkout', `git:${COMMIT}`)).toMatchObject({ jobId: '11111111-abcd-1111-abcd-111111abcdef', deploymentGroup: 'checkout-prod', passedBy: 'assessment', probability: null });
  });

  it('each decided release is listed under its group and day for `deploy-guard decisions`, a held one with its settlement once a later job answers from it', async () => {
    const holding: GroupPolicy = { ...GROUP, mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 30 };
    const { deps } = setUp([holding]);
    const first = '11111111-abcd-1111-abcd-111111abcdef';
    expect(await handlePipelineGate(job({ ...params, pipelineExecutionId: 'exec-1' }), deps)).toMatchObject({ status: 'held' });
    const listed = { jobId: first, application: 'checkout', deploymentGroup: 'checkout-prod', revision: `git:${COMMIT}`, pipelineExecutionId: 'exec-1', outcome: 'hold', decidedAt: AT, mode: 'gate', probability: null, cut: null, blockBudget: 0.1, modelVersion: 'none' };
    expect(await deps.gates.listedDecisions('checkout/checkout-prod', '2026-12-01')).toEqual([listed]);
    (deps.clock as ManualClock).advanceBy(31 * 60_000);
    const continuation = job(params, COMMIT, '22222222-abcd-2222-abcd-222222abcdef');
    (continuation['CodePipeline.job'] as { data: Record<string, unknown> }).data.continuationToken = first;
    expect(await handlePipelineGate(continuation, deps)).toMatchObject({ status: 'failed' });
    const [entry] = await deps.gates.listedDecisions('checkout/checkout-prod', '2026-12-01');
    expect(entry).toEqual({ ...listed, settled: { action: 'reject', by: expect.any(String), cause: 'timeout', reason: expect.stringContaining('within 30 minutes'), at: AT + 31 * 60_000 } });
  });

  it('an S3 revision named in UserParameters is the release (its revision key, as a change summary and predict name it)', async () => {
    const { deps } = setUp([{ ...GROUP, failurePolicy: 'fail-open' }]);
    const s3 = { bucket: 'releases', key: 'checkout/app.zip', eTag: 'abc' };
    expect(await handlePipelineGate(job({ ...params, revision: { s3 } }, null), deps)).toMatchObject({ status: 'passed', revision: 's3:releases/checkout/app.zip@abc' });
  });
});

describe('pipeline-gate: lost answers and redelivery', () => {
  it('a PutJobSuccessResult applied but its response lost: the retry tells the recorded decision (not a new one), and CodePipeline refusing it as answered is recognised', async () => {
    const groups: GroupPolicy[] = [{ ...GROUP, failurePolicy: 'fail-open' }];
    const { deps, codePipeline } = setUp(groups);
    codePipeline.loseNextResponse = true;
    await expect(handlePipelineGate(job(params), deps)).rejects.toThrow('socket hang up');
    // Between the attempts the group turns fail-closed: the retry must not fail a release it passed.
    groups[0] = { ...GROUP, failurePolicy: 'fail-closed' };
    const retry = await handlePipelineGate(job(params), deps);
    expect(retry).toMatchObject({ status: 'passed', repeated: true, told: 'InvalidJobState: the job has a result already' });
    expect(codePipeline.calls).toEqual(['PutJobSuccessResult 11111111-abcd-1111-abcd-111111abcdef', 'PutJobSuccessResult 11111111-abcd-1111-abcd-111111abcdef']);
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')?.api).toBe('PutJobSuccessResult');
  });

  it('a redelivered job already answered gets the same answer without a second call', async () => {
    const { deps, codePipeline, published } = setUp();
    const first = await handlePipelineGate(job(params), deps);
    const again = await handlePipelineGate(job(params), deps);
    expect(again).toEqual({ ...first, repeated: true });
    expect(codePipeline.calls).toHaveLength(1);
    expect(published).toHaveLength(1);
  });
});

describe("a pipeline hold's timeout on the hold-timeouts schedule", () => {
  it('is settled without CodeDeploy (no deployment exists) and not announced as Deployment Held: the gate tells it at its next invocation', async () => {
    const holds = new InMemoryHoldStore();
    const jobId = '22222222-abcd-1111-abcd-111111abcdef';
    await holds.open(newHold({ deploymentId: gateHoldId(jobId), application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', reason: 'risky', pipelineJobId: jobId }, { timeoutMinutes: 30, onTimeout: 'reject' }, AT));
    const published: PutEventsEntry[] = [];
    const codeDeploy = new Proxy({}, { get: () => () => Promise.reject(new Error('CodeDeploy must not be called for a pipeline hold')) });
    const result = await settleExpiredHolds({ holds, codeDeploy: codeDeploy as never, publisher: { publish: async (entries) => void published.push(...entries) }, clock: new ManualClock(AT + 30 * 60_000) }, { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' });
    expect(result).toEqual({ timedOut: [{ deploymentId: gateHoldId(jobId), action: 'reject', answer: 'accepted' }], closed: [gateHoldId(jobId)], waiting: 0 });
    expect(published).toEqual([]);
    expect(await holds.read(gateHoldId(jobId))).toMatchObject({ settled: { action: 'reject', cause: 'timeout', answer: { ok: true } } });
  });
});

describe('pipeline-gate: a crash between the recorded decision and its effects', () => {
  it("the redelivery finishes what the first attempt left (the hold opened, the decision announced) and tells the recorded decision", async () => {
    const holding: GroupPolicy = { ...GROUP, mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 30 };
    const { deps, codePipeline, published } = setUp([holding]);
    const holds = deps.holds as InMemoryHoldStore;
    const open = holds.open.bind(holds);
    let crash = true;
    holds.open = async (hold) => {
      if (crash) {
        crash = false;
        throw new Error('the process ended');
      }
      return open(hold);
    };
    await expect(handlePipelineGate(job(params), deps)).rejects.toThrow('the process ended');
    expect(codePipeline.calls).toEqual([]);
    expect(published).toEqual([]);

    expect(await handlePipelineGate(job(params), deps)).toMatchObject({ status: 'held', repeated: true, told: 'accepted' });
    expect(await deps.holds.read(gateHoldId('11111111-abcd-1111-abcd-111111abcdef'))).toMatchObject({ pipelineJobId: '11111111-abcd-1111-abcd-111111abcdef', until: AT + 30 * 60_000 });
    expect(published.map((entry) => JSON.parse(entry.Detail).outcome)).toEqual(['hold']);
    expect(codePipeline.results.get('11111111-abcd-1111-abcd-111111abcdef')).toMatchObject({ api: 'PutJobSuccessResult', continuationToken: '11111111-abcd-1111-abcd-111111abcdef' });
    // Told and announced: a third delivery calls and publishes nothing.
    await handlePipelineGate(job(params), deps);
    expect(codePipeline.calls).toHaveLength(1);
    expect(published).toHaveLength(1);
  });
});
