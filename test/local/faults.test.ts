import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeStack } from '../../cli/commands/backtest';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS } from '../../events/emitted';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryDeploymentStore, InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import { storedAssessment } from '../handlers/assessment-fixture';
import { handleRollbackEvent } from '../../handlers/rollback';
import { LocalCodeDeploy } from '../../local/codedeploy';
import type { FailurePolicy } from '../../handlers/config';
import type { ComputePlatform } from '../../events/emitted';
import type { AssessmentRecord, OutcomeRecord } from '../../handlers/ports';
import { runBacktest, type BacktestResult } from '../../local/backtest';
import { FaultInjector, FORGED_REASON, poisonMarker, seededRandom, ThrottlingException, type FaultOptions } from '../../local/faults';
import { importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';
import type { DeploymentRecord } from '../../model/records';
import { trainingRowDate } from '../../handlers/training-row';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The backtest under injected faults (local/faults.ts), on a slice of the shipped history (the first
 * builds of four projects, in stop mode on EC2 blue/green): whatever EventBridge, Lambda, CodeDeploy,
 * SageMaker and the endpoint do wrong, every deployment that should be stopped is stopped exactly
 * once, every outcome is recorded, every labelled deployment has exactly one training row, and the
 * dead-letter queues hold the poison events and nothing else.
 */

const ROOT = join(__dirname, '../..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const SLICE_GROUPS = ['rails_rails_data', 'ruby_ruby_data', 'opf_openproject_data', 'gradle_gradle_data'];
const SLICE_ROWS = 150;
const THRESHOLD = 0.5;

const tempDir = scratchDirs('faults');

/** The first `rows` builds of each group, one file per group as shipped. */
function sliceRecords(groups: readonly string[] = SLICE_GROUPS, rows = SLICE_ROWS): DeploymentRecord[] {
  const dir = tempDir();
  for (const group of groups) {
    const lines = readFileSync(join(SHIPPED, `${group}.csv`), 'utf8').split('\n');
    writeFileSync(join(dir, `${group}.csv`), `${lines.slice(0, rows + 1).join('\n')}\n`);
  }
  return importHistory(dir, parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING)).records;
}

/** What one replay left behind, per deployment. */
interface Observed {
  readonly deploymentId: string;
  readonly warmUp: boolean;
  readonly status: string;
  readonly assessment?: AssessmentRecord;
  readonly outcome?: OutcomeRecord;
  /** The bodies of the training rows in the data lake under this deployment's id. */
  readonly rows: readonly string[];
  readonly trainingRowWritten: boolean;
  /** Rollbacks CodeDeploy accepted from Deploy Guard (StopDeployment, or the hook reported Failed). */
  readonly rollbacks: number;
  /** Proceeds CodeDeploy accepted from Deploy Guard (ContinueDeployment at READY, or the hook reported Succeeded). */
  readonly proceeds: number;
}

interface Run {
  readonly result: BacktestResult;
  readonly deployments: readonly Observed[];
  readonly deadLetters: readonly { readonly target: string; readonly reason: string; readonly marker?: string }[];
  readonly poison: readonly string[];
  readonly trainingJobs: number;
  readonly retrainingsStarted: number;
  /** Training job name → the detail-types of promote's verdicts on it (Model Promoted / Rejected), in order. */
  readonly verdicts: ReadonlyMap<string, readonly string[]>;
  /** The detail-types announced on the buses, each with the deployment ids it was announced for (once per id). */
  readonly announced: ReadonlyMap<string, ReadonlySet<string>>;
  readonly mode: 'stop' | 'gate';
  readonly platform: ComputePlatform;
}

describe('the backtest under injected faults (stop mode, a slice of the shipped history)', () => {
  let records: DeploymentRecord[];
  let stack: object;
  let baseline: Run;

  async function replay(
    faults: FaultOptions,
    options: { failurePolicy?: FailurePolicy; retrain?: boolean; threshold?: number; records?: DeploymentRecord[]; stack?: object; mode?: 'stop' | 'gate'; platform?: ComputePlatform } = {},
  ): Promise<Run> {
    const mode = options.mode ?? 'stop';
    const platform = options.platform ?? 'Server';
    let observed: Observed[] = [];
    let deadLetters: Run['deadLetters'] = [];
    let poison: string[] = [];
    let trainingJobs = 0;
    let retrainingsStarted = 0;
    const result = await runBacktest({
      records: options.records ?? records,
      dataSource: 'data/ci-bfdetector (slice)',
      stack: options.stack ?? stack,
      mode,
      platform,
      retrain: options.retrain ?? false,
      // A fixed threshold: on this slice the first model's cost-optimal one can be 1 (never roll back).
      threshold: options.threshold ?? THRESHOLD,
      ...(options.failurePolicy ? { failurePolicy: options.failurePolicy } : {}),
      outDir: tempDir(),
      faults,
      log: () => undefined,
      inspect: async (runtime) => {
        const injector = runtime.faults as FaultInjector;
        const rows = new Map<string, string[]>();
        for (const { url, body } of runtime.objects.list('s3://')) {
          const key = url.replace(/^s3:\/\/[^/]+\//, '');
          if (trainingRowDate(key) === undefined) continue;
          const deploymentId = decodeURIComponent(key.slice(key.lastIndexOf('/') + 1, -'.csv'.length));
          rows.set(deploymentId, [...(rows.get(deploymentId) ?? []), Buffer.from(body).toString('utf8')]);
        }
        observed = await Promise.all(
          runtime.deployments.map(async (deployment) => {
            const item = await runtime.store.get(deployment.deploymentId);
            return {
              deploymentId: deployment.deploymentId,
              warmUp: deployment.warmUp,
              status: runtime.codeDeploy.deployment(deployment.deploymentId)!.status,
              ...(item?.assessment ? { assessment: item.assessment } : {}),
              ...(item?.outcome ? { outcome: item.outcome } : {}),
              rows: rows.get(deployment.deploymentId) ?? [],
              trainingRowWritten: item?.trainingRowWritten ?? false,
              rollbacks: injector.rollbacks.get(deployment.deploymentId) ?? 0,
              proceeds: injector.proceeds.get(deployment.deploymentId) ?? 0,
            };
          }),
        );
        deadLetters = runtime.deadLetters.map((letter) => ({ target: letter.target, reason: letter.reason, marker: poisonMarker(letter.event) }));
        trainingJobs = runtime.training.jobCount;
        retrainingsStarted = runtime.eventCounts.get('Model Retraining Started') ?? 0;
      },
    });
    poison = Array.from({ length: faults.poisonEvents ?? 0 }, (_, index) => `poison-${index + 1}`);
    const verdicts = new Map<string, string[]>();
    const announced = new Map<string, Set<string>>();
    for (const line of readFileSync(result.files.events, 'utf8').split('\n')) {
      if (!line) continue;
      const event = JSON.parse(line) as { 'detail-type': string; detail: { trainingJobName?: string; deploymentId?: string; reason?: string } };
      if (event.detail.deploymentId && event.detail.reason !== FORGED_REASON) announced.set(event['detail-type'], (announced.get(event['detail-type']) ?? new Set()).add(event.detail.deploymentId));
      if (event['detail-type'] !== 'Model Promoted' && event['detail-type'] !== 'Model Rejected') continue;
      const job = String(event.detail.trainingJobName);
      verdicts.set(job, [...(verdicts.get(job) ?? []), event['detail-type']]);
    }
    return { result, deployments: observed, deadLetters, poison, trainingJobs, retrainingsStarted, verdicts, announced, mode, platform };
  }

  /** The report's figures: what the run would tell a reader. */
  const figures = ({ result: { report } }: Run) => ({
    rollbacksRequested: report.rollbacks_requested,
    prevented: report.failures_prevented,
    goodStopped: report.good_deployments_stopped,
    missed: report.failures_missed,
    perGroup: report.per_group,
  });
  const stoppedIds = (run: Run) => run.deployments.filter((deployment) => deployment.status === 'Stopped').map((deployment) => deployment.deploymentId).sort();

  /**
   * What holds under every fault: one rollback per rollback decision, outcomes recorded, one training
   * row per labelled deployment (the warm-up's included), only poison dead-lettered.
   */
  function expectSound(run: Run): void {
    const announcedFor = (detailType: string) => run.announced.get(detailType) ?? new Set<string>();
    const hooked = run.platform !== 'Server';
    for (const deployment of run.deployments) {
      const shouldStop = deployment.assessment?.decision === 'rollback' && deployment.assessment.enforced;
      // Exactly one accepted rollback for each enforced rollback decision, none for anything else.
      expect({ id: deployment.deploymentId, rollbacks: deployment.rollbacks }).toEqual({ id: deployment.deploymentId, rollbacks: shouldStop ? 1 : 0 });
      // Gate mode lets the rest through exactly once: the hook reports Succeeded for every deployment it does
      // not fail (shadow ones too); at READY an enforced proceed is continued. Stop mode never continues.
      const shouldProceed = hooked ? !shouldStop : run.mode === 'gate' && deployment.assessment?.decision === 'proceed' && deployment.assessment.enforced;
      expect({ id: deployment.deploymentId, proceeds: deployment.proceeds }).toEqual({ id: deployment.deploymentId, proceeds: shouldProceed ? 1 : 0 });
      // What was announced: the assessment always; a stop requested and completed exactly when it was enforced, never a failure.
      const said = ['Deployment Risk Assessed', 'Deployment Rollback Requested', 'Deployment Rollback Completed', 'Deployment Rollback Failed'].map((type) => announcedFor(type).has(deployment.deploymentId));
      expect({ id: deployment.deploymentId, said }).toEqual({ id: deployment.deploymentId, said: [true, shouldStop, shouldStop, false] });
      expect({ id: deployment.deploymentId, stopped: deployment.status === 'Stopped' }).toEqual({ id: deployment.deploymentId, stopped: shouldStop });
      // Every finished deployment has its outcome, labelled counterfactual exactly when Deploy Guard stopped it.
      expect(deployment.outcome).toBeDefined();
      expect({ id: deployment.deploymentId, label: deployment.outcome?.label === 'counterfactual' }).toEqual({ id: deployment.deploymentId, label: shouldStop });
      expect(deployment.assessment).toBeDefined();
      // Every observed outcome has its row, the warm-up's too; an explored one weighs 1/ε lines.
      // A deployment assessed without a model has no feature row: nothing to learn from, no row.
      const labelled = deployment.outcome?.label !== 'counterfactual' && deployment.assessment?.featureRow !== '';
      const weight = deployment.assessment?.explored ? Math.round(1 / deployment.assessment.propensity) : 1;
      const row = labelled ? [`${deployment.outcome?.label === 'failed' ? 1 : 0},${deployment.assessment?.featureRow}\n`.repeat(weight)] : [];
      expect({ id: deployment.deploymentId, rows: deployment.rows }).toEqual({ id: deployment.deploymentId, rows: row });
      if (labelled) expect({ id: deployment.deploymentId, recorded: deployment.trainingRowWritten }).toEqual({ id: deployment.deploymentId, recorded: true });
    }
    const markers = run.deadLetters.map((letter) => letter.marker);
    expect(markers.filter((marker) => marker === undefined)).toEqual([]);
    expect([...new Set(markers)].sort()).toEqual([...run.poison].sort());
    for (const letter of run.deadLetters) expect(letter.reason).toMatch(/^EventValidationError: /);
  }

  beforeAll(async () => {
    records = sliceRecords();
    stack = synthesizeStack(undefined, 'dev');
    baseline = await replay({ seed: 1 });
  });

  test('the fault-free replay stops some deployments and is sound (the reference for the others)', () => {
    expect(baseline.deployments.length).toBe(SLICE_GROUPS.length * SLICE_ROWS);
    expect(stoppedIds(baseline).length).toBeGreaterThan(5);
    expect(baseline.deadLetters).toEqual([]);
    expectSound(baseline);
  });

  const sameAsBaseline: [string, FaultOptions][] = [
    ['every event delivered two or three times', { seed: 11, duplicateDelivery: true, poisonEvents: 3 }],
    ['deliveries reordered within a window of 4', { seed: 12, reorderWindow: 4, poisonEvents: 3 }],
    ['handlers crashing after a side effect, retried by Lambda', { seed: 13, crashRate: 0.15, poisonEvents: 3 }],
    ['CodeDeploy and SageMaker throttling after the SDK retries', { seed: 14, throttleRate: 0.15, poisonEvents: 3 }],
    ['PutEvents partial failures', { seed: 15, publishFailureRate: 0.15, poisonEvents: 3 }],
    ['two concurrent invocations of the same event racing on the stores', { seed: 16, raceRate: 0.5, poisonEvents: 3 }],
    [
      'all of them together',
      { seed: 17, duplicateDelivery: true, reorderWindow: 4, crashRate: 0.1, throttleRate: 0.1, publishFailureRate: 0.1, raceRate: 0.3, poisonEvents: 6 },
    ],
  ];

  test.each(sameAsBaseline)('%s: the same deployments stopped, each exactly once; poison alone dead-lettered', async (_, faults) => {
    const run = await replay(faults);
    expectSound(run);
    expect(stoppedIds(run)).toEqual(stoppedIds(baseline));
    expect(figures(run)).toEqual(figures(baseline));
  });

  test('endpoint down, fail-open: every assessment is a fallback, nothing is stopped', async () => {
    const run = await replay({ seed: 21, endpointDown: true, poisonEvents: 3 }, { failurePolicy: 'fail-open' });
    expectSound(run);
    for (const deployment of run.deployments) {
      expect(deployment.assessment?.fallback?.policy).toBe('fail-open');
      expect(deployment.assessment?.decision).toBe('proceed');
    }
    expect(stoppedIds(run)).toEqual([]);
  });

  test('endpoint down, fail-closed: every enforced fallback assessment is stopped, once', async () => {
    const run = await replay({ seed: 22, endpointDown: true, poisonEvents: 3 }, { failurePolicy: 'fail-closed' });
    expectSound(run);
    const enforced = run.deployments.filter((deployment) => deployment.assessment?.enforced);
    expect(enforced.length).toBe(run.deployments.filter((deployment) => !deployment.warmUp).length);
    for (const deployment of enforced) {
      expect(deployment.assessment?.fallback?.policy).toBe('fail-closed');
      expect(deployment.status).toBe('Stopped');
      expect(deployment.rollbacks).toBe(1);
    }
    // The warm-up (shadow mode) is never enforced: fail-closed stops nothing there.
    for (const deployment of run.deployments.filter((candidate) => candidate.warmUp)) expect(deployment.status).not.toBe('Stopped');
  });

  test('endpoint timing out or answering ModelError now and then, fail-closed, with every other fault', async () => {
    const run = await replay(
      { seed: 23, endpointTimeoutRate: 0.1, endpointModelErrorRate: 0.1, duplicateDelivery: true, reorderWindow: 3, crashRate: 0.1, throttleRate: 0.1, publishFailureRate: 0.1, raceRate: 0.2, poisonEvents: 3 },
      { failurePolicy: 'fail-closed' },
    );
    expectSound(run);
    const fallbacks = run.deployments.filter((deployment) => deployment.assessment?.fallback && deployment.assessment.enforced);
    expect(fallbacks.length).toBeGreaterThan(10);
    for (const deployment of fallbacks) expect(deployment.status).toBe('Stopped');
    expect(run.result.faults!.endpointFailures).toBeGreaterThan(10);
  });

  test('with retraining on: every fault at once starts no duplicate training job, announces each job once and gives it one verdict', async () => {
    // Long enough for the drift alarms to fire: the first 600 builds of two projects.
    const longer = sliceRecords(['rails_rails_data', 'ruby_ruby_data'], 600);
    // The dev environment as shipped, but with drift willing to train on the few labelled rows of this slice.
    const shipped = JSON.parse(readFileSync(join(ROOT, 'deploy-guard.config.json'), 'utf8')) as { environments: { dev: { retraining: object } } };
    const dev = structuredClone(shipped.environments.dev);
    dev.retraining = { ...dev.retraining, minimumRows: 20 };
    const configFile = join(tempDir(), 'deploy-guard.config.json');
    writeFileSync(configFile, JSON.stringify({ environments: { dev } }));
    const retrainingStack = synthesizeStack(configFile, 'dev');
    const faults: FaultOptions = { seed: 31, duplicateDelivery: true, reorderWindow: 4, crashRate: 0.1, throttleRate: 0.1, publishFailureRate: 0.1, raceRate: 0.3, poisonEvents: 3 };
    const clean = await replay({ seed: 1 }, { retrain: true, records: longer, stack: retrainingStack });
    const run = await replay(faults, { retrain: true, records: longer, stack: retrainingStack });
    expectSound(run);
    expect(clean.trainingJobs).toBeGreaterThan(0);
    expect(run.trainingJobs).toBe(clean.trainingJobs);
    expect(run.retrainingsStarted).toBe(run.trainingJobs);
    // Every job gets one verdict, announced once; under faults never two different verdicts, and
    // a second announcement only from two deliveries of one event running at the same time.
    expect(clean.verdicts.size).toBe(clean.trainingJobs);
    for (const announced of clean.verdicts.values()) expect(announced).toHaveLength(1);
    expect(run.verdicts.size).toBe(run.trainingJobs);
    for (const announced of run.verdicts.values()) expect(new Set(announced).size).toBe(1);
    expect(stoppedIds(run)).toEqual(stoppedIds(clean));
  });

  const everyFault: FaultOptions = { seed: 41, duplicateDelivery: true, reorderWindow: 3, crashRate: 0.1, throttleRate: 0.1, publishFailureRate: 0.1, raceRate: 0.2, poisonEvents: 3, forgeRollbackRequests: true };

  /** Forged requests: put, every one refused (another account's as ForeignAccount, the own account's as NotDecided), none acted on (expectSound). */
  function expectForgeriesRefused(run: Run): void {
    const stats = run.result.faults!;
    expect(stats.forged).toBeGreaterThan(1);
    expect(Object.keys(stats.refused).sort()).toEqual(['ForeignAccount', 'NotDecided']);
    // Each forgery refused at least once (duplicate deliveries refuse it again).
    expect(stats.refused.ForeignAccount + stats.refused.NotDecided).toBeGreaterThanOrEqual(stats.forged);
  }

  async function expectGateSoundUnderEveryFault(platform: ComputePlatform): Promise<void> {
    const clean = await replay({ seed: 1 }, { mode: 'gate', platform });
    expectSound(clean);
    expect(stoppedIds(clean).length).toBeGreaterThan(5);
    const run = await replay(everyFault, { mode: 'gate', platform });
    expectSound(run);
    expect(stoppedIds(run)).toEqual(stoppedIds(clean));
    expect(run.result.faults!.crashes).toBeGreaterThan(10);
    expectForgeriesRefused(run);
  }

  test.each([
    ['ECS, the BeforeAllowTraffic hook: a risky one failed by the hook, the rest Succeeded', 'ECS'],
    ['Lambda, the BeforeAllowTraffic hook: a risky one failed by the hook, the rest Succeeded', 'Lambda'],
  ] as const)('gate mode, %s, exactly once under every fault (a crash after the claim and after each CodeDeploy call included), forged requests refused', async (_name, platform) => {
    await expectGateSoundUnderEveryFault(platform);
  });

  // Found by this replay: two racing invocations of one gate proceed (same event, same claim token)
  // both reached ContinueDeployment; the one recording second was refused by the ledger and the event
  // ended in rollback's dead-letter queue. rollback now answers it as a duplicate (recordOrFindRecorded).
  test('gate mode, EC2 blue/green waiting at READY: a risky one stopped, the rest continued, exactly once under every fault, forged requests refused', async () => {
    await expectGateSoundUnderEveryFault('Server');
  });

  test('the serving model failing to load now and then, fail-closed: the failure policy decides each, announced as a model fallback and counted', async () => {
    const run = await replay({ seed: 51, modelLoadFailureRate: 0.2, crashRate: 0.1, poisonEvents: 3 }, { failurePolicy: 'fail-closed' });
    expectSound(run);
    const fallbacks = run.deployments.filter((deployment) => deployment.assessment?.fallback);
    expect(fallbacks.length).toBe(run.result.faults!.modelLoadFailures);
    expect(fallbacks.length).toBeGreaterThan(10);
    for (const deployment of fallbacks) {
      expect(deployment.assessment).toMatchObject({ probability: null, fallback: { policy: 'fail-closed', cause: 'model', reason: expect.stringMatching(/^ModelUnavailable: /) } });
    }
  });
});

describe('FaultInjector (no replay)', () => {
  test('the same seed injects the same faults', () => {
    const draws = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draws(7)).toEqual(draws(7));
    expect(draws(7)).not.toEqual(draws(8));
  });

  test('a rate outside 0..1 is refused, naming the option', () => {
    expect(() => new FaultInjector({ seed: 1, crashRate: 1.5 })).toThrow('fault option crashRate must be a probability from 0 to 1, got 1.5');
  });
});

describe('a fault the backtest found: CodeDeploy throttling during a rollback', () => {
  test('a StopDeployment still throttled after the SDK retries is tried again while the claim is held: stopped once, Completed announced', async () => {
    const clock = new ManualClock('2026-11-20T09:20:05Z');
    const codeDeploy = new LocalCodeDeploy({ clock, account: '000000000000', region: 'us-east-1', emit: () => undefined });
    const deployment = codeDeploy.createDeployment({ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', revision: { commitId: 'abc' } });
    let throttled = 0;
    const throttling = {
      getDeployment: (id: string) => codeDeploy.getDeployment(id),
      continueDeployment: (id: string) => codeDeploy.continueDeployment(id),
      putLifecycleEventHookExecutionStatus: (id: string, hook: string, status: 'Succeeded' | 'Failed') => codeDeploy.putLifecycleEventHookExecutionStatus(id, hook, status),
      stopDeployment: async (id: string, _options: { autoRollbackEnabled: boolean }) => {
        if (throttled < 2) {
          throttled += 1;
          throw new ThrottlingException('CodeDeploy StopDeployment: Rate exceeded');
        }
        return codeDeploy.stopDeployment(id);
      },
    };
    const groups = [{ application: 'myApplication', deploymentGroup: 'myDeploymentGroup', platform: 'Server', mode: 'stop', blockBudget: 0.1, exploration: 0, cutScope: 'installation', failurePolicy: 'fail-open' } as const];
    const config = { source: 'deploy-guard', eventBusName: 'deploy-guard', accountId: '000000000000', groups, metricsNamespace: 'DeployGuard' };
    const entry = buildEntry('Deployment Rollback Requested', { ...EMITTED_EVENTS['Deployment Rollback Requested'].example, deploymentId: deployment.deploymentId, mode: 'stop' }, config);
    // What predict stored: an enforced rollback decision at START in stop mode.
    const deployments = new InMemoryDeploymentStore();
    await deployments.putAssessment(storedAssessment({ deploymentId: deployment.deploymentId, mode: 'stop', trigger: 'START' }));
    const event = { version: '0', id: 'e-1', 'detail-type': entry.DetailType, source: entry.Source, account: '000000000000', time: '2026-11-20T09:20:05Z', region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) };
    const published: string[] = [];
    const waits: number[] = [];

    const result = await handleRollbackEvent(event, {
      codeDeploy: throttling,
      ledger: new InMemoryRollbackLedger(),
      holds: new InMemoryHoldStore(),
      deployments,
      metrics: { put: () => undefined },
      publisher: { publish: async (entries) => void published.push(...entries.map((published) => published.DetailType)) },
      clock,
      sleep: async (milliseconds) => void waits.push(milliseconds),
      config,
    });

    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment' } });
    expect(codeDeploy.deployment(deployment.deploymentId)?.status).toBe('Stopped');
    expect(codeDeploy.calls.StopDeployment).toBe(1);
    expect(waits).toEqual([1000, 2000]);
    expect(published).toEqual(['Deployment Rollback Completed']);
  });
});
