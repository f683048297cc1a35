/**
 * Ordering a playlist for flow: the energy follows a chosen arc while each transition stays smooth
 * (tempo and energy steps bounded, keys compatible on the Camelot wheel where possible).
 *
 * Method (deterministic; docs/EVALUATION.md "Sequencing" measures it):
 * 1. The arc is a shape s(t) on [0, 1] over the play position t. The target energy at position i is
 *    the list's own energy quantile at s(t_i), so a list of calm tracks gets a calm arc of its own
 *    and every target is reachable by some track.
 * 2. Start order: tracks ranked by energy are placed on positions ranked by target (an exact fit of
 *    the arc when energies are distinct).
 * 3. Local search: swap any two positions, or move one track up to MOVE_WINDOW places, whenever that
 *    lowers the cost = ARC_WEIGHT × Σ|energy − target| + Σ over transitions of (tempo step beyond its
 *    bound ÷ bound) + (energy step beyond its bound ÷ bound) + KEY_WEIGHT × (keys clash). Passes
 *    repeat until none improves (at most MAX_PASSES).
 */

export const ARCS = ['rising', 'falling', 'peak', 'wave', 'steady'] as const;
export type Arc = (typeof ARCS)[number];

export const ARC_DESCRIPTIONS: Record<Arc, string> = {
  rising: 'energy builds from the calmest track to the most intense',
  falling: 'energy winds down from the most intense track to the calmest',
  peak: 'energy builds to a peak about 60% of the way through, then cools down',
  wave: 'energy rises and falls twice',
  steady: 'energy holds near the list\'s median; the order only smooths the transitions',
};

/** What the sequencer reads of a track. tempo/key/mode null where the dataset does not record them. */
export interface SequenceItem {
  energy: number;
  tempo: number | null;
  /** Pitch class 0–11 (C = 0); -1 or null when no key was detected. */
  key: number | null;
  /** 1 major, 0 minor. */
  mode: number | null;
}

export interface SequenceLimits {
  /** Largest tempo change between neighbours, BPM. */
  maxTempoStep: number;
  /** Largest energy change between neighbours (0–1 scale). */
  maxEnergyStep: number;
}

export const DEFAULT_LIMITS: SequenceLimits = { maxTempoStep: 10, maxEnergyStep: 0.2 };

/** The energy arc's pull against the transitions' smoothness (per unit of energy off target). */
const ARC_WEIGHT = 3;
const KEY_WEIGHT = 1;
const MAX_PASSES = 20;
const MOVE_WINDOW = 12;

export type KeyRelation = 'same' | 'relative' | 'adjacent' | 'clash' | 'unknown';

/** Camelot wheel code of a key: 8B = C major, 8A = A minor; null when the key is unknown. */
export function camelot(key: number | null, mode: number | null): { number: number; letter: 'A' | 'B' } | null {
  if (key === null || key < 0 || key > 11 || !Number.isInteger(key) || (mode !== 0 && mode !== 1)) return null;
  // A minor key sits on the number of its relative major (three semitones up).
  const major = mode === 1 ? key : (key + 3) % 12;
  return { number: (((major * 7) % 12) + 7) % 12 + 1, letter: mode === 1 ? 'B' : 'A' };
}

export const camelotCode = (key: number | null, mode: number | null): string | null => {
  const c = camelot(key, mode);
  return c ? `${c.number}${c.letter}` : null;
};

/** How two keys sit on the Camelot wheel: same code, relative major/minor, one step round, or a clash. */
export function keyRelation(a: SequenceItem, b: SequenceItem): KeyRelation {
  const x = camelot(a.key, a.mode);
  const y = camelot(b.key, b.mode);
  if (!x || !y) return 'unknown';
  if (x.number === y.number) return x.letter === y.letter ? 'same' : 'relative';
  const step = Math.abs(x.number - y.number);
  return x.letter === y.letter && (step === 1 || step === 11) ? 'adjacent' : 'clash';
}

/** The arc's shape at play position t ∈ [0, 1], as a quantile of the list's energies. */
export function arcShape(arc: Arc, t: number): number {
  switch (arc) {
    case 'rising': return t;
    case 'falling': return 1 - t;
    case 'peak': return t <= 0.6 ? t / 0.6 : (1 - t) / 0.4;
    case 'wave': return (1 - Math.cos(4 * Math.PI * t)) / 2;
    case 'steady': return 0.5;
  }
}

