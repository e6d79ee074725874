import type { FeatureList } from './features';

/**
 * The logistic-regression baseline of the evaluation: the same feature vectors as the model, each
 * numeric feature as sign(x)·log(1 + |x|) (deployment sizes have long tails), standardized on the
 * training window; a missing value becomes 0 plus a "missing" indicator; the deployment group is
 * one-hot. Fitted by Newton's method with a small L2 penalty, so it is deterministic.
 */
export interface LogisticModel {
  predict(vector: readonly number[]): number;
  /** The intercept, then one weight per design column. */
  readonly weights: readonly number[];
}

export interface LogisticOptions {
  /** L2 penalty on the weights (not the intercept). */
  readonly l2?: number;
  readonly maxIterations?: number;
  /**
   * Where Newton's method starts: an earlier fit on a similar window (a refit), which it reaches the
   * same optimum from in fewer iterations. Ignored when its length is not the design's.
   */
  readonly start?: LogisticModel;
}

interface Column {
  readonly encode: (vector: readonly number[]) => number;
}

export function fitLogisticRegression(
  list: FeatureList,
  vectors: readonly (readonly number[])[],
  labels: readonly boolean[],
  options: LogisticOptions = {},
): LogisticModel {
  const columns = designColumns(list, vectors);
  const design = sparseDesign(columns, vectors);
  const start = options.start?.weights.length === columns.length + 1 ? options.start.weights : undefined;
  const weights = newtonFit(design, labels, options.l2 ?? 1, options.maxIterations ?? 50, start);
  return {
    weights,
    predict(vector) {
      let margin = weights[0];
      for (let index = 0; index < columns.length; index += 1) margin += weights[index + 1] * columns[index].encode(vector);
      return sigmoid(margin);
    },
  };
}

function designColumns(list: FeatureList, vectors: readonly (readonly number[])[]): Column[] {
  const columns: Column[] = [];
  list.features.forEach((feature, position) => {
    if (feature.type === 'category') {
      for (let group = 0; group < list.groups.length; group += 1) columns.push({ encode: (vector) => (vector[position] === group ? 1 : 0) });
      return;
    }
    const transform = (value: number) => Math.sign(value) * Math.log1p(Math.abs(value));
    let count = 0;
    let sum = 0;
    let squares = 0;
    let missing = 0;
    for (const vector of vectors) {
      const value = vector[position];
      if (Number.isNaN(value)) {
        missing += 1;
        continue;
      }
      const transformed = transform(value);
      count += 1;
      sum += transformed;
      squares += transformed * transformed;
    }
    if (count === 0) return;
    const mean = sum / count;
    const deviation = Math.sqrt(Math.max(squares / count - mean * mean, 0));
    const scale = deviation > 1e-12 ? deviation : 1;
    columns.push({ encode: (vector) => (Number.isNaN(vector[position]) ? 0 : (transform(vector[position]) - mean) / scale) });
    if (missing > 0) columns.push({ encode: (vector) => (Number.isNaN(vector[position]) ? 1 : 0) });
  });
  return columns;
}

/**
 * The design matrix by rows, only its non-zero entries (one-hot groups and missing indicators mostly
 * are zero): row r's entries are `indices` / `values` from `offsets[r]` to `offsets[r + 1]`, with
 * weight indices (1 is the first design column; 0, the intercept, is implicit in every row). Sums
 * over them equal the dense sums bit for bit: a zero entry only ever adds a zero.
 */
