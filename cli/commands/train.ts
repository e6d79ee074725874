import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Evaluation } from '../../model/evaluation';
import { DEFAULT_SPLIT } from '../../model/export';
import type { ClassificationReport } from '../../model/metrics';
import { readRecords } from '../../model/records';
import { DEFAULT_COSTS, DEFAULT_HYPERPARAMETERS_FILE, TRAINERS, type TrainerKind, readHyperparameters, resolveTrainer, trainModel } from '../../model/training';
import { parseOptions, requireOption, UsageError, type Command } from '../command';
import { summaryOf } from '../catalog';
import { importWithReport, readMapping } from './import';

export const trainCommand: Command = {
  name: 'train',
  summary: summaryOf('train'),
  usage: `Usage: deploy-guard train --data FILE --out DIR [options]
       deploy-guard train --data PATH --mapping MAPPING.json --out DIR [options]

Exports the history to the container's CSV (label first, no header), split by time within each
deployment group into train / validation / test windows, trains a gradient-boosted-trees model on
them (the embedded trainer, or with --trainer xgboost model/train.py with XGBoost 1.7, the script
the SageMaker job runs), and writes to DIR:
  xgboost-model    the model (XGBoost JSON)
  model.tar.gz     exactly one file, xgboost-model, as SageMaker serves it
  features.json    the model's feature list (travels with the model, outside model.tar.gz)
  evaluation.json  test-window figures, pooled and per group, beside Parrot and logistic regression,
                   the decision threshold chosen on the validation window by expected cost,
                   and the trainer ("embedded" or "xgboost 1.7.4")
and data/ (the channels), hyperparameters.json, training.log.

--data is the records file written by 'deploy-guard import', or, with --mapping, a CSV history
(a file or a folder of one file per group) imported on the way.

Options:
  --validation-fraction F  share of each group before the test window used for validation (default ${DEFAULT_SPLIT.validationFraction})
  --test-fraction F        share of each group's most recent deployments held out for test (default ${DEFAULT_SPLIT.testFraction})
  --failure-cost C         cost of a failed deployment let through (default ${DEFAULT_COSTS.failedDeployment})
  --rollback-cost C        cost of rolling back a good deployment (default ${DEFAULT_COSTS.needlessRollback})
  --hyperparameters FILE   XGBoost hyperparameters, values as strings (default model/hyperparameters.json)
  --time-zone ZONE         IANA time zone of hour of day and day of week (default UTC)
  --trainer T              ${TRAINERS.join(' | ')}: the embedded trainer (default, Node alone) or
                           model/train.py with XGBoost 1.7.4 (container parity; needs Python)
  --python PATH            with --trainer xgboost, the Python interpreter with XGBoost 1.7 (default:
                           the first of python3, /usr/bin/python3, python that has it; or DEPLOY_GUARD_PYTHON)
  --export-only            write the channels and features.json, do not train

Example:
  deploy-guard train --data data/ci-bfdetector --mapping data/ci-bfdetector.mapping.json --out out/model`,
  async run(argv, io) {
    const options = parseOptions(argv, {
      data: 'value',
      mapping: 'value',
      out: 'value',
      'validation-fraction': 'value',
      'test-fraction': 'value',
      'failure-cost': 'value',
      'rollback-cost': 'value',
      hyperparameters: 'value',
      'time-zone': 'value',
      trainer: 'value',
      python: 'value',
      'export-only': 'flag',
    });
    const trainerKind = (options.trainer ?? 'embedded') as TrainerKind;
    if (!TRAINERS.includes(trainerKind)) throw new UsageError(`option '--trainer' must be one of ${TRAINERS.join(', ')}, got '${String(options.trainer)}'`);
    if (typeof options.python === 'string' && trainerKind !== 'xgboost') throw new UsageError("option '--python' is for '--trainer xgboost' (the embedded trainer needs no Python)");
    const data = resolve(io.cwd, requireOption(options, 'data'));
    const outDir = resolve(io.cwd, requireOption(options, 'out'));
    const split = {
      validationFraction: numberOption(options, 'validation-fraction', DEFAULT_SPLIT.validationFraction),
      testFraction: numberOption(options, 'test-fraction', DEFAULT_SPLIT.testFraction),
    };
    const costs = {
      failedDeployment: numberOption(options, 'failure-cost', DEFAULT_COSTS.failedDeployment),
      needlessRollback: numberOption(options, 'rollback-cost', DEFAULT_COSTS.needlessRollback),
    };
    for (const [name, value] of [['failure-cost', costs.failedDeployment], ['rollback-cost', costs.needlessRollback]] as const) {
      if (!(value > 0)) throw new UsageError(`option '--${name}' must be a positive number`);
    }
    const mappingOption = options.mapping;
    const log = (line: string) => io.stdout.write(`${line}\n`);
    try {
      let records;
      if (typeof mappingOption === 'string') {
        const mappingFile = resolve(io.cwd, mappingOption);
        records = importWithReport(data, readMapping(mappingFile), mappingFile, io).records;
      } else {
        const stats = statSync(data, { throwIfNoEntry: false });
        if (!stats) throw new Error(`${data} does not exist`);
        if (stats.isDirectory() || data.toLowerCase().endsWith('.csv')) {
          throw new UsageError(`${data} is a CSV history: give its column mapping with --mapping, or import it first with 'deploy-guard import'`);
        }
        records = readRecords(data);
      }
      const hyperparametersFile = typeof options.hyperparameters === 'string'
        ? resolve(io.cwd, options.hyperparameters)
        : DEFAULT_HYPERPARAMETERS_FILE;
      const outcome = await trainModel({
        records,
        outDir,
        split,
        costs,
        hyperparameters: readHyperparameters(hyperparametersFile),
        timeZone: typeof options['time-zone'] === 'string' ? options['time-zone'] : undefined,
        trainer: options['export-only'] === true
          ? undefined
          : resolveTrainer(trainerKind, typeof options.python === 'string' ? options.python : process.env.DEPLOY_GUARD_PYTHON || undefined, log),
        exportOnly: options['export-only'] === true,
        log,
      });
      if (!outcome.evaluation) {
        log(`wrote ${join(outDir, 'data')} and ${join(outDir, 'features.json')}`);
        return 0;
      }
      log(`wrote ${['xgboost-model', 'model.tar.gz', 'features.json', 'evaluation.json'].map((file) => join(outDir, file)).join(', ')}`);
      for (const line of summarize(outcome.evaluation, split.testFraction)) log(line);
      return 0;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      io.stderr.write(`deploy-guard train: ${(error as Error).message}\n`);
      return 1;
    }
  },
};

