import { scheduledEvent } from '../../events/schedule';
import { EventValidationError } from '../../events/validation';
import { ConfigurationError, ENV } from '../../handlers/config';
import { ManualClock } from '../../events/clock';
import { LAMBDA_FIRST_RETRY_WAIT_MS } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryShadowDigestStore } from '../../handlers/adapters/in-memory-stores';
import { SHADOW_DIGEST_DECLARATION } from '../../handlers/shadow-digest.declaration';
import type { DeploymentItem, NotificationMessage, NotificationPort, OutcomeLabel, ShadowDigestClaim, ShadowDigestSent } from '../../handlers/ports';
import { RecordingNotifications } from '../support/notifications';
import { DIGEST_CLAIM_LEASE_MS, DigestClaimHeldError, handleShadowDigestEvent, shadowDigestConfigFromEnv, type ShadowDigestConfig } from '../../handlers/shadow-digest';
import { DIGEST_READ_LIMIT, DIGEST_WINDOW_MS, digestClaimDecision, GRADUATION_WINDOW_MS, groupDigest, MAX_LISTED_STOPS, shadowDigestNotification, type GroupDigest } from '../../handlers/shadow-digest-domain';
import { chatbotNotification, plainTextBody } from '../../handlers/notify-domain';
import { MINIMUM_ASSESSED } from '../../model/graduation';
import { storedAssessment } from './assessment-fixture';

/**
 * The shadow digest: given a shadow group's assessments of the last day (and month) as
 * `deploy-guard decisions` reads them, when the daily schedule fires, then one message tells the
 * would-be stops with their risk, top factor and outcome, how many failed since, where to look, and
 * whether the group may graduate; no message when nothing was assessed in shadow mode. Once per day:
 * a redelivered Scheduled Event of a day told publishes nothing, and a day claimed but not marked
 * sent (a crash, SNS's answer lost) is told by the next delivery.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications';
const CHAT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-chat';
const RULE = { arn: 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-shadow-digest' };
const FIRED = Date.parse('2026-12-02T09:00:00Z');
const WINDOW = { from: FIRED - DIGEST_WINDOW_MS, to: FIRED };
const HOUR = 3_600_000;
const CHECKOUT = { application: 'checkout', deploymentGroup: 'checkout-prod', costs: { failedDeployment: 3, needlessRollback: 1 } };
const LEDGER = { application: 'ledger', deploymentGroup: 'ledger-prod', costs: { failedDeployment: 3, needlessRollback: 1 } };
const CONTEXT = { environment: 'dev', region: 'us-east-1', eventId: 'e-1' };

/** A shadow-mode assessment of `checkout` assessed `hoursAgo` before the digest fired, with its outcome. */
function shadowItem(id: string, hoursAgo: number, change: { probability?: number; outcome?: OutcomeLabel; group?: typeof CHECKOUT; mode?: 'shadow' | 'stop'; onRisk?: 'hold'; tier?: 'bake' | 'none' } = {}): DeploymentItem {
  const group = change.group ?? CHECKOUT;
  const probability = change.probability ?? 0.8;
  const assessment = storedAssessment({
    deploymentId: id,
    application: group.application,
    deploymentGroup: group.deploymentGroup,
    mode: change.mode ?? 'shadow',
    enforced: change.mode === 'stop',
    probability,
    cut: 0.5,
    decision: probability >= 0.5 ? 'rollback' : 'proceed',
    assessedAt: FIRED - hoursAgo * HOUR,
    ...(change.onRisk ? { onRisk: change.onRisk } : {}),
    ...(change.tier ? { tier: change.tier } : {}),
  });
  const outcome = change.outcome
    ? { deploymentId: id, application: group.application, deploymentGroup: group.deploymentGroup, state: change.outcome === 'failed' ? 'FAILURE' as const : 'SUCCESS' as const, label: change.outcome, finishedAt: assessment.assessedAt + HOUR / 2 }
    : undefined;
  return { deploymentId: id, assessment, ...(outcome ? { outcome } : {}), trainingRowWritten: false };
}

const DAY_OF_CHECKOUT = [
  shadowItem('d-STOP1', 2, { outcome: 'failed' }),
  shadowItem('d-STOP2', 5),
  shadowItem('d-STOP3', 20, { outcome: 'succeeded' }),
  shadowItem('d-OK1', 3, { probability: 0.1, outcome: 'succeeded' }),
  shadowItem('d-OK2', 4, { probability: 0.2, tier: 'bake' }),
  // Before the window: counted for graduation only.
  shadowItem('d-OLD', 30, { outcome: 'failed' }),
];

