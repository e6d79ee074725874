import { groupKey } from '../../handlers/config';
import { answerWords, settlementWords, type HoldAction } from '../../handlers/hold-domain';
import { settleHold } from '../../handlers/holds';
import { gateHoldId } from '../../handlers/pipeline-gate-domain';
import { checkReason, OperatorInputError } from '../../handlers/operator-controls';
import { buildEntry } from '../../events/emitted';
import { eventBridgeTime } from '../../events/clock';
import { parseOptions, requireOption, type Command } from '../command';
import { summaryOf } from '../catalog';
import { asUsage, operatorContext, type OperatorCommandDependencies } from '../operators/operator-context';

const WHAT = {
  approve: {
    verb: 'approved',
    does: 'goes on: ContinueDeployment at READY (EC2/on-premises), or its BeforeAllowTraffic hook answered Succeeded (ECS, Lambda)',
    pipeline: 'the gate action succeeds when CodePipeline next invokes it, and the Deploy stage runs',
  },
  reject: {
    verb: 'rejected',
    does: 'is rolled back: StopDeployment with auto-rollback (EC2/on-premises), or its BeforeAllowTraffic hook answered Failed (ECS, Lambda)',
    pipeline: 'the gate action fails when CodePipeline next invokes it: no deployment is created',
  },
} as const;

/**
 * `deploy-guard approve` and `deploy-guard reject`: a person decides a deployment a gate group holds
 * (`onRisk: hold`), with the caller's credentials (the installation's operator role). The decision is
 * written once on the hold (who, when, why), then CodeDeploy is called and its answer recorded, then
 * it is announced (Operator Override, action approve / reject). Approving twice, or after the other
 * decision or the hold's timeout, changes nothing and says who decided, exit 0 for the same decision
 * and 1 for the other.
 */
export function createHoldDecisionCommand(action: HoldAction, deps: OperatorCommandDependencies = {}): Command {
  return {
    name: action,
    summary: summaryOf(action),
    usage: `Usage: deploy-guard ${action} --environment ENV --deployment d-XXXXXXXXX --reason TEXT [--config FILE] [--endpoint URL]
       deploy-guard ${action} --environment ENV --pipeline-job JOB_ID --reason TEXT [--config FILE] [--endpoint URL]

A deployment Deploy Guard holds for a person (a gate group with onRisk: hold) ${WHAT[action].does}.
Who you are (STS GetCallerIdentity), when and why are recorded on the hold in the environment's
control table and announced on its bus (Operator Override). Run it as the installation's operator role.

Options:
  --environment ENV     the environment of the configuration (dev, staging, prod)
  --deployment ID       the held deployment (the notification and 'deploy-guard decisions' name it)
  --pipeline-job ID     a release the pipeline gate holds: the CodePipeline job the notification names
                        (${WHAT[action].pipeline})
  --reason TEXT         why (required; recorded and announced)
  --config FILE         the configuration (default deploy-guard.config.json)
  --endpoint URL        a DynamoDB endpoint other than AWS's (DynamoDB Local, dynalite)`,
    async run(argv, io) {
      const options = parseOptions(argv, { environment: 'value', deployment: 'value', 'pipeline-job': 'value', reason: 'value', config: 'value', endpoint: 'value' });
      const context = operatorContext(options, io.cwd, deps);
      const { hold, reason } = await asUsage(async () => {
        const reason = checkReason(typeof options.reason === 'string' ? options.reason : undefined);
        const { deploymentId, option } = heldId(options);
        const hold = await context.holds().read(deploymentId);
        if (!hold) throw new OperatorInputError(option, `${deploymentId} is not held in ${context.environment.namePrefix}: Deploy Guard holds only risky deployments (and releases at the pipeline gate) of gate groups with onRisk: hold`);
        return { hold, reason };
      });
      const prefix = context.environment.namePrefix;
      const group = groupKey(hold.application, hold.deploymentGroup);
      const settlement = { action, by: await context.identity.callerArn(), reason, at: context.now, cause: 'operator' as const };
      const result = await settleHold(hold, settlement, { holds: context.holds(), codeDeploy: context.codeDeploy() });
      if (result.status !== 'settled') {
        const same = result.status === 'already';
        io.stdout.write(`${prefix}: ${hold.deploymentId} of ${group} was already ${settlementWords(result.settled)} (${answerWords(result.settled.answer)}); nothing changed\n`);
        return same ? 0 : 1;
      }
      await context.publisher.publish([
        buildEntry(
          'Operator Override',
          { schemaVersion: '1', action, application: hold.application, deploymentGroup: hold.deploymentGroup, deploymentId: hold.deploymentId, by: settlement.by, reason, at: eventBridgeTime(settlement.at), until: eventBridgeTime(settlement.at) },
          { ...context.bus, time: new Date(settlement.at) },
        ),
      ]);
      const answered = result.answer.ok ? `${result.api}: accepted` : `${result.api}: ${answerWords(result.answer)}`;
      io.stdout.write(`${prefix}: ${hold.deploymentId} of ${group} ${WHAT[action].verb} by ${settlement.by}: ${reason} (${answered})\n`);
      return result.answer.ok ? 0 : 1;
    },
  };
}

/** The hold's id: a deployment's id, or the pipeline gate's key of a held job. */
function heldId(options: Readonly<Record<string, string | boolean | undefined>>): { readonly deploymentId: string; readonly option: string } {
  const job = options['pipeline-job'];
  if (typeof job === 'string') {
    if (options.deployment !== undefined) throw new OperatorInputError('--pipeline-job', 'name a deployment (--deployment) or a pipeline job (--pipeline-job), not both');
    if (!/^[A-Za-z0-9-]{1,128}$/.test(job)) throw new OperatorInputError('--pipeline-job', `expected a CodePipeline job id such as 11111111-abcd-1111-abcd-111111abcdef, got '${job}'`);
    return { deploymentId: gateHoldId(job), option: '--pipeline-job' };
  }
  const deploymentId = requireOption(options as Parameters<typeof requireOption>[0], 'deployment');
  if (!/^d-[A-Z0-9]{9}$/.test(deploymentId)) throw new OperatorInputError('--deployment', `expected a CodeDeploy deployment id such as d-ABCDEFGHI, got '${deploymentId}'`);
  return { deploymentId, option: '--deployment' };
}
