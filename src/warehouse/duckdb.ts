import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance, JSDuckDBValueConverter, timestampValueFromDate,
  type DuckDBAppender, type DuckDBConnection, type DuckDBDataChunk, type DuckDBResult, type DuckDBValue,
} from '@duckdb/node-api';
import { WarehouseError } from '../errors.js';
import type { BindingSqlSession, Row, SqlParam } from './port.js';

/** Embedded DuckDB session on one database file (or ':memory:'). */
export class DuckDbSession implements BindingSqlSession {
  readonly dialect = 'duckdb' as const;
  private constructor(
    private instance: DuckDBInstance,
    private conn: DuckDBConnection,
    readonly path: string,
  ) {}

  get connection(): DuckDBConnection {
    return this.conn;
  }

  static async open(path: string): Promise<DuckDbSession> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      const instance = await DuckDBInstance.create(path);
      const connection = await instance.connect();
      return new DuckDbSession(instance, connection, path);
    } catch (cause) {
      throw new WarehouseError(
        `cannot open the embedded DuckDB store at ${path}: ${(cause as Error).message}` +
          ' (is another pipeline run holding it? only one process may write it at a time)',
        { cause },
      );
    }
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<void> {
    try {
      await this.connection.run(sql, params && bindValues(params));
    } catch (cause) {
      throw new WarehouseError(`DuckDB statement failed: ${(cause as Error).message}`, { cause });
    }
  }

  async all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql, params && bindValues(params));
      return reader.getRowObjectsJS().map((row) => toPlain(row)) as T[];
    } catch (cause) {
      throw new WarehouseError(`DuckDB query failed: ${(cause as Error).message}`, { cause });
    }
  }

  /**
   * Run one query and hand its rows over as DuckDB produces them: a chunk (up to 2,048 rows) at a time,
   * each row converted as `all` converts it only when the iteration reaches it, so one row object lives
   * at a time (short-lived garbage, never promoted with a whole page). Run no other statement on this
   * session until the iteration ends: that would end the stream.
   */
  async *stream<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): AsyncGenerator<Iterable<T>> {
    const failed = (cause: unknown) => new WarehouseError(`DuckDB query failed: ${(cause as Error).message}`, { cause });
    let result: DuckDBResult;
    try {
      result = await this.connection.stream(sql, params && bindValues(params));
    } catch (cause) {
      throw failed(cause);
    }
    const names = result.deduplicatedColumnNames();
    for (;;) {
      let chunk: DuckDBDataChunk | null;
      try {
        chunk = await result.fetchChunk();
      } catch (cause) {
        throw failed(cause);
      }
      if (!chunk || chunk.rowCount === 0) return;
      yield rowsOf<T>(chunk, names);
    }
  }

  /**
   * Run `fn` with DuckDB settings changed (`SET name = value`), then `RESET` them to DuckDB's defaults,
   * also when `fn` throws. (Reset rather than set back: DuckDB reports some values rounded, `18.8 GiB`.)
   * This session sets none of them otherwise.
   */
  async withSettings<T>(settings: Readonly<Record<string, string | number | boolean>>, fn: () => Promise<T>): Promise<T> {
    const names = Object.keys(settings);
    try {
      for (const n of names) {
        await this.run(`set ${n} = ${sqlLiteral(settings[n]!)}`);
        this.settings.set(n, settings[n]!);
      }
      return await fn();
    } finally {
      for (const n of names) {
        this.settings.delete(n);
        await this.run(`reset ${n}`);
      }
    }
  }

  /** The settings `withSettings` holds changed now, as it set them. */
  private readonly settings = new Map<string, string | number | boolean>();

  /**
   * Give back the memory DuckDB's allocator keeps after its queries are done: lowering `memory_limit`
   * makes DuckDB evict the blocks not in use and flush its allocator, so the limit is set to
   * RELEASE_LIMIT for a moment, then back to what it was (`withSettings`' value, else the default).
   * False when DuckDB could not get under the low limit (blocks still in use); nothing changed then.
   * Publish calls it once its reads are done: at 1M tracks they left ≈ 260 MiB of RSS that this gives
   * back (docs/BENCHMARKS.md).
   */
  async releaseMemory(): Promise<boolean> {
    try {
      await this.run(`set memory_limit = ${sqlLiteral(RELEASE_LIMIT)}`);
      return true;
    } catch {
      return false;
    } finally {
      const limit = this.settings.get('memory_limit');
      await this.run(limit === undefined ? 'reset memory_limit' : `set memory_limit = ${sqlLiteral(limit)}`);
    }
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  /**
   * Close the file while `fn` runs, so that another process (dbt-core) can open it — DuckDB lets one
   * process at a time write a file — then open it again, also when `fn` throws. Not for ':memory:'.
   */
  async releasedWhile<T>(fn: () => Promise<T>): Promise<T> {
    if (this.path === ':memory:') throw new WarehouseError('an in-memory DuckDB cannot be handed to another process');
    await this.close();
    try {
      return await fn();
    } finally {
      const reopened = await DuckDbSession.open(this.path);
      this.instance = reopened.instance;
      this.conn = reopened.conn;
    }
  }
}

/** A chunk's rows, each converted (JS values, then `toPlain`) when the iteration reaches it. */
function* rowsOf<T extends Row>(chunk: DuckDBDataChunk, names: readonly string[]): Generator<T> {
  for (let r = 0; r < chunk.rowCount; r++) {
    const values = chunk.convertRowValues(r, JSDuckDBValueConverter);
    const row: Row = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = toPlain(values[c]);
    yield row as T;
  }
}

/** The memory limit `releaseMemory` lowers DuckDB's to for a moment. */
const RELEASE_LIMIT = '16MB';

/** A setting's value as SQL: numbers and booleans as they are, anything else a quoted string. */
function sqlLiteral(v: string | number | boolean): string {
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
}

/** Bound values as DuckDB takes them: a Date becomes a TIMESTAMP (UTC), the rest binds as it is. */
function bindValues(params: readonly SqlParam[]): DuckDBValue[] {
  return params.map((p) => (p instanceof Date ? timestampValueFromDate(p) : p));
}

/**
 * DuckDB JS values → JSON-safe plain values: BIGINT → number, DATE/TIMESTAMP → ISO string. Lists and
 * structs are converted in place (they are fresh objects of this result): no second copy of every row.
 */
function toPlain(value: unknown): any {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toPlain(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = toPlain(obj[k]);
    return obj;
  }
  return value;
}

/** Append one value of a column type to a DuckDB appender row (null/undefined → NULL). */
export function appendValue(
  appender: DuckDBAppender,
  type: 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP',
  value: string | number | boolean | Date | null | undefined | unknown,
): void {
  if (value === null || value === undefined) {
    appender.appendNull();
    return;
  }
  switch (type) {
    case 'VARCHAR':
      appender.appendVarchar(value as string);
      break;
    case 'INTEGER':
      appender.appendInteger(value as number);
      break;
    case 'DOUBLE':
      appender.appendDouble(value as number);
      break;
    case 'BOOLEAN':
      appender.appendBoolean(value as boolean);
      break;
    case 'TIMESTAMP':
      appender.appendTimestamp(timestampValueFromDate(value as Date));
      break;
  }
}
