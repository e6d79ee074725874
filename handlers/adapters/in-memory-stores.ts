import type { PastDeployment } from '../../model/history';
import type {
  AssessmentRecord,
  ChangeSummary,
  ChangeSummaryStore,
  ControlStore,
  DeploymentItem,
  DeploymentStore,
  OutcomeRecord,
  RetrainingState,
  ServingModelPointer,
  StoreWrite,
} from '../ports';
import { groupKey } from '../config';
import { revisionKey } from '../../events/emitted';

/**
 * The stores in process, with the same semantics as the DynamoDB adapters (conditional writes: the
 * first writer wins). Used by the tests and by the backtest's fast path; a contract test holds both
 * implementations to the same behaviour.
 */

interface HistoryEntry extends PastDeployment {
  readonly time: number;
  readonly deploymentId: string;
}

export class InMemoryDeploymentStore implements DeploymentStore {
  private readonly items = new Map<string, DeploymentItem>();
  /** Per group, sorted by (time, deploymentId). */
  private readonly histories = new Map<string, HistoryEntry[]>();

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
    this.appendHistory(groupKey(outcome.application, outcome.deploymentGroup), {
      ...history,
      time: history.time ?? outcome.finishedAt,
      deploymentId: outcome.deploymentId,
    });
    return { created: true, item: next };
  }

  async get(deploymentId: string): Promise<DeploymentItem | undefined> {
    return this.items.get(deploymentId);
  }

  async claimTrainingRow(deploymentId: string): Promise<boolean> {
    const item = this.items.get(deploymentId);
    if (!item || item.trainingRowWritten) return false;
    this.items.set(deploymentId, { ...item, trainingRowWritten: true });
    return true;
  }

  async groupHistory(application: string, deploymentGroup: string, before: number, limit: number): Promise<readonly PastDeployment[]> {
    const entries = this.histories.get(groupKey(application, deploymentGroup)) ?? [];
    const end = upperBound(entries, before);
    return entries.slice(Math.max(0, end - limit), end).map(toPast);
  }

  async groupCounts(application: string, deploymentGroup: string, before: number): Promise<{ known: number; failures: number }> {
    const entries = this.histories.get(groupKey(application, deploymentGroup)) ?? [];
    let known = 0;
    let failures = 0;
    for (let index = 0, end = upperBound(entries, before); index < end; index += 1) {
      const failed = entries[index].failed;
      if (failed === undefined) continue;
      known += 1;
      if (failed) failures += 1;
    }
    return { known, failures };
  }

  private appendHistory(group: string, entry: HistoryEntry): void {
    const entries = this.histories.get(group) ?? [];
    if (!this.histories.has(group)) this.histories.set(group, entries);
    let index = entries.length;
    while (index > 0 && compare(entries[index - 1], entry) > 0) index -= 1;
    entries.splice(index, 0, entry);
  }
}

function compare(a: HistoryEntry, b: HistoryEntry): number {
  return a.time - b.time || (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0);
}

/** Index of the first entry starting at or after `before`. */
function upperBound(entries: readonly HistoryEntry[], before: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle].time < before) low = middle + 1;
    else high = middle;
  }
  return low;
}

function toPast(entry: HistoryEntry): PastDeployment {
  return {
    time: entry.time,
    ...(entry.failed === undefined ? {} : { failed: entry.failed }),
    ...(entry.author === undefined ? {} : { author: entry.author }),
  };
}

export class InMemoryChangeSummaryStore implements ChangeSummaryStore {
  private readonly summaries = new Map<string, ChangeSummary>();

  async put(summary: ChangeSummary): Promise<void> {
    this.summaries.set(`${summary.application}\u0000${revisionKey(summary.revision)}`, summary);
  }

  async find(application: string, key: string): Promise<ChangeSummary | undefined> {
    return this.summaries.get(`${application}\u0000${key}`);
  }
}

export class InMemoryControlStore implements ControlStore {
  private serving: ServingModelPointer | undefined;
  private retraining: RetrainingState | undefined;

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
}
