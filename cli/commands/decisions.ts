import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolve } from 'node:path';
import type { GateLink } from '../../events/emitted';
import { systemClock, type Clock } from '../../events/clock';
import { DynamoDbGateStore } from '../../handlers/adapters/dynamodb-gates';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import { startsBake } from '../../handlers/bake-domain';
import { budgetWords, riskAgainstCut } from '../../handlers/decision-words';
import { gateDaysBetween, type GateDecisionEntry, type GateSettlement } from '../../handlers/pipeline-gate-domain';
import type { AssessmentRecord, DeploymentItem, DeploymentStore, GateDecisionListing } from '../../handlers/ports';
import { tableName } from '../../handlers/tables';
import { guardedGroupPolicies, loadConfig, DEFAULT_CONFIG_FILE, type EnvironmentConfig } from '../../stacks/config';
import { parseOptions, requireOption, UsageError, type Command } from '../command';
import { summaryOf } from '../catalog';


/** How far back `decisions` looks unless told (`--since`). */
export const DEFAULT_SINCE = '24h';
export const DEFAULT_LIMIT = 50;

export interface DecisionsCommandDependencies {
  /** The deployments table of an environment (the caller's credentials; `--endpoint` for DynamoDB Local or dynalite). */
  readonly deploymentStore?: (environment: EnvironmentConfig, endpoint: string | undefined) => DeploymentStore;
  /** The pipeline gate's decisions by group and day (the control table's `gateday#…` items, the caller's credentials). */
  readonly gateListing?: (environment: EnvironmentConfig, endpoint: string | undefined) => GateDecisionListing;
  readonly clock?: Clock;
}

/** One line of the view: a deployment Deploy Guard assessed, or a release its pipeline gate decided. */
export type ViewRow = DecisionRow | GateDecisionRow;

/** A deployment Deploy Guard assessed, what it decided and how it ended. */
export interface DecisionRow {
  readonly kind: 'deployment';
  readonly deploymentId: string;
  readonly group: string;
  readonly startedAt: string;
  readonly decision: string;
  readonly probability: number | null;
  readonly cut: number | null;
  readonly blockBudget: number | null;
  readonly outcome: string;
  readonly modelVersion: string;
  readonly fallback?: string;
  /** Whether the release's change summary was joined (joined, missing, no-revision), when the assessment says. */
  readonly changeSummary?: string;
  /** The operator's override or pause that let a would-be stop through: who, why, until when. */
  readonly override?: { readonly kind: 'override' | 'pause'; readonly by: string; readonly reason: string; readonly at: string; readonly until: string };
  /** The pipeline gate's pass of the release, when it went through a gate stage. */
  readonly gate?: GateLink;
}

/** A release the pipeline gate decided (before any deployment of it existed), and what it became. */
export interface GateDecisionRow {
  readonly kind: 'gate';
  readonly jobId: string;
  readonly pipelineExecutionId?: string;
  readonly group: string;
  readonly revision: string;
  readonly decidedAt: string;
  /** The gate's decision: pass, fail, or hold (then `settled` once approved or rejected). */
  readonly gateOutcome: GateDecisionEntry['outcome'];
  readonly settled?: Omit<GateSettlement, 'at'> & { readonly at: string };
  readonly decision: string;
  readonly probability: number | null;
  readonly cut: number | null;
  readonly blockBudget: number | null;
  /** What became of the release: its deployments' outcomes once linked, else not deployed or waiting. */
  readonly outcome: string;
  /** The deployments of the release this view lists (their assessments carry the job id). */
  readonly deploymentIds: readonly string[];
  readonly modelVersion: string;
}

