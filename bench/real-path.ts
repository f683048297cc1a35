/**
 * A synthetic catalog through the real path: warehouse marts → `scripts/publish.ts` → snapshot files →
 * a server process spawned on them over stdio → tool calls, with the client's view of the event loop.
 *
 *   npx tsx bench/real-path.ts --size=1000000 --data-dir=DIR [--keep=OUT] [--cpu-prof=DIR] [--write-docs]
 *   npx tsx bench/real-path.ts --serve-only=OUT [--bin=A.js,B.js] [--runs=N] [--cpu-prof=DIR]
 *
 * Step 1: DIR's warehouse (a built data dir) is copied into OUT and its marts replaced by synthetic marts
 * of --size tracks (`syntheticMarts` in bench/scale.ts: the real catalog repeated with renamed ids and
 * artists and jittered features, made by SQL inside DuckDB). Step 2: `scripts/publish.ts` publishes them
 * in a process of its own (streaming reads, metric, k-d tree, search file: what `npm run pipeline`
 * does after the transform); reported: its wall time, its peak RSS, the bytes it wrote.
 * Step 3: `node bin/music-mcp-server.js --stdio` on OUT through the SDK client: spawn → `initialize`,
 * spawn → first `tracks_by_artist` answered, the load the server logs, and, from `initialize` until that
 * answer, a `ping` every 10 ms: the slowest ping round trip is the longest the server's event loop kept a
 * request waiting during the load. Then a few calls of each tool (first and median), and the server's
 * RSS. --cpu-prof writes the server's CPU profile into DIR.
 *
 *   npx tsx bench/real-path.ts --sizes=10000,100000,1000000 --data-dir=DIR --keep=OUT [--reuse] [--runs=3]
 *
 * Growth: steps 1 and 2 for each size into OUT/<size> (with --reuse, a size whose dir already holds a
 * published snapshot is served as it is), then step 3 --runs times per size, the sizes taking turns;
 * reported per size: the medians of the load the server logs, spawn → first answer and the server's
 * RSS after it, and the log-log slope of each against the track count (least squares over the sizes:
 * 1 is linear growth).
 *
 * --serve-only=OUT runs step 3 alone on a data dir published before (a kept OUT; it is only read), with
 * the names the calls use read from its snapshot. --bin lists server entry points (default this checkout's
 * bin/music-mcp-server.js; another checkout's to compare), run in turn --runs times each, so that the
 * figures of old and new code come from the same minutes of a shared machine.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { builtDataDir, emit, loadAverage, log, machineNotes, median, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, today } from './lib.js';
import { syntheticMarts } from './scale.js';
import type { StoredManifest } from '../src/catalog/snapshot.js';

/** What the tool calls ask for: an artist of at least 3 tracks, the largest genre, a track id. */
interface CallNames { artist: string; genre: string; trackId: string }
interface Written extends CallNames { version: string; buildMs: number; publishMs: number; MiB: number; peakRssMiB: number; tracks: number; artists: number }

/**
 * The names `syntheticWarehouse` picks, read from a published snapshot instead of the warehouse (the same
 * rows: artists are stored in artist_key order, the genres with their track counts), reading only the
 * segments needed, not the whole file.
 */
function namesFromSnapshot(out: string): CallNames & { tracks: number; artists: number } {
  const snapshots = join(out, 'snapshots');
  const version = readFileSync(join(snapshots, 'CURRENT'), 'utf8').trim();
  const manifest = JSON.parse(readFileSync(join(snapshots, version, 'manifest.json'), 'utf8')) as StoredManifest;
  const fd = openSync(join(snapshots, version, manifest.segments.file), 'r');
  try {
    const entry = (name: string) => {
      const e = manifest.segments.columns.find((c) => c.name === name);
      if (!e) throw new Error(`snapshot ${version} has no segment ${name}`);
      const bytes = Buffer.alloc(e.type === 'utf8' || e.type === 'u8' || e.type === 'i8' ? e.length : e.length * (e.type === 'f64' ? 8 : 4));
      readSync(fd, bytes, 0, bytes.length, e.offset);
      return bytes;
    };
    const strings = (name: string) => {
      const text = entry(`${name}.utf8`).toString('utf8');
      const o = entry(`${name}.offsets`);
      const offsets = new Uint32Array(o.buffer, o.byteOffset, o.length / 4);
      return Array.from({ length: offsets.length - 1 }, (_, i) => text.slice(offsets[i]!, offsets[i + 1]!));
    };
    const names = strings('artist.name');
    const c = entry('artist.track_count');
    const counts = new Int32Array(c.buffer, c.byteOffset, c.length / 4);
    const withTracks = names.filter((_, i) => counts[i]! >= 3);
    const ids = strings('track_id').sort();
    const genre = [...manifest.genres].sort((a, b) => b.track_count - a.track_count || (a.genre < b.genre ? -1 : 1))[0]!.genre;
    return { artist: withTracks[Math.floor(withTracks.length / 2)]!, genre, trackId: ids[Math.floor(ids.length / 3)]!, tracks: ids.length, artists: names.length };
  } finally {
    closeSync(fd);
  }
}

