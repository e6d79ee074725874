import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EMITTED_EVENTS } from '../../events/emitted';
import { sample } from '../../events/samples';
import { DynamoDbStoreError } from '../../handlers/adapters/dynamodb-attributes';
import { DynamoDbShadowDigestStore } from '../../handlers/adapters/dynamodb-digests';
import { DynamoDbRollbackLedger } from '../../handlers/adapters/dynamodb-ledger';
import { DynamoDbChangeSummaryStore, DynamoDbControlStore, DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import type { OutcomeRecord } from '../../handlers/ports';
import { startLocalDynamoDb } from '../../local/dynalite';

/**
 * The exact requests the DynamoDB adapters send (tables, keys, conditions, names and values), what
 * a failed condition means, and that any other error names the table and the key.
 */

const dynamoDb = mockClient(DynamoDBClient);
const client = () => new DynamoDBClient({ region: 'us-east-1' });
const $metadata = {};
const conditionFailed = (item?: Record<string, unknown>) =>
  Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }), item ? { Item: item } : {});
const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });

// The deployment of the real CodeDeploy SUCCESS sample.
const success = sample('codedeploy-deployment-state-change.success.json').event as { time: string; detail: Record<string, string> };
const deploymentId = success.detail.deploymentId;
const startedAt = Date.parse(success.time);
const finished: OutcomeRecord = {
  deploymentId,
  application: success.detail.application,
  deploymentGroup: success.detail.deploymentGroup,
  state: 'SUCCESS',
  label: 'succeeded',
  finishedAt: startedAt + 60_000,
};

beforeEach(() => dynamoDb.reset());

