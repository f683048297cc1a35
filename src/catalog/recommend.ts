import type { ArtistProfile } from './snapshot.js';
import type { Catalog, TrackView } from './catalog.js';
import { quote } from './delimit.js';
import { TRACK_FEATURES, type GenreProfile, type TrackFeature } from './snapshot.js';

/**
 * The recommendation engine behind recommend_by_genre and similar_tracks: the request surface of
 * Spotify's retired GET /v1/recommendations (seeds, min_/max_/target_ for 14 attributes), answered
 * from the in-memory catalog.
 */

export interface AttributeSpec { min: number; max: number; integer: boolean; unit?: string }

/** The 14 tunable attributes and their domains. */
export const ATTRIBUTES = {
  acousticness: { min: 0, max: 1, integer: false },
  danceability: { min: 0, max: 1, integer: false },
  duration_ms: { min: 0, max: 3_600_000, integer: true, unit: 'ms' },
  energy: { min: 0, max: 1, integer: false },
  instrumentalness: { min: 0, max: 1, integer: false },
  key: { min: 0, max: 11, integer: true },
  liveness: { min: 0, max: 1, integer: false },
  loudness: { min: -60, max: 5, integer: false, unit: 'dB' },
  mode: { min: 0, max: 1, integer: true },
  popularity: { min: 0, max: 100, integer: true },
  speechiness: { min: 0, max: 1, integer: false },
  tempo: { min: 0, max: 250, integer: false, unit: 'BPM' },
  time_signature: { min: 0, max: 7, integer: true },
  valence: { min: 0, max: 1, integer: false },
} as const satisfies Record<string, AttributeSpec>;
export type Attribute = keyof typeof ATTRIBUTES;
export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTES) as Attribute[];

/** The attributes on a 0–1 scale. */
export const UNIT_FEATURES = [
  'danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness',
] as const satisfies readonly (Attribute & TrackFeature)[];
export type UnitFeature = (typeof UNIT_FEATURES)[number];

export interface AttributeBounds { min?: number | undefined; max?: number | undefined; target?: number | undefined }
export type Bounds = Partial<Record<Attribute, AttributeBounds>>;

export type Seed =
  | { type: 'genre'; id: string; genre: GenreProfile & { members: Int32Array } }
  | { type: 'artist'; id: string; artist: ArtistProfile }
  | { type: 'track'; id: string; index: number };

export interface RecommendRequest {
  seeds: Seed[];
  bounds: Bounds;
  limit: number;
  includeExplicit: boolean;
  /** At most this many tracks whose primary artist is the same. */
  maxPerArtist?: number | undefined;
  /** 0 = closest matches first; up to 1 = more varied lists (maximal marginal relevance). */
  diversity: number;
  /** Candidates are restricted to these genres (recommend_by_genre) or the whole catalog (similar_tracks). */
  genreFilter: boolean;
}

export interface SeedReport {
  type: Seed['type'];
  id: string;
  name: string;
  initialPoolSize: number;
  afterFilteringSize: number;
}

export interface ScoredTrack extends TrackView { score: number; reason: string }

export interface RecommendResult {
  seeds: SeedReport[];
  candidates: number;
  afterFiltering: number;
  tracks: ScoredTrack[];
  /** Attributes that were bounded but the dataset does not record (nothing can meet them). */
  unrecorded: Attribute[];
}

/** Check a request's bounds: inside each domain, min ≤ target ≤ max. Returns the problems, each naming the fix. */
export function validateBounds(bounds: Bounds): string[] {
  const problems: string[] = [];
  for (const [name, b] of Object.entries(bounds) as [Attribute, AttributeBounds][]) {
    const spec = ATTRIBUTES[name];
    for (const k of ['min', 'max', 'target'] as const) {
      const v = b[k];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v < spec.min || v > spec.max) problems.push(`${k}_${name} ${v} is outside ${spec.min}–${spec.max}`);
      else if (spec.integer && !Number.isInteger(v)) problems.push(`${k}_${name} ${v} must be a whole number`);
    }
    if (b.min !== undefined && b.max !== undefined && b.min > b.max) problems.push(`min_${name} (${b.min}) is greater than max_${name} (${b.max})`);
    if (b.target !== undefined && b.min !== undefined && b.target < b.min) problems.push(`target_${name} (${b.target}) is below min_${name} (${b.min})`);
    if (b.target !== undefined && b.max !== undefined && b.target > b.max) problems.push(`target_${name} (${b.target}) is above max_${name} (${b.max})`);
  }
  return problems;
}

