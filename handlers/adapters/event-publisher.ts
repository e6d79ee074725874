import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { MAX_PUT_EVENTS_ENTRIES, MAX_PUT_EVENTS_SIZE, putEventsEntrySize } from '../../events/bus';
import type { PutEventsEntry } from '../../events/emitted';

/** The port through which handlers emit their events. */
export interface EventPublisher {
  publish(entries: readonly PutEventsEntry[]): Promise<void>;
}

/** Some entries were still refused after every retry. Names each one and its error. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(readonly failures: readonly { detailType: string; errorCode: string; errorMessage: string }[]) {
    super(
      `PutEvents refused ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} after retries: ` +
        failures.map((failure) => `${failure.detailType}: ${failure.errorCode} ${failure.errorMessage}`).join('; '),
    );
  }
}

export interface EventBridgePublisherOptions {
  /** Attempts per entry, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Waits between attempts (injected so tests and the backtest do not sleep). @default setTimeout */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** @default 100 */
  readonly baseDelayMs?: number;
}

/** Errors PutEvents reports per entry that a retry can fix; the others (MalformedDetail, ...) cannot. */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException', 'InternalException', 'ServiceUnavailable']);

/**
 * Publishes through PutEvents, in batches within EventBridge's limits (10 entries, 256 KB). A
 * partial failure (FailedEntryCount > 0) is normal: the failed entries alone are retried with
 * backoff, and if any is still refused a PublishError names it. Throttling of the whole request is
 * retried by the SDK's standard retry mode.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly maxAttempts: number;
  private readonly sleep: (milliseconds: number) => Promise<void>;
  private readonly baseDelayMs: number;

  constructor(private readonly client: EventBridgeClient, options: EventBridgePublisherOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.sleep = options.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
    this.baseDelayMs = options.baseDelayMs ?? 100;
  }

  async publish(entries: readonly PutEventsEntry[]): Promise<void> {
    const failures: PublishError['failures'][number][] = [];
    for (const batch of batches(entries)) failures.push(...(await this.publishBatch(batch)));
    if (failures.length > 0) throw new PublishError(failures);
  }

  private async publishBatch(batch: readonly PutEventsRequestEntry[]): Promise<PublishError['failures'][number][]> {
    const failures: PublishError['failures'][number][] = [];
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await this.sleep(this.baseDelayMs * 2 ** (attempt - 2));
      const answer = await this.client.send(new PutEventsCommand({ Entries: [...pending] }));
      if (!answer.FailedEntryCount) break;
      const retry: PutEventsRequestEntry[] = [];
      pending.forEach((entry, index) => {
        const result = answer.Entries?.[index];
        if (result?.EventId !== undefined && result.ErrorCode === undefined) return;
        const errorCode = result?.ErrorCode ?? 'InternalFailure';
        if (RETRYABLE_ENTRY_ERRORS.has(errorCode) && attempt < this.maxAttempts) {
          retry.push(entry);
        } else {
          failures.push({
            detailType: entry.DetailType ?? '(no detail-type)',
            errorCode,
            errorMessage: result?.ErrorMessage ?? 'no event id returned',
          });
        }
      });
      pending = retry;
    }
    return failures;
  }
}

/** Splits entries into PutEvents requests of at most 10 entries and 256 KB. */
export function batches(entries: readonly PutEventsEntry[]): PutEventsRequestEntry[][] {
  const result: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const entrySize = putEventsEntrySize(entry);
    if (current.length === MAX_PUT_EVENTS_ENTRIES || (current.length > 0 && size + entrySize > MAX_PUT_EVENTS_SIZE)) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push({ ...entry });
    size += entrySize;
  }
  if (current.length > 0) result.push(current);
  return result;
}
