/**
 * An EventBridge event-pattern matcher that decides exactly as EventBridge does.
 *
 * Ground truth is real AWS (the TestEventPattern cases in test/fixtures/), and where AWS is silent,
 * aws/event-ruler, the engine EventBridge runs: validation follows its rule compiler (and reports
 * its reasons, which are AWS's), matching follows its array-consistent finder.
 *
 * Semantics in short:
 * - A pattern is a non-empty object whose leaves are non-empty arrays; keys join into dotted field
 *   paths, so `{"a": {"b": [...]}}` and `{"a.b": [...]}` are the same field, and an event key
 *   `"a.b"` is the same field as a nested `a` / `b`. A repeated path keeps its last definition.
 * - The values in an array are alternatives; the fields of an object must all match. `$or` forks
 *   the pattern into alternatives (at least two objects).
 * - An event field holding an array matches when any element does. Fields that come from objects
 *   inside an array must all come from the same element of that array (array consistency).
 * - Only leaves (strings, numbers, booleans, null) are values: `exists` and every other test see
 *   no value at a path that holds an object or an empty array.
 * - Strings, numbers, booleans and null never match one another. Numbers compare by value when
 *   both sides are within [-5e9, 5e9] with at most six decimals, otherwise by their JSON lexeme.
 * - Service limits: a field whose wildcards are too non-deterministic is "too complex" (see
 *   matcher-complexity.ts); more than 1024 alternatives from combined `$or`s are refused too (a
 *   local guard against combinatorial blow-up; AWS's pattern size limit keeps real rules far below).
 *
 * Events and patterns may be given as values or as JSON text. In pattern text a repeated key keeps
 * its last value (as AWS does); in event text every occurrence of a repeated key is a value of
 * that field (as event-ruler's JSON event reader does), and number lexemes are kept verbatim.
 */

import { JsonNumber, JsonTextError, parseJsonText, type JsonMember, type JsonNode } from './json-text';
import { compileMatcher, type FieldSpec, type Leaf, type ValueTest } from './matcher-match';
import { WILDCARD_COMPLEXITY_MAX, wildcardComplexity } from './matcher-complexity';
import {
  comparableFromLexeme,
  comparableOf,
  ignoreCaseSource,
  ipHex,
  looksLikeIp,
  numberLexeme,
  parseCidr,
  parseWildcard,
  wildcardMatches,
  NUMERIC_LIMIT,
  type IpRange,
  type WildcardSegments,
} from './matcher-values';

// ---------------------------------------------------------------------------------------------
// Public API

/** The pattern is not one EventBridge accepts (AWS: InvalidEventPatternException). */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
  /** EventBridge's reason, as AWS words it (without the "Event pattern is not valid" prefix). */
  readonly reason: string;
  /** The field path (dotted) the problem is at, when there is one. */
  readonly path: string | undefined;

  constructor(reason: string, path?: string) {
    super(`Event pattern is not valid. Reason: ${reason}${path === undefined ? '' : ` (at ${JSON.stringify(path)})`}`);
    this.reason = reason;
    this.path = path;
  }
}

export type EventPattern = Record<string, unknown>;

export interface CompiledPattern {
  /** Whether the event (a value, or JSON text) matches. A non-object event matches nothing. */
  matches(event: unknown): boolean;
  readonly source: EventPattern;
}

/** Validates and compiles a pattern (a value, or JSON text). Throws {@link InvalidEventPatternError}. */
export function compilePattern(pattern: unknown): CompiledPattern {
  if (typeof pattern !== 'string') {
    if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
      throw new InvalidEventPatternError('Filter is not an object');
    }
    return compileNode(nodeFromPatternValue(pattern), pattern as EventPattern);
  }
  const cached = textCache.get(pattern);
  if (cached) return cached;
  const node = parsePatternText(pattern);
  const compiled = compileNode(node, JSON.parse(pattern) as EventPattern);
  if (textCache.size >= TEXT_CACHE_SIZE) textCache.clear();
  textCache.set(pattern, compiled);
  return compiled;
}

