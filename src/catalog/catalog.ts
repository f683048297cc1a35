import { METRIC_FEATURES, type MetricFeature } from '../features.js';
import { computeDistribution, matchesDefinitions, type CatalogDistribution } from './distribution.js';
import { blendByGroup, fitLda, isTestTrack, project, standardize } from './embedding.js';
import { closest, fold, genreKey } from './text.js';
import { nearestBySound, styleOf } from './genre-styles.js';
import { NameResolver, type ArtistIndex, type ArtistName, type NameMatch, type TitleIndexParts, type TrackSource } from './resolve.js';
import type { NumberColumn } from './number-column.js';
import { attributeColumn, listAt, listLength, toColumns, type CatalogColumns, type StringLists } from './columns.js';
import { KdTree, TopK, type KdTreeParts } from './knn.js';
import { IdTable } from './id-table.js';
import type { Strings, TextColumn } from './segments.js';
import { loop, runNow, runSliced, SharedBuild, type Steps } from './slices.js';
import { TRACK_FEATURES, type ArtistProfile, type GenreProfile, type Snapshot, type SnapshotManifest, type TrackFeature } from './marts.js';

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

/**
 * The artist_profiles mart: key, name, popularity and track count as columns (name resolution needs
 * them at load), each full profile read on first use (a snapshot keeps it as JSON text per artist).
 */
export class ArtistProfiles {
  private readonly cache: (ArtistProfile | undefined)[];
  private everything: ArtistProfile[] | undefined;
  /** The profiles as JSON text, when built from it (`ofJson`): the snapshot writer stores these bytes as they are. */
  json: TextColumn | undefined;
  private keep = true;

  constructor(
    /** Read with `at(i)`: arrays, or `StringColumn`s (segments.ts) when read from a snapshot. */
    readonly keys: Strings,
    readonly names: Strings,
    /** NaN where unknown. */
    readonly popularityMax: Float64Array,
    readonly trackCount: Int32Array,
    private readonly read: (i: number) => ArtistProfile,
    /** Each name after `fold` (text.ts), as publish computed it; absent: folded at load. */
    readonly folded?: Strings,
  ) {
    this.cache = new Array<ArtistProfile | undefined>(keys.length);
  }

  /** Over profiles already in memory. */
  static of(profiles: readonly ArtistProfile[]): ArtistProfiles {
    return new ArtistProfiles(
      profiles.map((p) => p.artist_key),
      profiles.map((p) => p.artist_name),
      Float64Array.from(profiles, (p) => p.popularity_max ?? NaN),
      Int32Array.from(profiles, (p) => p.track_count),
      (i) => profiles[i]!,
    );
  }

  /**
   * Over profiles held as JSON text (publish reads them a page at a time into it): each is parsed when
   * asked for and not kept, so a pass over all of them holds one at a time.
   */
  static ofJson(keys: Strings, names: Strings, popularityMax: Float64Array, trackCount: Int32Array, json: TextColumn): ArtistProfiles {
    const profiles = new ArtistProfiles(keys, names, popularityMax, trackCount, (i) => JSON.parse(json.get(i)) as ArtistProfile);
    profiles.json = json;
    profiles.keep = false;
    return profiles;
  }

  get length(): number {
    return this.keys.length;
  }

  get(i: number): ArtistProfile {
    if (!this.keep) return this.read(i);
    return (this.cache[i] ??= this.read(i));
  }

  /** Every profile, in artist_key order (read all at once on first call). */
  all(): readonly ArtistProfile[] {
    return (this.everything ??= Array.from({ length: this.length }, (_, i) => this.get(i)));
  }
}

/**
 * What a Catalog is made of, all computed at publish: the track columns, the learned metric space as
 * a k-d tree, the profiles, and the snapshot's small named objects. A v2 snapshot is exactly this on disk.
 */
export interface CatalogParts {
  manifest: SnapshotManifest;
  columns: CatalogColumns;
  metric: { tree: KdTreeParts; scale: number };
  artists: ArtistProfiles;
  genres: GenreProfile[];
  /** Small JSON objects carried by the snapshot, by name (see snapshot.ts `objects`). */
  objects: Readonly<Record<string, unknown>>;
  /** Extra files of the snapshot version, by name, as absolute paths (see snapshot.ts `files`). */
  files: Readonly<Record<string, string>>;
  /** The artist index of name resolution as publish stored it, read in steps (name-index.ts); absent: built from the names. */
  names?: () => Steps<ArtistIndex>;
  /** The title index of name resolution as publish stored it (name-index.ts); absent: built after the load. */
  titles?: () => TitleIndexParts;
  /**
   * As publish stored them: the id table over `artists.keys` (id-table.ts) and, per artist row, the id
   * of its key in `columns.artistKeys.table` (-1: no track). Absent (or not fitting): built at load.
   */
  artistKeyIndex?: { slots: Int32Array; keyIds: Int32Array };
}

/** What a catalog is built from: the published snapshot, or its columns already in columnar form. */
export type CatalogSource = (Omit<Snapshot, 'artists'> | (Omit<Snapshot, 'tracks' | 'artists'> & { columns: CatalogColumns }))
  & { artists: readonly ArtistProfile[] | ArtistProfiles };

