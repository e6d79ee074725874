import type { CodepipelineStage } from '@cdktf/provider-aws/lib/codepipeline';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { gateUserParameters, type GateUserParameters } from '../events/pipeline-gate';
import { isToken, policyDocument, validateArn, type PolicyStatement } from './construct-support';

/**
 * The pipeline gate of one guarded deployment group, for a CodePipeline that deploys to it: the
 * stage to place before the pipeline's Deploy stage (a Lambda invoke action of Deploy Guard's
 * pipeline-gate function, its UserParameters naming the group and the release's commit), in the
 * shape of `aws_codepipeline`'s `stage` block (@cdktf/provider-aws) and of `aws codepipeline`'s
 * pipeline JSON, and the one IAM statement the pipeline's service role needs: lambda:InvokeFunction
 * on that function. With `pipelineRoleName` it attaches that statement to the role itself.
 */

export interface PipelineGateProps {
  /** The pipeline-gate function's name (DeployGuardStack's `functions['pipeline-gate']`). */
  readonly functionName: string;
  /** Its ARN: the only resource the pipeline's role may invoke for the gate. */
  readonly functionArn: string;
  /** The guarded CodeDeploy application the pipeline deploys to. */
  readonly application: string;
  /** Its guarded deployment group. */
  readonly deploymentGroup: string;
  /**
   * The source stage's output artifact: the gate's input, whose revision (a Git commit) is the release.
   * @default 'SourceArtifact'
   */
  readonly sourceArtifact?: string;
  /**
   * The source action's variables namespace: when set, the release is `#{<namespace>.CommitId}`
   * instead of the artifact's revision (needed when the source is not the gate's only input).
   * @default the input artifact's revision
   */
  readonly sourceVariablesNamespace?: string;
  /** The gate stage's name. @default 'DeployGuardGate' */
  readonly stageName?: string;
  /** The pipeline's service role, by name: when set, the invoke statement is attached to it (an inline policy). @default not attached */
  readonly pipelineRoleName?: string;
}

export const DEFAULT_GATE_STAGE_NAME = 'DeployGuardGate';
export const DEFAULT_SOURCE_ARTIFACT = 'SourceArtifact';
/** The action's name inside the gate stage. */
export const GATE_ACTION_NAME = 'DeployGuardRisk';

/** CodePipeline's names of stages, actions and artifacts: letters, digits and `.@-_`, 1 to 100. */
const PIPELINE_NAME = /^[A-Za-z0-9.@\-_]{1,100}$/;

export class PipelineGate extends Construct {
  readonly functionName: string;
  readonly functionArn: string;
  /** The action's UserParameters (JSON text; CodePipeline resolves the variables in it). */
  readonly userParameters: string;
  /** The stage block to place before the Deploy stage of an `aws_codepipeline`. */
  readonly stage: CodepipelineStage;
  /** The same stage in the pipeline JSON of `aws codepipeline get-pipeline` / `update-pipeline`. */
  readonly stageJson: Record<string, unknown>;
  /** What the pipeline's service role needs: lambda:InvokeFunction on the gate function only. */
  readonly invokeStatement: PolicyStatement;

  constructor(scope: Construct, id: string, props: PipelineGateProps) {
    super(scope, id);
    validateProps(props);
    this.functionName = props.functionName;
    this.functionArn = props.functionArn;
    const parameters: GateUserParameters = {
      application: props.application,
      deploymentGroup: props.deploymentGroup,
      ...(props.sourceVariablesNamespace ? { revision: { commitId: `#{${props.sourceVariablesNamespace}.CommitId}` } } : {}),
      pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
    };
    this.userParameters = JSON.stringify(parameters);
    const stageName = props.stageName ?? DEFAULT_GATE_STAGE_NAME;
    const input = props.sourceArtifact ?? DEFAULT_SOURCE_ARTIFACT;
    this.stage = {
      name: stageName,
      action: [{ name: GATE_ACTION_NAME, category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1', inputArtifacts: [input], configuration: { FunctionName: props.functionName, UserParameters: this.userParameters } }],
    };
    this.stageJson = {
      name: stageName,
      actions: [
        {
          name: GATE_ACTION_NAME,
          actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' },
          runOrder: 1,
          configuration: { FunctionName: props.functionName, UserParameters: this.userParameters },
          inputArtifacts: [{ name: input }],
          outputArtifacts: [],
        },
      ],
    };
    this.invokeStatement = { Sid: 'InvokeDeployGuardPipelineGate', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: props.functionArn };
    if (props.pipelineRoleName) {
      new IamRolePolicy(this, 'pipeline-role-invoke', { name: `deploy-guard-gate-${props.deploymentGroup}`.slice(0, 128), role: props.pipelineRoleName, policy: policyDocument([this.invokeStatement]) });
    }
  }
}

function validateProps(props: PipelineGateProps): void {
  validateArn('PipelineGate', 'functionArn', props.functionArn, 'lambda');
  if (!isToken(props.functionName) && !/^[A-Za-z0-9-_]{1,64}$/.test(props.functionName)) throw new Error(`PipelineGate functionName must be a Lambda function name (1 to 64 letters, digits, - or _), got '${props.functionName}'`);
  const checked = gateUserParameters.safeParse({ application: props.application, deploymentGroup: props.deploymentGroup });
  if (!checked.success) throw new Error(`PipelineGate application and deploymentGroup must be non-empty, got '${props.application}' / '${props.deploymentGroup}'`);
  for (const [prop, value] of [['stageName', props.stageName], ['sourceArtifact', props.sourceArtifact], ['sourceVariablesNamespace', props.sourceVariablesNamespace]] as const) {
    if (value !== undefined && !PIPELINE_NAME.test(value)) throw new Error(`PipelineGate ${prop} must be 1 to 100 letters, digits or . @ - _ (a CodePipeline name), got '${value}'`);
  }
  if (props.pipelineRoleName !== undefined && !isToken(props.pipelineRoleName) && !/^[\w+=,.@-]{1,64}$/.test(props.pipelineRoleName)) {
    throw new Error(`PipelineGate pipelineRoleName must be an IAM role name (1 to 64 of letters, digits and +=,.@-_), got '${props.pipelineRoleName}'`);
  }
}
