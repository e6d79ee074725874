import { itemsOf, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import { SERVED_MODELS_PREFIX } from './s3-layout';
import type { TrafficHookDependencies } from './traffic-hook';

/** Milliseconds the hook waits for predict's assessment when ENV.trafficHookWaitMs does not say (the stack sets this). */
export const DEFAULT_HOOK_WAIT_MS = 60_000;

/** traffic-hook: answers CodeDeploy's BeforeAllowTraffic hook from predict's stored assessment. */
export const TRAFFIC_HOOK_DECLARATION: HandlerDeclaration<TrafficHookDependencies> = {
  name: 'traffic-hook',
  reads: ['eventBus', 'eventSource', 'deploymentsTable', 'historyTable', 'groups', 'trafficHookWaitMs'],
  needs: [
    { sid: 'ReportHookStatus', actions: ['codedeploy:GetDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'], on: ['guarded-deployment-groups'] },
    // The hook never scores (it waits for predict's assessment): this grant, ReadServingModel and the
    // changes and control tables are kept as the stack granted them until they are reviewed and dropped.
    { sid: 'ScoreWithEndpoint', actions: ['sagemaker:InvokeEndpoint'], on: ['prediction-endpoint'] },
    itemsOf('deployments', 'history', 'changes', 'control'),
    { sid: 'ReadServingModel', actions: ['s3:GetObject'], on: [{ objects: 'models', prefix: SERVED_MODELS_PREFIX }] },
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codeDeploy', 'deployments', 'publisher', 'clock', 'sleep'],
};