/** The decisions command; dependencies injected for tests. */
export function createDecisionsCommand(deps: DecisionsCommandDependencies = {}): Command {
  const clock = deps.clock ?? systemClock;
  const storeFor = deps.deploymentStore ?? dynamoDbDeploymentStore;
  const listingFor = deps.gateListing ?? dynamoDbGateListing;
  return {
    name: 'decisions',
    summary: summaryOf('decisions'),
    usage: `Usage: deploy-guard decisions --environment ENV [--group APP/GROUP] [--since T] [--limit N]
                              [--config FILE] [--endpoint URL] [--json]

Lists what Deploy Guard decided in an environment, newest first: each assessed deployment with its
decision (stopped, would stop in shadow mode, explored, proceed, overridden or paused by whom and why), its risk against the cut and the
block budget it was decided with, its outcome once known, and the model that scored it; and each release
its pipeline gate decided (job id, revision, passed / failed / held and how the hold ended, and the
deployment it became). Reads the environment's deployments table (dynamodb:Query on its index) and the
gate's decisions by group and day in its control table (dynamodb:GetItem) with your AWS credentials.

Options:
  --environment ENV   the environment of the configuration (dev, staging, prod)
  --group APP/GROUP   one guarded group (default: every group the environment guards)
  --since T           from an ISO time (2026-12-01T09:00Z) or this long ago: 30m, 24h, 7d (default ${DEFAULT_SINCE})
  --limit N           at most N deployments and gate decisions per group (default ${DEFAULT_LIMIT})
  --config FILE       the configuration (default deploy-guard.config.json)
  --endpoint URL      a DynamoDB endpoint other than AWS's (DynamoDB Local, dynalite)
  --json              one JSON object per line instead of the table`,
    async run(argv, io) {
      const options = parseOptions(argv, { environment: 'value', group: 'value', since: 'value', limit: 'value', config: 'value', endpoint: 'value', json: 'flag' });
      const environmentName = requireOption(options, 'environment');
      const configFile = resolve(io.cwd, typeof options.config === 'string' ? options.config : DEFAULT_CONFIG_FILE);
      const environment = loadConfig(configFile).environments[environmentName];
      if (!environment) throw new UsageError(`--environment: '${environmentName}' is not an environment of ${configFile}`);
      const now = clock.now();
      const since = parseSince(typeof options.since === 'string' ? options.since : DEFAULT_SINCE, now);
      const limit = parseLimit(options.limit);
      const groups = selectGroups(environment, typeof options.group === 'string' ? options.group : undefined);
      const endpoint = typeof options.endpoint === 'string' ? options.endpoint : undefined;
      const store = storeFor(environment, endpoint);
      const listing = listingFor(environment, endpoint);
      const rows: ViewRow[] = [];
      for (const group of groups) {
        const deployments = (await store.recentAssessments(group.application, group.deploymentGroup, since, limit)).map(decisionRow);
        const gated = await gateDecisionsSince(listing, `${group.application}/${group.deploymentGroup}`, since, now);
        rows.push(...newestFirst([...deployments, ...gated.map((entry) => gateDecisionRow(entry, deployments))]).slice(0, limit));
      }
      newestFirst(rows);
      if (options.json === true) {
        for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
        return 0;
      }
      io.stdout.write(`${renderDecisions(rows, { namePrefix: environment.namePrefix, since })}\n`);
      return 0;
    },
  };
}

/** The deployments table of an environment, with the caller's credentials (`--endpoint` for DynamoDB Local or dynalite). */
export function dynamoDbDeploymentStore(environment: EnvironmentConfig, endpoint: string | undefined): DeploymentStore {
  const client = new DynamoDBClient({ region: environment.region, ...(endpoint ? { endpoint } : {}) });
  return new DynamoDbDeploymentStore(client, tableName(environment.namePrefix, 'deployments'), tableName(environment.namePrefix, 'history'));
}

/** The control table's gate decisions of an environment, with the caller's credentials. */
export function dynamoDbGateListing(environment: EnvironmentConfig, endpoint: string | undefined): GateDecisionListing {
  const client = new DynamoDBClient({ region: environment.region, ...(endpoint ? { endpoint } : {}) });
  return new DynamoDbGateStore(client, tableName(environment.namePrefix, 'control'));
}

/**
 * A group's (`application/deploymentGroup`) gate decisions from `since` to `now`: its listings of the
 * UTC days between, one GetItem each (`decisions` and `report` read them so).
 */
export async function gateDecisionsSince(listing: GateDecisionListing, group: string, since: number, now: number): Promise<GateDecisionEntry[]> {
  const entries: GateDecisionEntry[] = [];
  for (const day of gateDaysBetween(since, now)) entries.push(...(await listing.listedDecisions(group, day)));
  return entries.filter((entry) => entry.decidedAt >= since);
}

