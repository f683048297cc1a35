import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { artistDisjointSides, isTestTrack } from '../src/catalog/embedding.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { entropyBits, skewness, topShare } from '../scripts/eval-measures.js';

describe('hubness measures of npm run eval', () => {
  it('skewness is 0 for a symmetric distribution and exact for a known skewed one', () => {
    expect(skewness([1, 2, 3, 4, 5])).toBe(0);
    expect(skewness([7, 7, 7])).toBe(0);
    // Values 0,0,0,4: mean 1, m2 = (1+1+1+9)/4 = 3, m3 = (-1-1-1+27)/4 = 6 → 6 / 3^1.5.
    expect(skewness([0, 0, 0, 4])).toBeCloseTo(6 / 3 ** 1.5, 12);
    // One hub among many never-recommended items: strongly right-skewed; the mirror image is left-skewed.
    const hub = [100, ...Array<number>(99).fill(0)];
    expect(skewness(hub)).toBeCloseTo(98 / Math.sqrt(99), 9);
    expect(skewness(hub.map((v) => -v))).toBeCloseTo(-98 / Math.sqrt(99), 9);
  });

  it('top-1% share counts the ⌈1%⌉ most recommended items over all slots', () => {
    // 200 items: the 2 most recommended hold 30 + 20 of 50 + 198 = 248 slots.
    const counts = [20, ...Array<number>(99).fill(1), 30, ...Array<number>(99).fill(1)];
    expect(topShare(counts, 0.01)).toBeCloseTo(50 / 248, 12);
    // Evenly spread answers: the top 1% holds exactly 1%.
    expect(topShare(Array<number>(300).fill(4), 0.01)).toBeCloseTo(0.01, 12);
    // 50 items: ⌈0.5⌉ = 1 item.
    expect(topShare([5, ...Array<number>(49).fill(0)], 0.01)).toBe(1);
    expect(topShare([0, 0, 0], 0.01)).toBe(0);
  });

  it('genre entropy is log2 of the count for equal weights and 0 for one genre', () => {
    expect(entropyBits([2, 2, 2, 2])).toBeCloseTo(2, 12);
    expect(entropyBits([5])).toBe(0);
    expect(entropyBits([1, 1, 0])).toBeCloseTo(1, 12);
  });
});

describe('artist-disjoint split', () => {
  it('puts no artist on both sides and a co-credit across the sides on neither', () => {
    // Which keys are test artists is fixed by their hash: find one of each among a few names.
    const keys = Array.from({ length: 40 }, (_, i) => `artist-${i}`);
    const alone = artistDisjointSides(keys.length, (i) => [keys[i]!], () => '');
    const test = keys.find((_, i) => alone[i] === 'test')!;
    const fit = keys.find((_, i) => alone[i] === 'fit')!;
    expect(alone.every((s) => s !== 'none')).toBe(true);
    const credits = [[test], [fit], [test, fit], [fit, test], [test, test], []];
    const ids = ['a', 'b', 'c', 'd', 'e', 'no-artist'];
    expect(artistDisjointSides(credits.length, (i) => credits[i]!, (i) => ids[i]!)).toEqual([
      'test', 'fit', 'none', 'none', 'test', isTestTrack('no-artist') ? 'test' : 'fit',
    ]);
  });

  it('on the built catalog: every artist is on one side only, and about one in five tracks is a test track', async () => {
    const { tracks } = await readSnapshot(join(inject('builtDataDir'), 'snapshots'));
    const n = tracks.track_id.length;
    const sides = artistDisjointSides(n, (i) => tracks.artist_keys[i]!, (i) => tracks.track_id[i]!);
    const sideOf = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      if (sides[i] === 'none') continue;
      for (const a of tracks.artist_keys[i]!) {
        expect(sideOf.get(a) ?? sides[i], `${a} has tracks on both sides`).toBe(sides[i]);
        sideOf.set(a, sides[i]!);
      }
    }
    const test = sides.filter((s) => s === 'test').length / n;
    expect(test).toBeGreaterThan(0.12);
    expect(test).toBeLessThan(0.28);
    expect(sides.filter((s) => s === 'fit').length / n).toBeGreaterThan(0.65);
  });
});
