import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main } from '../../cli/main';
import { buildTrainingSet } from '../../model/export';
import { parseFeatureList } from '../../model/features';
import type { PythonRuntime } from '../../model/python';
import { importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';
import { topFactors } from '../../model/factors';
import { contributions } from '../../model/treeshap';
import { loadXGBoostModel } from '../../model/xgboost';
import { memoryIO } from '../support/io';
import { pythonFor } from '../support/python';
import { scratchDirs } from '../support/temp-dirs';

const ROOT = join(__dirname, '../..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const SLICE_GROUPS = ['SonarSource_sonarqube_data', 'mitchellh_vagrant_data', 'openMF_mifosx_data'];
const SLICE_ROWS = 1200;

const tempDir = scratchDirs('train');

/** The first SLICE_ROWS builds of a few shipped projects, one file per group as shipped. */
function writeSlice(): string {
  const dir = tempDir();
  for (const group of SLICE_GROUPS) {
    const lines = readFileSync(join(SHIPPED, `${group}.csv`), 'utf8').split('\n');
    writeFileSync(join(dir, `${group}.csv`), `${lines.slice(0, SLICE_ROWS + 1).join('\n')}\n`);
  }
  return dir;
}

const python = pythonFor('the deploy-guard train end-to-end tests');
const withPython = python ? describe : describe.skip;

withPython('deploy-guard train (end to end, with XGBoost)', () => {
  const out = join(tempDir(), 'model');
  const run = memoryIO();
  let code: number;

  beforeAll(async () => {
    code = await main(['train', '--data', writeSlice(), '--mapping', MAPPING, '--out', out, '--trainer', 'xgboost', '--python', (python as PythonRuntime).executable], run.io);
  });

  it('imports, exports, trains with model/train.py and reports the validation AUC', () => {
    expect(run.stderr()).toBe('');
    expect(code).toBe(0);
    expect(run.stdout()).toContain(`read ${SLICE_GROUPS.length * SLICE_ROWS} rows from 3 files: ${SLICE_GROUPS.length * SLICE_ROWS} used (3 groups), 0 rejected`);
    expect(run.stdout()).toMatch(/^validation-auc:0\.\d{6}$/m);
    expect(run.stdout()).toMatch(/^ {2}parrot +auc 0\.\d{3} /m);
  });

  it('writes xgboost-model as XGBoost JSON, and model.tar.gz holding exactly that one file', () => {
    const model = readFileSync(join(out, 'xgboost-model'));
    const json = JSON.parse(model.toString('utf8'));
    expect(json.learner.objective.name).toBe('binary:logistic');
    const tar = gunzipSync(readFileSync(join(out, 'model.tar.gz')));
    expect(tar.toString('ascii', 0, 14)).toBe('xgboost-model\u0000');
    const size = parseInt(tar.toString('ascii', 124, 135), 8);
    expect(tar.subarray(512, 512 + size).equals(model)).toBe(true);
    const next = 512 + Math.ceil(size / 512) * 512;
    expect(tar.subarray(next).every((byte) => byte === 0)).toBe(true);
    const names = execFileSync((python as PythonRuntime).executable, ['-c', 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getnames())', join(out, 'model.tar.gz')], {
      encoding: 'utf8',
    });
    expect(names.trim()).toBe("['xgboost-model']");
  });

  it('writes features.json next to the model, with one feature per model column', () => {
    const list = parseFeatureList(JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')));
    const model = JSON.parse(readFileSync(join(out, 'xgboost-model'), 'utf8'));
    expect(Number(model.learner.learner_model_param.num_feature)).toBe(list.features.length);
    expect(list.groups).toEqual(SLICE_GROUPS);
    expect(list.features.map((feature) => feature.name)).toEqual(expect.arrayContaining(['srcChurn', 'previousFailed', 'failureRateLast5', 'gh_sloc']));
    expect(list.features.map((feature) => feature.name)).not.toContain('linesAdded');
  });

  it('writes the container CSV: label first, no header, the time-ordered 70/10/20 split per group', () => {
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    const list = parseFeatureList(JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')));
    for (const [window, expected] of [['train', 840], ['validation', 120], ['test', 240]] as const) {
      const lines = readFileSync(join(out, 'data', window, `${window}.csv`), 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(expected * SLICE_GROUPS.length);
      expect(evaluation.windows[window]).toBe(expected * SLICE_GROUPS.length);
      for (const line of lines) {
        const fields = line.split(',');
        expect(fields).toHaveLength(1 + list.features.length);
        expect(['0', '1']).toContain(fields[0]);
      }
    }
    const index = readFileSync(join(out, 'data', 'index.csv'), 'utf8').split('\n');
    expect(index[0]).toBe('window,group,time,failed');
    expect(index[1]).toBe('train,SonarSource_sonarqube_data,2015-01-01T03:00:00.000Z,0');
  });

  it('evaluates on the test window, pooled and per group, beside Parrot and logistic regression', () => {
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(evaluation.rows).toBe(SLICE_GROUPS.length * SLICE_ROWS);
    expect(evaluation.groups).toBe(3);
    const figures = ['auc', 'pr_auc', 'brier', 'threshold', 'precision_failure', 'recall_failure', 'f1_failure', 'caught_at_riskiest'];
    for (const report of [evaluation.test, evaluation.baselines.parrot, evaluation.baselines.logistic_regression]) {
      for (const figure of figures) expect(report).toHaveProperty(figure);
      expect(Object.keys(report.caught_at_riskiest)).toEqual(['5%', '10%', '20%']);
    }
    expect(Object.keys(evaluation.per_group)).toEqual(SLICE_GROUPS);
    for (const group of SLICE_GROUPS) {
      expect(evaluation.per_group[group].test).toHaveProperty('auc');
      expect(evaluation.per_group[group].baselines.parrot).toHaveProperty('f1_failure');
      expect(evaluation.per_group[group].baselines.logistic_regression).toHaveProperty('f1_failure');
    }
    expect(evaluation.threshold).toBe(evaluation.test.threshold);
    expect(evaluation.test.auc).toBeGreaterThan(0.6);
  });

  it("scores with Deploy Guard's scorer exactly what XGBoost predicts from the exported CSV", () => {
    const script = [
      'import sys, xgboost as xgb',
      'booster = xgb.Booster(model_file=sys.argv[1])',
      'matrix = xgb.DMatrix(sys.argv[2] + "?format=csv&label_column=0")',
      'print("\\n".join(repr(float(p)) for p in booster.predict(matrix)))',
    ].join('\n');
    const predictions = execFileSync((python as PythonRuntime).executable, ['-c', script, join(out, 'xgboost-model'), join(out, 'data/test/test.csv')], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .map(Number);
    const set = sliceTrainingSet();
    const model = loadXGBoostModel(readFileSync(join(out, 'xgboost-model'), 'utf8'));
    const ours = set.examples.filter((example) => example.window === 'test').map((example) => model.predict(example.vector));
    expect(ours).toHaveLength(predictions.length);
    expect(ours).toEqual(predictions);
  });

  it('explains a prediction of the trained model in words (TreeSHAP + the schema\'s phrases)', () => {
    const list = parseFeatureList(JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')));
    const model = loadXGBoostModel(readFileSync(join(out, 'xgboost-model'), 'utf8'));
    const set = sliceTrainingSet();
    const example = set.examples.find((candidate) => candidate.window === 'test' && candidate.history.previousFailed === 1);
    if (!example) throw new Error('no test deployment after a failure');
    const shap = contributions(model, example.vector);
    const margin = shap.reduce((sum, value) => sum + value, 0);
    expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(model.predict(example.vector), 5);
    const factors = topFactors(list, example.vector, shap, { count: 3 });
    expect(factors).toHaveLength(3);
    for (const factor of factors) {
      expect(list.features.map((feature) => feature.name)).toContain(factor.feature);
      expect(factor.text).not.toMatch(/\{\w+\}/);
    }
    expect(Math.abs(factors[0].contribution)).toBeGreaterThanOrEqual(Math.abs(factors[2].contribution));
  });

  /** The same slice imported in-process, and its training set as `train` built it. */
  function sliceTrainingSet() {
    const mapping = parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING);
    return buildTrainingSet(importHistory(writeSlice(), mapping).records);
  }
});

describe('deploy-guard train (without XGBoost)', () => {
  it('exports records written by import (--export-only) without needing Python', async () => {
    const records = join(tempDir(), 'records.jsonl');
    expect(await main(['import', '--data', writeSlice(), '--mapping', MAPPING, '--out', records], memoryIO().io)).toBe(0);
    const out = join(tempDir(), 'export');
    const run = memoryIO();
    expect(await main(['train', '--data', records, '--out', out, '--export-only', '--test-fraction', '0.25', '--validation-fraction', '0.15'], run.io)).toBe(0);
    expect(run.stdout()).toContain('exported 3600 deployments of 3 groups: 2160 train, 540 validation, 900 test;');
    expect(existsSync(join(out, 'features.json'))).toBe(true);
    expect(existsSync(join(out, 'xgboost-model'))).toBe(false);
  });

  it('says how to install Python and XGBoost when Python is missing (no stack trace)', async () => {
    const run = memoryIO();
    const code = await main(['train', '--data', writeSlice(), '--mapping', MAPPING, '--out', join(tempDir(), 'm'), '--trainer', 'xgboost', '--python', '/nonexistent/python3'], run.io);
    expect(code).toBe(1);
    expect(run.stderr()).toBe(
      'deploy-guard train: Python was not found (tried /nonexistent/python3). Install Python 3 with XGBoost 1.7: ' +
        '`apt-get install python3-xgboost` (Debian/Ubuntu) or `pip install xgboost==1.7.6`; or name an interpreter with --python.\n',
    );
  });

  it('says how to install XGBoost when Python has no xgboost', async () => {
    const dir = tempDir();
    const fake = join(dir, 'python-without-xgboost');
    writeFileSync(fake, '#!/bin/sh\necho "ModuleNotFoundError: No module named \'xgboost\'" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    const run = memoryIO();
    const code = await main(['train', '--data', writeSlice(), '--mapping', MAPPING, '--out', join(dir, 'm'), '--trainer', 'xgboost', '--python', fake], run.io);
    expect(code).toBe(1);
    expect(run.stderr()).toBe(
      `deploy-guard train: XGBoost is not installed for ${fake}. Install Python 3 with XGBoost 1.7: ` +
        '`apt-get install python3-xgboost` (Debian/Ubuntu) or `pip install xgboost==1.7.6`; or name an interpreter that has it with --python.\n',
    );
  });

  it('asks for the mapping of a CSV history', async () => {
    const run = memoryIO();
    expect(await main(['train', '--data', SHIPPED, '--out', join(tempDir(), 'm')], run.io)).toBe(2);
    expect(run.stderr()).toContain(`deploy-guard train: ${SHIPPED} is a CSV history: give its column mapping with --mapping, or import it first with 'deploy-guard import'`);
  });

  it('refuses fractions that leave no training window', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'm'));
    const run = memoryIO();
    const code = await main(['train', '--data', writeSlice(), '--mapping', MAPPING, '--out', join(dir, 'm'), '--test-fraction', '0.5', '--validation-fraction', '0.5'], run.io);
    expect(code).toBe(1);
    expect(run.stderr()).toContain('deploy-guard train: validation fraction + test fraction must leave a training window, got 0.5 + 0.5');
  });
});

describe('deploy-guard train with the embedded trainer (the default: Node alone)', () => {
  const out = join(tempDir(), 'model');
  const run = memoryIO();
  let code: number;

  beforeAll(async () => {
    code = await main(['train', '--data', writeSlice(), '--mapping', MAPPING, '--out', out], run.io);
  });

  it('trains without Python and names the trainer in its log, its summary and evaluation.json', () => {
    expect(run.stderr()).toBe('');
    expect(code).toBe(0);
    expect(run.stdout()).toContain('training with the embedded trainer');
    expect(run.stdout()).toMatch(/^embedded trainer: \d+ train rows, \d+ validation rows, \d+ features, 300 rounds$/m);
    expect(run.stdout()).toMatch(/^validation-auc:0\.\d{6}$/m);
    expect(run.stdout()).toMatch(/threshold 0\.\d{4} chosen on validation; trained by embedded:$/m);
    expect(JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')).trainer).toBe('embedded');
    expect(readFileSync(join(out, 'training.log'), 'utf8')).toMatch(/^model written to .*xgboost-model \(300 trees\)$/m);
  });

  it('writes xgboost-model in XGBoost 1.7 JSON, served as model.tar.gz, that the scorer loads', () => {
    const model = loadXGBoostModel(readFileSync(join(out, 'xgboost-model'), 'utf8'));
    expect(model.version).toEqual([1, 7, 4]);
    expect(model.totalTrees).toBe(300);
    expect(existsSync(join(out, 'model.tar.gz'))).toBe(true);
  });

  it('refuses --python without --trainer xgboost, and an unknown trainer', async () => {
    const runs = [memoryIO(), memoryIO()];
    expect(await main(['train', '--data', SHIPPED, '--mapping', MAPPING, '--out', join(tempDir(), 'm'), '--python', 'python3'], runs[0].io)).toBe(2);
    expect(runs[0].stderr()).toContain("option '--python' is for '--trainer xgboost' (the embedded trainer needs no Python)");
    expect(await main(['train', '--data', SHIPPED, '--mapping', MAPPING, '--out', join(tempDir(), 'm'), '--trainer', 'lightgbm'], runs[1].io)).toBe(2);
    expect(runs[1].stderr()).toContain("option '--trainer' must be one of embedded, xgboost, got 'lightgbm'");
  });
});
