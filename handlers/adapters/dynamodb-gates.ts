import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GRANT_RETENTION_MS } from '../operator-controls';
import { GATE_DAY_PAGE_BYTES, gateDayKeyOf, listingBytes, type GateDecisionEntry, type GateJobRecord, type GatePass, type GateSettlement } from '../pipeline-gate-domain';
import type { GateStore } from '../ports';
import { CONTROL_KEYS } from '../tables';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem, updateIf } from './dynamodb-attributes';

/**
 * The pipeline gate's items over the control table: a job's decision (`gatejob#<jobId>`, a
 * conditional put: the first decision stays) and a release's latest pass (`gatepass#…`), each kept
 * GRANT_RETENTION_MS (DynamoDB TTL) after it was decided, and the decisions of a group on a day
 * (`gateday#<group>#<day>`: a map by job id, each entry written once; kept GRANT_RETENTION_MS after
 * the day's first decision), in pages of GATE_DAY_PAGE_BYTES (`…#<day>#1`, `#2`, … after the
 * first), so that a busy group's day never reaches DynamoDB's 400 KB item limit. Reads are consistent.
 */
export class DynamoDbGateStore implements GateStore {
  /**
   * @param pageBytes the bytes of entries a page of a day's listing holds (GATE_DAY_PAGE_BYTES; a
   * test sets fewer to fill pages quickly)
   */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    private readonly pageBytes: number = GATE_DAY_PAGE_BYTES,
  ) {
    if (!Number.isInteger(pageBytes) || pageBytes <= 0 || pageBytes > GATE_DAY_PAGE_BYTES) throw new RangeError(`pageBytes must be a whole number from 1 to ${GATE_DAY_PAGE_BYTES}, got ${pageBytes}`);
  }

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
    const bytes = listingBytes(entry);
    if (bytes > this.pageBytes) throw new Error(`the listing entry of job ${entry.jobId} takes ${bytes} bytes, more than a page of ${this.pageBytes} holds`);
    for (let page = 0; page < MAX_GATE_DAY_PAGES; page += 1) {
      if ((await this.placeOnPage({ key: gateDayKeyOf(entry, page) }, entry, bytes)) === 'listed') return;
    }
    throw new Error(`the listing ${gateDayKeyOf(entry)} in table ${this.tableName} fills ${MAX_GATE_DAY_PAGES} pages: job ${entry.jobId} is not listed`);
  }

  /**
   * Lists the entry on a page of its day: `listed` when it was added or is there already, `full`
   * when the page has no room for it (the next page is tried). A page's byte count only grows, so an
   * entry that did not fit on a page never fits there later: a redelivered job finds its entry where
   * it was placed, never lists it twice.
   */
  private async placeOnPage(key: { readonly key: string }, entry: GateDecisionEntry, bytes: number): Promise<'listed' | 'full'> {
    for (let attempt = 0; attempt < MAX_PAGE_ATTEMPTS; attempt += 1) {
      if (await this.addToPage(key, entry, bytes)) return 'listed';
      const page = await this.readPageFor(key, entry.jobId);
      if (!page) {
        if (await this.createPage(key, entry, bytes)) return 'listed';
        continue; // another decision created the page first: add to it.
      }
      if (hasJob(page, entry.jobId)) return 'listed';
      if (!hasRoom(page, bytes, this.pageBytes)) return 'full';
      // Another decision took the room this one was refused for, or left some: try again.
    }
    throw new Error(`the listing ${key.key} in table ${this.tableName} changed under job ${entry.jobId} ${MAX_PAGE_ATTEMPTS} times in a row`);
  }

  /** Adds the entry to an existing page that has room for it and does not hold it yet; false otherwise. */
  private async addToPage(key: { readonly key: string }, entry: GateDecisionEntry, bytes: number): Promise<boolean> {
    return this.updateIf(
      key,
      'SET jobs.#job = :entry ADD bytes :bytes',
      'attribute_exists(jobs) AND attribute_not_exists(jobs.#job) AND bytes <= :room',
      entry.jobId,
      { ':entry': toAttribute(entry, 'entry'), ':bytes': { N: String(bytes) }, ':room': { N: String(this.pageBytes - bytes) } },
    );
  }

  /** Creates a page holding the entry; false when the page exists already. */
  private async createPage(key: { readonly key: string }, entry: GateDecisionEntry, bytes: number): Promise<boolean> {
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...key, jobs: { [entry.jobId]: entry }, bytes, expiresAt: expiry(entry.decidedAt) }),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return false;
    }
  }

  async settleListedDecision(entry: Pick<GateDecisionEntry, 'jobId' | 'application' | 'deploymentGroup' | 'decidedAt'>, settled: GateSettlement): Promise<void> {
    // The settlement fills the room its held entry kept on the page (SETTLEMENT_ROOM_BYTES).
    const key = await this.pageOf(entry);
    // Not listed (its day's listing expired): nothing to settle there.
    if (key) await this.updateIf(key, 'SET jobs.#job.settled = :settled', 'attribute_exists(jobs.#job)', entry.jobId, { ':settled': toAttribute(settled, 'settled') });
  }

  /** The page of its day that lists the job, if any. */
  private async pageOf(entry: Pick<GateDecisionEntry, 'jobId' | 'application' | 'deploymentGroup' | 'decidedAt'>): Promise<{ readonly key: string } | undefined> {
    for (let page = 0; page < MAX_GATE_DAY_PAGES; page += 1) {
      const key = { key: gateDayKeyOf(entry, page) };
      const value = await this.readPageFor(key, entry.jobId);
      if (!value) return undefined;
      if (hasJob(value, entry.jobId)) return key;
    }
    return undefined;
  }

  /** A page's byte count and the job's entry on it, if any: not the page's other entries (up to GATE_DAY_PAGE_BYTES of them). */
  private async readPageFor(key: { readonly key: string }, jobId: string): Promise<Record<string, unknown> | undefined> {
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true, ProjectionExpression: '#key, bytes, jobs.#job', ExpressionAttributeNames: { '#key': 'key', '#job': jobId } }),
      ),
    );
    return answer.Item ? fromItem(answer.Item) : undefined;
  }

  /** A conditional update of a day's page, `#job` naming the job's entry; false when the condition did not hold. */
  private updateIf(key: { readonly key: string }, update: string, condition: string, jobId: string, values: Record<string, AttributeValue>): Promise<boolean> {
    return updateIf(this.client, this.tableName, key, { update, condition, names: { '#job': jobId }, values });
  }

  /** Every page of the day, in order, until the first that does not exist. */
  async listedDecisions(group: string, day: string): Promise<GateDecisionEntry[]> {
    const entries = new Map<string, GateDecisionEntry>();
    for (let page = 0; page < MAX_GATE_DAY_PAGES; page += 1) {
      const key = { key: CONTROL_KEYS.gateDayPage(group, day, page) };
      const value = await this.read(key);
      if (!value) break;
      for (const entry of this.entriesOf(value, key)) if (!entries.has(entry.jobId)) entries.set(entry.jobId, entry);
    }
    return [...entries.values()].sort((a, b) => a.decidedAt - b.decidedAt);
  }

  private entriesOf(value: Record<string, unknown>, key: { readonly key: string }): GateDecisionEntry[] {
    const jobs = value.jobs;
    if (typeof jobs !== 'object' || jobs === null) throw new Error(`the listing ${key.key} in table ${this.tableName} has no map of jobs`);
    const where = { tableName: this.tableName, key };
    return Object.values(jobs as Record<string, Record<string, unknown>>).map((entry) => {
      required(entry, 'jobId', 'string', where);
      required(entry, 'decidedAt', 'number', where);
      required(entry, 'outcome', 'string', where);
      return entry as unknown as GateDecisionEntry;
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

/** How many pages a day's listing may have: at GATE_DAY_PAGE_BYTES each, hundreds of thousands of releases. */
const MAX_GATE_DAY_PAGES = 1_000;

/** How often one page is tried for one entry while other decisions change it. */
const MAX_PAGE_ATTEMPTS = 20;

function hasJob(page: Record<string, unknown>, jobId: string): boolean {
  const jobs = page.jobs as Record<string, unknown> | undefined;
  return typeof jobs === 'object' && jobs !== null && Object.hasOwn(jobs, jobId);
}

/** Whether a page has room for an entry of `bytes`; a page without a byte count (written before pages had one) has none. */
function hasRoom(page: Record<string, unknown>, bytes: number, pageBytes: number): boolean {
  return typeof page.bytes === 'number' && page.bytes + bytes <= pageBytes;
}
