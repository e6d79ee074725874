import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Construct } from 'constructs';
import type { SystemRule, TimedRule } from '../events/patterns';
import { QUALITY_METRICS } from '../handlers/quality-metrics';
import { CLAIM_OUTCOME_DEADLINE_MS, ROLLBACK_METRICS, rollbackMetricsNamespace } from '../handlers/rollback-metrics';
import type { DeadLetterQueue } from './dead-letter-queue';
import { awsPartition } from './image-uris';
import type { NodejsFunction } from './nodejs-function';
import { ownName } from '../events/names';

export interface MonitoringProps {
  readonly namePrefix: string;
  readonly region: string;
  /** The account of the alarms allowed to notify through the topic. */
  readonly accountId: string;
  /** The KMS key (ARN) of the notification topic. */
  readonly kmsKeyArn: string;
  /** Who is told (SNS e-mail subscriptions; each address confirms once). */
  readonly emails: readonly string[];
  /** CloudWatch namespace of the quality metrics (ENV.metricsNamespace of record-outcome). */
  readonly metricsNamespace: string;
  /** The handlers: an alarm on each one's errors, and their invocations on the dashboard. */
  readonly functions: readonly NodejsFunction[];
  /** Every dead-letter queue: an alarm as soon as one holds a message. */
  readonly deadLetterQueues: readonly DeadLetterQueue[];
  /** Deploy Guard's bus name and its rules (from DeployGuardEventBus, and Retraining's schedule), for the rule metrics on the dashboard. */
  readonly busName: string;
  readonly rules: readonly (SystemRule | TimedRule)[];
  /** The model-quality (drift) alarms that start retraining (Retraining.alarmNames' alarms), shown on the dashboard. */
  readonly driftAlarms: readonly CloudwatchMetricAlarm[];
}

/** The notification topic's name; the KMS key policy names it too (CloudWatch may use the key for this topic only). */
export function notificationTopicName(namePrefix: string): string {
  return ownName(namePrefix, 'notifications');
}

/**
 * The ARN pattern of every operational alarm of an installation (`ops/<prefix>/...`): the alarms
 * the topic policy lets CloudWatch publish for. The slash ends the prefix, so another installation's
 * alarms (`ops/<prefix>-x/...`) do not match.
 */
export function operationalAlarmArnPattern(partition: string, region: string, accountId: string, namePrefix: string): string {
  return `arn:${partition}:cloudwatch:${region}:${accountId}:alarm:ops/${namePrefix}/*`;
}

/**
 * What people see and hear: a KMS-encrypted SNS topic with e-mail subscriptions, which the notify
 * handler publishes its readable messages to (its role may, by the topic's name); operational alarms
 * on handler errors, dead-letter queues and the fallbacks (endpoint failures, a model that cannot
 * be loaded), allowed by the topic's policy to notify; and a dashboard of assessments,
 * rollbacks, precision and recall over time (metric math over handlers/quality-metrics.ts), drift
 * (the model-quality alarms, owned by Retraining) and retraining.
 *
 * Naming: operational alarms are `ops/<prefix>/*`, outside the `<prefix>-` names the model-alarm rule
 * (events/patterns.ts) matches, so they never wake the drift handler.
 */
