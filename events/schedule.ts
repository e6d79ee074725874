import { createHash } from 'node:crypto';
import { EVENTBRIDGE_SOURCE, SCHEDULE_RULE_ARN, SCHEDULED_EVENT, type ScheduledEvent } from './aws';
import { eventBridgeTime } from './clock';
import { parseAwsEvent } from './parse';

/**
 * EventBridge schedules: the rate expressions of schedule rules, written and read by one set of rules
 * (the stacks write them, the local runtime reads them back from the synthesized stack), and the
 * Scheduled Event a schedule rule sends its targets each time it fires.
 */

/** The units of a rate expression, in milliseconds. */
export const RATE_UNITS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type RateUnit = keyof typeof RATE_UNITS;

/** `rate(value unit)`: AWS wants the unit singular for 1 (`rate(1 day)`) and plural otherwise (`rate(5 days)`). */
export function rateExpression(value: number, unit: RateUnit): string {
  if (!Number.isInteger(value) || value < 1) throw new Error(`a rate expression needs a whole number of ${unit}s of at least 1, got ${value}`);
  return `rate(${value} ${unit}${value === 1 ? '' : 's'})`;
}

/**
 * The period of a rate expression, in milliseconds. The error says what EventBridge would refuse
 * (`rate(1 days)`, `rate(5 hour)`, `rate(0 minutes)`), and that a cron expression has no fixed period.
 */
export function ratePeriodMs(expression: string): number {
  if (/^cron\(.*\)$/s.test(expression)) {
    throw new Error(`'${expression}' is a cron expression: it fires at calendar times, not at a fixed period (only rate(...) has one)`);
  }
  const rate = /^rate\(([1-9]\d*) (minute|hour|day)(s?)\)$/.exec(expression);
  if (!rate) {
    throw new Error(`'${expression}' is not a schedule expression EventBridge accepts: expected rate(value unit) with a positive whole value and a unit of minute(s), hour(s) or day(s), such as rate(180 days)`);
  }
  const value = Number(rate[1]);
  const plural = rate[3] === 's';
  if (plural !== (value !== 1)) {
    throw new Error(`'${expression}' is not a rate expression EventBridge accepts: the unit is singular for 1 and plural otherwise (rate(1 ${rate[2]}), rate(${value === 1 ? 5 : value} ${rate[2]}s))`);
  }
  return value * RATE_UNITS[rate[2] as RateUnit];
}

/** The name of a rule from its ARN (`arn:aws:events:<region>:<account>:rule/<name>`, a rule of the default bus). */
export function scheduleRuleName(ruleArn: string): string {
  if (!SCHEDULE_RULE_ARN.test(ruleArn)) throw new Error(`'${ruleArn}' is not the ARN of a rule on the default event bus (arn:aws:events:<region>:<account>:rule/<name>)`);
  return ruleArn.slice(ruleArn.lastIndexOf('/') + 1);
}

/**
 * The Scheduled Event a schedule rule sends when it fires at `at` (milliseconds; EventBridge writes
 * the time to the second), as its targets receive it: validated with the schema of events/aws.ts.
 * The id is derived from the rule and the time, so a replay that fires the same schedule at the same
 * time sends the same event (EventBridge keeps id and time on a redelivery too). `account` and
 * `region` are the rule's (EventBridge sends its own account and region).
 */
export function scheduledEvent(rule: { readonly arn: string }, at: number, account: string, region: string): ScheduledEvent {
  const time = eventBridgeTime(at);
  const hash = createHash('sha256').update(`${rule.arn}\n${time}`).digest('hex');
  const id = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-${hash.slice(12, 16)}-${hash.slice(16, 20)}-${hash.slice(20, 32)}`;
  return parseAwsEvent(SCHEDULED_EVENT, {
    version: '0',
    id,
    'detail-type': SCHEDULED_EVENT,
    source: EVENTBRIDGE_SOURCE,
    account,
    time,
    region,
    resources: [rule.arn],
    detail: {},
  });
}
