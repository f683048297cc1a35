import { blendByGroup, fitLda, isTestTrack, project, standardize } from './embedding.js';
import { closest, fold, genreKey } from './text.js';
import { TRACK_FEATURES, type ArtistProfile, type GenreProfile, type Snapshot, type SnapshotManifest, type TrackFeature } from './snapshot.js';

/** A track as tools present it. */
export interface TrackView {
  track_id: string;
  name: string | null;
  artists: string[];
  album: string | null;
  release_year: number | null;
  popularity: number;
  duration_ms: number;
  explicit: boolean | null;
  genres: string[];
  subgenres: string[];
  key: number;
  mode: number;
  features: Record<TrackFeature, number>;
}

export type Resolution<T> = { ok: true; value: T } | { ok: false; suggestions: string[] };

interface GenreEntry { profile: GenreProfile; members: Int32Array }
interface ArtistEntry { profile: ArtistProfile; members: Int32Array }

/**
 * The in-memory serving catalog, built once from a published snapshot. Immutable: a new publish
 * builds a new Catalog and the holder swaps the reference.
 */
export class Catalog {
  readonly manifest: SnapshotManifest;
  readonly size: number;
  /** Feature matrix, row-major: size × TRACK_FEATURES.length. */
  readonly features: Float64Array;
  /** Learned metric space (see embedding.ts): size × embeddingDims, row-major. */
  readonly embedding: Float32Array;
  readonly embeddingDims: number;
  /** Mean squared distance of a track to the centre of the space: the similarity scale. */
  readonly embeddingScale: number;
  /** Per track, the index of the track that represents its song (same-song duplicates share it). */
  readonly songIndex: Int32Array;
  private readonly snap: Snapshot;
  private readonly byId = new Map<string, number>();
  private readonly genreIndex = new Map<string, GenreEntry>();
  private readonly artistIndex = new Map<string, ArtistEntry>();
  private readonly artistsByFoldedName = new Map<string, string[]>();

