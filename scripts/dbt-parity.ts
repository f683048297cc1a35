// Build the marts with the embedded runner and with dbt-core from one loaded warehouse and compare
// them table by table (row counts + order-independent checksums, doubles to 12 significant digits).
//   MUSIC_DATASET=<csv> [MUSIC_DBT=<path to dbt>] npm run dbt:parity
// MUSIC_DBT defaults to .venv-dbt/bin/dbt (npm run setup:python). Exit 1 when any table differs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { compareTransformEngines } from '../src/pipeline/mart-checksum.js';
import { PROJECT_ROOT } from '../src/paths.js';

const config = loadConfig();
const dbt = config.dbt.engine === 'core' ? config.dbt.executable : join(PROJECT_ROOT, '.venv-dbt', 'bin', 'dbt');
const workDir = mkdtempSync(join(tmpdir(), 'music-dbt-parity-'));
try {
  const started = Date.now();
  const parity = await compareTransformEngines({ dataset: config.dataset, dbt, workDir, log: createLogger(config.logLevel) });
  const rows = parity.embedded.map((e) => {
    const c = parity.core.find((t) => t.table === e.table);
    return { table: e.table, rows: e.rows, checksum: e.checksum, core_rows: c?.rows, core_checksum: c?.checksum, equal: !parity.differing.includes(e.table) };
  });
  process.stdout.write(`${JSON.stringify({ dataset: config.dataset, dbt, transformMs: parity.transformMs, totalMs: Date.now() - started, tables: rows, differing: parity.differing }, null, 2)}\n`);
  process.exitCode = parity.differing.length ? 1 : 0;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
