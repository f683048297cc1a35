/**
 * The staging write side: where ingested CSV rows land before the warehouse load and dbt.
 *
 * Contract (dbt models read exactly these columns; do not rename):
 * - `staging.tracks`: one row per valid CSV data row, keyed by `row_key`
 *   (track_id|genre|subgenre|playlist_id, '' for nulls), upserted by `row_hash`.
 * - `staging.track_rejects`: one row per rejected CSV record, keyed by (source_file, source_line).
 *
 * A load is begin → append (in batches) → commit. Nothing is visible in staging until commit, which
 * applies the whole file in one transaction; abort (or a killed process) leaves staging as it was.
 * Per source file, a committed load leaves staging equal to the file: track rows staged from that file
 * whose key the new version no longer has are deleted in the same transaction (rows that only moved to
 * another file keep theirs). A load that would delete more than half of a file's staged rows is refused
 * before anything is written, unless the source says `allowShrink` (see `checkShrink`).
 * DuckDB is implemented here; a PostgreSQL adapter (postgres-staging.ts: binary COPY into a temp table
 * and an upsert with the same outcome, or straight into an empty staging.tracks) implements the same
 * `StagingStore` interface.
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import type { CsvSchemaName } from '../pipeline/csv-schemas.js';
import { STAGED_FEATURES, type StagedFeature } from '../features.js';
import { MusicError, StagingShrinkError, WarehouseError } from '../errors.js';
import { appendValue, type DuckDbSession } from './duckdb.js';

type ColumnType = 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN';

/**
 * One `staging.tracks` row as the ingest produces it (`loaded_at` is set by the store at commit). The
 * feature block (the audio features between `explicit` and `time_signature`) is the feature registry's
 * staged features (src/features.ts), in its order.
 */
export type StagedTrack = {
  row_key: string;
  source_schema: CsvSchemaName;
  source_file: string;
  source_line: number;
  track_id: string;
  track_name: string | null;
  artist_names: string | null;
  /** artist_names split into artists at ingest (src/pipeline/credits.ts), joined by U+001F; what dbt splits. */
  artist_credits: string | null;
  album_id: string | null;
  album_name: string | null;
  album_release_date: string | null;
  playlist_id: string | null;
  playlist_name: string | null;
  genre: string;
  subgenre: string | null;
  popularity: number | null;
  duration_ms: number | null;
  explicit: boolean | null;
  time_signature: number | null;
  row_hash: string;
} & { [F in StagedFeature]: number | null };

/** One `staging.track_rejects` row (`rejected_at` is set by the store at commit). */
export type StagedReject = {
  source_schema: CsvSchemaName;
  source_file: string;
  source_line: number;
  reason: string;
  /** The record's cells as a JSON array. */
  raw: string;
};

interface ColumnSpec<R> {
  readonly name: keyof R & string;
  readonly type: ColumnType;
  readonly notNull?: boolean;
}

/** `staging.tracks` columns in table order, without `loaded_at` (the DDL adds it last). */
export const TRACK_COLUMNS: readonly ColumnSpec<StagedTrack>[] = [
  { name: 'row_key', type: 'VARCHAR', notNull: true },
  { name: 'source_schema', type: 'VARCHAR', notNull: true },
  { name: 'source_file', type: 'VARCHAR', notNull: true },
  { name: 'source_line', type: 'INTEGER', notNull: true },
  { name: 'track_id', type: 'VARCHAR', notNull: true },
  { name: 'track_name', type: 'VARCHAR' },
  { name: 'artist_names', type: 'VARCHAR' },
  { name: 'artist_credits', type: 'VARCHAR' },
  { name: 'album_id', type: 'VARCHAR' },
  { name: 'album_name', type: 'VARCHAR' },
  { name: 'album_release_date', type: 'VARCHAR' },
  { name: 'playlist_id', type: 'VARCHAR' },
  { name: 'playlist_name', type: 'VARCHAR' },
  { name: 'genre', type: 'VARCHAR', notNull: true },
  { name: 'subgenre', type: 'VARCHAR' },
  { name: 'popularity', type: 'INTEGER' },
  { name: 'duration_ms', type: 'INTEGER' },
  { name: 'explicit', type: 'BOOLEAN' },
  ...STAGED_FEATURES.map((f): ColumnSpec<StagedTrack> => ({ name: f.name as StagedFeature, type: f.integer ? 'INTEGER' : 'DOUBLE' })),
  { name: 'time_signature', type: 'INTEGER' },
  { name: 'row_hash', type: 'VARCHAR', notNull: true },
];

