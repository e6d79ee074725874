import { GRADUATION_CRITERIA } from '../model/graduation';
import {
  COMPARISON_PREDICTORS,
  PREDICTOR_LABELS,
  SCORE_BINS,
  configuredEntry,
  describeDriftDecisions,
  entryAt,
  formatBudget,
  formatCosts,
  formatCount,
  formatPercent,
  medianWindowAuc,
  tabulatedBudgets,
  type BacktestReport,
  type ComparisonPredictor,
  type Outcomes,
  type ReportComparisonEntry,
  type ReportWindow,
} from './report-model';

export { formatCount } from './report-model';

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
  prevented: '#0072B2',
  stopped: '#D55E00',
  failed: '#D55E00',
  succeeded: '#0072B2',
  rate: '#0072B2',
  retrain: '#CC79A7',
  promoted: '#000000',
  rejected: '#D55E00',
} as const;

const PREDICTOR_COLOURS: Readonly<Record<ComparisonPredictor, string>> = {
  'deploy-guard': '#0072B2',
  'parrot-in-loop': '#009E73',
  heuristic: '#E69F00',
  'logistic-regression': '#CC79A7',
  'never-retrain': '#D55E00',
  'shadow-reference': '#7f7f7f',
};

// ---------------------------------------------------------------------------------------------
// SVG charts

const WIDTH = 760;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 40, top: 52, bottom: 52 };
/** Rows of marker labels above the plot, and their height. */
const LABEL_ROWS = 2;
const LABEL_ROW_HEIGHT = 12;
/** Estimated width of a marker label character (10 px text; digits and capitals are about this wide). */
const LABEL_CHARACTER_WIDTH = 6.5;

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
  /** Draw the points only, no line (a predictor with one operating point). */
  readonly pointsOnly?: boolean;
}

const MARKER_KINDS = ['retrain', 'promoted', 'rejected'] as const;

interface Marker {
  readonly x: number;
  readonly kind: (typeof MARKER_KINDS)[number];
  /** A short label above the plot (`P3`), or '' for the line alone. */
  readonly label: string;
  readonly tooltip: string;
}

const MARKER_LEGEND = { retrain: 'retraining', promoted: 'promotion (P)', rejected: 'rejection (X)' } as const;

interface Axis {
  readonly label: string;
  readonly format: (value: number) => string;
  readonly domain?: readonly [number, number];
  /** Time axis: ms since the epoch, six evenly spaced date ticks. */
  readonly time?: boolean;
  /** The values are counts: ticks at whole numbers only. */
  readonly integers?: boolean;
}

interface LineChartSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly series: readonly Series[];
  readonly markers?: readonly Marker[];
  /** Dotted reference lines: horizontal (`y`), vertical (`x`) or from the origin along y = x (`diagonal`). */
  readonly references?: readonly (
    | { readonly y: number; readonly label: string; readonly short?: string }
    | { readonly x: number; readonly label: string }
    | { readonly diagonal: true; readonly label: string }
  )[];
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

/** Height of a legend row. */
const LEGEND_ROW_HEIGHT = 16;

