/**
 * The installation's policy, checked over a synthesized stack (its cdk.tf.json as an object). Pure:
 * no AWS, no Terraform. test/stacks/policy.test.ts runs it over every stack and over hand-made bad
 * stacks, one per rule, to prove that each rule catches what it names.
 */

import { awsPartition } from './image-uris';

/**
 * Actions AWS authorizes only on Resource "*" (they have no resource type), each with why it is
 * needed. Nothing else may be granted on "*".
 */
export const RESOURCE_STAR_ACTIONS: Readonly<Record<string, string>> = {
  // CloudWatch metrics have no ARN; scope with a cloudwatch:namespace condition (required below).
  'cloudwatch:PutMetricData': 'training containers publish their metrics',
  // An account-wide token for `docker login` to ECR; the repositories are scoped separately.
  'ecr:GetAuthorizationToken': 'SageMaker pulls the built-in XGBoost image',
  // Listing has no resource type; drift checks whether a training job is already running.
  'sagemaker:ListTrainingJobs': 'drift finds running training jobs',
  // Listing has no resource type; promote lists its own group only.
  'sagemaker:ListModelPackages': 'promote finds the package it registered for a job (a redelivery after a crash)',
  // Job results have no resource type (IAM accepts only "*"); the pipeline gate answers the jobs CodePipeline invokes it with.
  'codepipeline:PutJobSuccessResult': 'the pipeline gate passes a release, or holds it (continuation token)',
  'codepipeline:PutJobFailureResult': 'the pipeline gate fails a risky release before its deployment exists',
  // X-Ray segments have no resource type.
  'xray:PutTraceSegments': 'tracing',
  'xray:PutTelemetryRecords': 'tracing',
};

/** Actions that must carry a condition when granted on "*". */
const CONDITION_REQUIRED: Readonly<Record<string, string>> = { 'cloudwatch:PutMetricData': 'cloudwatch:namespace' };

export interface Violation {
  /** `<terraform type>.<logical name>` */
  readonly resource: string;
  readonly rule:
    | 'iam-wildcard'
    | 'bucket-encryption'
    | 'bucket-public-access'
    | 'bucket-tls'
    | 'target-retry'
    | 'target-dlq'
    | 'function-logs'
    | 'function-on-failure'
    | 'table-pitr'
    | 'alarm-notification'
    | 'trust-source-account'
    | 'trust-source-arn';
  readonly message: string;
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

export interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const POLICY_ATTRIBUTES: Readonly<Record<string, string>> = {
  aws_iam_role_policy: 'policy',
  aws_iam_policy: 'policy',
  aws_sqs_queue_policy: 'policy',
  aws_sns_topic_policy: 'policy',
  aws_s3_bucket_policy: 'policy',
  aws_kms_key: 'policy',
};

/** Every violation in a synthesized stack. */
export function checkStack(stack: { readonly resource?: unknown; readonly provider?: unknown }): Violation[] {
  const resources = (stack.resource ?? {}) as Resources;
  return [
    ...checkIam(resources),
    ...checkBuckets(resources),
    ...checkTargets(resources),
    ...checkFunctions(resources),
    ...checkTables(resources),
    ...checkAlarmNotifications(resources, providerOf(stack)),
    ...checkTrust(resources),
  ];
}

function entries(resources: Resources, type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources[type] ?? {});
}

function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A reference to a resource, as cdktf writes it: `${aws_x.name.attr}`. */
function refersTo(value: unknown, type: string, name: string): boolean {
  return typeof value === 'string' && value.includes(`\${${type}.${name}.`);
}

