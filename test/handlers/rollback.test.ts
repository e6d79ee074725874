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
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, type EmittedEventKind } from '../../events/emitted';
import { EventValidationError } from '../../events/validation';
import { sample } from '../../events/samples';
import { AwsCodeDeploy } from '../../handlers/adapters/codedeploy';
import { EventBridgePublisher, PublishError } from '../../handlers/adapters/event-publisher';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { handler, handleRollbackEvent, rollbackConfigFromEnv, type RollbackDependencies } from '../../handlers/rollback';

const codeDeploy = mockClient(CodeDeployClient);
const eventBridge = mockClient(EventBridgeClient);

const config = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' };
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

const rollbackRequested = (change: Record<string, unknown> = {}) =>
  delivered('Deployment Rollback Requested', { ...requestExample, ...change });
const gateProceed = (change: Record<string, unknown> = {}) =>
  delivered('Deployment Risk Assessed', { ...assessmentExample, decision: 'proceed', probability: 0.1, ...change });

function deploymentIs(status: DeploymentInfo['status'], computePlatform: DeploymentInfo['computePlatform'] = 'Server', creator: DeploymentInfo['creator'] = 'user') {
  codeDeploy.on(GetDeploymentCommand).resolves({
    deploymentInfo: { deploymentId, status, computePlatform, creator, applicationName: 'myApplication', deploymentGroupName: 'myDeploymentGroup' },
  });
}

function dependencies(): RollbackDependencies & { clock: ManualClock } {
  return {
    codeDeploy: new AwsCodeDeploy(new CodeDeployClient({ region: 'us-east-1' })),
    ledger: new InMemoryRollbackLedger(),
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), { sleep: async () => undefined }),
    clock: new ManualClock(NOW),
    config,
  };
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

    await handleRollbackEvent(request, dependencies());

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

    const result = await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies());

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

    await handleRollbackEvent(rollbackRequested({ platform: 'ECS', lifecycleEventHookExecutionId: 'hook-1' }), dependencies());

    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Failed', detail: expect.objectContaining({ reason: 'HookExpired' }) },
    ]);
  });

  it('never stops a rollback deployment (creator codeDeployRollback)', async () => {
    deploymentIs('InProgress', 'Server', 'codeDeployRollback');
    await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies());

    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(publishedDetails()).toEqual([
      { detailType: 'Deployment Rollback Failed', detail: expect.objectContaining({ reason: 'Error', message: expect.stringContaining('is a rollback created by CodeDeploy') }) },
    ]);
  });

  it('announces an error CodeDeploy answers after its retries (access denied) as a Failed event with reason Error', async () => {
    deploymentIs('InProgress');
    const denied = Object.assign(new Error('User is not authorized to perform: codedeploy:StopDeployment'), { name: 'AccessDeniedException' });
    codeDeploy.on(StopDeploymentCommand).rejects(denied);

    await handleRollbackEvent(rollbackRequested({ mode: 'stop' }), dependencies());

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
    const deps = dependencies();

    await handleRollbackEvent(gateProceed(), deps);
    await handleRollbackEvent(gateProceed(), deps);

    expect(codeDeploy).toHaveReceivedCommandTimes(ContinueDeploymentCommand, 1);
    expect(codeDeploy).toHaveReceivedCommandWith(ContinueDeploymentCommand, { deploymentId, deploymentWaitType: 'READY_WAIT' });
    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(eventBridge).not.toHaveReceivedAnyCommand();
  });

  it('makes one decision per deployment: a rollback request after the proceed is a no-op', async () => {
    deploymentIs('Ready');
    const deps = dependencies();

    await handleRollbackEvent(gateProceed(), deps);
    const late = await handleRollbackEvent(rollbackRequested(), deps);

    expect(late).toEqual({ status: 'duplicate', deploymentId, republished: false });
    expect(codeDeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
  });

  it('does not continue a deployment no longer waiting at READY (the wait timed out and stopped it)', async () => {
    deploymentIs('Stopped');
    const result = await handleRollbackEvent(gateProceed(), dependencies());

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
  it('reads the bus and the source, defaulting the source', () => {
    expect(rollbackConfigFromEnv({ DEPLOY_GUARD_EVENT_BUS: 'deploy-guard-dev' })).toEqual({ source: 'deploy-guard', eventBusName: 'deploy-guard-dev' });
    expect(rollbackConfigFromEnv({ DEPLOY_GUARD_EVENT_BUS: 'b', DEPLOY_GUARD_EVENT_SOURCE: 'acme.guard' })).toEqual({ source: 'acme.guard', eventBusName: 'b' });
  });

  it('says which variable is wrong', () => {
    expect(() => rollbackConfigFromEnv({})).toThrow('DEPLOY_GUARD_EVENT_BUS is not set');
    expect(() => rollbackConfigFromEnv({ DEPLOY_GUARD_EVENT_BUS: 'b', DEPLOY_GUARD_EVENT_SOURCE: 'aws.guard' })).toThrow("must not start with 'aws.'");
  });
});

describe('rollback: the Lambda entry', () => {
  const environment = { ...process.env };
  afterEach(() => {
    process.env = { ...environment };
  });

  it('wires module-scope clients from the environment: rejects an invalid event with no call, stops a valid request', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const dynamoDb = mockClient(DynamoDBClient);
    dynamoDb.on(PutItemCommand).resolves({});
    dynamoDb.on(UpdateItemCommand).resolves({});
    process.env.DEPLOY_GUARD_EVENT_BUS = 'deploy-guard-dev';
    process.env.DEPLOY_GUARD_CONTROL_TABLE = 'deploy-guard-dev-control';
    delete process.env.DEPLOY_GUARD_EVENT_SOURCE;
    await expect(handler({ ...rollbackRequested(), detail: {} })).rejects.toThrow(EventValidationError);
    expect(codeDeploy).not.toHaveReceivedAnyCommand();

    deploymentIs('InProgress');
    await expect(handler(rollbackRequested({ mode: 'stop' }))).resolves.toMatchObject({ status: 'done', published: 'Deployment Rollback Completed' });
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId, autoRollbackEnabled: true });
    expect(publishedEntries()).toEqual([expect.objectContaining({ EventBusName: 'deploy-guard-dev', Source: 'deploy-guard' })]);
    expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({ handler: 'rollback', status: 'done', deploymentId });
    // The durable ledger: claimed on the control table before CodeDeploy was called.
    expect(dynamoDb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'deploy-guard-dev-control',
      Item: expect.objectContaining({ key: { S: `rollback#${deploymentId}` }, action: { S: 'StopDeployment' } }),
    });
    log.mockRestore();
    dynamoDb.restore();
  });
});
