import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configuredHistoryGroups, synthesizeStack } from '../../cli/commands/backtest';
import { readMapping } from '../../cli/commands/import';
import { applicationName, runBacktest, type BacktestResult, type BacktestRuntime } from '../../local/backtest';
import { importHistory } from '../../model/import';
import type { DeploymentRecord } from '../../model/records';
import { loadConfig } from '../../stacks/config';
import { scratchDirs } from '../support/temp-dirs';

/**
 * `backtest --config --environment`: each configured group that names history groups
 * (`historyGroups`) has them replayed with its own mode, platform and budget; the other history
 * groups take the command line's. A slice of the shipped history on the dev wiring.
 */
const ROOT = join(__dirname, '../..');
const SHIPPED = join(ROOT, 'data/ci-bfdetector');
const MAPPING = join(ROOT, 'data/ci-bfdetector.mapping.json');
const SLICE_GROUPS = ['rails_rails_data', 'ruby_ruby_data', 'CloudifySource_cloudify_data'];
const tempDir = scratchDirs('backtest-configured-groups');

/** The shipped dev environment with payments (ECS, shadow) standing for ruby and a checkout group (Server, stop) for rails. */
function writeConfig(change: (groups: Record<string, unknown>[]) => void = () => undefined): string {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'deploy-guard.config.json'), 'utf8')) as { environments: { dev: { groups: Record<string, unknown>[] } } };
  const dev = structuredClone(shipped.environments.dev);
  dev.groups = [
    { ...dev.groups.find((group) => group.application === 'payments'), historyGroups: ['ruby_ruby_data'] },
    { application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', blockBudget: 0.1, changeSummaryPublishers: [], existing: true, historyGroups: ['rails_rails_data'] },
  ];
  change(dev.groups);
  const file = join(tempDir(), 'deploy-guard.config.json');
  writeFileSync(file, JSON.stringify({ environments: { dev } }, null, 2));
  return file;
}

interface BusRecord {
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
}

/** The slice replayed on the dev wiring of a configuration, the command line in stop mode on EC2: what it logged, its bus events and its runtime. */
async function replayConfigured(config: string, out: string, logs: string[]): Promise<{ result: BacktestResult; events: BusRecord[]; runtime: BacktestRuntime }> {
  const records = importHistory(SHIPPED, readMapping(MAPPING), MAPPING).records.filter((record) => SLICE_GROUPS.includes(record.group));
  let runtime: BacktestRuntime | undefined;
  const result = await runBacktest({
    records,
    dataSource: SHIPPED,
    stack: synthesizeStack(config, 'dev'),
    groupSettings: configuredHistoryGroups(config, 'dev'),
    mode: 'stop',
    platform: 'Server',
    retrain: false,
    limit: 120,
    store: 'memory',
    outDir: join(tempDir(), out),
    log: (line) => logs.push(line),
    inspect: (state) => {
      runtime = state;
    },
  });
  const events = readFileSync(result.files.events, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as BusRecord);
  return { result, events, runtime: runtime! };
}

describe('backtest --config --environment: history groups replayed as the configured groups they are named by', () => {
  let records: DeploymentRecord[];
  const logs: string[] = [];
  let assessed: BusRecord[];
  let rollbackRequested: BusRecord[];

  beforeAll(async () => {
    records = importHistory(SHIPPED, readMapping(MAPPING), MAPPING).records.filter((record) => SLICE_GROUPS.includes(record.group));
    const { events } = await replayConfigured(writeConfig(), 'out', logs);
    assessed = events.filter((event) => event['detail-type'] === 'Deployment Risk Assessed');
    rollbackRequested = events.filter((event) => event['detail-type'] === 'Deployment Rollback Requested');
  });

  const ofGroup = (events: readonly BusRecord[], historyGroup: string) => events.filter((event) => event.detail.application === applicationName(historyGroup));
  const after = (events: readonly BusRecord[]) => events.filter((event) => event.detail.mode !== 'shadow' || event.detail.enforced === false);

  it('says which history group is replayed as which configured group, and with what', () => {
    expect(logs).toContain('ruby_ruby_data: replayed as payments/payments-prod (shadow mode, ECS, budget 10 %, exploration 0.02, fail-open)');
    expect(logs).toContain('rails_rails_data: replayed as checkout/checkout-prod (stop mode, Server, budget 10 %, exploration 0.02, fail-open)');
    expect(logs.some((line) => line.startsWith('CloudifySource_cloudify_data: replayed as'))).toBe(false);
  });

  it("replays ruby as payments: ECS, shadow mode after the warm-up as before it, so nothing of it is stopped", () => {
    const ruby = ofGroup(assessed, 'ruby_ruby_data');
    expect(ruby.length).toBeGreaterThan(50);
    expect(new Set(ruby.map((event) => `${String(event.detail.platform)} ${String(event.detail.mode)} ${String(event.detail.enforced)}`))).toEqual(new Set(['ECS shadow false']));
    expect(ruby.some((event) => event.detail.decision === 'rollback')).toBe(true);
    expect(ofGroup(rollbackRequested, 'ruby_ruby_data')).toEqual([]);
  });

  it('replays rails as checkout (Server, stop) and the unnamed group with the command line (Server, stop): both stop deployments after the warm-up', () => {
    for (const historyGroup of ['rails_rails_data', 'CloudifySource_cloudify_data']) {
      const modes = new Set(after(ofGroup(assessed, historyGroup)).map((event) => `${String(event.detail.platform)} ${String(event.detail.mode)}`));
      expect(modes).toContain('Server stop');
      expect(ofGroup(rollbackRequested, historyGroup).length).toBeGreaterThan(0);
    }
  });

  it('refuses a configured group that names a history group the data does not have, naming both', async () => {
    const config = writeConfig((groups) => {
      groups[1].historyGroups = ['rails_rails'];
    });
    await expect(
      runBacktest({ records, dataSource: SHIPPED, stack: synthesizeStack(config, 'dev'), groupSettings: configuredHistoryGroups(config, 'dev'), mode: 'stop', retrain: false, limit: 20, outDir: join(tempDir(), 'bad'), log: () => undefined }),
    ).rejects.toThrow("checkout/checkout-prod names history group 'rails_rails' (historyGroups), which the history does not have; it has CloudifySource_cloudify_data, rails_rails_data, ruby_ruby_data");
  });

  it('refuses a configuration that names one history group in two groups', () => {
    const config = writeConfig((groups) => {
      groups[1].historyGroups = ['ruby_ruby_data'];
    });
    expect(() => loadConfig(config)).toThrow(/environments\.dev\.groups\[1\]\.historyGroups\[0\]: history group ruby_ruby_data is already replayed as payments\/payments-prod; name it in one group only/s);
  });
});

