/**
 * A small, strict JSON (RFC 8259) text parser that keeps what `JSON.parse` throws away and the
 * EventBridge matcher needs:
 *
 * - number lexemes, verbatim (`300.0`, `3e2` and `12345678901234567890` stay as written);
 * - every member of an object, in document order, duplicates included.
 *
 * Patterns are compiled from the {@link JsonNode} tree (the compiler decides what a duplicate key
 * means); events are turned into plain values by {@link eventValueFromNode}, where a duplicated key
 * keeps all of its values ({@link DuplicateValues}) and a number keeps its lexeme ({@link JsonNumber}).
 */

export type JsonNode =
  | { readonly kind: 'object'; readonly members: readonly JsonMember[] }
  | { readonly kind: 'array'; readonly items: readonly JsonNode[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly lexeme: string }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

export type JsonMember = readonly [key: string, value: JsonNode];

/** Deeper documents are refused rather than risking the call stack. */
export const MAX_JSON_DEPTH = 512;

/** The text is not JSON. `offset` is the UTF-16 index where parsing stopped. */
export class JsonTextError extends SyntaxError {
  override readonly name = 'JsonTextError';
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line} column ${column}`);
  }
}

/** Parses one JSON document (surrounding whitespace allowed, nothing else). */
export function parseJsonText(text: string): JsonNode {
  const parser = new Parser(text);
  parser.skipWhitespace();
  const node = parser.value(0);
  parser.skipWhitespace();
  if (parser.pos < text.length) parser.fail(`Unexpected ${describeChar(text, parser.pos)} after the JSON value`);
  return node;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(reason: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        line += 1;
        lineStart = i + 1;
      }
    }
    throw new JsonTextError(reason, at, line, at - lineStart + 1);
  }

  skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos += 1;
    }
    this.pos = pos;
  }

  value(depth: number): JsonNode {
    if (depth > MAX_JSON_DEPTH) this.fail(`Nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const text = this.text;
    if (this.pos >= text.length) this.fail('Unexpected end of input, expecting a JSON value');
    const c = text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth);
      case 0x5b /* [ */:
        return this.array(depth);
      case 0x22 /* " */:
        return { kind: 'string', value: this.string() };
      case 0x74 /* t */:
        this.literal('true');
        return { kind: 'boolean', value: true };
      case 0x66 /* f */:
        this.literal('false');
        return { kind: 'boolean', value: false };
      case 0x6e /* n */:
        this.literal('null');
        return { kind: 'null' };
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return { kind: 'number', lexeme: this.number() };
        return this.fail(`Unrecognized token ${describeToken(text, this.pos)}, expecting a JSON value`);
    }
  }

  private literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) {
      const after = this.pos + word.length;
      if (after >= this.text.length || !isIdentifierChar(this.text.charCodeAt(after))) {
        this.pos = after;
        return;
      }
    }
    this.fail(`Unrecognized token ${describeToken(this.text, this.pos)}, expecting a JSON value`);
  }

  private object(depth: number): JsonNode {
    const members: JsonMember[] = [];
    this.pos += 1;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos += 1;
      return { kind: 'object', members };
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail(`Expected a double-quoted field name, found ${describeChar(this.text, this.pos)}`);
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.fail(`Expected ':' after a field name, found ${describeChar(this.text, this.pos)}`);
      this.pos += 1;
      this.skipWhitespace();
      members.push([key, this.value(depth + 1)]);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c /* , */) {
        this.pos += 1;
        this.skipWhitespace();
        continue;
      }
      if (c === 0x7d) {
        this.pos += 1;
        return { kind: 'object', members };
      }
      this.fail(`Expected ',' or '}' in an object, found ${describeChar(this.text, this.pos)}`);
    }
  }

  private array(depth: number): JsonNode {
    const items: JsonNode[] = [];
    this.pos += 1;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos += 1;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos += 1;
        this.skipWhitespace();
        continue;
      }
      if (c === 0x5d) {
        this.pos += 1;
        return { kind: 'array', items };
      }
      this.fail(`Expected ',' or ']' in an array, found ${describeChar(this.text, this.pos)}`);
    }
  }

  private string(): string {
    const text = this.text;
    const start = this.pos;
    let pos = start + 1;
    let out = '';
    let chunkStart = pos;
    for (;;) {
      if (pos >= text.length) this.fail('Unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(chunkStart, pos);
        this.pos = pos + 1;
        return out;
      }
      if (c < 0x20) this.fail('Unescaped control character in a string', pos);
      if (c !== 0x5c /* \ */) {
        pos += 1;
        continue;
      }
      out += text.slice(chunkStart, pos);
      const e = text.charCodeAt(pos + 1);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75 /* u */: {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('Invalid \\u escape in a string', pos);
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          this.fail(`Invalid escape ${describeChar(text, pos + 1)} in a string`, pos);
      }
      pos += 2;
      chunkStart = pos;
    }
  }

  private number(): string {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos += 1;
    const intStart = pos;
    while (isDigit(text.charCodeAt(pos))) pos += 1;
    if (pos === intStart) this.fail('Invalid number: no digits after the minus sign', start);
    if (pos - intStart > 1 && text.charCodeAt(intStart) === 0x30) this.fail('Invalid number: leading zeroes are not allowed', start);
    if (text.charCodeAt(pos) === 0x2e /* . */) {
      pos += 1;
      const fracStart = pos;
      while (isDigit(text.charCodeAt(pos))) pos += 1;
      if (pos === fracStart) this.fail('Invalid number: no digits after the decimal point', start);
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos += 1;
      const s = text.charCodeAt(pos);
      if (s === 0x2b || s === 0x2d) pos += 1;
      const expStart = pos;
      while (isDigit(text.charCodeAt(pos))) pos += 1;
      if (pos === expStart) this.fail('Invalid number: no digits in the exponent', start);
    }
    if (pos < text.length && isIdentifierChar(text.charCodeAt(pos))) {
      this.fail(`Unrecognized token ${describeToken(text, start)}, expecting a JSON value`, start);
    }
    this.pos = pos;
    return text.slice(start, pos);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentifierChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e;
}