function checkIam(resources: Resources): Violation[] {
  const violations: Violation[] = [];
  for (const [type, attribute] of Object.entries(POLICY_ATTRIBUTES)) {
    for (const [name, config] of entries(resources, type)) {
      const id = `${type}.${name}`;
      const text = config[attribute];
      if (typeof text !== 'string') continue;
      let document: { Statement?: Statement | Statement[] };
      try {
        document = JSON.parse(text);
      } catch {
        violations.push({ resource: id, rule: 'iam-wildcard', message: `${id}: ${attribute} is not a JSON policy document` });
        continue;
      }
      list(document.Statement).forEach((statement, index) => {
        if (statement.Effect !== 'Allow') return;
        const where = `${id} statement ${index}`;
        const actions = list(statement.Action);
        const keyPolicy = type === 'aws_kms_key';
        for (const action of actions) {
          // The default key policy: the account administers its own key through IAM.
          const rootAdministers = keyPolicy && action === 'kms:*' && /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(String((statement.Principal as { AWS?: unknown })?.AWS));
          if (action.includes('*') && !rootAdministers) {
            violations.push({ resource: id, rule: 'iam-wildcard', message: `${where}: action '${action}' is a wildcard` });
          }
        }
        // In a key policy, Resource "*" means the key itself.
        if (keyPolicy) return;
        if (list(statement.Resource).includes('*')) {
          for (const action of actions) {
            if (!(action in RESOURCE_STAR_ACTIONS)) {
              violations.push({ resource: id, rule: 'iam-wildcard', message: `${where}: action '${action}' on resource '*' is not on the allow-list` });
            } else if (CONDITION_REQUIRED[action] && !JSON.stringify(statement.Condition ?? {}).includes(CONDITION_REQUIRED[action])) {
              violations.push({ resource: id, rule: 'iam-wildcard', message: `${where}: action '${action}' on resource '*' needs a ${CONDITION_REQUIRED[action]} condition` });
            }
          }
        }
      });
    }
  }
  return violations;
}

function checkBuckets(resources: Resources): Violation[] {
  const violations: Violation[] = [];
  for (const [name] of entries(resources, 'aws_s3_bucket')) {
    const id = `aws_s3_bucket.${name}`;
    const of = (type: string) => entries(resources, type).filter(([, config]) => refersTo(config.bucket, 'aws_s3_bucket', name));
    const encryption = of('aws_s3_bucket_server_side_encryption_configuration').some(([, config]) =>
      list(config.rule as Record<string, unknown>[]).some((rule) =>
        list(rule.apply_server_side_encryption_by_default as Record<string, unknown>[]).some((by) => by.sse_algorithm === 'aws:kms' || by.sse_algorithm === 'aws:kms:dsse'),
      ),
    );
    if (!encryption) violations.push({ resource: id, rule: 'bucket-encryption', message: `${id}: no SSE-KMS default encryption` });
    const blocked = of('aws_s3_bucket_public_access_block').some(
      ([, config]) => config.block_public_acls === true && config.block_public_policy === true && config.ignore_public_acls === true && config.restrict_public_buckets === true,
    );
    if (!blocked) violations.push({ resource: id, rule: 'bucket-public-access', message: `${id}: no public access block with all four settings on` });
    const tlsOnly = of('aws_s3_bucket_policy').some(([, config]) => {
      try {
        return list((JSON.parse(String(config.policy)) as { Statement?: Statement | Statement[] }).Statement).some(
          (statement) => statement.Effect === 'Deny' && String(statement.Condition?.Bool?.['aws:SecureTransport']) === 'false',
        );
      } catch {
        return false;
      }
    });
    if (!tlsOnly) violations.push({ resource: id, rule: 'bucket-tls', message: `${id}: no bucket policy denying requests without TLS (aws:SecureTransport false)` });
  }
  return violations;
}

function checkTargets(resources: Resources): Violation[] {
  const violations: Violation[] = [];
  for (const [name, config] of entries(resources, 'aws_cloudwatch_event_target')) {
    const id = `aws_cloudwatch_event_target.${name}`;
    const retry = list(config.retry_policy as Record<string, unknown> | Record<string, unknown>[])[0];
    if (!retry || retry.maximum_retry_attempts === undefined || retry.maximum_event_age_in_seconds === undefined) {
      violations.push({ resource: id, rule: 'target-retry', message: `${id}: no retry policy (maximum_retry_attempts and maximum_event_age_in_seconds)` });
    }
    const dlq = list(config.dead_letter_config as Record<string, unknown> | Record<string, unknown>[])[0];
    if (!dlq || typeof dlq.arn !== 'string') violations.push({ resource: id, rule: 'target-dlq', message: `${id}: no dead-letter queue` });
  }
  return violations;
}

