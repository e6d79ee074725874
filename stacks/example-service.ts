import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import type { GuardMode } from '../events/emitted';
import { ec2InstanceTrustPolicy, objectsArn, policyDocument, validateAccountId, validateArn, validateNamePrefix, validateRegion, type PolicyStatement } from './construct-support';
import { GuardedDeploymentGroup } from './guarded-deployment-group';
import { awsDnsSuffix, awsPartition } from './image-uris';
import { ownName } from '../events/names';

const NAME = 'ExampleGuardedService';

export interface ExampleGuardedServiceProps {
  /** Prefix of every physical name; at most 24 characters (load balancer names are limited to 32). */
  readonly namePrefix: string;
  readonly region: string;
  readonly accountId: string;
  /** Exactly two availability zones of the region (passed in: no lookup needs AWS). */
  readonly availabilityZones: readonly [string, string];
  /** An Amazon Linux 2023 AMI id of the region (passed in: no lookup needs AWS). */
  readonly amiId: string;
  /** @default 't3.micro' */
  readonly instanceType?: string;
  /** A /16 of the form a.b.0.0/16; the subnets are a.b.0.0/24 and a.b.1.0/24. @default '10.20.0.0/16' */
  readonly vpcCidr?: string;
  /** Who may reach the load balancer on port 80. @default ['0.0.0.0/0'] */
  readonly allowedIngressCidrs?: readonly string[];
  /** Encrypts the instances' volumes; the account's default EBS key when not given. */
  readonly kmsKeyArn?: string;
  /** The bucket holding the application's revisions (the instances download them). */
  readonly revisionBucketName?: string;
  /** @default `${namePrefix}-example` */
  readonly applicationName?: string;
  /** @default 'blue-green' */
  readonly deploymentGroupName?: string;
  /** How Deploy Guard guards the group (shadow, stop or gate). @default 'gate' */
  readonly mode?: GuardMode;
  /** Gate mode only: minutes the group waits at READY for Deploy Guard. @default 60 */
  readonly readyWaitMinutes?: number;
  /** Minutes the blue fleet is kept after success (the rollback window). @default 60 */
  readonly terminationWaitMinutes?: number;
}

/**
 * A small EC2 service deployed blue/green by CodeDeploy and guarded by Deploy Guard (in gate mode by
 * default; DeployGuardStack creates it from an environment's `example` configuration): a
 * VPC with two public subnets, an internet gateway, an Application Load Balancer with a target group
 * and listener, a launch template (encrypted volumes, IMDSv2, the CodeDeploy agent installed at
 * boot), an Auto Scaling group, a 5XX alarm, and the GuardedDeploymentGroup over them.
 *
 * CodeDeploy replaces the Auto Scaling group on every blue/green deployment (it copies it and deletes
 * the original), so after the first deployment Terraform's group is gone and a later apply recreates
 * it; the example is meant for trying Deploy Guard out, not as a production pattern.
 */
export class ExampleGuardedService extends Construct {
  readonly vpc: Vpc;
  readonly subnets: readonly Subnet[];
  readonly loadBalancer: Lb;
  readonly targetGroup: LbTargetGroup;
  readonly listener: LbListener;
  readonly launchTemplate: LaunchTemplate;
  readonly autoScalingGroup: AutoscalingGroup;
  readonly instanceRole: IamRole;
  readonly errorsAlarm: CloudwatchMetricAlarm;
  readonly guardedGroup: GuardedDeploymentGroup;

