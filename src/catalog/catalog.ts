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
