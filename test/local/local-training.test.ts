import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { untarGzip } from '../../model/tar';
import type { TrainingJobSpec } from '../../handlers/ports';
import { LocalObjectStore, LocalTraining } from '../../local/sagemaker';

/**
 * The laptop's SageMaker training job: what its `train` channel holds when the script runs. The
 * script here is a stand-in for train.py (run by Node, so no Python is needed): it writes, as its
 * "model", every file of the channel with its lines and modification time.
 */
const REPORTING_SCRIPT = `
const { readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const root = arg('--train');
const files = {};
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).forEach((entry) => {
  const path = join(dir, entry.name);
  if (entry.isDirectory()) return walk(path);
  files[relative(root, path)] = { lines: readFileSync(path, 'utf8').trim().split('\\n'), mtimeMs: statSync(path).mtimeMs };
});
walk(root);
writeFileSync(join(arg('--model-dir'), 'xgboost-model'), JSON.stringify({ root, files, hyperparameters: JSON.parse(readFileSync(arg('--hyperparameters'), 'utf8')) }));
writeFileSync(join(arg('--output-data-dir'), 'evaluation.json'), '{}');
`;

interface ChannelSeen {
  readonly root: string;
  readonly files: Record<string, { readonly lines: string[]; readonly mtimeMs: number }>;
  readonly hyperparameters: Record<string, string>;
}

describe('a local training job', () => {
  let workDir: string;
  let script: string;
  let objects: LocalObjectStore;
  let training: LocalTraining;
  let now: number;
  let scheduled: (() => Promise<void>)[];
  const logs: string[] = [];

  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), 'deploy-guard-local-training-'));
    script = join(workDir, 'report-channel.js');
    writeFileSync(script, REPORTING_SCRIPT);
    objects = new LocalObjectStore('data-bucket');
    now = Date.parse('2015-03-01T00:00:00Z');
    scheduled = [];
    logs.length = 0;
    training = new LocalTraining({
      objects,
      trainer: { kind: 'xgboost', name: 'xgboost (stand-in script)', python: process.execPath },
      trainScript: script,
      workDir: join(workDir, 'training'),
      account: '123456789012',
      region: 'us-east-1',
      durationMs: 30 * 60_000,
      schedule: (_at, run) => scheduled.push(run),
      clock: { now: () => now },
      emit: () => undefined,
      log: (line) => logs.push(line),
    });
  });

  afterEach(() => rmSync(workDir, { recursive: true, force: true }));

  const row = (date: string, id: string, csvLine: string, weight = 1) => {
    const startedAt = Date.parse(`${date}T10:00:00Z`);
    return objects.putRow({ deploymentId: id, application: 'app', deploymentGroup: 'group', startedAt, finishedAt: startedAt + 600_000, modelVersion: 'v1', csvLine, weight });
  };

  async function runJob(name: string, window: { from: string; to: string }): Promise<ChannelSeen> {
    const spec: TrainingJobSpec = {
      trainingJobName: name,
      imageUri: 'image',
      roleArn: 'arn:aws:iam::123456789012:role/training',
      instanceType: 'ml.m5.large',
      instanceCount: 1,
      maxRuntimeSeconds: 3600,
      hyperparameters: { window_from: window.from, window_to: window.to },
      trainS3Uri: 's3://data-bucket/rows/',
      outputS3Uri: 's3://data-bucket/jobs/',
      tags: {},
    };
    expect(await training.startTrainingJob(spec)).toBe('started');
    await scheduled.shift()!();
    const summary = await training.describeTrainingJob(name);
    expect(summary?.status).toBe('Completed');
    const [model] = untarGzip((await objects.read(summary!.modelArtifactsUrl!))!);
    return JSON.parse(model.content.toString('utf8')) as ChannelSeen;
  }

  it('lays the channel out as date folders, the rows of a date in one file, a weighted row repeated', async () => {
    await row('2015-01-02', 'd1', '0,1,2');
    await row('2015-01-02', 'd2', '1,3,4', 2);
    await row('2015-01-05', 'd3', '0,5,6');

    const seen = await runJob('job-1', { from: '2015-01-01', to: '2015-01-31' });

    expect(Object.keys(seen.files).sort()).toEqual(['date=2015-01-02/rows.csv', 'date=2015-01-05/rows.csv']);
    expect(seen.files['date=2015-01-02/rows.csv'].lines).toEqual(['0,1,2', '1,3,4', '1,3,4']);
    expect(seen.files['date=2015-01-05/rows.csv'].lines).toEqual(['0,5,6']);
    expect(logs[0]).toMatch(/^training job job-1 \(xgboost \(stand-in script\)\): Completed on 3 rows in \d+\.\d s$/);
  });

  it('gives the next job the rows written since, rewriting only the date folders that changed', async () => {
    await row('2015-01-02', 'd1', '0,1,2');
    await row('2015-01-05', 'd2', '0,5,6');
    const first = await runJob('job-1', { from: '2015-01-01', to: '2015-01-31' });

    await row('2015-01-05', 'd3', '1,7,8');
    await row('2015-01-09', 'd4', '0,9,9');
    now += 86_400_000;
    const second = await runJob('job-2', { from: '2015-01-01', to: '2015-01-31' });

    expect(second.root).toBe(first.root);
    expect(second.files['date=2015-01-05/rows.csv'].lines).toEqual(['0,5,6', '1,7,8']);
    expect(second.files['date=2015-01-09/rows.csv'].lines).toEqual(['0,9,9']);
    // The unchanged folder was not written again: the same file, untouched since the first job.
    expect(second.files['date=2015-01-02/rows.csv']).toEqual(first.files['date=2015-01-02/rows.csv']);
  });

  it('holds every date of the prefix; the job counts (and train.py keeps) only its window', async () => {
    await row('2014-12-30', 'old', '0,1,1');
    await row('2015-01-02', 'in', '1,2,2');

    const seen = await runJob('job-1', { from: '2015-01-01', to: '2015-01-31' });

    expect(Object.keys(seen.files).sort()).toEqual(['date=2014-12-30/rows.csv', 'date=2015-01-02/rows.csv']);
    expect(seen.hyperparameters).toEqual({ window_from: '2015-01-01', window_to: '2015-01-31' });
    expect(logs[0]).toMatch(/^training job job-1 \(xgboost \(stand-in script\)\): Completed on 1 rows in /);
  });

  it('removes the channel folders when closed', async () => {
    await row('2015-01-02', 'd1', '0,1,2');
    const seen = await runJob('job-1', { from: '2015-01-01', to: '2015-01-31' });
    expect(statSync(seen.root).isDirectory()).toBe(true);

    training.close();

    expect(existsSync(seen.root)).toBe(false);
  });
});
