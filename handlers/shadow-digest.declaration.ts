import { PUBLISH_NOTIFICATIONS, type HandlerDeclaration } from './declaration';
import type { ShadowDigestDependencies } from './shadow-digest';
import { SHADOW_DIGEST_KEY_PREFIX } from './tables';

/** A month of assessments per shadow group (graduation), read page by page; the day's claim holds a little longer (handlers/shadow-digest.ts). */
export const SHADOW_DIGEST_TIMEOUT_SECONDS = 120;

/** shadow-digest: once a day, tells the shadow groups' decisions of the last day in one message, on the notification topics only. */
export const SHADOW_DIGEST_DECLARATION: HandlerDeclaration<ShadowDigestDependencies> = {
  name: 'shadow-digest',
  reads: ['deploymentsTable', 'controlTable', 'notifications', 'shadowDigest'],
  needs: [
    // The shadow groups' assessments by group and time (DeploymentStore.recentAssessments): Query on the index only.
    { sid: 'ReadRecentAssessments', actions: ['dynamodb:Query'], on: [{ tableIndex: 'deployments' }] },
    // The claim of each day it tells (ShadowDigestStore: GetItem, the conditional PutItem of the claim,
    // the UpdateItem marking it sent), on the control table's `shadowdigest#…` items only.
    {
      sid: 'ClaimDigestDays',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      on: [{ table: 'control' }],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SHADOW_DIGEST_KEY_PREFIX}*`] } },
    },
    PUBLISH_NOTIFICATIONS,
  ],
  ports: ['deployments', 'digests', 'notifications', 'clock'],
  timeoutSeconds: SHADOW_DIGEST_TIMEOUT_SECONDS,
};
