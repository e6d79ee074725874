import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { transformSync } from 'esbuild';
import { HANDLER_BUILD_PLUGINS, inlineSchemaKeys, SDK_SCHEMA_FILE, sdkSchemaKeys } from '../../stacks/bundle-build';

/**
 * The SDK clients' schema modules declare names as string constants and use them as computed keys;
 * the handler bundles write those keys with the constants' literals (stacks/bundle-build.ts,
 * sdkSchemaKeys), so that esbuild can drop the schemas of operations no handler calls. What a bundle
 * built that way still does against AWS (S3, CodeDeploy) is checked in test/handlers/bundles.test.ts.
 */

/** A schema module in the style of the SDK's generator (client-s3's schemas_0.js, shortened). */
const SCHEMA_MODULE = `const _GO = "GetObject";
const _NSK = "NoSuchKey";
const _c = "client";
const _e = "error";
const _h = "http";
const _hE = "httpError";
const _hH = "httpHeader";
const _s = "smithy.ts.sdk.synthetic.com.amazonaws.s3";
const n0 = "com.amazonaws.s3";
import { TypeRegistry } from "@smithy/core/schema";
import { NoSuchKey } from "../models/errors";
const n0_registry = new TypeRegistry(n0);
export var NoSuchKey$ = [-3, n0, _NSK,
    { [_e]: _c, [_hE]: 404 },
    [],
    []
];
n0_registry.registerError(NoSuchKey$, NoSuchKey);
export var GetObject$ = [9, n0, _GO,
    { [_h]: ["GET", "/{Key+}?x-id=GetObject", 200] }, () => GetObjectRequest$, () => GetObjectOutput$
];
export var GetObjectOutput$ = [3, n0, _GO,
    0,
    [_e],
    [[0, { [_hH]: _e }]]
];
`;

/** Evaluates a script (no imports) and returns its last expression's value, as plain JSON. */
const evaluate = (script: string): unknown => JSON.parse(JSON.stringify(runInNewContext(script)));

describe('inlineSchemaKeys (the text transform of the sdkSchemaKeys plugin)', () => {
  it("writes each computed key that names a string constant of the module with that constant's literal, and changes nothing else", () => {
    const expected = SCHEMA_MODULE.replace('{ [_e]: _c, [_hE]: 404 }', '{ ["error"]: _c, ["httpError"]: 404 }')
      .replace('{ [_h]: ["GET"', '{ ["http"]: ["GET"')
      .replace('{ [_hH]: _e }', '{ ["httpHeader"]: _e }');
    expect(inlineSchemaKeys(SCHEMA_MODULE)).toBe(expected);
  });

  it('gives every object the same keys and values as before', () => {
    const script = `const _e = "error";\nconst _c = "client";\nconst _hE = "httpError";\n({ errorTraits: { [_e]: _c, [_hE]: 404 }, members: [[0, { [_e]: _hE }]] });\n`;
    expect(inlineSchemaKeys(script)).not.toBe(script);
    expect(evaluate(inlineSchemaKeys(script))).toEqual(evaluate(script));
    expect(evaluate(script)).toEqual({ errorTraits: { error: 'client', httpError: 404 }, members: [[0, { error: 'httpError' }]] });
  });

  it('leaves a key alone when its name is not a string constant of the module (a number, a computed value, a let, an import, a nested or undeclared name)', () => {
    const source = [
      'import { _imported } from "./names";',
      'const _n = 404;',
      'const _joined = "http" + "Error";',
      'let _l = "let";',
      'const _t = `template`;',
      'function traits() {',
      '    const _inner = "inner";',
      '    return { [_inner]: 1 };',
      '}',
      'export var Traits$ = { [_imported]: 1, [_n]: 2, [_joined]: 3, [_l]: 4, [_t]: 5, [_undeclared]: 6 };',
      '',
    ].join('\n');
    expect(inlineSchemaKeys(source)).toBe(source);
  });

  it('leaves an identifier alone where it is not a key: array elements, values, member accesses', () => {
    const source = 'const _e = "error";\nconst _c = "client";\nexport var S$ = [3, _e, [_e, _c], { error: _e }, ok ? table[_e]: _c];\n';
    expect(inlineSchemaKeys(source)).toBe(source);
  });

  it('copies a literal with escaped quotes, backslashes, `$` and single quotes verbatim, so the key is the same string', () => {
    const script = [
      'const _q = "say \\"hi\\" \\\\ $& $1 done";',
      "const _s = 'it\\'s';",
      '({ [_q]: 1, [_s]: 2 });',
      '',
    ].join('\n');
    const inlined = inlineSchemaKeys(script);
    expect(inlined).toContain('({ ["say \\"hi\\" \\\\ $& $1 done"]: 1, [\'it\\\'s\']: 2 });');
    expect(evaluate(inlined)).toEqual(evaluate(script));
    expect(evaluate(script)).toEqual({ 'say "hi" \\ $& $1 done': 1, "it's": 2 });
  });

  it('returns a module without such keys unchanged (the same string)', () => {
    const withoutConstants = 'export var S$ = [3, "com.amazonaws.s3", "GetObject", 0, [], []];\n';
    const withoutComputedKeys = 'const _e = "error";\nconst _c = "client";\nexport var E$ = [-3, _e, _c, { error: "client" }, [], []];\n';
    expect(inlineSchemaKeys(withoutConstants)).toBe(withoutConstants);
    expect(inlineSchemaKeys(withoutComputedKeys)).toBe(withoutComputedKeys);
    expect(inlineSchemaKeys('')).toBe('');
  });
});

