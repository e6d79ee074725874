import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock, type Clock } from '../events/clock';
import { revisionKey } from '../events/emitted';
import { parseEmittedEvent } from '../events/parse';
import { DynamoDbChangeSummaryStore } from './adapters/dynamodb-stores';
import { ENV, eventSourceFromEnv, requireEnv } from './config';
import { handlerLogger } from './observability';
import type { ChangeSummaryStore } from './ports';

/**
 * record-change: stores a Deployment Change Summary (sent by the CI step that built a release) under
 * its application and revision key, where predict finds it when the deployment starts. The newest
 * summary of a revision wins; a redelivery stores the same summary again, which changes nothing.
 */

export interface RecordChangeConfig {
  /** The installation's event source: summaries from any other source are refused. */
  readonly source: string;
}

export interface RecordChangeDependencies {
  readonly store: ChangeSummaryStore;
  readonly clock: Clock;
  readonly config: RecordChangeConfig;
}

export interface RecordChangeResult {
  readonly status: 'stored';
  readonly application: string;
  readonly revisionKey: string;
  /** How many change fields the summary carries (absent fields are missing values). */
  readonly fields: number;
  readonly receivedAt: number;
}

/** Validates the event (a malformed one throws EventValidationError and stores nothing), then stores it. */
export async function handleRecordChangeEvent(event: unknown, deps: RecordChangeDependencies): Promise<RecordChangeResult> {
  const summary = parseEmittedEvent('Deployment Change Summary', event, deps.config.source).detail;
  const receivedAt = deps.clock.now();
  await deps.store.put(summary, receivedAt);
  return {
    status: 'stored',
    application: summary.application,
    revisionKey: revisionKey(summary.revision),
    fields: Object.keys(summary.change).length,
    receivedAt,
  };
}

export function recordChangeConfigFromEnv(env: NodeJS.ProcessEnv): RecordChangeConfig {
  return { source: eventSourceFromEnv(env) };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const logger = handlerLogger('record-change');
let lambdaDependencies: RecordChangeDependencies | undefined;

export const handler = async (event: unknown): Promise<RecordChangeResult> => {
  lambdaDependencies ??= {
    store: new DynamoDbChangeSummaryStore(dynamoDbClient, requireEnv(process.env, ENV.changesTable, 'the DynamoDB change summaries table')),
    clock: systemClock,
    config: recordChangeConfigFromEnv(process.env),
  };
  logger.resetKeys();
  const result = await handleRecordChangeEvent(event, lambdaDependencies);
  logger.appendKeys({ correlationId: `${result.application}/${result.revisionKey}` });
  logger.info('record-change', { ...result });
  return result;
};
