/**
 * Source freshness: is the newest `raw.tracks.loaded_at` in the warehouse recent enough?
 * The same rule as the dbt source's `loaded_at_field` / `error_after` (dbt/models/staging/_sources.yml),
 * runnable without dbt (`scripts/freshness.ts`, the last task of the Airflow DAG).
 *
 * `loaded_at` is when a row's values last changed (an unchanged row keeps its stamp on re-ingest), so
 * this measures when the source last delivered new data, not when the pipeline last ran; the latest
 * successful run from `ops.pipeline_runs` is reported beside it.
 */
import type { SqlSession } from '../warehouse/port.js';

export interface FreshnessReport {
  ok: boolean;
  /** Newest raw.tracks.loaded_at (ISO, UTC), null when the table is missing or empty. */
  newestLoadedAt: string | null;
  ageHours: number | null;
  maxAgeHours: number;
  rows: number;
  /** Start of the latest succeeded run in ops.pipeline_runs, when recorded. */
  lastSucceededRunAt: string | null;
  message: string;
}

async function tableExists(session: SqlSession, schema: string, table: string): Promise<boolean> {
  const [row] = await session.all<{ n: number }>(
    `SELECT count(*) AS n FROM information_schema.tables WHERE lower(table_schema) = '${schema}' AND lower(table_name) = '${table}'`,
  );
  return Number(row?.n ?? 0) > 0;
}

/** UTC ISO string of a warehouse TIMESTAMP (sessions return ISO strings or Dates; naive text means UTC). */
function utcIso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export async function checkFreshness(session: SqlSession, opts: { maxAgeHours: number; now?: Date }): Promise<FreshnessReport> {
  const now = opts.now ?? new Date();
  const base = { maxAgeHours: opts.maxAgeHours, lastSucceededRunAt: null as string | null };
  if (await tableExists(session, 'ops', 'pipeline_runs')) {
    const [run] = await session.all<{ started_at: unknown }>(
      "SELECT max(started_at) AS started_at FROM ops.pipeline_runs WHERE status = 'succeeded'",
    );
    base.lastSucceededRunAt = utcIso(run?.started_at);
  }
  if (!(await tableExists(session, 'raw', 'tracks'))) {
    return { ...base, ok: false, newestLoadedAt: null, ageHours: null, rows: 0,
      message: 'raw.tracks does not exist: run the pipeline (npm run pipeline, or ingest + load) first' };
  }
  const [row] = await session.all<{ newest: unknown; n: number }>('SELECT max(loaded_at) AS newest, count(*) AS n FROM raw.tracks');
  const newest = utcIso(row?.newest);
  const rows = Number(row?.n ?? 0);
  if (newest === null) {
    return { ...base, ok: false, newestLoadedAt: null, ageHours: null, rows, message: 'raw.tracks is empty: nothing has been loaded' };
  }
  const ageHours = Math.round(((now.getTime() - Date.parse(newest)) / 3_600_000) * 100) / 100;
  const ok = ageHours <= opts.maxAgeHours;
  return {
    ...base,
    ok,
    newestLoadedAt: newest,
    ageHours,
    rows,
    message: ok
      ? `fresh: newest raw.tracks row loaded ${ageHours} h ago (limit ${opts.maxAgeHours} h)`
      : `stale: newest raw.tracks row loaded ${ageHours} h ago, over the ${opts.maxAgeHours} h limit (MUSIC_FRESHNESS_MAX_AGE_HOURS); ` +
        'ingest a newer dataset, or raise the limit if the source is static',
  };
}
