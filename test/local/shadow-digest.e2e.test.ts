import type { GroupPolicy } from '../../handlers/config';
import { scheduledEvent } from '../../events/schedule';
import { FaultInjector } from '../../local/faults';
import { drainBuses } from '../../local/lambda-delivery';
import { LOCAL_ACCOUNT, type StandIns } from '../../local/stand-ins';
import type { Wiring } from '../../local/terraform-wiring';
import { bootLocalRuntime, DEV_PREFIX, devStack, writeShippedConfig, type EnvironmentJson, type LocalRuntime } from '../support/local-e2e';
import { scratchDirs } from '../support/temp-dirs';
import { advanceTo } from '../support/virtual-time';

/**
 * The shadow digest end to end on the local runtime: the real handlers on the wiring of a dev stack
 * synthesized with two shadow groups, the shipped first model serving. Deployments of a day are
 * assessed in shadow mode (nothing is stopped, nothing is told one by one), some finish, and when the
 * stack's daily schedule fires the shadow-digest function publishes one message on the notification
 * topic with the day's would-be stops and their outcomes, once: a redelivered Scheduled Event (the
 * same, or another id for the same firing) sends nothing more, and a function that dies after claiming
 * the day or after publishing it (SNS's answer lost) is retried by Lambda into at least one message.
 * With `shadow: none` the stack has no such schedule and nothing is told.
 */
const tempDir = scratchDirs('shadow-digest-e2e');
const START = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
const PREFIX = DEV_PREFIX;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications';

/** checkout would stop everything (a fixed cut out of the way below), ledger nothing. */
const CONFIGURED = [
  { application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'shadow', threshold: 0.0001, existing: true, costs: { failedDeployment: 5, needlessRollback: 1 } },
  { application: 'ledger', deploymentGroup: 'ledger-prod', platform: 'Server', mode: 'shadow', threshold: 0.9999, existing: true },
];

function synthesizeShadowStack(shadow: 'summary' | 'none'): { readonly wiring: Wiring; readonly groups: GroupPolicy[] } {
  const file = writeShippedConfig(tempDir(), (config) => {
    // Without the example (a gate group) and its pipeline gate: the shadow groups alone.
    const dev: EnvironmentJson = { ...config.environments.dev, groups: CONFIGURED, notifications: { emails: ['platform-team@example.com'], shadow } };
    delete dev.example;
    delete dev.pipelineGates;
    config.environments = { dev };
  }, `deploy-guard.${shadow}.config.json`);
  return devStack(file);
}

/** The local runtime on the stack, its schedules firing from START through the next day's noon. */
function runtimeOf(wiring: Wiring, groups: GroupPolicy[], options: { readonly faults?: FaultInjector; readonly store?: 'memory' | 'dynamodb' } = {}): Promise<LocalRuntime> {
  return bootLocalRuntime({ wiring, groups, start: START, schedulesUntil: START + 36 * HOUR, scratchDir: tempDir(), ...options });
}

/** The digest schedule's Scheduled Event of a firing, as EventBridge delivers it (and delivers it again). */
function digestEvent(wiring: Wiring, at: number): ReturnType<typeof scheduledEvent> {
  const schedule = wiring.schedules.find((candidate) => candidate.name === `${PREFIX}-shadow-digest`)!;
  return scheduledEvent(schedule, at, LOCAL_ACCOUNT, 'us-east-1');
}

