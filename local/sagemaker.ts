import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAGEMAKER_SOURCE, SAGEMAKER_TRAINING_JOB_STATE_CHANGE } from '../events/aws';
import { eventBridgeTime } from '../events/clock';
import { EmbeddedTrainingError, runEmbeddedTraining } from '../model/embedded-training';
import { tarGzip } from '../model/tar';
import type { Trainer } from '../model/training';
import { handleInvocation } from '../model/serve';
import { loadXGBoostModel, type XGBoostModel } from '../model/xgboost';
import type {
  EndpointAnswer,
  EndpointState,
  HostingPort,
  ModelEndpointPort,
  ModelPackageInput,
  ModelPackageSummary,
  ObjectCopier,
  ObjectReader,
  TrainingDataLake,
  TrainingJobSpec,
  TrainingJobStatus,
  TrainingJobSummary,
  TrainingPort,
  TrainingRowCounter,
  TrainingRowReader,
} from '../handlers/ports';
import { trainingRowDate, trainingRowKey } from '../handlers/training-row';

/**
 * S3 and SageMaker hosting on the laptop. Objects live in memory under their s3:// URLs; the
 * endpoint answers through the container's own serving protocol (model/serve.ts handleInvocation:
 * the same status codes and bodies as sagemaker-xgboost:1.7-1), and a non-200 answer is a ModelError,
 * as InvokeEndpoint reports it.
 */

export class LocalObjectStore implements ObjectReader, ObjectCopier, TrainingDataLake, TrainingRowCounter, TrainingRowReader {
  private readonly objects = new Map<string, Uint8Array>();

  constructor(private readonly dataBucket: string) {}

  async read(s3Url: string): Promise<Uint8Array | undefined> {
    return this.objects.get(s3Url);
  }

  put(s3Url: string, body: Uint8Array | string): void {
    if (!s3Url.startsWith('s3://')) throw new Error(`local S3: '${s3Url}' is not an s3:// URL`);
    this.objects.set(s3Url, typeof body === 'string' ? Buffer.from(body) : body);
  }

  async copy(fromS3Url: string, toS3Url: string): Promise<void> {
    const body = this.objects.get(fromS3Url);
    if (!body) throw new Error(`local S3: CopyObject ${fromS3Url}: NoSuchKey`);
    this.put(toS3Url, body);
  }

  /** Every object under a prefix, in key order (ListObjectsV2 order). */
  list(prefixUrl: string): { readonly url: string; readonly body: Uint8Array }[] {
    return [...this.objects.entries()]
      .filter(([url]) => url.startsWith(prefixUrl))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([url, body]) => ({ url, body }));
  }

  async putRow(row: Parameters<TrainingDataLake['putRow']>[0]): Promise<void> {
    this.put(`s3://${this.dataBucket}/${trainingRowKey(row)}`, `${row.csvLine}\n`.repeat(row.weight));
  }

  async countRows(fromDate: string, toDate: string, enough: number): Promise<number> {
    let count = 0;
    for (const url of this.objects.keys()) {
      const date = trainingRowDate(url.slice(`s3://${this.dataBucket}/`.length));
      if (url.startsWith(`s3://${this.dataBucket}/`) && date !== undefined && fromDate <= date && date <= toDate) count += 1;
      if (count >= enough) break;
    }
    return count;
  }

  async rowKeysByDate(fromDate: string, toDate: string): Promise<ReadonlyMap<string, readonly string[]>> {
    const byDate = new Map<string, string[]>();
    const bucket = `s3://${this.dataBucket}/`;
    for (const { url } of this.list(bucket)) {
      const key = url.slice(bucket.length);
      const date = trainingRowDate(key);
      if (date === undefined || date < fromDate || date > toDate) continue;
      const keys = byDate.get(date);
      if (keys) keys.push(key);
      else byDate.set(date, [key]);
    }
    return byDate;
  }

  async readRows(keys: readonly string[]): Promise<readonly string[]> {
    return keys.flatMap((key) => {
      const body = this.objects.get(`s3://${this.dataBucket}/${key}`);
      if (!body) throw new Error(`local S3: s3://${this.dataBucket}/${key} does not exist`);
      return Buffer.from(body).toString('utf8').split('\n').filter((line) => line.trim() !== '');
    });
  }
}

/** The endpoint: the model it serves can be swapped by UpdateEndpoint (LocalHosting). */
export class LocalEndpoint implements ModelEndpointPort {
  private model: XGBoostModel | undefined;
  invocations = 0;

