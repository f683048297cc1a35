// ESLint flat config: eslint's and typescript-eslint's recommended rules, plus the import rules of
// docs/ARCHITECTURE.md ("What may import what").
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Serving code: everything a running server loads to answer a request. */
const SERVING = [
  'tools/**/*.ts',
  'resources/**/*.ts',
  'src/catalog/**/*.ts',
  'src/app/**/*.ts',
  'src/server.ts',
  'src/http.ts',
  'src/http-exchange.ts',
  'src/stdio.ts',
  'src/jsonrpc.ts',
];

/** The pipeline and the warehouse adapters: build time only, never loaded to answer a request. */
const BUILD_SIDE = ['**/pipeline/**', '**/warehouse/**'];

/** Everything but the tests and the benches: the product, its scripts and the browser view. */
const NOT_TESTS = ['src/**/*.ts', 'tools/**/*.ts', 'resources/**/*.ts', 'scripts/**/*.{ts,mjs}', 'bin/**/*.js', 'ui/**/*.{ts,js}'];

const NO_TESTS = {
  group: ['**/tests/**'],
  message:
    'product code and scripts must not import tests/: move what both need to a module both may import ' +
    '(scripts/lib/ for harnesses shared with scripts, src/ for product code; docs/ARCHITECTURE.md).',
};

const NO_BUILD_SIDE = {
  group: BUILD_SIDE,
  message:
    'serving code (tools, resources, catalog, app, server, transports) must not import the pipeline or the warehouse: ' +
    'read the published snapshot through src/catalog, or move shared code to a module both sides may import (docs/ARCHITECTURE.md).',
};

export default defineConfig(
  globalIgnores([
    'node_modules/',
    'dist/',
    'build/',
    'data/',
    'test-output/',
    'tools-node/',
    '.venv*/',
    '.vitest-tmp/',
    'dbt/target/',
    'bench/results/',
    'ui/**/dist/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        // Node globals the code uses (the UI's browser files get their own below).
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
  },
  {
    rules: {
      // `_name` marks a value kept on purpose (a destructured field left out of a copy, a fixed parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Control characters in patterns are the point where names from data are cleaned or delimited.
      'no-control-regex': 'off',
      // A named inner function that removes itself from a list refers to its owner as `self`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    // Untyped boundaries: JSON-RPC replies read by tests and benches, nunjucks' untyped extension parser,
    // DuckDB's row values turned into plain JSON, the view test host's message payloads.
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'scripts/lib/memory-client.ts', 'scripts/view-host.ts', 'src/pipeline/dbt/jinja.ts', 'src/warehouse/duckdb.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    name: 'import rules: nothing outside tests/ and bench/ loads the tests',
    files: NOT_TESTS,
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_TESTS] }] },
  },
  {
    // A later block's options replace an earlier one's for the same rule, so this one repeats NO_TESTS.
    name: 'import rules: serving code never loads the pipeline or the warehouse',
    files: SERVING,
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_BUILD_SIDE, NO_TESTS] }] },
  },
);
