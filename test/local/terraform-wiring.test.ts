import { existsSync } from 'node:fs';
import { HANDLER_NAMES } from '../../handlers/entries';
import { join } from 'node:path';
import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { App, TerraformStack, Testing } from 'cdktf';
import { ManualClock } from '../../events/clock';
import { systemRules } from '../../events/patterns';
import { scheduledEvent } from '../../events/schedule';
import { InMemoryControlStore } from '../../handlers/adapters/in-memory-stores';
import { ENV } from '../../handlers/config';
import { driftConfigFromEnv, handleDriftEvent } from '../../handlers/drift';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_METRICS } from '../../handlers/quality-metrics';
import { readWiring, WiringError } from '../../local/terraform-wiring';
import { FakeTraining, RecordingPublisher } from '../fuzz/ports';
import { synthesizeAll } from '../stacks/synth-support';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/deploy-guard-dev-lambda`;
const [deploymentStarted, , , modelAlarm, , , rollbackRequested] = systemRules({ namePrefix: 'deploy-guard-dev' });

/** A stack with a provider; `build` adds resources. Returns the synthesized Terraform JSON. */
function synth(build: (stack: TerraformStack) => void, provider: { allowedAccountIds?: string[] } = { allowedAccountIds: [ACCOUNT] }): object {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: REGION, ...provider });
  build(stack);
  return JSON.parse(Testing.synth(stack)) as object;
}

function fn(stack: TerraformStack, id: string, handler: string | undefined, environment?: Record<string, string>): LambdaFunction {
  return new LambdaFunction(stack, id, {
    functionName: `deploy-guard-dev-${id}`,
    role: ROLE,
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    filename: 'dist/handler.zip',
    timeout: 30,
    ...(handler ? { tags: { 'deploy-guard-handler': handler } } : {}),
    ...(environment ? { environment: { variables: environment } } : {}),
  });
}

/** Deploy Guard in small: a default-bus rule and a custom-bus rule into handlers, and two alarms. */
function deployGuardStack(stack: TerraformStack): void {
  const bus = new CloudwatchEventBus(stack, 'bus', { name: 'deploy-guard-dev' });
  const dlq = new SqsQueue(stack, 'dlq', { name: 'deploy-guard-dev-dlq' });
  const topic = new SnsTopic(stack, 'alerts', { name: 'deploy-guard-dev-alerts' });
  const predict = fn(stack, 'predict', 'predict', { EVENT_BUS_NAME: bus.name, LOG_LEVEL: 'INFO' });
  const rollback = fn(stack, 'rollback', 'rollback', { EVENT_BUS_NAME: bus.name, DEAD_LETTER_QUEUE: dlq.arn });
  fn(stack, 'helper', undefined);
  new LambdaFunctionEventInvokeConfig(stack, 'predict-async', { functionName: predict.functionName, maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300, destinationConfig: { onFailure: { destination: dlq.arn } } });

  const started = new CloudwatchEventRule(stack, 'rule-started', {
    name: 'deploy-guard-dev-deployment-started',
    eventBusName: 'default',
    eventPattern: JSON.stringify(deploymentStarted!.pattern),
  });
  new CloudwatchEventTarget(stack, 'target-started', {
    rule: started.name,
    eventBusName: 'default',
    arn: predict.arn,
    retryPolicy: { maximumRetryAttempts: 4, maximumEventAgeInSeconds: 3600 },
    deadLetterConfig: { arn: dlq.arn },
  });
  const requested = new CloudwatchEventRule(stack, 'rule-rollback', {
    name: 'deploy-guard-dev-rollback-requested',
    eventBusName: bus.name,
    eventPattern: JSON.stringify(rollbackRequested!.pattern),
  });
  new CloudwatchEventTarget(stack, 'target-rollback', { rule: requested.name, eventBusName: bus.name, arn: rollback.arn, targetId: 'rollback' });
  new CloudwatchEventTarget(stack, 'target-rollback-topic', { rule: requested.name, eventBusName: bus.name, arn: topic.arn });

  new CloudwatchMetricAlarm(stack, 'alarm-error-rate', {
    alarmName: 'deploy-guard-dev-error-rate',
    alarmDescription: 'Share of wrong decisions over the last days',
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 0.3,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: 'notBreaching',
    alarmActions: [topic.arn],
    metricQuery: [
      { id: 'error_rate', expression: '(m_fp + m_fn) / m_n', label: 'Error rate', returnData: true },
      { id: 'm_fp', metric: { namespace: DEFAULT_METRICS_NAMESPACE, metricName: QUALITY_METRICS.falsePositives, period: 86400, stat: 'Sum' } },
      { id: 'm_fn', metric: { namespace: DEFAULT_METRICS_NAMESPACE, metricName: QUALITY_METRICS.falseNegatives, period: 86400, stat: 'Sum' } },
      { id: 'm_n', metric: { namespace: DEFAULT_METRICS_NAMESPACE, metricName: QUALITY_METRICS.labelled, period: 86400, stat: 'Sum' } },
    ],
  });
  new CloudwatchMetricAlarm(stack, 'alarm-fallbacks', {
    alarmName: 'deploy-guard-dev-endpoint-fallbacks',
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    threshold: 5,
    evaluationPeriods: 1,
    namespace: DEFAULT_METRICS_NAMESPACE,
    metricName: QUALITY_METRICS.endpointFallbacks,
    dimensions: { DeploymentGroup: 'payments-prod' },
    statistic: 'Sum',
    period: 3600,
    unit: 'Count',
  });
}

const metric = (metricName: string) => ({ namespace: 'DeployGuard', metricName, dimensions: {}, stat: 'Sum', period: 86400 });

describe('readWiring', () => {
  const wiring = readWiring(synth(deployGuardStack));
  // Terraform JSON lists resources by logical id, so rules are found by address.
  const ruleAt = (address: string) => wiring.rules.find((rule) => rule.address === address);

  it('reads the provider region and account', () => {
    expect(wiring.provider).toEqual({ region: REGION, accountId: ACCOUNT });
  });

  it('reads a rule on the default bus whose target has a retry policy and a dead-letter queue', () => {
    expect(ruleAt('aws_cloudwatch_event_rule.rule-started')).toEqual({
      address: 'aws_cloudwatch_event_rule.rule-started',
      name: 'deploy-guard-dev-deployment-started',
      eventBusName: 'default',
      eventPattern: deploymentStarted!.pattern,
      enabled: true,
      targets: [
        {
          address: 'aws_cloudwatch_event_target.target-started',
          arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deploy-guard-dev-predict`,
          resource: 'aws_lambda_function.predict',
          handler: 'predict',
          retryPolicy: { maximumRetryAttempts: 4, maximumEventAgeInSeconds: 3600 },
          deadLetterQueue: { address: 'aws_sqs_queue.dlq', name: 'deploy-guard-dev-dlq', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:deploy-guard-dev-dlq` },
        },
      ],
    });
  });

  it("reads a rule on Deploy Guard's bus; a target without retry policy gets EventBridge's defaults; a topic target has no handler", () => {
    expect(ruleAt('aws_cloudwatch_event_rule.rule-rollback')).toEqual({
      address: 'aws_cloudwatch_event_rule.rule-rollback',
      name: 'deploy-guard-dev-rollback-requested',
      eventBusName: 'deploy-guard-dev',
      eventPattern: rollbackRequested!.pattern,
      enabled: true,
      targets: [
        {
          address: 'aws_cloudwatch_event_target.target-rollback',
          targetId: 'rollback',
          arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deploy-guard-dev-rollback`,
          resource: 'aws_lambda_function.rollback',
          handler: 'rollback',
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
          deadLetterQueue: null,
        },
        {
          address: 'aws_cloudwatch_event_target.target-rollback-topic',
          arn: `arn:aws:sns:${REGION}:${ACCOUNT}:deploy-guard-dev-alerts`,
          resource: 'aws_sns_topic.alerts',
          handler: null,
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
          deadLetterQueue: null,
        },
      ],
    });
    expect(wiring.rules).toHaveLength(2);
    expect(wiring.schedules).toEqual([]);
  });

  it('reads the tagged functions with their resolved environment and asynchronous-invocation settings', () => {
    expect(wiring.functions).toEqual([
      {
        address: 'aws_lambda_function.predict',
        handler: 'predict',
        functionName: 'deploy-guard-dev-predict',
        environment: { EVENT_BUS_NAME: 'deploy-guard-dev', LOG_LEVEL: 'INFO' },
        unresolvedEnvironment: {},
        timeoutSeconds: 30,
        asyncInvoke: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 300, onFailureDestination: `arn:aws:sqs:${REGION}:${ACCOUNT}:deploy-guard-dev-dlq` },
        deadLetterTarget: null,
      },
      {
        address: 'aws_lambda_function.rollback',
        handler: 'rollback',
        functionName: 'deploy-guard-dev-rollback',
        environment: { EVENT_BUS_NAME: 'deploy-guard-dev', DEAD_LETTER_QUEUE: `arn:aws:sqs:${REGION}:${ACCOUNT}:deploy-guard-dev-dlq` },
        unresolvedEnvironment: {},
        timeoutSeconds: 30,
        asyncInvoke: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21600, onFailureDestination: null },
        deadLetterTarget: null,
      },
    ]);
  });

  it('reads a metric-math alarm', () => {
    expect(wiring.alarms[0]).toEqual({
      address: 'aws_cloudwatch_metric_alarm.alarm-error-rate',
      alarmName: 'deploy-guard-dev-error-rate',
      description: 'Share of wrong decisions over the last days',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0.3,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
      actionsEnabled: true,
      metricQueries: [
        { id: 'error_rate', expression: '(m_fp + m_fn) / m_n', label: 'Error rate', returnData: true },
        { id: 'm_fp', returnData: false, metric: metric('FalsePositives') },
        { id: 'm_fn', returnData: false, metric: metric('FalseNegatives') },
        { id: 'm_n', returnData: false, metric: metric('LabelledOutcomes') },
      ],
      alarmActions: [`arn:aws:sns:${REGION}:${ACCOUNT}:deploy-guard-dev-alerts`],
      okActions: [],
      insufficientDataActions: [],
    });
  });

  it('reads a single-metric alarm; datapoints to alarm default to the evaluation periods, missing data to missing', () => {
    expect(wiring.alarms[1]).toEqual({
      address: 'aws_cloudwatch_metric_alarm.alarm-fallbacks',
      alarmName: 'deploy-guard-dev-endpoint-fallbacks',
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: 5,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'missing',
      actionsEnabled: true,
      metric: { namespace: 'DeployGuard', metricName: 'EndpointFallbacks', dimensions: { DeploymentGroup: 'payments-prod' }, stat: 'Sum', period: 3600, unit: 'Count' },
      alarmActions: [],
      okActions: [],
      insufficientDataActions: [],
    });
  });

  it('reads the cdk.tf.json that a full synth writes (with its metadata blocks) the same as the object', () => {
    const app = Testing.stubVersion(new App({ stackTraces: false, outdir: Testing.app().outdir }));
    const stack = new TerraformStack(app, 'deploy-guard-test');
    new AwsProvider(stack, 'aws', { region: REGION, allowedAccountIds: [ACCOUNT] });
    deployGuardStack(stack);
    const outdir = Testing.fullSynth(stack);
    const file = join(outdir, 'stacks', 'deploy-guard-test', 'cdk.tf.json');
    expect(existsSync(file)).toBe(true);
    expect(readWiring(file)).toEqual(wiring);
  });
});

