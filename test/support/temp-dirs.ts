import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Scratch folders for one test file: call at the file's top level; each call of the returned
 * function makes a fresh `deploy-guard-<name>-*` folder under the system temp dir, and all of them
 * are removed after the file's tests.
 */
export function scratchDirs(name: string): () => string {
  const made: string[] = [];
  afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `deploy-guard-${name}-`));
    made.push(dir);
    return dir;
  };
}
