import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Catalog } from './catalog.js';
import { Grow } from './grow.js';
import { keepOpenWhile, rangeReaderInto, readSized } from './snapshot.js';
import { runNow, type Steps } from './slices.js';

/**
 * A BM25+ inverted index in typed arrays: a sorted term dictionary, postings per (term, field) and
 * per-document field lengths, boosts and kinds. Built once at publish and written beside the snapshot
 * (`search.bin`), loaded by the server as bytes into views, and queried from the postings of the query's
 * terms only (no scan of every document).
 *
 * Scoring is MiniSearch 7's (the library used before, kept as the test oracle): per field
 *   idf · (δ + tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)))   with k1 1.2, b 0.7, δ 0.5,
 * idf = ln(1 + (N − df + 0.5)/(df + 0.5)) with df counted per field, times the field boost, the document
 * boost and the term weight (1 exact; prefix matches 0.5·len/(len + 0.3·extra); fuzzy matches
 * 0.3·len/(len + distance)); a document's sum is multiplied by the number of distinct query terms it
 * matched. Field length is the number of distinct raw tokens.
 */

export const FIELD_BOOSTS = [4, 1.5, 1] as const; // name, keywords, body
const FIELDS = FIELD_BOOSTS.length;
// BM25+ constants, named as in the literature: k1 saturates term frequency, b scales by field length,
// δ (BM25+'s lower bound) keeps a long field's match from scoring near zero.
const BM25_K1 = 1.2;
const BM25_B = 0.7;
const BM25_DELTA = 0.5;
const PREFIX_WEIGHT = 0.5;
const FUZZY_WEIGHT = 0.3;
const PREFIX_MIN = 4;
const FUZZY_MIN = 6;
const FUZZINESS = 0.15;
const MAX_FUZZY = 6;
/** Postings a query scores between two steps of `scoreSteps` (≈ 0.1–0.3 ms of work here). */
const SCORE_STEP = 4096;

export const SEARCH_FILE = 'search.bin';
/** The longest header line a search file may start with. */
const HEADER_MAX = 65_536;
/** The sections a server leaves in the file and reads per query. */
const POSTING_SECTIONS = ['postDoc', 'postTf'] as const;
const MAGIC = 'music-mcp search index';
export const SEARCH_FORMAT = 1;

/** The arrays an index is made of (all views; nothing else is held per document). */
export interface IndexArrays {
  /** Every term, sorted by UTF-16 code unit, concatenated; term i is termText.slice(termOff[i], termOff[i+1]). */
  termText: string;
  termOff: Uint32Array;
  /** Postings of term t in field f: postDoc/postTf[postOff[t·F+f] … postOff[t·F+f+1]), documents ascending. */
  postOff: Uint32Array;
  postDoc: Uint32Array;
  postTf: Uint32Array;
  /** Distinct raw tokens of document d's field f at d·F+f. */
  fieldLen: Uint32Array;
  avgLen: Float64Array;
  /** Document prior (kind × size), kind code and the position of its source among documents of that kind. */
  boost: Float64Array;
  kind: Uint8Array;
  ref: Uint32Array;
}

/** A document's accumulated score (before grouping by URI). */
export interface Scored { doc: number; score: number }

/** Postings [from, to) of the posting arrays: their documents and term frequencies (valid until the next read). */
export type PostingsReader = (from: number, to: number) => { doc: Uint32Array; tf: Uint32Array };

export class SearchIndex {
  readonly docs: number;
  readonly terms: number;
  private readonly data: IndexArrays;
  private readonly postings: PostingsReader;
  private scratch: { score: Float64Array; quality: Uint16Array; last: Int32Array; touched: Uint32Array } | undefined;

  /** `postings`: where the postings are read from when `arrays` does not hold them (a search file's, read per query). */
  constructor(arrays: IndexArrays, postings?: PostingsReader) {
    this.data = arrays;
    this.docs = arrays.boost.length;
    this.terms = arrays.termOff.length - 1;
    this.postings = postings ?? ((from, to) => ({ doc: arrays.postDoc.subarray(from, to), tf: arrays.postTf.subarray(from, to) }));
  }

