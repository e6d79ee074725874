import { itemsOf, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { PipelineGateDependencies } from './pipeline-gate';
import { SERVED_MODELS_PREFIX } from './s3-layout';

/**
 * pipeline-gate: a CodePipeline Lambda invoke action before the Deploy stage. It judges the release as
 * predict judges a deployment (the same stores, model, endpoint and cut), records its decision and
 * holds in the control table, and tells CodePipeline. It never calls CodeDeploy: no deployment exists yet.
 */
export const PIPELINE_GATE_DECLARATION: HandlerDeclaration<PipelineGateDependencies> = {
  name: 'pipeline-gate',
  reads: ['eventBus', 'eventSource', 'metricsNamespace', 'deploymentsTable', 'historyTable', 'changesTable', 'controlTable', 'endpointName', 'endpointTimeoutMs', 'groups', 'environment'],
  needs: [
    // PutJobSuccessResult and PutJobFailureResult have no resource type: IAM accepts only "*" for them.
    // A job id is unguessable and names one job of one pipeline; the pipeline's role decides who invokes the gate.
    { sid: 'AnswerPipelineJobs', actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], on: ['any'] },
    { sid: 'ScoreWithEndpoint', actions: ['sagemaker:InvokeEndpoint'], on: ['prediction-endpoint'] },
    // History and change summaries are read (a summary is sealed at its first assessment, as predict
    // does); the control table holds the cuts, overrides, holds and the gate's own items.
    itemsOf('deployments', 'history', 'changes', 'control'),
    { sid: 'ReadServingModel', actions: ['s3:GetObject'], on: [{ objects: 'models', prefix: SERVED_MODELS_PREFIX }] },
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codePipeline', 'deployments', 'changes', 'servingModel', 'control', 'operatorControls', 'holds', 'gates', 'endpoint', 'publisher', 'metrics', 'clock'],
};
