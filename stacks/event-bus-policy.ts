import { CloudwatchEventBusPolicy } from '@cdktf/provider-aws/lib/cloudwatch-event-bus-policy';
import { Construct } from 'constructs';
import { deploymentChangeSummary, EMITTED_EVENTS, operatorOverride, validateEventSource } from '../events/emitted';
import { PRINCIPAL_ARN } from './config';

/**
 * The detail-types only Deploy Guard's own functions may put on its bus: every event of
 * events/emitted.ts except the change summary, which the CI principals send, and the operators'
 * announcement, which `deploy-guard override` / `pause` send with the operator role.
 */
export const DECISION_DETAIL_TYPES: readonly string[] = Object.keys(EMITTED_EVENTS).filter(
  (detailType) => detailType !== deploymentChangeSummary.detailType && detailType !== operatorOverride.detailType,
);


export interface DeployGuardBusPolicyProps {
  /** The bus the policy guards (Deploy Guard's own). */
  readonly busName: string;
  /** Its ARN: every statement's resource. */
  readonly busArn: string;
  /** The installation's event source: nobody may put an event with another. */
  readonly source: string;
  /** Deploy Guard's function roles: the only principals that may put decision events (DECISION_DETAIL_TYPES). */
  readonly functionRoleArns: readonly string[];
  /**
   * The CI principals the configuration names (every application's changeSummaryPublishers): the only
   * principals that may put Deployment Change Summary, and they may put nothing else. Empty: nobody may.
   */
  readonly changeSummaryPublisherArns: readonly string[];
  /**
   * The operator roles of the installation (stacks/operator-role.ts): the only principals that may
   * put Operator Override, and they may put nothing else. Empty: nobody may.
   * @default []
   */
  readonly operatorRoleArns?: readonly string[];
}

export interface BusStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: '*' | { readonly AWS: readonly string[] };
  readonly Action: 'events:PutEvents';
  readonly Resource: string;
  readonly Condition: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The resource policy of Deploy Guard's bus. A same-account principal with `events:PutEvents` in its
 * own IAM policy may put on a bus whatever the bus policy allows, so the rules are explicit denies
 * (which win over any allow) keyed on `aws:PrincipalArn`, `events:detail-type` and `events:source`;
 * the allows admit the named principals of other accounts (a CI account) and say the intent.
 */
export class DeployGuardBusPolicy extends Construct {
  readonly policy: CloudwatchEventBusPolicy;
  readonly statements: readonly BusStatement[];

  constructor(scope: Construct, id: string, props: DeployGuardBusPolicyProps) {
    super(scope, id);
    validateProps(props);
    this.statements = busPolicyStatements(props);
    this.policy = new CloudwatchEventBusPolicy(this, 'policy', {
      eventBusName: props.busName,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: this.statements }),
    });
  }
}

function validateProps(props: DeployGuardBusPolicyProps): void {
  validateEventSource(props.source);
  if (props.functionRoleArns.length === 0) throw new Error('DeployGuardBusPolicy functionRoleArns must name at least one role (Deploy Guard publishes its decisions)');
  props.changeSummaryPublisherArns.forEach((arn, index) => {
    if (!PRINCIPAL_ARN.test(arn)) {
      throw new Error(`DeployGuardBusPolicy changeSummaryPublisherArns[${index}] '${arn}' is not the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name>)`);
    }
  });
  const both = props.changeSummaryPublisherArns.filter((arn) => props.functionRoleArns.includes(arn));
  if (both.length > 0) throw new Error(`DeployGuardBusPolicy: ${both.join(', ')} cannot both publish change summaries and be a Deploy Guard function role`);
}

