/* eslint-disable @typescript-eslint/no-explicit-any -- the cases edit raw JSON */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, synthesize } from '../../main';
import { ConfigError, DEFAULT_RETRAINING_SCHEDULE_DAYS, changeSummaryPublishersByApplication, configWarnings, exampleGroupNames, guardedGroupPolicies, loadConfig, parseConfig, toGroupPolicies } from '../../stacks/config';

const SHIPPED = join(__dirname, '..', '..', 'deploy-guard.config.json');
const shipped = () => JSON.parse(readFileSync(SHIPPED, 'utf8'));

describe('deploy-guard.config.json (stacks/config.ts)', () => {
  it('ships dev, staging and prod, valid', () => {
    const config = loadConfig(SHIPPED);
    expect(Object.keys(config.environments)).toEqual(['dev', 'staging', 'prod']);
    expect(config.environments.dev.backend).toEqual({ kind: 'local' });
    expect(config.environments.prod.hosting.kind).toBe('provisioned');
  });

  it('ships a minimal example beside it: where it goes and what it guards; every other section takes its default', () => {
    const minimal = loadConfig(join(SHIPPED, '..', 'deploy-guard.config.minimal.json'));
    const dev = minimal.environments.dev;
    expect({ hosting: dev.hosting, retraining: dev.retraining, promotion: dev.promotion, notifications: dev.notifications, notebook: dev.notebook }).toEqual({
      hosting: { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 },
      retraining: { instanceType: 'ml.m5.large', dataWindowDays: 365, cooldownHours: 24, maxRuntimeSeconds: 3600 },
      promotion: { minimumAuc: 0.65, approval: 'Approved' },
      notifications: { emails: [], shadow: 'none' },
      notebook: { enabled: false, instanceType: 'ml.t3.medium', sandbox: false },
    });
    expect(guardedGroupPolicies(dev)).toEqual([expect.objectContaining({ application: 'payments', deploymentGroup: 'payments-prod', mode: 'shadow', blockBudget: 0.1 })]);
  });

  it('names the key path of each required key a configuration leaves out', () => {
    const config = JSON.parse(readFileSync(join(SHIPPED, '..', 'deploy-guard.config.minimal.json'), 'utf8'));
    delete config.environments.dev.accountId;
    delete config.environments.dev.groups;
    let caught: unknown;
    try {
      parseConfig(config, 'minimal.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['environments.dev.accountId', 'environments.dev.groups']);
  });

  it('decides by a block budget (10 % unless configured); costs are for reporting and pick no cut', () => {
    const prod = loadConfig(SHIPPED).environments.prod;
    const policies = toGroupPolicies(prod.groups);
    expect(policies[0]).toEqual({ application: 'storefront', deploymentGroup: 'storefront-bluegreen', platform: 'Server', mode: 'gate', blockBudget: 0.05, exploration: 0.02, cutScope: 'group', failurePolicy: 'fail-open' });
    expect(policies[1]).toMatchObject({ blockBudget: 0.1 });
    const config = shipped();
    delete config.environments.prod.groups[0].blockBudget;
    expect(toGroupPolicies(parseConfig(config).environments.prod.groups)[0].blockBudget).toBe(0.1);
  });

  it('keeps a fixed threshold as an expert override, with a warning that it does not hold a rate', () => {
    const config = shipped();
    config.environments.prod.groups[1].threshold = 0.5;
    const parsed = parseConfig(config);
    expect(toGroupPolicies(parsed.environments.prod.groups)[1]).toMatchObject({ threshold: 0.5, blockBudget: 0.1 });
    expect(configWarnings(parsed)).toEqual([
      'environments.prod.groups[1].threshold: a fixed threshold does not hold a block rate (it drifts with every retrained model); prefer blockBudget',
    ]);
    expect(configWarnings(loadConfig(SHIPPED))).toEqual([]);
  });

  it("guards the example's group like a configured one, after the configured groups", () => {
    const { dev, prod } = loadConfig(SHIPPED).environments;
    expect(guardedGroupPolicies(dev)).toEqual([
      { application: 'payments', deploymentGroup: 'payments-prod', platform: 'ECS', mode: 'shadow', blockBudget: 0.1, exploration: 0.02, cutScope: 'installation', failurePolicy: 'fail-open' },
      { application: 'deploy-guard-dev-example', deploymentGroup: 'blue-green', platform: 'Server', mode: 'gate', blockBudget: 0.1, exploration: 0.02, cutScope: 'installation', failurePolicy: 'fail-open' },
    ]);
    expect(exampleGroupNames('deploy-guard-dev')).toEqual({ application: 'deploy-guard-dev-example', deploymentGroup: 'blue-green' });
    // prod has no example: its configured groups only.
    expect(prod.example).toBeUndefined();
    expect(guardedGroupPolicies(prod)).toEqual(toGroupPolicies(prod.groups));
  });

  it('gives an example its defaults: t3.micro, 10.20.0.0/16, open to the internet on port 80, gate mode, a 10 % block budget, fail-open, 60 minutes of blue fleet', () => {
    const config = shipped();
    config.environments.dev.example = { amiId: 'ami-0abcdef1234567890', availabilityZones: ['us-east-1c', 'us-east-1d'] };
    expect(parseConfig(config).environments.dev.example).toEqual({
      amiId: 'ami-0abcdef1234567890',
      availabilityZones: ['us-east-1c', 'us-east-1d'],
      instanceType: 't3.micro',
      vpcCidr: '10.20.0.0/16',
      allowedIngressCidrs: ['0.0.0.0/0'],
      mode: 'gate',
      blockBudget: 0.1,
      exploration: 0.02,
      cutScope: 'installation',
      failurePolicy: 'fail-open',
      changeSummaryPublishers: [],
      terminateBlueAfterMinutes: 60,
    });
  });

  it('retrains every 180 days unless an environment says otherwise; 0 turns the schedule off, whatever the cooldown', () => {
    expect(Object.values(loadConfig(SHIPPED).environments).map((environment) => environment.retraining.scheduleDays)).toEqual([180, 180, 180]);
    const config = shipped();
    delete config.environments.dev.retraining.scheduleDays;
    config.environments.prod.retraining = { ...config.environments.prod.retraining, scheduleDays: 0, cooldownHours: 10_000 };
    const parsed = parseConfig(config);
    expect(parsed.environments.dev.retraining.scheduleDays).toBeUndefined();
    expect(parsed.environments.prod.retraining.scheduleDays).toBe(0);
    expect(DEFAULT_RETRAINING_SCHEDULE_DAYS).toBe(180);
  });

  const broken = (edit: (config: ReturnType<typeof shipped>) => void) => {
    const config = shipped();
    edit(config);
    return () => parseConfig(config, 'x.json');
  };
  it.each([
    ['accountId of 11 digits', (c: any) => (c.environments.dev.accountId = '12345678901'), 'x.json: environments.dev.accountId: expected a 12-digit AWS account id (as a string)'],
    ['a region that is not one', (c: any) => (c.environments.dev.region = 'Virginia'), "x.json: environments.dev.region: expected an AWS region such as 'us-east-1'"],
    ['a block budget above 30 %', (c: any) => (c.environments.prod.groups[0].blockBudget = 0.5), 'x.json: environments.prod.groups[0].blockBudget: Too big: expected number to be <=0.3'],
    [
      'two budgets on the installation\'s cut',
      (c: any) => {
        c.environments.prod.groups[0].cutScope = 'installation';
      },
      'x.json: environments.prod.groups[1].blockBudget: groups on the installation\'s cut share one block budget (0.05); set cutScope: group for a budget of the group\'s own',
    ],
    ['a block budget below 0.5 %', (c: any) => (c.environments.prod.groups[0].blockBudget = 0.001), 'x.json: environments.prod.groups[0].blockBudget: Too small: expected number to be >=0.005'],
    ['create and existing', (c: any) => (c.environments.prod.groups[0].existing = true), 'x.json: environments.prod.groups[0].create: expected exactly one of create {...} (a new blue/green group) or existing: true'],
    ['an unknown mode', (c: any) => (c.environments.dev.groups[0].mode = 'block'), 'x.json: environments.dev.groups[0].mode: Invalid option: expected one of "shadow"|"stop"|"gate"'],
    ['a new Server group without Auto Scaling groups', (c: any) => delete c.environments.prod.groups[0].create.autoScalingGroups, 'x.json: environments.prod.groups[0].create.autoScalingGroups: expected the Auto Scaling groups of a new Server blue/green group'],
    ['readyTimeoutMinutes outside Server gate', (c: any) => (c.environments.prod.groups[0].mode = 'shadow'), 'x.json: environments.prod.groups[0].create.readyTimeoutMinutes: expected only for platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)'],
    ['a serverless memory size SageMaker refuses', (c: any) => (c.environments.dev.hosting.memorySizeInMb = 1500), 'x.json: environments.dev.hosting.memorySizeInMb: expected one of 1024, 2048, 3072, 4096, 5120, 6144'],
    ['autoscaling max below min', (c: any) => (c.environments.prod.hosting.autoscaling.max = 1), 'x.json: environments.prod.hosting.autoscaling.max: expected max >= min'],
    ['a sandbox notebook in a subnet', (c: any) => (c.environments.prod.notebook.sandbox = true), 'x.json: environments.prod.notebook.sandbox: expected no subnetId with sandbox: a sandbox notebook has direct internet access outside any VPC'],
    ['a new Server group without its instance role', (c: any) => delete c.environments.prod.groups[0].create.instanceRole, "x.json: environments.prod.groups[0].create.instanceRole: expected the instances' IAM role (ARN or name): CodeDeploy launches the green fleet with it and must be allowed to pass it"],
    ['an instance role that is neither an ARN nor a name', (c: any) => (c.environments.prod.groups[0].create.instanceRole = 'role/with spaces'), "x.json: environments.prod.groups[0].create.instanceRole: expected an IAM role ARN such as 'arn:aws:iam::123456789012:role/web-instances' or a role name"],
    ['a reserved concurrency of 0', (c: any) => (c.environments.dev.reservedConcurrency = { predict: 0 }), 'x.json: environments.dev.reservedConcurrency.predict: Too small: expected number to be >=1'],
    ['an invalid e-mail', (c: any) => (c.environments.dev.notifications.emails = ['platform-team']), 'x.json: environments.dev.notifications.emails[0]: expected an e-mail address'],
    ['an s3 backend without a table', (c: any) => delete c.environments.staging.backend.dynamodbTable, 'x.json: environments.staging.backend.dynamodbTable: Invalid input: expected string, received undefined'],
    // Once only the constructs refused these, without the key path (F-26).
    ['a log retention CloudWatch Logs does not offer', (c: any) => (c.environments.dev.logRetentionDays = 10), 'x.json: environments.dev.logRetentionDays: expected a CloudWatch Logs retention in days, one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653'],
    ['an event source of AWS', (c: any) => (c.environments.dev.eventSource = 'aws.x'), "x.json: environments.dev.eventSource: expected an event source of your own: event source 'aws.x' must not start with 'aws.': that prefix is reserved for AWS services"],
    ['an application name with a bidi control', (c: any) => (c.environments.dev.groups[0].application = 'pay\u202ements'), 'x.json: environments.dev.groups[0].application: expected 1 to 100 letters, digits or _ . + - (a CodeDeploy name)'],
    ['an unknown key', (c: any) => (c.environments.dev.colour = 'blue'), 'x.json: environments.dev: Unrecognized key: "colour"'],
    ['a group configured twice', (c: any) => c.environments.dev.groups.push(c.environments.dev.groups[0]), 'x.json: environments.dev.groups[1]: expected each deployment group once; payments/payments-prod is configured twice'],
    ['a minimum of training rows below one', (c: any) => (c.environments.dev.retraining.minimumRows = 0), 'x.json: environments.dev.retraining.minimumRows: Too small: expected number to be >=1'],
    ['a training instance that is not a SageMaker type', (c: any) => (c.environments.dev.retraining.instanceType = 'm5.large'), "x.json: environments.dev.retraining.instanceType: expected a SageMaker instance type such as 'ml.m5.large'"],
    ['a negative retraining schedule', (c: any) => (c.environments.dev.retraining.scheduleDays = -1), 'x.json: environments.dev.retraining.scheduleDays: expected a whole number of days from 1 to 365, or 0 to turn the schedule off'],
    ['a retraining schedule of part of a day', (c: any) => (c.environments.staging.retraining.scheduleDays = 0.5), 'x.json: environments.staging.retraining.scheduleDays: expected a whole number of days from 1 to 365, or 0 to turn the schedule off'],
    ['a retraining schedule of null (0 turns it off)', (c: any) => (c.environments.prod.retraining.scheduleDays = null), 'x.json: environments.prod.retraining.scheduleDays: expected a whole number of days from 1 to 365, or 0 to turn the schedule off'],
    ['a retraining schedule over a year', (c: any) => (c.environments.dev.retraining.scheduleDays = 400), 'x.json: environments.dev.retraining.scheduleDays: expected a whole number of days from 1 to 365, or 0 to turn the schedule off'],
    [
      'a retraining schedule no longer than the cooldown',
      (c: any) => (c.environments.prod.retraining.scheduleDays = 3),
      'x.json: environments.prod.retraining.scheduleDays: expected a schedule longer than cooldownHours (72 h), since a scheduled run within the cooldown is skipped; 3 days is not. Lengthen it, shorten the cooldown, or set 0 to turn the schedule off',
    ],
    [
      'a cooldown as long as the default schedule',
      (c: any) => {
        delete c.environments.dev.retraining.scheduleDays;
        c.environments.dev.retraining.cooldownHours = 180 * 24;
      },
      'x.json: environments.dev.retraining.scheduleDays: expected a schedule longer than cooldownHours (4320 h), since a scheduled run within the cooldown is skipped; the default of 180 days is not. Lengthen it, shorten the cooldown, or set 0 to turn the schedule off',
    ],
    ['an environment that guards nothing', (c: any) => delete c.environments.staging.example, 'x.json: environments.staging.groups: expected at least one guarded group: an entry of groups, or an example'],
    // The example service.
    ['an example AMI id that is not one', (c: any) => (c.environments.dev.example.amiId = 'ami-xyz'), "x.json: environments.dev.example.amiId: expected an AMI id such as 'ami-0abcdef1234567890' (an Amazon Linux 2023 AMI of the region)"],
    ['an example with one zone', (c: any) => (c.environments.dev.example.availabilityZones = ['us-east-1a']), 'x.json: environments.dev.example.availabilityZones: expected exactly two availability zones'],
    ['an example zone that is a region', (c: any) => (c.environments.dev.example.availabilityZones[0] = 'us-east-1'), "x.json: environments.dev.example.availabilityZones[0]: expected an availability zone such as 'us-east-1a'"],
    ['an example zone of another region', (c: any) => (c.environments.dev.example.availabilityZones[1] = 'eu-west-1b'), "x.json: environments.dev.example.availabilityZones[1]: expected a zone of region us-east-1 such as 'us-east-1a'"],
    ['an example with one zone twice', (c: any) => (c.environments.dev.example.availabilityZones[1] = 'us-east-1a'), 'x.json: environments.dev.example.availabilityZones[1]: expected two different zones'],
    ['an example instance type that is not an EC2 type', (c: any) => (c.environments.dev.example.instanceType = 'micro'), "x.json: environments.dev.example.instanceType: expected an EC2 instance type such as 't3.micro'"],
    ['an example VPC that is not a /16', (c: any) => (c.environments.dev.example.vpcCidr = '10.20.0.0/24'), "x.json: environments.dev.example.vpcCidr: expected a /16 of the form a.b.0.0/16 such as '10.20.0.0/16'"],
    ['an example ingress that is not a CIDR', (c: any) => (c.environments.dev.example.allowedIngressCidrs = ['203.0.113.7']), "x.json: environments.dev.example.allowedIngressCidrs[0]: expected an IPv4 CIDR such as '203.0.113.0/24'"],
    ['an example open to nobody', (c: any) => (c.environments.dev.example.allowedIngressCidrs = []), 'x.json: environments.dev.example.allowedIngressCidrs: expected at least one CIDR'],
    ['an example with a block budget of 0', (c: any) => Object.assign(c.environments.dev.example, { blockBudget: 0, cutScope: 'group' }), 'x.json: environments.dev.example.blockBudget: Too small: expected number to be >=0.005'],
    ['an example in an unknown mode', (c: any) => (c.environments.dev.example.mode = 'block'), 'x.json: environments.dev.example.mode: Invalid option: expected one of "shadow"|"stop"|"gate"'],
    // Hold for a human: gate mode only, within where CodeDeploy waits.
    ['onRisk outside gate mode', (c: any) => (c.environments.dev.groups[0].onRisk = 'hold'), "x.json: environments.dev.groups[0].onRisk: expected only in gate mode (a deployment is held where the gate waits: at READY, or in the BeforeAllowTraffic hook)"],
    ['a hold timeout without onRisk hold', (c: any) => (c.environments.prod.groups[0].holdTimeoutMinutes = 20), "x.json: environments.prod.groups[0].holdTimeoutMinutes: expected only with onRisk: 'hold'"],
    [
      'a Server hold longer than its READY wait',
      (c: any) => Object.assign(c.environments.prod.groups[0], { onRisk: 'hold', holdTimeoutMinutes: 61 }),
      "x.json: environments.prod.groups[0].holdTimeoutMinutes: expected at most 60 minutes: a hold must end within the group's READY wait (60 minutes; CodeDeploy stops the deployment when it ends); got 61",
    ],
    [
      'a Server hold whose timeout approves too close to the end of its READY wait',
      (c: any) => Object.assign(c.environments.dev.example, { onRisk: 'hold', holdTimeoutMinutes: 30, onHoldTimeout: 'approve' }),
      "x.json: environments.dev.example.holdTimeoutMinutes: expected at most 28 minutes: a hold must end within the group's READY wait (30 minutes; CodeDeploy stops the deployment when it ends), less 2 minutes for the timeout to approve in time (it is settled by a one-minute schedule); got 30",
    ],
    [
      'an ECS / Lambda hold longer than the hook may wait',
      (c: any) => Object.assign(c.environments.prod.groups[1], { mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 61 }),
      "x.json: environments.prod.groups[1].holdTimeoutMinutes: expected at most 60 minutes: a hold must end within CodeDeploy's limit for a lifecycle hook (60 minutes); got 61",
    ],
    ['an example READY timeout outside gate mode', (c: any) => (c.environments.dev.example.mode = 'shadow'), 'x.json: environments.dev.example.readyTimeoutMinutes: expected only in gate mode (the deployment waits at READY only then)'],
    ['an unknown key of the example', (c: any) => (c.environments.dev.example.ami = 'ami-0abcdef1234567890'), 'x.json: environments.dev.example: Unrecognized key: "ami"'],
    // (The dev example's pipeline gate goes with the prefix that names its group.)
    ['a name prefix too long for the example load balancer', (c: any) => ((c.environments.dev.namePrefix = 'deploy-guard-development1'), delete c.environments.dev.pipelineGates), 'x.json: environments.dev.namePrefix: expected at most 24 characters, ending with a letter or digit, with an example (its load balancer is <namePrefix>-alb)'],
    [
      "the example's group also in groups",
      (c: any) => c.environments.dev.groups.push({ application: 'deploy-guard-dev-example', deploymentGroup: 'blue-green', platform: 'Server', mode: 'shadow', threshold: 0.5, existing: true }),
      "x.json: environments.dev.example: expected the example's deployment group deploy-guard-dev-example/blue-green not to be configured in groups as well",
    ],
    [
      'a pipeline gate of a group the environment does not guard',
      (c: any) => c.environments.dev.pipelineGates.push({ application: 'payments', deploymentGroup: 'payments-staging' }),
      'x.json: environments.dev.pipelineGates[1]: expected a group this environment guards (payments/payments-prod, deploy-guard-dev-example/blue-green); payments/payments-staging is not one',
    ],
    [
      "a pipeline gate whose group holds longer than CodePipeline lets a Lambda invoke action run",
      (c: any) => Object.assign(c.environments.dev.example, { onRisk: 'hold', holdTimeoutMinutes: 1500, readyTimeoutMinutes: 2880, terminateBlueAfterMinutes: 60 }),
      'x.json: environments.dev.pipelineGates[0]: expected the hold of deploy-guard-dev-example/blue-green (holdTimeoutMinutes 1500) to end within 1420 minutes: CodePipeline fails a Lambda invoke action still in progress after 24 hours, and the gate settles a hold at the action\'s next invocation',
    ],
    // Who may publish change summaries.
    [
      'a change-summary publisher that is an account, not a role or user',
      (c: any) => (c.environments.dev.groups[0].changeSummaryPublishers = ['arn:aws:iam::123456789012:root']),
      "x.json: environments.dev.groups[0].changeSummaryPublishers[0]: expected the ARN of an IAM role or user, such as 'arn:aws:iam::123456789012:role/ci-payments'",
    ],
    [
      'a change-summary publisher of the example that is a wildcard',
      (c: any) => (c.environments.dev.example.changeSummaryPublishers = ['*']),
      "x.json: environments.dev.example.changeSummaryPublishers[0]: expected the ARN of an IAM role or user, such as 'arn:aws:iam::123456789012:role/ci-payments'",
    ],
    // Installations whose name prefixes overlap would take each other's alarms, jobs and IAM resources.
    [
      'a name prefix that starts with another environment\'s',
      (c: any) => (c.environments.staging.namePrefix = 'deploy-guard-dev-x'),
      "x.json: environments.staging.namePrefix: namePrefix 'deploy-guard-dev-x' overlaps environments.dev.namePrefix 'deploy-guard-dev': one installation would take the other's alarms, training jobs and IAM resources as its own. Choose prefixes where neither starts with the other",
    ],
  ])('rejects %s, naming the key path', (_what, edit, message) => {
    expect(broken(edit)).toThrow(new ConfigError('x.json', [message.slice('x.json: '.length)]));
  });

  it('refuses the bare default prefix beside every deploy-guard-… one, one error per pair, naming both environments', () => {
    const config = shipped();
    config.environments.prod.namePrefix = 'deploy-guard';
    let error: ConfigError | undefined;
    try {
      parseConfig(config, 'x.json');
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.problems.map((problem) => problem.split(':')[0])).toEqual(['environments.dev.namePrefix', 'environments.staging.namePrefix']);
    expect(error?.problems[1]).toContain("overlaps environments.prod.namePrefix 'deploy-guard'");
  });

  it('accepts prefixes of which neither starts with the other', () => {
    const config = shipped();
    config.environments.staging.namePrefix = 'deploy-guard-de';
    expect(() => parseConfig(config)).toThrow('overlaps environments.staging.namePrefix');
    config.environments.staging.namePrefix = 'guard-staging';
    expect(Object.values(parseConfig(config).environments).map((environment) => environment.namePrefix)).toEqual(['deploy-guard-dev', 'guard-staging', 'deploy-guard-prod']);
  });

  it('names every key written twice in the file, by its key path (JSON.parse would keep the last silently)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-config-'));
    const file = join(dir, 'deploy-guard.config.json');
    const text = readFileSync(SHIPPED, 'utf8')
      .replace('"mode": "shadow",', '"mode": "shadow", "mode": "stop",')
      .replace('"namePrefix": "deploy-guard-prod",', '"namePrefix": "deploy-guard-prod", "namePrefix": "deploy-guard-prod",');
    writeFileSync(file, text);
    expect(() => loadConfig(file)).toThrow(
      new ConfigError(file, [
        'environments.dev.groups[0].mode: the key appears more than once; keep one',
        'environments.prod.namePrefix: the key appears more than once; keep one',
      ]),
    );
  });

  it('collects change-summary publishers per application: the union of its groups, none for an application that names none', () => {
    const { dev, staging, prod } = loadConfig(SHIPPED).environments;
    expect(changeSummaryPublishersByApplication(dev)).toEqual({ payments: ['arn:aws:iam::123456789012:role/ci-payments'], 'deploy-guard-dev-example': [] });
    expect(changeSummaryPublishersByApplication(staging)).toEqual({ 'deploy-guard-staging-example': [] });
    const twice = { ...prod, groups: [...prod.groups, { ...prod.groups[1], deploymentGroup: 'checkout-canary', changeSummaryPublishers: ['arn:aws:iam::210987654321:role/ci-checkout'] }] };
    expect(changeSummaryPublishersByApplication(twice).checkout).toEqual(['arn:aws:iam::123456789012:role/ci-checkout', 'arn:aws:iam::210987654321:role/ci-checkout']);
  });

  it('names an unreadable or non-JSON file', () => {
    expect(() => loadConfig('/nonexistent/deploy-guard.config.json')).toThrow(/^\/nonexistent\/deploy-guard\.config\.json: cannot be read/);
    expect(() => loadConfig(__filename)).toThrow(/config\.test\.ts: is not JSON/);
  });
});

describe('synth (main.ts synthesize): a mistake the constructs would refuse is one line naming the key path (F-26)', () => {
  it('a log retention of 10 days', () => {
    const config = shipped();
    config.environments.dev.logRetentionDays = 10;
    const file = join(mkdtempSync(join(tmpdir(), 'dg-config-')), 'deploy-guard.config.json');
    writeFileSync(file, JSON.stringify(config));
    const lines: string[] = [];
    const status = synthesize({ stderr: { write: (text: string) => lines.push(text) } }, () => buildApp({ config: loadConfig(file) }));
    expect({ status, lines }).toEqual({ status: 2, lines: [expect.stringMatching(new RegExp(`^deploy-guard synth: ${file}: environments\\.dev\\.logRetentionDays: expected a CloudWatch Logs retention in days, one of 1, 3, .*\\n$`))] });
  });
});
