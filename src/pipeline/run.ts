import { DBT_PROJECT_DIR } from '../paths.js';
import type { Config } from '../config.js';
import { MusicError } from '../errors.js';
import type { Logger } from '../log.js';
import { DuckDbSession } from '../warehouse/duckdb.js';
import { DuckDbStagingStore } from '../warehouse/staging.js';
import { PostgresStagingStore } from '../warehouse/postgres-staging.js';
import type { SqlSession } from '../warehouse/port.js';
import { SnowflakeSession } from '../warehouse/snowflake.js';
import { creditCounts } from './credits.js';
import { PipelineRunRecorder, type RunCounts } from './runs.js';
import { acquireDataset, type AcquiredDataset } from './acquire.js';
import { runEnrichStep, type EnrichStepReport } from './enrich-step.js';
import { runDbtProject, type DbtRunReport } from './dbt/index.js';
import { runDbtCore } from './dbt-core.js';
import { ingestCsv, NoValidRowsError, type IngestReport } from './ingest.js';
import { loadWarehouse, type LoadReport } from './load.js';
import { publishSnapshot, type PublishReport } from './publish.js';

export { DBT_PROJECT_DIR };

/** `enrich` (Spotify) is optional: without SPOTIFY_CLIENT_ID/SECRET it is skipped, not failed. */
export const PIPELINE_STEPS = ['acquire', 'ingest', 'enrich', 'load', 'transform', 'publish'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export interface PipelineReport {
  dataset?: AcquiredDataset;
  ingest?: IngestReport;
  enrich?: EnrichStepReport;
  load?: LoadReport;
  transform?: DbtRunReport;
  publish?: PublishReport;
  ms: number;
}

/** The run's AbortSignal fired (SIGINT/SIGTERM) during a step that stops cleanly; `report` holds what finished. Rerun to resume. */
export class PipelineInterruptedError extends MusicError {
  constructor(
    readonly step: PipelineStep,
    readonly report: PipelineReport,
    reason: unknown,
  ) {
    const why = reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
    super('PIPELINE_INTERRUPTED', `interrupted during ${step} (${why}); finished work is kept, run it again to resume`);
  }
}

/** What ops.pipeline_runs keeps of a dbt run (also of a failed one: DbtRunError carries its report). */
function transformCounts(t: DbtRunReport): { models_built: number; tests_passed: number; tests_failed: number } {
  return {
    models_built: t.models.length,
    tests_passed: t.tests.filter((x) => x.status !== 'fail').length,
    tests_failed: t.tests.filter((x) => x.status === 'fail').length,
  };
}

/** What ops.pipeline_runs keeps of an ingest (also of one that found no valid row). */
function ingestCounts(
  i: Pick<IngestReport, 'rowsRead' | 'rowsStaged' | 'rowsRejected' | 'inputNotes'> & Partial<Pick<IngestReport, 'deleted' | 'extraColumns' | 'credits'>>,
): Partial<RunCounts> {
  return {
    rows_read: i.rowsRead, rows_staged: i.rowsStaged, rows_rejected: i.rowsRejected, rows_deleted: i.deleted ?? null, input_notes: i.inputNotes,
    ...(i.extraColumns?.length ? { extra_columns: i.extraColumns.map((c) => JSON.stringify(c)).join(', ') } : {}),
    ...(i.credits ? creditCounts(i.credits) : {}),
  };
}

/**
 * What profiles.yml's `snowflake` output reads through env_var() (no secret: the runner renders only
 * type, schema, database and threads; the session is already authenticated).
 */
export function snowflakeDbtEnv(config: Config): Record<string, string | undefined> {
  const sf = config.snowflake;
  if (!sf) return {};
  return {
    SNOWFLAKE_ACCOUNT: sf.account, SNOWFLAKE_USER: sf.user, SNOWFLAKE_WAREHOUSE: sf.warehouse,
    SNOWFLAKE_DATABASE: sf.database, SNOWFLAKE_SCHEMA: sf.schema, SNOWFLAKE_ROLE: sf.role,
  };
}

/**
 * Run pipeline steps in order: acquire → ingest → enrich (Spotify; skipped without credentials) → load →
 * transform → publish. Staging is the embedded
 * DuckDB file, or PostgreSQL when `STAGING_URL` is set. The warehouse (raw schema, dbt marts, the
 * publish step's reads) is that DuckDB file, or Snowflake with `WAREHOUSE=snowflake`: one session for
 * load, transform (dbt target `snowflake`, not transactional) and publish, its QUERY_TAG naming the
 * step. Each run is recorded in `ops.pipeline_runs` (in the DuckDB file).
 * Every step is idempotent, so a rerun after a failure (or a kill) finishes the job.
 */
export async function runPipeline(
  config: Config,
  log: Logger,
  opts: { steps?: readonly PipelineStep[]; onProgress?: (step: PipelineStep) => void; signal?: AbortSignal } = {},
): Promise<PipelineReport> {
  const steps = new Set(opts.steps ?? PIPELINE_STEPS);
  const started = Date.now();
  const report: PipelineReport = { ms: 0 };
  const stepLog = (step: PipelineStep) => {
    opts.onProgress?.(step);
    log.info({ step }, `pipeline: ${step}`);
    return log.child({ step });
  };

  let acquireError: unknown;
  if (steps.has('acquire') || steps.has('ingest')) {
    try {
      report.dataset = await acquireDataset({ source: config.dataset, dataDir: config.dataDir, log: stepLog('acquire'), signal: opts.signal });
    } catch (err) {
      acquireError = err; // recorded in ops.pipeline_runs below, then rethrown
    }
  }
  const session = await DuckDbSession.open(config.duckdbPath);
  const pgStaging = config.stagingUrl ? new PostgresStagingStore(config.stagingUrl, { log }) : null;
  let run: PipelineRunRecorder | null = null;
  let snowflake: SnowflakeSession | undefined;
  /** The warehouse session for a step: the DuckDB file, or the (lazily opened) Snowflake session tagged with the step. */
  const warehouseFor = async (step: PipelineStep): Promise<SqlSession> => {
    if (config.warehouse !== 'snowflake' || !config.snowflake) return session;
    snowflake ??= await SnowflakeSession.open(config.snowflake, { log, queryTag: `music-mcp:${step}` });
    snowflake.setQueryTag(`music-mcp:${step}`);
    return snowflake;
  };
  try {
    run = await PipelineRunRecorder.start(session, {
      runId: config.runId,
      steps: PIPELINE_STEPS.filter((s) => steps.has(s)),
      startedAt: new Date(started),
    });
    if (acquireError) throw acquireError;
    if (steps.has('ingest') && report.dataset) {
      const store = pgStaging ?? new DuckDbStagingStore(session);
      await store.ensureSchema();
      report.ingest = await ingestCsv({
        path: report.dataset.path, store, log: stepLog('ingest'), signal: opts.signal, allowShrink: config.allowShrink,
      });
      await run.update(ingestCounts(report.ingest));
    }
    if (steps.has('enrich')) {
      report.enrich = await runEnrichStep(config, { duckdb: session, log: stepLog('enrich'), ...(opts.signal ? { signal: opts.signal } : {}) });
      if (opts.signal?.aborted) throw new PipelineInterruptedError('enrich', report, opts.signal.reason);
    }
    if (steps.has('load')) {
      const stepLogger = stepLog('load');
      report.load = await loadWarehouse({ staging: pgStaging ?? session, warehouse: await warehouseFor('load'), log: stepLogger });
    }
    if (steps.has('transform')) {
      const stepLogger = stepLog('transform');
      report.transform = await runTransform(config, await warehouseFor('transform'), session, stepLogger, opts.signal);
      await run.update(transformCounts(report.transform));
    }
    if (steps.has('publish')) {
      const stepLogger = stepLog('publish');
      report.publish = await publishSnapshot({ session: await warehouseFor('publish'), runs: session, snapshotDir: config.snapshotDir, log: stepLogger });
      await run.update({ snapshot_version: report.publish.version });
    }
    await run.finish('succeeded');
  } catch (err) {
    if (run) await recordFailure(run, err, log);
    throw err;
  } finally {
    await pgStaging?.close();
    await snowflake?.close();
    await session.close();
  }
  report.ms = Date.now() - started;
  log.info({ ms: report.ms, version: report.publish?.version }, 'pipeline finished');
  return report;
}

/** The dbt step: dbt-core as a subprocess (config.dbt.engine `core`) or the embedded runner, on the step's warehouse. */
async function runTransform(
  config: Config,
  warehouse: SqlSession,
  session: DuckDbSession,
  log: Logger,
  signal: AbortSignal | undefined,
): Promise<DbtRunReport> {
  if (config.dbt.engine === 'core') {
    // dbt-core opens the warehouse itself: a DuckDB file is released for it (one writer at a time).
    const core = {
      executable: config.dbt.executable, projectDir: DBT_PROJECT_DIR, target: warehouse.dialect === 'snowflake' ? 'snowflake' as const : 'duckdb' as const, log,
      // Credentials reach dbt through the inherited environment; a key path is passed resolved, as the config reads it.
      env: { MUSIC_DUCKDB_PATH: config.duckdbPath, ...snowflakeDbtEnv(config), SNOWFLAKE_PRIVATE_KEY_PATH: config.snowflake?.privateKeyPath },
      ...(signal ? { signal } : {}),
    };
    return warehouse.dialect === 'duckdb' ? session.releasedWhile(() => runDbtCore(core)) : runDbtCore(core);
  }
  return runDbtProject(
    warehouse.dialect === 'snowflake'
      ? { projectDir: DBT_PROJECT_DIR, session: warehouse, target: 'snowflake', transactional: false, env: snowflakeDbtEnv(config), log }
      : { projectDir: DBT_PROJECT_DIR, session: warehouse, target: 'duckdb', log },
  );
}

/** A failed run's record: what it counted before failing, then the failure itself. */
async function recordFailure(run: PipelineRunRecorder, err: unknown, log: Logger): Promise<void> {
  // A file with no valid rows stages nothing, but what was read and rejected is part of the record.
  if (err instanceof NoValidRowsError) await run.update(ingestCounts(err.counts)).catch(() => undefined);
  // A failed dbt run is rolled back: keep its test counts, but models_built stays NULL (nothing was built).
  const failedTransform = (err as { report?: DbtRunReport }).report;
  if (failedTransform?.tests) {
    const { tests_passed, tests_failed } = transformCounts(failedTransform);
    await run.update({ tests_passed, tests_failed }).catch(() => undefined);
  }
  await run.finish('failed', err).catch((e: unknown) => log.warn({ err: e }, 'could not record the failed run in ops.pipeline_runs'));
}
