/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee, "Consistent Individualized Feature Attribution
 * for Tree Ensembles", 2018, Algorithm 2) over the compiled forest of model/xgboost.ts, weighting paths
 * by each node's `sum_hessian` as XGBoost does. The result matches XGBoost's
 * `Booster.predict(pred_contribs=True)`: one value per feature plus the bias (last), in margin space,
 * summing to the margin. XGBoost accumulates in float32, this in double, so they agree to ~1e-6.
 */
import { CompiledForest, XGBoostModel } from './xgboost';

export interface TreeExplainer {
  readonly featureCount: number;
  /**
   * Contributions of each feature to the row's margin, then the bias (`featureCount + 1` values).
   * The row is read as the scorer reads it: float32, NaN or a missing tail = missing.
   */
  contributions(row: ArrayLike<number>, out?: Float64Array): Float64Array;
}

const explainers = new WeakMap<XGBoostModel, TreeExplainer>();

/** TreeSHAP contributions of one row (an explainer is built once per model and reused). */
export function contributions(model: XGBoostModel, row: ArrayLike<number>): Float64Array {
  let explainer = explainers.get(model);
  if (!explainer) {
    explainer = createTreeExplainer(model);
    explainers.set(model, explainer);
  }
  return explainer.contributions(row);
}

export function createTreeExplainer(model: XGBoostModel): TreeExplainer {
  return new PathDependentTreeShap(model);
}

class PathDependentTreeShap implements TreeExplainer {
  readonly featureCount: number;
  private readonly forest: CompiledForest;
  /** Base margin plus every tree's cover-weighted mean leaf value: the expected margin. */
  private readonly bias: number;
  private readonly row: Float32Array;
  // The "unique path" of Algorithm 2 for every level of the recursion, one arena (no allocation per row).
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  private phi: Float64Array = new Float64Array(0);

