import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { silentLogger } from '../src/log.js';
import { connectInMemory, type MemoryConnection } from '../scripts/lib/memory-client.js';
import { resolveSeeds, runRecommendation } from '../tools/recommend-shared.js';
import { craftedCatalog } from './helpers/crafted-catalog.js';

type Track = { track_id: string; name: string | null; artists: string[]; genres: string[]; release_year: number | null; popularity: number; features: Record<string, number>; duration_ms: number; key: number; mode: number; score: number; reason: string };
type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
let connection: MemoryConnection;
const call = async (name: string, args: Record<string, unknown>) => (await connection.call(name, args)) as Result;
const tracksOf = (r: Result) => r.structuredContent!.tracks as Track[];

beforeAll(async () => {
  await holder.load();
  connection = await connectInMemory(holder, 'recommend-test');
});
afterAll(async () => {
  await connection.close();
  holder.close();
});

describe('validation of the recommendation surface', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['min above max', { genre: 'pop', min_tempo: 150, max_tempo: 90 }, /min_tempo \(150\) is greater than max_tempo \(90\)/],
    ['target below min', { genre: 'pop', min_energy: 0.5, target_energy: 0.2 }, /target_energy \(0.2\) is below min_energy \(0.5\)/],
    ['target above max', { genre: 'pop', max_valence: 0.3, target_valence: 0.9 }, /target_valence \(0.9\) is above max_valence \(0.3\)/],
    ['key out of domain', { genre: 'pop', target_key: 12 }, /target_key/],
    ['mode not 0/1', { genre: 'pop', min_mode: 2 }, /min_mode/],
    ['fractional key', { genre: 'pop', target_key: 1.5 }, /target_key/],
    ['popularity over 100', { genre: 'pop', max_popularity: 101 }, /max_popularity/],
    ['too many seeds', { genre: 'pop', seed_genres: ['rock', 'rap'], seed_artists: ['Queen', 'Beyoncé'], seed_tracks: ['Halo'] }, /too many seeds: 6 given, at most 5/],
    ['neither genre nor seeds nor bounds', { limit: 5, include_explicit: false }, /nothing to recommend from: give `genre`.*seed_artists \/ seed_tracks or a min_\/max_\/target_ bound \(e\.g\. min_release_year 1980/],
    ['min_release_year above max_release_year', { genre: 'rock', min_release_year: 1990, max_release_year: 1980 }, /min_release_year \(1990\) is greater than max_release_year \(1980\)/],
    ['fractional release year', { genre: 'rock', target_release_year: 1985.5 }, /^(?![^]*unknown argument)[^]*target_release_year/],
    ['unknown seed artist', { genre: 'rock', seed_artists: ['Qeen'] }, /seed artist «Qeen» is not in the catalog; nearest names: «Queen»/],
    ['unknown seed track', { genre: 'rock', seed_tracks: ['Bohemian Rapsody – Qeen'] }, /seed track «Bohemian Rapsody – Qeen» is not in the catalog; closest titles: .*«Bohemian Rhapsody/],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, async () => {
      const r = await call('recommend_by_genre', args);
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(message);
    });
  }

  it('requires a seed for similar_tracks', async () => {
    const r = await call('similar_tracks', {});
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/at least one seed/);
  });
});

