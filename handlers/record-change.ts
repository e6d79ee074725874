import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock, type Clock } from '../events/clock';
import { revisionKey } from '../events/emitted';
import { parseEmittedEvent } from '../events/parse';
import { DynamoDbChangeSummaryStore } from './adapters/dynamodb-stores';
import { EmfMetrics } from './adapters/emf-metrics';
import { ENV, eventSourceFromEnv, requireEnv } from './config';
import type { ChangeSummaryRefusal, ChangeSummarySender, ChangeSummaryStore, MetricsPort } from './ports';
import { DEFAULT_METRICS_NAMESPACE, QUALITY_DIMENSIONS, QUALITY_METRICS } from './quality-metrics';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { RECORD_CHANGE_DECLARATION } from './record-change.declaration';

/**
 * record-change: stores a Deployment Change Summary (sent by the CI step that built a release) under
 * its application and revision key, where predict finds it when the deployment starts. The first
 * summary of a revision wins, stored with who sent it; a later one, or one arriving after a
 * deployment of the revision started, is refused, counted and logged (it could only steer the score).
 * A redelivery of the stored summary's own event is recognised as stored.
 */

export interface RecordChangeConfig {
  /** The installation's event source: summaries from any other source are refused. */
  readonly source: string;
  /** CloudWatch namespace of the refusals metric. */
  readonly metricsNamespace: string;
}

export interface RecordChangeDependencies {
  readonly changes: ChangeSummaryStore;
  readonly clock: Clock;
  readonly metrics: MetricsPort;
  readonly config: RecordChangeConfig;
}

interface RecordChangeFacts {
  readonly application: string;
  readonly revisionKey: string;
  /** How many change fields the summary carries (absent fields are missing values). */
  readonly fields: number;
  readonly receivedAt: number;
  readonly sender: ChangeSummarySender;
}

export type RecordChangeResult =
  | (RecordChangeFacts & { readonly status: 'stored' })
  | (RecordChangeFacts & { readonly status: 'refused'; readonly reason: ChangeSummaryRefusal; readonly message: string; readonly firstSender?: ChangeSummarySender });

/** Validates the event (a malformed one throws EventValidationError and stores nothing), then stores it unless its revision has one. */
export async function handleRecordChangeEvent(event: unknown, deps: RecordChangeDependencies): Promise<RecordChangeResult> {
  const parsed = parseEmittedEvent('Deployment Change Summary', event, deps.config.source);
  const summary = parsed.detail;
  const sender: ChangeSummarySender = { eventId: parsed.id, account: parsed.account, source: parsed.source, resources: [...parsed.resources] };
  const facts: RecordChangeFacts = {
    application: summary.application,
    revisionKey: revisionKey(summary.revision),
    fields: Object.keys(summary.change).length,
    receivedAt: deps.clock.now(),
    sender,
  };
  const write = await deps.changes.put({ summary, receivedAt: facts.receivedAt, sender });
  if (write.stored) return { status: 'stored', ...facts };
  countRefusal(deps, facts);
  const message =
    write.reason === 'already-summarised'
      ? `${facts.application} ${facts.revisionKey} already has the summary of event ${write.first?.sender.eventId} (account ${write.first?.sender.account}); event ${sender.eventId} (account ${sender.account}) is refused`
      : `a deployment of ${facts.application} ${facts.revisionKey} started before event ${sender.eventId} (account ${sender.account}) arrived; its summary is refused`;
  return { status: 'refused', ...facts, reason: write.reason, message, ...(write.first ? { firstSender: write.first.sender } : {}) };
}

function countRefusal(deps: RecordChangeDependencies, facts: RecordChangeFacts): void {
  deps.metrics.put({
    namespace: deps.config.metricsNamespace,
    dimensions: { [QUALITY_DIMENSIONS.application]: facts.application },
    values: [{ name: QUALITY_METRICS.changeSummariesRefused, unit: 'Count', value: 1 }],
    at: facts.receivedAt,
  });
}

export function recordChangeConfigFromEnv(env: NodeJS.ProcessEnv): RecordChangeConfig {
  return { source: eventSourceFromEnv(env), metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<RecordChangeDependencies>> {
  return {
    changes: new DynamoDbChangeSummaryStore(dynamoDbClient, requireEnv(env, ENV.changesTable, 'the DynamoDB change summaries table')),
    clock: systemClock,
    metrics: new EmfMetrics(),
  };
}

export const RECORD_CHANGE: HandlerDefinition<RecordChangeDependencies, RecordChangeResult> = {
  declaration: RECORD_CHANGE_DECLARATION,
  handle: handleRecordChangeEvent,
  configFromEnv: recordChangeConfigFromEnv,
  awsPorts,
  // A summary is about a revision: its log lines are tied by `<application>/<revision key>`.
  correlationId: (_event, result) => `${result.application}/${result.revisionKey}`,
};

export const handler = lambdaEntry(RECORD_CHANGE);
