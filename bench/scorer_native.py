#!/usr/bin/python3
"""Native XGBoost prediction throughput, single-threaded, for bench/scorer.ts.

Reads a model (XGBoost JSON) and rows (raw little-endian float32, row-major, NaN = missing), and
times `Booster.predict(DMatrix)` as the sagemaker-xgboost container calls it (nthread=1), building a
fresh DMatrix for every round outside the timed part: XGBoost caches predictions per DMatrix, so a
second predict on the same DMatrix would not predict at all. Prints one JSON object.
"""
import argparse
import json
import time
import warnings

import numpy as np
import xgboost as xgb


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', required=True)
    parser.add_argument('--rows', required=True)
    parser.add_argument('--columns', type=int, required=True)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    booster = xgb.Booster()
    booster.load_model(args.model)
    booster.set_param('nthread', 1)
    data = np.fromfile(args.rows, dtype='<f4').reshape(-1, args.columns)
    limit = getattr(booster, 'best_ntree_limit', 0)

    rates = []
    checksum = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # ntree_limit is deprecated; the container uses it
        booster.predict(xgb.DMatrix(data[:1000], nthread=1), ntree_limit=limit, validate_features=False)  # warm-up
        for _ in range(args.rounds):
            dmatrix = xgb.DMatrix(data, nthread=1)
            start = time.perf_counter()
            predictions = booster.predict(dmatrix, ntree_limit=limit, validate_features=False)
            elapsed = time.perf_counter() - start
            rates.append(data.shape[0] / elapsed)
            checksum = float(np.sum(predictions.astype(np.float64)))
    rates.sort()
    print(json.dumps({
        'xgboost': xgb.__version__, 'rows': int(data.shape[0]), 'rounds': args.rounds,
        'rows_per_second_median': rates[len(rates) // 2], 'rows_per_second_best': rates[-1], 'checksum': checksum,
    }))


if __name__ == '__main__':
    main()
