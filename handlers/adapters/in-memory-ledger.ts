import type { ClaimResult, GuardAction, LedgerClaim, LedgerEntry, LedgerOutcome, RollbackLedger } from '../ports';

/**
 * The timing the lease is reasoned from (stacks/nodejs-function.ts and Lambda's asynchronous
 * invocation): the rollback function's timeout, and the wait before Lambda's first retry of a failed
 * asynchronous invocation (one minute; the second comes two minutes after that). A test checks them
 * against the synthesized stack (test/stacks/deploy-guard-stack.test.ts).
 */
export const ROLLBACK_TIMEOUT_MS = 30_000;
export const LAMBDA_FIRST_RETRY_WAIT_MS = 60_000;

/**
 * How long a claim without an outcome holds against another event's claim of the same action: longer
 * than the function's timeout (an attempt still running keeps its claim: 15 s margin) and shorter than
 * Lambda's first retry (15 s margin), so a redelivered copy of the request can take over a crashed
 * claim at the retry. A retry of the same event (same token) needs no lease: it finishes its own claim.
 */
export const DEFAULT_LEASE_MS = 45_000;

export interface LedgerOptions {
  /** Milliseconds after which a claim with no outcome may be taken over by another event of the same action (default 45 s). */
  readonly leaseMs?: number;
}

export function leaseOf(options: LedgerOptions): number {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new RangeError(`rollback ledger lease ${leaseMs} ms must be a positive number of milliseconds`);
  return leaseMs;
}

const ROLLBACK_ACTIONS: ReadonlySet<GuardAction> = new Set(['StopDeployment', 'LifecycleHookFailed']);

export function isRollbackAction(action: GuardAction): boolean {
  return ROLLBACK_ACTIONS.has(action);
}

/**
 * How a claim may be taken, given the entry as it is (RollbackLedger's rules; the DynamoDB ledger
 * writes the same rules as condition expressions): undefined when it may not.
 * - `open`: no entry; `reopen`: a rollback replaces a proceed that ended without acting;
 * - `own`: the caller's own claim without outcome; `takeover`: a lease-expired claim of the same action;
 * - `supersede`: a rollback replaces a proceed still in flight that has not attempted anything.
 */
export type ClaimWay = 'open' | 'reopen' | 'own' | 'takeover' | 'supersede';

export function claimWay(entry: LedgerEntry | undefined, claim: LedgerClaim, leaseMs: number): ClaimWay | undefined {
  if (!entry) return 'open';
  const overProceed = isRollbackAction(claim.action) && entry.action === 'ContinueDeployment' && entry.attempt === undefined;
  if (entry.outcome) return overProceed && entry.outcome.kind === 'not-done' ? 'reopen' : undefined;
  if (entry.claimToken === claim.token) return 'own';
  if (entry.action === claim.action && entry.claimedAt <= claim.at - leaseMs) return 'takeover';
  return overProceed ? 'supersede' : undefined;
}

/** The entry after a claim taken that way. */
export function claimedEntry(entry: LedgerEntry | undefined, claim: LedgerClaim, way: ClaimWay): LedgerEntry {
  const opens = way === 'open' || way === 'reopen';
  const kept = entry?.attempt && !opens ? { attempt: entry.attempt } : {};
  return {
    deploymentId: claim.deploymentId,
    action: claim.action,
    claimToken: claim.token,
    claimedAt: claim.at,
    openedAt: opens || !entry ? claim.at : entry.openedAt,
    openedBy: opens || !entry ? claim.token : entry.openedBy,
    dueCounted: opens || !entry ? false : entry.dueCounted,
    ...kept,
    published: false,
  };
}

/**
 * The rollback ledger in process: the tests and the backtest. Same semantics as the DynamoDB ledger
 * (handlers/adapters/dynamodb-ledger.ts), by the same rules (claimWay).
 */
export class InMemoryRollbackLedger implements RollbackLedger {
  private readonly entries = new Map<string, LedgerEntry>();
  private readonly leaseMs: number;

  constructor(options: LedgerOptions = {}) {
    this.leaseMs = leaseOf(options);
  }

  async claim(claim: LedgerClaim): Promise<ClaimResult> {
    const entry = this.entries.get(claim.deploymentId);
    const way = claimWay(entry, claim, this.leaseMs);
    if (!way) return { claimed: false, entry: entry as LedgerEntry };
    const next = claimedEntry(entry, claim, way);
    this.entries.set(claim.deploymentId, next);
    return { claimed: true, entry: next };
  }

  async recordAttempt(deploymentId: string, token: string, action: GuardAction, at: number): Promise<void> {
    const entry = this.held(deploymentId, token, 'record the attempt');
    this.entries.set(deploymentId, { ...entry, attempt: { action, at } });
  }

  async record(deploymentId: string, token: string, outcome: LedgerOutcome): Promise<void> {
    const entry = this.held(deploymentId, token, 'record the outcome');
    this.entries.set(deploymentId, { ...entry, outcome });
  }

  async markPublished(deploymentId: string): Promise<void> {
    const entry = this.entries.get(deploymentId);
    if (!entry) throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger: claim it before you mark the outcome published`);
    this.entries.set(deploymentId, { ...entry, published: true });
  }

  async markDueCounted(deploymentId: string): Promise<void> {
    const entry = this.entries.get(deploymentId);
    if (!entry) throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger: claim it before you count it due`);
    this.entries.set(deploymentId, { ...entry, dueCounted: true });
  }

  async read(deploymentId: string): Promise<LedgerEntry | undefined> {
    return this.entries.get(deploymentId);
  }

  /** The entry if the token holds its claim and it has no outcome yet. */
  private held(deploymentId: string, token: string, what: string): LedgerEntry {
    const entry = this.entries.get(deploymentId);
    if (!entry) throw new Error(`deployment ${deploymentId} has no claim in the rollback ledger: claim it before you ${what}`);
    if (entry.claimToken !== token || entry.outcome) {
      throw new Error(`deployment ${deploymentId}: claim ${token} no longer holds the rollback ledger (held by ${entry.claimToken}${entry.outcome ? ', outcome recorded' : ''}): cannot ${what}`);
    }
    return entry;
  }
}
