import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GUARD_MODES, COMPUTE_PLATFORMS, type ComputePlatform, type GuardMode } from '../../events/emitted';
import { runBacktest } from '../../local/backtest';
import type { HistoryGroupSettings } from '../../stacks/config';
import { BLOCK_BUDGET, CUT_SCOPES, EXPLORATION, type CutScope } from '../../model/block-budget';
import { TRAINERS, type TrainerKind } from '../../model/training';
import { ProgressBar } from '../../local/progress';
import { renderReportHtml } from '../../local/report-html';
import { renderConsoleSummary } from '../../local/report-console';
import { parseOptions, UsageError, type Command, type CommandIO } from '../command';
import { summaryOf } from '../catalog';
import { importWithReport, readMapping } from './import';

/** The history `npm start` replays when no --data is given: shipped with the project, with its provenance. */
export const DEFAULT_DATA = resolve(__dirname, '../../data/ci-bfdetector');
export const DEFAULT_MAPPING = resolve(__dirname, '../../data/ci-bfdetector.mapping.json');
export const DEFAULT_OUT = 'out/backtest';

export const backtestUsage = `Usage: deploy-guard backtest [options]     (npm start runs it with the defaults)

Replays a real deployment history, in time order, through Deploy Guard's real handlers, wired by the
rules, targets, retry policies and alarms of the synthesized dev stack, on local stand-ins for
CodeDeploy, SageMaker, S3, DynamoDB and CloudWatch. The first model is trained on the deployments
that started before the date by which 20 % of the history had started (the warm-up, replayed in
shadow mode, not reported); after that Deploy Guard learns only through its own loop: outcomes
recorded, quality metrics, drift alarms and the retraining schedule, retraining, promotion. Each
group stops the riskiest share of its deployments (the block budget). The fair baselines (Parrot,
a heuristic, logistic regression, never retrain) run beside it, each in its own loop. Writes:
  DIR/report.html   one self-contained page with the charts
  DIR/report.json   the figures, per group, and the comparison with the baselines
  DIR/events.jsonl.gz  every event on the buses, in order (gzip; zcat reads it)

Options:
  --data PATH        a CSV history (file or folder of one file per group) (default: the shipped
                     ci-bfdetector history, 10 projects, 55,719 builds)
  --mapping FILE     how its columns map to Deploy Guard's fields (default: the shipped mapping)
  --mode MODE        shadow | stop | gate (default stop)
  --platform P       Server | ECS | Lambda, the compute platform of the guarded groups (default Server)
  --block-budget K   share of each group's deployments Deploy Guard may stop, 0.005 to 0.3 (default 0.1)
  --exploration E    share of would-be stops let through to be observed, 0 to 0.5 (default 0.02)
  --cut-scope S      installation (default: the riskiest share of all groups' deployments, one cut)
                     | group (each group's own riskiest share)
  --threshold P      an expert's fixed cut instead of the budget (it does not hold a rate)
  --costs F:N        cost of a missed failure : a needless stop, for net benefit (default 3:1)
  --no-retrain       never retrain (the "never retrain" baseline, run for real)
  --limit N          replay only the first N deployments of each group
  --store S          memory (default) | dynamodb (dynalite and the real DynamoDB adapters)
  --out DIR          where the report goes (default ${DEFAULT_OUT}); the run refuses to start
                     when that disk cannot hold what it writes
  --plain-events     write DIR/events.jsonl uncompressed (about 18 times larger)
  --config FILE      the stack configuration whose wiring runs (default deploy-guard.config.json)
  --environment ENV  the environment of that configuration (default dev)
  --trainer T        embedded (default: Node alone) | xgboost (model/train.py with XGBoost 1.7.4,
                     the container's script, for container parity; needs Python)
  --python PATH      with --trainer xgboost, the Python interpreter with XGBoost 1.7`;

export const backtestCommand: Command = {
  name: 'backtest',
  summary: summaryOf('backtest'),
  usage: backtestUsage,
  run: (argv, io) => runBacktestCommand(argv, io),
};

/** `npm start`: the backtest with its defaults (the shipped history, stop mode, retraining on). */
export const startCommand: Command = {
  name: 'start',
  summary: summaryOf('start'),
  usage: backtestUsage.replace('deploy-guard backtest [options]     (npm start runs it with the defaults)', 'deploy-guard start [options]        (the same as deploy-guard backtest)'),
  run: (argv, io) => runBacktestCommand(argv, io),
};

