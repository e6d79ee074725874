import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../main';
import { loadConfig } from '../../stacks/config';
import { checkStack, isAllowed, RESOURCE_STAR_ACTIONS, roleStatements, type Statement } from '../../stacks/policy-check';
import { HANDLER_NAMES } from '../../handlers/entries';
import { synthesizeAll } from './synth-support';

describe('the installation policy (stacks/policy-check.ts)', () => {
  const { stacks } = synthesizeAll();

  it.each(stacks.map((stack) => [stack.name, stack.json] as const))('%s violates nothing', (_name, json) => {
    expect(checkStack(json)).toEqual([]);
  });

  it('holds for the minimal example configuration too (its defaults included)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-minimal-'));
    buildApp({ outdir, config: loadConfig(join(__dirname, '..', '..', 'deploy-guard.config.minimal.json')) }).synth();
    const json = JSON.parse(readFileSync(join(outdir, 'stacks', 'deploy-guard-dev', 'cdk.tf.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys((json.resource as Record<string, object>).aws_lambda_function)).toHaveLength(HANDLER_NAMES.length);
    expect(checkStack(json)).toEqual([]);
  });

  it('checks something in every stack: functions, targets, buckets, tables and policies are there', () => {
    for (const { json } of stacks) {
      const resource = json.resource as Record<string, Record<string, unknown>>;
      expect(Object.keys(resource.aws_lambda_function)).toHaveLength(HANDLER_NAMES.length);
      // The 10 rules of events/patterns.ts and the retraining schedule.
      expect(Object.keys(resource.aws_cloudwatch_event_target)).toHaveLength(11);
      expect(Object.keys(resource.aws_s3_bucket)).toHaveLength(3);
      expect(Object.keys(resource.aws_dynamodb_table)).toHaveLength(4);
      expect(Object.keys(resource.aws_iam_role_policy).length).toBeGreaterThanOrEqual(9);
    }
  });

  // Hand-made bad stacks: each rule catches exactly what it names.
  const policy = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
  const goodBucket = {
    aws_s3_bucket: { b: { bucket: 'x' } },
    aws_s3_bucket_server_side_encryption_configuration: { e: { bucket: '${aws_s3_bucket.b.id}', rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms' } }] } },
    aws_s3_bucket_public_access_block: { p: { bucket: '${aws_s3_bucket.b.id}', block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true } },
    aws_s3_bucket_policy: {
      t: { bucket: '${aws_s3_bucket.b.id}', policy: policy({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }) },
    },
  };
  const goodFunction = {
    aws_lambda_function: { f: { function_name: 'fn', logging_config: { log_group: '${aws_cloudwatch_log_group.l.name}' } } },
    aws_cloudwatch_log_group: { l: { name: '/aws/lambda/fn', retention_in_days: 30 } },
    aws_lambda_function_event_invoke_config: { i: { function_name: '${aws_lambda_function.f.function_name}', destination_config: { on_failure: { destination: '${aws_sqs_queue.q.arn}' } } } },
  };
  const without = (resources: Record<string, object>, type: string) => Object.fromEntries(Object.entries(resources).filter(([key]) => key !== type));

  it('accepts the good hand-made resources', () => {
    expect(checkStack({ resource: { ...goodBucket, ...goodFunction } })).toEqual([]);
  });

  it("accepts a service role assumed for this account only, and EC2's instance role, which names no source account", () => {
    const trust = (service: string, condition?: object) => policy({ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', ...(condition ? { Condition: condition } : {}) });
    const roles = {
      lambda: { assume_role_policy: trust('lambda.amazonaws.com', { StringEquals: { 'aws:SourceAccount': '123456789012' } }) },
      instances: { assume_role_policy: trust('ec2.amazonaws.com') },
    };
    expect(checkStack({ resource: { aws_iam_role: roles } })).toEqual([]);
  });

  it.each([
    ['an action wildcard', { aws_iam_role_policy: { r: { policy: policy({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/*' }) } } }, 'aws_iam_role_policy.r statement 0: action \'s3:*\' is a wildcard'],
    ['Resource * for an action that has a resource type', { aws_iam_role_policy: { r: { policy: policy({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }) } } }, "aws_iam_role_policy.r statement 0: action 's3:GetObject' on resource '*' is not on the allow-list"],
    ['PutMetricData on * without a namespace condition', { aws_iam_role_policy: { r: { policy: policy({ Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*' }) } } }, "aws_iam_role_policy.r statement 0: action 'cloudwatch:PutMetricData' on resource '*' needs a cloudwatch:namespace condition"],
    ['a queue policy granting sqs:* to anyone', { aws_sqs_queue_policy: { q: { policy: policy({ Effect: 'Allow', Principal: '*', Action: 'sqs:*', Resource: 'arn:aws:sqs:us-east-1:123456789012:q' }) } } }, "aws_sqs_queue_policy.q statement 0: action 'sqs:*' is a wildcard"],
    ['a bucket without encryption', without(goodBucket, 'aws_s3_bucket_server_side_encryption_configuration'), 'aws_s3_bucket.b: no SSE-KMS default encryption'],
    ['a bucket without a public access block', without(goodBucket, 'aws_s3_bucket_public_access_block'), 'aws_s3_bucket.b: no public access block with all four settings on'],
    ['a bucket without a TLS-only policy', without(goodBucket, 'aws_s3_bucket_policy'), 'aws_s3_bucket.b: no bucket policy denying requests without TLS (aws:SecureTransport false)'],
    ['an event target without retry policy', { aws_cloudwatch_event_target: { t: { arn: 'x', dead_letter_config: { arn: 'q' } } } }, 'aws_cloudwatch_event_target.t: no retry policy (maximum_retry_attempts and maximum_event_age_in_seconds)'],
    ['an event target without dead-letter queue', { aws_cloudwatch_event_target: { t: { arn: 'x', retry_policy: { maximum_retry_attempts: 3, maximum_event_age_in_seconds: 60 } } } }, 'aws_cloudwatch_event_target.t: no dead-letter queue'],
    ['a function without its own log group', without(goodFunction, 'aws_cloudwatch_log_group'), 'aws_lambda_function.f: no log group of its own with a retention period'],
    ['a function whose log group keeps logs forever', { ...goodFunction, aws_cloudwatch_log_group: { l: { name: '/aws/lambda/fn' } } }, 'aws_lambda_function.f: no log group of its own with a retention period'],
    ['a function without an on-failure destination', without(goodFunction, 'aws_lambda_function_event_invoke_config'), 'aws_lambda_function.f: no on-failure destination'],
    ['a table without point-in-time recovery', { aws_dynamodb_table: { t: { name: 't', point_in_time_recovery: { enabled: false } } } }, 'aws_dynamodb_table.t: point-in-time recovery is off'],
    [
      'a service role any account may have a service assume (no aws:SourceAccount)',
      { aws_iam_role: { r: { assume_role_policy: policy({ Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' }, Action: 'sts:AssumeRole' }) } } },
      'aws_iam_role.r: sagemaker.amazonaws.com may assume it without an aws:SourceAccount condition',
    ],
    [
      'a CodeDeploy service role assumable for any deployment group (no aws:SourceArn)',
      { aws_iam_role: { r: { assume_role_policy: policy({ Effect: 'Allow', Principal: { Service: 'codedeploy.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } }) } } },
      'aws_iam_role.r: codedeploy.amazonaws.com may assume it for any of its resources (no aws:SourceArn condition)',
    ],
  ])('catches %s', (_what, resource, message) => {
    expect(checkStack({ resource }).map((violation) => violation.message)).toEqual([message]);
  });

  it('allows Resource "*" only for actions AWS does not scope, each with a reason', () => {
    expect(Object.keys(RESOURCE_STAR_ACTIONS).sort()).toEqual(['cloudwatch:PutMetricData', 'codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult', 'ecr:GetAuthorizationToken', 'sagemaker:ListModelPackages', 'sagemaker:ListTrainingJobs', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const scoped = { Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'DeployGuard' } } };
    expect(checkStack({ resource: { aws_iam_role_policy: { r: { policy: policy(scoped) } } } })).toEqual([]);
  });
});

describe('alarm notifications reach people (stacks/policy-check.ts, rule alarm-notification)', () => {
  const { stacks } = synthesizeAll();

  it.each(stacks.map((stack) => [stack.name, stack.json] as const))(
    '%s: every alarm_actions / ok_actions target is a topic whose policy and key let CloudWatch notify for that alarm',
    (_name, json) => {
      const alarms = Object.values((json.resource as Record<string, Record<string, Record<string, unknown>>>).aws_cloudwatch_metric_alarm);
      const notifying = alarms.filter((alarm) => Array.isArray(alarm.alarm_actions) && alarm.alarm_actions.length > 0);
      // The handlers' errors, every dead-letter queue, the endpoint and model fallbacks.
      expect(notifying.length).toBeGreaterThanOrEqual(24);
      expect(checkStack(json).filter((violation) => violation.rule === 'alarm-notification')).toEqual([]);
    },
  );

  const provider = { aws: [{ region: 'us-east-1', allowed_account_ids: ['123456789012'] }] };
  const document = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
  const alarmsPublish = {
    Effect: 'Allow',
    Principal: { Service: 'cloudwatch.amazonaws.com' },
    Action: 'sns:Publish',
    Resource: '${aws_sns_topic.t.arn}',
    Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ops/dg/*' } },
  };
  const keyForTopic = {
    Effect: 'Allow',
    Principal: { Service: 'cloudwatch.amazonaws.com' },
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: '*',
    Condition: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': 'arn:aws:sns:us-east-1:123456789012:dg-notifications' } },
  };
  const stack = (options: { alarmName?: string; topicPolicy?: object[]; keyPolicy?: object[]; action?: string } = {}) => ({
    provider,
    resource: {
      aws_kms_key: { k: { policy: document(...(options.keyPolicy ?? [keyForTopic])) } },
      aws_sns_topic: { t: { name: 'dg-notifications', kms_master_key_id: '${aws_kms_key.k.arn}' } },
      aws_sns_topic_policy: { p: { arn: '${aws_sns_topic.t.arn}', policy: document(...(options.topicPolicy ?? [alarmsPublish])) } },
      aws_cloudwatch_metric_alarm: { a: { alarm_name: options.alarmName ?? 'ops/dg/predict-errors', alarm_actions: [options.action ?? '${aws_sns_topic.t.arn}'], ok_actions: ['${aws_sns_topic.t.arn}'] } },
    },
  });
  const messages = (json: object) => checkStack(json).map((violation) => violation.message);

  it('accepts an alarm whose topic policy and key admit CloudWatch for it', () => {
    expect(messages(stack())).toEqual([]);
  });

  it.each([
    [
      'a topic whose only policy admits EventBridge (the shipped bug, F-06)',
      stack({ topicPolicy: [{ ...alarmsPublish, Principal: { Service: 'events.amazonaws.com' }, Condition: { ArnEquals: { 'aws:SourceArn': '${aws_cloudwatch_event_rule.notify.arn}' } } }] }),
      'aws_cloudwatch_metric_alarm.a: the policy of topic t does not let CloudWatch publish for arn:aws:cloudwatch:us-east-1:123456789012:alarm:ops/dg/predict-errors',
    ],
    [
      "an alarm outside the policy's alarm names (another installation's prefix)",
      stack({ alarmName: 'ops/dg-x/predict-errors' }),
      'aws_cloudwatch_metric_alarm.a: the policy of topic t does not let CloudWatch publish for arn:aws:cloudwatch:us-east-1:123456789012:alarm:ops/dg-x/predict-errors',
    ],
    [
      'a topic policy for another account',
      stack({ topicPolicy: [{ ...alarmsPublish, Condition: { ...alarmsPublish.Condition, StringEquals: { 'aws:SourceAccount': '210987654321' } } }] }),
      'aws_cloudwatch_metric_alarm.a: the policy of topic t does not let CloudWatch publish for arn:aws:cloudwatch:us-east-1:123456789012:alarm:ops/dg/predict-errors',
    ],
    [
      "a topic key that does not admit CloudWatch",
      stack({ keyPolicy: [{ ...keyForTopic, Principal: { Service: 'events.amazonaws.com' } }] }),
      'aws_cloudwatch_metric_alarm.a: the key of topic t does not let CloudWatch encrypt for arn:aws:sns:us-east-1:123456789012:dg-notifications',
    ],
    [
      'an action that is no topic of the stack',
      stack({ action: 'arn:aws:sns:us-east-1:123456789012:elsewhere' }),
      'aws_cloudwatch_metric_alarm.a: action arn:aws:sns:us-east-1:123456789012:elsewhere is not an SNS topic of this stack',
    ],
  ])('catches %s', (_what, json, message) => {
    expect(messages(json)).toEqual([message]);
  });
});

describe('the IAM evaluator over synthesized policies (isAllowed)', () => {
  const statements: Statement[] = [
    { Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/models/*'] },
    { Effect: 'Allow', Action: 's3:Put*', Resource: 'arn:aws:s3:::b/training/output/dg-*' },
    { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::b', Condition: { StringLike: { 's3:prefix': ['rows/*'] } } },
    { Effect: 'Deny', Action: ['s3:PutObject'], Resource: 'arn:aws:s3:::b/training/output/dg-locked/*' },
  ];
  it.each([
    ['an action and resource a statement names', { action: 's3:GetObject', resource: 'arn:aws:s3:::b/models/initial/model.tar.gz' }, true],
    ['a neighbouring prefix', { action: 's3:GetObject', resource: 'arn:aws:s3:::b/modelsx/a' }, false],
    ['another bucket whose name starts the same', { action: 's3:GetObject', resource: 'arn:aws:s3:::bb/models/a' }, false],
    ['an action wildcard, case-insensitively', { action: 's3:putobject', resource: 'arn:aws:s3:::b/training/output/dg-1/output/model.tar.gz' }, true],
    ['a resource wildcard that does not reach another job prefix', { action: 's3:PutObject', resource: 'arn:aws:s3:::b/training/output/other-1/model.tar.gz' }, false],
    ['an explicit Deny over an Allow', { action: 's3:PutObject', resource: 'arn:aws:s3:::b/training/output/dg-locked/x' }, false],
    ['a condition the request meets', { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'rows/date=2026-01-01' } }, true],
    ['a condition the request does not meet', { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', context: { 's3:prefix': 'models/' } }, false],
    ['a condition key the request does not carry', { action: 's3:ListBucket', resource: 'arn:aws:s3:::b' }, false],
  ] as const)('decides %s', (_what, request, allowed) => {
    expect(isAllowed(statements, request)).toBe(allowed);
  });

  it('refuses what it does not model rather than answering', () => {
    expect(() => isAllowed([{ Effect: 'Allow', NotAction: 's3:*', Resource: '*' } as Statement], { action: 's3:GetObject', resource: 'x' })).toThrow('NotAction is not modelled');
    expect(() => isAllowed([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }], { action: 's3:GetObject', resource: 'x', context: { 'aws:SourceIp': '10.0.0.1' } })).toThrow(
      'condition operator IpAddress is not modelled',
    );
  });

  it("finds a role's inline policies by the role's name, and refuses a role with managed policies", () => {
    const stack = {
      resource: {
        aws_iam_role: { r: { name: 'dg-role' } },
        aws_iam_role_policy: { p: { role: '${aws_iam_role.r.id}', policy: JSON.stringify({ Statement: statements[0] }) }, q: { role: 'other', policy: JSON.stringify({ Statement: statements[1] }) } },
      },
    };
    expect(roleStatements(stack, 'dg-role')).toEqual([statements[0]]);
    expect(() => roleStatements({ resource: { ...stack.resource, aws_iam_role_policy_attachment: { a: { role: 'dg-role', policy_arn: 'arn:aws:iam::aws:policy/X' } } } }, 'dg-role')).toThrow('has managed policies attached');
  });
});
