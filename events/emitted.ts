import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { CHANGE_FIELDS, type ChangeFieldName } from '../model/change-fields';
import { envelope } from './envelope';
import { parseWith } from './validation';
import './zod-locale';

/**
 * The events Deploy Guard emits on its own bus. Each has a versioned detail schema (`schemaVersion`),
 * a typed builder and a documented example. All share one `source`, configurable per installation.
 */

/** The source of every Deploy Guard event unless an installation configures its own. */
export const DEFAULT_EVENT_SOURCE = 'deploy-guard';

/**
 * Checks an installation's event source: EventBridge reserves `aws.` for AWS services (PutEvents
 * answers NotAuthorizedForSourceException) and limits a source to 256 characters.
 */
export function validateEventSource(source: string): string {
  if (source.length === 0 || source.length > 256) {
    throw new Error(`event source '${source}' must have 1 to 256 characters`);
  }
  if (source.startsWith('aws.')) {
    throw new Error(`event source '${source}' must not start with 'aws.': that prefix is reserved for AWS services`);
  }
  if (!/^[\x20-\x7e]+$/.test(source)) throw new Error(`event source '${source}' must be printable ASCII`);
  return source;
}

const nonEmpty = z.string().check(z.minLength(1));
const isoTime = z.iso.datetime({ offset: true });
const probability = z.number().check(z.gte(0), z.lte(1));

export const COMPUTE_PLATFORMS = ['Server', 'ECS', 'Lambda'] as const;
export type ComputePlatform = (typeof COMPUTE_PLATFORMS)[number];
/** shadow: assess and notify only; stop: StopDeployment on START; gate: decide at READY / the traffic hook. */
export const GUARD_MODES = ['shadow', 'stop', 'gate'] as const;
export type GuardMode = (typeof GUARD_MODES)[number];
export const DECISIONS = ['proceed', 'rollback'] as const;
export type Decision = (typeof DECISIONS)[number];

/** What was deployed, as CodeDeploy's GetDeployment reports it; the key that joins a change summary to a deployment. */
export const revision = z.lazy(() => z
  .object({
    commitId: z.optional(nonEmpty),
    s3: z.optional(z.object({ bucket: nonEmpty, key: nonEmpty, eTag: z.optional(z.string()), version: z.optional(z.string()) })),
    appSpecSha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  })
  .check(
    z.refine((value) => Boolean(value.commitId ?? value.s3 ?? value.appSpecSha256), {
      message: 'a revision needs commitId, s3 or appSpecSha256',
    }),
  ));
export type Revision = z.infer<typeof revision>;

/** The SHA-256 (lowercase hex) of an AppSpec's content, as CodeDeploy keys an AppSpecContent / String revision. */
export function appSpecSha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** An S3 ETag as CodeDeploy reports it: without the quotes S3's own headers put around it. */
export function bareETag(eTag: string): string {
  return eTag.replace(/^"(.*)"$/, '$1');
}

/** One string per revision, the same whichever event or API reported it. */
export function revisionKey(value: Revision): string {
  if (value.commitId) return `git:${value.commitId}`;
  if (value.s3) return `s3:${value.s3.bucket}/${value.s3.key}@${value.s3.version ?? value.s3.eTag ?? ''}`;
  return `appspec:${value.appSpecSha256}`;
}

const changeFields = z.lazy(() => z.strictObject(
  Object.fromEntries(
    CHANGE_FIELDS.map((field) => [
      field.name,
      z.optional(field.kind === 'boolean' ? z.union([z.literal(0), z.literal(1)]) : z.number().check(z.int(), z.nonnegative())),
    ]),
  ) as Record<ChangeFieldName, z.ZodMiniOptional<z.ZodMiniNumber<number>>>,
));

const topFactor = z.lazy(() => z.object({
  feature: nonEmpty,
  /** The feature's value; null when it was missing. */
  value: z.nullable(z.number()),
  /** Contribution to the log-odds of failure (TreeSHAP); positive pushes towards failure. */
  contribution: z.number(),
  /** The factor in words a developer understands, e.g. "412 lines added". */
  text: nonEmpty,
}));

const deploymentRef = {
  deploymentId: nonEmpty,
  application: nonEmpty,
  deploymentGroup: nonEmpty,
};

/** The definition of one emitted event kind. */
export interface EmittedEventDefinition<DetailType extends string, Detail extends z.ZodMiniType> {
  readonly detailType: DetailType;
  readonly schemaVersion: string;
  readonly description: string;
  readonly detail: Detail;
  readonly example: z.input<Detail>;
}

function define<const DetailType extends string, Detail extends z.ZodMiniType>(
  definition: EmittedEventDefinition<DetailType, Detail>,
) {
  return definition;
}

