/**
 * Shared helpers of the benchmarks in bench/: argument parsing, percentiles, machine notes, a built
 * data dir (the real dataset through the pipeline), and writing a section of docs/BENCHMARKS.md.
 * Benchmarks print to stdout (they are not the MCP stdio channel); progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../src/catalog/catalog.js';
import { loadCatalog } from '../src/catalog/holder.js';
import { currentVersion, type GenreProfile } from '../src/catalog/snapshot.js';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');
export const SERVER_BIN = join(REPO_ROOT, 'bin/music-mcp-server.js');
export const DOC = join(REPO_ROOT, 'docs/BENCHMARKS.md');

/** The real dataset: MUSIC_DATASET, else ../shared/data beside the repository (never copied in). */
export const DATASET = process.env.MUSIC_DATASET ?? join(REPO_ROOT, '../shared/data/tidytuesday_spotify_songs.csv');

/** Whether bin/music-mcp-server.js will run the compiled dist/ (same rule as the bin: stamp newer than every .ts). */
export function distIsFresh(): boolean {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
    }, 0);
  try {
    const built = statSync(join(REPO_ROOT, 'dist/.build-stamp')).mtimeMs;
    return ['src', 'tools', 'resources'].every((d) => newest(join(REPO_ROOT, d)) <= built);
  } catch {
    return false;
  }
}

/** What `node bin/music-mcp-server.js` runs now, for the machine notes. */
export function binRuns(): string {
  return distIsFresh() ? 'the compiled `dist/`' : 'the TypeScript sources through tsx (`dist/` missing or older than a source)';
}

/** `--key=value` and bare `--flag` arguments. */
export function parseArgs(argv = process.argv.slice(2)): Map<string, string> {
  return new Map(
    argv.map((a) => {
      const [k, ...v] = a.replace(/^--/, '').split('=');
      return [k!, v.length ? v.join('=') : 'true'] as const;
    }),
  );
}

