import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { trainingRowKey } from '../../handlers/training-row';
import { dataWindow, trainingJobSpec } from '../../handlers/drift-domain';
import { buildTrainingSet, formatTrainingLine, type Example } from '../../model/export';
import { importHistory } from '../../model/import';
import { parseMapping } from '../../model/mapping';
import { averagePrecision, brierScore, classificationReport, rocAuc } from '../../model/metrics';
import type { PythonRuntime } from '../../model/python';
import { tarGzip } from '../../model/tar';
import { DEFAULT_COSTS, TRAIN_SCRIPT } from '../../model/training';
import { loadXGBoostModel } from '../../model/xgboost';
import { pythonFor } from '../support/python';
import { scratchDirs } from '../support/temp-dirs';

/**
 * model/train.py in the data-lake window mode, as the drift handler's SageMaker job runs it: the
 * `train` channel is the rows prefix (one file per deployment under date=YYYY-MM-DD/), the window
 * and the script-mode settings come as hyperparameters, the serving model as channel `serving`, and
 * evaluation.json goes to SM_OUTPUT_DATA_DIR. The lake is built from the shipped ci-bfdetector
 * history (mitchellh/vagrant, 3,569 builds 2013-2016) with the project's own export and row keys.
 */

const ROOT = join(__dirname, '../..');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const HISTORY = join(ROOT, 'data/ci-bfdetector/mitchellh_vagrant_data.csv');
/** The lake holds rows from here on; the window starts later, so some files lie outside it. */
const LAKE_FROM = '2014-07-01';
const WINDOW = { from: '2015-01-01', to: '2016-03-21' };

const python = pythonFor('the model/train.py window-mode tests');
const withPython = python ? describe : describe.skip;

const tempDir = scratchDirs('window');

interface LakeRow {
  readonly date: string;
  readonly example: Example;
}

/** The examples of the shipped history from LAKE_FROM on, each with its date. */
function lakeRows(): LakeRow[] {
  const mapping = parseMapping(JSON.parse(readFileSync(MAPPING, 'utf8')), MAPPING);
  const { examples } = buildTrainingSet(importHistory(HISTORY, mapping).records);
  return examples
    .filter((example) => example.time !== null && example.time.slice(0, 10) >= LAKE_FROM)
    .map((example) => ({ date: (example.time as string).slice(0, 10), example }));
}

