import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { Construct } from 'constructs';
import { bakeSweepRule, type TimedRule } from '../events/patterns';
import { ownName } from '../events/names';
import { groupMetricAlarmName, type GuardedGroupConfig } from './config';

/**
 * The alarms the stack creates for the guarded groups, each from one metric and a threshold
 * (`groups[].alarms.metrics`), named by groupMetricAlarmName so that the handlers' configuration and
 * the CodeDeploy groups name the same alarms. They have no actions: CodeDeploy (alarm-based automatic
 * rollback on the groups the stack creates) and the bake handler watch their state.
 */
export interface GroupAlarmsProps {
  readonly namePrefix: string;
  readonly groups: readonly Pick<GuardedGroupConfig, 'application' | 'deploymentGroup' | 'alarms'>[];
}

export class GroupAlarms extends Construct {
  /** The created alarms, in the groups' order. */
  readonly alarms: readonly CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: GroupAlarmsProps) {
    super(scope, id);
    const alarms: CloudwatchMetricAlarm[] = [];
    props.groups.forEach((group, groupIndex) => {
      (group.alarms?.metrics ?? []).forEach((metric, index) => {
        alarms.push(
          new CloudwatchMetricAlarm(this, `alarm-${groupIndex}-${index}`, {
            alarmName: groupMetricAlarmName(props.namePrefix, group, index),
            alarmDescription: `Watches the deployments of ${group.application}/${group.deploymentGroup}: in ALARM, CodeDeploy and Deploy Guard's bake roll back`,
            namespace: metric.namespace,
            metricName: metric.metricName,
            ...(Object.keys(metric.dimensions).length > 0 ? { dimensions: { ...metric.dimensions } } : {}),
            statistic: metric.statistic,
            period: metric.periodSeconds,
            evaluationPeriods: metric.evaluationPeriods,
            threshold: metric.threshold,
            comparisonOperator: metric.comparison,
            treatMissingData: 'notBreaching',
          }),
        );
      });
    });
    this.alarms = alarms;
  }
}

/** A timed rule (events/patterns.ts) on the default bus, where EventBridge runs schedules: `<namePrefix>-<name>`. */
export function timedRuleOnDefaultBus<Definition extends TimedRule>(scope: Construct, namePrefix: string, definition: Definition): { readonly rule: CloudwatchEventRule; readonly definition: Definition } {
  const rule = new CloudwatchEventRule(scope, `rule-${definition.name}`, {
    name: ownName(namePrefix, definition.name),
    description: definition.description,
    eventBusName: 'default',
    scheduleExpression: definition.scheduleExpression,
  });
  return { rule, definition };
}

/** The bake sweep's schedule rule (events/patterns.ts bakeSweepRule). */
export function bakeSweepSchedule(scope: Construct, namePrefix: string): { readonly rule: CloudwatchEventRule; readonly definition: TimedRule } {
  return timedRuleOnDefaultBus(scope, namePrefix, bakeSweepRule());
}
