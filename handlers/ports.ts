import type { ChangeSummaryJoin, ComputePlatform, Decision, EmittedDetail, FallbackCause, GateLink, GuardMode, Revision } from '../events/emitted';
import type { Factor } from '../model/factors';
import type { FeatureList } from '../model/features';
import type { CutSource, CutState } from '../model/block-budget';
import type { PastDeployment } from '../model/history';
import type { FailurePolicy, PromotionSettings } from './config';
import type { DeploymentHold, HoldSettlement } from './hold-domain';
import type { GateDecisionEntry, GateJobRecord, GatePass, GateSettlement } from './pipeline-gate-domain';
import type { AppliedOverride, DeploymentOverride, GroupPause } from './operator-controls';

/**
 * The side effects of the handlers, as small interfaces. AWS adapters live in `handlers/adapters/`;
 * the laptop runtime and the tests provide in-process implementations of the same ports.
 */

/** CodeDeploy's deployment statuses (GetDeployment `deploymentInfo.status`). */
export const DEPLOYMENT_STATUSES = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready', 'Succeeded', 'Failed', 'Stopped'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** What the handlers need to know about a deployment, as GetDeployment reports it. */
export interface DeploymentSnapshot {
  readonly deploymentId: string;
  readonly status: DeploymentStatus;
  readonly computePlatform: ComputePlatform;
  /** Who created it: `user`, `autoscaling`, `codeDeployRollback` (a rollback, never to be stopped), ... */
  readonly creator?: string;
  readonly application?: string;
  readonly deploymentGroup?: string;
  /** What is deployed (GitHub commit, S3 bundle or AppSpec content), the key to its change summary. */
  readonly revision?: Revision;
  /** When the deployment was created, in milliseconds since the epoch. */
  readonly createTime?: number;
}

/**
 * Why CodeDeploy refused an action. These are races, normal in an at-least-once world, so the
 * adapter returns them instead of throwing; anything else (access denied, a bug) is thrown.
 */
export const CODEDEPLOY_REFUSALS = [
  'DeploymentAlreadyCompleted',
  'DeploymentAlreadyStopped',
  'DeploymentNotFound',
  'DeploymentNotReady',
  'HookExpired',
] as const;
export type CodeDeployRefusal = (typeof CODEDEPLOY_REFUSALS)[number];

export type CodeDeployOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly refusal: CodeDeployRefusal; readonly message: string };

export type DeploymentLookup =
  | { readonly found: true; readonly deployment: DeploymentSnapshot }
  | { readonly found: false; readonly message: string };

/** The CodeDeploy calls the rollback handler makes. */
export interface CodeDeployPort {
  getDeployment(deploymentId: string): Promise<DeploymentLookup>;
  stopDeployment(deploymentId: string, options: { readonly autoRollbackEnabled: boolean }): Promise<CodeDeployOutcome>;
  /** Lets an EC2/on-premises blue/green deployment waiting at READY move traffic. */
  continueDeployment(deploymentId: string): Promise<CodeDeployOutcome>;
  putLifecycleEventHookExecutionStatus(
    deploymentId: string,
    hookExecutionId: string,
    status: 'Succeeded' | 'Failed',
  ): Promise<CodeDeployOutcome>;
}

/** CodePipeline's refusals of a job result: the job is unknown, or it was answered already (an earlier attempt's answer was lost). */
export const CODEPIPELINE_REFUSALS = ['JobNotFound', 'InvalidJobState'] as const;
export type CodePipelineRefusal = (typeof CODEPIPELINE_REFUSALS)[number];

export type CodePipelineOutcome = { readonly ok: true } | { readonly ok: false; readonly refusal: CodePipelineRefusal; readonly message: string };

/** The job results the pipeline gate puts (codepipeline:PutJobSuccessResult / PutJobFailureResult). */
export interface CodePipelinePort {
  /** The action succeeds, or with a continuationToken is invoked again later with a new job carrying it. */
  putJobSuccessResult(jobId: string, result: { readonly summary: string; readonly continuationToken?: string }): Promise<CodePipelineOutcome>;
  /** The action fails with this message (the pipeline stops before its Deploy stage). */
  putJobFailureResult(jobId: string, failure: { readonly message: string }): Promise<CodePipelineOutcome>;
}

/**
 * The pipeline gate's decisions (control table): one item per CodePipeline job it answered
 * (`gatejob#<jobId>`, written once before the answer: a redelivery or a retry after a lost answer
 * gives the same one), and the latest pass of each release (`gatepass#<application>#<revisionKey>`),
 * which predict reads when the release's deployment starts; and its decisions listed by group and
 * day (`gateday#<group>#<day>`) for `deploy-guard decisions`.
 */
