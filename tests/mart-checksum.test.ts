/**
 * The mart fingerprint that compares the embedded runner with dbt-core (src/pipeline/mart-checksum.ts):
 * independent of row order, blind to differences past 12 significant digits in a double, and
 * changed by any other difference.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { martChecksums } from '../src/pipeline/mart-checksum.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';

let db: DuckDbSession;
beforeEach(async () => {
  db = await DuckDbSession.open(':memory:');
  await db.run('CREATE SCHEMA marts');
});
afterEach(async () => {
  await db.close();
});

async function checksumOf(rows: string): Promise<string> {
  await db.run('CREATE OR REPLACE TABLE marts.t (id VARCHAR, score DOUBLE, tags VARCHAR[], n INTEGER)');
  await db.run(`INSERT INTO marts.t VALUES ${rows}`);
  const [t] = await martChecksums(db);
  return t!.checksum;
}

describe('martChecksums', () => {
  it('lists every base table of the schema with its row count, not views', async () => {
    await db.run('CREATE TABLE marts.b AS SELECT 1 AS x UNION ALL SELECT 2');
    await db.run('CREATE TABLE marts.a AS SELECT 1 AS x');
    await db.run('CREATE VIEW marts.v AS SELECT 1 AS x');
    const sums = await martChecksums(db);
    expect(sums.map((s) => [s.table, s.rows])).toEqual([['a', 1], ['b', 2]]);
    expect(sums[0]!.checksum).toMatch(/^\d+$/);
  });

  it('does not depend on row order; does on any value, NULL included', async () => {
    const base = await checksumOf("('a', 0.5, ['x','y'], 1), ('b', 0.25, NULL, 2)");
    expect(await checksumOf("('b', 0.25, NULL, 2), ('a', 0.5, ['x','y'], 1)")).toBe(base);
    expect(await checksumOf("('a', 0.5, ['y','x'], 1), ('b', 0.25, NULL, 2)")).not.toBe(base);
    expect(await checksumOf("('a', 0.5, ['x','y'], 1), ('b', 0.25, [], 2)")).not.toBe(base);
    expect(await checksumOf("('a', 0.5, ['x','y'], 1), ('b', 0.25, NULL, 3)")).not.toBe(base);
    expect(await checksumOf("('a', 0.5, ['x','y'], 1), ('b', 0.25, NULL, 2), ('b', 0.25, NULL, 2)")).not.toBe(base);
  });

  it('compares doubles to 12 significant digits', async () => {
    const base = await checksumOf("('a', 0.1234567890123, NULL, 1)");
    // The 13th digit differs: same fingerprint (parallel sums differ in the last bits).
    expect(await checksumOf("('a', 0.1234567890124, NULL, 1)")).toBe(base);
    // The 12th differs: another fingerprint.
    expect(await checksumOf("('a', 0.123456789013, NULL, 1)")).not.toBe(base);
  });
});
