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
import { loadProfile, loadProjectFiles, type DbtProjectFiles, type GenericTestSpec, type ModelFile, type Yaml } from './project.js';
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
  const compiler = new ProjectCompiler(files, target, resolveVars(files.name, files.vars, opts.vars), env, opts.log);
  compiler.renderSources();
  const order = compiler.parseModels();
  compiler.resolveModels(order);
  const models = order.map((name) => compiler.compileModel(name));
  const tests = compiler.compileTests();
  if (opts.write !== false) writeCompiled(compiler.compiledDir, [...models, ...tests]);
  opts.log?.debug({ project: files.name, target: target.name, models: models.length, tests: tests.length }, 'dbt project compiled');
  return {
    name: files.name,
    projectDir: files.projectDir,
    target,
    models,
    tests,
    sources: [...compiler.sources.values()],
    compiledDir: compiler.compiledDir,
    targetDir: compiler.targetDir,
  };
}

/**
 * One compile of one project, in dbt's steps: render the sources, parse every model once (recording
 * refs, sources and config), order the enabled ones, resolve each model's schema, alias and relation,
 * then render the final SQL of models and tests. The Jinja hooks read the node being rendered from
 * `state`.
 */
class ProjectCompiler {
  readonly sources = new Map<string, SourceTable>();
  readonly targetDir: string;
  readonly compiledDir: string;
  private readonly jinja: DbtJinja;
  private readonly modelsByName: Map<string, ModelFile>;
  private state: NodeState = { phase: 'parse', label: 'the project', deps: { models: [], sources: [] }, config: {} };
  private readonly relations = new Map<string, Relation>();
  private readonly enabled = new Set<string>();
  private readonly parsed = new Map<string, { deps: DependsOn; config: Yaml }>();
  private readonly finalConfig = new Map<string, ModelConfig>();

  constructor(
    private readonly files: DbtProjectFiles,
    private readonly target: TargetInfo,
    vars: Yaml,
    env: Record<string, string | undefined>,
    log: Logger | undefined,
  ) {
    this.modelsByName = new Map(files.models.map((m) => [m.name, m]));
    this.targetDir = resolve(files.projectDir, files.targetPath);
    this.compiledDir = join(this.targetDir, 'compiled', files.name);
    this.jinja = new DbtJinja({ projectName: files.name, target, vars, env, macros: files.macros, hooks: this.hooks(), ...(log ? { log } : {}) });
  }

  /** Which node is being rendered, for the hooks and for error messages. */
  private enter(state: NodeState): void {
    this.state = state;
    this.jinja.scope = state.label;
  }

  private hooks(): JinjaHooks {
    return {
      ref: (name, pkg) => this.ref(name, pkg),
      source: (sourceName, tableName) => this.source(sourceName, tableName),
      config: (values) => {
        // Models: recorded while parsing (the compile pass must not change what parse resolved).
        // Singular tests: recorded on their only pass (e.g. config(severity='warn')).
        if (this.state.phase === 'parse' || !this.state.model) Object.assign(this.state.config, values);
      },
      configGet: (key) => this.state.config[key],
      self: () => this.state.self,
      model: () => this.state.node,
      executing: () => this.state.phase === 'compile',
    };
  }

  private ref(name: string, pkg: string | undefined): Relation {
    const { state, files } = this;
    if (pkg !== undefined && pkg !== files.name) {
      throw new TransformError(`${state.label} refs '${name}' in package '${pkg}', but packages are not supported; ref models of this project only`, state.model?.name);
    }
    if (!this.modelsByName.has(name)) {
      throw new TransformError(
        `${state.label} refs unknown model '${name}'${didYouMean(name, this.modelsByName.keys())} (models are the .sql files under ${files.modelPaths.join(', ')})`,
        state.model?.name,
      );
    }
    pushOnce(state.deps.models, name);
    if (state.phase === 'parse') return new Relation(this.target.schema, name, this.target.database);
    const rel = this.relations.get(name);
    if (!rel) {
      throw new TransformError(`${state.label} refs model '${name}', which is disabled (enabled: false); enable it or remove the ref`, state.model?.name);
    }
    return rel;
  }

