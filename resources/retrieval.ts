import MiniSearch from 'minisearch';
import { fold } from '../src/catalog/text.js';
import { MOODS } from '../src/catalog/moods.js';

/**
 * Ranked lexical retrieval (BM25+, minisearch) over the knowledge documents: genre and artist
 * profiles, sections of the audio-feature glossary and the dataset card. Built once per catalog.
 */

export type DocKind = 'genre' | 'artist' | 'glossary' | 'dataset';
export const DOC_KINDS = ['genre', 'artist', 'glossary', 'dataset'] as const satisfies readonly DocKind[];

export interface KnowledgeDoc {
  kind: DocKind;
  uri: string;
  /** Display title; data in it is already «quoted». */
  title: string;
  /** The name the document is about (genre, artist, glossary heading): matches here weigh most. */
  name: string;
  /** Extra words to match (mood synonyms, sound words) that the body may not spell out. */
  keywords: string;
  body: string;
  mimeType: string;
  /** Size of what the document is about (an artist's song count): a mild ranking prior. */
  weight?: number;
  /** The document's text for snippets, regenerated on demand (artist documents are not kept in memory). */
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

type Meta = Omit<KnowledgeDoc, 'body' | 'keywords' | 'name'>;

/**
 * Built incrementally: warm() adds documents in short slices between other work, and a search
 * finishes whatever is left first, so answers never see a partial index.
 */
export class KnowledgeSearch {
  private readonly index: MiniSearch<{ id: number; name: string; keywords: string; body: string }>;
  private readonly docs: Meta[] = [];
  /** Per document: kind prior × size prior, computed when the document is added. */
  private boosts = new Float64Array(1024);
  private readonly pending: Iterator<KnowledgeDoc>;
  private done = false;
  private warming = false;
  readonly counts: Record<DocKind, number> = { genre: 0, artist: 0, glossary: 0, dataset: 0 };

  constructor(docs: Iterable<KnowledgeDoc>) {
    this.pending = docs[Symbol.iterator]();
    this.index = new MiniSearch({
      fields: ['name', 'keywords', 'body'],
      storeFields: [],
      tokenize,
      processTerm,
      searchOptions: {
        boost: { name: 4, keywords: 1.5, body: 1 },
        prefix: (term) => term.length >= 4,
        fuzzy: (term) => (term.length >= 6 ? 0.15 : false),
        weights: { fuzzy: 0.3, prefix: 0.5 },
        combineWith: 'OR',
        // Kind prior, and for artists a mild prior for bigger catalogues ("queen" → Queen before Queen Pen).
        boostDocument: (id: number) => this.boosts[id]!,
      },
    });
  }

  /** Add documents for up to `budgetMs`; true once every document is indexed. */
  step(budgetMs = Infinity): boolean {
    const until = Date.now() + budgetMs;
    let n = 0;
    while (!this.done) {
      const next = this.pending.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const d = next.value;
      const id = this.docs.length;
      this.docs.push({ kind: d.kind, uri: d.uri, title: d.title, mimeType: d.mimeType, text: d.text, ...(d.weight ? { weight: d.weight } : {}) });
      this.counts[d.kind]++;
      if (id >= this.boosts.length) {
        const grown = new Float64Array(this.boosts.length * 2);
        grown.set(this.boosts);
        this.boosts = grown;
      }
      this.boosts[id] = KIND_BOOST[d.kind] * (d.weight ? 1 + Math.log10(1 + d.weight) / 4 : 1);
      this.index.add({ id, name: d.name, keywords: d.keywords, body: d.body });
      if (++n % 64 === 0 && Date.now() >= until) break;
    }
    return this.done;
  }

  /** Index the rest in the background, a slice per turn of the event loop. */
  warm(): void {
    if (this.done || this.warming) return;
    this.warming = true;
    const tick = () => {
      if (!this.step(15)) setImmediate(tick);
      else this.warming = false;
    };
    setImmediate(tick);
  }

  get size(): number {
    this.step();
    return this.docs.length;
  }

  /**
   * Best documents for a query, one per URI (a glossary URI scores as its best section plus half of the
   * other matching sections), each with a snippet around the words that matched. `total` counts every
   * matching URI.
   */
  search(query: string, opts: { limit: number; kinds?: readonly DocKind[] }): { hits: Hit[]; total: number; terms: string[] } {
    this.step();
    const qTerms = queryTerms(query);
    if (!qTerms.length) return { hits: [], total: 0, terms: qTerms };
    const kinds = opts.kinds?.length ? new Set(opts.kinds) : null;
    const results = this.index.search(qTerms.join(' '), kinds ? { filter: (r) => kinds.has(this.docs[r.id as number]!.kind) } : {});
    const byUri = new Map<string, { id: number; score: number }>();
    for (const r of results) {
      const uri = this.docs[r.id as number]!.uri;
      const prev = byUri.get(uri);
      if (!prev) byUri.set(uri, { id: r.id as number, score: r.score });
      else prev.score += r.score / 2;
    }
    const best = [...byUri.values()].sort((a, b) => b.score - a.score || a.id - b.id);
    const hits = best.slice(0, opts.limit).map(({ id, score }) => {
      const d = this.docs[id]!;
      return { uri: d.uri, kind: d.kind, title: d.title, mimeType: d.mimeType, score: Math.round(score * 1000) / 1000, snippet: snippet(d.text(), qTerms) };
    });
    return { hits, total: best.length, terms: qTerms };
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
