/**
 * The dbt project on the snowflake target: every model and test, compiled with the project's runner
 * (compile only), parses as Snowflake SQL with sqlglot (scripts/check-snowflake-sql.py, run by
 * .venv-dbt's Python: `npm run setup:python`). The duckdb target builds and runs in the pipeline
 * tests; dbt-core's own Snowflake compile is checked in tests/python/dbt-snowflake.test.ts.
 * Also: every dispatched macro has a snowflake__ implementation, and the Snowflake accent fold
 * agrees with DuckDB's strip_accents.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDbtProject } from '../src/pipeline/dbt/index.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { venv } from './helpers/python.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PROJECT = join(ROOT, 'dbt');
const SCRIPT = join(ROOT, 'scripts', 'check-snowflake-sql.py');
const tmp = mkdtempSync(join(tmpdir(), 'music-sfsql-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const py = venv('dbt');

/** Compile without touching dbt/target (other runs use it) and write the SQL under `out`. */
async function compileTo(target: 'snowflake' | 'duckdb', out: string): Promise<number> {
  const project = await compileDbtProject({ projectDir: PROJECT, target, env: { SNOWFLAKE_ACCOUNT: 'ci-account', SNOWFLAKE_USER: 'ci', SNOWFLAKE_WAREHOUSE: 'CI_WH', SNOWFLAKE_DATABASE: 'MUSIC' }, write: false });
  const nodes = [...project.models, ...project.tests];
  for (const node of nodes) {
    const file = join(out, node.compiledPath.slice(project.compiledDir.length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${node.sql}\n`);
  }
  return nodes.length;
}

const check = (dir: string) => {
  py.assertPresent();
  return spawnSync(py.bin('python'), [SCRIPT, dir], { encoding: 'utf8' });
};

describe('dbt project compiled for the snowflake target', () => {
  it.runIf(py.run)(`every model and test parses as Snowflake SQL (sqlglot)${py.skipNote}`, async () => {
    const out = join(tmp, 'snowflake');
    const files = await compileTo('snowflake', out);
    expect(files).toBeGreaterThan(90);
    const result = check(out);
    expect(result.stdout + result.stderr).toContain(`${files} of ${files} files pass`);
    expect(result.status).toBe(0);
  });

  it.runIf(py.run)(`the check has teeth: the duckdb compile of the same project fails it${py.skipNote}`, async () => {
    const out = join(tmp, 'duckdb');
    await compileTo('duckdb', out);
    const result = check(out);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/FAIL .*genre_profiles\.sql: quantile_cont\(\) is not a Snowflake function/);
    expect(result.stdout).toMatch(/FAIL .*dim_tracks\.sql: aggregate FILTER clause/);
  });

  it('every adapter.dispatch macro has a snowflake__ implementation', () => {
    const macros = readdirSync(join(PROJECT, 'macros')).map((f) => readFileSync(join(PROJECT, 'macros', f), 'utf8')).join('\n');
    const dispatched = [...macros.matchAll(/adapter\.dispatch\('(\w+)'\)/g)].map((m) => m[1]!);
    expect(dispatched.length).toBeGreaterThanOrEqual(10);
    const missing = dispatched.filter((name) => !new RegExp(`macro snowflake__${name}\\(`).test(macros));
    expect(missing).toEqual([]);
  });

  it('the Snowflake accent fold (TRANSLATE) agrees with DuckDB strip_accents letter by letter', async () => {
    const text = readFileSync(join(PROJECT, 'macros', 'text.sql'), 'utf8');
    const literal = (macro: string) => {
      const body = new RegExp(`macro ${macro}\\(\\) -%\\}([\\s\\S]*?)\\{%- endmacro`).exec(text)![1]!;
      return [...body.matchAll(/'([^']*)'/g)].map((m) => m[1]).join('');
    };
    const from = [...literal('snowflake_accent_fold_from')];
    const to = [...literal('snowflake_accent_fold_to')];
    expect(to.length).toBeGreaterThan(700);
    expect(new Set(from).size).toBe(from.length);
    const db = await DuckDbSession.open(':memory:');
    try {
      const values = from.map((c, i) => `(${i}, '${c}')`).join(', ');
      const rows = await db.all<{ i: number; stripped: string }>(`SELECT i, strip_accents(c) AS stripped FROM (VALUES ${values}) v(i, c) ORDER BY i`);
      const mismatches = rows.filter((r) => r.stripped !== (r.i < to.length ? to[r.i] : ''));
      expect(mismatches).toEqual([]);
      // A few real names through both folds.
      const names = ['Beyoncé', 'Sigur Rós', 'Motörhead', 'Ελευθερία Αρβανιτάκη', 'Ҷалол', 'Tiësto', 'Mon Laferte', 'Ña̧ndú'];
      const f = from.join('').replace(/'/g, "''");
      const t = to.join('').replace(/'/g, "''");
      for (const name of names) {
        const [r] = await db.all<{ a: string; b: string }>(`SELECT strip_accents('${name}') AS a, translate('${name}', '${f}', '${t}') AS b`);
        expect(r!.b, name).toBe(r!.a);
      }
    } finally {
      await db.close();
    }
  });
});
