import { loadConfig } from '../src/config.js';
import { MusicError, StagingShrinkError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { PipelineInterruptedError, runPipeline, type PipelineReport, type PipelineStep } from '../src/pipeline/run.js';
import { printable } from '../src/pipeline/runs.js';

/** Exit status of a run whose ingest refused to delete more than half of a source's staged rows. */
export const EXIT_SHRINK_REFUSED = 65;

/**
 * Shared entry for the pipeline scripts (each one a task of the Airflow DAG): parse config once,
 * run the given steps, print the JSON report on stdout (scripts are not the MCP stdio channel),
 * exit non-zero with a one-line reason on failure (EXIT_SHRINK_REFUSED for a refused shrink).
 * `--allow-shrink` on the command line lets this run's ingest delete more than half of a source's rows.
 */
export async function runSteps(steps: readonly PipelineStep[]): Promise<PipelineReport> {
  // SIGINT / SIGTERM (Ctrl-C, Airflow stopping the task) abort the running step: steps that stop
  // cleanly (enrich, ingest) keep their finished work for the next run. A second signal exits at once.
  const controller = new AbortController();
  const exitCode = (signal: unknown) => (String(signal).includes('SIGTERM') ? 143 : 130);
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(exitCode(signal));
    process.stderr.write(`${signal}: stopping cleanly (send it again to exit at once)\n`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: PipelineReport;
  try {
    const config = loadConfig();
    if (process.argv.includes('--allow-shrink')) config.allowShrink = true;
    const log = createLogger(config.logLevel);
    report = await runPipeline(config, log, { steps, signal: controller.signal });
  } catch (err) {
    if (err instanceof PipelineInterruptedError) {
      process.stdout.write(`${JSON.stringify(summarize(steps, err.report), null, 2)}\n`);
      process.stderr.write(`pipeline ${err.message}\n`);
      process.exit(exitCode(controller.signal.reason));
    }
    if (err instanceof StagingShrinkError) {
      process.stderr.write(`${printable(err.message)}\n`);
      process.exit(EXIT_SHRINK_REFUSED);
    }
    const message = err instanceof MusicError ? err.message : String((err as Error)?.stack ?? err);
    // Control characters (a file's bytes quoted in a message) are escaped, never sent to the terminal.
    process.stderr.write(`pipeline failed: ${printable(message)}\n`);
    process.exit(1);
  }
  if (report.enrich?.skipped) process.stderr.write(`enrich skipped: ${report.enrich.reason}\n`);
  else if (report.enrich?.interrupted) process.stderr.write(`enrich stopped early (${report.enrich.reason}); run it again to resume\n`);
  process.stdout.write(`${JSON.stringify(summarize(steps, report), null, 2)}\n`);
  return report;
}

/** The JSON report printed on stdout. */
function summarize(steps: readonly PipelineStep[], report: PipelineReport): Record<string, unknown> {
  return {
    steps,
    ms: report.ms,
    dataset: report.dataset && { path: report.dataset.path, origin: report.dataset.origin, schema: report.dataset.schema.name, bytes: report.dataset.bytes },
    ingest: report.ingest,
    enrich: report.enrich,
    load: report.load,
    transform: report.transform && {
      ok: report.transform.ok, ms: report.transform.ms, models: report.transform.models.length,
      tests: report.transform.tests.length, testsFailed: report.transform.tests.filter((t) => t.status === 'fail').length,
    },
    publish: report.publish,
  };
}
