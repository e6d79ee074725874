import { CloudwatchEventBusPolicy } from '@cdktf/provider-aws/lib/cloudwatch-event-bus-policy';
import { EMITTED_EVENTS } from '../../events/emitted';
import { publishes } from '../../handlers/declaration';
import { HANDLER_DECLARATIONS } from '../../handlers/declarations';
import { HANDLER_NAMES } from '../../handlers/entries';
import { changeSummaryPublishersByApplication, loadConfig } from '../../stacks/config';
import { busPolicyDecision, busPolicyStatements, DECISION_DETAIL_TYPES, DeployGuardBusPolicy, type BusStatement, type DeployGuardBusPolicyProps } from '../../stacks/event-bus-policy';
import { only, synth } from './construct-synth';
import { synthesizeAll } from './synth-support';

const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev';
const PREDICT = 'arn:aws:iam::123456789012:role/deploy-guard-dev-predict';
const ROLLBACK = 'arn:aws:iam::123456789012:role/deploy-guard-dev-rollback';
const CI = 'arn:aws:iam::123456789012:role/ci-payments';
const CROSS_ACCOUNT_CI = 'arn:aws:iam::210987654321:role/ci-checkout';

type Statement = BusStatement;

function policyOf(props: Partial<DeployGuardBusPolicyProps> = {}): { busName: string; statements: Statement[] } {
  const synthesized = synth((scope) => {
    new DeployGuardBusPolicy(scope, 'bus-policy', {
      busName: 'deploy-guard-dev',
      busArn: BUS_ARN,
      source: 'deploy-guard',
      functionRoleArns: [PREDICT, ROLLBACK],
      changeSummaryPublisherArns: [CI, CROSS_ACCOUNT_CI],
      ...props,
    });
  });
  const resource = only(synthesized, CloudwatchEventBusPolicy.tfResourceType) as { event_bus_name: string; policy: string };
  return { busName: resource.event_bus_name, statements: JSON.parse(resource.policy).Statement };
}

const deny = (Condition: Statement['Condition']) => ({ Effect: 'Deny', Principal: '*', Action: 'events:PutEvents', Resource: BUS_ARN, Condition });
const SUMMARY = 'Deployment Change Summary';

