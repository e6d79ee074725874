/**
 * The DynamoDB tables of Deploy Guard: their logical names and keys. The stacks create them from
 * this, the DynamoDB adapters read and write them by these keys, and the local runtime creates the
 * same tables in dynalite. All string keys; on-demand billing.
 */
import { ownName } from '../events/names';

export interface TableDefinition {
  /** Logical name: the suffix of the physical name (`<prefix>-<name>`) and the key of ENV. */
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Attribute holding an epoch-seconds expiry (DynamoDB TTL), when the table expires items. */
  readonly ttlAttribute?: string;
  /** A global secondary index (all attributes projected), for the reads the key cannot serve. */
  readonly index?: IndexDefinition;
  readonly description: string;
}

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/**
 * The deployments table's index of assessments by group and time (`deploy-guard decisions`): the
 * group key (`application/deploymentGroup`) and the assessment's ISO time, written with the assessment.
 */
export const ASSESSMENTS_BY_GROUP = { name: 'assessments-by-group', partitionKey: 'assessedGroup', sortKey: 'assessedTime' } as const satisfies IndexDefinition;

export const TABLES = {
  deployments: {
    name: 'deployments',
    partitionKey: 'deploymentId',
    index: ASSESSMENTS_BY_GROUP,
    description: 'One item per deployment: its assessment and its outcome, in whichever order they arrive; assessments by group and time in an index.',
  },
  history: {
    name: 'history',
    partitionKey: 'group',
    sortKey: 'at',
    description: 'Outcomes per deployment group (`application/deploymentGroup`), sorted by start time (`<ISO time>#<deploymentId>`), for history features.',
  },
  changes: {
    name: 'changes',
    partitionKey: 'application',
    sortKey: 'revision',
    ttlAttribute: 'expiresAt',
    description: 'Deployment Change Summaries by application and revision key.',
  },
  control: {
    name: 'control',
    partitionKey: 'key',
    ttlAttribute: 'expiresAt',
    description: 'Single items: the rollback ledger (`rollback#<id>`), the serving model (`model#serving`), retraining (`retraining#last`, `job#<name>`), cuts (`cut#<group>`), operator overrides (`override#…`) and pauses (`pause#…`), holds (`hold#<id>`, `holds#open`), the pipeline gate jobs (`gatejob#<jobId>`), passes (`gatepass#<application>#<revisionKey>`) and decisions by group and day (`gateday#<group>#<day>`), the open bakes (`bakes#open`) and the closed ones (`bake#<deploymentId>`), and the claims of the days the shadow digest tells (`shadowdigest#<start of the day>`).',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

/** A table's physical name in an installation: `<namePrefix>-<name>` (the stack, dynalite and the CLI). */
export function tableName(namePrefix: string, table: TableName): string {
  return ownName(namePrefix, TABLES[table].name);
}

/** The bakes' keys: the book of open bakes, and what a closed bake's key starts with (the bakes' IAM is scoped to these by dynamodb:LeadingKeys). */
export const BAKE_KEYS = { book: 'bakes#open', closedPrefix: 'bake#' } as const;

/** A page of the gate's listing of a group's day: the first page is the listing's own key. */
function gateDayPageKey(group: string, day: string, page: number): string {
  return `${GATE_KEY_PREFIXES.day}${group}#${day}${page === 0 ? '' : `#${page}`}`;
}

/** Keys of the control table's single items. */
export const CONTROL_KEYS = {
  rollback: (deploymentId: string) => `rollback#${deploymentId}`,
  servingModel: 'model#serving',
  retraining: 'retraining#last',
  jobVerdict: (trainingJobName: string) => `job#${trainingJobName}`,
  /** A training job drift started, as it started it. */
  trainingJob: (trainingJobName: string) => `trainingjob#${trainingJobName}`,
  /** promote's intent for a job it promotes. */
  promotion: (trainingJobName: string) => `promotion#${trainingJobName}`,
  /** A group's block-budget cut (`cut#<application>/<deploymentGroup>`), or the pooled one. */
  cut: (scope: string) => `cut#${scope}`,
  /** The open bakes and the states of the alarms they watch (one item, compare-and-set). */
  bakes: BAKE_KEYS.book,
  /** A closed bake. */
  bake: (deploymentId: string) => `${BAKE_KEYS.closedPrefix}${deploymentId}`,
  /** An operator's override of a release (`override#<application>#<revisionKey>`), see handlers/operator-controls.ts. */
  override: (application: string, revision: string) => `${OPERATOR_KEY_PREFIXES.override}${application}#${revision}`,
  /** An operator's pause of a group (`pause#<application>/<deploymentGroup>`). */
  pause: (group: string) => `${OPERATOR_KEY_PREFIXES.pause}${group}`,
  /** A deployment held for a person (`hold#<deploymentId>`), see handlers/hold-domain.ts. */
  hold: (deploymentId: string) => `${OPERATOR_KEY_PREFIXES.hold}${deploymentId}`,
  /** The ids of the holds not yet settled (a string set): what the hold timeouts look at each minute. */
  openHolds: 'holds#open',
  /** A CodePipeline job the pipeline gate decided (`gatejob#<jobId>`), see handlers/pipeline-gate-domain.ts. */
  gateJob: (jobId: string) => `${GATE_KEY_PREFIXES.job}${jobId}`,
  /** The pipeline gate's latest pass of a release (`gatepass#<application>#<revisionKey>`), read by predict. */
  gatePass: (application: string, revision: string) => `${GATE_KEY_PREFIXES.pass}${application}#${revision}`,
  /** The releases the pipeline gate decided in a group on a UTC day (`gateday#<application>/<deploymentGroup>#<YYYY-MM-DD>`), read by `deploy-guard decisions` and `deploy-guard report`. */
  gateDay: (group: string, day: string) => gateDayPageKey(group, day, 0),
  /** A page of that listing: the first is the listing's own key, the n-th after it `…#<day>#<n>` (see GATE_DAY_PAGE_BYTES). */
  gateDayPage: (group: string, day: string, page: number) => gateDayPageKey(group, day, page),
  /** The shadow digest's claim of the day its window starts (`shadowdigest#<ISO time>`), see handlers/shadow-digest-domain.ts. */
  shadowDigest: (from: number) => `${SHADOW_DIGEST_KEY_PREFIX}${new Date(from).toISOString()}`,
} as const;

/** What the keys of the shadow digest's claims start with (its IAM is scoped to these by dynamodb:LeadingKeys). */
export const SHADOW_DIGEST_KEY_PREFIX = 'shadowdigest#';

/** What the keys of the pipeline gate's items start with (its IAM is scoped to these and the holds by dynamodb:LeadingKeys). */
export const GATE_KEY_PREFIXES = { job: 'gatejob#', pass: 'gatepass#', day: 'gateday#' } as const;

/** What the keys of the operators' items start with: the operators' role may touch only these (dynamodb:LeadingKeys). */
export const OPERATOR_KEY_PREFIXES = { override: 'override#', pause: 'pause#', hold: 'hold#' } as const;
