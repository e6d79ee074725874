import { groupKey, type GroupPolicy } from '../../handlers/config';
import { answerWords, holdPolicyOf, type HoldSettlement } from '../../handlers/hold-domain';
import { settleHold } from '../../handlers/holds';
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
import { guardedGroupPolicies } from '../../stacks/config';
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
revision, proceeds (a deployment held for a person is released at once, as 'deploy-guard approve'
would) (assessed, announced and recorded as overridden, not enforced) until the override
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
      const released = await releaseHeld(override, context);
      for (const line of released.lines) io.stdout.write(`${line}\n`);
      return released.ok ? 0 : 1;
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

/**
 * The deployments of the release that Deploy Guard holds for a person, released: an override lets a
 * held deployment through, not only its retries. Each open hold is settled as an approval by the
 * operator (first writer wins, as `deploy-guard approve`), so a hold approved, rejected or timed out
 * meanwhile is left as it was. Named by deployment, only that one; named by release, the held
 * deployments of the release among the application's holding groups' recent assessments (a hold
 * lasts at most its group's timeout). Nothing is read when no group of the application holds.
 */
async function releaseHeld(override: DeploymentOverride, context: OperatorContext): Promise<{ readonly ok: boolean; readonly lines: readonly string[] }> {
  const holding = guardedGroupPolicies(context.environment).filter((group) => group.application === override.application && holdPolicyOf(group));
  if (holding.length === 0) return { ok: true, lines: [] };
  const settlement: HoldSettlement = { action: 'approve', by: override.by, reason: `overridden: ${override.reason}`, at: override.at, cause: 'operator' };
  const lines: string[] = [];
  let ok = true;
  for (const deploymentId of await heldCandidates(override, holding, context)) {
    const hold = await context.holds().read(deploymentId);
    if (!hold || hold.settled) continue;
    const result = await settleHold(hold, settlement, { holds: context.holds(), codeDeploy: context.codeDeploy() });
    if (result.status !== 'settled') continue;
    ok &&= result.answer.ok;
    lines.push(`${context.environment.namePrefix}: held ${deploymentId} of ${groupKey(hold.application, hold.deploymentGroup)} released (${result.api}: ${result.answer.ok ? 'accepted' : answerWords(result.answer)})`);
  }
  return { ok, lines };
}

/** The deployments that may hold the release: the one named, or the release's recent assessments in the holding groups. */
async function heldCandidates(override: DeploymentOverride, holding: readonly GroupPolicy[], context: OperatorContext): Promise<readonly string[]> {
  if (override.deploymentId) return [override.deploymentId];
  const ids: string[] = [];
  for (const group of holding) {
    const since = override.at - holdPolicyOf(group)!.timeoutMinutes * 60_000;
    for (const item of await context.deployments().recentAssessments(group.application, group.deploymentGroup, since, HELD_SCAN_LIMIT)) {
      if (item.assessment?.changeSummary?.revision === override.revision) ids.push(item.assessment.deploymentId);
    }
  }
  return ids;
}

/** How many of a holding group's recent assessments an override of a release looks through for its held deployments. */
const HELD_SCAN_LIMIT = 200;
