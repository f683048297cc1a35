/**
 * A synthetic catalog through the real path: publish's writer → snapshot files → a server process
 * spawned on them over stdio → tool calls, with the client's view of the event loop meanwhile.
 *
 *   npx tsx bench/real-path.ts --size=1000000 --data-dir=DIR [--keep=OUT] [--no-search] [--cpu-prof=DIR]
 *
 * Step 1 (child process, --expose-gc): the synthetic marts of bench/scale.ts (real rows of DIR's
 * snapshot resampled with jitter, synthetic names) are written by `writeSnapshot` with the search file
 * beside it and the published distribution, as `publishSnapshot` writes them; reported: write time, bytes on disk, the child's peak RSS.
 * Step 2: `node bin/music-mcp-server.js --stdio` on that data dir through the SDK client: spawn →
 * `initialize`, spawn → first `tracks_by_artist` answered, the load the server logs, and, from
 * `initialize` until that answer, a `ping` every 10 ms: the slowest ping round trip is the longest the
 * server's event loop kept a request waiting during the load. Then a few calls of each tool (first and
 * median), and the server's RSS. --cpu-prof writes the server's CPU profile into DIR.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Catalog } from '../src/catalog/catalog.js';
import { computeDistribution } from '../src/catalog/distribution.js';
import { readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { writeSearchFile } from '../resources/knowledge.js';
import { builtDataDir, emit, log, machineNotes, median, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, today } from './lib.js';
import { syntheticSnapshot } from './scale.js';

interface Written { version: string; writeMs: number; MiB: number; peakRssMiB: number; artist: string; genre: string; trackId: string }

async function writeChild(size: number, dataDir: string, out: string, search: boolean): Promise<Written> {
  const real = await readSnapshot(join(dataDir, 'snapshots'));
  const snap = syntheticSnapshot(real, size);
  // What publishSnapshot adds to the marts: the published distribution (without it the server derives it on first use).
  const t0 = snap.tracks;
  snap.distribution = computeDistribution({
    size,
    column: (attr) => (attr === 'release_year' ? t0.release_year.map((y) => y ?? NaN) : attr === 'popularity' || attr === 'duration_ms' ? t0[attr] : t0.features[attr]),
    genres: (i) => t0.genres[i]!,
  }, 'publish');
  const { manifest, ...rest } = snap;
  const { format: _f, version: _v, ...m } = manifest;
  const pick = snap.artists[Math.floor(snap.artists.length / 2)]!;
  const genre = snap.genres.slice().sort((a, b) => b.track_count - a.track_count)[0]!.genre;
  const trackId = snap.tracks.track_id[Math.floor(size / 3)]!;
  const t = performance.now();
  const version = await writeSnapshot(join(out, 'snapshots'), { ...rest, manifest: m }, undefined, search ? (dir, _m, parts) => writeSearchFile(dir, new Catalog(parts)) : undefined);
  const writeMs = performance.now() - t;
  const vdir = join(out, 'snapshots', version);
  const MiB = readdirSync(vdir).reduce((sum, f) => sum + statSync(join(vdir, f)).size, 0) / 2 ** 20;
  return { version, writeMs, MiB, peakRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20, artist: pick.artist_name, genre, trackId };
}

function runWriteChild(size: number, dataDir: string, out: string, search: boolean): Promise<Written> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', self, '--child', `--size=${size}`, `--data-dir=${dataDir}`, `--out=${out}`, ...(search ? [] : ['--no-search'])], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    c.stdout.on('data', (d: Buffer) => (text += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => {
      const r = /^RESULT (.*)$/m.exec(text);
      if (code === 0 && r) resolve(JSON.parse(r[1]!) as Written);
      else reject(new Error(`writer child exited ${code}`));
    });
  });
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

async function main(): Promise<void> {
  const args = parseArgs();
  const size = numArg(args, 'size', 1_000_000);
  const search = !args.has('no-search');
  if (args.has('child')) {
    process.stdout.write(`RESULT ${JSON.stringify(await writeChild(size, args.get('data-dir')!, args.get('out')!, search))}\n`);
    return;
  }
  const { dir, cleanup } = await builtDataDir(args);
  const out = args.get('keep') ?? mkdtempSync(join(tmpdir(), 'music-mcp-real-path-'));
  try {
    log(`real path: writing ${size.toLocaleString('en-US')} synthetic tracks into ${out}…`);
    const w = await runWriteChild(size, dir, out, search);
    log(`real path: written in ${ms(w.writeMs)} ms (${w.MiB.toFixed(0)} MiB, writer peak RSS ${w.peakRssMiB.toFixed(0)} MiB); serving…`);
    const s = await serve(out, w, args.get('cpu-prof'));
    const toolRows = Object.entries(s.tools).map(([name, t]) => `| \`${name}\` | ${ms(t.first)} | ${ms(t.p50)} |`).join('\n');
    emit(args, 'real-path', `
## Synthetic ${size.toLocaleString('en-US')} tracks through publish → snapshot → server → tools (\`bench/real-path.ts\`)

\`\`\`sh
npx tsx bench/real-path.ts --size=${size} --data-dir=DIR${search ? '' : ' --no-search'}
\`\`\`

**Machine**: ${machineNotes()}. ${today()}.

| figure | value |
|---|---:|
| \`writeSnapshot\`${search ? ' + search file' : ''} | ${ms(w.writeMs)} ms |
| on disk | ${w.MiB.toFixed(0)} MiB |
| writer's peak RSS | ${w.peakRssMiB.toFixed(0)} MiB |
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
