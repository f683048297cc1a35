import { ATTRIBUTES, UNIT_FEATURES } from './recommend.js';
import type { NumberColumn } from './number-column.js';
import { boundParts, MOODS, type MoodBoundName, type MoodDefinition, type MoodFeature } from './moods.js';

/**
 * The served catalog's distribution: per attribute, percentiles over its tracks; per mood (moods.ts),
 * the bounds its percentile positions give in this catalog and how many tracks meet them. Computed at
 * publish from the tracks being published and carried in the snapshot (field `distribution`), so the
 * glossary, the prompts and the profiles quote figures of the catalog actually served. A plain JSON
 * object with no dependency on how the snapshot stores tracks.
 */

/** Attributes summarised: the mood features plus duration, popularity and release year. */
export const DISTRIBUTION_ATTRIBUTES = [...UNIT_FEATURES, 'tempo', 'loudness', 'duration_ms', 'popularity', 'release_year'] as const;
export type DistributionAttribute = (typeof DISTRIBUTION_ATTRIBUTES)[number];

/** Percentiles reported per attribute. */
export const PERCENTILES = [10, 25, 50, 75, 90] as const;

/** Percentiles (linear interpolation between order statistics, as SQL `percentile_cont`) of one attribute. */
export interface Percentiles {
  /** Tracks with a value for the attribute. */
  tracks: number;
  p10: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
}

export interface MoodBound {
  /** The tool argument, e.g. `max_energy`. */
  name: MoodBoundName;
  /** The percentile position (0–100) that sets it. */
  percentile: number;
  /** That percentile in this catalog, rounded to the attribute's step (0.01; 1 BPM; 0.1 dB). */
  value: number;
}

export interface MoodRange {
  mood: string;
  bounds: MoodBound[];
  /** Tracks of the catalog inside every bound. */
  tracks: number;
  /** Genres holding most of those tracks, most first (at most 3). */
  genres: { genre: string; tracks: number }[];
}

export interface CatalogDistribution {
  /** Tracks in the catalog. */
  tracks: number;
  /** `publish`: computed when the snapshot was published; `load`: derived by the server from the tracks of an older snapshot. */
  origin: 'publish' | 'load';
  /** Absent for an attribute no track records (e.g. release_year in a file without dates). */
  features: Partial<Record<DistributionAttribute, Percentiles>>;
  /** One per mood whose features the catalog records, in MOODS order. */
  moods: MoodRange[];
}

/** What the distribution is computed from: a column per attribute (NaN where not recorded) and each track's genres. */
export interface DistributionInput {
  size: number;
  /** The attribute's values by row (NaN: none): a NumberColumn (number-column.ts). */
  column(attr: DistributionAttribute): NumberColumn;
  genres(i: number): readonly string[];
}

/** The q-quantile (0–1) of ascending sorted values, as SQL `percentile_cont(q)`. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

function sortedValues(col: NumberColumn, size: number): Float64Array {
  const out = new Float64Array(size);
  let n = 0;
  for (let i = 0; i < size; i++) {
    const v = col.at(i);
    if (!Number.isNaN(v)) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

/** A mood bound's value at the attribute's step: 0.01 on 0–1 features, whole BPM, 0.1 dB; inside the tool's range. */
function roundBound(feature: MoodFeature, v: number): number {
  const step = feature === 'tempo' ? 1 : feature === 'loudness' ? 0.1 : 0.01;
  const spec = ATTRIBUTES[feature];
  const r = Number((Math.round(v / step) * step).toFixed(2));
  return Math.min(spec.max, Math.max(spec.min, r));
}

/** Compute the distribution of a catalog's tracks. */
export function computeDistribution(input: DistributionInput, origin: CatalogDistribution['origin']): CatalogDistribution {
  const sorted = new Map<DistributionAttribute, Float64Array>();
  const features: CatalogDistribution['features'] = {};
  for (const attr of DISTRIBUTION_ATTRIBUTES) {
    const s = sortedValues(input.column(attr), input.size);
    sorted.set(attr, s);
    if (!s.length) continue;
    features[attr] = { tracks: s.length, p10: quantile(s, 0.1), p25: quantile(s, 0.25), p50: quantile(s, 0.5), p75: quantile(s, 0.75), p90: quantile(s, 0.9) };
  }
  const moods: MoodRange[] = [];
  for (const def of MOODS) {
    const bounds = moodBounds(def, sorted);
    if (bounds) moods.push(countMood(def.mood, bounds, input));
  }
  return { tracks: input.size, origin, features, moods };
}

function moodBounds(def: MoodDefinition, sorted: ReadonlyMap<DistributionAttribute, Float64Array>): MoodBound[] | null {
  const bounds: MoodBound[] = [];
  for (const [name, percentile] of Object.entries(def.positions) as [MoodBoundName, number][]) {
    const [, feature] = boundParts(name);
    const s = sorted.get(feature);
    if (!s?.length) return null;
    bounds.push({ name, percentile, value: roundBound(feature, quantile(s, percentile / 100)) });
  }
  return bounds;
}

function countMood(mood: string, bounds: MoodBound[], input: DistributionInput): MoodRange {
  const checks = bounds.map((b) => {
    const [side, feature] = boundParts(b.name);
    return { min: side === 'min', col: input.column(feature), value: b.value };
  });
  let tracks = 0;
  const byGenre = new Map<string, number>();
  for (let i = 0; i < input.size; i++) {
    if (!checks.every((c) => (c.min ? c.col.at(i) >= c.value : c.col.at(i) <= c.value))) continue;
    tracks++;
    for (const g of input.genres(i)) byGenre.set(g, (byGenre.get(g) ?? 0) + 1);
  }
  const genres = [...byGenre].map(([genre, n]) => ({ genre, tracks: n }))
    .sort((a, b) => b.tracks - a.tracks || (a.genre < b.genre ? -1 : 1))
    .slice(0, 3);
  return { mood, bounds, tracks, genres };
}

/**
 * Whether a distribution's mood ranges were made with the mood definitions this server holds: the same
 * moods (every one whose features the catalog records) with the same percentile positions.
 */
export function matchesDefinitions(d: CatalogDistribution): boolean {
  const expected = MOODS.filter((m) => Object.keys(m.positions).every((name) => d.features[boundParts(name as MoodBoundName)[1]]));
  return expected.length === d.moods.length && expected.every((def, k) => {
    const r = d.moods[k]!;
    const positions = Object.entries(def.positions);
    return def.mood === r.mood && positions.length === r.bounds.length &&
      positions.every(([name, p], j) => r.bounds[j]!.name === name && r.bounds[j]!.percentile === p);
  });
}

/** The mood's bounds as tool arguments: `{"max_energy": 0.54, …}`. */
export function moodArgs(r: MoodRange): Record<MoodBoundName, number> {
  return Object.fromEntries(r.bounds.map((b) => [b.name, b.value])) as Record<MoodBoundName, number>;
}

/** "max_energy 0.54, max_speechiness 0.13" */
export function moodBoundsText(r: MoodRange): string {
  return r.bounds.map((b) => `${b.name} ${b.value}`).join(', ');
}

/** Whether values (e.g. a genre's medians) sit inside a mood's bounds. */
export function fitsMood(r: MoodRange, value: (f: MoodFeature) => number | null): boolean {
  return r.bounds.every((b) => {
    const [side, feature] = boundParts(b.name);
    const v = value(feature);
    if (v === null) return false;
    return side === 'min' ? v >= b.value : v <= b.value;
  });
}
