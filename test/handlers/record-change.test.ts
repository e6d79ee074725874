import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, revisionKey } from '../../events/emitted';
import { EventValidationError } from '../../events/validation';
import { InMemoryChangeSummaryStore } from '../../handlers/adapters/in-memory-stores';
import type { ChangeSummary, ChangeSummaryStore, ChangeSummaryWrite, StoredChangeSummary } from '../../handlers/ports';
import { handleRecordChangeEvent, recordChangeConfigFromEnv, type RecordChangeDependencies } from '../../handlers/record-change';

const example = EMITTED_EVENTS['Deployment Change Summary'].example;
const RECEIVED = '2026-11-20T09:14:03Z';

/** A Deployment Change Summary as Deploy Guard's bus delivers it to the Lambda. */
function delivered(detail: unknown, source = 'deploy-guard', envelope: { id?: string; account?: string; resources?: string[] } = {}) {
  const entry = buildEntry('Deployment Change Summary', detail as never, { source, eventBusName: 'deploy-guard-dev' });
  return {
    version: '0',
    id: envelope.id ?? '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: envelope.account ?? '123456789012',
    time: '2026-11-20T09:14:01Z',
    region: 'us-east-1',
    resources: envelope.resources ?? [],
    detail: JSON.parse(entry.Detail),
  };
}

/** Records every call, so a test can require that nothing was stored. */
class RecordingStore implements ChangeSummaryStore {
  readonly inner = new InMemoryChangeSummaryStore();
  readonly puts: StoredChangeSummary[] = [];
  async put(record: StoredChangeSummary): Promise<ChangeSummaryWrite> {
    this.puts.push(record);
    return this.inner.put(record);
  }
  findForDeployment(application: string, key: string, startedAt: number): Promise<ChangeSummary | undefined> {
    return this.inner.findForDeployment(application, key, startedAt);
  }
  find(application: string, key: string): Promise<StoredChangeSummary | undefined> {
    return this.inner.find(application, key);
  }
}

function dependencies(source = 'deploy-guard'): RecordChangeDependencies & { changes: RecordingStore; metrics: { put: jest.Mock } } {
  return { changes: new RecordingStore(), clock: new ManualClock(RECEIVED), metrics: { put: jest.fn() }, config: { source, metricsNamespace: 'DeployGuard' } };
}

const CI_SENDER = { eventId: '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f', account: '123456789012', source: 'deploy-guard', resources: [] };

