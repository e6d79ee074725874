import { systemRules } from '../../events/patterns';
import { ENV, groupPolicies, promotionSettings, retrainingSettings } from '../../handlers/config';
import { HANDLER_NAMES, type HandlerName } from '../../handlers/entries';
import { synthesizeAll } from './synth-support';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const { stacks } = synthesizeAll();
const dev = stacks.find((stack) => stack.name === 'deploy-guard-dev')!;
const resources = dev.json.resource as Resources;
const functionsByHandler = Object.fromEntries(
  Object.entries(resources.aws_lambda_function).map(([name, fn]) => [(fn.tags as Record<string, string>)['deploy-guard-handler'], { name, fn }]),
);

describe('DeployGuardStack (deploy-guard.config.json)', () => {
  it('synthesizes one stack per environment', () => {
    expect(stacks.map((stack) => stack.name)).toEqual(['deploy-guard-dev', 'deploy-guard-staging', 'deploy-guard-prod']);
  });

  it('runs every handler, tagged with its name; the traffic hook is named for CodeDeploy', () => {
    expect(Object.keys(functionsByHandler).sort()).toEqual([...HANDLER_NAMES].sort());
    expect(functionsByHandler['traffic-hook'].fn.function_name).toBe('CodeDeployHook_deploy-guard-dev-hook');
  });

  it('delivers every rule of events/patterns.ts to its handler, by the function ARN (notifications through the notify handler)', () => {
    const targets = Object.values(resources.aws_cloudwatch_event_target);
    for (const rule of systemRules({ namePrefix: 'deploy-guard-dev' })) {
      const target = targets.find((candidate) => String(candidate.rule).includes(`_rule-${rule.name}_`));
      expect({ rule: rule.name, arn: target?.arn }).toEqual({ rule: rule.name, arn: `\${aws_lambda_function.${functionsByHandler[rule.target as HandlerName].name}.arn}` });
    }
  });

  it('retrains every 180 days: a schedule rule on the default bus, delivered to drift like every rule, whose ARN drift matches', () => {
    const [logicalId, rule] = Object.entries(resources.aws_cloudwatch_event_rule).find(([, candidate]) => candidate.name === 'deploy-guard-dev-retraining-schedule')!;
    expect(rule).toEqual(expect.objectContaining({ event_bus_name: 'default', schedule_expression: 'rate(180 days)' }));
    const target = Object.values(resources.aws_cloudwatch_event_target).find((candidate) => candidate.rule === `\${aws_cloudwatch_event_rule.${logicalId}.name}`);
    expect(target).toEqual(
      expect.objectContaining({
        arn: `\${aws_lambda_function.${functionsByHandler.drift.name}.arn}`,
        retry_policy: { maximum_retry_attempts: 185, maximum_event_age_in_seconds: 3600 },
        dead_letter_config: { arn: expect.stringMatching(/^\$\{aws_sqs_queue\..*retraining-schedule.*\.arn\}$/) },
      }),
    );
    const permission = Object.values(resources.aws_lambda_permission).find((candidate) => candidate.source_arn === `\${aws_cloudwatch_event_rule.${logicalId}.arn}`);
    expect(permission).toEqual(expect.objectContaining({ principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', statement_id: 'events-retraining-schedule' }));
    const variables = (functionsByHandler.drift.fn.environment as { variables: Record<string, string> }).variables;
    expect(JSON.parse(variables[ENV.retraining]).schedule).toEqual({ ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-retraining-schedule', days: 180 });
  });

  it("gives the handlers configuration their own schemas accept", () => {
    const env = (handler: string) => ((functionsByHandler[handler].fn.environment as { variables: Record<string, string> }).variables);
    expect(groupPolicies.parse(JSON.parse(env('predict')[ENV.groups]))).toHaveLength(2);
    // Role ARNs are Terraform references at synthesis: swap them for ARNs to check the rest.
    const resolve = (text: string) => JSON.parse(text.replace(/\$\{aws_iam_role\.[^}]+\}/g, 'arn:aws:iam::123456789012:role/r'));
    expect(retrainingSettings.parse(resolve(env('drift')[ENV.retraining]))).toMatchObject({ instanceType: 'ml.m5.large', dataWindowDays: 1825, imageUri: expect.stringMatching(/sagemaker-xgboost:1\.7-1$/) });
    expect(promotionSettings.parse(resolve(env('promote')[ENV.promotion]))).toMatchObject({ minimumAuc: 0.6, hosting: { kind: 'serverless', memorySizeInMb: 2048 } });
  });

  it("prod: promote's endpoint configurations carry what the stack's own declares (the KMS key, the capture sampling), and manual approval", () => {
    const prod = stacks.find((stack) => stack.name === 'deploy-guard-prod')!;
    const prodResources = prod.json.resource as Resources;
    const promote = Object.values(prodResources.aws_lambda_function).find((fn) => (fn.tags as Record<string, string>)['deploy-guard-handler'] === 'promote')!;
    const settings = JSON.parse((promote.environment as { variables: Record<string, string> }).variables[ENV.promotion]);
    const declared = Object.values(prodResources.aws_sagemaker_endpoint_configuration)[0] as { kms_key_arn: string; data_capture_config: { initial_sampling_percentage: number; destination_s3_uri: string; kms_key_id: string } };
    expect(settings.approval).toBe('PendingManualApproval');
    expect(settings.hosting).toMatchObject({
      kind: 'provisioned',
      kmsKeyArn: declared.kms_key_arn,
      dataCaptureS3Uri: declared.data_capture_config.destination_s3_uri,
      dataCaptureSamplingPercentage: 20,
    });
    expect(declared.data_capture_config.initial_sampling_percentage).toBe(20);
    expect(declared.data_capture_config.kms_key_id).toBe(declared.kms_key_arn);
  });

  it("delivers the approval of a package of the installation's group to promote", () => {
    const rule = Object.values(resources.aws_cloudwatch_event_rule).find((candidate) => candidate.name === 'deploy-guard-dev-model-package-approved')!;
    expect(JSON.parse(String(rule.event_pattern))).toEqual({
      source: ['aws.sagemaker'],
      'detail-type': ['SageMaker Model Package State Change'],
      detail: { ModelPackageGroupName: ['deploy-guard-dev-risk'], ModelApprovalStatus: ['Approved'] },
    });
    expect(systemRules({ namePrefix: 'deploy-guard-dev' }).find((candidate) => candidate.name === 'model-package-approved')?.target).toBe('promote');
  });

  it('scopes predict to the guarded groups, its endpoint and its bus', () => {
    const policy = Object.values(resources.aws_iam_role_policy).find((candidate) => candidate.name === 'deploy-guard-dev-predict')!;
    const statements = JSON.parse(String(policy.policy)).Statement as { Sid: string; Resource: string[] }[];
    const of = (sid: string) => statements.find((statement) => statement.Sid === sid)?.Resource;
    expect(of('ReadGuardedDeployments')).toEqual([
      'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:payments/payments-prod',
      'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:deploy-guard-dev-example/blue-green',
    ]);
    expect(of('ScoreWithEndpoint')).toEqual(['arn:aws:sagemaker:us-east-1:123456789012:endpoint/deploy-guard-dev-risk']);
    expect(of('PublishOnOwnBus')).toEqual(['arn:aws:events:us-east-1:123456789012:event-bus/deploy-guard-dev']);
  });

  describe("the example service (dev's `example`)", () => {
    const exampleGroup = { application: 'deploy-guard-dev-example', deploymentGroup: 'blue-green', platform: 'Server', mode: 'gate', blockBudget: 0.1, exploration: 0.02, cutScope: 'installation', failurePolicy: 'fail-open' };
    const exampleArn = 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:deploy-guard-dev-example/blue-green';
    const statements = (functionName: string) =>
      JSON.parse(String(Object.values(resources.aws_iam_role_policy).find((candidate) => candidate.name === functionName)!.policy)).Statement as { Sid: string; Resource: string[] }[];

    it('is created: a VPC, a load balancer and an Auto Scaling group of the configured AMI, in the configured zones', () => {
      expect(Object.values(resources.aws_subnet).map((subnet) => subnet.availability_zone)).toEqual(['us-east-1a', 'us-east-1b']);
      expect(Object.values(resources.aws_lb).map((lb) => lb.name)).toEqual(['deploy-guard-dev-alb']);
      expect(Object.values(resources.aws_launch_template)).toEqual([expect.objectContaining({ image_id: 'ami-0abcdef1234567890', instance_type: 't3.micro' })]);
      expect(Object.values(resources.aws_autoscaling_group).map((group) => group.name)).toEqual(['deploy-guard-dev-example']);
      expect(Object.values(resources.aws_vpc_security_group_ingress_rule).filter((rule) => rule.description === 'HTTP from clients').map((rule) => rule.cidr_ipv4)).toEqual(['0.0.0.0/0']);
      expect(dev.json.output).toEqual(expect.objectContaining({ example_url: expect.objectContaining({ value: expect.stringMatching(/^http:\/\/\$\{aws_lb\..+\.dns_name\}\/$/) }) }));
    });

    it('has a blue/green group in the configured mode, waiting at READY and keeping the blue fleet as configured', () => {
      const groups = Object.values(resources.aws_codedeploy_deployment_group);
      expect(groups).toHaveLength(1);
      expect(groups[0]).toEqual(expect.objectContaining({ deployment_group_name: 'blue-green', autoscaling_groups: [expect.stringContaining('aws_autoscaling_group.')] }));
      expect(groups[0].blue_green_deployment_config).toEqual(
        expect.objectContaining({
          deployment_ready_option: { action_on_timeout: 'STOP_DEPLOYMENT', wait_time_in_minutes: 30 },
          terminate_blue_instances_on_deployment_success: { action: 'TERMINATE', termination_wait_time_in_minutes: 5 },
        }),
      );
      expect(Object.values(resources.aws_codedeploy_app).map((app) => app.name)).toEqual(['deploy-guard-dev-example']);
    });

    it.each(['predict', 'traffic-hook', 'rollback'])('is guarded by %s: in its DEPLOY_GUARD_GROUPS, after the configured group', (handler) => {
      const variables = (functionsByHandler[handler].fn.environment as { variables: Record<string, string> }).variables;
      expect(groupPolicies.parse(JSON.parse(variables[ENV.groups]))).toEqual([expect.objectContaining({ application: 'payments' }), exampleGroup]);
    });

    it("lets predict read, the traffic hook report on, and rollback stop or continue the example's deployments", () => {
      const of = (functionName: string, sid: string) => statements(functionName).find((statement) => statement.Sid === sid)?.Resource;
      expect(of('deploy-guard-dev-predict', 'ReadGuardedDeployments')).toContain(exampleArn);
      expect(of('CodeDeployHook_deploy-guard-dev-hook', 'ReportHookStatus')).toContain(exampleArn);
      expect(of('deploy-guard-dev-rollback', 'ActOnGuardedDeployments')).toContain(exampleArn);
    });

    it('is only where configured: staging has one, prod none; no stack reads a data source', () => {
      const of = (name: string) => stacks.find((stack) => stack.name === name)!.json as { resource: Resources; data?: unknown };
      expect(Object.values(of('deploy-guard-staging').resource.aws_lb ?? {}).map((lb) => lb.name)).toEqual(['deploy-guard-staging-alb']);
      expect(of('deploy-guard-prod').resource.aws_lb).toBeUndefined();
      expect(stacks.map((stack) => (stack.json as { data?: unknown }).data)).toEqual([undefined, undefined, undefined]);
    });
  });

  describe('the handlers that act while a deployment runs', () => {
    const of = (stackName: string) => {
      const stackResources = stacks.find((stack) => stack.name === stackName)!.json.resource as Resources;
      const byHandler = (handler: string) => Object.entries(stackResources.aws_lambda_function).find(([, fn]) => (fn.tags as Record<string, string>)['deploy-guard-handler'] === handler)!;
      return { stackResources, byHandler };
    };

    it.each(stacks.map((stack) => stack.name))('%s reserves concurrency for predict, traffic-hook and rollback (the defaults 10, 10, 5) and for nothing else', (stackName) => {
      const { stackResources } = of(stackName);
      const reserved = Object.fromEntries(
        Object.values(stackResources.aws_lambda_function).map((fn) => [(fn.tags as Record<string, string>)['deploy-guard-handler'], fn.reserved_concurrent_executions]),
      );
      expect(reserved).toEqual({ predict: 10, 'traffic-hook': 10, rollback: 5, 'record-change': undefined, 'record-outcome': undefined, drift: undefined, promote: undefined });
    });

    // dev and staging: the example waits 30 minutes at READY; prod's storefront 60. A minute is left for the rollback handler.
    it.each([
      ['deploy-guard-dev', 29 * 60],
      ['deploy-guard-staging', 29 * 60],
      ['deploy-guard-prod', 59 * 60],
    ])("%s lets predict's events expire before the shortest READY wait: %i s", (stackName, age) => {
      const { stackResources, byHandler } = of(stackName);
      const [predictName] = byHandler('predict');
      const invoke = Object.values(stackResources.aws_lambda_function_event_invoke_config).find((config) => String(config.function_name).includes(`aws_lambda_function.${predictName}.`))!;
      expect(invoke.maximum_event_age_in_seconds).toBe(age);
      const predictTargets = Object.values(stackResources.aws_cloudwatch_event_target).filter((target) => target.arn === `\${aws_lambda_function.${predictName}.arn}`);
      expect(predictTargets.length).toBeGreaterThan(0);
      for (const target of predictTargets) expect((target.retry_policy as { maximum_event_age_in_seconds: number }).maximum_event_age_in_seconds).toBe(age);
    });
  });

  it("lets prod's created blue/green group pass exactly its instances' role to the green fleet (create.instanceRole)", () => {
    const prod = stacks.find((stack) => stack.name === 'deploy-guard-prod')!.json.resource as Resources;
    const policies = Object.values(prod.aws_iam_role_policy).filter((policy) => policy.name === 'copy-auto-scaling-group');
    expect(policies).toHaveLength(1);
    const statements = JSON.parse(String(policies[0].policy)).Statement as { Sid?: string; Action: string[]; Resource: string[]; Condition?: unknown }[];
    expect(statements.find((statement) => statement.Action.includes('iam:PassRole'))).toEqual({
      Sid: 'PassInstanceRole',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: ['arn:aws:iam::123456789012:role/storefront-instances'],
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
  });

  it.each(stacks.map((stack) => [stack.name, stack.json] as const))('%s matches its snapshot (hashes, asset paths and uploaded file contents masked)', (_name, json) => {
    // The notebooks and the training script are uploaded inline (content_base64): their content is
    // the project's files, not the stack's shape, so it is masked like a hash.
    const masked = JSON.stringify(json)
      .replace(/"content_base64":"[^"]+"/g, '"content_base64":"<masked>"')
      .replace(/assets\/[^"]+?\.zip/g, 'assets/<masked>.zip')
      // The first model's files are assets too: their folder is named by their content's hash.
      .replace(/(assets\/[^/"]+\/)[0-9A-F]{32}\//g, '$1<hash>/')
      .replace(/"source_code_hash":"[^"]+"/g, '"source_code_hash":"<masked>"')
      .replace(/[0-9a-f]{16,64}/g, '<hash>');
    expect(JSON.parse(masked)).toMatchSnapshot();
  });
});
