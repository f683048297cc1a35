/**
 * Staging of raw Spotify API payloads (the API side of ELT), on the warehouse SqlSession port.
 *
 * Contract (dbt's staging models read these columns; do not rename):
 * - `staging.spotify_artists`: one row per Spotify artist id. `payload` is the artist object as the
 *   API sent it; `payload_hash` its sha256 (canonical JSON). `fetched_at`: when this payload version
 *   was first fetched (unchanged payloads are not rewritten, so it stays put); `checked_at`: the last
 *   time the API confirmed it (the freshness/TTL clock); `albums_checked_at`: the last complete album
 *   listing. `artist_key`: the dataset's normalised-name key that led to the id.
 * - `staging.spotify_artist_albums`: one row per (artist id, album id), same payload/hash/timestamps.
 * - `staging.artist_resolution`: one row per dataset artist_key: the Spotify id it resolved to (null
 *   when not found or ambiguous), confidence 0..1, the method, and when it was resolved.
 *
 * Upserts only. Every method applies its rows in one transaction and statements are serialised, so
 * concurrent callers (the enrichment runs several artists at once) never interleave a transaction,
 * and a killed process leaves each unit either fully written or not at all.
 * SQL is portable between DuckDB and PostgreSQL (JSON, TIMESTAMP, DOUBLE PRECISION, ON CONFLICT ... DO UPDATE).
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { BindingSqlSession, SqlParam } from '../warehouse/port.js';

const SPOTIFY_STAGING_DDL = `
CREATE SCHEMA IF NOT EXISTS staging;
CREATE TABLE IF NOT EXISTS staging.spotify_artists (
  spotify_id VARCHAR NOT NULL,
  artist_key VARCHAR,
  payload JSON NOT NULL,
  payload_hash VARCHAR NOT NULL,
  fetched_at TIMESTAMP NOT NULL,
  checked_at TIMESTAMP NOT NULL,
  albums_checked_at TIMESTAMP,
  PRIMARY KEY (spotify_id)
);
CREATE TABLE IF NOT EXISTS staging.spotify_artist_albums (
  spotify_id VARCHAR NOT NULL,
  album_id VARCHAR NOT NULL,
  payload JSON NOT NULL,
  payload_hash VARCHAR NOT NULL,
  fetched_at TIMESTAMP NOT NULL,
  checked_at TIMESTAMP NOT NULL,
  PRIMARY KEY (spotify_id, album_id)
);
CREATE TABLE IF NOT EXISTS staging.artist_resolution (
  artist_key VARCHAR NOT NULL,
  artist_name VARCHAR NOT NULL,
  spotify_id VARCHAR,
  confidence DOUBLE PRECISION NOT NULL,
  method VARCHAR NOT NULL,
  resolved_at TIMESTAMP NOT NULL,
  PRIMARY KEY (artist_key)
);
`;

/** Advisory lock key serialising the DDL on PostgreSQL ('spot'). */
const SPOTIFY_DDL_LOCK = 0x73706f74;

export type ResolutionMethod =
  /** Exactly one search result carries the dataset's name. */
  | 'search-unique-name'
  /** Several (or no) same-name results; the one credited on the artist's known tracks won. */
  | 'search-track-overlap'
  /** Search did not find it by name; the known tracks' credits did. */
  | 'track-credit'
  /** Same-name candidates that the known tracks could not tell apart (spotify_id null). */
  | 'ambiguous'
  /** Nothing found (spotify_id null). */
  | 'not-found';

export interface ArtistResolution {
  artistKey: string;
  artistName: string;
  spotifyId: string | null;
  confidence: number;
  method: ResolutionMethod;
  resolvedAt: Date;
}

export interface StagedPayload {
  /** Spotify id of the object. */
  id: string;
  /** The object as the API sent it. */
  payload: unknown;
}

