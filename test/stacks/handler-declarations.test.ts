import { synthesizeStack } from '../../cli/commands/backtest';
import { ENV } from '../../handlers/config';
import { HANDLER_DECLARATIONS } from '../../handlers/declarations';
import { HANDLER_DEFINITIONS } from '../../handlers/definitions';
import { HANDLER_NAMES } from '../../handlers/entries';
import { localEnvironment } from '../../local/handler-composition';
import { LOCAL_BUCKETS } from '../../local/stand-ins';
import { readWiring } from '../../local/terraform-wiring';
import { roleStatements } from '../../stacks/policy-check';
import { neededIn } from '../../handlers/declaration';
import { CONFIG_FILE } from '../../main';
import { guardedGroupPolicies, loadConfig } from '../../stacks/config';
import { installationFeatures } from '../../stacks/handler-grants';

/**
 * Each handler is declared once (handlers/<name>.declaration.ts): the environment its code reads is
 * exactly what the synthesized function is given, the ports its AWS composition makes are the
 * declared ones, and its role's statements are the declared needs.
 */

const stack = synthesizeStack(undefined, 'dev');
const DEV_FEATURES = installationFeatures(guardedGroupPolicies(loadConfig(CONFIG_FILE).environments.dev!));
const wiring = readWiring(stack);
const LOCAL = { groups: [], customBusName: 'deploy-guard-dev', initialFeaturesUrl: `s3://${LOCAL_BUCKETS.models}/models/initial/features.json` };
const functionOf = (handler: string) => wiring.functions.find((candidate) => candidate.handler === handler)!;
const declaredVariables = (handler: keyof typeof HANDLER_DECLARATIONS) => HANDLER_DECLARATIONS[handler].reads.map((key) => ENV[key]).sort();

/** The variables read while the handler's Lambda entry composes its dependencies. */
function variablesRead(handler: keyof typeof HANDLER_DEFINITIONS): string[] {
  const read = new Set<string>();
  const env = new Proxy(localEnvironment(wiring, handler, LOCAL), {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  const definition = HANDLER_DEFINITIONS[handler];
  definition.configFromEnv(env);
  definition.awsPorts(env);
  return [...read].sort();
}

describe.each(HANDLER_NAMES.map((name) => [name]))('%s: declared once', (handler) => {
  it('is declared under its own name', () => {
    expect(HANDLER_DECLARATIONS[handler].name).toBe(handler);
    expect(HANDLER_DEFINITIONS[handler].declaration).toBe(HANDLER_DECLARATIONS[handler]);
  });

  it('its function is given exactly the variables it declares', () => {
    const fn = functionOf(handler);
    expect(Object.keys({ ...fn.environment, ...fn.unresolvedEnvironment }).sort()).toEqual(declaredVariables(handler));
  });

  it('its code reads exactly the variables it declares', () => {
    expect(variablesRead(handler)).toEqual(declaredVariables(handler));
  });

  it('its AWS composition makes exactly the declared ports', () => {
    const ports = HANDLER_DEFINITIONS[handler].awsPorts(localEnvironment(wiring, handler, LOCAL));
    expect(Object.keys(ports).sort()).toEqual([...HANDLER_DECLARATIONS[handler].ports].sort());
  });

  it("its role's statements are its declared needs the installation calls for, after the function's own logs, queue and key", () => {
    const statements = roleStatements(stack, functionOf(handler).functionName);
    const declared = neededIn(HANDLER_DECLARATIONS[handler], DEV_FEATURES).map((need) => ({ Sid: need.sid, Action: [...need.actions] }));
    expect(statements.map((statement) => ({ Sid: (statement as { Sid?: string }).Sid, Action: statement.Action }))).toEqual([
      { Sid: 'WriteOwnLogs', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] },
      { Sid: 'SendFailuresToOwnQueue', Action: ['sqs:SendMessage'] },
      { Sid: 'UseInstallationKey', Action: ['kms:Decrypt', 'kms:GenerateDataKey'] },
      ...declared,
    ]);
  });
});
