/**
 * Reading a dbt project from disk: dbt_project.yml, profiles.yml, model/macro/test files and the
 * property files (sources, model descriptions, column tests). Nothing here renders model SQL.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TransformError } from '../../errors.js';
import { refuseProjectSurface, refusePropertyFile, refuseTestConfig } from './refusals.js';
import type { GenericTestKind } from './types.js';

const GENERIC_TESTS: readonly GenericTestKind[] = ['unique', 'not_null', 'accepted_values', 'relationships'];

/** Test keys that configure a test rather than parameterise it (dbt's flat, pre-1.8 form). */
const TEST_CONFIG_KEYS = new Set([
  'severity', 'where', 'limit', 'warn_if', 'error_if', 'fail_calc', 'store_failures', 'store_failures_as',
  'enabled', 'tags', 'meta', 'database', 'schema', 'alias',
]);

/** dbt_project.yml `models:` keys that are configs even without a leading `+`. */
const MODEL_CONFIG_KEYS = new Set([
  'materialized', 'schema', 'alias', 'database', 'enabled', 'tags', 'docs', 'persist_docs', 'meta',
  'pre-hook', 'post-hook', 'pre_hook', 'post_hook', 'full_refresh', 'unique_key', 'on_schema_change', 'grants',
  'contract', 'sql_header', 'group', 'access', 'incremental_strategy',
]);
/** Config keys whose values are mappings (so a mapping value is still a config, not a folder). */
const MAPPING_CONFIGS = new Set(['docs', 'persist_docs', 'meta', 'grants', 'contract']);

export type Yaml = Record<string, unknown>;

export interface ModelFile {
  name: string;
  /** Relative to the project dir, with forward slashes. */
  path: string;
  /** [project, ...folders, model] as dbt builds it. */
  fqn: string[];
  sql: string;
  /** Merged `+config` from dbt_project.yml folders. */
  projectConfig: Yaml;
  /** `config:` from the model's property file entry. */
  propertyConfig: Yaml;
  description?: string;
  propertyPath?: string;
}

export interface SqlFile {
  name: string;
  path: string;
  sql: string;
}

export interface SourceSpec {
  sourceName: string;
  tableName: string;
  /** Unrendered; may contain Jinja (`{{ target.schema }}`). */
  schema: string;
  identifier: string;
  database?: string;
  loadedAtField?: string;
  freshness?: unknown;
  description?: string;
  path: string;
}

export type TestTarget = { type: 'model'; name: string } | { type: 'source'; sourceName: string; tableName: string };

export interface GenericTestSpec {
  kind: GenericTestKind;
  target: TestTarget;
  column?: string;
  /** Test arguments (values, quote, to, field, …), excluding config. */
  args: Yaml;
  where?: string;
  severity: 'error' | 'warn';
  customName?: string;
  /** Property file that declares it. */
  path: string;
}

export interface ProfileSpec {
  profileName: string;
  targetName: string;
  output: Yaml;
  path: string;
}

export interface DbtProjectFiles {
  name: string;
  projectDir: string;
  profileName: string;
  modelPaths: string[];
  macroPaths: string[];
  testPaths: string[];
  /** `target-path` (default `target`): compiled SQL goes to <targetPath>/compiled/<project>. */
  targetPath: string;
  vars: Yaml;
  models: ModelFile[];
  macros: SqlFile[];
  singularTests: SqlFile[];
  sources: SourceSpec[];
  tests: GenericTestSpec[];
}

const toPosix = (p: string) => p.split(sep).join('/');
const isMapping = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse a YAML file into a mapping (an empty file is `{}`), naming the file on error. */
function readYamlFile(file: string, label: string): Yaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TransformError(`cannot read ${label} (${file}): ${(cause as Error).message}`, undefined, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new TransformError(`${label} is not valid YAML: ${(cause as Error).message} — fix the file ${file}`, undefined, { cause });
  }
  if (doc === null || doc === undefined) return {};
  if (!isMapping(doc)) throw new TransformError(`${label} must be a YAML mapping at the top level (${file})`);
  return doc;
}

