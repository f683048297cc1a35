/**
 * Serving a published snapshot, measured from outside the server: spawn → `initialize` answered,
 * spawn → first tool call answered (the catalog loaded), the load time the server logs, and the
 * server's RSS after that first answer, after a second call (once the title index is in) and after a
 * third, `search_music_knowledge` (every index, the knowledge search's included).
 *
 *   npx tsx bench/snapshot-load.ts --data <MUSIC_DATA_DIR> [--server <checkout>[=<MUSIC_DATA_DIR>]]... [--runs 3] [--first genre]
 *
 * The first call is `tracks_by_artist` (it needs name resolution), or with `--first genre`
 * `recommend_by_genre` (it needs none, so it may be answered before name resolution's index is in).
 *
 * Each `--server` is a checkout of this project (default: this one), optionally with its own data dir
 * (an older checkout reads an older snapshot format); runs alternate between them so the ratios come
 * from the same minutes of a shared machine. Prints one JSON line per checkout with medians, the load
 * average and the CPU model; then, for this checkout, the load in this process (loadCatalog + the
 * title index) with the longest event-loop delay during it, beside the longest delay of an idle loop
 * in the second before (the machine's own noise).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { loadCatalog } from '../src/catalog/holder.js';
import { runSliced } from '../src/catalog/slices.js';
import { currentVersion } from '../src/catalog/snapshot.js';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

const { values } = parseArgs({
  options: { data: { type: 'string' }, server: { type: 'string', multiple: true }, runs: { type: 'string', default: '3' }, first: { type: 'string', default: 'artist' } },
});
const FIRSTS: Record<string, { name: string; arguments: Record<string, unknown> }> = {
  artist: { name: 'tracks_by_artist', arguments: { artist: 'Queen', limit: 20 } },
  genre: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 10 } },
};
const FIRST = FIRSTS[values.first!]!;
if (!FIRST) throw new Error(`--first is artist or genre, not ${JSON.stringify(values.first)}`);
const servers = (values.server ?? ['.']).map((s) => {
  const [checkout, data] = s.split('=');
  const dataDir = data ?? values.data;
  if (!dataDir) throw new Error(`no data dir for ${checkout}: pass --data <MUSIC_DATA_DIR> or --server <checkout>=<MUSIC_DATA_DIR>`);
  return { checkout: resolve(checkout!), dataDir: resolve(dataDir) };
});
const runs = Number(values.runs);

interface Run { initMs: number; firstToolMs: number; loadLogMs: number | null; rssAfterFirstMiB: number; rssAfterTitlesMiB: number; rssAfterSearchMiB: number }

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

async function once({ checkout, dataDir }: (typeof servers)[number]): Promise<Run> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(checkout, 'bin/music-mcp-server.js'), '--stdio'],
    cwd: checkout,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'bench-snapshot-load', version: '1' });
  const t0 = performance.now();
  await client.connect(transport);
  const initMs = performance.now() - t0;
  const r = (await client.callTool(FIRST)) as { isError?: boolean };
  const firstToolMs = performance.now() - t0;
  if (r.isError) throw new Error(`first tool call failed: ${JSON.stringify(r).slice(0, 300)}`);
  const pid = transport.pid!;
  const rssAfterFirstMiB = rssMiB(pid);
  const s = (await client.callTool({ name: 'similar_tracks', arguments: { seed_tracks: ['Bohemian Rhapsody – Queen'], limit: 10 } })) as { isError?: boolean };
  if (s.isError) throw new Error(`similar_tracks failed: ${JSON.stringify(s).slice(0, 300)}`);
  const rssAfterTitlesMiB = rssMiB(pid);
  const q = (await client.callTool({ name: 'search_music_knowledge', arguments: { query: 'upbeat dance music', limit: 5 } })) as { isError?: boolean };
  if (q.isError) throw new Error(`search_music_knowledge failed: ${JSON.stringify(q).slice(0, 300)}`);
  const rssAfterSearchMiB = rssMiB(pid);
  await client.close();
  const m = /"ms":(\d+)[^\n]*serving catalog loaded/.exec(stderr);
  return { initMs, firstToolMs, loadLogMs: m ? Number(m[1]) : null, rssAfterFirstMiB, rssAfterTitlesMiB, rssAfterSearchMiB };
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
const results = new Map<(typeof servers)[number], Run[]>(servers.map((s) => [s, []]));
for (let i = 0; i < runs; i++) for (const s of servers) results.get(s)!.push(await once(s));
const loadAfter = loadavg().map((x) => x.toFixed(2)).join(' ');
/** In this process, with this checkout's code: the server's load of `dataDir`'s snapshot and the longest event-loop delay during it. */
async function inProcess(dataDir: string) {
  const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await delay(1_000);
  idle.disable();
  const during = monitorEventLoopDelay({ resolution: 5 });
  during.enable();
  const t0 = performance.now();
  const snapshots = join(dataDir, 'snapshots');
  const catalog = await loadCatalog(snapshots, (await currentVersion(snapshots))!);
  const loadMs = performance.now() - t0;
  await runSliced(catalog.indexSteps());
  const withTitlesMs = performance.now() - t0;
  during.disable();
  return { loadMs: Math.round(loadMs), withTitlesMs: Math.round(withTitlesMs), longestStallMs: Math.round(during.max / 1e6), idleLoopLongestMs: Math.round(idle.max / 1e6) };
}

for (const [{ checkout, dataDir }, rs] of results) {
  const pick = (k: keyof Run) => Math.round(median(rs.map((r) => r[k] ?? NaN)));
  console.log(JSON.stringify({
    checkout, dataDir, runs: rs.length, first: FIRST.name, initMs: pick('initMs'), firstToolMs: pick('firstToolMs'),
    firstToolOverInit: +(median(rs.map((r) => r.firstToolMs)) / median(rs.map((r) => r.initMs))).toFixed(2),
    loadLogMs: pick('loadLogMs'), rssAfterFirstMiB: pick('rssAfterFirstMiB'), rssAfterTitlesMiB: pick('rssAfterTitlesMiB'), rssAfterSearchMiB: pick('rssAfterSearchMiB'),
    loadAverage: `${loadBefore} → ${loadAfter}`, cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  }));
}
const here = servers.find((s) => s.checkout === REPO);
if (here) console.log(JSON.stringify({ inProcess: here.checkout, ...(await inProcess(here.dataDir)), loadAverage: loadavg().map((x) => x.toFixed(2)).join(' ') }));
