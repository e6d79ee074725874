import { sample } from '../../events/samples';
import { parseAwsEvent } from '../../events/parse';
import {
  actingState,
  assessedState,
  assessmentEntries,
  decide,
  explanationContext,
  historyFeatures,
  pipelineActionIgnoredReason,
  requestsRollback,
  rollbackReason,
  triggerVerdict,
} from '../../handlers/predict-domain';
import type { AssessmentRecord } from '../../handlers/ports';
import { computeHistoryFeatures, type PastDeployment } from '../../model/history';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-20T09:14:00Z');

describe('which lifecycle point is assessed, and which acts, per mode and platform', () => {
  it.each([
    ['shadow', 'Server', 'START', undefined],
    ['shadow', 'ECS', 'START', undefined],
    ['shadow', 'Lambda', 'START', undefined],
    ['stop', 'Server', 'START', 'START'],
    ['stop', 'ECS', 'START', 'START'],
    ['stop', 'Lambda', 'START', 'START'],
    ['gate', 'Server', 'READY', 'READY'],
    ['gate', 'ECS', 'START', undefined],
    ['gate', 'Lambda', 'START', undefined],
  ] as const)('%s on %s: assessed at %s, predict acts at %s', (mode, platform, assessed, acting) => {
    expect(assessedState(mode, platform)).toBe(assessed);
    expect(actingState(mode, platform)).toBe(acting);
    const other = assessed === 'START' ? 'READY' : 'START';
    expect(triggerVerdict(mode, platform, assessed)).toEqual({ assess: true });
    expect(triggerVerdict(mode, platform, other)).toEqual({
      assess: false,
      reason: `${other} is not assessed for a ${platform} group in ${mode} mode (it is assessed at ${assessed})`,
    });
  });
});

describe('historyFeatures', () => {
  const recent: PastDeployment[] = [
    { time: NOW - 30 * HOUR, failed: false, author: 'dev@example.com' },
    { time: NOW - 20 * HOUR, failed: true, author: 'ops@example.com' },
    { time: NOW - 2 * HOUR, failed: true, author: 'dev@example.com' },
  ];

  it('takes the overall failure rate from the full counts, not from the deployments read', () => {
    const features = historyFeatures(recent, { known: 100, failures: 30 }, { time: NOW, author: 'dev@example.com' });
    expect(features.failureRateOverall).toBe((30 + 1) / (100 + 2));
    expect(features.failureRateOverall).not.toBe(computeHistoryFeatures(recent, { time: NOW }).failureRateOverall);
  });

  it('keeps every other feature as computeHistoryFeatures defines it', () => {
    const query = { time: NOW, author: 'dev@example.com' };
    const features = historyFeatures(recent, { known: 100, failures: 30 }, query);
    expect({ ...features, failureRateOverall: 'set from the counts' }).toEqual({
      ...computeHistoryFeatures(recent, query),
      failureRateOverall: 'set from the counts',
    });
    expect(features).toMatchObject({ previousFailed: 1, consecutiveFailures: 2, deploymentsLast24h: 2, authorRecentFailureRate: 0.5 });
  });

  it('for a first deployment: the prior alone (1/2), and no previous outcome', () => {
    expect(historyFeatures([], { known: 0, failures: 0 }, { time: NOW })).toEqual({ consecutiveFailures: 0, deploymentsLast24h: 0, failureRateOverall: 0.5 });
  });

  it('gives explanations the full count of known outcomes and the author count', () => {
    expect(explanationContext(recent, { known: 100 }, 'dev@example.com')).toEqual({ knownOutcomes: 100, authorKnownOutcomes: 2 });
    expect(explanationContext(recent, { known: 100 }, undefined)).toEqual({ knownOutcomes: 100 });
  });
});

describe('decide', () => {
  const policy = { mode: 'stop', failurePolicy: 'fail-open', exploration: 0 } as const;
  const cut = { cut: 0.35 };
  const running = { deploymentId: 'd-123456789', alreadyFinished: false };
  const finished = { deploymentId: 'd-123456789', alreadyFinished: true };

  it('rolls back when the probability reaches the cut, proceeds below', () => {
    expect(decide(policy, { kind: 'probability', probability: 0.35 }, cut, running)).toEqual({ decision: 'rollback', probability: 0.35, enforced: true, explored: false, propensity: 1 });
    expect(decide(policy, { kind: 'probability', probability: 0.3499 }, cut, running)).toEqual({ decision: 'proceed', probability: 0.3499, enforced: true, explored: false, propensity: 1 });
  });

  it('stops nothing while there is no cut yet (no score anywhere in the installation)', () => {
    expect(decide(policy, { kind: 'probability', probability: 0.99 }, { cut: null }, running)).toEqual({ decision: 'proceed', probability: 0.99, enforced: true, explored: false, propensity: 1 });
  });

  it('without a probability lets the failure policy decide, and says so', () => {
    const score = { kind: 'fallback', cause: 'endpoint', reason: 'Timeout: endpoint deploy-guard-dev did not answer within 2000 ms' } as const;
    expect(decide(policy, score, cut, running)).toEqual({
      decision: 'proceed',
      probability: null,
      enforced: true,
      fallback: { policy: 'fail-open', cause: 'endpoint', reason: score.reason },
      explored: false,
      propensity: 1,
    });
    expect(decide({ ...policy, failurePolicy: 'fail-closed' }, score, cut, running)).toMatchObject({ decision: 'rollback', fallback: { policy: 'fail-closed' } });
  });

  it('lets a share of would-be stops proceed at random (the same draw on every delivery), with the propensity of the action taken', () => {
    const exploring = { ...policy, exploration: 0.25 };
    const verdicts = Array.from({ length: 4000 }, (_, index) => decide(exploring, { kind: 'probability', probability: 0.9 }, cut, { deploymentId: `d-${index}`, alreadyFinished: false }));
    const explored = verdicts.filter((verdict) => verdict.explored);
    expect(Math.abs(explored.length / verdicts.length - 0.25)).toBeLessThan(0.03);
    expect(explored.every((verdict) => verdict.decision === 'proceed' && verdict.propensity === 0.25)).toBe(true);
    expect(verdicts.filter((verdict) => !verdict.explored).every((verdict) => verdict.decision === 'rollback' && verdict.propensity === 0.75)).toBe(true);
    expect(decide(exploring, { kind: 'probability', probability: 0.9 }, cut, { deploymentId: 'd-7', alreadyFinished: false })).toEqual(verdicts[7]);
    // Below the cut nothing is drawn; shadow mode observes every outcome without exploring.
    expect(decide(exploring, { kind: 'probability', probability: 0.1 }, cut, running)).toMatchObject({ explored: false, propensity: 1 });
    expect(decide({ ...exploring, mode: 'shadow' }, { kind: 'probability', probability: 0.9 }, cut, running)).toMatchObject({ decision: 'rollback', explored: false, propensity: 1 });
  });

  it('never enforces in shadow mode, nor on a deployment that has already finished', () => {
    expect(decide({ ...policy, mode: 'shadow' }, { kind: 'probability', probability: 0.9 }, cut, running)).toMatchObject({ decision: 'rollback', enforced: false });
    expect(decide(policy, { kind: 'probability', probability: 0.9 }, cut, finished)).toMatchObject({ decision: 'rollback', enforced: false });
  });
});

