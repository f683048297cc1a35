import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatasetError, StagingShrinkError } from '../src/errors.js';
import { silentLogger } from '../src/log.js';
import { createRecordMapper, ingestCsv, NoValidRowsError, type RecordMapper } from '../src/pipeline/ingest.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import {
  checkShrink,
  DuckDbStagingStore,
  type StagedTrack,
  type StagingLoad,
  type StagingStore,
} from '../src/warehouse/staging.js';
import { DATASET_PATH, writeChangedCopy, writeFixedMalformedCopy } from './helpers/dataset.js';
import { shrinkScenario } from './helpers/shrink-scenario.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/csv/', import.meta.url));
const REAL_DATASET = DATASET_PATH;

const TT_COLUMNS = [
  'track_id', 'track_name', 'track_artist', 'track_popularity', 'track_album_id', 'track_album_name',
  'track_album_release_date', 'playlist_name', 'playlist_id', 'playlist_genre', 'playlist_subgenre',
  'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness',
  'liveness', 'valence', 'tempo', 'duration_ms',
] as const;
const TT_BASE: Record<(typeof TT_COLUMNS)[number], string> = {
  track_id: '6f807x0ima9a1j3VPbc7VN', track_name: "I Don't Care", track_artist: 'Ed Sheeran',
  track_popularity: '66', track_album_id: '2oCs0DGTsRO98Gh5ZSl2Cx', track_album_name: "I Don't Care",
  track_album_release_date: '2019-06-14', playlist_name: 'Pop Remix', playlist_id: '37i9dQZF1DXcZDD7cfEKhW',
  playlist_genre: 'pop', playlist_subgenre: 'dance pop', danceability: '0.748', energy: '0.916', key: '6',
  loudness: '-2.634', mode: '1', speechiness: '0.0583', acousticness: '0.102', instrumentalness: '0',
  liveness: '0.0653', valence: '0.518', tempo: '122.036', duration_ms: '194754',
};

const MP_COLUMNS = [
  '', 'track_id', 'artists', 'album_name', 'track_name', 'popularity', 'duration_ms', 'explicit',
  'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness',
  'liveness', 'valence', 'tempo', 'time_signature', 'track_genre',
] as const;
const MP_BASE: Record<(typeof MP_COLUMNS)[number], string> = {
  '': '0', track_id: '5SuOikwiRyPMVoIQDJUgSV', artists: 'Gen Hoshino', album_name: 'Comedy',
  track_name: 'Comedy', popularity: '73', duration_ms: '230666', explicit: 'False', danceability: '0.676',
  energy: '0.461', key: '1', loudness: '-6.746', mode: '0', speechiness: '0.143', acousticness: '0.0322',
  instrumentalness: '1.01e-06', liveness: '0.358', valence: '0.715', tempo: '87.917', time_signature: '4',
  track_genre: 'acoustic',
};

function ttCells(over: Partial<Record<string, string>> = {}): string[] {
  return TT_COLUMNS.map((c) => over[c] ?? TT_BASE[c]);
}
function mpCells(over: Partial<Record<string, string>> = {}): string[] {
  return MP_COLUMNS.map((c) => over[c] ?? MP_BASE[c]);
}
const csvLine = (cells: readonly string[]): string =>
  cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ingest-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function writeCsv(name: string, rows: readonly (readonly string[])[], dir = tmp): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map(csvLine).join('\n') + '\n');
  return path;
}

/** Map one record the way the ingest does (a fresh mapper per call: no duplicate state). */
function mapTt(over: Partial<Record<string, string>>) {
  return createRecordMapper(TT_COLUMNS, 'unit.csv').map(ttCells(over), 2);
}
function mapMp(over: Partial<Record<string, string>>) {
  return createRecordMapper(MP_COLUMNS, 'unit.csv').map(mpCells(over), 2);
}
function staged(result: ReturnType<RecordMapper['map']>): StagedTrack {
  if (!result.ok) throw new Error(`expected the row to be staged, got reject: ${result.reason}`);
  return result.row;
}

