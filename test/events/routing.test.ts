import { compilePattern } from '../../events/matcher';
import { EMITTED_EVENTS, buildEntry, type EmittedEventKind } from '../../events/emitted';
import { parseKnownEvent } from '../../events/parse';
import { SYSTEM_RULES, systemRules, ruleNamed, type SystemRule } from '../../events/patterns';
import {
  AWS_SAMPLES,
  derivedDeploymentEvent,
  derivedOwnAlarmEvent,
  derivedOwnTrainingJobEvent,
  derivedOwnModelPackageEvent,
  repairedModelPackageSample,
  sample,
} from '../../events/samples';

function rulesReached(event: unknown, rules: readonly SystemRule[] = SYSTEM_RULES): string[] {
  return rules.filter((rule) => compilePattern(rule.pattern).matches(event)).map((rule) => rule.name);
}

function emitted(kind: EmittedEventKind, detail: unknown = EMITTED_EVENTS[kind].example, source = 'deploy-guard') {
  const entry = buildEntry(kind, detail as never, { source, eventBusName: 'deploy-guard' });
  return { version: '0', id: 'e', account: '123456789012', region: 'us-east-1', time: '2026-11-20T09:00:00Z', resources: [], source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}

/** The Risk Assessed example (a gate at READY) with the decision reversed: the deployment may proceed. */
const gateProceed = { ...EMITTED_EVENTS['Deployment Risk Assessed'].example, decision: 'proceed', probability: 0.1 };

/** Which rules each real sample is meant to reach: exactly these, and no other. */
const EXPECTED_RULES: Record<string, string[]> = {
  'codedeploy-deployment-state-change.success.json': ['deployment-finished'],
  'codedeploy-deployment-state-change.failure.json': ['deployment-finished'],
  'codedeploy-instance-state-change.success.json': [],
  'codepipeline-action-execution.abandoned.json': [],
  'codepipeline-action-execution.failed.json': [],
  'codepipeline-action-execution.started.json': ['pipeline-deploy-action-started'],
  'codepipeline-action-execution.started.codedeploy-provider.lambda-go.json': ['pipeline-deploy-action-started'],
  'codepipeline-action-execution.succeeded.json': [],
  // What CodePipeline sends the gate's function directly: no rule routes it.
  'codepipeline-lambda-invoke-job.json': [],
  'codepipeline-pipeline-execution.failed.json': [],
  'codepipeline-pipeline-execution.started.json': [],
  'codepipeline-pipeline-execution.started.PROCESSED-codestar-notification-form.json': [],
  'codepipeline-pipeline-execution.stopping.json': [],
  'codepipeline-pipeline-execution.succeeded.json': [],
  'codepipeline-stage-execution.started.json': [],
  'codepipeline-stage-execution.stopped.json': [],
  'codepipeline-stage-execution.stopping.json': [],
  // Someone else's alarms and jobs: drift and promote react only to Deploy Guard's own.
  'cloudwatch-alarm-state-change.single-metric.json': [],
  'cloudwatch-alarm-state-change.metric-math.json': [],
  'cloudwatch-alarm-state-change.anomaly-detection.json': [],
  'cloudwatch-alarm-state-change.composite-with-suppressor.json': [],
  'cloudwatch-alarm-state-change.model-monitor-drift.drift-detection-sample.json': [],
  'cloudwatch-alarm-configuration-change.update-metric-alarm.json': [],
  'cloudwatch-alarm-LAMBDA-ACTION-payload.single-metric.powertools.json': [],
  // A schedule rule sends its Scheduled Events to its own targets; no pattern rule matches one.
  'eventbridge-scheduled-event.json': [],
  'sagemaker-training-job-state-change.json': [],
  'sagemaker-endpoint-state-change.json': [],
  'sagemaker-model-package-state-change.json': [],
  'sagemaker-hyperparameter-tuning-job-state-change.json': [],
  'sagemaker-pipeline-execution-status-change.json': [],
  'sagemaker-pipeline-execution-status-change.drift-detection-sample.json': [],
  'sagemaker-pipeline-execution-step-status-change.json': [],
  'sagemaker-transform-job-state-change.json': [],
};

describe('routing: each real sample reaches exactly the rules meant for it', () => {
  it('the expectation table covers every sample', () => {
    expect(Object.keys(EXPECTED_RULES).sort()).toEqual(AWS_SAMPLES.map((candidate) => candidate.file).sort());
  });

  it.each(Object.entries(EXPECTED_RULES))('%s → %j', (file, expected) => {
    expect(rulesReached(sample(file).event)).toEqual(expected);
  });

  it.each([
    ['START', ['deployment-started']],
    ['READY', ['deployment-started']],
    ['STOP', ['deployment-finished']],
    ['FAILURE', ['deployment-finished']],
    ['SUCCESS', ['deployment-finished']],
  ] as const)('derived CodeDeploy %s → %j', (state, expected) => {
    expect(rulesReached(derivedDeploymentEvent(state).event)).toEqual(expected);
  });

  it('derived: Deploy Guard\'s own alarm in ALARM reaches drift; back to OK reaches nothing', () => {
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-model-error-rate', 'ALARM').event)).toEqual(['model-alarm']);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-model-brier', 'ALARM').event)).toEqual(['model-alarm']);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-model-error-rate', 'OK').event)).toEqual([]);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guardian-x', 'ALARM').event)).toEqual([]);
  });

  it("matches alarm names exactly: another installation's alarm under a longer prefix reaches nothing", () => {
    const rules = systemRules({ namePrefix: 'deploy-guard-dev' });
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-dev-model-brier').event, rules)).toEqual(['model-alarm']);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-dev-x-model-brier').event, rules)).toEqual([]);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-dev-model-brier-copy').event, rules)).toEqual([]);
  });

  it.each([
    ['Completed', ['training-job-finished']],
    ['Failed', ['training-job-finished']],
    ['Stopped', ['training-job-finished']],
    ['InProgress', []],
  ] as const)('derived: Deploy Guard\'s own training job %s → %j', (status, expected) => {
    expect(rulesReached(derivedOwnTrainingJobEvent(status).event)).toEqual(expected);
  });

  it("the repaired model-package sample (another group's package, rejected) reaches no rule", () => {
    expect(rulesReached(repairedModelPackageSample().event)).toEqual([]);
  });

  it.each([
    ['Approved', ['model-package-approved']],
    ['Rejected', []],
    ['PendingManualApproval', []],
  ] as const)("derived: a package of the installation's own group %s → %j", (status, expected) => {
    expect(rulesReached(derivedOwnModelPackageEvent(status).event)).toEqual(expected);
  });

  it("derived: an approved package of another installation's group (deploy-guard-x-risk) reaches no rule", () => {
    expect(rulesReached(derivedOwnModelPackageEvent('Approved', 'deploy-guard-x').event)).toEqual([]);
  });
});