describe('groupDigest: one shadow group\'s day', () => {
  const digest = groupDigest(CHECKOUT, DAY_OF_CHECKOUT, WINDOW);

  it('counts the shadow assessments of the window and lists its would-be stops, newest first, with risk, top factor and outcome', () => {
    expect(digest).toMatchObject({ group: 'checkout/checkout-prod', assessed: 5, failedSinceStop: 1, wouldBake: 1, wouldHold: 0, blockBudget: 0.1, truncated: false });
    expect(digest.wouldStop).toEqual([
      { deploymentId: 'd-STOP1', risk: '0.800 ≥ 0.500', topFactor: '412 lines added', outcome: 'failed' },
      { deploymentId: 'd-STOP2', risk: '0.800 ≥ 0.500', topFactor: '412 lines added', outcome: 'pending' },
      { deploymentId: 'd-STOP3', risk: '0.800 ≥ 0.500', topFactor: '412 lines added', outcome: 'succeeded' },
    ]);
  });

  it('leaves out what was not a shadow decision of the window: an assessment in stop mode, one at the very end of the window', () => {
    const mixed = groupDigest(CHECKOUT, [shadowItem('d-ENFORCED', 1, { mode: 'stop' }), shadowItem('d-LATE', 0), shadowItem('d-EDGE', 24)], WINDOW);
    expect(mixed.wouldStop.map((stop) => stop.deploymentId)).toEqual(['d-EDGE']);
    // The month was not all shadow: graduation is not judged.
    expect(mixed.graduation).toBeUndefined();
  });

  it('counts the would-be stops the group would have held for a person', () => {
    expect(groupDigest(CHECKOUT, [shadowItem('d-H', 1, { onRisk: 'hold' }), shadowItem('d-S', 2)], WINDOW).wouldHold).toBe(1);
  });

  it('judges graduation on the whole month it was given, as the report does (the deployments with an outcome)', () => {
    expect(digest.graduation?.meets).toBe(false);
    expect(digest.graduation?.unmet[0]).toBe(`4 deployments assessed, fewer than ${MINIMUM_ASSESSED}`);
  });

  it('says when the read reached its limit', () => {
    const many = Array.from({ length: DIGEST_READ_LIMIT }, (_, index) => shadowItem(`d-${index}`, 1, { probability: 0.1 }));
    expect(groupDigest(CHECKOUT, many, WINDOW).truncated).toBe(true);
  });
});

describe('the digest message', () => {
  const checkout = groupDigest(CHECKOUT, DAY_OF_CHECKOUT, WINDOW);
  const quiet = groupDigest(LEDGER, [], WINDOW);

  it('is none when no shadow group had a decision in the window', () => {
    expect(shadowDigestNotification([quiet], WINDOW, CONTEXT)).toBeUndefined();
    expect(shadowDigestNotification([], WINDOW, CONTEXT)).toBeUndefined();
  });

  it('reads: the window, the totals, each group with its would-be stops and outcomes, the commands, graduation, the quiet groups', () => {
    const notification = shadowDigestNotification([checkout, quiet], WINDOW, CONTEXT)!;
    expect(notification.title).toBe('Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments');
    const body = plainTextBody(notification);
    expect(body).toContain('In shadow mode Deploy Guard stops nothing. This is what it would have done in the last day, in 1 shadow group.');
    expect(body).toContain('Window:         2026-12-01T09:00:00.000Z to 2026-12-02T09:00:00.000Z');
    expect(body).toContain('No deployments: ledger/ledger-prod');
    expect(body).toContain('checkout/checkout-prod: 5 deployments assessed, 3 would-be stops (budget 10.0 %), 1 of them failed since');
    expect(body).toContain('  would stop d-STOP1: risk 0.800 ≥ 0.500; top factor: 412 lines added; outcome failed');
    expect(body).toContain('  would stop d-STOP2: risk 0.800 ≥ 0.500; top factor: 412 lines added; outcome pending');
    expect(body).toContain('  1 deployment would have been baked (watched after traffic moved)');
    expect(body).toContain('  Stop mode (last 30 days): not yet: 4 deployments assessed, fewer than 200;');
    expect(body).toContain('  Every decision: deploy-guard decisions --environment dev --group checkout/checkout-prod --since 2026-12-01T09:00:00.000Z');
    expect(body).toContain('  Compared with the backtest: deploy-guard report --environment dev --group checkout/checkout-prod');
    expect(body).not.toContain('ledger/ledger-prod:');
  });

  it(`lists at most ${MAX_LISTED_STOPS} would-be stops of a group and says how many more there are`, () => {
    const busy: GroupDigest = groupDigest(CHECKOUT, Array.from({ length: MAX_LISTED_STOPS + 3 }, (_, index) => shadowItem(`d-${index}`, 1)), WINDOW);
    const body = plainTextBody(shadowDigestNotification([busy], WINDOW, CONTEXT)!);
    expect(body.match(/ would stop d-/g)).toHaveLength(MAX_LISTED_STOPS);
    expect(body).toContain('  and 3 more would-be stops');
  });

  it('as a chat message: the group sections in markdown', () => {
    const chat = chatbotNotification(shadowDigestNotification([checkout], WINDOW, CONTEXT)!);
    expect(chat.content.description).toContain('*checkout/checkout-prod: 5 deployments assessed, 3 would-be stops (budget 10.0 %), 1 of them failed since*');
    expect(chat.content.description).toContain('• would stop d-STOP1: risk 0.800 ≥ 0.500; top factor: 412 lines added; outcome failed');
    expect(chat.metadata).toEqual({ summary: 'Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments', eventType: 'Shadow Decisions Digest' });
  });
});

