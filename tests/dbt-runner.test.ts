import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransformError, WarehouseError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { compileDbtProject, DbtRunError, runDbtProject, type DbtRunReport } from '../src/pipeline/dbt/index.js';
import { reportFromRunResults } from '../src/pipeline/dbt-core.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'dbt-mini');
const FIXTURE_PROJECT = readFileSync(join(FIXTURE, 'dbt_project.yml'), 'utf8');

interface Track {
  track_id: string | null;
  genre: string;
  popularity: number;
  artist_id: string;
  mode: number;
  loaded_at?: string | null;
}

const GOOD_TRACKS: Track[] = [
  { track_id: 't1', genre: 'Pop', popularity: 80, artist_id: 'a1', mode: 1 },
  { track_id: 't2', genre: 'rock', popularity: 20, artist_id: 'a2', mode: 0 },
  { track_id: 't3', genre: 'jazz', popularity: 50, artist_id: 'a1', mode: 1 },
  // excluded from the relationships test by its config.where
  { track_id: 't4', genre: 'pop', popularity: 10, artist_id: 'a-unknown', mode: 0 },
];
const ARTISTS = [
  { artist_id: 'a1', artist_name: 'First' },
  { artist_id: 'a2', artist_name: 'Second' },
];

const lit = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

async function seed(session: DuckDbSession, tracks: Track[], artists = ARTISTS): Promise<void> {
  const trackRows = tracks
    .map((t) => `(${lit(t.track_id)}, ${lit(t.genre)}, ${t.popularity}, ${lit(t.artist_id)}, ${t.mode}, ${t.loaded_at === null ? 'NULL::TIMESTAMP' : "TIMESTAMP '2024-01-01 00:00:00'"})`)
    .join(', ');
  const artistRows = artists.map((a) => `(${lit(a.artist_id)}, ${lit(a.artist_name)})`).join(', ');
  await session.run('CREATE SCHEMA IF NOT EXISTS raw');
  await session.run(
    `CREATE OR REPLACE TABLE raw.raw_tracks (track_id VARCHAR, genre VARCHAR, popularity INTEGER, artist_id VARCHAR, mode INTEGER, loaded_at TIMESTAMP)`,
  );
  await session.run(`INSERT INTO raw.raw_tracks VALUES ${trackRows}`);
  await session.run('CREATE OR REPLACE TABLE raw.artists (artist_id VARCHAR, artist_name VARCHAR)');
  await session.run(`INSERT INTO raw.artists VALUES ${artistRows}`);
}

async function runExpectingFailure(opts: Parameters<typeof runDbtProject>[0]): Promise<DbtRunError> {
  const err = await runDbtProject(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DbtRunError);
  return err as DbtRunError;
}

const testResult = (report: DbtRunReport, name: string) => report.tests.find((t) => t.name === name);

let projectDir: string;
let session: DuckDbSession;

beforeEach(async () => {
  projectDir = mkdtempSync(join(tmpdir(), 'dbt-mini-'));
  cpSync(FIXTURE, projectDir, { recursive: true });
  rmSync(join(projectDir, 'target'), { recursive: true, force: true });
  session = await DuckDbSession.open(':memory:');
});

afterEach(async () => {
  await session.close();
  rmSync(projectDir, { recursive: true, force: true });
});

