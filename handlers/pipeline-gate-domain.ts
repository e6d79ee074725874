import { CODEPIPELINE_JOB, codePipelineJob, type CodePipelineJob } from '../events/aws';
import { eventBridgeTime } from '../events/clock';
import { buildEntry, revisionKey, type ChangeSummaryJoin, type ComputePlatform, type FallbackCause, type GateLink, type GateOutcome, type GuardMode, type PutEventsEntry, type Revision } from '../events/emitted';
import { GATE_USER_PARAMETERS, GATE_USER_PARAMETERS_EXAMPLE, gateUserParameters } from '../events/pipeline-gate';
import { EventValidationError, formatPath, parseWith } from '../events/validation';
import type { Factor } from '../model/factors';
import { groupKey, type FailurePolicy } from './config';
import type { DecisionCutSource } from './ports';
import { riskAgainstCut } from './decision-words';
import type { HoldAction, HoldPolicy, HoldSettlement } from './hold-domain';
import { MAX_REASON_CHARS, type AppliedOverride } from './operator-controls';
import { rollbackReason, type Verdict } from './predict-domain';
import { CONTROL_KEYS } from './tables';

/**
 * The pipeline gate, as pure functions: what a CodePipeline Lambda invoke job asks (the release of a
 * guarded group, from the action's UserParameters and its source artifact), what the gate answers
 * for an assessment (pass: PutJobSuccessResult; fail: PutJobFailureResult, so no deployment is
 * created; hold: PutJobSuccessResult with a continuation token, so CodePipeline invokes the action
 * again until a person or the hold's timeout decides), the words it answers with, and the link that
 * keeps predict from stopping a release the gate passed for the same risk. No I/O, no clock.
 */

/** A job the gate is asked to decide. */
export interface GateRequest {
  readonly jobId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly revision: Revision;
  /** revisionKey(revision): how change summaries, overrides and predict's link name the release. */
  readonly revisionKey: string;
  readonly pipelineExecutionId?: string;
  /** Set when CodePipeline invokes the action again for a job the gate answered with a continuation token. */
  readonly continuationToken?: string;
}

/** Why a job cannot be decided: the input at fault and what is wrong with it (told to CodePipeline as the failure). */
export interface GateInputProblem {
  readonly input: string;
  readonly problem: string;
}

export type ParsedJob = { readonly ok: true; readonly request: GateRequest } | { readonly ok: false; readonly jobId: string; readonly problem: GateInputProblem };

/**
 * The job's id, or an EventValidationError when the event has none (then no result can be put: the
 * invocation fails and Lambda's retries and dead-letter queue keep it).
 */
export function jobIdOf(event: unknown): string {
  const job = (event as Record<string, unknown> | null)?.['CodePipeline.job'] as Record<string, unknown> | undefined;
  const id = job?.id;
  if (typeof id === 'string' && id.length > 0) return id;
  throw new EventValidationError(CODEPIPELINE_JOB, [{ path: formatPath(['CodePipeline.job', 'id']), message: 'expected the job id CodePipeline sends its Lambda invoke action' }]);
}

/** The request a job makes, or the problem with its input (never thrown: CodePipeline is told). */
export function parseJob(event: unknown): ParsedJob {
  const jobId = jobIdOf(event);
  let job: CodePipelineJob;
  try {
    job = parseWith(CODEPIPELINE_JOB, codePipelineJob, event);
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    return { ok: false, jobId, problem: { input: 'the job event', problem: error.message } };
  }
  const data = job['CodePipeline.job'].data;
  const parameters = userParametersOf(data.actionConfiguration.configuration.UserParameters);
  if (!parameters.ok) return { ok: false, jobId, problem: parameters.problem };
  const revision: Parsed<Revision> = parameters.value.revision ? { ok: true, value: parameters.value.revision } : artifactRevision(data.inputArtifacts ?? []);
  if (!revision.ok) return { ok: false, jobId, problem: revision.problem };
  const unresolved = unresolvedVariable(revision.value);
  if (unresolved) return { ok: false, jobId, problem: { input: 'UserParameters.revision', problem: `${unresolved} is a CodePipeline variable that was not resolved: name a variable of an action that ran before the gate (such as #{SourceVariables.CommitId})` } };
  const { application, deploymentGroup, pipelineExecutionId } = parameters.value;
  return {
    ok: true,
    request: {
      jobId,
      application,
      deploymentGroup,
      revision: revision.value,
      revisionKey: revisionKey(revision.value),
      ...(pipelineExecutionId ? { pipelineExecutionId } : {}),
      ...(data.continuationToken ? { continuationToken: data.continuationToken } : {}),
    },
  };
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: GateInputProblem };

