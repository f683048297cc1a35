import { IdTable } from './id-table.js';
import type { NameList } from './near-names.js';
import { NAME_INDEX_VERSION, type ArtistIndex, type Group, type Groups, type Lookup, type TitleIndexParts } from './resolve.js';
import type { SegmentReader, SegmentWriter, StringColumn, Strings } from './segments.js';
import { runNow, type Steps } from './slices.js';

/**
 * The artist index of name resolution (resolve.ts `ArtistIndex`) as snapshot segments, written at publish
 * and read at load instead of building it from 29,796 names (≈ 170 ms on the default dataset). Every
 * segment name carries NAME_INDEX_VERSION: a snapshot whose index was built by other rules has none
 * of this version's segments, and the server builds the index from the names as before.
 *
 * - `<p>.group.name`, `.key`, `.words` (string columns; words space-separated, a word holds no space),
 *   `.popularity` (f64), `.track_count` (i32), `.keys` (string column of every group's artist keys in
 *   order) with `.keys.start` (i32, groups + 1);
 * - `<p>.fold`, `<p>.key`, `<p>.bare_key`: each lookup's keys (string column, in the order they were
 *   added) with `.slots` (the id table over them, id-table.ts), and `.group` (i32) or `.groups.start` +
 *   `.groups.ids` (i32 lists of groups);
 * - `<p>.typo.first` (string column: first characters), `.typo.start` (i32) into `.typo.keys` (string column).
 */
const P = `names.v${NAME_INDEX_VERSION}`;

/** A lookup over keys stored with their id table; values by row. */
class StoredLookup<V> implements Lookup<V> {
  private readonly table: IdTable;

  constructor(private readonly keyList: Strings, slots: Int32Array, private readonly value: (row: number) => V) {
    this.table = new IdTable(keyList, slots);
  }

  get(key: string): V | undefined {
    const r = this.table.get(key);
    return r === undefined ? undefined : this.value(r);
  }

  has(key: string): boolean {
    return this.table.get(key) !== undefined;
  }

  *keys(): IterableIterator<string> {
    for (let r = 0; r < this.keyList.length; r++) yield this.keyList.at(r)!;
  }

  /** The keys in `keys()` order, each read when asked for. */
  keyNames(): NameList {
    return { length: this.keyList.length, at: (r) => this.keyList.at(r)! };
  }
}

/**
 * The stored groups, each made when asked for from the group columns (a name query reads a handful),
 * so a load holds no object per artist: 333,003 groups of a 1M catalog were ≈ 240 MiB of objects.
 */
class StoredGroups implements Groups {
  readonly length: number;

  constructor(
    private readonly name: Strings, private readonly key: Strings, private readonly words: Strings, private readonly popularity: Float64Array,
    private readonly trackCount: Int32Array, private readonly keys: Strings, private readonly keysStart: Int32Array,
  ) {
    this.length = name.length;
  }

  at(g: number): Group | undefined {
    if (!(g >= 0 && g < this.length)) return undefined;
    const w = this.words.at(g)!;
    const keys = new Array<string>(this.keysStart[g + 1]! - this.keysStart[g]!);
    for (let k = 0; k < keys.length; k++) keys[k] = this.keys.at(this.keysStart[g]! + k)!;
    return { name: this.name.at(g)!, keys, key: this.key.at(g)!, words: w ? w.split(' ') : [], popularity: this.popularity[g]!, trackCount: this.trackCount[g]! };
  }
}

/** The typo scan's keys per first character, each list made when asked for from one stored column. */
class StoredTypoKeys implements Lookup<readonly string[]> {
  private readonly row: Map<string, number>;

  constructor(firsts: readonly string[], private readonly start: Int32Array, private readonly list: Strings) {
    this.row = new Map(firsts.map((c, i) => [c, i]));
  }

  get(first: string): readonly string[] | undefined {
    const i = this.row.get(first);
    if (i === undefined) return undefined;
    const out = new Array<string>(this.start[i + 1]! - this.start[i]!);
    for (let k = 0; k < out.length; k++) out[k] = this.list.at(this.start[i]! + k)!;
    return out;
  }

  has(first: string): boolean {
    return this.row.has(first);
  }

  keys(): Iterable<string> {
    return this.row.keys();
  }
}

/** Offsets of lists laid end to end, and the lists flattened. */
function flatten<T>(lists: readonly (readonly T[])[]): { start: Int32Array; items: T[] } {
  const start = new Int32Array(lists.length + 1);
  const items: T[] = [];
  lists.forEach((l, i) => {
    for (const x of l) items.push(x); // not push(...l): a list may be longer than a call takes arguments
    start[i + 1] = items.length;
  });
  return { start, items };
}

