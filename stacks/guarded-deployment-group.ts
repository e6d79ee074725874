import { createHash } from 'node:crypto';
import { CodedeployApp } from '@cdktf/provider-aws/lib/codedeploy-app';
import { CodedeployDeploymentGroup, type CodedeployDeploymentGroupConfig } from '@cdktf/provider-aws/lib/codedeploy-deployment-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Construct } from 'constructs';
import { GUARD_MODES, type ComputePlatform, type GuardMode } from '../events/emitted';
import type { FailurePolicy, GroupPolicy } from '../handlers/config';
import { checkBlockBudget, EXPLORATION } from '../model/block-budget';
import { CODEDEPLOY_NAME } from './config';
import { isToken, policyDocument, serviceTrustPolicy, validateAccountId, validateInteger, validateNamePrefix, validateRegion, type PolicyStatement } from './construct-support';
import { awsPartition } from './image-uris';
import { ownName } from '../events/names';

const NAME = 'GuardedDeploymentGroup';

/** The READY wait assumed for a gate group on Server that Deploy Guard references (its setting is not in the configuration): CodeDeploy's default. */
export const ASSUMED_READY_WAIT_MINUTES = 60;

/** Seconds the rollback handler is left, after predict, to answer before the READY wait ends. */
const READY_ANSWER_SECONDS = 60;

/**
 * How long an event may wait for predict (EventBridge's retries, Lambda's asynchronous queue) and
 * still be worth assessing: less than the shortest READY wait of the groups, by the minute the
 * rollback handler needs to answer, and never above an hour. An older event would be assessed after
 * CodeDeploy stopped waiting: it goes to the dead-letter queue instead, where the alarm sees it.
 */
export function predictMaximumEventAgeSeconds(groups: readonly Pick<GuardedDeploymentGroup, 'readyWaitMinutes'>[]): number {
  const waits = groups.flatMap((group) => (group.readyWaitMinutes === undefined ? [] : [group.readyWaitMinutes * 60 - READY_ANSWER_SECONDS]));
  return Math.max(60, Math.min(3600, ...waits));
}

/** EC2 blue/green: CodeDeploy copies the Auto Scaling group and moves the target group to the copy. */
export interface ServerTarget {
  /** The Auto Scaling group(s) CodeDeploy copies for the green fleet. */
  readonly autoScalingGroupNames: readonly string[];
  /** The target group whose traffic moves from blue to green. */
  readonly targetGroupName: string;
  /**
   * Roles of the instances' profiles (the copied launch template passes them): CodeDeploy gets
   * iam:PassRole on exactly these. @default []
   */
  readonly instanceRoleArns?: readonly string[];
}

/** ECS blue/green: two target groups behind a production listener (and optionally a test listener). */
export interface EcsTarget {
  readonly clusterName: string;
  readonly serviceName: string;
  /** Exactly two: blue and green. */
  readonly targetGroupNames: readonly [string, string];
  readonly prodListenerArns: readonly string[];
  readonly testListenerArns?: readonly string[];
}

interface CommonProps {
  readonly region: string;
  readonly accountId: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly platform: ComputePlatform;
  /** shadow: assess only; stop: StopDeployment on START; gate: wait at READY (Server) or in the BeforeAllowTraffic hook (ECS, Lambda). */
  readonly mode: GuardMode;
}

/** Guard a CodeDeploy application and group that exist already: nothing is created. */
export interface ExistingGroupProps extends CommonProps {
  readonly existing: true;
}

/** Create the application and its blue/green group. */
export interface NewGroupProps extends CommonProps {
  readonly existing?: false;
  /** Prefix of the service role's name, e.g. `deploy-guard-dev`. */
  readonly namePrefix: string;
  /** Required when platform is Server. */
  readonly server?: ServerTarget;
  /** Required when platform is ECS. */
  readonly ecs?: EcsTarget;
  /** Alarms (by name) that stop a deployment and roll it back. @default [] */
  readonly alarmNames?: readonly string[];
  /** @default CodeDeployDefault.AllAtOnce / ECSAllAtOnce / LambdaAllAtOnce */
  readonly deploymentConfigName?: string;
  /** Gate mode on Server: minutes the group waits at READY for Deploy Guard before it stops itself, 2 to 2880. @default 60 */
  readonly readyWaitMinutes?: number;
  /** Minutes the blue fleet is kept after success: the window in which a rollback is instant. @default 60 */
  readonly terminationWaitMinutes?: number;
  /** Use this service role instead of creating one. */
  readonly serviceRoleArn?: string;
}

