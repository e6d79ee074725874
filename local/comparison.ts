import { REPORTED_BUDGETS, type CutScope } from '../model/block-budget';
import type { FeatureList } from '../model/features';
import { HISTORY_FEATURE_NAMES, HistoryAccumulator, type HistoryFeatures } from '../model/history';
import type { DecisionCosts } from '../model/metrics';
import { recordTime } from '../model/records';
import { parseCsvRows, type XGBoostModel } from '../model/xgboost';
import { InLoopPolicies, type InLoopResults, type ScoringModel } from './in-loop-policies';
import type { ReplayEntry } from './lifecycle';

/**
 * What the replay feeds the comparison: every deployment's start and finish, the retraining jobs and
 * the promotions, so that each fair baseline runs in its own loop beside Deploy Guard
 * (local/in-loop-policies.ts), and Deploy Guard's own decisions are counted the same way. It also
 * measures the loop's health: how far the history features Deploy Guard served were from their
 * full-information values (every outcome known).
 */

/** What Deploy Guard served one finished deployment, from its stored assessment. */
export interface ServedDecision {
  /** The feature row the endpoint saw; empty when no model scored it. */
  readonly featureRow: string;
}

/** How many history features a deployment was served, and how many differ from their full-information value. */
export interface HistoryFidelity {
  readonly historyFeaturesServed: number;
  readonly historyFeaturesDiffering: number;
}

export interface ComparisonOptions {
  /** The first model (never-retrain, and the serving model until the first promotion). */
  readonly firstModel: XGBoostModel;
  readonly firstModelVersion: string;
  /** The feature list every model of the replay is served with. */
  readonly features: FeatureList;
  /** The configured budget: Deploy Guard's entry at it is the replay itself. */
  readonly blockBudget: number | null;
  /** Whose deployments the budgets are shares of, for every budgeted baseline as for Deploy Guard. */
  readonly cutScope: CutScope;
  readonly costs: DecisionCosts;
  /** retraining.dataWindowDays: logistic regression refits on its rows of this many days. */
  readonly retrainingWindowDays: number;
  readonly minimumTrainingRows: number;
}

export class BacktestComparison {
  private readonly policies: InLoopPolicies;
  /** Each group's history with every outcome known, recorded when a deployment finishes (the timing rule). */
  private readonly fullHistory = new Map<string, HistoryAccumulator>();
  private readonly fullAtStart = new Map<string, HistoryFeatures>();
  private readonly historyColumns: readonly { readonly name: (typeof HISTORY_FEATURE_NAMES)[number]; readonly column: number }[];

  constructor(private readonly options: ComparisonOptions) {
    const first = scoringModel(options.firstModelVersion, options.features, options.firstModel);
    this.policies = new InLoopPolicies({
      firstModel: first,
      budgets: [...new Set([...REPORTED_BUDGETS, ...(options.blockBudget === null ? [] : [options.blockBudget])])],
      skipDeployGuardBudgets: options.blockBudget === null ? [] : [options.blockBudget],
      retrainingWindowDays: options.retrainingWindowDays,
      minimumTrainingRows: options.minimumTrainingRows,
      costs: options.costs,
      cutScope: options.cutScope,
    });
    const names = new Set<string>(HISTORY_FEATURE_NAMES);
    this.historyColumns = options.features.features.flatMap((feature, column) => (names.has(feature.name) ? [{ name: feature.name as (typeof HISTORY_FEATURE_NAMES)[number], column }] : []));
  }

  started(entry: ReplayEntry, group: string, at: number): void {
    const id = entry.deploymentId!;
    const { record } = entry;
    this.policies.onStart({ id, group, start: at, change: record.change, ...(record.author === undefined ? {} : { author: record.author }), warmUp: entry.warmUp });
    this.fullAtStart.set(id, this.historyOf(group).features({ time: at, ...(record.author === undefined ? {} : { author: record.author }) }));
  }

  /** A deployment finished: every loop observes it (or not, if it stopped it); says how far its served history was from full information. */
  finished(entry: ReplayEntry, group: string, decision: ServedDecision, at: number): HistoryFidelity {
    const id = entry.deploymentId!;
    const failed = entry.record.failed === true;
    this.policies.onFinish(id, failed, at);
    this.historyOf(group).record({ time: recordTime(entry.record)!, failed, ...(entry.record.author === undefined ? {} : { author: entry.record.author }) });
    const full = this.fullAtStart.get(id);
    this.fullAtStart.delete(id);
    return full && decision.featureRow ? this.fidelity(full, decision.featureRow) : { historyFeaturesServed: 0, historyFeaturesDiffering: 0 };
  }

  retrainingStarted(at: number): void {
    this.policies.onRetrain(at);
  }

  servingChanged(version: string, model: XGBoostModel, at: number): void {
    this.policies.onPromotion(scoringModel(version, this.options.features, model), at);
  }

  /**
   * Every (predictor, budget) entry but Deploy Guard's at the configured budget (the replay itself,
   * which the report measures from its own records), and the curves.
   */
  results(): InLoopResults {
    return this.policies.results();
  }

  private historyOf(group: string): HistoryAccumulator {
    let history = this.fullHistory.get(group);
    if (!history) {
      history = new HistoryAccumulator();
      this.fullHistory.set(group, history);
    }
    return history;
  }

  private fidelity(full: HistoryFeatures, featureRow: string): HistoryFidelity {
    const parsed = parseCsvRows(`${featureRow}\n`);
    let served = 0;
    let differing = 0;
    for (const { name, column } of this.historyColumns) {
      const value = column < parsed.columnCount ? parsed.values[column] : Number.NaN;
      const expected = full[name] === undefined ? Number.NaN : Math.fround(full[name]!);
      if (Number.isNaN(value) && Number.isNaN(expected)) continue;
      served += 1;
      if (!(value === expected)) differing += 1;
    }
    return { historyFeaturesServed: served, historyFeaturesDiffering: differing };
  }
}

function scoringModel(version: string, features: FeatureList, model: XGBoostModel): ScoringModel {
  return {
    version,
    features,
    predict: (vector) => model.predict(vector),
    predictBatch: (values, rowCount, columnCount) => model.predictBatch(values, rowCount, columnCount),
  };
}
