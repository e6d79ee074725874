import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CHANGE_FIELD_NAMES, type ChangeFieldName, type ChangeFields } from './change-fields';

/**
 * The change fields of a release (model/change-fields.ts), computed from git history between the
 * deployed revision (`from`) and the new one (`to`). Git runs through execFile with explicit
 * arguments (no shell), with options that make its output independent of the user's configuration.
 *
 * What each field means here:
 * - commits: commits reachable from `to` and not from `from` (`git log from..to`), merges included.
 * - filesAdded / filesDeleted / filesModified, linesAdded / linesDeleted: the difference between the
 *   two trees (`git diff -M from to`: what the deployment changes in production, however many
 *   commits it took). A rename (with or without edits) is one modified file, a type change (file to
 *   symlink) too. A binary file counts as a file and adds no lines.
 * - srcChurn / testChurn: lines added + deleted in source / test files (classifyPath).
 * - testFilesChanged / docFilesChanged / configFilesChanged / otherFilesChanged: changed files of
 *   each class (a deleted file by its old path, a renamed one by its new path).
 * - distinctAuthors: distinct author emails (case-insensitive, .mailmap applied) of those commits.
 * - authorExperience: commits reachable from `from` (already in the repository before the release)
 *   whose author email is that of `to`'s author.
 * - commitsOnTouchedFiles: commits reachable from `from` that touch any path the release touches
 *   (both paths of a rename), over the whole history.
 * - isMainBranch: 1 when `to` is on the main branch (an ancestor of, or equal to, the tip of
 *   `origin/HEAD`'s branch, else of the local `main`, else `master`), 0 when it is not.
 * - isPullRequest: 1 when a pull / merge request ref points at `to` (`refs/pull/*`,
 *   `refs/remotes/pull/*` as actions/checkout fetches it, `refs/remotes/origin/pr/*`,
 *   `refs/merge-requests/*`); 0 when `to` is on the main branch (a branch build).
 *
 * Absent (a missing value, never a zero), with the reason in `missing`:
 * - authorIsCoreMember: always; git does not know who the core team is (that is the forge's push
 *   permission).
 * - isMainBranch: when the repository has no main branch to compare with.
 * - isPullRequest: when `to` is neither pointed at by a pull request ref nor on the main branch.
 * - authorExperience and commitsOnTouchedFiles: in a shallow clone, whose history is cut.
 */

/** Runs git with the given arguments in the repository; resolves to stdout. */
export type GitRunner = (args: readonly string[], options?: { readonly input?: string; readonly allowExitCodes?: readonly number[] }) => Promise<GitOutput>;
export interface GitOutput {
  readonly stdout: string;
  readonly exitCode: number;
}

/** A wrong input, naming the command-line flag and the value. */
export class GitChangeError extends Error {
  override readonly name = 'GitChangeError';
  constructor(
    /** The flag whose value is wrong, e.g. `--from`. */
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

/** A git command failed for a reason other than the inputs (git missing, a corrupt repository). */
export class GitCommandError extends Error {
  override readonly name = 'GitCommandError';
}

/** Environment variables that would point git at another repository than `-C <repo>`. */
const RELOCATING_VARIABLES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_PREFIX'];

/** The GitRunner of a repository directory: `git -C <repo> <args>` through execFile. */
export function gitRunner(repo: string, gitBinary = 'git'): GitRunner {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  for (const name of RELOCATING_VARIABLES) delete env[name];
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        gitBinary,
        ['-C', repo, ...args],
        { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024, env },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, exitCode: 0 });
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return reject(new GitCommandError(`cannot run '${gitBinary}': it is not installed or not on PATH`));
          const exitCode = typeof error.code === 'number' ? error.code : -1;
          if (options.allowExitCodes?.includes(exitCode)) return resolve({ stdout, exitCode });
          reject(new GitCommandError(`git ${args.join(' ')} (in ${repo}) exited with ${exitCode}: ${stderr.trim() || error.message}`));
        },
      );
      // A command that exits without reading its input closes the pipe (EPIPE): its exit code decides.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input ?? '');
    });
}

// ---------------------------------------------------------------------------------------------
// File classes

export type FileClass = 'source' | 'test' | 'doc' | 'config' | 'other';