/** Options of a catalog prepared from marts in memory. */
export interface PrepareOptions {
  /** The tracks whose labels fit the learned metric (default: the track-level train split, embedding.ts); the evaluation passes the fitting side of its other splits. */
  fitOn?: (i: number) => boolean;
  /** How strongly a track is pulled toward its artist's mean (default ARTIST_BLEND); for the evaluation's variants. */
  blend?: number;
  /** How the blend weakens with the artist's track count (default ARTIST_BLEND_DECAY; `null`: none); for the evaluation's variants. */
  blendDecay?: BlendDecay | null;
  /** The local scaling of the metric (default LOCAL_SCALE; `null`: none); for the evaluation's variants. */
  localScale?: LocalScaleSpec | null;
}

/** Prepare a catalog's parts from marts held in memory: columnar tracks, the fitted metric and its tree. */
export function prepareCatalog(source: CatalogSource, options: PrepareOptions = {}): CatalogParts {
  const columns = 'columns' in source ? source.columns : toColumns(source.tracks);
  const fitted = metricTree(columns, options);
  const scale = fitted.scale;
  let tree = fitted.tree;
  const spec = options.localScale === undefined ? LOCAL_SCALE : options.localScale;
  if (spec) tree = tree.withLocalScale(localScales(tree, columns, spec));
  return {
    manifest: source.manifest,
    columns,
    metric: { tree: tree.parts(), scale },
    artists: source.artists instanceof ArtistProfiles ? source.artists : ArtistProfiles.of(source.artists),
    genres: source.genres,
    objects: source.distribution ? { distribution: source.distribution } : {},
    files: {},
  };
}

/** The learned metric's k-d tree (it copies the vectors in tree order: they are let go of on return). */
function metricTree(columns: CatalogColumns, options: PrepareOptions): { tree: KdTree; scale: number } {
  const decay = options.blendDecay === undefined ? ARTIST_BLEND_DECAY : options.blendDecay;
  const { vectors, dims, scale } = embedColumns(columns, options.fitOn, artistBlend(options.blend ?? ARTIST_BLEND, decay));
  return { tree: new KdTree(vectors, columns.size, dims), scale };
}

/** The indexes a Catalog builds over its parts at load: plain loops over typed arrays and maps. */
export interface CatalogIndexes {
  parts: CatalogParts;
  byId: IdTable;
  songSizes: Int32Array;
  primary: Int32Array;
  genreIndex: Map<string, GenreEntry>;
  /** artist_key → row of `parts.artists`. */
  artistRow: { get(key: string): number | undefined };
  /** Track indexes per row of `parts.artists`. */
  artistMembers: ArtistMembers;
}

/**
 * Track indexes per artist row in one array, with no object per artist (≈ 100 bytes per typed-array
 * view: 33 MiB for the 333,003 artists of a 1M catalog): row r's tracks are tracks[start[k] .. start[k + 1])
 * for its key id k = keyOfRow[r] (-1: no track); a view is made when asked for.
 */
export interface ArtistMembers { keyOfRow: Int32Array; start: Int32Array; tracks: Int32Array }

const NO_MEMBERS = new Int32Array(0);

/**
 * One member list per count, as views of one shared buffer (one allocation instead of one buffer per
 * list: at 1M tracks there are ~350k artist lists), made a slice at a time.
 */
function* views(counts: Int32Array): Steps<Int32Array[]> {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const all = new Int32Array(total);
  const out = new Array<Int32Array>(counts.length);
  let at = 0;
  yield* loop(counts.length, (i) => {
    out[i] = all.subarray(at, at + counts[i]!);
    at += counts[i]!;
  }, 4096);
  return out;
}

/** Build a catalog's indexes, yielding at safe points (slices.ts). */
function* buildIndexes(parts: CatalogParts): Steps<CatalogIndexes> {
  const cols = parts.columns;
  const n = cols.size;
  const tree = parts.metric.tree;
  if (tree.rowOf.length !== n || tree.rows.length !== n * tree.dims) throw new Error(`the metric space holds ${tree.rowOf.length} tracks, the columns ${n}`);
  const stored = cols.idSlots && IdTable.fits(cols.trackId, cols.idSlots) ? cols.idSlots : undefined;
  const byId = new IdTable(cols.trackId, stored ?? (yield* IdTable.slots(cols.trackId)));
  const songSizes = new Int32Array(n);
  yield* loop(n, (i) => songSizes[cols.songIndex[i]!]!++);

  // Members per genre/subgenre and per artist key, in track order, by counting then filling.
  const { genres, subgenres, artistKeys } = cols;
  const genreCount = new Int32Array(genres.table.length);
  for (const ids of [genres, subgenres]) for (let p = 0; p < ids.ids.length; p++) genreCount[ids.ids[p]!]!++;
  const genreMembers = yield* views(genreCount);
  const genreFill = new Int32Array(genres.table.length);
  yield* loop(n, (i) => {
    for (const l of [genres, subgenres]) for (let p = l.start[i]!; p < l.start[i + 1]!; p++) {
      const g = l.ids[p]!;
      genreMembers[g]![genreFill[g]!++] = i;
    }
  });
  const artistCount = new Int32Array(artistKeys.table.length);
  const seenAt = new Int32Array(artistKeys.table.length).fill(-1);
  const primary = new Int32Array(n).fill(-1);
  yield* loop(n, (i) => {
    const a = artistKeys.start[i]!;
    const b = artistKeys.start[i + 1]!;
    if (b > a) primary[i] = artistKeys.ids[a]!;
    for (let p = a; p < b; p++) {
      const k = artistKeys.ids[p]!;
      if (seenAt[k] !== i) {
        seenAt[k] = i;
        artistCount[k]!++;
      }
    }
  });
  const memberStart = new Int32Array(artistKeys.table.length + 1);
  for (let k = 0; k < artistCount.length; k++) memberStart[k + 1] = memberStart[k]! + artistCount[k]!;
  const memberTracks = new Int32Array(memberStart[artistCount.length]!);
  const artistFill = memberStart.slice(0, artistCount.length);
  seenAt.fill(-1);
  yield* loop(n, (i) => {
    for (let p = artistKeys.start[i]!; p < artistKeys.start[i + 1]!; p++) {
      const k = artistKeys.ids[p]!;
      if (seenAt[k] === i) continue;
      seenAt[k] = i;
      memberTracks[artistFill[k]!++] = i;
    }
  });

  const genreIndex = new Map<string, GenreEntry>();
  const genreIds = new Map(Array.from({ length: genres.table.length }, (_, id) => [genres.table.at(id)!, id]));
  for (const profile of parts.genres) {
    const id = genreIds.get(profile.genre);
    genreIndex.set(genreKey(profile.genre), { profile, members: id === undefined ? NO_MEMBERS : genreMembers[id]! });
  }
  const { artists } = parts;
  const keyIndex = parts.artistKeyIndex;
  let artistRow: CatalogIndexes['artistRow'];
  let keyOfRow: Int32Array;
  if (keyIndex && keyIndex.keyIds.length === artists.length && IdTable.fits(artists.keys, keyIndex.slots)
    && keyIndex.keyIds.every((id) => id >= -1 && id < artistKeys.table.length)) {
    artistRow = new IdTable(artists.keys, keyIndex.slots);
    keyOfRow = keyIndex.keyIds;
  } else {
    const keyIds = new Map<string, number>();
    yield* loop(artistKeys.table.length, (id) => keyIds.set(artistKeys.table.at(id)!, id));
    const rows = new Map<string, number>();
    keyOfRow = new Int32Array(artists.length);
    yield* loop(artists.length, (r) => {
      const key = artists.keys.at(r)!;
      rows.set(key, r);
      keyOfRow[r] = keyIds.get(key) ?? -1;
    }, 1024);
    artistRow = rows;
  }
  const artistMembers = { keyOfRow, start: memberStart, tracks: memberTracks };
  return { parts, byId, songSizes, primary, genreIndex, artistRow, artistMembers };
}

