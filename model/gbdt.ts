/**
 * The embedded gradient-boosted-trees trainer: `binary:logistic` boosting of depth-wise `hist`
 * trees, defined as XGBoost 1.7 defines them (src/tree/updater_quantile_hist.cc, hist/evaluate_splits.h,
 * param.h), so that its models score like XGBoost's (AUC parity; the trees are not XGBoost's, whose
 * random generator and quantile sketch are not reproduced):
 * - gradients of the logistic loss at the float32 margin: g = p - y, h = max(p(1 - p), 1e-16), both
 *   scaled by scale_pos_weight on failures;
 * - per node and feature, a histogram of g and h over the bins (model/gbdt-bins.ts); the smaller
 *   child's is built from its rows, its sibling's is the parent's minus it;
 * - a split's gain is gain(left) + gain(right) - gain(node) with gain = T(G)² / (H + lambda)
 *   (T: alpha's soft threshold), both children holding at least min_child_weight of hessian; the
 *   bins are scanned twice, missing values on the right then on the left (the second scan only when
 *   the node has missing values), so each split learns where missing values go;
 * - a split is taken when its gain exceeds 1e-6 and gamma, to max_depth (and max_leaves);
 * - a leaf's value is eta × -T(G) / (H + lambda) (clamped by max_delta_step), as float32;
 * - rows (subsample) per tree and features per tree / level / node (colsample_*) are drawn by a
 *   seeded generator: the same data and seed give the same model.
 * No allocation per row: gradients, margins, histograms and the row partition are typed arrays
 * allocated once per training.
 */
import { type BinCuts, type BinnedData, binCount } from './gbdt-bins';
import type { BoosterParameters } from './gbdt-parameters';
import { probabilityToMargin } from './xgboost';

/** XGBoost's kRtEps: a split must gain more than this. */
const MIN_GAIN = 1e-6;
const NO_PARENT = 2147483647;

/** One tree in XGBoost's node arrays (node 0 the root; children allocated in pairs, breadth first). */
export interface GrownTree {
  readonly left: number[];
  readonly right: number[];
  readonly parent: number[];
  readonly feature: number[];
  /** float32 split value at internal nodes; float32 leaf value at leaves (XGBoost's split_conditions). */
  readonly condition: number[];
  readonly defaultLeft: boolean[];
  readonly baseWeight: number[];
  readonly lossChange: number[];
  readonly sumHessian: number[];
}

export interface BoostedModel {
  readonly featureCount: number;
  readonly baseScore: number;
  readonly trees: GrownTree[];
  /** Set when early stopping chose the round (0-based) kept. */
  readonly bestIteration?: number;
  readonly bestScore?: number;
}

/** A seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** ThresholdL1: the gradient sum shrunk towards 0 by alpha. */
function shrink(sum: number, alpha: number): number {
  if (sum > alpha) return sum - alpha;
  if (sum < -alpha) return sum + alpha;
  return 0;
}

/** The split-finding arithmetic of XGBoost's TrainParam (CalcWeight, CalcGain). */
class Regularization {
  constructor(private readonly p: BoosterParameters) {}

  weight(sumGrad: number, sumHess: number): number {
    const { minChildWeight, lambda, alpha, maxDeltaStep } = this.p;
    if (sumHess < minChildWeight || sumHess <= 0) return 0;
    const weight = -shrink(sumGrad, alpha) / (sumHess + lambda);
    if (maxDeltaStep !== 0 && Math.abs(weight) > maxDeltaStep) return Math.sign(weight) * maxDeltaStep;
    return weight;
  }

  gain(sumGrad: number, sumHess: number): number {
    const { minChildWeight, lambda, alpha, maxDeltaStep } = this.p;
    if (sumHess < minChildWeight) return 0;
    if (maxDeltaStep === 0) {
      const shrunk = shrink(sumGrad, alpha);
      return (shrunk * shrunk) / (sumHess + lambda);
    }
    const weight = this.weight(sumGrad, sumHess);
    return -(2 * shrink(sumGrad, alpha) * weight + (sumHess + lambda) * weight * weight);
  }
}

interface Split {
  gain: number;
  feature: number;
  /** Present bins below it go left. */
  bin: number;
  defaultLeft: boolean;
  leftGrad: number;
  leftHess: number;
}

interface OpenNode {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly sumGrad: number;
  readonly sumHess: number;
  readonly histogram: Float64Array;
}

export interface BoostingData {
  readonly train: BinnedData;
  readonly labels: Float32Array;
}

