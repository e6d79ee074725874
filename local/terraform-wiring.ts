/**
 * The deployed wiring, read from the synthesized Terraform JSON (cdk.tf.json), so that what runs on
 * a laptop is what deploys: the EventBridge rules with their targets (which handler, retry policy,
 * dead-letter queue), the schedule rules with their period (for a virtual clock to fire), the
 * CloudWatch metric alarms, and the Lambda functions with their environment.
 *
 * CDKTF writes `resource.<type>.<logicalId>` blocks whose values are literals or Terraform
 * references (`${aws_lambda_function.predict_1A2B.arn}`). References are resolved by resource
 * address: an attribute set in the configuration resolves to its (resolved) value; `arn` of the
 * resource types Deploy Guard uses is derived as AWS forms it from the name, the provider's region
 * and its single allowed account id. Anything else fails, naming the resource address and attribute.
 */

import { readFileSync } from 'node:fs';
import { compilePattern, InvalidEventPatternError, type EventPattern } from '../events/matcher';
import { ratePeriodMs } from '../events/schedule';
import { HANDLER_NAMES, type HandlerName } from '../handlers/entries';
import { MetricMathError, parseExpression } from './metric-math';

/** The tag that names the handler a Lambda function runs (values: handlers/entries.ts). */
export const HANDLER_TAG = 'deploy-guard-handler';

/** EventBridge's retry policy when a target sets none. */
export const DEFAULT_TARGET_RETRY_POLICY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 } as const;
/** Lambda's asynchronous-invocation defaults (EventBridge invokes functions asynchronously). */
export const DEFAULT_ASYNC_INVOKE = { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600 } as const;

export interface Wiring {
  /** From the default `aws` provider block. */
  readonly provider: { readonly region?: string; readonly accountId?: string };
  readonly rules: readonly RuleWiring[];
  /**
   * The rules that fire on a schedule (also in `rules`, without a pattern), with their period: what a
   * virtual clock fires. Build the event each one sends with events/schedule.ts scheduledEvent().
   */
  readonly schedules: readonly ScheduleWiring[];
  readonly alarms: readonly AlarmWiring[];
  readonly functions: readonly FunctionWiring[];
}

/**
 * A rule with a `rate(...)` schedule expression. EventBridge fires it every `periodMs`, counted from
 * when the rule is created ("a rate expression starts when you create the scheduled event rule"), and
 * sends each target a Scheduled Event whose one resource is `arn`.
 */
export interface ScheduleWiring {
  /** Terraform address, `aws_cloudwatch_event_rule.<logicalId>`. */
  readonly address: string;
  readonly name: string;
  /** The rule's ARN, as AWS forms it: the `resources[0]` of its Scheduled Events. */
  readonly arn: string;
  /** As written, e.g. `rate(180 days)`. */
  readonly scheduleExpression: string;
  /** The period of the rate expression, in milliseconds. */
  readonly periodMs: number;
  readonly enabled: boolean;
  /** The same targets as the rule's in `rules` (handler, retry policy, dead-letter queue). */
  readonly targets: readonly TargetWiring[];
}

export interface RuleWiring {
  /** Terraform address, `aws_cloudwatch_event_rule.<logicalId>`. */
  readonly address: string;
  readonly name: string;
  /** `default`, or the name of the custom bus. */
  readonly eventBusName: string;
  /** Parsed; validated with the EventBridge matcher. Absent for a schedule-only rule. */
  readonly eventPattern?: EventPattern;
  readonly scheduleExpression?: string;
  readonly enabled: boolean;
  readonly targets: readonly TargetWiring[];
}

export interface RetryPolicy {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeInSeconds: number;
}

export interface QueueReference {
  /** Address of the aws_sqs_queue, or null for a queue outside the stack (given by ARN). */
  readonly address: string | null;
  readonly name: string;
  readonly arn: string;
}

export interface TargetWiring {
  readonly address: string;
  /** The rule's target id (`target_id`), when set. */
  readonly targetId?: string;
  readonly arn: string;
  /** Address of the target resource in the stack (function, topic, queue...), or null. */
  readonly resource: string | null;
  /** The handler the target function runs; null when the target is not a Lambda function. */
  readonly handler: HandlerName | null;
  readonly retryPolicy: RetryPolicy;
  readonly deadLetterQueue: QueueReference | null;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly inputPaths?: Readonly<Record<string, string>>; readonly inputTemplate: string };
}

export interface FunctionWiring {
  readonly address: string;
  readonly handler: HandlerName;
  readonly functionName: string;
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Variables whose value AWS computes at apply time (a KMS key ARN, a queue URL...), as their raw
   * Terraform expression: the local runtime supplies its own stand-in value for those it needs.
   */
  readonly unresolvedEnvironment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** Lambda's retries of a failed asynchronous invocation (aws_lambda_function_event_invoke_config). */
  readonly asyncInvoke: RetryPolicy & { readonly onFailureDestination: string | null };
  /** The function's own dead-letter target (dead_letter_config.target_arn), or null. */
  readonly deadLetterTarget: string | null;
}

export const COMPARISON_OPERATORS = [
  'GreaterThanThreshold',
  'GreaterThanOrEqualToThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];
export const TREAT_MISSING_DATA = ['missing', 'notBreaching', 'breaching', 'ignore'] as const;
export type TreatMissingData = (typeof TREAT_MISSING_DATA)[number];

export interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** Sum, Average, SampleCount, Minimum, Maximum, or a percentile / extended statistic. */
  readonly stat: string;
  readonly period: number;
  readonly unit?: string;
}