  get arrays(): IndexArrays {
    return this.data;
  }

  kindOf(doc: number): number {
    return this.data.kind[doc]!;
  }

  refOf(doc: number): number {
    return this.data.ref[doc]!;
  }

  term(i: number): string {
    return this.data.termText.slice(this.data.termOff[i], this.data.termOff[i + 1]);
  }

  /** Index of `t` in the dictionary, or the position it would take (negative: −(insert)−1). */
  find(t: string): number {
    let lo = 0;
    let hi = this.terms;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const midTerm = this.term(mid);
      if (midTerm < t) lo = mid + 1;
      else if (midTerm > t) hi = mid;
      else return mid;
    }
    return -lo - 1;
  }

  /** First index ≥ lo whose term does not start with `p` (terms from lo on are ≥ p). */
  private prefixEnd(p: string, lo: number): number {
    let hi = this.terms;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.term(mid).startsWith(p)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether term i starts with the first `len` characters of term `of`. */
  private sharesPrefix(i: number, of: number, len: number): boolean {
    const { termText, termOff } = this.data;
    const start = termOff[i]!;
    if (termOff[i + 1]! - start < len) return false;
    const ofStart = termOff[of]!;
    for (let k = len - 1; k >= 0; k--) if (termText.charCodeAt(start + k) !== termText.charCodeAt(ofStart + k)) return false;
    return true;
  }

  /** First term after `t` that does not start with t's first `len` characters (galloping, then bisecting). */
  private sharedPrefixEnd(t: number, len: number): number {
    let known = t; // the last term known to share the prefix
    let probe = t + 1;
    let step = 1;
    while (probe < this.terms && this.sharesPrefix(probe, t, len)) {
      known = probe;
      probe = t + 1 + step;
      step *= 2;
    }
    let lo = known + 1;
    let hi = Math.min(probe, this.terms);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sharesPrefix(mid, t, len)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Dictionary terms within Levenshtein distance `max` of `q` (distance > 0), visited in order as a trie
   * over the sorted dictionary: rows of the edit matrix are shared with the previous term's common
   * prefix, and a prefix whose best cell exceeds `max` skips every term under it.
   */
  fuzzy(query: string, max: number, visit: (term: number, distance: number) => void): void {
    const width = query.length + 1; // one column per query prefix, the empty one included
    const rows = width + max;
    const matrix = new Uint8Array((rows + 1) * width).fill(max + 1); // edit distances; row i: the term's first i characters
    for (let j = 0; j < width; j++) matrix[j] = j;
    for (let i = 1; i <= rows; i++) matrix[i * width] = i;
    const { termText, termOff } = this.data;
    let prev = -1;
    let valid = 0; // rows 1..valid hold the previous term's first `valid` characters
    let t = 0;
    while (t < this.terms) {
      const termStart = termOff[t]!;
      const len = termOff[t + 1]! - termStart;
      let start = 0;
      if (prev >= 0) {
        const prevStart = termOff[prev]!;
        const lim = Math.min(valid, len);
        while (start < lim && termText.charCodeAt(termStart + start) === termText.charCodeAt(prevStart + start)) start++;
      }
      let pruneAt = -1;
      for (let pos = start; pos < len; pos++) {
        const i = pos + 1;
        if (i >= rows) {
          pruneAt = pos;
          break;
        }
        const ch = termText.charCodeAt(termStart + pos);
        const row = width * i;
        const up = row - width;
        let best = matrix[row]!;
        const jmin = Math.max(0, i - max - 1);
        const jmax = Math.min(width - 1, i + max);
        for (let j = jmin; j < jmax; j++) {
          const replace = matrix[up + j]! + (ch === query.charCodeAt(j) ? 0 : 1);
          const del = matrix[up + j + 1]! + 1;
          const ins = matrix[row + j]! + 1;
          const distance = Math.min(replace, del, ins);
          matrix[row + j + 1] = distance;
          if (distance < best) best = distance;
        }
        if (best > max) {
          pruneAt = pos;
          break;
        }
      }
      prev = t;
      if (pruneAt >= 0) {
        valid = pruneAt;
        t = this.sharedPrefixEnd(t, pruneAt + 1);
        continue;
      }
      valid = len;
      const distance = matrix[len * width + width - 1]!;
      if (distance > 0 && distance <= max) visit(t, distance);
      t++;
    }
  }

  /**
   * Score every document matching any of `terms` (query terms after tokenising; repeats count again,
   * as in MiniSearch's OR), optionally only documents whose kind `accept` allows. Returns the matching
   * documents and their scores; only the postings of matching dictionary terms are read.
   */
  score(terms: readonly string[], accept?: (kind: number) => boolean): Scored[] {
    return runNow(this.scoreSteps(terms, accept));
  }

  /**
   * `score` in steps (slices.ts): a step every SCORE_STEP postings, so a query over a large catalog's
   * common words (tens of thousands of postings at 1M tracks) runs in slices of the event loop. The
   * scratch arrays and the postings buffers are the index's own: one query's steps at a time (the caller
   * runs queries one after another: retrieval.ts `KnowledgeSearch.searchInSlices`).
   */
  *scoreSteps(terms: readonly string[], accept?: (kind: number) => boolean): Steps<Scored[]> {
    const self = this;
    const { postOff, fieldLen, avgLen, boost, kind } = this.data;
    const docCount = this.docs;
    const scratch = (this.scratch ??= {
      score: new Float64Array(docCount), quality: new Uint16Array(docCount), last: new Int32Array(docCount).fill(-1), touched: new Uint32Array(docCount),
    });
    const counts = new Map<string, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    let touched = 0;
    let queryTerm = 0; // position of the query term being scored, so a document counts each term once
    let sinceStep = 0;
    const add = function* (term: number, weight: number): Steps<void> {
      // A term's postings of every field lie together: read them at once.
      const first = postOff[term * FIELDS]!;
      const last = postOff[term * FIELDS + FIELDS]!;
      if (first === last) return;
      const { doc: postDoc, tf: postTf } = self.postings(first, last);
      for (let f = 0; f < FIELDS; f++) {
        const from = postOff[term * FIELDS + f]! - first;
        const to = postOff[term * FIELDS + f + 1]! - first;
        if (from === to) continue;
        const df = to - from;
        const idf = Math.log(1 + (docCount - df + 0.5) / (df + 0.5));
        const fieldWeight = weight * FIELD_BOOSTS[f]!;
        const avg = avgLen[f]!;
        for (let p = from; p < to; p++) {
          const doc = postDoc[p]!;
          if (accept && !accept(kind[doc]!)) continue;
          const tf = postTf[p]!;
          const raw = idf * (BM25_DELTA + (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * fieldLen[doc * FIELDS + f]!) / avg)));
          if (scratch.last[doc] !== queryTerm) {
            if (scratch.last[doc] === -1) scratch.touched[touched++] = doc;
            scratch.last[doc] = queryTerm;
            scratch.quality[doc]!++;
          }
          scratch.score[doc]! += fieldWeight * boost[doc]! * raw;
        }
        sinceStep += to - from;
        if (sinceStep >= SCORE_STEP) {
          sinceStep = 0;
          yield;
        }
      }
    };
    // The documents' scratch entries are zeroed again however the query ends (a postings read that fails
    // its check stops it part way), so the next query starts clean.
    try {
      for (const [t, times] of counts) {
        const exact = this.find(t);
        if (exact >= 0) yield* add(exact, times);
        const prefix = t.length >= PREFIX_MIN;
        if (prefix) {
          const lo = exact >= 0 ? exact : -exact - 1;
          const hi = this.prefixEnd(t, lo);
          for (let i = lo; i < hi; i++) {
            if (i === exact) continue;
            const len = this.data.termOff[i + 1]! - this.data.termOff[i]!;
            yield* add(i, (times * PREFIX_WEIGHT * len) / (len + 0.3 * (len - t.length)));
          }
        }
        if (t.length >= FUZZY_MIN) {
          const max = Math.min(MAX_FUZZY, Math.round(t.length * FUZZINESS));
          if (max) {
            const near: [number, number][] = [];
            this.fuzzy(t, max, (i, distance) => {
              if (!(prefix && this.term(i).startsWith(t))) near.push([i, distance]);
            });
            for (const [i, distance] of near) {
              const len = this.data.termOff[i + 1]! - this.data.termOff[i]!;
              yield* add(i, (times * FUZZY_WEIGHT * len) / (len + distance));
            }
          }
        }
        queryTerm++;
      }
      const out: Scored[] = new Array(touched);
      for (let i = 0; i < touched; i++) {
        const doc = scratch.touched[i]!;
        out[i] = { doc, score: scratch.score[doc]! * scratch.quality[doc]! };
      }
      return out;
    } finally {
      for (let i = 0; i < touched; i++) {
        const doc = scratch.touched[i]!;
        scratch.score[doc] = 0;
        scratch.quality[doc] = 0;
        scratch.last[doc] = -1;
      }
    }
  }

  /** The index as bytes: one JSON header line, then the arrays, each 8-byte aligned. */
  toBytes(header: Record<string, unknown>): Buffer {
    const arrays = this.data;
    if (arrays.postDoc.length !== arrays.postOff[arrays.postOff.length - 1]) throw new Error('an index read from a search file with its postings left in the file is not written again');
    const text = Buffer.from(arrays.termText, 'utf16le');
    const parts: [string, ArrayBufferView][] = [
      ['termText', text], ['termOff', arrays.termOff], ['postOff', arrays.postOff], ['postDoc', arrays.postDoc], ['postTf', arrays.postTf],
      ['fieldLen', arrays.fieldLen], ['avgLen', arrays.avgLen], ['boost', arrays.boost], ['kind', arrays.kind], ['ref', arrays.ref],
    ];
    const sections: Record<string, [number, number]> = {};
    let at = 0;
    for (const [name, section] of parts) {
      sections[name] = [at, section.byteLength];
      at += Math.ceil(section.byteLength / 8) * 8;
    }
    const head = Buffer.from(
      `${JSON.stringify({ magic: MAGIC, format: SEARCH_FORMAT, endian: 'little', docs: this.docs, terms: this.terms, postings: arrays.postDoc.length, sections, ...header })}\n`,
    );
    const base = Math.ceil(head.length / 8) * 8;
    const out = Buffer.alloc(base + at, 0x20);
    head.copy(out, 0);
    out.fill(0, head.length, base);
    for (const [name, section] of parts) Buffer.from(section.buffer, section.byteOffset, section.byteLength).copy(out, base + sections[name]![0]);
    return out;
  }

  /** A search file's header (its first line) and where its arrays start; throws a message naming what is wrong. */
  static header(bytes: Uint8Array): { header: SearchFileHeader; base: number } {
    const headerEnd = bytes.subarray(0, HEADER_MAX + 1).indexOf(0x0a);
    if (headerEnd < 0) throw new Error('no header line');
    const header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, headerEnd).toString('utf8')) as SearchFileHeader;
    if (header.magic !== MAGIC) throw new Error('not a search index file');
    if (header.format !== SEARCH_FORMAT) throw new Error(`search index format ${String(header.format)}, this server reads ${SEARCH_FORMAT}`);
    if (header.endian !== 'little' || new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('byte order differs from this machine');
    return { header, base: Math.ceil((headerEnd + 1) / 8) * 8 };
  }

  /** The byte ranges ([start, end) in the file) of the postings, which a server reads per query (`fromBytes` with `readRange`). */
  static postingRanges(header: SearchFileHeader, base: number): [number, number][] {
    return POSTING_SECTIONS.map((name) => {
      const section = header.sections?.[name];
      if (!section) throw new Error(`section ${name} is missing or truncated`);
      return [base + section[0], base + section[0] + section[1]];
    });
  }

  /**
   * Read bytes written by toBytes; throws a message naming what is wrong. With `readInto`, `bytes` need
   * not hold the postings (`postingRanges`): a query reads its terms' postings from the file, into two
   * buffers the index keeps and reuses (a fresh pair per term made a first query's garbage collections).
   */
  static fromBytes(bytes: Uint8Array, readInto?: (offset: number, target: Uint8Array) => void): { index: SearchIndex; header: SearchFileHeader } {
    const { header, base } = SearchIndex.header(bytes);
    // Typed-array views need their element alignment: realign once when the buffer is not 8-aligned.
    const buf = (bytes.byteOffset + base) % 8 === 0 ? bytes : new Uint8Array(bytes);
    const view = <T>(name: string, ArrayType: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number }): T => {
      const section = header.sections?.[name];
      if (!section || section[0] + section[1] > buf.byteLength - base || section[1] % ArrayType.BYTES_PER_ELEMENT) throw new Error(`section ${name} is missing or truncated`);
      return new ArrayType(buf.buffer, buf.byteOffset + base + section[0], section[1] / ArrayType.BYTES_PER_ELEMENT);
    };
    const [textAt, textLen] = header.sections?.termText ?? [0, -1];
    if (textLen < 0 || base + textAt + textLen > buf.byteLength) throw new Error('section termText is missing or truncated');
    // Postings left in the file: only their sizes are checked here, their documents as a query reads them.
    const onDisk = readInto !== undefined;
    const none = new Uint32Array(0);
    const arrays: IndexArrays = {
      termText: Buffer.from(buf.buffer, buf.byteOffset + base + textAt, textLen).toString('utf16le'),
      termOff: view('termOff', Uint32Array), postOff: view('postOff', Uint32Array), postDoc: onDisk ? none : view('postDoc', Uint32Array),
      postTf: onDisk ? none : view('postTf', Uint32Array), fieldLen: view('fieldLen', Uint32Array), avgLen: view('avgLen', Float64Array),
      boost: view('boost', Float64Array), kind: view('kind', Uint8Array), ref: view('ref', Uint32Array),
    };
    const termCount = arrays.termOff.length - 1;
    const docCount = arrays.boost.length;
    const postingCount = header.postings;
    const postingBytes = POSTING_SECTIONS.map((name) => header.sections?.[name]?.[1]);
    if (
      termCount !== header.terms || docCount !== header.docs || arrays.postOff.length !== termCount * FIELDS + 1 ||
      postingBytes.some((b) => b !== postingCount * 4) || (!onDisk && (arrays.postDoc.length !== postingCount || arrays.postTf.length !== postingCount)) ||
      arrays.fieldLen.length !== docCount * FIELDS || arrays.kind.length !== docCount || arrays.ref.length !== docCount ||
      arrays.avgLen.length !== FIELDS || arrays.termOff[termCount] !== arrays.termText.length || arrays.postOff[termCount * FIELDS] !== postingCount
    ) {
      throw new Error('section sizes disagree with the header');
    }
    const outside = () => new Error('a posting names a document outside the index');
    if (!onDisk) {
      for (let p = 0; p < postingCount; p += 1) if (arrays.postDoc[p]! >= docCount) throw outside();
      return { index: new SearchIndex(arrays), header };
    }
    const [docAt, tfAt] = SearchIndex.postingRanges(header, base).map(([start]) => start);
    let docs = new Uint32Array(0);
    let tfs = new Uint32Array(0);
    const postings: PostingsReader = (from, to) => {
      const n = to - from;
      if (docs.length < n) {
        docs = new Uint32Array(Math.max(n, docs.length * 2));
        tfs = new Uint32Array(docs.length);
      }
      const doc = docs.subarray(0, n);
      const tf = tfs.subarray(0, n);
      readInto(docAt! + from * 4, new Uint8Array(doc.buffer, 0, n * 4));
      readInto(tfAt! + from * 4, new Uint8Array(tf.buffer, 0, n * 4));
      for (let p = 0; p < n; p++) if (doc[p]! >= docCount) throw outside();
      return { doc, tf };
    };
    return { index: new SearchIndex(arrays, postings), header };
  }
}

