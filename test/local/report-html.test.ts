import { escapeHtml, formatCount, formatRatio, placeMarkerLabels, renderReportHtml } from '../../local/report-html';
import {
  PREDICTOR_LABELS,
  ReportBuilder,
  SCORE_BINS,
  configuredEntry,
  formatPercent,
  type BacktestReport,
  type ComparisonPredictor,
  type ReplayedDeployment,
} from '../../local/report-model';
import { HOSTILE_GROUP, syntheticRun } from './synthetic-replay';

/** The text of the `<svg id="...">...</svg>` element, or throws when the page has none. */
function chart(html: string, id: string): string {
  const match = new RegExp(`<svg[^>]* id="${id}"[\\s\\S]*?</svg>`).exec(html);
  if (!match) throw new Error(`report.html has no chart ${id}`);
  return match[0];
}

function count(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

function element(html: string, pattern: RegExp): string {
  const match = pattern.exec(html);
  if (!match) throw new Error(`report.html has no ${pattern}`);
  return match[0];
}

const CHART_IDS = ['chart-caught', 'chart-policy', 'chart-prevented', 'chart-quality', 'chart-scores'];

describe('renderReportHtml', () => {
  const report = syntheticRun({ deployments: 3000, window: { by: 'deployments', size: 250 } }).builder.build();
  const html = renderReportHtml(report);
  const windows = report.auc_over_time.length;

  it('is one HTML page that forbids every network fetch', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('references nothing on the network: the only URL is the SVG namespace', () => {
    const urls = html.match(/https?:\/\/[^\s"'<>)]*/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/@import|url\(/);
  });

  it('opens with the verdict, right under the title', () => {
    expect(html).toContain(`<h1>Deploy Guard backtest</h1>\n<p class="verdict" id="verdict">${escapeHtml(report.verdict)}</p>`);
    expect(report.verdict).toMatch(/^Deploy Guard at a 10 % block budget caught/);
  });

  it('says how the run decided: the block budget and the costs', () => {
    expect(html).toContain('mode <strong>gate</strong>, block budget 10 %, costs 3:1 (a missed failure against a needless stop).');
  });

  it("heads the page with Deploy Guard's decisions at the configured budget", () => {
    const guard = configuredEntry(report);
    expect(html).toContain(`<div class="value">${formatPercent(guard.blocked_rate)}</div><div class="label">blocked</div>`);
    expect(html).toContain(`<div class="value">${formatPercent(guard.caught_rate)}</div><div class="label">caught</div>`);
    expect(html).toContain(`<div class="value">${formatRatio(guard.precision)}</div><div class="label">precision</div>`);
    expect(html).toContain(`<div class="value">${formatCount(guard.net_benefit)}</div><div class="label">net benefit</div>`);
    expect(html).toContain(`${formatCount(report.deployments)} deployments replayed`);
  });

  describe('the comparison table', () => {
    const table = element(html, /<table class="comparison">[\s\S]*?<\/table>/);
    const bodies = table.match(/<tbody>[\s\S]*?<\/tbody>/g) ?? [];
    const row = (body: string, name: string) => element(body, new RegExp(`<tr[^>]*><th scope="row">${name}[\\s\\S]*?</tr>`));

    it('has a group of rows for 5, 10 (configured) and 20 %, then Parrot at its natural rate', () => {
      expect(bodies.map((body) => /<th scope="rowgroup" colspan="6">([^<]*)<\/th>/.exec(body)?.[1])).toEqual([
        'at a 5 % block budget',
        'at a 10 % block budget (configured)',
        'at a 20 % block budget',
        expect.stringMatching(/^at Parrot&#39;s natural rate \(\d+\.\d % blocked\)$/),
      ]);
    });

    it('gives each predictor its blocked %, caught %, precision, net benefit and net per stop', () => {
      for (const entry of report.comparison.filter((each) => each.budget === 0.2 && each.budget_kind === 'fixed')) {
        const cells = [...row(bodies[2], PREDICTOR_LABELS[entry.predictor]).matchAll(/<td class="num">([^<]*)<\/td>/g)].map((match) => match[1]);
        expect(cells).toEqual([formatPercent(entry.blocked_rate), formatPercent(entry.caught_rate), formatRatio(entry.precision), formatCount(entry.net_benefit), (entry.net_per_stop as number).toFixed(2)]);
      }
      expect(count(bodies[1], /<tr( class="not-achievable")?><th scope="row">/g)).toBe(5);
      expect(row(bodies[1], 'Deploy Guard')).toContain('<span class="quiet">(this run)</span>');
    });

    it('marks the shadow reference not achievable, visibly, in every group', () => {
      for (const body of bodies.slice(0, 3)) {
        expect(body).toContain('<tr class="not-achievable"><th scope="row">shadow reference <span class="tag">not achievable</span></th>');
      }
      expect(count(table, /not achievable/g)).toBe(3);
    });

    it("puts Parrot in the loop beside Deploy Guard at Parrot's rate", () => {
      expect(row(bodies[3], 'Parrot in the loop')).toContain('<td class="num">');
      expect(row(bodies[3], 'Deploy Guard')).toContain('<td class="num">');
    });

    it('adds a configured budget that is not one of 5, 10 and 20 %', () => {
      const page = renderReportHtml(syntheticRun({ deployments: 600, blockBudget: 0.15 }).builder.build());
      const groups = [...element(page, /<table class="comparison">[\s\S]*?<\/table>/).matchAll(/colspan="6">([^<]*)</g)].map((match) => match[1]);
      expect(groups.slice(0, 4)).toEqual(['at a 5 % block budget', 'at a 10 % block budget', 'at a 15 % block budget (configured)', 'at a 20 % block budget']);
    });
  });

  it('draws caught against blocked, one line per predictor (incidents captured at X % gated)', () => {
    const svg = chart(html, 'chart-caught');
    const curves = report.comparison_curves;
    expect(Object.keys(curves)).toHaveLength(6);
    for (const [predictor, points] of Object.entries(curves)) {
      const name = `${PREDICTOR_LABELS[predictor as ComparisonPredictor]}${predictor === 'shadow-reference' ? ' (not achievable)' : ''}`;
      const series = element(svg, new RegExp(`<g class="series" data-series="${name.replace(/[()]/g, '\\$&')}">[\\s\\S]*?</g>`));
      expect(count(series, /<circle class="mark point"/g)).toBe(points.length);
      // Parrot has one operating point: a dot, no line.
      expect(count(series, /<path class="line"/g)).toBe(points.length > 1 ? 1 : 0);
    }
    expect(svg).toMatch(/data-series="shadow reference \(not achievable\)"><path class="line" d="[^"]+" stroke="#7f7f7f" stroke-dasharray="6 4"/);
    expect(svg).toContain('<title>stopping at random: caught = blocked</title>');
    expect(svg).toContain('<title>configured block budget 10 %</title>');
    expect(svg).toContain('>deployments blocked</text>');
    expect(svg).toContain('>failures caught</text>');
  });

  it('shows the block budget against the realized rate, overall and per window', () => {
    expect(html).toContain(`<div class="value">10 %</div><div class="label">block budget</div>`);
    expect(html).toContain(`<div class="value">${formatPercent(report.policy.realized_block_rate)}</div><div class="label">realized block rate</div>`);
    const svg = chart(html, 'chart-policy');
    expect(count(svg, /<circle class="mark point"/g)).toBe(windows);
    expect(svg).toContain('<title>block budget 10 %</title>');
    expect(svg).toContain('>budget 10 %</text>');
  });

  it('shows the loop health: stop chains, stops after a stop, blinded history features, the data lake', () => {
    const health = report.loop_health;
    const cards = element(html, /<section class="cards" aria-label="loop health">[\s\S]*?<\/section>/);
    expect(cards).toContain(`<div class="value">p90 ${health.stop_chains.p90}</div><div class="label">stop chains</div><div class="note">longest ${health.stop_chains.longest};`);
    expect(cards).toContain(`<div class="value">${formatPercent(health.stops_after_a_stop.share)}</div><div class="label">stops right after a stop</div>`);
    expect(cards).toContain(`<div class="value">${formatPercent(health.history_features.differing_share)}</div><div class="label">history features blinded</div>`);
    expect(cards).toContain(
      `<div class="value">${formatPercent(health.failure_rate.data_lake)}</div><div class="label">data lake failure rate</div><div class="note">against ${formatPercent(health.failure_rate.all_deployments)} for all deployments`,
    );
  });

  it('draws the cumulative failures prevented and good deployments stopped, one point per window', () => {
    const svg = chart(html, 'chart-prevented');
    expect(svg).toContain('<title id="chart-prevented-title">Failures prevented and good deployments stopped (cumulative)</title>');
    expect(count(svg, /<circle class="mark point"/g)).toBe(2 * windows);
    expect(svg).toContain(`failures prevented: ${formatCount(report.failures_prevented)} by ${report.auc_over_time[windows - 1].to.slice(0, 10)}`);
    expect(svg).toContain(`good deployments stopped: ${formatCount(report.good_deployments_stopped)} by`);
  });

  it("draws the served model's AUC per window, with retrainings, promotions (P) and rejections (X) marked", () => {
    const svg = chart(html, 'chart-quality');
    expect(count(svg, /<circle class="mark point"/g)).toBe(report.auc_over_time.filter((window) => window.auc !== null).length);
    expect(count(svg, /<g class="marker retrain">/g)).toBe(report.retrainings.length);
    expect(count(svg, /<g class="marker promoted">/g)).toBe(report.promotions.length);
    expect(count(svg, /<g class="marker rejected">/g)).toBe(1);
    // Retraining lines carry no label: each sits just before its promotion or rejection.
    expect(count(svg, /<g class="marker retrain"><title>[^<]*<\/title><line[^>]*\/><\/g>/g)).toBe(report.retrainings.length);
    report.promotions.forEach((promotion, index) =>
      expect(svg).toContain(`<title>P${index + 1}: model ${promotion.model_version} promoted ${promotion.at}: ${escapeHtml(promotion.detail as string)}</title>`),
    );
    expect(svg).toContain('>P1</text>');
    expect(svg).toContain('>X1</text>');
    expect(svg).toContain('>ROC AUC</text>');
  });

  it('writes marker labels in a band above the plot, never over the data', () => {
    const svg = chart(html, 'chart-quality');
    const plotTop = Number(/<line x1="64" x2="64" y1="([\d.]+)"/.exec(svg)?.[1]);
    const labelYs = [...svg.matchAll(/<g class="marker [a-z]+"><title>[^<]*<\/title><line[^>]*\/><text x="[\d.]+" y="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(labelYs.length).toBeGreaterThan(0);
    for (const y of labelYs) expect(y).toBeLessThan(plotTop);
  });

  it('says in the timeline what started each retraining: the alarm (and when it fired) or the schedule', () => {
    const timeline = element(html, /<table class="timeline">[\s\S]*?<\/table>/);
    const alarmed = report.retrainings.find((entry) => entry.trigger === 'alarm');
    expect(timeline).toContain(`on alarm deploy-guard-dev-model-auc (ALARM at ${alarmed?.drift_alarm_at})`);
    expect(timeline).toContain('on the retraining schedule');
    expect(timeline).toContain('<td>P1</td><td>promoted</td>');
  });

  it('draws the risk-score histograms of failed and successful deployments', () => {
    const svg = chart(html, 'chart-scores');
    expect(count(svg, /<rect class="mark bar"/g)).toBe(2 * SCORE_BINS);
    const scoredFailures = report.auc_over_time.reduce((sum, window) => sum + window.score_histogram.failed.reduce((a, b) => a + b, 0), 0);
    expect(svg).toContain(`failed (${formatCount(scoredFailures)})`);
  });

  it('lets the per-group table wrap long group names instead of running off the page', () => {
    expect(html).toMatch(/<div class="scroll"><table class="per-group">/);
    expect(html).toContain('table.per-group { width: 100%;');
    expect(html).toContain('table.per-group th[scope="row"] { overflow-wrap: break-word;');
    expect(html).toContain('<th scope="row">web/<wbr>blue-green</th>');
    const header = element(html, /<table class="per-group">[\s\S]*?<\/thead>/);
    expect(count(header, /<th scope="col"/g)).toBe(12);
  });

  it('escapes every string from the data: a hostile group name, a dead-letter reason, the data source', () => {
    expect(HOSTILE_GROUP).toBe(`ops<&"tools">/deploy'<script>`);
    expect(html).not.toContain(HOSTILE_GROUP);
    expect(html).toContain('<th scope="row">ops&lt;&amp;&quot;tools&quot;&gt;/<wbr>deploy&#39;&lt;script&gt;</th>');
    expect(html).toContain('ProvisionedThroughputExceeded &lt;table &quot;deployments&quot;&gt;');
    const hostile = new ReportBuilder({ mode: 'shadow', blockBudget: 0.1, dataSource: '</code><script>alert(1)</script>', limit: 10 }).build();
    const page = renderReportHtml(hostile);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('gives every chart a title, a description and axis labels, and writes no NaN', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.map((svg) => /id="([\w-]+)"/.exec(svg)?.[1]).sort()).toEqual(CHART_IDS);
    for (const svg of svgs) {
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart" id="[\w-]+" viewBox="0 0 \d+ \d+" role="img" aria-labelledby=/);
      expect(svg).toMatch(/<title id="[\w-]+-title">[^<]+<\/title><desc id="[\w-]+-desc">[^<]+<\/desc>/);
      expect(count(svg, /class="axis-label"/g)).toBe(2);
    }
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('renders an empty replay with empty charts saying so', () => {
    const page = renderReportHtml(new ReportBuilder({ mode: 'gate', blockBudget: 0.1, dataSource: 'none', limit: null }).build());
    expect(count(page, /<svg /g)).toBe(5);
    expect(count(page, /class="no-data"/g)).toBe(5);
    expect(count(page, /class="mark point"/g)).toBe(0);
    expect(page).not.toMatch(/NaN|undefined|Infinity/);
    expect(page).toContain('No event was dead-lettered.');
  });
});

describe('renderReportHtml in shadow mode: what Deploy Guard would have stopped and caught', () => {
  const report = syntheticRun({ deployments: 2000, mode: 'shadow' }).builder.build();
  const html = renderReportHtml(report);
  const guard = configuredEntry(report);

  it('stopped nothing, yet decided: the cards show its would-be stops and catches, not zeros', () => {
    expect(report.rollbacks_requested).toBe(0);
    expect(report.failures_prevented).toBe(0);
    expect(guard.blocked).toBeGreaterThan(0);
    expect(guard.caught).toBeGreaterThan(0);
    expect(html).toContain(`<div class="value">${formatPercent(guard.blocked_rate)}</div><div class="label">would have blocked</div><div class="note">${formatCount(guard.blocked)} of`);
    expect(html).toContain(`<div class="value">${formatPercent(guard.caught_rate)}</div><div class="label">would have caught</div><div class="note">${formatCount(guard.caught)} of`);
    expect(html).toContain('<div class="label">stopped</div><div class="note">shadow mode acts on nothing: the figures above are its decisions</div>');
  });

  it('charts what it would have stopped, from its decisions', () => {
    const svg = chart(html, 'chart-prevented');
    expect(svg).toContain('What Deploy Guard would have stopped (shadow mode, cumulative)');
    expect(svg).toContain(`failures it would have caught: ${formatCount(guard.caught)} by`);
    expect(svg).toContain(`good deployments it would have stopped: ${formatCount(guard.blocked - guard.caught)} by`);
    expect(html).toContain('<h2>What it would have stopped</h2>');
  });

  it('words the verdict as what it would have done', () => {
    expect(html).toMatch(/<p class="verdict" id="verdict">Deploy Guard \(shadow mode\) at a 10 % block budget would have caught/);
  });
});

describe('renderReportHtml with a fixed threshold (the expert override)', () => {
  const builder = new ReportBuilder({ mode: 'stop', blockBudget: null, threshold: 0.21901168674230576, dataSource: 'hand-made', limit: null });
  const record: ReplayedDeployment = {
    deploymentId: 'd1',
    application: 'app',
    deploymentGroup: 'app/a',
    startedAt: Date.parse('2024-01-01T00:00:00Z'),
    failed: true,
    probability: 0.9,
    cut: 0.21901168674230576,
    blockBudget: null,
    decision: 'rollback',
    enforced: true,
    rollbackRequested: true,
    stopped: true,
    modelVersion: 'v1',
    historyFeaturesServed: 6,
    historyFeaturesDiffering: 0,
    explored: false,
  };
  builder.addDeployment(record);
  const html = renderReportHtml(builder.build());

  it('prints the threshold rounded, never its 17 digits', () => {
    expect(html).toContain('fixed threshold 0.219,');
    expect(html).not.toContain('0.21901168674230576');
  });

  it('has no budget to hold, and says so', () => {
    expect(html).toContain('<div class="value">none</div><div class="label">block budget</div><div class="note">a fixed threshold of 0.219 decided: it holds no rate</div>');
    expect(html).toContain('<th scope="rowgroup" colspan="6">with the fixed threshold (this run)</th>');
  });
});

describe('placeMarkerLabels: staggered marker labels that never overlap', () => {
  it('puts labels that would collide on the next row, and leaves one out when both rows are taken', () => {
    expect(placeMarkerLabels([
      { px: 100, label: 'P1' },
      { px: 104, label: 'X1' },
      { px: 108, label: 'P2' },
      { px: 200, label: 'P3' },
    ])).toEqual([0, 1, -1, 0]);
  });

  it('gives a marker without a label no row', () => {
    expect(placeMarkerLabels([{ px: 100, label: '' }, { px: 100, label: 'P1' }])).toEqual([-1, 0]);
  });

  it('keeps every placed label clear of every other on its row, however the markers crowd', () => {
    const markers = Array.from({ length: 60 }, (_, index) => ({ px: 64 + ((index * 37) % 600), label: `P${index + 1}` }));
    const rows = placeMarkerLabels(markers);
    const boxes = markers.map((marker, index) => ({ row: rows[index], from: marker.px - marker.label.length * 3.25, to: marker.px + marker.label.length * 3.25 }));
    for (const a of boxes) {
      for (const b of boxes) {
        if (a === b || a.row === -1 || a.row !== b.row) continue;
        expect(a.to <= b.from || b.to <= a.from).toBe(true);
      }
    }
    expect(rows.filter((row) => row === -1).length).toBeGreaterThan(0);
  });

  it('on the page: four promotions within an hour get two labels, and every marker its tooltip', () => {
    const builder = new ReportBuilder({ mode: 'gate', blockBudget: 0.1, dataSource: 'hand-made', limit: null });
    const day = Date.parse('2024-01-01T00:00:00Z');
    ['d1', 'd2'].forEach((id, index) =>
      builder.addDeployment({
        deploymentId: id,
        application: 'app',
        deploymentGroup: 'app/a',
        startedAt: day + index * 30 * 86_400_000,
        failed: index === 0,
        probability: index === 0 ? 0.9 : 0.1,
        cut: 0.5,
        blockBudget: 0.1,
        decision: 'proceed',
        enforced: true,
        rollbackRequested: false,
        stopped: false,
        modelVersion: 'v1',
        historyFeaturesServed: 6,
        historyFeaturesDiffering: 0,
        explored: false,
      }),
    );
    for (const [offset, version] of [[0, 'v2'], [1, 'v3'], [2, 'v4'], [3, 'v5']] as const) {
      builder.addTimelineEvent({ at: day + 86_400_000 + offset * 900_000, kind: 'promoted', modelVersion: version });
    }
    const report: BacktestReport = builder.build();
    const svg = chart(renderReportHtml(report), 'chart-quality');
    expect(count(svg, /<g class="marker promoted">/g)).toBe(4);
    expect([...svg.matchAll(/<text x="[\d.]+" y="(\d+)" text-anchor="middle">(P\d)<\/text>/g)].map((match) => [match[2], match[1]])).toEqual([
      ['P1', '60'],
      ['P2', '72'],
    ]);
    expect(svg).toContain('<title>P4: model v5 promoted 2024-01-02T00:45:00.000Z</title>');
  });
});
