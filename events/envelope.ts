import * as z from 'zod/mini';
import './zod-locale';

/**
 * The EventBridge envelope shared by every event: AWS service events on the default bus and Deploy
 * Guard's own events on its bus.
 *
 * LAZY_SCHEMAS: the schemas of whole events and of settings (events/aws.ts, events/emitted.ts's
 * details, handlers/config.ts, events/pipeline-gate.ts) are `z.lazy`: each is built on its first
 * parse, once, instead of when its module loads. Every handler bundle carries every schema (the
 * catalogues look them up by detail-type), and building all of them was the largest part of a
 * bundle's own load after the SDK's (about 4,000 zod constructors in predict's, a tenth of its
 * in-process `require`); a handler now builds only what it parses. Parsing, inferred types and the
 * generated JSON schemas are the same. A schema whose shape another schema extends keeps an eager
 * builder beside it (`groupPolicyObject`, `promotionSettingsObject`). test/events/lazy-schemas.test.ts
 * keeps the catalogues lazy.
 */

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const EPOCH_MILLIS = /^\d{10,16}(\.\d+)?$/;

/**
 * The times an event may carry: from the epoch to the last millisecond of year 9999, the range in
 * which a time written back as ISO-8601 (toISOString, eventBridgeTime) keeps a four-digit year.
 */
const EARLIEST_EVENT_MILLIS = 0;
const LATEST_EVENT_MILLIS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Milliseconds since the epoch of an event time. EventBridge writes ISO-8601 (`2019-10-02T17:04:40Z`),
 * CloudWatch writes `+0000` offsets inside alarm details, and SageMaker's documented samples carry
 * epoch milliseconds as a string (`"1583831889050"`, known quirk): all three are accepted on purpose.
 * Returns NaN for anything else, and for a time outside 1970-01-01 .. 9999-12-31 (16 digits of epoch
 * milliseconds reach past what a Date can hold, whose toISOString() throws; a year 0000 time moved
 * back by a data window, or a year 10000 one, no longer has the four-digit year an emitted event needs).
 */
export function eventTimeMillis(time: string): number {
  let millis: number;
  if (EPOCH_MILLIS.test(time)) millis = Number(time);
  else if (ISO_8601.test(time)) millis = Date.parse(time.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  else return Number.NaN;
  return millis >= EARLIEST_EVENT_MILLIS && millis <= LATEST_EVENT_MILLIS ? millis : Number.NaN;
}

/** An event time in any of the forms AWS is known to send (see eventTimeMillis). */
export const eventTime = z
  .string()
  .check(z.refine((time) => !Number.isNaN(eventTimeMillis(time)), 'expected an ISO-8601 time or epoch milliseconds, from 1970 to 9999'));

const nonEmpty = z.string().check(z.minLength(1));

/**
 * The envelope of an event of one kind. Unknown keys are kept (AWS adds fields over time, and a
 * schema that dropped them would lose data on the way to the data lake).
 */
export function envelope<Source extends z.ZodMiniType<string>, DetailType extends string, Detail extends z.ZodMiniType>(
  source: Source,
  detailType: DetailType,
  detail: Detail,
) {
  return z.looseObject({
    version: z.literal('0'),
    id: nonEmpty,
    'detail-type': z.literal(detailType),
    source,
    // Real samples anonymise the account (`xxxxxxxxxxxx`, `<<account>>`): any non-empty string.
    account: nonEmpty,
    time: eventTime,
    region: nonEmpty,
    resources: z.array(z.string()),
    detail,
  });
}

/** The fields every EventBridge event has, whatever its kind: used to route and to report. */
export const anyEvent = z.lazy(() => z.looseObject({
  version: z.string(),
  id: nonEmpty,
  'detail-type': nonEmpty,
  source: nonEmpty,
  account: nonEmpty,
  time: eventTime,
  region: nonEmpty,
  resources: z.array(z.string()),
  detail: z.record(z.string(), z.unknown()),
}));
export type AnyEvent = z.infer<typeof anyEvent>;
