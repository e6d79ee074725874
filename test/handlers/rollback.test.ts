import {
  CodeDeployClient,
  ContinueDeploymentCommand,
  DeploymentAlreadyCompletedException,
  DeploymentDoesNotExistException,
  GetDeploymentCommand,
  LifecycleEventAlreadyCompletedException,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, type EmittedEventKind } from '../../events/emitted';
import { EventValidationError } from '../../events/validation';
import { sample } from '../../events/samples';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';
import { EventBridgePublisher, PublishError } from '../../handlers/adapters/event-publisher';
import { toAttribute } from '../../handlers/adapters/dynamodb-attributes';
import { EmfMetrics } from '../../handlers/adapters/emf-metrics';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryHoldStore } from '../../handlers/adapters/in-memory-stores';
import type { GroupPolicy } from '../../handlers/config';
import type { AssessmentRecord } from '../../handlers/ports';
import { labelOutcome } from '../../handlers/record-outcome-domain';
import { storedAssessment } from './assessment-fixture';
import { handler, handleRollbackEvent, rollbackConfigFromEnv, type RollbackDependencies } from '../../handlers/rollback';

const codeDeploy = mockClient(CodeDeployClient);
const eventBridge = mockClient(EventBridgeClient);

const config = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev', accountId: '123456789012', metricsNamespace: 'DeployGuard' };
/** The documented outcome examples were completed at this instant. */
const NOW = '2026-11-20T09:20:07Z';
const requestExample = EMITTED_EVENTS['Deployment Rollback Requested'].example;
const assessmentExample = EMITTED_EVENTS['Deployment Risk Assessed'].example;
/** The deployment the real CodeDeploy SUCCESS sample reports on; the documented examples name it too. */
const successSample = sample('codedeploy-deployment-state-change.success.json').event as { detail: { deploymentId: string } };
const deploymentId = successSample.detail.deploymentId;

/** A Deploy Guard event as EventBridge delivers it to the Lambda. */
function delivered(kind: EmittedEventKind, detail: unknown, source = config.source) {
  const entry = buildEntry(kind, detail as never, { ...config, source });
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: '2026-11-20T09:20:05Z',
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail),
  };
}

/** What predict stores for a stop-mode group: the rollback decided at START. */
const STOP_MODE = { mode: 'stop', trigger: 'START' } as const;
/** What predict stores for a gate group whose deployment may proceed at READY. */
const PROCEED = { decision: 'proceed', probability: 0.1 } as const;

const rollbackRequested = (change: Record<string, unknown> = {}) =>
  delivered('Deployment Rollback Requested', { ...requestExample, ...change });
const gateProceed = (change: Record<string, unknown> = {}) =>
  delivered('Deployment Risk Assessed', { ...assessmentExample, decision: 'proceed', probability: 0.1, ...change });

function deploymentIs(status: DeploymentInfo['status'], computePlatform: DeploymentInfo['computePlatform'] = 'Server', creator: DeploymentInfo['creator'] = 'user') {
  codeDeploy.on(GetDeploymentCommand).resolves({
    deploymentInfo: { deploymentId, status, computePlatform, creator, applicationName: 'myApplication', deploymentGroupName: 'myDeploymentGroup' },
  });
}

/**
 * The handler's collaborators, with predict's stored assessment of the deployment (the documented
 * example, an enforced gate rollback at READY, changed by `stored`) and its group configured in the
 * assessment's mode; null: predict stored nothing.
 */
