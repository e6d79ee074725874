import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusEvent } from '../../events/bus';
import type { GroupPolicy } from '../../handlers/config';
import type { AssessmentRecord } from '../../handlers/ports';
import { riskAssessedEntry } from '../../handlers/predict-domain';

/**
 * A baking EC2 group (checkout/checkout-prod, stop cut 0.9, bake cut 0.2, 30 minutes) and the events
 * the bake handler meets, as AWS and predict deliver them: for the bake handler's tests.
 */
export const BAKING_ALARM = 'deploy-guard-dev-checkout-checkout-prod-alarm-0';
const SAMPLE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', 'samples', 'cloudwatch-alarm-state-change.single-metric.json'), 'utf8'));
const eventTime = (at: number) => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function bakingPolicy(alarmNames: readonly string[] = [BAKING_ALARM]): GroupPolicy {
  return { application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', threshold: 0.9, failurePolicy: 'fail-open', alarmNames: [...alarmNames], bake: { threshold: 0.2, minutes: 30 } } as GroupPolicy;
}

/** predict's stored assessment of a deployment of the group in the bake tier, assessed at `at`. */
export function bakeTierAssessment(deploymentId: string, at: number, alarms: readonly string[] = [BAKING_ALARM]): AssessmentRecord {
  return {
    deploymentId, application: 'checkout', deploymentGroup: 'checkout-prod', platform: 'Server', mode: 'stop', trigger: 'START', probability: 0.4, cut: 0.9, blockBudget: null, cutSource: 'threshold',
    decision: 'proceed', explored: false, propensity: 1, enforced: true, modelVersion: 'initial', featureRow: '', startedAt: at, assessedAt: at, tier: 'bake', bake: { cut: 0.2, minutes: 30, alarms: [...alarms] },
  } as AssessmentRecord;
}

/** Deployment Risk Assessed as predict publishes it for the stored assessment, in its EventBridge envelope. */
export function assessedEvent(assessment: AssessmentRecord): BusEvent {
  const entry = riskAssessedEntry(assessment, [], { source: 'deploy-guard', eventBusName: 'deploy-guard-dev' });
  return { version: '0', id: 'assessed-1', 'detail-type': entry.DetailType, source: entry.Source, account: '123456789012', time: eventTime(assessment.assessedAt), region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) } as BusEvent;
}

/** A CloudWatch Alarm State Change of `alarmName` to `value` at `at` (the single-metric sample). */
export function alarmEvent(id: string, alarmName: string, value: 'ALARM' | 'OK', at: number): BusEvent {
  return {
    ...SAMPLE,
    id,
    time: eventTime(at),
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
    detail: { ...SAMPLE.detail, alarmName, state: { ...SAMPLE.detail.state, value, timestamp: new Date(at).toISOString().replace('Z', '+0000') } },
  } as BusEvent;
}

/** The bake sweep's Scheduled Event at `at`. */
export function sweepEvent(at: number): BusEvent {
  return { version: '0', id: `sweep-${at}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: eventTime(at), region: 'us-east-1', resources: ['arn:aws:events:us-east-1:123456789012:rule/deploy-guard-dev-bake-sweep'], detail: {} } as BusEvent;
}