/** What a load reads instead of building `artistRow` and the artist members' key ids (CatalogParts.artistKeyIndex). */
export function artistKeyIndex(artists: ArtistProfiles, artistKeys: StringLists): { slots: Int32Array; keyIds: Int32Array } {
  const ids = new Map(Array.from({ length: artistKeys.table.length }, (_, id) => [artistKeys.table.at(id)!, id]));
  return { slots: runNow(IdTable.slots(artists.keys)), keyIds: Int32Array.from({ length: artists.length }, (_, r) => ids.get(artists.keys.at(r)!) ?? -1) };
}

/** The track side of name resolution for an index of artists alone. */
const NO_TRACKS: TrackSource = {
  size: 0, title: () => null, artistKeys: () => [], artistNames: () => [], membersOf: () => NO_MEMBERS, popularity: () => NaN,
  trackId: () => '', byId: () => undefined, representative: (i) => i,
};

/** The artist index of name resolution over a catalog's artists, built a few dozen artists a step (publish stores it: name-index.ts). */
export function* artistIndexSteps(artists: ArtistProfiles): Steps<ArtistIndex> {
  const resolver = new NameResolver([], NO_TRACKS);
  yield* loop(artists.length, (i) => resolver.addArtist(artistName(artists, i), artists.folded?.at(i)), 64);
  return resolver.artistIndex();
}

function artistName(artists: ArtistProfiles, r: number): ArtistName {
  const pop = artists.popularityMax[r]!;
  return { name: artists.names.at(r)!, key: artists.keys.at(r)!, popularity: Number.isNaN(pop) ? null : pop, trackCount: artists.trackCount[r]! };
}

/** The track side of name resolution, over the columns. */
function trackSource(cols: CatalogColumns, byId: IdTable, membersOf: (key: string) => Int32Array): TrackSource {
  return {
    size: cols.size,
    title: (i) => cols.trackName.at(i)!,
    artistKeys: (i) => listAt(cols.artistKeys, i),
    artistNames: (i) => listAt(cols.artistNames, i),
    membersOf,
    popularity: (i) => cols.popularity.at(i),
    trackId: (i) => cols.trackId.at(i)!,
    byId: (id) => byId.get(id),
    representative: (i) => cols.songIndex[i]!,
  };
}

/**
 * The in-memory serving catalog, built once from a published snapshot. Immutable: a new publish
 * builds a new Catalog and the holder swaps the reference. Tracks are held column by column
 * (columns.ts); the learned metric space is indexed by a k-d tree (knn.ts). `new Catalog(snapshot)`
 * prepares everything at once; `Catalog.load(parts)` builds from a published snapshot's parts in
 * bounded slices of the event loop.
 */
