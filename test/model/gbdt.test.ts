import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedTrainingError, runEmbeddedTraining } from '../../model/embedded-training';
import { binValues, computeCuts } from '../../model/gbdt-bins';
import { boost, seededRandom } from '../../model/gbdt';
import { shortestFloat32, xgboostModelJson } from '../../model/gbdt-json';
import { readTrainerParameters } from '../../model/gbdt-parameters';
import { tarGzip } from '../../model/tar';
import { DEFAULT_HYPERPARAMETERS_FILE, readHyperparameters } from '../../model/training';
import { loadXGBoostModel } from '../../model/xgboost';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The embedded trainer (model/gbdt*.ts, model/embedded-training.ts) without Python: its
 * hyperparameters read as train.py reads them, XGBoost's hist rules (cuts, learned directions for
 * missing values, min_child_weight, gamma, depth), determinism for a seed, the model file, and
 * train.py's job contract (channels, window mode, evaluation.json). Parity with XGBoost 1.7.4 is
 * test/model/gbdt-parity.test.ts.
 */

const tempDir = scratchDirs('gbdt');
const SHIPPED_HYPERPARAMETERS = readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE);

interface Rows {
  readonly labels: Float32Array;
  readonly values: Float32Array;
  readonly rowCount: number;
  readonly columnCount: number;
}

/** Rows from a generator of [label, ...features] (NaN missing), seeded. */
function rowsOf(count: number, columns: number, make: (random: () => number) => number[], seed = 1): Rows {
  const random = seededRandom(seed);
  const labels = new Float32Array(count);
  const values = new Float32Array(count * columns);
  for (let row = 0; row < count; row += 1) {
    const [label, ...features] = make(random);
    labels[row] = label;
    values.set(features, row * columns);
  }
  return { labels, values, rowCount: count, columnCount: columns };
}

function train(rows: Rows, hyperparameters: Record<string, string>) {
  const { booster, numRound } = readTrainerParameters({ num_round: '1', ...hyperparameters });
  const cuts = computeCuts(rows.values, rows.rowCount, rows.columnCount, booster.maxBin);
  return boost({ train: binValues(rows.values, rows.rowCount, rows.columnCount, cuts), labels: rows.labels }, booster, numRound);
}

