import type { PastDeployment } from '../../model/history';
import type {
  CodeDeployOutcome,
  GateStore,
  HoldStore,
  AssessmentRecord,
  ChangeSummary,
  ChangeSummaryStore,
  ChangeSummaryWrite,
  ControlStore,
  DeploymentItem,
  DeploymentStore,
  JobVerdict,
  OutcomeRecord,
  PromotionIntent,
  RecordedTrainingJob,
  RetrainingState,
  ServingModelPointer,
  StoreWrite,
  StoredChangeSummary,
  StoredCut,
  BakeAnnouncementClaim,
  BakeBook,
  BakeRecord,
  BakeStore,
  StoredBakeBook,
  OperatorControlStore,
  ShadowDigestClaim,
  ShadowDigestSent,
  ShadowDigestStore,
} from '../ports';
import type { DeploymentOverride, GroupPause } from '../operator-controls';
import type { DeploymentHold, HoldSettlement } from '../hold-domain';
import { gateDayKeyOf, type GateDecisionEntry, type GateJobRecord, type GatePass, type GateSettlement } from '../pipeline-gate-domain';
import { CONTROL_KEYS } from '../tables';
import { MAX_HISTORY_READ } from '../ports';
import type { CutState } from '../../model/block-budget';
import { writeOverEntry, type RevisionEntry } from '../change-summaries';
import { groupKey } from '../config';
import { revisionKey } from '../../events/emitted';

/**
 * The stores in process, with the same semantics as the DynamoDB adapters (conditional writes: the
 * first writer wins). Used by the tests and by the backtest's fast path; a contract test holds both
 * implementations to the same behaviour.
 */

interface HistoryEntry {
  readonly time: number;
  readonly deploymentId: string;
  /** What groupHistory returns: built once, handed out as it is. */
  readonly past: PastDeployment;
}

/**
 * One group's outcomes sorted by (start time, deploymentId), with running counts so that the counts
 * before a time are a binary search. Outcomes arrive almost always in time order (an append); one
 * that arrives late is inserted and the counts after it are shifted.
 */
class GroupHistory {
  readonly entries: HistoryEntry[] = [];
  /** knownBefore[i]: outcomes with a known label among entries[0..i). Length entries.length + 1. */
  private readonly knownBefore: number[] = [0];
  private readonly failuresBefore: number[] = [0];

  add(entry: HistoryEntry): void {
    const { entries } = this;
    let index = entries.length;
    while (index > 0 && compare(entries[index - 1], entry) > 0) index -= 1;
    entries.splice(index, 0, entry);
    const known = entry.past.failed === undefined ? 0 : 1;
    const failure = entry.past.failed ? 1 : 0;
    this.knownBefore.splice(index + 1, 0, this.knownBefore[index] + known);
    this.failuresBefore.splice(index + 1, 0, this.failuresBefore[index] + failure);
    for (let after = index + 2; after < this.knownBefore.length; after += 1) {
      this.knownBefore[after] += known;
      this.failuresBefore[after] += failure;
    }
  }

  /** Index of the first entry starting at or after `before`. */
  end(before: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle].time < before) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  counts(before: number): { known: number; failures: number } {
    const end = this.end(before);
    return { known: this.knownBefore[end], failures: this.failuresBefore[end] };
  }
}

export class InMemoryDeploymentStore implements DeploymentStore {
  private readonly items = new Map<string, DeploymentItem>();
  private readonly histories = new Map<string, GroupHistory>();

  async putAssessment(assessment: AssessmentRecord): Promise<StoreWrite> {
    const item = this.items.get(assessment.deploymentId) ?? { deploymentId: assessment.deploymentId, trainingRowWritten: false };
    if (item.assessment) return { created: false, item };
    const next = { ...item, assessment };
    this.items.set(assessment.deploymentId, next);
    return { created: true, item: next };
  }