export interface GateStore extends GateDecisionListing {
  /** Records the job's decision unless one is recorded (the first stays); answers the stored one and whether this write made it. */
  recordJob(record: GateJobRecord): Promise<{ readonly won: boolean; readonly record: GateJobRecord }>;
  readJob(jobId: string): Promise<GateJobRecord | undefined>;
  /** Records that the decision's effects (hold, pass, cut, announcement) are done. */
  markAnnounced(jobId: string): Promise<void>;
  /** Records CodePipeline's answer to the job's result. */
  recordAnswered(jobId: string, answered: NonNullable<GateJobRecord['answered']>): Promise<void>;
  /** Records the release's pass (replacing an earlier pass of the same release). */
  recordPass(pass: GatePass): Promise<void>;
  readPass(application: string, revision: string): Promise<GatePass | undefined>;
  /** Adds a deployment of the release to its pass (idempotent). */
  linkDeployment(application: string, revision: string, deploymentId: string): Promise<void>;
  /** Lists a decision under its group and day (idempotent: a job's first entry stays). */
  listDecision(entry: GateDecisionEntry): Promise<void>;
  /** Adds a held release's settlement to its listed entry (none listed: nothing to add). */
  settleListedDecision(entry: Pick<GateDecisionEntry, 'jobId' | 'application' | 'deploymentGroup' | 'decidedAt'>, settled: GateSettlement): Promise<void>;
}

/** The gate's decisions of a group on a UTC day (YYYY-MM-DD), oldest first: what `deploy-guard decisions` reads as the operator. */
export interface GateDecisionListing {
  listedDecisions(group: string, day: string): Promise<GateDecisionEntry[]>;
}

/** What the rollback handler does to a deployment; one per deployment, ever (a rollback may supersede a proceed that has not acted). */
export type GuardAction = 'StopDeployment' | 'LifecycleHookFailed' | 'ContinueDeployment';

/** How the handler's decision ended, as recorded in the ledger and (for rollbacks) published. */
export type LedgerOutcome =
  | {
      readonly kind: 'completed';
      readonly action: GuardAction;
      readonly at: number;
      /**
       * Set when CodeDeploy refused a repeat of our own recorded attempt (already stopped, hook already
       * failed): the first attempt was applied and its answer lost, so the stop is Deploy Guard's.
       */
      readonly recognisedFrom?: CodeDeployRefusal;
    }
  | {
      readonly kind: 'not-done';
      /** A CodeDeploy refusal, a reason the domain found nothing to do, or `Error`. */
      readonly reason: string;
      readonly message: string;
      readonly at: number;
    };

/** A claim as the handler presents it: the deployment, the action and who claims (the token). */
export interface LedgerClaim {
  readonly deploymentId: string;
  readonly action: GuardAction;
  /**
   * Derived from the triggering event (its EventBridge id and the action, claimTokenOf): a retry of
   * the same event, or the SDK's retry of a write whose answer was lost, carries the same token.
   */
  readonly token: string;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly at: number;
}

export interface LedgerEntry {
  readonly deploymentId: string;
  readonly action: GuardAction;
  /** The token of the claim that holds the entry now. */
  readonly claimToken: string;
  /** Milliseconds since the epoch, from the injected clock: when the current claim was taken. */
  readonly claimedAt: number;
  /** When the entry last went from no claim (or a superseded, settled proceed) to a claim waiting for its outcome. */
  readonly openedAt: number;
  /** The token that opened it. */
  readonly openedBy: string;
  /** Whether the claim-without-outcome alarm has been told this opening is due (handlers/rollback-metrics.ts). */
  readonly dueCounted: boolean;
  /** Recorded before CodeDeploy is called: an answer of "already done" after it means our own call was applied. */
  readonly attempt?: { readonly action: GuardAction; readonly at: number };
  readonly outcome?: LedgerOutcome;
  /** Whether the event announcing the outcome has been published. */
  readonly published: boolean;
}

export type ClaimResult =
  /** The caller holds the claim. */
  | { readonly claimed: true; readonly entry: LedgerEntry }
  /** Another claim holds it, it has an outcome, or a proceed that acted blocks the rollback: the entry as it is. */
  | { readonly claimed: false; readonly entry: LedgerEntry };

/**
 * The idempotency record of the rollback handler, keyed on deploymentId (in AWS conditional writes
 * on the control table). The claim comes before any CodeDeploy call, so however often a request is
 * delivered, CodeDeploy is asked once per deployment. A claim is taken when:
 * - there is no entry;
 * - it is the caller's own (same token) and has no outcome: the SDK retrying a write whose answer was
 *   lost, or a retry of the same event after a crash, whatever the lease;
 * - it has no outcome, the same action, and is older than the lease (another event's claimer crashed);
 * - the caller rolls back and the entry is a proceed that has not acted (no attempt, no completed
 *   outcome): a proceed never blocks a later rollback of the same deployment.
 * The attempt is recorded before CodeDeploy is called, so that "already stopped" after it is known
 * to be Deploy Guard's own stop. An entry with an outcome is never claimed again (except a proceed
 * that did nothing, by a rollback).
 */
