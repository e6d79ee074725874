import { CreateTableCommand, DynamoDBClient, type AttributeDefinition, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { TABLES, type TableName } from '../handlers/tables';
import { ownName } from '../events/names';

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
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const prefix = options.prefix ?? 'deploy-guard-local';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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

  const tableNames = Object.fromEntries(Object.values(TABLES).map((table) => [table.name, ownName(prefix, table.name)])) as Record<TableName, string>;
  try {
    for (const table of Object.values(TABLES)) {
      const keys: { name: string; type: 'HASH' | 'RANGE' }[] = [{ name: table.partitionKey, type: 'HASH' }];
      if ('sortKey' in table) keys.push({ name: table.sortKey, type: 'RANGE' });
      await client.send(
        new CreateTableCommand({
          TableName: tableNames[table.name],
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: keys.map((key): AttributeDefinition => ({ AttributeName: key.name, AttributeType: 'S' })),
          KeySchema: keys.map((key): KeySchemaElement => ({ AttributeName: key.name, KeyType: key.type })),
        }),
      );
    }
  } catch (error) {
    await close();
    throw new Error(`could not create the tables in dynalite at ${endpoint}: ${(error as Error).message}`, { cause: error });
  }
  return { endpoint, client, tableNames, close };
}
