/**
 * PostgreSQL staging (`STAGING_URL`): the `StagingStore` contract of src/warehouse/staging.ts on a
 * PostgreSQL server, plus the `StagingReader` the load step uses to move staged rows into the warehouse.
 *
 * A load is one transaction on one connection: BEGIN → temp tables (ON COMMIT DROP) → rows arrive by
 * `COPY … FROM STDIN (FORMAT binary)` (one COPY stays open while the CSV streams, so parsing and the
 * server's work overlap) → upsert → COMMIT. Until COMMIT nothing in `staging.*` changes, so a killed
 * process (the server rolls back on disconnect) leaves the previous state, and a rerun finishes with
 * exact counts. Loads serialise on a table lock taken just before the upsert, so the counts are exact
 * under concurrency too.
 *
 * When staging.tracks is empty (the first load), the lock is taken at the start instead and track rows
 * are copied straight into it: there is nothing to compare with, so the temp table and the upsert
 * would only cost time. Otherwise the upsert inserts new keys, rewrites the rows whose hash or place
 * changed and leaves the rest alone: a rerun of an unchanged file reads but writes nothing. Rows staged
 * from the same file that the new version no longer has are deleted in the same transaction, after the
 * shrink guard (`checkShrink`) has passed.
 */
import { once } from 'node:events';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { redactUrl } from '../config.js';
import { MusicError, StagingShrinkError, WarehouseError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import {
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  encodeCopyBinary,
  encodeTrackRows,
  fromCopyText,
  PG_TYPES,
} from './pg-copy.js';
import type { RawTableSpec, RawValue, StagingReader } from './raw-load.js';
import {
  ADDABLE_TRACK_COLUMNS,
  checkShrink,
  REJECT_COLUMNS,
  stagingDdl,
  TRACK_COLUMNS,
  type StagedReject,
  type StagedTrack,
  type StageResult,
  type StageSource,
  type StagingLoad,
  type StagingStore,
} from './staging.js';
import { quoteIdent } from './port.js';

type CopyIn = ReturnType<typeof copyStreams.from>;



interface Col<R> {
  readonly name: keyof R & string;
  readonly type: keyof typeof PG_TYPES;
  readonly notNull?: boolean;
}

const colDefs = <R>(cols: readonly Col<R>[], constraints = true): string =>
  cols.map((c) => `${quoteIdent(c.name)} ${PG_TYPES[c.type]}${constraints && c.notNull ? ' NOT NULL' : ''}`).join(',\n  ');

/** The same tables and keys as the DuckDB staging DDL, in PostgreSQL types. */
const PG_STAGING_DDL = stagingDdl((t) => PG_TYPES[t]);

/** Advisory lock key that serialises schema creation (CREATE … IF NOT EXISTS races otherwise). */
const DDL_LOCK = 0x6d757369; // 'musi'

const TRACKS_TMP = 'music_ingest_tracks';
const REJECTS_TMP = 'music_ingest_rejects';
/** Rejects are held back while the tracks COPY is open; past this many they are flushed in a COPY of their own. */
const REJECT_BUFFER_ROWS = 5_000;
/**
 * COPY bytes that may wait in memory for the server before the parser pauses. Far above the stream's
 * 16 KiB mark: pausing the parser whenever the socket is momentarily full serialises parse and server.
 */
const COPY_BUFFER_BYTES = 8 * 1024 * 1024;

/** Rows per batch handed to the warehouse writer when reading staging out. */
const READ_BATCH_ROWS = 10_000;

function pgError(what: string, cause: unknown): MusicError {
  if (cause instanceof MusicError) return cause;
  const e = cause as { message?: string; code?: string; detail?: string };
  const detail = e.detail ? ` (${e.detail})` : '';
  return new WarehouseError(`PostgreSQL staging: ${what} failed: ${e.message ?? String(cause)}${detail}`, { cause });
}

/** PostgreSQL staging store; also reads staged rows back out for the warehouse load. Call `close()` when done. */
export class PostgresStagingStore implements StagingStore, StagingReader {
  readonly label: string;
  private readonly pool: pg.Pool;
  private readonly log: Logger;
  private readonly knownRowsMax: number;

  /** `knownRowsMax`: above this many staged rows a load compares in SQL only (0: always; default KNOWN_ROWS_MAX). */
  constructor(url: string, opts: { log?: Logger; applicationName?: string; knownRowsMax?: number } = {}) {
    this.label = `PostgreSQL ${redactUrl(url)}`;
    this.log = opts.log ?? silentLogger;
    this.knownRowsMax = opts.knownRowsMax ?? KNOWN_ROWS_MAX;
    this.pool = new pg.Pool({ connectionString: url, max: 4, application_name: opts.applicationName ?? 'music-mcp-server' });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'PostgreSQL staging: idle connection lost'));
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (cause) {
      throw new WarehouseError(
        `cannot connect to ${this.label}: ${(cause as Error).message}` +
          ' (check STAGING_URL and that the server accepts connections)',
        { cause },
      );
    }
  }

  async ensureSchema(): Promise<void> {
    const client = await this.connect();
    try {
      // The usual case (every load after the first) costs one round trip instead of a DDL transaction.
      const { rows } = await client.query<{ ready: boolean }>(
        "SELECT to_regclass('staging.tracks') IS NOT NULL AND to_regclass('staging.track_rejects') IS NOT NULL " +
          "AND (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'staging' AND table_name = 'tracks' AND column_name::text = ANY($1::text[])) = $2::int AS ready",
        [ADDABLE_TRACK_COLUMNS, ADDABLE_TRACK_COLUMNS.length],
      );
      if (rows[0]?.ready === true) return;
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${DDL_LOCK})`);
      await client.query(PG_STAGING_DDL);
      await client.query('COMMIT');
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw pgError('creating the staging schema', cause);
    } finally {
      client.release();
    }
  }

  async beginLoad(source: StageSource): Promise<StagingLoad> {
    const client = await this.connect();
    let direct = false;
    try {
      await client.query('BEGIN');
      await client.query(`CREATE TEMP TABLE ${REJECTS_TMP} (\n  ${colDefs(REJECT_COLUMNS, false)}\n) ON COMMIT DROP`);
      // Into an empty staging.tracks there is nothing to compare against: COPY straight into it, holding
      // the table lock from here to COMMIT so no other load can add rows meanwhile. Otherwise COPY into a
      // temp table and take the lock only for the upsert, so concurrent loads overlap until then.
      if (await stagingIsEmpty(client)) {
        await client.query(LOCK_STAGING);
        direct = await stagingIsEmpty(client);
      }
      let known: KnownRows | null = null;
      if (!direct) {
        await client.query(`CREATE TEMP TABLE ${TRACKS_TMP} (\n  ${colDefs(TRACK_COLUMNS, false)}\n) ON COMMIT DROP`);
        known = await knownRows(client, source.file, this.knownRowsMax);
      }
      this.log.debug({ file: source.file, direct, known: known?.identities.size ?? null }, 'PostgreSQL staging: load started');
      return new PostgresStagingLoad(client, source, direct, known);
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw pgError(`starting the load of ${source.file}`, cause);
    }
  }

  async *readRows(table: RawTableSpec): AsyncIterable<readonly (readonly RawValue[])[]> {
    const select = table.columns
      .map((c) => (c.type === 'TIMESTAMP' ? `round(extract(epoch FROM ${quoteIdent(c.name)}) * 1000)::bigint` : quoteIdent(c.name)))
      .join(', ');
    // Byte order ("C"), as DuckDB sorts, so both paths write raw rows in the same order.
    const order = table.orderBy.map((c) => `${quoteIdent(c)}${table.columns.find((x) => x.name === c)?.type === 'VARCHAR' ? ' COLLATE "C"' : ''}`);
    const sql = `COPY (SELECT ${select} FROM staging.${quoteIdent(table.name)} ORDER BY ${order.join(', ')}) TO STDOUT`;
    const types = table.columns.map((c) => c.type);
    const client = await this.connect();
    let broken = false;
    try {
      const stream = client.query(copyStreams.to(sql));
      let pending = Buffer.alloc(0);
      let batch: RawValue[][] = [];
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
          const cells = buf.toString('utf8', start, nl).split('\t');
          start = nl + 1;
          if (cells.length !== types.length) {
            throw new WarehouseError(`reading staging.${table.name}: a row has ${cells.length} columns, expected ${types.length}`);
          }
          batch.push(cells.map((cell, i) => fromCopyText(cell, types[i]!)));
        }
        pending = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
        buf = pending;
        if (batch.length >= READ_BATCH_ROWS) {
          yield batch;
          batch = [];
        }
      }
      if (pending.length) throw new WarehouseError(`reading staging.${table.name}: the COPY output ended mid-row`);
      if (batch.length) yield batch;
    } catch (cause) {
      broken = true;
      throw pgError(`reading staging.${table.name}`, cause);
    } finally {
      // A COPY abandoned midway leaves the connection unusable: destroy it rather than return it to the pool.
      client.release(broken ? true : undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Taken before anything is written to staging.*: loads serialise here, readers are not blocked. */
const LOCK_STAGING = 'LOCK TABLE staging.tracks, staging.track_rejects IN SHARE ROW EXCLUSIVE MODE';

/** Above this many staged rows (planner estimate) a load compares in SQL only, not in memory. */
const KNOWN_ROWS_MAX = 2_000_000;

/** What identifies an unchanged row: its hash and where it was read. */
const identity = (hash: string, file: string, line: number): string => `${hash}\n${line}\n${file}`;

/** What staging holds, read once per load (see knownRows). */
interface KnownRows {
  /** row_key → identity of every staged track. */
  readonly identities: Map<string, string>;
  /** Keys staged from the load's own file: the load removes each key it brings; what is left is deleted at commit. */
  readonly fileKeys: Set<string>;
}

/**
 * row_key → identity of every staged track, read under the load's table lock (taken here and held to
 * COMMIT, so nothing changes underneath): rows the file brings unchanged are then counted and never
 * sent, and a rerun of an unchanged file copies nothing. Null when staging is too large to hold.
 */
async function knownRows(client: pg.PoolClient, file: string, max: number): Promise<KnownRows | null> {
  if (max <= 0) return null;
  const { rows: est } = await client.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'staging.tracks'::regclass");
  if (Number(est[0]?.n ?? 0) > max) return null;
  await client.query(LOCK_STAGING);
  const { rows } = await client.query<[string, string, string, number]>({
    text: 'SELECT row_key, row_hash, source_file, source_line FROM staging.tracks',
    rowMode: 'array',
  });
  const identities = new Map<string, string>();
  const fileKeys = new Set<string>();
  for (const [key, hash, source, line] of rows) {
    identities.set(key, identity(hash, source, Number(line)));
    if (source === file) fileKeys.add(key);
  }
  return { identities, fileKeys };
}

async function stagingIsEmpty(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ empty: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM staging.tracks) AS empty');
  return rows[0]?.empty === true;
}

class PostgresStagingLoad implements StagingLoad {
  private copy: CopyIn | null = null;
  private copyDone: Promise<void> | null = null;
  private copyError: Error | null = null;
  private heldRejects: StagedReject[] = [];
  private finished = false;
  private tracksCopied = 0;
  private rejectsCopied = 0;
  /** Rows identical to what staging holds (hash, file and line): counted, not copied. */
  private skippedUnchanged = 0;
  /** Where track rows go: staging.tracks itself (direct) or the temp table. */
  private readonly tracksTarget: string;
  private readonly tracksColumns: string;

  /**
   * @param direct staging.tracks was empty and is locked for this transaction: rows are copied into it
   *   with their loaded_at, and commit() has no upsert to do.
   */
  constructor(
    private readonly client: pg.PoolClient,
    private readonly source: StageSource,
    private readonly direct: boolean,
    /** What staging holds (locked until COMMIT), or null to compare everything in SQL. */
    private readonly known: KnownRows | null = null,
  ) {
    this.tracksTarget = direct ? 'staging.tracks' : TRACKS_TMP;
    this.tracksColumns = TRACK_COLUMNS.map((c) => quoteIdent(c.name)).join(', ') + (direct ? ', loaded_at' : '');
  }

  private assertOpen(): void {
    if (this.finished) throw new WarehouseError(`staging load for ${this.source.file} is already finished`);
  }

  /** Start `COPY <table> FROM STDIN (FORMAT binary)` on this load's connection and send the header. */
  private openCopy(table: string, columns: string): CopyIn {
    const stream = this.client.query(copyStreams.from(`COPY ${table} (${columns}) FROM STDIN (FORMAT binary)`));
    this.copyError = null;
    this.copyDone = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', (err: Error) => {
        this.copyError = err;
        reject(err);
      });
    });
    this.copyDone.catch(() => undefined);
    stream.write(COPY_BINARY_HEADER);
    return stream;
  }

  private async write(stream: CopyIn, chunk: Buffer): Promise<void> {
    if (this.copyError) throw this.copyError;
    if (chunk.length === 0) return;
    stream.write(chunk);
    if (stream.writableLength > COPY_BUFFER_BYTES) await Promise.race([once(stream, 'drain'), this.copyDone]);
    if (this.copyError) throw this.copyError;
  }

  private async endCopy(): Promise<void> {
    const stream = this.copy;
    if (!stream) return;
    this.copy = null;
    stream.end(COPY_BINARY_TRAILER);
    await this.copyDone;
  }

  async appendTracks(rows: readonly StagedTrack[]): Promise<void> {
    this.assertOpen();
    const known = this.known;
    if (known) {
      const { identities, fileKeys } = known;
      if (fileKeys.size > 0) for (const r of rows) fileKeys.delete(r.row_key);
      const before = rows.length;
      rows = rows.filter((r) => identities.get(r.row_key) !== identity(r.row_hash, r.source_file, r.source_line));
      this.skippedUnchanged += before - rows.length;
    }
    if (rows.length === 0) return;
    try {
      const chunk = encodeTrackRows(rows, this.direct ? this.source.loadedAt : undefined);
      this.copy ??= this.openCopy(this.tracksTarget, this.tracksColumns);
      await this.write(this.copy, chunk);
      this.tracksCopied += rows.length;
    } catch (cause) {
      throw pgError(`copying tracks of ${this.source.file}`, cause);
    }
  }

  async appendRejects(rows: readonly StagedReject[]): Promise<void> {
    this.assertOpen();
    this.heldRejects.push(...rows);
    if (this.heldRejects.length >= REJECT_BUFFER_ROWS) await this.flushRejects();
  }

  /** Rejects get a COPY of their own (one COPY at a time per connection): close the tracks COPY first. */
  private async flushRejects(): Promise<void> {
    if (this.heldRejects.length === 0) return;
    try {
      await this.endCopy();
      const chunk = encodeCopyBinary(this.heldRejects, REJECT_COLUMNS);
      const stream = this.openCopy(REJECTS_TMP, REJECT_COLUMNS.map((c) => quoteIdent(c.name)).join(', '));
      this.copy = stream;
      await this.write(stream, chunk);
      await this.endCopy();
      this.rejectsCopied += this.heldRejects.length;
      this.heldRejects = [];
    } catch (cause) {
      throw pgError(`copying rejects of ${this.source.file}`, cause);
    }
  }

  async commit(): Promise<StageResult> {
    this.assertOpen();
    try {
      await this.endCopy();
      await this.flushRejects();
    } catch (cause) {
      await this.abort();
      throw pgError(`copying ${this.source.file}`, cause);
    }
    this.finished = true;
    const c = this.client;
    const loadedAt = this.source.loadedAt.toISOString().replace('T', ' ').replace('Z', '');
    const rejectNames = REJECT_COLUMNS.map((col) => quoteIdent(col.name));
    let failed = false;
    try {
      let counts: { inserted: number; updated: number; unchanged: number };
      let deleted = 0;
      if (this.direct) {
        // Every row went straight into the (empty, locked) table.
        counts = { inserted: this.tracksCopied, updated: 0, unchanged: 0 };
      } else {
        // Serialise loads (readers are not blocked): the counts below are then exactly what the writes do.
        await c.query(LOCK_STAGING);
        deleted = await this.deleteGoneTracks();
        counts = await this.upsertTracks(loadedAt);
        counts.unchanged += this.skippedUnchanged;
      }
      const stale = await c.query(
        `
DELETE FROM staging.track_rejects r
WHERE r.source_file = $1
  AND NOT EXISTS (SELECT 1 FROM ${REJECTS_TMP} n WHERE n.source_line = r.source_line)`,
        [this.source.file],
      );
      if (this.rejectsCopied > 0) {
        await c.query(
          `
INSERT INTO staging.track_rejects AS r (${rejectNames.join(', ')}, rejected_at)
SELECT ${rejectNames.join(', ')}, $1::timestamp FROM ${REJECTS_TMP}
ON CONFLICT (source_file, source_line) DO UPDATE SET
  source_schema = excluded.source_schema, reason = excluded.reason, raw = excluded.raw,
  rejected_at = excluded.rejected_at
WHERE r.reason IS DISTINCT FROM excluded.reason OR r.raw IS DISTINCT FROM excluded.raw
   OR r.source_schema IS DISTINCT FROM excluded.source_schema`,
          [loadedAt],
        );
      }
      await c.query('COMMIT');
      return { ...counts, deleted, rejects: this.rejectsCopied, staleRejectsRemoved: stale.rowCount ?? 0 };
    } catch (cause) {
      // A refused shrink is a clean rollback: the connection goes back to the pool.
      failed = !(cause instanceof StagingShrinkError);
      await c.query('ROLLBACK').catch(() => {
        failed = true;
      });
      throw pgError(`staging commit of ${this.source.file}`, cause);
    } finally {
      c.release(failed ? true : undefined);
    }
  }

  /**
   * Under the table lock, before the upsert: apply the shrink guard, then delete the rows staged from
   * this file whose key the file no longer has. With `known` the keys left in `fileKeys` are those rows
   * (only changed rows reached the temp table); otherwise every row did, and SQL finds them.
   */
  private async deleteGoneTracks(): Promise<number> {
    const c = this.client;
    const file = this.source.file;
    if (this.known) {
      const [row] = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM staging.tracks WHERE source_file = $1', [file])).rows;
      const gone = [...this.known.fileKeys];
      checkShrink(this.source, row?.n ?? 0, gone.length);
      if (gone.length === 0) return 0;
      const res = await c.query('DELETE FROM staging.tracks WHERE source_file = $1 AND row_key = ANY($2::text[])', [file, gone]);
      return res.rowCount ?? 0;
    }
    const notInFile = `FROM staging.tracks t WHERE t.source_file = $1 AND NOT EXISTS (SELECT 1 FROM ${TRACKS_TMP} n WHERE n.row_key = t.row_key)`;
    const [row] = (
      await c.query<{ staged: number; gone: number }>(
        `SELECT (SELECT count(*)::int FROM staging.tracks WHERE source_file = $1) AS staged, (SELECT count(*)::int ${notInFile}) AS gone`,
        [file],
      )
    ).rows;
    checkShrink(this.source, row?.staged ?? 0, row?.gone ?? 0);
    if (!row?.gone) return 0;
    const res = await c.query(`DELETE ${notInFile}`, [file]);
    return res.rowCount ?? 0;
  }

  /**
   * Temp table → staging.tracks under the table lock: new keys are inserted; rows whose hash or place
   * (file, line) changed are rewritten, with a new loaded_at only when the hash changed; the rest is not
   * touched (no row locks, no writes: a rerun of an unchanged file only reads).
   */
  private async upsertTracks(loadedAt: string): Promise<{ inserted: number; updated: number; unchanged: number }> {
    const c = this.client;
    const names = TRACK_COLUMNS.map((col) => quoteIdent(col.name));
    const dataCols = TRACK_COLUMNS.filter((col) => col.name !== 'row_key');
    const moved = 't.row_hash <> n.row_hash OR t.source_file <> n.source_file OR t.source_line <> n.source_line';
    const { rows } = await c.query<{ inserted: string; updated: string; unchanged: string; rewrite: string }>(`
SELECT count(*) FILTER (WHERE t.row_key IS NULL) AS inserted,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash <> n.row_hash) AS updated,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash = n.row_hash) AS unchanged,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND (${moved})) AS rewrite
FROM ${TRACKS_TMP} n LEFT JOIN staging.tracks t ON t.row_key = n.row_key`);
    const row = rows[0];
    const counts = {
      inserted: Number(row?.inserted ?? 0),
      updated: Number(row?.updated ?? 0),
      unchanged: Number(row?.unchanged ?? 0),
    };
    if (Number(row?.rewrite ?? 0) > 0) {
      await c.query(
        `
UPDATE staging.tracks t SET
  ${dataCols.map((col) => `${quoteIdent(col.name)} = n.${quoteIdent(col.name)}`).join(',\n  ')},
  loaded_at = CASE WHEN t.row_hash <> n.row_hash THEN $1::timestamp ELSE t.loaded_at END
FROM ${TRACKS_TMP} n
WHERE t.row_key = n.row_key AND (${moved})`,
        [loadedAt],
      );
    }
    if (counts.inserted > 0) {
      await c.query(
        `
INSERT INTO staging.tracks (${names.join(', ')}, loaded_at)
SELECT ${names.map((n) => `n.${n}`).join(', ')}, $1::timestamp FROM ${TRACKS_TMP} n
WHERE NOT EXISTS (SELECT 1 FROM staging.tracks t WHERE t.row_key = n.row_key)`,
        [loadedAt],
      );
    }
    return counts;
  }

  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const stream = this.copy;
    this.copy = null;
    if (stream && !this.copyError) {
      // destroy() sends CopyFail; the server answers with an error that ends the COPY.
      stream.destroy(new Error('load aborted'));
      await this.copyDone?.catch(() => undefined);
    }
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch {
      this.client.release(true);
    }
  }
}
