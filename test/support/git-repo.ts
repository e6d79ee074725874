import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Real git repositories in a temp dir for tests: commits with known files, authors and dates, the
 * user set per commit with `-c user.name / -c user.email`, and no global or system configuration.
 */

export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

export function git(repo: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...GIT_ENV, ...env } }).trim();
}

export interface Author {
  readonly name: string;
  readonly email: string;
}

export class TestRepo {
  readonly dir: string;
  private commits = 0;

  constructor(name = 'repo') {
    this.dir = join(mkdtempSync(join(tmpdir(), 'deploy-guard-git-')), name);
    mkdirSync(this.dir);
    git(this.dir, ['init', '--quiet', '--initial-branch=main']);
  }

  /**
   * Writes (a string or bytes), deletes (null) or renames (`{ renameTo }`) files, then commits all of
   * it as `author`. Returns the commit id.
   */
  commit(author: Author, message: string, files: Readonly<Record<string, string | Buffer | null | { renameTo: string }>>): string {
    for (const [path, content] of Object.entries(files)) {
      const file = join(this.dir, path);
      if (content === null) {
        git(this.dir, ['rm', '--quiet', '--', path]);
      } else if (typeof content === 'object' && !Buffer.isBuffer(content)) {
        mkdirSync(dirname(join(this.dir, content.renameTo)), { recursive: true });
        git(this.dir, ['mv', '--', path, content.renameTo]);
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
        git(this.dir, ['add', '--', path]);
      }
    }
    this.commits += 1;
    const date = `2026-11-${String(this.commits).padStart(2, '0')}T09:00:00Z`;
    git(
      this.dir,
      ['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`, '-c', 'commit.gpgsign=false', 'commit', '--quiet', '-m', message],
      { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    );
    return git(this.dir, ['rev-parse', 'HEAD']);
  }

  remove(): void {
    rmSync(dirname(this.dir), { recursive: true, force: true });
  }
}

/** A binary file's bytes (NUL bytes make git treat it as binary). */
export function binary(...bytes: number[]): Buffer {
  return Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, ...bytes]);
}
