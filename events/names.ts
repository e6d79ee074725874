import type { HandlerName } from '../handlers/entries';

/**
 * The one rule for the physical names of an installation: `<namePrefix>-<name>`. Whatever Deploy
 * Guard names (functions, tables, rules, alarms, training jobs, models) follows it, and whatever
 * recognises its own resources (rule patterns, IAM wildcards, drift and promote) matches ownNames.
 */

/** The physical name of the installation's `name`. */
export function ownName(namePrefix: string, name: string): string {
  return `${ownNames(namePrefix)}${name}`;
}

/** What every own name starts with. */
export function ownNames(namePrefix: string): string {
  return `${namePrefix}-`;
}

/**
 * The Lambda function of a handler. The traffic hook's is `CodeDeployHook_<prefix>-hook`: the name an
 * ECS or Lambda AppSpec gives its BeforeAllowTraffic hook, because CodeDeploy's managed service roles
 * (AWSCodeDeployRoleForECS / ForLambda) may invoke only functions named `CodeDeployHook_*`.
 */
export function handlerFunctionName(namePrefix: string, handler: HandlerName): string {
  return handler === 'traffic-hook' ? `CodeDeployHook_${ownName(namePrefix, 'hook')}` : ownName(namePrefix, handler);
}
