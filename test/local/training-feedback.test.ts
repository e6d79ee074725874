import type { BusEvent } from '../../events/bus';
import { modelPromoted, modelRegistered, modelRejected, modelRetrainingStarted } from '../../events/emitted';
import { trainingEventLine, trainingTimeLeftMs } from '../../local/training-feedback';

/** The documented example of an emitted event, on the bus at `time`. */
function busEvent(definition: { readonly detailType: string; readonly example: object }, time: string): BusEvent {
  return { version: '0', id: 'x', 'detail-type': definition.detailType, source: 'deploy-guard', account: '123456789012', time, region: 'us-east-1', resources: [], detail: definition.example } as BusEvent;
}

describe('the training lines of the backtest (local/training-feedback.ts)', () => {
  it('says when a job started, by what, and over which rows', () => {
    expect(trainingEventLine(busEvent(modelRetrainingStarted, '2026-11-20T09:00:12Z'))).toBe(
      'training job deploy-guard-dev-20261120-0900-5f2c1a: started on 2026-11-20 by alarm deploy-guard-dev-model-error-rate, rows from 2026-05-25 to 2026-11-20',
    );
    const scheduled = { ...modelRetrainingStarted, example: { ...modelRetrainingStarted.example, trigger: { type: 'schedule' }, alarmName: undefined } };
    expect(trainingEventLine(busEvent(scheduled, '2026-11-20T09:00:12Z'))).toContain('by the retraining schedule');
  });

  it('says whether promote adopted it, registered it for approval or rejected it, and why', () => {
    expect(trainingEventLine(busEvent(modelPromoted, '2026-11-20T09:41:30Z'))).toBe(
      "training job deploy-guard-dev-20261120-0900-5f2c1a: promoted (AUC 0.780 against the serving model's 0.710); it serves from 2026-11-20",
    );
    expect(trainingEventLine(busEvent(modelRegistered, '2026-11-20T09:41:30Z'))).toBe(
      "training job deploy-guard-prod-20261120-0900-5f2c1a: registered (AUC 0.780 against the serving model's 0.710), waiting for a person to approve it",
    );
    expect(trainingEventLine(busEvent(modelRejected, '2026-11-20T09:41:30Z'))).toBe(
      "training job deploy-guard-dev-20261120-0900-5f2c1a: rejected, worse-than-serving: candidate AUC 0.69 is below the serving model's 0.71 on the most recent window",
    );
  });

  it('has no line for any other event', () => {
    expect(trainingEventLine({ ...busEvent(modelPromoted, '2026-11-20T09:41:30Z'), 'detail-type': 'Deployment Risk Assessed' })).toBeUndefined();
  });
});

describe('the training time still to come', () => {
  const DAY = 86_400_000;
  it('expects as many jobs per virtual day as so far, each as long as their mean', () => {
    // 2 jobs of 10 s in the first 100 days; 100 days left: 2 more, 20 s.
    expect(trainingTimeLeftMs({ jobs: 2, wallMs: 20_000, firstModelWallMs: 3_000 }, { start: 0, now: 100 * DAY, end: 200 * DAY })).toBe(20_000);
  });

  it('expects at least one job per schedule period, as long as the first model took before any job ran', () => {
    expect(trainingTimeLeftMs({ jobs: 0, wallMs: 0, firstModelWallMs: 3_000 }, { start: 0, now: 10 * DAY, end: 370 * DAY, schedulePeriodMs: 180 * DAY })).toBe(6_000);
  });

  it('expects nothing at the end of the replay, or without jobs and a schedule', () => {
    expect(trainingTimeLeftMs({ jobs: 5, wallMs: 50_000, firstModelWallMs: 3_000 }, { start: 0, now: 200 * DAY, end: 200 * DAY, schedulePeriodMs: DAY })).toBe(0);
    expect(trainingTimeLeftMs({ jobs: 0, wallMs: 0, firstModelWallMs: 3_000 }, { start: 0, now: 10 * DAY, end: 370 * DAY })).toBe(0);
  });
});