/** Every file under `dir` ending with one of `exts`, sorted, as absolute paths. */
function walk(dir: string, exts: string[]): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, exts));
    else if (exts.some((e) => entry.name.toLowerCase().endsWith(e))) out.push(full);
  }
  return out;
}

function stringList(value: unknown, fallback: string[], key: string): string[] {
  if (value === undefined || value === null) return fallback;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (typeof value === 'string') return [value];
  throw new TransformError(`dbt_project.yml: ${key} must be a list of folder names`);
}

/** Apply dbt_project.yml `models:` folder configs along a model's fqn (nested folders inherit). */
function folderConfig(modelsBlock: unknown, fqn: string[]): Yaml {
  const merged: Yaml = {};
  const apply = (node: Yaml) => {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('+')) merged[key.slice(1)] = value;
      else if (MODEL_CONFIG_KEYS.has(key) && (!isMapping(value) || MAPPING_CONFIGS.has(key))) merged[key] = value;
    }
  };
  let node: unknown = modelsBlock;
  if (!isMapping(node)) return merged;
  apply(node);
  for (const part of fqn) {
    const next: unknown = (node as Yaml)[part];
    if (!isMapping(next)) break;
    node = next;
    apply(next);
  }
  return merged;
}

export function loadProfile(projectDir: string, profilesDir: string | undefined, profileName: string, target: string | undefined, renderValue: (v: string) => string): ProfileSpec {
  const dir = resolve(profilesDir ?? projectDir);
  const path = join(dir, 'profiles.yml');
  if (!existsSync(path)) {
    throw new TransformError(`no profiles.yml in ${dir}; put one next to dbt_project.yml or pass profilesDir`);
  }
  const doc = readYamlFile(path, 'profiles.yml');
  const profile = doc[profileName];
  if (!isMapping(profile)) {
    throw new TransformError(
      `profiles.yml has no profile '${profileName}' (named by profile: in dbt_project.yml); profiles there: ${Object.keys(doc).filter((k) => k !== 'config').join(', ') || '(none)'}`,
    );
  }
  const outputs = profile['outputs'];
  if (!isMapping(outputs)) throw new TransformError(`profiles.yml: profile '${profileName}' has no outputs:`);
  const defaultTarget = typeof profile['target'] === 'string' ? renderValue(profile['target']) : undefined;
  const targetName = target ?? defaultTarget;
  if (!targetName) throw new TransformError(`profiles.yml: profile '${profileName}' has no target:; pass a target (one of ${Object.keys(outputs).join(', ')})`);
  const output = outputs[targetName];
  if (!isMapping(output)) {
    throw new TransformError(`profiles.yml: profile '${profileName}' has no output '${targetName}'; outputs: ${Object.keys(outputs).join(', ')}`);
  }
  return { profileName, targetName, output, path };
}

