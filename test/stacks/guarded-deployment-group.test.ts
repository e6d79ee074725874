import { handlerFunctionName } from '../../events/names';
import { groupPolicy } from '../../handlers/config';
import { Testing } from 'cdktf';
import { GuardedDeploymentGroup, predictMaximumEventAgeSeconds, type GuardedDeploymentGroupProps, type NewGroupProps } from '../../stacks/guarded-deployment-group';
import { ACCOUNT, REGION, only, policyStatements, resources, synth } from './construct-synth';

const server: NewGroupProps = {
  namePrefix: 'deploy-guard-dev',
  region: REGION,
  accountId: ACCOUNT,
  applicationName: 'shop',
  deploymentGroupName: 'shop-web',
  platform: 'Server',
  mode: 'gate',
  server: { autoScalingGroupNames: ['shop-web-asg'], targetGroupName: 'shop-web-tg', instanceRoleArns: ['arn:aws:iam::123456789012:role/shop-web'] },
  alarmNames: ['shop-web-5xx'],
  readyWaitMinutes: 30,
  terminationWaitMinutes: 45,
};
const ecs: NewGroupProps = {
  namePrefix: 'deploy-guard-dev',
  region: REGION,
  accountId: ACCOUNT,
  applicationName: 'shop-ecs',
  deploymentGroupName: 'shop-api',
  platform: 'ECS',
  mode: 'gate',
  ecs: { clusterName: 'shop', serviceName: 'api', targetGroupNames: ['api-blue', 'api-green'], prodListenerArns: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/2'] },
};

describe('GuardedDeploymentGroup on EC2 (Server), gate mode', () => {
  const synthesized = synth((scope) => void new GuardedDeploymentGroup(scope, 'group', server));
  const group = () => only(synthesized, 'aws_codedeploy_deployment_group');

  it('creates a Server application and a blue/green group with traffic control', () => {
    expect(only(synthesized, 'aws_codedeploy_app')).toEqual(expect.objectContaining({ name: 'shop', compute_platform: 'Server' }));
    expect(group()).toEqual(expect.objectContaining({
      deployment_group_name: 'shop-web',
      deployment_config_name: 'CodeDeployDefault.AllAtOnce',
      deployment_style: { deployment_option: 'WITH_TRAFFIC_CONTROL', deployment_type: 'BLUE_GREEN' },
      autoscaling_groups: ['shop-web-asg'],
      load_balancer_info: { target_group_info: [{ name: 'shop-web-tg' }] },
    }));
  });

  it('copies the Auto Scaling group, waits at READY and stops itself on timeout, and keeps the blue fleet for the rollback window', () => {
    expect(group().blue_green_deployment_config).toEqual({
      green_fleet_provisioning_option: { action: 'COPY_AUTO_SCALING_GROUP' },
      deployment_ready_option: { action_on_timeout: 'STOP_DEPLOYMENT', wait_time_in_minutes: 30 },
      terminate_blue_instances_on_deployment_success: { action: 'TERMINATE', termination_wait_time_in_minutes: 45 },
    });
  });

  it('rolls back on failure, on a stop request and on its alarms', () => {
    expect(group().auto_rollback_configuration).toEqual({ enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'] });
    expect(group().alarm_configuration).toEqual({ enabled: true, alarms: ['shop-web-5xx'] });
  });

  it("lets CodeDeploy assume its service role for this deployment group of this account only (aws:SourceAccount and aws:SourceArn, the confused-deputy guard)", () => {
    const trust = JSON.parse(only(synthesized, 'aws_iam_role').assume_role_policy as string).Statement[0];
    expect(trust.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': '123456789012' },
      ArnLike: { 'aws:SourceArn': 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/shop-web' },
    });
  });

  it('gives its service role AWSCodeDeployRole plus what copying a launch-template group needs, passing only the instance role', () => {
    expect(only(synthesized, 'aws_iam_role_policy_attachment').policy_arn).toBe('arn:aws:iam::aws:policy/service-role/AWSCodeDeployRole');
    expect(JSON.parse(only(synthesized, 'aws_iam_role').assume_role_policy as string).Statement[0].Principal).toEqual({ Service: 'codedeploy.amazonaws.com' });
    expect(policyStatements(synthesized, 'copy-auto-scaling-group')).toEqual([
      { Sid: 'LaunchGreenFleet', Effect: 'Allow', Action: ['ec2:RunInstances', 'ec2:CreateTags'], Resource: ['arn:aws:ec2:us-east-1:123456789012:*', 'arn:aws:ec2:us-east-1::image/*'] },
      { Sid: 'PassInstanceRole', Effect: 'Allow', Action: ['iam:PassRole'], Resource: ['arn:aws:iam::123456789012:role/shop-web'], Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } } },
    ]);
  });

  it("gives the group's policy for the handlers", () => {
    let construct: GuardedDeploymentGroup | undefined;
    synth((scope) => {
      construct = new GuardedDeploymentGroup(scope, 'group', server);
    });
    expect(groupPolicy.parse(construct!.groupPolicy({ blockBudget: 0.1, exploration: 0.05, cutScope: 'installation' }))).toEqual({ application: 'shop', deploymentGroup: 'shop-web', platform: 'Server', mode: 'gate', blockBudget: 0.1, exploration: 0.05, cutScope: 'installation', failurePolicy: 'fail-open' });
    expect(groupPolicy.parse(construct!.groupPolicy({ blockBudget: 0.1, threshold: 0.4, exploration: 0, cutScope: 'group' }))).toMatchObject({ threshold: 0.4 });
    expect(construct!.deploymentGroupArn).toBe('arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:shop/shop-web');
    expect(() => construct!.groupPolicy({ blockBudget: 0.1, threshold: 1, exploration: 0, cutScope: 'group' })).toThrow('GuardedDeploymentGroup shop/shop-web: threshold must be between 0 and 1 (exclusive), got 1');
    expect(() => construct!.groupPolicy({ blockBudget: 0.4, exploration: 0, cutScope: 'group' })).toThrow('GuardedDeploymentGroup shop/shop-web: blockBudget must be a share of deployments between 0.005 and 0.3 (0.5 % to 30 %), got 0.4');
  });
});

describe('GuardedDeploymentGroup, other modes and platforms', () => {
  it('continues at READY by itself outside gate mode, and rolls back without stop-on-alarm when there are no alarms', () => {
    const synthesized = synth((scope) => void new GuardedDeploymentGroup(scope, 'group', { ...server, mode: 'shadow', readyWaitMinutes: undefined, alarmNames: undefined }));
    const group = only(synthesized, 'aws_codedeploy_deployment_group');
    expect((group.blue_green_deployment_config as Record<string, unknown>).deployment_ready_option).toEqual({ action_on_timeout: 'CONTINUE_DEPLOYMENT' });
    expect(group.auto_rollback_configuration).toEqual({ enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] });
    expect(group.alarm_configuration).toBeUndefined();
  });

  it('guards an ECS service blue/green with its target group pair and production listener, under AWSCodeDeployRoleForECS', () => {
    const synthesized = synth((scope) => void new GuardedDeploymentGroup(scope, 'group', ecs));
    const group = only(synthesized, 'aws_codedeploy_deployment_group');
    expect(only(synthesized, 'aws_codedeploy_app').compute_platform).toBe('ECS');
    expect(group).toEqual(expect.objectContaining({
      deployment_config_name: 'CodeDeployDefault.ECSAllAtOnce',
      ecs_service: { cluster_name: 'shop', service_name: 'api' },
      load_balancer_info: { target_group_pair_info: { prod_traffic_route: { listener_arns: ['arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/2'] }, target_group: [{ name: 'api-blue' }, { name: 'api-green' }] } },
      blue_green_deployment_config: { deployment_ready_option: { action_on_timeout: 'CONTINUE_DEPLOYMENT' }, terminate_blue_instances_on_deployment_success: { action: 'TERMINATE', termination_wait_time_in_minutes: 60 } },
    }));
    expect(only(synthesized, 'aws_iam_role_policy_attachment').policy_arn).toBe('arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForECS');
    expect(resources(synthesized, 'aws_iam_role_policy')).toEqual({});
  });

  it('names the BeforeAllowTraffic hook function so that the managed CodeDeploy roles may invoke it', () => {
    expect(handlerFunctionName('deploy-guard-dev', 'traffic-hook')).toBe('CodeDeployHook_deploy-guard-dev-hook');
  });

  it('guards a Lambda alias blue/green under AWSCodeDeployRoleForLambda', () => {
    const synthesized = synth((scope) => void new GuardedDeploymentGroup(scope, 'group', { namePrefix: 'dg', region: REGION, accountId: ACCOUNT, applicationName: 'fn', deploymentGroupName: 'fn-live', platform: 'Lambda', mode: 'stop' }));
    const group = only(synthesized, 'aws_codedeploy_deployment_group');
    expect(group).toEqual(expect.objectContaining({ deployment_config_name: 'CodeDeployDefault.LambdaAllAtOnce', deployment_style: { deployment_option: 'WITH_TRAFFIC_CONTROL', deployment_type: 'BLUE_GREEN' } }));
    expect(group.blue_green_deployment_config).toBeUndefined();
    expect(only(synthesized, 'aws_iam_role_policy_attachment').policy_arn).toBe('arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda');
  });

  it('references an existing group without creating anything, exposing its ARNs', () => {
    let construct: GuardedDeploymentGroup | undefined;
    const synthesized = synth((scope) => {
      construct = new GuardedDeploymentGroup(scope, 'group', { existing: true, region: 'cn-north-1', accountId: ACCOUNT, applicationName: 'legacy', deploymentGroupName: 'legacy-prod', platform: 'Server', mode: 'shadow' });
    });
    expect(synthesized.json.resource).toBeUndefined();
    expect(construct?.applicationArn).toBe('arn:aws-cn:codedeploy:cn-north-1:123456789012:application:legacy');
    expect(construct?.deploymentGroupArn).toBe('arn:aws-cn:codedeploy:cn-north-1:123456789012:deploymentgroup:legacy/legacy-prod');
  });
});

