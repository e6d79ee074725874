import { itemsOf, listUnder, passToSageMaker, PUBLISH_ON_OWN_BUS, type HandlerDeclaration } from './declaration';
import type { DriftDependencies } from './drift';
import { TRAINING_ROWS_PREFIX } from './s3-layout';

/** drift: starts one training job on an alarm or the schedule, when the data lake holds enough rows. */
export const DRIFT_DECLARATION: HandlerDeclaration<DriftDependencies> = {
  name: 'drift',
  reads: ['eventBus', 'eventSource', 'namePrefix', 'controlTable', 'dataBucket', 'modelBucket', 'retraining'],
  needs: [
    { sid: 'StartTraining', actions: ['sagemaker:CreateTrainingJob', 'sagemaker:AddTags'], on: ['own-training-jobs'] },
    // ListTrainingJobs has no resource type: AWS accepts only "*".
    { sid: 'FindRunningTraining', actions: ['sagemaker:ListTrainingJobs'], on: ['any'] },
    passToSageMaker('training-role'),
    itemsOf('control'),
    listUnder('ListTrainingRows', 'data', TRAINING_ROWS_PREFIX),
    { sid: 'ReadTrainingRows', actions: ['s3:GetObject'], on: [{ objects: 'data', prefix: TRAINING_ROWS_PREFIX }] },
    PUBLISH_ON_OWN_BUS,
  ],
  ports: ['training', 'rows', 'control', 'publisher', 'clock'],
  timeoutSeconds: 300,
};