  async putOutcome(outcome: OutcomeRecord, history: PastDeployment): Promise<StoreWrite> {
    const item = this.items.get(outcome.deploymentId) ?? { deploymentId: outcome.deploymentId, trainingRowWritten: false };
    if (item.outcome) return { created: false, item };
    const next = { ...item, outcome };
    this.items.set(outcome.deploymentId, next);
    const group = groupKey(outcome.application, outcome.deploymentGroup);
    let groupHistory = this.histories.get(group);
    if (!groupHistory) {
      groupHistory = new GroupHistory();
      this.histories.set(group, groupHistory);
    }
    const time = history.time ?? outcome.finishedAt;
    groupHistory.add({
      time,
      deploymentId: outcome.deploymentId,
      past: Object.freeze({
        time,
        ...(history.failed === undefined ? {} : { failed: history.failed }),
        ...(history.author === undefined ? {} : { author: history.author }),
      }),
    });
    return { created: true, item: next };
  }

  async get(deploymentId: string): Promise<DeploymentItem | undefined> {
    return this.items.get(deploymentId);
  }

  async markTrainingRowWritten(deploymentId: string): Promise<boolean> {
    const item = this.items.get(deploymentId);
    if (!item || item.trainingRowWritten) return false;
    this.items.set(deploymentId, { ...item, trainingRowWritten: true });
    return true;
  }

  async groupHistory(application: string, deploymentGroup: string, before: number, knownLimit: number): Promise<readonly PastDeployment[]> {
    const history = this.histories.get(groupKey(application, deploymentGroup));
    if (!history || !(knownLimit >= 1)) return [];
    const end = history.end(before);
    let start = end;
    let known = 0;
    while (start > 0 && known < knownLimit && end - start < MAX_HISTORY_READ) {
      start -= 1;
      if (history.entries[start].past.failed !== undefined) known += 1;
    }
    const past: PastDeployment[] = [];
    for (let index = start; index < end; index += 1) past.push(history.entries[index].past);
    return past;
  }

  async groupCounts(application: string, deploymentGroup: string, before: number): Promise<{ known: number; failures: number }> {
    return this.histories.get(groupKey(application, deploymentGroup))?.counts(before) ?? { known: 0, failures: 0 };
  }

  async recentAssessments(application: string, deploymentGroup: string, since: number, limit: number): Promise<readonly DeploymentItem[]> {
    return [...this.items.values()]
      .filter(({ assessment }) => assessment?.application === application && assessment.deploymentGroup === deploymentGroup && assessment.assessedAt >= since)
      .sort((a, b) => b.assessment!.assessedAt - a.assessment!.assessedAt)
      .slice(0, Math.max(0, limit));
  }
}

function compare(a: HistoryEntry, b: HistoryEntry): number {
  return a.time - b.time || (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0);
}

export class InMemoryChangeSummaryStore implements ChangeSummaryStore {
  private readonly revisions = new Map<string, RevisionEntry>();

  async put(record: StoredChangeSummary): Promise<ChangeSummaryWrite> {
    const key = `${record.summary.application}\u0000${revisionKey(record.summary.revision)}`;
    const entry = this.revisions.get(key);
    if (entry) return writeOverEntry(entry, record);
    this.revisions.set(key, { first: structuredClone(record) });
    return { stored: true };
  }

  async findForDeployment(application: string, key: string, startedAt: number): Promise<ChangeSummary | undefined> {
    const entry = this.revisions.get(`${application}\u0000${key}`) ?? {};
    this.revisions.set(`${application}\u0000${key}`, { ...entry, sealedAt: entry.sealedAt ?? startedAt });
    return entry.first?.summary;
  }

  async find(application: string, key: string): Promise<StoredChangeSummary | undefined> {
    return this.revisions.get(`${application}\u0000${key}`)?.first;
  }
}

export class InMemoryControlStore implements ControlStore {
  private serving: ServingModelPointer | undefined;
  private retraining: RetrainingState | undefined;
  private readonly verdicts = new Map<string, JobVerdict>();
  private readonly cuts = new Map<string, StoredCut>();
  private readonly trainingJobs = new Map<string, RecordedTrainingJob>();
  private readonly promotions = new Map<string, PromotionIntent>();

