import type { GuardAction, LedgerEntry, LedgerOutcome, RollbackLedger } from '../ports';

/**
 * How long a claim without an outcome holds before a redelivery may claim again: twice the rollback
 * Lambda's timeout (30 s), so an attempt still running keeps its claim, and shorter than Lambda's
 * asynchronous retries (about 1 and 3 minutes later), so the retry after a crash can act.
 */
export const DEFAULT_LEASE_MS = 60_000;

export interface LedgerOptions {
  /** Milliseconds after which a claim with no outcome may be re-claimed by the same action (default 60 s). */
  readonly leaseMs?: number;
}

export function leaseOf(options: LedgerOptions): number {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new RangeError(`rollback ledger lease ${leaseMs} ms must be a positive number of milliseconds`);
  return leaseMs;
}

/**
 * The rollback ledger in process: the tests and the backtest. Same semantics as the DynamoDB ledger
 * (handlers/adapters/dynamodb-ledger.ts): the first claim wins; a claim older than the lease with no
 * outcome may be re-claimed by the same action, so a crash between claim and record is retried.
 */
export class InMemoryRollbackLedger implements RollbackLedger {
  private readonly entries = new Map<string, LedgerEntry>();
  private readonly leaseMs: number;

  constructor(options: LedgerOptions = {}) {
    this.leaseMs = leaseOf(options);
  }

  async claim(deploymentId: string, action: GuardAction, at: number): Promise<boolean> {
    const entry = this.entries.get(deploymentId);
    if (entry && !(entry.outcome === undefined && entry.action === action && entry.claimedAt <= at - this.leaseMs)) return false;
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