/** Throws {@link InvalidEventPatternError} when EventBridge would reject the pattern. */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/**
 * Whether the event matches the pattern (each a value or JSON text); validates the pattern.
 * Throws a SyntaxError for event text that is not JSON.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}

const TEXT_CACHE_SIZE = 256;
const textCache = new Map<string, CompiledPattern>();

// ---------------------------------------------------------------------------------------------
// Pattern input

function parsePatternText(text: string): JsonNode {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonTextError) throw new InvalidEventPatternError(error.message);
    throw error;
  }
}

/** A pattern given as a value, as the JSON text it stands for (JSON.stringify's view of it). */
function nodeFromPatternValue(value: unknown, depth = 0): JsonNode {
  if (depth > 512) throw new InvalidEventPatternError('Pattern is nested too deeply (or contains a cycle)');
  if (value === null) return { kind: 'null' };
  switch (typeof value) {
    case 'string':
      return { kind: 'string', value };
    case 'boolean':
      return { kind: 'boolean', value };
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidEventPatternError(`${value} is not a JSON number`);
      return { kind: 'number', lexeme: String(value) };
    case 'bigint':
      return { kind: 'number', lexeme: value.toString() };
    case 'object': {
      if (Array.isArray(value)) {
        // Array.from visits holes too; like JSON.stringify, an undefined element is null.
        return { kind: 'array', items: Array.from(value as unknown[], (item) => nodeFromPatternValue(item === undefined ? null : item, depth + 1)) };
      }
      const members: JsonMember[] = [];
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        members.push([key, nodeFromPatternValue(member, depth + 1)]);
      }
      return { kind: 'object', members };
    }
    default:
      throw new InvalidEventPatternError(`a ${typeof value} is not a JSON value`);
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation: the rule compiler of event-ruler, step for step (its checks, in its order)

type SubRule = Map<string, FieldSpec>;

/** More alternatives than this (from combined `$or`s) are refused rather than compiled. */
const MAX_ALTERNATIVES = 1024;

const OR = '$or';

/** Field names event-ruler reserves (they may not be used as field names inside `$or`). */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range',
  'ip-address-in-range', 'ip-address-not-in-range',
]);

function compileNode(node: JsonNode, source: EventPattern): CompiledPattern {
  if (node.kind !== 'object') throw new InvalidEventPatternError('Filter is not an object');
  const rules: SubRule[] = [];
  parseObject(rules, [], node, false);
  checkComplexity(rules);
  const matches = compileMatcher(rules);
  return { source, matches };
}

function parseObject(rules: SubRule[], path: string[], node: Extract<JsonNode, { kind: 'object' }>, inOr: boolean): void {
  if (node.members.length === 0) throw new InvalidEventPatternError('Empty objects are not allowed', pathName(path));
  for (const [key, value] of node.members) {
    if (key === OR) {
      parseOr(rules, path, value);
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidEventPatternError(`${key} is Ruler reserved fieldName which cannot be used inside ${OR}.`, pathName([...path, key]));
    }
    if (value.kind === 'object') {
      parseObject(rules, [...path, key], value, inOr);
    } else if (value.kind === 'array') {
      writeField(rules, pathName([...path, key]), value);
    } else {
      throw new InvalidEventPatternError(`"${key}" must be an object or an array`, pathName([...path, key]));
    }
  }
}

function parseOr(rules: SubRule[], path: string[], value: JsonNode): void {
  const where = pathName([...path, OR]);
  const before = rules.map((rule) => new Map(rule));
  rules.length = 0;
  if (value.kind !== 'array') throw new InvalidEventPatternError(`It must be an Array followed with ${OR}.`, where);
  for (const item of value.items) {
    if (item.kind !== 'object') {
      throw new InvalidEventPatternError(`Only JSON object is allowed in array of ${OR} relationship.`, where);
    }
    const branch = before.map((rule) => new Map(rule));
    if (branch.length === 0) branch.push(new Map());
    parseObject(branch, path, item, true);
    rules.push(...branch);
    if (rules.length > MAX_ALTERNATIVES) {
      throw new InvalidEventPatternError(`Rule is too complex - more than ${MAX_ALTERNATIVES} alternatives from ${OR}`, where);
    }
  }
  if (value.items.length < 2) throw new InvalidEventPatternError(`There must have at least 2 Objects in ${OR} relationship.`, where);
}

function writeField(rules: SubRule[], path: string, array: Extract<JsonNode, { kind: 'array' }>): void {
  const tests: ValueTest[] = [];
  for (const item of array.items) {
    switch (item.kind) {
      case 'object':
        tests.push(matchExpression(item, path));
        break;
      case 'string':
        tests.push(exactStringTest(item.value));
        break;
      case 'number':
        tests.push(exactNumberTest(item.lexeme));
        break;
      case 'boolean':
        tests.push(item.value ? IS_TRUE : IS_FALSE);
        break;
      case 'null':
        tests.push(IS_NULL);
        break;
      default:
        throw new InvalidEventPatternError('Match value must be String, number, true, false, or null', path);
    }
  }
  if (tests.length === 0) throw new InvalidEventPatternError('Empty arrays are not allowed', path);
  const spec: FieldSpec = { path, tests };
  if (rules.length === 0) rules.push(new Map());
  for (const rule of rules) rule.set(path, spec);
}

