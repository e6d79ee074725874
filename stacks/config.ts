import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import { omit } from 'zod/mini';
import { validateEventSource } from '../events/emitted';
import { parseJsonText, type JsonNode } from '../events/json-text';
import { formatPath } from '../events/validation';
import { groupKey, groupPolicies, groupPolicyObject, HOOK_TIMEOUT_MINUTES, MAX_HOOK_BAKE_MINUTES, promotionSettingsObject, type GroupPolicy, type ShadowDigestSettings } from '../handlers/config';
import { DEFAULT_COSTS, type DecisionCosts } from '../model/metrics';
import { DEFAULT_METRICS_NAMESPACE } from '../handlers/quality-metrics';
import { holdPolicyOf, holdTimeoutIssue } from '../handlers/hold-domain';

/** handlers/config.ts's group policy (lazy there, for the Lambdas' cold start), whose shape the configuration extends. */
const handlerGroupPolicy = groupPolicyObject();

/** The READY wait of a Server gate group whose setting the configuration does not give: CodeDeploy's default (stacks/guarded-deployment-group.ts). */
const ASSUMED_READY_WAIT_MINUTES = 60;

/** The issues of a group's hold settings: only in gate mode, and within where CodeDeploy waits (handlers/hold-domain.ts holdTimeoutIssue). */
function holdIssues(group: Pick<GroupPolicy, 'mode' | 'platform' | 'onRisk' | 'holdTimeoutMinutes' | 'onHoldTimeout'>, readyWaitMinutes: number | undefined, context: z.RefinementCtx, path: readonly (string | number)[] = []): void {
  for (const key of ['onRisk', 'holdTimeoutMinutes', 'onHoldTimeout'] as const) {
    if (group[key] !== undefined && group.mode !== 'gate') context.addIssue({ code: 'custom', path: [...path, key], message: 'expected only in gate mode (a deployment is held where the gate waits: at READY, or in the BeforeAllowTraffic hook)' });
  }
  if (group.mode === 'gate' && group.onRisk !== 'hold') {
    for (const key of ['holdTimeoutMinutes', 'onHoldTimeout'] as const) {
      if (group[key] !== undefined) context.addIssue({ code: 'custom', path: [...path, key], message: "expected only with onRisk: 'hold'" });
    }
  }
  const hold = holdPolicyOf(group);
  const issue = hold && holdTimeoutIssue(group.platform, hold, readyWaitMinutes ?? ASSUMED_READY_WAIT_MINUTES);
  if (issue) context.addIssue({ code: 'custom', path: [...path, 'holdTimeoutMinutes'], message: issue });
}

/** The configuration every command and synthesis read unless told otherwise. */
export const DEFAULT_CONFIG_FILE = path.join(__dirname, '..', 'deploy-guard.config.json');

/**
 * The installation's configuration, one entry per environment (deploy-guard.config.json). main.ts
 * loads and validates it before anything is synthesized; every error names the key path and what was
 * expected there. The guarded groups' platform / mode / failure policy vocabularies are those of
 * handlers/config.ts, never redefined here.
 */

const SAGEMAKER_INSTANCE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;
const sagemakerInstanceType = z.string().regex(SAGEMAKER_INSTANCE, { message: "expected a SageMaker instance type such as 'ml.m5.large'" });
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { message: 'expected 1 to 100 letters, digits, hyphens, dots or underscores' });

/** An IAM role or user, as `aws:PrincipalArn` reports it: what a bus policy may name. */
export const PRINCIPAL_ARN = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:(?:role|user)\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/**
 * The CI principals (IAM roles or users) that may publish an application's Deployment Change
 * Summary: the bus policy admits exactly these for summaries, and nothing else from them. None
 * (the default): nobody outside Deploy Guard may publish a summary for the application.
 */
const changeSummaryPublishers = z
  .array(z.string().regex(PRINCIPAL_ARN, { message: "expected the ARN of an IAM role or user, such as 'arn:aws:iam::123456789012:role/ci-payments'" }))
  .default([]);

/**
 * The on-call principals (IAM roles or users) that may override a release or pause a group
 * (`deploy-guard override` / `pause`): the stack's operator role (`<namePrefix>-operator`) trusts
 * exactly these. None (the default): no role, and nobody can override or pause.
 */
const operators = z
  .array(z.string().regex(PRINCIPAL_ARN, { message: "expected the ARN of an IAM role or user, such as 'arn:aws:iam::123456789012:role/on-call'" }))
  .default([]);

/** A CodePipeline gate stage of a guarded group (stacks/pipeline-gate.ts): what the stack outputs for the pipeline that deploys to it. */
const pipelineName = z.string().regex(/^[A-Za-z0-9.@\-_]{1,100}$/, { message: 'expected a CodePipeline name: 1 to 100 letters, digits or . @ - _' });
export const pipelineGateConfig = z
  .object({
    application: z.string().min(1),
    deploymentGroup: z.string().min(1),
    /** The pipeline's service role, by name: the stack attaches lambda:InvokeFunction on the gate function to it. */
    pipelineRoleName: z.string().regex(/^[\w+=,.@-]{1,64}$/, { message: 'expected an IAM role name (1 to 64 of letters, digits and +=,.@-_)' }).optional(),
    /** The source stage's output artifact, the gate's input (default SourceArtifact). */
    sourceArtifact: pipelineName.optional(),
    /** The source action's variables namespace: the release is #{<namespace>.CommitId} (default: the artifact's revision). */
    sourceVariablesNamespace: pipelineName.optional(),
  })
  .strict();
export type PipelineGateConfig = z.infer<typeof pipelineGateConfig>;

