import { findPython, ToolMissingError, type PythonRuntime } from '../../model/python';

/**
 * The Python with XGBoost 1.7 that a test needs (DEPLOY_GUARD_PYTHON, or the first on the machine).
 * When there is none the tests of `what` are skipped with a visible message, except in CI
 * (CI=true), where a missing tool is a failure.
 */
export function pythonFor(what: string): PythonRuntime | undefined {
  try {
    return findPython(process.env.DEPLOY_GUARD_PYTHON || undefined);
  } catch (error) {
    if (!(error instanceof ToolMissingError)) throw error;
    if (process.env.CI === 'true') throw new Error(`CI needs Python with XGBoost for ${what}: ${error.message}`);
    console.warn(`SKIPPED: ${what}: ${error.message}`);
    return undefined;
  }
}
