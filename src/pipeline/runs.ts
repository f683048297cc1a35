/**
 * `ops.pipeline_runs`: one row per pipeline run, written in the warehouse by the pipeline itself
 * (not by dbt: a run must be able to record its own failed transform, which dbt rolls back).
 *
 * Airflow runs each step as its own process; with `MUSIC_RUN_ID` set to the DAG run's id they all
 * write the same row (steps accumulate, counts are kept from the step that produced them). Without it
 * every process is its own run.
 *
 * A process killed mid-run leaves its row at status 'running'. The table lives in the DuckDB file,
 * which a pipeline process holds open (DuckDB's file lock admits one writing process) from before it
 * records its run until it ends; so when a run starts, any other run still marked 'running' belongs
 * to a process that ended without finishing, and is marked 'abandoned'. A row of the same run id is
 * continued instead (an Airflow task retried after its process was killed).
 *
 * Plain SELECT / INSERT / UPDATE with every value bound (`$n`), never spliced into the SQL text: an
 * error message may quote a file's bytes (NULs, quotes), and it must still be recorded.
 */
import { randomUUID } from 'node:crypto';
import type { BindingSqlSession, SqlParam, SqlSession } from '../warehouse/port.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'abandoned';

export type RunCounts = {
  rows_read: number | null;
  rows_staged: number | null;
  rows_rejected: number | null;
  /** Rows staged from the source file by earlier runs that its new version no longer has (deleted). */
  rows_deleted: number | null;
  models_built: number | null;
  tests_passed: number | null;
  tests_failed: number | null;
  snapshot_version: string | null;
  /** What the ingest did to read the file, e.g. the encoding it transcoded from (NULL: read as it was). */
  input_notes: string | null;
  /** Header columns the layout does not use (not staged), comma-separated as written (NULL: none). */
  extra_columns: string | null;
  /** The separator recognised per credit column, e.g. `artists: ", "` (`none`: one artist per cell). */
  credit_separators: string | null;
  /** Staged rows whose artist credit was split into two or more artists. */
  credits_split: number | null;
  /** Names kept whole although they contain the separator, counted once per staged row holding them. */
  credits_kept_whole: number | null;
  /** The names kept whole by rule (exception list, catalog evidence), with counts and examples. */
  credit_notes: string | null;
};

export type PipelineRunRow = RunCounts & {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  /** Steps run under this id, comma-separated in the order they ran. */
  steps: string;
  status: RunStatus;
  error: string | null;
};

export const PIPELINE_RUNS_DDL = `
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.pipeline_runs (
  run_id VARCHAR NOT NULL PRIMARY KEY,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  steps VARCHAR NOT NULL,
  rows_read INTEGER,
  rows_staged INTEGER,
  rows_rejected INTEGER,
  models_built INTEGER,
  tests_passed INTEGER,
  tests_failed INTEGER,
  snapshot_version VARCHAR,
  status VARCHAR NOT NULL,
  error VARCHAR
);
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS input_notes VARCHAR;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS rows_deleted INTEGER;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS extra_columns VARCHAR;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS credit_separators VARCHAR;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS credits_split INTEGER;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS credits_kept_whole INTEGER;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS credit_notes VARCHAR`;

const COUNT_KEYS = [
  'rows_read', 'rows_staged', 'rows_rejected', 'rows_deleted', 'models_built', 'tests_passed', 'tests_failed',
  'credits_split', 'credits_kept_whole',
] as const;

const TEXT_KEYS = ['snapshot_version', 'input_notes', 'extra_columns', 'credit_separators', 'credit_notes'] as const;

/** An error as stored: one message, no connection-string passwords, bounded. */
export function runErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return printable(message.replace(/(\w+:\/\/[^:/@\s]+):[^@\s]+@/g, '$1:redacted@')).slice(0, 2_000);
}

