import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GRANT_RETENTION_MS } from '../operator-controls';
import type { DeploymentHold, HoldSettlement } from '../hold-domain';
import type { CodeDeployOutcome, HoldStore } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem } from './dynamodb-attributes';

/**
 * The holds over the control table: one item per held deployment (`hold#<deploymentId>`, its
 * attributes the hold itself, readable in the console, with a TTL GRANT_RETENTION_MS after it ends)
 * and one string set of the open ones (`holds#open`), which the hold timeouts read each minute
 * instead of scanning the table. Reads are consistent; the settlement is a conditional update.
 */
export class DynamoDbHoldStore implements HoldStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async open(hold: DeploymentHold): Promise<DeploymentHold> {
    const key = { key: CONTROL_KEYS.hold(hold.deploymentId) };
    let stored = hold;
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...hold, ...key, expiresAt: expiry(hold) }),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      stored = (await this.read(hold.deploymentId)) ?? hold;
    }
    if (!stored.settled) await this.updateListing('ADD', hold.deploymentId);
    return stored;
  }

  async read(deploymentId: string): Promise<DeploymentHold | undefined> {
    const key = { key: CONTROL_KEYS.hold(deploymentId) };
    const answer = await call('GetItem', this.tableName, key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return answer.Item ? holdOf(fromItem(answer.Item), { tableName: this.tableName, key }) : undefined;
  }

  async settle(deploymentId: string, settlement: HoldSettlement): Promise<{ readonly won: boolean; readonly hold: DeploymentHold }> {
    const key = { key: CONTROL_KEYS.hold(deploymentId) };
    try {
      const answer = await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(key),
            UpdateExpression: 'SET settled = :settled',
            ConditionExpression: 'attribute_exists(#key) AND attribute_not_exists(settled)',
            ExpressionAttributeNames: { '#key': 'key' },
            ExpressionAttributeValues: { ':settled': toAttribute(settlement, 'settled') },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { won: true, hold: holdOf(fromItem(answer.Attributes ?? {}), { tableName: this.tableName, key }) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const hold = await this.read(deploymentId);
      if (!hold) throw new Error(`no hold of ${deploymentId} in table ${this.tableName}: Deploy Guard holds no such deployment`);
      return { won: false, hold };
    }
  }

  async recordAnswer(deploymentId: string, answer: CodeDeployOutcome): Promise<void> {
    const key = { key: CONTROL_KEYS.hold(deploymentId) };
    await call('UpdateItem', this.tableName, key, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET settled.answer = :answer',
          ConditionExpression: 'attribute_exists(settled)',
          ExpressionAttributeValues: { ':answer': toAttribute(answer, 'answer') },
        }),
      ),
    );
  }

  async openIds(): Promise<readonly string[]> {
    const key = { key: CONTROL_KEYS.openHolds };
    const answer = await call('GetItem', this.tableName, key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return [...(answer.Item?.ids?.SS ?? [])].sort();
  }

  async closeListing(deploymentId: string): Promise<void> {
    await this.updateListing('DELETE', deploymentId);
  }

  private async updateListing(operation: 'ADD' | 'DELETE', deploymentId: string): Promise<void> {
    const key = { key: CONTROL_KEYS.openHolds };
    await call('UpdateItem', this.tableName, key, () =>
      this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: keyOf(key), UpdateExpression: `${operation} ids :id`, ExpressionAttributeValues: { ':id': { SS: [deploymentId] } } })),
    );
  }
}

/** The DynamoDB TTL (epoch seconds) of a hold's item: GRANT_RETENTION_MS after its timeout. */
function expiry(hold: Pick<DeploymentHold, 'until'>): number {
  return Math.floor((hold.until + GRANT_RETENTION_MS) / 1000);
}

function holdOf(value: Record<string, unknown>, where: Parameters<typeof required>[3]): DeploymentHold {
  const settled = value.settled as HoldSettlement | undefined;
  return {
    deploymentId: required(value, 'deploymentId', 'string', where),
    application: required(value, 'application', 'string', where),
    deploymentGroup: required(value, 'deploymentGroup', 'string', where),
    platform: required(value, 'platform', 'string', where) as DeploymentHold['platform'],
    since: required(value, 'since', 'number', where),
    until: required(value, 'until', 'number', where),
    onTimeout: required(value, 'onTimeout', 'string', where) as DeploymentHold['onTimeout'],
    reason: required(value, 'reason', 'string', where),
    ...(typeof value.hookExecutionId === 'string' ? { hookExecutionId: value.hookExecutionId } : {}),
    ...(typeof value.pipelineJobId === 'string' ? { pipelineJobId: value.pipelineJobId } : {}),
    ...(settled ? { settled } : {}),
  };
}
