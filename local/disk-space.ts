import { statfsSync } from 'node:fs';
import { EVENTS_BYTES_PER_DEPLOYMENT } from './report-tap';

/**
 * A backtest refuses to start when the disk of its output folder cannot hold what it will write:
 * events.jsonl (by far the largest), the report, the first model and the training jobs' scratch.
 */

/** The report, the first model and the training scratch (the channel folder holds every training row). */
export const RUN_FIXED_BYTES = 64 * 1024 * 1024;

export class InsufficientDiskSpaceError extends Error {
  override readonly name = 'InsufficientDiskSpaceError';
}

export interface SpaceNeed {
  readonly deployments: number;
  readonly compressedEvents: boolean;
}

/** Bytes the run writes at most, by the measured size of events per deployment. */
export function bytesNeeded(need: SpaceNeed): number {
  return need.deployments * EVENTS_BYTES_PER_DEPLOYMENT[need.compressedEvents ? 'gzip' : 'plain'] + RUN_FIXED_BYTES;
}

/** Free bytes for an unprivileged writer on the file system holding `folder`. */
export function freeBytes(folder: string): number {
  const stats = statfsSync(folder);
  return stats.bavail * stats.bsize;
}

/** Throws InsufficientDiskSpaceError, saying what to do, when `free` bytes cannot hold the run. */
export function requireSpace(folder: string, need: SpaceNeed, free: number = freeBytes(folder)): void {
  const needed = bytesNeeded(need);
  if (free >= needed) return;
  const megabytes = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024).toLocaleString('en-US')} MB`;
  throw new InsufficientDiskSpaceError(
    `${folder}: ${megabytes(free)} free on its disk, and the backtest of ${need.deployments.toLocaleString('en-US')} deployments needs about ` +
      `${megabytes(needed)} (events.jsonl${need.compressedEvents ? '.gz' : ''} ${megabytes(needed - RUN_FIXED_BYTES)}, report, model and training ${megabytes(RUN_FIXED_BYTES)}): ` +
      `free some space, write elsewhere with --out DIR${need.compressedEvents ? '' : ', drop --plain-events (gzip is 18 times smaller)'}, or replay less with --limit N`,
  );
}
