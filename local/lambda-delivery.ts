import type { BusEvent } from '../events/bus';
import type { Clock } from '../events/clock';
import { scheduledEvent } from '../events/schedule';
import { EventValidationError } from '../events/validation';
import type { HandlerName } from '../handlers/entries';
import type { DeadLetter } from './report-model';
import type { LocalHandler, LocalHandlers } from './handler-composition';
import type { FaultInjector } from './faults';
import type { Scheduler } from './scheduler';
import type { LocalBuses } from './stand-ins';
import type { ScheduleWiring, Wiring } from './terraform-wiring';

/**
 * Lambda's asynchronous delivery on the local buses: the stack's rules and targets, each target an
 * asynchronous Invoke of its function, retried per the function's maximumRetryAttempts, and the
 * events no attempt handled kept in the function's dead-letter queue.
 */

/** A dead letter with the event it holds. */
export type DeadLetterWithEvent = DeadLetter & { readonly event?: BusEvent };

/** Lambda's default maximumRetryAttempts for asynchronous invocation. */
const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;

/**
 * One asynchronous Invoke: 1 + maximumRetryAttempts attempts, fewer for a poison event (an
 * EventValidationError is the same on every retry); an event no attempt handled becomes a dead letter.
 */
export function asyncInvoke(target: {
  readonly rule: string;
  readonly handler: HandlerName;
  readonly run: LocalHandler;
  readonly maximumRetryAttempts: number;
  readonly clock: Clock;
  readonly deadLetters: DeadLetterWithEvent[];
}): (event: BusEvent) => Promise<void> {
  return async (event) => {
    const attempts = 1 + target.maximumRetryAttempts;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        await target.run(event);
        return;
      } catch (error) {
        lastError = error;
        if (error instanceof EventValidationError) break;
      }
    }
    target.deadLetters.push({
      at: target.clock.now(),
      rule: target.rule,
      target: target.handler,
      reason: lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError),
      event,
    });
  };
}

/**
 * The stack's enabled event rules on the local buses, their Lambda targets invoking the handlers.
 * With faults, a target only queues the event in its function's asynchronous queue (drainBuses runs it).
 */
export function wireRules(
  wiring: Pick<Wiring, 'rules' | 'functions'>,
  buses: LocalBuses,
  handlers: LocalHandlers,
  options: { readonly clock: Clock; readonly deadLetters: DeadLetterWithEvent[]; readonly faults?: FaultInjector },
): void {
  const { faults } = options;
  const deliver = (run: (event: BusEvent) => Promise<void>) => (faults ? faults.delivery(run) : run);
  for (const rule of wiring.rules) {
    if (!rule.eventPattern || !rule.enabled) continue;
    const bus = rule.eventBusName === 'default' ? buses.default : buses.custom;
    bus.putRule({
      name: rule.name,
      pattern: rule.eventPattern,
      targets: rule.targets.map((target) => {
        const handler = target.handler;
        const fn = handler ? wiring.functions.find((candidate) => candidate.handler === handler) : undefined;
        const invoke = handler
          ? asyncInvoke({ rule: rule.name, handler, run: (event) => handlers[handler](event), maximumRetryAttempts: fn?.asyncInvoke.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS, clock: options.clock, deadLetters: options.deadLetters })
          : async () => undefined; // SNS notifications: delivered, nobody to read them on a laptop.
        return { id: target.targetId ?? target.address, retryPolicy: target.retryPolicy, invoke: deliver(invoke) };
      }),
    });
  }
}

/** Delivers everything the buses hold, and (with faults) every queued invocation, until nothing is left. */
export async function drainBuses(buses: LocalBuses, faults?: FaultInjector): Promise<void> {
  do {
    while (buses.default.pendingCount > 0 || buses.custom.pendingCount > 0) {
      await buses.default.drain();
      await buses.custom.drain();
    }
  } while (await faults?.runQueued());
}

/**
 * The stack's schedule rules on the virtual clock: each fires every `periodMs` from `from` (when the
 * stack is installed: AWS counts a rate from the rule's creation) to `to`, and its Scheduled Event
 * reaches each Lambda target as an asynchronous Invoke (retries, dead letters), as EventBridge
 * delivers a schedule: to its targets, not through the bus's pattern rules.
 *
 * A sweep (a schedule named in `sweeps`, such as the one-minute hold timeouts and bake sweep) is
 * only invoked when its predicate says it has work, and while none has it does not tick minute by
 * minute through years of replay: nothing opens a hold or a bake but another action on the clock (a
 * deployment's lifecycle), so the sweeps skip ahead to their first firing at or after the next such
 * action. A skipped firing is one whose target would have found nothing open: the run is the same,
 * and costs the number of actions, not of minutes. Answers how many firings were scheduled up front.
 */
