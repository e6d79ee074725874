import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isDeepStrictEqual } from 'node:util';
import type { ClaimResult, GuardAction, LedgerClaim, LedgerEntry, LedgerOutcome, RollbackLedger } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, type Item } from './dynamodb-attributes';
import { claimedEntry, isRollbackAction, leaseOf, type LedgerOptions } from './in-memory-ledger';

/** Ledger entries expire (DynamoDB TTL on the control table) this long after their claim: far beyond any redelivery. */
export const LEDGER_TTL_DAYS = 90;

const NAMES = {
  '#key': 'key',
  '#deploymentId': 'deploymentId',
  '#action': 'action',
  '#claimToken': 'claimToken',
  '#claimedAt': 'claimedAt',
  '#openedAt': 'openedAt',
  '#openedBy': 'openedBy',
  '#dueCounted': 'dueCounted',
  '#attempt': 'attempt',
  '#outcome': 'outcome',
  '#published': 'published',
  '#expiresAt': 'expiresAt',
} as const;

/**
 * The rollback ledger over the control table, one item per deployment at key `rollback#<deploymentId>`:
 * deploymentId, action, claimToken, claimedAt (N, ms), openedAt, openedBy, dueCounted, attempt (M), outcome (M),
 * published (BOOL), expiresAt (TTL, epoch seconds).
 *
 * claim is one conditional UpdateItem that encodes RollbackLedger's rules (claimWay of the in-memory
 * ledger): the item is new, or has no outcome and is the caller's own (same token), lease-expired
 * with the same action, or (for a rollback) a proceed that has not attempted anything. A proceed that
 * ended without acting is reopened by a second conditional UpdateItem. DynamoDB applies writes to an
 * item one at a time, so of two racing claims the second sees the first's token and loses.
 *
 * A lost answer: the write was applied, the SDK retries and meets its own write. The claim's retry
 * passes the same-token branch; a retried attempt or outcome write is recognised by reading the item
 * back and comparing the token (and the outcome).
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

  async claim(claim: LedgerClaim): Promise<ClaimResult> {
    const branches = ['#claimToken = :token', '(#action = :action AND #claimedAt <= :leaseExpiredAt)'];
    if (isRollbackAction(claim.action)) branches.push('(#action = :continue AND attribute_not_exists(#attempt))');
    const values: Record<string, AttributeValue> = {
      ':deploymentId': { S: claim.deploymentId },
      ':action': { S: claim.action },
      ':token': { S: claim.token },
      ':at': toAttribute(claim.at, 'claimedAt'),
      ':false': { BOOL: false },
      ':expiresAt': toAttribute(Math.floor(claim.at / 1000) + LEDGER_TTL_DAYS * 86_400, 'expiresAt'),
      ':leaseExpiredAt': toAttribute(claim.at - this.leaseMs, 'claimedAt'),
      ...(isRollbackAction(claim.action) ? { ':continue': { S: 'ContinueDeployment' } } : {}),
    };
    const set =
      'SET #deploymentId = :deploymentId, #action = :action, #claimToken = :token, #claimedAt = :at, #published = :false, #expiresAt = :expiresAt, ' +
      '#openedAt = if_not_exists(#openedAt, :at), #openedBy = if_not_exists(#openedBy, :token), #dueCounted = if_not_exists(#dueCounted, :false)';
    const condition = `attribute_not_exists(#key) OR (attribute_not_exists(#outcome) AND (${branches.join(' OR ')}))`;
    const answer = await this.update(claim.deploymentId, set, condition, values);
    if (answer.applied) return { claimed: true, entry: claimedEntry(answer.old, claim, answer.old ? 'own' : 'open') };
    const entry = answer.current;
    if (entry && isRollbackAction(claim.action) && entry.action === 'ContinueDeployment' && entry.outcome?.kind === 'not-done' && !entry.attempt) {
      return this.reopen(claim);
    }
    return this.held(claim, entry);
  }

  async recordAttempt(deploymentId: string, token: string, action: GuardAction, at: number): Promise<void> {
    const answer = await this.update(deploymentId, 'SET #attempt = :attempt', '#claimToken = :token AND attribute_not_exists(#outcome)', {
      ':attempt': toAttribute({ action, at }, 'attempt'),
      ':token': { S: token },
    });
    if (!answer.applied) throw this.notHeld(deploymentId, token, 'record the attempt', answer.current);
  }

  async record(deploymentId: string, token: string, outcome: LedgerOutcome): Promise<void> {
    const answer = await this.update(deploymentId, 'SET #outcome = :outcome', '#claimToken = :token AND attribute_not_exists(#outcome)', {
      ':outcome': toAttribute(outcome, 'outcome'),
      ':token': { S: token },
    });
    if (answer.applied) return;
    // The SDK's retry of a write whose answer was lost meets that write: ours, so done.
    if (answer.current?.claimToken === token && isDeepStrictEqual(answer.current.outcome, outcome)) return;
    throw this.notHeld(deploymentId, token, 'record the outcome', answer.current);
  }

  async markPublished(deploymentId: string): Promise<void> {
    const answer = await this.update(deploymentId, 'SET #published = :true', 'attribute_exists(#key)', { ':true': { BOOL: true } });
    if (!answer.applied) {
      throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger (table ${this.tableName}, key ${CONTROL_KEYS.rollback(deploymentId)}): claim it before you mark the outcome published`);
    }
  }

  async markDueCounted(deploymentId: string): Promise<void> {
    const answer = await this.update(deploymentId, 'SET #dueCounted = :true', 'attribute_exists(#key)', { ':true': { BOOL: true } });
    if (!answer.applied) {
      throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger (table ${this.tableName}, key ${CONTROL_KEYS.rollback(deploymentId)}): claim it before you count it due`);
    }
  }

  async read(deploymentId: string): Promise<LedgerEntry | undefined> {
    const key = { key: CONTROL_KEYS.rollback(deploymentId) };
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    return answer.Item ? this.toEntry(answer.Item) : undefined;
  }

  private async reopen(claim: LedgerClaim): Promise<ClaimResult> {
    const answer = await this.update(
      claim.deploymentId,
      'SET #action = :action, #claimToken = :token, #claimedAt = :at, #openedAt = :at, #openedBy = :token, #dueCounted = :false, #published = :false REMOVE #outcome',
      '#action = :continue AND #outcome.#kind = :notDone AND attribute_not_exists(#attempt)',
      { ':action': { S: claim.action }, ':token': { S: claim.token }, ':at': toAttribute(claim.at, 'claimedAt'), ':false': { BOOL: false }, ':continue': { S: 'ContinueDeployment' }, ':notDone': { S: 'not-done' } },
      { '#kind': 'kind' },
    );
    if (answer.applied) return { claimed: true, entry: claimedEntry(answer.old, claim, 'reopen') };
    return this.held(claim, answer.current);
  }

  /** A condition that failed on the caller's own claim (its first write applied, the answer lost) is the caller's claim. */
  private held(claim: LedgerClaim, entry: LedgerEntry | undefined): ClaimResult {
    if (!entry) throw new Error(`table ${this.tableName}, key ${CONTROL_KEYS.rollback(claim.deploymentId)}: the claim's condition failed but the item does not exist`);
    if (entry.claimToken === claim.token && !entry.outcome) return { claimed: true, entry };
    return { claimed: false, entry };
  }

  private notHeld(deploymentId: string, token: string, what: string, entry: LedgerEntry | undefined): Error {
    const where = `table ${this.tableName}, key ${CONTROL_KEYS.rollback(deploymentId)}`;
    if (!entry) return new Error(`deployment ${deploymentId} has no claim in the rollback ledger (${where}): claim it before you ${what}`);
    return new Error(`deployment ${deploymentId}: claim ${token} no longer holds the rollback ledger (${where}; held by ${entry.claimToken}${entry.outcome ? ', outcome recorded' : ''}): cannot ${what}`);
  }

  /** One conditional UpdateItem: applied with the item before it, or not applied with the item as it is. */
  private async update(
    deploymentId: string,
    expression: string,
    condition: string,
    values: Record<string, AttributeValue>,
    extraNames: Record<string, string> = {},
  ): Promise<{ applied: true; old: LedgerEntry | undefined } | { applied: false; current: LedgerEntry | undefined }> {
    const key = { key: CONTROL_KEYS.rollback(deploymentId) };
    const text = `${expression} ${condition}`;
    const names = Object.fromEntries(Object.entries({ ...NAMES, ...extraNames }).filter(([name]) => new RegExp(`${name}\\b`).test(text)));
    try {
      const answer = await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(key),
            UpdateExpression: expression,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { applied: true, old: answer.Attributes && Object.keys(answer.Attributes).length > 0 ? this.toEntry(answer.Attributes) : undefined };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the item in the exception; an implementation that does not (dynalite) is read.
      const item = error.Item;
      return { applied: false, current: item ? this.toEntry(item) : await this.read(deploymentId) };
    }
  }

  /** Entries claimed before claim tokens existed read with an empty token: no claim of today's handler is theirs. */
  private toEntry(item: Item): LedgerEntry {
    const value = fromItem(item);
    const key = { key: String(value.key) };
    const where = { tableName: this.tableName, key };
    const claimedAt = required(value, 'claimedAt', 'number', where);
    const claimToken = typeof value.claimToken === 'string' ? value.claimToken : '';
    return {
      deploymentId: required(value, 'deploymentId', 'string', where),
      action: required(value, 'action', 'string', where) as GuardAction,
      claimToken,
      claimedAt,
      openedAt: typeof value.openedAt === 'number' ? value.openedAt : claimedAt,
      openedBy: typeof value.openedBy === 'string' ? value.openedBy : claimToken,
      // Claims from before the alarm existed were never counted; they are not waited for either.
      dueCounted: typeof value.dueCounted === 'boolean' ? value.dueCounted : true,
      ...(value.attempt === undefined ? {} : { attempt: value.attempt as LedgerEntry['attempt'] & object }),
      ...(value.outcome === undefined ? {} : { outcome: value.outcome as LedgerOutcome }),
      published: required(value, 'published', 'boolean', where),
    };
  }
}