  constructor(scope: Construct, id: string, props: ExampleGuardedServiceProps) {
    super(scope, id);
    validateProps(props);
    const { namePrefix, region, accountId } = props;
    const partition = awsPartition(region);
    const [a, b] = (props.vpcCidr ?? '10.20.0.0/16').split('.');
    const mode = props.mode ?? 'gate';

    this.vpc = new Vpc(this, 'vpc', { cidrBlock: `${a}.${b}.0.0/16`, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: ownName(namePrefix, 'example') } });
    const gateway = new InternetGateway(this, 'internet-gateway', { vpcId: this.vpc.id, tags: { Name: ownName(namePrefix, 'example') } });
    const routes = new RouteTable(this, 'public-routes', {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }],
      tags: { Name: ownName(namePrefix, 'example-public') },
    });
    this.subnets = props.availabilityZones.map((zone, index) => {
      const subnet = new Subnet(this, `public-${index}`, {
        vpcId: this.vpc.id,
        availabilityZone: zone,
        cidrBlock: `${a}.${b}.${index}.0/24`,
        mapPublicIpOnLaunch: true,
        tags: { Name: ownName(namePrefix, `example-public-${zone}`) },
      });
      new RouteTableAssociation(this, `public-${index}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet;
    });

    const albGroup = new SecurityGroup(this, 'alb-security-group', { name: ownName(namePrefix, 'example-alb'), description: 'Example service load balancer: HTTP in, to the instances', vpcId: this.vpc.id });
    const instanceGroup = new SecurityGroup(this, 'instance-security-group', { name: ownName(namePrefix, 'example-instances'), description: 'Example service instances: HTTP from the load balancer', vpcId: this.vpc.id });
    (props.allowedIngressCidrs ?? ['0.0.0.0/0']).forEach((cidr, index) => {
      new VpcSecurityGroupIngressRule(this, `alb-ingress-${index}`, { securityGroupId: albGroup.id, cidrIpv4: cidr, ipProtocol: 'tcp', fromPort: 80, toPort: 80, description: 'HTTP from clients' });
    });
    new VpcSecurityGroupEgressRule(this, 'alb-to-instances', { securityGroupId: albGroup.id, referencedSecurityGroupId: instanceGroup.id, ipProtocol: 'tcp', fromPort: 80, toPort: 80, description: 'HTTP to the instances' });
    new VpcSecurityGroupIngressRule(this, 'instances-from-alb', { securityGroupId: instanceGroup.id, referencedSecurityGroupId: albGroup.id, ipProtocol: 'tcp', fromPort: 80, toPort: 80, description: 'HTTP from the load balancer' });
    // The agent, its updates, packages and revisions come from S3 and CodeDeploy over HTTPS.
    new VpcSecurityGroupEgressRule(this, 'instances-https-out', { securityGroupId: instanceGroup.id, cidrIpv4: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS to AWS endpoints' });

    this.loadBalancer = new Lb(this, 'alb', {
      name: ownName(namePrefix, 'alb'),
      loadBalancerType: 'application',
      internal: false,
      securityGroups: [albGroup.id],
      subnets: this.subnets.map((subnet) => subnet.id),
      dropInvalidHeaderFields: true,
    });
    this.targetGroup = new LbTargetGroup(this, 'target-group', {
      name: ownName(namePrefix, 'tg'),
      port: 80,
      protocol: 'HTTP',
      targetType: 'instance',
      vpcId: this.vpc.id,
      deregistrationDelay: '30',
      healthCheck: { path: '/', protocol: 'HTTP', matcher: '200', interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
    });
    this.listener = new LbListener(this, 'listener', {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });

    this.instanceRole = new IamRole(this, 'instance-role', {
      name: ownName(namePrefix, 'example-instance'),
      description: 'Example service instances: the CodeDeploy agent downloads itself and the revisions',
      assumeRolePolicy: ec2InstanceTrustPolicy(),
    });
    const statements: PolicyStatement[] = [
      { Sid: 'CodeDeployAgent', Action: ['s3:GetObject'], Resource: objectsArn(partition, `aws-codedeploy-${region}`) },
    ];
    if (props.revisionBucketName) statements.push({ Sid: 'Revisions', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objectsArn(partition, props.revisionBucketName) });
    if (props.kmsKeyArn && props.revisionBucketName) statements.push({ Sid: 'DecryptRevisions', Action: ['kms:Decrypt'], Resource: props.kmsKeyArn });
    new IamRolePolicy(this, 'instance-policy', { name: 'codedeploy-agent', role: this.instanceRole.id, policy: policyDocument(statements) });
    const profile = new IamInstanceProfile(this, 'instance-profile', { name: ownName(namePrefix, 'example-instance'), role: this.instanceRole.name });

    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      name: ownName(namePrefix, 'example'),
      imageId: props.amiId,
      instanceType: props.instanceType ?? 't3.micro',
      iamInstanceProfile: { arn: profile.arn },
      vpcSecurityGroupIds: [instanceGroup.id],
      metadataOptions: { httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [
        { deviceName: '/dev/xvda', ebs: { volumeSize: 8, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true', ...(props.kmsKeyArn ? { kmsKeyId: props.kmsKeyArn } : {}) } },
      ],
      userData: Fn.base64encode(userData(region)),
      tagSpecifications: [{ resourceType: 'instance', tags: { Name: ownName(namePrefix, 'example') } }],
    });
    this.autoScalingGroup = new AutoscalingGroup(this, 'auto-scaling-group', {
      name: ownName(namePrefix, 'example'),
      minSize: 1,
      maxSize: 2,
      desiredCapacity: 1,
      vpcZoneIdentifier: this.subnets.map((subnet) => subnet.id),
      targetGroupArns: [this.targetGroup.arn],
      healthCheckType: 'ELB',
      healthCheckGracePeriod: 120,
      launchTemplate: { id: this.launchTemplate.id, version: '$Latest' },
    });

    this.errorsAlarm = new CloudwatchMetricAlarm(this, 'errors-alarm', {
      alarmName: ownName(namePrefix, 'example-5xx'),
      alarmDescription: 'Example service answers 5XX: stops and rolls back its deployment',
      namespace: 'AWS/ApplicationELB',
      metricName: 'HTTPCode_Target_5XX_Count',
      dimensions: { LoadBalancer: this.loadBalancer.arnSuffix, TargetGroup: this.targetGroup.arnSuffix },
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 2,
      threshold: 5,
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'notBreaching',
    });

    this.guardedGroup = new GuardedDeploymentGroup(this, 'guarded-group', {
      namePrefix,
      region,
      accountId,
      applicationName: props.applicationName ?? ownName(namePrefix, 'example'),
      deploymentGroupName: props.deploymentGroupName ?? 'blue-green',
      platform: 'Server',
      mode,
      server: { autoScalingGroupNames: [this.autoScalingGroup.name], targetGroupName: this.targetGroup.name, instanceRoleArns: [this.instanceRole.arn] },
      alarmNames: [this.errorsAlarm.alarmName],
      ...(mode === 'gate' ? { readyWaitMinutes: props.readyWaitMinutes ?? 60 } : {}),
      terminationWaitMinutes: props.terminationWaitMinutes ?? 60,
    });
  }
}

/**
 * Boot script: installs the CodeDeploy agent of the region and serves a placeholder page until the
 * first revision is deployed. No `${` here: Terraform would read it as an interpolation.
 */
function userData(region: string): string {
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'dnf install -y ruby wget httpd',
    'cd /tmp',
    `wget -q 'https://aws-codedeploy-${region}.s3.${region}.${awsDnsSuffix(region)}/latest/install'`,
    'chmod +x ./install',
    './install auto',
    "echo 'example service: waiting for its first deployment' > /var/www/html/index.html",
    'systemctl enable --now httpd',
    '',
  ].join('\n');
}

function validateProps(props: ExampleGuardedServiceProps): void {
  validateNamePrefix(NAME, props.namePrefix, 24);
  validateRegion(NAME, props.region);
  validateAccountId(NAME, props.accountId);
  if (props.kmsKeyArn !== undefined) validateArn(NAME, 'kmsKeyArn', props.kmsKeyArn, 'kms');
  const zones = props.availabilityZones;
  if (zones.length !== 2 || zones[0] === zones[1]) throw new Error(`${NAME} availabilityZones must name two different zones, got ${JSON.stringify(zones)}`);
  for (const zone of zones) {
    if (!zone.startsWith(props.region) || !/^[a-z]$/.test(zone.slice(props.region.length))) {
      throw new Error(`${NAME} availability zone '${zone}' is not a zone of region '${props.region}' (e.g. '${props.region}a')`);
    }
  }
  if (!/^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(props.amiId)) throw new Error(`${NAME} amiId must look like 'ami-0123456789abcdef0', got '${props.amiId}'`);
  const cidr = props.vpcCidr ?? '10.20.0.0/16';
  const match = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  if (!match || Number(match[1]) > 255 || Number(match[2]) > 255) throw new Error(`${NAME} vpcCidr must be a /16 of the form a.b.0.0/16, got '${cidr}'`);
  for (const ingress of props.allowedIngressCidrs ?? []) {
    if (!/^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/.test(ingress)) throw new Error(`${NAME} allowedIngressCidrs entry '${ingress}' is not an IPv4 CIDR`);
  }
  if ((props.allowedIngressCidrs ?? ['0.0.0.0/0']).length === 0) throw new Error(`${NAME} allowedIngressCidrs must name at least one CIDR`);
  if (props.readyWaitMinutes !== undefined && (props.mode ?? 'gate') !== 'gate') throw new Error(`${NAME} readyWaitMinutes applies only in gate mode, not ${props.mode}`);
}
