import type { EmittedEventKind } from '../events/emitted';
import type { EmittedEvent } from '../events/parse';
import { budgetWords, riskAgainstCut } from './decision-words';

/**
 * What people read about Deploy Guard's decisions: one message per decision that matters (a stop, a
 * stop that could not be done, a model change), in words, with what to do next. Pure: the notify
 * handler (handlers/notify.ts) parses the event, calls notificationOf and publishes what it returns.
 * Shadow-mode decisions are never told one by one.
 */

/** The events notify formats (the 'notify' rule of events/patterns.ts delivers exactly these). */
export const NOTIFIED_EVENTS = [
  'Deployment Risk Assessed',
  'Deployment Rollback Failed',
  'Deployment Held',
  'Deployment Bake Rolled Back',
  'Model Retraining Started',
  'Model Promoted',
  'Model Registered',
  'Model Rejected',
  'Operator Override',
  'Pipeline Gate Decided',
] as const satisfies readonly EmittedEventKind[];
export type NotifiedEventKind = (typeof NOTIFIED_EVENTS)[number];
export type NotifiedEvent = { [Kind in NotifiedEventKind]: EmittedEvent<Kind> }[NotifiedEventKind];

/** What a message needs besides the event: where the commands and links point. */
export interface MessageContext {
  /** The environment of deploy-guard.config.json (`--environment` of the commands). */
  readonly environment: string;
  /** The installation's region (console links). */
  readonly region: string;
}

/** The daily digest of shadow decisions (handlers/shadow-digest-domain.ts): a message no single event causes. */
export const SHADOW_DIGEST_KIND = 'Shadow Decisions Digest';

/** A message as data: rendered as plain text for e-mail and as a Chatbot custom notification for chat. */
export interface Notification {
  /** What it tells about: the kind of the event, or the digest. */
  readonly detailType: NotifiedEventKind | typeof SHADOW_DIGEST_KIND;
  /** The event it tells about (the chat message's id). */
  readonly eventId: string;
  /** The deployment it is about, when it is about one (the chat thread). */
  readonly deploymentId?: string;
  readonly title: string;
  /** One or two sentences: what happened. */
  readonly lead: string;
  readonly facts: readonly (readonly [label: string, value: string])[];
  /** The top factors, in words. */
  readonly why: readonly string[];
  /** Titled blocks of lines after the facts (the digest's groups). */
  readonly sections?: readonly MessageSection[];
  readonly nextSteps: readonly NextStep[];
  readonly keywords: readonly string[];
}

export interface MessageSection {
  readonly title: string;
  readonly lines: readonly string[];
}

export interface NextStep {
  readonly text: string;
  /** A command to run or a link to open, shown on its own line. */
  readonly command?: string;
}

/** Why a valid event is not told: a shadow decision (never mailed one by one), or a decision to proceed. */
export type NotSent = { readonly sent: false; readonly reason: 'shadow-decision' | 'not-a-stop' | 'held' };
export type NotificationDecision = { readonly sent: true; readonly notification: Notification } | NotSent;

/** The message about an event, or why there is none. */
export function notificationOf(event: NotifiedEvent, context: MessageContext): NotificationDecision {
  switch (event['detail-type']) {
    case 'Deployment Risk Assessed':
      return stopNotification(event as EmittedEvent<'Deployment Risk Assessed'>, context);
    case 'Deployment Rollback Failed':
      return sent(rollbackFailedNotification(event as EmittedEvent<'Deployment Rollback Failed'>, context));
    case 'Operator Override':
      return sent(operatorNotification(event as EmittedEvent<'Operator Override'>, context));
    case 'Deployment Held':
      return sent(heldNotification(event as EmittedEvent<'Deployment Held'>, context));
    case 'Deployment Bake Rolled Back':
      return sent(bakeRolledBackNotification(event as EmittedEvent<'Deployment Bake Rolled Back'>, context));
    case 'Pipeline Gate Decided':
      return gateNotification(event as EmittedEvent<'Pipeline Gate Decided'>, context);
    default:
      return sent(modelNotification(event as EmittedEvent<'Model Retraining Started' | 'Model Promoted' | 'Model Registered' | 'Model Rejected'>));
  }
}

