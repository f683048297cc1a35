import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { KdTree, TopK } from '../src/catalog/knn.js';
import { recommend } from '../src/catalog/recommend.js';
import { readSnapshot } from '../src/catalog/snapshot.js';

let catalog: Catalog;
beforeAll(async () => {
  catalog = new Catalog(await readSnapshot(join(inject('builtDataDir'), 'snapshots')));
});

/** The exhaustive reference: score every track, sort by score then track id. */
function exhaustive(anchors: Float64Array[], size: number, accept: (i: number) => boolean): number[] {
  const k = catalog.embeddingDims;
  const inv = 1 / catalog.embeddingScale;
  const scored: { i: number; s: number }[] = [];
  for (let i = 0; i < catalog.size; i++) {
    if (!accept(i)) continue;
    const e = catalog.vector(i);
    let sum = 0;
    for (const v of anchors) {
      let d = 0;
      for (let c = 0; c < k; c++) d += (e[c]! - v[c]!) ** 2;
      sum += Math.exp(-d * inv);
    }
    scored.push({ i, s: sum / anchors.length });
  }
  scored.sort((a, b) => b.s - a.s || (catalog.trackId(a.i) < catalog.trackId(b.i) ? -1 : 1));
  return scored.slice(0, size).map((x) => x.i);
}

describe('exact nearest neighbours in the learned metric (k-d tree)', () => {
  it('returns the same shortlist as an exhaustive scan for a sample of seeds, single and combined', () => {
    const inv = 1 / catalog.embeddingScale;
    const seeds = Array.from({ length: 40 }, (_, s) => Math.floor(((s + 0.5) / 40) * catalog.size));
    for (const [n, seed] of seeds.entries()) {
      const anchors = [Float64Array.from(catalog.vector(seed))];
      if (n % 4 === 3) anchors.push(Float64Array.from(catalog.vector(seeds[(n + 7) % seeds.length]!)));
      const accept = n % 5 === 0 ? (i: number) => catalog.popularity(i) >= 50 : () => true;
      const top = catalog.topK(250);
      const scored = catalog.metric.search(anchors, inv, accept, top);
      expect(Array.from(top.sorted().indexes)).toEqual(exhaustive(anchors, 250, accept));
      expect(scored).toBeLessThanOrEqual(catalog.size);
    }
  });

  it('similar_tracks answers the same top 10 as the exhaustive ranking under its own rules', () => {
    for (let s = 0; s < 25; s++) {
      const seed = Math.floor(((s + 0.5) / 25) * catalog.size);
      const r = recommend(catalog, { seeds: [{ type: 'track', id: catalog.trackId(seed), index: seed }], bounds: {}, limit: 10, includeExplicit: true, maxPerArtist: undefined, diversity: 0, genreFilter: false });
      const song = catalog.songIndex[seed]!;
      const expected: number[] = [];
      const songs = new Set<number>();
      for (const i of exhaustive([Float64Array.from(catalog.vector(seed))], 250, (i) => catalog.songIndex[i] !== song)) {
        if (expected.length === 10) break;
        if (songs.has(catalog.songIndex[i]!)) continue;
        songs.add(catalog.songIndex[i]!);
        expected.push(i);
      }
      expect(r.tracks.map((t) => t.track_id)).toEqual(expected.map((i) => catalog.trackId(i)));
    }
  });

  it('handles degenerate inputs: identical vectors, fewer tracks than asked for', () => {
    const v = new Float32Array(50 * 2).fill(1);
    const tree = new KdTree(v, 50, 2);
    const top = new TopK((i) => String(i).padStart(3, '0')).reset(10);
    expect(tree.search([new Float64Array([1, 1])], 1, () => true, top)).toBe(50);
    expect(Array.from(top.sorted().indexes)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const few = new TopK((i) => String(i)).reset(100);
    new KdTree(new Float32Array([0, 1, 2]), 3, 1).search([new Float64Array([2])], 1, () => true, few);
    expect(Array.from(few.sorted().indexes)).toEqual([2, 1, 0]);
  });
});