export class Catalog {
  readonly manifest: SnapshotManifest;
  readonly size: number;
  /** The track table, column by column. */
  readonly columns: CatalogColumns;
  /** The learned metric space's k-d tree as stored; the searchable tree (`metric`) is made from it on first use. */
  private readonly treeParts: KdTreeParts;
  /** The searchable tree, made from treeParts a few hundred nodes a step by whoever drives it first (see metricSteps). */
  private readonly tree = new SharedBuild(() => KdTree.fromPartsSteps(this.treeParts));
  /** The metric space's vectors (in tree order), each track's row in them, and each row's local scale (null: 1). */
  private readonly rows: Float32Array;
  private readonly rowOf: Int32Array;
  private readonly rowScale: Float32Array | null;
  readonly embeddingDims: number;
  /** Mean squared distance of a track to the centre of the space: the similarity scale. */
  readonly embeddingScale: number;
  /** Per track, the index of the track that represents its song (same-song duplicates share it). */
  readonly songIndex: Int32Array;
  /** Small JSON objects the snapshot carries, by name. */
  readonly objects: Readonly<Record<string, unknown>>;
  /** Extra files of the snapshot version, by name, as absolute paths. */
  readonly files: Readonly<Record<string, string>>;
  private readonly artistTable: ArtistProfiles;
  /** Reads the artist index of name resolution, when the snapshot stores it. */
  private readonly storedNames: (() => Steps<ArtistIndex>) | undefined;
  /** Reads the title index of name resolution, when the snapshot stores it. */
  private readonly storedTitles: (() => TitleIndexParts) | undefined;
  private readonly genreProfiles: GenreProfile[];
  private readonly byId: IdTable;
  private readonly genreIndex: Map<string, GenreEntry>;
  private readonly artistRow: CatalogIndexes['artistRow'];
  private readonly members: ArtistMembers;
  /** Artist keys by folded name, for the suggestions of an unknown name; built on first use. */
  private foldedNames: Map<string, string[]> | undefined;
  /** Primary artist key id per track (-1: none), into columns.artistKeys.table. */
  private readonly primary: Int32Array;
  /** Tracks per song, at the song's representative index. */
  private readonly songSizes: Int32Array;
  private scratchTop: TopK | undefined;
  /** Name resolution, its artist index built by whoever drives it first (see nameSteps). */
  private readonly resolver = new SharedBuild(() => this.buildResolver());
  private readonly publishedDistribution: CatalogDistribution | undefined;
  private servedDistribution: CatalogDistribution | undefined;

  /** `options` apply when the catalog is prepared from marts in memory (not to published parts, whose metric is fitted). */
  constructor(source: CatalogSource | CatalogParts | CatalogIndexes, options: PrepareOptions = {}) {
    const indexes = 'byId' in source ? source : runNow(buildIndexes('metric' in source ? source : prepareCatalog(source, options)));
    const parts = indexes.parts;
    this.manifest = parts.manifest;
    this.columns = parts.columns;
    this.size = parts.columns.size;
    this.songIndex = parts.columns.songIndex;
    this.objects = parts.objects;
    this.files = parts.files;
    this.publishedDistribution = parts.objects['distribution'] as CatalogDistribution | undefined;
    this.artistTable = parts.artists;
    this.storedNames = parts.names;
    this.storedTitles = parts.titles;
    this.genreProfiles = parts.genres;
    this.treeParts = parts.metric.tree;
    ({ rows: this.rows, rowOf: this.rowOf } = this.treeParts);
    this.rowScale = this.treeParts.localScale ?? null;
    this.embeddingDims = this.treeParts.dims;
    this.embeddingScale = parts.metric.scale;
    this.byId = indexes.byId;
    this.songSizes = indexes.songSizes;
    this.primary = indexes.primary;
    this.genreIndex = indexes.genreIndex;
    this.artistRow = indexes.artistRow;
    this.members = indexes.artistMembers;
  }

  /** A catalog over prepared parts, its indexes built in slices of at most about `budgetMs` of the event loop each. */
  static async load(parts: CatalogParts, budgetMs?: number): Promise<Catalog> {
    return new Catalog(await runSliced(buildIndexes(parts), budgetMs));
  }

  /** A name resolver over this catalog built from the names alone (its artist index now, its title index on first use). */
  nameResolver(): NameResolver {
    return this.resolverOver(runNow(artistIndexSteps(this.artistTable)));
  }

  /** Name resolution over this catalog's tracks with a given artist index. */
  private resolverOver(index: ArtistIndex): NameResolver {
    return new NameResolver([], trackSource(this.columns, this.byId, (key) => this.artistMembers(key)), index, this.storedTitles);
  }

  /**
   * Name resolution over this catalog. A catalog is served before its artist index is in: the holder
   * builds it right after in slices (`indexSteps`), and a call that needs it sooner finishes the build
   * at once. Its title index follows, or is built on the first track query.
   */
  get names(): NameResolver {
    return this.resolver.now();
  }

  /** Whether the artist index of name resolution is built. */
  get namesReady(): boolean {
    return this.resolver.ready;
  }

  /** Name resolution, its artist index's build continued in slices of the event loop if it is not in yet (the holder's build, shared). */
  whenNames(): Promise<NameResolver> {
    return this.resolver.later();
  }

  /**
   * Put the artist index of name resolution in: the one publish stored, or one built from the names a
   * few dozen artists a step (slices.ts). One build per catalog: a second caller continues it.
   */
  *nameSteps(): Steps<void> {
    yield* this.resolver.steps();
  }

  private *buildResolver(): Steps<NameResolver> {
    let index: ArtistIndex | undefined;
    if (this.storedNames) {
      try {
        index = yield* this.storedNames();
      } catch {
        // A stored index whose parts disagree (its bytes matched their checksum: a writer's fault) is built again from the names.
      }
    }
    index ??= yield* artistIndexSteps(this.artistTable);
    return this.resolverOver(index);
  }

  /** Whether every index built after the catalog is served (`indexSteps`) is in. */
  get indexesReady(): boolean {
    return this.resolver.value?.titlesReady === true && this.tree.ready;
  }

  /** Every index built after the catalog is served: the artist index of name resolution, its title index, then the metric's searchable tree. */
  *indexSteps(): Steps<void> {
    yield* this.nameSteps();
    yield* this.resolver.value!.titleSteps();
    yield* this.metricSteps();
  }

