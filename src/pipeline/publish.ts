import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotError } from '../errors.js';
import { computeDistribution } from '../catalog/distribution.js';
import { PROFILED_FEATURES } from '../features.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import {
  TRACK_FEATURES, writeSnapshot,
  type ArtistProfile, type StringIds, type FeatureStats, type GenreProfile, type NamedCount,
} from '../catalog/snapshot.js';
import { streams, type Row, type SqlSession } from '../warehouse/port.js';
import { DuckDbSession } from '../warehouse/duckdb.js';
import { latestBuildRun } from './runs.js';
import { writeSearchFile } from '../../resources/knowledge.js';
import { ArtistProfiles, Catalog } from '../catalog/catalog.js';
import { TextColumn } from '../catalog/segments.js';
import { attributeColumn, ColumnsBuilder, Interner, listAt, type CatalogColumns } from '../catalog/columns.js';
import { Grow } from '../catalog/grow.js';

/** Audio features profiled per genre/artist in the marts (dbt var `audio_features`, held equal to the registry's by tests/features.test.ts). */
const PROFILE_FEATURES = PROFILED_FEATURES;
const STATS = ['mean', 'stddev', 'p10', 'p25', 'p50', 'p75', 'p90'] as const;

export interface PublishReport { version: string; tracks: number; artists: number; genres: number; ms: number }