/** Settings of a blue/green deployment group Deploy Guard creates (rather than references). */
export const createGroupSettings = z
  .object({
    /** Server platform, gate mode: minutes a green fleet waits at READY for Deploy Guard's decision before the deployment stops. */
    readyTimeoutMinutes: z.number().int().min(2).max(2880).optional(),
    /** Minutes the blue fleet lives on after a successful deployment (0: terminate at once). */
    terminateBlueAfterMinutes: z.number().int().min(0).max(2880).default(5),
    /** Server platform: the Auto Scaling groups the green fleet is copied from. */
    autoScalingGroups: z.array(name).min(1).optional(),
    /** Server platform: the load balancer target group traffic moves through. */
    targetGroupName: name.optional(),
    /**
     * Server platform: the IAM role of the instances' profile, by ARN or by name (in this account).
     * CodeDeploy launches the green fleet with it, so its service role may pass exactly this role.
     */
    instanceRole: z
      .string()
      .regex(/^(?:arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}|[\w+=,.@-]{1,64})$/, {
        message: "expected an IAM role ARN such as 'arn:aws:iam::123456789012:role/web-instances' or a role name",
      })
      .optional(),
    /** ECS platform: the cluster and service, the production listener and the blue / green target groups. */
    ecs: z
      .object({
        clusterName: name,
        serviceName: name,
        listenerArns: z.array(z.string().startsWith('arn:', { message: 'expected an ARN' })).min(1),
        targetGroupNames: z.tuple([name, name]),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CreateGroupSettings = z.output<typeof createGroupSettings>;

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** What CodeDeploy accepts as an application or deployment group name. */
export const CODEDEPLOY_NAME = /^[A-Za-z0-9_.+-]{1,100}$/;

const codeDeployName = z.string().regex(CODEDEPLOY_NAME, { message: 'expected 1 to 100 letters, digits or _ . + - (a CodeDeploy name)' });

const costs = z
  .object({
    /** Cost of letting a failing deployment through. */
    failedDeployment: z.number().positive(),
    /** Cost of rolling back a deployment that would have succeeded. */
    needlessRollback: z.number().positive(),
  })
  .strict();

/** Comparison operators of a metric alarm the stack creates for a group. */
export const ALARM_COMPARISONS = ['GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;

/** A CloudWatch alarm the stack creates for a group, from one metric and a threshold. */
export const groupMetricAlarm = z
  .object({
    namespace: z.string().min(1).max(255),
    metricName: z.string().min(1).max(255),
    dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).default({}),
    statistic: z.enum(['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount']).default('Sum'),
    threshold: z.number(),
    comparison: z.enum(ALARM_COMPARISONS).default('GreaterThanOrEqualToThreshold'),
    /** 10, 30 or a multiple of 60. */
    periodSeconds: z.number().int().min(10).max(86_400).default(60).refine((value) => value === 10 || value === 30 || value % 60 === 0, { message: 'expected 10, 30 or a multiple of 60 seconds' }),
    evaluationPeriods: z.number().int().min(1).max(100).default(1),
  })
  .strict();
export type GroupMetricAlarm = z.output<typeof groupMetricAlarm>;

/**
 * The CloudWatch alarms that watch a group's deployments: existing alarms by name, and alarms the
 * stack creates from a metric and a threshold. A group the stack creates rolls back on them itself
 * (CodeDeploy's alarm-based automatic rollback); a bake rolls back on them in every group.
 */
export const groupAlarms = z
  .object({
    names: z.array(z.string().min(1).max(255)).default([]),
    metrics: z.array(groupMetricAlarm).default([]),
  })
  .strict()
  .refine((alarms) => alarms.names.length + alarms.metrics.length <= 10, { message: 'CodeDeploy watches at most 10 alarms per group' });

/**
 * A guarded group as configured: handlers/config.ts groupPolicy (a `blockBudget`, default 10 %, or an
 * expert's fixed `threshold`), with `costs` for reporting net benefit (they do not pick the cut).
 */
export const guardedGroupConfig = groupPolicy()
  .superRefine((group, context) => {
    if ((group.create === undefined) === (group.existing === undefined)) {
      context.addIssue({ code: 'custom', path: ['create'], message: 'expected exactly one of create {...} (a new blue/green group) or existing: true' });
    }
    if (group.create && group.platform === 'Server' && !group.create.autoScalingGroups) {
      context.addIssue({ code: 'custom', path: ['create', 'autoScalingGroups'], message: 'expected the Auto Scaling groups of a new Server blue/green group' });
    }
    if (group.create && group.platform === 'Server' && !group.create.instanceRole) {
      context.addIssue({ code: 'custom', path: ['create', 'instanceRole'], message: "expected the instances' IAM role (ARN or name): CodeDeploy launches the green fleet with it and must be allowed to pass it" });
    }
    if (group.create?.instanceRole !== undefined && group.platform !== 'Server') {
      context.addIssue({ code: 'custom', path: ['create', 'instanceRole'], message: 'expected only for platform Server (CodeDeploy launches instances only there)' });
    }
    if (group.create?.readyTimeoutMinutes !== undefined && !(group.platform === 'Server' && group.mode === 'gate')) {
      context.addIssue({ code: 'custom', path: ['create', 'readyTimeoutMinutes'], message: 'expected only for platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)' });
    }
    if (group.bake && (group.alarms?.names.length ?? 0) + (group.alarms?.metrics.length ?? 0) === 0) {
      context.addIssue({ code: 'custom', path: ['bake'], message: 'expected alarms {names, metrics} too: a bake rolls back when one of the group\'s alarms goes to ALARM' });
    }
    if (group.bake && group.platform !== 'Server' && group.bake.minutes > MAX_HOOK_BAKE_MINUTES) {
      context.addIssue({ code: 'custom', path: ['bake', 'minutes'], message: `expected at most ${MAX_HOOK_BAKE_MINUTES}: an ${group.platform} group bakes in its AfterAllowTraffic hook, which CodeDeploy fails after ${HOOK_TIMEOUT_MINUTES} minutes` });
    }
    if (group.bake && group.platform === 'Server' && group.create && group.create.terminateBlueAfterMinutes < group.bake.minutes) {
      context.addIssue({
        code: 'custom',
        path: ['create', 'terminateBlueAfterMinutes'],
        message: `expected at least bake.minutes (${group.bake.minutes}): the original fleet must outlive the bake, or there is nothing to roll back to`,
      });
    }
    if (group.create && group.platform === 'ECS' && !group.create.ecs) {
      context.addIssue({ code: 'custom', path: ['create', 'ecs'], message: 'expected {clusterName, serviceName, listenerArns, targetGroupNames} for a new ECS group' });
    }
    holdIssues(group, group.create?.readyTimeoutMinutes, context);
  });

/** The name of the alarm the stack creates from a group's index-th metric: `<namePrefix>-<application>-<deploymentGroup>-alarm-<index>`. */
export function groupMetricAlarmName(namePrefix: string, group: Pick<GuardedGroupConfig, 'application' | 'deploymentGroup'>, index: number): string {
  return `${namePrefix}-${group.application}-${group.deploymentGroup}-alarm-${index}`;
}

/** Every alarm that watches a group: the configured names, then those the stack creates. */
export function groupAlarmNames(namePrefix: string, group: Pick<GuardedGroupConfig, 'application' | 'deploymentGroup' | 'alarms'>): string[] {
  const alarms = group.alarms ?? { names: [], metrics: [] };
  return [...alarms.names, ...alarms.metrics.map((_, index) => groupMetricAlarmName(namePrefix, group, index))];
}

function groupPolicy() {
  // handlers/config.ts's schemas are zod/mini (the Lambda bundles load faster): extended by spreading the shape,
  // without the handlers' alarmNames (the stack derives them from `alarms`).
  return z.strictObject({
    ...omit(handlerGroupPolicy, { alarmNames: true }).shape,
    /** The alarms that watch the group's deployments. */
    alarms: groupAlarms.optional(),
    application: codeDeployName,
    deploymentGroup: codeDeployName,
    costs: costs.optional(),
    changeSummaryPublishers,
    /**
     * The groups of a deployment history (the values of its mapping's group column) this group
     * stands for: `deploy-guard backtest --config --environment` replays them with this group's
     * mode, platform, budget, threshold, exploration, cut scope and failure policy. The stack ignores it.
     */
    historyGroups: z.array(z.string().min(1)).min(1).optional(),
    create: createGroupSettings.optional(),
    existing: z.literal(true, { message: 'expected true (omit the key to create the group instead)' }).optional(),
  });
}
export type GuardedGroupConfig = z.output<typeof guardedGroupConfig>;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ZONE = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4Cidr = z.string().regex(new RegExp(`^${OCTET}(?:\\.${OCTET}){3}/(?:3[0-2]|[12]?\\d)$`), { message: "expected an IPv4 CIDR such as '203.0.113.0/24'" });

/** The example service's CodeDeploy application and deployment group (one per environment). */
export function exampleGroupNames(namePrefix: string): { readonly application: string; readonly deploymentGroup: string } {
  return { application: `${namePrefix}-example`, deploymentGroup: 'blue-green' };
}

/**
 * The example service (stacks/example-service.ts): a small EC2 blue/green service (VPC, load
 * balancer, Auto Scaling group) that the environment creates and guards like any configured group.
 * Its application is `<namePrefix>-example`, its deployment group `blue-green`. The AMI and the zones
 * are given, not looked up, so that nothing needs AWS to synthesize or plan.
 */
export const exampleConfig = z
  .object({
    /** An Amazon Linux 2023 AMI of the region (the shipped one is a placeholder to replace). */
    amiId: z.string().regex(/^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/, { message: "expected an AMI id such as 'ami-0abcdef1234567890' (an Amazon Linux 2023 AMI of the region)" }),
    /** Two different zones of the environment's region: one public subnet in each. */
    availabilityZones: z
      .array(z.string().regex(ZONE, { message: "expected an availability zone such as 'us-east-1a'" }))
      .length(2, { message: 'expected exactly two availability zones' }),
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: "expected an EC2 instance type such as 't3.micro'" }).default('t3.micro'),
    /** The VPC, a.b.0.0/16; the subnets are a.b.0.0/24 and a.b.1.0/24. */
    vpcCidr: z
      .string()
      .regex(new RegExp(`^${OCTET}\\.${OCTET}\\.0\\.0/16$`), { message: "expected a /16 of the form a.b.0.0/16 such as '10.20.0.0/16'" })
      .default('10.20.0.0/16'),
    /** Who may reach the load balancer on port 80. */
    allowedIngressCidrs: z.array(ipv4Cidr).min(1, { message: 'expected at least one CIDR' }).default(['0.0.0.0/0']),
    mode: z._default(handlerGroupPolicy.shape.mode, 'gate'),
    blockBudget: handlerGroupPolicy.shape.blockBudget,
    threshold: handlerGroupPolicy.shape.threshold,
    exploration: handlerGroupPolicy.shape.exploration,
    cutScope: handlerGroupPolicy.shape.cutScope,
    costs: costs.optional(),
    changeSummaryPublishers,
    failurePolicy: handlerGroupPolicy.shape.failurePolicy,
    onRisk: handlerGroupPolicy.shape.onRisk,
    holdTimeoutMinutes: handlerGroupPolicy.shape.holdTimeoutMinutes,
    onHoldTimeout: handlerGroupPolicy.shape.onHoldTimeout,
    /** Gate mode: minutes the green fleet waits at READY for Deploy Guard before the deployment stops. */
    readyTimeoutMinutes: z.number().int().min(2).max(2880).optional(),
    /** Minutes the blue fleet lives on after a successful deployment (the instant-rollback window). */
    terminateBlueAfterMinutes: z.number().int().min(0).max(2880).default(60),
    /** The bucket holding the service's revisions: the instances get read access to it. */
    revisionBucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'expected an S3 bucket name' }).optional(),
  })
  .strict()
  .superRefine((example, context) => {
    if (example.readyTimeoutMinutes !== undefined && example.mode !== 'gate') {
      context.addIssue({ code: 'custom', path: ['readyTimeoutMinutes'], message: 'expected only in gate mode (the deployment waits at READY only then)' });
    }
    holdIssues({ ...example, platform: 'Server' }, example.readyTimeoutMinutes, context);
  });
