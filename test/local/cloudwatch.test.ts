import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { TerraformStack, Testing } from 'cdktf';
import { alarmKind, alarmReasonData, CLOUDWATCH_ALARM_STATE_CHANGE } from '../../events/aws';
import { parseAwsEvent } from '../../events/parse';
import { sample } from '../../events/samples';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_METRICS } from '../../handlers/quality-metrics';
import { AlarmDefinitionError, javaDouble, LocalCloudWatch, type AlarmStateChangeEvent } from '../../local/cloudwatch';
import type { MetricDatapoint } from '../../local/emf';
import { readWiring, type AlarmWiring, type TreatMissingData } from '../../local/terraform-wiring';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

/** The alarms of a synthesized stack: a metric-math error-rate alarm and a single-metric fallback alarm. */
function stackAlarms(): readonly AlarmWiring[] {
  const stack = new TerraformStack(Testing.app(), 'alarms');
  new AwsProvider(stack, 'aws', { region: REGION, allowedAccountIds: [ACCOUNT] });
  const topic = new SnsTopic(stack, 'alerts', { name: 'deploy-guard-dev-alerts' });
  const daily = (id: string, metricName: string) => ({ id, metric: { namespace: DEFAULT_METRICS_NAMESPACE, metricName, period: 86400, stat: 'Sum' } });
  new CloudwatchMetricAlarm(stack, 'error-rate', {
    alarmName: 'deploy-guard-dev-error-rate',
    alarmDescription: 'Share of wrong decisions',
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 0.3,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: 'notBreaching',
    alarmActions: [topic.arn],
    metricQuery: [
      { id: 'error_rate', expression: '(m_fp + m_fn) / m_n', label: 'Error rate', returnData: true },
      daily('m_fp', QUALITY_METRICS.falsePositives),
      daily('m_fn', QUALITY_METRICS.falseNegatives),
      daily('m_n', QUALITY_METRICS.labelled),
    ],
  });
  new CloudwatchMetricAlarm(stack, 'fallbacks', {
    alarmName: 'deploy-guard-dev-endpoint-fallbacks',
    alarmDescription: 'The endpoint failed and the failure policy decided',
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    threshold: 5,
    evaluationPeriods: 1,
    namespace: DEFAULT_METRICS_NAMESPACE,
    metricName: QUALITY_METRICS.endpointFallbacks,
    statistic: 'Sum',
    period: 3600,
  });
  return readWiring(JSON.parse(Testing.synth(stack)) as object).alarms;
}

const point = (metricName: string, timestamp: number, value: number, dimensions: Record<string, string> = {}): MetricDatapoint => ({
  namespace: DEFAULT_METRICS_NAMESPACE,
  metricName,
  dimensions,
  timestamp,
  value,
  unit: 'Count',
});

/** One day's outcomes: n labelled, fp false positives, fn false negatives, spread over the day. */
function day(index: number, n: number, fp: number, fn: number): MetricDatapoint[] {
  const points: MetricDatapoint[] = [];
  for (let i = 0; i < n; i++) {
    const at = T0 + index * DAY + (i + 1) * 60_000;
    points.push(point(QUALITY_METRICS.labelled, at, 1), point(QUALITY_METRICS.falsePositives, at, i < fp ? 1 : 0), point(QUALITY_METRICS.falseNegatives, at, i >= fp && i < fp + fn ? 1 : 0));
  }
  return points;
}

