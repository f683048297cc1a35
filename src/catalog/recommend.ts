import { FEATURE_BOUNDS, FRACTION_FEATURES, LISTENER_FEATURES, TRACK_FEATURES_SHOWN, type FeatureName, type FractionFeature } from '../features.js';
import type { ArtistProfile } from './marts.js';
import type { Catalog, TrackView } from './catalog.js';
import { quote } from './delimit.js';
import { anchorKernel } from './knn.js';
import { TRACK_FEATURES, type GenreProfile, type TrackFeature } from './marts.js';
import type { NameMatch } from './resolve.js';
import type { NumberColumn } from './number-column.js';

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

/** The 15 tunable attributes (Spotify's 14 and the release year) and their domains (the feature registry's bounds). */
export const ATTRIBUTES: Readonly<Record<FeatureName, AttributeSpec>> = FEATURE_BOUNDS;
export type Attribute = FeatureName;
export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTES) as Attribute[];

/** The attributes on a 0–1 scale. */
export const UNIT_FEATURES = FRACTION_FEATURES;
export type UnitFeature = FractionFeature;

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
const TYPICALITY_FEATURES: readonly TrackFeature[] = TRACK_FEATURES_SHOWN;
/** Features a listener recognises, used to explain a pick. */
const REASON_FEATURES: readonly TrackFeature[] = LISTENER_FEATURES;

function fmt(attr: string, v: number): string {
  if (attr === 'tempo') return `${Math.round(v)} BPM`;
  if (attr === 'loudness') return `${v.toFixed(1)} dB`;
  if (attr === 'duration_ms') return `${Math.floor(v / 60000)}:${String(Math.round((v % 60000) / 1000)).padStart(2, '0')}`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(2);
}

type GenreSeed = Extract<Seed, { type: 'genre' }>;
type BoundEntry = [Attribute, AttributeBounds];
type Score = (i: number) => number;

/** One min/max bound over a column; `unknownMeansUnrecorded`: a NaN counts the attribute as unrecorded. */
interface Filter { attr: Attribute; col: NumberColumn; min: number; max: number; unknownMeansUnrecorded: boolean }

/** The request's filters over the columns: what a candidate must pass, and what a missing value means. */
interface Filters {
  list: Filter[];
  /** A predicate over a subset of the filters (the seed songs and explicit checks always apply). */
  passing: (fs: Filter[]) => (i: number) => boolean;
  passes: (i: number) => boolean;
  /** Whether any check applies at all (otherwise every candidate passes). */
  needsCheck: boolean;
  skipExplicit: boolean;
  seedSongs: number[];
  /** Attributes the data lacks for some candidate the filters looked at (filled while filtering). */
  unrecorded: Set<Attribute>;
}

/** Points in the metric space a candidate should sound like, and each one's inverse width. */
interface Anchors { points: Float64Array[]; inv: number[] }

/**
 * The shortlist (best first) and how many candidates passed the filters. It holds `length` entries;
 * `indexes`/`scores` [0, j] are filled once `ready(j)` returned true (a ranked pool is popped in order
 * only as far as the selection reads it).
 */
interface Shortlist { indexes: Int32Array; scores: Float64Array; length: number; passed: number; ready: (j: number) => boolean }

/**
 * Recommend tracks. Relevance: closeness in the learned metric space to the track and artist seeds;
 * with genre seeds only, how typical a track is of the genre blended with popularity. target_* values
 * pull the ranking toward tracks whose attributes are nearest the targets. Deterministic.
 *
 * Steps: the candidate pool, the filters, the anchors, the scorer, the shortlist, the diverse
 * selection, and the per-seed report.
 *
 * Cost: one pass over the candidate pool (the seed genres' members), or, for similar_tracks without
 * targets, a best-first k-d tree search that scores only tracks that can still reach the part of the
 * shortlist the selection reads (exact: the same entries as a full scan; see growingShortlist). No
 * allocation proportional to the catalog per call (explicit counts per song: once per catalog). One genre
 * without seeds to sound like is read from its ranking (computed once per genre and catalog), its
 * cached scores blended with the targets when there are any; a scored pool is heapified and popped
 * only as far as the selection reads; diversity brings up to date only the entries that reach the top.
 */
