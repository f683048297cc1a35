import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { answerOccurrence, artistBlend, Catalog, LOCAL_SCALE, localScales } from '../src/catalog/catalog.js';
import { blendByGroup } from '../src/catalog/embedding.js';
import { loadCatalog } from '../src/catalog/holder.js';
import { KdTree, TopK } from '../src/catalog/knn.js';
import { recommend, type RecommendRequest } from '../src/catalog/recommend.js';
import { runSliced } from '../src/catalog/slices.js';
import { currentVersion, readSnapshot } from '../src/catalog/snapshot.js';

let catalog: Catalog;
beforeAll(async () => {
  catalog = new Catalog(await readSnapshot(join(inject('builtDataDir'), 'snapshots')));
});

/** The exhaustive reference: score every track (its squared distances divided by its local scale), sort by score then track id. */
function exhaustive(anchors: Float64Array[], size: number, accept: (i: number) => boolean, inv = anchors.map(() => 1 / catalog.embeddingScale)): number[] {
  return exhaustiveScored(anchors, size, accept, inv).map((x) => x.i);
}

function exhaustiveScored(anchors: Float64Array[], size: number, accept: (i: number) => boolean, inv: number[]): { i: number; s: number }[] {
  const k = catalog.embeddingDims;
  const scored: { i: number; s: number }[] = [];
  for (let i = 0; i < catalog.size; i++) {
    if (!accept(i)) continue;
    const e = catalog.vector(i);
    let sum = 0;
    for (const [a, v] of anchors.entries()) {
      let d = 0;
      for (let c = 0; c < k; c++) d += (e[c]! - v[c]!) ** 2;
      sum += Math.exp((-d * inv[a]!) / catalog.localScale(i));
    }
    scored.push({ i, s: sum / anchors.length });
  }
  scored.sort((a, b) => b.s - a.s || (catalog.trackId(a.i) < catalog.trackId(b.i) ? -1 : 1));
  return scored.slice(0, size);
}

/**
 * similar_tracks' answer rules applied naively to a ranked shortlist: at each step every untaken entry's value
 * (1 − diversity) · score − diversity · (greatest similarity to a chosen track) is computed afresh, the highest
 * taken (the first on ties), and kept unless its song is already in or its artist is at the cap.
 */
function selectNaively(list: { i: number; s: number }[], limit: number, maxPerArtist: number, diversity: number): number[] {
  const chosen: number[] = [];
  const taken = new Set<number>();
  const songs = new Set<number>();
  const perArtist = new Map<number, number>();
  while (chosen.length < limit && taken.size < list.length) {
    let best = -1;
    let bestValue = -Infinity;
    for (const [j, { i, s }] of list.entries()) {
      if (taken.has(j)) continue;
      const sim = Math.max(0, ...chosen.map((c) => Math.exp(-catalog.distance2(i, c) / catalog.embeddingScale)));
      const value = (1 - diversity) * s - diversity * sim;
      if (value > bestValue) [best, bestValue] = [j, value];
    }
    taken.add(best);
    const i = list[best]!.i;
    const artist = catalog.primaryArtistId(i);
    if (songs.has(catalog.songIndex[i]!) || (artist >= 0 && (perArtist.get(artist) ?? 0) >= maxPerArtist)) continue;
    songs.add(catalog.songIndex[i]!);
    perArtist.set(artist, (perArtist.get(artist) ?? 0) + 1);
    chosen.push(i);
  }
  return chosen;
}

