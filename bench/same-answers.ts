/**
 * Whether this checkout answers recommend_by_genre and similar_tracks exactly as another checkout does:
 * the guard for a change meant to make the engine faster without changing its answers.
 *
 *   npx tsx bench/same-answers.ts --baseline=/path/to/other/checkout [--data-dir=DIR] [--baseline-data-dir=DIR2] [--time=ROUNDS] [--tools=recommend_by_genre,similar_tracks]
 *
 * Both checkouts' servers are built in this process over the same snapshot (each with its own catalog
 * and caches), and every tool handler is called with the same arguments: a grid over genres picked from
 * the catalog, bounds, targets, limits, explicit and per-artist filters, diversity, arcs, seed artists
 * and tracks, several genres and none. The full answers (text and structuredContent, errors included)
 * are compared as JSON. Exits 1 when any differs, printing the first differences. With --baseline-data-dir,
 * the other checkout reads its snapshot from DIR2 instead (the same warehouse published by each checkout:
 * the guard for a change of the snapshot format).
 *
 * With --time=ROUNDS: each checkout's handler of each of --tools (default recommend_by_genre; input schema
 * applied, no protocol) on the benchmark's argument sets (bench/lib.ts toolArgsFor), the two checkouts
 * taking turns call by call; p50 per argument set and over all, in ms.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Catalog } from '../src/catalog/catalog.js';
import { builtDataDir, loadAverage, log, machineNotes, ms, numArg, parseArgs, summarize, toolArgsFor } from './lib.js';

type Call = (tool: string, args: Record<string, unknown>) => Promise<unknown>;

/** A checkout's server over the snapshot in `dataDir`, its handlers called directly (schemas applied as the SDK applies them). */
async function checkout(root: string, dataDir: string): Promise<{ catalog: Catalog; call: Call }> {
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  const [{ CatalogHolder }, { silentLogger }, { createServer }] = await Promise.all([load('src/catalog/holder.ts'), load('src/log.ts'), load('src/server.ts')]);
  const holder = new CatalogHolder(join(dataDir, 'snapshots'), silentLogger);
  if (!(await holder.load())) throw new Error(`no snapshot under ${dataDir}`);
  const { server } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 0 });
  // The registered tools, as the SDK keeps them: the input schema and the handler.
  const tools = (server as unknown as { _registeredTools: Record<string, { inputSchema: { '~standard': { validate: (v: unknown) => { value?: unknown; issues?: { message: string }[] } } }; handler: (a: unknown, ctx: unknown) => Promise<unknown> }> })._registeredTools;
  const ctx = { mcpReq: { _meta: {}, notify: async () => undefined } };
  return {
    catalog: (holder.current as { catalog: Catalog }).catalog,
    call: async (tool, args) => {
      const parsed = tools[tool]!.inputSchema['~standard'].validate(args);
      return parsed.issues ? { invalid: parsed.issues.map((i) => i.message) } : tools[tool]!.handler(parsed.value, ctx);
    },
  };
}

/** The argument grid over a catalog's genres, artists and tracks. */
function grid(catalog: Catalog): [string, Record<string, unknown>][] {
  const genres = catalog.genres.map((g) => g.genre);
  const genre = (k: number) => genres[(k * 37) % genres.length]!;
  const artist = (i: number) => catalog.track(i % catalog.size).artists[0]!;
  const titleOf = (i: number) => `${catalog.trackName(i) ?? ''} – ${artist(i)}`;
  const variants: Record<string, unknown>[] = [
    {}, { limit: 25 }, { limit: 100 }, { min_energy: 0.7, min_valence: 0.6 }, { max_energy: 0.4, target_acousticness: 0.8 },
    { target_tempo: 120 }, { target_danceability: 0.8, target_energy: 0.7, limit: 30 }, { include_explicit: false }, { max_per_artist: 1 },
    { min_release_year: 1990, max_release_year: 2005 }, { min_popularity: 60 }, { min_energy: 0.99 }, { min_key: 3, max_key: 7 },
    { diversity: 0.3 }, { diversity: 0.9, limit: 20 }, { diversity: 1 }, { diversity: 0.05, limit: 50 }, { diversity: 0.7, limit: 100, max_per_artist: 1 },
    { diversity: 0.2, target_energy: 0.9 }, { max_per_artist: 2, diversity: 0.5 }, { arc: 'rise' },
    { seed_artists: [artist(5)] }, { seed_tracks: [catalog.trackId(123 % catalog.size)] }, { seed_tracks: [titleOf(777 % catalog.size)], target_valence: 0.3 },
    { seed_artists: [artist(5000)], diversity: 0.4, include_explicit: false },
  ];
  const calls: [string, Record<string, unknown>][] = [];
  for (let g = 0; g < 12; g++) {
    for (const v of variants) {
      calls.push(['recommend_by_genre', { genre: genre(g), ...v }]);
      if (g < 4) calls.push(['recommend_by_genre', { genre: genre(g), seed_genres: [genre(g + 20), genre(g + 40)], ...v }]);
      if (g === 0) calls.push(['recommend_by_genre', Object.keys(v).length ? v : { min_energy: 0.5 }]);
      if (g < 2) calls.push(['similar_tracks', { seed_artists: [artist(40_000)], ...v }]);
      // One seed track per genre index, and pairs of seeds, spread over the catalog.
      calls.push(['similar_tracks', { seed_tracks: [catalog.trackId((g * 7919 + 13) % catalog.size)], ...v }]);
      if (g < 4) calls.push(['similar_tracks', { seed_tracks: [catalog.trackId((g * 104_729 + 5) % catalog.size)], seed_artists: [artist(g * 3001 + 17)], ...v }]);
    }
  }
  return calls;
}