/** When a row's decision was made: a deployment's start, a gate job's decision. */
export function rowTime(row: ViewRow): string {
  return row.kind === 'gate' ? row.decidedAt : row.startedAt;
}

/** Sorts rows newest first (in place), and answers them. */
export function newestFirst<T extends ViewRow>(rows: T[]): T[] {
  return rows.sort((a, b) => (rowTime(a) < rowTime(b) ? 1 : rowTime(a) > rowTime(b) ? -1 : 0));
}

/** `--since`: an ISO time, or a duration ago (`30m`, `24h`, `7d`). */
export function parseSince(text: string, now: number): number {
  const ago = /^(\d+)([mhd])$/.exec(text);
  if (ago) return now - Number(ago[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 'm' | 'h' | 'd'];
  const at = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`--since: expected an ISO time such as 2026-12-01T09:00Z or a duration such as 30m, 24h or 7d, got '${text}'`);
  return at;
}

function parseLimit(value: string | true | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= 10_000)) throw new UsageError(`--limit: expected a whole number from 1 to 10000, got '${String(value)}'`);
  return limit;
}

/** The guarded groups to list: one named by `--group` (which must be guarded there), or all of them. */
function selectGroups(environment: EnvironmentConfig, wanted: string | undefined): { application: string; deploymentGroup: string }[] {
  const guarded = guardedGroupPolicies(environment).map(({ application, deploymentGroup }) => ({ application, deploymentGroup }));
  if (wanted === undefined) return guarded;
  const found = guarded.find((group) => `${group.application}/${group.deploymentGroup}` === wanted);
  if (!found) throw new UsageError(`--group: '${wanted}' is not guarded in this environment; it guards ${guarded.map((group) => `${group.application}/${group.deploymentGroup}`).join(', ')}`);
  return [found];
}

/** What the assessment decided, in words. */
export function decisionWords(assessment: AssessmentRecord): string {
  if (assessment.override) return assessment.override.kind === 'override' ? 'overridden (a would-be stop let through)' : 'paused (a would-be stop let through)';
  if (assessment.gate?.letThrough) return `passed at the pipeline gate (job ${assessment.gate.jobId}: a would-be stop let through)`;
  if (assessment.explored) return 'explored (a would-be stop let through)';
  if (assessment.decision === 'proceed') return startsBake(assessment) ? `proceed, baked ${assessment.bake!.minutes} min after its traffic moves` : 'proceed';
  if (assessment.mode === 'shadow' || !assessment.enforced) return 'would stop (shadow)';
  // A held deployment's end (approved, rejected, timed out) is in its hold and its outcome.
  if (assessment.onRisk === 'hold') return 'held for a person (approve / reject)';
  return assessment.mode === 'gate' ? 'stopped at the gate' : 'stopped';
}

export function decisionRow(item: DeploymentItem): DecisionRow {
  const assessment = item.assessment!;
  return {
    kind: 'deployment',
    deploymentId: item.deploymentId,
    group: `${assessment.application}/${assessment.deploymentGroup}`,
    startedAt: new Date(assessment.startedAt).toISOString(),
    decision: decisionWords(assessment),
    probability: assessment.probability,
    cut: assessment.cut,
    blockBudget: assessment.blockBudget,
    outcome: item.outcome?.label ?? 'pending',
    modelVersion: assessment.modelVersion,
    ...(assessment.fallback ? { fallback: `${assessment.fallback.policy}: ${assessment.fallback.reason}` } : {}),
    ...(assessment.changeSummary ? { changeSummary: assessment.changeSummary.status } : {}),
    ...(assessment.override
      ? { override: { ...assessment.override, at: new Date(assessment.override.at).toISOString(), until: new Date(assessment.override.until).toISOString() } }
      : {}),
    ...(assessment.gate ? { gate: { ...assessment.gate } } : {}),
  };
}