describe('exact nearest neighbours in the learned metric (k-d tree)', () => {
  it('returns the same shortlist as an exhaustive scan for a sample of seeds, single and combined, with per-anchor widths', () => {
    const inv = 1 / catalog.embeddingScale;
    const seeds = Array.from({ length: 40 }, (_, s) => Math.floor(((s + 0.5) / 40) * catalog.size));
    for (const [n, seed] of seeds.entries()) {
      const anchors = [Float64Array.from(catalog.vector(seed))];
      if (n % 4 === 3) anchors.push(Float64Array.from(catalog.vector(seeds[(n + 7) % seeds.length]!)));
      const accept = n % 5 === 0 ? (i: number) => catalog.popularity(i) >= 50 : () => true;
      const top = catalog.topK(250);
      const widths = n % 3 === 0 ? anchors.map((_, a) => inv / (0.5 + a)) : anchors.map(() => inv);
      const scored = catalog.metric.search(anchors, n % 3 === 0 ? widths : inv, accept, top);
      expect(Array.from(top.sorted().indexes)).toEqual(exhaustive(anchors, 250, accept, widths));
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

  it('similar_tracks with a per-artist cap or diversity answers as its rules over the exhaustive shortlist (limit × 25, at least 250)', () => {
    let deep = 0;
    for (let s = 0; s < 24; s++) {
      const seed = Math.floor(((s + 0.5) / 24) * catalog.size);
      const song = catalog.songIndex[seed]!;
      const [maxPerArtist, diversity, limit] = ([[1, 0, 10], [2, 0.3, 10], [1, 0.8, 15]] as const)[s % 3]!;
      const r = recommend(catalog, { seeds: [{ type: 'track', id: catalog.trackId(seed), index: seed }], bounds: {}, limit, includeExplicit: true, maxPerArtist, diversity, genreFilter: false });
      const list = exhaustiveScored([Float64Array.from(catalog.vector(seed))], Math.max(limit * 25, 250), (i) => catalog.songIndex[i] !== song, [1 / (catalog.embeddingScale * catalog.localScale(seed))]);
      const expected = selectNaively(list, limit, maxPerArtist, diversity);
      expect(r.tracks.map((t) => t.track_id), `seed ${seed}`).toEqual(expected.map((i) => catalog.trackId(i)));
      // Answers built from deep in the shortlist (past the first 3 per answered track) are among those checked.
      if (Math.max(...expected.map((i) => list.findIndex((x) => x.i === i))) >= 3 * limit) deep++;
    }
    expect(deep).toBeGreaterThan(0);
  });

  it('ranks by locally scaled distance: a track in a dense clump loses to an equally near track in a sparse region', () => {
    // 1-D: a clump of 11 tracks just below 0, a sparse row of tracks at 3, 6, 9, …; a seed at 1.49 is a little nearer
    // the clump's edge (0) than the sparse track at 3. Plain distance picks the clump; local scale (mean distance to
    // the 10 nearest) puts the sparse track first.
    const xs = [...Array.from({ length: 11 }, (_, j) => j * 0.001 - 0.01), 1.49, ...Array.from({ length: 11 }, (_, j) => 3 * (j + 1))];
    const plain = new KdTree(Float32Array.from(xs), xs.length, 1);
    const sigma = plain.meanNearestDistance(10, () => true);
    const tree = plain.withLocalScale(Array.from(sigma, (v) => v / sigma[11]!));
    const seed = 11;
    const top = new TopK((i) => String(i).padStart(3, '0')).reset(3);
    tree.search([new Float64Array([1.49])], 1 / tree.localScale[tree.rowOf[seed]!]!, (i) => i !== seed, top);
    expect(xs[top.sorted().indexes[0]!]).toBe(3);
    const plainTop = new TopK((i) => String(i).padStart(3, '0')).reset(3);
    plain.search([new Float64Array([1.49])], 1, (i) => i !== seed, plainTop);
    expect(xs[plainTop.sorted().indexes[0]!]).toBeCloseTo(0, 6);
  });

  it('local scale among other artists ignores the own artist\'s clump; a hub correction on hubs only never moves a track closer', () => {
    // 1-D: 11 tracks of one artist packed just below 0, and 11 one-track artists at 3, 6, 9, …
    const xs = [...Array.from({ length: 11 }, (_, j) => j * 0.001 - 0.01), ...Array.from({ length: 11 }, (_, j) => 3 * (j + 1))];
    const tree = new KdTree(Float32Array.from(xs), xs.length, 1);
    const artistKeys = { start: Int32Array.from({ length: xs.length + 1 }, (_, i) => i), ids: Int32Array.from(xs, (_, i) => Math.max(0, i - 10)), table: xs.map((_, i) => `a${i}`) };
    const columns = { songIndex: Int32Array.from(xs, (_, i) => i), artistKeys };
    const songs = localScales(tree, columns, { neighbours: 3, power: 1 });
    const artists = localScales(tree, columns, { neighbours: 3, power: 1, among: 'artists' });
    // Among songs the clump's tracks are each other's neighbours (tiny scale); among artists their neighbours are at 3, 6, 9.
    expect(songs[0]!).toBeLessThan(0.01);
    expect(artists[0]!).toBeGreaterThan(0.5);
    const both = localScales(tree, columns, { neighbours: 3, power: 1, hub: 0.5 });
    const down = localScales(tree, columns, { neighbours: 3, power: 1, hub: 0.5, hubOnlyDown: true });
    for (let i = 0; i < xs.length; i++) expect(down[i]!).toBeLessThanOrEqual(songs[i]!);
    expect(both.some((v, i) => v > songs[i]!)).toBe(true);
  });

  it('each further round of the hub correction lowers the largest k-occurrence that is left', () => {
    // 2-D: 400 one-track artists, the first 40 packed in a clump at the centre (whose edge tracks are everyone's neighbours).
    let rng = 7;
    const rand = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const n = 400;
    const xs = Float32Array.from({ length: 2 * n }, (_, c) => (rand() - 0.5) * 4 * (c < 80 ? 0.15 : 1));
    const tree = new KdTree(xs, n, 2);
    const artistKeys = { start: Int32Array.from({ length: n + 1 }, (_, i) => i), ids: Int32Array.from({ length: n }, (_, i) => i), table: Array.from({ length: n }, (_, i) => `a${i}`) };
    const columns = { songIndex: Int32Array.from({ length: n }, (_, i) => i), artistKeys };
    const largest = (rounds: number) => {
      const scales = localScales(tree, columns, { neighbours: 5, power: 1, hub: 0.3, hubOnlyDown: true, hubRounds: rounds });
      return Math.max(...tree.withLocalScale(scales).kOccurrence(5, (i, j) => i !== j));
    };
    const plain = Math.max(...tree.withLocalScale(localScales(tree, columns, { neighbours: 5, power: 1 })).kOccurrence(5, (i, j) => i !== j));
    expect(largest(1)).toBeLessThan(plain);
    expect(largest(2)).toBeLessThan(largest(1));
    expect(largest(3)).toBeLessThan(largest(2));
  });

  it('the hub correction counted as answers moves away the track an artist\'s own seeds all get, which other artists\' neighbours never show', () => {
    // 2-D: artist 0 has 6 songs, track 0 at the centre of the other 5 (on a circle of 0.1); 30 one-track artists at (1, 0), (2, 0), …
    const star = [0, 0, ...Array.from({ length: 5 }, (_, a) => [0.1 * Math.cos((2 * Math.PI * a) / 5), 0.1 * Math.sin((2 * Math.PI * a) / 5)]).flat()];
    const xs = [...star, ...Array.from({ length: 30 }, (_, j) => [j + 1, 0]).flat()];
    const n = xs.length / 2;
        const tree = new KdTree(Float32Array.from(xs), n, 2);
    const artistKeys = { start: Int32Array.from({ length: n + 1 }, (_, i) => i), ids: Int32Array.from({ length: n }, (_, i) => Math.max(0, i - 5)), table: Array.from({ length: n }, (_, i) => `a${i}`) };
    const columns = { songIndex: Int32Array.from({ length: n }, (_, i) => i), artistKeys };
    const primary = artistKeys.ids;
    const otherArtist = (i: number, j: number) => primary[i] !== primary[j];
    const ones = new Float32Array(n).fill(1);
    // As answers (at most 2 by the own artist): track 0 is one of the 2 nearest own-artist songs of all 5 others.
    const answers = answerOccurrence(tree, ones, 3, columns.songIndex, primary, otherArtist);
    const neighbours = tree.kOccurrence(3, otherArtist);
    expect(answers[0]!).toBeGreaterThanOrEqual(5);
    expect(answers[0]!).toBeGreaterThan(neighbours[0]!);
    // Every track holds k answers: the occurrences sum to n·k either way.
    expect(answers.reduce((a, b) => a + b, 0)).toBe(n * 3);
    const spec = { neighbours: 3, power: 1, among: 'artists' as const, hub: 0.5, hubOnlyDown: true };
    const plain = localScales(tree, columns, { ...spec, hub: 0 });
    expect(localScales(tree, columns, { ...spec, occurrence: 'answers' })[0]!).toBeLessThan(plain[0]!);
    expect(localScales(tree, columns, spec)[0]!).toBe(plain[0]!);
  });

  it('the hub correction by artist moves all of an artist\'s tracks by one factor, from the mean of their occurrences', () => {
    // 2-D: 400 tracks, the first 40 by one artist and packed in a clump at the centre, the rest one-track artists.
    let rng = 11;
    const rand = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const n = 400;
    const xs = Float32Array.from({ length: 2 * n }, (_, c) => (rand() - 0.5) * 4 * (c < 80 ? 0.15 : 1));
    const tree = new KdTree(xs, n, 2);
    const artistKeys = { start: Int32Array.from({ length: n + 1 }, (_, i) => i), ids: Int32Array.from({ length: n }, (_, i) => Math.max(0, i - 39)), table: Array.from({ length: n }, (_, i) => `a${i}`) };
    const columns = { songIndex: Int32Array.from({ length: n }, (_, i) => i), artistKeys };
    const spec = { neighbours: 5, power: 1, hub: 0.5 };
    const plain = localScales(tree, columns, { ...spec, hub: 0 });
    const byTrack = localScales(tree, columns, spec);
    const byArtist = localScales(tree, columns, { ...spec, hubBy: 'artist' });
    const ratio = (s: Float32Array, i: number) => s[i]! / plain[i]!;
    const clump = Array.from({ length: 40 }, (_, i) => ratio(byArtist, i));
    for (const r of clump) expect(r).toBeCloseTo(clump[0]!, 5);
    expect(new Set(Array.from({ length: 40 }, (_, i) => ratio(byTrack, i).toFixed(5))).size).toBeGreaterThan(1);
    // A one-track artist's mean is its own occurrence: the same factor either way.
    for (let i = 40; i < n; i++) expect(ratio(byArtist, i)).toBeCloseTo(ratio(byTrack, i), 5);
  });

  it('local scale: the mean distance to the 10 nearest tracks of other songs, exact, as published and served', async () => {
    const song = catalog.songIndex;
    const tree = catalog.metric;
    const sigma = tree.meanNearestDistance(LOCAL_SCALE.neighbours, (i, j) => song[i] !== song[j]);
    for (let s = 0; s < 30; s++) {
      const i = Math.floor(((s + 0.5) / 30) * catalog.size);
      const d = [];
      for (let j = 0; j < catalog.size; j++) if (j !== i && song[j] !== song[i]) d.push(Math.sqrt(catalog.distance2(i, j)));
      d.sort((a, b) => a - b);
      const want = d.slice(0, LOCAL_SCALE.neighbours).reduce((a, b) => a + b, 0) / LOCAL_SCALE.neighbours;
      expect(sigma[i]).toBeCloseTo(want, 5);
    }
    // Scales are relative to the median σ, so half the tracks are at most 1; every scale is positive.
    const scales = Array.from({ length: catalog.size }, (_, i) => catalog.localScale(i));
    expect(scales.every((v) => v > 0)).toBe(true);
    expect(scales.filter((v) => v <= 1).length).toBeGreaterThanOrEqual(catalog.size / 2);
    expect(new Set(scales).size).toBeGreaterThan(catalog.size / 10);
    // The server maps the published snapshot: the same scales, without recomputing them.
    const dir = join(inject('builtDataDir'), 'snapshots');
    const served = await loadCatalog(dir, (await currentVersion(dir))!);
    for (let s = 0; s < 200; s++) {
      const i = Math.floor(((s + 0.5) / 200) * catalog.size);
      expect(served.localScale(served.indexOf(catalog.trackId(i))!)).toBe(catalog.localScale(i));
    }
  });

  it('a single seed gets the exhaustive answer over many leaves with wide local scales, duplicates and ties', () => {
    // 3-D grid points (many exact duplicates, so many tied scores) with scales from 0.05 to 20 and a filter:
    // the search skips rows by their bound, which must never drop one that belongs in the answer.
    const n = 3000;
    const xs = new Float32Array(n * 3);
    for (let i = 0; i < n * 3; i++) xs[i] = ((i * 7919) % 23) / 4;
    const scales = Float64Array.from({ length: n }, (_, i) => 0.05 * 400 ** (((i * 104729) % 997) / 996));
    const tree = new KdTree(xs, n, 3).withLocalScale(scales);
    const id = (i: number) => String(i).padStart(5, '0');
    for (let q = 0; q < 30; q++) {
      const anchor = Float64Array.from(xs.subarray((q * 97) * 3, (q * 97) * 3 + 3), (v, c) => v + (q % 3 === c ? 0.3 : 0));
      const inv = 0.5 + (q % 4);
      const accept = (i: number) => q % 2 === 0 || i % 3 !== 0;
      for (const plain of [false, true]) {
        const top = new TopK(id).reset(40);
        tree.search([anchor], inv, accept, top, plain);
        const want = Array.from({ length: n }, (_, i) => i).filter(accept).map((i) => {
          let d = 0;
          for (let c = 0; c < 3; c++) d += (xs[i * 3 + c]! - anchor[c]!) ** 2;
          return { i, s: Math.exp((-d * inv) / (plain ? 1 : tree.localScale[tree.rowOf[i]!]!)) };
        }).sort((a, b) => b.s - a.s || (id(a.i) < id(b.i) ? -1 : 1)).slice(0, 40).map((x) => x.i);
        expect(Array.from(top.sorted().indexes)).toEqual(want);
      }
    }
  });

  it('makes the searchable tree in steps of a few hundred nodes, with each node\'s largest local scale and each leaf\'s centre and radii as defined', () => {
    const parts = catalog.metric.parts();
    const nodes = parts.lo.length;
    const steps = KdTree.fromPartsSteps(parts);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    // A step covers 256 nodes: a catalog of a million tracks (~65,000 nodes) never holds the event loop for the whole build.
    expect(yields).toBeGreaterThanOrEqual(Math.floor(nodes / 256));
    const made = r.value as unknown as { nodeScale: Float32Array; leafCentre: Float64Array; rowRadius: Float64Array };
    const scale = parts.localScale!;
    for (let node = 0; node < nodes; node++) {
      const a = parts.lo[node]!;
      const b = parts.hi[node]!;
      expect(made.nodeScale[node]).toBe(Math.max(0, ...scale.subarray(a, b)));
      if (parts.child[2 * node]! >= 0 || node % 7 !== 0) continue;
      const dims = parts.dims;
      for (let c = 0; c < dims; c++) {
        let sum = 0;
        for (let row = a; row < b; row++) sum += parts.rows[row * dims + c]!;
        expect(made.leafCentre[node * dims + c]).toBeCloseTo(sum / (b - a), 12);
      }
      for (let row = a; row < b; row++) {
        let d = 0;
        for (let c = 0; c < dims; c++) d += (parts.rows[row * dims + c]! - made.leafCentre[node * dims + c]!) ** 2;
        expect(made.rowRadius[row]).toBe(Math.sqrt(d) * (1 + 1e-9));
      }
    }
  });

  it('a served catalog answers genre recommendations before its tree is made, and a seeded call made meanwhile waits for the one build in slices', async () => {
    const dir = join(inject('builtDataDir'), 'snapshots');
    const served = await loadCatalog(dir, (await currentVersion(dir))!);
    const genre = served.resolveGenre(served.genres[0]!.genre);
    if (!genre.ok) throw new Error('no genre');
    const byGenre: RecommendRequest = { seeds: [{ type: 'genre', id: genre.value.genre, genre: genre.value }], bounds: {}, limit: 10, includeExplicit: true, maxPerArtist: undefined, diversity: 0.3, genreFilter: true };
    const ids = (c: Catalog, req: RecommendRequest) => recommend(c, req).tracks.map((t) => t.track_id);
    expect(ids(served, byGenre)).toEqual(ids(catalog, byGenre));
    expect(served.metricReady, 'a genre recommendation reads the stored vectors, not the searchable tree').toBe(false);

    // The holder's build, one step per turn of the event loop, and a seeded call arriving after its first turn.
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const build = runSliced(served.metricSteps(), 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(served.metricReady).toBe(false);
    const seed = Math.floor(served.size / 3);
    const bySeed: RecommendRequest = { seeds: [{ type: 'track', id: served.trackId(seed), index: seed }], bounds: {}, limit: 10, includeExplicit: true, maxPerArtist: undefined, diversity: 0, genreFilter: false };
    const waited = served.whenMetric().then((tree) => ({ tree, ids: ids(served, bySeed) }));
    const [, answer] = await Promise.all([build, waited]);
    clearInterval(counting);
    expect(turns, 'the event loop ran timers while the tree was being made').toBeGreaterThan(0);
    expect(answer.tree).toBe(served.metric);
    const catalogSeed = catalog.indexOf(served.trackId(seed))!;
    expect(answer.ids).toEqual(ids(catalog, { ...bySeed, seeds: [{ type: 'track', id: catalog.trackId(catalogSeed), index: catalogSeed }] }));
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

describe('artist blend weakened by the artist track count', () => {
  it('pulls a small artist as a plain blend does and a prolific artist less', () => {
    // One dimension: artist a has 2 tracks (0, 2; mean 1), artist b has 8 (0 … 7; mean 3.5), one track has no artist.
    const e = Float32Array.from([0, 2, 0, 1, 2, 3, 4, 5, 6, 7, 9]);
    const groups = ['a', 'a', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', undefined];
    const plain = blendByGroup(e, e.length, 1, groups, 0.5);
    const decayed = blendByGroup(e, e.length, 1, groups, artistBlend(0.5, { tracks: 2, power: 1 }));
    expect(Array.from(plain.subarray(0, 2))).toEqual([0.5, 1.5]);
    expect(Array.from(decayed.subarray(0, 2))).toEqual([0.5, 1.5]);
    // b: beta 0.5 · 2/8 = 0.125, so track 0 of b lands at 0.875 · 0 + 0.125 · 3.5.
    expect(decayed[2]).toBeCloseTo(0.4375, 6);
    expect(plain[2]).toBeCloseTo(1.75, 6);
    expect(decayed[10]).toBe(9);
    expect(artistBlend(0.5, null)).toBe(0.5);
    expect(artistBlend(0.5, { tracks: 5, power: 0 })).toBe(0.5);
  });
});
