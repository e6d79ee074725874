import { ExampleGuardedService, type ExampleGuardedServiceProps } from '../../stacks/example-service';
import { ACCOUNT, KMS_KEY_ARN, REGION, only, policyStatements, resources, synth } from './construct-synth';

const base: ExampleGuardedServiceProps = {
  namePrefix: 'dg-dev',
  region: REGION,
  accountId: ACCOUNT,
  availabilityZones: ['us-east-1a', 'us-east-1b'],
  amiId: 'ami-0123456789abcdef0',
  kmsKeyArn: KMS_KEY_ARN,
};

describe('ExampleGuardedService', () => {
  const synthesized = synth((scope) => void new ExampleGuardedService(scope, 'example', base));

  it('builds a VPC with two public subnets in the given zones, routed through an internet gateway', () => {
    expect(only(synthesized, 'aws_vpc').cidr_block).toBe('10.20.0.0/16');
    const subnets = Object.values(resources(synthesized, 'aws_subnet'));
    expect(subnets.map((subnet) => [subnet.availability_zone, subnet.cidr_block, subnet.map_public_ip_on_launch])).toEqual([
      ['us-east-1a', '10.20.0.0/24', true],
      ['us-east-1b', '10.20.1.0/24', true],
    ]);
    expect(only(synthesized, 'aws_route_table').route).toEqual([expect.objectContaining({ cidr_block: '0.0.0.0/0', gateway_id: expect.stringContaining('aws_internet_gateway.') })]);
    expect(Object.keys(resources(synthesized, 'aws_route_table_association'))).toHaveLength(2);
    expect(resources(synthesized, 'aws_internet_gateway')).not.toEqual({});
  });

  it('fronts the instances with an ALB listener forwarding to the target group; instances accept HTTP only from the ALB', () => {
    expect(only(synthesized, 'aws_lb')).toEqual(expect.objectContaining({ name: 'dg-dev-alb', load_balancer_type: 'application', drop_invalid_header_fields: true }));
    expect(only(synthesized, 'aws_lb_listener').default_action).toEqual([{ type: 'forward', target_group_arn: expect.stringContaining('aws_lb_target_group.') }]);
    const fromAlb = Object.values(resources(synthesized, 'aws_vpc_security_group_ingress_rule')).find((rule) => rule.description === 'HTTP from the load balancer');
    expect(fromAlb).toEqual(expect.objectContaining({ referenced_security_group_id: expect.stringContaining('alb-security-group'), from_port: 80, to_port: 80 }));
  });

  it('launches encrypted, IMDSv2-only instances from the given AMI in an Auto Scaling group behind the target group', () => {
    const template = only(synthesized, 'aws_launch_template');
    expect(template).toEqual(expect.objectContaining({ image_id: 'ami-0123456789abcdef0', instance_type: 't3.micro', metadata_options: expect.objectContaining({ http_tokens: 'required' }) }));
    expect(template.block_device_mappings).toEqual([{ device_name: '/dev/xvda', ebs: expect.objectContaining({ encrypted: 'true', kms_key_id: KMS_KEY_ARN }) }]);
    expect(only(synthesized, 'aws_autoscaling_group')).toEqual(expect.objectContaining({ name: 'dg-dev-example', health_check_type: 'ELB', target_group_arns: [expect.stringContaining('aws_lb_target_group.')] }));
    expect(policyStatements(synthesized, 'codedeploy-agent')).toEqual([{ Sid: 'CodeDeployAgent', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::aws-codedeploy-us-east-1/*' }]);
  });

  it('is guarded in gate mode: the group copies the Auto Scaling group and waits at READY for Deploy Guard, stopping on its 5XX alarm', () => {
    const group = only(synthesized, 'aws_codedeploy_deployment_group');
    expect(group).toEqual(expect.objectContaining({ deployment_group_name: 'blue-green', autoscaling_groups: [expect.stringContaining('aws_autoscaling_group.')] }));
    expect(group.blue_green_deployment_config).toEqual(expect.objectContaining({
      green_fleet_provisioning_option: { action: 'COPY_AUTO_SCALING_GROUP' },
      deployment_ready_option: { action_on_timeout: 'STOP_DEPLOYMENT', wait_time_in_minutes: 60 },
    }));
    expect(group.alarm_configuration).toEqual({ enabled: true, alarms: [expect.stringContaining('aws_cloudwatch_metric_alarm.')] });
    expect(only(synthesized, 'aws_codedeploy_app')).toEqual(expect.objectContaining({ name: 'dg-dev-example', compute_platform: 'Server' }));
  });

  it('uses no data source', () => {
    expect((synthesized.json as Record<string, unknown>).data).toBeUndefined();
  });
});

describe('ExampleGuardedService in shadow mode', () => {
  const synthesized = synth((scope) => void new ExampleGuardedService(scope, 'example', { ...base, mode: 'shadow', applicationName: 'web', deploymentGroupName: 'web-bg' }));

  it('does not wait at READY: the deployment continues while Deploy Guard only assesses it', () => {
    const group = only(synthesized, 'aws_codedeploy_deployment_group');
    expect(group).toEqual(expect.objectContaining({ app_name: expect.stringContaining('aws_codedeploy_app.'), deployment_group_name: 'web-bg' }));
    expect((group.blue_green_deployment_config as Record<string, unknown>).deployment_ready_option).toEqual({ action_on_timeout: 'CONTINUE_DEPLOYMENT' });
    expect(only(synthesized, 'aws_codedeploy_app').name).toBe('web');
  });
});

describe('ExampleGuardedService props', () => {
  it.each<[string, Partial<ExampleGuardedServiceProps>, string]>([
    ['one zone twice', { availabilityZones: ['us-east-1a', 'us-east-1a'] }, 'ExampleGuardedService availabilityZones must name two different zones, got ["us-east-1a","us-east-1a"]'],
    ['a zone of another region', { availabilityZones: ['us-east-1a', 'eu-west-1b'] }, "ExampleGuardedService availability zone 'eu-west-1b' is not a zone of region 'us-east-1' (e.g. 'us-east-1a')"],
    ['a bad AMI id', { amiId: 'ami-xyz' }, "ExampleGuardedService amiId must look like 'ami-0123456789abcdef0', got 'ami-xyz'"],
    ['a VPC that is not a /16', { vpcCidr: '10.0.0.0/24' }, "ExampleGuardedService vpcCidr must be a /16 of the form a.b.0.0/16, got '10.0.0.0/24'"],
    ['a name prefix too long for the load balancer', { namePrefix: 'deploy-guard-development-x' }, "ExampleGuardedService namePrefix 'deploy-guard-development-x' must be 1 to 24 lowercase letters, digits or hyphens, starting and ending with a letter or digit"],
    ['no ingress CIDR', { allowedIngressCidrs: [] }, 'ExampleGuardedService allowedIngressCidrs must name at least one CIDR'],
    ['a READY wait outside gate mode', { mode: 'stop', readyWaitMinutes: 10 }, 'ExampleGuardedService readyWaitMinutes applies only in gate mode, not stop'],
  ])('rejects %s', (_case, override, message) => {
    expect(() => synth((scope) => void new ExampleGuardedService(scope, 'example', { ...base, ...override }))).toThrow(message);
  });
});
