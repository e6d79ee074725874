import { groupKey } from '../../handlers/config';
import {
  checkReason,
  checkUntil,
  DEFAULT_OVERRIDE_MS,
  deploymentRevision,
  OperatorInputError,
  operatorAnnouncement,
  type DeploymentOverride,
} from '../../handlers/operator-controls';
import { parseOptions, type Command } from '../command';
import { summaryOf } from '../catalog';
import { asUsage, guardedGroups, operatorContext, parseUntil, type OperatorCommandDependencies, type OperatorContext } from '../operators/operator-context';

/** What a revision key starts with (events/emitted.ts revisionKey, or an override of a deployment without one). */
const REVISION_KEY = /^(git:|s3:|appspec:|deployment:d-)./;

/** The override command; dependencies injected for tests. */
export function createOverrideCommand(deps: OperatorCommandDependencies = {}): Command {
  return {
    name: 'override',
    summary: summaryOf('override'),
    usage: `Usage: deploy-guard override --environment ENV --deployment d-XXXXXXXXX --reason TEXT [--until T]
       deploy-guard override --environment ENV --application APP --revision KEY --reason TEXT [--until T]
                             [--config FILE] [--endpoint URL]

Lets a release through Deploy Guard: a deployment it stopped or holds, and every retry of the same
revision, proceeds (assessed, announced and recorded as overridden, not enforced) until the override
ends. Named by deployment (its application and revision are read from its assessment) or by
application and revision key (as 'deploy-guard decisions --json' and the assessment show it). Who you
are (STS GetCallerIdentity), when, why and until when are recorded in the environment's control table
and announced on its bus (Operator Override). Run it as the installation's operator role.

Options:
  --environment ENV     the environment of the configuration (dev, staging, prod)
  --deployment ID       the deployment to let through, with the retries of its revision
  --application APP     with --revision: the application whose release to let through
  --revision KEY        its revision key: git:<commit>, s3:<bucket>/<key>@<version or ETag>, appspec:<sha256>
  --reason TEXT         why (required; recorded and announced)
  --until T             when it ends: an ISO time or a duration from now (30m, 2h, 1d; default 24h, at most 7d)
  --config FILE         the configuration (default deploy-guard.config.json)
  --endpoint URL        a DynamoDB endpoint other than AWS's (DynamoDB Local, dynalite)`,
    async run(argv, io) {
      const options = parseOptions(argv, { environment: 'value', deployment: 'value', application: 'value', revision: 'value', reason: 'value', until: 'value', config: 'value', endpoint: 'value' });
      const context = operatorContext(options, io.cwd, deps);
      const override = await asUsage(async () => {
        const reason = checkReason(typeof options.reason === 'string' ? options.reason : undefined);
        const until = checkUntil(typeof options.until === 'string' ? parseUntil(options.until, context.now, '--until') : context.now + DEFAULT_OVERRIDE_MS, context.now, '--until');
        const release = await releaseOf(options, context);
        return { ...release, by: await context.identity.callerArn(), reason, at: context.now, until } satisfies DeploymentOverride;
      });
      await context.operatorControls.putOverride(override);
      await context.publisher.publish([operatorAnnouncement({ action: 'override', grant: override }, context.bus)]);
      const named = override.deploymentId ? `${override.deploymentId} and the retries of ` : '';
      io.stdout.write(`${context.environment.namePrefix}: ${named}${override.application} ${override.revision} may proceed until ${new Date(override.until).toISOString()} (overridden by ${override.by}: ${override.reason})\n`);
      return 0;
    },
  };
}

/** The release to let through: from the deployment's assessment, or as named. */
async function releaseOf(options: Record<string, string | true | undefined>, context: OperatorContext): Promise<Pick<DeploymentOverride, 'application' | 'revision' | 'deploymentId'>> {
  const deploymentId = typeof options.deployment === 'string' ? options.deployment : undefined;
  const application = typeof options.application === 'string' ? options.application : undefined;
  const revision = typeof options.revision === 'string' ? options.revision : undefined;
  if (deploymentId !== undefined) {
    if (application !== undefined || revision !== undefined) throw new OperatorInputError('--deployment', 'name a deployment, or an application and a revision, not both');
    if (!/^d-[A-Z0-9]{9}$/.test(deploymentId)) throw new OperatorInputError('--deployment', `expected a CodeDeploy deployment id such as d-ABCDEFGHI, got '${deploymentId}'`);
    const assessment = (await context.deployments().get(deploymentId))?.assessment;
    if (!assessment) throw new OperatorInputError('--deployment', `${deploymentId} has no assessment in ${context.environment.namePrefix}: Deploy Guard did not assess it, so it stopped or holds nothing`);
    requireGuarded(context, assessment.application, '--deployment', `${deploymentId} belongs to ${groupKey(assessment.application, assessment.deploymentGroup)}, whose application`);
    return { application: assessment.application, revision: assessment.changeSummary?.revision ?? deploymentRevision(deploymentId), deploymentId };
  }
  if (application === undefined || revision === undefined) throw new OperatorInputError(application === undefined ? '--application' : '--revision', 'name a deployment (--deployment), or an application and a revision (--application and --revision)');
  requireGuarded(context, application, '--application', `'${application}'`);
  if (!REVISION_KEY.test(revision)) throw new OperatorInputError('--revision', `expected a revision key such as git:<commit>, s3:<bucket>/<key>@<version> or appspec:<sha256>, got '${revision}'`);
  return { application, revision };
}

function requireGuarded(context: OperatorContext, application: string, option: string, subject: string): void {
  const groups = guardedGroups(context.environment);
  if (groups.some((group) => group.application === application)) return;
  throw new OperatorInputError(option, `${subject} is not an application this environment guards; it guards ${[...new Set(groups.map((group) => group.application))].join(', ')}`);
}
