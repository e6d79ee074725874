/**
 * The embedded trainer's hyperparameters, read as model/train.py reads them (its
 * `read_hyperparameters`): strings as SageMaker passes them (JSON-encoded values decoded), the
 * `sagemaker_*` script-mode keys ignored, an unknown key an error naming it, `num_round` required.
 *
 * train.py accepts every XGBoost 1.7 tree-booster parameter; the embedded trainer honours those
 * that change the model of a depth-wise `hist` tree and refuses, by name, the few it does not
 * implement (a model silently trained without a constraint it was given would be worse than none).
 */

export class HyperparameterError extends Error {
  override readonly name = 'HyperparameterError';
}

/** The booster parameters train.py accepts (BOOSTER_PARAMETERS there). */
const BOOSTER_PARAMETERS = new Set([
  'objective', 'eval_metric', 'eta', 'learning_rate', 'gamma', 'min_split_loss', 'max_depth',
  'min_child_weight', 'max_delta_step', 'subsample', 'sampling_method', 'colsample_bytree',
  'colsample_bylevel', 'colsample_bynode', 'lambda', 'reg_lambda', 'alpha', 'reg_alpha',
  'tree_method', 'scale_pos_weight', 'max_leaves', 'max_bin', 'grow_policy', 'num_parallel_tree',
  'seed', 'base_score', 'nthread', 'verbosity', 'booster', 'monotone_constraints',
  'interaction_constraints',
]);
const TRAINING_PARAMETERS = new Set(['num_round', 'early_stopping_rounds']);
const WINDOW_PARAMETERS = new Set(['window_from', 'window_to', 'validation_fraction']);
const DEFAULT_VALIDATION_FRACTION = 0.2;
/** Metrics the embedded trainer computes (for the log and early stopping). */
export const EMBEDDED_METRICS = ['auc', 'logloss', 'error'] as const;
export type EmbeddedMetric = (typeof EMBEDDED_METRICS)[number];

export interface BoosterParameters {
  readonly eta: number;
  readonly gamma: number;
  readonly maxDepth: number;
  readonly minChildWeight: number;
  readonly maxDeltaStep: number;
  readonly subsample: number;
  readonly colsampleByTree: number;
  readonly colsampleByLevel: number;
  readonly colsampleByNode: number;
  readonly lambda: number;
  readonly alpha: number;
  readonly scalePosWeight: number;
  /** 0: no limit. */
  readonly maxLeaves: number;
  readonly maxBin: number;
  readonly seed: number;
  readonly baseScore: number;
  /** The metrics printed each round; the last one decides early stopping, as in XGBoost. */
  readonly evalMetric: readonly EmbeddedMetric[];
}

export interface TrainingWindow {
  readonly from: string;
  readonly to: string;
  readonly validationFraction: number;
}

export interface TrainerParameters {
  readonly booster: BoosterParameters;
  readonly numRound: number;
  readonly earlyStoppingRounds?: number;
  readonly window?: TrainingWindow;
}

/** Parses the job's hyperparameters (values as strings) or throws HyperparameterError naming the key. */
export function readTrainerParameters(raw: Readonly<Record<string, unknown>>): TrainerParameters {
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('sagemaker_')) continue; // script-mode settings (sagemaker_program, ...)
    values.set(key, decode(value));
  }
  const unknown = [...values.keys()].filter((key) => !BOOSTER_PARAMETERS.has(key) && !TRAINING_PARAMETERS.has(key) && !WINDOW_PARAMETERS.has(key)).sort();
  if (unknown.length > 0) throw new HyperparameterError(`unknown hyperparameter(s): ${unknown.join(', ')}`);
  const window = readWindow(values);
  if (!values.has('num_round')) throw new HyperparameterError('hyperparameter num_round is required');
  refuseUnsupported(values);
  const number = (key: string, fallback: number, valid: (value: number) => boolean, rule: string): number => {
    const text = values.get(key);
    if (text === undefined) return fallback;
    const value = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(value) || !valid(value)) throw new HyperparameterError(`hyperparameter ${key} must be ${rule}, got '${text}'`);
    return value;
  };
  const either = (key: string, alias: string, fallback: number, valid: (value: number) => boolean, rule: string): number =>
    values.has(alias) ? number(alias, fallback, valid, rule) : number(key, fallback, valid, rule);
  const nonNegative = (value: number) => value >= 0;
  const fraction = (value: number) => value > 0 && value <= 1;
  const booster: BoosterParameters = {
    eta: either('eta', 'learning_rate', 0.3, nonNegative, 'a number >= 0'),
    gamma: either('gamma', 'min_split_loss', 0, nonNegative, 'a number >= 0'),
    maxDepth: number('max_depth', 6, (value) => Number.isInteger(value) && value >= 1 && value <= 30, 'a whole number from 1 to 30 (the embedded trainer grows depth-wise)'),
    minChildWeight: number('min_child_weight', 1, nonNegative, 'a number >= 0'),
    maxDeltaStep: number('max_delta_step', 0, nonNegative, 'a number >= 0'),
    subsample: number('subsample', 1, fraction, 'in (0, 1]'),
    colsampleByTree: number('colsample_bytree', 1, fraction, 'in (0, 1]'),
    colsampleByLevel: number('colsample_bylevel', 1, fraction, 'in (0, 1]'),
    colsampleByNode: number('colsample_bynode', 1, fraction, 'in (0, 1]'),
    lambda: either('lambda', 'reg_lambda', 1, nonNegative, 'a number >= 0'),
    alpha: either('alpha', 'reg_alpha', 0, nonNegative, 'a number >= 0'),
    scalePosWeight: number('scale_pos_weight', 1, (value) => value > 0, 'a number > 0'),
    maxLeaves: number('max_leaves', 0, (value) => Number.isInteger(value) && value >= 0, 'a whole number >= 0'),
    maxBin: number('max_bin', 256, (value) => Number.isInteger(value) && value >= 2 && value <= 65535, 'a whole number from 2 to 65535'),
    seed: number('seed', 0, Number.isInteger, 'a whole number'),
    baseScore: number('base_score', 0.5, (value) => value > 0 && value < 1, 'in (0, 1) for binary:logistic'),
    evalMetric: readMetrics(values.get('eval_metric')),
  };
  const earlyStopping = values.get('early_stopping_rounds');
  return {
    booster,
    numRound: wholeNumber(values.get('num_round')!, 'num_round'),
    ...(earlyStopping !== undefined ? { earlyStoppingRounds: wholeNumber(earlyStopping, 'early_stopping_rounds') } : {}),
    ...(window ? { window } : {}),
  };
}