/** A day of deployments: three of checkout (one fails, one succeeds, one still running) and one of ledger. */
async function aDayOfDeployments(standIns: StandIns, groups: GroupPolicy[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const deploy = async (name: string, application: string, at: number) => {
    await advanceTo(standIns, at);
    const group = groups.find((candidate) => candidate.application === application)!;
    ids[name] = standIns.codeDeploy.createDeployment({ application, deploymentGroup: group.deploymentGroup, platform: group.platform, revision: { commitId: name.padEnd(40, '0') } }).deploymentId;
    await drainBuses(standIns.buses);
  };
  const finish = async (name: string, failed: boolean, at: number) => {
    await advanceTo(standIns, at);
    standIns.codeDeploy.finish(ids[name]!, failed);
    await drainBuses(standIns.buses);
  };
  await deploy('a1', 'checkout', START + 2 * HOUR);
  await finish('a1', true, START + 3 * HOUR);
  await deploy('a2', 'checkout', START + 8 * HOUR);
  await finish('a2', false, START + 9 * HOUR);
  await deploy('a3', 'checkout', START + 20 * HOUR);
  await deploy('b1', 'ledger', START + 21 * HOUR);
  await finish('b1', false, START + 22 * HOUR);
  return ids;
}

describe("with notifications.shadow 'summary'", () => {
  const { wiring, groups } = synthesizeShadowStack('summary');

  it("the stack schedules the digest once a day into the shadow-digest function, which covers the shadow groups with their costs", () => {
    const schedule = wiring.schedules.find((candidate) => candidate.name === `${PREFIX}-shadow-digest`);
    expect(schedule).toMatchObject({ scheduleExpression: 'rate(1 day)', periodMs: 24 * HOUR, targets: [expect.objectContaining({ handler: 'shadow-digest' })] });
    const fn = wiring.functions.find((candidate) => candidate.handler === 'shadow-digest')!;
    expect(JSON.parse(fn.environment.DEPLOY_GUARD_SHADOW_DIGEST!)).toEqual({
      groups: [
        { application: 'checkout', deploymentGroup: 'checkout-prod', costs: { failedDeployment: 5, needlessRollback: 1 } },
        { application: 'ledger', deploymentGroup: 'ledger-prod', costs: { failedDeployment: 3, needlessRollback: 1 } },
      ],
    });
  });

  it("a day of shadow decisions arrives as one digest message when the day ends, with the would-be stops and what became of them", async () => {
    const { standIns, deadLetters } = await runtimeOf(wiring, groups);
    try {
      const ids = await aDayOfDeployments(standIns, groups);
      // Nothing is stopped and nothing is told while the day runs.
      expect(standIns.codeDeploy.callLog).toEqual([]);
      expect(standIns.notifications.published).toEqual([]);

      await advanceTo(standIns, START + 24 * HOUR);
      expect(standIns.notifications.published).toHaveLength(1);
      const [digest] = standIns.notifications.published;
      expect(digest).toMatchObject({ topicArn: TOPIC, subject: 'Deploy Guard shadow digest (dev): 3 would-be stops in 4 deployments', at: START + 24 * HOUR });
      expect(digest!.body).toContain('Window:     2026-12-01T00:00:00.000Z to 2026-12-02T00:00:00.000Z');
      expect(digest!.body).toContain('checkout/checkout-prod: 3 deployments assessed, 3 would-be stops (budget fixed cut), 1 of them failed since');
      expect(digest!.body).toMatch(new RegExp(`would stop ${ids.a1}: risk 0\\.\\d{3} ≥ 0\\.000; top factor: .+; outcome failed`));
      expect(digest!.body).toMatch(new RegExp(`would stop ${ids.a2}: risk .*; outcome succeeded`));
      expect(digest!.body).toMatch(new RegExp(`would stop ${ids.a3}: risk .*; outcome pending`));
      expect(digest!.body).toContain('ledger/ledger-prod: 1 deployment assessed, 0 would-be stops (budget fixed cut), 0 of them failed since');
      expect(digest!.body).not.toContain(`would stop ${ids.b1}`);
      expect(digest!.body).toContain('deploy-guard decisions --environment dev --group checkout/checkout-prod --since 2026-12-01T00:00:00.000Z');
      expect(digest!.body).toContain('Stop mode (last 30 days): not yet: ');

      // The next day had no deployment: nothing more is sent.
      await advanceTo(standIns, START + 36 * HOUR);
      expect(standIns.notifications.published).toHaveLength(1);
      expect(deadLetters).toEqual([]);
    } finally {
      standIns.close();
    }
  });

  it.each(['memory', 'dynamodb'] as const)(
    "the day's Scheduled Event delivered again, the same and under another id for the same firing, is told in no second message (%s stores)",
    async (store) => {
      const { standIns, handlers, deadLetters } = await runtimeOf(wiring, groups, { store });
      try {
        await aDayOfDeployments(standIns, groups);
        await advanceTo(standIns, START + 24 * HOUR);
        expect(standIns.notifications.published).toHaveLength(1);
        const [digest] = standIns.notifications.published;

        // EventBridge delivers at least once: the same event an hour later, then another id for the same firing.
        await advanceTo(standIns, START + 25 * HOUR);
        const event = digestEvent(wiring, START + 24 * HOUR);
        for (const again of [event, { ...event, id: 'a-second-delivery-of-the-same-firing' }]) {
          expect(await handlers['shadow-digest'](again)).toMatchObject({
            status: 'duplicate',
            window: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
            sentBy: event.id,
            subject: digest!.subject,
            messageIds: [digest!.messageId],
          });
        }
        expect(standIns.notifications.published).toHaveLength(1);
        expect(await standIns.stores.digests.read(START)).toMatchObject({ token: event.id, sent: { at: START + 24 * HOUR, eventId: event.id, messageIds: [digest!.messageId] } });
        expect(deadLetters).toEqual([]);
      } finally {
        await standIns.close();
      }
    },
  );

  it("the function dying right after it claimed the day is retried by Lambda, and the day is told once", async () => {
    const faults = new FaultInjector({ seed: 7, crashRate: 1, crashSteps: /^claiming the shadow digest/ });
    const { standIns, handlers, deadLetters } = await runtimeOf(wiring, groups, { faults });
    try {
      await aDayOfDeployments(standIns, groups);
      await advanceTo(standIns, START + 24 * HOUR);
      expect(faults.stats.crashes).toBe(1);
      expect(standIns.notifications.published.map((message) => message.subject)).toEqual(['Deploy Guard shadow digest (dev): 3 would-be stops in 4 deployments']);
      // A later delivery of the day (another id) finds it told.
      expect(await handlers['shadow-digest']({ ...digestEvent(wiring, START + 24 * HOUR), id: 'late-redelivery' })).toMatchObject({ status: 'duplicate' });
      expect(standIns.notifications.published).toHaveLength(1);
      expect(deadLetters).toEqual([]);
    } finally {
      await standIns.close();
    }
  });

  it("SNS's answer lost (the function dies after publishing, before the day is marked sent): Lambda's retry tells it again, at least once, never not at all", async () => {
    const faults = new FaultInjector({ seed: 7, crashRate: 1, crashSteps: /^publishing the shadow digest/ });
    const { standIns, handlers, deadLetters } = await runtimeOf(wiring, groups, { faults });
    try {
      await aDayOfDeployments(standIns, groups);
      await advanceTo(standIns, START + 24 * HOUR);
      expect(faults.stats.crashes).toBe(1);
      const published = standIns.notifications.published;
      expect(published).toHaveLength(2);
      expect(published[1]).toMatchObject({ subject: published[0]!.subject, body: published[0]!.body });
      // The retry's message is the one recorded; after it the day is told.
      expect(await standIns.stores.digests.read(START)).toMatchObject({ sent: { messageIds: [published[1]!.messageId] } });
      expect(await handlers['shadow-digest']({ ...digestEvent(wiring, START + 24 * HOUR), id: 'late-redelivery' })).toMatchObject({ status: 'duplicate' });
      expect(standIns.notifications.published).toHaveLength(2);
      expect(deadLetters).toEqual([]);
    } finally {
      await standIns.close();
    }
  });

  it('a day without shadow decisions is told in no message and leaves no claim of the day behind', async () => {
    const { standIns, handlers, deadLetters } = await runtimeOf(wiring, groups);
    try {
      await advanceTo(standIns, START + 24 * HOUR);
      expect(standIns.notifications.published).toEqual([]);
      expect(await standIns.stores.digests.read(START)).toBeUndefined();
      expect(await handlers['shadow-digest'](digestEvent(wiring, START + 24 * HOUR))).toMatchObject({ status: 'not-sent' });
      expect(await standIns.stores.digests.read(START)).toBeUndefined();
      expect(deadLetters).toEqual([]);
    } finally {
      await standIns.close();
    }
  });
});

describe("with notifications.shadow 'none'", () => {
  const { wiring, groups } = synthesizeShadowStack('none');

  it('the stack has no digest schedule, and a day of shadow decisions is told in no message', async () => {
    expect(wiring.schedules.map((schedule) => schedule.name)).not.toContain(`${PREFIX}-shadow-digest`);
    const { standIns, deadLetters } = await runtimeOf(wiring, groups);
    try {
      await aDayOfDeployments(standIns, groups);
      await advanceTo(standIns, START + 36 * HOUR);
      expect(standIns.notifications.published).toEqual([]);
      expect(deadLetters).toEqual([]);
    } finally {
      standIns.close();
    }
  });
});
