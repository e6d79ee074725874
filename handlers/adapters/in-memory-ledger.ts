import type { GuardAction, LedgerEntry, LedgerOutcome, RollbackLedger } from '../ports';

/**
 * The rollback ledger in process: the tests, the backtest, and (until the DynamoDB adapter exists)
 * a warm Lambda container. Same semantics as the conditional write: the first claim wins.
 */
export class InMemoryRollbackLedger implements RollbackLedger {
  private readonly entries = new Map<string, LedgerEntry>();

  async claim(deploymentId: string, action: GuardAction, at: number): Promise<boolean> {
    if (this.entries.has(deploymentId)) return false;
    this.entries.set(deploymentId, { deploymentId, action, claimedAt: at, published: false });
    return true;
  }

  async record(deploymentId: string, outcome: LedgerOutcome): Promise<void> {
    this.entries.set(deploymentId, { ...this.claimed(deploymentId), outcome });
  }

  async markPublished(deploymentId: string): Promise<void> {
    this.entries.set(deploymentId, { ...this.claimed(deploymentId), published: true });
  }

  async read(deploymentId: string): Promise<LedgerEntry | undefined> {
    return this.entries.get(deploymentId);
  }

  private claimed(deploymentId: string): LedgerEntry {
    const entry = this.entries.get(deploymentId);
    if (!entry) throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger: claim it before recording`);
    return entry;
  }
}
