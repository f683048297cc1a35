import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMcpConfigForManifest, unpackExtension, validateManifest } from '@anthropic-ai/mcpb';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildBundle, currentPlatform, manifestListing, type Manifest } from '../scripts/bundle.js';
import { ENV_NAMES } from '../src/config.js';
import { REPO_ROOT } from './helpers/dataset.js';

// The MCP Bundle a desktop client installs with one click: unpacked as the client unpacks it, and its
// server started exactly as its manifest says (command, ${__dirname}, user_config → env), then used
// over stdio. Building takes a while (a zip of the production dependencies), so the bundle for this
// platform is built once into build/test/ and rebuilt only when it is older than what goes into it.

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; description: string; engines: { node: string } };
const bundlePath = join(REPO_ROOT, 'build', 'test', `${pkg.name}-${pkg.version}-${currentPlatform()}.mcpb`);
const INPUTS = ['dist/.build-stamp', 'package.json', 'package-lock.json', 'scripts/bundle.ts'];
const dataDir = inject('builtDataDir');

let dir: string;
let manifest: Manifest;
beforeAll(async () => {
  const newestInput = Math.max(...INPUTS.map((f) => statSync(join(REPO_ROOT, f)).mtimeMs));
  if (!existsSync(bundlePath) || statSync(bundlePath).mtimeMs < newestInput) {
    await buildBundle({ platforms: [currentPlatform()], out: bundlePath });
  }
  dir = mkdtempSync(join(tmpdir(), 'music-mcpb-'));
  expect(await unpackExtension({ mcpbPath: bundlePath, outputDir: dir, silent: true })).toBe(true);
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The server entry as a client resolves it for these install-dialog values. */
async function resolvedEntry(userConfig: Record<string, string>) {
  const entry = await getMcpConfigForManifest({ manifest: manifest as never, extensionPath: dir, systemDirs: { HOME: tmpdir() }, userConfig, pathSeparator: '/' });
  if (!entry) throw new Error('the client would not start the server: a required setting is missing');
  return entry as { command: string; args: string[]; env: Record<string, string> };
}

describe('MCP Bundle (.mcpb)', () => {
  it('has a valid manifest naming the package, its Node versions and this platform', () => {
    expect(validateManifest(join(dir, 'manifest.json'))).toBe(true);
    expect(manifest).toMatchObject({ name: pkg.name, version: pkg.version, description: pkg.description });
    expect(manifest.compatibility.runtimes.node).toBe(pkg.engines.node);
    expect(manifest.compatibility.platforms).toContain(process.platform);
    expect(manifest.server.type).toBe('node');
    expect(existsSync(join(dir, manifest.server.entry_point))).toBe(true);
  });

  it('maps the install dialog to environment variables the server reads, the secret masked', () => {
    for (const name of Object.values(manifest.server.mcp_config.env).map((v) => /^\$\{user_config\.(\w+)\}$/.exec(v)?.[1])) {
      expect(name && manifest.user_config[name], `env value ${name}`).toBeTruthy();
    }
    for (const name of Object.keys(manifest.server.mcp_config.env)) expect(ENV_NAMES).toContain(name);
    expect(manifest.server.mcp_config.env).toMatchObject({ MUSIC_DATA_DIR: '${user_config.data_dir}', SPOTIFY_CLIENT_SECRET: '${user_config.spotify_client_secret}' });
    expect(manifest.user_config.spotify_client_secret).toMatchObject({ type: 'string', sensitive: true, required: false });
    expect(manifest.user_config.data_dir).toMatchObject({ type: 'directory', required: false });
  });

  it('holds the compiled server and production dependencies only', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const top = readdirSync(join(dir, 'node_modules')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, 'node_modules', n)).map((s) => `${n}/${s}`) : [n]));
    expect(top.length).toBeGreaterThan(10);
    expect(top.filter((n) => lock.packages[`node_modules/${n}`]?.dev)).toEqual([]);
    for (const devOnly of ['typescript', 'vitest', '@anthropic-ai/mcpb', '@modelcontextprotocol/inspector']) expect(top).not.toContain(devOnly);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'dbt', 'dist', 'manifest.json', 'node_modules', 'package.json', 'resources']);
  });

  it('starts as the manifest says, lists the tools and prompts the manifest lists, and answers a call', async () => {
    const entry = await resolvedEntry({ data_dir: dataDir });
    expect(entry.command).toBe('node');
    expect(entry.args).toEqual([join(dir, 'dist/src/main.js'), '--stdio']);
    // Fields left blank reach the server as empty values (read as unset), never as `${user_config.…}`.
    expect(entry.env).toEqual({ MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: '', SPOTIFY_CLIENT_ID: '', SPOTIFY_CLIENT_SECRET: '' });

    const client = new Client({ name: 'bundle-test', version: '1' });
    await client.connect(new StdioClientTransport({ ...entry, env: { ...entry.env, PATH: process.env.PATH ?? '', HOME: tmpdir(), LOG_LEVEL: 'warn' }, stderr: 'ignore' }));
    try {
      const tools = (await client.listTools()).tools;
      const prompts = (await client.listPrompts()).prompts;
      const listed = manifestListing({ tools, prompts });
      expect(manifest.tools).toEqual(listed.tools);
      expect(manifest.prompts).toEqual(listed.prompts);
      expect(manifest.tools.map((t) => t.name)).toContain('recommend_by_genre');
      const r = await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'latin', limit: 2 } });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect((r.structuredContent as { tracks: unknown[] }).tracks).toHaveLength(2);
    } finally {
      await client.close();
    }
  }, 60_000);

  it.each([
    ['--platforms mars-x64', /unknown platform mars-x64; choose from .*linux-x64.* or current/],
    ['--platforms', /--platforms needs a value/],
    ['--zip', /unknown argument --zip/],
  ])('npm run bundle -- %s says what is wrong and exits 1', (args, message) => {
    const r = spawnSync('npm', ['run', '--silent', 'bundle', '--', ...args.split(' ')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  }, 70_000);

  it('passes Spotify credentials from the install dialog to the server', async () => {
    const entry = await resolvedEntry({ data_dir: dataDir, spotify_client_id: 'id-123', spotify_client_secret: 'secret-456' });
    expect(entry.env).toMatchObject({ SPOTIFY_CLIENT_ID: 'id-123', SPOTIFY_CLIENT_SECRET: 'secret-456' });
  });
});
