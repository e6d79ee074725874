import type * as z from 'zod/mini';
import { AWS_EVENT_SCHEMAS, type AwsEventKind } from './aws';
import type { AnyEvent } from './envelope';
import {
  DEFAULT_EVENT_SOURCE,
  EMITTED_EVENTS,
  emittedEventSchema,
  type EmittedDetail,
  type EmittedEventKind,
} from './emitted';
import { EventValidationError, parseWith } from './validation';

export type AwsEvent<Kind extends AwsEventKind> = z.output<(typeof AWS_EVENT_SCHEMAS)[Kind]>;
// Pick, not Omit: Omit over the envelope's index signature would turn every field into unknown.
export type EmittedEvent<Kind extends EmittedEventKind> = Pick<AnyEvent, 'version' | 'id' | 'source' | 'account' | 'time' | 'region' | 'resources'> & {
  'detail-type': Kind;
  detail: EmittedDetail<Kind>;
};

/** Validates an AWS event of a known kind; throws EventValidationError naming every offending path. */
export function parseAwsEvent<Kind extends AwsEventKind>(kind: Kind, value: unknown): AwsEvent<Kind> {
  return parseWith(kind, AWS_EVENT_SCHEMAS[kind], value) as AwsEvent<Kind>;
}

/** Validates a Deploy Guard event of a known kind, sent with the installation's `source`. */
export function parseEmittedEvent<Kind extends EmittedEventKind>(
  kind: Kind,
  value: unknown,
  source: string = DEFAULT_EVENT_SOURCE,
): EmittedEvent<Kind> {
  return parseWith(kind, emittedEventSchema(kind, source), value) as unknown as EmittedEvent<Kind>;
}

export type KnownEventKind = AwsEventKind | EmittedEventKind;

/**
 * Validates any event Deploy Guard knows, choosing the schema by its `detail-type`; an event of an
 * unknown kind is an EventValidationError too (it would otherwise be dropped silently).
 */
export function parseKnownEvent(value: unknown, source: string = DEFAULT_EVENT_SOURCE): { kind: KnownEventKind; event: unknown } {
  const detailType =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)['detail-type']
      : undefined;
  if (typeof detailType === 'string' && detailType in AWS_EVENT_SCHEMAS) {
    const kind = detailType as AwsEventKind;
    return { kind, event: parseAwsEvent(kind, value) };
  }
  if (typeof detailType === 'string' && detailType in EMITTED_EVENTS) {
    const kind = detailType as EmittedEventKind;
    return { kind, event: parseEmittedEvent(kind, value, source) };
  }
  throw new EventValidationError('EventBridge', [
    {
      path: 'detail-type',
      message:
        typeof detailType === 'string'
          ? `'${detailType}' is not an event kind Deploy Guard consumes or emits`
          : 'expected a string naming the event kind',
    },
  ]);
}
