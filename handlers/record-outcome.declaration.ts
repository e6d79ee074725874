import { itemsOf, type HandlerDeclaration } from './declaration';
import type { RecordOutcomeDependencies } from './record-outcome';
import { TRAINING_ROWS_PREFIX } from './s3-layout';

/** record-outcome: labels a finished deployment, writes its training row and the quality metrics. */
export const RECORD_OUTCOME_DECLARATION: HandlerDeclaration<RecordOutcomeDependencies> = {
  name: 'record-outcome',
  reads: ['metricsNamespace', 'deploymentsTable', 'historyTable', 'controlTable', 'dataBucket', 'dataKmsKey'],
  needs: [itemsOf('deployments', 'history', 'control'), { sid: 'WriteTrainingRows', actions: ['s3:PutObject'], on: [{ objects: 'data', prefix: TRAINING_ROWS_PREFIX }] }],
  ports: ['deployments', 'ledger', 'bakes', 'holds', 'lake', 'metrics'],
};