describe('mapping: maharshipandya layout', () => {
  let db: DuckDbSession;
  beforeEach(async () => {
    db = await DuckDbSession.open(':memory:');
  });
  afterEach(async () => {
    await db.close();
  });

  it('stages every row of the sample with the shared shape: raw multi-artist string, NULL for tidytuesday-only columns', async () => {
    const report = await ingestCsv({
      path: join(FIXTURES, 'maharshipandya-sample.csv'),
      store: new DuckDbStagingStore(db),
      log: silentLogger,
    });
    expect(report).toMatchObject({ schema: 'maharshipandya', rowsRead: 4, rowsStaged: 4, rowsRejected: 0, inserted: 4 });
    const rows = await db.all<StagedTrack & { loaded_at: string }>('SELECT * FROM staging.tracks ORDER BY source_line');
    expect(rows.map((r) => r.source_line)).toEqual([2, 3, 4, 5]);
    expect(rows[1]).toMatchObject({
      row_key: '1iJBSr7s7jYXzM8EGcbK5b|acoustic||',
      source_schema: 'maharshipandya',
      source_file: 'maharshipandya-sample.csv',
      track_id: '1iJBSr7s7jYXzM8EGcbK5b',
      track_name: 'To Begin Again',
      artist_names: 'Ingrid Michaelson;ZAYN',
      album_name: 'Hold On',
      album_id: null,
      album_release_date: null,
      playlist_id: null,
      playlist_name: null,
      genre: 'acoustic',
      subgenre: null,
      popularity: 57,
      duration_ms: 210826,
      explicit: true,
      key: 0,
      mode: 1,
      time_signature: 4,
      tempo: 76.332,
    });
    expect(rows[0]!.instrumentalness).toBeCloseTo(1.01e-6, 12);
    // Empty names are NULL, not ''.
    expect(rows[2]).toMatchObject({ track_name: null, artist_names: null, album_name: null, explicit: false });
    // Same track in another genre is a different row (genre trimmed + lowercased); boundary values pass.
    expect(rows[3]).toMatchObject({
      row_key: '5SuOikwiRyPMVoIQDJUgSV|j-pop||',
      genre: 'j-pop',
      key: -1,
      loudness: 0.5,
      tempo: 0,
      time_signature: 0,
      explicit: true,
    });
  });

  it.each([
    ['True', true], ['False', false], ['TRUE', true], ['false', false], ['1', true], ['0', false], [' true ', true],
  ])('reads explicit %j as %s', (cell, expected) => {
    expect(staged(mapMp({ explicit: cell })).explicit).toBe(expected);
  });

  it.each([
    ['yes', 'explicit "yes" is not True/False'],
    ['', 'explicit is empty; expected True or False'],
  ])('rejects explicit %j', (cell, reason) => {
    expect(mapMp({ explicit: cell })).toEqual({ ok: false, category: 'invalid_boolean', reason });
  });

  it('rejects time_signature outside 0–7 and an empty track_genre', () => {
    expect(mapMp({ time_signature: '8' })).toMatchObject({ ok: false, reason: 'time_signature 8 is outside 0–7' });
    expect(mapMp({ track_genre: ' ' })).toMatchObject({ ok: false, category: 'missing_genre', reason: 'missing track_genre' });
  });
});

describe('mapping: tidytuesday layout', () => {
  it('maps playlist genre/subgenre (trimmed, lowercased), keeps the release date as written, leaves explicit/time_signature NULL', () => {
    const row = staged(
      mapTt({ playlist_genre: ' R&B ', playlist_subgenre: 'Neo Soul', track_album_release_date: '2018-02' }),
    );
    expect(row).toMatchObject({
      row_key: '6f807x0ima9a1j3VPbc7VN|r&b|neo soul|37i9dQZF1DXcZDD7cfEKhW',
      source_schema: 'tidytuesday',
      source_line: 2,
      artist_names: 'Ed Sheeran',
      album_id: '2oCs0DGTsRO98Gh5ZSl2Cx',
      album_release_date: '2018-02',
      playlist_name: 'Pop Remix',
      genre: 'r&b',
      subgenre: 'neo soul',
      popularity: 66,
      explicit: null,
      time_signature: null,
    });
    expect(staged(mapTt({ track_album_release_date: '1976' })).album_release_date).toBe('1976');
  });

  it("treats R's NA in name columns as NULL (how the real file writes its 5 nameless rows)", () => {
    const row = staged(mapTt({ track_name: 'NA', track_artist: 'NA', track_album_name: 'NA' }));
    expect(row).toMatchObject({ track_name: null, artist_names: null, album_name: null });
  });

  it('the row hash changes with any mapped value but not with the line the row sits on', () => {
    const mapper = createRecordMapper(TT_COLUMNS, 'unit.csv');
    const a = staged(mapper.map(ttCells(), 2));
    const moved = staged(createRecordMapper(TT_COLUMNS, 'unit.csv').map(ttCells(), 900));
    const changed = staged(createRecordMapper(TT_COLUMNS, 'unit.csv').map(ttCells({ energy: '0.917' }), 2));
    expect(moved.row_hash).toBe(a.row_hash);
    expect(changed.row_hash).not.toBe(a.row_hash);
  });

  it('refuses an unrecognised header with a DatasetError naming the missing columns', () => {
    expect(() => createRecordMapper(['id', 'name', 'genre'], 'x.csv')).toThrow(DatasetError);
    expect(() => createRecordMapper(['id', 'name', 'genre'], 'x.csv')).toThrow(/unrecognised CSV header.*needs: track_id/);
  });
});

