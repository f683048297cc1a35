/**
 * DAG integrity without Airflow (Airflow itself imports and runs the DAG in tests/python/airflow.test.ts,
 * `npm run test:python`): the DAG file compiles with python3, and its
 * task graph, read with `ast` by airflow/tests/dag_graph.py, runs existing project entry points in
 * the order `npm run pipeline` runs them (PIPELINE_STEPS), with enrich after ingest and the freshness
 * check last.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXIT } from '../src/pipeline/exit-codes.js';
import { PIPELINE_STEPS } from '../src/pipeline/run.js';
import { REPO_ROOT } from './helpers/dataset.js';

const DAG_FILE = join(REPO_ROOT, 'airflow/dags/music_pipeline.py');
const GRAPH_SCRIPT = join(REPO_ROOT, 'airflow/tests/dag_graph.py');
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

interface Graph {
  docstring: string | null;
  dag: Record<string, unknown> & { default_args?: Record<string, unknown> };
  tasks: { task_id: string; operator: string; bash_command: string; env_keys: string[]; [k: string]: unknown }[];
  edges: [string, string][];
  order: string[];
  acyclic: boolean;
}

/** What a task's bash command runs: npm scripts, `npx tsx <file>` scripts and dbt commands. */
function entryPoints(command: string): { npm: string[]; tsx: string[]; dbt: string[] } {
  return {
    npm: [...command.matchAll(/\bnpm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]!),
    tsx: [...command.matchAll(/\bnpx tsx (\S+\.ts)\b/g)].map((m) => m[1]!),
    dbt: [...command.matchAll(/\bdbt (build|run|test|source freshness)\b/g)].map((m) => m[1]!),
  };
}

/** The file an npm script runs (`tsx scripts/x.ts`). */
function npmScriptFile(name: string): string | null {
  const m = /\btsx (\S+\.ts)\b/.exec(PACKAGE.scripts[name] ?? '');
  return m ? m[1]! : null;
}

/** The pipeline steps a script file runs: `runSteps([...])` in scripts/*.ts. */
function stepsOfScript(file: string): string[] {
  const m = /runSteps\(\[([^\]]*)\]\)/.exec(readFileSync(join(REPO_ROOT, file), 'utf8'));
  return m ? [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!) : [];
}

let pycache: string;
let graph: Graph;
beforeAll(() => {
  pycache = mkdtempSync(join(tmpdir(), 'dag-pycache-'));
  graph = JSON.parse(
    execFileSync('python3', [GRAPH_SCRIPT, DAG_FILE], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }),
  ) as Graph;
});
afterAll(() => {
  rmSync(pycache, { recursive: true, force: true });
});

