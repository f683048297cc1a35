import { describe, expect, it } from 'vitest';
import { nearestBySound, STYLE_FEATURES, STYLES, styleOf } from '../src/catalog/genre-styles.js';
import type { FeatureStats, GenreProfile } from '../src/catalog/snapshot.js';
import { unknownGenre } from '../src/catalog/unknown-name.js';

const stats = (mean: number, stddev: number): FeatureStats => ({ mean, stddev, p10: null, p25: null, p50: null, p75: null, p90: null });
const SPREAD: Record<string, number> = { tempo: 28, loudness: 3 };

/** A genre profile whose feature means are `values` (STYLE_FEATURES order). */
function profile(genre: string, values: readonly number[], level: GenreProfile['genre_level'] = 'genre'): GenreProfile {
  return {
    genre, genre_level: level, parent_genre: null, track_count: 100, artist_count: 10, popularity_mean: 50, explicit_share: 0, top_artists: [],
    features: Object.fromEntries(STYLE_FEATURES.map((f, j) => [f, stats(values[j]!, SPREAD[f] ?? 0.15)])),
  };
}

describe('style profiles', () => {
  it('recognises a style by its name, an alias or one word of the query, and nothing else', () => {
    expect(styleOf('Jazz')?.style).toBe('jazz');
    expect(styleOf('smooth jazz standards')?.style).toBe('jazz');
    expect(styleOf('Heavy-Metal')?.style).toBe('metal');
    expect(styleOf('kpop')?.style).toBe('k-pop');
    expect(styleOf('80s punk')?.style).toBe('punk');
    for (const q of ['rock', 'warehouse', 'jazzercise', 'hip hop', '']) expect(styleOf(q), q).toBeNull();
  });

  it('finds each style itself first in a catalog whose genres are the styles (every profile is distinct by sound)', () => {
    const catalog = STYLES.map((s) => profile(s.style, s.values));
    for (const s of STYLES) expect(nearestBySound(catalog, s, 1), s.style).toEqual([s.style]);
  });

  it('ranks an acoustic, quiet genre nearest to jazz and classical, and a loud electric one nearest to metal', () => {
    const catalog = [
      profile('soft', [0.5, 0.35, 0.45, 0.7, 0.2, 0.05, 110, -12]),
      profile('club', [0.75, 0.85, 0.5, 0.05, 0.3, 0.06, 126, -5]),
      profile('loud guitars', [0.45, 0.88, 0.4, 0.02, 0.05, 0.07, 130, -5]),
    ];
    const style = (name: string) => STYLES.find((s) => s.style === name)!;
    expect(nearestBySound(catalog, style('jazz'), 1)).toEqual(['soft']);
    expect(nearestBySound(catalog, style('classical'), 1)).toEqual(['soft']);
    expect(nearestBySound(catalog, style('metal'), 1)).toEqual(['loud guitars']);
    expect(nearestBySound(catalog, style('techno'), 1)).toEqual(['club']);
  });

  it('compares on the features a genre has, and skips a genre with none', () => {
    const bare: GenreProfile = { ...profile('bare', STYLES[0]!.values), features: {} };
    const partial: GenreProfile = { ...profile('partial', STYLES[0]!.values), features: { acousticness: stats(0.72, 0.15) } };
    expect(nearestBySound([bare, partial], STYLES[0]!)).toEqual(['partial']);
  });
});

describe('unknown genre message', () => {
  const jazz = STYLES.find((s) => s.style === 'jazz')!;
  const catalogOf = (profiles: GenreProfile[]) => ({
    genres: profiles,
    resolveGenre: () => ({ ok: false as const, suggestions: [], bySound: { style: 'jazz', genres: nearestBySound(profiles, jazz) } }),
  });

  it('points to music://genres instead of listing a long catalog', () => {
    const many = Array.from({ length: 114 }, (_, i) => profile(`genre ${i}`, STYLES[i % STYLES.length]!.values));
    const text = unknownGenre(catalogOf(many), 'bebop');
    expect(text).toMatch(/^genre «bebop» is not in the catalog; no genre with a similar name\. Nearest by sound to jazz \(an approximation from mean audio features, not the same genre\): «genre 0», /);
    expect(text).toMatch(/ The catalog has 114 genres; music:\/\/genres lists them all\.$/);
  });

  it('lists a short catalog by name, counting its subgenres apart', () => {
    const few = [profile('edm', STYLES[18]!.values), profile('soft', jazz.values), profile('neo soul', jazz.values, 'subgenre')];
    const text = unknownGenre(catalogOf(few), 'jazz');
    expect(text).toMatch(/The catalog has 2 genres: «edm», «soft» \(and 1 subgenre\); music:\/\/genres lists them all\.$/);
  });
});
