import { main } from '../../cli/main';
import { memoryIO } from '../support/io';
import { decisionWords, gateDecisionWords, gateReleaseOutcome, parseSince } from '../../cli/commands/decisions';
import { DynamoDbGateStore } from '../../handlers/adapters/dynamodb-gates';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import type { GateDecisionEntry } from '../../handlers/pipeline-gate-domain';
import type { AssessmentRecord, OutcomeRecord } from '../../handlers/ports';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';
import { exampleGroupNames } from '../../stacks/config';
import { storedAssessment } from '../handlers/assessment-fixture';

/**
 * `deploy-guard decisions` against the dev environment's tables in dynalite (the shipped
 * configuration's deploy-guard-dev prefix), filled by the real DynamoDB adapter as predict and
 * record-outcome fill them.
 */
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T09:00:00Z');
const example = exampleGroupNames('deploy-guard-dev');
const payments = { application: 'payments', deploymentGroup: 'payments-prod' };
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';


/** A release the pipeline gate decided, as it lists it. */
function gated(jobId: string, minutes: number, change: Partial<GateDecisionEntry>): GateDecisionEntry {
  return { jobId, ...example, revision: `git:${jobId}`, outcome: 'pass', decidedAt: T0 + minutes * MINUTE, mode: 'gate', probability: 0.1, cut: 0.31, blockBudget: 0.1, modelVersion: 'm-7', ...change };
}

function assessed(id: string, minutes: number, change: Partial<AssessmentRecord>): AssessmentRecord {
  return storedAssessment({ deploymentId: id, startedAt: T0 + minutes * MINUTE, assessedAt: T0 + minutes * MINUTE + 1_500, ...change });
}

