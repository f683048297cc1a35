import type { DuckDbSession } from '../../src/warehouse/duckdb.js';
import type { SqlSession } from '../../src/warehouse/port.js';

/** `db` as a session that cannot stream (as Snowflake's), so publish reads it in keyset pages. */
export const withoutStreaming = (db: DuckDbSession): SqlSession => ({
  dialect: db.dialect,
  run: (sql) => db.run(sql),
  all: (sql) => db.all(sql),
  close: async () => undefined,
});