function csv(rows: Rows): string {
  const lines: string[] = [];
  for (let row = 0; row < rows.rowCount; row += 1) {
    const values = Array.from(rows.values.subarray(row * rows.columnCount, (row + 1) * rows.columnCount), (value) => (Number.isNaN(value) ? '' : String(value)));
    lines.push([rows.labels[row], ...values].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** A failure is likelier with a larger first feature; the second is noise. */
const signal = (random: () => number) => {
  const x = random();
  return [random() < 0.1 + 0.6 * x ? 1 : 0, x, random()];
};

describe('the embedded trainer: hyperparameters, as train.py reads them', () => {
  it("reads model/hyperparameters.json's strings", () => {
    const { booster, numRound, earlyStoppingRounds, window } = readTrainerParameters(SHIPPED_HYPERPARAMETERS);
    expect(numRound).toBe(300);
    expect(booster).toMatchObject({ eta: 0.05, maxDepth: 4, minChildWeight: 5, subsample: 0.8, colsampleByTree: 0.8, seed: 0, maxBin: 256, baseScore: 0.5, lambda: 1, alpha: 0 });
    expect(booster.evalMetric).toEqual(['auc']);
    expect(earlyStoppingRounds).toBeUndefined();
    expect(window).toBeUndefined();
  });

  it('takes JSON-encoded values (the Python SDK), ignores the script-mode keys and reads the window drift sends', () => {
    const { booster, window } = readTrainerParameters({
      num_round: '"10"',
      eta: '"0.1"',
      sagemaker_program: 'train.py',
      sagemaker_submit_directory: 's3://models/code/sourcedir.tar.gz',
      window_from: '2015-01-01',
      window_to: '2015-03-31',
    });
    expect(booster.eta).toBe(0.1);
    expect(window).toEqual({ from: '2015-01-01', to: '2015-03-31', validationFraction: 0.2 });
  });

  it.each([
    [{ num_round: '10', max_dept: '4' }, 'unknown hyperparameter(s): max_dept'],
    [{ eta: '0.1' }, 'hyperparameter num_round is required'],
    [{ num_round: '0' }, "hyperparameter num_round must be a whole number >= 1, got '0'"],
    [{ num_round: '10', subsample: '1.5' }, "hyperparameter subsample must be in (0, 1], got '1.5'"],
    [{ num_round: '10', objective: 'reg:squarederror' }, 'objective must be binary:logistic, got reg:squarederror'],
    [{ num_round: '10', window_from: '2015-01-01' }, 'hyperparameters window_from and window_to go together (got only window_from)'],
    [{ num_round: '10', grow_policy: 'lossguide' }, 'hyperparameter grow_policy=lossguide is not supported by the embedded trainer (it supports depthwise); train with --trainer xgboost'],
    [{ num_round: '10', eval_metric: 'map' }, 'eval_metric map is not supported by the embedded trainer (it computes auc, logloss, error); train with --trainer xgboost'],
  ])('refuses %j: %s', (hyperparameters, message) => {
    expect(() => readTrainerParameters(hyperparameters)).toThrow(message);
  });
});

describe('the embedded trainer: histogram trees as XGBoost hist grows them', () => {
  it('cuts a feature at each distinct value above the smallest, the last cut above the largest', () => {
    const values = Float32Array.from([3, 1, NaN, 2, 1, 3]);
    const cuts = computeCuts(values, 6, 1, 256);
    expect([...cuts.cutValues]).toEqual([2, 3, Math.fround(3 + 3 + 1e-5)]);
    // Bin b holds [cut[b-1], cut[b]); a missing value takes the code after the last bin.
    expect([...binValues(values, 6, 1, cuts).codes[0]]).toEqual([2, 0, 3, 1, 0, 2]);
    expect(computeCuts(Float32Array.from({ length: 1000 }, (_, index) => index), 1000, 1, 16).cutValues.length).toBeLessThanOrEqual(16);
  });

  it.each([
    ['failures have large values or none', 1, false],
    ['failures have small values or none', 0, true],
  ])('learns where missing values go: %s', (_name, failureSide, defaultLeft) => {
    // The failures' side of x < 1 is also where the rows without a value belong.
    const rows = rowsOf(2000, 1, (random) => {
      const failed = random() < 0.5 ? 1 : 0;
      const side = failed === 1 ? failureSide : 1 - failureSide;
      return [failed, failed === 1 && random() < 0.5 ? NaN : side + random()];
    });
    const [tree] = train(rows, { max_depth: '1', eta: '1' }).trees;
    expect(tree.feature[0]).toBe(0);
    expect(tree.condition[0]).toBeCloseTo(1, 1); // the quantile cut nearest 1
    expect(tree.defaultLeft[0]).toBe(defaultLeft);
  });

  it('grows to max_depth, keeps min_child_weight of hessian in every child, and takes no split gamma forbids', () => {
    const rows = rowsOf(3000, 2, signal);
    const model = train(rows, { num_round: '5', max_depth: '3', min_child_weight: '40' });
    for (const tree of model.trees) {
      const depth = (node: number): number => (tree.left[node] < 0 ? 0 : 1 + Math.max(depth(tree.left[node]), depth(tree.right[node])));
      expect(depth(0)).toBe(3);
      expect(Math.min(...tree.sumHessian)).toBeGreaterThanOrEqual(40);
    }
    expect(train(rows, { gamma: '1e6' }).trees[0].left).toEqual([-1]);
  });

  it('gives a leaf eta × -G / (H + lambda), as float32', () => {
    // One leaf over every row: at base_score 0.5 each row's g = 0.5 - y and h = 0.25.
    const rows = rowsOf(100, 1, (random) => [random() < 0.3 ? 1 : 0, 1]);
    const failures = rows.labels.reduce((sum, label) => sum + label, 0);
    const [tree] = train(rows, { eta: '0.3', lambda: '2' }).trees;
    expect(tree.left).toEqual([-1]);
    expect(tree.condition[0]).toBe(Math.fround((0.3 * -(50 - failures)) / (25 + 2)));
  });

  it('is deterministic for a seed, and samples rows and features differently for another', () => {
    const rows = rowsOf(2000, 2, signal);
    const text = (seed: string) => xgboostModelJson(train(rows, { num_round: '10', subsample: '0.7', colsample_bytree: '0.5', seed }));
    expect(text('7')).toBe(text('7'));
    expect(text('8')).not.toBe(text('7'));
  });
});

describe('the embedded trainer: the model file', () => {
  it('writes floats as the shortest decimals that read back as the same float32', () => {
    for (const value of [0.1, -0.0902993, 548.31134, 52598, 1e-7, 3.4e38]) {
      const text = shortestFloat32(value);
      expect(Math.fround(Number(text))).toBe(Math.fround(value));
    }
    expect(shortestFloat32(0.1)).toBe('0.1');
    expect(shortestFloat32(2)).toBe('2.0');
  });

  it("writes XGBoost 1.7's JSON: the scorer loads it and scores the rows as the trainer's margins add up", () => {
    const rows = rowsOf(2000, 2, signal);
    const model = train(rows, { num_round: '20', max_depth: '3' });
    const document = JSON.parse(xgboostModelJson(model));
    expect(document.version).toEqual([1, 7, 4]);
    expect(document.learner.learner_model_param).toEqual({ base_score: '5E-1', boost_from_average: '1', num_class: '0', num_feature: '2', num_target: '1' });
    expect(document.learner.attributes).toEqual({ best_iteration: '19', best_ntree_limit: '20' });
    const [tree] = document.learner.gradient_booster.model.trees;
    expect(tree.parents[0]).toBe(2147483647);
    expect(tree.tree_param.num_nodes).toBe(String(tree.left_children.length));
    const scorer = loadXGBoostModel(document);
    expect(scorer.totalTrees).toBe(20);
    // A row's probability rises with the first feature, as the data says.
    expect(scorer.predict([0.9, 0.5])).toBeGreaterThan(scorer.predict([0.1, 0.5]));
  });
});

describe("the embedded trainer: train.py's job contract", () => {
  const writeRows = (file: string, rows: Rows) => {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, csv(rows));
  };

  it('trains on the train and validation channels and writes xgboost-model, logging as train.py does', () => {
    const dir = tempDir();
    writeRows(join(dir, 'train', 'train.csv'), rowsOf(1500, 2, signal, 1));
    writeRows(join(dir, 'validation', 'validation.csv'), rowsOf(500, 2, signal, 2));
    const lines: string[] = [];
    const result = runEmbeddedTraining({ train: join(dir, 'train'), validation: join(dir, 'validation'), modelDir: join(dir, 'model'), hyperparameters: { ...SHIPPED_HYPERPARAMETERS, num_round: '30' }, featureCount: 2, log: (line) => lines.push(line) });
    expect(result.trees).toBe(30);
    expect(lines[0]).toBe('embedded trainer: 1500 train rows, 500 validation rows, 2 features, 30 rounds');
    expect(lines).toContainEqual(expect.stringMatching(/^validation-auc:0\.\d{6}$/));
    expect(loadXGBoostModel(readFileSync(join(dir, 'model', 'xgboost-model'), 'utf8')).totalTrees).toBe(30);
  });

  it('stops early when the validation AUC has not improved for early_stopping_rounds, keeping the best round', () => {
    const dir = tempDir();
    writeRows(join(dir, 'train', 'train.csv'), rowsOf(400, 2, signal, 3));
    writeRows(join(dir, 'validation', 'validation.csv'), rowsOf(400, 2, signal, 4));
    const result = runEmbeddedTraining({ train: join(dir, 'train'), validation: join(dir, 'validation'), modelDir: join(dir, 'model'), hyperparameters: { num_round: '200', early_stopping_rounds: '5', eta: '0.5', max_depth: '6', min_child_weight: '0' }, log: () => undefined });
    const saved = JSON.parse(readFileSync(join(dir, 'model', 'xgboost-model'), 'utf8'));
    expect(result.trees).toBeLessThan(200);
    expect(saved.learner.attributes.best_ntree_limit).toBe(String(result.trees));
  });

  it('fails as train.py does on an unknown hyperparameter, labels other than 0 and 1, and too many feature columns', () => {
    const dir = tempDir();
    writeRows(join(dir, 'train', 'train.csv'), rowsOf(100, 2, signal, 1));
    writeFileSync(join(dir, 'bad.csv'), '2,0.5,0.5\n0,0.1,0.1\n');
    const job = { train: join(dir, 'train'), validation: join(dir, 'train'), modelDir: join(dir, 'model'), log: () => undefined };
    expect(() => runEmbeddedTraining({ ...job, hyperparameters: { num_round: '1', colsample: '1' } })).toThrow(new EmbeddedTrainingError('unknown hyperparameter(s): colsample'));
    expect(() => runEmbeddedTraining({ ...job, train: join(dir, 'bad.csv'), hyperparameters: { num_round: '1' } })).toThrow("train labels must be 0 or 1, found '2' on row 1");
    expect(() => runEmbeddedTraining({ ...job, featureCount: 3, hyperparameters: { num_round: '1' } })).toThrow('train has 2 feature columns, expected 3');
  });

  it('in window mode, validates on the latest dates and writes evaluation.json with the fields train.py writes, the serving model scored beside', () => {
    const dir = tempDir();
    const lake = join(dir, 'lake');
    // Ten dates of 200 rows; one date before the window, left out.
    for (let day = 0; day < 11; day += 1) writeRows(join(lake, `date=2015-01-${String(day + 1).padStart(2, '0')}`, 'rows.csv'), rowsOf(200, 2, signal, 10 + day));
    const serving = join(dir, 'serving');
    mkdirSync(serving);
    const older = xgboostModelJson(train(rowsOf(500, 2, signal, 99), { num_round: '5' }));
    writeFileSync(join(serving, 'model.tar.gz'), tarGzip([{ name: 'xgboost-model', content: Buffer.from(older) }]));
    const lines: string[] = [];
    runEmbeddedTraining({
      train: lake,
      modelDir: join(dir, 'model'),
      outputDataDir: join(dir, 'output'),
      serving,
      hyperparameters: { ...SHIPPED_HYPERPARAMETERS, num_round: '20', window_from: '2015-01-02', window_to: '2015-01-31', sagemaker_program: 'train.py' },
      log: (line) => lines.push(line),
    });
    const evaluation = JSON.parse(readFileSync(join(dir, 'output', 'evaluation.json'), 'utf8'));
    expect(Object.keys(evaluation).sort()).toEqual(['candidate', 'serving', 'threshold', 'trainer', 'window']);
    expect(evaluation.window).toEqual({ from: '2015-01-02', to: '2015-01-31', validationFraction: 0.2, trainDates: ['2015-01-02', '2015-01-09'], validationDates: ['2015-01-10', '2015-01-11'], files: 10 });
    expect(Object.keys(evaluation.candidate).sort()).toEqual(['auc', 'brier', 'f1Failure', 'prAuc', 'rows']);
    expect(evaluation.candidate.rows).toBe(400);
    expect(evaluation.serving.rows).toBe(400);
    expect(evaluation.serving.auc).not.toBe(evaluation.candidate.auc);
    expect(evaluation.threshold).toBe(0.25);
    expect(evaluation.trainer).toBe('embedded');
    expect(lines[0]).toBe('window 2015-01-02..2015-01-31: 10 files; train 2015-01-02..2015-01-09, validation 2015-01-10..2015-01-11');
  });
});
