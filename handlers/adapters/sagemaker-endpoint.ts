import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { EndpointAnswer, EndpointFailure, ModelEndpointPort } from '../ports';

/** How long predict waits for the endpoint unless ENV.endpointTimeoutMs says otherwise. */
export const DEFAULT_ENDPOINT_TIMEOUT_MS = 2000;

export interface SageMakerEndpointOptions {
  readonly endpointName: string;
  /** The whole call, SDK retries included; past it the answer is a `Timeout` failure. @default 2000 */
  readonly timeoutMs?: number;
}

/**
 * The model endpoint over SageMaker InvokeEndpoint with `text/csv` in and out (the sagemaker-xgboost
 * 1.7-1 container answers one probability per line). It never throws for what an endpoint can do
 * wrong: a timeout, a ModelError (the container refused the rows), throttling left after the SDK's
 * retries, an endpoint that does not exist or is not ready, or any other error becomes a typed
 * failure, so the group's failure policy decides instead.
 */
export class SageMakerEndpoint implements ModelEndpointPort {
  private readonly timeoutMs: number;

  constructor(
    private readonly client: SageMakerRuntimeClient,
    private readonly options: SageMakerEndpointOptions,
  ) {
    if (!options.endpointName) throw new Error('SageMakerEndpoint needs an endpoint name');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ENDPOINT_TIMEOUT_MS;
    if (!(Number.isInteger(this.timeoutMs) && this.timeoutMs > 0)) {
      throw new Error(`endpoint timeout must be a positive whole number of milliseconds, got ${String(options.timeoutMs)}`);
    }
  }

  async invoke(csvRows: string): Promise<EndpointAnswer> {
    const controller = new AbortController();
    // The abort cancels the HTTP request; the race makes sure the deadline holds even while the SDK
    // is between retries, where an abort is only noticed at the next attempt.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error('deadline'));
      }, this.timeoutMs);
    });
    const endpoint = this.options.endpointName;
    try {
      const call = this.client.send(
        new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: 'text/csv', Accept: 'text/csv', Body: Buffer.from(csvRows, 'utf8') }),
        { abortSignal: controller.signal },
      );
      call.catch(() => undefined); // a late failure after the deadline has nobody to tell
      const answer = await Promise.race([call, deadline]);
      const body = answer.Body ? new TextDecoder('utf-8').decode(answer.Body) : '';
      return parseCsvProbabilities(body, countRows(csvRows), endpoint);
    } catch (error) {
      if (controller.signal.aborted) {
        return failure('Timeout', `endpoint ${endpoint} did not answer within ${this.timeoutMs} ms`);
      }
      return classify(error, endpoint);
    } finally {
      clearTimeout(timer);
    }
  }
}

function failure(kind: EndpointFailure, message: string): EndpointAnswer {
  return { ok: false, failure: kind, message };
}

function classify(error: unknown, endpoint: string): EndpointAnswer {
  const name = error instanceof Error ? error.name : 'Error';
  const text = `${name}: ${error instanceof Error ? error.message : String(error)}`;
  switch (name) {
    case 'AbortError':
    case 'TimeoutError':
      return failure('Timeout', `endpoint ${endpoint}: ${text}`);
    case 'ModelError':
      return failure('ModelError', `endpoint ${endpoint}: ${text}`);
    case 'ThrottlingException':
      return failure('Throttled', `endpoint ${endpoint} is throttling after retries: ${text}`);
    case 'ServiceUnavailable':
    case 'ModelNotReadyException':
      return failure('Unavailable', `endpoint ${endpoint}: ${text}`);
    case 'ValidationError':
    case 'ValidationException':
      // "Endpoint deploy-guard-dev of account 123456789012 not found.": deleted, or not created yet.
      if (/endpoint .* not found/i.test(text)) return failure('Unavailable', `endpoint ${endpoint}: ${text}`);
      return failure('Error', `endpoint ${endpoint}: ${text}`);
    default:
      return failure('Error', `endpoint ${endpoint}: ${text}`);
  }
}

function countRows(csvRows: string): number {
  return csvRows.split('\n').filter((line) => line.trim() !== '').length;
}

/**
 * The container's `text/csv` answer: one probability per line, trailing newline. (Older
 * sagemaker-xgboost images answered the probabilities comma-separated on one line; that reads too.)
 * A body that is not exactly one probability in [0, 1] per row is an `Error` failure naming it.
 */
export function parseCsvProbabilities(body: string, expectedRows: number, endpoint: string): EndpointAnswer {
  const fields = body.split(/[\n,]/).map((field) => field.trim()).filter((field) => field !== '');
  const probabilities = fields.map(Number);
  const bad = fields.findIndex((field, index) => !/^[-+0-9.eE]+$/.test(field) || !(probabilities[index] >= 0 && probabilities[index] <= 1));
  if (bad !== -1) {
    return failure('Error', `endpoint ${endpoint} answered '${fields[bad]}' where a probability was expected (body ${JSON.stringify(body.slice(0, 200))})`);
  }
  if (probabilities.length !== expectedRows) {
    return failure('Error', `endpoint ${endpoint} answered ${probabilities.length} probabilities for ${expectedRows} rows`);
  }
  return { ok: true, probabilities };
}