/** Control characters (NUL, ESC, …; not tab or newline) as `\u00XX`, so a stored message reads safely on a terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Records one pipeline run; every write is its own statement (autocommit), so progress survives a crash. */
export class PipelineRunRecorder {
  private constructor(
    private readonly session: BindingSqlSession,
    readonly runId: string,
  ) {}

  /** Create `ops.pipeline_runs` if absent and mark the run 'running' (joining an existing row with the same id). */
  static async start(
    session: BindingSqlSession,
    opts: { runId?: string | undefined; steps: readonly string[]; startedAt: Date },
  ): Promise<PipelineRunRecorder> {
    const runId = opts.runId ?? `${opts.startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
    await session.run(PIPELINE_RUNS_DDL);
    await markAbandoned(session, runId, opts.startedAt);
    const [existing] = await session.all<{ steps: string }>('SELECT steps FROM ops.pipeline_runs WHERE run_id = $1', [runId]);
    if (existing) {
      const merged = [...new Set([...existing.steps.split(',').filter(Boolean), ...opts.steps])].join(',');
      await session.run(
        "UPDATE ops.pipeline_runs SET steps = $1, status = 'running', finished_at = NULL, error = NULL WHERE run_id = $2",
        [merged, runId],
      );
    } else {
      await session.run(
        "INSERT INTO ops.pipeline_runs (run_id, started_at, steps, status) VALUES ($1, $2, $3, 'running')",
        [runId, opts.startedAt, opts.steps.join(',')],
      );
    }
    return new PipelineRunRecorder(session, runId);
  }

  /** Record the counts a step produced (only the given ones change). */
  async update(counts: Partial<RunCounts>): Promise<void> {
    const sets: string[] = [];
    const params: SqlParam[] = [];
    const set = (column: string, value: SqlParam) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    for (const k of COUNT_KEYS) {
      const v = counts[k];
      if (v === undefined || v === null) continue;
      if (!Number.isInteger(v)) throw new TypeError(`${k} is not an integer: ${v}`);
      set(k, v);
    }
    for (const k of TEXT_KEYS) {
      const v = counts[k];
      if (v) set(k, printable(v));
    }
    if (sets.length === 0) return;
    params.push(this.runId);
    await this.session.run(`UPDATE ops.pipeline_runs SET ${sets.join(', ')} WHERE run_id = $${params.length}`, params);
  }

  async finish(status: 'succeeded' | 'failed', error?: unknown): Promise<void> {
    const err = status === 'failed' && error !== undefined ? runErrorText(error) : null;
    await this.session.run('UPDATE ops.pipeline_runs SET status = $1, finished_at = $2, error = $3 WHERE run_id = $4', [
      status, new Date(), err, this.runId,
    ]);
  }
}

/**
 * Mark every other run still 'running' as 'abandoned' (see the header: its process is gone). Its
 * finished_at stays NULL (the moment it died is unknown); the error says when it was found.
 */
async function markAbandoned(session: BindingSqlSession, runId: string, now: Date): Promise<void> {
  const note = `ended without finishing (process killed or lost); found by run ${runId} at ${now.toISOString()}`;
  await session.run("UPDATE ops.pipeline_runs SET status = 'abandoned', error = $1 WHERE status = 'running' AND run_id <> $2", [
    printable(note), runId,
  ]);
}

/** The run whose transform built the marts being published (latest with models_built), or null when none is recorded. */
export async function latestBuildRun(session: SqlSession): Promise<PipelineRunRow | null> {
  const [exists] = await session.all<{ n: number }>(
    "SELECT count(*) AS n FROM information_schema.tables WHERE lower(table_schema) = 'ops' AND lower(table_name) = 'pipeline_runs'",
  );
  if (!exists || Number(exists.n) === 0) return null;
  const [row] = await session.all<PipelineRunRow>(
    'SELECT * FROM ops.pipeline_runs WHERE models_built IS NOT NULL ORDER BY started_at DESC, run_id DESC LIMIT 1',
  );
  return row ?? null;
}