/** `staging.track_rejects` columns in table order, without `rejected_at`. */
export const REJECT_COLUMNS: readonly ColumnSpec<StagedReject>[] = [
  { name: 'source_schema', type: 'VARCHAR', notNull: true },
  { name: 'source_file', type: 'VARCHAR', notNull: true },
  { name: 'source_line', type: 'INTEGER', notNull: true },
  { name: 'reason', type: 'VARCHAR', notNull: true },
  { name: 'raw', type: 'VARCHAR', notNull: true },
];

const q = (name: string): string => `"${name}"`;
type TypeName = (type: ColumnType | 'TIMESTAMP') => string;

const colDefs = <R>(cols: readonly ColumnSpec<R>[], typeName: TypeName): string =>
  cols.map((c) => `${q(c.name)} ${typeName(c.type)}${c.notNull ? ' NOT NULL' : ''}`).join(',\n  ');

/** The staging DDL, with column types named for one SQL dialect (DuckDB's names by default). */
export function stagingDdl(typeName: TypeName = (t) => t): string {
  return `
CREATE SCHEMA IF NOT EXISTS staging;
CREATE TABLE IF NOT EXISTS staging.tracks (
  ${colDefs(TRACK_COLUMNS, typeName)},
  loaded_at ${typeName('TIMESTAMP')} NOT NULL,
  PRIMARY KEY (row_key)
);
CREATE TABLE IF NOT EXISTS staging.track_rejects (
  ${colDefs(REJECT_COLUMNS, typeName)},
  rejected_at ${typeName('TIMESTAMP')} NOT NULL,
  PRIMARY KEY (source_file, source_line)
);
${stagingUpgradeDdl(typeName)}
`;
}

/**
 * Columns that may be added after a staging table was made: artist_credits, and every column of the
 * feature block (so a feature added to the registry reaches existing tables). Every write names its
 * columns, so their place at the end does not matter. Rows staged before carry NULL until the next
 * ingest of their file rewrites them (their row_hash differs); the models read NULL artist_credits as
 * artist_names split on ';', as before.
 */
export const ADDABLE_TRACK_COLUMNS: readonly string[] = ['artist_credits', ...STAGED_FEATURES.map((f) => f.name)];

export function stagingUpgradeDdl(typeName: TypeName = (t) => t): string {
  const added = TRACK_COLUMNS.filter((c) => ADDABLE_TRACK_COLUMNS.includes(c.name));
  return added.map((c) => `ALTER TABLE staging.tracks ADD COLUMN IF NOT EXISTS ${q(c.name)} ${typeName(c.type)};`).join('\n');
}

/** The staging DDL in DuckDB's dialect. */
export const STAGING_DDL = stagingDdl();

/** Where a load comes from; one load = one file. */
export interface StageSource {
  readonly schema: CsvSchemaName;
  /** File basename (the `source_file` value). */
  readonly file: string;
  /** The `loaded_at` / `rejected_at` stamped on rows this load inserts or changes. */
  readonly loadedAt: Date;
  /** Accept a load that deletes more than half of the rows staged from this file (default: refuse). */
  readonly allowShrink?: boolean;
}

export interface StageResult {
  /** Track rows new to staging. */
  inserted: number;
  /** Track rows whose row_hash changed (rewritten with a new loaded_at). */
  updated: number;
  /** Track rows already staged with the same row_hash (values and loaded_at kept). */
  unchanged: number;
  /** Track rows staged from this file by earlier loads that the file no longer has (deleted). */
  deleted: number;
  /** Rejects now recorded for this file. */
  rejects: number;
  /** Rejects of this file from earlier loads whose line is no longer rejected (removed). */
  staleRejectsRemoved: number;
}

/** One in-flight load. Row keys must be unique within a load (the ingest rejects duplicates). */
export interface StagingLoad {
  appendTracks(rows: readonly StagedTrack[]): Promise<void>;
  appendRejects(rows: readonly StagedReject[]): Promise<void>;
  /** Apply everything appended in one transaction. */
  commit(): Promise<StageResult>;
  /** Discard everything appended; staging is untouched. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

export interface StagingStore {
  /** Create the staging schema and tables if absent (idempotent). */
  ensureSchema(): Promise<void>;
  beginLoad(source: StageSource): Promise<StagingLoad>;
}

