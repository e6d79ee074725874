/**
 * Value-level building blocks of the EventBridge matcher: numbers as EventBridge compares them,
 * IP addresses and CIDR blocks, wildcard strings and case-insensitive strings.
 *
 * These model aws/event-ruler, the engine behind EventBridge: numeric comparison is exact decimal
 * arithmetic on values between -5e9 and 5e9 with at most six digits after the decimal point, IP
 * literals are read the way java.net.InetAddress reads them, and wildcard strings are byte
 * sequences with `*` for any run of characters and `\*` / `\\` as escapes.
 */

import { JsonNumber } from './json-text';

// ---------------------------------------------------------------------------------------------
// Numbers

/** Largest magnitude EventBridge compares numerically. */
export const NUMERIC_LIMIT = 5e9;
/** Digits after the decimal point EventBridge compares. */
export const NUMERIC_DECIMALS = 6;
const MICROS_LIMIT = NUMERIC_LIMIT * 1e6; // 5e15 < 2^53: every comparable value is an exact integer

/** Why a number has no comparable form. */
export type NotComparable = 'decimals' | 'range';

const NUMBER_LEXEME = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The comparable form of a number lexeme: its value in millionths, an exact integer. Numbers with
 * more than six significant decimals, or outside [-5e9, 5e9], have none.
 */
export function comparableFromLexeme(lexeme: string): number | NotComparable {
  const m = NUMBER_LEXEME.exec(lexeme);
  if (!m) return 'range';
  let digits = m[2] + (m[3] ?? '');
  let exponent = (m[4] === undefined ? 0 : Number(m[4])) - (m[3]?.length ?? 0);
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 0x30) first += 1;
  if (first === digits.length) return 0;
  let last = digits.length;
  while (digits.charCodeAt(last - 1) === 0x30) last -= 1;
  exponent += digits.length - last;
  digits = digits.slice(first, last);
  if (exponent < -NUMERIC_DECIMALS) return 'decimals';
  const micros = exponent + NUMERIC_DECIMALS; // zeros to append to express the value in millionths
  if (digits.length + micros > 16) return 'range';
  const value = Number(digits + '0'.repeat(micros));
  if (value > MICROS_LIMIT) return 'range';
  return m[1] === '-' ? -value : value;
}

/** The lexeme of an event number: verbatim for JSON text, the shortest round-trip form for a JS number. */
export function numberLexeme(value: number | JsonNumber): string {
  return typeof value === 'number' ? String(value) : value.lexeme;
}

/** Comparable form of an event number, or null when EventBridge would not compare it numerically. */
export function comparableOf(value: number | JsonNumber): number | null {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -NUMERIC_LIMIT && value <= NUMERIC_LIMIT) return value * 1e6;
    const c = comparableFromLexeme(String(value));
    return typeof c === 'number' ? c : null;
  }
  if (value.comparable === undefined) {
    const c = comparableFromLexeme(value.lexeme);
    value.comparable = typeof c === 'number' ? c : null;
  }
  return value.comparable;
}

// ---------------------------------------------------------------------------------------------
// IP addresses

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Whether a string has the shape EventBridge treats as an IP address literal. */
export function looksLikeIp(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

/**
 * The address bytes of an IPv4 or IPv6 literal (4 or 16 bytes), or undefined. An IPv4-mapped IPv6
 * address (::ffff:a00:1) is the IPv4 address, as java.net.InetAddress has it.
 */
export function ipBytes(text: string): number[] | undefined {
  if (IPV4_SHAPE.test(text)) {
    const bytes: number[] = [];
    for (const part of text.split('.')) {
      const byte = Number(part);
      if (byte > 255) return undefined;
      bytes.push(byte);
    }
    return bytes;
  }
  if (!IPV6_SHAPE.test(text)) return undefined;
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::') || text.includes(':::')) return undefined;
  const groupsOf = (part: string): string[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => HEX_GROUP.test(g)) ? groups : undefined;
  };
  let groups: string[];
  if (gap >= 0) {
    const left = groupsOf(text.slice(0, gap));
    const right = groupsOf(text.slice(gap + 2));
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  } else {
    const all = groupsOf(text);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  return bytes;
}

/** Fixed-width upper-case hex of an address (8 digits for IPv4, 32 for IPv6): orders like the number. */
export function hexOfBytes(bytes: readonly number[]): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out.toUpperCase();
}

/** Hex form of an IP literal, or undefined when the string is not one. */
export function ipHex(text: string): string | undefined {
  const bytes = ipBytes(text);
  return bytes && hexOfBytes(bytes);
}

