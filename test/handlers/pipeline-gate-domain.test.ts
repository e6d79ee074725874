import { sample } from '../../events/samples';
import { assessedAnswer, GATE_PASS_VALID_MS, gateDay, gateDayKeyOf, gateDaysBetween, gateLinkOf, gateOutcome, heldAnswer, letThroughByGate, parseJob, passApplies, type GateAssessment } from '../../handlers/pipeline-gate-domain';
import { isGateProceed } from '../../handlers/rollback-domain';

/** The pipeline gate's pure decisions: what a job asks, what the gate answers, and what it lets through later. */
const JOB = '11111111-abcd-1111-abcd-111111abcdef';
const release = { jobId: JOB, application: 'checkout', deploymentGroup: 'checkout-prod', revision: 'git:6f1c2a9e' };
const assessment: GateAssessment = {
  platform: 'Server',
  mode: 'gate',
  probability: 0.8125,
  cut: 0.6392,
  blockBudget: 0.1,
  cutSource: 'group',
  decision: 'rollback',
  enforced: true,
  explored: false,
  propensity: 0.95,
  modelVersion: 'm-1',
  featureRow: '1,2',
  changeSummary: { status: 'joined', revision: 'git:6f1c2a9e' },
  topFactors: [{ feature: 'linesAdded', value: 412, contribution: 0.61, text: '412 lines added' }],
  assessedAt: Date.parse('2026-12-01T09:00:00Z'),
};

function jobWith(data: Record<string, unknown>): unknown {
  const event = structuredClone(sample('codepipeline-lambda-invoke-job.json').event) as { 'CodePipeline.job': { data: Record<string, unknown> } };
  Object.assign(event['CodePipeline.job'].data, data);
  return event;
}

describe('parseJob', () => {
  it("takes the release from the first input artifact with a revision (a Git commit), the group from UserParameters, and the continuation token", () => {
    const parsed = parseJob(
      jobWith({
        actionConfiguration: { configuration: { FunctionName: 'gate', UserParameters: JSON.stringify({ application: 'checkout', deploymentGroup: 'checkout-prod' }) } },
        inputArtifacts: [{ name: 'Build', revision: null }, { name: 'Source', revision: 'abc123' }],
        continuationToken: JOB,
      }),
    );
    expect(parsed).toEqual({ ok: true, request: { jobId: JOB, application: 'checkout', deploymentGroup: 'checkout-prod', revision: { commitId: 'abc123' }, revisionKey: 'git:abc123', continuationToken: JOB } });
  });

  it('names the field of a job event that is not the shape CodePipeline sends', () => {
    const parsed = parseJob(jobWith({ actionConfiguration: { configuration: {} } }));
    expect(parsed).toMatchObject({ ok: false, jobId: JOB, problem: { input: 'the job event' } });
    expect(!parsed.ok && parsed.problem.problem).toContain('["CodePipeline.job"].data.actionConfiguration.configuration.FunctionName: Invalid input: expected string, received undefined');
  });
});

describe('gateOutcome', () => {
  it.each([
    [{ decision: 'proceed', enforced: true }, undefined, 'pass'],
    [{ decision: 'rollback', enforced: false }, undefined, 'pass'],
    [{ decision: 'rollback', enforced: true }, undefined, 'fail'],
    [{ decision: 'rollback', enforced: true }, { timeoutMinutes: 30, onTimeout: 'reject' }, 'hold'],
    [{ decision: 'proceed', enforced: true }, { timeoutMinutes: 30, onTimeout: 'reject' }, 'pass'],
  ] as const)('%p with hold %p: %s', (verdict, hold, outcome) => {
    expect(gateOutcome(verdict, hold)).toBe(outcome);
  });
});

describe('the answers', () => {
  it('a failure says the risk, the factors and the override command, within what CodePipeline keeps (5000 characters)', () => {
    const answer = assessedAnswer('fail', release, assessment, { environment: 'prod' });
    expect(answer).toEqual({
      kind: 'failure',
      message:
        'Deploy Guard stopped release git:6f1c2a9e of checkout/checkout-prod before its deployment was created: probability of failure 0.8125 reaches the cut 0.6392 (the riskiest 10 % of checkout/checkout-prod); top factors: 412 lines added. If you know it is safe, let it through and release it again: deploy-guard override --environment prod --application checkout --revision git:6f1c2a9e --reason "..."',
    });
    const long = assessedAnswer('fail', release, { ...assessment, topFactors: Array.from({ length: 10 }, () => ({ ...assessment.topFactors[0], text: 'x'.repeat(900) })) }, { environment: 'prod' });
    expect(long.kind === 'failure' && long.message.length).toBe(5000);
  });

  it('a hold gives the job id back as the continuation token, with the approve and reject commands, within 2048 characters', () => {
    const answer = assessedAnswer('hold', release, assessment, { environment: 'prod', hold: { until: Date.parse('2026-12-01T09:30:00Z'), onTimeout: 'reject' } });
    expect(answer).toMatchObject({ kind: 'continue', continuationToken: JOB });
    expect(answer.kind === 'continue' && answer.summary).toContain(`deploy-guard approve --environment prod --pipeline-job ${JOB} --reason "..."`);
    expect(answer.kind === 'continue' && answer.summary.length).toBeLessThanOrEqual(2048);
  });

  it('a held release: waiting gives the token again; approved succeeds; rejected (here by the timeout) fails', () => {
    const until = Date.parse('2026-12-01T09:30:00Z');
    expect(heldAnswer(release, undefined, { until })).toMatchObject({ kind: 'continue', continuationToken: JOB });
    expect(heldAnswer(release, { action: 'approve', by: 'arn:alice', reason: 'ok', at: until - 1, cause: 'operator' }, { until })).toEqual({ kind: 'success', summary: "Deploy Guard's hold of release git:6f1c2a9e of checkout/checkout-prod was approved by arn:alice: ok" });
    expect(heldAnswer(release, { action: 'reject', by: 'deploy-guard (hold timeout)', reason: 'nobody decided', at: until, cause: 'timeout' }, { until })).toEqual({ kind: 'failure', message: "Deploy Guard's hold of release git:6f1c2a9e of checkout/checkout-prod was rejected by the hold's timeout: nobody decided" });
  });
});

