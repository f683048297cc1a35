/**
 * HTTP load: concurrent clients for a bounded time against the stateless Streamable HTTP server on loopback,
 * and in the same run against the reference, bench/minimal-sdk-server.ts (the SDK's own handler with one
 * trivial `echo` tool), at each protocol revision asked for.
 *
 *   npx tsx bench/http-load.ts [--clients=64] [--seconds=15] [--warmup=3] [--rounds=1] [--tools=all|ping|name,name] [--workers=1|auto|N]
 *                              [--protocol=2025-11-25,2026-07-28] [--reference=none] [--pin] [--ping-seconds=5] [--data-dir=DIR] [--write-docs]
 *   comparisons and profiles: [--bin=path/to/bin/music-mcp-server.js] [--node-args=--flag,--flag] [--cpu-prof=DIR]
 *
 * Each round, for each revision: the product's server is started as `npm start` runs it (`node
 * bin/music-mcp-server.js`, MCP_HTTP_PORT=0, LOG_LEVEL=warn, MCP_HTTP_WORKERS from --workers, default one
 * process) and measured once /healthz says the indexes that follow a load are built; then the reference is
 * started and measured the same way. Both run with bench/http-probe.mjs preloaded, which reports from inside
 * the server the time from a request's arrival to its response's end, the event-loop delay and GC pauses of
 * the measured window. `--pin` puts the server on CPU 1 and this process on CPU 0 (taskset).
 *
 * The load generator (undici Pool, one keep-alive connection per client) runs here. Each client loops: one
 * JSON-RPC POST of tools/call (the product: rotating through the argument sets of `toolArgsFor`, picked from
 * the catalog; the reference: `echo`), reads the answer (SSE or JSON) and checks it is a result without
 * isError. The stateless server needs no initialize before a tools/call (checked once); a real SDK client
 * sends initialize + notifications/initialized once when it connects (timed separately) and then exactly
 * this one POST per call. Errors: transport failures, non-200 statuses, JSON-RPC errors and isError answers.
 * Then, in round 1, for --ping-seconds, the same clients send the product JSON-RPC `ping` instead
 * (`server/discover` at 2026-07-28, which has no `ping`): HTTP, transport and SDK with no tool code. Server
 * CPU and memory are summed over the server process and its workers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Pool } from 'undici';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { ExchangeTransport } from '../src/http-exchange.js';
import { silentLogger } from '../src/log.js';
import { connectServer, createServer } from '../src/server.js';
import {
  binRuns, builtDataDir, emit, loadAverage, log, machineNotes, median, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, servedCatalog, summarize, today, toolArgsFor,
} from './lib.js';

/** The revisions measured by default: the last 2025-era one and the stateless 2026-07-28 one. */
const LEGACY = '2025-11-25';
/**
 * At 2026-07-28 each POST carries the `_meta` envelope and the Mcp-Method/Mcp-Name headers, so the product
 * serves it through the SDK's per-request handler instead of the pooled 2025-era servers.
 */
const MODERN = '2026-07-28';

/**
 * The request of the transport-ceiling phase: `ping` on the 2025-era revisions; 2026-07-28 removed `ping`
 * (the server answers it 404 / -32601 Method not found), so there it is `server/discover`, the lightest
 * request that revision has (no tool code; the SDK builds a server for it as for any 2026-07-28 POST).
 */
const ceilingMethod = (revision: string) => (revision === MODERN ? 'server/discover' : 'ping');

/** The JSON-RPC body and extra headers of one call at `revision`. */
function callRequest(revision: string, id: number, name: string, args: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  const method = name === PING ? ceilingMethod(revision) : 'tools/call';
  const params: Record<string, unknown> = name === PING ? {} : { name, arguments: args };
  if (revision !== MODERN) return { body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(name === PING ? {} : { params }) }), headers: {} };
  params._meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench-http-load', version: '1' } };
  return { body: JSON.stringify({ jsonrpc: '2.0', id, method, params }), headers: { 'mcp-method': method, ...(name === PING ? {} : { 'mcp-name': name }) } };
}
/** `--tools=ping`: the transport-ceiling request (ceilingMethod) instead of tool calls, i.e. HTTP, transport and SDK without any tool code. */
const PING = 'ping';
/** The reference server (bench/minimal-sdk-server.ts) and its one trivial tool's argument sets. */
const MINIMAL_SERVER = join(REPO_ROOT, 'bench/minimal-sdk-server.ts');
const ECHO_ARGS = [{ text: 'hello' }, { text: 'a slightly longer line of text to return' }];
const PROBE = join(REPO_ROOT, 'bench/http-probe.mjs');

