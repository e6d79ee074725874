import { EMITTED_EVENTS } from '../../events/emitted';
import type { AssessmentRecord } from '../../handlers/ports';

const example = EMITTED_EVENTS['Deployment Risk Assessed'].example;

/**
 * The documented Deployment Risk Assessed example (an enforced gate rollback at READY of
 * d-123456789, EC2 blue/green) as predict stores it, with any field changed.
 */
export function storedAssessment(change: Partial<AssessmentRecord> = {}): AssessmentRecord {
  return {
    deploymentId: example.deploymentId,
    application: example.application,
    deploymentGroup: example.deploymentGroup,
    platform: example.platform,
    mode: example.mode,
    trigger: example.trigger,
    probability: example.probability,
    cut: example.cut,
    blockBudget: example.blockBudget,
    cutSource: example.cutSource,
    decision: example.decision,
    explored: example.explored,
    propensity: example.propensity,
    enforced: example.enforced,
    modelVersion: example.modelVersion,
    featureRow: '412,3,0.25',
    startedAt: Date.parse(example.assessedAt) - 60_000,
    assessedAt: Date.parse(example.assessedAt),
    topFactors: example.topFactors,
    ...change,
  };
}