  private source(sourceName: string, tableName: string): Relation {
    const key = `${sourceName}.${tableName}`;
    const src = this.sources.get(key);
    if (!src) {
      const declared = [...this.sources.values()];
      const tablesOfSource = declared.filter((s) => s.sourceName === sourceName).map((s) => s.name);
      const hint = tablesOfSource.length
        ? `source '${sourceName}' has tables ${tablesOfSource.join(', ')}${didYouMean(tableName, tablesOfSource)}`
        : `declared sources: ${[...new Set(declared.map((s) => s.sourceName))].join(', ') || '(none)'}${didYouMean(sourceName, new Set(declared.map((s) => s.sourceName)))}`;
      throw new TransformError(
        `${this.state.label} uses source('${sourceName}', '${tableName}') but no such source table is declared; ${hint} — declare it under sources: in a .yml file in ${this.files.modelPaths.join(', ')}`,
        this.state.model?.name,
      );
    }
    pushOnce(this.state.deps.sources, key);
    return new Relation(src.schema, src.identifier, src.database);
  }

  /** Sources: their schema/identifier may use Jinja (target, var, env_var). */
  renderSources(): void {
    const { jinja } = this;
    for (const spec of this.files.sources) {
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
      this.sources.set(table.key, table);
    }
  }

  /** Parse: render each model once with recording ref/source/config; returns the enabled models in build order. */
  parseModels(): string[] {
    const { target } = this;
    for (const model of this.files.models) {
      const config: Yaml = { materialized: 'view', ...model.projectConfig, ...model.propertyConfig };
      this.enter({
        phase: 'parse',
        label: `model '${model.name}' (${model.path})`,
        model,
        deps: { models: [], sources: [] },
        config,
        self: new Relation(target.schema, model.name, target.database),
        node: nodeOf(model, config),
      });
      this.jinja.render(model.sql, model.path);
      this.parsed.set(model.name, { deps: this.state.deps, config: this.state.config });
      if (this.state.config['enabled'] !== false) this.enabled.add(model.name);
    }
    for (const name of this.enabled) {
      for (const dep of this.parsed.get(name)!.deps.models) {
        if (!this.enabled.has(dep)) {
          throw new TransformError(`model '${name}' (${this.modelsByName.get(name)!.path}) refs model '${dep}', which is disabled (enabled: false); enable it or remove the ref`, name);
        }
      }
    }
    return topoSort(new Map([...this.enabled].map((n) => [n, this.parsed.get(n)!.deps.models])));
  }

  /** Resolve config, schema, alias and relation of every model before compiling any of them. */
  resolveModels(order: readonly string[]): void {
    for (const name of order) {
      const model = this.modelsByName.get(name)!;
      const label = `model '${name}' (${model.path})`;
      const raw = this.parsed.get(name)!.config;
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
      this.enter({ phase: 'compile', label, model, deps: { models: [], sources: [] }, config, node });
      const schema = String(this.jinja.call('generate_schema_name', optional(config.schema), node)).trim();
      const alias = String(this.jinja.call('generate_alias_name', optional(config.alias), node)).trim();
      if (!schema || !alias) throw new TransformError(`${label}: generate_schema_name/generate_alias_name returned an empty name`, name);
      this.relations.set(name, new Relation(schema, alias, this.target.database));
      this.finalConfig.set(name, config);
    }
  }

  compileModel(name: string): CompiledModel {
    const model = this.modelsByName.get(name)!;
    const config = this.finalConfig.get(name)!;
    const rel = this.relations.get(name)!;
    const label = `model '${name}' (${model.path})`;
    this.enter({ phase: 'compile', label, model, deps: { models: [], sources: [] }, config, self: rel, node: nodeOf(model, config) });
    const sql = cleanSelect(this.jinja.render(model.sql, model.path));
    if (!sql) throw new TransformError(`${label} compiles to empty SQL; a model must be a SELECT`, name);
    return {
      name,
      path: model.path,
      fqn: model.fqn,
      schema: rel.schema,
      alias: rel.identifier,
      relation: rel.toString(),
      materialized: config.materialized as 'view' | 'table',
      config,
      dependsOn: this.parsed.get(name)!.deps,
      sql,
      compiledPath: join(this.compiledDir, model.path),
    };
  }