interface ServerOptions {
  /** MCP_HTTP_WORKERS for the server. */
  workers: string;
  /** The package bin to run (another build of the server, for comparisons). */
  bin: string;
  /** Extra node flags (`--cpu-prof`). */
  nodeArgs: string[];
  /** `taskset -c CPUS` for the server process (`--pin`), or none. */
  cpus: string | null;
}

interface RunningServer {
  child: ChildProcess;
  url: string;
  /** The server-side figures of the window since the previous call (bench/http-probe.mjs), or null without the probe. */
  probe: () => Promise<ProbeReport | null>;
}

/** What bench/http-probe.mjs reports from inside the server (milliseconds). */
interface ProbeReport {
  seconds: number;
  cpuMs: number;
  requests: { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null };
  loopDelay: { p50: number | null; p99: number | null; max: number; mean: number };
  gc: Record<string, { count: number; totalMs: number; maxMs: number; over10ms: number }>;
}

/**
 * Spawns a server (`script` with `args`, under `taskset` when pinned, with the probe preloaded) and waits
 * until it listens and answers /healthz.
 */
async function startServer(script: string[], env: Record<string, string>, opts: ServerOptions): Promise<RunningServer> {
  const argv = [process.execPath, ...opts.nodeArgs, '--import', pathToFileURL(PROBE).href, ...script];
  const [cmd, ...rest] = opts.cpus ? ['taskset', '-c', opts.cpus, ...argv] : argv;
  const child = spawn(cmd!, rest, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MCP_HTTP_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const reports: ((r: ProbeReport) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]!);
      let line: RegExpExecArray | null;
      while ((line = /^http-probe (\{.*\})\n/m.exec(err))) {
        err = err.slice(0, line.index) + err.slice(line.index + line[0].length);
        reports.shift()?.(JSON.parse(line[1]!) as ProbeReport);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  // Ready, and (the product's server) done building the indexes that follow a load in the background, so
  // that the measured window holds calls only.
  for (let i = 0; i < 1_200; i++) {
    const r = await fetch(url.replace(/\/mcp$/, '/healthz')).catch(() => null);
    const health = r?.status === 200 ? ((await r.json().catch(() => ({}))) as { indexes?: string }) : null;
    if (health && (health.indexes === undefined || health.indexes === 'ready')) {
      const probe = () => new Promise<ProbeReport | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), 2_000);
        reports.push((rep) => (clearTimeout(timer), resolve(rep)));
        child.kill('SIGUSR2');
      });
      return { child, url, probe };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('server never became ready');
}

async function stopServer(server: RunningServer): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
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

/** The calls a client rotates through: every argument set of each tool (`ping` for the ceiling request). */
const callsOf = (tools: string[], argsOf: Record<string, Record<string, unknown>[]>): Call[] =>
  tools.flatMap((name) => (name === PING ? [{ name, args: {} }] : argsOf[name]!.map((args) => ({ name, args }))));

interface Call {
  name: string;
  args: Record<string, unknown>;
}

/** `clients` keep-alive connections, each sending one call at a time from `bodies` at `revision` for `seconds`. */
async function drive(url: string, pid: number, clients: number, seconds: number, bodies: Call[], revision: string, record: boolean): Promise<LoadResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const tools = [...new Set(bodies.map((b) => b.name))];
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
      const { body, headers } = callRequest(revision, ++id, name, args);
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

/** One measured window against one server. */
interface Run {
  revision: string;
  server: 'product' | 'minimal';
  round: number;
  result: LoadResult;
  probe: ProbeReport | null;
  loadAfter: string;
  rss: string;
}

const rateOf = (r: LoadResult) => r.calls / r.seconds;
const perCpuSecond = (r: LoadResult) => (r.serverCpuMs ? r.calls / (r.serverCpuMs / 1000) : NaN);
const errorsOf = (r: LoadResult) => Object.values(r.errors).reduce((a, b) => a + b, 0);
const gcTotal = (p: ProbeReport | null) => (p ? Object.values(p.gc).reduce((a, g) => ({ ms: a.ms + g.totalMs, max: Math.max(a.max, g.maxMs), over10: a.over10 + g.over10ms }), { ms: 0, max: 0, over10: 0 }) : null);
const opt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : ms(v));

