import type { Example, Window } from './export';
import type { FeatureList } from './features';
import { fitLogisticRegression } from './logistic';
import { type ClassificationReport, type DecisionCosts, chooseThreshold, classificationReport } from './metrics';

/**
 * The honest evaluation of a model: threshold chosen on the validation window by expected cost,
 * figures on the test window (the most recent deployments of each group), pooled and per group,
 * always beside two baselines: Parrot (the group's previous outcome again) and logistic regression.
 */

export const EVALUATION_SCHEMA_VERSION = '1';

export interface PredictorEvaluation {
  readonly threshold: number;
  readonly validation: ClassificationReport;
  readonly test: ClassificationReport;
  readonly per_group: Readonly<Record<string, ClassificationReport>>;
}

export interface Evaluation {
  readonly schema_version: string;
  readonly rows: number;
  readonly groups: number;
  readonly windows: Readonly<Record<Window, number>>;
  readonly costs: { readonly failed_deployment: number; readonly needless_rollback: number };
  /** The model's decision threshold (roll back when the probability is at least this), chosen on validation. */
  readonly threshold: number;
  readonly validation: ClassificationReport;
  readonly test: ClassificationReport;
  readonly baselines: { readonly parrot: ClassificationReport & { readonly validation_auc: number | null }; readonly logistic_regression: ClassificationReport & { readonly validation_auc: number | null } };
  readonly per_group: Readonly<
    Record<
      string,
      {
        readonly rows: number;
        readonly windows: Readonly<Record<Window, number>>;
        readonly test: ClassificationReport;
        readonly baselines: { readonly parrot: ClassificationReport; readonly logistic_regression: ClassificationReport };
      }
    >
  >;
}

/** Scores every example with `score`, chooses its threshold on validation and reports on test. */
export function evaluatePredictor(
  examples: readonly Example[],
  score: (example: Example) => number,
  costs: DecisionCosts,
): PredictorEvaluation {
  const scored = examples.map((example) => ({ example, score: score(example) }));
  const window = (name: Window) => scored.filter((entry) => entry.example.window === name);
  const validation = window('validation');
  const test = window('test');
  const labels = (entries: typeof scored) => entries.map((entry) => entry.example.failed);
  const scores = (entries: typeof scored) => entries.map((entry) => entry.score);
  const threshold = chooseThreshold(labels(validation), scores(validation), costs);
  const perGroup: Record<string, ClassificationReport> = {};
  for (const group of [...new Set(test.map((entry) => entry.example.group))].sort()) {
    const entries = test.filter((entry) => entry.example.group === group);
    perGroup[group] = classificationReport(labels(entries), scores(entries), threshold, costs);
  }
  return {
    threshold,
    validation: classificationReport(labels(validation), scores(validation), threshold, costs),
    test: classificationReport(labels(test), scores(test), threshold, costs),
    per_group: perGroup,
  };
}

/** Parrot: predicts the group's previous outcome (success when there is none). */
export function parrotScore(example: Example): number {
  return example.history.previousFailed ?? 0;
}

export function evaluate(
  featureList: FeatureList,
  examples: readonly Example[],
  modelScore: (example: Example) => number,
  costs: DecisionCosts,
): Evaluation {
  const model = evaluatePredictor(examples, modelScore, costs);
  const parrot = evaluatePredictor(examples, parrotScore, costs);
  const training = examples.filter((example) => example.window === 'train');
  const logistic = fitLogisticRegression(
    featureList,
    training.map((example) => example.vector),
    training.map((example) => example.failed),
  );
  const regression = evaluatePredictor(examples, (example) => logistic.predict(example.vector), costs);

  const count = (list: readonly Example[]) => ({
    train: list.filter((example) => example.window === 'train').length,
    validation: list.filter((example) => example.window === 'validation').length,
    test: list.filter((example) => example.window === 'test').length,
  });
  const groups = [...new Set(examples.map((example) => example.group))].sort();
  // A group too short to have a test window has no figures of its own (its deployments still count in `rows`).
  const perGroup: Evaluation['per_group'] = Object.fromEntries(
    groups.filter((group) => model.per_group[group] !== undefined).map((group) => {
      const list = examples.filter((example) => example.group === group);
      return [
        group,
        {
          rows: list.length,
          windows: count(list),
          test: model.per_group[group],
          baselines: { parrot: parrot.per_group[group], logistic_regression: regression.per_group[group] },
        },
      ];
    }),
  );
  return {
    schema_version: EVALUATION_SCHEMA_VERSION,
    rows: examples.length,
    groups: groups.length,
    windows: count(examples),
    costs: { failed_deployment: costs.failedDeployment, needless_rollback: costs.needlessRollback },
    threshold: model.threshold,
    validation: model.validation,
    test: model.test,
    baselines: {
      parrot: { ...parrot.test, validation_auc: parrot.validation.auc },
      logistic_regression: { ...regression.test, validation_auc: regression.validation.auc },
    },
    per_group: perGroup,
  };
}
