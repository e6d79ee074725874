/**
 * CloudWatch metric math, locally: parse an expression once, evaluate it over time series that are
 * aligned on the same period timestamps.
 *
 * A series is a Float64Array with one slot per timestamp; NaN is "no datapoint". Semantics follow
 * CloudWatch's:
 * - arithmetic (+ - * / ^, unary minus) works per timestamp; a missing input, a division by zero or
 *   any non-finite result gives no datapoint at that timestamp;
 * - comparisons (== != < <= > >=) and logical operators (AND / &&, OR / ||) give 1 or 0;
 * - `FILL(m, value)` replaces missing datapoints with a number (or another series);
 * - `IF(condition, a[, b])`: a where the condition is non-zero, b (or no datapoint) where it is zero,
 *   no datapoint where the condition is missing;
 * - `ABS(m)`; `MIN`, `MAX`, `SUM`, `AVG` of one series are one scalar over the whole range, of an
 *   array `[m1, m2]` (or `METRICS()`) a series of the per-timestamp aggregate of the present values.
 * Metric ids are CloudWatch's: a lowercase letter, then letters, digits and underscores.
 */

export type MathNode =
  | { readonly kind: 'number'; readonly value: number; readonly at: number }
  | { readonly kind: 'id'; readonly id: string; readonly at: number }
  | { readonly kind: 'string'; readonly value: string; readonly at: number }
  | { readonly kind: 'unary'; readonly op: '-'; readonly operand: MathNode; readonly at: number }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: MathNode; readonly right: MathNode; readonly at: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly MathNode[]; readonly at: number }
  | { readonly kind: 'array'; readonly items: readonly MathNode[]; readonly at: number };

type BinaryOp = '+' | '-' | '*' | '/' | '^' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

/** A parse or evaluation problem; names the expression and the (0-based) position. */
export class MetricMathError extends Error {
  override readonly name = 'MetricMathError';
  constructor(
    readonly expression: string,
    readonly position: number,
    readonly problem: string,
  ) {
    super(`metric math expression '${expression}' at position ${position}: ${problem}`);
  }
}

const FUNCTIONS: Readonly<Record<string, { min: number; max: number }>> = {
  FILL: { min: 2, max: 2 },
  IF: { min: 2, max: 3 },
  ABS: { min: 1, max: 1 },
  MIN: { min: 1, max: 1 },
  MAX: { min: 1, max: 1 },
  SUM: { min: 1, max: 1 },
  AVG: { min: 1, max: 1 },
  METRICS: { min: 0, max: 1 },
};

export interface ParsedExpression {
  readonly text: string;
  readonly root: MathNode;
  /** The metric / expression ids it reads, in order of first use. */
  readonly ids: readonly string[];
  /** Whether it calls METRICS() (reads every metric of the query). */
  readonly usesMetrics: boolean;
}