export type ExampleConfig = z.output<typeof exampleConfig>;

export const hostingConfig = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('serverless'),
      memorySizeInMb: z.union([1024, 2048, 3072, 4096, 5120, 6144].map((size) => z.literal(size)) as [z.ZodLiteral<number>, z.ZodLiteral<number>], {
        message: 'expected one of 1024, 2048, 3072, 4096, 5120, 6144',
      }),
      maxConcurrency: z.number().int().min(1).max(200),
    })
    .strict(),
  z
    .object({
      kind: z.literal('provisioned'),
      instanceType: sagemakerInstanceType,
      initialInstanceCount: z.number().int().min(1),
      dataCapture: z
        .object({ enabled: z.boolean(), samplingPercentage: z.number().int().min(1).max(100).default(100) })
        .strict()
        .default({ enabled: false, samplingPercentage: 100 }),
      autoscaling: z
        .object({ min: z.number().int().min(1), max: z.number().int().min(1), targetInvocationsPerInstance: z.number().positive() })
        .strict()
        .refine((scaling) => scaling.max >= scaling.min, { message: 'expected max >= min', path: ['max'] })
        .optional(),
    })
    .strict(),
]);
export type HostingConfig = z.output<typeof hostingConfig>;

/**
 * Days between scheduled retrainings when the configuration does not say: the cadence measured in
 * ../shared/notes/decision-quality.md ("Retraining every 180 days on observed rows"), whose retrained
 * XGBoost at a 10 % block budget beat every fair baseline in the loop.
 */
