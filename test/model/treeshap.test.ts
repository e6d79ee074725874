import { loadXGBoostModel, parseCsvRows } from '../../model/xgboost';
import { contributions, createTreeExplainer } from '../../model/treeshap';
import { fixtureBytes, fixtureMeta, fixtureText, scorerFixtures } from '../../model/fixtures/scorer-fixture';

const fixtures = scorerFixtures();
if (fixtures.skipNote) console.warn(fixtures.skipNote);

describe.each(fixtures.sources)("TreeSHAP against the $label fixture's pred_contribs", ({ dir }) => {
  const model = loadXGBoostModel(fixtureText(dir, 'model.json'));
  const rows = parseCsvRows(fixtureBytes(dir, 'rows.csv.gz'));
  const expected = fixtureText(dir, 'contribs.csv.gz').trim().split('\n').map((line) => line.split(',').map(Number));
  const rowAt = (row: number) => rows.values.subarray(row * rows.columnCount, (row + 1) * rows.columnCount);

  it.each([
    ['looking every leaf up in its precomputed table', {}],
    ['walking every tree per row (Algorithm 2)', { tableBudget: 0 }],
  ])('matches XGBoost predict(pred_contribs=True) within 1e-5 on every feature and the bias, %s', (_how, options) => {
    expect(expected).toHaveLength(fixtureMeta(dir).contrib_rows);
    const explainer = createTreeExplainer(model, options);
    let worst = { difference: 0, row: -1, column: -1 };
    expected.forEach((want, row) => {
      const got = explainer.contributions(rowAt(row));
      expect(got).toHaveLength(model.featureCount + 1);
      want.forEach((value, column) => {
        const difference = Math.abs(got[column] - value);
        if (difference > worst.difference) worst = { difference, row, column };
      });
    });
    expect(worst.difference).toBeLessThan(1e-5);
  });

  it('gives the same answer when only the trees that fit the table budget are precomputed', () => {
    const full = createTreeExplainer(model);
    const walked = createTreeExplainer(model, { tableBudget: 0 });
    const mixed = createTreeExplainer(model, { tableBudget: 20_000 }); // some trees' tables (~9 of 80 here), the rest walked
    const withMissing = new Float32Array(model.featureCount);
    for (let row = 0; row < 300; row += 1) {
      withMissing.set(rowAt(row));
      withMissing[row % model.featureCount] = NaN;
      const want = walked.contributions(withMissing);
      for (const explainer of [full, mixed]) {
        const got = explainer.contributions(withMissing);
        // Table entries are float32, as XGBoost's own contributions are.
        want.forEach((value, column) => expect(Math.abs(got[column] - value)).toBeLessThan(1e-6));
      }
    }
  });

  it('rejects a table budget that is not a whole number of entries, or too large for 32-bit offsets', () => {
    expect(() => createTreeExplainer(model, { tableBudget: -1 })).toThrow('tableBudget must be a whole number from 0 to 1073741824, got -1');
    expect(() => createTreeExplainer(model, { tableBudget: 0.5 })).toThrow('tableBudget must be a whole number from 0 to 1073741824, got 0.5');
    expect(() => createTreeExplainer(model, { tableBudget: 2 ** 31 })).toThrow('tableBudget must be a whole number from 0 to 1073741824, got 2147483648');
  });

  it('adds up, with the bias, to the margin the scorer computes', () => {
    for (let row = 0; row < 500; row += 1) {
      const total = contributions(model, rowAt(row)).reduce((sum, value) => sum + value, 0);
      expect(Math.abs(total - model.predictMargin(rowAt(row)))).toBeLessThan(1e-5);
    }
  });

  it('gives features no tree splits on a contribution of exactly zero', () => {
    const used = new Set(model.forest.splitFeature.filter((feature) => feature >= 0));
    const values = contributions(model, rowAt(0));
    for (let feature = 0; feature < model.featureCount; feature += 1) {
      if (!used.has(feature)) expect(values[feature]).toBe(0);
    }
  });
});

describe('TreeSHAP on a model small enough to check by hand', () => {
  // One tree: f0 < 0.5 → (f1 < 2 → leaf -2 [cover 10] | leaf 0 [cover 30]) | leaf 4 [cover 20]; missing f0 goes left.
  const model = loadXGBoostModel({
    version: [1, 7, 4],
    learner: {
      attributes: {},
      feature_names: [],
      learner_model_param: { base_score: '5E-1', num_class: '0', num_feature: '3', num_target: '1' },
      objective: { name: 'binary:logistic' },
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: '1' },
          tree_info: [0],
          trees: [{
            tree_param: { num_nodes: '5' },
            left_children: [1, 3, -1, -1, -1], right_children: [2, 4, -1, -1, -1], split_indices: [0, 1, 0, 0, 0],
            split_conditions: [0.5, 2, 4, -2, 0], default_left: [1, 0, 0, 0, 0], sum_hessian: [60, 40, 20, 10, 30],
          }],
        },
      },
    },
  });
  // E[f] = (10·-2 + 30·0 + 20·4) / 60 = 1.
  const expectedValue = 1;

  it('puts the expected value in the bias', () => {
    expect(contributions(model, [0, 0, 0])[3]).toBeCloseTo(expectedValue, 12);
  });

  it.each([
    ['walking the tree, in double precision', { tableBudget: 0 }, 12],
    ['from the leaf tables, to float32 precision (what XGBoost returns)', {}, 6],
  ])('splits the difference between the two features by Shapley weighting, %s', (_how, options, digits) => {
    // Row (0, 0): leaf -2. φ0 = ½[(E[f|x0] - E) + (f(x) - E[f|x1])]: E[f|x0] = (10·-2 + 30·0)/40 = -0.5,
    // E[f|x1] = (40/60)·-2 + (20/60)·4 = 0, f(x) = -2 → φ0 = ½(-1.5 + -2) = -1.75, φ1 = -3 - φ0 = -1.25.
    const values = createTreeExplainer(model, options).contributions([0, 0, 7]);
    expect(values[0]).toBeCloseTo(-1.75, digits);
    expect(values[1]).toBeCloseTo(-1.25, digits);
    expect(values[2]).toBe(0);
  });

  it('follows the default branch for a missing value', () => {
    // f0 missing goes left, exactly like f0 = 0.
    expect(Array.from(contributions(model, [NaN, 0]))).toEqual(Array.from(contributions(model, [0, 0])));
  });
});
