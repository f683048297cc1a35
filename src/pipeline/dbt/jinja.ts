/**
 * dbt's Jinja on nunjucks: the environment, dbt's context (ref, source, config, var, target, env_var,
 * adapter.dispatch, return, …) and the project's macros as callable globals.
 */
import nunjucks from 'nunjucks';
import { TransformError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { SqlFile, Yaml } from './project.js';
import type { TargetInfo } from './types.js';
import { quoteIdent } from '../../warehouse/port.js';

export { quoteIdent };

/** What `ref()`, `source()` and `this` return: renders as `"schema"."identifier"`. */
export class Relation {
  constructor(
    readonly schema: string,
    readonly identifier: string,
    readonly database?: string,
  ) {}
  get name(): string {
    return this.identifier;
  }
  get table(): string {
    return this.identifier;
  }
  render(): string {
    return this.toString();
  }
  toString(): string {
    return `${quoteIdent(this.schema)}.${quoteIdent(this.identifier)}`;
  }
}

/** nunjucks passes `f(a, k=v)` as `f(a, {k: v, __keywords: true})`: split that back apart. */
function splitArgs(args: readonly unknown[]): { positional: unknown[]; kwargs: Record<string, unknown> } {
  const last = args[args.length - 1];
  if (last !== null && typeof last === 'object' && Object.prototype.hasOwnProperty.call(last, '__keywords')) {
    const kwargs: Record<string, unknown> = { ...(last as Record<string, unknown>) };
    delete kwargs['__keywords'];
    return { positional: args.slice(0, -1), kwargs };
  }
  return { positional: [...args], kwargs: {} };
}

/** Thrown by `return(value)` and caught by the macro wrapper, as dbt does. */
class MacroReturn extends Error {
  constructor(readonly value: unknown) {
    super('return() outside a macro');
  }
}

/** Prefix given to macro names while compiling macro files (see loadMacros). */
const RAW_PREFIX = 'dbtmacro__';

let compatInstalled = false;
/**
 * Python-flavoured members dbt authors use: True/False/None, slices, dict.items()/keys()/get(),
 * list.append(), and str.upper()/lower()/strip()/startswith()/endswith()/join()/split().
 * nunjucks' runtime is process-wide, so this is installed once.
 */
function installCompat(): void {
  if (compatInstalled) return;
  compatInstalled = true;
  nunjucks.installJinjaCompat();
  const runtime = (nunjucks as unknown as { runtime: { memberLookup: (...a: unknown[]) => unknown } }).runtime;
  const base = runtime.memberLookup;
  const strMembers: Record<string, (s: string, ...a: any[]) => unknown> = {
    upper: (s) => s.toUpperCase(),
    lower: (s) => s.toLowerCase(),
    strip: (s, chars?: string) => (chars ? s.replace(new RegExp(`^[${escapeClass(chars)}]+|[${escapeClass(chars)}]+$`, 'g'), '') : s.trim()),
    lstrip: (s) => s.trimStart(),
    rstrip: (s) => s.trimEnd(),
    startswith: (s, p: string) => s.startsWith(p),
    endswith: (s, p: string) => s.endsWith(p),
    title: (s) => s.replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
    capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
    join: (s, items: unknown[]) => Array.from(items ?? [], (i) => String(i)).join(s),
    split: (s, sep?: string) => (sep === undefined || sep === null ? s.trim().split(/\s+/).filter(Boolean) : s.split(sep)),
  };
  runtime.memberLookup = function memberLookup(this: unknown, ...args: unknown[]) {
    const [obj, key] = args;
    const str = obj instanceof nunjucks.runtime.SafeString ? String(obj) : obj;
    if (args.length < 4 && typeof str === 'string' && typeof key === 'string' && Object.prototype.hasOwnProperty.call(strMembers, key)) {
      const fn = strMembers[key]!;
      return (...a: unknown[]) => fn(str, ...a);
    }
    return base.apply(this, args);
  };
}
const escapeClass = (chars: string) => chars.replace(/[\\\]^-]/g, '\\$&');

/** `{% do expr %}`: evaluate for side effects, output nothing. */
class DoExtension implements nunjucks.Extension {
  tags = ['do'];
  parse(parser: any, nodes: any): any {
    const tok = parser.nextToken();
    const expr = parser.parseExpression();
    parser.advanceAfterBlockEnd(tok.value);
    return new nodes.CallExtension(this, 'run', new nodes.NodeList(tok.lineno, tok.colno, [expr]), []);
  }
  run(): string {
    return '';
  }
}

