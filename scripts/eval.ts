// Offline evaluation of the recommenders: `npm run eval` scores both datasets in ../shared/data (or MUSIC_DATASET_DIR),
// each through its published snapshot: `--data-dir <dataset>=<dir>` reuses a data dir built by `npm run pipeline`,
// otherwise the pipeline builds one in a temporary dir. `--dataset <name>` (repeatable) limits the run to those.
// Prints a markdown report; `--out docs/EVALUATION.md` writes it between the eval markers there.
// Metric variants: `--variant blend=0.5,decay=0.5,decay-tracks=5,power=1,neighbours=10,hub=0.2,down=1,above=1,among=artists,rounds=1,occurrence=answers,by=artist` (repeatable; power=0: no local scaling; see LocalScaleSpec) adds a row per
// variant to the artist-disjoint split; `--split artist-disjoint` runs one split only; `--no-tables` skips the mood and
// genre tables.
import os from 'node:os';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { ARTIST_BLEND, ARTIST_BLEND_DECAY, Catalog, LOCAL_SCALE, trackLabels, type PrepareOptions } from '../src/catalog/catalog.js';
import { artistDisjointSides, isTestTrack, standardize, type Side } from '../src/catalog/embedding.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { recommend, type Attribute, type Bounds } from '../src/catalog/recommend.js';
import type { Snapshot } from '../src/catalog/snapshot.js';
import { FEATURE_BY_NAME, METRIC_FEATURES } from '../src/features.js';
import { silentLogger } from '../src/log.js';
import { createServer } from '../src/server.js';
// The moods the product defines, as ranges of the served catalog (src/catalog/moods.ts, distribution.ts).
import { fitsMood, moodArgs } from '../src/catalog/distribution.js';
import { givenDataDirs, optionValues, snapshotFor, writeSection } from './eval-data.js';
import { entropyBits, skewness, topShare } from './eval-measures.js';

const DATASETS = ['spotify_tracks_maharshipandya', 'tidytuesday_spotify_songs'];
const K = 10;
const SAME_ARTIST_MAX = 2;
/** How many nearest tracks the brute-force kNN keeps before the shared answer rules pick 10. */
const KNN_SHORTLIST = 60;
/** The z-scored kNN baseline's inputs: the learned metric's audio-analysis features (src/features.ts). */
const AUDIO = METRIC_FEATURES.filter((f) => FEATURE_BY_NAME.get(f)!.origin === 'audio-analysis');