function parseTestEntry(entry: unknown, target: TestTarget, column: string | undefined, path: string, owner: string): GenericTestSpec {
  let kind: string;
  let body: Yaml = {};
  if (typeof entry === 'string') {
    kind = entry;
  } else if (isMapping(entry)) {
    if (typeof entry['test_name'] === 'string') {
      kind = entry['test_name'];
      body = { ...entry };
      delete body['test_name'];
    } else {
      const keys = Object.keys(entry);
      if (keys.length !== 1) {
        throw new TransformError(`${path}: a test on ${owner} has keys ${keys.join(', ')}; write it as '- <test_name>: {arguments: ..., config: ...}'`);
      }
      kind = keys[0]!;
      const value = entry[kind];
      if (value !== null && value !== undefined && !isMapping(value)) {
        throw new TransformError(`${path}: test '${kind}' on ${owner} must be a mapping of arguments`);
      }
      body = value ?? {};
    }
  } else {
    throw new TransformError(`${path}: unreadable test entry on ${owner}: ${JSON.stringify(entry)}`);
  }
  if (!(GENERIC_TESTS as readonly string[]).includes(kind)) {
    throw new TransformError(
      `${path}: unsupported generic test '${kind}' on ${owner}; this runner supports ${GENERIC_TESTS.join(', ')} (write other checks as singular tests in tests/)`,
    );
  }
  const args: Yaml = {};
  const config: Yaml = {};
  let customName: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key === 'arguments') {
      if (!isMapping(value)) throw new TransformError(`${path}: 'arguments' of test '${kind}' on ${owner} must be a mapping`);
      Object.assign(args, value);
    } else if (key === 'config') {
      if (!isMapping(value)) throw new TransformError(`${path}: 'config' of test '${kind}' on ${owner} must be a mapping`);
      Object.assign(config, value);
    } else if (key === 'name') {
      customName = String(value);
    } else if (TEST_CONFIG_KEYS.has(key)) {
      config[key] = value;
    } else {
      args[key] = value;
    }
  }
  let col = column;
  if (typeof args['column_name'] === 'string') {
    col = args['column_name'];
    delete args['column_name'];
  }
  if (!col) throw new TransformError(`${path}: test '${kind}' on ${owner} needs a column (put it under columns: or pass column_name)`);
  refuseTestConfig(path, `test '${kind}' on ${owner}.${col}`, config);
  const severityRaw = String(config['severity'] ?? 'error').toLowerCase();
  if (severityRaw !== 'error' && severityRaw !== 'warn') {
    throw new TransformError(`${path}: test '${kind}' on ${owner}.${col} has severity '${severityRaw}'; use warn or error`);
  }
  const where = config['where'];
  if (where !== undefined && where !== null && typeof where !== 'string') {
    throw new TransformError(`${path}: config.where of test '${kind}' on ${owner}.${col} must be a SQL string`);
  }
  if (kind === 'accepted_values' && !Array.isArray(args['values'])) {
    throw new TransformError(`${path}: accepted_values on ${owner}.${col} needs values: [...]`);
  }
  if (kind === 'relationships' && (typeof args['to'] !== 'string' || typeof args['field'] !== 'string')) {
    throw new TransformError(`${path}: relationships on ${owner}.${col} needs to: ref('model') (or source(...)) and field: <column>`);
  }
  const spec: GenericTestSpec = { kind: kind as GenericTestKind, target, column: col, args, severity: severityRaw, path };
  if (typeof where === 'string') spec.where = where;
  if (customName) spec.customName = customName;
  return spec;
}

function testsOf(node: Yaml): unknown[] {
  const list = [node['tests'], node['data_tests']].filter((v) => v !== undefined && v !== null);
  const out: unknown[] = [];
  for (const l of list) {
    if (!Array.isArray(l)) throw new TransformError(`tests:/data_tests: must be a list`);
    out.push(...l);
  }
  return out;
}

function isEnabled(entry: unknown): boolean {
  if (!isMapping(entry)) return true;
  const inner = Object.values(entry)[0];
  const check = (m: unknown) => !(isMapping(m) && (m['enabled'] === false || (isMapping(m['config']) && m['config']['enabled'] === false)));
  return check(entry) && (Object.keys(entry).length !== 1 || check(inner));
}

function collectTests(node: Yaml, target: TestTarget, owner: string, path: string, out: GenericTestSpec[]): void {
  for (const entry of testsOf(node)) if (isEnabled(entry)) out.push(parseTestEntry(entry, target, undefined, path, owner));
  const columns = node['columns'];
  if (columns === undefined || columns === null) return;
  if (!Array.isArray(columns)) throw new TransformError(`${path}: columns of ${owner} must be a list`);
  for (const column of columns) {
    if (!isMapping(column) || typeof column['name'] !== 'string') throw new TransformError(`${path}: every column of ${owner} needs a name`);
    for (const entry of testsOf(column)) if (isEnabled(entry)) out.push(parseTestEntry(entry, target, column['name'], path, owner));
  }
}

/**
 * A source property that dbt reads from `config:` (current form) or from the entry itself (before
 * 1.10), the first entry that sets it winning (a table's over its source's). `null` is a value: it
 * switches an inherited setting off (`freshness: null`).
 */
function sourceSetting(entries: Yaml[], key: string): unknown {
  for (const entry of entries) {
    const config = entry['config'];
    if (isMapping(config) && key in config) return config[key];
    if (key in entry) return entry[key];
  }
  return undefined;
}