/** Features used to judge how typical a track is of a genre (distance to the genre median in its stddevs). */
const TYPICALITY_FEATURES: readonly TrackFeature[] = [
  'danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness', 'loudness', 'tempo',
];
/** Features a listener recognises, used to explain a pick. */
const REASON_FEATURES: readonly TrackFeature[] = ['danceability', 'energy', 'valence', 'acousticness', 'tempo'];

function fmt(attr: string, v: number): string {
  if (attr === 'tempo') return `${Math.round(v)} BPM`;
  if (attr === 'loudness') return `${v.toFixed(1)} dB`;
  if (attr === 'duration_ms') return `${Math.floor(v / 60000)}:${String(Math.round((v % 60000) / 1000)).padStart(2, '0')}`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(2);
}

/** Min-heap-backed selection of the k best (highest score, then lowest track id) indexes. */
function topK(indexes: Int32Array | number[], score: Float64Array, k: number, tieKey: (i: number) => string): number[] {
  const worse = (a: number, b: number) => score[a]! < score[b]! || (score[a] === score[b] && tieKey(a) > tieKey(b));
  const heap: number[] = [];
  const up = (j: number) => {
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (!worse(heap[j]!, heap[p]!)) break;
      [heap[j], heap[p]] = [heap[p]!, heap[j]!];
      j = p;
    }
  };
  const down = (j: number) => {
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let m = j;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === j) return;
      [heap[j], heap[m]] = [heap[m]!, heap[j]!];
      j = m;
    }
  };
  for (const i of indexes) {
    if (heap.length < k) {
      heap.push(i);
      up(heap.length - 1);
    } else if (worse(heap[0]!, i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

/**
 * Recommend tracks. Relevance: closeness in the learned metric space to the track and artist seeds;
 * with genre seeds only, how typical a track is of the genre blended with popularity. target_* values
 * pull the ranking toward tracks whose attributes are nearest the targets. Deterministic.
 */
export function recommend(catalog: Catalog, req: RecommendRequest): RecommendResult {
  const n = catalog.size;
  const bounded = (Object.entries(req.bounds) as [Attribute, AttributeBounds][]).filter(([, b]) => b.min !== undefined || b.max !== undefined);
  const targeted = (Object.entries(req.bounds) as [Attribute, AttributeBounds][]).filter(([, b]) => b.target !== undefined);
  const unrecorded = new Set<Attribute>();

  const genreSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'genre' }> => s.type === 'genre');
  const trackSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'track' }> => s.type === 'track');
  const artistSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'artist' }> => s.type === 'artist');

  // Candidate pool.
  let pool: Int32Array;
  if (req.genreFilter && genreSeeds.length === 1) {
    pool = genreSeeds[0]!.genre.members; // already sorted track indexes
  } else if (req.genreFilter && genreSeeds.length) {
    const set = new Set<number>();
    for (const g of genreSeeds) for (const i of g.genre.members) set.add(i);
    pool = Int32Array.from([...set].sort((a, b) => a - b));
  } else {
    pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
  }
  const songOf = catalog.songIndex;
  const seedSongs = trackSeeds.map((s) => songOf[s.index]!);

  const passes = (i: number): boolean => {
    if (!req.includeExplicit && catalog.explicit(i) === true) return false;
    for (const [attr, b] of bounded) {
      const v = catalog.attribute(i, attr);
      if (v === null) {
        unrecorded.add(attr);
        return false;
      }
      if ((b.min !== undefined && v < b.min) || (b.max !== undefined && v > b.max)) return false;
    }
    return true;
  };
  const candidates = new Int32Array(pool.length);
  let nf = 0;
  const passMask = new Uint8Array(n);
  const checkSongs = seedSongs.length > 0;
  const needsCheck = !req.includeExplicit || bounded.length > 0;
  for (let p = 0; p < pool.length; p++) {
    const i = pool[p]!;
    if (checkSongs && seedSongs.includes(songOf[i]!)) continue;
    if (needsCheck && !passes(i)) continue;
    candidates[nf++] = i;
    passMask[i] = 1;
  }
  const filtered = candidates.subarray(0, nf);

  // Anchors in the metric space: each seed track, and each seed artist's tracks (averaged per artist).
  const anchorGroups: number[][] = [
    ...trackSeeds.map((s) => [s.index]),
    ...artistSeeds.map((s) => Array.from(catalog.artistMembers(s.artist.artist_key))).filter((g) => g.length > 0),
  ];
  const scale = catalog.embeddingScale;
  // Each anchor group as one point: a seed track, or the mean position of a seed artist's tracks.
  const k = catalog.embeddingDims;
  const emb = catalog.embedding;
  const anchors = anchorGroups.map((g) => {
    const v = new Float64Array(k);
    for (const a of g) for (let c = 0; c < k; c++) v[c]! += emb[a * k + c]! / g.length;
    return v;
  });

  // Typicality per genre seed: distance to the genre's median in units of its standard deviation.
  const cols = TYPICALITY_FEATURES.map((f) => TRACK_FEATURES.indexOf(f));
  const F = TRACK_FEATURES.length;
  const feats = catalog.features;
  const genreModels = genreSeeds.map((g) => ({
    centre: TYPICALITY_FEATURES.map((f) => g.genre.features[f]?.p50 ?? 0),
    inv: TYPICALITY_FEATURES.map((f) => 1 / Math.max(g.genre.features[f]?.stddev ?? 1, 1e-6)),
    members: genreSeeds.length > 1 ? g.genre.members : null,
  }));
  const typicality = (i: number): number => {
    let best = 0;
    for (const m of genreModels) {
      if (m.members && !binaryHas(m.members, i)) continue;
      let sq = 0;
      for (let k = 0; k < cols.length; k++) {
        const d = (feats[i * F + cols[k]!]! - m.centre[k]!) * m.inv[k]!;
        sq += d * d;
      }
      best = Math.max(best, Math.exp(-0.5 * (sq / cols.length)));
    }
    return best;
  };
  const targetCloseness = (i: number): number => {
    let s = 0;
    for (const [attr, b] of targeted) {
      const v = catalog.attribute(i, attr);
      const spec = ATTRIBUTES[attr];
      s += v === null ? 0 : 1 - Math.min(1, Math.abs(v - b.target!) / (spec.max - spec.min));
    }
    return s / targeted.length;
  };

  const score = new Float64Array(n);
  if (anchors.length) {
    // Hot loop of similar_tracks: plain indexed arithmetic over the embedding.
    const inv = 1 / scale;
    for (let f = 0; f < nf; f++) {
      const i = filtered[f]!;
      const o = i * k;
      let sum = 0;
      for (let a = 0; a < anchors.length; a++) {
        const v = anchors[a]!;
        let d = 0;
        for (let c = 0; c < k; c++) {
          const x = emb[o + c]! - v[c]!;
          d += x * x;
        }
        sum += Math.exp(-d * inv);
      }
      score[i] = sum / anchors.length;
    }
  } else if (genreSeeds.length) {
    for (let f = 0; f < nf; f++) {
      const i = filtered[f]!;
      score[i] = 0.6 * typicality(i) + 0.4 * (catalog.popularity(i) / 100);
    }
  } else {
    for (let f = 0; f < nf; f++) score[filtered[f]!] = catalog.popularity(filtered[f]!) / 100;
  }
  if (targeted.length) for (let f = 0; f < nf; f++) score[filtered[f]!] = 0.4 * score[filtered[f]!]! + 0.6 * targetCloseness(filtered[f]!);

  // Shortlist, then greedy selection with song dedupe, per-artist cap and optional MMR diversity.
  const shortlist = topK(filtered, score, Math.min(nf, Math.max(req.limit * 25, 250)), (i) => catalog.trackId(i));
  const chosen: number[] = [];
  const songs = new Set<number>();
  const perArtist = new Map<string, number>();
  const maxSim = new Float64Array(n);
  const remaining = shortlist.slice();
  while (chosen.length < req.limit && remaining.length) {
    let bestJ = -1;
    let bestV = -Infinity;
    for (let j = 0; j < remaining.length; j++) {
      const i = remaining[j]!;
      const v = (1 - req.diversity) * score[i]! - req.diversity * maxSim[i]!;
      if (v > bestV) {
        bestV = v;
        bestJ = j;
      }
      if (req.diversity === 0) break; // shortlist is already in score order
    }
    const i = remaining.splice(bestJ, 1)[0]!;
    const song = songOf[i]!;
    if (songs.has(song)) continue;
    const artist = catalog.primaryArtist(i);
    if (req.maxPerArtist !== undefined && artist && (perArtist.get(artist) ?? 0) >= req.maxPerArtist) continue;
    songs.add(song);
    if (artist) perArtist.set(artist, (perArtist.get(artist) ?? 0) + 1);
    chosen.push(i);
    if (req.diversity > 0) for (const r of remaining) maxSim[r] = Math.max(maxSim[r]!, Math.exp(-catalog.distance2(r, i) / scale));
  }

  const tracks = chosen.map((i) => {
    const view = catalog.track(i);
    return { ...view, score: Math.round(score[i]! * 1000) / 1000, reason: explain(catalog, i, view, req, genreSeeds, anchorGroups.length > 0, targeted, bounded) };
  });

  const seeds: SeedReport[] = req.seeds.map((s) => {
    if (s.type === 'genre') {
      let after = 0;
      for (const i of s.genre.members) after += passMask[i]!;
      return { type: 'genre', id: s.id, name: s.genre.genre, initialPoolSize: s.genre.members.length, afterFilteringSize: after };
    }
    const name = s.type === 'artist' ? s.artist.artist_name : (catalog.trackName(s.index) ?? s.id);
    return { type: s.type, id: s.id, name, initialPoolSize: pool.length, afterFilteringSize: nf };
  });
  return { seeds, candidates: pool.length, afterFiltering: nf, tracks, unrecorded: [...unrecorded] };
}

