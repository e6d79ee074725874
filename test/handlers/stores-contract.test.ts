import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../events/clock';
import { EMITTED_EVENTS, revisionKey } from '../../events/emitted';
import { derivedDeploymentEvent, sample } from '../../events/samples';
import { DynamoDbRollbackLedger } from '../../handlers/adapters/dynamodb-ledger';
import { DynamoDbBakeStore, DynamoDbChangeSummaryStore, DynamoDbControlStore, DynamoDbDeploymentStore } from '../../handlers/adapters/dynamodb-stores';
import { InMemoryRollbackLedger } from '../../handlers/adapters/in-memory-ledger';
import { InMemoryBakeStore, InMemoryChangeSummaryStore, InMemoryControlStore, InMemoryDeploymentStore, InMemoryGateStore, InMemoryShadowDigestStore } from '../../handlers/adapters/in-memory-stores';
import type {
  AssessmentRecord,
  BakeRecord,
  BakeStore,
  ChangeSummaryStore,
  ControlStore,
  DeploymentStore,
  GateStore,
  OutcomeRecord,
  PromotionIntent,
  RollbackLedger,
  ServingModelPointer,
  ShadowDigestStore,
} from '../../handlers/ports';
import { startLocalDynamoDb } from '../../local/dynalite';
import { formatFeatureRow } from '../../model/features';
import type { PastDeployment } from '../../model/history';
import { recordedJob } from '../support/promote-fixture';
import { DynamoDbGateStore } from '../../handlers/adapters/dynamodb-gates';
import { DynamoDbShadowDigestStore } from '../../handlers/adapters/dynamodb-digests';
import { loseAnswers } from '../support/lost-answers';
import { gateDay, gateDecisionEntry, type GateJobRecord } from '../../handlers/pipeline-gate-domain';
import { seededRandom as random } from '../support/random';

/**
 * One specification, two implementations: the stores in process (the backtest's fast path) and the
 * DynamoDB adapters against dynalite (the real DynamoDB API on loopback). Every expectation is
 * written once; both must meet it, which is what lets the fast path stand in for the real one.
 */

interface Stores {
  readonly deployments: DeploymentStore;
  readonly changes: ChangeSummaryStore;
  readonly control: ControlStore;
  readonly gates: GateStore;
  readonly digests: ShadowDigestStore;
  readonly bakes: BakeStore;
  ledger(options?: { leaseMs?: number }): RollbackLedger;
  close(): Promise<void>;
}

const implementations: [string, () => Promise<Stores>][] = [
  [
    'in-memory',
    async () => ({
      deployments: new InMemoryDeploymentStore(),
      changes: new InMemoryChangeSummaryStore(),
      control: new InMemoryControlStore(),
      gates: new InMemoryGateStore(),
      digests: new InMemoryShadowDigestStore(),
      bakes: new InMemoryBakeStore(),
      ledger: (options) => new InMemoryRollbackLedger(options),
      close: async () => undefined,
    }),
  ],
  [
    'dynamodb via dynalite',
    async () => {
      const local = await startLocalDynamoDb({ prefix: 'contract' });
      const { client, tableNames } = local;
      return {
        deployments: new DynamoDbDeploymentStore(client, tableNames.deployments, tableNames.history),
        changes: new DynamoDbChangeSummaryStore(client, tableNames.changes),
        control: new DynamoDbControlStore(client, tableNames.control),
        gates: new DynamoDbGateStore(client, tableNames.control),
        digests: new DynamoDbShadowDigestStore(client, tableNames.control),
        bakes: new DynamoDbBakeStore(client, tableNames.control),
        ledger: (options) => new DynamoDbRollbackLedger(client, tableNames.control, options),
        close: () => local.close(),
      };
    },
  ],
];

// The deployments of the real CodeDeploy samples: the SUCCESS one (myApplication/myDeploymentGroup)
// and the FAILURE one (anonymised ids, MyDemoApplication/MyDemoDeploymentGroup).
const success = sample('codedeploy-deployment-state-change.success.json').event as { time: string; detail: Record<string, string> };
const failure = sample('codedeploy-deployment-state-change.failure.json').event as { time: string; detail: Record<string, string> };
const app = success.detail.application;
const group = success.detail.deploymentGroup;
const deploymentId = success.detail.deploymentId;
const startedAt = Date.parse(success.time);
const HOUR = 3_600_000;

/** The documented Deployment Risk Assessed example, as predict stores it, with numbers that must round-trip exactly. */
function assessment(change: Partial<AssessmentRecord> = {}): AssessmentRecord {
  const example = EMITTED_EVENTS['Deployment Risk Assessed'].example;
  return {
    deploymentId: example.deploymentId,
    application: example.application,
    deploymentGroup: example.deploymentGroup,
    platform: example.platform,
    mode: example.mode,
    trigger: example.trigger,
    probability: 0.5383983850479126,
    cut: 0.1 + 0.2,
    blockBudget: 0.1,
    cutSource: 'group',
    decision: example.decision,
    explored: false,
    propensity: 0.95,
    enforced: example.enforced,
    modelVersion: example.modelVersion,
    // NaN (a missing feature) never reaches DynamoDB: the row is text.
    featureRow: formatFeatureRow([412, Number.NaN, 1e-5, 0.30000000000000004]),
    startedAt,
    assessedAt: startedAt + 1_234,
    author: 'dev@example.com',
    ...change,
  };
}

function outcome(id: string, state: OutcomeRecord['state'], finishedAt: number, where: { application: string; deploymentGroup: string } = { application: app, deploymentGroup: group }): OutcomeRecord {
  const label = state === 'SUCCESS' ? 'succeeded' : state === 'FAILURE' ? 'failed' : 'counterfactual';
  return { deploymentId: id, ...where, state, label, finishedAt };
}

function past(time: number, failed: boolean | undefined, author?: string): PastDeployment {
  return { time, ...(failed === undefined ? {} : { failed }), ...(author === undefined ? {} : { author }) };
}


// dynalite answers in a few milliseconds per call; the interleaving test makes about a thousand calls.