const args = process.argv.slice(2);
const given = givenDataDirs(args);
const only = optionValues(args, '--dataset');
const onlySplits = optionValues(args, '--split');
const tables = !args.includes('--no-tables');
/** A metric variant from `blend=…,power=…,neighbours=…` (unnamed keys keep the product's values). */
function variant(spec: string): { label: string; options: PrepareOptions } {
  const kv = new Map(spec.split(',').map((p) => p.split('=', 2) as [string, string]));
  const num = (key: string, fallback: number) => {
    const v = kv.has(key) ? Number(kv.get(key)) : fallback;
    if (!Number.isFinite(v)) throw new Error(`--variant ${spec}: ${key} must be a number`);
    return v;
  };
  const blend = num('blend', ARTIST_BLEND);
  const decayTracks = num('decay-tracks', ARTIST_BLEND_DECAY?.tracks ?? 1);
  const decayPower = num('decay', ARTIST_BLEND_DECAY?.power ?? 0);
  const power = num('power', LOCAL_SCALE.power);
  const neighbours = num('neighbours', LOCAL_SCALE.neighbours);
  const hub = num('hub', LOCAL_SCALE.hub ?? 0);
  const among = kv.get('among') ?? LOCAL_SCALE.among ?? 'songs';
  if (among !== 'songs' && among !== 'artists') throw new Error(`--variant ${spec}: among must be songs or artists`);
  const hubOnlyDown = num('down', LOCAL_SCALE.hubOnlyDown ? 1 : 0) === 1;
  const hubRounds = num('rounds', LOCAL_SCALE.hubRounds ?? 1);
  const hubAbove = num('above', LOCAL_SCALE.hubAbove ?? 1);
  const occurrence = kv.get('occurrence') ?? LOCAL_SCALE.occurrence ?? 'neighbours';
  if (occurrence !== 'neighbours' && occurrence !== 'answers') throw new Error(`--variant ${spec}: occurrence must be neighbours or answers`);
  const hubBy = kv.get('by') ?? LOCAL_SCALE.hubBy ?? 'track';
  if (hubBy !== 'track' && hubBy !== 'artist') throw new Error(`--variant ${spec}: by must be track or artist`);
  const correction = hub ? `, hub correction ^${hub}${hubOnlyDown ? ` on hubs only${hubAbove !== 1 ? ` (N_k > ${hubAbove}k)` : ''}` : ''}${hubRounds !== 1 ? ` × ${hubRounds} rounds` : ''}${occurrence === 'answers' ? ' (N_k as answer lists)' : ''}${hubBy === 'artist' ? ' (N_k the artist mean)' : ''}` : '';
  return {
    label: `blend ${blend}${decayPower ? ` × min(1, (${decayTracks} / artist's tracks)^${decayPower})` : ''}, ${power ? `local scale (σ over ${neighbours} nearest of other ${among})^${power}${correction}` : 'no local scale'}`,
    options: { blend, blendDecay: decayPower ? { tracks: decayTracks, power: decayPower } : null, localScale: power ? { neighbours, power, hub, among, hubOnlyDown, hubAbove, hubRounds, occurrence, hubBy } : null },
  };
}
const variants = optionValues(args, '--variant').map(variant);
const f = (v: number, d = 3) => v.toFixed(d);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

interface Row {
  method: string; precision: number; diversity: number; artistSpread: number; coverage: number; popularity: number;
  skew: number; top1: number; ms: number;
}
interface SplitResult { name: string; seeds: number; fitTracks: number; neither: number; rows: Row[] }

async function evaluate(dataset: string, snap: Snapshot): Promise<string> {
  const started = performance.now();
  const catalog = new Catalog(snap);
  const n = catalog.size;
  const t = snap.tracks;
  const D = AUDIO.length;
  const x = new Float64Array(n * D);
  for (let i = 0; i < n; i++) AUDIO.forEach((a, j) => (x[i * D + j] = catalog.attribute(i, a) ?? NaN));
  const Z = standardize(x, n, D).z;
  const zdist = (a: number, b: number) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += (Z[a * D + j]! - Z[b * D + j]!) ** 2;
    return s;
  };
  const labels = Array.from({ length: n }, (_, i) => trackLabels(snap, i));

  /** Pick answers from a ranked candidate list under the shared rules: not the seed's song, ≤2 by the seed's artist. */
  function take(seed: number, ranked: Iterable<number>): number[] {
    const out: number[] = [];
    const songs = new Set<string>([catalog.canonicalId(seed)]);
    const artist = catalog.primaryArtist(seed);
    let same = 0;
    for (const i of ranked) {
      if (out.length >= K) break;
      const s = catalog.canonicalId(i);
      if (songs.has(s)) continue;
      if (artist && catalog.primaryArtist(i) === artist) {
        if (same >= SAME_ARTIST_MAX) continue;
        same++;
      }
      songs.add(s);
      out.push(i);
    }
    return out;
  }

  /** Exact z-scored audio kNN: a brute-force shortlist of the nearest tracks, the whole catalog sorted if the rules empty it. */
  const bestD = new Float64Array(KNN_SHORTLIST);
  const bestI = new Int32Array(KNN_SHORTLIST);
  function knn(seed: number): number[] {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const d = zdist(i, seed);
      if (m === KNN_SHORTLIST && d >= bestD[m - 1]!) continue;
      let j = m < KNN_SHORTLIST ? m++ : m - 1;
      while (j > 0 && bestD[j - 1]! > d) {
        bestD[j] = bestD[j - 1]!;
        bestI[j] = bestI[j - 1]!;
        j--;
      }
      bestD[j] = d;
      bestI[j] = i;
    }
    const out = take(seed, bestI.subarray(0, m));
    if (out.length === K || m < KNN_SHORTLIST) return out;
    return take(seed, [...Array(n).keys()].sort((a, b) => zdist(a, seed) - zdist(b, seed) || a - b));
  }

  const popularOrder = [...Array(n).keys()].sort((a, b) => catalog.popularity(b) - catalog.popularity(a) || (t.track_id[a]! < t.track_id[b]! ? -1 : 1));
  const similar = (c: Catalog) => (seed: number) =>
    take(seed, recommend(c, { seeds: [{ type: 'track', id: t.track_id[seed]!, index: seed }], bounds: {}, limit: K + 5, includeExplicit: true, maxPerArtist: undefined, diversity: 0, genreFilter: false }).tracks.map((r) => c.indexOf(r.track_id)!));

  function runSplit(name: string, sides: readonly Side[], metric: Catalog, extra: Record<string, Catalog> = {}): SplitResult {
    const seeds = [...Array(n).keys()].filter((i) => sides[i] === 'test' && labels[i]!.length);
    let rng = 42;
    const random = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const methods: Record<string, (seed: number) => number[]> = {
      random: (seed) => take(seed, Array.from({ length: 200 }, () => Math.floor(random() * n))),
      'most-popular': (seed) => take(seed, popularOrder),
      'z-scored audio kNN (12 features)': knn,
      'similar_tracks (learned metric)': similar(metric),
      ...Object.fromEntries(Object.entries(extra).map(([label, c]) => [`similar_tracks · ${label}`, similar(c)])),
    };
    const rows: Row[] = [];
    for (const [method, fn] of Object.entries(methods)) {
      const t0 = performance.now();
      let precision = 0;
      let diversity = 0;
      let spread = 0;
      let pop = 0;
      let answers = 0;
      const occurrences = new Float64Array(n);
      for (const seed of seeds) {
        const out = fn(seed);
        const sl = new Set(labels[seed]);
        let p = 0;
        for (const a of out) {
          const la = labels[a]!;
          p += la.length ? la.filter((l) => sl.has(l)).length / la.length : 0;
          occurrences[a]!++;
          pop += catalog.popularity(a);
        }
        answers += out.length;
        precision += p / K;
        let d = 0;
        let pairs = 0;
        for (let i = 0; i < out.length; i++) for (let j = i + 1; j < out.length; j++, pairs++) d += Math.sqrt(zdist(out[i]!, out[j]!));
        diversity += pairs ? d / pairs : 0;
        spread += new Set(out.map((a) => catalog.primaryArtist(a) ?? `#${a}`)).size / K;
      }
      const s = seeds.length;
      const covered = occurrences.reduce((c, o) => c + (o > 0 ? 1 : 0), 0);
      rows.push({
        method, precision: precision / s, diversity: diversity / s, artistSpread: spread / s, coverage: covered / n, popularity: pop / answers,
        skew: skewness(occurrences), top1: topShare(occurrences, 0.01), ms: (performance.now() - t0) / s,
      });
      process.stderr.write(`${dataset} · ${name} · ${method}: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
    return { name, seeds: seeds.length, fitTracks: sides.filter((s) => s === 'fit').length, neither: sides.filter((s) => s === 'none').length, rows };
  }

  const trackSides: Side[] = Array.from({ length: n }, (_, i) => (isTestTrack(t.track_id[i]!) ? 'test' : 'fit'));
  const artistSides = artistDisjointSides(n, (i) => catalog.artistKeys(i), (i) => t.track_id[i]!);
  const fitOn = (i: number) => artistSides[i] === 'fit';
  const splits = [
    ...(!onlySplits.length || onlySplits.includes('track-level') ? [runSplit('track-level', trackSides, catalog)] : []),
    ...(!onlySplits.length || onlySplits.includes('artist-disjoint')
      ? [runSplit('artist-disjoint', artistSides, new Catalog(snap, { fitOn }), Object.fromEntries(variants.map((v) => [v.label, new Catalog(snap, { ...v.options, fitOn })])))]
      : []),
  ];
  const moodLines = tables ? await moodTable(catalog) : [];
  const genreLines = tables ? genreFilterSection(catalog, snap) : [];
  const seconds = (performance.now() - started) / 1000;

  const table = (s: SplitResult) => {
    const base = s.rows.find((r) => r.method.startsWith('z-scored'))!;
    return [
      '| method | label precision@10 | × kNN baseline | diversity | artist spread | coverage | N₁₀ skewness | top-1% share | mean popularity | ms / query |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...s.rows.map((r) => `| ${r.method} | ${f(r.precision)} | ${f(r.precision / base.precision, 2)} | ${f(r.diversity, 2)} | ${f(r.artistSpread, 2)} | ${pct(r.coverage)} | ${f(r.skew, 2)} | ${pct(r.top1)} | ${f(r.popularity, 1)} | ${f(r.ms, 2)} |`),
    ];
  };
  const verdict = (s: SplitResult) => {
    const base = s.rows.find((r) => r.method.startsWith('z-scored'))!;
    const ours = s.rows.find((r) => r.method === 'similar_tracks (learned metric)')!;
    const ratio = ours.precision / base.precision;
    const hub = ours.skew <= base.skew && ours.top1 <= base.top1;
    return `Target on this split: precision ≥ 1.5× the kNN baseline (${f(ratio, 2)}×: ${ratio >= 1.5 ? 'met' : 'not met'}); hubness no worse than kNN's ` +
      `(skewness ${f(ours.skew, 2)} vs ${f(base.skew, 2)}, top-1% share ${pct(ours.top1)} vs ${pct(base.top1)}: ${hub ? 'met' : 'not met'}).`;
  };
  return [
    `### ${dataset}`,
    '',
    `Snapshot ${catalog.version} · ${n.toLocaleString('en-US')} tracks · ${catalog.artists.length.toLocaleString('en-US')} artists · ` +
      `${snap.genres.length} genre labels · evaluated in ${seconds.toFixed(0)} s (both splits, every seed, mood and genre tables) ` +
      `on ${machine()}, load average ${os.loadavg()[0]!.toFixed(1)} at the end.`,
    '',
    ...splits.flatMap((s) => [
      `#### ${s.name} split: ${s.seeds.toLocaleString('en-US')} seeds (every test track with a label), metric fitted on ${s.fitTracks.toLocaleString('en-US')} tracks` +
        (s.neither ? `, ${s.neither.toLocaleString('en-US')} co-credited across the sides in neither` : ''),
      '',
      ...table(s),
      '',
      verdict(s),
      '',
    ]),
    ...moodLines,
    ...genreLines,
  ].join('\n');
}

function machine(): string {
  const cpu = os.cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}`;
}

/** The mood table: each mood's bounds passed to recommend_by_genre without a genre, over the MCP protocol (the real tool path). */
async function moodTable(catalog: Catalog): Promise<string[]> {
  const holder = CatalogHolder.of(catalog, silentLogger);
  const { server } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 0 });
  const client = new Client({ name: 'eval', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  await client.listTools();
  const lines = [
    '#### Mood targeting: recommend_by_genre with each mood\'s bounds and no genre (limit 100)',
    '',
    '| mood | bounds | tracks returned | inside every range | distinct genres | genre entropy (bits) | catalog tracks inside the ranges | genres among them |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const mood of catalog.distribution.moods) {
    const args = moodArgs(mood);
    const inside = (value: (feature: string) => number | null | undefined) => fitsMood(mood, (ft) => value(ft) ?? null);
    const result = (await client.callTool({ name: 'recommend_by_genre', arguments: { limit: 100, ...args } })) as {
      isError?: boolean; content: { text?: string }[]; structuredContent?: { tracks: { features: Record<string, number>; genres: string[] }[] };
    };
    if (result.isError) throw new Error(`recommend_by_genre for the mood ${mood.mood}: ${result.content[0]?.text}`);
    const tracks = result.structuredContent!.tracks;
    const weights = new Map<string, number>();
    for (const tr of tracks) for (const g of tr.genres) weights.set(g, (weights.get(g) ?? 0) + 1 / tr.genres.length);
    const ok = tracks.filter((tr) => inside((ft) => tr.features[ft])).length;
    let pool = 0;
    const poolGenres = new Set<string>();
    for (let i = 0; i < catalog.size; i++) {
      if (!inside((ft) => catalog.attribute(i, ft))) continue;
      pool++;
      for (const g of catalog.track(i).genres) poolGenres.add(g);
    }
    const bounds = Object.entries(args).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| ${mood.mood} | ${bounds} | ${tracks.length} | ${tracks.length ? pct(ok / tracks.length) : 'n/a'} | ${weights.size} | ${f(entropyBits(weights.values()), 2)} | ${pool.toLocaleString('en-US')} | ${poolGenres.size} |`);
  }
  await client.close();
  return [...lines, ''];
}

