/**
 * A small dbt runner: compiles and runs a standard dbt project (views, tables, generic and
 * singular tests) on a SqlSession, for where real dbt is not installed.
 */
export { compileDbtProject, type CompileOptions } from './compile.js';
export { runDbtProject, DbtRunError, type RunOptions } from './runner.js';
export { Relation, quoteIdent } from './jinja.js';
export type {
  CompiledModel,
  CompiledProject,
  CompiledTest,
  DbtRunReport,
  DependsOn,
  GenericTestKind,
  ModelConfig,
  SourceTable,
  TargetInfo,
} from './types.js';