export function recommend(catalog: Catalog, req: RecommendRequest): RecommendResult {
  const entries = Object.entries(req.bounds) as BoundEntry[];
  const bounded = entries.filter(([, b]) => b.min !== undefined || b.max !== undefined);
  const targeted = entries.filter(([, b]) => b.target !== undefined);
  const genreSeeds = req.seeds.filter((s): s is GenreSeed => s.type === 'genre');
  const trackSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'track' }> => s.type === 'track');
  const artistSeeds = req.seeds.filter((s): s is Extract<Seed, { type: 'artist' }> => s.type === 'artist');

  const pool = candidatePool(req, genreSeeds);
  const poolSize = pool ? pool.length : catalog.size;
  const filters = buildFilters(catalog, req, bounded, trackSeeds);
  const anchors = buildAnchors(catalog, trackSeeds, artistSeeds);
  const targets = targetColumns(catalog, targeted);
  const scorer = buildScorer(catalog, anchors, genreSeeds, targets);
  const short = shortlist(catalog, req, pool, genreSeeds, anchors, targets, filters, scorer);
  const picked = selectDiverse(catalog, req, short);

  const reason = explainer(catalog, req, genreSeeds, anchors.points.length > 0, targeted, bounded);
  const tracks = picked.indexes.map((i, c) => {
    // The view is built fresh for this answer: extend it in place (no copy), score and reason last.
    const track = catalog.track(i) as ScoredTrack;
    track.score = Math.round(picked.scores[c]! * 1000) / 1000;
    track.reason = reason(i, track);
    return track;
  });
  const seeds = seedReports(catalog, req, pool, poolSize, short.passed, filters);
  const unknownYearExcluded = filters.list.some((f) => f.attr === 'release_year')
    ? countUnknownYears(catalog, pool, filters.passing(filters.list.filter((f) => f.attr !== 'release_year')), filters.unrecorded)
    : undefined;
  return { seeds, candidates: poolSize, afterFiltering: short.passed, tracks, unrecorded: [...filters.unrecorded], unknownYearExcluded };
}

/** Candidate pool: sorted track indexes of the seed genres when they filter, or null for the whole catalog. */
function candidatePool(req: RecommendRequest, genreSeeds: GenreSeed[]): Int32Array | null {
  if (!req.genreFilter || !genreSeeds.length) return null;
  if (genreSeeds.length === 1) return genreSeeds[0]!.genre.members; // already sorted track indexes
  const set = new Set<number>();
  for (const g of genreSeeds) for (const i of g.genre.members) set.add(i);
  return Int32Array.from([...set].sort((a, b) => a - b));
}

/** The min/max bounds as column filters, plus the seed-song and explicit checks every candidate passes. */
function buildFilters(catalog: Catalog, req: RecommendRequest, bounded: BoundEntry[], trackSeeds: Extract<Seed, { type: 'track' }>[]): Filters {
  const songOf = catalog.songIndex;
  const seedSongs = trackSeeds.map((s) => songOf[s.index]!);
  const explicitCol = catalog.columns.explicit;
  const unrecorded = new Set<Attribute>();
  const list: Filter[] = bounded.map(([attr, b]) => ({
    attr,
    col: catalog.attributeColumn(attr)!,
    min: b.min ?? -Infinity,
    max: b.max ?? Infinity,
    // A dataset may know the year of some tracks and not others; those are counted separately instead.
    unknownMeansUnrecorded: attr !== 'release_year',
  }));
  const skipExplicit = !req.includeExplicit;
  const checkSongs = seedSongs.length > 0;
  const passing = (fs: Filter[]) => (i: number): boolean => {
    if (checkSongs && seedSongs.includes(songOf[i]!)) return false;
    if (skipExplicit && explicitCol[i] === 1) return false;
    for (let f = 0; f < fs.length; f++) {
      const flt = fs[f]!;
      const v = flt.col.at(i);
      if (v !== v) {
        if (flt.unknownMeansUnrecorded) unrecorded.add(flt.attr);
        return false;
      }
      if (v < flt.min || v > flt.max) return false;
    }
    return true;
  };
  return { list, passing, passes: passing(list), needsCheck: checkSongs || skipExplicit || list.length > 0, skipExplicit, seedSongs, unrecorded };
}

