import type { ChangeSummaryJoin } from '../events/emitted';
import { topFactors, type Factor } from '../model/factors';
import { buildFeatureVector, formatFeatureRow } from '../model/features';
import { HISTORY_WINDOWS } from '../model/history';
import { bakeCutOf } from './bake-domain';
import { DEFAULT_ENDPOINT_TIMEOUT_MS } from './adapters/sagemaker-endpoint';
import { ConfigurationError, ENV, groupKey, type GroupPolicy } from './config';
import { cutScores, decisionCut, type DecisionCut } from './cuts';
import { overriddenVerdict, wouldStop, type AppliedOverride } from './operator-controls';
import { findOverride } from './operator-lookup';
import { cutWithoutModel, decide, explanationContext, historyFeatures, type Score, type Verdict } from './predict-domain';
import { ModelUnavailableError, type ChangeSummaryStore, type ControlStore, type DeploymentStore, type ModelEndpointPort, type OperatorControlStore, type ServingModel, type ServingModelSource } from './ports';

/**
 * One release judged the way predict judges a deployment, shared by predict (at a CodeDeploy START
 * or READY) and the pipeline gate (before the deployment exists): the change summary joined by
 * revision key, the group's history from the stores, the serving model's feature vector scored by the
 * endpoint, the group's block-budget cut, the decision with the group's failure policy and
 * exploration, an operator's override or pause, the top factors and the bake tier's cut.
 */

/**
 * Known outcomes read back to per assessment (with the stopped deployments in between): the
 * recent-rate windows need the last 20 and the overall rate comes from the group's counts; the rest
 * is room for the author's last 5 and the deployments of the last 24 hours, which a group with more
 * than this many deployments a day would undercount.
 */
export const DEFAULT_HISTORY_LIMIT = 200;

export interface ReleaseAssessmentDependencies {
  readonly deployments: DeploymentStore;
  readonly changes: ChangeSummaryStore;
  readonly servingModel: ServingModelSource;
  readonly control: ControlStore;
  readonly operatorControls: OperatorControlStore;
  readonly endpoint: ModelEndpointPort;
}

/** What is judged: the release of a group, keyed for the exploration draw and the override lookup. */
export interface Release {
  /** The deployment id, or for the gate its job's key: exploration draws on it, and an override may name it. */
  readonly deploymentId: string;
  readonly application: string;
  readonly deploymentGroup: string;
  /** Its revision key (events/emitted.ts revisionKey), when it has one. */
  readonly revision?: string;
  /** When it started: history is read before this, and the change summary is sealed at it. */
  readonly startedAt: number;
  /** CodeDeploy already reports it finished: nothing can be enforced. */
  readonly alreadyFinished: boolean;
}

export interface ReleaseAssessment {
  readonly model?: ServingModel;
  /** The feature vector scored, when there was a model. */
  readonly vector?: readonly number[];
  readonly cut: DecisionCut;
  readonly verdict: Verdict;
  readonly override?: AppliedOverride;
  readonly factors: readonly Factor[];
  readonly bake?: { readonly cut: number | null; readonly minutes: number; readonly alarms: string[] };
  readonly author?: string;
  readonly changeSummary: ChangeSummaryJoin;
  readonly assessedAt: number;
}