/** What the compiler supplies for the node being rendered. */
export interface JinjaHooks {
  ref(name: string, pkg: string | undefined): Relation;
  source(sourceName: string, tableName: string): Relation;
  config(values: Yaml): void;
  configGet(key: string): unknown;
  /** `this`: the relation of the model being compiled (a placeholder while parsing). */
  self(): Relation | undefined;
  model(): Yaml | undefined;
  /** false while parsing (dbt's `execute`), true when compiling for real. */
  executing(): boolean;
}

export interface DbtJinjaOptions {
  projectName: string;
  target: TargetInfo;
  /** Resolved vars: dbt_project.yml vars (global, then project-scoped), then caller overrides. */
  vars: Yaml;
  env: Record<string, string | undefined>;
  macros: SqlFile[];
  hooks: JinjaHooks;
  log?: Logger;
  runStartedAt?: Date;
  invocationId?: string;
}

type Fn = (...args: unknown[]) => unknown;

function isTransformError(e: unknown): e is TransformError {
  return e instanceof TransformError;
}

/** nunjucks does not name the undefined value; quote the expression at the reported position. */
function undefinedHint(msg: string, source: string | undefined): string {
  const at = /\[Line (\d+), Column (\d+)\]/.exec(msg);
  const line = at && source ? source.split('\n')[Number(at[1]) - 1] : undefined;
  const expr = line?.slice(Number(at![2]) - 1).match(/^{{-?\s*(.*?)\s*-?}}/)?.[1];
  return expr
    ? ` — '${expr}' is undefined (or none); define it, pass it in, or fix the spelling`
    : ' — a variable used there (or in a macro it calls) is undefined; define it or fix the spelling';
}

/** The Jinja environment for one compile of one project. */
export class DbtJinja {
  readonly env: nunjucks.Environment;
  /** Human label of what is being rendered, used in error messages (`model 'x' (models/x.sql)`). */
  scope = 'the project';
  private readonly macroNames = new Set<string>();

