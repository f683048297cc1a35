import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningHttpServer } from '../src/http.js';
import { httpOverCatalog, stdioServerTransport } from './helpers/served-catalog.js';
import { TOOL_ARGS } from './helpers/tool-args.js';

// A 2026-07-28 client (no initialize: server/discover, then the `_meta` envelope on every request) and a
// 2025-11-25 client (initialize) each use every tool, resource and prompt, over stdio and over HTTP.
const dataDir = inject('builtDataDir');

const ARGS = TOOL_ARGS;
const PROMPT_ARGS: Record<string, Record<string, string>> = {
  build_playlist: { mood: 'chill', genre: 'rock' },
  artist_deep_dive: { artist: 'Queen' },
  compare_genres: { genre_a: 'latin', genre_b: 'rock' },
};
const TEMPLATE_URIS = ['music://genres/rock', 'music://artists/Queen'];

let http: RunningHttpServer;
beforeAll(async () => {
  http = await httpOverCatalog(dataDir);
});
afterAll(async () => http.close(1_000));

const ERAS = { '2026-07-28': 'modern', '2025-11-25': 'legacy' } as const;

function transportFor(kind: 'stdio' | 'http') {
  if (kind === 'http') return new StreamableHTTPClientTransport(new URL(http.url));
  return stdioServerTransport(dataDir);
}

for (const kind of ['stdio', 'http'] as const) {
  for (const [version, era] of Object.entries(ERAS)) {
    describe(`a ${version} client over ${kind}`, () => {
      it('negotiates its revision and uses every tool, resource and prompt', async () => {
        const client = new Client(
          { name: 'eras-test', version: '1' },
          era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : { supportedProtocolVersions: ['2025-11-25'] },
        );
        await client.connect(transportFor(kind));
        try {
          expect(client.getProtocolEra()).toBe(era);
          expect(client.getServerVersion()?.name).toBe('music-mcp-server');

          const tools = await client.listTools();
          expect(tools.tools.map((t) => t.name).sort()).toEqual(Object.keys(ARGS).sort());
          // The 2026 revision's cache hints on list results; 2025-era results never carry them.
          if (era === 'modern') expect(tools).toHaveProperty('ttlMs');
          else expect(tools).not.toHaveProperty('ttlMs');
          let trackId: string | undefined;
          for (const { name } of tools.tools) {
            const r = await client.callTool({ name, arguments: ARGS[name]! });
            trackId ??= /"track_id":"([^"]+)"/.exec(JSON.stringify(r.structuredContent))?.[1];
            expect(r.isError, `${name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
            expect(r.structuredContent, name).toBeDefined();
          }

          // One page: listResources() without a cursor would walk every artist and track page.
          const { resources } = await client.request({ method: 'resources/list', params: {} });
          const fixed = resources.filter((r) => !/^music:\/\/(genres|artists|tracks)\/./.test(r.uri));
          expect(fixed.map((r) => r.uri)).toEqual(expect.arrayContaining(['music://genres', 'music://dataset', 'music://glossary/audio-features']));
          expect(trackId).toBeDefined();
          for (const uri of [...fixed.map((r) => r.uri), ...TEMPLATE_URIS, `music://tracks/${trackId}`]) {
            const read = await client.readResource({ uri });
            expect(read.contents[0]?.uri, uri).toBeDefined();
            expect(JSON.stringify(read.contents[0]).length, uri).toBeGreaterThan(100);
          }
          expect((await client.listResourceTemplates()).resourceTemplates.length).toBe(3);

          const { prompts } = await client.listPrompts();
          expect(prompts.map((p) => p.name).sort()).toEqual(Object.keys(PROMPT_ARGS).sort());
          for (const { name } of prompts) {
            expect((await client.getPrompt({ name, arguments: PROMPT_ARGS[name]! })).messages.length, name).toBeGreaterThan(0);
          }
          const done = await client.complete({ ref: { type: 'ref/prompt', name: 'build_playlist' }, argument: { name: 'genre', value: 'roc' } });
          expect(done.completion.values).toContain('rock');
        } finally {
          await client.close();
        }
      }, 120_000);
    });
  }
}