/** Early stopping: the validation rows (binned with the training cuts) and the metric of their margins. */
export interface EarlyStopping {
  readonly rounds: number;
  readonly validation: BinnedData;
  readonly labels: Float32Array;
  readonly score: (labels: Float32Array, margins: Float32Array) => number;
  readonly higherIsBetter: boolean;
}

/**
 * Boosts `numRound` trees; with early stopping, ends when the validation score has not improved for
 * `rounds` rounds and keeps the trees up to the best round, as model/train.py keeps
 * `booster[: best_iteration + 1]`.
 */
export function boost(data: BoostingData, params: BoosterParameters, numRound: number, stopping?: EarlyStopping): BoostedModel {
  const grower = new TreeGrower(data.train, params);
  const baseMargin = probabilityToMargin(Math.fround(params.baseScore));
  const margins = new Float32Array(data.train.rowCount).fill(baseMargin);
  const validationMargins = new Float32Array(stopping?.validation.rowCount ?? 0).fill(baseMargin);
  const trees: GrownTree[] = [];
  let best: { round: number; score: number } | undefined;
  for (let round = 0; round < numRound; round += 1) {
    grower.gradients(data.labels, margins);
    const tree = grower.grow();
    trees.push(tree);
    grower.addToMargins(tree, margins);
    if (!stopping) continue;
    addTree(tree, stopping.validation, validationMargins);
    const score = stopping.score(stopping.labels, validationMargins);
    if (best === undefined || (stopping.higherIsBetter ? score > best.score : score < best.score)) best = { round, score };
    else if (round - best.round >= stopping.rounds) break;
  }
  const model = { featureCount: data.train.cuts.featureCount, baseScore: params.baseScore };
  if (!best) return { ...model, trees };
  return { ...model, trees: trees.slice(0, best.round + 1), bestIteration: best.round, bestScore: best.score };
}

/** Adds a tree's leaf values to the rows' float32 margins (traversal on the bins, equal to the split conditions). */
export function addTree(tree: GrownTree, data: BinnedData, margins: Float32Array): void {
  addTreeToRows(tree, data, margins, undefined, 0, data.rowCount);
}

/** addTree for the rows `rows[from..to)` (or the rows from..to when `rows` is absent). */
function addTreeToRows(tree: GrownTree, data: BinnedData, margins: Float32Array, rows: Int32Array | undefined, from: number, to: number): void {
  const nodes = tree.left.length;
  const left = Int32Array.from(tree.left);
  const right = Int32Array.from(tree.right);
  const splitBin = new Int32Array(nodes);
  const missingCode = new Int32Array(nodes);
  const leafValue = new Float32Array(nodes);
  for (let node = 0; node < nodes; node += 1) {
    if (left[node] < 0) {
      leafValue[node] = tree.condition[node];
      continue;
    }
    const feature = tree.feature[node];
    splitBin[node] = splitBinOf(data.cuts, feature, tree.condition[node]);
    missingCode[node] = binCount(data.cuts, feature);
  }
  const { codes } = data;
  for (let index = from; index < to; index += 1) {
    const row = rows ? rows[index] : index;
    let node = 0;
    while (left[node] >= 0) {
      const code = codes[tree.feature[node]][row];
      const goLeft = code === missingCode[node] ? tree.defaultLeft[node] : code < splitBin[node];
      node = goLeft ? left[node] : right[node];
    }
    margins[row] = Math.fround(margins[row] + leafValue[node]);
  }
}

/** The number of bins left of a split value (a cut value or the feature's minimum). */
function splitBinOf(cuts: BinCuts, feature: number, value: number): number {
  const start = cuts.cutStart[feature];
  const end = cuts.cutStart[feature + 1];
  for (let index = start; index < end; index += 1) if (cuts.cutValues[index] === value) return index - start + 1;
  return 0;
}

/** Grows one tree at a time on fixed binned data; holds every buffer the growth needs. */
class TreeGrower {
  private readonly grad: Float64Array;
  private readonly hess: Float64Array;
  private readonly rows: Int32Array;
  private readonly scratch: Int32Array;
  /** The gradient pairs of a node's rows, in partition order (scratch for buildHistogram). */
  private readonly pairs: Float64Array;
  private readonly slotStart: Int32Array;
  private readonly histogramPool: Float64Array[] = [];
  private readonly random: () => number;
  private readonly regularization: Regularization;
  /** The current tree's leaves: node id, start and end of its rows in `rows`, three numbers a leaf. */
  private readonly leafRanges: number[] = [];
  /** The number of rows the current tree was grown on (the first in `rows`). */
  private sampledCount = 0;
  /** Features with two bins, or present and missing values: the others cannot split. */
  private readonly splittable: boolean[];