describe('record-change', () => {
  it('stores the documented summary under its application and revision key, with the time it was received', async () => {
    const deps = dependencies();
    const result = await handleRecordChangeEvent(delivered(example), deps);

    const key = `git:${example.revision.commitId}`;
    expect(result).toEqual({ status: 'stored', application: 'checkout', revisionKey: key, fields: 10, receivedAt: Date.parse(RECEIVED), sender: CI_SENDER });
    expect(deps.changes.puts).toEqual([{ summary: example, receivedAt: Date.parse(RECEIVED), sender: CI_SENDER }]);
    await expect(deps.changes.find('checkout', key)).resolves.toEqual({ summary: example, receivedAt: Date.parse(RECEIVED), sender: CI_SENDER });
    expect(deps.metrics.put).not.toHaveBeenCalled();
    expect(revisionKey(example.revision)).toBe(key);
  });

  it('keys an S3 revision by bucket, key and version', async () => {
    const deps = dependencies();
    const revision = { s3: { bucket: 'acme-releases', key: 'checkout/build-42.zip', version: 'v7' } };
    const result = await handleRecordChangeEvent(delivered({ ...example, revision, change: { commits: 1 } }), deps);
    expect(result.revisionKey).toBe('s3:acme-releases/checkout/build-42.zip@v7');
    expect((await deps.changes.find('checkout', result.revisionKey))?.summary.change).toEqual({ commits: 1 });
  });

  it('keeps the first summary of a revision: a forged-but-valid later one from another account is refused, counted and keeps nothing of its own', async () => {
    const deps = dependencies();
    await handleRecordChangeEvent(delivered(example), deps);
    const forged = delivered({ ...example, change: { ...example.change, linesAdded: 9000 } }, 'deploy-guard', { id: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', account: '210987654321' });
    const result = await handleRecordChangeEvent(forged, deps);

    expect(result).toMatchObject({
      status: 'refused',
      reason: 'already-summarised',
      sender: { eventId: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', account: '210987654321' },
      firstSender: CI_SENDER,
    });
    expect(result.status === 'refused' && result.message).toContain('already has the summary of event 0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f (account 123456789012)');
    expect((await deps.changes.find('checkout', revisionKey(example.revision)))?.summary).toEqual(example);
    expect(deps.metrics.put).toHaveBeenCalledTimes(1);
    expect(deps.metrics.put).toHaveBeenCalledWith({
      namespace: 'DeployGuard',
      dimensions: { Application: 'checkout' },
      values: [{ name: 'ChangeSummariesRefused', unit: 'Count', value: 1 }],
      at: Date.parse(RECEIVED),
    });
  });

  it('refuses a summary arriving after a deployment of its revision started (predict sealed it), and counts it', async () => {
    const deps = dependencies();
    await deps.changes.findForDeployment('checkout', revisionKey(example.revision), Date.parse('2026-11-20T09:00:00Z'));
    const result = await handleRecordChangeEvent(delivered(example), deps);
    expect(result).toMatchObject({ status: 'refused', reason: 'deployment-started', message: expect.stringContaining('a deployment of checkout git:') });
    expect(await deps.changes.find('checkout', revisionKey(example.revision))).toBeUndefined();
    expect(deps.metrics.put).toHaveBeenCalledTimes(1);
  });

  it('stores a redelivered summary once: the same event again is its own, neither refused nor counted', async () => {
    const deps = dependencies();
    await handleRecordChangeEvent(delivered(example), deps);
    const again = await handleRecordChangeEvent(delivered(example), deps);
    expect(again.status).toBe('stored');
    expect(deps.metrics.put).not.toHaveBeenCalled();
  });

  it('keeps absent change fields absent (missing values, not zeros)', async () => {
    const deps = dependencies();
    await handleRecordChangeEvent(delivered({ ...example, change: { srcChurn: 0 } }), deps);
    expect(deps.changes.puts[0].summary.change).toEqual({ srcChurn: 0 });
  });

  it.each([
    ['a summary without a revision', { ...example, revision: {} }, 'detail.revision: a revision needs commitId, s3 or appSpecSha256'],
    ['a negative line count', { ...example, change: { linesAdded: -3 } }, 'detail.change.linesAdded'],
    ['an unknown change field', { ...example, change: { churn: 4 } }, 'detail.change'],
    ['a boolean field that is not 0 or 1', { ...example, change: { isPullRequest: 2 } }, 'detail.change.isPullRequest'],
  ])('refuses %s with an EventValidationError naming the field, and stores nothing', async (_name, detail, path) => {
    const deps = dependencies();
    const event = { ...delivered(example), detail };
    const error = await handleRecordChangeEvent(event, deps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).message).toContain('Invalid Deployment Change Summary event');
    expect((error as EventValidationError).message).toContain(path);
    expect(deps.changes.puts).toEqual([]);
  });

  it("refuses a summary sent with another installation's source, and stores nothing", async () => {
    const deps = dependencies('acme.deploy-guard');
    await expect(handleRecordChangeEvent(delivered(example, 'deploy-guard'), deps)).rejects.toThrow(EventValidationError);
    expect(deps.changes.puts).toEqual([]);
    await handleRecordChangeEvent(delivered(example, 'acme.deploy-guard'), deps);
    expect(deps.changes.puts).toHaveLength(1);
  });

  it('reads the installation source from the environment, refusing a reserved one', () => {
    expect(recordChangeConfigFromEnv({})).toEqual({ source: 'deploy-guard', metricsNamespace: 'DeployGuard' });
    expect(recordChangeConfigFromEnv({ DEPLOY_GUARD_EVENT_SOURCE: 'acme.deploy-guard', DEPLOY_GUARD_METRICS_NAMESPACE: 'Acme' })).toEqual({ source: 'acme.deploy-guard', metricsNamespace: 'Acme' });
    expect(() => recordChangeConfigFromEnv({ DEPLOY_GUARD_EVENT_SOURCE: 'aws.codedeploy' })).toThrow("must not start with 'aws.'");
  });
});
