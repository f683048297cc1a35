import { describe, expect, it } from 'vitest';
import { rankByScore } from '../src/catalog/recommend.js';

/** The order a genre's members are ranked in, as a comparator states it: best score first, ties to the lower id, NaN last. */
function byComparator(members: Int32Array, s: Float64Array, idOf: (i: number) => string): number[] {
  const key = (p: number) => (Number.isNaN(s[p]!) ? -Infinity : s[p]!);
  const nan = (p: number) => (Number.isNaN(s[p]!) ? 1 : 0);
  return Array.from(members.keys())
    .sort((a, b) => nan(a) - nan(b) || key(b) - key(a) || (idOf(members[a]!) < idOf(members[b]!) ? -1 : 1))
    .map((p) => members[p]!);
}

describe('a genre\'s ranking (recommend_by_genre without seeds)', () => {
  it('orders members best first, equal scores by track id, a missing score last, as a comparator sort would', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const n of [0, 1, 2, 50, 3000]) {
      // Scores on a coarse grid so ties are common, a few NaN, ±0; ids not in row order.
      const members = Int32Array.from({ length: n }, (_, p) => p * 3 + 1);
      const s = Float64Array.from({ length: n }, (_, p) => (p % 97 === 5 ? NaN : p % 89 === 3 ? -0 : Math.round(rand() * 40) / 40));
      const idOf = (i: number) => `id${((i * 7919) % 10007).toString(36)}`;
      const got = rankByScore(members, s, idOf);
      expect(Array.from(got.order), `n=${n}`).toEqual(byComparator(members, s, idOf));
      const scoreOf = new Map(Array.from(members, (m, p) => [m, s[p]!]));
      expect(Array.from(got.scores)).toEqual(Array.from(got.order, (m) => scoreOf.get(m)! + 0));
    }
  });
});
