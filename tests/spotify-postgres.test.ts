/**
 * Spotify enrichment with PostgreSQL staging (STAGING_URL, the real server on 127.0.0.1): the enrich
 * step writes the API staging tables in PostgreSQL, the load step streams them into the DuckDB raw
 * schema, and dbt joins them into dim_artists. Also: a PostgreSQL staging where enrichment never ran
 * still loads (empty raw Spotify tables), so the dbt sources always exist.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { loadWarehouse } from '../src/pipeline/load.js';
import { runPipeline } from '../src/pipeline/run.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { PostgresStagingStore } from '../src/warehouse/postgres-staging.js';
import { createScratchDatabase, postgresUnavailable, type ScratchDatabase } from './helpers/postgres.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';

const unavailable = await postgresUnavailable();

const HEADER =
  'track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,' +
  'playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms';

describe.skipIf(unavailable !== null)(`Spotify enrichment on PostgreSQL staging${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let double: SpotifyDouble;
  let db: ScratchDatabase;
  let empty: ScratchDatabase;
  let dir: string;
  beforeAll(async () => {
    double = await startSpotifyDouble({ mode: 'development' });
    db = await createScratchDatabase('music_spotify');
    empty = await createScratchDatabase('music_spotify_empty');
    dir = mkdtempSync(join(tmpdir(), 'spotify-pg-'));
  });
  afterAll(async () => {
    await double?.close();
    await db?.drop();
    await empty?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stages API payloads in PostgreSQL and joins them into dim_artists', async () => {
    const c = double.catalog;
    const t = (key: string, name: string) => c.tracksOf(c.artist(key).id).find((x) => x.name === name)!.id;
    const rows: [string, string][] = [
      [t('nirvana-uk', 'Pentecost Hotel'), 'Nirvana'],
      [t('nirvana-uk', 'Rainbow Chaser'), 'Nirvana'],
      [t('beyonce', 'Formation'), 'Beyoncé'],
      [t('daft-punk', 'Digital Love'), 'Daft Punk'],
    ];
    const csv = join(dir, 'songs.csv');
    writeFileSync(csv, `${HEADER}\n${rows.map(([id, artist], i) => `${id},Song ${i},${artist},50,album${i},Album ${i},2001-01-01,P,p${i},pop,dance pop,0.5,0.5,1,-5,1,0.05,0.1,0,0.1,0.5,120,200000`).join('\n')}\n`);
    const config = loadConfig({
      MUSIC_DATA_DIR: join(dir, 'data'), MUSIC_DATASET: csv, STAGING_URL: db.url, LOG_LEVEL: 'silent',
      SPOTIFY_CLIENT_ID: double.clientId, SPOTIFY_CLIENT_SECRET: double.clientSecret,
      SPOTIFY_API_BASE_URL: double.apiBaseUrl, SPOTIFY_ACCOUNTS_URL: double.accountsUrl, SPOTIFY_MAX_RPS: '500',
    });
    const report = await runPipeline(config, silentLogger, { steps: ['acquire', 'ingest', 'enrich', 'load', 'transform'] });
    expect(report.enrich).toMatchObject({ skipped: false, staging: expect.stringMatching(/^PostgreSQL /), resolved: 3, interrupted: false });
    expect(report.load?.spotify).toMatchObject({ artists: 3, resolutions: 3 });
    expect(report.transform!.tests.filter((x) => x.status === 'fail')).toEqual([]);
    expect(await db.query('SELECT count(*)::int AS n FROM staging.spotify_artists')).toEqual([{ n: 3 }]);
    expect(await db.query("SELECT spotify_id FROM staging.artist_resolution WHERE artist_key = 'nirvana'")).toEqual([{ spotify_id: c.artist('nirvana-uk').id }]);

    const duck = await DuckDbSession.open(config.duckdbPath);
    try {
      const dim = await duck.all(`SELECT artist_key, spotify_id, spotify_followers, spotify_url FROM marts.dim_artists ORDER BY artist_key`);
      expect(dim).toEqual([
        { artist_key: 'beyonce', spotify_id: c.artist('beyonce').id, spotify_followers: null, spotify_url: `https://open.spotify.com/artist/${c.artist('beyonce').id}` },
        { artist_key: 'daft punk', spotify_id: c.artist('daft-punk').id, spotify_followers: null, spotify_url: `https://open.spotify.com/artist/${c.artist('daft-punk').id}` },
        { artist_key: 'nirvana', spotify_id: c.artist('nirvana-uk').id, spotify_followers: null, spotify_url: `https://open.spotify.com/artist/${c.artist('nirvana-uk').id}` },
      ]);
    } finally {
      await duck.close();
    }
  });

  it('loads empty raw Spotify tables from a PostgreSQL staging that was never enriched', async () => {
    const store = new PostgresStagingStore(empty.url);
    const duck = await DuckDbSession.open(join(dir, 'empty.duckdb'));
    try {
      await store.ensureSchema();
      const report = await loadWarehouse({ staging: store, warehouse: duck });
      expect(report.spotify).toEqual({ artists: 0, albums: 0, resolutions: 0 });
      const cols = await duck.all<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = 'spotify_artists' ORDER BY ordinal_position",
      );
      expect(cols.map((x) => x.column_name)).toEqual(['spotify_id', 'artist_key', 'payload', 'payload_hash', 'fetched_at', 'checked_at', 'albums_checked_at']);
    } finally {
      await duck.close();
      await store.close();
    }
  });
});
