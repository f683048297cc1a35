import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { prebuiltSearchIndex, SEARCH_FILE, SearchIndex, searchFileRead } from '../src/catalog/search-index.js';
import { currentVersion, readSnapshot, type Snapshot } from '../src/catalog/snapshot.js';
import { silentLogger } from '../src/log.js';
import { knowledgeFor, knowledgeReady, prepareKnowledge, searchDocuments, searchFileBytes } from '../resources/knowledge.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { prng } from '../scripts/lib/prng.js';
import { KnowledgeSearch, queryTerms, tokenize, type DocKind, type IndexDoc } from '../resources/retrieval.js';
import { miniSearchOf } from './helpers/minisearch-reference.js';

const SNAPSHOTS = join(inject('builtDataDir'), 'snapshots');

/**
 * The ranking as MiniSearch 7 computes it (BM25+, prefix and fuzzy matches, the options the server used
 * with it), grouped one hit per URI as the tool does: the reference the inverted index must reproduce.
 */
function reference(docs: readonly IndexDoc[], uri: (d: IndexDoc) => string) {
  const ms = miniSearchOf(docs);
  return (query: string, kinds?: readonly DocKind[]) => {
    const qTerms = queryTerms(query);
    if (!qTerms.length) return { total: 0, ranked: [] as { uri: string; score: number }[] };
    const results = ms.search(qTerms.join(' '), kinds ? { filter: (r) => kinds.includes(docs[r.id as number]!.kind) } : {});
    const byUri = new Map<string, { id: number; score: number }>();
    for (const r of results) {
      const u = uri(docs[r.id as number]!);
      const prev = byUri.get(u);
      if (!prev) byUri.set(u, { id: r.id as number, score: r.score });
      else prev.score += r.score / 2;
    }
    const best = [...byUri.entries()].sort(([, a], [, b]) => b.score - a.score || a.id - b.id);
    return { total: best.length, ranked: best.map(([u, { score }]) => ({ uri: u, score })) };
  };
}

const QUERIES: [string, DocKind[]?][] = [
  ['reggaeton'], ['hip-hop'], ['queen'], ['beyonce'], ['Beyoncé'], ['Bohemian Rhapsody'], ['music for running'], ['what does valence mean'],
  ['licence of the dataset'], ['workout'], ['latin', ['artist']], ['rock', ['genre', 'glossary']], ['chill acoustic evening'],
  ['r&b'], ['drum&bass'], ['electro house'], ['danceabilty'], ['energetic party songs'], ['reggaeton', ['dataset']], ['love'],
  ['the beatles abbey road'], ['rap', ['artist', 'genre']], ['tropical'], ['2019'], ['don\'t stop me now'], ['xyzzyplugh'],
  ['sad instrumental'], ['speechiness', ['glossary']], ['progressive electro house'], ['permanent wave'], ['neo soul'], ['album'],
];