export interface MetricQuery {
  readonly id: string;
  readonly expression?: string;
  readonly label?: string;
  readonly returnData: boolean;
  readonly metric?: AlarmMetric;
  readonly period?: number;
}

export interface AlarmWiring {
  readonly address: string;
  readonly alarmName: string;
  readonly description?: string;
  readonly comparisonOperator: ComparisonOperator;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
  readonly actionsEnabled: boolean;
  /** A single-metric alarm's metric (`statistic` as `stat`). */
  readonly metric?: AlarmMetric;
  /** A metric-math alarm's queries. */
  readonly metricQueries?: readonly MetricQuery[];
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  readonly insufficientDataActions: readonly string[];
}

/** The stack's wiring cannot be read; names the resource address and attribute. */
export class WiringError extends Error {
  override readonly name = 'WiringError';
  constructor(
    /** `type.logicalId.attribute` (or a file / block name). */
    readonly location: string,
    readonly problem: string,
  ) {
    super(`${location}: ${problem}`);
  }
}

/** A reference to an attribute only AWS knows (computed at apply time). */
export class ComputedAttributeError extends WiringError {
  constructor(
    location: string,
    /** `type.logicalId.attribute`. */
    readonly reference: string,
    problem: string,
  ) {
    super(location, problem);
  }
}

type Json = Record<string, unknown>;
type Resources = Readonly<Record<string, Readonly<Record<string, Json>>>>;