const schemaVersion = z.literal('1');

export const deploymentChangeSummary = define({
  detailType: 'Deployment Change Summary',
  schemaVersion: '1',
  description:
    'Sent by the CI step that built a release: what changed. record-change stores it; predict joins it to the deployment by application and revision.',
  detail: z.lazy(() => z.object({
    schemaVersion,
    application: nonEmpty,
    revision,
    repository: z.optional(z.string()),
    branch: z.optional(z.string()),
    author: z.optional(z.string()),
    builtAt: isoTime,
    change: changeFields,
  })),
  example: {
    schemaVersion: '1',
    application: 'checkout',
    revision: { commitId: '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' },
    repository: 'acme/checkout',
    branch: 'main',
    author: 'dev@example.com',
    builtAt: '2026-11-20T09:14:00Z',
    change: { commits: 3, filesAdded: 1, filesModified: 7, linesAdded: 412, linesDeleted: 38, srcChurn: 390, testChurn: 60, distinctAuthors: 2, isPullRequest: 0, isMainBranch: 1 },
  },
});

/** Version 2: the decision is taken with the group's block-budget cut; `threshold` became `cut`, `blockBudget` and `cutSource`. */
const decisionSchemaVersion = z.literal('2');

/** Where the cut came from: the group's own recent scores, the installation's pooled ones, none yet, or a fixed threshold. */
export const CUT_SOURCES = ['group', 'pooled', 'none', 'threshold'] as const;

/**
 * Why a group's failure policy decided instead of a probability: the endpoint gave none (`endpoint`),
 * the serving model could not be loaded or none serves yet (`model`), or the traffic hook saw no
 * assessment in time (`assessment`).
 */
export const FALLBACK_CAUSES = ['endpoint', 'model', 'assessment'] as const;
export type FallbackCause = (typeof FALLBACK_CAUSES)[number];

/**
 * Whether the deployment was scored with its release's change summary: `joined` (the CI step's
 * summary of the revision), `missing` (none was received for the revision before the deployment
 * started: every change feature is missing) or `no-revision` (CodeDeploy reported no revision to
 * join on). Never silent: the assessment and a metric say so.
 */
export const CHANGE_SUMMARY_STATUSES = ['joined', 'missing', 'no-revision'] as const;
export type ChangeSummaryStatus = (typeof CHANGE_SUMMARY_STATUSES)[number];
export const changeSummaryJoin = z.lazy(() => z.object({
  status: z.enum(CHANGE_SUMMARY_STATUSES),
  /** The revision key the summary was looked up by (revisionKey), when the deployment has a revision. */
  revision: z.optional(nonEmpty),
}));
export type ChangeSummaryJoin = z.infer<typeof changeSummaryJoin>;

/** How hard a deployment is watched (handlers/bake-domain.ts watchTier). */
export const WATCH_TIERS = ['stop', 'bake', 'none'] as const;

/** The cut a decision was taken with and the budget it holds (null when a fixed threshold decided). */
const decisionCut = {
  /** Rollback when the probability reaches it; null before the installation has any score to take a cut from. */
  cut: z.nullable(probability),
  /** Share of the group's deployments Deploy Guard may stop; null when the group has a fixed threshold. */
  blockBudget: z.nullable(z.number().check(z.gt(0), z.lt(1))),
};

/** What let a would-be stop through: an operator's override of the release, or a pause of its group (`deploy-guard override` / `pause`). */
export const appliedOverride = z.lazy(() => z.strictObject({
  kind: z.enum(['override', 'pause']),
  /** The operator's identity (the ARN STS GetCallerIdentity answered). */
  by: nonEmpty,
  reason: nonEmpty,
  at: isoTime,
  until: isoTime,
}));

/** What the pipeline gate decided on a release (handlers/pipeline-gate-domain.ts): it passed it, failed the action, or holds it for a person. */
export const GATE_OUTCOMES = ['pass', 'fail', 'hold'] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

/**
 * The pipeline gate's decision on the release a deployment deploys, as the deployment's assessment
 * links it: the gate's job, its probability and cut, and whether the link is what let a would-be
 * stop through (the gate passed the release for the same risk: it is not stopped twice).
 */
export const gateLink = z.lazy(() => z.strictObject({
  /** The CodePipeline job the gate decided in (the first, for a release it held). */
  jobId: nonEmpty,
  pipelineExecutionId: z.optional(nonEmpty),
  probability: z.nullable(probability),
  cut: z.nullable(probability),
  decidedAt: isoTime,
  /** Why the gate passed it: its own decision, an operator's override or pause, or a person's approval of its hold. */
  passedBy: z.enum(['assessment', 'override', 'approval']),
  /** True when this assessment would stop the deployment and the gate's pass let it through instead. */
  letThrough: z.boolean(),
}));
export type GateLink = z.infer<typeof gateLink>;