const EXAMPLE = JSON.stringify(GATE_USER_PARAMETERS_EXAMPLE);

function userParametersOf(text: string | undefined): Parsed<ReturnType<typeof gateUserParameters.parse>> {
  if (text === undefined || text.trim() === '') return { ok: false, problem: { input: 'UserParameters', problem: `missing: set the action's UserParameters to a JSON object naming the guarded group, such as ${EXAMPLE}` } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: { input: 'UserParameters', problem: `not JSON (${(error as Error).message}): expected an object such as ${EXAMPLE}` } };
  }
  try {
    return { ok: true, value: parseWith(GATE_USER_PARAMETERS, gateUserParameters, value) };
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    return { ok: false, problem: { input: 'UserParameters', problem: `${error.issues.map((issue) => `${issue.path || '(the value)'}: ${issue.message}`).join('; ')}; expected an object such as ${EXAMPLE}` } };
  }
}

/** The first input artifact's revision, as a Git commit (what a CodeCommit, GitHub or CodeStar source gives). */
function artifactRevision(artifacts: readonly { readonly name: string; readonly revision?: string | null }[]): Parsed<Revision> {
  const withRevision = artifacts.find((artifact) => typeof artifact.revision === 'string' && artifact.revision.length > 0);
  if (withRevision?.revision) return { ok: true, value: { commitId: withRevision.revision } };
  const names = artifacts.length === 0 ? 'the action has no input artifact' : `no input artifact has a revision (${artifacts.map((artifact) => `${artifact.name}: ${artifact.revision === null ? 'null' : 'none'}`).join(', ')})`;
  return { ok: false, problem: { input: 'UserParameters.revision', problem: `missing, and ${names}: give the source artifact as the gate's input, or name the revision, such as "revision": {"commitId": "#{SourceVariables.CommitId}"}` } };
}