const num = (v: unknown): number | null => (v === null || v === undefined || Number.isNaN(Number(v)) ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/**
 * Publish: read the marts and write a new serving snapshot, switched to atomically.
 * The server picks it up without a restart. The queries are plain SQL that DuckDB and Snowflake
 * both run (lists are read as list columns and assembled here), so `session` may be either; the
 * server itself never queries the warehouse. `runs`: where ops.pipeline_runs lives (default `session`).
 */
export async function publishSnapshot(opts: PublishOptions): Promise<PublishReport> {
  const s = opts.session;
  return s instanceof DuckDbSession ? s.withSettings(PUBLISH_DUCKDB_SETTINGS, () => publish(opts, () => s.releaseMemory())) : publish(opts);
}

/**
 * DuckDB settings while publish reads: one thread, a bounded buffer pool (a larger sort spills to the
 * database's temp directory, `<warehouse file>.tmp` in the data dir), and no insertion order to keep
 * (every read names its order). Measured on the default dataset: each within the noise of the peak RSS
 * (docs/BENCHMARKS.md); they bound what a larger warehouse can make DuckDB hold.
 */
const PUBLISH_DUCKDB_SETTINGS = { memory_limit: '256MB', threads: 1, preserve_insertion_order: false } as const;

interface PublishOptions {
  session: SqlSession;
  snapshotDir: string;
  log?: Logger;
  marts?: string;
  raw?: string;
  runs?: SqlSession;
  /**
   * Rows read per query from a warehouse that cannot stream (default: TRACK_PAGE_ROWS, ARTIST_PAGE_ROWS):
   * bounds the rows held at once. A streaming session (DuckDB) is read in one scan per table instead.
   */
  pageRows?: number;
}

/**
 * `afterReads`: called once every warehouse read is done, before the snapshot is built (DuckDB gives
 * back the memory of what it read there); true when it freed memory.
 */
async function publish(opts: PublishOptions, afterReads?: () => Promise<boolean>): Promise<PublishReport> {
  const m = opts.marts ?? 'marts';
  const started = Date.now();
  const step = stepLogger(opts.log ?? silentLogger);

  const { columns, albumId } = await readTracks(opts.session, m, opts.pageRows ?? TRACK_PAGE_ROWS, step);
  const artists = await readArtists(opts.session, m, opts.pageRows ?? ARTIST_PAGE_ROWS, await spillFile(opts.snapshotDir, 'artist.profile'));
  try {
    step('artists read');
    return await publishRead(opts, { columns, albumId, artists }, step, started, afterReads);
  } finally {
    artists.json?.discard();
  }
}

/** The rest of publish once the tracks and artists are read: the small marts, then the snapshot. */
async function publishRead(
  opts: PublishOptions, read: { columns: CatalogColumns; albumId: StringIds; artists: ArtistProfiles },
  step: (name: string) => void, started: number, afterReads?: () => Promise<boolean>,
): Promise<PublishReport> {
  const log = opts.log ?? silentLogger;
  const m = opts.marts ?? 'marts';
  const raw = opts.raw ?? 'raw';
  const { columns, albumId, artists } = read;
  const genreRows = await opts.session.all(`select * from "${m}"."genre_profiles" order by genre`);
  const genres = genreRows.map(toGenreProfile);

  const sources = await opts.session.all<{ source_file: string; source_schema: string; n: number }>(
    `select source_file, source_schema, count(*) as n from "${raw}"."tracks" group by source_file, source_schema`,
  );
  const [rejects] = await opts.session.all<{ n: number }>(`select count(*) as n from "${raw}"."track_rejects"`);
  const distinctSorted = (values: string[]) => [...new Set(values)].sort().join(', ') || null;
  const src = {
    dataset: distinctSorted(sources.map((r) => r.source_file)),
    schema: distinctSorted(sources.map((r) => r.source_schema)),
  };
  const staged = sources.reduce((sum, r) => sum + Number(r.n), 0);
  const rejected = num(rejects?.n);
  const run = await latestBuildRun(opts.runs ?? opts.session);
  const [songs] = await opts.session.all<{ songs: number; folded: number; folded_songs: number }>(
    `select count(distinct song_key) as songs, sum(case when is_folded_version then 1 else 0 end) as folded,
       count(distinct case when is_folded_version then song_key end) as folded_songs from "${m}"."dim_tracks"`,
  );
  if (afterReads && (await afterReads())) step('warehouse memory released');

  const data = {
    manifest: {
      publishedAt: new Date().toISOString(),
      source: {
        dataset: str(src?.dataset), schema: str(src?.schema),
        rowsStaged: staged, rowsRejected: rejected,
        rowsRead: staged !== null && rejected !== null ? staged + rejected : null,
        run: run && {
          runId: run.run_id, startedAt: String(run.started_at), steps: run.steps.split(',').filter(Boolean),
          rowsRead: num(run.rows_read), rowsStaged: num(run.rows_staged), rowsRejected: num(run.rows_rejected),
          rowsDeleted: num(run.rows_deleted),
          modelsBuilt: num(run.models_built), testsPassed: num(run.tests_passed), testsFailed: num(run.tests_failed),
        },
      },
      counts: {
        tracks: columns.size, artists: artists.length, genres: genres.length,
        songs: num(songs?.songs) ?? 0,
        foldedVersions: { tracks: num(songs?.folded) ?? 0, songs: num(songs?.folded_songs) ?? 0 },
      },
    },
    columns, albumId, artists, genres,
    distribution: computeDistribution({ size: columns.size, column: (attr) => attributeColumn(columns, attr)!, genres: (i) => listAt(columns.genres, i) }, 'publish'),
  };
  step('distribution computed');
  const version = await writeSnapshot(opts.snapshotDir, data, undefined, async (dir, _manifest, parts) => {
    step('columns.bin written');
    const catalog = new Catalog(parts);
    step('catalog indexes built');
    await writeSearchFile(dir, catalog);
    step('search file written');
  }, step);
  const report = { version, tracks: columns.size, artists: artists.length, genres: genres.length, ms: Date.now() - started };
  log.info(report, 'published serving snapshot');
  return report;
}

/**
 * Rows per keyset page, for a warehouse session that cannot stream. Each page's row objects outlive a few young-generation
 * collections and are promoted; smaller pages left less garbage in the old generation (default dataset:
 * peak RSS 665 MiB with 2,000-row pages, 501 MiB with 500; docs/BENCHMARKS.md). An artist row (lists of
 * genres, albums, top tracks) weighs several track rows.
 */
export const TRACK_PAGE_ROWS = 1_000;
export const ARTIST_PAGE_ROWS = 500;

/**
 * A mart's rows a batch at a time, in `key` order, so the row objects of a whole table never exist at
 * once: one streaming scan where the session streams (DuckDB: a chunk of up to 2,048 rows at a time),
 * keyset pages of `pageRows` otherwise.
 */
function batches(session: SqlSession, table: string, key: string, pageRows: number): AsyncIterable<Iterable<Row>> {
  return streams(session) ? session.stream(`select * from ${table} order by "${key}"`) : pages(session, table, key, pageRows);
}

/**
 * A mart's rows a page at a time, in `key` order (keyset: each query starts after the last key read).
 * `key` must be unique.
 */
async function* pages(session: SqlSession, table: string, key: string, pageRows: number): AsyncGenerator<Row[]> {
  for (let after: string | null = null; ;) {
    const where: string = after === null ? '' : `where "${key}" > '${after.replace(/'/g, "''")}'`;
    const rows = await session.all(`select * from ${table} ${where} order by "${key}" limit ${pageRows}`);
    if (rows.length > 0) yield rows;
    if (rows.length < pageRows) return;
    after = String(rows[rows.length - 1]![key]);
  }
}

/**
 * Logs the process's memory at a step boundary (debug level): where publish's peak lies
 * (docs/BENCHMARKS.md). `peakRssMiB` is the highest RSS so far (Linux `VmHWM`), so a peak inside a
 * step shows at the step's end. Costs nothing unless debug logging is on.
 */
function stepLogger(log: Logger): (step: string) => void {
  const t0 = performance.now();
  return (step) => {
    if (!log.isLevelEnabled('debug')) return;
    const mem = process.memoryUsage();
    const MiB = (b: number) => Math.round(b / 2 ** 20);
    const peak = peakRssKiB();
    log.debug({
      step, ms: Math.round(performance.now() - t0), rssMiB: MiB(mem.rss), ...(peak === null ? {} : { peakRssMiB: Math.round(peak / 1024) }),
      heapMiB: MiB(mem.heapUsed), arrayBuffersMiB: MiB(mem.arrayBuffers),
    }, 'publish step');
  };
}

/** The process's peak resident set size so far in KiB (`VmHWM` of /proc/self/status), or null where there is none. */
function peakRssKiB(): number | null {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Each track's artist keys in credit order, by the track's position in `track_id` order: offsets into
 * one array of ids into a table of the distinct keys. The warehouse numbers the tracks, so no map of a
 * million track ids (and a list per track) is held while the tracks are read.
 */
interface Credits { start: Int32Array; ids: Int32Array; table: readonly string[] }

async function readCredits(session: SqlSession, m: string): Promise<Credits> {
  const sql = `select t.track_index, b.artist_key
    from "${m}"."bridge_track_artists" b
    join (select track_id, row_number() over (order by track_id) - 1 as track_index from "${m}"."dim_tracks") t on t.track_id = b.track_id
    order by t.track_index, b.artist_position`;
  const start = new Grow(new Int32Array(1024));
  const ids = new Grow(new Int32Array(1024));
  const keys = new Interner();
  for await (const rows of streams(session) ? session.stream(sql) : [await session.all(sql)]) {
    for (const c of rows) {
      const track = Number(c.track_index);
      while (start.length <= track) start.push(ids.length);
      ids.push(keys.id(String(c.artist_key)));
    }
  }
  start.push(ids.length);
  return { start: start.done(), ids: ids.done(), table: keys.table };
}

/** The artist keys of the track at `track` in `track_id` order. */
function creditedKeys(c: Credits, track: number): string[] {
  if (track + 1 >= c.start.length) return [];
  const out: string[] = [];
  for (let p = c.start[track]!; p < c.start[track + 1]!; p++) out.push(c.table[c.ids[p]!]!);
  return out;
}

/**
 * dim_tracks, with each track's artist keys in credit order, into columns, and each track's album_id
 * (interned: tracks of one album share it).
 */
async function readTracks(
  session: SqlSession, m: string, pageRows: number, step: (name: string) => void,
): Promise<{ columns: CatalogColumns; albumId: StringIds }> {
  const credits = await readCredits(session, m);
  step('credits read');
  const columns = new ColumnsBuilder();
  const albumIds = new Interner();
  const albumId = new Grow(new Int32Array(1024));
  for await (const rows of batches(session, `"${m}"."dim_tracks"`, 'track_id', pageRows)) {
    for (const r of rows) {
      const id = String(r.track_id);
      const album = str(r.album_id);
      albumId.push(album === null ? -1 : albumIds.id(album));
      columns.add({
        track_id: id,
        track_name: str(r.track_name),
        album_name: str(r.album_name),
        release_year: num(r.release_year),
        artist_names: list<string>(r.artist_names),
        artist_keys: creditedKeys(credits, columns.size),
        popularity: num(r.popularity) ?? 0,
        duration_ms: num(r.duration_ms) ?? 0,
        explicit: r.explicit === null || r.explicit === undefined ? null : Boolean(r.explicit),
        key: num(r.key) ?? -1,
        mode: num(r.mode) ?? 0,
        time_signature: num(r.time_signature),
        genres: list<string>(r.genres),
        subgenres: list<string>(r.subgenres),
        canonical_track_id: str(r.canonical_track_id) ?? id,
        features: TRACK_FEATURES.map((f) => num(r[f]) ?? 0),
      });
    }
  }
  step('tracks read');
  const done = columns.done();
  step('track columns done');
  return { columns: done, albumId: { ids: albumId.done(), table: albumIds.table } };
}

/**
 * artist_profiles as JSON text, a page of rows at a time: the profiles are parsed again one at a time
 * when the search file is built, and the text is what the snapshot stores. The text goes to `spill` as
 * it is made (a block of about 1 MiB stays in memory): at 1M tracks it is ≈ 250 MiB that would otherwise
 * be held from here to the end of publish. The caller discards the spill file (`json.discard()`).
 */
async function readArtists(session: SqlSession, m: string, pageRows: number, spill: string): Promise<ArtistProfiles> {
  const keys: string[] = [];
  const names: string[] = [];
  const popularityMax: number[] = [];
  const trackCount: number[] = [];
  const json = new TextColumn('artist.profile', spill);
  try {
    for await (const rows of batches(session, `"${m}"."artist_profiles"`, 'artist_key', pageRows)) {
      for (const r of rows) {
        const p = toArtistProfile(r);
        keys.push(p.artist_key);
        names.push(p.artist_name);
        popularityMax.push(p.popularity_max ?? NaN);
        trackCount.push(p.track_count);
        json.add(JSON.stringify(p));
      }
    }
  } catch (err) {
    json.discard();
    throw err;
  }
  return ArtistProfiles.ofJson(keys, names, Float64Array.from(popularityMax), Int32Array.from(trackCount), json);
}

/**
 * A path for a spill file of publish in the snapshot directory (made when missing), named as the
 * snapshot writer names its partial files, so one an interrupted publish leaves is pruned with them.
 */
async function spillFile(snapshotDir: string, name: string): Promise<string> {
  await mkdir(snapshotDir, { recursive: true }).catch((err: Error) => {
    throw new SnapshotError(`cannot write snapshot to ${snapshotDir}: ${err.message}`, { cause: err });
  });
  return join(snapshotDir, `.tmp-${randomBytes(4).toString('hex')}-${name}`);
}

const namedCounts = (v: unknown): NamedCount[] =>
  list<Row>(v).map((x) => ({ genre: String(x.genre), track_count: num(x.track_count) ?? 0 }));

function toArtistProfile(r: Row): ArtistProfile {
  return {
    artist_key: String(r.artist_key),
    artist_name: String(r.artist_name),
    track_count: num(r.track_count) ?? 0,
    genres: namedCounts(r.genres),
    subgenres: namedCounts(r.subgenres),
    popularity_mean: num(r.popularity_mean),
    popularity_max: num(r.popularity_max),
    popularity_min: num(r.popularity_min),
    explicit_share: num(r.explicit_share),
    feature_means: Object.fromEntries(PROFILE_FEATURES.map((f) => [f, num(r[`${f}_mean`])])),
    top_tracks: list<Row>(r.top_tracks).map((t) => ({ track_id: String(t.track_id), track_name: str(t.track_name), popularity: num(t.popularity) ?? 0 })),
    albums: list<Row>(r.albums).map((a) => ({
      album_name: str(a.album_name), album_id: str(a.album_id), release_year: num(a.release_year), track_count: num(a.track_count) ?? 0,
    })),
    first_release_year: num(r.first_release_year),
    last_release_year: num(r.last_release_year),
    spotify_id: str(r.spotify_id),
    spotify_followers: num(r.spotify_followers),
    spotify_popularity: num(r.spotify_popularity),
    spotify_genres: stringListOrNull(r.spotify_genres),
    spotify_image_url: str(r.spotify_image_url),
    spotify_url: str(r.spotify_url),
    spotify_fetched_at: isoOrNull(r.spotify_fetched_at),
  };
}

/** A list of strings, or null when the column is NULL (Snowflake may hand an ARRAY over as JSON text). */
function stringListOrNull(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(v);
      return Array.isArray(parsed) ? parsed.map(String) : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** A warehouse TIMESTAMP (ISO string or naive UTC text) as ISO UTC. */
function isoOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = v instanceof Date ? v.toISOString() : String(v);
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function toGenreProfile(r: Row): GenreProfile {
  const features: Record<string, FeatureStats> = {};
  for (const f of PROFILE_FEATURES) {
    features[f] = Object.fromEntries(STATS.map((s) => [s, num(r[`${f}_${s}`])])) as unknown as FeatureStats;
  }
  return {
    genre: String(r.genre),
    genre_level: r.genre_level === 'subgenre' ? 'subgenre' : 'genre',
    parent_genre: str(r.parent_genre),
    track_count: num(r.track_count) ?? 0,
    artist_count: num(r.artist_count) ?? 0,
    popularity_mean: num(r.popularity_mean),
    explicit_share: num(r.explicit_share),
    features,
    top_artists: list<string>(r.top_artists),
  };
}