interface Token {
  readonly type: 'number' | 'id' | 'name' | 'string' | 'op' | 'end';
  readonly text: string;
  readonly at: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    if (number) {
      tokens.push({ type: 'number', text: number[0], at: i });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      const w = word[0];
      const type = /^[a-z]/.test(w) ? 'id' : w === 'AND' || w === 'OR' ? 'op' : 'name';
      tokens.push({ type, text: w, at: i });
      i += w.length;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new MetricMathError(text, i, 'unterminated string');
      tokens.push({ type: 'string', text: text.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const op = /^(==|!=|<=|>=|&&|\|\||[-+*/^()<>,[\]])/.exec(rest);
    if (op) {
      const normalized = op[0] === '&&' ? 'AND' : op[0] === '||' ? 'OR' : op[0];
      tokens.push({ type: 'op', text: normalized, at: i });
      i += op[0].length;
      continue;
    }
    throw new MetricMathError(text, i, `unexpected character '${c}'`);
  }
  tokens.push({ type: 'end', text: '', at: text.length });
  return tokens;
}

const PRECEDENCE: readonly (readonly BinaryOp[])[] = [['OR'], ['AND'], ['==', '!=', '<', '<=', '>', '>='], ['+', '-'], ['*', '/']];

/** Parses an expression, or throws a MetricMathError naming it and the position of the problem. */
export function parseExpression(text: string): ParsedExpression {
  const tokens = tokenize(text);
  let index = 0;
  const peek = (): Token => tokens[index]!;
  const describe = (token: Token): string => (token.type === 'end' ? 'end of expression' : `'${token.text}'`);
  const expectOp = (op: string): Token => {
    const token = peek();
    if (token.type !== 'op' || token.text !== op) throw new MetricMathError(text, token.at, `expected '${op}', found ${describe(token)}`);
    index++;
    return token;
  };

  const binaryLevel = (level: number): MathNode => {
    if (level === PRECEDENCE.length) return unary();
    let left = binaryLevel(level + 1);
    for (;;) {
      const token = peek();
      if (token.type !== 'op' || !(PRECEDENCE[level] as readonly string[]).includes(token.text)) return left;
      index++;
      const right = binaryLevel(level + 1);
      left = { kind: 'binary', op: token.text as BinaryOp, left, right, at: token.at };
    }
  };
  const unary = (): MathNode => {
    const token = peek();
    if (token.type === 'op' && (token.text === '-' || token.text === '+')) {
      index++;
      const operand = unary();
      return token.text === '-' ? { kind: 'unary', op: '-', operand, at: token.at } : operand;
    }
    return power();
  };
  const power = (): MathNode => {
    const base = primary();
    const token = peek();
    if (token.type === 'op' && token.text === '^') {
      index++;
      return { kind: 'binary', op: '^', left: base, right: unary(), at: token.at };
    }
    return base;
  };
  const primary = (): MathNode => {
    const token = peek();
    index++;
    switch (token.type) {
      case 'number':
        return { kind: 'number', value: Number(token.text), at: token.at };
      case 'id':
        return { kind: 'id', id: token.text, at: token.at };
      case 'string':
        return { kind: 'string', value: token.text, at: token.at };
      case 'name': {
        const spec = FUNCTIONS[token.text];
        if (!spec) {
          throw new MetricMathError(text, token.at, `unknown or unsupported function '${token.text}' (supported: ${Object.keys(FUNCTIONS).join(', ')})`);
        }
        if (peek().type !== 'op' || peek().text !== '(') throw new MetricMathError(text, peek().at, `expected '(' after ${token.text}, found ${describe(peek())}`);
        index++;
        const args: MathNode[] = [];
        if (!(peek().type === 'op' && peek().text === ')')) {
          args.push(binaryLevel(0));
          while (peek().type === 'op' && peek().text === ',') {
            index++;
            args.push(binaryLevel(0));
          }
        }
        expectOp(')');
        if (args.length < spec.min || args.length > spec.max) {
          const wanted = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
          throw new MetricMathError(text, token.at, `${token.text} takes ${wanted} argument${spec.max === 1 ? '' : 's'}, got ${args.length}`);
        }
        if (token.text === 'METRICS' && args.length === 1 && args[0]!.kind !== 'string') {
          throw new MetricMathError(text, args[0]!.at, 'METRICS takes a string filter');
        }
        return { kind: 'call', name: token.text, args, at: token.at };
      }
      case 'op':
        if (token.text === '(') {
          const inner = binaryLevel(0);
          expectOp(')');
          return inner;
        }
        if (token.text === '[') {
          const items: MathNode[] = [binaryLevel(0)];
          while (peek().type === 'op' && peek().text === ',') {
            index++;
            items.push(binaryLevel(0));
          }
          expectOp(']');
          return { kind: 'array', items, at: token.at };
        }
        throw new MetricMathError(text, token.at, `expected a number, a metric id, a function or '(', found ${describe(token)}`);
      case 'end':
        throw new MetricMathError(text, token.at, 'expected a number, a metric id, a function or \'(\', found end of expression');
    }
  };

  if (peek().type === 'end') throw new MetricMathError(text, 0, 'the expression is empty');
  const root = binaryLevel(0);
  if (peek().type !== 'end') throw new MetricMathError(text, peek().at, `unexpected ${describe(peek())} after a complete expression`);
  const ids: string[] = [];
  let usesMetrics = false;
  const visit = (node: MathNode): void => {
    if (node.kind === 'id' && !ids.includes(node.id)) ids.push(node.id);
    if (node.kind === 'unary') visit(node.operand);
    if (node.kind === 'binary') {
      visit(node.left);
      visit(node.right);
    }
    if (node.kind === 'call') {
      if (node.name === 'METRICS') usesMetrics = true;
      node.args.forEach(visit);
    }
    if (node.kind === 'array') node.items.forEach(visit);
  };
  visit(root);
  return { text, root, ids, usesMetrics };
}

type Value = number | Float64Array | readonly Float64Array[];

export interface EvaluationInput {
  /** Series by id (metrics and already evaluated expressions), all of the same length. */
  readonly series: Readonly<Record<string, Float64Array>>;
  /** Number of timestamps. */
  readonly length: number;
  /** The ids METRICS() returns (the query's metrics, not its expressions), in query order. */
  readonly metricIds?: readonly string[];
}

/**
 * Evaluates a parsed expression to a series of `input.length` values (NaN = no datapoint). A scalar
 * result is the same value at every timestamp.
 */
export function evaluateExpression(expression: ParsedExpression, input: EvaluationInput): Float64Array {
  const { text } = expression;
  const n = input.length;
  const fail = (node: MathNode, problem: string): never => {
    throw new MetricMathError(text, node.at, problem);
  };
  const asSeries = (value: number | Float64Array): Float64Array => {
    if (typeof value !== 'number') return value;
    return new Float64Array(n).fill(Number.isFinite(value) ? value : Number.NaN);
  };
  const single = (node: MathNode): number | Float64Array => {
    const value = evaluate(node);
    if (typeof value !== 'number' && !(value instanceof Float64Array)) fail(node, 'an array of series is only allowed as the argument of MIN, MAX, SUM or AVG');
    return value as number | Float64Array;
  };
  const pointwise = (values: readonly (number | Float64Array)[], f: (...xs: number[]) => number): number | Float64Array => {
    if (values.every((v) => typeof v === 'number')) return clean(f(...(values as number[])));
    const out = new Float64Array(n);
    const xs = new Array<number>(values.length);
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < values.length; k++) {
        const v = values[k]!;
        xs[k] = typeof v === 'number' ? v : v[t]!;
      }
      out[t] = clean(f(...xs));
    }
    return out;
  };
  const evaluate = (node: MathNode): Value => {
    switch (node.kind) {
      case 'number':
        return node.value;
      case 'string':
        return fail(node, 'a string is only allowed as the argument of METRICS');
      case 'id': {
        const series = input.series[node.id];
        if (!series) return fail(node, `unknown metric id '${node.id}' (known: ${Object.keys(input.series).join(', ') || 'none'})`);
        if (series.length !== n) return fail(node, `series '${node.id}' has ${series.length} values, expected ${n}`);
        return series;
      }
      case 'unary':
        return pointwise([single(node.operand)], (x) => -x);
      case 'binary':
        return pointwise([single(node.left), single(node.right)], BINARY[node.op]);
      case 'array':
        return node.items.map((item) => asSeries(single(item)));
      case 'call':
        return call(node);
    }
  };
  const call = (node: Extract<MathNode, { kind: 'call' }>): Value => {
    const args = node.args;
    switch (node.name) {
      case 'METRICS': {
        const filter = args[0]?.kind === 'string' ? args[0].value : '';
        const ids = (input.metricIds ?? []).filter((id) => id.includes(filter));
        if (ids.length === 0) return fail(node, `METRICS(${filter ? `"${filter}"` : ''}) matches no metric of the query`);
        return ids.map((id) => input.series[id] ?? fail(node, `no series for metric id '${id}'`));
      }
      case 'FILL': {
        const filler = single(args[1]!);
        return pointwise([single(args[0]!), filler], (x, fill) => (Number.isNaN(x) ? fill : x));
      }
      case 'IF': {
        const values = args.map(single);
        return pointwise(values, (cond, a, b) => (Number.isNaN(cond) ? Number.NaN : cond !== 0 ? a : b === undefined ? Number.NaN : b));
      }
      case 'ABS':
        return pointwise([single(args[0]!)], Math.abs);
      default: {
        const aggregate = AGGREGATES[node.name]!;
        const value = evaluate(args[0]!);
        if (typeof value === 'number') return value;
        if (value instanceof Float64Array) return clean(aggregate(Array.from(value).filter((x) => !Number.isNaN(x))));
        const out = new Float64Array(n);
        for (let t = 0; t < n; t++) {
          out[t] = clean(aggregate(value.map((s) => s[t]!).filter((x) => !Number.isNaN(x))));
        }
        return out;
      }
    }
  };
  return asSeries(single(expression.root));
}

function clean(x: number): number {
  return Number.isFinite(x) ? x : Number.NaN;
}

const truth = (x: boolean): number => (x ? 1 : 0);
const BINARY: Readonly<Record<BinaryOp, (a: number, b: number) => number>> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => (b === 0 ? Number.NaN : a / b),
  '^': (a, b) => a ** b,
  '==': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a === b)),
  '!=': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a !== b)),
  '<': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a < b)),
  '<=': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a <= b)),
  '>': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a > b)),
  '>=': (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a >= b)),
  AND: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a !== 0 && b !== 0)),
  OR: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : truth(a !== 0 || b !== 0)),
};

const AGGREGATES: Readonly<Record<string, (xs: number[]) => number>> = {
  MIN: (xs) => xs.reduce((a, b) => (b < a ? b : a), xs.length === 0 ? Number.NaN : Number.POSITIVE_INFINITY),
  MAX: (xs) => xs.reduce((a, b) => (b > a ? b : a), xs.length === 0 ? Number.NaN : Number.NEGATIVE_INFINITY),
  SUM: (xs) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0)),
  AVG: (xs) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length),
};
