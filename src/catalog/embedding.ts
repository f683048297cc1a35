import { multiply, symmetricEigen, transpose, zeros, type Matrix } from './linalg.js';

/**
 * A learned track metric: tracks are standardised, then projected by Linear Discriminant Analysis
 * fitted on the TRAIN split's genre labels (the test split's labels are never read), then blended
 * with their primary artist's mean position. At query time only the vectors are used — no labels.
 */

/** FNV-1a (32-bit) hash of a string: the deterministic coin of both splits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Deterministic train/test split by a hash of the track id: one track in five is a test track. */
export function isTestTrack(trackId: string): boolean {
  return fnv1a(trackId) % 5 === 0;
}

/** Which side of a split a track is on; `none` tracks are neither fitted on nor used as seeds. */
export type Side = 'fit' | 'test' | 'none';

/**
 * Artist-disjoint split: one artist in five (by a hash of its key) is a test artist. A track is on the test
 * side when every artist it credits is a test artist, on the fitting side when none is, and on neither when
 * its credits straddle the two (a co-credit of a test and a fitting artist) — so no artist has a track on
 * both sides. Tracks with no artist fall back to the track-level coin.
 */
export function artistDisjointSides(n: number, artistsOf: (i: number) => readonly string[], trackId: (i: number) => string): Side[] {
  const sides: Side[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const artists = artistsOf(i);
    if (!artists.length) {
      sides[i] = isTestTrack(trackId(i)) ? 'test' : 'fit';
      continue;
    }
    const test = artists.filter((a) => fnv1a(a) % 5 === 0).length;
    sides[i] = test === artists.length ? 'test' : test === 0 ? 'fit' : 'none';
  }
  return sides;
}

export interface Standardized {
  z: Float64Array;
  mean: number[];
  std: number[];
}

/** Column-standardise an n×d row-major matrix (NaN → column mean). */
export function standardize(x: Float64Array, n: number, d: number): Standardized {
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  const count = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      if (Number.isFinite(v)) {
        mean[j]! += v;
        count[j]!++;
      }
    }
  }
  for (let j = 0; j < d; j++) mean[j] = count[j]! ? mean[j]! / count[j]! : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      if (Number.isFinite(v)) std[j]! += (v - mean[j]!) ** 2;
    }
  }
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]! / Math.max(1, count[j]! - 1)) || 1;
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      z[i * d + j] = Number.isFinite(v) ? (v - mean[j]!) / std[j]! : 0;
    }
  }
  return { z, mean, std };
}

/**
 * Fit LDA on multi-label samples: each (track, label) pair weighs 1/|labels|. Returns a d×k projection
 * whose columns are scaled by sqrt(eigenvalue), so more discriminative directions count more.
 */
export function fitLda(z: Float64Array, n: number, d: number, labels: readonly (readonly string[])[], use: (i: number) => boolean, components: number, ridge = 1e-3): Matrix {
  const classSum = new Map<string, { w: number; s: number[] }>();
  const total = new Array<number>(d).fill(0);
  let totalW = 0;
  for (let i = 0; i < n; i++) {
    const ls = labels[i]!;
    if (!ls.length || !use(i)) continue;
    const w = 1 / ls.length;
    for (const l of ls) {
      let c = classSum.get(l);
      if (!c) classSum.set(l, (c = { w: 0, s: new Array<number>(d).fill(0) }));
      c.w += w;
      for (let j = 0; j < d; j++) c.s[j]! += w * z[i * d + j]!;
    }
    for (let j = 0; j < d; j++) total[j]! += z[i * d + j]!;
    totalW += 1;
  }
  const mu = total.map((v) => v / Math.max(totalW, 1));
  const means = new Map([...classSum].map(([l, c]) => [l, c.s.map((v) => v / c.w)]));

  const sw = zeros(d);
  for (let i = 0; i < n; i++) {
    const ls = labels[i]!;
    if (!ls.length || !use(i)) continue;
    const w = 1 / ls.length;
    for (const l of ls) {
      const m = means.get(l)!;
      for (let a = 0; a < d; a++) {
        const da = z[i * d + a]! - m[a]!;
        for (let b = a; b < d; b++) sw[a]![b]! += w * da * (z[i * d + b]! - m[b]!);
      }
    }
  }
  const sb = zeros(d);
  for (const [l, c] of classSum) {
    const m = means.get(l)!;
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) sb[a]![b]! += c.w * (m[a]! - mu[a]!) * (m[b]! - mu[b]!);
  }
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < a; b++) {
      sw[a]![b] = sw[b]![a]!;
      sb[a]![b] = sb[b]![a]!;
    }
  }
  const trace = sw.reduce((s, r, i) => s + r[i]!, 0) / d;
  for (let a = 0; a < d; a++) sw[a]![a]! += ridge * trace;

  // Whiten Sw, then diagonalise the whitened Sb.
  const ew = symmetricEigen(sw);
  const inv = zeros(d);
  for (let k = 0; k < d; k++) {
    const s = 1 / Math.sqrt(Math.max(ew.values[k]!, 1e-12));
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) inv[a]![b]! += ew.vectors[a]![k]! * s * ew.vectors[b]![k]!;
  }
  const m = multiply(multiply(inv, sb), inv);
  const eb = symmetricEigen(m);
  const k = Math.min(components, d, Math.max(1, classSum.size - 1));
  const top = eb.vectors.map((row) => row.slice(0, k));
  const w = multiply(inv, top);
  for (let c = 0; c < k; c++) {
    const s = Math.sqrt(Math.max(eb.values[c]!, 0));
    for (let a = 0; a < d; a++) w[a]![c]! *= s;
  }
  return w;
}

/** Project standardised rows: n×d · d×k → n×k (Float32 for a compact serving index). */
export function project(z: Float64Array, n: number, d: number, w: Matrix): Float32Array {
  const k = w[0]!.length;
  const wt = transpose(w);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      const col = wt[c]!;
      for (let j = 0; j < d; j++) s += z[i * d + j]! * col[j]!;
      out[i * k + c] = s;
    }
  }
  return out;
}

/**
 * Pull each row toward its group's mean: (1-beta)·own + beta·group mean, beta a number or a function of the
 * group's size (how many rows it has). Rows without a group keep their own.
 */
export function blendByGroup(e: Float32Array, n: number, k: number, groups: readonly (string | undefined)[], beta: number | ((size: number) => number)): Float32Array {
  const betaOf = typeof beta === 'number' ? () => beta : beta;
  if (typeof beta === 'number' && beta <= 0) return e;
  const sums = new Map<string, { c: number; s: Float64Array }>();
  for (let i = 0; i < n; i++) {
    const g = groups[i];
    if (!g) continue;
    let acc = sums.get(g);
    if (!acc) sums.set(g, (acc = { c: 0, s: new Float64Array(k) }));
    acc.c++;
    for (let c = 0; c < k; c++) acc.s[c]! += e[i * k + c]!;
  }
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const g = groups[i];
    const acc = g ? sums.get(g) : undefined;
    const b = acc && acc.c > 1 ? betaOf(acc.c) : 0;
    for (let c = 0; c < k; c++) {
      const own = e[i * k + c]!;
      out[i * k + c] = b > 0 ? (1 - b) * own + b * (acc!.s[c]! / acc!.c) : own;
    }
  }
  return out;
}
