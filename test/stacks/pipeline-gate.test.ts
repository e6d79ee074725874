import { Testing } from 'cdktf';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { gateUserParameters } from '../../events/pipeline-gate';
import { HANDLER_DECLARATIONS } from '../../handlers/declarations';
import { environmentConfig } from '../../stacks/config';
import { PipelineGate, type PipelineGateProps } from '../../stacks/pipeline-gate';
import { isAllowed, roleStatements } from '../../stacks/policy-check';
import { only, synth } from './construct-synth';
import { synthesizeAll } from './synth-support';

/** The pipeline gate: the construct a pipeline takes its stage and IAM statement from, its configuration, and the gate function's role in the dev stack. */
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:deploy-guard-dev-pipeline-gate';
const props: PipelineGateProps = { functionName: 'deploy-guard-dev-pipeline-gate', functionArn: FUNCTION_ARN, application: 'checkout', deploymentGroup: 'checkout-prod' };

describe('PipelineGate (stacks/pipeline-gate.ts)', () => {
  const gateOf = (override: Partial<PipelineGateProps> = {}) => {
    let gate: PipelineGate | undefined;
    const synthesized = synth((scope) => void (gate = new PipelineGate(scope, 'gate', { ...props, ...override })));
    return { gate: gate!, synthesized };
  };

  it('gives the stage of a Lambda invoke action of the gate function, before the Deploy stage, its UserParameters naming the group, the commit and the execution', () => {
    const { gate } = gateOf({ sourceVariablesNamespace: 'SourceVariables' });
    expect(gate.stage).toEqual({
      name: 'DeployGuardGate',
      action: [{ name: 'DeployGuardRisk', category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1', inputArtifacts: ['SourceArtifact'], configuration: { FunctionName: 'deploy-guard-dev-pipeline-gate', UserParameters: gate.userParameters } }],
    });
    expect(JSON.parse(gate.userParameters)).toEqual({ application: 'checkout', deploymentGroup: 'checkout-prod', revision: { commitId: '#{SourceVariables.CommitId}' }, pipelineExecutionId: '#{codepipeline.PipelineExecutionId}' });
    // What the gate's own schema accepts, once CodePipeline has resolved the variables.
    expect(gateUserParameters.safeParse(JSON.parse(gate.userParameters.replace('#{SourceVariables.CommitId}', 'abc123'))).success).toBe(true);
    expect(gate.stageJson).toMatchObject({ name: 'DeployGuardGate', actions: [{ actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' }, inputArtifacts: [{ name: 'SourceArtifact' }] }] });
  });

  it("states the pipeline role's one statement, lambda:InvokeFunction on the gate function, and attaches it only to a named role", () => {
    const without = gateOf();
    expect(without.gate.invokeStatement).toEqual({ Sid: 'InvokeDeployGuardPipelineGate', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: FUNCTION_ARN });
    expect(without.synthesized.json.resource).toBeUndefined();
    const attached = gateOf({ pipelineRoleName: 'checkout-pipeline-role' });
    const policy = only(attached.synthesized, IamRolePolicy.tfResourceType);
    expect(policy.role).toBe('checkout-pipeline-role');
    expect(JSON.parse(String(policy.policy)).Statement).toEqual([attached.gate.invokeStatement]);
  });

  it.each([
    [{ functionArn: 'arn:aws:sqs:us-east-1:123456789012:queue' }, 'PipelineGate functionArn must be an ARN of service lambda'],
    [{ functionName: 'not a name' }, 'PipelineGate functionName must be a Lambda function name'],
    [{ deploymentGroup: '' }, 'PipelineGate application and deploymentGroup must be non-empty'],
    [{ stageName: 'Deploy Guard' }, "PipelineGate stageName must be 1 to 100 letters, digits or . @ - _ (a CodePipeline name), got 'Deploy Guard'"],
    [{ pipelineRoleName: 'role/with/slashes' }, 'PipelineGate pipelineRoleName must be an IAM role name'],
  ])('refuses %p', (override, message) => {
    expect(() => Testing.synthScope((scope) => void new PipelineGate(scope, 'gate', { ...props, ...override }))).toThrow(message);
  });
});

describe('pipelineGates in the configuration', () => {
  const base = { region: 'us-east-1', accountId: '123456789012', namePrefix: 'deploy-guard-test', groups: [{ application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'gate', existing: true }] };
  it('names a group the environment guards, once', () => {
    expect(environmentConfig.safeParse({ ...base, pipelineGates: [{ application: 'checkout', deploymentGroup: 'checkout-prod' }] }).success).toBe(true);
    const unknown = environmentConfig.safeParse({ ...base, pipelineGates: [{ application: 'checkout', deploymentGroup: 'checkout-staging' }] });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0]).toMatchObject({ path: ['pipelineGates', 0], message: 'expected a group this environment guards (checkout/checkout-prod); checkout/checkout-staging is not one' });
    const twice = environmentConfig.safeParse({ ...base, pipelineGates: [{ application: 'checkout', deploymentGroup: 'checkout-prod' }, { application: 'checkout', deploymentGroup: 'checkout-prod' }] });
    expect(twice.error?.issues[0]).toMatchObject({ path: ['pipelineGates', 1], message: "expected each group's gate once; checkout/checkout-prod is gated twice" });
  });
});

describe('the pipeline-gate function of the dev stack', () => {
  const { stacks } = synthesizeAll();
  const dev = stacks.find((stack) => stack.name === 'deploy-guard-dev')!.json as { resource: Record<string, Record<string, Record<string, unknown>>>; output: Record<string, { value: unknown }> };
  const statements = roleStatements(dev, 'deploy-guard-dev-pipeline-gate');
  const allowed = (action: string, resource: string, context: Record<string, string> = {}) => isAllowed(statements as never, { action, resource, context });

  it("may answer CodePipeline jobs (those actions have no resource type: '*', as its declaration says) and never calls CodeDeploy", () => {
    expect(HANDLER_DECLARATIONS['pipeline-gate'].needs.find((need) => need.sid === 'AnswerPipelineJobs')?.on).toEqual(['any']);
    expect(allowed('codepipeline:PutJobSuccessResult', '*')).toBe(true);
    expect(allowed('codepipeline:PutJobFailureResult', '*')).toBe(true);
    expect(allowed('codepipeline:GetPipeline', '*')).toBe(false);
    expect(allowed('codedeploy:StopDeployment', 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:deploy-guard-dev-example/blue-green')).toBe(false);
    expect(allowed('codedeploy:GetDeployment', 'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:deploy-guard-dev-example/blue-green')).toBe(false);
  });

  it("outputs the configured group's stage for an existing pipeline", () => {
    expect(dev.output.pipeline_gate_function_name.value).toBe('deploy-guard-dev-pipeline-gate');
    expect(Object.keys(dev.output.pipeline_gate_stages.value as object)).toEqual(['deploy-guard-dev-example/blue-green']);
  });
});
