/**
 * The model-quality metrics record-outcome emits (CloudWatch embedded metric format) and the alarms
 * built on them (stacks/) and evaluated locally (local/). One definition, imported by all three.
 */

/** Default CloudWatch namespace; an installation sets its own through ENV.metricsNamespace. */
export const DEFAULT_METRICS_NAMESPACE = 'DeployGuard';

/** Per labelled outcome, each metric is 0 or 1 except BrierContribution (squared error). */
export const QUALITY_METRICS = {
  /** A labelled (non-counterfactual) outcome with an assessment. */
  labelled: 'LabelledOutcomes',
  /** Predicted rollback, and it failed. */
  truePositives: 'TruePositives',
  /** Predicted rollback, and it succeeded. */
  falsePositives: 'FalsePositives',
  /** Predicted proceed, and it succeeded. */
  trueNegatives: 'TrueNegatives',
  /** Predicted proceed, and it failed. */
  falseNegatives: 'FalseNegatives',
  /** (probability − label)²; its average is the Brier score. */
  brierContribution: 'BrierContribution',
  /** A deployment Deploy Guard stopped: its label is counterfactual. */
  counterfactuals: 'CounterfactualOutcomes',
  /**
   * Inverse-propensity estimates of the stop decisions' quality (exploration): a would-be stop whose
   * outcome was observed counts 1/P(observed) (1/ε when it was explored, 1 in shadow mode), a
   * deployment below the cut counts 1. Estimated precision = StopsFailed / (StopsFailed +
   * StopsSucceeded); estimated recall = StopsFailed / (StopsFailed + MissedFailures).
   */
  estimatedStopsFailed: 'EstimatedStopsFailed',
  estimatedStopsSucceeded: 'EstimatedStopsSucceeded',
  estimatedMissedFailures: 'EstimatedMissedFailures',
  /** A would-be stop that proceeded to be observed. */
  exploredOutcomes: 'ExploredOutcomes',
  /** One assessment, at the moment of the decision (predict). */
  assessments: 'Assessments',
  /** An assessment that stops the deployment (or would, in shadow mode): Stops / Assessments is the realized block rate. */
  stops: 'Stops',
  /** The cut the decision was taken with (its average is what the dashboard plots against the budget). */
  decisionCut: 'DecisionCut',
  /** An assessment decided by the failure policy because the endpoint failed. */
  endpointFallbacks: 'EndpointFallbacks',
  /** A change summary record-change refused: its revision had one already, or its deployment had started (per application). */
  changeSummariesRefused: 'ChangeSummariesRefused',
  /** An assessment decided by the failure policy because the serving model could not be loaded, or none serves yet. */
  modelFallbacks: 'ModelFallbacks',
  /** An assessment scored without its release's change summary (none received for the revision, or no revision): its change features are missing. */
  withoutChangeSummary: 'AssessedWithoutChangeSummary',
  /** A would-be stop an operator's override or pause let through (predict). */
  operatorOverrides: 'OperatorOverrides',
  /** A release the pipeline gate failed or held before its deployment existed (it is also an assessment and a stop). */
  gateStops: 'PipelineGateStops',
  /** A pipeline gate job whose input could not be read (UserParameters, its revision, an unknown group): told to CodePipeline as a failure. */
  gateInputErrors: 'PipelineGateInputErrors',
} as const;
export type QualityMetricName = (typeof QUALITY_METRICS)[keyof typeof QUALITY_METRICS];

/**
 * Dimension sets: every value is emitted per group and pooled over the installation (no dimensions),
 * so alarms can watch either.
 */
export const QUALITY_DIMENSIONS = {
  application: 'Application',
  deploymentGroup: 'DeploymentGroup',
} as const;
