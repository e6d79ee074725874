import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DeployGuardEventBus } from './event-bus';

export interface DeployGuardStackProps {
  /** dev, staging or prod. */
  readonly environment: string;
  readonly region: string;
  /** Passed in rather than looked up, so that nothing needs AWS to synthesize or plan. */
  readonly accountId: string;
  /** @default `deploy-guard-${environment}` */
  readonly namePrefix?: string;
}

/** One installation of Deploy Guard in one environment. */
export class DeployGuardStack extends TerraformStack {
  readonly eventBus: DeployGuardEventBus;

  constructor(scope: Construct, id: string, props: DeployGuardStackProps) {
    super(scope, id);
    if (!/^\d{12}$/.test(props.accountId)) {
      throw new Error(`DeployGuardStack accountId must be 12 digits, got '${props.accountId}'`);
    }
    const namePrefix = props.namePrefix ?? `deploy-guard-${props.environment}`;
    new AwsProvider(this, 'aws', {
      region: props.region,
      allowedAccountIds: [props.accountId],
      defaultTags: [{ tags: { application: 'deploy-guard', environment: props.environment } }],
    });
    this.eventBus = new DeployGuardEventBus(this, 'events', { namePrefix });
    new TerraformOutput(this, 'event_bus_name', { value: this.eventBus.bus.name, description: "Deploy Guard's event bus" });
  }
}
