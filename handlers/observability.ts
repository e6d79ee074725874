import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured logs of the Lambda handlers (Powertools Logger: JSON lines with the function's context).
 * Every log line of an event carries the deployment id (or training job / alarm) as correlation id,
 * so one CloudWatch Logs Insights query follows a deployment through predict, rollback and
 * record-outcome.
 */

export const SERVICE_NAME = 'deploy-guard';

/** One logger per handler, created at module scope. */
export function handlerLogger(handler: string): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { handler } });
}

/** The id that ties an event's log lines together: deploymentId (of a CodeDeploy event or hook invocation), trainingJobName or alarmName. */
export function correlationIdOf(event: unknown): string | undefined {
  const fields = detailOf(event);
  if (!fields) return deploymentIdOf(event);
  for (const key of ['deploymentId', 'TrainingJobName', 'trainingJobName', 'alarmName']) {
    if (typeof fields[key] === 'string') return fields[key] as string;
  }
  return undefined;
}

/** The deployment an event is about: `detail.deploymentId`, or a lifecycle hook invocation's `DeploymentId`. */
export function deploymentIdOf(event: unknown): string | undefined {
  const id = detailOf(event)?.deploymentId ?? (isObject(event) ? event.DeploymentId : undefined);
  return typeof id === 'string' ? id : undefined;
}

function detailOf(event: unknown): Record<string, unknown> | undefined {
  const detail = isObject(event) ? event.detail : undefined;
  return isObject(detail) ? detail : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}
