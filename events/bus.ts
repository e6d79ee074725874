import { randomUUID } from 'node:crypto';
import { eventBridgeTime, ManualClock, systemClock, type Clock } from './clock';
import type { PutEventsEntry } from './emitted';
import { compilePattern, type CompiledPattern, type EventPattern } from './matcher';

/**
 * An in-process event bus with EventBridge's semantics, so that the whole system can run on a laptop:
 * PutEvents validation with per-entry errors, rules (pattern → targets), asynchronous at-least-once
 * delivery, a retry policy and a dead-letter queue per target, and archives that replay a time range.
 *
 * Delivery is sequential and deterministic (EventBridge gives no ordering guarantee; a test that needs
 * reordering injects it). With a ManualClock, waiting for a retry moves the clock instead of sleeping.
 */

/** An event as a rule target receives it. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** Set on events delivered by an archive replay, as EventBridge does. */
  'replay-name'?: string;
  [key: string]: unknown;
}

/** EventBridge's retry policy of a target (RetryPolicy in PutTargets). */
export interface RetryPolicy {
  /** 0 to 185; EventBridge's default is 185. */
  readonly maximumRetryAttempts: number;
  /** 60 to 86,400 seconds; EventBridge's default is 86,400 (24 h). */
  readonly maximumEventAgeInSeconds: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 };

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const { maximumRetryAttempts: attempts, maximumEventAgeInSeconds: age } = policy;
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > 185) {
    throw new Error(`retry policy maximumRetryAttempts must be an integer from 0 to 185, got ${attempts}`);
  }
  if (!Number.isInteger(age) || age < 60 || age > 86_400) {
    throw new Error(`retry policy maximumEventAgeInSeconds must be an integer from 60 to 86400, got ${age}`);
  }
  return policy;
}

/** A target's answer to an event: resolving means delivered; throwing means a failed attempt. */
export type TargetInvoke = (event: BusEvent) => unknown;

/** A message in a dead-letter queue, with the attributes EventBridge puts on its SQS message. */
export interface DeadLetter {
  readonly event: BusEvent;
  readonly ruleName: string;
  readonly targetId: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly exhaustedRetryCondition: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | 'NotRetryable';
  readonly retryAttempts: number;
  readonly deadLetteredAt: string;
}

export class DeadLetterQueue {
  readonly messages: DeadLetter[] = [];
  constructor(readonly name: string) {}
}

export interface TargetSpec {
  readonly id: string;
  readonly invoke: TargetInvoke;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retryPolicy?: RetryPolicy;
  /** Where an event goes when its retries are exhausted. Without one it is counted in `stats.dropped`. */
  readonly deadLetterQueue?: DeadLetterQueue;
}

export interface RuleSpec {
  readonly name: string;
  readonly pattern: EventPattern | string;
  readonly targets: readonly TargetSpec[];
  /** @default 'ENABLED' */
  readonly state?: 'ENABLED' | 'DISABLED';
}

/** A target error that EventBridge would not retry (a 4xx from the target service, e.g. AccessDenied). */
export class NonRetryableTargetError extends Error {
  override readonly name = 'NonRetryableTargetError';
  constructor(message: string, readonly code = 'NonRetryable') {
    super(message);
  }
}

/** What PutEvents answers for one entry: an event id, or an error code and message. */
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };
export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

/** A PutEvents request that EventBridge refuses as a whole (ValidationException). */
export class PutEventsRequestError extends Error {
  override readonly name = 'ValidationException';
}

/** EventBridge's limit on a PutEvents request, and so on one entry: 256 KB. */
export const MAX_PUT_EVENTS_SIZE = 256 * 1024;
export const MAX_PUT_EVENTS_ENTRIES = 10;

