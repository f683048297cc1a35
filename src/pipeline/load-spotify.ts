/**
 * The load step's Spotify half: `staging.spotify_artists`, `staging.spotify_artist_albums` and
 * `staging.artist_resolution` (src/spotify/staging.ts) copied into the warehouse's `raw` schema,
 * which dbt's `spotify` source reads. Enrichment is optional: when it never ran, the raw tables are
 * created empty, so the dbt sources always exist and the marts carry NULL Spotify columns.
 *
 * `payload` travels as JSON text (VARCHAR) on every path, so the raw shape is the same in DuckDB
 * and Snowflake; dbt's staging models parse it through the `json_*` dispatch macros.
 */
import { SpotifyStagingStore } from '../spotify/staging.js';
import type { DuckDbSession } from '../warehouse/duckdb.js';
import type { RawTableSpec, RawValue, RawWriter, StagingReader } from '../warehouse/raw-load.js';
import { quoteIdent } from '../warehouse/port.js';

export const SPOTIFY_RAW_TABLES: readonly RawTableSpec[] = [
  {
    name: 'spotify_artists',
    columns: [
      { name: 'spotify_id', type: 'VARCHAR' },
      { name: 'artist_key', type: 'VARCHAR' },
      { name: 'payload', type: 'VARCHAR' },
      { name: 'payload_hash', type: 'VARCHAR' },
      { name: 'fetched_at', type: 'TIMESTAMP' },
      { name: 'checked_at', type: 'TIMESTAMP' },
      { name: 'albums_checked_at', type: 'TIMESTAMP' },
    ],
    orderBy: ['spotify_id'],
  },
  {
    name: 'spotify_artist_albums',
    columns: [
      { name: 'spotify_id', type: 'VARCHAR' },
      { name: 'album_id', type: 'VARCHAR' },
      { name: 'payload', type: 'VARCHAR' },
      { name: 'payload_hash', type: 'VARCHAR' },
      { name: 'fetched_at', type: 'TIMESTAMP' },
      { name: 'checked_at', type: 'TIMESTAMP' },
    ],
    orderBy: ['spotify_id', 'album_id'],
  },
  {
    name: 'artist_resolution',
    columns: [
      { name: 'artist_key', type: 'VARCHAR' },
      { name: 'artist_name', type: 'VARCHAR' },
      { name: 'spotify_id', type: 'VARCHAR' },
      { name: 'confidence', type: 'DOUBLE' },
      { name: 'method', type: 'VARCHAR' },
      { name: 'resolved_at', type: 'TIMESTAMP' },
    ],
    orderBy: ['artist_key'],
  },
];

export interface SpotifyLoadCounts {
  artists: number;
  albums: number;
  resolutions: number;
}


const toCounts = (c: Record<string, number>): SpotifyLoadCounts => ({
  artists: c['spotify_artists'] ?? 0,
  albums: c['spotify_artist_albums'] ?? 0,
  resolutions: c['artist_resolution'] ?? 0,
});

/**
 * Staging and warehouse in one DuckDB file: create the staging tables if enrichment never ran, then
 * replace the raw copies in one transaction.
 */
export async function loadSpotifyRawSql(session: DuckDbSession): Promise<SpotifyLoadCounts> {
  await new SpotifyStagingStore(session).ensureSchema();
  const counts: Record<string, number> = {};
  await session.run('BEGIN TRANSACTION');
  try {
    await session.run('CREATE SCHEMA IF NOT EXISTS raw');
    for (const t of SPOTIFY_RAW_TABLES) {
      const cols = t.columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
      await session.run(
        `CREATE OR REPLACE TABLE raw.${quoteIdent(t.name)} AS SELECT ${cols} FROM staging.${quoteIdent(t.name)} ORDER BY ${t.orderBy.map(quoteIdent).join(', ')}`,
      );
      const [row] = await session.all<{ n: number }>(`SELECT count(*) AS n FROM raw.${quoteIdent(t.name)}`);
      counts[t.name] = Number(row?.n ?? 0);
    }
    await session.run('COMMIT');
  } catch (err) {
    await session.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return toCounts(counts);
}

/** Staging elsewhere (PostgreSQL, or DuckDB feeding Snowflake): stream through the warehouse's raw writer. */
export async function loadSpotifyRawVia(reader: StagingReader, writer: RawWriter): Promise<SpotifyLoadCounts> {
  return toCounts(await writer.replaceRaw(SPOTIFY_RAW_TABLES, missingTablesAsEmpty(reader)));
}

/** A staging table that does not exist (enrichment never ran there) → no rows; the writer still creates the raw table. */
function missingTablesAsEmpty(reader: StagingReader): StagingReader {
  return {
    label: reader.label,
    async *readRows(table: RawTableSpec): AsyncIterable<readonly (readonly RawValue[])[]> {
      let yielded = false;
      try {
        for await (const batch of reader.readRows(table)) {
          yielded = true;
          yield batch;
        }
      } catch (err) {
        if (!yielded && isUndefinedTable(err, table.name)) return;
        throw err;
      }
    },
  };
}

function isUndefinedTable(err: unknown, table: string): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '42P01') return true; // PostgreSQL undefined_table
    const message = String((e as Error).message ?? '');
    if (new RegExp(`Table with name "?${table}"? does not exist`, 'i').test(message)) return true; // DuckDB catalog error
  }
  return false;
}