export type GuardedDeploymentGroupProps = ExistingGroupProps | NewGroupProps;

const MANAGED_POLICY: Record<ComputePlatform, string> = {
  Server: 'AWSCodeDeployRole',
  ECS: 'AWSCodeDeployRoleForECS',
  Lambda: 'AWSCodeDeployRoleForLambda',
};
const DEFAULT_CONFIG: Record<ComputePlatform, string> = {
  Server: 'CodeDeployDefault.AllAtOnce',
  ECS: 'CodeDeployDefault.ECSAllAtOnce',
  Lambda: 'CodeDeployDefault.LambdaAllAtOnce',
};

/**
 * A CodeDeploy deployment group Deploy Guard guards: a new application with a blue/green group
 * (EC2 Auto Scaling, ECS or Lambda) set up so that Deploy Guard can stop it before traffic moves,
 * or a reference to an existing one. Either way it exposes the names and ARNs, and the group's
 * policy for the handlers' configuration.
 */
export class GuardedDeploymentGroup extends Construct {
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly applicationArn: string;
  readonly deploymentGroupArn: string;
  readonly platform: ComputePlatform;
  readonly mode: GuardMode;
  /** Minutes a deployment waits at READY for Deploy Guard (gate mode on Server only; ASSUMED_READY_WAIT_MINUTES for an existing group). */
  readonly readyWaitMinutes?: number;
  /** Created only for a new group. */
  readonly application?: CodedeployApp;
  readonly deploymentGroup?: CodedeployDeploymentGroup;
  readonly serviceRole?: IamRole;

  constructor(scope: Construct, id: string, props: GuardedDeploymentGroupProps) {
    super(scope, id);
    validateProps(props);
    const partition = awsPartition(props.region);
    this.applicationName = props.applicationName;
    this.deploymentGroupName = props.deploymentGroupName;
    this.platform = props.platform;
    this.mode = props.mode;
    const arnBase = `arn:${partition}:codedeploy:${props.region}:${props.accountId}`;
    this.applicationArn = `${arnBase}:application:${props.applicationName}`;
    this.deploymentGroupArn = `${arnBase}:deploymentgroup:${props.applicationName}/${props.deploymentGroupName}`;
    if (props.mode === 'gate' && props.platform === 'Server') {
      this.readyWaitMinutes = props.existing === true ? ASSUMED_READY_WAIT_MINUTES : (props.readyWaitMinutes ?? ASSUMED_READY_WAIT_MINUTES);
    }
    if (props.existing === true) return;

    this.application = new CodedeployApp(this, 'application', { name: props.applicationName, computePlatform: props.platform });
    let serviceRoleArn = props.serviceRoleArn;
    if (serviceRoleArn === undefined) {
      this.serviceRole = new IamRole(this, 'service-role', {
        // One role per group; the hash keeps the name unique and within IAM's 64 characters.
        name: ownName(props.namePrefix, `codedeploy-${createHash('sha256').update(`${props.applicationName}/${props.deploymentGroupName}`).digest('hex').slice(0, 8)}`),
        description: `CodeDeploy service role of ${props.applicationName}/${props.deploymentGroupName}`,
        assumeRolePolicy: serviceTrustPolicy('codedeploy.amazonaws.com', props.accountId, this.deploymentGroupArn),
      });
      new IamRolePolicyAttachment(this, 'service-role-managed-policy', {
        role: this.serviceRole.name,
        policyArn: `arn:${partition}:iam::aws:policy/service-role/${MANAGED_POLICY[props.platform]}`,
      });
      if (props.platform === 'Server' && props.server) {
        // Copying an Auto Scaling group that uses a launch template needs these beyond AWSCodeDeployRole.
        const statements: PolicyStatement[] = [
          {
            Sid: 'LaunchGreenFleet',
            Action: ['ec2:RunInstances', 'ec2:CreateTags'],
            Resource: [`arn:${partition}:ec2:${props.region}:${props.accountId}:*`, `arn:${partition}:ec2:${props.region}::image/*`],
          },
        ];
        if (props.server.instanceRoleArns?.length) {
          statements.push({
            Sid: 'PassInstanceRole',
            Action: ['iam:PassRole'],
            Resource: [...props.server.instanceRoleArns],
            Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
          });
        }
        new IamRolePolicy(this, 'service-role-launch-template', { name: 'copy-auto-scaling-group', role: this.serviceRole.id, policy: policyDocument(statements) });
      }
      serviceRoleArn = this.serviceRole.arn;
    }

    const alarmNames = props.alarmNames ?? [];
    const terminationWait = props.terminationWaitMinutes ?? 60;
    const config: CodedeployDeploymentGroupConfig = {
      appName: this.application.name,
      deploymentGroupName: props.deploymentGroupName,
      serviceRoleArn,
      deploymentConfigName: props.deploymentConfigName ?? DEFAULT_CONFIG[props.platform],
      deploymentStyle: { deploymentOption: 'WITH_TRAFFIC_CONTROL', deploymentType: 'BLUE_GREEN' },
      autoRollbackConfiguration: {
        enabled: true,
        // Stop-on-alarm needs alarms to stop on.
        events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', ...(alarmNames.length > 0 ? ['DEPLOYMENT_STOP_ON_ALARM'] : [])],
      },
      ...(alarmNames.length > 0 ? { alarmConfiguration: { enabled: true, alarms: [...alarmNames] } } : {}),
      ...platformSettings(props, terminationWait),
    };
    this.deploymentGroup = new CodedeployDeploymentGroup(this, 'deployment-group', config);
  }