describe('LocalCloudWatch: a metric-math alarm from the stack', () => {
  const [errorRate] = stackAlarms();

  function run() {
    const received: AlarmStateChangeEvent[] = [];
    const cloudWatch = new LocalCloudWatch({ alarms: [errorRate!], region: REGION, account: ACCOUNT, start: T0, onStateChange: (event) => received.push(event) });
    // Error rates per day: 0.1, 0.4, 0.2, 0.5, then no outcomes for a day, then 0.
    cloudWatch.putDatapoints([...day(0, 10, 1, 0), ...day(1, 10, 2, 2), ...day(2, 10, 1, 1), ...day(3, 10, 3, 2), ...day(5, 10, 0, 0)]);
    return { cloudWatch, received, events: cloudWatch.evaluate(T0 + 6 * DAY) };
  }

  it('goes to OK on the first day, to ALARM when 2 of the last 3 days breach, and back to OK when a day without outcomes counts as not breaching', () => {
    const { events } = run();
    expect(events.map((event) => [event.time, event.detail.previousState.value, event.detail.state.value])).toEqual([
      ['2026-11-02T00:00:00Z', 'INSUFFICIENT_DATA', 'OK'],
      ['2026-11-05T00:00:00Z', 'OK', 'ALARM'],
      ['2026-11-06T00:00:00Z', 'ALARM', 'OK'],
    ]);
  });

  it('emits the event in the exact shape AWS sends, with AWS reason texts', () => {
    const alarm = run().events[1]!;
    expect(alarm).toEqual({
      version: '0',
      id: alarm.id,
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: ACCOUNT,
      time: '2026-11-05T00:00:00Z',
      region: REGION,
      resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:deploy-guard-dev-error-rate`],
      detail: {
        alarmName: 'deploy-guard-dev-error-rate',
        configuration: {
          description: 'Share of wrong decisions',
          metrics: [
            { expression: '(m_fp + m_fn) / m_n', id: 'error_rate', label: 'Error rate', returnData: true },
            { id: 'm_fp', metricStat: { metric: { dimensions: {}, name: 'FalsePositives', namespace: 'DeployGuard' }, period: 86400, stat: 'Sum' }, returnData: false },
            { id: 'm_fn', metricStat: { metric: { dimensions: {}, name: 'FalseNegatives', namespace: 'DeployGuard' }, period: 86400, stat: 'Sum' }, returnData: false },
            { id: 'm_n', metricStat: { metric: { dimensions: {}, name: 'LabelledOutcomes', namespace: 'DeployGuard' }, period: 86400, stat: 'Sum' }, returnData: false },
          ],
        },
        previousState: {
          value: 'OK',
          reason:
            'Threshold Crossed: 3 out of the last 3 datapoints [0.1 (01/11/26 00:00:00)] were not greater than the threshold (0.3) (minimum 2 datapoints for ALARM -> OK transition).',
          reasonData:
            '{"version":"1.0","queryDate":"2026-11-02T00:00:00.000+0000","startDate":"2026-10-30T00:00:00.000+0000","period":86400,"recentDatapoints":[0.1],"threshold":0.3}',
          timestamp: '2026-11-02T00:00:00.000+0000',
        },
        state: {
          value: 'ALARM',
          reason:
            'Threshold Crossed: 2 out of the last 3 datapoints [0.5 (04/11/26 00:00:00), 0.2 (03/11/26 00:00:00), 0.4 (02/11/26 00:00:00)] were greater than the threshold (0.3) (minimum 2 datapoints for OK -> ALARM transition).',
          reasonData:
            '{"version":"1.0","queryDate":"2026-11-05T00:00:00.000+0000","startDate":"2026-11-02T00:00:00.000+0000","period":86400,"recentDatapoints":[0.4,0.2,0.5],"threshold":0.3}',
          timestamp: '2026-11-05T00:00:00.000+0000',
        },
      },
    });
  });

  it('every event it emits is a valid CloudWatch Alarm State Change of kind metric-math, whose reasonData parses', () => {
    for (const event of run().events) {
      const parsed = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
      expect(alarmKind(parsed)).toBe('metric-math');
      expect(alarmReasonData(parsed.detail.state)).toMatchObject({ version: '1.0', period: 86400, threshold: 0.3 });
    }
  });

  it('has the keys of the real AWS metric-math sample', () => {
    const real = sample('cloudwatch-alarm-state-change.metric-math.json').event as unknown as AlarmStateChangeEvent;
    const local = run().events[1]!;
    expect(Object.keys(local).sort()).toEqual(Object.keys(real).sort());
    expect(Object.keys(local.detail).sort()).toEqual(Object.keys(real.detail).sort());
    expect(Object.keys(local.detail.state).sort()).toEqual(Object.keys(real.detail.state).sort());
    expect(Object.keys(local.detail.configuration.metrics[1]!).sort()).toEqual(Object.keys(real.detail.configuration.metrics[1]!).sort());
  });

  it('passes every event to the callback, in order', () => {
    const { events, received } = run();
    expect(received).toEqual(events);
  });

  it('evaluates each boundary once, however evaluate() is called', () => {
    const { cloudWatch, events } = run();
    expect(cloudWatch.evaluate(T0 + 6 * DAY)).toEqual([]);
    const again = new LocalCloudWatch({ alarms: [errorRate!], region: REGION, account: ACCOUNT, start: T0 });
    again.putDatapoints([...day(0, 10, 1, 0), ...day(1, 10, 2, 2), ...day(2, 10, 1, 1), ...day(3, 10, 3, 2), ...day(5, 10, 0, 0)]);
    const stepwise = [];
    for (let hour = 1; hour <= 6 * 24; hour++) stepwise.push(...again.evaluate(T0 + hour * HOUR));
    expect(stepwise).toEqual(events);
  });
});

describe('LocalCloudWatch: a single-metric alarm from the stack', () => {
  const [, fallbacks] = stackAlarms();

  it('is validated as a single-metric CloudWatch Alarm State Change with the shape of the AWS sample', () => {
    const cloudWatch = new LocalCloudWatch({ alarms: [fallbacks!], region: REGION, account: ACCOUNT, start: T0 });
    for (let i = 0; i < 6; i++) cloudWatch.putDatapoints([point(QUALITY_METRICS.endpointFallbacks, T0 + 10 * 60_000 + i, 1)]);
    const [event] = cloudWatch.evaluate(T0 + HOUR);
    const parsed = parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
    expect(alarmKind(parsed)).toBe('single-metric');
    expect(event!.detail.state).toEqual({
      value: 'ALARM',
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [6.0 (01/11/26 00:00:00)] was greater than or equal to the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).',
      reasonData:
        '{"version":"1.0","queryDate":"2026-11-01T01:00:00.000+0000","startDate":"2026-11-01T00:00:00.000+0000","statistic":"Sum","period":3600,"recentDatapoints":[6.0],"threshold":5.0}',
      timestamp: '2026-11-01T01:00:00.000+0000',
    });
    expect(event!.detail.previousState).toEqual({ value: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', timestamp: '2026-11-01T00:00:00.000+0000' });
    const real = sample('cloudwatch-alarm-state-change.single-metric.json').event as unknown as AlarmStateChangeEvent;
    expect(Object.keys(event!.detail.configuration.metrics[0]!).sort()).toEqual(Object.keys(real.detail.configuration.metrics[0]!).sort());
    expect(Object.keys(event!.detail.configuration.metrics[0]!.metricStat!).sort()).toEqual(Object.keys(real.detail.configuration.metrics[0]!.metricStat!).sort());
  });

  it('with missing data treated as missing, stays in ALARM while a datapoint is within the evaluation range, then INSUFFICIENT_DATA', () => {
    const cloudWatch = new LocalCloudWatch({ alarms: [fallbacks!], region: REGION, account: ACCOUNT, start: T0 });
    cloudWatch.putDatapoints([point(QUALITY_METRICS.endpointFallbacks, T0 + 60_000, 7)]);
    const events = cloudWatch.evaluate(T0 + 5 * HOUR);
    expect(events.map((event) => [event.time, event.detail.state.value, event.detail.state.reason])).toEqual([
      ['2026-11-01T01:00:00Z', 'ALARM', expect.stringContaining('[7.0 (01/11/26 00:00:00)]')],
      ['2026-11-01T04:00:00Z', 'INSUFFICIENT_DATA', 'Insufficient Data: 1 datapoint was unknown.'],
    ]);
  });

  it('reads the metrics a Powertools EMF log carries', () => {
    const metrics = new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: 'deploy-guard' });
    metrics.clearDefaultDimensions();
    metrics.setTimestamp(T0 + 60_000);
    for (let i = 0; i < 5; i++) metrics.addMetric(QUALITY_METRICS.endpointFallbacks, MetricUnit.Count, 1);
    const cloudWatch = new LocalCloudWatch({ alarms: [fallbacks!], region: REGION, account: ACCOUNT, start: T0 });
    cloudWatch.putEmfLog(`START RequestId: 1\n${JSON.stringify(metrics.serializeMetrics())}\nEND RequestId: 1`);
    expect(cloudWatch.evaluate(T0 + HOUR).map((event) => event.detail.state.value)).toEqual(['ALARM']);
  });
});

describe('sparse data', () => {
  const minuteAlarm = (treat: TreatMissingData) => ({ ...alarmOf(treat, 2, 1), alarmName: `sparse-${treat}` });
  /** Bursts of breaching and non-breaching minutes, days apart. */
  const bursts = [0, 3, 4, 40, 41, 42, 2000, 2001, 9000, 30_000].map((minute, i) => ({
    namespace: 'Test',
    metricName: 'M',
    dimensions: {},
    timestamp: T0 + minute * 60_000 + 5_000,
    value: i % 3 === 0 ? 0 : 1,
    unit: 'None',
  }));

  it.each(['missing', 'ignore', 'breaching', 'notBreaching'] as const)('gives the same events in one call as minute by minute (%s)', (treat) => {
    const bulk = new LocalCloudWatch({ alarms: [minuteAlarm(treat)], region: REGION, account: ACCOUNT, start: T0 });
    const stepwise = new LocalCloudWatch({ alarms: [minuteAlarm(treat)], region: REGION, account: ACCOUNT, start: T0 });
    bulk.putDatapoints(bursts);
    stepwise.putDatapoints(bursts);
    const end = T0 + 31_000 * 60_000;
    const expected = [];
    for (let minute = 1; minute <= 31_000; minute++) expected.push(...stepwise.evaluate(T0 + minute * 60_000));
    expect(bulk.evaluate(end)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });

  it('evaluates a year of one-minute periods with sparse data in milliseconds of CPU time', () => {
    const cloudWatch = new LocalCloudWatch({ alarms: [minuteAlarm('missing')], region: REGION, account: ACCOUNT, start: T0 });
    cloudWatch.putDatapoints(bursts);
    const started = process.cpuUsage();
    cloudWatch.evaluate(T0 + 365 * DAY);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1e6).toBeLessThan(0.25);
  });
});

describe('statistics', () => {
  const cloudWatch = new LocalCloudWatch({ alarms: [], region: REGION, account: ACCOUNT, start: T0 });
  cloudWatch.putDatapoints([4, 1, 7, 2].map((value, i) => point('BrierContribution', T0 + i * 1000, value, { DeploymentGroup: 'g' })));
  cloudWatch.putDatapoints([point('BrierContribution', T0 + 60_000, 100, { DeploymentGroup: 'g' })]);
  const metric = (stat: string) => ({ namespace: DEFAULT_METRICS_NAMESPACE, metricName: 'BrierContribution', dimensions: { DeploymentGroup: 'g' }, stat });

  it.each([
    ['Sum', 14],
    ['Average', 3.5],
    ['SampleCount', 4],
    ['Minimum', 1],
    ['Maximum', 7],
  ])('%s over one minute', (stat, expected) => {
    expect(cloudWatch.statistic(metric(stat), T0, 60)).toBe(expected);
  });

  it('a metric is its dimensions: the same name without them has no datapoints', () => {
    expect(cloudWatch.statistic({ ...metric('Sum'), dimensions: {} }, T0, 60)).toBeUndefined();
  });

  it('rejects percentile statistics, naming the alarm', () => {
    const alarm = { ...alarmOf('missing', 1, 1), metric: { ...alarmOf('missing', 1, 1).metric!, stat: 'p90' } };
    expect(() => new LocalCloudWatch({ alarms: [alarm], region: REGION, account: ACCOUNT, start: T0 })).toThrow(AlarmDefinitionError);
    expect(() => new LocalCloudWatch({ alarms: [alarm], region: REGION, account: ACCOUNT, start: T0 })).toThrow(
      "alarm 'table' (aws_cloudwatch_metric_alarm.table): statistic 'p90' is not supported locally (supported: SampleCount, Sum, Average, Minimum, Maximum; percentiles are not)",
    );
  });
});

function alarmOf(treatMissingData: TreatMissingData, evaluationPeriods: number, datapointsToAlarm: number, comparisonOperator: AlarmWiring['comparisonOperator'] = 'GreaterThanThreshold', threshold = 0.5): AlarmWiring {
  return {
    address: 'aws_cloudwatch_metric_alarm.table',
    alarmName: 'table',
    comparisonOperator,
    threshold,
    evaluationPeriods,
    datapointsToAlarm,
    treatMissingData,
    actionsEnabled: true,
    metric: { namespace: 'Test', metricName: 'M', dimensions: {}, stat: 'Maximum', period: 60 },
    alarmActions: [],
    okActions: [],
    insufficientDataActions: [],
  };
}

/**
 * The state after evaluating a run of minutes written as CloudWatch's docs write them (0 not
 * breaching, X breaching, - missing), from INSUFFICIENT_DATA (the state of a new alarm).
 */
function stateAfter(points: string, treat: TreatMissingData, evaluationPeriods = 3, datapointsToAlarm = 3): string {
  const values = points.split(' ');
  const cloudWatch = new LocalCloudWatch({
    alarms: [alarmOf(treat, evaluationPeriods, datapointsToAlarm)],
    region: REGION,
    account: ACCOUNT,
    // Created during the last minute: the first evaluation sees the whole run.
    start: T0 + (values.length - 1) * 60_000,
  });
  values.forEach((value, i) => {
    if (value !== '-') cloudWatch.putDatapoints([{ namespace: 'Test', metricName: 'M', dimensions: {}, timestamp: T0 + i * 60_000, value: value === 'X' ? 1 : 0, unit: 'None' }]);
  });
  for (const event of cloudWatch.evaluate(T0 + values.length * 60_000)) parseAwsEvent(CLOUDWATCH_ALARM_STATE_CHANGE, event);
  return cloudWatch.alarmState('table').value;
}

describe("missing data, as CloudWatch's documentation tabulates it (3 evaluation periods, 3 datapoints to alarm)", () => {
  it.each([
    ['0 - X - X', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - -', 'INSUFFICIENT_DATA', 'INSUFFICIENT_DATA (retained)', 'ALARM', 'OK'],
    ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'OK'],
    ['- - X - -', 'ALARM', 'INSUFFICIENT_DATA (retained)', 'ALARM', 'OK'],
  ])('%s: missing %s, ignore %s, breaching %s, notBreaching %s', (points, missing, ignore, breaching, notBreaching) => {
    expect([stateAfter(points, 'missing'), stateAfter(points, 'ignore'), stateAfter(points, 'breaching'), stateAfter(points, 'notBreaching')]).toEqual([
      missing,
      ignore.replace(' (retained)', ''),
      breaching,
      notBreaching,
    ]);
  });

  it('ignore keeps ALARM while no datapoints arrive', () => {
    const cloudWatch = new LocalCloudWatch({ alarms: [alarmOf('ignore', 1, 1)], region: REGION, account: ACCOUNT, start: T0 });
    cloudWatch.putDatapoints([{ namespace: 'Test', metricName: 'M', dimensions: {}, timestamp: T0, value: 1, unit: 'None' }]);
    expect(cloudWatch.evaluate(T0 + 60 * 60_000).map((event) => event.detail.state.value)).toEqual(['ALARM']);
    expect(cloudWatch.alarmState('table').value).toBe('ALARM');
  });

  it('missing datapoints treated as breaching say so', () => {
    const cloudWatch = new LocalCloudWatch({ alarms: [alarmOf('breaching', 2, 2)], region: REGION, account: ACCOUNT, start: T0 });
    expect(cloudWatch.evaluate(T0 + 60_000)[0]!.detail.state.reason).toBe(
      'Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching].',
    );
  });
});

describe('comparison operators and M out of N', () => {
  it.each([
    ['GreaterThanThreshold', 0.5, 'OK'],
    ['GreaterThanOrEqualToThreshold', 0.5, 'ALARM'],
    ['LessThanThreshold', 0.5, 'OK'],
    ['LessThanOrEqualToThreshold', 0.5, 'ALARM'],
    ['LessThanThreshold', 0.6, 'ALARM'],
  ] as const)('%s with a value equal to 0.5 against %p: %s', (operator, threshold, expected) => {
    const cloudWatch = new LocalCloudWatch({ alarms: [alarmOf('missing', 1, 1, operator, threshold)], region: REGION, account: ACCOUNT, start: T0 });
    cloudWatch.putDatapoints([{ namespace: 'Test', metricName: 'M', dimensions: {}, timestamp: T0, value: 0.5, unit: 'None' }]);
    expect(cloudWatch.evaluate(T0 + 60_000)[0]!.detail.state.value).toBe(expected);
  });

  it('2 out of 4: one breaching datapoint is not enough, two are', () => {
    expect(stateAfter('0 0 0 X', 'notBreaching', 4, 2)).toBe('OK');
    expect(stateAfter('0 X 0 X', 'notBreaching', 4, 2)).toBe('ALARM');
  });
});

describe('numbers in reason texts are written as Java writes doubles', () => {
  it.each([
    [50, '50.0'],
    [0.0666851903306472, '0.0666851903306472'],
    [45628, '45628.0'],
    [1e-5, '1.0E-5'],
    [12_500_000, '1.25E7'],
    [-0.25, '-0.25'],
  ])('%p -> %s', (value, text) => {
    expect(javaDouble(value)).toBe(text);
  });
});

describe('speed', () => {
  it('evaluates a year of daily periods of the metric-math alarm in milliseconds of CPU time', () => {
    const [errorRate] = stackAlarms();
    const cloudWatch = new LocalCloudWatch({ alarms: [errorRate!], region: REGION, account: ACCOUNT, start: T0 });
    for (let d = 0; d < 365; d++) cloudWatch.putDatapoints(day(d, 20, d % 14 < 2 ? 8 : 1, 1));
    // CPU time, not wall time: the figure should not depend on what else the machine runs.
    const started = process.cpuUsage();
    const events = cloudWatch.evaluate(T0 + 365 * DAY);
    const used = process.cpuUsage(started);
    const seconds = (used.user + used.system) / 1e6;
    // 365 evaluations, each over 3 days of 3 metrics of 20 datapoints a day.
    process.stdout.write(`local CloudWatch: 365 daily evaluations in ${(seconds * 1000).toFixed(1)} ms CPU (${Math.round(365 / seconds)} alarm evaluations/s), ${events.length} state changes\n`);
    expect(events.length).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(0.25);
  });
});
