/**
 * Run a compiled dbt project on a SqlSession, like `dbt build`: models in dependency order, each
 * model's tests as soon as everything they read is built, descendants of a failure skipped.
 * Transactional (default on DuckDB and PostgreSQL): all-or-nothing, so a failed run leaves the
 * previously built marts as they were.
 */
import { performance } from 'node:perf_hooks';
import { TransformError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import type { SqlSession } from '../../warehouse/port.js';
import { writeArtifacts, type NodeResult } from './artifacts.js';
import { compileDbtProject, type CompileOptions } from './compile.js';
import { failureCountSql } from './data-tests.js';
import { quoteIdent } from './jinja.js';
import type { CompiledModel, CompiledProject, CompiledTest, DbtRunReport } from './types.js';

/** A failed run; carries the report of what was built and tested before the failure. */
export class DbtRunError extends TransformError {
  constructor(
    message: string,
    readonly report: DbtRunReport,
    model?: string,
    options?: { cause?: unknown },
  ) {
    super(message, model, options);
  }
}

export interface RunOptions extends Omit<CompileOptions, 'log' | 'write'> {
  session: SqlSession;
  log?: Logger;
  /** Wrap the build in BEGIN … COMMIT and roll back on failure. Default: on except for Snowflake (DDL is not transactional there). */
  transactional?: boolean;
}

/** A step failed (no report yet); runDbtProject turns it into a DbtRunError. */
class StepError extends TransformError {}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const elapsed = (t0: number) => Math.round(performance.now() - t0);

/** Compile and run the project; throws DbtRunError if a model or an error-severity test fails. */
export async function runDbtProject(opts: RunOptions): Promise<DbtRunReport> {
  const t0 = performance.now();
  const startedAt = new Date();
  const log = opts.log ?? silentLogger;
  const { session } = opts;
  const compiled = await compileDbtProject({ ...opts, log });
  if (compiled.target.type !== session.dialect) {
    throw new TransformError(
      `dbt target '${compiled.target.name}' is of type ${compiled.target.type} but the session is ${session.dialect}; pick the ${session.dialect} output of profiles.yml (target option)`,
    );
  }
  const transactional = opts.transactional ?? session.dialect !== 'snowflake';
  const report: DbtRunReport = { target: compiled.target.name, models: [], tests: [], skipped: [], ok: true, ms: 0 };
  log.info({ project: compiled.name, target: compiled.target.name, models: compiled.models.length, tests: compiled.tests.length, transactional }, 'dbt run starting');

  if (transactional) {
    try {
      await session.run('BEGIN TRANSACTION');
    } catch (cause) {
      throw new DbtRunError(`dbt run could not start a transaction: ${(cause as Error).message} (pass transactional: false for engines without transactional DDL)`, report, undefined, { cause });
    }
  }
  const results: NodeResult[] = [];
  const artifacts = () => {
    try {
      writeArtifacts(compiled, results, startedAt, elapsed(t0));
    } catch (err) {
      log.warn({ err, targetDir: compiled.targetDir }, 'dbt run: cannot write run_results.json / manifest.json');
    }
  };
  try {
    await execute(compiled, session, log, report, results);
  } catch (e) {
    report.ok = false;
    report.ms = elapsed(t0);
    artifacts();
    const rolledBack = transactional ? await rollback(session, log) : false;
    const suffix = transactional ? (rolledBack ? ' Nothing was committed; the previous build is intact.' : ' The rollback failed too; check the warehouse.') : '';
    if (e instanceof StepError) throw new DbtRunError(e.message + suffix, report, e.model, { cause: e.cause });
    if (e instanceof TransformError) throw new DbtRunError(e.message + suffix, report, e.model, { cause: e });
    throw new DbtRunError(`dbt run failed: ${(e as Error).message}.${suffix}`, report, undefined, { cause: e });
  }

  const failed = report.tests.filter((t) => t.status === 'fail');
  report.ok = failed.length === 0 && report.skipped.length === 0;
  report.ms = elapsed(t0);
  artifacts();
  if (!report.ok) {
    const rolledBack = transactional ? await rollback(session, log) : false;
    const what = failed.map((t) => `${t.name} (${t.failures} failing row${t.failures === 1 ? '' : 's'})`).join(', ');
    const skipped = report.skipped.length ? `; skipped downstream: ${report.skipped.join(', ')}` : '';
    const tail = transactional ? (rolledBack ? ' Nothing was committed; the previous build is intact.' : ' The rollback failed too; check the warehouse.') : '';
    log.error({ failed: failed.map((t) => t.name), skipped: report.skipped }, 'dbt run failed');
    throw new DbtRunError(
      `dbt tests failed: ${what}${skipped}. Inspect the compiled test SQL under ${compiled.compiledDir} and fix the data or the model.${tail}`,
      report,
      failed[0]?.model,
    );
  }
  if (transactional) {
    try {
      await session.run('COMMIT');
    } catch (cause) {
      report.ok = false;
      await rollback(session, log);
      throw new DbtRunError(`dbt run built and tested everything but COMMIT failed: ${(cause as Error).message}; nothing was committed — run it again`, report, undefined, { cause });
    }
  }
  log.info({ models: report.models.length, tests: report.tests.length, ms: report.ms }, 'dbt run finished');
  return report;
}

async function rollback(session: SqlSession, log: Logger): Promise<boolean> {
  try {
    await session.run('ROLLBACK');
    return true;
  } catch (err) {
    log.error({ err }, 'dbt run: ROLLBACK failed');
    return false;
  }
}

/** dbt's run_results message of a finished test. */
function testMessage(failures: number, status: string): string | null {
  if (status === 'pass') return null;
  return `Got ${failures} result${failures === 1 ? '' : 's'}, configured to ${status === 'warn' ? 'warn' : 'fail'} if != 0`;
}

/** Run `step` on `node`, recording its result (an error is recorded, then rethrown). */
async function timed<T>(results: NodeResult[], node: NodeResult['node'], step: () => Promise<T>, record: (value: T) => Pick<NodeResult, 'status' | 'message' | 'failures'>): Promise<T> {
  const startedAt = new Date();
  try {
    const value = await step();
    results.push({ node, startedAt, completedAt: new Date(), ...record(value) });
    return value;
  } catch (err) {
    results.push({ node, startedAt, completedAt: new Date(), status: 'error', message: (err as Error).message, failures: null });
    throw err;
  }
}

async function execute(compiled: CompiledProject, session: SqlSession, log: Logger, report: DbtRunReport, results: NodeResult[]): Promise<void> {
  const built = new Set<string>();
  /** Models that failed an error-severity test or were skipped: their descendants are skipped. */
  const blocked = new Set<string>();
  /** Sources that failed an error-severity test: models reading them are skipped. */
  const blockedSources = new Set<string>();
  const pending = [...compiled.tests];
  const schemas = new Set<string>();

  const runReadyTests = async () => {
    for (let i = 0; i < pending.length; ) {
      const test = pending[i]!;
      if (!test.dependsOn.models.every((m) => built.has(m))) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const result = await timed(results, test, () => runTest(test, session), (r) => ({ status: r.status, message: testMessage(r.failures, r.status), failures: r.failures }));
      report.tests.push(result);
      const fields = { test: test.name, model: test.model, status: result.status, failures: result.failures, ms: result.ms };
      if (result.status === 'pass') log.info(fields, 'dbt test passed');
      else if (result.status === 'warn') log.warn(fields, 'dbt test warned');
      else {
        log.error(fields, 'dbt test failed');
        for (const m of test.dependsOn.models) if (test.model === m || test.kind === 'singular') blocked.add(m);
        for (const src of test.dependsOn.sources) if (test.model === `source:${src}` || test.kind === 'singular') blockedSources.add(src);
      }
    }
  };

  await runReadyTests(); // tests on sources only
  for (const model of compiled.models) {
    const upstream =
      model.dependsOn.models.find((m) => blocked.has(m)) ?? model.dependsOn.sources.find((src) => blockedSources.has(src));
    if (upstream) {
      report.skipped.push(model.name);
      results.push({ node: model, status: 'skipped', message: null, failures: null });
      blocked.add(model.name);
      log.warn({ model: model.name, because: upstream }, 'dbt model skipped: an upstream model or test failed');
      continue;
    }
    const t0 = performance.now();
    await timed(results, model, () => buildModel(model, session, schemas), () => ({ status: 'success', message: 'OK', failures: null }));
    const ms = elapsed(t0);
    built.add(model.name);
    report.models.push({ name: model.name, relation: model.relation, materialized: model.materialized, ms });
    log.info({ model: model.name, relation: model.relation, materialized: model.materialized, ms }, 'dbt model built');
    await runReadyTests();
  }
  // Tests of skipped models never became ready.
  for (const test of pending) results.push({ node: test, status: 'skipped', message: null, failures: null });
}

async function buildModel(model: CompiledModel, session: SqlSession, schemas: Set<string>): Promise<void> {
  const fail = (cause: unknown): never => {
    throw new StepError(
      `model '${model.name}' (${model.path}) failed to build as ${model.materialized} ${model.relation}: ${(cause as Error).message} — fix the model SQL (compiled SQL: ${model.compiledPath})`,
      model.name,
      { cause },
    );
  };
  try {
    if (!schemas.has(model.schema)) {
      await session.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(model.schema)}`);
      schemas.add(model.schema);
    }
    // A relation switching between view and table must be dropped first (CREATE OR REPLACE cannot change the kind).
    // Names compare case-insensitively: Snowflake (QUOTED_IDENTIFIERS_IGNORE_CASE) stores "marts"."dim_tracks" as MARTS.DIM_TRACKS.
    const existing = await session.all<{ table_type: string }>(
      `select table_type from information_schema.tables where upper(table_schema) = upper(${sqlString(model.schema)}) and upper(table_name) = upper(${sqlString(model.alias)})`,
    );
    const kind = existing[0]?.table_type?.toUpperCase();
    const dropCascade = session.dialect === 'postgres' ? ' CASCADE' : '';
    if (kind === 'VIEW' && model.materialized === 'table') await session.run(`DROP VIEW ${model.relation}${dropCascade}`);
    if (kind && kind !== 'VIEW' && model.materialized === 'view') await session.run(`DROP TABLE ${model.relation}${dropCascade}`);
    const keyword = model.materialized === 'table' ? 'TABLE' : 'VIEW';
    if (session.dialect === 'postgres') {
      // PostgreSQL has no CREATE OR REPLACE TABLE, and views cannot change columns in place.
      if (kind) await session.run(`DROP ${keyword} IF EXISTS ${model.relation} CASCADE`);
      await session.run(`CREATE ${keyword} ${model.relation} AS (\n${model.sql}\n)`);
    } else {
      await session.run(`CREATE OR REPLACE ${keyword} ${model.relation} AS (\n${model.sql}\n)`);
    }
  } catch (cause) {
    fail(cause);
  }
}

async function runTest(test: CompiledTest, session: SqlSession): Promise<DbtRunReport['tests'][number]> {
  const t0 = performance.now();
  let failures: number;
  try {
    const rows = await session.all<{ failures: unknown }>(failureCountSql(test.sql));
    failures = Number(rows[0]?.failures ?? 0);
  } catch (cause) {
    throw new StepError(
      `test '${test.name}' (${test.path}) could not run: ${(cause as Error).message} — check the column and model names it uses (compiled SQL: ${test.compiledPath})`,
      test.model,
      { cause },
    );
  }
  const status = failures === 0 ? 'pass' : test.severity === 'warn' ? 'warn' : 'fail';
  const result: DbtRunReport['tests'][number] = { name: test.name, status, failures, ms: elapsed(t0) };
  if (test.model) result.model = test.model;
  return result;
}
