import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from '../../events/bus';
import { createChangeSummaryCommand } from '../../cli/commands/change-summary';
import { revisionOf } from '../../handlers/adapters/codedeploy';
import { ENV, type GroupPolicy } from '../../handlers/config';
import type { PutEventsEntry } from '../../events/emitted';
import { QUALITY_DIMENSIONS, QUALITY_METRICS } from '../../handlers/quality-metrics';
import type { LocalHandlers } from '../../local/handler-composition';
import { drainBuses, type DeadLetterWithEvent } from '../../local/lambda-delivery';
import type { StandIns } from '../../local/stand-ins';
import { TestRepo } from '../support/git-repo';
import { memoryIO } from '../support/io';
import { bootLocalRuntime } from '../support/local-e2e';
import { scratchDirs } from '../support/temp-dirs';

/**
 * A release deployed as something other than its git commit joins its change summary end to end, on
 * the local runtime with the real handlers on the synthesized dev stack's wiring: the CI step runs
 * the real `deploy-guard change-summary --appspec … --publish` (its PutEvents delivered onto the
 * local bus), record-change stores it, and a Lambda deployment created with that AppSpec content is
 * read back as CodeDeploy's GetDeployment reports it (handlers/adapters/codedeploy.ts revisionOf),
 * assessed by predict and answered by the traffic hook. A deployment of an AppSpec nobody summarized
 * is scored without change features and says so, in its assessment and in a metric.
 */
const tempDir = scratchDirs('revision-join');
const START = Date.parse('2026-12-01T09:00:00Z');
const MINUTE = 60_000;
const lambda = { application: 'checkout-fn', deploymentGroup: 'checkout-fn-prod' };
const GROUPS: GroupPolicy[] = [{ ...lambda, platform: 'Lambda', mode: 'stop', threshold: 0.999, blockBudget: 0.1, exploration: 0, cutScope: 'group', failurePolicy: 'fail-open' }];
const dana = { name: 'Dana', email: 'dana@example.com' };

/** A Lambda AppSpec as the CI step hands it to CreateDeployment: the alias moves from one version to the next. */
function appSpec(targetVersion: number): string {
  return [
    'version: 0.0',
    'Resources:',
    '  - checkout:',
    '      Type: AWS::Lambda::Function',
    '      Properties:',
    '        Name: checkout',
    '        Alias: live',
    `        CurrentVersion: "${targetVersion - 1}"`,
    `        TargetVersion: "${targetVersion}"`,
    'Hooks:',
    '  - BeforeAllowTraffic: deploy-guard-dev-traffic-hook',
    '',
  ].join('\n');
}