describe('the link of a later deployment to the gate', () => {
  const pass = { application: 'checkout', deploymentGroup: 'checkout-prod', revision: 'git:6f1c2a9e', jobId: JOB, probability: 0.2, cut: 0.6, decidedAt: Date.parse('2026-12-01T09:00:00Z'), passedBy: 'assessment' as const };

  it('carries the gate job, its risk and whether it let a would-be stop through; the let-through verdict is not enforced, propensity 1, the decision kept', () => {
    expect(gateLinkOf(pass, true)).toEqual({ jobId: JOB, probability: 0.2, cut: 0.6, decidedAt: '2026-12-01T09:00:00Z', passedBy: 'assessment', letThrough: true });
    expect(letThroughByGate({ decision: 'rollback', probability: 0.7, enforced: true, explored: false, propensity: 0.95 }, {})).toEqual({ decision: 'rollback', probability: 0.7, enforced: false, explored: false, propensity: 1 });
    // The gate's pass was an exploration draw: the deployment's outcome is weighted by the gate's propensity.
    expect(letThroughByGate({ decision: 'rollback', probability: 0.7, enforced: true, explored: false, propensity: 0.95 }, { explored: true, propensity: 0.05 })).toMatchObject({ enforced: false, explored: true, propensity: 0.05 });
  });

  it("applies to a deployment of the pass's group starting within a day after it (a minute's skew allowed), no other", () => {
    const at = { deploymentGroup: 'checkout-prod', startedAt: pass.decidedAt + 5 * 60_000 };
    expect(passApplies(pass, at)).toBe(true);
    expect(passApplies(pass, { ...at, deploymentGroup: 'checkout-staging' })).toBe(false);
    expect(passApplies(pass, { ...at, startedAt: pass.decidedAt + GATE_PASS_VALID_MS + 1 })).toBe(false);
    // CodeDeploy's event time has whole seconds, from another clock: a START up to a minute before the pass is its deployment.
    expect(passApplies(pass, { ...at, startedAt: pass.decidedAt - 999 })).toBe(true);
    expect(passApplies(pass, { ...at, startedAt: pass.decidedAt - 60_001 })).toBe(false);
  });

  it('at READY a let-through deployment proceeds (ContinueDeployment), as an overridden one does; a shadow one does not', () => {
    const ready = { mode: 'gate', trigger: 'READY', decision: 'rollback', enforced: false } as const;
    expect(isGateProceed({ ...ready, gate: { letThrough: true } })).toBe(true);
    expect(isGateProceed({ ...ready, override: { kind: 'override' } })).toBe(true);
    expect(isGateProceed({ ...ready, gate: { letThrough: false } })).toBe(false);
    expect(isGateProceed(ready)).toBe(false);
    expect(isGateProceed({ ...ready, decision: 'proceed', enforced: true })).toBe(true);
    expect(isGateProceed({ ...ready, trigger: 'START', gate: { letThrough: true } })).toBe(false);
    expect(isGateProceed({ ...ready, mode: 'shadow', gate: { letThrough: true } })).toBe(false);
  });
});

describe("the gate's decisions by group and day (what `deploy-guard decisions` reads)", () => {
  it('lists a decision under its group and UTC day', () => {
    expect(gateDay(Date.parse('2026-12-01T23:59:59.999Z'))).toBe('2026-12-01');
    expect(gateDay(Date.parse('2026-12-02T00:00:00Z'))).toBe('2026-12-02');
    expect(gateDayKeyOf({ application: 'checkout', deploymentGroup: 'checkout-prod', decidedAt: Date.parse('2026-12-01T09:00Z') })).toBe('gateday#checkout/checkout-prod#2026-12-01');
  });

  it('reads the days from --since to now, newest first, across a month end; none when since is after now', () => {
    expect(gateDaysBetween(Date.parse('2026-11-29T23:00Z'), Date.parse('2026-12-01T00:30Z'))).toEqual(['2026-12-01', '2026-11-30', '2026-11-29']);
    expect(gateDaysBetween(Date.parse('2026-12-01T09:00Z'), Date.parse('2026-12-01T10:00Z'))).toEqual(['2026-12-01']);
    expect(gateDaysBetween(Date.parse('2026-12-02T09:00Z'), Date.parse('2026-12-01T10:00Z'))).toEqual([]);
  });
});