interface Resolved {
  readonly value: unknown;
  /** The resource a reference pointed at (first hop), when the value came from one. */
  readonly from?: { readonly address: string; readonly type: string; readonly attribute: string };
}

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Reads the wiring from a synthesized stack: the parsed cdk.tf.json, or a path to it. */
export function readWiring(stack: object | string): Wiring {
  let document: unknown = stack;
  if (typeof stack === 'string') {
    let text: string;
    try {
      text = readFileSync(stack, 'utf8');
    } catch (error) {
      throw new WiringError(stack, `cannot read the synthesized stack: ${(error as Error).message}`);
    }
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new WiringError(stack, `not JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(document)) throw new WiringError('(stack)', 'expected the synthesized Terraform JSON object');
  return new WiringReader(document).read();
}

class WiringReader {
  private readonly resources: Resources;
  private readonly region?: string;
  private readonly accountId?: string;

  constructor(private readonly document: Json) {
    const resources = document.resource ?? {};
    if (!isObject(resources)) throw new WiringError('resource', 'expected an object of resource types');
    const cleaned: Record<string, Record<string, Json>> = {};
    for (const [type, blocks] of Object.entries(resources)) {
      if (type.startsWith('//')) continue;
      if (!isObject(blocks)) throw new WiringError(`resource.${type}`, 'expected an object of resources');
      cleaned[type] = {};
      for (const [name, config] of Object.entries(blocks)) {
        if (!isObject(config)) throw new WiringError(`${type}.${name}`, 'expected a resource configuration object');
        cleaned[type][name] = config;
      }
    }
    this.resources = cleaned;
    const provider = this.defaultAwsProvider();
    if (provider) {
      const region = provider.region === undefined ? undefined : this.resolve(provider.region, 'provider.aws.region').value;
      if (region !== undefined && typeof region !== 'string') throw new WiringError('provider.aws.region', `expected a string, got ${JSON.stringify(region)}`);
      this.region = region;
      const accounts = provider.allowed_account_ids === undefined ? undefined : this.resolve(provider.allowed_account_ids, 'provider.aws.allowed_account_ids').value;
      if (Array.isArray(accounts) && accounts.length === 1 && typeof accounts[0] === 'string') this.accountId = accounts[0];
    }
  }

  read(): Wiring {
    const functions = this.functions();
    const rules = this.rules(functions);
    return {
      provider: { ...(this.region === undefined ? {} : { region: this.region }), ...(this.accountId === undefined ? {} : { accountId: this.accountId }) },
      rules,
      schedules: this.schedules(rules),
      alarms: this.alarms(),
      functions,
    };
  }

  // -------------------------------------------------------------------------------------------
  // References

  private defaultAwsProvider(): Json | undefined {
    const providers = isObject(this.document.provider) ? this.document.provider.aws : undefined;
    const list = Array.isArray(providers) ? providers : providers === undefined ? [] : [providers];
    return list.find((p): p is Json => isObject(p) && p.alias === undefined);
  }

  private blocks(type: string): [string, Json][] {
    return Object.entries(this.resources[type] ?? {});
  }

  /** Resolves a configuration value: literals stay, references are followed, blocks recurse. */
  private resolve(value: unknown, location: string): Resolved {
    if (typeof value === 'string') return this.resolveString(value, location);
    if (Array.isArray(value)) return { value: value.map((item, i) => this.resolve(item, `${location}[${i}]`).value) };
    if (isObject(value)) {
      const out: Json = {};
      for (const [key, member] of Object.entries(value)) {
        if (!key.startsWith('//')) out[key] = this.resolve(member, `${location}.${key}`).value;
      }
      return { value: out };
    }
    return { value };
  }

  private resolveString(text: string, location: string): Resolved {
    if (!text.includes('${')) return { value: text };
    const whole = /^\$\{([^{}]+)\}$/.exec(text);
    if (whole) return this.resolveReference(whole[1]!.trim(), location);
    const value = text.replace(/\$\{([^{}]*)\}/g, (_, expression: string) => {
      const part = this.resolveReference(expression.trim(), location).value;
      if (typeof part !== 'string' && typeof part !== 'number' && typeof part !== 'boolean') {
        throw new WiringError(location, `\${${expression}} is interpolated into a string but is ${JSON.stringify(part)}`);
      }
      return String(part);
    });
    if (value.includes('${')) throw new WiringError(location, `cannot evaluate the Terraform expression in ${JSON.stringify(text)}`);
    return { value };
  }

  private resolveReference(expression: string, location: string): Resolved {
    const variable = /^var\.([A-Za-z0-9_-]+)$/.exec(expression);
    if (variable) {
      const declared = isObject(this.document.variable) ? this.document.variable[variable[1]!] : undefined;
      if (!isObject(declared) || declared.default === undefined) {
        throw new WiringError(location, `variable '${variable[1]}' has no default, so its value is unknown locally`);
      }
      return this.resolve(declared.default, `variable.${variable[1]}.default`);
    }
    const local = /^local\.([A-Za-z0-9_-]+)$/.exec(expression);
    if (local) {
      const value = isObject(this.document.locals) ? this.document.locals[local[1]!] : undefined;
      if (value === undefined) throw new WiringError(location, `local '${local[1]}' is not defined in the stack`);
      return this.resolve(value, `locals.${local[1]}`);
    }
    const reference = /^([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)\.([a-z_][a-z0-9_]*)$/.exec(expression);
    if (!reference || reference[1] === 'data') {
      throw new WiringError(location, `cannot evaluate the Terraform expression \${${expression}} locally (only resource attributes, var.* with defaults and local.* are resolved)`);
    }
    const [, type, name, attribute] = reference as unknown as [string, string, string, string];
    const address = `${type}.${name}`;
    const config = this.resources[type]?.[name];
    if (!config) throw new WiringError(location, `refers to ${address}.${attribute}, but the stack has no resource ${address}`);
    const from = { address, type, attribute };
    if (config[attribute] !== undefined && !isObject(config[attribute])) {
      return { value: this.resolve(config[attribute], `${address}.${attribute}`).value, from };
    }
    if (attribute === 'arn') return { value: this.deriveArn(type, name, location), from };
    if (attribute === 'id' && ID_IS_NAME[type]) return { value: this.nameOf(type, name, ID_IS_NAME[type], location), from };
    throw new ComputedAttributeError(location, `${address}.${attribute}`, `${address}.${attribute} is neither set in the configuration nor derivable locally`);
  }

  private nameOf(type: string, name: string, attribute: string, location: string): string {
    const address = `${type}.${name}`;
    const raw = this.resources[type]?.[name]?.[attribute];
    if (raw === undefined) {
      throw new ComputedAttributeError(location, `${address}.${attribute}`, `${address}.${attribute} is not set (a generated name is only known after apply)`);
    }
    const value = this.resolve(raw, `${address}.${attribute}`).value;
    if (typeof value !== 'string' || value === '') throw new WiringError(`${address}.${attribute}`, `expected a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  }

  private deriveArn(type: string, name: string, location: string): string {
    const address = `${type}.${name}`;
    const rule = ARN_RULES[type];
    if (!rule) throw new ComputedAttributeError(location, `${address}.arn`, `${address}.arn is computed by AWS and cannot be derived locally for ${type}`);
    const id = this.nameOf(type, name, rule.nameAttribute, location);
    if (type === 'aws_lambda_alias') {
      const functionArn = this.resolve(this.resources[type]![name]!.function_name, `${address}.function_name`).value;
      if (typeof functionArn !== 'string') throw new WiringError(`${address}.function_name`, `expected a string, got ${JSON.stringify(functionArn)}`);
      const base = functionArn.startsWith('arn:') ? functionArn : `arn:${this.partition(location, address)}:lambda:${this.need('region', location, address)}:${this.need('account', location, address)}:function:${functionArn}`;
      return `${base}:${id}`;
    }
    const config = this.resources[type]![name]!;
    const region = rule.global ? '' : this.need('region', location, address);
    const account = rule.noAccount ? '' : this.need('account', location, address);
    return `arn:${this.partition(location, address)}:${rule.service}:${region}:${account}:${rule.resource(id, (attribute) => {
      const raw = config[attribute];
      if (raw === undefined) return undefined;
      const value = this.resolve(raw, `${address}.${attribute}`).value;
      return typeof value === 'string' ? value : undefined;
    })}`;
  }

  private partition(location: string, address: string): string {
    const region = this.need('region', location, address);
    return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  }

  private need(what: 'region' | 'account', location: string, address: string): string {
    const value = what === 'region' ? this.region : this.accountId;
    if (value === undefined) {
      throw new WiringError(location, `${address}.arn cannot be derived: the aws provider sets no ${what === 'region' ? 'region' : 'single allowed_account_ids entry'}`);
    }
    return value;
  }

  // -------------------------------------------------------------------------------------------
  // Typed readers

  private string(config: Json, address: string, attribute: string, fallback?: string): string {
    if (config[attribute] === undefined) {
      if (fallback !== undefined) return fallback;
      throw new WiringError(`${address}.${attribute}`, 'is required but not set');
    }
    const value = this.resolve(config[attribute], `${address}.${attribute}`).value;
    if (typeof value !== 'string' || value === '') throw new WiringError(`${address}.${attribute}`, `expected a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  }

  private optionalString(config: Json, address: string, attribute: string): string | undefined {
    return config[attribute] === undefined ? undefined : this.string(config, address, attribute);
  }

  private number(config: Json, address: string, attribute: string, options: { fallback?: number; integer?: boolean; min?: number } = {}): number {
    if (config[attribute] === undefined) {
      if (options.fallback !== undefined) return options.fallback;
      throw new WiringError(`${address}.${attribute}`, 'is required but not set');
    }
    const raw = this.resolve(config[attribute], `${address}.${attribute}`).value;
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || (options.integer && !Number.isInteger(value)) || (options.min !== undefined && value < options.min)) {
      const wanted = `${options.integer ? 'an integer' : 'a number'}${options.min === undefined ? '' : ` >= ${options.min}`}`;
      throw new WiringError(`${address}.${attribute}`, `expected ${wanted}, got ${JSON.stringify(raw)}`);
    }
    return value;
  }

  private boolean(config: Json, address: string, attribute: string, fallback: boolean): boolean {
    if (config[attribute] === undefined) return fallback;
    const value = this.resolve(config[attribute], `${address}.${attribute}`).value;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new WiringError(`${address}.${attribute}`, `expected a boolean, got ${JSON.stringify(value)}`);
  }

  private stringList(config: Json, address: string, attribute: string): string[] {
    if (config[attribute] === undefined) return [];
    const value = this.resolve(config[attribute], `${address}.${attribute}`).value;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw new WiringError(`${address}.${attribute}`, `expected a list of strings, got ${JSON.stringify(value)}`);
    }
    return value as string[];
  }

  private stringMap(value: unknown, location: string): Record<string, string> {
    if (value === undefined) return {};
    const resolved = this.resolve(value, location).value;
    if (!isObject(resolved)) throw new WiringError(location, `expected a map of strings, got ${JSON.stringify(resolved)}`);
    const out: Record<string, string> = {};
    for (const [key, member] of Object.entries(resolved)) {
      if (typeof member !== 'string' && typeof member !== 'number' && typeof member !== 'boolean') {
        throw new WiringError(`${location}.${key}`, `expected a string, got ${JSON.stringify(member)}`);
      }
      out[key] = String(member);
    }
    return out;
  }

  /** A nested block: CDKTF writes a single block as an object, Terraform JSON allows a one-item list. */
  private block(config: Json, address: string, attribute: string): Json | undefined {
    const raw = config[attribute];
    if (raw === undefined) return undefined;
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) return undefined;
    if (list.length > 1 || !isObject(list[0])) throw new WiringError(`${address}.${attribute}`, 'expected one block');
    return list[0];
  }

  // -------------------------------------------------------------------------------------------
  // Functions

  private functions(): FunctionWiring[] {
    const invokeConfigs = new Map<string, { address: string; config: Json }>();
    for (const [name, config] of this.blocks('aws_lambda_function_event_invoke_config')) {
      const address = `aws_lambda_function_event_invoke_config.${name}`;
      const target = this.resolve(config.function_name, `${address}.function_name`);
      const functionAddress = target.from?.type === 'aws_lambda_function' ? target.from.address : this.functionAddressByName(target.value);
      if (!functionAddress) throw new WiringError(`${address}.function_name`, `names no aws_lambda_function of the stack (${JSON.stringify(target.value)})`);
      invokeConfigs.set(functionAddress, { address, config });
    }
    const functions: FunctionWiring[] = [];
    const seen = new Map<string, string>();
    for (const [name, config] of this.blocks('aws_lambda_function')) {
      const address = `aws_lambda_function.${name}`;
      const tags = this.stringMap(config.tags, `${address}.tags`);
      const tag = tags[HANDLER_TAG];
      if (tag === undefined) continue;
      const handler = this.handlerName(tag, `${address}.tags.${HANDLER_TAG}`);
      const duplicate = seen.get(handler);
      if (duplicate) throw new WiringError(`${address}.tags.${HANDLER_TAG}`, `handler '${handler}' is also run by ${duplicate}`);
      seen.set(handler, address);
      const environment = this.environment(config, address);
      const invokeEntry = invokeConfigs.get(address);
      const invoke = invokeEntry?.config;
      const invokeAddress = invokeEntry?.address ?? '';
      const onFailure = invoke ? this.block(invoke, invokeAddress, 'destination_config') : undefined;
      const onFailureBlock = onFailure ? this.block(onFailure, `${invokeAddress}.destination_config`, 'on_failure') : undefined;
      const deadLetter = this.block(config, address, 'dead_letter_config');
      functions.push({
        address,
        handler,
        functionName: this.string(config, address, 'function_name'),
        ...environment,
        timeoutSeconds: this.number(config, address, 'timeout', { fallback: 3, integer: true, min: 1 }),
        asyncInvoke: {
          maximumRetryAttempts: invoke ? this.number(invoke, invokeAddress, 'maximum_retry_attempts', { fallback: DEFAULT_ASYNC_INVOKE.maximumRetryAttempts, integer: true, min: 0 }) : DEFAULT_ASYNC_INVOKE.maximumRetryAttempts,
          maximumEventAgeInSeconds: invoke ? this.number(invoke, invokeAddress, 'maximum_event_age_in_seconds', { fallback: DEFAULT_ASYNC_INVOKE.maximumEventAgeInSeconds, integer: true, min: 60 }) : DEFAULT_ASYNC_INVOKE.maximumEventAgeInSeconds,
          onFailureDestination: onFailureBlock ? this.string(onFailureBlock, `${invokeAddress}.destination_config.on_failure`, 'destination') : null,
        },
        deadLetterTarget: deadLetter ? this.string(deadLetter, `${address}.dead_letter_config`, 'target_arn') : null,
      });
    }
    return functions;
  }

  /** Environment variables: resolved, or (when only AWS knows the value) kept as their expression. */
  private environment(config: Json, address: string): { environment: Record<string, string>; unresolvedEnvironment: Record<string, string> } {
    const block = this.block(config, address, 'environment');
    const variables = block?.variables ?? {};
    if (!isObject(variables)) throw new WiringError(`${address}.environment.variables`, `expected a map, got ${JSON.stringify(variables)}`);
    const environment: Record<string, string> = {};
    const unresolvedEnvironment: Record<string, string> = {};
    for (const [key, raw] of Object.entries(variables)) {
      const location = `${address}.environment.variables.${key}`;
      try {
        const value = this.resolve(raw, location).value;
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
          throw new WiringError(location, `expected a string, got ${JSON.stringify(value)}`);
        }
        environment[key] = String(value);
      } catch (error) {
        if (!(error instanceof ComputedAttributeError)) throw error;
        unresolvedEnvironment[key] = String(raw);
      }
    }
    return { environment, unresolvedEnvironment };
  }

  /**
   * Metric dimensions. A value only AWS knows (a load balancer's arn_suffix) is kept as its Terraform
   * expression: no local metric carries it, so such an alarm simply sees no data locally.
   */
  private dimensions(value: unknown, location: string): Record<string, string> {
    if (value === undefined) return {};
    if (!isObject(value)) return this.stringMap(value, location);
    const out: Record<string, string> = {};
    for (const [key, raw] of Object.entries(value)) {
      try {
        Object.assign(out, this.stringMap({ [key]: raw }, location));
      } catch (error) {
        if (!(error instanceof ComputedAttributeError)) throw error;
        out[key] = String(raw);
      }
    }
    return out;
  }

  private handlerName(value: string, location: string): HandlerName {
    if (!(HANDLER_NAMES as readonly string[]).includes(value)) {
      throw new WiringError(location, `'${value}' is not a handler (handlers/entries.ts: ${HANDLER_NAMES.join(', ')})`);
    }
    return value as HandlerName;
  }

  private functionAddressByName(value: unknown): string | undefined {
    if (typeof value !== 'string') return undefined;
    const name = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.+)?$/.exec(value)?.[1] ?? value;
    for (const [logicalId, config] of this.blocks('aws_lambda_function')) {
      if (config.function_name !== undefined && this.resolve(config.function_name, `aws_lambda_function.${logicalId}.function_name`).value === name) {
        return `aws_lambda_function.${logicalId}`;
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Rules and targets

  private rules(functions: readonly FunctionWiring[]): RuleWiring[] {
    const rules = this.blocks('aws_cloudwatch_event_rule').map(([name, config]) => {
      const address = `aws_cloudwatch_event_rule.${name}`;
      const rule = {
        address,
        name: this.string(config, address, 'name'),
        eventBusName: this.busName(config, address),
        ...this.pattern(config, address),
        enabled: this.ruleEnabled(config, address),
        targets: [] as TargetWiring[],
      };
      return rule;
    });
    const seen = new Map<string, string>();
    for (const rule of rules) {
      const key = `${rule.eventBusName}/${rule.name}`;
      const other = seen.get(key);
      if (other) throw new WiringError(`${rule.address}.name`, `rule '${rule.name}' on bus '${rule.eventBusName}' is also defined by ${other}`);
      seen.set(key, rule.address);
    }
    for (const [name, config] of this.blocks('aws_cloudwatch_event_target')) {
      const address = `aws_cloudwatch_event_target.${name}`;
      const ruleRef = this.resolve(config.rule, `${address}.rule`);
      if (typeof ruleRef.value !== 'string') throw new WiringError(`${address}.rule`, `expected a rule name, got ${JSON.stringify(ruleRef.value)}`);
      const bus = this.busName(config, address);
      const rule =
        ruleRef.from?.type === 'aws_cloudwatch_event_rule'
          ? rules.find((candidate) => candidate.address === ruleRef.from!.address)
          : rules.find((candidate) => candidate.name === ruleRef.value && candidate.eventBusName === bus);
      if (!rule) throw new WiringError(`${address}.rule`, `no aws_cloudwatch_event_rule named '${ruleRef.value}' on bus '${bus}' in the stack`);
      if (rule.eventBusName !== bus) {
        throw new WiringError(`${address}.event_bus_name`, `is '${bus}', but its rule ${rule.address} is on bus '${rule.eventBusName}'`);
      }
      rule.targets.push(this.target(config, address, functions));
    }
    return rules;
  }

  /** The rules with a schedule expression: on the default bus (the only one EventBridge schedules), with a rate. */
  private schedules(rules: readonly RuleWiring[]): ScheduleWiring[] {
    return rules.flatMap((rule) => {
      const { scheduleExpression } = rule;
      if (scheduleExpression === undefined) return [];
      const at = `${rule.address}.schedule_expression`;
      if (rule.eventBusName !== 'default') {
        throw new WiringError(at, `the rule is on bus '${rule.eventBusName}', but EventBridge runs schedule rules only on the default bus`);
      }
      let periodMs: number;
      try {
        periodMs = ratePeriodMs(scheduleExpression);
      } catch (error) {
        throw new WiringError(at, `${(error as Error).message}; the local runtime fires rate expressions only`);
      }
      const logicalId = rule.address.slice('aws_cloudwatch_event_rule.'.length);
      const arn = this.deriveArn('aws_cloudwatch_event_rule', logicalId, `${rule.address}.arn`);
      return [{ address: rule.address, name: rule.name, arn, scheduleExpression, periodMs, enabled: rule.enabled, targets: rule.targets }];
    });
  }

  private busName(config: Json, address: string): string {
    const value = this.string(config, address, 'event_bus_name', 'default');
    // An ARN names the bus after `event-bus/`.
    return /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(value)?.[1] ?? value;
  }

  private pattern(config: Json, address: string): { eventPattern?: EventPattern; scheduleExpression?: string } {
    const schedule = this.optionalString(config, address, 'schedule_expression');
    if (config.event_pattern === undefined) {
      if (schedule === undefined) throw new WiringError(`${address}.event_pattern`, 'a rule needs an event_pattern or a schedule_expression');
      return { scheduleExpression: schedule };
    }
    const text = this.string(config, address, 'event_pattern');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new WiringError(`${address}.event_pattern`, `not JSON: ${(error as Error).message}`);
    }
    try {
      compilePattern(text);
    } catch (error) {
      if (error instanceof InvalidEventPatternError) throw new WiringError(`${address}.event_pattern`, error.message);
      throw error;
    }
    return { eventPattern: parsed as EventPattern, ...(schedule === undefined ? {} : { scheduleExpression: schedule }) };
  }

  private ruleEnabled(config: Json, address: string): boolean {
    if (config.state !== undefined) {
      const state = this.string(config, address, 'state');
      if (!['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'].includes(state)) {
        throw new WiringError(`${address}.state`, `'${state}' is not ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`);
      }
      return state !== 'DISABLED';
    }
    return this.boolean(config, address, 'is_enabled', true);
  }

  private target(config: Json, address: string, functions: readonly FunctionWiring[]): TargetWiring {
    const arnRef = this.resolve(config.arn, `${address}.arn`);
    if (typeof arnRef.value !== 'string' || arnRef.value === '') throw new WiringError(`${address}.arn`, `expected an ARN, got ${JSON.stringify(arnRef.value)}`);
    let resource: string | null = arnRef.from?.address ?? null;
    let functionAddress: string | undefined;
    if (arnRef.from?.type === 'aws_lambda_function') functionAddress = arnRef.from.address;
    else if (arnRef.from?.type === 'aws_lambda_alias') {
      const aliasName = arnRef.from.address.split('.')[1]!;
      const target = this.resolve(this.resources.aws_lambda_alias![aliasName]!.function_name, `${arnRef.from.address}.function_name`);
      functionAddress = target.from?.type === 'aws_lambda_function' ? target.from.address : this.functionAddressByName(target.value);
    } else if (!arnRef.from && /^arn:[^:]+:lambda:/.test(arnRef.value)) {
      functionAddress = this.functionAddressByName(arnRef.value);
      resource = functionAddress ?? null;
    }
    let handler: HandlerName | null = null;
    if (functionAddress) {
      const fn = functions.find((candidate) => candidate.address === functionAddress);
      if (!fn) {
        throw new WiringError(`${address}.arn`, `targets ${functionAddress}, which has no '${HANDLER_TAG}' tag, so no handler can run it locally`);
      }
      handler = fn.handler;
    }
    const retry = this.block(config, address, 'retry_policy');
    const retryAt = `${address}.retry_policy`;
    const deadLetter = this.block(config, address, 'dead_letter_config');
    const transformer = this.block(config, address, 'input_transformer');
    const targetId = this.optionalString(config, address, 'target_id');
    const input = this.optionalString(config, address, 'input');
    const inputPath = this.optionalString(config, address, 'input_path');
    return {
      address,
      ...(targetId === undefined ? {} : { targetId }),
      arn: arnRef.value,
      resource,
      handler,
      retryPolicy: {
        maximumRetryAttempts: retry ? this.number(retry, retryAt, 'maximum_retry_attempts', { fallback: DEFAULT_TARGET_RETRY_POLICY.maximumRetryAttempts, integer: true, min: 0 }) : DEFAULT_TARGET_RETRY_POLICY.maximumRetryAttempts,
        maximumEventAgeInSeconds: retry ? this.number(retry, retryAt, 'maximum_event_age_in_seconds', { fallback: DEFAULT_TARGET_RETRY_POLICY.maximumEventAgeInSeconds, integer: true, min: 60 }) : DEFAULT_TARGET_RETRY_POLICY.maximumEventAgeInSeconds,
      },
      deadLetterQueue: deadLetter ? this.queue(deadLetter, `${address}.dead_letter_config`) : null,
      ...(input === undefined ? {} : { input }),
      ...(inputPath === undefined ? {} : { inputPath }),
      ...(transformer
        ? {
            inputTransformer: {
              ...(transformer.input_paths === undefined ? {} : { inputPaths: this.stringMap(transformer.input_paths, `${address}.input_transformer.input_paths`) }),
              inputTemplate: this.string(transformer, `${address}.input_transformer`, 'input_template'),
            },
          }
        : {}),
    };
  }

  private queue(config: Json, location: string): QueueReference {
    const ref = this.resolve(config.arn, `${location}.arn`);
    if (typeof ref.value !== 'string') throw new WiringError(`${location}.arn`, `expected an SQS queue ARN, got ${JSON.stringify(ref.value)}`);
    if (ref.from) {
      if (ref.from.type !== 'aws_sqs_queue') throw new WiringError(`${location}.arn`, `must be an SQS queue, but refers to ${ref.from.address}`);
      const queueName = ref.from.address.split('.')[1]!;
      return { address: ref.from.address, name: this.nameOf('aws_sqs_queue', queueName, 'name', `${location}.arn`), arn: ref.value };
    }
    const name = /^arn:[^:]+:sqs:[^:]*:[^:]*:(.+)$/.exec(ref.value)?.[1];
    if (!name) throw new WiringError(`${location}.arn`, `'${ref.value}' is not an SQS queue ARN`);
    const inStack = this.blocks('aws_sqs_queue').find(([, queue]) => queue.name !== undefined && this.resolve(queue.name, 'aws_sqs_queue.name').value === name);
    return { address: inStack ? `aws_sqs_queue.${inStack[0]}` : null, name, arn: ref.value };
  }

  // -------------------------------------------------------------------------------------------
  // Alarms

  private alarms(): AlarmWiring[] {
    return this.blocks('aws_cloudwatch_metric_alarm').map(([name, config]) => this.alarm(config, `aws_cloudwatch_metric_alarm.${name}`));
  }

  private alarm(config: Json, address: string): AlarmWiring {
    const comparison = this.string(config, address, 'comparison_operator');
    if (!(COMPARISON_OPERATORS as readonly string[]).includes(comparison)) {
      throw new WiringError(`${address}.comparison_operator`, `'${comparison}' is not supported locally (static thresholds only: ${COMPARISON_OPERATORS.join(', ')})`);
    }
    if (config.threshold_metric_id !== undefined) throw new WiringError(`${address}.threshold_metric_id`, 'anomaly-detection alarms are not supported locally');
    const evaluationPeriods = this.number(config, address, 'evaluation_periods', { integer: true, min: 1 });
    const datapointsToAlarm = this.number(config, address, 'datapoints_to_alarm', { fallback: evaluationPeriods, integer: true, min: 1 });
    if (datapointsToAlarm > evaluationPeriods) {
      throw new WiringError(`${address}.datapoints_to_alarm`, `${datapointsToAlarm} exceeds evaluation_periods (${evaluationPeriods})`);
    }
    const treat = this.string(config, address, 'treat_missing_data', 'missing');
    if (!(TREAT_MISSING_DATA as readonly string[]).includes(treat)) {
      throw new WiringError(`${address}.treat_missing_data`, `'${treat}' is not one of ${TREAT_MISSING_DATA.join(', ')}`);
    }
    const description = this.optionalString(config, address, 'alarm_description');
    const single = config.metric_name !== undefined;
    const queries = config.metric_query;
    if (single === (queries !== undefined)) {
      throw new WiringError(`${address}.metric_query`, 'an alarm needs either metric_name (a single metric) or metric_query blocks, not both or neither');
    }
    if (config.extended_statistic !== undefined) throw new WiringError(`${address}.extended_statistic`, 'percentile statistics are not supported locally');
    const base = {
      address,
      alarmName: this.string(config, address, 'alarm_name'),
      ...(description === undefined ? {} : { description }),
      comparisonOperator: comparison as ComparisonOperator,
      threshold: this.number(config, address, 'threshold'),
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: treat as TreatMissingData,
      actionsEnabled: this.boolean(config, address, 'actions_enabled', true),
    };
    const actions = {
      alarmActions: this.stringList(config, address, 'alarm_actions'),
      okActions: this.stringList(config, address, 'ok_actions'),
      insufficientDataActions: this.stringList(config, address, 'insufficient_data_actions'),
    };
    if (single) {
      const metric: AlarmMetric = {
        namespace: this.string(config, address, 'namespace'),
        metricName: this.string(config, address, 'metric_name'),
        dimensions: this.dimensions(config.dimensions, `${address}.dimensions`),
        stat: this.string(config, address, 'statistic'),
        period: this.period(config, address),
        ...this.unit(config, address),
      };
      return { ...base, metric, ...actions };
    }
    return { ...base, metricQueries: this.metricQueries(queries, address), ...actions };
  }

  private period(config: Json, address: string): number {
    const period = this.number(config, address, 'period', { integer: true, min: 1 });
    if (!(period === 10 || period === 30 || period % 60 === 0)) {
      throw new WiringError(`${address}.period`, `${period} is not 10, 30 or a multiple of 60 seconds`);
    }
    return period;
  }

  private unit(config: Json, address: string): { unit?: string } {
    const unit = this.optionalString(config, address, 'unit');
    return unit === undefined ? {} : { unit };
  }

  private metricQueries(raw: unknown, address: string): MetricQuery[] {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) throw new WiringError(`${address}.metric_query`, 'is empty');
    const queries = list.map((entry, i): MetricQuery => {
      const at = `${address}.metric_query[${i}]`;
      if (!isObject(entry)) throw new WiringError(at, 'expected a metric_query block');
      const id = this.string(entry, at, 'id');
      if (!/^[a-z][A-Za-z0-9_]*$/.test(id)) throw new WiringError(`${at}.id`, `'${id}' must start with a lowercase letter and hold only letters, digits and underscores`);
      const expression = this.optionalString(entry, at, 'expression');
      const metricBlock = this.block(entry, at, 'metric');
      if ((expression === undefined) === (metricBlock === undefined)) {
        throw new WiringError(at, `metric_query '${id}' needs exactly one of expression and metric`);
      }
      const label = this.optionalString(entry, at, 'label');
      const period = entry.period === undefined ? undefined : this.period(entry, at);
      let metric: AlarmMetric | undefined;
      if (metricBlock) {
        const metricAt = `${at}.metric`;
        metric = {
          namespace: this.string(metricBlock, metricAt, 'namespace'),
          metricName: this.string(metricBlock, metricAt, 'metric_name'),
          dimensions: this.dimensions(metricBlock.dimensions, `${metricAt}.dimensions`),
          stat: this.string(metricBlock, metricAt, 'stat'),
          period: this.period(metricBlock, metricAt),
          ...this.unit(metricBlock, metricAt),
        };
      }
      return {
        id,
        ...(expression === undefined ? {} : { expression }),
        ...(label === undefined ? {} : { label }),
        returnData: this.boolean(entry, at, 'return_data', false),
        ...(metric ? { metric } : {}),
        ...(period === undefined ? {} : { period }),
      };
    });
    const ids = queries.map((query) => query.id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate) throw new WiringError(`${address}.metric_query`, `id '${duplicate}' is used twice`);
    const returned = queries.filter((query) => query.returnData);
    if (returned.length !== 1) {
      throw new WiringError(`${address}.metric_query`, `exactly one metric_query must have return_data = true, found ${returned.length}`);
    }
    queries.forEach((query, i) => {
      if (query.expression === undefined) return;
      try {
        const parsed = parseExpression(query.expression);
        const unknown = parsed.ids.find((id) => !ids.includes(id) || id === query.id);
        if (unknown) throw new WiringError(`${address}.metric_query[${i}].expression`, `'${query.expression}' reads '${unknown}', which is ${unknown === query.id ? 'itself' : 'not an id of this alarm'}`);
      } catch (error) {
        if (error instanceof MetricMathError) throw new WiringError(`${address}.metric_query[${i}].expression`, error.message);
        throw error;
      }
    });
    return queries;
  }
}

/** Resource types whose `id` is their name. */
const ID_IS_NAME: Readonly<Record<string, string>> = {
  aws_cloudwatch_event_bus: 'name',
  aws_lambda_function: 'function_name',
  aws_cloudwatch_metric_alarm: 'alarm_name',
  aws_dynamodb_table: 'name',
  aws_s3_bucket: 'bucket',
  aws_sagemaker_endpoint: 'name',
  aws_iam_role: 'name',
};

interface ArnRule {
  readonly service: string;
  readonly nameAttribute: string;
  readonly global?: boolean;
  readonly noAccount?: boolean;
  readonly resource: (name: string, attribute: (name: string) => string | undefined) => string;
}

/** How AWS forms the ARN of the resource types Deploy Guard's stacks create. */
const ARN_RULES: Readonly<Record<string, ArnRule>> = {
  aws_lambda_function: { service: 'lambda', nameAttribute: 'function_name', resource: (name) => `function:${name}` },
  aws_lambda_alias: { service: 'lambda', nameAttribute: 'name', resource: (name) => name },
  aws_sqs_queue: { service: 'sqs', nameAttribute: 'name', resource: (name) => name },
  aws_sns_topic: { service: 'sns', nameAttribute: 'name', resource: (name) => name },
  aws_cloudwatch_event_bus: { service: 'events', nameAttribute: 'name', resource: (name) => `event-bus/${name}` },
  aws_cloudwatch_event_rule: {
    service: 'events',
    nameAttribute: 'name',
    resource: (name, attribute) => {
      const bus = attribute('event_bus_name');
      return bus === undefined || bus === 'default' ? `rule/${name}` : `rule/${bus}/${name}`;
    },
  },
  aws_cloudwatch_metric_alarm: { service: 'cloudwatch', nameAttribute: 'alarm_name', resource: (name) => `alarm:${name}` },
  aws_dynamodb_table: { service: 'dynamodb', nameAttribute: 'name', resource: (name) => `table/${name}` },
  aws_iam_role: { service: 'iam', nameAttribute: 'name', global: true, resource: (name, attribute) => `role${attribute('path') ?? '/'}${name}` },
  aws_s3_bucket: { service: 's3', nameAttribute: 'bucket', global: true, noAccount: true, resource: (name) => name },
  aws_sagemaker_endpoint: { service: 'sagemaker', nameAttribute: 'name', resource: (name) => `endpoint/${name.toLowerCase()}` },
  aws_sagemaker_model_package_group: {
    service: 'sagemaker',
    nameAttribute: 'model_package_group_name',
    resource: (name) => `model-package-group/${name.toLowerCase()}`,
  },
};