function checkFunctions(resources: Resources): Violation[] {
  const violations: Violation[] = [];
  for (const [name, config] of entries(resources, 'aws_lambda_function')) {
    const id = `aws_lambda_function.${name}`;
    const logGroup = list(config.logging_config as Record<string, unknown> | Record<string, unknown>[])[0]?.log_group;
    const hasLogs = entries(resources, 'aws_cloudwatch_log_group').some(
      ([groupName, group]) =>
        (refersTo(logGroup, 'aws_cloudwatch_log_group', groupName) || group.name === `/aws/lambda/${String(config.function_name)}`) &&
        typeof group.retention_in_days === 'number' &&
        group.retention_in_days > 0,
    );
    if (!hasLogs) violations.push({ resource: id, rule: 'function-logs', message: `${id}: no log group of its own with a retention period` });
    const onFailure = entries(resources, 'aws_lambda_function_event_invoke_config').some(
      ([, invoke]) =>
        refersTo(invoke.function_name, 'aws_lambda_function', name) &&
        list(invoke.destination_config as Record<string, unknown> | Record<string, unknown>[]).some((destination) =>
          list(destination.on_failure as Record<string, unknown> | Record<string, unknown>[]).some((failure) => typeof failure.destination === 'string'),
        ),
    );
    if (!onFailure) violations.push({ resource: id, rule: 'function-on-failure', message: `${id}: no on-failure destination` });
  }
  return violations;
}

function checkTables(resources: Resources): Violation[] {
  return entries(resources, 'aws_dynamodb_table')
    .filter(([, config]) => list(config.point_in_time_recovery as Record<string, unknown> | Record<string, unknown>[])[0]?.enabled !== true)
    .map(([name]) => ({ resource: `aws_dynamodb_table.${name}`, rule: 'table-pitr' as const, message: `aws_dynamodb_table.${name}: point-in-time recovery is off` }));
}

/** Where the stack deploys (its aws provider: region and the one allowed account), or undefined. */
function providerOf(stack: { readonly provider?: unknown }): { readonly region: string; readonly accountId: string } | undefined {
  const aws = list((stack.provider as { aws?: Record<string, unknown> | Record<string, unknown>[] } | undefined)?.aws)[0];
  const accounts = list(aws?.allowed_account_ids as string | string[] | undefined);
  return typeof aws?.region === 'string' && accounts.length === 1 ? { region: aws.region, accountId: accounts[0] } : undefined;
}

/** Whether a statement's conditions hold for a request with these context values (keys not given fail). */
function conditionsHold(statement: Statement, context: Readonly<Record<string, string>>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      if (actual === undefined) return false;
      const values = list(expected as string | string[]).map(String);
      if (operator === 'StringEquals' || operator === 'ArnEquals') return values.includes(actual);
      if (operator === 'StringLike' || operator === 'ArnLike') return values.some((pattern) => wildcard(pattern, false).test(actual));
      return false;
    }),
  );
}

/** Whether some Allow statement of a policy document lets a service do all these actions, given the request's context. */
function serviceAllowed(text: unknown, service: string, actions: readonly string[], context: Readonly<Record<string, string>>): boolean {
  let document: { Statement?: Statement | Statement[] };
  try {
    document = JSON.parse(String(text));
  } catch {
    return false;
  }
  return list(document.Statement).some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list((statement.Principal as { Service?: string | string[] } | undefined)?.Service).includes(service) &&
      actions.every((action) => list(statement.Action).includes(action)) &&
      conditionsHold(statement, context),
  );
}

/**
 * Every alarm action and OK action of every alarm reaches people: its target is a topic of this
 * stack whose policy lets CloudWatch publish for that alarm (its ARN and account), and, when the
 * topic is encrypted with a key of this stack, whose key lets CloudWatch encrypt for that topic.
 */
