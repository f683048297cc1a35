import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { startHttpServer, type RunningHttpServer } from '../src/http.js';
import { silentLogger } from '../src/log.js';
import { REPO_ROOT } from './helpers/dataset.js';

// Clients nobody on this project wrote: the MCP Inspector CLI (the conformance suite: tests/conformance.test.ts).
const run = promisify(execFile);
const INSPECTOR = join(REPO_ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');
const dataDir = inject('builtDataDir');
const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };

const CALLS: [string, string[]][] = [
  ['recommend_by_genre', ['genre=latin', 'limit=3', 'min_energy=0.7']],
  ['similar_tracks', ['seed_tracks=["Halo – Beyoncé"]', 'limit=3']],
  ['tracks_by_artist', ['artist=queen', 'limit=3']],
  ['artist_metadata', ['artist=Queen']],
  ['sequence_playlist', ['tracks=["Bohemian Rhapsody – Queen", "Bicycle Race – Queen", "Brighton Rock – Queen"]', 'arc=rising']],
];

let http: RunningHttpServer;
beforeAll(async () => {
  const holder = CatalogHolder.of(new Catalog(await readSnapshot(join(dataDir, 'snapshots'))), silentLogger);
  http = await startHttpServer({ catalog: holder, log: silentLogger, toolWaitMs: 5_000, http: loadConfig({ MCP_HTTP_PORT: '0' }).http });
});
afterAll(async () => http.close(1_000));

const targets = () => ({
  stdio: ['-e', `MUSIC_DATA_DIR=${dataDir}`, '-e', 'LOG_LEVEL=warn', process.execPath, join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'],
  http: [http.url],
});

async function inspector(target: string[], ...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [INSPECTOR, '--cli', ...target, ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 90_000 });
  return JSON.parse(stdout);
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`MCP Inspector CLI over ${transport}`, () => {
    it('lists tools and resource templates', async () => {
      const t = targets()[transport];
      const tools = await inspector(t, '--method', 'tools/list');
      expect(tools.tools.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(CALLS.map(([n]) => n)));
      const templates = await inspector(t, '--method', 'resources/templates/list');
      expect(templates.resourceTemplates.length).toBeGreaterThan(0);
    }, 120_000);

    it('calls every tool and gets structured answers', async () => {
      const t = targets()[transport];
      const tools = (await inspector(t, '--method', 'tools/list')).tools as { name: string }[];
      for (const { name } of tools) {
        const args = CALLS.find(([n]) => n === name)?.[1] ?? (name === 'search_music_knowledge' ? ['query=reggaeton'] : []);
        const r = await inspector(t, '--method', 'tools/call', '--tool-name', name, '--tool-arg', ...args);
        expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
        expect(r.structuredContent, name).toBeDefined();
      }
    }, 240_000);
  });
}

describe('npx @modelcontextprotocol/inspector inside the checkout', () => {
  // The Inspector's own bin imports commander without declaring it: it gets whichever copy is hoisted to
  // the top of node_modules, which must be one it can use (package.json pins commander 13 for it).
  it('runs the Inspector CLI against the stdio server, as the README shows', async () => {
    const { stdout } = await run('npx', ['--no-install', '@modelcontextprotocol/inspector', '--cli', 'node', 'bin/music-mcp-server.js', '--stdio', '--method', 'tools/list'], {
      cwd: REPO_ROOT,
      env: childEnv,
      timeout: 90_000,
    });
    expect((JSON.parse(stdout) as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual(expect.arrayContaining(CALLS.map(([n]) => n)));
  }, 120_000);
});
