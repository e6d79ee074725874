import type { BusEvent } from '../events/bus';
import { DEFAULT_EVENT_SOURCE } from '../events/emitted';
import { ENV, type EnvName, type GroupPolicy, type RetrainingSettings, type ShadowDigestSettings } from '../handlers/config';
import { DEFAULT_COSTS } from '../model/metrics';
import { S3ServingModelSource } from '../handlers/adapters/serving-model';
import { compose, type HandlerDefinition, type PortsOf } from '../handlers/declaration';
import { BAKE } from '../handlers/bake';
import { DRIFT } from '../handlers/drift';
import { NOTIFY } from '../handlers/notify';
import { PIPELINE_GATE } from '../handlers/pipeline-gate';
import { PREDICT } from '../handlers/predict';
import { PROMOTE } from '../handlers/promote';
import { RECORD_CHANGE } from '../handlers/record-change';
import { RECORD_OUTCOME } from '../handlers/record-outcome';
import { ROLLBACK } from '../handlers/rollback';
import { SHADOW_DIGEST } from '../handlers/shadow-digest';
import { TRAFFIC_HOOK } from '../handlers/traffic-hook';
import type { HandlerName } from '../handlers/entries';
import type { FaultInjector } from './faults';
import { LOCAL_ACCOUNT, LOCAL_BUCKETS, type StandIns } from './stand-ins';
import type { FunctionWiring, Wiring } from './terraform-wiring';

/**
 * The handlers composed for the local runtime: each configured from the environment the stack gives
 * its function, over the stand-ins' ports (decorated with the injected faults, if any).
 */

/** One Lambda invocation of a handler. */
export type LocalHandler = (event: BusEvent) => Promise<unknown>;
export type LocalHandlers = Record<HandlerName, LocalHandler>;

/** What the local runtime knows that the stack leaves to AWS: the guarded groups, the bus, the first model. */
export interface LocalSettings {
  readonly groups: readonly GroupPolicy[];
  readonly customBusName: string;
  readonly initialFeaturesUrl: string;
}

export interface ComposedHandlers {
  readonly handlers: LocalHandlers;
  /** The event source the handlers publish under (predict's configuration). */
  readonly source: string;
  /** What the drift handler decided on each alarm event (its status, or the reason it ignored it). */
  readonly driftDecisions: readonly string[];
  /** The drift handler's retraining settings (its data window and minimum rows), as the stack set them. */
  readonly retraining: RetrainingSettings;
}

export function composeHandlers(
  wiring: Wiring,
  standIns: StandIns,
  local: LocalSettings,
  options: { readonly faults?: FaultInjector; readonly onInvocation?: (handler: HandlerName, wallMs: number, event: BusEvent) => void } = {},
): ComposedHandlers {
  const { groups } = local;
  const environment = (handler: HandlerName) => localEnvironment(wiring, handler, local);
  const ports = localPorts(standIns, options.faults);
  const predictConfig = PREDICT.configFromEnv(environment('predict'));
  const driftConfig = DRIFT.configFromEnv(environment('drift'));
  const driftDecisions: string[] = [];
  const drift = invocation(DRIFT, ports, driftConfig);
  const handlers: LocalHandlers = {
    predict: invocation(PREDICT, ports, { ...predictConfig, groups }),
    'traffic-hook': invocation(TRAFFIC_HOOK, ports, { ...TRAFFIC_HOOK.configFromEnv(environment('traffic-hook')), groups }),
    // Locally rollback retries a throttled CodeDeploy call at once, as it always has: its waits would move the replay's clock.
    rollback: invocation(ROLLBACK, { ...ports, sleep: async () => undefined }, { ...ROLLBACK.configFromEnv(environment('rollback')), groups }),
    'record-change': invocation(RECORD_CHANGE, ports, RECORD_CHANGE.configFromEnv(environment('record-change'))),
    'record-outcome': invocation(RECORD_OUTCOME, ports, RECORD_OUTCOME.configFromEnv(environment('record-outcome'))),
    drift: async (event) => {
      const decided = await drift(event);
      driftDecisions.push(decided.status === 'ignored' ? decided.reason : decided.status);
      return decided;
    },
    promote: invocation(PROMOTE, ports, PROMOTE.configFromEnv(environment('promote'))),
    notify: invocation(NOTIFY, ports, NOTIFY.configFromEnv(environment('notify'))),
    // bake's throttled rollbacks too (the same rule as rollback's, handlers/codedeploy-errors.ts).
    bake: invocation(BAKE, { ...ports, sleep: async () => undefined }, { ...BAKE.configFromEnv(environment('bake')), groups }),
    'shadow-digest': invocation(SHADOW_DIGEST, ports, SHADOW_DIGEST.configFromEnv(environment('shadow-digest'))),
    'pipeline-gate': invocation(PIPELINE_GATE, ports, { ...PIPELINE_GATE.configFromEnv(environment('pipeline-gate')), groups }),
  };
  return { handlers: observed(asInvocations(handlers, options.faults), options.onInvocation), source: predictConfig.source, driftDecisions, retraining: driftConfig.settings };
}

