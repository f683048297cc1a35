/**
 * Exit codes of the pipeline scripts (`npm run pipeline`, `ingest`, `enrich`, `load`, `transform`,
 * `publish-snapshot`, `scripts/freshness.ts`), chosen so an orchestrator can act on them without
 * reading the output. The numbers follow BSD sysexits.h where one fits; the Airflow DAG
 * (airflow/dags/music_pipeline.py) repeats TEMPFAIL and CONFIG and `tests/airflow-dag.test.ts`
 * holds the two files to the same values.
 *
 * | code | meaning | an orchestrator should |
 * |---|---|---|
 * | 0 | completed | carry on |
 * | 1 | failed (a bug, a failing dbt test, a stale source, bad data) | look at the message |
 * | 64 | wrong command-line usage | fix the command |
 * | 65 | a source file would delete more than half of its staged rows (a truncated download?) | check the file; rerun with `--allow-shrink` if the shrink is real |
 * | 75 | stopped early, resumable (rate limit, spent quota, outage, the dataset download unreachable); finished work is kept | retry later (minutes) |
 * | 78 | configuration or credentials refused | fix the settings; retrying cannot help |
 * | 130 / 143 | stopped by SIGINT / SIGTERM; finished work is kept | rerun when wanted |
 */
import { ConfigError, DatasetError, StagingShrinkError } from '../errors.js';
import { SpotifyAuthError, SpotifyCircuitOpenError, SpotifyError } from '../spotify/errors.js';

export const EXIT = {
  OK: 0,
  FAILED: 1,
  /** EX_USAGE: an unknown option or step. */
  USAGE: 64,
  /** EX_DATAERR: a source file would delete more than half of its staged rows; `--allow-shrink` accepts it. */
  SHRINK_REFUSED: 65,
  /** EX_TEMPFAIL: stopped early on a temporary condition; a later rerun resumes. */
  TEMPFAIL: 75,
  /** EX_CONFIG: a setting is missing or wrong, or a service refused the credentials. */
  CONFIG: 78,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an error that ended a script. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof ConfigError) return EXIT.CONFIG;
  if (err instanceof StagingShrinkError) return EXIT.SHRINK_REFUSED;
  if (err instanceof SpotifyAuthError || err instanceof SpotifyCircuitOpenError) return err.retryable ? EXIT.TEMPFAIL : EXIT.CONFIG;
  if (err instanceof SpotifyError) return EXIT.TEMPFAIL;
  if (err instanceof DatasetError && err.temporary) return EXIT.TEMPFAIL;
  return EXIT.FAILED;
}

/** The exit code for a run stopped by a signal (SIGTERM from Airflow or kill; SIGINT from Ctrl-C). */
export function exitCodeForSignal(signal: unknown): ExitCode {
  return String(signal).includes('SIGTERM') ? EXIT.SIGTERM : EXIT.SIGINT;
}
