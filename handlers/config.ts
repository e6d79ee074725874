import * as z from 'zod/mini';
import { SCHEDULE_RULE_ARN } from '../events/aws';
import { COMPUTE_PLATFORMS, DEFAULT_EVENT_SOURCE, GUARD_MODES, validateEventSource } from '../events/emitted';
import { parseWith } from '../events/validation';
import '../events/zod-locale';
import { BLOCK_BUDGET, CUT_SCOPES, EXPLORATION } from '../model/block-budget';

/**
 * The configuration the handlers read from their Lambda environment: the variable names (the stacks
 * set them, the handlers read them; both import them from here) and the policy of each guarded
 * deployment group. A wrong value names the variable and what was expected.
 */

/** Every environment variable a handler reads. */
export const ENV = {
  /** Deploy Guard's bus, by name or ARN. */
  eventBus: 'DEPLOY_GUARD_EVENT_BUS',
  /** The installation's event source (default `deploy-guard`). */
  eventSource: 'DEPLOY_GUARD_EVENT_SOURCE',
  /** Name prefix of the installation (job names, model names). */
  namePrefix: 'DEPLOY_GUARD_NAME_PREFIX',
  deploymentsTable: 'DEPLOY_GUARD_DEPLOYMENTS_TABLE',
  historyTable: 'DEPLOY_GUARD_HISTORY_TABLE',
  changesTable: 'DEPLOY_GUARD_CHANGES_TABLE',
  controlTable: 'DEPLOY_GUARD_CONTROL_TABLE',
  /** The S3 data lake of labelled training rows. */
  dataBucket: 'DEPLOY_GUARD_DATA_BUCKET',
  /** Optional: the KMS key (ARN, id or alias) training rows are encrypted with; unset: S3-managed keys (AES256). */
  dataKmsKey: 'DEPLOY_GUARD_DATA_KMS_KEY',
  /** The S3 bucket of model artifacts, training code and evaluations. */
  modelBucket: 'DEPLOY_GUARD_MODEL_BUCKET',
  endpointName: 'DEPLOY_GUARD_ENDPOINT_NAME',
  /** Milliseconds predict waits for the endpoint before its group's failure policy decides. */
  endpointTimeoutMs: 'DEPLOY_GUARD_ENDPOINT_TIMEOUT_MS',
  /** Milliseconds the traffic hook waits for predict's assessment before the failure policy decides (default 60000). */
  trafficHookWaitMs: 'DEPLOY_GUARD_TRAFFIC_HOOK_WAIT_MS',
  /** JSON: the guarded groups' policies (GroupPolicy[]). */
  groups: 'DEPLOY_GUARD_GROUPS',
  /** JSON: the retraining settings (RetrainingSettings). */
  retraining: 'DEPLOY_GUARD_RETRAINING',
  /** JSON: the promotion settings (PromotionSettings). */
  promotion: 'DEPLOY_GUARD_PROMOTION',
  /** CloudWatch namespace of the model-quality metrics. */
  metricsNamespace: 'DEPLOY_GUARD_METRICS_NAMESPACE',
  /** The installation's AWS account id: the only account whose events the rollback handler acts on. */
  accountId: 'DEPLOY_GUARD_ACCOUNT_ID',
  /** JSON: where notify publishes and what its messages point to (NotificationSettings). */
  notifications: 'DEPLOY_GUARD_NOTIFICATIONS',
  /** JSON: the shadow-mode groups the daily digest tells about, with their costs (ShadowDigestSettings). */
  shadowDigest: 'DEPLOY_GUARD_SHADOW_DIGEST',
  /** The environment's name in deploy-guard.config.json: the `--environment` of the commands the pipeline gate's answers suggest. */
  environment: 'DEPLOY_GUARD_ENVIRONMENT',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

export const FAILURE_POLICIES = ['fail-open', 'fail-closed'] as const;
/** What a gate group does with a risky deployment: stop it, or hold it for a person to approve or reject. */
export const ON_RISK = ['stop', 'hold'] as const;
/** What a hold's timeout decides when nobody did. */
export const HOLD_TIMEOUT_ACTIONS = ['reject', 'approve'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** Minutes CodeDeploy waits for a lifecycle hook's status (ECS, Lambda) before it fails the deployment. */
export const HOOK_TIMEOUT_MINUTES = 60;
/** The longest bake an ECS / Lambda group may have: the AfterAllowTraffic hook must be answered well within its hour. */
export const MAX_HOOK_BAKE_MINUTES = 50;

/**
 * The bake tier: below the stop cut, the next riskiest deployments are watched for `minutes` after
 * their traffic moves; any of the group's alarms in ALARM during that window rolls the deployment
 * back. The tier is a further share of the group's deployments (`tierBudget`: its cut is the
 * (1 - (blockBudget + tierBudget)) quantile of the same recent scores the stop cut is taken from),
 * or a fixed probability (`threshold`).
 */
export const bakeSettings = z.lazy(() => z
  .strictObject({
    /** Share of the group's deployments baked, the riskiest after the stopped ones. */
    tierBudget: z.optional(z.number().check(z.gt(0), z.lte(0.5))),
    /** Expert override: bake every deployment at or above this probability (and below the stop cut). */
    threshold: z.optional(z.number().check(z.gt(0), z.lt(1))),
    /** How long a baking deployment is watched after its traffic moves. */
    minutes: z.number().check(z.int(), z.gte(1), z.lte(2880)),
  })
  .check(z.refine((bake) => (bake.tierBudget === undefined) !== (bake.threshold === undefined), { message: 'expected exactly one of tierBudget (a share after the stop budget) or threshold (a fixed probability)' })));
export type BakeSettings = z.output<typeof bakeSettings>;

/** How Deploy Guard guards one CodeDeploy deployment group (a new schema each call: the stack extends it). */
export const groupPolicyObject = () => z.strictObject({
  application: z.string().check(z.minLength(1)),
  deploymentGroup: z.string().check(z.minLength(1)),
  platform: z.enum(COMPUTE_PLATFORMS),
  mode: z.enum(GUARD_MODES),
  /**
   * Share of the group's deployments Deploy Guard may stop: the riskiest, by the cut (the (1 - k)
   * quantile of the serving model's recent probabilities, model/block-budget.ts).
   */
  blockBudget: z._default(z.number().check(z.gte(BLOCK_BUDGET.min), z.lte(BLOCK_BUDGET.max)), BLOCK_BUDGET.default),
  /**
   * Expert override: a fixed probability of failure at or above which a deployment is judged risky,
   * instead of the budget's cut. A fixed cut does not hold a rate: it drifts with each model's
   * calibration and with the loop.
   */
  threshold: z.optional(z.number().check(z.gt(0), z.lt(1))),
  /**
   * Whose deployments the budget is a share of: the installation's (one cut over every group on
   * `installation` scope, which must share one budget) or the group's own.
   */
  cutScope: z._default(z.enum(CUT_SCOPES), 'installation'),
  /**
   * Share of would-be stops that proceed at random so that their outcomes are observed (exploration;
   * 0 disables it). Each explored deployment's outcome is weighted by the inverse of that share in
   * training, promotion and the live precision / recall estimate.
   */
  exploration: z._default(z.number().check(z.gte(0), z.lte(EXPLORATION.max)), EXPLORATION.default),
  /** What to do when the endpoint fails, times out or answers ModelError. */
  failurePolicy: z._default(z.enum(FAILURE_POLICIES), 'fail-open'),
  /** Gate mode: what a risky deployment meets, a stop (absent: the default) or a hold for a person (handlers/hold-domain.ts). */
  onRisk: z.optional(z.enum(ON_RISK)),
  /** With onRisk hold: minutes a held deployment waits for `deploy-guard approve` / `reject`. */
  holdTimeoutMinutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(2880))),
  /** With onRisk hold: what the hold's timeout decides. */
  onHoldTimeout: z.optional(z.enum(HOLD_TIMEOUT_ACTIONS)),
  /** The CloudWatch alarms that watch the group's deployments (configured names, and those the stack creates). */
  alarmNames: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(10))),
  /** The bake tier (none: no deployment is baked). */
  bake: z.optional(bakeSettings),
});
/** groupPolicyObject, built on its first use (see LAZY_SCHEMAS in events/envelope.ts). */
export const groupPolicy = z.lazy(groupPolicyObject);
export type GroupPolicy = z.output<typeof groupPolicy>;