export class Monitoring extends Construct {
  readonly topic: SnsTopic;
  /** The topic's one policy: CloudWatch for this installation's operational alarms (notify publishes by its IAM role). */
  readonly topicPolicy: SnsTopicPolicy;
  readonly operationalAlarms: readonly CloudwatchMetricAlarm[];
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    validate(props);
    const { namePrefix } = props;
    this.topic = new SnsTopic(this, 'topic', { name: notificationTopicName(namePrefix), kmsMasterKeyId: props.kmsKeyArn, displayName: 'Deploy Guard' });
    props.emails.forEach((email, index) => {
      new SnsTopicSubscription(this, `email-${index}`, { topicArn: this.topic.arn, protocol: 'email', endpoint: email });
    });
    this.topicPolicy = new SnsTopicPolicy(this, 'topic-policy', {
      arn: this.topic.arn,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AlarmsNotify',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: this.topic.arn,
            Condition: {
              StringEquals: { 'aws:SourceAccount': props.accountId },
              ArnLike: { 'aws:SourceArn': operationalAlarmArnPattern(awsPartition(props.region), props.region, props.accountId, namePrefix) },
            },
          },
        ],
      }),
    });
    const queues = [...props.deadLetterQueues];
    const actions = { alarmActions: [this.topic.arn], okActions: [this.topic.arn] };

    const operational: CloudwatchMetricAlarm[] = [];
    for (const fn of props.functions) {
      operational.push(
        new CloudwatchMetricAlarm(this, `errors-${fn.handlerName}`, {
          alarmName: `ops/${namePrefix}/${fn.handlerName}-errors`,
          alarmDescription: `The ${fn.handlerName} handler failed (after its own retries the event goes to its dead-letter queue).`,
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensions: { FunctionName: fn.functionName },
          statistic: 'Sum',
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'notBreaching',
          ...actions,
        }),
      );
    }
    for (const queue of queues) {
      operational.push(
        new CloudwatchMetricAlarm(this, `dlq-${queue.queueName}`, {
          alarmName: `ops/${namePrefix}/${queue.queueName}-not-empty`,
          alarmDescription: `Dead-letter queue ${queue.queueName} holds an event that was not delivered or not processed.`,
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensions: { QueueName: queue.queueName },
          statistic: 'Maximum',
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          treatMissingData: 'notBreaching',
          ...actions,
        }),
      );
    }
    // predict's assessments decided by the failure policy, by cause: a failing endpoint now and then,
    // an unloadable model (every assessment until it is fixed) at once.
    const fallbackAlarm = (id: string, metricName: string, description: string, periodSeconds: number, threshold: number) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `ops/${namePrefix}/${id}`,
        alarmDescription: description,
        namespace: props.metricsNamespace,
        metricName,
        statistic: 'Sum',
        period: periodSeconds,
        evaluationPeriods: 1,
        threshold,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        ...actions,
      });
    operational.push(
      fallbackAlarm('endpoint-fallbacks', QUALITY_METRICS.endpointFallbacks, 'predict decided by failure policy because the model endpoint failed or timed out.', 900, 3),
      fallbackAlarm(
        'model-fallbacks',
        QUALITY_METRICS.modelFallbacks,
        'predict decided by failure policy because the serving model could not be loaded (or none is serving): every assessment does until it is fixed.',
        300,
        1,
      ),
    );
    operational.push(...rollbackAlarms(this, namePrefix, props.metricsNamespace, actions));
    this.operationalAlarms = operational;

    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: namePrefix,
      dashboardBody: JSON.stringify(dashboardBody(props, queues)),
    });
  }
}

/**
 * The rollback handler's alarms: a claim that has waited CLAIM_OUTCOME_DEADLINE_MS without an outcome
 * (ClaimsDue − ClaimsSettled, both dated at the claim's deadline, handlers/rollback-metrics.ts: the
 * minute of the deadline holds 1 until the outcome is recorded, whether or not the event is ever
 * delivered again; the DLQ alarm covers an event whose deliveries all failed before the claim), and any valid event the handler refused (another account, a shadow or unguarded
 * group, a decision predict did not take: someone is putting events on the bus who should not).
 */
function rollbackAlarms(scope: Construct, namePrefix: string, metricsNamespace: string, actions: { alarmActions: string[]; okActions: string[] }): CloudwatchMetricAlarm[] {
  const namespace = rollbackMetricsNamespace(metricsNamespace);
  const minutes = CLAIM_OUTCOME_DEADLINE_MS / 60_000;
  const perMinute = (id: string, metricName: string) => ({ id, returnData: false, metric: { namespace, metricName, period: 60, stat: 'Sum' } });
  return [
    new CloudwatchMetricAlarm(scope, 'rollback-claims-without-outcome', {
      alarmName: `ops/${namePrefix}/rollback-claims-without-outcome`,
      alarmDescription: `A rollback claim has waited ${minutes} minutes without an outcome: the deployment may be neither stopped nor let through. Read the rollback ledger (control table, key rollback#<deploymentId>) and the rollback function's logs.`,
      metricQuery: [
        perMinute('due', ROLLBACK_METRICS.claimsDue),
        perMinute('settled', ROLLBACK_METRICS.claimsSettled),
        { id: 'waiting', expression: 'FILL(due, 0) - FILL(settled, 0)', label: `rollback claims without an outcome after ${minutes} minutes`, returnData: true },
      ],
      // One breaching minute in the last hour: it stays in ALARM until the outcome is recorded (which
      // zeroes that minute) or for an hour, rather than flapping back to OK the next minute.
      evaluationPeriods: 60,
      datapointsToAlarm: 1,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      ...actions,
    }),
    new CloudwatchMetricAlarm(scope, 'rollback-requests-refused', {
      alarmName: `ops/${namePrefix}/rollback-requests-refused`,
      alarmDescription: 'The rollback handler refused a valid event that predict did not decide (another account, a shadow or unguarded group, no such decision): see its logs for the reason.',
      namespace,
      metricName: ROLLBACK_METRICS.refused,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
      ...actions,
    }),
  ];
}

