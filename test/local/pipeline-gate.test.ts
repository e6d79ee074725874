import type { BusEvent } from '../../events/bus';
import { eventBridgeTime } from '../../events/clock';
import { createDecisionsCommand } from '../../cli/commands/decisions';
import { createHoldDecisionCommand } from '../../cli/commands/hold-decision';
import { createOverrideCommand } from '../../cli/commands/override';
import { ENV, type GroupPolicy } from '../../handlers/config';
import { gateHoldId, gateReleaseKey } from '../../handlers/pipeline-gate-domain';
import { POOLED_CUT_SCOPE, type DeploymentStore, type GateDecisionListing } from '../../handlers/ports';
import { QUALITY_DIMENSIONS, QUALITY_METRICS } from '../../handlers/quality-metrics';
import { ASSESSMENTS_BY_GROUP, CONTROL_KEYS } from '../../handlers/tables';
import type { LocalHandlers } from '../../local/handler-composition';
import { asyncInvoke, drainBuses, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import type { LocalRelease } from '../../local/codepipeline';
import type { StandIns } from '../../local/stand-ins';
import { exampleGroupNames } from '../../stacks/config';
import { isAllowed, roleStatements, type AccessRequest } from '../../stacks/policy-check';
import { bootLocalRuntime, devStack, writeShippedConfig } from '../support/local-e2e';
import { localOperatorDependencies } from '../support/local-operator';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The pipeline gate end to end on the local runtime: a CodePipeline stand-in whose gate action (the
 * real pipeline-gate handler, invoked as Lambda's asynchronous delivery invokes it, with the
 * synthesized dev stack's environment) runs before its Deploy stage, which creates the CodeDeploy
 * deployment only when the action succeeded; the real predict, rollback and notify handlers on the
 * stack's rules; the stores on dynalite through the real DynamoDB adapters; the shipped first model
 * serving; the real `deploy-guard override` / `approve` / `reject` commands as the operator. Fixed
 * cuts decide: 0.0001 (every release is risky) or 0.9999 (none is).
 */
const tempDir = scratchDirs('pipeline-gate');
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/deploy-guard-dev-operator/alice';
const { application } = exampleGroupNames('deploy-guard-dev');
const common = { application, platform: 'Server', blockBudget: 0.1, exploration: 0, cutScope: 'group', failurePolicy: 'fail-open' } as const;
const RISKY = 0.0001;
const SAFE = 0.9999;
const GROUPS: GroupPolicy[] = [
  { ...common, deploymentGroup: 'release-stop', mode: 'stop', threshold: RISKY },
  { ...common, deploymentGroup: 'release-safe', mode: 'stop', threshold: SAFE },
  { ...common, deploymentGroup: 'release-hold', mode: 'gate', onRisk: 'hold', holdTimeoutMinutes: 25, onHoldTimeout: 'reject', threshold: RISKY },
];
const [stopGroup, safeGroup, holdGroup] = GROUPS;

describe('the pipeline gate on the local runtime (real handlers, synthesized wiring, CodePipeline and CodeDeploy stand-ins)', () => {
  const { stack, wiring } = devStack();
  let standIns: StandIns;
  let handlers: LocalHandlers;
  let deadLetters: DeadLetterWithEvent[];
  let metricsNamespace: string;
  const busEvents: BusEvent[] = [];
  const awsEvents: BusEvent[] = [];

  beforeAll(async () => {
    const runtime = await bootLocalRuntime({ wiring, groups: GROUPS, start: START, store: 'dynamodb', scratchDir: tempDir() });
    ({ standIns, handlers, deadLetters } = runtime);
    metricsNamespace = runtime.environmentOf('predict')[ENV.metricsNamespace]!;
    const gate = wiring.functions.find((fn) => fn.handler === 'pipeline-gate');
    if (!gate) throw new Error('the stack has no pipeline-gate function');
    // CodePipeline invokes the action's function asynchronously: Lambda's retries and dead letters apply.
    const invoke = asyncInvoke({ rule: 'codepipeline:release/Gate', handler: 'pipeline-gate', run: (event) => handlers['pipeline-gate'](event), maximumRetryAttempts: gate.asyncInvoke.maximumRetryAttempts, clock: standIns.clock, deadLetters });
    standIns.codePipeline.connectGate((job) => invoke(job as unknown as BusEvent));
    standIns.buses.custom.onEvent((event) => busEvents.push(event));
    standIns.buses.default.onEvent((event) => awsEvents.push(event));
  });
  afterAll(() => standIns.close());

  const release = async (group: GroupPolicy, commit: string, options: Partial<LocalRelease> = {}) => {
    const execution = await standIns.codePipeline.startExecution({ application, deploymentGroup: group.deploymentGroup, platform: 'Server', commitId: commit, ...options });
    await drainBuses(standIns.buses);
    return execution;
  };
  const operator = async (command: 'override' | 'approve' | 'reject', args: string[]) => {
    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => out.push(text) }, stdin: process.stdin, cwd: process.cwd() } as never;
    const deps = localOperatorDependencies(standIns, OPERATOR);
    const run = command === 'override' ? createOverrideCommand(deps) : createHoldDecisionCommand(command, deps);
    const code = await run.run(['--environment', 'dev', ...args, '--reason', `${command}: reviewed by the release manager`], io);
    await drainBuses(standIns.buses);
    return { code, out: out.join('') };
  };
  /**
   * `deploy-guard decisions` as the operator: the stand-ins' tables read through the command's own
   * adapters, each read first checked against the synthesized dev stack's operator role (its tables
   * named as the dev stack names them); a configuration whose dev environment guards the release-stop group.
   */
  const decisionsAsOperator = async (args: string[]) => {
    const statements = roleStatements(stack as never, 'deploy-guard-dev-operator');
    const table = (name: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/deploy-guard-dev-${name}`;
    const mayRead = (request: AccessRequest) => {
      if (!isAllowed(statements as never, request)) throw new Error(`the operator role may not ${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})}`);
    };
    const deployments: DeploymentStore = Object.assign(Object.create(standIns.stores.deployments) as DeploymentStore, {
      recentAssessments: (...query: Parameters<DeploymentStore['recentAssessments']>) => {
        mayRead({ action: 'dynamodb:Query', resource: `${table('deployments')}/index/${ASSESSMENTS_BY_GROUP.name}` });
        return standIns.stores.deployments.recentAssessments(...query);
      },
    });
    const listing: GateDecisionListing = {
      listedDecisions: (group, day) => {
        mayRead({ action: 'dynamodb:GetItem', resource: table('control'), context: { 'dynamodb:LeadingKeys': CONTROL_KEYS.gateDay(group, day) } });
        return standIns.stores.gates.listedDecisions(group, day);
      },
    };
    const configFile = writeShippedConfig(tempDir(), (config) => {
      config.environments.dev.groups = [{ application, deploymentGroup: stopGroup.deploymentGroup, platform: 'Server', mode: 'stop', blockBudget: 0.1, threshold: RISKY, existing: true }];
    });
    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => out.push(text) }, stdin: process.stdin, cwd: process.cwd() } as never;
    const command = createDecisionsCommand({ deploymentStore: () => deployments, gateListing: () => listing, clock: standIns.clock });
    const code = await command.run(['--environment', 'dev', '--config', configFile, ...args], io);
    return { code, out: out.join('') };
  };
  const gateEvents = (jobId: string) => busEvents.filter((event) => event['detail-type'] === 'Pipeline Gate Decided' && (event.detail as { jobId: string }).jobId === jobId).map((event) => event.detail as Record<string, unknown>);
  const startsOf = (group: GroupPolicy) => awsEvents.filter((event) => event['detail-type'] === 'CodeDeploy Deployment State-change Notification' && (event.detail as { deploymentGroup: string }).deploymentGroup === group.deploymentGroup);
  /** A group's count of a decision metric over the run (predict's and the gate's together). */
  const decisionCount = (group: GroupPolicy, metricName: string) =>
    standIns.cloudWatch.statistic({ namespace: metricsNamespace, metricName, dimensions: { [QUALITY_DIMENSIONS.application]: application, [QUALITY_DIMENSIONS.deploymentGroup]: group.deploymentGroup }, stat: 'Sum', unit: 'Count' }, START, 2 * 24 * 3600) ?? 0;
  const pooledWindow = async () => (await standIns.stores.control.readCut(POOLED_CUT_SCOPE))?.state.deploymentIds ?? [];
  const codeDeployCalls = (deploymentId: string) => standIns.codeDeploy.callLog.filter((call) => call.deploymentId === deploymentId).map((call) => call.api);

  it('a risky release fails at the gate: the action fails with the risk, the factors and the override command, and no CodeDeploy deployment is created', async () => {
    const commit = 'a'.repeat(40);
    const execution = await release(stopGroup, commit);

    expect(execution.status).toBe('Failed');
    expect(execution.deploymentId).toBeUndefined();
    expect(startsOf(stopGroup)).toEqual([]);
    expect(execution.message).toContain(`Deploy Guard stopped release git:${commit} of ${application}/release-stop before its deployment was created: probability of failure`);
    expect(execution.message).toContain('is at or above the fixed threshold 0.0001; top factors: ');
    expect(execution.message).toContain(`deploy-guard override --environment dev --application ${application} --revision git:${commit} --reason "..."`);
    expect(standIns.codePipeline.calls).toEqual([{ api: 'PutJobFailureResult', jobId: execution.jobs[0], accepted: true }]);

    expect(gateEvents(execution.jobs[0])).toEqual([expect.objectContaining({ outcome: 'fail', enforced: true, revision: `git:${commit}`, pipelineExecutionId: execution.executionId, cut: RISKY, cutSource: 'threshold' })]);
    expect(standIns.notifications.published.map((message) => message.subject)).toContainEqual(expect.stringContaining('Deploy Guard stopped release'));
    expect(await standIns.stores.gates.readPass(application, `git:${commit}`)).toBeUndefined();
    expect(deadLetters).toEqual([]);

    // What Deploy Guard decided today, as the on-call engineer asks it: the release stopped at the gate, by its job.
    const table = await decisionsAsOperator(['--group', `${application}/release-stop`, '--since', '24h']);
    expect(table.code).toBe(0);
    expect(table.out).toContain(`job ${execution.jobs[0]}`);
    expect(table.out).toContain(`failed at the pipeline gate: release git:${commit} (no deployment created)`);
    const json = await decisionsAsOperator(['--group', `${application}/release-stop`, '--since', '24h', '--json']);
    expect(json.out.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ kind: 'gate', jobId: execution.jobs[0], pipelineExecutionId: execution.executionId, revision: `git:${commit}`, gateOutcome: 'fail', cut: RISKY, outcome: 'not deployed', deploymentIds: [] }),
    ]);
  });

  it("a PutJobFailureResult applied but its response lost: Lambda's retry tells the recorded decision again, CodePipeline answers InvalidJobState, nothing else changes", async () => {
    const commit = '9'.repeat(40);
    standIns.codePipeline.loseNextResponse = true;
    const calls = standIns.codePipeline.calls.length;
    const execution = await release(stopGroup, commit);
    const [jobId] = execution.jobs;
    expect(execution.status).toBe('Failed');
    expect(execution.message).toContain(`Deploy Guard stopped release git:${commit}`);
    expect(standIns.codePipeline.calls.slice(calls)).toEqual([
      { api: 'PutJobFailureResult', jobId, accepted: true },
      { api: 'PutJobFailureResult', jobId, accepted: false },
    ]);
    expect(gateEvents(jobId)).toHaveLength(1);
    expect(await standIns.stores.gates.readJob(jobId)).toMatchObject({ outcome: 'fail', announced: true, answered: { accepted: false, message: expect.stringContaining('InvalidJobState') } });
    expect(deadLetters).toEqual([]);
  });

  it("a release the gate passes is deployed; its START is assessed with the gate linked, and with the group's cut tightened since it is not stopped again for the same risk", async () => {
    const commit = 'b'.repeat(40);
    const execution = await standIns.codePipeline.startExecution({ application, deploymentGroup: safeGroup.deploymentGroup, platform: 'Server', commitId: commit });
    expect(execution.status).toBe('Succeeded');
    expect(execution.message).toMatch(new RegExp(`^Deploy Guard passed release git:${commit} of ${application}/release-safe: risk 0\\.\\d{3} < 1\\.000$`));
    const deploymentId = execution.deploymentId!;
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'InProgress', revision: { commitId: commit } });

    // The START reaches predict after the group's cut became one every release reaches.
    (safeGroup as { threshold: number }).threshold = RISKY;
    try {
      await drainBuses(standIns.buses);
    } finally {
      (safeGroup as { threshold: number }).threshold = SAFE;
    }
    const assessment = (await standIns.stores.deployments.get(deploymentId))?.assessment;
    expect(assessment).toMatchObject({ trigger: 'START', decision: 'rollback', enforced: false, propensity: 1, gate: { jobId: execution.jobs[0], passedBy: 'assessment', letThrough: true, pipelineExecutionId: execution.executionId } });
    expect(assessment?.gate?.probability).toBe(assessment?.probability);
    expect(codeDeployCalls(deploymentId)).toEqual([]);
    expect(busEvents.some((event) => event['detail-type'] === 'Deployment Rollback Requested' && (event.detail as { deploymentId: string }).deploymentId === deploymentId)).toBe(false);
    expect(await standIns.stores.gates.readPass(application, `git:${commit}`)).toMatchObject({ jobId: execution.jobs[0], deploymentIds: [deploymentId] });

    standIns.clock.advanceBy(10 * MINUTE);
    standIns.codeDeploy.finish(deploymentId, false);
    await drainBuses(standIns.buses);
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome?.label).toBe('succeeded');
    expect(deadLetters).toEqual([]);
  });

  it('a held release waits at the gate (continuation) until `approve --pipeline-job`; then the Deploy stage runs and at READY it is not held again: ContinueDeployment', async () => {
    const commit = 'c'.repeat(40);
    const counted = { assessments: decisionCount(holdGroup, QUALITY_METRICS.assessments), stops: decisionCount(holdGroup, QUALITY_METRICS.stops) };
    const execution = await release(holdGroup, commit);
    const [jobId] = execution.jobs;
    expect(execution.status).toBe('InProgress');
    expect(execution.continuation).toEqual({ token: jobId, at: standIns.clock.now() + MINUTE });
    expect(execution.message).toContain(`deploy-guard approve --environment dev --pipeline-job ${jobId} --reason "..."`);
    expect(await standIns.stores.holds.read(gateHoldId(jobId))).toMatchObject({ pipelineJobId: jobId, application, deploymentGroup: 'release-hold', onTimeout: 'reject', until: standIns.clock.now() + 25 * MINUTE });
    expect(gateEvents(jobId)).toEqual([expect.objectContaining({ outcome: 'hold', hold: { until: eventBridgeTime(standIns.clock.now() + 25 * MINUTE), onTimeout: 'reject' } })]);
    expect(standIns.notifications.published.at(-1)?.body).toContain(`--pipeline-job ${jobId}`);

    standIns.clock.advanceBy(MINUTE);
    await standIns.codePipeline.resume();
    expect(execution.status).toBe('InProgress');
    expect(execution.jobs).toHaveLength(2);
    expect(execution.message).toContain('still holds');
    expect(startsOf(holdGroup)).toEqual([]);

    const approved = await operator('approve', ['--pipeline-job', jobId]);
    expect(approved.code).toBe(0);
    expect(approved.out).toContain(`${gateHoldId(jobId)} of ${application}/release-hold approved by ${OPERATOR}`);
    standIns.clock.advanceBy(MINUTE);
    await standIns.codePipeline.resume();
    expect(execution.status).toBe('Succeeded');
    expect(execution.message).toContain(`was approved by ${OPERATOR}`);
    expect(gateEvents(jobId).at(-1)).toMatchObject({ outcome: 'pass', settled: { action: 'approve', by: OPERATOR } });

    const deploymentId = execution.deploymentId!;
    await drainBuses(standIns.buses);
    standIns.clock.advanceBy(5 * MINUTE);
    standIns.codeDeploy.reachReady(deploymentId);
    await drainBuses(standIns.buses);
    expect((await standIns.stores.deployments.get(deploymentId))?.assessment).toMatchObject({ trigger: 'READY', enforced: false, gate: { jobId, passedBy: 'approval', letThrough: true } });
    expect(await standIns.stores.holds.read(deploymentId)).toBeUndefined();
    expect(codeDeployCalls(deploymentId)).toEqual(['ContinueDeployment']);
    // One release, one decision: the hold counted it as an assessment and a stop and put its score
    // in the cut window; the approved deployment's READY adds neither again.
    expect(decisionCount(holdGroup, QUALITY_METRICS.assessments) - counted.assessments).toBe(1);
    expect(decisionCount(holdGroup, QUALITY_METRICS.stops) - counted.stops).toBe(1);
    const window = await pooledWindow();
    expect(window.filter((id) => id === gateReleaseKey(jobId))).toHaveLength(1);
    expect(window).not.toContain(deploymentId);
    expect(deadLetters).toEqual([]);
  });

  it('a held release rejected with `reject --pipeline-job` fails at its next invocation; no deployment', async () => {
    const commit = 'd'.repeat(40);
    const deploymentEvents = startsOf(holdGroup).length;
    const execution = await release(holdGroup, commit);
    const [jobId] = execution.jobs;
    expect((await operator('reject', ['--pipeline-job', jobId])).code).toBe(0);
    expect((await operator('approve', ['--pipeline-job', jobId])).code).toBe(1);
    standIns.clock.advanceBy(MINUTE);
    await standIns.codePipeline.resume();
    expect(execution.status).toBe('Failed');
    expect(execution.message).toContain(`Deploy Guard's hold of release git:${commit} of ${application}/release-hold was rejected by ${OPERATOR}`);
    expect(execution.deploymentId).toBeUndefined();
    expect(startsOf(holdGroup)).toHaveLength(deploymentEvents);
    expect(deadLetters).toEqual([]);
  });

  it("nobody decides a held release: the invocation after the hold's time settles it by the group's onHoldTimeout (reject)", async () => {
    const execution = await release(holdGroup, 'f'.repeat(40));
    const [jobId] = execution.jobs;
    standIns.clock.advanceBy(25 * MINUTE);
    await standIns.codePipeline.resume();
    expect(execution.status).toBe('Failed');
    expect(execution.message).toContain("was rejected by the hold's timeout");
    expect(await standIns.stores.holds.read(gateHoldId(jobId))).toMatchObject({ settled: { action: 'reject', cause: 'timeout', answer: { ok: true } } });
    expect(deadLetters).toEqual([]);
  });

  it("an operator's override of a release lets the gate pass it, and its deployment proceeds", async () => {
    const commit = 'e'.repeat(40);
    expect((await operator('override', ['--application', application, '--revision', `git:${commit}`])).code).toBe(0);
    const execution = await release(stopGroup, commit);
    expect(execution.status).toBe('Succeeded');
    expect(execution.message).toContain(`let through by an operator's override (${OPERATOR}: override: reviewed by the release manager)`);
    const deploymentId = execution.deploymentId!;
    expect((await standIns.stores.deployments.get(deploymentId))?.assessment).toMatchObject({ enforced: false, override: { kind: 'override', by: OPERATOR }, gate: { jobId: execution.jobs[0], passedBy: 'override' } });
    expect(codeDeployCalls(deploymentId)).toEqual([]);
    expect(deadLetters).toEqual([]);
  });
});
