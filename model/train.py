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

Data-lake window mode (what Deploy Guard's drift handler starts): with the hyperparameters
`window_from` and `window_to` (ISO dates, both included), the `train` channel is the data lake's
rows prefix, one CSV file per deployment under `date=YYYY-MM-DD/` folders. The files of the window
are ordered by date; the most recent dates holding `validation_fraction` (default "0.2") of the rows
are the validation window, the earlier ones train (a date is never split). When the `serving`
channel (SM_CHANNEL_SERVING, --serving) holds the serving model (model.tar.gz or xgboost-model), it
is scored on the same validation rows. `evaluation.json` is written to SM_OUTPUT_DATA_DIR
(/opt/ml/output/data; --output-data-dir locally), which SageMaker uploads as output.tar.gz:
{"candidate": {auc, prAuc, brier, f1Failure, rows}, "serving": {...} or null, "threshold", "window",
"trainer": "xgboost <version>"} (the embedded trainer, model/embedded-training.ts, writes the same with "embedded").
"""

import argparse
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile

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
# The data-lake window mode (see the module documentation).
WINDOW_PARAMETERS = {"window_from", "window_to", "validation_fraction"}
DEFAULT_VALIDATION_FRACTION = 0.2
# F1 on failures in evaluation.json is judged at p >= 0.25: the cost-optimal cut for calibrated probabilities
# at Deploy Guard's default costs (a failed deployment 3, a needless rollback 1; model/training.ts DEFAULT_COSTS).
EVALUATION_THRESHOLD = 0.25
DATE_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    parser.add_argument("--serving", default=os.environ.get("SM_CHANNEL_SERVING"),
                        help="folder or file of the serving model (model.tar.gz or xgboost-model) to evaluate "
                             "on the same window (default: SM_CHANNEL_SERVING; window mode only)")
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"),
                        help="where evaluation.json is written in window mode (default: SM_OUTPUT_DATA_DIR)")
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
    unknown = sorted(set(values) - BOOSTER_PARAMETERS - TRAINING_PARAMETERS - WINDOW_PARAMETERS)
    if unknown:
        raise TrainingError("unknown hyperparameter(s): " + ", ".join(unknown))
    window = read_window(values)
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
    return params, num_round, early_stopping, window


def read_window(values):
    """The data-lake window (from, to, validation fraction), or None without window_from / window_to."""
    given = sorted(key for key in WINDOW_PARAMETERS if key in values)
    if not given:
        return None
    if "window_from" not in values or "window_to" not in values:
        raise TrainingError("hyperparameters window_from and window_to go together (got only " + ", ".join(given) + ")")
    bounds = []
    for key in ("window_from", "window_to"):
        value = str(values[key])
        if not ISO_DATE.match(value):
            raise TrainingError(f"hyperparameter {key} must be an ISO date YYYY-MM-DD, got {value!r}")
        bounds.append(value)
    if bounds[0] > bounds[1]:
        raise TrainingError(f"hyperparameter window_from {bounds[0]} is after window_to {bounds[1]}")
    fraction = values.get("validation_fraction", DEFAULT_VALIDATION_FRACTION)
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise TrainingError(f"hyperparameter validation_fraction must be a number, got {fraction!r}") from None
    if not 0 < fraction < 1:
        raise TrainingError(f"hyperparameter validation_fraction must be between 0 and 1 (exclusive), got {fraction!r}")
    return {"from": bounds[0], "to": bounds[1], "validation_fraction": fraction}


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


def window_files(root, window):
    """The data lake's files in the window: [(date, path)] in date order, then name order."""
    if not os.path.isdir(root):
        raise TrainingError(f"train channel {root} is not a folder of date=YYYY-MM-DD/ folders (window mode)")
    found = []
    for folder, _, files in os.walk(root):
        match = DATE_FOLDER.match(os.path.basename(folder))
        if not match or not window["from"] <= match.group(1) <= window["to"]:
            continue
        found.extend((match.group(1), os.path.join(folder, name)) for name in files if not name.startswith("."))
    found.sort()
    return found


def count_rows(path):
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def split_window(files, fraction, window):
    """Whole dates: the most recent ones holding at least `fraction` of the rows validate, the rest train."""
    rows_by_date = {}
    for date, path in files:
        rows_by_date[date] = rows_by_date.get(date, 0) + count_rows(path)
    dates = sorted(date for date, rows in rows_by_date.items() if rows > 0)
    if len(dates) < 2:
        raise TrainingError(f"window {window['from']}..{window['to']} holds rows on {len(dates)} date(s); "
                            "training and validation need at least one date each")
    total = sum(rows_by_date[date] for date in dates)
    validation_dates, validation_rows = [], 0
    for date in reversed(dates[1:]):
        if validation_rows >= fraction * total:
            break
        validation_dates.insert(0, date)
        validation_rows += rows_by_date[date]
    first_validation = validation_dates[0]
    train_files = [path for date, path in files if date < first_validation]
    validation_files = [path for date, path in files if date >= first_validation]
    train_dates = [date for date in dates if date < first_validation]
    return train_files, validation_files, (train_dates[0], train_dates[-1]), (validation_dates[0], validation_dates[-1])


def concatenate(paths, target):
    with open(target, "wb") as out:
        for path in paths:
            with open(path, "rb") as handle:
                data = handle.read()
            out.write(data)
            if data and not data.endswith(b"\n"):
                out.write(b"\n")


def load_serving_model(xgb, path, scratch):
    """The serving model from the serving channel (model.tar.gz holding xgboost-model, or xgboost-model)."""
    candidates = [path] if os.path.isfile(path) else [os.path.join(path, name) for name in sorted(os.listdir(path))]
    for candidate in candidates:
        name = os.path.basename(candidate)
        if name == "xgboost-model":
            return xgb.Booster(model_file=candidate)
        if name.endswith(".tar.gz"):
            with tarfile.open(candidate, "r:gz") as archive:
                members = [member for member in archive.getmembers()
                           if member.isfile() and os.path.basename(member.name) == "xgboost-model"]
                if not members:
                    raise TrainingError(f"serving channel: {candidate} holds no xgboost-model")
                target = os.path.join(scratch, "serving-xgboost-model")
                with archive.extractfile(members[0]) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
            return xgb.Booster(model_file=target)
    raise TrainingError(f"serving channel {path} holds neither model.tar.gz nor xgboost-model")


def model_metrics(labels, scores):
    """{auc, prAuc, brier, f1Failure, rows}, defined as model/metrics.ts defines them (tie-aware)."""
    labels = [bool(label) for label in labels]
    scores = [float(score) for score in scores]
    rows = len(labels)
    positives = sum(labels)
    negatives = rows - positives
    auc = None
    if positives and negatives:
        order = sorted(range(rows), key=lambda index: scores[index])
        rank_sum, position = 0.0, 0
        while position < rows:
            end = position
            while end + 1 < rows and scores[order[end + 1]] == scores[order[position]]:
                end += 1
            average_rank = (position + end) / 2 + 1
            rank_sum += average_rank * sum(1 for index in order[position:end + 1] if labels[index])
            position = end + 1
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    pr_auc = None
    if positives:
        order = sorted(range(rows), key=lambda index: -scores[index])
        true_positives = seen = 0
        previous_recall = area = 0.0
        position = 0
        while position < rows:
            score = scores[order[position]]
            while position < rows and scores[order[position]] == score:
                true_positives += labels[order[position]]
                seen += 1
                position += 1
            recall = true_positives / positives
            area += (recall - previous_recall) * (true_positives / seen)
            previous_recall = recall
        pr_auc = area
    brier = sum((score - (1.0 if label else 0.0)) ** 2 for label, score in zip(labels, scores)) / rows if rows else None
    flagged = [score >= EVALUATION_THRESHOLD for score in scores]
    true_positive = sum(1 for label, flag in zip(labels, flagged) if label and flag)
    precision = true_positive / sum(flagged) if any(flagged) else 0.0
    recall = true_positive / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"auc": auc, "prAuc": pr_auc, "brier": brier, "f1Failure": f1, "rows": rows}


