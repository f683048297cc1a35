import { IndexBuilder, type SearchIndex } from '../src/catalog/search-index.js';
import { runFromNow, runNow, runSliced, type Steps } from '../src/catalog/slices.js';
import { fold } from '../src/catalog/text.js';
import { MOODS } from '../src/catalog/moods.js';

/**
 * Ranked lexical retrieval (BM25+, src/catalog/search-index.ts) over the knowledge documents: genre and
 * artist profiles, sections of the audio-feature glossary and the dataset card. The index is prebuilt at
 * publish (search.bin beside the snapshot); a snapshot without one gets it built here in the background,
 * in slices of a few milliseconds, while searches wait for it without blocking other requests.
 */

export type DocKind = 'genre' | 'artist' | 'glossary' | 'dataset';
export const DOC_KINDS = ['genre', 'artist', 'glossary', 'dataset'] as const satisfies readonly DocKind[];
/** Kind codes as stored in the index. */
export const KIND_CODE: Record<DocKind, number> = { genre: 0, artist: 1, glossary: 2, dataset: 3 };

/** What the index holds of a document: its kind, its position among its kind's sources, and its fields. */
export interface IndexDoc {
  kind: DocKind;
  /** Position of the document's source (catalog.genres, glossary sections, catalog.artists). */
  ref: number;
  /** The name the document is about (genre, artist, glossary heading): matches here weigh most. */
  name: string;
  /** Extra words to match (mood synonyms, sound words) that the body may not spell out. */
  keywords: string;
  body: string;
  /** Size of what the document is about (an artist's song count): a mild ranking prior. */
  weight?: number;
}

/** What a hit shows, derived from (kind, ref) only for the documents returned. */
export interface DocMeta {
  uri: string;
  /** Display title; data in it is already «quoted». */
  title: string;
  mimeType: string;
  /** The document's text for snippets (artist documents are rendered on demand). */
  text: () => string;
}

export interface Hit {
  uri: string;
  kind: DocKind;
  title: string;
  mimeType: string;
  score: number;
  snippet: string;
}

const STOP = new Set(
  ('a an and are as at be by can could do does for from give how i in into is it me mean means meaning my of on or ' +
    'some something that the this to was what when where which who why with want need like find show tell about ' +
    'songs song music tracks track playlist please more any get list good best').split(' '),
);

