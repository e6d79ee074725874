import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Testing } from 'cdktf';
import type { Construct } from 'constructs';
import { ruleNamed, systemRules } from '../../events/patterns';
import { TABLES } from '../../handlers/tables';
import { DataStores } from '../../stacks/data-stores';
import { DeployGuardEventBus } from '../../stacks/event-bus';
import { EventRuleToFunction } from '../../stacks/event-rule-to-function';
import { Monitoring } from '../../stacks/monitoring';
import { NodejsFunction, zipOneFile, type NodejsFunctionProps } from '../../stacks/nodejs-function';

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const resources = (synthesized: string, type: string): Record<string, Record<string, unknown>> => JSON.parse(synthesized).resource[type] ?? {};

describe('NodejsFunction', () => {
  const props: NodejsFunctionProps = {
    handler: 'rollback',
    functionName: 'deploy-guard-dev-rollback',
    kmsKeyArn: KEY,
    accountId: '123456789012',
    statements: [{ sid: 'Stop', actions: ['codedeploy:StopDeployment'], resources: ['arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:app/group'] }],
    environment: { DEPLOY_GUARD_EVENT_BUS: 'deploy-guard-dev' },
  };
  const synthesized = Testing.synthScope((scope) => void new NodejsFunction(scope, 'fn', props));

  it('is a Node.js 22 arm64 function tagged with its handler, with a KMS-encrypted environment', () => {
    expect(
      Testing.toHaveResourceWithProperties(synthesized, LambdaFunction.tfResourceType, {
        function_name: 'deploy-guard-dev-rollback',
        runtime: 'nodejs22.x',
        architectures: ['arm64'],
        handler: 'index.handler',
        kms_key_arn: KEY,
        environment: { variables: { DEPLOY_GUARD_EVENT_BUS: 'deploy-guard-dev' } },
        tags: { 'deploy-guard-handler': 'rollback' },
      }),
    ).toBe(true);
  });

  it('has its own log group with retention and KMS, and an on-failure destination to its KMS-encrypted queue', () => {
    expect(Testing.toHaveResourceWithProperties(synthesized, CloudwatchLogGroup.tfResourceType, { name: '/aws/lambda/deploy-guard-dev-rollback', retention_in_days: 30, kms_key_id: KEY })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synthesized, SqsQueue.tfResourceType, { name: 'deploy-guard-dev-rollback-failures', kms_master_key_id: KEY })).toBe(true);
    const invoke = Object.values(resources(synthesized, LambdaFunctionEventInvokeConfig.tfResourceType))[0];
    expect(invoke.destination_config).toEqual({ on_failure: { destination: expect.stringMatching(/^\$\{aws_sqs_queue\..*\.arn\}$/) } });
  });

  it("grants only the given statements plus its own logs, queue and key", () => {
    const policy = JSON.parse(String(Object.values(resources(synthesized, IamRolePolicy.tfResourceType))[0].policy));
    expect(policy.Statement.map((statement: { Sid: string; Action: string[] }) => [statement.Sid, statement.Action])).toEqual([
      ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents']],
      ['SendFailuresToOwnQueue', ['sqs:SendMessage']],
      ['UseInstallationKey', ['kms:Decrypt', 'kms:GenerateDataKey']],
      ['Stop', ['codedeploy:StopDeployment']],
    ]);
  });

  const make = (override: Partial<NodejsFunctionProps>) => () => Testing.synthScope((scope) => void new NodejsFunction(scope, 'fn', { ...props, ...override }));
  it.each([
    [{ handler: 'deploy' as never }, "NodejsFunction handler 'deploy' is not one of predict, traffic-hook, rollback, record-change, record-outcome, drift, promote"],
    [{ functionName: 'has space' }, "NodejsFunction functionName 'has space' must be 1 to 64 letters, digits, hyphens or underscores"],
    [{ handler: 'traffic-hook' as const, functionName: 'dg-hook' }, "NodejsFunction 'dg-hook': the traffic-hook function's name must start with 'CodeDeployHook_' (CodeDeploy's ECS/Lambda hook convention)"],
    [{ logRetentionDays: 10 }, "NodejsFunction 'deploy-guard-dev-rollback' logRetentionDays 10 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"],
    [{ timeoutSeconds: 901 }, "NodejsFunction 'deploy-guard-dev-rollback' timeoutSeconds must be an integer from 1 to 900, got 901"],
    [{ maximumRetryAttempts: 3 }, "NodejsFunction 'deploy-guard-dev-rollback' maximumRetryAttempts must be 0, 1 or 2, got 3"],
    [{ maximumEventAgeInSeconds: 59 }, "NodejsFunction 'deploy-guard-dev-rollback' maximumEventAgeInSeconds must be an integer from 60 to 21600, got 59"],
    [{ reservedConcurrentExecutions: 0 }, "NodejsFunction 'deploy-guard-dev-rollback' reservedConcurrentExecutions must be an integer from 1 to 1000, got 0"],
    [{ accountId: '12345' }, "NodejsFunction 'deploy-guard-dev-rollback' accountId must be 12 digits, got '12345'"],
    [{ environment: { AWS_REGION: 'x' } as never }, "NodejsFunction 'deploy-guard-dev-rollback' environment variable 'AWS_REGION' is not one of handlers/config.ts ENV"],
    [{ statements: [{ actions: ['s3:GetObject'], resources: [] }] }, "NodejsFunction 'deploy-guard-dev-rollback' statements[0] has no resources"],
  ])('rejects %j', (override, message) => {
    expect(make(override)).toThrow(message);
  });

  it('zips one file readably and deterministically', () => {
    const content = Buffer.from('exports.handler = async () => 1;\n');
    const zip = zipOneFile('index.js', content);
    expect(zip.equals(zipOneFile('index.js', content))).toBe(true);
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    expect(zip.readUInt32LE(zip.length - 22)).toBe(0x06054b50);
  });
});