export function numArg(args: Map<string, string>, key: string, fallback: number): number {
  const v = args.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} must be a number, got ${v}`);
  return n;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary { n: number; p50: number; p90: number; p99: number; mean: number; min: number; max: number }

export function summarize(xs: readonly number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

export const median = (xs: readonly number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

/** Milliseconds with a precision that suits the size. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

/** 1-, 5- and 15-minute load averages, e.g. "1.21 / 1.80 / 2.02". */
export function loadAverage(): string {
  return loadavg().map((v) => v.toFixed(2)).join(' / ');
}

export function machineNotes(): string {
  const cpu = cpus();
  return `${cpu.length} vCPU (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A seeded PRNG (mulberry32): reproducible synthetic data and argument mixes. */
export { prng } from '../scripts/lib/prng.js';

export interface PipelineRun {
  wallMs: number;
  report: {
    ms: number;
    ingest?: { ms: number; rowsRead: number; rowsStaged: number; rowsRejected: number };
    load?: { ms: number };
    transform?: { ms: number; models: number; tests: number; testsFailed: number };
    publish?: { ms: number; version: string; tracks: number; artists: number; genres: number };
  };
}

/** Run `scripts/pipeline.ts` (the `npm run pipeline` entry point) into `dataDir`; its JSON report comes on stdout. */
export async function runPipelineScript(dataDir: string, extraEnv: Record<string, string> = {}): Promise<PipelineRun> {
  const t0 = performance.now();
  const child = spawn(TSX, [join(REPO_ROOT, 'scripts/pipeline.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: DATASET, LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`pipeline exited ${code}: ${err.slice(-2000)}`);
  return { wallMs, report: JSON.parse(out) as PipelineRun['report'] };
}

/**
 * A data dir holding a published snapshot and the warehouse of the real dataset: `--data-dir=` (or
 * MUSIC_BENCH_DATA_DIR) when it has one, else the pipeline is run once into a temp dir (removed by cleanup).
 */
export async function builtDataDir(args: Map<string, string>): Promise<{ dir: string; cleanup: () => void }> {
  const given = args.get('data-dir') ?? process.env.MUSIC_BENCH_DATA_DIR;
  if (given && existsSync(join(given, 'snapshots/CURRENT'))) return { dir: given, cleanup: () => undefined };
  if (given) throw new Error(`--data-dir=${given} has no published snapshot (snapshots/CURRENT); run the pipeline into it first`);
  if (!existsSync(DATASET)) throw new Error(`dataset not found at ${DATASET}; set MUSIC_DATASET`);
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-bench-'));
  log(`building the catalog from ${DATASET} into ${dir} (pipeline, ~20 s)…`);
  await runPipelineScript(dir);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Replace this benchmark's section of docs/BENCHMARKS.md (between its markers), or append it. Other
 * sections are left as they are.
 */
export function writeSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  const next = a >= 0 && b > a ? `${doc.slice(0, a)}${block}${doc.slice(b + end.length)}` : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, next);
  log(`docs/BENCHMARKS.md: section ${name} written`);
}

/** One target of the issue with its measured figure (collected by run-all.ts into a summary). */
export interface TargetRow { target: string; figure: string; met: boolean | null; load: string }

/** Where a run's results go: BENCH_RESULTS_DIR (set by run-all.ts for one run of all), else bench/results/. */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(REPO_ROOT, 'bench/results');

/** A file-name stamp of now, e.g. 20261206T173500Z. */
export const stamp = (d = new Date()): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Load average and CPU when a benchmark module starts (its results name them beside the figures). */
const startedWith = { at: new Date(), loadAverage: loadAverage() };

/**
 * Print the section and keep it, with its target rows, the load average at start and end and the CPU,
 * in a results file of its own (`<RESULTS_DIR>/<stamp>-<name>.md` and `.json`). docs/BENCHMARKS.md
 * changes only with --write-docs. Target rows also go to BENCH_SUMMARY_FILE (JSON lines) when run-all.ts sets it.
 */
export function emit(args: Map<string, string>, name: string, markdown: string, targets: TargetRow[] = []): void {
  if (args.has('write')) throw new Error('--write is now --write-docs (results always go to bench/results/; docs/BENCHMARKS.md only when asked)');
  const ended = loadAverage();
  const note = `Load average (1 / 5 / 15 min) ${startedWith.loadAverage} at start, ${ended} at end; ${machineNotes()}.`;
  process.stdout.write(`${markdown.trim()}\n\n${note}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, `${stamp(startedWith.at)}-${name}`);
  writeFileSync(`${base}.md`, `${markdown.trim()}\n\n${note}\n`);
  writeFileSync(`${base}.json`, `${JSON.stringify({
    bench: name, startedAt: startedWith.at.toISOString(), endedAt: new Date().toISOString(), argv: process.argv.slice(2),
    loadAverage: { start: startedWith.loadAverage, end: ended }, cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, node: process.version,
    targets,
  }, null, 2)}\n`);
  log(`results: ${base}.md / .json`);
  if (args.has('write-docs')) writeSection(name, markdown);
  const file = process.env.BENCH_SUMMARY_FILE;
  if (file) appendFileSync(file, targets.map((t) => `${JSON.stringify({ bench: name, ...t })}\n`).join(''));
}

export const met = (ok: boolean): string => (ok ? '**met**' : '**not met**');

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * The genres a benchmark rotates through, taken from the catalog (the datasets name their genres
 * differently: "rap" and "dance pop" exist only in the TidyTuesday file): the `count` largest genres,
 * then, when the catalog has subgenres, its largest subgenre in place of the last one.
 */
export function benchGenres(genres: readonly GenreProfile[], count = 6): string[] {
  const bySize = (level: GenreProfile['genre_level']) =>
    genres.filter((g) => g.genre_level === level && g.track_count > 0).sort((a, b) => b.track_count - a.track_count || (a.genre < b.genre ? -1 : 1)).map((g) => g.genre);
  const top = bySize('genre').slice(0, count);
  const sub = bySize('subgenre')[0];
  if (sub && top.length === count) top[count - 1] = sub;
  if (!top.length) throw new Error('the catalog has no genre with tracks to benchmark');
  return top;
}

/**
 * Artists a benchmark asks for, taken from the catalog: the `count` most popular artists (then most
 * tracks) whose name resolves to themselves, each with its most popular track's title.
 */
export function benchArtists(catalog: Catalog, count = 3): { name: string; track: string; trackId: string }[] {
  const rows = Array.from({ length: catalog.artistCount }, (_, i) => catalog.artistAt(i))
    .filter((a) => a.top_tracks.some((t) => t.track_name))
    .sort((a, b) => (b.popularity_max ?? -1) - (a.popularity_max ?? -1) || b.track_count - a.track_count || (a.artist_key < b.artist_key ? -1 : 1));
  const out: { name: string; track: string; trackId: string }[] = [];
  for (const a of rows) {
    const r = catalog.resolveArtist(a.artist_name);
    if (!r.ok || r.value.profiles[0]?.artist_key !== a.artist_key) continue;
    const t = a.top_tracks.find((x) => x.track_name)!;
    out.push({ name: a.artist_name, track: t.track_name!, trackId: t.track_id });
    if (out.length === count) break;
  }
  if (!out.length) throw new Error('the catalog has no artist to benchmark');
  return out;
}

/** Argument sets per tool, used in rotation: genres and artists picked from the catalog being measured. */
export function toolArgsFor(catalog: Catalog): Record<string, Record<string, unknown>[]> {
  const g = benchGenres(catalog.genres, 5);
  const at = <T>(xs: readonly T[], i: number) => xs[i % xs.length]!;
  const a = benchArtists(catalog, 3);
  return {
    recommend_by_genre: [
      { genre: at(g, 0), limit: 10, min_energy: 0.7, min_valence: 0.7 },
      { genre: at(g, 1), limit: 10 },
      { genre: at(g, 2), limit: 20, max_energy: 0.5, target_acousticness: 0.7 },
      { genre: at(g, 3), limit: 10, diversity: 0.3 },
      { genre: at(g, 4), limit: 10, seed_artists: [at(a, 0).name] },
    ],
    similar_tracks: [
      { seed_tracks: [`${at(a, 0).track} – ${at(a, 0).name}`], limit: 10 },
      { seed_artists: [at(a, 1).name], limit: 10 },
      { seed_tracks: [at(a, 2).trackId], seed_artists: [at(a, 0).name], limit: 10, diversity: 0.3 },
    ],
    tracks_by_artist: [
      { artist: at(a, 0).name, limit: 20 },
      { artist: at(a, 1).name.toLowerCase(), limit: 10 },
      { artist: at(a, 2).name, limit: 20, offset: 20 },
    ],
    artist_metadata: [{ artist: at(a, 0).name }, { artist: at(a, 1).name }, { artist: at(a, 2).name.toLowerCase(), max_albums: 5 }],
    search_music_knowledge: [
      { query: 'upbeat dance music', limit: 5 },
      { query: at(g, 1), limit: 5 },
      { query: 'what does valence mean', limit: 3 },
      { query: at(a, 0).name, kinds: ['artist'], limit: 5 },
    ],
  };
}

/** The served catalog of a data dir, loaded as the server loads it (to pick benchmark arguments from). */
export async function servedCatalog(dataDir: string): Promise<Catalog> {
  const snapshots = join(dataDir, 'snapshots');
  const version = await currentVersion(snapshots);
  if (!version) throw new Error(`${dataDir} has no published snapshot (snapshots/CURRENT); run the pipeline into it first`);
  return loadCatalog(snapshots, version);
}
