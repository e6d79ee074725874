import { CloudwatchEventArchive } from '@cdktf/provider-aws/lib/cloudwatch-event-archive';
import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { Construct } from 'constructs';
import { systemRules, type SystemRule } from '../events/patterns';
import { ownName } from '../events/names';

export interface DeployGuardEventBusProps {
  /** Prefix of every physical name, e.g. `deploy-guard-dev`; lets a stack be instantiated twice. */
  readonly namePrefix: string;
  /** The installation's event source. @default 'deploy-guard' */
  readonly source?: string;
  /** Days the archive keeps events for replay; 0 keeps them indefinitely. @default 90 */
  readonly archiveRetentionDays?: number;
  /** The alarms the guarded groups' bakes watch: with any, the bake rules are created. @default none */
  readonly bakeAlarmNames?: readonly string[];
}

/**
 * Deploy Guard's own event bus, its archive (for replay), and every rule of the system from
 * events/patterns.ts — on this bus or on the default bus for AWS service events. Patterns are
 * imported, never written here.
 */
export class DeployGuardEventBus extends Construct {
  readonly bus: CloudwatchEventBus;
  readonly archive: CloudwatchEventArchive;
  /** The rules, keyed by their logical name in events/patterns.ts. */
  readonly rules: Readonly<Record<string, CloudwatchEventRule>>;
  readonly ruleDefinitions: readonly SystemRule[];

  constructor(scope: Construct, id: string, props: DeployGuardEventBusProps) {
    super(scope, id);
    if (!/^[a-z0-9-]{1,40}$/.test(props.namePrefix)) {
      throw new Error(`DeployGuardEventBus namePrefix '${props.namePrefix}' must be 1 to 40 lowercase letters, digits or hyphens`);
    }
    const retention = props.archiveRetentionDays ?? 90;
    if (!Number.isInteger(retention) || retention < 0) {
      throw new Error(`DeployGuardEventBus archiveRetentionDays must be a non-negative integer, got ${retention}`);
    }
    this.bus = new CloudwatchEventBus(this, 'bus', { name: props.namePrefix });
    this.archive = new CloudwatchEventArchive(this, 'archive', {
      name: ownName(props.namePrefix, 'archive'),
      eventSourceArn: this.bus.arn,
      retentionDays: retention,
      description: 'Every Deploy Guard event, for replay',
    });
    this.ruleDefinitions = systemRules({ source: props.source, namePrefix: props.namePrefix, ...(props.bakeAlarmNames ? { bakeAlarmNames: props.bakeAlarmNames } : {}) });
    const rules: Record<string, CloudwatchEventRule> = {};
    for (const rule of this.ruleDefinitions) {
      rules[rule.name] = new CloudwatchEventRule(this, `rule-${rule.name}`, {
        name: ownName(props.namePrefix, rule.name),
        description: rule.description,
        eventBusName: rule.bus === 'default' ? 'default' : this.bus.name,
        eventPattern: JSON.stringify(rule.pattern),
      });
    }
    this.rules = rules;
  }
}
