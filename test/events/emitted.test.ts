import {
  buildEntry,
  DEFAULT_EVENT_SOURCE,
  EMITTED_EVENTS,
  revisionKey,
  validateEventSource,
  type EmittedEventKind,
} from '../../events/emitted';
import { LocalEventBus, type BusEvent } from '../../events/bus';
import { ManualClock } from '../../events/clock';
import { parseEmittedEvent, parseKnownEvent } from '../../events/parse';
import { EventValidationError } from '../../events/validation';

const KINDS = Object.keys(EMITTED_EVENTS) as EmittedEventKind[];

describe('the events Deploy Guard emits', () => {
  it("are the nine the design names, the operators' announcement, the hold, the bake's rollback and pass, and the pipeline gate's decision", () => {
    expect(KINDS).toEqual([
      'Deployment Change Summary',
      'Deployment Risk Assessed',
      'Deployment Rollback Requested',
      'Deployment Rollback Completed',
      'Deployment Rollback Failed',
      'Model Retraining Started',
      'Model Promoted',
      'Model Registered',
      'Model Rejected',
      'Operator Override',
      'Deployment Held',
      'Deployment Bake Rolled Back',
      'Deployment Bake Passed',
      'Pipeline Gate Decided',
    ]);
  });

  it('Operator Override: an override names its revision, a pause or resume its group', () => {
    const example = EMITTED_EVENTS['Operator Override'].example;
    const withoutRevision = Object.fromEntries(Object.entries(example).filter(([key]) => key !== 'revision')) as typeof example;
    expect(() => buildEntry('Operator Override', withoutRevision, { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' })).toThrow('revision: an override names the revision it lets through');
    expect(() => buildEntry('Operator Override', { ...withoutRevision, action: 'pause' }, { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' })).toThrow('deploymentGroup: a pause names its deployment group');
    expect(() => buildEntry('Operator Override', { ...withoutRevision, action: 'resume', deploymentGroup: 'prod' }, { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' })).not.toThrow();
  });

  it("Deployment Rollback Failed: a bake's refused rollback carries the bake (platform, alarm, action, window); without it the event is as version 1 always was", () => {
    const example = EMITTED_EVENTS['Deployment Rollback Failed'].example;
    const bake = { platform: 'ECS', alarmName: 'checkout-5xx', action: 'LifecycleHookFailed', minutes: 30, openedAt: '2026-11-20T09:20:05Z' } as const;
    const context = { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' };
    expect(JSON.parse(buildEntry('Deployment Rollback Failed', { ...example, reason: 'DeploymentAlreadyCompleted', bake }, context).Detail)).toEqual({ ...example, reason: 'DeploymentAlreadyCompleted', bake });
    expect(JSON.parse(buildEntry('Deployment Rollback Failed', example, context).Detail)).not.toHaveProperty('bake');
    expect(() => buildEntry('Deployment Rollback Failed', { ...example, bake: { ...bake, alarmName: '' } }, context)).toThrow('bake.alarmName');
    expect(() => buildEntry('Deployment Rollback Failed', { ...example, bake: { ...bake, extra: 1 } } as never, context)).toThrow(/bake/);
  });

  it.each(KINDS)('%s: its documented example is valid, versioned, and survives a trip through the bus', async (kind) => {
    const definition = EMITTED_EVENTS[kind];
    expect((definition.example as { schemaVersion: string }).schemaVersion).toBe(definition.schemaVersion);
    expect(definition.description.length).toBeGreaterThan(20);
    const bus = new LocalEventBus({ name: 'deploy-guard', clock: new ManualClock('2026-11-20T09:00:00Z') });
    const seen: BusEvent[] = [];
    bus.onEvent((event) => seen.push(event));
    const entry = buildEntry(kind, definition.example as never, { source: 'acme.deploy-guard', eventBusName: 'deploy-guard' });
    expect(bus.putEvents([entry])).toEqual({ FailedEntryCount: 0, Entries: [{ EventId: seen[0].id }] });
    const parsed = parseEmittedEvent(kind, seen[0], 'acme.deploy-guard');
    expect(parsed.detail).toEqual(definition.example);
    expect(parseKnownEvent(seen[0], 'acme.deploy-guard').kind).toBe(kind);
  });

  it('are validated before they leave: a bad detail names the kind and every path', () => {
    const detail = { ...EMITTED_EVENTS['Deployment Risk Assessed'].example, probability: 1.5, decision: 'maybe' };
    try {
      buildEntry('Deployment Risk Assessed', detail as never, { source: DEFAULT_EVENT_SOURCE, eventBusName: 'deploy-guard' });
      throw new Error('expected a failure');
    } catch (error) {
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).eventKind).toBe('Deployment Risk Assessed');
      expect((error as EventValidationError).issues.map((issue) => issue.path)).toEqual(['probability', 'decision']);
    }
  });

  it('with another installation\'s source are not taken for ours', () => {
    const entry = buildEntry('Model Rejected', EMITTED_EVENTS['Model Rejected'].example, { source: 'other-team', eventBusName: 'b' });
    const event = { version: '0', id: '1', account: '1', region: 'r', time: '2026-11-20T09:00:00Z', resources: [], source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
    expect(() => parseEmittedEvent('Model Rejected', event)).toThrow(/source/);
  });

  it('carry the change fields as a closed set: an unknown field is rejected by name', () => {
    const example = EMITTED_EVENTS['Deployment Change Summary'].example;
    const detail = { ...example, change: { ...example.change, linesAddded: 3 } };
    expect(() => buildEntry('Deployment Change Summary', detail as never, { source: 'x', eventBusName: 'b' })).toThrow(/change/);
  });
});

describe('Model Retraining Started, version 2: what started the job', () => {
  const base = EMITTED_EVENTS['Model Retraining Started'].example;
  const schedule = { type: 'schedule', ruleName: 'deploy-guard-dev-retraining-schedule', periodDays: 180, scheduledAt: '2026-11-20T09:00:00Z' };
  const build = (detail: object) => () => buildEntry('Model Retraining Started', detail as never, { source: DEFAULT_EVENT_SOURCE, eventBusName: 'deploy-guard' });

  it('an alarm: trigger.alarmName, and alarmName kept as version 1 had it', () => {
    expect(base).toMatchObject({ schemaVersion: '2', trigger: { type: 'alarm', alarmName: base.alarmName } });
    expect(build({ ...base, alarmName: 'deploy-guard-dev-model-brier' })).toThrow("alarmName: expected the trigger's alarm name 'deploy-guard-dev-model-error-rate'");
  });

  it('the schedule: the rule, its period and when it fired, and no alarmName', () => {
    const scheduled: Record<string, unknown> = { ...base };
    delete scheduled.alarmName;
    expect(JSON.parse(build({ ...scheduled, trigger: schedule })().Detail).trigger).toEqual(schedule);
    expect(build({ ...base, trigger: schedule })).toThrow('alarmName: expected no alarmName when a schedule started the job');
    expect(build({ ...scheduled, trigger: { ...schedule, type: 'cron' } })).toThrow('trigger.type');
  });
});

describe('an installation\'s event source', () => {
  it('may be any printable name that AWS does not reserve', () => {
    expect(validateEventSource('acme.deploy-guard')).toBe('acme.deploy-guard');
    expect(() => validateEventSource('aws.codedeploy')).toThrow("must not start with 'aws.'");
    expect(() => validateEventSource('')).toThrow('1 to 256 characters');
    expect(() => validateEventSource('é')).toThrow('printable ASCII');
  });
});

describe('a revision key', () => {
  it('is the same however the revision was reported', () => {
    expect(revisionKey({ commitId: 'abc123' })).toBe('git:abc123');
    expect(revisionKey({ s3: { bucket: 'b', key: 'app.zip', eTag: 'e1' } })).toBe('s3:b/app.zip@e1');
    expect(revisionKey({ s3: { bucket: 'b', key: 'app.zip', eTag: 'e1', version: 'v2' } })).toBe('s3:b/app.zip@v2');
    expect(revisionKey({ appSpecSha256: 'a'.repeat(64) })).toBe(`appspec:${'a'.repeat(64)}`);
  });
});
