import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GuardAction, LedgerEntry, LedgerOutcome, RollbackLedger } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem } from './dynamodb-attributes';
import { leaseOf, type LedgerOptions } from './in-memory-ledger';

/** Ledger entries expire (DynamoDB TTL on the control table) this long after their claim: far beyond any redelivery. */
export const LEDGER_TTL_DAYS = 90;

/**
 * The rollback ledger over the control table, one item per deployment at key
 * `rollback#<deploymentId>`: deploymentId, action, claimedAt (N, ms), published (BOOL), outcome (M,
 * absent until recorded), expiresAt (TTL, epoch seconds).
 *
 * claim is one conditional PutItem: the item does not exist, or (the lease) it has no outcome, the
 * same action, and a claimedAt at or before `at - leaseMs`. DynamoDB applies writes to an item one at
 * a time, so of two redeliveries racing to re-claim, the second sees the first's new claimedAt and
 * loses. record and markPublished require a claim (attribute_exists), like the in-memory ledger.
 */
export class DynamoDbRollbackLedger implements RollbackLedger {
  private readonly leaseMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    options: LedgerOptions = {},
  ) {
    this.leaseMs = leaseOf(options);
  }

  async claim(deploymentId: string, action: GuardAction, at: number): Promise<boolean> {
    const key = { key: CONTROL_KEYS.rollback(deploymentId) };
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...key, deploymentId, action, claimedAt: at, published: false, expiresAt: Math.floor(at / 1000) + LEDGER_TTL_DAYS * 86_400 }),
            ConditionExpression:
              'attribute_not_exists(#key) OR (attribute_not_exists(#outcome) AND #action = :action AND #claimedAt <= :leaseExpiredAt)',
            ExpressionAttributeNames: { '#key': 'key', '#outcome': 'outcome', '#action': 'action', '#claimedAt': 'claimedAt' },
            ExpressionAttributeValues: { ':action': { S: action }, ':leaseExpiredAt': toAttribute(at - this.leaseMs, 'claimedAt') },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async record(deploymentId: string, outcome: LedgerOutcome): Promise<void> {
    await this.updateClaimed(deploymentId, 'record the outcome', '#outcome', { '#outcome': 'outcome' }, toAttribute(outcome, 'outcome'));
  }

  async markPublished(deploymentId: string): Promise<void> {
    await this.updateClaimed(deploymentId, 'mark the outcome published', '#published', { '#published': 'published' }, { BOOL: true });
  }

  async read(deploymentId: string): Promise<LedgerEntry | undefined> {
    const key = { key: CONTROL_KEYS.rollback(deploymentId) };
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    if (!answer.Item) return undefined;
    const value = fromItem(answer.Item);
    const where = { tableName: this.tableName, key };
    return {
      deploymentId: required(value, 'deploymentId', 'string', where),
      action: required(value, 'action', 'string', where) as GuardAction,
      claimedAt: required(value, 'claimedAt', 'number', where),
      ...(value.outcome === undefined ? {} : { outcome: value.outcome as LedgerOutcome }),
      published: required(value, 'published', 'boolean', where),
    };
  }

  private async updateClaimed(
    deploymentId: string,
    what: string,
    target: string,
    names: Record<string, string>,
    value: AttributeValue,
  ): Promise<void> {
    const key = { key: CONTROL_KEYS.rollback(deploymentId) };
    try {
      await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(key),
            UpdateExpression: `SET ${target} = :value`,
            ConditionExpression: 'attribute_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key', ...names },
            ExpressionAttributeValues: { ':value': value },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger (table ${this.tableName}, key ${key.key}): claim it before you ${what}`);
    }
  }
}