describe('recommend_by_genre with seeds, bounds and targets', () => {
  it('meets every min/max bound on all 14 attributes it is given', async () => {
    const bounds = { min_tempo: 100, max_tempo: 130, min_duration_ms: 150_000, max_duration_ms: 240_000, min_loudness: -9, max_key: 7, min_mode: 1, max_liveness: 0.3, max_instrumentalness: 0.1, min_popularity: 20 };
    const r = await call('recommend_by_genre', { genre: 'pop', limit: 100, ...bounds });
    const tracks = tracksOf(r);
    expect(tracks.length).toBe(100);
    for (const t of tracks) {
      expect(t.features.tempo).toBeGreaterThanOrEqual(100);
      expect(t.features.tempo).toBeLessThanOrEqual(130);
      expect(t.duration_ms).toBeGreaterThanOrEqual(150_000);
      expect(t.duration_ms).toBeLessThanOrEqual(240_000);
      expect(t.features.loudness).toBeGreaterThanOrEqual(-9);
      expect(t.key).toBeLessThanOrEqual(7);
      expect(t.mode).toBe(1);
      expect(t.features.liveness).toBeLessThanOrEqual(0.3);
      expect(t.features.instrumentalness).toBeLessThanOrEqual(0.1);
      expect(t.popularity).toBeGreaterThanOrEqual(20);
    }
  });

  it('pulls answers toward target_ values', async () => {
    const plain = tracksOf(await call('recommend_by_genre', { genre: 'rock', limit: 20 }));
    const slow = tracksOf(await call('recommend_by_genre', { genre: 'rock', limit: 20, target_tempo: 80, target_acousticness: 0.9 }));
    const mean = (ts: Track[], f: string) => ts.reduce((s, t) => s + t.features[f]!, 0) / ts.length;
    expect(Math.abs(mean(slow, 'tempo') - 80)).toBeLessThan(Math.abs(mean(plain, 'tempo') - 80));
    expect(mean(slow, 'acousticness')).toBeGreaterThan(mean(plain, 'acousticness') + 0.2);
    expect(slow[0]!.reason).toMatch(/near .*target_tempo 80 BPM \(\d+ BPM\)/);
  });

  it('reports each seed with its pool sizes, so emptied pools are visible', async () => {
    const r = await call('recommend_by_genre', { genre: 'latin', seed_genres: ['tropical'], min_energy: 0.9 });
    const seeds = r.structuredContent!.seeds as { type: string; name: string; initialPoolSize: number; afterFilteringSize: number }[];
    expect(seeds.map((s) => [s.type, s.name])).toEqual([['genre', 'latin'], ['genre', 'tropical']]);
    for (const s of seeds) {
      expect(s.afterFilteringSize).toBeLessThan(s.initialPoolSize);
      expect(s.afterFilteringSize).toBeGreaterThan(0);
    }
  });

  it('ranks tracks like a seed artist first and says so', async () => {
    const r = await call('recommend_by_genre', { genre: 'rock', seed_artists: ['Queen'], limit: 5 });
    expect(tracksOf(r)[0]!.reason).toMatch(/sounds like «Queen»/);
  });

  it('caps tracks per artist and varies the list with diversity', async () => {
    const capped = tracksOf(await call('recommend_by_genre', { genre: 'album rock', limit: 30, max_per_artist: 1 }));
    const artists = capped.map((t) => t.artists[0]);
    expect(new Set(artists).size).toBe(artists.length);
    const spread = (ts: Track[]) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < ts.length; i++) for (let j = i + 1; j < ts.length; j++, c++) for (const f of ['danceability', 'energy', 'valence', 'acousticness']) s += Math.abs(ts[i]!.features[f]! - ts[j]!.features[f]!);
      return s / c;
    };
    const close = tracksOf(await call('similar_tracks', { seed_tracks: ['Bohemian Rhapsody - 2011 Mix – Queen'], limit: 20, diversity: 0 }));
    const varied = tracksOf(await call('similar_tracks', { seed_tracks: ['Bohemian Rhapsody - 2011 Mix – Queen'], limit: 20, diversity: 0.7 }));
    expect(spread(varied)).toBeGreaterThan(spread(close));
  });

  it('says when a bounded attribute is not recorded by the dataset', async () => {
    const r = await call('recommend_by_genre', { genre: 'pop', min_time_signature: 4 });
    expect(r.structuredContent!.returned).toBe(0);
    expect(r.structuredContent!.notice).toMatch(/does not record time_signature/);
  });
});

