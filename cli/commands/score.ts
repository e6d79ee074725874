import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseFeatureList } from '../../model/features';
import { CsvParseError, FeatureCountError, XGBoostModel, XGBoostModelError, readXGBoostModelFile, scoreCsv, parseCsvRows } from '../../model/xgboost';
import { formatCsvResponse, pythonFloatRepr } from '../../model/serving-format';
import { createTreeExplainer } from '../../model/treeshap';
import { parseOptions, requireOption, UsageError, type Command, type CommandIO } from '../command';
import { summaryOf } from '../catalog';

const DEFAULT_TOP = 3;

export const scoreCommand: Command = {
  name: 'score',
  summary: summaryOf('score'),
  usage: `Usage: deploy-guard score --model FILE [--explain [--top N]] < rows.csv

Reads a text/csv request body on stdin (feature values, no label, no header) and writes on stdout
exactly the bytes the sagemaker-xgboost 1.7-1 endpoint answers for it with Accept: text/csv: one
probability per line, Python's repr of the float32 value, trailing newline. Parsing, missing values
(empty fields) and arithmetic match XGBoost 1.7.4 bit for bit.

--model FILE  the model: XGBoost JSON (binary:logistic), or a model.tar.gz holding one such file
--explain     write one JSON object per row instead, with the same score and its TreeSHAP explanation
              in log-odds (margin) space:
                {"score": 0.5383983850479126, "margin": 0.1539, "bias": -1.4379,
                 "top": [{"feature": "proj_fail_rate_recent", "value": 0.75, "contribution": 0.4123}, ...]}
              "bias" plus all contributions sum to "margin"; "top" lists the N largest contributions
              by absolute value (zeros left out); "value" is the float32 input, null when missing;
              a feature is named as in the model, else as in the features.json beside the model
              (what deploy-guard train writes), else f0, f1, ...
--top N       how many contributions --explain lists (default ${DEFAULT_TOP})

Exit status: 0 when scored (an empty stdin scores nothing, like the endpoint's 204); 1 when the
endpoint would refuse the body (it answers 415 to rows that do not parse and 400 to more columns
than the model has features) or the model cannot be read, with the reason on stderr.

Example:
  deploy-guard score --model out/xgboost-model < rows.csv`,
  async run(argv, io) {
    const options = parseOptions(argv, { model: 'value', explain: 'flag', top: 'value' });
    const modelFile = resolve(io.cwd, requireOption(options, 'model'));
    const top = options.top === undefined ? DEFAULT_TOP : Number(options.top);
    if (!Number.isInteger(top) || top < 1) throw new UsageError(`option '--top' needs a positive integer, got '${String(options.top)}'`);
    if (options.top !== undefined && options.explain !== true) throw new UsageError("option '--top' only applies with '--explain'");

    let model: XGBoostModel;
    try {
      model = readXGBoostModelFile(modelFile);
    } catch (error) {
      if (error instanceof XGBoostModelError || (error as NodeJS.ErrnoException).code !== undefined) {
        io.stderr.write(`deploy-guard score: cannot use model ${modelFile}: ${(error as Error).message}\n`);
        return 1;
      }
      throw error;
    }
    const body = await readAll(io.stdin);
    if (body.length === 0) {
      io.stderr.write('deploy-guard score: no rows on stdin\n');
      return 0;
    }
    try {
      io.stdout.write(options.explain === true ? explainLines(model, body, top, featureNames(model, modelFile)) : formatCsvResponse(scoreCsv(model, body)));
      return 0;
    } catch (error) {
      if (error instanceof CsvParseError) {
        io.stderr.write(`deploy-guard score: stdin is not CSV the endpoint accepts (it would answer 415): ${error.message}\n`);
        return 1;
      }
      if (error instanceof FeatureCountError) {
        io.stderr.write(`deploy-guard score: the rows have ${error.columns} columns but the model ${error.modelFeatures} features (the endpoint would answer 400)\n`);
        return 1;
      }
      throw error;
    }
  },
};

/**
 * The features' names: the model's own, else those of the features.json beside the model file
 * (deploy-guard train keeps it outside model.tar.gz), when it lists as many features as the model has.
 * A features.json that cannot be read or does not fit the model is an error, not silently ignored.
 */
function featureNames(model: XGBoostModel, modelFile: string): readonly string[] | undefined {
  if (model.featureNames) return model.featureNames;
  const file = join(dirname(modelFile), 'features.json');
  if (!existsSync(file)) return undefined;
  let names: readonly string[];
  try {
    names = parseFeatureList(JSON.parse(readFileSync(file, 'utf8')), file).features.map((feature) => feature.name);
  } catch (error) {
    throw new UsageError(`the features.json beside the model cannot name its features: ${(error as Error).message}`);
  }
  if (names.length !== model.featureCount) {
    throw new UsageError(`${file} lists ${names.length} features but the model ${modelFile} has ${model.featureCount}: it is another model's feature list`);
  }
  return names;
}

/** The --explain output: one JSON object per row (see the usage text). */
function explainLines(model: XGBoostModel, body: Buffer, top: number, names: readonly string[] | undefined): string {
  const rows = parseCsvRows(body);
  const probabilities = model.predictBatch(rows.values, rows.rowCount, rows.columnCount);
  const explainer = createTreeExplainer(model);
  const contributions = new Float64Array(model.featureCount + 1);
  const order = Array.from({ length: model.featureCount }, (_, index) => index);
  let out = '';
  for (let row = 0; row < rows.rowCount; row += 1) {
    const values = rows.values.subarray(row * rows.columnCount, (row + 1) * rows.columnCount);
    explainer.contributions(values, contributions);
    const margin = model.predictMargin(values);
    const largest = order
      .filter((feature) => contributions[feature] !== 0)
      .sort((a, b) => Math.abs(contributions[b]) - Math.abs(contributions[a]) || a - b)
      .slice(0, top)
      .map((feature) => ({
        feature: names?.[feature] ?? `f${feature}`,
        value: feature < values.length && !Number.isNaN(values[feature]) ? values[feature] : null,
        contribution: contributions[feature],
      }));
    const explained = `, "margin": ${JSON.stringify(margin)}, "bias": ${JSON.stringify(contributions[model.featureCount])}, "top": ${JSON.stringify(largest)}}`;
    out += `{"score": ${pythonFloatRepr(probabilities[row])}${explained}\n`;
  }
  return out;
}

async function readAll(stream: CommandIO['stdin']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