describe('routing of Deploy Guard\'s own events', () => {
  it.each([
    ['Deployment Change Summary', ['change-summary']],
    ['Deployment Risk Assessed', ['notify']],
    ['Deployment Rollback Requested', ['rollback-requested']],
    // The stop was told when it was decided (Risk Assessed); its completion is not told again.
    ['Deployment Rollback Completed', []],
    ['Deployment Rollback Failed', ['notify']],
    ['Model Retraining Started', ['notify']],
    ['Model Promoted', ['notify']],
    ['Model Registered', ['notify']],
    ['Model Rejected', ['notify']],
  ] as const)('the %s example → %j', (kind, expected) => {
    expect(rulesReached(emitted(kind))).toEqual(expected);
  });

  it('an enforced gate assessment at READY that says proceed reaches exactly gate-proceed (ContinueDeployment), and notifies nobody', () => {
    expect(rulesReached(emitted('Deployment Risk Assessed', gateProceed))).toEqual(['gate-proceed']);
  });

  it.each([
    ['in shadow mode', { mode: 'shadow', enforced: false }],
    ['not enforced', { enforced: false }],
    ['at START', { trigger: 'START' }],
    ['in stop mode', { mode: 'stop' }],
  ])('a proceed assessment %s reaches no rule', (_case, change) => {
    expect(rulesReached(emitted('Deployment Risk Assessed', { ...gateProceed, ...change }))).toEqual([]);
  });

  it.each([
    ['in shadow mode (told in no per-decision message)', { mode: 'shadow', enforced: false }],
    ['explored (a would-be stop let through)', { decision: 'proceed', explored: true, propensity: 0.02 }],
    ['that proceeds at START', { mode: 'stop', trigger: 'START', decision: 'proceed' }],
  ])('an assessment %s reaches no notification', (_case, change) => {
    expect(rulesReached(emitted('Deployment Risk Assessed', { ...EMITTED_EVENTS['Deployment Risk Assessed'].example, ...change }))).not.toContain('notify');
  });

  it('an enforced stop, in stop mode or by the fail-closed policy, reaches notify', () => {
    const example = EMITTED_EVENTS['Deployment Risk Assessed'].example;
    expect(rulesReached(emitted('Deployment Risk Assessed', { ...example, mode: 'stop', trigger: 'START' }))).toEqual(['notify']);
    const failClosed = { ...example, probability: null, topFactors: [], fallback: { policy: 'fail-closed', cause: 'endpoint', reason: 'Timeout: no answer in 2000 ms' } };
    expect(rulesReached(emitted('Deployment Risk Assessed', failClosed))).toEqual(['notify']);
  });

  it('events of another installation (another source) reach none of ours', () => {
    for (const kind of Object.keys(EMITTED_EVENTS) as EmittedEventKind[]) {
      expect(rulesReached(emitted(kind, undefined, 'someone-else'))).toEqual([]);
    }
  });

  it('an installation with its own source and prefix routes its own events and alarms', () => {
    const rules = systemRules({ source: 'acme.guard', namePrefix: 'acme' });
    expect(rulesReached(emitted('Deployment Rollback Requested', undefined, 'acme.guard'), rules)).toEqual(['rollback-requested']);
    expect(rulesReached(derivedOwnAlarmEvent('acme-model-error-rate').event, rules)).toEqual(['model-alarm']);
    expect(rulesReached(derivedOwnAlarmEvent('acme-prod-model-error-rate').event, rules)).toEqual([]);
    expect(rulesReached(derivedOwnAlarmEvent('deploy-guard-model-error-rate').event, rules)).toEqual([]);
    expect(() => systemRules({ namePrefix: 'bad prefix!' })).toThrow("name prefix 'bad prefix!'");
  });
});