describe('digestClaimDecision: whether a delivery of the schedule tells the day', () => {
  const LEASE = 135_000;
  const AT = FIRED + 2_000;
  const claimed = (token: string, claimedAt: number, sent?: ShadowDigestSent): ShadowDigestClaim => ({ ...WINDOW, token, claimedAt, ...(sent ? { sent } : {}) });
  const SENT: ShadowDigestSent = { at: AT, eventId: 'e-1', subject: 'Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments', messageIds: ['m-1'] };

  it('a day nobody claimed is claimed', () => {
    expect(digestClaimDecision(undefined, 'e-1', AT, LEASE)).toEqual({ kind: 'claim', way: 'open', expected: null });
  });

  it('a day told is told: a duplicate, whoever delivers it and however late', () => {
    for (const token of ['e-1', 'e-2']) {
      expect(digestClaimDecision(claimed('e-1', AT, SENT), token, AT + 6 * HOUR, LEASE)).toEqual({ kind: 'sent', claim: claimed('e-1', AT, SENT) });
    }
  });

  it("the delivery that claimed the day and did not mark it sent (Lambda's retry of the same event) claims it again, whatever the lease", () => {
    expect(digestClaimDecision(claimed('e-1', AT), 'e-1', AT + 1, LEASE)).toEqual({ kind: 'claim', way: 'own', expected: { token: 'e-1', claimedAt: AT } });
  });

  it("the handler's lease outlasts an attempt (the function's timeout, and 15 s) and ends before Lambda's second retry of a delivery it held off", () => {
    expect(DIGEST_CLAIM_LEASE_MS).toBe(SHADOW_DIGEST_DECLARATION.timeoutSeconds! * 1000 + 15_000);
    expect(DIGEST_CLAIM_LEASE_MS).toBeLessThan(LAMBDA_FIRST_RETRY_WAIT_MS + 2 * 60_000);
  });

  it("another event's claim without sent holds for the lease, then is taken over", () => {
    expect(digestClaimDecision(claimed('e-1', AT), 'e-2', AT + LEASE - 1, LEASE)).toEqual({ kind: 'held', claim: claimed('e-1', AT) });
    expect(digestClaimDecision(claimed('e-1', AT), 'e-2', AT + LEASE, LEASE)).toEqual({ kind: 'claim', way: 'takeover', expected: { token: 'e-1', claimedAt: AT } });
  });
});

