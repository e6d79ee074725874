import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamodbTableItem } from '@cdktf/provider-aws/lib/dynamodb-table-item';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { AssetType, TerraformAsset, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { MODEL_FILE_NAME } from '../handlers/adapters/serving-model';
import { servingModelItem } from '../handlers/adapters/dynamodb-attributes';
import type { ServingModelPointer } from '../handlers/ports';
import { FEATURES_FILE, INITIAL_MODEL_VERSION, MODEL_ARCHIVE_FILE, s3Uri, servedModelKeys } from '../handlers/s3-layout';
import { TABLES } from '../handlers/tables';
import { parseFeatureList } from '../model/features';
import { untarGzip } from '../model/tar';
import { loadXGBoostModel } from '../model/xgboost';
import { validateArn } from './construct-support';

const NAME = 'InitialModel';

/** How to make a model folder: the command named by every error about one. */
export const TRAIN_COMMAND = 'node bin/deploy-guard.js train --data data/ci-bfdetector --mapping data/ci-bfdetector.mapping.json --out <folder>';

export interface InitialModelProps {
  /** A `deploy-guard train` output folder: its model.tar.gz and features.json are the first served model. */
  readonly folder: string;
  /** The model bucket: the files go to models/initial/ (handlers/s3-layout.ts), the served prefix. */
  readonly modelBucketName: string;
  /** The installation key: the uploads are SSE-KMS with it, as everything Deploy Guard writes. */
  readonly kmsKeyArn: string;
  /** The control table: the serving pointer predict reads is seeded there. */
  readonly controlTableName: string;
  /** What must exist before the uploads and the item (the bucket and the table, given by name). @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * The model a fresh installation serves before its first promotion (F-08): model.tar.gz and
 * features.json uploaded to the served prefix (re-uploaded when their content changes), and the
 * serving pointer seeded in the control table, in the shape the control store reads. The pointer is
 * written once: Terraform ignores later changes to the item, so that an apply never moves the pointer
 * back from a model promote put there.
 */
export class InitialModel extends Construct {
  readonly modelArchive: S3Object;
  readonly featureList: S3Object;
  readonly servingPointer: DynamodbTableItem;
  /** The pointer as seeded (and as DynamoDbControlStore reads it back). */
  readonly pointer: ServingModelPointer;

  constructor(scope: Construct, id: string, props: InitialModelProps) {
    super(scope, id);
    validateArn(NAME, 'kmsKeyArn', props.kmsKeyArn, 'kms');
    const files = readModelFolder(props.folder);
    const keys = servedModelKeys(INITIAL_MODEL_VERSION);
    const encryption = { serverSideEncryption: 'aws:kms', kmsKeyId: props.kmsKeyArn, bucketKeyEnabled: true } as const;
    const dependsOn = [...(props.dependsOn ?? [])];

    // Assets keep the files out of the plan and the state; source_hash re-uploads a new model (an
    // SSE-KMS object's ETag is not its MD5, so etag cannot tell).
    const upload = (name: string, file: { readonly path: string; readonly sha256: string }, key: string, contentType: string) =>
      new S3Object(this, name, {
        bucket: props.modelBucketName,
        key,
        source: new TerraformAsset(this, `${name}-asset`, { path: file.path, type: AssetType.FILE }).path,
        sourceHash: file.sha256,
        contentType,
        ...encryption,
        dependsOn,
      });
    this.modelArchive = upload('model-archive', files.archive, keys.model, 'application/gzip');
    this.featureList = upload('feature-list', files.features, keys.features, 'application/json');

    this.pointer = {
      modelVersion: INITIAL_MODEL_VERSION,
      modelDataUrl: s3Uri(props.modelBucketName, keys.model),
      featuresUrl: s3Uri(props.modelBucketName, keys.features),
      // Not promoted: served since the installation.
      promotedAt: 0,
    };
    this.servingPointer = new DynamodbTableItem(this, 'serving-pointer', {
      tableName: props.controlTableName,
      hashKey: TABLES.control.partitionKey,
      item: JSON.stringify(servingModelItem(this.pointer)),
      // The pointer must never name files that are not there yet.
      dependsOn: [...dependsOn, this.modelArchive, this.featureList],
      // promote moves the pointer; an apply must not move it back.
      lifecycle: { ignoreChanges: ['item'] },
    });
  }
}

/** The two files of a model folder: where each is and the SHA-256 of its content. */
export interface ModelFolder {
  readonly archive: { readonly path: string; readonly sha256: string };
  readonly features: { readonly path: string; readonly sha256: string };
}

/**
 * The two files of a `deploy-guard train` output folder, checked as predict will load them: the
 * archive holds exactly `xgboost-model`, and features.json lists as many features as its trees use.
 * Every error is one line naming the folder and saying how to make one.
 */
export function readModelFolder(folder: string): ModelFolder {
  const fail = (problem: string): never => {
    throw new Error(`model.initial '${folder}': ${problem}; make one with: ${TRAIN_COMMAND.replace('<folder>', folder)}`);
  };
  if (!existsSync(folder)) fail('the folder does not exist');
  const archivePath = path.join(folder, MODEL_ARCHIVE_FILE);
  const featuresPath = path.join(folder, FEATURES_FILE);
  for (const file of [MODEL_ARCHIVE_FILE, FEATURES_FILE]) if (!existsSync(path.join(folder, file))) fail(`${file} is missing`);

  const archive = readFileSync(archivePath);
  const featuresText = readFileSync(featuresPath, 'utf8');
  const attempt = <T>(what: string, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      return fail(`${what}: ${(error as Error).message.split('\n')[0]}`);
    }
  };
  const entries = attempt(MODEL_ARCHIVE_FILE, () => untarGzip(archive, archivePath));
  if (entries.length !== 1 || entries[0].name !== MODEL_FILE_NAME) fail(`${MODEL_ARCHIVE_FILE} must hold exactly one file, ${MODEL_FILE_NAME}`);
  const trees = attempt(MODEL_FILE_NAME, () => loadXGBoostModel(entries[0].content.toString('utf8')));
  const features = attempt(FEATURES_FILE, () => parseFeatureList(JSON.parse(featuresText), featuresPath));
  if (features.features.length !== trees.featureCount) {
    fail(`${FEATURES_FILE} lists ${features.features.length} features but the model's trees use ${trees.featureCount}: they are not from the same training`);
  }
  const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
  return { archive: { path: archivePath, sha256: sha256(archive) }, features: { path: featuresPath, sha256: sha256(featuresText) } };
}