function binaryHas(sorted: Int32Array, v: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid]!;
    if (m === v) return true;
    if (m < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function explain(
  catalog: Catalog, i: number, view: TrackView, req: RecommendRequest,
  genreSeeds: Extract<Seed, { type: 'genre' }>[], bySeeds: boolean,
  targeted: [Attribute, AttributeBounds][], bounded: [Attribute, AttributeBounds][],
): string {
  const parts: string[] = [];
  if (bySeeds) {
    const names = req.seeds.filter((s) => s.type !== 'genre').map((s) => (s.type === 'artist' ? s.artist.artist_name : (catalog.trackName(s.index) ?? s.id)));
    parts.push(`sounds like ${names.map((x) => quote(x)).join(' + ')}`);
  } else if (genreSeeds.length) {
    const g = genreSeeds.find((s) => binaryHas(s.genre.members, i))?.genre ?? genreSeeds[0]!.genre;
    const near = REASON_FEATURES.map((f) => ({ f, az: Math.abs(view.features[f] - (g.features[f]?.p50 ?? 0)) / Math.max(g.features[f]?.stddev ?? 1, 1e-6) }))
      .sort((a, b) => a.az - b.az)
      .slice(0, 2)
      .map(({ f }) => `${f} ${fmt(f, view.features[f])} (genre median ${fmt(f, g.features[f]?.p50 ?? 0)})`);
    parts.push(`typical of ${g.genre}: ${near.join(', ')}`);
  }
  parts.push(`popularity ${view.popularity}`);
  if (targeted.length) {
    parts.push(`near ${targeted.map(([a, b]) => `target_${a} ${fmt(a, b.target!)} (${fmt(a, catalog.attribute(i, a) ?? NaN)})`).join(', ')}`);
  }
  if (bounded.length) {
    parts.push(`meets ${bounded.map(([a, b]) => `${a} ${fmt(a, catalog.attribute(i, a) ?? NaN)}${rangeText(b)}`).join(', ')}`);
  }
  return parts.join('; ');
}

function rangeText(r: AttributeBounds): string {
  if (r.min !== undefined && r.max !== undefined) return ` in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) return ` ≥ ${r.min}`;
  if (r.max !== undefined) return ` ≤ ${r.max}`;
  return '';
}
