import {
  DeadLetterQueue,
  LocalEventBus,
  MAX_PUT_EVENTS_SIZE,
  NonRetryableTargetError,
  PutEventsRequestError,
  putEventsEntrySize,
  validateRetryPolicy,
  type BusEvent,
} from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS } from '../../events/emitted';
import { ruleNamed, SYSTEM_RULES } from '../../events/patterns';
import { derivedDeploymentEvent } from '../../events/samples';

const T0 = Date.parse('2026-11-20T09:00:00Z');

function newBus(options: { autoDeliver?: boolean } = {}) {
  const clock = new ManualClock(T0);
  let counter = 0;
  const bus = new LocalEventBus({
    name: 'deploy-guard',
    clock,
    newId: () => `event-${++counter}`,
    random: () => 0.5,
    autoDeliver: options.autoDeliver ?? false,
  });
  return { bus, clock };
}

const rollbackRequested = () =>
  buildEntry('Deployment Rollback Requested', EMITTED_EVENTS['Deployment Rollback Requested'].example, {
    source: 'deploy-guard',
    eventBusName: 'deploy-guard',
  });

const rollbackRule = ruleNamed(SYSTEM_RULES, 'rollback-requested');

describe('LocalEventBus delivery', () => {
  it('delivers an event to every target of every matching rule, as EventBridge builds it', async () => {
    const { bus } = newBus();
    const received: BusEvent[] = [];
    bus.putRule({ name: rollbackRule.name, pattern: rollbackRule.pattern, targets: [{ id: 'rollback', invoke: (event) => void received.push(event) }] });
    bus.putRule({ name: 'others', pattern: { source: ['somebody-else'] }, targets: [{ id: 'x', invoke: () => { throw new Error('must not be called'); } }] });
    const result = bus.putEvents([rollbackRequested()]);
    expect(result).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    expect(received).toHaveLength(0); // asynchronous: nothing until delivery runs
    await bus.drain();
    expect(received).toEqual([
      {
        version: '0',
        id: 'event-1',
        'detail-type': 'Deployment Rollback Requested',
        source: 'deploy-guard',
        account: '123456789012',
        time: '2026-11-20T09:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: EMITTED_EVENTS['Deployment Rollback Requested'].example,
      },
    ]);
    expect(bus.stats).toMatchObject({ accepted: 1, deliveries: 1, failedAttempts: 0 });
  });

  it('delivers on its own when autoDeliver is on', async () => {
    const clock = new ManualClock(T0);
    const bus = new LocalEventBus({ name: 'deploy-guard', clock });
    const received = new Promise<BusEvent>((resolve) => {
      bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke: resolve }] });
    });
    bus.putEvents([rollbackRequested()]);
    await expect(received).resolves.toMatchObject({ 'detail-type': 'Deployment Rollback Requested' });
  });

  it('delivers events that targets put while handling others', async () => {
    const { bus } = newBus();
    const order: string[] = [];
    bus.putRule({
      name: 'first',
      pattern: { source: ['deploy-guard'], 'detail-type': ['Deployment Rollback Requested'] },
      targets: [{ id: 'a', invoke: () => { order.push('requested'); bus.putEvents([buildEntry('Deployment Rollback Completed', EMITTED_EVENTS['Deployment Rollback Completed'].example, { source: 'deploy-guard', eventBusName: 'deploy-guard' })]); } }],
    });
    bus.putRule({ name: 'second', pattern: { 'detail-type': ['Deployment Rollback Completed'] }, targets: [{ id: 'b', invoke: () => void order.push('completed') }] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(order).toEqual(['requested', 'completed']);
  });

  it('ignores disabled rules', async () => {
    const { bus } = newBus();
    const invoke = jest.fn();
    bus.putRule({ name: 'off', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke }], state: 'DISABLED' });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(invoke).not.toHaveBeenCalled();
  });

  it('rejects an invalid rule pattern when the rule is put, not when events arrive', () => {
    const { bus } = newBus();
    expect(() => bus.putRule({ name: 'bad', pattern: { source: 'not-an-array' }, targets: [] })).toThrow();
    expect(() => bus.putRule({ name: 'dup', pattern: rollbackRule.pattern, targets: [{ id: 'a', invoke: () => 0 }, { id: 'a', invoke: () => 0 }] })).toThrow("two targets with id 'a'");
  });
});

