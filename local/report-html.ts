import {
  BASELINES,
  SCORE_BINS,
  describeDriftDecisions,
  medianWindowAuc,
  type BacktestReport,
  type BaselineName,
  type Outcomes,
  type ReportWindow,
} from './report-model';

/**
 * `report.html`: one self-contained page (inline CSS, inline SVG charts drawn here, no script, no
 * network: a Content-Security-Policy forbids every fetch) that shows a backtest report. Every string
 * that comes from the data is escaped.
 */

// ---------------------------------------------------------------------------------------------
// Formatting

/** Escapes text for HTML element content and double-quoted attribute values (also inside inline SVG). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] as string);
}

const esc = escapeHtml;

/** 38369 -> "38,369". */
export function formatCount(value: number): string {
  const sign = value < 0 ? '-' : '';
  const digits = String(Math.round(Math.abs(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A ratio with three decimals, or an em dash when undefined. */
export function formatRatio(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '—' : value.toFixed(3);
}

function formatDate(millis: number): string {
  return new Date(millis).toISOString().slice(0, 10);
}

/** Coordinates with at most two decimals, so the SVG stays small. */
function coordinate(value: number): string {
  return String(Math.round(value * 100) / 100);
}

// ---------------------------------------------------------------------------------------------
// Colours (Okabe-Ito: distinguishable with the common colour-vision deficiencies)

const COLOURS = {
  guard: '#0072B2',
  never_retrain: '#E69F00',
  parrot: '#009E73',
  no_guard: '#7f7f7f',
  prevented: '#0072B2',
  stopped: '#D55E00',
  failed: '#D55E00',
  succeeded: '#0072B2',
  retrain: '#CC79A7',
  promoted: '#000000',
  rejected: '#D55E00',
} as const;

const PREDICTOR_NAMES: Record<'guard' | BaselineName, string> = {
  guard: 'Deploy Guard',
  never_retrain: 'never retrain',
  parrot: 'Parrot',
  no_guard: 'no guard',
};

// ---------------------------------------------------------------------------------------------
// SVG charts

const WIDTH = 760;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 40, top: 52, bottom: 52 };
const PLOT = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: MARGIN.top, bottom: HEIGHT - MARGIN.bottom };

interface Point {
  readonly x: number;
  readonly y: number | null;
  /** Tooltip text of the point. */
  readonly label: string;
}

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly dashed?: boolean;
  readonly points: readonly Point[];
}

const MARKER_KINDS = ['retrain', 'promoted', 'rejected'] as const;

interface Marker {
  readonly x: number;
  readonly kind: (typeof MARKER_KINDS)[number];
  readonly label: string;
  readonly tooltip: string;
}

const MARKER_LEGEND = { retrain: 'retraining', promoted: 'promotion', rejected: 'rejection' } as const;

interface LineChartSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly markers?: readonly Marker[];
  readonly yDomain?: readonly [number, number];
  /** A horizontal dotted reference line (e.g. AUC 0.5, a coin toss). */
  readonly reference?: { readonly y: number; readonly label: string };
  readonly formatY: (value: number) => string;
  /** The y values are counts: ticks at whole numbers only. */
  readonly integers?: boolean;
}

/** About `count` round tick values covering [min, max]. */
function niceTicks(min: number, max: number, count: number, minStep = 0): number[] {
  const span = max - min;
  if (!(span > 0)) return [min];
  const raw = Math.max(span / count, minStep);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) as number;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) ticks.push(Math.round(value / step) * step);
  return ticks;
}

function svgOpen(id: string, title: string, description: string, height = HEIGHT): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(id)}" viewBox="0 0 ${WIDTH} ${height}" role="img" ` +
    `aria-labelledby="${esc(id)}-title ${esc(id)}-desc"><title id="${esc(id)}-title">${esc(title)}</title>` +
    `<desc id="${esc(id)}-desc">${esc(description)}</desc>` +
    `<text class="chart-title" x="${MARGIN.left}" y="18">${esc(title)}</text>`
  );
}

