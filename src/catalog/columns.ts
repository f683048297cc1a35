import { TRACK_FEATURES, type TrackColumns } from './marts.js';

/**
 * The serving catalog's track table in columnar form: one typed array per numeric column, repeated
 * strings (albums, artists, genres) interned into a table and referenced by id, and lists stored as
 * offsets into one flat id array (row i's items are ids[start[i] .. start[i + 1])). One JS object
 * per column rather than several per track, so a million tracks fit in a few hundred MB.
 */

/** A list-of-strings column: row i holds table[ids[start[i]]] … table[ids[start[i + 1] - 1]]. */
export interface StringLists {
  start: Int32Array;
  ids: Int32Array;
  table: string[];
}

export interface CatalogColumns {
  size: number;
  trackId: string[];
  /** Slots of the id hash table over `trackId` (id-table.ts), when a snapshot stores them; built at load otherwise. */
  idSlots?: Int32Array;
  trackName: (string | null)[];
  /** Album name id per track (-1: none) into albumTable. */
  album: Int32Array;
  albumTable: string[];
  /** NaN where the dataset has no value. */
  releaseYear: Float64Array;
  popularity: Float64Array;
  durationMs: Float64Array;
  key: Float64Array;
  mode: Float64Array;
  /** NaN where the dataset does not record it. */
  timeSignature: Float64Array;
  /** 1 explicit, 0 not, -1 not recorded. */
  explicit: Int8Array;
  /** One column per TRACK_FEATURES entry, same order. */
  features: Float64Array[];
  artistNames: StringLists;
  artistKeys: StringLists;
  genres: StringLists;
  subgenres: StringLists;
  /** Per track, the index of its canonical track (same-song duplicates share it); itself when absent. */
  songIndex: Int32Array;
  /** Canonical ids that name no track of the catalog, by track index (rare). */
  canonicalElsewhere: Map<number, string>;
}

/** Interns strings into a table, in first-seen order. */
export class Interner {
  readonly table: string[] = [];
  private readonly ids = new Map<string, number>();

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.table.length;
      this.table.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}

/** Build a list column from per-row arrays. */
export function stringLists(rows: readonly (readonly string[])[], interner = new Interner()): StringLists {
  const n = rows.length;
  const start = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) total += rows[i]!.length;
  const ids = new Int32Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    start[i] = at;
    for (const s of rows[i]!) ids[at++] = interner.id(s);
  }
  start[n] = at;
  return { start, ids, table: interner.table };
}

/** Row i of a list column as a fresh array. */
export function listAt(l: StringLists, i: number): string[] {
  const a = l.start[i]!;
  const b = l.start[i + 1]!;
  const out = new Array<string>(b - a);
  for (let p = a; p < b; p++) out[p - a] = l.table[l.ids[p]!]!;
  return out;
}

export function listLength(l: StringLists, i: number): number {
  return l.start[i + 1]! - l.start[i]!;
}

const nullable = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);

/** The snapshot's track columns in columnar form. */
export function toColumns(t: TrackColumns): CatalogColumns {
  const n = t.track_id.length;
  const f64 = (src: readonly (number | null)[]) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = nullable(src[i]);
    return out;
  };
  const albums = new Interner();
  const album = new Int32Array(n);
  const explicit = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const a = t.album_name[i];
    album[i] = a === null || a === undefined ? -1 : albums.id(a);
    const e = t.explicit[i];
    explicit[i] = e === null || e === undefined ? -1 : e ? 1 : 0;
  }
  const byId = new Map<string, number>();
  for (let i = 0; i < n; i++) byId.set(t.track_id[i]!, i);
  const songIndex = new Int32Array(n);
  const canonicalElsewhere = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = t.canonical_track_id[i]!;
    const at = byId.get(c);
    songIndex[i] = at ?? i;
    if (at === undefined && c !== t.track_id[i]) canonicalElsewhere.set(i, c);
  }
  const genreNames = new Interner();
  return {
    size: n,
    trackId: t.track_id,
    trackName: t.track_name,
    album,
    albumTable: albums.table,
    releaseYear: f64(t.release_year),
    popularity: f64(t.popularity),
    durationMs: f64(t.duration_ms),
    key: f64(t.key),
    mode: f64(t.mode),
    timeSignature: f64(t.time_signature),
    explicit,
    features: TRACK_FEATURES.map((f) => f64(t.features[f])),
    artistNames: stringLists(t.artist_names),
    artistKeys: stringLists(t.artist_keys),
    genres: stringLists(t.genres, genreNames),
    subgenres: stringLists(t.subgenres, genreNames),
    songIndex,
    canonicalElsewhere,
  };
}
