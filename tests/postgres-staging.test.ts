/**
 * PostgreSQL staging (STAGING_URL) on the real server at STAGING_TEST_URL: COPY ingest with the same
 * counts, rows and rejects as the embedded DuckDB path, idempotent reruns, one transaction per file
 * (a SIGKILLed load leaves the previous state). Each describe block works in a fresh database.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { createLogger, silentLogger } from '../src/log.js';
import { ingestCsv, type IngestReport } from '../src/pipeline/ingest.js';
import { loadWarehouse } from '../src/pipeline/load.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, encodeCopyBinary } from '../src/warehouse/pg-copy.js';
import { PostgresStagingStore } from '../src/warehouse/postgres-staging.js';
import { DuckDbStagingStore } from '../src/warehouse/staging.js';
import { DATASET_PATH, REPO_ROOT, writeChangedCopy, writeFixedMalformedCopy } from './helpers/dataset.js';
import { createScratchDatabase, postgresUnavailable, type ScratchDatabase } from './helpers/postgres.js';
import { shrinkScenario } from './helpers/shrink-scenario.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/csv/', import.meta.url));
const unavailable = await postgresUnavailable();
const pgDescribe = describe.skipIf(unavailable !== null);
const skipNote = unavailable ? ` (skipped: ${unavailable})` : '';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pg-staging-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Stage `path` into a fresh in-memory DuckDB, then load the PostgreSQL staging into its raw schema: both sides in one engine. */
async function compareWithDuckDb(path: string, pgStore: PostgresStagingStore): Promise<{ duck: IngestReport; onlyPg: number; onlyDuck: number; rejectsDiff: number }> {
  const duck = await DuckDbSession.open(':memory:');
  try {
    const report = await ingestCsv({ path, store: new DuckDbStagingStore(duck) });
    await loadWarehouse({ staging: pgStore, warehouse: duck });
    const cols = '* EXCLUDE (loaded_at)';
    const [d] = await duck.all<{ only_pg: number; only_duck: number; rejects: number }>(`
      SELECT (SELECT count(*) FROM (SELECT ${cols} FROM raw.tracks EXCEPT ALL SELECT ${cols} FROM staging.tracks)) AS only_pg,
             (SELECT count(*) FROM (SELECT ${cols} FROM staging.tracks EXCEPT ALL SELECT ${cols} FROM raw.tracks)) AS only_duck,
             (SELECT count(*) FROM (
                (SELECT * EXCLUDE (rejected_at) FROM raw.track_rejects EXCEPT ALL SELECT * EXCLUDE (rejected_at) FROM staging.track_rejects)
                UNION ALL
                (SELECT * EXCLUDE (rejected_at) FROM staging.track_rejects EXCEPT ALL SELECT * EXCLUDE (rejected_at) FROM raw.track_rejects))) AS rejects`);
    return { duck: report, onlyPg: d!.only_pg, onlyDuck: d!.only_duck, rejectsDiff: d!.rejects };
  } finally {
    await duck.close();
  }
}

