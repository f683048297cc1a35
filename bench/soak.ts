/**
 * Reliability soak (longer than the tests): clients call tools without pause for --minutes while the
 * catalog is republished and the pipeline is killed (-9) and rerun at random points.
 *
 *   npx tsx bench/soak.ts [--minutes=10] [--clients=8] [--data-dir=DIR] [--write-docs]
 *
 * A copy of the built snapshot dir is served by one HTTP server process (--clients SDK clients) and one
 * stdio server process (one SDK client), both polling it every 200 ms. In a loop until the time is up:
 * publish a modified snapshot (one artist's track names carry a version marker) with writeSnapshot, or
 * run the pipeline into the same data dir and SIGKILL its process group a random moment into a random
 * step (ingest, load, transform, publish). At the end one pipeline run finishes. Reported: calls,
 * failed calls (must be 0), answers whose content does not match their version (must be 0), versions
 * served, kills by step, and whether the final marts equal those of the uninterrupted build (row counts
 * and checksums, bit for bit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import {
  builtDataDir, DATASET, emit, loadAverage, log, machineNotes, met, numArg, parseArgs, prng, REPO_ROOT, SERVER_BIN, summarize, ms, today, toolArgsFor, servedCatalog, benchArtists,
} from './lib.js';
import { readDuckDbCopy, runPipelineProcess } from '../tests/helpers/pipeline-process.js';

const STEPS = ['ingest', 'load', 'transform', 'publish'] as const;

/** Row count and checksum of every mart (read from a copy of the DuckDB file). */
async function martDigest(duckdbPath: string): Promise<string> {
  return readDuckDbCopy(duckdbPath, async (conn) => {
    const tables = (await conn.runAndReadAll("select table_name from information_schema.tables where table_schema = 'marts' order by 1")).getRowsJson().map((r) => String(r[0]));
    const parts: string[] = [];
    for (const t of tables) {
      const rows = (await conn.runAndReadAll(`select * from marts.${t} order by all`)).getRowsJson();
      parts.push(`${t}:${rows.length}:${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`);
    }
    return parts.join('\n');
  });
}

