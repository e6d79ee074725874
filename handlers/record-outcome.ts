import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHoldStore } from './adapters/dynamodb-holds';
import { S3Client } from '@aws-sdk/client-s3';
import { CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, CODEDEPLOY_FINAL_STATES } from '../events/aws';
import { eventTimeMillis } from '../events/envelope';
import { parseAwsEvent } from '../events/parse';
import { DynamoDbRollbackLedger } from './adapters/dynamodb-ledger';
import { DynamoDbBakeStore, DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { EmfMetrics } from './adapters/emf-metrics';
import { S3TrainingDataLake } from './adapters/s3-data-lake';
import { ENV, requireEnv } from './config';
import type { BakeRecord, BakeStore, DeploymentStore, HoldStore, MetricsPort, OutcomeLabel, OutcomeRecord, RollbackLedger, TrainingDataLake } from './ports';
import { DEFAULT_METRICS_NAMESPACE } from './quality-metrics';
import { historyEntry, labelOutcome, qualityDimensions, qualityMetricValues, type FinalState } from './record-outcome-domain';
import { writeTrainingRowIfComplete, type TrainingRowResult } from './training-row';
import type { HandlerDefinition, PortsOf } from './declaration';
import { lambdaEntry } from './lambda-entry';
import { RECORD_OUTCOME_DECLARATION } from './record-outcome.declaration';

/**
 * record-outcome: labels a finished CodeDeploy deployment (SUCCESS / FAILURE / STOP), records the
 * outcome and its group's history entry, writes the training row when the assessment is already
 * there (otherwise predict writes it when the assessment arrives: out-of-order delivery is normal),
 * and sends the model-quality metrics. A redelivered event (the outcome is already stored) sends
 * nothing again; it only writes the training row if the first delivery stored the outcome and
 * crashed before the row was written.
 */

export interface RecordOutcomeConfig {
  /** CloudWatch namespace of the quality metrics. */
  readonly metricsNamespace: string;
  /** Whether counterfactual labels go to the data lake too (as failures). @default false */
  readonly includeCounterfactual?: boolean;
}

export interface RecordOutcomeDependencies {
  readonly deployments: DeploymentStore;
  /** Only read: did Deploy Guard roll this deployment back? */
  readonly ledger: Pick<RollbackLedger, 'read'>;
  /** Only read: did a bake roll this deployment back? */
  readonly bakes: Pick<BakeStore, 'readBook' | 'readClosed'>;
  /** Only read, for a deployment of a group that holds: did a person (or the hold's timeout) reject it? */
  readonly holds: Pick<HoldStore, 'read'>;
  readonly lake: TrainingDataLake;
  readonly metrics: MetricsPort;
  readonly config: RecordOutcomeConfig;
}

export type RecordOutcomeResult =
  | { readonly status: 'ignored'; readonly deploymentId: string; readonly reason: string }
  | {
      readonly status: 'duplicate';
      readonly deploymentId: string;
      readonly label: OutcomeLabel;
      /** The training row, written now when an earlier delivery stored the outcome but crashed before writing it. */
      readonly trainingRow?: TrainingRowResult;
    }
  | {
      readonly status: 'recorded';
      readonly deploymentId: string;
      readonly label: OutcomeLabel;
      readonly labelReason: string;
      readonly assessed: boolean;
      readonly trainingRow: TrainingRowResult;
      /** Names of the quality metrics sent (empty when there was nothing to score). */
      readonly metrics: readonly string[];
    };

const FINAL_STATES: ReadonlySet<string> = new Set(CODEDEPLOY_FINAL_STATES);

/**
 * Validates the event first (a malformed one throws EventValidationError before any store, ledger,
 * S3 or metrics call), labels it, stores it, then writes the training row and the metrics.
 */
export async function handleRecordOutcomeEvent(event: unknown, deps: RecordOutcomeDependencies): Promise<RecordOutcomeResult> {
  const parsed = parseAwsEvent(CODEDEPLOY_DEPLOYMENT_STATE_CHANGE, event);
  const { deploymentId, application, deploymentGroup, state } = parsed.detail;
  if (!FINAL_STATES.has(state)) {
    return { status: 'ignored', deploymentId, reason: `state ${state} is not final: record-outcome labels SUCCESS, FAILURE and STOP` };
  }
  const finishedAt = eventTimeMillis(parsed.time);

  const [ledgerEntry, before, bake] = await Promise.all([deps.ledger.read(deploymentId), deps.deployments.get(deploymentId), bakeOf(deploymentId, deps.bakes)]);
  const hold = before?.assessment?.onRisk === 'hold' ? await deps.holds.read(deploymentId) : undefined;
  const decision = labelOutcome(state as FinalState, ledgerEntry, { bake, hold });
  const outcome: OutcomeRecord = { deploymentId, application, deploymentGroup, state: state as FinalState, label: decision.label, finishedAt };
  const write = await deps.deployments.putOutcome(outcome, historyEntry(decision.label, before?.assessment, finishedAt));
  if (!write.created) {
    const label = write.item.outcome?.label ?? decision.label;
    // The metrics were sent by the delivery that stored the outcome; its training row may not be written.
    if (write.item.trainingRowWritten) return { status: 'duplicate', deploymentId, label };
    const trainingRow = await writeTrainingRowIfComplete(write.item, { store: deps.deployments, lake: deps.lake }, { includeCounterfactual: deps.config.includeCounterfactual });
    return { status: 'duplicate', deploymentId, label, trainingRow };
  }

  // The item as stored now: the assessment may have arrived between the read and the write.
  const assessment = write.item.assessment;
  // Metrics first: writing them cannot fail on AWS, the data lake can (and then throws, naming the key).
  const values = qualityMetricValues(decision.label, assessment);
  if (values.length > 0) {
    deps.metrics.put({
      namespace: deps.config.metricsNamespace,
      dimensions: qualityDimensions(application, deploymentGroup),
      values,
      at: finishedAt,
    });
  }
  const trainingRow = await writeTrainingRowIfComplete(write.item, { store: deps.deployments, lake: deps.lake }, { includeCounterfactual: deps.config.includeCounterfactual });
  return {
    status: 'recorded',
    deploymentId,
    label: decision.label,
    labelReason: decision.reason,
    assessed: assessment !== undefined,
    trainingRow,
    metrics: values.map((value) => value.name),
  };
}

/** The deployment's bake: closed, or still open (the STOP event can overtake the bake's own record of its rollback). */
async function bakeOf(deploymentId: string, bakes: RecordOutcomeDependencies['bakes']): Promise<BakeRecord | undefined> {
  const closed = await bakes.readClosed(deploymentId);
  if (closed) return closed;
  return (await bakes.readBook())?.book.open.find((bake) => bake.deploymentId === deploymentId);
}

/** The handler's configuration from the Lambda environment. */
export function recordOutcomeConfigFromEnv(env: NodeJS.ProcessEnv): RecordOutcomeConfig {
  return { metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE };
}

// Module scope: created once per container, standard retry mode for throttling and transient errors;
// AWS_ENDPOINT_URL_* overrides are honoured by the SDK itself.
const dynamoDbClient = new DynamoDBClient({ retryMode: 'standard' });
const s3Client = new S3Client({ retryMode: 'standard' });

function awsPorts(env: NodeJS.ProcessEnv): Required<PortsOf<RecordOutcomeDependencies>> {
  const kmsKeyId = env[ENV.dataKmsKey];
  return {
    deployments: new DynamoDbDeploymentStore(
      dynamoDbClient,
      requireEnv(env, ENV.deploymentsTable, 'the DynamoDB deployments table'),
      requireEnv(env, ENV.historyTable, 'the DynamoDB history table'),
    ),
    ledger: new DynamoDbRollbackLedger(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table (rollback ledger)')),
    bakes: new DynamoDbBakeStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table (the bakes)')),
    holds: new DynamoDbHoldStore(dynamoDbClient, requireEnv(env, ENV.controlTable, 'the DynamoDB control table (holds)')),
    lake: new S3TrainingDataLake(s3Client, {
      bucket: requireEnv(env, ENV.dataBucket, 'the S3 bucket of labelled training rows'),
      ...(kmsKeyId ? { kmsKeyId } : {}),
    }),
    metrics: new EmfMetrics(),
  };
}

export const RECORD_OUTCOME: HandlerDefinition<RecordOutcomeDependencies, RecordOutcomeResult> = { declaration: RECORD_OUTCOME_DECLARATION, handle: handleRecordOutcomeEvent, configFromEnv: recordOutcomeConfigFromEnv, awsPorts };

export const handler = lambdaEntry(RECORD_OUTCOME);
