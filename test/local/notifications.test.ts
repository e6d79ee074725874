import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeStack } from '../../cli/commands/backtest';
import { readMapping } from '../../cli/commands/import';
import type { GuardMode } from '../../events/emitted';
import { runBacktest, type BacktestResult, type BacktestRuntime } from '../../local/backtest';
import { importHistory } from '../../model/import';
import { scratchDirs } from '../support/temp-dirs';

/**
 * Notifications end to end on the local runtime: the real handlers on the synthesized dev stack's
 * wiring replay a slice of the shipped history; predict's enforced stops reach the notify function
 * through the stack's 'notify' rule, and notify publishes to the local SNS stand-in. A stop in stop
 * mode is one readable message; a shadow decision is none.
 */

const ROOT = join(__dirname, '../..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const GROUPS = ['rails_rails_data', 'ruby_ruby_data'];
const LIMIT = 250;
const tempDir = scratchDirs('notifications');

interface BusRecord {
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown> & { readonly deploymentId?: string; readonly topFactors?: readonly { readonly text: string }[] };
}

async function replay(mode: GuardMode): Promise<{ result: BacktestResult; runtime: BacktestRuntime; events: BusRecord[] }> {
  const records = importHistory(SHIPPED, readMapping(MAPPING), MAPPING).records.filter((record) => GROUPS.includes(record.group));
  let runtime: BacktestRuntime | undefined;
  const result = await runBacktest({
    records,
    dataSource: `${SHIPPED} (${GROUPS.join(', ')})`,
    stack: synthesizeStack(undefined, 'dev'),
    mode,
    retrain: false,
    limit: LIMIT,
    store: 'memory',
    outDir: join(tempDir(), mode),
    log: () => undefined,
    inspect: (state) => {
      runtime = state;
    },
  });
  const events = readFileSync(result.files.events, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BusRecord);
  return { result, runtime: runtime!, events };
}

const stopsOf = (events: readonly BusRecord[]) => events.filter((event) => event['detail-type'] === 'Deployment Risk Assessed' && event.detail.decision === 'rollback' && event.detail.enforced === true);

describe('in stop mode', () => {
  let run: Awaited<ReturnType<typeof replay>>;
  beforeAll(async () => {
    run = await replay('stop');
  });

  it('each stop is told in exactly one message on the notification topic, and nothing else is', () => {
    const stops = stopsOf(run.events);
    expect(stops.length).toBeGreaterThan(0);
    const aboutDeployments = run.runtime.notifications.filter((message) => /Deploy Guard (stopped|could not stop) d-/.test(message.subject));
    expect(aboutDeployments.map((message) => message.subject.match(/ (d-[A-Z0-9]+) /)![1]).sort()).toEqual(stops.map((stop) => stop.detail.deploymentId).sort());
    expect(run.runtime.notifications.every((message) => message.topicArn === 'arn:aws:sns:us-east-1:123456789012:deploy-guard-dev-notifications')).toBe(true);
    expect(run.runtime.deadLetters.filter((letter) => letter.target === 'notify')).toEqual([]);
  });

  it('a stop reads: the deployment, its group, the probability against the cut, the factors in words and the override command', () => {
    const stop = stopsOf(run.events).find((event) => event.detail.probability !== null && (event.detail.topFactors ?? []).length > 0)!;
    const { deploymentId, application, deploymentGroup, probability, cut } = stop.detail as { deploymentId: string; application: string; deploymentGroup: string; probability: number; cut: number };
    const message = run.runtime.notifications.find((candidate) => candidate.subject.includes(` ${deploymentId} `))!;
    expect(message.subject).toBe(`Deploy Guard stopped ${deploymentId} of ${application}/${deploymentGroup} (stop mode)`);
    expect(message.body).toContain(`Deploy Guard stopped deployment ${deploymentId} of ${application}/${deploymentGroup} at START`);
    expect(message.body).toContain(`Group:        ${application}/${deploymentGroup}\n`);
    expect(message.body).toContain(`Risk:         ${probability.toFixed(3)} ≥ ${cut.toFixed(3)} (probability of failure against the cut it was decided with)`);
    for (const factor of stop.detail.topFactors!) expect(message.body).toContain(`  - ${factor.text} (`);
    expect(message.body).toContain(`deploy-guard override --environment dev --deployment ${deploymentId} --reason "..."`);
    expect(message.body).toContain(`https://us-east-1.console.aws.amazon.com/codesuite/codedeploy/deployments/${deploymentId}?region=us-east-1`);
  });
});

describe('in shadow mode', () => {
  it('a would-be stop is told in no message', async () => {
    const run = await replay('shadow');
    const wouldStop = run.events.filter((event) => event['detail-type'] === 'Deployment Risk Assessed' && event.detail.decision === 'rollback');
    expect(wouldStop.length).toBeGreaterThan(0);
    expect(stopsOf(run.events)).toEqual([]);
    expect(run.runtime.notifications.filter((message) => / d-[A-Z0-9]+ /.test(message.subject))).toEqual([]);
  });
});