/** Run the pipeline into dataDir; with killIn, SIGKILL its process group `delayMs` after that step starts. */
async function pipeline(dataDir: string, killIn?: string, delayMs = 0): Promise<{ code: number | null; killed: boolean }> {
  const { code, killed, stderr } = await runPipelineProcess(dataDir, DATASET, killIn ? { killIn, delayMs } : {});
  if (!killed && code !== 0) throw new Error(`pipeline failed (exit ${code}): ${stderr.slice(-1_000)}`);
  return { code, killed };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const minutes = numArg(args, 'minutes', 10);
  const nClients = numArg(args, 'clients', 8);
  const rand = prng(numArg(args, 'seed', Date.now() % 1_000_000));
  const { dir: built, cleanup } = await builtDataDir(args);
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-soak-'));
  const snapshotDir = join(dataDir, 'snapshots');
  cpSync(join(built, 'snapshots'), snapshotDir, { recursive: true });
  const reference = await martDigest(join(built, 'warehouse.duckdb'));
  const base = await readSnapshot(snapshotDir);
  const served = await servedCatalog(dataDir);
  const TOOL_ARGS = toolArgsFor(served);
  // The artist whose track names each direct publish marks with its version.
  const ARTIST = benchArtists(served, 1)[0]!.name;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, MUSIC_SNAPSHOT_POLL_MS: '200', LOG_LEVEL: 'warn' };
  const http: ChildProcess = spawn(process.execPath, [SERVER_BIN], { cwd: REPO_ROOT, env: { ...env, MCP_HTTP_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const loadStart = loadAverage();
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let e = '';
      http.stderr!.on('data', (d: Buffer) => {
        e += d.toString();
        const m = /at (http:\/\/\S+\/mcp)/.exec(e);
        if (m) resolve(m[1]!);
      });
      http.once('exit', (code) => reject(new Error(`HTTP server exited ${code}: ${e}`)));
    });
    const clients: { name: string; client: Client }[] = [];
    for (let n = 0; n < nClients; n++) {
      const client = new Client({ name: `soak-http-${n}`, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push({ name: `http-${n}`, client });
    }
    const stdio = new Client({ name: 'soak-stdio', version: '1' });
    await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER_BIN, '--stdio'], cwd: REPO_ROOT, env, stderr: 'ignore' }));
    clients.push({ name: 'stdio', client: stdio });

    // version → marker its tracks carry (null: none); pipeline publishes carry none.
    const markers = new Map<string, number | null>([[base.manifest.version, null]]);
    const failures: string[] = [];
    const mismatches: string[] = [];
    const latencies: number[] = [];
    const versionsSeen = new Set<string>();
    let calls = 0;
    let stop = false;
    const tools = Object.keys(TOOL_ARGS);
    const loop = async ({ name, client }: { name: string; client: Client }) => {
      for (let n = 0; !stop; n++) {
        const byArtist = n % 3 === 0;
        const tool = byArtist ? 'tracks_by_artist' : tools[n % tools.length]!;
        const toolArgs = byArtist ? { artist: ARTIST, limit: 100 } : TOOL_ARGS[tool]![n % TOOL_ARGS[tool]!.length]!;
        const t = performance.now();
        try {
          const r = (await client.callTool({ name: tool, arguments: toolArgs })) as { isError?: boolean; content: { text?: string }[]; structuredContent?: Record<string, any> };
          latencies.push(performance.now() - t);
          calls++;
          if (r.isError) {
            failures.push(`${name} ${tool}: ${r.content[0]?.text}`);
            continue;
          }
          const version = r.structuredContent!.catalog.version as string;
          versionsSeen.add(version);
          if (byArtist && markers.has(version)) {
            const want = markers.get(version)!;
            const got = new Set((r.structuredContent!.tracks as { name: string | null }[]).map((x) => /\[v(\d+)\]$/.exec(x.name ?? '')?.[1] ?? null));
            if (got.size !== 1 || [...got][0] !== (want === null ? null : String(want))) mismatches.push(`${name}: ${version} answered with markers ${[...got].join(',')}`);
          }
        } catch (err) {
          failures.push(`${name} ${tool}: ${(err as Error).message}`);
        }
      }
    };
    const running = clients.map(loop);

    const kills: Record<string, number> = Object.fromEntries(STEPS.map((s) => [s, 0]));
    let publishes = 0;
    let pipelineRuns = 0;
    const deadline = Date.now() + minutes * 60_000;
    const key = base.artists.find((a) => a.artist_name === ARTIST)!.artist_key;
    for (let k = 1; Date.now() < deadline; k++) {
      if (rand() < 0.5) {
        const names = base.tracks.track_name.map((nm, i) => (base.tracks.artist_keys[i]!.includes(key) ? `${nm ?? ''} [v${k}]` : nm));
        const { format: _f, version: _v, ...manifest } = base.manifest;
        const version = await writeSnapshot(snapshotDir, { ...base, manifest: { ...manifest, publishedAt: new Date(Date.now() + k).toISOString() }, tracks: { ...base.tracks, track_name: names } });
        markers.set(version, k);
        publishes++;
        log(`soak: published ${version} (marker v${k})`);
        await new Promise((r) => setTimeout(r, 1_000 + rand() * 3_000));
      } else {
        const step = STEPS[Math.floor(rand() * STEPS.length)]!;
        const delay = Math.floor(rand() * (step === 'transform' ? 6_000 : 1_500));
        const r = await pipeline(dataDir, step, delay);
        pipelineRuns++;
        if (r.killed) kills[step]!++;
        log(`soak: pipeline ${r.killed ? `killed ${delay} ms into ${step}` : 'finished'} (${failures.length} failed calls so far)`);
      }
    }
    await pipeline(dataDir);
    pipelineRuns++;
    const final = await martDigest(join(dataDir, 'warehouse.duckdb'));
    stop = true;
    await Promise.all(running);
    await Promise.all(clients.map((c) => c.client.close()));
    const s = summarize(latencies);
    const sameMarts = final === reference;
    const ok = failures.length === 0 && mismatches.length === 0 && sameMarts;
    log(ok ? 'soak: OK' : `soak: FAILED\n${[...failures.slice(0, 10), ...mismatches.slice(0, 10)].join('\n')}`);
    emit(args, 'soak', `
## Reliability soak (\`bench/soak.ts\`)

\`\`\`sh
npx tsx bench/soak.ts --minutes=${minutes} --clients=${nClients}     # --data-dir=DIR --seed=N
\`\`\`

${nClients} SDK clients over HTTP (one server process) and one over stdio (its own server process) call every tool
without pause for ${minutes} min while the served data dir is republished (\`writeSnapshot\`, one artist's track names
marked with the version) and the pipeline is run into it and \`kill -9\`ed a random moment into a random step;
a last pipeline run finishes. **Machine**: ${machineNotes()}; load average ${loadStart} at the start, ${loadAverage()} at the end. ${today()}.

| | |
|---|---|
| tool calls | ${calls.toLocaleString('en-US')} (p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms) |
| failed calls | ${failures.length} — ${met(failures.length === 0)} |
| answers whose content did not match their version | ${mismatches.length} — ${met(mismatches.length === 0)} |
| snapshots published directly / pipeline runs | ${publishes} / ${pipelineRuns} |
| pipeline kills by step | ${STEPS.map((st) => `${st} ${kills[st]}`).join(', ')} |
| catalog versions served | ${versionsSeen.size} |
| final marts equal the uninterrupted build (counts + checksums) | ${sameMarts ? 'yes' : 'NO'} — ${met(sameMarts)} |
`);
    if (!ok) process.exitCode = 1;
  } finally {
    http.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    cleanup();
  }
}

await main();
