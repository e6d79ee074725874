import { BAKE_ITEMS, itemsOf, PUBLISH_ON_OWN_BUS, READ_OPERATOR_ITEMS, RECORD_HOLD_ITEMS, type HandlerDeclaration } from './declaration';
import type { TrafficHookDependencies } from './traffic-hook';

/** Milliseconds the hook waits for predict's assessment when ENV.trafficHookWaitMs does not say (the stack sets this). */
export const DEFAULT_HOOK_WAIT_MS = 60_000;

/** traffic-hook: answers CodeDeploy's BeforeAllowTraffic hook from predict's stored assessment, and starts a baking deployment's window in its AfterAllowTraffic hook. */
export const TRAFFIC_HOOK_DECLARATION: HandlerDeclaration<TrafficHookDependencies> = {
  name: 'traffic-hook',
  reads: ['eventBus', 'eventSource', 'deploymentsTable', 'historyTable', 'controlTable', 'groups', 'trafficHookWaitMs'],
  needs: [
    { sid: 'ReportHookStatus', actions: ['codedeploy:GetDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'], on: ['guarded-deployment-groups'] },
    // The hook never scores: it reads predict's assessment and, fail-closed without one, stores its
    // fallback there (DeploymentStore get / putAssessment: the deployments table only).
    itemsOf('deployments'),
    // An operator's override or pause, read when the assessment says rollback: those control items only.
    READ_OPERATOR_ITEMS,
    // A baking ECS / Lambda deployment: its AfterAllowTraffic hook starts the window in the book of open
    // bakes (those items only); without a group with a bake tier it never touches them, and may not.
    { ...BAKE_ITEMS, onlyWith: 'bake-tier' },
    // A group that holds: the hold it records (with the hook execution it leaves unanswered), those control items only.
    RECORD_HOLD_ITEMS,
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codeDeploy', 'deployments', 'operatorControls', 'bakes', 'holds', 'publisher', 'clock', 'sleep'],
};
