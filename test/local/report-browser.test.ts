import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReportHtml } from '../../local/report-html';
import { SCORE_BINS } from '../../local/report-model';
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
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
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
  const aucPoints = report.auc_over_time.reduce(
    (sum, window) => sum + [window.auc, window.baselines.never_retrain.auc, window.baselines.parrot.auc].filter((auc) => auc !== null).length,
    0,
  );

  it('renders the four charts with every data mark and logs nothing to the console', () => {
    const run = openInChromium(file, ['--dump-dom']);
    expect(run.status).toBe(0);
    expect(consoleMessages(run.stderr)).toEqual([]);
    const dom = run.stdout;
    expect(dom).toContain('<h1>Deploy Guard backtest</h1>');
    expect(count(dom, /<svg /g)).toBe(4);
    for (const id of ['chart-prevented', 'chart-quality', 'chart-scores', 'chart-baselines']) expect(dom).toContain(`id="${id}"`);
    // Cumulative lines: 2 series; AUC: 3 series where defined; baselines: 3 series; one point per window each.
    expect(count(dom, /<circle class="mark point"/g)).toBe(2 * windows + aucPoints + 3 * windows);
    expect(count(dom, /<rect class="mark bar"/g)).toBe(2 * SCORE_BINS);
    expect(count(dom, /<g class="marker /g)).toBe(report.retrainings.length + report.promotions.length + report.rejections.length);
    // The hostile group name is text in the DOM, not markup.
    expect(dom).toContain('ops&lt;&amp;"tools"&gt;/deploy\'&lt;script&gt;');
    expect(dom).not.toMatch(/<script/i);
  }, 90_000);

  it('takes a screenshot of the whole page', () => {
    const png = join(scratch, 'report.png');
    const run = openInChromium(file, ['--window-size=1200,4000', '--hide-scrollbars', `--screenshot=${png}`]);
    expect(run.status).toBe(0);
    expect(consoleMessages(run.stderr)).toEqual([]);
    const image = readFileSync(png);
    expect(image.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // Width and height from the IHDR chunk.
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1200, 4000]);
    expect(image.length).toBeGreaterThan(50_000);
  }, 90_000);

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
  }, 90_000);
});