function numberOption(options: Record<string, string | true | undefined>, name: string, fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new UsageError(`option '--${name}' needs a number, got '${String(value)}'`);
  return number;
}

/** The test figures of the model and its baselines, one line each. */
export function summarize(evaluation: Evaluation & { readonly trainer: string }, testFraction: number): string[] {
  const line = (name: string, report: ClassificationReport) =>
    `  ${name.padEnd(20)} auc ${figure(report.auc)}  pr_auc ${figure(report.pr_auc)}  f1 ${figure(report.f1_failure)}` +
    `  precision ${figure(report.precision_failure)}  recall ${figure(report.recall_failure)}  brier ${figure(report.brier)}` +
    `  caught@10% ${figure(report.caught_at_riskiest['10%'])}`;
  return [
    `test window (the last ${Math.round(testFraction * 100)} % of each group, ${evaluation.test.rows} deployments, ${evaluation.test.failures} failures), threshold ${evaluation.threshold.toFixed(4)} chosen on validation; trained by ${evaluation.trainer}:`,
    line('model', evaluation.test),
    line('parrot', evaluation.baselines.parrot),
    line('logistic regression', evaluation.baselines.logistic_regression),
  ];
}

function figure(value: number | null | undefined): string {
  return value === null || value === undefined ? '  -  ' : value.toFixed(3);
}