export interface RollbackLedger {
  claim(claim: LedgerClaim): Promise<ClaimResult>;
  /** Records that `action` is about to be asked of CodeDeploy; throws if the caller no longer holds the claim. */
  recordAttempt(deploymentId: string, token: string, action: GuardAction, at: number): Promise<void>;
  /** Records the outcome once; throws if the caller no longer holds the claim or another outcome is recorded. */
  record(deploymentId: string, token: string, outcome: LedgerOutcome): Promise<void>;
  /** Marks the outcome's event as published, so that a redelivery does not publish it again. */
  markPublished(deploymentId: string): Promise<void>;
  /** Marks the opening as counted by the claim-without-outcome alarm, so that a redelivery does not count it again. */
  markDueCounted(deploymentId: string): Promise<void>;
  read(deploymentId: string): Promise<LedgerEntry | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Stores (DynamoDB in AWS: handlers/adapters/dynamodb-*.ts; in process: handlers/adapters/in-memory-stores.ts).
// Times are milliseconds since the epoch, from the event or the injected clock.
// ---------------------------------------------------------------------------------------------

/** The lifecycle point an assessment was made at. */
export type AssessmentTrigger = 'START' | 'READY' | 'PIPELINE_ACTION';

/** What predict decided about one deployment, stored before anything is published. */
export interface AssessmentRecord {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  readonly mode: GuardMode;
  readonly trigger: AssessmentTrigger;
  /** Null when the endpoint failed and the failure policy decided. */
  readonly probability: number | null;
  /** The cut the decision was taken with: rollback when the probability reaches it; null when there was none yet (nothing stopped). */
  readonly cut: number | null;
  /** The group's block budget; null when a fixed threshold (the expert override) decided. */
  readonly blockBudget: number | null;
  readonly cutSource: DecisionCutSource;
  /** What happened: `rollback` (stopped, or would be in shadow mode) or `proceed` (an explored would-be stop proceeds). */
  readonly decision: Decision;
  /** A would-be stop that proceeds so that its outcome is observed (exploration). */
  readonly explored: boolean;
  /** The probability of the action taken: ε for an explored deployment, 1 − ε for a stop that could have been explored, else 1. */
  readonly propensity: number;
  readonly enforced: boolean;
  readonly modelVersion: string;
  /** The feature vector as the endpoint saw it: one `text/csv` row (formatFeatureRow). */
  readonly featureRow: string;
  readonly fallback?: { readonly policy: FailurePolicy; readonly cause: FallbackCause; readonly reason: string };
  /** When the deployment started (the START event's time). */
  readonly startedAt: number;
  readonly assessedAt: number;
  readonly author?: string;
  /** Whether the release's change summary was joined (absent on assessments stored by earlier releases). */
  readonly changeSummary?: ChangeSummaryJoin;
  /** Set when an operator's override or pause let a would-be stop through (not enforced, its outcome observed). */
  readonly override?: AppliedOverride;
  /** The explanation published with the assessment, kept so a redelivery republishes the same event. */
  readonly topFactors?: readonly Factor[];
  /** `hold`: the group holds a risky deployment for a person instead of stopping it (handlers/hold-domain.ts). */
  readonly onRisk?: 'hold';
  /** How hard the deployment is watched: stopped, baked after its traffic moves, or neither (absent on assessments of earlier releases). */
  readonly tier?: WatchTier;
  /** The group's bake tier as this deployment was judged by it (absent when the group has none). */
  readonly bake?: { readonly cut: number | null; readonly minutes: number; readonly alarms?: readonly string[] };
  /** The pipeline gate's pass of the release, when it went through a gate stage (handlers/pipeline-gate-domain.ts). */
  readonly gate?: GateLink;
}

/** `stop`: the decision is a rollback; `bake`: it proceeds and is watched through a bake window; `none`: it proceeds unwatched. */
export type WatchTier = 'stop' | 'bake' | 'none';

/**
 * Where a bake stands: `baking` (watched; an ECS / Lambda one waits for its AfterAllowTraffic hook
 * until `endsAt` is set), `rolling-back` / `passing` (claimed by the invocation whose token it holds,
 * which calls CodeDeploy), then closed: `rolled-back`, `passed`, or `not-done` (CodeDeploy refused,
 * or a rollback failed with an error; such a rollback is announced as Deployment Rollback Failed).
 */
/** `ended`: the deployment failed or was stopped before its bake closed, by other means: nothing is left to roll back. */
export type BakeState = 'baking' | 'rolling-back' | 'passing' | 'rolled-back' | 'passed' | 'not-done' | 'ended';

/** One deployment's bake, in the control table. */
export interface BakeRecord {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly platform: ComputePlatform;
  readonly mode: GuardMode;
  readonly alarmNames: readonly string[];
  readonly minutes: number;
  readonly openedAt: number;
  /** When the window ends; null while an ECS / Lambda deployment's traffic has not moved (no AfterAllowTraffic hook yet). */
  readonly endsAt: number | null;
  /** ECS / Lambda: the first hook execution seen (BeforeAllowTraffic). */
  readonly firstHookExecutionId?: string;
  /** ECS / Lambda: the AfterAllowTraffic hook execution, answered when the bake ends. */
  readonly hookExecutionId?: string;
  readonly state: BakeState;
  /** Who acts on a claimed bake: the token of the invocation (its event id) and when it claimed. */
  readonly claim?: { readonly token: string; readonly at: number };
  /** The alarm whose ALARM rolled it back. */
  readonly alarmName?: string;
  readonly closedAt?: number;
  /** CodeDeploy's refusal, when it refused (absent in bakes closed by earlier releases). */
  readonly refusal?: CodeDeployRefusal;
  /** CodeDeploy's answer, when it refused: its message (earlier releases kept `<refusal>: <message>`). */
  readonly message?: string;
  /**
   * The error a rollback's call failed with, when it was not one of CodeDeploy's refusals (access
   * denied, throttling or a 5xx after the retries): `<name>: <message>`.
   */
  readonly error?: string;
  /**
   * When its closing was announced (Deployment Bake Rolled Back, or Deployment Rollback Failed for a
   * rollback CodeDeploy refused or that failed with an error): a retry does not announce it again.
   */
  readonly announcedAt?: number;
  /**
   * The invocation announcing it (claimed before it publishes, bake-domain.ts announcementClaimDecision):
   * its token (the event id and the invocation) and when it claimed.
   */
  readonly announcing?: BakeAnnouncementClaim;
  /** The invocation that counted it in the bake metrics (BakeStore.markCounted): no other counts it again. */
  readonly countedBy?: string;
}

/** Who announces a closed bake: the claiming invocation's token (`<event id>/<invocation>`) and when it claimed. */
export interface BakeAnnouncementClaim {
  readonly token: string;
  readonly at: number;
}

/** The latest state of an alarm the bakes watch, as its state-change events said. */
export interface WatchedAlarm {
  readonly value: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly at: number;
}

/** The open bakes and the watched alarms' states: one control item, written by compare-and-set. */
export interface BakeBook {
  readonly open: readonly BakeRecord[];
  readonly alarms: Readonly<Record<string, WatchedAlarm>>;
}

export interface StoredBakeBook {
  readonly book: BakeBook;
  readonly revision: number;
}

export interface BakeStore {
  readBook(): Promise<StoredBakeBook | undefined>;
  /** Replaces the book if its revision is still `expectedRevision` (null: none yet); false when another writer moved it. */
  writeBook(book: BakeBook, expectedRevision: number | null): Promise<boolean>;
  /**
   * Keeps a closed bake unless one is kept already (a conditional write: the first keeper wins);
   * resolves the bake as kept, which may be another invocation's.
   */
  keepClosed(record: BakeRecord): Promise<BakeRecord>;
  readClosed(deploymentId: string): Promise<BakeRecord | undefined>;
  /**
   * Claims the announcement of a kept, not yet announced closed bake for `claim.token`, over the claim
   * read (`expected`; null: none): false when another invocation claimed or announced it meanwhile.
   */
  claimAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim, expected: BakeAnnouncementClaim | null): Promise<boolean>;
  /** Lets go of the announcement's claim if it is still `claim` and not announced (its publishing failed). */
  releaseAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim): Promise<void>;
  /** Marks a kept closed bake announced (the first mark stays). */
  markAnnounced(deploymentId: string, at: number): Promise<void>;
  /**
   * Marks a kept closed bake counted by `invocation` (the first mark stays): true when the mark is
   * this invocation's (made now, or by a try of this call whose answer was lost), false when another
   * invocation counted it.
   */
  markCounted(deploymentId: string, invocation: string): Promise<boolean>;
}

