import { Token } from 'cdktf';

/**
 * Small shared helpers of the construct classes: prop validation that leaves Terraform references
 * (tokens) alone, ARNs built from the region's partition, and IAM policy documents. Nothing here
 * calls AWS.
 */

/** True when the value holds a Terraform reference that only resolves at plan time. */
export function isToken(value: unknown): boolean {
  return (typeof value === 'string' || typeof value === 'number') && Token.isUnresolved(value);
}

/** `namePrefix` of every construct: physical names start with it. */
export function validateNamePrefix(construct: string, namePrefix: string, maxLength = 40): void {
  if (isToken(namePrefix)) throw new Error(`${construct} namePrefix must be a literal string, not a Terraform reference`);
  const pattern = new RegExp(`^[a-z0-9](?:[a-z0-9-]{0,${maxLength - 2}}[a-z0-9])?$`);
  if (!pattern.test(namePrefix)) {
    throw new Error(`${construct} namePrefix '${namePrefix}' must be 1 to ${maxLength} lowercase letters, digits or hyphens, starting and ending with a letter or digit`);
  }
}

export function validateAccountId(construct: string, accountId: string): void {
  if (!isToken(accountId) && !/^\d{12}$/.test(accountId)) throw new Error(`${construct} accountId must be 12 digits, got '${accountId}'`);
}

export function validateRegion(construct: string, region: string): void {
  if (isToken(region) || !/^[a-z]{2}(?:-[a-z]+)+-\d$/.test(region)) {
    throw new Error(`${construct} region must be a literal AWS region such as 'us-east-1', got '${region}'`);
  }
}

export function validateArn(construct: string, prop: string, value: string, service: string): void {
  if (isToken(value)) return;
  if (!new RegExp(`^arn:aws[a-z-]*:${service}:`).test(value)) throw new Error(`${construct} ${prop} must be an ARN of service ${service} (arn:<partition>:${service}:...), got '${value}'`);
}

export function validateInteger(construct: string, prop: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${construct} ${prop} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

export function validateNumber(construct: string, prop: string, value: number, minExclusive: number, maxInclusive: number): void {
  if (!Number.isFinite(value) || value <= minExclusive || value > maxInclusive) {
    throw new Error(`${construct} ${prop} must be a number greater than ${minExclusive} and at most ${maxInclusive}, got ${value}`);
  }
}

/** An S3 key prefix: no leading slash, ends with `/` (so that `prefix*` cannot reach a sibling folder). */
export function validateKeyPrefix(construct: string, prop: string, prefix: string): void {
  if (isToken(prefix) || !/^(?:[A-Za-z0-9!_.*'()=-]+\/)+$/.test(prefix)) {
    throw new Error(`${construct} ${prop} '${prefix}' must be a literal S3 key prefix ending with '/', without a leading '/'`);
  }
}

/** `arn:<partition>:s3:::<bucket>` (the bucket, for s3:ListBucket). */
export function bucketArn(partition: string, bucketName: string): string {
  return `arn:${partition}:s3:::${bucketName}`;
}

/** `arn:<partition>:s3:::<bucket>/<keyPrefix>*` (the objects under a prefix). */
export function objectsArn(partition: string, bucketName: string, keyPrefix = ''): string {
  return `arn:${partition}:s3:::${bucketName}/${keyPrefix}*`;
}

export interface PolicyStatement {
  /** Statement id: says why the statement is there. */
  readonly Sid: string;
  readonly Effect?: 'Allow' | 'Deny';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IAM policy document as JSON text (tokens inside strings resolve to Terraform references). */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements.map((statement) => ({ Effect: 'Allow', ...statement })) });
}

/**
 * A trust policy letting one AWS service principal assume the role on behalf of this account only
 * (aws:SourceAccount, the confused-deputy guard), and, where the service documents the ARN it assumes
 * the role for, for that resource only (aws:SourceArn: CodeDeploy names the deployment group). Lambda
 * does not document aws:SourceArn for execution roles, and SageMaker's differs by feature (a training
 * role is also a notebook's): there a missing or different key would refuse every assumption.
 */
export function serviceTrustPolicy(service: string, accountId: string, sourceArn?: string): string {
  const condition = { StringEquals: { 'aws:SourceAccount': accountId }, ...(sourceArn ? { ArnLike: { 'aws:SourceArn': sourceArn } } : {}) };
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', Condition: condition }],
  });
}

/** EC2's trust for an instance profile's role: an instance assuming it names no source account, so none can be required. */
export function ec2InstanceTrustPolicy(): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
}

/** Pulling one ECR repository's images: the repository-scoped actions plus the token, which has no resource. */
export function ecrPullStatements(repositoryArn: string): PolicyStatement[] {
  return [
    { Sid: 'PullImage', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: repositoryArn },
    // ecr:GetAuthorizationToken is account-wide: AWS accepts only Resource "*" for it.
    { Sid: 'EcrAuthorizationToken', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
  ];
}