describe('DynamoDbDeploymentStore', () => {
  const store = () => new DynamoDbDeploymentStore(client(), 'dg-dev-deployments');

  it('finds its history table by the <prefix>-<name> convention, or is told it; a name off the convention is refused', () => {
    expect(store().historyTableName).toBe('dg-dev-history');
    expect(new DynamoDbDeploymentStore(client(), 'custom', 'custom-history').historyTableName).toBe('custom-history');
    expect(() => new DynamoDbDeploymentStore(client(), 'custom')).toThrow("deployments table 'custom' is not named <prefix>-deployments");
  });

  /** The least of an assessment the request shows: its deployment, group and time (the index's keys), and `fields`. */
  const indexable = (fields: Record<string, unknown>) =>
    ({ deploymentId, application: 'myApplication', deploymentGroup: 'myDeploymentGroup', assessedAt: startedAt + 1_500, ...fields }) as never;

  it('putAssessment: UpdateItem conditional on attribute_not_exists(assessment), ALL_NEW, ALL_OLD on failure', async () => {
    dynamoDb.on(UpdateItemCommand).resolves({ Attributes: { deploymentId: { S: deploymentId }, assessment: { M: { probability: { N: '0.8125' } } }, trainingRowWritten: { BOOL: false } } });
    const assessment = indexable({ probability: 0.8125 });
    await expect(store().putAssessment(assessment)).resolves.toEqual({
      created: true,
      item: { deploymentId, assessment: { probability: 0.8125 }, trainingRowWritten: false },
    });
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-deployments',
      Key: { deploymentId: { S: deploymentId } },
      // The index's keys (assessments by group and time) in the same update.
      UpdateExpression: 'SET #record = :record, #written = if_not_exists(#written, :false), #i0 = :i0, #i1 = :i1',
      ConditionExpression: 'attribute_not_exists(#record)',
      ExpressionAttributeNames: { '#record': 'assessment', '#written': 'trainingRowWritten', '#i0': 'assessedGroup', '#i1': 'assessedTime' },
      ExpressionAttributeValues: {
        ':record': {
          M: {
            deploymentId: { S: deploymentId },
            application: { S: 'myApplication' },
            deploymentGroup: { S: 'myDeploymentGroup' },
            assessedAt: { N: String(startedAt + 1_500) },
            probability: { N: '0.8125' },
          },
        },
        ':false': { BOOL: false },
        ':i0': { S: 'myApplication/myDeploymentGroup' },
        ':i1': { S: new Date(startedAt + 1_500).toISOString() },
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('putAssessment: a failed condition is a duplicate, answered from the item DynamoDB returns with the exception (no extra read)', async () => {
    dynamoDb.on(UpdateItemCommand).rejects(conditionFailed({ deploymentId: { S: deploymentId }, assessment: { M: { probability: { N: '0.1' } } }, trainingRowWritten: { BOOL: true } }));
    await expect(store().putAssessment(indexable({ probability: 0.9 }))).resolves.toEqual({
      created: false,
      item: { deploymentId, assessment: { probability: 0.1 }, trainingRowWritten: true },
    });
    expect(dynamoDb).not.toHaveReceivedCommand(GetItemCommand);
  });

  it('refuses NaN before any call, naming where it is', async () => {
    await expect(store().putAssessment(indexable({ threshold: Number.NaN }))).rejects.toThrow('cannot store NaN at assessment.threshold');
    expect(dynamoDb).not.toHaveReceivedAnyCommand();
  });

  it('any other error propagates as DynamoDbStoreError naming the table and the key', async () => {
    dynamoDb.on(UpdateItemCommand).rejects(throttled());
    const failure = store().putAssessment(indexable({}));
    await expect(failure).rejects.toThrow(DynamoDbStoreError);
    await expect(store().putAssessment(indexable({}))).rejects.toThrow(
      `DynamoDB UpdateItem on table dg-dev-deployments, key {"deploymentId":"${deploymentId}"}, failed: ProvisionedThroughputExceededException: Rate of requests exceeds`,
    );
  });

  it('putOutcome: stores outcome and history entry together, then the history item (first writer wins), then counts it by compare-and-set', async () => {
    const at = `${success.time.replace('Z', '.000Z')}#${deploymentId}`;
    const group = 'myApplication/myDeploymentGroup';
    dynamoDb.on(UpdateItemCommand).resolves({ Attributes: { deploymentId: { S: deploymentId }, trainingRowWritten: { BOOL: false } } });
    dynamoDb.on(PutItemCommand).resolves({});
    dynamoDb.on(GetItemCommand).resolves({});

    await store().putOutcome(finished, { time: startedAt, failed: false, author: 'dev@example.com' });

    expect(dynamoDb).toHaveReceivedNthCommandWith(1, UpdateItemCommand, {
      TableName: 'dg-dev-deployments',
      Key: { deploymentId: { S: deploymentId } },
      UpdateExpression: 'SET #record = :record, #written = if_not_exists(#written, :false), #history = :history',
      ConditionExpression: 'attribute_not_exists(#record)',
      ExpressionAttributeNames: { '#record': 'outcome', '#written': 'trainingRowWritten', '#history': 'history' },
      ExpressionAttributeValues: expect.objectContaining({
        ':history': { M: { group: { S: group }, at: { S: at }, time: { N: String(startedAt) }, failed: { BOOL: false }, author: { S: 'dev@example.com' } } },
      }),
    });
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-history',
      Item: {
        group: { S: group },
        at: { S: at },
        time: { N: String(startedAt) },
        failed: { BOOL: false },
        author: { S: 'dev@example.com' },
        deploymentId: { S: deploymentId },
      },
      ConditionExpression: 'attribute_not_exists(#a)',
      ExpressionAttributeNames: { '#a': 'at' },
    });
    expect(dynamoDb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'dg-dev-history', Key: { group: { S: group }, at: { S: '~counts' } }, ConsistentRead: true });
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-history',
      Key: { group: { S: group }, at: { S: '~counts' } },
      UpdateExpression: 'ADD #known :one, #failures :failed SET #last = :at',
      ConditionExpression: 'attribute_not_exists(#last)',
      ExpressionAttributeNames: { '#known': 'known', '#failures': 'failures', '#last': 'lastAt' },
      ExpressionAttributeValues: { ':one': { N: '1' }, ':failed': { N: '0' }, ':at': { S: at } },
    });
  });

  it('markTrainingRowWritten: conditional UpdateItem; a failed condition is false', async () => {
    dynamoDb.on(UpdateItemCommand).resolvesOnce({}).rejects(conditionFailed());
    await expect(store().markTrainingRowWritten(deploymentId)).resolves.toBe(true);
    await expect(store().markTrainingRowWritten(deploymentId)).resolves.toBe(false);
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-deployments',
      Key: { deploymentId: { S: deploymentId } },
      UpdateExpression: 'SET #written = :true',
      ConditionExpression: 'attribute_exists(#id) AND #written = :false',
      ExpressionAttributeNames: { '#id': 'deploymentId', '#written': 'trainingRowWritten' },
      ExpressionAttributeValues: { ':true': { BOOL: true }, ':false': { BOOL: false } },
    });
  });

  it('groupHistory: one Query newest first with the limit, before the time, returned oldest first', async () => {
    dynamoDb.on(QueryCommand).resolves({ Items: [{ time: { N: '3' }, failed: { BOOL: true } }, { time: { N: '1' }, author: { S: 'ana' } }] });
    await expect(store().groupHistory('myApplication', 'myDeploymentGroup', startedAt, 20)).resolves.toEqual([{ time: 1, author: 'ana' }, { time: 3, failed: true }]);
    expect(dynamoDb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'dg-dev-history',
      KeyConditionExpression: '#g = :g AND #a < :before',
      ExpressionAttributeNames: { '#g': 'group', '#a': 'at', '#t': 'time', '#f': 'failed', '#u': 'author' },
      ExpressionAttributeValues: { ':g': { S: 'myApplication/myDeploymentGroup' }, ':before': { S: '2016-06-30T22:06:31.000Z' } },
      ProjectionExpression: '#t, #f, #u',
      ScanIndexForward: false,
      Limit: 20,
      ConsistentRead: true,
    });
  });

  it('groupCounts: the counters item minus the counted outcomes that started at or after the time', async () => {
    dynamoDb.on(GetItemCommand).resolves({ Item: { known: { N: '7' }, failures: { N: '3' }, lastAt: { S: '2016-07-01T00:00:00.000Z#d-2' } } });
    dynamoDb.on(QueryCommand).resolves({
      Items: [
        { at: { S: '2016-06-30T23:00:00.000Z#d-1' }, failed: { BOOL: true }, counted: { BOOL: true } },
        { at: { S: '2016-07-01T00:00:00.000Z#d-2' }, failed: { BOOL: false } },
        { at: { S: '2016-07-01T01:00:00.000Z#d-3' }, failed: { BOOL: true } },
      ],
    });
    await expect(store().groupCounts('myApplication', 'myDeploymentGroup', startedAt)).resolves.toEqual({ known: 5, failures: 2 });
    expect(dynamoDb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'dg-dev-history',
      KeyConditionExpression: '#g = :g AND #a BETWEEN :from AND :end',
      ExpressionAttributeNames: { '#g': 'group', '#a': 'at', '#f': 'failed', '#c': 'counted' },
      ExpressionAttributeValues: { ':g': { S: 'myApplication/myDeploymentGroup' }, ':from': { S: '2016-06-30T22:06:31.000Z' }, ':end': { S: '~' } },
      ProjectionExpression: '#a, #f, #c',
      ConsistentRead: true,
    });
  });
});