  constructor(snapshot: Snapshot) {
    this.snap = snapshot;
    this.manifest = snapshot.manifest;
    const t = snapshot.tracks;
    this.size = t.track_id.length;
    const F = TRACK_FEATURES.length;
    this.features = new Float64Array(this.size * F);
    TRACK_FEATURES.forEach((f, j) => {
      const col = t.features[f];
      for (let i = 0; i < this.size; i++) this.features[i * F + j] = col[i]!;
    });

    const genreMembers = new Map<string, number[]>();
    const artistMembers = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, i: number) => {
      const arr = m.get(k);
      if (arr) arr.push(i);
      else m.set(k, [i]);
    };
    for (let i = 0; i < this.size; i++) {
      this.byId.set(t.track_id[i]!, i);
      for (const g of t.genres[i]!) push(genreMembers, g, i);
      for (const g of t.subgenres[i]!) push(genreMembers, g, i);
      for (const a of new Set(t.artist_keys[i]!)) push(artistMembers, a, i);
    }
    this.songIndex = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) this.songIndex[i] = this.byId.get(t.canonical_track_id[i]!) ?? i;
    ({ vectors: this.embedding, dims: this.embeddingDims, scale: this.embeddingScale } = buildEmbedding(snapshot));
    for (const profile of snapshot.genres) {
      this.genreIndex.set(genreKey(profile.genre), { profile, members: Int32Array.from(genreMembers.get(profile.genre) ?? []) });
    }
    for (const profile of snapshot.artists) {
      this.artistIndex.set(profile.artist_key, { profile, members: Int32Array.from(artistMembers.get(profile.artist_key) ?? []) });
      const folded = fold(profile.artist_name);
      const keys = this.artistsByFoldedName.get(folded);
      if (keys) keys.push(profile.artist_key);
      else this.artistsByFoldedName.set(folded, [profile.artist_key]);
    }
  }

  get version(): string {
    return this.manifest.version;
  }

  get genres(): readonly GenreProfile[] {
    return this.snap.genres;
  }

  /** Every artist profile (artist_profiles mart), by artist_key. */
  get artists(): readonly ArtistProfile[] {
    return this.snap.artists;
  }

  /** Genre by name, insensitive to case, accents, spaces and hyphens. */
  resolveGenre(query: string): Resolution<GenreProfile & { members: Int32Array }> {
    const entry = this.genreIndex.get(genreKey(query));
    if (entry) return { ok: true, value: { ...entry.profile, members: entry.members } };
    const byKey = new Map(this.snap.genres.map((g) => [genreKey(g.genre), g.genre]));
    const near = closest(genreKey(query), byKey.keys(), 5).map((k) => byKey.get(k)!);
    return { ok: false, suggestions: near.length ? near : this.snap.genres.slice().sort((a, b) => b.track_count - a.track_count).slice(0, 5).map((g) => g.genre) };
  }

  /** Artist(s) whose name folds to the query ("beyonce" → "Beyoncé"). */
  resolveArtist(query: string): Resolution<{ profiles: ArtistProfile[]; members: Int32Array }> {
    const keys = this.artistsByFoldedName.get(fold(query));
    if (!keys) {
      const near = closest(fold(query), this.artistsByFoldedName.keys(), 5);
      return { ok: false, suggestions: near.map((n) => this.artistIndex.get(this.artistsByFoldedName.get(n)![0]!)!.profile.artist_name) };
    }
    const entries = keys.map((k) => this.artistIndex.get(k)!);
    const members = entries.length === 1 ? entries[0]!.members : Int32Array.from(new Set(entries.flatMap((e) => [...e.members])));
    return { ok: true, value: { profiles: entries.map((e) => e.profile), members } };
  }

  /**
   * A track by Spotify id, or by text: "Title – Artist", "Title - Artist", "Title by Artist" or just
   * "Title" (the most popular track of that title wins). Case- and accent-insensitive.
   */
  resolveTrack(query: string): Resolution<number> {
    const q = query.trim();
    const byId = this.byId.get(q) ?? this.byId.get(q.replace(/^spotify:track:/, ''));
    if (byId !== undefined) return { ok: true, value: byId };
    const titles = this.titleIndex();
    const splits: [string, string | null][] = [[q, null]];
    for (const sep of [' – ', ' — ', ' - ', ' by ']) {
      let at = q.indexOf(sep);
      while (at > 0) {
        splits.push([q.slice(0, at), q.slice(at + sep.length)]);
        splits.push([q.slice(at + sep.length), q.slice(0, at)]); // "Artist - Title"
        at = q.indexOf(sep, at + 1);
      }
    }
    for (const [title, artist] of splits) {
      const hits = titles.get(fold(title));
      if (!hits) continue;
      const a = artist === null ? null : fold(artist);
      const matching = a === null ? hits : hits.filter((i) => this.snap.tracks.artist_names[i]!.some((n) => fold(n) === a));
      if (!matching.length) continue;
      const best = matching.reduce((b, i) => (this.popularity(i) > this.popularity(b) || (this.popularity(i) === this.popularity(b) && this.trackId(i) < this.trackId(b)) ? i : b));
      return { ok: true, value: best };
    }
    const near = closest(fold(splits.length > 1 ? splits[1]![0] : q), titles.keys(), 5);
    return { ok: false, suggestions: near.map((t) => { const i = titles.get(t)![0]!; return `${this.trackName(i)} – ${this.snap.tracks.artist_names[i]!.join(', ')}`; }) };
  }

  private titles: Map<string, number[]> | undefined;
  private titleIndex(): Map<string, number[]> {
    if (!this.titles) {
      const m = new Map<string, number[]>();
      this.snap.tracks.track_name.forEach((name, i) => {
        if (!name) return;
        const k = fold(name);
        const arr = m.get(k);
        if (arr) arr.push(i);
        else m.set(k, [i]);
      });
      this.titles = m;
    }
    return this.titles;
  }

  indexOf(trackId: string): number | undefined {
    return this.byId.get(trackId);
  }

  feature(i: number, j: number): number {
    return this.features[i * TRACK_FEATURES.length + j]!;
  }

  popularity(i: number): number {
    return this.snap.tracks.popularity[i]!;
  }

  explicit(i: number): boolean | null {
    return this.snap.tracks.explicit[i]!;
  }

  canonicalId(i: number): string {
    return this.snap.tracks.canonical_track_id[i]!;
  }

  trackName(i: number): string | null {
    return this.snap.tracks.track_name[i]!;
  }

  artistKeys(i: number): readonly string[] {
    return this.snap.tracks.artist_keys[i]!;
  }

  trackId(i: number): string {
    return this.snap.tracks.track_id[i]!;
  }

  /** Raw value of a recommendation attribute, or null when the dataset does not record it. */
  attribute(i: number, attr: string): number | null {
    const t = this.snap.tracks;
    switch (attr) {
      case 'popularity': return t.popularity[i]!;
      case 'duration_ms': return t.duration_ms[i]!;
      case 'key': return t.key[i]!;
      case 'mode': return t.mode[i]!;
      case 'time_signature': return t.time_signature[i] ?? null;
      default: {
        const j = (TRACK_FEATURES as readonly string[]).indexOf(attr);
        return j >= 0 ? this.feature(i, j) : null;
      }
    }
  }

  /** Squared distance between two tracks in the learned metric space. */
  distance2(a: number, b: number): number {
    const k = this.embeddingDims;
    const e = this.embedding;
    let s = 0;
    for (let c = 0; c < k; c++) {
      const d = e[a * k + c]! - e[b * k + c]!;
      s += d * d;
    }
    return s;
  }

  primaryArtist(i: number): string | undefined {
    return this.snap.tracks.artist_keys[i]![0];
  }

  artistName(key: string): string | undefined {
    return this.artistIndex.get(key)?.profile.artist_name;
  }

  /** Track indexes credited to an artist key. */
  artistMembers(key: string): Int32Array {
    return this.artistIndex.get(key)?.members ?? new Int32Array(0);
  }

  track(i: number): TrackView {
    const t = this.snap.tracks;
    const features = {} as Record<TrackFeature, number>;
    TRACK_FEATURES.forEach((f, j) => (features[f] = this.feature(i, j)));
    return {
      track_id: t.track_id[i]!,
      name: t.track_name[i]!,
      artists: t.artist_names[i]!,
      album: t.album_name[i]!,
      release_year: t.release_year[i]!,
      popularity: t.popularity[i]!,
      duration_ms: t.duration_ms[i]!,
      explicit: t.explicit[i]!,
      genres: t.genres[i]!,
      subgenres: t.subgenres[i]!,
      key: t.key[i]!,
      mode: t.mode[i]!,
      features,
    };
  }
}

