import { SCHEDULED_EVENT } from '../../events/aws';
import { parseAwsEvent, parseKnownEvent } from '../../events/parse';
import { RETRAINING_SCHEDULE_RULE, retrainingScheduleRule } from '../../events/patterns';
import { derivedOwnScheduledEvent, sample } from '../../events/samples';
import { ratePeriodMs, rateExpression, scheduledEvent, scheduleRuleName } from '../../events/schedule';
import { EventValidationError } from '../../events/validation';

const DAY = 86_400_000;
const RULE_ARN = 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-retraining-schedule';

describe('EventBridge rate expressions (events/schedule.ts)', () => {
  it('are written as AWS wants them: singular for 1, plural otherwise', () => {
    expect(rateExpression(1, 'day')).toBe('rate(1 day)');
    expect(rateExpression(180, 'day')).toBe('rate(180 days)');
    expect(rateExpression(5, 'minute')).toBe('rate(5 minutes)');
    expect(() => rateExpression(0, 'day')).toThrow('a rate expression needs a whole number of days of at least 1, got 0');
    expect(() => rateExpression(1.5, 'hour')).toThrow('got 1.5');
  });

  it('read back to their period in milliseconds', () => {
    expect(ratePeriodMs('rate(180 days)')).toBe(180 * DAY);
    expect(ratePeriodMs('rate(1 day)')).toBe(DAY);
    expect(ratePeriodMs('rate(1 hour)')).toBe(3_600_000);
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
  });

  it.each([
    ['rate(1 days)', 'the unit is singular for 1 and plural otherwise (rate(1 day), rate(5 days))'],
    ['rate(5 hour)', 'the unit is singular for 1 and plural otherwise (rate(1 hour), rate(5 hours))'],
    ['rate(0 minutes)', 'expected rate(value unit) with a positive whole value'],
    ['rate(2 weeks)', 'a unit of minute(s), hour(s) or day(s)'],
    ['cron(0 12 * * ? *)', 'is a cron expression: it fires at calendar times, not at a fixed period'],
  ])('refuse %s, saying why', (expression, message) => {
    expect(() => ratePeriodMs(expression)).toThrow(message);
  });

  it('the retraining schedule of events/patterns.ts is one: rate(N days) into drift, on the default bus', () => {
    expect(retrainingScheduleRule(180)).toEqual({
      name: RETRAINING_SCHEDULE_RULE,
      description: 'Every 180 days: retrain on the recent labelled rows, alarm or not.',
      bus: 'default',
      target: 'drift',
      consumes: [SCHEDULED_EVENT],
      scheduleExpression: 'rate(180 days)',
      periodDays: 180,
    });
    expect(ratePeriodMs(retrainingScheduleRule(1).scheduleExpression)).toBe(DAY);
  });
});

describe('the Scheduled Event (events/aws.ts), from the real sample', () => {
  it('the sample of the EventBridge user guide validates: source aws.events, empty detail, the rule as its one resource', () => {
    const event = parseAwsEvent(SCHEDULED_EVENT, sample('eventbridge-scheduled-event.json').event);
    expect(event).toMatchObject({ source: 'aws.events', detail: {}, resources: ['arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule'] });
    expect(parseKnownEvent(sample('eventbridge-scheduled-event.json').event).kind).toBe(SCHEDULED_EVENT);
  });

  it.each([
    ['no resource', { resources: [] }, 'resources: expected exactly one resource: the rule that fired'],
    ['a resource that is not a rule', { resources: ['arn:aws:lambda:us-east-1:123456789012:function:f'] }, 'resources[0]: expected the ARN of the EventBridge rule that fired'],
    ['another source', { source: 'aws.scheduler' }, 'source'],
    ['no detail', { detail: undefined }, 'detail'],
  ])('%s is rejected, naming the path', (_case, change, message) => {
    const event = { ...sample('eventbridge-scheduled-event.json').event, ...change };
    expect(() => parseAwsEvent(SCHEDULED_EVENT, event)).toThrow(EventValidationError);
    expect(() => parseAwsEvent(SCHEDULED_EVENT, event)).toThrow(message);
  });

  it("derived as Deploy Guard's schedule sends it: only the rule changes", () => {
    const own = derivedOwnScheduledEvent('deploy-guard-dev');
    expect(own.ruleArn).toBe(RULE_ARN);
    expect(own.event).toEqual({ ...sample('eventbridge-scheduled-event.json').event, resources: [RULE_ARN] });
    expect(own.derived).toBe(`resources → [${RULE_ARN}]`);
  });
});

describe('scheduledEvent(rule, at, account, region): what a schedule rule sends when it fires', () => {
  it('has the shape of the real sample, the time to the second, and an id derived from the rule and the time', () => {
    const event = scheduledEvent({ arn: RULE_ARN }, Date.parse('2015-10-08T16:53:06.789Z'), '123456789012', 'us-east-1');
    const { id } = event;
    expect(event).toEqual({ ...sample('eventbridge-scheduled-event.json').event, resources: [RULE_ARN], id });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(scheduledEvent({ arn: RULE_ARN }, Date.parse('2015-10-08T16:53:06Z'), '123456789012', 'us-east-1').id).toBe(id);
    expect(scheduledEvent({ arn: RULE_ARN }, Date.parse('2015-10-08T16:53:07Z'), '123456789012', 'us-east-1').id).not.toBe(id);
  });

  it('refuses a rule ARN that is not one', () => {
    expect(() => scheduledEvent({ arn: 'deploy-guard-dev-retraining-schedule' }, 0, '123456789012', 'us-east-1')).toThrow('resources[0]: expected the ARN of the EventBridge rule that fired');
    expect(scheduleRuleName(RULE_ARN)).toBe('deploy-guard-dev-retraining-schedule');
    expect(() => scheduleRuleName('arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev/x')).toThrow('is not the ARN of a rule on the default event bus');
  });
});