  /** This group's policy for the handlers (DEPLOY_GUARD_GROUPS). */
  groupPolicy(decision: Pick<GroupPolicy, 'blockBudget' | 'threshold' | 'exploration' | 'cutScope'>, failurePolicy: FailurePolicy = 'fail-open'): GroupPolicy {
    const where = `${NAME} ${this.applicationName}/${this.deploymentGroupName}`;
    const { threshold, blockBudget } = decision;
    if (threshold !== undefined && !(threshold > 0 && threshold < 1)) throw new Error(`${where}: threshold must be between 0 and 1 (exclusive), got ${threshold}`);
    checkBlockBudget(blockBudget, `${where}: blockBudget`);
    if (!(decision.exploration >= 0 && decision.exploration <= EXPLORATION.max)) throw new Error(`${where}: exploration must be a share between 0 and ${EXPLORATION.max}, got ${decision.exploration}`);
    return { application: this.applicationName, deploymentGroup: this.deploymentGroupName, platform: this.platform, mode: this.mode, blockBudget, ...(threshold === undefined ? {} : { threshold }), exploration: decision.exploration, cutScope: decision.cutScope, failurePolicy };
  }
}

function platformSettings(props: NewGroupProps, terminationWait: number): Partial<CodedeployDeploymentGroupConfig> {
  const terminateBlue = { action: 'TERMINATE', terminationWaitTimeInMinutes: terminationWait };
  if (props.platform === 'Server' && props.server) {
    return {
      autoscalingGroups: [...props.server.autoScalingGroupNames],
      loadBalancerInfo: { targetGroupInfo: [{ name: props.server.targetGroupName }] },
      blueGreenDeploymentConfig: {
        greenFleetProvisioningOption: { action: 'COPY_AUTO_SCALING_GROUP' },
        // Gate: the group waits at READY for Deploy Guard's ContinueDeployment and stops itself on timeout.
        deploymentReadyOption:
          props.mode === 'gate' ? { actionOnTimeout: 'STOP_DEPLOYMENT', waitTimeInMinutes: props.readyWaitMinutes ?? ASSUMED_READY_WAIT_MINUTES } : { actionOnTimeout: 'CONTINUE_DEPLOYMENT' },
        terminateBlueInstancesOnDeploymentSuccess: terminateBlue,
      },
    };
  }
  if (props.platform === 'ECS' && props.ecs) {
    return {
      ecsService: { clusterName: props.ecs.clusterName, serviceName: props.ecs.serviceName },
      loadBalancerInfo: {
        targetGroupPairInfo: {
          prodTrafficRoute: { listenerArns: [...props.ecs.prodListenerArns] },
          ...(props.ecs.testListenerArns?.length ? { testTrafficRoute: { listenerArns: [...props.ecs.testListenerArns] } } : {}),
          targetGroup: props.ecs.targetGroupNames.map((name) => ({ name })),
        },
      },
      // Gate on ECS is the BeforeAllowTraffic hook (in the AppSpec): traffic waits for it, not for READY.
      blueGreenDeploymentConfig: { deploymentReadyOption: { actionOnTimeout: 'CONTINUE_DEPLOYMENT' }, terminateBlueInstancesOnDeploymentSuccess: terminateBlue },
    };
  }
  return {};
}

