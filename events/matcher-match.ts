/**
 * The event side of the EventBridge matcher: reads the values of each field of a compiled pattern
 * out of an event and decides, with event-ruler's array consistency, whether they match.
 *
 * Fast path: each field condition is checked on its own; a condition satisfied by a value that is
 * not inside an array of objects (or by absence) constrains nothing, one without any acceptable
 * value fails the pattern. Only when values inside arrays of objects decide does the slow path
 * search for one choice of values that all sit in the same elements of every array they share,
 * visiting fields in path order, the order `exists: false` is evaluated in.
 */

import { DuplicateValues, JsonNumber, JsonTextError, eventValueFromNode, parseJsonText } from './json-text';

/** A value of an event field: a JSON leaf (a number from JSON text keeps its lexeme). */
export type Leaf = string | number | boolean | null | JsonNumber;

/** One value test of a field (one alternative of its pattern array). */
export interface ValueTest {
  readonly test: (leaf: Leaf) => boolean;
  /** The wildcard strings it uses, for the complexity check. */
  readonly wildcards?: readonly string[];
  /** `{"exists": false}`: the field may be absent. */
  readonly absent?: true;
  /** An exact string (merged into one set lookup). */
  readonly exact?: string;
}

/** The alternatives a pattern gives for one field path. */
export interface FieldSpec {
  readonly path: string;
  readonly tests: readonly ValueTest[];
}

/** How one field condition reads the event, and what it accepts. */
interface FieldPlan {
  readonly path: string;
  /** keys[i][j - i]: the event key spanning path segments i..j (joined with dots). */
  readonly keys: readonly (readonly string[])[];
  /** guard[i][j - i]: the key is also an Object.prototype member, so ownership must be checked. */
  readonly guard: readonly (readonly boolean[])[];
  readonly last: number;
  readonly test: (leaf: Leaf) => boolean;
  readonly absentOk: boolean;
  /** Sort weight: cheap, selective conditions are tried first. */
  readonly cost: number;
}

interface CompiledRule {
  /** Conditions in the order the fast pass tries them. */
  readonly byCost: readonly FieldPlan[];
  /** Conditions in path order: the order event-ruler visits fields, which `exists: false` depends on. */
  readonly byPath: readonly FieldPlan[];
}

/**
 * Compiles the alternatives of a pattern (each a map from field path to its value tests) into a
 * matcher. The event may be a value or JSON text; a non-object event matches nothing.
 */