/** Accepted by train.py, but a model the embedded trainer would not build as asked: refused by name. */
function refuseUnsupported(values: ReadonlyMap<string, string>): void {
  const allowed: Record<string, readonly string[]> = {
    objective: ['binary:logistic'],
    booster: ['gbtree'],
    // 'hist' is what the embedded trainer is; auto/approx/exact grow the same kind of trees on finer cuts.
    tree_method: ['hist', 'auto', 'approx', 'exact'],
    grow_policy: ['depthwise'],
    sampling_method: ['uniform'],
    num_parallel_tree: ['1'],
    monotone_constraints: ['', '()', '[]'],
    interaction_constraints: ['', '[]'],
  };
  for (const [key, accepted] of Object.entries(allowed)) {
    const value = values.get(key);
    if (value === undefined || accepted.includes(value.trim())) continue;
    if (key === 'objective') throw new HyperparameterError(`objective must be binary:logistic, got ${value}`);
    if (key === 'booster') throw new HyperparameterError(`booster must be gbtree, got ${value}`);
    throw new HyperparameterError(`hyperparameter ${key}=${value} is not supported by the embedded trainer (it supports ${accepted.filter(Boolean).join(', ')}); train with --trainer xgboost`);
  }
}

function readMetrics(text: string | undefined): EmbeddedMetric[] {
  const metrics = (text ?? 'auc').split(',').map((metric) => metric.trim()).filter(Boolean);
  for (const metric of metrics) {
    if (!(EMBEDDED_METRICS as readonly string[]).includes(metric)) {
      throw new HyperparameterError(`eval_metric ${metric} is not supported by the embedded trainer (it computes ${EMBEDDED_METRICS.join(', ')}); train with --trainer xgboost`);
    }
  }
  if (!metrics.includes('auc')) metrics.push('auc');
  return metrics as EmbeddedMetric[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function readWindow(values: ReadonlyMap<string, string>): TrainingWindow | undefined {
  const given = [...WINDOW_PARAMETERS].filter((key) => values.has(key)).sort();
  if (given.length === 0) return undefined;
  if (!values.has('window_from') || !values.has('window_to')) {
    throw new HyperparameterError(`hyperparameters window_from and window_to go together (got only ${given.join(', ')})`);
  }
  const [from, to] = (['window_from', 'window_to'] as const).map((key) => {
    const value = values.get(key)!;
    if (!ISO_DATE.test(value)) throw new HyperparameterError(`hyperparameter ${key} must be an ISO date YYYY-MM-DD, got '${value}'`);
    return value;
  });
  if (from > to) throw new HyperparameterError(`hyperparameter window_from ${from} is after window_to ${to}`);
  const text = values.get('validation_fraction');
  const validationFraction = text === undefined ? DEFAULT_VALIDATION_FRACTION : Number(text);
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new HyperparameterError(`hyperparameter validation_fraction must be between 0 and 1 (exclusive), got '${text}'`);
  }
  return { from, to, validationFraction };
}

/** SageMaker passes strings; the Python SDK JSON-encodes them (`"\"0.1\""`), as train.py's `decode` undoes. */
function decode(value: unknown): string {
  if (typeof value === 'string') {
    try {
      const decoded: unknown = JSON.parse(value);
      if (typeof decoded === 'string') return decoded;
      if (typeof decoded === 'number') return String(decoded);
      if (Array.isArray(decoded)) return value;
    } catch {
      return value;
    }
    return value;
  }
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function wholeNumber(text: string, key: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !Number.isInteger(value) || value < 1) {
    throw new HyperparameterError(`hyperparameter ${key} must be a whole number >= 1, got '${text}'`);
  }
  return value;
}