/** The size of an entry as EventBridge counts it (docs: "Calculating PutEvents event entry size"). */
export function putEventsEntrySize(entry: Partial<PutEventsEntry>): number {
  let size = entry.Time ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (typeof text === 'string') size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

export interface ArchiveSpec {
  readonly name: string;
  /** Only events matching this pattern are archived. @default every event */
  readonly pattern?: EventPattern | string;
  /** Events older than this are dropped from the archive. @default indefinitely */
  readonly retentionDays?: number;
}

export interface ReplaySpec {
  readonly name: string;
  readonly archiveName: string;
  /** Start of the replayed range (inclusive) and end (exclusive), by event time. */
  readonly from: Date | string | number;
  readonly to: Date | string | number;
  /** Replay to these rules only. @default every rule of the bus */
  readonly ruleNames?: readonly string[];
}

export interface BusStats {
  accepted: number;
  failedEntries: number;
  deliveries: number;
  failedAttempts: number;
  deadLettered: number;
  /** Events whose retries ran out on a target without a dead-letter queue (EventBridge drops those). */
  dropped: number;
  replayed: number;
}

export interface LocalEventBusOptions {
  /** @default 'default' */
  readonly name?: string;
  readonly account?: string;
  readonly region?: string;
  readonly clock?: Clock;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
  /** For retry jitter; inject a seeded one for reproducible runs. @default Math.random */
  readonly random?: () => number;
  /** Deliver on its own after each put (true), or only when drain() is called (false). @default true */
  readonly autoDeliver?: boolean;
  /** First retry delay; doubles per attempt up to 5 minutes, with jitter. @default 1000 */
  readonly baseRetryDelayMs?: number;
}

interface Rule {
  readonly name: string;
  readonly matcher: CompiledPattern;
  readonly targets: readonly TargetSpec[];
  readonly enabled: boolean;
}

interface Delivery {
  readonly event: BusEvent;
  readonly rule: Rule;
  readonly target: TargetSpec;
  /** When the bus accepted the event: the start of its maximum age. */
  readonly acceptedAt: number;
  readonly attempt: number;
  readonly dueAt: number;
  readonly sequence: number;
}

interface Archive {
  readonly spec: ArchiveSpec;
  readonly matcher: CompiledPattern | undefined;
  readonly events: { event: BusEvent; time: number }[];
}

const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;

export class LocalEventBus {
  readonly name: string;
  readonly arn: string;
  readonly stats: BusStats = {
    accepted: 0, failedEntries: 0, deliveries: 0, failedAttempts: 0, deadLettered: 0, dropped: 0, replayed: 0,
  };

  private readonly account: string;
  private readonly region: string;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly random: () => number;
  private readonly autoDeliver: boolean;
  private readonly baseRetryDelayMs: number;
  private readonly rules = new Map<string, Rule>();
  private readonly archives = new Map<string, Archive>();
  private readonly listeners: ((event: BusEvent) => void)[] = [];
  private pending: Delivery[] = [];
  private sequence = 0;
  private draining: Promise<void> | undefined;

  constructor(options: LocalEventBusOptions = {}) {
    this.name = options.name ?? 'default';
    this.account = options.account ?? '123456789012';
    this.region = options.region ?? 'us-east-1';
    this.arn = `arn:aws:events:${this.region}:${this.account}:event-bus/${this.name}`;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? randomUUID;
    this.random = options.random ?? Math.random;
    this.autoDeliver = options.autoDeliver ?? true;
    this.baseRetryDelayMs = options.baseRetryDelayMs ?? 1000;
  }

  /** Creates or replaces a rule (PutRule + PutTargets). The pattern is validated and compiled once. */
  putRule(spec: RuleSpec): void {
    const ids = new Set<string>();
    for (const target of spec.targets) {
      if (ids.has(target.id)) throw new Error(`rule '${spec.name}' has two targets with id '${target.id}'`);
      ids.add(target.id);
      if (target.retryPolicy) validateRetryPolicy(target.retryPolicy);
    }
    if (spec.targets.length > 5) throw new Error(`rule '${spec.name}' has ${spec.targets.length} targets; EventBridge allows 5`);
    this.rules.set(spec.name, {
      name: spec.name,
      matcher: compilePattern(spec.pattern),
      targets: spec.targets,
      enabled: (spec.state ?? 'ENABLED') === 'ENABLED',
    });
  }

  removeRule(name: string): void {
    this.rules.delete(name);
  }

  ruleNames(): string[] {
    return [...this.rules.keys()];
  }

  /** Calls `listener` with every event the bus accepts, in order (replays included): the audit log. */
  onEvent(listener: (event: BusEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * PutEvents. A request that breaks a request-level limit (no entries, more than 10, over 256 KB in
   * all) throws PutEventsRequestError; a bad entry gets its own ErrorCode and counts in
   * FailedEntryCount while the good entries of the batch go through, as EventBridge does. The events
   * carry the caller's account: the bus's own unless another account puts them (as a bus policy may allow).
   */
  putEvents(entries: readonly Partial<PutEventsEntry>[], caller: { readonly account?: string } = {}): PutEventsResult {
    if (entries.length === 0 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
      throw new PutEventsRequestError(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_PUT_EVENTS_ENTRIES} (got ${entries.length})`,
      );
    }
    const totalSize = entries.reduce((sum, entry) => sum + putEventsEntrySize(entry), 0);
    if (totalSize > MAX_PUT_EVENTS_SIZE) {
      throw new PutEventsRequestError(
        `Total size of the entries in the request is over the limit (${totalSize} bytes > ${MAX_PUT_EVENTS_SIZE}).`,
      );
    }
    const result: PutEventsResult = { FailedEntryCount: 0, Entries: [] };
    for (const entry of entries) {
      const problem = this.entryProblem(entry);
      if (problem) {
        result.FailedEntryCount += 1;
        this.stats.failedEntries += 1;
        result.Entries.push(problem);
        continue;
      }
      const time = entry.Time ? entry.Time.getTime() : this.clock.now();
      const event: BusEvent = {
        version: '0',
        id: this.newId(),
        'detail-type': entry.DetailType as string,
        source: entry.Source as string,
        account: caller.account ?? this.account,
        time: eventBridgeTime(time),
        region: this.region,
        resources: [...(entry.Resources ?? [])],
        detail: JSON.parse(entry.Detail as string) as Record<string, unknown>,
      };
      this.accept(event);
      result.Entries.push({ EventId: event.id });
    }
    return result;
  }

  /**
   * Puts an event that an AWS service emits (the stand-ins for CodeDeploy, CloudWatch, SageMaker):
   * the full envelope, as AWS writes it. Only the default bus receives AWS events.
   */
  publishAwsEvent(event: BusEvent): void {
    if (this.name !== 'default') throw new Error(`AWS service events arrive on the default bus, not '${this.name}'`);
    this.accept(structuredClone(event));
  }

  /** Archives events put on this bus from now on (CreateArchive). */
  createArchive(spec: ArchiveSpec): void {
    if (this.archives.has(spec.name)) throw new Error(`archive '${spec.name}' already exists`);
    if (spec.retentionDays !== undefined && !(Number.isInteger(spec.retentionDays) && spec.retentionDays >= 0)) {
      throw new Error(`archive '${spec.name}' retentionDays must be a non-negative integer, got ${spec.retentionDays}`);
    }
    this.archives.set(spec.name, {
      spec,
      matcher: spec.pattern === undefined ? undefined : compilePattern(spec.pattern),
      events: [],
    });
  }

  /** The events an archive holds now (after retention). */
  archivedEvents(archiveName: string): BusEvent[] {
    return this.archive(archiveName).events.map((entry) => entry.event);
  }

  /**
   * StartReplay: re-delivers the archived events whose time is in [from, to), in time order, to every
   * rule (or the named ones), with `replay-name` set. Replayed events are not archived again.
   * Resolves with how many events were replayed, once they are queued; drain() delivers them.
   */
  startReplay(spec: ReplaySpec): { eventsReplayed: number } {
    const archive = this.archive(spec.archiveName);
    const from = toMillis(spec.from, 'from');
    const to = toMillis(spec.to, 'to');
    if (!(from < to)) throw new Error(`replay '${spec.name}': 'from' must be before 'to'`);
    for (const name of spec.ruleNames ?? []) {
      if (!this.rules.has(name)) throw new Error(`replay '${spec.name}': the bus has no rule '${name}'`);
    }
    const selected = archive.events
      .filter((entry) => entry.time >= from && entry.time < to)
      .sort((a, b) => a.time - b.time);
    for (const { event } of selected) {
      const replayed: BusEvent = { ...structuredClone(event), 'replay-name': spec.name };
      this.stats.replayed += 1;
      for (const listener of this.listeners) listener(replayed);
      this.route(replayed, spec.ruleNames);
    }
    this.scheduleDelivery();
    return { eventsReplayed: selected.length };
  }

  /** Events waiting for delivery or for a retry. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Delivers everything queued, retries included, until nothing is left; events put by targets on the
   * way are delivered too. With a ManualClock a retry's wait moves the clock; otherwise it sleeps.
   */
  drain(): Promise<void> {
    this.draining ??= this.deliverAll().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private archive(name: string): Archive {
    const archive = this.archives.get(name);
    if (!archive) throw new Error(`bus '${this.name}' has no archive '${name}'`);
    return archive;
  }

  private entryProblem(entry: Partial<PutEventsEntry>): PutEventsResultEntry | undefined {
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      const value = entry[field];
      if (typeof value !== 'string' || value.length === 0) {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        };
      }
    }
    if (entry.EventBusName !== undefined && entry.EventBusName !== this.name && entry.EventBusName !== this.arn) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${entry.EventBusName} does not exist.` };
    }
    if ((entry.Source as string).startsWith('aws.')) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      detail = undefined;
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (entry.Time !== undefined && !(entry.Time instanceof Date && Number.isFinite(entry.Time.getTime()))) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' };
    }
    if (putEventsEntrySize(entry) > MAX_PUT_EVENTS_SIZE) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: `Event entry is over the ${MAX_PUT_EVENTS_SIZE}-byte limit.` };
    }
    return undefined;
  }

  private accept(event: BusEvent): void {
    this.stats.accepted += 1;
    for (const listener of this.listeners) listener(event);
    const now = this.clock.now();
    for (const archive of this.archives.values()) {
      if (!archive.matcher || archive.matcher.matches(event)) archive.events.push({ event, time: eventMillis(event, now) });
    }
    this.expireArchives(now);
    this.route(event);
    this.scheduleDelivery();
  }

  private expireArchives(now: number): void {
    for (const archive of this.archives.values()) {
      const days = archive.spec.retentionDays;
      if (days === undefined || days === 0) continue; // 0 means "indefinitely", as in CreateArchive
      const oldest = now - days * 86_400_000;
      if (archive.events.length > 0 && archive.events[0].time < oldest) {
        archive.events.splice(0, archive.events.findIndex((entry) => entry.time >= oldest) >>> 0);
      }
    }
  }

  private route(event: BusEvent, onlyRules?: readonly string[]): void {
    const now = this.clock.now();
    for (const rule of this.rules.values()) {
      if (!rule.enabled || (onlyRules && !onlyRules.includes(rule.name))) continue;
      if (!rule.matcher.matches(event)) continue;
      for (const target of rule.targets) {
        this.enqueue({ event, rule, target, acceptedAt: now, attempt: 1, dueAt: now, sequence: this.sequence++ });
      }
    }
  }

  private enqueue(delivery: Delivery): void {
    this.pending.push(delivery);
  }

  private scheduleDelivery(): void {
    if (this.autoDeliver && !this.draining) setImmediate(() => void this.drain());
  }

  private nextDelivery(): Delivery | undefined {
    if (this.pending.length === 0) return undefined;
    let best = 0;
    for (let index = 1; index < this.pending.length; index += 1) {
      const candidate = this.pending[index];
      const current = this.pending[best];
      if (candidate.dueAt < current.dueAt || (candidate.dueAt === current.dueAt && candidate.sequence < current.sequence)) {
        best = index;
      }
    }
    return this.pending.splice(best, 1)[0];
  }

  private async deliverAll(): Promise<void> {
    for (let delivery = this.nextDelivery(); delivery; delivery = this.nextDelivery()) {
      const wait = delivery.dueAt - this.clock.now();
      if (wait > 0) {
        if (this.clock instanceof ManualClock) this.clock.advanceTo(delivery.dueAt);
        else await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await this.attempt(delivery);
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { target } = delivery;
    try {
      await target.invoke(delivery.event);
      this.stats.deliveries += 1;
      return;
    } catch (error) {
      this.stats.failedAttempts += 1;
      const policy = target.retryPolicy ?? DEFAULT_RETRY_POLICY;
      const retriesDone = delivery.attempt - 1;
      const delay = Math.min(this.baseRetryDelayMs * 2 ** retriesDone, MAX_RETRY_DELAY_MS) * (0.5 + this.random() / 2);
      const dueAt = this.clock.now() + delay;
      const tooOld = dueAt - delivery.acceptedAt > policy.maximumEventAgeInSeconds * 1000;
      const condition =
        error instanceof NonRetryableTargetError
          ? 'NotRetryable'
          : retriesDone >= policy.maximumRetryAttempts
            ? 'MaximumRetryAttempts'
            : tooOld
              ? 'MaximumEventAgeInSeconds'
              : undefined;
      if (condition === undefined) {
        this.enqueue({ ...delivery, attempt: delivery.attempt + 1, dueAt, sequence: this.sequence++ });
        return;
      }
      this.deadLetter(delivery, error, condition);
    }
  }

  private deadLetter(delivery: Delivery, error: unknown, condition: DeadLetter['exhaustedRetryCondition']): void {
    const queue = delivery.target.deadLetterQueue;
    if (!queue) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.deadLettered += 1;
    queue.messages.push({
      event: delivery.event,
      ruleName: delivery.rule.name,
      targetId: delivery.target.id,
      errorCode: error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
      exhaustedRetryCondition: condition,
      retryAttempts: delivery.attempt - 1,
      deadLetteredAt: eventBridgeTime(this.clock.now()),
    });
  }
}

function toMillis(time: Date | string | number, name: string): number {
  const millis = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (!Number.isFinite(millis)) throw new Error(`replay '${name}' is not a time: ${String(time)}`);
  return millis;
}

function eventMillis(event: BusEvent, fallback: number): number {
  const millis = Date.parse(event.time);
  return Number.isFinite(millis) ? millis : fallback;
}