describe('validation rules (each rejects with a specific reason)', () => {
  const UNIT = ['danceability', 'energy', 'speechiness', 'acousticness', 'instrumentalness', 'liveness', 'valence'];

  it.each([
    [{ track_id: '' }, 'missing_track_id', 'missing track_id'],
    [{ track_id: 'NA' }, 'missing_track_id', 'missing track_id'],
    [{ playlist_genre: '' }, 'missing_genre', 'missing playlist_genre'],
    [{ danceability: 'abc' }, 'not_a_number', 'danceability "abc" is not a number'],
    [{ tempo: '0x10' }, 'not_a_number', 'tempo "0x10" is not a number'],
    [{ danceability: '' }, 'missing_value', 'danceability is empty; expected a number'],
    [{ energy: '1.7' }, 'out_of_range', 'energy 1.7 is outside 0–1'],
    [{ valence: '-0.1' }, 'out_of_range', 'valence -0.1 is outside 0–1'],
    [{ key: '12' }, 'out_of_range', 'key 12 is outside -1..11'],
    [{ key: '-2' }, 'out_of_range', 'key -2 is outside -1..11'],
    [{ key: '3.5' }, 'not_an_integer', 'key 3.5 is not an integer (expected -1..11)'],
    [{ mode: '2' }, 'out_of_range', 'mode 2 is not 0 or 1'],
    [{ track_popularity: '101' }, 'out_of_range', 'track_popularity 101 is outside 0–100'],
    [{ track_popularity: '50.5' }, 'not_an_integer', 'track_popularity 50.5 is not an integer (expected 0–100)'],
    [{ duration_ms: '0' }, 'out_of_range', 'duration_ms 0 is not a positive integer up to 21600000 (6 h)'],
    [{ duration_ms: '-5' }, 'out_of_range', 'duration_ms -5 is not a positive integer up to 21600000 (6 h)'],
    [{ duration_ms: '21600001' }, 'out_of_range', 'duration_ms 21600001 is not a positive integer up to 21600000 (6 h)'],
    [{ track_album_release_date: '2019-02-30' }, 'invalid_date', 'track_album_release_date "2019-02-30" does not exist'],
    [{ track_album_release_date: '2019-13' }, 'invalid_date', 'track_album_release_date "2019-13" does not exist'],
    [{ track_album_release_date: '2019-00-10' }, 'invalid_date', 'track_album_release_date "2019-00-10" does not exist'],
    [{ track_album_release_date: '2018-02-29' }, 'invalid_date', 'track_album_release_date "2018-02-29" does not exist'],
    [{ track_album_release_date: '0000' }, 'invalid_date', `track_album_release_date "0000" has a year outside 1850–${new Date().getUTCFullYear() + 1}`],
    [{ track_album_release_date: '3019-01-01' }, 'invalid_date', `track_album_release_date "3019-01-01" has a year outside 1850–${new Date().getUTCFullYear() + 1}`],
    [{ track_album_release_date: '14/06/2019' }, 'invalid_date', 'track_album_release_date "14/06/2019" is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)'],
    [{ track_name: 'x'.repeat(1_048_576) }, 'too_long', 'track_name is 1048576 characters long; at most 1000 are staged'],
    [{ track_artist: 'a;'.repeat(501) }, 'too_long', 'track_artist is 1002 characters long; at most 1000 are staged'],
    [{ playlist_genre: 'g'.repeat(201) }, 'too_long', 'playlist_genre is 201 characters long; at most 200 are staged'],
    [{ tempo: '301' }, 'out_of_range', 'tempo 301 is outside 0–300 BPM'],
    [{ loudness: '-81' }, 'out_of_range', 'loudness -81 is outside -80–10 dB'],
    [{ loudness: '10.5' }, 'out_of_range', 'loudness 10.5 is outside -80–10 dB'],
  ])('%j → %s', (over, category, reason) => {
    expect(mapTt(over)).toEqual({ ok: false, category, reason });
  });

  it.each(UNIT)('%s must lie within 0–1', (feature) => {
    expect(mapTt({ [feature]: '1.01' })).toEqual({
      ok: false,
      category: 'out_of_range',
      reason: `${feature} 1.01 is outside 0–1`,
    });
    expect(staged(mapTt({ [feature]: '1' }))[feature as keyof StagedTrack]).toBe(1);
  });

  it('accepts the real data edge values: loudness above 0 dB, tempo 0, key -1, exponent notation', () => {
    const row = staged(mapTt({ loudness: '1.275', tempo: '0', key: '-1', instrumentalness: '2.33e-5' }));
    expect(row).toMatchObject({ loudness: 1.275, tempo: 0, key: -1, instrumentalness: 2.33e-5 });
  });

  it('accepts real dates (a leap day, year or month only), a 6 h track and a 1,000-character name', () => {
    for (const d of ['2020-02-29', '1957', '2019-06', '2000-12-31']) expect(staged(mapTt({ track_album_release_date: d })).album_release_date).toBe(d);
    expect(staged(mapTt({ duration_ms: '21600000' })).duration_ms).toBe(21_600_000);
    expect(staged(mapTt({ track_name: 'é'.repeat(1_000) })).track_name).toHaveLength(1_000);
  });

  it('lists every problem of a row, categorised by the first', () => {
    expect(mapTt({ track_id: '', energy: 'x', key: '99' })).toEqual({
      ok: false,
      category: 'missing_track_id',
      reason: 'missing track_id; energy "x" is not a number; key 99 is outside -1..11',
    });
  });

  it('rejects ragged rows by cell count, short or long', () => {
    const mapper = createRecordMapper(TT_COLUMNS, 'unit.csv');
    expect(mapper.map(ttCells().slice(0, 21), 5)).toEqual({
      ok: false, category: 'ragged_row', reason: 'row has 21 cells, header has 23',
    });
    expect(mapper.map([...ttCells(), 'extra'], 6)).toMatchObject({ reason: 'row has 24 cells, header has 23' });
  });

  it('rejects the later of two rows with the same row_key, naming the first line; a rejected first row does not claim the key', () => {
    const mapper = createRecordMapper(TT_COLUMNS, 'unit.csv');
    expect(mapper.map(ttCells({ energy: 'bad' }), 2).ok).toBe(false);
    expect(mapper.map(ttCells(), 3).ok).toBe(true);
    expect(mapper.map(ttCells({ playlist_genre: 'POP', energy: '0.5' }), 9)).toEqual({
      ok: false,
      category: 'duplicate',
      reason: 'duplicate of line 3 (same track_id/genre/subgenre/playlist_id)',
    });
    // Same track in another playlist is not a duplicate.
    expect(mapper.map(ttCells({ playlist_id: 'other' }), 10).ok).toBe(true);
  });
});

