/**
 * Exact scoring of XGBoost 1.7 JSON models (`binary:logistic`, `gbtree`), equal bit for bit to what
 * XGBoost 1.7.4 — and so the sagemaker-xgboost 1.7-1 endpoint — returns for the same CSV rows.
 *
 * What "exact" takes (each point checked against XGBoost 1.7.4 by test/model/xgboost.test.ts):
 * - Inputs are float32: a CSV field is parsed to double as Python's `float()` does, then rounded to
 *   float32 (numpy float64 array → DMatrix). Split conditions, leaf values and base_score are float32.
 * - Traversal: `x < split_condition` goes left, otherwise right; a missing value (NaN or an absent
 *   trailing column) follows `default_left`.
 * - The margin starts at `ProbToMargin(base_score) = -logf(1.0f / base_score - 1.0f)` and each tree's
 *   leaf is added in float32, in tree order (cpu_predictor.cc `PredictByAllTrees`).
 * - `binary:logistic` maps the margin through XGBoost's float32 `common::Sigmoid`:
 *   `1.0f / (expf(min(-x, 88.7f)) + 1.0f + 1e-16f)` (src/common/math.h in 1.7.x; the clamp was
 *   confirmed by probing: a margin of -100 gives 3.0066358e-39, not 0).
 * - `expf` and `logf` are glibc's (libxgboost links `expf@GLIBC_2.27`, `logf@GLIBC_2.27`). Their
 *   results are not always correctly rounded (0.502 ULP), so `Math.exp` rounded to float32 differs
 *   from XGBoost for about 1 margin in 40,000. They are emulated here operation by operation as
 *   glibc's x86-64 FMA variants (`__expf_fma`, `__logf_fma`, chosen on every CPU with FMA) compute
 *   them: the table/polynomial algorithm of ARM's optimized-routines with every `a * b + c` fused.
 *   The constants are the numeric tables of those routines (`__exp2f_data`, `__logf_data`).
 * - Trees: all of them, unless the model carries the `best_ntree_limit` attribute (early stopping);
 *   the container predicts with `ntree_limit=getattr(booster, "best_ntree_limit", 0)` and Booster
 *   .load_model sets that attribute from the saved model (serve_utils.py `predict`).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { pythonStrRepr } from './serving-format';

// ---------------------------------------------------------------------------------------------------
// Errors

/** The model JSON is not one this scorer can reproduce exactly; `field` names the offending JSON path. */
export class XGBoostModelError extends Error {
  override readonly name = 'XGBoostModelError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/**
 * A text/csv payload the container would refuse (HTTP 415). `pythonType` and `pythonMessage` are the
 * exception class and message the container reports; `row` / `column` (1-based) locate the problem.
 */
export class CsvParseError extends Error {
  override readonly name = 'CsvParseError';
  constructor(
    readonly pythonType: string,
    readonly pythonMessage: string,
    readonly row?: number,
    readonly column?: number,
  ) {
    super(`${row === undefined ? '' : `row ${row}${column === undefined ? '' : `, column ${column}`}: `}${pythonMessage}`);
  }
}

/** More columns than the model has features: XGBoost refuses to predict (the container answers 400). */
export class FeatureCountError extends Error {
  override readonly name = 'FeatureCountError';
  constructor(readonly modelFeatures: number, readonly columns: number) {
    super(
      'Check failed: learner_model_param_.num_feature >= p_fmat->Info().num_col_ '
        + `(${modelFeatures} vs. ${columns}) : Number of columns does not match number of features in booster.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// glibc's expf / logf (x86-64 FMA variants), emulated exactly

const bitsView = new DataView(new ArrayBuffer(8));

function doubleFromBits(hex: string): number {
  bitsView.setBigUint64(0, BigInt(`0x${hex}`));
  return bitsView.getFloat64(0);
}

function float32Bits(value: number): number {
  bitsView.setFloat32(0, value);
  return bitsView.getUint32(0);
}

function float32FromBits(bits: number): number {
  bitsView.setUint32(0, bits >>> 0);
  return bitsView.getFloat32(0);
}

/** `fma(a, b, c)`: a × b + c rounded once to the nearest double (ties to even). Normal results only. */
function fusedMultiplyAdd(a: number, b: number, c: number): number {
  if (a === 0 || b === 0) return a * b + c; // exact product: one rounding, signed zeros as IEEE says
  const [aMantissa, aExponent] = decompose(a);
  const [bMantissa, bExponent] = decompose(b);
  const [cMantissa, cExponent] = decompose(c);
  const productExponent = aExponent + bExponent;
  const exponent = Math.min(productExponent, cExponent);
  const sum = ((aMantissa * bMantissa) << BigInt(productExponent - exponent)) + (cMantissa << BigInt(cExponent - exponent));
  // An exact zero takes IEEE's sign rules, which plain arithmetic gets right when the result is exact.
  if (sum === 0n) return a * b + c;
  return roundToDouble(sum, exponent);
}

/** sum × 2^exponent rounded to the nearest double, ties to even (normal range). */
function roundToDouble(sum: bigint, exponent: number): number {
  const negative = sum < 0n;
  let magnitude = negative ? -sum : sum;
  const excess = magnitude.toString(2).length - 53;
  if (excess > 0) {
    const shift = BigInt(excess);
    const kept = magnitude >> shift;
    const dropped = magnitude - (kept << shift);
    const half = 1n << (shift - 1n);
    magnitude = dropped > half || (dropped === half && (kept & 1n) === 1n) ? kept + 1n : kept;
    exponent += excess;
  }
  // magnitude < 2^54 converts exactly; two power-of-two steps keep the scale factor itself normal.
  const halfExponent = Math.trunc(exponent / 2);
  const value = Number(magnitude) * 2 ** halfExponent * 2 ** (exponent - halfExponent);
  return negative ? -value : value;
}

/** A finite double as signed integer mantissa × 2^exponent. */
function decompose(value: number): [bigint, number] {
  bitsView.setFloat64(0, value);
  const bits = bitsView.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | 0x10000000000000n;
  return [bits >> 63n ? -mantissa : mantissa, (biased === 0 ? 1 : biased) - 1075];
}

// __exp2f_data: 2^(i/32) with i << 47 subtracted from the bits, and the polynomial scaled by 1/32^k.
const EXP2F_TABLE = [
  '3ff0000000000000', '3fefd9b0d3158574', '3fefb5586cf9890f', '3fef9301d0125b51', '3fef72b83c7d517b',
  '3fef54873168b9aa', '3fef387a6e756238', '3fef1e9df51fdee1', '3fef06fe0a31b715', '3feef1a7373aa9cb',
  '3feedea64c123422', '3feece086061892d', '3feebfdad5362a27', '3feeb42b569d4f82', '3feeab07dd485429',
  '3feea47eb03a5585', '3feea09e667f3bcd', '3fee9f75e8ec5f74', '3feea11473eb0187', '3feea589994cce13',
  '3feeace5422aa0db', '3feeb737b0cdc5e5', '3feec49182a3f090', '3feed503b23e255d', '3feee89f995ad3ad',
  '3feeff76f2fb5e47', '3fef199bdd85529c', '3fef3720dcef9069', '3fef5818dcfba487', '3fef7c97337b9b5f',
  '3fefa4afa2a490da', '3fefd0765b6e4540',
];
/** 2^(i/32) as glibc's table holds it: the stored bits plus i << 47. */
const EXP2_FRACTION = Float64Array.from(EXP2F_TABLE, (hex, index) => doubleFromBits((BigInt(`0x${hex}`) + (BigInt(index) << 47n)).toString(16)));
const EXPF_INV_LN2_N = doubleFromBits('40471547652b82fe'); // 0x1.71547652b82fep+0 * 32
const EXPF_SHIFT = doubleFromBits('4338000000000000'); // 0x1.8p+52
const EXPF_C0 = doubleFromBits('3ebc6af84b912394');
const EXPF_C1 = doubleFromBits('3f2ebfce50fac4f3');
const EXPF_C2 = doubleFromBits('3f962e42ff0c52d6');
const EXPF_OVERFLOW = Math.fround(88.72283172607422); // 0x1.62e42ep6f
const EXPF_UNDERFLOW = -Math.fround(103.97207641601562); // -0x1.9fe368p6f
const EXPF_MAY_UNDERFLOW = -Math.fround(103.27892303466797); // -0x1.9d1d9ep6f
const SMALLEST_SUBNORMAL_FLOAT = 2 ** -149; // __math_may_uflowf: 0x1.4p-75f * 0x1.4p-75f
/** 2^m for the scale exponents expf reaches (m = floor(k / 32), |k| ≤ 150 × 32). */
const POW2_OFFSET = 200;
const POW2 = Float64Array.from({ length: 2 * POW2_OFFSET + 1 }, (_, index) => 2 ** (index - POW2_OFFSET));
/**
 * The fast path below rounds where glibc fuses; the difference is far below 2^-42 relative, so when
 * the result is not within 2^-42 of a float32 rounding boundary both round the same way.
 */
const AMBIGUITY = 2 ** -42;

/** glibc 2.27+ `expf` as its FMA variant computes it, for a float32-valued argument. */
export function expf(x: number): number {
  if (!(Math.abs(x) < 88)) {
    if (x !== x) return x;
    if (x === -Infinity) return 0;
    if (x === Infinity) return x;
    if (x > EXPF_OVERFLOW) return Infinity;
    if (x < EXPF_UNDERFLOW) return 0;
    if (x < EXPF_MAY_UNDERFLOW) return SMALLEST_SUBNORMAL_FLOAT;
  }
  const z = EXPF_INV_LN2_N * x;
  const k = z + EXPF_SHIFT - EXPF_SHIFT;
  const r = z - k;
  // k must be the nearest integer to the exact product: retry exactly when z is near a half-integer.
  if (Math.abs(Math.abs(r) - 0.5) < 2 ** -30) return expfExact(x);
  const index = k & 31;
  const scale = EXP2_FRACTION[index] * POW2[(k - index) / 32 + POW2_OFFSET];
  const y = ((EXPF_C0 * r + EXPF_C1) * (r * r) + (EXPF_C2 * r + 1)) * scale;
  const result = Math.fround(y);
  if (Math.fround(y * (1 + AMBIGUITY)) !== result || Math.fround(y * (1 - AMBIGUITY)) !== result) return expfExact(x);
  return result;
}

/** `expf` with every fused multiply-add of `__expf_fma` carried out exactly (the rare slow path). */
export function expfExact(x: number): number {
  const k = fusedMultiplyAdd(EXPF_INV_LN2_N, x, EXPF_SHIFT) - EXPF_SHIFT;
  const r = fusedMultiplyAdd(EXPF_INV_LN2_N, x, -k);
  const index = k & 31;
  const scale = EXP2_FRACTION[index] * POW2[(k - index) / 32 + POW2_OFFSET];
  const polynomial = fusedMultiplyAdd(EXPF_C0, r, EXPF_C1);
  const linear = fusedMultiplyAdd(EXPF_C2, r, 1);
  return Math.fround(fusedMultiplyAdd(polynomial, r * r, linear) * scale);
}

// __logf_data: per subinterval 1/c and log(c), then ln2 and the polynomial A[0..2].
const LOGF_TABLE = [
  ['3ff661ec79f8f3be', 'bfd57bf7808caade'], ['3ff571ed4aaf883d', 'bfd2bef0a7c06ddb'],
  ['3ff49539f0f010b0', 'bfd01eae7f513a67'], ['3ff3c995b0b80385', 'bfcb31d8a68224e9'],
  ['3ff30d190c8864a5', 'bfc6574f0ac07758'], ['3ff25e227b0b8ea0', 'bfc1aa2bc79c8100'],
  ['3ff1bb4a4a1a343f', 'bfba4e76ce8c0e5e'], ['3ff12358f08ae5ba', 'bfb1973c5a611ccc'],
  ['3ff0953f419900a7', 'bfa252f438e10c1e'], ['3ff0000000000000', '0000000000000000'],
  ['3fee608cfd9a47ac', '3faaa5aa5df25984'], ['3feca4b31f026aa0', '3fbc5e53aa362eb4'],
  ['3feb2036576afce6', '3fc526e57720db08'], ['3fe9c2d163a1aa2d', '3fcbc2860d224770'],
  ['3fe886e6037841ed', '3fd1058bc8a07ee1'], ['3fe767dcf5534862', '3fd4043057b6ee09'],
].map(([inverse, log]) => [doubleFromBits(inverse), doubleFromBits(log)] as const);
const LOGF_LN2 = doubleFromBits('3fe62e42fefa39ef');
const LOGF_A0 = doubleFromBits('bfd00ea348b88334');
const LOGF_A1 = doubleFromBits('3fd5575b0be00b6a');
const LOGF_A2 = doubleFromBits('bfdffffef20a4123');

/** glibc 2.27+ `logf` as its FMA variant computes it, for a float32-valued argument. */
export function logf(x: number): number {
  let bits = float32Bits(x);
  if (bits === 0x3f800000) return 0;
  if (((bits - 0x00800000) >>> 0) >= 0x7f000000) {
    if (((bits << 1) >>> 0) === 0) return -Infinity;
    if (bits === 0x7f800000) return Infinity;
    if (bits & 0x80000000 || ((bits << 1) >>> 0) >= 0xff000000) return NaN;
    bits = (float32Bits(Math.fround(x * 2 ** 23)) - (23 << 23)) >>> 0; // subnormal: normalise
  }
  const offset = (bits - 0x3f330000) >>> 0;
  const [inverseC, logC] = LOGF_TABLE[(offset >>> 19) % 16];
  const exponent = offset >> 23;
  const z = float32FromBits(bits - (offset & 0xff800000));
  const r = fusedMultiplyAdd(z, inverseC, -1);
  const y0 = fusedMultiplyAdd(exponent, LOGF_LN2, logC);
  const r2 = r * r;
  const y = fusedMultiplyAdd(LOGF_A0, r2, fusedMultiplyAdd(LOGF_A1, r, LOGF_A2));
  return Math.fround(fusedMultiplyAdd(y, r2, r + y0));
}

const SIGMOID_CLAMP = Math.fround(88.7);
const SIGMOID_EPS = Math.fround(1e-16);

/** XGBoost 1.7's float32 `common::Sigmoid`: `1.0f / (expf(min(-x, 88.7f)) + 1.0f + 1e-16f)`. */
export function sigmoid32(margin: number): number {
  const negated = -margin;
  const exponent = SIGMOID_CLAMP < negated ? SIGMOID_CLAMP : negated;
  return Math.fround(1 / Math.fround(Math.fround(expf(exponent) + 1) + SIGMOID_EPS));
}

/** `LogisticRegression::ProbToMargin`: `-logf(1.0f / base_score - 1.0f)`, all in float32. */
export function probabilityToMargin(baseScore: number): number {
  return -logf(Math.fround(Math.fround(1 / baseScore) - 1));
}

// ---------------------------------------------------------------------------------------------------
// The compiled model

/**
 * All trees in flat arrays, nodes renumbered tree by tree in breadth-first order so that a node's
 * right child is always `leftChild + 1`. Shared with model/treeshap.ts.
 */
export interface CompiledForest {
  readonly treeCount: number;
  /** Index of each tree's root node. */
  readonly treeRoots: Int32Array;
  /** Feature index tested at each node; -1 at leaves. */
  readonly splitFeature: Int32Array;
  readonly leftChild: Int32Array;
  /** The child a missing value goes to (`default_left`). */
  readonly missingChild: Int32Array;
  /** `split_condition` (float32) at internal nodes. */
  readonly threshold: Float32Array;
  /** Leaf value (float32) at leaves, 0 elsewhere. */
  readonly leafValue: Float32Array;
  /** `sum_hessian` (the cover TreeSHAP weighs paths by). */
  readonly cover: Float32Array;
  /** Edges on the longest root-to-leaf path. */
  readonly maxDepth: number;
}

export interface XGBoostModel {
  readonly featureCount: number;
  /** `feature_names` saved with the model, when it has them. */
  readonly featureNames?: readonly string[];
  readonly objective: 'binary:logistic';
  /** XGBoost version that saved the model. */
  readonly version: readonly number[];
  /** base_score as float32. */
  readonly baseScore: number;
  /** The margin every row starts from: `ProbToMargin(base_score)`. */
  readonly baseMargin: number;
  /** Trees in the file, and those used for prediction (fewer when `best_ntree_limit` is set). */
  readonly totalTrees: number;
  readonly forest: CompiledForest;
  /** The probability for one row (values are rounded to float32; NaN or a missing tail = missing). */
  predict(row: ArrayLike<number>): number;
  /** The float32 margin (log-odds) for one row. */
  predictMargin(row: ArrayLike<number>): number;
  /**
   * Probabilities for `rowCount` rows stored row-major in `values`, `columnCount` values per row
   * (default: `featureCount`; fewer columns leave the rest missing, as XGBoost does). No allocation
   * when `out` is given.
   */
  predictBatch(values: Float32Array, rowCount: number, columnCount?: number, out?: Float32Array): Float32Array;
}

type Json = Record<string, unknown>;

function objectAt(parent: unknown, key: string, path: string): Json {
  const value = (parent as Json)[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new XGBoostModelError(path, `expected an object, found ${describe(value)}`);
  }
  return value as Json;
}

function arrayAt(parent: Json, key: string, path: string, length: number): unknown[] {
  const value = parent[key];
  if (!Array.isArray(value)) throw new XGBoostModelError(path, `expected an array, found ${describe(value)}`);
  if (value.length < length) throw new XGBoostModelError(path, `has ${value.length} entries, expected ${length} (tree_param.num_nodes)`);
  return value;
}

function numberAt(parent: Json, key: string, path: string): number {
  const raw = parent[key];
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new XGBoostModelError(path, `expected a number, found ${describe(raw)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Loads an XGBoost JSON model (`booster.save_model('model.json')`) — the text or the parsed object —
 * and compiles it for scoring. Only `binary:logistic` with the `gbtree` booster and numerical splits
 * are accepted; anything else is an XGBoostModelError naming the field.
 */
export function loadXGBoostModel(jsonTextOrObject: string | object): XGBoostModel {
  let root: unknown = jsonTextOrObject;
  if (typeof jsonTextOrObject === 'string') {
    try {
      root = JSON.parse(jsonTextOrObject);
    } catch (error) {
      throw new XGBoostModelError('(model)', `not JSON (${(error as Error).message}); save the model with booster.save_model('model.json')`);
    }
  }
  if (root === null || typeof root !== 'object') throw new XGBoostModelError('(model)', `expected a JSON object, found ${describe(root)}`);
  const version = (root as Json).version;
  if (!Array.isArray(version) || version[0] !== 1) {
    throw new XGBoostModelError('version', `expected an XGBoost 1.x model, found ${describe(version)}`);
  }
  const learner = objectAt(root, 'learner', 'learner');
  const objective = objectAt(learner, 'objective', 'learner.objective');
  if (objective.name !== 'binary:logistic') {
    throw new XGBoostModelError('learner.objective.name', `only binary:logistic is supported, found ${describe(objective.name)}`);
  }
  const booster = objectAt(learner, 'gradient_booster', 'learner.gradient_booster');
  if (booster.name !== 'gbtree') {
    throw new XGBoostModelError('learner.gradient_booster.name', `only the gbtree booster is supported, found ${describe(booster.name)}`);
  }
  const modelParam = objectAt(learner, 'learner_model_param', 'learner.learner_model_param');
  const featureCount = numberAt(modelParam, 'num_feature', 'learner.learner_model_param.num_feature');
  const numClass = modelParam.num_class === undefined ? 0 : numberAt(modelParam, 'num_class', 'learner.learner_model_param.num_class');
  if (numClass !== 0) throw new XGBoostModelError('learner.learner_model_param.num_class', `expected 0 for binary:logistic, found ${numClass}`);
  if (modelParam.num_target !== undefined && numberAt(modelParam, 'num_target', 'learner.learner_model_param.num_target') !== 1) {
    throw new XGBoostModelError('learner.learner_model_param.num_target', `expected 1, found ${describe(modelParam.num_target)}`);
  }
  const baseScore = Math.fround(numberAt(modelParam, 'base_score', 'learner.learner_model_param.base_score'));
  if (!(baseScore > 0 && baseScore < 1)) {
    throw new XGBoostModelError('learner.learner_model_param.base_score', `must be in (0,1) for logistic loss, found ${baseScore}`);
  }

  const gbtree = objectAt(booster, 'model', 'learner.gradient_booster.model');
  const treesJson = gbtree.trees;
  if (!Array.isArray(treesJson)) throw new XGBoostModelError('learner.gradient_booster.model.trees', `expected an array, found ${describe(treesJson)}`);
  const treeInfo = gbtree.tree_info;
  if (Array.isArray(treeInfo) && treeInfo.some((group) => group !== 0)) {
    throw new XGBoostModelError('learner.gradient_booster.model.tree_info', 'every tree must belong to output group 0 in a binary model');
  }
  const gbtreeParam = (gbtree.gbtree_model_param ?? {}) as Json;
  const parallelTrees = gbtreeParam.num_parallel_tree === undefined ? 1 : numberAt(gbtreeParam, 'num_parallel_tree', 'learner.gradient_booster.model.gbtree_model_param.num_parallel_tree');
  const usedTrees = treesUsedForPrediction(learner, treesJson.length, Math.max(1, parallelTrees));
  const forest = compileForest(treesJson.slice(0, usedTrees), featureCount);
  const names = learner.feature_names;
  const featureNames = Array.isArray(names) && names.length === featureCount && names.every((name) => typeof name === 'string')
    ? Object.freeze([...(names as string[])]) : undefined;
  return new CompiledModel(featureCount, featureNames, version as number[], baseScore, treesJson.length, forest);
}

/**
 * The trees Booster.predict uses in the container: `ntree_limit = best_ntree_limit` when the model
 * was saved with that attribute, which XGBoost turns into `ntree_limit // num_parallel_tree` rounds.
 */
function treesUsedForPrediction(learner: Json, totalTrees: number, parallelTrees: number): number {
  const attributes = learner.attributes;
  if (attributes === null || typeof attributes !== 'object') return totalTrees;
  const limitText = (attributes as Json).best_ntree_limit;
  if (limitText === undefined) return totalTrees;
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new XGBoostModelError('learner.attributes.best_ntree_limit', `expected a non-negative integer, found ${describe(limitText)}`);
  }
  if (limit === 0) return totalTrees;
  return Math.min(totalTrees, Math.floor(limit / parallelTrees) * parallelTrees);
}

function compileForest(trees: unknown[], featureCount: number): CompiledForest {
  const parsed = trees.map((tree, index) => parseTree(tree, index, featureCount));
  const nodeCount = parsed.reduce((sum, tree) => sum + tree.order.length, 0);
  const forest = {
    treeCount: parsed.length,
    treeRoots: new Int32Array(parsed.length),
    splitFeature: new Int32Array(nodeCount),
    leftChild: new Int32Array(nodeCount),
    missingChild: new Int32Array(nodeCount),
    threshold: new Float32Array(nodeCount),
    leafValue: new Float32Array(nodeCount),
    cover: new Float32Array(nodeCount),
    maxDepth: 0,
  };
  let next = 0;
  parsed.forEach((tree, treeIndex) => {
    const start = next;
    forest.treeRoots[treeIndex] = start;
    const newIndex = new Map<number, number>();
    tree.order.forEach((original, position) => newIndex.set(original, start + position));
    for (const original of tree.order) {
      const node = next;
      next += 1;
      forest.cover[node] = tree.cover[original];
      const left = tree.left[original];
      if (left === -1) {
        forest.splitFeature[node] = -1;
        forest.leafValue[node] = tree.condition[original];
        continue;
      }
      const leftIndex = newIndex.get(left) as number;
      forest.splitFeature[node] = tree.feature[original];
      forest.threshold[node] = tree.condition[original];
      forest.leftChild[node] = leftIndex;
      forest.missingChild[node] = tree.defaultLeft[original] ? leftIndex : leftIndex + 1;
    }
    forest.maxDepth = Math.max(forest.maxDepth, tree.depth);
  });
  return forest;
}

interface ParsedTree {
  /** Original node ids, breadth-first, each internal node's children adjacent (left then right). */
  order: number[];
  left: Int32Array;
  feature: Int32Array;
  condition: Float32Array;
  defaultLeft: Uint8Array;
  cover: Float32Array;
  depth: number;
}

function parseTree(tree: unknown, index: number, featureCount: number): ParsedTree {
  const path = `learner.gradient_booster.model.trees[${index}]`;
  if (tree === null || typeof tree !== 'object') throw new XGBoostModelError(path, `expected an object, found ${describe(tree)}`);
  const json = tree as Json;
  const nodes = numberAt(objectAt(json, 'tree_param', `${path}.tree_param`), 'num_nodes', `${path}.tree_param.num_nodes`);
  const lefts = arrayAt(json, 'left_children', `${path}.left_children`, nodes);
  const rights = arrayAt(json, 'right_children', `${path}.right_children`, nodes);
  const features = arrayAt(json, 'split_indices', `${path}.split_indices`, nodes);
  const conditions = arrayAt(json, 'split_conditions', `${path}.split_conditions`, nodes);
  const defaults = arrayAt(json, 'default_left', `${path}.default_left`, nodes);
  const hessians = arrayAt(json, 'sum_hessian', `${path}.sum_hessian`, nodes);
  const splitTypes = json.split_type === undefined ? undefined : arrayAt(json, 'split_type', `${path}.split_type`, nodes);
  const parsed: ParsedTree = {
    order: [],
    left: new Int32Array(nodes),
    feature: new Int32Array(nodes),
    condition: new Float32Array(nodes),
    defaultLeft: new Uint8Array(nodes),
    cover: new Float32Array(nodes),
    depth: 0,
  };
  const seen = new Uint8Array(nodes);
  let level: number[] = [0];
  if (nodes < 1) throw new XGBoostModelError(`${path}.tree_param.num_nodes`, 'a tree needs at least one node');
  seen[0] = 1;
  for (let depth = 0; level.length > 0; depth += 1) {
    const nextLevel: number[] = [];
    for (const node of level) {
      const at = (field: string) => `${path}.${field}[${node}]`;
      parsed.order.push(node);
      parsed.cover[node] = Math.fround(Number(hessians[node]));
      parsed.condition[node] = Math.fround(Number(conditions[node]));
      if (!Number.isFinite(parsed.condition[node])) throw new XGBoostModelError(at('split_conditions'), `expected a finite float32, found ${describe(conditions[node])}`);
      const left = Number(lefts[node]);
      if (left === -1) {
        parsed.left[node] = -1;
        continue;
      }
      const right = Number(rights[node]);
      for (const [child, field] of [[left, 'left_children'], [right, 'right_children']] as const) {
        if (!Number.isInteger(child) || child <= 0 || child >= nodes || seen[child]) {
          throw new XGBoostModelError(at(field), `child ${describe(child)} is not a fresh node of this tree`);
        }
        seen[child] = 1;
      }
      if (splitTypes !== undefined && Number(splitTypes[node]) !== 0) {
        throw new XGBoostModelError(at('split_type'), 'categorical splits are not supported (numerical splits only)');
      }
      const feature = Number(features[node]);
      if (!Number.isInteger(feature) || feature < 0 || feature >= featureCount) {
        throw new XGBoostModelError(at('split_indices'), `feature ${describe(features[node])} is outside 0..${featureCount - 1}`);
      }
      parsed.left[node] = left;
      parsed.feature[node] = feature;
      parsed.defaultLeft[node] = defaults[node] === true || Number(defaults[node]) === 1 ? 1 : 0;
      nextLevel.push(left, right);
    }
    if (nextLevel.length > 0) parsed.depth = depth + 1;
    level = nextLevel;
  }
  // Breadth-first order keeps siblings adjacent only if children are listed in the order they were
  // pushed; they were (left, right), and each level preserves its parents' order.
  return parsed;
}

/** Rows scored together, tree by tree, so that a tree's nodes stay in cache (as XGBoost's block of 64). */
const BLOCK_ROWS = 64;

class CompiledModel implements XGBoostModel {
  readonly objective = 'binary:logistic' as const;
  readonly baseMargin: number;
  // The traversal the scorer runs, derived from the forest so that one step is one comparison:
  // - each row is copied twice, missing values as -Infinity in the first copy and +Infinity in the
  //   second, and a node reads the copy that sends a missing value its default way (`x >= split`
  //   goes right, as `!(x < split)` does in XGBoost for any value that is not missing);
  // - a leaf loops to itself (threshold NaN never compares true), so each tree takes exactly its
  //   depth in steps, with no test for leaves;
  // - four rows go down a tree side by side, for instruction-level parallelism.
  private readonly stepChild: Int32Array;
  private readonly stepColumn: Int32Array;
  private readonly stepThreshold: Float64Array;
  private readonly treeDepth: Int32Array;
  private readonly block: Float64Array;
  private readonly blockMargins: Float64Array;

  constructor(
    readonly featureCount: number,
    readonly featureNames: readonly string[] | undefined,
    readonly version: readonly number[],
    readonly baseScore: number,
    readonly totalTrees: number,
    readonly forest: CompiledForest,
  ) {
    this.baseMargin = probabilityToMargin(baseScore);
    const { splitFeature, leftChild, missingChild, threshold, treeRoots, treeCount } = forest;
    const nodes = splitFeature.length;
    this.stepChild = new Int32Array(nodes);
    this.stepColumn = new Int32Array(nodes);
    this.stepThreshold = new Float64Array(nodes);
    for (let node = 0; node < nodes; node += 1) {
      if (splitFeature[node] < 0) {
        this.stepChild[node] = node;
        this.stepThreshold[node] = NaN;
      } else {
        this.stepChild[node] = leftChild[node];
        this.stepColumn[node] = splitFeature[node] + (missingChild[node] === leftChild[node] ? 0 : featureCount);
        this.stepThreshold[node] = threshold[node];
      }
    }
    const depthBelow = (node: number): number => (splitFeature[node] < 0 ? 0 : 1 + Math.max(depthBelow(leftChild[node]), depthBelow(leftChild[node] + 1)));
    this.treeDepth = Int32Array.from({ length: treeCount }, (_, tree) => depthBelow(treeRoots[tree]));
    this.block = new Float64Array(BLOCK_ROWS * 2 * featureCount);
    this.blockMargins = new Float64Array(BLOCK_ROWS);
  }

  predict(row: ArrayLike<number>): number {
    return sigmoid32(this.predictMargin(row));
  }

  predictMargin(row: ArrayLike<number>): number {
    if (row.length > this.featureCount) throw new FeatureCountError(this.featureCount, row.length);
    this.loadRow(row, 0, row.length, 0);
    this.scoreBlock(1);
    return this.blockMargins[0];
  }

  predictBatch(values: Float32Array, rowCount: number, columnCount = this.featureCount, out = new Float32Array(rowCount)): Float32Array {
    if (columnCount > this.featureCount) throw new FeatureCountError(this.featureCount, columnCount);
    if (values.length < rowCount * columnCount) throw new RangeError(`values holds ${values.length} numbers, fewer than ${rowCount} rows × ${columnCount} columns`);
    if (out.length < rowCount) throw new RangeError(`out holds ${out.length} numbers, fewer than ${rowCount} rows`);
    for (let first = 0; first < rowCount; first += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, rowCount - first);
      for (let row = 0; row < rows; row += 1) this.loadRow(values, (first + row) * columnCount, columnCount, row);
      this.scoreBlock(rows);
      for (let row = 0; row < rows; row += 1) out[first + row] = sigmoid32(this.blockMargins[row]);
    }
    return out;
  }

  /** Copies a row (float32-rounded; NaN and absent columns missing) into both halves of its block slot. */
  private loadRow(values: ArrayLike<number>, offset: number, columns: number, slot: number): void {
    const features = this.featureCount;
    const low = slot * 2 * features;
    const high = low + features;
    for (let column = 0; column < features; column += 1) {
      const value = column < columns ? Math.fround(values[offset + column]) : NaN;
      if (value !== value) {
        this.block[low + column] = -Infinity;
        this.block[high + column] = Infinity;
      } else {
        this.block[low + column] = value;
        this.block[high + column] = value;
      }
    }
  }

  /**
   * The float32 margins of the first `rows` rows of the block: the base margin plus each tree's leaf,
   * added in float32 in tree order, as XGBoost's PredictByAllTrees does.
   */
  private scoreBlock(rows: number): void {
    const { stepChild: child, stepColumn: column, stepThreshold: split, treeDepth, block, blockMargins: margins } = this;
    const { treeCount, treeRoots, leafValue } = this.forest;
    const stride = 2 * this.featureCount;
    margins.fill(this.baseMargin, 0, rows);
    for (let tree = 0; tree < treeCount; tree += 1) {
      const root = treeRoots[tree];
      const depth = treeDepth[tree];
      let row = 0;
      for (; row + 4 <= rows; row += 4) {
        const at0 = row * stride;
        const at1 = at0 + stride;
        const at2 = at1 + stride;
        const at3 = at2 + stride;
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        for (let step = depth; step > 0; step -= 1) {
          n0 = child[n0] + +(block[at0 + column[n0]] >= split[n0]);
          n1 = child[n1] + +(block[at1 + column[n1]] >= split[n1]);
          n2 = child[n2] + +(block[at2 + column[n2]] >= split[n2]);
          n3 = child[n3] + +(block[at3 + column[n3]] >= split[n3]);
        }
        margins[row] = Math.fround(margins[row] + leafValue[n0]);
        margins[row + 1] = Math.fround(margins[row + 1] + leafValue[n1]);
        margins[row + 2] = Math.fround(margins[row + 2] + leafValue[n2]);
        margins[row + 3] = Math.fround(margins[row + 3] + leafValue[n3]);
      }
      for (; row < rows; row += 1) {
        const at = row * stride;
        let node = root;
        for (let step = depth; step > 0; step -= 1) node = child[node] + +(block[at + column[node]] >= split[node]);
        margins[row] = Math.fround(margins[row] + leafValue[node]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// text/csv payloads, parsed as the container parses them

/** Rows of float32 values, row-major. */
export interface CsvRows {
  readonly values: Float32Array;
  readonly rowCount: number;
  readonly columnCount: number;
}

/**
 * Parses a text/csv request body exactly as sagemaker-xgboost 1.7-1 does (serve_utils.py
 * `parse_content_data` → encoder.py `csv_to_dmatrix`), or throws the CsvParseError it would answer
 * 415 with:
 * - the body's leading and trailing ASCII whitespace is stripped (`payload.strip()`), so trailing
 *   newlines and blank lines at either end are ignored; an all-whitespace body has no delimiter;
 * - the delimiter is what `csv.Sniffer` finds in the first 512 characters of the first line (`,` when
 *   present; a letter or digit means `,`);
 * - every line is a row, split on the delimiter; an empty field is missing (`nan`); a blank line in
 *   the middle is therefore a one-field row, and rows whose field count differs from the first row's
 *   are refused (numpy cannot build the matrix);
 * - each field is read as Python's `float()` reads it (surrounding whitespace, `_` between digits,
 *   `nan`, `inf`, `infinity` in any case), then rounded to float32; a value that is infinite as
 *   float32 is refused by XGBoost's DMatrix ("Input data contains `inf` or `nan`").
 * No header row: the first line is data, as in the container.
 */
export function parseCsvRows(body: string | Uint8Array): CsvRows {
  const text = typeof body === 'string' ? stripAsciiWhitespace(body) : decodeUtf8(stripAsciiWhitespaceBytes(body));
  const firstLineEnd = text.indexOf('\n');
  const delimiter = sniffDelimiter(firstCodePoints(firstLineEnd < 0 ? text : text.slice(0, firstLineEnd), 512));
  const separator = /^[\p{L}\p{N}]$/u.test(delimiter) ? ',' : delimiter;
  const lines = text.split('\n');
  const columnCount = lines[0].split(separator).length;
  const values = new Float32Array(lines.length * columnCount);
  let infinite: CsvParseError | undefined;
  lines.forEach((line, lineIndex) => {
    const fields = line.split(separator);
    if (fields.length !== columnCount) {
      throw new CsvParseError(
        "<class 'ValueError'>",
        `setting an array element with a sequence. The requested array has an inhomogeneous shape after 1 dimensions (row ${lineIndex + 1} has ${fields.length} fields, row 1 has ${columnCount})`,
        lineIndex + 1,
      );
    }
    fields.forEach((field, columnIndex) => {
      const number = field === '' ? NaN : parsePythonFloat(field);
      if (number === undefined) {
        throw new CsvParseError("<class 'ValueError'>", `could not convert string to float: ${pythonStrRepr(field)}`, lineIndex + 1, columnIndex + 1);
      }
      const value = Math.fround(number);
      if ((value === Infinity || value === -Infinity) && infinite === undefined) {
        infinite = new CsvParseError("<class 'xgboost.core.XGBoostError'>", 'Check failed: valid: Input data contains `inf` or `nan`', lineIndex + 1, columnIndex + 1);
      }
      values[lineIndex * columnCount + columnIndex] = value;
    });
  });
  // numpy converts every field before XGBoost sees any value, so a bad field anywhere wins over inf.
  if (infinite) throw infinite;
  return { values, rowCount: lines.length, columnCount };
}

const ASCII_WHITESPACE = ' \t\n\r\x0b\x0c';

function stripAsciiWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && ASCII_WHITESPACE.includes(text[start])) start += 1;
  while (end > start && ASCII_WHITESPACE.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

function stripAsciiWhitespaceBytes(bytes: Uint8Array): Uint8Array {
  const isSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
  let start = 0;
  let end = bytes.length;
  while (start < end && isSpace(bytes[start])) start += 1;
  while (end > start && isSpace(bytes[end - 1])) end -= 1;
  return bytes.subarray(start, end);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // Python's 'utf-8' codec keeps a byte-order mark, so must we.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CsvParseError("<class 'UnicodeDecodeError'>", "'utf-8' codec can't decode the payload: invalid UTF-8");
  }
}

function firstCodePoints(text: string, count: number): string {
  let end = 0;
  for (let taken = 0; taken < count && end < text.length; taken += 1) {
    end += (text.codePointAt(end) as number) > 0xffff ? 2 : 1;
  }
  return text.slice(0, end);
}

const NOT_WORD = String.raw`[^\p{L}\p{N}_\n"']`;
/** csv.Sniffer._guess_quote_and_delimiter's first three patterns (the fourth yields no delimiter). */
const QUOTE_PATTERNS = [
  new RegExp(String.raw`(?<delim>${NOT_WORD})(?<space> ?)(?<quote>["'])[\s\S]*?\k<quote>\k<delim>`, 'gu'),
  new RegExp(String.raw`(?:^|\n)(?<quote>["'])[\s\S]*?\k<quote>(?<delim>${NOT_WORD})(?<space> ?)`, 'gmu'),
  new RegExp(String.raw`(?<delim>${NOT_WORD})(?<space> ?)(?<quote>["'])[\s\S]*?\k<quote>(?:$|\n)`, 'gmu'),
];
const PREFERRED_DELIMITERS = [',', '\t', ';', ' ', ':'];

/** The delimiter Python's csv.Sniffer().sniff(sample) reports for a one-line sample. */
function sniffDelimiter(sample: string): string {
  // Every quote pattern needs a quote character; without one, a sample with a comma sniffs as ',' (below).
  if (!sample.includes('"') && !sample.includes("'") && sample.includes(',')) return ',';
  for (const pattern of QUOTE_PATTERNS) {
    const counts = new Map<string, number>();
    let matched = false;
    for (const match of sample.matchAll(pattern)) {
      matched = true;
      const delim = match.groups?.delim;
      if (delim) counts.set(delim, (counts.get(delim) ?? 0) + 1);
    }
    if (!matched) continue;
    let best = '';
    for (const [delim, count] of counts) if (best === '' || count > (counts.get(best) as number)) best = delim;
    if (best !== '') return best;
    break;
  }
  // _guess_delimiter on one line: every ASCII character present is equally "consistent".
  const counts = new Map<string, number>();
  for (const char of sample) if ((char.codePointAt(0) as number) < 127) counts.set(char, (counts.get(char) ?? 0) + 1);
  if (counts.size === 0) throw new CsvParseError("<class '_csv.Error'>", 'Could not determine delimiter');
  if (counts.size === 1) return counts.keys().next().value as string;
  for (const preferred of PREFERRED_DELIMITERS) if (counts.has(preferred)) return preferred;
  let best = '';
  let bestCount = -1;
  for (const [char, count] of counts) {
    if (count > bestCount || (count === bestCount && char > best)) {
      best = char;
      bestCount = count;
    }
  }
  return best;
}

/** Whitespace Python's float() ignores around a number: ASCII, plus non-ASCII Unicode spaces. */
const PYTHON_SPACE = '[ \\t\\n\\r\\x0b\\x0c\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PYTHON_FLOAT = new RegExp(
  `^${PYTHON_SPACE}*([+-]?)(?:(inf|infinity|nan)|((?:\\d(?:_?\\d)*)?\\.\\d(?:_?\\d)*(?:[eE][+-]?\\d(?:_?\\d)*)?|\\d(?:_?\\d)*\\.?(?:[eE][+-]?\\d(?:_?\\d)*)?))${PYTHON_SPACE}*$`,
  'i',
);

/**
 * The double Python's `float(text)` returns, or undefined where it raises ValueError. (Non-ASCII
 * decimal digits, which Python also accepts, are not: a known, harmless difference.)
 */
export function parsePythonFloat(text: string): number | undefined {
  const match = PYTHON_FLOAT.exec(text);
  if (!match) return undefined;
  const [, sign, special, decimal] = match;
  if (special !== undefined) {
    if (special.toLowerCase() === 'nan') return NaN;
    return sign === '-' ? -Infinity : Infinity;
  }
  // Number() reads decimals correctly rounded, as Python does.
  const value = Number(decimal.includes('_') ? decimal.replace(/_/g, '') : decimal);
  return sign === '-' ? -value : value;
}

/**
 * Scores a text/csv request body as the container does: the probabilities, or CsvParseError (415)
 * / FeatureCountError (400). Rows with fewer columns than the model has features leave the rest
 * missing, as XGBoost does for a JSON model.
 */
export function scoreCsv(model: XGBoostModel, body: string | Uint8Array): Float32Array {
  const rows = parseCsvRows(body);
  return model.predictBatch(rows.values, rows.rowCount, rows.columnCount);
}

// ---------------------------------------------------------------------------------------------------
// Model files

/**
 * Reads a model file: the JSON itself, or a SageMaker `model.tar.gz` holding exactly one file (the
 * container would load every file in it and average their predictions).
 */
export function readXGBoostModelFile(path: string): XGBoostModel {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const files = tarFiles(gunzipSync(bytes));
    if (files.length !== 1) {
      throw new XGBoostModelError(path, `the archive holds ${files.length} files (${files.map((file) => file.name).join(', ')}); expected exactly one, xgboost-model`);
    }
    bytes = files[0].content;
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  if (!text.trimStart().startsWith('{')) {
    throw new XGBoostModelError(path, 'not a JSON model (binary and pickled boosters are not supported); save it with booster.save_model("xgboost-model.json")');
  }
  return loadXGBoostModel(text);
}

function tarFiles(archive: Buffer): { name: string; content: Uint8Array }[] {
  const files: { name: string; content: Uint8Array }[] = [];
  const field = (start: number, length: number) => archive.toString('latin1', start, start + length).replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= archive.length;) {
    const name = field(offset, 100);
    if (name === '') break;
    const size = parseInt(field(offset + 124, 12).trim() || '0', 8);
    const type = field(offset + 156, 1);
    // Regular files only: directories, PAX and GNU long-name records are metadata.
    if (type === '0' || type === '') files.push({ name, content: archive.subarray(offset + 512, offset + 512 + size) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