function describe(run: Run): string {
  const { result: r, probe } = run;
  const s = summarize(r.latencies);
  const gc = gcTotal(probe);
  return `${run.server} ${run.revision} #${run.round}: ${rateOf(r).toFixed(0)} calls/s, p50 ${ms(s.p50)} / p90 ${ms(s.p90)} / p99 ${ms(s.p99)} ms, ` +
    `server-side p50 ${opt(probe?.requests.p50)} / p99 ${opt(probe?.requests.p99)} ms, loop delay p99 ${opt(probe?.loopDelay.p99)} max ${opt(probe?.loopDelay.max)} ms, ` +
    `GC ${gc ? `${gc.ms.toFixed(0)} ms (max ${gc.max.toFixed(1)})` : '?'}, ${perCpuSecond(r).toFixed(0)} calls/CPU-s, errors ${errorsOf(r)}${errorsOf(r) ? ` ${JSON.stringify(r.errors)}` : ''}, load ${run.loadAfter}`;
}

/** Pins this process (every thread) to `cpus` with taskset; false when that is not possible here. */
function pinSelf(cpus: string): boolean {
  return spawnSync('taskset', ['-apc', cpus, String(process.pid)], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  const args = parseArgs();
  const clients = numArg(args, 'clients', 64);
  const seconds = numArg(args, 'seconds', 15);
  const warmup = numArg(args, 'warmup', 3);
  const rounds = numArg(args, 'rounds', 1);
  const pingSeconds = numArg(args, 'ping-seconds', 5);
  const toolsArg = args.get('tools') ?? 'all';
  const { dir, cleanup } = await builtDataDir(args);
  const toolArgs = toolArgsFor(await servedCatalog(dir));
  const tools = toolsArg === 'all' ? Object.keys(toolArgs) : toolsArg.split(',');
  const unknown = tools.filter((t) => t !== PING && !toolArgs[t]);
  if (unknown.length) throw new Error(`--tools: no such tool ${unknown.join(', ')} (tools: ${Object.keys(toolArgs).join(', ')}, or ping)`);
  const workers = args.get('workers') ?? '1';
  const cpuProf = args.get('cpu-prof');
  const bin = args.get('bin') ?? SERVER_BIN;
  const revisions = (args.get('protocol') ?? `${LEGACY},${MODERN}`).split(',');
  const withReference = args.get('reference') !== 'none';
  const pinned = args.has('pin') && pinSelf('0');
  const nodeArgs = [...(args.get('node-args')?.split(',') ?? []), ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])];
  const opts: ServerOptions = { workers, bin, nodeArgs, cpus: pinned ? '1' : null };
  const product = () => startServer([bin], { MUSIC_DATA_DIR: dir, MCP_HTTP_WORKERS: workers }, opts);
  const minimal = () => startServer(['--import', 'tsx', MINIMAL_SERVER], {}, { ...opts, nodeArgs: [] });
  const productCalls = callsOf(tools, toolArgs);
  const echoCalls = callsOf(['echo'], { echo: ECHO_ARGS });

  const loadBefore = loadAverage();
  const runs: Run[] = [];
  const ceilings: { revision: string; result: LoadResult }[] = [];
  /** One measured window: warm-up, then `seconds` bracketed by the server's probe. */
  const measure = async (server: RunningServer, kind: Run['server'], revision: string, round: number, calls: Call[]) => {
    await drive(server.url, server.child.pid!, clients, warmup, calls, revision, false);
    await server.probe();
    const result = await drive(server.url, server.child.pid!, clients, seconds, calls, revision, true);
    const probe = await server.probe();
    const memory = rssMiB(server.child.pid!);
    const run: Run = { revision, server: kind, round, result, probe, loadAfter: loadAverage(), rss: memory ? `${memory.total.toFixed(0)} MiB` : '?' };
    log(describe(run));
    runs.push(run);
  };

  // Once: no initialize is needed by the stateless server, what a real SDK client pays to connect, what building one MCP server costs.
  const first = await product();
  let bareOk: boolean;
  let sdk: { connect: number; firstCall: number };
  try {
    const bare = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } } }),
    });
    bareOk = bare.status === 200 && !parseAnswer(await bare.text())?.error;
    sdk = await sdkConnectMs(first.url, 10);
  } finally {
    await stopServer(first);
  }
  const buildMs = await serverBuildMs(dir, 200);

  try {
    for (let round = 1; round <= rounds; round++) {
      for (const revision of revisions) {
        log(`http: round ${round}, ${revision}: product, ${clients} clients, ${warmup} s warm-up + ${seconds} s (load average ${loadAverage()})`);
        const server = await product();
        try {
          await measure(server, 'product', revision, round, productCalls);
          if (pingSeconds > 0 && round === 1 && !tools.includes(PING)) {
            const ping = await drive(server.url, server.child.pid!, clients, pingSeconds, [{ name: PING, args: {} }], revision, true);
            ceilings.push({ revision, result: ping });
            const p = summarize(ping.latencies);
            log(`http ${revision} ${ceilingMethod(revision)}: ${rateOf(ping).toFixed(0)}/s, p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, ${perCpuSecond(ping).toFixed(0)} calls/CPU-s, errors ${JSON.stringify(ping.errors)}`);
          }
        } finally {
          await stopServer(server);
        }
        if (!withReference) continue;
        log(`http: round ${round}, ${revision}: minimal SDK server (echo)`);
        const ref = await minimal();
        try {
          await measure(ref, 'minimal', revision, round, echoCalls);
        } finally {
          await stopServer(ref);
        }
      }
    }
  } finally {
    cleanup();
  }
  const loadAfter = loadAverage();
  report(args, { clients, seconds, warmup, rounds, workers, toolsArg, tools, toolArgs, revisions, pinned, bareOk, sdk, buildMs, loadBefore, loadAfter, runs, ceilings, pingSeconds });
}

