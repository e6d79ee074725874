import { awsDependencies, type HandlerDefinition } from './declaration';
import { correlationIdOf, deploymentIdOf, handlerLogger } from './observability';

/**
 * The one Lambda entry of every handler: the dependencies composed once per container from AWS
 * clients and the environment (a wrong variable throws a ConfigurationError naming it), the log keys
 * reset for each invocation, and one log line of the result, a warning when the handler refused.
 */
export function lambdaEntry<Dependencies extends { readonly config: unknown }, Result extends { readonly status: string }>(
  definition: HandlerDefinition<Dependencies, Result>,
): (event: unknown) => Promise<Result> {
  const { name } = definition.declaration;
  const logger = handlerLogger(name);
  let dependencies: Dependencies | undefined;
  return async (event) => {
    dependencies ??= awsDependencies(definition, process.env);
    logger.resetKeys();
    const result = await definition.handle(event, dependencies);
    const correlationId = definition.correlationId ? definition.correlationId(event, result) : correlationIdOf(event);
    const deploymentId = deploymentIdOf(event);
    logger.appendKeys({ ...(correlationId ? { correlationId } : {}), ...(deploymentId ? { deploymentId } : {}) });
    if (result.status === 'refused') logger.warn(`${name} refused`, { ...result });
    else logger.info(name, { ...result });
    return result;
  };
}
