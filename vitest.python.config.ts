import { defineConfig } from 'vitest/config';

/**
 * `npm run test:python`: the tests that run the real Python tools (dbt-core, Airflow, the Python MCP
 * client) from .venv-dbt / .venv-airflow (`npm run setup:python`). Minutes, not seconds, so apart
 * from `npm test`; .ci/run runs both.
 */
export default defineConfig({
  test: {
    include: ['tests/python/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // One file at a time: dbt-core runs share dbt/target, and the machine's cores go to the tools.
    fileParallelism: false,
  },
});