export const DEFAULT_RETRAINING_SCHEDULE_DAYS = 180;
/** The longest schedule: retraining less than yearly is not a schedule worth having. */
export const MAXIMUM_RETRAINING_SCHEDULE_DAYS = 365;

const scheduleDaysMessage = `expected a whole number of days from 1 to ${MAXIMUM_RETRAINING_SCHEDULE_DAYS}, or 0 to turn the schedule off`;

export const retrainingConfig = z
  .object({
    instanceType: sagemakerInstanceType,
    dataWindowDays: z.number().int().min(1).max(3650),
    /** Labelled rows the window must hold for an alarm or the schedule to start a job (default 200). */
    minimumRows: z.number().int().min(1).optional(),
    cooldownHours: z.number().min(0),
    maxRuntimeSeconds: z.number().int().min(60).max(432000),
    /**
     * Retrain every this many days as well as on the alarms (an EventBridge schedule rule into drift);
     * 0 turns the schedule off. Default DEFAULT_RETRAINING_SCHEDULE_DAYS (180).
     */
    scheduleDays: z
      .number({ message: scheduleDaysMessage })
      .int({ message: scheduleDaysMessage })
      .min(0, { message: scheduleDaysMessage })
      .max(MAXIMUM_RETRAINING_SCHEDULE_DAYS, { message: scheduleDaysMessage })
      .optional(),
  })
  .strict()
  .superRefine((retraining, context) => {
    // A scheduled run within the cooldown of the last job is skipped: a schedule no longer than the
    // cooldown would skip its own every other run.
    const days = retraining.scheduleDays ?? DEFAULT_RETRAINING_SCHEDULE_DAYS;
    if (days > 0 && days * 24 <= retraining.cooldownHours) {
      const given = retraining.scheduleDays === undefined ? `the default of ${days} days is not` : `${days} days is not`;
      context.addIssue({
        code: 'custom',
        path: ['scheduleDays'],
        message: `expected a schedule longer than cooldownHours (${retraining.cooldownHours} h), since a scheduled run within the cooldown is skipped; ${given}. Lengthen it, shorten the cooldown, or set 0 to turn the schedule off`,
      });
    }
  });

export const promotionConfig = z
  .object({ minimumAuc: promotionSettingsObject().shape.minimumAuc, approval: z.enum(['Approved', 'PendingManualApproval']) })
  .strict();

/** Model-quality alarms (Retraining's; in ALARM they start retraining). Every key optional: Retraining's defaults. */
export const qualityAlarmsConfig = z
  .object({
    periodSeconds: z.number().int().min(60).max(86400).optional(),
    evaluationPeriods: z.number().int().min(1).optional(),
    datapointsToAlarm: z.number().int().min(1).optional(),
    errorRateThreshold: z.number().gt(0).max(1).optional(),
    brierThreshold: z.number().gt(0).max(1).optional(),
    minimumLabelledOutcomes: z.number().int().min(1).optional(),
  })
  .strict();