describe('DeployGuardBusPolicy', () => {
  it("derives the decision detail-types from events/emitted.ts: every emitted event but the change summary and the operators' announcement", () => {
    expect([...DECISION_DETAIL_TYPES, SUMMARY, 'Operator Override'].sort()).toEqual(Object.keys(EMITTED_EVENTS).sort());
    expect(DECISION_DETAIL_TYPES).toEqual(expect.arrayContaining(['Deployment Rollback Requested', 'Deployment Risk Assessed']));
    expect(DECISION_DETAIL_TYPES).not.toContain(SUMMARY);
  });

  describe('with named publishers, statement by statement', () => {
    const { busName, statements } = policyOf();
    const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));

    it('guards Deploy Guard’s bus with exactly these statements', () => {
      expect(busName).toBe('deploy-guard-dev');
      expect(statements.map((statement) => statement.Sid)).toEqual([
        'OnlyTheInstallationSource',
        'OnlyDeployGuardDetailTypes',
        'DecisionsOnlyFromDeployGuardFunctions',
        'ChangeSummariesOnlyFromNamedPublishers',
        'PublishersPutOnlyChangeSummaries',
        'NamedPublishersPutChangeSummaries',
        'OperatorOverridesOnlyFromOperatorRoles',
        'DeployGuardFunctionsPutDecisions',
      ]);
    });

    it('denies every event with another source than the installation’s, to everyone', () => {
      expect(bySid.OnlyTheInstallationSource).toEqual({ Sid: 'OnlyTheInstallationSource', ...deny({ StringNotEquals: { 'events:source': 'deploy-guard' } }) });
    });

    it('denies every detail-type Deploy Guard does not define, to everyone', () => {
      expect(bySid.OnlyDeployGuardDetailTypes).toMatchObject(deny({ StringNotEquals: { 'events:detail-type': Object.keys(EMITTED_EVENTS) } }));
    });

    it('denies decision events (Rollback Requested, Risk Assessed, …) to every principal but Deploy Guard’s function roles', () => {
      expect(bySid.DecisionsOnlyFromDeployGuardFunctions).toMatchObject(
        deny({ StringEquals: { 'events:detail-type': [...DECISION_DETAIL_TYPES] }, ArnNotEquals: { 'aws:PrincipalArn': [PREDICT, ROLLBACK] } }),
      );
    });

    it('denies change summaries to every principal the configuration does not name', () => {
      expect(bySid.ChangeSummariesOnlyFromNamedPublishers).toMatchObject(
        deny({ StringEquals: { 'events:detail-type': SUMMARY }, ArnNotEquals: { 'aws:PrincipalArn': [CI, CROSS_ACCOUNT_CI] } }),
      );
    });

    it('denies the named publishers anything but a change summary', () => {
      expect(bySid.PublishersPutOnlyChangeSummaries).toMatchObject(
        deny({ ArnEquals: { 'aws:PrincipalArn': [CI, CROSS_ACCOUNT_CI] }, StringNotEquals: { 'events:detail-type': SUMMARY } }),
      );
    });

    it('admits the named publishers (another account’s CI too) for change summaries of the installation’s source only', () => {
      expect(bySid.NamedPublishersPutChangeSummaries).toEqual({
        Sid: 'NamedPublishersPutChangeSummaries',
        Effect: 'Allow',
        Principal: { AWS: [CI, CROSS_ACCOUNT_CI] },
        Action: 'events:PutEvents',
        Resource: BUS_ARN,
        Condition: { StringEquals: { 'events:detail-type': [SUMMARY], 'events:source': 'deploy-guard' } },
      });
    });

    it('admits the function roles for decision events of the installation’s source only', () => {
      expect(bySid.DeployGuardFunctionsPutDecisions).toMatchObject({
        Effect: 'Allow',
        Principal: { AWS: [PREDICT, ROLLBACK] },
        Condition: { StringEquals: { 'events:detail-type': [...DECISION_DETAIL_TYPES], 'events:source': 'deploy-guard' } },
      });
    });
  });

  describe('decides forged-but-valid entries as EventBridge would (busPolicyDecision over the synthesized statements)', () => {
    const { statements } = policyOf();
    const decide = (principalArn: string, detailType: string, source = 'deploy-guard') => busPolicyDecision(statements, { principalArn, source, detailType });
    const ADMIN = 'arn:aws:iam::123456789012:role/Admin';

    it.each([
      ['the CI role asking for a rollback', CI, 'Deployment Rollback Requested'],
      ['the CI role waving a deployment through (a forged gate proceed)', CI, 'Deployment Risk Assessed'],
      ['an account admin asking for a rollback', ADMIN, 'Deployment Rollback Requested'],
      ['an account admin sending a change summary', ADMIN, SUMMARY],
      ['predict sending a change summary', PREDICT, SUMMARY],
      ['predict sending an event Deploy Guard does not define', PREDICT, 'Deployment Approved'],
    ])('denies %s', (_who, principal, detailType) => {
      expect(decide(principal, detailType)).toBe('denied');
    });

    it('denies the right principal and detail-type under another source', () => {
      expect(decide(PREDICT, 'Deployment Rollback Requested', 'deploy-guard-dev-x')).toBe('denied');
      expect(decide(CI, SUMMARY, 'aws.codedeploy')).toBe('denied');
    });

    it('admits the function roles for decisions, and the named publishers (another account too) for change summaries', () => {
      for (const detailType of DECISION_DETAIL_TYPES) expect({ detailType, decision: decide(ROLLBACK, detailType) }).toEqual({ detailType, decision: 'allowed' });
      expect(decide(CI, SUMMARY)).toBe('allowed');
      expect(decide(CROSS_ACCOUNT_CI, SUMMARY)).toBe('allowed');
    });
  });

  it('with no publisher named, denies change summaries to everyone and admits nobody for them', () => {
    const { statements } = policyOf({ changeSummaryPublisherArns: [] });
    const summaryStatements = statements.filter((statement) => statement.Sid !== 'OnlyDeployGuardDetailTypes' && JSON.stringify(statement.Condition).includes(SUMMARY));
    expect(summaryStatements).toEqual([{ Sid: 'ChangeSummariesOnlyFromNamedPublishers', ...deny({ StringEquals: { 'events:detail-type': SUMMARY } }) }]);
    expect(statements.filter((statement) => statement.Effect === 'Allow').map((statement) => statement.Principal)).toEqual([{ AWS: [PREDICT, ROLLBACK] }]);
    expect(busPolicyDecision(statements, { principalArn: CI, source: 'deploy-guard', detailType: SUMMARY })).toBe('denied');
  });

  it.each([
    [{ changeSummaryPublisherArns: ['arn:aws:iam::123456789012:root'] }, "changeSummaryPublisherArns[0] 'arn:aws:iam::123456789012:root' is not the ARN of an IAM role or user"],
    [{ changeSummaryPublisherArns: ['*'] }, "changeSummaryPublisherArns[0] '*' is not the ARN of an IAM role or user"],
    [{ functionRoleArns: [] }, 'functionRoleArns must name at least one role'],
    [{ changeSummaryPublisherArns: [PREDICT] }, `${PREDICT} cannot both publish change summaries and be a Deploy Guard function role`],
    [{ source: 'aws.codedeploy' }, "must not start with 'aws.'"],
  ])('rejects %j', (props, message) => {
    expect(() => policyOf(props)).toThrow(message);
  });
});

