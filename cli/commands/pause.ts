import { groupKey } from '../../handlers/config';
import { checkReason, checkUntil, OperatorInputError, operatorAnnouncement, resumedPause, type GroupPause } from '../../handlers/operator-controls';
import { parseOptions, requireOption, type Command } from '../command';
import { summaryOf } from '../catalog';
import { asUsage, guardedGroups, operatorContext, parseDuration, parseUntil, type OperatorCommandDependencies, type OperatorContext } from '../operators/operator-context';

/** The pause command; dependencies injected for tests. */
export function createPauseCommand(deps: OperatorCommandDependencies = {}): Command {
  return {
    name: 'pause',
    summary: summaryOf('pause'),
    usage: `Usage: deploy-guard pause --environment ENV --group APP/GROUP (--for D | --until T) --reason TEXT
       deploy-guard pause --environment ENV --group APP/GROUP --resume --reason TEXT
                          [--config FILE] [--endpoint URL]

Turns Deploy Guard's enforcement off for one guarded group for a bounded time: its deployments are
still assessed and announced, but a would-be stop proceeds (recorded as paused, not enforced) until
the pause ends or is lifted (--resume). Who you are (STS GetCallerIdentity), when, why and until when
are recorded in the environment's control table and announced on its bus (Operator Override). Run it
as the installation's operator role.

Options:
  --environment ENV     the environment of the configuration (dev, staging, prod)
  --group APP/GROUP     a group the environment guards
  --for D               how long: 30m, 2h, 1d (at most 7d)
  --until T             or until when: an ISO time or a duration from now
  --resume              lift the group's pause now
  --reason TEXT         why (required; recorded and announced)
  --config FILE         the configuration (default deploy-guard.config.json)
  --endpoint URL        a DynamoDB endpoint other than AWS's (DynamoDB Local, dynalite)`,
    async run(argv, io) {
      const options = parseOptions(argv, { environment: 'value', group: 'value', for: 'value', until: 'value', resume: 'flag', reason: 'value', config: 'value', endpoint: 'value' });
      const context = operatorContext(options, io.cwd, deps);
      const group = await asUsage(async () => selectGroup(context, requireOption(options, 'group')));
      const reason = await asUsage(async () => checkReason(typeof options.reason === 'string' ? options.reason : undefined));
      const key = groupKey(group.application, group.deploymentGroup);
      if (options.resume === true) {
        const resumed = await asUsage(async () => resume(context, group, reason, options));
        await context.publisher.publish([operatorAnnouncement({ action: 'resume', grant: resumed }, context.bus)]);
        io.stdout.write(`${context.environment.namePrefix}: ${key} is enforced again (resumed by ${resumed.resumed!.by}: ${reason}; it was paused by ${resumed.by}: ${resumed.reason})\n`);
        return 0;
      }
      const pause = await asUsage(async () => {
        const until = checkUntil(endOf(options, context.now), context.now, typeof options.for === 'string' ? '--for' : '--until');
        return { ...group, by: await context.identity.callerArn(), reason, at: context.now, until } satisfies GroupPause;
      });
      await context.operatorControls.putPause(pause);
      await context.publisher.publish([operatorAnnouncement({ action: 'pause', grant: pause }, context.bus)]);
      io.stdout.write(`${context.environment.namePrefix}: ${key} is paused until ${new Date(pause.until).toISOString()}: its deployments proceed, assessed and announced (paused by ${pause.by}: ${reason})\n`);
      return 0;
    },
  };
}

async function resume(context: OperatorContext, group: { readonly application: string; readonly deploymentGroup: string }, reason: string, options: Record<string, string | true | undefined>): Promise<GroupPause> {
  if (options.for !== undefined || options.until !== undefined) throw new OperatorInputError('--resume', 'lifts the pause now: give no --for or --until with it');
  const key = groupKey(group.application, group.deploymentGroup);
  const pause = await context.operatorControls.readPause(group.application, group.deploymentGroup);
  if (!pause) throw new OperatorInputError('--group', `${key} is not paused (it never was)`);
  const resumed = resumedPause(pause, { by: await context.identity.callerArn(), at: context.now, reason });
  await context.operatorControls.putPause(resumed);
  return resumed;
}

/** When the pause ends: `--for` a duration, or `--until` a time (one of them). */
function endOf(options: Record<string, string | true | undefined>, now: number): number {
  if (options.for !== undefined && options.until !== undefined) throw new OperatorInputError('--for', 'give --for or --until, not both');
  if (typeof options.for === 'string') {
    const duration = parseDuration(options.for);
    if (duration === undefined) throw new OperatorInputError('--for', `expected a duration such as 30m, 2h or 1d, got '${options.for}'`);
    return now + duration;
  }
  if (typeof options.until === 'string') return parseUntil(options.until, now, '--until');
  throw new OperatorInputError('--for', 'say how long the pause lasts (--for 2h, or --until an ISO time); a pause always ends');
}

function selectGroup(context: OperatorContext, wanted: string): { readonly application: string; readonly deploymentGroup: string } {
  const guarded = guardedGroups(context.environment);
  const found = guarded.find((group) => groupKey(group.application, group.deploymentGroup) === wanted);
  if (!found) throw new OperatorInputError('--group', `'${wanted}' is not guarded in this environment; it guards ${guarded.map((group) => groupKey(group.application, group.deploymentGroup)).join(', ')}`);
  return found;
}
