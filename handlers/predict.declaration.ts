import { itemsOf, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { PredictDependencies } from './predict';
import { SERVED_MODELS_PREFIX, TRAINING_ROWS_PREFIX } from './s3-layout';

/** predict: reads the deployment and its history, scores with the endpoint, stores and announces the assessment. */
export const PREDICT_DECLARATION: HandlerDeclaration<PredictDependencies> = {
  name: 'predict',
  reads: ['eventBus', 'eventSource', 'metricsNamespace', 'deploymentsTable', 'historyTable', 'changesTable', 'controlTable', 'endpointName', 'endpointTimeoutMs', 'groups', 'dataBucket'],
  needs: [
    { sid: 'ReadGuardedDeployments', actions: ['codedeploy:GetDeployment'], on: ['guarded-deployment-groups'] },
    { sid: 'ScoreWithEndpoint', actions: ['sagemaker:InvokeEndpoint'], on: ['prediction-endpoint'] },
    itemsOf('deployments', 'history', 'changes', 'control'),
    { sid: 'ReadServingModel', actions: ['s3:GetObject'], on: [{ objects: 'models', prefix: SERVED_MODELS_PREFIX }] },
    { sid: 'WriteAssessedRows', actions: ['s3:PutObject'], on: [{ objects: 'data', prefix: TRAINING_ROWS_PREFIX }] },
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['codeDeploy', 'deployments', 'changes', 'servingModel', 'control', 'operatorControls', 'holds', 'gates', 'endpoint', 'publisher', 'metrics', 'lake', 'clock'],
};
