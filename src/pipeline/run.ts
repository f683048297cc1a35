import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { DuckDbSession } from '../warehouse/duckdb.js';
import { DuckDbStagingStore } from '../warehouse/staging.js';
import { acquireDataset, type AcquiredDataset } from './acquire.js';
import { runDbtProject, type DbtRunReport } from './dbt/index.js';
import { ingestCsv, type IngestReport } from './ingest.js';
import { loadWarehouse, type LoadReport } from './load.js';
import { publishSnapshot, type PublishReport } from './publish.js';

/** The dbt project shipped with the package. */
export const DBT_PROJECT_DIR = fileURLToPath(new URL('../../dbt', import.meta.url));

export const PIPELINE_STEPS = ['acquire', 'ingest', 'load', 'transform', 'publish'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export interface PipelineReport {
  dataset?: AcquiredDataset;
  ingest?: IngestReport;
  load?: LoadReport;
  transform?: DbtRunReport;
  publish?: PublishReport;
  ms: number;
}

/**
 * Run pipeline steps in order on the embedded store: acquire → ingest → load → transform → publish.
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

  if (steps.has('acquire') || steps.has('ingest')) {
    report.dataset = await acquireDataset({ source: config.dataset, dataDir: config.dataDir, log: stepLog('acquire'), signal: opts.signal });
  }
  const session = await DuckDbSession.open(config.duckdbPath);
  try {
    if (steps.has('ingest') && report.dataset) {
      const store = new DuckDbStagingStore(session);
      await store.ensureSchema();
      report.ingest = await ingestCsv({ path: report.dataset.path, store, log: stepLog('ingest'), signal: opts.signal });
    }
    if (steps.has('load')) report.load = await loadWarehouse({ staging: session, warehouse: session, log: stepLog('load') });
    if (steps.has('transform')) {
      report.transform = await runDbtProject({ projectDir: DBT_PROJECT_DIR, session, target: 'duckdb', log: stepLog('transform') });
    }
    if (steps.has('publish')) {
      report.publish = await publishSnapshot({ session, snapshotDir: config.snapshotDir, log: stepLog('publish') });
    }
  } finally {
    await session.close();
  }
  report.ms = Date.now() - started;
  log.info({ ms: report.ms, version: report.publish?.version }, 'pipeline finished');
  return report;
}
