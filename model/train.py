#!/usr/bin/env python3
"""Deploy Guard's training script: one XGBoost binary:logistic model from the container's CSV.

Runs unchanged
  - in SageMaker's sagemaker-xgboost:1.7-1 container in script mode: channels `train` and
    `validation` under /opt/ml/input/data (SM_CHANNEL_*), hyperparameters from
    /opt/ml/input/config/hyperparameters.json, the model written to /opt/ml/model/xgboost-model;
  - locally, with the same contract given by flags:
      python3 model/train.py --train DIR --validation DIR --model-dir DIR --hyperparameters FILE

Input: CSV, the label (1 = failed) in the first column, no header, an empty field for a missing
value, loaded with XGBoost's own loader (`path?format=csv&label_column=0`) as the container does.
Output: `xgboost-model` in XGBoost's JSON format. Metrics are printed as `validation-auc:<value>`
(the training log prints `[i]\ttrain-auc:...\tvalidation-auc:...` every round).

Hyperparameters are strings, as SageMaker passes them; an unknown key fails, as in the built-in
algorithm; `num_round` is required.
"""

import argparse
import json
import os
import sys

# The training toolkit exports SM_INPUT_CONFIG_DIR (/opt/ml/input/config) in script mode.
SAGEMAKER_HYPERPARAMETERS = os.path.join(os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"), "hyperparameters.json")
SAGEMAKER_FAILURE_FILE = "/opt/ml/output/failure"

# The booster parameters this script accepts (XGBoost 1.7, tree booster) besides num_round and
# early_stopping_rounds. The exact scorer of Deploy Guard supports gbtree with binary:logistic.
BOOSTER_PARAMETERS = {
    "objective", "eval_metric", "eta", "learning_rate", "gamma", "min_split_loss", "max_depth",
    "min_child_weight", "max_delta_step", "subsample", "sampling_method", "colsample_bytree",
    "colsample_bylevel", "colsample_bynode", "lambda", "reg_lambda", "alpha", "reg_alpha",
    "tree_method", "scale_pos_weight", "max_leaves", "max_bin", "grow_policy", "num_parallel_tree",
    "seed", "base_score", "nthread", "verbosity", "booster", "monotone_constraints",
    "interaction_constraints",
}
TRAINING_PARAMETERS = {"num_round", "early_stopping_rounds"}


class TrainingError(Exception):
    """A problem with the input or the hyperparameters: reported in one line, exit code 2."""


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"),
                        help="training CSV file or folder (default: SM_CHANNEL_TRAIN)")
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
                        help="validation CSV file or folder (default: SM_CHANNEL_VALIDATION)")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"),
                        help="where xgboost-model is written (default: SM_MODEL_DIR)")
    parser.add_argument("--hyperparameters", default=SAGEMAKER_HYPERPARAMETERS,
                        help="JSON object of hyperparameters, values as strings")
    parser.add_argument("--feature-count", type=int, default=None,
                        help="the number of feature columns the model must have (checked when given)")
    # Script mode also passes each hyperparameter as `--name value`; they are read from the JSON file.
    arguments, _ = parser.parse_known_args(argv)
    return arguments


