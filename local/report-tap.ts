import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BusEvent, LocalEventBus } from '../events/bus';
import { groupKey } from '../handlers/config';
import type { DeploymentStore } from '../handlers/ports';
import type { LocalCodeDeploy } from './codedeploy';
import type { ReplayEntry } from './lifecycle';
import type { DeadLetter, ReplayedDeployment, ReportBuilder, RetrainingTriggerInput as TimelineRetrainingTrigger, TimelineEvent } from './report-model';

/**
 * What the report learns from the replay: every event on the buses (written to events.jsonl, counted,
 * and the rollback requests and the model's timeline taken from them), and each finished
 * deployment's row, from the stores and the CodeDeploy stand-in.
 */

/** events.jsonl is written in blocks of about this many characters: one stream write per event costs more than the JSON. */
export const EVENTS_BLOCK_CHARS = 65_536;

/**
 * The events file of a run: `events.jsonl.gz` (gzip, about 18 times smaller: 11 MB against 195 MB for
 * the default backtest; `zcat` reads it) unless plain JSON lines are asked for.
 */
export function eventsFileName(compressed: boolean): string {
  return compressed ? 'events.jsonl.gz' : 'events.jsonl';
}

/**
 * Bytes of events.jsonl per replayed deployment, measured on the default backtest (194.7 MB plain,
 * 10.7 MB gzipped, 55,719 deployments), with room for runs whose events are larger (gate mode, faults).
 */
export const EVENTS_BYTES_PER_DEPLOYMENT = { plain: 5_000, gzip: 300 } as const;

/** What the tap adds to the report. */
export type ReportSink = Pick<ReportBuilder, 'addDeployment' | 'addTimelineEvent' | 'addDeadLetter' | 'addDriftDecision'>;

/** Where a finished deployment's report row comes from. */
export interface DeploymentSources {
  readonly store: DeploymentStore;
  readonly codeDeploy: LocalCodeDeploy;
  readonly deploymentGroup: string;
}

/** How close the served history features were to their full-information values (local/comparison.ts). */
export interface DeploymentFidelity {
  readonly historyFeaturesServed: number;
  readonly historyFeaturesDiffering: number;
}

export class ReportTap {
  /** The events put on the buses, by detail-type. */
  readonly eventCounts = new Map<string, number>();
  private readonly rollbackRequested = new Set<string>();
  private readonly timeline: TimelineEvent[] = [];
  private events = 0;
  private readonly out: Writable;
  private pending = '';
  private writeError: Error | undefined;

  private readonly file: Writable;

  /** `eventsFile` ending in .gz is written gzipped (eventsFileName). */
  constructor(
    readonly eventsFile: string,
    private readonly builder: ReportSink,
    private readonly sources: DeploymentSources,
  ) {
    this.file = createWriteStream(eventsFile);
    this.out = eventsFile.endsWith('.gz') ? createGzip() : this.file;
    if (this.out !== this.file) {
      this.out.pipe(this.file);
      // A failed compressor would leave the file open (pipe stops on an error): close it too.
      this.out.on('error', () => this.file.destroy());
    }
    // A write error (a full disk, the folder removed) is reported when the run ends, not as an
    // unhandled error event; a run that fails before its loop leaves the stream to fail quietly.
    for (const stream of new Set([this.out, this.file])) stream.on('error', (error) => (this.writeError ??= error));
  }

  /** How many events were put on the buses. */
  get busEvents(): number {
    return this.events;
  }

  /** Taps every event put on `bus`. */
  listen(bus: LocalEventBus): void {
    bus.onEvent((event) => {
      this.events += 1;
      this.pending += `${JSON.stringify({ bus: bus.name, ...event })}\n`;
      if (this.pending.length >= EVENTS_BLOCK_CHARS) {
        this.out.write(this.pending);
        this.pending = '';
      }
      this.observe(event);
    });
  }