  constructor(
    private readonly data: BinnedData,
    private readonly params: BoosterParameters,
  ) {
    const { rowCount, cuts } = data;
    this.grad = new Float64Array(rowCount);
    this.hess = new Float64Array(rowCount);
    this.rows = new Int32Array(rowCount);
    this.scratch = new Int32Array(rowCount);
    this.pairs = new Float64Array(2 * rowCount);
    this.slotStart = new Int32Array(cuts.featureCount + 1);
    for (let feature = 0; feature < cuts.featureCount; feature += 1) this.slotStart[feature + 1] = this.slotStart[feature] + binCount(cuts, feature) + 1;
    this.splittable = data.codes.map((codes, feature) => {
      const bins = binCount(cuts, feature);
      return bins >= 2 || (codes.includes(bins) && codes.some((code) => code !== bins));
    });
    this.random = seededRandom(params.seed);
    this.regularization = new Regularization(params);
  }

  /** The logistic loss's gradient pairs at the current margins. */
  gradients(labels: Float32Array, margins: Float32Array): void {
    const { grad, hess } = this;
    const positiveWeight = this.params.scalePosWeight;
    for (let row = 0; row < labels.length; row += 1) {
      const p = Math.fround(1 / (1 + Math.exp(-margins[row])));
      const weight = labels[row] === 1 ? positiveWeight : 1;
      grad[row] = (p - labels[row]) * weight;
      hess[row] = Math.max(p * (1 - p), 1e-16) * weight;
    }
  }

  grow(): GrownTree {
    const tree: GrownTree = { left: [], right: [], parent: [], feature: [], condition: [], defaultLeft: [], baseWeight: [], lossChange: [], sumHessian: [] };
    const rowCount = this.sampleRows();
    this.sampledCount = rowCount;
    this.leafRanges.length = 0;
    // Sampled from every feature, as XGBoost samples; only those that can split get histograms.
    const treeFeatures = this.sampleFeatures(range(this.data.cuts.featureCount), this.params.colsampleByTree).filter((feature) => this.splittable[feature]);
    let sumGrad = 0;
    let sumHess = 0;
    for (let index = 0; index < rowCount; index += 1) {
      sumGrad += this.grad[this.rows[index]];
      sumHess += this.hess[this.rows[index]];
    }
    addNode(tree, NO_PARENT);
    const root: OpenNode = { id: 0, start: 0, end: rowCount, sumGrad, sumHess, histogram: this.buildHistogram(0, rowCount, treeFeatures) };
    this.setLeaf(tree, root);
    let level: OpenNode[] = [root];
    let leaves = 1;
    for (let depth = 0; level.length > 0; depth += 1) {
      const levelFeatures = this.sampleFeatures(treeFeatures, this.params.colsampleByLevel);
      const next: OpenNode[] = [];
      for (const node of level) {
        const split = depth < this.params.maxDepth && (this.params.maxLeaves === 0 || leaves < this.params.maxLeaves)
          ? this.bestSplit(node, this.sampleFeatures(levelFeatures, this.params.colsampleByNode))
          : undefined;
        if (split) {
          next.push(...this.applySplit(tree, node, split, treeFeatures));
          leaves += 1;
        } else {
          this.leafRanges.push(node.id, node.start, node.end);
        }
        this.histogramPool.push(node.histogram);
      }
      level = next;
    }
    return tree;
  }

  /**
   * Adds the tree just grown to the training rows' margins: a drawn row's leaf is known from the
   * partition (XGBoost's prediction cache), only the rows left out by subsample are walked down.
   */
  addToMargins(tree: GrownTree, margins: Float32Array): void {
    const { rows, leafRanges } = this;
    for (let at = 0; at < leafRanges.length; at += 3) {
      const value = tree.condition[leafRanges[at]];
      for (let index = leafRanges[at + 1]; index < leafRanges[at + 2]; index += 1) margins[rows[index]] = Math.fround(margins[rows[index]] + value);
    }
    addTreeToRows(tree, this.data, margins, rows, this.sampledCount, this.data.rowCount);
  }