export function compileMatcher(alternatives: readonly ReadonlyMap<string, FieldSpec>[]): (event: unknown) => boolean {
  const plans = new Map<FieldSpec, FieldPlan>();
  const compiled: CompiledRule[] = alternatives.map((rule) => {
    const byPath = [...rule.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((spec) => {
        let plan = plans.get(spec);
        if (!plan) plans.set(spec, (plan = planField(spec)));
        return plan;
      });
    const byCost = [...byPath].sort((a, b) => a.cost - b.cost);
    return { byCost, byPath };
  });
  return (event: unknown): boolean => {
    const root = eventRoot(event);
    if (root === undefined) return false;
    for (const rule of compiled) if (matchRule(rule, root)) return true;
    return false;
  };
}

function planField(spec: FieldSpec): FieldPlan {
  const segments = spec.path.split('.');
  const keys: string[][] = [];
  const guard: boolean[][] = [];
  for (let i = 0; i < segments.length; i++) {
    const row: string[] = [];
    for (let j = i; j < segments.length; j++) row.push(segments.slice(i, j + 1).join('.'));
    keys.push(row);
    guard.push(row.map((key) => key in Object.prototype));
  }
  const exact = new Set<string>();
  const others: ((leaf: Leaf) => boolean)[] = [];
  let absentOk = false;
  for (const t of spec.tests) {
    if (t.absent) absentOk = true;
    else if (t.exact !== undefined) exact.add(t.exact);
    else others.push(t.test);
  }
  let test: (leaf: Leaf) => boolean;
  if (others.length === 0) {
    test = exact.size === 1 ? ((only) => (leaf: Leaf) => leaf === only)([...exact][0]) : (leaf) => typeof leaf === 'string' && exact.has(leaf);
  } else if (exact.size === 0 && others.length === 1) {
    test = others[0];
  } else {
    test = (leaf) => (typeof leaf === 'string' && exact.has(leaf)) || others.some((t) => t(leaf));
  }
  const cost = segments.length * 2 + (others.length === 0 && !absentOk ? 0 : 1);
  return { path: spec.path, keys, guard, last: segments.length - 1, test, absentOk, cost };
}

let lastEventText: string | undefined;
let lastEventValue: unknown;

/** The root object of an event, or undefined when the event is not an object. */
function eventRoot(event: unknown): object | undefined {
  let value = event;
  if (typeof value === 'string') {
    // Strings are immutable, so the same text checked against several rules is parsed once.
    if (value !== lastEventText) {
      let parsed: unknown;
      try {
        parsed = eventValueFromNode(parseJsonText(value));
      } catch (error) {
        if (error instanceof JsonTextError) throw new SyntaxError(`Event is not valid JSON: ${error.message}`);
        throw error;
      }
      lastEventText = value;
      lastEventValue = parsed;
    }
    value = lastEventValue;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (value instanceof JsonNumber || value instanceof DuplicateValues) return undefined;
  return value;
}

// Outcome of a condition on its own (without looking at other conditions).
const SATISFIED = 0; // satisfied by a value outside any array of objects, or by absence
const FAILED = 1; // cannot be satisfied whatever the other conditions choose
const DEPENDS = 2; // only values inside arrays of objects can decide: array consistency needed

// Flags gathered while scanning a field's values.
const VALUE = 1;
const FREE_VALUE = 2; // a value outside any array of objects
const MATCH = 4;
const FREE_MATCH = 8;

function matchRule(rule: CompiledRule, root: object): boolean {
  let dependent = false;
  for (const plan of rule.byCost) {
    const outcome = classify(plan, root);
    if (outcome === FAILED) return false;
    if (outcome === DEPENDS) dependent = true;
  }
  return !dependent || matchConsistently(rule, root);
}

function classify(plan: FieldPlan, root: object): number {
  const flags = scanObject(plan, root, 0, false);
  if (flags & FREE_MATCH) return SATISFIED;
  if (!(flags & VALUE)) return plan.absentOk ? SATISFIED : FAILED;
  if (flags & MATCH) return DEPENDS;
  // Values exist, none matches: only absence can help, and only if every value is in an array.
  return plan.absentOk && !(flags & FREE_VALUE) ? DEPENDS : FAILED;
}

function scanObject(plan: FieldPlan, object: object, i: number, inArray: boolean): number {
  const keys = plan.keys[i];
  const guard = plan.guard[i];
  const record = object as Record<string, unknown>;
  let flags = 0;
  for (let n = 0; n < keys.length; n++) {
    const value = record[keys[n]];
    if (value === undefined || (guard[n] && !Object.prototype.hasOwnProperty.call(object, keys[n]))) continue;
    flags |= i + n === plan.last ? scanValue(plan, value, inArray) : scanInner(plan, value, i + n + 1, inArray);
  }
  return flags;
}

function scanInner(plan: FieldPlan, value: unknown, i: number, inArray: boolean): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value)) {
    let flags = 0;
    for (const element of value) {
      if (typeof element === 'object' && element !== null) flags |= scanInner(plan, element, i, true);
    }
    return flags;
  }
  if (value instanceof JsonNumber) return 0;
  if (value instanceof DuplicateValues) {
    let flags = 0;
    for (const v of value.values) flags |= scanInner(plan, v, i, inArray);
    return flags;
  }
  return scanObject(plan, value, i, inArray);
}

function scanValue(plan: FieldPlan, value: unknown, inArray: boolean): number {
  if (typeof value === 'object' && value !== null && !(value instanceof JsonNumber)) {
    let flags = 0;
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        const element: unknown = value[index]; // a hole reads as undefined, i.e. null
        // Objects in the array are not values here; a nested array's elements are, one level deeper.
        if (Array.isArray(element)) flags |= scanValue(plan, element, true);
        else if (isLeafValue(element)) flags |= scanLeaf(plan, element === undefined ? null : element, inArray);
      }
    } else if (value instanceof DuplicateValues) {
      for (const v of value.values) flags |= scanValue(plan, v, inArray);
    }
    return flags;
  }
  return scanLeaf(plan, value, inArray);
}

function isLeafValue(value: unknown): boolean {
  return typeof value !== 'object' || value === null || value instanceof JsonNumber;
}