export const notebookConfig = z
  .object({
    enabled: z.boolean(),
    instanceType: sagemakerInstanceType.default('ml.t3.medium'),
    /** A sandbox account only: direct internet access, no VPC. Otherwise the notebook runs in subnetId, or in a private network of its own (vpcCidr). */
    sandbox: z.boolean().default(false),
    vpcCidr: z.string().regex(/^(?:\d{1,3}\.){3}\d{1,3}\/(?:1[6-9]|2[0-7])$/, { message: "expected an IPv4 CIDR block from /16 to /27 such as '10.42.0.0/24'" }).optional(),
    subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, { message: "expected a subnet id such as 'subnet-0abc'" }).optional(),
    securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/, { message: "expected a security group id such as 'sg-0abc'" })).optional(),
  })
  .strict()
  .superRefine((notebook, context) => {
    if (notebook.sandbox && notebook.subnetId) {
      context.addIssue({ code: 'custom', path: ['sandbox'], message: 'expected no subnetId with sandbox: a sandbox notebook has direct internet access outside any VPC' });
    }
    if (notebook.vpcCidr && (notebook.sandbox || notebook.subnetId)) {
      context.addIssue({ code: 'custom', path: ['vpcCidr'], message: 'expected only without sandbox and subnetId: it is the private network created for the notebook' });
    }
    if (notebook.securityGroupIds && !notebook.subnetId) {
      context.addIssue({ code: 'custom', path: ['securityGroupIds'], message: 'expected a subnetId alongside securityGroupIds' });
    }
  });

/**
 * How shadow-mode decisions are told: never one by one; `summary`: one daily digest of the shadow
 * groups' decisions (handlers/shadow-digest.ts), `none`: not at all (`deploy-guard decisions` lists them).
 */
export const SHADOW_NOTIFICATIONS = ['summary', 'none'] as const;

/**
 * Who is told what: e-mail subscribers of the notification topic (one readable message per stop,
 * failed rollback and model change), and optionally a Slack channel and a Microsoft Teams channel
 * through AWS Chatbot (the same message on a chat topic of their own).
 */
export const notificationsConfig = z
  .object({
    emails: z.array(z.email({ message: 'expected an e-mail address' })).default([]),
    shadow: z.enum(SHADOW_NOTIFICATIONS).default('none'),
    /** A Slack channel: the workspace (authorized once in the AWS Chatbot console) and the channel's id. */
    slack: z
      .object({
        workspaceId: z.string().regex(/^[0-9A-Z]{1,255}$/, { message: "expected a Slack workspace (team) id such as 'T01ABCDEF'" }),
        channelId: z.string().regex(/^[A-Za-z0-9]{1,255}$/, { message: "expected a Slack channel id such as 'C01ABCDEF'" }),
      })
      .strict()
      .optional(),
    /** A Microsoft Teams channel: the team (authorized once in the AWS Chatbot console), its channel and the tenant. */
    teams: z
      .object({
        teamId: z.guid({ message: 'expected the Microsoft Teams team id (a GUID)' }),
        channelId: z.string().regex(/^[^\s]{1,255}$/, { message: "expected a Teams channel id such as '19:abc@thread.tacv2'" }),
        tenantId: z.guid({ message: 'expected the Microsoft Entra tenant id (a GUID)' }),
      })
      .strict()
      .optional(),
  })
  .strict();

const reservedConcurrency = z.number().int().min(1).max(1000);

/**
 * Concurrent executions reserved for the handlers that act while a deployment runs: always
 * available to them (a busy account cannot starve them) and their ceiling. The traffic hook holds
 * one for as long as it waits for an assessment (up to a minute per deployment).
 */
export const reservedConcurrencyConfig = z
  .object({
    predict: reservedConcurrency.default(10),
    trafficHook: reservedConcurrency.default(10),
    rollback: reservedConcurrency.default(5),
  })
  .strict();

/** The model the project ships, trained on the bundled history (`deploy-guard train`, see README). */
export const SHIPPED_INITIAL_MODEL = path.resolve(__dirname, '..', 'model', 'initial');

/** The first served model: a `deploy-guard train` output folder, relative to the configuration file. */
export const modelConfig = z
  .object({ initial: z.string().min(1).default(SHIPPED_INITIAL_MODEL) })
  .strict();

export const backendConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  z
    .object({
      kind: z.literal('s3'),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'expected an S3 bucket name' }),
      key: z.string().min(1),
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "expected an AWS region such as 'us-east-1'" }),
      dynamodbTable: z.string().min(3),
    })
    .strict(),
]);

/**
 * What an environment gets when its configuration leaves a section out, so that a minimal one
 * (deploy-guard.config.minimal.json) names only where it goes and what it guards: the smallest
 * serverless endpoint, a yearly data window retrained at most daily, promotion on AUC 0.65 without a
 * human, and no notebook.
 */
export const DEFAULT_HOSTING = { kind: 'serverless', memorySizeInMb: 2048, maxConcurrency: 5 } as const;
export const DEFAULT_RETRAINING = { instanceType: 'ml.m5.large', dataWindowDays: 365, cooldownHours: 24, maxRuntimeSeconds: 3600 } as const;
export const DEFAULT_PROMOTION = { minimumAuc: 0.65, approval: 'Approved' } as const;
export const DEFAULT_NOTEBOOK = { enabled: false, instanceType: 'ml.t3.medium', sandbox: false } as const;

