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
