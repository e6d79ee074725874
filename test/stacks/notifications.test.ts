import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV, notificationSettings } from '../../handlers/config';
import { CONTROL_KEYS } from '../../handlers/tables';
import { buildApp } from '../../main';
import { parseConfig } from '../../stacks/config';
import { checkStack, isAllowed, roleStatements } from '../../stacks/policy-check';

/**
 * Notifications people read: the notify function fed by the 'notify' rule, publishing to the
 * notification topic and, with a Slack or Teams channel configured, to the chat topic that AWS
 * Chatbot posts from; its role may publish to those topics and nothing else.
 */

type Resources = Record<string, Record<string, Record<string, unknown>>>;

const MINIMAL = JSON.parse(readFileSync(join(__dirname, '..', '..', 'deploy-guard.config.minimal.json'), 'utf8'));
const SLACK = { workspaceId: 'T01ABCDEF', channelId: 'C01ABCDEF' };
const TEAMS = { teamId: '6d1c2f0e-9b8d-4c6a-9f4e-3d2c1b0a9f8e', channelId: '19:abc123@thread.tacv2', tenantId: '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d' };

function configWith(notifications: unknown) {
  const dev = { ...MINIMAL.environments.dev, notifications };
  return parseConfig({ environments: { dev } }, 'test.config.json');
}

function synthesizeDev(notifications: unknown): { readonly resource: Resources } {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-notifications-'));
  buildApp({ outdir, config: configWith(notifications) }).synth();
  return JSON.parse(readFileSync(join(outdir, 'stacks', 'deploy-guard-dev', 'cdk.tf.json'), 'utf8')) as { resource: Resources };
}

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications';
const CHAT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-chat';
const notifyFunction = (resources: Resources) => Object.entries(resources.aws_lambda_function).find(([, fn]) => (fn.tags as Record<string, string>)['deploy-guard-handler'] === 'notify')!;

