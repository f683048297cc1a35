import { KeyGroups, KeyGroupsBuilder, type KeyGroupsParts } from './key-groups.js';
import { NearNames, nameList, type NameList, type NearNamesParts } from './near-names.js';
import { runNow, type Steps } from './slices.js';
import { fold } from './text.js';

/**
 * Name resolution for artists and tracks: what people type ("killers", "acdc", "mumford and sons",
 * "Bohemian Rhapsody – Queen", "beyonse") to the catalog's names. Tiers, first hit wins:
 *
 * 1. exact: the name after folding case, accents and runs of spaces (the artist_key of the marts);
 * 2. normalized: punctuation, spacing and symbols ignored ("AC/DC" = "acdc", "A$AP" = "asap",
 *    "P!nk" = "pink"), "&", "+", "and", "y", "x", "n", "et", "und" between words are one connector,
 *    and a leading "the" is optional;
 * 3. for artists, credit: "X feat. Y" (ft., featuring) answers X; "X & Y", "X, Y", "X x Y", "X with Y"
 *    answer X only when every part is itself a catalog artist, so a band whose name holds "&" or "," is
 *    never split into a wrong one; for tracks, version: remaster/mix/live/edit/year suffixes and
 *    "(feat. …)" credits of titles ignored;
 * 4. typo: an edit distance scaled to the name's length (none up to 4 letters, 1 up to 8, 2 up to 14,
 *    3 beyond) and to each word's (none in a word of up to 3 letters, 1 up to 8, 2 beyond), the same
 *    number of words, the same first letter and the same digits; only toward an artist with a track of
 *    popularity ≥ 40 (a name people look up: a correct spelling of an absent artist is far likelier than
 *    a slip toward an obscure one), and only when the closest names hold one such artist, or one more
 *    popular than each of the others by 20 points or more. A title typo is looked for only among the
 *    tracks of the artist named with it.
 *
 * Names that differ only in punctuation and spacing ("Mikel Izal", "Mikel (Izal)") are one identity. A tier
 * that finds more than one distinct name answers "ambiguous" with them as candidates. `chosen` is never
 * the resolver's answer: it marks a candidate the user picked when asked (tools/artist-choice.ts).
 */
export type MatchHow = 'exact' | 'normalized' | 'credit' | 'version' | 'typo' | 'id' | 'chosen';

/** How a query was answered: the words of the query, the catalog name used, and by which rule. */
export interface NameMatch {
  query: string;
  matched: string;
  how: MatchHow;
}

export type NameResolution<T> =
  | { ok: true; value: T; match: NameMatch }
  | { ok: false; ambiguous: boolean; candidates: string[] };

/** Letters without a Unicode decomposition, and symbols people type as letters. */
const LETTER_MAP: Record<string, string> = { 'ø': 'o', 'æ': 'ae', 'œ': 'oe', 'ß': 'ss', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'þ': 'th', 'ı': 'i', '$': 's' };
const LETTER_RE = new RegExp(`[${Object.keys(LETTER_MAP).join('')}]`, 'g');
/** Words that join two names: all read as one connector. */
const CONNECTORS = new Set(['and', '&', '+', 'y', 'x', 'n', 'et', 'und']);

const ASCII = /^[\x20-\x7e]*$/;

/**
 * Words of a folded name: letters and digits only, apostrophes and dots closed up ("don't" → "dont",
 * "b.o.b" → "bob"), a connector between two words written "&". `bang` is what "!" stands for ("P!nk").
 */