describe('the bus policy of every shipped stack', () => {
  const config = loadConfig('deploy-guard.config.json');
  const { stacks } = synthesizeAll();

  it.each(Object.keys(config.environments))('%s: every configured publisher appears only with the change-summary detail-type, every function role only with decisions', (environment) => {
    const stack = stacks.find((candidate) => candidate.name === config.environments[environment].namePrefix)!;
    const resources = stack.json.resource as Record<string, Record<string, Record<string, unknown>>>;
    const [policy] = Object.values(resources.aws_cloudwatch_event_bus_policy);
    const statements: Statement[] = JSON.parse(String(policy.policy)).Statement;
    const publishers = Object.values(changeSummaryPublishersByApplication(config.environments[environment])).flat();
    // The roles granted PutEvents on the bus: the functions whose declaration publishes (record-change and record-outcome publish nothing).
    // (The operators' role, which puts Operator Override only, is tested in operator-role.test.ts.)
    const rolePolicies = Object.values(resources.aws_iam_role_policy).filter((rolePolicy) => String(rolePolicy.policy).includes('"events:PutEvents"') && rolePolicy.name !== 'override-and-pause');
    const roles = rolePolicies.map((rolePolicy) => String(rolePolicy.role).replace(/\.name\}$/, '.arn}'));
    expect(rolePolicies).toHaveLength(HANDLER_NAMES.filter((handler) => publishes(HANDLER_DECLARATIONS[handler])).length);
    expect(rolePolicies.map((rolePolicy) => String(rolePolicy.name)).filter((name) => name.includes('record-'))).toEqual([]);
    const decisions = statements.find((statement) => statement.Sid === 'DeployGuardFunctionsPutDecisions')!;
    expect(roles.filter((role) => !JSON.stringify(decisions.Principal).includes(role))).toEqual([]);
    for (const publisher of publishers) {
      expect({ publisher, admitted: statements.some((statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Principal).includes(publisher)) }).toEqual({ publisher, admitted: true });
    }

    for (const statement of statements) {
      const text = JSON.stringify(statement);
      const detailTypes = [statement.Condition.StringEquals?.['events:detail-type'] ?? statement.Condition.StringNotEquals?.['events:detail-type']].flat();
      if (publishers.some((arn) => text.includes(arn))) {
        expect({ sid: statement.Sid, detailTypes }).toEqual({ sid: statement.Sid, detailTypes: [SUMMARY] });
      }
      if (roles.some((role) => text.includes(role))) {
        expect({ sid: statement.Sid, detailTypes }).toEqual({ sid: statement.Sid, detailTypes: DECISION_DETAIL_TYPES });
        expect(roles.filter((role) => !text.includes(role))).toEqual([]);
      }
    }
    expect(String(policy.event_bus_name)).toMatch(/^\$\{aws_cloudwatch_event_bus\./);
  });
});

describe("the bus policy and the operators' announcement", () => {
  const OPERATOR_ROLE = 'arn:aws:iam::123456789012:role/deploy-guard-dev-operator';
  const FUNCTION_ROLE = 'arn:aws:iam::123456789012:role/deploy-guard-dev-predict';
  const props = { busName: 'deploy-guard-dev', busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev', source: 'deploy-guard', functionRoleArns: [FUNCTION_ROLE], changeSummaryPublisherArns: [] };

  it('admits Operator Override from the operator role only, and nothing else from it', () => {
    const statements = busPolicyStatements({ ...props, operatorRoleArns: [OPERATOR_ROLE] });
    const decide = (principalArn: string, detailType: string) => busPolicyDecision(statements, { principalArn, source: 'deploy-guard', detailType });
    expect(decide(OPERATOR_ROLE, 'Operator Override')).toBe('allowed');
    expect(decide(OPERATOR_ROLE, 'Deployment Risk Assessed')).toBe('denied');
    expect(decide(FUNCTION_ROLE, 'Operator Override')).toBe('denied');
  });

  it('denies Operator Override to everyone when the installation has no operator role', () => {
    const statements = busPolicyStatements(props);
    expect(busPolicyDecision(statements, { principalArn: OPERATOR_ROLE, source: 'deploy-guard', detailType: 'Operator Override' })).toBe('denied');
    expect(busPolicyDecision(statements, { principalArn: FUNCTION_ROLE, source: 'deploy-guard', detailType: 'Operator Override' })).toBe('denied');
  });
});
