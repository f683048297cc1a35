import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { WarehouseError } from '../errors.js';
import type { SqlSession } from '../warehouse/port.js';

export interface LoadReport { tracks: number; rejects: number; ms: number }

/**
 * Load: copy staged tables into the warehouse's raw schema, which the dbt sources read.
 * Embedded default: staging and warehouse share one DuckDB file, so this is one transaction.
 */
export async function loadWarehouse(opts: { staging: SqlSession; warehouse: SqlSession; log?: Logger }): Promise<LoadReport> {
  const log = opts.log ?? silentLogger;
  const started = Date.now();
  if (opts.staging !== opts.warehouse || opts.warehouse.dialect !== 'duckdb') {
    throw new WarehouseError('the load step supports the embedded DuckDB warehouse only (staging and warehouse in one file)');
  }
  const w = opts.warehouse;
  await w.run('BEGIN TRANSACTION');
  try {
    await w.run('CREATE SCHEMA IF NOT EXISTS raw');
    await w.run('CREATE OR REPLACE TABLE raw.tracks AS SELECT * FROM staging.tracks ORDER BY row_key');
    await w.run('CREATE OR REPLACE TABLE raw.track_rejects AS SELECT * FROM staging.track_rejects ORDER BY source_file, source_line');
    await w.run('COMMIT');
  } catch (err) {
    await w.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const [c] = await w.all<{ tracks: number; rejects: number }>(
    'SELECT (SELECT count(*) FROM raw.tracks) AS tracks, (SELECT count(*) FROM raw.track_rejects) AS rejects',
  );
  const report = { tracks: Number(c?.tracks ?? 0), rejects: Number(c?.rejects ?? 0), ms: Date.now() - started };
  log.info(report, 'loaded staging into warehouse raw schema');
  return report;
}