describe('inverted search index', () => {
  let snap: Snapshot;
  let catalog: Catalog;
  let docs: IndexDoc[];
  let search: KnowledgeSearch;
  let bytes: Buffer | undefined;
  /** The search file of the catalog, built once for the tests that read or damage it. */
  const fileBytes = () => (bytes ??= searchFileBytes(catalog));

  beforeAll(async () => {
    snap = await readSnapshot(SNAPSHOTS);
    catalog = new Catalog(snap);
    docs = [...searchDocuments(catalog)];
    const k = knowledgeFor(catalog);
    search = k.search();
    expect(await search.whenReady(60_000)).toBe(true);
  });

  const sameAsReference = (queries: [string, DocKind[]?][]) => {
    const uriOf = (d: IndexDoc) => (search as unknown as { source: { describe: (k: DocKind, r: number) => { uri: string } } }).source.describe(d.kind, d.ref).uri;
    const ref = (referenceFor ??= reference(docs, uriOf));
    for (const [query, kinds] of queries) {
      const want = ref(query, kinds);
      const got = search.search(query, { limit: 1_000_000, ...(kinds ? { kinds } : {}) });
      expect(got.total, query).toBe(want.total);
      expect(got.hits.length, query).toBe(want.ranked.length);
      // Same order, same scores (sums taken in another order may differ in the last bits, so near-equal
      // scores may trade places: compare position by position on the rounded score, and the set of URIs).
      got.hits.forEach((h, i) => expect(h.score, `${query} #${i}`).toBeCloseTo(want.ranked[i]!.score, 3));
      expect(new Set(got.hits.map((h) => h.uri)), query).toEqual(new Set(want.ranked.map((r) => r.uri)));
      const strictlyOrdered = want.ranked.filter((r, i, a) => (i === 0 || a[i - 1]!.score - r.score > 1e-9) && (i === a.length - 1 || r.score - a[i + 1]!.score > 1e-9));
      for (const r of strictlyOrdered) expect(got.hits.findIndex((h) => h.uri === r.uri), `${query}: ${r.uri}`).toBe(want.ranked.indexOf(r));
    }
  };
  let referenceFor: ReturnType<typeof reference> | undefined;

  it('ranks every document exactly as the BM25+ reference (MiniSearch) does, scores included', () => {
    sameAsReference(QUERIES);
  });

  it('matches the reference on misspelt names and titles (typo and prefix matches through the sorted dictionary)', () => {
    const rand = prng(11);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const queries: [string][] = [];
    while (queries.length < 120) {
      const d = docs[Math.floor(rand() * docs.length)]!;
      const words = tokenize(`${d.name} ${d.body}`).filter((w) => w.length >= 5);
      if (!words.length) continue;
      const w = words[Math.floor(rand() * words.length)]!.toLowerCase();
      const at = Math.floor(rand() * w.length);
      const c = letters[Math.floor(rand() * letters.length)]!;
      const edits = [w.slice(0, at) + c + w.slice(at + 1), w.slice(0, at) + w.slice(at + 1), w.slice(0, at) + c + w.slice(at), w.slice(0, Math.max(4, at))];
      queries.push([edits[queries.length % edits.length]!]);
    }
    sameAsReference(queries);
  });

  it('answers queries in slices, one after another, exactly as at once: a common word\'s query takes several steps', async () => {
    const queries = QUERIES.map(([q, kinds]) => ({ q, opts: { limit: 20, ...(kinds ? { kinds } : {}) } }));
    const atOnce = queries.map(({ q, opts }) => search.search(q, opts));
    // Every query started together: their steps must not share the index's scratch arrays.
    const sliced = await Promise.all(queries.map(({ q, opts }) => search.searchInSlices(q, opts)));
    expect(sliced).toEqual(atOnce);
    // While a query in slices is under way, a query at once would use the same scratch arrays: refused.
    const pending = search.searchInSlices('love', { limit: 5 });
    expect(() => search.search('love', { limit: 5 })).toThrow(/searchInSlices/);
    await pending;
    expect(search.search('love', { limit: 5 })).toEqual(await search.searchInSlices('love', { limit: 5 }));
    // A word in many documents is scored in more than one step.
    const index = (search as unknown as { index: SearchIndex }).index;
    const steps = index.scoreSteps(['love', 'the', 'music', 'pop', 'rock', 'dance']);
    let yields = 0;
    while (!steps.next().done) yields++;
    expect(yields).toBeGreaterThan(0);
  });

  it('the search file round-trips: the same arrays, the same answers', () => {
    const bytes = fileBytes();
    const { index, header } = SearchIndex.fromBytes(bytes);
    expect(header.catalog).toBe(catalog.version);
    expect(header.counts.genre).toBe(catalog.genres.length);
    expect(index.docs).toBe(docs.length);
    const built = (search as unknown as { index: SearchIndex }).index.arrays;
    for (const [name, arr] of Object.entries(index.arrays)) expect(arr, name).toEqual(built[name as keyof typeof built]);
    // Offsets anywhere in a buffer (Buffer pools start views at odd offsets) read the same.
    const shifted = new Uint8Array(bytes.length + 3).subarray(3);
    shifted.set(bytes);
    expect(SearchIndex.fromBytes(shifted).index.terms).toBe(index.terms);
  });

  it('a query stopped part way by a bad posting leaves nothing behind for the next query', () => {
    const bytes = fileBytes();
    const clean = SearchIndex.fromBytes(bytes).index;
    // Postings read from the file, the third read (the second term's documents) naming a document outside the index.
    let reads = 0;
    let corrupt = true;
    const { index } = SearchIndex.fromBytes(bytes, (offset, target) => {
      target.set(bytes.subarray(offset, offset + target.byteLength));
      if (corrupt && ++reads === 3) target.fill(0xff, 0, 4);
    });
    const terms = ['love', 'rock'];
    expect(() => index.score(terms)).toThrow(/outside the index/);
    corrupt = false;
    const byDoc = (a: { doc: number }, b: { doc: number }) => a.doc - b.doc;
    expect(index.score(terms).sort(byDoc)).toEqual(clean.score(terms).sort(byDoc));
  });

  it('refuses a damaged search file with a message saying what is wrong', () => {
    const bytes = fileBytes();
    expect(() => SearchIndex.fromBytes(bytes.subarray(0, bytes.length - 64))).toThrow(/truncated|disagree/);
    expect(() => SearchIndex.fromBytes(Buffer.from('{"magic":"something else"}\n'))).toThrow(/not a search index file/);
    const nl = bytes.indexOf(0x0a);
    const header = JSON.parse(bytes.subarray(0, nl).toString());
    const other = Buffer.concat([Buffer.from(JSON.stringify({ ...header, format: 99 })), bytes.subarray(nl)]);
    expect(() => SearchIndex.fromBytes(other)).toThrow(/format 99/);
  });

  describe('a served snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'music-search-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const serve = async () => {
      const holder = new CatalogHolder(dir, silentLogger);
      expect(await holder.load()).toBe(true);
      const state = holder.current;
      if (state.status !== 'ready') throw new Error('no catalog');
      holder.close();
      // The search file is read once the catalog is served, and a search awaits it: knowledge taken
      // before the read ends (completions, resources) still searches the file's index once it is read.
      const k = knowledgeFor(state.catalog);
      await searchFileRead(state.catalog);
      return k;
    };

    it('is searched from the file publish wrote, and answers as an index built from the documents', async () => {
      cpSync(SNAPSHOTS, dir, { recursive: true });
      const version = (await currentVersion(dir))!;
      expect(readFileSync(join(dir, version, SEARCH_FILE)).length).toBeGreaterThan(1000);
      const k = await serve();
      expect(k.searchFileRefused).toBeUndefined();
      expect(k.search().prebuilt()).toBe(true);
      expect(k.search().ready).toBe(true);
      // The postings (most of the file) stay in it: a query reads its terms' from the file.
      const served = prebuiltSearchIndex(k.catalog)!.index;
      expect(served.arrays.postDoc.length).toBe(0);
      expect(served.arrays.postOff[served.arrays.postOff.length - 1]).toBeGreaterThan(1000);
      for (const [query, kinds] of QUERIES) {
        const opts = { limit: 20, ...(kinds ? { kinds } : {}) };
        expect(k.search().search(query, opts), query).toEqual(search.search(query, opts));
      }
    });

    it('without a search file, or with one for other documents, builds the index itself', async () => {
      const version = (await currentVersion(dir))!;
      const file = join(dir, version, SEARCH_FILE);
      rmSync(file);
      const none = await serve();
      expect(none.search().prebuilt()).toBe(false);
      // Built in slices between turns of the event loop: not ready at once, ready after some turns.
      expect(await none.search().whenReady(0)).toBe(false);
      expect(() => none.search().search('reggaeton', { limit: 3 })).toThrow(/not built yet/);
      expect(await none.search().whenReady(60_000)).toBe(true);
      expect(none.search().search('reggaeton', { limit: 3 })).toEqual(search.search('reggaeton', { limit: 3 }));

      const bytes = fileBytes();
      const nl = bytes.indexOf(0x0a);
      const header = JSON.parse(bytes.subarray(0, nl).toString());
      writeFileSync(file, Buffer.concat([Buffer.from(JSON.stringify({ ...header, fingerprint: '0'.repeat(32) })), bytes.subarray(nl)]));
      const reworded = await serve();
      expect(reworded.searchFileRefused).toMatch(/worded differently/);
      expect(reworded.search().prebuilt()).toBe(false);
    });
  });
});

