import { AsyncLocalStorage } from 'node:async_hooks';
import type { BusEvent } from '../events/bus';
import type { PutEventsEntry } from '../events/emitted';
import { PublishError, type EventPublisher } from '../handlers/adapters/event-publisher';
import type {
  BakeStore,
  ChangeSummaryStore,
  CodeDeployOutcome,
  CodeDeployPort,
  ControlStore,
  DeploymentStore,
  EndpointAnswer,
  HostingPort,
  ModelEndpointPort,
  RollbackLedger,
  ServingModelSource,
  ShadowDigestStore,
  TrainingDataLake,
  TrainingPort,
} from '../handlers/ports';
import { ModelUnavailableError } from '../handlers/ports';

/**
 * Fault injection for the backtest (DESIGN section 4): decorators around the ports the handlers use
 * and around the delivery of events to the functions, driven by one seeded generator so that a run
 * with the same seed injects the same faults. Every fault is one AWS really produces: at-least-once
 * and unordered delivery, a function that dies between two side effects and is retried by Lambda's
 * asynchronous invocation, an endpoint that is down, slow or failing, throttling that outlived the
 * SDK's own retries, a PutEvents partial failure, two invocations of the same event at once.
 */

export interface FaultOptions {
  /** Seed of the generator that decides every fault. */
  readonly seed: number;
  /** Every event is delivered to every target two or three times (at-least-once delivery). */
  readonly duplicateDelivery?: boolean;
  /**
   * Deliveries wait in the function's asynchronous queue and are run in random order within a window
   * of this many (EventBridge and Lambda give no ordering guarantee). 0 or 1: in order.
   */
  readonly reorderWindow?: number;
  /**
   * After a side effect (a store or ledger write, a training row, a CodeDeploy action), the invocation crashes with
   * this probability, before whatever it would have done next (publishing, recording); Lambda retries
   * it. A crash is the process dying: the handler cannot catch it (every later port call of that
   * invocation fails too, and the invocation fails). Each step crashes at most once, so the retry gets past it.
   */
  readonly crashRate?: number;
  /** Only the steps whose description matches crash (`the function crashed right after <step>`). @default every step */
  readonly crashSteps?: RegExp;
  /**
   * Share of the compare-and-set writes of the bakes' book (BakeStore.writeBook) whose answer is lost:
   * DynamoDB applied the write, the SDK's retry sent it again and met its own write (the revision
   * moved), so the store answers that another writer moved the book. The same write at most once.
   */
  readonly lostBakeBookAnswerRate?: number;
  /** Every InvokeEndpoint answers Unavailable (the endpoint is down). */
  readonly endpointDown?: boolean;
  /** Share of InvokeEndpoint calls that outlive the adapter's deadline (Timeout). */
  readonly endpointTimeoutRate?: number;
  /** Share of InvokeEndpoint calls the container answers with an error (ModelError). */
  readonly endpointModelErrorRate?: number;
  /**
   * Share of CodeDeploy and SageMaker (training, hosting) calls that throw ThrottlingException after the
   * SDK's retries. The same call (API and deployment) is throttled at most twice in a row: throttling
   * clears within Lambda's retries.
   */
  readonly throttleRate?: number;
  /**
   * CodeDeploy's rollbacks (StopDeployment, a hook status Failed) failing with an error that is not
   * one of its refusals, after the SDK's retries, not by chance: each such call of a deployment throws
   * `error` until `times` calls of it have (default: every call, as for an action the function's role
   * may not take). Not cleared within Lambda's retries, unlike the faults above. CodeDeploy does not
   * see the call (its call log holds only the calls that reached it).
   */
  readonly rollbackErrors?: { readonly error: InjectedCodeDeployError; readonly times?: number };
  /** Share of PutEvents entries refused (ThrottlingException) after the publisher's retries: PublishError. The same entry at most twice. */
  readonly publishFailureRate?: number;
  /** Share of deliveries run as two concurrent invocations of the same event, racing on the stores. */
  readonly raceRate?: number;
  /** How many malformed events (poison) are put on the buses during the replay. */
  readonly poisonEvents?: number;
  /**
   * Share of predict's loads of the serving model that fail (ModelUnavailableError: an artifact S3
   * would not give after the SDK's retries, or features.json and the trees disagreeing). Unlike the
   * faults above it is not retried away: the group's failure policy decides.
   */
  readonly modelLoadFailureRate?: number;
  /**
   * Forged-but-valid rollback requests: for every enforced assessment that says proceed, a schema-valid
   * Deployment Rollback Requested is put on Deploy Guard's bus, in turn by another account and by a
   * principal of the installation's own account. The rollback handler must refuse each and act on none.
   */
  readonly forgeRollbackRequests?: boolean;
}