  private observe(event: BusEvent): void {
    this.eventCounts.set(event['detail-type'], (this.eventCounts.get(event['detail-type']) ?? 0) + 1);
    const detail = event.detail as Record<string, unknown>;
    const at = Date.parse(event.time);
    switch (event['detail-type']) {
      case 'Deployment Rollback Requested':
        this.rollbackRequested.add(String(detail.deploymentId));
        break;
      case 'CloudWatch Alarm State Change':
        if ((detail.state as { value?: string })?.value === 'ALARM') this.timeline.push({ at, kind: 'drift-alarm', alarmName: String(detail.alarmName) });
        break;
      case 'Model Retraining Started':
        this.timeline.push({ at, kind: 'retraining-started', trigger: retrainingTrigger(detail.trigger), detail: String(detail.trainingJobName) });
        break;
      case 'Model Promoted':
        this.timeline.push({ at, kind: 'promoted', modelVersion: String(detail.modelVersion) });
        break;
      case 'Model Rejected':
        this.timeline.push({ at, kind: 'rejected', detail: `${String(detail.reason)}: ${String(detail.message)}` });
        break;
    }
  }

  /** Adds a finished deployment's row to the report. */
  async addDeployment(entry: ReplayEntry, fidelity: DeploymentFidelity = { historyFeaturesServed: 0, historyFeaturesDiffering: 0 }): Promise<void> {
    this.builder.addDeployment(await this.deploymentRow(entry, fidelity));
  }

  private async deploymentRow(entry: ReplayEntry, fidelity: DeploymentFidelity): Promise<ReplayedDeployment> {
    const { store, codeDeploy, deploymentGroup } = this.sources;
    const item = await store.get(entry.deploymentId!);
    const assessment = item?.assessment;
    const deployment = codeDeploy.deployment(entry.deploymentId!)!;
    return {
      deploymentId: entry.deploymentId!,
      application: entry.application,
      deploymentGroup: groupKey(entry.application, deploymentGroup),
      startedAt: deployment.createTime,
      failed: entry.record.failed === true,
      probability: assessment?.probability ?? null,
      cut: assessment?.cut ?? null,
      explored: assessment?.explored ?? false,
      blockBudget: assessment?.blockBudget ?? null,
      decision: assessment?.decision ?? 'proceed',
      enforced: assessment?.enforced ?? false,
      // Deploy Guard's request: one its stored decision backs (a forged request on the bus is refused, not Deploy Guard's).
      rollbackRequested: this.rollbackRequested.has(entry.deploymentId!) && assessment?.decision === 'rollback' && assessment.enforced,
      stopped: deployment.status === 'Stopped',
      modelVersion: assessment && assessment.probability !== null ? assessment.modelVersion : null,
      ...fidelity,
    };
  }

  /** Writes the events still pending and closes events.jsonl; a write error is kept for throwIfWriteFailed. */
  async close(): Promise<void> {
    this.out.end(this.pending);
    await finished(this.file).catch(() => undefined);
  }

  throwIfWriteFailed(): void {
    if (this.writeError) throw new Error(`cannot write ${this.eventsFile}: ${this.writeError.message}`);
  }

  /** Adds what the replay as a whole produced: the model's timeline, the dead letters, the drift handler's decisions. */
  addRunSummary(run: { readonly deadLetters: readonly DeadLetter[]; readonly driftDecisions: readonly string[] }): void {
    for (const event of this.timeline) this.builder.addTimelineEvent(event);
    for (const { at, rule, target, reason } of run.deadLetters) this.builder.addDeadLetter({ at, rule, target, reason });
    for (const decision of run.driftDecisions) this.builder.addDriftDecision(decision);
  }
}

/** The first model's probability for an assessed deployment's feature row. */

/** What started a training job, from Model Retraining Started (version 2's `trigger`). */
function retrainingTrigger(trigger: unknown): TimelineRetrainingTrigger {
  const value = trigger as { type?: string; alarmName?: string } | undefined;
  return value?.type === 'alarm' && typeof value.alarmName === 'string' ? { type: 'alarm', alarmName: value.alarmName } : { type: 'schedule' };
}