const sent = (notification: Notification): NotificationDecision => ({ sent: true, notification });

/** The CodeDeploy console page of a deployment. */
export function deploymentConsoleUrl(region: string, deploymentId: string): string {
  return `https://${region}.console.aws.amazon.com/codesuite/codedeploy/deployments/${encodeURIComponent(deploymentId)}?region=${region}`;
}

/** The commands a person answers a decision with (`deploy-guard override`, `approve`, `reject`). */
export function decisionCommand(verb: 'override' | 'approve' | 'reject', environment: string, deploymentId: string): string {
  return `deploy-guard ${verb} --environment ${environment} --deployment ${deploymentId} --reason "..."`;
}

const CUT_SOURCE_WORDS = {
  group: "taken from the group's recent scores",
  pooled: "taken from the installation's recent scores",
  none: 'no cut yet: too few scores to take one from',
  threshold: 'a fixed threshold set in the configuration',
} as const;

const FALLBACK_CAUSE_WORDS = {
  endpoint: 'the model endpoint gave no probability',
  model: 'the serving model could not be loaded',
  assessment: 'no assessment arrived in time',
} as const;

function stopNotification(event: EmittedEvent<'Deployment Risk Assessed'>, context: MessageContext): NotificationDecision {
  const detail = event.detail;
  if (detail.mode === 'shadow' || !detail.enforced) return { sent: false, reason: 'shadow-decision' };
  if (detail.decision !== 'rollback') return { sent: false, reason: 'not-a-stop' };
  // The group holds it for a person instead of stopping it: Deployment Held tells that, once, where it waits.
  if (detail.onRisk === 'hold') return { sent: false, reason: 'held' };
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const id = detail.deploymentId;
  const where = detail.mode === 'gate' ? `at the gate (${detail.trigger}), before traffic moved` : `at ${detail.trigger}`;
  const lead = detail.fallback
    ? `Deploy Guard stopped deployment ${id} of ${group} ${where}: there was no probability (${FALLBACK_CAUSE_WORDS[detail.fallback.cause]}) and the group's ${detail.fallback.policy} policy rolls back. CodeDeploy rolls it back.`
    : `Deploy Guard stopped deployment ${id} of ${group} ${where}: it is among the riskiest deployments it may stop. CodeDeploy rolls it back.`;
  const risk = detail.probability === null ? `no score (${detail.fallback ? `${detail.fallback.cause}: ${detail.fallback.reason}` : 'none'})` : `${riskAgainstCut(detail.probability, detail.cut)} (probability of failure against the cut it was decided with)`;
  const facts: [string, string][] = [
    ['Deployment', `${id} (${detail.platform})`],
    ['Group', group],
    ['Mode', `${detail.mode}: ${detail.mode === 'gate' ? 'decided when the new version was ready, before traffic moved' : 'stopped as it started'}`],
    ['Risk', risk],
    ['Block budget', `${budgetWords(detail.blockBudget)} of the group's deployments may be stopped; the cut is ${CUT_SOURCE_WORDS[detail.cutSource]}`],
    ['Model', detail.modelVersion],
    ['Assessed', detail.assessedAt],
  ];
  const tier = tierWords(detail.bake);
  if (tier) facts.push(['Watch tier', tier]);
  if (detail.changeSummary && detail.changeSummary.status !== 'joined') {
    facts.push(['Change summary', detail.changeSummary.status === 'missing' ? `none received for ${detail.changeSummary.revision ?? 'the revision'}: scored without what the release changes` : 'CodeDeploy reported no revision: scored without what the release changes']);
  }
  const why = detail.topFactors.map((factor) => `${factor.text} (${factor.contribution >= 0 ? 'raises' : 'lowers'} the risk)`);
  const nextSteps: NextStep[] = [
    { text: 'If you know this release is safe, override the decision (say why) and deploy it again:', command: decisionCommand('override', context.environment, id) },
  ];
  nextSteps.push({ text: 'The deployment in the CodeDeploy console:', command: deploymentConsoleUrl(context.region, id) });
  return sent({
    detailType: 'Deployment Risk Assessed',
    eventId: event.id,
    deploymentId: id,
    title: `Deploy Guard stopped ${id} of ${group} (${detail.mode} mode)`,
    lead,
    facts,
    why: why.length > 0 ? why : [detail.probability === null ? 'No factors: there was no probability.' : 'No factor stood out.'],
    nextSteps,
    keywords: [context.environment, group, detail.mode],
  });
}

