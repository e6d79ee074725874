import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PythonRuntime } from '../../model/python';
import { TRAIN_SCRIPT } from '../../model/training';
import { pythonFor } from '../support/python';

const python = pythonFor('the model/train.py tests');
const withPython = python ? describe : describe.skip;

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A scratch /opt/ml with `train` and `validation` channels of a small learnable problem. */
function optMl(): string {
  const root = mkdtempSync(join(tmpdir(), 'deploy-guard-opt-ml-'));
  scratch.push(root);
  let state = 7;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (const [channel, rows] of [['train', 600], ['validation', 200]] as const) {
    const lines: string[] = [];
    for (let row = 0; row < rows; row += 1) {
      const churn = Math.floor(next() * 500);
      const previous = next() < 0.3 ? 1 : 0;
      const noise = next();
      const failed = churn / 500 + previous * 0.6 + noise * 0.8 > 1.1 ? 1 : 0;
      lines.push(`${failed},${churn},${previous},${row % 7 === 0 ? '' : Math.floor(noise * 10)}`);
    }
    mkdirSync(join(root, 'input/data', channel), { recursive: true });
    writeFileSync(join(root, 'input/data', channel, `${channel}.csv`), `${lines.join('\n')}\n`);
  }
  mkdirSync(join(root, 'input/config'), { recursive: true });
  mkdirSync(join(root, 'model'));
  return root;
}

/** Runs train.py as the training toolkit runs an entry point: SM_* variables, hyperparameters as arguments too. */
function runScriptMode(root: string, hyperparameters: Record<string, string>) {
  writeFileSync(join(root, 'input/config/hyperparameters.json'), JSON.stringify(hyperparameters));
  const args = Object.entries(hyperparameters)
    .filter(([key]) => !key.startsWith('sagemaker_'))
    .flatMap(([key, value]) => [`--${key}`, value]);
  return spawnSync((python as PythonRuntime).executable, [TRAIN_SCRIPT, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      SM_CHANNEL_TRAIN: join(root, 'input/data/train'),
      SM_CHANNEL_VALIDATION: join(root, 'input/data/validation'),
      SM_MODEL_DIR: join(root, 'model'),
      SM_INPUT_CONFIG_DIR: join(root, 'input/config'),
    },
  });
}

const SCRIPT_MODE = { sagemaker_program: '"train.py"', sagemaker_submit_directory: '"s3://bucket/code/sourcedir.tar.gz"', sagemaker_region: '"eu-west-1"' };

withPython('model/train.py in the container\'s script mode', () => {
  it('trains from the channels, prints validation-auc and writes xgboost-model as JSON', () => {
    const root = optMl();
    const run = runScriptMode(root, { ...SCRIPT_MODE, num_round: '"20"', max_depth: '3', eta: '0.3', objective: 'binary:logistic' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\[19\]\ttrain-auc:[\d.]+\tvalidation-auc:[\d.]+$/m);
    expect(run.stdout).toMatch(/^validation-auc:0\.\d{6}$/m);
    const model = JSON.parse(readFileSync(join(root, 'model/xgboost-model'), 'utf8'));
    expect(model.learner.objective.name).toBe('binary:logistic');
    expect(model.learner.learner_model_param.num_feature).toBe('3');
    expect(model.learner.gradient_booster.model.trees).toHaveLength(20);
  });

  it('keeps only the trees up to the best round when stopping early', () => {
    const root = optMl();
    const run = runScriptMode(root, { num_round: '500', early_stopping_rounds: '5', eta: '0.5', max_depth: '6' });
    expect(run.status).toBe(0);
    const trees = Number(/\((\d+) trees\)/.exec(run.stdout)?.[1]);
    expect(trees).toBeLessThan(500);
    const model = JSON.parse(readFileSync(join(root, 'model/xgboost-model'), 'utf8'));
    expect(model.learner.gradient_booster.model.trees).toHaveLength(trees);
  });

  it.each([
    [{ num_round: '10', max_dept: '3' }, 'train.py: unknown hyperparameter(s): max_dept'],
    [{ eta: '0.1' }, 'train.py: hyperparameter num_round is required'],
    [{ num_round: 'ten' }, "train.py: hyperparameter num_round must be a whole number, got 'ten'"],
    [{ num_round: '10', objective: 'reg:squarederror' }, 'train.py: objective must be binary:logistic, got reg:squarederror'],
  ])('fails the job on bad hyperparameters %j, saying which', (hyperparameters, message) => {
    const run = runScriptMode(optMl(), hyperparameters);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(message);
  });

  it('says which channel is missing', () => {
    const root = optMl();
    writeFileSync(join(root, 'input/config/hyperparameters.json'), JSON.stringify({ num_round: '5' }));
    const run = spawnSync((python as PythonRuntime).executable, [
      TRAIN_SCRIPT,
      '--train', join(root, 'input/data/train'),
      '--validation', join(root, 'nowhere'),
      '--model-dir', join(root, 'model'),
      '--hyperparameters', join(root, 'input/config/hyperparameters.json'),
    ], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(`train.py: validation channel ${join(root, 'nowhere')} does not exist`);
  });
});