function describeChar(text: string, pos: number): string {
  return pos >= text.length ? 'end of input' : JSON.stringify(text[pos]);
}

function describeToken(text: string, pos: number): string {
  const match = /^[^\s,:{}[\]"]{1,40}/.exec(text.slice(pos, pos + 40));
  return `'${match ? match[0] : text[pos]}'`;
}

// ---------------------------------------------------------------------------------------------
// Event values built from JSON text

/** A JSON number of an event given as text: the lexeme exactly as written. */
export class JsonNumber {
  /** Cache for the matcher: comparable form, `null` when not comparable, `undefined` until computed. */
  comparable: number | null | undefined = undefined;
  constructor(readonly lexeme: string) {}
  toJSON(): number {
    return Number(this.lexeme);
  }
}

/** All the values of a key that an event's JSON text repeats, in document order. */
export class DuplicateValues {
  constructor(readonly values: readonly unknown[]) {}
  toJSON(): unknown {
    return this.values[this.values.length - 1];
  }
}

/**
 * Turns a parsed event into plain values: objects (without prototype), arrays, strings, booleans,
 * null, {@link JsonNumber} for numbers and {@link DuplicateValues} where a key is repeated.
 */
export function eventValueFromNode(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      let repeated: Map<string, unknown[]> | undefined;
      for (const [key, child] of node.members) {
        const value = eventValueFromNode(child);
        if (!Object.prototype.hasOwnProperty.call(out, key)) {
          out[key] = value;
          continue;
        }
        repeated ??= new Map();
        let values = repeated.get(key);
        if (!values) {
          values = [out[key]];
          repeated.set(key, values);
        }
        values.push(value);
      }
      if (repeated) for (const [key, values] of repeated) out[key] = new DuplicateValues(values);
      return out;
    }
    case 'array':
      return node.items.map(eventValueFromNode);
    case 'string':
    case 'boolean':
      return node.value;
    case 'number':
      return new JsonNumber(node.lexeme);
    case 'null':
      return null;
  }
}
