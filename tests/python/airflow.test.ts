/**
 * The DAG under real Airflow (.venv-airflow: apache-airflow 3.1.8, python/requirements-airflow.txt),
 * in a temporary AIRFLOW_HOME with its SQLite metadata database:
 * - DagBag imports airflow/dags/ with no import error, and the DAG is the documented one;
 * - `airflow dags test music_pipeline` runs the real steps on the TidyTuesday file (Variables from
 *   AIRFLOW_VAR_*, enrichment off): every task green (enrich skipped), one ops.pipeline_runs row for
 *   the DAG run, and the published snapshot is the version that row records;
 * - the same with PostgreSQL staging through an Airflow Connection and dbt-core as the transform.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSession } from '../../src/warehouse/duckdb.js';
import { DATASET_PATH, REPO_ROOT } from '../helpers/dataset.js';
import { createScratchDatabase, postgresUnavailable } from '../helpers/postgres.js';
import { venv } from '../helpers/python.js';

const af = venv('airflow');
const dbtVenv = venv('dbt');
const TASKS = ['ingest', 'enrich', 'load', 'transform', 'publish', 'freshness'];
let home: string;

/** The environment of an Airflow command: the temp home, no examples, this repository's dags folder, and Variables. */
function airflowEnv(vars: Record<string, string> = {}, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_FOLDER: join(REPO_ROOT, 'airflow', 'dags'),
    ...extra,
  };
  for (const [name, value] of Object.entries(vars)) env[`AIRFLOW_VAR_${name.toUpperCase()}`] = value;
  return env;
}

function run(program: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(program, args, { cwd: REPO_ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

const tail = (r: SpawnSyncReturns<string>) => `${r.stdout}\n${r.stderr}`.split('\n').slice(-60).join('\n');

/** Task states of the DAG's runs, from the metadata database. */
function taskStates(): { task_id: string; state: string; run_id: string }[] {
  const script = [
    'import json, sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1])',
    "rows = c.execute(\"SELECT task_id, state, run_id FROM task_instance WHERE dag_id = 'music_pipeline'\").fetchall()",
    'print(json.dumps([dict(task_id=t, state=s, run_id=r) for t, s, r in rows]))',
  ].join('\n');
  const r = run(af.bin('python'), ['-c', script, join(home, 'airflow.db')], airflowEnv());
  expect(r.status, tail(r)).toBe(0);
  return JSON.parse(r.stdout) as { task_id: string; state: string; run_id: string }[];
}

/** `airflow dags test` for one logical date; returns the DAG run's task states and its run id, and logs the wall time. */
function dagsTest(label: string, date: string, vars: Record<string, string>, extra: Record<string, string> = {}) {
  const before = new Set(taskStates().map((t) => t.run_id));
  const started = Date.now();
  const r = run(af.bin('airflow'), ['dags', 'test', 'music_pipeline', date], airflowEnv(vars, extra));
  console.error(`airflow dags test (${label}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  expect(r.status, tail(r)).toBe(0);
  const states = taskStates().filter((t) => !before.has(t.run_id));
  const runIds = [...new Set(states.map((t) => t.run_id))];
  expect(runIds, tail(r)).toHaveLength(1);
  return { runId: runIds[0]!, states: Object.fromEntries(states.map((t) => [t.task_id, t.state])), output: r };
}

/** The pipeline's run record for a DAG run, and the snapshot version that is published (snapshots/CURRENT). */
async function recorded(dataDir: string, runId: string) {
  const session = await DuckDbSession.open(join(dataDir, 'warehouse.duckdb'));
  try {
    const rows = await session.all<{ steps: string; status: string; snapshot_version: string; models_built: number; tests_passed: number; tests_failed: number }>(
      `SELECT steps, status, snapshot_version, models_built, tests_passed, tests_failed FROM ops.pipeline_runs WHERE run_id = '${runId.replace(/'/g, "''")}'`,
    );
    return { rows, current: readFileSync(join(dataDir, 'snapshots', 'CURRENT'), 'utf8').trim() };
  } finally {
    await session.close();
  }
}