describe('STAGING_URL configuration', () => {
  it('accepts postgres:// and postgresql:// URLs and keeps the URL for the adapter', () => {
    expect(loadConfig({ STAGING_URL: 'postgres://u:pw@db.internal:5432/music' }).stagingUrl).toBe('postgres://u:pw@db.internal:5432/music');
    expect(loadConfig({ STAGING_URL: 'postgresql://u@localhost/music?sslmode=require' }).stagingUrl).toBeDefined();
    expect(loadConfig({}).stagingUrl).toBeUndefined();
  });

  it.each([
    'mysql://u:hunter2secret@h/db',
    'postgres://u:hunter2secret@h',
    'not a url hunter2secret',
  ])('rejects %j with a message that names the key but never echoes the value', (value) => {
    let err: unknown;
    try {
      loadConfig({ STAGING_URL: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/STAGING_URL: must be a postgres:\/\/ URL/);
    expect((err as Error).message).not.toContain('hunter2secret');
  });

  it('redacts the password in URLs and in logged objects', () => {
    expect(redactUrl('postgres://app:s3cr3t@db:5432/music?password=x2&sslmode=require')).toBe(
      'postgres://app:redacted@db:5432/music?password=redacted&sslmode=require',
    );
    const lines: string[] = [];
    const log = createLogger('info', { write: (s: string) => lines.push(s) } as never);
    log.info({ stagingUrl: 'postgres://app:s3cr3t@db/music', pool: { connectionString: 'postgres://app:s3cr3t@db/music' } }, 'x');
    expect(lines.join('')).not.toContain('s3cr3t');
  });

  it('the error of an unreachable server names the redacted URL only', async () => {
    const store = new PostgresStagingStore('postgres://app:s3cr3t@127.0.0.1:1/music');
    try {
      const err = await store.ensureSchema().then(() => null, (e: unknown) => e as Error);
      expect(err?.message).toMatch(/cannot connect to PostgreSQL postgres:\/\/app:redacted@127\.0\.0\.1:1\/music/);
      expect(err?.message).not.toContain('s3cr3t');
    } finally {
      await store.close();
    }
  });
});

pgDescribe(`PostgreSQL staging: the real TidyTuesday file${skipNote}`, () => {
  let db: ScratchDatabase;
  let store: PostgresStagingStore;
  let first: IngestReport;
  beforeAll(async () => {
    db = await createScratchDatabase();
    store = new PostgresStagingStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('stages all 32,833 rows through COPY with the same counts and the same values as the DuckDB path', async () => {
    first = await ingestCsv({ path: DATASET_PATH, store, log: silentLogger });
    expect(first).toMatchObject({
      file: 'tidytuesday_spotify_songs.csv', schema: 'tidytuesday',
      rowsRead: 32_833, rowsStaged: 32_833, rowsRejected: 0, inserted: 32_833, updated: 0, unchanged: 0,
    });
    expect(first.rowsStaged + first.rowsRejected).toBe(first.rowsRead);
    const [stats] = await db.query(`
      SELECT count(*)::int AS n, count(DISTINCT track_id)::int AS ids, count(DISTINCT genre)::int AS genres,
             count(DISTINCT subgenre)::int AS subgenres, count(*) FILTER (WHERE track_name IS NULL)::int AS nameless,
             max(loudness) AS max_loudness FROM staging.tracks`);
    expect(stats).toEqual({ n: 32_833, ids: 28_356, genres: 6, subgenres: 24, nameless: 5, max_loudness: 1.275 });

    // Every value, byte for byte: PostgreSQL staging read back (COPY TO) equals the DuckDB staging of the same file.
    const cmp = await compareWithDuckDb(DATASET_PATH, store);
    expect(cmp.duck).toMatchObject({ rowsRead: first.rowsRead, rowsStaged: first.rowsStaged, rowsRejected: first.rowsRejected });
    expect({ onlyPg: cmp.onlyPg, onlyDuck: cmp.onlyDuck, rejects: cmp.rejectsDiff }).toEqual({ onlyPg: 0, onlyDuck: 0, rejects: 0 });
  });

  it('a second run of the same file changes nothing', async () => {
    const before = await db.query('SELECT max(loaded_at)::text AS at, count(*)::int AS n FROM staging.tracks');
    const again = await ingestCsv({ path: DATASET_PATH, store });
    expect(again).toMatchObject({ rowsRead: 32_833, inserted: 0, updated: 0, unchanged: 32_833 });
    expect(await db.query('SELECT max(loaded_at)::text AS at, count(*)::int AS n FROM staging.tracks')).toEqual(before);
  });

  it('SIGKILL in the middle of the COPY leaves the previous state; the rerun finishes with exact counts', async () => {
    // A copy with one changed value (line 2: energy 0.916 → 0.5), so a committed load would show.
    const dir = mkdtempSync(join(tmp, 'changed-'));
    const changed = await writeChangedCopy(dir);

    const snapshot = `SELECT count(*)::int AS n, md5(string_agg(row_key || row_hash || loaded_at::text, ',' ORDER BY row_key)) AS digest
                      FROM staging.tracks`;
    const before = await db.query(snapshot);

    // The child stages through the real adapter and stops (holding its COPY open) after two batches.
    const child = join(dir, 'ingest-child.mts');
    writeFileSync(child, `
import { ingestCsv } from ${JSON.stringify(join(REPO_ROOT, 'src/pipeline/ingest.ts'))};
import { PostgresStagingStore } from ${JSON.stringify(join(REPO_ROOT, 'src/warehouse/postgres-staging.ts'))};
const [url, path] = process.argv.slice(2);
const store = new PostgresStagingStore(url, { applicationName: 'music-kill-test' });
let batches = 0;
await ingestCsv({ path, store: {
  ensureSchema: () => store.ensureSchema(),
  async beginLoad(source) {
    const load = await store.beginLoad(source);
    return {
      async appendTracks(rows) {
        await load.appendTracks(rows);
        if (++batches === 2) { process.stdout.write('MID_COPY\\n'); await new Promise((r) => setTimeout(r, 120_000)); }
      },
      appendRejects: (rows) => load.appendRejects(rows),
      commit: () => load.commit(),
      abort: () => load.abort(),
    };
  },
} });
`);
    const proc = spawn(process.execPath, ['--import', 'tsx', child, db.url, changed], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (c: Buffer) => c.toString().includes('MID_COPY') && resolve());
      proc.on('exit', (code) => reject(new Error(`ingest child exited (${code}) before the COPY: ${stderr}`)));
    });
    const activity = await db.query(
      "SELECT state, query FROM pg_stat_activity WHERE application_name = 'music-kill-test' AND datname = current_database()",
    );
    expect(activity).toContainEqual({ state: 'active', query: expect.stringMatching(/^COPY music_ingest_tracks/) });

    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    for (let i = 0; i < 100; i++) {
      const left = await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'music-kill-test'");
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await db.query(snapshot)).toEqual(before);

    const rerun = await ingestCsv({ path: changed, store });
    expect(rerun).toMatchObject({ rowsRead: 32_833, rowsStaged: 32_833, inserted: 0, updated: 1, unchanged: 32_832 });
    expect(await db.query("SELECT energy FROM staging.tracks WHERE source_line = 2")).toEqual([{ energy: 0.5 }]);
  });
});

pgDescribe(`PostgreSQL staging: malformed rows and escaping${skipNote}`, () => {
  let db: ScratchDatabase;
  let store: PostgresStagingStore;
  const malformed = join(FIXTURES, 'tidytuesday-malformed.csv');
  beforeAll(async () => {
    db = await createScratchDatabase();
    store = new PostgresStagingStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('rejects malformed fixture rows with their physical line numbers and reasons, like the DuckDB path', async () => {
    const report = await ingestCsv({ path: malformed, store });
    expect(report).toMatchObject({
      rowsRead: 9, rowsStaged: 3, rowsRejected: 6, inserted: 3, updated: 0, unchanged: 0,
      rejectReasons: { missing_track_id: 1, not_a_number: 1, out_of_range: 2, ragged_row: 1, duplicate: 1 },
    });
    const rejects = await db.query<{ source_line: number; reason: string }>(
      'SELECT source_line, reason FROM staging.track_rejects ORDER BY source_line',
    );
    expect(rejects.map((r) => [r.source_line, r.reason])).toEqual([
      [3, 'missing track_id'],
      [4, 'danceability "abc" is not a number'],
      [5, 'energy 1.7 is outside 0–1'],
      [6, 'row has 22 cells, header has 23'],
      [7, 'duplicate of line 2 (same track_id/genre/subgenre/playlist_id)'],
      [10, 'loudness 12 is outside -80–10 dB'],
    ]);
    const tracks = await db.query<{ source_line: number; track_name: string }>(
      'SELECT source_line, track_name FROM staging.tracks ORDER BY source_line',
    );
    expect(tracks.map((t) => t.source_line)).toEqual([2, 8, 11]);
    expect(tracks[1]!.track_name).toBe('Carry On (from the Original Motion Picture\n"POKÉMON Detective Pikachu")');
    const cmp = await compareWithDuckDb(malformed, store);
    expect({ onlyPg: cmp.onlyPg, onlyDuck: cmp.onlyDuck, rejects: cmp.rejectsDiff }).toEqual({ onlyPg: 0, onlyDuck: 0, rejects: 0 });
  });

  it('re-running upserts rejects by (file, line), and drops rejects whose line is now fine', async () => {
    const again = await ingestCsv({ path: malformed, store });
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 3, rowsRejected: 6 });
    expect(await db.query('SELECT count(*)::int AS n FROM staging.track_rejects')).toEqual([{ n: 6 }]);

    const fixed = await writeFixedMalformedCopy(malformed, tmp);
    const third = await ingestCsv({ path: fixed, store });
    expect(third).toMatchObject({ rowsStaged: 4, rowsRejected: 5, inserted: 1, unchanged: 3 });
    const rejectLines = await db.query<{ source_line: number }>('SELECT source_line FROM staging.track_rejects ORDER BY 1');
    expect(rejectLines.map((r) => r.source_line)).toEqual([4, 5, 6, 7, 10]);
  });

  it('stores tabs, backslashes, quotes, line breaks, a literal \\N and non-ASCII text exactly', async () => {
    const header = 'track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms';
    const names = ['tab\there', 'back\\slash \\N and \\t', 'say "hi", ok', 'two\r\nlines\nthree', '\\N', 'Beyoncé 🎤 Ünïcödé'];
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
    const rows = names.map((name, i) =>
      [`escape${String(i).padStart(16, '0')}`, quote(name), quote(`artist ${name}`), '50', 'alb', quote(name), '2019', 'pl', 'p1', 'pop', 'dance pop',
        '0.5', '0.5', '1', '-5', '1', '0.1', '0.1', '0', '0.1', '0.5', '120', '200000'].join(','),
    );
    const path = join(mkdtempSync(join(tmp, 'esc-')), 'escapes.csv');
    writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
    const report = await ingestCsv({ path, store });
    expect(report).toMatchObject({ rowsRead: 6, rowsStaged: 6, inserted: 6 });
    const staged = await db.query<{ track_name: string; album_name: string }>(
      "SELECT track_name, album_name FROM staging.tracks WHERE source_file = 'escapes.csv' ORDER BY source_line",
    );
    expect(staged.map((r) => r.track_name)).toEqual(names);
    expect(staged.map((r) => r.album_name)).toEqual(names);
    const cmp = await compareWithDuckDb(path, store);
    // raw (from PostgreSQL) also holds the other files' rows; only this file's must match exactly.
    expect(cmp.onlyDuck).toBe(0);
  });

  it('binary COPY stores any text, integer, double and boolean exactly (read back through COPY TO)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE roundtrip (n integer, s text, i integer, d double precision, b boolean)');
      const cols = [
        { name: 'n', type: 'INTEGER' }, { name: 's', type: 'VARCHAR' }, { name: 'i', type: 'INTEGER' },
        { name: 'd', type: 'DOUBLE' }, { name: 'b', type: 'BOOLEAN' },
      ] as const;
      const row = fc.record({
        s: fc.option(fc.string({ unit: 'binary' }).filter((x) => !x.includes('\0'))),
        i: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
        d: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
        b: fc.option(fc.boolean()),
      });
      const rows = fc.sample(fc.array(row, { minLength: 200, maxLength: 200 }), { numRuns: 1, seed: 42 })[0]!
        .concat([{ s: 'tab\t \\N back\\slash\r\n', i: 0, d: -0, b: false }, { s: '', i: null, d: 5e-324, b: true }])
        .map((r, n) => ({ n, ...r }));
      const copy = client.query(copyStreams.from('COPY roundtrip FROM STDIN (FORMAT binary)'));
      const done = new Promise<void>((resolve, reject) => copy.on('finish', resolve).on('error', reject));
      copy.write(COPY_BINARY_HEADER);
      copy.write(encodeCopyBinary(rows.slice(0, 100), cols));
      copy.end(Buffer.concat([encodeCopyBinary(rows.slice(100), cols), COPY_BINARY_TRAILER]));
      await done;
      const back = await client.query<{ n: number; s: string | null; i: number | null; d: number | null; b: boolean | null }>(
        "SELECT n, s, i, d, b FROM roundtrip ORDER BY n",
      );
      expect(back.rows).toEqual(rows);
    } finally {
      await client.end();
    }
  });

  it('broken quoting fails the file and leaves staging as it was', async () => {
    const before = await db.query('SELECT row_key, row_hash, loaded_at::text FROM staging.tracks ORDER BY 1');
    const path = join(mkdtempSync(join(tmp, 'broken-')), 'tidytuesday-malformed.csv');
    const good = (await import('node:fs')).readFileSync(malformed, 'utf8').split('\n').slice(0, 2).join('\n');
    writeFileSync(path, `${good}\n"unterminated,1,2`);
    await expect(ingestCsv({ path, store })).rejects.toThrow(/not valid CSV.*nothing was staged/);
    expect(await db.query('SELECT row_key, row_hash, loaded_at::text FROM staging.tracks ORDER BY 1')).toEqual(before);
    expect(await db.query('SELECT count(*)::int AS n FROM staging.track_rejects')).toEqual([{ n: 5 }]);
  });

  it('careless files: header-only and NUL-filled ones change nothing; a late Latin-1 byte restarts the COPY transcoded', async () => {
    const before = await db.query('SELECT row_key, row_hash, loaded_at::text FROM staging.tracks ORDER BY 1');
    const dir = mkdtempSync(join(tmp, 'careless-'));
    const lines = (await import('node:fs')).readFileSync(malformed, 'utf8').split('\n');
    const header = lines[0]!;
    writeFileSync(join(dir, 'header-only.csv'), `${header}\n`);
    await expect(ingestCsv({ path: join(dir, 'header-only.csv'), store })).rejects.toThrow(/has a header but no data rows/);
    writeFileSync(join(dir, 'nul.csv'), `${header}\n${lines[1]!.replace('Ed Sheeran', 'Ed\u0000Sheeran')}\n`);
    await expect(ingestCsv({ path: join(dir, 'nul.csv'), store })).rejects.toThrow(/nul\.csv holds binary data \(a NUL byte on line 2,/);
    expect(await db.query('SELECT row_key, row_hash, loaded_at::text FROM staging.tracks ORDER BY 1')).toEqual(before);

    const ascii = Array.from({ length: 3_000 }, (_, i) => lines[1]!.replace(/^\w+/, `pgLatin${String(i).padStart(15, '0')}`));
    const late = lines[1]!.replace(/^\w+/, 'pgLatinLate00000000000').replace('Ed Sheeran', 'Sigur Rós');
    const latin1 = join(dir, 'late-latin1.csv');
    writeFileSync(latin1, Buffer.from([header, ...ascii, late].join('\n') + '\n', 'latin1'));
    const report = await ingestCsv({ path: latin1, store });
    expect(report).toMatchObject({ rowsRead: 3_001, rowsStaged: 3_001, inserted: 3_001, encoding: 'windows-1252' });
    expect(await db.query("SELECT artist_names FROM staging.tracks WHERE track_id = 'pgLatinLate00000000000'")).toEqual([{ artist_names: 'Sigur Rós' }]);
  });
});

