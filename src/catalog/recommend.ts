import type { ArtistProfile } from './marts.js';
import type { Catalog, TrackView } from './catalog.js';
import { quote } from './delimit.js';
import { anchorKernel } from './knn.js';
import { TRACK_FEATURES, type GenreProfile, type TrackFeature } from './marts.js';
import type { NameMatch } from './resolve.js';

/**
 * The recommendation engine behind recommend_by_genre and similar_tracks: the request surface of
 * Spotify's retired GET /v1/recommendations (seeds, min_/max_/target_ for 14 attributes) plus the
 * release year, answered from the in-memory catalog.
 */

/**
 * An attribute's domain. `span`: the distance from a target at which a track no longer counts as near
 * it (default: the whole domain).
 */
export interface AttributeSpec { min: number; max: number; integer: boolean; unit?: string; span?: number }

/** The 15 tunable attributes (Spotify's 14 and the release year) and their domains. */
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
  release_year: { min: 1800, max: 2100, integer: true, span: 50 },
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
  | { type: 'artist'; id: string; artist: ArtistProfile; match?: NameMatch | undefined }
  | { type: 'track'; id: string; index: number; match?: NameMatch | undefined };

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
  /**
   * With a min/max release-year bound: candidates that meet every other filter but were left out
   * because their release year is not known.
   */
  unknownYearExcluded?: number | undefined;
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

/**
 * Recommend tracks. Relevance: closeness in the learned metric space to the track and artist seeds;
 * with genre seeds only, how typical a track is of the genre blended with popularity. target_* values
 * pull the ranking toward tracks whose attributes are nearest the targets. Deterministic.
 *
 * Cost: one pass over the candidate pool (the seed genres' members), or, for similar_tracks without
 * targets, a best-first k-d tree search that scores only tracks that can still reach the shortlist
 * (exact: the same shortlist as a full scan). No allocation proportional to the catalog.
 */
