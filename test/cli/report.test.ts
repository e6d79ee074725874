import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../events/clock';
import { main } from '../../cli/main';
import { memoryIO } from '../support/io';
import { createReportCommand, type ProductionReport } from '../../cli/commands/report';
import { dynamoDbDeploymentStore } from '../../cli/commands/decisions';
import { DynamoDbGateStore } from '../../handlers/adapters/dynamodb-gates';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import type { GateDecisionEntry } from '../../handlers/pipeline-gate-domain';
import type { AssessmentRecord, OutcomeLabel } from '../../handlers/ports';
import { tableName } from '../../handlers/tables';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';
import { exampleGroupNames } from '../../stacks/config';
import { policyDocument } from '../../stacks/iam';
import { operatorStatements } from '../../stacks/operator-role';
import { isAllowed, type AccessRequest } from '../../stacks/policy-check';
import { storedAssessment } from '../handlers/assessment-fixture';

/**
 * `deploy-guard report --environment dev` against the dev environment's tables in dynalite, filled
 * by the real DynamoDB adapter as predict and record-outcome fill them: the example group in gate
 * mode with exploration, the payments group in shadow mode.
 */
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T09:00:00Z');
const example = exampleGroupNames('deploy-guard-dev');
const payments = { application: 'payments', deploymentGroup: 'payments-prod' };


