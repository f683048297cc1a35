/**
 * PostgreSQL staging (`STAGING_URL`): the `StagingStore` contract of src/warehouse/staging.ts on a
 * PostgreSQL server, plus the `StagingReader` the load step uses to move staged rows into the warehouse.
 *
 * A load is one transaction on one connection: BEGIN → temp tables (ON COMMIT DROP) → rows arrive by
 * `COPY … FROM STDIN` (text format; one COPY stays open while the CSV streams, so parsing and the
 * server's work overlap) → one upsert per table → COMMIT. Until COMMIT nothing in `staging.*` changes,
 * so a killed process (the server rolls back on disconnect) leaves the previous state, and a rerun
 * finishes with exact counts. Loads serialise on a table lock taken just before the upsert, so the
 * counts are exact under concurrency too.
 */
import { once } from 'node:events';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { redactUrl } from '../config.js';
import { WarehouseError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { RawTableSpec, RawValue, StagingReader } from './raw-load.js';
import {
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

type CopyIn = ReturnType<typeof copyStreams.from>;

const PG_TYPES = {
  VARCHAR: 'text',
  INTEGER: 'integer',
  DOUBLE: 'double precision',
  BOOLEAN: 'boolean',
  TIMESTAMP: 'timestamp',
} as const;

const q = (name: string): string => `"${name}"`;

interface Col<R> {
  readonly name: keyof R & string;
  readonly type: keyof typeof PG_TYPES;
  readonly notNull?: boolean;
}

const colDefs = <R>(cols: readonly Col<R>[], constraints = true): string =>
  cols.map((c) => `${q(c.name)} ${PG_TYPES[c.type]}${constraints && c.notNull ? ' NOT NULL' : ''}`).join(',\n  ');

/** The same tables and keys as the DuckDB staging DDL, in PostgreSQL types. */
export const PG_STAGING_DDL = stagingDdl((t) => PG_TYPES[t]);

/** Advisory lock key that serialises schema creation (CREATE … IF NOT EXISTS races otherwise). */
const DDL_LOCK = 0x6d757369; // 'musi'

const TRACKS_TMP = 'music_ingest_tracks';
const REJECTS_TMP = 'music_ingest_rejects';
/** Rejects are held back while the tracks COPY is open; past this many they are flushed in a COPY of their own. */
const REJECT_BUFFER_ROWS = 5_000;
/** Rows per batch handed to the warehouse writer when reading staging out. */
const READ_BATCH_ROWS = 10_000;

// ---------------------------------------------------------------------------------------------
// COPY text format (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2)

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value as a COPY text-format cell: `\N` for NULL; backslash, tab, LF and CR escaped. */
export function copyTextCell(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  switch (typeof value) {
    case 'string':
      if (!NEEDS_ESCAPE.test(value)) return value;
      if (value.includes('\0')) throw new WarehouseError('a value contains a NUL character, which PostgreSQL text cannot store');
      return value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!);
    case 'number':
      if (!Number.isFinite(value)) throw new WarehouseError(`cannot stage the non-finite number ${value}`);
      return String(value);
    case 'boolean':
      return value ? 't' : 'f';
    default:
      if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
      throw new WarehouseError(`cannot stage a value of type ${typeof value}`);
  }
}

/**
 * Rows → COPY text-format bytes, columns in `cols` order. Writes straight into one growing buffer:
 * about twice as fast as building the text as a string first (this runs once per staged row).
 */
export function encodeCopyText<R>(rows: readonly R[], cols: readonly { name: keyof R & string; type: string }[]): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(4_096, rows.length * cols.length * 16));
  let at = 0;
  const ensure = (bytes: number): void => {
    if (at + bytes <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + bytes));
    buf.copy(bigger, 0, 0, at);
    buf = bigger;
  };
  for (const row of rows) {
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i]!;
      const value = row[col.name] as unknown;
      const cell =
        value === null || value === undefined
          ? '\\N'
          : col.type === 'VARCHAR' && typeof value === 'string' && !NEEDS_ESCAPE.test(value)
            ? value
            : copyTextCell(value);
      // 3 bytes per UTF-16 unit is the UTF-8 worst case; +2 for the separator / newline.
      ensure(cell.length * 3 + 2);
      at += buf.write(cell, at, 'utf8');
      buf[at++] = i === cols.length - 1 ? 0x0a : 0x09;
    }
  }
  return buf.subarray(0, at);
}

const UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** A COPY text-format cell → its string (NULL for `\N`). Handles octal and hex escapes too. */
export function decodeCopyTextCell(cell: string): string | null {
  if (cell === '\\N') return null;
  if (!cell.includes('\\')) return cell;
  return cell.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return UNESCAPES[e] ?? e;
  });
}

function fromCopyText(cell: string, type: RawTableSpec['columns'][number]['type']): RawValue {
  const s = decodeCopyTextCell(cell);
  if (s === null) return null;
  switch (type) {
    case 'VARCHAR':
      return s;
    case 'INTEGER':
    case 'DOUBLE':
      return Number(s);
    case 'BOOLEAN':
      return s === 't';
    case 'TIMESTAMP':
      // Selected as epoch milliseconds (see readRows).
      return new Date(Number(s));
  }
}

// ---------------------------------------------------------------------------------------------

function pgError(what: string, cause: unknown): WarehouseError {
  if (cause instanceof WarehouseError) return cause;
  const e = cause as { message?: string; code?: string; detail?: string };
  const detail = e.detail ? ` (${e.detail})` : '';
  return new WarehouseError(`PostgreSQL staging: ${what} failed: ${e.message ?? String(cause)}${detail}`, { cause });
}

/** PostgreSQL staging store; also reads staged rows back out for the warehouse load. Call `close()` when done. */
export class PostgresStagingStore implements StagingStore, StagingReader {
  readonly label: string;
  private readonly pool: pg.Pool;
  private readonly log: Logger;

  constructor(url: string, opts: { log?: Logger; applicationName?: string } = {}) {
    this.label = `PostgreSQL ${redactUrl(url)}`;
    this.log = opts.log ?? silentLogger;
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
    try {
      await client.query('BEGIN');
      await client.query(
        `CREATE TEMP TABLE ${TRACKS_TMP} (\n  ${colDefs(TRACK_COLUMNS, false)}\n) ON COMMIT DROP;\n` +
          `CREATE TEMP TABLE ${REJECTS_TMP} (\n  ${colDefs(REJECT_COLUMNS, false)}\n) ON COMMIT DROP;`,
      );
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw pgError(`starting the load of ${source.file}`, cause);
    }
    return new PostgresStagingLoad(client, source);
  }

