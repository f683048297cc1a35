/**
 * The dbt constructs this runner does not implement. Each is refused with one message naming the
 * file, the construct and the way out (dbt-core), because reading past it would build something
 * other than what dbt builds — a contract not enforced, a unit test not run, a seed not loaded.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TransformError } from '../../errors.js';

type Yaml = Record<string, unknown>;
const isMapping = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A setting that is present and says something (not null, false, '', [] or {}). */
const isSet = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== '' && !(Array.isArray(v) && v.length === 0) && !(isMapping(v) && Object.keys(v).length === 0);

/** The refusal: `<file>: <construct> …; build with dbt-core (MUSIC_DBT=core) or remove it`. */
function unsupportedConstruct(file: string, construct: string, model?: string): TransformError {
  return new TransformError(
    `${file}: ${construct} is not supported by the embedded dbt runner, which would build without it; build this project with dbt-core (MUSIC_DBT=core) or remove it`,
    model,
  );
}

/** Test configs the runner does not apply (severity, where, enabled are applied; tags, meta are labels). */
const UNSUPPORTED_TEST_CONFIGS = ['warn_if', 'error_if', 'fail_calc', 'store_failures', 'store_failures_as', 'limit'];

/** Refuse a test config key the runner would ignore (`store_failures: false` and `limit: null` are the defaults, so they pass). */
export function refuseTestConfig(file: string, owner: string, config: Yaml): void {
  for (const key of UNSUPPORTED_TEST_CONFIGS) {
    if (isSet(config[key])) throw unsupportedConstruct(file, `test config '${key}' (on ${owner})`);
  }
}

/**
 * Model configs that change what dbt builds and that this runner does not apply: the contract, SQL
 * run before the DDL, grants, comments, a database other than the target's, and adapter DDL options.
 */
const UNSUPPORTED_MODEL_CONFIGS = [
  'sql_header', 'grants', 'database', 'indexes', 'unlogged', 'cluster_by', 'automatic_clustering', 'transient',
  'secure', 'copy_grants', 'query_tag', 'snowflake_warehouse', 'partition_by', 'file_format', 'location',
];

/**
 * Refuse a model config (merged from dbt_project.yml, the property file and `config()`) the runner
 * would ignore; `fileOf(key)` names the file that set it.
 */
export function refuseModelConfig(model: string, config: Yaml, fileOf: (key: string) => string): void {
  const contract = config['contract'];
  if (isMapping(contract) && contract['enforced'] === true) {
    throw unsupportedConstruct(fileOf('contract'), `model '${model}': contract: {enforced: true} (column names and data types are not checked)`, model);
  }
  const docs = config['persist_docs'];
  if (isMapping(docs) && Object.values(docs).some((v) => v === true)) {
    throw unsupportedConstruct(fileOf('persist_docs'), `model '${model}': persist_docs (descriptions are not written as comments)`, model);
  }
  for (const key of UNSUPPORTED_MODEL_CONFIGS) {
    if (isSet(config[key])) throw unsupportedConstruct(fileOf(key), `model '${model}': config '${key}'`, model);
  }
}

/** Top-level keys of a property file whose resources this runner does not build or run. */
const UNSUPPORTED_PROPERTY_BLOCKS: Record<string, string> = {
  unit_tests: 'unit_tests: (unit tests are not run)',
  snapshots: 'snapshots: (snapshots are not built)',
  seeds: 'seeds: (seeds are not loaded)',
};

/** Refuse what a property file declares beyond sources, models and their tests. */
export function refusePropertyFile(file: string, doc: Yaml): void {
  for (const [key, construct] of Object.entries(UNSUPPORTED_PROPERTY_BLOCKS)) {
    if (isSet(doc[key])) throw unsupportedConstruct(file, construct);
  }
  const models = doc['models'];
  if (!Array.isArray(models)) return;
  for (const entry of models) {
    if (!isMapping(entry)) continue;
    for (const key of ['versions', 'latest_version']) {
      if (isSet(entry[key])) throw unsupportedConstruct(file, `model '${String(entry['name'])}': ${key}: (model versions are not built)`, String(entry['name']));
    }
  }
}

/** Files under `dir` (recursively) whose names end with one of `exts`; first few only. */
function filesUnder(dir: string, exts: string[], limit = 3): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  const visit = (d: string, prefix: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= limit) return;
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) visit(join(d, entry.name), rel);
      else if (exts.some((e) => entry.name.toLowerCase().endsWith(e))) out.push(rel);
    }
  };
  visit(dir, '');
  return out;
}

function pathList(value: unknown, fallback: string[]): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return fallback;
}

/**
 * Refuse what the project declares outside models, macros and singular tests: packages, seeds,
 * snapshots, Python models, run hooks and project-wide test configs.
 */
export function refuseProjectSurface(dir: string, project: Yaml, modelPaths: string[]): void {
  for (const file of ['packages.yml', 'dependencies.yml']) {
    const path = join(dir, file);
    if (existsSync(path)) throw unsupportedConstruct(file, 'package dependencies (packages are not installed, their macros and models are missing)');
  }
  const folders: [string, string[], string[], string][] = [
    ['seed-paths', ['seeds'], ['.csv', '.csv.gz', '.parquet'], 'seed file (seeds are not loaded)'],
    ['snapshot-paths', ['snapshots'], ['.sql', '.yml', '.yaml'], 'snapshot (snapshots are not built)'],
  ];
  for (const [key, fallback, exts, construct] of folders) {
    for (const folder of pathList(project[key], fallback)) {
      const found = filesUnder(join(dir, folder), exts, 1)[0];
      if (found) throw unsupportedConstruct(`${folder}/${found}`, construct);
    }
  }
  for (const folder of modelPaths) {
    const found = filesUnder(join(dir, folder), ['.py'], 1)[0];
    if (found) throw unsupportedConstruct(`${folder}/${found}`, 'a Python model (only SQL models are built)');
  }
  for (const key of ['on-run-start', 'on-run-end']) {
    if (isSet(project[key])) throw unsupportedConstruct('dbt_project.yml', `${key} (run hooks are not executed)`);
  }
  for (const key of ['tests', 'data_tests']) {
    if (isSet(project[key])) throw unsupportedConstruct('dbt_project.yml', `the ${key}: config block (project-wide test configs are not applied)`);
  }
}