/**
 * The group's tiers, for a stop: it is in the stop tier; below the stop cut the group bakes the next
 * riskiest deployments (at or above the bake cut) for a window after their traffic moves, rolled back
 * on any of the group's alarms. Undefined for a group without a bake tier.
 */
export function tierWords(bake: { readonly cut: number | null; readonly minutes: number; readonly alarms?: readonly string[] } | undefined): string | undefined {
  if (!bake) return undefined;
  const below = bake.cut === null ? 'no bake cut yet (no scores): nothing is baked until there are' : `deployments at or above the bake cut ${bake.cut.toFixed(4)} are baked`;
  const alarms = bake.alarms && bake.alarms.length > 0 ? `any of its alarms (${bake.alarms.join(', ')})` : "any of the group's alarms";
  return `stop (above the stop cut). Below it ${below}: watched for ${bake.minutes} minutes after their traffic moves, and rolled back if ${alarms} goes to ALARM`;
}

const HOLD_WORDS = { approve: 'lets it go on', reject: 'rolls it back' } as const;

function heldNotification(event: EmittedEvent<'Deployment Held'>, context: MessageContext): Notification {
  const detail = event.detail;
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const id = detail.deploymentId;
  const where = detail.platform === 'Server' ? 'waits at READY, before traffic moves' : 'waits in its BeforeAllowTraffic hook, before traffic moves';
  const console = { text: 'The deployment in the CodeDeploy console:', command: deploymentConsoleUrl(context.region, id) };
  const facts: [string, string][] = [
    ['Deployment', `${id} (${detail.platform})`],
    ['Group', group],
    ['Why', detail.reason],
    ['Held since', detail.since],
    ['Timeout', `${detail.until}: then it ${HOLD_WORDS[detail.onTimeout]} (onHoldTimeout ${detail.onTimeout})`],
  ];
  if (detail.status === 'timed-out' && detail.settled) {
    return {
      detailType: 'Deployment Held',
      eventId: event.id,
      deploymentId: id,
      title: `Deploy Guard's hold of ${id} of ${group} timed out: ${detail.settled.action === 'approve' ? 'approved' : 'rejected'}`,
      lead: `Nobody approved or rejected deployment ${id} of ${group} before ${detail.until}; the hold's timeout ${HOLD_WORDS[detail.settled.action]} (${detail.settled.outcome}).`,
      facts: [...facts, ['Decided', detail.settled.at]],
      why: [],
      nextSteps: [console],
      keywords: [context.environment, group, 'hold'],
    };
  }
  return {
    detailType: 'Deployment Held',
    eventId: event.id,
    deploymentId: id,
    title: `Deploy Guard holds ${id} of ${group}: approve or reject it`,
    lead: `Deploy Guard judged deployment ${id} of ${group} risky and holds it for you: it ${where}. Approve it or reject it before ${detail.until}, or the hold's timeout ${HOLD_WORDS[detail.onTimeout]}.`,
    facts,
    why: [],
    nextSteps: [
      { text: 'If you know this release is safe, approve it (say why): it goes on.', command: decisionCommand('approve', context.environment, id) },
      { text: 'Otherwise reject it (say why): CodeDeploy rolls it back.', command: decisionCommand('reject', context.environment, id) },
      console,
    ],
    keywords: [context.environment, group, 'hold'],
  };
}

const BAKE_ROLLBACK_WORDS = {
  StopDeployment: 'stopped it with automatic rollback',
  LifecycleHookFailed: 'failed its AfterAllowTraffic hook',
} as const;

