import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readChannel, runEmbeddedTraining } from '../../model/embedded-training';
import { DEFAULT_SPLIT } from '../../model/export';
import { importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';
import { rocAuc } from '../../model/metrics';
import type { PythonRuntime } from '../../model/python';
import { DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, TRAIN_SCRIPT, readHyperparameters, trainModel } from '../../model/training';
import { loadXGBoostModel } from '../../model/xgboost';
import { pythonFor } from '../support/python';
import { scratchDirs } from '../support/temp-dirs';

/**
 * The embedded trainer against XGBoost 1.7.4 on the shipped history (the train / validation / test
 * export of `deploy-guard train`, 55,719 builds of 10 projects), with model/hyperparameters.json:
 * XGBoost loads the embedded trainer's model and predicts, row for row, exactly what Deploy Guard's
 * scorer does; and the test AUC is within 0.005 of the model train.py trains with XGBoost.
 */

const ROOT = join(__dirname, '../..');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');

const python = pythonFor('the embedded trainer parity tests against XGBoost 1.7.4');
const withPython = python ? describe : describe.skip;
const tempDir = scratchDirs('gbdt-parity');

/** XGBoost's probabilities for a CSV file, each printed as the exact double of its float32. */
const PREDICT = `
import sys
sys.modules.setdefault("pandas", None); sys.modules.setdefault("sklearn", None)
import xgboost as xgb
booster = xgb.Booster(model_file=sys.argv[1])
rows = xgb.DMatrix(sys.argv[2] + "?format=csv&label_column=0")
print("\\n".join(repr(float(p)) for p in booster.predict(rows)))
`;

withPython('the embedded trainer against XGBoost 1.7.4 on the shipped history', () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  const hyperparameters = readHyperparameters(DEFAULT_HYPERPARAMETERS_FILE);
  const testCsv = join(data, 'test', 'test.csv');
  let test: ReturnType<typeof readChannel>;

  beforeAll(async () => {
    const mapping = parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING);
    await trainModel({
      records: importHistory(SHIPPED, mapping).records,
      outDir: dir,
      split: DEFAULT_SPLIT,
      costs: DEFAULT_COSTS,
      hyperparameters,
      exportOnly: true,
      log: () => undefined,
    });
    test = readChannel(join(data, 'test'), 'test');
    runEmbeddedTraining({ train: join(data, 'train'), validation: join(data, 'validation'), modelDir: join(dir, 'embedded'), hyperparameters, log: () => undefined });
    const run = spawnSync((python as PythonRuntime).executable, [
      TRAIN_SCRIPT, '--train', join(data, 'train'), '--validation', join(data, 'validation'), '--model-dir', join(dir, 'xgboost'), '--hyperparameters', DEFAULT_HYPERPARAMETERS_FILE,
    ], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`train.py failed: ${run.stderr}`);
  });

  const testAuc = (modelDir: string) => {
    const model = loadXGBoostModel(readFileSync(join(modelDir, 'xgboost-model'), 'utf8'));
    return rocAuc(Array.from(test.labels, (label) => label === 1), [...model.predictBatch(test.values, test.rowCount, test.columnCount)]) as number;
  };

  it("XGBoost loads the embedded trainer's model and predicts bit for bit what Deploy Guard's scorer does", () => {
    const modelFile = join(dir, 'embedded', 'xgboost-model');
    const printed = execFileSync((python as PythonRuntime).executable, ['-c', PREDICT, modelFile, testCsv], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const xgboost = printed.trim().split('\n').map(Number);
    const scorer = loadXGBoostModel(readFileSync(modelFile, 'utf8')).predictBatch(test.values, test.rowCount, test.columnCount);
    expect(xgboost).toHaveLength(test.rowCount);
    const differing = xgboost.filter((value, row) => value !== scorer[row]).length;
    expect(differing).toBe(0);
  });

  it('reaches a test AUC within 0.005 of XGBoost 1.7.4 with the same hyperparameters', () => {
    const embedded = testAuc(join(dir, 'embedded'));
    const xgboost = testAuc(join(dir, 'xgboost'));
    console.info(`test AUC on the shipped history: embedded ${embedded.toFixed(4)}, XGBoost 1.7.4 ${xgboost.toFixed(4)} (${test.rowCount} rows)`);
    expect(Math.abs(embedded - xgboost)).toBeLessThanOrEqual(0.005);
  });
});