describe('the knowledge side made ahead of the first search', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-search-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is ready to search once the holder reports the catalog 'indexed' and prepareKnowledge settles, even with no search file", async () => {
    cpSync(SNAPSHOTS, dir, { recursive: true });
    rmSync(join(dir, (await currentVersion(dir))!, SEARCH_FILE));
    const holder = new CatalogHolder(dir, silentLogger);
    const indexed = new Promise<Catalog>((resolve) => holder.once('indexed', resolve));
    expect(await holder.load()).toBe(true);
    const catalog = await indexed;
    holder.close();
    expect(catalog.indexesReady).toBe(true);
    await prepareKnowledge(catalog);
    // Built from the documents in the background, and finished: the first search does not wait.
    const k = knowledgeFor(catalog);
    expect(k.search().prebuilt()).toBe(false);
    expect(k.search().ready).toBe(true);
    expect(k.search().search('reggaeton', { limit: 3 }).hits.length).toBeGreaterThan(0);
  });
});

describe('the knowledge side made by a first search', () => {
  it('is made in slices: the event loop runs timers while it is made, and the search then answers', async () => {
    const holder = new CatalogHolder(SNAPSHOTS, silentLogger);
    expect(await holder.load()).toBe(true);
    const state = holder.current;
    holder.close();
    if (state.status !== 'ready') throw new Error('no catalog');
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const knowledge = await knowledgeReady(state.catalog);
    clearInterval(counting);
    expect(turns, 'timers ran while the knowledge side was made').toBeGreaterThan(0);
    expect(knowledge).toBe(knowledgeFor(state.catalog));
    expect(knowledge.search().prebuilt()).toBe(true);
    expect(knowledge.search().search('reggaeton', { limit: 3 }).hits.length).toBeGreaterThan(0);
  });
});

