/**
 * A CodeDeploy action that throws an error which is not one of CodeDeploy's refusals (the adapter,
 * handlers/adapters/codedeploy.ts, returns those as outcomes): what Deploy Guard does about it, the
 * same in the rollback handler and the bake. The SDK's standard retry mode has already made its
 * attempts. Throttling that outlived them is waited out a little while the claim is held; any other
 * error (access denied, a 5xx after the SDK's retries, an unsupported deployment, a bug), or
 * throttling still there after THROTTLED_ATTEMPTS, is given up on and announced (Deployment Rollback
 * Failed, reason `Error`): a retry minutes later would rarely do better, and a person must look while
 * the deployment runs on. Pure: no I/O, no clock.
 */

/** Attempts at a CodeDeploy action while CodeDeploy is still throttling after the SDK's retries. */
export const THROTTLED_ATTEMPTS = 3;

/** The wait before the second attempt; doubled before each later one (1 s, then 2 s). */
export const THROTTLED_WAIT_MS = 1_000;

/**
 * After attempt `attempt` (from 1) threw `error`: how long to wait before the next attempt, or
 * undefined to give up: at once for an error that is not throttling, after THROTTLED_ATTEMPTS for
 * throttling.
 */
export function retryWaitAfter(error: unknown, attempt: number): number | undefined {
  return isThrottling(error) && attempt < THROTTLED_ATTEMPTS ? THROTTLED_WAIT_MS * 2 ** (attempt - 1) : undefined;
}

/** CodeDeploy's throttling errors (ThrottlingException; the SDK marks them $retryable.throttling). */
export function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'ThrottlingException' || (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true;
}

/** The error in words, for the announcement: `<name>: <message>` (e.g. `AccessDeniedException: User: … is not authorized to perform: codedeploy:StopDeployment …`). */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
