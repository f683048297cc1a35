import type { Catalog, TrackView } from './catalog.js';
import { TRACK_FEATURES, type GenreProfile, type TrackFeature } from './snapshot.js';

/** Features that can be bounded with min_/max_ (all on a 0–1 scale). */
export const UNIT_FEATURES = [
  'danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness',
] as const satisfies readonly TrackFeature[];
export type UnitFeature = (typeof UNIT_FEATURES)[number];

export interface Range { min?: number | undefined; max?: number | undefined }

export interface GenreQuery {
  limit: number;
  includeExplicit: boolean;
  popularity: Range;
  features: Partial<Record<UnitFeature, Range>>;
}

export interface ScoredTrack extends TrackView { score: number; reason: string }

export interface GenreRecommendation {
  candidates: number;
  afterFiltering: number;
  tracks: ScoredTrack[];
}

/** Features used to judge how typical a track is of its genre. */
const TYPICALITY_FEATURES: readonly TrackFeature[] = [
  'danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness', 'loudness', 'tempo',
];

/** Features a listener recognises, used to explain a pick. */
const REASON_FEATURES: readonly TrackFeature[] = ['danceability', 'energy', 'valence', 'acousticness', 'tempo'];

const within = (v: number, r: Range | undefined) => !r || ((r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max));

function fmt(f: TrackFeature, v: number): string {
  if (f === 'tempo') return `${Math.round(v)} BPM`;
  if (f === 'loudness') return `${v.toFixed(1)} dB`;
  return v.toFixed(2);
}

/**
 * Tracks of one genre that pass the filters, ranked by a blend of how typical they are of the genre
 * (distance to the genre's median in units of its standard deviation, from genre_profiles) and popularity.
 * Deterministic: ties break on track id. The same song under several ids appears once.
 */
export function recommendByGenre(catalog: Catalog, genre: GenreProfile & { members: Int32Array }, q: GenreQuery): GenreRecommendation {
  const cols = TYPICALITY_FEATURES.map((f) => TRACK_FEATURES.indexOf(f));
  const center = TYPICALITY_FEATURES.map((f) => genre.features[f]?.p50 ?? 0);
  const spread = TYPICALITY_FEATURES.map((f) => Math.max(genre.features[f]?.stddev ?? 1, 1e-6));
  const unitIdx = UNIT_FEATURES.map((f) => TRACK_FEATURES.indexOf(f));

  const pool: { i: number; score: number }[] = [];
  for (const i of genre.members) {
    if (!q.includeExplicit && catalog.explicit(i) === true) continue;
    if (!within(catalog.popularity(i), q.popularity)) continue;
    let ok = true;
    for (let k = 0; k < UNIT_FEATURES.length && ok; k++) {
      ok = within(catalog.feature(i, unitIdx[k]!), q.features[UNIT_FEATURES[k]!]);
    }
    if (!ok) continue;
    let sq = 0;
    for (let k = 0; k < cols.length; k++) {
      const d = (catalog.feature(i, cols[k]!) - center[k]!) / spread[k]!;
      sq += d * d;
    }
    const typicality = Math.exp(-0.5 * (sq / cols.length));
    pool.push({ i, score: 0.6 * typicality + 0.4 * (catalog.popularity(i) / 100) });
  }
  pool.sort((a, b) => b.score - a.score || (catalog.trackId(a.i) < catalog.trackId(b.i) ? -1 : 1));

  const seen = new Set<string>();
  const tracks: ScoredTrack[] = [];
  for (const p of pool) {
    if (tracks.length >= q.limit) break;
    const song = catalog.canonicalId(p.i);
    if (seen.has(song)) continue;
    seen.add(song);
    const view = catalog.track(p.i);
    const near = REASON_FEATURES.map((f) => ({ f, az: Math.abs(view.features[f] - (genre.features[f]?.p50 ?? 0)) / Math.max(genre.features[f]?.stddev ?? 1, 1e-6) }))
      .sort((a, b) => a.az - b.az)
      .slice(0, 2)
      .map(({ f }) => `${f} ${fmt(f, view.features[f])} (genre median ${fmt(f, genre.features[f]?.p50 ?? 0)})`);
    const filters = [
      ...Object.entries(q.features).map(([f, r]) => `${f} ${fmt(f as TrackFeature, view.features[f as TrackFeature])}${rangeText(r)}`),
      ...(q.popularity.min !== undefined || q.popularity.max !== undefined ? [`popularity ${view.popularity}${rangeText(q.popularity)}`] : []),
    ];
    const reason =
      `typical of ${genre.genre}: ${near.join(', ')}; popularity ${view.popularity}` +
      (filters.length ? `; meets ${filters.join(', ')}` : '');
    tracks.push({ ...view, score: Math.round(p.score * 1000) / 1000, reason });
  }
  return { candidates: genre.members.length, afterFiltering: pool.length, tracks };
}

function rangeText(r: Range | undefined): string {
  if (!r) return '';
  if (r.min !== undefined && r.max !== undefined) return ` in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) return ` ≥ ${r.min}`;
  if (r.max !== undefined) return ` ≤ ${r.max}`;
  return '';
}
