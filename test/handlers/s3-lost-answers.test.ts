import { sample } from '../../events/samples';
import { EmfMetrics } from '../../handlers/adapters/emf-metrics';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryBakeStore, InMemoryDeploymentStore, InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import { S3TrainingDataLake } from '../../handlers/adapters/s3-data-lake';
import { S3ObjectStore } from '../../handlers/adapters/s3-objects';
import { handleRecordOutcomeEvent } from '../../handlers/record-outcome';
import { storedAssessment } from './assessment-fixture';
import { loseAnswers } from '../support/lost-answers';
import { LocalS3Objects } from '../support/s3-http';

/**
 * S3 calls applied but never acknowledged (the answer lost below the SDK's retry middleware, as after
 * a connection reset), against a real S3Client: the retry meets its own applied call, and the object
 * ends as one write would leave it. When every attempt loses its answer, the handler throws (Lambda
 * retries the event) and the redelivery completes the state exactly once: nothing lost, nothing twice.
 */
const STARTED = Date.parse('2016-06-30T22:06:53Z');
const ROW = { deploymentId: 'd-123456789', application: 'myApplication', deploymentGroup: 'myDeploymentGroup', startedAt: STARTED, finishedAt: STARTED + 600_000, modelVersion: 'initial-2016-01-01', csvLine: '1,3,1,,412,38', weight: 1 };
const ROW_KEY = 'deploy-guard-dev-data/rows/date=2016-06-30/d-123456789.csv';

describe('lost S3 answers at the SDK level', () => {
  it('a training row whose PutObject answer is lost once: the SDK retries, one object with the row, putRow resolves', async () => {
    const s3 = new LocalS3Objects();
    const client = s3.client();
    const lost = loseAnswers(client, 'PutObjectCommand');
    await new S3TrainingDataLake(client, { bucket: 'deploy-guard-dev-data' }).putRow(ROW);
    expect(lost.lost()).toBe(1);
    expect(s3.applied).toEqual([`PutObject ${ROW_KEY}`, `PutObject ${ROW_KEY}`]);
    expect([...s3.objects]).toEqual([[ROW_KEY, Buffer.from(`${ROW.csvLine}\n`)]]);
  });

  it('every attempt loses its answer: putRow throws naming the key, and writing again (the redelivery) leaves the same single object', async () => {
    const s3 = new LocalS3Objects();
    const client = s3.client();
    loseAnswers(client, 'PutObjectCommand', { times: 3 });
    const lake = new S3TrainingDataLake(client, { bucket: 'deploy-guard-dev-data' });
    await expect(lake.putRow(ROW)).rejects.toThrow(`S3 PutObject s3://${ROW_KEY}: socket hang up`);
    await lake.putRow(ROW);
    expect(s3.applied).toEqual(Array(4).fill(`PutObject ${ROW_KEY}`));
    expect([...s3.objects]).toEqual([[ROW_KEY, Buffer.from(`${ROW.csvLine}\n`)]]);
  });

  it("promote's copy of an adopted model whose CopyObject answer is lost: retried, the served copy equals the job's output", async () => {
    const s3 = new LocalS3Objects();
    s3.objects.set('deploy-guard-dev-models/training/output/job-1/output/model.tar.gz', Buffer.from('model bytes'));
    const client = s3.client();
    const lost = loseAnswers(client, 'CopyObjectCommand');
    await new S3ObjectStore(client).copy('s3://deploy-guard-dev-models/training/output/job-1/output/model.tar.gz', 's3://deploy-guard-dev-models/models/job-1/model.tar.gz');
    expect(lost.lost()).toBe(1);
    expect(s3.objects.get('deploy-guard-dev-models/models/job-1/model.tar.gz')).toEqual(Buffer.from('model bytes'));
  });

  it("the serving model's GetObject answer lost: retried, the bytes read are the object's", async () => {
    const s3 = new LocalS3Objects();
    s3.objects.set('deploy-guard-dev-models/models/job-1/features.json', Buffer.from('{"features":[]}'));
    const client = s3.client();
    const lost = loseAnswers(client, 'GetObjectCommand');
    const bytes = await new S3ObjectStore(client).read('s3://deploy-guard-dev-models/models/job-1/features.json');
    expect(lost.lost()).toBe(1);
    expect(Buffer.from(bytes!).toString()).toBe('{"features":[]}');
    expect(await new S3ObjectStore(client).read('s3://deploy-guard-dev-models/models/none.json')).toBeUndefined();
  });

  it('record-outcome when every PutObject answer of the row is lost: the outcome is recorded, the event retried, and the redelivery writes the row once and marks it written once', async () => {
    const event = structuredClone(sample('codedeploy-deployment-state-change.success.json').event) as { time: string };
    const s3 = new LocalS3Objects();
    const client = s3.client();
    loseAnswers(client, 'PutObjectCommand', { times: 3 });
    const emf: string[] = [];
    const deps = {
      deployments: new InMemoryDeploymentStore(),
      ledger: new InMemoryRollbackLedger(),
      bakes: new InMemoryBakeStore(),
      holds: new InMemoryHoldStore(),
      lake: new S3TrainingDataLake(client, { bucket: 'deploy-guard-dev-data' }),
      metrics: new EmfMetrics((line) => emf.push(line)),
      config: { metricsNamespace: 'DeployGuard', includeCounterfactual: false },
    };
    const startedAt = Date.parse(event.time) - 600_000;
    await deps.deployments.putAssessment(storedAssessment({ deploymentId: 'd-123456789', application: 'myApplication', deploymentGroup: 'myDeploymentGroup', mode: 'gate', decision: 'proceed', startedAt, assessedAt: startedAt + 5_000, featureRow: '3,1,,412,38' }));

    await expect(handleRecordOutcomeEvent(event, deps)).rejects.toThrow('socket hang up');
    expect(await deps.deployments.get('d-123456789')).toMatchObject({ outcome: { label: 'succeeded' }, trainingRowWritten: false });

    await expect(handleRecordOutcomeEvent(event, deps)).resolves.toMatchObject({ status: 'duplicate', label: 'succeeded', trainingRow: { written: true } });
    expect(await deps.deployments.get('d-123456789')).toMatchObject({ trainingRowWritten: true });
    expect([...s3.objects.entries()].map(([key, body]) => [key, body.toString()])).toEqual([['deploy-guard-dev-data/rows/date=2016-06-30/d-123456789.csv', '0,3,1,,412,38\n']]);
    expect(emf).toHaveLength(1);
  });
});