interface SparseDesign {
  readonly rows: number;
  /** Weights: the intercept and one per design column. */
  readonly size: number;
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

function sparseDesign(columns: readonly Column[], vectors: readonly (readonly number[])[]): SparseDesign {
  const offsets = new Int32Array(vectors.length + 1);
  let indices = new Int32Array(Math.max(vectors.length * 8, 16));
  let values = new Float64Array(indices.length);
  let used = 0;
  vectors.forEach((vector, row) => {
    if (used + columns.length > indices.length) {
      const capacity = Math.max(indices.length * 2, used + columns.length);
      indices = grow(indices, new Int32Array(capacity));
      values = grow(values, new Float64Array(capacity));
    }
    for (let column = 0; column < columns.length; column += 1) {
      const value = columns[column].encode(vector);
      if (value === 0) continue;
      indices[used] = column + 1;
      values[used] = value;
      used += 1;
    }
    offsets[row + 1] = used;
  });
  return { rows: vectors.length, size: columns.length + 1, offsets, indices, values };
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Weights [intercept, w1..wd] maximizing the penalized log-likelihood. */
function newtonFit(design: SparseDesign, labels: readonly boolean[], l2: number, maxIterations: number, start?: readonly number[]): number[] {
  const { size } = design;
  let weights = start ? [...start] : interceptOnly(size, labels);
  let current = objective(design, labels, weights, l2);
  for (let iteration = 0; iteration < maxIterations; iteration += 1) {
    const { gradient, hessian } = newtonSystem(design, labels, weights, l2);
    const step = solveSymmetric(hessian, gradient);
    // Damped Newton: halve the step until the penalized log-likelihood does not get worse.
    let scale = 1;
    let candidate = weights.map((weight, index) => weight + step[index]);
    let reached = objective(design, labels, candidate, l2);
    while (!(reached >= current) && scale > 1e-6) {
      scale /= 2;
      candidate = weights.map((weight, index) => weight + scale * step[index]);
      reached = objective(design, labels, candidate, l2);
    }
    let largest = 0;
    for (let index = 0; index < size; index += 1) largest = Math.max(largest, Math.abs(candidate[index] - weights[index]));
    weights = candidate;
    current = reached;
    if (largest < 1e-8) break;
  }
  return weights;
}

/** The starting point without an earlier fit: every weight 0, the intercept at the base rate's log-odds. */
function interceptOnly(size: number, labels: readonly boolean[]): number[] {
  const weights = new Array<number>(size).fill(0);
  const positives = labels.filter(Boolean).length;
  const rate = (positives + 0.5) / (labels.length + 1);
  weights[0] = Math.log(rate / (1 - rate));
  return weights;
}

function margin(design: SparseDesign, row: number, weights: readonly number[]): number {
  let sum = weights[0];
  for (let entry = design.offsets[row]; entry < design.offsets[row + 1]; entry += 1) sum += weights[design.indices[entry]] * design.values[entry];
  return sum;
}

/** The penalized log-likelihood's gradient and (negated) Hessian at `weights`. */
function newtonSystem(design: SparseDesign, labels: readonly boolean[], weights: readonly number[], l2: number): { gradient: number[]; hessian: number[][] } {
  const { size, offsets, indices, values } = design;
  const gradient = new Array<number>(size).fill(0);
  const hessian = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (let row = 0; row < design.rows; row += 1) {
    const probability = sigmoid(margin(design, row, weights));
    const residual = (labels[row] ? 1 : 0) - probability;
    const weight = probability * (1 - probability);
    gradient[0] += residual;
    hessian[0][0] += weight;
    for (let a = offsets[row]; a < offsets[row + 1]; a += 1) {
      const i = indices[a];
      gradient[i] += residual * values[a];
      const scaled = weight * values[a];
      if (scaled === 0) continue;
      const line = hessian[i];
      line[0] += scaled;
      for (let b = offsets[row]; b <= a; b += 1) line[indices[b]] += scaled * values[b];
    }
  }
  for (let i = 0; i < size; i += 1) {
    for (let j = 0; j < i; j += 1) hessian[j][i] = hessian[i][j];
    if (i > 0) {
      gradient[i] -= l2 * weights[i];
      hessian[i][i] += l2;
    }
  }
  hessian[0][0] += 1e-9;
  return { gradient, hessian };
}

/** The penalized log-likelihood that the fit maximizes. */
function objective(design: SparseDesign, labels: readonly boolean[], weights: readonly number[], l2: number): number {
  let total = 0;
  for (let row = 0; row < design.rows; row += 1) {
    const value = margin(design, row, weights);
    // log(sigmoid(m)) = -log(1 + e^-m), computed without overflow
    total += labels[row] ? -softplus(-value) : -softplus(value);
  }
  let penalty = 0;
  for (let index = 1; index < weights.length; index += 1) penalty += weights[index] * weights[index];
  return total - (l2 / 2) * penalty;
}

function softplus(value: number): number {
  return value > 30 ? value : Math.log1p(Math.exp(value));
}

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
function solveSymmetric(matrix: readonly number[][], vector: readonly number[]): number[] {
  const size = vector.length;
  const lower = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (let i = 0; i < size; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = matrix[i][j];
      for (let k = 0; k < j; k += 1) sum -= lower[i][k] * lower[j][k];
      if (i === j) lower[i][i] = Math.sqrt(Math.max(sum, 1e-12));
      else lower[i][j] = sum / lower[j][j];
    }
  }
  const forward = new Array<number>(size).fill(0);
  for (let i = 0; i < size; i += 1) {
    let sum = vector[i];
    for (let k = 0; k < i; k += 1) sum -= lower[i][k] * forward[k];
    forward[i] = sum / lower[i][i];
  }
  const solution = new Array<number>(size).fill(0);
  for (let i = size - 1; i >= 0; i -= 1) {
    let sum = forward[i];
    for (let k = i + 1; k < size; k += 1) sum -= lower[k][i] * solution[k];
    solution[i] = sum / lower[i][i];
  }
  return solution;
}

function sigmoid(margin: number): number {
  return 1 / (1 + Math.exp(-margin));
}