/** A crash of the function between two side effects: Lambda retries the invocation. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** What the SDK throws when a service is still throttling after its standard retries. */
export class ThrottlingException extends Error {
  override readonly name = 'ThrottlingException';
  readonly $retryable = { throttling: true };
}

/** What the SDK throws when the caller's role may not take the action. */
export class AccessDeniedException extends Error {
  override readonly name = 'AccessDeniedException';
  readonly $fault = 'client';
}

/** What the SDK throws when the service still answers 5xx after its standard retries. */
export class InternalFailure extends Error {
  override readonly name = 'InternalFailure';
  readonly $fault = 'server';
}

/** The errors `rollbackErrors` can inject: access denied, throttling, a 5xx. */
export type InjectedCodeDeployError = 'AccessDeniedException' | 'ThrottlingException' | 'InternalFailure';

/** Counts of the faults injected, by kind. */
export interface FaultStats {
  deliveries: number;
  duplicates: number;
  reordered: number;
  races: number;
  crashes: number;
  endpointFailures: number;
  throttles: number;
  /** CodeDeploy rollbacks failed by `rollbackErrors`. */
  codeDeployErrors: number;
  publishFailures: number;
  poison: number;
  modelLoadFailures: number;
  /** Bake book writes applied whose answer was lost. */
  lostAnswers: number;
  forged: number;
  /** The rollback handler's refusals, by reason. */
  refused: Record<string, number>;
}

/** A malformed event to put on a bus at a time: it must end in a dead-letter queue, nothing else. */
export interface PoisonEvent {
  /** `poison-N`: the value the event carries in its deploymentId or application. */
  readonly marker: string;
  readonly at: number;
  readonly bus: 'default' | 'custom';
  /** For the default bus: the full AWS event envelope. */
  readonly awsEvent?: BusEvent;
  /** For Deploy Guard's bus: a PutEvents entry (accepted by PutEvents, refused by the handler's schema). */
  readonly entry?: PutEventsEntry;
}

