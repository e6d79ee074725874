const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'cdktf.out/**', 'out/**', 'coverage/**', '.gen/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // The package root of @cdktf/provider-aws loads every binding: ~3 s and ~0.5 GB per process.
      'no-restricted-imports': ['error', {
        paths: [
          { name: '@cdktf/provider-aws', message: 'Import the resource deeply: @cdktf/provider-aws/lib/<resource>.' },
        ],
      }],
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.name='require'][arguments.0.value='@cdktf/provider-aws']",
        message: 'Import the resource deeply: @cdktf/provider-aws/lib/<resource>.',
      }, {
        // zod's `z` is a namespace re-export: esbuild bundles all of it (the error messages of every
        // language included, ~100 KB per Lambda bundle). A namespace import tree-shakes.
        selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
        message: "Import zod as a namespace: import * as z from 'zod' (the Lambda bundles tree-shake it).",
      }, {
        // The same holds for zod/mini, whose schemas the Lambda bundles use (they load faster).
        selector: "ImportDeclaration[source.value='zod/mini'] > ImportSpecifier[imported.name='z']",
        message: "Import zod/mini as a namespace: import * as z from 'zod/mini' (the Lambda bundles tree-shake it).",
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