describe('with Slack and Teams channels', () => {
  const stack = synthesizeDev({ emails: ['oncall@example.com'], slack: SLACK, teams: TEAMS });
  const resources = stack.resource;

  it('creates one Chatbot channel configuration per chat, each subscribed to the chat topic only', () => {
    const [chatTopicId] = Object.entries(resources.aws_sns_topic).find(([, topic]) => topic.name === 'deploy-guard-dev-chat')!;
    const slack = Object.values(resources.aws_chatbot_slack_channel_configuration);
    const teams = Object.values(resources.aws_chatbot_teams_channel_configuration);
    expect(slack).toEqual([
      expect.objectContaining({ configuration_name: 'deploy-guard-dev-slack', slack_team_id: 'T01ABCDEF', slack_channel_id: 'C01ABCDEF', sns_topic_arns: [`\${aws_sns_topic.${chatTopicId}.arn}`] }),
    ]);
    expect(teams).toEqual([expect.objectContaining({ configuration_name: 'deploy-guard-dev-teams', team_id: TEAMS.teamId, channel_id: TEAMS.channelId, tenant_id: TEAMS.tenantId, sns_topic_arns: [`\${aws_sns_topic.${chatTopicId}.arn}`] })]);
    expect(resources.aws_sns_topic[chatTopicId]).toEqual(expect.objectContaining({ kms_master_key_id: expect.stringMatching(/^\$\{aws_kms_key\./) }));
  });

  it("lets Chatbot post and do nothing else: its role holds no permission and the channels' guardrail denies everything", () => {
    for (const channel of [...Object.values(resources.aws_chatbot_slack_channel_configuration), ...Object.values(resources.aws_chatbot_teams_channel_configuration)]) {
      expect(channel.guardrail_policy_arns).toEqual(['arn:aws:iam::aws:policy/AWSDenyAll']);
    }
    const role = Object.values(resources.aws_iam_role).find((candidate) => candidate.name === 'deploy-guard-dev-chatbot')!;
    expect(JSON.parse(role.assume_role_policy as string).Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'chatbot.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } },
    ]);
    expect(roleStatements(stack, 'deploy-guard-dev-chatbot')).toEqual([]);
  });

  it('tells notify both topics, and its role may publish to exactly those', () => {
    const [, fn] = notifyFunction(resources);
    const settings = notificationSettings.parse(JSON.parse((fn.environment as { variables: Record<string, string> }).variables[ENV.notifications]));
    expect(settings).toEqual({ environment: 'dev', region: 'us-east-1', topicArn: TOPIC, chatTopicArn: CHAT_TOPIC });
    const statements = roleStatements(stack, 'deploy-guard-dev-notify');
    expect(isAllowed(statements, { action: 'sns:Publish', resource: TOPIC })).toBe(true);
    expect(isAllowed(statements, { action: 'sns:Publish', resource: CHAT_TOPIC })).toBe(true);
    expect(isAllowed(statements, { action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-other' })).toBe(false);
    expect(isAllowed(statements, { action: 'sns:Subscribe', resource: TOPIC })).toBe(false);
    expect(isAllowed(statements, { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev' })).toBe(false);
  });

  it('holds the installation policy', () => {
    expect(checkStack(stack)).toEqual([]);
  });
});

describe('with e-mail only (no chat)', () => {
  const stack = synthesizeDev({ emails: ['oncall@example.com'] });
  const resources = stack.resource;

  it('creates no chat topic or channel, and notify may publish to the notification topic alone', () => {
    expect(Object.values(resources.aws_sns_topic).map((topic) => topic.name)).toEqual(['deploy-guard-dev-notifications']);
    expect(resources.aws_chatbot_slack_channel_configuration).toBeUndefined();
    const statements = roleStatements(stack, 'deploy-guard-dev-notify');
    expect(isAllowed(statements, { action: 'sns:Publish', resource: TOPIC })).toBe(true);
    expect(isAllowed(statements, { action: 'sns:Publish', resource: CHAT_TOPIC })).toBe(false);
  });

  it("feeds the 'notify' rule to the notify function, with retries and a dead-letter queue; a failed invocation goes to the function's own queue", () => {
    const [fnId, fn] = notifyFunction(resources);
    const [ruleId] = Object.entries(resources.aws_cloudwatch_event_rule).find(([, rule]) => rule.name === 'deploy-guard-dev-notify')!;
    const target = Object.values(resources.aws_cloudwatch_event_target).find((candidate) => candidate.rule === `\${aws_cloudwatch_event_rule.${ruleId}.name}`)!;
    expect(target).toEqual(expect.objectContaining({ arn: `\${aws_lambda_function.${fnId}.arn}`, dead_letter_config: { arn: expect.stringMatching(/^\$\{aws_sqs_queue\./) } }));
    const invokeConfig = Object.values(resources.aws_lambda_function_event_invoke_config).find((candidate) => candidate.function_name === `\${aws_lambda_function.${fnId}.function_name}`)!;
    const [failuresId] = Object.entries(resources.aws_sqs_queue).find(([, queue]) => queue.name === `${fn.function_name}-failures`)!;
    expect(invokeConfig.destination_config).toEqual({ on_failure: { destination: `\${aws_sqs_queue.${failuresId}.arn}` } });
  });

  it('no longer lets EventBridge publish raw events to the topic: only CloudWatch alarms may, by its policy', () => {
    const [policy] = Object.values(resources.aws_sns_topic_policy);
    const statements = JSON.parse(policy.policy as string).Statement as { Sid: string; Principal: unknown }[];
    expect(statements.map((statement) => [statement.Sid, statement.Principal])).toEqual([['AlarmsNotify', { Service: 'cloudwatch.amazonaws.com' }]]);
  });
});

describe("with shadow 'summary' (the daily digest of shadow decisions)", () => {
  const stack = synthesizeDev({ emails: ['oncall@example.com'], shadow: 'summary' });
  const resources = stack.resource;
  const DEPLOYMENTS = 'arn:aws:dynamodb:us-east-1:123456789012:table/deploy-guard-dev-deployments';
  const CONTROL = 'arn:aws:dynamodb:us-east-1:123456789012:table/deploy-guard-dev-control';

  it('fires the shadow-digest function once a day from a schedule rule on the default bus', () => {
    const [ruleId, rule] = Object.entries(resources.aws_cloudwatch_event_rule).find(([, candidate]) => candidate.name === 'deploy-guard-dev-shadow-digest')!;
    expect(rule).toEqual(expect.objectContaining({ event_bus_name: 'default', schedule_expression: 'rate(1 day)' }));
    const [fnId] = Object.entries(resources.aws_lambda_function).find(([, fn]) => (fn.tags as Record<string, string>)['deploy-guard-handler'] === 'shadow-digest')!;
    const target = Object.values(resources.aws_cloudwatch_event_target).find((candidate) => candidate.rule === `\${aws_cloudwatch_event_rule.${ruleId}.name}`)!;
    expect(target).toEqual(expect.objectContaining({ arn: `\${aws_lambda_function.${fnId}.arn}` }));
  });

  it("lets the digest Query the assessments' index, claim its days in the control table and publish to the notification topic, and nothing else", () => {
    const statements = roleStatements(stack, 'deploy-guard-dev-shadow-digest');
    expect(isAllowed(statements, { action: 'dynamodb:Query', resource: `${DEPLOYMENTS}/index/assessments-by-group` })).toBe(true);
    expect(isAllowed(statements, { action: 'dynamodb:Query', resource: DEPLOYMENTS })).toBe(false);
    expect(isAllowed(statements, { action: 'dynamodb:GetItem', resource: DEPLOYMENTS })).toBe(false);
    expect(isAllowed(statements, { action: 'dynamodb:PutItem', resource: DEPLOYMENTS })).toBe(false);
    expect(isAllowed(statements, { action: 'sns:Publish', resource: TOPIC })).toBe(true);
    expect(isAllowed(statements, { action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-other' })).toBe(false);
    expect(isAllowed(statements, { action: 'events:PutEvents', resource: 'arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev' })).toBe(false);
  });

  it("lets the digest read, claim and mark sent its own days' items of the control table (shadowdigest#…), and no other item", () => {
    const statements = roleStatements(stack, 'deploy-guard-dev-shadow-digest');
    const item = (action: string, key: string) => isAllowed(statements, { action, resource: CONTROL, context: { 'dynamodb:LeadingKeys': key } });
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      expect(item(action, CONTROL_KEYS.shadowDigest(Date.parse('2026-12-01T09:00:00Z')))).toBe(true);
      for (const key of ['rollback#d-123456789', 'model#serving', 'hold#d-123456789', 'holds#open', 'override#payments#git:abc', 'bakes#open', 'gateday#payments/payments-prod#2026-12-01']) {
        expect(item(action, key)).toBe(false);
      }
    }
    for (const action of ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchWriteItem']) {
      expect(item(action, 'shadowdigest#2026-12-01T09:00:00.000Z')).toBe(false);
    }
    // Its claims live in the control table only.
    expect(isAllowed(statements, { action: 'dynamodb:PutItem', resource: DEPLOYMENTS, context: { 'dynamodb:LeadingKeys': 'shadowdigest#2026-12-01T09:00:00.000Z' } })).toBe(false);
  });

  it('holds the installation policy', () => {
    expect(checkStack(stack)).toEqual([]);
  });
});

describe("with shadow 'none'", () => {
  it('creates no digest schedule', () => {
    const { resource } = synthesizeDev({ emails: ['oncall@example.com'], shadow: 'none' });
    expect(Object.values(resource.aws_cloudwatch_event_rule).map((rule) => rule.name)).not.toContain('deploy-guard-dev-shadow-digest');
  });
});

describe('the notifications configuration', () => {
  it("accepts shadow 'summary' and 'none', and names anything else", () => {
    expect(configWith({ shadow: 'summary' }).environments.dev.notifications.shadow).toBe('summary');
    expect(() => configWith({ shadow: 'each' })).toThrow('environments.dev.notifications.shadow: Invalid option: expected one of "summary"|"none"');
  });

  it('names a wrong Slack or Teams id', () => {
    expect(() => configWith({ slack: { workspaceId: 'acme', channelId: 'C01' } })).toThrow("environments.dev.notifications.slack.workspaceId: expected a Slack workspace (team) id such as 'T01ABCDEF'");
    expect(() => configWith({ teams: { ...TEAMS, tenantId: 'x' } })).toThrow('environments.dev.notifications.teams.tenantId: expected the Microsoft Entra tenant id (a GUID)');
  });

  it('defaults to no e-mail, no chat, shadow decisions never told one by one', () => {
    expect(configWith(undefined).environments.dev.notifications).toEqual({ emails: [], shadow: 'none' });
  });
});
