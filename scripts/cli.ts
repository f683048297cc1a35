import { loadConfig } from '../src/config.js';
import { MusicError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { runPipeline, type PipelineReport, type PipelineStep } from '../src/pipeline/run.js';

/**
 * Shared entry for the pipeline scripts (each one a task of the Airflow DAG): parse config once,
 * run the given steps, print the JSON report on stdout (scripts are not the MCP stdio channel),
 * exit non-zero with a one-line reason on failure.
 */
export async function runSteps(steps: readonly PipelineStep[]): Promise<PipelineReport> {
  let report: PipelineReport;
  try {
    const config = loadConfig();
    const log = createLogger(config.logLevel);
    report = await runPipeline(config, log, { steps });
  } catch (err) {
    const message = err instanceof MusicError ? err.message : String((err as Error)?.stack ?? err);
    process.stderr.write(`pipeline failed: ${message}\n`);
    process.exit(1);
  }
  const summary = {
    steps,
    ms: report.ms,
    dataset: report.dataset && { path: report.dataset.path, origin: report.dataset.origin, schema: report.dataset.schema.name, bytes: report.dataset.bytes },
    ingest: report.ingest,
    load: report.load,
    transform: report.transform && {
      ok: report.transform.ok, ms: report.transform.ms, models: report.transform.models.length,
      tests: report.transform.tests.length, testsFailed: report.transform.tests.filter((t) => t.status === 'fail').length,
    },
    publish: report.publish,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return report;
}
