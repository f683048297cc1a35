// Evaluation of playlist sequencing: `npm run eval:sequence` (reads the published snapshot of
// MUSIC_DATA_DIR; run `npm run pipeline` first). For lists the product really returns — recommend_by_genre
// for every genre and similar_tracks for seeded tracks, 20 tracks each — it compares the share of smooth
// transitions (tempo and energy steps within the default bounds, compatible keys) and the arc error of
// the rank order, a random order and the sequenced order for each arc. Prints a markdown table.
import { cpus, loadavg } from 'node:os';
import { Catalog } from '../src/catalog/catalog.js';
import { recommend } from '../src/catalog/recommend.js';
import { ARCS, DEFAULT_LIMITS, judge, sequence, type Arc, type SequenceItem } from '../src/catalog/sequence.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { sequenceItem } from '../tools/sequence-shared.js';
import { prng } from './lib/prng.js';

const LIST = 20;
const config = loadConfig();
const snap = await readSnapshot(config.snapshotDir);
const catalog = new Catalog(snap);
const random = prng(20261206);

/** The lists to order: one recommend_by_genre list per genre and subgenre, one similar_tracks list per sampled seed. */
const lists: SequenceItem[][] = [];
for (const g of catalog.genres) {
  const genre = catalog.resolveGenre(g.genre);
  if (!genre.ok) continue;
  const r = recommend(catalog, { seeds: [{ type: 'genre', id: g.genre, genre: genre.value }], bounds: {}, genreFilter: true, limit: LIST, includeExplicit: true, diversity: 0 });
  if (r.tracks.length === LIST) lists.push(r.tracks.map(sequenceItem));
}
const genreLists = lists.length;
for (let s = 0; s < 200; s++) {
  const index = Math.floor(random() * catalog.size);
  const r = recommend(catalog, { seeds: [{ type: 'track', id: catalog.trackId(index), index }], bounds: {}, genreFilter: false, limit: LIST, includeExplicit: true, maxPerArtist: 2, diversity: 0 });
  if (r.tracks.length === LIST) lists.push(r.tracks.map(sequenceItem));
}

const shuffled = (n: number) => {
  const order = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

type Row = { order: string; arc: Arc; smooth: number; tempo: number; energy: number; key: number; arcError: number; ms: number };
const rows: Row[] = [];
const measure = (label: string, arc: Arc, orderOf: (items: SequenceItem[]) => number[]) => {
  const smooth: number[] = [], tempo: number[] = [], energy: number[] = [], key: number[] = [], err: number[] = [];
  const t0 = performance.now();
  const orders = lists.map(orderOf);
  const ms = (performance.now() - t0) / lists.length;
  lists.forEach((items, i) => {
    const q = judge(items, orders[i]!, arc, DEFAULT_LIMITS);
    const share = (f: (t: (typeof q.transitions)[number]) => boolean) => q.transitions.filter(f).length / q.transitions.length;
    smooth.push(q.smoothness);
    tempo.push(share((t) => t.tempoOk));
    energy.push(share((t) => t.energyOk));
    key.push(share((t) => t.keyOk));
    err.push(q.arcError);
  });
  rows.push({ order: label, arc, smooth: mean(smooth), tempo: mean(tempo), energy: mean(energy), key: mean(key), arcError: mean(err), ms });
};

for (const arc of ARCS) {
  measure('rank order (as returned)', arc, (items) => items.map((_, i) => i));
  measure('random order', arc, (items) => shuffled(items.length));
  measure('sequenced', arc, (items) => sequence(items, arc, DEFAULT_LIMITS));
}

const out = [
  `Command: \`MUSIC_DATA_DIR=<dir> npm run eval:sequence\` · snapshot ${catalog.version} (${snap.manifest.source?.dataset ?? 'dataset'}) · ` +
    `${lists.length} lists of ${LIST} (${genreLists} recommend_by_genre, one per genre; ${lists.length - genreLists} similar_tracks from random seeds) · ` +
    `bounds ±${DEFAULT_LIMITS.maxTempoStep} BPM, ±${DEFAULT_LIMITS.maxEnergyStep} energy · load average ${loadavg()[0]!.toFixed(2)} on ${cpus()[0]?.model ?? 'unknown CPU'}`,
  '',
  '| arc | order | smooth transitions | tempo within | energy within | keys compatible | arc error | ms / list |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.arc} | ${r.order} | ${pct(r.smooth)} | ${pct(r.tempo)} | ${pct(r.energy)} | ${pct(r.key)} | ${r.arcError.toFixed(3)} | ${r.ms.toFixed(2)} |`),
];
process.stdout.write(`${out.join('\n')}\n`);