describe('similar_tracks', () => {
  it('resolves a "Title – Artist" seed, never returns the seed song, and keeps the seed artist to at most 2', async () => {
    const r = await call('similar_tracks', { seed_tracks: ['halo – beyonce'], limit: 10 });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    const seed = r.structuredContent!.seeds[0];
    expect(seed).toMatchObject({ type: 'track', name: 'Halo' });
    const tracks = tracksOf(r);
    expect(tracks).toHaveLength(10);
    expect(tracks.some((t) => t.name?.toLowerCase() === 'halo' && t.artists.includes('Beyoncé'))).toBe(false);
    expect(tracks.filter((t) => t.artists[0] === 'Beyoncé').length).toBeLessThanOrEqual(2);
    const scores = tracks.map((t) => t.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('accepts a Spotify track id and is deterministic', async () => {
    const id = '6g0Orsxv6glTJCt4cHsRsQ';
    const a = await call('similar_tracks', { seed_tracks: [id], limit: 15 });
    const b = await call('similar_tracks', { seed_tracks: [`spotify:track:${id}`], limit: 15 });
    expect(a.structuredContent!.tracks).toEqual(b.structuredContent!.tracks);
    expect(tracksOf(a).map((t) => t.track_id)).not.toContain(id);
  });
});

describe('release years', () => {
  it('"rock from the 80s": every returned track is from 1980–1989, and the reason says so', async () => {
    const r = await call('recommend_by_genre', { genre: 'rock', min_release_year: 1980, max_release_year: 1989, limit: 50 });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    const tracks = tracksOf(r);
    expect(tracks.length).toBe(50);
    for (const t of tracks) {
      expect(t.release_year).toBeGreaterThanOrEqual(1980);
      expect(t.release_year).toBeLessThanOrEqual(1989);
      expect(t.genres).toContain('rock');
    }
    expect(tracks[0]!.reason).toMatch(/meets release_year 19[89]\d in \[1980, 1989\]/);
    // Every track of the test dataset has a year: none left out for want of one.
    expect(r.structuredContent!.unknown_year_excluded).toBe(0);
    const plain = tracksOf(await call('recommend_by_genre', { genre: 'rock', limit: 50 }));
    expect(plain.some((t) => t.release_year! < 1980 || t.release_year! > 1989)).toBe(true);
  });

  it('pulls answers toward target_release_year', async () => {
    const plain = tracksOf(await call('recommend_by_genre', { genre: 'pop', limit: 20 }));
    const old = tracksOf(await call('recommend_by_genre', { genre: 'pop', limit: 20, target_release_year: 1975 }));
    const gap = (ts: Track[]) => ts.reduce((s, t) => s + Math.abs(t.release_year! - 1975), 0) / ts.length;
    expect(gap(old)).toBeLessThan(gap(plain) - 10);
  });

  it('bounds similar_tracks by year', async () => {
    const r = await call('similar_tracks', { seed_tracks: ['Bohemian Rhapsody - 2011 Mix – Queen'], max_release_year: 1985, limit: 20 });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    const tracks = tracksOf(r);
    expect(tracks).toHaveLength(20);
    for (const t of tracks) expect(t.release_year).toBeLessThanOrEqual(1985);
    expect(r.structuredContent!.unknown_year_excluded).toBe(0);
    const plain = tracksOf(await call('similar_tracks', { seed_tracks: ['Bohemian Rhapsody - 2011 Mix – Queen'], limit: 100 }));
    expect(plain.some((t) => t.release_year! > 1985)).toBe(true);
  });

  it('never passes a track with no known year, and counts those left out', () => {
    const catalog = craftedCatalog([2020, null, 1999, null, 2020, 2005, null, 2010]);
    const args = { min_release_year: 2000, limit: 10, include_explicit: true, diversity: 0 };
    const seeds = resolveSeeds(catalog, ['testgenre'], args);
    if (!Array.isArray(seeds)) throw new Error('seed did not resolve');
    const r = runRecommendation(catalog, seeds, args, true) as Result;
    expect(tracksOf(r).map((t) => t.release_year)).toEqual([2020, 2020, 2005, 2010]);
    expect(r.structuredContent!.unknown_year_excluded).toBe(3);
    expect(r.content[0]!.text).toMatch(/4 of 8 candidates pass the filters; 3 more left out because their release year is not known/);
    // A target alone is no bound: tracks with no known year still qualify.
    const targeted = runRecommendation(catalog, seeds, { ...args, min_release_year: undefined, target_release_year: 2010 }, true) as Result;
    expect(tracksOf(targeted)).toHaveLength(8);
    expect(targeted.structuredContent!.unknown_year_excluded).toBeUndefined();
  });

  it('says the dataset does not record years when no candidate has one', () => {
    const catalog = craftedCatalog(Array.from({ length: 8 }, () => null));
    const args = { max_release_year: 1999, limit: 5, include_explicit: true, diversity: 0 };
    const seeds = resolveSeeds(catalog, ['testgenre'], args);
    if (!Array.isArray(seeds)) throw new Error('seed did not resolve');
    const r = runRecommendation(catalog, seeds, args, true) as Result;
    expect(r.structuredContent!.returned).toBe(0);
    expect(r.structuredContent!.unknown_year_excluded).toBe(8);
    expect(r.structuredContent!.notice).toMatch(/does not record release_year/);
  });
});

describe('recommend_by_genre without a genre', () => {
  it('draws bounds-only requests from the whole catalog and says so', async () => {
    const r = await call('recommend_by_genre', { max_energy: 0.3, min_release_year: 2015, limit: 30 });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent!.drawn_from).toBe('whole_catalog');
    expect(r.structuredContent!.genre).toBeUndefined();
    expect(r.content[0]!.text).toMatch(/^drawn from the whole catalog \(no genre given/);
    expect(r.content[0]!.text).toMatch(/30 tracks for the whole catalog/);
    const tracks = tracksOf(r);
    expect(tracks).toHaveLength(30);
    for (const t of tracks) {
      expect(t.features.energy).toBeLessThanOrEqual(0.3);
      expect(t.release_year).toBeGreaterThanOrEqual(2015);
    }
    expect(new Set(tracks.flatMap((t) => t.genres)).size).toBeGreaterThan(1);
    const rock = await call('recommend_by_genre', { genre: 'rock', max_energy: 0.3, limit: 5 });
    expect(rock.structuredContent!.drawn_from).toBe('genres');
    expect(r.structuredContent!.candidates).toBeGreaterThan(rock.structuredContent!.candidates);
  });

  it('draws seed-only requests from the whole catalog, ranked by the seeds', async () => {
    const r = await call('recommend_by_genre', { seed_artists: ['Queen'], limit: 10 });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent!.drawn_from).toBe('whole_catalog');
    expect(tracksOf(r)[0]!.reason).toMatch(/sounds like «Queen»/);
    expect(r.content[0]!.text).toMatch(/^drawn from the whole catalog/);
  });

  it('caps a seed-only request at 2 tracks per artist by default, as similar_tracks does; max_per_artist overrides it', async () => {
    const perArtist = (ts: Track[]) => {
      const counts = new Map<string | undefined, number>();
      for (const t of ts) counts.set(t.artists[0], (counts.get(t.artists[0]) ?? 0) + 1);
      return Math.max(...counts.values());
    };
    const seeded = tracksOf(await call('recommend_by_genre', { seed_artists: ['Queen'], limit: 20 }));
    expect(seeded).toHaveLength(20);
    expect(perArtist(seeded)).toBeLessThanOrEqual(2);
    expect(seeded.map((t) => t.track_id)).toEqual(tracksOf(await call('similar_tracks', { seed_artists: ['Queen'], limit: 20 })).map((t) => t.track_id));
    const uncapped = tracksOf(await call('recommend_by_genre', { seed_artists: ['Queen'], limit: 20, max_per_artist: 20 }));
    expect(perArtist(uncapped)).toBeGreaterThan(2);
  });
});
