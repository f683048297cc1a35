import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, timestampValueFromDate, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
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

/** Bound values as DuckDB takes them: a Date becomes a TIMESTAMP (UTC), the rest binds as it is. */
function bindValues(params: readonly SqlParam[]): DuckDBValue[] {
  return params.map((p) => (p instanceof Date ? timestampValueFromDate(p) : p));
}

/** DuckDB JS values → JSON-safe plain values: BIGINT → number, DATE/TIMESTAMP → ISO string. */
function toPlain(value: unknown): any {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
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