export const groupPolicies = z.lazy(() => z.array(groupPolicy).check(z.superRefine((groups, context) => {
  const seen = new Set<string>();
  let installationBudget: number | undefined;
  groups.forEach((group, index) => {
    const key = groupKey(group.application, group.deploymentGroup);
    if (seen.has(key)) context.addIssue({ code: 'custom', path: [index], message: `deployment group ${key} is configured twice` });
    seen.add(key);
    if (group.bake && (group.alarmNames ?? []).length === 0) {
      context.addIssue({ code: 'custom', path: [index, 'bake'], message: 'a bake watches the group\'s alarms: give the group at least one alarm' });
    }
    if (group.bake && group.platform !== 'Server' && group.bake.minutes > MAX_HOOK_BAKE_MINUTES) {
      context.addIssue({ code: 'custom', path: [index, 'bake', 'minutes'], message: `an ${group.platform} group bakes in its AfterAllowTraffic hook, which CodeDeploy fails after ${HOOK_TIMEOUT_MINUTES} minutes: at most ${MAX_HOOK_BAKE_MINUTES}` });
    }
    if (group.cutScope !== 'installation' || group.threshold !== undefined) return;
    installationBudget ??= group.blockBudget;
    if (group.blockBudget !== installationBudget) {
      context.addIssue({ code: 'custom', path: [index, 'blockBudget'], message: `groups on the installation's cut share one block budget (${installationBudget}); set cutScope: group for a budget of the group's own` });
    }
  });
})));

