import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../events/clock';
import { main } from '../../cli/main';
import { memoryIO } from '../support/io';
import { createReportCommand, type ProductionReport } from '../../cli/commands/report';
import { dynamoDbDeploymentStore } from '../../cli/commands/decisions';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import type { AssessmentRecord, OutcomeLabel } from '../../handlers/ports';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';
import { exampleGroupNames } from '../../stacks/config';
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