describe("backtest --config --environment: each configured group's bake tier applied to its history groups", () => {
  let runtime: BacktestRuntime;
  const logs: string[] = [];
  let assessed: BusRecord[];
  let events: BusRecord[];

  beforeAll(async () => {
    // payments (ECS) and checkout (Server) in stop mode, each stopping at 0.5 and baking for 30 minutes what
    // scores at least 0.01 (fixed cuts: the first model scores a short slice's deployments too alike for shares).
    const config = writeConfig((groups) => {
      for (const [index, alarm] of [[0, 'payments-5xx'], [1, 'checkout-5xx']] as const) {
        Object.assign(groups[index]!, { mode: 'stop', threshold: 0.5, alarms: { names: [alarm], metrics: [] }, bake: { threshold: 0.01, minutes: 30 } });
      }
    });
    ({ events, runtime } = await replayConfigured(config, 'bake', logs));
    assessed = events.filter((event) => event['detail-type'] === 'Deployment Risk Assessed');
  });

  const baked = (historyGroup: string) =>
    assessed.filter((event) => event.detail.application === applicationName(historyGroup) && event.detail.tier === 'bake' && event.detail.enforced === true && event.detail.decision === 'proceed');

  it('says the bake tier in the line of each group that has one', () => {
    expect(logs).toContain('ruby_ruby_data: replayed as payments/payments-prod (stop mode, ECS, threshold 0.5, exploration 0.02, fail-open, bake threshold 0.01 for 30 min)');
    expect(logs).toContain('rails_rails_data: replayed as checkout/checkout-prod (stop mode, Server, threshold 0.5, exploration 0.02, fail-open, bake threshold 0.01 for 30 min)');
  });

  it('puts the deployments of each baking group that are not stopped and reach the bake cut in the bake tier, and none of the unnamed group', () => {
    expect(baked('rails_rails_data').length).toBeGreaterThan(3);
    expect(baked('ruby_ruby_data').length).toBeGreaterThan(3);
    expect(assessed.filter((event) => event.detail.application === applicationName('CloudifySource_cloudify_data') && event.detail.tier === 'bake')).toEqual([]);
  });

  it('watches each baked deployment through its window; no alarm moves in a replay, so each bake passes: the ECS hook is answered Succeeded, nothing is rolled back', () => {
    for (const event of baked('ruby_ruby_data')) {
      const deployment = runtime.codeDeploy.deployment(String(event.detail.deploymentId));
      expect({ id: event.detail.deploymentId, hook: deployment?.hooks.AfterAllowTraffic?.status }).toEqual({ id: event.detail.deploymentId, hook: 'Succeeded' });
    }
    for (const event of [...baked('rails_rails_data'), ...baked('ruby_ruby_data')]) {
      expect(runtime.codeDeploy.deployment(String(event.detail.deploymentId))?.status).not.toBe('Stopped');
    }
    expect(events.filter((event) => event['detail-type'] === 'Deployment Bake Rolled Back')).toEqual([]);
    expect(runtime.deadLetters).toEqual([]);
  });
});