/** Each pipeline gate names a group this environment guards (in groups, or its example), once. */
function pipelineGateIssues(
  environment: {
    readonly namePrefix: string;
    readonly example?: Pick<GroupPolicy, 'mode' | 'onRisk' | 'holdTimeoutMinutes'>;
    readonly groups: readonly (Pick<GroupPolicy, 'application' | 'deploymentGroup' | 'mode' | 'onRisk' | 'holdTimeoutMinutes'>)[];
    readonly pipelineGates: readonly PipelineGateConfig[];
  },
  guarded: ReadonlySet<string>,
  context: z.RefinementCtx,
): void {
  const example = environment.example ? exampleGroupNames(environment.namePrefix) : undefined;
  const keys = new Set([...guarded, ...(example ? [groupKey(example.application, example.deploymentGroup)] : [])]);
  const gated = new Set<string>();
  environment.pipelineGates.forEach((gate, index) => {
    const key = groupKey(gate.application, gate.deploymentGroup);
    if (!keys.has(key)) context.addIssue({ code: 'custom', path: ['pipelineGates', index], message: `expected a group this environment guards (${[...keys].join(', ') || 'none'}); ${key} is not one` });
    if (gated.has(key)) context.addIssue({ code: 'custom', path: ['pipelineGates', index], message: `expected each group's gate once; ${key} is gated twice` });
    gated.add(key);
    const group = example && key === groupKey(example.application, example.deploymentGroup) ? environment.example : environment.groups.find((candidate) => groupKey(candidate.application, candidate.deploymentGroup) === key);
    const hold = group && holdPolicyOf({ mode: group.mode, onRisk: group.onRisk, holdTimeoutMinutes: group.holdTimeoutMinutes });
    if (hold && hold.timeoutMinutes > PIPELINE_HOLD_LIMIT_MINUTES) {
      context.addIssue({
        code: 'custom',
        path: ['pipelineGates', index],
        message: `expected the hold of ${key} (holdTimeoutMinutes ${hold.timeoutMinutes}) to end within ${PIPELINE_HOLD_LIMIT_MINUTES} minutes: CodePipeline fails a Lambda invoke action still in progress after 24 hours, and the gate settles a hold at the action's next invocation`,
      });
    }
  });
}

/**
 * How long the pipeline gate may hold a release: CodePipeline sets a Lambda invoke action that is
 * still in progress after 24 hours to failed (its quotas page), less 20 minutes, the longest it
 * waits for an invocation's answer, for the invocation after the hold's end to settle it.
 */
export const PIPELINE_HOLD_LIMIT_MINUTES = 24 * 60 - 20;

/** events/emitted.ts validateEventSource's verdict, as an issue at the key. */
function eventSourceIssue(source: string, context: z.RefinementCtx): void {
  try {
    validateEventSource(source);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `expected an event source of your own: ${(error as Error).message}` });
  }
}

export const environmentConfig = z
  .object({
    region: z.string().regex(REGION, { message: "expected an AWS region such as 'us-east-1'" }),
    accountId: z.string().regex(/^\d{12}$/, { message: 'expected a 12-digit AWS account id (as a string)' }),
    namePrefix: z.string().regex(/^[a-z][a-z0-9-]{0,29}$/, { message: 'expected 1 to 30 lowercase letters, digits or hyphens, starting with a letter' }),
    eventSource: z.string().superRefine(eventSourceIssue).optional(),
    metricsNamespace: z.string().min(1).default(DEFAULT_METRICS_NAMESPACE),
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), { message: `expected a CloudWatch Logs retention in days, one of ${LOG_RETENTION_DAYS.join(', ')}` })
      .default(30),
    reservedConcurrency: reservedConcurrencyConfig.prefault({}),
    operators,
    groups: z.array(guardedGroupConfig),
    /** The example service, created and guarded by this environment. */
    example: exampleConfig.optional(),
    hosting: hostingConfig.default(DEFAULT_HOSTING),
    retraining: retrainingConfig.default(DEFAULT_RETRAINING),
    promotion: promotionConfig.default(DEFAULT_PROMOTION),
    qualityAlarms: qualityAlarmsConfig.default({}),
    notifications: notificationsConfig.prefault({}),
    notebook: notebookConfig.default(DEFAULT_NOTEBOOK),
    model: modelConfig.default({ initial: SHIPPED_INITIAL_MODEL }),
    backend: backendConfig.default({ kind: 'local' }),
    /** Pipeline gate stages, one per guarded group a CodePipeline deploys to (README: "A gate in the pipeline"). */
    pipelineGates: z.array(pipelineGateConfig).default([]),
  })
  .strict()
  .superRefine((environment, context) => {
    const seen = new Set<string>();
    environment.groups.forEach((group, index) => {
      const key = groupKey(group.application, group.deploymentGroup);
      if (seen.has(key)) context.addIssue({ code: 'custom', path: ['groups', index], message: `expected each deployment group once; ${key} is configured twice` });
      seen.add(key);
    });
    pipelineGateIssues(environment, seen, context);
    // One cut over every group on the installation's scope: they hold one budget.
    const onInstallationCut = [
      ...environment.groups.map((group, index) => ({ group, path: ['groups', index, 'blockBudget'] })),
      ...(environment.example ? [{ group: environment.example, path: ['example', 'blockBudget'] }] : []),
    ].filter(({ group }) => group.cutScope === 'installation' && group.threshold === undefined);
    const shared = onInstallationCut[0]?.group.blockBudget;
    for (const { group, path } of onInstallationCut) {
      if (group.blockBudget !== shared) {
        context.addIssue({ code: 'custom', path, message: `groups on the installation's cut share one block budget (${shared}); set cutScope: group for a budget of the group's own` });
      }
    }
    const standsFor = new Map<string, string>();
    environment.groups.forEach((group, index) => {
      (group.historyGroups ?? []).forEach((historyGroup, position) => {
        const first = standsFor.get(historyGroup);
        const key = groupKey(group.application, group.deploymentGroup);
        if (first) context.addIssue({ code: 'custom', path: ['groups', index, 'historyGroups', position], message: `history group ${historyGroup} is already replayed as ${first}; name it in one group only` });
        standsFor.set(historyGroup, key);
      });
    });
    if (environment.groups.length === 0 && !environment.example) {
      context.addIssue({ code: 'custom', path: ['groups'], message: 'expected at least one guarded group: an entry of groups, or an example' });
    }
    const example = environment.example;
    if (!example) return;
    const names = exampleGroupNames(environment.namePrefix);
    const key = groupKey(names.application, names.deploymentGroup);
    if (seen.has(key)) context.addIssue({ code: 'custom', path: ['example'], message: `expected the example's deployment group ${key} not to be configured in groups as well` });
    // The example's load balancer is <namePrefix>-alb, and load balancer names have at most 32 characters.
    if (!/^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/.test(environment.namePrefix)) {
      context.addIssue({ code: 'custom', path: ['namePrefix'], message: 'expected at most 24 characters, ending with a letter or digit, with an example (its load balancer is <namePrefix>-alb)' });
    }
    example.availabilityZones.forEach((zone, index) => {
      if (ZONE.test(zone) && REGION.test(environment.region) && !new RegExp(`^${environment.region}[a-z]$`).test(zone)) {
        context.addIssue({ code: 'custom', path: ['example', 'availabilityZones', index], message: `expected a zone of region ${environment.region} such as '${environment.region}a'` });
      }
    });
    if (example.availabilityZones.length === 2 && example.availabilityZones[0] === example.availabilityZones[1]) {
      context.addIssue({ code: 'custom', path: ['example', 'availabilityZones', 1], message: 'expected two different zones' });
    }
  });
