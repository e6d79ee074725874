import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMBEDDED_TRAINER_NAME, EmbeddedTrainingError, runEmbeddedTraining } from './embedded-training';
import { type Evaluation, evaluate } from './evaluation';
import { type SplitOptions, type TrainingSet, WINDOWS, buildTrainingSet, trainingCsv } from './export';
import type { DecisionCosts } from './metrics';
import { findPython } from './python';
import type { DeploymentRecord } from './records';
import { tarGzip } from './tar';
import { loadXGBoostModel } from './xgboost';

/**
 * Local training on the container's contract: export the records to the container's CSV channels,
 * train on them — with the embedded trainer (model/embedded-training.ts, Node alone) or, for
 * container parity, model/train.py (the script the SageMaker job runs) with XGBoost 1.7 — package
 * model.tar.gz, and evaluate the model with Deploy Guard's exact scorer against the baselines.
 *
 * The output folder holds:
 *   xgboost-model      the model, XGBoost JSON
 *   model.tar.gz       exactly one file, xgboost-model (what SageMaker serves)
 *   features.json      the model's feature list (kept out of model.tar.gz: the container loads every file there)
 *   evaluation.json    test figures, pooled and per group, beside Parrot and logistic regression; the threshold;
 *                      the trainer that made the model
 *   hyperparameters.json, training.log, data/{train,validation,test}/*.csv (channels), data/index.csv
 */

export const TRAIN_SCRIPT = join(__dirname, 'train.py');
export const DEFAULT_HYPERPARAMETERS_FILE = join(__dirname, 'hyperparameters.json');

export { DEFAULT_COSTS } from './metrics';

/** The trainers: the embedded one (the default, Node alone) and model/train.py with XGBoost 1.7.4. */
export const TRAINERS = ['embedded', 'xgboost'] as const;
export type TrainerKind = (typeof TRAINERS)[number];

/** A trainer ready to run; `name` is how the evaluation, the report and the logs name it ("embedded", "xgboost 1.7.4"). */
export type Trainer =
  | { readonly kind: 'embedded'; readonly name: string }
  | { readonly kind: 'xgboost'; readonly name: string; readonly python: string };

export const EMBEDDED_TRAINER: Trainer = { kind: 'embedded', name: EMBEDDED_TRAINER_NAME };

/**
 * The trainer of that kind. `xgboost` needs Python with XGBoost (model/python.ts findPython, `python`
 * the interpreter named, if any) and warns through `log` when its XGBoost is not the container's 1.7.
 */
export function resolveTrainer(kind: TrainerKind, python?: string, log?: (line: string) => void): Trainer {
  if (kind === 'embedded') return EMBEDDED_TRAINER;
  const runtime = findPython(python);
  if (!runtime.xgboostVersion.startsWith('1.7.')) {
    log?.(`warning: XGBoost ${runtime.xgboostVersion} differs from the container's 1.7; results may differ from SageMaker's`);
  }
  return { kind: 'xgboost', name: `xgboost ${runtime.xgboostVersion}`, python: runtime.executable };
}

export interface TrainingOptions {
  readonly records: readonly DeploymentRecord[];
  readonly outDir: string;
  readonly split: SplitOptions;
  readonly costs: DecisionCosts;
  /** Values as strings, as SageMaker passes them. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly timeZone?: string;
  /** Who trains. @default EMBEDDED_TRAINER */
  readonly trainer?: Trainer;
  /** Stop after writing the channels and features.json. */
  readonly exportOnly?: boolean;
  /** Progress, one line at a time. */
  readonly log: (line: string) => void;
}

export interface TrainingOutcome {
  readonly trainingSet: TrainingSet;
  /** The test figures, and the trainer that made the model (as evaluation.json holds them). */
  readonly evaluation?: Evaluation & { readonly trainer: string };
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

  const trainer = options.trainer ?? EMBEDDED_TRAINER;
  const channels = { train: join(dataDir, 'train'), validation: join(dataDir, 'validation') };
  if (trainer.kind === 'embedded') {
    runEmbedded(channels, outDir, options.hyperparameters, featureList.features.length, log);
  } else {
    log(`training with ${trainer.python} (${trainer.name}), ${TRAIN_SCRIPT}`);
    await runTrainingScript(trainer.python, [
      TRAIN_SCRIPT,
      '--train',
      channels.train,
      '--validation',
      channels.validation,
      '--model-dir',
      outDir,
      '--hyperparameters',
      join(outDir, 'hyperparameters.json'),
      '--feature-count',
      String(featureList.features.length),
    ], join(outDir, 'training.log'), log);
  }

  const modelText = readFileSync(join(outDir, 'xgboost-model'));
  writeFileSync(join(outDir, 'model.tar.gz'), tarGzip([{ name: 'xgboost-model', content: modelText }]));

  const model = loadXGBoostModel(JSON.parse(modelText.toString('utf8')));
  const evaluation = { ...evaluate(featureList, examples, (example) => model.predict(example.vector), options.costs), trainer: trainer.name };
  writeFileSync(join(outDir, 'evaluation.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  return { trainingSet, evaluation };
}

/** The embedded trainer on the exported channels, its lines shown and kept in training.log as train.py's are. */
function runEmbedded(
  channels: { readonly train: string; readonly validation: string },
  outDir: string,
  hyperparameters: Readonly<Record<string, string>>,
  featureCount: number,
  log: (line: string) => void,
): void {
  const lines: string[] = [];
  const logFile = join(outDir, 'training.log');
  log(`training with the ${EMBEDDED_TRAINER_NAME} trainer`);
  try {
    runEmbeddedTraining({ ...channels, modelDir: outDir, hyperparameters, featureCount, log: (line) => (lines.push(line), log(line)) });
  } catch (error) {
    if (!(error instanceof EmbeddedTrainingError)) throw error;
    lines.push(error.message);
    throw new Error(`training failed (full log in ${logFile}):\n${error.message}`);
  } finally {
    writeFileSync(logFile, lines.map((line) => `${line}\n`).join(''));
  }
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
