/**
 * The embedded trainer on model/train.py's contract, so that a training job can run either: the
 * same channels (a CSV file or a folder of them, the label first, no header, an empty field
 * missing), the same hyperparameters (model/gbdt-parameters.ts), the same data-lake window mode
 * (date=YYYY-MM-DD/ folders, the most recent dates holding validation_fraction of the rows
 * validate), and the same outputs: `xgboost-model` in the model folder and, in window mode,
 * `evaluation.json` with the candidate's and the serving model's figures on the validation window.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { binValues, computeCuts } from './gbdt-bins';
import { type BoostedModel, boost } from './gbdt';
import { xgboostModelJson } from './gbdt-json';
import { HyperparameterError, type TrainerParameters, type TrainingWindow, readTrainerParameters } from './gbdt-parameters';
import { averagePrecision, brierScore, rocAuc } from './metrics';
import { type XGBoostModel, loadXGBoostModel, readXGBoostModelFile } from './xgboost';

/** How the evaluation, the report and the logs name this trainer. */
export const EMBEDDED_TRAINER_NAME = 'embedded';
/** F1 on failures in evaluation.json is judged at p >= 0.25, as train.py's EVALUATION_THRESHOLD. */
const EVALUATION_THRESHOLD = 0.25;
const DATE_FOLDER = /^date=(\d{4}-\d{2}-\d{2})$/;

/** A problem with the input or the hyperparameters (train.py's TrainingError). */
export class EmbeddedTrainingError extends Error {
  override readonly name = 'EmbeddedTrainingError';
}

export interface EmbeddedTrainingJob {
  /** The train channel: a CSV file or folder; in window mode the data lake's date=YYYY-MM-DD/ folders. */
  readonly train: string;
  /** The validation channel (not read in window mode). */
  readonly validation?: string;
  readonly modelDir: string;
  /** Values as strings, as SageMaker passes them. */
  readonly hyperparameters: Readonly<Record<string, unknown>>;
  /** The serving model (a folder or file: model.tar.gz or xgboost-model), evaluated beside the candidate in window mode. */
  readonly serving?: string;
  /** Where evaluation.json goes in window mode. */
  readonly outputDataDir?: string;
  /** The number of feature columns the model must have (checked when given). */
  readonly featureCount?: number;
  readonly log: (line: string) => void;
}

export interface Channel {
  readonly labels: Float32Array;
  /** Row-major float32 features, NaN missing. */
  readonly values: Float32Array;
  readonly rowCount: number;
  readonly columnCount: number;
}

/** Trains and writes `xgboost-model` (and evaluation.json in window mode); throws EmbeddedTrainingError on bad input. */
export function runEmbeddedTraining(job: EmbeddedTrainingJob): { readonly model: XGBoostModel; readonly trees: number } {
  let parameters: TrainerParameters;
  try {
    parameters = readTrainerParameters(job.hyperparameters);
  } catch (error) {
    if (error instanceof HyperparameterError) throw new EmbeddedTrainingError(error.message);
    throw error;
  }
  if (!parameters.window) {
    if (!job.validation) throw new EmbeddedTrainingError('the validation channel is required outside window mode');
    const fitted = fit(job, parameters, readChannel(job.train, 'train'), readChannel(job.validation, 'validation'));
    return { model: fitted.model, trees: fitted.trees };
  }
  const { outputDataDir } = job;
  if (!outputDataDir) throw new EmbeddedTrainingError("window mode writes evaluation.json: give the output data folder (train.py's --output-data-dir)");
  const { train, validation, described } = windowChannels(job.train, parameters.window, job.log);
  const fitted = fit(job, parameters, train, validation);
  writeEvaluation(job, outputDataDir, fitted.model, validation, described);
  return { model: fitted.model, trees: fitted.trees };
}

function fit(job: EmbeddedTrainingJob, parameters: TrainerParameters, train: Channel, validation: Channel): { model: XGBoostModel; trees: number } {
  if (job.featureCount !== undefined) {
    if (train.columnCount !== job.featureCount) throw new EmbeddedTrainingError(`train has ${train.columnCount} feature columns, expected ${job.featureCount}`);
    if (validation.columnCount > job.featureCount) throw new EmbeddedTrainingError(`validation has ${validation.columnCount} feature columns, expected ${job.featureCount}`);
  }
  const { booster, numRound, earlyStoppingRounds } = parameters;
  job.log(`${EMBEDDED_TRAINER_NAME} trainer: ${train.rowCount} train rows, ${validation.rowCount} validation rows, ${train.columnCount} features, ${numRound} rounds`);
  const cuts = computeCuts(train.values, train.rowCount, train.columnCount, booster.maxBin);
  const trainData = binValues(train.values, train.rowCount, train.columnCount, cuts);
  const stoppingMetric = booster.evalMetric[booster.evalMetric.length - 1];
  const boosted: BoostedModel = boost({ train: trainData, labels: train.labels }, booster, numRound, earlyStoppingRounds === undefined ? undefined : {
    rounds: earlyStoppingRounds,
    validation: binValues(validation.values, validation.rowCount, validation.columnCount, cuts),
    labels: validation.labels,
    score: (labels, margins) => marginMetric(stoppingMetric, labels, margins),
    higherIsBetter: stoppingMetric === 'auc',
  });
  const text = xgboostModelJson(boosted);
  const model = loadXGBoostModel(text);
  for (const [name, channel] of [['train', train], ['validation', validation]] as const) {
    const auc = rocAuc(booleans(channel.labels), [...predict(model, channel)]);
    job.log(`${name}-auc:${auc === null ? 'nan' : auc.toFixed(6)}`);
  }
  mkdirSync(job.modelDir, { recursive: true });
  const path = join(job.modelDir, 'xgboost-model');
  writeFileSync(path, text);
  job.log(`model written to ${path} (${boosted.trees.length} trees)`);
  return { model, trees: boosted.trees.length };
}

