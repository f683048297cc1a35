// Smoke-test a deployment: `npm run smoke -- [--stdio | --url URL]` (default http://127.0.0.1:3333/mcp).
// Connects, lists tools/resources/prompts, calls every tool with representative arguments (the SDK
// client validates each structuredContent against the tool's outputSchema), reads a resource, and
// prints a table of name, status and latency. Exit code 1 when anything failed.
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Transport } from '@modelcontextprotocol/client';
import { loadConfig } from '../src/config.js';
import { EXIT } from '../src/pipeline/exit-codes.js';

const argv = process.argv.slice(2);
const config = loadConfig();
const urlArg = argv[argv.indexOf('--url') + 1];
const useStdio = argv.includes('--stdio');
const url = argv.includes('--url') && urlArg ? urlArg : `http://127.0.0.1:${config.http.port}/mcp`;

/** Track ids from the first list a tool returned: sequence_playlist orders them (any catalog has its own ids). */
const listed: string[] = [];

/** Representative arguments for the tools this server ships; other tools get {}. */
const EXAMPLES: Record<string, (() => Record<string, unknown>)[] | Record<string, unknown>[]> = {
  recommend_by_genre: [{ genre: 'pop', limit: 5 }, { genre: 'rock', limit: 5, max_energy: 0.5, target_acousticness: 0.7 }],
  similar_tracks: [{ seed_artists: ['Queen'], limit: 5 }],
  tracks_by_artist: [{ artist: 'Queen', limit: 5 }],
  artist_metadata: [{ artist: 'Queen' }],
  search_music_knowledge: [{ query: 'upbeat dance music', limit: 3 }],
  sequence_playlist: [() => ({ tracks: listed.slice(0, 5), arc: 'peak' })],
};

let transport: Transport;
if (useStdio) {
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [fileURLToPath(new URL('../bin/music-mcp-server.js', import.meta.url)), '--stdio'],
    env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    stderr: 'ignore',
  });
} else {
  const headers: Record<string, string> = config.http.authToken ? { authorization: `Bearer ${config.http.authToken}` } : {};
  transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
}

const rows: { what: string; status: string; ms: number; detail: string }[] = [];
async function step(what: string, fn: () => Promise<string>): Promise<void> {
  const t0 = performance.now();
  try {
    const detail = await fn();
    rows.push({ what, status: 'ok', ms: performance.now() - t0, detail });
  } catch (err) {
    rows.push({ what, status: 'FAIL', ms: performance.now() - t0, detail: (err as Error).message.split('\n')[0]!.slice(0, 120) });
  }
}

const client = new Client({ name: 'music-mcp-smoke', version: '1.0.0' });
await step(`connect ${useStdio ? 'stdio' : url}`, async () => {
  await client.connect(transport);
  const v = client.getServerVersion();
  return `${v?.name} ${v?.version}`;
});
let tools: { name: string }[] = [];
await step('tools/list', async () => {
  tools = (await client.listTools()).tools;
  return tools.map((t) => t.name).join(', ');
});
await step('resources/list', async () => `${(await client.listResources()).resources.length} resources`);
await step('resources/templates/list', async () => `${(await client.listResourceTemplates()).resourceTemplates.length} templates`);
await step('prompts/list', async () => `${(await client.listPrompts()).prompts.length} prompts`);
await step('ping', async () => {
  await client.ping();
  return 'pong';
});
for (const tool of tools) {
  for (const example of EXAMPLES[tool.name] ?? [{}]) {
    const args = typeof example === 'function' ? example() : example;
    await step(`${tool.name} ${JSON.stringify(args)}`, async () => {
      const r = (await client.callTool({ name: tool.name, arguments: args })) as {
        isError?: boolean; content: { text?: string }[]; structuredContent?: { tracks?: { track_id: string }[] };
      };
      if (r.isError) throw new Error(r.content[0]?.text ?? 'isError');
      if (!listed.length) listed.push(...(r.structuredContent?.tracks ?? []).map((t) => t.track_id));
      return (r.content[0]?.text ?? '').split('\n')[0]!.slice(0, 80);
    });
  }
}
await client.close();

const w = Math.max(...rows.map((r) => r.what.length), 10);
process.stdout.write(`${'check'.padEnd(w)}  status  ms       detail\n${'-'.repeat(w + 40)}\n`);
for (const r of rows) process.stdout.write(`${r.what.padEnd(w)}  ${r.status.padEnd(6)}  ${r.ms.toFixed(1).padStart(7)}  ${r.detail}\n`);
const failed = rows.filter((r) => r.status !== 'ok').length;
process.stdout.write(`\n${rows.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? EXIT.FAILED : EXIT.OK);