type ObjectNode = Extract<JsonNode, { kind: 'object' }>;

function matchExpression(node: ObjectNode, path: string): ValueTest {
  const fail = (reason: string): never => {
    throw new InvalidEventPatternError(reason, path);
  };
  const onlyOneKey = (object: ObjectNode, reason = 'Only one key allowed in match expression'): void => {
    if (object.members.length > 1) fail(reason);
  };
  if (node.members.length === 0) fail('Match expression name not found');
  const [type, value] = node.members[0];
  switch (type) {
    case 'exactly': {
      if (value.kind !== 'string') fail('exact match pattern must be a string');
      onlyOneKey(node);
      return exactStringTest((value as { value: string }).value, true);
    }
    case 'prefix':
    case 'suffix': {
      if (value.kind === 'object') return affixIgnoreCase(type, value, path, node);
      if (value.kind !== 'string') fail(`${type} match pattern must be a string`);
      onlyOneKey(node);
      const affix = (value as { value: string }).value;
      return type === 'prefix'
        ? { test: (leaf) => typeof leaf === 'string' && leaf.startsWith(affix) }
        : { test: (leaf) => typeof leaf === 'string' && leaf.endsWith(affix) };
    }
    case 'equals-ignore-case': {
      if (value.kind !== 'string') fail('equals-ignore-case match pattern must be a string');
      onlyOneKey(node);
      const re = new RegExp(`^${ignoreCaseSource((value as { value: string }).value)}$`);
      return { test: (leaf) => typeof leaf === 'string' && re.test(leaf) };
    }
    case 'wildcard': {
      if (value.kind !== 'string') fail('wildcard match pattern must be a string');
      const text = (value as { value: string }).value;
      const segments = wildcardSegments(text, path);
      onlyOneKey(node);
      return { test: (leaf) => typeof leaf === 'string' && wildcardMatches(segments, leaf), wildcards: [text] };
    }
    case 'numeric': {
      if (value.kind !== 'array') fail('Value of numeric must be an array.');
      const test = numericExpression((value as { items: readonly JsonNode[] }).items, path);
      onlyOneKey(node, 'Too many elements in numeric expression');
      return test;
    }
    case 'anything-but':
      return anythingBut(value, path, node);
    case 'exists': {
      if (value.kind !== 'boolean') fail('exists match pattern must be either true or false.');
      onlyOneKey(node);
      return (value as { value: boolean }).value ? EXISTS : ABSENT;
    }
    case 'cidr': {
      if (value.kind !== 'string') fail('prefix match pattern must be a string');
      const range = guarded(() => parseCidr((value as { value: string }).value), path);
      onlyOneKey(node);
      return ipRangeTest(range);
    }
    default:
      return fail(`Unrecognized match type ${type}`);
  }
}

function affixIgnoreCase(type: 'prefix' | 'suffix', inner: ObjectNode, path: string, outer: ObjectNode): ValueTest {
  const fail = (reason: string): never => {
    throw new InvalidEventPatternError(reason, path);
  };
  const Type = type === 'prefix' ? 'Prefix' : 'Suffix';
  if (inner.members.length === 0) fail(`${Type} expression name not found`);
  const [op, value] = inner.members[0];
  if (op !== 'equals-ignore-case') fail(`Unsupported ${type} pattern: ${op}`);
  if (value.kind !== 'string') fail('equals-ignore-case match pattern must be a string');
  if (inner.members.length > 1 || outer.members.length > 1) fail('Only one key allowed in match expression');
  const source = ignoreCaseSource((value as { value: string }).value);
  const re = new RegExp(type === 'prefix' ? `^${source}` : `${source}$`);
  return { test: (leaf) => typeof leaf === 'string' && re.test(leaf) };
}