describe('the rules of events/patterns.ts round-trip through Terraform', () => {
  it('a stack built from systemRules() reads back every rule with the same pattern and bus', () => {
    const rules = systemRules({ namePrefix: 'deploy-guard-dev' });
    const stack = synth((scope) => {
      const bus = new CloudwatchEventBus(scope, 'bus', { name: 'deploy-guard-dev' });
      for (const rule of rules) {
        new CloudwatchEventRule(scope, `rule-${rule.name}`, {
          name: `deploy-guard-dev-${rule.name}`,
          eventBusName: rule.bus === 'default' ? 'default' : bus.name,
          eventPattern: JSON.stringify(rule.pattern),
        });
      }
    });
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(readWiring(stack).rules.map(({ name, eventBusName, eventPattern }) => ({ name, eventBusName, eventPattern })).sort(byName)).toEqual(
      rules.map((rule) => ({ name: `deploy-guard-dev-${rule.name}`, eventBusName: rule.bus === 'default' ? 'default' : 'deploy-guard-dev', eventPattern: rule.pattern })).sort(byName),
    );
    expect(rules).toHaveLength(10);
  });
});

describe('readWiring: schedule rules, for a virtual clock to fire', () => {
  it('reads a rate rule with its period in milliseconds, its ARN (the resource of its Scheduled Events) and its targets', () => {
    const wiring = readWiring(
      synth((stack) => {
        const drift = fn(stack, 'drift', 'drift');
        const dlq = new SqsQueue(stack, 'dlq', { name: 'deploy-guard-dev-schedule-dlq' });
        const rule = new CloudwatchEventRule(stack, 'schedule', { name: 'deploy-guard-dev-retraining-schedule', eventBusName: 'default', scheduleExpression: 'rate(7 days)' });
        new CloudwatchEventTarget(stack, 'target', { rule: rule.name, arn: drift.arn, retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 600 }, deadLetterConfig: { arn: dlq.arn } });
        new CloudwatchEventRule(stack, 'hourly', { name: 'hourly', scheduleExpression: 'rate(1 hour)', isEnabled: false });
      }),
    );
    // In the order of the Terraform JSON (by logical id), as `rules`.
    expect(wiring.schedules).toEqual([
      { address: 'aws_cloudwatch_event_rule.hourly', name: 'hourly', arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/hourly`, scheduleExpression: 'rate(1 hour)', periodMs: 3_600_000, enabled: false, targets: [] },
      {
        address: 'aws_cloudwatch_event_rule.schedule',
        name: 'deploy-guard-dev-retraining-schedule',
        arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/deploy-guard-dev-retraining-schedule`,
        scheduleExpression: 'rate(7 days)',
        periodMs: 7 * 86_400_000,
        enabled: true,
        targets: [
          {
            address: 'aws_cloudwatch_event_target.target',
            arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:deploy-guard-dev-drift`,
            resource: 'aws_lambda_function.drift',
            handler: 'drift',
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 600 },
            deadLetterQueue: { address: 'aws_sqs_queue.dlq', name: 'deploy-guard-dev-schedule-dlq', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:deploy-guard-dev-schedule-dlq` },
          },
        ],
      },
    ]);
    // A schedule rule is a rule too: in `rules`, without a pattern (the bus routes nothing to it).
    expect(wiring.rules.find((rule) => rule.name === 'hourly')).toEqual({ address: 'aws_cloudwatch_event_rule.hourly', name: 'hourly', eventBusName: 'default', scheduleExpression: 'rate(1 hour)', enabled: false, targets: [] });
  });

  it.each<[string, (stack: TerraformStack) => void, string]>([
    [
      'a cron expression (no fixed period)',
      (stack) => void new CloudwatchEventRule(stack, 'cron', { name: 'cron', scheduleExpression: 'cron(0 12 * * ? *)' }),
      "aws_cloudwatch_event_rule.cron.schedule_expression: 'cron(0 12 * * ? *)' is a cron expression: it fires at calendar times, not at a fixed period (only rate(...) has one); the local runtime fires rate expressions only",
    ],
    [
      'a rate EventBridge refuses',
      (stack) => void new CloudwatchEventRule(stack, 'r', { name: 'r', scheduleExpression: 'rate(1 days)' }),
      "aws_cloudwatch_event_rule.r.schedule_expression: 'rate(1 days)' is not a rate expression EventBridge accepts: the unit is singular for 1 and plural otherwise",
    ],
    [
      'a schedule on a custom bus',
      (stack) => void new CloudwatchEventRule(stack, 'r', { name: 'r', eventBusName: new CloudwatchEventBus(stack, 'bus', { name: 'deploy-guard-dev' }).name, scheduleExpression: 'rate(1 day)' }),
      "aws_cloudwatch_event_rule.r.schedule_expression: the rule is on bus 'deploy-guard-dev', but EventBridge runs schedule rules only on the default bus",
    ],
  ])('fails on %s, naming the rule', (_case, build, message) => {
    const stack = synth(build);
    expect(() => readWiring(stack)).toThrow(WiringError);
    expect(() => readWiring(stack)).toThrow(message);
  });

  describe('on the synthesized dev stack (deploy-guard.config.json)', () => {
    const dev = synthesizeAll().stacks.find((stack) => stack.name === 'deploy-guard-dev')!;
    const wiring = readWiring(dev.json);
    const [schedule] = wiring.schedules;

    it('has one schedule: the retraining schedule, every 180 days, into drift with a retry policy and a dead-letter queue', () => {
      expect(wiring.schedules).toHaveLength(1);
      expect(schedule).toMatchObject({
        name: 'deploy-guard-dev-retraining-schedule',
        arn: 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-retraining-schedule',
        scheduleExpression: 'rate(180 days)',
        periodMs: 180 * 86_400_000,
        enabled: true,
        targets: [
          {
            handler: 'drift',
            retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 3600 },
            deadLetterQueue: expect.objectContaining({ name: 'deploy-guard-dev-retraining-schedule-dlq' }),
          },
        ],
      });
    });

    it('scheduledEvent(schedule, at, account, region) is an event the deployed drift handler accepts: it starts a job, once', async () => {
      const environment = wiring.functions.find((candidate) => candidate.handler === 'drift')!.environment;
      const config = driftConfigFromEnv(environment);
      expect(JSON.parse(environment[ENV.retraining]!).schedule).toEqual({ ruleArn: schedule!.arn, days: 180 });

      const at = Date.parse('2026-11-20T09:00:00Z');
      const event = scheduledEvent(schedule!, at, wiring.provider.accountId!, wiring.provider.region!);
      const training = new FakeTraining([], (job) => `s3://${config.modelBucket}/training/output/${job}/output/model.tar.gz`);
      const publisher = new RecordingPublisher();
      const deps = { training, rows: { countRows: async (_from: string, _to: string, enough: number) => enough }, control: new InMemoryControlStore(), publisher, clock: new ManualClock(at + 2_000), config };
      await expect(handleDriftEvent(event, deps)).resolves.toMatchObject({ status: 'started', scheduleRule: 'deploy-guard-dev-retraining-schedule' });
      await expect(handleDriftEvent(event, deps)).resolves.toMatchObject({ status: 'duplicate' });
      expect(training.started).toHaveLength(1);
      expect(JSON.parse(publisher.published[0]!.Detail).trigger).toEqual({ type: 'schedule', ruleName: 'deploy-guard-dev-retraining-schedule', periodDays: 180, scheduledAt: '2026-11-20T09:00:00Z' });
    });
  });
});

