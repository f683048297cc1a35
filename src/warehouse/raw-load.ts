/**
 * The load step's two halves: a staging reader (where staged rows come from) and a raw writer (the
 * warehouse's `raw` schema they go to). `loadWarehouse` (src/pipeline/load.ts) pairs one of each:
 *
 * | staging \ warehouse | embedded DuckDB                         | Snowflake (src/warehouse/snowflake.ts)          |
 * |---------------------|-----------------------------------------|-------------------------------------------------|
 * | embedded DuckDB     | SQL copy in the one file (no reader)    | DuckDbStagingReader → array-bound INSERTs, SWAP |
 * | PostgreSQL          | COPY TO STDOUT → DuckDB appender        | COPY TO STDOUT → array-bound INSERTs, SWAP      |
 *
 * Rows travel as arrays in `RawTableSpec.columns` order; the raw tables keep the staging shape
 * (the dbt sources read exactly these columns).
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import { WarehouseError } from '../errors.js';
import { appendValue, type DuckDbSession } from './duckdb.js';
import { REJECT_COLUMNS, TRACK_COLUMNS } from './staging.js';
import { quoteIdent } from './port.js';

export type RawColumnType = 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';

export interface RawColumn {
  readonly name: string;
  readonly type: RawColumnType;
}

export interface RawTableSpec {
  /** Table name, the same in `staging` and `raw` (tracks, track_rejects; the Spotify tables: src/pipeline/load-spotify.ts). */
  readonly name: string;
  readonly columns: readonly RawColumn[];
  /** The table's key, the order rows are read in. */
  readonly orderBy: readonly string[];
}

/** The staged tables the load copies, in staging column order (timestamps last, as the DDL has them). */
export const RAW_TABLES: readonly RawTableSpec[] = [
  {
    name: 'tracks',
    columns: [...TRACK_COLUMNS.map((c) => ({ name: c.name, type: c.type })), { name: 'loaded_at', type: 'TIMESTAMP' }],
    orderBy: ['row_key'],
  },
  {
    name: 'track_rejects',
    columns: [...REJECT_COLUMNS.map((c) => ({ name: c.name, type: c.type })), { name: 'rejected_at', type: 'TIMESTAMP' }],
    orderBy: ['source_file', 'source_line'],
  },
];

/** One cell: TIMESTAMP values are UTC `Date`s (staging stamps them at millisecond precision). */
export type RawValue = string | number | boolean | Date | null;

/** Where staged rows come from when staging is not the warehouse's own database. */
export interface StagingReader {
  /** For logs: engine and location, never a password. */
  readonly label: string;
  /** Every row of `staging.<table.name>`, ordered by `table.orderBy`, in batches. */
  readRows(table: RawTableSpec): AsyncIterable<readonly (readonly RawValue[])[]>;
}

/** Writes the warehouse's raw schema. */
export interface RawWriter {
  readonly label: string;
  /** Replace `raw.<table>` for every table with the reader's rows, all in one warehouse transaction; row counts by table. */
  replaceRaw(tables: readonly RawTableSpec[], reader: StagingReader): Promise<Record<string, number>>;
}



/** The embedded warehouse: recreate each raw table and fill it with the appender, inside one DuckDB transaction. */
export class DuckDbRawWriter implements RawWriter {
  readonly label: string;
  constructor(private readonly session: DuckDbSession) {
    this.label = `DuckDB ${session.path}`;
  }

  async replaceRaw(tables: readonly RawTableSpec[], reader: StagingReader): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    await this.session.run('BEGIN TRANSACTION');
    try {
      await this.session.run('CREATE SCHEMA IF NOT EXISTS raw');
      for (const table of tables) {
        await this.session.run(
          `CREATE OR REPLACE TABLE raw.${quoteIdent(table.name)} (${table.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`,
        );
        counts[table.name] = await this.fill(table, reader);
      }
      await this.session.run('COMMIT');
      return counts;
    } catch (err) {
      await this.session.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async fill(table: RawTableSpec, reader: StagingReader): Promise<number> {
    let appender: DuckDBAppender;
    try {
      appender = await this.session.connection.createAppender(table.name, 'raw');
    } catch (cause) {
      throw new WarehouseError(`cannot open a DuckDB appender on raw.${table.name}: ${(cause as Error).message}`, { cause });
    }
    const types = table.columns.map((c) => c.type);
    let n = 0;
    let ok = false;
    try {
      for await (const batch of reader.readRows(table)) {
        for (const row of batch) {
          for (let i = 0; i < types.length; i++) appendValue(appender, types[i]!, row[i] ?? null);
          appender.endRow();
        }
        appender.flushSync();
        n += batch.length;
      }
      ok = true;
    } catch (cause) {
      if (cause instanceof WarehouseError) throw cause;
      throw new WarehouseError(`loading raw.${table.name} from ${reader.label} failed: ${(cause as Error).message}`, { cause });
    } finally {
      try {
        appender.closeSync();
      } catch (cause) {
        // After a failure the transaction is rolled back anyway; report close errors only on the success path.
        // eslint-disable-next-line no-unsafe-finally -- `ok`: the try block finished, no error is pending
        if (ok) throw new WarehouseError(`finishing raw.${table.name} failed: ${(cause as Error).message}`, { cause });
      }
    }
    return n;
  }
}

/** Rows a reader hands out per batch (the writer re-batches as its engine prefers). */
const DUCKDB_READ_BATCH_ROWS = 10_000;

/**
 * The embedded DuckDB staging as a reader, for a warehouse outside the file (Snowflake). Streams
 * `staging.<table>` in key order; TIMESTAMP columns come out as UTC `Date`s.
 */
export class DuckDbStagingReader implements StagingReader {
  readonly label: string;
  constructor(private readonly session: DuckDbSession) {
    this.label = `DuckDB ${session.path}`;
  }

  async *readRows(table: RawTableSpec): AsyncIterable<readonly (readonly RawValue[])[]> {
    const select = table.columns.map((c) => (c.type === 'TIMESTAMP' ? `epoch_ms(${quoteIdent(c.name)})` : quoteIdent(c.name))).join(', ');
    const sql = `SELECT ${select} FROM staging.${quoteIdent(table.name)} ORDER BY ${table.orderBy.map(quoteIdent).join(', ')}`;
    const types = table.columns.map((c) => c.type);
    let result;
    try {
      result = await this.session.connection.stream(sql);
    } catch (cause) {
      throw new WarehouseError(`reading staging.${table.name} from ${this.label} failed: ${(cause as Error).message}`, { cause });
    }
    let batch: RawValue[][] = [];
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const row of chunk.getRows()) {
        batch.push(row.map((v, i) => (v === null ? null : types[i] === 'TIMESTAMP' ? new Date(Number(v)) : typeof v === 'bigint' ? Number(v) : (v as RawValue))));
      }
      if (batch.length >= DUCKDB_READ_BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
}
