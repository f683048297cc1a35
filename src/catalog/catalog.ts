import { blendByGroup, fitLda, isTestTrack, project, standardize } from './embedding.js';
import { closest, fold, genreKey } from './text.js';
import { nearestBySound, styleOf } from './genre-styles.js';
import { NameResolver, type NameMatch } from './resolve.js';
import { listAt, listLength, toColumns, type CatalogColumns } from './columns.js';
import { KdTree, TopK } from './knn.js';
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

/**
 * A lookup's answer: the value and, for names, how the query was matched (see resolve.ts); or the
 * nearest names (`ambiguous`: several names fit equally well and these are they).
 */
export type Resolution<T> = { ok: true; value: T; match?: NameMatch } | { ok: false; suggestions: string[]; ambiguous?: boolean };

/** A genre lookup's answer; a miss may add the genres nearest by sound to the style the query names. */
export type GenreResolution =
  | { ok: true; value: GenreProfile & { members: Int32Array } }
  | { ok: false; suggestions: string[]; bySound?: { style: string; genres: string[] } };

interface GenreEntry { profile: GenreProfile; members: Int32Array }
interface ArtistEntry { profile: ArtistProfile; members: Int32Array }

/** What a catalog is built from: the published snapshot, or its columns already in columnar form. */
export type CatalogSource = Snapshot | (Omit<Snapshot, 'tracks'> & { columns: CatalogColumns });

/**
 * The in-memory serving catalog, built once from a published snapshot. Immutable: a new publish
 * builds a new Catalog and the holder swaps the reference. Tracks are held column by column
 * (columns.ts); the learned metric space is indexed by a k-d tree (knn.ts).
 */
export class Catalog {
  readonly manifest: SnapshotManifest;
  readonly size: number;
  /** The track table, column by column. */
  readonly columns: CatalogColumns;
  /** Learned metric space (see embedding.ts), indexed for exact nearest-neighbour search; vectors in tree order. */
  readonly metric: KdTree;
  readonly embeddingDims: number;
  /** Mean squared distance of a track to the centre of the space: the similarity scale. */
  readonly embeddingScale: number;
  /** Per track, the index of the track that represents its song (same-song duplicates share it). */
  readonly songIndex: Int32Array;
  private readonly artistProfiles: ArtistProfile[];
  private readonly genreProfiles: GenreProfile[];
  private readonly byId = new Map<string, number>();
  private readonly genreIndex = new Map<string, GenreEntry>();
  private readonly artistIndex = new Map<string, ArtistEntry>();
  private readonly artistsByFoldedName = new Map<string, string[]>();
  /** Primary artist key id per track (-1: none), into columns.artistKeys.table. */
  private readonly primary: Int32Array;
  /** Tracks per song, at the song's representative index. */
  private readonly songSizes: Int32Array;
  private scratchTop: TopK | undefined;
  /** Name resolution: its artist index is built with the catalog, its title index on first use or by `names.warm()`. */
  readonly names: NameResolver;

  constructor(source: CatalogSource) {
    this.manifest = source.manifest;
    const cols = 'columns' in source ? source.columns : toColumns(source.tracks);
    this.columns = cols;
    this.size = cols.size;
    this.songIndex = cols.songIndex;
    this.artistProfiles = source.artists;
    this.genreProfiles = source.genres;
    const n = this.size;
    for (let i = 0; i < n; i++) this.byId.set(cols.trackId[i]!, i);
    this.songSizes = new Int32Array(n);
    for (let i = 0; i < n; i++) this.songSizes[this.songIndex[i]!]!++;

    // Members per genre/subgenre and per artist key, in track order, by counting then filling.
    const { genres, subgenres, artistKeys } = cols;
    const genreCount = new Int32Array(genres.table.length);
    for (const ids of [genres, subgenres]) for (let p = 0; p < ids.ids.length; p++) genreCount[ids.ids[p]!]!++;
    const genreMembers = Array.from(genreCount, (c) => new Int32Array(c));
    const genreFill = new Int32Array(genres.table.length);
    for (let i = 0; i < n; i++) {
      for (const l of [genres, subgenres]) for (let p = l.start[i]!; p < l.start[i + 1]!; p++) {
        const g = l.ids[p]!;
        genreMembers[g]![genreFill[g]!++] = i;
      }
    }
    const artistCount = new Int32Array(artistKeys.table.length);
    const seenAt = new Int32Array(artistKeys.table.length).fill(-1);
    this.primary = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const a = artistKeys.start[i]!;
      const b = artistKeys.start[i + 1]!;
      if (b > a) this.primary[i] = artistKeys.ids[a]!;
      for (let p = a; p < b; p++) {
        const k = artistKeys.ids[p]!;
        if (seenAt[k] !== i) {
          seenAt[k] = i;
          artistCount[k]!++;
        }
      }
    }
    const artistMembers = Array.from(artistCount, (c) => new Int32Array(c));
    const artistFill = new Int32Array(artistKeys.table.length);
    seenAt.fill(-1);
    for (let i = 0; i < n; i++) {
      for (let p = artistKeys.start[i]!; p < artistKeys.start[i + 1]!; p++) {
        const k = artistKeys.ids[p]!;
        if (seenAt[k] === i) continue;
        seenAt[k] = i;
        artistMembers[k]![artistFill[k]!++] = i;
      }
    }

