import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Evaluation, evaluate } from './evaluation';
import { type SplitOptions, type TrainingSet, WINDOWS, buildTrainingSet, trainingCsv } from './export';
import type { DecisionCosts } from './metrics';
import { findPython } from './python';
import type { DeploymentRecord } from './records';
import { tarGzip } from './tar';
import { loadXGBoostModel } from './xgboost';

/**
 * Local training on the container's contract: export the records to the container's CSV channels,
 * run model/train.py (the script the SageMaker job runs) with XGBoost 1.7, package model.tar.gz, and
 * evaluate the model with Deploy Guard's exact scorer against the baselines.
 *
 * The output folder holds:
 *   xgboost-model      the model, XGBoost JSON
 *   model.tar.gz       exactly one file, xgboost-model (what SageMaker serves)
 *   features.json      the model's feature list (kept out of model.tar.gz: the container loads every file there)
 *   evaluation.json    test figures, pooled and per group, beside Parrot and logistic regression; the threshold
 *   hyperparameters.json, training.log, data/{train,validation,test}/*.csv (channels), data/index.csv
 */

export const TRAIN_SCRIPT = join(__dirname, 'train.py');
export const DEFAULT_HYPERPARAMETERS_FILE = join(__dirname, 'hyperparameters.json');

/** What a failed deployment costs against a needless rollback, unless configured. */
export const DEFAULT_COSTS: DecisionCosts = { failedDeployment: 3, needlessRollback: 1 };

export interface TrainingOptions {
  readonly records: readonly DeploymentRecord[];
  readonly outDir: string;
  readonly split: SplitOptions;
  readonly costs: DecisionCosts;
  /** Values as strings, as SageMaker passes them. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly timeZone?: string;
  /** The Python interpreter; found on the machine when absent. */
  readonly python?: string;
  /** Stop after writing the channels and features.json. */
  readonly exportOnly?: boolean;
  /** Progress, one line at a time. */
  readonly log: (line: string) => void;
}

export interface TrainingOutcome {
  readonly trainingSet: TrainingSet;
  readonly evaluation?: Evaluation;
}

export function readHyperparameters(file: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`hyperparameters ${file}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`hyperparameters ${file}: expected a JSON object`);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(json)) {
    if (typeof value !== 'string') {
      throw new Error(`hyperparameters ${file}: '${key}' must be a string, as SageMaker passes hyperparameters (write "${String(value)}")`);
    }
    values[key] = value;
  }
  return values;
}

export async function trainModel(options: TrainingOptions): Promise<TrainingOutcome> {
  const { outDir, log } = options;
  const trainingSet = buildTrainingSet(options.records, { ...options.split, timeZone: options.timeZone });
  const { featureList, examples } = trainingSet;
  if (!examples.some((example) => example.window === 'train') || !examples.some((example) => example.window === 'validation')) {
    throw new Error('the history is too short: the training and validation windows need at least one deployment each');
  }

  mkdirSync(outDir, { recursive: true });
  const dataDir = join(outDir, 'data');
  for (const window of WINDOWS) {
    mkdirSync(join(dataDir, window), { recursive: true });
    writeFileSync(join(dataDir, window, `${window}.csv`), trainingCsv(examples, window));
  }
  writeFileSync(
    join(dataDir, 'index.csv'),
    `window,group,time,failed\n${examples.map((example) => `${example.window},${csvText(example.group)},${example.time ?? ''},${example.failed ? 1 : 0}`).join('\n')}\n`,
  );
  writeFileSync(join(outDir, 'features.json'), `${JSON.stringify(featureList, null, 2)}\n`);
  writeFileSync(join(outDir, 'hyperparameters.json'), `${JSON.stringify(options.hyperparameters, null, 2)}\n`);

  const counts = Object.fromEntries(WINDOWS.map((window) => [window, examples.filter((example) => example.window === window).length]));
  log(
    `exported ${examples.length} deployments of ${featureList.groups.length} groups: ${counts.train} train, ${counts.validation} validation, ${counts.test} test; ${featureList.features.length} features`,
  );
  if (trainingSet.featuresWithoutValues.length > 0) {
    log(`not used (no value in the training window): ${trainingSet.featuresWithoutValues.join(', ')}`);
  }
  if (options.exportOnly) return { trainingSet };

  const python = findPython(options.python);
  if (!python.xgboostVersion.startsWith('1.7.')) {
    log(`warning: XGBoost ${python.xgboostVersion} differs from the container's 1.7; results may differ from SageMaker's`);
  }
  log(`training with ${python.executable} (XGBoost ${python.xgboostVersion}), ${TRAIN_SCRIPT}`);
  await runTrainingScript(python.executable, [
    TRAIN_SCRIPT,
    '--train',
    join(dataDir, 'train'),
    '--validation',
    join(dataDir, 'validation'),
    '--model-dir',
    outDir,
    '--hyperparameters',
    join(outDir, 'hyperparameters.json'),
    '--feature-count',
    String(featureList.features.length),
  ], join(outDir, 'training.log'), log);

  const modelText = readFileSync(join(outDir, 'xgboost-model'));
  writeFileSync(join(outDir, 'model.tar.gz'), tarGzip([{ name: 'xgboost-model', content: modelText }]));

  const model = loadXGBoostModel(JSON.parse(modelText.toString('utf8')));
  const evaluation = evaluate(featureList, examples, (example) => model.predict(example.vector), options.costs);
  writeFileSync(join(outDir, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  return { trainingSet, evaluation };
}

/** Runs train.py, logging every line to `logFile` and showing the lines that are not per-round progress. */
function runTrainingScript(executable: string, args: string[], logFile: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const file = createWriteStream(logFile);
    const errors: string[] = [];
    const relay = (stream: NodeJS.ReadableStream, isError: boolean) => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        file.write(chunk);
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) show(line, isError);
      });
      stream.on('end', () => {
        if (pending) show(pending, isError);
      });
    };
    const show = (line: string, isError: boolean) => {
      if (isError) errors.push(line);
      else if (!/^\[\d+\]\t/.test(line)) log(line);
    };
    relay(child.stdout, false);
    relay(child.stderr, true);
    child.on('error', (error) => reject(new Error(`cannot run ${executable}: ${error.message}`)));
    child.on('close', (code) => {
      file.end();
      if (code === 0) resolve();
      else {
        const reason = errors.filter((line) => line.trim() !== '').slice(-5).join('\n');
        reject(new Error(`training failed (exit code ${code}; full log in ${logFile}):\n${reason}`));
      }
    });
  });
}

function csvText(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
