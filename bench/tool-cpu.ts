/**
 * CPU time per tool call of two checkouts, in one process, through a real SDK Client over an in-memory
 * transport (the server's whole call path: params checks, input and output validation, the handler; and
 * the client's parse and output-schema check of the answer). The checkouts take turns call by call, so a
 * busy machine slows both alike; each call's CPU time is read from process.cpuUsage() around it (nothing
 * else runs in this process meanwhile), which a descheduled process does not accrue.
 *
 *   npx tsx bench/tool-cpu.ts --baseline=<checkout> [--data-dir=DIR] [--tools=a,b] [--calls=1000]
 *
 * Both checkouts need a built `dist/` (`npm run build`); each loads the snapshot of DIR with its own code.
 * Arguments rotate through the benchmark's sets (bench/lib.ts toolArgsFor). Prints per tool the median
 * and mean CPU µs per call of each checkout and the ratio of the means (this ÷ baseline).
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { servedCatalog, toolArgsFor } from './lib.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' }, 'data-dir': { type: 'string', default: 'data' },
    tools: { type: 'string', default: 'recommend_by_genre,similar_tracks,tracks_by_artist,artist_metadata,search_music_knowledge' },
    calls: { type: 'string', default: '1000' },
  },
});
if (!values.baseline) throw new Error('--baseline=<checkout with a built dist/> is required');
const here = fileURLToPath(new URL('..', import.meta.url));
const roots = [resolve(values.baseline), resolve(here)];
const dataDir = resolve(values['data-dir']!);
const snapshots = join(dataDir, 'snapshots');
const version = readFileSync(join(snapshots, 'CURRENT'), 'utf8').trim();
const argSets = toolArgsFor(await servedCatalog(dataDir));
const calls = Number(values.calls);
const WARMUP = 100;

async function connect(root: string): Promise<Client> {
  const load = (path: string) => import(join(root, 'dist', path));
  const [{ CatalogHolder, loadCatalog }, { silentLogger }, { connectServer, createServer }] = await Promise.all([load('src/catalog/holder.js'), load('src/log.js'), load('src/server.js')]);
  const catalog = await loadCatalog(snapshots, version);
  const { server } = createServer({ catalog: CatalogHolder.of(catalog, silentLogger), log: silentLogger, toolWaitMs: 1_000 });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await connectServer(server, serverSide);
  const client = new Client({ name: 'bench-tool-cpu', version: '1' }, { supportedProtocolVersions: ['2025-11-25'] });
  await client.connect(clientSide);
  await client.listTools(); // the client checks structuredContent against each tool's outputSchema from here on
  return client;
}

const clients = [];
for (const root of roots) clients.push(await connect(root));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`baseline ${roots[0]} vs this tree ${roots[1]}; ${calls} calls each per tool; ${cpus()[0]?.model.trim()} × ${cpus().length}, Node ${process.version}`);
for (const tool of values.tools!.split(',')) {
  const sets = argSets[tool];
  if (!sets) throw new Error(`no benchmark arguments for ${tool}`);
  const cpu: number[][] = roots.map(() => []);
  const load = loadavg()[0]!.toFixed(1);
  for (let i = 0; i < calls + WARMUP; i++) {
    for (let turn = 0; turn < roots.length; turn++) {
      const k = (i + turn) % roots.length; // alternate which checkout goes first
      const before = process.cpuUsage();
      const r = (await clients[k]!.callTool({ name: tool, arguments: sets[i % sets.length]! })) as { isError?: boolean };
      const used = process.cpuUsage(before);
      if (r.isError) throw new Error(`${tool} answered an error in ${roots[k]}`);
      if (i >= WARMUP) cpu[k]!.push(used.user + used.system);
    }
  }
  const [b, t] = cpu as [number[], number[]];
  console.log(`${tool}: baseline median ${median(b)} / mean ${mean(b).toFixed(0)} µs; this tree ${median(t)} / ${mean(t).toFixed(0)} µs; ratio of means ${(mean(t) / mean(b)).toFixed(3)} (load average ${load} → ${loadavg()[0]!.toFixed(1)})`);
}
process.exit(0);
