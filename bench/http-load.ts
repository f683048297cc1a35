/**
 * HTTP load: concurrent clients for a bounded time against the stateless Streamable HTTP server on loopback.
 *
 *   npx tsx bench/http-load.ts [--clients=64] [--seconds=15] [--warmup=3] [--tools=all|ping|name,name] [--workers=auto|N]
 *                              [--ping-seconds=5] [--data-dir=DIR] [--write-docs]
 *   comparisons and profiles: [--protocol=2026-07-28] [--bin=path/to/bin/music-mcp-server.js] [--node-args=--flag,--flag] [--cpu-prof=DIR]
 *
 * The server runs as its own process, as `npm start` runs it (`node bin/music-mcp-server.js`,
 * MCP_HTTP_PORT=0, LOG_LEVEL=warn, MCP_HTTP_WORKERS from --workers: `auto` = one worker process per CPU);
 * the load generator (undici Pool, one keep-alive connection per client) runs here. Each client loops:
 * one plain JSON-RPC POST of tools/call (rotating through the argument sets of `toolArgsFor`, picked from the catalog), `Accept:
 * application/json, text/event-stream`, reads the SSE answer and checks it is a result without isError.
 * The stateless server needs no initialize before a tools/call (checked below); a real SDK client sends
 * initialize + notifications/initialized once when it connects (timed separately) and then exactly this
 * one POST per call. Errors: transport failures, non-200 statuses, JSON-RPC errors and isError answers.
 * Then, for --ping-seconds, the same clients send JSON-RPC `ping` instead (`server/discover` with
 * --protocol=2026-07-28, which has no `ping`): HTTP, transport and SDK with no tool code, i.e. the ceiling
 * the transport sets. Server CPU and memory are summed over the server
 * process and its workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Pool } from 'undici';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { ExchangeTransport } from '../src/http-exchange.js';
import { silentLogger } from '../src/log.js';
import { connectServer, createServer } from '../src/server.js';
import {
  binRuns, builtDataDir, emit, loadAverage, log, machineNotes, median, met, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, servedCatalog, summarize, today, toolArgsFor,
} from './lib.js';

const PROTOCOL_VERSION = '2025-06-18';
/**
 * `--protocol=2026-07-28`: each POST carries the 2026-07-28 `_meta` envelope and the Mcp-Method/Mcp-Name
 * headers, so it is served by the SDK's per-request handler instead of the pooled 2025-era servers.
 */
let revision = PROTOCOL_VERSION;
const MODERN = '2026-07-28';

/**
 * The request of the transport-ceiling phase: `ping` on the 2025-era revisions; 2026-07-28 removed `ping`
 * (the server answers it 404 / -32601 Method not found), so there it is `server/discover`, the lightest
 * request that revision has (no tool code; the SDK builds a server for it as for any 2026-07-28 POST).
 */
const ceilingMethod = () => (revision === MODERN ? 'server/discover' : 'ping');

/** The JSON-RPC body and extra headers of one call at the chosen revision. */
function callRequest(id: number, name: string, args: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  const method = name === PING ? ceilingMethod() : 'tools/call';
  const params: Record<string, unknown> = name === PING ? {} : { name, arguments: args };
  if (revision !== MODERN) return { body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(name === PING ? {} : { params }) }), headers: {} };
  params._meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench-http-load', version: '1' } };
  return { body: JSON.stringify({ jsonrpc: '2.0', id, method, params }), headers: { 'mcp-method': method, ...(name === PING ? {} : { 'mcp-name': name }) } };
}
/** `--tools=ping`: the transport-ceiling request (ceilingMethod) instead of tool calls, i.e. HTTP, transport and SDK without any tool code. */
const PING = 'ping';

interface ServerOptions {
  /** MCP_HTTP_WORKERS for the server. */
  workers: string;
  /** The package bin to run (another build of the server, for comparisons). */
  bin: string;
  /** Extra node flags (`--cpu-prof`). */
  nodeArgs: string[];
}

async function startServer(dataDir: string, opts: ServerOptions): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...opts.nodeArgs, opts.bin], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, MCP_HTTP_PORT: '0', LOG_LEVEL: 'warn',
      MCP_HTTP_WORKERS: opts.workers,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  for (let i = 0; i < 200; i++) {
    const r = await fetch(url.replace(/\/mcp$/, '/healthz')).catch(() => null);
    if (r?.status === 200) return { child, url };
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('server never became ready');
}