  async *readRows(table: RawTableSpec): AsyncIterable<readonly (readonly RawValue[])[]> {
    const select = table.columns
      .map((c) => (c.type === 'TIMESTAMP' ? `round(extract(epoch FROM ${q(c.name)}) * 1000)::bigint` : q(c.name)))
      .join(', ');
    // Byte order ("C"), as DuckDB sorts, so both paths write raw rows in the same order.
    const order = table.orderBy.map((c) => `${q(c)}${table.columns.find((x) => x.name === c)?.type === 'VARCHAR' ? ' COLLATE "C"' : ''}`);
    const sql = `COPY (SELECT ${select} FROM staging.${q(table.name)} ORDER BY ${order.join(', ')}) TO STDOUT`;
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

class PostgresStagingLoad implements StagingLoad {
  private copy: CopyIn | null = null;
  private copyDone: Promise<void> | null = null;
  private copyError: Error | null = null;
  private heldRejects: StagedReject[] = [];
  private finished = false;
  private rejectsCopied = 0;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly source: StageSource,
  ) {}

  private assertOpen(): void {
    if (this.finished) throw new WarehouseError(`staging load for ${this.source.file} is already finished`);
  }

  /** Start `COPY <table> FROM STDIN` on this load's connection. */
  private openCopy(table: string, cols: readonly { name: string }[]): CopyIn {
    const stream = this.client.query(copyStreams.from(`COPY ${table} (${cols.map((c) => q(c.name)).join(', ')}) FROM STDIN`));
    this.copyError = null;
    this.copyDone = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', (err: Error) => {
        this.copyError = err;
        reject(err);
      });
    });
    this.copyDone.catch(() => undefined);
    return stream;
  }

  private async write(stream: CopyIn, chunk: Buffer): Promise<void> {
    if (this.copyError) throw this.copyError;
    if (chunk.length === 0) return;
    if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), this.copyDone]);
    if (this.copyError) throw this.copyError;
  }

  private async endCopy(): Promise<void> {
    const stream = this.copy;
    if (!stream) return;
    this.copy = null;
    stream.end();
    await this.copyDone;
  }

  async appendTracks(rows: readonly StagedTrack[]): Promise<void> {
    this.assertOpen();
    if (rows.length === 0) return;
    try {
      const chunk = encodeCopyText(rows, TRACK_COLUMNS);
      this.copy ??= this.openCopy(TRACKS_TMP, TRACK_COLUMNS);
      await this.write(this.copy, chunk);
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
      const chunk = encodeCopyText(this.heldRejects, REJECT_COLUMNS);
      const stream = this.openCopy(REJECTS_TMP, REJECT_COLUMNS);
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
    const names = TRACK_COLUMNS.map((col) => q(col.name));
    const dataCols = TRACK_COLUMNS.filter((col) => col.name !== 'row_key');
    const rejectNames = REJECT_COLUMNS.map((col) => q(col.name));
    let failed = false;
    try {
      // Serialise loads (readers are not blocked) so the counts below match what the upsert does.
      await c.query('LOCK TABLE staging.tracks, staging.track_rejects IN SHARE ROW EXCLUSIVE MODE');
      const counts = await c.query<{ inserted: string; updated: string; unchanged: string }>(`
SELECT count(*) FILTER (WHERE t.row_key IS NULL) AS inserted,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash <> n.row_hash) AS updated,
       count(*) FILTER (WHERE t.row_key IS NOT NULL AND t.row_hash = n.row_hash) AS unchanged
FROM ${TRACKS_TMP} n LEFT JOIN staging.tracks t ON t.row_key = n.row_key`);
      await c.query(
        `
INSERT INTO staging.tracks AS t (${names.join(', ')}, loaded_at)
SELECT ${names.join(', ')}, $1::timestamp FROM ${TRACKS_TMP}
ON CONFLICT (row_key) DO UPDATE SET
  ${dataCols.map((col) => `${q(col.name)} = excluded.${q(col.name)}`).join(',\n  ')},
  loaded_at = CASE WHEN t.row_hash IS DISTINCT FROM excluded.row_hash THEN excluded.loaded_at ELSE t.loaded_at END
WHERE t.row_hash IS DISTINCT FROM excluded.row_hash
   OR t.source_file IS DISTINCT FROM excluded.source_file
   OR t.source_line IS DISTINCT FROM excluded.source_line`,
        [loadedAt],
      );
      const stale = await c.query(
        `
DELETE FROM staging.track_rejects r
WHERE r.source_file = $1
  AND NOT EXISTS (SELECT 1 FROM ${REJECTS_TMP} n WHERE n.source_line = r.source_line)`,
        [this.source.file],
      );
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
      await c.query('COMMIT');
      const row = counts.rows[0];
      return {
        inserted: Number(row?.inserted ?? 0),
        updated: Number(row?.updated ?? 0),
        unchanged: Number(row?.unchanged ?? 0),
        rejects: this.rejectsCopied,
        staleRejectsRemoved: stale.rowCount ?? 0,
      };
    } catch (cause) {
      failed = true;
      await c.query('ROLLBACK').catch(() => undefined);
      throw pgError(`staging commit of ${this.source.file}`, cause);
    } finally {
      c.release(failed ? true : undefined);
    }
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