/** Words, keeping inner - & ' . ("hip-hop", "r&b", "don't"). */
const TOKEN = /[\p{L}\p{N}]+(?:[-&'’.][\p{L}\p{N}]+)*/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Folded term plus, for joined words, the joined form and the parts: "hip-hop" → hiphop, hip, hop. */
export function processTerm(term: string): string[] | string | null {
  const f = /^[\x00-\x7f]*$/.test(term) ? term.toLowerCase() : fold(term);
  if (STOP.has(f)) return null;
  if (!/[-&'’.]/.test(f)) return f.length >= 2 || /\p{N}/u.test(f) ? f : null;
  const out = new Set<string>();
  if (f.includes('&')) out.add(f);
  out.add(f.replace(/[-'’.]/g, ''));
  for (const p of f.split(/[-&'’.]+/)) if (p.length >= 2 && !STOP.has(p)) out.add(p);
  return [...out];
}

const terms = (text: string): string[] => tokenize(text).flatMap((t) => processTerm(t) ?? []);

/**
 * The query's terms, as the index sees them, plus the glossary word for any synonym in the query
 * ("workout" → "running", "dance" → "party"): profiles are indexed with the glossary words only.
 */
export function queryTerms(query: string): string[] {
  const own = terms(query);
  const folded = ` ${own.join(' ')} `;
  const extra = moodTerms().filter((m) => m.synonyms.some((syn) => folded.includes(syn))).flatMap((m) => m.mood);
  return [...new Set([...own, ...extra])];
}

/** Each mood's terms and its synonyms as ` term term ` strings, computed once. */
let moodTermsCache: { mood: string[]; synonyms: string[] }[] | undefined;
function moodTerms(): { mood: string[]; synonyms: string[] }[] {
  return (moodTermsCache ??= MOODS.map((m) => ({ mood: terms(m.mood), synonyms: m.synonyms.map((syn) => ` ${terms(syn).join(' ')} `) })));
}

const KIND_BOOST: Record<DocKind, number> = { genre: 1.5, glossary: 1.3, dataset: 1, artist: 1 };

/** A document's prior: kind, and for artists a mild prior for bigger catalogues ("queen" → Queen before Queen Pen). */
const docBoost = (d: IndexDoc): number => KIND_BOOST[d.kind] * (d.weight ? 1 + Math.log10(1 + d.weight) / 4 : 1);

/** The index of a set of documents, built at once (publish) or in slices (`sliceMs`, background). */
export function buildIndex(docs: Iterable<IndexDoc>): SearchIndex;
export function buildIndex(docs: Iterable<IndexDoc>, sliceMs: number): Promise<SearchIndex>;
export function buildIndex(docs: Iterable<IndexDoc>, sliceMs?: number): SearchIndex | Promise<SearchIndex> {
  const work = indexing(docs);
  return sliceMs === undefined ? runNow(work) : runSliced(work, sliceMs);
}

function* indexing(docs: Iterable<IndexDoc>): Generator<void, SearchIndex> {
  const b = new IndexBuilder(tokenize, processTerm);
  for (const d of docs) {
    b.add([d.name, d.keywords, d.body], docBoost(d), KIND_CODE[d.kind], d.ref);
    yield;
  }
  return yield* b.finish();
}

/** Longest stretch of background indexing between two turns of the event loop. */
export const SLICE_MS = 8;

const CODE_KIND = Object.fromEntries(Object.entries(KIND_CODE).map(([k, v]) => [v, k])) as Record<number, DocKind>;
/** Kinds whose documents are sections of one resource (one hit per URI). */
const SECTIONED = KIND_CODE.glossary;

/**
 * Search over one catalog's documents: the prebuilt index, or one built in the background on first
 * use. `search` answers once `ready`; `whenReady` waits without blocking anything else.
 */
export class KnowledgeSearch {
  private index: SearchIndex | undefined;
  private building: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Documents added so far by a background build. */
  indexed = 0;
  /** Documents searched, by kind. */
  counts: Record<DocKind, number> = { genre: 0, artist: 0, glossary: 0, dataset: 0 };

  constructor(
    private readonly source: {
      documents: () => Iterable<IndexDoc>;
      describe: (kind: DocKind, ref: number) => DocMeta;
      prebuilt?: SearchIndex | undefined;
    },
  ) {
    if (source.prebuilt) this.use(source.prebuilt);
  }

  private use(index: SearchIndex): void {
    const counts = { genre: 0, artist: 0, glossary: 0, dataset: 0 };
    for (let d = 0; d < index.docs; d++) counts[CODE_KIND[index.kindOf(d)]!]++;
    this.counts = counts;
    this.index = index;
  }

  /** Whether the index was read from the snapshot (true) or built by this process. */
  readonly prebuilt = (): boolean => this.source.prebuilt !== undefined;

  get ready(): boolean {
    return this.index !== undefined;
  }

  /** Start the background build unless the index exists or is being built. */
  warm(): Promise<void> {
    if (this.index) return Promise.resolve();
    if (!this.building) this.indexed = 0;
    const counted = function* (this: KnowledgeSearch, docs: Iterable<IndexDoc>) {
      for (const d of docs) {
        this.indexed++;
        yield d;
      }
    };
    return (this.building ??= buildIndex(counted.call(this, this.source.documents()), SLICE_MS).then(
      (index) => this.use(index),
      (err: Error) => {
        this.failure = err;
        this.building = undefined;
      },
    ));
  }

  /** Wait up to `ms` for the index (starting the build if needed); true once it can answer. */
  async whenReady(ms: number): Promise<boolean> {
    if (this.index) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.warm(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    if (this.failure) throw this.failure;
    return this.index !== undefined;
  }

  /** Build the index now, in one go (benchmarks; the server never blocks on it). */
  buildNow(): void {
    if (!this.index) this.use(buildIndex(this.source.documents()));
  }

  get size(): number {
    return this.index?.docs ?? 0;
  }

  /**
   * Best documents for a query, one per URI (a glossary URI scores as its best section plus half of the
   * other matching sections), each with a snippet around the words that matched. `total` counts every
   * matching URI. Only the postings of the query's terms are read; the top `limit` are kept in a bounded list.
   */
  search(query: string, opts: SearchOptions): SearchAnswer {
    if (this.inSlices) throw new Error('a search in slices is under way; use searchInSlices');
    return runNow(this.searchSteps(query, opts));
  }

  /**
   * `search` in slices of the event loop (slices.ts `runFromNow`: the first at once), one query after another: a query over
   * a large catalog's common words scores tens of thousands of postings (68 ms in one piece for a genre
   * word's first query at 1M tracks), and the index's scratch arrays serve one query at a time. What the
   * server's tool calls.
   */
  searchInSlices(query: string, opts: SearchOptions): Promise<SearchAnswer> {
    this.inSlices++;
    const run = this.queue.then(() => runFromNow(this.searchSteps(query, opts))).finally(() => this.inSlices--);
    this.queue = run.then(() => undefined, () => undefined);
    return run;
  }

  /** The last query in slices, settled once it is answered (each waits for the one before). */
  private queue: Promise<void> = Promise.resolve();
  /** Queries in slices not yet answered. */
  private inSlices = 0;

  private *searchSteps(query: string, opts: SearchOptions): Steps<SearchAnswer> {
    const index = this.index;
    if (!index) throw new Error('the search index is not built yet');
    const qTerms = queryTerms(query);
    if (!qTerms.length) return { hits: [], total: 0, terms: qTerms };
    // The terms as the index reads a query string: the query terms joined, tokenised and processed again.
    const specs = terms(qTerms.join(' '));
    const kinds = opts.kinds?.length ? new Set(opts.kinds.map((k) => KIND_CODE[k])) : null;
    const scored = yield* index.scoreSteps(specs, kinds ? (k) => kinds.has(k) : undefined);
    const sections = scored.filter((s) => index.kindOf(s.doc) === SECTIONED).sort(byRank);
    const top = new TopList(opts.limit);
    let total = 0;
    for (const s of scored) {
      if (index.kindOf(s.doc) === SECTIONED) continue;
      total++;
      top.offer(s);
    }
    if (sections.length) {
      total++;
      let score = sections[0]!.score;
      for (let i = 1; i < sections.length; i++) score += sections[i]!.score / 2;
      top.offer({ doc: sections[0]!.doc, score });
    }
    const hits = top.sorted().map(({ doc, score }) => {
      const kind = CODE_KIND[index.kindOf(doc)]!;
      const d = this.source.describe(kind, index.refOf(doc));
      return { uri: d.uri, kind, title: d.title, mimeType: d.mimeType, score: Math.round(score * 1000) / 1000, snippet: snippet(d.text(), qTerms) };
    });
    return { hits, total, terms: qTerms };
  }
}

/** What a search asks: how many hits, and which kinds of documents (all when absent or empty). */
export interface SearchOptions { limit: number; kinds?: readonly DocKind[] }
/** A search's best hits, how many URIs matched in all, and the query's terms. */
export interface SearchAnswer { hits: Hit[]; total: number; terms: string[] }

/** Higher score first, then the earlier document. */
const byRank = (a: { doc: number; score: number }, b: { doc: number; score: number }): number => b.score - a.score || a.doc - b.doc;

/** The best `k` offered entries (by byRank), in a sorted list never longer than k. */
class TopList {
  private readonly items: { doc: number; score: number }[] = [];
  constructor(private readonly k: number) {}
  offer(s: { doc: number; score: number }): void {
    const items = this.items;
    if (items.length === this.k && byRank(s, items[items.length - 1]!) >= 0) return;
    let at = items.length;
    while (at > 0 && byRank(s, items[at - 1]!) < 0) at--;
    items.splice(at, 0, s);
    if (items.length > this.k) items.pop();
  }
  sorted(): { doc: number; score: number }[] {
    return this.items;
  }
}

const SNIPPET_MAX = 240;
/** Text that fold() only lowercases (ASCII and punctuation without a decomposition). */
const FOLDS_TO_LOWER = /^[\x00-\x7f«»–—·’]*$/;
const JOINERS = /[-'’.]/g;

/**
 * The line (paragraph, table row, list item; long ones split into sentences) that contains most query
 * terms, earliest on ties, clipped around the first match. Headings, table headers and the "Use"
 * section are never snippets.
 */
export function snippet(text: string, qTerms: readonly string[]): string {
  const lines = text.split('\n');
  const units: string[] = [];
  let skip = false;
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (/^#+ /.test(line)) {
      skip = /^#+ Use\b/.test(line);
      continue;
    }
    if (skip || !line || /^\|[-| :]+\|$/.test(line)) continue;
    if (line.startsWith('|') && /^\|[-| :]+\|$/.test((lines[n + 1] ?? '').trim())) continue;
    if (line.length > SNIPPET_MAX && !line.startsWith('|')) units.push(...line.split(/(?<=[.;])\s+(?=[A-Z(«])/));
    else units.push(line);
  }
  let bestUnit = units[0] ?? '';
  let bestN = 0;
  let bestAt = 0;
  for (const u of units) {
    // Every term a unit yields is a substring of the folded unit (joined forms: with - ' ’ . removed),
    // so a unit that contains no query term that way cannot match: skip tokenising it.
    const lower = FOLDS_TO_LOWER.test(u) ? u.toLowerCase() : fold(u);
    const joined = lower.replace(JOINERS, '');
    if (!qTerms.some((t) => lower.includes(t) || joined.includes(t))) continue;
    const folded = fold(u);
    const words = new Set(terms(u));
    let n = 0;
    let at = -1;
    for (const t of qTerms) {
      if (!(words.has(t) || (t.length >= 4 && [...words].some((w) => w.startsWith(t))))) continue;
      n++;
      const i = folded.indexOf(t);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (n > bestN) {
      bestUnit = u;
      bestN = n;
      bestAt = Math.max(0, at);
    }
  }
  return clip(bestUnit, bestAt);
}

/** At most SNIPPET_MAX characters around `at`, never leaving a «quote» open or cut. */
export function clip(s: string, at: number): string {
  if (s.length <= SNIPPET_MAX) return s;
  let start = Math.max(0, Math.min(at - 60, s.length - SNIPPET_MAX));
  let end = Math.min(s.length, start + SNIPPET_MAX);
  // Widen to whole «…» spans at both ends so a data name is never cut into pieces.
  const open = s.lastIndexOf('«', start);
  if (open >= 0 && s.indexOf('»', open) >= start) start = open;
  const lastOpen = s.lastIndexOf('«', end - 1);
  if (lastOpen >= 0 && lastOpen >= start) {
    const close = s.indexOf('»', lastOpen);
    if (close >= end) end = close + 1;
  }
  while (start > 0 && /\S/.test(s[start - 1]!) && s[start] !== '«') start--;
  return `${start > 0 ? '… ' : ''}${s.slice(start, end).trim()}${end < s.length ? ' …' : ''}`;
}
