import { BAKE_DECLARATION } from './bake.declaration';
import type { HandlerDeclaration } from './declaration';
import { DRIFT_DECLARATION } from './drift.declaration';
import type { HandlerName } from './entries';
import { NOTIFY_DECLARATION } from './notify.declaration';
import { PIPELINE_GATE_DECLARATION } from './pipeline-gate.declaration';
import { PREDICT_DECLARATION } from './predict.declaration';
import { PROMOTE_DECLARATION } from './promote.declaration';
import { RECORD_CHANGE_DECLARATION } from './record-change.declaration';
import { RECORD_OUTCOME_DECLARATION } from './record-outcome.declaration';
import { ROLLBACK_DECLARATION } from './rollback.declaration';
import { SHADOW_DIGEST_DECLARATION } from './shadow-digest.declaration';
import { TRAFFIC_HOOK_DECLARATION } from './traffic-hook.declaration';

/** Every handler's declaration, by name (HANDLER_NAMES): what the stack grants and configures. */
export const HANDLER_DECLARATIONS: Readonly<Record<HandlerName, HandlerDeclaration<never>>> = {
  predict: PREDICT_DECLARATION,
  'traffic-hook': TRAFFIC_HOOK_DECLARATION,
  rollback: ROLLBACK_DECLARATION,
  'record-change': RECORD_CHANGE_DECLARATION,
  'record-outcome': RECORD_OUTCOME_DECLARATION,
  drift: DRIFT_DECLARATION,
  promote: PROMOTE_DECLARATION,
  notify: NOTIFY_DECLARATION,
  bake: BAKE_DECLARATION,
  'shadow-digest': SHADOW_DIGEST_DECLARATION,
  'pipeline-gate': PIPELINE_GATE_DECLARATION,
};