describe.each(implementations)('store contract: %s', (_name, open) => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await open();
  });
  afterEach(async () => {
    await stores.close();
  });

  describe('GateStore', () => {
    const job: GateJobRecord = {
      jobId: '11111111-abcd-1111-abcd-111111abcdef',
      application: app,
      deploymentGroup: group,
      revision: 'git:6f1c2a9e',
      pipelineExecutionId: 'exec-1',
      outcome: 'fail',
      answer: { kind: 'failure', message: 'stopped' },
      decidedAt: startedAt,
      assessment: {
        platform: 'Server', mode: 'gate', probability: 0.5383983850479126, cut: 0.1 + 0.2, blockBudget: 0.1, cutSource: 'group', decision: 'rollback', enforced: true, explored: false, propensity: 0.95,
        modelVersion: 'm-1', featureRow: formatFeatureRow([412, Number.NaN]), changeSummary: { status: 'missing', revision: 'git:6f1c2a9e' },
        topFactors: [{ feature: 'linesAdded', value: null, contribution: 0.61, text: 'lines added unknown' }], assessedAt: startedAt,
      },
    };

    it("keeps a job's first decision (numbers exact) against a second, then records its announcement and CodePipeline's answer", async () => {
      expect(await stores.gates.recordJob(job)).toEqual({ won: true, record: job });
      expect(await stores.gates.recordJob({ ...job, outcome: 'pass', answer: { kind: 'success', summary: 'passed' } })).toEqual({ won: false, record: job });
      await stores.gates.markAnnounced(job.jobId);
      await stores.gates.recordAnswered(job.jobId, { at: startedAt + 1, accepted: true });
      expect(await stores.gates.readJob(job.jobId)).toEqual({ ...job, announced: true, answered: { at: startedAt + 1, accepted: true } });
      expect(await stores.gates.readJob('unknown')).toBeUndefined();
    });

    it("keeps a release's latest pass and adds each deployment of it once", async () => {
      const pass = { application: app, deploymentGroup: group, revision: 'git:6f1c2a9e', jobId: job.jobId, probability: 0.2, cut: null, decidedAt: startedAt, passedBy: 'assessment' as const };
      await stores.gates.linkDeployment(app, 'git:6f1c2a9e', deploymentId);
      expect(await stores.gates.readPass(app, 'git:6f1c2a9e')).toBeUndefined();
      await stores.gates.recordPass(pass);
      await stores.gates.linkDeployment(app, 'git:6f1c2a9e', deploymentId);
      await stores.gates.linkDeployment(app, 'git:6f1c2a9e', deploymentId);
      await stores.gates.linkDeployment(app, 'git:6f1c2a9e', 'd-SECOND001');
      expect(await stores.gates.readPass(app, 'git:6f1c2a9e')).toEqual({ ...pass, deploymentIds: [deploymentId, 'd-SECOND001'] });
      expect(await stores.gates.readPass(app, 'git:other')).toBeUndefined();
    });

    it("lists each decision once under its group's UTC day, oldest first, and adds a held release's settlement", async () => {
      const entry = gateDecisionEntry({ ...job, outcome: 'fail', assessment: job.assessment! });
      const group = `${app}/${job.deploymentGroup}`;
      const day = gateDay(startedAt);
      expect(await stores.gates.listedDecisions(group, day)).toEqual([]);
      const held = { ...entry, jobId: 'held-job', outcome: 'hold' as const, decidedAt: startedAt - 1 };
      await stores.gates.listDecision(entry);
      await stores.gates.listDecision(held);
      await stores.gates.listDecision({ ...entry, outcome: 'pass' });
      const nextDay = { ...entry, jobId: 'next-day', decidedAt: startedAt + 86_400_000 };
      await stores.gates.listDecision(nextDay);
      const settled = { action: 'reject' as const, by: 'arn:aws:sts::123456789012:assumed-role/ops/alice', reason: 'INC-7', at: startedAt + 5, cause: 'operator' as const };
      await stores.gates.settleListedDecision(held, settled);
      await stores.gates.settleListedDecision({ ...held, jobId: 'never-listed' }, settled);
      expect(await stores.gates.listedDecisions(group, day)).toEqual([{ ...held, settled }, entry]);
      expect(await stores.gates.listedDecisions(group, gateDay(nextDay.decidedAt))).toEqual([nextDay]);
      expect(await stores.gates.listedDecisions(`${app}/other`, day)).toEqual([]);
    });

    it('keeps every decision of a day listed when many are listed at once', async () => {
      const entry = gateDecisionEntry({ ...job, outcome: 'fail', assessment: job.assessment! });
      const entries = Array.from({ length: 8 }, (_, index) => ({ ...entry, jobId: `job-${index}`, decidedAt: startedAt + index }));
      await Promise.all(entries.map((each) => stores.gates.listDecision(each)));
      expect(await stores.gates.listedDecisions(`${app}/${job.deploymentGroup}`, gateDay(startedAt))).toEqual(entries);
    });
  });

  describe('ShadowDigestStore', () => {
    // The day the digest fired for at 2026-12-02T09:00Z covers, and the next one.
    const day = { from: Date.parse('2026-12-01T09:00:00Z'), to: Date.parse('2026-12-02T09:00:00Z') };
    const nextDay = { from: day.to, to: day.to + 24 * HOUR };
    const claimAt = day.to + 2_000;
    const sent = (eventId: string, at: number) => ({ at, eventId, subject: 'Deploy Guard shadow digest (dev): 3 would-be stops in 5 deployments', messageIds: ['5a1f0c2e-message-1', '5a1f0c2e-message-2'] });

    it('lets one of the first claims of a day win, and reads it back exactly; another day is apart', async () => {
      expect(await stores.digests.read(day.from)).toBeUndefined();
      const claims = await Promise.all(['e-1', 'e-2', 'e-3'].map((token) => stores.digests.claim({ ...day, token, claimedAt: claimAt }, null)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = ['e-1', 'e-2', 'e-3'][claims.indexOf(true)]!;
      expect(await stores.digests.read(day.from)).toEqual({ ...day, token: winner, claimedAt: claimAt });
      expect(await stores.digests.read(nextDay.from)).toBeUndefined();
      expect(await stores.digests.claim({ ...nextDay, token: 'e-9', claimedAt: claimAt }, null)).toBe(true);
    });

    it('takes a claim over only from the claim the caller read, and never once it is sent', async () => {
      await stores.digests.claim({ ...day, token: 'e-1', claimedAt: claimAt }, null);
      expect(await stores.digests.claim({ ...day, token: 'e-2', claimedAt: claimAt + 1 }, null)).toBe(false);
      expect(await stores.digests.claim({ ...day, token: 'e-2', claimedAt: claimAt + 200_000 }, { token: 'e-1', claimedAt: claimAt })).toBe(true);
      // A claimer that read the first claim comes too late.
      expect(await stores.digests.claim({ ...day, token: 'e-3', claimedAt: claimAt + 200_001 }, { token: 'e-1', claimedAt: claimAt })).toBe(false);
      await stores.digests.markSent(day.from, sent('e-2', claimAt + 200_500));
      expect(await stores.digests.claim({ ...day, token: 'e-2', claimedAt: claimAt + 300_000 }, { token: 'e-2', claimedAt: claimAt + 200_000 })).toBe(false);
      expect(await stores.digests.read(day.from)).toEqual({ ...day, token: 'e-2', claimedAt: claimAt + 200_000, sent: sent('e-2', claimAt + 200_500) });
    });

    it('keeps the first record of a day sent, and marks no day it has no claim of', async () => {
      await stores.digests.claim({ ...day, token: 'e-1', claimedAt: claimAt }, null);
      await stores.digests.markSent(day.from, sent('e-1', claimAt + 500));
      await stores.digests.markSent(day.from, sent('e-2', claimAt + 900));
      expect((await stores.digests.read(day.from))?.sent).toEqual(sent('e-1', claimAt + 500));
      await expect(stores.digests.markSent(nextDay.from, sent('e-1', claimAt))).rejects.toThrow('no claim of the shadow digest of 2026-12-02T09:00:00.000Z');
      expect(await stores.digests.read(nextDay.from)).toBeUndefined();
    });
  });

  describe('BakeStore: the closed bakes and their announcement', () => {
    const closedAt = Date.parse('2026-12-01T09:10:00Z');
    const rolledBack: BakeRecord = {
      deploymentId: 'd-BAKE00001',
      application: 'checkout',
      deploymentGroup: 'checkout-prod',
      platform: 'Server',
      mode: 'stop',
      alarmNames: ['checkout-5xx'],
      minutes: 30,
      openedAt: closedAt - 600_000,
      endsAt: closedAt + 1_200_000,
      state: 'rolled-back',
      claim: { token: 'alarm-1', at: closedAt - 1 },
      alarmName: 'checkout-5xx',
      closedAt,
    };
    const claim = (token: string, at: number) => ({ token, at });

    it('keeps the first closed bake of a deployment: a second keeper gets the first one back, and reads it exactly', async () => {
      expect(await stores.bakes.readClosed(rolledBack.deploymentId)).toBeUndefined();
      expect(await stores.bakes.keepClosed(rolledBack)).toEqual(rolledBack);
      const refusedLater = { ...rolledBack, state: 'not-done' as const, refusal: 'DeploymentAlreadyStopped' as const, closedAt: closedAt + 5 };
      expect(await stores.bakes.keepClosed(refusedLater)).toEqual(rolledBack);
      expect(await stores.bakes.readClosed(rolledBack.deploymentId)).toEqual(rolledBack);
    });

    it('lets one of the first claims of an announcement win, and reads it back with the bake', async () => {
      await stores.bakes.keepClosed(rolledBack);
      const tokens = ['alarm-1/a', 'alarm-1/b', 'sweep-9/c'];
      const claims = await Promise.all(tokens.map((token) => stores.bakes.claimAnnouncement(rolledBack.deploymentId, claim(token, closedAt + 1), null)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = tokens[claims.indexOf(true)]!;
      expect(await stores.bakes.readClosed(rolledBack.deploymentId)).toEqual({ ...rolledBack, announcing: claim(winner, closedAt + 1) });
    });

    it('takes a claim over only from the claim the caller read, and never once announced; claims no bake that is not kept', async () => {
      const id = rolledBack.deploymentId;
      expect(await stores.bakes.claimAnnouncement(id, claim('alarm-1/a', closedAt), null)).toBe(false);
      await stores.bakes.keepClosed(rolledBack);
      expect(await stores.bakes.claimAnnouncement(id, claim('alarm-1/a', closedAt), null)).toBe(true);
      expect(await stores.bakes.claimAnnouncement(id, claim('alarm-1/b', closedAt + 1), null)).toBe(false);
      expect(await stores.bakes.claimAnnouncement(id, claim('sweep-9/c', closedAt + 60_000), claim('alarm-1/a', closedAt))).toBe(true);
      // A claimer that read the first claim comes too late.
      expect(await stores.bakes.claimAnnouncement(id, claim('alarm-1/b', closedAt + 60_001), claim('alarm-1/a', closedAt))).toBe(false);
      await stores.bakes.markAnnounced(id, closedAt + 60_500);
      expect(await stores.bakes.claimAnnouncement(id, claim('sweep-10/d', closedAt + 200_000), claim('sweep-9/c', closedAt + 60_000))).toBe(false);
      expect(await stores.bakes.readClosed(id)).toEqual({ ...rolledBack, announcing: claim('sweep-9/c', closedAt + 60_000), announcedAt: closedAt + 60_500 });
    });

    it('marks a closed bake counted by one invocation: the first of several at once, again for itself, never for another; no bake that is not kept', async () => {
      const id = rolledBack.deploymentId;
      await expect(stores.bakes.markCounted(id, 'alarm-1/a')).rejects.toThrow(`no closed bake of ${id} is kept`);
      await stores.bakes.keepClosed(rolledBack);
      const invocations = ['alarm-1/a', 'alarm-1/b', 'sweep-9/c'];
      const marks = await Promise.all(invocations.map((invocation) => stores.bakes.markCounted(id, invocation)));
      expect(marks.filter(Boolean)).toHaveLength(1);
      const counter = invocations[marks.indexOf(true)]!;
      expect(await stores.bakes.markCounted(id, counter)).toBe(true);
      expect(await stores.bakes.markCounted(id, 'sweep-10/d')).toBe(false);
      expect(await stores.bakes.readClosed(id)).toEqual({ ...rolledBack, countedBy: counter });
    });

    it('lets go of a claim only for its claimer, and not once announced: another invocation then claims over no claim', async () => {
      const id = rolledBack.deploymentId;
      await stores.bakes.keepClosed(rolledBack);
      await stores.bakes.claimAnnouncement(id, claim('alarm-1/a', closedAt), null);
      await stores.bakes.releaseAnnouncement(id, claim('alarm-1/b', closedAt));
      expect((await stores.bakes.readClosed(id))?.announcing).toEqual(claim('alarm-1/a', closedAt));
      await stores.bakes.releaseAnnouncement(id, claim('alarm-1/a', closedAt));
      expect(await stores.bakes.readClosed(id)).toEqual(rolledBack);
      expect(await stores.bakes.claimAnnouncement(id, claim('alarm-1/b', closedAt + 1), null)).toBe(true);
      await stores.bakes.markAnnounced(id, closedAt + 2);
      await stores.bakes.releaseAnnouncement(id, claim('alarm-1/b', closedAt + 1));
      expect(await stores.bakes.readClosed(id)).toEqual({ ...rolledBack, announcing: claim('alarm-1/b', closedAt + 1), announcedAt: closedAt + 2 });
    });

    it('keeps the first mark of an announcement, and marks no bake that is not kept', async () => {
      await stores.bakes.keepClosed(rolledBack);
      await stores.bakes.markAnnounced(rolledBack.deploymentId, closedAt + 500);
      await stores.bakes.markAnnounced(rolledBack.deploymentId, closedAt + 900);
      expect((await stores.bakes.readClosed(rolledBack.deploymentId))?.announcedAt).toBe(closedAt + 500);
      await expect(stores.bakes.markAnnounced('d-NOTKEPT01', closedAt)).rejects.toThrow('no closed bake of d-NOTKEPT01 is kept');
    });
  });

  describe('DeploymentStore', () => {
    it('stores the first assessment of a deployment and keeps it against a duplicate, numbers and the text row exact', async () => {
      const first = assessment();
      const created = await stores.deployments.putAssessment(first);
      expect(created).toEqual({ created: true, item: { deploymentId, assessment: first, trainingRowWritten: false } });

      const duplicate = await stores.deployments.putAssessment(assessment({ probability: 0.01, decision: 'proceed' }));
      expect(duplicate).toEqual({ created: false, item: { deploymentId, assessment: first, trainingRowWritten: false } });

      const stored = await stores.deployments.get(deploymentId);
      expect(stored).toEqual({ deploymentId, assessment: first, trainingRowWritten: false });
      expect(stored?.assessment?.cut).toBe(0.30000000000000004);
      expect(stored?.assessment?.featureRow).toBe(first.featureRow);
      expect(stored?.assessment).not.toHaveProperty('fallback');
    });

    it('keeps a null probability and the fallback that decided when the endpoint failed', async () => {
      // Without the optional author.
      const withoutAuthor: AssessmentRecord = assessment({ probability: null, fallback: { policy: 'fail-closed', cause: 'endpoint', reason: 'Timeout: no answer in 800 ms' } });
      delete (withoutAuthor as { author?: string }).author;
      await stores.deployments.putAssessment(withoutAuthor);
      const stored = await stores.deployments.get(deploymentId);
      expect(stored?.assessment).toEqual(withoutAuthor);
      expect(stored?.assessment).not.toHaveProperty('author');
    });

    it('accepts the outcome before the assessment (out of order) and keeps the first outcome against a duplicate', async () => {
      const finished = outcome(deploymentId, 'SUCCESS', startedAt + HOUR);
      expect(await stores.deployments.putOutcome(finished, past(startedAt, false))).toEqual({
        created: true,
        item: { deploymentId, outcome: finished, trainingRowWritten: false },
      });
      const late = assessment();
      expect(await stores.deployments.putAssessment(late)).toEqual({
        created: true,
        item: { deploymentId, assessment: late, outcome: finished, trainingRowWritten: false },
      });
      const duplicate = await stores.deployments.putOutcome(outcome(deploymentId, 'FAILURE', startedAt + 2 * HOUR), past(startedAt, true));
      expect(duplicate).toEqual({ created: false, item: { deploymentId, assessment: late, outcome: finished, trainingRowWritten: false } });
      // The duplicate added nothing to the group's history.
      expect(await stores.deployments.groupHistory(app, group, startedAt + 10 * HOUR, 10)).toEqual([past(startedAt, false)]);
      expect(await stores.deployments.groupCounts(app, group, startedAt + 10 * HOUR)).toEqual({ known: 1, failures: 0 });
    });

    it("lists a group's assessments from a time on, newest first, up to a limit, each with its outcome once known", async () => {
      const at = (minutes: number) => startedAt + minutes * 60_000;
      const where = { application: app, deploymentGroup: group };
      const ids = Array.from({ length: 7 }, (_, index) => `d-LIST${index}`);
      // Written out of time order, with one deployment of another group and one of another application.
      for (const index of [3, 0, 6, 1, 5, 2, 4]) await stores.deployments.putAssessment(assessment({ deploymentId: ids[index], ...where, assessedAt: at(10 * index) }));
      await stores.deployments.putAssessment(assessment({ deploymentId: 'd-OTHERGROUP', application: app, deploymentGroup: `${group}-2`, assessedAt: at(35) }));
      await stores.deployments.putAssessment(assessment({ deploymentId: 'd-OTHERAPP', application: `${app}-2`, deploymentGroup: group, assessedAt: at(35) }));
      const finished = outcome(ids[5], 'FAILURE', at(70));
      await stores.deployments.putOutcome(finished, past(at(50), true));

      const recent = await stores.deployments.recentAssessments(app, group, at(20), 3);
      expect(recent.map((item) => item.deploymentId)).toEqual([ids[6], ids[5], ids[4]]);
      expect(recent[1]).toEqual({ deploymentId: ids[5], assessment: assessment({ deploymentId: ids[5], ...where, assessedAt: at(50) }), outcome: finished, trainingRowWritten: false });
      expect((await stores.deployments.recentAssessments(app, group, at(20), 100)).map((item) => item.deploymentId)).toEqual([ids[6], ids[5], ids[4], ids[3], ids[2]]);
      expect(await stores.deployments.recentAssessments(app, group, at(61), 100)).toEqual([]);
      expect(await stores.deployments.recentAssessments(app, group, at(0), 0)).toEqual([]);
    });

    it('records the training row as written once: true for exactly one caller, false for an unknown deployment', async () => {
      expect(await stores.deployments.markTrainingRowWritten(deploymentId)).toBe(false);
      await stores.deployments.putOutcome(outcome(deploymentId, 'SUCCESS', startedAt + HOUR), past(startedAt, false));
      const claims = await Promise.all([1, 2, 3].map(() => stores.deployments.markTrainingRowWritten(deploymentId)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await stores.deployments.markTrainingRowWritten(deploymentId)).toBe(false);
      expect(await stores.deployments.get(deploymentId)).toMatchObject({ trainingRowWritten: true });
      // A later assessment does not reset the claim.
      await stores.deployments.putAssessment(assessment());
      expect(await stores.deployments.get(deploymentId)).toMatchObject({ trainingRowWritten: true });
    });

    it('returns a group history oldest first, the most recent `limit` that started before the time, per group', async () => {
      const other = { application: failure.detail.application, deploymentGroup: failure.detail.deploymentGroup };
      // Outcomes recorded out of time order, two groups interleaved; d-3 and d-3b start at the same instant.
      const recorded: [string, number, boolean | undefined, string | undefined, typeof other | undefined][] = [
        ['d-3', 3, true, 'ana', undefined],
        ['d-1', 1, false, 'bo', undefined],
        [failure.detail.deploymentId, 2, true, undefined, other],
        ['d-5', 5, undefined, 'ana', undefined],
        ['d-2', 2, false, undefined, undefined],
        ['d-3b', 3, false, 'bo', undefined],
        ['d-4', 4, true, 'ana', undefined],
      ];
      for (const [id, hour, failed, author, where] of recorded) {
        const state = failed === undefined ? 'STOP' : failed ? 'FAILURE' : 'SUCCESS';
        await stores.deployments.putOutcome(outcome(id, state, startedAt + hour * HOUR + 600_000, where), past(startedAt + hour * HOUR, failed, author));
      }
      const at = (hour: number) => startedAt + hour * HOUR;

      expect(await stores.deployments.groupHistory(app, group, at(10), 100)).toEqual([
        past(at(1), false, 'bo'),
        past(at(2), false),
        past(at(3), true, 'ana'),
        past(at(3), false, 'bo'),
        past(at(4), true, 'ana'),
        past(at(5), undefined, 'ana'),
      ]);
      expect(await stores.deployments.groupHistory(app, group, at(4), 2)).toEqual([past(at(3), true, 'ana'), past(at(3), false, 'bo')]);
      // Started exactly at `before`: not before it.
      expect(await stores.deployments.groupHistory(app, group, at(1), 5)).toEqual([]);
      expect(await stores.deployments.groupHistory(app, group, at(1) + 1, 5)).toEqual([past(at(1), false, 'bo')]);
      expect(await stores.deployments.groupHistory(app, group, at(10), 0)).toEqual([]);
      expect(await stores.deployments.groupHistory(other.application, other.deploymentGroup, at(10), 5)).toEqual([past(at(2), true)]);
      expect(await stores.deployments.groupHistory('unknown', group, at(10), 5)).toEqual([]);

      // Counts: known outcomes only (the STOP is unknown), before the time, per group.
      expect(await stores.deployments.groupCounts(app, group, at(10))).toEqual({ known: 5, failures: 2 });
      expect(await stores.deployments.groupCounts(app, group, at(3))).toEqual({ known: 2, failures: 0 });
      expect(await stores.deployments.groupCounts(app, group, at(3) + 1)).toEqual({ known: 4, failures: 1 });
      expect(await stores.deployments.groupCounts(app, group, at(0))).toEqual({ known: 0, failures: 0 });
      expect(await stores.deployments.groupCounts(other.application, other.deploymentGroup, at(10))).toEqual({ known: 1, failures: 1 });
      expect(await stores.deployments.groupCounts('unknown', group, at(10))).toEqual({ known: 0, failures: 0 });
    });

    it('uses the finish time when the history has no start time', async () => {
      const finishedAt = startedAt + HOUR;
      await stores.deployments.putOutcome(outcome(deploymentId, 'FAILURE', finishedAt), { failed: true });
      expect(await stores.deployments.groupHistory(app, group, finishedAt + 1, 5)).toEqual([past(finishedAt, true)]);
      expect(await stores.deployments.groupCounts(app, group, finishedAt)).toEqual({ known: 0, failures: 0 });
    });

    it('reads back past a long run of stopped deployments (outcome unknown) to the known outcomes the history windows need', async () => {
      const at = (minute: number) => startedAt + minute * 60_000;
      await stores.deployments.putOutcome(outcome('d-known-1', 'FAILURE', at(5)), past(at(0), true));
      await stores.deployments.putOutcome(outcome('d-known-2', 'SUCCESS', at(15)), past(at(10), false));
      for (let index = 1; index <= 40; index += 1) {
        await stores.deployments.putOutcome(outcome(`d-stopped-${String(index).padStart(2, '0')}`, 'STOP', at(20 + index * 10 + 5)), past(at(20 + index * 10), undefined));
      }
      const history = await stores.deployments.groupHistory(app, group, at(1000), 2);
      expect(history).toHaveLength(42);
      expect(history.slice(0, 2)).toEqual([past(at(0), true), past(at(10), false)]);
      expect(history.slice(2).every((entry) => entry.failed === undefined)).toBe(true);
      expect(await stores.deployments.groupHistory(app, group, at(1000), 1)).toHaveLength(41);
    });

    it('agrees with a direct count over 60 interleaved, out-of-order and duplicated outcomes, queried between inserts', async () => {
      const next = random(20_261_120);
      const recorded: { group: string; time: number; failed?: boolean }[] = [];
      const groups = ['blue', 'green'];
      for (let index = 0; index < 60; index += 1) {
        const groupName = groups[Math.floor(next() * groups.length)];
        const time = startedAt + Math.floor(next() * 48) * HOUR + Math.floor(next() * 60_000);
        const roll = next();
        const failed = roll < 0.15 ? undefined : roll < 0.5;
        const id = `d-${String(index).padStart(9, '0')}`;
        const state = failed === undefined ? 'STOP' : failed ? 'FAILURE' : 'SUCCESS';
        const finished = outcome(id, state, time + 600_000, { application: app, deploymentGroup: groupName });
        await stores.deployments.putOutcome(finished, past(time, failed));
        recorded.push({ group: groupName, time, ...(failed === undefined ? {} : { failed }) });
        if (index % 7 === 3) {
          // A redelivery of an earlier outcome changes nothing.
          expect((await stores.deployments.putOutcome(finished, past(time, failed))).created).toBe(false);
        }
        if (index % 5 === 4) {
          const before = startedAt + Math.floor(next() * 50) * HOUR;
          for (const name of groups) {
            const earlier = recorded.filter((entry) => entry.group === name && entry.time < before && entry.failed !== undefined);
            expect(await stores.deployments.groupCounts(app, name, before)).toEqual({
              known: earlier.length,
              failures: earlier.filter((entry) => entry.failed).length,
            });
            const history = await stores.deployments.groupHistory(app, name, before, 4);
            // Back to the 4th most recent known outcome, the unknown ones in between included.
            const earlierAll = recorded.filter((entry) => entry.group === name && entry.time < before).sort((a, b) => a.time - b.time);
            let from = earlierAll.length;
            for (let known = 0; from > 0 && known < 4; ) if (earlierAll[--from].failed !== undefined) known += 1;
            expect(history.map((entry) => entry.time)).toEqual(earlierAll.slice(from).map((entry) => entry.time));
          }
        }
      }
    });
    it('counts concurrent outcomes of one group, and concurrent redeliveries of them, exactly once', async () => {
      const outcomes = Array.from({ length: 8 }, (_, index) => ({
        record: outcome(`d-${100 + index}`, index % 3 === 0 ? 'FAILURE' : 'SUCCESS', startedAt + index * HOUR + 60_000),
        history: past(startedAt + index * HOUR, index % 3 === 0),
      }));
      const writes = await Promise.all([...outcomes, ...outcomes].map(({ record, history }) => stores.deployments.putOutcome(record, history)));
      expect(writes.filter((write) => write.created)).toHaveLength(8);
      expect(await stores.deployments.groupCounts(app, group, startedAt + 100 * HOUR)).toEqual({ known: 8, failures: 3 });
      expect(await stores.deployments.groupCounts(app, group, startedAt + 3 * HOUR)).toEqual({ known: 3, failures: 1 });
      expect(await stores.deployments.groupHistory(app, group, startedAt + 100 * HOUR, 100)).toEqual(outcomes.map(({ history }) => history));
    });
  });

  describe('ChangeSummaryStore', () => {
    const summary = EMITTED_EVENTS['Deployment Change Summary'].example;
    const key = revisionKey(summary.revision);
    const builtAt = Date.parse(summary.builtAt);
    const fromCi = { eventId: '0d1e5c4a-2f3b-4c5d-8e9f-0a1b2c3d4e5f', account: '123456789012', source: 'deploy-guard', resources: ['arn:aws:codebuild:us-east-1:123456789012:build/checkout:42'] };
    const forged = { eventId: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d', account: '210987654321', source: 'deploy-guard', resources: [] };
    const first = { summary, receivedAt: builtAt + 3_000, sender: fromCi };

    it('stores the first summary of a revision with who sent it, and finds it by application and revision key', async () => {
      expect(await stores.changes.find(summary.application, key)).toBeUndefined();
      expect(await stores.changes.put(first)).toEqual({ stored: true });
      expect(await stores.changes.find(summary.application, key)).toEqual(first);
      expect(await stores.changes.find('another-application', key)).toBeUndefined();
    });

    it('refuses a later summary of the same revision, whoever sends it, and keeps the first', async () => {
      await stores.changes.put(first);
      const steered = { ...summary, change: { ...summary.change, linesAdded: 9000 } };
      expect(await stores.changes.put({ summary: steered, receivedAt: builtAt + 60_000, sender: forged })).toEqual({ stored: false, reason: 'already-summarised', first });
      expect(await stores.changes.put({ summary: steered, receivedAt: builtAt + 61_000, sender: { ...fromCi, eventId: 'a-second-ci-event' } })).toMatchObject({ stored: false, reason: 'already-summarised' });
      expect(await stores.changes.findForDeployment(summary.application, key, builtAt + HOUR)).toEqual(summary);
    });

    it("recognises its own write when the same event is put again (a lost answer's retry, a redelivery), and changes nothing", async () => {
      expect(await stores.changes.put(first)).toEqual({ stored: true });
      expect(await stores.changes.put({ ...first, receivedAt: first.receivedAt + 5_000 })).toEqual({ stored: true });
      expect(await stores.changes.find(summary.application, key)).toEqual(first);
    });

    it('refuses a summary arriving after a deployment of the revision started; the first start time seals it', async () => {
      expect(await stores.changes.findForDeployment(summary.application, key, builtAt + HOUR)).toBeUndefined();
      expect(await stores.changes.put(first)).toEqual({ stored: false, reason: 'deployment-started' });
      expect(await stores.changes.findForDeployment(summary.application, key, builtAt + 2 * HOUR)).toBeUndefined();
      expect(await stores.changes.find(summary.application, key)).toBeUndefined();
    });

    it('gives a deployment the summary stored before it started, and takes none after', async () => {
      await stores.changes.put(first);
      expect(await stores.changes.findForDeployment(summary.application, key, builtAt + HOUR)).toEqual(summary);
      expect(await stores.changes.put({ summary, receivedAt: builtAt + 2 * HOUR, sender: forged })).toEqual({ stored: false, reason: 'already-summarised', first });
      // A redelivery of the first summary's own event is still recognised as the stored one.
      expect(await stores.changes.put(first)).toEqual({ stored: true });
    });

    it('keeps an S3 revision apart from a commit and omits absent optional fields', async () => {
      const s3 = { schemaVersion: '1' as const, application: app, revision: { s3: { bucket: 'releases', key: 'app.zip', eTag: 'abc' } }, builtAt: summary.builtAt, change: {} };
      await stores.changes.put({ summary: s3, receivedAt: builtAt, sender: { ...fromCi, resources: [] } });
      expect(await stores.changes.find(app, 's3:releases/app.zip@abc')).toEqual({ summary: s3, receivedAt: builtAt, sender: { ...fromCi, resources: [] } });
      expect(await stores.changes.find(app, key)).toBeUndefined();
    });
  });

  describe('ControlStore', () => {
    const pointer = (version: string, change: Partial<ServingModelPointer> = {}): ServingModelPointer => ({
      modelVersion: version,
      modelDataUrl: `s3://models/${version}/model.tar.gz`,
      featuresUrl: `s3://models/${version}/features.json`,
      promotedAt: startedAt,
      ...change,
    });

    it('moves the serving-model pointer only from the version the caller expects (compare-and-set)', async () => {
      expect(await stores.control.readServingModel()).toBeUndefined();
      expect(await stores.control.swapServingModel(pointer('v1'), 'v0')).toBe(false);
      expect(await stores.control.swapServingModel(pointer('v1'), null)).toBe(true);
      expect(await stores.control.swapServingModel(pointer('v1b'), null)).toBe(false);
      expect(await stores.control.readServingModel()).toEqual(pointer('v1'));

      const second = pointer('v2', { trainingJobName: 'deploy-guard-dev-20261120-0900-5f2c1a', promotedAt: startedAt + HOUR });
      const race = await Promise.all([stores.control.swapServingModel(second, 'v1'), stores.control.swapServingModel(pointer('v2x'), 'v1')]);
      expect(race.filter(Boolean)).toHaveLength(1);
      const winner = race[0] ? second : pointer('v2x');
      expect(await stores.control.readServingModel()).toEqual(winner);

      // A replacement without trainingJobName does not keep the old one.
      expect(await stores.control.swapServingModel(pointer('v3'), winner.modelVersion)).toBe(true);
      expect(await stores.control.readServingModel()).toEqual(pointer('v3'));
    });

    it('records a retraining only over the job the caller read (compare-and-set)', async () => {
      const job = (name: string) => ({ trainingJobName: name, alarmName: 'deploy-guard-dev-model-quality', startedAt });
      expect(await stores.control.readRetraining()).toBeUndefined();
      expect(await stores.control.recordRetraining(job('job-1'), 'job-0')).toBe(false);
      expect(await stores.control.recordRetraining(job('job-1'), null)).toBe(true);
      expect(await stores.control.recordRetraining(job('job-x'), null)).toBe(false);
      expect(await stores.control.recordRetraining(job('job-2'), 'job-1')).toBe(true);
      expect(await stores.control.recordRetraining(job('job-3'), 'job-1')).toBe(false);
      expect(await stores.control.readRetraining()).toEqual(job('job-2'));
      // Marked announced over itself (drift's step 4).
      expect(await stores.control.recordRetraining({ ...job('job-2'), announcedAt: startedAt + 1_000 }, 'job-2')).toBe(true);
      expect(await stores.control.readRetraining()).toEqual({ ...job('job-2'), announcedAt: startedAt + 1_000 });
    });

    it('keeps the pointer\'s model package and previous version, for an announcement cut short', async () => {
      const promoted = pointer('v2', { trainingJobName: 'job-2', modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/dg/2', previousModelVersion: 'v1' });
      expect(await stores.control.swapServingModel(promoted, null)).toBe(true);
      expect(await stores.control.readServingModel()).toEqual(promoted);
    });

    it('records the first verdict on a training job and keeps it against any other, racing ones included', async () => {
      const verdict = (verdict: 'promoted' | 'rejected', detail: string) => ({ trainingJobName: 'job-7', verdict, detail, decidedAt: startedAt });
      expect(await stores.control.readJobVerdict('job-7')).toBeUndefined();
      const race = await Promise.all([
        stores.control.recordJobVerdict(verdict('rejected', 'below-minimum')),
        stores.control.recordJobVerdict(verdict('promoted', 'job-7')),
      ]);
      expect(race.filter(Boolean)).toHaveLength(1);
      const first = race[0] ? verdict('rejected', 'below-minimum') : verdict('promoted', 'job-7');
      expect(await stores.control.readJobVerdict('job-7')).toEqual(first);
      expect(await stores.control.recordJobVerdict(verdict('rejected', 'training-failed'))).toBe(false);
      expect(await stores.control.readJobVerdict('job-7')).toEqual(first);
      // Verdicts are per job.
      expect(await stores.control.readJobVerdict('job-8')).toBeUndefined();
    });

    it('keeps the training jobs drift recorded, per job, exactly as recorded', async () => {
      const job = recordedJob('deploy-guard-dev-20261120-0900-5f2c1a', { servingModelS3Uri: 's3://deploy-guard-dev-models/models/initial/model.tar.gz' });
      expect(await stores.control.readTrainingJob(job.trainingJobName)).toBeUndefined();
      await stores.control.recordTrainingJob(job);
      expect(await stores.control.readTrainingJob(job.trainingJobName)).toEqual(job);
      expect(await stores.control.readTrainingJob('deploy-guard-dev-20261120-0900-000000')).toBeUndefined();
    });

    it("keeps promote's latest intent for a job, per job", async () => {
      const intent: PromotionIntent = {
        trainingJobName: 'job-7',
        stage: 'registered',
        modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/deploy-guard-dev-risk/7',
        modelDataUrl: 's3://deploy-guard-dev-models/models/training/job-7/output/model.tar.gz',
        endpointConfigName: 'job-7',
        previousModelVersion: null,
        registeredAnnounced: false,
        candidate: { auc: 0.8125, prAuc: 0.5, brier: 0.125, f1Failure: 0.4, rows: 12 },
        serving: null,
        decidedAt: startedAt,
      };
      expect(await stores.control.readPromotion('job-7')).toBeUndefined();
      await stores.control.writePromotion(intent);
      await stores.control.writePromotion({ ...intent, stage: 'deploying', registeredAnnounced: true });
      expect(await stores.control.readPromotion('job-7')).toEqual({ ...intent, stage: 'deploying', registeredAnnounced: true });
      expect(await stores.control.readPromotion('job-8')).toBeUndefined();
    });
  });

  describe('RollbackLedger', () => {
    const clock = () => new ManualClock(success.time);
    const stopped = (at: number) => ({ kind: 'completed' as const, action: 'StopDeployment' as const, at });
    const stop = (token: string, at: number) => ({ deploymentId, action: 'StopDeployment' as const, token: `${token}/StopDeployment`, at });
    const proceed = (token: string, at: number) => ({ deploymentId, action: 'ContinueDeployment' as const, token: `${token}/ContinueDeployment`, at });

    it('lets the first claim win, records the attempt, the outcome and its publication', async () => {
      const ledger = stores.ledger();
      const now = clock();
      expect(await ledger.read(deploymentId)).toBeUndefined();
      const claims = await Promise.all(['e-1', 'e-2', 'e-3'].map((token) => ledger.claim(stop(token, now.now()))));
      const winner = claims.find((claim) => claim.claimed);
      expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
      const token = winner!.entry.claimToken;
      const opened = { deploymentId, action: 'StopDeployment', claimToken: token, claimedAt: now.now(), openedAt: now.now(), openedBy: token, dueCounted: false, published: false };
      expect(winner).toEqual({ claimed: true, entry: opened });
      expect(await ledger.read(deploymentId)).toEqual(opened);
      await ledger.markDueCounted(deploymentId);

      await ledger.recordAttempt(deploymentId, token, 'StopDeployment', now.now() + 100);
      await ledger.record(deploymentId, token, stopped(now.now() + 500));
      await ledger.markPublished(deploymentId);
      expect(await ledger.read(deploymentId)).toEqual({ ...opened, dueCounted: true, attempt: { action: 'StopDeployment', at: now.now() + 100 }, outcome: stopped(now.now() + 500), published: true });
    });

    it('records an attempt or an outcome only for the claim that holds the entry, and one outcome only', async () => {
      const ledger = stores.ledger();
      await expect(ledger.record(deploymentId, 'e-1/StopDeployment', stopped(startedAt))).rejects.toThrow(`deployment ${deploymentId} has no claim in the rollback ledger`);
      await expect(ledger.markPublished(deploymentId)).rejects.toThrow(`deployment ${deploymentId} has no claim in the rollback ledger`);
      expect(await ledger.read(deploymentId)).toBeUndefined();

      await ledger.claim(stop('e-1', startedAt));
      await expect(ledger.recordAttempt(deploymentId, 'e-2/StopDeployment', 'StopDeployment', startedAt)).rejects.toThrow('claim e-2/StopDeployment no longer holds the rollback ledger');
      await ledger.record(deploymentId, 'e-1/StopDeployment', stopped(startedAt));
      await expect(ledger.record(deploymentId, 'e-1/StopDeployment', { ...stopped(startedAt), at: startedAt + 1 })).rejects.toThrow('outcome recorded');
      expect((await ledger.read(deploymentId))?.outcome).toEqual(stopped(startedAt));
    });

    it('lets a retry of the same event finish its own claim without an outcome, whatever the lease; never once it has one', async () => {
      const ledger = stores.ledger();
      const now = clock();
      const first = now.now();
      await ledger.claim(stop('e-1', first));
      await ledger.markDueCounted(deploymentId);
      await ledger.recordAttempt(deploymentId, 'e-1/StopDeployment', 'StopDeployment', first);
      // The invocation crashed after its attempt; Lambda retries the same event within the lease.
      now.advanceBy(1_000);
      const retry = await ledger.claim(stop('e-1', now.now()));
      expect(retry).toEqual({
        claimed: true,
        entry: { deploymentId, action: 'StopDeployment', claimToken: 'e-1/StopDeployment', claimedAt: now.now(), openedAt: first, openedBy: 'e-1/StopDeployment', dueCounted: true, attempt: { action: 'StopDeployment', at: first }, published: false },
      });
      // Another event within the lease does not get it.
      expect(await ledger.claim(stop('e-2', now.now()))).toMatchObject({ claimed: false, entry: { claimToken: 'e-1/StopDeployment' } });
      await ledger.record(deploymentId, 'e-1/StopDeployment', stopped(now.now()));
      now.advanceBy(24 * HOUR);
      expect(await ledger.claim(stop('e-1', now.now()))).toMatchObject({ claimed: false, entry: { outcome: stopped(now.now() - 24 * HOUR) } });
    });

    it('lets another event of the same action take over a claim left without an outcome once the lease (45 s) expired, once, keeping its attempt', async () => {
      const ledger = stores.ledger();
      const now = clock();
      const first = now.now();
      await ledger.claim(stop('e-1', first));
      await ledger.recordAttempt(deploymentId, 'e-1/StopDeployment', 'StopDeployment', first);
      now.advanceBy(45_000 - 1);
      expect(await ledger.claim(stop('e-2', now.now()))).toMatchObject({ claimed: false });
      now.advanceBy(1);
      // Another action (a gate proceed) never takes over a rollback's claim.
      expect(await ledger.claim(proceed('e-3', now.now()))).toMatchObject({ claimed: false });
      const takeovers = await Promise.all(['e-2', 'e-4'].map((token) => ledger.claim(stop(token, now.now()))));
      expect(takeovers.filter((claim) => claim.claimed)).toHaveLength(1);
      const entry = (await ledger.read(deploymentId))!;
      expect(entry).toMatchObject({ claimedAt: now.now(), openedAt: first, openedBy: 'e-1/StopDeployment', attempt: { action: 'StopDeployment', at: first } });
      expect(takeovers.find((claim) => claim.claimed)).toMatchObject({ entry: { claimToken: entry.claimToken } });
    });

    it('honours a configured lease', async () => {
      const ledger = stores.ledger({ leaseMs: 10_000 });
      await ledger.claim(stop('e-1', startedAt));
      expect(await ledger.claim(stop('e-2', startedAt + 9_999))).toMatchObject({ claimed: false });
      expect(await ledger.claim(stop('e-2', startedAt + 10_000))).toMatchObject({ claimed: true });
    });

    it('a proceed that has not acted never blocks a rollback: the rollback supersedes it, and the proceed cannot claim back', async () => {
      const ledger = stores.ledger();
      await ledger.claim(proceed('forged', startedAt));
      await ledger.markDueCounted(deploymentId);
      const rollback = await ledger.claim(stop('genuine', startedAt + 10));
      // It continues the proceed's wait for an outcome: already counted due.
      expect(rollback).toMatchObject({ claimed: true, entry: { action: 'StopDeployment', claimToken: 'genuine/StopDeployment', openedAt: startedAt, dueCounted: true } });
      await expect(ledger.recordAttempt(deploymentId, 'forged/ContinueDeployment', 'ContinueDeployment', startedAt + 20)).rejects.toThrow('no longer holds');
      expect(await ledger.claim(proceed('forged', startedAt + 30))).toMatchObject({ claimed: false, entry: { action: 'StopDeployment' } });
    });

    it('a proceed that ended without acting is reopened by a rollback; one that attempted or completed ContinueDeployment holds', async () => {
      const refused = { kind: 'not-done' as const, reason: 'NotWaitingAtReady', message: 'not at READY', at: startedAt + 5 };
      const ledger = stores.ledger();
      await ledger.claim(proceed('p', startedAt));
      await ledger.record(deploymentId, 'p/ContinueDeployment', refused);
      const reopened = await ledger.claim(stop('r', startedAt + 10));
      expect(reopened).toMatchObject({ claimed: true, entry: { action: 'StopDeployment', openedAt: startedAt + 10, openedBy: 'r/StopDeployment', dueCounted: false } });
      expect((await ledger.read(deploymentId))?.outcome).toBeUndefined();

      const acted = stores.ledger();
      const other = (derivedDeploymentEvent('START', 'd-987654321').event as { detail: { deploymentId: string } }).detail.deploymentId;
      await acted.claim({ ...proceed('p', startedAt), deploymentId: other });
      await acted.recordAttempt(other, 'p/ContinueDeployment', 'ContinueDeployment', startedAt + 1);
      expect(await acted.claim({ ...stop('r', startedAt + 10), deploymentId: other })).toMatchObject({ claimed: false, entry: { action: 'ContinueDeployment' } });
      await acted.record(other, 'p/ContinueDeployment', { kind: 'completed', action: 'ContinueDeployment', at: startedAt + 2 });
      expect(await acted.claim({ ...stop('r', startedAt + 10_000_000), deploymentId: other })).toMatchObject({ claimed: false, entry: { action: 'ContinueDeployment' } });
    });
  });
});

describe('DynamoDbChangeSummaryStore against dynalite: a PutItem applied whose answer is lost', () => {
  it("lets the SDK's own retry recognise its write: stored, not refused as a second summary", async () => {
    const local = await startLocalDynamoDb({ prefix: 'lost-answer' });
    // Below the SDK's retry middleware: the request reaches DynamoDB, then the answer is lost once.
    const client = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, retryMode: 'standard' });
    let puts = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const answer = await next(args);
        if (context.commandName === 'PutItemCommand' && (puts += 1) === 1) throw Object.assign(new Error('the answer of an applied PutItem was lost'), { name: 'TimeoutError', $metadata: {} });
        return answer;
      },
      { step: 'deserialize', name: 'loseFirstPutItemAnswer' },
    );
    try {
      const store = new DynamoDbChangeSummaryStore(client, local.tableNames.changes);
      const summary = EMITTED_EVENTS['Deployment Change Summary'].example;
      const record = { summary, receivedAt: Date.parse(summary.builtAt), sender: { eventId: 'ci-event-1', account: '123456789012', source: 'deploy-guard', resources: [] } };
      expect(await store.put(record)).toEqual({ stored: true });
      expect(puts).toBe(2);
      expect(await store.find(summary.application, revisionKey(summary.revision))).toEqual(record);
    } finally {
      client.destroy();
      await local.close();
    }
  });
});

describe('DynamoDbShadowDigestStore against dynalite: a claim applied whose answer is lost', () => {
  it("lets the SDK's own retry recognise its claim: claimed, not taken for another delivery's", async () => {
    const local = await startLocalDynamoDb({ prefix: 'lost-digest-claim' });
    const client = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, retryMode: 'standard' });
    const lost = loseAnswers(client, 'PutItemCommand');
    try {
      const store = new DynamoDbShadowDigestStore(client, local.tableNames.control);
      const claim = { from: Date.parse('2026-12-01T09:00:00Z'), to: Date.parse('2026-12-02T09:00:00Z'), token: 'e-1', claimedAt: Date.parse('2026-12-02T09:00:02Z') };
      expect(await store.claim(claim, null)).toBe(true);
      expect(lost.lost()).toBe(1);
      expect(await store.read(claim.from)).toEqual(claim);
      // Another delivery's claim at the same moment is not taken for ours.
      expect(await store.claim({ ...claim, token: 'e-2' }, null)).toBe(false);
    } finally {
      client.destroy();
      await local.close();
    }
  });
});

