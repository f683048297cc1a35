import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningHttpServer } from '../src/http.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { TOOL_ARGS } from './helpers/tool-args.js';
import { httpOverCatalog } from './helpers/served-catalog.js';

// The MCP Inspector 2.x CLI, a client nobody on this project wrote, against both transports. It needs
// Node >= 22.19, so it runs on the Node 24 that scripts/node-version.sh installs into tools-node/,
// whichever Node runs the suite; the stdio server it spawns runs on the suite's Node.
const run = promisify(execFile);
const LAUNCHER = join(REPO_ROOT, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const dataDir = inject('builtDataDir');

const ARGS = TOOL_ARGS;

let node24: string;
let home: string;
let http: RunningHttpServer;
beforeAll(async () => {
  node24 = execFileSync(join(REPO_ROOT, 'scripts/node-version.sh'), ['24'], { encoding: 'utf8' }).trim();
  home = mkdtempSync(join(tmpdir(), 'music-inspector-home-'));
  http = await httpOverCatalog(dataDir);
}, 120_000);
afterAll(async () => {
  await http?.close(1_000);
  rmSync(home, { recursive: true, force: true });
});

/** The Inspector's own environment: Node 24 first on PATH, its catalog and token store in a scratch home. */
const inspectorEnv = () => ({
  PATH: `${node24}${delimiter}${process.env.PATH ?? ''}`,
  HOME: home,
  MCP_STORAGE_DIR: join(home, 'storage'),
  MCP_INSPECTOR_OAUTH_STATE_PATH: join(home, 'storage', 'oauth.json'),
});

/** Before `--`: the stdio server command the Inspector spawns; after it: the Inspector's options. */
const targets = () => ({
  stdio: [process.execPath, join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio', '--', '-e', `MUSIC_DATA_DIR=${dataDir}`, '-e', 'LOG_LEVEL=warn'],
  http: ['--transport', 'http', '--server-url', http.url],
});

async function inspector(target: string[], ...args: string[]): Promise<any> {
  const { stdout } = await run(join(node24, 'node'), [LAUNCHER, '--cli', ...target, ...args, '--format', 'json'], { cwd: REPO_ROOT, env: inspectorEnv(), timeout: 90_000 });
  return (JSON.parse(stdout) as { result: unknown }).result;
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`MCP Inspector 2.x CLI on Node 24 over ${transport}`, () => {
    it('lists the tools, prompts and resource templates', async () => {
      const t = targets()[transport];
      const [tools, prompts, templates] = await Promise.all([
        inspector(t, '--method', 'tools/list'),
        inspector(t, '--method', 'prompts/list'),
        inspector(t, '--method', 'resources/templates/list'),
      ]);
      expect(tools.tools.map((x: { name: string }) => x.name).sort()).toEqual(Object.keys(ARGS).sort());
      expect(prompts.prompts.length).toBeGreaterThan(0);
      expect(templates.resourceTemplates.length).toBeGreaterThan(0);
    }, 180_000);

    it('calls every tool and gets structured answers', async () => {
      const t = targets()[transport];
      const results = await Promise.all(
        Object.entries(ARGS).map(async ([name, args]) => [name, await inspector(t, '--method', 'tools/call', '--tool-name', name, '--tool-args-json', JSON.stringify(args))] as const),
      );
      for (const [name, r] of results) {
        expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
        expect(r.structuredContent, name).toBeDefined();
      }
    }, 240_000);

    it('exits 5 with the tool\'s message when a call fails', async () => {
      const err = await inspector(targets()[transport], '--method', 'tools/call', '--tool-name', 'artist_metadata', '--tool-args-json', '{"artist":"Zzqx Nobody"}').catch(
        (e: { code: number; stdout: string }) => e,
      );
      expect(err.code).toBe(5);
      expect(JSON.parse(err.stdout).result.content[0].text).toMatch(/artist/i);
    }, 90_000);
  });
}

describe('npx @modelcontextprotocol/inspector inside the checkout (Node 24)', () => {
  it('runs the CLI against the stdio server as the README shows', async () => {
    const { stdout } = await run(
      'npx',
      ['--no-install', '@modelcontextprotocol/inspector', '--cli', 'node', 'bin/music-mcp-server.js', '--stdio', '--', '-e', `MUSIC_DATA_DIR=${dataDir}`, '--method', 'tools/list', '--format', 'json'],
      { cwd: REPO_ROOT, env: inspectorEnv(), timeout: 90_000 },
    );
    expect((JSON.parse(stdout) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name)).toContain('recommend_by_genre');
  }, 120_000);
});
