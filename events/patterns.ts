import {
  CLOUDWATCH_ALARM_STATE_CHANGE,
  CLOUDWATCH_SOURCE,
  CODEDEPLOY_ASSESSED_STATES,
  CODEDEPLOY_DEPLOYMENT_STATE_CHANGE,
  CODEDEPLOY_FINAL_STATES,
  CODEDEPLOY_UNSUCCESSFUL_STATES,
  CODEDEPLOY_SOURCE,
  CODEPIPELINE_ACTION_EXECUTION,
  CODEPIPELINE_SOURCE,
  SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE,
  SAGEMAKER_SOURCE,
  SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
  SCHEDULED_EVENT,
  TRAINING_JOB_FINAL_STATUSES,
  type AwsEventKind,
} from './aws';
import {
  DEFAULT_EVENT_SOURCE,
  deploymentBakeRolledBack,
  deploymentChangeSummary,
  deploymentHeld,
  deploymentRiskAssessed,
  deploymentRollbackFailed,
  deploymentRollbackRequested,
  modelPromoted,
  modelRegistered,
  modelRejected,
  modelRetrainingStarted,
  operatorOverride,
  pipelineGateDecided,
  validateEventSource,
  type EmittedEventKind,
} from './emitted';
import type { EventPattern } from './matcher';
import { rateExpression } from './schedule';
import type { HandlerName } from '../handlers/entries';
import { ownName, ownNames } from './names';

/**
 * Every rule of the system, defined once. The stacks create these rules, the local bus routes with
 * them, and the tests prove which real events reach which rule. Nothing else writes a pattern.
 * Besides the rules that match events, one rule fires on a schedule (retrainingScheduleRule).
 */

/** Which bus a rule listens on: AWS service events arrive on the default bus, Deploy Guard's on its own. */
export type BusRole = 'default' | 'deploy-guard';

/** The handler a rule feeds (of HANDLER_NAMES; CodeDeploy, not a rule, invokes the traffic hook). */
export type RuleTarget = Exclude<HandlerName, 'traffic-hook'>;

/** What every rule of the system says: its name, what it is for, and the handler it feeds. */
export interface RuleDefinition {
  /** Stable logical name: the Terraform rule is `<namePrefix>-<name>`; also used in reports. */
  readonly name: string;
  readonly description: string;
  readonly target: RuleTarget;
  /** The event kinds this rule is meant to deliver. */
  readonly consumes: readonly (AwsEventKind | EmittedEventKind)[];
}

/** A rule that delivers the events its pattern matches. */
export interface SystemRule extends RuleDefinition {
  readonly bus: BusRole;
  readonly pattern: EventPattern;
}

/** A rule that fires on a schedule and sends a Scheduled Event; EventBridge runs these only on the default bus. */
export interface TimedRule extends RuleDefinition {
  readonly bus: 'default';
  /** `rate(N unit)`, as EventBridge writes it (events/schedule.ts). */
  readonly scheduleExpression: string;
}

/** A schedule counted in days (the retraining schedule). */
export interface ScheduleRule extends TimedRule {
  readonly periodDays: number;
}

export interface RuleOptions {
  /** The installation's event source (default `deploy-guard`). */
  readonly source?: string;
  /**
   * Prefix of the names of Deploy Guard's own CloudWatch alarms and SageMaker training jobs, so
   * that drift and promote react to nothing else in the account (default `deploy-guard`).
   */
  readonly namePrefix?: string;
  /**
   * The CloudWatch alarms the guarded groups' bakes watch (handlers/bake-domain.ts watchedAlarmNames):
   * with any, the bake rules deliver their state changes and the bake-tier assessments to bake.
   */
  readonly bakeAlarmNames?: readonly string[];
}

export const DEFAULT_NAME_PREFIX = 'deploy-guard';

/** Deploy Guard's model-quality alarms (created by stacks/retraining.ts): in ALARM, each starts retraining. */
export const MODEL_ALARMS = ['error-rate', 'brier'] as const;
export type ModelAlarm = (typeof MODEL_ALARMS)[number];

/** The one rule for a model alarm's name, used by the stack that creates it and the rule that listens for it. */
export function modelAlarmName(namePrefix: string, alarm: ModelAlarm): string {
  return ownName(namePrefix, `model-${alarm}`);
}

