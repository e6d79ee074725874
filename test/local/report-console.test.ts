import { MAX_COLUMNS, MAX_LINES, clip, renderConsoleSummary } from '../../local/report-console';
import { ReportBuilder } from '../../local/report-model';
import { HOSTILE_GROUP, syntheticRun } from './synthetic-replay';

const columns = (line: string) => [...line].length;

describe('renderConsoleSummary', () => {
  const report = syntheticRun({ deployments: 2000 }).builder.build();
  const files = { json: '/home/me/deploy-guard/out/report.json', html: '/home/me/deploy-guard/out/report.html' };
  const summary = renderConsoleSummary(report, files);
  const lines = summary.trimEnd().split('\n');

  it('fits on one screen: at most 24 lines of at most 100 columns', () => {
    expect(MAX_LINES).toBe(24);
    expect(MAX_COLUMNS).toBe(100);
    expect(summary.endsWith('\n')).toBe(true);
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(columns(line)).toBeLessThanOrEqual(100);
  });

  it('puts the headline numbers beside the baselines, one row each', () => {
    const row = (name: string) => lines.find((line) => line.startsWith(name.padEnd(14))) ?? '';
    const cells = (name: string) => row(name).slice(14).trim().split(/ +/);
    const figures = (outcomes: { rollbacks_requested: number; failures_prevented: number; good_deployments_stopped: number; failures_missed: number }) =>
      [outcomes.rollbacks_requested, outcomes.failures_prevented, outcomes.good_deployments_stopped, outcomes.failures_missed].map((value) =>
        value.toLocaleString('en-US'),
      );
    expect(lines).toContain('predictor       requested  prevented  good stopped    missed  precision   recall  window AUC');
    expect(cells('Deploy Guard').slice(0, 4)).toEqual(figures(report));
    expect(cells('Deploy Guard')[4]).toBe((report.precision as number).toFixed(3));
    expect(cells('never retrain').slice(0, 4)).toEqual(figures(report.baselines.never_retrain));
    expect(cells('Parrot').slice(0, 4)).toEqual(figures(report.baselines.parrot));
    expect(cells('no guard')).toEqual(['0', '0', '0', report.baselines.no_guard.failures_missed.toLocaleString('en-US'), '-', '0.000', '-']);
  });

  it('says what drift made of the alarms', () => {
    const builder = new ReportBuilder({ mode: 'stop', threshold: 0.35, dataSource: 'hand-made', limit: null });
    for (const decision of ['started', 'not-enough-data', 'not-enough-data', 'cooldown']) builder.addDriftDecision(decision);
    expect(renderConsoleSummary(builder.build(), files).split('\n')).toContain('drift: 1 started a job; ignored: 2 not-enough-data, 1 cooldown');
  });

  it('says where the files were written', () => {
    expect(lines.slice(-2)).toEqual([`report.json  ${files.json}`, `report.html  ${files.html}`]);
  });

  it('stays inside the limits with long paths, a long data source and hostile group names', () => {
    const builder = new ReportBuilder({ mode: 'stop', threshold: 0.35, dataSource: `/data/${'very-long-folder-name/'.repeat(8)}history.csv`, limit: 38_369 });
    const group = `${'x'.repeat(150)}\n<&>`;
    builder.addDeployment({
      deploymentId: 'd-1',
      application: 'app',
      deploymentGroup: `app/${group}`,
      startedAt: Date.parse('2024-01-01T00:00:00Z'),
      failed: true,
      probability: 0.2,
      threshold: 0.35,
      decision: 'proceed',
      enforced: true,
      rollbackRequested: false,
      stopped: false,
      modelVersion: 'v1',
      neverRetrainProbability: 0.2,
    });
    const deep = `/tmp/${'nested/'.repeat(30)}report`;
    const text = renderConsoleSummary(builder.build(), { json: `${deep}.json`, html: `${deep}.html` });
    const out = text.trimEnd().split('\n');
    expect(out.length).toBeLessThanOrEqual(24);
    for (const line of out) expect(columns(line)).toBeLessThanOrEqual(100);
    // The end of a clipped path, where the file name is, survives.
    expect(out[out.length - 1].endsWith('nested/report.html')).toBe(true);
    expect(out[out.length - 1]).toContain('…');
    expect(text).toContain('most failures missed: app/xxx');
    expect(renderConsoleSummary(syntheticRun({ deployments: 300 }).builder.build(), files)).toContain('groups: 4; most failures missed:');
    expect(HOSTILE_GROUP).toContain('<');
  });

  it('clips in the middle, counting characters', () => {
    expect(clip('abcdefghij', 10)).toBe('abcdefghij');
    expect(clip('abcdefghijk', 10)).toBe('abcde…hijk');
    expect(columns(clip('é'.repeat(200), 100))).toBe(100);
  });
});
