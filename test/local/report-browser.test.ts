import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReportHtml } from '../../local/report-html';
import { ReportBuilder, SCORE_BINS, type BacktestReport } from '../../local/report-model';
import { syntheticRun } from './synthetic-replay';

/**
 * Opens report.html in headless Chromium: the page must render its SVG charts with their data marks
 * and log nothing to the console (no error, no uncaught exception, no Content-Security-Policy
 * violation, which is what any network reference would cause).
 */

const CHROMIUM = process.env.DEPLOY_GUARD_CHROMIUM || '/usr/bin/chromium';

function detectChromium(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return CHROMIUM;
  } catch {
    const message = `${CHROMIUM} is not installed (apt-get install chromium, or set DEPLOY_GUARD_CHROMIUM)`;
    if (process.env.CI === 'true') throw new Error(`CI needs Chromium for the report.html browser test: ${message}`);
    console.warn(`SKIPPED: report.html browser test: ${message}`);
    return undefined;
  }
}

const chromium = detectChromium();
const withChromium = chromium ? describe : describe.skip;

const scratch = mkdtempSync(join(tmpdir(), 'deploy-guard-report-browser-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface BrowserRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let profiles = 0;

/** Runs headless Chromium on a file with its own throwaway profile; `extra` selects --dump-dom or --screenshot. */
function openInChromium(file: string, extra: readonly string[]): BrowserRun {
  profiles += 1;
  const result = spawnSync(
    chromium as string,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--enable-logging=stderr',
      '--v=0',
      `--user-data-dir=${join(scratch, `profile-${profiles}`)}`,
      ...extra,
      pathToFileURL(file).href,
    ],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.error) throw new Error(`could not run ${chromium}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the page wrote to the console, and uncaught errors: Chromium logs both as `CONSOLE` lines. */
function consoleMessages(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /:CONSOLE[:(]|Uncaught/.test(line));
}

function count(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

withChromium('report.html in headless Chromium', () => {
  const report = syntheticRun({ deployments: 4000, window: { by: 'deployments', size: 250 } }).builder.build();
  const file = join(scratch, 'report.html');
  writeFileSync(file, renderReportHtml(report));
  const windows = report.auc_over_time.length;
  const aucPoints = report.auc_over_time.filter((window) => window.auc !== null).length;
  const curvePoints = Object.values(report.comparison_curves).reduce((sum, points) => sum + points.filter((point) => point.blocked_rate !== null && point.caught_rate !== null).length, 0);

  it('renders the five charts with every data mark and logs nothing to the console', () => {
    const run = openInChromium(file, ['--dump-dom']);
    expect(run.status).toBe(0);
    expect(consoleMessages(run.stderr)).toEqual([]);
    const dom = run.stdout;
    expect(dom).toContain('<h1>Deploy Guard backtest</h1>');
    expect(dom).toContain('<p class="verdict" id="verdict">Deploy Guard at a 10 % block budget caught');
    expect(count(dom, /<svg /g)).toBe(5);
    for (const id of ['chart-caught', 'chart-policy', 'chart-prevented', 'chart-quality', 'chart-scores']) expect(dom).toContain(`id="${id}"`);
    // Caught against blocked: a point per curve point; block rate, cumulative (2 series) and AUC: one per window.
    expect(count(dom, /<circle class="mark point"/g)).toBe(curvePoints + windows + 2 * windows + aucPoints);
    expect(count(dom, /<rect class="mark bar"/g)).toBe(2 * SCORE_BINS);
    expect(count(dom, /<g class="marker /g)).toBe(report.retrainings.length + report.promotions.length + report.rejections.length);
    // The hostile group name is text in the DOM, not markup.
    expect(dom).toContain('ops&lt;&amp;"tools"&gt;/<wbr>deploy\'&lt;script&gt;');
    expect(dom).not.toMatch(/<script/i);
  });

  it('takes a screenshot of the whole page', () => {
    const png = join(scratch, 'report.png');
    const run = openInChromium(file, ['--window-size=1200,6000', '--hide-scrollbars', `--screenshot=${png}`]);
    expect(run.status).toBe(0);
    expect(consoleMessages(run.stderr)).toEqual([]);
    const image = readFileSync(png);
    expect(image.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // Width and height from the IHDR chunk.
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1200, 6000]);
    expect(image.length).toBeGreaterThan(50_000);
  });

  it('would notice console errors, uncaught exceptions and blocked network references (control page)', () => {
    const control = join(scratch, 'control.html');
    writeFileSync(
      control,
      `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'"></head>` +
        `<body><img src="http://192.0.2.1/logo.png" alt=""><script>console.error('control: broken'); notDefined();</script></body></html>`,
    );
    const messages = consoleMessages(openInChromium(control, ['--dump-dom']).stderr);
    expect(messages.some((line) => line.includes('control: broken'))).toBe(true);
    expect(messages.some((line) => line.includes('Uncaught ReferenceError: notDefined is not defined'))).toBe(true);
    expect(messages.some((line) => line.includes('violates the following Content Security Policy directive'))).toBe(true);
  });
});

/** The shipped history's group names: long, with underscores and hyphens to break at. */
const LONG_GROUPS = [
  'CloudifySource_cloudify_data/production',
  'Graylog2_graylog2-server_data/production',
  'SonarSource_sonarqube_data/production',
  'gradle_gradle_data/production',
  'mitchellh_vagrant_data/production',
  'openMF_mifosx_data/production',
  'opf_openproject_data/production',
  'rails_rails_data/production',
  'rapid7_metasploit-framework_data/production',
  'ruby_ruby_data/production',
];

/**
 * A report shaped like the shipped history's: ten groups with long names and five-digit counts, and
 * a crowded model timeline (retrainings, promotions and rejections, some within a day of each other,
 * with long model versions).
 */
