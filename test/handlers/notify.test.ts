import { buildEntry, EMITTED_EVENTS, type EmittedEventKind } from '../../events/emitted';
import { matchesPattern } from '../../events/matcher';
import { ruleNamed, SYSTEM_RULES } from '../../events/patterns';
import { EventValidationError } from '../../events/validation';
import { handleNotifyEvent, notifyConfigFromEnv, parseNotifiedEvent, type NotifyConfig } from '../../handlers/notify';
import { chatbotNotification, emailSubject, notificationOf, NOTIFIED_EVENTS, plainTextBody, type Notification } from '../../handlers/notify-domain';
import { RecordingNotifications } from '../support/notifications';

/**
 * notify: one readable message per decision that matters. Given the documented events as the bus
 * delivers them (validated by their builders), when notify formats them, then people read the
 * deployment, the group, the risk against the cut, the factors in words, and what to do next.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications';
const CHAT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-chat';
const CONTEXT = { environment: 'dev', region: 'us-east-1' };
const CONFIG: NotifyConfig = { source: 'deploy-guard', settings: { ...CONTEXT, topicArn: TOPIC } };

/** An emitted event as EventBridge delivers it: the builder's validated entry inside the envelope. */
function delivered<Kind extends EmittedEventKind>(kind: Kind, change: Record<string, unknown> = {}, source = 'deploy-guard') {
  const entry = buildEntry(kind, { ...EMITTED_EVENTS[kind].example, ...change } as never, { source, eventBusName: 'deploy-guard-dev' });
  return { version: '0', id: `id-${kind.replace(/ /g, '-')}`, account: '123456789012', region: 'us-east-1', time: '2026-11-20T09:20:06Z', resources: [], source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}

function messageOf(event: unknown): Notification {
  const decision = notificationOf(parseNotifiedEvent(event, 'deploy-guard'), CONTEXT);
  if (!decision.sent) throw new Error(`expected a message, got ${decision.reason}`);
  return decision.notification;
}

describe('the message about a stop', () => {
  const stopMode = delivered('Deployment Risk Assessed', { mode: 'stop', trigger: 'START' });

  it('says which deployment of which group was stopped, its risk against the cut and the budget, in the mode it was decided', () => {
    const body = plainTextBody(messageOf(stopMode));
    expect(body).toContain('Deploy Guard stopped deployment d-123456789 of myApplication/myDeploymentGroup at START');
    expect(body).toContain('Group:        myApplication/myDeploymentGroup');
    expect(body).toContain('Risk:         0.813 ≥ 0.639 (probability of failure against the cut it was decided with)');
    expect(body).toContain("Block budget: 10.0 % of the group's deployments may be stopped; the cut is taken from the group's recent scores");
    expect(body).toContain('Mode:         stop: stopped as it started');
  });

  it('gives the top factors in words, each with the way it pushes', () => {
    expect(plainTextBody(messageOf(stopMode))).toContain(['Why:', '  - 412 lines added (raises the risk)', '  - 3 of the last 5 deployments failed (raises the risk)'].join('\n'));
  });

  it('ends with the override command and the deployment in the CodeDeploy console; no gate commands outside gate mode', () => {
    const body = plainTextBody(messageOf(stopMode));
    expect(body).toContain('      deploy-guard override --environment dev --deployment d-123456789 --reason "..."');
    expect(body).toContain('      https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-123456789?region=us-east-1');
    expect(body).not.toContain('deploy-guard approve');
  });

  it('a stop at the gate gives no approve or reject: nothing is held, the stop is done', () => {
    const body = plainTextBody(messageOf(delivered('Deployment Risk Assessed')));
    expect(body).toContain('at the gate (READY), before traffic moved');
    expect(body).not.toContain('deploy-guard approve');
    expect(body).not.toContain('deploy-guard reject');
  });

  it('a risky deployment of a group that holds is not told as a stop: Deployment Held tells it', () => {
    const decision = notificationOf(parseNotifiedEvent(delivered('Deployment Risk Assessed', { onRisk: 'hold' }), 'deploy-guard'), CONTEXT);
    expect(decision).toEqual({ sent: false, reason: 'held' });
  });

  it('a hold says where the deployment waits, until when, what the timeout does, and the exact approve and reject commands', () => {
    const message = messageOf(delivered('Deployment Held'));
    const body = plainTextBody(message);
    expect(message.title).toBe('Deploy Guard holds d-123456789 of checkout/checkout-prod: approve or reject it');
    expect(body).toContain('it waits at READY, before traffic moves. Approve it or reject it before 2026-11-20T09:50:05Z, or the hold\'s timeout rolls it back.');
    expect(body).toContain('      deploy-guard approve --environment dev --deployment d-123456789 --reason "..."\n');
    expect(body).toContain('      deploy-guard reject --environment dev --deployment d-123456789 --reason "..."\n');
  });

  it("a hold's timeout says what it decided and CodeDeploy's answer, and offers no command", () => {
    const body = plainTextBody(messageOf(delivered('Deployment Held', { status: 'timed-out', onTimeout: 'approve', settled: { action: 'approve', at: '2026-11-20T09:50:30Z', outcome: 'CodeDeploy accepted it' } })));
    expect(body).toContain("the hold's timeout lets it go on (CodeDeploy accepted it)");
    expect(body).not.toContain('deploy-guard approve');
  });

  it('has a one-line ASCII subject under 100 characters, as SNS requires', () => {
    expect(emailSubject(messageOf(stopMode).title)).toBe('Deploy Guard stopped d-123456789 of myApplication/myDeploymentGroup (stop mode)');
    const long = emailSubject(`Deploy Guard stopped d-1 of ${'a'.repeat(120)} ≥`);
    expect(long).toMatch(/^[\x20-\x7e]{99}$/);
    expect(long.endsWith('...')).toBe(true);
    expect(emailSubject('risk 0.8 ≥ 0.6 — é')).toBe('risk 0.8 >= 0.6 ? ?');
  });

  it('says when the failure policy decided without a probability, and why', () => {
    const fallback = { policy: 'fail-closed', cause: 'endpoint', reason: 'Timeout: no answer in 2000 ms' };
    const body = plainTextBody(messageOf(delivered('Deployment Risk Assessed', { mode: 'stop', probability: null, topFactors: [], fallback })));
    expect(body).toContain("there was no probability (the model endpoint gave no probability) and the group's fail-closed policy rolls back");
    expect(body).toContain('Risk:         no score (endpoint: Timeout: no answer in 2000 ms)');
    expect(body).toContain('  - No factors: there was no probability.');
  });

  it('says when the deployment was scored without its change summary', () => {
    const body = plainTextBody(messageOf(delivered('Deployment Risk Assessed', { changeSummary: { status: 'missing', revision: 'git:abc' } })));
    expect(body).toContain('Change summary: none received for git:abc: scored without what the release changes');
  });

  it("says the group's tiers when it has a bake tier: the stop, and below it the bake cut, window and alarms", () => {
    const bake = { cut: 0.42, minutes: 30, alarms: ['deploy-guard-dev-myApplication-myDeploymentGroup-alarm-0', 'p99-latency'] };
    const message = messageOf(delivered('Deployment Risk Assessed', { tier: 'stop', bake }));
    expect(message.facts).toContainEqual([
      'Watch tier',
      'stop (above the stop cut). Below it deployments at or above the bake cut 0.4200 are baked: watched for 30 minutes after their traffic moves, and rolled back if any of its alarms (deploy-guard-dev-myApplication-myDeploymentGroup-alarm-0, p99-latency) goes to ALARM',
    ]);
    expect(plainTextBody(message)).toContain('after their traffic moves');
    const noScores = messageOf(delivered('Deployment Risk Assessed', { tier: 'stop', bake: { cut: null, minutes: 20 } }));
    expect(noScores.facts).toContainEqual(['Watch tier', expect.stringContaining("no bake cut yet (no scores): nothing is baked until there are: watched for 20 minutes after their traffic moves, and rolled back if any of the group's alarms goes to ALARM")]);
  });

  it('names no tier for a group without a bake tier', () => {
    expect(messageOf(stopMode).facts.map(([label]) => label)).not.toContain('Watch tier');
  });

  it.each([
    ['a shadow decision', { mode: 'shadow', enforced: false }, 'shadow-decision'],
    ['an enforced decision to proceed', { decision: 'proceed', probability: 0.1 }, 'not-a-stop'],
    ['an explored would-be stop', { decision: 'proceed', explored: true, propensity: 0.02 }, 'not-a-stop'],
  ])('is not sent for %s', (_case, change, reason) => {
    expect(notificationOf(parseNotifiedEvent(delivered('Deployment Risk Assessed', change), 'deploy-guard'), CONTEXT)).toEqual({ sent: false, reason });
  });
});

describe('the message about a bake rolled back on an alarm', () => {
  const event = delivered('Deployment Bake Rolled Back');

  it('says which deployment of which group, the alarm, that it was rolled back and how, and links the console', () => {
    const message = messageOf(event);
    expect(message.title).toBe('Deploy Guard rolled back d-123456789 of checkout/checkout-prod: an alarm during its bake');
    const body = plainTextBody(message);
    expect(body).toContain('The alarm deploy-guard-prod-checkout-checkout-prod-alarm-0 went to ALARM during the bake, so Deploy Guard stopped it with automatic rollback: CodeDeploy rolls it back to the previous version.');
    expect(body).toContain('Alarm:       deploy-guard-prod-checkout-checkout-prod-alarm-0');
    expect(body).toContain('Bake:        30 minutes from 2026-11-20T09:20:05Z');
    expect(body).toContain('Rolled back: 2026-11-20T09:31:00Z (StopDeployment)');
    expect(body).toContain('      https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-123456789?region=us-east-1');
  });

  it('of an ECS or Lambda deployment, says its AfterAllowTraffic hook was failed', () => {
    expect(plainTextBody(messageOf(delivered('Deployment Bake Rolled Back', { platform: 'ECS', action: 'LifecycleHookFailed' })))).toContain('so Deploy Guard failed its AfterAllowTraffic hook: CodeDeploy rolls it back');
  });

  it("is delivered by the 'notify' rule", () => {
    expect(matchesPattern(ruleNamed(SYSTEM_RULES, 'notify').pattern, event)).toBe(true);
  });
});

describe('the message about a bake rollback CodeDeploy refused', () => {
  const BAKE = { platform: 'Server', alarmName: 'deploy-guard-prod-checkout-checkout-prod-alarm-0', action: 'StopDeployment', minutes: 30, openedAt: '2026-11-20T09:20:05Z' };
  const refused = (change: Record<string, unknown> = {}) =>
    delivered('Deployment Rollback Failed', { application: 'checkout', deploymentGroup: 'checkout-prod', message: 'The deployment d-123456789 is already completed.', failedAt: '2026-11-20T09:31:00Z', bake: BAKE, ...change });

  it('says which deployment was not rolled back, on which alarm, what CodeDeploy was asked and what it answered', () => {
    const message = messageOf(refused());
    expect(message.title).toBe('Bake rollback refused: d-123456789 of checkout/checkout-prod (DeploymentAlreadyCompleted)');
    const body = plainTextBody(message);
    expect(body).toContain(
      'Deployment d-123456789 of checkout/checkout-prod was being baked (watched after its traffic moved) when the alarm deploy-guard-prod-checkout-checkout-prod-alarm-0 went to ALARM. Deploy Guard asked CodeDeploy to stop it with automatic rollback (StopDeployment), and CodeDeploy refused (DeploymentAlreadyCompleted): the deployment was NOT rolled back.',
    );
    expect(body).toContain('Deployment: d-123456789 (Server)');
    expect(body).toContain('Alarm:      deploy-guard-prod-checkout-checkout-prod-alarm-0');
    expect(body).toContain('Bake:       30 minutes from 2026-11-20T09:20:05Z');
    expect(body).toContain('Asked:      StopDeployment at 2026-11-20T09:31:00Z');
    expect(body).toContain('CodeDeploy: refused: DeploymentAlreadyCompleted: The deployment d-123456789 is already completed.');
    expect(message.keywords).toEqual(['dev', 'checkout/checkout-prod', 'bake']);
  });

  it('a deployment that had finished: rolled back by deploying the previous revision again, with the commands; the alarm and the deployment in the consoles', () => {
    const body = plainTextBody(messageOf(refused()));
    expect(body).toContain('if it succeeded, the new version is live while its alarm is in ALARM');
    expect(body).toContain('      aws deploy list-deployments --application-name checkout --deployment-group-name checkout-prod --include-only-statuses Succeeded --region us-east-1');
    expect(body).toContain(
      '      aws deploy create-deployment --application-name checkout --deployment-group-name checkout-prod --region us-east-1 --revision "$(aws deploy get-deployment --deployment-id <previous> --query deploymentInfo.revision --output json --region us-east-1)"',
    );
    expect(body).not.toContain('aws deploy stop-deployment');
    expect(body).toContain('      https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/deploy-guard-prod-checkout-checkout-prod-alarm-0');
    expect(body).toContain('      https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-123456789?region=us-east-1');
  });

  it('a call that failed with an error (reason Error: access denied, throttling or a 5xx after the retries): could not be rolled back, with the error; stop it by hand, then read the logs', () => {
    const error = 'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/deploy-guard-prod-bake/fn is not authorized to perform: codedeploy:StopDeployment';
    const message = messageOf(refused({ reason: 'Error', message: error }));
    expect(message.title).toBe('Bake rollback failed: d-123456789 of checkout/checkout-prod (Error)');
    const body = plainTextBody(message);
    expect(body).toContain(
      `Deploy Guard asked CodeDeploy to stop it with automatic rollback (StopDeployment), and the call failed: the deployment could not be rolled back: ${error}. It was NOT rolled back. If it still runs, stop it yourself now (below); then read the bake function's logs for the cause.`,
    );
    expect(body).toContain(`CodeDeploy: failed: ${error}`);
    expect(body).not.toContain('refused');
    expect(body).toContain('If it still runs, stop it and roll it back yourself:');
    expect(body).toContain('      aws deploy stop-deployment --deployment-id d-123456789 --auto-rollback-enabled --region us-east-1');
    expect(body).not.toContain('aws deploy create-deployment');
  });

  it('an error whose message ends a sentence is not given a second full stop', () => {
    const body = plainTextBody(messageOf(refused({ reason: 'Error', message: 'InternalFailure: We encountered an internal error. Please try again.' })));
    expect(body).toContain('could not be rolled back: InternalFailure: We encountered an internal error. Please try again. It was NOT rolled back.');
  });

  it('of an ECS or Lambda deployment, says its AfterAllowTraffic hook was to fail', () => {
    const message = messageOf(refused({ bake: { ...BAKE, platform: 'ECS', action: 'LifecycleHookFailed' } }));
    expect(plainTextBody(message)).toContain('Deploy Guard asked CodeDeploy to fail its AfterAllowTraffic hook, which rolls it back, and CodeDeploy refused');
    expect(plainTextBody(message)).toContain('Deployment: d-123456789 (ECS)');
  });

  it('has its title as subject (ASCII, under 100 characters), and is a chat message in the deployment\'s thread', () => {
    const message = messageOf(refused());
    expect(emailSubject(message.title)).toBe(message.title);
    expect(chatbotNotification(message).metadata).toMatchObject({ threadId: 'd-123456789', eventType: 'Deployment Rollback Failed' });
  });

  it("is delivered by the 'notify' rule", () => {
    expect(matchesPattern(ruleNamed(SYSTEM_RULES, 'notify').pattern, refused())).toBe(true);
  });
});

describe('the other messages', () => {
  it('a rollback that could not be done says so at once, with the reason and how to stop it by hand', () => {
    const message = messageOf(delivered('Deployment Rollback Failed', { reason: 'Error', message: 'ThrottlingException: Rate exceeded' }));
    expect(message.title).toBe('Deploy Guard could not stop d-123456789 of myApplication/myDeploymentGroup: Error');
    const body = plainTextBody(message);
    expect(body).toContain('Reason:     Error: ThrottlingException: Rate exceeded');
    expect(body).toContain('      aws deploy stop-deployment --deployment-id d-123456789 --auto-rollback-enabled --region us-east-1');
  });

  it('a rollback that lost the race to another stop suggests no stop', () => {
    const body = plainTextBody(messageOf(delivered('Deployment Rollback Failed', { reason: 'DeploymentAlreadyStopped', message: 'stopped' })));
    expect(body).not.toContain('aws deploy stop-deployment');
    expect(body).toContain('Someone or something stopped it first');
  });

  it('a model waiting for approval gives the approval command', () => {
    const body = plainTextBody(messageOf(delivered('Model Registered')));
    expect(body).toContain('AUC:           0.780 (serving model: 0.710) on 1200 recent deployments');
    expect(body).toContain('aws sagemaker update-model-package --model-package-arn arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-prod-risk/7 --model-approval-status Approved');
  });

  it("an operator's override says who let which release through, why and until when", () => {
    const message = messageOf(delivered('Operator Override'));
    expect(message.title).toBe('Override: deploy-guard-prod-operator/alice lets d-123456789 through Deploy Guard');
    const body = plainTextBody(message);
    expect(body).toContain('checkout git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a');
    expect(body).toContain('INC-4211: the hotfix must ship');
    expect(body).toContain('2026-11-21T09:25:00Z');
    expect(message.deploymentId).toBe('d-123456789');
  });

  it('a pause says which group runs unenforced until when, and how to turn enforcement back on; a resume says it is back on', () => {
    const pause = { action: 'pause', deploymentGroup: 'checkout-prod', revision: undefined, deploymentId: undefined };
    const paused = plainTextBody(messageOf(delivered('Operator Override', pause)));
    expect(paused).toContain('stops nothing there until 2026-11-21T09:25:00Z');
    expect(paused).toContain('deploy-guard pause --environment dev --group checkout/checkout-prod --resume --reason "..."');
    const resumed = messageOf(delivered('Operator Override', { ...pause, action: 'resume' }));
    expect(resumed.title).toBe("Resumed: deploy-guard-prod-operator/alice turned Deploy Guard's enforcement back on for checkout/checkout-prod");
  });

  it("an operator's approval or rejection of a held deployment says who decided which deployment", () => {
    const decided = { deploymentGroup: 'checkout-prod', revision: undefined, deploymentId: 'd-HELD00001' };
    expect(messageOf(delivered('Operator Override', { ...decided, action: 'approve' })).title).toBe('Approved: deploy-guard-prod-operator/alice let the held d-HELD00001 of checkout/checkout-prod proceed');
    const rejected = messageOf(delivered('Operator Override', { ...decided, action: 'reject' }));
    expect(rejected.title).toBe('Rejected: deploy-guard-prod-operator/alice stopped the held d-HELD00001 of checkout/checkout-prod');
    expect(plainTextBody(rejected)).toContain('it is stopped and rolled back');
  });

  it('a release the pipeline gate failed is told like a stop: the release, its risk against the cut, the factors and the override command by revision', () => {
    const message = messageOf(delivered('Pipeline Gate Decided'));
    expect(message.title).toBe('Deploy Guard stopped release git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a of checkout/checkout-prod at the pipeline gate');
    expect(message.facts).toContainEqual(['Risk', '0.813 ≥ 0.639 (probability of failure against the cut)']);
    expect(message.why).toEqual(['412 lines added (raises the risk)']);
    expect(message.nextSteps.map((step) => step.command)).toEqual(['deploy-guard override --environment dev --application checkout --revision git:6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a --reason "..."']);
    expect(emailSubject(message.title)).toMatch(/^[\x20-\x7e]{1,99}$/);
  });

  it('a release the pipeline gate holds gives the approve and reject commands by job; a pass or a shadow decision is not told', () => {
    const held = messageOf(delivered('Pipeline Gate Decided', { outcome: 'hold', hold: { until: '2026-11-20T09:50:05Z', onTimeout: 'reject' } }));
    expect(held.nextSteps.map((step) => step.command)).toEqual([
      'deploy-guard approve --environment dev --pipeline-job 11111111-abcd-1111-abcd-111111abcdef --reason "..."',
      'deploy-guard reject --environment dev --pipeline-job 11111111-abcd-1111-abcd-111111abcdef --reason "..."',
    ]);
    expect(notificationOf(parseNotifiedEvent(delivered('Pipeline Gate Decided', { outcome: 'pass' }), 'deploy-guard'), CONTEXT)).toEqual({ sent: false, reason: 'not-a-stop' });
    expect(notificationOf(parseNotifiedEvent(delivered('Pipeline Gate Decided', { mode: 'shadow', enforced: false }), 'deploy-guard'), CONTEXT)).toEqual({ sent: false, reason: 'shadow-decision' });
  });

  it.each(['Model Retraining Started', 'Model Promoted', 'Model Rejected'] as const)('%s is told in one message', (kind) => {
    const message = messageOf(delivered(kind));
    expect(message.detailType).toBe(kind);
    expect(emailSubject(message.title)).toMatch(/^[\x20-\x7e]{1,99}$/);
    expect(plainTextBody(message).length).toBeGreaterThan(0);
  });
});

describe('the chat message', () => {
  it('is an AWS Chatbot custom notification: version 1.0, source custom, title and markdown description', () => {
    const chat = chatbotNotification(messageOf(delivered('Deployment Risk Assessed')));
    expect(chat).toMatchObject({ version: '1.0', source: 'custom', id: 'id-Deployment-Risk-Assessed', content: { textType: 'client-markdown', title: 'Deploy Guard stopped d-123456789 of myApplication/myDeploymentGroup (gate mode)' } });
    expect(chat.content.description).toContain('*Risk:* 0.813 ≥ 0.639');
    expect(chat.content.description).toContain('• 412 lines added (raises the risk)');
    expect(chat.content.nextSteps).toContain('If you know this release is safe, override the decision (say why) and deploy it again: `deploy-guard override --environment dev --deployment d-123456789 --reason "..."`');
    expect(chat.metadata).toEqual({ threadId: 'd-123456789', summary: chat.content.title, eventType: 'Deployment Risk Assessed' });
  });
});

describe('the notify handler', () => {
  it('publishes one message with a subject and a plain-text body to the notification topic', async () => {
    const notifications = new RecordingNotifications();
    const result = await handleNotifyEvent(delivered('Deployment Risk Assessed', { mode: 'stop' }), { notifications, config: CONFIG });
    expect(result).toMatchObject({ status: 'notified', detailType: 'Deployment Risk Assessed', deploymentId: 'd-123456789', messageIds: ['m-1'] });
    expect(notifications.published).toEqual([{ topicArn: TOPIC, subject: 'Deploy Guard stopped d-123456789 of myApplication/myDeploymentGroup (stop mode)', body: expect.stringContaining('deploy-guard override') }]);
  });

  it('with a chat channel, publishes the same message as a Chatbot custom notification to the chat topic', async () => {
    const notifications = new RecordingNotifications();
    await handleNotifyEvent(delivered('Deployment Rollback Failed'), { notifications, config: { ...CONFIG, settings: { ...CONFIG.settings, chatTopicArn: CHAT_TOPIC } } });
    expect(notifications.published.map((message) => message.topicArn)).toEqual([TOPIC, CHAT_TOPIC]);
    expect(notifications.published[0].subject).toBe('Deploy Guard could not stop d-123456789 of myApplication/myDeploymentGroup: DeploymentAlreadyCom...');
    expect(JSON.parse(notifications.published[1].body)).toMatchObject({ version: '1.0', source: 'custom', content: { title: 'Deploy Guard could not stop d-123456789 of myApplication/myDeploymentGroup: DeploymentAlreadyCompleted' } });
  });

  it('publishes nothing for a shadow decision, and says why', async () => {
    const notifications = new RecordingNotifications();
    const result = await handleNotifyEvent(delivered('Deployment Risk Assessed', { mode: 'shadow', enforced: false }), { notifications, config: CONFIG });
    expect(result).toEqual({ status: 'not-notified', detailType: 'Deployment Risk Assessed', deploymentId: 'd-123456789', reason: 'shadow-decision' });
    expect(notifications.published).toEqual([]);
  });

  it.each([
    ['an event it does not format', delivered('Deployment Rollback Completed'), /Invalid notify event: detail-type: expected one of Deployment Risk Assessed, .*got "Deployment Rollback Completed"/],
    ['a malformed stop', { ...delivered('Deployment Risk Assessed'), detail: { ...delivered('Deployment Risk Assessed').detail, deploymentId: undefined } }, /detail\.deploymentId/],
    ["another installation's event", delivered('Deployment Risk Assessed', {}, 'someone-else'), /source/],
    ['no event at all', null, /detail-type/],
  ])('refuses %s with an EventValidationError and publishes nothing (Lambda then sends it to the dead-letter queue)', async (_case, event, message) => {
    const notifications = new RecordingNotifications();
    const handled = handleNotifyEvent(event, { notifications, config: CONFIG });
    await expect(handled).rejects.toThrow(EventValidationError);
    await expect(handled).rejects.toThrow(message);
    expect(notifications.published).toEqual([]);
  });

  it("formats exactly the events the 'notify' rule delivers", () => {
    expect([...ruleNamed(SYSTEM_RULES, 'notify').consumes].sort()).toEqual([...NOTIFIED_EVENTS].sort());
  });

  it('reads its settings from DEPLOY_GUARD_NOTIFICATIONS, and names the variable when they are wrong', () => {
    const env = { DEPLOY_GUARD_NOTIFICATIONS: JSON.stringify(CONFIG.settings) };
    expect(notifyConfigFromEnv(env)).toEqual(CONFIG);
    expect(() => notifyConfigFromEnv({ DEPLOY_GUARD_NOTIFICATIONS: JSON.stringify({ ...CONFIG.settings, topicArn: 'nope' }) })).toThrow(/DEPLOY_GUARD_NOTIFICATIONS.*topicArn: expected an SNS topic ARN/);
    expect(() => notifyConfigFromEnv({})).toThrow('DEPLOY_GUARD_NOTIFICATIONS is not set');
  });
});