/** One handler over the local ports its declaration names, with its configuration. */
function invocation<Dependencies extends { readonly config: unknown }, Result>(
  definition: HandlerDefinition<Dependencies, Result>,
  ports: Required<PortsOf<Dependencies>>,
  config: Dependencies['config'],
): (event: BusEvent) => Promise<Result> {
  const dependencies = compose(definition.declaration, ports, config);
  return (event) => definition.handle(event, dependencies);
}

/** Every port a handler may declare, from the stand-ins (decorated with the injected faults, if any). */
function localPorts(standIns: StandIns, faults: FaultInjector | undefined) {
  const { clock, objects, metrics, notifications } = standIns;
  return {
    notifications,
    ...faultyPorts(standIns, faults),
    servingModel: faults ? faults.servingModel(new S3ServingModelSource(standIns.stores.control, objects)) : new S3ServingModelSource(standIns.stores.control, objects),
    objects,
    rows: objects,
    metrics,
    clock,
    sleep: async (milliseconds: number) => clock.advanceBy(milliseconds),
  };
}

/** The ports the handlers see: the stand-ins, decorated with the injected faults if any (local/faults.ts). */
function faultyPorts(standIns: StandIns, faults: FaultInjector | undefined) {
  const { codeDeploy, stores, endpoint, training, hosting, publisher, lake } = standIns;
  return {
    codeDeploy: faults ? faults.codeDeploy(codeDeploy) : codeDeploy,
    // Not decorated: the fault injector does not know CodePipeline.
    codePipeline: standIns.codePipeline,
    deployments: faults ? faults.deploymentStore(stores.deployments) : stores.deployments,
    changes: faults ? faults.changeStore(stores.changes) : stores.changes,
    control: faults ? faults.controlStore(stores.control) : stores.control,
    // Operators act outside the replay's faults: their items are read as set.
    operatorControls: stores.operatorControls,
    holds: stores.holds,
    gates: stores.gates,
    ledger: faults ? faults.ledger(stores.ledger) : stores.ledger,
    bakes: faults ? faults.bakeStore(stores.bakes) : stores.bakes,
    digests: faults ? faults.shadowDigestStore(stores.digests) : stores.digests,
    endpoint: faults ? faults.endpoint(endpoint) : endpoint,
    training: faults ? faults.training(training) : training,
    hosting: faults ? faults.hosting(hosting) : hosting,
    publisher: faults ? faults.publisher(publisher) : publisher,
    lake: faults ? faults.trainingDataLake(lake) : lake,
  };
}

/** Each attempt is one Lambda invocation: an injected crash fails it, whatever the handler catches. */
function asInvocations(handlers: LocalHandlers, faults: FaultInjector | undefined): LocalHandlers {
  if (!faults) return handlers;
  return mapHandlers(handlers, (name, run) => faults.invocation(name, run));
}

