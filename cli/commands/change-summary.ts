import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { eventBridgeTime, systemClock, type Clock } from '../../events/clock';
import { appSpecSha256, bareETag, buildEntry, DEFAULT_EVENT_SOURCE, revisionKey, validateEventSource, type Revision } from '../../events/emitted';
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
                                   [--appspec FILE | --s3 s3://BUCKET/KEY (--s3-version V | --s3-etag E)]
                                   [--publish --event-bus NAME [--region R]] [--source S]

Computes the change fields of the release REV..REV from the git history in DIR (the previous
deployment's revision --from, the one being deployed --to) and prints the Deployment Change Summary
event detail as JSON. With --publish it sends the event to Deploy Guard's bus instead (PutEvents,
with the AWS credentials and region of the environment); record-change stores it and predict joins
it to the CodeDeploy deployment of commit --to. A deployment whose revision is not a git commit
joins its summary by the key predict computes from it: an ECS or Lambda deployment by the SHA-256 of
its AppSpec content (--appspec, the exact file given to CreateDeployment), an S3 bundle by bucket,
key and version (or ETag when the bucket is not versioned).

Options:
  --repo DIR           the git repository (a work tree or a bare repository)
  --from REV           the revision deployed before (commit, branch or tag)
  --to REV             the revision being deployed
  --application NAME   the CodeDeploy application (default: the repository's directory name)
  --appspec FILE       the release is deployed as this AppSpec content (ECS, Lambda)
  --s3 s3://B/K        the release is deployed as this S3 bundle, with --s3-version V (a versioned
                       bucket) or --s3-etag E
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
        appspec: 'value',
        s3: 'value',
        's3-version': 'value',
        's3-etag': 'value',
      });
      const deployedAs = deployedRevision(options, io.cwd);
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
      const detail = changeSummaryDetail(change, application, builtAt, deployedAs);
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

/**
 * What CodeDeploy will report as the deployment's revision when it is not the git commit: the
 * AppSpec content's SHA-256 (--appspec), or the S3 bundle (--s3 with its version or ETag).
 */
function deployedRevision(options: Record<string, string | true | undefined>, cwd: string): Revision | undefined {
  const text = (name: string) => (typeof options[name] === 'string' ? (options[name] as string) : undefined);
  const appspec = text('appspec');
  const s3 = text('s3');
  if (appspec && s3) throw new UsageError("options '--appspec' and '--s3' exclude each other: a deployment has one revision");
  if (!s3 && (text('s3-version') || text('s3-etag'))) throw new UsageError("options '--s3-version' and '--s3-etag' are only used with '--s3'");
  if (appspec) {
    const file = resolve(cwd, appspec);
    if (!existsSync(file)) throw new UsageError(`--appspec: no file ${file}`);
    return { appSpecSha256: appSpecSha256(readFileSync(file, 'utf8')) };
  }
  if (!s3) return undefined;
  const location = /^s3:\/\/([^/]+)\/(.+)$/.exec(s3);
  if (!location) throw new UsageError(`--s3: expected s3://BUCKET/KEY, got '${s3}'`);
  const version = text('s3-version');
  const eTag = text('s3-etag');
  if (!version === !eTag) throw new UsageError("option '--s3' needs exactly one of '--s3-version V' (a versioned bucket) and '--s3-etag E': CodeDeploy reports the bundle by it");
  return { s3: { bucket: location[1], key: location[2], ...(version ? { version } : { eTag: bareETag(eTag!) }) } };
}

/** The Deployment Change Summary detail of a computed change, keyed on what is deployed (the commit unless said). */
export function changeSummaryDetail(change: GitChange, application: string, builtAt: number, deployedAs?: Revision) {
  return {
    schemaVersion: '1' as const,
    application,
    revision: deployedAs ?? { commitId: change.commitId },
    ...(change.repository ? { repository: change.repository } : {}),
    ...(change.branch ? { branch: change.branch } : {}),
    ...(change.author ? { author: change.author } : {}),
    builtAt: eventBridgeTime(builtAt),
    change: change.change,
  };
}

export const changeSummaryCommand: Command = createChangeSummaryCommand();