export interface UpsertCounts {
  inserted: number;
  /** Rows whose payload changed (payload, hash and fetched_at rewritten). */
  updated: number;
  /** Rows whose payload was the same (only checked_at moved). */
  unchanged: number;
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const payloadHash = (payload: unknown): string =>
  createHash('sha256').update(canonicalJson(payload)).digest('hex');

/**
 * Statement text with `$1…$n` placeholders for rows of values: every value (ids, names, payload JSON,
 * timestamps) is bound, never spliced into SQL, so a name or payload holding quotes, NULs or any byte
 * stays data. Returns the `(…), (…)` list and appends the values to `params`.
 */
function valueRows(rows: readonly (readonly SqlParam[])[], params: SqlParam[]): string {
  return rows
    .map((row) => `(${row.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`)
    .join(',\n  ');
}

/** One statement and the values bound to its placeholders. */
interface Statement { sql: string; params: SqlParam[] }

export class SpotifyStagingStore {
  /** One statement (or transaction) at a time on the session. */
  private readonly exclusive = pLimit(1);

  constructor(private readonly session: BindingSqlSession) {}

  ensureSchema(): Promise<void> {
    if (this.session.dialect !== 'postgres') return this.exclusive(() => this.session.run(SPOTIFY_STAGING_DDL));
    // PostgreSQL: CREATE … IF NOT EXISTS races between processes; serialise it on an advisory lock.
    return this.exclusive(async () => {
      await this.session.run(`BEGIN; SELECT pg_advisory_xact_lock(${SPOTIFY_DDL_LOCK}); ${SPOTIFY_STAGING_DDL} COMMIT;`).catch(async (err: unknown) => {
        await this.session.run('ROLLBACK').catch(() => undefined);
        throw err;
      });
    });
  }

  /** Upsert artist objects (deduplicated by id; the last one wins). */
  upsertArtists(rows: readonly (StagedPayload & { artistKey: string | null })[], at: Date): Promise<UpsertCounts> {
    const byId = new Map(rows.map((r) => [r.id, r]));
    const params: SqlParam[] = [];
    const values = valueRows(
      [...byId.values()].map((r) => [r.id, r.artistKey, canonicalJson(r.payload), payloadHash(r.payload), at, at]),
      params,
    );
    return this.upsert(
      'staging.spotify_artists',
      ['spotify_id'],
      [...byId.keys()].map((id) => [id]),
      { sql: `INSERT INTO staging.spotify_artists (spotify_id, artist_key, payload, payload_hash, fetched_at, checked_at)
VALUES ${values}
ON CONFLICT (spotify_id) DO UPDATE SET
  artist_key = coalesce(staging.spotify_artists.artist_key, excluded.artist_key),
  payload = CASE WHEN staging.spotify_artists.payload_hash = excluded.payload_hash THEN staging.spotify_artists.payload ELSE excluded.payload END,
  fetched_at = CASE WHEN staging.spotify_artists.payload_hash = excluded.payload_hash THEN staging.spotify_artists.fetched_at ELSE excluded.fetched_at END,
  payload_hash = excluded.payload_hash,
  checked_at = excluded.checked_at`, params },
      [...byId.values()].map((r) => payloadHash(r.payload)),
    );
  }

  /**
   * Upsert one artist's album listing and stamp `albums_checked_at`, in one transaction: a listing is
   * either recorded complete or not at all.
   */
  upsertArtistAlbums(spotifyId: string, albums: readonly StagedPayload[], at: Date): Promise<UpsertCounts> {
    const byId = new Map(albums.map((a) => [a.id, a]));
    const stamp = { sql: 'UPDATE staging.spotify_artists SET albums_checked_at = $1 WHERE spotify_id = $2', params: [at, spotifyId] };
    if (byId.size === 0) {
      return this.exclusive(async () => {
        await this.session.run(stamp.sql, stamp.params);
        return { inserted: 0, updated: 0, unchanged: 0 };
      });
    }
    const params: SqlParam[] = [];
    const values = valueRows(
      [...byId.values()].map((a) => [spotifyId, a.id, canonicalJson(a.payload), payloadHash(a.payload), at, at]),
      params,
    );
    return this.upsert(
      'staging.spotify_artist_albums',
      ['spotify_id', 'album_id'],
      [...byId.keys()].map((id) => [spotifyId, id]),
      { sql: `INSERT INTO staging.spotify_artist_albums (spotify_id, album_id, payload, payload_hash, fetched_at, checked_at)
VALUES ${values}
ON CONFLICT (spotify_id, album_id) DO UPDATE SET
  payload = CASE WHEN staging.spotify_artist_albums.payload_hash = excluded.payload_hash THEN staging.spotify_artist_albums.payload ELSE excluded.payload END,
  fetched_at = CASE WHEN staging.spotify_artist_albums.payload_hash = excluded.payload_hash THEN staging.spotify_artist_albums.fetched_at ELSE excluded.fetched_at END,
  payload_hash = excluded.payload_hash,
  checked_at = excluded.checked_at`, params },
      [...byId.values()].map((a) => payloadHash(a.payload)),
      stamp,
    );
  }