function legend(entries: readonly { name: string; colour: string; dashed?: boolean; bar?: boolean; thin?: boolean }[]): string {
  let x = MARGIN.left;
  return entries
    .map((entry) => {
      const swatch = entry.bar
        ? `<rect x="${x}" y="28" width="14" height="10" fill="${entry.colour}"/>`
        : `<line x1="${x}" y1="33" x2="${x + 18}" y2="33" stroke="${entry.colour}" stroke-width="${entry.thin ? 1.5 : 3}"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
      const text = `<text class="legend" x="${x + 24}" y="37">${esc(entry.name)}</text>`;
      x += 24 + Math.max(50, entry.name.length * 7 + 12);
      return swatch + text;
    })
    .join('');
}

function noData(message: string): string {
  return `<text class="no-data" x="${(PLOT.left + PLOT.right) / 2}" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle">${esc(message)}</text>`;
}

/** A time-series line chart; x is ms since the epoch. */
function lineChart(spec: LineChartSpec): string {
  const xs = [...spec.series.flatMap((series) => series.points.map((point) => point.x)), ...(spec.markers ?? []).map((marker) => marker.x)];
  const ys = spec.series.flatMap((series) => series.points.map((point) => point.y)).filter((y): y is number => y !== null);
  const DAY = 86_400_000;
  let xMin = xs.length > 0 ? Math.min(...xs) : 0;
  let xMax = xs.length > 0 ? Math.max(...xs) : DAY;
  if (xMax - xMin < DAY) {
    xMin -= DAY / 2;
    xMax += DAY / 2;
  }
  const yMin = spec.yDomain ? spec.yDomain[0] : 0;
  const minStep = spec.integers ? 1 : 0;
  const yTicks = spec.yDomain ? niceTicks(spec.yDomain[0], spec.yDomain[1], 5, minStep) : niceTicks(0, Math.max(1, ...ys), 5, minStep);
  const yMax = spec.yDomain ? spec.yDomain[1] : Math.max(1, ...ys, ...yTicks);
  const sx = (x: number) => PLOT.left + ((x - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left);
  const sy = (y: number) => PLOT.bottom - ((y - yMin) / (yMax - yMin)) * (PLOT.bottom - PLOT.top);

  const parts: string[] = [svgOpen(spec.id, spec.title, spec.description)];
  const markerKinds = MARKER_KINDS.filter((kind) => (spec.markers ?? []).some((marker) => marker.kind === kind));
  parts.push(legend([...spec.series, ...markerKinds.map((kind) => ({ name: MARKER_LEGEND[kind], colour: COLOURS[kind], dashed: true, thin: true }))]));
  // Axes, grid and tick labels.
  parts.push('<g class="axis">');
  for (const tick of yTicks) {
    parts.push(`<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${coordinate(sy(tick))}" y2="${coordinate(sy(tick))}"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${coordinate(sy(tick) + 4)}" text-anchor="end">${esc(spec.formatY(tick))}</text>`);
  }
  const xTickCount = 5;
  for (let index = 0; index <= xTickCount; index += 1) {
    const x = xMin + ((xMax - xMin) * index) / xTickCount;
    parts.push(`<line x1="${coordinate(sx(x))}" x2="${coordinate(sx(x))}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}"/>`);
    parts.push(`<text x="${coordinate(sx(x))}" y="${PLOT.bottom + 18}" text-anchor="middle">${formatDate(x)}</text>`);
  }
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`);
  parts.push(`<text class="axis-label" x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">time (deployment start, UTC)</text>`);
  parts.push(
    `<text class="axis-label" transform="translate(16 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  parts.push('</g>');
  if (spec.reference) {
    const y = coordinate(sy(spec.reference.y));
    parts.push(`<line class="reference" x1="${PLOT.left}" x2="${PLOT.right}" y1="${y}" y2="${y}"><title>${esc(spec.reference.label)}</title></line>`);
  }
  // Vertical markers. Labels go on the first of three rows where they do not overlap the previous
  // label; when none has room the label is left out (the line's tooltip still tells).
  const rowEnds = [-Infinity, -Infinity, -Infinity];
  for (const marker of spec.markers ?? []) {
    const px = sx(marker.x);
    const row = rowEnds.findIndex((end) => px >= end + 4);
    const label =
      row === -1 ? '' : `<text x="${coordinate(px + 2)}" y="${PLOT.top + 10 + row * 11}">${esc(marker.label)}</text>`;
    if (row !== -1) rowEnds[row] = px + 2 + marker.label.length * 5.5;
    parts.push(
      `<g class="marker ${marker.kind}"><title>${esc(marker.tooltip)}</title>` +
        `<line x1="${coordinate(px)}" x2="${coordinate(px)}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>${label}</g>`,
    );
  }
  if (ys.length === 0) parts.push(noData('no data: nothing was replayed or scored'));
  for (const series of spec.series) {
    let path = '';
    let drawing = false;
    for (const point of series.points) {
      if (point.y === null) {
        drawing = false;
        continue;
      }
      path += `${drawing ? 'L' : 'M'}${coordinate(sx(point.x))} ${coordinate(sy(point.y))}`;
      drawing = true;
    }
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<g class="series" data-series="${esc(series.name)}">`);
    if (path) parts.push(`<path class="line" d="${path}" stroke="${series.colour}"${dash}/>`);
    for (const point of series.points) {
      if (point.y === null) continue;
      parts.push(
        `<circle class="mark point" cx="${coordinate(sx(point.x))}" cy="${coordinate(sy(point.y))}" r="3" fill="${series.colour}">` +
          `<title>${esc(`${series.name}: ${point.label}`)}</title></circle>`,
      );
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Grouped bars: for each score bin, the share of failed and of successful deployments in it. */
function histogramChart(report: BacktestReport): string {
  const failed = new Array<number>(SCORE_BINS).fill(0);
  const succeeded = new Array<number>(SCORE_BINS).fill(0);
  for (const window of report.auc_over_time) {
    window.score_histogram.failed.forEach((count, bin) => (failed[bin] += count));
    window.score_histogram.succeeded.forEach((count, bin) => (succeeded[bin] += count));
  }
  const totalFailed = failed.reduce((a, b) => a + b, 0);
  const totalSucceeded = succeeded.reduce((a, b) => a + b, 0);
  const shares = (counts: number[], total: number) => counts.map((count) => (total === 0 ? 0 : count / total));
  const failedShares = shares(failed, totalFailed);
  const succeededShares = shares(succeeded, totalSucceeded);
  const yTicks = niceTicks(0, Math.max(0.1, ...failedShares, ...succeededShares), 5);
  const yMax = Math.max(...yTicks, ...failedShares, ...succeededShares);
  const sy = (share: number) => PLOT.bottom - (share / yMax) * (PLOT.bottom - PLOT.top);
  const binWidth = (PLOT.right - PLOT.left) / SCORE_BINS;
  const title = 'Risk scores of failed and of successful deployments';
  const description =
    `Histogram of the served model's probability of failure in ${SCORE_BINS} bins from 0 to 1, as a share of each class: ` +
    `${formatCount(totalFailed)} failed and ${formatCount(totalSucceeded)} successful scored deployments.`;
  const parts: string[] = [svgOpen('chart-scores', title, description)];
  parts.push(
    legend([
      { name: `failed (${formatCount(totalFailed)})`, colour: COLOURS.failed, bar: true },
      { name: `succeeded (${formatCount(totalSucceeded)})`, colour: COLOURS.succeeded, bar: true },
    ]),
  );
  parts.push('<g class="axis">');
  for (const tick of yTicks) {
    parts.push(`<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${coordinate(sy(tick))}" y2="${coordinate(sy(tick))}"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${coordinate(sy(tick) + 4)}" text-anchor="end">${Math.round(tick * 100)} %</text>`);
  }
  for (let bin = 0; bin <= SCORE_BINS; bin += 2) {
    const x = coordinate(PLOT.left + bin * binWidth);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 5}"/>`);
    parts.push(`<text x="${x}" y="${PLOT.bottom + 18}" text-anchor="middle">${(bin / SCORE_BINS).toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>`);
  parts.push(`<text class="axis-label" x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">risk score (probability of failure)</text>`);
  parts.push(`<text class="axis-label" transform="translate(16 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">share of the class</text>`);
  parts.push('</g>');
  if (totalFailed + totalSucceeded === 0) parts.push(noData('no data: no deployment was scored'));
  for (let bin = 0; bin < SCORE_BINS; bin += 1) {
    const range = `${(bin / SCORE_BINS).toFixed(2)}–${((bin + 1) / SCORE_BINS).toFixed(2)}`;
    const bars: [string, string, number, number, number][] = [
      ['failed', COLOURS.failed, failedShares[bin], failed[bin], 0],
      ['succeeded', COLOURS.succeeded, succeededShares[bin], succeeded[bin], 1],
    ];
    for (const [name, colour, share, count, offset] of bars) {
      const x = PLOT.left + bin * binWidth + 1 + offset * ((binWidth - 2) / 2);
      const y = sy(share);
      parts.push(
        `<rect class="mark bar" x="${coordinate(x)}" y="${coordinate(y)}" width="${coordinate((binWidth - 2) / 2)}" ` +
          `height="${coordinate(PLOT.bottom - y)}" fill="${colour}"><title>${name}, score ${range}: ${formatCount(count)} ` +
          `(${(share * 100).toFixed(1)} %)</title></rect>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Series from the windows

function windowEnd(window: ReportWindow): number {
  return Date.parse(window.to);
}

function cumulative(
  windows: readonly ReportWindow[],
  value: (window: ReportWindow) => number,
  describe: (total: number, window: ReportWindow) => string,
): Point[] {
  let total = 0;
  return windows.map((window) => {
    total += value(window);
    return { x: windowEnd(window), y: total, label: describe(total, window) };
  });
}

function aucPoints(windows: readonly ReportWindow[], auc: (window: ReportWindow) => number | null): Point[] {
  return windows.map((window) => {
    const value = auc(window);
    return {
      x: windowEnd(window),
      y: value,
      label: `AUC ${formatRatio(value)} on ${formatCount(window.deployments)} deployments ${window.from.slice(0, 10)} to ${window.to.slice(0, 10)}`,
    };
  });
}

function preventedChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  return lineChart({
    id: 'chart-prevented',
    title: 'Failures prevented and good deployments stopped (cumulative)',
    description:
      `Running totals over the replay: ${formatCount(report.failures_prevented)} failed deployments were stopped before they failed, ` +
      `${formatCount(report.good_deployments_stopped)} deployments that would have succeeded were stopped.`,
    yLabel: 'deployments',
    formatY: formatCount,
    integers: true,
    series: [
      {
        name: 'failures prevented',
        colour: COLOURS.prevented,
        points: cumulative(windows, (window) => window.failures_prevented, (total, window) => `${formatCount(total)} by ${window.to.slice(0, 10)}`),
      },
      {
        name: 'good deployments stopped',
        colour: COLOURS.stopped,
        dashed: true,
        points: cumulative(windows, (window) => window.good_deployments_stopped, (total, window) => `${formatCount(total)} by ${window.to.slice(0, 10)}`),
      },
    ],
  });
}

function qualityChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const markers: Marker[] = [
    ...report.retrainings.map((entry) => ({
      x: Date.parse(entry.at),
      label: 'retrain',
      tooltip: `retraining started ${entry.at}${entry.drift_alarm_at ? ` after the drift alarm of ${entry.drift_alarm_at}` : ''}${entry.detail ? `: ${entry.detail}` : ''}`,
      kind: 'retrain' as const,
    })),
    ...report.promotions.map((entry) => ({
      x: Date.parse(entry.at),
      label: `promoted ${entry.model_version ?? ''}`.trim(),
      tooltip: `model ${entry.model_version ?? '(unnamed)'} promoted ${entry.at}${entry.detail ? `: ${entry.detail}` : ''}`,
      kind: 'promoted' as const,
    })),
    ...report.rejections.map((entry) => ({
      x: Date.parse(entry.at),
      label: `rejected ${entry.model_version ?? ''}`.trim(),
      tooltip: `model ${entry.model_version ?? '(unnamed)'} rejected ${entry.at}${entry.detail ? `: ${entry.detail}` : ''}`,
      kind: 'rejected' as const,
    })),
  ].sort((a, b) => a.x - b.x);
  const alarms = windows.reduce((sum, window) => sum + window.drift_alarms, 0);
  return lineChart({
    id: 'chart-quality',
    title: 'Model quality over time (ROC AUC per window)',
    description:
      `ROC AUC of the served model in each window of the replay, beside the never-retrained first model and Parrot; ` +
      `vertical lines mark ${report.retrainings.length} retrainings, ${report.promotions.length} promotions and ` +
      `${report.rejections.length} rejections; ${alarms} drift alarms were raised (drift: ${describeDriftDecisions(report.drift_decisions)}).`,
    yLabel: 'ROC AUC',
    yDomain: [0, 1],
    formatY: (value) => value.toFixed(1),
    reference: { y: 0.5, label: 'AUC 0.5: no better than a coin toss' },
    markers,
    series: [
      { name: PREDICTOR_NAMES.guard, colour: COLOURS.guard, points: aucPoints(windows, (window) => window.auc) },
      { name: PREDICTOR_NAMES.never_retrain, colour: COLOURS.never_retrain, dashed: true, points: aucPoints(windows, (window) => window.baselines.never_retrain.auc) },
      { name: PREDICTOR_NAMES.parrot, colour: COLOURS.parrot, dashed: true, points: aucPoints(windows, (window) => window.baselines.parrot.auc) },
    ],
  });
}

function baselinesChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const predictors = ['guard', 'never_retrain', 'parrot'] as const;
  const pick = (predictor: (typeof predictors)[number], window: ReportWindow) => (predictor === 'guard' ? window : window.baselines[predictor]);
  return lineChart({
    id: 'chart-baselines',
    title: 'Failures prevented: Deploy Guard against the baselines (cumulative)',
    description:
      'Running totals of failed deployments stopped by Deploy Guard and by the baselines deciding with the same threshold and mode. ' +
      'No guard prevents none.',
    yLabel: 'failures prevented',
    formatY: formatCount,
    integers: true,
    series: predictors.map((predictor) => ({
      name: PREDICTOR_NAMES[predictor],
      colour: COLOURS[predictor],
      dashed: predictor !== 'guard',
      points: cumulative(
        windows,
        (window) => pick(predictor, window).failures_prevented,
        (total, window) => `${formatCount(total)} failures prevented by ${window.to.slice(0, 10)}`,
      ),
    })),
  });
}

// ---------------------------------------------------------------------------------------------
// Tables

/** A table whose first column heads the rows; `numeric` columns after it are right-aligned. Cells are HTML already escaped. */
function table(caption: string, headers: readonly string[], rows: readonly (readonly string[])[], className: string, numeric = true): string {
  const align = numeric ? ' class="num"' : '';
  const head = headers.map((header, index) => `<th scope="col"${index === 0 ? '' : align}>${esc(header)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell, index) => (index === 0 ? `<th scope="row">${cell}</th>` : `<td${align}>${cell}</td>`)).join('')}</tr>`)
    .join('');
  return `<table class="${className}"><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function outcomeCells(outcomes: Outcomes): string[] {
  return [
    formatCount(outcomes.deployments),
    formatCount(outcomes.failures),
    formatCount(outcomes.assessed),
    formatCount(outcomes.rollbacks_requested),
    formatCount(outcomes.failures_prevented),
    formatCount(outcomes.good_deployments_stopped),
    formatCount(outcomes.failures_missed),
    formatRatio(outcomes.precision),
    formatRatio(outcomes.recall),
    formatRatio(outcomes.auc),
  ];
}

const OUTCOME_HEADERS = [
  'deployments',
  'failures',
  'assessed',
  'rollbacks requested',
  'failures prevented',
  'good deployments stopped',
  'failures missed',
  'precision',
  'recall',
  'AUC',
];

function comparisonTable(report: BacktestReport): string {
  const rows: string[][] = [
    [
      esc(PREDICTOR_NAMES.guard),
      formatCount(report.rollbacks_requested),
      formatCount(report.failures_prevented),
      formatCount(report.good_deployments_stopped),
      formatCount(report.failures_missed),
      formatRatio(report.precision),
      formatRatio(report.recall),
      formatRatio(medianWindowAuc(report, 'guard')),
    ],
    ...(['never_retrain', 'parrot', 'no_guard'] as const).map((name) => {
      const outcomes = report.baselines[name];
      return [
        esc(PREDICTOR_NAMES[name]),
        formatCount(outcomes.rollbacks_requested),
        formatCount(outcomes.failures_prevented),
        formatCount(outcomes.good_deployments_stopped),
        formatCount(outcomes.failures_missed),
        formatRatio(outcomes.precision),
        formatRatio(outcomes.recall),
        formatRatio(medianWindowAuc(report, name)),
      ];
    }),
  ];
  return table(
    'Deploy Guard against the baselines (same threshold and mode)',
    ['predictor', 'rollbacks requested', 'failures prevented', 'good deployments stopped', 'failures missed', 'precision', 'recall', 'median window AUC'],
    rows,
    'comparison',
  );
}

function perGroupTable(report: BacktestReport): string {
  const rows = Object.entries(report.per_group).map(([group, outcomes]) => [esc(group), ...outcomeCells(outcomes)]);
  return table('Per deployment group (Deploy Guard)', ['deployment group', ...OUTCOME_HEADERS], rows, 'per-group');
}

function modelVersionsTable(report: BacktestReport): string {
  const rows = report.model_versions.map((version) => [
    esc(version.version),
    esc(version.from.slice(0, 10)),
    esc(version.to.slice(0, 10)),
    formatCount(version.deployments),
    formatRatio(version.auc),
  ]);
  return table('Model versions in service', ['model version', 'first deployment', 'last deployment', 'deployments scored', 'AUC'], rows, 'versions');
}

function timelineTable(report: BacktestReport): string {
  const entries = [
    ...report.retrainings.map((entry) => ({
      at: entry.at,
      what: 'retraining started',
      version: entry.model_version,
      detail: [entry.drift_alarm_at ? `drift alarm ${entry.drift_alarm_at}` : '', entry.detail ?? ''].filter(Boolean).join('; '),
    })),
    ...report.promotions.map((entry) => ({ at: entry.at, what: 'promoted', version: entry.model_version, detail: entry.detail ?? '' })),
    ...report.rejections.map((entry) => ({ at: entry.at, what: 'rejected', version: entry.model_version, detail: entry.detail ?? '' })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const rows = entries.map((entry) => [esc(entry.at), esc(entry.what), esc(entry.version ?? '—'), esc(entry.detail || '—')]);
  return table('Retraining and promotion', ['time (UTC)', 'event', 'model version', 'detail'], rows, 'timeline', false);
}

function deadLetterTable(report: BacktestReport): string {
  if (report.dead_letters.length === 0) return '<p class="quiet">No event was dead-lettered.</p>';
  const rows = report.dead_letters.map((letter) => [esc(letter.at), esc(letter.rule), esc(letter.target), esc(letter.reason)]);
  return table('Dead letters (events the local bus gave up delivering)', ['time (UTC)', 'rule', 'target', 'reason'], rows, 'dead-letters', false);
}

// ---------------------------------------------------------------------------------------------
// The page

function headline(label: string, value: string, note: string): string {
  return `<div class="card"><div class="value">${value}</div><div class="label">${esc(label)}</div><div class="note">${esc(note)}</div></div>`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fafafa; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 8px; font-size: 19px; }
.sub, .quiet, .note { color: #555; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; }
.card .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { font-weight: 600; }
.card .note { font-size: 13px; }
figure { margin: 0 0 16px; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #333; }
svg.chart .chart-title { font-size: 14px; font-weight: 600; }
svg.chart .axis-label { font-size: 12px; fill: #555; }
svg.chart .axis line { stroke: #555; }
svg.chart .axis line.grid { stroke: #e4e4e4; }
svg.chart .line { fill: none; stroke-width: 2; }
svg.chart .reference { stroke: #999; stroke-dasharray: 2 3; }
svg.chart .marker line { stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .marker text { font-size: 10px; }
${MARKER_KINDS.map((kind) => `svg.chart .marker.${kind} line { stroke: ${COLOURS[kind]}; } svg.chart .marker.${kind} text { fill: ${COLOURS[kind]}; }`).join('\n')}
svg.chart .no-data { fill: #777; font-size: 14px; }
table { border-collapse: collapse; margin: 8px 0 16px; background: #fff; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left; }
td.num, th.num { text-align: right; }
.scroll { overflow-x: auto; }
`;

/** The whole report as one self-contained HTML page. */
export function renderReportHtml(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const span = windows.length > 0 ? `${windows[0].from.slice(0, 10)} to ${windows[windows.length - 1].to.slice(0, 10)}` : 'no deployments';
  const settings = report.generated_with;
  const failures = report.failures_prevented + report.failures_missed;
  const alarms = windows.reduce((sum, window) => sum + window.drift_alarms, 0);
  const parrot = report.baselines.parrot;
  const neverRetrain = report.baselines.never_retrain;
  const cards = [
    headline('failures prevented', formatCount(report.failures_prevented), `of ${formatCount(failures)} failures; never retrain ${formatCount(neverRetrain.failures_prevented)}, Parrot ${formatCount(parrot.failures_prevented)}`),
    headline('good deployments stopped', formatCount(report.good_deployments_stopped), `never retrain ${formatCount(neverRetrain.good_deployments_stopped)}, Parrot ${formatCount(parrot.good_deployments_stopped)}`),
    headline('failures missed', formatCount(report.failures_missed), `no guard misses ${formatCount(report.baselines.no_guard.failures_missed)}`),
    headline('precision', formatRatio(report.precision), 'of the deployments judged risky, the share that failed'),
    headline('recall', formatRatio(report.recall), 'of the failed deployments, the share judged risky'),
    headline('rollbacks requested', formatCount(report.rollbacks_requested), `${formatCount(report.assessed)} of ${formatCount(report.deployments)} deployments scored`),
    headline('model versions', formatCount(report.model_versions.length), `${report.retrainings.length} retrainings, ${report.promotions.length} promotions, ${report.rejections.length} rejections, ${alarms} drift alarms`),
    headline('dead letters', formatCount(report.dead_letters.length), 'events the bus gave up delivering'),
  ].join('');
  const limit = settings.limit === null ? 'all deployments' : `first ${formatCount(settings.limit)} deployments`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Deploy Guard backtest report</title>',
    `<style>${STYLE}</style></head><body><main>`,
    '<header><h1>Deploy Guard backtest</h1>',
    `<p class="sub">${formatCount(report.deployments)} deployments replayed (${esc(span)}) from <code>${esc(settings.data_source)}</code>, ${esc(limit)}; ` +
      `mode <strong>${esc(settings.mode)}</strong>, threshold ${esc(String(settings.threshold))}.</p>`,
    `<section class="cards" aria-label="headline numbers">${cards}</section></header>`,
    '<section><h2>What it prevented</h2>',
    `<figure>${preventedChart(report)}</figure></section>`,
    '<section><h2>Model quality over time</h2>',
    `<figure>${qualityChart(report)}</figure>`,
    `<div class="scroll">${modelVersionsTable(report)}</div>`,
    `<div class="scroll">${timelineTable(report)}</div></section>`,
    '<section><h2>Risk scores</h2>',
    `<figure>${histogramChart(report)}</figure></section>`,
    '<section><h2>Against the baselines</h2>',
    '<p class="quiet">Each baseline decides with the same threshold and mode: <em>never retrain</em> keeps the first model; ' +
      '<em>Parrot</em> repeats the group’s previous outcome; <em>no guard</em> lets everything through.</p>',
    `<div class="scroll">${comparisonTable(report)}</div>`,
    `<figure>${baselinesChart(report)}</figure>`,
    `<div class="scroll">${table('Baselines in full', ['predictor', ...OUTCOME_HEADERS], BASELINES.map((name) => [esc(PREDICTOR_NAMES[name]), ...outcomeCells(report.baselines[name])]), 'baselines')}</div></section>`,
    '<section><h2>Per deployment group</h2>',
    `<div class="scroll">${perGroupTable(report)}</div></section>`,
    '<section><h2>Dead letters</h2>',
    deadLetterTable(report),
    '</section></main></body></html>',
    '',
  ].join('\n');
}
