import type { ChangeSummaryWrite, StoredChangeSummary } from './ports';

/**
 * First wins: what a change summary's write means when its revision already holds something (both
 * stores decide it here, so they agree). Pure.
 */

/** What a revision holds: the first summary received, and when a deployment of it started (sealed). */
export interface RevisionEntry {
  readonly first?: StoredChangeSummary;
  readonly sealedAt?: number;
}

/**
 * The answer to a summary whose revision already has an entry: the same event again (its id) is the
 * summary stored, a retry recognising its own write; another one is refused, counting as a second
 * summary when there is a first, else as late (the deployment started without one).
 */
export function writeOverEntry(entry: RevisionEntry, record: StoredChangeSummary): ChangeSummaryWrite {
  if (entry.first?.sender.eventId === record.sender.eventId) return { stored: true };
  if (entry.first) return { stored: false, reason: 'already-summarised', first: entry.first };
  return { stored: false, reason: 'deployment-started' };
}