function words(folded: string, bang: '' | 'i' = ''): string[] {
  const s = folded
    .replace(LETTER_RE, (c) => LETTER_MAP[c]!)
    .replace(/!/g, bang)
    .replace(/[&+]/g, ' & ')
    .replace(/['’‘`´.]/g, '');
  const ws = s.split(ASCII.test(s) ? /[^a-z0-9&+]+/ : /[^\p{L}\p{N}&+]+/u).filter(Boolean);
  for (let i = 1; i < ws.length - 1; i++) if (CONNECTORS.has(ws[i]!)) ws[i] = '&';
  return ws;
}

/** Words without a leading "the" (when others follow). */
function withoutArticle(ws: string[]): string[] | null {
  return ws.length > 1 && ws[0] === 'the' ? ws.slice(1) : null;
}

/** Compact keys of a name: spacing-free; the second, when present, without a leading "the". */
function keysOf(ws: string[]): [string, string | null] {
  return [ws.join(''), withoutArticle(ws)?.join('') ?? null];
}

/** The normalized key of a name ("The Killers" → "thekillers", "AC/DC" → "acdc"). */
export function nameKey(name: string): string {
  return words(fold(name)).join('');
}

/** Largest edit distance a typo may have in a key of this length. */
export function typoBudget(length: number): number {
  return length <= 4 ? 0 : length <= 8 ? 1 : length <= 14 ? 2 : 3;
}

/** Optimal-string-alignment distance (adjacent transpositions count one), with an early exit past `max`. */
export function typoDistance(a: string, b: string, max: number): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** Markers of a featured credit in an artist or title string. */
const FEAT_RE = /\s*[([]?\s*\b(?:feat|ft|featuring)\b\.?\s+/iu;
/** Separators between co-credited artists. */
const CO_CREDIT_RE = /\s*(?:,|;|\/|\s&\s|\s\+\s|\sand\s|\sx\s|\sy\s|\swith\s|\svs\.?\s)\s*/iu;
/** Words that mark a title suffix or bracket as a version of the same song rather than another song. */
const VERSION_RE =
  /\b(?:remaster(?:ed)?|version|mix|remix|edit|live|mono|stereo|deluxe|demo|single|radio|acoustic|instrumental|extended|original|re-?recorded|bonus|anniversary|edition|session|sessions|unplugged|take|from|soundtrack|recorded|reprise|feat|ft|featuring|with|explicit|clean|mtv|bbc)\b|\b(?:19|20)\d\d\b/iu;

/** A title without its version suffixes and credit brackets: "Bohemian Rhapsody - 2011 Remaster" → "Bohemian Rhapsody". */
export function baseTitle(title: string): string {
  let t = title;
  for (let pass = 0; pass < 3; pass++) {
    const before = t;
    t = t.replace(/\s*[([]([^()[\]]*)[)\]]/gu, (m, inner: string) => (VERSION_RE.test(inner) ? '' : m));
    const dash = t.search(/\s+[-–—]\s+/u);
    if (dash > 0 && VERSION_RE.test(t.slice(dash))) t = t.slice(0, dash);
    if (t === before) break;
  }
  return t.trim() || title;
}

/** One artist name of the catalog and the identity it stands for. */
export interface ArtistName {
  name: string;
  key: string;
  /** Highest track popularity (0–100), null when unknown. */
  popularity: number | null;
  trackCount: number;
}

/** Typo corrections go only to artists with a track at least this popular. */
export const TYPO_MIN_POPULARITY = 40;

/** Among equally close typo candidates, the most popular wins when it leads every other by this much. */
const TYPO_POPULARITY_LEAD = 20;

/** Largest edit distance a typo may have inside one word of this length. */
function wordBudget(length: number): number {
  return length <= 3 ? 0 : length <= 8 ? 1 : 2;
}

/** Whether two word lists can be one name with slips: same count, same digits, each word within its budget. */
function wordsAlign(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((w, i) => {
    const v = b[i]!;
    if (w === v) return true;
    if (/\d/.test(w) || /\d/.test(v) || w[0] !== v[0]) return false;
    const max = wordBudget(Math.max(w.length, v.length));
    return max > 0 && typoDistance(w, v, max) <= max;
  });
}

/** What the track resolver reads of the catalog. */
export interface TrackSource {
  size: number;
  title(i: number): string | null;
  artistKeys(i: number): readonly string[];
  artistNames(i: number): readonly string[];
  /** Tracks credited to an artist key. */
  membersOf(artistKey: string): ArrayLike<number> & Iterable<number>;
  popularity(i: number): number;
  trackId(i: number): string;
  byId(id: string): number | undefined;
  /** The track that represents i's song in the marts (its canonical track, the song's most popular version). */
  representative(i: number): number;
}

/** One artist identity of the index: the profiles whose names fold alike. */
export interface Group {
  /** Display name (the first profile's spelling). */
  name: string;
  keys: readonly string[];
  /** Normalized key and words of the name, without a leading "the". */
  key: string;
  words: readonly string[];
  popularity: number;
  trackCount: number;
}

/** A read-only lookup by string: a Map when the index is built, or a table publish stored (name-index.ts). */
export interface Lookup<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  keys(): Iterable<string>;
  /** The keys in `keys()` order as a list read one at a time, where the lookup has one (a stored table). */
  keyNames?(): NameList;
}

/**
 * The artist index of a NameResolver: its groups and the lookups into them, with Map entries in the
 * order they were added. Publish stores it (name-index.ts) so a load reads it instead of building it;
 * NAME_INDEX_VERSION names the rules that build it.
 */
/** Groups by number, read with `at(g)`: an array when built, a table of the stored columns when read (name-index.ts). */
export interface Groups {
  readonly length: number;
  at(g: number): Group | undefined;
}

export interface ArtistIndex {
  groups: Groups;
  /** Folded name → group. */
  byFold: Lookup<number>;
  /** Normalized key → groups; the same without a leading "the" → groups. */
  byKey: Lookup<readonly number[]>;
  byBareKey: Lookup<readonly number[]>;
  /** Keys per first character, for the typo scan. */
  typoKeys: Lookup<readonly string[]>;
}

/** Changes whenever `fold`, `words`, `addArtist`, `baseTitle` or the title keys index a name otherwise: a stored index of another version is built again at load. */
export const NAME_INDEX_VERSION = 1;

/** The three keys a title is found by: folded, normalized, and normalized without its version suffixes. */
interface TitleKeys { exact: string; key: string; base: string }

function titleKeys(title: string | null): TitleKeys | null {
  if (!title) return null;
  const f = fold(title);
  const k = words(f).join('');
  const b = baseTitle(f);
  return { exact: f, key: k, base: b === f ? k : words(b).join('') };
}

/** Name resolution's title index: tracks by each title key (key-groups.ts), and the suggestion indexes (near-names.ts). */
export interface TitleIndex { exact: KeyGroups; key: KeyGroups; base: KeyGroups; near: { titles: NearNames; artists: NearNames } }

/** A title index as arrays (publish stores them: name-index.ts). */
export interface TitleIndexParts { exact: KeyGroupsParts; key: KeyGroupsParts; base: KeyGroupsParts; nearTitles: NearNamesParts; nearArtists: NearNamesParts }

/** Where a title index reads titles and artist names: track count, a track's title, the folded artist names (the artist index's). */
export interface TitleSource { size: number; title(i: number): string | null; artistFolds: readonly string[] | NameList }

const titleKeyOf = (src: TitleSource, which: keyof TitleKeys) => (i: number) => titleKeys(src.title(i))?.[which] ?? null;

/**
 * The title index over `src`, built yielding every few dozen titles (slices.ts). The keys are not kept:
 * a hash hit recomputes a candidate's from its title (key-groups.ts).
 */
export function* buildTitleIndex(src: TitleSource): Steps<TitleIndex> {
  const n = src.size;
  const exact = new KeyGroupsBuilder(n, titleKeyOf(src, 'exact'));
  const key = new KeyGroupsBuilder(n, titleKeyOf(src, 'key'));
  const base = new KeyGroupsBuilder(n, titleKeyOf(src, 'base'));
  for (let i = 0; i < n; i++) {
    if ((i & 0x3f) === 0x3f) yield;
    const k = titleKeys(src.title(i));
    if (!k) continue;
    exact.add(i, k.exact);
    key.add(i, k.key);
    base.add(i, k.base);
  }
  const byExact = yield* exact.done();
  const byKey = yield* key.done();
  const byBase = yield* base.done();
  // The suggestion indexes of unknown names (artists too: they are only needed once a name is missed).
  const near = {
    titles: yield* NearNames.build({ length: byExact.size, at: (g) => byExact.keyAt(g) }),
    artists: yield* NearNames.build(src.artistFolds),
  };
  return { exact: byExact, key: byKey, base: byBase, near };
}

/** A title index over `src` from stored arrays; throws when they do not fit `src` or each other. */
export function titleIndexOf(src: TitleSource, p: TitleIndexParts): TitleIndex {
  const tiers = [p.exact, p.key, p.base];
  for (const t of tiers) {
    if (t.rows.length > src.size) throw new Error(`a stored title index lists ${t.rows.length} tracks of a catalog of ${src.size}`);
  }
  const exact = new KeyGroups(titleKeyOf(src, 'exact'), p.exact);
  return {
    exact,
    key: new KeyGroups(titleKeyOf(src, 'key'), p.key),
    base: new KeyGroups(titleKeyOf(src, 'base'), p.base),
    near: { titles: new NearNames({ length: exact.size, at: (g) => exact.keyAt(g) }, p.nearTitles), artists: new NearNames(nameList(src.artistFolds), p.nearArtists) },
  };
}

/** A title index's arrays, to store. */
export function titleIndexParts(t: TitleIndex): TitleIndexParts {
  return { exact: t.exact.parts(), key: t.key.parts(), base: t.base.parts(), nearTitles: t.near.titles.parts(), nearArtists: t.near.artists.parts() };
}

/** Add `v` to the list at `k` (once: `unique` skips a value already there). */
const push = <K, V>(m: Map<K, V[]>, k: K, v: V, unique = true) => {
  const a = m.get(k);
  if (!a) m.set(k, [v]);
  else if (!unique || !a.includes(v)) a.push(v);
};

/**
 * Index of the catalog's artist names and track titles, built once per catalog. Artist identities are
 * groups of artist keys whose names fold alike (the marts' artist_key is that fold already).
 */
export class NameResolver {
  private readonly groups: Groups;
  /** The groups as they are built (`addArtist`); a stored index's are read from its columns instead. */
  private readonly built: Group[] = [];
  private readonly byFold: Lookup<number> = new Map<string, number>();
  private readonly byKey: Lookup<readonly number[]> = new Map<string, number[]>();
  private readonly byBareKey: Lookup<readonly number[]> = new Map<string, number[]>();
  /** Keys per first character, for the typo scan. */
  private readonly typoKeys: Lookup<readonly string[]> = new Map<string, string[]>();
  /** Whether the artist index was given whole (it then takes no more artists). */
  private readonly stored: boolean = false;
  private titles: TitleIndex | undefined;

  /**
   * `index`: an artist index built before (a snapshot stores it); `artists` are then not given.
   * `storedTitles`: the title index's arrays as a snapshot stores them (read when first needed; built when absent).
   */
  constructor(artists: readonly ArtistName[], private readonly tracks: TrackSource, index?: ArtistIndex, private readonly storedTitles?: () => TitleIndexParts) {
    this.groups = index?.groups ?? this.built;
    if (index) {
      ({ byFold: this.byFold, byKey: this.byKey, byBareKey: this.byBareKey, typoKeys: this.typoKeys } = index);
      this.stored = true;
    }
    for (const a of artists) this.addArtist(a);
  }

  /** The artist index, to store (name-index.ts). */
  artistIndex(): ArtistIndex {
    const { groups, byFold, byKey, byBareKey, typoKeys } = this;
    return { groups, byFold, byKey, byBareKey, typoKeys };
  }

  /**
   * Index one more artist name (the constructor does this for each; a loader may do it in slices).
   * `folded`: the name after `fold`, when it was computed already (a snapshot stores it).
   */
  addArtist(a: ArtistName, folded?: string): void {
    if (this.stored) throw new Error('a stored artist index takes no more artists');
    const byFold = this.byFold as Map<string, number>;
    const byKey = this.byKey as Map<string, number[]>;
    const byBareKey = this.byBareKey as Map<string, number[]>;
    const typoKeys = this.typoKeys as Map<string, string[]>;
    const f = folded ?? fold(a.name);
    let g = byFold.get(f);
    if (g === undefined) {
      g = this.built.length;
      const ws = words(f);
      this.built.push({ name: a.name, keys: [], key: ws.join(''), words: withoutArticle(ws) ?? ws, popularity: 0, trackCount: 0 });
      byFold.set(f, g);
      for (const bang of ['', 'i'] as const) {
        if (bang === 'i' && !f.includes('!')) break;
        const [key, bare] = keysOf(bang ? words(f, bang) : ws);
        if (!key) continue;
        push(byKey, key, g);
        if (bare) push(byBareKey, bare, g);
        for (const k of bare ? [key, bare] : [key]) {
          if (!typoKeys.has(k[0]!)) typoKeys.set(k[0]!, []);
          typoKeys.get(k[0]!)!.push(k);
        }
      }
    }
    const group = this.built[g]!;
    (group.keys as string[]).push(a.key);
    group.popularity = Math.max(group.popularity, a.popularity ?? 0);
    group.trackCount += a.trackCount;
  }

  /** Artist keys of the one identity the query names, or why not. */
  resolveArtist(query: string): NameResolution<string[]> {
    const r = this.artistGroups(query, true);
    if (!r.ok) return r;
    return { ok: true, value: this.keysOf(r.value), match: r.match };
  }

  /**
   * Artist keys of a group, then of every group whose name differs from it only in punctuation and
   * spacing ("Her" first for the query "Her", then "H.E.R."): the matched name leads the answer.
   */
  private keysOf(g: number): string[] {
    const same = (this.byKey.get(this.groups.at(g)!.key) ?? []).filter((x) => x !== g && this.groups.at(x)!.key === this.groups.at(g)!.key);
    return [g, ...same].flatMap((x) => this.groups.at(x)!.keys);
  }

  /** One identity among `found` (names equal but for punctuation and spacing count as one), or the candidates. */
  private answer(query: string, found: readonly number[], how: MatchHow): NameResolution<number> {
    const identities = new Map<string, number>();
    for (const g of found) {
      const k = this.groups.at(g)!.key;
      const best = identities.get(k);
      if (best === undefined || this.groups.at(g)!.trackCount > this.groups.at(best)!.trackCount) identities.set(k, g);
    }
    if (identities.size === 1) {
      const g = identities.values().next().value!;
      return { ok: true, value: g, match: { query, matched: this.groups.at(g)!.name, how } };
    }
    return { ok: false, ambiguous: true, candidates: [...identities.values()].map((g) => this.groups.at(g)!.name) };
  }

  /** Tiers exact → normalized → (credit) → typo, on group ids. */
  private artistGroups(query: string, allowCredit: boolean): NameResolution<number> {
    const q = query.trim();
    const f = fold(q);
    const exact = this.byFold.get(f);
    if (exact !== undefined) return { ok: true, value: exact, match: { query: q, matched: this.groups.at(exact)!.name, how: 'exact' } };
    const normal = this.normalized(f);
    if (normal.length) return this.answer(q, normal, 'normalized');
    if (allowCredit) {
      const credit = this.credited(q);
      if (credit) return credit;
    }
    return this.typo(q, f);
  }

  private normalized(f: string): readonly number[] {
    const [key, bare] = keysOf(words(f));
    if (!key) return [];
    const direct = this.byKey.get(key) ?? (bare !== null ? this.byKey.get(bare) : undefined);
    if (direct) return direct;
    return this.byBareKey.get(key) ?? [];
  }

  /** "X feat. Y" → X; "X & Y" → X when X and Y are both catalog artists. */
  private credited(q: string): NameResolution<number> | null {
    const feat = q.search(FEAT_RE);
    if (feat > 0) {
      const main = this.strict(q.slice(0, feat));
      if (main !== null) return { ok: true, value: main, match: { query: q, matched: this.groups.at(main)!.name, how: 'credit' } };
    }
    const parts = q.split(CO_CREDIT_RE).filter((p) => p.trim());
    if (parts.length < 2) return null;
    const ids = parts.map((p) => this.strict(p));
    if (ids.some((g) => g === null)) return null;
    return { ok: true, value: ids[0]!, match: { query: q, matched: this.groups.at(ids[0]!)!.name, how: 'credit' } };
  }

  /** A group by exact or normalized name only, when it is a single one. */
  private strict(name: string): number | null {
    const f = fold(name);
    const exact = this.byFold.get(f);
    if (exact !== undefined) return exact;
    const n = this.normalized(f);
    return n.length === 1 ? n[0]! : null;
  }

  private typo(q: string, f: string): NameResolution<number> {
    const ws = words(f);
    const [key, bare] = keysOf(ws);
    const candidates = this.closeKeys(key, this.typoKeys.get(key[0] ?? '') ?? []);
    const alt = bare ? this.closeKeys(bare, this.typoKeys.get(bare[0]!) ?? []) : null;
    const best = alt && alt.distance < candidates.distance ? alt : candidates;
    if (!best.keys.length) return { ok: false, ambiguous: false, candidates: [] };
    const qWords = withoutArticle(ws) ?? ws;
    const groups = [...new Set(best.keys.flatMap((k) => [...(this.byKey.get(k) ?? []), ...(this.byBareKey.get(k) ?? [])]))].filter(
      (g) => this.groups.at(g)!.popularity >= TYPO_MIN_POPULARITY && wordsAlign(qWords, this.groups.at(g)!.words),
    );
    if (!groups.length) return { ok: false, ambiguous: false, candidates: [] };
    const byPopularity = groups.slice().sort((a, b) => this.groups.at(b)!.popularity - this.groups.at(a)!.popularity);
    const [top, ...rest] = byPopularity;
    const clear = rest.every((g) => this.groups.at(g)!.key === this.groups.at(top!)!.key || this.groups.at(top!)!.popularity - this.groups.at(g)!.popularity >= TYPO_POPULARITY_LEAD);
    return this.answer(q, clear ? byPopularity.filter((g) => this.groups.at(g)!.key === this.groups.at(top!)!.key) : groups, 'typo');
  }

  /** Keys within the typo budget of `key`, at the smallest distance found. */
  private closeKeys(key: string, pool: readonly string[]): { distance: number; keys: string[] } {
    let max = typoBudget(key.length);
    let keys: string[] = [];
    if (max === 0) return { distance: Infinity, keys };
    let distance = Infinity;
    for (const k of pool) {
      if (Math.abs(k.length - key.length) > max) continue;
      const d = typoDistance(key, k, max);
      if (d > max) continue;
      if (d < distance) {
        distance = d;
        keys = [k];
        max = d; // nothing farther matters now
      } else if (!keys.includes(k)) keys.push(k);
    }
    return { distance, keys };
  }

  // ---------------------------------------------------------------------------------------- tracks

  private titleIndex() {
    if (!this.titles) runNow(this.titleSteps());
    return this.titles!;
  }

  /** Build the title index (or take the stored one, when it fits), yielding every few dozen titles (see slices.ts). */
  *titleSteps(): Steps<void> {
    if (this.titles) return;
    // A stored artist index's folds are read one at a time (333,003 strings at 1M were ~50 ms made at once).
    const src: TitleSource = { size: this.tracks.size, title: (i) => this.tracks.title(i), artistFolds: this.byFold.keyNames?.() ?? [...this.byFold.keys()] };
    let index: TitleIndex | undefined;
    if (this.storedTitles) {
      try {
        index = titleIndexOf(src, this.storedTitles());
      } catch {
        // Stored arrays that do not fit (their bytes matched their checksum: a writer's fault) are built again.
      }
    }
    index ??= yield* buildTitleIndex(src);
    this.titles ??= index;
  }

  /** Whether the title index is built. */
  get titlesReady(): boolean {
    return this.titles !== undefined;
  }

  /** Build the title index now rather than on the first track query. */
  warm(): void {
    this.titleIndex();
  }

  /** Track indexes by folded title (case, accents and spacing ignored), and every folded title. */
  foldedTitles(): { get(folded: string): readonly number[] | undefined; keys(): Iterable<string> } {
    return this.titleIndex().exact;
  }

  /** The folded artist names nearest to a folded query (the suggestions of an unknown artist; near-names.ts). */
  nearestArtists(folded: string, n = 5): string[] {
    return this.titleIndex().near.artists.closest(folded, n);
  }

  /** The folded titles nearest to a folded query (the suggestions of an unknown track; near-names.ts). */
  nearestTitles(folded: string, n = 5): string[] {
    return this.titleIndex().near.titles.closest(folded, n);
  }

  /**
   * A track by Spotify id ("spotify:track:…" too), or by text: "Title – Artist", "Title - Artist",
   * "Artist - Title", "Title by Artist" or just "Title". Several tracks of one title and artist (versions,
   * album and single) answer with the most popular.
   */
  resolveTrack(query: string): NameResolution<number> {
    const q = query.trim();
    const id = this.tracks.byId(q) ?? this.tracks.byId(q.replace(/^spotify:track:/, ''));
    if (id !== undefined) return { ok: true, value: id, match: { query: q, matched: this.trackLabel(id), how: 'id' } };
    const splits: { title: string; artist: string | null }[] = [{ title: q, artist: null }];
    for (const sep of [' – ', ' — ', ' - ', ' by ']) {
      for (let at = q.indexOf(sep); at > 0; at = q.indexOf(sep, at + 1)) {
        splits.push({ title: q.slice(0, at), artist: q.slice(at + sep.length) });
        if (sep !== ' by ') splits.push({ title: q.slice(at + sep.length), artist: q.slice(0, at) }); // "Artist - Title"
      }
    }
    const idx = this.titleIndex();
    // Artist parts resolved once each; a part that names no artist rules its split out.
    const artistOf = new Map<string, Set<string> | null>();
    const artistKeys = (a: string): Set<string> | null => {
      if (!artistOf.has(a)) {
        const r = this.artistGroups(a, true);
        artistOf.set(a, r.ok ? new Set(this.groups.at(r.value)!.keys) : null);
      }
      return artistOf.get(a)!;
    };
    const tiers: { how: MatchHow; map: KeyGroups; keyOf: (t: string) => string }[] = [
      { how: 'exact', map: idx.exact, keyOf: fold },
      { how: 'normalized', map: idx.key, keyOf: nameKey },
      { how: 'version', map: idx.base, keyOf: (t) => nameKey(baseTitle(t)) },
    ];
    for (const tier of tiers) {
      for (const s of splits) {
        const hits = tier.map.get(tier.keyOf(s.title));
        if (!hits) continue;
        let matching = hits;
        if (s.artist !== null) {
          const keys = artistKeys(s.artist);
          if (!keys) continue;
          matching = hits.filter((i) => this.tracks.artistKeys(i).some((k) => keys.has(k)));
        }
        if (!matching.length) continue;
        // A title stands for its song: answer with the song's representative (its most popular version),
        // and say so when that is another version than the title typed.
        const typed = this.mostPopular(matching);
        const best = this.tracks.representative(typed);
        const how = best !== typed || tier.how === 'version'
          ? 'version'
          : tier.how === 'exact' && s.artist !== null && !this.artistExact(s.artist) ? 'normalized' : tier.how;
        return { ok: true, value: best, match: { query: q, matched: this.trackLabel(best), how } };
      }
    }
    // A mistyped title of a named artist: among that artist's tracks only.
    for (const s of splits) {
      if (s.artist === null) continue;
      const keys = artistKeys(s.artist);
      if (!keys) continue;
      const want = nameKey(baseTitle(s.title));
      const max = typoBudget(want.length);
      if (max === 0) continue;
      // The artist's songs by title key, each within the budget and at the smallest distance found.
      const songs = new Map<string, number[]>();
      for (const k of keys) {
        for (const i of this.tracks.membersOf(k)) {
          const t = this.tracks.title(i);
          if (t) push(songs, nameKey(baseTitle(t)), i);
        }
      }
      let bestD = max + 1;
      let found: number[] = [];
      for (const [k, tracks] of songs) {
        if (k[0] !== want[0]) continue;
        const d = typoDistance(want, k, max);
        if (d > bestD || d > max) continue;
        if (d < bestD) {
          bestD = d;
          found = [];
        }
        found.push(this.tracks.representative(this.mostPopular(tracks)));
      }
      if (found.length === 1) return { ok: true, value: found[0]!, match: { query: q, matched: this.trackLabel(found[0]!), how: 'typo' } };
      if (found.length > 1) return { ok: false, ambiguous: true, candidates: found.map((i) => this.trackLabel(i)) };
    }
    return { ok: false, ambiguous: false, candidates: [] };
  }

  private artistExact(a: string): boolean {
    return this.byFold.has(fold(a));
  }

  private mostPopular(tracks: readonly number[]): number {
    const t = this.tracks;
    return tracks.reduce((b, i) => (t.popularity(i) > t.popularity(b) || (t.popularity(i) === t.popularity(b) && t.trackId(i) < t.trackId(b)) ? i : b));
  }

  /** "Title – Artist" of a track. */
  trackLabel(i: number): string {
    return `${this.tracks.title(i) ?? ''} – ${this.tracks.artistNames(i).join(', ')}`;
  }
}
