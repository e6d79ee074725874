import { MAX_COLUMNS, MAX_LINES, clip, renderConsoleSummary, wrap } from '../../local/report-console';
import { ReportBuilder, configuredEntry, entryAt, formatCount, formatPercent, type ReplayedDeployment } from '../../local/report-model';
import { HOSTILE_GROUP, syntheticRun } from './synthetic-replay';

const columns = (line: string) => [...line].length;

function fitsOneScreen(text: string): void {
  const lines = text.trimEnd().split('\n');
  expect(text.endsWith('\n')).toBe(true);
  expect(lines.length).toBeLessThanOrEqual(MAX_LINES);
  for (const line of lines) expect(columns(line)).toBeLessThanOrEqual(MAX_COLUMNS);
}

describe('renderConsoleSummary', () => {
  const report = syntheticRun({ deployments: 2000 }).builder.build();
  const files = { json: '/home/me/deploy-guard/out/report.json', html: '/home/me/deploy-guard/out/report.html' };
  const summary = renderConsoleSummary(report, files);
  const lines = summary.trimEnd().split('\n');
  const row = (name: string) => lines.find((line) => line.startsWith(name.padEnd(24))) ?? '';
  const cells = (name: string) => row(name).slice(24).match(/-?[\d,.]+(?: %)?|—/g) ?? [];

  it('fits on one screen: at most 24 lines of at most 100 columns', () => {
    expect(MAX_LINES).toBe(24);
    expect(MAX_COLUMNS).toBe(100);
    fitsOneScreen(summary);
  });

  it('starts with the verdict, wrapped whole over the first lines', () => {
    const verdictLines = wrap(report.verdict, MAX_COLUMNS);
    expect(lines.slice(0, verdictLines.length)).toEqual(verdictLines);
    expect(verdictLines.join(' ')).toBe(report.verdict);
    expect(lines[0]).toMatch(/^Deploy Guard at a 10 % block budget caught \d+\.\d % of failures/);
  });

  it('says how the run decided: the budget, what it realized, the costs', () => {
    expect(lines).toContain(`mode gate; block budget 10 %, realized ${formatPercent(report.policy.realized_block_rate)}; costs 3:1`);
  });

  it('tabulates every predictor: caught at 5, 10 and 20 %, and the full figures at the configured budget', () => {
    expect(lines).toContain('predictor                     5 %    10 %*     20 %  blocked  precision       net  net/stop');
    const guard = configuredEntry(report);
    expect(cells('Deploy Guard')).toEqual([
      formatPercent(entryAt(report, 'deploy-guard', 0.05)?.caught_rate ?? null),
      formatPercent(guard.caught_rate),
      formatPercent(entryAt(report, 'deploy-guard', 0.2)?.caught_rate ?? null),
      formatPercent(guard.blocked_rate),
      (guard.precision as number).toFixed(3),
      formatCount(guard.net_benefit),
      (guard.net_per_stop as number).toFixed(2),
    ]);
    const regression = entryAt(report, 'logistic-regression', 0.1);
    expect(cells('logistic regression').slice(3, 6)).toEqual([formatPercent(regression?.blocked_rate ?? null), (regression?.precision as number).toFixed(3), formatCount(regression?.net_benefit ?? 0)]);
    expect(row('heuristic')).not.toBe('');
    expect(row('never retrain')).not.toBe('');
    expect(row('shadow (not achievable)')).not.toBe('');
  });

  it("compares Deploy Guard with Parrot in the loop at Parrot's rate", () => {
    const parrot = report.comparison.find((entry) => entry.predictor === 'parrot-in-loop');
    const atParrot = report.comparison.find((entry) => entry.budget_kind === 'parrot-rate');
    expect(lines).toContain(
      `at Parrot's rate (${formatPercent(parrot?.blocked_rate ?? null)} blocked) Parrot in the loop caught ${formatPercent(parrot?.caught_rate ?? null)}, ` +
        `Deploy Guard ${formatPercent(atParrot?.caught_rate ?? null)}`,
    );
  });

  it('reports the loop health', () => {
    const health = report.loop_health;
    expect(lines).toContain(
      `loop health: stop chains p90 ${health.stop_chains.p90}, longest ${health.stop_chains.longest}; ${formatPercent(health.stops_after_a_stop.share)} of stops right after a stop of the group`,
    );
    expect(lines).toContain(
      `history features blinded ${formatPercent(health.history_features.differing_share)}; data lake failure rate ${formatPercent(health.failure_rate.data_lake)} ` +
        `against ${formatPercent(health.failure_rate.all_deployments)} for all`,
    );
  });

  it('says what drift made of the alarms', () => {
    const builder = new ReportBuilder({ mode: 'stop', blockBudget: 0.1, dataSource: 'hand-made', limit: null });
    for (const decision of ['started', 'not-enough-data', 'not-enough-data', 'cooldown']) builder.addDriftDecision(decision);
    expect(renderConsoleSummary(builder.build(), files).split('\n')).toContain('drift: 1 started a job; ignored: 2 not-enough-data, 1 cooldown');
  });

  it('says where the files were written', () => {
    expect(lines.slice(-2)).toEqual([`report.json  ${files.json}`, `report.html  ${files.html}`]);
  });

  it('in shadow mode, says the figures are its decisions and words the verdict as would-have', () => {
    const shadow = renderConsoleSummary(syntheticRun({ deployments: 1500, mode: 'shadow' }).builder.build(), files);
    fitsOneScreen(shadow);
    expect(shadow).toMatch(/^Deploy Guard \(shadow mode\) at a 10 % block budget would have caught/);
    expect(shadow).toContain('mode shadow (decisions only, nothing stopped); block budget 10 %');
  });

  it('with a fixed threshold, prints it rounded', () => {
    const builder = new ReportBuilder({ mode: 'stop', blockBudget: null, threshold: 0.21901168674230576, dataSource: 'hand-made', limit: null });
    const text = renderConsoleSummary(builder.build(), files);
    expect(text).toContain('mode stop; fixed threshold 0.219; costs 3:1');
    expect(text).not.toContain('0.21901168674230576');
  });

  it('stays inside the limits with long paths, a long data source, hostile group names and a 15 % budget', () => {
    const builder = new ReportBuilder({ mode: 'stop', blockBudget: 0.15, dataSource: `/data/${'very-long-folder-name/'.repeat(8)}history.csv`, limit: 38_369 });
    const group = `${'x'.repeat(150)}\n<&>`;
    const record: ReplayedDeployment = {
      deploymentId: 'd-1',
      application: 'app',
      deploymentGroup: `app/${group}`,
      startedAt: Date.parse('2024-01-01T00:00:00Z'),
      failed: true,
      probability: 0.2,
      cut: 0.35,
      blockBudget: 0.15,
      decision: 'proceed',
      enforced: true,
      rollbackRequested: false,
      stopped: false,
      modelVersion: 'v1',
      historyFeaturesServed: 6,
      historyFeaturesDiffering: 1,
      explored: false,
    };
    builder.addDeployment(record);
    const deep = `/tmp/${'nested/'.repeat(30)}report`;
    const text = renderConsoleSummary(builder.build(), { json: `${deep}.json`, html: `${deep}.html` });
    fitsOneScreen(text);
    const out = text.trimEnd().split('\n');
    // The end of a clipped path, where the file name is, survives.
    expect(out[out.length - 1].endsWith('nested/report.html')).toBe(true);
    expect(out[out.length - 1]).toContain('…');
    expect(out).toContainEqual(expect.stringMatching(/^groups: 1, block rate 0\.0 % to 0\.0 %; fewest failures caught: app\/x+…x+\?<&> \(0 of 1\)$/));
    expect(text).toContain('      5 %     10 %    15 %*     20 %');
    expect(renderConsoleSummary(syntheticRun({ deployments: 300 }).builder.build(), files)).toContain('groups: 4, block rate');
    expect(HOSTILE_GROUP).toContain('<');
  });

  it('gives up blank lines, not content, when the verdict runs long', () => {
    const long = { ...report, verdict: `${'word '.repeat(95)}end.` };
    const text = renderConsoleSummary(long, files);
    fitsOneScreen(text);
    expect(text.startsWith(wrap(long.verdict, MAX_COLUMNS).join('\n'))).toBe(true);
    expect(text.trimEnd().split('\n').slice(-2)).toEqual([`report.json  ${files.json}`, `report.html  ${files.html}`]);
  });

  it('clips in the middle, counting characters', () => {
    expect(clip('abcdefghij', 10)).toBe('abcdefghij');
    expect(clip('abcdefghijk', 10)).toBe('abcde…hijk');
    expect(columns(clip('é'.repeat(200), 100))).toBe(100);
  });

  it('wraps at spaces and keeps a unit with its number', () => {
    expect(wrap('caught 29.6 % of failures', 12)).toEqual(['caught', '29.6 % of', 'failures']);
    expect(wrap('more by (+4.8 pp).', 12)).toEqual(['more by', '(+4.8 pp).']);
  });
});

describe('renderConsoleSummary of a shadow-mode run', () => {
  it('says how many groups meet the criteria to move to stop mode, and why one does not yet, still on one screen', () => {
    const report = syntheticRun({ deployments: 2000, mode: 'shadow' }).builder.build();
    const summary = renderConsoleSummary(report, { json: 'out/report.json', html: 'out/report.html' });
    fitsOneScreen(summary);
    const entries = Object.entries(report.graduation ?? {});
    expect(entries.length).toBeGreaterThan(0);
    const meeting = entries.filter(([, verdict]) => verdict.meets).length;
    const line = summary.split('\n').find((candidate) => candidate.startsWith('graduation to stop mode: '));
    expect(line).toMatch(new RegExp(`^graduation to stop mode: ${meeting} of ${entries.length} groups meet the criteria`));
  });
});