function anythingBut(value: JsonNode, path: string, outer: ObjectNode): ValueTest {
  const fail = (reason: string): never => {
    throw new InvalidEventPatternError(reason, path);
  };
  const tooMany = (object: ObjectNode): void => {
    if (object.members.length > 1) fail('Too many elements in numeric expression');
  };
  const valueShape = 'Value of anything-but must be an array or single string/number value.';

  if (value.kind !== 'object') {
    // Plain anything-but: one string or number, or a list of only strings or only numbers.
    let test: ValueTest;
    if (value.kind === 'array') {
      const strings: string[] = [];
      const numbers: number[] = [];
      for (const item of value.items) {
        if (item.kind === 'string') strings.push(item.value);
        else if (item.kind === 'number') numbers.push(anythingButNumber(item.lexeme, path));
        else fail('Inside anything but list, start|null|boolean is not supported.');
      }
      if ((strings.length > 0) === (numbers.length > 0)) {
        fail('Inside anything but list, either all values are number or string, mixed type is not supported');
      }
      test = strings.length > 0 ? anythingButStrings(strings) : anythingButNumbers(numbers);
    } else if (value.kind === 'string') {
      test = anythingButStrings([value.value]);
    } else if (value.kind === 'number') {
      test = anythingButNumbers([anythingButNumber(value.lexeme, path)]);
    } else {
      return fail(valueShape);
    }
    tooMany(outer);
    return test;
  }

  // anything-but with prefix / suffix / equals-ignore-case / wildcard, of one string or a list.
  if (value.members.length === 0) fail('Anything-But expression name not found');
  const [op, operand] = value.members[0];
  if (op !== 'prefix' && op !== 'suffix' && op !== 'equals-ignore-case' && op !== 'wildcard') {
    fail(`Unsupported anything-but pattern: ${op}`);
  }
  if (operand.kind !== 'array' && operand.kind !== 'string' && operand.kind !== 'number') fail(valueShape);
  const items = operand.kind === 'array' ? operand.items : [operand];
  const texts: string[] = [];
  for (const item of items) {
    if (item.kind !== 'string') {
      if (op === 'equals-ignore-case') fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
      else if (op === 'wildcard') fail('wildcard match pattern must be a string');
      else fail('prefix/suffix match pattern must be a string');
    }
    const text = (item as { value: string }).value;
    if ((op === 'prefix' || op === 'suffix') && text === '') fail('Null prefix/suffix not allowed');
    texts.push(text);
  }
  let test: ValueTest;
  switch (op) {
    case 'prefix':
      test = { test: (leaf) => !(typeof leaf === 'string' && texts.some((t) => leaf.startsWith(t))) };
      break;
    case 'suffix':
      test = { test: (leaf) => !(typeof leaf === 'string' && texts.some((t) => leaf.endsWith(t))) };
      break;
    case 'equals-ignore-case': {
      const re = new RegExp(`^(?:${texts.map(ignoreCaseSource).join('|')})$`);
      test = { test: (leaf) => !(typeof leaf === 'string' && re.test(leaf)) };
      break;
    }
    default: {
      const all = texts.map((text) => wildcardSegments(text, path));
      test = { test: (leaf) => !(typeof leaf === 'string' && all.some((s) => wildcardMatches(s, leaf))), wildcards: texts };
    }
  }
  tooMany(value);
  tooMany(outer);
  return test;
}

function anythingButNumber(lexeme: string, path: string): number {
  const c = comparableFromLexeme(lexeme);
  if (typeof c !== 'number') throw new InvalidEventPatternError(notComparableReason(c, lexeme), path);
  return c;
}

