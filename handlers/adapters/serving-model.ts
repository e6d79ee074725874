import { parseFeatureList, type FeatureList } from '../../model/features';
import { untarGzip } from '../../model/tar';
import { contributions } from '../../model/treeshap';
import { loadXGBoostModel, type XGBoostModel } from '../../model/xgboost';
import { ModelUnavailableError, type ControlStore, type ObjectReader, type ServingModel, type ServingModelPointer, type ServingModelSource } from '../ports';

/** The one file SageMaker's XGBoost container loads from model.tar.gz. */
export const MODEL_FILE_NAME = 'xgboost-model';

/**
 * The model the endpoint serves, as predict needs it: its feature list (features.json, kept beside
 * model.tar.gz) and its trees (for TreeSHAP explanations). The control table's pointer says which
 * version serves; a version is loaded from S3 once per container and kept while it serves, so a
 * promotion is picked up at the next event without a cold start.
 */
export class S3ServingModelSource implements ServingModelSource {
  private cached: { readonly version: string; readonly model: Promise<ServingModel> } | undefined;

  constructor(
    private readonly control: ControlStore,
    private readonly objects: ObjectReader,
  ) {}

  async serving(): Promise<ServingModel | undefined> {
    const pointer = await this.control.readServingModel();
    if (!pointer) return undefined;
    if (this.cached?.version !== pointer.modelVersion) {
      const model = this.load(pointer);
      this.cached = { version: pointer.modelVersion, model };
      // A failed load is not cached: the next event tries again (S3 may have been briefly unavailable).
      model.catch(() => {
        if (this.cached?.model === model) this.cached = undefined;
      });
    }
    return this.cached.model;
  }

  /** Every way the named model fails to load is a ModelUnavailableError, so that predict's failure policy decides. */
  private async load(pointer: ServingModelPointer): Promise<ServingModel> {
    try {
      return await this.loadParts(pointer);
    } catch (error) {
      if (error instanceof ModelUnavailableError) throw error;
      throw new ModelUnavailableError(pointer.modelVersion, (error as Error).message, { cause: error });
    }
  }

  private async loadParts(pointer: ServingModelPointer): Promise<ServingModel> {
    const [featuresBytes, archive] = await Promise.all([this.required(pointer.featuresUrl, pointer), this.required(pointer.modelDataUrl, pointer)]);
    const origin = `${pointer.featuresUrl} (model ${pointer.modelVersion})`;
    let featuresJson: unknown;
    try {
      featuresJson = JSON.parse(new TextDecoder('utf-8').decode(featuresBytes));
    } catch (error) {
      throw new Error(`${origin}: not JSON (${(error as Error).message})`);
    }
    const features = parseFeatureList(featuresJson, origin);
    const trees = loadXGBoostModel(modelFileText(archive, pointer.modelDataUrl));
    return servingModel(pointer.modelVersion, features, trees);
  }

  private async required(url: string, pointer: ServingModelPointer): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.objects.read(url);
    } catch (error) {
      // S3 still failing after the client's retries (throttled, unavailable, access denied).
      throw new ModelUnavailableError(pointer.modelVersion, `serving model ${pointer.modelVersion}: ${(error as Error).message}`, { cause: error });
    }
    if (!bytes) throw new ModelUnavailableError(pointer.modelVersion, `serving model ${pointer.modelVersion}: ${url} does not exist`);
    return bytes;
  }
}

/** A serving model from its parts; the feature list and the trees must agree on the column count. */
export function servingModel(version: string, features: FeatureList, trees: XGBoostModel): ServingModel {
  if (trees.featureCount !== features.features.length) {
    throw new Error(
      `serving model ${version}: the trees use ${trees.featureCount} features but features.json lists ${features.features.length}; ` +
        'they are not from the same training job',
    );
  }
  return {
    version,
    features,
    explain: (vector) => contributions(trees, vector),
    predict: (vector) => trees.predict(vector),
  };
}

/** The XGBoost JSON inside model.tar.gz (at `origin`), which must hold exactly one file, `xgboost-model`. */
export function modelFileText(archive: Uint8Array, origin: string): string {
  const files = untarGzip(archive, origin);
  if (files.length !== 1 || files[0].name !== MODEL_FILE_NAME) {
    throw new Error(
      `${origin}: expected exactly one file, ${MODEL_FILE_NAME}, found ${files.length === 0 ? 'none' : files.map((file) => file.name).join(', ')} ` +
        '(the container loads every file and averages their predictions)',
    );
  }
  return files[0].content.toString('utf8');
}