describe('every revision joins its change summary: a Lambda deployment on the local runtime', () => {
  let standIns: StandIns;
  let handlers: LocalHandlers;
  let metricsNamespace: string;
  let repo: TestRepo;
  let from: string;
  let to: string;
  let deadLetters: DeadLetterWithEvent[];
  const busEvents: BusEvent[] = [];
  const eventBridge = mockClient(EventBridgeClient);

  beforeAll(async () => {
    repo = new TestRepo('checkout');
    from = repo.commit(dana, 'first', { 'src/checkout.ts': 'export const total = 1;\n' });
    to = repo.commit(dana, 'second', { 'src/checkout.ts': 'export const total = 2;\nexport const tax = 0.2;\n', 'src/tax.ts': 'export const rate = 0.2;\n' });

    const runtime = await bootLocalRuntime({ groups: GROUPS, start: START, scratchDir: tempDir() });
    ({ standIns, handlers, deadLetters } = runtime);
    metricsNamespace = runtime.environmentOf('predict')[ENV.metricsNamespace]!;
    standIns.buses.custom.onEvent((event) => busEvents.push(event));
    // What the CLI's PutEvents reaches: the installation's bus.
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      standIns.publisher.publishNow(...(input.Entries as PutEventsEntry[]));
      return { FailedEntryCount: 0, Entries: input.Entries.map((_, index) => ({ EventId: `cli-${index}` })) };
    });
  });
  afterAll(async () => {
    eventBridge.restore();
    repo.remove();
    await standIns.close();
  });

  /** The CI step: `deploy-guard change-summary --appspec FILE --publish` for the release from..to. */
  const publishSummary = async (content: string) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'appspec.yaml'), content);
    const run = memoryIO({ cwd: dir });
    const args = ['--repo', repo.dir, '--from', from, '--to', to, '--application', lambda.application, '--appspec', 'appspec.yaml', '--publish', '--event-bus', 'deploy-guard-dev', '--region', 'us-east-1'];
    expect(await createChangeSummaryCommand({ clock: standIns.clock }).run(args, run.io)).toBe(0);
    await drainBuses(standIns.buses);
    return run.stdout();
  };
  /** CodeDeploy creates the Lambda deployment of that AppSpec content; its BeforeAllowTraffic hook is invoked. */
  const deploy = async (content: string) => {
    standIns.clock.advanceBy(MINUTE);
    const revision = revisionOf({ revisionType: 'AppSpecContent', appSpecContent: { content } })!;
    const { deploymentId } = standIns.codeDeploy.createDeployment({ ...lambda, platform: 'Lambda', revision });
    await drainBuses(standIns.buses);
    standIns.clock.advanceBy(2 * MINUTE);
    const answer = await handlers['traffic-hook']({ DeploymentId: deploymentId, LifecycleEventHookExecutionId: `hook-${deploymentId}` } as unknown as BusEvent);
    await drainBuses(standIns.buses);
    const assessed = busEvents.find((event) => event['detail-type'] === 'Deployment Risk Assessed' && (event.detail as { deploymentId: string }).deploymentId === deploymentId);
    return { deploymentId, answer, item: await standIns.stores.deployments.get(deploymentId), announced: assessed?.detail as Record<string, unknown> | undefined };
  };
  const withoutSummaryCount = (at: number) =>
    standIns.cloudWatch.statistic(
      { namespace: metricsNamespace, metricName: QUALITY_METRICS.withoutChangeSummary, dimensions: { [QUALITY_DIMENSIONS.application]: lambda.application, [QUALITY_DIMENSIONS.deploymentGroup]: lambda.deploymentGroup }, stat: 'Sum', unit: 'Count' },
      at - (at % 60_000),
      3600,
    );

  it('the summary published with --appspec is stored under the key predict computes from the deployment, and the deployment is scored with its change features', async () => {
    const content = appSpec(42);
    expect(await publishSummary(content)).toMatch(/^published Deployment Change Summary of checkout-fn appspec:[0-9a-f]{64} \(\d+ fields\)/);
    const { deploymentId, answer, item, announced } = await deploy(content);

    const key = `appspec:${revisionOf({ revisionType: 'AppSpecContent', appSpecContent: { content } })!.appSpecSha256}`;
    expect(item?.assessment?.changeSummary).toEqual({ status: 'joined', revision: key });
    expect(announced).toMatchObject({ deploymentId, changeSummary: { status: 'joined', revision: key } });
    // The release's change (1 commit: src/tax.ts added, src/checkout.ts modified) reached the features,
    // whose first four are commits, filesAdded, filesDeleted, filesModified (model/initial/features.json).
    const stored = await standIns.stores.changes.find(lambda.application, key);
    expect(stored?.summary.change).toMatchObject({ commits: 1, filesAdded: 1, filesModified: 1, linesAdded: 3, linesDeleted: 1 });
    expect(item?.assessment?.featureRow.split(',').slice(0, 4)).toEqual(['1', '1', '0', '1']);
    expect(answer).toMatchObject({ deploymentId });
    expect(standIns.codeDeploy.deployment(deploymentId)?.hookStatus).toBe('Succeeded');
    expect(withoutSummaryCount(item!.assessment!.assessedAt)).toBe(0);
    expect(deadLetters).toEqual([]);
  });

  it('a deployment of an AppSpec nobody summarized is scored without change features, and its assessment and the metric say so', async () => {
    const { item, announced } = await deploy(appSpec(43));
    const key = `appspec:${revisionOf({ revisionType: 'AppSpecContent', appSpecContent: { content: appSpec(43) } })!.appSpecSha256}`;
    expect(item?.assessment?.changeSummary).toEqual({ status: 'missing', revision: key });
    expect(announced).toMatchObject({ changeSummary: { status: 'missing', revision: key } });
    expect(item?.assessment?.featureRow.split(',').slice(0, 4)).toEqual(['', '', '', '']);
    expect(withoutSummaryCount(item!.assessment!.assessedAt)).toBe(1);
    expect(deadLetters).toEqual([]);
  });
});
