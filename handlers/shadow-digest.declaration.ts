import { PUBLISH_NOTIFICATIONS, type HandlerDeclaration } from './declaration';
import type { ShadowDigestDependencies } from './shadow-digest';

/** shadow-digest: once a day, tells the shadow groups' decisions of the last day in one message, on the notification topics only. */
export const SHADOW_DIGEST_DECLARATION: HandlerDeclaration<ShadowDigestDependencies> = {
  name: 'shadow-digest',
  reads: ['deploymentsTable', 'notifications', 'shadowDigest'],
  needs: [
    // The shadow groups' assessments by group and time (DeploymentStore.recentAssessments): Query on the index only.
    { sid: 'ReadRecentAssessments', actions: ['dynamodb:Query'], on: [{ tableIndex: 'deployments' }] },
    PUBLISH_NOTIFICATIONS,
  ],
  ports: ['deployments', 'notifications'],
  // A month of assessments per shadow group (graduation), read page by page.
  timeoutSeconds: 120,
};
