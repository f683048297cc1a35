/**
 * `npm run pipeline` with STAGING_URL pointing at PostgreSQL builds the same warehouse as the embedded
 * default (compared with the catalog tests/global-setup.ts builds), records the run in
 * ops.pipeline_runs and the snapshot manifest; `scripts/freshness.ts` passes on it and fails once the
 * newest loaded_at is older than the limit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PIPELINE_STEPS } from '../src/pipeline/run.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DATASET_PATH, REPO_ROOT } from './helpers/dataset.js';
import { createScratchDatabase, postgresUnavailable, type ScratchDatabase } from './helpers/postgres.js';

const unavailable = await postgresUnavailable();
/** Every mart, compared row for row and bit for bit (profile statistics are order-independent sums, dbt/macros/stats.sql). */
const MARTS = ['dim_tracks', 'dim_artists', 'bridge_track_artists', 'bridge_track_genres', 'genre_profiles', 'artist_profiles'];

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(unavailable !== null)(`npm run pipeline with STAGING_URL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let db: ScratchDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  let result: { code: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    db = await createScratchDatabase('music_pipeline');
    dataDir = mkdtempSync(join(tmpdir(), 'music-pg-pipeline-'));
    env = { MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: DATASET_PATH, STAGING_URL: db.url, MUSIC_RUN_ID: 'pg-test-run', LOG_LEVEL: 'warn' };
    result = await run('npm', ['run', '--silent', 'pipeline'], env);
  });
  afterAll(async () => {
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('stages in PostgreSQL and builds marts with the same rows as the embedded path', async () => {
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { ingest: { rowsRead: number; rowsStaged: number }; load: { tracks: number } };
    expect(summary.ingest).toMatchObject({ rowsRead: 32_833, rowsStaged: 32_833 });
    expect(summary.load.tracks).toBe(32_833);
    expect(await db.query('SELECT count(*)::int AS n FROM staging.tracks')).toEqual([{ n: 32_833 }]);

    const session = await DuckDbSession.open(join(dataDir, 'warehouse.duckdb'));
    try {
      await session.run(`ATTACH '${join(inject('builtDataDir'), 'warehouse.duckdb')}' AS embedded (READ_ONLY)`);
      const tables: [string, string][] = [
        ['raw.tracks', '* EXCLUDE (loaded_at)'],
        ...MARTS.map((m): [string, string] => [`marts.${m}`, '*']),
      ];
      for (const [table, cols] of tables) {
        const [c] = await session.all<{ pg: number; embedded: number; differ: number }>(`
          SELECT (SELECT count(*) FROM ${table}) AS pg,
                 (SELECT count(*) FROM embedded.${table}) AS embedded,
                 (SELECT count(*) FROM (SELECT ${cols} FROM ${table} EXCEPT ALL SELECT ${cols} FROM embedded.${table})) AS differ`);
        expect({ table, ...c }).toEqual({ table, pg: c!.embedded, embedded: c!.embedded, differ: 0 });
        expect(c!.pg).toBeGreaterThan(0);
      }
      const [counts] = await session.all('SELECT (SELECT count(*) FROM marts.dim_tracks) AS tracks, (SELECT count(*) FROM marts.dim_artists) AS artists');
      expect(counts).toEqual({ tracks: 28_356, artists: 10_698 });
    } finally {
      await session.close();
    }
  });

  it('records the run in ops.pipeline_runs and copies it into the snapshot manifest', async () => {
    const session = await DuckDbSession.open(join(dataDir, 'warehouse.duckdb'));
    let runs: Record<string, unknown>[];
    try {
      runs = await session.all('SELECT * FROM ops.pipeline_runs');
    } finally {
      await session.close();
    }
    const summary = JSON.parse(result.stdout) as { transform: { models: number; tests: number } };
    const versions = readdirSync(join(dataDir, 'snapshots')).filter((v) => v !== 'CURRENT');
    const current = readFileSync(join(dataDir, 'snapshots', 'CURRENT'), 'utf8').trim();
    expect(versions).toContain(current);
    expect(runs).toEqual([
      expect.objectContaining({
        run_id: 'pg-test-run', steps: PIPELINE_STEPS.join(','), status: 'succeeded', error: null,
        rows_read: 32_833, rows_staged: 32_833, rows_rejected: 0, models_built: summary.transform.models,
        tests_passed: summary.transform.tests, tests_failed: 0, snapshot_version: current,
      }),
    ]);
    expect(summary.transform.models).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(dataDir, 'snapshots', current, 'manifest.json'), 'utf8'));
    expect(manifest.source.run).toMatchObject({ runId: 'pg-test-run', rowsRead: 32_833, modelsBuilt: summary.transform.models, testsFailed: 0 });
  });

  it('freshness passes on a fresh load and exits 1 once raw.tracks.loaded_at is older than the limit', async () => {
    const fresh = await run(process.execPath, ['--import', 'tsx', 'scripts/freshness.ts'], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ ok: true, rows: 32_833, maxAgeHours: 48 });

    const session = await DuckDbSession.open(join(dataDir, 'warehouse.duckdb'));
    try {
      await session.run("UPDATE raw.tracks SET loaded_at = loaded_at - INTERVAL 3 DAY");
    } finally {
      await session.close();
    }
    const stale = await run(process.execPath, ['--import', 'tsx', 'scripts/freshness.ts'], env);
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout)).toMatchObject({ ok: false, message: expect.stringMatching(/^stale: .* over the 48 h limit/) });
    const relaxed = await run(process.execPath, ['--import', 'tsx', 'scripts/freshness.ts'], { ...env, MUSIC_FRESHNESS_MAX_AGE_HOURS: '96' });
    expect(relaxed.code).toBe(0);
  });
});
