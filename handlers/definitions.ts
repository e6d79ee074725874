import { BAKE } from './bake';
import { DRIFT } from './drift';
import type { HandlerName } from './entries';
import { NOTIFY } from './notify';
import { PIPELINE_GATE } from './pipeline-gate';
import { PREDICT } from './predict';
import { PROMOTE } from './promote';
import { RECORD_CHANGE } from './record-change';
import { RECORD_OUTCOME } from './record-outcome';
import { ROLLBACK } from './rollback';
import { SHADOW_DIGEST } from './shadow-digest';
import { TRAFFIC_HOOK } from './traffic-hook';

/**
 * Every handler's definition (declaration, handle function, configuration, AWS ports), by name: for
 * the local runtime, the fuzzer and the tests. It loads every handler module, so neither a bundle
 * nor the stacks import it (they take one handler's module, or handlers/declarations.ts).
 */
export const HANDLER_DEFINITIONS = {
  predict: PREDICT,
  'traffic-hook': TRAFFIC_HOOK,
  rollback: ROLLBACK,
  'record-change': RECORD_CHANGE,
  'record-outcome': RECORD_OUTCOME,
  drift: DRIFT,
  promote: PROMOTE,
  notify: NOTIFY,
  bake: BAKE,
  'shadow-digest': SHADOW_DIGEST,
  'pipeline-gate': PIPELINE_GATE,
} as const satisfies Record<HandlerName, unknown>;
