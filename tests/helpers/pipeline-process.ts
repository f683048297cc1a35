/**
 * The pipeline as a separate process (what `npm run pipeline` runs), killed with SIGKILL at a chosen
 * moment, and reading a DuckDB file it may have left behind. Shared by the kill test and bench/soak.ts.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { REPO_ROOT } from './dataset.js';


/**
 * Run `scripts/pipeline.ts` (or `opts.script`) into `dataDir` on `dataset`, with `opts.args` and extra
 * `opts.env`. With `killIn`, SIGKILL its whole process group (tsx and node) `delayMs` after that step's
 * progress line, and wait until every process of it is gone.
 */
export async function runPipelineProcess(
  dataDir: string,
  dataset: string,
  opts: { killIn?: string; delayMs?: number; script?: string; args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  const script = join(REPO_ROOT, opts.script ?? 'scripts/pipeline.ts');
  const child = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), [script, ...(opts.args ?? [])], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: dataset, LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (opts.killIn && !timer && stderr.includes(`"msg":"pipeline: ${opts.killIn}"`)) {
      timer = setTimeout(() => {
        if (child.exitCode !== null) return;
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }, opts.delayMs ?? 0);
    }
    if (stderr.length > 1_000_000) stderr = stderr.slice(-100_000);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  if (killed) {
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { code, killed, stderr };
}

/** Read a copy of a DuckDB file: the original stays unlocked, and a killed run's WAL is replayed on open. */
export async function readDuckDbCopy<T>(duckdbPath: string, read: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const copy = mkdtempSync(join(tmpdir(), 'music-mcp-duckdb-copy-'));
  try {
    copyFileSync(duckdbPath, join(copy, 'w.duckdb'));
    if (existsSync(`${duckdbPath}.wal`)) copyFileSync(`${duckdbPath}.wal`, join(copy, 'w.duckdb.wal'));
    const instance = await DuckDBInstance.create(join(copy, 'w.duckdb'));
    const conn = await instance.connect();
    try {
      return await read(conn);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