/** A metric of the margins (auc is rank-based; logloss and error on the probability). */
function marginMetric(metric: string, labels: Float32Array, margins: Float32Array): number {
  if (metric === 'auc') return rocAuc(booleans(labels), [...margins]) ?? 0;
  let sum = 0;
  for (let row = 0; row < labels.length; row += 1) {
    const p = 1 / (1 + Math.exp(-margins[row]));
    if (metric === 'error') sum += (p > 0.5 ? 1 : 0) !== labels[row] ? 1 : 0;
    else sum -= labels[row] === 1 ? Math.log(Math.max(p, 1e-16)) : Math.log(Math.max(1 - p, 1e-16));
  }
  return sum / labels.length;
}

function predict(model: XGBoostModel, channel: Channel): Float32Array {
  return model.predictBatch(channel.values, channel.rowCount, channel.columnCount);
}

function booleans(labels: Float32Array): boolean[] {
  return Array.from(labels, (label) => label === 1);
}

// ---------------------------------------------------------------------------------------------------
// Channels

/** A channel (a CSV file, or a folder of CSV files in name order) as XGBoost's CSV loader reads it. */
export function readChannel(path: string, name: string): Channel {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) throw new EmbeddedTrainingError(`${name} channel ${path} does not exist`);
  let files = [path];
  if (stats.isDirectory()) {
    files = readdirSync(path).filter((entry) => !entry.startsWith('.')).sort().map((entry) => join(path, entry));
    if (files.length === 0) throw new EmbeddedTrainingError(`${name} channel ${path} holds no file`);
  }
  return parseRows(files.map((file) => readFileSync(file, 'utf8')), `${name} channel ${path}`, name);
}

function parseRows(texts: readonly string[], where: string, name: string): Channel {
  const lines: string[] = [];
  for (const text of texts) for (const line of text.split('\n')) if (line.trim() !== '') lines.push(line);
  if (lines.length === 0) throw new EmbeddedTrainingError(`${where} holds no row`);
  let columnCount = 0;
  const split = lines.map((line) => {
    const fields = line.split(',');
    columnCount = Math.max(columnCount, fields.length - 1);
    return fields;
  });
  const labels = new Float32Array(lines.length);
  const values = new Float32Array(lines.length * columnCount).fill(NaN);
  split.forEach((fields, row) => {
    const label = Number(fields[0]);
    if (label !== 0 && label !== 1) throw new EmbeddedTrainingError(`${name} labels must be 0 or 1, found '${fields[0].trim()}' on row ${row + 1}`);
    labels[row] = label;
    for (let column = 1; column < fields.length; column += 1) {
      const field = fields[column].trim();
      if (field === '') continue;
      const value = Number(field);
      if (Number.isNaN(value) && !/^[+-]?nan$/i.test(field)) throw new EmbeddedTrainingError(`${where}: row ${row + 1}, column ${column + 1} is not a number: '${field}'`);
      values[row * columnCount + column - 1] = value;
    }
  });
  return { labels, values, rowCount: lines.length, columnCount };
}

// ---------------------------------------------------------------------------------------------------
// Window mode (train.py's window_files, split_window, prepare_window)

interface WindowDescription {
  readonly from: string;
  readonly to: string;
  readonly validationFraction: number;
  readonly trainDates: readonly [string, string];
  readonly validationDates: readonly [string, string];
  readonly files: number;
}

