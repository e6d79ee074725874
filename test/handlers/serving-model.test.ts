import { InMemoryControlStore } from '../../handlers/adapters/in-memory-stores';
import { S3ServingModelSource } from '../../handlers/adapters/serving-model';
import { ModelUnavailableError, type ObjectReader, type ServingModelPointer } from '../../handlers/ports';
import { buildFeatureVector, createFeatureList } from '../../model/features';
import { tarGzip } from '../../model/tar';
import { contributions } from '../../model/treeshap';
import { fixtureFeatureList, fixtureFeaturesJson, fixtureModelTarGz, fixtureTrees, MODEL_JSON } from './serving-fixture';

/** S3 in memory, counting reads per URL. */
class MemoryObjects implements ObjectReader {
  readonly objects = new Map<string, Uint8Array>();
  readonly reads: string[] = [];
  async read(url: string): Promise<Uint8Array | undefined> {
    this.reads.push(url);
    return this.objects.get(url);
  }
}

function pointer(version: string): ServingModelPointer {
  return {
    modelVersion: version,
    modelDataUrl: `s3://deploy-guard-dev-models/${version}/output/model.tar.gz`,
    featuresUrl: `s3://deploy-guard-dev-models/${version}/features.json`,
    promotedAt: Date.parse('2026-11-20T09:41:30Z'),
  };
}

async function setup(version = 'deploy-guard-dev-20261120-0900-5f2c1a') {
  const control = new InMemoryControlStore();
  const objects = new MemoryObjects();
  const at = pointer(version);
  objects.objects.set(at.modelDataUrl, fixtureModelTarGz());
  objects.objects.set(at.featuresUrl, fixtureFeaturesJson());
  await control.swapServingModel(at, null);
  return { control, objects, source: new S3ServingModelSource(control, objects), at };
}

const vector = buildFeatureVector(fixtureFeatureList(), {
  group: 'myApplication/myDeploymentGroup',
  time: Date.parse('2026-11-20T09:14:00Z'),
  change: { distinctAuthors: 2, commits: 3, srcChurn: 390, testChurn: 60, filesModified: 7 },
  history: { failureRateOverall: 0.25, failureRateLast5: 0.4, previousFailed: 1 },
});

describe('S3ServingModelSource', () => {
  it('is undefined before the first promotion, reading nothing from S3', async () => {
    const objects = new MemoryObjects();
    await expect(new S3ServingModelSource(new InMemoryControlStore(), objects).serving()).resolves.toBeUndefined();
    expect(objects.reads).toEqual([]);
  });

  it("loads the pointer's features.json and model.tar.gz: its version, feature list, and TreeSHAP of its trees", async () => {
    const { source, at } = await setup();
    const model = await source.serving();
    expect(model?.version).toBe(at.modelVersion);
    expect(model?.features).toEqual(fixtureFeatureList());
    const explained = Array.from(model!.explain(vector));
    expect(explained).toEqual(Array.from(contributions(fixtureTrees(), vector)));
    // TreeSHAP sums to the margin the scorer computes.
    const sum = explained.reduce((total, value) => total + value, 0);
    expect(sum).toBeCloseTo(fixtureTrees().predictMargin(vector), 5);
  });

  it('reads S3 once per version, and again only when promote moves the pointer', async () => {
    const { control, objects, source, at } = await setup('v1');
    await source.serving();
    await source.serving();
    expect(objects.reads).toEqual([at.featuresUrl, at.modelDataUrl]);

    const next = pointer('v2');
    objects.objects.set(next.modelDataUrl, fixtureModelTarGz());
    objects.objects.set(next.featuresUrl, fixtureFeaturesJson());
    await control.swapServingModel(next, 'v1');
    expect((await source.serving())?.version).toBe('v2');
    expect(objects.reads).toEqual([at.featuresUrl, at.modelDataUrl, next.featuresUrl, next.modelDataUrl]);
  });

  it('names the missing object, and tries again at the next call instead of caching the failure', async () => {
    const { objects, source, at } = await setup();
    const archive = objects.objects.get(at.modelDataUrl)!;
    objects.objects.delete(at.modelDataUrl);
    await expect(source.serving()).rejects.toThrow(`serving model ${at.modelVersion}: ${at.modelDataUrl} does not exist`);
    objects.objects.set(at.modelDataUrl, archive);
    await expect(source.serving()).resolves.toMatchObject({ version: at.modelVersion });
  });

  it('refuses model.tar.gz holding anything but exactly xgboost-model (the container would average them)', async () => {
    const { objects, source, at } = await setup();
    objects.objects.set(
      at.modelDataUrl,
      tarGzip([
        { name: 'xgboost-model', content: Buffer.from(MODEL_JSON) },
        { name: 'features.json', content: fixtureFeaturesJson() },
      ]),
    );
    await expect(source.serving()).rejects.toThrow(`${at.modelDataUrl}: expected exactly one file, xgboost-model, found xgboost-model, features.json`);
  });

  it('refuses a features.json that does not match the trees, naming both counts', async () => {
    const { objects, source, at } = await setup();
    const shorter = createFeatureList({ names: ['commits', 'srcChurn'], groups: [] });
    objects.objects.set(at.featuresUrl, Buffer.from(JSON.stringify(shorter)));
    await expect(source.serving()).rejects.toThrow(
      `serving model ${at.modelVersion}: the trees use 12 features but features.json lists 2; they are not from the same training job`,
    );
  });

  it('reports every way the named model fails to load as ModelUnavailableError, an S3 error after the retries included', async () => {
    const { objects, source, at } = await setup();
    objects.objects.set(at.featuresUrl, Buffer.from(JSON.stringify(createFeatureList({ names: ['commits'], groups: [] }))));
    await expect(source.serving()).rejects.toBeInstanceOf(ModelUnavailableError);

    const failing: ObjectReader = {
      read: async (url) => {
        throw new Error(`S3 GetObject ${url}: Service Unavailable`);
      },
    };
    const unreadable = new S3ServingModelSource((await setup()).control, failing);
    const failure = unreadable.serving();
    await expect(failure).rejects.toBeInstanceOf(ModelUnavailableError);
    await expect(failure).rejects.toThrow(`serving model ${at.modelVersion}: S3 GetObject s3://deploy-guard-dev-models/`);
    await expect(failure).rejects.toMatchObject({ modelVersion: at.modelVersion });
  });

  it('lets an unreadable serving pointer (its table) through as it is: not a model fault, Lambda retries it', async () => {
    const control = new InMemoryControlStore();
    control.readServingModel = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const failure = new S3ServingModelSource(control, new MemoryObjects()).serving();
    await expect(failure).rejects.toThrow('ProvisionedThroughputExceededException');
    await expect(failure).rejects.not.toBeInstanceOf(ModelUnavailableError);
  });

  it('refuses a features.json that is not JSON, naming its URL', async () => {
    const { objects, source, at } = await setup();
    objects.objects.set(at.featuresUrl, Buffer.from('commits,srcChurn'));
    await expect(source.serving()).rejects.toThrow(`${at.featuresUrl} (model ${at.modelVersion}): not JSON`);
  });
});