function dependencies(stored: Partial<AssessmentRecord> | null = {}): RollbackDependencies & { clock: ManualClock; metricLines: () => Record<string, unknown>[] } {
  const assessment = stored === null ? undefined : storedAssessment(stored);
  const lines: string[] = [];
  return {
    codeDeploy: new AwsCodeDeploy(new CodeDeployClient({ region: 'us-east-1' })),
    ledger: new InMemoryRollbackLedger(),
    holds: new InMemoryHoldStore(),
    deployments: { get: async (id) => (assessment && id === assessment.deploymentId ? { deploymentId: id, assessment, trainingRowWritten: false } : undefined) },
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    metrics: new EmfMetrics((line) => lines.push(line)),
    clock: new ManualClock(NOW),
    config: { ...config, groups: [policyOf(assessment ?? storedAssessment())] },
    metricLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The requests' group (myApplication/myDeploymentGroup), configured in the assessment's platform and mode. */
function policyOf(assessment: AssessmentRecord): GroupPolicy {
  const { application, deploymentGroup } = requestExample;
  const { platform, mode } = assessment;
  return { application, deploymentGroup, platform, mode, blockBudget: 0.1, exploration: 0.05, cutScope: 'installation', failurePolicy: 'fail-open' };
}

/** Every entry sent with PutEvents, in order. */
function publishedEntries(): PutEventsRequestEntry[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

function publishedDetails(): { detailType: string | undefined; detail: unknown }[] {
  return publishedEntries().map((entry) => ({ detailType: entry.DetailType, detail: JSON.parse(entry.Detail ?? 'null') }));
}

beforeEach(() => {
  codeDeploy.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  codeDeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
  codeDeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({ lifecycleEventHookExecutionId: 'hook-1' });
  codeDeploy.on(ContinueDeploymentCommand).resolves({});
});

describe('rollback: a Deployment Rollback Requested', () => {
  it('stops the documented example (EC2 blue/green at READY) with auto-rollback and announces the documented Completed event', async () => {
    deploymentIs('Ready');
    const result = await handleRollbackEvent(rollbackRequested(), dependencies());

    expect(codeDeploy).toHaveReceivedCommandWith(GetDeploymentCommand, { deploymentId });
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId, autoRollbackEnabled: true });
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(publishedEntries()).toEqual([
      buildEntry('Deployment Rollback Completed', EMITTED_EVENTS['Deployment Rollback Completed'].example, { ...config, time: new Date(NOW) }),
    ]);
    expect(result).toMatchObject({ status: 'done', deploymentId, published: 'Deployment Rollback Completed' });
  });

  it.each([
    ['Server', 'stop', 'no hook', 'StopDeployment'],
    ['Server', 'gate', 'no hook', 'StopDeployment'],
    ['Server', 'gate', 'hook-1', 'StopDeployment'],
    ['ECS', 'stop', 'no hook', 'StopDeployment'],
    ['ECS', 'gate', 'hook-1', 'LifecycleHookFailed'],
    ['ECS', 'gate', 'no hook', 'StopDeployment'],
    ['Lambda', 'stop', 'no hook', 'StopDeployment'],
    ['Lambda', 'gate', 'hook-1', 'LifecycleHookFailed'],
  ] as const)('%s in %s mode, %s: %s', async (platform, mode, hookId, action) => {
    deploymentIs(mode === 'gate' && platform === 'Server' ? 'Ready' : 'InProgress', platform);
    const request = rollbackRequested({ platform, mode, ...(hookId === 'hook-1' ? { lifecycleEventHookExecutionId: hookId } : {}) });

    await handleRollbackEvent(request, dependencies({ platform, mode, trigger: mode === 'stop' ? 'START' : 'READY' }));

    if (action === 'StopDeployment') {
      expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
      expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId, autoRollbackEnabled: true });
      expect(codeDeploy).not.toHaveReceivedCommand(PutLifecycleEventHookExecutionStatusCommand);
    } else {
      expect(codeDeploy).toHaveReceivedCommandTimes(PutLifecycleEventHookExecutionStatusCommand, 1);
      expect(codeDeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
        deploymentId,
        lifecycleEventHookExecutionId: 'hook-1',
        status: 'Failed',
      });
      expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    }
    expect(codeDeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Completed', detail: { ...EMITTED_EVENTS['Deployment Rollback Completed'].example, action } },
    ]);
  });

  it('stops a deployment once however often the request arrives: one StopDeployment, one Completed event', async () => {
    deploymentIs('Ready');
    const deps = dependencies();

    const results = [];
    for (let delivery = 0; delivery < 3; delivery += 1) {
      results.push(await handleRollbackEvent(rollbackRequested(), deps));
      deps.clock.advanceBy(1_000);
    }

    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandTimes(GetDeploymentCommand, 1);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(results.map((result) => result.status)).toEqual(['done', 'duplicate', 'duplicate']);
  });

  it('does not stop the deployment the real SUCCESS sample reports: announces the documented Failed event (DeploymentAlreadyCompleted)', async () => {
    deploymentIs('Succeeded');
    await handleRollbackEvent(rollbackRequested(), dependencies());

    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedEntries()).toEqual([
      buildEntry('Deployment Rollback Failed', EMITTED_EVENTS['Deployment Rollback Failed'].example, { ...config, time: new Date(NOW) }),
    ]);
  });

  it('reports a deployment already stopped (by a person, or the READY wait timing out) as DeploymentAlreadyStopped', async () => {
    deploymentIs('Stopped');
    await handleRollbackEvent(rollbackRequested(), dependencies());

    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Failed', detail: expect.objectContaining({ reason: 'DeploymentAlreadyStopped' }) },
    ]);
  });

  it('loses a race with completion gracefully: StopDeployment refused as already complete becomes a Failed event, not a crash', async () => {
    codeDeploy
      .on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId, status: 'InProgress', computePlatform: 'Server' } })
      .resolves({ deploymentInfo: { deploymentId, status: 'Succeeded', computePlatform: 'Server' } });
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'The deployment is already complete.', $metadata: {} }));

    const result = await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies(STOP_MODE));

    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'not-done', reason: 'DeploymentAlreadyCompleted' } });
    expect(publishedDetails()).toEqual([
      {
        detailType: 'Deployment Rollback Failed',
        detail: { ...EMITTED_EVENTS['Deployment Rollback Failed'].example, message: 'The deployment is already complete.' },
      },
    ]);
  });

  it('reports a deployment CodeDeploy does not know as DeploymentNotFound, without trying to stop it', async () => {
    codeDeploy.on(GetDeploymentCommand).rejects(new DeploymentDoesNotExistException({ message: 'The deployment d-123456789 does not exist.', $metadata: {} }));
    await handleRollbackEvent(rollbackRequested(), dependencies());

    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedDetails()).toEqual([
      {
        detailType: 'Deployment Rollback Failed',
        detail: expect.objectContaining({ reason: 'DeploymentNotFound', message: 'The deployment d-123456789 does not exist.' }),
      },
    ]);
  });

  it('reports a traffic hook that already completed as HookExpired', async () => {
    deploymentIs('InProgress', 'ECS');
    codeDeploy
      .on(PutLifecycleEventHookExecutionStatusCommand)
      .rejects(new LifecycleEventAlreadyCompletedException({ message: 'The lifecycle event is already completed.', $metadata: {} }));

    await handleRollbackEvent(rollbackRequested({ platform: 'ECS', lifecycleEventHookExecutionId: 'hook-1' }), dependencies({ platform: 'ECS', trigger: 'START' }));

    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Failed', detail: expect.objectContaining({ reason: 'HookExpired' }) },
    ]);
  });

  it('never stops a rollback deployment (creator codeDeployRollback)', async () => {
    deploymentIs('InProgress', 'Server', 'codeDeployRollback');
    await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies(STOP_MODE));

    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Failed', detail: expect.objectContaining({ reason: 'Error', message: expect.stringContaining('is a rollback created by CodeDeploy') }) },
    ]);
  });

  it('announces an error CodeDeploy answers after its retries (access denied) as a Failed event with reason Error', async () => {
    deploymentIs('InProgress');
    const denied = Object.assign(new Error('User is not authorized to perform: codedeploy:StopDeployment'), { name: 'AccessDeniedException' });
    codeDeploy.on(StopDeploymentCommand).rejects(denied);

    await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies(STOP_MODE));

    expect(publishedDetails()).toEqual([
      {
        detailType: 'Deployment Rollback Failed',
        detail: expect.objectContaining({ reason: 'Error', message: 'AccessDeniedException: User is not authorized to perform: codedeploy:StopDeployment' }),
      },
    ]);
  });
});

