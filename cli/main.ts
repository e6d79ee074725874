import { Command, CommandIO, UsageError } from './command';
import { matchCommand } from './commands/match';
import { importCommand } from './commands/import';
import { trainCommand } from './commands/train';
import { backtestCommand, backtestUsage, runBacktestCommand } from './commands/backtest';
import { routeCommand } from './commands/route';
import { scoreCommand } from './commands/score';
import { serveCommand } from './commands/serve';
import { changeSummaryCommand } from './commands/change-summary';

/** Every sub-command, in the order `deploy-guard help` lists them. Add a command by adding a line. */
/** `npm start`: the backtest with its defaults (the shipped history, stop mode, retraining on). */
const startCommand: Command = {
  name: 'start',
  summary: 'Run Deploy Guard locally on the shipped history and report what it would have prevented (npm start)',
  usage: backtestUsage.replace('deploy-guard backtest [options]     (npm start runs it with the defaults)', 'deploy-guard start [options]        (the same as deploy-guard backtest)'),
  run: (argv, io) => runBacktestCommand(argv, io),
};

export const COMMANDS: readonly Command[] = [
  startCommand,
  backtestCommand,
  routeCommand,
  matchCommand,
  importCommand,
  trainCommand,
  scoreCommand,
  serveCommand,
  changeSummaryCommand,
];

function help(io: CommandIO): void {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  io.stdout.write('Usage: deploy-guard <command> [options]\n\nCommands:\n');
  for (const command of COMMANDS) io.stdout.write(`  ${command.name.padEnd(width)}  ${command.summary}\n`);
  io.stdout.write('\n`deploy-guard help <command>` shows a command\'s options.\n');
}

export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = COMMANDS.find((command) => command.name === rest[0]);
    if (topic) io.stdout.write(`${topic.usage.trimEnd()}\n`);
    else help(io);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr.write(`deploy-guard: unknown command '${name}'\n\n`);
    help(io);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`deploy-guard ${command.name}: ${error.message}\n\n${command.usage.trimEnd()}\n`);
      return 2;
    }
    throw error;
  }
}

function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
}
