import { Testing } from 'cdktf';
import type { Construct } from 'constructs';

/** Helpers of the construct tests: the synthesized Terraform JSON, its resources and IAM policies. */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const KMS_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';

export interface Synthesized {
  readonly text: string;
  readonly json: { resource?: Record<string, Record<string, Record<string, unknown>>> };
}

export function synth(build: (scope: Construct) => void): Synthesized {
  const text = Testing.synthScope(build);
  return { text, json: JSON.parse(text) };
}

/** Every resource of a type, by logical id. */
export function resources(synthesized: Synthesized, type: string): Record<string, Record<string, unknown>> {
  return synthesized.json.resource?.[type] ?? {};
}

/** The one resource of a type (fails the test when there is not exactly one). */
export function only(synthesized: Synthesized, type: string): Record<string, unknown> {
  const found = Object.values(resources(synthesized, type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

export interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of an inline policy (aws_iam_role_policy) by its `name`. */
export function policyStatements(synthesized: Synthesized, policyName: string): Statement[] {
  const policy = Object.values(resources(synthesized, 'aws_iam_role_policy')).find((candidate) => candidate.name === policyName);
  if (!policy) throw new Error(`no aws_iam_role_policy named ${policyName}`);
  return (JSON.parse(policy.policy as string) as { Statement: Statement[] }).Statement;
}

/** The actions of statements whose Resource is "*": each must be one AWS requires. */
export function wildcardActions(statements: readonly Statement[]): string[] {
  return statements.filter((statement) => ([] as string[]).concat(statement.Resource).includes('*')).flatMap((statement) => statement.Action);
}