/**
 * Anchors in the metric space: each seed track, and each seed artist's tracks (averaged per artist).
 * Each anchor's width is the metric's, times its local scale (a seed artist's: its tracks' mean).
 */
function buildAnchors(catalog: Catalog, trackSeeds: Extract<Seed, { type: 'track' }>[], artistSeeds: Extract<Seed, { type: 'artist' }>[]): Anchors {
  const k = catalog.embeddingDims;
  const scale = catalog.embeddingScale;
  const points: Float64Array[] = [];
  const inv: number[] = [];
  for (const s of trackSeeds) {
    points.push(Float64Array.from(catalog.vector(s.index)));
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
    points.push(v);
    inv.push(1 / (scale * local));
  }
  return { points, inv };
}

/** Typicality per genre seed: distance to the genre's median in units of its standard deviation. */
function typicalityScore(catalog: Catalog, genreSeeds: GenreSeed[]): Score {
  const cols = TYPICALITY_FEATURES.map((f) => catalog.columns.features[TRACK_FEATURES.indexOf(f)]!);
  const genreModels = genreSeeds.map((g) => ({
    centre: Float64Array.from(TYPICALITY_FEATURES, (f) => g.genre.features[f]?.p50 ?? 0),
    inv: Float64Array.from(TYPICALITY_FEATURES, (f) => 1 / Math.max(g.genre.features[f]?.stddev ?? 1, 1e-6)),
    members: genreSeeds.length > 1 ? g.genre.members : null,
  }));
  return (i: number): number => {
    let best = 0;
    for (let g = 0; g < genreModels.length; g++) {
      const m = genreModels[g]!;
      if (m.members && !binaryHas(m.members, i)) continue;
      let sq = 0;
      for (let f = 0; f < cols.length; f++) {
        const d = (cols[f]!.at(i) - m.centre[f]!) * m.inv[f]!;
        sq += d * d;
      }
      best = Math.max(best, Math.exp(-0.5 * (sq / cols.length)));
    }
    return best;
  };
}

interface TargetColumn { col: NumberColumn; target: number; range: number }

function targetColumns(catalog: Catalog, targeted: BoundEntry[]): TargetColumn[] {
  return targeted.map(([attr, b]) => {
    const spec: AttributeSpec = ATTRIBUTES[attr];
    return { col: catalog.attributeColumn(attr)!, target: b.target!, range: spec.span ?? spec.max - spec.min };
  });
}

/**
 * The score of a candidate: closeness to the anchors when there are seeds to sound like, else genre
 * typicality blended with popularity (or popularity alone); target_* closeness blended in when asked.
 */
function buildScorer(catalog: Catalog, anchors: Anchors, genreSeeds: GenreSeed[], targets: TargetColumn[]): Scorer {
  const k = catalog.embeddingDims;
  const popularity = catalog.columns.popularity;
  const { rows, rowOf, localScale } = catalog.space;
  let base: Score;
  if (anchors.points.length) {
    base = (i) => anchorKernel(rows, rowOf[i]! * k, k, anchors.points, anchors.inv, localScale[rowOf[i]!]!);
  } else if (genreSeeds.length) {
    // Built on first use: one genre's ranking is computed once (genreRanking) and most calls read it without scoring.
    let typicality: Score | undefined;
    base = (i) => 0.6 * (typicality ??= typicalityScore(catalog, genreSeeds))(i) + 0.4 * (popularity.at(i) / 100);
  } else {
    base = (i) => popularity.at(i) / 100;
  }
  if (!targets.length) return { base, score: base, targetCloseness: null };
  const targetCloseness = (i: number): number => {
    let s = 0;
    for (let t = 0; t < targets.length; t++) {
      const { col, target, range } = targets[t]!;
      const v = col.at(i);
      s += v !== v ? 0 : 1 - Math.min(1, Math.abs(v - target) / range);
    }
    return s / targets.length;
  };
  return { base, score: (i) => 0.4 * base(i) + 0.6 * targetCloseness(i), targetCloseness };
}

