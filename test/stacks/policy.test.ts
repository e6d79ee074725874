import { checkStack, isAllowed, RESOURCE_STAR_ACTIONS, roleStatements, type Statement } from '../../stacks/policy-check';
import { synthesizeAll } from './synth-support';

describe('the installation policy (stacks/policy-check.ts)', () => {
  const { stacks } = synthesizeAll();

  it.each(stacks.map((stack) => [stack.name, stack.json] as const))('%s violates nothing', (_name, json) => {
    expect(checkStack(json)).toEqual([]);
  });

  it('checks something in every stack: functions, targets, buckets, tables and policies are there', () => {
    for (const { json } of stacks) {
      const resource = json.resource as Record<string, Record<string, unknown>>;
      expect(Object.keys(resource.aws_lambda_function)).toHaveLength(7);
      // The 9 rules of events/patterns.ts and the retraining schedule.
      expect(Object.keys(resource.aws_cloudwatch_event_target)).toHaveLength(10);
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
  ])('catches %s', (_what, resource, message) => {
    expect(checkStack({ resource }).map((violation) => violation.message)).toEqual([message]);
  });

  it('allows Resource "*" only for actions AWS does not scope, each with a reason', () => {
    expect(Object.keys(RESOURCE_STAR_ACTIONS).sort()).toEqual(['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken', 'sagemaker:ListTrainingJobs', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const scoped = { Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'DeployGuard' } } };
    expect(checkStack({ resource: { aws_iam_role_policy: { r: { policy: policy(scoped) } } } })).toEqual([]);
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