  /**
   * Learned metric space (see embedding.ts), indexed for exact nearest-neighbour search; vectors in tree
   * order. Made from the stored tree on first use: the holder makes it in slices right after the catalog
   * is served (`indexSteps`), so the first answer does not wait for it (≈ 0.1-0.4 s at 1M tracks); read
   * here before that, the rest of the build is done at once (a server awaits `whenMetric` instead).
   */
  get metric(): KdTree {
    return this.tree.now();
  }

  /** Whether the searchable tree (`metric`) is made. */
  get metricReady(): boolean {
    return this.tree.ready;
  }

  /** The searchable tree, its build continued in slices of the event loop if it is not in yet (one build per catalog). */
  whenMetric(): Promise<KdTree> {
    return this.tree.later();
  }

  /** Make the searchable tree from the stored one, a few hundred nodes a step; a second caller continues the same build. */
  *metricSteps(): Steps<void> {
    yield* this.tree.steps();
  }

  /**
   * The metric space's vectors (tree order), each track's row in them and each row's local scale, as
   * stored: what scoring against anchors reads, without waiting for the searchable tree.
   */
  get space(): { rows: Float32Array; rowOf: Int32Array; localScale: Float32Array } {
    return { rows: this.rows, rowOf: this.rowOf, localScale: this.tree.value?.localScale ?? (this.rowScale ?? (this.ones ??= new Float32Array(this.size).fill(1))) };
  }

  private ones: Float32Array | undefined;

  get version(): string {
    return this.manifest.version;
  }

  /**
   * Percentiles and mood ranges of this catalog's tracks (distribution.ts): as published, or derived
   * from the tracks (origin `load`) when the snapshot predates them or its moods were defined otherwise.
   */
  get distribution(): CatalogDistribution {
    if (!this.servedDistribution) {
      const published = this.publishedDistribution;
      this.servedDistribution = published && matchesDefinitions(published)
        ? published
        : computeDistribution({ size: this.size, column: (a) => this.attributeColumn(a)!, genres: (i) => listAt(this.columns.genres, i) }, 'load');
    }
    return this.servedDistribution;
  }

  get genres(): readonly GenreProfile[] {
    return this.genreProfiles;
  }

  /** How many artist profiles the catalog holds (reads none of them). */
  get artistCount(): number {
    return this.artistTable.length;
  }

  /** The artist profile at row `row` of the artist_profiles mart (artist_key order); parses only that one. */
  artistAt(row: number): ArtistProfile {
    return this.artistTable.get(row);
  }

  /** Every artist profile (artist_profiles mart), by artist_key; parses them all on first use (`artistCount` to count). */
  get artists(): readonly ArtistProfile[] {
    return this.artistTable.all();
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
    const resolved = this.names.resolveArtist(query);
    if (!resolved.ok) {
      if (resolved.ambiguous) return { ok: false, ambiguous: true, suggestions: resolved.candidates.slice(0, 5) };
      const byFold = this.artistsByFoldedName();
      const near = this.names.nearestArtists(fold(query), 5);
      return { ok: false, suggestions: near.map((n) => this.artistName(byFold.get(n)![0]!)!) };
    }
    const rows = resolved.value.map((k) => this.artistRow.get(k)!);
    const members = rows.length === 1 ? this.membersOfRow(rows[0]!) : Int32Array.from(new Set(rows.flatMap((row) => [...this.membersOfRow(row)])));
    return { ok: true, value: { profiles: rows.map((row) => this.artistTable.get(row)), members }, match: resolved.match };
  }

  /**
   * A track by Spotify id, or by text: "Title – Artist", "Title - Artist", "Title by Artist" or just
   * "Title", forgiving versions, credits, punctuation and typos (resolve.ts); the most popular of
   * several matching tracks wins.
   */
  resolveTrack(query: string): Resolution<number> {
    const resolved = this.names.resolveTrack(query);
    if (resolved.ok) return { ok: true, value: resolved.value, match: resolved.match };
    if (resolved.ambiguous) return { ok: false, ambiguous: true, suggestions: resolved.candidates.slice(0, 5) };
    const trimmed = query.trim();
    const titles = this.names.foldedTitles();
    const separator = [' – ', ' — ', ' - ', ' by '].find((s) => trimmed.indexOf(s) > 0);
    const near = this.names.nearestTitles(fold(separator ? trimmed.slice(0, trimmed.indexOf(separator)) : trimmed), 5);
    return { ok: false, suggestions: near.map((t) => { const i = titles.get(t)![0]!; return `${this.trackName(i)} – ${this.artistNames(i).join(', ')}`; }) };
  }

  private artistsByFoldedName(): Map<string, string[]> {
    if (this.foldedNames) return this.foldedNames;
    const artists = this.artistTable;
    const byFold = new Map<string, string[]>();
    for (let row = 0; row < artists.length; row++) {
      const folded = artists.folded?.at(row) ?? fold(artists.names.at(row)!);
      const keys = byFold.get(folded);
      if (keys) keys.push(artists.keys.at(row)!);
      else byFold.set(folded, [artists.keys.at(row)!]);
    }
    return (this.foldedNames = byFold);
  }

  indexOf(trackId: string): number | undefined {
    return this.byId.get(trackId);
  }

  feature(i: number, j: number): number {
    return this.columns.features[j]!.at(i);
  }

  popularity(i: number): number {
    return this.columns.popularity.at(i);
  }