function bakeRolledBackNotification(event: EmittedEvent<'Deployment Bake Rolled Back'>, context: MessageContext): Notification {
  const detail = event.detail;
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const id = detail.deploymentId;
  return {
    detailType: 'Deployment Bake Rolled Back',
    eventId: event.id,
    deploymentId: id,
    title: `Deploy Guard rolled back ${id} of ${group}: an alarm during its bake`,
    lead: `Deployment ${id} of ${group} was risky enough to be baked (watched after its traffic moved). The alarm ${detail.alarmName} went to ALARM during the bake, so Deploy Guard ${BAKE_ROLLBACK_WORDS[detail.action]}: CodeDeploy rolls it back to the previous version.`,
    facts: [
      ['Deployment', `${id} (${detail.platform})`],
      ['Group', group],
      ['Alarm', detail.alarmName],
      ['Bake', `${detail.bakeMinutes} minutes from ${detail.bakeOpenedAt}`],
      ['Rolled back', `${detail.rolledBackAt} (${detail.action})`],
    ],
    why: [],
    nextSteps: [
      { text: 'Find out why the alarm fired before deploying this release again. The deployment in the CodeDeploy console:', command: deploymentConsoleUrl(context.region, id) },
    ],
    keywords: [context.environment, group, 'bake'],
  };
}

const ROLLBACK_FAILURE_ADVICE = {
  DeploymentAlreadyCompleted: 'The deployment finished before the stop reached it: it is live. Watch it, and roll it back yourself if it misbehaves.',
  DeploymentAlreadyStopped: 'Someone or something stopped it first: nothing to do unless that was not meant.',
  DeploymentNotFound: 'CodeDeploy does not know the deployment: check that the group Deploy Guard guards is the one deployed to.',
  HookExpired: "The traffic hook's time ran out before the rollback reported: CodeDeploy decided by itself. Check the deployment.",
  DeploymentAlreadyProceeded: 'Deploy Guard had already let it proceed when the rollback came: it runs. Watch it, and roll it back yourself if it misbehaves.',
  Error: "The rollback failed: read the rollback function's logs, and stop the deployment yourself if it still runs.",
} as const;

function rollbackFailedNotification(event: EmittedEvent<'Deployment Rollback Failed'>, context: MessageContext): Notification {
  const detail = event.detail;
  if (detail.bake) return bakeRollbackRefusedNotification(event, detail.bake, context);
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const id = detail.deploymentId;
  const stillRuns = detail.reason !== 'DeploymentAlreadyStopped';
  return {
    detailType: 'Deployment Rollback Failed',
    eventId: event.id,
    deploymentId: id,
    title: `Deploy Guard could not stop ${id} of ${group}: ${detail.reason}`,
    lead: `Deploy Guard decided to stop deployment ${id} of ${group}, but the rollback did not happen (${detail.reason}). ${ROLLBACK_FAILURE_ADVICE[detail.reason]}`,
    facts: [
      ['Deployment', id],
      ['Group', group],
      ['Reason', `${detail.reason}: ${detail.message}`],
      ['Failed at', detail.failedAt],
    ],
    why: [],
    nextSteps: [
      ...(stillRuns ? [{ text: 'To stop it and roll it back yourself:', command: `aws deploy stop-deployment --deployment-id ${id} --auto-rollback-enabled --region ${context.region}` }] : []),
      { text: 'The deployment in the CodeDeploy console:', command: deploymentConsoleUrl(context.region, id) },
    ],
    keywords: [context.environment, group],
  };
}

const BAKE_ROLLBACK_ASKED = {
  StopDeployment: 'to stop it with automatic rollback (StopDeployment)',
  LifecycleHookFailed: 'to fail its AfterAllowTraffic hook, which rolls it back',
} as const;

/** What the on-call engineer does about a bake's rollback CodeDeploy refused, by CodeDeploy's answer. */
const BAKE_REFUSAL_ADVICE: Partial<Record<EmittedEvent<'Deployment Rollback Failed'>['detail']['reason'], string>> = {
  DeploymentAlreadyCompleted:
    'The deployment had already finished: if it succeeded, the new version is live while its alarm is in ALARM. Look at the alarm now and, if the release is at fault, roll back by deploying the previous revision again.',
  DeploymentNotFound: 'CodeDeploy does not know the deployment: check that the group Deploy Guard guards is the one deployed to, and look at the alarm.',
};

