import * as z from 'zod';
import { CHANGE_FIELD_NAMES, type ChangeFieldName } from './change-fields';
import { builtInFeature } from './features';

/**
 * The mapping of a user's CSV history onto Deploy Guard's canonical records. Documented in the README
 * with the shipped example, data/ci-bfdetector.mapping.json.
 */

/** An error message, or "is required" when the value is absent. */
const says = (message: string) => (issue: { readonly input?: unknown }) =>
  issue.input === undefined ? 'is required' : message;

const columnName = z.string({ error: says('must be a column name (a string)') }).min(1, { error: 'must be a column name, not empty' });

const group = z
  .strictObject(
    {
      fromFileName: z.literal(true, { error: 'must be true (the file name, without .csv, names the group)' }).optional(),
      column: columnName.optional(),
    },
    { error: says('must be { "fromFileName": true } or { "column": "<column>" }') },
  )
  .superRefine((value, context) => {
    const forms = Object.keys(value).length;
    if (forms !== 1) {
      context.addIssue({ code: 'custom', message: 'must be { "fromFileName": true } or { "column": "<column>" }, exactly one of them' });
    }
  });

export const TIME_FORMATS = ['unix-seconds', 'iso8601'] as const;
export const TIME_PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second'] as const;

const TIME_FORMS =
  '{ "columns": { "year": ..., "month": ..., "day": ..., "hour": ... } }, { "column": "<column>", "format": "unix-seconds" | "iso8601" } or { "rowOrder": true }';

const time = z
  .strictObject(
    {
      columns: z
        .strictObject(
          {
            year: columnName,
            month: columnName.optional(),
            day: columnName.optional(),
            hour: columnName.optional(),
            minute: columnName.optional(),
            second: columnName.optional(),
          },
          { error: says('must map year, month, day and hour to columns (year at least)') },
        )
        .optional(),
      column: columnName.optional(),
      format: z.enum(TIME_FORMATS, { error: says('must be "unix-seconds" or "iso8601"') }).optional(),
      rowOrder: z.literal(true, { error: 'must be true (rows are in time order, without timestamps)' }).optional(),
    },
    { error: says(`must be ${TIME_FORMS}`) },
  )
  .superRefine((value, context) => {
    const forms = [value.columns, value.column, value.rowOrder].filter((form) => form !== undefined).length;
    if (forms !== 1) {
      context.addIssue({ code: 'custom', message: `must be ${TIME_FORMS}, exactly one of them` });
    } else if (value.column !== undefined && value.format === undefined) {
      context.addIssue({ code: 'custom', path: ['format'], message: 'is required with time.column: "unix-seconds" or "iso8601"' });
    } else if (value.column === undefined && value.format !== undefined) {
      context.addIssue({ code: 'custom', path: ['format'], message: 'only goes with time.column' });
    }
  });

const labelValue = z.union([z.string(), z.number()], { error: 'must be a string or a number' });

const label = z.strictObject(
  {
    column: columnName,
    failureValues: z
      .array(labelValue, { error: says('must be a list of the values that mean the deployment failed') })
      .min(1, { error: 'must list at least one value that means the deployment failed' }),
    successValues: z
      .array(labelValue, { error: says('must be a list of the values that mean the deployment succeeded') })
      .min(1, { error: 'must list at least one value, or be left out' })
      .optional(),
  },
  { error: says('must be { "column": "<column>", "failureValues": [...] }') },
);

const features = z
  .record(z.string(), columnName, { error: says('must map change fields to column names') })
  .superRefine((value, context) => {
    for (const field of Object.keys(value)) {
      if (!(CHANGE_FIELD_NAMES as readonly string[]).includes(field)) {
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `'${field}' is not a change field; the change fields are ${CHANGE_FIELD_NAMES.join(', ')}`,
        });
      }
    }
  });

const columnList = (what: string) => z.array(columnName, { error: says(`must be a list of ${what}`) });

export const mappingSchema = z.strictObject(
  {
  /** The JSON Schema an editor checks the file with (schemas/history-mapping.schema.json); ignored here. */
  $schema: z.string().optional(),
  group,
  time,
  label,
  author: columnName.optional(),
  features: features.default({}),
  extraFeatures: columnList('numeric columns to use as extra features').default([]),
  drop: columnList('columns to ignore').default([]),
  },
  { error: 'must be a JSON object' },
);

export interface HistoryMapping {
  readonly group: { readonly fromFileName: true } | { readonly column: string };
  readonly time:
    | { readonly columns: Readonly<Record<'year', string> & Partial<Record<'month' | 'day' | 'hour' | 'minute' | 'second', string>>> }
    | { readonly column: string; readonly format: (typeof TIME_FORMATS)[number] }
    | { readonly rowOrder: true };
  readonly label: { readonly column: string; readonly failureValues: readonly (string | number)[]; readonly successValues?: readonly (string | number)[] };
  /** The column naming who made the change, when the history has one (for the author's failure rate). */
  readonly author?: string;
  readonly features: Readonly<Partial<Record<ChangeFieldName, string>>>;
  readonly extraFeatures: readonly string[];
  readonly drop: readonly string[];
}