/** recommend_by_genre as a filter: constraint satisfaction and distance to targets, over every genre label. */
function genreFilterSection(catalog: Catalog, snap: Snapshot): string[] {
  const genreCases: { genre: string; bounds: Bounds }[] = [];
  const targetsFor: Attribute[] = ['energy', 'valence', 'danceability', 'acousticness', 'tempo', 'loudness'];
  for (const g of snap.genres) {
    genreCases.push({ genre: g.genre, bounds: { energy: { min: 0.6 }, valence: { min: 0.5 }, popularity: { min: 30 } } });
    genreCases.push({ genre: g.genre, bounds: { energy: { max: 0.5 }, acousticness: { min: 0.3 }, tempo: { min: 70, max: 120 } } });
    for (const a of targetsFor) {
      const p = g.features[a];
      if (p?.p25 !== null && p?.p25 !== undefined) genreCases.push({ genre: g.genre, bounds: { [a]: { target: p.p25 } } });
    }
  }
  let bounded = 0;
  let met = 0;
  const targetDist: Record<string, { sum: number; n: number; baseline: number }> = {};
  for (const c of genreCases) {
    const g = catalog.resolveGenre(c.genre);
    if (!g.ok) continue;
    const r = recommend(catalog, { seeds: [{ type: 'genre', id: c.genre, genre: g.value }], bounds: c.bounds, limit: K, includeExplicit: true, diversity: 0, genreFilter: true });
    const plain = recommend(catalog, { seeds: [{ type: 'genre', id: c.genre, genre: g.value }], bounds: {}, limit: K, includeExplicit: true, diversity: 0, genreFilter: true });
    for (const tr of r.tracks) {
      const i = catalog.indexOf(tr.track_id)!;
      for (const [a, b] of Object.entries(c.bounds) as [Attribute, { min?: number; max?: number; target?: number }][]) {
        const v = catalog.attribute(i, a)!;
        if (b.min !== undefined || b.max !== undefined) {
          bounded++;
          if ((b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max)) met++;
        }
        if (b.target !== undefined) {
          const e = (targetDist[a] ??= { sum: 0, n: 0, baseline: 0 });
          e.sum += Math.abs(v - b.target);
          e.n++;
        }
      }
    }
    for (const [a, b] of Object.entries(c.bounds) as [Attribute, { target?: number }][]) {
      if (b.target === undefined) continue;
      for (const tr of plain.tracks) targetDist[a]!.baseline += Math.abs(catalog.attribute(catalog.indexOf(tr.track_id)!, a)! - b.target) / plain.tracks.length * (r.tracks.length);
    }
  }
  return [
    '#### recommend_by_genre with the genre as a filter',
    '',
    `${genreCases.length} requests over every genre label: two sets of min/max bounds and one target per attribute (the genre's 25th percentile).`,
    `min/max constraints met: ${met} of ${bounded} bounded attribute values (${f((100 * met) / Math.max(bounded, 1), 1)}%).`,
    '',
    '| attribute | mean |value − target| with target | without target (same genre) |',
    '|---|---|---|',
    ...Object.entries(targetDist).map(([a, e]) => `| ${a} | ${f(e.sum / e.n, a === 'tempo' || a === 'loudness' ? 2 : 3)} | ${f(e.baseline / e.n, a === 'tempo' || a === 'loudness' ? 2 : 3)} |`),
    '',
  ];
}

