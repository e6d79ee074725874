import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { toItem } from '../../handlers/adapters/dynamodb-attributes';
import { DynamoDbGateStore } from '../../handlers/adapters/dynamodb-gates';
import { MAX_REASON_CHARS } from '../../handlers/operator-controls';
import { GATE_DAY_PAGE_BYTES, SETTLEMENT_ROOM_BYTES, gateDay, gateDayKeyOf, listingBytes, type GateDecisionEntry, type GateSettlement } from '../../handlers/pipeline-gate-domain';
import { CONTROL_KEYS } from '../../handlers/tables';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/dynalite';

/**
 * A busy group's day of pipeline gate decisions, against dynalite (which refuses an item over
 * DynamoDB's 400 KB, as DynamoDB does): the listing continues on further pages instead of failing
 * the gate, lists each job once however often it is delivered, and keeps room for every held
 * release's settlement.
 */
const AT = Date.parse('2026-12-01T09:00:00Z');
const application = 'checkout';
const deploymentGroup = 'checkout-prod';
const group = `${application}/${deploymentGroup}`;
const day = gateDay(AT);

/** A decision of realistic size: a full git revision, a pipeline execution id, a model version of the trainer's form. */
function decision(index: number, outcome: GateDecisionEntry['outcome'] = 'fail'): GateDecisionEntry {
  const hex = index.toString(16).padStart(8, '0');
  return {
    jobId: `${hex}-0f1e-4d2c-8b3a-${hex}abcd`,
    application,
    deploymentGroup,
    revision: `git:${hex.repeat(5)}`,
    pipelineExecutionId: `e${hex}-1a2b-4c3d-9e8f-0123456789ab`,
    outcome,
    decidedAt: AT + index * 1_000,
    mode: 'gate',
    probability: 0.5383983850479126,
    cut: 0.30000000000000004,
    blockBudget: 0.1,
    modelVersion: 'deploy-guard-prod-20261201-0900-062000',
  };
}

/** The longest settlement a person can give: a reason of 500 three-byte characters, a long role session ARN. */
function longestSettlement(at: number): GateSettlement {
  return {
    action: 'approve',
    by: `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(64)}/${'s'.repeat(64)}`,
    reason: '€'.repeat(MAX_REASON_CHARS),
    at,
    cause: 'operator',
  };
}

async function pageCount(local: LocalDynamoDb): Promise<number> {
  let pages = 0;
  while ((await local.client.send(new GetItemCommand({ TableName: local.tableNames.control, Key: { key: { S: CONTROL_KEYS.gateDayPage(group, day, pages) } } }))).Item) pages += 1;
  return pages;
}

