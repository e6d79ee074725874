import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFeatureList, type FeatureList } from '../../model/features';
import { tarGzip } from '../../model/tar';
import { loadXGBoostModel, type XGBoostModel } from '../../model/xgboost';

/**
 * A real XGBoost 1.7.4 model for the handler tests: test/fixtures/xgboost/base-score-model.json
 * (12 trees over 12 columns, base_score 0.3, trained by model/fixtures/make_scorer_fixture.py on real
 * CI build rows; see that folder's README). Its columns are read here as 12 Deploy Guard features in
 * the same order, each standing for the fixture column of the same meaning where there is one.
 */
export const MODEL_JSON = readFileSync(join(__dirname, '..', 'fixtures', 'xgboost', 'base-score-model.json'), 'utf8');

export const FIXTURE_GROUPS = ['myApplication/myDeploymentGroup', 'other-app/other-group'] as const;

export const FEATURE_NAMES = [
  'distinctAuthors', // gh_team_size
  'commits', // git_num_all_built_commits
  'srcChurn', // git_diff_src_churn
  'testChurn', // git_diff_test_churn
  'filesModified', // gh_diff_files_modified
  'commitsOnTouchedFiles', // gh_num_commits_on_files_touched
  'deploymentGroup',
  'hourOfDay',
  'failureRateOverall',
  'failureRateLast5', // proj_fail_rate_recent
  'authorRecentFailureRate', // comm_fail_rate_recent
  'previousFailed', // prev_build_result
] as const;

export function fixtureFeatureList(): FeatureList {
  return createFeatureList({ names: [...FEATURE_NAMES], groups: [...FIXTURE_GROUPS] });
}

export function fixtureTrees(): XGBoostModel {
  return loadXGBoostModel(MODEL_JSON);
}

/** model.tar.gz as the training job writes it: exactly one file, xgboost-model. */
export function fixtureModelTarGz(): Buffer {
  return tarGzip([{ name: 'xgboost-model', content: Buffer.from(MODEL_JSON) }]);
}

export function fixtureFeaturesJson(): Buffer {
  return Buffer.from(JSON.stringify(fixtureFeatureList()));
}
