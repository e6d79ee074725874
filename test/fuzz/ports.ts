import type { ComputePlatform, PutEventsEntry } from '../../events/emitted';
import type { EventPublisher } from '../../handlers/adapters/event-publisher';
import type {
  CodeDeployOutcome,
  CodeDeployPort,
  DeploymentLookup,
  DeploymentStatus,
  EndpointAnswer,
  EndpointState,
  HostingPort,
  MetricsPort,
  ModelEndpointPort,
  ModelPackageSummary,
  ObjectCopier,
  ObjectReader,
  TrainingDataLake,
  TrainingJobSpec,
  TrainingJobSummary,
  TrainingPort,
} from '../../handlers/ports';

/**
 * Instrumented ports for the fuzzers: every method call on a port is logged (port and method name)
 * before it runs, so a test can tell whether a handler touched anything before it rejected an event.
 * The fakes answer like a healthy AWS account, so that events that stay valid go all the way through.
 */

/** The log of port calls of one case: `deployments.get`, `publisher.publish`, ... */
export type CallLog = string[];

/** Wraps an object so that every method call is logged as `<name>.<method>` (properties pass through). */
export function instrument<T extends object>(name: string, target: T, log: CallLog): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        log.push(`${name}.${String(key)}`);
        return (value as (...parameters: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

/** A function port (the traffic hook's `sleep`), logged the same way. */
export function instrumentFunction<A extends unknown[], R>(name: string, fn: (...args: A) => R, log: CallLog): (...args: A) => R {
  return (...args) => {
    log.push(name);
    return fn(...args);
  };
}

export class FakeCodeDeploy implements CodeDeployPort {
  constructor(
    private readonly answer: { readonly status: DeploymentStatus; readonly platform: ComputePlatform; readonly found: boolean },
  ) {}

  async getDeployment(deploymentId: string): Promise<DeploymentLookup> {
    if (!this.answer.found) return { found: false, message: `The deployment ${deploymentId} does not exist.` };
    return {
      found: true,
      deployment: {
        deploymentId,
        status: this.answer.status,
        computePlatform: this.answer.platform,
        creator: 'user',
        application: 'myApplication',
        deploymentGroup: 'myDeploymentGroup',
        revision: { commitId: '6f1c2a9e0b7d4c3f8a5e2d1c0b9a8f7e6d5c4b3a' },
        createTime: Date.parse('2016-06-30T22:06:31Z'),
      },
    };
  }

  async stopDeployment(): Promise<CodeDeployOutcome> {
    return { ok: true };
  }

  async continueDeployment(): Promise<CodeDeployOutcome> {
    return { ok: true };
  }

  async putLifecycleEventHookExecutionStatus(): Promise<CodeDeployOutcome> {
    return { ok: true };
  }
}

export class RecordingPublisher implements EventPublisher {
  readonly published: PutEventsEntry[] = [];
  async publish(entries: readonly PutEventsEntry[]): Promise<void> {
    this.published.push(...entries);
  }
}

export class FakeEndpoint implements ModelEndpointPort {
  constructor(private readonly answer: EndpointAnswer) {}
  async invoke(): Promise<EndpointAnswer> {
    return this.answer;
  }
}

export class RecordingLake implements TrainingDataLake {
  readonly rows: Parameters<TrainingDataLake['putRow']>[0][] = [];
  async putRow(row: Parameters<TrainingDataLake['putRow']>[0]): Promise<void> {
    this.rows.push(row);
  }
}

export class RecordingMetrics implements MetricsPort {
  readonly puts: Parameters<MetricsPort['put']>[0][] = [];
  put(metrics: Parameters<MetricsPort['put']>[0]): void {
    this.puts.push(metrics);
  }
}

/** SageMaker training as drift and promote see it: jobs listed, started, described. */
export class FakeTraining implements TrainingPort {
  readonly started: TrainingJobSpec[] = [];
  constructor(
    private readonly running: readonly string[],
    private readonly artifactsOf: (jobName: string) => string,
    private readonly describe?: (jobName: string) => TrainingJobSummary | undefined,
  ) {}

  async runningJobs(): Promise<readonly string[]> {
    return this.running;
  }

  async startTrainingJob(spec: TrainingJobSpec): Promise<'started' | 'already-exists'> {
    if (this.started.some((job) => job.trainingJobName === spec.trainingJobName)) return 'already-exists';
    this.started.push(spec);
    return 'started';
  }

  async describeTrainingJob(trainingJobName: string): Promise<TrainingJobSummary | undefined> {
    if (this.describe) return this.describe(trainingJobName);
    return { trainingJobName, status: 'Completed', modelArtifactsUrl: this.artifactsOf(trainingJobName) };
  }
}

export class FakeHosting implements HostingPort {
  readonly calls: string[] = [];
  async registerModelPackage(input: Parameters<HostingPort['registerModelPackage']>[0]): Promise<{ modelPackageArn: string }> {
    this.calls.push('registerModelPackage');
    return { modelPackageArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package/${input.modelPackageGroupName}/1` };
  }
  async findModelPackage(): Promise<string | undefined> {
    this.calls.push('findModelPackage');
    return undefined;
  }
  async describeModelPackage(modelPackageArn: string): Promise<ModelPackageSummary | undefined> {
    this.calls.push('describeModelPackage');
    return { modelPackageArn, modelPackageGroupName: 'deploy-guard-dev-risk', approval: 'Approved', trainingJobName: 'deploy-guard-dev-20261120-0900-5f2c1a' };
  }
  async describeEndpoint(): Promise<EndpointState> {
    this.calls.push('describeEndpoint');
    return { status: 'InService', endpointConfigName: 'initial' };
  }
  async createModel(): Promise<void> {
    this.calls.push('createModel');
  }
  async createEndpointConfig(): Promise<void> {
    this.calls.push('createEndpointConfig');
  }
  async updateEndpoint(): Promise<void> {
    this.calls.push('updateEndpoint');
  }
}

/** S3 objects by URL; anything else does not exist. */
export class FakeObjects implements ObjectReader, ObjectCopier {
  constructor(private readonly objects: (url: string) => Uint8Array | undefined) {}
  async read(url: string): Promise<Uint8Array | undefined> {
    return this.objects(url);
  }
  async copy(fromUrl: string): Promise<void> {
    if (this.objects(fromUrl) === undefined) throw new Error(`NoSuchKey: ${fromUrl}`);
  }
}
