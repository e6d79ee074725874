import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { groupKey } from '../config';
import { grantExpiry, type DeploymentOverride, type GroupPause } from '../operator-controls';
import type { OperatorControlStore } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, keyOf, required, toItem } from './dynamodb-attributes';

/**
 * The operators' overrides and pauses over the control table: one item each, its attributes the
 * grant itself (readable in the console), with a TTL (`expiresAt`) GRANT_RETENTION_MS after it ends.
 * Reads are consistent: an override set a second before a retry starts is seen by it.
 */
export class DynamoDbOperatorControlStore implements OperatorControlStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async readOverride(application: string, revision: string): Promise<DeploymentOverride | undefined> {
    const keyValue = CONTROL_KEYS.override(application, revision);
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: keyValue } };
    return {
      application: required(value, 'application', 'string', where),
      revision: required(value, 'revision', 'string', where),
      ...(typeof value.deploymentId === 'string' ? { deploymentId: value.deploymentId } : {}),
      ...grantOf(value, where),
    };
  }

  async readPause(application: string, deploymentGroup: string): Promise<GroupPause | undefined> {
    const keyValue = CONTROL_KEYS.pause(groupKey(application, deploymentGroup));
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: keyValue } };
    const resumed = value.resumed as GroupPause['resumed'] | undefined;
    return {
      application: required(value, 'application', 'string', where),
      deploymentGroup: required(value, 'deploymentGroup', 'string', where),
      ...grantOf(value, where),
      ...(resumed ? { resumed: { by: resumed.by, at: resumed.at, reason: resumed.reason } } : {}),
    };
  }

  async putOverride(override: DeploymentOverride): Promise<void> {
    await this.put(CONTROL_KEYS.override(override.application, override.revision), { ...override });
  }

  async putPause(pause: GroupPause): Promise<void> {
    await this.put(CONTROL_KEYS.pause(groupKey(pause.application, pause.deploymentGroup)), { ...pause });
  }

  private async put(keyValue: string, value: Record<string, unknown> & { readonly until: number }): Promise<void> {
    await call('PutItem', this.tableName, { key: keyValue }, () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: toItem({ ...value, key: keyValue, expiresAt: grantExpiry(value) }) })),
    );
  }

  private async read(keyValue: string): Promise<Record<string, unknown> | undefined> {
    const key = { key: keyValue };
    const answer = await call('GetItem', this.tableName, key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return answer.Item ? fromItem(answer.Item) : undefined;
  }
}

function grantOf(value: Record<string, unknown>, where: Parameters<typeof required>[3]) {
  return {
    by: required(value, 'by', 'string', where),
    reason: required(value, 'reason', 'string', where),
    at: required(value, 'at', 'number', where),
    until: required(value, 'until', 'number', where),
  };
}