describe('rollback: publishing the outcome fails (PutEvents partial failure)', () => {
  it('raises the error after stopping exactly once, and the redelivery publishes the recorded outcome without stopping again', async () => {
    deploymentIs('Ready');
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }] });
    const deps = dependencies();

    await expect(handleRollbackEvent(rollbackRequested(), deps)).rejects.toThrow(PublishError);
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    const refused = publishedEntries()[0];

    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-2' }] });
    deps.clock.advanceBy(60_000);
    const redelivery = await handleRollbackEvent(rollbackRequested(), deps);

    expect(redelivery).toEqual({ status: 'duplicate', deploymentId, republished: true });
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    // The same event, at the time the deployment was stopped, not the time it was republished.
    expect(publishedEntries()).toEqual([refused]);

    await handleRollbackEvent(rollbackRequested(), deps);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });
});

describe('rollback: a gate assessment at READY that says proceed (rule gate-proceed)', () => {
  it('continues an EC2 blue/green deployment waiting at READY, once, and publishes nothing', async () => {
    deploymentIs('Ready');
    const deps = dependencies(PROCEED);

    await handleRollbackEvent(gateProceed(), deps);
    await handleRollbackEvent(gateProceed(), deps);

    expect(codeDeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId, deploymentWaitType: 'READY_WAIT' });
    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(eventBridge).not.toHaveReceivedAnyCommand();
    expect(await deps.ledger.read(deploymentId)).toMatchObject({ action: 'ContinueDeployment', attempt: { action: 'ContinueDeployment' }, outcome: { kind: 'completed' } });
  });

  it('two deliveries of the same proceed racing (Lambda runs both): one records the outcome, the other is a duplicate, nothing thrown to retry into the dead-letter queue', async () => {
    deploymentIs('Ready');
    const deps = dependencies(PROCEED);

    const results = await Promise.all([handleRollbackEvent(gateProceed(), deps), handleRollbackEvent(gateProceed(), deps)]);

    expect(results.map((result) => result.status).sort()).toEqual(['done', 'duplicate']);
    expect(await deps.ledger.read(deploymentId)).toMatchObject({ action: 'ContinueDeployment', outcome: { kind: 'completed' } });
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('a rollback request after Deploy Guard let the deployment proceed is announced as failed (DeploymentAlreadyProceeded), never acted on', async () => {
    deploymentIs('Ready');
    const deps = dependencies(PROCEED);
    await handleRollbackEvent(gateProceed(), deps);
    // Only a forged request can follow (predict decided proceed), so it is refused before the ledger;
    // were the stored assessment a rollback, the ledger would still say the proceed acted.
    await expect(handleRollbackEvent(rollbackRequested(), deps)).resolves.toMatchObject({ status: 'refused', reason: 'NotDecided' });

    const acted = dependencies();
    await acted.ledger.claim({ deploymentId, action: 'ContinueDeployment', token: 'earlier/ContinueDeployment', at: Date.parse(NOW) - 2_000 });
    await acted.ledger.recordAttempt(deploymentId, 'earlier/ContinueDeployment', 'ContinueDeployment', Date.parse(NOW) - 1_000);
    const late = await handleRollbackEvent(rollbackRequested(), acted);

    expect(late).toEqual({ status: 'proceeded-already', deploymentId, published: 'Deployment Rollback Failed' });
    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedDetails()).toEqual([
      {
        detailType: 'Deployment Rollback Failed',
        detail: expect.objectContaining({ reason: 'DeploymentAlreadyProceeded', message: `Deploy Guard had already let ${deploymentId} proceed (ContinueDeployment at 2026-11-20T09:20:06Z); it does not stop a deployment it may have let through` }),
      },
    ]);
    expect(await acted.ledger.read(deploymentId)).toMatchObject({ action: 'ContinueDeployment', claimToken: 'earlier/ContinueDeployment' });
  });

  it('does not continue a deployment no longer waiting at READY (the wait timed out and stopped it)', async () => {
    deploymentIs('Stopped');
    const result = await handleRollbackEvent(gateProceed(), dependencies(PROCEED));

    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'not-done', reason: 'DeploymentAlreadyStopped' } });
    expect(codeDeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['the documented example (decision rollback)', delivered('Deployment Risk Assessed', assessmentExample)],
    ['a shadow assessment', gateProceed({ mode: 'shadow', enforced: false })],
    ['an assessment at START', gateProceed({ trigger: 'START' })],
  ])('ignores %s: no AWS call', async (_name, event) => {
    await expect(handleRollbackEvent(event, dependencies())).resolves.toMatchObject({ status: 'ignored' });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });
});