describe('ingest of a crafted file with malformed rows (DuckDB staging)', () => {
  let dir: string;
  let db: DuckDbSession;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmp, 'crafted-'));
    db = await DuckDbSession.open(join(dir, 'store.duckdb'));
  });
  afterEach(async () => {
    await db.close();
  });
  const path = join(FIXTURES, 'tidytuesday-malformed.csv');

  it('stages the good rows and records each bad one with its physical line number, reason and cells', async () => {
    const report = await ingestCsv({ path, store: new DuckDbStagingStore(db), log: silentLogger });
    expect(report).toMatchObject({
      file: 'tidytuesday-malformed.csv',
      schema: 'tidytuesday',
      rowsRead: 9,
      rowsStaged: 3,
      rowsRejected: 6,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      rejectReasons: { missing_track_id: 1, not_a_number: 1, out_of_range: 2, ragged_row: 1, duplicate: 1 },
    });
    const rejects = await db.all<{ source_line: number; reason: string; raw: string; source_schema: string }>(
      'SELECT source_schema, source_line, reason, raw FROM staging.track_rejects ORDER BY source_line',
    );
    expect(rejects.map((r) => [r.source_line, r.reason])).toEqual([
      [3, 'missing track_id'],
      [4, 'danceability "abc" is not a number'],
      [5, 'energy 1.7 is outside 0–1'],
      [6, 'row has 22 cells, header has 23'],
      [7, 'duplicate of line 2 (same track_id/genre/subgenre/playlist_id)'],
      // line 8–9 is one record with a line break inside a quoted title; the next record starts on line 10
      [10, 'loudness 12 is outside -80–10 dB'],
    ]);
    const raw3 = JSON.parse(rejects[0]!.raw) as string[];
    expect(raw3).toHaveLength(23);
    expect(raw3[1]).toBe('Memories - Dillon Francis Remix');
    expect(rejects.every((r) => r.source_schema === 'tidytuesday')).toBe(true);

    const tracks = await db.all<{ source_line: number; track_name: string; album_release_date: string }>(
      'SELECT source_line, track_name, album_release_date FROM staging.tracks ORDER BY source_line',
    );
    expect(tracks.map((t) => t.source_line)).toEqual([2, 8, 11]);
    expect(tracks[1]!.track_name).toBe('Carry On (from the Original Motion Picture\n"POKÉMON Detective Pikachu")');
    expect(tracks.map((t) => t.album_release_date)).toEqual(['2019-06-14', '2019', '2018-02']);
  });

  it('re-running upserts rejects by (file, line) instead of duplicating them, and drops rejects whose line is now fine', async () => {
    const store = new DuckDbStagingStore(db);
    await ingestCsv({ path, store });
    const again = await ingestCsv({ path, store });
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 3, rowsRejected: 6 });
    const [counts] = await db.all<{ n: number; lines: number }>(
      'SELECT count(*) AS n, count(DISTINCT source_line) AS lines FROM staging.track_rejects',
    );
    expect(counts).toEqual({ n: 6, lines: 6 });

    // Fix line 3 (missing track_id) in a same-named copy: its reject goes, the row is staged.
    const fixed = await writeFixedMalformedCopy(path, dir);
    const third = await ingestCsv({ path: fixed, store });
    expect(third).toMatchObject({ rowsStaged: 4, rowsRejected: 5, inserted: 1, unchanged: 3 });
    const rejectLines = await db.all<{ source_line: number }>('SELECT source_line FROM staging.track_rejects ORDER BY 1');
    expect(rejectLines.map((r) => r.source_line)).toEqual([4, 5, 6, 7, 10]);
  });

  it('an unrecognised header is a DatasetError with detectSchema\'s message, and nothing is staged', async () => {
    const bad = writeCsv('bad-header.csv', [['id', 'title', 'genre'], ['1', 'x', 'pop']]);
    await expect(ingestCsv({ path: bad, store: new DuckDbStagingStore(db) })).rejects.toThrow(
      /unrecognised CSV header \("id","title","genre"\); closest layout is .* which also needs: track_id/,
    );
    const tables = await db.all("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging'");
    expect(tables).toEqual([]);
  });

  it('a missing file is a DatasetError', async () => {
    await expect(ingestCsv({ path: join(dir, 'nope.csv'), store: new DuckDbStagingStore(db) })).rejects.toBeInstanceOf(
      DatasetError,
    );
  });

  it('broken quoting is fatal and leaves staging exactly as it was (one transaction per file)', async () => {
    const store = new DuckDbStagingStore(db);
    await ingestCsv({ path, store });
    const before = await db.all('SELECT row_key, row_hash, loaded_at FROM staging.tracks ORDER BY 1');

    const good = ttCells({ track_id: 'newTrack000000000000000', energy: '0.2' });
    const brokenPath = join(dir, 'tidytuesday-malformed.csv');
    writeFileSync(brokenPath, [csvLine([...TT_COLUMNS]), csvLine(good), csvLine(ttCells()), '"unterminated,1,2'].join('\n'));
    await expect(ingestCsv({ path: brokenPath, store })).rejects.toThrow(
      /not valid CSV \(Quote Not Closed.* at line 4\).*nothing was staged/,
    );

    expect(await db.all('SELECT row_key, row_hash, loaded_at FROM staging.tracks ORDER BY 1')).toEqual(before);
    expect(await db.all('SELECT count(*) AS n FROM staging.track_rejects')).toEqual([{ n: 6 }]);
    expect(await db.all('SELECT table_name FROM duckdb_tables() WHERE temporary')).toEqual([]);
  });

  it('keeps a bare quote inside an unquoted cell instead of failing the file', async () => {
    const cells = ttCells({ track_name: 'Blue Monday 12" Mix' });
    const p = join(dir, 'bare-quote.csv');
    writeFileSync(p, `${csvLine([...TT_COLUMNS])}\n${cells.join(',')}\n`);
    const report = await ingestCsv({ path: p, store: new DuckDbStagingStore(db) });
    expect(report).toMatchObject({ rowsRead: 1, rowsStaged: 1 });
    expect(await db.all('SELECT track_name FROM staging.tracks')).toEqual([{ track_name: 'Blue Monday 12" Mix' }]);
  });

  it('counts physical lines correctly in CRLF files with quoted line breaks and blank lines', async () => {
    const crlf = join(dir, 'crlf.csv');
    const body = [
      csvLine([...TT_COLUMNS]),
      csvLine(ttCells({ track_name: 'two\r\nlines' })),
      '',
      csvLine(ttCells({ track_id: 'bbbbbbbbbbbbbbbbbbbbbb', energy: '9' })),
    ].join('\r\n');
    writeFileSync(crlf, body + '\r\n');
    const report = await ingestCsv({ path: crlf, store: new DuckDbStagingStore(db) });
    expect(report).toMatchObject({ rowsRead: 2, rowsStaged: 1, rowsRejected: 1 });
    expect(await db.all('SELECT source_line, reason FROM staging.track_rejects')).toEqual([
      { source_line: 5, reason: 'energy 9 is outside 0–1' },
    ]);
  });
});

