import { ALARM_STATES, AWS_EVENT_SCHEMAS, CODEDEPLOY_DEPLOYMENT_STATES, CODEPIPELINE_ACTION_STATES, TRAINING_JOB_STATUSES } from '../../events/aws';
import {
  COMPUTE_PLATFORMS,
  DECISIONS,
  EMITTED_EVENTS,
  GUARD_MODES,
  MODEL_REJECTION_REASONS,
  ROLLBACK_FAILURE_REASONS,
} from '../../events/emitted';
import { formatPath } from '../../events/validation';
import type { Prng } from './prng';

/**
 * Mutations of real events for the fuzzers: each turns a valid event into a (usually) malformed one
 * and says in words what it did, so that a failing case can be read and reproduced from its seed.
 * Every value produced is one a Lambda could be handed after JSON.parse of some payload, plus the
 * non-JSON numbers NaN, ±Infinity and -0 and `undefined` (what a caller in process may pass).
 */

export type Path = readonly (string | number)[];

export interface Mutant {
  readonly value: unknown;
  /** What was done, in order, e.g. `wrong-type at detail.state: "START" → 42`. */
  readonly steps: readonly string[];
}

/** A real event to mutate, and the JSON text it came from (for invalid-JSON-derived values). */
export interface Base {
  readonly label: string;
  readonly event: unknown;
  readonly text: string;
}

// ---------------------------------------------------------------------------------------------
// Values

const MEGABYTE = 1 << 20;
const PADDING = 'x'.repeat(MEGABYTE);
/** 1 MB strings, built once and shared (strings are immutable). */
const HUGE_STRINGS: readonly (readonly [string, string])[] = [
  ['1 MB of "x"', 'x'.repeat(MEGABYTE)],
  ['1 MB of digits', '9'.repeat(MEGABYTE)],
  ['"d-" + 1 MB of "A" (a well-formed deployment id)', `d-${'A'.repeat(MEGABYTE)}`],
  ['1 MB of emoji', '😀'.repeat(MEGABYTE / 4)],
  ['1 MB of lone surrogates', '\ud800'.repeat(MEGABYTE / 2)],
  ['1 MB of JSON-looking text', `{"a":${'['.repeat(MEGABYTE / 2)}`],
];

const UNICODE: readonly (readonly [string, string])[] = [
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udfff'],
  ['reversed surrogate pair', '\udc00\ud800'],
  ['RTL override', '\u202e'],
  ['RTL mark', '\u200f'],
  ['zero-width space', '\u200b'],
  ['zero-width joiner', '\u200d'],
  ['byte-order mark', '\ufeff'],
  ['NUL', '\u0000'],
  ['line separator', '\u2028'],
  ['emoji ZWJ sequence', '👩‍💻'],
  ['emoji', '🚀'],
  ['combining accent', 'e\u0301'],
  ['noncharacter U+FFFF', '\uffff'],
  ['U+10FFFF', '\u{10ffff}'],
  ['Cyrillic homoglyph', 'а'],
  ['full-width digits', '１２３'],
  ['newline', '\n'],
];

const NUMBERS: readonly (readonly [string, number])[] = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-0', -0],
  ['0', 0],
  ['-1', -1],
  ['0.5', 0.5],
  ['1.0000000001', 1.0000000001],
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['5e-324', 5e-324],
  ['2^53 + 2', 2 ** 53 + 2],
  ['1e21', 1e21],
  ['8.64e15 + 1 (past the last Date)', 8.64e15 + 1],
];

/** Times and dates that are malformed or outside what a Date can hold. */
const DATES: readonly (string | number)[] = [
  '9999999999999999',
  '8640000000000001',
  '0000000000',
  '1583831889050.5',
  '-1583831889050',
  '275760-09-13T00:00:00.001Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '1969-12-31T23:59:59Z',
  '2019-02-29T00:00:00Z',
  '2019-02-30T12:00:00Z',
  '2019-13-01T00:00:00Z',
  '2019-00-10T00:00:00Z',
  '2019-10-02T24:00:00Z',
  '2019-10-02T23:59:60Z',
  '2019-10-02T17:20:48.554+2400',
  '2019-10-02T17:20:48.554-9999',
  '2019-10-02T17:20:48',
  '2019-10-02',
  '2019-10-02T17:20:48.55400000000000000000001Z',
  '1e15',
  'Infinity',
  'NaN',
  '',
  'yesterday',
  '2019-10-02T17:20:48Z\n',
  ' 2019-10-02T17:20:48Z',
  '２０１９-10-02T17:20:48Z',
  1e16,
  -8.64e15 - 1,
  8.64e15,
  Number.NaN,
];