describe('deploy-guard decisions (the live view, against dynalite)', () => {
  let local: LocalDynamoDb;
  const saved = { ...process.env };

  beforeAll(async () => {
    local = await startLocalDynamoDb({ prefix: 'deploy-guard-dev' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const store = new DynamoDbDeploymentStore(local.client, local.tableNames.deployments, local.tableNames.history);
    const stopped = assessed('d-STOPPED01', 30, { ...example, platform: 'Server', mode: 'gate', decision: 'rollback', enforced: true, probability: 0.62, cut: 0.31, blockBudget: 0.1 });
    await store.putAssessment(stopped);
    const finished: OutcomeRecord = { deploymentId: 'd-STOPPED01', ...example, state: 'STOP', label: 'counterfactual', finishedAt: T0 + 40 * MINUTE };
    await store.putOutcome(finished, { time: stopped.startedAt });
    await store.putAssessment(assessed('d-SHADOW001', 20, { ...payments, platform: 'ECS', mode: 'shadow', decision: 'rollback', enforced: false, probability: 0.4, cut: 0.35, changeSummary: { status: 'missing', revision: `appspec:${'b'.repeat(64)}` } }));
    await store.putAssessment(assessed('d-PROCEED01', 10, { ...payments, platform: 'ECS', mode: 'shadow', decision: 'proceed', enforced: false, probability: 0.05, cut: 0.35 }));
    await store.putOutcome({ deploymentId: 'd-PROCEED01', ...payments, state: 'SUCCESS', label: 'succeeded', finishedAt: T0 + 25 * MINUTE }, { time: T0 + 10 * MINUTE, failed: false });
    await store.putAssessment(assessed('d-EXPLORE01', 50, { ...example, platform: 'Server', mode: 'gate', decision: 'proceed', explored: true, propensity: 0.02, enforced: true, probability: 0.7, cut: 0.31 }));
    await store.putAssessment(assessed('d-FALLBACK1', 55, { ...example, platform: 'Server', mode: 'gate', decision: 'proceed', enforced: true, probability: null, cut: 0.31, fallback: { policy: 'fail-open', cause: 'endpoint', reason: 'Timeout: no answer in 2000 ms' } }));
    await store.putAssessment(assessed('d-OVERRIDE1', 57, { ...example, platform: 'Server', mode: 'gate', decision: 'rollback', enforced: false, propensity: 1, probability: 0.8, cut: 0.31, override: { kind: 'override', by: OPERATOR, reason: 'INC-42: hotfix', at: T0 + 56 * MINUTE, until: T0 + 24 * 60 * MINUTE } }));
    const gates = new DynamoDbGateStore(local.client, local.tableNames.control);
    await gates.listDecision(gated('job-failed', 45, { outcome: 'fail', probability: 0.9, pipelineExecutionId: 'exec-9' }));
    await gates.listDecision(gated('job-passed', 58, {}));
    const linked = assessed('d-GATED0001', 59, { ...example, platform: 'Server', mode: 'gate', decision: 'proceed', enforced: true, probability: 0.1, cut: 0.31, gate: { jobId: 'job-passed', probability: 0.1, cut: 0.31, decidedAt: '2026-12-01T09:58:00Z', passedBy: 'assessment', letThrough: false } });
    await store.putAssessment(linked);
    await store.putOutcome({ deploymentId: 'd-GATED0001', ...example, state: 'SUCCESS', label: 'succeeded', finishedAt: T0 + 70 * MINUTE }, { time: linked.startedAt, failed: false });
    const held = gated('job-held', 15, { ...payments, outcome: 'hold', probability: 0.5, cut: 0.35 });
    await gates.listDecision(held);
    await gates.settleListedDecision(held, { action: 'approve', by: OPERATOR, reason: 'INC-9: checked', at: T0 + 16 * MINUTE, cause: 'operator' });
    await gates.listDecision(gated('job-before', -600, { outcome: 'fail' }));
    await store.putAssessment(assessed('d-OLD000001', -600, { ...example, platform: 'Server', mode: 'gate', decision: 'proceed', enforced: true }));
  });

  afterAll(async () => {
    process.env = saved;
    await local.close();
  });

  const run = async (...args: string[]) => {
    const output = memoryIO();
    const status = await main(['decisions', '--environment', 'dev', '--endpoint', local.endpoint, ...args], output.io);
    return { status, stdout: output.stdout(), stderr: output.stderr() };
  };

  it("lists every guarded group's decisions since a time, newest first: decision, risk against the cut, budget, outcome; the pipeline gate's among them", async () => {
    const { status, stdout, stderr } = await run('--since', '2026-12-01T09:00Z');
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('deploy-guard-dev: 10 decisions since 2026-12-01T09:00:00.000Z, newest first');
    expect(lines[1]).toMatch(/^started \(UTC\) +deployment \/ gate job +group +decision +risk vs cut +budget +outcome +model$/);
    expect(lines.slice(2).map((line) => line.split(/ {2,}/).slice(0, 7))).toEqual([
      ['2026-12-01 09:59', 'd-GATED0001', `${example.application}/${example.deploymentGroup}`, 'proceed', '0.100 < 0.310', '10.0 %', 'succeeded'],
      ['2026-12-01 09:58', 'job job-passed', `${example.application}/${example.deploymentGroup}`, 'passed at the pipeline gate: release git:job-passed', '0.100 < 0.310', '10.0 %', 'd-GATED0001: succeeded'],
      ['2026-12-01 09:57', 'd-OVERRIDE1', `${example.application}/${example.deploymentGroup}`, `overridden (a would-be stop let through) by ${OPERATOR}: INC-42: hotfix`, '0.800 ≥ 0.310', '10.0 %', 'pending'],
      ['2026-12-01 09:55', 'd-FALLBACK1', `${example.application}/${example.deploymentGroup}`, 'proceed (fallback fail-open: Timeout: no answer in 2000 ms)', 'no score', '10.0 %', 'pending'],
      ['2026-12-01 09:50', 'd-EXPLORE01', `${example.application}/${example.deploymentGroup}`, 'explored (a would-be stop let through)', '0.700 ≥ 0.310', '10.0 %', 'pending'],
      ['2026-12-01 09:45', 'job job-failed', `${example.application}/${example.deploymentGroup}`, 'failed at the pipeline gate: release git:job-failed (no deployment created)', '0.900 ≥ 0.310', '10.0 %', 'not deployed'],
      ['2026-12-01 09:30', 'd-STOPPED01', `${example.application}/${example.deploymentGroup}`, 'stopped at the gate', '0.620 ≥ 0.310', '10.0 %', 'counterfactual'],
      ['2026-12-01 09:20', 'd-SHADOW001', 'payments/payments-prod', 'would stop (shadow) (no change summary)', '0.400 ≥ 0.350', '10.0 %', 'pending'],
      ['2026-12-01 09:15', 'job job-held', 'payments/payments-prod', `held at the pipeline gate: release git:job-held, approved by ${OPERATOR}: INC-9: checked`, '0.500 ≥ 0.350', '10.0 %', 'not deployed yet'],
      ['2026-12-01 09:10', 'd-PROCEED01', 'payments/payments-prod', 'proceed', '0.050 < 0.350', '10.0 %', 'succeeded'],
    ]);
  });

  it('narrows to one group and a limit, and answers JSON lines for scripts', async () => {
    const { status, stdout } = await run('--since', '2026-12-01T09:00Z', '--group', 'payments/payments-prod', '--limit', '1', '--json');
    expect(status).toBe(0);
    expect(stdout.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      {
        kind: 'deployment',
        deploymentId: 'd-SHADOW001',
        group: 'payments/payments-prod',
        startedAt: '2026-12-01T09:20:00.000Z',
        decision: 'would stop (shadow)',
        probability: 0.4,
        cut: 0.35,
        blockBudget: 0.1,
        outcome: 'pending',
        modelVersion: storedAssessment().modelVersion,
        changeSummary: 'missing',
      },
    ]);
  });

  it('says in JSON who overrode a decision, why, when and until when', async () => {
    const { stdout } = await run('--since', '2026-12-01T09:56Z', '--json');
    const rows = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => row.deploymentId ?? row.jobId)).toEqual(['d-GATED0001', 'job-passed', 'd-OVERRIDE1']);
    expect(rows[2]).toMatchObject({
      deploymentId: 'd-OVERRIDE1',
      decision: 'overridden (a would-be stop let through)',
      override: { kind: 'override', by: OPERATOR, reason: 'INC-42: hotfix', at: '2026-12-01T09:56:00.000Z', until: '2026-12-02T09:00:00.000Z' },
    });
  });

  it("answers a gate decision in JSON: its job, release, outcome, risk against the cut, and the deployment it became", async () => {
    const { stdout } = await run('--since', '2026-12-01T09:00Z', '--json');
    const gate = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).filter((row) => row.kind === 'gate');
    expect(gate).toEqual([
      {
        kind: 'gate', jobId: 'job-passed', group: `${example.application}/${example.deploymentGroup}`, revision: 'git:job-passed', decidedAt: '2026-12-01T09:58:00.000Z', gateOutcome: 'pass',
        decision: 'passed at the pipeline gate: release git:job-passed', probability: 0.1, cut: 0.31, blockBudget: 0.1, outcome: 'd-GATED0001: succeeded', deploymentIds: ['d-GATED0001'], modelVersion: 'm-7',
      },
      {
        kind: 'gate', jobId: 'job-failed', pipelineExecutionId: 'exec-9', group: `${example.application}/${example.deploymentGroup}`, revision: 'git:job-failed', decidedAt: '2026-12-01T09:45:00.000Z', gateOutcome: 'fail',
        decision: 'failed at the pipeline gate: release git:job-failed (no deployment created)', probability: 0.9, cut: 0.31, blockBudget: 0.1, outcome: 'not deployed', deploymentIds: [], modelVersion: 'm-7',
      },
      {
        kind: 'gate', jobId: 'job-held', group: 'payments/payments-prod', revision: 'git:job-held', decidedAt: '2026-12-01T09:15:00.000Z', gateOutcome: 'hold',
        settled: { action: 'approve', by: OPERATOR, reason: 'INC-9: checked', at: '2026-12-01T09:16:00.000Z', cause: 'operator' },
        decision: `held at the pipeline gate: release git:job-held, approved by ${OPERATOR}: INC-9: checked`, probability: 0.5, cut: 0.35, blockBudget: 0.1, outcome: 'not deployed yet', deploymentIds: [], modelVersion: 'm-7',
      },
    ]);
  });

  it('keeps --limit per group across deployments and gate decisions, newest kept', async () => {
    const { stdout } = await run('--since', '2026-12-01T09:00Z', '--group', `${example.application}/${example.deploymentGroup}`, '--limit', '3', '--json');
    expect(stdout.trimEnd().split('\n').map((line) => { const row = JSON.parse(line) as Record<string, unknown>; return row.deploymentId ?? row.jobId; })).toEqual(['d-GATED0001', 'job-passed', 'd-OVERRIDE1']);
  });

  it("says what the gate decided and what became of the release: a hold's wait, its timeout, a rejection", () => {
    const release = { revision: 'git:abc' };
    expect(gateDecisionWords({ ...release, outcome: 'hold' })).toBe('held at the pipeline gate for a person: release git:abc (approve / reject --pipeline-job)');
    const timedOut = { action: 'reject' as const, by: 'deploy-guard (hold timeout)', reason: 'nobody approved it', at: T0, cause: 'timeout' as const };
    expect(gateDecisionWords({ ...release, outcome: 'hold', settled: timedOut })).toBe("held at the pipeline gate: release git:abc, rejected by the hold's timeout: nobody approved it");
    expect(gateReleaseOutcome({ outcome: 'hold' }, [])).toBe('waiting');
    expect(gateReleaseOutcome({ outcome: 'hold', settled: timedOut }, [])).toBe('not deployed');
    expect(gateReleaseOutcome({ outcome: 'pass' }, [{ deploymentId: 'd-1', outcome: 'failed' }, { deploymentId: 'd-2', outcome: 'pending' }])).toBe('d-1: failed, d-2: pending');
  });

  it('says so when nothing was decided in the window', async () => {
    const { status, stdout } = await run('--since', '2026-12-02T00:00Z');
    expect(status).toBe(0);
    expect(stdout).toBe('deploy-guard-dev: 0 decisions since 2026-12-02T00:00:00.000Z, newest first\n(none)\n');
  });

  it.each([
    [['--group', 'payments/other'], "--group: 'payments/other' is not guarded in this environment; it guards payments/payments-prod, deploy-guard-dev-example/blue-green"],
    [['--since', 'yesterday'], "--since: expected an ISO time such as 2026-12-01T09:00Z or a duration such as 30m, 24h or 7d, got 'yesterday'"],
    [['--limit', '0'], "--limit: expected a whole number from 1 to 10000, got '0'"],
  ])('refuses %j with a usage error naming the option', async (args, message) => {
    const { status, stderr } = await run(...args);
    expect(status).toBe(2);
    expect(stderr).toContain(`deploy-guard decisions: ${message}`);
  });

  it('refuses an environment the configuration does not have', async () => {
    const output = memoryIO();
    expect(await main(['decisions', '--environment', 'qa'], output.io)).toBe(2);
    expect(output.stderr()).toMatch(/--environment: 'qa' is not an environment of .*deploy-guard\.config\.json/);
  });

  it('says a gate deployment held for a person is held, not stopped', () => {
    const gateStop = { mode: 'gate' as const, decision: 'rollback' as const, enforced: true };
    expect(decisionWords(storedAssessment(gateStop))).toBe('stopped at the gate');
    expect(decisionWords(storedAssessment({ ...gateStop, onRisk: 'hold' }))).toBe('held for a person (approve / reject)');
  });

  it('says a would-be stop the pipeline gate passed was let through at the gate, not a shadow decision', () => {
    const gate = { jobId: 'job-1', probability: 0.2, cut: 0.6, decidedAt: '2026-11-30T12:00:00Z', passedBy: 'assessment' as const, letThrough: true };
    expect(decisionWords(storedAssessment({ mode: 'stop', decision: 'rollback', enforced: false, gate }))).toBe('passed at the pipeline gate (job job-1: a would-be stop let through)');
    expect(decisionWords(storedAssessment({ mode: 'stop', decision: 'proceed', enforced: true, gate: { ...gate, letThrough: false } }))).toBe('proceed');
  });

  it('says a deployment in the bake tier proceeds and is baked, for how long; not one whose bake never starts (shadow)', () => {
    const bake = { cut: 0.2, minutes: 30, alarms: ['checkout-5xx'] };
    expect(decisionWords(storedAssessment({ mode: 'stop', decision: 'proceed', enforced: true, tier: 'bake', bake }))).toBe('proceed, baked 30 min after its traffic moves');
    expect(decisionWords(storedAssessment({ mode: 'shadow', decision: 'proceed', enforced: false, tier: 'bake', bake }))).toBe('proceed');
  });

  it('reads --since as a duration ago or an ISO time', () => {
    expect(parseSince('30m', T0)).toBe(T0 - 30 * MINUTE);
    expect(parseSince('24h', T0)).toBe(T0 - 1_440 * MINUTE);
    expect(parseSince('7d', T0)).toBe(T0 - 7 * 1_440 * MINUTE);
    expect(parseSince('2026-11-30T12:00Z', T0)).toBe(Date.parse('2026-11-30T12:00Z'));
  });
});