describe('the sdkSchemaKeys plugin', () => {
  it('is one of the plugins of every handler build', () => {
    expect(HANDLER_BUILD_PLUGINS).toContain(sdkSchemaKeys);
  });

  it("applies to the SDK clients' generated schema modules only", () => {
    const matches = (path: string): boolean => SDK_SCHEMA_FILE.test(path);
    expect(matches('/p/node_modules/@aws-sdk/client-s3/dist-es/schemas/schemas_0.js')).toBe(true);
    expect(matches('C:\\p\\node_modules\\@aws-sdk\\client-codedeploy\\dist-es\\schemas\\schemas_12.js')).toBe(true);
    expect(matches('/p/node_modules/@aws-sdk/client-s3/dist-cjs/schemas/schemas_0.js')).toBe(false);
    expect(matches('/p/node_modules/@aws-sdk/client-s3/dist-es/commands/GetObjectCommand.js')).toBe(false);
    expect(matches('/p/node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/schemas/schemas_0.js')).toBe(false);
    expect(matches('/p/node_modules/@smithy/core/dist-es/schemas/schemas_0.js')).toBe(false);
    expect(matches('/p/handlers/schemas/schemas_0.js')).toBe(false);
  });

  describe("on the installed clients' schema modules", () => {
    const sdk = join(__dirname, '..', '..', 'node_modules', '@aws-sdk');
    const files = readdirSync(sdk)
      .filter((name) => name.startsWith('client-'))
      .flatMap((client) => {
        const folder = join(sdk, client, 'dist-es', 'schemas');
        return readdirSync(folder).map((file) => join(folder, file));
      })
      .filter((file) => SDK_SCHEMA_FILE.test(file));

    it('finds the schema module of each client the handlers use', () => {
      for (const client of ['client-s3', 'client-codedeploy', 'client-dynamodb', 'client-eventbridge', 'client-sns']) {
        expect(files.some((file) => file.includes(`${client}/dist-es/schemas/`))).toBe(true);
      }
    });

    it.each(files.map((file) => [file.slice(sdk.length + 1), file]))('%s: no computed key `[_x]:` is left (each named a string constant), and the module still parses', (_name, file) => {
      const source = readFileSync(file, 'utf8');
      const inlined = inlineSchemaKeys(source);
      expect(inlined).not.toBe(source);
      expect(inlined).not.toMatch(/[{,]\s*\[_[\w$]*\]:/);
      expect(() => transformSync(inlined, { loader: 'js', format: 'esm' })).not.toThrow();
    });
  });
});
