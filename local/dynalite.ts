import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type AttributeDefinition, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { TABLES, tableName, type TableDefinition, type TableName } from '../handlers/tables';

/**
 * DynamoDB on the laptop: dynalite (the DynamoDB API over an in-memory LevelDB) in this process, on a
 * free loopback port, with every table of handlers/tables.ts created, so the real DynamoDB adapters
 * run unchanged. Tables are named `<prefix>-<name>` like in AWS. TTL is not enforced by dynalite.
 */

export interface LocalDynamoDb {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** A client of this endpoint (fake credentials, standard retries). */
  readonly client: DynamoDBClient;
  /** Physical table names by logical name. */
  readonly tableNames: Readonly<Record<TableName, string>>;
  /** Destroys the client and stops the server. */
  close(): Promise<void>;
}

export interface LocalDynamoDbOptions {
  /** Prefix of the table names (default `deploy-guard-local`). */
  readonly prefix?: string;
  /** How long dynalite keeps a new table CREATING, in ms (default 0; a test of the wait sets more). */
  readonly createTableMs?: number;
}

/** How many times a table's status is read before giving up on it becoming ACTIVE. */
const ACTIVE_POLLS = 1_000;
const ACTIVE_POLL_MS = 5;

export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const prefix = options.prefix ?? 'deploy-guard-local';
  const server = dynalite({ createTableMs: options.createTableMs ?? 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    retryMode: 'standard',
  });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };

  const tableNames = Object.fromEntries((Object.keys(TABLES) as TableName[]).map((table) => [table, tableName(prefix, table)])) as Record<TableName, string>;
  try {
    for (const table of Object.values(TABLES)) {
      const definition: TableDefinition = table;
      const keys: KeySchemaElement[] = [{ AttributeName: definition.partitionKey, KeyType: 'HASH' }];
      if (definition.sortKey) keys.push({ AttributeName: definition.sortKey, KeyType: 'RANGE' });
      const index = definition.index;
      const indexKeys: KeySchemaElement[] = index ? [{ AttributeName: index.partitionKey, KeyType: 'HASH' }, { AttributeName: index.sortKey, KeyType: 'RANGE' }] : [];
      await client.send(
        new CreateTableCommand({
          TableName: tableNames[definition.name as TableName],
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...keys, ...indexKeys].map((key): AttributeDefinition => ({ AttributeName: key.AttributeName, AttributeType: 'S' })),
          KeySchema: keys,
          ...(index ? { GlobalSecondaryIndexes: [{ IndexName: index.name, KeySchema: indexKeys, Projection: { ProjectionType: 'ALL' } }] } : {}),
        }),
      );
    }
    for (const name of Object.values(tableNames)) await untilActive(client, name);
  } catch (error) {
    await close();
    throw new Error(`could not create the tables in dynalite at ${endpoint}: ${(error as Error).message}`, { cause: error });
  }
  return { endpoint, client, tableNames, close };
}

/**
 * Waits until a table is ACTIVE. dynalite answers CreateTable with CREATING and turns the table
 * ACTIVE on a timer, and until then answers every item call with ResourceNotFoundException; on a
 * busy machine a first call can arrive before the timer has run.
 */
async function untilActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let poll = 0; poll < ACTIVE_POLLS; poll += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
  }
  throw new Error(`table ${name} was not ACTIVE after ${ACTIVE_POLLS} reads of its status`);
}