describe('rollback: a valid event that is not what predict decided is refused, counted, and calls nothing', () => {
  const otherAccount = (event: ReturnType<typeof rollbackRequested>) => ({ ...event, account: '210987654321' });

  it.each([
    ['from another account', otherAccount(rollbackRequested()), {}, 'ForeignAccount'],
    ['for a group in shadow mode', rollbackRequested(), { mode: 'shadow', enforced: false }, 'ShadowMode'],
    ['for a group Deploy Guard does not guard', rollbackRequested({ deploymentGroup: 'otherGroup' }), {}, 'UnguardedGroup'],
    ['for a deployment predict let through (its assessment says proceed)', rollbackRequested(), PROCEED, 'NotDecided'],
    ['for a deployment whose rollback predict did not enforce', rollbackRequested(), { enforced: false }, 'NotDecided'],
    ['for a deployment predict assessed in another group', rollbackRequested(), { deploymentGroup: 'otherGroup' }, 'AssessmentMismatch'],
    ['in a mode the group is not configured in', rollbackRequested({ mode: 'stop' }), {}, 'AssessmentMismatch'],
    ['for a deployment predict never assessed', rollbackRequested(), null, 'NoAssessment'],
    ['a forged gate proceed for a deployment predict decided to roll back', gateProceed(), {}, 'NotDecided'],
    ['a forged gate proceed from another account', { ...gateProceed(), account: '210987654321' }, PROCEED, 'ForeignAccount'],
  ] as const)('%s is refused', async (_name, event, stored, reason) => {
    deploymentIs('Ready');
    const deps = dependencies(stored === null ? null : { ...stored });

    const result = await handleRollbackEvent(event, deps);

    expect(result).toMatchObject({ status: 'refused', deploymentId, reason, message: expect.any(String) });
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(eventBridge).not.toHaveReceivedAnyCommand();
    expect(await deps.ledger.read(deploymentId)).toBeUndefined();
    expect(deps.metricLines()).toEqual([
      expect.objectContaining({ _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'DeployGuard/Rollback' })] }), Reason: reason, RollbackRequestsRefused: 1 }),
    ]);
  });

  it('a forged proceed followed by predict\'s genuine rollback: the proceed is refused, the rollback stops the deployment', async () => {
    deploymentIs('Ready');
    const deps = dependencies();

    await expect(handleRollbackEvent(gateProceed(), deps)).resolves.toMatchObject({ status: 'refused', reason: 'NotDecided' });
    const genuine = await handleRollbackEvent({ ...rollbackRequested(), id: 'b8f1c5a0-1111-4c3e-9e0f-2b7d1e3f4a5b' }, deps);

    expect(genuine).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment' }, published: 'Deployment Rollback Completed' });
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(codeDeploy).not.toHaveReceivedCommand(ContinueDeploymentCommand);
  });

  it('a proceed claim that has not acted (it crashed after claiming) never blocks the rollback: superseded, stopped, announced', async () => {
    deploymentIs('Ready');
    const deps = dependencies();
    await deps.ledger.claim({ deploymentId, action: 'ContinueDeployment', token: 'early/ContinueDeployment', at: Date.parse(NOW) - 1_000 });

    const result = await handleRollbackEvent(rollbackRequested(), deps);

    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment' } });
    expect(codeDeploy).toHaveReceivedCommandTimes(StopDeploymentCommand, 1);
    expect(publishedDetails()).toEqual([{ detailType: 'Deployment Rollback Completed', detail: EMITTED_EVENTS['Deployment Rollback Completed'].example }]);
    expect(await deps.ledger.read(deploymentId)).toMatchObject({ action: 'StopDeployment', claimToken: `${delivered('Deployment Rollback Requested', requestExample).id}/StopDeployment`, published: true });
  });
});