/**
 * A bake's rollback on an alarm that CodeDeploy refused, or whose call failed with an error (reason
 * Error: access denied, throttling or a 5xx after the retries): the deployment is NOT rolled back
 * while an alarm of its group is in ALARM. Which deployment, which alarm, what CodeDeploy was asked and
 * answered, and how to roll back by hand: redeploy the previous revision when the deployment finished,
 * otherwise stop it with automatic rollback.
 */
function bakeRollbackRefusedNotification(
  event: EmittedEvent<'Deployment Rollback Failed'>,
  bake: NonNullable<EmittedEvent<'Deployment Rollback Failed'>['detail']['bake']>,
  context: MessageContext,
): Notification {
  const detail = event.detail;
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const id = detail.deploymentId;
  const region = context.region;
  const failed = detail.reason === 'Error';
  const advice = BAKE_REFUSAL_ADVICE[detail.reason] ?? "If it still runs, stop it yourself now (below); then read the bake function's logs for the cause.";
  const byHand: NextStep[] =
    detail.reason === 'DeploymentAlreadyCompleted'
      ? [
          {
            text: 'To roll back by hand, find the deployment of the group that succeeded before this one:',
            command: `aws deploy list-deployments --application-name ${detail.application} --deployment-group-name ${detail.deploymentGroup} --include-only-statuses Succeeded --region ${region}`,
          },
          {
            text: 'and deploy its revision again (name it for <previous>):',
            command: `aws deploy create-deployment --application-name ${detail.application} --deployment-group-name ${detail.deploymentGroup} --region ${region} --revision "$(aws deploy get-deployment --deployment-id <previous> --query deploymentInfo.revision --output json --region ${region})"`,
          },
        ]
      : [{ text: 'If it still runs, stop it and roll it back yourself:', command: `aws deploy stop-deployment --deployment-id ${id} --auto-rollback-enabled --region ${region}` }];
  return {
    detailType: 'Deployment Rollback Failed',
    eventId: event.id,
    deploymentId: id,
    title: `Bake rollback ${failed ? 'failed' : 'refused'}: ${id} of ${group} (${detail.reason})`,
    lead:
      `Deployment ${id} of ${group} was being baked (watched after its traffic moved) when the alarm ${bake.alarmName} went to ALARM. Deploy Guard asked CodeDeploy ${BAKE_ROLLBACK_ASKED[bake.action]}, ` +
      (failed ? `and the call failed: the deployment could not be rolled back: ${detail.message.replace(/\.$/, '')}. It was NOT rolled back. ` : `and CodeDeploy refused (${detail.reason}): the deployment was NOT rolled back. `) +
      advice,
    facts: [
      ['Deployment', `${id} (${bake.platform})`],
      ['Group', group],
      ['Alarm', bake.alarmName],
      ['Bake', `${bake.minutes} minutes from ${bake.openedAt}`],
      ['Asked', `${bake.action} at ${detail.failedAt}`],
      ['CodeDeploy', failed ? `failed: ${detail.message}` : `refused: ${detail.reason}: ${detail.message}`],
    ],
    why: [],
    nextSteps: [
      ...byHand,
      { text: 'The alarm in the CloudWatch console:', command: `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(bake.alarmName)}` },
      { text: 'The deployment in the CodeDeploy console:', command: deploymentConsoleUrl(region, id) },
    ],
    keywords: [context.environment, group, 'bake'],
  };
}

const auc = (metrics: { readonly auc: number | null } | null) => (metrics?.auc == null ? 'n/a' : metrics.auc.toFixed(3));

