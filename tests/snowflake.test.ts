/**
 * The Snowflake warehouse path against a loopback double of Snowflake's REST protocol
 * (tests/helpers/snowflake-double.ts): snowflake-sdk itself, pointed at http://127.0.0.1:<port>
 * through its `accessUrl`, so the login, query, binding, result and error formats on the wire are
 * the driver's own. A live test runs only when SNOWFLAKE_ACCOUNT is set.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type SnowflakeConfig } from '../src/config.js';
import { ConfigError, WarehouseError } from '../src/errors.js';
import { createLogger, silentLogger } from '../src/log.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { compileDbtProject, runDbtProject } from '../src/pipeline/dbt/index.js';
import { ingestCsv } from '../src/pipeline/ingest.js';
import { loadWarehouse } from '../src/pipeline/load.js';
import { publishSnapshot } from '../src/pipeline/publish.js';
import { DBT_PROJECT_DIR, runPipeline, snowflakeDbtEnv } from '../src/pipeline/run.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { SnowflakeSession, SnowflakeWarehouseError } from '../src/warehouse/snowflake.js';
import { DuckDbStagingStore } from '../src/warehouse/staging.js';
import { DATASET_PATH, REPO_ROOT } from './helpers/dataset.js';
import { SnowflakeDouble, type DoubleQuery, type QueryAnswer } from './helpers/snowflake-double.js';

const ACCOUNT = 'testorg-music';
const USER = 'pipeline_user';
const PASSWORD = 'correct-horse-battery-staple-42';
const PASSPHRASE = 'key-passphrase-7781';

const tmp = mkdtempSync(join(tmpdir(), 'music-sf-'));
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(tmp, 'rsa_key.p8');
writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }));
const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

let double: SnowflakeDouble;

const baseConfig = (over: Partial<SnowflakeConfig> = {}): SnowflakeConfig => ({
  account: ACCOUNT,
  user: USER,
  password: PASSWORD,
  privateKey: undefined,
  privateKeyPath: undefined,
  privateKeyPassphrase: undefined,
  warehouse: 'pipeline_wh',
  database: 'music',
  schema: 'PUBLIC',
  role: 'TRANSFORMER',
  accessUrl: double.url,
  ...over,
});

const snowflakeEnv = (over: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
  WAREHOUSE: 'snowflake',
  SNOWFLAKE_ACCOUNT: ACCOUNT,
  SNOWFLAKE_USER: USER,
  SNOWFLAKE_PASSWORD: PASSWORD,
  SNOWFLAKE_WAREHOUSE: 'pipeline_wh',
  SNOWFLAKE_DATABASE: 'music',
  SNOWFLAKE_ROLE: 'TRANSFORMER',
  SNOWFLAKE_ACCESS_URL: double.url,
  ...over,
});

/** A pino logger writing into an array (for "no secret in the logs"). */
function capturingLogger(level = 'trace') {
  const lines: string[] = [];
  return { log: createLogger(level, { write: (s: string) => void lines.push(s) } as never), lines };
}

beforeAll(async () => {
  double = await SnowflakeDouble.start({
    account: ACCOUNT,
    user: USER,
    password: PASSWORD,
    publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    warehouses: ['PIPELINE_WH'],
    databases: ['MUSIC'],
    roles: ['TRANSFORMER', 'PUBLIC'],
  });
});

