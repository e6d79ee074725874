import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, CONFIG_FILE } from '../../main';
import { isAllowed, roleStatements, type AccessRequest } from '../../stacks/policy-check';
import { loadConfig } from '../../stacks/config';

/**
 * The bake tier in a stack: prod with its created EC2 blue/green group and its existing Lambda group
 * given alarms (an existing one by name, one created from a metric) and a bake tier.
 */
type Resources = Record<string, Record<string, Record<string, unknown>>>;
const ACCOUNT = '123456789012';
const PREFIX = 'deploy-guard-prod';
const CREATED_ALARM = `${PREFIX}-storefront-storefront-bluegreen-alarm-0`;
const LAMBDA_ALARM = `${PREFIX}-checkout-checkout-lambda-alarm-0`;

type ProdGroups = ReturnType<typeof loadConfig>['environments'][string]['groups'];

/** prod synthesized with its groups changed. */
function synthesizeProd(change: (groups: ProdGroups) => ProdGroups): { resource: Resources } {
  const config = loadConfig(CONFIG_FILE);
  const prod = config.environments.prod!;
  const groups = change(prod.groups);
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-bake-synth-'));
  try {
    buildApp({ outdir, config: { ...config, environments: { prod: { ...prod, groups } } } }).synth();
    return JSON.parse(readFileSync(join(outdir, 'stacks', PREFIX, 'cdk.tf.json'), 'utf8'));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const metric = (service: string) => ({ namespace: 'Shop', metricName: 'Http5xx', dimensions: { Service: service }, statistic: 'Sum', threshold: 5, comparison: 'GreaterThanOrEqualToThreshold', periodSeconds: 60, evaluationPeriods: 2 }) as const;
const stack = {
  json: synthesizeProd((groups) =>
    groups.map((group) =>
      group.application === 'storefront'
        ? { ...group, alarms: { names: ['storefront-p99-latency'], metrics: [metric('storefront')] }, bake: { tierBudget: 0.1, minutes: 30 } }
        : { ...group, alarms: { names: [], metrics: [metric('checkout')] }, bake: { threshold: 0.3, minutes: 20 } },
    ),
  ),
};
const resources = stack.json.resource;
const byName = <T extends Record<string, unknown>>(type: string, key: string, name: string) => Object.entries(resources[type] ?? {}).find(([, value]) => value[key] === name) as [string, T] | undefined;

describe('a stack whose groups have alarms and a bake tier', () => {
  it('creates each metric alarm with the configured metric, named as the handlers and CodeDeploy name it', () => {
    const alarms = Object.values(resources.aws_cloudwatch_metric_alarm).filter((alarm) => String(alarm.alarm_name).match(/-alarm-\d+$/));
    expect(alarms.map((alarm) => alarm.alarm_name).sort()).toEqual([LAMBDA_ALARM, CREATED_ALARM]);
    expect(byName('aws_cloudwatch_metric_alarm', 'alarm_name', CREATED_ALARM)?.[1]).toMatchObject({
      namespace: 'Shop',
      metric_name: 'Http5xx',
      dimensions: { Service: 'storefront' },
      statistic: 'Sum',
      threshold: 5,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      period: 60,
      evaluation_periods: 2,
      treat_missing_data: 'notBreaching',
    });
  });

  it('turns on CodeDeploy alarm-based rollback on the group it creates, on all its alarms', () => {
    const [, group] = byName<Record<string, unknown>>('aws_codedeploy_deployment_group', 'deployment_group_name', 'storefront-bluegreen')!;
    expect(group.alarm_configuration).toEqual({ enabled: true, alarms: ['storefront-p99-latency', CREATED_ALARM] });
    expect((group.auto_rollback_configuration as { enabled: boolean; events: string[] })).toEqual({ enabled: true, events: expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']) });
  });

  it('delivers the bake-tier assessments, the watched alarms and a one-minute sweep to the bake function', () => {
    const [bakeFunction] = byName('aws_lambda_function', 'function_name', `${PREFIX}-bake`)!;
    const targetOf = (ruleName: string) => {
      const [logicalId] = byName('aws_cloudwatch_event_rule', 'name', ruleName) ?? [];
      expect({ ruleName, found: logicalId !== undefined }).toEqual({ ruleName, found: true });
      return Object.values(resources.aws_cloudwatch_event_target).find((target) => target.rule === `\${aws_cloudwatch_event_rule.${logicalId}.name}`)?.arn;
    };
    const bakeArn = `\${aws_lambda_function.${bakeFunction}.arn}`;
    expect(targetOf(`${PREFIX}-bake-assessed`)).toBe(bakeArn);
    expect(targetOf(`${PREFIX}-bake-alarm`)).toBe(bakeArn);
    expect(targetOf(`${PREFIX}-bake-sweep`)).toBe(bakeArn);
    const alarmRule = byName<{ event_pattern: string }>('aws_cloudwatch_event_rule', 'name', `${PREFIX}-bake-alarm`)![1];
    expect(JSON.stringify(JSON.parse(alarmRule.event_pattern))).toContain(JSON.stringify([LAMBDA_ALARM, CREATED_ALARM, 'storefront-p99-latency'].sort()));
    expect(byName('aws_cloudwatch_event_rule', 'name', `${PREFIX}-bake-sweep`)?.[1]).toMatchObject({ event_bus_name: 'default', schedule_expression: 'rate(1 minute)' });
  });

  describe('least privilege', () => {
    const table = (name: string) => `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${PREFIX}-${name}`;
    const group = (path: string) => `arn:aws:codedeploy:eu-west-1:${ACCOUNT}:deploymentgroup:${path}`;
    const item = (action: string, key: string): AccessRequest => ({ action, resource: table('control'), context: { 'dynamodb:LeadingKeys': key } });

    it("the bake function may end the guarded groups' deployments, touch the bakes and announce on the installation's bus, nothing else", () => {
      const statements = roleStatements(stack.json, `${PREFIX}-bake`);
      const allowed = (request: AccessRequest) => isAllowed(statements, request);
      for (const path of ['storefront/storefront-bluegreen', 'checkout/checkout-lambda']) {
        expect(allowed({ action: 'codedeploy:StopDeployment', resource: group(path) })).toBe(true);
        expect(allowed({ action: 'codedeploy:PutLifecycleEventHookExecutionStatus', resource: group(path) })).toBe(true);
        // A StopDeployment refused as completed: the adapter asks whether it was stopped (then the rollback is done) or completed (refused, announced).
        expect(allowed({ action: 'codedeploy:GetDeployment', resource: group(path) })).toBe(true);
      }
      expect(allowed({ action: 'codedeploy:StopDeployment', resource: group('other/other-prod') })).toBe(false);
      expect(allowed({ action: 'codedeploy:GetDeployment', resource: group('other/other-prod') })).toBe(false);
      expect(allowed({ action: 'codedeploy:ContinueDeployment', resource: group('storefront/storefront-bluegreen') })).toBe(false);
      expect(allowed({ action: 'dynamodb:GetItem', resource: table('deployments') })).toBe(true);
      expect(allowed({ action: 'dynamodb:PutItem', resource: table('deployments') })).toBe(false);
      for (const key of ['bakes#open', 'bake#d-123456789']) {
        expect(allowed(item('dynamodb:GetItem', key))).toBe(true);
        expect(allowed(item('dynamodb:PutItem', key))).toBe(true);
      }
      for (const key of ['rollback#d-123456789', 'model#serving', 'override#checkout#git:abc', 'cut#storefront/storefront-bluegreen']) {
        expect(allowed(item('dynamodb:GetItem', key))).toBe(false);
        expect(allowed(item('dynamodb:PutItem', key))).toBe(false);
      }
      // The announcement of a closed bake is claimed and marked in place: UpdateItem on the closed bakes only.
      expect(allowed(item('dynamodb:UpdateItem', 'bake#d-123456789'))).toBe(true);
      expect(allowed(item('dynamodb:UpdateItem', 'bakes#open'))).toBe(false);
      expect(allowed(item('dynamodb:UpdateItem', 'rollback#d-123456789'))).toBe(false);
      expect(allowed(item('dynamodb:DeleteItem', 'bakes#open'))).toBe(false);
      // It announces a rollback on an alarm (or CodeDeploy's refusal of it) on the installation's bus, and on no other.
      expect(allowed({ action: 'events:PutEvents', resource: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/${PREFIX}` })).toBe(true);
      expect(allowed({ action: 'events:PutEvents', resource: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default` })).toBe(false);
    });

    it('the traffic hook may write the book of open bakes, not the rollback ledger', () => {
      expect(roleStatements(stack.json, `CodeDeployHook_${PREFIX}-hook`).map((statement) => (statement as { Sid?: string }).Sid)).toContain('Bakes');
      const statements = roleStatements(stack.json, `CodeDeployHook_${PREFIX}-hook`);
      expect(isAllowed(statements, item('dynamodb:PutItem', 'bakes#open'))).toBe(true);
      expect(isAllowed(statements, item('dynamodb:GetItem', 'bake#d-123456789'))).toBe(true);
      expect(isAllowed(statements, item('dynamodb:PutItem', 'rollback#d-123456789'))).toBe(false);
      expect(isAllowed(statements, item('dynamodb:PutItem', 'pause#checkout/checkout-lambda'))).toBe(false);
      // Announcing a closed bake is the bake function's alone.
      expect(isAllowed(statements, item('dynamodb:UpdateItem', 'bake#d-123456789'))).toBe(false);
    });
  });
});

describe('a stack whose groups have no bake tier', () => {
  const shipped = synthesizeProd((groups) => groups);
  const item = (action: string, key: string): AccessRequest => ({ action, resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${PREFIX}-control`, context: { 'dynamodb:LeadingKeys': key } });

  it('grants the traffic hook nothing on the bakes, and still its holds and the operators\' items', () => {
    const statements = roleStatements(shipped, `CodeDeployHook_${PREFIX}-hook`);
    expect(statements.map((statement) => (statement as { Sid?: string }).Sid)).not.toContain('Bakes');
    for (const key of ['bakes#open', 'bake#d-123456789']) {
      expect(isAllowed(statements, item('dynamodb:GetItem', key))).toBe(false);
      expect(isAllowed(statements, item('dynamodb:PutItem', key))).toBe(false);
    }
    expect(isAllowed(statements, item('dynamodb:PutItem', 'hold#d-123456789'))).toBe(true);
    expect(isAllowed(statements, item('dynamodb:GetItem', 'override#checkout#git:abc'))).toBe(true);
  });
});