  /** Uniform row sampling: the rows drawn first in `rows` (their number answered), the others after them. */
  private sampleRows(): number {
    const { rows, scratch } = this;
    const { subsample } = this.params;
    let count = 0;
    let left = 0;
    for (let row = 0; row < this.data.rowCount; row += 1) {
      if (subsample >= 1 || this.random() < subsample) rows[count++] = row;
      else scratch[left++] = row;
    }
    rows.set(scratch.subarray(0, left), count);
    return count;
  }

  /** max(1, floor(fraction × n)) of `features`, drawn without replacement, in feature order (XGBoost's ColumnSampler). */
  private sampleFeatures(features: readonly number[], fraction: number): number[] {
    if (fraction >= 1) return [...features];
    const count = Math.max(1, Math.floor(fraction * features.length));
    const shuffled = [...features];
    for (let index = shuffled.length - 1; index > 0; index -= 1) {
      const other = Math.floor(this.random() * (index + 1));
      [shuffled[index], shuffled[other]] = [shuffled[other], shuffled[index]];
    }
    return shuffled.slice(0, count).sort((a, b) => a - b);
  }

  private takeHistogram(): Float64Array {
    const reused = this.histogramPool.pop();
    if (reused) return reused.fill(0);
    return new Float64Array(2 * this.slotStart[this.data.cuts.featureCount]);
  }

  /**
   * Sums g and h per bin (missing values in each feature's last slot) over the rows in [start, end).
   * The rows' gradient pairs are gathered once, so each feature's pass reads them in sequence.
   */
  private buildHistogram(start: number, end: number, features: readonly number[]): Float64Array {
    const histogram = this.takeHistogram();
    const { rows, grad, hess, slotStart, pairs } = this;
    const count = end - start;
    for (let index = 0; index < count; index += 1) {
      const row = rows[start + index];
      pairs[2 * index] = grad[row];
      pairs[2 * index + 1] = hess[row];
    }
    // Four features a pass: each row's index and gradient pair are read once for the four.
    let next = 0;
    for (; next + 4 <= features.length; next += 4) {
      const [f0, f1, f2, f3] = [features[next], features[next + 1], features[next + 2], features[next + 3]];
      const [c0, c1, c2, c3] = [this.data.codes[f0], this.data.codes[f1], this.data.codes[f2], this.data.codes[f3]];
      const [o0, o1, o2, o3] = [2 * slotStart[f0], 2 * slotStart[f1], 2 * slotStart[f2], 2 * slotStart[f3]];
      for (let index = 0; index < count; index += 1) {
        const row = rows[start + index];
        const g = pairs[2 * index];
        const h = pairs[2 * index + 1];
        const s0 = o0 + 2 * c0[row];
        const s1 = o1 + 2 * c1[row];
        const s2 = o2 + 2 * c2[row];
        const s3 = o3 + 2 * c3[row];
        histogram[s0] += g;
        histogram[s0 + 1] += h;
        histogram[s1] += g;
        histogram[s1 + 1] += h;
        histogram[s2] += g;
        histogram[s2 + 1] += h;
        histogram[s3] += g;
        histogram[s3 + 1] += h;
      }
    }
    for (; next < features.length; next += 1) {
      const codes = this.data.codes[features[next]];
      const offset = 2 * slotStart[features[next]];
      for (let index = 0; index < count; index += 1) {
        const slot = offset + 2 * codes[rows[start + index]];
        histogram[slot] += pairs[2 * index];
        histogram[slot + 1] += pairs[2 * index + 1];
      }
    }
    return histogram;
  }

  private subtractHistogram(parent: Float64Array, child: Float64Array, features: readonly number[]): Float64Array {
    const sibling = this.takeHistogram();
    for (const feature of features) {
      for (let slot = 2 * this.slotStart[feature]; slot < 2 * this.slotStart[feature + 1]; slot += 1) sibling[slot] = parent[slot] - child[slot];
    }
    return sibling;
  }