/** A candidate's score, its part without targets (`base`), and closeness to the targets (null without targets). */
interface Scorer { base: Score; score: Score; targetCloseness: Score | null }

/** How many candidates per answered track similar_tracks searches for first, and by what factor it asks again (growingShortlist). */
const FIRST_READ = 3;
const GROWTH = 4;

/** The best `max(limit × 25, 250)` candidates that pass the filters, best first, and how many passed. */
function shortlist(
  catalog: Catalog, req: RecommendRequest, pool: Int32Array | null, genreSeeds: GenreSeed[],
  anchors: Anchors, targets: TargetColumn[], filters: Filters, scorer: Scorer,
): Shortlist {
  const size = Math.max(req.limit * 25, 250);
  const { passes, needsCheck } = filters;
  if (pool && genreSeeds.length === 1 && !anchors.points.length) {
    // One genre, no seeds to sound like: the score without targets does not depend on the request, so the
    // genre's members are ranked by it once (per genre) and read in that order.
    const ranked = genreRanking(catalog, genreSeeds[0]!.genre, scorer.base);
    if (!targets.length) return rankedGenreShortlist(ranked, size, needsCheck ? passes : null);
    // With targets, each member's score blends its ranked score with its closeness to the targets.
    const closeness = scorer.targetCloseness!;
    return poolShortlist(catalog, ranked.order, size, needsCheck ? passes : null, (i, p) => 0.4 * ranked.scores[p]! + 0.6 * closeness(i));
  }
  if (pool) return poolShortlist(catalog, pool, size, needsCheck ? passes : null, scorer.score);
  if (anchors.points.length && !targets.length) {
    // Diversity weighs entries deep into the shortlist: search for all of it at once.
    return growingShortlist(catalog, anchors, size, req.diversity > 0 ? size : FIRST_READ * req.limit, filters);
  }
  const top = catalog.topK(size);
  let passed = 0;
  for (let i = 0; i < catalog.size; i++) {
    if (needsCheck && !passes(i)) continue;
    passed++;
    top.offer(i, scorer.score(i));
  }
  const { indexes, scores } = top.sorted();
  return { indexes, scores, length: indexes.length, passed, ready: (j) => j < indexes.length };
}

/**
 * The candidates of a pool (a genre's members, a few thousand tracks) that pass, scored, in rank order:
 * highest score first, ties to the lower track id, as TopK orders them. The passing candidates are
 * heapified once and popped only as far as the selection reads (at most `size`), instead of sorting them.
 */
function poolShortlist(
  catalog: Catalog, pool: Int32Array, size: number, passes: ((i: number) => boolean) | null, score: (i: number, p: number) => number,
): Shortlist {
  const idx = new Int32Array(pool.length);
  const sc = new Float64Array(pool.length);
  let n = 0;
  for (let p = 0; p < pool.length; p++) {
    const i = pool[p]!;
    if (passes && !passes(i)) continue;
    idx[n] = i;
    sc[n++] = score(i, p);
  }
  const ids = catalog.columns.trackId;
  // Heap of positions into idx/sc, best at the root.
  const heap = positionHeap(n, (a, b) => sc[a]! > sc[b]! || (sc[a] === sc[b] && ids.at(idx[a]!)! < ids.at(idx[b]!)!));
  const length = Math.min(size, n);
  const indexes = new Int32Array(length);
  const scores = new Float64Array(length);
  let made = 0;
  const ready = (j: number): boolean => {
    if (j >= length) return false;
    while (made <= j) {
      const top = heap.pop();
      indexes[made] = idx[top]!;
      scores[made++] = sc[top]!;
    }
    return true;
  };
  return { indexes, scores, length, passed: n, ready };
}

