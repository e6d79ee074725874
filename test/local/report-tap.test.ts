import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import type { DeploymentStore } from '../../handlers/ports';
import { LocalCodeDeploy } from '../../local/codedeploy';
import type { ReplayEntry } from '../../local/lifecycle';
import type { DeadLetter, ReplayedDeployment, TimelineEvent } from '../../local/report-model';
import { EVENTS_BLOCK_CHARS, eventsFileName, ReportTap, type ReportSink } from '../../local/report-tap';
import { localBuses } from '../../local/stand-ins';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The report tap (local/report-tap.ts): what the events on the buses and each finished deployment add
 * to the report, and events.jsonl.
 */

const tempDir = scratchDirs('report-tap');
const AT = Date.parse('2019-10-02T17:04:40Z');
const SAMPLES = join(__dirname, '../../events/samples');
const sample = (name: string) => JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')) as BusEvent;

/** A report builder that keeps what it was given. */
function recordingSink() {
  const added = { deployments: [] as ReplayedDeployment[], timeline: [] as TimelineEvent[], deadLetters: [] as DeadLetter[], driftDecisions: [] as string[] };
  const sink: ReportSink = {
    addDeployment: (row) => added.deployments.push(row),
    addTimelineEvent: (event) => added.timeline.push(event),
    addDeadLetter: (letter) => added.deadLetters.push(letter),
    addDriftDecision: (decision) => added.driftDecisions.push(decision),
  };
  return { sink, added };
}

/** The tap on fresh local buses, with a deployment store holding `stored` and a first model that answers 0.42. */
function tapped(stored: Record<string, unknown> = {}, compressed = false) {
  const clock = new ManualClock(AT);
  const buses = localBuses({ region: 'us-east-1', customBusName: 'deploy-guard-dev', clock });
  const codeDeploy = new LocalCodeDeploy({ clock, account: '000000000000', region: 'us-east-1', emit: (event) => buses.default.publishAwsEvent(event as BusEvent) });
  const store = { get: async (deploymentId: string) => stored[deploymentId] } as unknown as DeploymentStore;
  const { sink, added } = recordingSink();
  const eventsFile = join(tempDir(), eventsFileName(compressed));
  const tap = new ReportTap(eventsFile, sink, { store, codeDeploy, deploymentGroup: 'production' });
  tap.listen(buses.default);
  tap.listen(buses.custom);
  return { tap, buses, codeDeploy, added, eventsFile };
}