describe('rollback: an applied StopDeployment whose answer was lost (F-10)', () => {
  it('the SDK\'s retry refused as already stopped after our recorded attempt: completed (ours), Completed announced, never Failed', async () => {
    codeDeploy
      .on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { deploymentId, status: 'Ready', computePlatform: 'Server', creator: 'user' } })
      .resolves({ deploymentInfo: { deploymentId, status: 'Stopped', computePlatform: 'Server', creator: 'user' } });
    codeDeploy.on(StopDeploymentCommand).rejects(new DeploymentAlreadyCompletedException({ message: 'The deployment is already complete.', $metadata: {} }));
    const deps = dependencies();

    const result = await handleRollbackEvent(rollbackRequested(), deps);

    expect(result).toMatchObject({ status: 'done', outcome: { kind: 'completed', action: 'StopDeployment', recognisedFrom: 'DeploymentAlreadyStopped' } });
    expect(publishedEntries()).toEqual([
      buildEntry('Deployment Rollback Completed', EMITTED_EVENTS['Deployment Rollback Completed'].example, { ...config, time: new Date(NOW) }),
    ]);
    const entry = await deps.ledger.read(deploymentId);
    expect(entry).toMatchObject({ attempt: { action: 'StopDeployment' }, outcome: { kind: 'completed', recognisedFrom: 'DeploymentAlreadyStopped' }, published: true });
    expect(labelOutcome('STOP', entry).label).toBe('counterfactual');
  });
});

