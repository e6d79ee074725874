import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANGE_FIELD_NAMES } from '../../model/change-fields';
import {
  classifyPath,
  computeGitChange,
  diffFields,
  GitChangeError,
  parseNameStatus,
  parseNumstat,
  repositoryName,
  type FileChange,
} from '../../model/git-change';
import { binary, git, TestRepo } from '../support/git-repo';

const alice = { name: 'Alice', email: 'alice@example.com' };
const bob = { name: 'Bob', email: 'bob@example.com' };
const carol = { name: 'Carol', email: 'Carol@Example.com' };

/**
 * The history every test reads:
 *   c1 alice  add src/app.ts (3 lines), src/util.ts (2), README.md (1), package.json (1), test/app.test.ts (2), logo.png (binary)
 *   c2 bob    src/app.ts: a 4th line
 *   c3 bob    add notes/ideas.txt (touches nothing the release touches)
 *   c4 alice  src/util.ts: second line changed                                   <- from (tag v1)
 *   c5 bob    rename src/util.ts -> src/helpers.ts (unchanged); src/app.ts: line 1 changed
 *   c6 carol  add docs/guide.md (2), config.yml (1); test/app.test.ts +1 line; logo.png changed (binary); delete README.md
 *   c7 alice  src/app.ts: 2 lines appended                                       <- to (main)
 */
function buildHistory(): { repo: TestRepo; ids: string[] } {
  const repo = new TestRepo('checkout');
  const ids = [
    repo.commit(alice, 'c1', {
      'src/app.ts': 'const a = 1;\nconst b = 2;\nconst c = 3;\n',
      'src/util.ts': 'export const x = 1;\nexport const y = 2;\n',
      'README.md': '# checkout\n',
      'package.json': '{}\n',
      'test/app.test.ts': "it('works', () => {\n});\n",
      'logo.png': binary(1, 2, 3),
    }),
    repo.commit(bob, 'c2', { 'src/app.ts': 'const a = 1;\nconst b = 2;\nconst c = 3;\nconst d = 4;\n' }),
    repo.commit(bob, 'c3', { 'notes/ideas.txt': 'later\n' }),
    repo.commit(alice, 'c4', { 'src/util.ts': 'export const x = 1;\nexport const y = 3;\n' }),
  ];
  git(repo.dir, ['tag', 'v1']);
  ids.push(
    repo.commit(bob, 'c5', {
      'src/util.ts': { renameTo: 'src/helpers.ts' },
      'src/app.ts': 'const a = 10;\nconst b = 2;\nconst c = 3;\nconst d = 4;\n',
    }),
    repo.commit(carol, 'c6', {
      'docs/guide.md': '# Guide\nRead me.\n',
      'config.yml': 'retries: 3\n',
      'test/app.test.ts': "it('works', () => {\n  expect(1).toBe(1);\n});\n",
      'logo.png': binary(4, 5, 6),
      'README.md': null,
    }),
    repo.commit(alice, 'c7', { 'src/app.ts': 'const a = 10;\nconst b = 2;\nconst c = 3;\nconst d = 4;\nconst e = 5;\nconst f = 6;\n' }),
  );
  return { repo, ids };
}