/** The first `size` members of a genre's ranking that pass (`passes` null: all pass), counting every pass. */
function rankedGenreShortlist(ranked: Ranking, size: number, passes: ((i: number) => boolean) | null): Shortlist {
  const cap = Math.min(size, ranked.order.length);
  const indexes = new Int32Array(cap);
  const scores = new Float64Array(cap);
  let m = 0;
  let passed = 0;
  if (!passes) {
    // Every member passes: read only the first `cap`.
    indexes.set(ranked.order.subarray(0, cap));
    scores.set(ranked.scores.subarray(0, cap));
    return { indexes, scores, length: cap, passed: ranked.order.length, ready: (j) => j < cap };
  }
  for (let p = 0; p < ranked.order.length; p++) {
    const i = ranked.order[p]!;
    if (passes && !passes(i)) continue;
    passed++;
    if (m < cap) {
      indexes[m] = i;
      scores[m++] = ranked.scores[p]!;
    }
  }
  return { indexes: indexes.subarray(0, m), scores: scores.subarray(0, m), length: m, passed, ready: (j) => j < m };
}

/**
 * similar_tracks without targets: the best `size` tracks that pass, best first, searched for in the k-d
 * tree only as deep as the selection reads. The tree is asked for the best `first` (a few times the answer's
 * length); when the selection reads past them (skipped versions of one song, artists over their cap), it is
 * asked again for GROWTH times as many, up to `size`. The best k of one total order (score, then track id)
 * are the first k of its best `size`, so every read entry is the one a search for the whole shortlist puts
 * there; a smaller k raises the worst kept score sooner, and the search prunes more of the tree.
 */
function growingShortlist(catalog: Catalog, anchors: Anchors, size: number, first: number, filters: Filters): Shortlist {
  const passed = countPassingCatalog(catalog, filters);
  const accept = filters.needsCheck ? filters.passes : () => true;
  const length = Math.min(size, passed);
  const indexes = new Int32Array(length);
  const scores = new Float64Array(length);
  let made = 0;
  const ready = (j: number): boolean => {
    if (j >= length) return false;
    if (j >= made) {
      const want = Math.min(length, Math.max(j + 1, made ? GROWTH * made : first));
      const top = catalog.topK(want);
      catalog.metric.search(anchors.points, anchors.inv, accept, top);
      const found = top.sorted();
      indexes.set(found.indexes);
      scores.set(found.scores);
      made = found.indexes.length;
    }
    return j < made;
  };
  return { indexes, scores, length, passed, ready };
}

/**
 * How many catalog tracks pass. Without bounds, from counts (the catalog's explicit tracks and each seed
 * song's size and explicit versions, computed once per catalog); with bounds, a pass over the columns.
 */
function countPassingCatalog(catalog: Catalog, filters: Filters): number {
  const n = catalog.size;
  if (filters.list.length) {
    let passed = 0;
    for (let i = 0; i < n; i++) passed += filters.passes(i) ? 1 : 0;
    return passed;
  }
  const explicit = filters.skipExplicit ? explicitCounts(catalog) : null;
  let passed = n - (explicit ? explicit.total : 0);
  for (const song of new Set(filters.seedSongs)) passed -= catalog.songSize(song) - (explicit ? explicit.bySong[song]! : 0);
  return passed;
}

/** A catalog's explicit tracks: how many in all, and per song (indexed by the song's representative track). */
const explicitBySong = new WeakMap<Catalog, { total: number; bySong: Int32Array }>();

function explicitCounts(catalog: Catalog): { total: number; bySong: Int32Array } {
  let counts = explicitBySong.get(catalog);
  if (!counts) {
    const { explicit, songIndex } = catalog.columns;
    const bySong = new Int32Array(catalog.size);
    let total = 0;
    for (let i = 0; i < catalog.size; i++) {
      if (explicit[i] !== 1) continue;
      total++;
      bySong[songIndex[i]!]!++;
    }
    explicitBySong.set(catalog, (counts = { total, bySong }));
  }
  return counts;
}

/**
 * Greedy selection from the shortlist: one version per song, the per-artist cap, and optional MMR
 * diversity (a candidate's score minus its similarity to what is already chosen).
 */