  constructor(model: XGBoostModel) {
    this.featureCount = model.featureCount;
    this.forest = model.forest;
    this.row = new Float32Array(model.featureCount);
    let bias = model.baseMargin;
    for (let tree = 0; tree < this.forest.treeCount; tree += 1) bias += this.meanValue(this.forest.treeRoots[tree]);
    this.bias = bias;
    const levels = this.forest.maxDepth + 2;
    const size = (levels * (levels + 1)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
  }

  contributions(row: ArrayLike<number>, out = new Float64Array(this.featureCount + 1)): Float64Array {
    if (row.length > this.featureCount) throw new RangeError(`the row has ${row.length} values, the model ${this.featureCount} features`);
    if (out.length !== this.featureCount + 1) throw new RangeError(`out must hold ${this.featureCount + 1} values`);
    for (let index = 0; index < row.length; index += 1) this.row[index] = row[index];
    this.row.fill(NaN, row.length);
    out.fill(0);
    this.phi = out;
    for (let tree = 0; tree < this.forest.treeCount; tree += 1) this.recurse(this.forest.treeRoots[tree], -1, 0, 1, 1, -1);
    out[this.featureCount] = this.bias;
    return out;
  }

  /** XGBoost's FillNodeMeanValue, in float32 as there: the cover-weighted mean of a subtree's leaves. */
  private meanValue(node: number): number {
    const { splitFeature, leftChild, leafValue, cover } = this.forest;
    if (splitFeature[node] < 0) return leafValue[node];
    const left = leftChild[node];
    const weighted = Math.fround(Math.fround(this.meanValue(left) * cover[left]) + Math.fround(this.meanValue(left + 1) * cover[left + 1]));
    return Math.fround(weighted / cover[node]);
  }

  /**
   * One node of Algorithm 2. The path of this call lives at `base = parentBase + depth + 1` in the
   * arena, a copy of the parent's extended by the split that led here.
   */
  private recurse(node: number, parentBase: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
    const { splitFeature, leftChild, missingChild, threshold, leafValue, cover } = this.forest;
    const base = parentBase + depth + 1;
    for (let index = 0; index < depth; index += 1) {
      this.pathFeature[base + index] = this.pathFeature[parentBase + index];
      this.pathZero[base + index] = this.pathZero[parentBase + index];
      this.pathOne[base + index] = this.pathOne[parentBase + index];
      this.pathWeight[base + index] = this.pathWeight[parentBase + index];
    }
    this.extendPath(base, depth, zeroFraction, oneFraction, feature);

    const split = splitFeature[node];
    if (split < 0) {
      const value = leafValue[node];
      for (let index = 1; index <= depth; index += 1) {
        const weight = this.unwoundPathSum(base, depth, index);
        this.phi[this.pathFeature[base + index]] += weight * (this.pathOne[base + index] - this.pathZero[base + index]) * value;
      }
      return;
    }

    const x = this.row[split];
    const left = leftChild[node];
    const hot = x < threshold[node] ? left : x >= threshold[node] ? left + 1 : missingChild[node];
    const cold = hot === left ? left + 1 : left;
    let incomingZero = 1;
    let incomingOne = 1;
    let uniqueDepth = depth;
    // A feature already on the path is taken off and re-added with this split's fractions.
    for (let index = 0; index <= depth; index += 1) {
      if (this.pathFeature[base + index] === split) {
        incomingZero = this.pathZero[base + index];
        incomingOne = this.pathOne[base + index];
        this.unwindPath(base, depth, index);
        uniqueDepth -= 1;
        break;
      }
    }
    this.recurse(hot, base, uniqueDepth + 1, (cover[hot] / cover[node]) * incomingZero, incomingOne, split);
    this.recurse(cold, base, uniqueDepth + 1, (cover[cold] / cover[node]) * incomingZero, 0, split);
  }

  private extendPath(base: number, depth: number, zero: number, one: number, feature: number): void {
    const weight = this.pathWeight;
    this.pathFeature[base + depth] = feature;
    this.pathZero[base + depth] = zero;
    this.pathOne[base + depth] = one;
    weight[base + depth] = depth === 0 ? 1 : 0;
    for (let index = depth - 1; index >= 0; index -= 1) {
      weight[base + index + 1] += (one * weight[base + index] * (index + 1)) / (depth + 1);
      weight[base + index] = (zero * weight[base + index] * (depth - index)) / (depth + 1);
    }
  }

  private unwindPath(base: number, depth: number, pathIndex: number): void {
    const weight = this.pathWeight;
    const one = this.pathOne[base + pathIndex];
    const zero = this.pathZero[base + pathIndex];
    let next = weight[base + depth];
    for (let index = depth - 1; index >= 0; index -= 1) {
      if (one !== 0) {
        const previous = weight[base + index];
        weight[base + index] = (next * (depth + 1)) / ((index + 1) * one);
        next = previous - (weight[base + index] * zero * (depth - index)) / (depth + 1);
      } else {
        weight[base + index] = (weight[base + index] * (depth + 1)) / (zero * (depth - index));
      }
    }
    for (let index = pathIndex; index < depth; index += 1) {
      this.pathFeature[base + index] = this.pathFeature[base + index + 1];
      this.pathZero[base + index] = this.pathZero[base + index + 1];
      this.pathOne[base + index] = this.pathOne[base + index + 1];
    }
  }

  /** The total weight of the path with element `pathIndex` unwound, without changing the path. */
  private unwoundPathSum(base: number, depth: number, pathIndex: number): number {
    const weight = this.pathWeight;
    const one = this.pathOne[base + pathIndex];
    const zero = this.pathZero[base + pathIndex];
    let next = weight[base + depth];
    let total = 0;
    for (let index = depth - 1; index >= 0; index -= 1) {
      if (one !== 0) {
        const share = (next * (depth + 1)) / ((index + 1) * one);
        total += share;
        next = weight[base + index] - share * zero * ((depth - index) / (depth + 1));
      } else if (zero !== 0) {
        total += weight[base + index] / zero / ((depth - index) / (depth + 1));
      }
    }
    return total;
  }
}
