import { EmfMetrics, emfDocument } from '../../handlers/adapters/emf-metrics';
import { QUALITY_METRICS } from '../../handlers/quality-metrics';

/** 2016-06-30T22:06:31Z: the time of the real CodeDeploy SUCCESS sample. */
const AT = Date.parse('2016-06-30T22:06:31Z');

const labelled = {
  namespace: 'DeployGuard',
  dimensions: { Application: 'myApplication', DeploymentGroup: 'myDeploymentGroup' },
  values: [
    { name: QUALITY_METRICS.labelled, unit: 'Count' as const, value: 1 },
    { name: QUALITY_METRICS.trueNegatives, unit: 'Count' as const, value: 1 },
    { name: QUALITY_METRICS.brierContribution, unit: 'None' as const, value: 0.0625 },
  ],
  at: AT,
};

describe('emfDocument (CloudWatch embedded metric format)', () => {
  it('declares the group and the pooled (empty) dimension sets, the metrics with their units, and the given timestamp', () => {
    expect(emfDocument(labelled)).toEqual({
      _aws: {
        Timestamp: 1467324391000,
        CloudWatchMetrics: [
          {
            Namespace: 'DeployGuard',
            Dimensions: [['Application', 'DeploymentGroup'], []],
            Metrics: [
              { Name: 'LabelledOutcomes', Unit: 'Count' },
              { Name: 'TrueNegatives', Unit: 'Count' },
              { Name: 'BrierContribution', Unit: 'None' },
            ],
          },
        ],
      },
      Application: 'myApplication',
      DeploymentGroup: 'myDeploymentGroup',
      LabelledOutcomes: 1,
      TrueNegatives: 1,
      BrierContribution: 0.0625,
    });
  });

  it('holds every dimension and metric a directive names as a root member (the specification requires it)', () => {
    const document = emfDocument(labelled);
    const [directive] = document._aws.CloudWatchMetrics;
    for (const key of directive.Dimensions.flat()) expect(typeof document[key]).toBe('string');
    for (const metric of directive.Metrics) expect(typeof document[metric.Name]).toBe('number');
  });

  it('declares only the pooled set when there are no dimensions', () => {
    const document = emfDocument({ namespace: 'DeployGuard', dimensions: {}, values: [{ name: 'CounterfactualOutcomes', unit: 'Count', value: 1 }], at: AT });
    expect(document).toEqual({
      _aws: { Timestamp: AT, CloudWatchMetrics: [{ Namespace: 'DeployGuard', Dimensions: [[]], Metrics: [{ Name: 'CounterfactualOutcomes', Unit: 'Count' }] }] },
      CounterfactualOutcomes: 1,
    });
  });

  it.each([
    ['no metrics', { ...labelled, values: [] }, 'EMF document for DeployGuard has no metric values'],
    ['a value that is not finite', { ...labelled, values: [{ name: 'BrierContribution', unit: 'None' as const, value: Number.NaN }] }, "EMF metric 'BrierContribution' has the value NaN"],
    ['a metric named like a dimension', { ...labelled, values: [{ name: 'Application', unit: 'Count' as const, value: 1 }] }, "EMF metric 'Application' is given twice or clashes with a dimension"],
    ['a metric given twice', { ...labelled, values: [labelled.values[0], labelled.values[0]] }, "EMF metric 'LabelledOutcomes' is given twice"],
    ['an empty dimension value', { ...labelled, dimensions: { Application: '' } }, "EMF dimension 'Application' needs a non-empty string value"],
    ['a timestamp that is not epoch milliseconds', { ...labelled, at: 1.5 }, 'EMF timestamp 1.5 is not milliseconds since the epoch'],
    ['an invalid namespace', { ...labelled, namespace: 'Deploy*Guard' }, "EMF namespace 'Deploy*Guard' is not a CloudWatch namespace"],
  ])('refuses %s, naming it (CloudWatch would drop the document silently)', (_name, input, message) => {
    expect(() => emfDocument(input)).toThrow(message);
  });
});

describe('EmfMetrics', () => {
  it('writes one JSON line per put', () => {
    const lines: string[] = [];
    const metrics = new EmfMetrics((line) => lines.push(line));
    metrics.put(labelled);
    metrics.put({ ...labelled, at: AT + 1000 });
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    expect(JSON.parse(lines[0])).toEqual(emfDocument(labelled));
    expect(JSON.parse(lines[1])._aws.Timestamp).toBe(AT + 1000);
  });

  it("writes to the process's stdout by default (where Lambda's CloudWatch Logs pick EMF up)", () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new EmfMetrics().put(labelled);
      expect(write).toHaveBeenCalledWith(`${JSON.stringify(emfDocument(labelled))}\n`);
    } finally {
      write.mockRestore();
    }
  });

  it('writes nothing for a malformed put', () => {
    const lines: string[] = [];
    expect(() => new EmfMetrics((line) => lines.push(line)).put({ ...labelled, values: [] })).toThrow('no metric values');
    expect(lines).toEqual([]);
  });
});
