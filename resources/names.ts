/**
 * Prefix completion over names: keys (folded names) sorted once, a prefix is a binary-searched range.
 * Built once per catalog; a completion call costs two binary searches plus ordering the matches.
 */
export class NameIndex {
  private readonly keys: string[];
  private readonly values: string[];
  private readonly weights: Float64Array;

  /** `key` folds a name (and a query) into the form prefixes are matched on. */
  constructor(entries: Iterable<{ value: string; weight: number }>, private readonly key: (s: string) => string) {
    const best = new Map<string, { value: string; weight: number }>();
    for (const e of entries) {
      const k = key(e.value);
      if (!k) continue;
      const prev = best.get(k);
      if (!prev || e.weight > prev.weight) best.set(k, e);
    }
    const sorted = [...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.keys = sorted.map(([k]) => k);
    this.values = sorted.map(([, e]) => e.value);
    this.weights = Float64Array.from(sorted, ([, e]) => e.weight);
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * Every name whose key starts with the query's key: an exact match first, then by weight (track
   * count), then alphabetically. The SDK sends the first 100 with `total` and `hasMore`.
   */
  complete(prefix: string): string[] {
    const p = this.key(prefix);
    const lo = this.lowerBound(p);
    const hi = this.lowerBound(`${p}\uffff`);
    const idx: number[] = [];
    for (let i = lo; i < hi; i++) idx.push(i);
    idx.sort((a, b) => Number(this.keys[b] === p) - Number(this.keys[a] === p) || this.weights[b]! - this.weights[a]! || a - b);
    return idx.map((i) => this.values[i]!);
  }

  private lowerBound(k: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
