/**
 * dbt's generic data tests (unique, not_null, accepted_values, relationships): their SQL, as in
 * dbt-core's default test macros, and their names, as dbt synthesises them.
 */
import { createHash } from 'node:crypto';
import type { GenericTestKind } from './types.js';

/** Python's str() of a YAML scalar, which is what dbt puts in test names. */
function pyStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  return String(value);
}

/**
 * dbt's synthesize_generic_test_names: `<type>_<target>_<args…>` with args sorted by name, each
 * cleaned to [0-9a-zA-Z_]. This is the test node's name (and the middle of its unique_id).
 */
export function genericTestFullName(testType: string, targetName: string, args: Record<string, unknown>): string {
  const flat: string[] = [];
  for (const key of Object.keys(args).sort()) {
    if (key === 'model') continue;
    const value = args[key];
    const parts = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? Object.values(value) : [value];
    flat.push(...parts.map(pyStr));
  }
  const unique = flat.map((a) => a.replace(/[^0-9a-zA-Z_]+/g, '_')).join('__');
  return `${testType}_${targetName}_${unique}`;
}

/** The test's alias (its file and relation name): the full name, or for 64+ characters a 30-character prefix plus an md5. */
export function genericTestName(testType: string, targetName: string, args: Record<string, unknown>): string {
  const full = genericTestFullName(testType, targetName, args);
  if (full.length < 64) return full;
  return `${`${testType}_${targetName}`.slice(0, 30)}_${createHash('md5').update(full).digest('hex')}`;
}

export interface GenericTestSqlInput {
  kind: GenericTestKind;
  /** Rendered relation of the tested model or source. */
  model: string;
  column: string;
  where?: string;
  values?: unknown[];
  quote?: boolean;
  /** Rendered relation of the parent (relationships). */
  to?: string;
  field?: string;
}

function literal(value: unknown, quote: boolean): string {
  if (!quote) return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** The failing-rows query of a generic test. */
export function genericTestSql(t: GenericTestSqlInput): string {
  const model = t.where ? `(select * from ${t.model} where ${t.where}) dbt_subquery` : t.model;
  const col = t.column;
  switch (t.kind) {
    case 'unique':
      return [
        'select',
        `    ${col} as unique_field,`,
        '    count(*) as n_records',
        `from ${model}`,
        `where ${col} is not null`,
        `group by ${col}`,
        'having count(*) > 1',
      ].join('\n');
    case 'not_null':
      return [`select ${col}`, `from ${model}`, `where ${col} is null`].join('\n');
    case 'accepted_values': {
      const values = (t.values ?? []).map((v) => literal(v, t.quote ?? true)).join(', ');
      return [
        'with all_values as (',
        '    select',
        `        ${col} as value_field,`,
        '        count(*) as n_records',
        `    from ${model}`,
        `    group by ${col}`,
        ')',
        'select *',
        'from all_values',
        `where value_field not in (${values})`,
      ].join('\n');
    }
    case 'relationships':
      return [
        'with child as (',
        `    select ${col} as from_field`,
        `    from ${model}`,
        `    where ${col} is not null`,
        '),',
        'parent as (',
        `    select ${t.field} as to_field`,
        `    from ${t.to}`,
        ')',
        'select from_field',
        'from child',
        'left join parent',
        '    on child.from_field = parent.to_field',
        'where parent.to_field is null',
      ].join('\n');
  }
}

/** Wrap a failing-rows query so it returns one row with the number of failures. */
export function failureCountSql(testSql: string): string {
  return `select count(*) as failures from (\n${testSql}\n) dbt_internal_test`;
}