  serve(model: XGBoostModel): void {
    this.model = model;
  }

  async invoke(csvRows: string): Promise<EndpointAnswer> {
    this.invocations += 1;
    if (!this.model) return { ok: false, failure: 'Unavailable', message: 'Could not find endpoint: no model is deployed yet.' };
    const response = handleInvocation(this.model, { body: Buffer.from(csvRows), contentType: 'text/csv', accept: 'text/csv' });
    if (response.status !== 200) {
      return { ok: false, failure: 'ModelError', message: `Received client error (${response.status}) from primary with message "${response.body}"` };
    }
    const probabilities = response.body.split('\n').filter((line) => line !== '').map(Number);
    return { ok: true, probabilities };
  }
}

/**
 * Model packages, models, endpoint configurations and the endpoint update, as SageMaker keeps them:
 * a package per job (CreateModelPackage's idempotency token), configurations as created (their
 * inputs are kept for tests), UpdateEndpoint swaps the served model at once.
 */
export class LocalHosting implements HostingPort {
  private readonly models = new Map<string, string>();
  readonly configs = new Map<string, Parameters<HostingPort['createEndpointConfig']>[0]>();
  readonly packages: (ModelPackageSummary & { readonly description: string })[] = [];
  private endpointConfigName = 'initial';
  readonly updates: { readonly endpointConfigName: string; readonly modelDataUrl: string }[] = [];

  constructor(
    private readonly objects: LocalObjectStore,
    private readonly endpoint: LocalEndpoint,
    private readonly unpack: (modelTarGz: Uint8Array) => string,
  ) {}

  async registerModelPackage(input: ModelPackageInput): Promise<{ modelPackageArn: string }> {
    const existing = this.packages.find((candidate) => candidate.trainingJobName === input.trainingJobName);
    if (existing) return { modelPackageArn: existing.modelPackageArn };
    const modelPackageArn = `arn:aws:sagemaker:local:000000000000:model-package/${input.modelPackageGroupName}/${this.packages.length + 1}`;
    this.packages.push({
      modelPackageArn,
      modelPackageGroupName: input.modelPackageGroupName,
      approval: input.approval,
      modelDataUrl: input.modelDataUrl,
      trainingJobName: input.trainingJobName,
      description: input.description,
    });
    return { modelPackageArn };
  }

  async findModelPackage(modelPackageGroupName: string, trainingJobName: string): Promise<string | undefined> {
    return this.packages.find((candidate) => candidate.modelPackageGroupName === modelPackageGroupName && candidate.trainingJobName === trainingJobName)?.modelPackageArn;
  }

  async describeModelPackage(modelPackageArn: string): Promise<ModelPackageSummary | undefined> {
    const found = this.packages.find((candidate) => candidate.modelPackageArn === modelPackageArn);
    if (!found) return undefined;
    return {
      modelPackageArn: found.modelPackageArn,
      modelPackageGroupName: found.modelPackageGroupName,
      approval: found.approval,
      ...(found.modelDataUrl ? { modelDataUrl: found.modelDataUrl } : {}),
      ...(found.trainingJobName ? { trainingJobName: found.trainingJobName } : {}),
    };
  }

  /** A person approves a package (UpdateModelPackage ModelApprovalStatus Approved). */
  approve(modelPackageArn: string): void {
    const index = this.packages.findIndex((candidate) => candidate.modelPackageArn === modelPackageArn);
    if (index < 0) throw new Error(`local SageMaker: no model package ${modelPackageArn}`);
    this.packages[index] = { ...this.packages[index], approval: 'Approved' };
  }

  async createModel(input: { readonly modelName: string; readonly modelDataUrl: string }): Promise<void> {
    if (!this.models.has(input.modelName)) this.models.set(input.modelName, input.modelDataUrl);
  }

  async createEndpointConfig(input: Parameters<HostingPort['createEndpointConfig']>[0]): Promise<void> {
    if (!this.models.has(input.modelName)) throw new Error(`Could not find model "${input.modelName}".`);
    if (!this.configs.has(input.endpointConfigName)) this.configs.set(input.endpointConfigName, input);
  }

  async describeEndpoint(): Promise<EndpointState> {
    return { status: 'InService', endpointConfigName: this.endpointConfigName };
  }

