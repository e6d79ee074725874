/* eslint-disable @typescript-eslint/no-explicit-any -- the cases edit raw JSON */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, groupThreshold, loadConfig, parseConfig, toGroupPolicies } from '../../stacks/config';

const SHIPPED = join(__dirname, '..', '..', 'deploy-guard.config.json');
const shipped = () => JSON.parse(readFileSync(SHIPPED, 'utf8'));

describe('deploy-guard.config.json (stacks/config.ts)', () => {
  it('ships dev, staging and prod, valid', () => {
    const config = loadConfig(SHIPPED);
    expect(Object.keys(config.environments)).toEqual(['dev', 'staging', 'prod']);
    expect(config.environments.dev.backend).toEqual({ kind: 'local' });
    expect(config.environments.prod.hosting.kind).toBe('provisioned');
  });

  it('derives a threshold from costs: roll back when p × failed > (1 − p) × needless', () => {
    const policies = toGroupPolicies(loadConfig(SHIPPED).environments.dev.groups);
    expect(policies[0]).toEqual({ application: 'example-web', deploymentGroup: 'example-web-bluegreen', platform: 'Server', mode: 'shadow', threshold: 1 / 11, failurePolicy: 'fail-open' });
    expect(policies[1].threshold).toBe(0.4);
    expect(groupThreshold({ ...loadConfig(SHIPPED).environments.dev.groups[0], costs: { failedDeployment: 3, needlessRollback: 1 } })).toBe(0.25);
  });

  const broken = (edit: (config: ReturnType<typeof shipped>) => void) => {
    const config = shipped();
    edit(config);
    return () => parseConfig(config, 'x.json');
  };
  it.each([
    ['accountId of 11 digits', (c: any) => (c.environments.dev.accountId = '12345678901'), 'x.json: environments.dev.accountId: expected a 12-digit AWS account id (as a string)'],
    ['a region that is not one', (c: any) => (c.environments.dev.region = 'Virginia'), "x.json: environments.dev.region: expected an AWS region such as 'us-east-1'"],
    ['both threshold and costs', (c: any) => (c.environments.dev.groups[0].threshold = 0.5), 'x.json: environments.dev.groups[0].threshold: expected exactly one of threshold or costs {failedDeployment, needlessRollback}'],
    ['neither threshold nor costs', (c: any) => delete c.environments.dev.groups[0].costs, 'x.json: environments.dev.groups[0].threshold: expected exactly one of threshold or costs {failedDeployment, needlessRollback}'],
    ['create and existing', (c: any) => (c.environments.dev.groups[0].existing = true), 'x.json: environments.dev.groups[0].create: expected exactly one of create {...} (a new blue/green group) or existing: true'],
    ['an unknown mode', (c: any) => (c.environments.dev.groups[0].mode = 'block'), 'x.json: environments.dev.groups[0].mode: Invalid option: expected one of "shadow"|"stop"|"gate"'],
    ['a new Server group without Auto Scaling groups', (c: any) => delete c.environments.dev.groups[0].create.autoScalingGroups, 'x.json: environments.dev.groups[0].create.autoScalingGroups: expected the Auto Scaling groups of a new Server blue/green group'],
    ['readyTimeoutMinutes outside Server gate', (c: any) => (c.environments.dev.groups[0].create.readyTimeoutMinutes = 10), 'x.json: environments.dev.groups[0].create.readyTimeoutMinutes: expected only for platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)'],
    ['a serverless memory size SageMaker refuses', (c: any) => (c.environments.dev.hosting.memorySizeInMb = 1500), 'x.json: environments.dev.hosting.memorySizeInMb: expected one of 1024, 2048, 3072, 4096, 5120, 6144'],
    ['autoscaling max below min', (c: any) => (c.environments.prod.hosting.autoscaling.max = 1), 'x.json: environments.prod.hosting.autoscaling.max: expected max >= min'],
    ['a notebook without internet access and without a subnet', (c: any) => (c.environments.dev.notebook.directInternetAccess = false), 'x.json: environments.dev.notebook.subnetId: expected a subnetId when directInternetAccess is false (the notebook needs a VPC)'],
    ['an invalid e-mail', (c: any) => (c.environments.dev.notifications.emails = ['platform-team']), 'x.json: environments.dev.notifications.emails[0]: expected an e-mail address'],
    ['an s3 backend without a table', (c: any) => delete c.environments.staging.backend.dynamodbTable, 'x.json: environments.staging.backend.dynamodbTable: Invalid input: expected string, received undefined'],
    ['an unknown key', (c: any) => (c.environments.dev.colour = 'blue'), 'x.json: environments.dev: Unrecognized key: "colour"'],
    ['a group configured twice', (c: any) => c.environments.dev.groups.push(c.environments.dev.groups[1]), 'x.json: environments.dev.groups[2]: expected each deployment group once; payments/payments-prod is configured twice'],
    ['a training instance that is not a SageMaker type', (c: any) => (c.environments.dev.retraining.instanceType = 'm5.large'), "x.json: environments.dev.retraining.instanceType: expected a SageMaker instance type such as 'ml.m5.large'"],
  ])('rejects %s, naming the key path', (_what, edit, message) => {
    expect(broken(edit)).toThrow(new ConfigError('x.json', [message.slice('x.json: '.length)]));
  });

  it('names an unreadable or non-JSON file', () => {
    expect(() => loadConfig('/nonexistent/deploy-guard.config.json')).toThrow(/^\/nonexistent\/deploy-guard\.config\.json: cannot be read/);
    expect(() => loadConfig(__filename)).toThrow(/config\.test\.ts: is not JSON/);
  });
});
