import { LocalEventBus, type BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { buildEntry, EMITTED_EVENTS, type EmittedEventKind } from '../../events/emitted';
import { SYSTEM_RULES } from '../../events/patterns';
import { AWS_SAMPLES, derivedDeploymentEvent, derivedOwnAlarmEvent, derivedOwnTrainingJobEvent } from '../../events/samples';
import { parseOptions, type Command } from '../command';
import { summaryOf } from '../catalog';

/**
 * The contract of the system, run: wires the system's rules onto local event buses and routes every
 * real AWS sample event and every Deploy Guard event example through them, printing which rule (and
 * so which handler) each reached.
 */
export const routeCommand: Command = {
  name: 'route',
  summary: summaryOf('route'),
  usage: `Usage: deploy-guard route [--json]

Builds the default bus (AWS service events) and Deploy Guard's own bus on the local EventBridge
runtime, puts on them every real AWS sample in events/samples/ plus the derived START / READY /
STOP states and one example of each event Deploy Guard emits, and prints which rule (and so which
handler) each one reached. --json prints the same as JSON lines.`,
  async run(argv, io) {
    const options = parseOptions(argv, { json: 'flag' });
    const clock = new ManualClock('2026-11-20T09:00:00Z');
    let id = 0;
    const newId = () => `local-${++id}`;
    const buses = {
      default: new LocalEventBus({ name: 'default', clock, newId, autoDeliver: false }),
      'deploy-guard': new LocalEventBus({ name: 'deploy-guard', clock, newId, autoDeliver: false }),
    };
    const reached = new Map<string, string[]>();
    for (const rule of SYSTEM_RULES) {
      buses[rule.bus].putRule({
        name: rule.name,
        pattern: rule.pattern,
        targets: [{ id: rule.target, invoke: (event: BusEvent) => void reached.get(event.id)?.push(`${rule.name} → ${rule.target}`) }],
      });
    }

    const rows: { event: string; label: string; reached: string[] }[] = [];
    const track = (label: string, eventId: string) => {
      const list: string[] = [];
      reached.set(eventId, list);
      rows.push({ event: eventId, label, reached: list });
    };
    const awsEvents = [
      ...AWS_SAMPLES.filter((sample) => sample.eventBridge).map((sample) => ({ label: sample.file, event: sample.event })),
      ...(['START', 'READY', 'STOP'] as const).map((state) => ({ label: `derived: CodeDeploy ${state}`, event: derivedDeploymentEvent(state).event })),
      { label: 'derived: Deploy Guard alarm in ALARM', event: derivedOwnAlarmEvent().event },
      { label: 'derived: Deploy Guard training job Completed', event: derivedOwnTrainingJobEvent().event },
    ];
    for (const { label, event } of awsEvents) {
      const copy = { ...(event as BusEvent), id: newId() };
      track(label, copy.id);
      buses.default.publishAwsEvent(copy);
    }
    for (const kind of Object.keys(EMITTED_EVENTS) as EmittedEventKind[]) {
      const entry = buildEntry(kind, EMITTED_EVENTS[kind].example as never, { source: 'deploy-guard', eventBusName: 'deploy-guard' });
      const answer = buses['deploy-guard'].putEvents([entry]).Entries[0];
      if (!('EventId' in answer)) throw new Error(`the ${kind} example was refused: ${answer.ErrorMessage}`);
      track(`emitted: ${kind}`, answer.EventId);
    }
    await Promise.all([buses.default.drain(), buses['deploy-guard'].drain()]);

    if (options.json) {
      for (const row of rows) io.stdout.write(`${JSON.stringify({ event: row.label, rules: row.reached })}\n`);
      return 0;
    }
    const width = Math.max(...rows.map((row) => row.label.length));
    io.stdout.write(`Deploy Guard: ${rows.length} events routed through ${SYSTEM_RULES.length} rules on the local EventBridge runtime\n\n`);
    for (const row of rows) io.stdout.write(`  ${row.label.padEnd(width)}  ${row.reached.length ? row.reached.join(', ') : '-'}\n`);
    const routed = rows.filter((row) => row.reached.length > 0).length;
    io.stdout.write(`\n${routed} of ${rows.length} events reached a handler; the others are not Deploy Guard's business.\n`);
    return 0;
  },
};