export type EnvironmentConfig = z.output<typeof environmentConfig>;

export const deployGuardConfig = z
  .object({
    /** The JSON Schema an editor checks the file against (schemas/deploy-guard.config.schema.json); ignored here. */
    $schema: z.string().optional(),
    environments: z
      .record(z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, { message: 'expected an environment name of lowercase letters, digits or hyphens' }), environmentConfig)
      .refine((environments) => Object.keys(environments).length > 0, { message: 'expected at least one environment' })
      .superRefine((environments, context) => {
        for (const overlap of overlappingPrefixes(environments)) context.addIssue({ code: 'custom', path: [overlap.longer, 'namePrefix'], message: overlap.message });
      }),
  })
  .strict();

/**
 * Pairs of environments whose name prefixes overlap: one is the other, or starts with it. Drift,
 * promote and IAM recognise an installation's alarms, jobs and resources by `<namePrefix>-…`, so
 * `deploy-guard-dev` would take `deploy-guard-dev-x`'s (and the bare `deploy-guard` everyone's).
 */
function overlappingPrefixes(environments: Readonly<Record<string, { readonly namePrefix: string }>>): { longer: string; message: string }[] {
  const entries = Object.entries(environments);
  const overlaps: { longer: string; message: string }[] = [];
  entries.forEach(([first, { namePrefix: a }], index) => {
    for (const [second, { namePrefix: b }] of entries.slice(index + 1)) {
      if (!a.startsWith(b) && !b.startsWith(a)) continue;
      const [shorter, longer] = a.length <= b.length ? [first, second] : [second, first];
      overlaps.push({
        longer,
        message:
          `namePrefix '${environments[longer].namePrefix}' overlaps ${formatPath(['environments', shorter, 'namePrefix'])} '${environments[shorter].namePrefix}': ` +
          `one installation would take the other's alarms, training jobs and IAM resources as its own. Choose prefixes where neither starts with the other`,
      });
    }
  });
  return overlaps;
}
export type DeployGuardConfig = z.output<typeof deployGuardConfig>;

/** The configuration is wrong: names the file, and every key path with what was expected there. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
  }
}

/** The key paths an object of the document holds more than once, as formatPath writes them. */
export function duplicateKeys(node: JsonNode, path: readonly (string | number)[] = []): string[] {
  if (node.kind === 'array') return node.items.flatMap((item, index) => duplicateKeys(item, [...path, index]));
  if (node.kind !== 'object') return [];
  const seen = new Set<string>();
  const found: string[] = [];
  for (const [key, value] of node.members) {
    if (seen.has(key) && !found.includes(formatPath([...path, key]))) found.push(formatPath([...path, key]));
    seen.add(key);
    found.push(...duplicateKeys(value, [...path, key]));
  }
  return found;
}

/** Validates a parsed configuration; `file` names it in errors. */
export function parseConfig(value: unknown, file = 'deploy-guard.config.json'): DeployGuardConfig {
  const result = deployGuardConfig.safeParse(value);
  if (!result.success) {
    throw new ConfigError(file, result.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`));
  }
  // A model folder is named relative to the file that names it (the default is absolute already).
  for (const environment of Object.values(result.data.environments)) environment.model.initial = path.resolve(path.dirname(file), environment.model.initial);
  return result.data;
}

/** Reads and validates the configuration file. */
export function loadConfig(file: string): DeployGuardConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot be read (${(error as Error).message})`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [`is not JSON (${(error as Error).message})`]);
  }
  // JSON.parse keeps the last of two equal keys silently: a setting written twice is refused instead.
  const duplicates = duplicateKeys(parseJsonText(text));
  if (duplicates.length > 0) throw new ConfigError(file, duplicates.map((path) => `${path}: the key appears more than once; keep one`));
  return parseConfig(value, file);
}

/** What a gate group does with a risky deployment: given only when it holds (absent: it stops it). */
export function groupHold(group: Pick<GuardedGroupConfig, 'onRisk' | 'holdTimeoutMinutes' | 'onHoldTimeout'>): Pick<GroupPolicy, 'onRisk' | 'holdTimeoutMinutes' | 'onHoldTimeout'> {
  return {
    ...(group.onRisk === undefined ? {} : { onRisk: group.onRisk }),
    ...(group.holdTimeoutMinutes === undefined ? {} : { holdTimeoutMinutes: group.holdTimeoutMinutes }),
    ...(group.onHoldTimeout === undefined ? {} : { onHoldTimeout: group.onHoldTimeout }),
  };
}