/** What the gate decided, in words (a held release's settlement included). */
export function gateDecisionWords(entry: Pick<GateDecisionEntry, 'outcome' | 'revision' | 'settled'>): string {
  const release = `release ${entry.revision}`;
  if (entry.outcome === 'pass') return `passed at the pipeline gate: ${release}`;
  if (entry.outcome === 'fail') return `failed at the pipeline gate: ${release} (no deployment created)`;
  if (!entry.settled) return `held at the pipeline gate for a person: ${release} (approve / reject --pipeline-job)`;
  const by = entry.settled.cause === 'timeout' ? "the hold's timeout" : entry.settled.by;
  return `held at the pipeline gate: ${release}, ${entry.settled.action === 'approve' ? 'approved' : 'rejected'} by ${by}: ${entry.settled.reason}`;
}

/** What became of a release the gate decided: its deployments' outcomes, or why there is none. */
export function gateReleaseOutcome(entry: Pick<GateDecisionEntry, 'outcome' | 'settled'>, deployments: readonly Pick<DecisionRow, 'deploymentId' | 'outcome'>[]): string {
  if (deployments.length > 0) return deployments.map((row) => `${row.deploymentId}: ${row.outcome}`).join(', ');
  if (entry.outcome === 'fail' || entry.settled?.action === 'reject') return 'not deployed';
  if (entry.outcome === 'hold' && !entry.settled) return 'waiting';
  return 'not deployed yet';
}

/**
 * A gate decision's row, linked to the deployments of the same view whose assessments name its job
 * (a deployment starts after the gate passed its release, so within --since and --limit it is listed too).
 */
export function gateDecisionRow(entry: GateDecisionEntry, deployments: readonly DecisionRow[]): GateDecisionRow {
  const linked = deployments.filter((row) => row.gate?.jobId === entry.jobId).reverse();
  return {
    kind: 'gate',
    jobId: entry.jobId,
    ...(entry.pipelineExecutionId ? { pipelineExecutionId: entry.pipelineExecutionId } : {}),
    group: `${entry.application}/${entry.deploymentGroup}`,
    revision: entry.revision,
    decidedAt: new Date(entry.decidedAt).toISOString(),
    gateOutcome: entry.outcome,
    ...(entry.settled ? { settled: { ...entry.settled, at: new Date(entry.settled.at).toISOString() } } : {}),
    decision: gateDecisionWords(entry),
    probability: entry.probability,
    cut: entry.cut,
    blockBudget: entry.blockBudget,
    outcome: gateReleaseOutcome(entry, linked),
    deploymentIds: linked.map((row) => row.deploymentId),
    modelVersion: entry.modelVersion,
  };
}

/** The table people read: a header, then one line per deployment or gate job, newest first. */
export function renderDecisions(rows: readonly ViewRow[], context: { readonly namePrefix: string; readonly since: number }): string {
  const title = `${context.namePrefix}: ${rows.length} decision${rows.length === 1 ? '' : 's'} since ${new Date(context.since).toISOString()}, newest first`;
  if (rows.length === 0) return `${title}\n(none)`;
  const header = ['started (UTC)', 'deployment / gate job', 'group', 'decision', 'risk vs cut', 'budget', 'outcome', 'model'];
  const lines = rows.map((row) => (row.kind === 'gate' ? gateLine(row) : deploymentLine(row)));
  const widths = header.map((cell, column) => Math.max(cell.length, ...lines.map((line) => line[column].length)));
  const format = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [title, format(header), ...lines.map(format)].join('\n');
}

function gateLine(row: GateDecisionRow): string[] {
  return [row.decidedAt.slice(0, 16).replace('T', ' '), `job ${row.jobId}`, row.group, row.decision, riskAgainstCut(row.probability, row.cut), budgetWords(row.blockBudget), row.outcome, row.modelVersion];
}

function deploymentLine(row: DecisionRow): string[] {
  return [
    row.startedAt.slice(0, 16).replace('T', ' '),
    row.deploymentId,
    row.group,
    [
      row.decision,
      row.override ? `by ${row.override.by}: ${row.override.reason}` : '',
      row.fallback ? `(fallback ${row.fallback})` : '',
      row.changeSummary && row.changeSummary !== 'joined' ? '(no change summary)' : '',
    ]
      .filter(Boolean)
      .join(' '),
    riskAgainstCut(row.probability, row.cut),
    budgetWords(row.blockBudget),
    row.outcome,
    row.modelVersion,
  ];
}