function windowChannels(root: string, window: TrainingWindow, log: (line: string) => void): { train: Channel; validation: Channel; described: WindowDescription } {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new EmbeddedTrainingError(`train channel ${root} is not a folder of date=YYYY-MM-DD/ folders (window mode)`);
  }
  const files = windowFiles(root, window);
  if (files.length === 0) {
    throw new EmbeddedTrainingError(`train channel ${root} holds no file dated ${window.from}..${window.to} (expected date=YYYY-MM-DD/ folders)`);
  }
  const texts = files.map(({ date, path }) => ({ date, text: readFileSync(path, 'utf8') }));
  const rowsByDate = new Map<string, number>();
  for (const { date, text } of texts) rowsByDate.set(date, (rowsByDate.get(date) ?? 0) + text.split('\n').filter((line) => line.trim() !== '').length);
  const dates = [...rowsByDate.keys()].filter((date) => rowsByDate.get(date)! > 0).sort();
  if (dates.length < 2) {
    throw new EmbeddedTrainingError(`window ${window.from}..${window.to} holds rows on ${dates.length} date(s); training and validation need at least one date each`);
  }
  const total = dates.reduce((sum, date) => sum + rowsByDate.get(date)!, 0);
  const validationDates: string[] = [];
  let validationRows = 0;
  for (const date of dates.slice(1).reverse()) {
    if (validationRows >= window.validationFraction * total) break;
    validationDates.unshift(date);
    validationRows += rowsByDate.get(date)!;
  }
  const firstValidation = validationDates[0];
  const trainDates = dates.filter((date) => date < firstValidation);
  const described: WindowDescription = {
    from: window.from,
    to: window.to,
    validationFraction: window.validationFraction,
    trainDates: [trainDates[0], trainDates[trainDates.length - 1]],
    validationDates: [validationDates[0], validationDates[validationDates.length - 1]],
    files: files.length,
  };
  log(`window ${window.from}..${window.to}: ${files.length} files; train ${described.trainDates[0]}..${described.trainDates[1]}, validation ${described.validationDates[0]}..${described.validationDates[1]}`);
  return {
    train: parseRows(texts.filter(({ date }) => date < firstValidation).map(({ text }) => text), 'train channel (window)', 'train'),
    validation: parseRows(texts.filter(({ date }) => date >= firstValidation).map(({ text }) => text), 'validation channel (window)', 'validation'),
    described,
  };
}

/** The data lake's files in the window, in date order, then path order. */
function windowFiles(root: string, window: TrainingWindow): { date: string; path: string }[] {
  const found: { date: string; path: string }[] = [];
  const walk = (folder: string): void => {
    const match = DATE_FOLDER.exec(basename(folder));
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else if (match && window.from <= match[1] && match[1] <= window.to && !entry.name.startsWith('.')) found.push({ date: match[1], path: join(folder, entry.name) });
    }
  };
  walk(root);
  return found.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------
// evaluation.json (train.py's write_evaluation and model_metrics)

export interface WindowMetrics {
  readonly auc: number | null;
  readonly prAuc: number | null;
  readonly brier: number | null;
  readonly f1Failure: number;
  readonly rows: number;
}

export function windowMetrics(labels: readonly boolean[], scores: readonly number[]): WindowMetrics {
  const rows = labels.length;
  const positives = labels.filter(Boolean).length;
  let truePositive = 0;
  let flagged = 0;
  scores.forEach((score, index) => {
    if (score >= EVALUATION_THRESHOLD) {
      flagged += 1;
      if (labels[index]) truePositive += 1;
    }
  });
  const precision = flagged > 0 ? truePositive / flagged : 0;
  const recall = positives > 0 ? truePositive / positives : 0;
  return {
    auc: rocAuc(labels, scores),
    prAuc: averagePrecision(labels, scores),
    brier: rows > 0 ? brierScore(labels, scores) : null,
    f1Failure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    rows,
  };
}

function writeEvaluation(job: EmbeddedTrainingJob, outputDataDir: string, model: XGBoostModel, validation: Channel, window: WindowDescription): void {
  const labels = booleans(validation.labels);
  const candidate = windowMetrics(labels, [...predict(model, validation)]);
  let serving: WindowMetrics | null = null;
  let servingError: string | undefined;
  if (job.serving && existsSync(job.serving)) {
    const servingModel = loadServingModel(job.serving);
    if (servingModel.featureCount !== validation.columnCount) {
      servingError = `the serving model has ${servingModel.featureCount} features, the window's rows ${validation.columnCount}: not comparable`;
      job.log(`warning: ${servingError}`);
    } else {
      serving = windowMetrics(labels, [...predict(servingModel, validation)]);
    }
  }
  const document = {
    candidate,
    serving,
    threshold: EVALUATION_THRESHOLD,
    window,
    trainer: EMBEDDED_TRAINER_NAME,
    ...(servingError ? { servingError } : {}),
  };
  mkdirSync(outputDataDir, { recursive: true });
  const path = join(outputDataDir, 'evaluation.json');
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  job.log(`evaluation written to ${path}: candidate auc ${candidate.auc}, serving auc ${serving ? serving.auc : null}`);
}

/** The serving channel's model: model.tar.gz holding xgboost-model, or xgboost-model. */
function loadServingModel(path: string): XGBoostModel {
  const candidates = statSync(path).isFile() ? [path] : readdirSync(path).sort().map((name) => join(path, name));
  for (const candidate of candidates) {
    const name = basename(candidate);
    if (name === 'xgboost-model' || name.endsWith('.tar.gz')) return readXGBoostModelFile(candidate);
  }
  throw new EmbeddedTrainingError(`serving channel ${path} holds neither model.tar.gz nor xgboost-model`);
}