describe('a day of pipeline gate decisions in the control table (DynamoDbGateStore on dynalite)', () => {
  let local: LocalDynamoDb;
  beforeEach(async () => {
    local = await startLocalDynamoDb({ prefix: 'gate-pages' });
  });
  afterEach(() => local.close());

  it('counts an entry high, and keeps a held one room for the longest settlement', () => {
    const held = decision(1, 'hold');
    expect(listingBytes(held) - listingBytes({ ...held, outcome: 'fail' })).toBe(SETTLEMENT_ROOM_BYTES);
    // Settled with the longest reason and a long ARN, the entry is still within what was kept for it.
    const settled = { ...held, settled: longestSettlement(AT) };
    expect(Buffer.byteLength(JSON.stringify(settled))).toBeGreaterThan(Buffer.byteLength(JSON.stringify(held)) + 3 * MAX_REASON_CHARS);
    expect(listingBytes(settled)).toBeLessThanOrEqual(listingBytes(held));
  });

  it('a page filled to GATE_DAY_PAGE_BYTES as counted is under the item limit: what is counted is not below DynamoDB\'s size', async () => {
    const entries: GateDecisionEntry[] = [];
    let bytes = 0;
    for (let index = 0; bytes + listingBytes(decision(index)) <= GATE_DAY_PAGE_BYTES; index += 1) {
      entries.push(decision(index));
      bytes += listingBytes(decision(index));
    }
    expect(entries.length).toBeGreaterThan(800);
    const page = { key: gateDayKeyOf(entries[0]), jobs: Object.fromEntries(entries.map((entry) => [entry.jobId, entry])), bytes, expiresAt: 1_800_000_000 };
    await local.client.send(new PutItemCommand({ TableName: local.tableNames.control, Item: toItem(page) }));
    // The count runs about 20 % over DynamoDB's size for such entries; with 30 % more entries the page is refused.
    const more = Array.from({ length: Math.ceil(entries.length * 0.3) }, (_, index) => decision(entries.length + index));
    const over = { ...page, jobs: { ...page.jobs, ...Object.fromEntries(more.map((entry) => [entry.jobId, entry])) } };
    await expect(local.client.send(new PutItemCommand({ TableName: local.tableNames.control, Item: toItem(over) }))).rejects.toThrow(/maximum allowed size/);
  });

  it('continues a full page on the next: the 1,001st decision of a day filled to the page size is listed on page 2', async () => {
    const store = new DynamoDbGateStore(local.client, local.tableNames.control);
    const entries = Array.from({ length: 1_001 }, (_, index) => decision(index));
    const first = Object.fromEntries(entries.slice(0, 1_000).map((entry) => [entry.jobId, entry]));
    // The first page as the store would have filled it (its byte count at the page size).
    await local.client.send(new PutItemCommand({ TableName: local.tableNames.control, Item: toItem({ key: gateDayKeyOf(entries[0]), jobs: first, bytes: GATE_DAY_PAGE_BYTES - 100, expiresAt: 1_800_000_000 }) }));
    await store.listDecision(entries[1_000]);
    await store.listDecision(entries[5]);
    expect(await pageCount(local)).toBe(2);
    expect(await store.listedDecisions(group, day)).toEqual(entries);
  });

  it('lists each job once when decisions arrive at once and are delivered again, across pages of a few entries', async () => {
    const perPage = listingBytes(decision(0)) * 3;
    const store = new DynamoDbGateStore(local.client, local.tableNames.control, perPage);
    const entries = Array.from({ length: 12 }, (_, index) => decision(index));
    await Promise.all(entries.map((entry) => store.listDecision(entry)));
    const pages = await pageCount(local);
    expect(pages).toBeGreaterThanOrEqual(4);

    // Redelivered, in another order and at once: nothing listed twice, no page added.
    await Promise.all([...entries].reverse().map((entry) => store.listDecision(entry)));
    expect(await store.listedDecisions(group, day)).toEqual(entries);
    expect(await pageCount(local)).toBe(pages);
    expect(await store.listedDecisions(group, gateDay(AT + 86_400_000))).toEqual([]);
  });

  it('adds a settlement to a held release listed on a later page, and none to a job never listed', async () => {
    const store = new DynamoDbGateStore(local.client, local.tableNames.control, listingBytes(decision(0, 'hold')) * 2);
    const entries = Array.from({ length: 5 }, (_, index) => decision(index, 'hold'));
    for (const entry of entries) await store.listDecision(entry);
    expect(await pageCount(local)).toBe(3);
    const settled = longestSettlement(AT + 3_600_000);
    await store.settleListedDecision(entries[4], settled);
    await store.settleListedDecision(decision(99, 'hold'), settled);
    expect(await store.listedDecisions(group, day)).toEqual([...entries.slice(0, 4), { ...entries[4], settled }]);
  });

  it('names the job and the page size when one entry cannot fit a page', async () => {
    const store = new DynamoDbGateStore(local.client, local.tableNames.control, 100);
    await expect(store.listDecision(decision(7))).rejects.toThrow(`the listing entry of job ${decision(7).jobId} takes ${listingBytes(decision(7))} bytes, more than a page of 100 holds`);
    expect(() => new DynamoDbGateStore(local.client, local.tableNames.control, GATE_DAY_PAGE_BYTES + 1)).toThrow(/pageBytes must be a whole number/);
  });
});
