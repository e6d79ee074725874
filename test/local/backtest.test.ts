import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeStack } from '../../cli/commands/backtest';
import { readMapping } from '../../cli/commands/import';
import { applicationName, runBacktest, warmUpCut, type BacktestResult, type BacktestRuntime } from '../../local/backtest';
import type { TrainingProgress } from '../../local/progress';
import { importHistory, inTimeOrder } from '../../model/import';
import { recordTime, type DeploymentRecord } from '../../model/records';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The backtest end to end (issue 6): a slice of the shipped ci-bfdetector history replayed through
 * the real handlers on the wiring of a synthesized dev stack, and the invariants that must hold
 * between what happened on the buses (events.jsonl), what the CodeDeploy stand-in was asked to do,
 * and what report.json says.
 */

const ROOT = join(__dirname, '../..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
/** Three projects whose first builds overlap in time (2011-12 to 2012-11). */
const SLICE_GROUPS = ['rails_rails_data', 'ruby_ruby_data', 'CloudifySource_cloudify_data'];

const tempDir = scratchDirs('backtest');


let slice: DeploymentRecord[] | undefined;

/** The shipped history, imported with its mapping, kept to the slice's groups. */
function sliceOfShippedHistory(): DeploymentRecord[] {
  slice ??= importHistory(SHIPPED, readMapping(MAPPING), MAPPING).records.filter((record) => SLICE_GROUPS.includes(record.group));
  return slice;
}

/** The history a replay of `limit` per group covers: each group's first replayable deployments, in time order. */
function replayedHistory(records: readonly DeploymentRecord[], limit: number): Map<string, DeploymentRecord[]> {
  const perGroup = new Map<string, DeploymentRecord[]>();
  for (const record of inTimeOrder(records)) {
    if (record.time === null || record.failed === null) continue;
    const list = perGroup.get(applicationName(record.group)) ?? [];
    if (list.length < limit) list.push(record);
    perGroup.set(applicationName(record.group), list);
  }
  return perGroup;
}

/** deploy-guard.config.json's dev environment, with `changes` applied, as a configuration file of its own. */
function writeDevConfig(changes: (dev: Record<string, unknown>) => void): string {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'deploy-guard.config.json'), 'utf8')) as { environments: Record<string, Record<string, unknown>> };
  const dev = structuredClone(shipped.environments.dev);
  changes(dev);
  const file = join(tempDir(), 'deploy-guard.config.json');
  writeFileSync(file, JSON.stringify({ environments: { dev } }, null, 2));
  return file;
}

interface BusRecord {
  readonly bus: string;
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
  /** Position in events.jsonl. */
  readonly index: number;
}

function readEvents(file: string): BusRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line, index) => ({ ...(JSON.parse(line) as Omit<BusRecord, 'index'>), index }));
}

