import { GetItemCommand, PutItemCommand, type DynamoDBClient, type PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { ShadowDigestClaim, ShadowDigestSent, ShadowDigestStore } from '../ports';
import { DIGEST_CLAIM_RETENTION_MS } from '../shadow-digest-domain';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem, updateIf } from './dynamodb-attributes';

/**
 * The shadow digest's claims over the control table: one item per day told
 * (`shadowdigest#<start of the day>`), its attributes the claim itself (the window, the event id that
 * holds it, when, and once published what was sent), kept DIGEST_CLAIM_RETENTION_MS after the day's
 * end (DynamoDB TTL). The claim is a PutItem conditional on the claim the caller read; reads are
 * consistent.
 */
export class DynamoDbShadowDigestStore implements ShadowDigestStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async read(from: number): Promise<ShadowDigestClaim | undefined> {
    const key = { key: CONTROL_KEYS.shadowDigest(from) };
    const answer = await call('GetItem', this.tableName, key, () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })));
    return answer.Item ? claimOf(fromItem(answer.Item), { tableName: this.tableName, key }) : undefined;
  }

  async claim(claim: Omit<ShadowDigestClaim, 'sent'>, expected: Pick<ShadowDigestClaim, 'token' | 'claimedAt'> | null): Promise<boolean> {
    const key = { key: CONTROL_KEYS.shadowDigest(claim.from) };
    const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> =
      expected === null
        ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
        : {
            ConditionExpression: '#token = :token AND #claimedAt = :claimedAt AND attribute_not_exists(#sent)',
            ExpressionAttributeNames: { '#token': 'token', '#claimedAt': 'claimedAt', '#sent': 'sent' },
            ExpressionAttributeValues: { ':token': { S: expected.token }, ':claimedAt': toAttribute(expected.claimedAt, 'claimedAt') },
          };
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(new PutItemCommand({ TableName: this.tableName, Item: toItem({ ...claim, ...key, expiresAt: expiry(claim.to) }), ...condition })),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // The SDK's retry of a claim applied whose answer was lost meets this very claim: it is ours.
      const stored = await this.read(claim.from);
      return stored !== undefined && stored.sent === undefined && stored.token === claim.token && stored.claimedAt === claim.claimedAt;
    }
  }

  async markSent(from: number, sent: ShadowDigestSent): Promise<void> {
    const marked = await updateIf(this.client, this.tableName, { key: CONTROL_KEYS.shadowDigest(from) }, {
      update: 'SET #sent = if_not_exists(#sent, :sent)',
      condition: 'attribute_exists(#key)',
      names: { '#key': 'key', '#sent': 'sent' },
      values: { ':sent': toAttribute(sent, 'sent') },
    });
    if (!marked) throw new Error(`no claim of the shadow digest of ${new Date(from).toISOString()} in table ${this.tableName}: nothing to mark sent`);
  }
}

/** The DynamoDB TTL (epoch seconds) of a day's claim: DIGEST_CLAIM_RETENTION_MS after the day's end. */
function expiry(to: number): number {
  return Math.floor((to + DIGEST_CLAIM_RETENTION_MS) / 1000);
}

function claimOf(value: Record<string, unknown>, where: Parameters<typeof required>[3]): ShadowDigestClaim {
  const sent = value.sent as Record<string, unknown> | undefined;
  return {
    from: required(value, 'from', 'number', where),
    to: required(value, 'to', 'number', where),
    token: required(value, 'token', 'string', where),
    claimedAt: required(value, 'claimedAt', 'number', where),
    ...(sent === undefined ? {} : { sent: sentOf(sent, where) }),
  };
}

function sentOf(value: Record<string, unknown>, where: Parameters<typeof required>[3]): ShadowDigestSent {
  const messageIds = value.messageIds;
  if (!Array.isArray(messageIds) || !messageIds.every((id) => typeof id === 'string')) {
    throw new TypeError(`table ${where.tableName}, key ${JSON.stringify(where.key)}: attribute sent.messageIds is ${JSON.stringify(messageIds)}, expected a list of strings`);
  }
  return { at: required(value, 'at', 'number', where), eventId: required(value, 'eventId', 'string', where), subject: required(value, 'subject', 'string', where), messageIds };
}