/** Read every file of the project; no rendering. */
export function loadProjectFiles(projectDir: string): DbtProjectFiles {
  const dir = resolve(projectDir);
  const settings = readProjectSettings(dir);
  const { name, modelPaths } = settings;
  const rel = (abs: string) => toPosix(relative(dir, abs));
  const { models, ymlFiles } = findModels(dir, settings, rel);
  const byName = new Map(models.map((m) => [m.name, m]));
  const sources: SourceSpec[] = [];
  const tests: GenericTestSpec[] = [];
  for (const file of ymlFiles) {
    const path = rel(file);
    const doc = readYamlFile(file, path);
    refusePropertyFile(path, doc);
    readSources(path, doc, sources, tests);
    readModelProperties(path, doc, byName, modelPaths, tests);
  }
  const macros = settings.macroPaths.flatMap((macroPath) =>
    walk(join(dir, macroPath), ['.sql']).map((file) => ({ name: basename(file, '.sql'), path: rel(file), sql: readFileSync(file, 'utf8') })),
  );
  const singularTests = settings.testPaths.flatMap((testPath) => walk(join(dir, testPath), ['.sql']).map((file) => readSingularTest(file, rel)));
  const { profileName, macroPaths, testPaths, targetPath, vars } = settings;
  return { name, projectDir: dir, profileName, modelPaths, macroPaths, testPaths, targetPath, vars, models, macros, singularTests, sources, tests };
}

type ProjectSettings = Pick<DbtProjectFiles, 'name' | 'profileName' | 'modelPaths' | 'macroPaths' | 'testPaths' | 'targetPath' | 'vars'> & {
  /** The `models:` block of dbt_project.yml (folder-level config). */
  modelsBlock: Yaml;
};

/** dbt_project.yml: the project's name, folders, vars and folder-level model config. */
function readProjectSettings(dir: string): ProjectSettings {
  const projectFile = join(dir, 'dbt_project.yml');
  if (!existsSync(projectFile)) throw new TransformError(`no dbt_project.yml in ${dir}; point projectDir at the dbt project folder`);
  const project = readYamlFile(projectFile, 'dbt_project.yml');
  const name = project['name'];
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new TransformError(`dbt_project.yml: name must be a plain identifier (letters, digits, _), got ${JSON.stringify(name)}`);
  }
  const settings: ProjectSettings = {
    name,
    profileName: typeof project['profile'] === 'string' ? project['profile'] : name,
    modelPaths: stringList(project['model-paths'] ?? project['source-paths'], ['models'], 'model-paths'),
    macroPaths: stringList(project['macro-paths'], ['macros'], 'macro-paths'),
    testPaths: stringList(project['test-paths'], ['tests'], 'test-paths'),
    targetPath: typeof project['target-path'] === 'string' ? project['target-path'] : 'target',
    vars: isMapping(project['vars']) ? project['vars'] : {},
    modelsBlock: isMapping(project['models']) ? project['models'] : {},
  };
  refuseProjectSurface(dir, project, settings.modelPaths);
  return settings;
}

/** Every .sql file under the model paths as a model (names unique), and the property files beside them. */
function findModels(dir: string, settings: ProjectSettings, rel: (abs: string) => string): { models: ModelFile[]; ymlFiles: string[] } {
  const models: ModelFile[] = [];
  const byName = new Map<string, ModelFile>();
  const ymlFiles: string[] = [];
  for (const modelPath of settings.modelPaths) {
    const root = join(dir, modelPath);
    for (const file of walk(root, ['.sql'])) {
      const modelName = basename(file, extname(file));
      const folders = toPosix(relative(root, file)).split('/').slice(0, -1);
      const fqn = [settings.name, ...folders, modelName];
      const model: ModelFile = {
        name: modelName,
        path: rel(file),
        fqn,
        sql: readFileSync(file, 'utf8'),
        projectConfig: folderConfig(settings.modelsBlock, fqn),
        propertyConfig: {},
      };
      const clash = byName.get(modelName);
      if (clash) throw new TransformError(`two models are named '${modelName}' (${clash.path} and ${model.path}); model names must be unique — rename one file`, modelName);
      byName.set(modelName, model);
      models.push(model);
    }
    ymlFiles.push(...walk(root, ['.yml', '.yaml']));
  }
  return { models, ymlFiles };
}

