/**
 * dbt's run artifacts, written by the embedded runner after every run (passed or failed) into
 * `<target-path>/`: `run_results.json` (schema run-results v6) and `manifest.json` (manifest v12),
 * with the fields tools downstream of dbt read — unique ids, statuses, timings, failures, the graph
 * and materializations. Not every field of those schemas is written (no checksums, columns, raw
 * code); see dbt/README.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from './compile.js';
import type { CompiledModel, CompiledProject, CompiledTest } from './types.js';

/** What the runner records per executed (or skipped) node. */
export interface NodeResult {
  node: CompiledModel | CompiledTest;
  status: 'success' | 'error' | 'skipped' | 'pass' | 'fail' | 'warn';
  /** Absent for skipped nodes. */
  startedAt?: Date;
  completedAt?: Date;
  message: string | null;
  /** Failing rows of a test; null for models. */
  failures: number | null;
}

/** Written into metadata.dbt_version: these files come from this runner, not from dbt-core. */
const EMBEDDED_DBT_VERSION = 'embedded';
const RUN_RESULTS_SCHEMA = 'https://schemas.getdbt.com/dbt/run-results/v6.json';
const MANIFEST_SCHEMA = 'https://schemas.getdbt.com/dbt/manifest/v12.json';

const isModel = (n: CompiledModel | CompiledTest): n is CompiledModel => 'relation' in n;

/** dbt's ids: `model.<project>.<name>`, `test.<project>.<name>[.<hash>]`, `source.<project>.<source>.<table>`. */
function uniqueIdOf(project: string, node: CompiledModel | CompiledTest): string {
  if (isModel(node)) return `model.${project}.${node.name}`;
  if (node.kind === 'singular') return `test.${project}.${node.name}`;
  // Generic tests carry a 10-character hash suffix, as dbt's do (a hash of what the test checks, not dbt's own hash input).
  const name = node.fullName ?? node.name;
  const hash = createHash('md5').update(`${name}\0${node.path}\0${node.model ?? ''}\0${node.column ?? ''}`).digest('hex').slice(-10);
  return `test.${project}.${name}.${hash}`;
}

const sourceId = (project: string, key: string) => `source.${project}.${key}`;
const iso = (d: Date) => d.toISOString();

function dependsOnIds(project: string, node: CompiledModel | CompiledTest): string[] {
  return [...node.dependsOn.models.map((m) => `model.${project}.${m}`), ...node.dependsOn.sources.map((s) => sourceId(project, s))];
}

function runResult(project: string, r: NodeResult): Record<string, unknown> {
  const timing =
    r.startedAt && r.completedAt ? [{ name: 'execute', started_at: iso(r.startedAt), completed_at: iso(r.completedAt) }] : [];
  return {
    status: r.status,
    timing,
    thread_id: 'Thread-1',
    execution_time: r.startedAt && r.completedAt ? (r.completedAt.getTime() - r.startedAt.getTime()) / 1000 : 0,
    adapter_response: {},
    message: r.message,
    failures: r.failures,
    unique_id: uniqueIdOf(project, r.node),
    compiled: r.status !== 'skipped',
    compiled_code: r.node.sql,
    relation_name: isModel(r.node) ? r.node.relation : null,
    batch_results: null,
  };
}

/** dbt's FileHash: sha256 of the defining .sql file; generic tests (defined in YAML) have none. */
function checksumOf(compiled: CompiledProject, node: CompiledModel | CompiledTest): { name: string; checksum: string } {
  if (!isModel(node) && node.kind !== 'singular') return { name: 'none', checksum: '' };
  try {
    return { name: 'sha256', checksum: createHash('sha256').update(readFileSync(join(compiled.projectDir, node.path))).digest('hex') };
  } catch {
    return { name: 'none', checksum: '' }; // the file went away since compiling: no hash rather than a wrong one
  }
}

