import type { BusEvent } from '../../events/bus';
import { BakeAnnouncementHeldError } from '../../handlers/bake';
import { ENV, type GroupPolicy } from '../../handlers/config';
import { QUALITY_DIMENSIONS } from '../../handlers/quality-metrics';
import { FaultInjector, type FaultOptions } from '../../local/faults';
import type { LocalHandlers } from '../../local/handler-composition';
import { drainBuses, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import type { StandIns } from '../../local/stand-ins';
import type { Wiring } from '../../local/terraform-wiring';
import { groupMetricAlarmName } from '../../stacks/config';
import { bootLocalRuntime, DEV_PREFIX, devStack, writeShippedConfig } from '../support/local-e2e';
import { scratchDirs } from '../support/temp-dirs';
import { advanceTo } from '../support/virtual-time';

/**
 * The bake tier end to end on the local runtime: the real handlers on the wiring of a dev stack
 * synthesized with baking groups (its bake rules, its one-minute sweep schedule and the groups'
 * CloudWatch alarms created from a metric), the shipped first model serving. The local CloudWatch
 * evaluates the group's alarm from the datapoints put here, and its state change reaches the bake
 * handler through the stack's rule. Stop cuts are fixed out of reach (0.9999): nothing is stopped up
 * front; the bake cut decides which deployment bakes.
 */
const tempDir = scratchDirs('bake-e2e');
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const PREFIX = DEV_PREFIX;
const ERRORS = { namespace: 'Checkout', metricName: 'Http5xx' };

/** A group with one alarm the stack creates on `<app>`'s 5xx count, and the given bake cut. */
function bakingGroup(application: string, platform: 'Server' | 'ECS' | 'Lambda', bakeThreshold: number) {
  return {
    application,
    deploymentGroup: `${application}-prod`,
    platform,
    mode: 'stop',
    threshold: 0.9999,
    existing: true,
    alarms: { metrics: [{ ...ERRORS, dimensions: { Service: application }, threshold: 5 }] },
    bake: { threshold: bakeThreshold, minutes: 30 },
  };
}

const CONFIGURED = [bakingGroup('checkout', 'Server', 0.0001), bakingGroup('payments', 'ECS', 0.0001), bakingGroup('ledger', 'Lambda', 0.999)];

function synthesizeBakingStack(): { readonly wiring: Wiring; readonly groups: GroupPolicy[] } {
  return devStack(writeShippedConfig(tempDir(), (config) => {
    config.environments = { dev: { ...config.environments.dev, groups: CONFIGURED } };
  }));
}

describe('the bake tier on the local runtime (real handlers, synthesized wiring)', () => {
  const { wiring, groups } = synthesizeBakingStack();
  let standIns: StandIns;
  let handlers: LocalHandlers;
  let busEvents: BusEvent[];
  let deadLetters: DeadLetterWithEvent[];

  let metricsNamespace: string;

  /** The local runtime: the stand-ins, the handlers composed on the stack's wiring over them (decorated with `faults`, if any), its rules and schedules. */
  const boot = async (faults?: FaultInjector) => {
    busEvents = [];
    const alarmNames = new Set(groups.flatMap((group) => group.alarmNames ?? []));
    const alarms = wiring.alarms.filter((alarm) => alarmNames.has(alarm.alarmName));
    const runtime = await bootLocalRuntime({ wiring, groups, start: START, alarms, faults, schedulesUntil: START + 3 * 60 * MINUTE, scratchDir: tempDir() });
    ({ standIns, handlers, deadLetters } = runtime);
    metricsNamespace = runtime.environmentOf('bake')[ENV.metricsNamespace]!;
    standIns.buses.default.onEvent((event) => busEvents.push(event));
    standIns.buses.custom.onEvent((event) => busEvents.push(event));
  };
  beforeEach(() => boot());
  afterEach(() => standIns.close());

  /** The virtual clock moves on by `ms`, firing the schedules (the one-minute sweep) and delivering what they cause. */
  const advance = (ms: number) => advanceTo(standIns, standIns.clock.now() + ms);
  const start = async (application: string) => {
    const group = groups.find((candidate) => candidate.application === application)!;
    const { deploymentId } = standIns.codeDeploy.createDeployment({ application, deploymentGroup: group.deploymentGroup, platform: group.platform, revision: { commitId: application[0]!.repeat(40) } });
    await drainBuses(standIns.buses);
    return deploymentId;
  };
  /** CodeDeploy invokes the traffic-hook function for a lifecycle hook, as the AppSpec names it for both. */
  const hook = async (deploymentId: string, event: 'BeforeAllowTraffic' | 'AfterAllowTraffic') => {
    const invocation = standIns.codeDeploy.invokeHook(deploymentId, event);
    expect(invocation).toBeDefined();
    const result = await handlers['traffic-hook'](invocation as unknown as BusEvent);
    await drainBuses(standIns.buses);
    return result;
  };
  /** The application's service answers 5xx: its alarm's metric, evaluated by the local CloudWatch at the next period. */
  const serverErrors = async (application: string, count: number) => {
    standIns.cloudWatch.putDatapoints([{ ...ERRORS, dimensions: { Service: application }, timestamp: standIns.clock.now(), value: count, unit: 'Count' }]);
    await advance(MINUTE);
    standIns.cloudWatch.evaluate(standIns.clock.now());
    await drainBuses(standIns.buses);
  };
  const alarmOf = (application: string) => groupMetricAlarmName(PREFIX, { application, deploymentGroup: `${application}-prod` }, 0);
  const calls = (deploymentId: string) => standIns.codeDeploy.callLog.filter((call) => call.deploymentId === deploymentId);
  const bakePasses = (deploymentId: string) => busEvents.filter((event) => event['detail-type'] === 'Deployment Bake Passed' && (event.detail as { deploymentId: string }).deploymentId === deploymentId);
  const bakeRollbacks = (deploymentId: string) => busEvents.filter((event) => event['detail-type'] === 'Deployment Bake Rolled Back' && (event.detail as { deploymentId: string }).deploymentId === deploymentId);
  const messagesAbout = (deploymentId: string) => standIns.notifications.published.filter((message) => message.body.includes(deploymentId));
  const rollbackFailures = (deploymentId: string) => busEvents.filter((event) => event['detail-type'] === 'Deployment Rollback Failed' && (event.detail as { deploymentId: string }).deploymentId === deploymentId);
  /** The bake function's count of a metric for the application's group over the run. */
  const bakeCount = (application: string, metricName: string) =>
    standIns.cloudWatch.statistic({ namespace: metricsNamespace, metricName, dimensions: { [QUALITY_DIMENSIONS.application]: application, [QUALITY_DIMENSIONS.deploymentGroup]: `${application}-prod` }, stat: 'Sum', unit: 'Count' }, START, 3 * 3600);
  const alarmEvents = (application: string) => busEvents.filter((event) => event['detail-type'] === 'CloudWatch Alarm State Change' && (event.detail as { alarmName: string; state: { value: string } }).alarmName === alarmOf(application) && (event.detail as { state: { value: string } }).state.value === 'ALARM');

  it('EC2 (Server): the alarm raised during the bake rolls the deployment back exactly once (StopDeployment), and record-outcome labels it an observed failure', async () => {
    const deploymentId = await start('checkout');
    const assessment = (await standIns.stores.deployments.get(deploymentId))?.assessment;
    expect(assessment).toMatchObject({ decision: 'proceed', enforced: true, tier: 'bake', bake: { cut: 0.0001, minutes: 30, alarms: [alarmOf('checkout')] } });
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([expect.objectContaining({ deploymentId, state: 'baking', endsAt: assessment!.assessedAt + 30 * MINUTE })]);

    await advance(10 * MINUTE);
    await serverErrors('checkout', 12);
    expect(alarmEvents('checkout')).toHaveLength(1);

    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'StopDeployment' });
    expect(calls(deploymentId)).toEqual([{ api: 'StopDeployment', deploymentId, accepted: true }]);
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'rolled-back', alarmName: alarmOf('checkout') });
    const outcome = (await standIns.stores.deployments.get(deploymentId))?.outcome;
    expect(outcome).toMatchObject({ state: 'STOP', label: 'failed' });

    // The alarm's event delivered again, the alarm staying in ALARM through the sweeps: nothing more is asked of CodeDeploy.
    await handlers.bake(alarmEvents('checkout')[0]!);
    await serverErrors('checkout', 20);
    await advance(30 * MINUTE);
    expect(calls(deploymentId)).toHaveLength(1);
    expect(deadLetters).toEqual([]);

    // Announced on Deploy Guard's bus and told by notify, each exactly once.
    expect(bakeRollbacks(deploymentId).map((event) => event.detail)).toEqual([
      expect.objectContaining({ deploymentId, application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', alarmName: alarmOf('checkout'), action: 'StopDeployment', bakeMinutes: 30 }),
    ]);
    const messages = messagesAbout(deploymentId);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ topicArn: 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications', subject: `Deploy Guard rolled back ${deploymentId} of checkout/checkout-prod: an alarm during its bake` });
    expect(messages[0]!.body).toContain(`Alarm:       ${alarmOf('checkout')}`);
    expect(messages[0]!.body).toContain(`Deployment ${deploymentId} of checkout/checkout-prod was risky enough to be baked`);
    expect(messages[0]!.body).toContain('so Deploy Guard stopped it with automatic rollback: CodeDeploy rolls it back to the previous version.');
    expect(messages[0]!.body).toContain(`https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/${deploymentId}?region=us-east-1`);
  });

  /**
   * A baking EC2 deployment CodeDeploy completed before its alarm went off (its rollback is refused:
   * DeploymentAlreadyCompleted): the refusal is announced once as Deployment Rollback Failed, with the
   * bake, and told once, however often the alarm's event comes and the sweeps run.
   */
  const completedBeforeItsAlarm = async () => {
    const deploymentId = await start('checkout');
    await advance(10 * MINUTE);
    standIns.codeDeploy.finish(deploymentId, false);
    await drainBuses(standIns.buses);
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('Succeeded');
    await serverErrors('checkout', 12);
    expect(alarmEvents('checkout')).toHaveLength(1);
    // The alarm's event delivered again, the alarm staying in ALARM through the sweeps past the window.
    await handlers.bake(alarmEvents('checkout')[0]!);
    await serverErrors('checkout', 20);
    await advance(30 * MINUTE);
    return deploymentId;
  };
  const expectRefusalToldOnce = async (deploymentId: string) => {
    expect(calls(deploymentId).filter((call) => call.accepted)).toEqual([]);
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'not-done', refusal: 'DeploymentAlreadyCompleted', alarmName: alarmOf('checkout'), announcedAt: expect.any(Number) });
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(bakeRollbacks(deploymentId)).toEqual([]);
    expect(rollbackFailures(deploymentId).map((event) => event.detail)).toEqual([
      {
        schemaVersion: '1',
        deploymentId,
        application: 'checkout',
        deploymentGroup: 'checkout-prod',
        reason: 'DeploymentAlreadyCompleted',
        message: `The deployment ${deploymentId} is already completed.`,
        failedAt: expect.any(String),
        bake: { platform: 'Server', alarmName: alarmOf('checkout'), action: 'StopDeployment', minutes: 30, openedAt: expect.any(String) },
      },
    ]);
    const messages = messagesAbout(deploymentId);
    expect(messages.map((message) => [message.topicArn, message.subject])).toEqual([
      ['arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications', `Bake rollback refused: ${deploymentId} of checkout/checkout-prod (DeploymentAlreadyCompleted)`],
    ]);
    const body = messages[0]!.body;
    expect(body).toContain(`when the alarm ${alarmOf('checkout')} went to ALARM. Deploy Guard asked CodeDeploy to stop it with automatic rollback (StopDeployment), and CodeDeploy refused (DeploymentAlreadyCompleted): the deployment was NOT rolled back.`);
    expect(body).toContain(`CodeDeploy: refused: DeploymentAlreadyCompleted: The deployment ${deploymentId} is already completed.`);
    expect(body).toContain('aws deploy create-deployment --application-name checkout --deployment-group-name checkout-prod --region us-east-1 --revision');
    expect(bakeCount('checkout', 'BakesNotClosed')).toBe(1);
    expect(bakeCount('checkout', 'BakeRollbacks')).toBeUndefined();
  };

  it('EC2 (Server): an alarm on a deployment CodeDeploy already completed: the refused rollback is announced once (Deployment Rollback Failed, with the bake) and told once, the alarm again and the sweeps adding nothing', async () => {
    const deploymentId = await completedBeforeItsAlarm();
    expect(calls(deploymentId)).toEqual([{ api: 'StopDeployment', deploymentId, accepted: false }]);
    await expectRefusalToldOnce(deploymentId);
  });

  it.each([
    ['every first write of the book answered as lost (applied)', { lostBakeBookAnswerRate: 1 }, 'lostAnswers'],
    ['the function dying right after CodeDeploy refused the stop (its answer lost)', { crashRate: 1, crashSteps: /^CodeDeploy StopDeployment/ }, 'crashes'],
    ['the function dying right after the refusal is kept, before it is announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*\(not-done\)$/ }, 'crashes'],
    ['the function dying right after the refusal is marked announced, before the book lets the bake go', { crashRate: 1, crashSteps: /^keeping the closed bake .*announced\)$/ }, 'crashes'],
    ['the announcement refused by PutEvents after the publisher\'s retries (PublishError)', { publishFailureRate: 1 }, 'publishFailures'],
  ] as const)("EC2 (Server): the refused rollback with %s: Lambda's retries announce it and tell it once", async (_fault, options, injected) => {
    await standIns.close();
    const faults = new FaultInjector({ seed: 11, ...options });
    await boot(faults);
    const deploymentId = await completedBeforeItsAlarm();
    expect(faults.stats[injected]).toBeGreaterThanOrEqual(1);
    await expectRefusalToldOnce(deploymentId);
  });

  /**
   * The alarm's event reaching the bake function as two invocations at the same moment (two deliveries
   * of one event): one announces, the other, finding it announcing, publishes nothing and fails, and
   * Lambda retries it once the race is over (in AWS a minute later, past the lease).
   */
  const raceAlarmDeliveries = () => {
    const bake = handlers.bake;
    const heldOff: unknown[] = [];
    handlers.bake = async (event) => {
      if (event['detail-type'] !== 'CloudWatch Alarm State Change') return bake(event);
      const settled = await Promise.allSettled([bake(event), bake(structuredClone(event))]);
      for (const outcome of settled) {
        if (outcome.status === 'fulfilled') continue;
        if (!(outcome.reason instanceof BakeAnnouncementHeldError)) throw outcome.reason;
        heldOff.push(outcome.reason);
        standIns.clock.advanceBy(MINUTE);
        await bake(event);
      }
      return settled.find((outcome) => outcome.status === 'fulfilled')?.value;
    };
    return heldOff;
  };

  it('EC2 (Server): two deliveries of the alarm\'s event at the same moment: rolled back once, announced once and told once', async () => {
    const heldOff = raceAlarmDeliveries();
    const deploymentId = await start('checkout');
    await advance(10 * MINUTE);
    await serverErrors('checkout', 12);
    await advance(30 * MINUTE);
    expect(heldOff).toHaveLength(1);
    expect(calls(deploymentId).filter((call) => call.accepted)).toEqual([{ api: 'StopDeployment', deploymentId, accepted: true }]);
    expect(bakeRollbacks(deploymentId)).toHaveLength(1);
    expect(rollbackFailures(deploymentId)).toEqual([]);
    expect(messagesAbout(deploymentId).map((message) => message.subject)).toEqual([`Deploy Guard rolled back ${deploymentId} of checkout/checkout-prod: an alarm during its bake`]);
    expect(deadLetters).toEqual([]);
  });

  it('EC2 (Server): two deliveries of the alarm\'s event at the same moment on a deployment CodeDeploy completed: the refusal announced once and told once', async () => {
    const heldOff = raceAlarmDeliveries();
    const deploymentId = await completedBeforeItsAlarm();
    expect(heldOff).toHaveLength(1);
    await expectRefusalToldOnce(deploymentId);
  });

  /**
   * A baking EC2 deployment whose rollback keeps failing with an error that is not a refusal
   * (StopDeployment denied: the bake function's role lacks it): the error is announced once as
   * Deployment Rollback Failed (reason Error, with the bake) and told once, and nothing retries it:
   * not the alarm's event again, not the sweeps past the window.
   */
  const deniedRollback = async (options: Omit<FaultOptions, 'seed' | 'rollbackErrors'> = {}) => {
    await standIns.close();
    const faults = new FaultInjector({ seed: 11, rollbackErrors: { error: 'AccessDeniedException' }, ...options });
    await boot(faults);
    const deploymentId = await start('checkout');
    await advance(10 * MINUTE);
    await serverErrors('checkout', 12);
    expect(alarmEvents('checkout')).toHaveLength(1);
    const triedBeforeTheSweeps = faults.stats.codeDeployErrors;
    await handlers.bake(alarmEvents('checkout')[0]!);
    await serverErrors('checkout', 20);
    await advance(30 * MINUTE);
    // Tried on the alarm's event (and the retry after a crash), never again: no sweep takes it over.
    expect(faults.stats.codeDeployErrors).toBe(triedBeforeTheSweeps);
    return { deploymentId, faults };
  };
  const expectErrorToldOnce = async (deploymentId: string) => {
    const error = `AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/deploy-guard/function is not authorized to perform: codedeploy:StopDeployment on resource: the deployment group of ${deploymentId} (injected fault)`;
    expect(calls(deploymentId)).toEqual([]);
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('InProgress');
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'not-done', error, alarmName: alarmOf('checkout'), announcedAt: expect.any(Number) });
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(bakeRollbacks(deploymentId)).toEqual([]);
    expect(rollbackFailures(deploymentId).map((event) => event.detail)).toEqual([
      {
        schemaVersion: '1',
        deploymentId,
        application: 'checkout',
        deploymentGroup: 'checkout-prod',
        reason: 'Error',
        message: error,
        failedAt: expect.any(String),
        bake: { platform: 'Server', alarmName: alarmOf('checkout'), action: 'StopDeployment', minutes: 30, openedAt: expect.any(String) },
      },
    ]);
    const messages = messagesAbout(deploymentId);
    expect(messages.map((message) => [message.topicArn, message.subject])).toEqual([
      ['arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications', `Bake rollback failed: ${deploymentId} of checkout/checkout-prod (Error)`],
    ]);
    const body = messages[0]!.body;
    expect(body).toContain(`Deploy Guard asked CodeDeploy to stop it with automatic rollback (StopDeployment), and the call failed: the deployment could not be rolled back: ${error}. It was NOT rolled back.`);
    expect(body).toContain(`aws deploy stop-deployment --deployment-id ${deploymentId} --auto-rollback-enabled --region us-east-1`);
    expect(bakeCount('checkout', 'BakesNotClosed')).toBe(1);
    expect(bakeCount('checkout', 'BakeRollbacks')).toBeUndefined();
  };

  it('EC2 (Server): a rollback whose StopDeployment is denied every time (AccessDeniedException) is announced once (Deployment Rollback Failed, reason Error, with the bake) and told once; the sweeps stop trying it', async () => {
    const { deploymentId } = await deniedRollback();
    await expectErrorToldOnce(deploymentId);
  });

  it.each([
    ['the function dying right after the failure is kept, before it is announced', { crashRate: 1, crashSteps: /^keeping the closed bake .*\(not-done\)$/ }, 'crashes'],
    ['the function dying right after the failure is marked announced, before the book lets the bake go', { crashRate: 1, crashSteps: /^keeping the closed bake .*announced\)$/ }, 'crashes'],
    ['every first write of the book answered as lost (applied)', { lostBakeBookAnswerRate: 1 }, 'lostAnswers'],
    ['the announcement refused by PutEvents after the publisher\'s retries (PublishError)', { publishFailureRate: 1 }, 'publishFailures'],
  ] as const)("EC2 (Server): the denied rollback with %s: Lambda's retries announce it and tell it once", async (_fault, options, injected) => {
    const { deploymentId, faults } = await deniedRollback(options);
    expect(faults.stats[injected]).toBeGreaterThanOrEqual(1);
    await expectErrorToldOnce(deploymentId);
  });

  it('EC2 (Server): a rollback throttled twice after the SDK\'s retries, then accepted, rolls the deployment back as usual: Bake Rolled Back announced and told, no failure', async () => {
    await standIns.close();
    const faults = new FaultInjector({ seed: 11, rollbackErrors: { error: 'ThrottlingException', times: 2 } });
    await boot(faults);
    const deploymentId = await start('checkout');
    await advance(10 * MINUTE);
    await serverErrors('checkout', 12);
    await advance(30 * MINUTE);
    expect(faults.stats.codeDeployErrors).toBe(2);
    expect(calls(deploymentId)).toEqual([{ api: 'StopDeployment', deploymentId, accepted: true }]);
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'StopDeployment' });
    expect(bakeRollbacks(deploymentId)).toHaveLength(1);
    expect(rollbackFailures(deploymentId)).toEqual([]);
    expect(messagesAbout(deploymentId).map((message) => message.subject)).toEqual([`Deploy Guard rolled back ${deploymentId} of checkout/checkout-prod: an alarm during its bake`]);
    expect(bakeCount('checkout', 'BakeRollbacks')).toBe(1);
    expect(bakeCount('checkout', 'BakesNotClosed')).toBeUndefined();
    expect(deadLetters).toEqual([]);
  });

  it('ECS: a rollback whose AfterAllowTraffic hook status (Failed) is denied every time is announced once, with the hook as what was asked, and told once', async () => {
    await standIns.close();
    const faults = new FaultInjector({ seed: 11, rollbackErrors: { error: 'AccessDeniedException' } });
    await boot(faults);
    const deploymentId = await start('payments');
    await advance(5 * MINUTE);
    // BeforeAllowTraffic's Succeeded is not a rollback: the fault lets it through.
    await expect(hook(deploymentId, 'BeforeAllowTraffic')).resolves.toMatchObject({ status: 'succeeded' });
    await advance(MINUTE);
    await expect(hook(deploymentId, 'AfterAllowTraffic')).resolves.toMatchObject({ status: 'baking' });
    await advance(5 * MINUTE);
    await serverErrors('payments', 9);
    await advance(40 * MINUTE);
    expect(faults.stats.codeDeployErrors).toBe(1);
    expect(calls(deploymentId)).toEqual([{ api: 'PutLifecycleEventHookExecutionStatus', deploymentId, accepted: true }]);
    expect(rollbackFailures(deploymentId).map((event) => event.detail)).toEqual([
      expect.objectContaining({ reason: 'Error', message: expect.stringContaining('not authorized to perform: codedeploy:PutLifecycleEventHookExecutionStatus'), bake: expect.objectContaining({ platform: 'ECS', action: 'LifecycleHookFailed' }) }),
    ]);
    const messages = messagesAbout(deploymentId);
    expect(messages.map((message) => message.subject)).toEqual([`Bake rollback failed: ${deploymentId} of payments/payments-prod (Error)`]);
    expect(messages[0]!.body).toContain('Deploy Guard asked CodeDeploy to fail its AfterAllowTraffic hook, which rolls it back, and the call failed: the deployment could not be rolled back: AccessDeniedException');
    expect(messages[0]!.body).toContain(`aws deploy stop-deployment --deployment-id ${deploymentId} --auto-rollback-enabled --region us-east-1`);
    expect(bakeCount('payments', 'BakesNotClosed')).toBe(1);
    expect(deadLetters).toEqual([]);
  });

  it('ECS: the alarm raised during the bake fails the AfterAllowTraffic hook, once; the deployment is rolled back and labelled failed', async () => {
    const deploymentId = await start('payments');
    expect((await standIns.stores.deployments.get(deploymentId))?.assessment).toMatchObject({ decision: 'proceed', tier: 'bake' });
    await advance(5 * MINUTE);
    await expect(hook(deploymentId, 'BeforeAllowTraffic')).resolves.toMatchObject({ status: 'succeeded' });
    await advance(MINUTE);
    const after = await hook(deploymentId, 'AfterAllowTraffic');
    expect(after).toMatchObject({ status: 'baking', endsAt: standIns.clock.now() + 30 * MINUTE });

    await advance(5 * MINUTE);
    await serverErrors('payments', 9);
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'Stopped', stoppedBy: 'LifecycleHookFailed', hooks: { AfterAllowTraffic: { status: 'Failed' } } });
    expect(calls(deploymentId)).toEqual([
      { api: 'PutLifecycleEventHookExecutionStatus', deploymentId, accepted: true },
      { api: 'PutLifecycleEventHookExecutionStatus', deploymentId, accepted: true },
    ]);
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome).toMatchObject({ state: 'STOP', label: 'failed' });

    await handlers.bake(alarmEvents('payments')[0]!);
    await advance(40 * MINUTE);
    expect(calls(deploymentId)).toHaveLength(2);
    expect(deadLetters).toEqual([]);
    expect(bakeRollbacks(deploymentId).map((event) => event.detail)).toEqual([expect.objectContaining({ deploymentId, platform: 'ECS', alarmName: alarmOf('payments'), action: 'LifecycleHookFailed' })]);
    expect(messagesAbout(deploymentId).map((message) => message.subject)).toEqual([`Deploy Guard rolled back ${deploymentId} of payments/payments-prod: an alarm during its bake`]);
    expect(messagesAbout(deploymentId)[0]!.body).toContain('so Deploy Guard failed its AfterAllowTraffic hook');
  });

  it('ECS: a deployment in the bake tier that fails before its traffic moves ends its bake (the rule on its FAILURE); the alarm after it rolls nothing back and announces no failed rollback', async () => {
    const deploymentId = await start('payments');
    expect((await standIns.stores.deployments.get(deploymentId))?.assessment).toMatchObject({ decision: 'proceed', tier: 'bake' });
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([expect.objectContaining({ deploymentId, endsAt: null })]);
    await advance(5 * MINUTE);
    await expect(hook(deploymentId, 'BeforeAllowTraffic')).resolves.toMatchObject({ status: 'succeeded' });
    // The replacement task set never becomes healthy: CodeDeploy fails the deployment, and its AfterAllowTraffic hook never comes.
    standIns.codeDeploy.finish(deploymentId, true);
    await drainBuses(standIns.buses);
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([]);
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'ended', platform: 'ECS' });
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome).toMatchObject({ state: 'FAILURE', label: 'failed' });

    await advance(MINUTE);
    await serverErrors('payments', 9);
    expect(alarmEvents('payments')).toHaveLength(1);
    await advance(40 * MINUTE);
    expect(calls(deploymentId)).toEqual([{ api: 'PutLifecycleEventHookExecutionStatus', deploymentId, accepted: true }]);
    expect(rollbackFailures(deploymentId)).toEqual([]);
    expect(bakeRollbacks(deploymentId)).toEqual([]);
    expect(bakeCount('payments', 'BakesEnded')).toBe(1);
    expect(bakeCount('payments', 'BakesNotClosed')).toBeUndefined();
    expect(messagesAbout(deploymentId).map((message) => message.subject)).toEqual([]);
    expect(deadLetters).toEqual([]);
  });

  it('ECS: a baking deployment with no alarm completes after its window: the sweep reports AfterAllowTraffic Succeeded and announces the pass once (not told)', async () => {
    const deploymentId = await start('payments');
    await advance(5 * MINUTE);
    await hook(deploymentId, 'BeforeAllowTraffic');
    await advance(MINUTE);
    const after = (await hook(deploymentId, 'AfterAllowTraffic')) as { endsAt: number };
    // Its real outcome comes while the hook waits: CodeDeploy completes it only when the hook is answered.
    await advance(10 * MINUTE);
    standIns.codeDeploy.finish(deploymentId, false);
    await drainBuses(standIns.buses);
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('InProgress');

    await advance(after.endsAt - standIns.clock.now() - 1);
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('InProgress');
    await advance(MINUTE);
    expect(standIns.codeDeploy.deployment(deploymentId)).toMatchObject({ status: 'Succeeded', hooks: { AfterAllowTraffic: { status: 'Succeeded' } } });
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'passed' });
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome).toMatchObject({ state: 'SUCCESS', label: 'succeeded' });
    expect(bakePasses(deploymentId).map((event) => event.detail)).toEqual([expect.objectContaining({ platform: 'ECS', action: 'LifecycleHookSucceeded', bakeMinutes: 30, alarmNames: [alarmOf('payments')] })]);
    expect(messagesAbout(deploymentId)).toEqual([]);
    expect(deadLetters).toEqual([]);
  });

  it('EC2 (Server): a baking deployment with no alarm passes when the sweep finds its window over; CodeDeploy is asked nothing', async () => {
    const deploymentId = await start('checkout');
    await advance(31 * MINUTE);
    expect(await standIns.stores.bakes.readClosed(deploymentId)).toMatchObject({ state: 'passed' });
    expect((await standIns.stores.bakes.readBook())?.book.open).toEqual([]);
    standIns.codeDeploy.finish(deploymentId, false);
    await drainBuses(standIns.buses);
    expect((await standIns.stores.deployments.get(deploymentId))?.outcome).toMatchObject({ label: 'succeeded' });
    expect(calls(deploymentId)).toEqual([]);
    // A bake that passed is announced (for a pipeline stage or a dashboard), once, and not told.
    expect(bakePasses(deploymentId).map((event) => event.detail)).toEqual([expect.objectContaining({ platform: 'Server', action: 'None' })]);
    expect(bakeRollbacks(deploymentId)).toEqual([]);
    expect(messagesAbout(deploymentId)).toEqual([]);
  });

  it('Lambda: a deployment below the bake cut is not baked: both hooks are answered Succeeded at once and its alarm rolls nothing back', async () => {
    const deploymentId = await start('ledger');
    const assessment = (await standIns.stores.deployments.get(deploymentId))?.assessment;
    expect(assessment).toMatchObject({ decision: 'proceed', tier: 'none', bake: { cut: 0.999, minutes: 30 } });
    expect(assessment!.probability).toBeLessThan(0.999);
    await advance(5 * MINUTE);
    await expect(hook(deploymentId, 'BeforeAllowTraffic')).resolves.toMatchObject({ status: 'succeeded' });
    await expect(hook(deploymentId, 'AfterAllowTraffic')).resolves.toMatchObject({ status: 'succeeded' });
    expect(await standIns.stores.bakes.readBook()).toBeUndefined();

    await serverErrors('ledger', 50);
    expect(alarmEvents('ledger')).toHaveLength(1);
    standIns.codeDeploy.finish(deploymentId, false);
    await drainBuses(standIns.buses);
    expect(standIns.codeDeploy.deployment(deploymentId)?.status).toBe('Succeeded');
    expect(calls(deploymentId).map((call) => call.api)).toEqual(['PutLifecycleEventHookExecutionStatus', 'PutLifecycleEventHookExecutionStatus']);
    expect(deadLetters).toEqual([]);
  });
});
