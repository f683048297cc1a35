const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Case-, accent- and whitespace-insensitive form of a name: "  Beyoncé " → "beyonce". */
export function fold(s: string): string {
  return (PRINTABLE_ASCII.test(s) ? s : s.normalize('NFKD').replace(/\p{M}+/gu, ''))
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Genre lookup key, also insensitive to spaces, hyphens and underscores: "Hip Hop" = "hip-hop" = "hiphop". */
export function genreKey(s: string): string {
  return fold(s).replace(/[\s\-_]+/g, '');
}

/** Levenshtein distance with an early exit once it exceeds `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (cur[j]! < rowMin) rowMin = cur[j]!;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The candidates closest to `query` (both already folded), best first: names that start with or contain
 * the query rank ahead of edit-distance matches; ties by shorter name then alphabetically.
 */
export function closest(query: string, candidates: Iterable<string>, n = 5): string[] {
  const scored: { c: string; s: number }[] = [];
  const maxDist = Math.max(2, Math.floor(query.length / 2));
  for (const c of candidates) {
    let s: number;
    if (c.startsWith(query)) s = 0.1 + (c.length - query.length) / 1000;
    else if (query.length >= 3 && c.includes(query)) s = 0.5 + (c.length - query.length) / 1000;
    else {
      // Whole-name distance, or distance to the name's beginning (a mistyped prefix of a longer title).
      let d = editDistance(query, c, maxDist);
      if (c.length > query.length) d = Math.min(d, editDistance(query, c.slice(0, query.length), maxDist) + 0.5);
      if (d > maxDist) continue;
      s = 1 + d;
    }
    scored.push({ c, s });
  }
  scored.sort((x, y) => x.s - y.s || x.c.length - y.c.length || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0));
  return scored.slice(0, n).map((x) => x.c);
}