  explicit(i: number): boolean | null {
    const flag = this.columns.explicit[i]!;
    return flag < 0 ? null : flag === 1;
  }

  canonicalId(i: number): string {
    return this.columns.canonicalElsewhere.get(i) ?? this.columns.trackId.at(this.songIndex[i]!)!;
  }

  trackName(i: number): string | null {
    return this.columns.trackName.at(i)!;
  }

  artistKeys(i: number): readonly string[] {
    return listAt(this.columns.artistKeys, i);
  }

  artistNames(i: number): string[] {
    return listAt(this.columns.artistNames, i);
  }

  trackId(i: number): string {
    return this.columns.trackId.at(i)!;
  }

  /**
   * A recommendation attribute's column (NaN where the dataset does not record it), or undefined for a
   * name that is not one.
   */
  attributeColumn(attr: string): NumberColumn | undefined {
    return attributeColumn(this.columns, attr);
  }

  /** Raw value of a recommendation attribute, or null when the dataset does not record it. */
  attribute(i: number, attr: string): number | null {
    const v = this.attributeColumn(attr)?.at(i);
    return v === undefined || Number.isNaN(v) ? null : v;
  }

  /** Squared distance between two tracks in the learned metric space. */
  distance2(a: number, b: number): number {
    const k = this.embeddingDims;
    const rows = this.rows;
    const rowA = this.rowOf[a]! * k;
    const rowB = this.rowOf[b]! * k;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const d = rows[rowA + c]! - rows[rowB + c]!;
      sum += d * d;
    }
    return sum;
  }

  /** A track's local scale in the learned metric space (1 when the snapshot has none; see LOCAL_SCALE). */
  localScale(i: number): number {
    return this.rowScale ? this.rowScale[this.rowOf[i]!]! : 1;
  }

  /** A track's vector in the learned metric space (a view, not a copy). */
  vector(i: number): Float32Array {
    const k = this.embeddingDims;
    const rowStart = this.rowOf[i]! * k;
    return this.rows.subarray(rowStart, rowStart + k);
  }

  primaryArtist(i: number): string | undefined {
    const id = this.primary[i]!;
    return id < 0 ? undefined : this.columns.artistKeys.table.at(id);
  }

  /** Primary artist key id of a track (-1: none); equal ids are equal keys. */
  primaryArtistId(i: number): number {
    return this.primary[i]!;
  }

  artistName(key: string): string | undefined {
    const row = this.artistRow.get(key);
    return row === undefined ? undefined : this.artistTable.names.at(row);
  }

  /** Track indexes credited to an artist key. */
  artistMembers(key: string): Int32Array {
    const row = this.artistRow.get(key);
    return row === undefined ? NO_MEMBERS : this.membersOfRow(row);
  }

  /** Track indexes credited to the artist at row `row` of the artist_profiles mart (a view). */
  private membersOfRow(row: number): Int32Array {
    const k = this.members.keyOfRow[row]!;
    return k < 0 ? NO_MEMBERS : this.members.tracks.subarray(this.members.start[k]!, this.members.start[k + 1]!);
  }

  /** How many tracks of the catalog are the song whose representative is track `song`. */
  songSize(song: number): number {
    return this.songSizes[song]!;
  }

  /** A reusable top-k selector (highest score, then lowest track id), for one synchronous computation at a time. */
  topK(k: number): TopK {
    return (this.scratchTop ??= new TopK((i) => this.columns.trackId.at(i)!)).reset(k);
  }

  track(i: number): TrackView {
    const c = this.columns;
    const features = {} as Record<TrackFeature, number>;
    for (let j = 0; j < TRACK_FEATURES.length; j++) features[TRACK_FEATURES[j]!] = c.features[j]!.at(i);
    const year = c.releaseYear.at(i);
    const album = c.album[i]!;
    return {
      track_id: c.trackId.at(i)!,
      name: c.trackName.at(i)!,
      artists: listAt(c.artistNames, i),
      album: album < 0 ? null : c.albumTable[album]!,
      release_year: Number.isNaN(year) ? null : year,
      popularity: c.popularity.at(i),
      duration_ms: c.durationMs.at(i),
      explicit: this.explicit(i),
      genres: listAt(c.genres, i),
      subgenres: listAt(c.subgenres, i),
      key: c.key.at(i),
      mode: c.mode.at(i),
      features,
    };
  }
}

/** Inputs of the learned metric: the 12 audio attributes, release year and popularity (the feature registry's `metric` ones). */
export const METRIC_INPUTS: readonly MetricFeature[] = METRIC_FEATURES;

/** How strongly a track is pulled toward its primary artist's mean position (tuned in `npm run eval`; weakened for prolific artists by ARTIST_BLEND_DECAY). */
export const ARTIST_BLEND = 0.65;

/**
 * The artist blend weakened for prolific artists: an artist with n tracks pulls its tracks toward its mean by
 * blend · min(1, (tracks / n)^power), so a big artist's tracks keep more of their own spread and form a looser clump
 * (dense clumps of a prolific artist's tracks are nearest neighbours of many seeds: hubs).
 */
export interface BlendDecay {
  tracks: number;
  power: number;
}
/** Served: the full blend up to 3 tracks, then ∝ 1/√n (tuned in `npm run eval`; docs/EVALUATION.md). */
export const ARTIST_BLEND_DECAY: BlendDecay | null = { tracks: 3, power: 0.5 };

/** The blend as a function of the artist's track count (a plain number when it does not depend on it). */
export function artistBlend(blend: number, decay: BlendDecay | null): number | ((size: number) => number) {
  if (!decay || decay.power === 0) return blend;
  return (size) => blend * Math.min(1, (decay.tracks / size) ** decay.power);
}