afterAll(async () => {
  await double?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('WAREHOUSE=snowflake configuration', () => {
  it('lists every missing key at once and never echoes a secret', () => {
    let err: unknown;
    try {
      loadConfig({ WAREHOUSE: 'snowflake', SNOWFLAKE_PASSWORD: PASSWORD, SNOWFLAKE_PRIVATE_KEY_PATH: keyPath, MCP_HTTP_PORT: 'x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.join('\n');
    for (const key of ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_DATABASE', 'MCP_HTTP_PORT']) expect(issues).toContain(key);
    expect(issues).toMatch(/SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_PATH: set only one/);
    expect((err as Error).message).not.toContain(PASSWORD);

    expect(() => loadConfig({ WAREHOUSE: 'snowflake', SNOWFLAKE_ACCOUNT: ACCOUNT, SNOWFLAKE_USER: USER, SNOWFLAKE_WAREHOUSE: 'w', SNOWFLAKE_DATABASE: 'd' }))
      .toThrow(/SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH: required/);
  });

  it('parses password and key-pair settings; the default warehouse stays the DuckDB file', () => {
    expect(loadConfig({}).warehouse).toBe('duckdb');
    expect(loadConfig({}).snowflake).toBeUndefined();
    const c = loadConfig(snowflakeEnv({ SNOWFLAKE_ACCESS_URL: 'https://acme-music.privatelink.snowflakecomputing.com/' }));
    expect(c.warehouse).toBe('snowflake');
    expect(c.snowflake).toMatchObject({ account: ACCOUNT, user: USER, password: PASSWORD, warehouse: 'pipeline_wh', database: 'music', schema: 'PUBLIC', role: 'TRANSFORMER', accessUrl: 'https://acme-music.privatelink.snowflakecomputing.com' });
    const k = loadConfig(snowflakeEnv({ SNOWFLAKE_PASSWORD: undefined, SNOWFLAKE_PRIVATE_KEY_PATH: 'keys/rsa.p8', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASSPHRASE }), '/srv/app');
    expect(k.snowflake).toMatchObject({ password: undefined, privateKeyPath: '/srv/app/keys/rsa.p8', privateKeyPassphrase: PASSPHRASE });
  });

  it('redacts the Snowflake secrets from log lines', () => {
    const { log, lines } = capturingLogger();
    const c = loadConfig(snowflakeEnv({ SNOWFLAKE_PASSWORD: undefined, SNOWFLAKE_PRIVATE_KEY: privatePem, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASSPHRASE }));
    log.info({ config: c }, 'config');
    log.info({ snowflake: { ...c.snowflake, password: PASSWORD } }, 'settings');
    const out = lines.join('');
    expect(out).toContain(ACCOUNT);
    for (const secret of [PASSWORD, PASSPHRASE, 'PRIVATE KEY']) expect(out).not.toContain(secret);
  });
});

describe('SnowflakeSession on the driver, against the double', () => {
  it('logs in with a password: account, user and password in the login payload; warehouse, database and role in the login URL', async () => {
    const before = double.logins.length;
    const s = await SnowflakeSession.open(baseConfig());
    try {
      const login = double.logins[before]!;
      expect(login).toMatchObject({ account: ACCOUNT, user: USER, password: PASSWORD, ok: true, clientAppId: 'JavaScript' });
      expect(login.authenticator ?? 'SNOWFLAKE').toBe('SNOWFLAKE');
      expect(login.query).toMatchObject({ warehouse: 'pipeline_wh', databaseName: 'music', schemaName: 'PUBLIC', roleName: 'TRANSFORMER' });
      const [row] = await s.all<{ one: number }>('SELECT 1 AS one');
      expect(row).toEqual({ one: 1 });
      const session = double.queries.at(-1)!.sessionId;
      const setup = double.queries.filter((q) => q.sessionId === session).map((q) => q.sqlText);
      expect(setup).toContain('ALTER SESSION SET QUOTED_IDENTIFIERS_IGNORE_CASE = TRUE');
    } finally {
      await s.close();
    }
    expect(double.deletedSessions.length).toBeGreaterThan(0);
    expect(double.unknownPaths).toEqual([]);
  });

  it('logs in with a key pair: SNOWFLAKE_JWT whose RS256 signature verifies against the public key, no password sent', async () => {
    const before = double.logins.length;
    const s = await SnowflakeSession.open(baseConfig({ password: undefined, privateKeyPath: keyPath, privateKeyPassphrase: PASSPHRASE }));
    await s.close();
    const login = double.logins[before]!;
    expect(login).toMatchObject({ authenticator: 'SNOWFLAKE_JWT', ok: true, password: undefined });
    const payload = JSON.parse(Buffer.from(login.token!.split('.')[1]!, 'base64url').toString('utf8')) as { iss: string; sub: string };
    expect(payload.sub).toBe(`${ACCOUNT.toUpperCase()}.${USER.toUpperCase()}`);
    expect(payload.iss).toMatch(new RegExp(`^${payload.sub}\\.SHA256:[A-Za-z0-9+/=]{44}$`));

    // PEM text instead of a file works the same; a key the user does not have is refused (390144).
    const t = await SnowflakeSession.open(baseConfig({ password: undefined, privateKey: privatePem }));
    await t.close();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const err = await SnowflakeSession.open(baseConfig({ password: undefined, privateKey: other })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnowflakeWarehouseError);
    expect((err as SnowflakeWarehouseError).snowflakeCode).toBe('390144');
    expect((err as Error).message).toMatch(/RSA_PUBLIC_KEY/);
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('PRIVATE KEY');
  });

  it('sends binds as typed bindings (one row, and array binds of many rows) and reads typed results back', async () => {
    const s = await SnowflakeSession.open(baseConfig());
    try {
      await s.run('CREATE SCHEMA IF NOT EXISTS scratch');
      await s.run('CREATE OR REPLACE TRANSIENT TABLE scratch.bind_probe (n INTEGER, label VARCHAR, share DOUBLE, flag BOOLEAN, seen TIMESTAMP_NTZ)');
      const inserted = await s.insertRows('INSERT INTO scratch.bind_probe (n, label, share, flag, seen) VALUES (?, ?, ?, ?, ?)', [
        [1, 'Beyoncé', 0.25, true, '2024-05-01 12:34:56.789'],
        [2, null, 1.01e-6, false, null],
        [3, "it's", 3, null, '2020-01-21 00:00:00.000'],
      ]);
      expect(inserted).toBe(3);
      const insert = double.queries.at(-1)!;
      expect(insert.bindings).toEqual({
        1: { type: 'FIXED', value: ['1', '2', '3'] },
        2: { type: 'TEXT', value: ['Beyoncé', null, "it's"] },
        3: { type: 'REAL', value: ['0.25', '0.00000101', '3'] },
        4: { type: 'BOOLEAN', value: ['true', 'false', null] },
        5: { type: 'TEXT', value: ['2024-05-01 12:34:56.789', null, '2020-01-21 00:00:00.000'] },
      });

      const { rows } = await s.execute<{ n: number; label: string | null; share: number; flag: boolean | null; seen: string | null }>(
        'SELECT n, label, share, flag, seen FROM scratch.bind_probe WHERE n >= ? AND label IS DISTINCT FROM ? ORDER BY n',
        [2, 'nobody'],
      );
      expect(double.queries.at(-1)!.bindings).toEqual({ 1: { type: 'FIXED', value: '2' }, 2: { type: 'TEXT', value: 'nobody' } });
      expect(rows).toEqual([
        { n: 2, label: null, share: 1.01e-6, flag: false, seen: null },
        { n: 3, label: "it's", share: 3, flag: null, seen: '2020-01-21T00:00:00.000Z' },
      ]);

      // Lists and structs come back as ARRAY / OBJECT JSON, parsed by the driver; names lower-cased.
      const [nested] = await s.all("SELECT ['a', 'b'] AS Letters, {'track_id': 'x1', 'popularity': 7} AS Top_Track");
      expect(nested).toEqual({ letters: ['a', 'b'], top_track: { track_id: 'x1', popularity: 7 } });
    } finally {
      await s.close();
    }
  });

  it('tags every statement with QUERY_TAG, per step', async () => {
    const s = await SnowflakeSession.open(baseConfig(), { queryTag: 'music-mcp:load' });
    try {
      await s.all('SELECT 1 AS a');
      s.setQueryTag('music-mcp:publish');
      await s.all('SELECT 2 AS a');
    } finally {
      await s.close();
    }
    const mine = double.queries.filter((q) => q.sessionId === double.queries.at(-1)!.sessionId);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.every((q) => q.parameters?.QUERY_TAG === q.queryTag)).toBe(true);
    expect(mine.map((q) => q.queryTag)).toEqual([...mine.slice(0, -1).map(() => 'music-mcp:load'), 'music-mcp:publish']);
  });
});

describe('errors are actionable WarehouseErrors without secrets', () => {
  it('bad password → names SNOWFLAKE_USER / SNOWFLAKE_PASSWORD, never the password, nothing secret in the logs', async () => {
    const wrong = 'Wrong-Password-Value-999';
    const { log, lines } = capturingLogger();
    const err = await SnowflakeSession.open(baseConfig({ password: wrong }), { log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarehouseError);
    expect(err).toMatchObject({ code: 'WAREHOUSE_FAILED', snowflakeCode: '390100' });
    expect((err as Error).message).toMatch(/incorrect user name or password: check SNOWFLAKE_USER \('pipeline_user'\) and SNOWFLAKE_PASSWORD/);
    const everything = [(err as Error).message, (err as Error).stack, JSON.stringify(err), String((err as Error).cause), ...lines].join('\n');
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(PASSWORD);
    expect(double.logins.at(-1)).toMatchObject({ password: wrong, ok: false });
  });

  it('an unknown role fails the login; an unusable warehouse or database fails fast listing both', async () => {
    const role = await SnowflakeSession.open(baseConfig({ role: 'ANALYST' })).catch((e: unknown) => e);
    expect((role as Error).message).toMatch(/SNOWFLAKE_ROLE 'ANALYST' does not exist or is not granted to user pipeline_user/);
    const ctx = await SnowflakeSession.open(baseConfig({ warehouse: 'missing_wh', database: 'missing_db' })).catch((e: unknown) => e);
    expect(ctx).toBeInstanceOf(WarehouseError);
    expect((ctx as Error).message).toMatch(/SNOWFLAKE_WAREHOUSE 'missing_wh' does not exist or role TRANSFORMER may not use it/);
    expect((ctx as Error).message).toMatch(/SNOWFLAKE_DATABASE 'missing_db' does not exist/);
  });

  it('a SQL error keeps Snowflake code, SQLSTATE and query id; an unreachable host names the URL to check', async () => {
    const s = await SnowflakeSession.open(baseConfig());
    try {
      const err = await s.all('SELECT * FROM raw.no_such_table').catch((e: unknown) => e);
      expect(err).toMatchObject({ snowflakeCode: '002003', sqlState: '42S02' });
      expect((err as SnowflakeWarehouseError).queryId).toMatch(/^01b/);
      expect((err as Error).message).toMatch(/Object '(RAW\.)?NO_SUCH_TABLE' does not exist or not authorized/);
      expect((err as Error).message).toMatch(/run the load step first, or grant access/);
    } finally {
      await s.close();
    }
    const down = await SnowflakeSession.open(baseConfig({ accessUrl: 'http://127.0.0.1:9' }), { loginRetries: 0 }).catch((e: unknown) => e);
    expect((down as Error).message).toMatch(/cannot reach Snowflake at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\).*SNOWFLAKE_ACCESS_URL/);
  });
});

describe('retries are the driver\'s own', () => {
  it('login survives two 503s; a query survives a 429; an expired session token is renewed and the query resent', async () => {
    const logins = () => double.requests.filter((r) => r.path === '/session/v1/login-request').length;
    const before = logins();
    double.failNext('/session/v1/login-request', 503, 2);
    const s = await SnowflakeSession.open(baseConfig());
    try {
      expect(logins() - before).toBe(3);

      double.failNext('/queries/v1/query-request', 429, 1);
      const n = double.requests.length;
      expect(await s.all('SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
      const attempts = double.requests.slice(n).filter((r) => r.path === '/queries/v1/query-request');
      expect(attempts.map((r) => r.retryCount)).toEqual([null, '1']);

      double.expireSessionTokenOnce();
      const renewals = double.renewals.length;
      expect(await s.all('SELECT 7 AS again')).toEqual([{ again: 7 }]);
      expect(double.renewals.length).toBe(renewals + 1);
    } finally {
      await s.close();
    }
  }, 40_000);
});

describe('load, transform and publish with WAREHOUSE=snowflake', () => {
  const staging = join(tmp, 'music-staging.duckdb');
  const fixtures = join(REPO_ROOT, 'tests', 'fixtures', 'csv');
  let duck: DuckDbSession;

  beforeAll(async () => {
    duck = await DuckDbSession.open(staging);
    const store = new DuckDbStagingStore(duck);
    await store.ensureSchema();
    for (const f of ['maharshipandya-sample.csv', 'tidytuesday-malformed.csv']) {
      await ingestCsv({ path: join(fixtures, f), store, log: silentLogger });
    }
  });
  afterAll(async () => {
    await duck?.close();
  });

  it('moves staging into RAW.TRACKS / RAW.TRACK_REJECTS with array binds and a swap, idempotently', async () => {
    const s = await SnowflakeSession.open(baseConfig(), { queryTag: 'music-mcp:load' });
    try {
      const first = double.queries.length;
      const report = await loadWarehouse({ staging: duck, warehouse: s });
      const [staged] = await duck.all<{ tracks: number; rejects: number }>(
        'SELECT (SELECT count(*) FROM staging.tracks) AS tracks, (SELECT count(*) FROM staging.track_rejects) AS rejects',
      );
      expect(report).toMatchObject({ tracks: staged!.tracks, rejects: staged!.rejects });
      expect(report.tracks).toBeGreaterThan(0);
      expect(report.rejects).toBeGreaterThan(0);

      const statements = double.queries.slice(first).map((q) => q.sqlText.replace(/ \(.*\)$/s, ' (…)'));
      expect(statements.slice(0, 13)).toEqual([
        'CREATE SCHEMA IF NOT EXISTS raw',
        'CREATE TRANSIENT TABLE IF NOT EXISTS raw.tracks (…)',
        'CREATE OR REPLACE TRANSIENT TABLE raw.tracks__loading (…)',
        'INSERT INTO raw.tracks__loading (…)',
        'SELECT count(*) AS n FROM raw.tracks__loading',
        'CREATE TRANSIENT TABLE IF NOT EXISTS raw.track_rejects (…)',
        'CREATE OR REPLACE TRANSIENT TABLE raw.track_rejects__loading (…)',
        'INSERT INTO raw.track_rejects__loading (…)',
        'SELECT count(*) AS n FROM raw.track_rejects__loading',
        'ALTER TABLE raw.tracks__loading SWAP WITH raw.tracks',
        'DROP TABLE IF EXISTS raw.tracks__loading',
        'ALTER TABLE raw.track_rejects__loading SWAP WITH raw.track_rejects',
        'DROP TABLE IF EXISTS raw.track_rejects__loading',
      ]);
      // Then the Spotify raw tables (empty here: enrichment never ran) go through the same writer.
      for (const sql of statements.slice(13)) {
        expect(sql).toMatch(/^(CREATE SCHEMA IF NOT EXISTS raw|CREATE (OR REPLACE )?TRANSIENT TABLE .*|SELECT count\(\*\) AS n FROM raw\.\w+__loading|ALTER TABLE raw\.(?<t>\w+)__loading SWAP WITH raw\.\k<t>|DROP TABLE IF EXISTS raw\.\w+__loading|INSERT INTO raw\.\w+__loading .*)$/);
      }
      expect(double.queries.slice(first).every((q) => q.queryTag === 'music-mcp:load')).toBe(true);
      const insert = double.queries.slice(first).find((q) => q.sqlText.startsWith('INSERT INTO raw.tracks__loading'))!;
      const types = Object.values(insert.bindings!).map((b) => b.type);
      expect(new Set(types)).toEqual(new Set(['TEXT', 'FIXED', 'REAL', 'BOOLEAN']));
      expect(Object.values(insert.bindings!).every((b) => Array.isArray(b.value) && b.value.length === report.tracks)).toBe(true);

      // Every value arrives: the double's RAW.TRACKS equals staging.tracks cell for cell.
      const cols = 'row_key, source_file, source_line, track_name, explicit, instrumentalness, loudness, time_signature, loaded_at';
      const want = await duck.all(`SELECT ${cols} FROM staging.tracks ORDER BY row_key`);
      expect(await double.backend!.all(`SELECT ${cols} FROM raw.tracks ORDER BY row_key`)).toEqual(want);
      const rejects = await duck.all('SELECT * FROM staging.track_rejects ORDER BY source_file, source_line');
      expect(await double.backend!.all('SELECT * FROM raw.track_rejects ORDER BY source_file, source_line')).toEqual(rejects);

      // Rerun: same rows, no leftovers.
      expect(await loadWarehouse({ staging: duck, warehouse: s })).toMatchObject({ tracks: report.tracks, rejects: report.rejects });
      const rawTables = async () =>
        (await double.backend!.all<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1")).map((r) => r.t);
      const tables = await rawTables();
      expect(tables).toEqual(expect.arrayContaining(['track_rejects', 'tracks']));
      expect(tables.filter((t) => t.endsWith('__loading'))).toEqual([]);

      // A failure mid-load leaves RAW as it was.
      double.onQuery((q) => (q.sqlText.startsWith('INSERT INTO raw.track_rejects__loading')
        ? { error: { code: '100072', sqlState: '22000', message: 'NULL result in a non-nullable column' } }
        : undefined));
      try {
        const err = await loadWarehouse({ staging: duck, warehouse: s }).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(/NULL result in a non-nullable column/);
      } finally {
        double.onQuery(undefined);
      }
      expect(await double.backend!.all(`SELECT ${cols} FROM raw.tracks ORDER BY row_key`)).toEqual(want);
      expect(await rawTables()).toEqual(tables);
    } finally {
      await s.close();
    }
  });

  it('publishes the same snapshot from Snowflake marts as from the same marts in DuckDB', async () => {
    // The double cannot run Snowflake-dialect models; build the marts it serves with the duckdb target.
    await runDbtProject({ projectDir: DBT_PROJECT_DIR, session: double.backend!, target: 'duckdb' });
    const viaDuckDb = join(tmp, 'snapshots-duckdb');
    const viaSnowflake = join(tmp, 'snapshots-snowflake');
    await publishSnapshot({ session: double.backend!, snapshotDir: viaDuckDb });
    const s = await SnowflakeSession.open(baseConfig(), { queryTag: 'music-mcp:publish' });
    try {
      const first = double.queries.length;
      await publishSnapshot({ session: s, snapshotDir: viaSnowflake });
      expect(double.queries.slice(first).every((q) => q.queryTag === 'music-mcp:publish')).toBe(true);
    } finally {
      await s.close();
    }
    const a = await readSnapshot(viaDuckDb);
    const b = await readSnapshot(viaSnowflake);
    expect(b.tracks).toEqual(a.tracks);
    expect(b.artists).toEqual(a.artists);
    expect(b.genres).toEqual(a.genres);
    expect(b.manifest.source).toEqual(a.manifest.source);
    expect(b.tracks.track_id.length).toBeGreaterThan(0);
  });

  it('runPipeline: load, dbt (target snowflake, not transactional, snowflake SQL) and publish on one tagged Snowflake session', async () => {
    const dataDir = join(tmp, 'pipeline');
    const csv = join(tmp, 'tidytuesday-slice.csv');
    writeFileSync(csv, readFileSync(DATASET_PATH, 'utf8').split('\n').slice(0, 301).join('\n') + '\n');
    const config = loadConfig({ ...snowflakeEnv(), MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: csv });

    let marts: Promise<unknown> | undefined;
    const transform: DoubleQuery[] = [];
    // Snowflake's information_schema as a previous build left it: names stored upper-case (the session
    // sets QUOTED_IDENTIFIERS_IGNORE_CASE), and marts.dim_tracks still a view, so the table model must drop it.
    const catalog = await DuckDbSession.open(':memory:');
    await catalog.run(
      "CREATE SCHEMA sf_information_schema; CREATE TABLE sf_information_schema.tables AS SELECT 'MARTS' AS table_schema, 'DIM_TRACKS' AS table_name, 'VIEW' AS table_type",
    );
    double.onQuery(async (q): Promise<QueryAnswer | undefined> => {
      if (q.queryTag !== 'music-mcp:transform') return undefined;
      transform.push(q);
      // Stand-in for Snowflake executing the models: the same project, built with the duckdb target.
      marts ??= runDbtProject({ projectDir: DBT_PROJECT_DIR, session: double.backend!, target: 'duckdb' });
      await marts;
      if (/^select count\(\*\) as failures/i.test(q.sqlText)) return { columns: [{ name: 'FAILURES', type: 'fixed' }], rows: [[0]] };
      if (/information_schema\.tables/i.test(q.sqlText)) {
        const rows = await catalog.all<{ table_type: string }>(q.sqlText.replace(/information_schema\.tables/gi, 'sf_information_schema.tables'));
        return { columns: [{ name: 'TABLE_TYPE', type: 'text' }], rows: rows.map((r) => [r.table_type]) };
      }
      return { columns: [{ name: 'status', type: 'text' }], rows: [['Statement executed successfully.']] };
    });
    const first = double.queries.length;
    try {
      const report = await runPipeline(config, silentLogger, { steps: ['ingest', 'load', 'transform', 'publish'] });
      expect(report.load?.tracks).toBe(300);
      expect(report.transform).toMatchObject({ target: 'snowflake', ok: true });
      const project = await compileDbtProject({ projectDir: DBT_PROJECT_DIR, target: 'snowflake', env: snowflakeDbtEnv(config), write: false });
      expect(report.transform!.models.map((m) => m.name)).toEqual(project.models.map((m) => m.name));
      expect(report.publish?.tracks).toBeGreaterThan(0);
      const snapshot = await readSnapshot(config.snapshotDir);
      expect(snapshot.tracks.track_id.length).toBe(report.publish!.tracks);
    } finally {
      double.onQuery(undefined);
      await catalog.close();
    }
    const mine = double.queries.slice(first);
    const tags = [...new Set(mine.map((q) => q.queryTag))];
    expect(tags).toEqual(['music-mcp:load', 'music-mcp:transform', 'music-mcp:publish']);
    expect(new Set(mine.map((q) => q.sessionId)).size).toBe(1);
    const sql = transform.map((q) => q.sqlText).join('\n');
    expect(sql).not.toMatch(/BEGIN TRANSACTION|COMMIT|ROLLBACK/);
    expect(sql).toMatch(/CREATE OR REPLACE VIEW "transform"\."stg_raw__tracks" AS/);
    expect(sql).toMatch(/CREATE OR REPLACE TABLE "transform"\."int_track_artists" AS/);
    expect(sql).toMatch(/^DROP VIEW "marts"\."dim_tracks"$/m);
    expect(sql).toMatch(/CREATE OR REPLACE TABLE "marts"\."dim_tracks" AS/);
    expect(sql).toMatch(/lateral flatten\(input => exploded_source\.artist_list\)/);
    expect(sql).toMatch(/array_agg\(.*\) within group \(order by/);
    expect(sql).not.toMatch(/strip_accents|struct_pack|quantile_cont|string_split/);
  }, 180_000); // a whole pipeline through the Snowflake double: ~20 s idle, over a minute on a loaded machine
});

describe('live Snowflake', () => {
  it.skipIf(!process.env.SNOWFLAKE_ACCOUNT)('connects with SNOWFLAKE_* from the environment and runs a bound query (runs only when SNOWFLAKE_ACCOUNT is set)', async () => {
    const config = loadConfig({ ...process.env, WAREHOUSE: 'snowflake' });
    const s = await SnowflakeSession.open(config.snowflake!, { queryTag: 'music-mcp:live-test' });
    try {
      const { rows } = await s.execute<{ n: number }>('SELECT ? + 1 AS n', [41]);
      expect(rows[0]?.n).toBe(42);
    } finally {
      await s.close();
    }
  }, 60_000);
});