def prepare_window(xgb, arguments, window, scratch):
    """The window's train and validation matrices, and what evaluation.json says about the window."""
    files = window_files(arguments.train, window)
    if not files:
        raise TrainingError(f"train channel {arguments.train} holds no file dated {window['from']}..{window['to']} "
                            "(expected date=YYYY-MM-DD/ folders)")
    train_files, validation_files, train_dates, validation_dates = split_window(files, window["validation_fraction"], window)
    for name, paths in (("train", train_files), ("validation", validation_files)):
        os.makedirs(os.path.join(scratch, name))
        concatenate(paths, os.path.join(scratch, name, f"{name}.csv"))
    print(f"window {window['from']}..{window['to']}: {len(files)} files; train {train_dates[0]}..{train_dates[1]}, "
          f"validation {validation_dates[0]}..{validation_dates[1]}", flush=True)
    dtrain = load_channel(xgb, os.path.join(scratch, "train"), "train")
    dvalidation = load_channel(xgb, os.path.join(scratch, "validation"), "validation")
    described = {"from": window["from"], "to": window["to"], "validationFraction": window["validation_fraction"],
                 "trainDates": list(train_dates), "validationDates": list(validation_dates), "files": len(files)}
    return dtrain, dvalidation, described


def write_evaluation(xgb, arguments, booster, dvalidation, described, scratch):
    labels = dvalidation.get_label().tolist()
    candidate = model_metrics(labels, booster.predict(dvalidation).tolist())
    serving, serving_error = None, None
    if arguments.serving and os.path.exists(arguments.serving):
        model = load_serving_model(xgb, arguments.serving, scratch)
        if model.num_features() != dvalidation.num_col():
            serving_error = (f"the serving model has {model.num_features()} features, the window's rows "
                             f"{dvalidation.num_col()}: not comparable")
            print(f"warning: {serving_error}", flush=True)
        else:
            serving = model_metrics(labels, model.predict(dvalidation).tolist())
    document = {"candidate": candidate, "serving": serving, "threshold": EVALUATION_THRESHOLD, "window": described,
                "trainer": f"xgboost {xgb.__version__}"}
    if serving_error:
        document["servingError"] = serving_error
    os.makedirs(arguments.output_data_dir, exist_ok=True)
    path = os.path.join(arguments.output_data_dir, "evaluation.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    print(f"evaluation written to {path}: candidate auc {candidate['auc']}, serving auc "
          f"{serving['auc'] if serving else None}", flush=True)


