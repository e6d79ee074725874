/**
 * The Lambda handlers, by name: each is `handlers/<name>.ts` exporting `handler`. The bundler
 * (tools/bundle-handlers.ts) and the stacks both read this list.
 */
export const HANDLER_NAMES = ['predict', 'traffic-hook', 'rollback', 'record-change', 'record-outcome', 'drift', 'promote', 'notify', 'bake', 'shadow-digest', 'pipeline-gate'] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];
