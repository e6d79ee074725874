import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { revisionKey } from '../../events/emitted';
import type { PastDeployment } from '../../model/history';
import { groupKey } from '../config';
import type {
  AssessmentRecord,
  ChangeSummary,
  ChangeSummaryStore,
  ChangeSummaryWrite,
  ControlStore,
  DeploymentItem,
  DeploymentStore,
  JobVerdict,
  OutcomeRecord,
  PromotionIntent,
  RecordedTrainingJob,
  RetrainingState,
  ServingModelPointer,
  StoreWrite,
  StoredChangeSummary,
  StoredCut,
  BakeAnnouncementClaim,
  BakeBook,
  BakeRecord,
  BakeStore,
  StoredBakeBook,
} from '../ports';
import { writeOverEntry, type RevisionEntry } from '../change-summaries';
import { MAX_HISTORY_READ } from '../ports';
import { ASSESSMENTS_BY_GROUP, CONTROL_KEYS, TABLES } from '../tables';
import type { CutState } from '../../model/block-budget';
import { call, fromItem, isConditionalCheckFailed, keyOf, required, toAttribute, toItem, updateIf, type Item } from './dynamodb-attributes';

/**
 * The stores over DynamoDB (tables of handlers/tables.ts), with exactly the semantics of
 * handlers/adapters/in-memory-stores.ts; test/handlers/stores-contract.test.ts runs one suite
 * against both. Every first-writer-wins rule is a conditional write, so concurrent Lambdas and
 * redelivered events agree without locks.
 *
 * ## The history table and O(1) group counts
 *
 * One item per recorded outcome: pk `group` = `application/deploymentGroup`, sk `at` =
 * `<ISO start time>#<deploymentId>` (ISO 8601 with milliseconds sorts like the time it names), with
 * `time` (N), `failed` (BOOL, absent when unknown) and `author`. `groupHistory` is one Query
 * `#g = :g AND #a < :before` newest first, paged until it holds the asked number of known outcomes, reversed.
 *
 * Per group, one counters item at sk `~counts` (`~` sorts above every digit, so no time range ever
 * returns it) holds `known` and `failures` over every counted outcome, and `lastAt`: the sk of the
 * outcome counted last. An outcome is counted by a compare-and-set on `lastAt` (ADD known/failures,
 * SET lastAt = mine, condition lastAt = the one read). Before moving `lastAt` on, the writer marks
 * the previous one's history item `counted`. Hence, at every instant, a history item is counted iff
 * it is marked or it is the counters' `lastAt` — which makes counting idempotent across retries,
 * redeliveries and crashes between the writes (DynamoDB has no multi-item atomicity without
 * transactions, and dynalite has no transactions): a retry re-reads and finds its outcome counted.
 *
 * `groupCounts(before)` reads the counters item and Queries the tail `#a BETWEEN :before AND '~'`
 * (outcomes that started at or after `before`: none in the usual case, where predict asks about a
 * deployment starting now; a few when outcomes arrive out of order or a replay asks about the
 * past), and subtracts the counted ones: two calls, independent of the group's size.
 */

/** Sort key of a group's counters item: above every `<ISO time>#<id>`, so no time range returns it. */
export const COUNTERS_SORT_KEY = '~counts';
/** Upper bound of the time range of a group's outcomes: below COUNTERS_SORT_KEY. */
const TIMES_END = '~';
/** How often a counter update that lost a compare-and-set race is retried before failing loudly. */
const MAX_COUNT_ATTEMPTS = 25;

/** The history sort key: `<ISO time>#<deploymentId>`; times outside years 0-9999 would not sort, so they are refused. */
export function historySortKey(time: number, deploymentId: string): string {
  return `${isoTime(time, deploymentId)}#${deploymentId}`;
}

function isoTime(time: number, what: string): string {
  const date = new Date(time);
  const text = Number.isFinite(time) ? date.toISOString() : '';
  if (!/^\d{4}-/.test(text)) throw new RangeError(`time ${time} of ${what} is not a time between years 0 and 9999`);
  return text;
}

/** The name of the history table that goes with a deployments table named `<prefix>-deployments`. */
function historyTableOf(deploymentsTable: string): string {
  const suffix = TABLES.deployments.name;
  if (!deploymentsTable.endsWith(suffix)) {
    throw new Error(
      `deployments table '${deploymentsTable}' is not named <prefix>-${suffix}: pass the history table's name too (DEPLOY_GUARD_HISTORY_TABLE)`,
    );
  }
  return `${deploymentsTable.slice(0, -suffix.length)}${TABLES.history.name}`;
}