describe.skipIf(!existsSync(REAL_DATASET))('ingest of the real TidyTuesday file', () => {
  let dir: string;
  let db: DuckDbSession;
  let store: DuckDbStagingStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmp, 'real-'));
    db = await DuckDbSession.open(join(dir, 'store.duckdb'));
    store = new DuckDbStagingStore(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it('stages all 32,833 rows (none rejected) covering 28,356 distinct track ids', async () => {
    const report = await ingestCsv({ path: REAL_DATASET, store, log: silentLogger });
    expect(report).toMatchObject({
      file: 'tidytuesday_spotify_songs.csv',
      schema: 'tidytuesday',
      rowsRead: 32_833,
      rowsStaged: 32_833,
      rowsRejected: 0,
      inserted: 32_833,
      updated: 0,
      unchanged: 0,
      rejectReasons: {},
    });
    expect(report.rowsStaged + report.rowsRejected).toBe(report.rowsRead);
    const [stats] = await db.all(`
      SELECT count(*) AS n, count(DISTINCT track_id) AS ids, count(DISTINCT genre) AS genres,
             count(DISTINCT subgenre) AS subgenres, count(*) FILTER (WHERE track_name IS NULL) AS nameless,
             max(loudness) AS max_loudness, count(*) FILTER (WHERE explicit IS NOT NULL) AS explicit_set
      FROM staging.tracks`);
    expect(stats).toEqual({
      n: 32_833, ids: 28_356, genres: 6, subgenres: 24, nameless: 5, max_loudness: 1.275, explicit_set: 0,
    });
    expect(await db.all('SELECT count(*) AS n FROM staging.track_rejects')).toEqual([{ n: 0 }]);
  });

  it('a second run of the same file changes nothing', async () => {
    const before = await db.all<{ loaded_at: string }>('SELECT max(loaded_at) AS loaded_at FROM staging.tracks');
    const report = await ingestCsv({ path: REAL_DATASET, store });
    expect(report).toMatchObject({ rowsRead: 32_833, inserted: 0, updated: 0, unchanged: 32_833 });
    expect(await db.all('SELECT count(*) AS n, count(DISTINCT row_key) AS k FROM staging.tracks')).toEqual([
      { n: 32_833, k: 32_833 },
    ]);
    expect(await db.all('SELECT max(loaded_at) AS loaded_at FROM staging.tracks')).toEqual(before);
  });

  it('a copy with one changed value updates exactly that row with a new loaded_at', async () => {
    // line 2: energy 0.916 → 0.5
    const changed = await writeChangedCopy(mkdtempSync(join(dir, 'changed-')));
    const [old] = await db.all<{ loaded_at: string }>("SELECT loaded_at FROM staging.tracks WHERE source_line = 2");

    const report = await ingestCsv({ path: changed, store });
    expect(report).toMatchObject({ inserted: 0, updated: 1, unchanged: 32_832 });
    const rows = await db.all<{ energy: number; loaded_at: string }>(
      "SELECT energy, loaded_at FROM staging.tracks WHERE row_key = '6f807x0ima9a1j3VPbc7VN|pop|dance pop|37i9dQZF1DXcZDD7cfEKhW'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.energy).toBe(0.5);
    expect(rows[0]!.loaded_at > old!.loaded_at).toBe(true);
    expect(await db.all('SELECT count(DISTINCT loaded_at) AS n FROM staging.tracks')).toEqual([{ n: 2 }]);
  });

  it('an abort mid-load throws and leaves staging as it was', async () => {
    const before = await db.all('SELECT count(*) AS n, max(loaded_at) AS t, sum(energy) AS e FROM staging.tracks');
    const controller = new AbortController();
    // Abort as soon as the first batch reaches the store.
    const aborting: StagingStore = {
      ensureSchema: () => store.ensureSchema(),
      beginLoad: async (source) => {
        const load = await store.beginLoad(source);
        const wrapped: StagingLoad = {
          appendTracks: async (rows) => {
            await load.appendTracks(rows);
            controller.abort(new Error('stop requested'));
          },
          appendRejects: (rows) => load.appendRejects(rows),
          commit: () => load.commit(),
          abort: () => load.abort(),
        };
        return wrapped;
      },
    };
    await expect(ingestCsv({ path: REAL_DATASET, store: aborting, signal: controller.signal })).rejects.toThrow(
      'stop requested',
    );
    expect(await db.all('SELECT count(*) AS n, max(loaded_at) AS t, sum(energy) AS e FROM staging.tracks')).toEqual(before);
    expect(await db.all('SELECT table_name FROM duckdb_tables() WHERE temporary')).toEqual([]);
  });
});

