import { describeDriftDecisions, medianWindowAuc, type BacktestReport, type BaselineName, type Outcomes } from './report-model';

/**
 * The backtest's summary for the terminal: the headline numbers against the baselines and where the
 * report files were written, on one screen (at most `MAX_LINES` lines of at most `MAX_COLUMNS`).
 */

export const MAX_LINES = 24;
export const MAX_COLUMNS = 100;

export interface ReportFiles {
  readonly json: string;
  readonly html: string;
}

function count(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function ratio(value: number | null): string {
  return value === null ? '-' : value.toFixed(3);
}

function plural(value: number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 ? '' : 's'}`;
}

/** Shortens `text` to `columns`, keeping its start and its end (where a path's file name is). */
export function clip(text: string, columns: number): string {
  const characters = [...text];
  if (characters.length <= columns) return text;
  const head = Math.ceil((columns - 1) / 2);
  const tail = columns - 1 - head;
  return `${characters.slice(0, head).join('')}…${tail > 0 ? characters.slice(characters.length - tail).join('') : ''}`;
}

/** Control characters in data (a group name with a newline) would break the layout. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

interface Row {
  readonly name: string;
  readonly requested: number;
  readonly prevented: number;
  readonly goodStopped: number;
  readonly missed: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly auc: number | null;
}

function baselineRow(report: BacktestReport, name: BaselineName, label: string): Row {
  const outcomes: Outcomes = report.baselines[name];
  return {
    name: label,
    requested: outcomes.rollbacks_requested,
    prevented: outcomes.failures_prevented,
    goodStopped: outcomes.good_deployments_stopped,
    missed: outcomes.failures_missed,
    precision: outcomes.precision,
    recall: outcomes.recall,
    auc: medianWindowAuc(report, name),
  };
}

/** The summary, one string ending in a newline. */
export function renderConsoleSummary(report: BacktestReport, files: ReportFiles): string {
  const windows = report.auc_over_time;
  const settings = report.generated_with;
  const failures = report.failures_prevented + report.failures_missed;
  const span = windows.length > 0 ? `, ${windows[0].from.slice(0, 10)} to ${windows[windows.length - 1].to.slice(0, 10)}` : '';
  const rows: Row[] = [
    {
      name: 'Deploy Guard',
      requested: report.rollbacks_requested,
      prevented: report.failures_prevented,
      goodStopped: report.good_deployments_stopped,
      missed: report.failures_missed,
      precision: report.precision,
      recall: report.recall,
      auc: medianWindowAuc(report, 'guard'),
    },
    baselineRow(report, 'never_retrain', 'never retrain'),
    baselineRow(report, 'parrot', 'Parrot'),
    baselineRow(report, 'no_guard', 'no guard'),
  ];
  const widths = [11, 11, 14, 10, 11, 9, 12];
  const line = (name: string, cells: readonly string[]) => name.padEnd(14) + cells.map((cell, index) => cell.padStart(widths[index])).join('');
  const table = [
    line('predictor', ['requested', 'prevented', 'good stopped', 'missed', 'precision', 'recall', 'window AUC']),
    ...rows.map((row) =>
      line(row.name, [count(row.requested), count(row.prevented), count(row.goodStopped), count(row.missed), ratio(row.precision), ratio(row.recall), ratio(row.auc)]),
    ),
  ];
  const alarms = windows.reduce((sum, window) => sum + window.drift_alarms, 0);
  const groups = Object.entries(report.per_group);
  const worst = groups.reduce<[string, Outcomes] | null>((most, entry) => (most === null || entry[1].failures_missed > most[1].failures_missed ? entry : most), null);
  const limit = settings.limit === null ? 'all' : `limit ${count(settings.limit)}`;
  const lines = [
    `Deploy Guard backtest: ${count(report.deployments)} deployments${span}`,
    `source ${printable(settings.data_source)} (${limit}), mode ${settings.mode}, threshold ${settings.threshold}`,
    `${count(report.assessed)} scored, ${count(failures)} failed, ${count(report.rollbacks_requested)} rollbacks requested`,
    '',
    ...table,
    '',
    `models: ${plural(report.model_versions.length, 'version')}, ${plural(report.retrainings.length, 'retraining')}, ${report.promotions.length} promoted, ` +
      `${report.rejections.length} rejected; ${plural(alarms, 'drift alarm')}; ${plural(report.dead_letters.length, 'dead letter')}`,
    `drift: ${describeDriftDecisions(report.drift_decisions)}`,
    worst === null
      ? 'groups: none'
      : `groups: ${groups.length}; most failures missed: ${printable(worst[0])} (${count(worst[1].failures_missed)} of ${count(worst[1].failures)})`,
    '(window AUC: the median ROC AUC over the report windows)',
    '',
    `report.json  ${printable(files.json)}`,
    `report.html  ${printable(files.html)}`,
  ];
  return `${lines.map((line) => clip(line, MAX_COLUMNS)).join('\n')}\n`;
}
