import { BAKE_ITEMS, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { BakeDependencies } from './bake';
import { BAKE_TIMEOUT_SECONDS } from './bake-domain';
import { BAKE_KEYS } from './tables';

/** bake: watches the bake tier's deployments after their traffic moves; rolls one back (once) when an alarm of its group fires. */
export const BAKE_DECLARATION: HandlerDeclaration<BakeDependencies> = {
  name: 'bake',
  reads: ['eventBus', 'eventSource', 'metricsNamespace', 'deploymentsTable', 'controlTable', 'groups'],
  needs: [
    // StopDeployment with auto-rollback (EC2, or before traffic moved); the AfterAllowTraffic hook's status (ECS, Lambda).
    // GetDeployment: CodeDeploy refuses a StopDeployment of a finished deployment with one exception
    // whether it succeeded, failed or was stopped; the adapter asks which (a stop already done is the
    // rollback, a completed deployment a refusal announced as Deployment Rollback Failed).
    { sid: 'EndBakes', actions: ['codedeploy:GetDeployment', 'codedeploy:StopDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'], on: ['guarded-deployment-groups'] },
    // predict's stored assessment decides which deployment is baked; bake only reads it.
    { sid: 'ReadAssessments', actions: ['dynamodb:GetItem'], on: [{ table: 'deployments' }] },
    // The book of open bakes and the closed bakes (BakeStore: GetItem, conditional PutItem), those items only.
    BAKE_ITEMS,
    // A closed bake's announcement is claimed and marked announced, and the bake marked counted, in place
    // (BakeStore.claimAnnouncement, markAnnounced, markCounted: conditional UpdateItem), on the closed
    // bakes (`bake#…`) only.
    {
      sid: 'AnnounceClosedBakes',
      actions: ['dynamodb:UpdateItem'],
      on: [{ table: 'control' }],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${BAKE_KEYS.closedPrefix}*`] } },
    },
    // A rollback on an alarm is announced (Deployment Bake Rolled Back), and one CodeDeploy refused or
    // whose call failed with an error (Deployment Rollback Failed, with the bake), for notify to tell.
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codeDeploy', 'deployments', 'bakes', 'publisher', 'metrics', 'clock', 'sleep'],
  // The claims' lease (BAKE_CLAIM_LEASE_MS) is derived from it.
  timeoutSeconds: BAKE_TIMEOUT_SECONDS,
};