function selectDiverse(catalog: Catalog, req: RecommendRequest, short: Shortlist): { indexes: number[]; scores: number[] } {
  const { indexes: list, scores: listScores } = short;
  const songOf = catalog.songIndex;
  const chosen: number[] = [];
  const chosenScore: number[] = [];
  const songs = new Set<number>();
  const perArtist = new Map<number, number>();
  const mmr = req.diversity > 0 ? diversityState(catalog, short, req.diversity) : null;
  let next = 0;
  while (chosen.length < req.limit) {
    let bestJ = -1;
    if (!mmr) {
      // The shortlist is in score order: take the next one.
      if (short.ready(next)) bestJ = next++;
    } else {
      bestJ = mmr.best();
    }
    if (bestJ < 0) break;
    const i = list[bestJ]!;
    const song = songOf[i]!;
    if (songs.has(song)) continue;
    const artist = catalog.primaryArtistId(i);
    if (req.maxPerArtist !== undefined && artist >= 0 && (perArtist.get(artist) ?? 0) >= req.maxPerArtist) continue;
    songs.add(song);
    if (artist >= 0) perArtist.set(artist, (perArtist.get(artist) ?? 0) + 1);
    chosen.push(i);
    chosenScore.push(listScores[bestJ]!);
    mmr?.chose(i);
  }
  return { indexes: chosen, scores: chosenScore };
}

/**
 * Maximal marginal relevance over the whole shortlist: `best()` takes the untaken entry with the highest
 * value (1 − diversity) · score − diversity · (its greatest similarity to a chosen track), the first on
 * ties; `chose(i)` adds a chosen track. Similarity is exp(−d²(entry, i) / embeddingScale) in the metric space.
 *
 * Lazily: an entry's similarity only grows as tracks are chosen, so a value computed against fewer chosen
 * tracks is an upper bound. Entries sit in a heap by (value, position); the top one is brought up to date
 * with the tracks chosen since its value was computed, and taken once it is current and still on top. The
 * shortlist is read in order only as far as needed: an entry not yet read scores at most as high as the next
 * one in line, so its value is at most (1 − diversity) times that score, and it comes after every entry read
 * (ties go to the first); the next entry is read whenever that ceiling is above the current top. The same
 * choices as recomputing every entry of the whole shortlist after every pick, for a fraction of the distances.
 */
function diversityState(catalog: Catalog, short: Shortlist, diversity: number) {
  const { indexes: list, scores: listScores, length: m } = short;
  const k = catalog.embeddingDims;
  const scale = catalog.embeddingScale;
  const { rows, rowOf } = catalog.space;
  const maxSim = new Float64Array(m);
  const value = new Float64Array(m);
  /** How many of the chosen tracks each entry's maxSim has seen. */
  const seen = new Int32Array(m);
  const chosenRows: number[] = [];
  const heap = positionHeap(m, (a, b) => value[a]! > value[b]! || (value[a] === value[b] && a < b), 0);
  /** Entries read from the shortlist so far; `ceiling`: the highest value an unread one can have. */
  let read = 0;
  let ceiling = Infinity;
  const readNext = (): void => {
    if (!short.ready(read)) {
      ceiling = -Infinity;
      return;
    }
    value[read] = (1 - diversity) * listScores[read]!;
    heap.push(read++);
    ceiling = short.ready(read) ? (1 - diversity) * listScores[read]! : -Infinity;
  };
  return {
    best(): number {
      for (;;) {
        if (heap.size() === 0 || ceiling > value[heap.top()]!) {
          if (ceiling === -Infinity) return -1;
          readNext();
          continue;
        }
        const j = heap.top();
        if (seen[j] === chosenRows.length) return heap.pop();
        const oj = rowOf[list[j]!]! * k;
        let sim = maxSim[j]!;
        for (let t = seen[j]!; t < chosenRows.length; t++) {
          const o = chosenRows[t]!;
          let d2 = 0;
          for (let c = 0; c < k; c++) {
            const d = rows[oj + c]! - rows[o + c]!;
            d2 += d * d;
          }
          const s = Math.exp(-d2 / scale);
          if (s > sim) sim = s;
        }
        maxSim[j] = sim;
        seen[j] = chosenRows.length;
        value[j] = (1 - diversity) * listScores[j]! - diversity * sim;
        heap.settleTop();
      }
    },
    chose(i: number): void {
      chosenRows.push(rowOf[i]! * k);
    },
  };
}