  private bestSplit(node: OpenNode, features: readonly number[]): Split | undefined {
    const { regularization: reg } = this;
    const { minChildWeight, gamma } = this.params;
    const { histogram, sumGrad, sumHess } = node;
    const rootGain = reg.gain(sumGrad, sumHess);
    let best: Split | undefined;
    const consider = (gain: number, feature: number, bin: number, defaultLeft: boolean, leftGrad: number, leftHess: number) => {
      if (best === undefined ? gain > -Infinity : gain > best.gain) best = { gain, feature, bin, defaultLeft, leftGrad, leftHess };
    };
    for (const feature of features) {
      const offset = 2 * this.slotStart[feature];
      const bins = binCount(this.data.cuts, feature);
      // Missing values go right: the left side grows bin by bin.
      let grad = 0;
      let hess = 0;
      for (let bin = 0; bin < bins; bin += 1) {
        grad += histogram[offset + 2 * bin];
        hess += histogram[offset + 2 * bin + 1];
        if (hess >= minChildWeight && sumHess - hess >= minChildWeight) {
          consider(reg.gain(grad, hess) + reg.gain(sumGrad - grad, sumHess - hess) - rootGain, feature, bin + 1, false, grad, hess);
        }
      }
      if (!(histogram[offset + 2 * bins + 1] > 1e-12 * sumHess)) continue;
      // Missing values go left: the right side grows from the last bin down.
      grad = 0;
      hess = 0;
      for (let bin = bins - 1; bin >= 0; bin -= 1) {
        grad += histogram[offset + 2 * bin];
        hess += histogram[offset + 2 * bin + 1];
        if (hess >= minChildWeight && sumHess - hess >= minChildWeight) {
          consider(reg.gain(sumGrad - grad, sumHess - hess) + reg.gain(grad, hess) - rootGain, feature, bin, true, sumGrad - grad, sumHess - hess);
        }
      }
    }
    const found = best as Split | undefined;
    if (!found || !(found.gain > MIN_GAIN) || found.gain < gamma || found.leftHess <= 0 || sumHess - found.leftHess <= 0) return undefined;
    return found;
  }

  /** Makes `node` a split and answers its two children, histograms built (the smaller) and subtracted (the other). */
  private applySplit(tree: GrownTree, node: OpenNode, split: Split, features: readonly number[]): OpenNode[] {
    const { cuts } = this.data;
    const missing = binCount(cuts, split.feature);
    const codes = this.data.codes[split.feature];
    // Stable partition of the node's rows: left ones in place, right ones through the scratch buffer.
    let leftEnd = node.start;
    let rightCount = 0;
    for (let index = node.start; index < node.end; index += 1) {
      const row = this.rows[index];
      const code = codes[row];
      if (code === missing ? split.defaultLeft : code < split.bin) this.rows[leftEnd++] = row;
      else this.scratch[rightCount++] = row;
    }
    this.rows.set(this.scratch.subarray(0, rightCount), leftEnd);
    const leftId = addNode(tree, node.id);
    const rightId = addNode(tree, node.id);
    tree.left[node.id] = leftId;
    tree.right[node.id] = rightId;
    tree.feature[node.id] = split.feature;
    tree.condition[node.id] = split.bin === 0 ? cuts.minValues[split.feature] : cuts.cutValues[cuts.cutStart[split.feature] + split.bin - 1];
    tree.defaultLeft[node.id] = split.defaultLeft;
    tree.lossChange[node.id] = Math.fround(split.gain);
    tree.baseWeight[node.id] = Math.fround(this.regularization.weight(node.sumGrad, node.sumHess));
    const leftSmaller = leftEnd - node.start <= node.end - leftEnd;
    const [smallStart, smallEnd] = leftSmaller ? [node.start, leftEnd] : [leftEnd, node.end];
    const small = this.buildHistogram(smallStart, smallEnd, features);
    const large = this.subtractHistogram(node.histogram, small, features);
    const left: OpenNode = { id: leftId, start: node.start, end: leftEnd, sumGrad: split.leftGrad, sumHess: split.leftHess, histogram: leftSmaller ? small : large };
    const right: OpenNode = { id: rightId, start: leftEnd, end: node.end, sumGrad: node.sumGrad - split.leftGrad, sumHess: node.sumHess - split.leftHess, histogram: leftSmaller ? large : small };
    this.setLeaf(tree, left);
    this.setLeaf(tree, right);
    return [left, right];
  }

  /** A leaf's value, eta × weight in float32 (overwritten when the node is split). */
  private setLeaf(tree: GrownTree, node: OpenNode): void {
    const value = Math.fround(this.params.eta * this.regularization.weight(node.sumGrad, node.sumHess));
    tree.condition[node.id] = value;
    tree.baseWeight[node.id] = value;
    tree.sumHessian[node.id] = Math.fround(node.sumHess);
  }
}

function addNode(tree: GrownTree, parent: number): number {
  const id = tree.left.length;
  tree.left.push(-1);
  tree.right.push(-1);
  tree.parent.push(parent);
  tree.feature.push(0);
  tree.condition.push(0);
  tree.defaultLeft.push(false);
  tree.baseWeight.push(0);
  tree.lossChange.push(0);
  tree.sumHessian.push(0);
  return id;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}