describe('rollback: the claim-without-outcome alarm\'s metrics', () => {
  it('dates ClaimsDue at the claim plus five minutes when the claim opens, and ClaimsSettled at the same instant when the outcome is recorded', async () => {
    deploymentIs('Ready');
    const deps = dependencies();
    await handleRollbackEvent(rollbackRequested(), deps);
    await handleRollbackEvent(rollbackRequested(), deps);

    const deadline = Date.parse(NOW) + 5 * 60_000;
    expect(deps.metricLines().map((line) => ({ at: (line._aws as { Timestamp: number }).Timestamp, due: line.RollbackClaimsDue, settled: line.RollbackClaimsSettled }))).toEqual([
      { at: deadline, due: 1, settled: undefined },
      { at: deadline, due: undefined, settled: 1 },
    ]);
  });
});

describe('rollback: an invalid event makes no AWS call (it reaches the dead-letter queue)', () => {
  const withoutDeploymentId = Object.fromEntries(Object.entries(requestExample).filter(([key]) => key !== 'deploymentId'));

  it.each([
    ['a request without deploymentId', { ...rollbackRequested(), detail: { ...withoutDeploymentId, schemaVersion: '2' } }],
    ['a request of another installation', delivered('Deployment Rollback Requested', requestExample, 'someone-else')],
    ['a request with an unknown platform', { ...rollbackRequested(), detail: { ...requestExample, platform: 'Kubernetes' } }],
    ['the real CodeDeploy SUCCESS sample', successSample],
    ['not an event at all', 'StopDeployment d-123456789'],
  ])('%s', async (_name, event) => {
    await expect(handleRollbackEvent(event, dependencies())).rejects.toThrow(EventValidationError);
    expect(codeDeploy).not.toHaveReceivedAnyCommand();
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('names the offending field', async () => {
    const event = { ...rollbackRequested(), detail: { ...withoutDeploymentId, schemaVersion: '2' } };
    await expect(handleRollbackEvent(event, dependencies())).rejects.toThrow(
      'Invalid Deployment Rollback Requested event: detail.deploymentId:',
    );
  });
});

describe('rollback: configuration from the Lambda environment', () => {
  const groups = JSON.stringify([policyOf(storedAssessment())]);
  const env = { DEPLOY_GUARD_EVENT_BUS: 'deploy-guard-dev', DEPLOY_GUARD_ACCOUNT_ID: '123456789012', DEPLOY_GUARD_GROUPS: groups };

  it('reads the bus, the account, the groups, the source and the metrics namespace, with defaults for the last two', () => {
    expect(rollbackConfigFromEnv(env)).toEqual({ ...config, groups: [policyOf(storedAssessment())] });
    expect(rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_EVENT_SOURCE: 'acme.guard', DEPLOY_GUARD_METRICS_NAMESPACE: 'Acme' })).toMatchObject({ source: 'acme.guard', metricsNamespace: 'Acme' });
  });

  it('says which variable is wrong', () => {
    expect(() => rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_EVENT_BUS: '' })).toThrow('DEPLOY_GUARD_EVENT_BUS is not set');
    expect(() => rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_ACCOUNT_ID: '' })).toThrow("DEPLOY_GUARD_ACCOUNT_ID is not set: set it to the installation's 12-digit AWS account id");
    expect(() => rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_ACCOUNT_ID: 'xxxxxxxxxxxx' })).toThrow("DEPLOY_GUARD_ACCOUNT_ID is 'xxxxxxxxxxxx': set it to the installation's 12-digit AWS account id");
    expect(() => rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_GROUPS: '[{}]' })).toThrow('DEPLOY_GUARD_GROUPS');
    expect(() => rollbackConfigFromEnv({ ...env, DEPLOY_GUARD_EVENT_SOURCE: 'aws.guard' })).toThrow("must not start with 'aws.'");
  });
});