export async function runBacktestCommand(argv: string[], io: CommandIO): Promise<number> {
  const options = parseOptions(argv, {
    data: 'value',
    mapping: 'value',
    mode: 'value',
    platform: 'value',
    threshold: 'value',
    'block-budget': 'value',
    exploration: 'value',
    'cut-scope': 'value',
    costs: 'value',
    'no-retrain': 'flag',
    limit: 'value',
    store: 'value',
    out: 'value',
    'plain-events': 'flag',
    trainer: 'value',
    python: 'value',
    config: 'value',
    environment: 'value',
  });
  const mode = (options.mode ?? 'stop') as GuardMode;
  if (!GUARD_MODES.includes(mode)) throw new UsageError(`option '--mode' must be one of ${GUARD_MODES.join(', ')}, got '${String(options.mode)}'`);
  const platform = (options.platform ?? 'Server') as ComputePlatform;
  if (!COMPUTE_PLATFORMS.includes(platform)) throw new UsageError(`option '--platform' must be one of ${COMPUTE_PLATFORMS.join(', ')}, got '${String(options.platform)}'`);
  const threshold = options.threshold === undefined ? undefined : Number(options.threshold);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) throw new UsageError(`option '--threshold' must be a probability between 0 and 1 (exclusive), got '${String(options.threshold)}'`);
  const blockBudget = options['block-budget'] === undefined ? undefined : Number(options['block-budget']);
  if (blockBudget !== undefined && !(blockBudget >= BLOCK_BUDGET.min && blockBudget <= BLOCK_BUDGET.max)) {
    throw new UsageError(`option '--block-budget' must be a share between ${BLOCK_BUDGET.min} and ${BLOCK_BUDGET.max}, got '${String(options['block-budget'])}'`);
  }
  if (blockBudget !== undefined && threshold !== undefined) throw new UsageError("options '--block-budget' and '--threshold' exclude each other: a fixed threshold replaces the budget");
  const exploration = options.exploration === undefined ? undefined : Number(options.exploration);
  if (exploration !== undefined && !(exploration >= 0 && exploration <= EXPLORATION.max)) {
    throw new UsageError(`option '--exploration' must be a share between 0 and ${EXPLORATION.max}, got '${String(options.exploration)}'`);
  }
  const costs = options.costs === undefined ? undefined : parseCosts(String(options.costs));
  const cutScope = (options['cut-scope'] ?? 'installation') as CutScope;
  if (!CUT_SCOPES.includes(cutScope)) throw new UsageError(`option '--cut-scope' must be one of ${CUT_SCOPES.join(', ')}, got '${String(options['cut-scope'])}'`);
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`option '--limit' must be a positive whole number, got '${String(options.limit)}'`);
  const store = (options.store ?? 'memory') as 'memory' | 'dynamodb';
  if (store !== 'memory' && store !== 'dynamodb') throw new UsageError(`option '--store' must be memory or dynamodb, got '${String(options.store)}'`);
  if ((options.data === undefined) !== (options.mapping === undefined)) throw new UsageError("options '--data' and '--mapping' go together");
  const trainer = (options.trainer ?? 'embedded') as TrainerKind;
  if (!TRAINERS.includes(trainer)) throw new UsageError(`option '--trainer' must be one of ${TRAINERS.join(', ')}, got '${String(options.trainer)}'`);
  if (options.python !== undefined && trainer !== 'xgboost') throw new UsageError("option '--python' is for '--trainer xgboost' (the embedded trainer needs no Python)");

  const data = typeof options.data === 'string' ? resolve(io.cwd, options.data) : DEFAULT_DATA;
  const mappingFile = typeof options.mapping === 'string' ? resolve(io.cwd, options.mapping) : DEFAULT_MAPPING;
  const outDir = resolve(io.cwd, typeof options.out === 'string' ? options.out : DEFAULT_OUT);
  const log = (line: string) => io.stdout.write(`${line}\n`);

  // The configuration first: a mistake in it is reported before any data is read.
  const environment = typeof options.environment === 'string' ? options.environment : 'dev';
  const configFile = typeof options.config === 'string' ? resolve(io.cwd, options.config) : undefined;
  const stack = synthesizeStack(configFile, environment);
  const groupSettings = configuredHistoryGroups(configFile, environment);
  const { records, rejected } = importWithReport(data, readMapping(mappingFile), mappingFile, io);
  // The replay derives each deployment's history features from the ones before it: a history with
  // holes would be replayed wrong, so a row that cannot be read stops the backtest (README).
  if (rejected.length > 0) {
    const [first] = rejected;
    throw new Error(
      `${first.file}:${first.line}: ${first.reason}` +
        (rejected.length > 1 ? ` (and ${rejected.length - 1} more rejected rows, listed above)` : '') +
        '; the backtest replays a history whole: fix or remove the rows first',
    );
  }
  log(`history: ${records.length} deployments from ${data}`);
  let bar: ProgressBar | undefined;
  const result = await runBacktest({
    records,
    dataSource: data,
    stack,
    mode,
    platform,
    threshold,
    blockBudget,
    exploration,
    cutScope,
    costs,
    groupSettings,
    retrain: !options['no-retrain'],
    limit,
    store,
    outDir,
    compressEvents: options['plain-events'] !== true,
    trainer,
    python: typeof options.python === 'string' ? options.python : undefined,
    log: (line) => {
      // A line logged while the bar is drawn on a terminal starts on a cleared line.
      if (bar && (io.stdout as { isTTY?: boolean }).isTTY) io.stdout.write('\r\x1b[K');
      log(line);
    },
    onProgress: (done, total, training) => {
      bar ??= new ProgressBar({ total, stream: io.stdout as never, now: () => performance.now(), label: 'deployments' });
      bar.update(done, training);
    },
  });
  bar?.finish();
  const html = join(outDir, 'report.html');
  writeFileSync(html, renderReportHtml(result.report));
  io.stdout.write(`${renderConsoleSummary(result.report, { html, json: result.files.report })}\n`);
  log(`every event on the buses: ${result.files.events}`);
  log(
    `${result.replayed} deployments in ${(result.wallMs / 1000).toFixed(1)} s (${(result.trainingWallMs / 1000).toFixed(1)} s training); ` +
      `event loop ${Math.round(result.replayed / (result.loopMs / 1000))} deployments/s (${result.busEvents} events)`,
  );
  return 0;
}

