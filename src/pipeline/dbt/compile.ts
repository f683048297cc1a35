/**
 * Compile a dbt project: parse every model once to find its refs/sources/config (dbt's parse),
 * order the graph, resolve schemas and aliases, render the final SQL of models and tests and
 * write it to target/compiled/<project>/. Needs no database.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TransformError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { genericTestFullName, genericTestName, genericTestSql } from './data-tests.js';
import { didYouMean, topoSort } from './graph.js';
import { DbtJinja, Relation, renderProfileValue, type JinjaHooks } from './jinja.js';
import { refuseModelConfig, refuseTestConfig } from './refusals.js';
import { loadProfile, loadProjectFiles, type GenericTestSpec, type ModelFile, type Yaml } from './project.js';
import type { CompiledModel, CompiledProject, CompiledTest, DependsOn, ModelConfig, SourceTable, TargetInfo } from './types.js';

export interface CompileOptions {
  projectDir: string;
  /** profiles.yml output to use; default: the profile's `target:`. */
  target?: string;
  /** Folder holding profiles.yml; default: the project dir. */
  profilesDir?: string;
  /** Overrides for dbt_project.yml vars (like `dbt --vars`). */
  vars?: Yaml;
  /**
   * The environment `env_var()` reads. The product reads process.env only in src/config.ts, so
   * callers pass what they want visible here; default: none (env_var defaults apply).
   */
  env?: Record<string, string | undefined>;
  log?: Logger;
  /** Write compiled SQL under target/compiled (default true). */
  write?: boolean;
}

const SUPPORTED_MATERIALIZATIONS = ['view', 'table'] as const;
const HOOK_KEYS = ['pre-hook', 'post-hook', 'pre_hook', 'post_hook'];

interface NodeState {
  phase: 'parse' | 'compile';
  label: string;
  model?: ModelFile;
  deps: DependsOn;
  config: Yaml;
  self?: Relation;
  node?: Yaml;
}

const isMapping = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
const pushOnce = (list: string[], v: string) => {
  if (!list.includes(v)) list.push(v);
};
/** A model body is a SELECT: drop a trailing semicolon so it can be wrapped in DDL. */
const cleanSelect = (sql: string) => sql.trim().replace(/;\s*$/, '').trimEnd();

function resolveVars(projectName: string, vars: Yaml, overrides: Yaml | undefined): Yaml {
  const out: Yaml = {};
  for (const [k, v] of Object.entries(vars)) if (!(k === projectName && isMapping(v))) out[k] = v;
  const scoped = vars[projectName];
  if (isMapping(scoped)) Object.assign(out, scoped);
  return { ...out, ...(overrides ?? {}) };
}

function resolveTarget(opts: CompileOptions, projectDir: string, profileName: string, env: Record<string, string | undefined>): TargetInfo {
  const profile = loadProfile(projectDir, opts.profilesDir, profileName, opts.target, (v) => renderProfileValue(v, env, 'profiles.yml'));
  const where = `profiles.yml ${profile.profileName}.outputs.${profile.targetName}`;
  const str = (key: string): string | undefined => {
    const v = profile.output[key];
    if (v === undefined || v === null) return undefined;
    return renderProfileValue(String(v), env, `${where}.${key}`);
  };
  const type = str('type');
  if (!type) throw new TransformError(`${where} has no type: (duckdb, postgres or snowflake)`);
  const schema = str('schema') ?? (type === 'duckdb' ? 'main' : undefined);
  if (!schema) throw new TransformError(`${where} has no schema:; dbt needs a target schema to build into`);
  const target: TargetInfo = {
    name: profile.targetName,
    type: type.toLowerCase(),
    schema,
    profile_name: profile.profileName,
    threads: Number(str('threads') ?? 1) || 1,
  };
  const database = str('database') ?? str('dbname');
  if (database) target.database = database;
  return target;
}

