import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { silentLogger } from '../src/log.js';
import { connectInMemory, type MemoryConnection } from '../scripts/lib/memory-client.js';

type Track = {
  track_id: string; name: string | null; artists: string[]; popularity: number; explicit: boolean | null;
  genres: string[]; subgenres: string[]; features: Record<string, number>; score: number; reason: string; credit?: string;
};
type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
let connection: MemoryConnection;
const call = async (name: string, args: Record<string, unknown>) => (await connection.call(name, args)) as Result;

beforeAll(async () => {
  expect(await holder.load()).toBe(true);
  connection = await connectInMemory(holder, 'tools-test');
});
afterAll(async () => {
  await connection.close();
  holder.close();
});

describe('recommend_by_genre', () => {
  it('matches genres ignoring case, spaces and hyphens, at either level', async () => {
    for (const genre of ['R&B', 'r & b', 'Dance-Pop', 'dancepop', ' ROCK ']) {
      const r = await call('recommend_by_genre', { genre, limit: 3 });
      expect(r.isError, `${genre}: ${r.content[0]?.text}`).toBeFalsy();
      expect(r.structuredContent!.tracks).toHaveLength(3);
    }
    const sub = await call('recommend_by_genre', { genre: 'dance pop', limit: 5 });
    expect(sub.structuredContent!.genre).toMatchObject({ name: 'dance pop', level: 'subgenre', parent_genre: 'pop' });
    for (const t of sub.structuredContent!.tracks as Track[]) expect(t.subgenres).toContain('dance pop');
  });

  it('is deterministic and ranks best first', async () => {
    const a = await call('recommend_by_genre', { genre: 'edm', limit: 25 });
    const b = await call('recommend_by_genre', { genre: 'edm', limit: 25 });
    expect(a.structuredContent).toEqual(b.structuredContent);
    const scores = (a.structuredContent!.tracks as Track[]).map((t) => t.score);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
  });

  it('keeps every returned track inside every min/max bound', async () => {
    const bounds = { min_popularity: 40, max_popularity: 80, min_danceability: 0.6, max_energy: 0.8, min_acousticness: 0.1, max_speechiness: 0.2 };
    const r = await call('recommend_by_genre', { genre: 'latin', limit: 100, ...bounds });
    const tracks = r.structuredContent!.tracks as Track[];
    expect(tracks.length).toBeGreaterThan(5);
    for (const t of tracks) {
      expect(t.popularity).toBeGreaterThanOrEqual(40);
      expect(t.popularity).toBeLessThanOrEqual(80);
      expect(t.features.danceability).toBeGreaterThanOrEqual(0.6);
      expect(t.features.energy).toBeLessThanOrEqual(0.8);
      expect(t.features.acousticness).toBeGreaterThanOrEqual(0.1);
      expect(t.features.speechiness).toBeLessThanOrEqual(0.2);
      expect(t.reason).toMatch(/meets .*danceability/);
    }
    expect(r.structuredContent!.after_filtering).toBeLessThan(r.structuredContent!.candidates);
  });

  it('returns each song once even when the catalog holds it under several ids', async () => {
    const r = await call('recommend_by_genre', { genre: 'pop', limit: 100 });
    const keys = (r.structuredContent!.tracks as Track[]).map((t) => `${t.name?.toLowerCase()}|${t.artists[0]?.toLowerCase()}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('says so when filters empty the pool', async () => {
    const r = await call('recommend_by_genre', { genre: 'rock', min_speechiness: 0.99, min_instrumentalness: 0.99 });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.returned).toBe(0);
    expect(r.structuredContent!.notice).toMatch(/no candidate for «rock» meets these filters/);
  });

  it('rejects min > max naming both bounds', async () => {
    const r = await call('recommend_by_genre', { genre: 'rock', min_energy: 0.9, max_energy: 0.2 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toBe('invalid range: min_energy (0.9) is greater than max_energy (0.2). Swap or widen the bounds.');
  });

  it('names the closest genres for an unknown one', async () => {
    const r = await call('recommend_by_genre', { genre: 'hip hopp' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^genre «hip hopp» is not in the catalog; closest genres: «hip hop»/);
  });

  it('answers an unknown genre with the catalog\'s genres, and a known style with the genres nearest by sound', async () => {
    const show = async (genre: string) => {
      const r = await call('recommend_by_genre', { genre });
      expect(r.isError, genre).toBe(true);
      return r.content[0]!.text!;
    };
    const bySound = (text: string) => /Nearest by sound to [^:]*: ([^.]*)\./.exec(text)?.[1] ?? '';
    const listing = /The catalog has 6 genres: «edm», «latin», «pop», «r&b», «rap», «rock» \(and 24 subgenres\); music:\/\/genres lists them all\./;
    const jazz = await show('jazz');
    expect(jazz).toMatch(/^genre «jazz» is not in the catalog; no genre with a similar name\. Nearest by sound to jazz \(an approximation from mean audio features, not the same genre\): «[^»]+»(, «[^»]+»){2}\./);
    expect(jazz).toMatch(listing);
    // Jazz is acoustic and soft: the nearest genres are the catalog's mellowest, not its biggest.
    expect(bySound(jazz)).toContain('«neo soul»');
    expect(bySound(jazz)).not.toMatch(/«(edm|rap|big room|electro house)»/);
    const classical = await show('Classical');
    expect(classical).not.toMatch(/closest genres: «classic rock»/);
    expect(bySound(classical)).not.toMatch(/«(edm|rap|big room|electro house)»/);
    const metal = await show('heavy metal');
    expect(bySound(metal)).toContain('«hard rock»');
    // A style whose word is part of a catalog name keeps that name as spelled alike.
    expect(await show('soul')).toMatch(/^genre «soul» is not in the catalog; closest genres: «neo soul»\. Nearest by sound to soul/);
    // Not a style: spelling suggestions as before, no by-sound line, and the listing.
    const rok = await show('rok');
    expect(rok).toMatch(/^genre «rok» is not in the catalog; closest genres: «rock»/);
    expect(rok).not.toMatch(/by sound/);
    expect(rok).toMatch(listing);
    // Nothing alike: no popular genres passed off as "closest", the listing instead.
    const none = await show('zzzzzzzz');
    expect(none).toMatch(/^genre «zzzzzzzz» is not in the catalog; no genre with a similar name\. The catalog has 6 genres/);
  });

  it('rejects out-of-domain arguments before running', async () => {
    for (const args of [{ genre: '' }, { genre: 'rock', limit: 0 }, { genre: 'rock', min_energy: 1.5 }, { genre: 'rock', min_popularity: -1 }, { genre: 'x'.repeat(101) }]) {
      const r = await call('recommend_by_genre', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
    }
  });
});

describe('tracks_by_artist', () => {
  it('pages through an artist sorted by popularity, with total and next_offset', async () => {
    const first = await call('tracks_by_artist', { artist: 'queen', limit: 10 });
    const s = first.structuredContent!;
    expect(s.artist.name).toBe('Queen');
    expect(s.total).toBeGreaterThan(20);
    expect(s.truncated).toBe(true);
    expect(s.next_offset).toBe(10);
    const pops = (s.tracks as Track[]).map((t) => t.popularity);
    expect([...pops].sort((a, b) => b - a)).toEqual(pops);
    const second = await call('tracks_by_artist', { artist: 'Queen', limit: 10, offset: 10 });
    const ids1 = new Set((s.tracks as Track[]).map((t) => t.track_id));
    for (const t of second.structuredContent!.tracks as Track[]) expect(ids1.has(t.track_id)).toBe(false);
    const last = await call('tracks_by_artist', { artist: 'Queen', limit: 100, offset: s.total - 1 });
    expect(last.structuredContent!).toMatchObject({ returned: 1, truncated: false, next_offset: null });
  });

  it('is accent- and case-insensitive', async () => {
    for (const q of ['TIESTO', 'tiësto', 'motley crue', 'BLUE OYSTER CULT']) {
      const r = await call('tracks_by_artist', { artist: q, limit: 1 });
      expect(r.isError, q).toBeFalsy();
    }
  });

  it('answers a name written differently or mistyped with the one catalog artist, and says so', async () => {
    for (const [q, name, how] of [['Martin Garix', 'Martin Garrix', 'typo'], ['killers', 'The Killers', 'normalized'], ['acdc', 'AC/DC', 'normalized']]) {
      const r = await call('tracks_by_artist', { artist: q!, limit: 1 });
      expect(r.isError, q).toBeFalsy();
      expect(r.structuredContent!.artist.name).toBe(name);
      expect(r.structuredContent!.resolved).toEqual({ query: q, matched: name, how });
      expect(r.content[0]!.text).toContain(`read «${q}» as «${name}»`);
    }
    const exact = await call('tracks_by_artist', { artist: 'queen', limit: 1 });
    expect(exact.structuredContent!.resolved).toBeUndefined();
  });

  it('suggests the nearest names when nothing is close enough', async () => {
    const r = await call('tracks_by_artist', { artist: 'Martn Garx' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^artist «Martn Garx» is not in the catalog; nearest names: «Martin Garrix»/);
  });

  it('never answers an absent artist with a present one a few letters away', async () => {
    for (const q of ['Miles Davis', 'John Coltrane', 'Thelonious Monk', 'Charles Mingus']) {
      const r = await call('artist_metadata', { artist: q });
      expect(r.isError, q).toBe(true);
    }
  });
});

describe('artist_metadata', () => {
  it('profiles an artist with genres, popularity, sound, top tracks and albums', async () => {
    const r = await call('artist_metadata', { artist: 'Beyoncé', max_albums: 3 });
    const s = r.structuredContent!;
    expect(s.artist.name).toBe('Beyoncé');
    expect(s.track_count).toBeGreaterThan(5);
    expect(s.genres.length).toBeGreaterThan(0);
    expect(s.popularity.max).toBeGreaterThanOrEqual(s.popularity.mean);
    expect(s.audio_feature_means.danceability).toBeGreaterThan(0);
    expect(s.top_tracks.length).toBeGreaterThan(0);
    expect(s.albums.length).toBeLessThanOrEqual(3);
    expect(s.albums_total).toBeGreaterThanOrEqual(s.albums.length);
    expect(s.source).toBe('dataset');
    expect(r.content[0]!.text).toMatch(/^«Beyoncé»: \d+ tracks/);
  });

  it('agrees with tracks_by_artist on the artist and counts', async () => {
    const meta = await call('artist_metadata', { artist: 'Martin Garrix' });
    const tracks = await call('tracks_by_artist', { artist: 'Martin Garrix', limit: 100 });
    expect(meta.structuredContent!.artist).toEqual(tracks.structuredContent!.artist);
    const topId = meta.structuredContent!.top_tracks[0].track_id;
    expect(tracks.structuredContent!.tracks.some((t: Track) => t.track_id === topId || t.popularity >= meta.structuredContent!.top_tracks[0].popularity)).toBe(true);
  });
});

describe('argument names a tool does not take', () => {
  /** One valid call per tool; each must fail once an unknown name is added. */
  const VALID: Record<string, Record<string, unknown>> = {
    recommend_by_genre: { genre: 'rock', limit: 2 },
    similar_tracks: { seed_artists: ['Queen'], limit: 2 },
    tracks_by_artist: { artist: 'Queen', limit: 2 },
    artist_metadata: { artist: 'Queen' },
    search_music_knowledge: { query: 'rock', limit: 2 },
    sequence_playlist: { tracks: ['Bohemian Rhapsody – Queen', 'Bicycle Race – Queen'] },
  };

  it('are refused on every tool, naming each unknown key and the closest valid ones; the inputSchema says so', async () => {
    const { tools } = await connection.client.listTools();
    expect(Object.keys(VALID).sort()).toEqual(tools.map((t) => t.name).sort());
    for (const tool of tools) {
      expect(tool.inputSchema.additionalProperties, tool.name).toBe(false);
      const args = VALID[tool.name]!;
      expect((await call(tool.name, args)).isError, tool.name).toBeFalsy();
      const key = Object.keys(args)[0]!;
      const r = await call(tool.name, { ...args, [`${key}x`]: 5, colour: 'red' });
      expect(r.isError, tool.name).toBe(true);
      expect(r.content[0]!.text, tool.name).toMatch(new RegExp(`unknown arguments «${key}x» \\(closest: ${key}[,)].*«colour» \\(`));
    }
  });

  it('min_year/max_year on recommend_by_genre are refused rather than ignored, pointing at the release-year bounds', async () => {
    const r = await call('recommend_by_genre', { genre: 'rock', min_year: 1980, max_year: 1989 });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(r.content[0]!.text).toMatch(/unknown arguments «min_year» \(closest: [^)]*\bmin_release_year\b[^)]*\), «max_year» \(closest: [^)]*\bmax_release_year\b[^)]*\); all \d+ valid arguments are in the inputSchema/);
  });

  it('lists and describes the release-year bounds on both recommenders', async () => {
    const { tools } = await connection.client.listTools();
    for (const name of ['recommend_by_genre', 'similar_tracks']) {
      const props = tools.find((t) => t.name === name)!.inputSchema.properties as Record<string, { description?: string; minimum?: number; maximum?: number }>;
      for (const k of ['min', 'max', 'target']) expect(props[`${k}_release_year`]?.description, `${name} ${k}_release_year`).toMatch(/release_year/);
      expect(props.min_release_year!.description).toMatch(/no known release year are left out/);
    }
  });

  it('caps and escapes what it repeats of an unknown key', async () => {
    const r = await call('tracks_by_artist', { artist: 'Queen', [`k\u202e\u200b${'x'.repeat(5_000)}`]: 1 });
    const text = r.content[0]!.text!;
    expect(text).toContain('«k\\u202E\\u200B');
    expect(text).not.toMatch(/[\u202e\u200b]/);
    expect(text.length).toBeLessThan(800);
  });
});

describe('similar_tracks seeds by name', () => {
  it('reads "Title – Artist" as any version of the song and a mistyped seed artist as the one close name', async () => {
    const r = await call('similar_tracks', { seed_tracks: ['Bohemian Rhapsody – Queen'], seed_artists: ['fleetwod mac'], limit: 3 });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent!;
    expect(s.seeds.map((x: { name: string }) => x.name)).toEqual(['Fleetwood Mac', expect.stringMatching(/^Bohemian Rhapsody - /)]);
    expect(s.resolved).toEqual([
      { query: 'fleetwod mac', matched: 'Fleetwood Mac', how: 'typo' },
      { query: 'Bohemian Rhapsody – Queen', matched: expect.stringMatching(/^Bohemian Rhapsody - .* – Queen$/), how: 'version' },
    ]);
    expect(r.content[0]!.text).toContain('read «fleetwod mac» as «Fleetwood Mac» (closest spelling in the catalog)');
  });
});