export const deploymentRiskAssessed = define({
  detailType: 'Deployment Risk Assessed',
  schemaVersion: '2',
  description: 'predict judged a deployment: the probability that it fails, the cut and block budget it was judged by, the decision and why.',
  detail: z.lazy(() => z.object({
    schemaVersion: decisionSchemaVersion,
    ...deploymentRef,
    platform: z.enum(COMPUTE_PLATFORMS),
    mode: z.enum(GUARD_MODES),
    /** The lifecycle point that triggered the assessment. */
    trigger: z.enum(['START', 'READY', 'PIPELINE_ACTION']),
    probability: z.nullable(probability),
    ...decisionCut,
    cutSource: z.enum(CUT_SOURCES),
    decision: z.enum(DECISIONS),
    /** A would-be stop let through at random so that its outcome is observed (exploration). */
    explored: z.boolean(),
    /** The probability of the action taken (ε for an explored deployment, 1 − ε for a stop that could have been explored, else 1). */
    propensity: z.number().check(z.gt(0), z.lte(1)),
    /** Whether the decision is acted on (false in shadow mode). */
    enforced: z.boolean(),
    modelVersion: nonEmpty,
    topFactors: z.array(topFactor).check(z.maxLength(10)),
    /** Set when there was no probability (an endpoint failure, a model that cannot be loaded) and the group's fail-open / fail-closed policy decided instead. */
    fallback: z.optional(z.object({ policy: z.enum(['fail-open', 'fail-closed']), cause: z.enum(FALLBACK_CAUSES), reason: nonEmpty })),
    /** Whether the release's change summary was joined (absent only in events of earlier releases). */
    changeSummary: z.optional(changeSummaryJoin),
    /** How hard the deployment is watched: stopped, baked after its traffic moves, or neither (absent in events of earlier releases). */
    tier: z.optional(z.enum(WATCH_TIERS)),
    /** The group's bake tier, when it has one: the bake cut the deployment was judged by (null before any score), the window's minutes and the alarms that roll a baking deployment back. */
    bake: z.optional(z.object({ cut: z.nullable(probability), minutes: z.number().check(z.int(), z.gte(1)), alarms: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(10))) })),
    /** Set when an operator's override or pause let a would-be stop through: then enforced is false. */
    override: z.optional(appliedOverride),
    /** `hold` when the gate group holds a risky deployment for a person instead of stopping it (Deployment Held tells the hold); absent: stop. */
    onRisk: z.optional(z.literal('hold')),
    /** The pipeline gate's pass of the release, when it went through a gate stage before this deployment existed. */
    gate: z.optional(gateLink),
    assessedAt: isoTime,
  })),
  example: {
    schemaVersion: '2',
    deploymentId: 'd-123456789',
    application: 'myApplication',
    deploymentGroup: 'myDeploymentGroup',
    platform: 'Server',
    mode: 'gate',
    trigger: 'READY',
    probability: 0.8125,
    cut: 0.6392,
    blockBudget: 0.1,
    cutSource: 'group',
    decision: 'rollback',
    explored: false,
    propensity: 0.95,
    enforced: true,
    modelVersion: 'deploy-guard-20261120-0912',
    topFactors: [
      { feature: 'linesAdded', value: 412, contribution: 0.61, text: '412 lines added' },
      { feature: 'failuresInLast5', value: 3, contribution: 0.44, text: '3 of the last 5 deployments failed' },
    ],
    changeSummary: { status: 'joined', revision: 'git:6a1c2f0e9b8d7c6a5f4e3d2c1b0a9f8e7d6c5b4a' },
    assessedAt: '2026-11-20T09:20:05Z',
  },
});

export const deploymentRollbackRequested = define({
  detailType: 'Deployment Rollback Requested',
  schemaVersion: '2',
  description: 'predict asks the rollback handler to stop a risky deployment (stop and gate modes only).',
  detail: z.lazy(() => z.object({
    schemaVersion: decisionSchemaVersion,
    ...deploymentRef,
    platform: z.enum(COMPUTE_PLATFORMS),
    mode: z.enum(['stop', 'gate']),
    probability: z.nullable(probability),
    ...decisionCut,
    modelVersion: nonEmpty,
    reason: nonEmpty,
    /** For ECS / Lambda BeforeAllowTraffic hooks: the execution to report Failed on. */
    lifecycleEventHookExecutionId: z.optional(z.string()),
    requestedAt: isoTime,
  })),
  example: {
    schemaVersion: '2',
    deploymentId: 'd-123456789',
    application: 'myApplication',
    deploymentGroup: 'myDeploymentGroup',
    platform: 'Server',
    mode: 'gate',
    probability: 0.8125,
    cut: 0.6392,
    blockBudget: 0.1,
    modelVersion: 'deploy-guard-20261120-0912',
    reason: 'probability of failure 0.8125 reaches the cut 0.6392 (the riskiest 10 % of myApplication/myDeploymentGroup)',
    requestedAt: '2026-11-20T09:20:05Z',
  },
});