describe('runDbtProject on DuckDB', () => {
  it('builds every model after the models it refs', async () => {
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    const order = report.models.map((m) => m.name);
    expect(order.sort()).toEqual(['dim_artists', 'dim_tracks', 'stg_artists', 'stg_tracks']);
    const built = report.models.map((m) => m.name);
    expect(built.indexOf('stg_tracks')).toBeLessThan(built.indexOf('dim_tracks'));
    expect(built.indexOf('stg_artists')).toBeLessThan(built.indexOf('dim_artists'));
    expect(report.ok).toBe(true);
  });

  it('creates relations in the schemas the custom generate_schema_name picks, honouring config() kwargs', async () => {
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    const rows = await session.all<{ table_schema: string; table_name: string; table_type: string }>(
      `select table_schema, table_name, table_type from information_schema.tables
       where table_schema in ('staging', 'marts', 'analytics', 'analytics_staging', 'analytics_marts') order by 1, 2`,
    );
    expect(rows).toEqual([
      { table_schema: 'marts', table_name: 'dim_artists', table_type: 'BASE TABLE' },
      { table_schema: 'marts', table_name: 'dim_tracks', table_type: 'BASE TABLE' },
      // config(materialized='table') in the model beats the folder's +materialized: view
      { table_schema: 'staging', table_name: 'stg_artists', table_type: 'BASE TABLE' },
      { table_schema: 'staging', table_name: 'stg_tracks', table_type: 'VIEW' },
    ]);
    expect(report.models.find((m) => m.name === 'dim_tracks')).toMatchObject({ relation: '"marts"."dim_tracks"', materialized: 'table' });
  });

  it('renders the var loop and the duckdb__ implementation of a dispatched macro', async () => {
    await seed(session, GOOD_TRACKS);
    await runDbtProject({ projectDir, session });
    const rows = await session.all('select track_id, popularity_bucket, is_pop, is_rock, is_jazz from marts.dim_tracks order by track_id');
    expect(rows).toEqual([
      { track_id: 't1', popularity_bucket: 'high', is_pop: 1, is_rock: 0, is_jazz: 0 },
      { track_id: 't2', popularity_bucket: 'low', is_pop: 0, is_rock: 1, is_jazz: 0 },
      { track_id: 't3', popularity_bucket: 'high', is_pop: 0, is_rock: 0, is_jazz: 1 },
      { track_id: 't4', popularity_bucket: 'low', is_pop: 1, is_rock: 0, is_jazz: 0 },
    ]);
    const compiled = readFileSync(join(projectDir, 'target/compiled/mini/models/marts/dim_tracks.sql'), 'utf8');
    expect(compiled).toContain("if(popularity >= 50, 'high', 'low')");
    expect(compiled).not.toContain('{{');
  });

  it('passes every generic and singular test on clean data, named as dbt names them', async () => {
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    expect(report.tests.map((t) => t.name).sort()).toEqual([
      'accepted_values_dim_tracks_genre__pop__rock__jazz',
      'accepted_values_dim_tracks_mode__False__0__1',
      'assert_popularity_in_range',
      'not_null_dim_artists_artist_id',
      'not_null_dim_tracks_track_id',
      'relationships_dim_tracks_artist_id__artist_id__ref_dim_artists_',
      'source_not_null_raw_tracks_loaded_at',
      'unique_dim_artists_artist_id',
      'unique_dim_tracks_track_id',
    ]);
    expect(report.tests.filter((t) => t.status !== 'pass')).toEqual([]);
    expect(testResult(report, 'unique_dim_tracks_track_id')?.model).toBe('dim_tracks');
  });

  const badData: { test: string; tracks: Track[]; failures: number; skipped: string[] }[] = [
    { test: 'unique_dim_tracks_track_id', tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, genre: 'rock' }], failures: 1, skipped: [] },
    { test: 'not_null_dim_tracks_track_id', tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: null }], failures: 1, skipped: [] },
    { test: 'accepted_values_dim_tracks_mode__False__0__1', tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't9', mode: 2 }], failures: 1, skipped: [] },
    {
      test: 'relationships_dim_tracks_artist_id__artist_id__ref_dim_artists_',
      tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't9', artist_id: 'a9' }, { ...GOOD_TRACKS[0]!, track_id: 't10', artist_id: 'a8' }],
      failures: 2,
      skipped: [],
    },
    // the singular test reads stg_tracks, so dim_tracks (downstream) is skipped, as in dbt build
    { test: 'assert_popularity_in_range', tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't9', popularity: 150 }], failures: 1, skipped: ['dim_tracks'] },
    { test: 'source_not_null_raw_tracks_loaded_at', tracks: [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't9', loaded_at: null }], failures: 1, skipped: ['stg_tracks', 'dim_tracks'] },
  ];

  it.each(badData)('fails $test on data built to break it', async ({ test, tracks, failures, skipped }) => {
    await seed(session, tracks);
    const err = await runExpectingFailure({ projectDir, session });
    expect(err.message).toContain(test);
    expect(err.code).toBe('TRANSFORM_FAILED');
    expect(testResult(err.report, test)).toMatchObject({ status: 'fail', failures });
    const otherFailures = err.report.tests.filter((t) => t.status === 'fail' && t.name !== test);
    expect(otherFailures).toEqual([]);
    expect(err.report.skipped).toEqual(skipped);
    expect(err.report.ok).toBe(false);
  });

  it('reports a failing warn-severity test as warn without failing the run', async () => {
    await seed(session, [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't9', genre: 'metal' }]);
    const report = await runDbtProject({ projectDir, session });
    expect(report.ok).toBe(true);
    expect(testResult(report, 'accepted_values_dim_tracks_genre__pop__rock__jazz')).toMatchObject({ status: 'warn', failures: 1 });
  });

  it('rolls back a run whose error test fails, keeping the previously built marts', async () => {
    await seed(session, GOOD_TRACKS);
    await runDbtProject({ projectDir, session });
    const before = await session.all('select * from marts.dim_tracks order by track_id');

    await seed(session, [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't5' }, { ...GOOD_TRACKS[0]!, track_id: 't5' }]);
    const err = await runExpectingFailure({ projectDir, session });
    expect(err.message).toContain('unique_dim_tracks_track_id');
    expect(err.message).toContain('previous build is intact');
    expect(await session.all('select * from marts.dim_tracks order by track_id')).toEqual(before);
  });

  it('without a transaction a failed run leaves what it rebuilt (the option matters)', async () => {
    await seed(session, GOOD_TRACKS);
    await runDbtProject({ projectDir, session });
    await seed(session, [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't5' }, { ...GOOD_TRACKS[0]!, track_id: 't5' }]);
    await runExpectingFailure({ projectDir, session, transactional: false });
    const rows = await session.all<{ n: number }>("select count(*) as n from marts.dim_tracks where track_id = 't5'");
    expect(rows[0]?.n).toBe(2);
  });

  it('wraps a database error in the model named with its file, and rolls back', async () => {
    await seed(session, GOOD_TRACKS);
    await runDbtProject({ projectDir, session });
    writeFileSync(join(projectDir, 'models/marts/dim_broken.sql'), "select no_such_column from {{ ref('stg_tracks') }}");
    const err = await runExpectingFailure({ projectDir, session });
    expect(err.message).toContain("model 'dim_broken' (models/marts/dim_broken.sql)");
    expect(err.message).toContain('no_such_column');
    expect(err.model).toBe('dim_broken');
    expect(err.cause).toBeInstanceOf(WarehouseError);
    const left = await session.all("select table_name from information_schema.tables where table_name = 'dim_broken'");
    expect(left).toEqual([]);
  });

  it('logs one info line per model and per test', async () => {
    await seed(session, GOOD_TRACKS);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const report = await runDbtProject({ projectDir, session, log: createLogger('info', sink) });
    const built = lines.filter((l) => l['msg'] === 'dbt model built').map((l) => l['model']);
    const tested = lines.filter((l) => l['msg'] === 'dbt test passed').map((l) => l['test']);
    expect(built).toEqual(report.models.map((m) => m.name));
    expect(tested).toEqual(report.tests.map((t) => t.name));
  });

  it('refuses a target whose adapter type differs from the session', async () => {
    await expect(runDbtProject({ projectDir, session, target: 'snowflake' })).rejects.toThrow(/type snowflake but the session is duckdb/);
  });
});