    const { vectors, dims, scale } = embedColumns(cols);
    this.embeddingDims = dims;
    this.embeddingScale = scale;
    this.metric = new KdTree(vectors, n, dims);

    const genreIds = new Map(genres.table.map((g, id) => [g, id]));
    for (const profile of source.genres) {
      const id = genreIds.get(profile.genre);
      this.genreIndex.set(genreKey(profile.genre), { profile, members: id === undefined ? new Int32Array(0) : genreMembers[id]! });
    }
    const keyIds = new Map(artistKeys.table.map((k, id) => [k, id]));
    for (const profile of source.artists) {
      const id = keyIds.get(profile.artist_key);
      this.artistIndex.set(profile.artist_key, { profile, members: id === undefined ? new Int32Array(0) : artistMembers[id]! });
      const folded = fold(profile.artist_name);
      const keys = this.artistsByFoldedName.get(folded);
      if (keys) keys.push(profile.artist_key);
      else this.artistsByFoldedName.set(folded, [profile.artist_key]);
    }
    this.names = this.nameResolver();
  }

  /** A name resolver over this catalog (its artist index is built now, its title index on first use). */
  nameResolver(): NameResolver {
    return new NameResolver(
      this.artistProfiles.map((p) => ({ name: p.artist_name, key: p.artist_key, popularity: p.popularity_max, trackCount: p.track_count })),
      {
        size: this.size,
        title: (i) => this.trackName(i),
        artistKeys: (i) => this.artistKeys(i),
        artistNames: (i) => this.artistNames(i),
        membersOf: (key) => this.artistMembers(key),
        popularity: (i) => this.popularity(i),
        trackId: (i) => this.trackId(i),
        byId: (id) => this.byId.get(id),
        representative: (i) => this.songIndex[i]!,
      },
    );
  }

  get version(): string {
    return this.manifest.version;
  }

  get genres(): readonly GenreProfile[] {
    return this.genreProfiles;
  }

  /** Every artist profile (artist_profiles mart), by artist_key. */
  get artists(): readonly ArtistProfile[] {
    return this.artistProfiles;
  }

  /**
   * Genre by name, insensitive to case, accents, spaces and hyphens. On a miss: the genres spelled
   * alike ("rok" → rock) and, when the word names a well-known style the catalog lacks ("jazz"), the
   * genres nearest to it by sound (genre-styles.ts). A style's own name is spelled right, so for it only
   * catalog names containing the style's word count as spelled alike ("soul" → "neo soul", not "classical"
   * → "classic rock").
   */
  resolveGenre(query: string): GenreResolution {
    const key = genreKey(query);
    const entry = this.genreIndex.get(key);
    if (entry) return { ok: true, value: { ...entry.profile, members: entry.members } };
    const byKey = new Map(this.genreProfiles.map((g) => [genreKey(g.genre), g.genre]));
    const style = styleOf(query);
    let near = closest(key, byKey.keys(), 5);
    if (style) {
      const styleKey = genreKey(style.style);
      near = near.filter((k) => k.includes(styleKey));
      const bySound = nearestBySound(this.genreProfiles, style).filter((g) => !near.includes(genreKey(g)));
      return { ok: false, suggestions: near.map((k) => byKey.get(k)!), bySound: { style: style.style, genres: bySound } };
    }
    return { ok: false, suggestions: near.map((k) => byKey.get(k)!) };
  }

  /**
   * The artist a query names ("killers" → "The Killers", "acdc" → "AC/DC", "beyonse" → "Beyoncé"), with
   * how it was matched; see resolve.ts. Several profiles whose names fold alike answer together.
   */
  resolveArtist(query: string): Resolution<{ profiles: ArtistProfile[]; members: Int32Array }> {
    const r = this.names.resolveArtist(query);
    if (!r.ok) {
      if (r.ambiguous) return { ok: false, ambiguous: true, suggestions: r.candidates.slice(0, 5) };
      const near = closest(fold(query), this.artistsByFoldedName.keys(), 5);
      return { ok: false, suggestions: near.map((n) => this.artistIndex.get(this.artistsByFoldedName.get(n)![0]!)!.profile.artist_name) };
    }
    const entries = r.value.map((k) => this.artistIndex.get(k)!);
    const members = entries.length === 1 ? entries[0]!.members : Int32Array.from(new Set(entries.flatMap((e) => [...e.members])));
    return { ok: true, value: { profiles: entries.map((e) => e.profile), members }, match: r.match };
  }

  /**
   * A track by Spotify id, or by text: "Title – Artist", "Title - Artist", "Title by Artist" or just
   * "Title", forgiving versions, credits, punctuation and typos (resolve.ts); the most popular of
   * several matching tracks wins.
   */
  resolveTrack(query: string): Resolution<number> {
    const r = this.names.resolveTrack(query);
    if (r.ok) return { ok: true, value: r.value, match: r.match };
    if (r.ambiguous) return { ok: false, ambiguous: true, suggestions: r.candidates.slice(0, 5) };
    const q = query.trim();
    const titles = this.names.foldedTitles();
    const sep = [' – ', ' — ', ' - ', ' by '].find((s) => q.indexOf(s) > 0);
    const near = closest(fold(sep ? q.slice(0, q.indexOf(sep)) : q), titles.keys(), 5);
    return { ok: false, suggestions: near.map((t) => { const i = titles.get(t)![0]!; return `${this.trackName(i)} – ${this.artistNames(i).join(', ')}`; }) };
  }

  indexOf(trackId: string): number | undefined {
    return this.byId.get(trackId);
  }

  feature(i: number, j: number): number {
    return this.columns.features[j]![i]!;
  }

  popularity(i: number): number {
    return this.columns.popularity[i]!;
  }

  explicit(i: number): boolean | null {
    const e = this.columns.explicit[i]!;
    return e < 0 ? null : e === 1;
  }

  canonicalId(i: number): string {
    return this.columns.canonicalElsewhere.get(i) ?? this.columns.trackId[this.songIndex[i]!]!;
  }

  trackName(i: number): string | null {
    return this.columns.trackName[i]!;
  }

  artistKeys(i: number): readonly string[] {
    return listAt(this.columns.artistKeys, i);
  }

  artistNames(i: number): string[] {
    return listAt(this.columns.artistNames, i);
  }

  trackId(i: number): string {
    return this.columns.trackId[i]!;
  }

  /**
   * A recommendation attribute's column (NaN where the dataset does not record it), or undefined for a
   * name that is not one.
   */
  attributeColumn(attr: string): Float64Array | undefined {
    const c = this.columns;
    switch (attr) {
      case 'popularity': return c.popularity;
      case 'duration_ms': return c.durationMs;
      case 'key': return c.key;
      case 'mode': return c.mode;
      case 'time_signature': return c.timeSignature;
      case 'release_year': return c.releaseYear;
      default: {
        const j = (TRACK_FEATURES as readonly string[]).indexOf(attr);
        return j >= 0 ? c.features[j] : undefined;
      }
    }
  }

  /** Raw value of a recommendation attribute, or null when the dataset does not record it. */
  attribute(i: number, attr: string): number | null {
    const v = this.attributeColumn(attr)?.[i];
    return v === undefined || Number.isNaN(v) ? null : v;
  }

  /** Squared distance between two tracks in the learned metric space. */
  distance2(a: number, b: number): number {
    const k = this.embeddingDims;
    const e = this.metric.rows;
    const ra = this.metric.rowOf[a]! * k;
    const rb = this.metric.rowOf[b]! * k;
    let s = 0;
    for (let c = 0; c < k; c++) {
      const d = e[ra + c]! - e[rb + c]!;
      s += d * d;
    }
    return s;
  }

  /** A track's vector in the learned metric space (a view, not a copy). */
  vector(i: number): Float32Array {
    const k = this.embeddingDims;
    const r = this.metric.rowOf[i]! * k;
    return this.metric.rows.subarray(r, r + k);
  }

  primaryArtist(i: number): string | undefined {
    const id = this.primary[i]!;
    return id < 0 ? undefined : this.columns.artistKeys.table[id];
  }

  /** Primary artist key id of a track (-1: none); equal ids are equal keys. */
  primaryArtistId(i: number): number {
    return this.primary[i]!;
  }

  artistName(key: string): string | undefined {
    return this.artistIndex.get(key)?.profile.artist_name;
  }

  /** Track indexes credited to an artist key. */
  artistMembers(key: string): Int32Array {
    return this.artistIndex.get(key)?.members ?? new Int32Array(0);
  }

  /** How many tracks of the catalog are the song whose representative is track `song`. */
  songSize(song: number): number {
    return this.songSizes[song]!;
  }

  /** A reusable top-k selector (highest score, then lowest track id), for one synchronous computation at a time. */
  topK(k: number): TopK {
    return (this.scratchTop ??= new TopK((i) => this.columns.trackId[i]!)).reset(k);
  }

  track(i: number): TrackView {
    const c = this.columns;
    const features = {} as Record<TrackFeature, number>;
    for (let j = 0; j < TRACK_FEATURES.length; j++) features[TRACK_FEATURES[j]!] = c.features[j]![i]!;
    const year = c.releaseYear[i]!;
    const album = c.album[i]!;
    return {
      track_id: c.trackId[i]!,
      name: c.trackName[i]!,
      artists: listAt(c.artistNames, i),
      album: album < 0 ? null : c.albumTable[album]!,
      release_year: Number.isNaN(year) ? null : year,
      popularity: c.popularity[i]!,
      duration_ms: c.durationMs[i]!,
      explicit: this.explicit(i),
      genres: listAt(c.genres, i),
      subgenres: listAt(c.subgenres, i),
      key: c.key[i]!,
      mode: c.mode[i]!,
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
  return embedColumns(toColumns(s.tracks));
}

/** buildEmbedding over the catalog's columns. */
export function embedColumns(cols: CatalogColumns): { vectors: Float32Array; dims: number; scale: number } {
  const n = cols.size;
  const d = METRIC_INPUTS.length;
  const x = new Float64Array(n * d);
  const inputs = METRIC_INPUTS.map((f) => {
    switch (f) {
      case 'key': return cols.key;
      case 'mode': return cols.mode;
      case 'duration_ms': return cols.durationMs;
      case 'release_year': return cols.releaseYear;
      case 'popularity': return cols.popularity;
      default: return cols.features[TRACK_FEATURES.indexOf(f)]!;
    }
  });
  for (let j = 0; j < d; j++) {
    const col = inputs[j]!;
    for (let i = 0; i < n; i++) x[i * d + j] = col[i]!;
  }
  const { z } = standardize(x, n, d);
  // Labels: subgenres where the track has them, else genres (trackLabels).
  const labels = Array.from({ length: n }, (_, i) => (listLength(cols.subgenres, i) ? listAt(cols.subgenres, i) : listAt(cols.genres, i)));
  const hasLabels = labels.some((l) => l.length > 0);
  let vectors: Float32Array;
  let dims: number;
  if (hasLabels && n > 10) {
    const w = fitLda(z, n, d, labels, (i) => !isTestTrack(cols.trackId[i]!), d);
    labels.length = 0;
    dims = w[0]!.length;
    const { artistKeys } = cols;
    const primary = Array.from({ length: n }, (_, i) => (artistKeys.start[i + 1]! > artistKeys.start[i]! ? artistKeys.table[artistKeys.ids[artistKeys.start[i]!]!] : undefined));
    vectors = blendByGroup(project(z, n, d, w), n, dims, primary, ARTIST_BLEND);
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