describe('LocalEventBus retries and dead letters', () => {
  it('retries a failing target with backoff until it succeeds', async () => {
    const { bus, clock } = newBus();
    const attemptsAt: number[] = [];
    bus.putRule({
      name: 'r',
      pattern: rollbackRule.pattern,
      targets: [{ id: 't', invoke: () => { attemptsAt.push(clock.now()); if (attemptsAt.length < 3) throw new Error('busy'); } }],
    });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    // delays of 1 s then 2 s, each times the jitter factor 0.75 (random() = 0.5)
    expect(attemptsAt.map((time) => time - T0)).toEqual([0, 750, 750 + 1500]);
    expect(bus.stats).toMatchObject({ deliveries: 1, failedAttempts: 2, deadLettered: 0 });
  });

  it('dead-letters an event after its maximum retry attempts, with the reason EventBridge gives', async () => {
    const { bus } = newBus();
    const dlq = new DeadLetterQueue('rollback-dlq');
    const invoke = jest.fn(() => { throw Object.assign(new Error('endpoint timed out'), { code: 'TimeoutError' }); });
    bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke, retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 }, deadLetterQueue: dlq }] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(invoke).toHaveBeenCalledTimes(3);
    expect(dlq.messages).toEqual([
      expect.objectContaining({
        ruleName: 'r',
        targetId: 't',
        errorCode: 'TimeoutError',
        errorMessage: 'endpoint timed out',
        exhaustedRetryCondition: 'MaximumRetryAttempts',
        retryAttempts: 2,
        event: expect.objectContaining({ id: 'event-1' }),
      }),
    ]);
  });

  it('dead-letters an event that grew older than its maximum age', async () => {
    const { bus, clock } = newBus();
    const dlq = new DeadLetterQueue('dlq');
    const invoke = jest.fn(() => { clock.advanceBy(30_000); throw new Error('slow'); });
    bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke, retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 60 }, deadLetterQueue: dlq }] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(invoke).toHaveBeenCalledTimes(2);
    expect(dlq.messages[0].exhaustedRetryCondition).toBe('MaximumEventAgeInSeconds');
  });

  it('does not retry an error EventBridge would not retry', async () => {
    const { bus } = newBus();
    const dlq = new DeadLetterQueue('dlq');
    const invoke = jest.fn(() => { throw new NonRetryableTargetError('no permission', 'AccessDeniedException'); });
    bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke, deadLetterQueue: dlq }] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(dlq.messages[0]).toMatchObject({ errorCode: 'AccessDeniedException', exhaustedRetryCondition: 'NotRetryable', retryAttempts: 0 });
  });

  it('counts an event whose retries ran out on a target without a dead-letter queue: never lost silently', async () => {
    const { bus } = newBus();
    bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke: () => { throw new Error('x'); }, retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 } }] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(bus.stats).toMatchObject({ dropped: 1, deadLettered: 0 });
  });

  it('keeps one failing target from holding back the others', async () => {
    const { bus } = newBus();
    const good = jest.fn();
    bus.putRule({ name: 'r', pattern: rollbackRule.pattern, targets: [
      { id: 'bad', invoke: () => { throw new Error('x'); }, retryPolicy: { maximumRetryAttempts: 1, maximumEventAgeInSeconds: 60 }, deadLetterQueue: new DeadLetterQueue('d') },
      { id: 'good', invoke: good },
    ] });
    bus.putEvents([rollbackRequested()]);
    await bus.drain();
    expect(good).toHaveBeenCalledTimes(1);
  });

  it.each([
    [{ maximumRetryAttempts: 186, maximumEventAgeInSeconds: 60 }, 'maximumRetryAttempts must be an integer from 0 to 185, got 186'],
    [{ maximumRetryAttempts: 3, maximumEventAgeInSeconds: 59 }, 'maximumEventAgeInSeconds must be an integer from 60 to 86400, got 59'],
  ])('rejects the retry policy %j', (policy, message) => {
    expect(() => validateRetryPolicy(policy)).toThrow(message);
  });
});

