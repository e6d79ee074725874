import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../../events/clock';
import { DEFAULT_EVENT_SOURCE } from '../../events/emitted';
import { DynamoDbOperatorControlStore } from '../../handlers/adapters/dynamodb-operator-controls';
import { DynamoDbHoldStore } from '../../handlers/adapters/dynamodb-holds';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';
import { DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import { EventBridgePublisher, type EventPublisher } from '../../handlers/adapters/event-publisher';
import { OperatorInputError } from '../../handlers/operator-controls';
import type { CodeDeployPort, DeploymentStore, HoldStore, OperatorControlStore } from '../../handlers/ports';
import { tableName } from '../../handlers/tables';
import { guardedGroupPolicies, loadConfig, DEFAULT_CONFIG_FILE, type EnvironmentConfig } from '../../stacks/config';
import { requireOption, UsageError } from '../command';
import { StsCallerIdentity, type CallerIdentity } from './caller-identity';

/**
 * What `deploy-guard override` and `deploy-guard pause` share: the environment's tables, bus and
 * the caller's identity, all with the caller's own credentials (the installation's operator role),
 * each injectable for tests.
 */


export interface OperatorCommandDependencies {
  /** The control table's operator items (`--endpoint` for DynamoDB Local or dynalite). */
  readonly operatorControls?: (environment: EnvironmentConfig, endpoint: string | undefined) => OperatorControlStore;
  /** The deployments table (an override given by deployment reads its assessment). */
  readonly deploymentStore?: (environment: EnvironmentConfig, endpoint: string | undefined) => DeploymentStore;
  /** Deploy Guard's bus, where the change is announced. */
  readonly publisher?: (environment: EnvironmentConfig) => EventPublisher;
  readonly identity?: (environment: EnvironmentConfig) => CallerIdentity;
  readonly clock?: Clock;
  /** The control table's holds (`deploy-guard approve` / `reject`). */
  readonly holds?: (environment: EnvironmentConfig, endpoint: string | undefined) => HoldStore;
  /** CodeDeploy, with the caller's credentials (`deploy-guard approve` / `reject`). */
  readonly codeDeploy?: (environment: EnvironmentConfig) => CodeDeployPort;
}

export interface OperatorContext {
  readonly environment: EnvironmentConfig;
  readonly operatorControls: OperatorControlStore;
  readonly deployments: () => DeploymentStore;
  readonly holds: () => HoldStore;
  readonly codeDeploy: () => CodeDeployPort;
  readonly publisher: EventPublisher;
  readonly identity: CallerIdentity;
  readonly now: number;
  /** Where announcements go: the installation's source and bus. */
  readonly bus: { readonly source: string; readonly eventBusName: string };
}

export function operatorContext(options: Record<string, string | true | undefined>, cwd: string, deps: OperatorCommandDependencies): OperatorContext {
  const environmentName = requireOption(options, 'environment');
  const configFile = resolve(cwd, typeof options.config === 'string' ? options.config : DEFAULT_CONFIG_FILE);
  const environment = loadConfig(configFile).environments[environmentName];
  if (!environment) throw new UsageError(`--environment: '${environmentName}' is not an environment of ${configFile}`);
  const endpoint = typeof options.endpoint === 'string' ? options.endpoint : undefined;
  return {
    environment,
    operatorControls: (deps.operatorControls ?? dynamoDbOperatorControls)(environment, endpoint),
    deployments: () => (deps.deploymentStore ?? dynamoDbDeployments)(environment, endpoint),
    holds: () => (deps.holds ?? ((env, url) => new DynamoDbHoldStore(dynamoDbClient(env, url), tableName(env.namePrefix, 'control'))))(environment, endpoint),
    codeDeploy: () => (deps.codeDeploy ?? ((env) => new AwsCodeDeploy(new CodeDeployClient({ region: env.region }))))(environment),
    publisher: (deps.publisher ?? eventBridgePublisher)(environment),
    identity: (deps.identity ?? ((env) => new StsCallerIdentity(env.region)))(environment),
    now: (deps.clock ?? systemClock).now(),
    bus: { source: environment.eventSource ?? DEFAULT_EVENT_SOURCE, eventBusName: environment.namePrefix },
  };
}

function dynamoDbClient(environment: EnvironmentConfig, endpoint: string | undefined): DynamoDBClient {
  return new DynamoDBClient({ region: environment.region, ...(endpoint ? { endpoint } : {}) });
}

function dynamoDbOperatorControls(environment: EnvironmentConfig, endpoint: string | undefined): OperatorControlStore {
  return new DynamoDbOperatorControlStore(dynamoDbClient(environment, endpoint), tableName(environment.namePrefix, 'control'));
}

function dynamoDbDeployments(environment: EnvironmentConfig, endpoint: string | undefined): DeploymentStore {
  return new DynamoDbDeploymentStore(dynamoDbClient(environment, endpoint), tableName(environment.namePrefix, 'deployments'), tableName(environment.namePrefix, 'history'));
}

function eventBridgePublisher(environment: EnvironmentConfig): EventPublisher {
  return new EventBridgePublisher(new EventBridgeClient({ region: environment.region }));
}

/** The groups the environment guards, as `application/deploymentGroup`. */
export function guardedGroups(environment: EnvironmentConfig): { readonly application: string; readonly deploymentGroup: string }[] {
  return guardedGroupPolicies(environment).map(({ application, deploymentGroup }) => ({ application, deploymentGroup }));
}

const DURATION = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as 30m, 2h or 1d, in milliseconds; undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/** `--until`: an ISO time, or a duration from now (`2h`). */
export function parseUntil(text: string, now: number, option: string): number {
  const duration = parseDuration(text);
  if (duration !== undefined) return now + duration;
  const at = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) throw new OperatorInputError(option, `expected an ISO time such as 2026-12-01T18:00Z or a duration such as 30m, 2h or 1d, got '${text}'`);
  return at;
}

/** Runs an operator action, turning its input errors into usage errors (exit 2, naming the option). */
export async function asUsage<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof OperatorInputError) throw new UsageError(error.message);
    throw error;
  }
}