/** Where the cut of a decision came from: the group's own scores, the pooled ones, none yet, or the group's fixed threshold. */
export type DecisionCutSource = CutSource | 'threshold';

/** How a deployment ended, from CodeDeploy's final state. */
export type OutcomeLabel =
  /** SUCCESS. */
  | 'succeeded'
  /** FAILURE, or a STOP that Deploy Guard did not ask for (someone stopped it; it did not ship). */
  | 'failed'
  /** STOP after Deploy Guard asked for it: whether it would have failed is unknown (kept out of training by default). */
  | 'counterfactual';

export interface OutcomeRecord {
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly state: 'SUCCESS' | 'FAILURE' | 'STOP';
  readonly label: OutcomeLabel;
  readonly finishedAt: number;
}

/** Everything stored about one deployment; assessment and outcome may arrive in either order. */
export interface DeploymentItem {
  readonly deploymentId: string;
  readonly assessment?: AssessmentRecord;
  readonly outcome?: OutcomeRecord;
  /** Whether the training row of this deployment has been written to the data lake. */
  readonly trainingRowWritten: boolean;
}

export type StoreWrite = { readonly created: boolean; readonly item: DeploymentItem };

/** Table `deployments` (key deploymentId) and table `history` (key group + time), see handlers/tables.ts. */
export interface DeploymentStore {
  /** Stores the assessment unless the deployment already has one (a duplicate): created false, nothing changed. */
  putAssessment(assessment: AssessmentRecord): Promise<StoreWrite>;
  /** Stores the outcome unless the deployment already has one; also appends it to its group's history. */
  putOutcome(outcome: OutcomeRecord, history: PastDeployment): Promise<StoreWrite>;
  get(deploymentId: string): Promise<DeploymentItem | undefined>;
  /**
   * Records that the training row is in the data lake (after it was written): true for the first
   * caller only, false when it was already recorded or the deployment is unknown.
   */
  markTrainingRowWritten(deploymentId: string): Promise<boolean>;
  /**
   * The group's deployments with a recorded outcome that started before `before`, oldest first: the
   * most recent ones back to the `knownLimit`-th most recent with a known outcome, so that a run of
   * stopped deployments (outcome unknown) never pushes every known outcome out of the history
   * windows; at most MAX_HISTORY_READ deployments in all.
   */
  groupHistory(application: string, deploymentGroup: string, before: number, knownLimit: number): Promise<readonly PastDeployment[]>;
  /** Known outcomes and failures of the group before `before` (for failureRateOverall). */
  groupCounts(application: string, deploymentGroup: string, before: number): Promise<{ readonly known: number; readonly failures: number }>;
  /**
   * The group's assessed deployments, assessed at or after `since` (epoch ms), newest first, at most
   * `limit`, each with its outcome when known (`deploy-guard decisions`; tables.ts ASSESSMENTS_BY_GROUP).
   */
  recentAssessments(application: string, deploymentGroup: string, since: number, limit: number): Promise<readonly DeploymentItem[]>;
}