/** The legend under the title, on as many rows as its entries need; `rows` says how many. */
function legend(entries: readonly { name: string; colour: string; dashed?: boolean; bar?: boolean; thin?: boolean; pointsOnly?: boolean }[]): { svg: string; rows: number } {
  let x = MARGIN.left;
  let row = 0;
  const svg = entries
    .map((entry) => {
      const width = 24 + Math.max(50, entry.name.length * 7 + 12);
      if (x > MARGIN.left && x + width - 12 > WIDTH - 8) {
        x = MARGIN.left;
        row += 1;
      }
      const dy = row * LEGEND_ROW_HEIGHT;
      const swatch = entry.bar
        ? `<rect x="${x}" y="${28 + dy}" width="14" height="10" fill="${entry.colour}"/>`
        : entry.pointsOnly
          ? `<circle cx="${x + 9}" cy="${33 + dy}" r="5" fill="${entry.colour}"/>`
          : `<line x1="${x}" y1="${33 + dy}" x2="${x + 18}" y2="${33 + dy}" stroke="${entry.colour}" stroke-width="${entry.thin ? 1.5 : 3}"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
      const text = `<text class="legend" x="${x + 24}" y="${37 + dy}">${esc(entry.name)}</text>`;
      x += width;
      return swatch + text;
    })
    .join('');
  return { svg, rows: row + 1 };
}

function noData(plot: { left: number; right: number; top: number; bottom: number }, message: string): string {
  return `<text class="no-data" x="${(plot.left + plot.right) / 2}" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle">${esc(message)}</text>`;
}

/**
 * Places marker labels on `LABEL_ROWS` rows above the plot: each on the first row where it clears
 * every label already there; a label with no room is left out (its line's tooltip still tells).
 * Returns the row of each marker, or -1.
 */
export function placeMarkerLabels(markers: readonly { readonly px: number; readonly label: string }[], rows = LABEL_ROWS): number[] {
  const placed: { from: number; to: number }[][] = Array.from({ length: rows }, () => []);
  return markers.map(({ px, label }) => {
    if (label === '') return -1;
    const from = px - (label.length * LABEL_CHARACTER_WIDTH) / 2 - 2;
    const to = px + (label.length * LABEL_CHARACTER_WIDTH) / 2 + 2;
    const row = placed.findIndex((taken) => taken.every((box) => to <= box.from || from >= box.to));
    if (row !== -1) placed[row].push({ from, to });
    return row;
  });
}

/** A line chart: a time series (x in ms since the epoch) or a curve over a share. */
function lineChart(spec: LineChartSpec): string {
  const markers = spec.markers ?? [];
  const markerKinds = MARKER_KINDS.filter((kind) => markers.some((marker) => marker.kind === kind));
  const key = legend([...spec.series, ...markerKinds.map((kind) => ({ name: MARKER_LEGEND[kind], colour: COLOURS[kind], dashed: true, thin: true }))]);
  const legendBand = (key.rows - 1) * LEGEND_ROW_HEIGHT;
  const labelBand = markers.some((marker) => marker.label !== '') ? LABEL_ROWS * LABEL_ROW_HEIGHT + 4 : 0;
  const top = MARGIN.top + legendBand;
  const plot = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: top + labelBand, bottom: HEIGHT + legendBand + labelBand - MARGIN.bottom };
  const height = HEIGHT + legendBand + labelBand;
  const xs = [...spec.series.flatMap((series) => series.points.map((point) => point.x)), ...markers.map((marker) => marker.x)];
  const ys = spec.series.flatMap((series) => series.points.map((point) => point.y)).filter((y): y is number => y !== null);
  const DAY = 86_400_000;
  let [xMin, xMax] = spec.x.domain ?? [xs.length > 0 ? Math.min(...xs) : 0, xs.length > 0 ? Math.max(...xs) : spec.x.time ? DAY : 1];
  if (spec.x.time && xMax - xMin < DAY) {
    xMin -= DAY / 2;
    xMax += DAY / 2;
  }
  if (!(xMax > xMin)) xMax = xMin + 1;
  const yMin = spec.y.domain ? spec.y.domain[0] : 0;
  const minStep = spec.y.integers ? 1 : 0;
  const yTicks = spec.y.domain ? niceTicks(spec.y.domain[0], spec.y.domain[1], 5, minStep) : niceTicks(0, Math.max(1, ...ys), 5, minStep);
  const yMax = spec.y.domain ? spec.y.domain[1] : Math.max(1, ...ys, ...yTicks);
  const sx = (x: number) => plot.left + ((x - xMin) / (xMax - xMin)) * (plot.right - plot.left);
  const sy = (y: number) => plot.bottom - ((y - yMin) / (yMax - yMin)) * (plot.bottom - plot.top);

  const parts: string[] = [svgOpen(spec.id, spec.title, spec.description, height), key.svg];
  // Axes, grid and tick labels.
  parts.push('<g class="axis">');
  for (const tick of yTicks) {
    parts.push(`<line class="grid" x1="${plot.left}" x2="${plot.right}" y1="${coordinate(sy(tick))}" y2="${coordinate(sy(tick))}"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${coordinate(sy(tick) + 4)}" text-anchor="end">${esc(spec.y.format(tick))}</text>`);
  }
  const xTicks = spec.x.time ? Array.from({ length: 6 }, (_, index) => xMin + ((xMax - xMin) * index) / 5) : niceTicks(xMin, xMax, 6);
  for (const x of xTicks) {
    parts.push(`<line x1="${coordinate(sx(x))}" x2="${coordinate(sx(x))}" y1="${plot.bottom}" y2="${plot.bottom + 5}"/>`);
    parts.push(`<text x="${coordinate(sx(x))}" y="${plot.bottom + 18}" text-anchor="middle">${esc(spec.x.format(x))}</text>`);
  }
  parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}"/>`);
  parts.push(`<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}"/>`);
  parts.push(`<text class="axis-label" x="${(plot.left + plot.right) / 2}" y="${height - 10}" text-anchor="middle">${esc(spec.x.label)}</text>`);
  parts.push(`<text class="axis-label" transform="translate(16 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.y.label)}</text>`);
  parts.push('</g>');
  for (const reference of spec.references ?? []) {
    const [x1, x2, y1, y2] =
      'diagonal' in reference
        ? [sx(Math.max(xMin, yMin)), sx(Math.min(xMax, yMax)), sy(Math.max(xMin, yMin)), sy(Math.min(xMax, yMax))]
        : 'y' in reference
          ? [plot.left, plot.right, sy(reference.y), sy(reference.y)]
          : [sx(reference.x), sx(reference.x), plot.top, plot.bottom];
    parts.push(
      `<line class="reference" x1="${coordinate(x1)}" x2="${coordinate(x2)}" y1="${coordinate(y1)}" y2="${coordinate(y2)}"><title>${esc(reference.label)}</title></line>`,
    );
    // A horizontal reference says what it is at its right end, above the line.
    if ('y' in reference && 'short' in reference && reference.short) {
      parts.push(`<text class="reference-label" x="${plot.right}" y="${coordinate(y1 - 4)}" text-anchor="end">${esc(reference.short)}</text>`);
    }
  }
  // Vertical markers, their short labels staggered in the band above the plot (never over the data).
  const rows = placeMarkerLabels(markers.map((marker) => ({ px: sx(marker.x), label: marker.label })));
  markers.forEach((marker, index) => {
    const px = sx(marker.x);
    const row = rows[index];
    const label = row === -1 ? '' : `<text x="${coordinate(px)}" y="${top + 8 + row * LABEL_ROW_HEIGHT}" text-anchor="middle">${esc(marker.label)}</text>`;
    parts.push(
      `<g class="marker ${marker.kind}"><title>${esc(marker.tooltip)}</title>` +
        `<line x1="${coordinate(px)}" x2="${coordinate(px)}" y1="${plot.top}" y2="${plot.bottom}"/>${label}</g>`,
    );
  });
  if (ys.length === 0) parts.push(noData(plot, 'no data: nothing was replayed or scored'));
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
    if (path && !series.pointsOnly) parts.push(`<path class="line" d="${path}" stroke="${series.colour}"${dash}/>`);
    for (const point of series.points) {
      if (point.y === null) continue;
      parts.push(
        `<circle class="mark point" cx="${coordinate(sx(point.x))}" cy="${coordinate(sy(point.y))}" r="${series.pointsOnly ? 5 : 3}" fill="${series.colour}">` +
          `<title>${esc(`${series.name}: ${point.label}`)}</title></circle>`,
      );
    }
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('');
}

