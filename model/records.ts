import { readFileSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { CHANGE_FIELDS, type ChangeFieldName, type ChangeFields } from './change-fields';

/**
 * Canonical deployment records: a history in Deploy Guard's own terms, whatever CSV it came from.
 * Written by `deploy-guard import` as JSON lines, one record per line; the records of a group are in
 * time order. Training export and the backtest read them.
 */
export interface DeploymentRecord {
  readonly group: string;
  /** When the deployment started, ISO 8601 in UTC; null when the history has no timestamps (file order). */
  readonly time: string | null;
  /**
   * The outcome: true when the deployment failed, false when it succeeded, null when it is unknown
   * because the deployment was stopped or rolled back before it could show (a counterfactual label).
   * A deployment with an unknown outcome counts in the group's history as a deployment, but never as
   * a training or evaluation example.
   */
  readonly failed: boolean | null;
  /** Who made the change, when the history says. */
  readonly author?: string;
  /** The change fields that the history has; an absent field is a missing value, never a zero. */
  readonly change: ChangeFields;
  /** Extra numeric columns, by column name; an absent column is a missing value. */
  readonly extra: Readonly<Record<string, number>>;
  /** Where the record came from. */
  readonly source?: { readonly file: string; readonly line: number };
}

const changeShape = Object.fromEntries(
  CHANGE_FIELDS.map((field) => [
    field.name,
    (field.kind === 'boolean' ? z.union([z.literal(0), z.literal(1)]) : z.number().int().nonnegative()).optional(),
  ]),
) as Record<ChangeFieldName, z.ZodOptional<z.ZodNumber>>;

const recordSchema = z.strictObject({
  group: z.string().min(1),
  time: z.iso.datetime().nullable(),
  failed: z.boolean().nullable(),
  author: z.string().min(1).optional(),
  change: z.strictObject(changeShape),
  extra: z.record(z.string(), z.number()),
  source: z.strictObject({ file: z.string(), line: z.number().int().positive() }).optional(),
});

/** The record's start time in milliseconds since the epoch, or undefined when the history has none. */
export function recordTime(record: DeploymentRecord): number | undefined {
  return record.time === null ? undefined : Date.parse(record.time);
}

/**
 * How long a deployment takes from its start to its outcome, assumed wherever a history records no
 * finish time (records have start times only; the shipped ci-bfdetector history, start hours only).
 * Online an outcome enters a group's history only when its deployment finishes, so offline a
 * deployment's outcome counts in the history of the deployments that start this long after it or
 * later (model/export.ts); the local backtest's deployments finish exactly this long after their start.
 */
export const ASSUMED_DEPLOYMENT_DURATION_MS = 15 * 60_000;

/**
 * When the record's outcome became known, in milliseconds since the epoch: its start plus
 * ASSUMED_DEPLOYMENT_DURATION_MS (a record has no finish time of its own); undefined when the
 * history has no timestamps.
 */
export function recordFinishTime(record: DeploymentRecord): number | undefined {
  const start = recordTime(record);
  return start === undefined ? undefined : start + ASSUMED_DEPLOYMENT_DURATION_MS;
}

export function formatRecordsJsonLines(records: Iterable<DeploymentRecord>): string {
  let text = '';
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return text;
}

export function writeRecords(file: string, records: Iterable<DeploymentRecord>): void {
  writeFileSync(file, formatRecordsJsonLines(records));
}

/** Reads a JSON-lines file of records; a line that is not a record fails with the file, line and reason. */
export function readRecords(file: string): DeploymentRecord[] {
  return parseRecordsJsonLines(readFileSync(file, 'utf8'), file);
}

export function parseRecordsJsonLines(text: string, origin = 'records'): DeploymentRecord[] {
  const records: DeploymentRecord[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index].trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new Error(`${origin}:${index + 1}: not JSON (${(error as Error).message}); expected one record per line, as written by 'deploy-guard import'`);
    }
    const parsed = recordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
      throw new Error(`${origin}:${index + 1}: not a deployment record: ${path}${issue.message}`);
    }
    records.push(parsed.data as DeploymentRecord);
  }
  return records;
}
