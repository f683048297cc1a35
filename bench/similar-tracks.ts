/**
 * similar_tracks and seeded recommend_by_genre with and without the metric's local scaling, in one process.
 *
 *   npx tsx bench/similar-tracks.ts --data-dir=DIR [--seeds=400] [--rounds=3]
 *
 * Two catalogs are prepared from the same published snapshot of DIR: the metric as served (local scaling,
 * LOCAL_SCALE in src/catalog/catalog.ts) and the same metric without it (the ranking served before). Each
 * round answers the same requests on both, interleaved, through the tools' own code (resolveSeeds +
 * runRecommendation, the handlers minus the protocol): similar_tracks from one seed track (limit 10, the
 * tool's default of 2 per artist), similar_tracks from two seed tracks, and recommend_by_genre with the
 * seed track's genre and the seed track. Reports the median and p90 per request kind and the ratio of
 * medians, with the load average (the machine is shared: compare the two columns, not runs).
 */
import { Catalog } from '../src/catalog/catalog.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { resolveSeeds, runRecommendation } from '../tools/recommend-shared.js';
import { loadAverage, log, machineNotes, ms, numArg, parseArgs, summarize } from './lib.js';
import { join } from 'node:path';

const args = parseArgs();
const dir = args.get('data-dir');
if (!dir) throw new Error('--data-dir=DIR (a data dir built by `npm run pipeline`) is required');
const seedCount = numArg(args, 'seeds', 400);
const rounds = numArg(args, 'rounds', 3);

const snapshot = await readSnapshot(join(dir, 'snapshots'));
const t0 = performance.now();
const plain = new Catalog(snapshot, { localScale: null });
const t1 = performance.now();
const scaled = new Catalog(snapshot);
const t2 = performance.now();
log(`prepared: without local scaling ${ms(t1 - t0)} ms, with it ${ms(t2 - t1)} ms`);

const n = plain.size;
const seeds = Array.from({ length: seedCount }, (_, s) => Math.floor(((s + 0.5) / seedCount) * n));
const base = { limit: 10, include_explicit: true, diversity: 0 };
const kinds: Record<string, (seed: number, c: Catalog) => unknown> = {
  'similar_tracks, 1 seed track': (seed, c) => run(c, [], { ...base, seed_tracks: [c.trackId(seed)] }, false),
  'similar_tracks, 2 seed tracks': (seed, c) => run(c, [], { ...base, seed_tracks: [c.trackId(seed), c.trackId((seed + 7919) % n)] }, false),
  'recommend_by_genre, genre + seed track': (seed, c) => run(c, [c.track(seed).genres[0] ?? ''], { ...base, seed_tracks: [c.trackId(seed)] }, true),
};

function run(c: Catalog, genres: string[], a: typeof base & { seed_tracks: string[] }, genreFilter: boolean): void {
  const s = resolveSeeds(c, genres.filter(Boolean), a);
  if (!Array.isArray(s)) throw new Error(`seeds did not resolve: ${JSON.stringify(s)}`);
  const r = runRecommendation(c, s, a, genreFilter && genres.some(Boolean), genreFilter ? undefined : 2);
  if (r.isError) throw new Error(`request failed: ${JSON.stringify(r.content)}`);
}

const times = new Map<string, { plain: number[]; scaled: number[] }>();
for (let round = 0; round <= rounds; round++) {
  for (const [kind, fn] of Object.entries(kinds)) {
    const t = times.get(kind) ?? { plain: [], scaled: [] };
    times.set(kind, t);
    for (const seed of seeds) {
      for (const [name, c] of [['plain', plain], ['scaled', scaled]] as const) {
        const a = performance.now();
        fn(seed, c);
        if (round > 0) t[name].push(performance.now() - a); // round 0 warms up
      }
    }
  }
}

// Why: how many tracks the k-d tree computes a distance for in a one-seed search for the first 30 (what similar_tracks
// asks for first at limit 10; growingShortlist in src/catalog/recommend.ts) and for the whole shortlist of 250, same
// anchors and width as similar_tracks, other songs only.
const scoredRows = (c: Catalog, k: number): number[] => seeds.map((seed) => {
  const song = c.songIndex[seed]!;
  return c.metric.search([Float64Array.from(c.vector(seed))], 1 / (c.embeddingScale * c.localScale(seed)), (i) => c.songIndex[i] !== song, c.topK(k));
});

const lines = [
  `similar_tracks latency, ${snapshot.manifest.version} (${n.toLocaleString('en-US')} tracks), ${seedCount} seeds × ${rounds} rounds, interleaved.`,
  `Machine: ${machineNotes()}; load average ${loadAverage()} at the end.`,
  '',
  '| request | without local scaling p50 / p90 (ms) | with local scaling p50 / p90 (ms) | ratio of medians |',
  '|---|---|---|---|',
  ...[...times].map(([kind, t]) => {
    const p = summarize(t.plain);
    const s = summarize(t.scaled);
    return `| ${kind} | ${ms(p.p50)} / ${ms(p.p90)} | ${ms(s.p50)} / ${ms(s.p90)} | ${(s.p50 / p.p50).toFixed(2)} |`;
  }),
  '',
  ...[30, 250].map((k) => `Tracks whose distance the k-d tree computed per one-seed search for ${k} (of ${n.toLocaleString('en-US')}), median: ${summarize(scoredRows(plain, k)).p50.toFixed(0)} without local scaling, ${summarize(scoredRows(scaled, k)).p50.toFixed(0)} with it.`),
  '',
  `Catalog preparation from the marts (publish-time work): ${ms(t1 - t0)} ms without local scaling, ${ms(t2 - t1)} ms with it.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
