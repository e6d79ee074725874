/** One `deploy-guard` sub-command. Each lives in its own file under cli/commands/ and is listed in cli/main.ts. */
export interface Command {
  /** The word after `deploy-guard`. */
  readonly name: string;
  /** One line for `deploy-guard help`. */
  readonly summary: string;
  /** Full usage text, printed by `deploy-guard help NAME` and on a usage error. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** The process streams, injected so that tests can run a command in-process. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
}

/** A mistake in how a command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses `--name value` and `--flag` options. `spec` maps each option to whether it takes a value;
 * an unknown option, a missing value or a stray positional argument is a UsageError naming it.
 */
export function parseOptions(
  argv: readonly string[],
  spec: Readonly<Record<string, 'value' | 'flag'>>,
): Record<string, string | true | undefined> {
  const options: Record<string, string | true | undefined> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2);
    const kind = spec[rawName];
    if (kind === undefined) throw new UsageError(`unknown option '--${rawName}'`);
    if (kind === 'flag') {
      if (inlineValue !== undefined) throw new UsageError(`option '--${rawName}' takes no value`);
      options[rawName] = true;
      continue;
    }
    const value = inlineValue ?? argv[index + 1];
    if (value === undefined || (inlineValue === undefined && value.startsWith('--'))) {
      throw new UsageError(`option '--${rawName}' needs a value`);
    }
    if (inlineValue === undefined) index += 1;
    options[rawName] = value;
  }
  return options;
}

/** The value of a required `--name value` option, or a UsageError naming it. */
export function requireOption(options: Record<string, string | true | undefined>, name: string): string {
  const value = options[name];
  if (typeof value !== 'string') throw new UsageError(`option '--${name}' is required`);
  return value;
}
