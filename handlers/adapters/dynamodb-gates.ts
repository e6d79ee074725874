import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GRANT_RETENTION_MS } from '../operator-controls';
import type { GateJobRecord, GatePass } from '../pipeline-gate-domain';
import type { GateStore } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem } from './dynamodb-attributes';

/**
 * The pipeline gate's items over the control table: a job's decision (`gatejob#<jobId>`, a
 * conditional put: the first decision stays) and a release's latest pass (`gatepass#…`), each kept
 * GRANT_RETENTION_MS (DynamoDB TTL) after it was decided. Reads are consistent.
 */
export class DynamoDbGateStore implements GateStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async recordJob(record: GateJobRecord): Promise<{ readonly won: boolean; readonly record: GateJobRecord }> {
    const key = { key: CONTROL_KEYS.gateJob(record.jobId) };
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...record, ...key, expiresAt: expiry(record.decidedAt) }),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        ),
      );
      return { won: true, record };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const stored = await this.readJob(record.jobId);
      if (!stored) throw new Error(`the job ${record.jobId} was recorded in table ${this.tableName} and is gone`);
      return { won: false, record: stored };
    }
  }

  async markAnnounced(jobId: string): Promise<void> {
    await this.update(jobId, 'SET announced = :true', { ':true': { BOOL: true } });
  }

  async readJob(jobId: string): Promise<GateJobRecord | undefined> {
    const key = { key: CONTROL_KEYS.gateJob(jobId) };
    const value = await this.read(key);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key };
    required(value, 'jobId', 'string', where);
    required(value, 'decidedAt', 'number', where);
    return withoutKeys(value) as unknown as GateJobRecord;
  }

  async recordAnswered(jobId: string, answered: NonNullable<GateJobRecord['answered']>): Promise<void> {
    await this.update(jobId, 'SET answered = :answered', { ':answered': toAttribute(answered, 'answered') });
  }

  /** An update of a recorded job's item (never creates one). */
  private async update(jobId: string, expression: string, values: Record<string, AttributeValue>): Promise<void> {
    const key = { key: CONTROL_KEYS.gateJob(jobId) };
    await call('UpdateItem', this.tableName, key, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async recordPass(pass: GatePass): Promise<void> {
    const key = { key: CONTROL_KEYS.gatePass(pass.application, pass.revision) };
    await call('PutItem', this.tableName, key, () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: toItem({ ...pass, ...key, expiresAt: expiry(pass.decidedAt) }) })));
  }

  async readPass(application: string, revision: string): Promise<GatePass | undefined> {
    const key = { key: CONTROL_KEYS.gatePass(application, revision) };
    const value = await this.read(key);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key };
    required(value, 'jobId', 'string', where);
    required(value, 'deploymentGroup', 'string', where);
    return withoutKeys(value) as unknown as GatePass;
  }

  async linkDeployment(application: string, revision: string, deploymentId: string): Promise<void> {
    const key = { key: CONTROL_KEYS.gatePass(application, revision) };
    const stored = await this.readPass(application, revision);
    if (!stored || stored.deploymentIds?.includes(deploymentId)) return;
    await call('UpdateItem', this.tableName, key, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET deploymentIds = list_append(if_not_exists(deploymentIds, :none), :id)',
          // Two deliveries at once: the second finds the id there and adds nothing.
          ConditionExpression: 'attribute_exists(#key) AND NOT contains(deploymentIds, :deploymentId)',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':none': { L: [] }, ':id': { L: [{ S: deploymentId }] }, ':deploymentId': { S: deploymentId } },
        }),
      ),
    ).catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
  }

  private async read(key: { readonly key: string }): Promise<Record<string, unknown> | undefined> {
    const answer = await call('GetItem', this.tableName, key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return answer.Item ? fromItem(answer.Item) : undefined;
  }
}

/** The DynamoDB TTL (epoch seconds) of a gate item: GRANT_RETENTION_MS after its decision. */
function expiry(decidedAt: number): number {
  return Math.floor((decidedAt + GRANT_RETENTION_MS) / 1000);
}

/** The record as stored, without the item's own key and TTL. */
function withoutKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== 'key' && name !== 'expiresAt'));
}