function crowdedReport(): BacktestReport {
  const builder = new ReportBuilder({ mode: 'stop', blockBudget: 0.1, dataSource: '/work/main/data/ci-bfdetector', limit: null });
  const start = Date.parse('2013-01-28T00:00:00Z');
  const hour = 3_600_000;
  for (let index = 0; index < 2000; index += 1) {
    const group = LONG_GROUPS[index % LONG_GROUPS.length];
    const stop = index % 9 === 0;
    builder.addDeployment({
      deploymentId: `d-${index}`,
      application: group.split('/')[0],
      deploymentGroup: group,
      startedAt: start + index * 12 * hour,
      failed: index % 5 === 0,
      probability: stop ? 0.8 : 0.2 + (index % 7) / 20,
      cut: 0.64,
      blockBudget: 0.1,
      decision: stop ? 'rollback' : 'proceed',
      enforced: true,
      rollbackRequested: stop,
      stopped: stop,
      modelVersion: 'initial-2013-01-28',
      historyFeaturesServed: 6,
      historyFeaturesDiffering: stop ? 2 : 0,
      explored: false,
    });
  }
  const days = [207, 208, 213, 227, 247, 249, 384, 410, 412, 416, 431, 452, 480, 482];
  days.forEach((day, index) => {
    const at = start + day * 24 * hour;
    const version = `deploy-guard-dev-${new Date(at).toISOString().slice(0, 10).replace(/-/g, '')}-0000-2cae1e`;
    builder.addTimelineEvent({ at, kind: 'drift-alarm', alarmName: 'deploy-guard-dev-model-auc' });
    builder.addTimelineEvent({ at, kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'deploy-guard-dev-model-auc' }, detail: version });
    builder.addTimelineEvent({ at: at + hour / 2, kind: index % 2 === 0 ? 'promoted' : 'rejected', modelVersion: version, detail: 'worse-than-serving: candidate AUC 0.6600' });
  });
  return builder.build();
}

/**
 * Measures the laid-out page in Chromium: a copy of it with a script (the page itself runs none) that
 * writes what it measured into the DOM, read back with --dump-dom.
 */
function measureLayout(html: string, width: number): { table: { scrollWidth: number; clientWidth: number; lastHeaderRight: number; containerRight: number }; pageOverflow: number; overlaps: string[]; labels: number } {
  const script = `<script>
    const table = document.querySelector('table.per-group');
    const container = table.parentElement;
    const headers = [...table.querySelectorAll('thead th')];
    const overlaps = [];
    let labels = 0;
    for (const svg of document.querySelectorAll('svg.chart')) {
      const texts = [...svg.querySelectorAll('g.marker text, text.legend, text.chart-title')].map((text) => ({ text: text.textContent, box: text.getBoundingClientRect() }));
      labels += svg.querySelectorAll('g.marker text').length;
      const plot = [...svg.querySelectorAll('g.axis line')].find((line) => line.getAttribute('x1') === line.getAttribute('x2') && line.getAttribute('x1') === '64');
      const plotTop = plot ? plot.getBoundingClientRect().top : Infinity;
      texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => {
        const apart = a.box.right <= b.box.left || b.box.right <= a.box.left || a.box.bottom <= b.box.top || b.box.bottom <= a.box.top;
        if (!apart) overlaps.push(svg.id + ': ' + a.text + ' / ' + b.text);
      }));
      for (const text of svg.querySelectorAll('g.marker text')) if (text.getBoundingClientRect().bottom > plotTop + 0.5) overlaps.push(svg.id + ': ' + text.textContent + ' over the plot');
    }
    const out = document.createElement('pre');
    out.id = 'measure';
    out.textContent = JSON.stringify({
      table: { scrollWidth: table.scrollWidth, clientWidth: container.clientWidth, lastHeaderRight: headers[headers.length - 1].getBoundingClientRect().right, containerRight: container.getBoundingClientRect().right },
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
      overlaps,
      labels,
    });
    document.body.appendChild(out);
  </script>`;
  const page = html
    .replace("default-src 'none'; style-src 'unsafe-inline'", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
    .replace('</body>', `${script}</body>`);
  const copy = join(scratch, `measure-${width}.html`);
  writeFileSync(copy, page);
  const run = openInChromium(copy, ['--dump-dom', `--window-size=${width},900`]);
  expect(consoleMessages(run.stderr)).toEqual([]);
  const measured = /<pre id="measure">([^<]*)<\/pre>/.exec(run.stdout);
  if (!measured) throw new Error(`the measuring script wrote nothing: ${run.stderr.slice(0, 2000)}`);
  return JSON.parse(measured[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

withChromium('report.html laid out in headless Chromium', () => {
  const html = renderReportHtml(crowdedReport());

  it('shows every column of the per-group table at 1,400 px, without scrolling', () => {
    const { table, pageOverflow } = measureLayout(html, 1400);
    expect(table.scrollWidth).toBeLessThanOrEqual(table.clientWidth);
    expect(table.lastHeaderRight).toBeLessThanOrEqual(table.containerRight + 0.5);
    expect(pageOverflow).toBeLessThanOrEqual(0);
  });

  it('on a narrow window, scrolls the table inside its box instead of cutting the page', () => {
    const { table, pageOverflow } = measureLayout(html, 700);
    expect(table.scrollWidth).toBeGreaterThan(table.clientWidth);
    expect(pageOverflow).toBeLessThanOrEqual(0);
  });

  it('draws no chart text over another, and no marker label over the plot, on a crowded timeline', () => {
    const { overlaps, labels } = measureLayout(html, 1400);
    expect(labels).toBeGreaterThan(4);
    expect(overlaps).toEqual([]);
  });
});