const sections: string[] = [];
const chosen = DATASETS.filter((d) => !only.length || only.includes(d));
for (const dataset of chosen) {
  const { snapshot, cleanup } = await snapshotFor(dataset, given);
  sections.push(await evaluate(dataset, snapshot));
  cleanup();
}
const report = [
  '<!-- eval -->',
  '## Similarity, hubness, coverage and moods',
  '',
  'Command: `npm run eval` (builds each dataset through the pipeline in a temporary dir; `-- --data-dir <dataset>=<dir>` reuses a',
  `built one; \`-- --out docs/EVALUATION.md\` rewrites this section). ms / query is wall time on a`,
  'shared machine (machine and load average under each dataset); compare within a table only.',
  '',
  'Two splits. **Track-level**: a track is a test track when the FNV-1a hash of its id is 0 mod 5. **Artist-disjoint**: an',
  'artist is a test artist when the hash of its key is 0 mod 5; a track is on the test side when all its credited artists are',
  'test artists, on the fitting side when none is, and on neither side when its credits straddle the two, so no artist has',
  'tracks on both sides (`artistDisjointSides` in src/catalog/embedding.ts). The learned metric is fitted on the fitting',
  'side\'s labels only; seeds are the test side\'s tracks, every one of them; candidates are every other track in the catalog.',
  'No ranker reads any genre/subgenre/playlist label at query time. The seed\'s own song is excluded and at most 2 of the 10',
  'answers may share the seed\'s artist (applied to every method).',
  '',
  '**label precision@10**: each answer scores the fraction of its own labels (subgenres; genres where there are none) that the seed',
  'shares, averaged. **diversity**: mean pairwise distance of the 10 answers in z-scored audio-feature space. **artist spread**:',
  'distinct primary artists / 10. **coverage**: distinct tracks recommended over all seeds / catalog size. **N₁₀ skewness**: the',
  'skewness of the k-occurrence N₁₀ (how many seeds\' answer lists hold a track) over every catalog track; high means a few "hub"',
  'tracks answer for everyone. **top-1% share**: the share of all answer slots taken by the 1% most recommended tracks.',
  '',
  ...sections.flatMap((s) => [s, '']),
  '<!-- /eval -->',
].join('\n');
process.stdout.write(`${report}\n`);
const out = optionValues(args, '--out')[0];
if (out) writeSection(out, 'eval', report);