describe('handleShadowDigestEvent', () => {
  const event = scheduledEvent(RULE, FIRED, '123456789012', 'us-east-1');
  // The same schedule's event for the same time, as EventBridge may deliver it again under a new id.
  const sameDay = { ...event, id: 'another-delivery-of-the-same-firing' };
  const config: ShadowDigestConfig = { settings: { environment: 'dev', region: 'us-east-1', topicArn: TOPIC, chatTopicArn: CHAT_TOPIC }, digest: { groups: [CHECKOUT, LEDGER] } };
  const SUBJECT = 'Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments';
  const storeOf = (items: readonly DeploymentItem[]) => {
    const reads: unknown[][] = [];
    return {
      reads,
      recentAssessments: async (application: string, deploymentGroup: string, since: number, limit: number) => {
        reads.push([application, deploymentGroup, since, limit]);
        return items.filter((item) => item.assessment!.application === application && item.assessment!.assessedAt >= since);
      },
    };
  };
  /** The function's world: the day's assessments, the claims, SNS and a clock a few seconds after the schedule fired. */
  const worldOf = (items: readonly DeploymentItem[] = DAY_OF_CHECKOUT, notifications: NotificationPort & { published: unknown[] } = new RecordingNotifications()) => {
    const deployments = storeOf(items);
    const digests = new InMemoryShadowDigestStore();
    const clock = new ManualClock(FIRED + 2_000);
    return { deployments, digests, notifications, clock, deps: { deployments, digests, notifications, clock, config } };
  };

  it("reads each shadow group's last month up to the event's time and publishes one digest, by e-mail and chat", async () => {
    const w = worldOf();
    const result = await handleShadowDigestEvent(event, w.deps);
    expect(w.deployments.reads).toEqual([
      ['checkout', 'checkout-prod', FIRED - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT],
      ['ledger', 'ledger-prod', FIRED - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT],
    ]);
    expect(result).toEqual({
      status: 'sent',
      window: { from: '2026-12-01T09:00:00.000Z', to: '2026-12-02T09:00:00.000Z' },
      groups: 2,
      assessed: 5,
      wouldBeStops: 3,
      subject: SUBJECT,
      messageIds: ['m-1', 'm-2'],
    });
    const published = w.notifications.published as NotificationMessage[];
    expect(published.map((message) => message.topicArn)).toEqual([TOPIC, CHAT_TOPIC]);
    expect(published[0]!.body).toContain('would stop d-STOP1');
    expect(JSON.parse(published[1]!.body)).toMatchObject({ version: '1.0', source: 'custom', id: event.id });
  });

  it('claims the day before it publishes, and marks the claim sent with what SNS answered', async () => {
    const w = worldOf();
    await handleShadowDigestEvent(event, w.deps);
    expect(await w.digests.read(WINDOW.from)).toEqual({
      ...WINDOW,
      token: event.id,
      claimedAt: FIRED + 2_000,
      sent: { at: FIRED + 2_000, eventId: event.id, subject: SUBJECT, messageIds: ['m-1', 'm-2'] },
    });
  });

  it.each([
    ['the same event again', event],
    ['another event of the same firing', sameDay],
  ])('publishes nothing for a day it told: %s is a duplicate, answered before any assessment is read', async (_case, again) => {
    const w = worldOf();
    await handleShadowDigestEvent(event, w.deps);
    w.clock.advanceBy(HOUR);
    const reads = w.deployments.reads.length;
    const result = await handleShadowDigestEvent(again, w.deps);
    expect(result).toEqual({
      status: 'duplicate',
      window: { from: '2026-12-01T09:00:00.000Z', to: '2026-12-02T09:00:00.000Z' },
      sentAt: new Date(FIRED + 2_000).toISOString(),
      sentBy: event.id,
      subject: SUBJECT,
      messageIds: ['m-1', 'm-2'],
    });
    expect(w.notifications.published).toHaveLength(2);
    expect(w.deployments.reads).toHaveLength(reads);
  });

  it("tells the day again when SNS's answer was lost after the claim: Lambda's retry of the same event publishes it (at least once)", async () => {
    const sns = new LosingNotifications(1);
    const w = worldOf(DAY_OF_CHECKOUT, sns);
    await expect(handleShadowDigestEvent(event, w.deps)).rejects.toThrow('socket hang up');
    expect(await w.digests.read(WINDOW.from)).toEqual({ ...WINDOW, token: event.id, claimedAt: FIRED + 2_000 });
    w.clock.advanceBy(60_000);
    await expect(handleShadowDigestEvent(event, w.deps)).resolves.toMatchObject({ status: 'sent', resumed: true, messageIds: ['m-2', 'm-3'] });
    // The e-mail whose answer was lost, then the retry's e-mail and chat message.
    expect(sns.published.map((message) => message.topicArn)).toEqual([TOPIC, TOPIC, CHAT_TOPIC]);
    await expect(handleShadowDigestEvent(sameDay, w.deps)).resolves.toMatchObject({ status: 'duplicate' });
  });

  it("another event of the day meets a claim left without sent: held for the lease (it fails, for Lambda to retry it), then it takes the claim over and tells the day", async () => {
    const down = new LosingNotifications(0, 1);
    const w = worldOf(DAY_OF_CHECKOUT, down);
    await expect(handleShadowDigestEvent(event, w.deps)).rejects.toThrow('SNS is down');
    expect(down.published).toEqual([]);

    w.clock.advanceBy(DIGEST_CLAIM_LEASE_MS - 1);
    const held = handleShadowDigestEvent(sameDay, w.deps);
    await expect(held).rejects.toThrow(DigestClaimHeldError);
    await expect(held).rejects.toThrow(
      `the shadow digest of 2026-12-01T09:00:00.000Z to 2026-12-02T09:00:00.000Z is being sent by the delivery of event ${event.id}, which claimed it at 2026-12-02T09:00:02.000Z: retry after 2026-12-02T09:02:17.000Z, when it is sent or its claim may be taken over`,
    );
    expect(down.published).toEqual([]);

    w.clock.advanceBy(1);
    await expect(handleShadowDigestEvent(sameDay, w.deps)).resolves.toMatchObject({ status: 'sent', resumed: true });
    expect(down.published.map((message) => message.topicArn)).toEqual([TOPIC, CHAT_TOPIC]);
    expect((await w.digests.read(WINDOW.from))?.sent).toMatchObject({ eventId: sameDay.id });
  });

  it('of two deliveries of the day at once, one publishes; the other is held, and its retry is a duplicate', async () => {
    const w = worldOf();
    const results = await Promise.allSettled([handleShadowDigestEvent(event, w.deps), handleShadowDigestEvent(sameDay, w.deps)]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value.status : (result.reason as Error).name))).toEqual(['sent', 'DigestClaimHeldError']);
    w.clock.advanceBy(60_000);
    await expect(handleShadowDigestEvent(sameDay, w.deps)).resolves.toMatchObject({ status: 'duplicate', sentBy: event.id });
    expect(w.notifications.published).toHaveLength(2);
  });

  it('sends nothing, and says so, when no shadow decision happened in the day, and leaves no claim behind', async () => {
    const w = worldOf([shadowItem('d-OLD', 30)]);
    const result = await handleShadowDigestEvent(event, w.deps);
    expect(result).toMatchObject({ status: 'not-sent', reason: 'no shadow-mode decision in the 2 shadow groups from 2026-12-01T09:00:00.000Z to 2026-12-02T09:00:00.000Z', assessed: 0 });
    expect(w.notifications.published).toEqual([]);
    expect(await w.digests.read(WINDOW.from)).toBeUndefined();
  });

  it('sends nothing when no group is in shadow mode', async () => {
    const w = worldOf();
    const result = await handleShadowDigestEvent(event, { ...w.deps, config: { ...config, digest: { groups: [] } } });
    expect(result).toMatchObject({ status: 'not-sent', reason: 'no group is in shadow mode' });
    expect(w.notifications.published).toEqual([]);
  });

  it('refuses anything but a Scheduled Event before reading anything', async () => {
    const w = worldOf();
    await expect(handleShadowDigestEvent({ ...event, 'detail-type': 'Deployment Risk Assessed' }, w.deps)).rejects.toThrow(EventValidationError);
    expect(w.deployments.reads).toEqual([]);
    expect(await w.digests.read(WINDOW.from)).toBeUndefined();
  });
});