describe('DynamoDbChangeSummaryStore', () => {
  const summary = EMITTED_EVENTS['Deployment Change Summary'].example;
  const key = { application: { S: 'checkout' }, revision: { S: 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' } };

  const sender = { eventId: '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f', account: '123456789012', source: 'deploy-guard', resources: [] };

  it('put: PutItem keyed on application and revision key, only if the revision has no item; the summary as a map, its sender, expiresAt 90 days later (epoch seconds)', async () => {
    dynamoDb.on(PutItemCommand).resolves({});
    const receivedAt = Date.parse('2026-11-20T09:14:00Z');
    await expect(new DynamoDbChangeSummaryStore(client(), 'dg-dev-changes').put({ summary, receivedAt, sender })).resolves.toEqual({ stored: true });
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-changes',
      Item: expect.objectContaining({ ...key, receivedAt: { N: String(receivedAt) }, expiresAt: { N: String(receivedAt / 1000 + 90 * 86_400) } }),
      ConditionExpression: 'attribute_not_exists(#application)',
      ExpressionAttributeNames: { '#application': 'application' },
    });
    const item = dynamoDb.commandCalls(PutItemCommand)[0].args[0].input.Item;
    expect(item?.summary?.M?.change?.M?.linesAdded).toEqual({ N: '412' });
    expect(item?.summary?.M?.revision).toEqual({ M: { commitId: { S: summary.revision.commitId } } });
    expect(item?.sender?.M?.eventId).toEqual({ S: sender.eventId });
  });

  it('findForDeployment: seals the revision (the first start time stays) and returns its summary', async () => {
    dynamoDb.on(UpdateItemCommand).resolves({ Attributes: { ...key, sealedAt: { N: '1' } } });
    const startedAt = Date.parse('2026-11-20T10:00:00Z');
    await expect(new DynamoDbChangeSummaryStore(client(), 'dg-dev-changes').findForDeployment('checkout', 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a', startedAt)).resolves.toBeUndefined();
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-changes',
      Key: key,
      UpdateExpression: 'SET #sealed = if_not_exists(#sealed, :startedAt), #expires = if_not_exists(#expires, :expires)',
      ExpressionAttributeValues: { ':startedAt': { N: String(startedAt) }, ':expires': { N: String(startedAt / 1000 + 90 * 86_400) } },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('find: consistent GetItem of the revision; other errors name the table and key', async () => {
    dynamoDb.on(GetItemCommand).resolvesOnce({}).rejects(throttled());
    const store = new DynamoDbChangeSummaryStore(client(), 'dg-dev-changes');
    await expect(store.find('checkout', 'git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a')).resolves.toBeUndefined();
    expect(dynamoDb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'dg-dev-changes', Key: key, ConsistentRead: true });
    await expect(store.find('checkout', 'git:x')).rejects.toThrow('DynamoDB GetItem on table dg-dev-changes, key {"application":"checkout","revision":"git:x"}, failed: ProvisionedThroughputExceededException');
  });
});

describe('DynamoDbControlStore', () => {
  const store = () => new DynamoDbControlStore(client(), 'dg-dev-control');
  const pointer = { modelVersion: 'v2', modelDataUrl: 's3://m/v2/model.tar.gz', featuresUrl: 's3://m/v2/features.json', promotedAt: 1 };

  it('swapServingModel: PutItem conditional on the expected version; a failed condition is false', async () => {
    dynamoDb.on(PutItemCommand).resolvesOnce({}).rejects(conditionFailed());
    await expect(store().swapServingModel(pointer, 'v1')).resolves.toBe(true);
    await expect(store().swapServingModel(pointer, 'v1')).resolves.toBe(false);
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-control',
      Item: {
        key: { S: 'model#serving' },
        modelVersion: { S: 'v2' },
        modelDataUrl: { S: 's3://m/v2/model.tar.gz' },
        featuresUrl: { S: 's3://m/v2/features.json' },
        promotedAt: { N: '1' },
      },
      ConditionExpression: '#current = :expected',
      ExpressionAttributeNames: { '#current': 'modelVersion' },
      ExpressionAttributeValues: { ':expected': { S: 'v1' } },
    });
  });

  it('recordRetraining over none: PutItem conditional on attribute_not_exists(key)', async () => {
    dynamoDb.on(PutItemCommand).resolves({});
    await store().recordRetraining({ trainingJobName: 'job-1', alarmName: 'a', startedAt: 5 }, null);
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-control',
      Item: { key: { S: 'retraining#last' }, trainingJobName: { S: 'job-1' }, alarmName: { S: 'a' }, startedAt: { N: '5' } },
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'key' },
    });
  });

  it('recordJobVerdict: PutItem of job#<name>, conditional on attribute_not_exists(key); readJobVerdict checks the verdict', async () => {
    dynamoDb.on(PutItemCommand).resolves({});
    await store().recordJobVerdict({ trainingJobName: 'job-1', verdict: 'rejected', detail: 'below-minimum', decidedAt: 5 });
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-control',
      Item: { key: { S: 'job#job-1' }, trainingJobName: { S: 'job-1' }, verdict: { S: 'rejected' }, detail: { S: 'below-minimum' }, decidedAt: { N: '5' } },
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'key' },
    });
    dynamoDb.on(GetItemCommand).resolves({ Item: { key: { S: 'job#job-1' }, trainingJobName: { S: 'job-1' }, verdict: { S: 'maybe' }, detail: { S: 'x' }, decidedAt: { N: '5' } } });
    await expect(store().readJobVerdict('job-1')).rejects.toThrow('table dg-dev-control, key {"key":"job#job-1"}: attribute verdict is "maybe", expected "promoted" or "rejected"');
  });

  it('reading an item without a field it needs names the table, key and attribute', async () => {
    dynamoDb.on(GetItemCommand).resolves({ Item: { key: { S: 'model#serving' }, modelVersion: { S: 'v2' } } });
    await expect(store().readServingModel()).rejects.toThrow('table dg-dev-control, key {"key":"model#serving"}: attribute modelDataUrl is undefined, expected a string');
  });
});

