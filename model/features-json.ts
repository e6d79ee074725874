import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { featureSchemaDocument } from './features';

/**
 * Writes model/features.json, the feature schema as Python reads it (notebooks, tooling).
 * Run `npx tsx model/features-json.ts` after changing model/features.ts; a test fails when it is stale.
 */
export const FEATURES_JSON_PATH = join(__dirname, 'features.json');

export function renderFeatureSchemaJson(): string {
  return `${JSON.stringify(featureSchemaDocument(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(FEATURES_JSON_PATH, renderFeatureSchemaJson());
  process.stdout.write(`wrote ${FEATURES_JSON_PATH}\n`);
}
