import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { buildEntry, EMITTED_EVENTS } from '../../events/emitted';
import { batches, EventBridgePublisher, PublishError } from '../../handlers/adapters/event-publisher';

const eventBridge = mockClient(EventBridgeClient);
const context = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' };
const riskAssessed = () => buildEntry('Deployment Risk Assessed', EMITTED_EVENTS['Deployment Risk Assessed'].example, context);
const rollbackRequested = () => buildEntry('Deployment Rollback Requested', EMITTED_EVENTS['Deployment Rollback Requested'].example, context);

function publisher(sleeps: number[] = []) {
  return new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), {
    sleep: async (milliseconds) => void sleeps.push(milliseconds),
  });
}

beforeEach(() => eventBridge.reset());

describe('EventBridgePublisher', () => {
  it('sends the entries as built, in one PutEvents call', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    await publisher().publish([riskAssessed(), rollbackRequested()]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, { Entries: [riskAssessed(), rollbackRequested()] });
  });

  it('retries only the entries that failed, with backoff', async () => {
    const sleeps: number[] = [];
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await publisher(sleeps).publish([riskAssessed(), rollbackRequested()]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(eventBridge).toHaveReceivedNthCommandWith(2, PutEventsCommand, { Entries: [rollbackRequested()] });
    expect(sleeps).toEqual([100]);
  });

  it('raises a PublishError naming what is still refused after its attempts', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] });
    const sleeps: number[] = [];
    await expect(publisher(sleeps).publish([rollbackRequested()])).rejects.toThrow(
      new PublishError([{ detailType: 'Deployment Rollback Requested', errorCode: 'InternalFailure', errorMessage: 'try later' }]),
    );
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect(sleeps).toEqual([100, 200]);
  });

  it('does not retry an entry no retry can fix', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }] });
    await expect(publisher().publish([rollbackRequested()])).rejects.toThrow('Deployment Rollback Requested: MalformedDetail Detail is malformed.');
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });

  it('sends nothing when there is nothing to send', async () => {
    await publisher().publish([]);
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('splits into requests of at most 10 entries and 256 KB', () => {
    expect(batches(Array.from({ length: 23 }, riskAssessed)).map((batch) => batch.length)).toEqual([10, 10, 3]);
    const big = { ...riskAssessed(), Detail: JSON.stringify({ pad: 'x'.repeat(100_000) }) };
    expect(batches([big, big, big]).map((batch) => batch.length)).toEqual([2, 1]);
  });
});