function writeKeys(w: SegmentWriter, name: string, keys: readonly string[]): void {
  w.strings(name, keys);
  w.numbers(`${name}.slots`, runNow(IdTable.slots(keys)));
}

function writeGroupLists(w: SegmentWriter, name: string, lookup: Lookup<readonly number[]>): void {
  const keys = [...lookup.keys()];
  writeKeys(w, name, keys);
  const { start, items } = flatten(keys.map((k) => lookup.get(k)!));
  w.numbers(`${name}.groups.start`, start);
  w.numbers(`${name}.groups.ids`, Int32Array.from(items));
}

/** Store a built artist index. */
export function writeNameIndex(w: SegmentWriter, index: ArtistIndex): void {
  const g = Array.from({ length: index.groups.length }, (_, i) => index.groups.at(i)!);
  w.strings(`${P}.group.name`, g.map((x) => x.name));
  w.strings(`${P}.group.key`, g.map((x) => x.key));
  w.strings(`${P}.group.words`, g.map((x) => x.words.join(' ')));
  w.numbers(`${P}.group.popularity`, Float64Array.from(g, (x) => x.popularity));
  w.numbers(`${P}.group.track_count`, Int32Array.from(g, (x) => x.trackCount));
  const keys = flatten(g.map((x) => x.keys));
  w.strings(`${P}.group.keys`, keys.items);
  w.numbers(`${P}.group.keys.start`, keys.start);
  const folds = [...index.byFold.keys()];
  writeKeys(w, `${P}.fold`, folds);
  w.numbers(`${P}.fold.group`, Int32Array.from(folds, (f) => index.byFold.get(f)!));
  writeGroupLists(w, `${P}.key`, index.byKey);
  writeGroupLists(w, `${P}.bare_key`, index.byBareKey);
  const firsts = [...index.typoKeys.keys()];
  const typo = flatten(firsts.map((c) => index.typoKeys.get(c)!));
  w.strings(`${P}.typo.first`, firsts);
  w.numbers(`${P}.typo.start`, typo.start);
  w.strings(`${P}.typo.keys`, typo.items);
}

const strings = (r: SegmentReader, name: string) => r.strings(name) as Steps<string[]>;
/** A string column kept as one text (segments.ts), refused when it holds a null (the writer never stores one). */
function* column(r: SegmentReader, name: string): Steps<StringColumn<string>> {
  const c = yield* r.stringColumn(name);
  if (c.hasNulls) throw new Error(`the stored name index column ${name} holds a null`);
  return c as StringColumn<string>;
}

function* readGroupLists(r: SegmentReader, name: string, groups: number): Steps<Lookup<readonly number[]>> {
  const keys = yield* column(r, name);
  const start = r.i32(`${name}.groups.start`);
  const ids = r.i32(`${name}.groups.ids`);
  if (start.length !== keys.length + 1 || start[keys.length] !== ids.length) throw new Error(`${name}: ${keys.length} keys, ${start.length} list offsets, ${ids.length} groups`);
  if (ids.some((x) => x < 0 || x >= groups)) throw new Error(`${name} names a group outside the ${groups} groups`);
  return new StoredLookup(keys, r.i32(`${name}.slots`), (row) => Array.from(ids.subarray(start[row]!, start[row + 1]!)));
}

/** Whether the snapshot stores an artist index of this version. */
export function hasNameIndex(r: SegmentReader): boolean {
  return r.has(`${P}.group.name.utf8`);
}