function checkAlarmNotifications(resources: Resources, where: { readonly region: string; readonly accountId: string } | undefined): Violation[] {
  const violations: Violation[] = [];
  for (const [name, config] of entries(resources, 'aws_cloudwatch_metric_alarm')) {
    const id = `aws_cloudwatch_metric_alarm.${name}`;
    const targets = [...list(config.alarm_actions as string[] | undefined), ...list(config.ok_actions as string[] | undefined)];
    if (targets.length === 0) continue;
    if (!where) {
      violations.push({ resource: id, rule: 'alarm-notification', message: `${id}: the stack's aws provider names no region and single allowed account, so the alarm's ARN is unknown` });
      continue;
    }
    const partition = awsPartition(where.region);
    const alarmArn = `arn:${partition}:cloudwatch:${where.region}:${where.accountId}:alarm:${String(config.alarm_name)}`;
    for (const target of new Set(targets)) {
      const topic = entries(resources, 'aws_sns_topic').find(([topicName]) => target === `\${aws_sns_topic.${topicName}.arn}`);
      if (!topic) {
        violations.push({ resource: id, rule: 'alarm-notification', message: `${id}: action ${target} is not an SNS topic of this stack` });
        continue;
      }
      const [topicName, topicConfig] = topic;
      const context = { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': where.accountId };
      const published = entries(resources, 'aws_sns_topic_policy').some(
        ([, policy]) => refersTo(policy.arn, 'aws_sns_topic', topicName) && serviceAllowed(policy.policy, 'cloudwatch.amazonaws.com', ['sns:Publish'], context),
      );
      if (!published) {
        violations.push({ resource: id, rule: 'alarm-notification', message: `${id}: the policy of topic ${topicName} does not let CloudWatch publish for ${alarmArn}` });
        continue;
      }
      const key = entries(resources, 'aws_kms_key').find(([keyName]) => refersTo(topicConfig.kms_master_key_id, 'aws_kms_key', keyName));
      const topicArn = `arn:${partition}:sns:${where.region}:${where.accountId}:${String(topicConfig.name)}`;
      const keyContext = { ...context, 'kms:EncryptionContext:aws:sns:topicArn': topicArn };
      if (key && !serviceAllowed(key[1].policy, 'cloudwatch.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey'], keyContext)) {
        violations.push({ resource: id, rule: 'alarm-notification', message: `${id}: the key of topic ${topicName} does not let CloudWatch encrypt for ${topicArn}` });
      }
    }
  }
  return violations;
}

/** EC2 names no source account when an instance assumes its profile's role: nothing to require there. */
const TRUST_WITHOUT_SOURCE: ReadonlySet<string> = new Set(['ec2.amazonaws.com']);

/** Services that document the resource they assume a role for: they assume it for that resource only (aws:SourceArn). */
const TRUST_WITH_SOURCE_ARN: ReadonlySet<string> = new Set(['codedeploy.amazonaws.com']);

/**
 * Every role a service may assume is assumed on behalf of this stack's account only (aws:SourceAccount),
 * and, for a service that names the resource it acts for, for that resource only (aws:SourceArn): the
 * confused-deputy guard.
 */
function checkTrust(resources: Resources): Violation[] {
  return entries(resources, 'aws_iam_role').flatMap(([name, config]) => {
    const id = `aws_iam_role.${name}`;
    try {
      const document = JSON.parse(String(config.assume_role_policy)) as { Statement?: Statement | Statement[] };
      return list(document.Statement).flatMap((statement) => trustViolations(id, statement));
    } catch {
      return [{ resource: id, rule: 'trust-source-account' as const, message: `${id}: assume_role_policy is not a JSON policy document` }];
    }
  });
}

function trustViolations(id: string, statement: Statement): Violation[] {
  if (statement.Effect !== 'Allow') return [];
  const services = list((statement.Principal as { Service?: string | string[] } | undefined)?.Service);
  const account = statement.Condition?.StringEquals?.['aws:SourceAccount'];
  const sourceArn = statement.Condition?.ArnLike?.['aws:SourceArn'] ?? statement.Condition?.ArnEquals?.['aws:SourceArn'];
  const withoutAccount = services.filter((service) => !TRUST_WITHOUT_SOURCE.has(service) && (typeof account !== 'string' || !/^\d{12}$/.test(account)));
  const withoutArn = services.filter((service) => TRUST_WITH_SOURCE_ARN.has(service) && typeof sourceArn !== 'string');
  return [
    ...(withoutAccount.length > 0 ? [{ resource: id, rule: 'trust-source-account' as const, message: `${id}: ${withoutAccount.join(', ')} may assume it without an aws:SourceAccount condition` }] : []),
    ...(withoutArn.length > 0 ? [{ resource: id, rule: 'trust-source-arn' as const, message: `${id}: ${withoutArn.join(', ')} may assume it for any of its resources (no aws:SourceArn condition)` }] : []),
  ];
}

