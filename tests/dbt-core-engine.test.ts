/**
 * The dbt-core transform engine without dbt itself: MUSIC_DBT parsing, and the mapping of dbt's
 * run_results.json + manifest.json (dbt's documented schemas) onto the pipeline's run report. The
 * real dbt-core runs are in tests/python/dbt-core.test.ts (`npm run test:python`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { TransformError } from '../src/errors.js';
import { reportFromRunResults, runDbtCore } from '../src/pipeline/dbt-core.js';
import { silentLogger } from '../src/log.js';

const dir = mkdtempSync(join(tmpdir(), 'music-dbt-core-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const result = (unique_id: string, status: string, extra: Record<string, unknown> = {}) => ({
  unique_id, status, execution_time: 0.25, failures: status === 'fail' ? 3 : 0, message: null, relation_name: null, thread_id: 'Thread-1', timing: [], adapter_response: {}, ...extra,
});

describe('MUSIC_DBT', () => {
  it('defaults to the embedded runner; core means dbt on PATH; a path must exist', () => {
    expect(loadConfig({}).dbt).toEqual({ engine: 'embedded' });
    expect(loadConfig({ MUSIC_DBT: 'embedded' }).dbt).toEqual({ engine: 'embedded' });
    expect(loadConfig({ MUSIC_DBT: 'core' }).dbt).toEqual({ engine: 'core', executable: 'dbt' });
    const exe = join(dir, 'dbt');
    writeFileSync(exe, '');
    expect(loadConfig({ MUSIC_DBT: exe }).dbt).toEqual({ engine: 'core', executable: exe });
    expect(() => loadConfig({ MUSIC_DBT: join(dir, 'no-such-dbt') })).toThrow(/MUSIC_DBT: no dbt executable at .*npm run setup:python/);
    expect(() => loadConfig({ MUSIC_DBT: 'dbt-core' })).toThrow(/MUSIC_DBT: must be 'embedded', 'core'/);
  });

  it('a dbt that cannot be started fails the transform naming the fix', async () => {
    const err = await runDbtCore({ executable: join(dir, 'missing', 'dbt'), projectDir: dir, target: 'duckdb', env: {}, targetPath: join(dir, 'target-missing'), log: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransformError);
    expect((err as Error).message).toMatch(/cannot run dbt-core .* \(not found\); install it \(npm run setup:python/);
  });
});

describe('reportFromRunResults', () => {
  it('maps models, tests, skips and failures as the embedded runner reports them', () => {
    const target = join(dir, 'target');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target);
    writeFileSync(join(target, 'run_results.json'), JSON.stringify({
      metadata: { dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json', dbt_version: '1.11.16' },
      results: [
        result('model.music.stg_raw__tracks', 'success', { relation_name: '"warehouse"."transform"."stg_raw__tracks"' }),
        result('test.music.unique_stg_raw__tracks_row_key.abc123', 'pass'),
        result('test.music.accepted_values_stg_raw__tracks_genre.def456', 'warn', { failures: 2 }),
        result('model.music.dim_tracks', 'success', { relation_name: '"warehouse"."marts"."dim_tracks"' }),
        result('test.music.not_null_dim_tracks_track_id.0a1b2c', 'fail'),
        result('test.music.relationships_dim_tracks_primary_artist_key__artist_key__ref_dim_artists_.9f8e7d', 'pass'),
        result('model.music.genre_profiles', 'skipped'),
      ],
      elapsed_time: 1.5,
      args: {},
    }));
    writeFileSync(join(target, 'manifest.json'), JSON.stringify({
      nodes: {
        'model.music.stg_raw__tracks': { name: 'stg_raw__tracks', config: { materialized: 'view' } },
        'model.music.dim_tracks': { name: 'dim_tracks', config: { materialized: 'table' } },
        'test.music.unique_stg_raw__tracks_row_key.abc123': { name: 'unique_stg_raw__tracks_row_key', attached_node: 'model.music.stg_raw__tracks' },
        'test.music.not_null_dim_tracks_track_id.0a1b2c': { name: 'not_null_dim_tracks_track_id', alias: 'not_null_dim_tracks_track_id', attached_node: 'model.music.dim_tracks' },
        // A name of 64+ characters: dbt's alias (relation and file name) is a prefix + md5, as the embedded runner names it.
        'test.music.relationships_dim_tracks_primary_artist_key__artist_key__ref_dim_artists_.9f8e7d': {
          name: 'relationships_dim_tracks_primary_artist_key__artist_key__ref_dim_artists_',
          alias: 'relationships_dim_tracks_fc6ccb3813a58aa391dfb91576a23901',
          attached_node: 'model.music.dim_tracks',
        },
      },
    }));
    const report = reportFromRunResults(target, 'duckdb', 1500);
    expect(report.models).toEqual([
      { name: 'stg_raw__tracks', relation: '"warehouse"."transform"."stg_raw__tracks"', materialized: 'view', ms: 250 },
      { name: 'dim_tracks', relation: '"warehouse"."marts"."dim_tracks"', materialized: 'table', ms: 250 },
    ]);
    expect(report.tests).toEqual([
      { name: 'unique_stg_raw__tracks_row_key', model: 'stg_raw__tracks', status: 'pass', failures: 0, ms: 250 },
      { name: 'accepted_values_stg_raw__tracks_genre', status: 'warn', failures: 2, ms: 250 },
      { name: 'not_null_dim_tracks_track_id', model: 'dim_tracks', status: 'fail', failures: 3, ms: 250 },
      { name: 'relationships_dim_tracks_fc6ccb3813a58aa391dfb91576a23901', model: 'dim_tracks', status: 'pass', failures: 0, ms: 250 },
    ]);
    expect(report.skipped).toEqual(['genre_profiles']);
    expect(report.ok).toBe(false);
  });
});
