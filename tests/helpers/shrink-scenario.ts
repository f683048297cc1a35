/**
 * New versions of one source file against a staging store (DuckDB or PostgreSQL, same expectations):
 * a smaller version deletes the rows it lost and counts them, leaving unchanged rows and other files'
 * rows untouched; a version that would delete more than half is refused with staging unchanged, then
 * accepted with `allowShrink`.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { StagingShrinkError } from '../../src/errors.js';
import { ingestCsv } from '../../src/pipeline/ingest.js';
import type { StagingStore } from '../../src/warehouse/staging.js';
import { writeDatasetVersion } from './dataset.js';

const OTHER_SOURCE = fileURLToPath(new URL('../fixtures/csv/maharshipandya-sample.csv', import.meta.url));
const FILE = 'tidytuesday_spotify_songs.csv';

/** Runs in either SQL dialect: plain aggregates, md5 and string_agg with ORDER BY. */
const digestOf = (where: string) => `
SELECT count(*) AS n, md5(string_agg(row_key || '|' || row_hash || '|' || CAST(loaded_at AS VARCHAR), ',' ORDER BY row_key)) AS digest
FROM staging.tracks WHERE ${where}`;

export async function shrinkScenario(opts: {
  store: StagingStore;
  query: (sql: string) => Promise<Record<string, unknown>[]>;
  tmp: string;
}): Promise<void> {
  const { store, tmp } = opts;
  const one = async (sql: string) => {
    const [row] = await opts.query(sql);
    return { n: Number(row?.n), digest: row?.digest ?? null };
  };
  const version = (name: string, keep: (n: number) => boolean) => writeDatasetVersion(mkdtempSync(join(tmp, name)), keep);

  // v1: the first 400 data rows; and another source file beside it.
  const v1 = await ingestCsv({ path: await version('v1-', () => true), store });
  expect(v1).toMatchObject({ file: FILE, rowsRead: 400, rowsStaged: 400, rowsRejected: 0, inserted: 400, deleted: 0 });
  await ingestCsv({ path: OTHER_SOURCE, store });
  const other = await one(digestOf(`source_file <> '${FILE}'`));
  expect(other.n).toBe(4);
  const kept = (n: number) => n % 4 !== 0;
  const keptBefore = await one(digestOf(`source_file = '${FILE}' AND source_line % 4 <> 1`));
  expect(keptBefore.n).toBe(300);

  // v2: every fourth row gone. Exactly those 100 rows are deleted; the 300 others are not rewritten.
  const v2 = await ingestCsv({ path: await version('v2-', kept), store });
  expect(v2).toMatchObject({ rowsRead: 300, inserted: 0, updated: 0, unchanged: 300, deleted: 100 });
  // What remains is exactly the kept rows, with their hash and loaded_at (they moved up the file: new source_line).
  expect(await one(digestOf(`source_file = '${FILE}'`))).toEqual(keptBefore);
  expect(await one(digestOf(`source_file <> '${FILE}'`))).toEqual(other);

  // v3: truncated to its first 100 data rows (75 of the 300 staged): deleting 225 is refused, nothing changes.
  const whole = await one(digestOf('true'));
  const truncated = await version('v3-', (n) => n <= 100 && kept(n));
  const refused = await ingestCsv({ path: truncated, store }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(StagingShrinkError);
  expect((refused as StagingShrinkError).message).toBe(
    `refusing to load "${FILE}": it would delete 225 of the 300 rows staged from it (more than half; 75 would remain); ` +
      'if the smaller file is intended, rerun with --allow-shrink (or MUSIC_ALLOW_SHRINK=1, Airflow Variable music_allow_shrink=1); ' +
      'staging and the published snapshot are unchanged',
  );
  expect(await one(digestOf('true'))).toEqual(whole);

  // …and accepted when the run is told to.
  const v3 = await ingestCsv({ path: truncated, store, allowShrink: true });
  expect(v3).toMatchObject({ rowsRead: 75, inserted: 0, updated: 0, unchanged: 75, deleted: 225 });
  expect((await one(digestOf(`source_file = '${FILE}'`))).n).toBe(75);
  expect(await one(digestOf(`source_file <> '${FILE}'`))).toEqual(other);

  // Deleting up to half is not refused (37 of 75).
  const half = await ingestCsv({ path: await version('v4-', (n) => n <= 50 && kept(n)), store });
  expect(half).toMatchObject({ rowsRead: 38, unchanged: 38, deleted: 37 });
}
