import { DbtJinja } from './jinja.js';
import { loadProjectFiles } from './project.js';

/**
 * A dbt project's macros, rendered for one adapter outside any model: `call('normalize_name', 'title')`
 * is the SQL expression the project compiles for that adapter. For macros that only build SQL text
 * (no ref, source, config or this).
 */
export function projectMacros(projectDir: string, adapter: string): { call(name: string, ...args: unknown[]): string } {
  const files = loadProjectFiles(projectDir);
  const none = (): never => {
    throw new Error('ref/source/this are not available outside a model');
  };
  const jinja = new DbtJinja({
    projectName: files.name,
    target: { name: adapter, type: adapter, schema: 'transform', profile_name: files.name, threads: 1 },
    vars: {},
    env: {},
    macros: files.macros,
    hooks: { ref: none, source: none, config: () => undefined, configGet: () => undefined, self: () => undefined, model: () => undefined, executing: () => true },
  });
  return { call: (name, ...args) => String(jinja.call(name, ...args)) };
}