/** `F:N`: what a missed failure and a needless stop cost (positive numbers). */
function parseCosts(text: string): { failedDeployment: number; needlessRollback: number } {
  const match = /^([0-9]*\.?[0-9]+):([0-9]*\.?[0-9]+)$/.exec(text);
  const failedDeployment = Number(match?.[1]);
  const needlessRollback = Number(match?.[2]);
  if (!match || !(failedDeployment > 0 && needlessRollback > 0)) throw new UsageError(`option '--costs' must be F:N, two positive numbers such as 3:1, got '${text}'`);
  return { failedDeployment, needlessRollback };
}

/**
 * The history groups the environment's guarded groups name (`historyGroups`), each with its
 * configured group's settings: the replay applies them instead of the command line's.
 */
export function configuredHistoryGroups(configFile: string | undefined, environment: string): Record<string, HistoryGroupSettings> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { CONFIG_FILE } = require('../../main') as typeof import('../../main');
  const { historyGroupSettings, loadConfig } = require('../../stacks/config') as typeof import('../../stacks/config');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const settings = loadConfig(configFile ?? CONFIG_FILE).environments[environment];
  return settings ? historyGroupSettings(settings) : {};
}

/**
 * One environment's stack, synthesized in process: the backtest's wiring (rules, targets, retry
 * policies, alarms, function settings) is read from it, so what runs locally is what deploys.
 */
export function synthesizeStack(configFile: string | undefined, environment: string): object {
  // Loaded lazily: the CDKTF constructs are only needed here.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { buildApp, CONFIG_FILE } = require('../../main') as typeof import('../../main');
  const { loadConfig } = require('../../stacks/config') as typeof import('../../stacks/config');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const config = loadConfig(configFile ?? CONFIG_FILE);
  const settings = config.environments[environment];
  if (!settings) {
    throw new UsageError(`option '--environment': '${environment}' is not in ${configFile ?? CONFIG_FILE} (it has ${Object.keys(config.environments).join(', ')})`);
  }
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-guard-synth-'));
  try {
    buildApp({ outdir, config: { ...config, environments: { [environment]: settings } } }).synth();
    return JSON.parse(readFileSync(join(outdir, 'stacks', `deploy-guard-${environment}`, 'cdk.tf.json'), 'utf8'));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
