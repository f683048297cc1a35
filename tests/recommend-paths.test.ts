import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { memoryClient, type ToolResult } from '../scripts/lib/memory-client.js';

/**
 * recommend_by_genre answers one genre from that genre's cached ranking (read in order, or blended with
 * target closeness), and several genres by scoring their pooled members; diversity picks lazily. These
 * tests hold the ways of reaching one answer to the same answer, and the diverse picks to their definition.
 */

const mcp = memoryClient(inject('builtDataDir'), 'recommend-paths-test');
beforeAll(() => mcp.open());
afterAll(() => mcp.close());

type Track = { track_id: string; score: number; reason: string };
const tracksOf = (r: ToolResult): Track[] => {
  expect(r.isError, r.content[0]?.text).toBeFalsy();
  return r.structuredContent!.tracks as Track[];
};

/** Request shapes that take different ways through the engine: ranked order, targets, bounds, caps, diversity. */
const VARIANTS: Record<string, unknown>[] = [
  {},
  { limit: 40 },
  { min_energy: 0.6, min_valence: 0.5 },
  { max_energy: 0.5, target_acousticness: 0.7, limit: 20 },
  { target_tempo: 125, target_danceability: 0.8 },
  { include_explicit: false, max_per_artist: 1 },
  { diversity: 0.4 },
  { diversity: 1, limit: 15 },
  { target_valence: 0.2, diversity: 0.6, max_per_artist: 2 },
];

describe('one genre given once or twice', () => {
  it('ranks the same tracks, with the same scores and reasons, for every request shape', async () => {
    const genres = mcp.catalog().genres.filter((g) => g.track_count >= 100).slice(0, 3).map((g) => g.genre);
    expect(genres.length).toBeGreaterThan(0);
    for (const genre of genres) {
      for (const v of VARIANTS) {
        const once = tracksOf(await mcp.call('recommend_by_genre', { genre, ...v }));
        const twice = tracksOf(await mcp.call('recommend_by_genre', { genre, seed_genres: [genre], ...v }));
        expect(once.length, `${genre} ${JSON.stringify(v)}`).toBeGreaterThan(0);
        expect(twice, `${genre} ${JSON.stringify(v)}`).toEqual(once);
      }
    }
  });
});

describe('diversity', () => {
  it('picks, at each step, a track whose diversity value is at least that of every later pick', async () => {
    const catalog = mcp.catalog();
    const genre = catalog.genres.find((g) => g.track_count >= 200)!.genre;
    for (const diversity of [0.2, 0.5, 0.9]) {
      const tracks = tracksOf(await mcp.call('recommend_by_genre', { genre, diversity, limit: 15 }));
      expect(tracks.length).toBe(15);
      const at = tracks.map((t) => {
        const r = catalog.resolveTrack(t.track_id);
        if (!r.ok) throw new Error(`${t.track_id} not found`);
        return r.value;
      });
      const sim = (a: number, b: number) => Math.exp(-catalog.distance2(a, b) / catalog.embeddingScale);
      // Value of pick x at step s: (1 − d)·score − d·(greatest similarity to the picks before s).
      const value = (x: number, s: number) => (1 - diversity) * tracks[x]!.score - diversity * Math.max(0, ...at.slice(0, s).map((c) => sim(at[x]!, c)));
      for (let s = 0; s < tracks.length; s++) {
        // Scores are rounded to 3 decimals in the answer: allow that much.
        for (let later = s + 1; later < tracks.length; later++) expect(value(s, s)).toBeGreaterThanOrEqual(value(later, s) - 1e-3);
      }
      // And the list is not merely in score order: diversity reorders it (a high weight, at least).
      if (diversity === 0.9) expect(tracks.map((t) => t.score)).not.toEqual([...tracks.map((t) => t.score)].sort((a, b) => b - a));
    }
  });
});
