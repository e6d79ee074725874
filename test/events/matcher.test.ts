import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  compilePattern,
  InvalidEventPatternError,
  matchesPattern,
  validatePattern,
  type EventPattern,
} from '../../events/matcher';
import { wildcardComplexity, WILDCARD_COMPLEXITY_MAX } from '../../events/matcher-complexity';

// -------------------------------------------------------------------------------------------------
// Ground truth: the AWS-validated TestEventPattern cases

interface AwsCase {
  readonly name: string;
  readonly expected: true | false | 'invalid';
  readonly pattern?: unknown;
  readonly patternText?: string;
  readonly event?: unknown;
  readonly eventText?: string;
  readonly awsError?: { readonly code: string; readonly message?: string };
}

const SHARED_CASES = path.resolve(__dirname, '../../../shared/data/eventbridge-aws-validated-cases.json');
const PROJECT_CASES = path.resolve(__dirname, '../fixtures/eventbridge-aws-validated-cases.json');
const CASES_FILE = existsSync(SHARED_CASES) ? SHARED_CASES : PROJECT_CASES;
const CASES: readonly AwsCase[] = (JSON.parse(readFileSync(CASES_FILE, 'utf8')) as { cases: AwsCase[] }).cases;

const patternOf = (c: AwsCase): unknown => c.patternText ?? c.pattern;
const eventOf = (c: AwsCase): unknown => c.eventText ?? c.event;
const AWS_REASON_PREFIX = 'Event pattern is not valid. Reason: ';

function invalidity(run: () => unknown): InvalidEventPatternError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidEventPatternError) return error;
    throw error;
  }
  throw new Error('expected an InvalidEventPatternError, but the pattern was accepted');
}

describe('AWS-validated TestEventPattern cases', () => {
  it('has all 163 cases', () => {
    expect(CASES).toHaveLength(163);
  });

  for (const c of CASES) {
    it(c.name, () => {
      if (c.expected === 'invalid') {
        const fromValidate = invalidity(() => validatePattern(patternOf(c)));
        const fromMatch = invalidity(() => matchesPattern(patternOf(c), eventOf(c)));
        expect(fromMatch.reason).toBe(fromValidate.reason);
        // Where AWS recorded its message, the reason is AWS's word for word.
        if (c.awsError?.message) expect(AWS_REASON_PREFIX + fromValidate.reason).toBe(c.awsError.message);
      } else {
        expect(matchesPattern(patternOf(c), eventOf(c))).toBe(c.expected);
      }
    });
  }
});

describe('a compiled pattern', () => {
  it('answers every case as matchesPattern does, and again on reuse', () => {
    for (const c of CASES) {
      if (c.expected === 'invalid') continue;
      const compiled = compilePattern(patternOf(c));
      const answer = matchesPattern(patternOf(c), eventOf(c));
      expect([c.name, compiled.matches(eventOf(c))]).toEqual([c.name, answer]);
      expect([c.name, compiled.matches(eventOf(c))]).toEqual([c.name, answer]);
    }
  });

  it('answers the same across every case event (not only its own)', () => {
    const valid = CASES.filter((c) => c.expected !== 'invalid');
    for (const p of valid.slice(0, 40)) {
      const compiled = compilePattern(patternOf(p));
      for (const e of valid) expect(compiled.matches(eventOf(e))).toBe(matchesPattern(patternOf(p), eventOf(e)));
    }
  });

  it('keeps the pattern it was compiled from as source (parsed, for text)', () => {
    const pattern: EventPattern = { source: ['aws.codedeploy'] };
    expect(compilePattern(pattern).source).toBe(pattern);
    expect(compilePattern('{"source": ["a"], "source": ["b"]}').source).toEqual({ source: ['b'] });
  });

  it('gives a non-object event no match', () => {
    const compiled = compilePattern({ source: ['x'] });
    for (const event of [null, undefined, 42, 'null', '"x"', '[{"source": "x"}]', [{ source: 'x' }], true]) {
      expect(compiled.matches(event)).toBe(false);
    }
  });
});

// -------------------------------------------------------------------------------------------------
// Specification, behaviour by behaviour

const match = (pattern: unknown, event: unknown): boolean => matchesPattern(pattern, event);
const reasonOf = (pattern: unknown): string => invalidity(() => validatePattern(pattern)).reason;