describe('DynamoDbBakeStore against dynalite: writes applied whose answers are lost', () => {
  const closedAt = Date.parse('2026-12-01T09:10:00Z');
  const record: BakeRecord = { deploymentId: 'd-BAKE00001', application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', alarmNames: ['checkout-5xx'], minutes: 30, openedAt: closedAt - 600_000, endsAt: closedAt + 1_200_000, state: 'not-done', refusal: 'DeploymentAlreadyCompleted', alarmName: 'checkout-5xx', closedAt };

  it("lets the SDK's own retry recognise its closed bake and its announcement's claim: kept and claimed, not taken for another invocation's", async () => {
    const local = await startLocalDynamoDb({ prefix: 'lost-bake-claim' });
    const client = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, retryMode: 'standard' });
    const lostPuts = loseAnswers(client, 'PutItemCommand');
    const lostUpdates = loseAnswers(client, 'UpdateItemCommand');
    try {
      const store = new DynamoDbBakeStore(client, local.tableNames.control);
      expect(await store.keepClosed(record)).toEqual(record);
      expect(lostPuts.lost()).toBe(1);
      const claim = { token: 'alarm-1/a', at: closedAt + 1 };
      expect(await store.claimAnnouncement(record.deploymentId, claim, null)).toBe(true);
      expect(lostUpdates.lost()).toBe(1);
      expect(await store.readClosed(record.deploymentId)).toEqual({ ...record, announcing: claim });
      // Another invocation's claim at the same moment is not taken for ours.
      expect(await store.claimAnnouncement(record.deploymentId, { ...claim, token: 'alarm-1/b' }, null)).toBe(false);
      // Its count's mark, the answer lost too: the SDK's retry finds the mark its own.
      const lostMarks = loseAnswers(client, 'UpdateItemCommand');
      expect(await store.markCounted(record.deploymentId, 'alarm-1/a')).toBe(true);
      expect(lostMarks.lost()).toBe(1);
      expect(await store.markCounted(record.deploymentId, 'alarm-1/b')).toBe(false);
      expect((await store.readClosed(record.deploymentId))?.countedBy).toBe('alarm-1/a');
    } finally {
      client.destroy();
      await local.close();
    }
  });
});
