import { CloudwatchEventArchive } from '@cdktf/provider-aws/lib/cloudwatch-event-archive';
import { CloudwatchEventBus } from '@cdktf/provider-aws/lib/cloudwatch-event-bus';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { Testing } from 'cdktf';
import { systemRules } from '../../events/patterns';
import { DeployGuardEventBus } from '../../stacks/event-bus';

describe('DeployGuardEventBus', () => {
  const synthesized = Testing.synthScope((scope) => {
    new DeployGuardEventBus(scope, 'events', { namePrefix: 'deploy-guard-dev', archiveRetentionDays: 30 });
  });

  it('creates the bus and an archive of it', () => {
    expect(Testing.toHaveResourceWithProperties(synthesized, CloudwatchEventBus.tfResourceType, { name: 'deploy-guard-dev' })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synthesized, CloudwatchEventArchive.tfResourceType, { name: 'deploy-guard-dev-archive', retention_days: 30 })).toBe(true);
  });

  it('creates every rule of events/patterns.ts with its pattern unchanged, on the right bus', () => {
    for (const rule of systemRules({ namePrefix: 'deploy-guard-dev' })) {
      const properties = {
        name: `deploy-guard-dev-${rule.name}`,
        event_pattern: JSON.stringify(rule.pattern),
        ...(rule.bus === 'default' ? { event_bus_name: 'default' } : {}),
      };
      expect({ rule: rule.name, found: Testing.toHaveResourceWithProperties(synthesized, CloudwatchEventRule.tfResourceType, properties) }).toEqual({ rule: rule.name, found: true });
    }
  });

  it.each([
    [{ namePrefix: 'Deploy Guard' }, "DeployGuardEventBus namePrefix 'Deploy Guard' must be 1 to 40 lowercase letters, digits or hyphens"],
    [{ namePrefix: 'dg', archiveRetentionDays: -1 }, 'DeployGuardEventBus archiveRetentionDays must be a non-negative integer, got -1'],
  ])('rejects %j', (props, message) => {
    expect(() => Testing.synthScope((scope) => void new DeployGuardEventBus(scope, 'events', props))).toThrow(message);
  });
});
