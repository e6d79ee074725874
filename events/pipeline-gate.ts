import * as z from 'zod/mini';
import './zod-locale';
import { revision } from './emitted';

/**
 * The pipeline gate's own contract: the UserParameters (a JSON string) of the CodePipeline Lambda
 * invoke action placed before the Deploy stage. It names the guarded CodeDeploy application and
 * deployment group the release goes to, and what is released when the source input artifact's
 * revision (a Git commit) is not it: a commit, an S3 bundle or an AppSpec's SHA-256, the same
 * revision shape as a change summary (events/emitted.ts `revision`). CodePipeline resolves
 * variables such as `#{SourceVariables.CommitId}` and `#{codepipeline.PipelineExecutionId}` in it
 * before the function is invoked.
 */

const nonEmpty = z.string().check(z.minLength(1));

export const GATE_USER_PARAMETERS = 'pipeline gate UserParameters';

export const gateUserParameters = z.lazy(() => z.strictObject({
  application: nonEmpty,
  deploymentGroup: nonEmpty,
  /** What is released; default: the first input artifact's revision, as a Git commit. */
  revision: z.optional(revision),
  /** `#{codepipeline.PipelineExecutionId}`: recorded with the gate's decision, so that the release can be found by it. */
  pipelineExecutionId: z.optional(nonEmpty),
}));
export type GateUserParameters = z.infer<typeof gateUserParameters>;

/** UserParameters as a pipeline states them, for the README and the tests. */
export const GATE_USER_PARAMETERS_EXAMPLE: z.input<typeof gateUserParameters> = {
  application: 'checkout',
  deploymentGroup: 'checkout-prod',
  revision: { commitId: '#{SourceVariables.CommitId}' },
  pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
};
