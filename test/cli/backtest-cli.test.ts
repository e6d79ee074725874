import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { MappingError } from '../../model/mapping';
import { memoryIO } from '../support/io';
import { scratchDirs } from '../support/temp-dirs';

/**
 * `deploy-guard backtest` (and `start`, the same command) refuses what it cannot replay before it
 * trains or replays anything: a mapping naming a column the data lacks, a data file with a line that
 * cannot be read, and option values out of range. None of these needs Python.
 */

const ROOT = join(__dirname, '../..');
const SHIPPED_FILE = join(ROOT, 'data/ci-bfdetector/rails_rails_data.csv');
const SHIPPED_MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
/** Builds of the shipped file copied into each test's history (line 1 is the header). */
const ROWS = 300;

const tempDir = scratchDirs('backtest-cli');

/** A history folder holding the first ROWS builds of the shipped rails file, with `edit` applied to its lines. */
function writeHistory(edit: (lines: string[]) => void = () => undefined): { dir: string; file: string } {
  const dir = join(tempDir(), 'history');
  mkdirSync(dir);
  const lines = readFileSync(SHIPPED_FILE, 'utf8').split('\n').slice(0, ROWS + 1);
  edit(lines);
  const file = join(dir, 'rails.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { dir, file };
}

async function backtest(args: string[]) {
  const run = memoryIO();
  const out = join(tempDir(), 'out');
  const outcome = main(['backtest', ...args, '--out', out], run.io).then(
    (code) => ({ code, error: undefined }),
    (error: unknown) => ({ code: undefined, error: error as Error }),
  );
  return { ...(await outcome), out, stdout: run.stdout, stderr: run.stderr };
}

describe('deploy-guard backtest: a bad history stops it, naming what is at fault', () => {
  it('rejects a mapping that names a column the data lacks, naming the mapping, the field, the column and the file', async () => {
    const { dir, file } = writeHistory();
    const mapping = JSON.parse(readFileSync(SHIPPED_MAPPING, 'utf8'));
    mapping.features.srcChurn = 'git_diff_src_churm';
    const mappingFile = join(tempDir(), 'mapping.json');
    writeFileSync(mappingFile, JSON.stringify(mapping));

    const run = await backtest(['--data', dir, '--mapping', mappingFile]);
    expect(run.error).toBeInstanceOf(MappingError);
    expect(run.error!.message).toBe(`mapping ${mappingFile}: features.srcChurn: column 'git_diff_src_churm' is not in ${file}`);
    expect(existsSync(join(run.out, 'report.json'))).toBe(false);
  });

  it('rejects a data file with a line that cannot be parsed (a quote left open), naming the file and the line', async () => {
    // Line 120 of the file: a quote opened in its second field is never closed.
    const { dir, file } = writeHistory((lines) => {
      lines[119] = lines[119].replace(',', ',"');
    });
    const run = await backtest(['--data', dir, '--mapping', SHIPPED_MAPPING]);
    expect(run.error).toBeInstanceOf(Error);
    expect(run.error!.message).toContain(`${file}:120: a quoted field is not closed`);
    expect(run.error!.message).toContain('the backtest replays a history whole');
    expect(run.stderr()).toContain(`${file}:120: a quoted field is not closed; the rest of the file cannot be read`);
    expect(existsSync(join(run.out, 'report.json'))).toBe(false);
  });

  it('rejects a data file with a line of the wrong width, naming the file, the line and the field counts', async () => {
    const { dir, file } = writeHistory((lines) => {
      lines[99] = lines[99].split(',').slice(0, 5).join(',');
    });
    const run = await backtest(['--data', dir, '--mapping', SHIPPED_MAPPING]);
    expect(run.error).toBeInstanceOf(Error);
    expect(run.error!.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:100: expected \\d+ fields, found 5`));
    expect(existsSync(join(run.out, 'report.json'))).toBe(false);
  });
});

describe('deploy-guard backtest: an option out of range is a usage error naming the option', () => {
  it.each([
    ['--mode', 'fast', "option '--mode' must be one of shadow, stop, gate, got 'fast'"],
    ['--limit', '0', "option '--limit' must be a positive whole number, got '0'"],
    ['--limit', '2.5', "option '--limit' must be a positive whole number, got '2.5'"],
    ['--limit', 'ten', "option '--limit' must be a positive whole number, got 'ten'"],
    ['--threshold', '1', "option '--threshold' must be a probability between 0 and 1 (exclusive), got '1'"],
    ['--threshold', '-0.2', "option '--threshold' must be a probability between 0 and 1 (exclusive), got '-0.2'"],
    ['--threshold', 'high', "option '--threshold' must be a probability between 0 and 1 (exclusive), got 'high'"],
  ])('%s %s', async (option, value, message) => {
    const run = await backtest([`${option}=${value}`]);
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(2);
    expect(run.stderr()).toContain(`deploy-guard backtest: ${message}`);
    expect(run.stderr()).toContain('Usage: deploy-guard backtest [options]');
    expect(run.stdout()).toBe('');
    expect(existsSync(run.out)).toBe(false);
  });

  it('says the same for `start`, which is the backtest with its defaults', async () => {
    const run = memoryIO();
    expect(await main(['start', '--mode', 'fast'], run.io)).toBe(2);
    expect(run.stderr()).toContain("deploy-guard start: option '--mode' must be one of shadow, stop, gate, got 'fast'");
    expect(run.stderr()).toContain('Usage: deploy-guard start [options]');
  });
});

describe('deploy-guard backtest --config: a wrong configuration stops it before any data is read', () => {
  it('prints one line per problem, naming the file and the key path, and exits 2', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'deploy-guard.config.json'), 'utf8'));
    config.environments.dev.groups[0].mode = 'block';
    const configFile = join(tempDir(), 'config.json');
    writeFileSync(configFile, JSON.stringify(config));
    // A history that does not exist: reading it would fail, so exit 2 proves the configuration came first.
    const run = await backtest(['--config', configFile, '--data', join(tempDir(), 'no-such-history'), '--mapping', SHIPPED_MAPPING]);
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(2);
    const lines = run.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^deploy-guard backtest: ${configFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: environments\\.dev\\.groups\\[0\\]\\.mode: `));
    expect(run.stdout()).toBe('');
  });
});
