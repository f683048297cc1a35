import { loadConfig } from '../src/config.js';
import { MusicError, StagingShrinkError } from '../src/errors.js';
import { createConsoleLogger } from '../src/log.js';
import { EXIT, exitCodeFor, exitCodeForSignal } from '../src/pipeline/exit-codes.js';
import { PipelineInterruptedError, runPipeline, type PipelineReport, type PipelineStep } from '../src/pipeline/run.js';
import { printable } from '../src/pipeline/runs.js';

/**
 * Shared entry for the pipeline scripts (each one a task of the Airflow DAG): parse config once,
 * run the given steps, print the JSON report on stdout (scripts are not the MCP stdio channel),
 * exit non-zero with a one-line reason on failure. Exit codes: src/pipeline/exit-codes.ts (75 when
 * enrichment stopped early and a later run resumes it, 78 when settings or credentials are refused).
 * The other steps still run after such an enrichment stop (it is optional); the code says it happened.
 * `--allow-shrink` on the command line lets this run's ingest delete more than half of a source's rows
 * (otherwise such a load is refused with exit 65).
 */
export async function runSteps(steps: readonly PipelineStep[]): Promise<PipelineReport> {
  // SIGINT / SIGTERM (Ctrl-C, Airflow stopping the task) abort the running step: steps that stop
  // cleanly (enrich, ingest) keep their finished work for the next run. A second signal exits at once.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(exitCodeForSignal(signal));
    process.stderr.write(`${signal}: stopping cleanly (send it again to exit at once)\n`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: PipelineReport;
  try {
    const config = loadConfig();
    if (process.argv.includes('--allow-shrink')) config.allowShrink = true;
    // On a terminal: one progress line per step; for programs (Airflow, cron): JSON records.
    const { log } = createConsoleLogger(config.logLevel, config.logFormat);
    report = await runPipeline(config, log, { steps, signal: controller.signal });
  } catch (err) {
    if (err instanceof PipelineInterruptedError) {
      process.stdout.write(`${JSON.stringify(summarize(steps, err.report), null, 2)}\n`);
      process.stderr.write(`pipeline ${err.message}\n`);
      process.exit(exitCodeForSignal(controller.signal.reason));
    }
    if (err instanceof StagingShrinkError) {
      process.stderr.write(`${printable(err.message)}\n`);
      process.exit(EXIT.SHRINK_REFUSED);
    }
    const message = err instanceof MusicError ? err.message : String((err as Error)?.stack ?? err);
    // Control characters (a file's bytes quoted in a message) are escaped, never sent to the terminal.
    process.stderr.write(`pipeline failed: ${printable(message)}\n`);
    process.exit(exitCodeFor(err));
  }
  const enrich = report.enrich;
  let code: number = EXIT.OK;
  if (enrich?.skipped) process.stderr.write(`enrich skipped: ${enrich.reason}\n`);
  else if (enrich?.stopKind === 'configuration') {
    process.stderr.write(`enrich stopped: ${enrich.reason}; fix the setting, then run it again (exit ${EXIT.CONFIG})\n`);
    code = EXIT.CONFIG;
  } else if (enrich?.interrupted) {
    process.stderr.write(`enrich stopped early (${enrich.reason}); finished work is kept, run it again later to resume (exit ${EXIT.TEMPFAIL})\n`);
    code = EXIT.TEMPFAIL;
  }
  process.stdout.write(`${JSON.stringify(summarize(steps, report), null, 2)}\n`);
  if (code !== EXIT.OK) process.exit(code);
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