/**
 * The synthetic warehouse: the built data dir's DuckDB file copied into `out`, its marts replaced by
 * `syntheticMarts` (bench/scale.ts); then the names the tool calls use, read from those marts.
 */
async function syntheticWarehouse(size: number, dataDir: string, out: string) {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(dataDir, 'warehouse.duckdb'), join(out, 'warehouse.duckdb'));
  const db = await DuckDbSession.open(join(out, 'warehouse.duckdb'));
  try {
    const t = performance.now();
    const counts = await syntheticMarts(db, size);
    const buildMs = performance.now() - t;
    return { ...counts, buildMs, ...(await callNames(db, counts.tracks)) };
  } finally {
    await db.close();
  }
}

/** The artist, genre and track the tool calls name, read from the synthetic marts. */
async function callNames(db: DuckDbSession, tracks: number) {
  const one = async (sql: string) => {
      const [row] = await db.all(sql);
      if (!row) throw new Error(`the synthetic marts answer nothing to ${sql}`);
      return String(Object.values(row)[0]);
    };
  const withTracks = Number(await one('select count(*) from marts.artist_profiles where track_count >= 3'));
  return {
    artist: await one(`select artist_name from marts.artist_profiles where track_count >= 3 order by artist_key limit 1 offset ${Math.floor(withTracks / 2)}`),
    genre: await one('select genre from marts.genre_profiles order by track_count desc, genre limit 1'),
    trackId: await one(`select track_id from marts.dim_tracks order by track_id limit 1 offset ${Math.floor(tracks / 3)}`),
  };
}

/** A data dir published earlier (--reuse): its counts and the names the calls use. */
async function published(out: string): Promise<Written> {
  const db = await DuckDbSession.open(join(out, 'warehouse.duckdb'));
  try {
    const [c] = await db.all<{ tracks: number; artists: number }>(
      'select (select count(*) from marts.dim_tracks) as tracks, (select count(*) from marts.artist_profiles) as artists',
    );
    const tracks = Number(c!.tracks);
    const version = readFileSync(join(out, 'snapshots/CURRENT'), 'utf8').trim();
    const vdir = join(out, 'snapshots', version);
    const MiB = readdirSync(vdir).reduce((sum, f) => sum + statSync(join(vdir, f)).size, 0) / 2 ** 20;
    return { version, buildMs: NaN, publishMs: NaN, MiB, peakRssMiB: NaN, tracks, artists: Number(c!.artists), ...(await callNames(db, tracks)) };
  } finally {
    await db.close();
  }
}

/** Prints the process's peak RSS (KiB) on stderr as it exits: preloaded into the publish process. */
const PEAK_AT_EXIT = `data:text/javascript,process.on('exit',()=>process.stderr.write('PEAK_RSS_KIB '+process.resourceUsage().maxRSS+'\\n'))`;

