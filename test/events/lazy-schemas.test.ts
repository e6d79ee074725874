import { AWS_EVENT_SCHEMAS } from '../../events/aws';
import { EMITTED_EVENTS } from '../../events/emitted';
import { anyEvent } from '../../events/envelope';
import { gateUserParameters } from '../../events/pipeline-gate';
import { bakeSettings, groupPolicies, groupPolicy, notificationSettings, promotionSettings, retrainingSettings, shadowDigestSettings } from '../../handlers/config';

/**
 * LAZY_SCHEMAS (events/envelope.ts): every handler bundle carries every event and settings schema,
 * so each is built on its first parse, not when its module loads (a Lambda's cold start builds only
 * what its handler parses). What they accept is specified by the events' and settings' own tests.
 */

const typeOf = (schema: { _zod: { def: { type: string } } }) => schema._zod.def.type;

describe('schemas built on their first use (z.lazy)', () => {
  it('every consumed AWS event, by its detail-type', () => {
    expect(Object.entries(AWS_EVENT_SCHEMAS).filter(([, schema]) => typeOf(schema) !== 'lazy').map(([kind]) => kind)).toEqual([]);
  });

  it("every emitted event's detail", () => {
    expect(Object.entries(EMITTED_EVENTS).filter(([, definition]) => typeOf(definition.detail) !== 'lazy').map(([kind]) => kind)).toEqual([]);
  });

  it("the handlers' settings read from the environment, the gate's user parameters and the routing envelope", () => {
    const schemas = { bakeSettings, groupPolicy, groupPolicies, notificationSettings, promotionSettings, retrainingSettings, shadowDigestSettings, gateUserParameters, anyEvent };
    expect(Object.entries(schemas).filter(([, schema]) => typeOf(schema) !== 'lazy').map(([name]) => name)).toEqual([]);
  });

  it('parse as before once built: a lazy schema rejects and accepts what its inner schema does', () => {
    expect(promotionSettings.safeParse({}).success).toBe(false);
    expect(groupPolicies.safeParse([]).success).toBe(true);
  });
});
