import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, type PutEventsEntry } from '../../events/emitted';
import { DynamoDbRollbackLedger } from '../../handlers/adapters/dynamodb-ledger';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryDeploymentStore, InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import type { CodeDeployPort, MetricsPort, RollbackLedger } from '../../handlers/ports';
import { labelOutcome } from '../../handlers/record-outcome-domain';
import { handleRollbackEvent, type RollbackDependencies } from '../../handlers/rollback';
import { LocalCodeDeploy } from '../../local/codedeploy';
import { asyncInvoke, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import { startLocalDynamoDb } from '../../local/dynalite';
import { storedAssessment } from './assessment-fixture';
import { loseAnswers } from '../support/lost-answers';

/**
 * The rollback handler under the faults the review found (F-02, F-10): a DynamoDB write applied whose
 * answer is lost (injected in the SDK's middleware, below its retries, against dynalite), and an
 * invocation that dies right after the claim or right after StopDeployment, then is delivered again.
 * Each ends with one accepted stop, Deployment Rollback Completed announced, and the label
 * counterfactual: never a duplicate that did nothing, never a false Rollback Failed.
 */

const ACCOUNT = '000000000000';
const SECOND = 1_000;
const START = '2026-11-20T09:20:05Z';
const groups = [{ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', mode: 'stop', blockBudget: 0.1, exploration: 0, cutScope: 'installation', failurePolicy: 'fail-open' } as const];
const config = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', accountId: ACCOUNT, groups, metricsNamespace: 'DeployGuard' };

class Crash extends Error {
  override readonly name = 'Crash';
}

interface World {
  readonly deps: RollbackDependencies & { clock: ManualClock };
  readonly codeDeploy: LocalCodeDeploy;
  readonly deploymentId: string;
  readonly published: PutEventsEntry[];
  readonly metrics: { name: string; at: number }[];
  /** A Deployment Rollback Requested as EventBridge delivers it (`id` names the event). */
  request(id?: string): unknown;
}

/** A stop-mode deployment in progress, predict's enforced rollback decision stored, the handler's ports around `ledger`. */
async function world(ledger: RollbackLedger): Promise<World> {
  const clock = new ManualClock(START);
  const codeDeploy = new LocalCodeDeploy({ clock, account: ACCOUNT, region: 'us-east-1', emit: () => undefined });
  const { deploymentId } = codeDeploy.createDeployment({ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', revision: { commitId: 'abc' } });
  const deployments = new InMemoryDeploymentStore();
  await deployments.putAssessment(storedAssessment({ deploymentId, mode: 'stop', trigger: 'START' }));
  const published: PutEventsEntry[] = [];
  const metrics: { name: string; at: number }[] = [];
  const recorder: MetricsPort = { put: ({ values, at }) => values.forEach((value) => metrics.push({ name: value.name, at })) };
  const detail = { ...EMITTED_EVENTS['Deployment Rollback Requested'].example, deploymentId, mode: 'stop' as const };
  const entry = buildEntry('Deployment Rollback Requested', detail, { ...config, time: new Date(START) });
  return {
    deps: { codeDeploy, ledger, deployments, holds: new InMemoryHoldStore(), publisher: { publish: async (entries) => void published.push(...entries) }, metrics: recorder, clock, config },
    codeDeploy,
    deploymentId,
    published,
    metrics,
    request: (id = 'e-request-1') => ({ version: '0', id, 'detail-type': entry.DetailType, source: entry.Source, account: ACCOUNT, time: START, region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) }),
  };
}

function acceptedStops(codeDeploy: LocalCodeDeploy): number {
  return codeDeploy.callLog.filter((call) => call.api === 'StopDeployment' && call.accepted).length;
}

function announced(world: World): string[] {
  return world.published.map((entry) => `${entry.DetailType}${entry.DetailType === 'Deployment Rollback Failed' ? ` (${JSON.parse(entry.Detail).reason})` : ''}`);
}

/** What a rollback that happened once must leave behind, whatever the faults on the way. */
async function expectStoppedOnce(world: World, ledger: RollbackLedger): Promise<void> {
  expect(acceptedStops(world.codeDeploy)).toBe(1);
  expect(world.codeDeploy.deployment(world.deploymentId)?.status).toBe('Stopped');
  expect(announced(world)).toEqual(['Deployment Rollback Completed']);
  const entry = await ledger.read(world.deploymentId);
  expect(entry).toMatchObject({ action: 'StopDeployment', attempt: { action: 'StopDeployment' }, outcome: { kind: 'completed', action: 'StopDeployment' }, published: true });
  expect(labelOutcome('STOP', entry).label).toBe('counterfactual');
  // Every claim that waited for an outcome got one: the alarm's two halves balance at each deadline.
  const balance = new Map<number, number>();
  for (const { name, at } of world.metrics) balance.set(at, (balance.get(at) ?? 0) + (name === 'RollbackClaimsDue' ? 1 : name === 'RollbackClaimsSettled' ? -1 : 0));
  expect([...balance.values()].every((open) => open === 0)).toBe(true);
}

/** The ledger with a crash right after a successful claim (once). */
function crashingAfterClaim(inner: RollbackLedger): RollbackLedger {
  let crashed = false;
  return {
    claim: async (claim) => {
      const result = await inner.claim(claim);
      if (!crashed && result.claimed) {
        crashed = true;
        throw new Crash('the invocation died right after the claim');
      }
      return result;
    },
    recordAttempt: (...args) => inner.recordAttempt(...args),
    record: (...args) => inner.record(...args),
    markPublished: (id) => inner.markPublished(id),
    markDueCounted: (id) => inner.markDueCounted(id),
    read: (id) => inner.read(id),
  };
}

/**
 * CodeDeploy whose first StopDeployment is applied, then the invocation dies before it hears the
 * answer: the call never returns (an exception would be caught and announced, a dead process is not).
 */
function dyingAfterStop(inner: CodeDeployPort): { readonly port: CodeDeployPort; readonly died: Promise<void> } {
  let die: () => void = () => undefined;
  const died = new Promise<void>((resolve) => (die = resolve));
  let dead = false;
  const port: CodeDeployPort = {
    getDeployment: (id) => inner.getDeployment(id),
    continueDeployment: (id) => inner.continueDeployment(id),
    putLifecycleEventHookExecutionStatus: (id, hook, status) => inner.putLifecycleEventHookExecutionStatus(id, hook, status),
    stopDeployment: async (id, options) => {
      const answer = await inner.stopDeployment(id, options);
      if (dead) return answer;
      dead = true;
      die();
      return new Promise(() => undefined);
    },
  };
  return { port, died };
}

/** The next UpdateItem whose expression starts with `expression` is applied by DynamoDB, then its answer is lost. */
function loseAnswerOf(client: DynamoDBClient, expression: string): { readonly lost: () => number } {
  return loseAnswers(client, UpdateItemCommand.name, { when: (input) => String(input.UpdateExpression ?? '').startsWith(expression) });
}

describe('rollback with the DynamoDB ledger (dynalite): a ledger write applied, its answer lost, the SDK retrying', () => {
  let local: Awaited<ReturnType<typeof startLocalDynamoDb>>;
  beforeEach(async () => {
    local = await startLocalDynamoDb({ prefix: 'rollback-faults' });
  });
  afterEach(async () => {
    await local.close();
  });

  it('the claim: the retry meets its own claim (same token) and the handler stops the deployment, not a duplicate', async () => {
    const ledger = new DynamoDbRollbackLedger(local.client, local.tableNames.control);
    const fault = loseAnswerOf(local.client, 'SET #deploymentId');
    const w = await world(ledger);

    const result = await handleRollbackEvent(w.request(), w.deps);

    expect(fault.lost()).toBe(1);
    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment' }, published: 'Deployment Rollback Completed' });
    await expectStoppedOnce(w, ledger);
    expect(w.metrics.filter(({ name }) => name === 'RollbackClaimsDue')).toEqual([{ name: 'RollbackClaimsDue', at: Date.parse(START) + 300 * SECOND }]);
  });

  it('the attempt and the outcome: each retry meets its own write and the handler finishes', async () => {
    const ledger = new DynamoDbRollbackLedger(local.client, local.tableNames.control);
    const attempt = loseAnswerOf(local.client, 'SET #attempt');
    const outcome = loseAnswerOf(local.client, 'SET #outcome');
    const w = await world(ledger);

    await expect(handleRollbackEvent(w.request(), w.deps)).resolves.toMatchObject({ status: 'done', published: 'Deployment Rollback Completed' });

    expect([attempt.lost(), outcome.lost()]).toEqual([1, 1]);
    await expectStoppedOnce(w, ledger);
  });
});

const ledgers: [string, () => Promise<{ ledger: RollbackLedger; close: () => Promise<void> }>][] = [
  ['in-memory', async () => ({ ledger: new InMemoryRollbackLedger(), close: async () => undefined })],
  [
    'dynamodb via dynalite',
    async () => {
      const local = await startLocalDynamoDb({ prefix: 'rollback-crash' });
      return { ledger: new DynamoDbRollbackLedger(local.client, local.tableNames.control), close: () => local.close() };
    },
  ],
];

describe.each(ledgers)('rollback with the %s ledger: an invocation that dies, then the event is delivered again', (_name, open) => {
  let opened: Awaited<ReturnType<(typeof ledgers)[number][1]>>;
  beforeEach(async () => {
    opened = await open();
  });
  afterEach(async () => {
    await opened.close();
  });

  it.each([
    ['within the lease (10 s later)', 10 * SECOND],
    ["after the lease (Lambda's first retry, 60 s later)", 60 * SECOND],
  ])('crash right after the claim, the same event redelivered %s: it finishes its own claim, stops once, announces Completed', async (_when, later) => {
    const w = await world(crashingAfterClaim(opened.ledger));
    await expect(handleRollbackEvent(w.request(), w.deps)).rejects.toThrow(Crash);
    expect(w.codeDeploy.calls.GetDeployment).toBe(0);
    // The claim waits for its outcome, not yet counted due: the redelivery counts it.
    expect(w.metrics).toEqual([]);

    w.deps.clock.advanceBy(later);
    const redelivery = await handleRollbackEvent(w.request(), w.deps);

    expect(redelivery).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment' } });
    await expectStoppedOnce(w, opened.ledger);
  });

  it('crash right after the claim, another copy of the request (a new event id): a duplicate within the 45 s lease, a takeover after it', async () => {
    const w = await world(crashingAfterClaim(opened.ledger));
    await expect(handleRollbackEvent(w.request('e-request-1'), w.deps)).rejects.toThrow(Crash);

    w.deps.clock.advanceBy(45 * SECOND - 1);
    await expect(handleRollbackEvent(w.request('e-request-2'), w.deps)).resolves.toMatchObject({ status: 'duplicate', republished: false });
    expect(w.codeDeploy.calls.StopDeployment).toBe(0);
    w.deps.clock.advanceBy(1);
    await expect(handleRollbackEvent(w.request('e-request-2'), w.deps)).resolves.toMatchObject({ status: 'done', outcome: { kind: 'completed' } });
    await expectStoppedOnce(w, opened.ledger);
  });

  it('crash right after StopDeployment, then the redelivery: no second StopDeployment, Completed announced, the stop labelled counterfactual', async () => {
    const w = await world(opened.ledger);
    const dying = dyingAfterStop(w.codeDeploy);
    const deps = { ...w.deps, codeDeploy: dying.port };
    void handleRollbackEvent(w.request(), deps);
    await dying.died;
    expect(w.codeDeploy.deployment(w.deploymentId)?.status).toBe('Stopped');
    expect(w.published).toEqual([]);

    deps.clock.advanceBy(60 * SECOND);
    const redelivery = await handleRollbackEvent(w.request(), deps);

    expect(redelivery).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment', recognisedFrom: 'DeploymentAlreadyStopped' } });
    expect(w.codeDeploy.calls.StopDeployment).toBe(1);
    await expectStoppedOnce(w, opened.ledger);
  });

  it('a StopDeployment applied whose answer was lost (the SDK retry refused as already stopped): completed, never a false Rollback Failed', async () => {
    const w = await world(opened.ledger);
    // What the SDK does: the call is applied, the answer lost, the retry refused (the adapter reads Stopped).
    const retried: CodeDeployPort = {
      getDeployment: (id) => w.codeDeploy.getDeployment(id),
      continueDeployment: (id) => w.codeDeploy.continueDeployment(id),
      putLifecycleEventHookExecutionStatus: (id, hook, status) => w.codeDeploy.putLifecycleEventHookExecutionStatus(id, hook, status),
      stopDeployment: async (id) => {
        await w.codeDeploy.stopDeployment(id);
        const retry = await w.codeDeploy.stopDeployment(id);
        return retry.ok ? retry : { ...retry, refusal: 'DeploymentAlreadyStopped' };
      },
    };

    const result = await handleRollbackEvent(w.request(), { ...w.deps, codeDeploy: retried });

    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'completed', recognisedFrom: 'DeploymentAlreadyStopped' }, published: 'Deployment Rollback Completed' });
    await expectStoppedOnce(w, opened.ledger);
  });
});

/** `method` of `target` fails `times` times (DynamoDB or EventBridge still throttling after the SDK's retries), then works. */
function failingFirst<T extends object>(target: T, method: keyof T & string, times: number): T {
  let failures = 0;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (property !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(object) : value;
      return async (...args: unknown[]) => {
        if (failures < times) {
          failures += 1;
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });
        }
        return (value as (...inner: unknown[]) => Promise<unknown>).apply(object, args);
      };
    },
  });
}

