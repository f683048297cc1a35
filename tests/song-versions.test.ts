/**
 * One song, many versions. The dbt macro fold_versions (dbt/macros/text.sql) folds version suffixes
 * ("- 2011 Remaster", "(Live)", "(feat. …)") into the song key on DuckDB and PostgreSQL alike, and
 * leaves words inside a title alone; over the TidyTuesday catalog the pipeline builds, the tools then
 * never list two versions of one song, similar_tracks never answers with a version of its seed, and
 * "Title – Artist" finds the song whichever version the catalog holds, answered by its most popular one.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectMacros } from '../src/pipeline/dbt/macros.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { memoryClient } from '../scripts/lib/memory-client.js';
import { createScratchDatabase, postgresUnavailable } from './helpers/postgres.js';

/** The SQL of normalize_name + fold_versions over column `title`, as the project compiles it for an adapter. */
function songTitleSql(adapter: 'duckdb' | 'postgres' | 'snowflake'): string {
  const macros = projectMacros(join(REPO_ROOT, 'dbt'), adapter);
  return macros.call('fold_versions', macros.call('normalize_name', 'title'));
}

/** Title → its song title key. */
const CASES: [string, string][] = [
  ['Bohemian Rhapsody - 2011 Remaster', 'bohemian rhapsody'],
  ['Bohemian Rhapsody - Remastered 2011', 'bohemian rhapsody'],
  ['Bohemian Rhapsody - 2011 Mix', 'bohemian rhapsody'],
  ['Dreams – 2004 Remaster', 'dreams'],
  ['Someone You Loved - Madism Radio Mix', 'someone you loved'],
  ['Por Onde Andei - Ao Vivo Em São Paulo / 2007', 'por onde andei'],
  ['Tren Al Sur (En Vivo)', 'tren al sur'],
  ['Kasoor (From "Dhamaka") - Acoustic', 'kasoor'],
  ['Beautiful People (feat. Khalid) - NOTD Remix', 'beautiful people'],
  ['Heat Waves (with iann dior)', 'heat waves'],
  ['Happy Together [Mono Version]', 'happy together'],
  ['Loco Contigo (with J. Balvin & Tyga) - Cedric Gervais Remix', 'loco contigo'],
  ['Burning Bright - Live From Washington State', 'burning bright'],
  ['Acústico - Versión Remasterizada', 'acustico'],
  // Words inside a title, and suffixes that are no version, stay.
  ['Live Forever', 'live forever'],
  ['Mix Tape', 'mix tape'],
  ['Live and Let Die', 'live and let die'],
  ["I Won't Say (I'm in Love)", "i won't say (i'm in love)"],
  ['Sweet Child O\' Mine - Part 2', "sweet child o' mine - part 2"],
  ['Summer of 69', 'summer of 69'],
  ['Remix', 'remix'],
  ['(Live)', '(live)'],
  ['Reprise - Without You', 'reprise - without you'],
  ['Edit the World (Stay With Me)', 'edit the world (stay with me)'],
  ['Liveline (Remixed Version)', 'liveline'],
];

describe('fold_versions, the dbt macro behind song_key', () => {
  it('folds version suffixes and keeps titles whole on DuckDB', async () => {
    const session = await DuckDbSession.open(':memory:');
    try {
      const sql = songTitleSql('duckdb');
      for (const [title, want] of CASES) {
        const [row] = await session.all<{ k: string }>(`select ${sql} as k from (select ? as title)`, [title]);
        expect(row?.k, title).toBe(want);
      }
    } finally {
      await session.close();
    }
  });

  it('compiles for Snowflake with the first match replaced only', () => {
    expect(songTitleSql('snowflake')).toMatch(/regexp_replace\(.*, '', 1, 1\)/s);
  });
});

