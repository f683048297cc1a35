/**
 * A synthetic catalog through the real path: warehouse marts → `scripts/publish.ts` → snapshot files →
 * a server process spawned on them over stdio → tool calls, with the client's view of the event loop.
 *
 *   npx tsx bench/real-path.ts --size=1000000 --data-dir=DIR [--keep=OUT] [--cpu-prof=DIR] [--write-docs]
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
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { builtDataDir, emit, loadAverage, log, machineNotes, median, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, today } from './lib.js';
import { syntheticMarts } from './scale.js';

interface Written { version: string; buildMs: number; publishMs: number; MiB: number; peakRssMiB: number; artist: string; genre: string; trackId: string; tracks: number; artists: number }

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

async function serve(out: string, w: Written, cpuProf: string | undefined) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), SERVER_BIN, '--stdio'],
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
  let answered = false;
  const pings: number[] = [];
  const pinger = (async () => {
    while (!answered) {
      const s = performance.now();
      await client.ping();
      pings.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const first = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: w.artist, limit: 20 } })) as { isError?: boolean; content: { text?: string }[] };
  const firstToolMs = performance.now() - t0;
  answered = true;
  await pinger;
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
  const rssAfter = rssMiB(pid);
  await client.close();
  const loadLog = /"ms":(\d+)[^\n]*serving catalog loaded/.exec(stderr);
  return {
    initMs, firstToolMs, loadLogMs: loadLog ? Number(loadLog[1]) : null, pings: pings.length, pingMaxMs: Math.max(0, ...pings), pingP50Ms: median(pings),
    rssFirst, rssAfter, tools,
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

async function main(): Promise<void> {
  const args = parseArgs();
  const sizes = args.get('sizes');
  if (sizes) return growth(args, sizes.split(',').map(Number));
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