/** The statements, in the order a reader checks them: what is denied to whom, then who is admitted. */
export function busPolicyStatements(props: DeployGuardBusPolicyProps): BusStatement[] {
  const { busArn: Resource, source } = props;
  const publishers = [...new Set(props.changeSummaryPublisherArns)];
  const operators = [...new Set(props.operatorRoleArns ?? [])];
  const summary = deploymentChangeSummary.detailType;
  const announcement = operatorOverride.detailType;
  const deny = (Sid: string, Condition: BusStatement['Condition']): BusStatement => ({ Sid, Effect: 'Deny', Principal: '*', Action: 'events:PutEvents', Resource, Condition });
  const allow = (Sid: string, principals: readonly string[], detailTypes: readonly string[]): BusStatement => ({
    Sid,
    Effect: 'Allow',
    Principal: { AWS: principals },
    Action: 'events:PutEvents',
    Resource,
    Condition: { StringEquals: { 'events:detail-type': detailTypes, 'events:source': source } },
  });
  return [
    deny('OnlyTheInstallationSource', { StringNotEquals: { 'events:source': source } }),
    deny('OnlyDeployGuardDetailTypes', { StringNotEquals: { 'events:detail-type': Object.keys(EMITTED_EVENTS) } }),
    deny('DecisionsOnlyFromDeployGuardFunctions', {
      StringEquals: { 'events:detail-type': DECISION_DETAIL_TYPES },
      ArnNotEquals: { 'aws:PrincipalArn': props.functionRoleArns },
    }),
    // With no publisher configured the summary is denied to everyone: nobody outside speaks for a release.
    deny('ChangeSummariesOnlyFromNamedPublishers', {
      StringEquals: { 'events:detail-type': summary },
      ...(publishers.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': publishers } } : {}),
    }),
    ...(publishers.length > 0
      ? [
          deny('PublishersPutOnlyChangeSummaries', { ArnEquals: { 'aws:PrincipalArn': publishers }, StringNotEquals: { 'events:detail-type': summary } }),
          allow('NamedPublishersPutChangeSummaries', publishers, [summary]),
        ]
      : []),
    // With no operator role the announcement is denied to everyone, like the summary.
    deny('OperatorOverridesOnlyFromOperatorRoles', {
      StringEquals: { 'events:detail-type': announcement },
      ...(operators.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': operators } } : {}),
    }),
    ...(operators.length > 0
      ? [
          deny('OperatorRolesPutOnlyOperatorOverrides', { ArnEquals: { 'aws:PrincipalArn': operators }, StringNotEquals: { 'events:detail-type': announcement } }),
          allow('OperatorRolesPutOperatorOverrides', operators, [announcement]),
        ]
      : []),
    allow('DeployGuardFunctionsPutDecisions', props.functionRoleArns, DECISION_DETAIL_TYPES),
  ];
}

/** One PutEvents entry as the bus policy sees it: who puts it, with which source and detail-type. */
export interface PutEventsRequest {
  readonly principalArn: string;
  readonly source: string;
  readonly detailType: string;
}

/**
 * What the bus policy says of one entry: `denied` (an explicit deny matched: nothing admits it),
 * `allowed` (a statement admits the principal, of any account), or `not-denied` (left to the
 * caller's own IAM policy, as for any same-account principal). Evaluates exactly the condition
 * operators busPolicyStatements writes (exact string and ARN comparisons), for tests and replays.
 */
export function busPolicyDecision(statements: readonly BusStatement[], request: PutEventsRequest): 'denied' | 'allowed' | 'not-denied' {
  const context: Record<string, string> = { 'aws:PrincipalArn': request.principalArn, 'events:source': request.source, 'events:detail-type': request.detailType };
  const applies = (statement: BusStatement) =>
    (statement.Principal === '*' || statement.Principal.AWS.includes(request.principalArn)) &&
    Object.entries(statement.Condition).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => {
        const matches = [expected].flat().includes(context[key]);
        if (operator === 'StringEquals' || operator === 'ArnEquals') return matches;
        if (operator === 'StringNotEquals' || operator === 'ArnNotEquals') return !matches;
        throw new Error(`busPolicyDecision: condition operator ${operator} is not one the bus policy writes`);
      }),
    );
  if (statements.some((statement) => statement.Effect === 'Deny' && applies(statement))) return 'denied';
  return statements.some((statement) => statement.Effect === 'Allow' && applies(statement)) ? 'allowed' : 'not-denied';
}
