import { scheduledEvent } from '../../events/schedule';
import { EventValidationError } from '../../events/validation';
import { ConfigurationError, ENV } from '../../handlers/config';
import type { DeploymentItem, OutcomeLabel } from '../../handlers/ports';
import { RecordingNotifications } from '../support/notifications';
import { handleShadowDigestEvent, shadowDigestConfigFromEnv, type ShadowDigestConfig } from '../../handlers/shadow-digest';
import { DIGEST_READ_LIMIT, DIGEST_WINDOW_MS, GRADUATION_WINDOW_MS, groupDigest, MAX_LISTED_STOPS, shadowDigestNotification, type GroupDigest } from '../../handlers/shadow-digest-domain';
import { chatbotNotification, plainTextBody } from '../../handlers/notify-domain';
import { MINIMUM_ASSESSED } from '../../model/graduation';
import { storedAssessment } from './assessment-fixture';

/**
 * The shadow digest: given a shadow group's assessments of the last day (and month) as
 * `deploy-guard decisions` reads them, when the daily schedule fires, then one message tells the
 * would-be stops with their risk, top factor and outcome, how many failed since, where to look, and
 * whether the group may graduate; no message when nothing was assessed in shadow mode.
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

describe('handleShadowDigestEvent', () => {
  const event = scheduledEvent(RULE, FIRED, '123456789012', 'us-east-1');
  const config: ShadowDigestConfig = { settings: { environment: 'dev', region: 'us-east-1', topicArn: TOPIC, chatTopicArn: CHAT_TOPIC }, digest: { groups: [CHECKOUT, LEDGER] } };
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

  it("reads each shadow group's last month up to the event's time and publishes one digest, by e-mail and chat", async () => {
    const deployments = storeOf(DAY_OF_CHECKOUT);
    const notifications = new RecordingNotifications();
    const result = await handleShadowDigestEvent(event, { deployments, notifications, config });
    expect(deployments.reads).toEqual([
      ['checkout', 'checkout-prod', FIRED - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT],
      ['ledger', 'ledger-prod', FIRED - GRADUATION_WINDOW_MS, DIGEST_READ_LIMIT],
    ]);
    expect(result).toEqual({
      status: 'sent',
      window: { from: '2026-12-01T09:00:00.000Z', to: '2026-12-02T09:00:00.000Z' },
      groups: 2,
      assessed: 5,
      wouldBeStops: 3,
      subject: 'Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments',
      messageIds: ['m-1', 'm-2'],
    });
    expect(notifications.published.map((message) => message.topicArn)).toEqual([TOPIC, CHAT_TOPIC]);
    expect(notifications.published[0]!.body).toContain('would stop d-STOP1');
    expect(JSON.parse(notifications.published[1]!.body)).toMatchObject({ version: '1.0', source: 'custom', id: event.id });
  });

  it('sends nothing, and says so, when no shadow decision happened in the day', async () => {
    const notifications = new RecordingNotifications();
    const result = await handleShadowDigestEvent(event, { deployments: storeOf([shadowItem('d-OLD', 30)]), notifications, config });
    expect(result).toMatchObject({ status: 'not-sent', reason: 'no shadow-mode decision in the 2 shadow groups from 2026-12-01T09:00:00.000Z to 2026-12-02T09:00:00.000Z', assessed: 0 });
    expect(notifications.published).toEqual([]);
  });

  it('sends nothing when no group is in shadow mode', async () => {
    const notifications = new RecordingNotifications();
    const result = await handleShadowDigestEvent(event, { deployments: storeOf(DAY_OF_CHECKOUT), notifications, config: { ...config, digest: { groups: [] } } });
    expect(result).toMatchObject({ status: 'not-sent', reason: 'no group is in shadow mode' });
    expect(notifications.published).toEqual([]);
  });

  it('refuses anything but a Scheduled Event before reading anything', async () => {
    const deployments = storeOf(DAY_OF_CHECKOUT);
    await expect(handleShadowDigestEvent({ ...event, 'detail-type': 'Deployment Risk Assessed' }, { deployments, notifications: new RecordingNotifications(), config })).rejects.toThrow(EventValidationError);
    expect(deployments.reads).toEqual([]);
  });
});

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
