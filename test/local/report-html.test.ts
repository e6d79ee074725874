import { escapeHtml, formatCount, formatRatio, renderReportHtml } from '../../local/report-html';
import { ReportBuilder, SCORE_BINS } from '../../local/report-model';
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

  it('draws the cumulative failures prevented and good deployments stopped, one point per window', () => {
    const svg = chart(html, 'chart-prevented');
    expect(svg).toContain('<title id="chart-prevented-title">Failures prevented and good deployments stopped (cumulative)</title>');
    expect(count(svg, /<circle class="mark point"/g)).toBe(2 * windows);
    expect(count(svg, /<path class="line"/g)).toBe(2);
    // The last point of each line is the report's total.
    expect(svg).toContain(`failures prevented: ${formatCount(report.failures_prevented)} by ${report.auc_over_time[windows - 1].to.slice(0, 10)}`);
    expect(svg).toContain(`good deployments stopped: ${formatCount(report.good_deployments_stopped)} by`);
    expect(svg).toContain('>time (deployment start, UTC)</text>');
    expect(svg).toContain('>deployments</text>');
  });

  it('draws the AUC per window of the model and the baselines, with retrainings and promotions marked', () => {
    const svg = chart(html, 'chart-quality');
    const points = report.auc_over_time.reduce(
      (sum, window) => sum + [window.auc, window.baselines.never_retrain.auc, window.baselines.parrot.auc].filter((auc) => auc !== null).length,
      0,
    );
    expect(points).toBeGreaterThan(2 * windows);
    expect(count(svg, /<circle class="mark point"/g)).toBe(points);
    expect(count(svg, /<g class="marker /g)).toBe(report.retrainings.length + report.promotions.length + report.rejections.length);
    expect(count(svg, /<g class="marker retrain">/g)).toBe(report.retrainings.length);
    expect(count(svg, /<g class="marker promoted">/g)).toBe(report.promotions.length);
    expect(count(svg, /<g class="marker rejected">/g)).toBe(1);
    expect(count(svg, />retrain<\/text>/g)).toBe(report.retrainings.length);
    for (const promotion of report.promotions) expect(svg).toContain(`<title>model ${promotion.model_version} promoted ${promotion.at}: ${escapeHtml(promotion.detail as string)}</title>`);
    expect(svg).toContain('>promoted v2</text>');
    expect(svg).toContain('>rejected v3</text>');
    expect(svg).toContain('>ROC AUC</text>');
  });

  it('labels markers on three rows and leaves a label out rather than overlap it (the tooltip stays)', () => {
    const builder = new ReportBuilder({ mode: 'gate', threshold: 0.5, dataSource: 'hand-made', limit: null });
    const day = Date.parse('2024-01-01T00:00:00Z');
    ['d1', 'd2'].forEach((id, index) =>
      builder.addDeployment({
        deploymentId: id,
        application: 'app',
        deploymentGroup: 'app/a',
        startedAt: day + index * 30 * 86_400_000,
        failed: index === 0,
        probability: index === 0 ? 0.9 : 0.1,
        threshold: 0.5,
        decision: 'proceed',
        enforced: true,
        rollbackRequested: false,
        stopped: false,
        modelVersion: 'v1',
        neverRetrainProbability: 0.5,
      }),
    );
    // Four events within an hour: three rows of labels, the fourth has no room.
    for (const [offset, version] of [[0, 'v2'], [1, 'v3'], [2, 'v4'], [3, 'v5']] as const) {
      builder.addTimelineEvent({ at: day + 86_400_000 + offset * 900_000, kind: 'promoted', modelVersion: version });
    }
    const svg = chart(renderReportHtml(builder.build()), 'chart-quality');
    expect(count(svg, /<g class="marker promoted">/g)).toBe(4);
    expect([...svg.matchAll(/<text x="[\d.]+" y="(\d+)">promoted (v\d)<\/text>/g)].map((match) => [match[2], match[1]])).toEqual([
      ['v2', '62'],
      ['v3', '73'],
      ['v4', '84'],
    ]);
    expect(svg).toContain('<title>model v5 promoted 2024-01-02T00:45:00.000Z</title>');
  });

  it('draws the risk-score histograms of failed and successful deployments', () => {
    const svg = chart(html, 'chart-scores');
    expect(count(svg, /<rect class="mark bar"/g)).toBe(2 * SCORE_BINS);
    const scoredFailures = report.auc_over_time.reduce((sum, window) => sum + window.score_histogram.failed.reduce((a, b) => a + b, 0), 0);
    expect(svg).toContain(`failed (${formatCount(scoredFailures)})`);
    expect(svg).toContain('>risk score (probability of failure)</text>');
  });

  it('compares Deploy Guard with the baselines in a table and in lines', () => {
    const svg = chart(html, 'chart-baselines');
    expect(count(svg, /<circle class="mark point"/g)).toBe(3 * windows);
    expect(svg).toContain(`Parrot: ${formatCount(report.baselines.parrot.failures_prevented)} failures prevented by`);
    const comparison = /<table class="comparison">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    const parrot = report.baselines.parrot;
    expect(comparison).toContain(
      `<th scope="row">Parrot</th><td class="num">${formatCount(parrot.rollbacks_requested)}</td><td class="num">${formatCount(parrot.failures_prevented)}</td>`,
    );
    expect(comparison).toContain('<th scope="row">no guard</th><td class="num">0</td><td class="num">0</td><td class="num">0</td>');
  });

  it('heads the page with the headline numbers', () => {
    expect(html).toContain(`<div class="value">${formatCount(report.failures_prevented)}</div><div class="label">failures prevented</div>`);
    expect(html).toContain(`<div class="value">${formatRatio(report.precision)}</div><div class="label">precision</div>`);
    expect(html).toContain(`${formatCount(report.deployments)} deployments replayed`);
  });

  it('escapes every string from the data: a hostile group name, a dead-letter reason, the data source', () => {
    expect(HOSTILE_GROUP).toBe(`ops<&"tools">/deploy'<script>`);
    expect(html).not.toContain(HOSTILE_GROUP);
    expect(html).toContain('<th scope="row">ops&lt;&amp;&quot;tools&quot;&gt;/deploy&#39;&lt;script&gt;</th>');
    expect(html).toContain('ProvisionedThroughputExceeded &lt;table &quot;deployments&quot;&gt;');
    const hostile = new ReportBuilder({ mode: 'shadow', threshold: 0.5, dataSource: '</code><script>alert(1)</script>', limit: 10 }).build();
    const page = renderReportHtml(hostile);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('gives every chart a title, a description and axis labels, and writes no NaN', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(4);
    for (const svg of svgs) {
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart" id="[\w-]+" viewBox="0 0 \d+ \d+" role="img" aria-labelledby=/);
      expect(svg).toMatch(/<title id="[\w-]+-title">[^<]+<\/title><desc id="[\w-]+-desc">[^<]+<\/desc>/);
      expect(count(svg, /class="axis-label"/g)).toBe(2);
    }
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('renders an empty replay with empty charts saying so', () => {
    const page = renderReportHtml(new ReportBuilder({ mode: 'gate', threshold: 0.4, dataSource: 'none', limit: null }).build());
    expect(count(page, /<svg /g)).toBe(4);
    expect(count(page, /class="no-data"/g)).toBe(4);
    expect(count(page, /class="mark point"/g)).toBe(0);
    expect(page).not.toMatch(/NaN|undefined|Infinity/);
    expect(page).toContain('No event was dead-lettered.');
  });
});