describe('readWiring fails clearly, naming the resource address and attribute', () => {
  const cases: [string, (stack: TerraformStack) => void, string][] = [
    [
      'an invalid event pattern',
      (stack) => void new CloudwatchEventRule(stack, 'bad', { name: 'bad', eventPattern: JSON.stringify({ source: 'aws.codedeploy' }) }),
      'aws_cloudwatch_event_rule.bad.event_pattern: Event pattern is not valid. Reason: ',
    ],
    [
      'a target function without the handler tag',
      (stack) => {
        const rule = new CloudwatchEventRule(stack, 'r', { name: 'r', eventPattern: JSON.stringify(modelAlarm!.pattern) });
        new CloudwatchEventTarget(stack, 't', { rule: rule.name, arn: fn(stack, 'untagged', undefined).arn });
      },
      "aws_cloudwatch_event_target.t.arn: targets aws_lambda_function.untagged, which has no 'deploy-guard-handler' tag, so no handler can run it locally",
    ],
    [
      'a handler tag that names no handler',
      (stack) => void fn(stack, 'f', 'predictor'),
      `aws_lambda_function.f.tags.deploy-guard-handler: 'predictor' is not a handler (handlers/entries.ts: ${HANDLER_NAMES.join(', ')})`,
    ],
    [
      'a target on a rule that is not in the stack',
      (stack) => void new CloudwatchEventTarget(stack, 't', { rule: 'elsewhere', arn: `arn:aws:sns:${REGION}:${ACCOUNT}:x` }),
      "aws_cloudwatch_event_target.t.rule: no aws_cloudwatch_event_rule named 'elsewhere' on bus 'default' in the stack",
    ],
    [
      'a target whose ARN is only known after apply',
      (stack) => {
        const rule = new CloudwatchEventRule(stack, 'r', { name: 'r', eventPattern: JSON.stringify(modelAlarm!.pattern) });
        new CloudwatchEventTarget(stack, 't', { rule: rule.name, arn: new SqsQueue(stack, 'q', { namePrefix: 'dg-' }).arn });
      },
      'aws_cloudwatch_event_target.t.arn: aws_sqs_queue.q.name is not set (a generated name is only known after apply)',
    ],
    [
      'a metric-math expression that reads an unknown id',
      (stack) =>
        void new CloudwatchMetricAlarm(stack, 'a', {
          alarmName: 'a',
          comparisonOperator: 'GreaterThanThreshold',
          threshold: 1,
          evaluationPeriods: 1,
          metricQuery: [
            { id: 'e', expression: 'm_brier / m_count', returnData: true },
            { id: 'm_brier', metric: { namespace: 'DeployGuard', metricName: 'BrierContribution', period: 60, stat: 'Sum' } },
          ],
        }),
      "aws_cloudwatch_metric_alarm.a.metric_query[0].expression: 'm_brier / m_count' reads 'm_count', which is not an id of this alarm",
    ],
    [
      'a metric-math expression that does not parse',
      (stack) =>
        void new CloudwatchMetricAlarm(stack, 'a', {
          alarmName: 'a',
          comparisonOperator: 'GreaterThanThreshold',
          threshold: 1,
          evaluationPeriods: 1,
          metricQuery: [
            { id: 'e', expression: '(m1 + ', returnData: true },
            { id: 'm1', metric: { namespace: 'DeployGuard', metricName: 'BrierContribution', period: 60, stat: 'Sum' } },
          ],
        }),
      "aws_cloudwatch_metric_alarm.a.metric_query[0].expression: metric math expression '(m1 + ' at position 6: expected a number, a metric id, a function or '(', found end of expression",
    ],
    [
      'an anomaly-detection comparison',
      (stack) =>
        void new CloudwatchMetricAlarm(stack, 'a', {
          alarmName: 'a',
          comparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
          evaluationPeriods: 1,
          thresholdMetricId: 'band',
        }),
      "aws_cloudwatch_metric_alarm.a.comparison_operator: 'LessThanLowerOrGreaterThanUpperThreshold' is not supported locally",
    ],
  ];
  it.each(cases)('%s', (_, build, message) => {
    const stack = synth(build);
    expect(() => readWiring(stack)).toThrow(WiringError);
    expect(() => readWiring(stack)).toThrow(message);
  });

  it('an ARN that needs the account when the provider names none', () => {
    const stack = synth((scope) => {
      const rule = new CloudwatchEventRule(scope, 'r', { name: 'r', eventPattern: JSON.stringify(modelAlarm!.pattern) });
      new CloudwatchEventTarget(scope, 't', { rule: rule.name, arn: new SnsTopic(scope, 'topic', { name: 'n' }).arn });
    }, {});
    expect(() => readWiring(stack)).toThrow(
      'aws_cloudwatch_event_target.t.arn: aws_sns_topic.topic.arn cannot be derived: the aws provider sets no single allowed_account_ids entry',
    );
  });

  it('keeps environment variables that only AWS can know as their Terraform expression, apart from the resolved ones', () => {
    const stack = synth((scope) => {
      const queue = new SqsQueue(scope, 'q', { name: 'q' });
      fn(scope, 'f', 'drift', { QUEUE_URL: queue.url, QUEUE_NAME: queue.name });
    });
    expect(readWiring(stack).functions[0]).toMatchObject({ environment: { QUEUE_NAME: 'q' }, unresolvedEnvironment: { QUEUE_URL: '${aws_sqs_queue.q.url}' } });
  });

  it('a reference to a resource that is not in the stack', () => {
    const stack = synth((scope) => void fn(scope, 'f', 'drift', { TABLE: '${aws_dynamodb_table.history.name}' }));
    expect(() => readWiring(stack)).toThrow(
      'aws_lambda_function.f.environment.variables.TABLE: refers to aws_dynamodb_table.history.name, but the stack has no resource aws_dynamodb_table.history',
    );
  });

  it('a file that is not there', () => {
    expect(() => readWiring('/nonexistent/cdk.tf.json')).toThrow(/^\/nonexistent\/cdk\.tf\.json: cannot read the synthesized stack: ENOENT/);
  });
});