/** A mapping that cannot be used: every problem, one per line, each with its place in the mapping. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    readonly origin: string,
    readonly problems: readonly string[],
  ) {
    super(`mapping ${origin}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  }
}

/** Validates a parsed mapping document; `origin` (the file name) prefixes every message. */
export function parseMapping(json: unknown, origin = 'mapping'): HistoryMapping {
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) {
    throw new MappingError(origin, parsed.error.issues.map(describeIssue));
  }
  const mapping = normalize(parsed.data);
  const problems = crossCheck(mapping);
  if (problems.length > 0) throw new MappingError(origin, problems);
  return mapping;
}

function normalize(data: z.output<typeof mappingSchema>): HistoryMapping {
  const group: HistoryMapping['group'] = data.group.column !== undefined ? { column: data.group.column } : { fromFileName: true };
  const time: HistoryMapping['time'] = data.time.columns
    ? { columns: data.time.columns }
    : data.time.column !== undefined && data.time.format !== undefined
      ? { column: data.time.column, format: data.time.format }
      : { rowOrder: true };
  return {
    group,
    time,
    label: data.label,
    ...(data.author !== undefined ? { author: data.author } : {}),
    features: data.features as Partial<Record<ChangeFieldName, string>>,
    extraFeatures: data.extraFeatures,
    drop: data.drop,
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where =
    issue.path.length === 0
      ? 'the mapping'
      : issue.path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index > 0 ? '.' : ''}${String(key)}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `'${key}'`).join(', ');
    const known = issue.path.length === 0 ? `; the keys are ${Object.keys(mappingSchema.shape).join(', ')}` : '';
    return `${where}: unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${keys}${known}`;
  }
  return `${where}: ${issue.message}`;
}

/** Rules that span several parts of the mapping. */
function crossCheck(mapping: HistoryMapping): string[] {
  const problems: string[] = [];
  const uses = mappingColumnUses(mapping);
  const dropped = new Set(mapping.drop);
  // Dropping a time or group column only says it is no feature; dropping a label or feature column contradicts the mapping.
  for (const use of uses) {
    const contradicts = use.role === 'label.column' || use.role.startsWith('features.') || use.role.startsWith('extraFeatures');
    if (contradicts && dropped.has(use.column)) problems.push(`drop: column '${use.column}' is dropped but also used by ${use.role}`);
  }
  const labelColumn = mapping.label.column;
  for (const use of uses) {
    if (use.role.startsWith('features.') || use.role.startsWith('extraFeatures')) {
      if (use.column === labelColumn) {
        problems.push(`${use.role}: column '${labelColumn}' is the label; using it as a feature would leak the outcome`);
      }
    }
  }
  const extras = new Set<string>();
  mapping.extraFeatures.forEach((column, index) => {
    if (extras.has(column)) problems.push(`extraFeatures[${index}]: column '${column}' is listed twice`);
    extras.add(column);
    if (builtInFeature(column)) {
      problems.push(`extraFeatures[${index}]: '${column}' is the name of a built-in feature; an extra column needs another name`);
    }
  });
  const failure = new Set(mapping.label.failureValues.map(String));
  for (const value of mapping.label.successValues ?? []) {
    if (failure.has(String(value))) problems.push(`label.successValues: ${JSON.stringify(value)} is also a failure value`);
  }
  return problems;
}

/** Every column the mapping reads, with the part of the mapping that names it. */
export function mappingColumnUses(mapping: HistoryMapping): { readonly column: string; readonly role: string }[] {
  const uses: { column: string; role: string }[] = [];
  if ('column' in mapping.group) uses.push({ column: mapping.group.column, role: 'group.column' });
  if ('columns' in mapping.time) {
    for (const [part, column] of Object.entries(mapping.time.columns)) {
      if (column !== undefined) uses.push({ column, role: `time.columns.${part}` });
    }
  } else if ('column' in mapping.time) {
    uses.push({ column: mapping.time.column, role: 'time.column' });
  }
  uses.push({ column: mapping.label.column, role: 'label.column' });
  if (mapping.author !== undefined) uses.push({ column: mapping.author, role: 'author' });
  for (const [field, column] of Object.entries(mapping.features)) {
    if (column !== undefined) uses.push({ column, role: `features.${field}` });
  }
  mapping.extraFeatures.forEach((column, index) => uses.push({ column, role: `extraFeatures[${index}]` }));
  return uses;
}

/**
 * Checks a file's header against the mapping before any row is read: a column the mapping names
 * must exist (and only once). Returns the header columns the mapping neither uses nor drops.
 */
export function checkHeader(mapping: HistoryMapping, header: readonly string[], file: string, mappingOrigin = 'mapping'): string[] {
  const counts = new Map<string, number>();
  for (const column of header) counts.set(column, (counts.get(column) ?? 0) + 1);
  const problems: string[] = [];
  const named = [...mappingColumnUses(mapping), ...mapping.drop.map((column, index) => ({ column, role: `drop[${index}]` }))];
  for (const use of named) {
    const count = counts.get(use.column) ?? 0;
    if (count === 0) problems.push(`${use.role}: column '${use.column}' is not in ${file}`);
    else if (count > 1 && !use.role.startsWith('drop')) problems.push(`${use.role}: column '${use.column}' appears ${count} times in ${file}`);
  }
  if (problems.length > 0) throw new MappingError(mappingOrigin, problems);
  const mentioned = new Set(named.map((use) => use.column));
  return [...new Set(header.filter((column) => !mentioned.has(column)))];
}