describe('DynamoDbRollbackLedger', () => {
  const ledger = () => new DynamoDbRollbackLedger(client(), 'dg-dev-control');
  const at = Date.parse('2026-11-20T09:20:07Z');
  const key = { key: { S: `rollback#${deploymentId}` } };
  const claim = { deploymentId, action: 'StopDeployment' as const, token: 'e-1/StopDeployment', at };

  it('claim: one UpdateItem: new, or without outcome the own token, a lease-expired claim of the action, or (a rollback) a proceed without attempt', async () => {
    dynamoDb.on(UpdateItemCommand).resolves({});
    await expect(ledger().claim(claim)).resolves.toMatchObject({ claimed: true, entry: { openedAt: at, dueCounted: false } });
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-control',
      Key: key,
      UpdateExpression:
        'SET #deploymentId = :deploymentId, #action = :action, #claimToken = :token, #claimedAt = :at, #published = :false, #expiresAt = :expiresAt, ' +
        '#openedAt = if_not_exists(#openedAt, :at), #openedBy = if_not_exists(#openedBy, :token), #dueCounted = if_not_exists(#dueCounted, :false)',
      ConditionExpression:
        'attribute_not_exists(#key) OR (attribute_not_exists(#outcome) AND (#claimToken = :token OR (#action = :action AND #claimedAt <= :leaseExpiredAt) OR (#action = :continue AND attribute_not_exists(#attempt))))',
      ExpressionAttributeValues: expect.objectContaining({
        ':token': { S: 'e-1/StopDeployment' },
        ':leaseExpiredAt': { N: String(at - 45_000) },
        ':expiresAt': { N: String(at / 1000 + 90 * 86_400) },
        ':continue': { S: 'ContinueDeployment' },
      }),
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('claim: a proceed never supersedes anything (no such branch in its condition)', async () => {
    dynamoDb.on(UpdateItemCommand).resolves({});
    await ledger().claim({ ...claim, action: 'ContinueDeployment', token: 'e-1/ContinueDeployment' });
    const input = dynamoDb.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input.ConditionExpression).not.toContain(':continue');
    expect(input.ExpressionAttributeValues).not.toHaveProperty(':continue');
  });

  it('claim: a failed condition on another claim is held, with the entry DynamoDB returned; on our own claim (an earlier write applied) it is ours', async () => {
    const item = (token: string) => ({ ...key, deploymentId: { S: deploymentId }, action: { S: 'StopDeployment' }, claimToken: { S: token }, claimedAt: { N: String(at) }, openedAt: { N: String(at) }, openedBy: { S: token }, published: { BOOL: false } });
    dynamoDb.on(UpdateItemCommand).rejectsOnce(conditionFailed(item('e-9/StopDeployment'))).rejectsOnce(conditionFailed(item('e-1/StopDeployment')));
    await expect(ledger().claim(claim)).resolves.toMatchObject({ claimed: false, entry: { claimToken: 'e-9/StopDeployment' } });
    await expect(ledger().claim(claim)).resolves.toMatchObject({ claimed: true, entry: { claimToken: 'e-1/StopDeployment' } });
  });

  it('record: UpdateItem of the outcome held by the token, once; a lost answer whose write holds our outcome is done; another claim is named', async () => {
    const outcome = { kind: 'completed' as const, action: 'StopDeployment' as const, at };
    const recorded = { ...key, deploymentId: { S: deploymentId }, action: { S: 'StopDeployment' }, claimToken: { S: 'e-1/StopDeployment' }, claimedAt: { N: String(at) }, published: { BOOL: false }, outcome: { M: { kind: { S: 'completed' }, action: { S: 'StopDeployment' }, at: { N: String(at) } } } };
    dynamoDb.on(UpdateItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed(recorded)).rejects(conditionFailed({ ...recorded, claimToken: { S: 'e-2/StopDeployment' } }));
    await ledger().record(deploymentId, 'e-1/StopDeployment', outcome);
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-control',
      Key: key,
      UpdateExpression: 'SET #outcome = :outcome',
      ConditionExpression: '#claimToken = :token AND attribute_not_exists(#outcome)',
      ExpressionAttributeNames: { '#claimToken': 'claimToken', '#outcome': 'outcome' },
      ExpressionAttributeValues: { ':outcome': { M: { kind: { S: 'completed' }, action: { S: 'StopDeployment' }, at: { N: String(at) } } }, ':token': { S: 'e-1/StopDeployment' } },
    });
    await expect(ledger().record(deploymentId, 'e-1/StopDeployment', outcome)).resolves.toBeUndefined();
    await expect(ledger().record(deploymentId, 'e-1/StopDeployment', outcome)).rejects.toThrow(
      `deployment ${deploymentId}: claim e-1/StopDeployment no longer holds the rollback ledger (table dg-dev-control, key rollback#${deploymentId}; held by e-2/StopDeployment, outcome recorded): cannot record the outcome`,
    );
  });

  it('markPublished without a claim names the deployment', async () => {
    dynamoDb.on(UpdateItemCommand).rejects(conditionFailed());
    dynamoDb.on(GetItemCommand).resolves({});
    await expect(ledger().markPublished(deploymentId)).rejects.toThrow(
      `deployment ${deploymentId} has no claim in the rollback ledger (table dg-dev-control, key rollback#${deploymentId}): claim it before you mark the outcome published`,
    );
  });

  it('any other error propagates naming the table and key; a lease that is not a positive duration is refused', async () => {
    dynamoDb.on(UpdateItemCommand).rejects(throttled());
    await expect(ledger().claim(claim)).rejects.toThrow(
      `DynamoDB UpdateItem on table dg-dev-control, key {"key":"rollback#${deploymentId}"}, failed: ProvisionedThroughputExceededException`,
    );
    expect(() => new DynamoDbRollbackLedger(client(), 't', { leaseMs: 0 })).toThrow('rollback ledger lease 0 ms must be a positive number of milliseconds');
  });
});

