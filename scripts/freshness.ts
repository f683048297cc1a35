// Source freshness check (the last task of the Airflow DAG): exit 1 when the newest raw.tracks.loaded_at
// in the warehouse is older than MUSIC_FRESHNESS_MAX_AGE_HOURS (default 48), or when nothing is loaded;
// exit 78 on a configuration error (src/pipeline/exit-codes.ts).
import { loadConfig } from '../src/config.js';
import { MusicError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { EXIT, exitCodeFor, type ExitCode } from '../src/pipeline/exit-codes.js';
import { checkFreshness } from '../src/pipeline/freshness.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import type { SqlSession } from '../src/warehouse/port.js';
import { SnowflakeSession } from '../src/warehouse/snowflake.js';

let code: ExitCode = EXIT.FAILED;
try {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const session: SqlSession =
    config.warehouse === 'snowflake' && config.snowflake
      ? await SnowflakeSession.open(config.snowflake, { log, queryTag: 'music-mcp:freshness' })
      : await DuckDbSession.open(config.duckdbPath);
  try {
    const report = await checkFreshness(session, { maxAgeHours: config.freshnessMaxAgeHours });
    (report.ok ? log.info.bind(log) : log.error.bind(log))(report, report.message);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    code = report.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await session.close();
  }
} catch (err) {
  const message = err instanceof MusicError ? err.message : String((err as Error)?.stack ?? err);
  process.stderr.write(`freshness check failed: ${message}\n`);
  code = exitCodeFor(err);
}
process.exit(code);