  constructor(private readonly opts: DbtJinjaOptions) {
    installCompat();
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, dev: true });
    this.env.addExtension('DbtDo', new DoExtension());
    this.env.addFilter('tojson', (v: unknown) => JSON.stringify(v));
    this.env.addFilter('as_text', (v: unknown) => String(v));
    this.env.addFilter('as_bool', (v: unknown) => v === true || String(v).toLowerCase() === 'true');
    this.env.addFilter('as_number', (v: unknown) => Number(v));
    this.installGlobals();
    this.loadMacros(opts.macros);
  }

  get target(): TargetInfo {
    return this.opts.target;
  }

  hasMacro(name: string): boolean {
    return this.macroNames.has(name);
  }

  /** Call a global (macro or builtin) from TypeScript; returns its value (macro output as a string). */
  call(name: string, ...args: unknown[]): unknown {
    const fn = this.env.getGlobal(name) as Fn | undefined;
    if (typeof fn !== 'function') throw new TransformError(`no macro named '${name}'`);
    try {
      return fn(...args);
    } catch (e) {
      throw this.wrapError(e, `macro ${name}`, undefined);
    }
  }

  /** Render a template; errors become TransformError naming `path` and the line. */
  render(source: string, path: string): string {
    try {
      const template = new nunjucks.Template(source, this.env, path, true);
      return template.render({});
    } catch (e) {
      throw this.wrapError(e, path, undefined, source);
    }
  }

  /** Render a YAML string value only when it contains Jinja. */
  renderValue(value: string, path: string): string {
    return /{{|{%/.test(value) ? this.render(value, path).trim() : value;
  }

  private wrapError(e: unknown, path: string, model: string | undefined, source?: string): TransformError {
    const err = e as { message?: string; cause?: unknown; lineno?: number };
    const cause = isTransformError(e) ? e : isTransformError(err.cause) ? err.cause : undefined;
    if (cause) {
      return new TransformError(cause.message.includes(path) ? cause.message : `${cause.message} [in ${path}]`, cause.model ?? model, { cause });
    }
    if (err.cause instanceof MacroReturn) {
      return new TransformError(`${path}: return() used outside a macro; only macros can return values`, model);
    }
    let msg = (err.message ?? String(e))
      .split(RAW_PREFIX)
      .join('')
      .replace(/^\([^)]*\)\s*/, '')
      .replace(/\s*\n\s*/g, ' ')
      .replace(/\] Error: /, '] ')
      .replace(/^Error: /, '');
    if (msg.includes('attempted to output null or undefined value')) msg += undefinedHint(msg, source);
    return new TransformError(`cannot compile ${path}: ${msg}`, model, { cause: e });
  }

  private installGlobals(): void {
    this.installNodeFunctions();
    this.installLookups();
    this.installContext();
    this.installNamingMacros();
  }

  private add(name: string, value: unknown): void {
    this.env.addGlobal(name, value);
  }

  /** ref(), source() and config(): what a model says about itself and what it reads. */
  private installNodeFunctions(): void {
    const { hooks } = this.opts;
    this.add('ref', (...raw: unknown[]) => {
      const { positional } = splitArgs(raw);
      if (positional.length === 1) return hooks.ref(String(positional[0]), undefined);
      if (positional.length === 2) return hooks.ref(String(positional[1]), String(positional[0]));
      throw new TransformError(`${this.scope}: ref() takes a model name (or package and model name), got ${positional.length} arguments`);
    });
    this.add('source', (...raw: unknown[]) => {
      const { positional } = splitArgs(raw);
      if (positional.length !== 2) {
        throw new TransformError(`${this.scope}: source() takes two arguments, source('source_name', 'table_name')`);
      }
      return hooks.source(String(positional[0]), String(positional[1]));
    });
    const config = (...raw: unknown[]) => {
      const { positional, kwargs } = splitArgs(raw);
      const values: Yaml = { ...kwargs };
      for (const p of positional) {
        if (p && typeof p === 'object') Object.assign(values, p);
        else throw new TransformError(`${this.scope}: config() takes keyword arguments, e.g. config(materialized='table')`);
      }
      hooks.config(values);
      return '';
    };
    config.get = (key: unknown, fallback?: unknown) => hooks.configGet(String(key)) ?? fallback ?? null;
    config.require = (key: unknown) => {
      const v = hooks.configGet(String(key));
      if (v === undefined || v === null) throw new TransformError(`${this.scope}: config '${String(key)}' is required but not set`);
      return v;
    };
    this.add('config', config);
  }

  /** var() and env_var(): values from dbt_project.yml / overrides and from the given environment. */
  private installLookups(): void {
    this.add('var', (...raw: unknown[]) => {
      const { positional, kwargs } = splitArgs(raw);
      const name = String(positional[0]);
      if (Object.prototype.hasOwnProperty.call(this.opts.vars, name)) return this.opts.vars[name];
      if (positional.length > 1) return positional[1];
      if ('default' in kwargs) return kwargs['default'];
      throw new TransformError(
        `${this.scope} uses var('${name}') but it is not defined and has no default; add '${name}' under vars: in dbt_project.yml or write var('${name}', <default>)`,
      );
    });
    this.add('env_var', (...raw: unknown[]) => {
      const { positional, kwargs } = splitArgs(raw);
      const name = String(positional[0]);
      const value = this.opts.env[name];
      if (value !== undefined) return value;
      if (positional.length > 1) return positional[1];
      if ('default' in kwargs) return kwargs['default'];
      throw new TransformError(
        `${this.scope} uses env_var('${name}') but ${name} is not set in the environment given to the dbt runner and has no default; set it or write env_var('${name}', '<default>')`,
      );
    });
  }

  /** target, run metadata, log/exceptions, adapter.dispatch, and the per-node this/model/execute. */
  private installContext(): void {
    const { hooks, target } = this.opts;
    const globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    const lazy = (name: string, get: () => unknown) =>
      Object.defineProperty(globals, name, { get, enumerable: true, configurable: true });
    this.add('target', target);
    this.add('project_name', this.opts.projectName);
    this.add('is_incremental', () => false);
    this.add('run_started_at', (this.opts.runStartedAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', '+00:00'));
    this.add('invocation_id', this.opts.invocationId ?? '00000000-0000-0000-0000-000000000000');
    this.add('return', (value: unknown) => {
      throw new MacroReturn(value);
    });
    this.add('log', (msg: unknown, info?: unknown) => {
      this.opts.log?.[info === true ? 'info' : 'debug']({ scope: this.scope }, String(msg));
      return '';
    });
    this.add('exceptions', {
      raise_compiler_error: (msg: unknown) => {
        throw new TransformError(`${this.scope}: ${String(msg)}`);
      },
      warn: (msg: unknown) => {
        this.opts.log?.warn({ scope: this.scope }, String(msg));
        return '';
      },
    });
    this.add('adapter', {
      dispatch: (...raw: unknown[]) => {
        const { positional, kwargs } = splitArgs(raw);
        const name = String(positional[0] ?? kwargs['macro_name']);
        for (const candidate of [`${target.type}__${name}`, `default__${name}`]) {
          const fn = globals[candidate];
          if (typeof fn === 'function') return fn;
        }
        throw new TransformError(
          `${this.scope}: adapter.dispatch('${name}') found neither ${target.type}__${name} nor default__${name}; define one of them in a macro file`,
        );
      },
      quote: (id: unknown) => quoteIdent(String(id)),
    });
    lazy('this', () => hooks.self());
    lazy('model', () => hooks.model());
    lazy('execute', () => hooks.executing());
  }

  /** dbt's built-in naming macros; a project macro of the same name replaces them. */
  private installNamingMacros(): void {
    const { target } = this.opts;
    const builtinSchema = (...raw: unknown[]) => {
      const [custom] = splitArgs(raw).positional;
      if (custom === undefined || custom === null || String(custom).trim() === '') return target.schema;
      return `${target.schema}_${String(custom).trim()}`;
    };
    const builtinAlias = (...raw: unknown[]) => {
      const [custom, node] = splitArgs(raw).positional;
      if (custom !== undefined && custom !== null && String(custom).trim() !== '') return String(custom).trim();
      return String((node as Yaml | undefined)?.['name'] ?? '');
    };
    this.add('default__generate_schema_name', builtinSchema);
    this.add('generate_schema_name', builtinSchema);
    this.add('default__generate_alias_name', builtinAlias);
    this.add('generate_alias_name', builtinAlias);
  }

  /**
   * Compile every macro file and register its macros as globals, so any model or macro can call
   * them. Macro names get a prefix while compiling so that calls between macros of one file go
   * through the registered (return-aware) wrappers too.
   */
  private loadMacros(files: SqlFile[]): void {
    const definedIn = new Map<string, string>();
    for (const file of files) {
      const source = file.sql.replace(/({%-?\s*macro\s+)([A-Za-z_][A-Za-z0-9_]*)/g, `$1${RAW_PREFIX}$2`);
      let exported: Record<string, unknown> = {};
      try {
        const template = new nunjucks.Template(source, this.env, file.path, true) as nunjucks.Template & {
          getExported(cb: (err: unknown, exp: Record<string, unknown> | null) => void): void;
        };
        template.getExported((err, exp) => {
          if (err) throw err;
          exported = exp ?? {};
        });
      } catch (e) {
        throw this.wrapError(e, file.path, undefined);
      }
      for (const [rawName, fn] of Object.entries(exported)) {
        if (!rawName.startsWith(RAW_PREFIX) || typeof fn !== 'function') continue;
        const name = rawName.slice(RAW_PREFIX.length);
        const other = definedIn.get(name);
        if (other) throw new TransformError(`macro '${name}' is defined twice (${other} and ${file.path}); macro names must be unique`);
        definedIn.set(name, file.path);
        this.macroNames.add(name);
        const raw = fn as Fn;
        this.env.addGlobal(name, function macro(this: unknown, ...args: unknown[]) {
          try {
            return raw.apply(this, args);
          } catch (e) {
            if (e instanceof MacroReturn) return e.value;
            throw e;
          }
        });
      }
    }
  }
}

/**
 * Render a profiles.yml value: only `env_var()` is available there (as in dbt, before a target exists).
 */
export function renderProfileValue(value: string, env: Record<string, string | undefined>, path: string): string {
  if (!/{{|{%/.test(value)) return value;
  installCompat();
  const njk = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, dev: true });
  njk.addGlobal('env_var', (...raw: unknown[]) => {
    const { positional, kwargs } = splitArgs(raw);
    const name = String(positional[0]);
    if (env[name] !== undefined) return env[name];
    if (positional.length > 1) return positional[1];
    if ('default' in kwargs) return kwargs['default'];
    throw new TransformError(
      `${path} uses env_var('${name}') but ${name} is not set in the environment given to the dbt runner and has no default; set it or add a default`,
    );
  });
  try {
    return new nunjucks.Template(value, njk, path, true).render({}).trim();
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof TransformError) throw cause;
    throw new TransformError(`cannot render ${path} value ${JSON.stringify(value)}: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}`, undefined, { cause: e });
  }
}