export interface SearchFileHeader {
  magic: string;
  format: number;
  endian: string;
  docs: number;
  terms: number;
  postings: number;
  sections: Record<string, [number, number]>;
  /** The catalog version the documents were generated from. */
  catalog: string;
  /** Hash of a sample of the documents' text: a change of wording since publish shows as a mismatch. */
  fingerprint: string;
  counts: Record<string, number>;
}

/** Work units between two checks of the time budget. */
const CHUNK = 8192;

/**
 * Builds a SearchIndex document by document. `finish()` is a generator that yields every few thousand
 * units of work, so a caller can spread the build over turns of the event loop (no stall) or run it
 * through at once (publish).
 */
export class IndexBuilder {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly posts = Array.from({ length: FIELDS }, () => ({ term: new Grow(new Uint32Array(1024)), doc: new Grow(new Uint32Array(1024)), tf: new Grow(new Uint32Array(1024)) }));
  private readonly lens = new Grow(new Uint32Array(1024));
  private readonly avg = new Float64Array(FIELDS);
  private readonly boosts = new Grow(new Float64Array(1024));
  private readonly kinds = new Grow(new Uint8Array(1024));
  private readonly refs = new Grow(new Uint32Array(1024));

  constructor(
    private readonly tokenize: (text: string) => string[],
    private readonly processTerm: (term: string) => string[] | string | null,
  ) {}

