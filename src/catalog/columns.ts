import { Grow } from './grow.js';
import { IdTable } from './id-table.js';
import { runNow } from './slices.js';
import { TRACK_FEATURES, type TrackColumns } from './marts.js';
import { NumberColumn } from './number-column.js';
import type { Strings } from './segments.js';

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
  /** Read with `at(id)`: an array when built, a `StringColumn` (segments.ts) when read from a snapshot. */
  table: Strings;
}

export interface CatalogColumns {
  size: number;
  /** Read with `at(i)`: an array when built from marts, a `StringColumn` (segments.ts) when read from a snapshot. */
  trackId: Strings;
  /** Slots of the id hash table over `trackId` (id-table.ts), when a snapshot stores them; built at load otherwise. */
  idSlots?: Int32Array;
  trackName: Strings<string | null>;
  /** Album name id per track (-1: none) into albumTable. */
  album: Int32Array;
  albumTable: string[];
  /** Read with `at(i)` (number-column.ts); NaN where the dataset has no value. */
  releaseYear: NumberColumn;
  popularity: NumberColumn;
  durationMs: NumberColumn;
  key: NumberColumn;
  mode: NumberColumn;
  /** NaN where the dataset does not record it. */
  timeSignature: NumberColumn;
  /** 1 explicit, 0 not, -1 not recorded. */
  explicit: Int8Array;
  /** One column per TRACK_FEATURES entry, same order. */
  features: NumberColumn[];
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

/** Row i of a list column as a fresh array. */
export function listAt(l: StringLists, i: number): string[] {
  const a = l.start[i]!;
  const b = l.start[i + 1]!;
  const out = new Array<string>(b - a);
  for (let p = a; p < b; p++) out[p - a] = l.table.at(l.ids[p]!)!;
  return out;
}

export function listLength(l: StringLists, i: number): number {
  return l.start[i + 1]! - l.start[i]!;
}

const nullable = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);

/** One track as `ColumnsBuilder.add` takes it: a row of dim_tracks with its artist keys. */
export interface TrackRow {
  track_id: string;
  track_name: string | null;
  album_name: string | null;
  release_year: number | null;
  artist_names: readonly string[];
  artist_keys: readonly string[];
  popularity: number | null;
  duration_ms: number | null;
  explicit: boolean | null;
  key: number | null;
  mode: number | null;
  time_signature: number | null;
  genres: readonly string[];
  subgenres: readonly string[];
  canonical_track_id: string;
  /** In TRACK_FEATURES order. */
  features: readonly (number | null)[];
}

/** A list column built a row at a time. */
class ListsBuilder {
  private readonly start = new Grow(new Int32Array(1024));
  private readonly ids = new Grow(new Int32Array(1024));
  private at = 0;
  constructor(readonly interner = new Interner()) {}

  add(row: readonly string[]): void {
    this.start.push(this.at);
    for (const s of row) this.ids.push(this.interner.id(s));
    this.at += row.length;
  }

  done(): StringLists {
    this.start.push(this.at);
    return { start: this.start.done(), ids: this.ids.done(), table: this.interner.table };
  }
}

/**
 * The columnar track table built a track at a time, so that publish turns each page of warehouse rows
 * into columns and the rows of the whole table never exist at once.
 */
export class ColumnsBuilder {
  private readonly trackId: string[] = [];
  private readonly trackName: (string | null)[] = [];
  /** A track's canonical id where it is not the track's own (most tracks are their song's canonical track). */
  private readonly canonical = new Map<number, string>();
  private readonly albums = new Interner();
  private readonly album = new Grow(new Int32Array(1024));
  private readonly explicit = new Grow(new Int8Array(1024));
  private readonly numbers = {
    releaseYear: new Grow(new Float64Array(1024)), popularity: new Grow(new Float64Array(1024)),
    durationMs: new Grow(new Float64Array(1024)), key: new Grow(new Float64Array(1024)),
    mode: new Grow(new Float64Array(1024)), timeSignature: new Grow(new Float64Array(1024)),
  };
  private readonly features = TRACK_FEATURES.map(() => new Grow(new Float64Array(1024)));
  private readonly artistNames = new ListsBuilder();
  private readonly artistKeys = new ListsBuilder();
  private readonly genres = new ListsBuilder();
  /** Interned on their own and renumbered at the end: genres' ids come first, as one table over both. */
  private readonly subgenres = new ListsBuilder();