describe('deploy-guard report (production in the backtest report\'s terms, against dynalite)', () => {
  let local: LocalDynamoDb;
  let outDir: string;
  const saved = { ...process.env };
  let minute = 0;

  async function put(store: DynamoDbDeploymentStore, group: { application: string; deploymentGroup: string }, change: Partial<AssessmentRecord>, label: OutcomeLabel | 'pending') {
    minute += 1;
    const deploymentId = `d-R${String(minute).padStart(8, '0')}`;
    const assessment = storedAssessment({ deploymentId, ...group, startedAt: T0 + minute * MINUTE, assessedAt: T0 + minute * MINUTE + 1_000, blockBudget: 0.1, ...change });
    await store.putAssessment(assessment);
    if (label === 'pending') return;
    const state = label === 'succeeded' ? 'SUCCESS' : label === 'failed' ? 'FAILURE' : 'STOP';
    await store.putOutcome({ deploymentId, ...group, state, label, finishedAt: assessment.startedAt + 10 * MINUTE }, { time: assessment.startedAt, ...(label === 'counterfactual' ? {} : { failed: label === 'failed' }) });
  }

  beforeAll(async () => {
    local = await startLocalDynamoDb({ prefix: 'deploy-guard-dev' });
    outDir = mkdtempSync(join(tmpdir(), 'deploy-guard-report-'));
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const store = new DynamoDbDeploymentStore(local.client, local.tableNames.deployments, local.tableNames.history);
    const gate = { platform: 'Server' as const, mode: 'gate' as const, enforced: true };
    for (let i = 0; i < 4; i += 1) await put(store, example, { ...gate, decision: 'rollback', explored: false, propensity: 0.5, probability: 0.7, cut: 0.3 }, 'counterfactual');
    await put(store, example, { ...gate, decision: 'proceed', explored: true, propensity: 0.5, probability: 0.8, cut: 0.3 }, 'failed');
    await put(store, example, { ...gate, decision: 'proceed', explored: true, propensity: 0.5, probability: 0.6, cut: 0.3 }, 'succeeded');
    for (let i = 0; i < 3; i += 1) await put(store, example, { ...gate, decision: 'proceed', explored: false, propensity: 1, probability: 0.1, cut: 0.3 }, 'failed');
    for (let i = 0; i < 30; i += 1) await put(store, example, { ...gate, decision: 'proceed', explored: false, propensity: 1, probability: 0.1, cut: 0.3 }, i < 29 ? 'succeeded' : 'pending');
    const shadow = { platform: 'ECS' as const, mode: 'shadow' as const, enforced: false, explored: false, propensity: 1 };
    await put(store, payments, { ...shadow, decision: 'rollback', probability: 0.5, cut: 0.4 }, 'failed');
    await put(store, payments, { ...shadow, decision: 'proceed', probability: 0.2, cut: 0.4 }, 'succeeded');
  });

  afterAll(async () => {
    process.env = saved;
    rmSync(outDir, { recursive: true, force: true });
    await local.close();
  });

  const run = async (...args: string[]) => {
    const output = memoryIO();
    const status = await main(['report', '--environment', 'dev', '--endpoint', local.endpoint, '--since', '2026-12-01T09:00Z', ...args], output.io);
    return { status, stdout: output.stdout(), stderr: output.stderr() };
  };

  it('prints each group: what it stopped, what it caught (estimated from exploration where it stopped), net benefit, and for a shadow group whether it may graduate', async () => {
    const { status, stdout, stderr } = await run();
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^deploy-guard-dev \(dev\): what Deploy Guard did from 2026-12-01T09:00:00.000Z to /);
    expect(stdout).toContain(
      [
        'payments/payments-prod (shadow mode, budget 10.0 %)',
        '  assessed 2 (0 pending), would stop 1 (blocked 50.0 %), explored 0, fallbacks 0',
        '  caught 100.0 % of failures (1.0 caught, 0 missed), precision 1.000, net benefit 3, net per stop 3.00',
        "  exploration let 0 failures through; figures observed (shadow: all 1 would-be stops' outcomes known)",
        '  does not meet the criteria for stop mode yet: 2 deployments assessed, fewer than 200; 1 would-be stops, fewer than 20; would block 50.0 %, more than 2.0 % from the 10.0 % budget',
      ].join('\n'),
    );
    expect(stdout).toContain(
      [
        `${example.application}/${example.deploymentGroup} (gate mode, budget 10.0 %)`,
        '  assessed 39 (1 pending), stopped 4 (blocked 10.3 %), explored 2, fallbacks 0',
        // Half the explored would-be stops failed: of the 6 would-be stops, 3 are estimated failures; 3 failures were
        // missed. At the example's configured costs (10:1): 10 × 3 − 1 × 3 = 27, over 6 would-be stops.
        '  caught 50.0 % of failures (3.0 caught, 3 missed), precision 0.500, net benefit 27, net per stop 4.50',
        '  exploration let 1 failure through; figures estimated from 2 explored would-be stops',
      ].join('\n'),
    );
  });

  it('answers JSON with the backtest comparison\'s names, and writes it with --out', async () => {
    const out = join(outDir, 'production.json');
    const { status, stdout } = await run('--group', 'payments/payments-prod', '--json', '--out', out);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as ProductionReport;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]).toMatchObject({ group: 'payments/payments-prod', blocked_rate: 0.5, caught_rate: 1, precision: 1, net_benefit: 3, net_per_stop: 3, basis: 'observed' });
    expect(report.graduation_criteria).toContain('would-be stops');
  });

  it('reads only what started since --since (a duration ago, on the injected clock)', async () => {
    const output = memoryIO();
    const command = createReportCommand({ clock: new ManualClock('2026-12-01T09:10:30Z'), deploymentStore: dynamoDbDeploymentStore });
    const status = await command.run(['--environment', 'dev', '--endpoint', local.endpoint, '--since', '5m', '--group', `${example.application}/${example.deploymentGroup}`, '--json'], output.io);
    expect(status).toBe(0);
    // Started 09:05:30 or later, up to the last one: minutes 6 to 39 of the example group.
    expect((JSON.parse(output.stdout()) as ProductionReport).groups[0].assessed).toBe(34);
  });

  it('refuses a group the environment does not guard, naming the ones it does', async () => {
    const { status, stderr } = await run('--group', 'nope/nope');
    expect(status).toBe(2);
    expect(stderr).toContain("--group: 'nope/nope' is not guarded in this environment; it guards payments/payments-prod");
  });
});