const record: AssessmentRecord = {
  deploymentId: 'd-123456789',
  application: 'myApplication',
  deploymentGroup: 'myDeploymentGroup',
  platform: 'Server',
  mode: 'gate',
  trigger: 'READY',
  probability: 0.8125,
  cut: 0.35,
  blockBudget: 0.1,
  cutSource: 'group',
  decision: 'rollback',
  explored: false,
  propensity: 1,
  enforced: true,
  modelVersion: 'deploy-guard-20261120-0912',
  featureRow: '412,3',
  startedAt: Date.parse('2026-11-20T09:14:00Z'),
  assessedAt: Date.parse('2026-11-20T09:20:05Z'),
};
const context = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' };

describe('requestsRollback', () => {
  it.each([
    ['gate Server at READY', {}, true],
    ['gate ECS at START (the traffic hook acts)', { platform: 'ECS', trigger: 'START' }, false],
    ['stop at START', { mode: 'stop', trigger: 'START' }, true],
    ['shadow', { mode: 'shadow', trigger: 'START', enforced: false }, false],
    ['a decision to proceed', { decision: 'proceed' }, false],
    ['an assessment that is not enforced (already finished)', { enforced: false }, false],
  ] as const)('%s: %s', (_case, change, expected) => {
    expect(requestsRollback({ ...record, ...change })).toBe(expected);
  });
});

describe('assessmentEntries', () => {
  it('the assessment and its rollback request, timed at the assessment, the same every time', () => {
    const factors = [{ feature: 'srcChurn', value: 412, contribution: 0.61, text: '412 lines of source changed' }];
    const entries = assessmentEntries(record, factors, context);
    expect(entries.map((entry) => entry.DetailType)).toEqual(['Deployment Risk Assessed', 'Deployment Rollback Requested']);
    expect(entries.every((entry) => entry.Time?.toISOString() === '2026-11-20T09:20:05.000Z')).toBe(true);
    expect(JSON.parse(entries[0].Detail)).toEqual({
      schemaVersion: '2',
      deploymentId: 'd-123456789',
      application: 'myApplication',
      deploymentGroup: 'myDeploymentGroup',
      platform: 'Server',
      mode: 'gate',
      trigger: 'READY',
      probability: 0.8125,
      cut: 0.35,
      blockBudget: 0.1,
      cutSource: 'group',
      decision: 'rollback',
      explored: false,
      propensity: 1,
      enforced: true,
      modelVersion: 'deploy-guard-20261120-0912',
      topFactors: factors,
      assessedAt: '2026-11-20T09:20:05Z',
    });
    expect(JSON.parse(entries[1].Detail)).toMatchObject({
      reason: 'probability of failure 0.8125 reaches the cut 0.35 (the riskiest 10 % of myApplication/myDeploymentGroup)',
      requestedAt: '2026-11-20T09:20:05Z',
    });
    expect(assessmentEntries(record, factors, context)).toEqual(entries);
  });

  it('words a rollback the failure policy decided', () => {
    expect(rollbackReason({ ...record, probability: null, fallback: { policy: 'fail-closed', cause: 'endpoint', reason: 'Timeout: no answer' } })).toBe(
      'no probability (Timeout: no answer) and the group is fail-closed',
    );
  });

  it('words a rollback a fixed threshold decided', () => {
    expect(rollbackReason({ ...record, cut: 0.5, blockBudget: null })).toBe('probability of failure 0.8125 is at or above the fixed threshold 0.5');
  });
});

describe('a CodePipeline deploy action STARTED', () => {
  it.each(['codepipeline-action-execution.started.json', 'codepipeline-action-execution.started.codedeploy-provider.lambda-go.json'])(
    'is not assessed (%s): it names no deployment and no deployment group',
    (file) => {
      const { detail } = parseAwsEvent('CodePipeline Action Execution State Change', sample(file).event);
      expect(pipelineActionIgnoredReason(detail)).toBe(
        `CodePipeline action myPipeline/Prod/myAction (execution ${detail['execution-id']}) carries no CodeDeploy deployment id ` +
          'or deployment group: the deployment it creates is assessed at its own CodeDeploy event',
      );
    },
  );
});
