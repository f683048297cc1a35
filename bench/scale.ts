/**
 * Scale: synthetic catalogs of 10k → 100k → 1M tracks drawn from the real feature distributions.
 *
 *   npx tsx bench/scale.ts [--sizes=10000,100000,1000000] [--iters=200] [--data-dir=DIR] [--write-docs]
 *
 * SYNTHETIC, for scale only: each track resamples a real row of the built snapshot of --data-dir (its
 * genres, subgenres, key, mode, year, explicit flag) and jitters its audio features (unit features
 * ±N(0, 0.02) clamped to 0–1, loudness ±0.5 dB, tempo ±2 BPM, popularity ±3, duration ±5 s); ids and
 * names are synthetic ("Synthetic Track 123"), and each real artist becomes ⌈N / real tracks⌉
 * synthetic artists whose tracks resample that artist's sound (so artist positions in the learned metric
 * stay meaningful). Artist profiles are copies of the real artist's profile under the synthetic name.
 *
 * Each size runs in a fresh child process (`--child --size=N`, with --expose-gc) so RSS is clean:
 * the Snapshot object is built in memory and passed to `new Catalog(...)` (load time); RSS after a
 * forced GC with the catalog held (the Snapshot stays referenced by the Catalog, as in the server);
 * then recommend_by_genre and similar_tracks through the tools' own code (resolveSeeds +
 * runRecommendation: the handler minus the protocol), p50/p99. Finally, the on-disk path at every size:
 * writeSnapshot (format 2, docs/SNAPSHOT.md) timed with the size of what it wrote, then the server's
 * load (loadCatalog: files read and checked, strings and indexes built in slices) timed, with the
 * longest event-loop delay seen during it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../src/catalog/catalog.js';
import { loadCatalog } from '../src/catalog/holder.js';
import { readSnapshot, TRACK_FEATURES, writeSnapshot, type ArtistProfile, type Snapshot, type TrackColumns } from '../src/catalog/snapshot.js';
import { resolveSeeds, runRecommendation } from '../tools/recommend-shared.js';
import type { DuckDbSession } from '../src/warehouse/duckdb.js';
import {
  benchGenres, builtDataDir, emit, loadAverage, log, machineNotes, met, mb, ms, numArg, parseArgs, prng, REPO_ROOT, summarize, today, type Summary,
} from './lib.js';

const UNIT = new Set(['danceability', 'energy', 'speechiness', 'acousticness', 'instrumentalness', 'liveness', 'valence']);

/** A synthetic snapshot of `size` tracks resampled (with jitter) from a real one. Deterministic for a seed. */
export function syntheticSnapshot(real: Snapshot, size: number, seed = 7, onStage: (stage: 'tracks' | 'artists') => void = () => undefined): Snapshot {
  const rand = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const rt = real.tracks;
  const n = rt.track_id.length;
  const copies = Math.ceil(size / n);
  const realArtists = new Map(real.artists.map((a) => [a.artist_key, a]));

  const features = Object.fromEntries(TRACK_FEATURES.map((f) => [f, new Array<number>(size)])) as TrackColumns['features'];
  const t: TrackColumns = {
    track_id: new Array(size), track_name: new Array(size), album_id: new Array(size), album_name: new Array(size),
    release_year: new Array(size), artist_names: new Array(size), artist_keys: new Array(size), popularity: new Array(size),
    duration_ms: new Array(size), explicit: new Array(size), key: new Array(size), mode: new Array(size),
    time_signature: new Array(size), genres: new Array(size), subgenres: new Array(size), canonical_track_id: new Array(size), features,
  };
  const artistTracks = new Map<string, { source: string; name: string; tracks: number[] }>();
  for (let i = 0; i < size; i++) {
    const r = Math.floor(rand() * n);
    const copy = Math.floor(rand() * copies);
    const source = rt.artist_keys[r]![0] ?? 'unknown';
    const key = `syn-${source}-${copy}`;
    let artist = artistTracks.get(key);
    if (!artist) artistTracks.set(key, (artist = { source, name: `Synthetic Artist ${artistTracks.size + 1}`, tracks: [] }));
    const album = Math.floor(artist.tracks.length / 12);
    artist.tracks.push(i);
    const id = `syn${i.toString(36).padStart(19, '0')}`;
    t.track_id[i] = id;
    t.track_name[i] = `Synthetic Track ${i + 1}`;
    t.album_id[i] = `synalb${key}-${album}`;
    t.album_name[i] = `Synthetic Album ${album + 1} of ${artist.name}`;
    t.release_year[i] = rt.release_year[r]!;
    t.artist_names[i] = [artist.name];
    t.artist_keys[i] = [key];
    t.popularity[i] = clamp(Math.round(rt.popularity[r]! + 3 * gauss()), 0, 100);
    t.duration_ms[i] = Math.max(30_000, Math.round(rt.duration_ms[r]! + 5_000 * gauss()));
    t.explicit[i] = rt.explicit[r]!;
    t.key[i] = rt.key[r]!;
    t.mode[i] = rt.mode[r]!;
    t.time_signature[i] = rt.time_signature[r]!;
    t.genres[i] = rt.genres[r]!.slice();
    t.subgenres[i] = rt.subgenres[r]!.slice();
    t.canonical_track_id[i] = id;
    for (const f of TRACK_FEATURES) {
      const v = rt.features[f][r]!;
      features[f][i] = UNIT.has(f) ? clamp(v + 0.02 * gauss(), 0, 1) : f === 'loudness' ? clamp(v + 0.5 * gauss(), -60, 5) : Math.max(0, v + 2 * gauss());
    }
  }

  // Round-trip every column through JSON: flat strings and fresh arrays, as readSnapshot's JSON.parse makes them.
  const flat = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  for (const k of Object.keys(t) as (keyof TrackColumns)[]) if (k !== 'features') (t as unknown as Record<string, unknown>)[k] = flat(t[k]);
  for (const f of TRACK_FEATURES) features[f] = flat(features[f]);
  onStage('tracks');

  let artists: ArtistProfile[] = [];
  for (const [key, a] of artistTracks) {
    const src = realArtists.get(a.source);
    const base: ArtistProfile = src
      ? structuredClone(src)
      : {
          artist_key: key, artist_name: a.name, track_count: 0, genres: [], subgenres: [], popularity_mean: null, popularity_max: null,
          popularity_min: null, explicit_share: null, feature_means: {}, top_tracks: [], albums: [], first_release_year: null, last_release_year: null,
        };
    const top = a.tracks.slice().sort((x, y) => t.popularity[y]! - t.popularity[x]!).slice(0, 10);
    artists.push({
      ...base,
      artist_key: key,
      artist_name: a.name,
      track_count: a.tracks.length,
      top_tracks: top.map((i) => ({ track_id: t.track_id[i]!, track_name: t.track_name[i]!, popularity: t.popularity[i]! })),
      albums: base.albums.map((al, k) => ({ ...al, album_name: `Synthetic Album ${k + 1} of ${a.name}`, album_id: `synalb${key}-${k}` })),
    });
  }
  artists.sort((a, b) => (a.artist_key < b.artist_key ? -1 : 1));
  const chunks: ArtistProfile[][] = [];
  for (let i = 0; i < artists.length; i += 20_000) chunks.push(flat(artists.slice(i, i + 20_000)));
  artists = chunks.flat();
  artistTracks.clear();
  onStage('artists');

  const genreCounts = new Map<string, number>();
  for (let i = 0; i < size; i++) for (const g of [...t.genres[i]!, ...t.subgenres[i]!]) genreCounts.set(g, (genreCounts.get(g) ?? 0) + 1);
  const genres = real.genres.map((g) => ({ ...g, track_count: genreCounts.get(g.genre) ?? 0 }));
  return {
    manifest: {
      format: real.manifest.format,
      version: `synthetic-${size}`,
      publishedAt: new Date().toISOString(),
      source: { dataset: `SYNTHETIC: resampled with jitter from ${real.manifest.version}`, schema: 'synthetic', rowsRead: null, rowsStaged: null, rowsRejected: null },
      counts: { tracks: size, artists: artists.length, genres: genres.length },
    },
    tracks: t,
    artists,
    genres,
  };
}

