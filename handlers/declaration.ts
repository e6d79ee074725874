import type { ENV } from './config';
import type { HandlerName } from './entries';
import { BAKE_KEYS, CONTROL_KEYS, OPERATOR_KEY_PREFIXES, type TableName } from './tables';

/**
 * What a handler declares once, next to its code (handlers/<name>.declaration.ts): the environment
 * it reads, the AWS resources and actions it uses, and the ports its dependencies are made of. The
 * stack derives the function's environment and IAM policy from it (stacks/handler-grants.ts); the
 * Lambda entry (handlers/lambda-entry.ts), the local runtime and the fuzzer compose the same ports,
 * from AWS clients or from stand-ins.
 */

/** A key of ENV: the environment variable `ENV[key]`. */
export type EnvKey = keyof typeof ENV;

/** Deploy Guard's buckets, by purpose. */
export type BucketPurpose = 'data' | 'models';

/**
 * A resource named by what it is to the installation; the stack resolves it to ARNs.
 * - `own-*`: the resources named with the installation's prefix (events/names.ts);
 * - `any`: actions that have no resource type (AWS accepts only "*");
 * - `{ objects, prefix, ownNames }`: the objects under a prefix of the bucket layout
 *   (handlers/s3-layout.ts), only those named with the installation's prefix when ownNames;
 * - `notification-topics`: the SNS topics people are told through (e-mail, and chat when configured);
 * - `{ tableIndex }`: the global secondary index of a table (handlers/tables.ts), for Query.
 */
export type Resource =
  | 'guarded-deployment-groups'
  | 'prediction-endpoint'
  | 'own-bus'
  | 'own-training-jobs'
  | 'own-models'
  | 'own-endpoint-configs'
  | 'model-package-group'
  | 'model-packages'
  | 'training-role'
  | 'serving-role'
  | 'notification-topics'
  | 'any'
  | { readonly table: TableName }
  | { readonly tableIndex: TableName }
  | { readonly bucket: BucketPurpose }
  | { readonly objects: BucketPurpose; readonly prefix: string; readonly ownNames?: boolean };

/** What an installation may or may not have configured: `bake-tier`, a guarded group with a bake tier. */
export type InstallationFeature = 'bake-tier';

/** One IAM statement of the handler's role, with abstract resources and constant conditions. */
export interface ResourceNeed {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly on: readonly Resource[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  /** Granted only in an installation with this feature (the handler uses it for nothing else). @default always */
  readonly onlyWith?: InstallationFeature;
}

/** The needs a handler is granted in an installation with these features: those without `onlyWith`, and those whose feature it has. */
export function neededIn(declaration: Pick<HandlerDeclaration, 'needs'>, features: ReadonlySet<InstallationFeature>): readonly ResourceNeed[] {
  return declaration.needs.filter((need) => need.onlyWith === undefined || features.has(need.onlyWith));
}

/** The ports of a handler's dependencies: everything but its configuration. */
export type PortsOf<Dependencies> = Omit<Dependencies, 'config'>;

/** The declaration of one handler; `Dependencies` is its handle function's dependencies. */
export interface HandlerDeclaration<Dependencies = unknown> {
  readonly name: HandlerName;
  /** Every environment variable its configuration and its AWS composition read: the stack sets exactly these. */
  readonly reads: readonly EnvKey[];
  /** Every AWS action it calls, on what: the stack grants exactly these. */
  readonly needs: readonly ResourceNeed[];
  /** The ports its dependencies are composed of, besides its configuration. */
  readonly ports: readonly (keyof PortsOf<Dependencies>)[];
  /** @default 30 */
  readonly timeoutSeconds?: number;
}

/** The actions on the tables' items that a handler owning them uses. */
const ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'] as const;

/** Reads and writes of the items of some tables. */
export function itemsOf(...tables: TableName[]): ResourceNeed {
  return { sid: 'Tables', actions: ITEM_ACTIONS, on: tables.map((table) => ({ table })) };
}

/**
 * Reading the operators' overrides and pauses: GetItem on the control table's `override#…` and
 * `pause#…` items only (dynamodb:LeadingKeys), for a handler that has no other use of that table.
 */
export const READ_OPERATOR_ITEMS: ResourceNeed = {
  sid: 'ReadOperatorOverrides',
  actions: ['dynamodb:GetItem'],
  on: [{ table: 'control' }],
  conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${OPERATOR_KEY_PREFIXES.override}*`, `${OPERATOR_KEY_PREFIXES.pause}*`] } },
};

/**
 * Recording holds (handlers/hold-domain.ts): the control table's `hold#…` items and the list of open
 * ones (`holds#open`) only, for a handler that has no other write to that table.
 */
export const RECORD_HOLD_ITEMS: ResourceNeed = {
  sid: 'RecordHolds',
  actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  on: [{ table: 'control' }],
  conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${OPERATOR_KEY_PREFIXES.hold}*`, CONTROL_KEYS.openHolds] } },
};

/**
 * The bakes (BakeStore): GetItem and the conditional PutItem on the control table's `bakes#open` and
 * `bake#<deploymentId>` items only (dynamodb:LeadingKeys).
 */
export const BAKE_ITEMS: ResourceNeed = {
  sid: 'Bakes',
  actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  on: [{ table: 'control' }],
  conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [BAKE_KEYS.book, `${BAKE_KEYS.closedPrefix}*`] } },
};

/** Putting events on the installation's own bus: what makes a function a publisher (the bus policy admits it). */
export const PUBLISH_ON_OWN_BUS: ResourceNeed = { sid: 'PublishOnOwnBus', actions: ['events:PutEvents'], on: ['own-bus'] };

/** Telling people: publishing to the notification topics (encrypted with the installation's key, which every function may use, stacks/nodejs-function.ts). */
export const PUBLISH_NOTIFICATIONS: ResourceNeed = { sid: 'PublishNotifications', actions: ['sns:Publish'], on: ['notification-topics'] };

/** Passing a SageMaker role (a training job's, a served model's) to SageMaker only. */
export function passToSageMaker(role: 'training-role' | 'serving-role'): ResourceNeed {
  return { sid: 'PassSageMakerRoles', actions: ['iam:PassRole'], on: [role], conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } } };
}

