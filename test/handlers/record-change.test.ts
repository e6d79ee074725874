import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, revisionKey } from '../../events/emitted';
import { EventValidationError } from '../../events/validation';
import { InMemoryChangeSummaryStore } from '../../handlers/adapters/in-memory-stores';
import type { ChangeSummary, ChangeSummaryStore } from '../../handlers/ports';
import { handleRecordChangeEvent, recordChangeConfigFromEnv, type RecordChangeDependencies } from '../../handlers/record-change';

const example = EMITTED_EVENTS['Deployment Change Summary'].example;
const RECEIVED = '2026-11-20T09:14:03Z';

/** A Deployment Change Summary as Deploy Guard's bus delivers it to the Lambda. */
function delivered(detail: unknown, source = 'deploy-guard') {
  const entry = buildEntry('Deployment Change Summary', detail as never, { source, eventBusName: 'deploy-guard-dev' });
  return {
    version: '0',
    id: '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: '2026-11-20T09:14:01Z',
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail),
  };
}

/** Records every call, so a test can require that nothing was stored. */
class RecordingStore implements ChangeSummaryStore {
  readonly inner = new InMemoryChangeSummaryStore();
  readonly puts: { summary: ChangeSummary; receivedAt: number }[] = [];
  async put(summary: ChangeSummary, receivedAt: number): Promise<void> {
    this.puts.push({ summary, receivedAt });
    await this.inner.put(summary);
  }
  find(application: string, key: string): Promise<ChangeSummary | undefined> {
    return this.inner.find(application, key);
  }
}

function dependencies(source = 'deploy-guard'): RecordChangeDependencies & { store: RecordingStore } {
  return { store: new RecordingStore(), clock: new ManualClock(RECEIVED), config: { source } };
}

describe('record-change', () => {
  it('stores the documented summary under its application and revision key, with the time it was received', async () => {
    const deps = dependencies();
    const result = await handleRecordChangeEvent(delivered(example), deps);

    const key = `git:${example.revision.commitId}`;
    expect(result).toEqual({ status: 'stored', application: 'checkout', revisionKey: key, fields: 10, receivedAt: Date.parse(RECEIVED) });
    expect(deps.store.puts).toEqual([{ summary: example, receivedAt: Date.parse(RECEIVED) }]);
    await expect(deps.store.find('checkout', key)).resolves.toEqual(example);
    expect(revisionKey(example.revision)).toBe(key);
  });

  it('keys an S3 revision by bucket, key and version; the newest summary of a revision wins', async () => {
    const deps = dependencies();
    const revision = { s3: { bucket: 'acme-releases', key: 'checkout/build-42.zip', version: 'v7' } };
    await handleRecordChangeEvent(delivered({ ...example, revision, change: { commits: 1 } }), deps);
    const result = await handleRecordChangeEvent(delivered({ ...example, revision, change: { commits: 2, linesAdded: 9 } }), deps);

    expect(result.revisionKey).toBe('s3:acme-releases/checkout/build-42.zip@v7');
    expect((await deps.store.find('checkout', result.revisionKey))?.change).toEqual({ commits: 2, linesAdded: 9 });
  });

  it('keeps absent change fields absent (missing values, not zeros)', async () => {
    const deps = dependencies();
    await handleRecordChangeEvent(delivered({ ...example, change: { srcChurn: 0 } }), deps);
    expect(deps.store.puts[0].summary.change).toEqual({ srcChurn: 0 });
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
    expect(deps.store.puts).toEqual([]);
  });

  it("refuses a summary sent with another installation's source, and stores nothing", async () => {
    const deps = dependencies('acme.deploy-guard');
    await expect(handleRecordChangeEvent(delivered(example, 'deploy-guard'), deps)).rejects.toThrow(EventValidationError);
    expect(deps.store.puts).toEqual([]);
    await handleRecordChangeEvent(delivered(example, 'acme.deploy-guard'), deps);
    expect(deps.store.puts).toHaveLength(1);
  });

  it('reads the installation source from the environment, refusing a reserved one', () => {
    expect(recordChangeConfigFromEnv({})).toEqual({ source: 'deploy-guard' });
    expect(recordChangeConfigFromEnv({ DEPLOY_GUARD_EVENT_SOURCE: 'acme.deploy-guard' })).toEqual({ source: 'acme.deploy-guard' });
    expect(() => recordChangeConfigFromEnv({ DEPLOY_GUARD_EVENT_SOURCE: 'aws.codedeploy' })).toThrow("must not start with 'aws.'");
  });
});