/**
 * The most deployments one history read returns: a group whose last 5,000 recorded deployments were
 * all stopped has nothing left to learn from its recent outcomes anyway (its overall rate still counts).
 */
export const MAX_HISTORY_READ = 5000;

/**
 * Change summaries, keyed on application + revisionKey (table `changes`). The first summary of a
 * revision received before its deployment started is the one predict uses; nothing replaces it.
 */
export interface ChangeSummaryStore {
  /**
   * Stores the summary unless its revision already has one or a deployment of it started (refused,
   * with the first when there is one). The same event again (its id: a redelivery, or a retry whose
   * first write was applied and its answer lost) is recognised as stored, never as a second summary.
   */
  put(record: StoredChangeSummary): Promise<ChangeSummaryWrite>;
  /**
   * The summary a deployment of the revision starting at `startedAt` is judged with, if any; from
   * then on the revision takes no summary (it is sealed; the first seal's time stays).
   */
  findForDeployment(application: string, revisionKey: string, startedAt: number): Promise<ChangeSummary | undefined>;
  /** What is stored for the revision, with who sent it. */
  find(application: string, revisionKey: string): Promise<StoredChangeSummary | undefined>;
}
export type ChangeSummary = EmittedDetail<'Deployment Change Summary'>;

/**
 * Who sent a change summary, as far as its event says. EventBridge events carry no principal: the
 * bus policy decides which principals may send one (stacks/event-bus-policy.ts); the event names
 * the sending account, the source and the resources the sender listed (not checked by EventBridge).
 */
export interface ChangeSummarySender {
  readonly eventId: string;
  readonly account: string;
  readonly source: string;
  readonly resources: readonly string[];
}

export interface StoredChangeSummary {
  readonly summary: ChangeSummary;
  readonly receivedAt: number;
  readonly sender: ChangeSummarySender;
}

/** Why a summary was not stored: its revision has one already, or a deployment of it started. */
export type ChangeSummaryRefusal = 'already-summarised' | 'deployment-started';

export type ChangeSummaryWrite =
  | { readonly stored: true }
  | { readonly stored: false; readonly reason: ChangeSummaryRefusal; readonly first?: StoredChangeSummary };

/** Which model the endpoint serves (table `control`, key `model#serving`); promote moves it. */
export interface ServingModelPointer {
  readonly modelVersion: string;
  /** s3:// URI of model.tar.gz. */
  readonly modelDataUrl: string;
  /** s3:// URI of the model's features.json. */
  readonly featuresUrl: string;
  readonly trainingJobName?: string;
  readonly promotedAt: number;
  /**
   * The model package and the version it replaced, kept so that a promotion whose announcement was
   * cut short (a crash after the swap) can still announce Model Promoted on the retry.
   */
  readonly modelPackageArn?: string;
  readonly previousModelVersion?: string;
}

export interface ControlStore {
  readServingModel(): Promise<ServingModelPointer | undefined>;
  /** Moves the pointer if it still names `expectedVersion` (null: none yet); false if someone else moved it. */
  swapServingModel(next: ServingModelPointer, expectedVersion: string | null): Promise<boolean>;
  /** The last retraining drift started (for the cooldown), or undefined. */
  readRetraining(): Promise<RetrainingState | undefined>;
  /** Records a started job if the last one is still `expectedJob` (null: none yet); false if another won. */
  recordRetraining(next: RetrainingState, expectedJob: string | null): Promise<boolean>;
  /** What promote decided about a finished training job, or undefined before it decided. */
  readJobVerdict(trainingJobName: string): Promise<JobVerdict | undefined>;
  /** Records promote's decision about a job unless it has one; false if it had. */
  recordJobVerdict(verdict: JobVerdict): Promise<boolean>;
  /** Records a training job drift is about to start (before CreateTrainingJob), so that promote adopts only jobs drift started. */
  recordTrainingJob(job: RecordedTrainingJob): Promise<void>;
  /** The job as drift recorded it, or undefined when drift never started it. */
  readTrainingJob(trainingJobName: string): Promise<RecordedTrainingJob | undefined>;
  /** promote's intent for a job it decided to promote (what it registered and deploys), or undefined. */
  readPromotion(trainingJobName: string): Promise<PromotionIntent | undefined>;
  /** Records promote's intent (replacing the job's earlier one) before the side effect it names. */
  writePromotion(intent: PromotionIntent): Promise<void>;
  /** The cut of a scope (a group key, or POOLED_CUT_SCOPE) with the revision it was written at. */
  readCut(scope: string): Promise<StoredCut | undefined>;
  /** Writes the cut if its revision is still `expectedRevision` (null: none yet); false if someone else wrote first. */
  writeCut(scope: string, state: CutState, expectedRevision: number | null): Promise<boolean>;
}