def import_xgboost():
    """XGBoost, without the pandas and scikit-learn integrations this script does not use.

    XGBoost 1.7 imports both when they are installed (as in the container), which takes 1.5 s of
    each job's start; marked unavailable, it skips them (xgboost.compat catches the ImportError).
    Only when this script runs as a program: imported into a notebook, it leaves them alone."""
    if __name__ == "__main__":
        for optional in ("pandas", "sklearn"):
            sys.modules.setdefault(optional, None)
    import xgboost
    return xgboost


def train(arguments):
    params, num_round, early_stopping, window = read_hyperparameters(arguments.hyperparameters)
    try:
        xgb = import_xgboost()
    except ImportError:
        raise TrainingError("XGBoost is not installed: `apt-get install python3-xgboost` (Debian/Ubuntu) "
                            "or `pip install xgboost==1.7.6`") from None
    if window is None:
        dtrain = load_channel(xgb, arguments.train, "train")
        dvalidation = load_channel(xgb, arguments.validation, "validation")
        fit(xgb, arguments, params, num_round, early_stopping, dtrain, dvalidation)
        return
    scratch = tempfile.mkdtemp(prefix="deploy-guard-window-")
    try:
        dtrain, dvalidation, described = prepare_window(xgb, arguments, window, scratch)
        booster = fit(xgb, arguments, params, num_round, early_stopping, dtrain, dvalidation)
        write_evaluation(xgb, arguments, booster, dvalidation, described, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fit(xgb, arguments, params, num_round, early_stopping, dtrain, dvalidation):
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
    return booster


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
