import { join } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { ENV, type EnvName } from '../handlers/config';
import { HANDLER_NAMES, type HandlerName } from '../handlers/entries';
import { cachedBundles, type HandlerBundle } from './bundle-cache';
import { LOG_RETENTION_DAYS } from './config';
import { DeadLetterQueue } from './dead-letter-queue';
import { assumeRolePolicy, policyDocument, validateStatements, type PolicyStatement } from './iam';

export { zipOneFile, type HandlerBundle } from './bundle-cache';

export { LOG_RETENTION_DAYS };

/** The tag naming the handler a function runs; the local runtime wires itself by it. */
export const HANDLER_TAG = 'deploy-guard-handler';

export interface NodejsFunctionProps {
  /** Which handler (handlers/<handler>.ts, exporting `handler`) the function runs. */
  readonly handler: HandlerName;
  /** Physical function name, 1 to 64 letters, digits, hyphens or underscores. */
  readonly functionName: string;
  /** The KMS key (ARN) encrypting the log group, the dead-letter queue and the environment variables. */
  readonly kmsKeyArn: string;
  /** The installation's account: Lambda may assume the function's role on behalf of this account only. */
  readonly accountId: string;
  /** Every permission the handler needs besides writing its own logs and failures: nothing more is granted. */
  readonly statements?: readonly PolicyStatement[];
  /** Environment variables; only the names of handlers/config.ts ENV. */
  readonly environment?: Readonly<Partial<Record<EnvName, string>>>;
  /** Days the log group keeps logs; one of LOG_RETENTION_DAYS. @default 30 */
  readonly logRetentionDays?: number;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 30 */
  readonly timeoutSeconds?: number;
  /** Retries of an asynchronous invocation (EventBridge) after a failure, 0 to 2. @default 2 */
  readonly maximumRetryAttempts?: number;
  /**
   * Seconds an asynchronous invocation may wait in Lambda's queue (throttled, or between retries)
   * before it goes to the dead-letter queue, 60 to 21600. @default 3600
   */
  readonly maximumEventAgeInSeconds?: number;
  /**
   * Concurrent executions reserved for this function, 1 to 1000: always available to it (nothing
   * else in the account can starve it) and its ceiling. @default none (the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /** @default the handler name */
  readonly description?: string;
}

const ENV_NAMES = new Set<string>(Object.values(ENV));

/**
 * One Deploy Guard handler as a Lambda function (Node.js 22, arm64): bundled and zipped by esbuild
 * through a persistent cache (see bundleHandler), with its own role (trusting only Lambda) holding only the statements it is given plus
 * writes to its own log group and dead-letter queue, its own KMS-encrypted log group with retention,
 * and an on-failure destination: a KMS-encrypted SQS queue.
 */