/** Target energy per position: the list's energy quantile at the arc's shape. */
export function arcTargets(arc: Arc, energies: readonly number[]): number[] {
  const n = energies.length;
  const sorted = [...energies].sort((a, b) => a - b);
  const quantile = (q: number) => {
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  return Array.from({ length: n }, (_, i) => quantile(arcShape(arc, n === 1 ? 0 : i / (n - 1))));
}

export interface Transition {
  tempoStep: number | null;
  energyStep: number;
  key: KeyRelation;
  tempoOk: boolean;
  energyOk: boolean;
  keyOk: boolean;
}

/** One transition judged against the limits; an unknown tempo or key is not held against it. */
export function transition(a: SequenceItem, b: SequenceItem, limits: SequenceLimits): Transition {
  const tempoStep = a.tempo !== null && b.tempo !== null ? b.tempo - a.tempo : null;
  const energyStep = b.energy - a.energy;
  const key = keyRelation(a, b);
  return {
    tempoStep, energyStep, key,
    tempoOk: tempoStep === null || Math.abs(tempoStep) <= limits.maxTempoStep,
    energyOk: Math.abs(energyStep) <= limits.maxEnergyStep + 1e-9,
    keyOk: key !== 'clash',
  };
}

export interface SequenceQuality {
  transitions: Transition[];
  /** Share of transitions within every bound (tempo, energy, key); 1 for a list of one. */
  smoothness: number;
  /** Mean |energy − arc target| over the positions. */
  arcError: number;
}

/** Judge an order (indexes into items) for an arc. */
export function judge(items: readonly SequenceItem[], order: readonly number[], arc: Arc, limits: SequenceLimits = DEFAULT_LIMITS): SequenceQuality {
  const targets = arcTargets(arc, order.map((i) => items[i]!.energy));
  const transitions = order.slice(1).map((to, p) => transition(items[order[p]!]!, items[to]!, limits));
  const smooth = transitions.filter((t) => t.tempoOk && t.energyOk && t.keyOk).length;
  const arcError = order.reduce((s, i, p) => s + Math.abs(items[i]!.energy - targets[p]!), 0) / Math.max(1, order.length);
  return { transitions, smoothness: transitions.length ? smooth / transitions.length : 1, arcError };
}

/** The order (indexes into items) that follows the arc with the smoothest transitions found. */
export function sequence(items: readonly SequenceItem[], arc: Arc, limits: SequenceLimits = DEFAULT_LIMITS): number[] {
  const n = items.length;
  if (n <= 1) return items.map((_, i) => i);
  const targets = arcTargets(arc, items.map((t) => t.energy));
  // Start: energy ranks onto target ranks (ties by index, so the result never depends on sort stability).
  const byEnergy = items.map((_, i) => i).sort((a, b) => items[a]!.energy - items[b]!.energy || a - b);
  const byTarget = targets.map((_, p) => p).sort((a, b) => targets[a]! - targets[b]! || a - b);
  const order = new Array<number>(n);
  byTarget.forEach((p, r) => (order[p] = byEnergy[r]!));

  // Transition costs, once per ordered pair.
  const costs = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const x = items[a]!;
      const y = items[b]!;
      // Each overshoot counts up to one bound's worth: a rough transition is rough, however rough, so
      // one huge tempo jump cannot outweigh the arc.
      let c = Math.min(1, Math.max(0, Math.abs(y.energy - x.energy) - limits.maxEnergyStep) / limits.maxEnergyStep);
      if (x.tempo !== null && y.tempo !== null) c += Math.min(1, Math.max(0, Math.abs(y.tempo - x.tempo) - limits.maxTempoStep) / limits.maxTempoStep);
      if (keyRelation(x, y) === 'clash') c += KEY_WEIGHT;
      costs[a * n + b] = c;
    }
  }
  const pairCost = (a: number, b: number): number => costs[a * n + b]!;
  const arcTerm = (p: number): number => ARC_WEIGHT * Math.abs(items[order[p]!]!.energy - targets[p]!);
  /** Arc terms of positions lo..hi and the transitions into each of lo..hi+1. */
  const span = (lo: number, hi: number): number => {
    let c = 0;
    for (let p = lo; p <= hi; p++) c += arcTerm(p);
    for (let q = Math.max(1, lo); q <= Math.min(n - 1, hi + 1); q++) c += pairCost(order[q - 1]!, order[q]!);
    return c;
  };
  const swap = (i: number, j: number) => ([order[i], order[j]] = [order[j]!, order[i]!]);
  const move = (from: number, to: number) => order.splice(to, 0, order.splice(from, 1)[0]!);

  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let improved = false;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        // Swap i and j: only their arc terms and the transitions around them change.
        const around = (p: number) => arcTerm(p) + (p > 0 ? pairCost(order[p - 1]!, order[p]!) : 0) + (p < n - 1 ? pairCost(order[p]!, order[p + 1]!) : 0);
        const before = j === i + 1 ? span(i, j) : around(i) + around(j);
        swap(i, j);
        const after = j === i + 1 ? span(i, j) : around(i) + around(j);
        if (after < before - 1e-9) improved = true;
        else swap(i, j);
        // Move the track at i to j, and the one at j to i (the positions between shift by one), over
        // short distances: the start order already puts every track near its place on the arc.
        if (j - i > MOVE_WINDOW) continue;
        for (const [from, to] of [[i, j], [j, i]] as const) {
          const was = span(i, j);
          move(from, to);
          if (span(i, j) < was - 1e-9) improved = true;
          else move(to, from);
        }
      }
    }
    if (!improved) break;
  }
  return order;
}
