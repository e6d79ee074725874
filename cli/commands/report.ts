import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../../events/clock';
import type { GateDecisionEntry } from '../../handlers/pipeline-gate-domain';
import type { DeploymentItem, DeploymentStore, GateDecisionListing } from '../../handlers/ports';
import {
  gateAndReleaseTotals,
  productionGroupReport,
  REPORT_WINDOW_DAYS,
  type GateAndReleaseTotals,
  type GateDecisionsReport,
  type ProductionGroupReport,
  type ReleaseTotals,
  type ReportedGroup,
} from '../../model/production-report';
import { GRADUATION_CRITERIA } from '../../model/graduation';
import { guardedGroupCosts, loadConfig, DEFAULT_CONFIG_FILE, type EnvironmentConfig } from '../../stacks/config';
import { parseOptions, requireOption, UsageError, type Command } from '../command';
import { summaryOf } from '../catalog';
import { dynamoDbDeploymentStore, dynamoDbGateListing, gateDecisionsSince, parseSince } from './decisions';


/** How far back `report` looks unless told (`--since`). */
export const DEFAULT_REPORT_SINCE = `${REPORT_WINDOW_DAYS}d`;
/** At most this many assessed deployments per group are read (the newest). */
export const MAX_REPORTED_PER_GROUP = 100_000;

export interface ReportCommandDependencies {
  readonly deploymentStore?: (environment: EnvironmentConfig, endpoint: string | undefined) => DeploymentStore;
  /** The pipeline gate's decisions by group and day (the control table's `gateday#…` items), as `decisions` reads them. */
  readonly gateListing?: (environment: EnvironmentConfig, endpoint: string | undefined) => GateDecisionListing;
  readonly clock?: Clock;
}

/** A group's figures: its deployments' (in the backtest's terms), its pipeline gate's decisions, and both together. */
export type ReportedGroupFigures = ProductionGroupReport & GateAndReleaseTotals;

/** What `report --json` prints and `--out` writes. */
export interface ProductionReport {
  readonly environment: string;
  readonly name_prefix: string;
  readonly since: string;
  readonly until: string;
  readonly groups: readonly ReportedGroupFigures[];
  /** Every reported group together: the pipeline gate's decisions, and releases and stops of deployments and gate. */
  readonly totals: GateAndReleaseTotals;
  /** Groups whose reading stopped at MAX_REPORTED_PER_GROUP (the newest were read). */
  readonly truncated: readonly string[];
  readonly graduation_criteria: string;
}

