import { ownNames } from '../events/names';
import { ENV, type EnvName, type GroupPolicy } from '../handlers/config';
import { neededIn, type BucketPurpose, type EnvKey, type HandlerDeclaration, type InstallationFeature, type Resource } from '../handlers/declaration';
import { TABLES, type IndexDefinition, type TableDefinition, type TableName } from '../handlers/tables';
import { bucketArn, objectsArn } from './construct-support';
import type { PolicyStatement } from './iam';

/**
 * A handler's declaration (handlers/<name>.declaration.ts) made concrete in one installation: its
 * role's statements and its function's environment. Nothing is granted or set that the handler does
 * not declare.
 */

/** What the declarations' abstract resources are in one installation (ARNs built from names, exact before anything exists). */
export interface InstallationResources {
  readonly partition: string;
  /** `arn:<partition>:<service>:<region>:<account>:<resource>`. */
  readonly arn: (service: string, resource: string) => string;
  readonly namePrefix: string;
  readonly tableNames: Readonly<Record<TableName, string>>;
  readonly bucketNames: Readonly<Record<BucketPurpose, string>>;
  readonly guardedGroupArns: readonly string[];
  readonly endpointName: string;
  readonly busName: string;
  readonly trainingRoleArn: string;
  readonly servingRoleArn: string;
  readonly modelPackageGroupName: string;
  /** The notification topic and, when a chat channel is configured, the chat topic. */
  readonly notificationTopicArns: readonly string[];
  /** What the installation has configured: a need `onlyWith` a feature it lacks is not granted. */
  readonly features: ReadonlySet<InstallationFeature>;
}

/** The features of an installation guarding these groups. */
export function installationFeatures(groups: readonly Pick<GroupPolicy, 'bake'>[]): ReadonlySet<InstallationFeature> {
  return new Set<InstallationFeature>(groups.some((group) => group.bake) ? ['bake-tier'] : []);
}

/** The role's statements: one per declared need the installation calls for, in the declared order. */
export function grantedStatements(declaration: Pick<HandlerDeclaration, 'needs'>, installation: InstallationResources): PolicyStatement[] {
  return neededIn(declaration, installation.features).map((need) => ({
    sid: need.sid,
    actions: need.actions,
    resources: need.on.flatMap((resource) => arnsOf(resource, installation)),
    ...(need.conditions ? { conditions: need.conditions } : {}),
  }));
}

/** The function's environment: exactly the variables the handler reads, with the installation's values. */
export function declaredEnvironment(declaration: Pick<HandlerDeclaration, 'reads'>, values: Readonly<Record<EnvKey, string>>): Partial<Record<EnvName, string>> {
  return Object.fromEntries(declaration.reads.map((key) => [ENV[key], values[key]]));
}

/** A table's index; a declaration naming a table without one is a programming error, said at synthesis. */
function indexOf(table: TableName): IndexDefinition {
  const definition: TableDefinition = TABLES[table];
  if (!definition.index) throw new Error(`a handler declares Query on the index of the ${table} table, which has none (handlers/tables.ts)`);
  return definition.index;
}

type NamedResource = Extract<Resource, string>;

/** The SageMaker resources of a kind named with the installation's prefix. */
const ownSageMaker = (at: InstallationResources, kind: string) => at.arn('sagemaker', `${kind}/${ownNames(at.namePrefix)}*`);

const NAMED: Readonly<Record<NamedResource, (at: InstallationResources) => readonly string[]>> = {
  'guarded-deployment-groups': (at) => at.guardedGroupArns,
  'prediction-endpoint': (at) => [at.arn('sagemaker', `endpoint/${at.endpointName}`)],
  'own-bus': (at) => [at.arn('events', `event-bus/${at.busName}`)],
  'own-training-jobs': (at) => [ownSageMaker(at, 'training-job')],
  'own-models': (at) => [ownSageMaker(at, 'model')],
  'own-endpoint-configs': (at) => [ownSageMaker(at, 'endpoint-config')],
  'model-package-group': (at) => [at.arn('sagemaker', `model-package-group/${at.modelPackageGroupName}`)],
  'model-packages': (at) => [at.arn('sagemaker', `model-package/${at.modelPackageGroupName}/*`)],
  'training-role': (at) => [at.trainingRoleArn],
  'serving-role': (at) => [at.servingRoleArn],
  'notification-topics': (at) => at.notificationTopicArns,
  any: () => ['*'],
};

function arnsOf(resource: Resource, at: InstallationResources): readonly string[] {
  if (typeof resource === 'string') return NAMED[resource](at);
  if ('table' in resource) return [at.arn('dynamodb', `table/${at.tableNames[resource.table]}`)];
  if ('tableIndex' in resource) return [at.arn('dynamodb', `table/${at.tableNames[resource.tableIndex]}/index/${indexOf(resource.tableIndex).name}`)];
  if ('bucket' in resource) return [bucketArn(at.partition, at.bucketNames[resource.bucket])];
  const prefix = resource.ownNames ? `${resource.prefix}${ownNames(at.namePrefix)}` : resource.prefix;
  return [objectsArn(at.partition, at.bucketNames[resource.objects], prefix)];
}