/** How a group decides: its block budget (or the fixed threshold an expert set instead) and its exploration share. */
export function groupDecision(group: Pick<GuardedGroupConfig, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'>): Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'> {
  return { blockBudget: group.blockBudget, ...(group.threshold === undefined ? {} : { threshold: group.threshold }), exploration: group.exploration, cutScope: group.cutScope };
}

/**
 * What is valid but unwise in a configuration, one line each with the key path: a fixed threshold
 * does not hold a rate (it drifts with each model's calibration and with the loop).
 */
export function configWarnings(config: DeployGuardConfig): string[] {
  const warnings: string[] = [];
  for (const [name, environment] of Object.entries(config.environments)) {
    const fixed = (path: string) =>
      `environments.${name}.${path}.threshold: a fixed threshold does not hold a block rate (it drifts with every retrained model); prefer blockBudget`;
    environment.groups.forEach((group, index) => group.threshold !== undefined && warnings.push(fixed(`groups[${index}]`)));
    if (environment.example?.threshold !== undefined) warnings.push(fixed('example'));
  }
  return warnings;
}

/**
 * The settings each history group named by `historyGroups` is replayed with (`backtest --config
 * --environment`): its configured group's, by history group.
 */
export function historyGroupSettings(environment: Pick<EnvironmentConfig, 'groups' | 'namePrefix'>): Record<string, HistoryGroupSettings> {
  const settings: Record<string, HistoryGroupSettings> = {};
  const policies = toGroupPolicies(environment.groups, environment.namePrefix);
  environment.groups.forEach((group, index) => {
    const { application, deploymentGroup, ...policy } = policies[index];
    for (const historyGroup of group.historyGroups ?? []) settings[historyGroup] = { ...policy, configuredGroup: groupKey(application, deploymentGroup) };
  });
  return settings;
}

/** A configured group's settings, applied to a history group it names (`historyGroups`). */
export type HistoryGroupSettings = Omit<GroupPolicy, 'application' | 'deploymentGroup'> & { readonly configuredGroup: string };

/** The handlers' view of the guarded groups (ENV.groups), validated by handlers/config.ts's own schema. */
export function toGroupPolicies(groups: readonly GuardedGroupConfig[], namePrefix = 'deploy-guard'): GroupPolicy[] {
  return groupPolicies.parse(
    groups.map((group) => {
      const alarmNames = groupAlarmNames(namePrefix, group);
      return {
        application: group.application,
        deploymentGroup: group.deploymentGroup,
        platform: group.platform,
        mode: group.mode,
        ...groupDecision(group),
        failurePolicy: group.failurePolicy,
        ...groupHold(group),
        ...(alarmNames.length > 0 ? { alarmNames } : {}),
        ...(group.bake ? { bake: group.bake } : {}),
      };
    }),
  );
}

/**
 * Every group the environment guards, for the handlers (ENV.groups): the configured groups, then the
 * example's when there is one. Validated by handlers/config.ts's own schema.
 */
export function guardedGroupPolicies(environment: Pick<EnvironmentConfig, 'namePrefix' | 'groups' | 'example'>): GroupPolicy[] {
  const { example } = environment;
  if (!example) return toGroupPolicies(environment.groups, environment.namePrefix);
  const names = exampleGroupNames(environment.namePrefix);
  const policy = { application: names.application, deploymentGroup: names.deploymentGroup, platform: 'Server', mode: example.mode, ...groupDecision(example), failurePolicy: example.failurePolicy, ...groupHold(example) };
  return groupPolicies.parse([...toGroupPolicies(environment.groups, environment.namePrefix), policy]);
}

/** Every group the environment guards (the configured ones, then the example's) with the costs its net benefit is reported at: the configured ones, else DEFAULT_COSTS. */
export function guardedGroupCosts(environment: Pick<EnvironmentConfig, 'namePrefix' | 'groups' | 'example'>): { application: string; deploymentGroup: string; costs: DecisionCosts }[] {
  const groups = environment.groups.map((group) => ({ application: group.application, deploymentGroup: group.deploymentGroup, costs: group.costs ?? DEFAULT_COSTS }));
  if (environment.example) groups.push({ ...exampleGroupNames(environment.namePrefix), costs: environment.example.costs ?? DEFAULT_COSTS });
  return groups;
}

/** What the daily digest covers (ENV.shadowDigest): the groups in shadow mode, with their costs. */
export function shadowDigestSettingsOf(environment: Pick<EnvironmentConfig, 'namePrefix' | 'groups' | 'example'>): ShadowDigestSettings {
  const shadow = new Set(guardedGroupPolicies(environment).filter((group) => group.mode === 'shadow').map((group) => groupKey(group.application, group.deploymentGroup)));
  return { groups: guardedGroupCosts(environment).filter((group) => shadow.has(groupKey(group.application, group.deploymentGroup))) };
}

/**
 * Who may publish each guarded application's change summaries: the union of its groups'
 * changeSummaryPublishers (and the example's), an empty list for an application that names none.
 */
export function changeSummaryPublishersByApplication(environment: Pick<EnvironmentConfig, 'namePrefix' | 'groups' | 'example'>): Readonly<Record<string, readonly string[]>> {
  const byApplication: Record<string, string[]> = {};
  const add = (application: string, publishers: readonly string[]) => {
    byApplication[application] = [...new Set([...(byApplication[application] ?? []), ...publishers])];
  };
  for (const group of environment.groups) add(group.application, group.changeSummaryPublishers);
  if (environment.example) add(exampleGroupNames(environment.namePrefix).application, environment.example.changeSummaryPublishers);
  return byApplication;
}

/** A role named by the configuration (an ARN, or a name in the installation's account) as its ARN. */
export function iamRoleArn(role: string, partition: string, accountId: string): string {
  return role.startsWith('arn:') ? role : `arn:${partition}:iam::${accountId}:role/${role}`;
}
