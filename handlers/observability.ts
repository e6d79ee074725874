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

/** The id that ties an event's log lines together: deploymentId, trainingJobName or alarmName. */
export function correlationIdOf(event: unknown): string | undefined {
  const detail = event !== null && typeof event === 'object' ? (event as { detail?: unknown }).detail : undefined;
  if (detail === null || typeof detail !== 'object') return undefined;
  const fields = detail as Record<string, unknown>;
  for (const key of ['deploymentId', 'TrainingJobName', 'trainingJobName', 'alarmName']) {
    if (typeof fields[key] === 'string') return fields[key] as string;
  }
  return undefined;
}