/** Per seed: its pool before filtering and how many of it passed (a genre's own members when several genres). */
function seedReports(catalog: Catalog, req: RecommendRequest, pool: Int32Array | null, poolSize: number, passed: number, filters: Filters): SeedReport[] {
  return req.seeds.map((s) => {
    if (s.type === 'genre') {
      let after = passed;
      if (pool !== s.genre.members) {
        // Several genres (or no genre filter): count this genre's members that pass.
        after = 0;
        for (const i of s.genre.members) after += !filters.needsCheck || filters.passes(i) ? 1 : 0;
      }
      return { type: 'genre', id: s.id, name: s.genre.genre, initialPoolSize: s.genre.members.length, afterFilteringSize: after };
    }
    const name = s.type === 'artist' ? s.artist.artist_name : (catalog.trackName(s.index) ?? s.id);
    return { type: s.type, id: s.id, name, initialPoolSize: poolSize, afterFilteringSize: passed };
  });
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
    const y = years.at(i);
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
    r = rankByScore(members, s, (i) => catalog.trackId(i));
    byGenre.set(genre.genre, r);
  }
  return r;
}

/**
 * `members` by their scores `s` (same positions), best first, ties to the lower track id, a NaN score (a
 * missing value) last. The scores are sorted by the engine's numeric sort and each member is put at its
 * score's rank (a binary search); only runs of equal scores are sorted by id. At 11k members (a genre of
 * the 1M catalog) this takes a few ms where a sort with a comparator, called back for each of ~150k
 * comparisons, took 5–17 ms.
 */
export function rankByScore(members: Int32Array, s: Float64Array, idOf: (i: number) => string): Ranking {
  const n = members.length;
  const ascending = s.slice().sort(); // NaN at the end
  let finite = n;
  while (finite > 0 && Number.isNaN(ascending[finite - 1]!)) finite--;
  const order = new Int32Array(n);
  const scores = new Float64Array(n);
  /** Per distinct score (by the end of its run in `ascending`), how many of its members are placed. */
  const placed = new Int32Array(finite + 1);
  let nan = finite;
  for (let p = 0; p < n; p++) {
    const v = s[p]!;
    if (v !== v) {
      order[nan] = members[p]!;
      scores[nan++] = v;
      continue;
    }
    let lo = 0;
    let hi = finite;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ascending[mid]! > v) hi = mid;
      else lo = mid + 1;
    }
    // `lo`: the end of v's run; best first, so its run starts at rank finite - lo.
    const rank = finite - lo + placed[lo]!++;
    order[rank] = members[p]!;
    scores[rank] = v + 0; // -0 as 0: a run of equal scores is reordered by id below
  }
  const byId = (a: number, b: number) => (idOf(a) < idOf(b) ? -1 : 1);
  for (let a = 0; a < n;) {
    let b = a + 1;
    while (b < n && (scores[b] === scores[a] || (b >= finite && a >= finite))) b++;
    if (b - a > 1) order.subarray(a, b).sort(byId);
    a = b;
  }
  return { order, scores };
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

/** A genre's median and spread of one reason feature, and the median as the reason prints it (made on first use). */
interface ReasonStat { f: TrackFeature; p50: number; spread: number; median?: string }

/**
 * The one-line reason of each picked track, with what does not depend on the track worked out once per
 * request: the seed names, and per genre seed its medians and spreads of the listener features. A genre
 * reason names the two features nearest the genre's median in units of its spread (ties in
 * REASON_FEATURES order).
 */