describe('compileDbtProject (no database)', () => {
  it('compiles for Snowflake with the default__ macro and writes every model and test to target/compiled', async () => {
    const project = await compileDbtProject({ projectDir, target: 'snowflake' });
    expect(project.target).toMatchObject({ name: 'snowflake', type: 'snowflake', schema: 'analytics', database: 'MUSIC' });
    const dim = project.models.find((m) => m.name === 'dim_tracks')!;
    expect(dim.relation).toBe('"marts"."dim_tracks"');
    expect(dim.sql).toContain("case when popularity >= 50 then 'high' else 'low' end as popularity_bucket");
    expect(dim.sql).not.toContain('if(');
    expect(dim.sql).toContain('from "staging"."stg_tracks"');
    expect(dim.dependsOn).toEqual({ models: ['stg_tracks'], sources: [] });
    expect(readFileSync(join(project.compiledDir, 'models/marts/dim_tracks.sql'), 'utf8').trim()).toBe(dim.sql);
    for (const t of project.tests) expect(existsSync(t.compiledPath)).toBe(true);
    const rel = project.tests.find((t) => t.kind === 'relationships')!;
    expect(rel.compiledPath).toBe(join(projectDir, 'target/compiled/mini/models/marts/_marts.yml', `${rel.name}.sql`));
    expect(rel.sql).toContain('from "marts"."dim_artists"');
    expect(rel.sql).toContain("where artist_id <> 'a-unknown'");
    expect(rel.dependsOn.models).toEqual(['dim_tracks', 'dim_artists']);
    const src = project.sources.find((s) => s.key === 'raw.tracks');
    expect(src).toMatchObject({ schema: 'raw', identifier: 'raw_tracks', loadedAtField: 'loaded_at' });
  });

  it('reads source loaded_at_field and freshness from config: (dbt 1.10+ form), a table overriding its source', async () => {
    writeFileSync(
      join(projectDir, 'models/staging/_sources.yml'),
      [
        'version: 2',
        'sources:',
        '  - name: raw',
        '    schema: raw',
        '    config:',
        '      loaded_at_field: loaded_at',
        '      freshness:',
        '        error_after: {count: 48, period: hour}',
        '    tables:',
        '      - name: tracks',
        '        identifier: raw_tracks',
        '        config:',
        '          freshness:',
        '            warn_after: {count: 24, period: hour}',
        '      - name: artists',
        '        config:',
        '          freshness: null',
      ].join('\n'),
    );
    const project = await compileDbtProject({ projectDir, write: false });
    expect(project.sources.find((s) => s.key === 'raw.tracks')).toMatchObject({
      loadedAtField: 'loaded_at',
      freshness: { warn_after: { count: 24, period: 'hour' } },
    });
    const artists = project.sources.find((s) => s.key === 'raw.artists')!;
    expect(artists.loadedAtField).toBe('loaded_at');
    expect(artists.freshness).toBeNull();
  });

  it('reads env_var() in profiles and falls back to default__generate_schema_name on the ci target', async () => {
    const project = await compileDbtProject({ projectDir, target: 'ci', env: { MINI_SCHEMA: 'ci_run' } });
    expect(project.models.map((m) => m.relation).sort()).toEqual([
      '"ci_run_marts"."dim_artists"',
      '"ci_run_marts"."dim_tracks"',
      '"ci_run_staging"."stg_artists"',
      '"ci_run_staging"."stg_tracks"',
    ]);
  });

  it('lets vars passed by the caller override dbt_project.yml vars', async () => {
    const project = await compileDbtProject({ projectDir, vars: { genres: ['pop'] }, write: false });
    const dim = project.models.find((m) => m.name === 'dim_tracks')!;
    expect(dim.sql).toContain('as is_pop');
    expect(dim.sql).not.toContain('is_rock');
    expect(existsSync(join(projectDir, 'target'))).toBe(false);
  });

  it('removes compiled files of models that no longer exist', async () => {
    writeFileSync(join(projectDir, 'models/marts/extra.sql'), 'select 1 as x');
    const first = await compileDbtProject({ projectDir });
    const extra = first.models.find((m) => m.name === 'extra')!.compiledPath;
    expect(existsSync(extra)).toBe(true);
    rmSync(join(projectDir, 'models/marts/extra.sql'));
    const second = await compileDbtProject({ projectDir });
    expect(existsSync(extra)).toBe(false);
    for (const m of second.models) expect(existsSync(m.compiledPath)).toBe(true);
  });

  const broken: { what: string; files: Record<string, string>; message: RegExp[] }[] = [
    {
      what: 'an unknown ref (naming the model and a close name)',
      files: { 'models/marts/bad.sql': "select * from {{ ref('stg_trakcs') }}" },
      message: [/model 'bad' \(models\/marts\/bad\.sql\)/, /unknown model 'stg_trakcs'/, /did you mean 'stg_tracks'/],
    },
    {
      what: 'a cycle (naming it)',
      files: {
        'models/marts/a.sql': "select * from {{ ref('b') }}",
        'models/marts/b.sql': "select * from {{ ref('c') }}",
        'models/marts/c.sql': "select * from {{ ref('a') }}",
      },
      message: [/dependency cycle: a → b → c → a/],
    },
    {
      what: 'a missing var without default',
      files: { 'models/marts/v.sql': "select {{ var('nope') }} as x" },
      message: [/model 'v'/, /var\('nope'\)/, /vars: in dbt_project\.yml/],
    },
    {
      what: 'an undeclared source',
      files: { 'models/marts/s.sql': "select * from {{ source('raw', 'trackz') }}" },
      message: [/model 's'/, /source\('raw', 'trackz'\)/, /did you mean 'tracks'/],
    },
    {
      what: 'an unsupported materialization',
      files: { 'models/marts/i.sql': "{{ config(materialized='incremental') }} select 1 as x" },
      message: [/model 'i'/, /unsupported materialization 'incremental'/],
    },
    {
      what: 'adapter.dispatch with no implementation',
      files: { 'models/marts/d.sql': "select {{ adapter.dispatch('nothing')() }} as x" },
      message: [/duckdb__nothing/, /default__nothing/],
    },
    {
      what: 'an unsupported generic test',
      files: {
        'models/marts/d2.sql': 'select 1 as c',
        'models/marts/y.yml': "models:\n  - name: d2\n    columns:\n      - name: c\n        tests: ['dbt_utils.at_least_one']\n",
      },
      message: [/unsupported generic test 'dbt_utils\.at_least_one'/, /models\/marts\/y\.yml/],
    },
  ];

  it.each(broken)('rejects $what with a message naming the fix', async ({ files, message }) => {
    for (const [path, content] of Object.entries(files)) writeFileSync(join(projectDir, path), content);
    const err = await compileDbtProject({ projectDir, write: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransformError);
    for (const re of message) expect((err as Error).message).toMatch(re);
  });
});

describe('constructs the embedded runner does not implement are refused, naming dbt-core', () => {
  const ARTISTS_YML = 'models/marts/_artists.yml';
  const dbtCore = /build this project with dbt-core \(MUSIC_DBT=core\) or remove it/;

  /** Run on clean data and return the refusal (these runs used to succeed, building without the construct). */
  async function refusal(files: Record<string, string>): Promise<TransformError> {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(projectDir, path)), { recursive: true });
      writeFileSync(join(projectDir, path), content);
    }
    await seed(session, GOOD_TRACKS);
    const err = await runDbtProject({ projectDir, session }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransformError);
    expect((err as Error).message).toMatch(dbtCore);
    return err as TransformError;
  }

  it('an enforced contract with a wrong column type', async () => {
    const err = await refusal({
      [ARTISTS_YML]: [
        'models:',
        '  - name: stg_artists',
        '    config:',
        '      contract: {enforced: true}',
        '    columns:',
        '      - name: artist_id',
        '        data_type: integer',
        '      - name: artist_name',
        '        data_type: varchar',
      ].join('\n'),
    });
    expect(err.message).toMatch(/^models\/marts\/_artists\.yml: model 'stg_artists': contract: \{enforced: true\}/);
    expect(await session.all("select * from information_schema.tables where table_schema in ('staging', 'marts')")).toEqual([]);
  });

  it('a failing unit_tests block', async () => {
    const err = await refusal({
      [ARTISTS_YML]: [
        'unit_tests:',
        '  - name: dim_artists_keeps_every_artist',
        '    model: dim_artists',
        '    given:',
        "      - input: ref('stg_artists')",
        '        rows:',
        '          - {artist_id: a1, artist_name: First}',
        '    expect:',
        '      rows:',
        '        - {artist_id: a1, artist_name: Wrong}',
      ].join('\n'),
    });
    expect(err.message).toMatch(/^models\/marts\/_artists\.yml: unit_tests: \(unit tests are not run\)/);
  });

  const constructs: { what: string; files: Record<string, string>; message: RegExp }[] = [
    ...['warn_if: ">10"', 'error_if: ">10"', 'fail_calc: "sum(n_records)"', 'store_failures: true', 'limit: 5'].map((setting) => ({
      what: `test config ${setting.split(':')[0]}`,
      files: { [ARTISTS_YML]: `models:\n  - name: stg_artists\n    columns:\n      - name: artist_id\n        data_tests:\n          - unique:\n              config:\n                ${setting}\n` },
      message: new RegExp(`^models/marts/_artists\\.yml: test config '${setting.split(':')[0]}' \\(on test 'unique' on model stg_artists\\.artist_id\\)`),
    })),
    {
      what: 'a test config in the flat (pre-1.8) form',
      files: { [ARTISTS_YML]: 'models:\n  - name: stg_artists\n    columns:\n      - name: artist_id\n        tests:\n          - not_null:\n              store_failures: true\n' },
      message: /^models\/marts\/_artists\.yml: test config 'store_failures'/,
    },
    {
      what: 'a singular test config() the runner does not apply',
      files: { 'tests/assert_limit.sql': "{{ config(warn_if='>5') }} select * from {{ ref('dim_tracks') }} where 1 = 0" },
      message: /^tests\/assert_limit\.sql: test config 'warn_if' \(on singular test 'assert_limit'\)/,
    },
    {
      what: 'a contract enforced from dbt_project.yml',
      files: { 'dbt_project.yml': `${FIXTURE_PROJECT}      +contract:\n        enforced: true\n` },
      message: /^dbt_project\.yml: model 'dim_\w+': contract: \{enforced: true\}/,
    },
    {
      what: 'sql_header set by config() in the model',
      files: { 'models/marts/h.sql': "{{ config(sql_header='set timezone = \\'UTC\\'') }} select 1 as x" },
      message: /^models\/marts\/h\.sql: model 'h': config 'sql_header'/,
    },
    {
      what: 'grants',
      files: { [ARTISTS_YML]: 'models:\n  - name: stg_artists\n    config:\n      grants: {select: [reporter]}\n' },
      message: /^models\/marts\/_artists\.yml: model 'stg_artists': config 'grants'/,
    },
    {
      what: 'persist_docs',
      files: { [ARTISTS_YML]: 'models:\n  - name: stg_artists\n    config:\n      persist_docs: {relation: true}\n' },
      message: /^models\/marts\/_artists\.yml: model 'stg_artists': persist_docs/,
    },
    {
      what: 'model versions',
      files: { [ARTISTS_YML]: 'models:\n  - name: stg_artists\n    latest_version: 2\n    versions:\n      - v: 2\n' },
      message: /^models\/marts\/_artists\.yml: model 'stg_artists': versions: \(model versions are not built\)/,
    },
    {
      what: 'a snapshots: property block',
      files: { [ARTISTS_YML]: 'snapshots:\n  - name: artists_snapshot\n' },
      message: /^models\/marts\/_artists\.yml: snapshots: \(snapshots are not built\)/,
    },
    {
      what: 'a snapshot file',
      files: { 'snapshots/artists_snapshot.sql': "{% snapshot artists_snapshot %} select * from {{ ref('dim_artists') }} {% endsnapshot %}" },
      message: /^snapshots\/artists_snapshot\.sql: snapshot \(snapshots are not built\)/,
    },
    {
      what: 'a seed file',
      files: { 'seeds/countries.csv': 'code,name\nSE,Sweden\n' },
      message: /^seeds\/countries\.csv: seed file \(seeds are not loaded\)/,
    },
    {
      what: 'packages.yml',
      files: { 'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n' },
      message: /^packages\.yml: package dependencies/,
    },
    {
      what: 'dependencies.yml',
      files: { 'dependencies.yml': 'projects:\n  - name: core_platform\n' },
      message: /^dependencies\.yml: package dependencies/,
    },
    {
      what: 'a Python model',
      files: { 'models/marts/scores.py': 'def model(dbt, session):\n    return dbt.ref("dim_tracks")\n' },
      message: /^models\/marts\/scores\.py: a Python model/,
    },
    {
      what: 'an on-run-end hook',
      files: { 'dbt_project.yml': `${FIXTURE_PROJECT}on-run-end:\n  - "grant usage on schema marts to reporter"\n` },
      message: /^dbt_project\.yml: on-run-end \(run hooks are not executed\)/,
    },
    {
      what: 'project-wide test configs',
      files: { 'dbt_project.yml': `${FIXTURE_PROJECT}data_tests:\n  +severity: warn\n` },
      message: /^dbt_project\.yml: the data_tests: config block/,
    },
  ];

  it.each(constructs)('$what', async ({ files, message }) => {
    const err = await refusal(files);
    expect(err.message).toMatch(message);
  });

  it('accepts the defaults of those settings (store_failures: false, limit: null, contract not enforced)', async () => {
    writeFileSync(
      join(projectDir, ARTISTS_YML),
      'models:\n  - name: stg_artists\n    config:\n      contract: {enforced: false}\n    columns:\n      - name: artist_id\n        data_tests:\n          - unique:\n              config: {store_failures: false, limit: null}\n',
    );
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    expect(testResult(report, 'unique_stg_artists_artist_id')).toMatchObject({ status: 'pass' });
  });
});