/**
 * The operators' overrides and pauses (table `control`, keys `override#…` and `pause#…`): written by
 * `deploy-guard override` / `pause` with the operator's credentials, read by predict and the traffic hook.
 */
export interface OperatorControlStore {
  readOverride(application: string, revision: string): Promise<DeploymentOverride | undefined>;
  readPause(application: string, deploymentGroup: string): Promise<GroupPause | undefined>;
  /** Records the override (replacing an earlier one of the same release). */
  putOverride(override: DeploymentOverride): Promise<void>;
  /** Records the pause (replacing an earlier one of the group: a later pause, or a resume). */
  putPause(pause: GroupPause): Promise<void>;
}

/**
 * The holds (control table `hold#<deploymentId>`, and the set of open ones `holds#open`): opened by
 * predict (Server, at READY) or the traffic hook (ECS / Lambda), settled once by an operator or the
 * hold's timeout.
 */
export interface HoldStore {
  /** Records the hold unless one exists (a redelivery keeps the first), and lists it as open; answers the stored one. */
  open(hold: DeploymentHold): Promise<DeploymentHold>;
  read(deploymentId: string): Promise<DeploymentHold | undefined>;
  /** Writes the settlement if none was written (first writer wins); answers the hold as it now is and whether this write won. */
  settle(deploymentId: string, settlement: HoldSettlement): Promise<{ readonly won: boolean; readonly hold: DeploymentHold }>;
  /** Records CodeDeploy's answer to the settlement's call. */
  recordAnswer(deploymentId: string, answer: CodeDeployOutcome): Promise<void>;
  /** The ids of the holds listed as open. */
  openIds(): Promise<readonly string[]>;
  /** Takes a settled hold off the open list. */
  closeListing(deploymentId: string): Promise<void>;
}

/**
 * The shadow digest's claim of one day (control table `shadowdigest#<start of the day>`), taken
 * before the digest is published and marked sent after, so that a redelivered Scheduled Event does
 * not send the day again (handlers/shadow-digest-domain.ts digestClaimDecision).
 */
export interface ShadowDigestClaim {
  /** The window the digest covers, epoch milliseconds: from (inclusive, the key) to (exclusive, the schedule's time). */
  readonly from: number;
  readonly to: number;
  /** Who holds the claim: the id of the Scheduled Event whose delivery took it (a Lambda retry of that delivery carries the same). */
  readonly token: string;
  /** When it was taken, from the injected clock. */
  readonly claimedAt: number;
  /** Set once the digest was published. */
  readonly sent?: ShadowDigestSent;
}

/** A digest as published: when, by which event's delivery, with which subject and SNS message ids. */
export interface ShadowDigestSent {
  readonly at: number;
  readonly eventId: string;
  readonly subject: string;
  readonly messageIds: readonly string[];
}

export interface ShadowDigestStore {
  /** The claim of the day whose window starts at `from`, or undefined. */
  read(from: number): Promise<ShadowDigestClaim | undefined>;
  /**
   * Takes the day's claim if it is still the one the caller read (`expected`: its token and time,
   * never sent; null: none yet). False when another delivery wrote first. The SDK's retry of a claim
   * applied whose answer was lost meets this very claim: that is the caller's, true.
   */
  claim(claim: Omit<ShadowDigestClaim, 'sent'>, expected: Pick<ShadowDigestClaim, 'token' | 'claimedAt'> | null): Promise<boolean>;
  /** Records the day's digest as published; the first record stays. Throws when the day has no claim. */
  markSent(from: number, sent: ShadowDigestSent): Promise<void>;
}

/** The scope of the installation's pooled cut, borrowed by groups with too few scores of their own. */
export const POOLED_CUT_SCOPE = '*pooled*';

/** A cut as stored: the state and a revision that goes up by one with every write (compare-and-set). */
export interface StoredCut {
  readonly state: CutState;
  readonly revision: number;
}

/** Promote's decision about one finished training job, announced as Model Promoted or Model Rejected. */
export interface JobVerdict {
  readonly trainingJobName: string;
  readonly verdict: 'promoted' | 'rejected';
  /** The promoted model version, or the reason of the rejection. */
  readonly detail: string;
  readonly decidedAt: number;
}

/**
 * A training job as drift started it (control table, `trainingjob#<name>`): what promote checks the
 * job against with DescribeTrainingJob before it adopts the job's model.
 */
export interface RecordedTrainingJob {
  readonly trainingJobName: string;
  readonly roleArn: string;
  readonly imageUri: string;
  /** s3:// prefix of the `train` channel (the data lake's rows). */
  readonly trainS3Uri: string;
  /** s3:// URI of the serving model given as channel `serving`, when there was one. */
  readonly servingModelS3Uri?: string;
  /** s3:// prefix SageMaker writes the job's output under. */
  readonly outputS3Uri: string;
  /** The hyperparameters that decide what the job trains on and with what code (window, script). */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** The data window's first and last day (UTC, YYYY-MM-DD): promote evaluates on its most recent dates. */
  readonly fromDate: string;
  readonly toDate: string;
  readonly startedAt: number;
}