describe('the first search on a snapshot without a search file (stdio server process)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-search-stall-'));
  let child: ChildProcessWithoutNullStreams | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('builds the index in slices: pings sent meanwhile are answered within 250 ms, and the search then answers', async () => {
    cpSync(SNAPSHOTS, join(dataDir, 'snapshots'), { recursive: true });
    rmSync(join(dataDir, 'snapshots', (await currentVersion(join(dataDir, 'snapshots')))!, SEARCH_FILE));
    const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    child = proc;
    const answered = new Map<number, { at: number; body: { result?: { isError?: boolean; structuredContent?: { results: { uri: string }[] } } } }>();
    const waiting = new Map<number, () => void>();
    let buffer = '';
    proc.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const m = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        answered.set(m.id, { at: performance.now(), body: m });
        waiting.get(m.id)?.();
      }
    });
    const send = (m: object) => proc.stdin.write(`${JSON.stringify(m)}\n`);
    const answer = (id: number) => new Promise<void>((resolve) => (answered.has(id) ? resolve() : waiting.set(id, resolve)));
    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'stall', version: '1' } } });
    await answer(0);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // Loading the catalog and the name index built right after it are not what this test is about:
    // a first tool answer waits for the catalog, and a ping after it for that name index.
    send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 1 } } });
    await answer(1);
    send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    await answer(3);

    const SEARCH = 2;
    send({ jsonrpc: '2.0', id: SEARCH, method: 'tools/call', params: { name: 'search_music_knowledge', arguments: { query: 'reggaeton', limit: 3 } } });
    const sent = new Map<number, number>();
    let id = 100;
    while (!answered.has(SEARCH)) {
      sent.set(id, performance.now());
      send({ jsonrpc: '2.0', id, method: 'ping' });
      await Promise.race([answer(id), answer(SEARCH)]);
      await new Promise((r) => setTimeout(r, 10));
      id++;
    }
    const searchAt = answered.get(SEARCH)!.at;
    const during = [...sent].filter(([pid]) => answered.has(pid) && answered.get(pid)!.at < searchAt);
    expect(during.length, 'pings answered while the index was being built').toBeGreaterThan(2);
    const worst = Math.max(...during.map(([pid, at]) => answered.get(pid)!.at - at));
    expect(worst).toBeLessThan(250);
    const r = answered.get(SEARCH)!.body.result!;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.results[0]!.uri).toBe('music://genres/reggaeton');
  }, 120_000);
});