/**
 * Synthetic marts of `size` tracks written into a warehouse that holds the real marts (a copy of a built
 * data dir's DuckDB file), replacing them, so that the real publish reads them: the real catalog
 * repeated ⌈size / real tracks⌉ times by SQL inside DuckDB (nothing of it passes through JS). Copy 0 is
 * the real catalog; copy c > 0 renames every id and key with a `~c` suffix and every artist with a
 * ` #c` suffix (each real artist becomes one artist per copy, with its credits, albums and song
 * folding), and jitters the audio features of its tracks (unit features ±0.02 clamped to 0–1, loudness
 * ±0.5 dB, tempo ±2 BPM, popularity ±3, duration ±5 s; uniform, from a hash of id and copy, so the
 * same size gives the same marts), each written with the decimals of its jitter's step (5, 4, 3), as the
 * dataset writes its values with a few decimals rather than as arbitrary doubles. The last copy takes the real tracks in primary-artist order until
 * `size` is reached; each artist's track count and top tracks are those of its copy. Genre profiles
 * keep their statistics with counts scaled to the size. Returns the synthetic counts.
 */
export async function syntheticMarts(db: DuckDbSession, size: number): Promise<{ tracks: number; artists: number; copies: number }> {
  const [{ n }] = (await db.all<{ n: number }>('select count(*) as n from marts.dim_tracks')) as [{ n: number }];
  const copies = Math.ceil(size / n);
  const id = (e: string) => `(case when c = 0 then ${e} else ${e} || '~' || c end)`;
  const name = (e: string) => `(case when c = 0 then ${e} else ${e} || ' #' || c end)`;
  /** Uniform in [-1, 1] from the track, the copy and a salt; 0 in copy 0. */
  const u = (salt: string) => `(case when c = 0 then 0 else (hash(t.track_id, c, '${salt}') % 2001)::double / 1000 - 1 end)`;
  /** A jittered value written with `places` decimals, as the real values are (copy 0 keeps its own). */
  const jitter = (f: string, e: string, places: number) => `(case when c = 0 then t.${f} else round(${e}, ${places}) end) as ${f}`;
  const unit = (f: string) => jitter(f, `least(1, greatest(0, t.${f} + 0.02 * ${u(f)}))`, 5);
  await db.run('create schema if not exists synthetic');
  await db.run(`create or replace table synthetic.copies as
    select t.track_id, c from (select track_id, row_number() over (order by primary_artist_key, track_id) - 1 as rn from marts.dim_tracks) t, range(${copies}) r(c)
    where c * ${n} + rn < ${size}`);
  await db.run(`create or replace table synthetic.dim_tracks as
    select ${id('t.track_id')} as track_id, t.track_name, ${id('t.album_id')} as album_id, t.album_name, t.release_date, t.release_year,
      case when c = 0 then t.artist_names else list_transform(t.artist_names, a -> a || ' #' || c) end as artist_names,
      ${id('t.primary_artist_key')} as primary_artist_key,
      least(100, greatest(0, t.popularity + round(3 * ${u('popularity')})))::integer as popularity,
      greatest(30000, t.duration_ms + round(5000 * ${u('duration')}))::integer as duration_ms, t.explicit,
      ${unit('danceability')}, ${unit('energy')}, t.key, ${jitter('loudness', `least(5, t.loudness + 0.5 * ${u('loudness')})`, 4)}, t.mode,
      ${unit('speechiness')}, ${unit('acousticness')}, ${unit('instrumentalness')}, ${unit('liveness')}, ${unit('valence')},
      ${jitter('tempo', `greatest(0, t.tempo + 2 * ${u('tempo')})`, 3)}, t.time_signature, t.genres, t.subgenres,
      ${id('t.song_key')} as song_key, ${id('t.canonical_track_id')} as canonical_track_id, t.is_canonical, t.is_folded_version
    from marts.dim_tracks t join synthetic.copies using (track_id)`);
  await db.run(`create or replace table synthetic.bridge_track_artists as
    select ${id('b.bridge_key')} as bridge_key, ${id('b.track_id')} as track_id, ${id('b.artist_key')} as artist_key, b.artist_position
    from marts.bridge_track_artists b join synthetic.copies using (track_id)`);
  await db.run(`create or replace table synthetic.artist_profiles as
    with members as (
      select b.artist_key, s.c, count(*) as track_count from marts.bridge_track_artists b join synthetic.copies s using (track_id) group by all
    ), tops as (
      select b.artist_key, list({'track_id': t.track_id, 'track_name': t.track_name, 'popularity': t.popularity} order by t.popularity desc, t.track_id)[1:10] as top_tracks
      from synthetic.bridge_track_artists b join synthetic.dim_tracks t using (track_id) group by all
    )
    select ${id('p.artist_key')} as artist_key, ${name('p.artist_name')} as artist_name, m.track_count::integer as track_count,
      p.* exclude (artist_key, artist_name, track_count, top_tracks, albums),
      coalesce(tops.top_tracks, []) as top_tracks,
      list_transform(p.albums, a -> {'album_name': a.album_name, 'album_id': case when c = 0 then a.album_id else a.album_id || '~' || c end,
        'release_year': a.release_year, 'track_count': a.track_count}) as albums
    from marts.artist_profiles p join members m on m.artist_key = p.artist_key
    left join tops on tops.artist_key = ${id('p.artist_key')}`);
  await db.run(`create or replace table synthetic.genre_profiles as
    select * replace (round(track_count * ${size / n}::double)::integer as track_count, round(artist_count * ${size / n}::double)::integer as artist_count) from marts.genre_profiles`);
  for (const t of ['dim_tracks', 'bridge_track_artists', 'artist_profiles', 'genre_profiles']) {
    await db.run(`drop table marts.${t}`);
    await db.run(`create table marts.${t} as select * from synthetic.${t}`);
  }
  await db.run('drop schema synthetic cascade');
  await db.run('checkpoint');
  const [counts] = await db.all<{ tracks: number; artists: number }>(
    'select (select count(*) from marts.dim_tracks) as tracks, (select count(*) from marts.artist_profiles) as artists',
  );
  return { tracks: counts!.tracks, artists: counts!.artists, copies };
}