/** Every enumerated value of the schemas, and the literals events are told apart by. */
const ENUM_VALUES: readonly string[] = [
  ...CODEDEPLOY_DEPLOYMENT_STATES,
  ...TRAINING_JOB_STATUSES,
  ...ALARM_STATES,
  ...CODEPIPELINE_ACTION_STATES,
  ...COMPUTE_PLATFORMS,
  ...GUARD_MODES,
  ...DECISIONS,
  ...ROLLBACK_FAILURE_REASONS,
  ...MODEL_REJECTION_REASONS,
  'PIPELINE_ACTION',
  'fail-open',
  'fail-closed',
  'Approved',
  'PendingManualApproval',
  'IN_SERVICE',
  ...Object.keys(AWS_EVENT_SCHEMAS),
  ...Object.keys(EMITTED_EVENTS),
  'aws.codedeploy',
  'aws.codepipeline',
  'aws.cloudwatch',
  'aws.sagemaker',
  'deploy-guard',
  '0',
  '1',
];

/** Keys that attack prototypes or shadow built-ins, and keys that are merely odd. */
const ODD_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  '',
  ' ',
  '\u0000',
  'detail ',
  'Detail',
  'DETAIL-TYPE',
  '🚀',
  '\ud800',
  'k'.repeat(1000),
];

const POLLUTING_VALUES: readonly (readonly [string, () => unknown])[] = [
  ['{ polluted: "yes" }', () => ({ polluted: 'yes', isAdmin: true })],
  ['{ prototype: { polluted: "yes" } }', () => ({ prototype: { polluted: 'yes' } })],
  ['null', () => null],
  ['"polluted"', () => 'polluted'],
  ['[ "polluted" ]', () => ['polluted']],
  ['a function-looking string', () => 'function () { return process.exit(1) }'],
];

// ---------------------------------------------------------------------------------------------
// Describing values

const labels = new WeakMap<object, string>();

/** Labels a generated object so that a description says what it is, not its (huge) content. */
function labelled<T extends object>(value: T, label: string): T {
  labels.set(value, label);
  return value;
}

export function describeValue(value: unknown): string {
  const text = preview(value, { budget: 100 });
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/** A JSON-like rendering that stops after `budget` characters: cheap for 1 MB strings and deep values. */
function preview(value: unknown, state: { budget: number }): string {
  if (state.budget <= 0) return '…';
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number') text = Object.is(value, -0) ? '-0' : String(value);
  else if (typeof value === 'string') {
    const huge = HUGE_STRINGS.find(([, candidate]) => candidate === value);
    if (huge) text = `<${huge[0]}>`;
    else if (value.length > 80) text = `<string of ${value.length} chars: ${JSON.stringify(value.slice(0, 40))}…>`;
    else text = JSON.stringify(value);
  } else if (value !== null && typeof value === 'object') {
    const label = labels.get(value);
    if (label) text = `<${label}>`;
    else {
      const parts: string[] = [];
      const isArray = Array.isArray(value);
      state.budget -= 2;
      for (const key of Object.keys(value)) {
        if (state.budget <= 0) {
          parts.push('…');
          break;
        }
        const item = preview((value as Record<string, unknown>)[key], state);
        parts.push(isArray ? item : `${JSON.stringify(key)}:${item}`);
      }
      text = isArray ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
    }
  } else text = String(value);
  state.budget -= text.length;
  return text;
}

const where = (path: Path) => (path.length === 0 ? '(event)' : formatPath(path));

// ---------------------------------------------------------------------------------------------
// Paths

/** Every path into a value (the root included), depth-first, bounded so that deep or wide values stay cheap. */
export function pathsOf(value: unknown, maxDepth = 10, limit = 500): Path[] {
  const paths: Path[] = [[]];
  const walk = (node: unknown, path: Path): void => {
    if (path.length >= maxDepth || paths.length >= limit || node === null || typeof node !== 'object') return;
    const keys: (string | number)[] = Array.isArray(node) ? node.slice(0, 20).map((_, index) => index) : Object.keys(node).slice(0, 50);
    for (const key of keys) {
      if (paths.length >= limit) return;
      const child = [...path, key];
      paths.push(child);
      walk((node as Record<string | number, unknown>)[key], child);
    }
  };
  walk(value, []);
  return paths;
}

export function getAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Object.getOwnPropertyDescriptor(node, key)?.value;
  }
  return node;
}

