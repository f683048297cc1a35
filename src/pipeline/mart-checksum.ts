/**
 * An order-independent fingerprint of every table in the marts schema of a DuckDB warehouse, to show
 * that two engines (the embedded dbt runner and dbt-core) built the same marts: per table the row
 * count and the sum over rows of md5_number_lower(<the row as text>). In the row text a DOUBLE/REAL
 * is printed to 12 significant digits (DuckDB's parallel sums are not bit-stable from run to run, so
 * the last bits of a mean may differ between two builds of the same data); every other value is its
 * VARCHAR cast; NULL is written as a marker no cast produces.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import type { Logger } from '../log.js';
import { DuckDbSession } from '../warehouse/duckdb.js';
import { quoteIdent } from './dbt/index.js';
import { runPipeline, type PipelineReport } from './run.js';

export interface TableChecksum {
  table: string;
  rows: number;
  /** Decimal text of a HUGEINT sum (exact; too large for a JS number). */
  checksum: string;
}

const FLOAT_TYPES = new Set(['DOUBLE', 'FLOAT', 'REAL']);
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The row-text expression of one column. */
function columnText(name: string, type: string): string {
  const col = quoteIdent(name);
  const text = FLOAT_TYPES.has(type.toUpperCase()) ? `printf('%.11e', ${col})` : `CAST(${col} AS VARCHAR)`;
  return `coalesce(${text}, '\\N')`;
}

/** Checksums of every base table in `schema` (default `marts`), sorted by table name. */
export async function martChecksums(session: DuckDbSession, schema = 'marts'): Promise<TableChecksum[]> {
  const columns = await session.all<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
      WHERE c.table_schema = ${sqlString(schema)} AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, string[]>();
  for (const c of columns) {
    const list = byTable.get(c.table_name) ?? [];
    list.push(columnText(c.column_name, c.data_type));
    byTable.set(c.table_name, list);
  }
  const out: TableChecksum[] = [];
  for (const [table, texts] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) {
    const [row] = await session.all<{ rows: number; checksum: string }>(
      `SELECT count(*) AS rows,
              CAST(coalesce(sum(CAST(md5_number_lower(concat_ws(chr(31), ${texts.join(', ')})) AS HUGEINT)), 0) AS VARCHAR) AS checksum
         FROM ${quoteIdent(schema)}.${quoteIdent(table)}`,
    );
    out.push({ table, rows: Number(row!.rows), checksum: row!.checksum });
  }
  return out;
}

export interface EngineParity {
  /** Row counts and checksums per mart table, by engine. */
  embedded: TableChecksum[];
  core: TableChecksum[];
  /** Tables whose row count or checksum differ (empty = the same marts). */
  differing: string[];
  report: { embedded: PipelineReport; core: PipelineReport };
  /** Wall time of each engine's transform step. */
  transformMs: { embedded: number; core: number };
}

/**
 * Build the marts twice from one staged-and-loaded warehouse — the embedded runner on one copy,
 * dbt-core (`dbt`, an executable) on another, each through the pipeline's transform + publish steps —
 * and compare their checksums. `workDir` gets `embedded/` and `core/` data dirs.
 */
export async function compareTransformEngines(opts: { dataset: string; dbt: string; workDir: string; log: Logger }): Promise<EngineParity> {
  const dirs = { staged: join(opts.workDir, 'staged'), embedded: join(opts.workDir, 'embedded'), core: join(opts.workDir, 'core') };
  const env = (dataDir: string, extra: Record<string, string> = {}) =>
    loadConfig({ MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: opts.dataset, LOG_LEVEL: 'silent', ...extra });
  await runPipeline(env(dirs.staged), opts.log, { steps: ['ingest', 'load'] });
  const engines = { embedded: {}, core: { MUSIC_DBT: opts.dbt } } as const;
  const result: Partial<EngineParity> = { report: {} as EngineParity['report'], transformMs: {} as EngineParity['transformMs'] };
  for (const engine of ['embedded', 'core'] as const) {
    mkdirSync(dirs[engine], { recursive: true });
    copyFileSync(join(dirs.staged, 'warehouse.duckdb'), join(dirs[engine], 'warehouse.duckdb'));
    const report = await runPipeline(env(dirs[engine], engines[engine]), opts.log, { steps: ['transform', 'publish'] });
    result.report![engine] = report;
    result.transformMs![engine] = report.transform?.ms ?? 0;
    const session = await DuckDbSession.open(join(dirs[engine], 'warehouse.duckdb'));
    try {
      result[engine] = await martChecksums(session);
    } finally {
      await session.close();
    }
  }
  const key = (t: TableChecksum) => `${t.table}:${t.rows}:${t.checksum}`;
  const coreKeys = new Set(result.core!.map(key));
  const tables = new Set([...result.embedded!, ...result.core!].map((t) => t.table));
  result.differing = [...tables].filter((table) => {
    const e = result.embedded!.find((t) => t.table === table);
    return !e || !coreKeys.has(key(e));
  });
  return result as EngineParity;
}
