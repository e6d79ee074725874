#!/usr/bin/env bash
# Executes the three notebooks headless and offline (jupyter nbconvert --execute), each into a
# scratch folder that is removed afterwards; fails on the first cell that raises.
# Needs Node.js 20 (the notebooks call the Deploy Guard CLI) and Debian's python3-xgboost,
# python3-pandas, python3-sklearn, python3-matplotlib, python3-ipykernel, jupyter-nbconvert.
# The committed notebooks carry no outputs; this never writes into the checkout.
set -euo pipefail

notebooks="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$notebooks")"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/deploy-guard-notebooks.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

jupyter="${JUPYTER:-jupyter}"
if ! command -v "$jupyter" >/dev/null 2>&1; then
  echo "notebooks/check.sh: jupyter not found: apt-get install jupyter-nbconvert python3-ipykernel" >&2
  exit 1
fi

for notebook in "$notebooks"/0*.ipynb; do
  name="$(basename "$notebook" .ipynb)"
  echo "notebooks/check.sh: executing $name"
  started=$SECONDS
  DEPLOY_GUARD_ROOT="$root" DEPLOY_GUARD_NOTEBOOK_OUT="$scratch/$name" PYDEVD_DISABLE_FILE_VALIDATION=1 \
    "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout=900 \
    --output-dir "$scratch/executed" --output "$name" "$notebook" 2>"$scratch/$name.log" || {
      cat "$scratch/$name.log" >&2
      echo "notebooks/check.sh: $name failed" >&2
      exit 1
    }
  echo "notebooks/check.sh: $name ok ($((SECONDS - started)) s)"
done

# The committed notebooks must stay free of outputs.
python="${DEPLOY_GUARD_PYTHON:-/usr/bin/python3}"
"$python" - "$notebooks"/0*.ipynb <<'PY'
import json, sys
dirty = [path for path in sys.argv[1:]
         if any(cell.get("outputs") or cell.get("execution_count") for cell in json.load(open(path))["cells"])]
if dirty:
    sys.exit("notebooks/check.sh: commit notebooks without outputs (jupyter nbconvert --clear-output --inplace): " + ", ".join(dirty))
PY
echo "notebooks/check.sh: all notebooks ran"
