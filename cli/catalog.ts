import type { Command } from './command';

/**
 * Every `deploy-guard` sub-command, in the order `deploy-guard help` lists them: its name, its
 * one-line summary, whether it calls AWS, and how to load it. Loading is deferred so that `help`,
 * `--version` and a mistyped command answer at once: a command's module imports the backtest, the
 * model or the AWS SDK, which take seconds to load. Add a command by adding an entry here and its
 * module under cli/commands/.
 */
export interface CatalogEntry {
  /** The word after `deploy-guard`. */
  readonly name: string;
  /** One line for `deploy-guard help`. */
  readonly summary: string;
  /** Whether the command, called with these arguments, calls AWS (otherwise the AWS SDK stays quiet). */
  readonly callsAws: (argv: readonly string[]) => boolean;
  /** The command itself (its usage and how it runs). */
  load(): Promise<Command>;
}

const never = (): boolean => false;

/**
 * A command's module, loaded when needed. `require`, not `import()`: the CLI runs its TypeScript
 * through tsx's CommonJS loader, which resolves extensionless `require`s to .ts files and leaves a
 * dynamic `import()` to Node's ESM loader, which does not.
 */
function commandModule<Module>(path: string): Module {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path) as Module;
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    name: 'start',
    summary: 'Run Deploy Guard locally on the shipped history and report what it would have prevented (npm start)',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/backtest')>('./commands/backtest').startCommand,
  },
  {
    name: 'backtest',
    summary: 'Replay a deployment history through the whole system and report what it would have prevented',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/backtest')>('./commands/backtest').backtestCommand,
  },
  {
    name: 'route',
    summary: 'Route every real AWS sample event through the system\'s rules and show which handler each reaches',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/route')>('./commands/route').routeCommand,
  },
  {
    name: 'match',
    summary: 'Test an EventBridge event pattern against an event, exactly as EventBridge decides',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/match')>('./commands/match').matchCommand,
  },
  {
    name: 'import',
    summary: 'Turn a CSV deployment history into Deploy Guard records, through a column mapping',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/import')>('./commands/import').importCommand,
  },
  {
    name: 'train',
    summary: 'Train and evaluate a model on a history, as the SageMaker training job does',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/train')>('./commands/train').trainCommand,
  },
  {
    name: 'score',
    summary: 'Score CSV rows with an XGBoost model exactly as the SageMaker endpoint would',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/score')>('./commands/score').scoreCommand,
  },
  {
    name: 'serve',
    summary: 'Serve an XGBoost model over HTTP with the SageMaker XGBoost container\'s protocol',
    callsAws: never,
    load: async () => commandModule<typeof import('./commands/serve')>('./commands/serve').createServeCommand(),
  },
  {
    name: 'change-summary',
    summary: 'Compute a release\'s change fields from git and print or publish its Deployment Change Summary',
    callsAws: (argv) => argv.includes('--publish'),
    load: async () => commandModule<typeof import('./commands/change-summary')>('./commands/change-summary').createChangeSummaryCommand(),
  },
  {
    name: 'decisions',
    summary: "List what Deploy Guard decided in an environment: each deployment's and pipeline gate job's decision, risk against the cut, and outcome",
    callsAws: (argv) => !argv.includes('--endpoint'),
    load: async () => commandModule<typeof import('./commands/decisions')>('./commands/decisions').createDecisionsCommand(),
  },
  {
    name: 'report',
    summary: "Report what Deploy Guard did in an environment per group, in the backtest's terms: blocked, caught and precision (estimated from exploration where it stopped), net benefit; and what the pipeline gate passed, failed and held",
    callsAws: (argv) => !argv.includes('--endpoint'),
    load: async () => commandModule<typeof import('./commands/report')>('./commands/report').createReportCommand(),
  },
  {
    name: 'override',
    summary: 'Let a release Deploy Guard stopped or holds through (the deployment and retries of its revision), for a bounded time, recorded and announced',
    callsAws: () => true,
    load: async () => commandModule<typeof import('./commands/override')>('./commands/override').createOverrideCommand(),
  },
  {
    name: 'pause',
    summary: "Turn a group's enforcement off for a bounded time (or back on with --resume), recorded and announced",
    callsAws: () => true,
    load: async () => commandModule<typeof import('./commands/pause')>('./commands/pause').createPauseCommand(),
  },
  {
    name: 'approve',
    summary: 'Let a deployment Deploy Guard holds for a person go on (ContinueDeployment at READY, or its traffic hook Succeeded), recorded and announced',
    callsAws: () => true,
    load: async () => commandModule<typeof import('./commands/hold-decision')>('./commands/hold-decision').createHoldDecisionCommand('approve'),
  },
  {
    name: 'reject',
    summary: 'Roll back a deployment Deploy Guard holds for a person (StopDeployment with auto-rollback, or its traffic hook Failed), recorded and announced',
    callsAws: () => true,
    load: async () => commandModule<typeof import('./commands/hold-decision')>('./commands/hold-decision').createHoldDecisionCommand('reject'),
  },
];

/** The one-line summary of a command, as `help` lists it (commands take theirs from here). */
export function summaryOf(name: string): string {
  const entry = CATALOG.find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`'${name}' is not a command of cli/catalog.ts`);
  return entry.summary;
}