/**
 * Local scaling of the metric: σ_i is the mean distance from track i to its `neighbours` nearest tracks of
 * other songs, and a track's squared distances are divided by s_i = (σ_i / median σ)^power, so a seed's
 * answers are ranked by d²(seed, i) / (s_seed · s_i). Tracks in dense clumps (a prolific artist's songs,
 * pulled together by the artist blend) otherwise sit near everyone and answer for every seed ("hubs").
 */
export interface LocalScaleSpec {
  neighbours: number;
  power: number;
  /**
   * Hub correction: after local scaling, each track's scale is multiplied by ((k + 1) / (N_k + 1))^hub, N_k
   * its k-occurrence (how many tracks have it among their k = `neighbours` nearest by the scaled distance),
   * so the tracks that still answer for many seeds move away and the never-recommended ones move closer. 0: none.
   */
  hub?: number;
  /**
   * Whose tracks count as a track's neighbours: `songs`, every track of another song; `artists`, only the tracks
   * of another primary artist (the neighbours an answer mostly holds, since it caps the seed's own artist).
   */
  among?: 'songs' | 'artists';
  /** Apply the hub correction only to tracks that occur more than k times (N_k > k), never move a track closer. */
  hubOnlyDown?: boolean;
  /**
   * Where the hub correction starts, in multiples c of k (default 1): the factor becomes ((c·k + 1) / (N_k + 1))^hub,
   * so with `hubOnlyDown` only the tail of tracks occurring more than c·k times moves away, the rest keep their scale.
   */
  hubAbove?: number;
  /**
   * How many times the hub correction is applied (default 1), N_k measured again under the corrected scales each
   * time: moving a hub away hands its slots to its neighbours, which the next round moves in turn.
   */
  hubRounds?: number;
  /**
   * With `among: 'artists'`, whose occurrences N_k counts: `neighbours` (default), each track's k nearest of other
   * artists; `answers`, each track's k nearest as an answer list holds them: of other songs, at most
   * SAME_ARTIST_ANSWERS of them by the track's own artist (the seed artist's own tracks, which a plain kNN of other
   * artists never counts, take those slots for every seed of a prolific artist).
   */
  occurrence?: 'neighbours' | 'answers';
  /**
   * Whose N_k the hub correction reads: `track` (default), the track's own; `artist`, the mean N_k of its primary
   * artist's tracks, so a prolific artist's clump moves away as one instead of handing a moved hub's slots to the
   * clump's next track.
   */
  hubBy?: 'track' | 'artist';
}
/** How many of a similar_tracks answer list may be by the seed's own artist, as `npm run eval` counts it. */
export const SAME_ARTIST_ANSWERS = 2;
/** Served: σ over other artists' tracks, then the hub correction ^0.3 on hubs only (tuned in `npm run eval`; docs/EVALUATION.md). */
export const LOCAL_SCALE: LocalScaleSpec = { neighbours: 10, power: 1, among: 'artists', hub: 0.3, hubOnlyDown: true };

/** Each track's local scale (by track index; see LocalScaleSpec), from exact nearest neighbours in `tree`. */
export function localScales(tree: KdTree, columns: Pick<CatalogColumns, 'songIndex' | 'artistKeys'>, spec: LocalScaleSpec): Float32Array {
  const { songIndex, artistKeys } = columns;
  const primary = Int32Array.from(songIndex, (_, i) => (artistKeys.start[i + 1]! > artistKeys.start[i]! ? artistKeys.ids[artistKeys.start[i]!]! : -1 - i));
  const other = spec.among === 'artists'
    ? (i: number, j: number) => songIndex[i] !== songIndex[j] && primary[i] !== primary[j]
    : (i: number, j: number) => songIndex[i] !== songIndex[j];
  const sigma = tree.meanNearestDistance(spec.neighbours, other);
  const sorted = Float64Array.from(sigma).sort();
  const median = sorted[sorted.length >> 1]! || 1;
  const floor = median * 1e-3;
  const scales = Float32Array.from(sigma, (v) => (Math.max(v, floor) / median) ** spec.power);
  if (!spec.hub) return scales;
  for (let round = 0; round < (spec.hubRounds ?? 1); round++) {
    const occurrence = spec.occurrence === 'answers' && spec.among === 'artists'
      ? answerOccurrence(tree, scales, spec.neighbours, songIndex, primary, other)
      : tree.withLocalScale(scales).kOccurrence(spec.neighbours, other);
    if (spec.hubBy === 'artist') artistMeanOccurrence(occurrence, primary);
    for (let i = 0; i < scales.length; i++) {
      const factor = (((spec.hubAbove ?? 1) * spec.neighbours + 1) / (occurrence[i]! + 1)) ** spec.hub;
      scales[i] = scales[i]! * (spec.hubOnlyDown ? Math.min(1, factor) : factor);
    }
  }
  return scales;
}

/** Replace each track's occurrence by the mean over its primary artist's tracks (rounded; a track without an artist keeps its own). */
function artistMeanOccurrence(occurrence: Int32Array, primary: Int32Array): void {
  const sum = new Map<number, { total: number; count: number }>();
  for (let i = 0; i < occurrence.length; i++) {
    if (primary[i]! < 0) continue;
    const acc = sum.get(primary[i]!) ?? sum.set(primary[i]!, { total: 0, count: 0 }).get(primary[i]!)!;
    acc.total += occurrence[i]!;
    acc.count++;
  }
  for (let i = 0; i < occurrence.length; i++) {
    const acc = primary[i]! < 0 ? undefined : sum.get(primary[i]!);
    if (acc) occurrence[i] = Math.round(acc.total / acc.count);
  }
}

