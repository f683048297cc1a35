/**
 * dbt-core with dbt-snowflake (.venv-dbt) on the snowflake target, without a Snowflake account:
 * `dbt compile --no-populate-cache` compiles every model and test (no connection is opened), and the
 * compiled SQL parses as Snowflake SQL (scripts/check-snowflake-sql.py, sqlglot); and profiles.yml
 * hands dbt-snowflake a key-pair key as content (SNOWFLAKE_PRIVATE_KEY) or as a file
 * (SNOWFLAKE_PRIVATE_KEY_PATH), read by the adapter's own credentials code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/dataset.js';
import { venv } from '../helpers/python.js';

const py = venv('dbt');
const PROJECT = join(REPO_ROOT, 'dbt');
/** What profiles.yml's snowflake output needs; no account behind it. */
const SNOWFLAKE_ENV = { SNOWFLAKE_ACCOUNT: 'ci-account', SNOWFLAKE_USER: 'ci', SNOWFLAKE_WAREHOUSE: 'CI_WH', SNOWFLAKE_DATABASE: 'MUSIC' };
const tmp = mkdtempSync(join(tmpdir(), 'music-dbt-snowflake-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`dbt-snowflake without an account${py.skipNote}`, () => {
  it.runIf(py.run)(`dbt-core (dbt-snowflake) compiles every model and test for the snowflake target without an account, and sqlglot parses all of it${py.skipNote}`, () => {
    py.assertPresent();
    const target = join(tmp, 'dbt-core-target');
    const result = spawnSync(
      py.bin('dbt'),
      ['compile', '--profiles-dir', '.', '--target', 'snowflake', '--no-populate-cache', '--target-path', target, '--log-path', target, '--no-use-colors'],
      { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, ...SNOWFLAKE_ENV, SNOWFLAKE_PASSWORD: 'unused', DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' } },
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Registered adapter: snowflake=1\.11\.\d+/);
    expect(result.stdout).toMatch(/Found 15 models, 128 data tests/);
    const checked = spawnSync(py.bin('python'), [join(REPO_ROOT, 'scripts', 'check-snowflake-sql.py'), join(target, 'compiled')], { encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toContain('143 of 143 files pass');
    expect(checked.status).toBe(0);
  });

  it.runIf(py.run)(`profiles.yml hands dbt-snowflake the key-pair key as content (SNOWFLAKE_PRIVATE_KEY) or as a file${py.skipNote}`, () => {
    py.assertPresent();
    const pem = spawnSync(py.bin('python'), ['-c', [
      'from cryptography.hazmat.primitives.asymmetric import rsa',
      'from cryptography.hazmat.primitives import serialization as s',
      'k = rsa.generate_private_key(public_exponent=65537, key_size=2048)',
      'print(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())',
    ].join('\n')], { encoding: 'utf8' }).stdout;
    expect(pem).toContain('BEGIN PRIVATE KEY');
    const keyFile = join(tmp, 'rsa_key.p8');
    writeFileSync(keyFile, pem);
    const profileAs = (extra: Record<string, string>) => {
      const r = spawnSync(py.bin('python'), [join(REPO_ROOT, 'tests', 'python', 'snowflake_profile_check.py'), PROJECT], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: tmp, ...SNOWFLAKE_ENV, ...extra },
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { account: string; private_key_der_bytes: number; password_set: boolean };
    };
    const byContent = profileAs({ SNOWFLAKE_PRIVATE_KEY: pem });
    expect(byContent).toMatchObject({ account: 'ci-account', password_set: false });
    expect(byContent.private_key_der_bytes).toBeGreaterThan(1000);
    expect(profileAs({ SNOWFLAKE_PRIVATE_KEY_PATH: keyFile }).private_key_der_bytes).toBe(byContent.private_key_der_bytes);
    expect(profileAs({ SNOWFLAKE_PASSWORD: 'pw' })).toMatchObject({ password_set: true, private_key_der_bytes: 0 });
  });

});