/** The report command; dependencies injected for tests. */
export function createReportCommand(deps: ReportCommandDependencies = {}): Command {
  const clock = deps.clock ?? systemClock;
  const storeFor = deps.deploymentStore ?? dynamoDbDeploymentStore;
  const listingFor = deps.gateListing ?? dynamoDbGateListing;
  return {
    name: 'report',
    summary: summaryOf('report'),
    usage: `Usage: deploy-guard report --environment ENV [--group APP/GROUP] [--since T] [--config FILE]
                           [--endpoint URL] [--json] [--out FILE]

What Deploy Guard did in an environment, per guarded group, in the backtest report's terms
(blocked %, caught %, precision, net benefit at the group's costs, net per stop), so you can compare
production with the backtest. In shadow mode every figure is observed; where deployments were stopped,
what the stops caught is estimated from exploration (the would-be stops let through at random,
weighted by the inverse of their propensity); without explored outcomes there is no estimate.
Shadow-mode groups are judged against the criteria for stop mode. Beside the deployments, the releases
the pipeline gate decided before any deployment existed: passed, failed (stopped; no outcome, they
never ran), held and how the hold ended; a gate pass and its deployment count as one release, and the
gate's fails and holds count as stops in the totals. Reads the environment's deployments table
(dynamodb:Query on its index) and the gate's decisions by group and day in its control table
(dynamodb:GetItem) with your AWS credentials.

Options:
  --environment ENV   the environment of the configuration (dev, staging, prod)
  --group APP/GROUP   one guarded group (default: every group the environment guards)
  --since T           from an ISO time or this long ago: 30m, 24h, 7d (default ${DEFAULT_REPORT_SINCE})
  --config FILE       the configuration (default deploy-guard.config.json)
  --endpoint URL      a DynamoDB endpoint other than AWS's (DynamoDB Local, dynalite)
  --json              the report as JSON instead of the table
  --out FILE          also write the JSON report to FILE`,
    async run(argv, io) {
      const options = parseOptions(argv, { environment: 'value', group: 'value', since: 'value', config: 'value', endpoint: 'value', json: 'flag', out: 'value' });
      const environmentName = requireOption(options, 'environment');
      const configFile = resolve(io.cwd, typeof options.config === 'string' ? options.config : DEFAULT_CONFIG_FILE);
      const environment = loadConfig(configFile).environments[environmentName];
      if (!environment) throw new UsageError(`--environment: '${environmentName}' is not an environment of ${configFile}`);
      const now = clock.now();
      const since = parseSince(typeof options.since === 'string' ? options.since : DEFAULT_REPORT_SINCE, now);
      const groups = selectReportedGroups(environment, typeof options.group === 'string' ? options.group : undefined);
      const endpoint = typeof options.endpoint === 'string' ? options.endpoint : undefined;
      const store = storeFor(environment, endpoint);
      const listing = listingFor(environment, endpoint);
      const reports: ReportedGroupFigures[] = [];
      const truncated: string[] = [];
      const allItems: DeploymentItem[] = [];
      const allDecisions: GateDecisionEntry[] = [];
      for (const group of groups) {
        const name = `${group.application}/${group.deploymentGroup}`;
        const items = await store.recentAssessments(group.application, group.deploymentGroup, since, MAX_REPORTED_PER_GROUP);
        if (items.length >= MAX_REPORTED_PER_GROUP) truncated.push(name);
        const decisions = await gateDecisionsSince(listing, name, since, now);
        reports.push({ ...productionGroupReport(group, items), ...gateAndReleaseTotals(items, decisions) });
        allItems.push(...items);
        allDecisions.push(...decisions);
      }
      const report: ProductionReport = {
        environment: environmentName,
        name_prefix: environment.namePrefix,
        since: new Date(since).toISOString(),
        until: new Date(now).toISOString(),
        groups: reports,
        totals: gateAndReleaseTotals(allItems, allDecisions),
        truncated,
        graduation_criteria: GRADUATION_CRITERIA,
      };
      if (typeof options.out === 'string') writeFileSync(resolve(io.cwd, options.out), `${JSON.stringify(report, null, 2)}\n`);
      io.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${renderProductionReport(report)}\n`);
      return 0;
    },
  };
}

/** The guarded groups with their costs (the configured ones, else the defaults): one named by `--group`, or all. */
export function selectReportedGroups(environment: EnvironmentConfig, wanted: string | undefined): ReportedGroup[] {
  const groups: ReportedGroup[] = guardedGroupCosts(environment);
  if (wanted === undefined) return groups;
  const found = groups.find((group) => `${group.application}/${group.deploymentGroup}` === wanted);
  if (!found) throw new UsageError(`--group: '${wanted}' is not guarded in this environment; it guards ${groups.map((group) => `${group.application}/${group.deploymentGroup}`).join(', ')}`);
  return [found];
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);
const decimal = (value: number | null, digits: number) => (value === null ? '—' : value.toFixed(digits));

/** Where a group's figures come from, in words. */
function basisWords(group: ProductionGroupReport): string {
  if (group.basis === 'observed') return `observed (shadow: all ${group.observed_would_be_stops} would-be stops' outcomes known)`;
  if (group.basis === 'exploration') return `estimated from ${group.observed_would_be_stops} explored would-be stop${group.observed_would_be_stops === 1 ? '' : 's'}`;
  return 'no estimate: no would-be stop with an observed outcome (exploration off, or none finished yet)';
}

/** The console report: one block per group. */
export function renderProductionReport(report: ProductionReport): string {
  const lines = [`${report.name_prefix} (${report.environment}): what Deploy Guard did from ${report.since} to ${report.until}`];
  for (const group of report.groups) {
    lines.push(
      '',
      `${group.group} (${group.mode} mode, budget ${percent(group.block_budget)})`,
      `  assessed ${group.assessed} (${group.pending} pending), ${group.mode === 'shadow' ? 'would stop' : 'stopped'} ${group.stopped} (blocked ${percent(group.blocked_rate)}), explored ${group.explored}, fallbacks ${group.fallbacks}`,
      `  caught ${percent(group.caught_rate)} of failures (${decimal(group.caught_failures, 1)} caught, ${group.missed_failures} missed), precision ${decimal(group.precision, 3)}, net benefit ${decimal(group.net_benefit, 0)}, net per stop ${decimal(group.net_per_stop, 2)}`,
      `  exploration let ${group.explored_failures} failure${group.explored_failures === 1 ? '' : 's'} through; figures ${basisWords(group)}`,
    );
    if (group.gate.decided > 0) lines.push(...gateLines(group.gate).map((line) => `  ${line}`), `  in all: ${releaseWords(group.releases)}`);
    if (group.graduation) {
      lines.push(group.graduation.meets ? '  meets the criteria for stop mode' : `  does not meet the criteria for stop mode yet: ${group.graduation.unmet.join('; ')}`);
    }
  }
  if (report.groups.length === 0) lines.push('(no guarded group)');
  else {
    lines.push('', `all groups: ${releaseWords(report.totals.releases)}`);
    lines.push(...(report.totals.gate.decided > 0 ? gateLines(report.totals.gate) : ['pipeline gate: no decisions in the period']).map((line) => `  ${line}`));
  }
  if (report.truncated.length > 0) lines.push('', `only the newest ${MAX_REPORTED_PER_GROUP} deployments of ${report.truncated.join(', ')} were read`);
  return lines.join('\n');
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** How the gate's holds ended, the kinds that happened. */
function holdEndWords(holds: GateDecisionsReport['holds']): string {
  const ends = [
    [holds.approved, 'approved'],
    [holds.rejected, 'rejected'],
    [holds.timed_out_approved, 'timed out and approved'],
    [holds.timed_out_rejected, 'timed out and rejected'],
    [holds.waiting, 'waiting'],
  ] as const;
  return ends.filter(([n]) => n > 0).map(([n, words]) => `${n} ${words}`).join(', ');
}

/** The pipeline gate's decisions, and that the releases it kept from running have no outcome. */
function gateLines(gate: GateDecisionsReport): string[] {
  const held = gate.held > 0 ? `held ${gate.held} (${holdEndWords(gate.holds)})` : 'held 0';
  const lines = [
    `pipeline gate (before any deployment): decided ${gate.decided}: passed ${gate.passed}, failed ${gate.failed}, ${held}; ${gate.deployed === 0 ? 'none of them deployed in the period' : `${gate.deployed} of them deployed (each counted once, as its deployment)`}`,
  ];
  if (gate.without_outcome > 0) {
    lines.push(`${count(gate.without_outcome, 'release')} the pipeline gate kept from running ${gate.without_outcome === 1 ? 'has' : 'have'} no outcome (never ran): not in caught, precision or net benefit`);
  }
  return lines;
}

/** Releases and stops, deployments and pipeline gate together. */
function releaseWords(totals: ReleaseTotals): string {
  const { deployments, gate_failed: failed, gate_held: held } = totals.stopped_by;
  return `${count(totals.releases, 'release')}, stopped or held ${totals.stopped} (${percent(totals.stopped_rate)} of releases): ${count(deployments, 'deployment')}, ${failed} failed at the pipeline gate, ${held} held at the pipeline gate`;
}
