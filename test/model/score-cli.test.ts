import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServeCommand } from '../../cli/commands/serve';
import { main } from '../../cli/main';
import { CHANGE_FIELD_NAMES } from '../../model/change-fields';
import { createFeatureList } from '../../model/features';
import { tarGzip } from '../../model/tar';
import { memoryIO } from '../support/io';
import { COMMITTED_FIXTURE, fixtureBytes, fixtureText } from '../../model/fixtures/scorer-fixture';

const MODEL = join(COMMITTED_FIXTURE, 'model.json');

const streams = (stdin: string | Buffer = '') => memoryIO({ stdin });

function tempFile(name: string, content: string | Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'deploy-guard-score-')), name);
  writeFileSync(file, content);
  return file;
}

describe('deploy-guard score', () => {
  it('writes exactly the bytes the endpoint answers for the rows on stdin', async () => {
    const run = streams(fixtureBytes(COMMITTED_FIXTURE, 'rows.csv.gz'));
    expect(await main(['score', '--model', MODEL], run.io)).toBe(0);
    expect(run.stdout()).toBe(fixtureText(COMMITTED_FIXTURE, 'response.csv.gz'));
    expect(run.stderr()).toBe('');
  });

  it('reads a SageMaker model.tar.gz holding the model', async () => {
    const archive = tempFile('model.tar.gz', tarGzip([{ name: 'xgboost-model', content: fixtureBytes(COMMITTED_FIXTURE, 'model.json') }]));
    const rows = fixtureText(COMMITTED_FIXTURE, 'rows.csv.gz').split('\n').slice(0, 20).join('\n');
    const run = streams(rows);
    expect(await main(['score', '--model', archive], run.io)).toBe(0);
    expect(run.stdout()).toBe(`${fixtureText(COMMITTED_FIXTURE, 'response.csv.gz').split('\n').slice(0, 20).join('\n')}\n`);
  });

  it('explains each row with its TreeSHAP contributions as JSON lines', async () => {
    const rows = fixtureText(COMMITTED_FIXTURE, 'rows.csv.gz').split('\n').slice(0, 50);
    const scores = fixtureText(COMMITTED_FIXTURE, 'response.csv.gz').split('\n');
    const contribs = fixtureText(COMMITTED_FIXTURE, 'contribs.csv.gz').split('\n').map((line) => line.split(',').map(Number));
    const run = streams(`${rows.join('\n')}\n`);
    expect(await main(['score', '--model', MODEL, '--explain', '--top', '12'], run.io)).toBe(0);
    const lines = run.stdout().trim().split('\n');
    expect(lines).toHaveLength(50);
    lines.forEach((line, row) => {
      // The score is the same text as the text/csv line.
      expect(line.startsWith(`{"score": ${scores[row]}, `)).toBe(true);
      const explained = JSON.parse(line);
      const total = explained.bias + explained.top.reduce((sum: number, entry: { contribution: number }) => sum + entry.contribution, 0);
      expect(Math.abs(total - explained.margin)).toBeLessThan(1e-5);
      expect(Math.abs(explained.bias - contribs[row][12])).toBeLessThan(1e-5);
      for (let index = 1; index < explained.top.length; index += 1) {
        expect(Math.abs(explained.top[index - 1].contribution)).toBeGreaterThanOrEqual(Math.abs(explained.top[index].contribution));
      }
    });
    const first = JSON.parse(lines[0]);
    expect(Object.keys(first.top[0])).toEqual(['feature', 'value', 'contribution']);
    expect(first.top[0].feature).toMatch(/^f\d+$/); // the fixture model was trained without feature names
  });

  it('names the features from the features.json beside a model that has no names, and refuses one that does not fit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-guard-score-'));
    copyFileSync(MODEL, join(dir, 'xgboost-model'));
    const names = CHANGE_FIELD_NAMES.slice(0, 12);
    writeFileSync(join(dir, 'features.json'), JSON.stringify(createFeatureList({ names })));
    const rows = fixtureText(COMMITTED_FIXTURE, 'rows.csv.gz').split('\n').slice(0, 5).join('\n');
    const named = streams(rows);
    expect(await main(['score', '--model', join(dir, 'xgboost-model'), '--explain', '--top', '12'], named.io)).toBe(0);
    const features = named.stdout().trim().split('\n').flatMap((line) => (JSON.parse(line).top as { feature: string }[]).map((entry) => entry.feature));
    expect(features.length).toBeGreaterThan(0);
    for (const feature of features) expect(names).toContain(feature);

    writeFileSync(join(dir, 'features.json'), JSON.stringify(createFeatureList({ names: names.slice(0, 5) })));
    const mismatched = streams(rows);
    expect(await main(['score', '--model', join(dir, 'xgboost-model'), '--explain'], mismatched.io)).toBe(2);
    expect(mismatched.stderr()).toContain(`${join(dir, 'features.json')} lists 5 features but the model ${join(dir, 'xgboost-model')} has 12: it is another model's feature list`);
  });

  it('lists three contributions by default', async () => {
    const run = streams(fixtureText(COMMITTED_FIXTURE, 'rows.csv.gz').split('\n')[0]);
    expect(await main(['score', '--model', MODEL, '--explain'], run.io)).toBe(0);
    expect(JSON.parse(run.stdout()).top).toHaveLength(3);
  });

  it('exits 1 with the reason when the endpoint would refuse the rows', async () => {
    const bad = streams('1,2\n3,x\n');
    expect(await main(['score', '--model', MODEL], bad.io)).toBe(1);
    expect(bad.stderr()).toBe("deploy-guard score: stdin is not CSV the endpoint accepts (it would answer 415): row 2, column 2: could not convert string to float: 'x'\n");
    expect(bad.stdout()).toBe('');
    const wide = streams(`${'1,'.repeat(12)}1\n`);
    expect(await main(['score', '--model', MODEL], wide.io)).toBe(1);
    expect(wide.stderr()).toContain('13 columns but the model 12 features (the endpoint would answer 400)');
  });

  it('scores nothing for an empty stdin, as the endpoint answers 204', async () => {
    const run = streams('');
    expect(await main(['score', '--model', MODEL], run.io)).toBe(0);
    expect(run.stdout()).toBe('');
  });

  it('exits 1 naming the problem when the model cannot be used', async () => {
    const json = JSON.parse(fixtureText(COMMITTED_FIXTURE, 'model.json'));
    json.learner.objective.name = 'reg:squarederror';
    const run = streams('1\n');
    expect(await main(['score', '--model', tempFile('model.json', JSON.stringify(json))], run.io)).toBe(1);
    expect(run.stderr()).toContain('learner.objective.name: only binary:logistic is supported');
    const missing = streams('1\n');
    expect(await main(['score', '--model', '/nonexistent/model.json'], missing.io)).toBe(1);
    expect(missing.stderr()).toContain('ENOENT');
  });

  it('is a usage error without --model or with a bad --top', async () => {
    const run = streams();
    expect(await main(['score'], run.io)).toBe(2);
    expect(run.stderr()).toContain("option '--model' is required");
    expect(run.stderr()).toContain('Usage: deploy-guard score --model FILE');
    const top = streams();
    expect(await main(['score', '--model', MODEL, '--explain', '--top', '0'], top.io)).toBe(2);
  });
});

