import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GRANT_RETENTION_MS } from '../operator-controls';
import { gateDayKeyOf, type GateDecisionEntry, type GateJobRecord, type GatePass, type GateSettlement } from '../pipeline-gate-domain';
import type { GateStore } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem } from './dynamodb-attributes';

/**
 * The pipeline gate's items over the control table: a job's decision (`gatejob#<jobId>`, a
 * conditional put: the first decision stays) and a release's latest pass (`gatepass#…`), each kept
 * GRANT_RETENTION_MS (DynamoDB TTL) after it was decided, and the decisions of a group on a day
 * (`gateday#<group>#<day>`: a map by job id, each entry written once; kept GRANT_RETENTION_MS after
 * the day's first decision). Reads are consistent.
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

  async listDecision(entry: GateDecisionEntry): Promise<void> {
    const key = { key: gateDayKeyOf(entry) };
    if (await this.addToDay(key, entry)) return;
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...key, jobs: { [entry.jobId]: entry }, expiresAt: expiry(entry.decidedAt) }),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Another decision of the day created the item first: add to it.
      if (!(await this.addToDay(key, entry))) throw new Error(`the listing ${key.key} was created in table ${this.tableName} and is gone`);
    }
  }

  /** Adds the entry to the day's existing item (a job's first entry stays); false when the day has no item yet. */
  private async addToDay(key: { readonly key: string }, entry: GateDecisionEntry): Promise<boolean> {
    return this.updateIf(key, 'SET jobs.#job = if_not_exists(jobs.#job, :entry)', 'attribute_exists(jobs)', entry.jobId, { ':entry': toAttribute(entry, 'entry') });
  }

  async settleListedDecision(entry: Pick<GateDecisionEntry, 'jobId' | 'application' | 'deploymentGroup' | 'decidedAt'>, settled: GateSettlement): Promise<void> {
    // false: not listed (its day's listing expired): nothing to settle there.
    await this.updateIf({ key: gateDayKeyOf(entry) }, 'SET jobs.#job.settled = :settled', 'attribute_exists(jobs.#job)', entry.jobId, { ':settled': toAttribute(settled, 'settled') });
  }

  /** A conditional update of a day's listing, `#job` naming the job's entry; false when the condition did not hold. */
  private async updateIf(key: { readonly key: string }, expression: string, condition: string, jobId: string, values: Record<string, AttributeValue>): Promise<boolean> {
    try {
      await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({ TableName: this.tableName, Key: keyOf(key), UpdateExpression: expression, ConditionExpression: condition, ExpressionAttributeNames: { '#job': jobId }, ExpressionAttributeValues: values }),
        ),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return false;
    }
  }

  async listedDecisions(group: string, day: string): Promise<GateDecisionEntry[]> {
    const key = { key: CONTROL_KEYS.gateDay(group, day) };
    const value = await this.read(key);
    if (!value) return [];
    const jobs = value.jobs;
    if (typeof jobs !== 'object' || jobs === null) throw new Error(`the listing ${key.key} in table ${this.tableName} has no map of jobs`);
    const where = { tableName: this.tableName, key };
    const entries = Object.values(jobs as Record<string, Record<string, unknown>>).map((entry) => {
      required(entry, 'jobId', 'string', where);
      required(entry, 'decidedAt', 'number', where);
      required(entry, 'outcome', 'string', where);
      return entry as unknown as GateDecisionEntry;
    });
    return entries.sort((a, b) => a.decidedAt - b.decidedAt);
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