function explainer(
  catalog: Catalog, req: RecommendRequest, genreSeeds: GenreSeed[], bySeeds: boolean,
  targeted: BoundEntry[], bounded: BoundEntry[],
): (i: number, view: TrackView) => string {
  const soundsLike = bySeeds
    ? `sounds like ${req.seeds.filter((s) => s.type !== 'genre').map((s) => quote(s.type === 'artist' ? s.artist.artist_name : (catalog.trackName(s.index) ?? s.id))).join(' + ')}`
    : '';
  const stats = new Map<GenreSeed['genre'], ReasonStat[]>();
  const statsOf = (g: GenreSeed['genre']): ReasonStat[] => {
    let st = stats.get(g);
    if (!st) {
      st = REASON_FEATURES.map((f) => ({ f, p50: g.features[f]?.p50 ?? 0, spread: Math.max(g.features[f]?.stddev ?? 1, 1e-6) }));
      stats.set(g, st);
    }
    return st;
  };
  const near = (st: ReasonStat, v: number) => `${st.f} ${fmt(st.f, v)} (genre median ${(st.median ??= fmt(st.f, st.p50))})`;
  return (i, view) => {
    const parts: string[] = [];
    if (bySeeds) {
      parts.push(soundsLike);
    } else if (genreSeeds.length) {
      const g = (genreSeeds.length === 1 ? undefined : genreSeeds.find((s) => binaryHas(s.genre.members, i))?.genre) ?? genreSeeds[0]!.genre;
      const st = statsOf(g);
      // The two smallest distances, the earlier feature first on ties (what a stable sort gives).
      let a = -1;
      let b = -1;
      let da = Infinity;
      let db = Infinity;
      let nan = false;
      for (let r = 0; r < st.length; r++) {
        const d = Math.abs(view.features[st[r]!.f] - st[r]!.p50) / st[r]!.spread;
        if (d !== d) nan = true;
        else if (a < 0 || d < da) [b, db, a, da] = [a, da, r, d];
        else if (b < 0 || d < db) [b, db] = [r, d];
      }
      const two = nan
        ? st.map((x) => ({ x, az: Math.abs(view.features[x.f] - x.p50) / x.spread })).sort((p, q) => p.az - q.az).slice(0, 2).map(({ x }) => x)
        : [a, b].filter((r) => r >= 0).map((r) => st[r]!);
      parts.push(`typical of ${g.genre}: ${two.map((x) => near(x, view.features[x.f])).join(', ')}`);
    }
    parts.push(`popularity ${view.popularity}`);
    if (targeted.length) {
      parts.push(`near ${targeted.map(([a, b]) => `target_${a} ${fmt(a, b.target!)} (${fmt(a, catalog.attribute(i, a) ?? NaN)})`).join(', ')}`);
    }
    if (bounded.length) {
      parts.push(`meets ${bounded.map(([a, b]) => `${a} ${fmt(a, catalog.attribute(i, a) ?? NaN)}${rangeText(b)}`).join(', ')}`);
    }
    return parts.join('; ');
  };
}

function rangeText(r: AttributeBounds): string {
  if (r.min !== undefined && r.max !== undefined) return ` in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) return ` ≥ ${r.min}`;
  if (r.max !== undefined) return ` ≤ ${r.max}`;
  return '';
}

/**
 * A binary heap over positions below n, holding the first `filled` of them to start with (built in O(n));
 * `first(a, b)`: position a comes out before b. `push` adds a position not held yet; `settleTop` restores
 * the order after the top's key changed in place (it may only have moved down).
 */
function positionHeap(n: number, first: (a: number, b: number) => boolean, filled = n): { size(): number; top(): number; pop(): number; push(p: number): void; settleTop(): void } {
  const heap = new Int32Array(n);
  for (let h = 0; h < filled; h++) heap[h] = h;
  let size = filled;
  const siftDown = (from: number): void => {
    const x = heap[from]!;
    let h = from;
    for (;;) {
      const l = 2 * h + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && first(heap[r]!, heap[l]!) ? r : l;
      if (!first(heap[c]!, x)) break;
      heap[h] = heap[c]!;
      h = c;
    }
    heap[h] = x;
  };
  for (let h = (size >> 1) - 1; h >= 0; h--) siftDown(h);
  return {
    size: () => size,
    top: () => heap[0]!,
    push(p: number): void {
      let h = size++;
      while (h > 0) {
        const parent = (h - 1) >> 1;
        if (!first(p, heap[parent]!)) break;
        heap[h] = heap[parent]!;
        h = parent;
      }
      heap[h] = p;
    },
    pop(): number {
      const top = heap[0]!;
      heap[0] = heap[--size]!;
      siftDown(0);
      return top;
    },
    settleTop: () => siftDown(0),
  };
}