export interface IpRange {
  readonly low: string;
  readonly high: string;
}

/** Parses a CIDR block; throws an Error whose message is EventBridge's reason. */
export function parseCidr(cidr: string): IpRange {
  // java.lang.String.split drops trailing empty strings: "10.0.0.0/24/" has two parts.
  const parts = cidr.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length !== 2) throw new Error("Malformed CIDR, one '/' required");
  if (!/^[+-]?[0-9]+$/.test(parts[1]) || Math.abs(Number(parts[1])) > 2147483647) {
    throw new Error('Malformed CIDR, mask bits must be an integer');
  }
  const maskBits = Number(parts[1]);
  if (maskBits < 0) throw new Error('Malformed CIDR, mask bits must not be negative');
  const address = parts[0];
  if (!looksLikeIp(address)) throw new Error(`Nonstandard IP address: ${address}`);
  const bytes = ipBytes(address);
  if (!bytes) throw new Error(`Invalid IP address: ${address}`);
  if (bytes.length === 4 && maskBits > 31) throw new Error('IPv4 mask bits must be < 32');
  if (bytes.length === 16 && maskBits > 127) throw new Error('IPv6 mask bits must be < 128');
  const low: number[] = [];
  const high: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const fixedBits = Math.max(0, Math.min(8, maskBits - i * 8));
    const hostMask = 0xff >> fixedBits;
    low.push(bytes[i] & ~hostMask & 0xff);
    high.push(bytes[i] | hostMask);
  }
  return { low: hexOfBytes(low), high: hexOfBytes(high) };
}

// ---------------------------------------------------------------------------------------------
// Wildcards

/** A wildcard string split at its unescaped stars: literal segments, one more than there are stars. */
export type WildcardSegments = readonly string[];

/**
 * Parses wildcard syntax; throws an Error whose message is EventBridge's reason. Positions in the
 * messages are UTF-8 byte offsets in the quoted value, as EventBridge reports them.
 */
export function parseWildcard(text: string): WildcardSegments {
  const segments: string[] = [];
  let current = '';
  let bytePos = 1; // the opening quote
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2a /* * */) {
      if (text.charCodeAt(i + 1) === 0x2a) throw new Error(`Consecutive wildcard characters at pos ${bytePos}`);
      segments.push(current);
      current = '';
      bytePos += 1;
    } else if (c === 0x5c /* \ */) {
      const next = text.charCodeAt(i + 1);
      if (next !== 0x2a && next !== 0x5c) throw new Error(`Invalid escape character at pos ${bytePos}`);
      current += text[i + 1];
      i += 1;
      bytePos += 2;
    } else {
      current += text[i];
      bytePos += utf8Length(text, i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          current += text[i + 1];
          i += 1;
        }
      }
    }
  }
  segments.push(current);
  return segments;
}

function utf8Length(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const low = text.charCodeAt(i + 1);
    return low >= 0xdc00 && low <= 0xdfff ? 4 : 1;
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 1; // a lone surrogate is encoded as '?'
  return 3;
}

/** Whether a value matches parsed wildcard segments (a star matches any run, the empty one too). */
export function wildcardMatches(segments: WildcardSegments, value: string): boolean {
  const last = segments.length - 1;
  if (last === 0) return value === segments[0];
  const head = segments[0];
  const tail = segments[last];
  if (value.length < head.length + tail.length || !value.startsWith(head) || !value.endsWith(tail)) return false;
  let pos = head.length;
  const end = value.length - tail.length;
  for (let i = 1; i < last; i++) {
    const segment = segments[i];
    if (segment === '') continue;
    const found = value.indexOf(segment, pos);
    if (found < 0 || found + segment.length > end) return false;
    pos = found + segment.length;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Case-insensitive strings

/**
 * A regular-expression source matching the text with each character in either its lower- or its
 * upper-case form (per code point, as event-ruler expands equals-ignore-case).
 */
export function ignoreCaseSource(text: string): string {
  let out = '';
  for (const ch of text) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    if (lower === upper) out += escapeRegExp(lower);
    else if (lower.length === 1 && upper.length === 1 && lower !== ch && upper !== ch) out += `(?:${escapeRegExp(ch)}|${escapeRegExp(lower)}|${escapeRegExp(upper)})`;
    else if (lower.length === 1 && upper.length === 1) out += `[${escapeClass(lower)}${escapeClass(upper)}]`;
    else out += `(?:${escapeRegExp(ch)}|${escapeRegExp(lower)}|${escapeRegExp(upper)})`;
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function escapeClass(text: string): string {
  return text.replace(/[\\\]^-]/g, '\\$&');
}