/** Sets an own property (never through a `__proto__` setter), returning the new root. */
export function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return root;
  Object.defineProperty(parent, path[path.length - 1], { value, writable: true, enumerable: true, configurable: true });
  return root;
}

function deleteAt(root: unknown, path: Path): unknown {
  if (path.length === 0) return undefined;
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else if (parent !== null && typeof parent === 'object') delete (parent as Record<string | number, unknown>)[key];
  return root;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Generators

function nested(depth: number, asArray: boolean): unknown {
  let value: unknown = asArray ? [] : {};
  for (let level = 0; level < depth; level += 1) value = asArray ? [value] : { a: value };
  return labelled(value as object, `${asArray ? 'array' : 'object'} nested ${depth} deep`);
}

/** One value of each JSON type (and the JS oddities), none of the type `current` has. */
function otherTypes(current: unknown): readonly (readonly [string, () => unknown])[] {
  const all: readonly (readonly [string, string, () => unknown])[] = [
    ['null', 'null', () => null],
    ['undefined', 'undefined', () => undefined],
    ['boolean', 'true', () => true],
    ['boolean', 'false', () => false],
    ['number', '0', () => 0],
    ['number', '42', () => 42],
    ['number', 'NaN', () => Number.NaN],
    ['string', '""', () => ''],
    ['string', '"42"', () => '42'],
    ['string', '"[object Object]"', () => '[object Object]'],
    ['array', '[]', () => []],
    ['array', '[current]', () => [current]],
    ['object', '{}', () => ({})],
    ['object', '{ value: current }', () => ({ value: current })],
  ];
  const kind = kindOf(current);
  return all.filter(([type]) => type !== kind).map(([, label, make]) => [label, make] as const);
}

/** A copy of a JSON value (the base events are plain JSON: objects, arrays, strings, numbers, booleans, null). */
function cloneSafely<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneSafely) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, { value: cloneSafely((value as Record<string, unknown>)[key]), writable: true, enumerable: true, configurable: true });
  }
  return copy as T;
}