const ofType = (events: readonly BusRecord[], detailType: string) => events.filter((event) => event['detail-type'] === detailType);
const deploymentIdOf = (event: BusRecord) => String(event.detail.deploymentId);
const codeDeployState = (events: readonly BusRecord[], state: string) =>
  ofType(events, 'CodeDeploy Deployment State-change Notification').filter((event) => event.detail.state === state);

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe('the backtest on a slice of the shipped history (3 groups, stop mode, sensitive drift alarms)', () => {
  const LIMIT = 1000;
  let records: DeploymentRecord[];
  let result: BacktestResult;
  let runtime: BacktestRuntime;
  let events: BusRecord[];
  const logs: string[] = [];
  const progress: TrainingProgress[] = [];

  beforeAll(async () => {
    records = sliceOfShippedHistory();
    // The dev environment as shipped, but with drift alarms sensitive enough to fire on this slice:
    // one breaching day in three, on as few as 5 labelled outcomes. A 60-day cooldown keeps the
    // number of training jobs (each trains a model) small.
    const config = writeDevConfig((dev) => {
      dev.qualityAlarms = { periodSeconds: 86_400, evaluationPeriods: 3, datapointsToAlarm: 1, errorRateThreshold: 0.2, brierThreshold: 0.12, minimumLabelledOutcomes: 5 };
      dev.retraining = { ...(dev.retraining as object), cooldownHours: 60 * 24 };
    });
    const stack = synthesizeStack(config, 'dev');
    result = await runBacktest({
      records,
      dataSource: `${SHIPPED} (${SLICE_GROUPS.join(', ')})`,
      stack,
      mode: 'stop',
      // The block budget (10 %) on the installation's cut; a large exploration share, so that a
      // slice this small explores enough deployments to see where their weights go.
      exploration: 0.25,
      retrain: true,
      limit: LIMIT,
      store: 'memory',
      outDir: join(tempDir(), 'out'),
      log: (line) => logs.push(line),
      onProgress: (_done, _total, training) => progress.push(training),
      inspect: (state) => {
        runtime = state;
      },
    });
    events = readEvents(result.files.events);
  });

  it('replays each group\'s first deployments of the slice, the ones before one global time cut (the warm-up) in shadow mode and the rest in stop mode', () => {
    const history = replayedHistory(records, LIMIT);
    expect([...history.keys()].sort()).toEqual([...SLICE_GROUPS].sort());
    const total = [...history.values()].reduce((sum, list) => sum + list.length, 0);
    expect(total).toBe(3 * LIMIT);
    expect(result.replayed).toBe(total);
    expect(runtime.deployments).toHaveLength(total);
    expect(codeDeployState(events, 'START')).toHaveLength(total);
    expect(ofType(events, 'Deployment Change Summary')).toHaveLength(total);

    // Each group's deployments ran in the history's order, with the history's recorded outcomes; the
    // warm-up is every deployment that started before the date by which 20 % of all had started.
    const cut = warmUpCut([...history.values()].flat().sort((a, b) => recordTime(a)! - recordTime(b)!).map((record) => ({ record })), 0.2);
    for (const [application, list] of history) {
      const replayed = runtime.deployments.filter((deployment) => deployment.application === application);
      expect(replayed.map((deployment) => deployment.failed)).toEqual(list.map((record) => record.failed));
      expect(replayed.map((deployment) => deployment.warmUp)).toEqual(list.map((record) => recordTime(record)! < cut));
    }
    expect(runtime.deployments.filter((deployment) => deployment.warmUp)).toHaveLength(result.warmUp);

    const modeOf = new Map(ofType(events, 'Deployment Risk Assessed').map((event) => [deploymentIdOf(event), event.detail.mode]));
    for (const deployment of runtime.deployments) expect([deployment.deploymentId, modeOf.get(deployment.deploymentId)]).toEqual([deployment.deploymentId, deployment.warmUp ? 'shadow' : 'stop']);
  });

  it('trains with the embedded trainer by default (no Python), and the report names it', () => {
    expect(result.report.generated_with.trainer).toBe('embedded');
    expect(runtime.training.jobCount).toBeGreaterThan(0);
  });

  it('assesses every START of a non-rollback deployment exactly once, and nothing else', () => {
    const starts = codeDeployState(events, 'START');
    const assessed = ofType(events, 'Deployment Risk Assessed');
    const assessments = countBy(assessed, deploymentIdOf);
    for (const start of starts) {
      const deployment = runtime.codeDeploy.deployment(deploymentIdOf(start))!;
      const expected = deployment.creator === 'codeDeployRollback' ? 0 : 1;
      expect([deployment.deploymentId, assessments.get(deployment.deploymentId) ?? 0]).toEqual([deployment.deploymentId, expected]);
    }
    const started = new Map(starts.map((start) => [deploymentIdOf(start), start.index]));
    for (const assessment of assessed) {
      expect(assessment.detail.trigger).toBe('START');
      // Assessed after its own START, never for a deployment that did not start.
      expect(assessment.index).toBeGreaterThan(started.get(deploymentIdOf(assessment)) ?? Infinity);
    }
  });

  it('stops exactly one deployment per rollback request, and no deployment twice', () => {
    const requests = ofType(events, 'Deployment Rollback Requested');
    expect(requests.length).toBeGreaterThan(0);
    const requested = requests.map(deploymentIdOf);
    expect(new Set(requested).size).toBe(requested.length);

    const acceptedStops = runtime.codeDeploy.callLog.filter((call) => call.api === 'StopDeployment' && call.accepted).map((call) => call.deploymentId);
    expect([...acceptedStops].sort()).toEqual([...requested].sort());

    const stops = codeDeployState(events, 'STOP').map(deploymentIdOf);
    expect(new Set(stops).size).toBe(stops.length);
    expect([...stops].sort()).toEqual([...requested].sort());
    for (const deploymentId of requested) expect([deploymentId, runtime.codeDeploy.deployment(deploymentId)!.stoppedBy]).toEqual([deploymentId, 'StopDeployment']);

    // A stopped deployment never also reports its natural end.
    const ended = new Set([...codeDeployState(events, 'SUCCESS'), ...codeDeployState(events, 'FAILURE')].map(deploymentIdOf));
    expect(stops.filter((deploymentId) => ended.has(deploymentId))).toEqual([]);
    // Each request was carried out and said so.
    expect(ofType(events, 'Deployment Rollback Completed').map(deploymentIdOf).sort()).toEqual([...requested].sort());
  });

  it('reports counts that reconcile with events.jsonl and the recorded outcomes', () => {
    const { report } = result;
    const reported = runtime.deployments.filter((deployment) => !deployment.warmUp);
    const reportedIds = new Set(reported.map((deployment) => deployment.deploymentId));
    const failedById = new Map(runtime.deployments.map((deployment) => [deployment.deploymentId, deployment.failed]));

    // The outcome each deployment was replayed with is the one CodeDeploy announced when it was not stopped.
    for (const end of codeDeployState(events, 'SUCCESS')) expect([deploymentIdOf(end), failedById.get(deploymentIdOf(end))]).toEqual([deploymentIdOf(end), false]);
    for (const end of codeDeployState(events, 'FAILURE')) expect([deploymentIdOf(end), failedById.get(deploymentIdOf(end))]).toEqual([deploymentIdOf(end), true]);

    const assessed = ofType(events, 'Deployment Risk Assessed').filter((event) => reportedIds.has(deploymentIdOf(event)));
    const requests = ofType(events, 'Deployment Rollback Requested').map(deploymentIdOf);
    const stopped = new Set(codeDeployState(events, 'STOP').map(deploymentIdOf).filter((deploymentId) => reportedIds.has(deploymentId)));

    expect(report.deployments).toBe(reported.length);
    expect(report.assessed).toBe(assessed.filter((event) => event.detail.probability !== null).length);
    // Warm-up deployments run in shadow mode: every rollback request is for a reported deployment.
    expect(requests.every((deploymentId) => reportedIds.has(deploymentId))).toBe(true);
    expect(report.rollbacks_requested).toBe(requests.length);
    expect(report.failures_prevented).toBe([...stopped].filter((deploymentId) => failedById.get(deploymentId)).length);
    expect(report.good_deployments_stopped).toBe([...stopped].filter((deploymentId) => !failedById.get(deploymentId)).length);
    expect(report.failures_missed).toBe(reported.filter((deployment) => deployment.failed && !stopped.has(deployment.deploymentId)).length);

    const started = ofType(events, 'Model Retraining Started');
    expect(report.retrainings.map((entry) => entry.detail)).toEqual(started.map((event) => event.detail.trainingJobName));
    // Every job started was a drift decision; every alarm the drift rule delivered got one.
    expect(report.drift_decisions.started).toBe(started.length);
    expect(report.promotions.map((entry) => entry.model_version)).toEqual(ofType(events, 'Model Promoted').map((event) => event.detail.modelVersion));
    expect(report.rejections).toHaveLength(ofType(events, 'Model Rejected').length);

    // No delivery was given up: no dead letter, and every event a handler answers has its answer.
    expect(report.dead_letters).toEqual([]);
    expect(runtime.deadLetters).toEqual([]);
    const verdicts = countBy([...ofType(events, 'Model Promoted'), ...ofType(events, 'Model Rejected')], (event) => String(event.detail.trainingJobName));
    for (const job of ofType(events, 'SageMaker Training Job State Change')) {
      expect([job.detail.TrainingJobName, verdicts.get(String(job.detail.TrainingJobName))]).toEqual([job.detail.TrainingJobName, 1]);
    }
  });

  it('stops the riskiest tenth: the realized block rate tracks the 10 % budget, and every decision carries the cut and the budget', () => {
    const reported = new Set(runtime.deployments.filter((deployment) => !deployment.warmUp).map((deployment) => deployment.deploymentId));
    const assessed = ofType(events, 'Deployment Risk Assessed').filter((event) => reported.has(deploymentIdOf(event)));
    const stopped = assessed.filter((event) => event.detail.decision === 'rollback').length;
    expect(Math.abs(stopped / assessed.length - 0.1)).toBeLessThan(0.02);
    expect(result.report.policy.realized_block_rate).toBeCloseTo(stopped / assessed.length, 3);
    for (const event of assessed) expect([deploymentIdOf(event), event.detail.blockBudget, typeof event.detail.cut]).toEqual([deploymentIdOf(event), 0.1, 'number']);
  });

  it('lets an explored would-be stop through, and writes its row 1/ε times to the data lake the training jobs read (its weight)', () => {
    const explored = ofType(events, 'Deployment Risk Assessed').filter((event) => event.detail.explored === true);
    expect(explored.length).toBeGreaterThan(0);
    const stopped = new Set(codeDeployState(events, 'STOP').map(deploymentIdOf));
    const rows = new Map(runtime.objects.list('s3://').map((object) => [object.url.slice(object.url.lastIndexOf('/') + 1, -'.csv'.length), Buffer.from(object.body).toString('utf8')]));
    for (const event of explored) {
      const id = deploymentIdOf(event);
      expect([id, event.detail.decision, event.detail.propensity, stopped.has(id)]).toEqual([id, 'proceed', 0.25, false]);
      const lines = rows.get(id)!.trimEnd().split('\n');
      expect([id, lines.length, new Set(lines).size]).toEqual([id, 4, 1]);
    }
    // A deployment below the cut weighs one row.
    const below = ofType(events, 'Deployment Risk Assessed').find((event) => event.detail.decision === 'proceed' && event.detail.explored === false && rows.has(deploymentIdOf(event)));
    expect(rows.get(deploymentIdOf(below!))!.trimEnd().split('\n')).toHaveLength(1);
  });

  it('turns drift alarms into training jobs: ALARM, then Model Retraining Started, then the job\'s state change', () => {
    const started = ofType(events, 'Model Retraining Started').filter((event) => (event.detail.trigger as { type: string }).type === 'alarm');
    expect(started.length).toBeGreaterThan(0);
    const alarms = ofType(events, 'CloudWatch Alarm State Change').filter((event) => (event.detail.state as { value: string }).value === 'ALARM');
    const jobs = ofType(events, 'SageMaker Training Job State Change');
    const completed: string[] = [];
    for (const start of started) {
      const name = String(start.detail.trainingJobName);
      const alarm = alarms.filter((event) => event.detail.alarmName === start.detail.alarmName && event.index < start.index).at(-1);
      expect([name, alarm?.time !== undefined && Date.parse(alarm.time) <= Date.parse(start.time)]).toEqual([name, true]);
      const job = jobs.find((event) => event.detail.TrainingJobName === name);
      expect([name, job !== undefined && job.index > start.index]).toEqual([name, true]);
      if (job!.detail.TrainingJobStatus === 'Completed') completed.push(name);
    }
    expect(completed.length).toBeGreaterThan(0);
  });

  it('says of each training job when it started, how long it took and whether it was promoted or rejected', () => {
    const started = ofType(events, 'Model Retraining Started');
    expect(started.length).toBeGreaterThan(0);
    for (const start of started) {
      const name = String(start.detail.trainingJobName);
      const lines = logs.filter((line) => line.startsWith(`training job ${name}`));
      expect(lines).toEqual([
        expect.stringMatching(new RegExp(`^training job ${name}: started on ${start.time.slice(0, 10)} by (alarm \\S+|the retraining schedule), rows from \\d{4}-\\d\\d-\\d\\d to `)),
        expect.stringMatching(new RegExp(`^training job ${name} \\(embedded[^)]*\\): (Completed on \\d+ rows in \\d+\\.\\d s|Failed: )`)),
        expect.stringMatching(new RegExp(`^training job ${name}: (promoted \\(AUC|registered|rejected, )`)),
      ]);
    }
  });

  it("gives the progress line the training spent and still to come: none left at the end, the spent time only growing", () => {
    expect(progress.length).toBe(result.replayed);
    expect(progress.every((training, index) => training.leftMs >= 0 && (index === 0 || training.wallMs >= progress[index - 1].wallMs))).toBe(true);
    expect(progress.some((training) => training.leftMs > 0)).toBe(true);
    expect(progress.at(-1)!.leftMs).toBe(0);
    expect(progress.at(-1)!.wallMs).toBeLessThanOrEqual(result.trainingWallMs);
  });

  it('scores the deployments after a promotion with the promoted model', () => {
    const promoted = ofType(events, 'Model Promoted');
    expect(promoted.length).toBeGreaterThan(0);
    const assessed = ofType(events, 'Deployment Risk Assessed').filter((event) => event.detail.probability !== null);
    let followed = 0;
    promoted.forEach((promotion, position) => {
      const next = promoted[position + 1];
      const at = Date.parse(promotion.time);
      const after = assessed.filter((event) => event.index > promotion.index && Date.parse(event.time) >= at && (!next || event.index < next.index));
      const before = assessed.filter((event) => event.index < promotion.index).at(-1);
      expect(before?.detail.modelVersion).toBe(promotion.detail.previousModelVersion);
      expect(new Set(after.map((event) => event.detail.modelVersion))).toEqual(after.length > 0 ? new Set([promotion.detail.modelVersion]) : new Set());
      if (after.length > 0) followed += 1;
    });
    expect(followed).toBeGreaterThan(0);
  });
});