describe('DynamoDbShadowDigestStore', () => {
  const store = () => new DynamoDbShadowDigestStore(client(), 'dg-dev-control');
  const from = Date.parse('2026-12-01T09:00:00Z');
  const to = Date.parse('2026-12-02T09:00:00Z');
  const key = { key: { S: 'shadowdigest#2026-12-01T09:00:00.000Z' } };
  const claim = { from, to, token: 'e-1', claimedAt: to + 2_000 };
  const item = { ...key, from: { N: String(from) }, to: { N: String(to) }, token: { S: 'e-1' }, claimedAt: { N: String(to + 2_000) }, expiresAt: { N: String(to / 1000 + 30 * 86_400) } };

  it("claim of a day nobody claimed: PutItem of shadowdigest#<start of the day>, conditional on attribute_not_exists(key), kept 30 days after the day's end", async () => {
    dynamoDb.on(PutItemCommand).resolves({});
    await expect(store().claim(claim, null)).resolves.toBe(true);
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'dg-dev-control',
      Item: item,
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'key' },
    });
  });

  it('claim over a claim read: PutItem conditional on its token and time and on no sent; a failed condition on another claim is false, on this very claim (its answer lost) true', async () => {
    dynamoDb.on(PutItemCommand).rejects(conditionFailed());
    dynamoDb.on(GetItemCommand).resolvesOnce({ Item: { ...item, token: { S: 'e-9' } } }).resolvesOnce({ Item: { ...item, token: { S: 'e-2' }, claimedAt: { N: String(to + 200_000) } } });
    const takeover = { ...claim, token: 'e-2', claimedAt: to + 200_000 };
    await expect(store().claim(takeover, { token: 'e-1', claimedAt: to + 2_000 })).resolves.toBe(false);
    await expect(store().claim(takeover, { token: 'e-1', claimedAt: to + 2_000 })).resolves.toBe(true);
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: '#token = :token AND #claimedAt = :claimedAt AND attribute_not_exists(#sent)',
      ExpressionAttributeNames: { '#token': 'token', '#claimedAt': 'claimedAt', '#sent': 'sent' },
      ExpressionAttributeValues: { ':token': { S: 'e-1' }, ':claimedAt': { N: String(to + 2_000) } },
    });
    expect(dynamoDb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'dg-dev-control', Key: key, ConsistentRead: true });
  });

  it('markSent: UpdateItem keeping the first sent, on an existing claim only; none names the day and the table', async () => {
    const sent = { at: to + 3_000, eventId: 'e-1', subject: 'Deploy Guard shadow digest (dev): 1 would-be stop in 2 deployments', messageIds: ['m-1'] };
    dynamoDb.on(UpdateItemCommand).resolvesOnce({}).rejects(conditionFailed());
    await store().markSent(from, sent);
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'dg-dev-control',
      Key: key,
      UpdateExpression: 'SET #sent = if_not_exists(#sent, :sent)',
      ConditionExpression: 'attribute_exists(#key)',
      ExpressionAttributeNames: { '#key': 'key', '#sent': 'sent' },
      ExpressionAttributeValues: { ':sent': { M: { at: { N: String(to + 3_000) }, eventId: { S: 'e-1' }, subject: { S: sent.subject }, messageIds: { L: [{ S: 'm-1' }] } } } },
    });
    await expect(store().markSent(from, sent)).rejects.toThrow('no claim of the shadow digest of 2026-12-01T09:00:00.000Z in table dg-dev-control: nothing to mark sent');
  });

  it('reading a claim without a field it needs names the table, key and attribute; any other error names the table and key', async () => {
    dynamoDb.on(GetItemCommand).resolvesOnce({ Item: { ...key, from: { N: String(from) }, to: { N: String(to) }, claimedAt: { N: '1' } } }).rejects(throttled());
    await expect(store().read(from)).rejects.toThrow('table dg-dev-control, key {"key":"shadowdigest#2026-12-01T09:00:00.000Z"}: attribute token is undefined, expected a string');
    await expect(store().read(from)).rejects.toThrow('DynamoDB GetItem on table dg-dev-control, key {"key":"shadowdigest#2026-12-01T09:00:00.000Z"}, failed: ProvisionedThroughputExceededException');
  });
});

