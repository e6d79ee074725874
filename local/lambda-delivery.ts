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

/** How a schedule's firings reach its targets on the virtual clock. */
export interface ScheduleDelivery {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly deadLetters: DeadLetterWithEvent[];
  readonly account: string;
  readonly region: string;
  readonly faults?: FaultInjector;
}

/**
 * The stack's schedule rules on the virtual clock: each fires every `periodMs` from `from` (when the
 * stack is installed: AWS counts a rate from the rule's creation) to `to`, and its Scheduled Event
 * reaches each Lambda target as an asynchronous Invoke (retries, dead letters), as EventBridge
 * delivers a schedule: to its targets, not through the bus's pattern rules. `only` leaves out the
 * schedules a caller fires itself (scheduleFiring).
 */
export function scheduleRules(
  wiring: Pick<Wiring, 'schedules' | 'functions' | 'provider'>,
  handlers: LocalHandlers,
  options: ScheduleDelivery & { readonly from: number; readonly to: number; readonly only?: (schedule: ScheduleWiring) => boolean },
): number {
  let fired = 0;
  for (const schedule of wiring.schedules) {
    if (!schedule.enabled || !(options.only?.(schedule) ?? true)) continue;
    const fire = scheduleFiring(schedule, wiring, handlers, options);
    for (let at = options.from + schedule.periodMs; at <= options.to; at += schedule.periodMs) {
      fire(at);
      fired += 1;
    }
  }
  return fired;
}

/** One firing of a schedule rule at `at`: its Scheduled Event to each of its Lambda targets, as an asynchronous Invoke. */
export function scheduleFiring(schedule: ScheduleWiring, wiring: Pick<Wiring, 'functions'>, handlers: LocalHandlers, options: ScheduleDelivery): (at: number) => void {
  const invocations = schedule.targets.flatMap((target) => {
    const handler = target.handler;
    if (!handler) return [];
    const fn = wiring.functions.find((candidate) => candidate.handler === handler);
    const invoke = asyncInvoke({ rule: schedule.name, handler, run: (event) => handlers[handler](event), maximumRetryAttempts: fn?.asyncInvoke.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS, clock: options.clock, deadLetters: options.deadLetters });
    return [options.faults ? options.faults.delivery(invoke) : invoke];
  });
  return (at) => {
    const event = scheduledEvent(schedule, at, options.account, options.region) as unknown as BusEvent;
    options.scheduler.schedule(at, () => Promise.all(invocations.map((invoke) => invoke(event))).then(() => undefined));
  };
}