function modelNotification(event: EmittedEvent<'Model Retraining Started' | 'Model Promoted' | 'Model Registered' | 'Model Rejected'>): Notification {
  const base = { eventId: event.id, why: [], keywords: ['model'] };
  switch (event['detail-type']) {
    case 'Model Retraining Started': {
      const detail = (event as EmittedEvent<'Model Retraining Started'>).detail;
      return {
        ...base,
        detailType: 'Model Retraining Started',
        title: `Deploy Guard started retraining: ${detail.trainingJobName}`,
        lead: `Deploy Guard started training a new model (${detail.trigger.type === 'alarm' ? `alarm ${detail.trigger.alarmName}` : `every ${detail.trigger.periodDays} days`}). It replaces the serving model only if it is at least as good on the recent deployments.`,
        facts: [
          ['Training job', detail.trainingJobName],
          ['Why', detail.reason],
          ['Data', `${detail.dataWindow.from} to ${detail.dataWindow.to}`],
          ['Started', detail.startedAt],
        ],
        nextSteps: [],
      };
    }
    case 'Model Promoted': {
      const detail = (event as EmittedEvent<'Model Promoted'>).detail;
      return {
        ...base,
        detailType: 'Model Promoted',
        title: `Deploy Guard serves a new model: ${detail.modelVersion}`,
        lead: `The endpoint ${detail.endpointName} now serves ${detail.modelVersion} (before: ${detail.previousModelVersion ?? 'the first model'}).`,
        facts: [
          ['AUC', `${auc(detail.candidate)} (serving model: ${auc(detail.serving)}) on ${detail.candidate.rows} recent deployments`],
          ['Training job', detail.trainingJobName],
          ['Promoted', detail.promotedAt],
        ],
        nextSteps: [],
      };
    }
    case 'Model Registered': {
      const detail = (event as EmittedEvent<'Model Registered'>).detail;
      return {
        ...base,
        detailType: 'Model Registered',
        title: `A better model waits for approval: ${detail.modelVersion}`,
        lead: `${detail.modelVersion} is at least as good as the serving model; it is registered pending your approval and not served until then.`,
        facts: [
          ['AUC', `${auc(detail.candidate)} (serving model: ${auc(detail.serving)}) on ${detail.candidate.rows} recent deployments`],
          ['Model package', detail.modelPackageArn],
        ],
        nextSteps: [{ text: 'To serve it, approve the model package:', command: `aws sagemaker update-model-package --model-package-arn ${detail.modelPackageArn} --model-approval-status Approved` }],
      };
    }
    case 'Model Rejected': {
      const detail = (event as EmittedEvent<'Model Rejected'>).detail;
      return {
        ...base,
        detailType: 'Model Rejected',
        title: `Deploy Guard kept the serving model: ${detail.reason}`,
        lead: `The model of ${detail.trainingJobName} was not promoted: ${detail.message}.`,
        facts: [
          ['Training job', detail.trainingJobName],
          ['AUC', `${auc(detail.candidate)} (serving model: ${auc(detail.serving)})`],
          ['Rejected', detail.rejectedAt],
        ],
        nextSteps: [],
      };
    }
  }
}

/**
 * An operator's override, pause or resume: told to everyone who hears Deploy Guard's stops, since it
 * changes what Deploy Guard enforces; with who, why, until when, and how to undo it.
 */