const unavailable = await postgresUnavailable();
describe.skipIf(unavailable !== null)(`fold_versions on PostgreSQL (default__)${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('gives the same keys as on DuckDB', async () => {
    const db = await createScratchDatabase('music_versions');
    try {
      const sql = songTitleSql('postgres');
      for (const [title, want] of CASES) {
        const [row] = await db.query<{ k: string }>(`select ${sql} as k from (select $1::text as title) as t`, [title]);
        expect(row?.k, title).toBe(want);
      }
    } finally {
      await db.drop();
    }
  });
});

type Track = { track_id: string; name: string | null; artists: string[]; popularity: number };

describe('tools over a catalog with versions (TidyTuesday, built by the pipeline)', () => {
  const { call, catalog, client, open, close } = memoryClient(inject('builtDataDir'), 'versions-test');
  /** The song a track belongs to, as served (its canonical track id). */
  const songOf = (id: string) => catalog().canonicalId(catalog().indexOf(id)!);
  const expectOneVersionEach = (tracks: Track[], what: string) => {
    const songs = tracks.map((t) => songOf(t.track_id));
    expect(new Set(songs).size, `${what}: ${tracks.map((t) => t.name).join(' | ')}`).toBe(songs.length);
  };

  beforeAll(open);
  afterAll(close);

  it('holds the three Queen releases of "Bohemian Rhapsody" as one song, and counts folded versions in the dataset card', async () => {
    const titles = ['Bohemian Rhapsody - Remastered 2011', 'Bohemian Rhapsody - 2011 Remaster', 'Bohemian Rhapsody - 2011 Mix'];
    const c = catalog();
    const queen = [...Array(c.size).keys()].filter((i) => titles.includes(c.trackName(i) ?? '') && c.artistNames(i)[0] === 'Queen');
    expect(new Set(queen.map((i) => c.trackName(i))).size).toBe(3);
    expect(new Set(queen.map((i) => c.canonicalId(i))).size).toBe(1);
    const folded = c.manifest.counts.foldedVersions!;
    expect(folded.tracks).toBeGreaterThan(1000);
    expect(folded.songs).toBeLessThan(folded.tracks);
    const card = await client.readResource({ uri: 'music://dataset' });
    const text = (card.contents[0] as { text: string }).text;
    expect(text).toContain(`${folded.tracks.toLocaleString('en-US')} tracks are other versions of ${folded.songs.toLocaleString('en-US')} songs`);
  });

  it('"Title – Artist" finds the song from its bare title, answered by its most popular version', async () => {
    const c = catalog();
    for (const [seed, title, artist] of [
      ['Bohemian Rhapsody – Queen', 'Bohemian Rhapsody', 'Queen'],
      ['Bohemian Rhapsody - Queen', 'Bohemian Rhapsody', 'Queen'],
      ['Rio – Duran Duran', 'Rio', 'Duran Duran'],
    ] as const) {
      const r = await call('similar_tracks', { seed_tracks: [seed], limit: 5 });
      expect(r.isError, `${seed}: ${r.content[0]?.text}`).toBeFalsy();
      expect(r.structuredContent!.resolved).toEqual([{ query: seed, matched: expect.stringMatching(/ – /), how: 'version' }]);
      const versions = [...Array(c.size).keys()].filter((i) => c.trackName(i)?.startsWith(`${title} - `) && c.artistNames(i)[0] === artist);
      expect(versions.length).toBeGreaterThan(1);
      const best = Math.max(...versions.map((i) => c.popularity(i)));
      const answeredBy = r.structuredContent!.seeds[0].name as string;
      const rep = versions.filter((i) => c.trackName(i) === answeredBy && c.popularity(i) === best);
      expect(rep, `${seed} answered by ${answeredBy}; the most popular version has popularity ${best}`).toHaveLength(1);
      expect(c.canonicalId(rep[0]!)).toBe(c.trackId(rep[0]!));
    }
  });

  it('"Title – Artist" naming a less popular release exactly is answered by the song\'s most popular version, and says so', async () => {
    const c = catalog();
    // "Under Pressure" (a compilation copy) and "Under Pressure - Remastered" are one song; the remaster is the more popular.
    const copies = [...Array(c.size).keys()].filter((i) => /^Under Pressure( - |$)/.test(c.trackName(i) ?? '') && c.artistNames(i)[0] === 'Queen');
    const exact = copies.filter((i) => c.trackName(i) === 'Under Pressure');
    expect(exact.length).toBeGreaterThan(0);
    const best = Math.max(...copies.map((i) => c.popularity(i)));
    expect(Math.max(...exact.map((i) => c.popularity(i)))).toBeLessThan(best);
    const r = await call('sequence_playlist', { tracks: ['Under Pressure – Queen', 'Bohemian Rhapsody – Queen'] });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    const answered = (r.structuredContent!.tracks as { name: string; popularity: number }[]).find((t) => t.name.startsWith('Under Pressure'))!;
    expect(answered.popularity).toBe(best);
    expect(r.structuredContent!.resolved).toContainEqual({ query: 'Under Pressure – Queen', matched: expect.stringMatching(/^Under Pressure - /), how: 'version' });
  });

  it('similar_tracks never answers with a version of its seed', async () => {
    const c = catalog();
    // Seeds: every version (canonical or not) of the 25 most popular songs that have folded versions.
    const bySong = new Map<string, number[]>();
    for (let i = 0; i < c.size; i++) {
      const song = c.canonicalId(i);
      const list = bySong.get(song);
      if (list) list.push(i);
      else bySong.set(song, [i]);
    }
    const songs = [...bySong.values()]
      .filter((tracks) => new Set(tracks.map((i) => c.trackName(i))).size > 1)
      .sort((a, b) => Math.max(...b.map((i) => c.popularity(i))) - Math.max(...a.map((i) => c.popularity(i))))
      .slice(0, 25);
    expect(songs).toHaveLength(25);
    for (const tracks of songs) {
      for (const seed of tracks) {
        const r = await call('similar_tracks', { seed_tracks: [c.trackId(seed)], limit: 10, max_per_artist: 10 });
        expect(r.isError, r.content[0]?.text).toBeFalsy();
        const answer = r.structuredContent!.tracks as Track[];
        expect(answer.length).toBeGreaterThan(0);
        expect(answer.filter((t) => songOf(t.track_id) === c.canonicalId(seed)).map((t) => t.name), `seed ${c.trackName(seed)}`).toEqual([]);
        expectOneVersionEach(answer, `similar to ${c.trackName(seed)}`);
      }
    }
  });

  it('recommend_by_genre and tracks_by_artist list one version of each song', async () => {
    for (const genre of ['edm', 'pop', 'rock', 'latin', 'r&b', 'rap']) {
      const r = await call('recommend_by_genre', { genre, limit: 50, max_per_artist: 50 });
      expect(r.isError, r.content[0]?.text).toBeFalsy();
      expectOneVersionEach(r.structuredContent!.tracks as Track[], genre);
    }
    for (const artist of ['Queen', 'Lewis Capaldi', 'Marshmello', 'Ed Sheeran', 'Lil Nas X', 'Duran Duran']) {
      const r = await call('tracks_by_artist', { artist, limit: 50 });
      expect(r.isError, r.content[0]?.text).toBeFalsy();
      const tracks = r.structuredContent!.tracks as Track[];
      expectOneVersionEach(tracks, artist);
      const titles = tracks.map((t) => t.name ?? '');
      if (artist === 'Queen') expect(titles.filter((t) => t.startsWith('Bohemian Rhapsody'))).toHaveLength(1);
    }
  });
});
