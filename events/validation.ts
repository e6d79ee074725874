import type * as z from 'zod/mini';

/** One thing wrong with an event: where (a JSON path such as `detail.state`) and what. */
export interface EventIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An event that does not have the shape its kind requires. Names the event kind and every offending
 * field path, so that whoever reads the dead-letter queue knows what to fix without the source.
 */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';

  constructor(
    /** The kind the event was validated as, e.g. `CodeDeploy Deployment State-change Notification`. */
    readonly eventKind: string,
    /** Every problem found, in document order. */
    readonly issues: readonly EventIssue[],
  ) {
    super(
      `Invalid ${eventKind} event: ${issues.map((issue) => `${issue.path || '(event)'}: ${issue.message}`).join('; ')}`,
    );
  }
}

/** Renders a zod issue path the way a person writes it: `detail.metrics[0].id`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) text += text ? `.${key}` : key;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

/** Parses `value` with `schema`, or throws an EventValidationError naming `eventKind` and every issue. */
export function parseWith<S extends z.ZodMiniType>(eventKind: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new EventValidationError(eventKind, flattenIssues(result.error.issues));
}

function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): EventIssue[] {
  const flat: EventIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    // A union reports one list of issues per branch; the branch that got furthest explains best.
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
      flat.push(...flattenIssues(closest, path));
      continue;
    }
    flat.push({ path: formatPath(path), message: issue.message });
  }
  return flat;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length)) - issues.length / 1000;
}