export function recommend(catalog: Catalog, req: RecommendRequest): RecommendResult {
  const n = catalog.size;
  const bounded = (Object.entries(req.bounds) as [Attribute, AttributeBounds][]).filter(([, b]) => b.min !== undefined || b.max !== undefined);
  const targeted = (Object.entries(req.bounds) as [Attribute, AttributeBounds][]).filter(([, b]) => b.target !== undefined);
  const unrecorded = new Set<Attribute>();

  const genreSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'genre' }> => s.type === 'genre');
  const trackSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'track' }> => s.type === 'track');
  const artistSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'artist' }> => s.type === 'artist');

  // Candidate pool: sorted track indexes, or null for the whole catalog.
  let pool: Int32Array | null;
  if (req.genreFilter && genreSeeds.length === 1) {
    pool = genreSeeds[0]!.genre.members; // already sorted track indexes
  } else if (req.genreFilter && genreSeeds.length) {
    const set = new Set<number>();
    for (const g of genreSeeds) for (const i of g.genre.members) set.add(i);
    pool = Int32Array.from([...set].sort((a, b) => a - b));
  } else {
    pool = null;
  }
  const poolSize = pool ? pool.length : n;
  const songOf = catalog.songIndex;
  const seedSongs = trackSeeds.map((s) => songOf[s.index]!);

  // Filters, over columns.
  const explicitCol = catalog.columns.explicit;
  const filters = bounded.map(([attr, b]) => ({
    attr,
    col: catalog.attributeColumn(attr)!,
    min: b.min ?? -Infinity,
    max: b.max ?? Infinity,
    // A dataset may know the year of some tracks and not others; those are counted below instead.
    unknownMeansUnrecorded: attr !== 'release_year',
  }));
  const skipExplicit = !req.includeExplicit;
  const checkSongs = seedSongs.length > 0;
  const passing = (fs: typeof filters) => (i: number): boolean => {
    if (checkSongs && seedSongs.includes(songOf[i]!)) return false;
    if (skipExplicit && explicitCol[i] === 1) return false;
    for (let f = 0; f < fs.length; f++) {
      const flt = fs[f]!;
      const v = flt.col[i]!;
      if (v !== v) {
        if (flt.unknownMeansUnrecorded) unrecorded.add(flt.attr);
        return false;
      }
      if (v < flt.min || v > flt.max) return false;
    }
    return true;
  };
  const passes = passing(filters);
  const needsCheck = checkSongs || skipExplicit || filters.length > 0;

  // Anchors in the metric space: each seed track, and each seed artist's tracks (averaged per artist).
  const k = catalog.embeddingDims;
  // Each anchor's width is the metric's, times its local scale (a seed artist's: its tracks' mean).
  const scale = catalog.embeddingScale;
  const anchors: Float64Array[] = [];
  const inv: number[] = [];
  for (const s of trackSeeds) {
    anchors.push(Float64Array.from(catalog.vector(s.index)));
    inv.push(1 / (scale * catalog.localScale(s.index)));
  }
  for (const s of artistSeeds) {
    const members = catalog.artistMembers(s.artist.artist_key);
    if (!members.length) continue;
    const v = new Float64Array(k);
    let local = 0;
    for (const a of members) {
      const e = catalog.vector(a);
      for (let c = 0; c < k; c++) v[c]! += e[c]! / members.length;
      local += catalog.localScale(a) / members.length;
    }
    anchors.push(v);
    inv.push(1 / (scale * local));
  }

  // Typicality per genre seed: distance to the genre's median in units of its standard deviation.
  const cols = TYPICALITY_FEATURES.map((f) => catalog.columns.features[TRACK_FEATURES.indexOf(f)]!);
  const genreModels = genreSeeds.map((g) => ({
    centre: Float64Array.from(TYPICALITY_FEATURES, (f) => g.genre.features[f]?.p50 ?? 0),
    inv: Float64Array.from(TYPICALITY_FEATURES, (f) => 1 / Math.max(g.genre.features[f]?.stddev ?? 1, 1e-6)),
    members: genreSeeds.length > 1 ? g.genre.members : null,
  }));
  const typicality = (i: number): number => {
    let best = 0;
    for (let g = 0; g < genreModels.length; g++) {
      const m = genreModels[g]!;
      if (m.members && !binaryHas(m.members, i)) continue;
      let sq = 0;
      for (let f = 0; f < cols.length; f++) {
        const d = (cols[f]![i]! - m.centre[f]!) * m.inv[f]!;
        sq += d * d;
      }
      best = Math.max(best, Math.exp(-0.5 * (sq / cols.length)));
    }
    return best;
  };
  const targets = targeted.map(([attr, b]) => {
    const spec: AttributeSpec = ATTRIBUTES[attr];
    return { col: catalog.attributeColumn(attr)!, target: b.target!, range: spec.span ?? spec.max - spec.min };
  });
  const targetCloseness = (i: number): number => {
    let s = 0;
    for (let t = 0; t < targets.length; t++) {
      const { col, target, range } = targets[t]!;
      const v = col[i]!;
      s += v !== v ? 0 : 1 - Math.min(1, Math.abs(v - target) / range);
    }
    return s / targets.length;
  };
  const popularity = catalog.columns.popularity;
  const rows = catalog.metric.rows;
  const rowOf = catalog.metric.rowOf;
  const localScale = catalog.metric.localScale;
  const anchorScore = (i: number): number => anchorKernel(rows, rowOf[i]! * k, k, anchors, inv, localScale[rowOf[i]!]!);
  const baseScore = anchors.length
    ? anchorScore
    : genreSeeds.length
      ? (i: number) => 0.6 * typicality(i) + 0.4 * (popularity[i]! / 100)
      : (i: number) => popularity[i]! / 100;
  const score = targets.length ? (i: number) => 0.4 * baseScore(i) + 0.6 * targetCloseness(i) : baseScore;

  // Shortlist: the best `size` candidates that pass the filters; then greedy selection with song
  // dedupe, per-artist cap and optional MMR diversity.
  const size = Math.max(req.limit * 25, 250);
  let nf = 0;
  let shortlist: Int32Array;
  let shortScores: Float64Array;
  if (pool && genreSeeds.length === 1 && !anchors.length && !targets.length) {
    // One genre, no seeds to sound like, no targets: the score does not depend on the request, so walk
    // the genre's members in ranked order (computed once per genre) and keep the first that pass.
    const ranked = genreRanking(catalog, genreSeeds[0]!.genre, score);
    const cap = Math.min(size, ranked.order.length);
    shortlist = new Int32Array(cap);
    shortScores = new Float64Array(cap);
    let m = 0;
    for (let p = 0; p < ranked.order.length; p++) {
      const i = ranked.order[p]!;
      if (needsCheck && !passes(i)) continue;
      nf++;
      if (m < cap) {
        shortlist[m] = i;
        shortScores[m++] = ranked.scores[p]!;
      }
    }
    shortlist = shortlist.subarray(0, m);
    shortScores = shortScores.subarray(0, m);
  } else {
    const top = catalog.topK(size);
    if (!pool && anchors.length && !targets.length) {
      // similar_tracks: search the k-d tree; count what passes the filters separately (a column pass,
      // or from song sizes when the only filter is "not the seed songs").
      catalog.metric.search(anchors, inv, needsCheck ? passes : () => true, top);
      if (skipExplicit || filters.length) for (let i = 0; i < n; i++) nf += passes(i) ? 1 : 0;
      else nf = n - [...new Set(seedSongs)].reduce((sum, song) => sum + catalog.songSize(song), 0);
    } else if (pool) {
      for (let p = 0; p < pool.length; p++) {
        const i = pool[p]!;
        if (needsCheck && !passes(i)) continue;
        nf++;
        top.offer(i, score(i));
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (needsCheck && !passes(i)) continue;
        nf++;
        top.offer(i, score(i));
      }
    }
    ({ indexes: shortlist, scores: shortScores } = top.sorted());
  }

  const chosen: number[] = [];
  const chosenScore: number[] = [];
  const songs = new Set<number>();
  const perArtist = new Map<number, number>();
  const m = shortlist.length;
  const maxSim = new Float64Array(m);
  const taken = new Uint8Array(m);
  let next = 0;
  while (chosen.length < req.limit) {
    let bestJ = -1;
    if (req.diversity === 0) {
      // The shortlist is already in score order.
      while (next < m && taken[next]) next++;
      if (next < m) bestJ = next;
    } else {
      let bestV = -Infinity;
      for (let j = 0; j < m; j++) {
        if (taken[j]) continue;
        const v = (1 - req.diversity) * shortScores[j]! - req.diversity * maxSim[j]!;
        if (v > bestV) {
          bestV = v;
          bestJ = j;
        }
      }
    }
    if (bestJ < 0) break;
    taken[bestJ] = 1;
    const i = shortlist[bestJ]!;
    const song = songOf[i]!;
    if (songs.has(song)) continue;
    const artist = catalog.primaryArtistId(i);
    if (req.maxPerArtist !== undefined && artist >= 0 && (perArtist.get(artist) ?? 0) >= req.maxPerArtist) continue;
    songs.add(song);
    if (artist >= 0) perArtist.set(artist, (perArtist.get(artist) ?? 0) + 1);
    chosen.push(i);
    chosenScore.push(shortScores[bestJ]!);
    if (req.diversity > 0) {
      for (let j = 0; j < m; j++) {
        if (taken[j]) continue;
        maxSim[j] = Math.max(maxSim[j]!, Math.exp(-catalog.distance2(shortlist[j]!, i) / scale));
      }
    }
  }

  const bySeeds = anchors.length > 0;
  const tracks = chosen.map((i, c) => {
    const view = catalog.track(i);
    return { ...view, score: Math.round(chosenScore[c]! * 1000) / 1000, reason: explain(catalog, i, view, req, genreSeeds, bySeeds, targeted, bounded) };
  });

  const seeds: SeedReport[] = req.seeds.map((s) => {
    if (s.type === 'genre') {
      let after = nf;
      if (pool !== s.genre.members) {
        // Several genres (or no genre filter): count this genre's members that pass.
        after = 0;
        for (const i of s.genre.members) after += !needsCheck || passes(i) ? 1 : 0;
      }
      return { type: 'genre', id: s.id, name: s.genre.genre, initialPoolSize: s.genre.members.length, afterFilteringSize: after };
    }
    const name = s.type === 'artist' ? s.artist.artist_name : (catalog.trackName(s.index) ?? s.id);
    return { type: s.type, id: s.id, name, initialPoolSize: poolSize, afterFilteringSize: nf };
  });
  const unknownYearExcluded = filters.some((f) => f.attr === 'release_year') ? countUnknownYears(catalog, pool, passing(filters.filter((f) => f.attr !== 'release_year')), unrecorded) : undefined;
  return { seeds, candidates: poolSize, afterFiltering: nf, tracks, unrecorded: [...unrecorded], unknownYearExcluded };
}

