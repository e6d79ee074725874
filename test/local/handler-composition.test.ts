import type { BusEvent } from '../../events/bus';
import { EventValidationError } from '../../events/validation';
import { ENV, type GroupPolicy } from '../../handlers/config';
import { HANDLER_NAMES, type HandlerName } from '../../handlers/entries';
import { FaultInjector } from '../../local/faults';
import { composeHandlers, localEnvironment, localValue } from '../../local/handler-composition';
import { buildStandIns, LOCAL_BUCKETS, type StandIns } from '../../local/stand-ins';
import { readWiring, type FunctionWiring, type Wiring } from '../../local/terraform-wiring';
import { synthesizeStack } from '../../cli/commands/backtest';
import { scratchDirs } from '../support/temp-dirs';
import { EMBEDDED_TRAINER } from '../../model/training';

/**
 * The handlers composed for the local runtime (local/handler-composition.ts): configured from the
 * environment the synthesized stack gives each function, with what only AWS resolves replaced by the
 * stand-ins' names.
 */

const tempDir = scratchDirs('handler-composition');
const AT = Date.parse('2012-02-07T20:00:00Z');
const GROUPS = [{ application: 'rails_rails_data', deploymentGroup: 'production', platform: 'Server', mode: 'shadow', threshold: 0.2, failurePolicy: 'fail-open' }] as unknown as GroupPolicy[];
const LOCAL = { groups: GROUPS, customBusName: 'deploy-guard-dev', initialFeaturesUrl: `s3://${LOCAL_BUCKETS.models}/initial/features.json` };

describe('localValue: a Terraform reference only AWS resolves, as a local value of the same form', () => {
  it('an IAM role\'s ARN', () => {
    expect(localValue('${aws_iam_role.training.arn}')).toBe('arn:aws:iam::000000000000:role/training');
  });

  it('another resource\'s ARN, in its service', () => {
    expect(localValue('${aws_sagemaker_model_package_group.models.arn}')).toBe('arn:aws:sagemaker:local:000000000000:models');
    expect(localValue('${aws_sqs_queue.predict_dlq.arn}')).toBe('arn:aws:sqs:local:000000000000:predict-dlq');
  });

  it('any other attribute: the resource\'s name', () => {
    expect(localValue('${aws_dynamodb_table.deployments.name}')).toBe('deployments');
  });
});

describe('localEnvironment: a handler\'s environment as the stack sets it, made local', () => {
  const fn = {
    handler: 'drift',
    environment: { [ENV.namePrefix]: 'deploy-guard-dev', [ENV.eventSource]: '', [ENV.dataBucket]: 'prod-data', [ENV.modelBucket]: 'prod-models', [ENV.retraining]: JSON.stringify({ cooldownHours: 24, sourceDirS3Uri: 's3://prod-models/code/sourcedir.tar.gz' }) },
    unresolvedEnvironment: { [ENV.controlTable]: '${aws_dynamodb_table.control.name}', [ENV.eventBus]: '${aws_cloudwatch_event_bus.guard.arn}' },
  } as unknown as FunctionWiring;
  const wiring = { functions: [fn] } as unknown as Wiring;

  it('keeps the resolved values, resolves the references locally, and names the local bus, buckets and training code', () => {
    const env = localEnvironment(wiring, 'drift', LOCAL);
    expect(env[ENV.namePrefix]).toBe('deploy-guard-dev');
    expect(env[ENV.controlTable]).toBe('control');
    expect(env[ENV.eventBus]).toBe('deploy-guard-dev');
    expect(env[ENV.dataBucket]).toBe(LOCAL_BUCKETS.data);
    expect(env[ENV.modelBucket]).toBe(LOCAL_BUCKETS.models);
    expect(JSON.parse(env[ENV.retraining]!)).toEqual({ cooldownHours: 24, sourceDirS3Uri: `s3://${LOCAL_BUCKETS.models}/code/sourcedir.tar.gz` });
  });

  it('sets the replayed groups only for a function the stack gives groups, and nothing the function is not given', () => {
    expect(localEnvironment(wiring, 'drift', LOCAL)[ENV.groups]).toBeUndefined();
    const predict = { ...fn, handler: 'predict', environment: { [ENV.groups]: '[]' }, unresolvedEnvironment: {} } as unknown as FunctionWiring;
    expect(JSON.parse(localEnvironment({ functions: [predict] } as unknown as Wiring, 'predict', LOCAL)[ENV.groups]!)).toEqual(GROUPS);
  });

  it('gives an unset event source the default', () => {
    expect(localEnvironment(wiring, 'drift', LOCAL)[ENV.eventSource]).toBe('deploy-guard');
  });

  it('refuses a handler the stack has no function for, saying how functions are found', () => {
    expect(() => localEnvironment(wiring, 'promote', LOCAL)).toThrow('the stack has no function for the promote handler (tag deploy-guard-handler = promote)');
  });
});

describe('composeHandlers on the synthesized dev stack', () => {
  let wiring: Wiring;
  let standIns: StandIns;
  const notAnEvent = { detail: 'not an event' } as unknown as BusEvent;

  beforeAll(async () => {
    wiring = readWiring(synthesizeStack(undefined, 'dev'));
    standIns = await buildStandIns({ start: AT, region: 'us-east-1', customBusName: LOCAL.customBusName, alarms: [], store: 'memory', trainer: EMBEDDED_TRAINER, trainingDir: tempDir(), trainingMs: 1_800_000, log: () => undefined });
  });
  afterAll(() => standIns.close());

  it('composes every handler, under the stack\'s event source', () => {
    const composed = composeHandlers(wiring, standIns, LOCAL);
    expect(Object.keys(composed.handlers).sort()).toEqual([...HANDLER_NAMES].sort());
    expect(composed.source).toBe('deploy-guard');
    expect(composed.driftDecisions).toEqual([]);
  });

  it('rejects a malformed event with an EventValidationError (what Lambda delivery dead-letters without retrying)', async () => {
    const { handlers } = composeHandlers(wiring, standIns, LOCAL);
    await expect(handlers['record-outcome'](notAnEvent)).rejects.toBeInstanceOf(EventValidationError);
  });

  it('reports every invocation to onInvocation, with the handler\'s name, a wall time and the event, even one that fails', async () => {
    const seen: [HandlerName, number, BusEvent][] = [];
    const { handlers } = composeHandlers(wiring, standIns, LOCAL, { onInvocation: (name, wallMs, event) => seen.push([name, wallMs, event]) });
    await handlers.drift(notAnEvent).catch(() => undefined);
    expect(seen).toHaveLength(1);
    expect(seen[0][0]).toBe('drift');
    expect(seen[0][1]).toBeGreaterThanOrEqual(0);
    expect(seen[0][2]).toBe(notAnEvent);
  });

  it('with faults, runs each invocation as one Lambda invocation of the injector (the same failure as without)', async () => {
    const faults = new FaultInjector({ seed: 1, crashRate: 1 });
    const { handlers } = composeHandlers(wiring, standIns, LOCAL, { faults });
    await expect(handlers.predict(notAnEvent)).rejects.toBeInstanceOf(EventValidationError);
  });
});
