import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { WarehouseError } from '../errors.js';
import { DuckDbSession } from '../warehouse/duckdb.js';
import type { SqlSession } from '../warehouse/port.js';
import { DuckDbRawWriter, DuckDbStagingReader, RAW_TABLES, type RawWriter, type StagingReader } from '../warehouse/raw-load.js';
import { SnowflakeRawWriter, SnowflakeSession } from '../warehouse/snowflake.js';
import { loadSpotifyRawSql, loadSpotifyRawVia, type SpotifyLoadCounts } from './load-spotify.js';

export interface LoadReport {
  tracks: number;
  rejects: number;
  ms: number;
  /** Rows of raw.spotify_artists / spotify_artist_albums / artist_resolution (0 when enrichment never ran). */
  spotify?: SpotifyLoadCounts;
}

const isSqlSession = (s: SqlSession | StagingReader): s is SqlSession => 'run' in s && 'dialect' in s;

/** The writer for a warehouse's raw schema, by engine. Snowflake plugs in here. */
export function rawWriterFor(warehouse: SqlSession): RawWriter {
  if (warehouse.dialect === 'duckdb' && warehouse instanceof DuckDbSession) return new DuckDbRawWriter(warehouse);
  if (warehouse instanceof SnowflakeSession) return new SnowflakeRawWriter(warehouse);
  throw new WarehouseError(`no raw-schema writer for a ${warehouse.dialect} warehouse yet`);
}

/**
 * Load: copy staged tables into the warehouse's raw schema, which the dbt sources read.
 * Staging reader × warehouse writer:
 * - staging and warehouse are the same embedded DuckDB session → one SQL copy in one transaction;
 * - staging elsewhere (PostgreSQL, `STAGING_URL`) → its rows stream out (COPY TO STDOUT) into the
 *   warehouse's `RawWriter` (DuckDB: appender), replacing the raw tables in one warehouse transaction;
 * - warehouse in Snowflake → staging (either kind) is read the same way into `SnowflakeRawWriter`:
 *   array-bound INSERTs into `RAW.<t>__LOADING`, then `ALTER TABLE … SWAP WITH RAW.<t>`.
 */
export async function loadWarehouse(opts: {
  staging: SqlSession | StagingReader;
  warehouse: SqlSession;
  writer?: RawWriter;
  log?: Logger;
}): Promise<LoadReport> {
  const log = opts.log ?? silentLogger;
  const started = Date.now();
  // Embedded DuckDB staging feeding a warehouse outside the file (Snowflake): read it like any staging.
  const staging =
    opts.staging instanceof DuckDbSession && opts.staging !== opts.warehouse ? new DuckDbStagingReader(opts.staging) : opts.staging;
  if (!isSqlSession(staging)) {
    const writer = opts.writer ?? rawWriterFor(opts.warehouse);
    const counts = await writer.replaceRaw(RAW_TABLES, staging);
    const spotify = await loadSpotifyRawVia(staging, writer);
    const report = { tracks: counts['tracks'] ?? 0, rejects: counts['track_rejects'] ?? 0, spotify, ms: Date.now() - started };
    log.info({ ...report, from: staging.label, to: writer.label }, 'loaded staging into warehouse raw schema');
    return report;
  }
  if (opts.staging !== opts.warehouse || opts.warehouse.dialect !== 'duckdb') {
    throw new WarehouseError('a SQL-session staging must be the embedded DuckDB warehouse itself (staging and warehouse in one file)');
  }
  const w = opts.warehouse;
  await w.run('BEGIN TRANSACTION');
  try {
    await w.run('CREATE SCHEMA IF NOT EXISTS raw');
    await w.run('CREATE OR REPLACE TABLE raw.tracks AS SELECT * FROM staging.tracks ORDER BY row_key');
    await w.run('CREATE OR REPLACE TABLE raw.track_rejects AS SELECT * FROM staging.track_rejects ORDER BY source_file, source_line');
    await w.run('COMMIT');
  } catch (err) {
    await w.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const [c] = await w.all<{ tracks: number; rejects: number }>(
    'SELECT (SELECT count(*) FROM raw.tracks) AS tracks, (SELECT count(*) FROM raw.track_rejects) AS rejects',
  );
  const spotify = w instanceof DuckDbSession ? await loadSpotifyRawSql(w) : undefined;
  const report = { tracks: Number(c?.tracks ?? 0), rejects: Number(c?.rejects ?? 0), ...(spotify ? { spotify } : {}), ms: Date.now() - started };
  log.info(report, 'loaded staging into warehouse raw schema');
  return report;
}