/**
 * The shrink guard both stores apply before writing: a load may delete at most half of the track rows
 * staged from its file, so a truncated or partial download cannot empty the catalog. Throws
 * `StagingShrinkError` (one line: the counts and how to accept them) unless `source.allowShrink`.
 */
export function checkShrink(source: StageSource, staged: number, deleted: number): void {
  if (source.allowShrink || deleted * 2 <= staged) return;
  const n = (v: number) => v.toLocaleString('en-US');
  throw new StagingShrinkError(
    `refusing to load ${JSON.stringify(source.file)}: it would delete ${n(deleted)} of the ${n(staged)} rows staged from it ` +
      `(more than half; ${n(staged - deleted)} would remain); if the smaller file is intended, rerun with --allow-shrink ` +
      '(or MUSIC_ALLOW_SHRINK=1, Airflow Variable music_allow_shrink=1); staging and the published snapshot are unchanged',
    source.file,
    staged,
    deleted,
  );
}

let loadCounter = 0;

/** DuckDB staging: appender into connection-local temp tables, then one upsert transaction. */
export class DuckDbStagingStore implements StagingStore {
  constructor(private readonly session: DuckDbSession) {}

  async ensureSchema(): Promise<void> {
    const [db] = await this.session.all<{ name: string }>('SELECT current_database() AS name');
    if (db?.name === 'staging') {
      // DuckDB names the catalog after the file: `staging.tracks` would be ambiguous.
      throw new WarehouseError(
        `the DuckDB file ${this.session.path} is named like the staging schema; rename it (e.g. music.duckdb)`,
      );
    }
    await this.session.run(STAGING_DDL);
  }

  async beginLoad(source: StageSource): Promise<StagingLoad> {
    const id = `${process.pid}_${++loadCounter}`;
    const tracksTmp = `ingest_tracks_${id}`;
    const rejectsTmp = `ingest_rejects_${id}`;
    await this.session.run(
      `CREATE TEMP TABLE ${tracksTmp} (\n  ${TRACK_COLUMNS.map((c) => `${q(c.name)} ${c.type}`).join(', ')}\n);\n` +
        `CREATE TEMP TABLE ${rejectsTmp} (\n  ${REJECT_COLUMNS.map((c) => `${q(c.name)} ${c.type}`).join(', ')}\n);`,
    );
    const connection = this.session.connection;
    let tracksAppender: DuckDBAppender;
    let rejectsAppender: DuckDBAppender;
    try {
      tracksAppender = await connection.createAppender(tracksTmp, 'main', 'temp');
      rejectsAppender = await connection.createAppender(rejectsTmp, 'main', 'temp');
    } catch (cause) {
      await this.session.run(`DROP TABLE IF EXISTS temp.${tracksTmp}; DROP TABLE IF EXISTS temp.${rejectsTmp};`);
      throw new WarehouseError(`cannot open a DuckDB appender for staging: ${(cause as Error).message}`, { cause });
    }
    return new DuckDbStagingLoad(this.session, source, tracksTmp, rejectsTmp, tracksAppender, rejectsAppender);
  }
}

class DuckDbStagingLoad implements StagingLoad {
  private closed = false;

  constructor(
    private readonly session: DuckDbSession,
    private readonly source: StageSource,
    private readonly tracksTmp: string,
    private readonly rejectsTmp: string,
    private readonly tracksAppender: DuckDBAppender,
    private readonly rejectsAppender: DuckDBAppender,
  ) {}

  async appendTracks(rows: readonly StagedTrack[]): Promise<void> {
    this.append(this.tracksAppender, TRACK_COLUMNS, rows, 'tracks');
  }

  async appendRejects(rows: readonly StagedReject[]): Promise<void> {
    this.append(this.rejectsAppender, REJECT_COLUMNS, rows, 'rejects');
  }