/** The groups as constructed (their fields), in one scope. */
function synthGroups(props: readonly GuardedDeploymentGroupProps[]): GuardedDeploymentGroup[] {
  const groups: GuardedDeploymentGroup[] = [];
  Testing.synthScope((scope) => props.forEach((group, index) => groups.push(new GuardedDeploymentGroup(scope, `group-${index}`, group))));
  return groups;
}

describe('predictMaximumEventAgeSeconds', () => {
  it('is the shortest READY wait less the minute the rollback handler needs, at most an hour, at least a minute', () => {
    expect(predictMaximumEventAgeSeconds([{ readyWaitMinutes: 30 }, { readyWaitMinutes: 10 }, { readyWaitMinutes: undefined }])).toBe(9 * 60);
    expect(predictMaximumEventAgeSeconds([{ readyWaitMinutes: 2 }])).toBe(60);
    expect(predictMaximumEventAgeSeconds([{ readyWaitMinutes: 600 }])).toBe(3600);
    // Without a gate group on Server nothing waits at READY: an hour, as for every other handler.
    expect(predictMaximumEventAgeSeconds([{ readyWaitMinutes: undefined }])).toBe(3600);
  });

  it("takes the created group's READY wait, and CodeDeploy's default for a gate group it only references", () => {
    const groups = synthGroups([server, { existing: true, region: REGION, accountId: ACCOUNT, applicationName: 'legacy', deploymentGroupName: 'prod', platform: 'Server', mode: 'gate' }, ecs]);
    expect(groups.map((group) => group.readyWaitMinutes)).toEqual([30, 60, undefined]);
  });
});