/** Fields of /proc/PID/stat after the command name (state is [0], ppid [1], utime [11], stime [12]). */
function statFields(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  } catch {
    return null;
  }
}

/** The process and its descendants (cluster workers), from /proc. */
function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f) parentOf.set(Number(name), Number(f[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parentOf) if (pp === tree[i]) tree.push(p);
  return tree;
}

/** utime + stime of a process and its descendants in ms (Linux /proc; null elsewhere). */
function cpuMs(pid: number): number | null {
  if (!statFields(pid)) return null;
  let total = 0;
  for (const p of processTree(pid)) {
    const f = statFields(p);
    if (f) total += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  return total;
}

/** Resident memory of a process and its descendants, in MiB (Linux /proc; null elsewhere). */
function rssMiB(pid: number): { total: number; each: number[] } | null {
  if (!statFields(pid)) return null;
  const each = processTree(pid).map((p) => {
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1];
      return kb ? Number(kb) / 1024 : 0;
    } catch {
      return 0;
    }
  });
  return { total: each.reduce((a, b) => a + b, 0), each };
}

/** The JSON-RPC answer inside an SSE body (`event: message\ndata: {...}`) or a JSON body. */
function parseAnswer(body: string): { result?: { isError?: boolean }; error?: { code: number } } | null {
  const line = body.split('\n').find((l) => l.startsWith('data: '));
  try {
    return JSON.parse(line ? line.slice(6) : body) as ReturnType<typeof parseAnswer>;
  } catch {
    return null;
  }
}

interface LoadResult {
  calls: number;
  seconds: number;
  latencies: number[];
  perTool: Record<string, number[]>;
  errors: Record<string, number>;
  serverCpuMs: number | null;
  clientCpuMs: number;
}

/** Argument sets per tool, picked from the served catalog (bench/lib.ts toolArgsFor) once it is built. */
let TOOL_ARGS: Record<string, Record<string, unknown>[]> = {};

