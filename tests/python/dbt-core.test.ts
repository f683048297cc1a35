/**
 * The dbt project under real dbt-core (.venv-dbt: dbt-core + dbt-duckdb, python/requirements-dbt.txt):
 * `dbt parse` prints no deprecation warning, and on the warehouse that the ingest + load steps leave
 * from the TidyTuesday file, the transform step with MUSIC_DBT=<dbt> builds every model and passes
 * every data test, records the run like the embedded runner does, publishes, and builds marts equal
 * to the embedded runner's (row counts + order-independent checksums, doubles to 12 significant digits).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { DbtRunError } from '../../src/pipeline/dbt/index.js';
import { compareTransformEngines, type EngineParity } from '../../src/pipeline/mart-checksum.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { DuckDbSession } from '../../src/warehouse/duckdb.js';
import { DATASET_PATH, REPO_ROOT } from '../helpers/dataset.js';
import { venv } from '../helpers/python.js';

const py = venv('dbt');
const PROJECT = join(REPO_ROOT, 'dbt');
const MARTS = ['artist_profiles', 'bridge_track_artists', 'bridge_track_genres', 'dim_artists', 'dim_tracks', 'genre_profiles'];
/** Intermediate models are tables too (read by several marts and their tests); staging stays views. */
const INTERMEDIATE = ['int_artist_spotify', 'int_track_artists', 'int_track_genres', 'int_track_songs', 'int_tracks_deduplicated'];
const work = mkdtempSync(join(tmpdir(), 'music-dbt-core-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(py.run)(`dbt-core on the dbt project${py.skipNote}`, () => {
  let parity: EngineParity;
  beforeAll(async () => {
    py.assertPresent();
    const started = Date.now();
    parity = await compareTransformEngines({ dataset: DATASET_PATH, dbt: py.bin('dbt'), workDir: work, log: silentLogger });
    console.error(`dbt-core parity on ${DATASET_PATH}: ${Date.now() - started} ms (transform: embedded ${parity.transformMs.embedded} ms, dbt-core ${parity.transformMs.core} ms)`);
  });

  it('dbt parse reports no deprecation and no warning', () => {
    const target = join(work, 'parse-target');
    const result = spawnSync(
      py.bin('dbt'),
      ['parse', '--profiles-dir', '.', '--target', 'duckdb', '--target-path', target, '--log-path', target, '--no-partial-parse', '--show-all-deprecations', '--no-use-colors'],
      { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' } },
    );
    const out = result.stdout + result.stderr;
    expect(result.status, out).toBe(0);
    expect(out).toMatch(/Running with dbt=1\.11\.\d+/);
    expect(out).not.toMatch(/WARNING|Deprecat/i);
  });

  it('MUSIC_DBT=<dbt> builds every model and passes every data test on the TidyTuesday warehouse', () => {
    const t = parity.report.core.transform!;
    expect(t.ok).toBe(true);
    expect(t.models).toHaveLength(15);
    expect(t.models.filter((m) => m.materialized === 'table').map((m) => m.name).sort()).toEqual([...MARTS, ...INTERMEDIATE].sort());
    expect(t.models.filter((m) => m.materialized === 'view').map((m) => m.name)).toHaveLength(4);
    expect(t.tests).toHaveLength(128);
    expect(t.tests.filter((x) => x.status !== 'pass')).toEqual([]);
    expect(t.skipped).toEqual([]);
    // The embedded runner runs the same project: same models, same test names.
    const e = parity.report.embedded.transform!;
    expect(e.models.map((m) => m.name).sort()).toEqual(t.models.map((m) => m.name).sort());
    expect(e.tests.map((x) => x.name).sort()).toEqual(t.tests.map((x) => x.name).sort());
  });

  it('records the dbt-core run in ops.pipeline_runs and publishes the version it records', async () => {
    const report = parity.report.core;
    expect(report.publish?.version).toBeTruthy();
    const session = await DuckDbSession.open(join(work, 'core', 'warehouse.duckdb'));
    try {
      const rows = await session.all<{ status: string; models_built: number; tests_passed: number; tests_failed: number; snapshot_version: string }>(
        "SELECT status, models_built, tests_passed, tests_failed, snapshot_version FROM ops.pipeline_runs WHERE steps = 'transform,publish'",
      );
      expect(rows).toEqual([{ status: 'succeeded', models_built: 15, tests_passed: 128, tests_failed: 0, snapshot_version: report.publish!.version }]);
    } finally {
      await session.close();
    }
  });

  it('builds marts equal to the embedded runner in every table (row counts and checksums)', () => {
    expect(parity.embedded.map((t) => t.table)).toEqual(MARTS);
    expect(parity.core.map((t) => t.table)).toEqual(MARTS);
    for (const t of parity.embedded) expect(t.rows, t.table).toBeGreaterThan(0);
    expect(parity.core).toEqual(parity.embedded);
    expect(parity.differing).toEqual([]);
    console.error(`mart checksums (both engines): ${JSON.stringify(parity.embedded)}`);
  });

  it('a failing data test fails the dbt-core transform, is recorded as failed, and nothing is published', async () => {
    // The core copy with one raw row duplicated: the source test unique(raw.tracks.row_key) fails.
    const session = await DuckDbSession.open(join(work, 'core', 'warehouse.duckdb'));
    await session.run('INSERT INTO raw.tracks SELECT * FROM raw.tracks LIMIT 1');
    await session.close();
    const config = loadConfig({ MUSIC_DATA_DIR: join(work, 'core'), MUSIC_DATASET: DATASET_PATH, MUSIC_DBT: py.bin('dbt'), MUSIC_RUN_ID: 'failing-core', LOG_LEVEL: 'silent' });
    const err = await runPipeline(config, silentLogger, { steps: ['transform', 'publish'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbtRunError);
    expect((err as Error).message).toMatch(/failing tests: .*source_unique_raw_tracks_row_key/);
    const check = await DuckDbSession.open(join(work, 'core', 'warehouse.duckdb'));
    try {
      const [run] = await check.all<{ status: string; tests_failed: number; snapshot_version: string | null }>(
        "SELECT status, tests_failed, snapshot_version FROM ops.pipeline_runs WHERE run_id = 'failing-core'",
      );
      expect(run).toMatchObject({ status: 'failed', snapshot_version: null });
      expect(run!.tests_failed).toBeGreaterThanOrEqual(1);
    } finally {
      await check.close();
    }
  });
});
