import { itemsOf, type HandlerDeclaration } from './declaration';
import type { RecordChangeDependencies } from './record-change';

/** record-change: stores the first change summary of each revision. */
export const RECORD_CHANGE_DECLARATION: HandlerDeclaration<RecordChangeDependencies> = {
  name: 'record-change',
  reads: ['eventSource', 'metricsNamespace', 'changesTable'],
  needs: [itemsOf('changes')],
  ports: ['changes', 'clock', 'metrics'],
};
