import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeStack } from '../../cli/commands/backtest';
import type { GroupPolicy } from '../../handlers/config';
import type { HandlerName } from '../../handlers/entries';
import type { FaultInjector } from '../../local/faults';
import { composeHandlers, localEnvironment, type LocalHandlers } from '../../local/handler-composition';
import { scheduleRules, wireRules, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import { buildStandIns, LOCAL_ACCOUNT, modelFromArchive, serveFirstModel, type StandIns } from '../../local/stand-ins';
import { readWiring, type AlarmWiring, type Wiring } from '../../local/terraform-wiring';
import { EMBEDDED_TRAINER } from '../../model/training';
import { loadXGBoostModel } from '../../model/xgboost';
import { DEFAULT_CONFIG_FILE, loadConfig, toGroupPolicies } from '../../stacks/config';

/**
 * The world of an end-to-end test on the local runtime: the dev stack synthesized (from the shipped
 * configuration or one a test edits), the stand-ins for AWS, the shipped first model serving, the real
 * handlers composed on the stack's wiring and its rules (and, if asked, its schedules) delivering to
 * them. What a test varies is an option; the scenario (its groups, deployments, operators) stays in
 * the test.
 */

/** The dev stack's name prefix: its custom bus, its functions, tables and topic are named from it. */
export const DEV_PREFIX = 'deploy-guard-dev';
const REGION = 'us-east-1';
const SHIPPED_MODEL = join(__dirname, '..', '..', 'model', 'initial');

/** deploy-guard.config.json as JSON, for a test to edit (stacks/config.ts validates what it becomes). */
export interface ConfigJson {
  $schema?: string;
  environments: { dev: EnvironmentJson; [name: string]: EnvironmentJson };
}
export type EnvironmentJson = Record<string, unknown> & { groups?: unknown[]; example?: Record<string, unknown> };

/**
 * The shipped configuration as `edit` changes it, written to `dir` as `fileName` (without its
 * `$schema`, a path relative to the repository): the file, for `synthesizeStack` and the CLI's `--config`.
 */
export function writeShippedConfig(dir: string, edit: (config: ConfigJson) => void, fileName = 'deploy-guard.config.json'): string {
  const config = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as ConfigJson;
  edit(config);
  delete config.$schema;
  const file = join(dir, fileName);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * The dev stack synthesized from `configFile` (default: the shipped configuration): the stack, its
 * wiring as the local runtime reads it, and its configured groups as the handlers see them.
 */
export function devStack(configFile?: string): { readonly stack: object; readonly wiring: Wiring; readonly groups: GroupPolicy[] } {
  const stack = synthesizeStack(configFile, 'dev');
  const groups = toGroupPolicies(loadConfig(configFile ?? DEFAULT_CONFIG_FILE).environments.dev!.groups, DEV_PREFIX);
  return { stack, wiring: readWiring(stack), groups };
}

export interface LocalRuntimeOptions {
  /** The groups the handlers guard (their environment's groups). */
  readonly groups: readonly GroupPolicy[];
  /** The virtual time the run starts at (the stand-ins' clock, the schedules' first period). */
  readonly start: number;
  /** A scratch folder of the test file's: where training jobs write. */
  readonly scratchDir: string;
  /** The stack's wiring. @default the shipped configuration's dev stack */
  readonly wiring?: Wiring;
  /** Where the handlers' stores live: in process, or on dynalite through the real DynamoDB adapters. @default 'memory' */
  readonly store?: 'memory' | 'dynamodb';
  /** The alarms the local CloudWatch evaluates. @default none */
  readonly alarms?: readonly AlarmWiring[];
  /** Faults injected into the handlers' ports, their invocations and the rules' deliveries. @default none */
  readonly faults?: FaultInjector;
  /** Fire the stack's schedules on the virtual clock from `start` until this time. @default the schedules do not fire */
  readonly schedulesUntil?: number;
}

export interface LocalRuntime {
  readonly wiring: Wiring;
  readonly standIns: StandIns;
  /** The functions as Lambda invokes them (each call one invocation; a crash injected by `faults` fails it). */
  readonly handlers: LocalHandlers;
  /** What Lambda's asynchronous delivery gave up on, for the rules and schedules. */
  readonly deadLetters: DeadLetterWithEvent[];
  /** The environment the stack gives a handler's function, as the local runtime sets it. */
  environmentOf(handler: HandlerName): NodeJS.ProcessEnv;
}

/** The local runtime booted on the stack's wiring; `standIns.close()` ends it. */
export async function bootLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { start, faults } = options;
  const wiring = options.wiring ?? devStack().wiring;
  const deadLetters: DeadLetterWithEvent[] = [];
  const standIns = await buildStandIns({
    start,
    region: REGION,
    customBusName: DEV_PREFIX,
    alarms: options.alarms ?? [],
    store: options.store ?? 'memory',
    trainer: EMBEDDED_TRAINER,
    trainingDir: options.scratchDir,
    trainingMs: 1_800_000,
    log: () => undefined,
  });
  const model = loadXGBoostModel(modelFromArchive(readFileSync(join(SHIPPED_MODEL, 'model.tar.gz'))));
  const { featuresUrl } = await serveFirstModel(standIns, { modelVersion: 'initial', dir: SHIPPED_MODEL, model });
  const local = { groups: options.groups, customBusName: DEV_PREFIX, initialFeaturesUrl: featuresUrl };
  const injected = faults ? { faults } : {};
  const { handlers } = composeHandlers(wiring, standIns, local, injected);
  wireRules(wiring, standIns.buses, handlers, { clock: standIns.clock, deadLetters, ...injected });
  if (options.schedulesUntil !== undefined) {
    scheduleRules(wiring, handlers, { scheduler: standIns.scheduler, clock: standIns.clock, deadLetters, from: start, to: options.schedulesUntil, account: LOCAL_ACCOUNT, region: REGION, ...injected });
  }
  return { wiring, standIns, handlers, deadLetters, environmentOf: (handler) => localEnvironment(wiring, handler, local) };
}