pgDescribe(`PostgreSQL staging: moved rows and concurrent loads${skipNote}`, () => {
  let db: ScratchDatabase;
  const header = 'track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms';
  const row = (id: string, energy = '0.5') =>
    [`track${id.padStart(17, '0')}`, `Song ${id}`, 'Artist', '50', 'alb', 'Album', '2019', 'pl', 'p1', 'pop', 'dance pop',
      '0.5', energy, '1', '-5', '1', '0.1', '0.1', '0', '0.1', '0.5', '120', '200000'].join(',');
  const write = (dir: string, name: string, ids: string[]): string => {
    const path = join(mkdtempSync(join(tmp, dir)), name);
    writeFileSync(path, `${header}\n${ids.map((id) => row(id)).join('\n')}\n`);
    return path;
  };
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('two loads started together into an empty staging serialise and count every row once', async () => {
    const a = write('a-', 'a.csv', ['1', '2', '3']);
    const b = write('b-', 'b.csv', ['3', '4']);
    const stores = [new PostgresStagingStore(db.url), new PostgresStagingStore(db.url)];
    try {
      const [ra, rb] = await Promise.all([ingestCsv({ path: a, store: stores[0]! }), ingestCsv({ path: b, store: stores[1]! })]);
      // Row 3 is in both files with the same values: new for whichever load committed first, unchanged for the other.
      expect(ra!.inserted + rb!.inserted).toBe(4);
      expect(ra!.unchanged + rb!.unchanged).toBe(1);
      expect(ra!.updated + rb!.updated).toBe(0);
      expect(await db.query('SELECT count(*)::int AS n FROM staging.tracks')).toEqual([{ n: 4 }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('a row that moved to another line is rewritten in place: new source_line, same loaded_at, counted unchanged', async () => {
    const store = new PostgresStagingStore(db.url);
    try {
      const first = write('m1-', 'moved.csv', ['10', '11', '12']);
      await ingestCsv({ path: first, store });
      const before = await db.query<{ track_name: string; source_line: number; loaded_at: string }>(
        "SELECT track_name, source_line, loaded_at::text FROM staging.tracks WHERE source_file = 'moved.csv' ORDER BY track_name",
      );
      const swapped = write('m2-', 'moved.csv', ['12', '11', '10']);
      const report = await ingestCsv({ path: swapped, store });
      expect(report).toMatchObject({ rowsStaged: 3, inserted: 0, updated: 0, unchanged: 3 });
      const after = await db.query<{ track_name: string; source_line: number; loaded_at: string }>(
        "SELECT track_name, source_line, loaded_at::text FROM staging.tracks WHERE source_file = 'moved.csv' ORDER BY track_name",
      );
      expect(after.map((r) => [r.track_name, r.source_line])).toEqual([['Song 10', 4], ['Song 11', 3], ['Song 12', 2]]);
      expect(after.map((r) => r.loaded_at)).toEqual(before.map((r) => r.loaded_at));
      const cmp = await compareWithDuckDb(swapped, store);
      expect(cmp.onlyDuck).toBe(0);
    } finally {
      await store.close();
    }
  });
});

pgDescribe(`PostgreSQL staging: a new version of a source file${skipNote}`, () => {
  // knownRowsMax 0: the comparison a staging too large to hold in memory gets (everything in SQL).
  for (const [how, knownRowsMax] of [['compared in memory', undefined], ['compared in SQL', 0]] as const) {
    it(`deletes the rows it no longer has and counts them; refuses to delete more than half unless allowed (${how})`, async () => {
      const db = await createScratchDatabase();
      const store = new PostgresStagingStore(db.url, knownRowsMax === undefined ? {} : { knownRowsMax });
      try {
        await shrinkScenario({ store, query: (sql) => db.query(sql), tmp: mkdtempSync(join(tmp, 'versions-')) });
      } finally {
        await store.close();
        await db.drop();
      }
    });
  }
});