describe('computeGitChange on a real repository', () => {
  let repo: TestRepo;
  let ids: string[];
  beforeAll(() => ({ repo, ids } = buildHistory()));
  afterAll(() => repo.remove());

  it('computes every field git can tell, exactly', async () => {
    const change = await computeGitChange({ repo: repo.dir, from: 'v1', to: 'main' });

    expect(change.fromCommitId).toBe(ids[3]);
    expect(change.commitId).toBe(ids[6]);
    expect(change.change).toEqual({
      commits: 3, // c5, c6, c7
      filesAdded: 2, // docs/guide.md, config.yml
      filesDeleted: 1, // README.md
      filesModified: 4, // src/app.ts, src/util.ts -> src/helpers.ts, test/app.test.ts, logo.png
      linesAdded: 7, // app 1+2, guide 2, test 1, config 1
      linesDeleted: 2, // app 1, README 1
      srcChurn: 4, // src/app.ts +3 -1; the pure rename adds nothing
      testChurn: 1,
      testFilesChanged: 1,
      docFilesChanged: 2, // README.md (deleted), docs/guide.md
      configFilesChanged: 1, // config.yml
      otherFilesChanged: 1, // logo.png
      distinctAuthors: 3, // bob, carol, alice
      authorExperience: 2, // alice's c1 and c4, before v1
      isPullRequest: 0, // on the main branch: a branch build
      isMainBranch: 1,
      commitsOnTouchedFiles: 3, // c1, c2, c4 (not c3)
    });
    expect(change.missing).toEqual([{ field: 'authorIsCoreMember', reason: 'git does not know who the core team is' }]);
    expect(change.author).toBe('alice@example.com');
    expect(change.branch).toBe('main');
    expect(change.mainBranch).toBe('main');
    expect(change.shallow).toBe(false);
    expect(Object.keys(change.change)).toEqual(CHANGE_FIELD_NAMES.filter((name) => name !== 'authorIsCoreMember'));
  });

  it('reports each changed file with its status, paths and lines (binary files have none)', async () => {
    const change = await computeGitChange({ repo: repo.dir, from: ids[3], to: ids[6] });
    const byPath = Object.fromEntries(change.files.map((file) => [file.path, file]));
    expect(byPath['src/helpers.ts']).toEqual({ status: 'R', oldPath: 'src/util.ts', path: 'src/helpers.ts', lines: { added: 0, deleted: 0 } });
    expect(byPath['logo.png']).toEqual({ status: 'M', path: 'logo.png' });
    expect(byPath['README.md']).toEqual({ status: 'D', path: 'README.md', lines: { added: 0, deleted: 1 } });
    expect(change.files).toHaveLength(7);
  });

  it('counts an author case-insensitively, and the release of one commit', async () => {
    const change = await computeGitChange({ repo: repo.dir, from: ids[4], to: ids[5] });
    expect(change.author).toBe('carol@example.com');
    expect(change.change).toMatchObject({ commits: 1, distinctAuthors: 1, authorExperience: 0, filesAdded: 2, filesDeleted: 1, filesModified: 2 });
    // c6 touches test/app.test.ts, logo.png, README.md (c1) and docs/guide.md, config.yml (new): c1 only.
    expect(change.change.commitsOnTouchedFiles).toBe(1);
  });

  it('gives zeros, not absences, for a release with no change', async () => {
    const change = await computeGitChange({ repo: repo.dir, from: 'main', to: 'main' });
    expect(change.change).toMatchObject({ commits: 0, filesAdded: 0, filesModified: 0, linesAdded: 0, distinctAuthors: 0, commitsOnTouchedFiles: 0 });
  });

  it('tells a feature branch from main, and a pull request by its ref', async () => {
    git(repo.dir, ['checkout', '--quiet', '-b', 'feature']);
    const featureCommit = repo.commit(bob, 'c8', { 'src/app.ts': 'const a = 10;\n' });
    git(repo.dir, ['checkout', '--quiet', 'main']);

    const branch = await computeGitChange({ repo: repo.dir, from: 'main', to: 'feature' });
    expect(branch.change.isMainBranch).toBe(0);
    expect(branch.change.isPullRequest).toBeUndefined();
    expect(branch.missing).toContainEqual({ field: 'isPullRequest', reason: 'no pull request ref points at --to, and it is not on the main branch' });
    expect(branch.branch).toBe('feature');
    expect(branch.change).toMatchObject({ commits: 1, filesModified: 1, linesAdded: 0, linesDeleted: 5, srcChurn: 5 });

    // actions/checkout fetches a pull request as refs/remotes/pull/<n>/merge.
    git(repo.dir, ['update-ref', 'refs/remotes/pull/7/merge', featureCommit]);
    const pullRequest = await computeGitChange({ repo: repo.dir, from: 'main', to: featureCommit });
    expect(pullRequest.change.isPullRequest).toBe(1);
    expect(pullRequest.change.isMainBranch).toBe(0);
    git(repo.dir, ['update-ref', '-d', 'refs/remotes/pull/7/merge']);
    git(repo.dir, ['branch', '--quiet', '-D', 'feature']);
  });

  it("judges the main branch by origin/HEAD when there is one, and names the repository without credentials", async () => {
    git(repo.dir, ['remote', 'add', 'origin', 'https://ci:s3cret@github.com/acme/checkout.git']);
    git(repo.dir, ['update-ref', 'refs/remotes/origin/main', ids[5]]);
    git(repo.dir, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
    try {
      const notPushed = await computeGitChange({ repo: repo.dir, from: 'v1', to: 'main' });
      expect(notPushed.mainBranch).toBe('origin/main');
      expect(notPushed.change.isMainBranch).toBe(0); // c7 is not on origin/main yet
      expect(notPushed.repository).toBe('acme/checkout');
      const pushed = await computeGitChange({ repo: repo.dir, from: 'v1', to: ids[5] });
      expect(pushed.change.isMainBranch).toBe(1);
    } finally {
      git(repo.dir, ['remote', 'remove', 'origin']);
    }
  });

  it('leaves out the history fields of a shallow clone, never zeros', async () => {
    const clone = join(mkdtempSync(join(tmpdir(), 'deploy-guard-shallow-')), 'clone');
    git(tmpdir(), ['clone', '--quiet', '--depth', '4', '--branch', 'main', `file://${repo.dir}`, clone]);
    try {
      const change = await computeGitChange({ repo: clone, from: ids[3], to: ids[6] });
      expect(change.shallow).toBe(true);
      expect(change.change.authorExperience).toBeUndefined();
      expect(change.change.commitsOnTouchedFiles).toBeUndefined();
      expect(change.change.commits).toBe(3);
      expect(change.missing.map((absent) => absent.field)).toEqual(['authorIsCoreMember', 'authorExperience', 'commitsOnTouchedFiles']);
      await expect(computeGitChange({ repo: clone, from: ids[0], to: ids[6] })).rejects.toThrow(
        `--from '${ids[0]}': no such commit in ${clone} (the clone is shallow: fetch more history, e.g. git fetch --unshallow)`,
      );
    } finally {
      rmSync(join(clone, '..'), { recursive: true, force: true });
    }
  });

  it('names the flag and the value of a wrong input', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'deploy-guard-not-a-repo-'));
    try {
      await expect(computeGitChange({ repo: empty, from: 'v1', to: 'main' })).rejects.toThrow(new GitChangeError('--repo', `--repo '${empty}': not a git repository`));
      await expect(computeGitChange({ repo: join(empty, 'missing'), from: 'v1', to: 'main' })).rejects.toThrow(`--repo '${join(empty, 'missing')}': no such directory`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await expect(computeGitChange({ repo: repo.dir, from: 'v9', to: 'main' })).rejects.toThrow(`--from 'v9': no such commit in ${repo.dir}`);
    await expect(computeGitChange({ repo: repo.dir, from: 'v1', to: '--output=/tmp/x' })).rejects.toThrow(`--to '--output=/tmp/x': no such commit`);
    const error = await computeGitChange({ repo: repo.dir, from: 'v1', to: 'nope' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitChangeError);
    expect((error as GitChangeError).flag).toBe('--to');
  });
});

describe('classifyPath', () => {
  it.each([
    ['src/app.ts', 'source'],
    ['lib/checkout/cart.rb', 'source'],
    ['web/index.html', 'source'],
    ['src/main/java/com/acme/Cart.java', 'source'],
    ['src/test/java/com/acme/CartTest.java', 'test'],
    ['src/main/java/com/acme/CartIT.java', 'test'],
    ['test/fixtures/orders.json', 'test'],
    ['__tests__/cart.js', 'test'],
    ['handlers/cart.test.ts', 'test'],
    ['pkg/cart_test.go', 'test'],
    ['test_cart.py', 'test'],
    ['spec/models/cart_spec.rb', 'test'],
    ['README.md', 'doc'],
    ['LICENSE', 'doc'],
    ['docs/conf.py', 'doc'],
    ['CHANGELOG.rst', 'doc'],
    ['package.json', 'config'],
    ['CMakeLists.txt', 'config'],
    ['requirements-test.txt', 'config'],
    ['tsconfig.build.json', 'config'],
    ['jest.config.js', 'config'],
    ['Dockerfile', 'config'],
    ['.github/workflows/ci.yml', 'config'],
    ['deploy/app.yaml', 'config'],
    ['src/main/resources/application.properties', 'config'],
    ['assets/logo.png', 'other'],
    ['data/history.csv', 'other'],
    ['bin/tool', 'other'],
  ] as const)('%s is %s', (path, expected) => {
    expect(classifyPath(path)).toBe(expected);
  });
});

describe("parsing git's -z output", () => {
  it('reads statuses, renames, and paths with spaces, tabs and newlines', () => {
    const nameStatus = 'M\0src/a b.ts\0R087\0old\tname.ts\0new\nname.ts\0A\0docs/x.md\0D\0gone.txt\0';
    expect(parseNameStatus(nameStatus)).toEqual([
      { status: 'M', path: 'src/a b.ts' },
      { status: 'R', oldPath: 'old\tname.ts', path: 'new\nname.ts' },
      { status: 'A', path: 'docs/x.md' },
      { status: 'D', path: 'gone.txt' },
    ]);
    const numstat = ['3\t1\tsrc/a b.ts', '2\t2\t', 'old\tname.ts', 'new\nname.ts', '-\t-\tlogo.png', ''].join('\u0000');
    expect([...parseNumstat(numstat)]).toEqual([
      ['src/a b.ts', { added: 3, deleted: 1 }],
      ['new\nname.ts', { added: 2, deleted: 2 }],
      ['logo.png', undefined],
    ]);
  });

  it('refuses output it does not understand', () => {
    expect(() => parseNameStatus('X\0what\0')).toThrow("unexpected status 'X' in git diff --name-status output");
    expect(() => parseNumstat('three\tone\tx\0')).toThrow("unexpected line 'three\tone\tx' in git diff --numstat output");
  });

  it('sums the diff fields by status and class', () => {
    const files: FileChange[] = [
      { status: 'A', path: 'src/new.ts', lines: { added: 10, deleted: 0 } },
      { status: 'T', path: 'bin/link', lines: { added: 1, deleted: 1 } },
      { status: 'D', path: 'test/old.test.ts', lines: { added: 0, deleted: 4 } },
      { status: 'R', oldPath: 'a.md', path: 'b.md', lines: { added: 1, deleted: 0 } },
      { status: 'M', path: 'image.png' },
    ];
    expect(diffFields(files)).toEqual({
      filesAdded: 1,
      filesDeleted: 1,
      filesModified: 3,
      linesAdded: 12,
      linesDeleted: 5,
      srcChurn: 10,
      testChurn: 4,
      testFilesChanged: 1,
      docFilesChanged: 1,
      configFilesChanged: 0,
      otherFilesChanged: 2,
    });
  });
});

describe('repositoryName', () => {
  it.each([
    ['https://github.com/acme/checkout.git', 'acme/checkout'],
    ['https://ci:s3cret@github.com/acme/checkout', 'acme/checkout'],
    ['git@github.com:acme/checkout.git', 'acme/checkout'],
    ['ssh://git@gitlab.example.com:2222/group/sub/checkout.git', 'group/sub/checkout'],
    ['codecommit::us-east-1://checkout', undefined],
    ['/srv/git/checkout.git', undefined],
    ['file:///srv/git/checkout.git', undefined],
  ])('%s -> %s', (url, expected) => {
    expect(repositoryName(url)).toBe(expected);
  });
});
