/**
 * The warehouse port: the smallest surface the pipeline needs from a SQL engine.
 * Adapters: DuckDB (embedded default) now; PostgreSQL staging and Snowflake plug in here.
 */
export type Dialect = 'duckdb' | 'postgres' | 'snowflake';

export type Row = Record<string, unknown>;

export interface SqlSession {
  readonly dialect: Dialect;
  /** Run one or more statements; no result. */
  run(sql: string): Promise<void>;
  /** Run one query and return its rows as plain JSON-safe objects (bigints become numbers). */
  all<T extends Row = Row>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * A session that hands a query's rows over as the engine produces them, a batch at a time, each batch's
 * rows made as they are iterated, so a reader of a large table never holds many of its rows (DuckDB's
 * streaming result).
 */
export interface StreamingSqlSession extends SqlSession {
  stream<T extends Row = Row>(sql: string): AsyncIterable<Iterable<T>>;
}

export const streams = (s: SqlSession): s is StreamingSqlSession => typeof (s as Partial<StreamingSqlSession>).stream === 'function';

/** A value bound to a `$1`, `$2`, … placeholder (a Date binds as a UTC TIMESTAMP). */
export type SqlParam = string | number | boolean | null | Date;

/**
 * A session that binds values instead of splicing them into SQL text: data (names, file names,
 * error messages, which may hold quotes, NULs or any byte) never becomes SQL. One statement per call.
 */
export interface BindingSqlSession extends SqlSession {
  run(sql: string, params?: readonly SqlParam[]): Promise<void>;
  all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

/** An identifier as a double-quoted SQL identifier, case kept as written (the same in DuckDB, PostgreSQL and Snowflake). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