describe('rollback: the Lambda entry', () => {
  const environment = { ...process.env };
  afterEach(() => {
    process.env = { ...environment };
  });

  it('wires module-scope clients from the environment: rejects an invalid event with no call, stops a valid request', async () => {
    // The EMF lines (the claim's metrics) and the log line go to stdout.
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const dynamoDb = mockClient(DynamoDBClient);
    dynamoDb.on(UpdateItemCommand).resolves({});
    // predict's stored assessment: an enforced stop-mode rollback of the deployment.
    dynamoDb.on(GetItemCommand, { TableName: 'deploy-guard-dev-deployments' }).resolves({
      Item: { deploymentId: { S: deploymentId }, trainingRowWritten: { BOOL: false }, assessment: toAttribute(storedAssessment(STOP_MODE), 'assessment') },
    });
    process.env.DEPLOY_GUARD_EVENT_BUS = 'deploy-guard-dev';
    process.env.DEPLOY_GUARD_CONTROL_TABLE = 'deploy-guard-dev-control';
    process.env.DEPLOY_GUARD_DEPLOYMENTS_TABLE = 'deploy-guard-dev-deployments';
    process.env.DEPLOY_GUARD_ACCOUNT_ID = '123456789012';
    process.env.DEPLOY_GUARD_GROUPS = JSON.stringify([policyOf(storedAssessment(STOP_MODE))]);
    delete process.env.DEPLOY_GUARD_EVENT_SOURCE;
    await expect(handler({ ...rollbackRequested(), detail: {} })).rejects.toThrow(EventValidationError);
    expect(codeDeploy).not.toHaveReceivedAnyCommand();

    deploymentIs('InProgress');
    await expect(handler(rollbackRequested({ mode: 'stop' }))).resolves.toMatchObject({ status: 'done', published: 'Deployment Rollback Completed' });
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId, autoRollbackEnabled: true });
    expect(publishedEntries()).toEqual([expect.objectContaining({ EventBusName: 'deploy-guard-dev', Source: 'deploy-guard' })]);
    // The durable ledger: claimed on the control table before CodeDeploy was called.
    expect(dynamoDb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'deploy-guard-dev-control',
      Key: { key: { S: `rollback#${deploymentId}` } },
      ExpressionAttributeValues: expect.objectContaining({ ':action': { S: 'StopDeployment' }, ':token': { S: `${rollbackRequested().id}/StopDeployment` } }),
    });
    const lines = stdout.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines.filter((line) => line.handler !== 'rollback')).toEqual([expect.objectContaining({ RollbackClaimsDue: 1 }), expect.objectContaining({ RollbackClaimsSettled: 1 })]);
    // The shared logger (handlers/lambda-entry.ts), keyed by the deployment like every handler's.
    expect(lines.filter((line) => line.handler === 'rollback')).toEqual([expect.objectContaining({ level: 'INFO', status: 'done', deploymentId, correlationId: deploymentId })]);
    stdout.mockRestore();
    dynamoDb.restore();
  });
});
