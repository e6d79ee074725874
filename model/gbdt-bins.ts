/**
 * Histogram binning for the embedded trainer, as XGBoost's `hist` method bins: per feature, cut
 * values from the quantiles of its present values (at most `maxBin` bins); a value's bin is the
 * number of cuts at or below it, so bin b holds the values in [cut[b-1], cut[b]) and a split after
 * bin b is the XGBoost condition `x < cut[b]`. The cuts are float32, as XGBoost stores them, and
 * so are the values (the CSV loader reads float32).
 *
 * Data is column-major: one array of bin codes per feature (Uint8Array when every feature's codes
 * fit in a byte), the missing code of a feature being its bin count (a histogram slot of its own
 * that split finding never reads: missing statistics are the node's total minus the present bins).
 */

export interface BinCuts {
  readonly featureCount: number;
  /** Cut values of feature f: cutValues[cutStart[f] .. cutStart[f + 1]). */
  readonly cutStart: Int32Array;
  readonly cutValues: Float32Array;
  /** The smallest present value of each feature (the split value that sends every present value right). */
  readonly minValues: Float32Array;
}

export interface BinnedData {
  readonly rowCount: number;
  readonly cuts: BinCuts;
  /** Bin codes by feature, one entry per row; the code cutCount(f) is missing. */
  readonly codes: readonly (Uint8Array | Uint16Array)[];
}

/** The number of bins of feature f (also its missing code). */
export function binCount(cuts: BinCuts, feature: number): number {
  return cuts.cutStart[feature + 1] - cuts.cutStart[feature];
}

/**
 * Cuts from the training values (row-major float32, NaN missing). With at most maxBin distinct
 * values every value is a cut point (the smallest excepted: nothing is below it); with more, the
 * cuts are evenly spaced ranks of the sorted values. The last cut lies above the largest value, as
 * XGBoost's `max + (|max| + 1e-5)`.
 */
export function computeCuts(values: Float32Array, rowCount: number, featureCount: number, maxBin: number): BinCuts {
  const cutStart = new Int32Array(featureCount + 1);
  const minValues = new Float32Array(featureCount);
  const perFeature: Float32Array[] = [];
  const column = new Float32Array(rowCount);
  for (let feature = 0; feature < featureCount; feature += 1) {
    let present = 0;
    for (let row = 0; row < rowCount; row += 1) {
      const value = values[row * featureCount + feature];
      if (value === value) column[present++] = value;
    }
    const sorted = column.subarray(0, present).sort();
    const cuts = featureCuts(sorted, maxBin);
    perFeature.push(cuts);
    minValues[feature] = present > 0 ? Math.fround(sorted[0] - (Math.abs(sorted[0]) + 1e-5)) : 0;
    cutStart[feature + 1] = cutStart[feature] + cuts.length;
  }
  const cutValues = new Float32Array(cutStart[featureCount]);
  perFeature.forEach((cuts, feature) => cutValues.set(cuts, cutStart[feature]));
  return { featureCount, cutStart, cutValues, minValues };
}

function featureCuts(sorted: Float32Array, maxBin: number): Float32Array {
  if (sorted.length === 0) return new Float32Array([Math.fround(1e-5)]);
  const distinct: number[] = [];
  for (let index = 0; index < sorted.length; index += 1) {
    if (index === 0 || sorted[index] !== sorted[index - 1]) distinct.push(sorted[index]);
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBin) {
    for (let index = 1; index < distinct.length; index += 1) cuts.push(distinct[index]);
  } else {
    for (let bin = 1; bin < maxBin; bin += 1) {
      const value = sorted[Math.floor((bin * sorted.length) / maxBin)];
      if (value > sorted[0] && (cuts.length === 0 || value > cuts[cuts.length - 1])) cuts.push(value);
    }
  }
  const largest = sorted[sorted.length - 1];
  cuts.push(Math.fround(largest + (Math.abs(largest) + 1e-5)));
  return Float32Array.from(cuts);
}

/** Bins row-major float32 values (NaN missing) with `cuts`; a value above every cut takes the last bin. */
export function binValues(values: Float32Array, rowCount: number, columnCount: number, cuts: BinCuts): BinnedData {
  const { featureCount, cutStart, cutValues } = cuts;
  let widest = 0;
  for (let feature = 0; feature < featureCount; feature += 1) widest = Math.max(widest, binCount(cuts, feature));
  const codes: (Uint8Array | Uint16Array)[] = [];
  for (let feature = 0; feature < featureCount; feature += 1) {
    const column = widest < 256 ? new Uint8Array(rowCount) : new Uint16Array(rowCount);
    const start = cutStart[feature];
    const bins = cutStart[feature + 1] - start;
    for (let row = 0; row < rowCount; row += 1) {
      const value = feature < columnCount ? values[row * columnCount + feature] : NaN;
      if (value !== value) {
        column[row] = bins;
        continue;
      }
      // Upper bound: the first cut above the value.
      let low = 0;
      let high = bins;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cutValues[start + middle] <= value) low = middle + 1;
        else high = middle;
      }
      column[row] = Math.min(low, bins - 1);
    }
    codes.push(column);
  }
  return { rowCount, cuts, codes };
}