export class NodejsFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: CloudwatchLogGroup;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly handlerName: HandlerName;
  readonly functionName: string;

  constructor(scope: Construct, id: string, props: NodejsFunctionProps) {
    super(scope, id);
    validateProps(props);
    const retention = props.logRetentionDays ?? 30;
    this.handlerName = props.handler;
    this.functionName = props.functionName;

    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: retention,
      kmsKeyId: props.kmsKeyArn,
    });
    this.deadLetterQueue = new DeadLetterQueue(this, 'failures', { name: `${props.functionName}-failures`, kmsKeyArn: props.kmsKeyArn });

    this.role = new IamRole(this, 'role', {
      name: props.functionName,
      assumeRolePolicy: assumeRolePolicy('lambda.amazonaws.com', { StringEquals: { 'aws:SourceAccount': props.accountId } }),
      description: `Deploy Guard ${props.handler} handler`,
    });
    const own: PolicyStatement[] = [
      { sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${this.logGroup.arn}:*`] },
      { sid: 'SendFailuresToOwnQueue', actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queue.arn] },
      { sid: 'UseInstallationKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.kmsKeyArn] },
    ];
    const policy = new IamRolePolicy(this, 'policy', {
      name: props.functionName,
      role: this.role.name,
      policy: policyDocument([...own, ...(props.statements ?? [])]),
    });

    const bundle = bundleHandler(props.handler);
    const asset = new TerraformAsset(this, 'bundle', { path: bundle.archive, type: AssetType.FILE, assetHash: bundle.assetHash });
    this.function = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: props.description ?? `Deploy Guard ${props.handler}`,
      role: this.role.arn,
      runtime: 'nodejs22.x',
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: asset.path,
      sourceCodeHash: bundle.hash,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeoutSeconds ?? 30,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      kmsKeyArn: props.kmsKeyArn,
      loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name },
      ...(props.environment && Object.keys(props.environment).length > 0 ? { environment: { variables: { ...props.environment } } } : {}),
      tags: { [HANDLER_TAG]: props.handler },
      dependsOn: [this.logGroup, policy],
    });
    new LambdaFunctionEventInvokeConfig(this, 'async', {
      functionName: this.function.functionName,
      maximumRetryAttempts: props.maximumRetryAttempts ?? 2,
      maximumEventAgeInSeconds: props.maximumEventAgeInSeconds ?? 3600,
      destinationConfig: { onFailure: { destination: this.deadLetterQueue.queue.arn } },
    });
  }
}

function validateProps(props: NodejsFunctionProps): void {
  const owner = `NodejsFunction '${props.functionName}'`;
  if (!(HANDLER_NAMES as readonly string[]).includes(props.handler)) {
    throw new Error(`NodejsFunction handler '${props.handler}' is not one of ${HANDLER_NAMES.join(', ')}`);
  }
  if (!/^\d{12}$/.test(props.accountId)) throw new Error(`${owner} accountId must be 12 digits, got '${props.accountId}'`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(props.functionName)) {
    throw new Error(`NodejsFunction functionName '${props.functionName}' must be 1 to 64 letters, digits, hyphens or underscores`);
  }
  if (props.handler === 'traffic-hook' && !props.functionName.startsWith('CodeDeployHook_')) {
    throw new Error(`${owner}: the traffic-hook function's name must start with 'CodeDeployHook_' (CodeDeploy's ECS/Lambda hook convention)`);
  }
  const retention = props.logRetentionDays ?? 30;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(retention)) {
    throw new Error(`${owner} logRetentionDays ${retention} is not a CloudWatch Logs retention; use one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const memory = props.memorySize ?? 512;
  if (!Number.isInteger(memory) || memory < 128 || memory > 10240) throw new Error(`${owner} memorySize must be an integer from 128 to 10240 MB, got ${memory}`);
  const timeout = props.timeoutSeconds ?? 30;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 900) throw new Error(`${owner} timeoutSeconds must be an integer from 1 to 900, got ${timeout}`);
  const retries = props.maximumRetryAttempts ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 2) throw new Error(`${owner} maximumRetryAttempts must be 0, 1 or 2, got ${retries}`);
  const age = props.maximumEventAgeInSeconds ?? 3600;
  if (!Number.isInteger(age) || age < 60 || age > 21600) throw new Error(`${owner} maximumEventAgeInSeconds must be an integer from 60 to 21600, got ${age}`);
  const reserved = props.reservedConcurrentExecutions;
  if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1 || reserved > 1000)) {
    throw new Error(`${owner} reservedConcurrentExecutions must be an integer from 1 to 1000, got ${reserved}`);
  }
  for (const name of Object.keys(props.environment ?? {})) {
    if (!ENV_NAMES.has(name)) throw new Error(`${owner} environment variable '${name}' is not one of handlers/config.ts ENV`);
  }
  validateStatements(owner, props.statements ?? []);
}

const PROJECT_ROOT = join(__dirname, '..');

/** Where bundles persist between syntheses: DEPLOY_GUARD_BUNDLE_CACHE, or node_modules/.cache/deploy-guard-bundles. */
export function bundleCacheDir(): string {
  return process.env.DEPLOY_GUARD_BUNDLE_CACHE || join(PROJECT_ROOT, 'node_modules', '.cache', 'deploy-guard-bundles');
}

let bundles: ReadonlyMap<string, HandlerBundle> | undefined;

/**
 * The bundle of a handler. The first call of a process gets every handler of HANDLER_NAMES at once
 * from the persistent bundle cache (stacks/bundle-cache.ts), which bundles them in one esbuild run
 * (they share most of their code) and zips each once when a source changed; every stack of the
 * process reuses them. Zipping here rather than through an ARCHIVE asset keeps synthesis fast: cdktf
 * zips each ARCHIVE asset of each stack in a child process.
 */
export function bundleHandler(name: HandlerName): HandlerBundle {
  bundles ??= cachedBundles({
    root: PROJECT_ROOT,
    entries: Object.fromEntries(HANDLER_NAMES.map((handler) => [handler, `handlers/${handler}.ts`])),
    cacheDir: bundleCacheDir(),
  }).bundles;
  const bundle = bundles.get(name);
  if (!bundle) throw new Error(`NodejsFunction handler '${name}' is not one of ${HANDLER_NAMES.join(', ')}`);
  return bundle;
}