describe("rollback: a fault that outlasts Lambda's retries ends in the dead-letter queue, and its redrive finishes the job once", () => {
  it.each([
    ['the ledger cannot record the outcome after StopDeployment was applied', 'ledger', 'record'],
    ['EventBridge refuses the Completed announcement', 'publisher', 'publish'],
  ] as const)('%s: three attempts fail, the event is kept; redriven, one stop, one Completed, labelled counterfactual', async (_case, port, method) => {
    const ledger = new InMemoryRollbackLedger();
    const w = await world(ledger);
    const deps = { ...w.deps, [port]: failingFirst(w.deps[port] as object, method as never, 3) } as RollbackDependencies;
    const deadLetters: DeadLetterWithEvent[] = [];
    const deliver = asyncInvoke({ rule: 'rollback-requested', handler: 'rollback', run: (event) => handleRollbackEvent(event, deps), maximumRetryAttempts: 2, clock: w.deps.clock, deadLetters });

    await deliver(w.request() as never);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0].reason).toBe('ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput');
    // Applied once before the failures: the deployment is stopped, nothing announced yet.
    expect(acceptedStops(w.codeDeploy)).toBe(1);
    expect(w.published).toEqual([]);

    // An operator redrives the dead letter (its body is the original event).
    await deliver(deadLetters[0].event!);
    expect(deadLetters).toHaveLength(1);
    await expectStoppedOnce(w, ledger);
  });
});
