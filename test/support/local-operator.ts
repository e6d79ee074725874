import type { OperatorCommandDependencies } from '../../cli/operators/operator-context';
import type { StandIns } from '../../local/stand-ins';

/** The operator commands' dependencies on the local runtime: the stand-ins' stores, CodeDeploy and bus, as `operator` (the STS caller). */
export function localOperatorDependencies(standIns: StandIns, operator: string): OperatorCommandDependencies {
  return {
    holds: () => standIns.stores.holds,
    codeDeploy: () => standIns.codeDeploy,
    deploymentStore: () => standIns.stores.deployments,
    operatorControls: () => standIns.stores.operatorControls,
    publisher: () => standIns.publisher,
    identity: () => ({ callerArn: async () => operator }),
    clock: standIns.clock,
  };
}