  async recordTrainingJob(job: RecordedTrainingJob): Promise<void> {
    this.trainingJobs.set(job.trainingJobName, job);
  }

  async readTrainingJob(trainingJobName: string): Promise<RecordedTrainingJob | undefined> {
    return this.trainingJobs.get(trainingJobName);
  }

  async readPromotion(trainingJobName: string): Promise<PromotionIntent | undefined> {
    return this.promotions.get(trainingJobName);
  }

  async writePromotion(intent: PromotionIntent): Promise<void> {
    this.promotions.set(intent.trainingJobName, intent);
  }

  async readServingModel(): Promise<ServingModelPointer | undefined> {
    return this.serving;
  }

  async swapServingModel(next: ServingModelPointer, expectedVersion: string | null): Promise<boolean> {
    if ((this.serving?.modelVersion ?? null) !== expectedVersion) return false;
    this.serving = next;
    return true;
  }

  async readRetraining(): Promise<RetrainingState | undefined> {
    return this.retraining;
  }

  async recordRetraining(next: RetrainingState, expectedJob: string | null): Promise<boolean> {
    if ((this.retraining?.trainingJobName ?? null) !== expectedJob) return false;
    this.retraining = next;
    return true;
  }

  async readJobVerdict(trainingJobName: string): Promise<JobVerdict | undefined> {
    return this.verdicts.get(trainingJobName);
  }

  async recordJobVerdict(verdict: JobVerdict): Promise<boolean> {
    if (this.verdicts.has(verdict.trainingJobName)) return false;
    this.verdicts.set(verdict.trainingJobName, verdict);
    return true;
  }

  async readCut(scope: string): Promise<StoredCut | undefined> {
    return this.cuts.get(scope);
  }

  async writeCut(scope: string, state: CutState, expectedRevision: number | null): Promise<boolean> {
    const current = this.cuts.get(scope);
    if ((current?.revision ?? null) !== expectedRevision) return false;
    this.cuts.set(scope, { state, revision: (current?.revision ?? 0) + 1 });
    return true;
  }
}

/** The bakes in process (handlers/ports.ts BakeStore): one book, compare-and-set on its revision. */
export class InMemoryBakeStore implements BakeStore {
  private stored: StoredBakeBook | undefined;
  private readonly closed = new Map<string, BakeRecord>();

  async readBook(): Promise<StoredBakeBook | undefined> {
    return this.stored ? structuredClone(this.stored) : undefined;
  }

  async writeBook(book: BakeBook, expectedRevision: number | null): Promise<boolean> {
    if ((this.stored?.revision ?? null) !== expectedRevision) return false;
    this.stored = { book: structuredClone(book), revision: (expectedRevision ?? 0) + 1 };
    return true;
  }

  async keepClosed(record: BakeRecord): Promise<BakeRecord> {
    if (!this.closed.has(record.deploymentId)) this.closed.set(record.deploymentId, structuredClone(record));
    return structuredClone(this.closed.get(record.deploymentId)!);
  }

  async readClosed(deploymentId: string): Promise<BakeRecord | undefined> {
    const record = this.closed.get(deploymentId);
    return record ? structuredClone(record) : undefined;
  }

  async claimAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim, expected: BakeAnnouncementClaim | null): Promise<boolean> {
    const kept = this.closed.get(deploymentId);
    if (!kept || kept.announcedAt !== undefined) return false;
    const current = kept.announcing ?? null;
    if (current === null ? expected !== null : expected === null || current.token !== expected.token || current.at !== expected.at) return false;
    this.closed.set(deploymentId, { ...kept, announcing: { ...claim } });
    return true;
  }

  async releaseAnnouncement(deploymentId: string, claim: BakeAnnouncementClaim): Promise<void> {
    const kept = this.closed.get(deploymentId);
    if (!kept || kept.announcedAt !== undefined || kept.announcing?.token !== claim.token || kept.announcing.at !== claim.at) return;
    const released: BakeRecord = { ...kept };
    delete (released as { announcing?: unknown }).announcing;
    this.closed.set(deploymentId, released);
  }

  async markAnnounced(deploymentId: string, at: number): Promise<void> {
    const kept = this.closed.get(deploymentId);
    if (!kept) throw new Error(`no closed bake of ${deploymentId} is kept: nothing to mark announced`);
    if (kept.announcedAt === undefined) this.closed.set(deploymentId, { ...kept, announcedAt: at });
  }

  async markCounted(deploymentId: string, invocation: string): Promise<boolean> {
    const kept = this.closed.get(deploymentId);
    if (!kept) throw new Error(`no closed bake of ${deploymentId} is kept: nothing to mark counted`);
    if (kept.countedBy !== undefined) return kept.countedBy === invocation;
    this.closed.set(deploymentId, { ...kept, countedBy: invocation });
    return true;
  }
}