/** Values a Lambda could be handed when the payload was not the JSON it should be. */
function invalidJsonValue(rng: Prng, base: Base): [string, unknown] {
  const { text } = base;
  const cut = rng.between(0, Math.max(0, text.length - 1));
  const choices: (readonly [string, () => unknown])[] = [
    ['the raw JSON text as a string', () => text],
    [`the JSON text truncated at ${cut}`, () => text.slice(0, cut)],
    ['the JSON text with single quotes', () => text.replace(/"/g, "'")],
    ['the JSON text with trailing garbage', () => `${text},}`],
    ['null', () => null],
    ['undefined', () => undefined],
    ['[]', () => []],
    ['[event]', () => [cloneSafely(base.event)]],
    ['0', () => 0],
    ['-1', () => -1],
    ['NaN', () => Number.NaN],
    ['true', () => true],
    ['""', () => ''],
    ['"null"', () => 'null'],
    ['{}', () => ({})],
    ['the event with a null prototype', () => Object.assign(Object.create(null) as object, cloneSafely(base.event))],
    ['the event JSON-encoded twice', () => JSON.stringify(JSON.stringify(base.event))],
  ];
  const [label, make] = rng.pick(choices);
  return [label, make()];
}

// ---------------------------------------------------------------------------------------------
// Mutation operators

interface Context {
  readonly base: Base;
  /** Other real events, for cross-kind mutations. */
  readonly others: readonly Base[];
}

type Operator = (rng: Prng, root: unknown, context: Context) => { root: unknown; step: string };

const pickPath = (rng: Prng, root: unknown, filter: (value: unknown, path: Path) => boolean = () => true): Path | undefined => {
  const paths = pathsOf(root).filter((path) => filter(getAt(root, path), path));
  return paths.length === 0 ? undefined : rng.pick(paths);
};

const wrongType: Operator = (rng, root) => {
  const path = pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  const [label, make] = rng.pick(otherTypes(current));
  return { root: setAt(root, path, make()), step: `wrong-type at ${where(path)}: ${describeValue(current)} → ${label}` };
};

const missing: Operator = (rng, root, context) => {
  const path = pickPath(rng, root, (_, candidate) => candidate.length > 0);
  if (!path) return wrongType(rng, root, context);
  return { root: deleteAt(root, path), step: `missing ${where(path)}` };
};

const extraField: Operator = (rng, root, context) => {
  const path = pickPath(rng, root, isRecord);
  if (!path) return wrongType(rng, root, context);
  const key = rng.chance(0.5) ? rng.pick(ODD_KEYS) : `extra${rng.int(100)}`;
  const [label, make] = rng.chance(0.5) ? rng.pick(POLLUTING_VALUES) : rng.pick(otherTypes(undefined));
  return { root: setAt(root, [...path, key], make()), step: `extra field ${where([...path, key])} = ${label}` };
};

const prototypePollution: Operator = (rng, root, context) => {
  const path = pickPath(rng, root, isRecord);
  if (!path) return wrongType(rng, root, context);
  const key = rng.pick(['__proto__', 'constructor', 'prototype']);
  const [label, make] = rng.pick(POLLUTING_VALUES);
  return { root: setAt(root, [...path, key], make()), step: `prototype key ${where([...path, key])} = ${label} (own property, as JSON.parse makes it)` };
};

const hugeString: Operator = (rng, root) => {
  const path = pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  if (typeof current === 'string' && rng.chance(0.3)) {
    const value = current + PADDING;
    return { root: setAt(root, path, value), step: `huge string at ${where(path)}: ${describeValue(current)} + 1 MB` };
  }
  const [label, value] = rng.pick(HUGE_STRINGS);
  return { root: setAt(root, path, value), step: `huge string at ${where(path)}: ${describeValue(current)} → <${label}>` };
};

const enumValue: Operator = (rng, root) => {
  const path = pickPath(rng, root, (value) => typeof value === 'string') ?? pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  const text = typeof current === 'string' ? current : rng.pick(ENUM_VALUES);
  const variants: (readonly [string, string])[] = [
    ['another enum value', rng.pick(ENUM_VALUES)],
    ['lower case', text.toLowerCase()],
    ['upper case', text.toUpperCase()],
    ['a trailing space', `${text} `],
    ['a leading space', ` ${text}`],
    ['a zero-width space', `${text}\u200b`],
    ['a Turkish dotted I', text.replace(/i/g, 'İ')],
    ['empty', ''],
    ['similar word', `${text}ED`],
  ];
  const [label, value] = rng.pick(variants);
  return { root: setAt(root, path, value), step: `wrong enum at ${where(path)}: ${describeValue(current)} → ${label} ${describeValue(value)}` };
};

const unicode: Operator = (rng, root) => {
  const path = pickPath(rng, root, (value) => typeof value === 'string') ?? [];
  const current = getAt(root, path);
  const text = typeof current === 'string' ? current : '';
  const [label, chars] = rng.pick(UNICODE);
  const at = rng.between(0, text.length);
  const [how, value] = rng.pick([
    ['prefixed with', chars + text],
    ['suffixed with', text + chars],
    ['replaced by', chars],
    [`with, at ${at},`, text.slice(0, at) + chars + text.slice(at)],
  ] as const);
  return { root: setAt(root, path, value), step: `unicode at ${where(path)}: ${describeValue(current)} ${how} ${label}` };
};

const specialNumber: Operator = (rng, root) => {
  const path = (rng.chance(0.6) ? pickPath(rng, root, (value) => typeof value === 'number') : undefined) ?? pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  const [label, value] = rng.pick(NUMBERS);
  return { root: setAt(root, path, value), step: `number at ${where(path)}: ${describeValue(current)} → ${label}` };
};

const TIME_KEY = /time|Time|At$|timestamp/;

const outOfRangeDate: Operator = (rng, root) => {
  const path =
    pickPath(rng, root, (_value, candidate) => typeof candidate[candidate.length - 1] === 'string' && TIME_KEY.test(String(candidate[candidate.length - 1]))) ??
    pickPath(rng, root, (value) => typeof value === 'string') ??
    [];
  const current = getAt(root, path);
  const value = rng.pick(DATES);
  return { root: setAt(root, path, value), step: `date at ${where(path)}: ${describeValue(current)} → ${describeValue(value)}` };
};

const deepNesting: Operator = (rng, root) => {
  const path = pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  const value = nested(rng.pick([64, 1000, 10_000]), rng.chance(0.5));
  return { root: setAt(root, path, value), step: `deep nesting at ${where(path)}: ${describeValue(current)} → ${describeValue(value)}` };
};

const invalidJson: Operator = (rng, root, context) => {
  if (rng.chance(0.5)) {
    const [label, value] = invalidJsonValue(rng, context.base);
    return { root: value, step: `invalid JSON: the event is ${label}` };
  }
  // A part of the event sent as JSON text (a double-encoded detail), whole or truncated.
  const path = pickPath(rng, root, (value) => value !== null && typeof value === 'object') ?? [];
  const current = getAt(root, path);
  let text: string;
  try {
    text = JSON.stringify(current) ?? '';
  } catch {
    text = '{';
  }
  const truncated = rng.chance(0.5);
  const value = truncated ? text.slice(0, rng.between(0, Math.max(0, text.length - 1))) : text;
  return { root: setAt(root, path, value), step: `invalid JSON at ${where(path)}: replaced by its JSON text${truncated ? ' truncated' : ''} ${describeValue(value)}` };
};

const arrays: Operator = (rng, root) => {
  const arrayPath = rng.chance(0.7) ? pickPath(rng, root, Array.isArray) : undefined;
  const path = arrayPath ?? pickPath(rng, root) ?? [];
  const current = getAt(root, path);
  const first = Array.isArray(current) && current.length > 0 ? current[0] : current;
  const [label, make] = rng.pick([
    ['[]', () => []],
    ['a sparse array of 3 holes', () => new Array(3)],
    ['[null]', () => [null]],
    ['1,000 copies of its first element', () => labelled(new Array(1_000).fill(first), '1,000 copies')],
    ['[[its first element]]', () => [[first]]],
    ['[the value]', () => [current]],
  ] as const);
  return { root: setAt(root, path, make()), step: `array at ${where(path)}: ${describeValue(current)} → ${label}` };
};

const crossKind: Operator = (rng, root, context) => {
  const other = rng.pick(context.others);
  const part = rng.pick(['detail-type', 'source', 'detail', '(event)'] as const);
  if (part === '(event)' || !isRecord(root) || !isRecord(other.event)) {
    return { root: cloneSafely(other.event), step: `cross-kind: the event replaced by ${other.label}` };
  }
  return { root: setAt(root, [part], cloneSafely(other.event[part])), step: `cross-kind: ${part} taken from ${other.label}` };
};

const OPERATORS: readonly (readonly [number, Operator])[] = [
  [18, wrongType],
  [12, missing],
  [9, extraField],
  [4, prototypePollution],
  [4, hugeString],
  [10, enumValue],
  [8, unicode],
  [7, specialNumber],
  [8, outOfRangeDate],
  [3, deepNesting],
  [5, invalidJson],
  [5, arrays],
  [6, crossKind],
];

/** One to three random mutations of a clone of `base.event`. */
export function mutate(rng: Prng, base: Base, others: readonly Base[]): Mutant {
  const count = rng.weighted([
    [55, 1],
    [30, 2],
    [15, 3],
  ]);
  let root: unknown = cloneSafely(base.event);
  const steps: string[] = [];
  for (let step = 0; step < count; step += 1) {
    const operator = rng.weighted(OPERATORS);
    const next = operator(rng, root, { base, others });
    root = next.root;
    steps.push(next.step);
  }
  return { value: root, steps };
}

/**
 * The systematic part: at every path of the event, a value of every other JSON type, and the path
 * left out. Deterministic, no randomness: every path is covered whatever the seed.
 */
export function* everyPathMutations(base: Base): Generator<Mutant> {
  for (const path of pathsOf(base.event)) {
    const current = getAt(base.event, path);
    for (const [label, make] of otherTypes(current)) {
      const root = cloneSafely(base.event);
      yield { value: setAt(root, path, make()), steps: [`wrong-type at ${where(path)}: ${describeValue(current)} → ${label}`] };
    }
    if (path.length > 0) yield { value: deleteAt(cloneSafely(base.event), path), steps: [`missing ${where(path)}`] };
  }
}