export async function assessRelease(release: Release, policy: GroupPolicy, deps: ReleaseAssessmentDependencies, clock: { now(): number }, historyLimit = DEFAULT_HISTORY_LIMIT): Promise<ReleaseAssessment> {
  const { application, deploymentGroup, revision, startedAt } = release;
  const group = groupKey(application, deploymentGroup);
  const summary = revision ? await deps.changes.findForDeployment(application, revision, startedAt) : undefined;
  const changeSummary: ChangeSummaryJoin = revision ? { status: summary ? 'joined' : 'missing', revision } : { status: 'no-revision' };
  const author = summary?.author;
  const [loaded, recent, counts] = await Promise.all([
    servingModelOrFallback(deps.servingModel),
    deps.deployments.groupHistory(application, deploymentGroup, startedAt, Math.max(historyLimit, HISTORY_WINDOWS.longer)),
    deps.deployments.groupCounts(application, deploymentGroup, startedAt),
  ]);
  const model = loaded.model;
  const vector = model
    ? buildFeatureVector(model.features, {
        group,
        time: startedAt,
        // A missing summary leaves every change field missing (NaN), never zero.
        change: summary?.change ?? {},
        history: historyFeatures(recent, counts, { time: startedAt, ...(author === undefined ? {} : { author }) }),
      })
    : undefined;
  const score: Score = vector ? await scoreRow(deps.endpoint, formatFeatureRow(vector)) : 'fallback' in loaded ? loaded.fallback : noModel;

  const assessedAt = clock.now();
  const cut = model ? await decisionCut(policy, group, model, { control: deps.control, deployments: deps.deployments }, assessedAt) : cutWithoutModel(policy);
  const decided = decide(policy, score, cut, { deploymentId: release.deploymentId, alreadyFinished: release.alreadyFinished });
  // An operator's override of the release or pause of the group lets a would-be stop through (read only then).
  const override = wouldStop(decided) ? await findOverride(deps.operatorControls, { deploymentId: release.deploymentId, application, deploymentGroup, ...(revision ? { revision } : {}) }, assessedAt) : undefined;
  const verdict = override ? overriddenVerdict(decided, override) : decided;
  const factors = model && vector ? topFactors(model.features, vector, model.explain(vector), { count: 3, context: explanationContext(recent, counts, author) }) : [];
  const bake = policy.bake ? { cut: bakeCutOf(policy.bake, cut, model ? await cutScores(policy, group, deps.control) : [], policy.blockBudget), minutes: policy.bake.minutes, alarms: [...(policy.alarmNames ?? [])] } : undefined;
  return {
    ...(model ? { model } : {}),
    ...(vector ? { vector } : {}),
    cut,
    verdict,
    ...(override ? { override } : {}),
    factors,
    ...(bake ? { bake } : {}),
    ...(author === undefined ? {} : { author }),
    changeSummary,
    assessedAt,
  };
}

/** The feature row the endpoint saw, or '' without a model. */
export function featureRowOf(assessment: Pick<ReleaseAssessment, 'vector'>): string {
  return assessment.vector ? formatFeatureRow(assessment.vector) : '';
}

type ModelFallback = Extract<Score, { readonly kind: 'fallback' }>;

const noModel: ModelFallback = { kind: 'fallback', cause: 'model', reason: 'NoServingModel: no model has been promoted yet' };

/**
 * The serving model, or why there is none to score with: no pointer yet, or a model that cannot be
 * loaded. Either way the group's failure policy decides, as for an endpoint failure; throwing would
 * leave the deployment unassessed (a fail-closed group proceeding, a gate group stopped at the
 * READY timeout even when fail-open).
 */
async function servingModelOrFallback(source: ServingModelSource): Promise<{ readonly model: ServingModel } | { readonly model?: undefined; readonly fallback: ModelFallback }> {
  try {
    const model = await source.serving();
    return model ? { model } : { fallback: { kind: 'fallback', cause: 'model', reason: 'NoServingModel: no model has been promoted yet' } };
  } catch (error) {
    if (!(error instanceof ModelUnavailableError)) throw error;
    return { fallback: { kind: 'fallback', cause: 'model', reason: `ModelUnavailable: ${error.message}` } };
  }
}

async function scoreRow(endpoint: ModelEndpointPort, row: string): Promise<Score> {
  const answer = await endpoint.invoke(row);
  if (!answer.ok) return { kind: 'fallback', cause: 'endpoint', reason: `${answer.failure}: ${answer.message}` };
  if (answer.probabilities.length !== 1) {
    return { kind: 'fallback', cause: 'endpoint', reason: `Error: the endpoint answered ${answer.probabilities.length} probabilities for one row` };
  }
  return { kind: 'probability', probability: answer.probabilities[0] };
}

/** ENV.endpointTimeoutMs, or the default 2000 ms. */
export function endpointTimeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env[ENV.endpointTimeoutMs];
  if (text === undefined || text === '') return DEFAULT_ENDPOINT_TIMEOUT_MS;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(ENV.endpointTimeoutMs, `is '${text}': set it to a positive whole number of milliseconds`);
  }
  return value;
}

