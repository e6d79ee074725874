import { systemRules } from '../../events/patterns';
import { ENV, groupPolicies, promotionSettings, retrainingSettings } from '../../handlers/config';
import { HANDLER_NAMES } from '../../handlers/entries';
import { RULE_TARGETS } from '../../stacks/deploy-guard-stack';
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

  it('delivers every rule of events/patterns.ts to its handler, by the function ARN, or to the topic', () => {
    const targets = Object.values(resources.aws_cloudwatch_event_target);
    for (const rule of systemRules({ namePrefix: 'deploy-guard-dev' })) {
      const target = targets.find((candidate) => String(candidate.rule).includes(`_rule-${rule.name}_`));
      const expected = rule.target === 'notify' ? /^\$\{aws_sns_topic\./ : `\${aws_lambda_function.${functionsByHandler[RULE_TARGETS[rule.name]].name}.arn}`;
      expect({ rule: rule.name, arn: target?.arn }).toEqual({ rule: rule.name, arn: typeof expected === 'string' ? expected : expect.stringMatching(expected) });
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