/** Inputs of the learned metric: the 12 audio attributes, release year and popularity. */
export const METRIC_INPUTS = [
  'danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness',
  'liveness', 'valence', 'tempo', 'duration_ms', 'release_year', 'popularity',
] as const;

/** How strongly a track is pulled toward its primary artist's mean position (tuned in `npm run eval`). */
export const ARTIST_BLEND = 0.7;

/** Evaluation labels of a track: its subgenres where the dataset has them, else its genres. */
export function trackLabels(s: Snapshot, i: number): readonly string[] {
  const sub = s.tracks.subgenres[i]!;
  return sub.length ? sub : s.tracks.genres[i]!;
}

/**
 * Fit the metric on the train split's labels and project every track. Deterministic for a snapshot.
 * Labels are read here, once, to learn the projection; queries only ever see the vectors.
 */
export function buildEmbedding(s: Snapshot): { vectors: Float32Array; dims: number; scale: number } {
  const t = s.tracks;
  const n = t.track_id.length;
  const d = METRIC_INPUTS.length;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    METRIC_INPUTS.forEach((f, j) => {
      let v: number | null;
      if (f === 'key') v = t.key[i]!;
      else if (f === 'mode') v = t.mode[i]!;
      else if (f === 'duration_ms') v = t.duration_ms[i]!;
      else if (f === 'release_year') v = t.release_year[i] ?? null;
      else if (f === 'popularity') v = t.popularity[i]!;
      else v = t.features[f][i]!;
      x[i * d + j] = v ?? NaN;
    });
  }
  const { z } = standardize(x, n, d);
  const labels = Array.from({ length: n }, (_, i) => trackLabels(s, i));
  const hasLabels = labels.some((l) => l.length > 0);
  let vectors: Float32Array;
  let dims: number;
  if (hasLabels && n > 10) {
    const w = fitLda(z, n, d, labels, (i) => !isTestTrack(t.track_id[i]!), d);
    dims = w[0]!.length;
    vectors = blendByGroup(project(z, n, d, w), n, dims, t.artist_keys.map((a) => a[0]), ARTIST_BLEND);
  } else {
    dims = d;
    vectors = Float32Array.from(z);
  }
  const centre = new Float64Array(dims);
  for (let i = 0; i < n; i++) for (let c = 0; c < dims; c++) centre[c]! += vectors[i * dims + c]! / n;
  let scale = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < dims; c++) scale += (vectors[i * dims + c]! - centre[c]!) ** 2 / n;
  return { vectors, dims, scale: scale || 1 };
}