function operatorNotification(event: EmittedEvent<'Operator Override'>, context: MessageContext): Notification {
  const detail = event.detail;
  const who = detail.by.split('/').slice(-2).join('/');
  const group = `${detail.application}/${detail.deploymentGroup ?? ''}`;
  const base = { detailType: 'Operator Override' as const, eventId: event.id, why: [], keywords: ['operator', detail.action] };
  const facts: [string, string][] = [
    ['By', detail.by],
    ['Why', detail.reason],
    ['Set', detail.at],
  ];
  if (detail.action === 'override') {
    const release = `${detail.application} ${detail.revision}`;
    return {
      ...base,
      ...(detail.deploymentId ? { deploymentId: detail.deploymentId } : {}),
      title: `Override: ${who} lets ${detail.deploymentId ?? release} through Deploy Guard`,
      lead: `${who} let the release ${release} through Deploy Guard until ${detail.until}: its deployments and their retries proceed, whatever the risk.`,
      facts: [['Release', release], ...(detail.deploymentId ? [['Deployment', detail.deploymentId] as [string, string]] : []), ...facts, ['Until', detail.until]],
      nextSteps: detail.deploymentId
        ? [{ text: 'Retry a stopped deployment of this release in CodeDeploy; watch it:', command: deploymentConsoleUrl(context.region, detail.deploymentId) }]
        : [],
    };
  }
  if (detail.action === 'pause') {
    return {
      ...base,
      title: `Paused: ${who} turned Deploy Guard's enforcement off for ${group}`,
      lead: `Deploy Guard still assesses ${group} but stops nothing there until ${detail.until}.`,
      facts: [['Group', group], ...facts, ['Until', detail.until]],
      nextSteps: [{ text: 'To turn enforcement back on earlier:', command: `deploy-guard pause --environment ${context.environment} --group ${group} --resume --reason "..."` }],
    };
  }
  if (detail.action === 'approve' || detail.action === 'reject') {
    const deployment = detail.deploymentId ?? '';
    const approved = detail.action === 'approve';
    return {
      ...base,
      ...(detail.deploymentId ? { deploymentId: detail.deploymentId } : {}),
      title: approved ? `Approved: ${who} let the held ${deployment} of ${group} proceed` : `Rejected: ${who} stopped the held ${deployment} of ${group}`,
      lead: approved ? `${who} approved ${deployment}, which Deploy Guard held as risky: it proceeds.` : `${who} rejected ${deployment}, which Deploy Guard held as risky: it is stopped and rolled back.`,
      facts: [['Group', group], ['Deployment', deployment], ...facts],
      nextSteps: detail.deploymentId ? [{ text: 'Watch it:', command: deploymentConsoleUrl(context.region, detail.deploymentId) }] : [],
    };
  }
  return {
    ...base,
    title: `Resumed: ${who} turned Deploy Guard's enforcement back on for ${group}`,
    lead: `The pause of ${group} ended at ${detail.until}; Deploy Guard stops risky deployments there again.`,
    facts: [['Group', group], ...facts],
    nextSteps: [],
  };
}

/** SNS's subject: ASCII printable, one line, under 100 characters. */
export function emailSubject(title: string): string {
  const ascii = title.replace(/≥/g, '>=').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length < 100 ? ascii : `${ascii.slice(0, 96)}...`;
}

/** The plain-text body an e-mail shows. */
export function plainTextBody(notification: Notification): string {
  const width = Math.max(0, ...notification.facts.map(([label]) => label.length)) + 2;
  const lines = [notification.lead, ''];
  for (const [label, value] of notification.facts) lines.push(`${`${label}:`.padEnd(width)}${value}`);
  if (notification.why.length > 0) lines.push('', 'Why:', ...notification.why.map((line) => `  - ${line}`));
  for (const section of notification.sections ?? []) lines.push('', section.title, ...section.lines.map((line) => `  ${line}`));
  if (notification.nextSteps.length > 0) {
    lines.push('', 'What to do next:');
    for (const step of notification.nextSteps) lines.push(`  - ${step.text}`, ...(step.command ? [`      ${step.command}`] : []));
  }
  return lines.join('\n');
}

/** The custom-notification shape AWS Chatbot (Amazon Q Developer in chat applications) posts to Slack or Teams. */
export interface ChatbotCustomNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: readonly string[];
    readonly keywords?: readonly string[];
  };
  readonly metadata?: { readonly threadId?: string; readonly summary?: string; readonly eventType?: string };
}

/** The message as a Chatbot custom notification (markdown the chat client renders). */
export function chatbotNotification(notification: Notification): ChatbotCustomNotification {
  const description = [
    notification.lead,
    '',
    ...notification.facts.map(([label, value]) => `*${label}:* ${value}`),
    ...(notification.why.length > 0 ? ['', '*Why:*', ...notification.why.map((line) => `• ${line}`)] : []),
    ...(notification.sections ?? []).flatMap((section) => ['', `*${section.title}*`, ...section.lines.map((line) => `• ${line}`)]),
  ].join('\n');
  return {
    version: '1.0',
    source: 'custom',
    id: notification.eventId,
    content: {
      textType: 'client-markdown',
      title: notification.title,
      description,
      ...(notification.nextSteps.length > 0 ? { nextSteps: notification.nextSteps.map((step) => (step.command ? `${step.text} \`${step.command}\`` : step.text)) } : {}),
      keywords: notification.keywords,
    },
    metadata: {
      ...(notification.deploymentId ? { threadId: notification.deploymentId } : {}),
      summary: notification.title,
      eventType: notification.detailType,
    },
  };
}

