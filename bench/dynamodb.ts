/**
 * One DynamoDB call through the SDK to dynalite (local/dynalite.ts), serial: the cost that decides
 * whether the backtest runs its stores in process or through the real adapters (DESIGN.md §4).
 * Prints the median and p90 of GetItem, PutItem and a conditional UpdateItem, and one putOutcome of
 * the DynamoDB deployment store (its several calls).
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { performance } from 'node:perf_hooks';
import { DynamoDbDeploymentStore } from '../handlers/adapters/dynamodb-stores';
import { startLocalDynamoDb } from '../local/dynalite';

const WARMUP = 50;
const RUNS = 400;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(name: string, runs: number, once: (index: number) => Promise<unknown>): Promise<{ name: string; median: number; p90: number }> {
  for (let index = 0; index < WARMUP; index += 1) await once(-1 - index);
  const times: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const start = performance.now();
    await once(index);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { name, median: quantile(times, 0.5), p90: quantile(times, 0.9) };
}

async function main(): Promise<void> {
  const local = await startLocalDynamoDb({ prefix: 'bench' });
  const { client, tableNames } = local;
  const table = tableNames.control;
  try {
    await client.send(new PutItemCommand({ TableName: table, Item: { key: { S: 'model#serving' }, modelVersion: { S: 'v1' } } }));
    const results = [
      await measure('GetItem (consistent)', RUNS, () =>
        client.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'model#serving' } }, ConsistentRead: true })),
      ),
      await measure('PutItem', RUNS, (index) => client.send(new PutItemCommand({ TableName: table, Item: { key: { S: `bench#${index}` }, n: { N: String(index) } } }))),
      await measure('UpdateItem (conditional)', RUNS, (index) =>
        client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { key: { S: `bench#${index}` } },
            UpdateExpression: 'SET #p = :true',
            ConditionExpression: 'attribute_exists(#k)',
            ExpressionAttributeNames: { '#p': 'published', '#k': 'key' },
            ExpressionAttributeValues: { ':true': { BOOL: true } },
          }),
        ).catch(() => undefined),
      ),
    ];
    const store = new DynamoDbDeploymentStore(client, tableNames.deployments, tableNames.history);
    const start = Date.parse('2026-11-20T09:00:00Z');
    results.push(
      await measure('DeploymentStore.putOutcome (new)', 200, (index) =>
        store.putOutcome(
          { deploymentId: `d-${index + 1000}`, application: 'bench', deploymentGroup: 'g', state: 'SUCCESS', label: 'succeeded', finishedAt: start + index * 60_000 + 1 },
          { time: start + index * 60_000, failed: index % 3 === 0 },
        ),
      ),
    );
    results.push(await measure('DeploymentStore.groupCounts', RUNS, () => store.groupCounts('bench', 'g', start + 10 * 86_400_000)));
    console.log(`DynamoDB calls through the SDK to dynalite ${local.endpoint}, serial, ${RUNS} runs after ${WARMUP} warm-up (node ${process.version})`);
    console.log('| call | median ms | p90 ms |');
    console.log('|---|---:|---:|');
    for (const result of results) console.log(`| ${result.name} | ${result.median.toFixed(2)} | ${result.p90.toFixed(2)} |`);
  } finally {
    await local.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