describe('the rule set', () => {
  it('has unique names, and every rule is reached by some real or derived event of a kind it consumes', () => {
    const names = SYSTEM_RULES.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    const events = [
      ...AWS_SAMPLES.map((candidate) => candidate.event),
      derivedDeploymentEvent('START').event,
      derivedOwnAlarmEvent().event,
      derivedOwnTrainingJobEvent().event,
      derivedOwnModelPackageEvent('Approved').event,
      ...(Object.keys(EMITTED_EVENTS) as EmittedEventKind[]).map((kind) => emitted(kind)),
      emitted('Deployment Risk Assessed', gateProceed),
    ];
    for (const rule of SYSTEM_RULES) {
      const reached = events.filter((event) => compilePattern(rule.pattern).matches(event));
      expect({ rule: rule.name, reached: reached.length > 0 }).toEqual({ rule: rule.name, reached: true });
      for (const event of reached) expect(rule.consumes).toContain(parseKnownEvent(event).kind);
    }
  });

  it('finds a rule by name, or lists the names there are', () => {
    expect(ruleNamed(SYSTEM_RULES, 'notify').target).toBe('notify');
    expect(() => ruleNamed(SYSTEM_RULES, 'nope')).toThrow("no rule named 'nope'; the rules are deployment-started,");
  });
});
