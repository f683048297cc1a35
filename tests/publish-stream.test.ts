import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentVersion, readSnapshot } from '../src/catalog/snapshot.js';
import { publishSnapshot } from '../src/pipeline/publish.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { streams } from '../src/warehouse/port.js';
import { withoutStreaming } from './helpers/paged-session.js';

/**
 * Publish reads the marts through DuckDB's streaming result, a chunk of at most 2,048 rows at a time.
 * The marts here are larger than one chunk in every table publish streams (5,000 tracks, 2,600
 * artists, 7,500 credits), with two-artist credits whose rows straddle chunk boundaries: the snapshot
 * must be the one a reader of the same marts in small keyset pages (a warehouse without streaming)
 * writes, byte for byte.
 */

const TRACKS = 5_000;
const ARTISTS = 2_600;

async function marts(db: DuckDbSession): Promise<void> {
  await db.run('create schema marts; create schema raw');
  await db.run(`create table marts.dim_tracks as
    select 'st' || lpad(i::varchar, 20, '0') as track_id, 'Song ' || i as track_name, 'alb' || (i % 900) as album_id, 'Album ' || (i % 900) as album_name,
      case when i % 10 = 0 then null else 1960 + (i * 7) % 60 end as release_year,
      case when i % 2 = 0 then ['Artist ' || (i % ${ARTISTS}), 'Artist ' || ((i * 7 + 3) % ${ARTISTS})] else ['Artist ' || (i % ${ARTISTS})] end as artist_names,
      (i * 13) % 100 as popularity, 150000 + (i * 997) % 200000 as duration_ms, i % 5 = 0 as explicit, i % 12 as key, i % 2 as mode, 4 as time_signature,
      [['rock', 'pop', 'folk', 'jazz'][1 + i % 4]] as genres, case when i % 3 = 0 then ['indie'] else []::varchar[] end as subgenres,
      'st' || lpad((i - i % 4)::varchar, 20, '0') as canonical_track_id, 'song' || (i - i % 4) as song_key, i % 4 <> 0 as is_folded_version,
      ((i * 37) % 1000) / 1000.0 as danceability, ((i * 53) % 1000) / 1000.0 as energy, ((i * 71) % 1000) / 1000.0 as valence,
      ((i * 89) % 1000) / 1000.0 as acousticness, ((i * 97) % 1000) / 1000.0 ^ 4 as instrumentalness, 0.02 + ((i * 31) % 400) / 1000.0 as speechiness,
      ((i * 41) % 1000) / 1000.0 as liveness, 60 + (i * 17) % 140 as tempo, -25 + (i * 19) % 22 as loudness
    from range(${TRACKS}) t(i)`);
  // Stored in reverse order: the reader's ORDER BY, not the table's layout, decides the order.
  await db.run(`create table marts.bridge_track_artists as
    select track_id, lower(replace(a, ' ', '-')) as artist_key, p::integer as artist_position
    from (select track_id, unnest(artist_names) as a, generate_subscripts(artist_names, 1) as p from marts.dim_tracks)
    order by track_id desc, artist_position desc`);
  await db.run(`create table marts.artist_profiles as
    select b.artist_key, any_value(a) as artist_name, count(*) as track_count, max(t.popularity) as popularity_max,
      list({'genre': t.genres[1], 'track_count': 1} order by t.track_id)[1:3] as genres,
      list({'track_id': t.track_id, 'track_name': t.track_name, 'popularity': t.popularity} order by t.popularity desc, t.track_id)[1:5] as top_tracks
    from (select track_id, unnest(artist_names) as a from marts.dim_tracks) c
    join marts.bridge_track_artists b on b.track_id = c.track_id and b.artist_key = lower(replace(c.a, ' ', '-'))
    join marts.dim_tracks t on t.track_id = c.track_id
    group by b.artist_key`);
  await db.run(`create table marts.genre_profiles as
    select genres[1] as genre, 'genre' as genre_level, null::varchar as parent_genre, count(*) as track_count, 10 as artist_count, median(energy) as energy_p50
    from marts.dim_tracks group by all`);
  await db.run("create table raw.tracks as select 'generated.csv' as source_file, 'kaggle' as source_schema from marts.dim_tracks");
  await db.run('create table raw.track_rejects (n integer)');
}

