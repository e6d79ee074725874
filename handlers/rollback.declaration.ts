import { itemsOf, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { RollbackDependencies } from './rollback';

/** rollback: acts on CodeDeploy exactly once per deployment, as predict's stored assessment says. */
export const ROLLBACK_DECLARATION: HandlerDeclaration<RollbackDependencies> = {
  name: 'rollback',
  reads: ['eventBus', 'eventSource', 'metricsNamespace', 'deploymentsTable', 'controlTable', 'groups', 'accountId'],
  needs: [
    {
      sid: 'ActOnGuardedDeployments',
      actions: ['codedeploy:GetDeployment', 'codedeploy:StopDeployment', 'codedeploy:ContinueDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'],
      on: ['guarded-deployment-groups'],
    },
    itemsOf('control'),
    // predict's stored assessment decides what rollback may do; it only reads it.
    { sid: 'ReadAssessments', actions: ['dynamodb:GetItem'], on: [{ table: 'deployments' }] },
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codeDeploy', 'ledger', 'deployments', 'holds', 'publisher', 'metrics', 'clock', 'sleep'],
};