const TEST_DIRECTORIES = new Set(['test', 'tests', '__tests__', 'spec', 'specs', 'testing', 'testdata', 'test-data', 'e2e', 'it']);
const TEST_FILE_NAMES = [
  /\.(test|spec)\.[^.]+$/i, // checkout.test.ts, cart.spec.js
  /_(test|spec)\.[^.]+$/i, // handler_test.go, cart_spec.rb
  /^test_.+\.py$/i, // test_cart.py
  /(Test|Tests|TestCase|IT|Spec)\.(java|kt|kts|scala|groovy|cs|swift|php)$/, // CartTest.java, CartIT.java
];
const DOC_DIRECTORIES = new Set(['doc', 'docs', 'documentation', 'man']);
const DOC_EXTENSIONS = new Set(['.md', '.markdown', '.mdx', '.rst', '.adoc', '.asciidoc', '.txt', '.rdoc', '.textile', '.org', '.pod']);
const DOC_NAMES = new Set(['readme', 'changelog', 'changes', 'history', 'news', 'license', 'licence', 'copying', 'notice', 'authors', 'contributors', 'contributing', 'code_of_conduct', 'security', 'maintainers']);
/** Build and configuration files known by name (checked before the doc extensions: CMakeLists.txt). */
const CONFIG_NAMES = new Set([
  'package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'bun.lockb',
  'pom.xml', 'build.gradle', 'build.gradle.kts', 'settings.gradle', 'settings.gradle.kts', 'gradle.properties', 'gradlew', 'gradlew.bat', 'build.xml', 'ivy.xml', 'build.sbt',
  'makefile', 'gnumakefile', 'cmakelists.txt', 'meson.build', 'configure.ac', 'build.bazel', 'workspace', 'buck',
  'dockerfile', 'containerfile', '.dockerignore', 'docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml',
  'gemfile', 'gemfile.lock', 'rakefile', 'vagrantfile', 'procfile', 'jenkinsfile', 'brewfile',
  'requirements.txt', 'requirements-dev.txt', 'constraints.txt', 'pipfile', 'pipfile.lock', 'setup.py', 'setup.cfg', 'pyproject.toml', 'poetry.lock', 'tox.ini', 'manifest.in',
  'go.mod', 'go.sum', 'cargo.toml', 'cargo.lock', 'composer.json', 'composer.lock', 'mix.exs', 'mix.lock', 'rebar.config', 'stack.yaml', 'cabal.project',
  '.gitignore', '.gitattributes', '.gitmodules', '.editorconfig', '.npmrc', '.nvmrc', '.node-version', '.ruby-version', '.python-version', '.tool-versions', '.env',
  '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', 'azure-pipelines.yml', 'bitbucket-pipelines.yml', 'buildspec.yml', 'appspec.yml', 'appspec.yaml', 'cdktf.json', 'serverless.yml', 'template.yaml', 'samconfig.toml',
]);
const CONFIG_DIRECTORIES = new Set(['.github', '.circleci', '.gitlab', '.buildkite', '.husky', '.devcontainer', '.vscode', '.idea', '.mvn', 'gradle']);
const CONFIG_EXTENSIONS = new Set(['.yml', '.yaml', '.toml', '.ini', '.cfg', '.conf', '.config', '.properties', '.json', '.jsonc', '.json5', '.xml', '.gradle', '.tf', '.tfvars', '.hcl', '.env', '.lock', '.editorconfig', '.plist', '.csproj', '.sln', '.gemspec', '.podspec', '.cabal', '.nix', '.bzl']);
/** Names starting with one of these are configuration files whatever their extension (tsconfig.build.json, .eslintrc.cjs, jest.config.js). */
const CONFIG_PREFIXES = ['tsconfig', '.eslintrc', 'eslint.config', '.prettierrc', 'prettier.config', '.babelrc', 'babel.config', 'jest.config', 'vite.config', 'webpack.config', 'rollup.config', 'tslint', '.stylelintrc', '.swcrc', 'karma.conf', 'requirements'];
const SOURCE_EXTENSIONS = new Set([
  '.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.vue', '.svelte',
  '.java', '.kt', '.kts', '.scala', '.groovy', '.clj', '.cljs', '.cljc',
  '.py', '.pyx', '.rb', '.erb', '.rake', '.php', '.pl', '.pm', '.lua', '.r', '.jl', '.dart',
  '.go', '.rs', '.c', '.h', '.cc', '.cpp', '.cxx', '.hpp', '.hh', '.hxx', '.m', '.mm', '.swift', '.cs', '.fs', '.fsx', '.vb',
  '.ex', '.exs', '.erl', '.hrl', '.hs', '.ml', '.mli', '.elm', '.zig', '.nim',
  '.sh', '.bash', '.zsh', '.fish', '.ps1', '.bat', '.cmd', '.sql',
  '.html', '.htm', '.css', '.scss', '.sass', '.less', '.haml', '.slim', '.jsp', '.hbs', '.mustache', '.twig', '.ejs',
  '.proto', '.graphql', '.gql', '.thrift', '.avsc',
]);

