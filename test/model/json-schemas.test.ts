import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderJsonSchemas, SCHEMAS_DIR } from '../../tools/json-schemas';

/**
 * The published JSON Schemas (schemas/, generated from the zod schemas by tools/json-schemas.ts):
 * current, and they accept the shipped files and refuse what the code refuses.
 */
const ROOT = join(__dirname, '..', '..');
const validator = (file: string) => new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as object);

describe('the JSON Schemas of the configuration and of the import mapping', () => {
  it('are the ones the zod schemas generate (run `npm run schemas` after changing them)', () => {
    for (const { path, text } of renderJsonSchemas()) expect({ path, text: readFileSync(path, 'utf8') }).toEqual({ path, text });
  });

  it('accept the shipped mapping, which names its schema for editors', () => {
    const mapping = JSON.parse(readFileSync(join(ROOT, 'data', 'ci-bfdetector.mapping.json'), 'utf8')) as { $schema: string };
    const validate = validator('history-mapping.schema.json');
    expect({ valid: validate(mapping), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(join(ROOT, 'data', mapping.$schema)).toBe(join(SCHEMAS_DIR, 'history-mapping.schema.json'));
  });

  it('refuse a mapping with an unknown key or a label without its column, as import does', () => {
    const validate = validator('history-mapping.schema.json');
    expect(validate({ group: { fromFileName: true }, time: { rowOrder: true }, label: { column: 'status', failureValues: ['failed'] }, colour: 'blue' })).toBe(false);
    expect(validate({ group: { fromFileName: true }, time: { rowOrder: true }, label: { failureValues: ['failed'] } })).toBe(false);
  });

  it.each(['deploy-guard.config.json', 'deploy-guard.config.minimal.json'])('accept the shipped configuration %s, which names its schema for editors', (file) => {
    const validate = validator('deploy-guard.config.schema.json');
    const config = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { $schema: string };
    expect({ valid: validate(config), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(join(ROOT, config.$schema)).toBe(join(SCHEMAS_DIR, 'deploy-guard.config.schema.json'));
  });

  it('mark as required exactly what the minimal configuration gives: where it goes and what it guards', () => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'deploy-guard.config.schema.json'), 'utf8')) as {
      required: string[];
      properties: { environments: { additionalProperties: { required: string[] } } };
    };
    expect(schema.required).toEqual(['environments']);
    expect([...schema.properties.environments.additionalProperties.required].sort()).toEqual(['accountId', 'groups', 'namePrefix', 'region']);
  });
});
