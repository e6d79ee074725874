import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { initialModelUris } from '../../handlers/s3-layout';
import { loadConfig, parseConfig, SHIPPED_INITIAL_MODEL } from '../../stacks/config';
import { DeployGuardStack } from '../../stacks/deploy-guard-stack';
import { readModelFolder, TRAIN_COMMAND } from '../../stacks/initial-model';

const CONFIG_FILE = join(__dirname, '..', '..', 'deploy-guard.config.json');
const shipped = () => JSON.parse(readFileSync(CONFIG_FILE, 'utf8'));

/** The dev stack of the shipped configuration with its model folder set to `initial`, synthesized. */
function synthDev(initial?: string): Record<string, Record<string, Record<string, Record<string, unknown>>>> {
  const json = shipped();
  if (initial !== undefined) json.environments.dev.model = { initial };
  const config = parseConfig(json, CONFIG_FILE).environments.dev;
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'dg-initial-model-')) });
  const stack = new DeployGuardStack(app, 'deploy-guard-dev', { environment: 'dev', config });
  app.synth();
  return JSON.parse(readFileSync(join(app.outdir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'));
}

/** A copy of the shipped model folder, with `change` applied. */
function modelFolder(change: (folder: string) => void = () => undefined): string {
  const folder = mkdtempSync(join(tmpdir(), 'dg-model-'));
  for (const file of ['model.tar.gz', 'features.json']) copyFileSync(join(SHIPPED_INITIAL_MODEL, file), join(folder, file));
  change(folder);
  return folder;
}

describe('the first model the stack ships (stacks/initial-model.ts, F-08)', () => {
  it('defaults to the shipped model folder, and resolves a configured one relative to the configuration file', () => {
    expect(loadConfig(CONFIG_FILE).environments.staging.model.initial).toBe(SHIPPED_INITIAL_MODEL);
    const json = shipped();
    json.environments.staging.model = { initial: 'elsewhere/model' };
    expect(parseConfig(json, '/etc/deploy-guard/deploy-guard.config.json').environments.staging.model.initial).toBe('/etc/deploy-guard/elsewhere/model');
  });

  it('uploads model.tar.gz and features.json, KMS-encrypted, to where the serving pointer it seeds names them; an apply never moves the pointer back', () => {
    const resource = synthDev().resource;
    const bucket = 'deploy-guard-dev-models-123456789012';
    const uris = initialModelUris(bucket);
    const objects = Object.values(resource.aws_s3_object).filter((object) => String(object.key).startsWith('models/'));
    expect(objects.map((object) => `s3://${object.bucket}/${object.key}`).sort()).toEqual([uris.features, uris.model]);
    for (const object of objects) expect(object).toMatchObject({ server_side_encryption: 'aws:kms', kms_key_id: expect.stringContaining('aws_kms_key.') });
    // A new model re-uploads: each hash is its file's content.
    const shipped = readModelFolder(SHIPPED_INITIAL_MODEL);
    const byKey = (suffix: string) => objects.find((object) => String(object.key).endsWith(suffix))!;
    expect(byKey('model.tar.gz')).toMatchObject({ source_hash: shipped.archive.sha256, source: expect.stringMatching(/^assets\/.*\/model\.tar\.gz$/) });
    expect(byKey('features.json')).toMatchObject({ source_hash: shipped.features.sha256, source: expect.stringMatching(/^assets\/.*\/features\.json$/) });

    const [pointer] = Object.values(resource.aws_dynamodb_table_item);
    expect(pointer).toMatchObject({ table_name: 'deploy-guard-dev-control', hash_key: 'key', lifecycle: { ignore_changes: ['item'] } });
    expect(JSON.parse(String(pointer.item))).toMatchObject({ key: { S: 'model#serving' }, modelDataUrl: { S: uris.model }, featuresUrl: { S: uris.features } });
    expect(pointer.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_object\.initial-model_model-archive/), expect.stringMatching(/^aws_s3_object\.initial-model_feature-list/)]));
    // The endpoint's model is created once its artifact is there.
    const [model] = Object.values(resource.aws_sagemaker_model);
    expect(model.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_object\.initial-model_model-archive/)]));
    expect(model.primary_container).toMatchObject({ model_data_url: uris.model });
  });

  const makeOne = (folder: string) => `make one with: ${TRAIN_COMMAND.replace('<folder>', folder)}`;
  it('refuses to synthesize without the model folder, in one line naming the folder and the train command', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'dg-none-')), 'model');
    expect(() => synthDev(missing)).toThrow(`model.initial '${missing}': the folder does not exist; ${makeOne(missing)}`);
  });

  it.each([
    ['model.tar.gz is missing', (folder: string) => rmSync(join(folder, 'model.tar.gz'))],
    ['features.json is missing', (folder: string) => rmSync(join(folder, 'features.json'))],
  ])('refuses a folder where %s', (problem, change) => {
    const folder = modelFolder(change);
    expect(() => readModelFolder(folder)).toThrow(`model.initial '${folder}': ${problem}; ${makeOne(folder)}`);
  });

  it("refuses a features.json that does not match the model's feature count", () => {
    const folder = modelFolder((dir) => {
      const features = JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8'));
      features.features = features.features.slice(1);
      writeFileSync(join(dir, 'features.json'), JSON.stringify(features));
    });
    let message = '';
    try {
      readModelFolder(folder);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^model\.initial '.*': features\.json lists 35 features but the model's trees use 36: they are not from the same training; make one with: node bin\/deploy-guard\.js train /);
    expect(message).not.toContain('\n');
  });

  it('accepts the shipped folder', () => {
    expect(readModelFolder(SHIPPED_INITIAL_MODEL).archive.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