/** `scripts/publish.ts` (what `npm run publish-snapshot` runs) on the data dir `out`, in its own process: its time and peak RSS. */
function runPublish(out: string): Promise<{ version: string; publishMs: number; peakRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const c = spawn(process.execPath, ['--import', 'tsx', '--import', PEAK_AT_EXIT, join(REPO_ROOT, 'scripts/publish.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: out, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      const publishMs = performance.now() - t;
      const peak = /^PEAK_RSS_KIB (\d+)$/m.exec(stderr);
      const version = /"version":\s*"([^"]+)"/.exec(stdout);
      if (code === 0 && peak && version) resolve({ version: version[1]!, publishMs, peakRssMiB: Number(peak[1]) / 1024 });
      else reject(new Error(`publish exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

async function write(size: number, dataDir: string, out: string): Promise<Written> {
  const w = await syntheticWarehouse(size, dataDir, out);
  log(`real path: synthetic marts of ${w.tracks.toLocaleString('en-US')} tracks, ${w.artists.toLocaleString('en-US')} artists built in ${ms(w.buildMs)} ms; publishing…`);
  const p = await runPublish(out);
  const vdir = join(out, 'snapshots', p.version);
  const MiB = readdirSync(vdir).reduce((sum, f) => sum + statSync(join(vdir, f)).size, 0) / 2 ** 20;
  return { ...w, ...p, MiB };
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function serve(out: string, w: CallNames, cpuProf: string | undefined, bin = SERVER_BIN) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), bin, '--stdio'],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: out, LOG_LEVEL: 'info' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'bench-real-path', version: '1' });
  const t0 = performance.now();
  await client.connect(transport);
  const initMs = performance.now() - t0;
  // A ping every 10 ms from `initialize` to the end of the calls: the slowest round trip before the first
  // answer is the longest the load kept a request waiting; after it, the longest a call (or the indexes
  // built after the load) did.
  let phase = 'load' as 'load' | 'calls' | 'done';
  const pings: Record<'load' | 'calls', number[]> = { load: [], calls: [] };
  const pinger = (async () => {
    while (phase !== 'done') {
      const at = phase;
      const s = performance.now();
      await client.ping();
      pings[at].push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const first = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: w.artist, limit: 20 } })) as { isError?: boolean; content: { text?: string }[] };
  const firstToolMs = performance.now() - t0;
  phase = 'calls';
  if (first.isError) throw new Error(`first call failed: ${first.content[0]?.text}`);
  const pid = transport.pid!;
  const rssFirst = rssMiB(pid);
  const calls: [string, Record<string, unknown>][] = [
    ['recommend_by_genre', { genre: w.genre, limit: 10 }],
    ['similar_tracks', { seed_tracks: [w.trackId], limit: 10 }],
    ['artist_metadata', { artist: w.artist }],
    ['search_music_knowledge', { query: w.genre, limit: 5 }],
  ];
  const tools: Record<string, { first: number; p50: number }> = {};
  for (const [name, args] of calls) {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text?: string }[] };
      times.push(performance.now() - s);
      if (r.isError) throw new Error(`${name} failed: ${r.content[0]?.text}`);
    }
    tools[name] = { first: times[0]!, p50: median(times.slice(1)) };
  }
  phase = 'done';
  await pinger;
  const rssAfter = rssMiB(pid);
  await client.close();
  const loadLog = /"ms":(\d+)[^\n]*serving catalog loaded/.exec(stderr);
  return {
    initMs, firstToolMs, loadLogMs: loadLog ? Number(loadLog[1]) : null, pings: pings.load.length, pingMaxMs: Math.max(0, ...pings.load), pingP50Ms: median(pings.load),
    callPingMaxMs: Math.max(0, ...pings.calls), rssFirst, rssAfter, tools,
  };
}

/** Least-squares slope of log(y) against log(x). */
function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lx.length; i++) {
    num += (lx[i]! - mx) * (ly[i]! - my);
    den += (lx[i]! - mx) ** 2;
  }
  return num / den;
}

/** --sizes: each size published (or reused) into OUT/<size>, then served --runs times, the sizes taking turns. */
async function growth(args: Map<string, string>, sizes: number[]): Promise<void> {
  const keep = args.get('keep');
  if (!keep) throw new Error('--sizes needs --keep=OUT (each size is published into OUT/<size>)');
  const runs = numArg(args, 'runs', 3);
  const loadStart = loadAverage();
  const written = new Map<number, Written>();
  const { dir, cleanup } = await builtDataDir(args);
  try {
    for (const size of sizes) {
      const out = join(keep, String(size));
      if (args.has('reuse') && existsSync(join(out, 'snapshots/CURRENT'))) {
        written.set(size, await published(out));
        log(`real path: reusing the snapshot in ${out}`);
      } else {
        log(`real path: ${size.toLocaleString('en-US')} synthetic tracks into ${out}…`);
        written.set(size, await write(size, dir, out));
      }
    }
  } finally {
    cleanup();
  }
  const served = new Map<number, Awaited<ReturnType<typeof serve>>[]>(sizes.map((s) => [s, []]));
  for (let r = 0; r < runs; r++) {
    for (const size of sizes) {
      const s = await serve(join(keep, String(size)), written.get(size)!, undefined);
      served.get(size)!.push(s);
      log(`real path: ${size} run ${r + 1}: load ${s.loadLogMs} ms, first answer ${ms(s.firstToolMs)} ms, RSS ${s.rssFirst.toFixed(0)} MiB (load average ${loadAverage()})`);
    }
  }
  const rows = sizes.map((size) => {
    const ss = served.get(size)!;
    const w = written.get(size)!;
    return {
      size, w,
      load: median(ss.map((s) => s.loadLogMs ?? NaN)),
      first: median(ss.map((s) => s.firstToolMs)),
      rss: median(ss.map((s) => s.rssFirst)),
      rssAfter: median(ss.map((s) => s.rssAfter)),
    };
  });
  const slope = (pick: (r: (typeof rows)[number]) => number) => logLogSlope(rows.map((r) => r.size), rows.map(pick)).toFixed(3);
  const peak = (w: Written) => (Number.isNaN(w.peakRssMiB) ? 'reused' : `${w.peakRssMiB.toFixed(0)} MiB`);
  emit(args, 'real-path-growth', `
## Load time and server RSS, ${sizes.map((s) => s.toLocaleString('en-US')).join(' → ')} synthetic tracks (\`bench/real-path.ts --sizes\`)

\`\`\`sh
npx tsx bench/real-path.ts --sizes=${sizes.join(',')} --data-dir=DIR --keep=OUT --runs=${runs}
\`\`\`

**Machine**: ${machineNotes()}. ${today()}. Load average at the start ${loadStart}, at the end ${loadAverage()}. Medians of ${runs} server spawns per size, the sizes taking turns.

| tracks | artists | on disk | publish peak RSS | load as the server logs it | spawn → first \`tracks_by_artist\` | server RSS after it / after the calls |
|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.size.toLocaleString('en-US')} | ${r.w.artists.toLocaleString('en-US')} | ${r.w.MiB.toFixed(0)} MiB | ${peak(r.w)} | ${ms(r.load)} ms | ${ms(r.first)} ms | ${r.rss.toFixed(0)} / ${r.rssAfter.toFixed(0)} MiB |`).join('\n')}

Log-log slope against the track count (least squares over the sizes; target ≤ 1.05): load ${slope((r) => r.load)}, spawn → first answer ${slope((r) => r.first)}, RSS after the first answer ${slope((r) => r.rss)}.
`);
}

type Served = Awaited<ReturnType<typeof serve>>;

/** Step 3 alone on a published data dir, for each of `bins` in turn, `runs` times: one column per bin (medians). */
async function serveOnly(args: Map<string, string>, out: string): Promise<void> {
  const bins = (args.get('bin') ?? SERVER_BIN).split(',');
  const runs = numArg(args, 'runs', 1);
  const loadStart = loadAverage();
  const w = namesFromSnapshot(out);
  log(`serve only: ${w.tracks.toLocaleString('en-US')} tracks in ${out}; calls ask for artist ${JSON.stringify(w.artist)}, genre ${JSON.stringify(w.genre)}, track ${w.trackId}`);
  const results = bins.map(() => [] as Served[]);
  for (let r = 0; r < runs; r++) {
    for (const [b, bin] of bins.entries()) {
      const s = await serve(out, w, args.get('cpu-prof'), bin);
      log(`${bin} run ${r + 1}: ${JSON.stringify(s)} (load average ${loadAverage()})`);
      results[b]!.push(s);
    }
  }
  const m = (b: number, pick: (s: Served) => number | null) => median(results[b]!.map((s) => pick(s) ?? NaN));
  const row = (label: string, pick: (s: Served) => number | null, unit = 'ms', digits?: number) =>
    `| ${label} | ${bins.map((_, b) => { const v = m(b, pick); return digits === undefined ? `${ms(v)} ${unit}` : `${v.toFixed(digits)} ${unit}`; }).join(' | ')} |`;
  const tools = Object.keys(results[0]![0]!.tools);
  emit(args, 'real-path-serve', `
## Serving ${w.tracks.toLocaleString('en-US')} published tracks (\`bench/real-path.ts --serve-only\`)

\`\`\`sh
npx tsx bench/real-path.ts --serve-only=DIR --bin=${bins.length > 1 ? 'A,B' : 'BIN'} --runs=${runs}
\`\`\`

**Machine**: ${machineNotes()}. ${today()}. Load average at the start ${loadStart}, at the end ${loadAverage()}. Medians of ${runs} run(s) per server, taking turns.

| figure | ${bins.join(' | ')} |
|---|${bins.map(() => '---:|').join('')}
${row('spawn → `initialize`', (s) => s.initMs)}
${row('spawn → first `tracks_by_artist` answered', (s) => s.firstToolMs)}
${row('load as the server logs it', (s) => s.loadLogMs)}
${row('slowest ping during the load (every 10 ms)', (s) => s.pingMaxMs)}
${row('slowest ping during the calls below', (s) => s.callPingMaxMs)}
${row('server RSS after the first answer', (s) => s.rssFirst, 'MiB', 0)}
${row('server RSS after the calls', (s) => s.rssAfter, 'MiB', 0)}
${tools.map((t) => `${row(`\`${t}\` first call`, (s) => s.tools[t]!.first)}\n${row(`\`${t}\` p50 of 6 more`, (s) => s.tools[t]!.p50)}`).join('\n')}
`);
}

