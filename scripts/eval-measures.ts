// Measures of `npm run eval` that are worth stating exactly (tests/eval-measures.test.ts).

/** Sample skewness (population moments, E[(x−μ)³]/σ³) of a list of values; 0 when they are all equal. */
export function skewness(values: ArrayLike<number>): number {
  const n = values.length;
  if (!n) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]! / n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    m2 += (d * d) / n;
    m3 += (d * d * d) / n;
  }
  return m2 > 0 ? m3 / m2 ** 1.5 : 0;
}

/**
 * Share of all recommendation slots taken by the most recommended `fraction` of the items: `counts[i]` is how
 * often item i was recommended (its k-occurrence N_k); the top ⌈fraction·items⌉ counts over their sum.
 */
export function topShare(counts: ArrayLike<number>, fraction: number): number {
  const sorted = Float64Array.from(counts).sort().reverse();
  const top = Math.ceil(fraction * sorted.length);
  let total = 0;
  let head = 0;
  for (let i = 0; i < sorted.length; i++) {
    total += sorted[i]!;
    if (i < top) head += sorted[i]!;
  }
  return total ? head / total : 0;
}

/** Shannon entropy in bits of weighted categories (weights need not sum to 1). */
export function entropyBits(weights: Iterable<number>): number {
  const ws = [...weights].filter((w) => w > 0);
  const total = ws.reduce((s, w) => s + w, 0);
  return ws.reduce((h, w) => h - (w / total) * Math.log2(w / total), 0);
}
