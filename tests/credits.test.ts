/**
 * Multi-artist credits in every layout: the separator is recognised per column from the data, co-credits
 * are split, names that contain the separator stay whole, and layouts are matched by header name.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { CreditCellCounter, CreditSplitter, CREDIT_JOIN, foldName } from '../src/pipeline/credits.js';
import { ingestCsv } from '../src/pipeline/ingest.js';
import { runPipeline } from '../src/pipeline/run.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DuckDbStagingStore, type StagedTrack, type StagingStore } from '../src/warehouse/staging.js';

const DEFAULT_DATASET =
  process.env.MUSIC_DEFAULT_DATASET ?? fileURLToPath(new URL('../../shared/data/spotify_tracks_maharshipandya.csv', import.meta.url));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'credits-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The splitter an ingest builds for these (track id, cell) pairs, and each cell's artists. */
function splitAll(cells: readonly (readonly [string, string])[]): { splitter: CreditSplitter; artists: (cell: string) => string[] } {
  const counter = new CreditCellCounter();
  for (const [id, cell] of cells) counter.add(cell, id);
  const splitter = CreditSplitter.fromCells('artists', counter.cells);
  return { splitter, artists: (cell) => splitter.split(cell)?.split(CREDIT_JOIN) ?? [] };
}

describe('recognising the separator and splitting', () => {
  const commaFile: [string, string][] = [
    ['t1', '21 Savage'],
    ['t2', '21 Savage, Metro Boomin'],
    ['t3', 'Metro Boomin, Future'],
    ['t4', 'Future'],
    ['t5', 'Tyler, The Creator'],
    ['t6', 'Tyler, The Creator, Kali Uchis'],
    ['t7', 'Kali Uchis'],
    ['t8', 'Earth, Wind & Fire'],
    ['t9', 'nothing,nowhere.'],
    ['t10', 'nothing,nowhere., Future'],
    ['t11', 'The Pogues'],
    ['t12', 'Shane MacGowan, The Pogues'],
    ['t13', 'Crosby, Stills, Nash & Young'],
    ['t14', 'Crosby, Stills & Nash'],
  ];

  it('a ", "-joined column is split on ", " and every co-credit becomes its artists', () => {
    const { splitter, artists } = splitAll(commaFile);
    expect(splitter.separator).toBe(', ');
    expect(artists('21 Savage, Metro Boomin')).toEqual(['21 Savage', 'Metro Boomin']);
    expect(artists('Metro Boomin, Future')).toEqual(['Metro Boomin', 'Future']);
    // `The Pogues` has tracks of its own: the article is no reason to join it to its neighbour.
    expect(artists('Shane MacGowan, The Pogues')).toEqual(['Shane MacGowan', 'The Pogues']);
  });

  it('names holding a comma stay whole, alone or beside other artists, and the rule that kept them is reported', () => {
    const { splitter, artists } = splitAll(commaFile);
    // One split per row, as the ingest does: the report counts rows.
    for (const [id, cell] of commaFile) expect(splitter.split(cell), id).not.toBeNull();
    const report = splitter.report();
    expect(report.rowsSplit).toBe(5);
    expect(artists('Tyler, The Creator')).toEqual(['Tyler, The Creator']);
    expect(artists('Tyler, The Creator, Kali Uchis')).toEqual(['Tyler, The Creator', 'Kali Uchis']);
    expect(artists('Earth, Wind & Fire')).toEqual(['Earth, Wind & Fire']);
    expect(artists('Crosby, Stills, Nash & Young')).toEqual(['Crosby, Stills, Nash & Young']);
    expect(artists('Crosby, Stills & Nash')).toEqual(['Crosby, Stills & Nash']);
    // The comma without a space is not the separator this file uses.
    expect(artists('nothing,nowhere., Future')).toEqual(['nothing,nowhere.', 'Future']);
    expect(report.keptWhole['exception list'].examples).toEqual(
      expect.arrayContaining(['Tyler, The Creator', 'Earth, Wind & Fire', 'Crosby, Stills, Nash & Young']),
    );
  });

  it('the same names in a ";"-joined column are split on ";" only, commas untouched', () => {
    const semicolons = commaFile.map(([id, cell]): [string, string] => [id, cell.replace('Savage, Metro', 'Savage;Metro').replace('Boomin, Future', 'Boomin;Future').replace('Creator, Kali', 'Creator;Kali')]);
    const { splitter, artists } = splitAll(semicolons);
    expect(splitter.separator).toBe(';');
    expect(artists('21 Savage;Metro Boomin')).toEqual(['21 Savage', 'Metro Boomin']);
    expect(artists('Tyler, The Creator;Kali Uchis')).toEqual(['Tyler, The Creator', 'Kali Uchis']);
    expect(artists('Shane MacGowan, The Pogues')).toEqual(['Shane MacGowan, The Pogues']);
    expect(splitter.report().keptWhole['catalog evidence'].names + splitter.report().keptWhole['exception list'].names).toBe(0);
  });

  it('a comma-joined column also splits the odd ";"-joined cell, and "|" inside a name stays', () => {
    const { splitter, artists } = splitAll([...commaFile, ['t20', 'Khea;Omar Varela'], ['t21', 'M|O|O|N'], ['t22', 'Division | North']]);
    expect(splitter.separator).toBe(', ');
    expect(splitter.alsoSplitOn).toEqual([';']);
    expect(artists('Khea;Omar Varela')).toEqual(['Khea', 'Omar Varela']);
    expect(artists('M|O|O|N')).toEqual(['M|O|O|N']);
    expect(artists('Division | North')).toEqual(['Division | North']);
  });

  it('commas alone, with no artist ever credited alone beside them, are not taken for a separator', () => {
    const { splitter, artists } = splitAll([['t1', 'Tyler, The Creator'], ['t2', 'Earth, Wind & Fire'], ['t3', 'Gen Hoshino']]);
    expect(splitter.separator).toBeNull();
    expect(artists('Earth, Wind & Fire')).toEqual(['Earth, Wind & Fire']);
  });

  it('names are compared folded: case, accents and spacing', () => {
    expect(foldName('  Beyoncé   KNOWLES ')).toBe('beyonce knowles');
  });
});

