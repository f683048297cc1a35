/**
 * A `SqlSession` on PostgreSQL (one connection, so `BEGIN … COMMIT` sent through `run` is one
 * transaction). Used where staging is PostgreSQL (`STAGING_URL`) and code speaks SQL to staging
 * directly: the Spotify enrichment's staging tables. Rows come back JSON-safe like the DuckDB
 * adapter's: BIGINT / NUMERIC → number, TIMESTAMP → ISO string (UTC), arrays → arrays.
 */
import pg from 'pg';
import { redactUrl } from '../config.js';
import { WarehouseError } from '../errors.js';
import type { BindingSqlSession, Row, SqlParam } from './port.js';

const { types } = pg;
const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;

/** Naive `timestamp` text is UTC by this project's convention (staging stamps UTC). */
const isoUtc = (s: string) => new Date(`${s.replace(' ', 'T')}Z`).toISOString();

const parsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === 'binary') return types.getTypeParser(oid, format);
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (oid === TIMESTAMP) return isoUtc;
    if (oid === TIMESTAMPTZ) return (v: string) => new Date(v).toISOString();
    return types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A Date binds as its UTC wall time (a `timestamp` column ignores the zone of ISO text). */
const bindValues = (params: readonly SqlParam[]): unknown[] => params.map((p) => (p instanceof Date ? p.toISOString() : p));

export class PostgresSession implements BindingSqlSession {
  readonly dialect = 'postgres' as const;
  readonly label: string;

  private constructor(
    private readonly client: pg.Client,
    url: string,
  ) {
    this.label = `PostgreSQL ${redactUrl(url)}`;
  }

  static async open(url: string, opts: { applicationName?: string; connectTimeoutMs?: number } = {}): Promise<PostgresSession> {
    const client = new pg.Client({
      connectionString: url,
      application_name: opts.applicationName ?? 'music-mcp-server',
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      types: parsers,
    });
    try {
      await client.connect();
    } catch (cause) {
      await client.end().catch(() => undefined);
      throw new WarehouseError(
        `cannot connect to PostgreSQL ${redactUrl(url)}: ${(cause as Error).message} (check STAGING_URL and that the server accepts connections)`,
        { cause },
      );
    }
    // A dropped connection must not crash the process; the next statement reports it.
    client.on('error', () => undefined);
    return new PostgresSession(client, url);
  }

  async run(sql: string, params?: readonly SqlParam[]): Promise<void> {
    try {
      await this.client.query(sql, params && bindValues(params));
    } catch (cause) {
      throw new WarehouseError(`PostgreSQL statement failed: ${(cause as Error).message}`, { cause });
    }
  }

  async all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
    try {
      const result = await this.client.query(sql, params && bindValues(params));
      return result.rows as T[];
    } catch (cause) {
      throw new WarehouseError(`PostgreSQL query failed: ${(cause as Error).message}`, { cause });
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