/**
 * The same command over a day in which the example group's releases also went through the pipeline
 * gate (a CodePipeline action before Deploy): deployments predict decided, a release the gate failed
 * (it never became a deployment), one it passed whose deployment started a minute later, one held and
 * approved by a person, one held until its timeout rejected it; and in the shadow group a release the
 * gate passed that has not been deployed yet.
 */
describe("deploy-guard report with the pipeline gate's decisions (against dynalite)", () => {
  const T1 = Date.parse('2026-11-20T09:00:00Z');
  const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
  const clock = new ManualClock('2026-11-21T09:00:00Z');
  let local: LocalDynamoDb;
  const saved = { ...process.env };

  async function put(store: DynamoDbDeploymentStore, deploymentId: string, minutes: number, group: { application: string; deploymentGroup: string }, change: Partial<AssessmentRecord>, label: OutcomeLabel) {
    const assessment = storedAssessment({ deploymentId, ...group, startedAt: T1 + minutes * MINUTE, assessedAt: T1 + minutes * MINUTE + 1_000, blockBudget: 0.1, ...change });
    await store.putAssessment(assessment);
    const state = label === 'succeeded' ? 'SUCCESS' : label === 'failed' ? 'FAILURE' : 'STOP';
    await store.putOutcome({ deploymentId, ...group, state, label, finishedAt: assessment.startedAt + 10 * MINUTE }, { time: assessment.startedAt, ...(label === 'counterfactual' ? {} : { failed: label === 'failed' }) });
  }

  /** A release the pipeline gate decided, as it lists it. */
  const gated = (jobId: string, minutes: number, change: Partial<GateDecisionEntry>): GateDecisionEntry => ({
    jobId, ...example, revision: `git:${jobId}`, outcome: 'pass', decidedAt: T1 + minutes * MINUTE, mode: 'gate', probability: 0.1, cut: 0.3, blockBudget: 0.1, modelVersion: 'm-7', ...change,
  });

  beforeAll(async () => {
    local = await startLocalDynamoDb({ prefix: 'deploy-guard-dev' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const store = new DynamoDbDeploymentStore(local.client, local.tableNames.deployments, local.tableNames.history);
    const gateMode = { platform: 'Server' as const, mode: 'gate' as const, enforced: true, cut: 0.3 };
    await put(store, 'd-STOP00001', 1, example, { ...gateMode, decision: 'rollback', explored: false, propensity: 0.5, probability: 0.7 }, 'counterfactual');
    await put(store, 'd-STOP00002', 2, example, { ...gateMode, decision: 'rollback', explored: false, propensity: 0.5, probability: 0.8 }, 'counterfactual');
    await put(store, 'd-EXPLORE01', 3, example, { ...gateMode, decision: 'proceed', explored: true, propensity: 0.5, probability: 0.6 }, 'failed');
    for (let i = 0; i < 4; i += 1) await put(store, `d-PROCEED0${i}`, 4 + i, example, { ...gateMode, decision: 'proceed', explored: false, propensity: 1, probability: 0.1 }, 'succeeded');
    await put(store, 'd-MISSED001', 9, example, { ...gateMode, decision: 'proceed', explored: false, propensity: 1, probability: 0.1 }, 'failed');
    const gates = new DynamoDbGateStore(local.client, local.tableNames.control);
    await gates.listDecision(gated('job-before', -60, { outcome: 'fail', probability: 0.9 }));
    await gates.listDecision(gated('job-fail', 20, { outcome: 'fail', probability: 0.9 }));
    await gates.listDecision(gated('job-pass', 30, {}));
    const link = { jobId: 'job-pass', probability: 0.1, cut: 0.3, decidedAt: '2026-11-20T09:30:00Z', passedBy: 'assessment' as const, letThrough: false };
    await put(store, 'd-GATED0001', 31, example, { ...gateMode, decision: 'proceed', explored: false, propensity: 1, probability: 0.1, gate: link }, 'succeeded');
    const approved = gated('job-approved', 40, { outcome: 'hold', probability: 0.6 });
    await gates.listDecision(approved);
    await gates.settleListedDecision(approved, { action: 'approve', by: OPERATOR, reason: 'INC-9: checked', at: T1 + 45 * MINUTE, cause: 'operator' });
    const timedOut = gated('job-timedout', 50, { outcome: 'hold', probability: 0.7 });
    await gates.listDecision(timedOut);
    await gates.settleListedDecision(timedOut, { action: 'reject', by: 'deploy-guard (hold timeout)', reason: 'nobody answered within 60 minutes', at: T1 + 110 * MINUTE, cause: 'timeout' });
    const shadow = { platform: 'ECS' as const, mode: 'shadow' as const, enforced: false, explored: false, propensity: 1, cut: 0.4 };
    await put(store, 'd-SHADOW001', 5, payments, { ...shadow, decision: 'rollback', probability: 0.5 }, 'failed');
    await put(store, 'd-SHADOW002', 6, payments, { ...shadow, decision: 'proceed', probability: 0.2 }, 'succeeded');
    await gates.listDecision(gated('job-shadow', 60, { ...payments, mode: 'shadow', probability: 0.5, cut: 0.4 }));
  });

  afterAll(async () => {
    process.env = saved;
    await local.close();
  });

  const run = async (...args: string[]) => {
    const output = memoryIO();
    const status = await createReportCommand({ clock }).run(['--environment', 'dev', '--endpoint', local.endpoint, '--since', '2026-11-20T09:00Z', ...args], output.io);
    return { status, stdout: output.stdout(), stderr: output.stderr() };
  };

  it("counts the gate's passes, fails and holds (and how each hold ended) beside the deployments, its fails and holds as stops, a gate pass and its deployment as one release", async () => {
    const { status, stdout, stderr } = await run();
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toContain(
      [
        `${example.application}/${example.deploymentGroup} (gate mode, budget 10.0 %)`,
        '  assessed 9 (0 pending), stopped 2 (blocked 22.2 %), explored 1, fallbacks 0',
        '  caught 75.0 % of failures (3.0 caught, 1 missed), precision 1.000, net benefit 30, net per stop 10.00',
        '  exploration let 1 failure through; figures estimated from 1 explored would-be stop',
        // The release failed before 09:00 is not in the period; the deployment of job-pass is d-GATED0001, assessed above.
        '  pipeline gate (before any deployment): decided 4: passed 1, failed 1, held 2 (1 approved, 1 timed out and rejected); 1 of them deployed (each counted once, as its deployment)',
        '  2 releases the pipeline gate kept from running have no outcome (never ran): not in caught, precision or net benefit',
        // 9 deployments + 4 gate decisions − 1 that is one of the deployments; stops: 2 deployments + 1 gate fail + 2 gate holds.
        '  in all: 12 releases, stopped or held 5 (41.7 % of releases): 2 deployments, 1 failed at the pipeline gate, 2 held at the pipeline gate',
      ].join('\n'),
    );
    expect(stdout).toContain(
      [
        '  pipeline gate (before any deployment): decided 1: passed 1, failed 0, held 0; none of them deployed in the period',
        // Shadow mode stops nothing: its would-be stop is not a stop here.
        '  in all: 3 releases, stopped or held 0 (0.0 % of releases): 0 deployments, 0 failed at the pipeline gate, 0 held at the pipeline gate',
        '  does not meet the criteria for stop mode yet:',
      ].join('\n'),
    );
    expect(stdout.trimEnd().split('\n').slice(-3)).toEqual([
      'all groups: 15 releases, stopped or held 5 (33.3 % of releases): 2 deployments, 1 failed at the pipeline gate, 2 held at the pipeline gate',
      '  pipeline gate (before any deployment): decided 5: passed 2, failed 1, held 2 (1 approved, 1 timed out and rejected); 1 of them deployed (each counted once, as its deployment)',
      '  2 releases the pipeline gate kept from running have no outcome (never ran): not in caught, precision or net benefit',
    ]);
  });

  it("answers the gate's counts and the totals in JSON, per group and over all groups", async () => {
    const { status, stdout } = await run('--json');
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as ProductionReport;
    const gateGroup = report.groups.find((group) => group.group === `${example.application}/${example.deploymentGroup}`)!;
    expect(gateGroup).toMatchObject({ assessed: 9, stopped: 2 });
    expect(gateGroup.gate).toEqual({
      decided: 4,
      passed: 1,
      failed: 1,
      held: 2,
      holds: { approved: 1, rejected: 0, timed_out_approved: 0, timed_out_rejected: 1, waiting: 0 },
      deployed: 1,
      without_outcome: 2,
    });
    expect(gateGroup.releases).toEqual({ releases: 12, deployments: 9, stopped: 5, stopped_by: { deployments: 2, gate_failed: 1, gate_held: 2 }, stopped_rate: 5 / 12 });
    expect(report.totals.releases).toEqual({ releases: 15, deployments: 11, stopped: 5, stopped_by: { deployments: 2, gate_failed: 1, gate_held: 2 }, stopped_rate: 5 / 15 });
    expect(report.totals.gate).toMatchObject({ decided: 5, passed: 2, failed: 1, held: 2, deployed: 1, without_outcome: 2 });
  });

  it('reads only what the operator role may read: the assessments index and the gate\'s gateday# items', async () => {
    const calls: { readonly command: string; readonly input: Record<string, unknown> }[] = [];
    const recordingClient = (endpoint: string | undefined) => {
      const client = new DynamoDBClient({ region: 'us-east-1', endpoint });
      client.middlewareStack.add(
        (next, context) => async (args) => {
          calls.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
          return next(args);
        },
        { step: 'initialize', name: 'recordCalls' },
      );
      return client;
    };
    const output = memoryIO();
    const command = createReportCommand({
      clock,
      deploymentStore: (environment, endpoint) => new DynamoDbDeploymentStore(recordingClient(endpoint), tableName(environment.namePrefix, 'deployments'), tableName(environment.namePrefix, 'history')),
      gateListing: (environment, endpoint) => new DynamoDbGateStore(recordingClient(endpoint), tableName(environment.namePrefix, 'control')),
    });
    expect(await command.run(['--environment', 'dev', '--endpoint', local.endpoint, '--since', '2026-11-20T09:00Z'], output.io)).toBe(0);

    const arn = (table: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/${table}`;
    const statements = JSON.parse(
      policyDocument(
        operatorStatements({
          tableArn: (name) => arn(tableName('deploy-guard-dev', name)),
          busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev',
          source: 'deploy-guard',
          kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          region: 'us-east-1',
          heldGroupArns: [],
        }),
      ),
    ).Statement;
    const requests: AccessRequest[] = calls.map(({ command: name, input }) => {
      const action = `dynamodb:${name.replace(/Command$/, '')}`;
      if (typeof input.IndexName === 'string') return { action, resource: `${arn(String(input.TableName))}/index/${input.IndexName}` };
      const key = (input.Key as { key?: { S?: string } } | undefined)?.key?.S;
      return { action, resource: arn(String(input.TableName)), ...(key ? { context: { 'dynamodb:LeadingKeys': key } } : {}) };
    });
    expect(new Set(requests.map((request) => `${request.action} ${request.context?.['dynamodb:LeadingKeys']?.replace(/#.*/, '#…') ?? request.resource.replace(/.*table\//, '')}`))).toEqual(
      new Set(['dynamodb:Query deploy-guard-dev-deployments/index/assessments-by-group', 'dynamodb:GetItem gateday#…']),
    );
    expect(requests.filter((request) => !isAllowed(statements, request))).toEqual([]);
  });
});
