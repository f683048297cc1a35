/**
 * Search: the prebuilt inverted index (src/catalog/search-index.ts) against the MiniSearch index it
 * replaced, on the published catalog and on synthetic catalogs of growing size, in one run.
 *
 *   npx tsx bench/search.ts [--data-dir=DIR] [--sizes=100000,1000000] [--iters=300] [--minisearch-max=200000] [--stdio-rounds=200] [--write-docs]
 *
 * Each catalog runs in a fresh child process (--expose-gc). Per catalog: the search file built as
 * publish builds it (searchFileBytes: documents + index + bytes) and its size; the file read back
 * (readFile + SearchIndex.fromBytes) as the server does at load; the first search through the tool's
 * own path (knowledgeFor with the file attached, then one query); warm latency over a fixed query mix
 * (p50/p99, limit 5, snippets included), and the same mix through MiniSearch 7 with the options used
 * before (its build is what the first search used to wait for) up to --minisearch-max tracks; the
 * background build used when a snapshot has no search file: total time and the longest gap between two
 * turns of the event loop meanwhile; RSS after a forced GC with the catalog alone and with the index.
 * Synthetic catalogs come from bench/scale.ts (real rows resampled with jitter, synthetic names).
 * Last, over stdio: a server process on the published catalog, ping and search latency in alternation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { Catalog } from '../src/catalog/catalog.js';
import { attachSearchIndex } from '../src/catalog/search-index.js';
import { readSnapshot, type Snapshot } from '../src/catalog/snapshot.js';
import { silentLogger } from '../src/log.js';
import { knowledgeFor, searchDocuments, searchFileBytes } from '../resources/knowledge.js';
import { queryTerms } from '../resources/retrieval.js';
import { miniSearchOf } from '../tests/helpers/minisearch-reference.js';
import { syntheticSnapshot } from './scale.js';
import { builtDataDir, emit, loadAverage, log, machineNotes, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, summarize, today, type Summary } from './lib.js';

const QUERIES = [
  'reggaeton', 'hip-hop', 'queen', 'beyonce', 'Bohemian Rhapsody', 'music for running', 'what does valence mean', 'licence of the dataset',
  'workout', 'chill acoustic evening', 'r&b', 'electro house', 'danceabilty', 'energetic party songs', 'love', 'sad instrumental',
  'synthetic artist 42', 'progressive electro house', 'neo soul', 'tropical',
];

interface ChildResult {
  label: string;
  tracks: number;
  docs: number;
  terms: number;
  postings: number;
  fileBytes: number;
  publishMs: number;
  loadMs: number;
  firstSearchMs: number;
  warm: Summary;
  mini: { buildMs: number; warm: Summary } | null;
  background: { ms: number; longestGapMs: number };
  rssCatalogMb: number;
  rssIndexMb: number;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const rssMb = () => {
  gc();
  return process.memoryUsage().rss / 1e6;
};

function timeQueries(run: (q: string) => void, iters: number): Summary {
  for (const q of QUERIES) run(q);
  const xs: number[] = [];
  for (let n = 0; n < iters; n++) {
    const t = performance.now();
    run(QUERIES[n % QUERIES.length]!);
    xs.push(performance.now() - t);
  }
  return summarize(xs);
}

async function child(dataDir: string, size: number, iters: number, miniMax: number): Promise<ChildResult> {
  const real = await readSnapshot(join(dataDir, 'snapshots'));
  const snap: Snapshot = size ? syntheticSnapshot(real, size) : real;
  const catalog = new Catalog(snap);
  const rssCatalog = rssMb();

  let t = performance.now();
  const bytes = searchFileBytes(catalog);
  const publishMs = performance.now() - t;
  const dir = mkdtempSync(join(tmpdir(), 'music-search-bench-'));
  writeFileSync(join(dir, 'search.bin'), bytes);
  const header = JSON.parse(bytes.subarray(0, bytes.indexOf(0x0a)).toString()) as { docs: number; terms: number; postings: number };

  // The server's path: read the file, attach it, first search through knowledgeFor.
  t = performance.now();
  await attachSearchIndex(catalog, dir, silentLogger);
  const loadMs = performance.now() - t;
  rmSync(dir, { recursive: true, force: true });
  t = performance.now();
  const search = knowledgeFor(catalog).search();
  if (!search.prebuilt()) throw new Error('the search file was not used');
  search.search(QUERIES[0]!, { limit: 5 });
  const firstSearchMs = performance.now() - t;
  const warm = timeQueries((q) => search.search(q, { limit: 5 }), iters);
  const rssIndex = rssMb();

  // Without a search file: the build in slices, with the longest gap between two event-loop turns.
  const fresh = new Catalog(snap);
  let last = performance.now();
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 1);
  t = performance.now();
  last = t;
  if (!(await knowledgeFor(fresh).search().whenReady(600_000))) throw new Error('background build did not finish');
  const backgroundMs = performance.now() - t;
  clearInterval(timer);

  let mini: ChildResult['mini'] = null;
  if (snap.tracks.track_id.length <= miniMax) {
    // As the first search used to: every document generated, then added to MiniSearch.
    t = performance.now();
    const reference = miniSearchOf([...searchDocuments(catalog)]);
    const buildMs = performance.now() - t;
    // Ranking only (no snippets): a lower bound of what a MiniSearch-backed call cost.
    mini = { buildMs, warm: timeQueries((q) => void reference.search(queryTerms(q).join(' ')), iters) };
  }
  return {
    label: size ? `synthetic ${size.toLocaleString('en-US')}` : `published (${real.manifest.source.dataset ?? 'dataset'})`,
    tracks: snap.tracks.track_id.length, docs: header.docs, terms: header.terms, postings: header.postings, fileBytes: bytes.length,
    publishMs, loadMs, firstSearchMs, warm, mini, background: { ms: backgroundMs, longestGapMs }, rssCatalogMb: rssCatalog, rssIndexMb: rssIndex,
  };
}

/**
 * Over stdio, as a client sees it: a server process on the published catalog (its search file read at
 * load), the first search after the catalog is served, then rounds of `ping` followed by a search.
 */
