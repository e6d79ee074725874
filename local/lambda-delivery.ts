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
 * delivers a schedule: to its targets, not through the bus's pattern rules. `only` leaves schedules out.
 *
 * A sweep (a schedule named in `sweeps`: the one-minute hold timeouts and bake sweep) is invoked only
 * at the firings where it has something to do, and does not tick minute by minute through years of
 * replay. Its `due` says when it next has work: now (or earlier), a later time (a hold's timeout, a
 * bake window's end), or never while nothing is open. Nothing else makes work due but another action
 * on the clock (a deployment's lifecycle opens a hold or a bake, an alarm's event moves a bake), so
 * between firings the sweeps skip ahead to the first firing at or after the earlier of their due
 * time and the next action. A skipped firing is one whose target would have found nothing to do: the
 * run is the same, and costs the firings that act, not the minutes. Answers how many firings of the
 * other schedules were scheduled up front.
 */
export function scheduleRules(wiring: Pick<Wiring, 'schedules' | 'functions' | 'provider'>, handlers: LocalHandlers, options: ScheduleOptions): number {
  let fired = 0;
  const sweeps: Sweep[] = [];
  for (const schedule of wiring.schedules) {
    if (!schedule.enabled || !(options.only?.(schedule) ?? true)) continue;
    const fire = scheduleFiring(schedule, wiring, handlers, options);
    const due = Object.entries(options.sweeps ?? {}).find(([name]) => schedule.name.endsWith(`-${name}`))?.[1];
    if (due) {
      sweeps.push({ schedule, invoke: (at) => invokeNow(schedule, wiring, handlers, options, at), due });
      continue;
    }
    for (let at = options.from + schedule.periodMs; at <= options.to; at += schedule.periodMs) {
      fire(at);
      fired += 1;
    }
  }
  if (sweeps.length > 0) scheduleSweeps(sweeps, options);
  return fired;
}

export interface ScheduleOptions extends ScheduleDelivery {
  readonly from: number;
  readonly to: number;
  /** Which of the stack's schedules to fire (default: every enabled one). */
  readonly only?: (schedule: ScheduleWiring) => boolean;
  /** Sweep schedules by logical name (the rule's name after the prefix): when each next has work to do (SweepDue). */
  readonly sweeps?: Readonly<Record<string, SweepDue>>;
}

/** When a sweep next has work: a time (at or before now: now), or undefined while it has none until another action. */
export type SweepDue = () => Promise<number | undefined>;

interface Sweep {
  readonly schedule: ScheduleWiring;
  readonly invoke: (at: number) => Promise<void>;
  readonly due: SweepDue;
}

/** One firing of a schedule rule at `at`: its Scheduled Event to each of its Lambda targets, as an asynchronous Invoke. */
export function scheduleFiring(schedule: ScheduleWiring, wiring: Pick<Wiring, 'functions'>, handlers: LocalHandlers, options: ScheduleDelivery): (at: number) => void {
  return (at) => options.scheduler.schedule(at, () => invokeNow(schedule, wiring, handlers, options, at));
}

/** The schedule's Scheduled Event of `at`, delivered now to each of its Lambda targets. */
function invokeNow(schedule: ScheduleWiring, wiring: Pick<Wiring, 'functions'>, handlers: LocalHandlers, options: ScheduleDelivery, at: number): Promise<void> {
  const event = scheduledEvent(schedule, at, options.account, options.region) as unknown as BusEvent;
  const invocations = schedule.targets.flatMap((target) => {
    const handler = target.handler;
    if (!handler) return [];
    const fn = wiring.functions.find((candidate) => candidate.handler === handler);
    const invoke = asyncInvoke({ rule: schedule.name, handler, run: (delivered) => handlers[handler](delivered), maximumRetryAttempts: fn?.asyncInvoke.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS, clock: options.clock, deadLetters: options.deadLetters });
    return [options.faults ? options.faults.delivery(invoke) : invoke];
  });
  return Promise.all(invocations.map((invoke) => invoke(event))).then(() => undefined);
}

/**
 * The sweeps as one chain on the clock (one chain, so that an idle sweep never waits for another
 * sweep's next firing): at each firing, each sweep whose work is due is invoked; the chain goes on at
 * the first firing at or after the earliest of the sweeps' next due times and the next other action.
 */
function scheduleSweeps(sweeps: readonly Sweep[], options: ScheduleOptions): void {
  const periodMs = sweeps[0].schedule.periodMs;
  const other = sweeps.find((sweep) => sweep.schedule.periodMs !== periodMs);
  if (other) throw new Error(`sweep schedules must share one period: ${sweeps[0].schedule.name} fires every ${periodMs} ms, ${other.schedule.name} every ${other.schedule.periodMs} ms`);
  const fire = (at: number): void =>
    options.scheduler.schedule(at, async () => {
      for (const sweep of sweeps) {
        const due = await sweep.due();
        if (due !== undefined && due <= at) await sweep.invoke(at);
      }
      const dues = (await Promise.all(sweeps.map((sweep) => sweep.due()))).filter((due): due is number => due !== undefined);
      const next = firingAtOrAfter(Math.min(...dues, options.scheduler.peek() ?? Number.POSITIVE_INFINITY), at, periodMs);
      if (next <= options.to) fire(next);
    });
  const first = options.from + periodMs;
  if (first <= options.to) fire(first);
}

/** The first firing (at + k periods, k ≥ 1) at or after `wake` (the next one when `wake` has come); never when nothing is left to wake for. */
function firingAtOrAfter(wake: number, at: number, periodMs: number): number {
  if (wake === Number.POSITIVE_INFINITY) return wake;
  return at + Math.max(1, Math.ceil((wake - at) / periodMs)) * periodMs;
}