/**
 * Candidates (the pool, or the whole catalog) with no known release year that `passesOthers` (every
 * filter but the year) accepts: what a year bound left out for want of a year. One pass over the year
 * column. When no candidate has a known year, the year counts as unrecorded.
 */
function countUnknownYears(catalog: Catalog, pool: Int32Array | null, passesOthers: (i: number) => boolean, unrecorded: Set<Attribute>): number {
  const years = catalog.columns.releaseYear;
  const size = pool ? pool.length : catalog.size;
  let unknown = 0;
  let excluded = 0;
  for (let p = 0; p < size; p++) {
    const i = pool ? pool[p]! : p;
    const y = years[i]!;
    if (y === y) continue;
    unknown++;
    if (passesOthers(i)) excluded++;
  }
  if (size > 0 && unknown === size) unrecorded.add('release_year');
  return excluded;
}

/** A genre's members by request-independent score (best first, ties to the lower track id), per catalog. */
interface Ranking { order: Int32Array; scores: Float64Array }
const rankings = new WeakMap<Catalog, Map<string, Ranking>>();

function genreRanking(catalog: Catalog, genre: GenreProfile & { members: Int32Array }, score: (i: number) => number): Ranking {
  let byGenre = rankings.get(catalog);
  if (!byGenre) rankings.set(catalog, (byGenre = new Map()));
  let r = byGenre.get(genre.genre);
  if (!r) {
    const { members } = genre;
    const s = new Float64Array(members.length);
    for (let p = 0; p < members.length; p++) s[p] = score(members[p]!);
    const pos = Array.from({ length: members.length }, (_, p) => p);
    pos.sort((a, b) => s[b]! - s[a]! || (catalog.trackId(members[a]!) < catalog.trackId(members[b]!) ? -1 : 1));
    r = { order: Int32Array.from(pos, (p) => members[p]!), scores: Float64Array.from(pos, (p) => s[p]!) };
    byGenre.set(genre.genre, r);
  }
  return r;
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
