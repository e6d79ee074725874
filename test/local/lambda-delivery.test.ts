import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { EventValidationError } from '../../events/validation';
import type { HandlerName } from '../../handlers/entries';
import { FaultInjector } from '../../local/faults';
import type { LocalHandlers } from '../../local/handler-composition';
import { asyncInvoke, drainBuses, wireRules, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import { localBuses } from '../../local/stand-ins';
import type { FunctionWiring, RuleWiring, Wiring } from '../../local/terraform-wiring';

/**
 * Lambda's asynchronous delivery on the local buses (local/lambda-delivery.ts): what the stack's rule
 * targets do with an event, as Lambda's asynchronous Invoke would.
 */

const AT = Date.parse('2021-05-17T21:34:33Z');
const SAMPLE = join(__dirname, '../../events/samples/codedeploy-deployment-state-change.failure.json');
const failure = (): BusEvent => JSON.parse(readFileSync(SAMPLE, 'utf8')) as BusEvent;
const RULE = 'deploy-guard-dev-deployment-outcome';

/** A handler that fails its first `failures` invocations, then succeeds; it counts them. */
function flaky(failures: number, error: () => Error = () => new Error('DynamoDB ProvisionedThroughputExceededException')) {
  const calls: BusEvent[] = [];
  const run = async (event: BusEvent) => {
    calls.push(event);
    if (calls.length <= failures) throw error();
  };
  return { run, calls };
}

const invalid = () => new EventValidationError('CodeDeploy Deployment State-change Notification', [{ path: 'detail.state', message: 'Invalid enum value' }]);

describe('asyncInvoke: one asynchronous Invoke of a function', () => {
  const clock = new ManualClock(AT);

  it('retries a failing handler maximumRetryAttempts times, then dead-letters the event with the last error', async () => {
    const handler = flaky(Infinity);
    const deadLetters: DeadLetterWithEvent[] = [];
    await asyncInvoke({ rule: RULE, handler: 'record-outcome', run: handler.run, maximumRetryAttempts: 2, clock, deadLetters })(failure());
    expect(handler.calls).toHaveLength(3);
    expect(deadLetters).toEqual([{ at: AT, rule: RULE, target: 'record-outcome', reason: 'Error: DynamoDB ProvisionedThroughputExceededException', event: failure() }]);
  });

  it('stops retrying as soon as an attempt succeeds: no dead letter', async () => {
    const handler = flaky(2);
    const deadLetters: DeadLetterWithEvent[] = [];
    await asyncInvoke({ rule: RULE, handler: 'record-outcome', run: handler.run, maximumRetryAttempts: 2, clock, deadLetters })(failure());
    expect(handler.calls).toHaveLength(3);
    expect(deadLetters).toEqual([]);
  });

  it('honours the function\'s own maximumRetryAttempts (0: a single attempt)', async () => {
    const handler = flaky(1);
    const deadLetters: DeadLetterWithEvent[] = [];
    await asyncInvoke({ rule: RULE, handler: 'record-outcome', run: handler.run, maximumRetryAttempts: 0, clock, deadLetters })(failure());
    expect(handler.calls).toHaveLength(1);
    expect(deadLetters).toHaveLength(1);
  });

  it('dead-letters a poison event (EventValidationError) after one attempt, without retrying', async () => {
    const handler = flaky(Infinity, invalid);
    const deadLetters: DeadLetterWithEvent[] = [];
    await asyncInvoke({ rule: RULE, handler: 'record-outcome', run: handler.run, maximumRetryAttempts: 2, clock, deadLetters })(failure());
    expect(handler.calls).toHaveLength(1);
    expect(deadLetters.map((letter) => letter.reason)).toEqual(['EventValidationError: Invalid CodeDeploy Deployment State-change Notification event: detail.state: Invalid enum value']);
  });
});

/** A stack with one rule on the default bus matching CodeDeploy failures, targeting record-outcome and an SNS topic. */
function stackWiring(options: { readonly maximumRetryAttempts?: number; readonly enabled?: boolean } = {}): Pick<Wiring, 'rules' | 'functions'> {
  const rule = {
    address: 'aws_cloudwatch_event_rule.outcome',
    name: RULE,
    eventBusName: 'default',
    eventPattern: { source: ['aws.codedeploy'], 'detail-type': ['CodeDeploy Deployment State-change Notification'], detail: { state: ['SUCCESS', 'FAILURE'] } },
    enabled: options.enabled ?? true,
    targets: [
      { address: 'aws_cloudwatch_event_target.outcome', targetId: 'record-outcome', arn: 'arn:aws:lambda:local:000000000000:function:record-outcome', resource: null, handler: 'record-outcome', retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 }, deadLetterQueue: null },
      { address: 'aws_cloudwatch_event_target.notify', targetId: 'notify', arn: 'arn:aws:sns:local:000000000000:notify', resource: null, handler: null, retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 }, deadLetterQueue: null },
    ],
  } as unknown as RuleWiring;
  const fn = {
    handler: 'record-outcome',
    functionName: 'deploy-guard-dev-record-outcome',
    asyncInvoke: { maximumRetryAttempts: options.maximumRetryAttempts ?? 1, maximumEventAgeInSeconds: 3600, onFailureDestination: null },
  } as unknown as FunctionWiring;
  return { rules: [rule], functions: [fn] };
}