/** Every (track_id, staged artist_credits) the ingest produces for a file, through a store that keeps only those. */
async function stagedCredits(path: string) {
  const rows: [string, string | null][] = [];
  const store: StagingStore = {
    ensureSchema: async () => undefined,
    beginLoad: async () => ({
      appendTracks: async (batch: readonly StagedTrack[]) => {
        for (const r of batch) rows.push([r.track_id, r.artist_credits]);
      },
      appendRejects: async () => undefined,
      commit: async () => ({ inserted: rows.length, updated: 0, unchanged: 0, deleted: 0, rejects: 0, staleRejectsRemoved: 0 }),
      abort: async () => undefined,
    }),
  };
  const report = await ingestCsv({ path, store });
  return { rows, report };
}

/** Distinct tracks per artist (folded name) in staged credits. */
function tracksPerArtist(rows: readonly [string, string | null][]): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const [id, credits] of rows) {
    for (const name of credits?.split(CREDIT_JOIN) ?? []) {
      const key = foldName(name);
      if (!key || seen.has(`${id}\u0000${key}`)) continue;
      seen.add(`${id}\u0000${key}`);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

describe.skipIf(!existsSync(DEFAULT_DATASET))('the default dataset rewritten with ", " joins', () => {
  it('gives every artist the track count of the ";" original, except names that themselves hold ", "', async () => {
    const variant = join(tmp, 'comma-joined.csv');
    const lines: string[] = [];
    let header: string[] | null = null;
    // The artists column is the third; the rewrite quotes it (cells with ", " need quotes).
    for await (const line of createInterface({ input: createReadStream(DEFAULT_DATASET) })) {
      if (header === null) {
        header = line.split(',');
        expect(header[2]).toBe('artists');
        lines.push(line);
        continue;
      }
      lines.push(line.replace(/^([^,]*,[^,]*,)("(?:[^"]|"")*"|[^,]*)/, (_, head: string, cell: string) => {
        const raw = cell.startsWith('"') ? cell.slice(1, -1).replaceAll('""', '"') : cell;
        const joined = raw.split(';').map((s) => s.trim()).join(', ');
        return `${head}"${joined.replaceAll('"', '""')}"`;
      }));
    }
    writeFileSync(variant, lines.join('\n') + '\n');

    const original = await stagedCredits(DEFAULT_DATASET);
    const rewritten = await stagedCredits(variant);
    expect(original.report.credits[0]!.separator).toBe(';');
    expect(rewritten.report.credits[0]!.separator).toBe(', ');
    expect(rewritten.report.rowsStaged).toBe(original.report.rowsStaged);

    const before = tracksPerArtist(original.rows);
    const after = tracksPerArtist(rewritten.rows);
    // Names that hold ", " in the original, and their parts: the only ones the rewrite can make ambiguous.
    const commaNames = [...before.keys()].filter((k) => k.includes(', '));
    const ambiguous = new Set([...commaNames, ...commaNames.flatMap((k) => k.split(', '))]);
    const differ = [...before].filter(([k, n]) => after.get(k) !== n).map(([k]) => k);
    expect(differ.filter((k) => !ambiguous.has(k))).toEqual([]);
    expect(differ.length / before.size).toBeLessThan(0.002);
    // Well-known comma names keep their tracks.
    for (const name of ['sarah, the illstrumentalist', 'earth, wind & fire', 'grover washington, jr.', 'crosby, stills, nash & young']) {
      expect(after.get(name), name).toBe(before.get(name));
    }
  });
});