/** One string per deployment group: `application/deploymentGroup`. */
export function groupKey(application: string, deploymentGroup: string): string {
  return `${application}/${deploymentGroup}`;
}

/** The policy of a group, or undefined when Deploy Guard does not guard it. */
export function findPolicy(groups: readonly GroupPolicy[], application: string, deploymentGroup: string): GroupPolicy | undefined {
  return groups.find((group) => group.application === application && group.deploymentGroup === deploymentGroup);
}

/** RetrainingSettings.minimumRows when the configuration does not set it. */
export const DEFAULT_MINIMUM_TRAINING_ROWS = 200;

/** When and how drift starts retraining. */
export const retrainingSettings = z.lazy(() => z.strictObject({
  /** Training instance type, e.g. ml.m5.large. */
  instanceType: z.string().check(z.regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/)),
  instanceCount: z._default(z.number().check(z.int(), z.gte(1)), 1),
  /** Days of labelled data (the most recent) to train on. */
  dataWindowDays: z.number().check(z.int(), z.gte(1), z.lte(3650)),
  /**
   * Labelled rows the window must hold for drift to start a job: fewer, and the alarm starts
   * nothing (a job on too little data fails or cannot beat the serving model, and costs all the same).
   */
  minimumRows: z._default(z.number().check(z.int(), z.gte(1)), DEFAULT_MINIMUM_TRAINING_ROWS),
  /** Hours after a started job during which another alarm starts nothing. */
  cooldownHours: z.number().check(z.gte(0)),
  maxRuntimeSeconds: z._default(z.number().check(z.int(), z.gte(60)), 3600),
  /** The sagemaker-xgboost:1.7-1 image of the stack's region. */
  imageUri: z.string().check(z.regex(/\/sagemaker-xgboost:1\.7-1$/)),
  /** The SageMaker execution role of the training job. */
  roleArn: z.string().check(z.startsWith('arn:')),
  /** s3:// URI of the training script's source directory (script mode). */
  sourceDirS3Uri: z.string().check(z.startsWith('s3://')),
  /** Names of Deploy Guard's own alarms; only these start retraining. */
  alarmNames: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  /**
   * The retraining schedule: the Scheduled Events of this rule (and of no other) start a job every
   * `days` days. Absent: no schedule (retraining.scheduleDays 0), only the alarms start jobs.
   */
  schedule: z.optional(
    z.strictObject({
      ruleArn: z.string().check(z.regex(SCHEDULE_RULE_ARN, 'expected the ARN of a rule on the default event bus')),
      days: z.number().check(z.int(), z.gte(1)),
    }),
  ),
}));
export type RetrainingSettings = z.output<typeof retrainingSettings>;
export type RetrainingSchedule = NonNullable<RetrainingSettings['schedule']>;