describe('a new version of a source file (DuckDB staging)', () => {
  it('deletes the rows it no longer has and counts them; refuses to delete more than half unless allowed', async () => {
    const dir = mkdtempSync(join(tmp, 'versions-'));
    const db = await DuckDbSession.open(join(dir, 'store.duckdb'));
    try {
      await shrinkScenario({ store: new DuckDbStagingStore(db), query: (sql) => db.all(sql), tmp: dir });
    } finally {
      await db.close();
    }
  });

  it('the guard allows deleting up to half of a source, refuses more, and names the counts and the flag', () => {
    const source = { schema: 'tidytuesday' as const, file: 'a.csv', loadedAt: new Date() };
    expect(() => checkShrink(source, 10, 5)).not.toThrow();
    expect(() => checkShrink(source, 0, 0)).not.toThrow();
    expect(() => checkShrink(source, 10, 6)).toThrow(StagingShrinkError);
    expect(() => checkShrink(source, 10, 6)).toThrow(/^refusing to load "a\.csv": it would delete 6 of the 10 rows staged from it .*--allow-shrink/);
    expect(() => checkShrink({ ...source, allowShrink: true }, 10, 10)).not.toThrow();
  });
});

describe('careless files: no valid rows, other encodings, binary bytes (DuckDB staging)', () => {
  let dir: string;
  let db: DuckDbSession;
  let store: DuckDbStagingStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmp, 'careless-'));
    db = await DuckDbSession.open(join(dir, 'store.duckdb'));
    store = new DuckDbStagingStore(db);
    // What an earlier good file left in staging: every failure below must keep it as it was.
    await ingestCsv({ path: writeCsv('good.csv', [[...TT_COLUMNS], ttCells()]), store });
  });
  afterEach(async () => {
    await db.close();
  });
  const snapshotOfStaging = () =>
    db.all('SELECT (SELECT count(*) FROM staging.tracks) AS tracks, (SELECT count(*) FROM staging.track_rejects) AS rejects');
  async function noValidRows(p: Promise<unknown>): Promise<NoValidRowsError> {
    const err = await p.then(() => new Error('expected NoValidRowsError'), (e: unknown) => e);
    expect(err).toBeInstanceOf(NoValidRowsError);
    return err as NoValidRowsError;
  }

  it('a header-only file fails with one line and stages nothing', async () => {
    const before = await snapshotOfStaging();
    const err = await noValidRows(ingestCsv({ path: writeCsv('empty.csv', [[...TT_COLUMNS]]), store }));
    expect(err.message).toBe('empty.csv has a header but no data rows; nothing was staged and the published catalog is kept');
    expect(err.counts).toMatchObject({ rowsRead: 0, rowsStaged: 0, rowsRejected: 0 });
    expect(await snapshotOfStaging()).toEqual(before);
    expect(await db.all('SELECT table_name FROM duckdb_tables() WHERE temporary')).toEqual([]);
  });

  it('a file whose every row is rejected fails, naming the reasons and the first bad line', async () => {
    const before = await snapshotOfStaging();
    const path = writeCsv('all-bad.csv', [
      [...TT_COLUMNS], ttCells({ energy: '7' }), ttCells({ track_id: '' }), ttCells({ energy: '9' }),
    ]);
    const err = await noValidRows(ingestCsv({ path, store }));
    expect(err.message).toBe(
      'all-bad.csv has no valid rows: all 3 rejected (out_of_range 2, missing_track_id 1; first line 2: energy 7 is outside 0–1); ' +
        'nothing was staged and the published catalog is kept',
    );
    expect(err.counts).toMatchObject({ rowsRead: 3, rowsStaged: 0, rowsRejected: 3 });
    expect(await snapshotOfStaging()).toEqual(before);

    const huge = writeCsv('huge-cell.csv', [[...TT_COLUMNS], ttCells({ tempo: 'x'.repeat(1_000_000) })]);
    const hugeErr = await noValidRows(ingestCsv({ path: huge, store }));
    expect(hugeErr.message).toMatch(/^huge-cell\.csv has no valid rows: all 1 rejected \(not_a_number 1; first line 2: tempo "x{193}…\); nothing/);
  });

  it('a Windows-1252 export is transcoded: names staged as written, the note in the report', async () => {
    const rows = [[...TT_COLUMNS], ttCells({ track_name: 'Déjà Vu – Live', track_artist: 'Beyoncé', track_id: 'latin1Track00000000000' })];
    const path = join(dir, 'latin1.csv');
    writeFileSync(path, iconv.encode(rows.map(csvLine).join('\n') + '\n', 'windows-1252'));
    const report = await ingestCsv({ path, store });
    expect(report).toMatchObject({ rowsStaged: 1, rowsRejected: 0, encoding: 'windows-1252' });
    expect(report.inputNotes).toMatch(/^latin1\.csv is not UTF-8 \(first at line 2 .*read as Windows-1252/);
    expect(await db.all("SELECT track_name, artist_names FROM staging.tracks WHERE track_id = 'latin1Track00000000000'")).toEqual([
      { track_name: 'Déjà Vu – Live', artist_names: 'Beyoncé' },
    ]);
  });

  it('a Latin-1 byte far into the file (after rows went to the store) restarts the load transcoded, staging each row once', async () => {
    const ascii = Array.from({ length: 3_000 }, (_, i) => csvLine(ttCells({ track_id: `asciiTrack${String(i).padStart(12, '0')}` })));
    const late = csvLine(ttCells({ track_id: 'lateLatin1Track0000000', track_artist: 'Sigur Rós' }));
    const path = join(dir, 'late-latin1.csv');
    writeFileSync(path, iconv.encode([csvLine([...TT_COLUMNS]), ...ascii, late].join('\n') + '\n', 'windows-1252'));
    expect(statSync(path).size).toBeGreaterThan(600_000); // past the first read chunks and batches
    const report = await ingestCsv({ path, store });
    expect(report).toMatchObject({ rowsRead: 3_001, rowsStaged: 3_001, inserted: 3_001, encoding: 'windows-1252' });
    expect(report.inputNotes).toMatch(/first at line 3002 /);
    expect(await db.all("SELECT artist_names FROM staging.tracks WHERE track_id = 'lateLatin1Track0000000'")).toEqual([{ artist_names: 'Sigur Rós' }]);
    expect(await db.all('SELECT table_name FROM duckdb_tables() WHERE temporary')).toEqual([]);
  });

  it('a UTF-8 file is read as it is (no note)', async () => {
    const path = writeCsv('utf8.csv', [[...TT_COLUMNS], ttCells({ track_artist: 'Beyoncé', track_id: 'utf8Track0000000000000' })]);
    expect(await ingestCsv({ path, store })).toMatchObject({ encoding: 'utf-8', inputNotes: null, rowsStaged: 1 });
  });

  it('a file mixing UTF-8 and Latin-1 bytes is refused with the line, and staging is kept', async () => {
    const before = await snapshotOfStaging();
    const path = join(dir, 'mixed.csv');
    writeFileSync(path, Buffer.concat([
      Buffer.from([csvLine([...TT_COLUMNS]), csvLine(ttCells({ track_artist: 'Beyoncé' }))].join('\n') + '\n'),
      Buffer.from(csvLine(ttCells({ track_id: 'x2', track_artist: 'Café' })) + '\n', 'latin1'),
    ]));
    await expect(ingestCsv({ path, store })).rejects.toThrow(/^mixed\.csv is not valid UTF-8 at line 3 .*mixes encodings; save it as UTF-8/);
    expect(await snapshotOfStaging()).toEqual(before);
  });

  it('gzip and NUL-filled files are refused before parsing, with a printable one-line message', async () => {
    const gz = join(dir, 'songs.csv.gz');
    writeFileSync(gz, gzipSync(Buffer.from([csvLine([...TT_COLUMNS]), csvLine(ttCells())].join('\n'))));
    await expect(ingestCsv({ path: gz, store })).rejects.toThrow(/^songs\.csv\.gz is gzip-compressed, not a CSV text file; decompress it first/);
    const zeros = join(dir, 'zeros.csv');
    writeFileSync(zeros, Buffer.alloc(100_000));
    const err = await ingestCsv({ path: zeros, store }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      'zeros.csv holds binary data (a NUL byte on line 1, byte offset 0), not CSV text; check that MUSIC_DATASET points at the CSV file',
    );
  });
});