/**
 * promote's intent for one job (control table, `promotion#<job>`), written before each step that
 * cannot be repeated blindly, so that a redelivery finishes a half-done promotion:
 * `registered` (the package exists, waiting for a person's approval), then `deploying` (the endpoint
 * is being moved to `endpointConfigName`). The job's verdict is recorded when it is announced.
 */
export interface PromotionIntent {
  readonly trainingJobName: string;
  readonly stage: 'registered' | 'deploying';
  readonly modelPackageArn: string;
  readonly modelDataUrl: string;
  readonly endpointConfigName: string;
  /** The serving model version the promotion replaces (the pointer's compare-and-set expectation). */
  readonly previousModelVersion: string | null;
  /** Whether Model Registered was announced (manual approval only). */
  readonly registeredAnnounced: boolean;
  /** The comparison promote computed, for the announcement. */
  readonly candidate: EmittedDetail<'Model Promoted'>['candidate'];
  readonly serving: EmittedDetail<'Model Promoted'>['serving'];
  readonly decidedAt: number;
}

export interface RetrainingState {
  readonly trainingJobName: string;
  readonly alarmName: string;
  readonly startedAt: number;
  /** When Model Retraining Started was published for it; absent until then (drift finishes it on a redelivery). */
  readonly announcedAt?: number;
}

// ---------------------------------------------------------------------------------------------
// Model endpoint and serving model
// ---------------------------------------------------------------------------------------------

export const ENDPOINT_FAILURES = ['ModelError', 'Timeout', 'Throttled', 'Unavailable', 'Error'] as const;
export type EndpointFailure = (typeof ENDPOINT_FAILURES)[number];

export type EndpointAnswer =
  | { readonly ok: true; readonly probabilities: readonly number[] }
  | { readonly ok: false; readonly failure: EndpointFailure; readonly message: string };

/** InvokeEndpoint with `text/csv` rows; the answer is one probability per row, or why there is none. */
export interface ModelEndpointPort {
  invoke(csvRows: string): Promise<EndpointAnswer>;
}

/** The serving model's feature list and, for explanations, its trees. */
export interface ServingModel {
  readonly version: string;
  readonly features: FeatureList;
  /** TreeSHAP contributions of one vector (features + bias), for top factors. */
  explain(vector: readonly number[]): ArrayLike<number>;
  /** The probability the endpoint answers for one vector, computed in process (bit for bit the container's). */
  predict(vector: ArrayLike<number>): number;
}

export interface ServingModelSource {
  /**
   * The model the endpoint serves now (cached by version); undefined before the first promotion.
   * Rejects with ModelUnavailableError when the pointer names a model that cannot be loaded.
   */
  serving(): Promise<ServingModel | undefined>;
}

/**
 * The serving pointer names a model that cannot be loaded: an object missing or unreadable after
 * the SDK's retries, a malformed archive or feature list, trees and feature list of different
 * column counts. predict decides such a deployment by the group's failure policy, as it does when
 * the endpoint fails; any other error (the pointer's own table unreachable) is thrown and retried.
 */
