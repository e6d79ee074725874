import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EmfFormatError, parseEmfDocument, parseEmfLog } from '../../local/emf';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_DIMENSIONS, QUALITY_METRICS } from '../../handlers/quality-metrics';

const AT = Date.parse('2026-11-20T09:20:07Z');

/** The document Powertools Metrics writes for one labelled outcome of group payments-prod. */
function powertoolsDocument(): object {
  const metrics = new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: 'deploy-guard' });
  metrics.setTimestamp(AT);
  metrics.addDimension(QUALITY_DIMENSIONS.deploymentGroup, 'payments-prod');
  metrics.addDimensions({ [QUALITY_DIMENSIONS.application]: 'payments' });
  metrics.addMetric(QUALITY_METRICS.labelled, MetricUnit.Count, 1);
  metrics.addMetric(QUALITY_METRICS.brierContribution, MetricUnit.NoUnit, 0.25);
  metrics.addMetric(QUALITY_METRICS.brierContribution, MetricUnit.NoUnit, 0.04);
  return metrics.serializeMetrics();
}

describe('parseEmfDocument on what Powertools Metrics writes', () => {
  it('has the shape the EMF specification describes', () => {
    expect(powertoolsDocument()).toEqual({
      _aws: {
        Timestamp: AT,
        CloudWatchMetrics: [
          {
            Namespace: 'DeployGuard',
            Dimensions: [
              ['service', 'DeploymentGroup'],
              ['service', 'Application'],
            ],
            Metrics: [
              { Name: 'LabelledOutcomes', Unit: 'Count' },
              { Name: 'BrierContribution', Unit: 'None' },
            ],
          },
        ],
      },
      service: 'deploy-guard',
      DeploymentGroup: 'payments-prod',
      Application: 'payments',
      LabelledOutcomes: 1,
      BrierContribution: [0.25, 0.04],
    });
  });

  it('gives one datapoint per value and per dimension set', () => {
    const group = { service: 'deploy-guard', DeploymentGroup: 'payments-prod' };
    const application = { service: 'deploy-guard', Application: 'payments' };
    const point = (metricName: string, dimensions: object, value: number, unit: string) => ({ namespace: 'DeployGuard', metricName, dimensions, timestamp: AT, value, unit });
    expect(parseEmfDocument(powertoolsDocument())).toEqual([
      point('LabelledOutcomes', group, 1, 'Count'),
      point('LabelledOutcomes', application, 1, 'Count'),
      point('BrierContribution', group, 0.25, 'None'),
      point('BrierContribution', group, 0.04, 'None'),
      point('BrierContribution', application, 0.25, 'None'),
      point('BrierContribution', application, 0.04, 'None'),
    ]);
  });

  it('reads the JSON text of a log line the same as the object', () => {
    const document = powertoolsDocument();
    expect(parseEmfDocument(JSON.stringify(document))).toEqual(parseEmfDocument(document));
  });
});

describe('dimension sets', () => {
  const base = { _aws: { Timestamp: AT, CloudWatchMetrics: [{ Namespace: 'DeployGuard', Dimensions: [[], ['DeploymentGroup']], Metrics: [{ Name: 'TruePositives' }] }] }, DeploymentGroup: 'g1', TruePositives: 1 };

  it('an empty set [] publishes without dimensions, beside the other sets; a missing Unit is None', () => {
    expect(parseEmfDocument(base).map((p) => [p.dimensions, p.unit])).toEqual([
      [{}, 'None'],
      [{ DeploymentGroup: 'g1' }, 'None'],
    ]);
  });

  it('an empty Dimensions list publishes once, without dimensions', () => {
    const document = { ...base, _aws: { ...base._aws, CloudWatchMetrics: [{ ...base._aws.CloudWatchMetrics[0]!, Dimensions: [] }] } };
    expect(parseEmfDocument(document).map((p) => p.dimensions)).toEqual([{}]);
  });
});