  /** Generic tests of enabled models and sources, then singular tests; names must be unique. */
  compileTests(): CompiledTest[] {
    const tests: CompiledTest[] = [];
    const testNames = new Map<string, string>();
    const add = (t: CompiledTest | undefined) => {
      if (!t) return;
      const other = testNames.get(t.name);
      if (other) throw new TransformError(`two tests are named '${t.name}' (${other} and ${t.path}); give one a name: or remove the duplicate`);
      testNames.set(t.name, t.path);
      tests.push(t);
    };
    for (const spec of this.files.tests) add(this.compileGenericTest(spec));
    for (const file of this.files.singularTests) add(this.compileSingularTest(file));
    return tests;
  }

  private compileSingularTest(file: DbtProjectFiles['singularTests'][number]): CompiledTest {
    const label = `singular test '${file.name}' (${file.path})`;
    this.enter({ phase: 'compile', label, deps: { models: [], sources: [] }, config: {} });
    const sql = cleanSelect(this.jinja.render(file.sql, file.path));
    if (!sql) throw new TransformError(`${label} is empty; a singular test is a query returning the failing rows`);
    const { state } = this;
    refuseTestConfig(file.path, `singular test '${file.name}'`, state.config);
    const severity = String(state.config['severity'] ?? 'error').toLowerCase() === 'warn' ? 'warn' : 'error';
    const test: CompiledTest = { name: file.name, kind: 'singular', severity, dependsOn: state.deps, sql, path: file.path, compiledPath: join(this.compiledDir, file.path) };
    if (state.deps.models[0]) test.model = state.deps.models[0];
    return test;
  }

  /** What a generic test runs against: a model (undefined when it is disabled) or a source table. */
  private testSubject(spec: GenericTestSpec): { relation: string; targetName: string; testType: string; attached: string; deps: DependsOn } | undefined {
    if (spec.target.type === 'model') {
      if (!this.enabled.has(spec.target.name)) return undefined; // tests of disabled models are disabled too
      const name = spec.target.name;
      return { relation: this.relations.get(name)!.toString(), targetName: name, testType: spec.kind, attached: name, deps: { models: [name], sources: [] } };
    }
    const key = `${spec.target.sourceName}.${spec.target.tableName}`;
    const src = this.sources.get(key)!;
    return {
      relation: new Relation(src.schema, src.identifier, src.database).toString(),
      targetName: `${spec.target.sourceName}_${spec.target.tableName}`,
      testType: `source_${spec.kind}`,
      attached: `source:${key}`,
      deps: { models: [], sources: [key] },
    };
  }

  private compileGenericTest(spec: GenericTestSpec): CompiledTest | undefined {
    const subject = this.testSubject(spec);
    if (!subject) return undefined;
    const { relation, targetName, testType, attached, deps } = subject;
    const column = spec.column!;
    this.enter({ phase: 'compile', label: `${spec.kind} test on ${attached}.${column} (${spec.path})`, deps, config: {} });
    const testArgs = { column_name: column, ...spec.args };
    const name = spec.customName ?? genericTestName(testType, targetName, testArgs);
    const fullName = spec.customName ?? genericTestFullName(testType, targetName, testArgs);
    const input: Parameters<typeof genericTestSql>[0] = { kind: spec.kind, model: relation, column };
    if (spec.where) input.where = this.jinja.renderValue(spec.where, spec.path);
    if (spec.kind === 'accepted_values') {
      input.values = spec.args['values'] as unknown[];
      input.quote = spec.args['quote'] !== false;
    }
    if (spec.kind === 'relationships') {
      const to = String(spec.args['to']).trim();
      input.to = this.jinja.render(/^{{/.test(to) ? to : `{{ ${to} }}`, spec.path).trim();
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
      compiledPath: join(this.compiledDir, spec.path, `${name}.sql`),
    };
    if (fullName !== name) test.fullName = fullName;
    return test;
  }
}

/** Write every node's compiled SQL, then drop files of nodes that no longer exist. */
function writeCompiled(compiledDir: string, nodes: readonly { compiledPath: string; sql: string }[]): void {
  try {
    const written = new Set<string>();
    for (const node of nodes) {
      writeAtomically(node.compiledPath, `${node.sql}\n`);
      written.add(node.compiledPath);
    }
    removeStale(compiledDir, written);
  } catch (cause) {
    throw new TransformError(`cannot write compiled SQL under ${compiledDir}: ${(cause as Error).message}`, undefined, { cause });
  }
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
