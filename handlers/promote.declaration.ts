import { itemsOf, listUnder, passToSageMaker, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { PromoteDependencies } from './promote';
import { SERVED_MODELS_PREFIX, TRAINING_OUTPUT_PREFIX, TRAINING_ROWS_PREFIX } from './s3-layout';

/** promote: evaluates a finished job's model against the serving one, registers it and updates the endpoint. */
export const PROMOTE_DECLARATION: HandlerDeclaration<PromoteDependencies> = {
  name: 'promote',
  reads: ['eventBus', 'eventSource', 'namePrefix', 'metricsNamespace', 'controlTable', 'endpointName', 'modelBucket', 'dataBucket', 'retraining', 'promotion'],
  needs: [
    { sid: 'ReadTrainingJobs', actions: ['sagemaker:DescribeTrainingJob'], on: ['own-training-jobs'] },
    { sid: 'DeployModels', actions: ['sagemaker:CreateModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:AddTags'], on: ['own-models', 'own-endpoint-configs'] },
    { sid: 'UpdateEndpoint', actions: ['sagemaker:UpdateEndpoint', 'sagemaker:DescribeEndpoint'], on: ['prediction-endpoint', 'own-endpoint-configs'] },
    { sid: 'RegisterModels', actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:AddTags'], on: ['model-package-group', 'model-packages'] },
    // ListModelPackages has no resource type: AWS accepts only "*" (promote lists its own group only).
    { sid: 'FindRegisteredModels', actions: ['sagemaker:ListModelPackages'], on: ['any'] },
    passToSageMaker('serving-role'),
    itemsOf('control'),
    // The jobs' output (evaluation, and the model to adopt), the served models and the data lake's rows.
    {
      sid: 'ReadTrainingOutputAndModels',
      actions: ['s3:GetObject'],
      on: [
        { objects: 'models', prefix: TRAINING_OUTPUT_PREFIX, ownNames: true },
        { objects: 'models', prefix: SERVED_MODELS_PREFIX },
        { objects: 'data', prefix: TRAINING_ROWS_PREFIX },
      ],
    },
    // The copy of an adopted model: promote (and the stack's first model) alone write the served prefix,
    // and only the versions of its own jobs, never the first model.
    { sid: 'WriteServedModels', actions: ['s3:PutObject'], on: [{ objects: 'models', prefix: SERVED_MODELS_PREFIX, ownNames: true }] },
    // The validation rows promote scores both models on: listed by date under the data lake's prefix.
    listUnder('ListValidationRows', 'data', TRAINING_ROWS_PREFIX),
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['training', 'hosting', 'objects', 'rows', 'control', 'publisher', 'metrics', 'clock'],
  timeoutSeconds: 300,
};