describe('layouts by header name', () => {
  it('a ", "-joined file with reordered and extra columns is staged, split in the marts, and the run record says so', async () => {
    const header = [
      'track_genre', 'popularity', 'track_name', 'artists', 'track_id', 'label', 'album_name', 'duration_ms', 'explicit',
      'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness',
      'liveness', 'valence', 'tempo', 'time_signature', 'isrc',
    ];
    const row = (id: string, name: string, artists: string) =>
      ['hip-hop', '70', name, `"${artists}"`, id, 'Some Label', 'Album', '200000', 'False', '0.5', '0.5', '1', '-6', '1', '0.1', '0.1', '0', '0.1', '0.5', '120', '4', 'USX1'].join(',');
    const path = join(tmp, 'reordered.csv');
    writeFileSync(path, [
      header.join(','),
      row('a0000000000000000000001', 'Solo', '21 Savage'),
      row('a0000000000000000000002', 'Duo', '21 Savage, Metro Boomin'),
      row('a0000000000000000000003', 'Pair', 'Metro Boomin, Tyler, The Creator'),
      row('a0000000000000000000004', 'Alone', 'Tyler, The Creator'),
    ].join('\n') + '\n');

    const dataDir = join(tmp, 'data');
    const config = loadConfig({ MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: path });
    const report = await runPipeline(config, silentLogger, { steps: ['acquire', 'ingest', 'load', 'transform'] });
    expect(report.ingest?.schema).toBe('maharshipandya');
    expect(report.ingest?.extraColumns).toEqual(['label', 'isrc']);
    expect(report.ingest?.rowsStaged).toBe(4);

    const session = await DuckDbSession.open(config.duckdbPath);
    try {
      const [run] = await session.all<Record<string, unknown>>('SELECT * FROM ops.pipeline_runs');
      expect(run).toMatchObject({
        extra_columns: '"label", "isrc"',
        credit_separators: 'artists: ", "',
        credits_split: 2,
        credits_kept_whole: 2,
      });
      expect(run?.credit_notes).toMatch(/kept whole by exception list \(e\.g\. "Tyler, The Creator"\)/);
      const artists = await session.all<{ track_name: string; artist_name: string }>(
        `SELECT t.track_name, a.artist_name FROM marts.bridge_track_artists b
         JOIN marts.dim_tracks t USING (track_id) JOIN marts.dim_artists a USING (artist_key)
         ORDER BY t.track_name, b.artist_position`,
      );
      expect(artists.map((r) => `${r.track_name}: ${r.artist_name}`)).toEqual([
        'Alone: Tyler, The Creator',
        'Duo: 21 Savage',
        'Duo: Metro Boomin',
        'Pair: Metro Boomin',
        'Pair: Tyler, The Creator',
        'Solo: 21 Savage',
      ]);
    } finally {
      await session.close();
    }
  });

  it('a staging table made before artist_credits existed gets the column, and the next ingest fills it', async () => {
    const session = await DuckDbSession.open(join(tmp, 'old-staging.duckdb'));
    try {
      const store = new DuckDbStagingStore(session);
      await store.ensureSchema();
      await session.run('ALTER TABLE staging.tracks DROP COLUMN artist_credits');
      const path = join(tmp, 'semicolons.csv');
      const header = 'track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre';
      writeFileSync(path, `${header}\nb0000000000000000000001,Khea;Omar Varela,A,T,50,200000,False,0.5,0.5,1,-6,1,0.1,0.1,0,0.1,0.5,120,4,latin\n`);
      await store.ensureSchema();
      await ingestCsv({ path, store });
      const rows = await session.all<{ artist_credits: string }>('SELECT artist_credits FROM staging.tracks');
      expect(rows.map((r) => r.artist_credits.split(CREDIT_JOIN))).toEqual([['Khea', 'Omar Varela']]);
    } finally {
      await session.close();
    }
  });

  it('missing columns: one error naming them for each known layout', async () => {
    const path = join(tmp, 'missing.csv');
    writeFileSync(path, 'track_id,artists,track_name\nx,A,B\n');
    const store: StagingStore = { ensureSchema: async () => undefined, beginLoad: async () => { throw new Error('nothing may be staged'); } };
    const err = await ingestCsv({ path, store, log: silentLogger }).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/closest layout is Kaggle Spotify Tracks Dataset \(maharshipandya\), which also needs: album_name, popularity/);
    expect(err?.message).toMatch(/TidyTuesday Spotify Songs \(2020-01-21\) needs: track_artist/);
    expect(err?.message).toMatch(/known layouts: maharshipandya, tidytuesday; columns are matched by name, in any order/);
  });
});