function validateProps(props: GuardedDeploymentGroupProps): void {
  validateRegion(NAME, props.region);
  validateAccountId(NAME, props.accountId);
  for (const [prop, value] of [['applicationName', props.applicationName], ['deploymentGroupName', props.deploymentGroupName]] as const) {
    if (isToken(value) || !CODEDEPLOY_NAME.test(value)) throw new Error(`${NAME} ${prop} '${value}' must be 1 to 100 letters, digits or _ . + -`);
  }
  const where = `${props.applicationName}/${props.deploymentGroupName}`;
  if (!(['Server', 'ECS', 'Lambda'] as readonly string[]).includes(props.platform)) throw new Error(`${NAME} ${where}: platform must be Server, ECS or Lambda, got '${props.platform}'`);
  if (!(GUARD_MODES as readonly string[]).includes(props.mode)) throw new Error(`${NAME} ${where}: mode must be one of ${GUARD_MODES.join(', ')}, got '${props.mode}'`);
  if (props.existing === true) {
    const extra = ['namePrefix', 'server', 'ecs', 'alarmNames', 'deploymentConfigName', 'readyWaitMinutes', 'terminationWaitMinutes', 'serviceRoleArn'].filter(
      (key) => (props as unknown as Record<string, unknown>)[key] !== undefined,
    );
    if (extra.length > 0) throw new Error(`${NAME} ${where}: an existing group creates nothing, so ${extra.join(', ')} cannot be given`);
    return;
  }
  validateNamePrefix(NAME, props.namePrefix, 40);
  if (props.platform === 'Server') {
    if (!props.server) throw new Error(`${NAME} ${where}: platform Server needs server (autoScalingGroupNames, targetGroupName)`);
    if (props.server.autoScalingGroupNames.length === 0) throw new Error(`${NAME} ${where}: server.autoScalingGroupNames must name at least one Auto Scaling group`);
    for (const role of props.server.instanceRoleArns ?? []) {
      // iam:PassRole cannot pass another account's role: it must be one of this account.
      if (!isToken(role) && !new RegExp(`^arn:aws[a-z-]*:iam::${props.accountId}:role/`).test(role)) {
        throw new Error(`${NAME} ${where}: server.instanceRoleArns '${role}' must be an IAM role ARN of account ${props.accountId}`);
      }
    }
  } else if (props.server) {
    throw new Error(`${NAME} ${where}: server is only for platform Server, not ${props.platform}`);
  }
  if (props.platform === 'ECS') {
    if (!props.ecs) throw new Error(`${NAME} ${where}: platform ECS needs ecs (clusterName, serviceName, targetGroupNames, prodListenerArns)`);
    if (props.ecs.targetGroupNames.length !== 2) throw new Error(`${NAME} ${where}: ecs.targetGroupNames must name exactly two target groups (blue and green), got ${props.ecs.targetGroupNames.length}`);
    if (props.ecs.prodListenerArns.length === 0) throw new Error(`${NAME} ${where}: ecs.prodListenerArns must name the production listener`);
  } else if (props.ecs) {
    throw new Error(`${NAME} ${where}: ecs is only for platform ECS, not ${props.platform}`);
  }
  if (props.readyWaitMinutes !== undefined) {
    if (props.platform !== 'Server' || props.mode !== 'gate') {
      throw new Error(`${NAME} ${where}: readyWaitMinutes applies only to platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)`);
    }
    // At least 2: predict's events must be able to arrive, and the rollback handler to answer, within it.
    validateInteger(NAME, 'readyWaitMinutes', props.readyWaitMinutes, 2, 2880);
  }
  if (props.terminationWaitMinutes !== undefined) {
    if (props.platform === 'Lambda') throw new Error(`${NAME} ${where}: terminationWaitMinutes does not apply to Lambda (there is no blue fleet to keep)`);
    validateInteger(NAME, 'terminationWaitMinutes', props.terminationWaitMinutes, 0, 2880);
  }
  if ((props.alarmNames?.length ?? 0) > 10) throw new Error(`${NAME} ${where}: CodeDeploy accepts at most 10 alarms, got ${props.alarmNames?.length}`);
}