/** The stored artist index (`hasNameIndex`), decoded in steps. Throws on an index whose parts disagree. */
export function* readNameIndex(r: SegmentReader): Steps<ArtistIndex> {
  const name = yield* column(r, `${P}.group.name`);
  const key = yield* column(r, `${P}.group.key`);
  const words = yield* column(r, `${P}.group.words`);
  const popularity = r.f64(`${P}.group.popularity`);
  const trackCount = r.i32(`${P}.group.track_count`);
  const keys = yield* column(r, `${P}.group.keys`);
  const keysStart = r.i32(`${P}.group.keys.start`);
  const n = name.length;
  if ([key.length, words.length, popularity.length, trackCount.length, keysStart.length - 1].some((l) => l !== n) || keysStart[n] !== keys.length) {
    throw new Error(`the stored name index has columns of unequal length (${n} groups)`);
  }
  for (let g = 0; g < n; g++) if (keysStart[g]! > keysStart[g + 1]!) throw new Error(`the stored name index's group ${g} has keys that end before they start`);
  const groups = new StoredGroups(name, key, words, popularity, trackCount, keys, keysStart);
  const folds = yield* column(r, `${P}.fold`);
  const foldGroup = r.i32(`${P}.fold.group`);
  if (foldGroup.length !== folds.length || foldGroup.some((x) => x < 0 || x >= n)) throw new Error(`the stored name index maps ${folds.length} names to ${foldGroup.length} groups`);
  const byFold = new StoredLookup(folds, r.i32(`${P}.fold.slots`), (row) => foldGroup[row]!);
  const byKey = yield* readGroupLists(r, `${P}.key`, n);
  const byBareKey = yield* readGroupLists(r, `${P}.bare_key`, n);
  const firsts = yield* strings(r, `${P}.typo.first`);
  const typoStart = r.i32(`${P}.typo.start`);
  const typoKeys = yield* column(r, `${P}.typo.keys`);
  if (typoStart.length !== firsts.length + 1 || typoStart[firsts.length] !== typoKeys.length) throw new Error('the stored typo keys disagree with their offsets');
  for (let i = 0; i < firsts.length; i++) if (typoStart[i]! > typoStart[i + 1]!) throw new Error('the stored typo keys disagree with their offsets');
  const typo = new StoredTypoKeys(firsts, typoStart, typoKeys);
  return { groups, byFold, byKey, byBareKey, typoKeys: typo };
}

/**
 * The title index of name resolution (resolve.ts `TitleIndex`) as snapshot segments, written at publish and
 * mapped at load instead of building it from every title (≈ 0.3 s and tens of MiB of garbage on the default
 * dataset). Under `titles.v<NAME_INDEX_VERSION>`: per key tier (`exact`, `key`, `base`) `.slots` (i32),
 * `.hashes` (u32), `.start` and `.rows` (i32) of its key groups (key-groups.ts); per suggestion index
 * (`near_titles`, `near_artists`) `.lengths` (u32), `.grams` (f64, ascending), `.start` and `.ids` (i32)
 * (near-names.ts). The near-artists index is over the folded names in the stored artist index's order.
 */
const T = `titles.v${NAME_INDEX_VERSION}`;
const TIERS = ['exact', 'key', 'base'] as const;

/** Store a built title index. */
export function writeTitleIndex(w: SegmentWriter, parts: TitleIndexParts): void {
  for (const tier of TIERS) {
    const g = parts[tier];
    w.numbers(`${T}.${tier}.slots`, g.slots);
    w.numbers(`${T}.${tier}.hashes`, g.hashes);
    w.numbers(`${T}.${tier}.start`, g.start);
    w.numbers(`${T}.${tier}.rows`, g.rows);
  }
  for (const [name, n] of [['near_titles', parts.nearTitles], ['near_artists', parts.nearArtists]] as const) {
    w.numbers(`${T}.${name}.lengths`, Uint32Array.from(n.lengths));
    w.numbers(`${T}.${name}.grams`, n.grams);
    w.numbers(`${T}.${name}.start`, n.start);
    w.numbers(`${T}.${name}.ids`, n.ids.read(0, n.ids.length));
  }
}

/** Whether the snapshot stores a title index of this version. */
export function hasTitleIndex(r: SegmentReader): boolean {
  return r.has(`${T}.exact.slots`);
}

/**
 * The stored title index's arrays (views of the snapshot's bytes; the lengths copied to 16 bits), but for
 * the suggestion postings: left on disk by a server (segments.ts `unreadSegments`), read a list at a time.
 */
export function readTitleIndex(r: SegmentReader): TitleIndexParts {
  const tier = (t: (typeof TIERS)[number]) => ({ slots: r.i32(`${T}.${t}.slots`), hashes: r.u32(`${T}.${t}.hashes`), start: r.i32(`${T}.${t}.start`), rows: r.i32(`${T}.${t}.rows`) });
  const near = (name: string) => ({
    lengths: Uint16Array.from(r.u32(`${T}.${name}.lengths`)), grams: r.f64(`${T}.${name}.grams`), start: r.i32(`${T}.${name}.start`), ids: r.i32Ranges(`${T}.${name}.ids`),
  });
  return { exact: tier('exact'), key: tier('key'), base: tier('base'), nearTitles: near('near_titles'), nearArtists: near('near_artists') };
}
