import { evaluateExpression, MetricMathError, parseExpression } from '../../local/metric-math';

/** Evaluates over named series given as arrays (null = no datapoint); returns arrays with null. */
function run(expression: string, inputs: Record<string, (number | null)[]>, metricIds?: string[]): (number | null)[] {
  const length = Object.values(inputs)[0]?.length ?? 1;
  const series = Object.fromEntries(Object.entries(inputs).map(([id, values]) => [id, Float64Array.from(values, (v) => (v === null ? Number.NaN : v))]));
  const result = evaluateExpression(parseExpression(expression), { series, length, metricIds: metricIds ?? Object.keys(inputs) });
  return Array.from(result, (v) => (Number.isNaN(v) ? null : v));
}

describe('metric math: what the stacks use', () => {
  it('computes the error rate (m_fp + m_fn) / m_n per period', () => {
    expect(run('(m_fp + m_fn) / m_n', { m_fp: [1, 0, 2, 3], m_fn: [1, 1, 0, null], m_n: [10, 4, 0, 6] })).toEqual([0.2, 0.25, null, null]);
  });

  it('computes the Brier score m_brier / m_n, with no datapoint where there were no outcomes', () => {
    expect(run('m_brier / m_n', { m_brier: [0.9, null, 0], m_n: [6, null, 0] })).toEqual([0.15, null, null]);
  });
});

describe('metric math: operators and precedence', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['12 / 3 / 2', 2],
    ['-2 * 3', -6],
    ['- (1 + 1)', -2],
    ['2 ^ 3 ^ 2', 512],
    ['-2 ^ 2', -4],
    ['1.5e2 + .5', 150.5],
    ['3 > 2 AND 2 >= 2', 1],
    ['1 == 2 || 2 != 2', 0],
    ['1 < 2 && 3 <= 2', 0],
  ])('%s = %p', (expression, expected) => {
    expect(run(expression, { m1: [0] })).toEqual([expected]);
  });

  it('broadcasts a scalar against a series', () => {
    expect(run('m1 * 100', { m1: [0.1, null, 0.5] })).toEqual([10, null, 50]);
  });
});

describe('metric math: functions', () => {
  it('FILL replaces missing datapoints with a number', () => {
    expect(run('FILL(m1, 0)', { m1: [null, 3, null] })).toEqual([0, 3, 0]);
  });

  it('FILL makes a ratio with missing numerator defined', () => {
    expect(run('FILL(m_fp, 0) / m_n', { m_fp: [null, 2], m_n: [4, 4] })).toEqual([0, 0.5]);
  });

  it('IF picks per timestamp; without a false branch it gives no datapoint', () => {
    expect(run('IF(m_n > 5, m_e / m_n, 0)', { m_n: [10, 2, null], m_e: [5, 1, 1] })).toEqual([0.5, 0, null]);
    expect(run('IF(m_n > 5, m_e)', { m_n: [10, 2], m_e: [5, 1] })).toEqual([5, null]);
  });

  it('ABS, and MIN / MAX / SUM / AVG of an array of series per timestamp (ignoring missing members)', () => {
    expect(run('ABS(m1 - m2)', { m1: [1, 5], m2: [3, 2] })).toEqual([2, 3]);
    expect(run('MIN([m1, m2])', { m1: [1, 5, null], m2: [3, 2, 7] })).toEqual([1, 2, 7]);
    expect(run('MAX([m1, m2])', { m1: [1, 5, null], m2: [3, 2, null] })).toEqual([3, 5, null]);
    expect(run('SUM(METRICS())', { m1: [1, 5], m2: [3, null] })).toEqual([4, 5]);
    expect(run('AVG([m1, m2, 4])', { m1: [1, 5], m2: [1, null] })).toEqual([2, 4.5]);
  });

  it('MIN / MAX / SUM / AVG of one series are one scalar over the range', () => {
    expect(run('MAX(m1)', { m1: [1, 9, null, 4] })).toEqual([9, 9, 9, 9]);
    expect(run('m1 / SUM(m1)', { m1: [1, 3] })).toEqual([0.25, 0.75]);
  });

  it('METRICS("filter") reads the metrics whose id contains the filter', () => {
    expect(run('SUM(METRICS("fp"))', { m_fp: [1], x_fp: [2], m_tp: [4] })).toEqual([3]);
  });
});

describe('metric math: errors name the expression and the position', () => {
  it.each([
    ['(m_fp + m_fn', "metric math expression '(m_fp + m_fn' at position 12: expected ')', found end of expression"],
    ['m1 +', "metric math expression 'm1 +' at position 4: expected a number, a metric id, a function or '(', found end of expression"],
    ['m1 m2', "metric math expression 'm1 m2' at position 3: unexpected 'm2' after a complete expression"],
    ['m1 % 2', "metric math expression 'm1 % 2' at position 3: unexpected character '%'"],
    ['PERCENTILE(m1, 90)', "metric math expression 'PERCENTILE(m1, 90)' at position 0: unknown or unsupported function 'PERCENTILE' (supported: FILL, IF, ABS, MIN, MAX, SUM, AVG, METRICS)"],
    ['FILL(m1)', "metric math expression 'FILL(m1)' at position 0: FILL takes 2 arguments, got 1"],
    ['', "metric math expression '' at position 0: the expression is empty"],
  ])('%j', (expression, message) => {
    expect(() => parseExpression(expression)).toThrow(MetricMathError);
    expect(() => parseExpression(expression)).toThrow(message);
  });

  it('an unknown id fails at evaluation, naming the id and the known ones', () => {
    expect(() => run('m_fp / m_total', { m_fp: [1], m_n: [2] })).toThrow(
      "metric math expression 'm_fp / m_total' at position 7: unknown metric id 'm_total' (known: m_fp, m_n)",
    );
  });

  it('lists the ids an expression reads', () => {
    expect(parseExpression('(m_fp + m_fn) / m_n + m_fp').ids).toEqual(['m_fp', 'm_fn', 'm_n']);
  });
});