export function scheduleRules(
  wiring: Pick<Wiring, 'schedules' | 'functions' | 'provider'>,
  handlers: LocalHandlers,
  options: ScheduleOptions,
): number {
  let fired = 0;
  const sweeps: { readonly schedule: ScheduleWiring; readonly invoke: (event: BusEvent) => Promise<void>; readonly hasWork: () => Promise<boolean> }[] = [];
  for (const schedule of wiring.schedules) {
    if (!schedule.enabled) continue;
    const invoke = scheduleInvocation(schedule, wiring, handlers, options);
    const hasWork = Object.entries(options.sweeps ?? {}).find(([name]) => schedule.name.endsWith(`-${name}`))?.[1];
    if (hasWork) {
      sweeps.push({ schedule, invoke, hasWork });
      continue;
    }
    for (let at = options.from + schedule.periodMs; at <= options.to; at += schedule.periodMs) {
      const event = scheduledEvent(schedule, at, options.account, options.region) as unknown as BusEvent;
      options.scheduler.schedule(at, () => invoke(event));
      fired += 1;
    }
  }
  if (sweeps.length > 0) scheduleSweeps(sweeps, options);
  return fired;
}

export interface ScheduleOptions {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly deadLetters: DeadLetterWithEvent[];
  readonly from: number;
  readonly to: number;
  readonly account: string;
  readonly region: string;
  readonly faults?: FaultInjector;
  /** Sweep schedules by logical name (the rule's name after the prefix): whether the sweep has anything to do now. */
  readonly sweeps?: Readonly<Record<string, () => Promise<boolean>>>;
}

/** The schedule's Scheduled Event delivered to each of its Lambda targets, as an asynchronous Invoke. */
function scheduleInvocation(schedule: ScheduleWiring, wiring: Pick<Wiring, 'functions'>, handlers: LocalHandlers, options: ScheduleOptions): (event: BusEvent) => Promise<void> {
  const invocations = schedule.targets.flatMap((target) => {
    const handler = target.handler;
    if (!handler) return [];
    const fn = wiring.functions.find((candidate) => candidate.handler === handler);
    const invoke = asyncInvoke({ rule: schedule.name, handler, run: (event) => handlers[handler](event), maximumRetryAttempts: fn?.asyncInvoke.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS, clock: options.clock, deadLetters: options.deadLetters });
    return [options.faults ? options.faults.delivery(invoke) : invoke];
  });
  return (event) => Promise.all(invocations.map((invoke) => invoke(event))).then(() => undefined);
}

/**
 * The sweeps as one chain on the clock (one chain, so that an idle sweep never waits for another
 * sweep's next firing): at each firing, each sweep with work is invoked; then the chain goes on a
 * period later while any has work, or else to the first firing at or after the next other action.
 */
function scheduleSweeps(sweeps: readonly { readonly schedule: ScheduleWiring; readonly invoke: (event: BusEvent) => Promise<void>; readonly hasWork: () => Promise<boolean> }[], options: ScheduleOptions): void {
  const periodMs = sweeps[0].schedule.periodMs;
  const other = sweeps.find((sweep) => sweep.schedule.periodMs !== periodMs);
  if (other) throw new Error(`sweep schedules must share one period: ${sweeps[0].schedule.name} fires every ${periodMs} ms, ${other.schedule.name} every ${other.schedule.periodMs} ms`);
  const anyWork = async () => (await Promise.all(sweeps.map((sweep) => sweep.hasWork()))).some(Boolean);
  const fire = (at: number): void =>
    options.scheduler.schedule(at, async () => {
      for (const sweep of sweeps) {
        if (await sweep.hasWork()) await sweep.invoke(scheduledEvent(sweep.schedule, at, options.account, options.region) as unknown as BusEvent);
      }
      const next = (await anyWork()) ? at + periodMs : firingAtOrAfter(options.scheduler.peek(), at, periodMs);
      if (next <= options.to) fire(next);
    });
  const first = options.from + periodMs;
  if (first <= options.to) fire(first);
}

/** The first firing (at + k periods, k ≥ 1) at or after `wake`; never when nothing else is left on the clock. */
function firingAtOrAfter(wake: number | undefined, at: number, periodMs: number): number {
  if (wake === undefined) return Number.POSITIVE_INFINITY;
  return at + Math.max(1, Math.ceil((wake - at) / periodMs)) * periodMs;
}
