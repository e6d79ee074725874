import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalDynamoDb } from '../../local/dynalite';
import { TABLES } from '../../handlers/tables';

describe('local DynamoDB (dynalite)', () => {
  it('returns only once every table and index is ACTIVE, even when dynalite keeps new tables CREATING for a while', async () => {
    const local = await startLocalDynamoDb({ prefix: 'slow', createTableMs: 40 });
    try {
      for (const name of Object.values(local.tableNames)) {
        const { Table } = await local.client.send(new DescribeTableCommand({ TableName: name }));
        expect(Table?.TableStatus).toBe('ACTIVE');
        for (const index of Table?.GlobalSecondaryIndexes ?? []) expect(index.IndexStatus).toBe('ACTIVE');
      }
      // The first item call is answered, not refused with ResourceNotFoundException.
      const control = local.tableNames.control;
      const key = { [TABLES.control.partitionKey]: { S: 'model#serving' } };
      await expect(local.client.send(new GetItemCommand({ TableName: control, Key: key }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    } finally {
      await local.close();
    }
  });
});