  get size(): number {
    return this.boosts.length;
  }

  add(fields: readonly string[], boost: number, kind: number, ref: number): void {
    const doc = this.boosts.length;
    this.boosts.push(boost);
    this.kinds.push(kind);
    this.refs.push(ref);
    const tf = new Map<number, number>();
    for (let f = 0; f < FIELDS; f++) {
      const tokens = this.tokenize(fields[f] ?? '');
      const len = new Set(tokens).size;
      this.lens.push(len);
      this.avg[f] = (this.avg[f]! * doc + len) / (doc + 1);
      tf.clear();
      for (const token of tokens) {
        const p = this.processTerm(token);
        if (p === null) continue;
        for (const t of typeof p === 'string' ? [p] : p) {
          let id = this.ids.get(t);
          if (id === undefined) {
            id = this.names.length;
            this.ids.set(t, id);
            this.names.push(t);
          }
          tf.set(id, (tf.get(id) ?? 0) + 1);
        }
      }
      const post = this.posts[f]!;
      for (const [id, n] of tf) {
        post.term.push(id);
        post.doc.push(doc);
        post.tf.push(n);
      }
    }
  }

  /** Sort the dictionary and lay the postings out by term (yields between chunks of work). */
  *finish(): Generator<void, SearchIndex> {
    const termCount = this.names.length;
    const sorted = yield* sortStrings(this.names.slice());
    const rank = new Uint32Array(termCount);
    for (let i = 0; i < termCount; i++) {
      rank[this.ids.get(sorted[i]!)!] = i;
      if (i % CHUNK === 0) yield;
    }
    const termOff = new Uint32Array(termCount + 1);
    for (let i = 0; i < termCount; i++) termOff[i + 1] = termOff[i]! + sorted[i]!.length;
    const termText = sorted.join('');
    yield;
    const postOff = new Uint32Array(termCount * FIELDS + 1);
    let postingCount = 0;
    for (let f = 0; f < FIELDS; f++) {
      const { values: term, length: postings } = this.posts[f]!.term;
      for (let p = 0; p < postings; p++) postOff[rank[term[p]!]! * FIELDS + f + 1]!++;
      postingCount += postings;
      yield;
    }
    for (let i = 0; i < termCount * FIELDS; i++) postOff[i + 1]! += postOff[i]!;
    const fill = postOff.slice(0, termCount * FIELDS);
    const postDoc = new Uint32Array(postingCount);
    const postTf = new Uint32Array(postingCount);
    for (let f = 0; f < FIELDS; f++) {
      const post = this.posts[f]!;
      for (let p = 0; p < post.term.length; p++) {
        const at = fill[rank[post.term.values[p]!]! * FIELDS + f]!++;
        postDoc[at] = post.doc.values[p]!;
        postTf[at] = post.tf.values[p]!;
        if (p % CHUNK === 0) yield;
      }
    }
    return new SearchIndex({
      termText, termOff, postOff, postDoc, postTf, fieldLen: this.lens.done(), avgLen: this.avg.slice(),
      boost: this.boosts.done(), kind: this.kinds.done(), ref: this.refs.done(),
    });
  }
}