function numericExpression(items: readonly JsonNode[], path: string): ValueTest {
  const fail = (reason: string): never => {
    throw new InvalidEventPatternError(reason, path);
  };
  const isNumber = (i: number): boolean => items[i]?.kind === 'number';
  const lexeme = (i: number): string => (items[i] as { lexeme: string }).lexeme;
  if (items[0]?.kind !== 'string') fail(`Invalid member in numeric match: ${tokenText(items[0])}`);
  const op = (items[0] as { value: string }).value;
  switch (op) {
    case '=': {
      if (!isNumber(1)) fail('Value of equals must be numeric');
      if (items.length > 2) fail('Too many elements in numeric expression');
      const value = comparable(lexeme(1), path);
      return numberTest((c) => c === value);
    }
    case '>=':
    case '>': {
      if (!isNumber(1)) fail(`Value of ${op} must be numeric`);
      const bottom = lexeme(1);
      if (items.length === 2) return range(bottom, op === '>', String(NUMERIC_LIMIT), false, path);
      if (items[2].kind !== 'string') fail(`Bad value in numeric range: ${tokenText(items[2])}`);
      const op2 = (items[2] as { value: string }).value;
      if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${op2}`);
      if (!isNumber(3)) fail(`Value of ${op2} must be numeric`);
      if (items.length > 4) fail('Too many terms in numeric range expression');
      return range(bottom, op === '>', lexeme(3), op2 === '<', path);
    }
    case '<=':
    case '<': {
      if (!isNumber(1)) fail(`Value of ${op} must be numeric`);
      if (items.length > 2) fail('Too many elements in numeric expression');
      return range(String(-NUMERIC_LIMIT), false, lexeme(1), op === '<', path);
    }
    default:
      return fail(`Unrecognized numeric range operator: ${op}`);
  }
}

function range(bottomLexeme: string, openBottom: boolean, topLexeme: string, openTop: boolean, path: string): ValueTest {
  const bottom = comparable(bottomLexeme, path);
  const top = comparable(topLexeme, path);
  if (bottom >= top) throw new InvalidEventPatternError('Bottom must be less than top', path);
  return numberTest((c) => (openBottom ? c > bottom : c >= bottom) && (openTop ? c < top : c <= top));
}

function comparable(lexeme: string, path: string): number {
  const c = comparableFromLexeme(lexeme);
  if (typeof c !== 'number') throw new InvalidEventPatternError(notComparableReason(c, lexeme), path);
  return c;
}

function notComparableReason(why: 'decimals' | 'range', lexeme: string): string {
  return why === 'decimals'
    ? `Only values upto 6 decimals are supported: ${lexeme}`
    : `Value must be between -5.0E9 and 5.0E9, inclusive: ${lexeme}`;
}

/** The text of a token, as event-ruler quotes it in messages. */
function tokenText(node: JsonNode | undefined): string {
  if (!node) return ']';
  switch (node.kind) {
    case 'object': return '{';
    case 'array': return '[';
    case 'string': return node.value;
    case 'number': return node.lexeme;
    case 'boolean': return String(node.value);
    case 'null': return 'null';
  }
}

function wildcardSegments(text: string, path: string): WildcardSegments {
  return guarded(() => parseWildcard(text), path);
}

function guarded<T>(parse: () => T, path: string): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidEventPatternError((error as Error).message, path);
  }
}

function checkComplexity(rules: readonly SubRule[]): void {
  const byPath = new Map<string, Set<string>>();
  for (const rule of rules) {
    for (const spec of rule.values()) {
      for (const t of spec.tests) {
        if (!t.wildcards) continue;
        let set = byPath.get(spec.path);
        if (!set) byPath.set(spec.path, (set = new Set()));
        for (const w of t.wildcards) set.add(w);
      }
    }
  }
  for (const [path, wildcards] of byPath) {
    if (wildcardComplexity([...wildcards]) > WILDCARD_COMPLEXITY_MAX) {
      throw new InvalidEventPatternError(
        'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
        path,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Value tests

const IS_TRUE: ValueTest = { test: (leaf) => leaf === true };
const IS_FALSE: ValueTest = { test: (leaf) => leaf === false };
const IS_NULL: ValueTest = { test: (leaf) => leaf === null };
const EXISTS: ValueTest = { test: () => true };
const ABSENT: ValueTest = { test: () => false, absent: true };

function isNumber(leaf: Leaf): leaf is number | JsonNumber {
  return typeof leaf === 'number' || leaf instanceof JsonNumber;
}

function numberTest(accept: (comparable: number) => boolean): ValueTest {
  return {
    test: (leaf) => {
      if (!isNumber(leaf)) return false;
      const c = comparableOf(leaf);
      return c !== null && accept(c);
    },
  };
}

/** A string pattern value; a string that is an IP literal matches that address however it is written. */
function exactStringTest(text: string, plain = false): ValueTest {
  const hex = plain || !looksLikeIp(text) ? undefined : ipHex(text);
  if (hex === undefined) return { test: (leaf) => leaf === text, exact: text };
  return { test: (leaf) => leaf === text || (typeof leaf === 'string' && ipHex(leaf) === hex) };
}

/** A number pattern value: equal by value when both are comparable, else equal as lexemes. */
function exactNumberTest(lexeme: string): ValueTest {
  const c = comparableFromLexeme(lexeme);
  const value = typeof c === 'number' ? c : null;
  return {
    test: (leaf) => {
      if (!isNumber(leaf)) return false;
      if (value !== null && comparableOf(leaf) === value) return true;
      return numberLexeme(leaf) === lexeme;
    },
  };
}

function anythingButStrings(values: readonly string[]): ValueTest {
  const set = new Set(values);
  return { test: (leaf) => !(typeof leaf === 'string' && set.has(leaf)) };
}

function anythingButNumbers(values: readonly number[]): ValueTest {
  const set = new Set(values);
  return {
    test: (leaf) => {
      if (!isNumber(leaf)) return true;
      const c = comparableOf(leaf);
      return c === null || !set.has(c);
    },
  };
}

function ipRangeTest(range: IpRange): ValueTest {
  return {
    test: (leaf) => {
      if (typeof leaf !== 'string') return false;
      const hex = ipHex(leaf);
      return hex !== undefined && hex.length === range.low.length && hex >= range.low && hex <= range.high;
    },
  };
}

function pathName(path: readonly string[]): string {
  return path.join('.');
}