/** A history item as stored with its outcome on the deployment's item and in the history table. */
interface HistoryEntry {
  readonly group: string;
  readonly at: string;
  readonly time: number;
  readonly failed?: boolean;
  readonly author?: string;
}

export class DynamoDbDeploymentStore implements DeploymentStore {
  readonly historyTableName: string;

  /**
   * @param tableName the deployments table.
   * @param historyTableName the history table; by default the deployments table's name with the
   *   suffix `deployments` replaced by `history` (tables are named `<prefix>-<name>`).
   */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    historyTableName?: string,
  ) {
    this.historyTableName = historyTableName ?? historyTableOf(tableName);
  }

  async putAssessment(assessment: AssessmentRecord): Promise<StoreWrite> {
    // The index's keys (tables.ts ASSESSMENTS_BY_GROUP) are written with the assessment, in the same update.
    const indexed = { [ASSESSMENTS_BY_GROUP.partitionKey]: groupKey(assessment.application, assessment.deploymentGroup), [ASSESSMENTS_BY_GROUP.sortKey]: new Date(assessment.assessedAt).toISOString() };
    const write = await this.putOnce('assessment', assessment.deploymentId, assessment, undefined, indexed);
    return { created: write.created, item: write.item };
  }

  async putOutcome(outcome: OutcomeRecord, history: PastDeployment): Promise<StoreWrite> {
    const time = history.time ?? outcome.finishedAt;
    const entry: HistoryEntry = {
      group: groupKey(outcome.application, outcome.deploymentGroup),
      at: historySortKey(time, outcome.deploymentId),
      time,
      ...(history.failed === undefined ? {} : { failed: history.failed }),
      ...(history.author === undefined ? {} : { author: history.author }),
    };
    // The outcome and its history entry are written together on the deployment's item (the commit
    // point); the history and counters items follow. A duplicate re-runs those steps from the entry
    // stored first, so a redelivery after a crash between the writes completes them, and changes
    // nothing otherwise (both steps are idempotent).
    const write = await this.putOnce('outcome', outcome.deploymentId, outcome, entry);
    const stored = write.historyEntry ?? entry;
    const failed = (await this.appendHistory(stored, outcome.deploymentId)) ? stored.failed : await this.historyFailed(stored.group, stored.at);
    if (failed !== undefined) await this.count(stored.group, stored.at, failed);
    return { created: write.created, item: write.item };
  }

  async get(deploymentId: string): Promise<DeploymentItem | undefined> {
    const key = { deploymentId };
    const raw = await this.getItem(key);
    return raw ? this.toDeploymentItem(raw, key).item : undefined;
  }

  async markTrainingRowWritten(deploymentId: string): Promise<boolean> {
    const key = { deploymentId };
    try {
      await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(key),
            UpdateExpression: 'SET #written = :true',
            ConditionExpression: 'attribute_exists(#id) AND #written = :false',
            ExpressionAttributeNames: { '#id': 'deploymentId', '#written': 'trainingRowWritten' },
            ExpressionAttributeValues: { ':true': { BOOL: true }, ':false': { BOOL: false } },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async groupHistory(application: string, deploymentGroup: string, before: number, knownLimit: number): Promise<readonly PastDeployment[]> {
    if (!(knownLimit >= 1)) return [];
    const group = groupKey(application, deploymentGroup);
    const newestFirst: PastDeployment[] = [];
    let known = 0;
    let startKey: Item | undefined;
    do {
      const answer = await call('Query', this.historyTableName, { group }, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.historyTableName,
            KeyConditionExpression: '#g = :g AND #a < :before',
            ExpressionAttributeNames: { '#g': 'group', '#a': 'at', '#t': 'time', '#f': 'failed', '#u': 'author' },
            ExpressionAttributeValues: { ':g': { S: group }, ':before': { S: isoTime(before, `groupHistory(${group})`) } },
            ProjectionExpression: '#t, #f, #u',
            ScanIndexForward: false,
            // Pages as large as the known outcomes still missing (each item holds at most one), within the cap.
            Limit: Math.min(knownLimit - known, MAX_HISTORY_READ - newestFirst.length),
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of answer.Items ?? []) {
        const past = toPast(fromItem(item));
        newestFirst.push(past);
        if (past.failed !== undefined) known += 1;
        if (known >= knownLimit || newestFirst.length >= MAX_HISTORY_READ) break;
      }
      startKey = answer.LastEvaluatedKey;
    } while (startKey && known < knownLimit && newestFirst.length < MAX_HISTORY_READ);
    return newestFirst.reverse();
  }

  async groupCounts(application: string, deploymentGroup: string, before: number): Promise<{ known: number; failures: number }> {
    const group = groupKey(application, deploymentGroup);
    const [counters, tail] = await Promise.all([this.readCounters(group), this.countedFrom(group, isoTime(before, `groupCounts(${group})`))]);
    // The tail was read after or before the counters: an outcome counted in between is in one and not
    // the other. Only the outcome at lastAt can be in that state, so it is judged by the counters read.
    let { known, failures } = counters;
    for (const item of tail) {
      if (!(item.counted || item.at === counters.lastAt)) continue;
      known -= 1;
      if (item.failed) failures -= 1;
    }
    return { known, failures };
  }

  /** Sets the record on the item unless it has one: UpdateItem conditional on attribute_not_exists. */
  async recentAssessments(application: string, deploymentGroup: string, since: number, limit: number): Promise<readonly DeploymentItem[]> {
    if (!(limit >= 1)) return [];
    const index = ASSESSMENTS_BY_GROUP;
    const group = groupKey(application, deploymentGroup);
    const items: DeploymentItem[] = [];
    let startKey: Item | undefined;
    do {
      const answer = await call('Query', this.tableName, { [index.partitionKey]: group }, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.name,
            KeyConditionExpression: '#group = :group AND #time >= :since',
            ExpressionAttributeNames: { '#group': index.partitionKey, '#time': index.sortKey },
            ExpressionAttributeValues: { ':group': { S: group }, ':since': { S: new Date(since).toISOString() } },
            ScanIndexForward: false,
            Limit: limit - items.length,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const raw of answer.Items ?? []) items.push(this.toDeploymentItem(raw, { deploymentId: String(raw.deploymentId?.S) }).item);
      startKey = answer.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items;
  }

  private async putOnce(
    attribute: 'assessment' | 'outcome',
    deploymentId: string,
    record: AssessmentRecord | OutcomeRecord,
    historyEntry?: HistoryEntry,
    indexed: Readonly<Record<string, string>> = {},
  ): Promise<StoreWrite & { readonly historyEntry?: HistoryEntry }> {
    const key = { deploymentId };
    const extra = Object.keys(indexed).map((name, position) => ({ name, placeholder: `#i${position}`, value: `:i${position}` }));
    try {
      const answer = await call('UpdateItem', this.tableName, key, () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: keyOf(key),
            UpdateExpression: [
              'SET #record = :record, #written = if_not_exists(#written, :false)',
              ...(historyEntry ? ['#history = :history'] : []),
              ...extra.map(({ placeholder, value }) => `${placeholder} = ${value}`),
            ].join(', '),
            ConditionExpression: 'attribute_not_exists(#record)',
            ExpressionAttributeNames: {
              '#record': attribute,
              '#written': 'trainingRowWritten',
              ...(historyEntry ? { '#history': 'history' } : {}),
              ...Object.fromEntries(extra.map(({ name, placeholder }) => [placeholder, name])),
            },
            ExpressionAttributeValues: {
              ':record': toAttribute(record, attribute),
              ':false': { BOOL: false },
              ...(historyEntry ? { ':history': toAttribute(historyEntry, 'history') } : {}),
              ...Object.fromEntries(extra.map(({ name, value }) => [value, { S: indexed[name] }])),
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { created: true, ...this.toDeploymentItem(answer.Attributes ?? {}, key) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the item in the exception; an implementation that does not (dynalite) is read.
      const existing = error.Item ?? (await this.getItem(key));
      if (!existing) throw new Error(`table ${this.tableName}, key ${JSON.stringify(key)}: the ${attribute} condition failed but the item does not exist`);
      return { created: false, ...this.toDeploymentItem(existing, key) };
    }
  }

  private async getItem(key: { deploymentId: string }): Promise<Item | undefined> {
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    return answer.Item;
  }

  /** The port's view of a deployments item, and the history entry stored with its outcome. */
  private toDeploymentItem(raw: Item, key: { deploymentId: string }): { item: DeploymentItem; historyEntry?: HistoryEntry } {
    const value = fromItem(raw);
    const where = { tableName: this.tableName, key };
    return {
      item: {
        deploymentId: required(value, 'deploymentId', 'string', where),
        ...(value.assessment === undefined ? {} : { assessment: value.assessment as AssessmentRecord }),
        ...(value.outcome === undefined ? {} : { outcome: value.outcome as OutcomeRecord }),
        trainingRowWritten: value.trainingRowWritten === true,
      },
      ...(value.history === undefined ? {} : { historyEntry: value.history as HistoryEntry }),
    };
  }

  /** The outcome's history item, first writer wins: true if this call wrote it, false if it was there already. */
  private async appendHistory(entry: HistoryEntry, deploymentId: string): Promise<boolean> {
    const key = { group: entry.group, at: entry.at };
    try {
      await call('PutItem', this.historyTableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.historyTableName,
            Item: toItem({ ...entry, deploymentId }),
            ConditionExpression: 'attribute_not_exists(#a)',
            ExpressionAttributeNames: { '#a': 'at' },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return false;
    }
  }

  /** The stored `failed` of a history item (the first writer's), undefined when unknown; read consistently. */
  private async historyFailed(group: string, at: string): Promise<boolean | undefined> {
    const item = await this.historyItem(group, at);
    if (!item) throw new Error(`table ${this.historyTableName}, key ${JSON.stringify({ group, at })}: the history item just written is missing`);
    return typeof item.failed === 'boolean' ? item.failed : undefined;
  }

  private async historyItem(group: string, at: string): Promise<Record<string, unknown> | undefined> {
    const key = { group, at };
    const answer = await call('GetItem', this.historyTableName, key, () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.historyTableName,
          Key: keyOf(key),
          ConsistentRead: true,
          ProjectionExpression: '#f, #c',
          ExpressionAttributeNames: { '#f': 'failed', '#c': 'counted' },
        }),
      ),
    );
    return answer.Item ? fromItem(answer.Item) : undefined;
  }

  /** Counts the outcome at `at` into the group's counters exactly once (see the file comment). */
  private async count(group: string, at: string, failed: boolean): Promise<void> {
    for (let attempt = 0; attempt < MAX_COUNT_ATTEMPTS; attempt += 1) {
      const counters = await this.readCounters(group);
      if (counters.lastAt === at) return;
      if ((await this.historyItem(group, at))?.counted === true) return;
      if (counters.lastAt !== undefined) await this.markCounted(group, counters.lastAt);
      const key = { group, at: COUNTERS_SORT_KEY };
      try {
        await call('UpdateItem', this.historyTableName, key, () =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.historyTableName,
              Key: keyOf(key),
              UpdateExpression: 'ADD #known :one, #failures :failed SET #last = :at',
              ConditionExpression: counters.lastAt === undefined ? 'attribute_not_exists(#last)' : '#last = :previous',
              ExpressionAttributeNames: { '#known': 'known', '#failures': 'failures', '#last': 'lastAt' },
              ExpressionAttributeValues: {
                ':one': { N: '1' },
                ':failed': { N: failed ? '1' : '0' },
                ':at': { S: at },
                ...(counters.lastAt === undefined ? {} : { ':previous': { S: counters.lastAt } }),
              },
            }),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Another outcome of the group was counted meanwhile: read again.
      }
    }
    throw new Error(`table ${this.historyTableName}, group ${group}: could not count outcome ${at} after ${MAX_COUNT_ATTEMPTS} attempts (contention on ${COUNTERS_SORT_KEY})`);
  }

  private async markCounted(group: string, at: string): Promise<void> {
    const key = { group, at };
    await call('UpdateItem', this.historyTableName, key, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.historyTableName,
          Key: keyOf(key),
          UpdateExpression: 'SET #c = :true',
          ExpressionAttributeNames: { '#c': 'counted' },
          ExpressionAttributeValues: { ':true': { BOOL: true } },
        }),
      ),
    );
  }

  private async readCounters(group: string): Promise<{ known: number; failures: number; lastAt?: string }> {
    const key = { group, at: COUNTERS_SORT_KEY };
    const answer = await call('GetItem', this.historyTableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.historyTableName, Key: keyOf(key), ConsistentRead: true })),
    );
    if (!answer.Item) return { known: 0, failures: 0 };
    const value = fromItem(answer.Item);
    const where = { tableName: this.historyTableName, key };
    return {
      known: required(value, 'known', 'number', where),
      failures: required(value, 'failures', 'number', where),
      lastAt: required(value, 'lastAt', 'string', where),
    };
  }

  /** History items of the group that started at or after `from` (ISO), with what counting needs. */
  private async countedFrom(group: string, from: string): Promise<{ at: string; failed?: boolean; counted: boolean }[]> {
    const items: { at: string; failed?: boolean; counted: boolean }[] = [];
    let startKey: Item | undefined;
    do {
      const answer = await call('Query', this.historyTableName, { group }, () =>
        this.client.send(
          new QueryCommand({
            TableName: this.historyTableName,
            KeyConditionExpression: '#g = :g AND #a BETWEEN :from AND :end',
            ExpressionAttributeNames: { '#g': 'group', '#a': 'at', '#f': 'failed', '#c': 'counted' },
            ExpressionAttributeValues: { ':g': { S: group }, ':from': { S: from }, ':end': { S: TIMES_END } },
            ProjectionExpression: '#a, #f, #c',
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of answer.Items ?? []) {
        const value = fromItem(item);
        if (typeof value.failed !== 'boolean') continue;
        items.push({ at: String(value.at), failed: value.failed, counted: value.counted === true });
      }
      startKey = answer.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function toPast(value: Record<string, unknown>): PastDeployment {
  return {
    time: value.time as number,
    ...(typeof value.failed === 'boolean' ? { failed: value.failed } : {}),
    ...(typeof value.author === 'string' ? { author: value.author } : {}),
  };
}

/** Change summaries live 90 days after they were received (DynamoDB TTL, epoch seconds). */
export const CHANGE_SUMMARY_TTL_DAYS = 90;

/**
 * One item per revision (key application + revision): the first summary with its sender and time,
 * and `sealedAt` once a deployment of the revision started. A summary is a PutItem conditional on
 * no item at all, so the first one wins and nothing lands after the seal; a failed condition is
 * judged by writeOverEntry on the item (the same event id: our own write, its answer lost).
 */
export class DynamoDbChangeSummaryStore implements ChangeSummaryStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async put(record: StoredChangeSummary): Promise<ChangeSummaryWrite> {
    const { summary, receivedAt, sender } = record;
    const key = { application: summary.application, revision: revisionKey(summary.revision) };
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...key, summary, receivedAt: finiteTime(receivedAt, key), sender, expiresAt: expiry(receivedAt) }),
            ConditionExpression: 'attribute_not_exists(#application)',
            ExpressionAttributeNames: { '#application': 'application' },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { stored: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the item in the exception; an implementation that does not (dynalite) is read.
      const existing = error.Item ?? (await this.getItem(key));
      if (!existing) throw new Error(`table ${this.tableName}, key ${JSON.stringify(key)}: the change summary condition failed but the item does not exist`);
      return writeOverEntry(toRevisionEntry(fromItem(existing)), record);
    }
  }

  async findForDeployment(application: string, revision: string, startedAt: number): Promise<ChangeSummary | undefined> {
    const key = { application, revision };
    const answer = await call('UpdateItem', this.tableName, key, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(key),
          UpdateExpression: 'SET #sealed = if_not_exists(#sealed, :startedAt), #expires = if_not_exists(#expires, :expires)',
          ExpressionAttributeNames: { '#sealed': 'sealedAt', '#expires': 'expiresAt' },
          ExpressionAttributeValues: { ':startedAt': { N: String(finiteTime(startedAt, key)) }, ':expires': { N: String(expiry(startedAt)) } },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toRevisionEntry(fromItem(answer.Attributes ?? {})).first?.summary;
  }

  async find(application: string, revision: string): Promise<StoredChangeSummary | undefined> {
    const item = await this.getItem({ application, revision });
    return item ? toRevisionEntry(fromItem(item)).first : undefined;
  }

  private async getItem(key: { application: string; revision: string }): Promise<Item | undefined> {
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    return answer.Item;
  }
}

function finiteTime(time: number, key: Readonly<Record<string, string>>): number {
  if (!Number.isFinite(time)) throw new RangeError(`time ${time} of the change summary ${JSON.stringify(key)} is not a time`);
  return time;
}

/** DynamoDB TTL (epoch seconds): CHANGE_SUMMARY_TTL_DAYS after the time given. */
function expiry(time: number): number {
  return Math.floor(time / 1000) + CHANGE_SUMMARY_TTL_DAYS * 86_400;
}

function toRevisionEntry(value: Record<string, unknown>): RevisionEntry {
  const first =
    value.summary === undefined
      ? undefined
      : { summary: value.summary as ChangeSummary, receivedAt: value.receivedAt as number, sender: value.sender as StoredChangeSummary['sender'] };
  return { ...(first ? { first } : {}), ...(typeof value.sealedAt === 'number' ? { sealedAt: value.sealedAt } : {}) };
}

export class DynamoDbControlStore implements ControlStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async readServingModel(): Promise<ServingModelPointer | undefined> {
    const value = await this.read(CONTROL_KEYS.servingModel);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: CONTROL_KEYS.servingModel } };
    return {
      modelVersion: required(value, 'modelVersion', 'string', where),
      modelDataUrl: required(value, 'modelDataUrl', 'string', where),
      featuresUrl: required(value, 'featuresUrl', 'string', where),
      ...(typeof value.trainingJobName === 'string' ? { trainingJobName: value.trainingJobName } : {}),
      promotedAt: required(value, 'promotedAt', 'number', where),
      ...(typeof value.modelPackageArn === 'string' ? { modelPackageArn: value.modelPackageArn } : {}),
      ...(typeof value.previousModelVersion === 'string' ? { previousModelVersion: value.previousModelVersion } : {}),
    };
  }

  async swapServingModel(next: ServingModelPointer, expectedVersion: string | null): Promise<boolean> {
    return this.compareAndSet(CONTROL_KEYS.servingModel, next, 'modelVersion', expectedVersion);
  }

  async readRetraining(): Promise<RetrainingState | undefined> {
    const value = await this.read(CONTROL_KEYS.retraining);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: CONTROL_KEYS.retraining } };
    return {
      trainingJobName: required(value, 'trainingJobName', 'string', where),
      alarmName: required(value, 'alarmName', 'string', where),
      startedAt: required(value, 'startedAt', 'number', where),
      ...(value.announcedAt === undefined ? {} : { announcedAt: required(value, 'announcedAt', 'number', where) }),
    };
  }

  async recordRetraining(next: RetrainingState, expectedJob: string | null): Promise<boolean> {
    return this.compareAndSet(CONTROL_KEYS.retraining, next, 'trainingJobName', expectedJob);
  }

  async readJobVerdict(trainingJobName: string): Promise<JobVerdict | undefined> {
    const keyValue = CONTROL_KEYS.jobVerdict(trainingJobName);
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: keyValue } };
    const verdict = required(value, 'verdict', 'string', where);
    if (verdict !== 'promoted' && verdict !== 'rejected') {
      throw new TypeError(`table ${this.tableName}, key ${JSON.stringify({ key: keyValue })}: attribute verdict is ${JSON.stringify(verdict)}, expected "promoted" or "rejected"`);
    }
    return {
      trainingJobName: required(value, 'trainingJobName', 'string', where),
      verdict,
      detail: required(value, 'detail', 'string', where),
      decidedAt: required(value, 'decidedAt', 'number', where),
    };
  }

  async recordJobVerdict(verdict: JobVerdict): Promise<boolean> {
    return this.compareAndSet(CONTROL_KEYS.jobVerdict(verdict.trainingJobName), verdict, 'trainingJobName', null);
  }

  /** A recorded job is one item whose `job` attribute holds the record as JSON text. */
  async recordTrainingJob(job: RecordedTrainingJob): Promise<void> {
    await this.putJson(CONTROL_KEYS.trainingJob(job.trainingJobName), 'job', job);
  }

  async readTrainingJob(trainingJobName: string): Promise<RecordedTrainingJob | undefined> {
    return this.readJson<RecordedTrainingJob>(CONTROL_KEYS.trainingJob(trainingJobName), 'job', ['trainingJobName', 'roleArn', 'imageUri', 'trainS3Uri', 'outputS3Uri', 'fromDate', 'toDate']);
  }

  async readPromotion(trainingJobName: string): Promise<PromotionIntent | undefined> {
    return this.readJson<PromotionIntent>(CONTROL_KEYS.promotion(trainingJobName), 'intent', ['trainingJobName', 'stage', 'modelPackageArn', 'modelDataUrl', 'endpointConfigName']);
  }

  async writePromotion(intent: PromotionIntent): Promise<void> {
    await this.putJson(CONTROL_KEYS.promotion(intent.trainingJobName), 'intent', intent);
  }

  private async putJson(keyValue: string, attribute: string, value: object): Promise<void> {
    const key = { key: keyValue };
    await call('PutItem', this.tableName, key, () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: toItem({ key: keyValue, [attribute]: JSON.stringify(value) }) })),
    );
  }

  /** A JSON-text attribute, parsed; the error names the table, the key and the missing field. */
  private async readJson<T>(keyValue: string, attribute: string, requiredStrings: readonly string[]): Promise<T | undefined> {
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = `table ${this.tableName}, key ${JSON.stringify({ key: keyValue })}`;
    const text = required(value, attribute, 'string', { tableName: this.tableName, key: { key: keyValue } });
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new TypeError(`${where}: attribute ${attribute} is not JSON (${(error as Error).message})`);
    }
    for (const field of requiredStrings) {
      if (typeof parsed[field] !== 'string') throw new TypeError(`${where}: attribute ${attribute} has no string ${field}`);
    }
    return parsed as T;
  }

  /** A cut is one item: `revision` (N) and `state`, the CutState as JSON text (its score window is ~2,000 numbers). */
  async readCut(scope: string): Promise<StoredCut | undefined> {
    const keyValue = CONTROL_KEYS.cut(scope);
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: keyValue } };
    const text = required(value, 'state', 'string', where);
    let state: CutState;
    try {
      state = JSON.parse(text) as CutState;
    } catch (error) {
      throw new TypeError(`table ${this.tableName}, key ${JSON.stringify({ key: keyValue })}: attribute state is not JSON (${(error as Error).message})`);
    }
    return { state, revision: required(value, 'revision', 'number', where) };
  }

  async writeCut(scope: string, state: CutState, expectedRevision: number | null): Promise<boolean> {
    return putRevisioned(this.client, this.tableName, CONTROL_KEYS.cut(scope), { state: JSON.stringify(state) }, expectedRevision);
  }

  private async read(keyValue: string): Promise<Record<string, unknown> | undefined> {
    const key = { key: keyValue };
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    return answer.Item ? fromItem(answer.Item) : undefined;
  }

  /** Replaces the item if its `attribute` is still `expected` (null: no item yet); false if someone else moved it. */
  private async compareAndSet(keyValue: string, next: object, attribute: string, expected: string | null): Promise<boolean> {
    const key = { key: keyValue };
    try {
      await call('PutItem', this.tableName, key, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ ...next, key: keyValue }),
            ...(expected === null
              ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
              : {
                  ConditionExpression: '#current = :expected',
                  ExpressionAttributeNames: { '#current': attribute },
                  ExpressionAttributeValues: { ':expected': { S: expected } },
                }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

/**
 * The bakes in the control table: the open ones and the watched alarms' states in one item
 * (`bakes#open`: `revision` N and `book`, JSON text), written by compare-and-set on its revision;
 * each closed bake in its own item (`bake#<deploymentId>`: `bake`, JSON text, put once), with its
 * announcement beside it for conditions to see: `announcing` {token, at} (claimed by a conditional
 * UpdateItem) and `announcedAt` N (closed bakes of earlier releases kept `announcedAt` in `bake`).
 */
export class DynamoDbBakeStore implements BakeStore {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async readBook(): Promise<StoredBakeBook | undefined> {
    const value = await this.read(CONTROL_KEYS.bakes);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: CONTROL_KEYS.bakes } };
    return { book: this.parse<BakeBook>(required(value, 'book', 'string', where), CONTROL_KEYS.bakes), revision: required(value, 'revision', 'number', where) };
  }

  async writeBook(book: BakeBook, expectedRevision: number | null): Promise<boolean> {
    return putRevisioned(this.client, this.tableName, CONTROL_KEYS.bakes, { book: JSON.stringify(book) }, expectedRevision);
  }

  async keepClosed(record: BakeRecord): Promise<BakeRecord> {
    const keyValue = CONTROL_KEYS.bake(record.deploymentId);
    const { announcing, announcedAt, ...bake } = record;
    try {
      await call('PutItem', this.tableName, { key: keyValue }, () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem({ key: keyValue, bake: JSON.stringify(bake), announcing, announcedAt }),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': 'key' },
          }),
        ),
      );
      return record;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Kept already: by another invocation, an earlier attempt, or this very PutItem whose answer was lost.
      const kept = await this.readClosed(record.deploymentId);
      if (!kept) throw new Error(`table ${this.tableName}: the closed bake of ${record.deploymentId} was refused as kept already, and none is`, { cause: error });
      return kept;
    }
  }

  async readClosed(deploymentId: string): Promise<BakeRecord | undefined> {
    const keyValue = CONTROL_KEYS.bake(deploymentId);
    const value = await this.read(keyValue);
    if (!value) return undefined;
    const where = { tableName: this.tableName, key: { key: keyValue } };
    const bake = this.parse<BakeRecord>(required(value, 'bake', 'string', where), keyValue);
    const announcing = value.announcing as Record<string, unknown> | undefined;
    return {
      ...bake,
      ...(announcing === undefined ? {} : { announcing: { token: required(announcing, 'token', 'string', where), at: required(announcing, 'at', 'number', where) } }),
      ...(value.announcedAt === undefined ? {} : { announcedAt: required(value, 'announcedAt', 'number', where) }),
      ...(value.countedBy === undefined ? {} : { countedBy: required(value, 'countedBy', 'string', where) }),
    };
  }

  async claimAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim, expected: BakeAnnouncementClaim | null): Promise<boolean> {
    const key = { key: CONTROL_KEYS.bake(deploymentId) };
    const over: { readonly condition: string; readonly values: Record<string, AttributeValue> } =
      expected === null
        ? { condition: 'attribute_not_exists(#announcing)', values: {} }
        : { condition: '#announcing.#token = :token AND #announcing.#at = :at', values: { ':token': { S: expected.token }, ':at': toAttribute(expected.at, 'announcing.at') } };
    const claimed = await updateIf(this.client, this.tableName, key, {
      update: 'SET #announcing = :claim',
      condition: `attribute_exists(#key) AND attribute_not_exists(#announcedAt) AND ${over.condition}`,
      names: { '#key': 'key', '#announcing': 'announcing', '#announcedAt': 'announcedAt', ...(expected === null ? {} : { '#token': 'token', '#at': 'at' }) },
      values: { ':claim': toAttribute(claim, 'announcing'), ...over.values },
    });
    if (claimed) return true;
    // The SDK's retry of a claim applied whose answer was lost meets this very claim: it is ours.
    const kept = await this.readClosed(deploymentId);
    return kept !== undefined && kept.announcedAt === undefined && kept.announcing?.token === claim.token && kept.announcing.at === claim.at;
  }

  async releaseAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim): Promise<void> {
    // A failed condition: not this claim any more (taken over, or announced), nothing of ours to let go of.
    await updateIf(this.client, this.tableName, { key: CONTROL_KEYS.bake(deploymentId) }, {
      update: 'REMOVE #announcing',
      condition: '#announcing.#token = :token AND #announcing.#at = :at AND attribute_not_exists(#announcedAt)',
      names: { '#announcing': 'announcing', '#token': 'token', '#at': 'at', '#announcedAt': 'announcedAt' },
      values: { ':token': { S: claim.token }, ':at': toAttribute(claim.at, 'announcing.at') },
    });
  }

  async markAnnounced(deploymentId: string, at: number): Promise<void> {
    const marked = await updateIf(this.client, this.tableName, { key: CONTROL_KEYS.bake(deploymentId) }, {
      update: 'SET #announcedAt = if_not_exists(#announcedAt, :at)',
      condition: 'attribute_exists(#key)',
      names: { '#key': 'key', '#announcedAt': 'announcedAt' },
      values: { ':at': toAttribute(at, 'announcedAt') },
    });
    if (!marked) throw new Error(`no closed bake of ${deploymentId} is kept in table ${this.tableName}: nothing to mark announced`);
  }

  async markCounted(deploymentId: string, invocation: string): Promise<boolean> {
    // The SDK's retry of a mark applied whose answer was lost meets this very mark, and the condition holds.
    const marked = await updateIf(this.client, this.tableName, { key: CONTROL_KEYS.bake(deploymentId) }, {
      update: 'SET #countedBy = :invocation',
      condition: 'attribute_exists(#key) AND (attribute_not_exists(#countedBy) OR #countedBy = :invocation)',
      names: { '#key': 'key', '#countedBy': 'countedBy' },
      values: { ':invocation': { S: invocation } },
    });
    if (marked) return true;
    if (!(await this.readClosed(deploymentId))) throw new Error(`no closed bake of ${deploymentId} is kept in table ${this.tableName}: nothing to mark counted`);
    return false;
  }

  private parse<T>(text: string, keyValue: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new TypeError(`table ${this.tableName}, key ${JSON.stringify({ key: keyValue })}: the bake is not JSON (${(error as Error).message})`);
    }
  }

  private async read(keyValue: string): Promise<Record<string, unknown> | undefined> {
    const key = { key: keyValue };
    const answer = await call('GetItem', this.tableName, key, () =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(key), ConsistentRead: true })),
    );
    return answer.Item ? fromItem(answer.Item) : undefined;
  }
}

/**
 * Puts a single control item with a `revision` one above the one the caller read (compare-and-set on
 * it; null: the item must not exist yet). False when another writer came first.
 */
async function putRevisioned(client: DynamoDBClient, tableName: string, keyValue: string, attributes: Record<string, string>, expectedRevision: number | null): Promise<boolean> {
  try {
    await call('PutItem', tableName, { key: keyValue }, () =>
      client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: toItem({ key: keyValue, revision: (expectedRevision ?? 0) + 1, ...attributes }),
          ...(expectedRevision === null
            ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': { N: String(expectedRevision) } },
              }),
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