describe('deploy-guard serve', () => {
  it('serves the model until told to stop', async () => {
    let answer: { status: number; body: string } | undefined;
    // Stops once it has answered one request, instead of waiting for SIGINT.
    const command = createServeCommand(async (server) => {
      const response = await fetch(`${server.url}/invocations`, {
        method: 'POST',
        body: `${fixtureText(COMMITTED_FIXTURE, 'rows.csv.gz').split('\n')[0]}\n`,
        headers: { 'Content-Type': 'text/csv' },
      });
      answer = { status: response.status, body: await response.text() };
    });
    const run = streams();
    expect(await command.run(['--model', MODEL, '--port', '0'], run.io)).toBe(0);
    expect(run.stdout()).toMatch(/^deploy-guard serve: listening on http:\/\/127\.0\.0\.1:\d+ \(80 trees, 12 features\)\n$/);
    expect(answer).toEqual({ status: 200, body: `${fixtureText(COMMITTED_FIXTURE, 'response.csv.gz').split('\n')[0]}\n` });
    expect(run.stderr()).toContain('POST /invocations 200');
  });

  it('is listed by deploy-guard help, with its usage', async () => {
    const help = streams();
    expect(await main(['help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/serve\s+Serve an XGBoost model over HTTP/);
    expect(help.stdout()).toMatch(/score\s+Score CSV rows with an XGBoost model/);
    const usage = streams();
    expect(await main(['help', 'serve'], usage.io)).toBe(0);
    expect(usage.stdout()).toContain('Usage: deploy-guard serve --model FILE [--port N] [--host HOST]');
  });

  it('is a usage error with a bad port', async () => {
    const run = streams();
    expect(await main(['serve', '--model', MODEL, '--port', 'eighty'], run.io)).toBe(2);
  });
});
