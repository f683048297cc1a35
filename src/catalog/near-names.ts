import { Grow } from './grow.js';
import { int32Ranges, type Int32Ranges } from './segments.js';
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

/** A list of names read one at a time (`at` may compute the name: the title index keeps no title strings). */
export interface NameList {
  readonly length: number;
  at(i: number): string;
}

/** A NameList over an array, or the list itself. */
export function nameList(names: readonly string[] | NameList): NameList {
  return Array.isArray(names) ? { length: names.length, at: (i) => (names as readonly string[])[i]! } : (names as NameList);
}

/**
 * The distinct letter triples of a name, padded so its first letters and its end count too, each as a
 * number (three UTF-16 code units, 16 bits each), ascending.
 */
function trigrams(name: string, out: number[] = []): number[] {
  const s = START + name + END;
  out.length = 0;
  for (let i = 0; i + 3 <= s.length; i++) out.push(s.charCodeAt(i) * 0x1_0000_0000 + s.charCodeAt(i + 1) * 0x1_0000 + s.charCodeAt(i + 2));
  out.sort((a, b) => a - b);
  let w = 0;
  for (let r = 0; r < out.length; r++) if (r === 0 || out[r] !== out[w - 1]) out[w++] = out[r]!;
  out.length = w;
  return out;
}

/** A NearNames index as arrays (a snapshot stores them: name-index.ts). */
export interface NearNamesParts {
  /** Name lengths in UTF-16 code units (capped at 65,535). */
  lengths: Uint16Array;
  /** Every trigram's number, ascending; the names holding grams[t] are ids[start[t] .. start[t + 1]), ascending. */
  grams: Float64Array;
  start: Int32Array;
  /**
   * The postings, read a trigram's list at a time: in memory for an index just built, on disk for one a
   * snapshot stores (segments.ts `i32Ranges`), as they are read only when a name is not found.
   */
  ids: Int32Ranges;
}

/** Index of the first element of sorted `a` equal to `x`, or -1. */
function find(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === x ? lo : -1;
}

/**
 * Held as typed arrays (NearNamesParts) but for the postings, of which a query reads only its trigrams'
 * lists; the names themselves are read through `names` when ranked.
 */
export class NearNames {
  /** Per name, how many of the current query's trigrams it holds (zeroed again after each query). */
  private readonly shared: Uint16Array;

  /** `names`: already folded (text.ts `fold`), as the queries will be. Use `of` or `build` to index them. */
  constructor(private readonly names: NameList, private readonly p: NearNamesParts) {
    if (p.lengths.length !== names.length || p.start.length !== p.grams.length + 1 || p.start[p.grams.length] !== p.ids.length) {
      throw new Error(`a suggestion index of ${p.lengths.length} names, ${p.grams.length} trigrams and ${p.ids.length} postings does not fit ${names.length} names`);
    }
    this.shared = new Uint16Array(names.length);
  }

  /** The index of `names`, built at once. */
  static of(names: readonly string[] | NameList): NearNames {
    return runNow(NearNames.build(names));
  }

  /**
   * The index of `names`, built yielding every few hundred names (slices.ts). Two passes over the names
   * (each name read twice): the first counts the names per trigram, the second places each name in its
   * trigrams' lists, so nothing but the index itself grows with the names × trigrams (at 1M titles a
   * list of every (trigram, name) pair was two arrays of tens of millions of entries).
   */
  static *build(names: readonly string[] | NameList): Steps<NearNames> {
    const list = nameList(names);
    const lengths = new Uint16Array(list.length);
    /** Trigram number → its id in order of first appearance, and how many names hold each id. */
    const gramId = new Map<number, number>();
    const counts = new Grow(new Int32Array(1024));
    const grams: number[] = [];
    yield* loop(list.length, (id) => {
      const name = list.at(id);
      lengths[id] = Math.min(name.length, 0xffff);
      for (const g of trigrams(name, grams)) {
        let t = gramId.get(g);
        if (t === undefined) {
          gramId.set(g, (t = gramId.size));
          counts.push(0);
        }
        counts.values[t]!++;
      }
    });
    // Trigrams in ascending order of their number; each one's names laid out at its place in that order.
    const sorted = Float64Array.from(gramId.keys()).sort();
    const rank = new Int32Array(gramId.size);
    for (let r = 0; r < sorted.length; r++) rank[gramId.get(sorted[r]!)!] = r;
    yield;
    const start = new Int32Array(sorted.length + 1);
    for (let t = 0; t < rank.length; t++) start[rank[t]! + 1] = counts.values[t]!;
    for (let r = 0; r < sorted.length; r++) start[r + 1]! += start[r]!;
    const fill = start.slice(0, sorted.length);
    const ids = new Int32Array(start[sorted.length]!);
    // Names in ascending order, so each trigram's list is ascending.
    yield* loop(list.length, (id) => {
      for (const g of trigrams(list.at(id), grams)) ids[fill[rank[gramId.get(g)!]!]!++] = id;
    });
    return new NearNames(list, { lengths, grams: sorted, start, ids: int32Ranges(ids) });
  }

  /** The arrays, to store. */
  parts(): NearNamesParts {
    return this.p;
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
    const { shared } = this;
    const { lengths, start } = this.p;
    const touched: number[] = [];
    for (const g of grams) {
      const t = find(this.p.grams, g);
      if (t < 0) continue;
      // A stored index's list is read from the snapshot file here, synchronously (a miss's few lists, from
      // the page cache as a rule), as an artist profile is; a block that fails its checksum throws.
      const ids = this.p.ids.read(start[t]!, start[t + 1]!);
      for (let p = 0; p < ids.length; p++) {
        const id = ids[p]!;
        if (shared[id] === 0) touched.push(id);
        shared[id]!++;
      }
    }
    // Bucket by shared count, fill from the top; only the bucket that overflows is sorted.
    const buckets: number[][] = Array.from({ length: grams.length + 1 }, () => []);
    for (const id of touched) buckets[shared[id]!]!.push(id);
    for (const id of touched) shared[id] = 0;
    const out: string[] = [];
    for (let c = grams.length; c > 0 && out.length < SHORTLIST; c--) {
      const bucket = buckets[c]!;
      if (out.length + bucket.length > SHORTLIST) {
        const gap = (id: number) => Math.abs(lengths[id]! - q.length);
        bucket.sort((a, b) => gap(a) - gap(b) || a - b);
      }
      for (const id of bucket) {
        if (out.length >= SHORTLIST) break;
        out.push(this.names.at(id));
      }
    }
    return out;
  }
}
