/**
 * A call applied by the service whose answer never reaches the caller: injected in an SDK client's
 * middleware below its retry middleware, so the SDK's standard retry sends the call again, as it does
 * after a connection reset. What the retry meets (its own applied call) is the service's to answer.
 */

/** The part of an SDK client's middleware stack used here (every v3 client has it; its own types are per service). */
interface DeserializeStack {
  readonly middlewareStack: {
    add(
      middleware: (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'deserialize'; name: string; priority: 'low' },
    ): void;
  };
}

let installed = 0;

/**
 * Loses the answers of the next `times` calls of `command` (e.g. 'StopDeploymentCommand') whose input
 * satisfies `when`; `lost()` says how many were lost so far.
 */
export function loseAnswers(client: { readonly middlewareStack: unknown }, command: string, options: { readonly when?: (input: Record<string, unknown>) => boolean; readonly times?: number } = {}): { readonly lost: () => number } {
  const times = options.times ?? 1;
  let lost = 0;
  installed += 1;
  (client as DeserializeStack).middlewareStack.add(
    (next, context) => async (args) => {
      const answer = await next(args);
      if (lost < times && context.commandName === command && (options.when?.(args.input as Record<string, unknown>) ?? true)) {
        lost += 1;
        throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
      }
      return answer;
    },
    { step: 'deserialize', name: `loseAnswer${installed}`, priority: 'low' },
  );
  return { lost: () => lost };
}