/** The `sources:` of one property file, with their tests, appended to `sources` and `tests`. */
function readSources(path: string, doc: Yaml, sources: SourceSpec[], tests: GenericTestSpec[]): void {
  const sourceList = doc['sources'] ?? [];
  if (!Array.isArray(sourceList)) throw new TransformError(`${path}: sources: must be a list`);
  for (const src of sourceList) {
    if (!isMapping(src) || typeof src['name'] !== 'string') throw new TransformError(`${path}: every source needs a name`);
    const sourceName = src['name'];
    const tables = src['tables'] ?? [];
    if (!Array.isArray(tables)) throw new TransformError(`${path}: tables of source '${sourceName}' must be a list`);
    for (const table of tables) {
      if (!isMapping(table) || typeof table['name'] !== 'string') throw new TransformError(`${path}: every table of source '${sourceName}' needs a name`);
      const spec: SourceSpec = {
        sourceName,
        tableName: table['name'],
        schema: String(src['schema'] ?? sourceName),
        identifier: String(table['identifier'] ?? table['name']),
        path,
      };
      const database = src['database'] ?? src['catalog'];
      if (typeof database === 'string') spec.database = database;
      // Table over source; `config:` (dbt 1.10+) over the older top-level keys.
      const loadedAt = sourceSetting([table, src], 'loaded_at_field');
      if (typeof loadedAt === 'string') spec.loadedAtField = loadedAt;
      const freshness = sourceSetting([table, src], 'freshness');
      if (freshness !== undefined) spec.freshness = freshness;
      const description = table['description'] ?? src['description'];
      if (typeof description === 'string') spec.description = description;
      if (sources.some((s) => s.sourceName === sourceName && s.tableName === spec.tableName)) {
        throw new TransformError(`${path}: source table ${sourceName}.${spec.tableName} is declared twice; keep one declaration`);
      }
      sources.push(spec);
      collectTests(table, { type: 'source', sourceName, tableName: spec.tableName }, `source ${sourceName}.${spec.tableName}`, path, tests);
    }
  }
}

/** The `models:` entries of one property file: description and config onto their model, tests appended. */
function readModelProperties(
  path: string,
  doc: Yaml,
  byName: ReadonlyMap<string, ModelFile>,
  modelPaths: readonly string[],
  tests: GenericTestSpec[],
): void {
  const modelList = doc['models'] ?? [];
  if (!Array.isArray(modelList)) throw new TransformError(`${path}: models: must be a list`);
  for (const entry of modelList) {
    if (!isMapping(entry) || typeof entry['name'] !== 'string') throw new TransformError(`${path}: every entry under models: needs a name`);
    const model = byName.get(entry['name']);
    if (!model) {
      throw new TransformError(`${path}: describes model '${entry['name']}' but there is no ${entry['name']}.sql under ${modelPaths.join(', ')}; fix the name or add the model`);
    }
    if (model.propertyPath) throw new TransformError(`model '${model.name}' is described twice (${model.propertyPath} and ${path}); keep one entry`, model.name);
    model.propertyPath = path;
    if (typeof entry['description'] === 'string') model.description = entry['description'];
    if (isMapping(entry['config'])) model.propertyConfig = entry['config'];
    collectTests(entry, { type: 'model', name: model.name }, `model ${model.name}`, path, tests);
  }
}

function readSingularTest(file: string, rel: (abs: string) => string): SqlFile {
  const sql = readFileSync(file, 'utf8');
  if (/{%-?\s*test\s/.test(sql)) {
    throw new TransformError(`${rel(file)} defines a custom generic test ({% test %}); this runner supports only ${GENERIC_TESTS.join(', ')} — write it as a singular test (a query returning failing rows)`);
  }
  return { name: basename(file, '.sql'), path: rel(file), sql };
}