function scanLeaf(plan: FieldPlan, value: unknown, inArray: boolean): number {
  const leaf = toLeaf(value);
  if (leaf === undefined) return 0;
  if (!plan.test(leaf)) return inArray ? VALUE : VALUE | FREE_VALUE;
  return inArray ? VALUE | MATCH : VALUE | FREE_VALUE | MATCH | FREE_MATCH;
}

/** A JSON leaf as the matcher sees it; undefined for what JSON has no value for (undefined, functions). */
function toLeaf(value: unknown): Leaf | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null; // JSON.stringify writes NaN and Infinity as null
    case 'bigint':
      return new JsonNumber(value.toString());
    case 'object':
      return value as null | JsonNumber;
    default:
      return undefined;
  }
}

// -- Array-consistent matching (the slow path, only when values inside arrays of objects decide)

/** Where a value sits: (array, index) pairs for every array of objects or arrays it is inside. */
type Membership = readonly unknown[];

interface Candidates {
  readonly plan: FieldPlan;
  /** Memberships of the values that pass the test. */
  readonly matching: Membership[];
  /** Memberships of all values (for `exists: false`). */
  readonly all: Membership[];
}

function matchConsistently(rule: CompiledRule, root: object): boolean {
  const conditions: Candidates[] = [];
  for (const plan of rule.byPath) {
    // A condition satisfied without array membership adds no constraint: leave it out.
    if (classify(plan, root) === SATISFIED) continue;
    const c: Candidates = { plan, matching: [], all: [] };
    collectObject(c, root, 0, []);
    conditions.push(c);
  }
  return search(conditions, 0, []);
}

function search(conditions: readonly Candidates[], k: number, membership: Membership): boolean {
  if (k === conditions.length) return true;
  const c = conditions[k];
  for (const m of c.matching) {
    const merged = merge(membership, m);
    if (merged && search(conditions, k + 1, merged)) return true;
  }
  // `exists: false` holds when no value of the field sits consistently with the values chosen so far.
  if (c.plan.absentOk && !c.all.some((m) => merge(membership, m) !== undefined)) return search(conditions, k + 1, membership);
  return false;
}

function merge(a: Membership, b: Membership): Membership | undefined {
  if (b.length === 0) return a;
  let out: unknown[] | undefined;
  for (let i = 0; i < b.length; i += 2) {
    let known = false;
    for (let j = 0; j < a.length; j += 2) {
      if (a[j] === b[i]) {
        if (a[j + 1] !== b[i + 1]) return undefined;
        known = true;
        break;
      }
    }
    if (!known) (out ??= [...a]).push(b[i], b[i + 1]);
  }
  return out ?? a;
}

function collectObject(c: Candidates, object: object, i: number, membership: unknown[]): void {
  const { keys, guard, last } = c.plan;
  const record = object as Record<string, unknown>;
  for (let n = 0; n < keys[i].length; n++) {
    const value = record[keys[i][n]];
    if (value === undefined || (guard[i][n] && !Object.prototype.hasOwnProperty.call(object, keys[i][n]))) continue;
    if (i + n === last) collectValue(c, value, membership);
    else collectInner(c, value, i + n + 1, membership);
  }
}

function collectInner(c: Candidates, value: unknown, i: number, membership: unknown[]): void {
  if (typeof value !== 'object' || value === null || value instanceof JsonNumber) return;
  if (Array.isArray(value)) {
    value.forEach((element: unknown, index) => {
      if (typeof element === 'object' && element !== null) collectInner(c, element, i, [...membership, value, index]);
    });
  } else if (value instanceof DuplicateValues) {
    for (const v of value.values) collectInner(c, v, i, membership);
  } else {
    collectObject(c, value, i, membership);
  }
}

function collectValue(c: Candidates, value: unknown, membership: unknown[]): void {
  if (typeof value === 'object' && value !== null && !(value instanceof JsonNumber)) {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        const element: unknown = value[index];
        if (Array.isArray(element)) collectValue(c, element, [...membership, value, index]);
        else if (isLeafValue(element)) collectLeaf(c, element === undefined ? null : element, membership);
      }
    } else if (value instanceof DuplicateValues) {
      for (const v of value.values) collectValue(c, v, membership);
    }
    return;
  }
  collectLeaf(c, value, membership);
}

function collectLeaf(c: Candidates, value: unknown, membership: unknown[]): void {
  const leaf = toLeaf(value);
  if (leaf === undefined) return;
  c.all.push(membership);
  if (c.plan.test(leaf)) c.matching.push(membership);
}