export class ModelUnavailableError extends Error {
  override readonly name = 'ModelUnavailableError';
  constructor(
    readonly modelVersion: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Data lake, metrics, training and hosting
// ---------------------------------------------------------------------------------------------

/** Labelled rows in the container's CSV layout (label first, no header), one object per deployment at trainingRowKey (handlers/training-row.ts). */
export interface TrainingDataLake {
  /**
   * Idempotent: the same deployment writes the same key. The object holds the line `weight` times
   * (a frequency weight: an explored deployment's outcome stands for the would-be stops not observed).
   */
  putRow(row: { readonly deploymentId: string; readonly application: string; readonly deploymentGroup: string; readonly startedAt: number; readonly finishedAt: number; readonly modelVersion: string; readonly csvLine: string; readonly weight: number }): Promise<void>;
}

/** Counting the data lake's rows, so that drift starts no job on too little data. */
export interface TrainingRowCounter {
  /**
   * The rows dated `fromDate`..`toDate` (UTC days, YYYY-MM-DD, both included), counted up to `enough`:
   * the answer is `enough` as soon as there are that many (no need to count a large lake to the end).
   */
  countRows(fromDate: string, toDate: string, enough: number): Promise<number>;
}

export interface MetricValue {
  readonly name: string;
  readonly unit: 'Count' | 'None' | 'Milliseconds';
  readonly value: number;
}

/** CloudWatch metrics (embedded metric format in AWS). */
export interface MetricsPort {
  put(metrics: { readonly namespace: string; readonly dimensions: Readonly<Record<string, string>>; readonly values: readonly MetricValue[]; readonly at: number }): void;
}

export interface TrainingJobSpec {
  readonly trainingJobName: string;
  readonly imageUri: string;
  readonly roleArn: string;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly maxRuntimeSeconds: number;
  /** Hyperparameters as strings, including script mode's sagemaker_program / sagemaker_submit_directory. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** s3:// prefixes of the train and validation channels (text/csv). */
  readonly trainS3Uri: string;
  /** Absent in the data-lake window mode, where train.py holds out the most recent dates itself. */
  readonly validationS3Uri?: string;
  /** s3:// URI of the serving model's model.tar.gz (channel `serving`), so the job evaluates it on the same window. */
  readonly servingModelS3Uri?: string;
  readonly outputS3Uri: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type TrainingJobStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

export interface TrainingJobSummary {
  readonly trainingJobName: string;
  readonly status: TrainingJobStatus;
  readonly failureReason?: string;
  /** s3:// URI of model.tar.gz, when Completed. */
  readonly modelArtifactsUrl?: string;
  /** What the job ran as and on, as SageMaker describes it (what promote checks against drift's record). */
  readonly roleArn?: string;
  readonly imageUri?: string;
  /** Input channels: name and s3:// URI. */
  readonly channels?: readonly { readonly name: string; readonly s3Uri: string }[];
  readonly outputS3Uri?: string;
  readonly hyperparameters?: Readonly<Record<string, string>>;
}

export interface TrainingPort {
  /** Deploy Guard's jobs (name prefix) that are InProgress or Stopping. */
  runningJobs(namePrefix: string): Promise<readonly string[]>;
  /** Starts the job; `already-exists` when a job of that name exists (a redelivered event). */
  startTrainingJob(spec: TrainingJobSpec): Promise<'started' | 'already-exists'>;
  describeTrainingJob(trainingJobName: string): Promise<TrainingJobSummary | undefined>;
}

export interface ModelPackageInput {
  readonly modelPackageGroupName: string;
  /** The job the package is for: its idempotency key, and named first in its description. */
  readonly trainingJobName: string;
  readonly imageUri: string;
  readonly modelDataUrl: string;
  readonly approval: 'Approved' | 'PendingManualApproval';
  readonly description: string;
}

export interface ModelPackageSummary {
  readonly modelPackageArn: string;
  readonly modelPackageGroupName: string;
  readonly approval: 'Approved' | 'Rejected' | 'PendingManualApproval';
  readonly modelDataUrl?: string;
  /** The job the package was registered for (its metadata), when promote registered it. */
  readonly trainingJobName?: string;
}

/** The endpoint's configuration now, and the one an update in progress moves it to. */
export interface EndpointState {
  readonly status: string;
  readonly endpointConfigName: string;
  readonly pendingEndpointConfigName?: string;
}

export interface HostingPort {
  registerModelPackage(input: ModelPackageInput): Promise<{ readonly modelPackageArn: string }>;
  /** The package already registered for a job in the group (a redelivery after a crash), or undefined. */
  findModelPackage(modelPackageGroupName: string, trainingJobName: string): Promise<string | undefined>;
  describeModelPackage(modelPackageArn: string): Promise<ModelPackageSummary | undefined>;
  createModel(input: { readonly modelName: string; readonly imageUri: string; readonly modelDataUrl: string; readonly executionRoleArn: string }): Promise<void>;
  createEndpointConfig(input: { readonly endpointConfigName: string; readonly modelName: string; readonly hosting: PromotionSettings['hosting'] }): Promise<void>;
  describeEndpoint(endpointName: string): Promise<EndpointState>;
  /** UpdateEndpoint with a blue/green (all at once) deployment policy and auto-rollback on the given alarms. */
  updateEndpoint(input: { readonly endpointName: string; readonly endpointConfigName: string; readonly rollbackAlarmNames: readonly string[] }): Promise<void>;
}

/** The data lake's rows as promote reads them to compare the candidate with the serving model. */
export interface TrainingRowReader {
  /** The row objects dated `fromDate`..`toDate` (UTC days, both included): their keys, by date, dates ascending. */
  rowKeysByDate(fromDate: string, toDate: string): Promise<ReadonlyMap<string, readonly string[]>>;
  /** The CSV lines of these objects (label first); an object holds its line `weight` times. */
  readRows(keys: readonly string[]): Promise<readonly string[]>;
}

/** Reads files Deploy Guard keeps in S3: a job's evaluation.json and features.json, model artifacts. */
export interface ObjectReader {
  /** The object's bytes, or undefined when it does not exist. */
  read(s3Url: string): Promise<Uint8Array | undefined>;
}

/** Copies an object between Deploy Guard's folders: promote moves an adopted model into the served prefix. */
export interface ObjectCopier {
  /** Copies `fromS3Url` to `toS3Url` (replacing it: the same job always copies the same bytes); throws when the source is missing. */
  copy(fromS3Url: string, toS3Url: string): Promise<void>;
}

/** One message for people, as SNS publishes it: a subject (e-mail) and a body. */
export interface NotificationMessage {
  readonly topicArn: string;
  /** At most 100 printable characters, one line (SNS's limit for a subject). */
  readonly subject: string;
  readonly body: string;
}

/** SNS Publish to Deploy Guard's notification topics. */
export interface NotificationPort {
  /** Publishes the message; resolves with SNS's message id. */
  publish(message: NotificationMessage): Promise<string>;
}