  get size(): number {
    return this.trackId.length;
  }

  add(t: TrackRow): void {
    this.trackId.push(t.track_id);
    this.trackName.push(t.track_name);
    if (t.canonical_track_id !== t.track_id) this.canonical.set(this.trackId.length - 1, t.canonical_track_id);
    this.album.push(t.album_name === null || t.album_name === undefined ? -1 : this.albums.id(t.album_name));
    this.explicit.push(t.explicit === null || t.explicit === undefined ? -1 : t.explicit ? 1 : 0);
    const n = this.numbers;
    n.releaseYear.push(nullable(t.release_year));
    n.popularity.push(nullable(t.popularity));
    n.durationMs.push(nullable(t.duration_ms));
    n.key.push(nullable(t.key));
    n.mode.push(nullable(t.mode));
    n.timeSignature.push(nullable(t.time_signature));
    this.features.forEach((f, j) => f.push(nullable(t.features[j])));
    this.artistNames.add(t.artist_names);
    this.artistKeys.add(t.artist_keys);
    this.genres.add(t.genres);
    this.subgenres.add(t.subgenres);
  }

  done(): CatalogColumns {
    const n = this.trackId.length;
    // The id table the snapshot stores (track_id.slots), built once here instead of a Map of every id.
    const idSlots = runNow(IdTable.slots(this.trackId));
    const byId = new IdTable(this.trackId, idSlots);
    const songIndex = new Int32Array(n);
    const canonicalElsewhere = new Map<number, string>();
    for (let i = 0; i < n; i++) {
      const c = this.canonical.get(i) ?? this.trackId[i]!;
      const at = byId.get(c);
      songIndex[i] = at ?? i;
      if (at === undefined && c !== this.trackId[i]) canonicalElsewhere.set(i, c);
    }
    const genres = this.genres.done();
    const sub = this.subgenres.done();
    // One table for both lists, genres first (each in first-seen order).
    const names = this.genres.interner;
    const ids = sub.ids.map((id) => names.id(sub.table.at(id)!));
    const x = this.numbers;
    return {
      size: n,
      trackId: this.trackId,
      idSlots,
      trackName: this.trackName,
      album: this.album.done(),
      albumTable: this.albums.table,
      releaseYear: NumberColumn.of(x.releaseYear.done()),
      popularity: NumberColumn.of(x.popularity.done()),
      durationMs: NumberColumn.of(x.durationMs.done()),
      key: NumberColumn.of(x.key.done()),
      mode: NumberColumn.of(x.mode.done()),
      timeSignature: NumberColumn.of(x.timeSignature.done()),
      explicit: this.explicit.done(),
      features: this.features.map((f) => NumberColumn.of(f.done())),
      artistNames: this.artistNames.done(),
      artistKeys: this.artistKeys.done(),
      genres,
      subgenres: { start: sub.start, ids, table: names.table },
      songIndex,
      canonicalElsewhere,
    };
  }
}

/** The snapshot's track columns in columnar form. */
export function toColumns(t: TrackColumns): CatalogColumns {
  const b = new ColumnsBuilder();
  for (let i = 0; i < t.track_id.length; i++) {
    b.add({
      track_id: t.track_id[i]!, track_name: t.track_name[i]!, album_name: t.album_name[i]!, release_year: t.release_year[i]!,
      artist_names: t.artist_names[i]!, artist_keys: t.artist_keys[i]!, popularity: t.popularity[i]!, duration_ms: t.duration_ms[i]!,
      explicit: t.explicit[i]!, key: t.key[i]!, mode: t.mode[i]!, time_signature: t.time_signature[i]!, genres: t.genres[i]!,
      subgenres: t.subgenres[i]!, canonical_track_id: t.canonical_track_id[i]!, features: TRACK_FEATURES.map((f) => t.features[f][i]!),
    });
  }
  return b.done();
}

/**
 * A recommendation attribute's column (NaN where the dataset does not record it), or undefined for a
 * name that is not one.
 */
export function attributeColumn(c: CatalogColumns, attr: string): NumberColumn | undefined {
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
