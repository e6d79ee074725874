import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS } from '../../events/emitted';
import { EmfMetrics } from '../../handlers/adapters/emf-metrics';
import { DEFAULT_LEASE_MS, InMemoryRollbackLedger, LAMBDA_FIRST_RETRY_WAIT_MS, ROLLBACK_TIMEOUT_MS } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryDeploymentStore, InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import { ENV, groupPolicies } from '../../handlers/config';
import type { CodeDeployPort } from '../../handlers/ports';
import { handleRollbackEvent, rollbackConfigFromEnv } from '../../handlers/rollback';
import { CLAIM_OUTCOME_DEADLINE_MS } from '../../handlers/rollback-metrics';
import { LocalCloudWatch } from '../../local/cloudwatch';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { readWiring } from '../../local/terraform-wiring';
import { storedAssessment } from '../handlers/assessment-fixture';
import { synthesizeAll } from './synth-support';

/**
 * What the rollback handler's safety rests on, read from each synthesized stack: the ledger's lease
 * between the function's timeout and Lambda's first retry, the account and groups the handler checks
 * events against, read-only access to predict's assessments, and an alarm that really fires on a
 * claim left without an outcome (evaluated by the local CloudWatch from the synthesized definition,
 * over what the real handler writes).
 */

const { stacks } = synthesizeAll();
const MINUTE = 60_000;

describe.each(stacks.map((stack) => [stack.name, stack] as const))('the %s stack', (_name, stack) => {
  const wiring = readWiring(stack.json);
  const rollback = wiring.functions.find((fn) => fn.handler === 'rollback')!;
  const resources = stack.json.resource as Record<string, Record<string, Record<string, unknown>>>;
  const accountId = ((stack.json.provider as { aws: { allowed_account_ids: string[] }[] }).aws[0]!.allowed_account_ids)[0]!;

  it("leaves a margin on both sides of the ledger's lease: the function's timeout < the lease < Lambda's first retry", () => {
    expect(rollback.timeoutSeconds * 1000).toBe(ROLLBACK_TIMEOUT_MS);
    expect(rollback.asyncInvoke.maximumRetryAttempts).toBeGreaterThan(0);
    expect(DEFAULT_LEASE_MS - ROLLBACK_TIMEOUT_MS).toBe(15_000);
    expect(LAMBDA_FIRST_RETRY_WAIT_MS - DEFAULT_LEASE_MS).toBe(15_000);
  });

  it('tells the handler its account and its groups, which it reads back as its configuration', () => {
    expect(rollback.environment[ENV.accountId]).toBe(accountId);
    const config = rollbackConfigFromEnv({ ...rollback.environment, [ENV.eventBus]: 'bus' });
    expect(config.groups).toEqual(groupPolicies.parse(JSON.parse(rollback.environment[ENV.groups]!)));
    expect(config.accountId).toBe(accountId);
  });

  it("reads predict's assessments and nothing more of the deployments table", () => {
    const policy = Object.values(resources.aws_iam_role_policy!).find((candidate) => candidate.name === rollback.functionName)!;
    const statements = (JSON.parse(String(policy.policy)) as { Statement: { Sid: string; Action: string[]; Resource: string[] }[] }).Statement;
    const onDeployments = statements.filter((statement) => statement.Resource.some((resource) => resource.endsWith(`table/${rollback.environment[ENV.deploymentsTable]}`)));
    expect(onDeployments).toEqual([{ Sid: 'ReadAssessments', Effect: 'Allow', Action: ['dynamodb:GetItem'], Resource: [expect.stringContaining(':table/')] }]);
  });

  it('raises the claim-without-outcome alarm five minutes after a claim that never gets an outcome, and not for one that does', async () => {
    const alarm = wiring.alarms.find((candidate) => candidate.alarmName.endsWith('/rollback-claims-without-outcome'))!;
    expect(alarm.alarmActions).toHaveLength(1);
    const start = Date.parse('2026-11-20T09:20:05Z');
    const lines: string[] = [];
    const clock = new ManualClock(start);
    const codeDeploy = new LocalCodeDeploy({ clock, account: accountId, region: 'us-east-1', emit: () => undefined });
    const groups = [{ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', mode: 'stop', blockBudget: 0.1, exploration: 0, cutScope: 'installation', failurePolicy: 'fail-open' } as const];
    const config = { ...rollbackConfigFromEnv({ ...rollback.environment, [ENV.eventBus]: 'bus' }), groups };
    const deployments = new InMemoryDeploymentStore();
    const ledger = new InMemoryRollbackLedger();
    const request = async (codeDeployPort: CodeDeployPort) => {
      const { deploymentId } = codeDeploy.createDeployment({ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', revision: { commitId: 'abc' } });
      await deployments.putAssessment(storedAssessment({ deploymentId, mode: 'stop', trigger: 'START' }));
      const entry = buildEntry('Deployment Rollback Requested', { ...EMITTED_EVENTS['Deployment Rollback Requested'].example, deploymentId, mode: 'stop' }, config);
      const event = { version: '0', id: `e-${deploymentId}`, 'detail-type': entry.DetailType, source: entry.Source, account: accountId, time: '2026-11-20T09:20:05Z', region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) };
      return handleRollbackEvent(event, { codeDeploy: codeDeployPort, ledger, deployments, holds: new InMemoryHoldStore(), publisher: { publish: async () => undefined }, metrics: new EmfMetrics((line) => lines.push(line)), clock, config });
    };
    // One rollback finishes; the next one's invocation dies in its StopDeployment call and is never delivered again.
    await request(codeDeploy);
    clock.advanceBy(MINUTE);
    const hanging: CodeDeployPort = {
      getDeployment: (id) => codeDeploy.getDeployment(id),
      continueDeployment: (id) => codeDeploy.continueDeployment(id),
      putLifecycleEventHookExecutionStatus: (id, hook, status) => codeDeploy.putLifecycleEventHookExecutionStatus(id, hook, status),
      stopDeployment: () => new Promise(() => undefined),
    };
    void request(hanging);
    await new Promise((resolve) => setImmediate(resolve));

    const cloudWatch = new LocalCloudWatch({ alarms: [alarm], region: 'us-east-1', account: accountId, start });
    lines.forEach((line) => cloudWatch.putEmfLog(line));
    const stuckAt = start + MINUTE;
    cloudWatch.evaluate(stuckAt + CLAIM_OUTCOME_DEADLINE_MS - 1);
    expect(cloudWatch.alarmState(alarm.alarmName).value).not.toBe('ALARM');
    const changes = cloudWatch.evaluate(stuckAt + CLAIM_OUTCOME_DEADLINE_MS + 30 * MINUTE);
    expect(changes.map((change) => change.detail.state.value)).toEqual(['ALARM']);
    expect(Date.parse(changes[0]!.time) - stuckAt).toBeGreaterThanOrEqual(CLAIM_OUTCOME_DEADLINE_MS);
    expect(Date.parse(changes[0]!.time) - stuckAt).toBeLessThanOrEqual(CLAIM_OUTCOME_DEADLINE_MS + 2 * MINUTE);
  });
});