interface Report {
  clients: number; seconds: number; warmup: number; rounds: number; workers: string; toolsArg: string; tools: string[];
  toolArgs: Record<string, unknown>; revisions: string[]; pinned: boolean; bareOk: boolean; sdk: { connect: number; firstCall: number };
  buildMs: number; loadBefore: string; loadAfter: string; runs: Run[]; ceilings: { revision: string; result: LoadResult }[]; pingSeconds: number;
}

function report(args: Map<string, string>, x: Report): void {
  const { clients, seconds, runs } = x;
  const row = (run: Run, ratio: string) => {
    const s = summarize(run.result.latencies);
    const gc = gcTotal(run.probe);
    const cpuPerCall = run.result.serverCpuMs !== null ? (run.result.serverCpuMs / run.result.calls).toFixed(3) : '?';
    return `| ${run.revision} | ${run.server === 'product' ? 'this server, every tool' : 'minimal SDK server, `echo`'} | ${run.round} | ${rateOf(run.result).toFixed(0)} | ${ratio} | ` +
      `${perCpuSecond(run.result).toFixed(0)} (${cpuPerCall} ms) | ${ms(s.p50)} / ${ms(s.p90)} / ${ms(s.p99)} | ${opt(run.probe?.requests.p50)} / ${opt(run.probe?.requests.p99)} | ` +
      `${opt(run.probe?.loopDelay.p99)} / ${opt(run.probe?.loopDelay.max)} | ${gc ? `${gc.ms.toFixed(0)} / ${gc.max.toFixed(1)}` : '–'} | ${errorsOf(run.result)} | ${run.rss} | ${run.loadAfter} |`;
  };
  const partner = (run: Run) => runs.find((o) => o.server === 'minimal' && o.revision === run.revision && o.round === run.round);
  const ratios = new Map<string, number[]>();
  const rows = runs.map((run) => {
    const ref = run.server === 'product' ? partner(run) : undefined;
    if (!ref) return row(run, '');
    const ratio = rateOf(run.result) / rateOf(ref.result);
    ratios.set(run.revision, [...(ratios.get(run.revision) ?? []), ratio]);
    return row(run, `${ratio.toFixed(2)}× (CPU ${(perCpuSecond(run.result) / perCpuSecond(ref.result)).toFixed(2)}×)`);
  });
  const p99s = (revision: string) => runs.filter((r) => r.server === 'product' && r.revision === revision).map((r) => summarize(r.result.latencies).p99);
  const targets = x.revisions.flatMap((revision) => {
    const rs = ratios.get(revision) ?? [];
    const worstP99 = Math.max(...p99s(revision));
    return [
      ...(rs.length ? [{ target: `HTTP ${revision}, 1 process, ${clients} clients, mixed tools: ≥ 1.5× the minimal SDK server`, figure: `${rs.map((v) => `${v.toFixed(2)}×`).join(', ')}`, met: Math.min(...rs) >= 1.5, load: x.loadAfter }] : []),
      { target: `HTTP ${revision}, ${clients} clients, mixed tools: p99 ≤ 50 ms`, figure: `p99 ${p99s(revision).map(ms).join(', ')} ms`, met: worstP99 <= 50, load: x.loadAfter },
    ];
  });
  const perTool = runs.filter((r) => r.server === 'product').flatMap((run) => Object.entries(run.result.perTool).map(([name, xs]) => {
    const t = summarize(xs);
    return `| ${run.revision} #${run.round} | \`${name}\` | ${t.n.toLocaleString('en-US')} | ${ms(t.p50)} | ${ms(t.p99)} |`;
  }));
  const ceilingRows = x.ceilings.map(({ revision, result }) => {
    const p = summarize(result.latencies);
    return `| ${revision} | \`${ceilingMethod(revision)}\` | ${rateOf(result).toFixed(0)} | ${perCpuSecond(result).toFixed(0)} | ${ms(p.p50)} / ${ms(p.p99)} |`;
  });
  const flags = `--clients=${clients} --seconds=${seconds} --warmup=${x.warmup} --rounds=${x.rounds} --tools=${x.toolsArg} --workers=${x.workers} --protocol=${x.revisions.join(',')}${x.pinned ? ' --pin' : ''}`;

  emit(args, 'http-load', `
## HTTP load: ${clients} concurrent clients on loopback, against a minimal SDK server (\`bench/http-load.ts\`)

\`\`\`sh
npx tsx bench/http-load.ts ${flags}     # --data-dir=DIR
\`\`\`

The product's server as \`npm start\` runs it (\`node bin/music-mcp-server.js\`, which ran ${binRuns()}; \`MCP_HTTP_WORKERS=${x.workers}\`;
the published snapshot of --data-dir) and, in the same run, the reference \`bench/minimal-sdk-server.ts\`: the SDK's own
\`createMcpHandler\` + \`toNodeHandler\` with one trivial tool (\`echo\`), a server per request. Each is started fresh, warmed
for ${x.warmup} s, then ${clients} clients in the bench process (undici \`Pool\`, one keep-alive connection each) loop for ${seconds} s, each
sending one JSON-RPC \`tools/call\` POST at a time (this server: rotating through ${x.tools.length === Object.keys(x.toolArgs).length ? 'every tool\'s' : x.tools.join(', ')} argument sets of
\`toolArgsFor\` in \`bench/lib.ts\`; the reference: \`echo\`) and reading the answer. A call counts when it is a result without \`isError\`.
${x.pinned ? 'Pinned (`--pin`): the server under test on CPU 1, the load generator on CPU 0 (`taskset`).' : 'Not pinned: load generator and server share the 2 cores.'}

Server-side figures come from \`bench/http-probe.mjs\`, preloaded into both servers: request arrival (headers parsed) to
response end, event-loop delay (\`monitorEventLoopDelay\`), and GC pauses (\`PerformanceObserver\`), over the measured window.

**Machine**: ${machineNotes()}. Load average (1/5/15 min) ${x.loadBefore} before, ${x.loadAfter} after. ${today()}.

| revision | server | round | calls/s | ratio to minimal (calls/s; per CPU-s) | calls per server CPU-s (ms CPU per call) | client p50 / p90 / p99 ms | server-side p50 / p99 ms | loop delay p99 / max ms | GC total / longest ms | errors | RSS | load after |
|---|---|---:|---:|---|---:|---|---|---|---|---:|---:|---|
${rows.join('\n')}

No \`initialize\` is needed: the stateless server answered a bare \`tools/call\` POST: ${x.bareOk ? 'yes' : 'NO'}. A real SDK client
(\`StreamableHTTPClientTransport\`) spends ${ms(x.sdk.connect)} ms (median of 10) connecting once and then sends one POST per call
(its first recommend_by_genre call: ${ms(x.sdk.firstCall)} ms). Building one MCP server of this product (\`createServer\` with every
tool, resource and prompt, \`connect\`, cleanup) takes ${ms(x.buildMs)} ms in process (median of 200); the 2025-era pool pays it
only when no built server is free.

${ceilingRows.length ? `Transport ceiling (this server, the lightest request of the revision, ${x.pingSeconds} s, round 1):

| revision | request | calls/s | calls per CPU-s | p50 / p99 ms |
|---|---|---:|---:|---|
${ceilingRows.join('\n')}
` : ''}
| revision, round | tool | calls | p50 ms | p99 ms |
|---|---|---:|---:|---:|
${perTool.join('\n')}
`, targets);
}

await main();