/**
 * SNS whose first `lost` publishes are applied and their answer lost (the SDK gives up: the message
 * went out), then `down` refused outright (nothing went out); then it answers m-1, m-2, ... counting
 * every message that went out.
 */
class LosingNotifications implements NotificationPort {
  readonly published: NotificationMessage[] = [];
  constructor(
    private lost: number,
    private down = 0,
  ) {}

  async publish(message: NotificationMessage): Promise<string> {
    if (this.down > 0) {
      this.down -= 1;
      throw Object.assign(new Error('SNS is down: InternalError'), { name: 'InternalError' });
    }
    this.published.push(message);
    if (this.lost > 0) {
      this.lost -= 1;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    return `m-${this.published.length}`;
  }
}

describe('shadowDigestConfigFromEnv', () => {
  const env = {
    [ENV.notifications]: JSON.stringify({ environment: 'dev', region: 'us-east-1', topicArn: TOPIC }),
    [ENV.shadowDigest]: JSON.stringify({ groups: [CHECKOUT] }),
  };

  it('reads the notification settings and the shadow groups with their costs', () => {
    expect(shadowDigestConfigFromEnv(env)).toEqual({ settings: { environment: 'dev', region: 'us-east-1', topicArn: TOPIC }, digest: { groups: [CHECKOUT] } });
  });

  it('names the variable and the problem when a group has no costs', () => {
    const wrong = { ...env, [ENV.shadowDigest]: JSON.stringify({ groups: [{ application: 'checkout', deploymentGroup: 'checkout-prod' }] }) };
    expect(() => shadowDigestConfigFromEnv(wrong)).toThrow(ConfigurationError);
    expect(() => shadowDigestConfigFromEnv(wrong)).toThrow(/^DEPLOY_GUARD_SHADOW_DIGEST .*groups\[0\]\.costs/);
  });
});