/** The installation's SageMaker model package group: promote registers there, and its approvals reach promote. */
export function modelPackageGroupName(namePrefix: string): string {
  return ownName(namePrefix, 'risk');
}

/** The system's rules for one installation. */
export function systemRules(options: RuleOptions = {}): readonly SystemRule[] {
  const source = validateEventSource(options.source ?? DEFAULT_EVENT_SOURCE);
  const namePrefix = options.namePrefix ?? DEFAULT_NAME_PREFIX;
  if (!/^[A-Za-z0-9-]{1,40}$/.test(namePrefix)) {
    throw new Error(`name prefix '${namePrefix}' must be 1 to 40 letters, digits or hyphens`);
  }
  return [...coreRules(source, namePrefix), ...bakeRules(source, options.bakeAlarmNames ?? [])];
}

/** The bake tier's rules: its assessments (to open a bake), its alarms' state changes (to roll back) and deployments that failed or were stopped (to end a bake), into bake. None without watched alarms. */
function bakeRules(source: string, alarmNames: readonly string[]): SystemRule[] {
  if (alarmNames.length === 0) return [];
  return [
    {
      name: 'bake-assessed',
      description: 'predict put a deployment in the bake tier: watch it through its bake window after its traffic moves.',
      bus: 'deploy-guard',
      target: 'bake',
      consumes: [deploymentRiskAssessed.detailType],
      pattern: { source: [source], 'detail-type': [deploymentRiskAssessed.detailType], detail: { tier: ['bake'], decision: ['proceed'], enforced: [true] } },
    },
    {
      name: 'bake-alarm',
      description: "An alarm of a group with a bake tier changed state: roll back the group's baking deployments on ALARM.",
      bus: 'default',
      target: 'bake',
      consumes: [CLOUDWATCH_ALARM_STATE_CHANGE],
      pattern: { source: [CLOUDWATCH_SOURCE], 'detail-type': [CLOUDWATCH_ALARM_STATE_CHANGE], detail: { alarmName: [...alarmNames].sort() } },
    },
    {
      name: 'bake-deployment-ended',
      description: 'A CodeDeploy deployment failed or was stopped: end its bake, if it has one, with nothing left to roll back.',
      bus: 'default',
      target: 'bake',
      consumes: [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
      pattern: { source: [CODEDEPLOY_SOURCE], 'detail-type': [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE], detail: { state: [...CODEDEPLOY_UNSUCCESSFUL_STATES] } },
    },
  ];
}

function coreRules(source: string, namePrefix: string): SystemRule[] {
  return [
    {
      name: 'deployment-started',
      description: 'CodeDeploy deployment started, or a blue/green replacement is ready: assess it before traffic moves.',
      bus: 'default',
      target: 'predict',
      consumes: [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
      pattern: {
        source: [CODEDEPLOY_SOURCE],
        'detail-type': [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
        detail: { state: [...CODEDEPLOY_ASSESSED_STATES] },
      },
    },
    {
      name: 'pipeline-deploy-action-started',
      description: 'A CodePipeline deploy action that runs CodeDeploy started: assess the deployment it creates.',
      bus: 'default',
      target: 'predict',
      consumes: [CODEPIPELINE_ACTION_EXECUTION],
      pattern: {
        source: [CODEPIPELINE_SOURCE],
        'detail-type': [CODEPIPELINE_ACTION_EXECUTION],
        detail: { state: ['STARTED'], type: { category: ['Deploy'], provider: ['CodeDeploy', 'CodeDeployToECS'] } },
      },
    },
    {
      name: 'deployment-finished',
      description: 'CodeDeploy deployment succeeded, failed or was stopped: label the assessment.',
      bus: 'default',
      target: 'record-outcome',
      consumes: [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
      pattern: {
        source: [CODEDEPLOY_SOURCE],
        'detail-type': [CODEDEPLOY_DEPLOYMENT_STATE_CHANGE],
        detail: { state: [...CODEDEPLOY_FINAL_STATES] },
      },
    },
    {
      name: 'model-alarm',
      description: "One of Deploy Guard's own model-quality or drift alarms went into ALARM: retrain.",
      bus: 'default',
      target: 'drift',
      consumes: [CLOUDWATCH_ALARM_STATE_CHANGE],
      pattern: {
        source: [CLOUDWATCH_SOURCE],
        'detail-type': [CLOUDWATCH_ALARM_STATE_CHANGE],
        // Exact names: a prefix would take another installation's `<namePrefix>-x-…` alarms too.
        detail: { alarmName: MODEL_ALARMS.map((alarm) => modelAlarmName(namePrefix, alarm)), state: { value: ['ALARM'] } },
      },
    },
    {
      name: 'training-job-finished',
      description: "One of Deploy Guard's training jobs completed, failed or was stopped: promote or reject.",
      bus: 'default',
      target: 'promote',
      consumes: [SAGEMAKER_TRAINING_JOB_STATE_CHANGE],
      pattern: {
        source: [SAGEMAKER_SOURCE],
        'detail-type': [SAGEMAKER_TRAINING_JOB_STATE_CHANGE],
        // Job names are made at run time, so the rule can only narrow by prefix; promote's isOwnTrainingJob
        // (handlers/drift-domain.ts) decides on the whole name, and stacks/config.ts refuses overlapping prefixes.
        detail: { TrainingJobName: [{ prefix: ownNames(namePrefix) }], TrainingJobStatus: [...TRAINING_JOB_FINAL_STATUSES] },
      },
    },
    {
      name: 'model-package-approved',
      description: 'A person approved a model package of the installation\'s group (manual approval): promote deploys it.',
      bus: 'default',
      target: 'promote',
      consumes: [SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE],
      pattern: {
        source: [SAGEMAKER_SOURCE],
        'detail-type': [SAGEMAKER_MODEL_PACKAGE_STATE_CHANGE],
        detail: { ModelPackageGroupName: [modelPackageGroupName(namePrefix)], ModelApprovalStatus: ['Approved'] },
      },
    },
    {
      name: 'change-summary',
      description: 'A CI step reported what a release changes: store it for predict.',
      bus: 'deploy-guard',
      target: 'record-change',
      consumes: [deploymentChangeSummary.detailType],
      pattern: { source: [source], 'detail-type': [deploymentChangeSummary.detailType] },
    },
    {
      name: 'rollback-requested',
      description: 'predict asked for a risky deployment to be rolled back.',
      bus: 'deploy-guard',
      target: 'rollback',
      consumes: [deploymentRollbackRequested.detailType],
      pattern: { source: [source], 'detail-type': [deploymentRollbackRequested.detailType] },
    },
    {
      name: 'gate-proceed',
      description:
        "predict let an EC2/on-premises blue/green deployment waiting at READY proceed (its decision, or a would-be stop let through by an operator's override or pause or by the pipeline gate's pass of its release): ContinueDeployment before the wait times out.",
      bus: 'deploy-guard',
      target: 'rollback',
      consumes: [deploymentRiskAssessed.detailType],
      pattern: {
        source: [source],
        'detail-type': [deploymentRiskAssessed.detailType],
        $or: [
          { detail: { mode: ['gate'], trigger: ['READY'], decision: ['proceed'], enforced: [true] } },
          { detail: { mode: ['gate'], trigger: ['READY'], enforced: [false], override: { kind: [{ exists: true }] } } },
          { detail: { mode: ['gate'], trigger: ['READY'], enforced: [false], gate: { letThrough: [true] } } },
        ],
      },
    },
    {
      name: 'notify',
      description:
        "What a person should hear about, once per decision: an enforced stop, a rollback that could not be done, a deployment held for a person, a bake rolled back on an alarm, retraining and model changes, an operator's override, pause, approval or rejection, a release the pipeline gate failed or holds. Shadow decisions are not told one by one.",
      bus: 'deploy-guard',
      target: 'notify',
      consumes: [
        deploymentRiskAssessed.detailType,
        deploymentRollbackFailed.detailType,
        deploymentHeld.detailType,
        deploymentBakeRolledBack.detailType,
        modelRetrainingStarted.detailType,
        modelPromoted.detailType,
        modelRegistered.detailType,
        modelRejected.detailType,
        operatorOverride.detailType,
        pipelineGateDecided.detailType,
      ],
      pattern: {
        source: [source],
        $or: [
          // The stop itself is the decision; its completion (Rollback Completed) is what was announced.
          { 'detail-type': [deploymentRiskAssessed.detailType], detail: { decision: ['rollback'], enforced: [true] } },
          // A release the pipeline gate failed or holds, before its deployment exists.
          { 'detail-type': [pipelineGateDecided.detailType], detail: { outcome: ['fail', 'hold'], enforced: [true] } },
          {
            'detail-type': [
              deploymentRollbackFailed.detailType,
              deploymentHeld.detailType,
              deploymentBakeRolledBack.detailType,
              modelRetrainingStarted.detailType,
              modelPromoted.detailType,
              modelRegistered.detailType,
              modelRejected.detailType,
              operatorOverride.detailType,
            ],
          },
        ],
      },
    },
  ];
}

/** The logical name of the retraining schedule: its Terraform rule is `<namePrefix>-retraining-schedule`. */
export const RETRAINING_SCHEDULE_RULE = 'retraining-schedule';

/**
 * The retraining schedule: every `days` days a Scheduled Event reaches drift, which retrains on the
 * recent rows whether or not an alarm went off (a model also ages without tripping its alarms).
 * Created by the Retraining construct; drift reacts only to this rule's ARN.
 */
export function retrainingScheduleRule(days: number): ScheduleRule & { readonly periodDays: number } {
  return {
    name: RETRAINING_SCHEDULE_RULE,
    description: `Every ${days} day${days === 1 ? '' : 's'}: retrain on the recent labelled rows, alarm or not.`,
    bus: 'default',
    target: 'drift',
    consumes: [SCHEDULED_EVENT],
    scheduleExpression: rateExpression(days, 'day'),
    periodDays: days,
  };
}

/** The logical name of the hold timeouts' schedule: its Terraform rule is `<namePrefix>-hold-timeouts`. */
export const HOLD_TIMEOUTS_RULE = 'hold-timeouts';

/**
 * Every minute, the rollback function settles the holds whose timeout has come (handlers/holds.ts):
 * created only when a guarded group holds risky deployments for a person (`onRisk: hold`).
 */
export function holdTimeoutsRule(): TimedRule {
  return {
    name: HOLD_TIMEOUTS_RULE,
    description: "Every minute: settle the holds whose timeout has come, as the group's onHoldTimeout says.",
    bus: 'default',
    target: 'rollback',
    consumes: [SCHEDULED_EVENT],
    scheduleExpression: rateExpression(1, 'minute'),
  };
}

/** The logical name of the bake sweep: its Terraform rule is `<namePrefix>-bake-sweep`. */
export const BAKE_SWEEP_RULE = 'bake-sweep';

/** Every minute: bake closes the bakes whose window has ended (passed, or rolled back if an alarm is in ALARM). */
export function bakeSweepRule(): TimedRule {
  return {
    name: BAKE_SWEEP_RULE,
    description: 'Every minute: close the bakes whose window has ended, and roll back those whose alarm is in ALARM.',
    bus: 'default',
    target: 'bake',
    consumes: [SCHEDULED_EVENT],
    scheduleExpression: rateExpression(1, 'minute'),
  };
}

/** The logical name of the shadow digest's schedule: its Terraform rule is `<namePrefix>-shadow-digest`. */
export const SHADOW_DIGEST_RULE = 'shadow-digest';

/**
 * Once a day, shadow-digest tells the shadow groups' decisions of the last day in one message
 * (handlers/shadow-digest.ts): created only with `notifications.shadow: summary`.
 */
export function shadowDigestRule(): TimedRule {
  return {
    name: SHADOW_DIGEST_RULE,
    description: "Every day: one message with the last day's shadow-mode decisions of each shadow group.",
    bus: 'default',
    target: 'shadow-digest',
    consumes: [SCHEDULED_EVENT],
    scheduleExpression: rateExpression(1, 'day'),
  };
}

/** The rules of a default installation. */
export const SYSTEM_RULES: readonly SystemRule[] = systemRules();

/** One rule by name, or an error listing the names there are. */
export function ruleNamed(rules: readonly SystemRule[], name: string): SystemRule {
  const rule = rules.find((candidate) => candidate.name === name);
  if (!rule) throw new Error(`no rule named '${name}'; the rules are ${rules.map((r) => r.name).join(', ')}`);
  return rule;
}