export const ROLLBACK_ACTIONS = ['StopDeployment', 'LifecycleHookFailed'] as const;

export const deploymentRollbackCompleted = define({
  detailType: 'Deployment Rollback Completed',
  schemaVersion: '1',
  description: 'CodeDeploy accepted the rollback: the deployment was stopped with auto-rollback, or its traffic hook failed.',
  detail: z.lazy(() => z.object({
    schemaVersion,
    ...deploymentRef,
    action: z.enum(ROLLBACK_ACTIONS),
    completedAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    deploymentId: 'd-123456789',
    application: 'myApplication',
    deploymentGroup: 'myDeploymentGroup',
    action: 'StopDeployment',
    completedAt: '2026-11-20T09:20:07Z',
  },
});

/** How a bake that passed let its deployment go on: the AfterAllowTraffic hook answered Succeeded (ECS / Lambda), or nothing asked (EC2: CodeDeploy goes on by itself). */
export const BAKE_PASS_ACTIONS = ['LifecycleHookSucceeded', 'None'] as const;

export const deploymentBakePassed = define({
  detailType: 'Deployment Bake Passed',
  schemaVersion: '1',
  description:
    'A deployment of the bake tier was watched through its whole bake window after its traffic moved, and none of its group\'s alarms went to ALARM: bake let it go on (its AfterAllowTraffic hook answered Succeeded on ECS / Lambda; on EC2 CodeDeploy goes on by itself). Not told by notify: a pipeline stage or a dashboard may wait for it.',
  detail: z.lazy(() => z.strictObject({
    schemaVersion,
    ...deploymentRef,
    platform: z.enum(COMPUTE_PLATFORMS),
    /** The alarms watched through the window. */
    alarmNames: z.array(nonEmpty),
    action: z.enum(BAKE_PASS_ACTIONS),
    /** The bake window, in minutes, and when it opened. */
    bakeMinutes: z.number().check(z.int(), z.positive()),
    bakeOpenedAt: isoTime,
    passedAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    deploymentId: 'd-123456789',
    application: 'payments',
    deploymentGroup: 'payments-prod',
    platform: 'ECS',
    alarmNames: ['deploy-guard-prod-payments-payments-prod-alarm-0'],
    action: 'LifecycleHookSucceeded',
    bakeMinutes: 30,
    bakeOpenedAt: '2026-11-20T09:22:00Z',
    passedAt: '2026-11-20T09:52:00Z',
  },
});

export const deploymentBakeRolledBack = define({
  detailType: 'Deployment Bake Rolled Back',
  schemaVersion: '1',
  description:
    "An alarm of the group went to ALARM while a deployment of its bake tier was watched after its traffic moved: bake rolled it back through CodeDeploy (StopDeployment with auto-rollback, or its AfterAllowTraffic hook Failed). An observed failure, not a counterfactual.",
  detail: z.lazy(() => z.strictObject({
    schemaVersion,
    ...deploymentRef,
    platform: z.enum(COMPUTE_PLATFORMS),
    /** The alarm whose ALARM rolled it back. */
    alarmName: nonEmpty,
    action: z.enum(ROLLBACK_ACTIONS),
    /** The bake window, in minutes, and when it opened. */
    bakeMinutes: z.number().check(z.int(), z.positive()),
    bakeOpenedAt: isoTime,
    rolledBackAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    deploymentId: 'd-123456789',
    application: 'checkout',
    deploymentGroup: 'checkout-prod',
    platform: 'Server',
    alarmName: 'deploy-guard-prod-checkout-checkout-prod-alarm-0',
    action: 'StopDeployment',
    bakeMinutes: 30,
    bakeOpenedAt: '2026-11-20T09:20:05Z',
    rolledBackAt: '2026-11-20T09:31:00Z',
  },
});

/** Why a rollback did not happen. The first two are races, normal in an at-least-once world. */
export const ROLLBACK_FAILURE_REASONS = [
  'DeploymentAlreadyCompleted',
  'DeploymentAlreadyStopped',
  'DeploymentNotFound',
  'HookExpired',
  /** Deploy Guard had already let the deployment proceed (ContinueDeployment) when the rollback came. */
  'DeploymentAlreadyProceeded',
  'Error',
] as const;

export type RollbackFailureReason = (typeof ROLLBACK_FAILURE_REASONS)[number];

/**
 * The bake's own rollback that CodeDeploy refused or whose call failed with an error
 * (handlers/bake.ts): the baking deployment's platform, the alarm whose ALARM asked for it, what
 * CodeDeploy was asked, and the bake window.
 */
const failedBakeRollback = z.lazy(() => z.strictObject({
  platform: z.enum(COMPUTE_PLATFORMS),
  alarmName: nonEmpty,
  action: z.enum(ROLLBACK_ACTIONS),
  minutes: z.number().check(z.int(), z.positive()),
  openedAt: isoTime,
}));

export const deploymentRollbackFailed = define({
  detailType: 'Deployment Rollback Failed',
  schemaVersion: '1',
  description:
    "The rollback could not be done; the reason says whether that is a race (already completed) or an error. `bake` is set when the rollback was a bake's, asked on an alarm after the deployment's traffic moved, and CodeDeploy refused it or the call failed with an error (reason Error, the error in message; absent in events of earlier releases and in the rollback handler's).",
  detail: z.lazy(() => z.object({
    schemaVersion,
    ...deploymentRef,
    reason: z.enum(ROLLBACK_FAILURE_REASONS),
    /** CodeDeploy's answer, or what went wrong, in words. */
    message: nonEmpty,
    failedAt: isoTime,
    /** Set for a bake's rollback on an alarm (an optional field of version 1: readers of the rollback handler's events ignore it). */
    bake: z.optional(failedBakeRollback),
  })),
  example: {
    schemaVersion: '1',
    deploymentId: 'd-123456789',
    application: 'myApplication',
    deploymentGroup: 'myDeploymentGroup',
    reason: 'DeploymentAlreadyCompleted',
    message: 'The deployment d-123456789 is already completed.',
    failedAt: '2026-11-20T09:20:07Z',
  },
});

const unitInterval = () => z.number().check(z.gte(0), z.lte(1));
const modelMetrics = z.lazy(() => z.object({
  auc: z.nullable(unitInterval()),
  prAuc: z.optional(z.nullable(unitInterval())),
  brier: z.optional(z.nullable(unitInterval())),
  f1Failure: z.optional(z.nullable(unitInterval())),
  rows: z.number().check(z.int(), z.nonnegative()),
}));

/** What started a retraining: one of Deploy Guard's alarms going into ALARM, or its retraining schedule coming due. */
export const retrainingTrigger = z.lazy(() => z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('alarm'), alarmName: nonEmpty }),
  z.strictObject({
    type: z.literal('schedule'),
    /** The schedule rule that fired (`<namePrefix>-retraining-schedule`). */
    ruleName: nonEmpty,
    periodDays: z.number().check(z.int(), z.positive()),
    /** When the schedule fired (the Scheduled Event's time). */
    scheduledAt: isoTime,
  }),
]));
export type RetrainingTrigger = z.infer<typeof retrainingTrigger>;

export const modelRetrainingStarted = define({
  detailType: 'Model Retraining Started',
  schemaVersion: '2',
  description:
    "drift started one SageMaker training job because one of Deploy Guard's alarms went into ALARM or its retraining schedule came due (`trigger`).",
  // Version 2: `trigger` says what started the job; `alarmName` (version 1's only trigger) is kept, on
  // alarm-started jobs only, for readers of version 1.
  detail: z.lazy(() => z
    .object({
      schemaVersion: z.literal('2'),
      trainingJobName: nonEmpty,
      trigger: retrainingTrigger,
      alarmName: z.optional(nonEmpty),
      reason: nonEmpty,
      dataWindow: z.object({ from: isoTime, to: isoTime }),
      imageUri: nonEmpty,
      startedAt: isoTime,
    })
    .check(
      z.superRefine((detail, context) => {
        const expected = detail.trigger.type === 'alarm' ? detail.trigger.alarmName : undefined;
        if (detail.alarmName !== expected) {
          context.addIssue({
            code: 'custom',
            path: ['alarmName'],
            message: expected === undefined ? 'expected no alarmName when a schedule started the job' : `expected the trigger's alarm name '${expected}'`,
          });
        }
      }),
    )),
  example: {
    schemaVersion: '2',
    trainingJobName: 'deploy-guard-dev-20261120-0900-5f2c1a',
    trigger: { type: 'alarm', alarmName: 'deploy-guard-dev-model-error-rate' },
    alarmName: 'deploy-guard-dev-model-error-rate',
    reason: 'Threshold Crossed: 2 out of the last 3 datapoints were greater than the threshold (0.3).',
    dataWindow: { from: '2026-05-25T00:00:00Z', to: '2026-11-20T09:00:00Z' },
    imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    startedAt: '2026-11-20T09:00:12Z',
  },
});

export const modelPromoted = define({
  detailType: 'Model Promoted',
  schemaVersion: '1',
  description: 'promote found the new model at least as good as the serving one and moved the endpoint to it.',
  detail: z.lazy(() => z.object({
    schemaVersion,
    modelVersion: nonEmpty,
    previousModelVersion: z.nullable(z.string()),
    trainingJobName: nonEmpty,
    modelPackageArn: z.optional(z.string()),
    approval: z.enum(['Approved', 'PendingManualApproval']),
    endpointName: nonEmpty,
    candidate: modelMetrics,
    serving: z.nullable(modelMetrics),
    promotedAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    modelVersion: 'deploy-guard-dev-20261120-0900-5f2c1a',
    previousModelVersion: 'deploy-guard-dev-20261001-1200-0a9b8c',
    trainingJobName: 'deploy-guard-dev-20261120-0900-5f2c1a',
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev/7',
    approval: 'Approved',
    endpointName: 'deploy-guard-dev',
    candidate: { auc: 0.78, prAuc: 0.52, brier: 0.13, f1Failure: 0.49, rows: 1200 },
    serving: { auc: 0.71, prAuc: 0.44, brier: 0.15, f1Failure: 0.41, rows: 1200 },
    promotedAt: '2026-11-20T09:41:30Z',
  },
});

export const modelRegistered = define({
  detailType: 'Model Registered',
  schemaVersion: '1',
  description:
    'promote found the new model at least as good as the serving one and registered it pending manual approval; the endpoint is unchanged until a person approves the package (then Model Promoted).',
  detail: z.lazy(() => z.object({
    schemaVersion,
    modelVersion: nonEmpty,
    trainingJobName: nonEmpty,
    modelPackageArn: nonEmpty,
    approval: z.literal('PendingManualApproval'),
    candidate: modelMetrics,
    serving: z.nullable(modelMetrics),
    registeredAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    modelVersion: 'deploy-guard-prod-20261120-0900-5f2c1a',
    trainingJobName: 'deploy-guard-prod-20261120-0900-5f2c1a',
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-prod-risk/7',
    approval: 'PendingManualApproval',
    candidate: { auc: 0.78, prAuc: 0.52, brier: 0.13, f1Failure: 0.49, rows: 1200 },
    serving: { auc: 0.71, prAuc: 0.44, brier: 0.15, f1Failure: 0.41, rows: 1200 },
    registeredAt: '2026-11-20T09:41:30Z',
  },
});

export const MODEL_REJECTION_REASONS = ['worse-than-serving', 'below-minimum', 'training-failed', 'training-stopped'] as const;

export const modelRejected = define({
  detailType: 'Model Rejected',
  schemaVersion: '1',
  description: 'promote kept the serving model: the new one was worse or below the minimum, or its training job did not complete.',
  detail: z.lazy(() => z.object({
    schemaVersion,
    trainingJobName: nonEmpty,
    reason: z.enum(MODEL_REJECTION_REASONS),
    message: nonEmpty,
    candidate: z.nullable(modelMetrics),
    serving: z.nullable(modelMetrics),
    rejectedAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    trainingJobName: 'deploy-guard-dev-20261120-0900-5f2c1a',
    reason: 'worse-than-serving',
    message: 'candidate AUC 0.69 is below the serving model\'s 0.71 on the most recent window',
    candidate: { auc: 0.69, rows: 1200 },
    serving: { auc: 0.71, rows: 1200 },
    rejectedAt: '2026-11-20T09:41:30Z',
  },
});

export const OPERATOR_ACTIONS = ['override', 'pause', 'resume', 'approve', 'reject'] as const;

/** What a hold's timeout (or a person) decides: let the deployment go on, or roll it back. */
export const HOLD_ACTIONS = ['approve', 'reject'] as const;

export const deploymentHeld = define({
  detailType: 'Deployment Held',
  schemaVersion: '1',
  description:
    "A gate group holds a risky deployment for a person (`onRisk: hold`): it waits at READY (EC2/on-premises) or in its BeforeAllowTraffic hook (ECS, Lambda) for `deploy-guard approve` or `reject` until `until`, when the hold's timeout decides `onTimeout` (`status: timed-out`, with what it did).",
  detail: z.lazy(() => z
    .strictObject({
      schemaVersion,
      status: z.enum(['held', 'timed-out']),
      ...deploymentRef,
      platform: z.enum(COMPUTE_PLATFORMS),
      /** Why it is held: the assessment's reason for a stop. */
      reason: nonEmpty,
      since: isoTime,
      until: isoTime,
      onTimeout: z.enum(HOLD_ACTIONS),
      /** For `timed-out`: what the timeout decided and CodeDeploy's answer. */
      settled: z.optional(z.strictObject({ action: z.enum(HOLD_ACTIONS), at: isoTime, outcome: nonEmpty })),
    })
    .check(
      z.superRefine((detail, context) => {
        if ((detail.status === 'timed-out') !== (detail.settled !== undefined)) context.addIssue({ code: 'custom', path: ['settled'], message: 'a timed-out hold says what was settled, a held one does not' });
      }),
    )),
  example: {
    schemaVersion: '1',
    status: 'held',
    deploymentId: 'd-123456789',
    application: 'checkout',
    deploymentGroup: 'checkout-prod',
    platform: 'Server',
    reason: 'probability of failure 0.8125 reaches the cut 0.6392 (the riskiest 10 % of checkout/checkout-prod)',
    since: '2026-11-20T09:20:05Z',
    until: '2026-11-20T09:50:05Z',
    onTimeout: 'reject',
  },
});

export const operatorOverride = define({
  detailType: 'Operator Override',
  schemaVersion: '1',
  description:
    "An on-call engineer let a release through Deploy Guard (`override`), turned its enforcement off for a group for a while (`pause`) or turned it back on (`resume`), or decided a held deployment (`approve`, `reject`), with `deploy-guard override` / `pause` / `approve` / `reject` and the installation's operator role.",
  detail: z.lazy(() => z
    .strictObject({
      schemaVersion,
      action: z.enum(OPERATOR_ACTIONS),
      application: nonEmpty,
      /** The group, for a pause or a resume. */
      deploymentGroup: z.optional(nonEmpty),
      /** The release's revision key, for an override. */
      revision: z.optional(nonEmpty),
      /** The deployment the operator named, when the override was given by deployment. */
      deploymentId: z.optional(nonEmpty),
      by: nonEmpty,
      reason: nonEmpty,
      at: isoTime,
      /** When it ends (for a resume: when the pause was lifted; for an approve or a reject: when it was decided). */
      until: isoTime,
    })
    .check(
      z.superRefine((detail, context) => {
        if (detail.action === 'override' && detail.revision === undefined) context.addIssue({ code: 'custom', path: ['revision'], message: 'an override names the revision it lets through' });
        if ((detail.action === 'approve' || detail.action === 'reject') && detail.deploymentId === undefined) context.addIssue({ code: 'custom', path: ['deploymentId'], message: `a ${detail.action} names the held deployment` });
        if (detail.action !== 'override' && detail.deploymentGroup === undefined) context.addIssue({ code: 'custom', path: ['deploymentGroup'], message: `a ${detail.action} names its deployment group` });
      }),
    )),
  example: {
    schemaVersion: '1',
    action: 'override',
    application: 'checkout',
    revision: 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a',
    deploymentId: 'd-123456789',
    by: 'arn:aws:sts::123456789012:assumed-role/deploy-guard-prod-operator/alice',
    reason: 'INC-4211: the hotfix must ship; the risk is the migration, reviewed by the DBA',
    at: '2026-11-20T09:25:00Z',
    until: '2026-11-21T09:25:00Z',
  },
});

export const pipelineGateDecided = define({
  detailType: 'Pipeline Gate Decided',
  schemaVersion: '1',
  description:
    "The pipeline gate (a CodePipeline Lambda invoke action before the Deploy stage) judged a release before its deployment existed, with the same model, cut and policies as predict: `pass` (the action succeeds), `fail` (the action fails: no deployment is created) or `hold` (the action waits for `deploy-guard approve` / `reject` or the hold's timeout). A held release is announced again when it is settled (`settled`).",
  detail: z.lazy(() => z.strictObject({
    schemaVersion,
    jobId: nonEmpty,
    pipelineExecutionId: z.optional(nonEmpty),
    application: nonEmpty,
    deploymentGroup: nonEmpty,
    /** The release's revision key (revisionKey), what `deploy-guard override --revision` names. */
    revision: nonEmpty,
    mode: z.enum(GUARD_MODES),
    outcome: z.enum(GATE_OUTCOMES),
    probability: z.nullable(probability),
    ...decisionCut,
    cutSource: z.enum(CUT_SOURCES),
    /** Whether the decision is acted on (false in shadow mode, or when an override or pause let it through). */
    enforced: z.boolean(),
    modelVersion: nonEmpty,
    topFactors: z.array(topFactor).check(z.maxLength(10)),
    fallback: z.optional(z.object({ policy: z.enum(['fail-open', 'fail-closed']), cause: z.enum(FALLBACK_CAUSES), reason: nonEmpty })),
    changeSummary: z.optional(changeSummaryJoin),
    override: z.optional(appliedOverride),
    /** What the gate told CodePipeline, in words. */
    message: nonEmpty,
    /** For `hold`: the hold's id (what `deploy-guard approve --pipeline-job` names), until when, and what its timeout decides. */
    hold: z.optional(z.strictObject({ until: isoTime, onTimeout: z.enum(HOLD_ACTIONS) })),
    /** For a held release settled since: who decided and what. */
    settled: z.optional(z.strictObject({ action: z.enum(HOLD_ACTIONS), by: nonEmpty, at: isoTime })),
    decidedAt: isoTime,
  })),
  example: {
    schemaVersion: '1',
    jobId: '11111111-abcd-1111-abcd-111111abcdef',
    pipelineExecutionId: '2c9a5a7e-4a43-4a5c-9d8f-6f4f3c2b1a00',
    application: 'checkout',
    deploymentGroup: 'checkout-prod',
    revision: 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a',
    mode: 'gate',
    outcome: 'fail',
    probability: 0.8125,
    cut: 0.6392,
    blockBudget: 0.1,
    cutSource: 'group',
    enforced: true,
    modelVersion: 'deploy-guard-20261120-0912',
    topFactors: [{ feature: 'linesAdded', value: 412, contribution: 0.61, text: '412 lines added' }],
    changeSummary: { status: 'joined', revision: 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' },
    message: 'Deploy Guard stopped release git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a of checkout/checkout-prod before its deployment was created',
    decidedAt: '2026-11-20T09:20:05Z',
  },
});

/** Every event Deploy Guard emits, by detail-type. */
export const EMITTED_EVENTS = {
  [deploymentChangeSummary.detailType]: deploymentChangeSummary,
  [deploymentRiskAssessed.detailType]: deploymentRiskAssessed,
  [deploymentRollbackRequested.detailType]: deploymentRollbackRequested,
  [deploymentRollbackCompleted.detailType]: deploymentRollbackCompleted,
  [deploymentRollbackFailed.detailType]: deploymentRollbackFailed,
  [modelRetrainingStarted.detailType]: modelRetrainingStarted,
  [modelPromoted.detailType]: modelPromoted,
  [modelRegistered.detailType]: modelRegistered,
  [modelRejected.detailType]: modelRejected,
  [operatorOverride.detailType]: operatorOverride,
  [deploymentHeld.detailType]: deploymentHeld,
  [deploymentBakeRolledBack.detailType]: deploymentBakeRolledBack,
  [deploymentBakePassed.detailType]: deploymentBakePassed,
  [pipelineGateDecided.detailType]: pipelineGateDecided,
} as const;
export type EmittedEventKind = keyof typeof EMITTED_EVENTS;
export type EmittedDetail<Kind extends EmittedEventKind> = z.output<(typeof EMITTED_EVENTS)[Kind]['detail']>;

const envelopeSchemas = new Map<string, z.ZodMiniType>();

/** The full envelope schema of an emitted event, for a given installation source (built once per kind and source). */
export function emittedEventSchema(kind: EmittedEventKind, source: string = DEFAULT_EVENT_SOURCE): z.ZodMiniType {
  const key = `${kind}\u0000${source}`;
  let schema = envelopeSchemas.get(key);
  if (!schema) {
    const definition = EMITTED_EVENTS[kind];
    schema = envelope(z.literal(source), definition.detailType, definition.detail);
    envelopeSchemas.set(key, schema);
  }
  return schema;
}

/** A PutEvents request entry (the SDK's PutEventsRequestEntry, with the fields Deploy Guard sets). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
  Time?: Date;
  EventBusName?: string;
}

export interface EntryContext {
  /** The installation's source (validateEventSource). */
  readonly source: string;
  /** Deploy Guard's bus, by name or ARN. */
  readonly eventBusName: string;
  /** When it happened (from the triggering event or the injected clock, never Date.now() in domain code). */
  readonly time?: Date;
  readonly resources?: string[];
}

/**
 * Builds the PutEvents entry for an emitted event, validating the detail first: a Deploy Guard bug
 * that would emit a malformed event fails here with an EventValidationError, not in a consumer.
 */
export function buildEntry<Kind extends EmittedEventKind>(
  kind: Kind,
  detail: z.input<(typeof EMITTED_EVENTS)[Kind]['detail']>,
  context: EntryContext,
): PutEventsEntry {
  const definition = EMITTED_EVENTS[kind];
  const checked = parseWith(definition.detailType, definition.detail, detail);
  return {
    Source: validateEventSource(context.source),
    DetailType: definition.detailType,
    Detail: JSON.stringify(checked),
    EventBusName: context.eventBusName,
    ...(context.time ? { Time: context.time } : {}),
    ...(context.resources ? { Resources: context.resources } : {}),
  };
}