describe('pattern shape', () => {
  it('must be an object: not an array, a string, null or a number', () => {
    for (const p of [[], ['a'], null, 5, undefined]) expect(reasonOf(p)).toBe('Filter is not an object');
    expect(reasonOf('["not", "an", "object"]')).toBe('Filter is not an object');
    expect(reasonOf('"text"')).toBe('Filter is not an object');
  });

  it('must not be empty, nor contain empty objects', () => {
    expect(reasonOf({})).toBe('Empty objects are not allowed');
    expect(reasonOf({ detail: {} })).toBe('Empty objects are not allowed');
  });

  it('has arrays (of alternatives) at its leaves, never bare values', () => {
    expect(reasonOf({ source: 'aws.ec2' })).toBe('"source" must be an object or an array');
    expect(reasonOf({ detail: { n: 5 } })).toBe('"n" must be an object or an array');
    expect(reasonOf({ detail: { b: null } })).toBe('"b" must be an object or an array');
  });

  it('does not allow empty arrays, nested arrays or empty match expressions', () => {
    expect(reasonOf({ source: [] })).toBe('Empty arrays are not allowed');
    expect(reasonOf({ source: [['a']] })).toBe('Match value must be String, number, true, false, or null');
    expect(reasonOf({ source: [{}] })).toBe('Match expression name not found');
  });

  it('knows its operators case-sensitively and allows one per match expression', () => {
    expect(reasonOf({ a: [{ Prefix: 'x' }] })).toBe('Unrecognized match type Prefix');
    expect(reasonOf({ a: [{ regex: 'x' }] })).toBe('Unrecognized match type regex');
    expect(reasonOf({ a: [{ prefix: 'x', suffix: 'y' }] })).toBe('Only one key allowed in match expression');
  });

  it('reports invalid JSON text as an invalid pattern', () => {
    expect(() => validatePattern('{"source": ["a"]')).toThrow(InvalidEventPatternError);
    expect(() => validatePattern('{"source": ["a"]} trailing')).toThrow(InvalidEventPatternError);
    expect(() => validatePattern("{'source': ['a']}")).toThrow(InvalidEventPatternError);
  });

  it('words errors like AWS and names the offending field', () => {
    const error = invalidity(() => validatePattern({ detail: { state: [{ prefix: 5 }] } }));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InvalidEventPatternError');
    expect(error.reason).toBe('prefix match pattern must be a string');
    expect(error.path).toBe('detail.state');
    expect(error.message).toBe('Event pattern is not valid. Reason: prefix match pattern must be a string (at "detail.state")');
  });

  it('accepts patterns given as values or as JSON text alike', () => {
    expect(match('{"source": ["a"]}', { source: 'a' })).toBe(true);
    expect(match({ source: ['a'] }, '{"source": "a"}')).toBe(true);
  });
});

describe('exact values', () => {
  it('match strings exactly and case-sensitively', () => {
    expect(match({ source: ['aws.ec2'] }, { source: 'aws.ec2' })).toBe(true);
    expect(match({ source: ['aws.ec2'] }, { source: 'AWS.EC2' })).toBe(false);
    expect(match({ source: ['aws.ec2'] }, { source: 'aws.ec2 ' })).toBe(false);
  });

  it('match keys case-sensitively too', () => {
    expect(match({ Source: ['a'] }, { source: 'a' })).toBe(false);
  });

  it('need every field of the pattern; ignore the event fields the pattern does not name', () => {
    const pattern = { source: ['a'], detail: { state: ['on'] } };
    expect(match(pattern, { source: 'a', detail: { state: 'on', other: 1 }, extra: true })).toBe(true);
    expect(match(pattern, { source: 'a' })).toBe(false);
  });

  it('match numbers, booleans and null by type: 5 is not "5", true is not "true", null is not "null"', () => {
    expect(match({ n: [5] }, { n: 5 })).toBe(true);
    expect(match({ n: [5] }, { n: '5' })).toBe(false);
    expect(match({ n: ['5'] }, { n: 5 })).toBe(false);
    expect(match({ b: [true] }, { b: true })).toBe(true);
    expect(match({ b: [true] }, { b: 'true' })).toBe(false);
    expect(match({ b: [false] }, { b: 0 })).toBe(false);
    expect(match({ z: [null] }, { z: null })).toBe(true);
    expect(match({ z: [null] }, { z: 'null' })).toBe(false);
  });

  it('tell null, the empty string and a missing field apart', () => {
    expect(match({ v: [null] }, { v: null })).toBe(true);
    expect(match({ v: [null] }, { v: '' })).toBe(false);
    expect(match({ v: [null] }, {})).toBe(false);
    expect(match({ v: [''] }, { v: '' })).toBe(true);
    expect(match({ v: [''] }, { v: null })).toBe(false);
    expect(match({ v: [''] }, {})).toBe(false);
  });

  it('compare numbers by value within ±5e9 with six decimals: 300 = 300.0 = 3e2', () => {
    expect(match({ n: [300] }, '{"n": 300.0}')).toBe(true);
    expect(match({ n: [300] }, '{"n": 3e2}')).toBe(true);
    expect(match('{"n": [3.0e2]}', { n: 300 })).toBe(true);
    expect(match({ n: [0.1] }, { n: 0.1 })).toBe(true);
    expect(match({ n: [-0] }, { n: 0 })).toBe(true);
  });

  it('compare other numbers by their JSON lexeme', () => {
    // Outside ±5e9: an account number is matched as written.
    expect(match({ account: [123456789012] }, { account: 123456789012 })).toBe(true);
    expect(match('{"n": [12345678901234567890]}', '{"n": 12345678901234567890}')).toBe(true);
    expect(match('{"n": [12345678901234567890]}', '{"n": 12345678901234567891}')).toBe(false);
    expect(match('{"n": [123456789012]}', '{"n": 123456789012.0}')).toBe(false);
    // More than six decimals: the lexeme, not the value.
    expect(match('{"n": [0.0000001]}', '{"n": 0.0000001}')).toBe(true);
    expect(match('{"n": [0.0000001]}', '{"n": 1e-7}')).toBe(false);
  });
});