describe('malformed documents are rejected, naming the field', () => {
  /** A document loose enough to break in every way. */
  interface Doc {
    _aws: { Timestamp: unknown; CloudWatchMetrics?: { Namespace?: unknown; Dimensions: unknown; Metrics: Record<string, unknown>[] }[] };
    [member: string]: unknown;
  }
  const valid = (): Doc => ({ _aws: { Timestamp: AT, CloudWatchMetrics: [{ Namespace: 'DeployGuard', Dimensions: [['DeploymentGroup']], Metrics: [{ Name: 'TruePositives', Unit: 'Count' }] }] }, DeploymentGroup: 'g1', TruePositives: 1 });

  it.each<[string, (d: Doc) => unknown, string]>([
    ['no _aws', (d) => ({ ...d, _aws: undefined }), 'invalid EMF document: _aws: expected an object, got undefined'],
    ['a Timestamp in seconds as text', (d) => ((d._aws.Timestamp = '1763630407'), d), 'invalid EMF document: _aws.Timestamp: expected epoch milliseconds (a non-negative integer), got "1763630407"'],
    ['no CloudWatchMetrics', (d) => (delete d._aws.CloudWatchMetrics, d), 'invalid EMF document: _aws.CloudWatchMetrics: expected an array, got undefined'],
    ['no Namespace', (d) => (delete d._aws.CloudWatchMetrics![0]!.Namespace, d), 'invalid EMF document: _aws.CloudWatchMetrics[0].Namespace: expected a string of 1 to 1024 characters, got undefined'],
    ['a dimension set that is a string', (d) => ((d._aws.CloudWatchMetrics![0]!.Dimensions = ['DeploymentGroup']), d), 'invalid EMF document: _aws.CloudWatchMetrics[0].Dimensions[0]: expected an array of dimension names, got string'],
    ['a dimension with no value', (d) => (delete d.DeploymentGroup, d), "invalid EMF document: DeploymentGroup: dimension 'DeploymentGroup' (_aws.CloudWatchMetrics[0].Dimensions[0][0]) needs a non-empty string value at the root, got nothing"],
    ['a numeric dimension value', (d) => ((d.DeploymentGroup = 7), d), "invalid EMF document: DeploymentGroup: dimension 'DeploymentGroup' (_aws.CloudWatchMetrics[0].Dimensions[0][0]) needs a non-empty string value at the root, got 7"],
    ['a metric with no value', (d) => (delete d.TruePositives, d), "invalid EMF document: TruePositives: metric 'TruePositives' has no value at the root"],
    ['a value that is text', (d) => ((d.TruePositives = '1'), d), 'invalid EMF document: TruePositives: expected a finite number, got "1"'],
    ['an array with text', (d) => ((d.TruePositives = [1, 'x']), d), 'invalid EMF document: TruePositives[1]: expected a finite number, got "x"'],
    ['an unknown unit', (d) => ((d._aws.CloudWatchMetrics![0]!.Metrics[0]!.Unit = 'Deployments'), d), 'invalid EMF document: _aws.CloudWatchMetrics[0].Metrics[0].Unit: "Deployments" is not a CloudWatch unit'],
    ['a metric without Name', (d) => ((d._aws.CloudWatchMetrics![0]!.Metrics[0] = { Unit: 'Count' }), d), 'invalid EMF document: _aws.CloudWatchMetrics[0].Metrics[0].Name: expected a string of 1 to 255 characters, got undefined'],
  ])('%s', (_, mutate, message) => {
    const document = mutate(valid());
    expect(() => parseEmfDocument(document as object)).toThrow(EmfFormatError);
    expect(() => parseEmfDocument(document as object)).toThrow(message);
  });

  it('text that is not JSON', () => {
    expect(() => parseEmfDocument('{"_aws":')).toThrow(/^invalid EMF document: \(document\): not JSON: /);
  });
});

describe('parseEmfLog', () => {
  it('reads the EMF lines of a function log and skips ordinary log lines', () => {
    const log = [
      'START RequestId: 6f0e Version: $LATEST',
      JSON.stringify({ level: 'INFO', message: 'recorded outcome', service: 'deploy-guard' }),
      JSON.stringify(powertoolsDocument()),
      'END RequestId: 6f0e',
    ].join('\n');
    expect(parseEmfLog(log)).toHaveLength(6);
  });

  it('names the line of a malformed EMF document', () => {
    const bad = { _aws: { Timestamp: AT, CloudWatchMetrics: [{ Namespace: 'DeployGuard', Dimensions: [[]], Metrics: [{ Name: 'TruePositives' }] }] } };
    expect(() => parseEmfLog(`plain line\n${JSON.stringify(bad)}`)).toThrow("invalid EMF document: line 2: TruePositives: metric 'TruePositives' has no value at the root");
  });
});