/** Sort strings by UTF-16 code unit: sorted runs, then pairwise merges, yielding between chunks. */
function* sortStrings(strings: string[]): Generator<void, string[]> {
  const n = strings.length;
  const RUN = 2048;
  for (let i = 0; i < n; i += RUN) {
    const run = strings.slice(i, i + RUN).sort();
    for (let j = 0; j < run.length; j++) strings[i + j] = run[j]!;
    yield;
  }
  let src = strings;
  let dst: string[] = new Array<string>(n);
  let work = 0;
  for (let w = RUN; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = Math.min(lo + w, n);
      const hi = Math.min(lo + 2 * w, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        dst[k++] = src[j]! < src[i]! ? src[j++]! : src[i++]!;
        if (++work % CHUNK === 0) yield;
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
    yield;
  }
  return src;
}

/** Search files read with their catalogs, until the knowledge side takes them. */
const loaded = new WeakMap<Catalog, { index: SearchIndex; header: SearchFileHeader }>();

/**
 * Read `<versionDir>/search.bin` for a catalog just loaded from that directory. A missing or unreadable
 * file is not an error: the knowledge side then builds the index in the background (logged here).
 */
export async function attachSearchIndex(catalog: Catalog, versionDir: string, log: Logger): Promise<void> {
  const file = join(versionDir, SEARCH_FILE);
  let read: { bytes: Uint8Array; file: FileHandle | null };
  try {
    read = await readSearchFile(file);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    log.warn({ file, err: missing ? undefined : (err as Error).message }, `${missing ? 'no prebuilt search index' : 'search index unreadable'}; it is built in the background on first use (republish with \`npm run pipeline\` to prebuild it)`);
    return;
  }
  try {
    const opened = SearchIndex.fromBytes(read.bytes, read.file ? rangeReaderInto(read.file, file) : undefined);
    if (read.file) keepOpenWhile(opened.index, read.file);
    loaded.set(catalog, opened);
  } catch (err) {
    void read.file?.close().catch(() => undefined);
    log.warn({ file, err: (err as Error).message }, 'search index file refused; it is built in the background on first use (republish with `npm run pipeline` to rewrite it)');
  }
}

/**
 * A search file's bytes without its postings (left unread: a query reads its terms' from the file, which
 * stays open), or all of them when its header cannot say where they are (fromBytes then says what is wrong).
 * The postings are most of the file: 46 of 57 MiB at 1M tracks.
 */
async function readSearchFile(path: string): Promise<{ bytes: Uint8Array; file: FileHandle | null }> {
  const size = (await stat(path)).size;
  const head = Buffer.alloc(Math.min(size, HEADER_MAX + 1));
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  let holes: [number, number][];
  try {
    const { header, base } = SearchIndex.header(head);
    holes = SearchIndex.postingRanges(header, base).filter(([, end]) => end <= size);
  } catch {
    return { bytes: await readFile(path), file: null };
  }
  return readSized(path, size, holes);
}

/** Reads of search files started after their catalogs were served (readSearchFileLater). */
const reading = new WeakMap<Catalog, Promise<void>>();

/**
 * Start reading the search file of a catalog that is already being served: the first answers need none
 * of it. A search awaits it first (`searchFileRead`).
 */
export function readSearchFileLater(catalog: Catalog, versionDir: string, log: Logger): Promise<void> {
  const read = attachSearchIndex(catalog, versionDir, log);
  reading.set(catalog, read);
  return read;
}

/** Settles once the search file started by readSearchFileLater for this catalog is read (at once when none was). */
export function searchFileRead(catalog: Catalog): Promise<void> {
  return reading.get(catalog) ?? Promise.resolve();
}

/** The search file read for this catalog, if any. */
export function prebuiltSearchIndex(catalog: Catalog): { index: SearchIndex; header: SearchFileHeader } | undefined {
  return loaded.get(catalog);
}