function manifestNode(compiled: CompiledProject, node: CompiledModel | CompiledTest): Record<string, unknown> {
  const project = compiled.name;
  const common = {
    checksum: checksumOf(compiled, node),
    unique_id: uniqueIdOf(project, node),
    name: node.name,
    package_name: project,
    original_file_path: node.path,
    compiled_path: node.compiledPath,
    compiled_code: node.sql,
    depends_on: { macros: [], nodes: dependsOnIds(project, node) },
    database: compiled.target.database ?? null,
  };
  if (isModel(node)) {
    return {
      ...common,
      resource_type: 'model',
      path: node.path.split('/').slice(1).join('/'),
      fqn: node.fqn,
      schema: node.schema,
      alias: node.alias,
      relation_name: node.relation,
      config: { enabled: true, materialized: node.materialized, ...(node.config.schema ? { schema: node.config.schema } : {}), ...(node.config.alias ? { alias: node.config.alias } : {}) },
      language: 'sql',
    };
  }
  const attached = node.model && !node.model.startsWith('source:') ? `model.${project}.${node.model}` : null;
  return {
    ...common,
    resource_type: 'test',
    name: node.fullName ?? node.name,
    path: `${node.name}.sql`,
    // Like dbt: the folders of the defining file below its root folder (models/, tests/), then the name.
    fqn: [project, ...node.path.split('/').slice(1, -1), node.fullName ?? node.name],
    alias: node.name,
    schema: compiled.target.schema,
    config: { enabled: true, materialized: 'test', severity: node.severity.toUpperCase() },
    attached_node: attached,
    column_name: node.column ?? null,
    ...(node.kind === 'singular' ? {} : { test_metadata: { name: node.kind, namespace: null, kwargs: { column_name: node.column } } }),
  };
}

/** Write run_results.json and manifest.json into the project's target folder (each atomically). */
export function writeArtifacts(compiled: CompiledProject, results: NodeResult[], startedAt: Date, elapsedMs: number): void {
  const targetDir = compiled.targetDir;
  const project = compiled.name;
  const invocationId = randomUUID();
  const generatedAt = iso(new Date());
  const metadata = { dbt_version: EMBEDDED_DBT_VERSION, generated_at: generatedAt, invocation_id: invocationId, invocation_started_at: iso(startedAt), env: {} };
  const runResults = {
    metadata: { dbt_schema_version: RUN_RESULTS_SCHEMA, ...metadata },
    results: results.map((r) => runResult(project, r)),
    elapsed_time: elapsedMs / 1000,
    args: { which: 'build', target: compiled.target.name, project_dir: compiled.projectDir },
  };

  const nodes: Record<string, Record<string, unknown>> = {};
  for (const node of [...compiled.models, ...compiled.tests]) nodes[uniqueIdOf(project, node)] = manifestNode(compiled, node);
  const sources: Record<string, Record<string, unknown>> = {};
  for (const s of compiled.sources) {
    sources[sourceId(project, s.key)] = {
      unique_id: sourceId(project, s.key),
      resource_type: 'source',
      package_name: project,
      source_name: s.sourceName,
      name: s.name,
      identifier: s.identifier,
      schema: s.schema,
      database: s.database ?? null,
      path: s.path,
      original_file_path: s.path,
      fqn: [project, s.sourceName, s.name],
      source_description: '',
      loader: '',
      relation_name: [s.database, s.schema, s.identifier].filter((p) => p !== undefined).map((p) => `"${p!.replace(/"/g, '""')}"`).join('.'),
      loaded_at_field: s.loadedAtField ?? null,
      freshness: s.freshness ?? null,
      description: s.description ?? '',
    };
  }
  const parentMap: Record<string, string[]> = {};
  const childMap: Record<string, string[]> = {};
  for (const id of [...Object.keys(nodes), ...Object.keys(sources)]) childMap[id] = [];
  for (const [id, node] of Object.entries(nodes)) {
    const parents = (node['depends_on'] as { nodes: string[] }).nodes;
    parentMap[id] = parents;
    for (const p of parents) childMap[p]?.push(id);
  }
  for (const id of Object.keys(sources)) parentMap[id] = [];
  const manifest = {
    metadata: { dbt_schema_version: MANIFEST_SCHEMA, ...metadata, project_name: project, adapter_type: compiled.target.type },
    nodes,
    sources,
    macros: {},
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled: {},
    parent_map: parentMap,
    child_map: childMap,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
  writeAtomically(join(targetDir, 'run_results.json'), `${JSON.stringify(runResults, null, 2)}\n`);
  writeAtomically(join(targetDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