describe('EventRuleToFunction', () => {
  const build = (scope: Construct, ruleName: string, handler: 'rollback' | 'predict') => {
    const bus = new DeployGuardEventBus(scope, 'events', { namePrefix: 'deploy-guard-dev' });
    const fn = new NodejsFunction(scope, 'fn', { handler, functionName: `deploy-guard-dev-${handler}`, kmsKeyArn: KEY, accountId: '123456789012' });
    const definition = ruleNamed(bus.ruleDefinitions, ruleName);
    new EventRuleToFunction(scope, 'deliver', { rule: bus.rules[ruleName], definition, function: fn, namePrefix: 'deploy-guard-dev', kmsKeyArn: KEY });
  };
  const synthesized = Testing.synthScope((scope) => build(scope, 'rollback-requested', 'rollback'));

  it('targets the function with a retry policy and a dead-letter queue only the rule may write to', () => {
    const target = Object.values(resources(synthesized, CloudwatchEventTarget.tfResourceType))[0];
    expect(target).toMatchObject({
      arn: expect.stringMatching(/^\$\{aws_lambda_function\..*\.arn\}$/),
      retry_policy: { maximum_retry_attempts: 185, maximum_event_age_in_seconds: 3600 },
      dead_letter_config: { arn: expect.stringMatching(/^\$\{aws_sqs_queue\..*\.arn\}$/) },
    });
    expect(Testing.toHaveResourceWithProperties(synthesized, SqsQueue.tfResourceType, { name: 'deploy-guard-dev-rollback-requested-dlq', kms_master_key_id: KEY })).toBe(true);
    const queuePolicy = JSON.parse(String(Object.values(resources(synthesized, SqsQueuePolicy.tfResourceType))[0].policy));
    expect(queuePolicy.Statement[0]).toMatchObject({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\..*rollback-requested.*\.arn\}$/) } } });
  });

  it('lets only this rule invoke the function', () => {
    const permission = Object.values(resources(synthesized, LambdaPermission.tfResourceType))[0];
    expect(permission).toMatchObject({ principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', source_arn: expect.stringMatching(/rollback-requested.*\.arn\}$/) });
  });

  it('refuses a rule meant for another handler', () => {
    expect(() => Testing.synthScope((scope) => build(scope, 'deployment-finished', 'predict'))).toThrow("EventRuleToFunction rule 'deployment-finished' feeds 'record-outcome', not the 'predict' handler");
  });
});

describe('DataStores', () => {
  const synthesized = Testing.synthScope((scope) => void new DataStores(scope, 'data', { namePrefix: 'deploy-guard-dev', accountId: '123456789012', kmsKeyArn: KEY }));

  it('creates every table of handlers/tables.ts: on demand, PITR, KMS, TTL where defined', () => {
    for (const table of Object.values(TABLES)) {
      expect(
        Testing.toHaveResourceWithProperties(synthesized, DynamodbTable.tfResourceType, {
          name: `deploy-guard-dev-${table.name}`,
          billing_mode: 'PAY_PER_REQUEST',
          hash_key: table.partitionKey,
          point_in_time_recovery: { enabled: true },
          server_side_encryption: { enabled: true, kms_key_arn: KEY },
          ...('ttlAttribute' in table ? { ttl: { attribute_name: table.ttlAttribute, enabled: true } } : {}),
        }),
      ).toBe(true);
    }
    expect(Object.values(resources(synthesized, DynamodbTable.tfResourceType)).filter((table) => table.ttl)).toHaveLength(2);
  });

  it('blocks public access to the three buckets', () => {
    expect(Object.values(resources(synthesized, S3BucketPublicAccessBlock.tfResourceType))).toHaveLength(3);
    expect(Testing.toHaveResourceWithProperties(synthesized, 'aws_s3_bucket', { bucket: 'deploy-guard-dev-captures-123456789012' })).toBe(true);
  });

  it.each([
    [{ namePrefix: 'Deploy' }, "DataStores namePrefix 'Deploy' must be 1 to 30 lowercase letters, digits or hyphens, starting with a letter"],
    [{ accountId: '1234' }, "DataStores accountId must be 12 digits, got '1234'"],
    [{ captureRetentionDays: 0 }, 'DataStores captureRetentionDays must be a positive integer, got 0'],
  ])('rejects %j', (override, message) => {
    expect(() => Testing.synthScope((scope) => void new DataStores(scope, 'data', { namePrefix: 'dg', accountId: '123456789012', kmsKeyArn: KEY, ...override }))).toThrow(message);
  });
});

