import { applicableOverride, overrideKeysOf, type AppliedOverride } from './operator-controls';
import type { OperatorControlStore } from './ports';

/**
 * The operator's override or pause that lets this deployment through at `now`, if any: its release's
 * override (by revision key, or by its own id when it has no revision) before its group's pause.
 * Shared by predict (at the assessment) and the traffic hook (at BeforeAllowTraffic).
 */
export async function findOverride(
  store: OperatorControlStore,
  deployment: { readonly deploymentId: string; readonly application: string; readonly deploymentGroup: string; readonly revision?: string },
  now: number,
): Promise<AppliedOverride | undefined> {
  const [overrides, pause] = await Promise.all([
    Promise.all(overrideKeysOf(deployment).map((revision) => store.readOverride(deployment.application, revision))),
    store.readPause(deployment.application, deployment.deploymentGroup),
  ]);
  return applicableOverride({ overrides, pause }, now);
}