describe('LocalEventBus PutEvents validation', () => {
  const good = () => rollbackRequested();

  it('answers per entry: good entries go through, bad ones get an error code and count as failed', async () => {
    const { bus } = newBus();
    const invoke = jest.fn();
    bus.putRule({ name: 'r', pattern: { source: ['deploy-guard'] }, targets: [{ id: 't', invoke }] });
    const result = bus.putEvents([
      good(),
      { ...good(), Source: undefined },
      { ...good(), DetailType: '' },
      { ...good(), Detail: '[1, 2]' },
      { ...good(), Detail: '{not json' },
      { ...good(), Source: 'aws.codedeploy' },
      { ...good(), EventBusName: 'no-such-bus' },
      { ...good(), Time: new Date('nonsense') },
      good(),
    ]);
    expect(result.FailedEntryCount).toBe(7);
    expect(result.Entries).toEqual([
      { EventId: 'event-1' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus no-such-bus does not exist.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' },
      { EventId: 'event-2' },
    ]);
    await bus.drain();
    expect(invoke).toHaveBeenCalledTimes(2);
  });

  it('accepts the bus by name or by ARN, and uses the entry\'s Time', () => {
    const { bus } = newBus();
    const seen: BusEvent[] = [];
    bus.onEvent((event) => seen.push(event));
    bus.putEvents([{ ...good(), EventBusName: bus.arn, Time: new Date('2020-01-02T03:04:05.678Z') }]);
    expect(seen[0].time).toBe('2020-01-02T03:04:05Z');
  });

  it('refuses a whole request with no entries, more than 10, or over 256 KB in all', () => {
    const { bus } = newBus();
    expect(() => bus.putEvents([])).toThrow(PutEventsRequestError);
    expect(() => bus.putEvents(Array.from({ length: 11 }, good))).toThrow('Member must have length between 1 and 10 (got 11)');
    const big = { ...good(), Detail: JSON.stringify({ padding: 'x'.repeat(MAX_PUT_EVENTS_SIZE) }) };
    expect(() => bus.putEvents([big])).toThrow('Total size of the entries in the request is over the limit');
    expect(bus.stats.accepted).toBe(0);
  });

  it('counts entry size as EventBridge does: UTF-8 bytes of source, detail-type, detail, resources, and 14 for a time', () => {
    expect(putEventsEntrySize({ Source: 'ab', DetailType: 'é', Detail: '{}', Resources: ['r1'] })).toBe(2 + 2 + 2 + 2);
    expect(putEventsEntrySize({ Source: 'ab', DetailType: 'c', Detail: '{}', Time: new Date() })).toBe(14 + 2 + 1 + 2);
  });
});

describe('LocalEventBus AWS service events', () => {
  it('routes an event published by an AWS stand-in on the default bus', async () => {
    const bus = new LocalEventBus({ clock: new ManualClock(T0), autoDeliver: false });
    const started = ruleNamed(SYSTEM_RULES, 'deployment-started');
    const invoke = jest.fn();
    bus.putRule({ name: started.name, pattern: started.pattern, targets: [{ id: 'predict', invoke }] });
    bus.publishAwsEvent(derivedDeploymentEvent('START').event as BusEvent);
    bus.publishAwsEvent(derivedDeploymentEvent('SUCCESS').event as BusEvent);
    await bus.drain();
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0][0]).toMatchObject({ detail: { state: 'START' } });
    expect(() => newBus().bus.publishAwsEvent(derivedDeploymentEvent('START').event as BusEvent)).toThrow('default bus');
  });
});

describe('LocalEventBus archive and replay', () => {
  it('replays the archived events of a time range, in time order, marked with the replay name', async () => {
    const { bus, clock } = newBus();
    bus.createArchive({ name: 'all' });
    const times = ['2026-11-20T09:00:00Z', '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z'];
    for (const time of times) {
      clock.advanceTo(time);
      bus.putEvents([rollbackRequested()]);
    }
    await bus.drain();
    expect(bus.archivedEvents('all').map((event) => event.time)).toEqual(times);

    const replayed: BusEvent[] = [];
    bus.putRule({ name: 'late', pattern: rollbackRule.pattern, targets: [{ id: 't', invoke: (event) => void replayed.push(event) }] });
    const answer = bus.startReplay({ name: 'fix-1', archiveName: 'all', from: '2026-11-20T09:30:00Z', to: '2026-11-20T11:00:00Z' });
    await bus.drain();
    expect(answer).toEqual({ eventsReplayed: 1 });
    expect(replayed.map((event) => [event.time, event['replay-name']])).toEqual([['2026-11-20T10:00:00Z', 'fix-1']]);
    expect(bus.archivedEvents('all')).toHaveLength(3); // replays are not archived again
  });

  it('archives only what matches its pattern, keeps events for its retention, and replays to chosen rules only', async () => {
    const { bus, clock } = newBus();
    bus.createArchive({ name: 'rollbacks', pattern: rollbackRule.pattern, retentionDays: 1 });
    bus.putEvents([rollbackRequested(), buildEntry('Model Rejected', EMITTED_EVENTS['Model Rejected'].example, { source: 'deploy-guard', eventBusName: 'deploy-guard' })]);
    expect(bus.archivedEvents('rollbacks')).toHaveLength(1);
    clock.advanceBy(2 * 86_400_000);
    bus.putEvents([rollbackRequested()]);
    expect(bus.archivedEvents('rollbacks')).toHaveLength(1); // the first one expired

    const a = jest.fn();
    const b = jest.fn();
    bus.putRule({ name: 'a', pattern: rollbackRule.pattern, targets: [{ id: 'a', invoke: a }] });
    bus.putRule({ name: 'b', pattern: rollbackRule.pattern, targets: [{ id: 'b', invoke: b }] });
    await bus.drain();
    a.mockClear();
    b.mockClear();
    bus.startReplay({ name: 'only-a', archiveName: 'rollbacks', from: 0, to: clock.now() + 1, ruleNames: ['a'] });
    await bus.drain();
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).not.toHaveBeenCalled();
  });

  it('says what is wrong with a replay request', () => {
    const { bus } = newBus();
    bus.createArchive({ name: 'x' });
    expect(() => bus.startReplay({ name: 'r', archiveName: 'nope', from: 0, to: 1 })).toThrow("no archive 'nope'");
    expect(() => bus.startReplay({ name: 'r', archiveName: 'x', from: 5, to: 1 })).toThrow("'from' must be before 'to'");
    expect(() => bus.startReplay({ name: 'r', archiveName: 'x', from: 0, to: 1, ruleNames: ['ghost'] })).toThrow("no rule 'ghost'");
    expect(() => bus.createArchive({ name: 'x' })).toThrow("archive 'x' already exists");
  });
});