/**
 * A release the pipeline gate failed or holds, told like a stop or a hold of a deployment: the
 * release (no deployment exists yet), the risk against the cut, the top factors and the override,
 * approve or reject command. A pass, or a decision in shadow mode, is not told.
 */
function gateNotification(event: EmittedEvent<'Pipeline Gate Decided'>, context: MessageContext): NotificationDecision {
  const detail = event.detail;
  if (detail.mode === 'shadow' || !detail.enforced) return { sent: false, reason: 'shadow-decision' };
  if (detail.outcome === 'pass') return { sent: false, reason: 'not-a-stop' };
  const group = `${detail.application}/${detail.deploymentGroup}`;
  const release = `release ${detail.revision} of ${group}`;
  const held = detail.outcome === 'hold' && !detail.settled;
  const facts: [string, string][] = [
    ['Release', `${detail.revision} (pipeline execution ${detail.pipelineExecutionId ?? 'not named'}, job ${detail.jobId})`],
    ['Group', group],
    ['Mode', `${detail.mode}: decided at the pipeline gate, before the deployment was created`],
    ['Risk', detail.probability === null ? `no score (${detail.fallback ? `${detail.fallback.cause}: ${detail.fallback.reason}` : 'none'})` : `${riskAgainstCut(detail.probability, detail.cut)} (probability of failure against the cut)`],
    ['Block budget', `${budgetWords(detail.blockBudget)} of the group's deployments may be stopped; the cut is ${CUT_SOURCE_WORDS[detail.cutSource]}`],
    ['Model', detail.modelVersion],
    ['Decided', detail.decidedAt],
  ];
  if (detail.hold) facts.push(['Timeout', `${detail.hold.until}: then it ${detail.hold.onTimeout === 'approve' ? 'lets the pipeline go on' : 'fails the gate action'} (onHoldTimeout ${detail.hold.onTimeout})`]);
  if (detail.settled) facts.push(['Settled', `${detail.settled.action} by ${detail.settled.by} at ${detail.settled.at}`]);
  const why = detail.topFactors.map((factor) => `${factor.text} (${factor.contribution >= 0 ? 'raises' : 'lowers'} the risk)`);
  const override = `deploy-guard override --environment ${context.environment} --application ${detail.application} --revision ${detail.revision} --reason "..."`;
  const nextSteps: NextStep[] = held
    ? [
        { text: 'If you know this release is safe, approve it (say why): the pipeline goes on to its Deploy stage.', command: `deploy-guard approve --environment ${context.environment} --pipeline-job ${detail.jobId} --reason "..."` },
        { text: 'Otherwise reject it (say why): the gate action fails.', command: `deploy-guard reject --environment ${context.environment} --pipeline-job ${detail.jobId} --reason "..."` },
      ]
    : [{ text: 'If you know this release is safe, override the decision (say why) and release it again:', command: override }];
  return sent({
    detailType: 'Pipeline Gate Decided',
    eventId: event.id,
    title: held ? `Deploy Guard holds ${release} at the pipeline gate: approve or reject it` : `Deploy Guard stopped ${release} at the pipeline gate`,
    lead: held
      ? `Deploy Guard judged ${release} risky and holds its pipeline at the gate, before any deployment exists. Approve or reject it before ${detail.hold?.until ?? 'the timeout'}.`
      : `Deploy Guard failed the pipeline's gate action for ${release}: ${detail.message}`,
    facts,
    why: why.length > 0 ? why : [detail.probability === null ? 'No factors: there was no probability.' : 'No factor stood out.'],
    nextSteps,
    keywords: [context.environment, group, detail.mode, 'pipeline'],
  });
}