describe('the backtest with its stores in memory and in DynamoDB (dynalite and the real adapters)', () => {
  const LIMIT = 100;
  const runs: Record<'memory' | 'dynamodb', { result: BacktestResult; store: string; reportText: string; eventsText: string }> = {} as never;

  beforeAll(async () => {
    const records = sliceOfShippedHistory();
    const stack = synthesizeStack(undefined, 'dev');
    for (const store of ['memory', 'dynamodb'] as const) {
      let storeName = '';
      const result = await runBacktest({
        records,
        dataSource: `${SHIPPED} (${SLICE_GROUPS.join(', ')})`,
        stack,
        mode: 'stop',
        retrain: false,
        limit: LIMIT,
        store,
        outDir: join(tempDir(), store),
        log: () => undefined,
        inspect: (state) => {
          storeName = state.store.constructor.name;
        },
      });
      runs[store] = { result, store: storeName, reportText: readFileSync(result.files.report, 'utf8'), eventsText: readFileSync(result.files.events, 'utf8') };
    }
  });

  it('really runs the second replay on DynamoDB', () => {
    expect(runs.memory.store).toBe('InMemoryDeploymentStore');
    expect(runs.dynamodb.store).toBe('DynamoDbDeploymentStore');
  });

  it('writes the same report.json, byte for byte, and the report has something to compare', () => {
    const report = runs.memory.result.report;
    expect(report.deployments).toBe(3 * LIMIT - runs.memory.result.warmUp);
    expect(report.rollbacks_requested).toBeGreaterThan(0);
    expect(runs.dynamodb.reportText).toBe(runs.memory.reportText);
  });

  it('puts the same events on the buses, in the same order (events.jsonl byte for byte)', () => {
    expect(runs.memory.result.busEvents).toBeGreaterThan(5 * 3 * LIMIT);
    const memoryLines = runs.memory.eventsText.split('\n');
    const dynamoLines = runs.dynamodb.eventsText.split('\n');
    // The first line that differs, if any, is the one worth reading.
    const firstDifference = memoryLines.findIndex((line, index) => line !== dynamoLines[index]);
    expect({ firstDifference, memory: memoryLines[firstDifference], dynamodb: dynamoLines[firstDifference] }).toEqual({ firstDifference: -1, memory: undefined, dynamodb: undefined });
    expect(dynamoLines).toHaveLength(memoryLines.length);
  });
});