const TIME_AXIS: Axis = { label: 'time (deployment start, UTC)', format: formatDate, time: true };

/** Grouped bars: for each score bin, the share of failed and of successful deployments in it. */
function histogramChart(report: BacktestReport): string {
  const plot = { left: MARGIN.left, right: WIDTH - MARGIN.right, top: MARGIN.top, bottom: HEIGHT - MARGIN.bottom };
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
  const sy = (share: number) => plot.bottom - (share / yMax) * (plot.bottom - plot.top);
  const binWidth = (plot.right - plot.left) / SCORE_BINS;
  const title = 'Risk scores of failed and of successful deployments';
  const description =
    `Histogram of the served model's probability of failure in ${SCORE_BINS} bins from 0 to 1, as a share of each class: ` +
    `${formatCount(totalFailed)} failed and ${formatCount(totalSucceeded)} successful scored deployments.`;
  const parts: string[] = [svgOpen('chart-scores', title, description)];
  parts.push(
    legend([
      { name: `failed (${formatCount(totalFailed)})`, colour: COLOURS.failed, bar: true },
      { name: `succeeded (${formatCount(totalSucceeded)})`, colour: COLOURS.succeeded, bar: true },
    ]).svg,
  );
  parts.push('<g class="axis">');
  for (const tick of yTicks) {
    parts.push(`<line class="grid" x1="${plot.left}" x2="${plot.right}" y1="${coordinate(sy(tick))}" y2="${coordinate(sy(tick))}"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${coordinate(sy(tick) + 4)}" text-anchor="end">${Math.round(tick * 100)} %</text>`);
  }
  for (let bin = 0; bin <= SCORE_BINS; bin += 2) {
    const x = coordinate(plot.left + bin * binWidth);
    parts.push(`<line x1="${x}" x2="${x}" y1="${plot.bottom}" y2="${plot.bottom + 5}"/>`);
    parts.push(`<text x="${x}" y="${plot.bottom + 18}" text-anchor="middle">${(bin / SCORE_BINS).toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}"/>`);
  parts.push(`<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}"/>`);
  parts.push(`<text class="axis-label" x="${(plot.left + plot.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">risk score (probability of failure)</text>`);
  parts.push(`<text class="axis-label" transform="translate(16 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">share of the class</text>`);
  parts.push('</g>');
  if (totalFailed + totalSucceeded === 0) parts.push(noData(plot, 'no data: no deployment was scored'));
  for (let bin = 0; bin < SCORE_BINS; bin += 1) {
    const range = `${(bin / SCORE_BINS).toFixed(2)}–${((bin + 1) / SCORE_BINS).toFixed(2)}`;
    const bars: [string, string, number, number, number][] = [
      ['failed', COLOURS.failed, failedShares[bin], failed[bin], 0],
      ['succeeded', COLOURS.succeeded, succeededShares[bin], succeeded[bin], 1],
    ];
    for (const [name, colour, share, count, offset] of bars) {
      const x = plot.left + bin * binWidth + 1 + offset * ((binWidth - 2) / 2);
      const y = sy(share);
      parts.push(
        `<rect class="mark bar" x="${coordinate(x)}" y="${coordinate(y)}" width="${coordinate((binWidth - 2) / 2)}" ` +
          `height="${coordinate(plot.bottom - y)}" fill="${colour}"><title>${name}, score ${range}: ${formatCount(count)} ` +
          `(${(share * 100).toFixed(1)} %)</title></rect>`,
      );
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Charts from the report

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

/**
 * What Deploy Guard stopped over time; in shadow mode what it would have stopped (its decisions),
 * since nothing was stopped.
 */
function preventedChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const shadow = report.generated_with.mode === 'shadow';
  const by = (total: number, window: ReportWindow) => `${formatCount(total)} by ${window.to.slice(0, 10)}`;
  const [caught, good] = shadow
    ? [
        { name: 'failures it would have caught', value: (window: ReportWindow) => window.flagged_failures },
        { name: 'good deployments it would have stopped', value: (window: ReportWindow) => window.flagged - window.flagged_failures },
      ]
    : [
        { name: 'failures prevented', value: (window: ReportWindow) => window.failures_prevented },
        { name: 'good deployments stopped', value: (window: ReportWindow) => window.good_deployments_stopped },
      ];
  const totals = shadow
    ? [windows.reduce((sum, window) => sum + window.flagged_failures, 0), windows.reduce((sum, window) => sum + window.flagged - window.flagged_failures, 0)]
    : [report.failures_prevented, report.good_deployments_stopped];
  return lineChart({
    id: 'chart-prevented',
    title: shadow ? 'What Deploy Guard would have stopped (shadow mode, cumulative)' : 'Failures prevented and good deployments stopped (cumulative)',
    description: shadow
      ? `Shadow mode stops nothing; running totals of its decisions: it would have stopped ${formatCount(totals[0])} failed deployments ` +
        `and ${formatCount(totals[1])} deployments that succeeded.`
      : `Running totals over the replay: ${formatCount(totals[0])} failed deployments were stopped before they failed, ` +
        `${formatCount(totals[1])} deployments that would have succeeded were stopped.`,
    x: TIME_AXIS,
    y: { label: 'deployments', format: formatCount, integers: true },
    series: [
      { name: caught.name, colour: COLOURS.prevented, points: cumulative(windows, caught.value, by) },
      { name: good.name, colour: COLOURS.stopped, dashed: true, points: cumulative(windows, good.value, by) },
    ],
  });
}

/** The timeline's events with the short label each carries on the chart and in the table (`P1`, `X1`). */
function timelineMarkers(report: BacktestReport): (Marker & { readonly at: string; readonly what: string; readonly version: string | null; readonly detail: string })[] {
  const retrainings = report.retrainings.map((entry) => {
    const cause =
      entry.trigger === 'schedule'
        ? 'on the retraining schedule'
        : `on alarm ${entry.alarm_name}${entry.drift_alarm_at ? ` (ALARM at ${entry.drift_alarm_at})` : ' (its ALARM was not seen in the replay)'}`;
    return {
      at: entry.at,
      x: Date.parse(entry.at),
      kind: 'retrain' as const,
      label: '',
      what: 'retraining started',
      version: entry.model_version,
      detail: [cause, entry.detail ?? ''].filter(Boolean).join('; '),
      tooltip: `retraining started ${entry.at} ${cause}${entry.detail ? `: ${entry.detail}` : ''}`,
    };
  });
  const promotions = report.promotions.map((entry, index) => ({
    at: entry.at,
    x: Date.parse(entry.at),
    kind: 'promoted' as const,
    label: `P${index + 1}`,
    what: 'promoted',
    version: entry.model_version,
    detail: entry.detail ?? '',
    tooltip: `P${index + 1}: model ${entry.model_version ?? '(unnamed)'} promoted ${entry.at}${entry.detail ? `: ${entry.detail}` : ''}`,
  }));
  const rejections = report.rejections.map((entry, index) => ({
    at: entry.at,
    x: Date.parse(entry.at),
    kind: 'rejected' as const,
    label: `X${index + 1}`,
    what: 'rejected',
    version: entry.model_version,
    detail: entry.detail ?? '',
    tooltip: `X${index + 1}: model ${entry.model_version ?? '(unnamed)'} rejected ${entry.at}${entry.detail ? `: ${entry.detail}` : ''}`,
  }));
  return [...retrainings, ...promotions, ...rejections].sort((a, b) => a.x - b.x);
}

function qualityChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const alarms = windows.reduce((sum, window) => sum + window.drift_alarms, 0);
  return lineChart({
    id: 'chart-quality',
    title: 'Model quality over time (ROC AUC per window)',
    description:
      `ROC AUC of the served model in each window of the replay; vertical lines mark ${report.retrainings.length} retrainings, ` +
      `${report.promotions.length} promotions (P) and ${report.rejections.length} rejections (X); ${alarms} drift alarms were raised ` +
      `(drift: ${describeDriftDecisions(report.drift_decisions)}).`,
    x: TIME_AXIS,
    y: { label: 'ROC AUC', domain: [0, 1], format: (value) => value.toFixed(1) },
    references: [{ y: 0.5, label: 'AUC 0.5: no better than a coin toss', short: 'coin toss' }],
    markers: timelineMarkers(report),
    series: [
      {
        name: 'Deploy Guard',
        colour: PREDICTOR_COLOURS['deploy-guard'],
        points: windows.map((window) => ({
          x: windowEnd(window),
          y: window.auc,
          label: `AUC ${formatRatio(window.auc)} on ${formatCount(window.deployments)} deployments ${window.from.slice(0, 10)} to ${window.to.slice(0, 10)}`,
        })),
      },
    ],
  });
}

/** The realized block rate per window against the budget: the cut moves so that the rate holds. */
function policyChart(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const budget = report.policy.block_budget;
  const rates = windows.map((window) => window.block_rate ?? 0);
  const top = Math.min(1, Math.max(0.05, 2 * (budget ?? 0), ...rates) * 1.1);
  return lineChart({
    id: 'chart-policy',
    title: 'Block rate per window against the block budget',
    description:
      `Share of each window's deployments Deploy Guard decided to stop (shadow mode too)` +
      (budget === null ? `; a fixed threshold decided, so there is no budget to hold.` : `, against the block budget of ${formatBudget(budget)}.`) +
      ` Over the whole replay: ${formatPercent(report.policy.realized_block_rate)}.`,
    x: TIME_AXIS,
    y: { label: 'deployments blocked', domain: [0, top], format: (value) => formatPercent(value, 0) },
    references: budget === null ? [] : [{ y: budget, label: `block budget ${formatBudget(budget)}`, short: `budget ${formatBudget(budget)}` }],
    series: [
      {
        name: 'realized block rate',
        colour: COLOURS.rate,
        points: windows.map((window) => ({
          x: windowEnd(window),
          y: window.block_rate,
          label:
            `${formatPercent(window.block_rate)} (${formatCount(window.flagged)} of ${formatCount(window.deployments)}) ` +
            `${window.from.slice(0, 10)} to ${window.to.slice(0, 10)}; median cut ${formatRatio(window.median_cut)}`,
        })),
      },
    ],
  });
}

/** Caught against blocked, one line per predictor: "incidents captured at X % of changes gated". */
function caughtChart(report: BacktestReport): string {
  const curves = report.comparison_curves;
  const predictors = COMPARISON_PREDICTORS.filter((predictor) => (curves[predictor] ?? []).length > 0);
  const blocked = predictors.flatMap((predictor) => (curves[predictor] ?? []).map((point) => point.blocked_rate ?? 0));
  // At least 0 to 30 % (the budgets' range), in steps of 5 %.
  const xMax = Math.min(1, Math.ceil(Math.max(0.3, ...blocked) * 20 - 1e-9) / 20);
  const budget = report.policy.block_budget;
  return lineChart({
    id: 'chart-caught',
    title: 'Failures caught against deployments blocked',
    description:
      'For each predictor run in its own loop, the share of failures it stopped against the share of deployments it stopped, ' +
      'one point per budget (incidents captured at X % of changes gated). The dotted diagonal is stopping at random; ' +
      'the shadow reference reads every outcome and is not achievable.',
    x: { label: 'deployments blocked', domain: [0, xMax], format: (value) => formatPercent(value, 0) },
    y: { label: 'failures caught', domain: [0, 1], format: (value) => formatPercent(value, 0) },
    references: [{ diagonal: true, label: 'stopping at random: caught = blocked' }, ...(budget === null ? [] : [{ x: budget, label: `configured block budget ${formatBudget(budget)}` }])],
    series: predictors.map((predictor) => {
      const points = curves[predictor] ?? [];
      return {
        name: `${PREDICTOR_LABELS[predictor]}${predictor === 'shadow-reference' ? ' (not achievable)' : ''}`,
        colour: PREDICTOR_COLOURS[predictor],
        dashed: predictor === 'shadow-reference',
        pointsOnly: points.length === 1,
        points: points
          .filter((point) => point.blocked_rate !== null)
          .map((point) => ({
            x: point.blocked_rate as number,
            y: point.caught_rate,
            label:
              `${formatPercent(point.caught_rate)} of failures caught at ${formatPercent(point.blocked_rate)} blocked` +
              (point.budget_kind === 'parrot-rate' ? " (at Parrot's rate)" : point.budget !== null ? ` (budget ${formatBudget(point.budget)})` : ''),
          })),
      };
    }),
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

function comparisonRow(entry: ReportComparisonEntry, note = ''): string {
  const notAchievable = !entry.achievable;
  const name = `${esc(PREDICTOR_LABELS[entry.predictor])}${note ? ` <span class="quiet">${esc(note)}</span>` : ''}${notAchievable ? ' <span class="tag">not achievable</span>' : ''}`;
  const cells = [
    formatPercent(entry.blocked_rate),
    formatPercent(entry.caught_rate),
    formatRatio(entry.precision),
    formatCount(entry.net_benefit),
    entry.net_per_stop === null ? '—' : entry.net_per_stop.toFixed(2),
  ];
  return `<tr${notAchievable ? ' class="not-achievable"' : ''}><th scope="row">${name}</th>${cells.map((cell) => `<td class="num">${cell}</td>`).join('')}</tr>`;
}

/** Every predictor at each tabulated budget, then at Parrot's rate. */
function comparisonTable(report: BacktestReport): string {
  const configured = report.policy.block_budget;
  const bodies: string[] = [];
  for (const budget of tabulatedBudgets(report)) {
    const rows = COMPARISON_PREDICTORS.map((predictor) => entryAt(report, predictor, budget))
      .filter((entry): entry is ReportComparisonEntry => entry !== undefined)
      .map((entry) => comparisonRow(entry, entry.predictor === 'deploy-guard' && budget === configured ? '(this run)' : ''));
    const title = `at a ${formatBudget(budget)} block budget${budget === configured ? ' (configured)' : ''}`;
    bodies.push(`<tbody><tr class="budget"><th scope="rowgroup" colspan="6">${esc(title)}</th></tr>${rows.join('') || '<tr><td colspan="6" class="quiet">not run at this budget</td></tr>'}</tbody>`);
  }
  if (configured === null) {
    bodies.unshift(`<tbody><tr class="budget"><th scope="rowgroup" colspan="6">with the fixed threshold (this run)</th></tr>${comparisonRow(configuredEntry(report))}</tbody>`);
  }
  const parrot = report.comparison.find((entry) => entry.predictor === 'parrot-in-loop');
  const atParrot = report.comparison.filter((entry) => entry.budget_kind === 'parrot-rate');
  if (parrot || atParrot.length > 0) {
    const title = `at Parrot's natural rate${parrot ? ` (${formatPercent(parrot.blocked_rate)} blocked)` : ''}`;
    bodies.push(`<tbody><tr class="budget"><th scope="rowgroup" colspan="6">${esc(title)}</th></tr>${[...(parrot ? [parrot] : []), ...atParrot].map((entry) => comparisonRow(entry)).join('')}</tbody>`);
  }
  const head = ['predictor', 'blocked', 'caught', 'precision', 'net benefit', 'net per stop'].map((header, index) => `<th scope="col"${index === 0 ? '' : ' class="num"'}>${header}</th>`).join('');
  const costs = formatCosts(report.generated_with.costs);
  return (
    `<table class="comparison"><caption>Each predictor in its own loop (its stops hide outcomes from itself); net benefit at costs ${esc(costs)}</caption>` +
    `<thead><tr>${head}</tr></thead>${bodies.join('')}</table>`
  );
}

const GROUP_HEADERS = [
  'deployments',
  'failures',
  'blocked',
  'caught',
  'precision',
  'recall',
  'AUC',
  'rollbacks requested',
  'failures prevented',
  'good deployments stopped',
  'failures missed',
];

function groupCells(outcomes: Outcomes): string[] {
  return [
    formatCount(outcomes.deployments),
    formatCount(outcomes.failures),
    formatPercent(outcomes.block_rate),
    formatCount(outcomes.flagged_failures),
    formatRatio(outcomes.precision),
    formatRatio(outcomes.recall),
    formatRatio(outcomes.auc),
    formatCount(outcomes.rollbacks_requested),
    formatCount(outcomes.failures_prevented),
    formatCount(outcomes.good_deployments_stopped),
    formatCount(outcomes.failures_missed),
  ];
}

function perGroupTable(report: BacktestReport): string {
  // A group key (`application/deploymentGroup`, often `owner_repo_data/production`) may break after
  // '/' and '_' so that its column stays narrow enough for every other column to show.
  const rows = Object.entries(report.per_group).map(([group, outcomes]) => [esc(group).replace(/[/_]/g, '$&<wbr>'), ...groupCells(outcomes)]);
  return table('Per deployment group (Deploy Guard; blocked and caught count its decisions, shadow ones too)', ['deployment group', ...GROUP_HEADERS], rows, 'per-group');
}

/** Shadow mode: each group against the criteria to move to stop mode (model/graduation.ts); nothing otherwise. */
function graduationTable(report: BacktestReport): string {
  if (!report.graduation) return '';
  const rows = Object.entries(report.graduation).map(([group, verdict]) => [
    esc(group).replace(/[/_]/g, '$&<wbr>'),
    verdict.meets ? 'ready for stop mode' : 'not yet',
    formatRatio(verdict.precision),
    verdict.lift === null ? '—' : `${verdict.lift.toFixed(1)}×`,
    formatCount(verdict.net_benefit),
    esc(verdict.unmet.join('; ') || '—'),
  ]);
  const caption = `Graduation from shadow to stop mode: ${GRADUATION_CRITERIA}`;
  return `<div class="scroll">${table(caption, ['deployment group', 'verdict', 'precision', 'lift', 'net benefit', 'criteria not met'], rows, 'graduation', false)}</div>`;
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
  const rows = timelineMarkers(report).map((entry) => [esc(entry.at), esc(entry.label || '—'), esc(entry.what), esc(entry.version ?? '—'), esc(entry.detail || '—')]);
  return table('Retraining and promotion', ['time (UTC)', 'mark', 'event', 'model version', 'detail'], rows, 'timeline', false);
}

function deadLetterTable(report: BacktestReport): string {
  if (report.dead_letters.length === 0) return '<p class="quiet">No event was dead-lettered.</p>';
  const rows = report.dead_letters.map((letter) => [esc(letter.at), esc(letter.rule), esc(letter.target), esc(letter.reason)]);
  return table('Dead letters (events the local bus gave up delivering)', ['time (UTC)', 'rule', 'target', 'reason'], rows, 'dead-letters', false);
}

// ---------------------------------------------------------------------------------------------
// The page

function card(label: string, value: string, note: string): string {
  return `<div class="card"><div class="value">${value}</div><div class="label">${esc(label)}</div><div class="note">${esc(note)}</div></div>`;
}

/** The headline: Deploy Guard's decisions at the configured budget; in shadow mode what it would have stopped. */
function headlineCards(report: BacktestReport): string {
  const guard = configuredEntry(report);
  const shadow = report.generated_with.mode === 'shadow';
  const would = (text: string) => (shadow ? `would have ${text}` : text);
  const budget = report.policy.block_budget;
  const alarms = report.auc_over_time.reduce((sum, window) => sum + window.drift_alarms, 0);
  return [
    card(would('blocked'), formatPercent(guard.blocked_rate), `${formatCount(guard.blocked)} of ${formatCount(guard.deployments)} deployments; ${budget === null ? 'fixed threshold' : `budget ${formatBudget(budget)}`}`),
    card(would('caught'), formatPercent(guard.caught_rate), `${formatCount(guard.caught)} of ${formatCount(guard.failures)} failures`),
    card('precision', formatRatio(guard.precision), 'of the deployments blocked, the share that failed'),
    card('net benefit', formatCount(guard.net_benefit), `at costs ${formatCosts(report.generated_with.costs)}; ${guard.net_per_stop === null ? '—' : guard.net_per_stop.toFixed(2)} per stop`),
    card(would('blocked good deployments'), formatCount(guard.blocked - guard.caught), 'blocked deployments that succeeded in the history'),
    shadow
      ? card('stopped', '0', 'shadow mode acts on nothing: the figures above are its decisions')
      : card('rollbacks requested', formatCount(report.rollbacks_requested), `${formatCount(report.failures_prevented)} failures prevented, ${formatCount(report.good_deployments_stopped)} good stopped`),
    card('model versions', formatCount(report.model_versions.length), `${report.retrainings.length} retrainings, ${report.promotions.length} promotions, ${report.rejections.length} rejections, ${alarms} drift alarms`),
    card('dead letters', formatCount(report.dead_letters.length), 'events the bus gave up delivering'),
  ].join('');
}

function policyCards(report: BacktestReport): string {
  const { policy } = report;
  const rates = Object.values(report.per_group)
    .map((outcomes) => outcomes.block_rate)
    .filter((rate): rate is number => rate !== null);
  const spread = rates.length === 0 ? 'no group' : `${formatPercent(Math.min(...rates))} to ${formatPercent(Math.max(...rates))} across ${rates.length} groups`;
  const threshold = report.generated_with.threshold;
  return [
    card('block budget', policy.block_budget === null ? 'none' : formatBudget(policy.block_budget), policy.block_budget === null ? `a fixed threshold of ${threshold} decided: it holds no rate` : 'share of each group’s deployments it may stop'),
    card('realized block rate', formatPercent(policy.realized_block_rate), `${formatCount(policy.flagged)} of ${formatCount(policy.deployments)} deployments decided rollback; ${spread}`),
  ].join('');
}

function loopHealthCards(report: BacktestReport): string {
  const health = report.loop_health;
  const { stop_chains: chains, stops_after_a_stop: after, history_features: features, failure_rate: failures } = health;
  return [
    card('stop chains', chains.p90 === null ? '—' : `p90 ${chains.p90}`, `longest ${formatCount(chains.longest)}; ${formatCount(chains.chains)} runs of consecutive stops in a group`),
    card('stops right after a stop', formatPercent(after.share), `${formatCount(after.after_a_stop)} of ${formatCount(after.stops)} stops followed a stop of the same group`),
    card('history features blinded', formatPercent(features.differing_share), `${formatCount(features.differing)} of ${formatCount(features.served)} served history features differ from their value with every outcome known`),
    card('data lake failure rate', formatPercent(failures.data_lake), `against ${formatPercent(failures.all_deployments)} for all deployments; the lake holds the ${formatCount(failures.data_lake_deployments)} let through`),
    card(
      'exploration',
      formatCount(report.exploration.explored),
      `would-be stops let through, ${formatCount(report.exploration.failures_let_through)} of them failed (its cost); what it bought: the stops' precision estimated ` +
        `${report.exploration.estimated_precision === null ? '—' : report.exploration.estimated_precision.toFixed(2)} from what was observable ` +
        `(true ${report.exploration.true_precision === null ? '—' : report.exploration.true_precision.toFixed(2)}), recall ${formatPercent(report.exploration.estimated_recall)} (true ${formatPercent(report.exploration.true_recall)})`,
    ),
  ].join('');
}

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #fafafa; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 8px; font-size: 19px; }
.sub, .quiet, .note { color: #555; }
.verdict { font-size: 17px; font-weight: 600; background: #fff; border: 1px solid #ddd; border-left: 6px solid #0072B2; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
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
svg.chart .reference-label { font-size: 11px; fill: #777; }
svg.chart .marker line { stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .marker text { font-size: 10px; font-weight: 600; }
${MARKER_KINDS.map((kind) => `svg.chart .marker.${kind} line { stroke: ${COLOURS[kind]}; } svg.chart .marker.${kind} text { fill: ${COLOURS[kind]}; }`).join('\n')}
svg.chart .no-data { fill: #777; font-size: 14px; }
table { border-collapse: collapse; margin: 8px 0 16px; background: #fff; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left; }
td.num, th.num { text-align: right; }
tr.budget th { background: #f0f0f0; }
tr.not-achievable th, tr.not-achievable td { color: #666; font-style: italic; }
.tag { font-size: 12px; font-style: normal; font-weight: 600; color: #fff; background: #777; border-radius: 3px; padding: 0 5px; white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; }
table.per-group { width: 100%; font-size: 14px; }
table.per-group th, table.per-group td { padding: 4px 5px; }
table.per-group th[scope="row"] { overflow-wrap: break-word; min-width: 14em; }
table.per-group thead th { vertical-align: bottom; }
table.timeline th[scope="row"] { white-space: nowrap; }
table.timeline td:last-child { overflow-wrap: anywhere; }
`;

/** The whole report as one self-contained HTML page. */
export function renderReportHtml(report: BacktestReport): string {
  const windows = report.auc_over_time;
  const span = windows.length > 0 ? `${windows[0].from.slice(0, 10)} to ${windows[windows.length - 1].to.slice(0, 10)}` : 'no deployments';
  const settings = report.generated_with;
  const limit = settings.limit === null ? 'all deployments' : `first ${formatCount(settings.limit)} deployments`;
  const decidedBy = settings.block_budget === null ? `fixed threshold ${settings.threshold}` : `block budget ${formatBudget(settings.block_budget)}`;
  const shadow = settings.mode === 'shadow';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Deploy Guard backtest report</title>',
    `<style>${STYLE}</style></head><body><main>`,
    '<header><h1>Deploy Guard backtest</h1>',
    `<p class="verdict" id="verdict">${esc(report.verdict)}</p>`,
    `<p class="sub">${formatCount(report.deployments)} deployments replayed (${esc(span)}) from <code>${esc(settings.data_source)}</code>, ${esc(limit)}${settings.trainer === undefined ? '' : `, models trained by ${esc(settings.trainer)}`}; ` +
      `mode <strong>${esc(settings.mode)}</strong>, ${esc(decidedBy)}, costs ${esc(formatCosts(settings.costs))} (a missed failure against a needless stop).</p>`,
    `<section class="cards" aria-label="headline numbers">${headlineCards(report)}</section></header>`,
    '<section><h2>Against fair baselines, each in its own loop</h2>',
    '<p class="quiet">Every predictor decides inside its own replay: its stops hide outcomes from itself, as Deploy Guard’s do. ' +
      '<em>Parrot in the loop</em> stops when the group’s latest observed deployment failed, at its natural rate; the <em>heuristic</em> ranks by the observed recent failure rate and whether the previous observed deployment failed; ' +
      '<em>logistic regression</em> is retrained on the same schedule; <em>never retrain</em> keeps the first model. ' +
      'The <em>shadow reference</em> sees every outcome: an upper bound, not achievable.</p>',
    `<div class="scroll">${comparisonTable(report)}</div>`,
    `<figure>${caughtChart(report)}</figure></section>`,
    '<section><h2>Block budget</h2>',
    `<section class="cards" aria-label="block budget">${policyCards(report)}</section>`,
    `<figure>${policyChart(report)}</figure></section>`,
    '<section><h2>Loop health</h2>',
    '<p class="quiet">A stopped deployment’s outcome is never known, so the next decisions of its group read less: ' +
      'long stop chains, stops that follow stops and blinded history features are signs the loop feeds on itself; ' +
      'a data lake failing less often than all deployments is the biased sample retraining learns from.</p>',
    `<section class="cards" aria-label="loop health">${loopHealthCards(report)}</section></section>`,
    `<section><h2>${shadow ? 'What it would have stopped' : 'What it prevented'}</h2>`,
    `<figure>${preventedChart(report)}</figure></section>`,
    '<section><h2>Model quality over time</h2>',
    `<figure>${qualityChart(report)}</figure>`,
    `<p class="quiet">Median window AUC ${formatRatio(medianWindowAuc(report))}.</p>`,
    `<div class="scroll">${modelVersionsTable(report)}</div>`,
    `<div class="scroll">${timelineTable(report)}</div></section>`,
    '<section><h2>Risk scores</h2>',
    `<figure>${histogramChart(report)}</figure></section>`,
    '<section><h2>Per deployment group</h2>',
    `<div class="scroll">${perGroupTable(report)}</div>`,
    graduationTable(report),
    '</section>',
    '<section><h2>Dead letters</h2>',
    deadLetterTable(report),
    '</section></main></body></html>',
    '',
  ].join('\n');
}