/**
 * The class of a changed file, by its path: the first that applies of
 * 1. test: a directory named test, tests, __tests__, spec, specs, testing, testdata, e2e, it
 *    (src/test/java/..., test/fixtures/...), or a test file name (`*.test.*`, `*.spec.*`, `*_test.*`,
 *    `*_spec.*`, `test_*.py`, `*Test.java`, `*IT.java`, `*Spec.scala`, ...);
 * 2. config: a build or configuration file by name (package.json, pom.xml, Dockerfile,
 *    CMakeLists.txt, requirements.txt, tsconfig*.json, jest.config.js, ...), or anything under
 *    .github, .circleci, .gitlab, gradle, ...;
 * 3. doc: under doc, docs, documentation, man; a documentation extension (.md, .rst, .adoc, .txt,
 *    ...); README, CHANGELOG, LICENSE, ... without an extension;
 * 4. config: a configuration extension (.yml, .yaml, .toml, .ini, .properties, .json, .xml, .tf, ...);
 * 5. source: a programming, markup or style language extension (.ts, .java, .py, .go, .html, .css, ...);
 * 6. other: the rest (images, binaries, data).
 */
export function classifyPath(path: string): FileClass {
  const segments = path.split('/');
  const name = segments[segments.length - 1];
  const directories = segments.slice(0, -1).map((segment) => segment.toLowerCase());
  const lowerName = name.toLowerCase();
  const extension = extname(lowerName);
  const stem = extension ? lowerName.slice(0, -extension.length) : lowerName;

  if (directories.some((directory) => TEST_DIRECTORIES.has(directory)) || TEST_FILE_NAMES.some((pattern) => pattern.test(name))) return 'test';
  if (
    CONFIG_NAMES.has(lowerName) ||
    CONFIG_PREFIXES.some((prefix) => lowerName.startsWith(prefix)) ||
    lowerName.startsWith('dockerfile.') ||
    directories.some((directory) => CONFIG_DIRECTORIES.has(directory))
  ) {
    return 'config';
  }
  if (directories.some((directory) => DOC_DIRECTORIES.has(directory)) || DOC_EXTENSIONS.has(extension) || (DOC_NAMES.has(stem) && extension === '')) return 'doc';
  if (CONFIG_EXTENSIONS.has(extension)) return 'config';
  if (SOURCE_EXTENSIONS.has(extension)) return 'source';
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// Parsing git's -z output

export interface FileChange {
  /** A added, D deleted, M modified, R renamed, T type changed (C copied, with copy detection). */
  readonly status: 'A' | 'D' | 'M' | 'R' | 'T' | 'C';
  /** The path after the change (for a deletion, the deleted path). */
  readonly path: string;
  /** The path before a rename or copy. */
  readonly oldPath?: string;
  /** Lines added and deleted; undefined for a binary file. */
  readonly lines?: { readonly added: number; readonly deleted: number };
}

/** Parses `git diff --name-status -z`: `S\0path\0`, or `R<score>\0old\0new\0` for renames and copies. */
export function parseNameStatus(output: string): { status: FileChange['status']; path: string; oldPath?: string }[] {
  const fields = output.split('\0');
  const changes: { status: FileChange['status']; path: string; oldPath?: string }[] = [];
  let index = 0;
  while (index < fields.length && fields[index] !== '') {
    const code = fields[index][0];
    if (code === 'R' || code === 'C') {
      changes.push({ status: code, oldPath: fields[index + 1], path: fields[index + 2] });
      index += 3;
    } else if (code === 'A' || code === 'D' || code === 'M' || code === 'T') {
      changes.push({ status: code, path: fields[index + 1] });
      index += 2;
    } else {
      throw new GitCommandError(`unexpected status '${fields[index]}' in git diff --name-status output`);
    }
  }
  return changes;
}

/**
 * Parses `git diff --numstat -z`: `added\tdeleted\tpath\0`, or `added\tdeleted\t\0old\0new\0` for
 * renames; `-\t-` for a binary file. Keyed by the path after the change.
 */
export function parseNumstat(output: string): Map<string, { added: number; deleted: number } | undefined> {
  const fields = output.split('\0');
  const lines = new Map<string, { added: number; deleted: number } | undefined>();
  let index = 0;
  while (index < fields.length && fields[index] !== '') {
    const match = /^(-|\d+)\t(-|\d+)\t([\s\S]*)$/.exec(fields[index]);
    if (!match) throw new GitCommandError(`unexpected line '${fields[index]}' in git diff --numstat output`);
    let path = match[3];
    index += 1;
    if (path === '') {
      path = fields[index + 1];
      index += 2;
    }
    lines.set(path, match[1] === '-' || match[2] === '-' ? undefined : { added: Number(match[1]), deleted: Number(match[2]) });
  }
  return lines;
}

/** The diff fields of a list of changed files. */
export function diffFields(files: readonly FileChange[]): ChangeFields {
  const fields = {
    filesAdded: 0,
    filesDeleted: 0,
    filesModified: 0,
    linesAdded: 0,
    linesDeleted: 0,
    srcChurn: 0,
    testChurn: 0,
    testFilesChanged: 0,
    docFilesChanged: 0,
    configFilesChanged: 0,
    otherFilesChanged: 0,
  } satisfies ChangeFields;
  for (const file of files) {
    if (file.status === 'A' || file.status === 'C') fields.filesAdded += 1;
    else if (file.status === 'D') fields.filesDeleted += 1;
    else fields.filesModified += 1;
    const added = file.lines?.added ?? 0;
    const deleted = file.lines?.deleted ?? 0;
    fields.linesAdded += added;
    fields.linesDeleted += deleted;
    switch (classifyPath(file.path)) {
      case 'source':
        fields.srcChurn += added + deleted;
        break;
      case 'test':
        fields.testChurn += added + deleted;
        fields.testFilesChanged += 1;
        break;
      case 'doc':
        fields.docFilesChanged += 1;
        break;
      case 'config':
        fields.configFilesChanged += 1;
        break;
      case 'other':
        fields.otherFilesChanged += 1;
        break;
    }
  }
  return fields;
}

/**
 * `owner/name` (or `group/subgroup/name`) of a remote URL, https or scp-like; never the credentials
 * a URL may carry. Undefined for a local path or anything else.
 */
export function repositoryName(remoteUrl: string): string | undefined {
  let path: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remoteUrl)) {
    try {
      const url = new URL(remoteUrl);
      if (url.protocol === 'file:') return undefined;
      path = decodeURIComponent(url.pathname);
    } catch {
      return undefined;
    }
  } else {
    path = /^(?:[^@/\s]+@)?[^:/\s]+:(?![/:])(.+)$/.exec(remoteUrl)?.[1];
  }
  const name = path?.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return name ? name : undefined;
}