function validate(props: MonitoringProps): void {
  if (!/^\d{12}$/.test(props.accountId)) throw new Error(`Monitoring accountId must be 12 digits, got '${props.accountId}'`);
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(props.namePrefix)) {
    throw new Error(`Monitoring namePrefix '${props.namePrefix}' must be 1 to 30 lowercase letters, digits or hyphens, starting with a letter`);
  }
  for (const email of props.emails) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new Error(`Monitoring emails: '${email}' is not an e-mail address`);
  }
}

type MetricSpec = (string | number | Record<string, unknown>)[];

/** One line per guarded group of a decision metric (CloudWatch SEARCH over its Application/DeploymentGroup dimensions). */
function perGroup(namespace: string, metricName: string, id: string): MetricSpec {
  return [{ expression: `SEARCH('{${namespace},Application,DeploymentGroup} MetricName="${metricName}"', 'Sum', 86400)`, id, label: metricName }];
}

function dashboardBody(props: MonitoringProps, queues: readonly DeadLetterQueue[]): unknown {
  const { region, metricsNamespace: ns } = props;
  const ruleMetric = (ruleName: string): MetricSpec => {
    const rule = props.rules.find((candidate) => candidate.name === ruleName);
    const physical = ownName(props.namePrefix, ruleName);
    return rule?.bus === 'deploy-guard'
      ? ['AWS/Events', 'TriggeredRules', 'EventBusName', props.busName, 'RuleName', physical, { label: ruleName }]
      : ['AWS/Events', 'TriggeredRules', 'RuleName', physical, { label: ruleName }];
  };
  const invocations = (handler: string): MetricSpec[] =>
    props.functions.filter((fn) => fn.handlerName === handler).map((fn) => ['AWS/Lambda', 'Invocations', 'FunctionName', fn.functionName, { label: `${handler} invocations` }]);
  const widget = (x: number, y: number, title: string, metrics: MetricSpec[], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: 'timeSeries', stat: 'Sum', period: 3600, metrics, ...extra },
  });
  const hidden = (metricName: string, id: string): MetricSpec => [ns, metricName, { id, visible: false, stat: 'Sum', period: 86400 }];
  return {
    widgets: [
      widget(0, 0, 'Risk assessments', [ruleMetric('deployment-started'), ruleMetric('pipeline-deploy-action-started'), ...invocations('predict')]),
      widget(12, 0, 'Rollbacks', [ruleMetric('rollback-requested'), ruleMetric('gate-proceed'), ...invocations('rollback'), [ns, QUALITY_METRICS.counterfactuals, { label: 'stopped (counterfactual)' }]]),
      widget(
        0,
        6,
        'Precision and recall (daily)',
        [
          hidden(QUALITY_METRICS.truePositives, 'tp'),
          hidden(QUALITY_METRICS.falsePositives, 'fp'),
          hidden(QUALITY_METRICS.falseNegatives, 'fn'),
          [{ expression: 'IF((tp + fp) > 0, tp / (tp + fp))', label: 'precision', id: 'precision' }],
          [{ expression: 'IF((tp + fn) > 0, tp / (tp + fn))', label: 'recall', id: 'recall' }],
        ],
        { period: 86400, yAxis: { left: { min: 0, max: 1 } } },
      ),
      widget(
        12,
        6,
        'Brier score and labelled outcomes (daily)',
        [
          hidden(QUALITY_METRICS.brierContribution, 'brier'),
          [ns, QUALITY_METRICS.labelled, { id: 'labelled', stat: 'Sum', period: 86400, yAxis: 'right', label: 'labelled outcomes' }],
          [{ expression: 'IF(labelled > 0, brier / labelled)', label: 'Brier score', id: 'score' }],
        ],
        { period: 86400 },
      ),
      {
        type: 'alarm',
        x: 0,
        y: 12,
        width: 12,
        height: 6,
        properties: { title: 'Drift (model-quality alarms)', alarms: props.driftAlarms.map((alarm) => alarm.arn) },
      },
      widget(12, 12, 'Retraining', [
        ruleMetric('model-alarm'),
        ...props.rules.filter((rule) => 'scheduleExpression' in rule).map((rule) => ruleMetric(rule.name)),
        ruleMetric('training-job-finished'),
        ...invocations('drift'),
        ...invocations('promote'),
      ]),
      widget(
        0,
        24,
        'Block budget: realized block rate and the cut (daily)',
        [
          hidden(QUALITY_METRICS.stops, 'stops'),
          hidden(QUALITY_METRICS.assessments, 'assessments'),
          [{ expression: 'IF(assessments > 0, stops / assessments)', label: 'realized block rate (stops / assessments)', id: 'blocked' }],
          [ns, QUALITY_METRICS.decisionCut, { stat: 'Average', period: 86400, label: 'cut (average)', yAxis: 'right' }],
        ],
        { period: 86400, yAxis: { left: { min: 0, max: 1 }, right: { min: 0, max: 1 } } },
      ),
      widget(
        12,
        24,
        'Stops: estimated precision and recall (exploration, inverse-propensity weighted, weekly)',
        [
          [ns, QUALITY_METRICS.estimatedStopsFailed, { id: 'esf', visible: false, stat: 'Sum', period: 604800 }],
          [ns, QUALITY_METRICS.estimatedStopsSucceeded, { id: 'ess', visible: false, stat: 'Sum', period: 604800 }],
          [ns, QUALITY_METRICS.estimatedMissedFailures, { id: 'emf', visible: false, stat: 'Sum', period: 604800 }],
          [{ expression: 'IF((esf + ess) > 0, esf / (esf + ess))', label: 'estimated precision of stops', id: 'estimatedPrecision' }],
          [{ expression: 'IF((esf + emf) > 0, esf / (esf + emf))', label: 'estimated recall of stops', id: 'estimatedRecall' }],
          [ns, QUALITY_METRICS.exploredOutcomes, { stat: 'Sum', period: 604800, label: 'explored outcomes', yAxis: 'right' }],
        ],
        { period: 604800, yAxis: { left: { min: 0, max: 1 } } },
      ),
      widget(
        0,
        18,
        'Handler errors',
        props.functions.map((fn) => ['AWS/Lambda', 'Errors', 'FunctionName', fn.functionName, { label: fn.handlerName }]),
      ),
      widget(
        12,
        18,
        'Dead-letter queues',
        queues.map((queue) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queue.queueName]),
        { stat: 'Maximum', period: 300 },
      ),
      widget(
        0,
        30,
        'Per group: stops (of them at the pipeline gate) and assessments (daily)',
        [perGroup(ns, QUALITY_METRICS.stops, 'stops'), perGroup(ns, QUALITY_METRICS.gateStops, 'gateStops'), perGroup(ns, QUALITY_METRICS.assessments, 'assessments')],
        { period: 86400 },
      ),
      widget(
        12,
        30,
        "Per group: fallbacks, operators' overrides and deployments scored without their change summary (daily)",
        [
          perGroup(ns, QUALITY_METRICS.endpointFallbacks, 'endpointFallbacks'),
          perGroup(ns, QUALITY_METRICS.modelFallbacks, 'modelFallbacks'),
          perGroup(ns, QUALITY_METRICS.operatorOverrides, 'overrides'),
          perGroup(ns, QUALITY_METRICS.withoutChangeSummary, 'withoutSummary'),
        ],
        { period: 86400 },
      ),
    ],
  };
}