describe('GuardedDeploymentGroup props', () => {
  it.each<[string, GuardedDeploymentGroupProps, string]>([
    ['Server without its target', { ...server, server: undefined }, 'GuardedDeploymentGroup shop/shop-web: platform Server needs server (autoScalingGroupNames, targetGroupName)'],
    ['Server without Auto Scaling groups', { ...server, server: { autoScalingGroupNames: [], targetGroupName: 'tg' } }, 'GuardedDeploymentGroup shop/shop-web: server.autoScalingGroupNames must name at least one Auto Scaling group'],
    ['ECS settings on Server', { ...server, ecs: ecs.ecs }, 'GuardedDeploymentGroup shop/shop-web: ecs is only for platform ECS, not Server'],
    ['ECS without its service', { ...ecs, ecs: undefined }, 'GuardedDeploymentGroup shop-ecs/shop-api: platform ECS needs ecs (clusterName, serviceName, targetGroupNames, prodListenerArns)'],
    ['ECS with one target group', { ...ecs, ecs: { ...ecs.ecs!, targetGroupNames: ['only'] as unknown as [string, string] } }, 'GuardedDeploymentGroup shop-ecs/shop-api: ecs.targetGroupNames must name exactly two target groups (blue and green), got 1'],
    ['Server settings on ECS', { ...ecs, server: server.server }, 'GuardedDeploymentGroup shop-ecs/shop-api: server is only for platform Server, not ECS'],
    ['a READY wait outside gate mode', { ...server, mode: 'stop' }, 'GuardedDeploymentGroup shop/shop-web: readyWaitMinutes applies only to platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)'],
    ['a READY wait on ECS', { ...ecs, readyWaitMinutes: 10 }, 'GuardedDeploymentGroup shop-ecs/shop-api: readyWaitMinutes applies only to platform Server in gate mode (ECS and Lambda gate in the BeforeAllowTraffic hook)'],
    ['a termination wait on Lambda', { namePrefix: 'dg', region: REGION, accountId: ACCOUNT, applicationName: 'fn', deploymentGroupName: 'fn-live', platform: 'Lambda', mode: 'gate', terminationWaitMinutes: 5 }, 'GuardedDeploymentGroup fn/fn-live: terminationWaitMinutes does not apply to Lambda (there is no blue fleet to keep)'],
    ['an unknown mode', { ...server, mode: 'enforce' as never }, "GuardedDeploymentGroup shop/shop-web: mode must be one of shadow, stop, gate, got 'enforce'"],
    ['more than 10 alarms', { ...server, alarmNames: Array.from({ length: 11 }, (_, index) => `a${index}`) }, 'GuardedDeploymentGroup shop/shop-web: CodeDeploy accepts at most 10 alarms, got 11'],
    ['an existing group with settings to create', { existing: true, region: REGION, accountId: ACCOUNT, applicationName: 'legacy', deploymentGroupName: 'prod', platform: 'Server', mode: 'gate', alarmNames: ['x'] } as unknown as GuardedDeploymentGroupProps, 'GuardedDeploymentGroup legacy/prod: an existing group creates nothing, so alarmNames cannot be given'],
    ['a bad application name', { ...server, applicationName: 'shop web' }, "GuardedDeploymentGroup applicationName 'shop web' must be 1 to 100 letters, digits or _ . + -"],
    ['a READY wait of one minute', { ...server, readyWaitMinutes: 1 }, 'GuardedDeploymentGroup readyWaitMinutes must be an integer from 2 to 2880, got 1'],
    [
      "another account's instance role",
      { ...server, server: { ...server.server!, instanceRoleArns: ['arn:aws:iam::999999999999:role/shop-web'] } },
      "GuardedDeploymentGroup shop/shop-web: server.instanceRoleArns 'arn:aws:iam::999999999999:role/shop-web' must be an IAM role ARN of account 123456789012",
    ],
  ])('rejects %s', (_case, props, message) => {
    expect(() => synth((scope) => void new GuardedDeploymentGroup(scope, 'group', props))).toThrow(message);
  });
});
