import type { HandlerDeclaration } from './declaration';
import type { NotifyDependencies } from './notify';

/** notify: tells people about the decisions that matter, on the installation's notification topics only. */
export const NOTIFY_DECLARATION: HandlerDeclaration<NotifyDependencies> = {
  name: 'notify',
  reads: ['eventSource', 'notifications'],
  // The topics are encrypted with the installation's key, which every function may use (stacks/nodejs-function.ts).
  needs: [{ sid: 'PublishNotifications', actions: ['sns:Publish'], on: ['notification-topics'] }],
  ports: ['notifications'],
};