function handlersWith(name: HandlerName, run: (event: BusEvent) => Promise<unknown>): LocalHandlers {
  const unexpected = async () => {
    throw new Error('not delivered to this handler');
  };
  return { predict: unexpected, 'traffic-hook': unexpected, rollback: unexpected, 'record-change': unexpected, 'record-outcome': unexpected, drift: unexpected, promote: unexpected, notify: unexpected, bake: unexpected, 'pipeline-gate': unexpected, [name]: run };
}

describe('wireRules: the stack\'s rules and targets on the local buses', () => {
  it('delivers a matching event to the target\'s handler when the buses are drained', async () => {
    const clock = new ManualClock(AT);
    const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock });
    const handler = flaky(0);
    wireRules(stackWiring(), buses, handlersWith('record-outcome', handler.run), { clock, deadLetters: [] });
    buses.default.publishAwsEvent(failure());
    expect(handler.calls).toHaveLength(0);
    await drainBuses(buses);
    expect(handler.calls.map((event) => event.detail)).toEqual([failure().detail]);
  });

  it('retries per the function\'s asyncInvoke.maximumRetryAttempts, not the rule target\'s retry policy, then dead-letters', async () => {
    const clock = new ManualClock(AT);
    const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock });
    const handler = flaky(Infinity);
    const deadLetters: DeadLetterWithEvent[] = [];
    wireRules(stackWiring({ maximumRetryAttempts: 1 }), buses, handlersWith('record-outcome', handler.run), { clock, deadLetters });
    buses.default.publishAwsEvent(failure());
    await drainBuses(buses);
    expect(handler.calls).toHaveLength(2);
    expect(deadLetters.map(({ rule, target }) => ({ rule, target }))).toEqual([{ rule: RULE, target: 'record-outcome' }]);
  });

  it('wires no disabled rule', async () => {
    const clock = new ManualClock(AT);
    const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock });
    const handler = flaky(0);
    wireRules(stackWiring({ enabled: false }), buses, handlersWith('record-outcome', handler.run), { clock, deadLetters: [] });
    buses.default.publishAwsEvent(failure());
    await drainBuses(buses);
    expect(handler.calls).toHaveLength(0);
  });

  it('with fault injection, queues each delivery in the function\'s queue; drainBuses runs the queue too', async () => {
    const clock = new ManualClock(AT);
    const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock });
    const handler = flaky(0);
    const faults = new FaultInjector({ seed: 7, duplicateDelivery: true });
    wireRules(stackWiring(), buses, handlersWith('record-outcome', handler.run), { clock, deadLetters: [], faults });
    buses.default.publishAwsEvent(failure());
    await buses.default.drain();
    expect(handler.calls).toHaveLength(0);
    await drainBuses(buses, faults);
    expect(handler.calls.length).toBeGreaterThanOrEqual(2);
    expect(faults.pendingCount).toBe(0);
  });
});