describe('Monitoring', () => {
  const build = (scope: Construct, emails: string[]) => {
    const fn = new NodejsFunction(scope, 'fn', { handler: 'predict', functionName: 'deploy-guard-dev-predict', kmsKeyArn: KEY, accountId: '123456789012' });
    new Monitoring(scope, 'monitoring', {
      namePrefix: 'deploy-guard-dev',
      region: 'us-east-1',
      accountId: '123456789012',
      kmsKeyArn: KEY,
      emails,
      metricsNamespace: 'DeployGuard',
      functions: [fn],
      deadLetterQueues: [fn.deadLetterQueue],
      busName: 'deploy-guard-dev',
      rules: systemRules({ namePrefix: 'deploy-guard-dev' }),
      driftAlarms: [],
    });
  };
  const synthesized = Testing.synthScope((scope) => build(scope, ['team@example.com']));

  it('subscribes the e-mails and alarms on errors and dead letters outside the model-alarm prefix', () => {
    expect(Testing.toHaveResourceWithProperties(synthesized, SnsTopicSubscription.tfResourceType, { protocol: 'email', endpoint: 'team@example.com' })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synthesized, CloudwatchMetricAlarm.tfResourceType, { alarm_name: 'ops/deploy-guard-dev/predict-errors', metric_name: 'Errors', dimensions: { FunctionName: 'deploy-guard-dev-predict' } })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synthesized, CloudwatchMetricAlarm.tfResourceType, { alarm_name: 'ops/deploy-guard-dev/deploy-guard-dev-predict-failures-not-empty', namespace: 'AWS/SQS' })).toBe(true);
  });

  it('charts precision and recall by metric math over the quality metrics', () => {
    const body = JSON.parse(String(Object.values(resources(synthesized, 'aws_cloudwatch_dashboard'))[0].dashboard_body));
    const titles = body.widgets.map((widget: { properties: { title: string } }) => widget.properties.title);
    expect(titles).toEqual(expect.arrayContaining(['Risk assessments', 'Rollbacks', 'Precision and recall (daily)', 'Drift (model-quality alarms)', 'Retraining']));
    const precision = body.widgets.find((widget: { properties: { title: string } }) => widget.properties.title === 'Precision and recall (daily)');
    expect(JSON.stringify(precision.properties.metrics)).toContain('tp / (tp + fp)');
  });

  it('charts the realized block rate against the cut, and the exploration estimates of the stops\' precision and recall', () => {
    const body = JSON.parse(String(Object.values(resources(synthesized, 'aws_cloudwatch_dashboard'))[0].dashboard_body));
    const byTitle = (prefix: string) => body.widgets.find((widget: { properties: { title: string } }) => widget.properties.title.startsWith(prefix));
    const budget = JSON.stringify(byTitle('Block budget').properties.metrics);
    expect(budget).toContain('stops / assessments');
    expect(budget).toContain('"DecisionCut"');
    const estimates = JSON.stringify(byTitle('Stops: estimated precision and recall').properties.metrics);
    expect(estimates).toContain('esf / (esf + ess)');
    expect(estimates).toContain('esf / (esf + emf)');
  });

  it('charts per group the stops (those at the pipeline gate too) and assessments, the fallbacks and the deployments scored without their change summary', () => {
    const body = JSON.parse(String(Object.values(resources(synthesized, 'aws_cloudwatch_dashboard'))[0].dashboard_body));
    const byTitle = (prefix: string) => body.widgets.find((widget: { properties: { title: string } }) => widget.properties.title.startsWith(prefix));
    expect(byTitle('Per group: stops').properties.metrics).toEqual([
      [{ expression: `SEARCH('{DeployGuard,Application,DeploymentGroup} MetricName="Stops"', 'Sum', 86400)`, id: 'stops', label: 'Stops' }],
      [{ expression: `SEARCH('{DeployGuard,Application,DeploymentGroup} MetricName="PipelineGateStops"', 'Sum', 86400)`, id: 'gateStops', label: 'PipelineGateStops' }],
      [{ expression: `SEARCH('{DeployGuard,Application,DeploymentGroup} MetricName="Assessments"', 'Sum', 86400)`, id: 'assessments', label: 'Assessments' }],
    ]);
    expect(JSON.stringify(byTitle('Per group: fallbacks').properties.metrics)).toContain('MetricName=\\"AssessedWithoutChangeSummary\\"');
  });

  it('rejects an address that is not one', () => {
    expect(() => Testing.synthScope((scope) => build(scope, ['team']))).toThrow("Monitoring emails: 'team' is not an e-mail address");
  });
});
