import { EMITTED_EVENTS } from '../../events/emitted';
import { isAllowed, roleStatements, type AccessRequest } from '../../stacks/policy-check';
import { busPolicyDecision, type BusStatement } from '../../stacks/event-bus-policy';
import { synthesizeAll } from './synth-support';
import { operatorStatements } from '../../stacks/operator-role';
import { policyDocument } from '../../stacks/iam';

/**
 * The operators' role in the synthesized dev stack (deploy-guard.config.json names one operator):
 * who may assume it, and that it may do what `deploy-guard override`, `pause`, `decisions` and `report` call,
 * and nothing else (IAM evaluated by stacks/policy-check.ts isAllowed on the synthesized policy).
 */
const ACCOUNT = '123456789012';
const table = (name: string) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/deploy-guard-dev-${name}`;
const controlItem = (action: string, key: string): AccessRequest => ({ action, resource: table('control'), context: { 'dynamodb:LeadingKeys': key } });

describe('the operator role (stacks/operator-role.ts) of the dev stack', () => {
  const { stacks } = synthesizeAll();
  const dev = stacks.find((stack) => stack.name === 'deploy-guard-dev')!.json as { resource: Record<string, Record<string, Record<string, unknown>>> };
  const statements = roleStatements(dev, 'deploy-guard-dev-operator');
  const allowed = (request: AccessRequest) => isAllowed(statements as never, request);

  it('is assumed only by the principals the configuration names', () => {
    const role = Object.values(dev.resource.aws_iam_role).find((config) => config.name === 'deploy-guard-dev-operator')!;
    expect(JSON.parse(String(role.assume_role_policy))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${ACCOUNT}:role/on-call`] }, Action: 'sts:AssumeRole' }],
    });
  });

  it('reads and writes the overrides and pauses of the control table', () => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem']) {
      expect(allowed(controlItem(action, 'override#payments#git:6f1c2a9e'))).toBe(true);
      expect(allowed(controlItem(action, 'pause#payments/payments-prod'))).toBe(true);
    }
  });

  it.each([
    ['the serving-model pointer', 'model#serving'],
    ['a block-budget cut', 'cut#payments/payments-prod'],
    ['the rollback ledger', 'rollback#d-123456789'],
    ['a training job record', 'trainingjob#deploy-guard-dev-20261120-0900-5f2c1a'],
    ["a pipeline gate job's record", 'gatejob#11111111-abcd-1111-abcd-111111abcdef'],
    ["a pipeline gate's pass of a release", 'gatepass#payments#git:6f1c2a9e'],
  ])('touches no other control item: not %s', (_what, key) => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(allowed(controlItem(action, key))).toBe(false);
  });

  it('never scans or queries the control table, and writes no other table', () => {
    expect(allowed({ action: 'dynamodb:Scan', resource: table('control') })).toBe(false);
    expect(allowed({ action: 'dynamodb:Query', resource: table('control'), context: { 'dynamodb:LeadingKeys': 'pause#x' } })).toBe(false);
    for (const name of ['deployments', 'history', 'changes']) {
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(allowed({ action, resource: table(name) })).toBe(false);
    }
  });

  it('reads what the override of a deployment and `deploy-guard decisions` read, nothing more', () => {
    expect(allowed({ action: 'dynamodb:GetItem', resource: table('deployments') })).toBe(true);
    expect(allowed({ action: 'dynamodb:Query', resource: `${table('deployments')}/index/assessments-by-group` })).toBe(true);
    expect(allowed({ action: 'dynamodb:Query', resource: table('history') })).toBe(false);
    expect(allowed({ action: 'dynamodb:GetItem', resource: table('changes') })).toBe(false);
  });

  it("reads the pipeline gate's decisions by group and day (`deploy-guard decisions` and `report`), and never writes them", () => {
    expect(allowed(controlItem('dynamodb:GetItem', 'gateday#payments/payments-prod#2026-12-01'))).toBe(true);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']) {
      expect(allowed(controlItem(action, 'gateday#payments/payments-prod#2026-12-01'))).toBe(false);
    }
  });

  it("uses the installation's key (which encrypts the tables) through DynamoDB only", () => {
    const key = (statements as { Sid?: string; Resource?: string | string[] }[]).find((statement) => statement.Sid === 'TablesKeyThroughDynamoDb');
    const keyArn = String([key?.Resource].flat()[0]);
    expect(keyArn).toMatch(/^\$\{aws_kms_key\..*\.arn\}$/);
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
      expect(allowed({ action, resource: keyArn, context: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } })).toBe(true);
      expect(allowed({ action, resource: keyArn, context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } })).toBe(false);
      expect(allowed({ action, resource: keyArn })).toBe(false);
    }
    expect(allowed({ action: 'kms:Encrypt', resource: keyArn, context: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } })).toBe(false);
  });

  it('puts only Operator Override, under the installation\'s source, on its bus', () => {
    // The bus's ARN is known at apply time: the policy names it by reference to the stack's bus.
    const bus = String(([] as unknown[]).concat((statements as { Sid?: string; Resource?: unknown }[]).find((statement) => statement.Sid === 'AnnounceOverrides')!.Resource)[0]);
    expect(bus).toMatch(/^\$\{aws_cloudwatch_event_bus\.[A-Za-z0-9_]+\.arn\}$/);
    const putEvent = (detailType: string, source = 'deploy-guard'): AccessRequest => ({ action: 'events:PutEvents', resource: bus, context: { 'events:detail-type': detailType, 'events:source': source } });
    expect(allowed(putEvent('Operator Override'))).toBe(true);
    expect(allowed(putEvent('Operator Override', 'someone-else'))).toBe(false);
    for (const detailType of Object.keys(EMITTED_EVENTS).filter((type) => type !== 'Operator Override')) expect(allowed(putEvent(detailType))).toBe(false);
    expect(allowed({ ...putEvent('Operator Override'), resource: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` })).toBe(false);
  });

  it('and the bus policy admits the operator role, and nobody else, for Operator Override', () => {
    const policy = Object.values(dev.resource.aws_cloudwatch_event_bus_policy)[0];
    const busStatements = JSON.parse(String(policy.policy)).Statement as BusStatement[];
    const roleRef = busStatements.find((statement) => statement.Sid === 'OperatorRolesPutOperatorOverrides')!.Principal as { AWS: string[] };
    expect(roleRef.AWS).toHaveLength(1);
    expect(roleRef.AWS[0]).toMatch(/^\$\{aws_iam_role\.operators_role_[A-Z0-9]+\.arn\}$/);
    const decide = (principalArn: string, detailType: string) => busPolicyDecision(busStatements, { principalArn, source: 'deploy-guard', detailType });
    expect(decide(roleRef.AWS[0], 'Operator Override')).toBe('allowed');
    expect(decide(roleRef.AWS[0], 'Deployment Risk Assessed')).toBe('denied');
    expect(decide(`arn:aws:iam::${ACCOUNT}:role/on-call`, 'Operator Override')).toBe('denied');
    expect(decide(`arn:aws:iam::${ACCOUNT}:role/deploy-guard-dev-predict`, 'Operator Override')).toBe('denied');
  });
});

describe('the operator role (stacks/operator-statements) for groups that hold a risky deployment for a person', () => {
  const held = 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:checkout/checkout-prod';
  const base = { tableArn: (name: 'control' | 'deployments') => table(name), busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev', source: 'deploy-guard', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-east-1' };
  const allowedBy = (heldGroupArns: string[]) => (request: AccessRequest) => isAllowed(JSON.parse(policyDocument(operatorStatements({ ...base, heldGroupArns }))).Statement, request);

  it('may continue, stop or answer the hook of deployments of the holding groups only, and read and settle hold# items only', () => {
    const allowed = allowedBy([held]);
    for (const action of ['codedeploy:ContinueDeployment', 'codedeploy:StopDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus']) {
      expect(allowed({ action, resource: held })).toBe(true);
      expect(allowed({ action, resource: 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:payments/payments-prod' })).toBe(false);
    }
    expect(allowed({ action: 'codedeploy:CreateDeployment', resource: held })).toBe(false);
    for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) expect(allowed(controlItem(action, 'hold#d-123456789'))).toBe(true);
    expect(allowed(controlItem('dynamodb:UpdateItem', 'holds#open'))).toBe(false);
    expect(allowed(controlItem('dynamodb:UpdateItem', 'rollback#d-123456789'))).toBe(false);
    expect(allowed(controlItem('dynamodb:PutItem', 'hold#d-123456789'))).toBe(false);
  });

  it('without a holding group, may touch neither a deployment nor a hold', () => {
    const allowed = allowedBy([]);
    expect(allowed({ action: 'codedeploy:ContinueDeployment', resource: held })).toBe(false);
    expect(allowed(controlItem('dynamodb:GetItem', 'hold#d-123456789'))).toBe(false);
  });
});