/** The operators' overrides and pauses in process, keyed as the control table keys them. */
export class InMemoryOperatorControlStore implements OperatorControlStore {
  private readonly items = new Map<string, DeploymentOverride | GroupPause>();

  async readOverride(application: string, revision: string): Promise<DeploymentOverride | undefined> {
    return this.items.get(CONTROL_KEYS.override(application, revision)) as DeploymentOverride | undefined;
  }

  async readPause(application: string, deploymentGroup: string): Promise<GroupPause | undefined> {
    return this.items.get(CONTROL_KEYS.pause(groupKey(application, deploymentGroup))) as GroupPause | undefined;
  }

  async putOverride(override: DeploymentOverride): Promise<void> {
    this.items.set(CONTROL_KEYS.override(override.application, override.revision), { ...override });
  }

  async putPause(pause: GroupPause): Promise<void> {
    this.items.set(CONTROL_KEYS.pause(groupKey(pause.application, pause.deploymentGroup)), { ...pause });
  }
}

/** The holds in process, with the same first-writer-wins settlement as the control table's conditional update. */
export class InMemoryHoldStore implements HoldStore {
  private readonly holds = new Map<string, DeploymentHold>();
  private readonly listed = new Set<string>();

  async open(hold: DeploymentHold): Promise<DeploymentHold> {
    const stored = this.holds.get(hold.deploymentId) ?? hold;
    this.holds.set(hold.deploymentId, stored);
    if (!stored.settled) this.listed.add(hold.deploymentId);
    return structuredClone(stored);
  }

  async read(deploymentId: string): Promise<DeploymentHold | undefined> {
    const hold = this.holds.get(deploymentId);
    return hold ? structuredClone(hold) : undefined;
  }

  async settle(deploymentId: string, settlement: HoldSettlement): Promise<{ readonly won: boolean; readonly hold: DeploymentHold }> {
    const hold = this.holds.get(deploymentId);
    if (!hold) throw new Error(`no hold of ${deploymentId}: Deploy Guard holds no such deployment`);
    if (hold.settled) return { won: false, hold: structuredClone(hold) };
    const settled = { ...hold, settled: { ...settlement } };
    this.holds.set(deploymentId, settled);
    return { won: true, hold: structuredClone(settled) };
  }

  async recordAnswer(deploymentId: string, answer: CodeDeployOutcome): Promise<void> {
    const hold = this.holds.get(deploymentId);
    if (!hold?.settled) throw new Error(`the hold of ${deploymentId} is not settled: no answer to record`);
    this.holds.set(deploymentId, { ...hold, settled: { ...hold.settled, answer } });
  }

  async openIds(): Promise<readonly string[]> {
    return [...this.listed].sort();
  }

  async closeListing(deploymentId: string): Promise<void> {
    this.listed.delete(deploymentId);
  }
}

/** The pipeline gate's jobs and passes in process, with the same first-decision-stays write as the control table's conditional put. */
export class InMemoryGateStore implements GateStore {
  private readonly jobs = new Map<string, GateJobRecord>();
  private readonly passes = new Map<string, GatePass>();
  private readonly days = new Map<string, Map<string, GateDecisionEntry>>();

