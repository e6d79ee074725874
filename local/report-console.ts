import {
  COMPARISON_PREDICTORS,
  PREDICTOR_LABELS,
  configuredEntry,
  describeDriftDecisions,
  entryAt,
  formatBudget,
  formatCosts,
  formatCount,
  formatPercent,
  tabulatedBudgets,
  type BacktestReport,
  type ComparisonPredictor,
  type Outcomes,
  type ReportComparisonEntry,
} from './report-model';

/**
 * The backtest's summary for the terminal, on one screen (at most `MAX_LINES` lines of at most
 * `MAX_COLUMNS`): the verdict first, then every predictor's caught rate at each budget beside the
 * full figures at the configured one, the loop's health, the model's timeline, and where the report
 * files were written.
 */

export const MAX_LINES = 24;
export const MAX_COLUMNS = 100;

export interface ReportFiles {
  readonly json: string;
  readonly html: string;
}

function plural(value: number, noun: string): string {
  return `${formatCount(value)} ${noun}${value === 1 ? '' : 's'}`;
}

/** Shortens `text` to `columns`, keeping its start and its end (where a path's file name is). */
export function clip(text: string, columns: number): string {
  const characters = [...text];
  if (characters.length <= columns) return text;
  const head = Math.ceil((columns - 1) / 2);
  const tail = columns - 1 - head;
  return `${characters.slice(0, head).join('')}…${tail > 0 ? characters.slice(characters.length - tail).join('') : ''}`;
}

/**
 * Breaks `text` at spaces into lines of at most `columns` (a word longer than that is clipped); a
 * unit (`%`, `pp`) stays with its number.
 */
export function wrap(text: string, columns: number): string[] {
  const words: string[] = [];
  for (const word of text.split(' ')) {
    if (words.length > 0 && /^(%|pp\b)/.test(word)) words[words.length - 1] += ` ${word}`;
    else words.push(word);
  }
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line === '') line = word;
    else if ([...line].length + 1 + [...word].length <= columns) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((each) => clip(each, columns));
}

/** Control characters in data (a group name with a newline) would break the layout. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

const NAME_WIDTH = 24;

/** Every predictor's caught rate at each tabulated budget, and its full figures at the configured one. */
function comparisonTable(report: BacktestReport): string[] {
  const budgets = tabulatedBudgets(report);
  const configured = report.policy.block_budget;
  const guard = configuredEntry(report);
  const at = (predictor: ComparisonPredictor): ReportComparisonEntry | undefined =>
    predictor === 'deploy-guard' ? guard : configured === null ? undefined : entryAt(report, predictor, configured);
  const predictors = COMPARISON_PREDICTORS.filter(
    (predictor) => predictor !== 'parrot-in-loop' && (predictor === 'deploy-guard' || budgets.some((budget) => entryAt(report, predictor, budget))),
  );
  const budgetCells = budgets.map((budget) => `${formatBudget(budget)}${budget === configured ? '*' : ''}`.padStart(9));
  const caughtTitle = 'caught at block budget';
  const left = ''.padEnd(NAME_WIDTH) + caughtTitle.padEnd(budgets.length * 9);
  const right = configured === null ? 'with the fixed threshold (this run)' : `  at ${formatBudget(configured)} (* configured; this run)`;
  const header = ['blocked', 'precision', 'net', 'net/stop'];
  const widths = [9, 11, 10, 10];
  const rows = predictors.map((predictor) => {
    const entry = at(predictor);
    const name = predictor === 'shadow-reference' ? 'shadow (not achievable)' : PREDICTOR_LABELS[predictor];
    const caught = budgets.map((budget) => {
      const cell = predictor === 'deploy-guard' && budget === configured ? guard : entryAt(report, predictor, budget);
      return (cell ? formatPercent(cell.caught_rate) : '—').padStart(9);
    });
    const figures = entry
      ? [formatPercent(entry.blocked_rate), entry.precision === null ? '—' : entry.precision.toFixed(3), formatCount(entry.net_benefit), entry.net_per_stop === null ? '—' : entry.net_per_stop.toFixed(2)]
      : ['—', '—', '—', '—'];
    return name.padEnd(NAME_WIDTH) + caught.join('') + figures.map((cell, index) => cell.padStart(widths[index])).join('');
  });
  const lines = [
    `${left}${right}`,
    'predictor'.padEnd(NAME_WIDTH) + budgetCells.join('') + header.map((cell, index) => cell.padStart(widths[index])).join(''),
    ...rows,
  ];
  const parrot = report.comparison.find((entry) => entry.predictor === 'parrot-in-loop');
  const guardAtParrot = report.comparison.find((entry) => entry.predictor === 'deploy-guard' && entry.budget_kind === 'parrot-rate');
  if (parrot) {
    lines.push(
      `at Parrot's rate (${formatPercent(parrot.blocked_rate)} blocked) Parrot in the loop caught ${formatPercent(parrot.caught_rate)}` +
        (guardAtParrot ? `, Deploy Guard ${formatPercent(guardAtParrot.caught_rate)}` : ''),
    );
  }
  return lines;
}