/**
 * Each track's k-occurrence in answer lists of k: per track i, its k nearest by d² / s_j among other artists' tracks
 * (`otherArtist`, the tree search) merged with its SAME_ARTIST_ANSWERS nearest among its own artist's other songs
 * (a scan of the artist's tracks), the k best of both kept.
 */
export function answerOccurrence(tree: KdTree, scales: Float32Array, k: number, songIndex: Int32Array, primary: Int32Array, otherArtist: (i: number, j: number) => boolean): Int32Array {
  const n = songIndex.length;
  const keys = new Float64Array(n * k).fill(Infinity);
  const ids = new Int32Array(n * k).fill(-1);
  let last = -1;
  let at = 0;
  tree.withLocalScale(scales).nearestEach(k, otherArtist, true, (i, j, d2) => {
    at = i === last ? at + 1 : 0;
    last = i;
    keys[i * k + at] = d2 / scales[j]!;
    ids[i * k + at] = j;
  });
  // The own artist's tracks, grouped by primary artist (ids ≥ 0; a track without one has no own-artist answers).
  const byArtist = new Map<number, number[]>();
  for (let i = 0; i < n; i++) if (primary[i]! >= 0) (byArtist.get(primary[i]!) ?? byArtist.set(primary[i]!, []).get(primary[i]!)!).push(i);
  const dims = tree.dims;
  const { rows, rowOf } = tree;
  const occurrence = new Int32Array(n);
  const sameKey = new Float64Array(SAME_ARTIST_ANSWERS);
  const sameId = new Int32Array(SAME_ARTIST_ANSWERS);
  for (const members of byArtist.values()) {
    for (const i of members) {
      let m = 0;
      for (const j of members) {
        if (songIndex[j] === songIndex[i]) continue;
        let d = 0;
        for (let c = 0, a = rowOf[i]! * dims, b = rowOf[j]! * dims; c < dims; c++) {
          const x = rows[a + c]! - rows[b + c]!;
          d += x * x;
        }
        const key = d / scales[j]!;
        if (m === SAME_ARTIST_ANSWERS && key >= sameKey[m - 1]!) continue;
        let q = m < SAME_ARTIST_ANSWERS ? m++ : m - 1;
        while (q > 0 && sameKey[q - 1]! > key) {
          sameKey[q] = sameKey[q - 1]!;
          sameId[q] = sameId[q - 1]!;
          q--;
        }
        sameKey[q] = key;
        sameId[q] = j;
      }
      // Merge the two ascending lists, keeping the k best.
      let a = 0;
      let b = 0;
      for (let taken = 0; taken < k; taken++) {
        const ka = a < k ? keys[i * k + a]! : Infinity;
        const kb = b < m ? sameKey[b]! : Infinity;
        if (ka === Infinity && kb === Infinity) break;
        if (kb < ka) occurrence[sameId[b++]!]!++;
        else occurrence[ids[i * k + a++]!]!++;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (primary[i]! >= 0) continue;
    for (let a = 0; a < k && ids[i * k + a]! >= 0; a++) occurrence[ids[i * k + a]!]!++;
  }
  return occurrence;
}

/** Evaluation labels of a track: its subgenres where the dataset has them, else its genres. */
export function trackLabels(s: Snapshot, i: number): readonly string[] {
  const sub = s.tracks.subgenres[i]!;
  return sub.length ? sub : s.tracks.genres[i]!;
}

/** The metric's inputs, row by row (n × METRIC_INPUTS.length; NaN where a track has no value). */
function metricInputs(cols: CatalogColumns): Float64Array {
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
    for (let i = 0; i < n; i++) x[i * d + j] = col.at(i);
  }
  return x;
}

/**
 * Fit the metric on the labels of the tracks `fitOn` picks (default: the train split) and project every
 * track. Deterministic for a snapshot. Labels are read here, once, to learn the projection; queries only
 * ever see the vectors.
 */
export function embedColumns(cols: CatalogColumns, fitOn: (i: number) => boolean = (i) => !isTestTrack(cols.trackId.at(i)!), blend: number | ((size: number) => number) = ARTIST_BLEND): { vectors: Float32Array; dims: number; scale: number } {
  const n = cols.size;
  const d = METRIC_INPUTS.length;
  // Each n × d array is let go of as soon as the next step has what it needs (at 1M tracks each is
  // over 100 MB, and the fit's peak is the publish's when they are all held).
  let z: Float64Array | null = standardize(metricInputs(cols), n, d).z;
  // Labels: subgenres where the track has them, else genres (trackLabels).
  const labels = Array.from({ length: n }, (_, i) => (listLength(cols.subgenres, i) ? listAt(cols.subgenres, i) : listAt(cols.genres, i)));
  const hasLabels = labels.some((l) => l.length > 0);
  let vectors: Float32Array;
  let dims: number;
  if (hasLabels && n > 10) {
    const w = fitLda(z, n, d, labels, fitOn, d);
    labels.length = 0;
    dims = w[0]!.length;
    const projected = project(z, n, d, w);
    z = null;
    const { artistKeys } = cols;
    const primary = Array.from({ length: n }, (_, i) => (artistKeys.start[i + 1]! > artistKeys.start[i]! ? artistKeys.table.at(artistKeys.ids[artistKeys.start[i]!]!) : undefined));
    vectors = blendByGroup(projected, n, dims, primary, blend);
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
