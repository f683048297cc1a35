import { loop, runNow, type Steps } from './slices.js';
import { closest } from './text.js';

/**
 * The closest names to a query among many (the suggestions of an "is not in the catalog" error), without
 * measuring the query against every name: a trigram index picks a bounded shortlist — the names that share
 * the most letter triples with the query (a name that starts with or contains the query shares all of them),
 * nearer lengths first — and only the shortlist is ranked by `closest` (text.ts). Built once per catalog.
 */

/** How many names the trigram count lets through to the edit-distance ranking. */
export const SHORTLIST = 200;
/** Letters of a query that count; a longer query is cut (an error message does not need more). */
const QUERY_LETTERS = 120;
const START = '\u0002\u0002';
const END = '\u0003';

/** The distinct letter triples of a name, padded so its first letters and its end count too. */
function trigrams(name: string): Set<string> {
  const s = START + name + END;
  const out = new Set<string>();
  for (let i = 0; i + 3 <= s.length; i++) out.add(s.slice(i, i + 3));
  return out;
}

export class NearNames {
  private readonly postings = new Map<string, number[]>();
  /** Per name, how many of the current query's trigrams it holds (zeroed again after each query). */
  private readonly shared: Uint16Array;

  /** `names`: already folded (text.ts `fold`), as the queries will be. Use `of` or `build`, which index them. */
  private constructor(private readonly names: readonly string[]) {
    this.shared = new Uint16Array(names.length);
  }

  /** The index of `names`, built at once. */
  static of(names: readonly string[]): NearNames {
    return runNow(NearNames.build(names));
  }

  /** The index of `names`, built yielding every few hundred names (slices.ts). */
  static *build(names: readonly string[]): Steps<NearNames> {
    const near = new NearNames(names);
    yield* loop(names.length, (id) => {
      for (const g of trigrams(names[id]!)) {
        const list = near.postings.get(g);
        if (list) list.push(id);
        else near.postings.set(g, [id]);
      }
    });
    return near;
  }

  get size(): number {
    return this.names.length;
  }

  /** The names `closest` would rank first for `query` (folded), looked for among the shortlist only. */
  closest(query: string, n = 5): string[] {
    return closest(query, this.shortlist(query), n);
  }

  /**
   * At most SHORTLIST names, most shared trigrams first, then by how near their length is to the query's.
   * Names that share no trigram with the query are never in it.
   */
  shortlist(query: string): string[] {
    const q = query.slice(0, QUERY_LETTERS);
    const grams = trigrams(q);
    const { shared, names } = this;
    const touched: number[] = [];
    for (const g of grams) {
      const list = this.postings.get(g);
      if (!list) continue;
      for (const id of list) {
        if (shared[id] === 0) touched.push(id);
        shared[id]!++;
      }
    }
    // Bucket by shared count, fill from the top; only the bucket that overflows is sorted.
    const buckets: number[][] = Array.from({ length: grams.size + 1 }, () => []);
    for (const id of touched) buckets[shared[id]!]!.push(id);
    for (const id of touched) shared[id] = 0;
    const out: string[] = [];
    for (let c = grams.size; c > 0 && out.length < SHORTLIST; c--) {
      const bucket = buckets[c]!;
      if (out.length + bucket.length > SHORTLIST) {
        const gap = (id: number) => Math.abs(names[id]!.length - q.length);
        bucket.sort((a, b) => gap(a) - gap(b) || a - b);
      }
      for (const id of bucket) {
        if (out.length >= SHORTLIST) break;
        out.push(names[id]!);
      }
    }
    return out;
  }
}
