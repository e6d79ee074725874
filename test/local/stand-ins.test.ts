import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { PublishError } from '../../handlers/adapters/event-publisher';
import { InMemoryDeploymentStore } from '../../handlers/adapters/in-memory-stores';
import { alarmPeriodMs, buildStandIns, localBuses, LocalPublisher, modelQualityAlarms, openStores } from '../../local/stand-ins';
import type { AlarmWiring } from '../../local/terraform-wiring';
import { scratchDirs } from '../support/temp-dirs';
import { EMBEDDED_TRAINER } from '../../model/training';

/** The local stand-ins and stores a backtest runs on (local/stand-ins.ts). */

const tempDir = scratchDirs('stand-ins');
const AT = Date.parse('2012-02-07T20:00:00Z');

const entry = (eventBusName: string | undefined) => ({ Source: 'deploy-guard', DetailType: 'Deployment Rollback Requested', Detail: JSON.stringify({ deploymentId: 'd-1' }), ...(eventBusName === undefined ? {} : { EventBusName: eventBusName }) });

function busesWithTaps() {
  const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock: new ManualClock(AT) });
  const seen: string[] = [];
  buses.default.onEvent((event) => seen.push(`default ${event.id}`));
  buses.custom.onEvent((event) => seen.push(`custom ${event.id}`));
  return { buses, seen };
}

describe('the local buses', () => {
  it('number the events of both buses in one sequence, so that events.jsonl is the same on every run', () => {
    const { buses, seen } = busesWithTaps();
    const publisher = new LocalPublisher(buses.default, buses.custom);
    publisher.publishNow(entry('deploy-guard-dev'), entry('default'), entry('deploy-guard-dev'));
    expect(seen).toEqual(['custom local-00000001', 'default local-00000002', 'custom local-00000003']);
  });
});

describe('LocalPublisher: the handlers\' EventPublisher on the local buses', () => {
  it('puts an entry on the bus it names, by name or ARN; no name is the default bus', async () => {
    const { buses, seen } = busesWithTaps();
    const publisher = new LocalPublisher(buses.default, buses.custom);
    await publisher.publish([entry('arn:aws:events:us-east-1:000000000000:event-bus/deploy-guard-dev'), entry(undefined)]);
    expect(seen.map((line) => line.split(' ')[0])).toEqual(['custom', 'default']);
  });

  it('refuses a bus that does not exist, naming it', () => {
    const { buses } = busesWithTaps();
    expect(() => new LocalPublisher(buses.default, buses.custom).publishNow(entry('deploy-guard-prod'))).toThrow("local EventBridge: event bus 'deploy-guard-prod' does not exist");
  });

  it('throws a PublishError naming the entries the bus refused (PutEvents partial failure)', () => {
    const { buses } = busesWithTaps();
    const refused = { Source: 'deploy-guard', DetailType: 'Deployment Rollback Requested', Detail: 'not json', EventBusName: 'deploy-guard-dev' };
    expect(() => new LocalPublisher(buses.default, buses.custom).publishNow(refused)).toThrow(PublishError);
  });
});

describe('openStores', () => {
  it('memory: the in-process stores, nothing to close', async () => {
    const { stores, close } = await openStores('memory');
    expect(stores.deployments).toBeInstanceOf(InMemoryDeploymentStore);
    await expect(close()).resolves.toBeUndefined();
  });
});

describe('buildStandIns', () => {
  it('writes every observed row to the data lake, the warm-up deployments\' included (retraining learns from all of them)', async () => {
    const standIns = await buildStandIns({ start: AT, region: 'us-east-1', customBusName: 'deploy-guard-dev', alarms: [], store: 'memory', trainer: EMBEDDED_TRAINER, trainingDir: tempDir(), trainingMs: 1_800_000, log: () => undefined });
    const written: string[] = [];
    const putRow = standIns.objects.putRow.bind(standIns.objects);
    standIns.objects.putRow = async (row) => {
      written.push(row.deploymentId);
      return putRow(row);
    };
    standIns.warmUpIds.add('d-warm');
    const row = (deploymentId: string) => ({ deploymentId }) as Parameters<typeof standIns.lake.putRow>[0];
    await standIns.lake.putRow(row('d-warm')).catch(() => undefined);
    await standIns.lake.putRow(row('d-reported')).catch(() => undefined);
    expect(written).toEqual(['d-warm', 'd-reported']);
    expect(standIns.clock.now()).toBe(AT);
    await standIns.close();
  });

  it('emits the CodeDeploy stand-in\'s events on the default bus', async () => {
    const standIns = await buildStandIns({ start: AT, region: 'us-east-1', customBusName: 'deploy-guard-dev', alarms: [], store: 'memory', trainer: EMBEDDED_TRAINER, trainingDir: tempDir(), trainingMs: 1_800_000, log: () => undefined });
    const seen: BusEvent[] = [];
    standIns.buses.default.onEvent((event) => seen.push(event));
    standIns.codeDeploy.createDeployment({ application: 'rails', deploymentGroup: 'production', platform: 'Server', revision: { commitId: 'abc' } });
    expect(seen.map((event) => (event.detail as { state: string }).state)).toEqual(['START']);
    await standIns.close();
  });
});

const alarm = (namespace: string, period: number, overrides: Partial<AlarmWiring> = {}) => ({ alarmName: `${namespace}-${period}`, metric: { namespace, metricName: 'ErrorRate', dimensions: {}, stat: 'Average', period }, ...overrides }) as AlarmWiring;

describe('the alarms the local CloudWatch evaluates', () => {
  it('are those on the handlers\' metrics namespace only (Lambda, SQS and SageMaker metrics exist only in AWS)', () => {
    const quality = alarm('DeployGuard', 86_400);
    const mathOnQuality = { alarmName: 'brier', metricQueries: [{ id: 'm1', returnData: false, metric: { namespace: 'DeployGuard', metricName: 'Brier', dimensions: {}, stat: 'Sum', period: 3600 } }, { id: 'e1', expression: 'm1 / 2', returnData: true }] } as unknown as AlarmWiring;
    const lambdaErrors = alarm('AWS/Lambda', 60);
    expect(modelQualityAlarms([quality, mathOnQuality, lambdaErrors], 'DeployGuard')).toEqual([quality, mathOnQuality]);
  });

  it('are evaluated every shortest period among them, single metric or metric math', () => {
    const math = { alarmName: 'math', metricQueries: [{ id: 'm1', returnData: true, period: 600 }] } as unknown as AlarmWiring;
    expect(alarmPeriodMs([alarm('DeployGuard', 86_400), alarm('DeployGuard', 3600)])).toBe(3_600_000);
    expect(alarmPeriodMs([alarm('DeployGuard', 86_400), math])).toBe(600_000);
  });

  it('are evaluated hourly when none has a period', () => {
    expect(alarmPeriodMs([])).toBe(3_600_000);
  });
});