/** Compile the project at `projectDir` (see CompileOptions); writes target/compiled unless write=false. */
export async function compileDbtProject(opts: CompileOptions): Promise<CompiledProject> {
  const files = loadProjectFiles(opts.projectDir);
  const env = opts.env ?? {};
  const target = resolveTarget(opts, files.projectDir, files.profileName, env);
  const vars = resolveVars(files.name, files.vars, opts.vars);
  const modelsByName = new Map(files.models.map((m) => [m.name, m]));

  let state: NodeState = { phase: 'parse', label: 'the project', deps: { models: [], sources: [] }, config: {} };
  const relations = new Map<string, Relation>();
  const sources = new Map<string, SourceTable>();
  const enabled = new Set<string>();
  const finalConfig = new Map<string, ModelConfig>();

  const hooks: JinjaHooks = {
    ref(name, pkg) {
      if (pkg !== undefined && pkg !== files.name) {
        throw new TransformError(`${state.label} refs '${name}' in package '${pkg}', but packages are not supported; ref models of this project only`, state.model?.name);
      }
      if (!modelsByName.has(name)) {
        throw new TransformError(
          `${state.label} refs unknown model '${name}'${didYouMean(name, modelsByName.keys())} (models are the .sql files under ${files.modelPaths.join(', ')})`,
          state.model?.name,
        );
      }
      pushOnce(state.deps.models, name);
      if (state.phase === 'parse') return new Relation(target.schema, name, target.database);
      const rel = relations.get(name);
      if (!rel) {
        throw new TransformError(`${state.label} refs model '${name}', which is disabled (enabled: false); enable it or remove the ref`, state.model?.name);
      }
      return rel;
    },
    source(sourceName, tableName) {
      const key = `${sourceName}.${tableName}`;
      const src = sources.get(key);
      if (!src) {
        const tablesOfSource = [...sources.values()].filter((s) => s.sourceName === sourceName).map((s) => s.name);
        const hint = tablesOfSource.length
          ? `source '${sourceName}' has tables ${tablesOfSource.join(', ')}${didYouMean(tableName, tablesOfSource)}`
          : `declared sources: ${[...new Set([...sources.values()].map((s) => s.sourceName))].join(', ') || '(none)'}${didYouMean(sourceName, new Set([...sources.values()].map((s) => s.sourceName)))}`;
        throw new TransformError(
          `${state.label} uses source('${sourceName}', '${tableName}') but no such source table is declared; ${hint} — declare it under sources: in a .yml file in ${files.modelPaths.join(', ')}`,
          state.model?.name,
        );
      }
      pushOnce(state.deps.sources, key);
      return new Relation(src.schema, src.identifier, src.database);
    },
    config(values) {
      // Models: recorded while parsing (the compile pass must not change what parse resolved).
      // Singular tests: recorded on their only pass (e.g. config(severity='warn')).
      if (state.phase === 'parse' || !state.model) Object.assign(state.config, values);
    },
    configGet(key) {
      return state.config[key];
    },
    self: () => state.self,
    model: () => state.node,
    executing: () => state.phase === 'compile',
  };

  const jinja = new DbtJinja({ projectName: files.name, target, vars, env, macros: files.macros, hooks, ...(opts.log ? { log: opts.log } : {}) });

  // Sources: their schema/identifier may use Jinja (target, var, env_var).
  for (const spec of files.sources) {
    jinja.scope = `source ${spec.sourceName}.${spec.tableName} (${spec.path})`;
    const table: SourceTable = {
      key: `${spec.sourceName}.${spec.tableName}`,
      sourceName: spec.sourceName,
      name: spec.tableName,
      schema: jinja.renderValue(spec.schema, spec.path),
      identifier: jinja.renderValue(spec.identifier, spec.path),
      path: spec.path,
    };
    if (spec.database) table.database = jinja.renderValue(spec.database, spec.path);
    if (spec.loadedAtField) table.loadedAtField = spec.loadedAtField;
    if (spec.freshness !== undefined) table.freshness = spec.freshness;
    if (spec.description) table.description = spec.description;
    sources.set(table.key, table);
  }

  // Parse: render each model once with recording ref/source/config.
  const parsed = new Map<string, { deps: DependsOn; config: Yaml }>();
  for (const model of files.models) {
    const label = `model '${model.name}' (${model.path})`;
    const config: Yaml = { materialized: 'view', ...model.projectConfig, ...model.propertyConfig };
    state = {
      phase: 'parse',
      label,
      model,
      deps: { models: [], sources: [] },
      config,
      self: new Relation(target.schema, model.name, target.database),
      node: nodeOf(model, config),
    };
    jinja.scope = label;
    jinja.render(model.sql, model.path);
    parsed.set(model.name, { deps: state.deps, config: state.config });
    if (state.config['enabled'] !== false) enabled.add(model.name);
  }
  for (const name of enabled) {
    for (const dep of parsed.get(name)!.deps.models) {
      if (!enabled.has(dep)) {
        throw new TransformError(`model '${name}' (${modelsByName.get(name)!.path}) refs model '${dep}', which is disabled (enabled: false); enable it or remove the ref`, name);
      }
    }
  }
  const order = topoSort(new Map([...enabled].map((n) => [n, parsed.get(n)!.deps.models])));

  // Resolve config, schema, alias and relation of every model before compiling any of them.
  for (const name of order) {
    const model = modelsByName.get(name)!;
    const label = `model '${name}' (${model.path})`;
    const raw = parsed.get(name)!.config;
    const materialized = String(raw['materialized'] ?? 'view');
    if (!(SUPPORTED_MATERIALIZATIONS as readonly string[]).includes(materialized)) {
      throw new TransformError(
        `${label}: unsupported materialization '${materialized}'; this runner builds ${SUPPORTED_MATERIALIZATIONS.join(' and ')} only — set materialized to view or table`,
        name,
      );
    }
    const hook = HOOK_KEYS.find((k) => raw[k] !== undefined && raw[k] !== null && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0));
    if (hook) throw new TransformError(`${label}: ${hook} is not supported by this runner; move that SQL into a model`, name);
    refuseModelConfig(name, raw, (key) => configFile(model, key, raw[key]));
    const config: ModelConfig = { ...raw, materialized, enabled: true };
    const node = nodeOf(model, config);
    state = { phase: 'compile', label, model, deps: { models: [], sources: [] }, config, node };
    jinja.scope = label;
    const schema = String(jinja.call('generate_schema_name', optional(config.schema), node)).trim();
    const alias = String(jinja.call('generate_alias_name', optional(config.alias), node)).trim();
    if (!schema || !alias) throw new TransformError(`${label}: generate_schema_name/generate_alias_name returned an empty name`, name);
    relations.set(name, new Relation(schema, alias, target.database));
    finalConfig.set(name, config);
  }

  const targetDir = resolve(files.projectDir, files.targetPath);
  const compiledDir = join(targetDir, 'compiled', files.name);
  const models: CompiledModel[] = [];
  for (const name of order) {
    const model = modelsByName.get(name)!;
    const config = finalConfig.get(name)!;
    const rel = relations.get(name)!;
    const label = `model '${name}' (${model.path})`;
    state = { phase: 'compile', label, model, deps: { models: [], sources: [] }, config, self: rel, node: nodeOf(model, config) };
    jinja.scope = label;
    const sql = cleanSelect(jinja.render(model.sql, model.path));
    if (!sql) throw new TransformError(`${label} compiles to empty SQL; a model must be a SELECT`, name);
    models.push({
      name,
      path: model.path,
      fqn: model.fqn,
      schema: rel.schema,
      alias: rel.identifier,
      relation: rel.toString(),
      materialized: config.materialized as 'view' | 'table',
      config,
      dependsOn: parsed.get(name)!.deps,
      sql,
      compiledPath: join(compiledDir, model.path),
    });
  }

  const tests: CompiledTest[] = [];
  const testNames = new Map<string, string>();
  const addTest = (t: CompiledTest) => {
    const other = testNames.get(t.name);
    if (other) throw new TransformError(`two tests are named '${t.name}' (${other} and ${t.path}); give one a name: or remove the duplicate`);
    testNames.set(t.name, t.path);
    tests.push(t);
  };
  for (const spec of files.tests) {
    const test = compileGenericTest(spec);
    if (test) addTest(test);
  }
  for (const file of files.singularTests) {
    const label = `singular test '${file.name}' (${file.path})`;
    state = { phase: 'compile', label, deps: { models: [], sources: [] }, config: {} };
    jinja.scope = label;
    const sql = cleanSelect(jinja.render(file.sql, file.path));
    if (!sql) throw new TransformError(`${label} is empty; a singular test is a query returning the failing rows`);
    refuseTestConfig(file.path, `singular test '${file.name}'`, state.config);
    const severity = String(state.config['severity'] ?? 'error').toLowerCase() === 'warn' ? 'warn' : 'error';
    const test: CompiledTest = { name: file.name, kind: 'singular', severity, dependsOn: state.deps, sql, path: file.path, compiledPath: join(compiledDir, file.path) };
    if (state.deps.models[0]) test.model = state.deps.models[0];
    addTest(test);
  }

  function compileGenericTest(spec: GenericTestSpec): CompiledTest | undefined {
    const deps: DependsOn = { models: [], sources: [] };
    let relation: string;
    let targetName: string;
    let testType: string = spec.kind;
    let attached: string;
    if (spec.target.type === 'model') {
      if (!enabled.has(spec.target.name)) return undefined; // tests of disabled models are disabled too
      relation = relations.get(spec.target.name)!.toString();
      targetName = spec.target.name;
      attached = spec.target.name;
      deps.models.push(spec.target.name);
    } else {
      const key = `${spec.target.sourceName}.${spec.target.tableName}`;
      const src = sources.get(key)!;
      relation = new Relation(src.schema, src.identifier, src.database).toString();
      targetName = `${spec.target.sourceName}_${spec.target.tableName}`;
      testType = `source_${spec.kind}`;
      attached = `source:${key}`;
      deps.sources.push(key);
    }
    const column = spec.column!;
    const label = `${spec.kind} test on ${attached}.${column} (${spec.path})`;
    state = { phase: 'compile', label, deps, config: {} };
    jinja.scope = label;
    const testArgs = { column_name: column, ...spec.args };
    const name = spec.customName ?? genericTestName(testType, targetName, testArgs);
    const fullName = spec.customName ?? genericTestFullName(testType, targetName, testArgs);
    const input: Parameters<typeof genericTestSql>[0] = { kind: spec.kind, model: relation, column };
    if (spec.where) input.where = jinja.renderValue(spec.where, spec.path);
    if (spec.kind === 'accepted_values') {
      input.values = spec.args['values'] as unknown[];
      input.quote = spec.args['quote'] !== false;
    }
    if (spec.kind === 'relationships') {
      const to = String(spec.args['to']).trim();
      input.to = jinja.render(/^{{/.test(to) ? to : `{{ ${to} }}`, spec.path).trim();
      input.field = String(spec.args['field']);
    }
    const test: CompiledTest = {
      name,
      kind: spec.kind,
      model: attached,
      column,
      severity: spec.severity,
      dependsOn: deps,
      sql: genericTestSql(input),
      path: spec.path,
      compiledPath: join(compiledDir, spec.path, `${name}.sql`),
    };
    if (fullName !== name) test.fullName = fullName;
    return test;
  }

  if (opts.write !== false) {
    try {
      const written = new Set<string>();
      for (const node of [...models, ...tests]) {
        writeAtomically(node.compiledPath, `${node.sql}\n`);
        written.add(node.compiledPath);
      }
      removeStale(compiledDir, written);
    } catch (cause) {
      throw new TransformError(`cannot write compiled SQL under ${compiledDir}: ${(cause as Error).message}`, undefined, { cause });
    }
  }
  opts.log?.debug({ project: files.name, target: target.name, models: models.length, tests: tests.length }, 'dbt project compiled');
  return { name: files.name, projectDir: files.projectDir, target, models, tests, sources: [...sources.values()], compiledDir, targetDir };
}

/**
 * Write one file atomically (temp file + rename): another run compiling the same project at the
 * same time (a test run beside a pipeline run) never sees a half-written file.
 */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Drop compiled .sql files of models/tests that no longer exist (files only: safe under concurrent runs). */
function removeStale(dir: string, keep: Set<string>): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // the folder vanished: nothing stale left
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) removeStale(full, keep);
    else if (entry.name.endsWith('.sql') && !keep.has(full)) rmSync(full, { force: true });
  }
}

/** The file that set a model config value: config() in the model, else its property file, else dbt_project.yml. */
function configFile(model: ModelFile, key: string, value: unknown): string {
  if (model.propertyPath && model.propertyConfig[key] === value) return model.propertyPath;
  if (model.projectConfig[key] === value) return 'dbt_project.yml';
  return model.path;
}

function optional(v: unknown): string | null {
  return v === undefined || v === null || v === '' ? null : String(v);
}

/** The `node`/`model` object dbt passes to generate_schema_name and exposes as `model`. */
function nodeOf(model: ModelFile, config: Yaml): Yaml {
  const [project, ...rest] = model.fqn;
  return {
    name: model.name,
    resource_type: 'model',
    package_name: project,
    unique_id: `model.${project}.${model.name}`,
    fqn: model.fqn,
    path: `${rest.join('/')}.sql`,
    original_file_path: model.path,
    config,
    description: model.description ?? '',
  };
}