/** A tool's handler time per argument set, this checkout and the baseline taking turns. */
async function timeHandlers(tool: string, here: { call: Call }, there: { call: Call }, sets: Record<string, unknown>[], rounds: number): Promise<void> {
  const times = [here, there].map(() => sets.map((): number[] => []));
  const loadBefore = loadAverage();
  for (let n = 0; n < rounds + 20; n++) {
    for (let k = 0; k < sets.length; k++) {
      for (const [c, side] of (n % 2 ? [[0, here], [1, there]] : [[1, there], [0, here]]) as [number, { call: Call }][]) {
        const t = performance.now();
        await side.call(tool, sets[k]!);
        if (n >= 20) times[c]![k]!.push(performance.now() - t);
      }
    }
  }
  const rows = sets.map((a, k) => `| \`${JSON.stringify(a)}\` | ${ms(summarize(times[1]![k]!).p50)} | ${ms(summarize(times[0]![k]!).p50)} |`);
  const all = (c: number) => ms(summarize(times[c]!.flat()).p50);
  process.stdout.write(`
${tool} handler p50 (ms), ${rounds} rounds after 20 warm-up; ${machineNotes()}; load average ${loadBefore} → ${loadAverage()}

| arguments | baseline | this checkout |
|---|---:|---:|
${rows.join('\n')}
| all calls | ${all(1)} | ${all(0)} |
`);
}

async function main(): Promise<void> {
  const args = parseArgs();
  const baseline = args.get('baseline');
  if (!baseline) throw new Error('give --baseline=/path/to/other/checkout (its src/ is imported; its node_modules must be installed)');
  const { dir, cleanup } = await builtDataDir(args);
  try {
    const here = await checkout(resolve(import.meta.dirname, '..'), dir);
    const there = await checkout(resolve(baseline), args.get('baseline-data-dir') ?? dir);
    let differ = 0;
    let errors = 0;
    const calls = grid(here.catalog);
    for (const [tool, a] of calls) {
      // Two snapshots differ in their version names (which answers quote) and nothing else an answer may show.
      const mine = JSON.stringify(await here.call(tool, a)).replaceAll(here.catalog.version, '<version>');
      const theirs = JSON.stringify(await there.call(tool, a)).replaceAll(there.catalog.version, '<version>');
      if (mine.includes('"isError":true') || mine.startsWith('{"invalid"')) errors++;
      if (mine === theirs) continue;
      if (++differ <= 3) {
        let at = 0;
        while (mine[at] === theirs[at]) at++;
        const from = Math.max(0, at - 150);
        log(`differs: ${tool} ${JSON.stringify(a)}, from character ${at}\n  baseline: …${theirs.slice(from, at + 250)}\n  this:     …${mine.slice(from, at + 250)}`);
      }
    }
    process.stdout.write(`${calls.length} answers compared (${errors} of them errors, compared too): ${differ} differ\n`);
    if (differ) process.exitCode = 1;
    const rounds = numArg(args, 'time', 0);
    const timedTools = (args.get('tools') ?? 'recommend_by_genre').split(',');
    if (rounds > 0) {
      for (const tool of timedTools) await timeHandlers(tool, here, there, toolArgsFor(here.catalog)[tool]!, rounds);
    }
  } finally {
    cleanup();
  }
}

await main();