function loopHealthLines(report: BacktestReport): string[] {
  const { stop_chains: chains, stops_after_a_stop: after, history_features: features, failure_rate: failures } = report.loop_health;
  return [
    `loop health: stop chains p90 ${chains.p90 ?? '-'}, longest ${formatCount(chains.longest)}; ${formatPercent(after.share)} of stops right after a stop of the group`,
    `history features blinded ${formatPercent(features.differing_share)}; data lake failure rate ${formatPercent(failures.data_lake)} against ${formatPercent(failures.all_deployments)} for all`,
    ...explorationLines(report),
  ];
}

/** What exploration cost and what it bought, in one line (none when nothing was explored). */
function explorationLines(report: BacktestReport): string[] {
  const e = report.exploration;
  if (e.explored === 0) return [];
  const precision = (value: number | null) => (value === null ? '-' : value.toFixed(2));
  return [
    `exploration: ${formatCount(e.explored)} let through, ${formatCount(e.failures_let_through)} failed (its cost)`,
    `stops estimated from it: precision ${precision(e.estimated_precision)} (true ${precision(e.true_precision)}), recall ${formatPercent(e.estimated_recall)} (true ${formatPercent(e.true_recall)})`,
  ];
}

/** The groups in one line; a long group name is shortened, not the words around it. */
function groupsLine(groups: number, rates: readonly number[], [name, outcomes]: [string, Outcomes]): string {
  const range = rates.length === 0 ? '' : `, block rate ${formatPercent(Math.min(...rates))} to ${formatPercent(Math.max(...rates))}`;
  const head = `groups: ${groups}${range}; fewest failures caught: `;
  const tail = ` (${formatCount(outcomes.flagged_failures)} of ${formatCount(outcomes.failures)})`;
  return `${head}${clip(printable(name), Math.max(10, MAX_COLUMNS - [...head].length - [...tail].length))}${tail}`;
}

/** Shadow mode: how many groups meet the criteria to move to stop mode, and the first that does not, with why. */
function graduationLine(graduation: NonNullable<BacktestReport['graduation']>): string {
  const entries = Object.entries(graduation);
  const meeting = entries.filter(([, verdict]) => verdict.meets).length;
  const notYet = entries.find(([, verdict]) => !verdict.meets);
  const example = notYet ? `; not yet e.g. ${printable(notYet[0])}: ${notYet[1].unmet[0]}` : '';
  return `graduation to stop mode: ${meeting} of ${entries.length} groups meet the criteria${example}`;
}

/** The summary, one string ending in a newline. */
export function renderConsoleSummary(report: BacktestReport, files: ReportFiles): string {
  const windows = report.auc_over_time;
  const settings = report.generated_with;
  const span = windows.length > 0 ? `, ${windows[0].from.slice(0, 10)} to ${windows[windows.length - 1].to.slice(0, 10)}` : '';
  const alarms = windows.reduce((sum, window) => sum + window.drift_alarms, 0);
  const groups = Object.entries(report.per_group);
  // The group whose failures it catches least (by its decisions, so shadow groups count too).
  const worst = groups.reduce<[string, Outcomes] | null>((least, entry) => (least === null || (entry[1].recall ?? 1) < (least[1].recall ?? 1) ? entry : least), null);
  const rates = groups.map(([, outcomes]) => outcomes.block_rate).filter((rate): rate is number => rate !== null);
  const limit = settings.limit === null ? 'all' : `limit ${formatCount(settings.limit)}`;
  const decidedBy =
    settings.block_budget === null
      ? `fixed threshold ${settings.threshold}`
      : `block budget ${formatBudget(settings.block_budget)}, realized ${formatPercent(report.policy.realized_block_rate)}`;
  const mode = settings.mode === 'shadow' ? 'shadow (decisions only, nothing stopped)' : settings.mode;
  const lines = [
    ...wrap(report.verdict, MAX_COLUMNS),
    '',
    `Deploy Guard backtest: ${formatCount(report.deployments)} deployments${span}`,
    `source ${printable(settings.data_source)} (${limit})${settings.trainer === undefined ? '' : `; models trained by ${printable(settings.trainer)}`}`,
    `mode ${mode}; ${decidedBy}; costs ${formatCosts(settings.costs)}`,
    '',
    ...comparisonTable(report),
    '',
    ...loopHealthLines(report),
    `models: ${plural(report.model_versions.length, 'version')}, ${plural(report.retrainings.length, 'retraining')}, ${report.promotions.length} promoted, ` +
      `${report.rejections.length} rejected; ${plural(alarms, 'drift alarm')}; ${plural(report.dead_letters.length, 'dead letter')}`,
    `drift: ${describeDriftDecisions(report.drift_decisions)}`,
    worst === null ? 'groups: none' : groupsLine(groups.length, rates, worst),
    ...(report.graduation ? [graduationLine(report.graduation)] : []),
    '',
    `report.json  ${printable(files.json)}`,
    `report.html  ${printable(files.html)}`,
  ];
  // A long verdict costs the blank lines, from the bottom up, before it costs anything else.
  for (let index = lines.length - 1; lines.length > MAX_LINES && index > 0; index -= 1) if (lines[index] === '') lines.splice(index, 1);
  return `${lines.slice(0, MAX_LINES).map((line) => clip(line, MAX_COLUMNS)).join('\n')}\n`;
}
