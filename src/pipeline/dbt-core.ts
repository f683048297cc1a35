/**
 * The transform step on dbt-core (`MUSIC_DBT=core` or a path to dbt): `dbt build` of the project in a
 * child process, its console output sent to the log (never to stdout), and its
 * `target/run_results.json` + `manifest.json` read back into the same report the embedded runner
 * gives, so the run record (ops.pipeline_runs) and the publish step do not depend on the engine.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TransformError } from '../errors.js';
import type { Logger } from '../log.js';
import { DbtRunError, type DbtRunReport } from './dbt/index.js';

export interface DbtCoreOptions {
  /** `dbt` (found on PATH) or the path of a dbt executable. */
  executable: string;
  projectDir: string;
  target: 'duckdb' | 'snowflake';
  /** Added to the child's environment (profiles.yml reads MUSIC_DUCKDB_PATH, SNOWFLAKE_* through env_var()). */
  env: Record<string, string | undefined>;
  /** Where dbt writes run_results.json, manifest.json and compiled SQL (default `<projectDir>/target`). */
  targetPath?: string;
  log: Logger;
  signal?: AbortSignal;
}

interface RunResult {
  unique_id: string;
  status: string;
  execution_time?: number;
  failures?: number | null;
  message?: string | null;
  relation_name?: string | null;
}
interface ManifestNode {
  name?: string;
  /** A test's relation/file name: its name, or for names of 64+ characters a prefix + md5 (as the embedded runner names tests). */
  alias?: string;
  config?: { materialized?: string };
  attached_node?: string | null;
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (cause) {
    throw new TransformError(`dbt-core left no readable ${what} (${file}): ${(cause as Error).message}`, undefined, { cause });
  }
}

/** run_results.json (+ manifest.json for materializations and tested models) → the runner's report. */
export function reportFromRunResults(targetPath: string, target: string, ms: number): DbtRunReport {
  const results = readJson<{ results: RunResult[] }>(join(targetPath, 'run_results.json'), 'run_results.json').results;
  const manifestFile = join(targetPath, 'manifest.json');
  const nodes = existsSync(manifestFile) ? readJson<{ nodes: Record<string, ManifestNode> }>(manifestFile, 'manifest.json').nodes : {};
  const nameOf = (id: string) => nodes[id]?.name ?? id.split('.')[2] ?? id;
  const report: DbtRunReport = { target, models: [], tests: [], skipped: [], ok: true, ms };
  for (const r of results) {
    const kind = r.unique_id.split('.')[0];
    const resultMs = Math.round((r.execution_time ?? 0) * 1000);
    if (r.status === 'skipped') {
      if (kind === 'model') report.skipped.push(nameOf(r.unique_id));
      continue;
    }
    if (kind === 'model') {
      if (r.status !== 'success') report.ok = false;
      else report.models.push({ name: nameOf(r.unique_id), relation: r.relation_name ?? '', materialized: nodes[r.unique_id]?.config?.materialized ?? '', ms: resultMs });
    } else if (kind === 'test') {
      const status = r.status === 'pass' ? 'pass' : r.status === 'warn' ? 'warn' : 'fail';
      if (status === 'fail') report.ok = false;
      const attached = nodes[r.unique_id]?.attached_node;
      const test: DbtRunReport['tests'][number] = { name: nodes[r.unique_id]?.alias ?? nameOf(r.unique_id), status, failures: r.failures ?? (status === 'fail' ? 1 : 0), ms: resultMs };
      if (attached) test.model = nameOf(attached);
      report.tests.push(test);
    } else if (r.status === 'error' || r.status === 'fail') {
      report.ok = false;
    }
  }
  return report;
}

/** `dbt build` the project; resolves with the report, rejects with DbtRunError when a model or an error-severity test failed. */
export async function runDbtCore(opts: DbtCoreOptions): Promise<DbtRunReport> {
  const started = Date.now();
  const targetPath = opts.targetPath ?? join(opts.projectDir, 'target');
  mkdirSync(targetPath, { recursive: true });
  rmSync(join(targetPath, 'run_results.json'), { force: true }); // never read a previous run's results
  const args = [
    'build', '--project-dir', opts.projectDir, '--profiles-dir', opts.projectDir, '--target', opts.target,
    '--target-path', targetPath, '--log-path', join(targetPath, 'logs'), '--no-use-colors',
  ];
  opts.log.info({ executable: opts.executable, args }, 'dbt-core build');
  const env = { ...process.env, ...opts.env, DBT_SEND_ANONYMOUS_USAGE_STATS: 'false' };
  const child = spawn(opts.executable, args, { cwd: opts.projectDir, env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
  const tail: string[] = [];
  const forward = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (line) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.log.debug({ dbt: line }, 'dbt-core');
    });
  forward(child.stdout);
  forward(child.stderr);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new TransformError(`MUSIC_DBT: cannot run dbt-core '${opts.executable}' (not found); install it (npm run setup:python builds .venv-dbt/bin/dbt) or unset MUSIC_DBT for the embedded runner`, undefined, { cause: err }));
      } else reject(new TransformError(`dbt-core '${opts.executable}' failed to run: ${err.message}`, undefined, { cause: err }));
    });
    child.on('close', (exitCode) => resolve(exitCode));
  });
  const ms = Date.now() - started;
  if (!existsSync(join(targetPath, 'run_results.json')) || code === 2) {
    throw new TransformError(`dbt-core build stopped before running (exit ${code}):\n${tail.join('\n')}`);
  }
  const report = reportFromRunResults(targetPath, opts.target, ms);
  if (code !== 0 || !report.ok) {
    const failed = report.tests.filter((t) => t.status === 'fail').map((t) => t.name);
    throw new DbtRunError(
      `dbt-core build failed (exit ${code})${failed.length ? `; failing tests: ${failed.join(', ')}` : ''}; see ${join(targetPath, 'run_results.json')}:\n${tail.slice(-8).join('\n')}`,
      report,
    );
  }
  opts.log.info({ models: report.models.length, tests: report.tests.length, ms }, 'dbt-core build passed');
  return report;
}