function unresolvedVariable(revision: Revision): string | undefined {
  const texts = [revision.commitId, revision.s3?.bucket, revision.s3?.key, revision.s3?.version, revision.s3?.eTag];
  return texts.find((text) => text !== undefined && /#\{[^}]*\}/.test(text));
}

/** The problem in the words CodePipeline shows: "Deploy Guard cannot gate this release: UserParameters: …". */
export function problemMessage(problem: GateInputProblem): string {
  return limitMessage(`Deploy Guard cannot gate this release: ${problem.input}: ${problem.problem}`);
}

/** CodePipeline keeps at most 5000 characters of a failure message and 2048 of a success summary. */
export const FAILURE_MESSAGE_LIMIT = 5000;
export const SUCCESS_SUMMARY_LIMIT = 2048;

function limitMessage(text: string, limit = FAILURE_MESSAGE_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** The assessment of a release at the gate, as the gate records and announces it. */
export interface GateAssessment {
  readonly platform: ComputePlatform;
  readonly mode: GuardMode;
  readonly probability: number | null;
  readonly cut: number | null;
  readonly blockBudget: number | null;
  readonly cutSource: DecisionCutSource;
  readonly decision: Verdict['decision'];
  readonly enforced: boolean;
  readonly explored: boolean;
  readonly propensity: number;
  readonly modelVersion: string;
  readonly featureRow: string;
  readonly fallback?: { readonly policy: FailurePolicy; readonly cause: FallbackCause; readonly reason: string };
  readonly changeSummary: ChangeSummaryJoin;
  readonly override?: AppliedOverride;
  readonly topFactors: readonly Factor[];
  readonly assessedAt: number;
}

/** What the gate told (or tells) CodePipeline about one job. */
export type GateAnswer =
  | { readonly kind: 'success'; readonly summary: string }
  | { readonly kind: 'continue'; readonly summary: string; readonly continuationToken: string }
  | { readonly kind: 'failure'; readonly message: string };

/** One job the gate decided (control table `gatejob#<jobId>`). */
export interface GateJobRecord {
  readonly jobId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly revision: string;
  readonly pipelineExecutionId?: string;
  /** The gate's decision; absent for a job whose input could not be read. */
  readonly outcome?: GateOutcome;
  readonly answer: GateAnswer;
  readonly decidedAt: number;
  /** The assessment, on the job that assessed the release (the first of a held one). */
  readonly assessment?: GateAssessment;
  /** The held job this one continues (its continuation token). */
  readonly continues?: string;
  /** The decision's effects are done: its hold opened, its pass recorded, its score in the cut, it announced. */
  readonly announced?: boolean;
  /** CodePipeline's answer to the result, once put. */
  readonly answered?: { readonly at: number; readonly accepted: boolean; readonly message?: string };
}

/** A release the gate passed (control table `gatepass#<application>#<revisionKey>`): predict links its deployment to it. */
export interface GatePass {
  readonly application: string;
  readonly deploymentGroup: string;
  readonly revision: string;
  readonly jobId: string;
  readonly pipelineExecutionId?: string;
  readonly probability: number | null;
  readonly cut: number | null;
  readonly decidedAt: number;
  readonly passedBy: GateLink['passedBy'];
  /** The gate's pass was an exploration draw (a would-be stop let through to observe its outcome), with its propensity. */
  readonly explored?: boolean;
  readonly propensity?: number;
  /** The deployments of the release predict assessed since (CodeDeploy's START after the Deploy stage). */
  readonly deploymentIds?: readonly string[];
}

/** The key a held job's hold is stored under (and `deploy-guard approve --pipeline-job` names). */
export function gateHoldId(jobId: string): string {
  return `pipeline-job:${jobId}`;
}

/** The gate's key of a job for the exploration draw and the override lookup (no deployment exists yet). */
export function gateReleaseKey(jobId: string): string {
  return gateHoldId(jobId);
}

/**
 * What the gate does with an assessment: pass it unless it is an enforced stop (shadow mode, a
 * proceed, an explored would-be stop, an override or a pause all pass); an enforced stop fails the
 * action, or holds it when the group holds risky releases for a person.
 */
export function gateOutcome(verdict: Pick<Verdict, 'decision' | 'enforced'>, hold: HoldPolicy | undefined): GateOutcome {
  if (!(verdict.decision === 'rollback' && verdict.enforced)) return 'pass';
  return hold ? 'hold' : 'fail';
}

/** The release in words: "release git:6f1c… of checkout/checkout-prod". */
export function releaseWords(release: Pick<GateJobRecord, 'revision' | 'application' | 'deploymentGroup'>): string {
  return `release ${release.revision} of ${release.application}/${release.deploymentGroup}`;
}

/** The override command that lets the release through. */
export function overrideCommand(environment: string, release: Pick<GateJobRecord, 'revision' | 'application'>): string {
  return `deploy-guard override --environment ${environment} --application ${release.application} --revision ${release.revision} --reason "..."`;
}

/** The approve / reject command of a held release. */
export function holdCommand(verb: HoldAction, environment: string, jobId: string): string {
  return `deploy-guard ${verb} --environment ${environment} --pipeline-job ${jobId} --reason "..."`;
}

function riskWords(assessment: GateAssessment, release: Pick<GateJobRecord, 'application' | 'deploymentGroup'>): string {
  const reason = rollbackReason({ ...assessment, ...release });
  const factors = assessment.topFactors.map((factor) => factor.text);
  return factors.length > 0 ? `${reason}; top factors: ${factors.join('; ')}` : reason;
}

/** The answer to a job that assessed the release. */
export function assessedAnswer(outcome: GateOutcome, record: Pick<GateJobRecord, 'jobId' | 'revision' | 'application' | 'deploymentGroup'>, assessment: GateAssessment, context: { readonly environment: string; readonly hold?: { readonly until: number; readonly onTimeout: HoldAction } }): GateAnswer {
  const release = releaseWords(record);
  if (outcome === 'fail') {
    return {
      kind: 'failure',
      message: limitMessage(`Deploy Guard stopped ${release} before its deployment was created: ${riskWords(assessment, record)}. If you know it is safe, let it through and release it again: ${overrideCommand(context.environment, record)}`),
    };
  }
  if (outcome === 'hold' && context.hold) {
    return {
      kind: 'continue',
      continuationToken: record.jobId,
      summary: limitMessage(
        `Deploy Guard holds ${release} for a person until ${new Date(context.hold.until).toISOString()} (then the hold's timeout decides: ${context.hold.onTimeout}): ${riskWords(assessment, record)}. Approve: ${holdCommand('approve', context.environment, record.jobId)}; reject: ${holdCommand('reject', context.environment, record.jobId)}`,
        SUCCESS_SUMMARY_LIMIT,
      ),
    };
  }
  return { kind: 'success', summary: limitMessage(`Deploy Guard passed ${release}: ${passWords(assessment)}`, SUCCESS_SUMMARY_LIMIT) };
}

function passWords(assessment: GateAssessment): string {
  const risk = `risk ${riskAgainstCut(assessment.probability, assessment.cut)}`;
  if (assessment.override) return `${risk}, let through by an operator's ${assessment.override.kind} (${assessment.override.by}: ${assessment.override.reason})`;
  if (assessment.mode === 'shadow') return `${risk} (shadow mode: recorded, never enforced)`;
  if (assessment.explored) return `${risk}, let through to observe its outcome (exploration)`;
  if (assessment.fallback) return `no probability (${assessment.fallback.reason}) and the group is ${assessment.fallback.policy}`;
  return risk;
}

/** The answer to a job that continues a held one: the hold's settlement decides, or it waits on. */
export function heldAnswer(record: Pick<GateJobRecord, 'jobId' | 'revision' | 'application' | 'deploymentGroup'>, settled: HoldSettlement | undefined, context: { readonly until: number }): GateAnswer {
  const release = releaseWords(record);
  if (!settled) return { kind: 'continue', continuationToken: record.jobId, summary: `Deploy Guard still holds ${release} for a person, until ${new Date(context.until).toISOString()}` };
  const who = settled.cause === 'timeout' ? "by the hold's timeout" : `by ${settled.by}`;
  if (settled.action === 'approve') return { kind: 'success', summary: limitMessage(`Deploy Guard's hold of ${release} was approved ${who}: ${settled.reason}`, SUCCESS_SUMMARY_LIMIT) };
  return { kind: 'failure', message: limitMessage(`Deploy Guard's hold of ${release} was rejected ${who}: ${settled.reason}`) };
}

/**
 * How long after the gate passed a release its deployment is linked to the pass: the pipeline's
 * Deploy stage follows the gate within minutes; a deployment of the same revision a day later (a
 * manual redeploy, another pipeline run that did not pass through the gate) is judged on its own.
 */
export const GATE_PASS_VALID_MS = 24 * 3_600_000;

/**
 * A START may carry a time before the gate's decision: CodeDeploy's event time has whole seconds and
 * comes from another clock than the gate's Lambda.
 */
export const GATE_PASS_CLOCK_SKEW_MS = 60_000;

/** Whether a deployment of the release starting at `startedAt`, in `deploymentGroup`, is the one the pass let through. */
export function passApplies(pass: Pick<GatePass, 'deploymentGroup' | 'decidedAt'>, deployment: { readonly deploymentGroup: string; readonly startedAt: number }): boolean {
  const after = deployment.startedAt - pass.decidedAt;
  return pass.deploymentGroup === deployment.deploymentGroup && after >= -GATE_PASS_CLOCK_SKEW_MS && after <= GATE_PASS_VALID_MS;
}

/** The link of a deployment's assessment to the gate's pass of its release. */
export function gateLinkOf(pass: GatePass, wouldStop: boolean): GateLink {
  return {
    jobId: pass.jobId,
    ...(pass.pipelineExecutionId ? { pipelineExecutionId: pass.pipelineExecutionId } : {}),
    probability: pass.probability,
    cut: pass.cut,
    decidedAt: eventBridgeTime(pass.decidedAt),
    passedBy: pass.passedBy,
    letThrough: wouldStop,
  };
}

/**
 * A verdict that would stop a deployment whose release the gate passed: not enforced (its outcome
 * is observed), the model's decision kept for the quality metrics. Its propensity is the gate's:
 * the exploration draw's when the gate's pass was one (training weighs the outcome by it), else 1
 * (the gate's decision, not a draw), as for an operator's override.
 */
export function letThroughByGate(verdict: Verdict, pass: Pick<GatePass, 'explored' | 'propensity'>): Verdict {
  const explored = pass.explored === true && pass.propensity !== undefined;
  return { ...verdict, enforced: false, explored, propensity: explored ? (pass.propensity as number) : 1 };
}

/** Why a would-be stop proceeds because the gate passed its release, in words. */
export function gateLinkWords(link: GateLink): string {
  const by = link.passedBy === 'assessment' ? 'its own assessment' : link.passedBy === 'override' ? "an operator's override or pause" : "a person's approval of its hold";
  return `the pipeline gate passed this release (job ${link.jobId}, ${riskAgainstCut(link.probability, link.cut)}, by ${by}) at ${link.decidedAt}: not stopped again for the same risk`;
}

/** The Pipeline Gate Decided announcement of a job that assessed a release, or of a held release settled since. */
export function gateDecidedEntry(
  record: GateJobRecord & { readonly outcome: GateOutcome; readonly assessment: GateAssessment },
  context: { readonly source: string; readonly eventBusName: string; readonly hold?: { readonly until: number; readonly onTimeout: HoldAction }; readonly settled?: HoldSettlement; readonly at: number },
): PutEventsEntry {
  const { assessment } = record;
  const answer = record.answer;
  return buildEntry(
    'Pipeline Gate Decided',
    {
      schemaVersion: '1',
      jobId: record.jobId,
      ...(record.pipelineExecutionId ? { pipelineExecutionId: record.pipelineExecutionId } : {}),
      application: record.application,
      deploymentGroup: record.deploymentGroup,
      revision: record.revision,
      mode: assessment.mode,
      outcome: record.outcome,
      probability: assessment.probability,
      cut: assessment.cut,
      blockBudget: assessment.blockBudget,
      cutSource: assessment.cutSource,
      enforced: assessment.enforced,
      modelVersion: assessment.modelVersion,
      topFactors: assessment.topFactors.map((factor) => ({ ...factor })),
      ...(assessment.fallback ? { fallback: { ...assessment.fallback } } : {}),
      changeSummary: { ...assessment.changeSummary },
      ...(assessment.override ? { override: { ...assessment.override, at: eventBridgeTime(assessment.override.at), until: eventBridgeTime(assessment.override.until) } } : {}),
      message: answer.kind === 'failure' ? answer.message : answer.summary,
      ...(context.hold ? { hold: { until: eventBridgeTime(context.hold.until), onTimeout: context.hold.onTimeout } } : {}),
      ...(context.settled ? { settled: { action: context.settled.action, by: context.settled.by, at: eventBridgeTime(context.settled.at) } } : {}),
      decidedAt: eventBridgeTime(record.decidedAt),
    },
    { source: context.source, eventBusName: context.eventBusName, time: new Date(context.at) },
  );
}

/**
 * A release the gate decided, as `deploy-guard decisions` lists it. A release the gate fails or
 * holds has no deployment, so the deployments table (and its assessments-by-group index, which
 * record-outcome, the reports, the shadow digest and the cut windows read as deployments) never
 * shows it; the gate lists its decisions instead in the control table, one item per group and UTC
 * day (`gateday#<group>#<day>`, a map of these by job id, appended with conditional writes), which
 * `decisions` and `report` read by key for the days of `--since`: a bounded read, and the operator
 * role's read scoped to that key prefix. A held release's settlement is added to its entry when a later job
 * answers from the hold; what a passed release's deployment became is its deployment's row, linked
 * by the job id its assessment carries (GateLink).
 */
export interface GateDecisionEntry {
  readonly jobId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  readonly revision: string;
  readonly pipelineExecutionId?: string;
  readonly outcome: GateOutcome;
  readonly decidedAt: number;
  readonly mode: GuardMode;
  readonly probability: number | null;
  readonly cut: number | null;
  readonly blockBudget: number | null;
  readonly modelVersion: string;
  /** The settlement of a held release: approved or rejected, by whom (or the hold's timeout), why and when. */
  readonly settled?: GateSettlement;
}

export type GateSettlement = Pick<HoldSettlement, 'action' | 'by' | 'reason' | 'at' | 'cause'>;

/** The listing entry of a job that assessed a release. */
export function gateDecisionEntry(record: GateJobRecord & { readonly outcome: GateOutcome; readonly assessment: GateAssessment }): GateDecisionEntry {
  const { assessment } = record;
  return {
    jobId: record.jobId,
    application: record.application,
    deploymentGroup: record.deploymentGroup,
    revision: record.revision,
    ...(record.pipelineExecutionId ? { pipelineExecutionId: record.pipelineExecutionId } : {}),
    outcome: record.outcome,
    decidedAt: record.decidedAt,
    mode: assessment.mode,
    probability: assessment.probability,
    cut: assessment.cut,
    blockBudget: assessment.blockBudget,
    modelVersion: assessment.modelVersion,
  };
}

/** A hold's settlement as its listing entry keeps it (not CodeDeploy's answer: the gate's hold makes no CodeDeploy call). */
export function gateSettlementOf(settled: HoldSettlement): GateSettlement {
  return { action: settled.action, by: settled.by, reason: settled.reason, at: settled.at, cause: settled.cause };
}

/** The control table key of the listing a decision is in: its group's, on its UTC day (its first page). */
export function gateDayKeyOf(entry: Pick<GateDecisionEntry, 'application' | 'deploymentGroup' | 'decidedAt'>, page = 0): string {
  return CONTROL_KEYS.gateDayPage(groupKey(entry.application, entry.deploymentGroup), gateDay(entry.decidedAt), page);
}

/**
 * How many bytes of entries one page of a day's listing holds. A DynamoDB item is at most 400 KB
 * (409,600 bytes, names and values); the rest is the page's key, its byte count and its expiry. A
 * group deciding more in a day (about 800 releases of typical size) continues on the next page.
 */
export const GATE_DAY_PAGE_BYTES = 380_000;

/** The longest an ARN may be (IAM's limit): a settler's identity. */
const MAX_ARN_BYTES = 2_048;

/**
 * The room kept beside a held release's entry for the settlement added to it later: the longest
 * reason (every character 4 bytes in UTF-8), the longest ARN, and the settlement's other fields.
 */
export const SETTLEMENT_ROOM_BYTES = 4 * MAX_REASON_CHARS + MAX_ARN_BYTES + 256;

/**
 * The bytes an entry takes in its page, counted high: its JSON text's UTF-8 length (quotes, braces
 * and separators outweigh DynamoDB's per-element overhead) plus its job id as the map key, and the
 * room for a settlement when it is held.
 */
export function listingBytes(entry: GateDecisionEntry): number {
  const settlementRoom = entry.outcome === 'hold' && !entry.settled ? SETTLEMENT_ROOM_BYTES : 0;
  return Buffer.byteLength(entry.jobId) + Buffer.byteLength(JSON.stringify(entry)) + settlementRoom;
}

/** The UTC day (YYYY-MM-DD) a decision is listed under. */
export function gateDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** The UTC days from `since` to `now`, newest first: the listings `decisions` reads (none when since is after now). */
export function gateDaysBetween(since: number, now: number): string[] {
  const days: string[] = [];
  for (let day = Math.floor(now / DAY_MS) * DAY_MS; day >= Math.floor(since / DAY_MS) * DAY_MS; day -= DAY_MS) days.push(gateDay(day));
  return days;
}
