import { UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ServingModelPointer } from '../ports';
import { CONTROL_KEYS } from '../tables';

/**
 * The DynamoDB attribute encoding of Deploy Guard's records, shared by the DynamoDB adapters.
 * Plain JSON-like values only: strings, finite numbers, booleans, null, arrays and objects; an
 * `undefined` property is omitted (optional fields are absent, never NULL). Numbers are written with
 * `String(n)` (the shortest text that reads back as the same double) and read with `Number`, so they
 * round-trip exactly. NaN and ±Infinity have no DynamoDB form and are refused with their path: a
 * feature vector, which may hold NaN, is stored as its text/csv row instead.
 */

export type Item = Record<string, AttributeValue>;

export function toAttribute(value: unknown, path: string): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'boolean':
      return { BOOL: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot store ${value} at ${path}: DynamoDB numbers must be finite`);
      return { N: String(value) };
    case 'object':
      if (Array.isArray(value)) return { L: value.map((element, index) => toAttribute(element, `${path}[${index}]`)) };
      return { M: toItem(value as Record<string, unknown>, path) };
    default:
      throw new TypeError(`cannot store a ${typeof value} at ${path}`);
  }
}

/** The attributes of an object; undefined properties are left out. */
export function toItem(value: Readonly<Record<string, unknown>>, path = 'item'): Item {
  const item: Item = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined) item[key] = toAttribute(field, `${path}.${key}`);
  }
  return item;
}

export function fromAttribute(attribute: AttributeValue, path: string): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.L !== undefined) return attribute.L.map((element, index) => fromAttribute(element, `${path}[${index}]`));
  if (attribute.M !== undefined) return fromItem(attribute.M, path);
  throw new TypeError(`unsupported DynamoDB attribute at ${path}: ${Object.keys(attribute).join(', ')}`);
}

export function fromItem(item: Item, path = 'item'): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [key, attribute] of Object.entries(item)) value[key] = fromAttribute(attribute, `${path}.${key}`);
  return value;
}

/** A conditional write or update whose condition did not hold: the expected "someone was first" answer. */
export function isConditionalCheckFailed(error: unknown): error is Error & { Item?: Item } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Any other DynamoDB failure, after the SDK's retries, naming the operation, the table and the key. */
export class DynamoDbStoreError extends Error {
  override readonly name = 'DynamoDbStoreError';
  constructor(
    readonly operation: string,
    readonly tableName: string,
    readonly key: Readonly<Record<string, string>>,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`DynamoDB ${operation} on table ${tableName}, key ${JSON.stringify(key)}, failed: ${reason}`, { cause });
  }
}

/** Runs one DynamoDB call; anything it throws but a failed condition is rethrown as DynamoDbStoreError. */
export async function call<T>(operation: string, tableName: string, key: Readonly<Record<string, string>>, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw error;
    throw new DynamoDbStoreError(operation, tableName, key, error);
  }
}

/** What varies between conditional UpdateItem calls of one item. */
export interface ConditionalUpdate {
  /** The UpdateExpression. */
  readonly update: string;
  /** The ConditionExpression. */
  readonly condition: string;
  readonly names: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, AttributeValue>>;
}

/**
 * One conditional UpdateItem of the item at `key`, through `call`: true when it applied, false when
 * its condition failed (another writer came first, or there is no such item); any other failure
 * throws DynamoDbStoreError.
 */
export async function updateIf(client: DynamoDBClient, tableName: string, key: Readonly<Record<string, string>>, change: ConditionalUpdate): Promise<boolean> {
  try {
    await call('UpdateItem', tableName, key, () =>
      client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: keyOf(key),
          UpdateExpression: change.update,
          ConditionExpression: change.condition,
          ExpressionAttributeNames: { ...change.names },
          ...(change.values ? { ExpressionAttributeValues: { ...change.values } } : {}),
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** The string key attributes of an item key. */
export function keyOf(key: Readonly<Record<string, string>>): Item {
  return Object.fromEntries(Object.entries(key).map(([name, value]) => [name, { S: value }]));
}

/** A stored attribute that must be there, with the type the adapter wrote; the error names table, key and attribute. */
export function required<T extends 'string' | 'number' | 'boolean'>(
  value: Record<string, unknown>,
  attribute: string,
  type: T,
  where: { readonly tableName: string; readonly key: Readonly<Record<string, string>> },
): T extends 'string' ? string : T extends 'number' ? number : boolean {
  const field = value[attribute];
  if (typeof field !== type) {
    throw new TypeError(`table ${where.tableName}, key ${JSON.stringify(where.key)}: attribute ${attribute} is ${JSON.stringify(field)}, expected a ${type}`);
  }
  return field as T extends 'string' ? string : T extends 'number' ? number : boolean;
}

/**
 * The serving pointer's control-table item, as DynamoDbControlStore writes and reads it; the stack
 * seeds the first one with it (stacks/initial-model.ts).
 */
export function servingModelItem(pointer: ServingModelPointer): Item {
  return toItem({ ...pointer, key: CONTROL_KEYS.servingModel });
}
