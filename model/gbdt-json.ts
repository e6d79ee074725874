/**
 * Writes an embedded trainer's model in XGBoost 1.7's JSON model format, field for field as
 * XGBoost 1.7.4's `save_raw(raw_format="json")` writes a `binary:logistic` gbtree model (what
 * model/train.py saves): XGBoost loads it, model/xgboost.ts scores it. Float fields are float32,
 * written as the shortest decimal that reads back as the same float32.
 */
import type { BoostedModel, GrownTree } from './gbdt';

const XGBOOST_VERSION = [1, 7, 4];

/** The model file's text. `featureNames`, when given, are saved as XGBoost saves a DMatrix's names. */
export function xgboostModelJson(model: BoostedModel, featureNames: readonly string[] = []): string {
  const treeCount = model.trees.length;
  const bestIteration = model.bestIteration ?? treeCount - 1;
  const document = {
    learner: {
      // xgb.train records the best round (the last, without early stopping) as train.py's models carry it.
      attributes: {
        best_iteration: String(bestIteration),
        best_ntree_limit: String(bestIteration + 1),
        ...(model.bestScore !== undefined ? { best_score: String(model.bestScore) } : {}),
      },
      feature_names: [...featureNames],
      feature_types: featureNames.map(() => 'float'),
      gradient_booster: {
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(treeCount), size_leaf_vector: '0' },
          tree_info: model.trees.map(() => 0),
          trees: model.trees.map((tree, id) => treeJson(tree, id, model.featureCount)),
        },
        name: 'gbtree',
      },
      learner_model_param: {
        base_score: float32Parameter(model.baseScore),
        boost_from_average: '1',
        num_class: '0',
        num_feature: String(model.featureCount),
        num_target: '1',
      },
      objective: { name: 'binary:logistic', reg_loss_param: { scale_pos_weight: '1' } },
    },
    version: XGBOOST_VERSION,
  };
  // Floats are placed as raw JSON text (JSON.stringify would write the float32's double expansion).
  return JSON.stringify(document, (_key, value: unknown) => (value instanceof Float32Text ? `\u0000${value.text}\u0000` : value))
    .replace(/"\\u0000([^"\\]*)\\u0000"/g, '$1');
}

function treeJson(tree: GrownTree, id: number, featureCount: number) {
  const leaf = (node: number) => tree.left[node] < 0;
  const nodes = tree.left.length;
  return {
    base_weights: tree.baseWeight.map(float32Number),
    categories: [],
    categories_nodes: [],
    categories_segments: [],
    categories_sizes: [],
    default_left: tree.defaultLeft.map((value, node) => (value && !leaf(node) ? 1 : 0)),
    id,
    left_children: tree.left,
    loss_changes: tree.lossChange.map(float32Number),
    parents: tree.parent,
    right_children: tree.right,
    split_conditions: tree.condition.map(float32Number),
    split_indices: tree.feature.map((feature, node) => (leaf(node) ? 0 : feature)),
    split_type: tree.left.map(() => 0),
    sum_hessian: tree.sumHessian.map(float32Number),
    tree_param: { num_deleted: '0', num_feature: String(featureCount), num_nodes: String(nodes), size_leaf_vector: '0' },
  };
}

class Float32Text {
  constructor(readonly text: string) {}
}

function float32Number(value: number): Float32Text {
  return new Float32Text(shortestFloat32(value));
}

/** The shortest decimal that reads back (rounded to float32) as `value`'s float32. */
export function shortestFloat32(value: number): string {
  const target = Math.fround(value);
  if (!Number.isFinite(target)) throw new RangeError(`a model value is ${target}: training diverged`);
  if (Number.isInteger(target) && Math.abs(target) < 1e16) return `${target}.0`.replace(/^-0\.0$/, '-0.0');
  for (let digits = 1; digits <= 9; digits += 1) {
    const text = target.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return String(Number(text));
  }
  return String(target);
}

/** A float32 hyperparameter as XGBoost writes it: shortest digits in scientific notation ("5E-1"). */
function float32Parameter(value: number): string {
  const [mantissa, exponent] = Number(shortestFloat32(value)).toExponential().split('e');
  return `${mantissa}E${Number(exponent)}`;
}