async function drive(url: string, pid: number, clients: number, seconds: number, tools: string[], record: boolean): Promise<LoadResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const bodies = tools.flatMap((name) => (name === PING ? [{ name, args: {} }] : TOOL_ARGS[name]!.map((args) => ({ name, args }))));
  const latencies: number[] = [];
  const perTool: Record<string, number[]> = Object.fromEntries(tools.map((t) => [t, []]));
  const errors: Record<string, number> = {};
  const fail = (kind: string) => (errors[kind] = (errors[kind] ?? 0) + 1);
  let calls = 0;
  let id = 0;
  const cpu0 = cpuMs(pid);
  const client0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (w: number) => {
    let n = w;
    while (performance.now() < deadline) {
      const { name, args } = bodies[n++ % bodies.length]!;
      const { body, headers } = callRequest(++id, name, args);
      const t = performance.now();
      try {
        const res = await pool.request({
          path: u.pathname, method: 'POST', body,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': revision, ...headers },
        });
        const text = await res.body.text();
        const dt = performance.now() - t;
        if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
        else {
          const answer = parseAnswer(text);
          if (!answer) fail('unparsable answer');
          else if (answer.error) fail(`JSON-RPC error ${answer.error.code}`);
          else if (answer.result?.isError) fail('isError answer');
          else {
            calls++;
            if (record) {
              latencies.push(dt);
              perTool[name]!.push(dt);
            }
          }
        }
      } catch (err) {
        fail(`transport: ${(err as Error).message.slice(0, 60)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  const cpu1 = cpuMs(pid);
  const client1 = process.cpuUsage(client0);
  await pool.close();
  return {
    calls, seconds: elapsed, latencies, perTool, errors,
    serverCpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, clientCpuMs: (client1.user + client1.system) / 1000,
  };
}

/** What a real client does once: SDK Client.connect over Streamable HTTP (initialize, initialized, GET probe). */
async function sdkConnectMs(url: string, n: number): Promise<{ connect: number; firstCall: number }> {
  const connects: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < n; i++) {
    const client = new Client({ name: 'bench-http', version: '1' });
    let t = performance.now();
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    connects.push(performance.now() - t);
    t = performance.now();
    await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 10 } });
    calls.push(performance.now() - t);
    await client.close();
  }
  return { connect: median(connects), firstCall: median(calls) };
}

/**
 * What building one MCP server costs, timed in this process: createServer (McpServer, every tool, resource
 * and prompt registered), connect to the HTTP exchange transport, then cleanup. src/http.ts pays it only
 * when no pooled server is free (start-up, or more POSTs in flight than ever before).
 */
async function serverBuildMs(dataDir: string, n: number): Promise<number> {
  const holder = CatalogHolder.of(new Catalog(await readSnapshot(`${dataDir}/snapshots`)), silentLogger);
  const times: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t = performance.now();
    const { server, cleanup } = createServer({ catalog: holder, log: silentLogger, toolWaitMs: 1_000 });
    await connectServer(server, new ExchangeTransport());
    await cleanup();
    if (i >= 20) times.push(performance.now() - t);
  }
  holder.close();
  return median(times);
}

async function main(): Promise<void> {
  const args = parseArgs();
  const clients = numArg(args, 'clients', 64);
  const seconds = numArg(args, 'seconds', 15);
  const warmup = numArg(args, 'warmup', 3);
  const toolsArg = args.get('tools') ?? 'all';
  const { dir, cleanup } = await builtDataDir(args);
  TOOL_ARGS = toolArgsFor(await servedCatalog(dir));
  const tools = toolsArg === 'all' ? Object.keys(TOOL_ARGS) : toolsArg.split(',');
  const workers = args.get('workers') ?? 'auto';
  const cpuProf = args.get('cpu-prof');
  const bin = args.get('bin') ?? SERVER_BIN;
  revision = args.get('protocol') ?? PROTOCOL_VERSION;
  const nodeArgs = [...(args.get('node-args')?.split(',') ?? []), ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])];
  const { child, url } = await startServer(dir, { workers, bin, nodeArgs });
  try {
    // No initialize needed by the stateless server: a bare tools/call is answered.
    const bare = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } } }),
    });
    const bareOk = bare.status === 200 && !parseAnswer(await bare.text())?.error;
    const sdk = await sdkConnectMs(url, 10);
    const buildMs = await serverBuildMs(dir, 200);
    log(`http: warm-up ${warmup} s`);
    await drive(url, child.pid!, clients, warmup, tools, false);
    const loadBefore = loadAverage();
    log(`http: ${clients} clients for ${seconds} s (load average ${loadBefore})`);
    const r = await drive(url, child.pid!, clients, seconds, tools, true);
    const loadAfter = loadAverage();
    const memory = rssMiB(child.pid!);
    const s = summarize(r.latencies);
    const rate = r.calls / r.seconds;
    const errorCount = Object.values(r.errors).reduce((a, b) => a + b, 0);
    const cpuShare = (x: LoadResult) => (x.serverCpuMs === null ? '?' : `${((x.serverCpuMs / 1000 / x.seconds) * 100).toFixed(0)} %`);
    const rss = memory ? `${memory.total.toFixed(0)} MiB (${memory.each.map((m) => m.toFixed(0)).join(' + ')})` : '?';
    log(
      `http ${revision}: ${r.calls} calls, ${rate.toFixed(0)}/s, p50 ${ms(s.p50)} ms, p90 ${ms(s.p90)} ms, p99 ${ms(s.p99)} ms, errors ${errorCount}${errorCount ? ` ${JSON.stringify(r.errors)}` : ''}, ` +
        `server CPU ${cpuShare(r)}, client CPU ${((r.clientCpuMs / 1000 / r.seconds) * 100).toFixed(0)} %, RSS ${rss}, load ${loadAfter}`,
    );
    const pingSeconds = numArg(args, 'ping-seconds', 5);
    const ping = pingSeconds > 0 && !tools.includes(PING) ? await drive(url, child.pid!, clients, pingSeconds, [PING], true) : null;
    const p = ping ? summarize(ping.latencies) : null;
    if (ping && p) log(`http ${ceilingMethod()}: ${(ping.calls / ping.seconds).toFixed(0)}/s, p50 ${ms(p.p50)} ms, p90 ${ms(p.p90)} ms, p99 ${ms(p.p99)} ms, server CPU ${cpuShare(ping)}, errors ${JSON.stringify(ping.errors)}`);

    const perTool = Object.entries(r.perTool).map(([name, xs]) => {
      const t = summarize(xs);
      return `| \`${name}\` | ${t.n.toLocaleString('en-US')} | ${ms(t.p50)} | ${ms(t.p99)} |`;
    });
    const processes = memory ? memory.each.length : 1;
    const cpuNote = r.serverCpuMs !== null
      ? `The server (${processes > 1 ? `primary + ${processes - 1} workers` : 'one process'}) used ${(r.serverCpuMs / 1000).toFixed(1)} CPU-seconds in the ${r.seconds.toFixed(1)} s window (${cpuShare(r)} of one core, ${(r.calls / (r.serverCpuMs / 1000)).toFixed(0)} calls per CPU-second); the load generator used ${(r.clientCpuMs / 1000).toFixed(1)} CPU-seconds on the same 2 cores. Resident memory after the run: ${rss}.`
      : '';
    const pingNote = ping && p
      ? `Transport ceiling: the same ${clients} clients sending JSON-RPC \`${ceilingMethod()}\` (HTTP, transport and SDK, no tool code) for ${pingSeconds} s: ${Math.round(ping.calls / ping.seconds).toLocaleString('en-US')} calls/s, p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, server CPU ${cpuShare(ping)}; what the tools/call figures lack of that is tool work.`
      : '';

    emit(args, 'http-load', `
## HTTP load: ${clients} concurrent clients on loopback (\`bench/http-load.ts\`)

\`\`\`sh
npx tsx bench/http-load.ts --clients=${clients} --seconds=${seconds} --tools=${toolsArg} --workers=${workers}     # --data-dir=DIR
\`\`\`

The server as \`npm start\` runs it (\`node bin/music-mcp-server.js\`, which ran ${binRuns()}; \`MCP_HTTP_WORKERS=${workers}\`:
${processes > 1 ? `${processes - 1} worker processes sharing the port` : 'one process'}; stateless Streamable HTTP, each POST served by an MCP server of its own
taken from a pool over the shared catalog; the published snapshot of --data-dir); ${clients} clients in the bench process (undici \`Pool\`, one
keep-alive connection each) loop for ${seconds} s after a ${warmup} s warm-up, each sending one plain JSON-RPC \`tools/call\`
POST at a time (rotating through ${tools.length === Object.keys(TOOL_ARGS).length ? 'every tool\'s' : tools.join(', ')} argument sets of \`toolArgsFor\` in \`bench/lib.ts\`) and reading the SSE answer.
A call counts when the answer is a result without \`isError\`.

No \`initialize\` is needed: the stateless server answered a bare \`tools/call\` POST: ${bareOk ? 'yes' : 'NO'}. A real SDK client
(\`StreamableHTTPClientTransport\`) spends ${ms(sdk.connect)} ms (median of 10) connecting once (initialize, notifications/initialized
and a GET probe answered 405) and then sends exactly one POST per call, which is what this measures
(its first recommend_by_genre call: ${ms(sdk.firstCall)} ms).

**Machine**: ${machineNotes()}; load generator and server share the 2 cores. Load average (1/5/15 min)
${loadBefore} before, ${loadAfter} after. ${today()}.

| | figure | target |
|---|---:|---|
| calls/s | ${rate.toFixed(0)} (${r.calls.toLocaleString('en-US')} in ${r.seconds.toFixed(1)} s) | ≥ 2,000: ${met(rate >= 2000)} |
| p50 | ${ms(s.p50)} ms | |
| p90 | ${ms(s.p90)} ms | |
| p99 | ${ms(s.p99)} ms | ≤ 50 ms: ${met(s.p99 <= 50)} |
| errors | ${errorCount}${errorCount ? ` (${Object.entries(r.errors).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} | 0: ${met(errorCount === 0)} |

${cpuNote}

${pingNote} Building one MCP server (\`createServer\` with every tool, resource and prompt, \`connect\`, cleanup) takes
${ms(buildMs)} ms in process (median of 200); the pool pays it only when no built server is free.

| tool | calls | p50 ms | p99 ms |
|---|---:|---:|---:|
${perTool.join('\n')}
`, [
      { target: `HTTP ${clients} clients: ≥ 2,000 calls/s`, figure: `${rate.toFixed(0)} calls/s (MCP_HTTP_WORKERS=${workers})`, met: rate >= 2000, load: loadAfter },
      { target: `HTTP ${clients} clients: p99 ≤ 50 ms`, figure: `p99 ${ms(s.p99)} ms (p50 ${ms(s.p50)} ms)`, met: s.p99 <= 50, load: loadAfter },
      { target: `HTTP ${clients} clients: 0 errors`, figure: `${errorCount} errors in ${r.calls.toLocaleString('en-US')} calls`, met: errorCount === 0, load: loadAfter },
    ]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    cleanup();
  }
}

await main();
