import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../../src/config.js';

/** The server the PostgreSQL tests use (a maintenance database; each test file creates its own database). */
export const STAGING_TEST_URL = process.env.STAGING_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why the PostgreSQL tests are skipped, or null when a server answers at STAGING_TEST_URL. */
export async function postgresUnavailable(url = STAGING_TEST_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return `no PostgreSQL answering at ${redactUrl(url)} (${(err as Error).message}); set STAGING_TEST_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface ScratchDatabase {
  name: string;
  /** STAGING_URL for the scratch database. */
  url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A fresh database with a random name on the test server; `drop()` removes it (and ends its connections). */
export async function createScratchDatabase(prefix = 'music_test'): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: STAGING_TEST_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(STAGING_TEST_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    name,
    url: url.toString(),
    query: async (sql, params) => (await client.query(sql, params)).rows,
    drop: async () => {
      await client.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