  async updateEndpoint(input: { readonly endpointName: string; readonly endpointConfigName: string }): Promise<void> {
    const modelName = this.configs.get(input.endpointConfigName)?.modelName;
    if (!modelName) throw new Error(`Could not find endpoint configuration "${input.endpointConfigName}".`);
    const modelDataUrl = this.models.get(modelName)!;
    const artifact = await this.objects.read(modelDataUrl);
    if (!artifact) throw new Error(`Could not find model data at ${modelDataUrl}.`);
    this.endpoint.serve(loadXGBoostModel(this.unpack(artifact)));
    this.endpointConfigName = input.endpointConfigName;
    this.updates.push({ endpointConfigName: input.endpointConfigName, modelDataUrl });
  }
}

/** What the laptop's training job needs besides the job's spec. */
export interface LocalTrainingOptions {
  readonly objects: LocalObjectStore;
  /** Who trains: the embedded trainer, or the script below under a Python with XGBoost 1.7. */
  readonly trainer: Trainer;
  /** Deploy Guard's training script, the one SageMaker runs in script mode (model/train.py), for the xgboost trainer. */
  readonly trainScript: string;
  /** Scratch space: each job gets /opt/ml-like folders under it. */
  readonly workDir: string;
  readonly account: string;
  readonly region: string;
  /** Virtual time the job takes from start to completion. */
  readonly durationMs: number;
  /** Runs `run` at virtual time `at` (the backtest's scheduler). */
  readonly schedule: (at: number, run: () => Promise<void>) => void;
  readonly clock: { now(): number };
  /** Receives the SageMaker Training Job State Change event, to be put on the default bus. */
  readonly emit: (event: Record<string, unknown>) => void;
  readonly log?: (line: string) => void;
}

interface LocalJob {
  readonly spec: TrainingJobSpec;
  status: TrainingJobStatus;
  failureReason?: string;
  modelArtifactsUrl?: string;
  readonly createdAt: number;
  wallMs?: number;
}

/**
 * SageMaker training on the laptop: the job's channels are materialized from the local S3 into
 * folders laid out as SageMaker lays them out, the trainer runs with the job's hyperparameters
 * (model/train.py, the script and contract of script mode, or the embedded trainer on the same
 * contract), and the job's model.tar.gz and output.tar.gz are
 * written where SageMaker writes them. It completes `durationMs` of virtual time after it starts and
 * then emits the Training Job State Change event, as SageMaker does.
 */
export class LocalTraining implements TrainingPort {
  private readonly jobs = new Map<string, LocalJob>();
  /** The channel folders written so far: each folder's files, by their folder under the channel. */
  private readonly channels = new Map<string, Map<string, Buffer>>();
  private readonly channelPrefixes: string[] = [];

  constructor(private readonly options: LocalTrainingOptions) {}

  get jobCount(): number {
    return this.jobs.size;
  }

  /** The jobs that have run their trainer (completed or failed). */
  get trainedJobs(): number {
    let count = 0;
    for (const job of this.jobs.values()) if (job.wallMs !== undefined) count += 1;
    return count;
  }

  /** Wall-clock milliseconds spent training, excluded from the event loop's throughput. */
  get trainingWallMs(): number {
    let total = 0;
    for (const job of this.jobs.values()) total += job.wallMs ?? 0;
    return total;
  }

  async runningJobs(namePrefix: string): Promise<readonly string[]> {
    return [...this.jobs.values()]
      .filter((job) => job.spec.trainingJobName.startsWith(namePrefix) && (job.status === 'InProgress' || job.status === 'Stopping'))
      .map((job) => job.spec.trainingJobName);
  }

  async startTrainingJob(spec: TrainingJobSpec): Promise<'started' | 'already-exists'> {
    if (this.jobs.has(spec.trainingJobName)) return 'already-exists';
    const job: LocalJob = { spec, status: 'InProgress', createdAt: this.options.clock.now() };
    this.jobs.set(spec.trainingJobName, job);
    this.options.schedule(job.createdAt + this.options.durationMs, () => this.complete(job));
    return 'started';
  }

  async describeTrainingJob(trainingJobName: string): Promise<TrainingJobSummary | undefined> {
    const job = this.jobs.get(trainingJobName);
    if (!job) return undefined;
    const { spec } = job;
    return {
      trainingJobName,
      status: job.status,
      ...(job.failureReason ? { failureReason: job.failureReason } : {}),
      ...(job.modelArtifactsUrl ? { modelArtifactsUrl: job.modelArtifactsUrl } : {}),
      roleArn: spec.roleArn,
      imageUri: spec.imageUri,
      channels: [
        { name: 'train', s3Uri: spec.trainS3Uri },
        ...(spec.validationS3Uri ? [{ name: 'validation', s3Uri: spec.validationS3Uri }] : []),
        ...(spec.servingModelS3Uri ? [{ name: 'serving', s3Uri: spec.servingModelS3Uri }] : []),
      ],
      outputS3Uri: spec.outputS3Uri,
      hyperparameters: spec.hyperparameters,
    };
  }