describe('publish streams the marts', () => {
  let db: DuckDbSession;
  let dirs: string[];
  beforeAll(async () => {
    db = await DuckDbSession.open(':memory:');
    await marts(db);
    dirs = [mkdtempSync(join(tmpdir(), 'publish-streamed-')), mkdtempSync(join(tmpdir(), 'publish-paged-'))];
  });
  afterAll(async () => {
    await db.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes, from marts larger than one streamed chunk, the snapshot a reader of small pages writes, byte for byte', async () => {
    expect(streams(db)).toBe(true);
    const paged = withoutStreaming(db);
    expect(streams(paged)).toBe(false);
    const [credits] = await db.all<{ n: number }>('select count(*) as n from marts.bridge_track_artists');
    expect(credits!.n).toBeGreaterThan(2 * 2_048);

    const streamed = await publishSnapshot({ session: db, snapshotDir: dirs[0]! });
    const pagedReport = await publishSnapshot({ session: paged, snapshotDir: dirs[1]!, pageRows: 300 });
    expect(streamed.tracks).toBe(TRACKS);
    expect(streamed.artists).toBe(ARTISTS);
    expect(pagedReport).toMatchObject({ tracks: TRACKS, artists: ARTISTS });

    const files = await Promise.all(dirs.map(async (d) => join(d, (await currentVersion(d))!, 'columns.bin')));
    expect(readFileSync(files[0]!).equals(readFileSync(files[1]!))).toBe(true);

    const [a, b] = await Promise.all(dirs.map((d) => readSnapshot(d)));
    expect(a!.tracks).toEqual(b!.tracks);
    expect(a!.artists).toEqual(b!.artists);
    // Credits in artist_position order, whatever order the bridge table holds them in.
    const i = a!.tracks.track_id.indexOf(`st${'2'.padStart(20, '0')}`);
    expect(a!.tracks.artist_keys[i]).toEqual(['artist-2', 'artist-17']);
    expect(a!.tracks.track_id).toEqual([...a!.tracks.track_id].sort());
  });
});

describe('DuckDB gives back its memory once publish has read the marts', () => {
  const limit = async (db: DuckDbSession) => (await db.all<{ l: string }>(`select current_setting('memory_limit') as l`))[0]!.l;

  it('lowers the memory limit for a moment and sets back the one it had, inside and outside withSettings', async () => {
    const db = await DuckDbSession.open(':memory:');
    try {
      const dflt = await limit(db);
      await db.run('create table t as select i, i::varchar as s from range(10000) r(i)');
      const inside = await db.withSettings({ memory_limit: '300MB' }, async () => {
        const before = await limit(db);
        await db.all('select count(distinct s) from t');
        expect(await db.releaseMemory()).toBe(true);
        return [before, await limit(db)];
      });
      expect(inside[1]).toBe(inside[0]);
      expect(inside[0]).not.toBe(dflt);
      expect(await db.releaseMemory()).toBe(true);
      expect(await limit(db)).toBe(dflt);
    } finally {
      await db.close();
    }
  });

  it('changes nothing when DuckDB holds more in use than the low limit', async () => {
    const db = await DuckDbSession.open(':memory:');
    try {
      // An in-memory table lives in the buffer pool: with nowhere to spill, 64 MiB of it cannot be evicted under 16 MB.
      await db.run("set temp_directory = ''");
      await db.run(`create table big as select i, repeat('x', 64) || i as s from range(1000000) r(i)`);
      const before = await limit(db);
      expect(await db.releaseMemory()).toBe(false);
      expect(await limit(db)).toBe(before);
      const [row] = await db.all<{ n: number }>('select count(*) as n from big');
      expect(row!.n).toBe(1_000_000);
    } finally {
      await db.close();
    }
  });

  it('leaves the session\'s memory limit as it was after a publish', async () => {
    const db = await DuckDbSession.open(':memory:');
    const dir = mkdtempSync(join(tmpdir(), 'publish-release-'));
    try {
      await marts(db);
      const before = await limit(db);
      await publishSnapshot({ session: db, snapshotDir: dir });
      expect(await limit(db)).toBe(before);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