/** Listing a bucket's keys under one prefix. */
export function listUnder(sid: string, bucket: BucketPurpose, prefix: string): ResourceNeed {
  return { sid, actions: ['s3:ListBucket'], on: [{ bucket }], conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } };
}

/** Whether a handler puts events on the bus. */
export function publishes(declaration: Pick<HandlerDeclaration, 'needs'>): boolean {
  return declaration.needs.includes(PUBLISH_ON_OWN_BUS);
}

/** A handler's dependencies: its declared ports, taken from a set of ports (AWS clients or stand-ins), and its configuration. */
export function compose<Dependencies extends { readonly config: unknown }>(
  declaration: HandlerDeclaration<Dependencies>,
  ports: Required<PortsOf<Dependencies>>,
  config: Dependencies['config'],
): Dependencies {
  const picked = Object.fromEntries(declaration.ports.map((port) => [port, ports[port]]));
  return { ...picked, config } as unknown as Dependencies;
}

/**
 * A handler as the Lambda entry, the local runtime and the fuzzer run it: its declaration, its handle
 * function, its configuration from the environment and its ports made of AWS clients.
 */
export interface HandlerDefinition<Dependencies extends { readonly config: unknown }, Result> {
  readonly declaration: HandlerDeclaration<Dependencies>;
  readonly handle: (event: unknown, dependencies: Dependencies) => Promise<Result>;
  readonly configFromEnv: (env: NodeJS.ProcessEnv) => Dependencies['config'];
  /** Its ports from the AWS SDK clients of its module (created once per container), configured from the environment. */
  readonly awsPorts: (env: NodeJS.ProcessEnv) => Required<PortsOf<Dependencies>>;
  /** The id tying an invocation's log lines together. @default correlationIdOf(event) (handlers/observability.ts) */
  readonly correlationId?: (event: unknown, result: Result) => string | undefined;
}

/** The dependencies a Lambda container runs a handler with: AWS clients, configured from the environment. */
export function awsDependencies<Dependencies extends { readonly config: unknown }, Result>(definition: HandlerDefinition<Dependencies, Result>, env: NodeJS.ProcessEnv): Dependencies {
  return compose(definition.declaration, definition.awsPorts(env), definition.configFromEnv(env));
}