describe('arrays', () => {
  it('in a pattern are alternatives (OR)', () => {
    const pattern = { state: ['pending', 'running'] };
    expect(match(pattern, { state: 'running' })).toBe(true);
    expect(match(pattern, { state: 'stopped' })).toBe(false);
  });

  it('in an event match when any element matches', () => {
    expect(match({ resources: ['b'] }, { resources: ['a', 'b'] })).toBe(true);
    expect(match({ resources: ['c'] }, { resources: ['a', 'b'] })).toBe(false);
    expect(match({ n: [{ numeric: ['>', 10] }] }, { n: [1, 20] })).toBe(true);
  });

  it('of arrays are flattened', () => {
    expect(match({ r: ['d'] }, { r: [['a', 'b'], ['c', ['d']]] })).toBe(true);
  });

  it('that are empty have no value, not even null', () => {
    expect(match({ r: [null] }, { r: [] })).toBe(false);
    expect(match({ r: [{ exists: true }] }, { r: [] })).toBe(false);
    expect(match({ r: [{ exists: false }] }, { r: [] })).toBe(true);
  });

  it('of objects are searched: a field inside them is the field of the parent path', () => {
    const event = { detail: { items: [{ id: 'a' }, { id: 'b', tag: 'x' }] } };
    expect(match({ detail: { items: { id: ['b'] } } }, event)).toBe(true);
    expect(match({ detail: { items: { tag: [{ exists: true }] } } }, event)).toBe(true);
  });

  describe('of objects match consistently: all fields from the same element', () => {
    const employees = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };

    it('matches two fields of one element', () => {
      expect(match({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
    });

    it('does not match two fields taken from different elements', () => {
      expect(match({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
    });

    it('applies at every level of nested arrays', () => {
      const nested = { employees: [[employees.employees[0], employees.employees[1]], [employees.employees[2]]] };
      expect(match({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, nested)).toBe(true);
      expect(match({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(false);
    });

    it('lets fields outside the array combine with any element', () => {
      const event = { team: 'core', members: [{ name: 'a', role: 'dev' }, { name: 'b', role: 'ops' }] };
      expect(match({ team: ['core'], members: { name: ['b'], role: ['ops'] } }, event)).toBe(true);
      expect(match({ team: ['core'], members: { name: ['b'], role: ['dev'] } }, event)).toBe(false);
    });

    it('treats separate arrays independently', () => {
      const event = { a: [{ x: 1 }, { x: 2 }], b: [{ y: 1 }, { y: 2 }] };
      expect(match({ a: { x: [1] }, b: { y: [2] } }, event)).toBe(true);
    });

    it('checks exists:false against the element the earlier fields (in path order) chose', () => {
      const event = { arr: [{ x: '1' }, { x: '2', y: 'z' }] };
      // arr.x = "1" picks element 0, which has no y.
      expect(match({ arr: { x: ['1'], y: [{ exists: false }] } }, event)).toBe(true);
      // arr.x = "2" picks element 1, which has y.
      expect(match({ arr: { x: ['2'], y: [{ exists: false }] } }, event)).toBe(false);
    });
  });
});

describe('prefix and suffix', () => {
  it('match the start or end of strings', () => {
    expect(match({ time: [{ prefix: '2022-07' }] }, { time: '2022-07-13T13:48:01Z' })).toBe(true);
    expect(match({ time: [{ prefix: '2022-08' }] }, { time: '2022-07-13T13:48:01Z' })).toBe(false);
    expect(match({ f: [{ suffix: '.png' }] }, { f: 'a.png' })).toBe(true);
    expect(match({ f: [{ suffix: '.png' }] }, { f: 'a.PNG' })).toBe(false);
  });

  it('only match strings; the empty prefix matches every string but nothing else', () => {
    expect(match({ n: [{ prefix: '1' }] }, { n: 12 })).toBe(false);
    expect(match({ v: [{ prefix: '' }] }, { v: '' })).toBe(true);
    expect(match({ v: [{ prefix: '' }] }, { v: 'x' })).toBe(true);
    expect(match({ v: [{ prefix: '' }] }, { v: null })).toBe(false);
    expect(match({ v: [{ suffix: '' }] }, { v: 7 })).toBe(false);
  });

  it('have case-insensitive variants', () => {
    expect(match({ s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] }, { s: 'eventbridge' })).toBe(true);
    expect(match({ s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] }, { s: 'xeventb' })).toBe(false);
    expect(match({ f: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { f: 'IMG.PnG' })).toBe(true);
    expect(match({ f: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { f: 'IMG.PnGx' })).toBe(false);
  });

  it('take a string only', () => {
    expect(reasonOf({ a: [{ prefix: ['x'] }] })).toBe('prefix match pattern must be a string');
    expect(reasonOf({ a: [{ suffix: 5 }] })).toBe('suffix match pattern must be a string');
    expect(reasonOf({ a: [{ prefix: { 'equals-ignore-case': 5 } }] })).toBe('equals-ignore-case match pattern must be a string');
    expect(reasonOf({ a: [{ prefix: { wildcard: 'x' } }] })).toBe('Unsupported prefix pattern: wildcard');
    expect(reasonOf({ a: [{ suffix: {} }] })).toBe('Suffix expression name not found');
  });
});

describe('equals-ignore-case', () => {
  it('matches strings ignoring case', () => {
    const pattern = { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] };
    expect(match(pattern, { 'detail-type': 'EC2 Instance State-change Notification' })).toBe(true);
    expect(match(pattern, { 'detail-type': 'EC2 Instance State-change Notification!' })).toBe(false);
  });

  it('treats regular-expression characters literally and knows non-ASCII case', () => {
    expect(match({ a: [{ 'equals-ignore-case': 'a.b*(c)' }] }, { a: 'A.B*(C)' })).toBe(true);
    expect(match({ a: [{ 'equals-ignore-case': 'a.b*(c)' }] }, { a: 'AxB*(C)' })).toBe(false);
    expect(match({ a: [{ 'equals-ignore-case': 'ÄRGER' }] }, { a: 'ärger' })).toBe(true);
  });

  it('only matches strings, and takes a string only', () => {
    expect(match({ a: [{ 'equals-ignore-case': '5' }] }, { a: 5 })).toBe(false);
    expect(reasonOf({ a: [{ 'equals-ignore-case': ['x'] }] })).toBe('equals-ignore-case match pattern must be a string');
  });
});

describe('wildcard', () => {
  const wc = (pattern: string, value: unknown): boolean => match({ v: [{ wildcard: pattern }] }, { v: value });

  it('matches any run of characters, the empty one included', () => {
    expect(wc('arn:aws:events:us-east-1:*:event-bus/*', 'arn:aws:events:us-east-1:123456789012:event-bus/bus')).toBe(true);
    expect(wc('*.png', '.png')).toBe(true);
    expect(wc('a*b*c', 'abc')).toBe(true);
    expect(wc('a*b*c', 'aXbYc')).toBe(true);
    expect(wc('a*b*c', 'acb')).toBe(false);
    expect(wc('a*ba', 'aba')).toBe(true);
    expect(wc('a*ab', 'ab')).toBe(false);
    expect(wc('/Users/*/doc.txt', '/Users/me/dir/dir/doc.txt')).toBe(true);
  });

  it('without a star is an exact match; the empty wildcard matches only the empty string', () => {
    expect(wc('abc', 'abc')).toBe(true);
    expect(wc('abc', 'abcd')).toBe(false);
    expect(wc('', '')).toBe(true);
    expect(wc('', 'x')).toBe(false);
  });

  it('escapes a star as \\* and a backslash as \\\\', () => {
    expect(wc('a\\*b', 'a*b')).toBe(true);
    expect(wc('a\\*b', 'aXb')).toBe(false);
    expect(wc('a\\\\*', 'a\\anything')).toBe(true);
    expect(wc('\\**', '*x')).toBe(true);
    expect(wc('\\**', 'x*')).toBe(false);
  });

  it('only matches strings', () => {
    expect(wc('*', 5)).toBe(false);
    expect(wc('*', null)).toBe(false);
    expect(wc('*', '')).toBe(true);
  });

  it('rejects consecutive stars and bad escapes, at the byte position AWS reports', () => {
    expect(reasonOf({ v: [{ wildcard: 'a**' }] })).toBe('Consecutive wildcard characters at pos 2');
    expect(reasonOf({ v: [{ wildcard: 'é**' }] })).toBe('Consecutive wildcard characters at pos 3');
    expect(reasonOf({ v: [{ wildcard: 'a\\b' }] })).toBe('Invalid escape character at pos 2');
    expect(reasonOf({ v: [{ wildcard: 'a\\' }] })).toBe('Invalid escape character at pos 2');
    expect(reasonOf({ v: [{ wildcard: ['*'] }] })).toBe('wildcard match pattern must be a string');
  });

  describe('complexity limit (AWS: "Rule is too complex")', () => {
    it('counts the wildcard prefixes one worst-case value keeps alive', () => {
      expect(wildcardComplexity(['*'])).toBe(1);
      expect(wildcardComplexity(['abc'])).toBe(1);
      expect(wildcardComplexity(['1*'])).toBe(2);
      expect(wildcardComplexity(['*a*a*a*'])).toBe(7);
      expect(wildcardComplexity(['/Users/*/doc.txt'])).toBe(2);
      expect(wildcardComplexity(['/Users/*/dir/dir/dir/dir/dir/doc.txt'])).toBe(7);
      expect(wildcardComplexity(['*:*:*:*:*:event-bus/*'], 100)).toBe(11);
    });

    it('accepts a field whose wildcards keep at most 10 prefixes alive', () => {
      expect(WILDCARD_COMPLEXITY_MAX).toBe(10);
      const three = ['Api', 'Data', 'Shared'].map((name) => ({ wildcard: `*:stack/${name}/*` }));
      expect(wildcardComplexity(three.map((w) => w.wildcard))).toBe(9);
      expect(() => validatePattern({ 'stack-id': three })).not.toThrow();
      expect(() => validatePattern({ v: [{ wildcard: '*a*a*a*a*' }] })).not.toThrow(); // 9
    });

    it('rejects more: many stars, or repeated sequences after a star', () => {
      const four = ['Api', 'Data', 'Shared', 'Monitoring'].map((name) => ({ wildcard: `*:stack/${name}/*` }));
      const tooComplex = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';
      expect(reasonOf({ 'stack-id': four })).toBe(tooComplex);
      expect(reasonOf({ v: [{ wildcard: '*a*a*a*a*a*' }] })).toBe(tooComplex); // 11
      expect(reasonOf({ v: [{ wildcard: 'x*' + 'ab'.repeat(12) }] })).toBe(tooComplex);
      expect(reasonOf({ v: [{ 'anything-but': { wildcard: ['*a*a*a*', '*b*b*b*'] } }] })).toBe(tooComplex);
    });

    it('counts each field on its own', () => {
      expect(() => validatePattern({ a: [{ wildcard: '*a*a*a*' }], b: [{ wildcard: '*b*b*b*' }] })).not.toThrow();
    });
  });
});

describe('anything-but', () => {
  it('matches any value but the one given (string or number)', () => {
    expect(match({ s: [{ 'anything-but': 'init' }] }, { s: 'running' })).toBe(true);
    expect(match({ s: [{ 'anything-but': 'init' }] }, { s: 'init' })).toBe(false);
    expect(match({ n: [{ 'anything-but': 123 }] }, { n: 456 })).toBe(true);
    expect(match({ n: [{ 'anything-but': 123 }] }, '{"n": 123.0}')).toBe(false);
  });

  it('matches any value not in a list of strings, or of numbers', () => {
    expect(match({ s: [{ 'anything-but': ['a', 'b'] }] }, { s: 'c' })).toBe(true);
    expect(match({ s: [{ 'anything-but': ['a', 'b'] }] }, { s: 'b' })).toBe(false);
    expect(match({ n: [{ 'anything-but': [100, 200] }] }, { n: 200 })).toBe(false);
    expect(match({ n: [{ 'anything-but': [100, 200] }] }, { n: 201 })).toBe(true);
  });

  it('matches values of other types, and null; never a missing field', () => {
    expect(match({ s: [{ 'anything-but': 'init' }] }, { s: null })).toBe(true);
    expect(match({ s: [{ 'anything-but': 'init' }] }, { s: 5 })).toBe(true);
    expect(match({ n: [{ 'anything-but': 5 }] }, { n: '5' })).toBe(true);
    expect(match({ s: [{ 'anything-but': 'init' }] }, {})).toBe(false);
    expect(match({ s: [{ 'anything-but': 'init' }] }, { s: { nested: 'x' } })).toBe(false);
  });

  it('on an event array, matches when any element is not excluded', () => {
    expect(match({ s: [{ 'anything-but': 'a' }] }, { s: ['a', 'b'] })).toBe(true);
    expect(match({ s: [{ 'anything-but': 'a' }] }, { s: ['a', 'a'] })).toBe(false);
  });

  it('excludes prefixes, suffixes, case-insensitive values and wildcards', () => {
    expect(match({ s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'initializing' })).toBe(false);
    expect(match({ s: [{ 'anything-but': { prefix: ['a', 'b'] } }] }, { s: 'cat' })).toBe(true);
    expect(match({ f: [{ 'anything-but': { suffix: '.txt' } }] }, { f: 'a.txt' })).toBe(false);
    expect(match({ f: [{ 'anything-but': { suffix: '.txt' } }] }, { f: 'a.txt.bak' })).toBe(true);
    expect(match({ s: [{ 'anything-but': { 'equals-ignore-case': ['stopped'] } }] }, { s: 'STOPPED' })).toBe(false);
    expect(match({ s: [{ 'anything-but': { 'equals-ignore-case': 'stopped' } }] }, { s: 'running' })).toBe(true);
    expect(match({ p: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { p: 'a/lib/b' })).toBe(false);
    expect(match({ p: [{ 'anything-but': { wildcard: ['*/lib/*', '*.tmp'] } }] }, { p: 'a/bin/b' })).toBe(true);
    expect(match({ p: [{ 'anything-but': { wildcard: '' } }] }, { p: 'x' })).toBe(true);
    expect(match({ p: [{ 'anything-but': { prefix: 'x' } }] }, { p: 7 })).toBe(true);
  });

  it('validates its value the way AWS does', () => {
    expect(reasonOf({ s: [{ 'anything-but': null }] })).toBe('Value of anything-but must be an array or single string/number value.');
    expect(reasonOf({ s: [{ 'anything-but': true }] })).toBe('Value of anything-but must be an array or single string/number value.');
    expect(reasonOf({ s: [{ 'anything-but': ['a', 1] }] })).toBe('Inside anything but list, either all values are number or string, mixed type is not supported');
    expect(reasonOf({ s: [{ 'anything-but': [] }] })).toBe('Inside anything but list, either all values are number or string, mixed type is not supported');
    expect(reasonOf({ s: [{ 'anything-but': ['a', null] }] })).toBe('Inside anything but list, start|null|boolean is not supported.');
    expect(reasonOf({ s: [{ 'anything-but': { prefix: '' } }] })).toBe('Null prefix/suffix not allowed');
    expect(reasonOf({ s: [{ 'anything-but': { exists: true } }] })).toBe('Unsupported anything-but pattern: exists');
    expect(reasonOf({ s: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'a' } } }] })).toBe('Value of anything-but must be an array or single string/number value.');
    expect(reasonOf({ s: [{ 'anything-but': { 'equals-ignore-case': [1] } }] })).toBe('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
    expect(reasonOf({ s: [{ 'anything-but': { wildcard: 'a**' } }] })).toBe('Consecutive wildcard characters at pos 2');
    expect(reasonOf({ n: [{ 'anything-but': 1e10 }] })).toMatch(/^Value must be between -5.0E9 and 5.0E9, inclusive/);
  });
});

describe('numeric', () => {
  const num = (condition: unknown[], value: unknown): boolean => match({ n: [{ numeric: condition }] }, { n: value });

  it('compares with <, <=, =, >=, >', () => {
    expect(num(['<', 10], 9)).toBe(true);
    expect(num(['<', 10], 10)).toBe(false);
    expect(num(['<=', 10], 10)).toBe(true);
    expect(num(['=', 301.8], 301.8)).toBe(true);
    expect(num(['=', 301.8], 301.81)).toBe(false);
    expect(num(['>=', 0], 0)).toBe(true);
    expect(num(['>', 0], 0)).toBe(false);
    expect(num(['>', -1.5], -1.25)).toBe(true);
  });

  it('combines a lower and an upper bound', () => {
    expect(num(['>', 0, '<=', 5], 5)).toBe(true);
    expect(num(['>', 0, '<=', 5], 0)).toBe(false);
    expect(num(['>=', 0, '<', 5], 5)).toBe(false);
    expect(num(['>=', 0, '<', 5], 0)).toBe(true);
  });

  it('compares decimals exactly, to six places', () => {
    expect(num(['=', 0.3], 0.3)).toBe(true);
    expect(match('{"n": [{"numeric": ["=", 0.3]}]}', '{"n": 0.30000}')).toBe(true);
    expect(match('{"n": [{"numeric": [">", 0.000001]}]}', '{"n": 0.000002}')).toBe(true);
  });

  it('only matches JSON numbers in [-5e9, 5e9] with at most six decimals', () => {
    expect(num(['>', 100], '300')).toBe(false);
    expect(num(['>', 100], null)).toBe(false);
    expect(num(['>', 100], 6e9)).toBe(false);
    expect(num(['<=', 5e9], 5e9)).toBe(true);
    expect(match('{"n": [{"numeric": [">", 0]}]}', '{"n": 0.0000001}')).toBe(false);
  });

  it('validates the operators, their order and their values', () => {
    expect(reasonOf({ n: [{ numeric: 10 }] })).toBe('Value of numeric must be an array.');
    expect(reasonOf({ n: [{ numeric: [] }] })).toBe('Invalid member in numeric match: ]');
    expect(reasonOf({ n: [{ numeric: [10, '<'] }] })).toBe('Invalid member in numeric match: 10');
    expect(reasonOf({ n: [{ numeric: ['!=', 10] }] })).toBe('Unrecognized numeric range operator: !=');
    expect(reasonOf({ n: [{ numeric: ['>', '10'] }] })).toBe('Value of > must be numeric');
    expect(reasonOf({ n: [{ numeric: ['=', '10'] }] })).toBe('Value of equals must be numeric');
    expect(reasonOf({ n: [{ numeric: ['<'] }] })).toBe('Value of < must be numeric');
    expect(reasonOf({ n: [{ numeric: ['>', 0, '>', 5] }] })).toBe('Bad numeric range operator: >');
    expect(reasonOf({ n: [{ numeric: ['<', 5, '>', 0] }] })).toBe('Too many elements in numeric expression');
    expect(reasonOf({ n: [{ numeric: ['>', 0, 5] }] })).toBe('Bad value in numeric range: 5');
    expect(reasonOf({ n: [{ numeric: ['>', 0, '<', 5, 6] }] })).toBe('Too many terms in numeric range expression');
    expect(reasonOf({ n: [{ numeric: ['=', 1, 2] }] })).toBe('Too many elements in numeric expression');
    expect(reasonOf({ n: [{ numeric: ['>', 5, '<', 5] }] })).toBe('Bottom must be less than top');
    expect(reasonOf({ n: [{ numeric: ['>', 5e9] }] })).toBe('Bottom must be less than top');
  });

  it('rejects values beyond ±5e9 or with more than six decimals', () => {
    expect(reasonOf({ n: [{ numeric: ['<', 5e9 + 1] }] })).toMatch(/^Value must be between -5.0E9 and 5.0E9, inclusive/);
    expect(reasonOf({ n: [{ numeric: ['>', -6e9] }] })).toMatch(/^Value must be between -5.0E9 and 5.0E9, inclusive/);
    expect(reasonOf({ n: [{ numeric: ['=', 0.0000001] }] })).toMatch(/^Only values upto 6 decimals are supported/);
    expect(() => validatePattern('{"n": [{"numeric": ["=", 1.0000000]}]}')).not.toThrow(); // trailing zeros do not count
  });
});

describe('exists', () => {
  it('true: the field has a value (null included)', () => {
    expect(match({ a: [{ exists: true }] }, { a: 'x' })).toBe(true);
    expect(match({ a: [{ exists: true }] }, { a: null })).toBe(true);
    expect(match({ a: [{ exists: true }] }, { a: '' })).toBe(true);
    expect(match({ a: [{ exists: true }] }, {})).toBe(false);
  });

  it('false: the field has no value', () => {
    expect(match({ a: [{ exists: false }] }, {})).toBe(true);
    expect(match({ a: [{ exists: false }] }, { a: null })).toBe(false);
    expect(match({ a: [{ exists: false }] }, { a: 'x' })).toBe(false);
  });

  it('only sees leaves: an object or an empty array is no value', () => {
    expect(match({ a: [{ exists: true }] }, { a: { b: 'x' } })).toBe(false);
    expect(match({ a: [{ exists: false }] }, { a: { b: 'x' } })).toBe(true);
    expect(match({ a: [{ exists: true }] }, { a: [] })).toBe(false);
    expect(match({ a: [{ exists: true }] }, { a: ['x'] })).toBe(true);
    expect(match({ a: { b: [{ exists: false }] } }, { a: 'string, not an object' })).toBe(true);
  });

  it('false alone still needs the rest of the pattern to match', () => {
    expect(match({ source: ['s'], gone: [{ exists: false }] }, { source: 's' })).toBe(true);
    expect(match({ source: ['s'], gone: [{ exists: false }] }, { source: 't' })).toBe(false);
  });

  it('combines with other alternatives of the field', () => {
    const pattern = { s: [{ 'anything-but': ['roses'] }, { exists: false }] };
    expect(match(pattern, {})).toBe(true);
    expect(match(pattern, { s: 'tulips' })).toBe(true);
    expect(match(pattern, { s: 'roses' })).toBe(false);
  });

  it('takes true or false only', () => {
    expect(reasonOf({ a: [{ exists: 'true' }] })).toBe('exists match pattern must be either true or false.');
    expect(reasonOf({ a: [{ EXISTS: true }] })).toBe('Unrecognized match type EXISTS');
  });
});

describe('cidr', () => {
  const ip = (cidr: string, value: unknown): boolean => match({ ip: [{ cidr }] }, { ip: value });

  it('matches IPv4 addresses in the block, its bounds included', () => {
    expect(ip('10.0.0.0/24', '10.0.0.0')).toBe(true);
    expect(ip('10.0.0.0/24', '10.0.0.255')).toBe(true);
    expect(ip('10.0.0.0/24', '10.0.1.0')).toBe(false);
    expect(ip('10.0.0.0/24', '10.0.0.256')).toBe(false);
    expect(ip('10.0.0.77/24', '10.0.0.1')).toBe(true); // host bits of the block are ignored
    expect(ip('0.0.0.0/0', '255.255.255.255')).toBe(true);
    expect(ip('192.168.1.1/31', '192.168.1.0')).toBe(true);
  });

  it('matches IPv6 addresses however they are written, never across families', () => {
    expect(ip('2001:db8:1234:1a00::/64', '2001:0db8:1234:1a00:0000:0000:0000:0001')).toBe(true);
    expect(ip('2001:db8:1234:1a00::/64', '2001:db8:1234:1a00::ffff')).toBe(true);
    expect(ip('2001:db8:1234:1a00::/64', '2001:db8:1234:1a01::')).toBe(false);
    expect(ip('::/0', '10.0.0.1')).toBe(false);
    expect(ip('10.0.0.0/8', '::ffff:a00:1')).toBe(true); // IPv4-mapped IPv6 is the IPv4 address
  });

  it('only matches strings', () => {
    expect(ip('10.0.0.0/8', 10)).toBe(false);
    expect(ip('10.0.0.0/8', null)).toBe(false);
  });

  it('validates the block', () => {
    expect(reasonOf({ ip: [{ cidr: '10.0.0.0' }] })).toBe("Malformed CIDR, one '/' required");
    expect(reasonOf({ ip: [{ cidr: '10.0.0.0/x' }] })).toBe('Malformed CIDR, mask bits must be an integer');
    expect(reasonOf({ ip: [{ cidr: '10.0.0.0/-1' }] })).toBe('Malformed CIDR, mask bits must not be negative');
    expect(reasonOf({ ip: [{ cidr: 'host.example/8' }] })).toBe('Nonstandard IP address: host.example');
    expect(reasonOf({ ip: [{ cidr: '10.0.0.300/8' }] })).toBe('Invalid IP address: 10.0.0.300');
    expect(reasonOf({ ip: [{ cidr: '10.0.0.0/32' }] })).toBe('IPv4 mask bits must be < 32');
    expect(reasonOf({ ip: [{ cidr: '::/128' }] })).toBe('IPv6 mask bits must be < 128');
    expect(reasonOf({ ip: [{ cidr: 5 }] })).toBe('prefix match pattern must be a string');
  });

  it('treats a plain pattern string that is an IP literal as that address', () => {
    expect(match({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(match({ ip: ['::1'] }, { ip: '0:0:0:0:0:0:0:1' })).toBe(true);
    expect(match({ ip: ['::1'] }, { ip: '::2' })).toBe(false);
  });
});

describe('$or', () => {
  it('matches when any alternative matches', () => {
    const pattern = { source: ['s'], $or: [{ a: ['1'] }, { b: ['2'] }] };
    expect(match(pattern, { source: 's', a: '1' })).toBe(true);
    expect(match(pattern, { source: 's', b: '2' })).toBe(true);
    expect(match(pattern, { source: 's', a: '2', b: '1' })).toBe(false);
    expect(match(pattern, { a: '1' })).toBe(false);
  });

  it('works inside nested objects, with AND inside alternatives, and nested', () => {
    const pattern = {
      detail: {
        $or: [
          { c: [{ numeric: ['>', 0, '<=', 5] }] },
          { d: ['x'], $or: [{ e: ['1'] }, { f: ['2'] }] },
        ],
      },
    };
    expect(match(pattern, { detail: { c: 3 } })).toBe(true);
    expect(match(pattern, { detail: { d: 'x', f: '2' } })).toBe(true);
    expect(match(pattern, { detail: { d: 'x' } })).toBe(false);
  });

  it('combines several $or as a product', () => {
    const pattern = { $or: [{ a: ['1'] }, { b: ['1'] }], x: { $or: [{ c: ['1'] }, { d: ['1'] }] } };
    expect(match(pattern, { b: '1', x: { d: '1' } })).toBe(true);
    expect(match(pattern, { b: '1' })).toBe(false);
  });

  it('needs an array of at least two objects, without operator names as fields', () => {
    expect(reasonOf({ $or: { a: ['1'] } })).toBe('It must be an Array followed with $or.');
    expect(reasonOf({ $or: [{ a: ['1'] }] })).toBe('There must have at least 2 Objects in $or relationship.');
    expect(reasonOf({ $or: [{ a: ['1'] }, ['b']] })).toBe('Only JSON object is allowed in array of $or relationship.');
    expect(reasonOf({ $or: [{ a: ['1'] }, {}] })).toBe('Empty objects are not allowed');
    expect(reasonOf({ $or: [{ a: ['1'] }, { x: { numeric: ['1'] } }] })).toBe('numeric is Ruler reserved fieldName which cannot be used inside $or.');
  });
});

describe('dotted keys', () => {
  it('in events are the same field as the nested keys', () => {
    expect(match({ detail: { state: { status: ['running'] } } }, { detail: { 'state.status': 'running' } })).toBe(true);
    expect(match({ detail: { state: { status: ['running'] } } }, { 'detail.state': { status: 'running' } })).toBe(true);
  });

  it('in patterns are the same field as the nested keys', () => {
    expect(match({ 'detail.state.status': ['running'] }, { detail: { state: { status: 'running' } } })).toBe(true);
    expect(match({ detail: { 'state.status': { status: ['running'] } } }, { detail: { state: { status: 'running' } } })).toBe(false);
  });

  it('make a repeated path: the last definition wins', () => {
    expect(match({ 'a.b': ['1'], a: { b: ['2'] } }, { a: { b: '2' } })).toBe(true);
    expect(match({ 'a.b': ['1'], a: { b: ['2'] } }, { a: { b: '1' } })).toBe(false);
  });

  it('give every spelling of a path its values', () => {
    const event = { a: { b: 'nested' }, 'a.b': 'dotted' };
    expect(match({ a: { b: ['nested'] } }, event)).toBe(true);
    expect(match({ a: { b: ['dotted'] } }, event)).toBe(true);
  });

  it('do not trip over keys that Object.prototype has', () => {
    expect(match({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(match({ toString: [{ exists: false }] }, { a: 1 })).toBe(true);
    expect(match(JSON.parse('{"__proto__": ["x"]}'), {})).toBe(false);
    expect(match(JSON.parse('{"__proto__": ["x"]}'), JSON.parse('{"__proto__": "x"}'))).toBe(true);
    expect(match('{"__proto__": ["x"]}', '{"__proto__": "x"}')).toBe(true);
  });
});

describe('raw JSON text', () => {
  it('pattern: a repeated key keeps its last value (as AWS does)', () => {
    const pattern = '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}';
    expect(match(pattern, { detail: { location: 'eu-central-1' } })).toBe(true);
    expect(match(pattern, { detail: { location: 'us-east' } })).toBe(false);
  });

  it('pattern: every occurrence of a repeated key is still validated', () => {
    expect(reasonOf('{"a": [], "a": ["x"]}')).toBe('Empty arrays are not allowed');
  });

  it('event: every occurrence of a repeated key is a value of the field', () => {
    const event = '{"source": "a", "source": "b"}';
    expect(match({ source: ['a'] }, event)).toBe(true);
    expect(match({ source: ['b'] }, event)).toBe(true);
    expect(match({ source: [{ 'anything-but': 'a' }] }, event)).toBe(true);
    expect(match({ detail: { x: ['1'] } }, '{"detail": {"x": "0"}, "detail": {"x": "1"}}')).toBe(true);
  });

  it('event: number lexemes are kept (and compared by value when comparable)', () => {
    expect(match({ n: [300] }, '{"n": 3.00e2}')).toBe(true);
    expect(match('{"n": [9007199254740993]}', '{"n": 9007199254740993}')).toBe(true);
    expect(match('{"n": [9007199254740993]}', '{"n": 9007199254740992}')).toBe(false);
    // As values the two are the same double:
    expect(match({ n: [9007199254740992] }, JSON.parse('{"n": 9007199254740993}'))).toBe(true);
  });

  it('decodes escapes; a star or backslash in a plain value is literal', () => {
    const pattern = '{"detail": {"star": ["*"], "slash": ["\\\\"], "u": ["\\u00e9\\ud83d\\ude80"]}}';
    expect(match(pattern, '{"detail": {"star": "*", "slash": "\\\\", "u": "é🚀"}}')).toBe(true);
    expect(match(pattern, '{"detail": {"star": "x", "slash": "\\\\", "u": "é🚀"}}')).toBe(false);
  });

  it('event text that is not JSON is an error, not a non-match', () => {
    expect(() => match({ a: ['x'] }, '{"a": "x"')).toThrow(SyntaxError);
    expect(() => match({ a: ['x'] }, '{"a": 01}')).toThrow(SyntaxError);
  });

  it('gives the same answers for text and values when nothing is lost in parsing', () => {
    const pattern = { detail: { state: ['on'], n: [{ numeric: ['>', 1] }], tags: { k: ['v'] } } };
    const event = { detail: { state: 'on', n: 2, tags: [{ k: 'w' }, { k: 'v' }] } };
    expect(match(JSON.stringify(pattern), JSON.stringify(event))).toBe(true);
    expect(match(pattern, event)).toBe(true);
  });
});
