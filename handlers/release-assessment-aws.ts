import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DynamoDbOperatorControlStore } from './adapters/dynamodb-operator-controls';
import { DynamoDbChangeSummaryStore, DynamoDbControlStore, DynamoDbDeploymentStore } from './adapters/dynamodb-stores';
import { S3ObjectReader } from './adapters/s3-objects';
import { SageMakerEndpoint } from './adapters/sagemaker-endpoint';
import { S3ServingModelSource } from './adapters/serving-model';
import { ENV, eventSourceFromEnv, type GroupPolicy, guardedGroupsFromEnv, requireEnv } from './config';
import { DEFAULT_METRICS_NAMESPACE } from './quality-metrics';
import { endpointTimeoutFromEnv, type ReleaseAssessmentDependencies } from './release-assessment';

/**
 * What predict and the pipeline gate both read from the Lambda environment and build from AWS
 * clients to judge a release (handlers/release-assessment.ts): one place, so the two judge alike.
 */

export interface AssessmentConfig {
  /** The installation's event source. */
  readonly source: string;
  /** Deploy Guard's bus, by name or ARN. */
  readonly eventBusName: string;
  /** The guarded groups. */
  readonly groups: readonly GroupPolicy[];
  /** CloudWatch namespace of the decision's metrics. */
  readonly metricsNamespace: string;
}

/** Reads the configuration of a handler that judges releases, naming the variable that is wrong. */
export function assessmentConfigFromEnv(env: NodeJS.ProcessEnv): AssessmentConfig {
  return {
    source: eventSourceFromEnv(env),
    eventBusName: requireEnv(env, ENV.eventBus, "the name or ARN of Deploy Guard's event bus"),
    groups: guardedGroupsFromEnv(env),
    metricsNamespace: env[ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
  };
}

/** The stores, serving model and endpoint a release is judged with, over the handler module's clients. */
export function awsAssessmentPorts(env: NodeJS.ProcessEnv, clients: { readonly dynamoDb: DynamoDBClient; readonly s3: S3Client; readonly sageMakerRuntime: SageMakerRuntimeClient }): ReleaseAssessmentDependencies & { readonly control: DynamoDbControlStore } {
  const controlTable = requireEnv(env, ENV.controlTable, 'the DynamoDB control table');
  const control = new DynamoDbControlStore(clients.dynamoDb, controlTable);
  return {
    deployments: new DynamoDbDeploymentStore(clients.dynamoDb, requireEnv(env, ENV.deploymentsTable, 'the DynamoDB deployments table'), requireEnv(env, ENV.historyTable, 'the DynamoDB history table')),
    changes: new DynamoDbChangeSummaryStore(clients.dynamoDb, requireEnv(env, ENV.changesTable, 'the DynamoDB change summaries table')),
    servingModel: new S3ServingModelSource(control, new S3ObjectReader(clients.s3)),
    control,
    operatorControls: new DynamoDbOperatorControlStore(clients.dynamoDb, controlTable),
    endpoint: new SageMakerEndpoint(clients.sageMakerRuntime, { endpointName: requireEnv(env, ENV.endpointName, 'the SageMaker endpoint serving the model'), timeoutMs: endpointTimeoutFromEnv(env) }),
  };
}
