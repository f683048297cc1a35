// Offline evaluation of the recommenders: `npm run eval` (reads the published snapshot of MUSIC_DATA_DIR;
// run `npm run pipeline` first). Prints a markdown report; `--out docs/EVALUATION.md` writes it.
import { writeFileSync } from 'node:fs';
import { Catalog, trackLabels } from '../src/catalog/catalog.js';
import { isTestTrack, standardize } from '../src/catalog/embedding.js';
import { recommend, type Attribute, type Bounds } from '../src/catalog/recommend.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const config = loadConfig();
const snap = await readSnapshot(config.snapshotDir);
const catalog = new Catalog(snap);
const n = catalog.size;
const t = snap.tracks;
const K = 10;
const SAME_ARTIST_MAX = 2;

const AUDIO = ['danceability', 'energy', 'key', 'loudness', 'mode', 'speechiness', 'acousticness', 'instrumentalness', 'liveness', 'valence', 'tempo', 'duration_ms'] as const;
const x = new Float64Array(n * AUDIO.length);
for (let i = 0; i < n; i++) AUDIO.forEach((f, j) => (x[i * AUDIO.length + j] = catalog.attribute(i, f) ?? NaN));
const Z = standardize(x, n, AUDIO.length).z;
const D = AUDIO.length;
const zdist = (a: number, b: number) => {
  let s = 0;
  for (let j = 0; j < D; j++) s += (Z[a * D + j]! - Z[b * D + j]!) ** 2;
  return s;
};

const labels = Array.from({ length: n }, (_, i) => trackLabels(snap, i));
const allSeeds = [...Array(n).keys()].filter((i) => isTestTrack(t.track_id[i]!) && labels[i]!.length);
const every = Number(opt('--every') ?? 1);
const seeds = allSeeds.filter((_, j) => j % every === 0);

/** Pick answers from a ranked candidate list under the shared rules: not the seed's song, ≤2 by the seed's artist. */
function take(seed: number, ranked: Iterable<number>): number[] {
  const out: number[] = [];
  const song = catalog.canonicalId(seed);
  const artist = catalog.primaryArtist(seed);
  const songs = new Set<string>([song]);
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

function* byScore(score: (i: number) => number): Generator<number> {
  const order = [...Array(n).keys()].sort((a, b) => score(a) - score(b) || (t.track_id[a]! < t.track_id[b]! ? -1 : 1));
  yield* order;
}

let rng = 42;
const random = () => ((rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const popularOrder = [...Array(n).keys()].sort((a, b) => catalog.popularity(b) - catalog.popularity(a) || (t.track_id[a]! < t.track_id[b]! ? -1 : 1));

const methods: Record<string, (seed: number) => number[]> = {
  random: (seed) => {
    const picks: number[] = [];
    while (picks.length < 200) picks.push(Math.floor(random() * n));
    return take(seed, picks);
  },
  'most-popular': (seed) => take(seed, popularOrder),
  'z-scored audio kNN (12 features)': (seed) => take(seed, byScore((i) => zdist(i, seed))),
  'similar_tracks (learned metric)': (seed) =>
    take(seed, recommend(catalog, { seeds: [{ type: 'track', id: t.track_id[seed]!, index: seed }], bounds: {}, limit: K + 5, includeExplicit: true, maxPerArtist: undefined, diversity: 0, genreFilter: false }).tracks.map((r) => catalog.indexOf(r.track_id)!)),
};

interface Row { method: string; precision: number; diversity: number; artistSpread: number; coverage: number; popularity: number; ms: number }
const rows: Row[] = [];
for (const [method, fn] of Object.entries(methods)) {
  const started = performance.now();
  let precision = 0;
  let diversity = 0;
  let spread = 0;
  let pop = 0;
  let answers = 0;
  const covered = new Set<number>();
  for (const seed of seeds) {
    const out = fn(seed);
    const sl = new Set(labels[seed]);
    let p = 0;
    for (const a of out) {
      const la = labels[a]!;
      p += la.length ? la.filter((l) => sl.has(l)).length / la.length : 0;
      covered.add(a);
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
  rows.push({ method, precision: precision / s, diversity: diversity / s, artistSpread: spread / s, coverage: covered.size / n, popularity: pop / answers, ms: (performance.now() - started) / s });
  process.stderr.write(`${method}: done\n`);
}

// recommend_by_genre as a filter: constraint satisfaction and distance to targets.
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

const base = rows.find((r) => r.method.startsWith('z-scored'))!;
const ours = rows.find((r) => r.method.startsWith('similar_tracks'))!;
const f = (v: number, d = 3) => v.toFixed(d);
const lines = [
  '# Recommendation quality',
  '',
  `Command: \`MUSIC_DATA_DIR=<dir built by npm run pipeline> npm run eval${every > 1 ? ` -- --every ${every}` : ''}\` · snapshot ${catalog.version} (${snap.manifest.source.dataset}) · ${n.toLocaleString('en-US')} tracks · ${seeds.length.toLocaleString('en-US')} test seeds`,
  '',
  'Split: a track is in the test split when the FNV-1a hash of its id is 0 mod 5 (deterministic, ~20%). The learned metric is fitted on the',
  'train split\'s labels only; no ranker reads any genre/subgenre/playlist label at query time. Candidates: every other track in the catalog;',
  'the seed\'s own song is excluded and at most 2 of the 10 answers may share the seed\'s artist (applied to every method).',
  '',
  '**label precision@10**: each answer scores the fraction of its own labels (subgenres; genres where there are none) that the seed shares, averaged.',
  '**diversity**: mean pairwise distance of the 10 answers in z-scored audio-feature space. **artist spread**: distinct primary artists / 10.',
  '**coverage**: distinct tracks recommended over all test seeds / catalog size.',
  '',
  '| method | label precision@10 | × kNN baseline | diversity | artist spread | coverage | mean popularity | ms / query |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.method} | ${f(r.precision)} | ${f(r.precision / base.precision, 2)} | ${f(r.diversity, 2)} | ${f(r.artistSpread, 2)} | ${f(r.coverage * 100, 1)}% | ${f(r.popularity, 1)} | ${f(r.ms, 2)} |`),
  '',
  `Target: precision ≥ 1.25× the kNN baseline (${f(ours.precision / base.precision, 2)}×: ${ours.precision >= 1.25 * base.precision ? 'met' : 'not met'}), diversity not below it (${f(ours.diversity, 2)} vs ${f(base.diversity, 2)}: ${ours.diversity >= base.diversity ? 'met' : 'not met'}), coverage ≥ 50% (${f(ours.coverage * 100, 1)}%: ${ours.coverage >= 0.5 ? 'met' : 'not met'}).`,
  '',
  '## recommend_by_genre with the genre as a filter',
  '',
  `${genreCases.length} requests over every genre label: two sets of min/max bounds and one target per attribute (the genre's 25th percentile).`,
  '',
  `- min/max constraints met: ${met} of ${bounded} bounded attribute values (${f((100 * met) / Math.max(bounded, 1), 1)}%)`,
  '',
  '| attribute | mean |value − target| with target | without target (same genre) |',
  '|---|---|---|',
  ...Object.entries(targetDist).map(([a, e]) => `| ${a} | ${f(e.sum / e.n, a === 'tempo' || a === 'loudness' ? 2 : 3)} | ${f(e.baseline / e.n, a === 'tempo' || a === 'loudness' ? 2 : 3)} |`),
  '',
];
const report = lines.join('\n');
const out = opt('--out');
if (out) writeFileSync(out, report);
process.stdout.write(`${report}\n`);
