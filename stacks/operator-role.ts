import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { operatorOverride } from '../events/emitted';
import { ownName } from '../events/names';
import { ASSESSMENTS_BY_GROUP, GATE_KEY_PREFIXES, OPERATOR_KEY_PREFIXES } from '../handlers/tables';
import { PRINCIPAL_ARN } from './config';
import { policyDocument, type PolicyStatement } from './iam';

export interface OperatorRoleProps {
  readonly namePrefix: string;
  /**
   * The ARNs (`arn:aws:codedeploy:<region>:<account>:deploymentgroup:<app>/<group>`) of the guarded
   * groups that hold risky deployments for a person (gate, `onRisk: hold`): where approve / reject act.
   * None: the role may neither settle a hold nor act on a deployment.
   */
  readonly heldGroupArns: readonly string[];
  /** The principals (IAM roles or users) the configuration names in `operators`: the only ones that may assume the role. */
  readonly principalArns: readonly string[];
  /** The ARN of a DynamoDB table of the installation, by physical name. */
  readonly tableArn: (table: 'control' | 'deployments') => string;
  /** Deploy Guard's bus, where overrides and pauses are announced. */
  readonly busArn: string;
  /** The installation's event source. */
  readonly source: string;
  /** The installation's KMS key, which encrypts the tables: DynamoDB uses it for the operator's reads and writes. */
  readonly kmsKeyArn: string;
  /** The installation's region: the key may be used through DynamoDB there only. */
  readonly region: string;
}

/**
 * The on-call engineers' role (`<namePrefix>-operator`): `deploy-guard override` and `deploy-guard
 * pause` run as it. It may read and write only the control table's `override#…` and `pause#…` items
 * (dynamodb:LeadingKeys), read the assessments (the deployment an override names, `deploy-guard
 * decisions` and `deploy-guard report`) and the pipeline gate's decisions by group and day (`gateday#…`, read only, by both), and put only Operator Override on the bus. Only the configured principals may assume
 * it; with none configured the stack creates no role, and nobody can override or pause.
 */
export class OperatorRole extends Construct {
  readonly role: IamRole;
  readonly statements: readonly PolicyStatement[];

  constructor(scope: Construct, id: string, props: OperatorRoleProps) {
    super(scope, id);
    if (props.principalArns.length === 0) throw new Error('OperatorRole principalArns must name at least one principal (the configuration\'s operators)');
    props.principalArns.forEach((arn, index) => {
      if (!PRINCIPAL_ARN.test(arn)) throw new Error(`OperatorRole principalArns[${index}] '${arn}' is not the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name>)`);
    });
    this.statements = operatorStatements(props);
    this.role = new IamRole(this, 'role', {
      name: ownName(props.namePrefix, 'operator'),
      description: 'Deploy Guard operators: override a release, pause a group (deploy-guard override / pause), read the decisions',
      maxSessionDuration: 3600,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: [...new Set(props.principalArns)] }, Action: 'sts:AssumeRole' }],
      }),
    });
    new IamRolePolicy(this, 'policy', { name: 'override-and-pause', role: this.role.id, policy: policyDocument(this.statements) });
  }
}

/** Exactly what the operator commands call, on exactly the installation's resources. */
export function operatorStatements(props: Pick<OperatorRoleProps, 'tableArn' | 'busArn' | 'source' | 'kmsKeyArn' | 'region' | 'heldGroupArns'>): PolicyStatement[] {
  return [
    {
      sid: 'OverridesAndPausesOnly',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resources: [props.tableArn('control')],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${OPERATOR_KEY_PREFIXES.override}*`, `${OPERATOR_KEY_PREFIXES.pause}*`] } },
    },
    ...(props.heldGroupArns.length === 0
      ? []
      : [
          // deploy-guard approve / reject: the hold items only, read and settled (a conditional update).
          {
            sid: 'SettleHolds',
            actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
            resources: [props.tableArn('control')],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${OPERATOR_KEY_PREFIXES.hold}*`] } },
          },
          // CodeDeploy authorizes these three on the deployment group (resource type deploymentgroup,
          // the narrowest it offers): a held deployment goes on or is rolled back, in the holding groups only.
          {
            sid: 'DecideHeldDeployments',
            actions: ['codedeploy:ContinueDeployment', 'codedeploy:StopDeployment', 'codedeploy:PutLifecycleEventHookExecutionStatus'],
            resources: [...props.heldGroupArns],
          },
        ]),
    { sid: 'ReadAssessments', actions: ['dynamodb:GetItem'], resources: [props.tableArn('deployments')] },
    { sid: 'ListDecisions', actions: ['dynamodb:Query'], resources: [`${props.tableArn('deployments')}/index/${ASSESSMENTS_BY_GROUP.name}`] },
    // deploy-guard decisions and report: the pipeline gate's decisions by group and day, read only.
    {
      sid: 'ListGateDecisions',
      actions: ['dynamodb:GetItem'],
      resources: [props.tableArn('control')],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${GATE_KEY_PREFIXES.day}*`] } },
    },
    {
      // The tables are encrypted with the installation's key; DynamoDB uses it on the caller's behalf.
      sid: 'TablesKeyThroughDynamoDb',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [props.kmsKeyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${props.region}.amazonaws.com` } },
    },
    {
      sid: 'AnnounceOverrides',
      actions: ['events:PutEvents'],
      resources: [props.busArn],
      conditions: { StringEquals: { 'events:detail-type': operatorOverride.detailType, 'events:source': props.source } },
    },
  ];
}