/** When promote replaces the serving model. */
export const promotionSettingsObject = () => z.strictObject({
  /** The candidate's AUC on the most recent window must be at least this. */
  minimumAuc: z.number().check(z.gte(0), z.lte(1)),
  /** Register approved (and deploy), or pending manual approval (and do not deploy). */
  approval: z._default(z.enum(['Approved', 'PendingManualApproval']), 'Approved'),
  modelPackageGroupName: z.string().check(z.minLength(1)),
  /** The SageMaker role the served model runs as. */
  executionRoleArn: z.string().check(z.startsWith('arn:')),
  /** Alarms that roll the endpoint's blue/green update back. */
  rollbackAlarmNames: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Serverless (memory, concurrency) or provisioned (instance type and count) hosting of the new config. */
  hosting: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('serverless'), memorySizeInMb: z.number().check(z.int(), z.gte(1024), z.lte(6144)), maxConcurrency: z.number().check(z.int(), z.gte(1), z.lte(200)) }),
    z.strictObject({
      kind: z.literal('provisioned'),
      instanceType: z.string().check(z.regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/)),
      initialInstanceCount: z.number().check(z.int(), z.gte(1)),
      /** s3:// URI where data capture writes, when capture is on. */
      dataCaptureS3Uri: z.optional(z.string().check(z.startsWith('s3://'))),
      /** Share of requests data capture keeps, as the stack declared it. */
      dataCaptureSamplingPercentage: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 100),
      /** The KMS key of the instances' volumes and of captured data, as the stack declared it. */
      kmsKeyArn: z.optional(z.string().check(z.startsWith('arn:'))),
    }),
  ]),
});
/** promotionSettingsObject, built on its first use. */
export const promotionSettings = z.lazy(promotionSettingsObject);
export type PromotionSettings = z.output<typeof promotionSettings>;

const topicArn = z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'expected an SNS topic ARN'));

/** Where notify publishes, and what its messages point to. */
export const notificationSettings = z.lazy(() => z.strictObject({
  /** The environment's name in deploy-guard.config.json: the `--environment` of the commands a message suggests. */
  environment: z.string().check(z.minLength(1)),
  /** The installation's region: the CodeDeploy console links. */
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1')),
  /** The notification topic: a plain-text message with a subject (e-mail). */
  topicArn,
  /** The chat topic, when Slack or Teams is configured: the same message as a Chatbot custom notification. */
  chatTopicArn: z.optional(topicArn),
}));
export type NotificationSettings = z.output<typeof notificationSettings>;

/** The cost of each kind of mistake (model/metrics.ts DecisionCosts), for a group's net benefit. */
const decisionCosts = z.strictObject({ failedDeployment: z.number().check(z.gt(0)), needlessRollback: z.number().check(z.gt(0)) });

/**
 * What the daily digest of shadow decisions covers (handlers/shadow-digest.ts): the groups in shadow
 * mode, each with the costs its graduation's net benefit is judged at.
 */
export const shadowDigestSettings = z.lazy(() => z.strictObject({
  groups: z.array(z.strictObject({ application: z.string().check(z.minLength(1)), deploymentGroup: z.string().check(z.minLength(1)), costs: decisionCosts })),
}));
export type ShadowDigestSettings = z.output<typeof shadowDigestSettings>;

/** A required environment variable; the error names it and says what it should hold. */
export function requireEnv(env: NodeJS.ProcessEnv, name: EnvName, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(name, `is not set: set it to ${what}`);
  return value;
}

/** A JSON environment variable validated by a schema. */
export function jsonEnv<Schema extends z.ZodMiniType>(env: NodeJS.ProcessEnv, name: EnvName, schema: Schema, what: string): z.output<Schema> {
  const text = requireEnv(env, name, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(name, `is not JSON (${(error as Error).message}); expected ${what}`);
  }
  try {
    return parseWith(name, schema, value);
  } catch (error) {
    throw new ConfigurationError(name, (error as Error).message);
  }
}

/** The guarded groups the stack configured a handler with (`ENV.groups`), naming the variable when wrong. */
export function guardedGroupsFromEnv(env: NodeJS.ProcessEnv): GroupPolicy[] {
  return jsonEnv(env, ENV.groups, groupPolicies, 'a JSON list of guarded deployment groups (GroupPolicy[])');
}

export function eventSourceFromEnv(env: NodeJS.ProcessEnv): string {
  return validateEventSource(env[ENV.eventSource] || DEFAULT_EVENT_SOURCE);
}

/** A handler's environment is wrong; names the variable. Thrown at cold start, before any event. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}