async function stdioPart(dataDir: string, rounds: number): Promise<{ first: number; ping: Summary; search: Summary }> {
  const client = new Client({ name: 'bench-search', version: '1' });
  await client.connect(new StdioClientTransport({
    command: process.execPath, args: [SERVER_BIN, '--stdio'], cwd: REPO_ROOT, stderr: 'ignore',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  }));
  const search = async (n: number) => {
    const t = performance.now();
    const r = (await client.callTool({ name: 'search_music_knowledge', arguments: { query: QUERIES[n % QUERIES.length]!, limit: 5 } })) as { isError?: boolean };
    if (r.isError) throw new Error(`search ${QUERIES[n % QUERIES.length]} failed`);
    return performance.now() - t;
  };
  await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 1 } }); // waits for the catalog
  await client.ping();
  const first = await search(0);
  for (let n = 0; n < 40; n++) await search(n);
  const pings: number[] = [];
  const searches: number[] = [];
  for (let n = 0; n < rounds; n++) {
    const t = performance.now();
    await client.ping();
    pings.push(performance.now() - t);
    searches.push(await search(n));
  }
  await client.close();
  return { first, ping: summarize(pings), search: summarize(searches) };
}

function runChild(dataDir: string, size: number, iters: number, miniMax: number): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', self, '--child', `--size=${size}`, `--data-dir=${dataDir}`, `--iters=${iters}`, `--minisearch-max=${miniMax}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ChildResult);
      else reject(new Error(`search bench child (size ${size}) exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs();
  const iters = numArg(args, 'iters', 300);
  const miniMax = numArg(args, 'minisearch-max', 200_000);
  if (args.has('child')) {
    process.stdout.write(`${JSON.stringify(await child(args.get('data-dir')!, numArg(args, 'size', 0), iters, miniMax))}\n`);
    return;
  }
  const sizes = (args.get('sizes') ?? '100000,1000000').split(',').filter(Boolean).map(Number);
  const { dir, cleanup } = await builtDataDir(args);
  try {
    const before = loadAverage();
    const rows: ChildResult[] = [];
    for (const size of [0, ...sizes]) {
      log(`search bench: ${size || 'published catalog'}`);
      rows.push(await runChild(dir, size, iters, miniMax));
    }
    log('search bench: stdio');
    const stdio = await stdioPart(dir, numArg(args, 'stdio-rounds', 200));
    const after = loadAverage();
    const fmt = (s: Summary) => `${ms(s.p50)} / ${ms(s.p99)}`;
    const table = [
      '| catalog | tracks | documents | terms | postings | search.bin | build at publish | read at load | first search | warm p50 / p99 | MiniSearch build (old first search) | MiniSearch warm p50 / p99 | background build, longest loop gap | RSS catalog → + index |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map((r) =>
        `| ${r.label} | ${r.tracks.toLocaleString('en-US')} | ${r.docs.toLocaleString('en-US')} | ${r.terms.toLocaleString('en-US')} | ${r.postings.toLocaleString('en-US')} | ` +
          `${(r.fileBytes / 2 ** 20).toFixed(1)} MiB | ${ms(r.publishMs)} | ${ms(r.loadMs)} | ${ms(r.firstSearchMs)} | ${fmt(r.warm)} | ` +
          `${r.mini ? ms(r.mini.buildMs) : 'not run'} | ${r.mini ? fmt(r.mini.warm) : 'not run'} | ${ms(r.background.ms)}, ${ms(r.background.longestGapMs)} | ` +
          `${r.rssCatalogMb.toFixed(0)} → ${r.rssIndexMb.toFixed(0)} MB |`,
      ),
    ];
    emit(args, 'search', [
      '## Search index (`bench/search.ts`)',
      '',
      '```sh',
      `npx tsx bench/search.ts --data-dir=DIR --sizes=${sizes.join(',')} --iters=${iters}`,
      '```',
      '',
      `${machineNotes()}; load average ${before} at start, ${after} at end; ${today()}.`,
      '',
      ...table,
      '',
      `Over stdio (server process on the published catalog, ${stdio.ping.n} rounds of ping then search): first search ${ms(stdio.first)}; ` +
        `ping p50 ${ms(stdio.ping.p50)}, search p50 ${ms(stdio.search.p50)} / p99 ${ms(stdio.search.p99)}; search p50 − ping p50 ${ms(stdio.search.p50 - stdio.ping.p50)}.`,
    ].join('\n'));
  } finally {
    cleanup();
  }
}

await main();