// Last in the file: it restores the real client (the mock stubs every DynamoDBClient).
describe('DynamoDbDeploymentStore against dynalite: a crash between the writes of putOutcome', () => {
  it('is completed by the redelivery: the history item and the count appear once', async () => {
    dynamoDb.restore();
    const local = await startLocalDynamoDb({ prefix: 'crash' });
    try {
      const store = new DynamoDbDeploymentStore(local.client, local.tableNames.deployments);
      const send = local.client.send.bind(local.client) as (command: unknown) => Promise<unknown>;
      let crashed = false;
      // The Lambda dies right after the outcome is stored: its history write never happens.
      (local.client as unknown as { send: (command: unknown) => Promise<unknown> }).send = (command) => {
        if (!crashed && command instanceof PutItemCommand && command.input.TableName === local.tableNames.history) {
          crashed = true;
          return Promise.reject(Object.assign(new Error('Task timed out'), { name: 'TimeoutError' }));
        }
        return send(command);
      };
      const failed = { ...finished, state: 'FAILURE' as const, label: 'failed' as const };
      await expect(store.putOutcome(failed, { time: startedAt, failed: true })).rejects.toThrow(`DynamoDB PutItem on table ${local.tableNames.history}`);
      expect(await store.groupHistory(failed.application, failed.deploymentGroup, startedAt + 1, 10)).toEqual([]);

      const redelivery = await store.putOutcome(failed, { time: startedAt, failed: true });
      expect(redelivery.created).toBe(false);
      await store.putOutcome(failed, { time: startedAt, failed: true });
      expect(await store.groupHistory(failed.application, failed.deploymentGroup, startedAt + 1, 10)).toEqual([{ time: startedAt, failed: true }]);
      expect(await store.groupCounts(failed.application, failed.deploymentGroup, startedAt + 1)).toEqual({ known: 1, failures: 1 });
    } finally {
      await local.close();
    }
  });
});
