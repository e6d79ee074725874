import { spawnSync } from 'node:child_process';

/**
 * Finding the Python that trains: local training runs model/train.py with XGBoost 1.7 (the version of
 * the sagemaker-xgboost:1.7-1 container), like the container does.
 */

export const INSTALL_HINT =
  'Install Python 3 with XGBoost 1.7: `apt-get install python3-xgboost` (Debian/Ubuntu) or `pip install xgboost==1.7.6`';

/** Python or XGBoost is missing: says which, and how to install them. */
export class ToolMissingError extends Error {
  override readonly name = 'ToolMissingError';
}

export interface PythonRuntime {
  readonly executable: string;
  readonly xgboostVersion: string;
}

/** Interpreters tried, in order, unless one is named (--python, or DEPLOY_GUARD_PYTHON). */
export const PYTHON_CANDIDATES = ['python3', '/usr/bin/python3', 'python'];

/**
 * The first interpreter that imports xgboost. `named` (an explicit choice) is the only one tried when
 * given. Throws ToolMissingError naming what was tried.
 */
export function findPython(named?: string): PythonRuntime {
  const candidates = named ? [named] : PYTHON_CANDIDATES;
  const withoutXGBoost: string[] = [];
  for (const executable of candidates) {
    const probe = spawnSync(executable, ['-c', 'import xgboost; print(xgboost.__version__)'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (probe.error) continue; // not installed (ENOENT) or not runnable
    if (probe.status === 0) return { executable, xgboostVersion: probe.stdout.trim() };
    withoutXGBoost.push(executable);
  }
  if (withoutXGBoost.length > 0) {
    throw new ToolMissingError(
      `XGBoost is not installed for ${withoutXGBoost.join(', ')}. ${INSTALL_HINT}; or name an interpreter that has it with --python.`,
    );
  }
  throw new ToolMissingError(`Python was not found (tried ${candidates.join(', ')}). ${INSTALL_HINT}; or name an interpreter with --python.`);
}
