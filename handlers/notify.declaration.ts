import { PUBLISH_NOTIFICATIONS, type HandlerDeclaration } from './declaration';
import type { NotifyDependencies } from './notify';

/** notify: tells people about the decisions that matter, on the installation's notification topics only. */
export const NOTIFY_DECLARATION: HandlerDeclaration<NotifyDependencies> = {
  name: 'notify',
  reads: ['eventSource', 'notifications'],
  needs: [PUBLISH_NOTIFICATIONS],
  ports: ['notifications'],
};