  async recordJob(record: GateJobRecord): Promise<{ readonly won: boolean; readonly record: GateJobRecord }> {
    const stored = this.jobs.get(record.jobId);
    if (stored) return { won: false, record: structuredClone(stored) };
    this.jobs.set(record.jobId, structuredClone(record));
    return { won: true, record: structuredClone(record) };
  }

  async markAnnounced(jobId: string): Promise<void> {
    const record = this.jobs.get(jobId);
    if (!record) throw new Error(`no gate job ${jobId}: nothing to mark announced`);
    this.jobs.set(jobId, { ...record, announced: true });
  }

  async readJob(jobId: string): Promise<GateJobRecord | undefined> {
    const record = this.jobs.get(jobId);
    return record ? structuredClone(record) : undefined;
  }

  async recordAnswered(jobId: string, answered: NonNullable<GateJobRecord['answered']>): Promise<void> {
    const record = this.jobs.get(jobId);
    if (!record) throw new Error(`no gate job ${jobId}: nothing to record an answer on`);
    this.jobs.set(jobId, { ...record, answered: { ...answered } });
  }

  async recordPass(pass: GatePass): Promise<void> {
    this.passes.set(CONTROL_KEYS.gatePass(pass.application, pass.revision), structuredClone(pass));
  }

  async readPass(application: string, revision: string): Promise<GatePass | undefined> {
    const pass = this.passes.get(CONTROL_KEYS.gatePass(application, revision));
    return pass ? structuredClone(pass) : undefined;
  }

  async linkDeployment(application: string, revision: string, deploymentId: string): Promise<void> {
    const key = CONTROL_KEYS.gatePass(application, revision);
    const pass = this.passes.get(key);
    if (!pass || pass.deploymentIds?.includes(deploymentId)) return;
    this.passes.set(key, { ...pass, deploymentIds: [...(pass.deploymentIds ?? []), deploymentId] });
  }

  async listDecision(entry: GateDecisionEntry): Promise<void> {
    const key = gateDayKeyOf(entry);
    const day = this.days.get(key) ?? new Map<string, GateDecisionEntry>();
    if (!day.has(entry.jobId)) day.set(entry.jobId, structuredClone(entry));
    this.days.set(key, day);
  }

  async settleListedDecision(entry: Pick<GateDecisionEntry, 'jobId' | 'application' | 'deploymentGroup' | 'decidedAt'>, settled: GateSettlement): Promise<void> {
    const day = this.days.get(gateDayKeyOf(entry));
    const listed = day?.get(entry.jobId);
    if (day && listed) day.set(entry.jobId, { ...listed, settled: structuredClone(settled) });
  }

  async listedDecisions(group: string, day: string): Promise<GateDecisionEntry[]> {
    const entries = [...(this.days.get(CONTROL_KEYS.gateDay(group, day))?.values() ?? [])];
    return structuredClone(entries).sort((a, b) => a.decidedAt - b.decidedAt);
  }
}

/** The shadow digest's claims in process, keyed by the day's start, with the same compare-and-set as the control table's conditional put. */
export class InMemoryShadowDigestStore implements ShadowDigestStore {
  private readonly claims = new Map<number, ShadowDigestClaim>();

  async read(from: number): Promise<ShadowDigestClaim | undefined> {
    const claim = this.claims.get(from);
    return claim ? structuredClone(claim) : undefined;
  }

  async claim(claim: Omit<ShadowDigestClaim, 'sent'>, expected: Pick<ShadowDigestClaim, 'token' | 'claimedAt'> | null): Promise<boolean> {
    const stored = this.claims.get(claim.from);
    const holds = expected === null ? stored === undefined : stored !== undefined && stored.sent === undefined && stored.token === expected.token && stored.claimedAt === expected.claimedAt;
    if (!holds) return false;
    this.claims.set(claim.from, structuredClone(claim));
    return true;
  }

  async markSent(from: number, sent: ShadowDigestSent): Promise<void> {
    const stored = this.claims.get(from);
    if (!stored) throw new Error(`no claim of the shadow digest of ${new Date(from).toISOString()}: nothing to mark sent`);
    if (!stored.sent) this.claims.set(from, { ...stored, sent: structuredClone(sent) });
  }
}