/**
 * One request to AWS, as IAM evaluates it: an action on a resource ARN, with the condition keys the
 * request carries (e.g. `s3:prefix` of a ListBucket).
 */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

/**
 * The statements of a role's inline policies in a synthesized stack (aws_iam_role_policy naming the
 * role by reference or by name), found by the role's physical name. A role with managed policies
 * attached is refused: their documents are not in the stack, so nothing could be proved about it.
 */
export function roleStatements(stack: { readonly resource?: unknown }, roleName: string): Statement[] {
  const resources = (stack.resource ?? {}) as Resources;
  const roles = entries(resources, 'aws_iam_role').filter(([, config]) => config.name === roleName);
  if (roles.length !== 1) throw new Error(`roleStatements: expected one aws_iam_role named '${roleName}', found ${roles.length}`);
  const [logicalId] = roles[0];
  const isRole = (value: unknown) => value === roleName || refersTo(value, 'aws_iam_role', logicalId);
  const attached = entries(resources, 'aws_iam_role_policy_attachment').filter(([, config]) => isRole(config.role));
  if (attached.length > 0) throw new Error(`roleStatements: role '${roleName}' has managed policies attached (${attached.map(([name]) => name).join(', ')}), which the stack does not hold`);
  return entries(resources, 'aws_iam_role_policy')
    .filter(([, config]) => isRole(config.role))
    .flatMap(([, config]) => list((JSON.parse(String(config.policy)) as { Statement?: Statement | Statement[] }).Statement));
}

/**
 * Whether the statements allow the request, as IAM evaluates an identity policy: an explicit Deny
 * wins, otherwise some Allow must match action, resource and every condition. Action and resource
 * patterns use IAM's wildcards (`*`, `?`); a condition key the request does not carry does not match.
 * Anything this evaluator does not model (NotAction, NotResource, an unknown condition operator) is
 * an error, never a silent answer.
 */
export function isAllowed(statements: readonly Statement[], request: AccessRequest): boolean {
  const matching = statements.filter((statement) => matches(statement, request));
  return matching.some((statement) => statement.Effect === 'Allow') && !matching.some((statement) => statement.Effect === 'Deny');
}

function matches(statement: Statement, request: AccessRequest): boolean {
  const unmodelled = ['NotAction', 'NotResource', 'NotPrincipal'].filter((key) => key in statement);
  if (unmodelled.length > 0) throw new Error(`isAllowed: ${unmodelled.join(', ')} is not modelled`);
  return (
    list(statement.Action).some((pattern) => wildcard(pattern, true).test(request.action)) &&
    list(statement.Resource).some((pattern) => wildcard(pattern, false).test(request.resource)) &&
    Object.entries(statement.Condition ?? {}).every(([operator, keys]) => Object.entries(keys).every(([key, expected]) => conditionHolds(operator, request.context?.[key], expected)))
  );
}

function conditionHolds(operator: string, actual: string | undefined, expected: unknown): boolean {
  const values = list(expected as string | string[]).map(String);
  // IAM's set operator holds for a request without the key at all (an empty set): hence only with actions that always carry it.
  if (operator === 'ForAllValues:StringLike') return actual === undefined || values.some((pattern) => wildcard(pattern, false).test(actual));
  if (actual === undefined) return false;
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
    case 'Bool':
      return values.includes(actual);
    case 'StringLike':
    case 'ArnLike':
      return values.some((pattern) => wildcard(pattern, false).test(actual));
    default:
      throw new Error(`isAllowed: condition operator ${operator} is not modelled`);
  }
}

/** An IAM pattern as a regular expression: `*` any run of characters, `?` one; actions compare case-insensitively. */
function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}