/** recommend_by_genre mixes over six genres picked from the catalog (bench/lib.ts benchGenres): one bound mix each. */
function genreArgs(genres: Snapshot['genres']): Record<string, unknown>[] {
  const mixes: Record<string, unknown>[] = [
    {},
    { min_energy: 0.7 },
    { max_energy: 0.5, target_acousticness: 0.7 },
    { min_energy: 0.7, min_valence: 0.7 },
    { include_explicit: false },
    { min_danceability: 0.7 },
  ];
  const picked = benchGenres(genres, mixes.length);
  return mixes.map((m, i) => ({ genre: picked[i % picked.length]!, ...m }));
}

interface ChildResult {
  size: number;
  /** The real catalog resampled: its tracks and where it came from. */
  realTracks: number;
  source: string;
  artists: number;
  buildSnapshotMs: number;
  loadMs: number;
  rssBaseline: number;
  rssSnapshot: number;
  rssCatalog: number;
  /** JS heap after GC with only the Catalog held (the Snapshot released), as the server holds it. */
  heapServing: number;
  heapCatalog: number;
  /** Heap growth of the Snapshot parts: track columns, artist profiles. */
  heapTracks: number;
  heapArtists: number;
  heapSnapshot: number;
  maxRss: number;
  recommend: Summary;
  similar: Summary;
  poolP50: number;
  disk: { error: string | null; writeMs: number | null; MiB: number | null; loadMs: number | null; stallMs: number | null };
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function child(size: number, dataDir: string, iters: number): Promise<ChildResult> {
  gc();
  const rssBaseline = process.memoryUsage().rss;
  let real: Snapshot | null = await readSnapshot(join(dataDir, 'snapshots'));
  const realTracks = real.tracks.track_id.length;
  const source = `${real.manifest.source.dataset}, ${realTracks.toLocaleString('en-US')} tracks`;
  gc();
  const heapBaseline = process.memoryUsage().heapUsed;
  let t = performance.now();
  const heap: Record<string, number> = {};
  let snap: Snapshot | null = syntheticSnapshot(real, size, 7, (stage) => {
    gc();
    heap[stage] = process.memoryUsage().heapUsed;
  });
  const buildSnapshotMs = performance.now() - t;
  const sampleIds = Array.from({ length: 64 }, (_, k) => snap!.tracks.track_id[Math.floor(((k + 0.5) / 64) * size)]!);
  const sampleArtists = Array.from({ length: 64 }, (_, k) => snap!.artists[Math.floor(((k + 0.5) / 64) * snap!.artists.length)]!.artist_name);
  real = null;
  gc();
  const rssSnapshot = process.memoryUsage().rss;
  const heapSnapshot = process.memoryUsage().heapUsed;
  const artistCount = snap.artists.length;
  const GENRE_ARGS = genreArgs(snap.genres);
  t = performance.now();
  const catalog = new Catalog(snap!);
  const loadMs = performance.now() - t;
  gc();
  const rssCatalog = process.memoryUsage().rss;
  const heapCatalog = process.memoryUsage().heapUsed;

  const defaults = { limit: 10, include_explicit: true, diversity: 0 };
  const run = (genre: boolean, n: number) => {
    if (genre) {
      const args = { ...defaults, ...GENRE_ARGS[n % GENRE_ARGS.length]! } as Parameters<typeof runRecommendation>[2] & { genre: string };
      const seeds = resolveSeeds(catalog, [args.genre], args);
      if (!Array.isArray(seeds)) throw new Error(`genre ${args.genre} did not resolve`);
      const r = runRecommendation(catalog, seeds, args, true);
      if (r.isError) throw new Error(JSON.stringify(r.content));
      return (r.structuredContent as { candidates: number }).candidates;
    }
    const args = (n % 2 ? { ...defaults, seed_artists: [sampleArtists[n % 64]!] } : { ...defaults, seed_tracks: [sampleIds[n % 64]!] }) as Parameters<typeof runRecommendation>[2];
    const seeds = resolveSeeds(catalog, [], args);
    if (!Array.isArray(seeds)) throw new Error(`seed did not resolve: ${JSON.stringify(seeds)}`);
    const r = runRecommendation(catalog, seeds, args, false, 2);
    if (r.isError) throw new Error(JSON.stringify(r.content));
    return 0;
  };
  for (let n = 0; n < 12; n++) {
    run(true, n);
    run(false, n);
  }
  const rec: number[] = [];
  const sim: number[] = [];
  const pools: number[] = [];
  for (let n = 0; n < iters; n++) {
    let s = performance.now();
    pools.push(run(true, n));
    rec.push(performance.now() - s);
    s = performance.now();
    run(false, n);
    sim.push(performance.now() - s);
  }
  const maxRss = process.resourceUsage().maxRSS * 1024;

  // The on-disk path: publish's writer, then the server's load.
  const disk: ChildResult['disk'] = { error: null, writeMs: null, MiB: null, loadMs: null, stallMs: null };
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-scale-'));
  try {
    const { manifest, ...rest } = snap;
    const { format: _f, version: _v, ...m } = manifest;
    let t = performance.now();
    const version = await writeSnapshot(dir, { ...rest, manifest: m });
    disk.writeMs = performance.now() - t;
    disk.MiB = readdirSync(join(dir, version)).reduce((sum, f) => sum + statSync(join(dir, version, f)).size, 0) / 2 ** 20;
    gc();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    t = performance.now();
    const served = await loadCatalog(dir, version);
    disk.loadMs = performance.now() - t;
    delay.disable();
    disk.stallMs = delay.max / 1e6;
    if (served.size !== size) throw new Error(`loaded ${served.size} tracks of ${size}`);
  } catch (err) {
    disk.error = (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The server keeps only the Catalog (columnar tracks, profiles, indexes), not the Snapshot it was built from.
  snap = null;
  gc();
  const heapServing = process.memoryUsage().heapUsed;
  return {
    size, realTracks, source, artists: artistCount, buildSnapshotMs, loadMs, rssBaseline, rssSnapshot, rssCatalog, heapServing, heapCatalog, maxRss,
    heapTracks: heap.tracks! - heapBaseline, heapArtists: heap.artists! - heap.tracks!, heapSnapshot,
    recommend: summarize(rec), similar: summarize(sim), poolP50: summarize(pools).p50, disk,
  };
}

function runChild(size: number, dataDir: string, iters: number): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', self, '--child', `--size=${size}`, `--data-dir=${dataDir}`, `--iters=${iters}`], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      const m = /^RESULT (.*)$/m.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1]!) as ChildResult);
      else reject(new Error(`scale child for ${size} exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs();
  const iters = numArg(args, 'iters', 200);
  if (args.has('child')) {
    const r = await child(numArg(args, 'size', 10_000), args.get('data-dir')!, iters);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const sizes = (args.get('sizes') ?? '10000,100000,1000000').split(',').map(Number);
  const { dir, cleanup } = await builtDataDir(args);
  try {
    const results: (ChildResult & { load: string })[] = [];
    for (const size of sizes) {
      const load = loadAverage();
      log(`scale: ${size.toLocaleString('en-US')} tracks (load average ${load})…`);
      const r = await runChild(size, dir, iters);
      log(`scale: ${size}: load ${ms(r.loadMs)} ms, RSS ${mb(r.rssCatalog)}, heap with only the catalog ${mb(r.heapServing)}, recommend p50 ${ms(r.recommend.p50)} ms, similar p50 ${ms(r.similar.p50)} ms`);
      results.push({ ...r, load });
    }
    const big = results[results.length - 1]!;
    const row = (r: (typeof results)[number]) =>
      `| ${r.size.toLocaleString('en-US')} | ${r.artists.toLocaleString('en-US')} | ${ms(r.loadMs)} | ${mb(r.rssCatalog)} | ${mb(r.heapServing)} | ${mb(r.heapTracks)} / ${mb(r.heapArtists)} / ${mb(r.heapCatalog - r.heapSnapshot)} | ${mb(r.maxRss)} | ${ms(r.recommend.p50)} / ${ms(r.recommend.p99)} | ${ms(r.similar.p50)} / ${ms(r.similar.p99)} | ${r.load} |`;
    const opt = (v: number | null, f: (v: number) => string) => (v === null ? '–' : f(v));
    const diskRow = (r: (typeof results)[number]) =>
      `| ${r.size.toLocaleString('en-US')} | ${r.disk.error ? `failed: ${r.disk.error}` : 'yes'} | ${opt(r.disk.writeMs, (v) => `${ms(v)} ms`)} | ${opt(r.disk.MiB, (v) => `${v.toFixed(0)} MiB`)} | ${opt(r.disk.loadMs, (v) => `${ms(v)} ms`)} | ${opt(r.disk.stallMs, (v) => `${ms(v)} ms`)} |`;
    const growth = results.length > 1 ? results.map((r) => `${r.size.toLocaleString('en-US')}: ${ms(r.recommend.p50)} / ${ms(r.similar.p50)} ms`).join(' → ') : '';

    emit(args, 'scale', `
## Scale: synthetic catalogs of ${sizes.map((s) => s.toLocaleString('en-US')).join(' → ')} tracks (\`bench/scale.ts\`)

\`\`\`sh
npx tsx bench/scale.ts --sizes=${sizes.join(',')} --iters=${iters}     # --data-dir=DIR
\`\`\`

**Synthetic, for scale only.** Every track resamples a real row of the snapshot of \`--data-dir\` (${results[0]?.source ?? 'the built dataset'}; genres,
subgenres, key, mode, year, explicit) and jitters its audio features (0–1 features ±N(0, 0.02),
loudness ±0.5 dB, tempo ±2 BPM, popularity ±3, duration ±5 s); ids and names are synthetic; each real
artist becomes ⌈N / ${(results[0]?.realTracks ?? 0).toLocaleString('en-US')}⌉ synthetic artists that resample its tracks, with a copy of its profile.
The \`Snapshot\` object is built in memory and passed to \`new Catalog(...)\`, one fresh child process per size
(\`--expose-gc\`). Latency: the tools' own code in process (\`resolveSeeds\` + \`runRecommendation\`, the handler
minus the protocol), ${iters} calls each after a warm-up; recommend_by_genre rotates 6 genre/bound mixes
(median pool ${results.map((r) => r.poolP50.toLocaleString('en-US')).join(' / ')} candidates), similar_tracks alternates a seed track and a seed artist.

**Machine**: ${machineNotes()}. ${today()}.

| tracks | artists | \`new Catalog\` ms | RSS after GC, catalog held | JS heap, only the catalog held (snapshot released) | JS heap: track columns / artist profiles / Catalog's own | peak RSS | recommend_by_genre p50 / p99 ms | similar_tracks p50 / p99 ms | load average at start |
|---:|---:|---:|---:|---:|---|---:|---:|---:|---|
${results.map(row).join('\n')}

Growth (recommend_by_genre / similar_tracks p50): ${growth}.

At ${big.size.toLocaleString('en-US')}: recommend_by_genre p50 ${ms(big.recommend.p50)} ms, similar_tracks p50 ${ms(big.similar.p50)} ms — target p50 ≤ 25 ms:
recommend_by_genre ${met(big.recommend.p50 <= 25)}, similar_tracks ${met(big.similar.p50 <= 25)}; RSS ${mb(big.rssCatalog)} — target ≤ 600 MB: ${met(big.rssCatalog <= 600 * 1e6)}
(RSS of the process holding the \`Snapshot\` and the \`Catalog\` built from it, after a forced GC; the peak during construction is higher. With the \`Snapshot\` released, as the server holds it, the JS heap is ${mb(big.heapServing)}).

The on-disk path at each size: \`writeSnapshot\` (format 2, docs/SNAPSHOT.md), then the server's load
(\`loadCatalog\`: files read and checked, strings and indexes built in slices of the event loop), with the
longest event-loop delay seen during the load:

| tracks | written and loaded | writeSnapshot | on disk | loadCatalog | longest event-loop delay during load |
|---:|---|---:|---:|---:|---:|
${results.map(diskRow).join('\n')}
`, [
      { target: `scale ${big.size.toLocaleString('en-US')} (synthetic): recommend_by_genre p50 ≤ 25 ms`, figure: `${ms(big.recommend.p50)} ms (p99 ${ms(big.recommend.p99)} ms)`, met: big.recommend.p50 <= 25, load: big.load },
      { target: `scale ${big.size.toLocaleString('en-US')} (synthetic): similar_tracks p50 ≤ 25 ms`, figure: `${ms(big.similar.p50)} ms (p99 ${ms(big.similar.p99)} ms)`, met: big.similar.p50 <= 25, load: big.load },
      { target: `scale ${big.size.toLocaleString('en-US')} (synthetic): RSS ≤ 600 MB`, figure: `${mb(big.rssCatalog)} (JS heap with only the catalog ${mb(big.heapServing)}; new Catalog ${ms(big.loadMs)} ms)`, met: big.rssCatalog <= 600e6, load: big.load },
    ]);
  } finally {
    cleanup();
  }
}

// Run as a script (the search bench imports syntheticSnapshot from here).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