describe('run artifacts in dbt-core schema (target/run_results.json, target/manifest.json)', () => {
  interface Result { unique_id: string; status: string; execution_time: number; failures: number | null; message: string | null; timing: { name: string; started_at: string; completed_at: string }[] }
  const artifact = <T>(file: string): T => JSON.parse(readFileSync(join(projectDir, 'target', file), 'utf8')) as T;

  it('records every node of a passing run, and reads back through the dbt-core report reader into the same report', async () => {
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    const runResults = artifact<{ metadata: { dbt_schema_version: string }; results: Result[]; elapsed_time: number }>('run_results.json');
    expect(runResults.metadata.dbt_schema_version).toBe('https://schemas.getdbt.com/dbt/run-results/v6.json');
    expect(runResults.results).toHaveLength(report.models.length + report.tests.length);
    const dim = runResults.results.find((r) => r.unique_id === 'model.mini.dim_tracks')!;
    expect(dim).toMatchObject({ status: 'success', failures: null });
    expect(dim.timing[0]!.name).toBe('execute');
    expect(Date.parse(dim.timing[0]!.completed_at)).toBeGreaterThanOrEqual(Date.parse(dim.timing[0]!.started_at));
    const warned = runResults.results.find((r) => r.unique_id.startsWith('test.mini.accepted_values_dim_tracks_genre__pop__rock__jazz.'))!;
    expect(warned).toMatchObject({ status: 'pass', failures: 0, message: null });
    expect(runResults.results.find((r) => r.unique_id === 'test.mini.assert_popularity_in_range')).toMatchObject({ status: 'pass' });

    const manifest = artifact<{ metadata: { dbt_schema_version: string }; nodes: Record<string, { resource_type: string; name: string; depends_on: { nodes: string[] }; config: { materialized: string } }>; parent_map: Record<string, string[]>; child_map: Record<string, string[]> }>('manifest.json');
    expect(manifest.metadata.dbt_schema_version).toBe('https://schemas.getdbt.com/dbt/manifest/v12.json');
    expect(manifest.nodes['model.mini.dim_tracks']).toMatchObject({ resource_type: 'model', name: 'dim_tracks', depends_on: { nodes: ['model.mini.stg_tracks'] }, config: { materialized: 'table' } });
    expect(manifest.nodes['model.mini.stg_tracks']!.depends_on.nodes).toEqual(['source.mini.raw.tracks']);
    expect(manifest.child_map['source.mini.raw.tracks']).toContain('model.mini.stg_tracks');
    for (const r of runResults.results) expect(manifest.nodes[r.unique_id]).toBeDefined();

    const readBack = reportFromRunResults(join(projectDir, 'target'), report.target, report.ms);
    const strip = (r: DbtRunReport) => ({
      models: r.models.map(({ name, relation, materialized }) => ({ name, relation, materialized })),
      tests: r.tests.map(({ name, status, failures, model }) => ({ name, status, failures, model: model?.startsWith('source:') ? undefined : model })),
      ok: r.ok,
    });
    expect(strip(readBack)).toEqual(strip(report));
  });

  it('names a generic test of 64+ characters as dbt does: full name in unique_id, name and fqn; shortened alias', async () => {
    writeFileSync(
      join(projectDir, 'models/marts/_artists.yml'),
      "models:\n  - name: stg_artists\n    columns:\n      - name: artist_id\n        data_tests:\n          - relationships:\n              arguments: {to: ref('dim_artists'), field: artist_id}\n",
    );
    await seed(session, GOOD_TRACKS);
    const report = await runDbtProject({ projectDir, session });
    const full = 'relationships_stg_artists_artist_id__artist_id__ref_dim_artists_';
    const alias = report.tests.find((t) => t.name.startsWith('relationships_stg_artists'))!.name;
    expect(alias).toMatch(/^relationships_stg_artists_[0-9a-f]{32}$/);
    const { nodes } = artifact<{ nodes: Record<string, { name: string; alias: string; fqn: string[]; attached_node: string }> }>('manifest.json');
    const id = Object.keys(nodes).find((k) => k.startsWith(`test.mini.${full}.`))!;
    expect(id).toMatch(/\.[0-9a-f]{10}$/);
    expect(nodes[id]).toMatchObject({ name: full, alias, fqn: ['mini', 'marts', full], attached_node: 'model.mini.stg_artists' });
  });

  it('records a failing test with its failures and the dbt message on a failed run', async () => {
    await seed(session, [...GOOD_TRACKS, { ...GOOD_TRACKS[0]!, track_id: 't5' }, { ...GOOD_TRACKS[0]!, track_id: 't5' }]);
    await runExpectingFailure({ projectDir, session });
    const { results } = artifact<{ results: Result[] }>('run_results.json');
    expect(results.find((r) => r.unique_id.startsWith('test.mini.unique_dim_tracks_track_id.'))).toMatchObject({
      status: 'fail',
      failures: 1,
      message: 'Got 1 result, configured to fail if != 0',
    });
  });

  it('records the model that failed to build as error with the database message', async () => {
    writeFileSync(join(projectDir, 'models/marts/broken.sql'), 'select no_such_column from {{ ref("stg_tracks") }}');
    await seed(session, GOOD_TRACKS);
    await runExpectingFailure({ projectDir, session });
    const { results } = artifact<{ results: Result[] }>('run_results.json');
    const broken = results.find((r) => r.unique_id === 'model.mini.broken')!;
    expect(broken.status).toBe('error');
    expect(broken.message).toMatch(/no_such_column/);
  });
});
