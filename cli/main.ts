import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG, type CatalogEntry } from './catalog';
import { UsageError, type Command, type CommandIO } from './command';

/**
 * `deploy-guard <command> [options]`. Light on purpose: it imports only the catalog, so `help`,
 * `--version` and a mistyped command answer at once; a command's module is loaded when it runs or
 * when its usage is asked for.
 */

const HELP_FLAGS = new Set(['--help', '-h']);
const VERSION_FLAGS = new Set(['--version', '-V', 'version']);

export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || HELP_FLAGS.has(name)) return help(rest[0], io);
  if (VERSION_FLAGS.has(name)) {
    io.stdout.write(`deploy-guard ${version()}\n`);
    return 0;
  }
  const entry = CATALOG.find((candidate) => candidate.name === name);
  if (!entry) {
    io.stderr.write(`deploy-guard: unknown command '${name}'\n\n`);
    overview(io.stderr);
    return 2;
  }
  const asksHelp = rest.some((arg) => HELP_FLAGS.has(arg));
  // Loading a command (its usage text included) may load the SDK: quiet it first unless AWS is called.
  if (asksHelp || !entry.callsAws(rest)) quietAwsSdk();
  if (asksHelp) return usage(entry, io);
  const command = await entry.load();
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`deploy-guard ${command.name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return 2;
    }
    if (isConfigError(error)) {
      for (const problem of error.problems) io.stderr.write(`deploy-guard ${command.name}: ${error.file}: ${problem}\n`);
      return 2;
    }
    throw error;
  }
}

/** `help` lists the commands; `help NAME` shows a command's usage; an unknown NAME is an error. */
async function help(topic: string | undefined, io: CommandIO): Promise<number> {
  if (topic === undefined) {
    overview(io.stdout);
    return 0;
  }
  const entry = CATALOG.find((candidate) => candidate.name === topic);
  if (!entry) {
    io.stderr.write(`deploy-guard help: no command '${topic}' (the commands: ${CATALOG.map((candidate) => candidate.name).join(', ')})\n`);
    return 2;
  }
  return usage(entry, io);
}

async function usage(entry: CatalogEntry, io: CommandIO): Promise<number> {
  const command: Command = await entry.load();
  io.stdout.write(`${command.usage.trimEnd()}\n`);
  return 0;
}

function overview(stream: NodeJS.WritableStream): void {
  const width = Math.max(...CATALOG.map((entry) => entry.name.length));
  stream.write('Usage: deploy-guard <command> [options]\n\nCommands:\n');
  for (const entry of CATALOG) stream.write(`  ${entry.name.padEnd(width)}  ${entry.summary}\n`);
  stream.write('\n`deploy-guard help <command>` (or `deploy-guard <command> --help`) shows a command\'s options;\n`deploy-guard --version` its version.\n');
}

function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The AWS SDK warns, once per process, that its releases after January 2027 need Node 22 when it
 * runs on Node 20. A command that does not call AWS still loads the SDK (the backtest runs the real
 * handlers, whose clients are created at module scope), and the warning would only be noise there.
 */
function quietAwsSdk(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

/**
 * stacks/config.ts's ConfigError (a wrong configuration: the file and one problem per key path),
 * recognised by its shape: importing stacks/config.ts here would load zod for `help`.
 */
function isConfigError(error: unknown): error is Error & { readonly file: string; readonly problems: readonly string[] } {
  return error instanceof Error && error.name === 'ConfigError' && Array.isArray((error as { problems?: unknown }).problems);
}

function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
}