/** Writes the rows as record-outcome does, one object per deployment at trainingRowKey, under a channel folder. */
function writeLake(rows: readonly LakeRow[], channel: string): void {
  rows.forEach(({ example }, index) => {
    const key = trainingRowKey({ deploymentId: `d-${String(index).padStart(6, '0')}`, startedAt: Date.parse(example.time as string) });
    // The train channel is the prefix `rows/`: SageMaker downloads keys relative to it.
    const file = join(channel, key.slice('rows/'.length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${formatTrainingLine(example)}\n`);
  });
}

interface OptMl {
  readonly root: string;
  readonly train: string;
  readonly model: string;
  readonly output: string;
  readonly config: string;
}

function optMl(rows: readonly LakeRow[]): OptMl {
  const root = tempDir();
  const layout = {
    root,
    train: join(root, 'input/data/train'),
    model: join(root, 'model'),
    output: join(root, 'output/data'),
    config: join(root, 'input/config'),
  };
  mkdirSync(layout.train, { recursive: true });
  mkdirSync(layout.config, { recursive: true });
  writeLake(rows, layout.train);
  return layout;
}

/** Runs train.py as the training toolkit runs the entry point (SM_* variables; hyperparameters in the file and as arguments). */
function runJob(layout: OptMl, hyperparameters: Record<string, string>, serving?: string) {
  writeFileSync(join(layout.config, 'hyperparameters.json'), JSON.stringify(hyperparameters));
  const args = Object.entries(hyperparameters)
    .filter(([key]) => !key.startsWith('sagemaker_'))
    .flatMap(([key, value]) => [`--${key}`, value]);
  return spawnSync((python as PythonRuntime).executable, [TRAIN_SCRIPT, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      SM_CHANNEL_TRAIN: layout.train,
      SM_MODEL_DIR: layout.model,
      SM_OUTPUT_DATA_DIR: layout.output,
      SM_INPUT_CONFIG_DIR: layout.config,
      ...(serving ? { SM_CHANNEL_SERVING: serving } : {}),
    },
  });
}

/** The hyperparameters drift sends (model/hyperparameters.json, script mode, the window), for a window ending on `to`. */
function driftHyperparameters(days: number, to: string): Record<string, string> {
  return trainingJobSpec({
    jobName: 'deploy-guard-dev-20160321-2000-abcdef',
    alarmName: 'deploy-guard-dev-model-quality',
    window: dataWindow(Date.parse(`${to}T20:00:00Z`), days),
    settings: {
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      dataWindowDays: days,
      minimumRows: 200,
      cooldownHours: 24,
      maxRuntimeSeconds: 3600,
      imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      roleArn: 'arn:aws:iam::123456789012:role/deploy-guard-training',
      sourceDirS3Uri: 's3://deploy-guard-models/code/sourcedir.tar.gz',
      alarmNames: ['deploy-guard-dev-model-quality'],
    },
    namePrefix: 'deploy-guard-dev',
    dataBucket: 'deploy-guard-data',
    modelBucket: 'deploy-guard-models',
    serving: undefined,
  }).hyperparameters;
}

const daysBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;

interface EvaluationJson {
  candidate: { auc: number | null; prAuc: number | null; brier: number | null; f1Failure: number | null; rows: number };
  serving: EvaluationJson['candidate'] | null;
  threshold: number;
  window: { from: string; to: string; trainDates: [string, string]; validationDates: [string, string]; files: number; validationFraction: number };
  trainer: string;
}

withPython('model/train.py, data-lake window mode (SageMaker script mode)', () => {
  const rows = lakeRows();
  const inWindow = rows.filter((row) => row.date >= WINDOW.from && row.date <= WINDOW.to);
  let first: { layout: OptMl; run: ReturnType<typeof runJob>; evaluation: EvaluationJson };

  beforeAll(() => {
    const layout = optMl(rows);
    const run = runJob(layout, driftHyperparameters(daysBetween(WINDOW.from, WINDOW.to), WINDOW.to));
    const evaluation = run.status === 0 ? (JSON.parse(readFileSync(join(layout.output, 'evaluation.json'), 'utf8')) as EvaluationJson) : (undefined as never);
    first = { layout, run, evaluation };
  });

  it('accepts exactly the hyperparameters drift sends and trains on the window only', () => {
    expect(first.run.stderr).toBe('');
    expect(first.run.status).toBe(0);
    expect(rows.length).toBeGreaterThan(inWindow.length); // files outside the window exist, and are left out
    expect(first.evaluation.window).toMatchObject({ from: WINDOW.from, to: WINDOW.to, files: inWindow.length, validationFraction: 0.2 });
    expect(first.run.stdout).toMatch(new RegExp(`^window ${WINDOW.from}\\.\\.${WINDOW.to}: ${inWindow.length} files;`, 'm'));
  });

  it('holds out the most recent whole dates, about validation_fraction of the rows, and trains on the earlier ones', () => {
    const { trainDates, validationDates } = first.evaluation.window;
    expect(trainDates[0] >= WINDOW.from).toBe(true);
    expect(trainDates[1] < validationDates[0]).toBe(true);
    expect(validationDates[1] <= WINDOW.to).toBe(true);
    const validationRows = inWindow.filter((row) => row.date >= validationDates[0]);
    const trainRows = inWindow.filter((row) => row.date < validationDates[0]);
    expect(first.evaluation.candidate.rows).toBe(validationRows.length);
    expect(first.run.stdout).toContain(`${trainRows.length} train rows, ${validationRows.length} validation rows`);
    // The smallest set of latest dates with at least 20 % of the rows: without its first date it is below 20 %.
    expect(validationRows.length).toBeGreaterThanOrEqual(0.2 * inWindow.length);
    const firstDateRows = validationRows.filter((row) => row.date === validationDates[0]).length;
    expect(validationRows.length - firstDateRows).toBeLessThan(0.2 * inWindow.length);
  });

  it('writes evaluation.json with the candidate metrics as model/metrics.ts computes them on the validation rows', () => {
    const model = loadXGBoostModel(JSON.parse(readFileSync(join(first.layout.model, 'xgboost-model'), 'utf8')));
    const validation = inWindow.filter((row) => row.date >= first.evaluation.window.validationDates[0]);
    // The CSV loader reads the lake in date order, then file order; metrics do not depend on the order.
    const labels = validation.map((row) => row.example.failed);
    const scores = validation.map((row) => model.predict(row.example.vector));
    const { candidate } = first.evaluation;
    expect(candidate.auc).toBeCloseTo(rocAuc(labels, scores) as number, 6);
    expect(candidate.prAuc).toBeCloseTo(averagePrecision(labels, scores) as number, 6);
    expect(candidate.brier).toBeCloseTo(brierScore(labels, scores), 6);
    // F1 at train.py's fixed cut 0.25. This validation window has 4 failures in 206 rows, so it can be 0.
    expect(candidate.f1Failure).toBeCloseTo(classificationReport(labels, scores, first.evaluation.threshold, DEFAULT_COSTS).f1_failure, 6);
    expect(candidate.auc).toBeGreaterThan(0.6);
    expect(first.evaluation.serving).toBeNull();
    expect(first.evaluation.threshold).toBe(0.25);
    expect(first.evaluation.trainer).toMatch(/^xgboost 1\.7\.\d+$/);
  });

  /** Faster runs for the serving-channel cases (the window logic is the same). */
  const quick = (days: number, to: string) => ({ ...driftHyperparameters(days, to), num_round: '40' });
  let olderModel: Buffer | undefined;
  /** The serving model: trained on the older window 2014-07-01..2014-12-31 of the same lake. */
  function servingModelText(): Buffer {
    if (!olderModel) {
      const older = optMl(rows);
      const trained = runJob(older, quick(daysBetween(LAKE_FROM, '2014-12-31'), '2014-12-31'));
      expect(trained.status).toBe(0);
      olderModel = readFileSync(join(older.model, 'xgboost-model'));
    }
    return olderModel;
  }
  function runWithServing(file: string, content: Buffer): EvaluationJson {
    const servingChannel = join(tempDir(), 'serving');
    mkdirSync(servingChannel);
    writeFileSync(join(servingChannel, file), content);
    const layout = optMl(rows);
    const run = runJob(layout, quick(daysBetween(WINDOW.from, WINDOW.to), WINDOW.to), servingChannel);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return JSON.parse(readFileSync(join(layout.output, 'evaluation.json'), 'utf8')) as EvaluationJson;
  }
  let fromArchive: EvaluationJson | undefined;

  it('scores the serving model (model.tar.gz in channel serving) on the same validation rows', () => {
    const text = servingModelText();
    fromArchive = runWithServing('model.tar.gz', tarGzip([{ name: 'xgboost-model', content: text }]));
    expect(fromArchive.serving?.rows).toBe(fromArchive.candidate.rows);
    expect(fromArchive.window.validationDates).toEqual(first.evaluation.window.validationDates);

    const servingModel = loadXGBoostModel(JSON.parse(text.toString('utf8')));
    const validation = inWindow.filter((row) => row.date >= fromArchive!.window.validationDates[0]);
    const labels = validation.map((row) => row.example.failed);
    const scores = validation.map((row) => servingModel.predict(row.example.vector));
    expect(fromArchive.serving?.auc).toBeCloseTo(rocAuc(labels, scores) as number, 6);
    expect(fromArchive.serving?.prAuc).toBeCloseTo(averagePrecision(labels, scores) as number, 6);
    expect(fromArchive.serving?.brier).toBeCloseTo(brierScore(labels, scores), 6);
  });

  it('reads a bare xgboost-model in the serving channel too, with the same figures', () => {
    const evaluation = runWithServing('xgboost-model', servingModelText());
    expect(fromArchive).toBeDefined();
    expect(evaluation.serving).toEqual(fromArchive?.serving);
    expect(evaluation.candidate).toEqual(fromArchive?.candidate); // seed 0: the same candidate
  });

  const small = () => optMl(rows.slice(0, 400));
  it.each([
    [{ num_round: '5', window_from: '2015-01-01' }, 'train.py: hyperparameters window_from and window_to go together (got only window_from)'],
    [{ num_round: '5', validation_fraction: '0.3' }, 'train.py: hyperparameters window_from and window_to go together (got only validation_fraction)'],
    [{ num_round: '5', window_from: '2015-01-01', window_to: '21.03.2016' }, "train.py: hyperparameter window_to must be an ISO date YYYY-MM-DD, got '21.03.2016'"],
    [{ num_round: '5', window_from: '2016-01-01', window_to: '2015-01-01' }, 'train.py: hyperparameter window_from 2016-01-01 is after window_to 2015-01-01'],
    [{ num_round: '5', window_from: '2015-01-01', window_to: '2016-01-01', validation_fraction: '1' }, "train.py: hyperparameter validation_fraction must be between 0 and 1 (exclusive), got 1.0"],
    [{ num_round: '5', window_from: '2015-01-01', window_to: '2016-01-01', window_size: '3' }, 'train.py: unknown hyperparameter(s): window_size'],
    [{ num_round: '5', window_from: '2020-01-01', window_to: '2020-12-31' }, 'holds no file dated 2020-01-01..2020-12-31 (expected date=YYYY-MM-DD/ folders)'],
  ])('fails the job on %j, saying why', (hyperparameters, message) => {
    const layout = small();
    const run = runJob(layout, hyperparameters);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().endsWith(message)).toBe(true);
    expect(run.stderr.trim().startsWith('train.py: ')).toBe(true);
  });

  it('needs rows on at least two dates (one to train, one to validate)', () => {
    const date = rows[0].date;
    const layout = optMl(rows.filter((row) => row.date === date));
    const run = runJob(layout, { num_round: '5', window_from: date, window_to: date });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(`train.py: window ${date}..${date} holds rows on 1 date(s); training and validation need at least one date each`);
  });
});