// ---------------------------------------------------------------------------------------------
// The git history

export interface GitChangeRequest {
  /** The repository (a work tree, any directory inside one, or a bare repository). */
  readonly repo: string;
  /** The revision deployed before (the previous deployment). */
  readonly from: string;
  /** The revision being deployed. */
  readonly to: string;
}

export interface GitChange {
  readonly fromCommitId: string;
  /** The full commit id of `to`: the revision key CodeDeploy reports (`git:<commitId>`). */
  readonly commitId: string;
  /** The author email of `to`. */
  readonly author?: string;
  /** The branch `to` is the tip of, when one is (the checked-out one first). */
  readonly branch?: string;
  /** `owner/name` from the `origin` remote. */
  readonly repository?: string;
  /** The main branch compared with, e.g. `origin/main`. */
  readonly mainBranch?: string;
  readonly shallow: boolean;
  readonly files: readonly FileChange[];
  /** Every field that git can tell; absent fields are missing values. */
  readonly change: ChangeFields;
  /** The fields left absent, and why. */
  readonly missing: readonly { readonly field: ChangeFieldName; readonly reason: string }[];
}

const PULL_REQUEST_REFS = ['refs/pull', 'refs/remotes/pull', 'refs/remotes/origin/pull', 'refs/remotes/origin/pr', 'refs/merge-requests', 'refs/remotes/origin/merge-requests'];
/** Options that make `git diff` output independent of the user's configuration. */
const DIFF_OPTIONS = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-relative', '-M', '-z'];