async function main(): Promise<void> {
  const args = parseArgs();
  const sizes = args.get('sizes');
  if (sizes) return growth(args, sizes.split(',').map(Number));
  const only = args.get('serve-only');
  if (only) return serveOnly(args, only);
  const size = numArg(args, 'size', 1_000_000);
  const { dir, cleanup } = await builtDataDir(args);
  const out = args.get('keep') ?? mkdtempSync(join(tmpdir(), 'music-mcp-real-path-'));
  const loadStart = loadAverage();
  try {
    log(`real path: ${size.toLocaleString('en-US')} synthetic tracks into ${out}…`);
    const w = await write(size, dir, out);
    log(`real path: published in ${ms(w.publishMs)} ms (${w.MiB.toFixed(0)} MiB, publish peak RSS ${w.peakRssMiB.toFixed(0)} MiB); serving…`);
    const s = await serve(out, w, args.get('cpu-prof'));
    const toolRows = Object.entries(s.tools).map(([name, t]) => `| \`${name}\` | ${ms(t.first)} | ${ms(t.p50)} |`).join('\n');
    emit(args, 'real-path', `
## Synthetic ${w.tracks.toLocaleString('en-US')} tracks through warehouse → publish → snapshot → server → tools (\`bench/real-path.ts\`)

\`\`\`sh
npx tsx bench/real-path.ts --size=${size} --data-dir=DIR
\`\`\`

**Machine**: ${machineNotes()}. ${today()}. Load average at the start ${loadStart}, at the end ${loadAverage()}.

| figure | value |
|---|---:|
| synthetic marts (${w.tracks.toLocaleString('en-US')} tracks, ${w.artists.toLocaleString('en-US')} artists), built by SQL in the warehouse | ${ms(w.buildMs)} ms |
| \`scripts/publish.ts\`: wall time (process start to exit) | ${ms(w.publishMs)} ms |
| publish peak RSS | **${w.peakRssMiB.toFixed(0)} MiB** (${(w.peakRssMiB * 2 ** 20 / 1e6).toFixed(0)} MB) |
| on disk | ${w.MiB.toFixed(0)} MiB |
| spawn → \`initialize\` | ${ms(s.initMs)} ms |
| spawn → first \`tracks_by_artist\` answered | ${ms(s.firstToolMs)} ms |
| load as the server logs it | ${s.loadLogMs === null ? '–' : `${ms(s.loadLogMs)} ms`} |
| pings during the load (every 10 ms): count, p50, slowest round trip | ${s.pings}, ${ms(s.pingP50Ms)} ms, **${ms(s.pingMaxMs)} ms** |
| server RSS after the first answer / after the calls below | ${s.rssFirst.toFixed(0)} / ${s.rssAfter.toFixed(0)} MiB |

| tool (7 calls) | first ms | p50 of the rest ms |
|---|---:|---:|
${toolRows}
`);
  } finally {
    if (!args.has('keep')) rmSync(out, { recursive: true, force: true });
    cleanup();
  }
}

await main();
