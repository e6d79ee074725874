import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { resolve } from 'node:path';
import { eventBridgeTime, systemClock, type Clock } from '../../events/clock';
import { buildEntry, DEFAULT_EVENT_SOURCE, revisionKey, validateEventSource } from '../../events/emitted';
import { EventBridgePublisher } from '../../handlers/adapters/event-publisher';
import { computeGitChange, GitChangeError, gitRunner, repositoryDirectoryName, type GitChange } from '../../model/git-change';
import { parseOptions, requireOption, UsageError, type Command } from '../command';
import { summaryOf } from '../catalog';

export interface ChangeSummaryCommandDependencies {
  /** The EventBridge client for --publish (created only then; credentials from the environment; the region given, if any). */
  readonly eventBridgeClient?: (region: string | undefined) => EventBridgeClient;
  /** When the summary is built (its builtAt). */
  readonly clock?: Clock;
  /** Waits between PutEvents retries (tests pass a no-op). */
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

/** The change-summary command; dependencies injected for tests. */
export function createChangeSummaryCommand(deps: ChangeSummaryCommandDependencies = {}): Command {
  const clock = deps.clock ?? systemClock;
  return {
    name: 'change-summary',
    summary: summaryOf('change-summary'),
    usage: `Usage: deploy-guard change-summary --repo DIR --from REV --to REV [--application NAME]
                                   [--publish --event-bus NAME [--region R]] [--source S]

Computes the change fields of the release REV..REV from the git history in DIR (the previous
deployment's revision --from, the one being deployed --to) and prints the Deployment Change Summary
event detail as JSON. With --publish it sends the event to Deploy Guard's bus instead (PutEvents,
with the AWS credentials and region of the environment); record-change stores it and predict joins
it to the CodeDeploy deployment of commit --to.

Options:
  --repo DIR           the git repository (a work tree or a bare repository)
  --from REV           the revision deployed before (commit, branch or tag)
  --to REV             the revision being deployed
  --application NAME   the CodeDeploy application (default: the repository's directory name)
  --publish            send the event instead of printing it
  --event-bus NAME     Deploy Guard's event bus, by name or ARN (with --publish)
  --region R           the bus's AWS region (default: the bus ARN's, else AWS_REGION or the profile's)
  --source S           the installation's event source (default ${DEFAULT_EVENT_SOURCE})

Fields git cannot tell are left out (missing values, never zeros) and listed on stderr:
authorIsCoreMember always; isMainBranch without a main branch; isPullRequest when --to has no pull
request ref and is not on the main branch; authorExperience and commitsOnTouchedFiles in a shallow clone.`,
    async run(argv, io) {
      const options = parseOptions(argv, {
        repo: 'value',
        from: 'value',
        to: 'value',
        application: 'value',
        publish: 'flag',
        'event-bus': 'value',
        region: 'value',
        source: 'value',
      });
      const repo = resolve(io.cwd, requireOption(options, 'repo'));
      const from = requireOption(options, 'from');
      const to = requireOption(options, 'to');
      const publish = options.publish === true;
      const eventBus = typeof options['event-bus'] === 'string' ? options['event-bus'] : undefined;
      if (publish && !eventBus) throw new UsageError("option '--publish' needs '--event-bus NAME'");
      if (!publish && eventBus) throw new UsageError("option '--event-bus' is only used with '--publish'");
      const region = typeof options.region === 'string' ? options.region : eventBus ? regionOfArn(eventBus) : undefined;
      if (!publish && options.region !== undefined) throw new UsageError("option '--region' is only used with '--publish'");
      const source = typeof options.source === 'string' ? options.source : DEFAULT_EVENT_SOURCE;
      try {
        validateEventSource(source);
      } catch (error) {
        throw new UsageError(`--source: ${(error as Error).message}`);
      }

      const git = gitRunner(repo);
      let change: GitChange;
      try {
        change = await computeGitChange({ repo, from, to }, git);
      } catch (error) {
        if (error instanceof GitChangeError) {
          io.stderr.write(`deploy-guard change-summary: ${error.message}\n`);
          return 2;
        }
        throw error;
      }
      const application = typeof options.application === 'string' ? options.application : await repositoryDirectoryName(git);
      const builtAt = clock.now();
      const detail = changeSummaryDetail(change, application, builtAt);
      // Validated here, whether printed or sent: a summary record-change would refuse is never produced.
      const entry = buildEntry('Deployment Change Summary', detail, {
        source,
        eventBusName: eventBus ?? 'default',
        time: new Date(builtAt),
      });
      for (const absent of change.missing) io.stderr.write(`deploy-guard change-summary: ${absent.field} left out: ${absent.reason}\n`);

      if (!publish) {
        io.stdout.write(`${JSON.stringify(JSON.parse(entry.Detail), null, 2)}\n`);
        return 0;
      }
      const client = deps.eventBridgeClient ? deps.eventBridgeClient(region) : new EventBridgeClient({ retryMode: 'standard', ...(region ? { region } : {}) });
      await requireRegion(client);
      await new EventBridgePublisher(client, deps.sleep ? { sleep: deps.sleep } : {}).publish([entry]);
      io.stdout.write(
        `published Deployment Change Summary of ${application} ${revisionKey(detail.revision)} ` +
          `(${Object.keys(detail.change).length} fields) to ${eventBus} as ${source}\n`,
      );
      return 0;
    },
  };
}

/** The region of an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME), or undefined for a name. */
function regionOfArn(bus: string): string | undefined {
  return /^arn:[^:]+:events:([^:]+):/.exec(bus)?.[1];
}

/**
 * The SDK finds a region in --region, AWS_REGION / AWS_DEFAULT_REGION or the profile; without one it
 * fails deep inside the first call ("Region is missing"). Say how to give one instead.
 */
async function requireRegion(client: EventBridgeClient): Promise<void> {
  try {
    if (await client.config.region()) return;
  } catch {
    // no region anywhere: said below
  }
  throw new UsageError("option '--publish' needs the bus's AWS region: give '--region REGION' (or an event bus ARN), or set AWS_REGION");
}

/** The Deployment Change Summary detail of a computed change. */
export function changeSummaryDetail(change: GitChange, application: string, builtAt: number) {
  return {
    schemaVersion: '1' as const,
    application,
    revision: { commitId: change.commitId },
    ...(change.repository ? { repository: change.repository } : {}),
    ...(change.branch ? { branch: change.branch } : {}),
    ...(change.author ? { author: change.author } : {}),
    builtAt: eventBridgeTime(builtAt),
    change: change.change,
  };
}

export const changeSummaryCommand: Command = createChangeSummaryCommand();