  /** Removes the channel folders the jobs read (they outlive a job: see `channelFolder`). */
  close(): void {
    for (const folder of this.channels.keys()) rmSync(folder, { recursive: true, force: true });
    this.channels.clear();
  }

  private async complete(job: LocalJob): Promise<void> {
    const { spec } = job;
    const root = join(this.options.workDir, spec.trainingJobName);
    const paths = {
      serving: join(root, 'input', 'data', 'serving'),
      config: join(root, 'input', 'config'),
      model: join(root, 'model'),
      output: join(root, 'output', 'data'),
    };
    for (const path of Object.values(paths)) mkdirSync(path, { recursive: true });
    const started = performance.now();
    const train = this.channelFolder(spec.trainS3Uri);
    const copied = countInWindow(train.dates, { from: spec.hyperparameters.window_from, to: spec.hyperparameters.window_to });
    const hyperparametersFile = join(paths.config, 'hyperparameters.json');
    writeFileSync(hyperparametersFile, JSON.stringify(spec.hyperparameters));
    let servingFolder: string | undefined;
    if (spec.servingModelS3Uri) {
      const serving = await this.options.objects.read(spec.servingModelS3Uri);
      if (serving) {
        writeFileSync(join(paths.serving, 'model.tar.gz'), serving);
        servingFolder = paths.serving;
      }
    }
    const run = this.train({ train: train.folder, model: paths.model, output: paths.output, hyperparametersFile, serving: servingFolder }, spec.hyperparameters);
    job.wallMs = performance.now() - started;
    const trainer = this.options.trainer.name;
    if (run.ok) {
      const outputBase = `${spec.outputS3Uri.replace(/\/$/, '')}/${spec.trainingJobName}/output`;
      const model = readFileSync(join(paths.model, 'xgboost-model'));
      job.modelArtifactsUrl = `${outputBase}/model.tar.gz`;
      this.options.objects.put(job.modelArtifactsUrl, tarGzip([{ name: 'xgboost-model', content: model }]));
      const outputs = readdirSync(paths.output).map((name) => ({ name, content: readFileSync(join(paths.output, name)) }));
      this.options.objects.put(`${outputBase}/output.tar.gz`, tarGzip(outputs));
      job.status = 'Completed';
      this.options.log?.(`training job ${spec.trainingJobName} (${trainer}): Completed on ${copied} rows in ${(job.wallMs / 1000).toFixed(1)} s`);
    } else {
      job.status = 'Failed';
      job.failureReason = `AlgorithmError: ${run.reason}`.slice(0, 1024);
      this.options.log?.(`training job ${spec.trainingJobName} (${trainer}): Failed: ${job.failureReason}`);
    }
    rmSync(root, { recursive: true, force: true });
    this.options.emit(this.stateChangeEvent(job));
  }