/** Park-Miller minimal standard generator: reproducible, no dependency. */
export function seededRandom(seed: number): () => number {
  let state = Math.abs(Math.trunc(seed)) % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

/** Lambda's asynchronous invocation makes 3 attempts (maximumRetryAttempts 2): at most 2 of them fail by injection. */
const MAX_FAILURES_PER_EVENT = 2;

interface Invocation {
  /** The handler and the event it handles (duplicates and races of an event share it). */
  readonly event: string;
  crashed?: SimulatedCrash;
}

interface Queued {
  readonly event: BusEvent;
  readonly run: (event: BusEvent) => Promise<void>;
  readonly order: number;
}

export class FaultInjector {
  readonly stats: FaultStats = {
    deliveries: 0,
    duplicates: 0,
    reordered: 0,
    races: 0,
    crashes: 0,
    endpointFailures: 0,
    throttles: 0,
    codeDeployErrors: 0,
    publishFailures: 0,
    poison: 0,
    modelLoadFailures: 0,
    lostAnswers: 0,
    forged: 0,
    refused: {},
  };
  /** Accepted rollbacks (StopDeployment, hook status Failed) per deployment, as CodeDeploy answered them. */
  readonly rollbacks = new Map<string, number>();
  /** Accepted proceeds (ContinueDeployment at READY, hook status Succeeded) per deployment. */
  readonly proceeds = new Map<string, number>();
  private readonly random: () => number;
  private readonly queue: Queued[] = [];
  private order = 0;
  /** The invocation a port call belongs to: a crash kills the rest of it. */
  private readonly invocations = new AsyncLocalStorage<Invocation>();
  /** Failures injected into the invocations of each event, by handler and event (see inject). */
  private readonly perEvent = new Map<string, number>();
  /** How often each step, call or entry has failed so far (the caps above). */
  private readonly injected = new Map<string, number>();

  constructor(readonly options: FaultOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (name.endsWith('Rate') && !(typeof value === 'number' && value >= 0 && value <= 1)) {
        throw new RangeError(`fault option ${name} must be a probability from 0 to 1, got ${String(value)}`);
      }
    }
    const window = options.reorderWindow ?? 1;
    if (!(Number.isInteger(window) && window >= 0)) throw new RangeError(`fault option reorderWindow must be a whole number, got ${window}`);
    const poison = options.poisonEvents ?? 0;
    if (!(Number.isInteger(poison) && poison >= 0)) throw new RangeError(`fault option poisonEvents must be a whole number, got ${poison}`);
    this.random = seededRandom(options.seed);
  }

  private chance(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random() < rate;
  }

  /**
   * Whether to fail `key` now: by chance, only while it has failed fewer than `cap` times, and only
   * while the event being handled has had fewer than MAX_FAILURES_PER_EVENT failures injected: the
   * faults clear within Lambda's retries (an event that failed every attempt would be a dead letter,
   * which the tests keep for poison).
   */
  private inject(rate: number | undefined, key: string, cap: number): boolean {
    const count = this.injected.get(key) ?? 0;
    const event = this.invocations.getStore()?.event;
    const eventCount = event === undefined ? 0 : (this.perEvent.get(event) ?? 0);
    if (count >= cap || eventCount >= MAX_FAILURES_PER_EVENT || !this.chance(rate)) return false;
    this.injected.set(key, count + 1);
    if (event !== undefined) this.perEvent.set(event, eventCount + 1);
    return true;
  }

  /**
   * One Lambda invocation of a handler (one attempt): a crash inside it fails it, whatever the
   * handler did with the error.
   */
  invocation<T>(handler: string, run: (event: BusEvent) => Promise<T>): (event: BusEvent) => Promise<T> {
    return (event) => {
      const context: Invocation = { event: `${handler} ${typeof event.id === 'string' ? event.id : JSON.stringify(event)}` };
      return this.invocations.run(context, async () => {
        try {
          const result = await run(event);
          if (context.crashed) throw context.crashed;
          this.countRefusal(result);
          return result;
        } catch (error) {
          throw context.crashed ?? error;
        }
      });
    };
  }

  private countRefusal(result: unknown): void {
    const { status, reason } = (result ?? {}) as { status?: unknown; reason?: unknown };
    if (status === 'refused' && typeof reason === 'string') this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1;
  }

  /** A port call in an invocation that has crashed: the process is gone, nothing more happens. */
  private alive(): void {
    const crashed = this.invocations.getStore()?.crashed;
    if (crashed) throw crashed;
  }

  /** Whether deliveries go through the function's asynchronous queue (reordering, duplicates, races). */
  get queuesDeliveries(): boolean {
    return (this.options.reorderWindow ?? 0) > 1 || this.options.duplicateDelivery === true || (this.options.raceRate ?? 0) > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery: the function's asynchronous queue
  // ---------------------------------------------------------------------------------------------

  /**
   * A rule target's invoke (Lambda's asynchronous Invoke, retries included, as `run`) that only
   * queues the event, two or three times with duplicate delivery. runQueued() runs the queue.
   */
  delivery(run: (event: BusEvent) => Promise<void>): (event: BusEvent) => Promise<void> {
    if (!this.queuesDeliveries) return run;
    return async (event) => {
      const copies = this.options.duplicateDelivery ? 2 + (this.random() < 0.5 ? 1 : 0) : 1;
      this.stats.duplicates += copies - 1;
      for (let copy = 0; copy < copies; copy += 1) this.queue.push({ event: structuredClone(event), run, order: this.order++ });
    };
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  /**
   * Runs one queued delivery, picked at random among the first `reorderWindow` waiting; sometimes two
   * invocations of it at once. Resolves false when nothing was queued.
   */
  async runQueued(): Promise<boolean> {
    if (this.queue.length === 0) return false;
    const window = Math.max(1, Math.min(this.options.reorderWindow ?? 1, this.queue.length));
    const index = Math.floor(this.random() * window);
    const [picked] = this.queue.splice(index, 1);
    if (this.queue.some((other) => other.order < picked.order)) this.stats.reordered += 1;
    this.stats.deliveries += 1;
    if (this.chance(this.options.raceRate)) {
      this.stats.races += 1;
      await Promise.all([picked.run(picked.event), picked.run(structuredClone(picked.event))]);
    } else {
      await picked.run(picked.event);
    }
    return true;
  }

  /** Lets the other invocation of a race run between two steps of this one. */
  private async interleave(): Promise<void> {
    this.alive();
    if ((this.options.raceRate ?? 0) > 0 && this.random() < 0.5) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async crashAfter(what: string): Promise<void> {
    const context = this.invocations.getStore();
    if (context && (this.options.crashSteps?.test(what) ?? true) && this.inject(this.options.crashRate, `crash ${what}`, 1)) {
      this.stats.crashes += 1;
      context.crashed = new SimulatedCrash(`the function crashed right after ${what}`);
      throw context.crashed;
    }
  }

  private throttle(service: string, api: string, subject = ''): void {
    this.alive();
    if (this.inject(this.options.throttleRate, `throttle ${service} ${api} ${subject}`, 2)) {
      this.stats.throttles += 1;
      throw new ThrottlingException(`${service} ${api}: Rate exceeded (still throttled after the SDK's retries)`);
    }
  }

  /** A rollback call failed by `rollbackErrors` while it has failed fewer than `times` times for the deployment. */
  private failRollback(api: string, deploymentId: string): void {
    const fault = this.options.rollbackErrors;
    if (!fault) return;
    const key = `rollback error ${deploymentId}`;
    const count = this.injected.get(key) ?? 0;
    if (count >= (fault.times ?? Number.POSITIVE_INFINITY)) return;
    this.injected.set(key, count + 1);
    this.stats.codeDeployErrors += 1;
    const action = `codedeploy:${api}`;
    switch (fault.error) {
      case 'AccessDeniedException':
        throw new AccessDeniedException(`User: arn:aws:sts::123456789012:assumed-role/deploy-guard/function is not authorized to perform: ${action} on resource: the deployment group of ${deploymentId} (injected fault)`);
      case 'ThrottlingException':
        throw new ThrottlingException(`CodeDeploy ${api}: Rate exceeded (still throttled after the SDK's retries; injected fault)`);
      case 'InternalFailure':
        throw new InternalFailure(`CodeDeploy ${api}: the service answered 500 after the SDK's retries (injected fault)`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ports
  // ---------------------------------------------------------------------------------------------

  codeDeploy(inner: CodeDeployPort): CodeDeployPort {
    const acted = async (api: string, deploymentId: string, call: () => Promise<CodeDeployOutcome>, rollback: boolean): Promise<CodeDeployOutcome> => {
      await this.interleave();
      this.throttle('CodeDeploy', api, deploymentId);
      if (rollback) this.failRollback(api, deploymentId);
      const answer = await call();
      const accepted = rollback ? this.rollbacks : this.proceeds;
      if (answer.ok) accepted.set(deploymentId, (accepted.get(deploymentId) ?? 0) + 1);
      await this.crashAfter(`CodeDeploy ${api} ${deploymentId}`);
      return answer;
    };
    return {
      getDeployment: async (deploymentId) => {
        await this.interleave();
        this.throttle('CodeDeploy', 'GetDeployment', deploymentId);
        return inner.getDeployment(deploymentId);
      },
      stopDeployment: (deploymentId, options) => acted('StopDeployment', deploymentId, () => inner.stopDeployment(deploymentId, options), true),
      continueDeployment: (deploymentId) => acted('ContinueDeployment', deploymentId, () => inner.continueDeployment(deploymentId), false),
      putLifecycleEventHookExecutionStatus: (deploymentId, hookExecutionId, status) =>
        acted('PutLifecycleEventHookExecutionStatus', deploymentId, () => inner.putLifecycleEventHookExecutionStatus(deploymentId, hookExecutionId, status), status === 'Failed'),
    };
  }

  deploymentStore(inner: DeploymentStore): DeploymentStore {
    return {
      putAssessment: async (assessment) => {
        await this.interleave();
        const write = await inner.putAssessment(assessment);
        await this.crashAfter(`storing the assessment of ${assessment.deploymentId}`);
        return write;
      },
      putOutcome: async (outcome, history) => {
        await this.interleave();
        const write = await inner.putOutcome(outcome, history);
        await this.crashAfter(`storing the outcome of ${outcome.deploymentId}`);
        return write;
      },
      get: async (deploymentId) => {
        await this.interleave();
        return inner.get(deploymentId);
      },
      markTrainingRowWritten: async (deploymentId) => {
        await this.interleave();
        return inner.markTrainingRowWritten(deploymentId);
      },
      groupHistory: (application, deploymentGroup, before, limit) => inner.groupHistory(application, deploymentGroup, before, limit),
      groupCounts: (application, deploymentGroup, before) => inner.groupCounts(application, deploymentGroup, before),
      recentAssessments: (application, deploymentGroup, since, limit) => inner.recentAssessments(application, deploymentGroup, since, limit),
    };
  }

  /** The data lake: a crash after a training row is written (before it is recorded as written). */
  trainingDataLake(inner: TrainingDataLake): TrainingDataLake {
    return {
      putRow: async (row) => {
        await this.interleave();
        await inner.putRow(row);
        await this.crashAfter(`writing the training row of ${row.deploymentId}`);
      },
    };
  }

  changeStore(inner: ChangeSummaryStore): ChangeSummaryStore {
    return {
      put: async (record) => {
        await this.interleave();
        const write = await inner.put(record);
        await this.crashAfter(`storing the change summary of ${record.summary.application}`);
        return write;
      },
      findForDeployment: (application, revisionKey, startedAt) => inner.findForDeployment(application, revisionKey, startedAt),
      find: (application, revisionKey) => inner.find(application, revisionKey),
    };
  }

  /** The ledger: a crash right after a successful claim (before CodeDeploy is called), and after recording an outcome (before it is published). */
  ledger(inner: RollbackLedger): RollbackLedger {
    return {
      claim: async (claim) => {
        await this.interleave();
        const claimed = await inner.claim(claim);
        if (claimed.claimed) await this.crashAfter(`claiming the rollback ledger for ${claim.deploymentId} (${claim.action})`);
        return claimed;
      },
      recordAttempt: (deploymentId, token, action, at) => inner.recordAttempt(deploymentId, token, action, at),
      record: async (deploymentId, token, outcome) => {
        await this.interleave();
        await inner.record(deploymentId, token, outcome);
        await this.crashAfter(`recording the rollback outcome of ${deploymentId}`);
      },
      markPublished: (deploymentId) => inner.markPublished(deploymentId),
      markDueCounted: (deploymentId) => inner.markDueCounted(deploymentId),
      read: async (deploymentId) => {
        await this.interleave();
        return inner.read(deploymentId);
      },
    };
  }

  controlStore(inner: ControlStore): ControlStore {
    return {
      readServingModel: () => inner.readServingModel(),
      swapServingModel: async (next, expected) => {
        await this.interleave();
        const swapped = await inner.swapServingModel(next, expected);
        await this.crashAfter(`moving the serving pointer to ${next.modelVersion}`);
        return swapped;
      },
      readRetraining: () => inner.readRetraining(),
      readCut: (scope) => inner.readCut(scope),
      writeCut: async (scope, state, expected) => {
        await this.interleave();
        const written = await inner.writeCut(scope, state, expected);
        await this.crashAfter(`moving the cut of ${scope}`);
        return written;
      },
      recordRetraining: async (next, expected) => {
        await this.interleave();
        const recorded = await inner.recordRetraining(next, expected);
        await this.crashAfter(`recording the retraining ${next.trainingJobName}`);
        return recorded;
      },
      recordTrainingJob: async (job) => {
        await this.interleave();
        await inner.recordTrainingJob(job);
        await this.crashAfter(`recording the training job ${job.trainingJobName}`);
      },
      readTrainingJob: (trainingJobName) => inner.readTrainingJob(trainingJobName),
      readPromotion: (trainingJobName) => inner.readPromotion(trainingJobName),
      writePromotion: async (intent) => {
        await this.interleave();
        await inner.writePromotion(intent);
        await this.crashAfter(`recording the promotion intent of ${intent.trainingJobName} (${intent.stage})`);
      },
      readJobVerdict: (trainingJobName) => inner.readJobVerdict(trainingJobName),
      recordJobVerdict: async (verdict) => {
        await this.interleave();
        const recorded = await inner.recordJobVerdict(verdict);
        await this.crashAfter(`recording the verdict on ${verdict.trainingJobName}`);
        return recorded;
      },
    };
  }

  /**
   * The bakes: a write of the book applied whose answer is lost (reported as moved by another writer),
   * and a crash after the book is written, a closed bake is kept (before CodeDeploy is called, or
   * before the rollback is announced), its announcement claimed (before it is published) or marked
   * announced.
   */
  bakeStore(inner: BakeStore): BakeStore {
    return {
      // Reads pass straight through (as the other stores' reads of single items): record-outcome reads
      // every deployment's closed bake, and a read that drew from the generator would move every later fault.
      readBook: () => inner.readBook(),
      writeBook: async (book, expectedRevision) => {
        await this.interleave();
        const written = await inner.writeBook(book, expectedRevision);
        if (!written) return false;
        const what = `writing the book of open bakes over revision ${expectedRevision ?? 'none'}`;
        if (this.inject(this.options.lostBakeBookAnswerRate, `lost answer ${what}`, 1)) {
          this.stats.lostAnswers += 1;
          return false;
        }
        await this.crashAfter(what);
        return true;
      },
      keepClosed: async (record) => {
        await this.interleave();
        const kept = await inner.keepClosed(record);
        await this.crashAfter(`keeping the closed bake of ${record.deploymentId} (${record.state})`);
        return kept;
      },
      readClosed: (deploymentId) => inner.readClosed(deploymentId),
      claimAnnouncement: async (deploymentId, claim, expected) => {
        await this.interleave();
        const claimed = await inner.claimAnnouncement(deploymentId, claim, expected);
        if (claimed) await this.crashAfter(`claiming the announcement of the closed bake of ${deploymentId}`);
        return claimed;
      },
      releaseAnnouncement: async (deploymentId, claim) => {
        await this.interleave();
        await inner.releaseAnnouncement(deploymentId, claim);
      },
      markAnnounced: async (deploymentId, at) => {
        await this.interleave();
        await inner.markAnnounced(deploymentId, at);
        await this.crashAfter(`keeping the closed bake of ${deploymentId} (announced)`);
      },
      // No crash after it: the metric is put in the same synchronous step as the mark's answer.
      markCounted: async (deploymentId, invocation) => {
        await this.interleave();
        return inner.markCounted(deploymentId, invocation);
      },
    };
  }

  /**
   * The shadow digest's claims: a crash right after the day is claimed (before it is published), and
   * one right after it is published, before it is marked sent (SNS's answer lost, or the process
   * gone): the day is left claimed but not sent either way.
   */
  shadowDigestStore(inner: ShadowDigestStore): ShadowDigestStore {
    const day = (from: number) => new Date(from).toISOString();
    return {
      read: (from) => inner.read(from),
      claim: async (claim, expected) => {
        await this.interleave();
        const claimed = await inner.claim(claim, expected);
        if (claimed) await this.crashAfter(`claiming the shadow digest of ${day(claim.from)}`);
        return claimed;
      },
      markSent: async (from, sent) => {
        await this.crashAfter(`publishing the shadow digest of ${day(from)}, before marking it sent`);
        await inner.markSent(from, sent);
      },
    };
  }

  endpoint(inner: ModelEndpointPort): ModelEndpointPort {
    return {
      invoke: async (csvRows): Promise<EndpointAnswer> => {
        if (this.options.endpointDown) {
          this.stats.endpointFailures += 1;
          return { ok: false, failure: 'Unavailable', message: 'endpoint deploy-guard: ServiceUnavailable: the endpoint is down (injected fault)' };
        }
        if (this.chance(this.options.endpointTimeoutRate)) {
          this.stats.endpointFailures += 1;
          return { ok: false, failure: 'Timeout', message: 'endpoint deploy-guard did not answer within 2000 ms (injected fault)' };
        }
        if (this.chance(this.options.endpointModelErrorRate)) {
          this.stats.endpointFailures += 1;
          return { ok: false, failure: 'ModelError', message: 'endpoint deploy-guard: ModelError: Received server error (500) from primary (injected fault)' };
        }
        return inner.invoke(csvRows);
      },
    };
  }

  /** predict's serving model: a load that fails (ModelUnavailableError), by chance, not retried away. */
  servingModel(inner: ServingModelSource): ServingModelSource {
    return {
      serving: async () => {
        const model = await inner.serving();
        if (model && this.chance(this.options.modelLoadFailureRate)) {
          this.stats.modelLoadFailures += 1;
          throw new ModelUnavailableError(model.version, `s3://models/${model.version}/model.tar.gz could not be loaded (injected fault)`);
        }
        return model;
      },
    };
  }

  training(inner: TrainingPort): TrainingPort {
    return {
      runningJobs: async (prefix) => {
        this.throttle('SageMaker', 'ListTrainingJobs');
        return inner.runningJobs(prefix);
      },
      startTrainingJob: async (spec) => {
        await this.interleave();
        this.throttle('SageMaker', 'CreateTrainingJob', spec.trainingJobName);
        return inner.startTrainingJob(spec);
      },
      describeTrainingJob: async (name) => {
        this.throttle('SageMaker', 'DescribeTrainingJob', name);
        return inner.describeTrainingJob(name);
      },
    };
  }

  hosting(inner: HostingPort): HostingPort {
    const throttled = <A extends unknown[], R>(api: string, call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      this.throttle('SageMaker', api, JSON.stringify(args[0]).slice(0, 200));
      return call(...args);
    };
    return {
      registerModelPackage: throttled('CreateModelPackage', (input) => inner.registerModelPackage(input)),
      findModelPackage: throttled('ListModelPackages', (group: string, job: string) => inner.findModelPackage(group, job)),
      describeModelPackage: throttled('DescribeModelPackage', (arn) => inner.describeModelPackage(arn)),
      createModel: throttled('CreateModel', (input) => inner.createModel(input)),
      createEndpointConfig: throttled('CreateEndpointConfig', (input) => inner.createEndpointConfig(input)),
      describeEndpoint: throttled('DescribeEndpoint', (name) => inner.describeEndpoint(name)),
      updateEndpoint: async (input) => {
        await throttled('UpdateEndpoint', (request: typeof input) => inner.updateEndpoint(request))(input);
        await this.crashAfter(`updating endpoint ${input.endpointName} to ${input.endpointConfigName}`);
      },
    };
  }

  /** PutEvents with partial failures: a refused entry is not put on the bus, the others are; then PublishError, as the real publisher throws. */
  publisher(inner: EventPublisher): EventPublisher {
    return {
      publish: async (entries) => {
        this.alive();
        const failures: PublishError['failures'][number][] = [];
        const accepted: PutEventsEntry[] = [];
        for (const entry of entries) {
          if (this.inject(this.options.publishFailureRate, `publish ${entry.DetailType} ${entry.Detail}`, 2)) {
            this.stats.publishFailures += 1;
            failures.push({ detailType: entry.DetailType, errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded (injected fault)' });
          } else {
            accepted.push(entry);
          }
        }
        if (accepted.length > 0) await inner.publish(accepted);
        if (failures.length > 0) throw new PublishError(failures);
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Poison
  // ---------------------------------------------------------------------------------------------

  /**
   * The malformed events to put on the buses, spread over [from, to): a CodeDeploy state change
   * without a deploymentId (predict's rule matches it), a change summary without a revision
   * (record-change's), a rollback request without its group (rollback's), in turn.
   */
  poison(from: number, to: number, context: { readonly account: string; readonly region: string; readonly source: string; readonly customBusName: string }): PoisonEvent[] {
    const count = this.options.poisonEvents ?? 0;
    const events: PoisonEvent[] = [];
    for (let index = 0; index < count; index += 1) {
      const marker = `poison-${index + 1}`;
      const at = Math.floor(from + ((index + 0.5) / count) * (to - from));
      const time = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
      switch (index % 3) {
        case 0:
          events.push({
            marker,
            at,
            bus: 'default',
            awsEvent: {
              version: '0',
              id: `${marker}-event`,
              'detail-type': 'CodeDeploy Deployment State-change Notification',
              source: 'aws.codedeploy',
              account: context.account,
              time,
              region: context.region,
              resources: [],
              detail: { application: marker, deploymentGroup: 'production', state: 'START', region: context.region, instanceGroupId: marker },
            },
          });
          break;
        case 1:
          events.push({
            marker,
            at,
            bus: 'custom',
            entry: {
              Source: context.source,
              DetailType: 'Deployment Change Summary',
              Detail: JSON.stringify({ schemaVersion: '1', application: marker, builtAt: time, change: { filesChanged: 3 } }),
              EventBusName: context.customBusName,
              Time: new Date(at),
              Resources: [],
            } as PutEventsEntry,
          });
          break;
        default:
          events.push({
            marker,
            at,
            bus: 'custom',
            entry: {
              Source: context.source,
              DetailType: 'Deployment Rollback Requested',
              Detail: JSON.stringify({ schemaVersion: '1', deploymentId: marker, reason: 'poison' }),
              EventBusName: context.customBusName,
              Time: new Date(at),
              Resources: [],
            } as PutEventsEntry,
          });
      }
    }
    this.stats.poison = events.length;
    return events;
  }
}

/** The account forged requests come from when they are not the installation's own. */
export const FOREIGN_ACCOUNT = '111122223333';
/** The reason a forged request gives: how a test tells it from Deploy Guard's own on the bus. */
export const FORGED_REASON = 'forged: a valid request predict never made';

/**
 * Forges a rollback request for every enforced assessment that says proceed, seen on Deploy Guard's
 * bus: valid against the schema and the rule's pattern, put in turn by another account (a cross-account
 * PutEvents) and by the installation's own (any principal allowed to put events).
 */
export function forgeRollbackRequests(
  injector: FaultInjector,
  bus: { onEvent(listener: (event: BusEvent) => void): void; putEvents(entries: readonly PutEventsEntry[], caller?: { readonly account?: string }): unknown },
  context: { readonly source: string; readonly eventBusName: string },
): void {
  bus.onEvent((event) => {
    const detail = event.detail;
    if (event['detail-type'] !== 'Deployment Risk Assessed' || detail.decision !== 'proceed' || detail.enforced !== true || detail.mode === 'shadow') return;
    const forged = injector.stats.forged++;
    const request = {
      schemaVersion: '2',
      ...Object.fromEntries(['deploymentId', 'application', 'deploymentGroup', 'platform', 'mode', 'probability', 'cut', 'blockBudget', 'modelVersion'].map((key) => [key, detail[key]])),
      reason: FORGED_REASON,
      requestedAt: event.time,
    };
    const entry = { Source: context.source, DetailType: 'Deployment Rollback Requested', Detail: JSON.stringify(request), EventBusName: context.eventBusName, Resources: [] } as PutEventsEntry;
    bus.putEvents([entry], forged % 2 === 0 ? { account: FOREIGN_ACCOUNT } : {});
  });
}

/** The marker (`poison-N`) a dead-lettered event carries, or undefined for an event that is not poison. */
export function poisonMarker(event: BusEvent | undefined): string | undefined {
  const detail = event?.detail ?? {};
  for (const value of [detail.deploymentId, detail.application]) {
    if (typeof value === 'string' && /^poison-\d+$/.test(value)) return value;
  }
  return undefined;
}