/** Each invocation reported with its wall time. */
function observed(handlers: LocalHandlers, observe: ((handler: HandlerName, wallMs: number, event: BusEvent) => void) | undefined): LocalHandlers {
  if (!observe) return handlers;
  return mapHandlers(handlers, (name, run) => async (event) => {
    const began = performance.now();
    try {
      return await run(event);
    } finally {
      observe(name, performance.now() - began, event);
    }
  });
}

function mapHandlers(handlers: LocalHandlers, wrap: (name: HandlerName, run: LocalHandler) => LocalHandler): LocalHandlers {
  return Object.fromEntries(Object.entries(handlers).map(([name, run]) => [name, wrap(name as HandlerName, run)])) as LocalHandlers;
}

/**
 * A handler's environment as the stack sets it, with what only exists in AWS (ARNs and names that
 * Terraform computes at apply time) replaced by the local stand-ins' names. The guarded groups are
 * the replayed history's.
 */
export function localEnvironment(wiring: Wiring, handler: HandlerName, local: LocalSettings): NodeJS.ProcessEnv {
  const fn: FunctionWiring | undefined = wiring.functions.find((candidate) => candidate.handler === handler);
  if (!fn) throw new Error(`the stack has no function for the ${handler} handler (tag deploy-guard-handler = ${handler})`);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) env[name] = value;
  for (const [name, value] of Object.entries(fn.unresolvedEnvironment)) env[name] = value.replace(/\$\{[^}]*\}/g, (token) => localValue(token));
  // Only what the stack gives the function (its declaration's variables) is replaced by the local value.
  const replace = (name: EnvName, value: string) => {
    if (name in env) env[name] = value;
  };
  replace(ENV.eventBus, local.customBusName);
  replace(ENV.groups, JSON.stringify(local.groups));
  if (env[ENV.shadowDigest]) env[ENV.shadowDigest] = JSON.stringify(localShadowDigest(JSON.parse(env[ENV.shadowDigest]) as ShadowDigestSettings, local.groups));
  replace(ENV.dataBucket, LOCAL_BUCKETS.data);
  replace(ENV.modelBucket, LOCAL_BUCKETS.models);
  replace(ENV.eventSource, env[ENV.eventSource] || DEFAULT_EVENT_SOURCE);
  // The local bus stamps its events with the stand-ins' account.
  replace(ENV.accountId, LOCAL_ACCOUNT);
  if (env[ENV.retraining]) {
    const settings = JSON.parse(env[ENV.retraining]);
    settings.sourceDirS3Uri = `s3://${LOCAL_BUCKETS.models}/code/sourcedir.tar.gz`;
    env[ENV.retraining] = JSON.stringify(settings);
  }
  return env;
}

/** The digest of the local groups in shadow mode, each at the costs the stack gives it (DEFAULT_COSTS for a group the stack does not name, such as a replayed history's). */
function localShadowDigest(stack: ShadowDigestSettings, groups: readonly GroupPolicy[]): ShadowDigestSettings {
  const costsOf = (group: GroupPolicy) => stack.groups.find((named) => named.application === group.application && named.deploymentGroup === group.deploymentGroup)?.costs ?? DEFAULT_COSTS;
  return { groups: groups.filter((group) => group.mode === 'shadow').map((group) => ({ application: group.application, deploymentGroup: group.deploymentGroup, costs: costsOf(group) })) };
}

/** A Terraform reference that only AWS can resolve (`${type.name.attribute}`), as a local stand-in value of the same form. */
export function localValue(token: string): string {
  const address = token.slice(2, -1);
  const [type, name, attribute] = address.split('.');
  const id = `${name ?? 'local'}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 60);
  if (attribute === 'arn') {
    if (type === 'aws_iam_role') return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${id}`;
    return `arn:aws:${type.replace(/^aws_/, '').split('_')[0]}:local:${LOCAL_ACCOUNT}:${id}`;
  }
  return id;
}