describe('airflow/dags/music_pipeline.py', () => {
  it('authors with airflow.sdk (Airflow 3), falling back to the 2.x imports', () => {
    const source = readFileSync(DAG_FILE, 'utf8');
    expect(source).toMatch(/try:[^\n]*\n\s+from airflow\.sdk import DAG\nexcept ImportError:[^\n]*\n\s+from airflow import DAG/);
  });

  it('compiles with python3 -m py_compile', () => {
    // Bytecode goes to a temp dir, never into the repository.
    execFileSync('python3', ['-m', 'py_compile', DAG_FILE, GRAPH_SCRIPT], {
      env: { ...process.env, PYTHONPYCACHEPREFIX: pycache },
      stdio: 'pipe',
    });
    expect(existsSync(join(REPO_ROOT, 'airflow/dags/__pycache__'))).toBe(false);
  });

  it('is one daily DAG without catchup, with retries ≥ 2 and a delay, tags, and its docstring as doc_md', () => {
    expect(graph.dag).toMatchObject({ dag_id: 'music_pipeline', schedule: '@daily', catchup: false, doc_md_is_module_docstring: true });
    expect(graph.docstring).toMatch(/ingest.*enrich.*load.*transform.*publish.*freshness/s);
    expect(Number(graph.dag.default_args?.retries)).toBeGreaterThanOrEqual(2);
    expect(String(graph.dag.default_args?.retry_delay)).toMatch(/^timedelta\(/);
    expect(graph.dag.tags).toEqual(expect.arrayContaining(['music']));
    // One DuckDB writer: runs must not overlap.
    expect(graph.dag.max_active_runs).toBe(1);
  });

  it('every task is a BashOperator (or the file\'s subclass of it) running existing project entry points', () => {
    expect(graph.tasks.map((t) => t.task_id)).toEqual(['ingest', 'enrich', 'load', 'transform', 'publish', 'freshness']);
    const source = readFileSync(DAG_FILE, 'utf8');
    for (const task of graph.tasks) {
      if (task.operator !== 'BashOperator') expect(source, task.task_id).toContain(`class ${task.operator}(BashOperator):`);
      expect(typeof task.bash_command, task.task_id).toBe('string');
      const ep = entryPoints(task.bash_command);
      expect(ep.npm.length + ep.tsx.length + ep.dbt.length, `${task.task_id} runs no project entry point`).toBeGreaterThan(0);
      for (const name of ep.npm) {
        expect(PACKAGE.scripts, `${task.task_id}: npm run ${name}`).toHaveProperty(name);
        const file = npmScriptFile(name);
        expect(file && existsSync(join(REPO_ROOT, file)), `${task.task_id}: npm run ${name} → ${file}`).toBe(true);
      }
      for (const file of ep.tsx) {
        expect(existsSync(join(REPO_ROOT, file)), `${task.task_id}: ${file} does not exist`).toBe(true);
      }
      if (ep.dbt.length) {
        expect(task.bash_command).toMatch(/cd dbt && dbt build --profiles-dir \. --target "\{\{ var\.value\.get\('music_dbt_target', 'duckdb'\) \}\}"/);
        const profiles = parseYaml(readFileSync(join(REPO_ROOT, 'dbt/profiles.yml'), 'utf8')) as Record<string, { outputs: Record<string, unknown> }>;
        const outputs = Object.values(profiles)[0]?.outputs ?? {};
        expect(Object.keys(outputs)).toContain('duckdb');
      }
    }
  });

  it('runs the steps of `npm run pipeline` (PIPELINE_STEPS) in order, enrich after ingest, freshness last', () => {
    expect(graph.acyclic).toBe(true);
    expect(graph.edges).toEqual([
      ['ingest', 'enrich'], ['enrich', 'load'], ['load', 'transform'], ['transform', 'publish'], ['publish', 'freshness'],
    ]);
    // The pipeline steps each task's scripts run (runSteps([...])), in DAG order; freshness runs none.
    // transform runs `npm run transform` or real dbt: both are the transform step.
    const steps = graph.order.flatMap((id) => {
      const ep = entryPoints(graph.tasks.find((t) => t.task_id === id)!.bash_command);
      return [...ep.npm.map((name) => npmScriptFile(name)!), ...ep.tsx].flatMap(stepsOfScript);
    });
    expect(steps).toEqual([...PIPELINE_STEPS]);
    expect(graph.order.indexOf('enrich')).toBe(graph.order.indexOf('ingest') + 1);
    expect(graph.order.at(-1)).toBe('freshness');
  });

  it('passes configuration from Airflow Variables and Connections, and one run id per DAG run', () => {
    const env = graph.tasks[0]!.env_keys;
    expect(env).toEqual(expect.arrayContaining([
      'MUSIC_RUN_ID', 'MUSIC_DATA_DIR', 'MUSIC_DATASET', 'STAGING_URL', 'WAREHOUSE', 'SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER',
      'SPOTIFY_CLIENT_ID', 'SPOTIFY_CLIENT_SECRET', 'MUSIC_FRESHNESS_MAX_AGE_HOURS', 'MUSIC_ALLOW_SHRINK',
    ]));
    expect(graph.tasks.every((t) => JSON.stringify(t.env_keys) === JSON.stringify(env))).toBe(true);
    expect(env).toContain('MUSIC_DBT');
    // One shared env, in default_args, not repeated per task.
    expect(Object.keys(graph.dag.default_args?.env as Record<string, string>).sort()).toEqual(env);
    expect(graph.dag.default_args?.append_env).toBe(true);
    const source = readFileSync(DAG_FILE, 'utf8');
    expect(source).not.toMatch(/^\s+env=/m);
    expect(source).toContain('"MUSIC_RUN_ID": "{{ run_id }}"');
    expect(source).toContain('conn.music_staging_postgres.get_uri()');
    expect(source).toContain('conn.music_snowflake');
    // The shrink guard's override is an Airflow Variable, off unless set.
    expect(source).toContain(`"MUSIC_ALLOW_SHRINK": "{{ var.value.get('music_allow_shrink', '') }}"`);
  });

  it('enrich: exit 75 is retried after at least 10 minutes, exit 78 fails without a retry (codes as in exit-codes.ts)', () => {
    const source = readFileSync(DAG_FILE, 'utf8');
    expect(source).toMatch(new RegExp(`^EX_TEMPFAIL = ${EXIT.TEMPFAIL}$`, 'm'));
    expect(source).toMatch(new RegExp(`^EX_CONFIG = ${EXIT.CONFIG}$`, 'm'));
    expect(source).toMatch(new RegExp(`^EX_DATAERR = ${EXIT.SHRINK_REFUSED}$`, 'm'));
    // A refused shrink (ingest) fails at once too: retrying the same file cannot change the answer.
    expect(graph.tasks.find((t) => t.task_id === 'ingest')!.operator).toBe('ProjectCommandOperator');
    const enrich = graph.tasks.find((t) => t.task_id === 'enrich')!;
    expect(enrich.operator).toBe('ProjectCommandOperator');
    expect(Number(enrich.retries)).toBeGreaterThanOrEqual(1);
    const delay = /^timedelta\((minutes|seconds|hours)=(\d+)\)$/.exec(String(enrich.retry_delay));
    expect(delay, String(enrich.retry_delay)).not.toBeNull();
    const seconds = Number(delay![2]) * { seconds: 1, minutes: 60, hours: 3600 }[delay![1] as 'seconds' | 'minutes' | 'hours'];
    expect(seconds).toBeGreaterThanOrEqual(600);
  });

  it('ProjectCommandOperator turns exits 65 and 78 into AirflowFailException and leaves 75, 1 and 99 to Airflow', () => {
    // Airflow is not installed here: a minimal stand-in package whose BashOperator fails the way the
    // real one does (AirflowSkipException for 99, AirflowException "... non-zero exit code <n>." otherwise).
    const stub = mkdtempSync(join(tmpdir(), 'airflow-stub-'));
    try {
      const files: Record<string, string> = {
        'airflow/__init__.py': 'class DAG:\n    def __init__(self, *a, **k): pass\n    def __enter__(self): return self\n    def __exit__(self, *a): return False\n',
        'airflow/exceptions.py':
          'class AirflowException(Exception): pass\nclass AirflowFailException(AirflowException): pass\nclass AirflowSkipException(AirflowException): pass\n',
        'airflow/providers/__init__.py': '',
        'airflow/providers/standard/__init__.py': '',
        'airflow/providers/standard/operators/__init__.py': '',
        'airflow/providers/standard/operators/bash.py': [
          'import subprocess',
          'from airflow.exceptions import AirflowException, AirflowSkipException',
          'class BashOperator:',
          '    def __init__(self, task_id, bash_command, **kwargs):',
          '        self.task_id, self.bash_command = task_id, bash_command',
          '    def __rshift__(self, other): return other',
          '    def execute(self, context):',
          '        code = subprocess.run(["bash", "-c", self.bash_command]).returncode',
          '        if code == 99: raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")',
          '        if code != 0: raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {code}.")',
          '        return "ok"',
          '',
        ].join('\n'),
        'pendulum.py': 'def datetime(*a, **k): return None\n',
        'probe.py': [
          'import importlib.util, sys',
          'spec = importlib.util.spec_from_file_location("dag", sys.argv[1])',
          'dag = importlib.util.module_from_spec(spec); spec.loader.exec_module(dag)',
          'for code in (0, 1, 65, 75, 78, 99):',
          '    op = dag.ProjectCommandOperator(task_id="t", bash_command=f"exit {code}")',
          '    try:',
          '        op.execute({}); print(code, "ok")',
          '    except Exception as err:',
          '        print(code, type(err).__name__)',
          '',
        ].join('\n'),
      };
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(stub, file)), { recursive: true });
        writeFileSync(join(stub, file), text);
      }
      const out = execFileSync('python3', [join(stub, 'probe.py'), DAG_FILE], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: stub, PYTHONDONTWRITEBYTECODE: '1' },
      });
      expect(out.trim().split('\n')).toEqual([
        '0 ok', '1 AirflowException', `${EXIT.SHRINK_REFUSED} AirflowFailException`, `${EXIT.TEMPFAIL} AirflowException`, `${EXIT.CONFIG} AirflowFailException`, '99 AirflowSkipException',
      ]);
    } finally {
      rmSync(stub, { recursive: true, force: true });
    }
  });
});