describe.runIf(af.run)(`Airflow runs the music_pipeline DAG${af.skipNote}`, () => {
  beforeAll(() => {
    af.assertPresent();
    home = mkdtempSync(join(tmpdir(), 'music-airflow-'));
    const r = run(af.bin('airflow'), ['db', 'migrate'], airflowEnv());
    expect(r.status, tail(r)).toBe(0);
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('DagBag imports airflow/dags with no import error: one DAG, six tasks in order, the shared env from default_args', () => {
    const script = [
      'import json',
      'from airflow.models.dagbag import DagBag',
      "bag = DagBag(dag_folder='airflow/dags', include_examples=False)",
      "dag = bag.dags.get('music_pipeline')",
      'print(json.dumps({',
      "  'errors': {k: str(v) for k, v in bag.import_errors.items()},",
      "  'dag_ids': sorted(bag.dag_ids),",
      "  'dag_class': type(dag).__module__ if dag else None,",
      "  'order': [t.task_id for t in dag.topological_sort()] if dag else None,",
      "  'env_keys': {t.task_id: sorted((t.env or {}).keys()) for t in dag.tasks} if dag else None,",
      "  'append_env': sorted({t.append_env for t in dag.tasks}) if dag else None,",
      "  'retries': {t.task_id: t.retries for t in dag.tasks} if dag else None,",
      '}))',
    ].join('\n');
    const r = run(af.bin('python'), ['-c', script], airflowEnv());
    expect(r.status, tail(r)).toBe(0);
    const bag = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      errors: Record<string, string>; dag_ids: string[]; dag_class: string; order: string[]; env_keys: Record<string, string[]>; append_env: boolean[]; retries: Record<string, number>;
    };
    expect(bag.errors).toEqual({});
    expect(bag.dag_ids).toEqual(['music_pipeline']);
    expect(bag.dag_class).toMatch(/^airflow\.sdk\./);
    expect(bag.order).toEqual(TASKS);
    const keys = Object.values(bag.env_keys);
    expect(keys[0]).toEqual(expect.arrayContaining(['MUSIC_RUN_ID', 'MUSIC_DATA_DIR', 'MUSIC_DATASET', 'MUSIC_DBT', 'STAGING_URL', 'WAREHOUSE']));
    for (const k of keys) expect(k).toEqual(keys[0]);
    expect(bag.append_env).toEqual([true]);
    expect(bag.retries.freshness).toBe(0);
    expect(bag.retries.ingest).toBeGreaterThanOrEqual(2);
  });

  it('`airflow dags test` runs every step on the TidyTuesday file and publishes the version the run record holds', async () => {
    const dataDir = join(home, 'data-embedded');
    mkdirSync(dataDir);
    const { runId, states } = dagsTest('embedded DuckDB, embedded runner', '2025-01-01', {
      music_project_dir: REPO_ROOT, music_data_dir: dataDir, music_dataset: DATASET_PATH, music_enrich: 'off', music_log_level: 'warn',
    });
    expect(states).toEqual({ ingest: 'success', enrich: 'skipped', load: 'success', transform: 'success', publish: 'success', freshness: 'success' });
    const { rows, current } = await recorded(dataDir, runId);
    expect(rows).toEqual([{ steps: 'acquire,ingest,load,transform,publish', status: 'succeeded', snapshot_version: current, models_built: 15, tests_passed: 128, tests_failed: 0 }]);
  });

  it('with PostgreSQL staging from an Airflow Connection and dbt-core as the transform', async (ctx) => {
    const why = (await postgresUnavailable()) ?? (dbtVenv.present ? null : '.venv-dbt is missing (npm run setup:python)');
    if (why) {
      if (dbtVenv.run && !dbtVenv.present) dbtVenv.assertPresent();
      ctx.skip(why);
    }
    const db = await createScratchDatabase('music_airflow');
    try {
      const dataDir = join(home, 'data-postgres');
      mkdirSync(dataDir);
      const { runId, states } = dagsTest(
        'PostgreSQL staging, dbt-core',
        '2025-01-02',
        {
          music_project_dir: REPO_ROOT, music_data_dir: dataDir, music_dataset: DATASET_PATH, music_enrich: 'off', music_log_level: 'warn',
          music_staging: 'postgres', music_dbt: dbtVenv.bin('dbt'),
        },
        { AIRFLOW_CONN_MUSIC_STAGING_POSTGRES: db.url },
      );
      expect(states).toEqual({ ingest: 'success', enrich: 'skipped', load: 'success', transform: 'success', publish: 'success', freshness: 'success' });
      // Staged in PostgreSQL, built by dbt-core (its run_results.json lists the models), published.
      const [staged] = await db.query<{ n: string }>('SELECT count(*) AS n FROM staging.tracks');
      expect(Number(staged!.n)).toBeGreaterThan(30_000);
      const results = JSON.parse(readFileSync(join(REPO_ROOT, 'dbt', 'target', 'run_results.json'), 'utf8')) as { metadata: { dbt_version: string }; results: unknown[] };
      expect(results.metadata.dbt_version).toMatch(/^1\.11\./);
      expect(results.results).toHaveLength(143);
      const { rows, current } = await recorded(dataDir, runId);
      expect(rows).toEqual([{ steps: 'acquire,ingest,load,transform,publish', status: 'succeeded', snapshot_version: current, models_built: 15, tests_passed: 128, tests_failed: 0 }]);
    } finally {
      await db.drop();
    }
  });
});
