/**
 * Shapes shared by the dbt runner: the loaded project, its compiled form and the run report.
 */

/** The chosen profile output, as dbt exposes it to Jinja as `target`. */
export interface TargetInfo {
  /** Output name in profiles.yml (e.g. `duckdb`, `snowflake`). */
  name: string;
  /** Adapter type (`duckdb`, `postgres`, `snowflake`); drives `adapter.dispatch`. */
  type: string;
  schema: string;
  database?: string;
  profile_name: string;
  threads: number;
}

/** Model configuration after merging dbt_project.yml folders, property files and `config()`. */
export interface ModelConfig {
  materialized: string;
  schema?: string;
  alias?: string;
  enabled: boolean;
  [key: string]: unknown;
}

export interface DependsOn {
  /** Model names, in first-seen order. */
  models: string[];
  /** `source.table` keys, in first-seen order. */
  sources: string[];
}

export interface SourceTable {
  /** `source_name.table_name` */
  key: string;
  sourceName: string;
  name: string;
  schema: string;
  identifier: string;
  database?: string;
  loadedAtField?: string;
  freshness?: unknown;
  description?: string;
  /** The property file that declares it (relative to the project). */
  path: string;
}

export type GenericTestKind = 'unique' | 'not_null' | 'accepted_values' | 'relationships';

export interface CompiledModel {
  name: string;
  /** Source file relative to the project dir, e.g. `models/staging/stg_tracks.sql`. */
  path: string;
  fqn: string[];
  schema: string;
  alias: string;
  /** Rendered relation, e.g. `"main_staging"."stg_tracks"`. */
  relation: string;
  materialized: 'view' | 'table';
  config: ModelConfig;
  dependsOn: DependsOn;
  /** The compiled SELECT (no DDL). */
  sql: string;
  /** Absolute path of the file written under target/compiled. */
  compiledPath: string;
}

export interface CompiledTest {
  /** dbt-style unique name, e.g. `unique_dim_tracks_track_id` (dbt's alias: shortened with an md5 past 63 characters). */
  name: string;
  /** dbt's node name when it differs from `name` (a generic test's full synthesised name). */
  fullName?: string;
  kind: GenericTestKind | 'singular';
  /** The model (or `source:src.table`) the test is attached to, when there is one. */
  model?: string;
  column?: string;
  severity: 'error' | 'warn';
  dependsOn: DependsOn;
  /** A query returning the failing rows. */
  sql: string;
  /** Property file or .sql file that defines the test (relative to the project dir). */
  path: string;
  compiledPath: string;
}

export interface CompiledProject {
  name: string;
  projectDir: string;
  target: TargetInfo;
  /** Enabled models in dependency order (every model after the models it refs). */
  models: CompiledModel[];
  tests: CompiledTest[];
  sources: SourceTable[];
  /** `<projectDir>/target/compiled/<project>` */
  compiledDir: string;
  /** `<projectDir>/<target-path>`: run_results.json and manifest.json are written here. */
  targetDir: string;
}

export interface DbtRunReport {
  target: string;
  models: { name: string; relation: string; materialized: string; ms: number }[];
  tests: { name: string; model?: string; status: 'pass' | 'fail' | 'warn'; failures: number; ms: number }[];
  /** Models not built because something upstream (a model or an error-severity test) failed. */
  skipped: string[];
  ok: boolean;
  ms: number;
}