/** The file's size once a write has reached it (the stream writes asynchronously). */
async function sizeOnceWritten(file: string): Promise<number> {
  for (let waited = 0; statSync(file).size === 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return statSync(file).size;
}

const ownEvent = (detailType: string, detail: object) => ({ Source: 'deploy-guard', DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'deploy-guard-dev' });

describe('the report tap on the buses', () => {
  it('writes every event to events.jsonl, in order, with the bus it was put on, and counts them by detail-type', async () => {
    const { tap, buses, eventsFile } = tapped();
    buses.default.publishAwsEvent(sample('codedeploy-deployment-state-change.failure.json'));
    buses.custom.putEvents([ownEvent('Deployment Rollback Requested', { deploymentId: 'd-1' })]);
    await tap.close();
    tap.throwIfWriteFailed();
    const lines = readFileSync(eventsFile, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as BusEvent & { bus: string });
    expect(lines.map((line) => [line.bus, line['detail-type']])).toEqual([
      ['default', 'CodeDeploy Deployment State-change Notification'],
      ['deploy-guard-dev', 'Deployment Rollback Requested'],
    ]);
    expect(tap.busEvents).toBe(2);
    expect(Object.fromEntries(tap.eventCounts)).toEqual({ 'CodeDeploy Deployment State-change Notification': 1, 'Deployment Rollback Requested': 1 });
  });

  it('writes events.jsonl.gz, gzipped, with the same lines as events.jsonl, when compressed', async () => {
    const runs = [tapped({}, false), tapped({}, true)];
    for (const { buses } of runs) {
      for (let index = 0; index < 300; index += 1) buses.default.publishAwsEvent(sample('codedeploy-deployment-state-change.failure.json'));
      buses.custom.putEvents([ownEvent('Deployment Rollback Requested', { deploymentId: 'd-1' })]);
    }
    for (const { tap } of runs) {
      await tap.close();
      tap.throwIfWriteFailed();
    }
    const [plain, compressed] = runs.map(({ eventsFile }) => readFileSync(eventsFile));
    expect(runs[1].eventsFile.endsWith('events.jsonl.gz')).toBe(true);
    expect(gunzipSync(compressed).equals(plain)).toBe(true);
    expect(compressed.length).toBeLessThan(plain.length / 10);
  });

  it(`writes events.jsonl in blocks of ${EVENTS_BLOCK_CHARS} characters, the rest when it closes`, async () => {
    const { tap, buses, eventsFile } = tapped();
    const put = () => buses.default.publishAwsEvent(sample('codedeploy-deployment-state-change.failure.json'));
    put();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(statSync(eventsFile).size).toBe(0);
    let count = 1;
    for (; count * 500 < EVENTS_BLOCK_CHARS + 1000; count += 1) put();
    const written = await sizeOnceWritten(eventsFile);
    expect(written).toBeGreaterThanOrEqual(EVENTS_BLOCK_CHARS);
    await tap.close();
    expect(statSync(eventsFile).size).toBeGreaterThan(written);
    expect(readFileSync(eventsFile, 'utf8').trimEnd().split('\n')).toHaveLength(count);
  });

  it('keeps the model\'s timeline: alarms going to ALARM (not back to OK), retraining started with what started it, promotions and rejections', async () => {
    const { tap, buses, added } = tapped();
    const alarm = sample('cloudwatch-alarm-state-change.single-metric.json');
    buses.default.publishAwsEvent(alarm);
    buses.default.publishAwsEvent({ ...alarm, detail: { ...(alarm.detail as object), state: { value: 'OK' } } });
    buses.custom.putEvents([
      ownEvent('Model Retraining Started', { trainingJobName: 'deploy-guard-dev-20130110-0000-062000', trigger: { type: 'alarm', alarmName: 'ServerCpuTooHigh' } }),
      ownEvent('Model Retraining Started', { trainingJobName: 'deploy-guard-dev-20130710-0000-062000', trigger: { type: 'schedule', ruleName: 'deploy-guard-dev-retraining-schedule' } }),
      ownEvent('Model Promoted', { modelVersion: 'deploy-guard-dev-20130110-0000-062000' }),
      ownEvent('Model Rejected', { reason: 'not-better', message: 'AUC 0.71 is below the serving model\'s 0.74' }),
    ]);
    tap.addRunSummary({ deadLetters: [], driftDecisions: [] });
    await tap.close();
    expect(added.timeline).toEqual([
      { at: AT, kind: 'drift-alarm', alarmName: 'ServerCpuTooHigh' },
      { at: AT, kind: 'retraining-started', trigger: { type: 'alarm', alarmName: 'ServerCpuTooHigh' }, detail: 'deploy-guard-dev-20130110-0000-062000' },
      { at: AT, kind: 'retraining-started', trigger: { type: 'schedule' }, detail: 'deploy-guard-dev-20130710-0000-062000' },
      { at: AT, kind: 'promoted', modelVersion: 'deploy-guard-dev-20130110-0000-062000' },
      { at: AT, kind: 'rejected', detail: 'not-better: AUC 0.71 is below the serving model\'s 0.74' },
    ]);
  });

  it('adds the run\'s dead letters (without their events) and the drift handler\'s decisions', async () => {
    const { tap, added } = tapped();
    const event = sample('codedeploy-deployment-state-change.failure.json');
    tap.addRunSummary({ deadLetters: [{ at: AT, rule: 'outcome', target: 'record-outcome', reason: 'Error: boom', event } as DeadLetter], driftDecisions: ['started', 'cooldown'] });
    await tap.close();
    expect(added.deadLetters).toEqual([{ at: AT, rule: 'outcome', target: 'record-outcome', reason: 'Error: boom' }]);
    expect(added.driftDecisions).toEqual(['started', 'cooldown']);
  });
});

describe('the report row of a finished deployment', () => {
  const record = { group: 'rails_rails_data', time: '2019-10-02T17:04:40.000Z', failed: true, change: {}, extra: {} };

  it('takes the assessment (with its cut and budget) from the store, the rollback request from the buses, the stop from CodeDeploy, and the history fidelity from the comparison', async () => {
    const assessment = { probability: 0.61, cut: 0.55, blockBudget: 0.1, decision: 'rollback', enforced: true, modelVersion: 'deploy-guard-dev-20130110-0000-062000', featureRow: '3,40,1' };
    const { tap, buses, codeDeploy, added } = tapped({ 'd-000000001': { assessment } });
    const deployment = codeDeploy.createDeployment({ application: 'rails_rails_data', deploymentGroup: 'production', platform: 'Server', revision: { commitId: 'abc' } });
    buses.custom.putEvents([ownEvent('Deployment Rollback Requested', { deploymentId: deployment.deploymentId })]);
    await codeDeploy.stopDeployment(deployment.deploymentId);
    const entry: ReplayEntry = { record, application: 'rails_rails_data', warmUp: false, deploymentId: deployment.deploymentId };
    await tap.addDeployment(entry, { historyFeaturesServed: 8, historyFeaturesDiffering: 3 });
    await tap.close();
    expect(added.deployments).toEqual([
      {
        deploymentId: 'd-000000001',
        application: 'rails_rails_data',
        deploymentGroup: 'rails_rails_data/production',
        startedAt: AT,
        failed: true,
        probability: 0.61,
        cut: 0.55,
        blockBudget: 0.1,
        decision: 'rollback',
        enforced: true,
        rollbackRequested: true,
        stopped: true,
        modelVersion: 'deploy-guard-dev-20130110-0000-062000',
        historyFeaturesServed: 8,
        historyFeaturesDiffering: 3,
        explored: false,
      },
    ]);
  });

  it('reports a deployment nobody assessed as proceeding, unenforced, with no probability or model', async () => {
    const { tap, codeDeploy, added } = tapped();
    const deployment = codeDeploy.createDeployment({ application: 'rails_rails_data', deploymentGroup: 'production', platform: 'Server', revision: { commitId: 'abc' } });
    await tap.addDeployment({ record, application: 'rails_rails_data', warmUp: false, deploymentId: deployment.deploymentId });
    await tap.close();
    expect(added.deployments[0]).toMatchObject({ probability: null, decision: 'proceed', enforced: false, rollbackRequested: false, stopped: false, modelVersion: null, cut: null, blockBudget: null, historyFeaturesServed: 0 });
  });
});