  upsertResolution(r: ArtistResolution): Promise<void> {
    return this.exclusive(() =>
      this.session.run(`INSERT INTO staging.artist_resolution (artist_key, artist_name, spotify_id, confidence, method, resolved_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (artist_key) DO UPDATE SET
  artist_name = excluded.artist_name, spotify_id = excluded.spotify_id, confidence = excluded.confidence,
  method = excluded.method, resolved_at = excluded.resolved_at`,
      [r.artistKey, r.artistName, r.spotifyId, Number.isFinite(r.confidence) ? r.confidence : null, r.method, r.resolvedAt]),
    );
  }

  /** Resolved Spotify ids (with the first artist_key that led to each) whose artist row is missing or older than `cutoff`. */
  staleArtists(cutoff: Date): Promise<{ spotify_id: string; artist_key: string }[]> {
    return this.exclusive(() =>
      this.session.all<{ spotify_id: string; artist_key: string }>(`
SELECT r.spotify_id, min(r.artist_key) AS artist_key
FROM staging.artist_resolution r
LEFT JOIN staging.spotify_artists a ON a.spotify_id = r.spotify_id
WHERE r.spotify_id IS NOT NULL AND (a.spotify_id IS NULL OR a.checked_at < $1)
GROUP BY r.spotify_id
ORDER BY r.spotify_id`, [cutoff]),
    );
  }

  /** Staged artists whose album listing is missing or older than `cutoff`. */
  staleAlbumListings(cutoff: Date): Promise<string[]> {
    return this.exclusive(async () => {
      const rows = await this.session.all<{ spotify_id: string }>(`
SELECT a.spotify_id
FROM staging.spotify_artists a
JOIN (SELECT DISTINCT spotify_id FROM staging.artist_resolution WHERE spotify_id IS NOT NULL) r ON r.spotify_id = a.spotify_id
WHERE a.albums_checked_at IS NULL OR a.albums_checked_at < $1
ORDER BY a.spotify_id`, [cutoff]);
      return rows.map((r) => r.spotify_id);
    });
  }

  private upsert(
    table: string,
    keyCols: string[],
    keys: string[][],
    write: Statement,
    hashes: string[],
    after?: Statement,
  ): Promise<UpsertCounts> {
    return this.exclusive(async () => {
      const keyParams: SqlParam[] = [];
      const where = `(${keyCols.join(', ')}) IN (${valueRows(keys, keyParams)})`;
      await this.session.run('BEGIN TRANSACTION');
      try {
        const existing = await this.session.all<Record<string, string>>(
          `SELECT ${keyCols.join(', ')}, payload_hash FROM ${table} WHERE ${where}`,
          keyParams,
        );
        const old = new Map(existing.map((r) => [keyCols.map((c) => r[c]).join('\u0000'), r.payload_hash]));
        const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
        keys.forEach((k, i) => {
          const prev = old.get(k.join('\u0000'));
          if (prev === undefined) counts.inserted += 1;
          else if (prev === hashes[i]) counts.unchanged += 1;
          else counts.updated += 1;
        });
        await this.session.run(write.sql, write.params);
        if (after) await this.session.run(after.sql, after.params);
        await this.session.run('COMMIT');
        return counts;
      } catch (err) {
        await this.session.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }
}