  private append<R>(appender: DuckDBAppender, cols: readonly ColumnSpec<R>[], rows: readonly R[], what: string): void {
    if (this.closed) throw new WarehouseError(`staging load for ${this.source.file} is already finished`);
    try {
      for (const row of rows) {
        for (const c of cols) appendValue(appender, c.type, row[c.name]);
        appender.endRow();
      }
      appender.flushSync();
    } catch (cause) {
      throw new WarehouseError(
        `appending ${what} of ${this.source.file} to DuckDB staging failed: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  private closeAppenders(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of [this.tracksAppender, this.rejectsAppender]) {
      try {
        a.closeSync();
      } catch {
        // closing an appender whose flush already failed throws again; the temp table is dropped anyway
      }
    }
  }

  private async dropTemp(): Promise<void> {
    await this.session.run(`DROP TABLE IF EXISTS temp.${this.tracksTmp}; DROP TABLE IF EXISTS temp.${this.rejectsTmp};`);
  }

  async commit(): Promise<StageResult> {
    this.closeAppenders();
    // Values are bound ($1), never spliced into the SQL: the file name is data.
    const { loadedAt, file } = this.source;
    const names = TRACK_COLUMNS.map((c) => q(c.name));
    const dataCols = TRACK_COLUMNS.filter((c) => c.name !== 'row_key');
    const tracksUpsert = `
INSERT INTO staging.tracks (${names.join(', ')}, loaded_at)
SELECT ${names.join(', ')}, $1 FROM temp.${this.tracksTmp}
ON CONFLICT (row_key) DO UPDATE SET
  ${dataCols.map((c) => `${q(c.name)} = excluded.${q(c.name)}`).join(',\n  ')},
  loaded_at = CASE WHEN row_hash IS DISTINCT FROM excluded.row_hash THEN excluded.loaded_at ELSE loaded_at END
WHERE row_hash IS DISTINCT FROM excluded.row_hash
   OR source_file IS DISTINCT FROM excluded.source_file
   OR source_line IS DISTINCT FROM excluded.source_line`;
    const rejectNames = REJECT_COLUMNS.map((c) => q(c.name));
    const rejectsUpsert = `
INSERT INTO staging.track_rejects (${rejectNames.join(', ')}, rejected_at)
SELECT ${rejectNames.join(', ')}, $1 FROM temp.${this.rejectsTmp}
ON CONFLICT (source_file, source_line) DO UPDATE SET
  source_schema = excluded.source_schema, reason = excluded.reason, raw = excluded.raw,
  rejected_at = excluded.rejected_at
WHERE reason IS DISTINCT FROM excluded.reason OR raw IS DISTINCT FROM excluded.raw
   OR source_schema IS DISTINCT FROM excluded.source_schema`;
    const staleRejects = `
DELETE FROM staging.track_rejects
WHERE source_file = $1
  AND source_line NOT IN (SELECT source_line FROM temp.${this.rejectsTmp})`;
    const goneTracks = `
DELETE FROM staging.tracks t
WHERE t.source_file = $1
  AND NOT EXISTS (SELECT 1 FROM temp.${this.tracksTmp} n WHERE n.row_key = t.row_key)`;

    try {
      await this.session.run('BEGIN TRANSACTION');
      try {
        const [counts] = await this.session.all<{ inserted: number; updated: number; unchanged: number; rejects: number }>(`
SELECT count(*) FILTER (WHERE t.row_key IS NULL) AS inserted,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash <> n.row_hash) AS updated,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash = n.row_hash) AS unchanged,
       (SELECT count(*) FROM temp.${this.rejectsTmp}) AS rejects
FROM temp.${this.tracksTmp} n LEFT JOIN staging.tracks t ON t.row_key = n.row_key`);
        const countOf = async (del: string): Promise<number> => {
          const [row] = await this.session.all<{ n: number }>(`SELECT count(*) AS n FROM (${del.replace('DELETE FROM', 'SELECT 1 FROM')})`, [file]);
          return Number(row?.n ?? 0);
        };
        const [fileRows] = await this.session.all<{ n: number }>('SELECT count(*) AS n FROM staging.tracks WHERE source_file = $1', [file]);
        const deleted = await countOf(goneTracks);
        checkShrink(this.source, Number(fileRows?.n ?? 0), deleted);
        const stale = await countOf(staleRejects);
        if (deleted > 0) await this.session.run(goneTracks, [file]);
        await this.session.run(tracksUpsert, [loadedAt]);
        await this.session.run(staleRejects, [file]);
        await this.session.run(rejectsUpsert, [loadedAt]);
        await this.session.run('COMMIT');
        return {
          inserted: counts?.inserted ?? 0,
          updated: counts?.updated ?? 0,
          unchanged: counts?.unchanged ?? 0,
          deleted,
          rejects: counts?.rejects ?? 0,
          staleRejectsRemoved: stale,
        };
      } catch (cause) {
        await this.session.run('ROLLBACK').catch(() => undefined);
        throw cause instanceof MusicError
          ? cause
          : new WarehouseError(`staging commit of ${this.source.file} failed: ${(cause as Error).message}`, { cause });
      }
    } finally {
      await this.dropTemp().catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    this.closeAppenders();
    await this.dropTemp();
  }
}