def read_hyperparameters(path):
    if not os.path.isfile(path):
        raise TrainingError(f"hyperparameters file {path} does not exist")
    with open(path, encoding="utf-8") as handle:
        try:
            raw = json.load(handle)
        except json.JSONDecodeError as error:
            raise TrainingError(f"hyperparameters file {path} is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise TrainingError(f"hyperparameters file {path} must hold a JSON object")
    values = {}
    for key, value in raw.items():
        if key.startswith("sagemaker_"):
            continue  # script-mode settings (sagemaker_program, sagemaker_submit_directory, ...)
        values[key] = decode(value)
    unknown = sorted(set(values) - BOOSTER_PARAMETERS - TRAINING_PARAMETERS)
    if unknown:
        raise TrainingError("unknown hyperparameter(s): " + ", ".join(unknown))
    if "num_round" not in values:
        raise TrainingError("hyperparameter num_round is required")
    params = {key: value for key, value in values.items() if key in BOOSTER_PARAMETERS}
    params.setdefault("objective", "binary:logistic")
    if params["objective"] != "binary:logistic":
        raise TrainingError(f"objective must be binary:logistic, got {params['objective']}")
    if params.get("booster", "gbtree") != "gbtree":
        raise TrainingError(f"booster must be gbtree, got {params['booster']}")
    metrics = params.get("eval_metric", "auc")
    metrics = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    if "auc" not in metrics:
        metrics.append("auc")
    params["eval_metric"] = metrics
    num_round = as_int(values["num_round"], "num_round")
    early_stopping = values.get("early_stopping_rounds")
    early_stopping = as_int(early_stopping, "early_stopping_rounds") if early_stopping is not None else None
    return params, num_round, early_stopping


def decode(value):
    """A hyperparameter value: SageMaker passes strings; the Python SDK JSON-encodes them."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, (int, float, str, list)) else value
    return value


def as_int(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TrainingError(f"hyperparameter {name} must be a whole number, got {value!r}") from None
    if number != int(number) or number < 1:
        raise TrainingError(f"hyperparameter {name} must be a whole number >= 1, got {value!r}")
    return int(number)


def load_channel(xgb, path, name):
    """A channel (a CSV file, or a folder of CSV files) through XGBoost's own CSV loader."""
    if os.path.isdir(path):
        files = [entry for entry in os.listdir(path) if not entry.startswith(".")]
        if not files:
            raise TrainingError(f"{name} channel {path} holds no file")
    elif not os.path.isfile(path):
        raise TrainingError(f"{name} channel {path} does not exist")
    matrix = xgb.DMatrix(f"{path}?format=csv&label_column=0")
    if matrix.num_row() == 0:
        raise TrainingError(f"{name} channel {path} holds no row")
    labels = set(matrix.get_label().tolist())
    if not labels <= {0.0, 1.0}:
        raise TrainingError(f"{name} labels must be 0 or 1, found {sorted(labels)[:5]}")
    return matrix


def train(arguments):
    params, num_round, early_stopping = read_hyperparameters(arguments.hyperparameters)
    try:
        import xgboost as xgb
    except ImportError:
        raise TrainingError("XGBoost is not installed: `apt-get install python3-xgboost` (Debian/Ubuntu) "
                            "or `pip install xgboost==1.7.6`") from None
    dtrain = load_channel(xgb, arguments.train, "train")
    dvalidation = load_channel(xgb, arguments.validation, "validation")
    if arguments.feature_count is not None:
        if dtrain.num_col() != arguments.feature_count:
            raise TrainingError(f"train has {dtrain.num_col()} feature columns, expected {arguments.feature_count}")
        if dvalidation.num_col() > arguments.feature_count:
            raise TrainingError(f"validation has {dvalidation.num_col()} feature columns, expected {arguments.feature_count}")
    print(f"xgboost {xgb.__version__}: {dtrain.num_row()} train rows, {dvalidation.num_row()} validation rows, "
          f"{dtrain.num_col()} features, {num_round} rounds", flush=True)
    booster = xgb.train(params, dtrain, num_boost_round=num_round,
                        evals=[(dtrain, "train"), (dvalidation, "validation")],
                        early_stopping_rounds=early_stopping, verbose_eval=True)
    if early_stopping is not None and booster.best_iteration + 1 < booster.num_boosted_rounds():
        # Keep the trees up to the best round only, so that every scorer of the saved model agrees.
        booster = booster[: booster.best_iteration + 1]
    for name, matrix in (("train", dtrain), ("validation", dvalidation)):
        result = booster.eval(matrix, name)  # "[0]\tvalidation-logloss:...\tvalidation-auc:..."
        for metric in result.split("\t")[1:]:
            if metric.startswith(f"{name}-auc:"):
                print(f"{name}-auc:{float(metric.split(':', 1)[1]):.6f}", flush=True)
    os.makedirs(arguments.model_dir, exist_ok=True)
    path = os.path.join(arguments.model_dir, "xgboost-model")
    with open(path, "wb") as handle:
        handle.write(booster.save_raw(raw_format="json"))
    print(f"model written to {path} ({booster.num_boosted_rounds()} trees)", flush=True)


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        train(arguments)
    except TrainingError as error:
        message = f"train.py: {error}"
        print(message, file=sys.stderr, flush=True)
        if os.path.isdir(os.path.dirname(SAGEMAKER_FAILURE_FILE)):
            with open(SAGEMAKER_FAILURE_FILE, "w", encoding="utf-8") as handle:
                handle.write(message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