/** Computes the change fields of `to` against `from`. Wrong inputs throw GitChangeError naming the flag. */
export async function computeGitChange(request: GitChangeRequest, git: GitRunner = gitRunner(request.repo)): Promise<GitChange> {
  await checkRepository(request.repo, git);
  const shallow = (await git(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  const fromCommitId = await resolveCommit(git, '--from', request.from, request.repo, shallow);
  const commitId = await resolveCommit(git, '--to', request.to, request.repo, shallow);

  const [rangeAuthors, nameStatus, numstat, authorOutput, mainBranch, pullRequestRefs, branch, remote] = await Promise.all([
    git(['log', '--no-show-signature', '--format=tformat:%aE', `${fromCommitId}..${commitId}`, '--']),
    git(['diff', ...DIFF_OPTIONS, '--name-status', fromCommitId, commitId, '--']),
    git(['diff', ...DIFF_OPTIONS, '--numstat', fromCommitId, commitId, '--']),
    git(['log', '-1', '--no-show-signature', '--format=tformat:%aE', commitId, '--']),
    findMainBranch(git),
    git(['for-each-ref', `--points-at=${commitId}`, '--format=%(refname)', ...PULL_REQUEST_REFS]),
    branchOf(git, commitId),
    git(['config', '--get', 'remote.origin.url'], { allowExitCodes: [1] }),
  ]);

  const lines = parseNumstat(numstat.stdout);
  const files: FileChange[] = parseNameStatus(nameStatus.stdout).map((file) => {
    const counted = lines.get(file.path);
    return { ...file, ...(counted ? { lines: counted } : {}) };
  });
  const authors = emails(rangeAuthors.stdout);
  const author = emails(authorOutput.stdout)[0];
  const change: ChangeFields = { commits: authors.length, ...diffFields(files), distinctAuthors: new Set(authors).size };
  const missing: { field: ChangeFieldName; reason: string }[] = [
    { field: 'authorIsCoreMember', reason: 'git does not know who the core team is' },
  ];

  if (shallow) {
    const reason = 'the clone is shallow: its history before --from is cut (git fetch --unshallow)';
    missing.push({ field: 'authorExperience', reason }, { field: 'commitsOnTouchedFiles', reason });
  } else {
    change.authorExperience = await authorExperience(git, fromCommitId, author);
    change.commitsOnTouchedFiles = await commitsOnPaths(git, fromCommitId, touchedPaths(files));
  }

  let onMain: boolean | undefined;
  if (mainBranch) {
    onMain = (await git(['merge-base', '--is-ancestor', commitId, mainBranch.ref], { allowExitCodes: [1] })).exitCode === 0;
    change.isMainBranch = onMain ? 1 : 0;
  } else {
    missing.push({ field: 'isMainBranch', reason: 'the repository has no origin/HEAD, main or master branch to compare with' });
  }
  if (pullRequestRefs.stdout.trim() !== '') change.isPullRequest = 1;
  else if (onMain) change.isPullRequest = 0;
  else missing.push({ field: 'isPullRequest', reason: 'no pull request ref points at --to, and it is not on the main branch' });

  const repository = remote.exitCode === 0 ? repositoryName(remote.stdout.trim()) : undefined;
  return {
    fromCommitId,
    commitId,
    ...(author ? { author } : {}),
    ...(branch ? { branch } : {}),
    ...(repository ? { repository } : {}),
    ...(mainBranch ? { mainBranch: mainBranch.name } : {}),
    shallow,
    files,
    change: orderFields(change),
    missing,
  };
}

async function checkRepository(repo: string, git: GitRunner): Promise<void> {
  const info = await stat(repo).catch(() => undefined);
  if (!info?.isDirectory()) throw new GitChangeError('--repo', `--repo '${repo}': no such directory`);
  const answer = await git(['rev-parse', '--git-dir'], { allowExitCodes: [128] });
  if (answer.exitCode !== 0) throw new GitChangeError('--repo', `--repo '${repo}': not a git repository`);
}

async function resolveCommit(git: GitRunner, flag: string, revision: string, repo: string, shallow: boolean): Promise<string> {
  if (revision.trim() === '') throw new GitChangeError(flag, `${flag} is empty: give a commit, branch or tag`);
  const answer = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`], { allowExitCodes: [1, 128] });
  if (answer.exitCode !== 0) {
    const hint = shallow ? ' (the clone is shallow: fetch more history, e.g. git fetch --unshallow)' : '';
    throw new GitChangeError(flag, `${flag} '${revision}': no such commit in ${repo}${hint}`);
  }
  return answer.stdout.trim();
}

/** The main branch to judge isMainBranch by: origin/HEAD's target, else a local main, else master. */
async function findMainBranch(git: GitRunner): Promise<{ readonly ref: string; readonly name: string } | undefined> {
  const originHead = await git(['symbolic-ref', '--quiet', 'refs/remotes/origin/HEAD'], { allowExitCodes: [1, 128] });
  if (originHead.exitCode === 0 && originHead.stdout.trim()) {
    const ref = originHead.stdout.trim();
    return { ref, name: ref.replace(/^refs\/remotes\//, '') };
  }
  for (const name of ['main', 'master']) {
    const ref = `refs/heads/${name}`;
    if ((await git(['rev-parse', '--verify', '--quiet', ref], { allowExitCodes: [1] })).exitCode === 0) return { ref, name };
  }
  return undefined;
}

/** The local branch whose tip is the commit: the checked-out one, else the only one. */
async function branchOf(git: GitRunner, commitId: string): Promise<string | undefined> {
  const [head, branches] = await Promise.all([
    git(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowExitCodes: [1, 128] }),
    git(['for-each-ref', `--points-at=${commitId}`, '--format=%(refname:short)', 'refs/heads']),
  ]);
  const names = branches.stdout.split('\n').filter(Boolean);
  const current = head.exitCode === 0 ? head.stdout.trim() : '';
  if (current && names.includes(current)) return current;
  return names.length === 1 ? names[0] : undefined;
}

/** One email per commit (`tformat:%aE`: each line ends with a newline; an empty email stays an empty line). */
function emails(output: string): string[] {
  const lines = output.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((email) => email.trim().toLowerCase());
}

async function authorExperience(git: GitRunner, fromCommitId: string, author: string | undefined): Promise<number> {
  if (author === undefined) return 0;
  const history = await git(['log', '--no-show-signature', '--format=tformat:%aE', fromCommitId, '--']);
  return emails(history.stdout).filter((email) => email === author).length;
}

/** Every path the release touches: both sides of a rename or copy. */
function touchedPaths(files: readonly FileChange[]): string[] {
  const paths = new Set<string>();
  for (const file of files) {
    paths.add(file.path);
    if (file.oldPath !== undefined) paths.add(file.oldPath);
  }
  return [...paths];
}

/** Commits reachable from `fromCommitId` that touch any of the paths (read from stdin: no argument-length limit). */
async function commitsOnPaths(git: GitRunner, fromCommitId: string, paths: readonly string[]): Promise<number> {
  if (paths.length === 0) return 0;
  const viaStdin = paths.filter((path) => !path.includes('\n'));
  const viaArguments = paths.filter((path) => path.includes('\n'));
  const answer = await git(['--literal-pathspecs', 'rev-list', '--count', '--stdin', ...(viaArguments.length > 0 ? ['--', ...viaArguments] : [])], {
    input: `${fromCommitId}\n--\n${viaStdin.join('\n')}\n`,
  });
  return Number(answer.stdout.trim());
}

function orderFields(change: ChangeFields): ChangeFields {
  const ordered: ChangeFields = {};
  for (const name of CHANGE_FIELD_NAMES) if (change[name] !== undefined) ordered[name] = change[name];
  return ordered;
}

/** The directory name a repository is known by locally (the default application name). */
export async function repositoryDirectoryName(git: GitRunner): Promise<string> {
  const top = await git(['rev-parse', '--show-toplevel'], { allowExitCodes: [128] });
  if (top.exitCode === 0 && top.stdout.trim()) return basename(top.stdout.trim());
  const gitDir = await git(['rev-parse', '--absolute-git-dir']);
  return basename(gitDir.stdout.trim()).replace(/\.git$/, '');
}