  /** Runs the trainer on the job's folders: ok, or the reason it failed (its last error line). */
  private train(
    paths: { readonly train: string; readonly model: string; readonly output: string; readonly hyperparametersFile: string; readonly serving?: string },
    hyperparameters: Readonly<Record<string, string>>,
  ): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
    const { trainer } = this.options;
    if (trainer.kind === 'embedded') {
      try {
        // Its lines are the job's CloudWatch log in AWS; the backtest's console shows the job's outcome only.
        runEmbeddedTraining({ train: paths.train, modelDir: paths.model, outputDataDir: paths.output, hyperparameters, serving: paths.serving, log: () => undefined });
        return { ok: true };
      } catch (error) {
        if (error instanceof EmbeddedTrainingError) return { ok: false, reason: `embedded trainer: ${error.message}` };
        throw error;
      }
    }
    const args = [this.options.trainScript, '--train', paths.train, '--model-dir', paths.model, '--output-data-dir', paths.output, '--hyperparameters', paths.hyperparametersFile];
    if (paths.serving) args.push('--serving', paths.serving);
    const run = spawnSync(trainer.python, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.status === 0) return { ok: true };
    const lines = `${run.stderr ?? ''}${run.error ? String(run.error) : ''}`.trim().split('\n');
    return { ok: false, reason: lines[lines.length - 1] || `train.py exited with ${run.status}` };
  }

  /**
   * The `train` channel as File input mode lays it out: every object under the prefix, by key path
   * (train.py keeps the date folders of the job's window, window_from / window_to). The rows of one
   * date folder are concatenated into one file there (train.py reads every file of a date folder;
   * one file per deployment would be tens of thousands of files per job).
   *
   * The folder outlives the job: the next job on the same prefix rewrites only the date folders whose
   * rows changed since (the data lake grows at its newest dates), not the years of folders before.
   */
  private channelFolder(prefixUrl: string): { readonly folder: string; readonly dates: ReadonlyMap<string, number> } {
    // Objects by date (or UNDATED), for the job's log line.
    const prefix = prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`;
    const folder = join(this.options.workDir, 'channels', String(this.channelIndex(prefix)));
    const written = this.channels.get(folder)!;
    const byFolder = new Map<string, Uint8Array[]>();
    const dates = new Map<string, number>();
    for (const { url, body } of this.options.objects.list(prefix)) {
      const key = url.slice(prefix.length);
      const date = /^date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
      dates.set(date ?? UNDATED, (dates.get(date ?? UNDATED) ?? 0) + 1);
      const dir = key.split('/').slice(0, -1).join('/');
      const bodies = byFolder.get(dir);
      if (bodies) bodies.push(body);
      else byFolder.set(dir, [body]);
    }
    for (const [dir, bodies] of byFolder) {
      const content = Buffer.concat(bodies);
      if (written.get(dir)?.equals(content)) continue;
      mkdirSync(join(folder, ...dir.split('/')), { recursive: true });
      writeFileSync(join(folder, ...dir.split('/'), 'rows.csv'), content);
      written.set(dir, content);
    }
    return { folder, dates };
  }

  private channelIndex(prefix: string): number {
    const index = this.channelPrefixes.indexOf(prefix);
    if (index >= 0) return index;
    this.channelPrefixes.push(prefix);
    const folder = join(this.options.workDir, 'channels', String(this.channelPrefixes.length - 1));
    rmSync(folder, { recursive: true, force: true });
    this.channels.set(folder, new Map());
    return this.channelPrefixes.length - 1;
  }

  /** The event in the shape of events/samples/sagemaker-training-job-state-change.json. */
  private stateChangeEvent(job: LocalJob): Record<string, unknown> {
    const { spec } = job;
    const { account, region } = this.options;
    const now = this.options.clock.now();
    const arn = `arn:aws:sagemaker:${region}:${account}:training-job/${spec.trainingJobName.toLowerCase()}`;
    return {
      version: '0',
      id: `${spec.trainingJobName}-${job.status}`.toLowerCase(),
      'detail-type': SAGEMAKER_TRAINING_JOB_STATE_CHANGE,
      source: SAGEMAKER_SOURCE,
      account,
      time: eventBridgeTime(now),
      region,
      resources: [arn],
      detail: {
        TrainingJobName: spec.trainingJobName,
        TrainingJobArn: arn,
        TrainingJobStatus: job.status,
        SecondaryStatus: job.status,
        ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
        HyperParameters: spec.hyperparameters,
        AlgorithmSpecification: { TrainingImage: spec.imageUri, TrainingInputMode: 'File' },
        RoleArn: spec.roleArn,
        InputDataConfig: [
          { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: spec.trainS3Uri, S3DataDistributionType: 'FullyReplicated' } }, ContentType: 'text/csv' },
        ],
        OutputDataConfig: { S3OutputPath: spec.outputS3Uri },
        ...(job.modelArtifactsUrl ? { ModelArtifacts: { S3ModelArtifacts: job.modelArtifactsUrl } } : {}),
        ResourceConfig: { InstanceType: spec.instanceType, InstanceCount: spec.instanceCount, VolumeSizeInGB: 30 },
        StoppingCondition: { MaxRuntimeInSeconds: spec.maxRuntimeSeconds },
        CreationTime: String(job.createdAt),
        TrainingStartTime: String(job.createdAt),
        TrainingEndTime: String(now),
        LastModifiedTime: String(now),
        Tags: spec.tags,
      },
    };
  }
}

/** Objects of a channel outside any date=YYYY-MM-DD/ folder: no window leaves them out. */
const UNDATED = 'undated';

/** The objects of a channel in a job's window (all of them when it names none), from their count by date. */
function countInWindow(dates: ReadonlyMap<string, number>, window: { readonly from?: string; readonly to?: string }): number {
  let count = 0;
  for (const [date, objects] of dates) {
    const outside = date !== UNDATED && ((window.from && date < window.from) || (window.to && date > window.to));
    if (!outside) count += objects;
  }
  return count;
}
